//! The HTML report: one self-contained file (inline CSS, inline SVG, no script, no
//! network), rendered by askama from `templates/report.html`. askama escapes every
//! value; only the SVG charts, built by [`super::svg`] from numbers and escaped
//! labels, are inserted unescaped.

use super::model::Report;
use askama::Template;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    timeline_svg: String,
    groups: Vec<(&'static str, &'a [super::model::GroupView])>,
}

mod filters {
    use crate::report::text::{human_ms, thousands};

    pub fn ms(v: &f64) -> askama::Result<String> {
        Ok(human_ms(*v))
    }

    pub fn ms_from_s(v: &f64) -> askama::Result<String> {
        Ok(human_ms(*v * 1000.0))
    }

    pub fn num(v: &u64) -> askama::Result<String> {
        Ok(thousands(*v))
    }

    pub fn bytes(v: &u64) -> askama::Result<String> {
        let v = *v as f64;
        Ok(if v >= 1e9 {
            format!("{:.2} GB", v / 1e9)
        } else if v >= 1e6 {
            format!("{:.1} MB", v / 1e6)
        } else if v >= 1e3 {
            format!("{:.1} kB", v / 1e3)
        } else {
            format!("{v} B")
        })
    }

    /// `2026-11-24T04:34:31.000Z` → `2026-11-24 04:34:31.000`.
    pub fn when(v: &str) -> askama::Result<String> {
        Ok(v.replace('T', " ").trim_end_matches('Z').to_string())
    }

    pub fn short(v: &str) -> askama::Result<String> {
        const MAX: usize = 160;
        Ok(if v.chars().count() > MAX {
            let mut s: String = v.chars().take(MAX).collect();
            s.push('…');
            s
        } else {
            v.to_string()
        })
    }

    pub fn pct(part: &f64, whole: &f64) -> askama::Result<String> {
        Ok(if *whole > 0.0 {
            format!("{:.1}%", part / whole * 100.0)
        } else {
            "–".to_string()
        })
    }
}

/// Renders the report.
pub fn render(r: &Report) -> anyhow::Result<String> {
    let page = Page {
        r,
        timeline_svg: super::svg::timeline(&r.timeline.windows, r.timeline.window_seconds),
        groups: vec![
            ("Database", &r.databases),
            ("User", &r.users),
            ("Application", &r.applications),
        ],
    };
    Ok(page.render()?)
}
