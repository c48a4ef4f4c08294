//! Inline SVG charts drawn by hand: a few hundred bytes of markup per series, readable
//! without JavaScript, no library. Every text that goes into the markup passes through
//! [`esc`], so a chart can never carry markup of its own.

use super::model::WindowView;
use super::text::{human_ms, thousands};
use std::fmt::Write;

const W: f64 = 1000.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

/// Escapes text for SVG/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One series of a chart.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// CSS class (colour).
    pub class: &'a str,
    /// One value per window.
    pub values: Vec<f64>,
}

/// A panel of the timeline: bars for the first series, lines for the others.
pub struct Panel<'a> {
    /// Title shown above the panel.
    pub title: &'a str,
    /// Formats a value for the axis and tooltips.
    pub fmt: fn(f64) -> String,
    /// Draw the first series as bars (else every series is a line).
    pub bars: bool,
    /// The series.
    pub series: Vec<Series<'a>>,
    /// Height in px.
    pub height: f64,
}

/// Short `HH:MM:SS` label of an RFC 3339 instant.
fn clock(ts: &str) -> &str {
    ts.get(11..19).unwrap_or(ts)
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Draws one timeline panel over `windows`.
pub fn panel(p: &Panel<'_>, windows: &[WindowView], window_seconds: f64) -> String {
    let n = windows.len().max(1) as f64;
    let h = p.height;
    let plot_h = h - TOP - BOTTOM;
    let plot_w = W - LEFT - RIGHT;
    let max = nice_max(
        p.series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let x = |i: usize| LEFT + plot_w * i as f64 / n;
    let y = |v: f64| TOP + plot_h * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" preserveAspectRatio="none" role="img" aria-label="{}">"#,
        esc(p.title)
    );
    // Grid and y labels.
    for frac in [0.0, 0.5, 1.0] {
        let v = max * frac;
        let yy = y(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="ylab" x="{}" y="{:.1}">{}</text>"#,
            W - RIGHT,
            LEFT - 4.0,
            yy + 4.0,
            esc(&(p.fmt)(v))
        );
    }
    // X labels: about six.
    let step = (windows.len() / 6).max(1);
    for (i, w) in windows.iter().enumerate().step_by(step) {
        let _ = write!(
            s,
            r#"<text class="xlab" x="{:.1}" y="{}">{}</text>"#,
            x(i),
            h - 6.0,
            esc(clock(&w.start))
        );
    }
    let bw = (plot_w / n).max(0.5);
    for (k, series) in p.series.iter().enumerate() {
        if p.bars && k == 0 {
            for (i, v) in series.values.iter().enumerate() {
                if *v <= 0.0 {
                    continue;
                }
                let top = y(*v);
                let _ = write!(
                    s,
                    r#"<rect class="{}" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{} {}: {}</title></rect>"#,
                    esc(series.class),
                    x(i),
                    (bw - 0.3).max(0.4),
                    TOP + plot_h - top,
                    esc(clock(&windows[i].start)),
                    esc(series.label),
                    esc(&(p.fmt)(*v))
                );
            }
        } else {
            let mut d = String::new();
            for (i, v) in series.values.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { "L" },
                    x(i) + bw / 2.0,
                    y(*v)
                );
            }
            let _ = write!(s, r#"<path class="line {}" d="{d}"/>"#, esc(series.class));
        }
    }
    let _ = write!(
        s,
        "<desc>{} per {} s window</desc></svg>",
        esc(p.title),
        window_seconds
    );
    s
}

/// The statements/latency/total-time timeline of the whole log.
pub fn timeline(windows: &[WindowView], window_seconds: f64) -> String {
    let per_sec = |w: &WindowView| w.statements as f64 / window_seconds.max(0.001);
    let panels = [
        Panel {
            title: "Statements per second",
            fmt: |v| thousands(v.round() as u64),
            bars: true,
            series: vec![Series {
                label: "statements/s",
                class: "s1",
                values: windows.iter().map(per_sec).collect(),
            }],
            height: 120.0,
        },
        Panel {
            title: "Latency (p50, p95, p99, max)",
            fmt: human_ms,
            bars: false,
            series: vec![
                Series {
                    label: "p50",
                    class: "s1",
                    values: windows.iter().map(|w| w.p50_ms).collect(),
                },
                Series {
                    label: "p95",
                    class: "s2",
                    values: windows.iter().map(|w| w.p95_ms).collect(),
                },
                Series {
                    label: "p99",
                    class: "s3",
                    values: windows.iter().map(|w| w.p99_ms).collect(),
                },
                Series {
                    label: "max",
                    class: "s4",
                    values: windows.iter().map(|w| w.max_ms).collect(),
                },
            ],
            height: 150.0,
        },
        Panel {
            title: "Query time per second (busy sessions)",
            fmt: |v| format!("{v:.2}"),
            bars: true,
            series: vec![Series {
                label: "busy",
                class: "s2",
                values: windows
                    .iter()
                    .map(|w| w.total_ms / 1000.0 / window_seconds.max(0.001))
                    .collect(),
            }],
            height: 120.0,
        },
    ];
    let mut out = String::new();
    for p in &panels {
        let legend: Vec<String> = p
            .series
            .iter()
            .map(|s| {
                format!(
                    r#"<span class="key {}">{}</span>"#,
                    esc(s.class),
                    esc(s.label)
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<figure class="panel"><figcaption>{} {}</figcaption>{}</figure>"#,
            esc(p.title),
            legend.join(" "),
            panel(p, windows, window_seconds)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(0.0021), 0.0025);
    }
}
