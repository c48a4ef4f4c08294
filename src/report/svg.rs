//! Inline SVG charts drawn by hand: a few hundred bytes of markup per series, readable
//! without JavaScript, no library. Every text that goes into the markup passes through
//! [`esc`], so a chart can never carry markup of its own; everything else is numbers.
//!
//! The timeline's panels share one time axis ([`Axis`]): the same x for the same
//! instant in every panel, so a latency spike lines up with the DDL marker above it.

use super::model::WindowView;
use super::text::{human_ms, thousands};
use super::tz::DisplayTz;
use std::fmt::Write;

const W: f64 = 1000.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;
const PLOT_W: f64 = W - LEFT - RIGHT;

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
    /// One note per window added to a bar's tooltip (empty: none).
    pub tips: Vec<String>,
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
    /// How many of the first series set the scale (the others are clipped at the top).
    pub scale_by: usize,
}

/// An instant marked on every panel of the timeline (a DDL statement, a checkpoint...).
#[derive(Debug, Clone)]
pub struct Marker {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// CSS class and kind shown in the tooltip: `ddl`, `checkpoint`, `autovacuum`,
    /// `deadlock`, `restart` (each has its colour in style.css).
    pub kind: &'static str,
    /// Label of the tooltip (log text: escaped when drawn).
    pub label: String,
    /// A few words drawn beside the flag (`DROP INDEX`, `checkpoint`), escaped too.
    pub short: String,
}

/// The shared time axis: `n` windows of `width_ms` from `first_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    /// Start of the first window, ms since the epoch.
    pub first_ms: i64,
    /// Window width, ms.
    pub width_ms: i64,
    /// Number of windows.
    pub n: usize,
    /// The zone labels are shown in.
    pub tz: DisplayTz,
}

impl Axis {
    fn x_of_window(&self, i: usize) -> f64 {
        LEFT + PLOT_W * i as f64 / self.n.max(1) as f64
    }

    fn span_ms(&self) -> i64 {
        self.width_ms * self.n.max(1) as i64
    }

    fn x_of_ms(&self, t: i64) -> f64 {
        LEFT + PLOT_W * (t - self.first_ms) as f64 / self.span_ms().max(1) as f64
    }

    /// Round instants for labels: (ms since the epoch, label), at most about eight.
    fn ticks(&self) -> Vec<(i64, String)> {
        const STEPS_S: &[i64] = &[
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
            86400, 172800, 604800,
        ];
        let span = self.span_ms();
        let step = STEPS_S
            .iter()
            .map(|s| s * 1000)
            .find(|s| span / s <= 8)
            .unwrap_or(604_800_000);
        let fmt = if step >= 86_400_000 {
            "%m-%d"
        } else if span >= 86_400_000 {
            "%m-%d %H:%M"
        } else if step >= 60_000 {
            "%H:%M"
        } else {
            "%H:%M:%S"
        };
        // Round in the display zone (its offset at the start of the axis).
        let off = self.tz.offset_ms(self.first_ms);
        let mut t = (self.first_ms + off + step - 1).div_euclid(step) * step - off;
        let mut out = Vec::new();
        while t <= self.first_ms + span && out.len() < 20 {
            out.push((t, self.tz.format_ms(t, fmt)));
            t += step;
        }
        out
    }
}

/// What every panel of a timeline shows besides its data.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// Shaded window ranges (first, last inclusive): where numbers leave their baseline.
    pub shade: Vec<(usize, usize)>,
    /// Marked instants.
    pub markers: Vec<Marker>,
}

/// Short `HH:MM:SS` label of an RFC 3339 instant, in the display zone.
fn clock(ts: &str, tz: &DisplayTz) -> String {
    let t = tz.show(ts);
    t.get(11..19).map_or(t.clone(), str::to_string)
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

fn open_svg(s: &mut String, class: &str, w: f64, h: f64, label: &str) {
    // Sparklines stretch to their box; everything else keeps its aspect ratio.
    let stretch = if class == "spark" {
        r#" preserveAspectRatio="none""#
    } else {
        ""
    };
    let _ = write!(
        s,
        r#"<svg class="{class}" viewBox="0 0 {w} {h}"{stretch} role="img" aria-label="{}">"#,
        esc(label)
    );
}

fn overlay_back(s: &mut String, axis: &Axis, o: &Overlay, h: f64) {
    for &(a, b) in &o.shade {
        let (x0, x1) = (axis.x_of_window(a), axis.x_of_window(b + 1));
        let _ = write!(
            s,
            r#"<rect class="anom" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}"/>"#,
            (x1 - x0).max(1.0),
            h - TOP - BOTTOM
        );
    }
}

fn overlay_front(s: &mut String, axis: &Axis, o: &Overlay, h: f64) {
    for m in &o.markers {
        let x = axis.x_of_ms(m.at_ms);
        let _ = write!(
            s,
            r#"<line class="mk {}" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"><title>{}: {}</title></line>"#,
            m.kind,
            h - BOTTOM,
            m.kind,
            esc(&m.label)
        );
    }
}

fn axes(s: &mut String, axis: &Axis, max: f64, fmt: fn(f64) -> String, h: f64) {
    let plot_h = h - TOP - BOTTOM;
    for frac in [0.0, 0.5, 1.0] {
        let v = max * frac;
        let yy = TOP + plot_h * (1.0 - frac);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="ylab" x="{}" y="{:.1}">{}</text>"#,
            W - RIGHT,
            LEFT - 4.0,
            yy + 4.0,
            if v == 0.0 {
                "0".to_string()
            } else {
                esc(&fmt(v))
            }
        );
    }
    for (t, label) in axis.ticks() {
        let x = axis.x_of_ms(t);
        // A label at the right edge ends there instead of being cut in half.
        let end = if x > W - RIGHT - 30.0 {
            r#" style="text-anchor:end""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<line class="tick" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="xlab" x="{x:.1}" y="{}"{end}>{}</text>"#,
            h - BOTTOM,
            h - BOTTOM + 3.0,
            h - 6.0,
            esc(&label)
        );
    }
}

/// Draws one timeline panel over `windows`.
pub fn panel(p: &Panel<'_>, windows: &[WindowView], axis: &Axis, o: &Overlay) -> String {
    let h = p.height;
    let plot_h = h - TOP - BOTTOM;
    let max = nice_max(
        p.series
            .iter()
            .take(p.scale_by)
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let y = |v: f64| TOP + plot_h * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut s = String::new();
    open_svg(&mut s, "chart", W, h, p.title);
    overlay_back(&mut s, axis, o, h);
    axes(&mut s, axis, max, p.fmt, h);
    let bw = PLOT_W / axis.n.max(1) as f64;
    for (k, series) in p.series.iter().enumerate() {
        if p.bars && k == 0 {
            for (i, v) in series.values.iter().enumerate() {
                if *v <= 0.0 {
                    continue;
                }
                let top = y(*v);
                let tip = series
                    .tips
                    .get(i)
                    .filter(|t| !t.is_empty())
                    .map(|t| format!(" ({})", esc(t)))
                    .unwrap_or_default();
                let _ = write!(
                    s,
                    r#"<rect class="{}" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{} {}: {}{tip}</title></rect>"#,
                    esc(series.class),
                    axis.x_of_window(i),
                    (bw - 0.3).max(0.4),
                    (TOP + plot_h - top).max(0.5),
                    esc(&clock(&windows[i].start, &axis.tz)),
                    esc(series.label),
                    esc(&(p.fmt)(*v))
                );
            }
        } else {
            let mut d = String::new();
            for (i, v) in series.values.iter().enumerate() {
                let cmd = if i == 0 { "M" } else { "L" };
                let _ = write!(d, "{cmd}{:.1},{:.1}", axis.x_of_window(i) + bw / 2.0, y(*v));
            }
            let _ = write!(s, r#"<path class="line {}" d="{d}"/>"#, esc(series.class));
        }
    }
    if !p.bars {
        hover_columns(&mut s, p, windows, axis, h);
    }
    overlay_front(&mut s, axis, o, h);
    let _ = write!(
        s,
        "<desc>{} per {} s window</desc></svg>",
        esc(p.title),
        axis.width_ms as f64 / 1000.0
    );
    s
}

/// Lines have no element per window to hover: one transparent column per window carries
/// the window's values as a tooltip (no JavaScript needed).
fn hover_columns(s: &mut String, p: &Panel<'_>, windows: &[WindowView], axis: &Axis, h: f64) {
    let bw = PLOT_W / axis.n.max(1) as f64;
    for (i, w) in windows.iter().enumerate() {
        let values: Vec<String> = p
            .series
            .iter()
            .filter_map(|se| Some(format!("{} {}", se.label, (p.fmt)(*se.values.get(i)?))))
            .collect();
        let _ = write!(
            s,
            r#"<rect class="hov" x="{:.1}" y="{TOP}" width="{bw:.2}" height="{:.1}"><title>{}: {}</title></rect>"#,
            axis.x_of_window(i),
            h - TOP - BOTTOM,
            esc(&clock(&w.start, &axis.tz)),
            esc(&values.join(", "))
        );
    }
}

/// The lane above the timeline: one numbered flag per marker (the number of its row in
/// the events table) with its short label beside it when there is room, moved down a
/// row when it would cover its neighbour.
fn marker_lane(axis: &Axis, o: &Overlay) -> String {
    const ROWS: usize = 4;
    const H: f64 = 16.0 * ROWS as f64 + 6.0;
    /// Width of one label character in the bold 11 px label, with room to spare.
    const CHAR_W: f64 = 7.5;
    let mut s = String::new();
    open_svg(&mut s, "chart lane", W, H, "Events");
    // Rows first (a flag moves down when it would cover its neighbour), then a label
    // wherever it fits before the next flag of its row.
    // Each row's occupied spans: a flag takes its circle, and its label when it has
    // room. DDL first: their labels matter most when the lane is crowded.
    let mut taken: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ROWS];
    let free = |taken: &[Vec<(f64, f64)>], r: usize, a: f64, b: f64| {
        taken[r].iter().all(|&(x0, x1)| b <= x0 || a >= x1)
    };
    let mut order: Vec<usize> = (0..o.markers.len()).collect();
    order.sort_by_key(|&k| (o.markers[k].kind != "ddl", k));
    let mut placed = vec![(0.0, 0); o.markers.len()];
    for k in order {
        let m = &o.markers[k];
        let x = axis.x_of_ms(m.at_ms);
        let end = x + 10.0 + m.short.chars().count() as f64 * CHAR_W + 4.0;
        let with_label = (0..ROWS).find(|&r| end <= W && free(&taken, r, x - 8.0, end));
        let row = with_label
            .or_else(|| (0..ROWS).find(|&r| free(&taken, r, x - 8.0, x + 8.0)))
            .unwrap_or(k % ROWS);
        taken[row].push((x - 8.0, if with_label.is_some() { end } else { x + 8.0 }));
        placed[k] = (x, row);
    }
    for (k, m) in o.markers.iter().enumerate() {
        let (x, row) = placed[k];
        let label_w = m.short.chars().count() as f64 * CHAR_W + 4.0;
        let end = x + 10.0 + label_w;
        let labelled = end <= W
            && placed
                .iter()
                .enumerate()
                .all(|(j, p)| j == k || p.1 != row || p.0 + 8.0 <= x - 8.0 || p.0 - 8.0 >= end);
        let cy = 9.0 + row as f64 * 16.0;
        let text = if labelled {
            format!(
                r#"<text class="lbl" x="{:.1}" y="{:.1}">{}</text>"#,
                x + 10.0,
                cy + 4.0,
                esc(&m.short)
            )
        } else {
            String::new()
        };
        let _ = write!(
            s,
            r#"<g class="mk {}"><title>{} {}: {}</title><line x1="{x:.1}" x2="{x:.1}" y1="{cy:.1}" y2="{H}"/><circle cx="{x:.1}" cy="{cy:.1}" r="7.5"/><text x="{x:.1}" y="{:.1}">{}</text>{text}</g>"#,
            m.kind,
            k + 1,
            m.kind,
            esc(&m.label),
            cy + 3.5,
            k + 1
        );
    }
    s.push_str("</svg>");
    s
}

fn legend(p: &Panel<'_>) -> String {
    p.series
        .iter()
        .map(|s| {
            format!(
                r#"<span class="key {}">{}</span>"#,
                esc(s.class),
                esc(s.label)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The statements/latency/total-time timeline of the whole log, then the `extra`
/// panels (lock waits, errors, sessions...), with the markers and shaded spans of `o`
/// on every panel.
pub fn timeline(windows: &[WindowView], axis: &Axis, o: &Overlay, extra: &[Panel<'_>]) -> String {
    let secs = axis.width_ms as f64 / 1000.0;
    let per_sec = |w: &WindowView| w.statements as f64 / secs.max(0.001);
    let panels = [
        Panel {
            title: "Statements per second",
            fmt: |v| thousands(v.round() as u64),
            bars: true,
            series: vec![Series {
                label: "statements/s",
                class: "s1",
                values: windows.iter().map(per_sec).collect(),
                tips: Vec::new(),
            }],
            height: 110.0,
            scale_by: 1,
        },
        Panel {
            title: "Latency (scaled to p99; max may run off the top)",
            fmt: human_ms,
            bars: false,
            series: vec![
                Series {
                    label: "p50",
                    class: "s1",
                    values: windows.iter().map(|w| w.p50_ms).collect(),
                    tips: Vec::new(),
                },
                Series {
                    label: "p95",
                    class: "s2",
                    values: windows.iter().map(|w| w.p95_ms).collect(),
                    tips: Vec::new(),
                },
                Series {
                    label: "p99",
                    class: "s3",
                    values: windows.iter().map(|w| w.p99_ms).collect(),
                    tips: Vec::new(),
                },
                Series {
                    label: "max",
                    class: "s4",
                    values: windows.iter().map(|w| w.max_ms).collect(),
                    tips: Vec::new(),
                },
            ],
            height: 140.0,
            // p50..p99 set the scale: one slow statement's max must not flatten them.
            scale_by: 3,
        },
        Panel {
            title: "Query time per second (busy sessions)",
            fmt: |v| {
                if v < 0.1 {
                    format!("{v:.3}")
                } else {
                    format!("{v:.2}")
                }
            },
            bars: true,
            series: vec![Series {
                label: "busy",
                class: "s2",
                values: windows
                    .iter()
                    .map(|w| w.total_ms / 1000.0 / secs.max(0.001))
                    .collect(),
                tips: Vec::new(),
            }],
            height: 110.0,
            scale_by: 1,
        },
    ];
    let mut out = String::new();
    if !o.markers.is_empty() {
        let mut kinds: Vec<&str> = o.markers.iter().map(|m| m.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let keys: Vec<String> = kinds
            .iter()
            .map(|k| format!(r#"<span class="key {k}">{k}</span>"#))
            .collect();
        let _ = write!(
            out,
            r#"<figure class="panel"><figcaption>Events {} <small>(numbers as in the events table)</small></figcaption>{}</figure>"#,
            keys.join(" "),
            marker_lane(axis, o)
        );
    }
    for p in panels.iter().chain(extra) {
        let _ = write!(
            out,
            r#"<figure class="panel"><figcaption>{} {}</figcaption>{}</figure>"#,
            esc(p.title),
            legend(p),
            panel(p, windows, axis, o)
        );
    }
    out
}

/// A fingerprint's executions (bars) and p95 (line, when `p95`) over the whole timeline
/// of `n` windows, from its sparse series (window index, count, total ms, p95 ms).
/// Windows are grouped into at most `max_bars` bars (counts add up; a group's p95 is
/// the highest of its windows').
pub fn sparkline(
    series: &[(u32, u64, f64, f64)],
    n: usize,
    max_bars: usize,
    p95: bool,
    (w, h): (f64, f64),
) -> String {
    let group = n.max(1).div_ceil(max_bars.max(1)) as u32;
    let bars_n = n.max(1).div_ceil(group as usize) as f64;
    let mut grouped: Vec<(u32, u64, f64)> = Vec::new();
    for &(i, c, _, p) in series {
        let g = i / group;
        match grouped.last_mut() {
            Some(last) if last.0 == g => {
                last.1 += c;
                last.2 = last.2.max(p);
            }
            _ => grouped.push((g, c, p)),
        }
    }
    let max_c = grouped.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let max_p = grouped.iter().map(|p| p.2).fold(0.0, f64::max).max(0.001);
    let bw = w / bars_n;
    let x = |g: u32| w * g as f64 / bars_n;
    let mut bars = String::new();
    let mut line = String::new();
    let mut prev: Option<u32> = None;
    for &(g, c, p) in &grouped {
        let bh = (h * c as f64 / max_c).max(1.0);
        let _ = write!(
            bars,
            "M{:.1} {h}v-{bh:.1}h{:.1}v{bh:.1}z",
            x(g),
            (bw - 0.4).max(0.6)
        );
        let yy = h - (h - 2.0) * p / max_p - 1.0;
        if prev.is_some_and(|q| q + 1 == g) {
            let _ = write!(line, "L{:.1} {yy:.1}", x(g) + bw / 2.0);
        } else {
            let _ = write!(line, "M{:.1} {yy:.1}h{:.1}", x(g), bw.max(1.0));
        }
        prev = Some(g);
    }
    let mut s = String::new();
    open_svg(&mut s, "spark", w, h, "executions over the timeline");
    let _ = write!(
        s,
        r#"<title>executions per {} window(s): highest {}{}</title><path class="sb" d="{bars}"/>"#,
        group,
        thousands(max_c as u64),
        if p95 {
            format!("; p95 line: highest {}", esc(&human_ms(max_p)))
        } else {
            String::new()
        }
    );
    if p95 {
        let _ = write!(
            s,
            r#"<path class="sl" vector-effect="non-scaling-stroke" d="{line}"/>"#
        );
    }
    s.push_str("</svg>");
    s
}

/// A bucket bound for an axis: `512µs`, `66ms`, `1.0s`.
fn short_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// A latency histogram from (bucket upper bound ms, count) pairs of power-of-two buckets
/// (only the non-empty ones): every bucket from the first to the last is drawn, so
/// the gaps show.
pub fn histogram(buckets: &[(f64, u64)]) -> String {
    const H: f64 = 120.0;
    const BAR: f64 = 40.0;
    // Bounds are 2^k - 1 µs (HdrHistogram's highest value of each bucket).
    let next_bound = |ms: f64| ((ms * 1000.0).round() * 2.0 + 1.0) / 1000.0;
    let mut all: Vec<(f64, u64)> = Vec::new();
    for &(upper, c) in buckets {
        while let Some(&(last, _)) = all.last() {
            if next_bound(last) >= upper * 0.75 || all.len() > 64 {
                break;
            }
            all.push((next_bound(last), 0));
        }
        all.push((upper, c));
    }
    let w = (all.len() as f64 * BAR).max(BAR) + 8.0;
    let max = all.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let plot = H - 34.0;
    let mut s = String::new();
    open_svg(&mut s, "hist", w, H, "latency histogram");
    for (k, &(upper, c)) in all.iter().enumerate() {
        let x = 4.0 + k as f64 * BAR;
        let bh = if c == 0 {
            0.0
        } else {
            (plot * c as f64 / max).max(1.0)
        };
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>≤ {}: {}</title></rect><text class="c" x="{:.1}" y="{:.1}">{}</text><text class="xlab" x="{:.1}" y="{}">≤{}</text>"#,
            x + 2.0,
            14.0 + plot - bh,
            BAR - 4.0,
            esc(&human_ms(upper)),
            thousands(c),
            x + BAR / 2.0,
            10.0 + plot - bh,
            if c == 0 { String::new() } else { thousands(c) },
            x + BAR / 2.0,
            H - 6.0,
            esc(&short_ms(upper + 0.001))
        );
    }
    s.push_str("</svg>");
    s
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

    #[test]
    fn ticks_fall_on_round_instants() {
        let axis = Axis {
            first_ms: 1_795_495_225_000, // 2026-11-24 04:40:25 UTC
            width_ms: 1000,
            n: 339,
            tz: DisplayTz::default(),
        };
        let t = axis.ticks();
        assert!(t.len() >= 5 && t.len() <= 8, "{t:?}");
        assert_eq!(t[0].1, "04:41");
        assert!(t.iter().all(|(ms, _)| ms % 60_000 == 0));
        // In a zone 5:30 from UTC, ticks fall on the zone's round minutes: 10:11.
        let india = Axis {
            tz: "Asia/Kolkata".parse().unwrap(),
            ..axis
        };
        let t = india.ticks();
        assert_eq!(t[0].1, "10:11");
        assert!(t.iter().all(|(ms, _)| (ms + 19_800_000) % 60_000 == 0));
    }

    #[test]
    fn marker_labels_are_escaped() {
        let axis = Axis {
            first_ms: 0,
            width_ms: 1000,
            n: 10,
            tz: DisplayTz::default(),
        };
        let o = Overlay {
            shade: vec![(2, 3)],
            markers: vec![Marker {
                at_ms: 2500,
                kind: "ddl",
                label: "<script>x</script>".into(),
                short: "<b>".into(),
            }],
        };
        let s = timeline(&[], &axis, &o, &[]);
        assert!(!s.contains("<script>") && s.contains("&lt;script&gt;"));
    }

    #[test]
    fn histogram_draws_empty_buckets_between_and_labels_each_once() {
        let h = histogram(&[(0.255, 1), (0.511, 2), (4.095, 3)]);
        let labels: Vec<&str> = h
            .split("class=\"xlab\"")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .collect();
        assert_eq!(labels, ["≤256µs", "≤512µs", "≤1ms", "≤2ms", "≤4ms"]);
        assert_eq!(h.matches("<rect").count(), 5);
    }
}
