//! The outdir's `index.html`: every period reported, newest first, with inline SVG
//! sparklines of each day's statements, total time, errors and findings. One page,
//! no script and no network (its Content-Security-Policy allows neither), every value
//! from the logs escaped. The figures come from `days.json`, written beside it.

use super::outdir::{write_atomic, Period};
use crate::report::svg::esc;
use crate::report::Report;
use anyhow::Context;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One day's figures, as its report gives them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DayFigures {
    /// Executions, timed or not.
    pub statements: u64,
    /// Their total time, ms.
    pub total_ms: f64,
    /// Errors (ERROR, FATAL, PANIC).
    pub errors: u64,
    /// Lock waits.
    pub lock_waits: u64,
    /// Deadlocks.
    pub deadlocks: u64,
    /// Findings (incidents and what the report diagnosed).
    pub findings: u64,
    /// The first finding's sentence, if any.
    pub headline: Option<String>,
    /// The inputs read that day (their hosts, or file names).
    pub inputs: Vec<String>,
    /// True when the day's report stands for part of its input only.
    pub partial: bool,
    /// The zone the day is a calendar day of (the report's).
    #[serde(default)]
    pub zone: String,
}

impl DayFigures {
    /// The figures of a day's report.
    pub fn of(r: &Report) -> Self {
        let s = &r.totals.signals;
        DayFigures {
            statements: r.totals.statements,
            total_ms: r.totals.total_ms,
            errors: s.errors,
            lock_waits: s.lock_waits,
            deadlocks: s.deadlocks,
            findings: r.findings.len() as u64,
            headline: r.findings.first().map(|f| f.sentence.clone()),
            inputs: r.inputs.iter().map(|i| i.path.clone()).collect(),
            partial: r.partial,
            zone: r.time_zone.clone(),
        }
    }
}

const FIGURES: &str = "days.json";

/// The figures stored in `dir` (none when there is no file yet).
pub fn load(dir: &Path) -> anyhow::Result<BTreeMap<NaiveDate, DayFigures>> {
    let path = dir.join(FIGURES);
    match std::fs::read(&path) {
        Ok(b) => {
            let by_name: BTreeMap<String, DayFigures> = serde_json::from_slice(&b)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(by_name
                .into_iter()
                .filter_map(|(d, f)| Some((NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?, f)))
                .collect())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Stores the figures in `dir`.
pub fn save(dir: &Path, figures: &BTreeMap<NaiveDate, DayFigures>) -> anyhow::Result<()> {
    write_atomic(&dir.join(FIGURES), |w| {
        let by_name: BTreeMap<String, &DayFigures> =
            figures.iter().map(|(d, f)| (d.to_string(), f)).collect();
        serde_json::to_writer_pretty(&mut *w, &by_name)?;
        Ok(w.write_all(b"\n")?)
    })
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;border-bottom:1px solid #d8dee4;text-align:right;vertical-align:middle}
th:first-child,td:first-child,td.l{text-align:left}td{white-space:nowrap}td.l{white-space:normal;min-width:14em}th{font-weight:600;background:#f3f5f7}
svg.spark{display:block}svg.spark rect{fill:#4a7bd0}svg.spark rect.err{fill:#c8463a}svg.spark rect.find{fill:#d9901a}svg.spark rect.t{fill:#3f9b6a}
.note{color:#57606a}.part{color:#9a3412}a{color:#0b5cad}";

/// A sparkline: one bar per value, scaled to the largest; `class` colours the bars.
pub fn sparkline(values: &[f64], class: &str, label: &str) -> String {
    let (w, h, bar) = (4.0 * values.len().max(1) as f64, 24.0, 3.0);
    let max = values.iter().copied().fold(0.0f64, f64::max);
    let mut s = format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\"><title>{}</title>",
        esc(label)
    );
    for (i, v) in values.iter().enumerate() {
        let bh = if max > 0.0 {
            (v / max * (h - 1.0)).max(if *v > 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<rect class=\"{class}\" x=\"{}\" y=\"{:.1}\" width=\"{bar}\" height=\"{bh:.1}\"/>",
            4.0 * i as f64,
            h - bh
        );
    }
    s.push_str("</svg>");
    s
}

fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.1} ms")
    }
}

/// The page: `figures` per day, `periods` the reports present.
pub fn render(
    title: Option<&str>,
    figures: &BTreeMap<NaiveDate, DayFigures>,
    periods: &[Period],
) -> String {
    let title = title.unwrap_or("pgferret reports");
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    let days: Vec<(&NaiveDate, &DayFigures)> = figures.iter().collect();
    let series =
        |f: &dyn Fn(&DayFigures) -> f64| days.iter().map(|(_, d)| f(d)).collect::<Vec<_>>();
    if !days.is_empty() {
        let (first, last) = (days[0].0, days[days.len() - 1].0);
        let _ = write!(
            s,
            "<p class=\"note\">{} days reported, {first} to {last}; one bar per day, oldest left.</p>\n<table><tr><th>All days</th><th>Statements</th><th>Total time</th><th>Errors</th><th>Findings</th></tr>\n<tr><td class=\"l\">{first} – {last}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\n",
            days.len(),
            sparkline(&series(&|d| d.statements as f64), "", "statements per day"),
            sparkline(&series(&|d| d.total_ms), "t", "total time per day"),
            sparkline(&series(&|d| d.errors as f64), "err", "errors per day"),
            sparkline(&series(&|d| d.findings as f64), "find", "findings per day"),
        );
    }
    for (kind, name) in [("month", "Months"), ("week", "Weeks")] {
        let list: Vec<&Period> = periods
            .iter()
            .rev()
            .filter(|p| p.path().0 == kind)
            .collect();
        if list.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<h2>{name}</h2>\n<table><tr><th>{}</th><th>Days</th><th>Statements</th><th>Errors</th><th>Statements per day</th></tr>\n",
            &name[..name.len() - 1]
        );
        for p in list {
            let (sub, stem) = p.path();
            let inside: Vec<&DayFigures> = figures
                .iter()
                .filter(|(d, _)| p.contains(**d))
                .map(|(_, f)| f)
                .collect();
            let per_day: Vec<f64> = inside.iter().map(|f| f.statements as f64).collect();
            let _ = writeln!(
                s,
                "<tr><td><a href=\"{sub}/{stem}.html\">{stem}</a> (<a href=\"{sub}/{stem}.json\">json</a>)</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                inside.len(),
                int(inside.iter().map(|f| f.statements).sum()),
                int(inside.iter().map(|f| f.errors).sum()),
                sparkline(&per_day, "", "statements per day"),
            );
        }
        s.push_str("</table>\n");
    }
    let listed: Vec<NaiveDate> = periods
        .iter()
        .filter_map(|p| match p {
            Period::Day(d) => Some(*d),
            _ => None,
        })
        .collect();
    s.push_str("<h2>Days</h2>\n<table><tr><th>Day</th><th>Statements</th><th>Total time</th><th>Errors</th><th>Lock waits</th><th>Deadlocks</th><th>Findings</th><th>Inputs</th></tr>\n");
    for (d, f) in figures.iter().rev().filter(|(d, _)| listed.contains(d)) {
        let stem = d.format("%Y-%m-%d");
        let head = f.headline.as_deref().map_or(String::new(), |h| {
            format!("<br><span class=\"note\">{}</span>", esc(h))
        });
        let part = if f.partial {
            " <span class=\"part\">(part of its input unread)</span>"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<tr><td><a href=\"day/{stem}.html\">{stem}</a> (<a href=\"day/{stem}.json\">json</a>){part}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}{head}</td><td class=\"l\">{}</td></tr>",
            int(f.statements),
            ms(f.total_ms),
            int(f.errors),
            int(f.lock_waits),
            int(f.deadlocks),
            int(f.findings),
            f.inputs.iter().map(|i| esc(i)).collect::<Vec<_>>().join("<br>"),
        );
    }
    s.push_str("</table>\n<p class=\"note\">Written by pgferret ");
    s.push_str(env!("CARGO_PKG_VERSION"));
    let mut zones: Vec<&str> = figures.values().map(|f| f.zone.as_str()).collect();
    zones.sort_unstable();
    zones.dedup();
    let _ = write!(
        s,
        ". Days are calendar days in the zone the reports show times in ({}).</p>\n</body></html>\n",
        esc(&zones.join(", "))
    );
    s
}
