//! Incident spans: where the numbers leave their baseline.
//!
//! Spans are found on the windows of the automatic width (1 s for a log of minutes),
//! whatever `--window` the report shows, so an onset is placed to the same second for
//! every display width and does not move with where a display boundary falls; the span
//! is then drawn on the display windows.
//!
//! The baseline of a signal is its median over the log's windows (robust as long as the
//! incident covers less than half of the log). A window is out of line when the query
//! time per second ("busy sessions") or the p95 latency is several times its baseline;
//! runs of such windows, with gaps of up to [`MAX_GAP`] windows bridged, make a span
//! when they last at least [`MIN_WINDOWS`] windows and stay out of line on average (or
//! hold [`MIN_WINDOWS`] slow windows), so a single slow statement or a few busy seconds
//! of an ordinary workload do not shade the chart.

use super::{Confidence, Detail, Finding, Inputs, Span, Win};
use crate::parse::time::rfc3339;
use serde::Serialize;

/// How many times its baseline a signal must be.
const FACTOR: f64 = 4.0;
/// Busy sessions below this are never an anomaly (an idle log with one report query).
const MIN_BUSY: f64 = 0.1;
/// p95 below this, ms, is never an anomaly.
const MIN_P95_MS: f64 = 10.0;
/// A p95 counts only from windows with at least this many statements: with fewer it
/// is the window's slowest statement, and one slow DDL is not a latency problem.
const MIN_STATEMENTS: u64 = 20;
/// Windows of normal values bridged inside a span.
const MAX_GAP: usize = 2;
/// A span bridges gaps of up to its length so far divided by this.
const GAP_DIVISOR: usize = 8;
/// Shortest span, windows.
const MIN_WINDOWS: usize = 3;

/// A span of windows where the log leaves its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalySpan {
    /// Index of the first window.
    pub first_window: usize,
    /// Index of the last window (inclusive).
    pub last_window: usize,
    /// Start of the first window, RFC 3339.
    pub begin: String,
    /// Start of the last window, RFC 3339 (the span ends one window later).
    pub last_window_start: String,
    /// Which signals left their baseline: `load`, `latency`.
    pub signals: Vec<&'static str>,
    /// Median query time per second over the log, s/s.
    pub baseline_busy: f64,
    /// Highest query time per second in the span.
    pub peak_busy: f64,
    /// Median p95 over the log's windows, ms.
    pub baseline_p95_ms: f64,
    /// Highest window p95 in the span, ms.
    pub peak_p95_ms: f64,
    /// Statements per second: median over the log, mean in the span.
    pub baseline_rate: f64,
    #[allow(missing_docs)]
    pub span_rate: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One window as the detector sees it.
#[derive(Debug, Clone, Copy)]
struct Point {
    busy: f64,
    rate: f64,
    p95_ms: f64,
    statements: u64,
}

impl Point {
    fn p95_ok(&self) -> bool {
        self.statements >= MIN_STATEMENTS
    }
}

/// An incident span found: in time, on the display windows, and its figures.
#[derive(Debug, Clone)]
pub struct Found {
    /// In time.
    pub span: Span,
    /// On the display windows (the report's `anomalies`).
    pub view: AnomalySpan,
    /// The incident finding's fields.
    pub detail: IncidentDetail,
}

/// The fields of an `incident` finding.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    /// End of the span, RFC 3339 UTC.
    pub until: String,
    /// Its length, ms.
    pub duration_ms: i64,
    /// Which signals left their baseline: `load`, `latency`.
    pub signals: Vec<&'static str>,
    /// Median query time per second over the log (busy sessions), and the peak.
    pub baseline_busy: f64,
    #[allow(missing_docs)]
    pub peak_busy: f64,
    /// Median window p95 over the log, ms, and the highest in the span.
    pub baseline_p95_ms: f64,
    #[allow(missing_docs)]
    pub peak_p95_ms: f64,
    /// Logged statements per second: median over the log, mean in the span.
    pub rate_before: f64,
    #[allow(missing_docs)]
    pub rate_during: f64,
    /// Width of the windows the span was found on, ms.
    pub resolution_ms: i64,
}

fn point(w: &Win, secs: f64) -> Point {
    Point {
        busy: w.run_us as f64 / 1e6 / secs,
        rate: w.statements as f64 / secs,
        p95_ms: w.p95_us as f64 / 1000.0,
        statements: w.statements,
    }
}

/// The incident spans of the log.
pub fn incidents(inp: &Inputs<'_>) -> Vec<Found> {
    let secs = (inp.fine_width as f64 / 1000.0).max(0.001);
    let points: Vec<Point> = inp.fine.iter().map(|w| point(w, secs)).collect();
    find(&points)
        .into_iter()
        .map(|mut s| {
            let span = Span {
                at: inp.fine[s.first_window].start,
                until: inp.fine[s.last_window].start + inp.fine_width,
            };
            let detail = IncidentDetail {
                until: rfc3339(span.until),
                duration_ms: span.until - span.at,
                signals: s.signals.clone(),
                baseline_busy: s.baseline_busy,
                peak_busy: s.peak_busy,
                baseline_p95_ms: s.baseline_p95_ms,
                peak_p95_ms: s.peak_p95_ms,
                rate_before: s.baseline_rate,
                rate_during: s.span_rate,
                resolution_ms: inp.fine_width,
            };
            let (first, last) = on_display(inp, span);
            s.first_window = first;
            s.last_window = last;
            s.begin = inp
                .display
                .get(first)
                .map_or_else(String::new, |w| rfc3339(w.start));
            s.last_window_start = inp
                .display
                .get(last)
                .map_or_else(String::new, |w| rfc3339(w.start));
            Found {
                span,
                view: s,
                detail,
            }
        })
        .collect()
}

/// The display windows a span covers.
fn on_display(inp: &Inputs<'_>, s: Span) -> (usize, usize) {
    let Some(first) = inp.display.first() else {
        return (0, 0);
    };
    let n = inp.display.len().max(1) - 1;
    let width = inp.display_width.max(1);
    let idx = |t: i64| (((t - first.start).max(0) / width) as usize).min(n);
    (idx(s.at), idx(s.until - 1))
}

/// The `incident` finding of span number `n`.
pub fn finding(inp: &Inputs<'_>, n: usize, f: &Found) -> Finding {
    let d = &f.detail;
    let mut parts = Vec::new();
    let mut evidence = Vec::new();
    if d.signals.contains(&"load") {
        parts.push(format!(
            "{:.1} sessions busy at the peak against {:.2} normally",
            d.peak_busy, d.baseline_busy
        ));
        evidence.push(format!(
            "busy sessions (statement run time per second): median {:.3}, peak {:.3} in the span",
            d.baseline_busy, d.peak_busy
        ));
    }
    if d.signals.contains(&"latency") {
        parts.push(format!(
            "p95 latency peaked at {} against {} normally",
            super::ms_text(d.peak_p95_ms),
            super::ms_text(d.baseline_p95_ms)
        ));
        evidence.push(format!(
            "window p95: median {:.3} ms, peak {:.3} ms in the span",
            d.baseline_p95_ms, d.peak_p95_ms
        ));
    }
    evidence.push(format!(
        "found on {} windows ({} s each)",
        (f.span.until - f.span.at) / inp.fine_width.max(1),
        inp.fine_width as f64 / 1000.0
    ));
    let ratio = d.peak_busy / d.baseline_busy.max(1e-9);
    let confidence = if d.signals.len() == 2 || ratio >= 10.0 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Finding {
        kind: "incident",
        incident: Some(n),
        at: Some(rfc3339(f.span.at)),
        confidence,
        sentence: format!(
            "Incident {n}: from {} to {} ({}): {}.",
            (inp.clock)(f.span.at),
            (inp.clock)(f.span.until),
            super::ms_text(d.duration_ms as f64),
            parts.join("; ")
        ),
        evidence,
        detail: Detail::Incident(d.clone()),
    }
}

fn find(w: &[Point]) -> Vec<AnomalySpan> {
    let base_busy = median(w.iter().map(|x| x.busy).collect());
    let base_rate = median(w.iter().map(|x| x.rate).collect());
    let base_p95 = median(w.iter().filter(|x| x.p95_ok()).map(|x| x.p95_ms).collect());
    let load = |x: &Point| x.busy > (FACTOR * base_busy).max(MIN_BUSY);
    let slow = |x: &Point| x.p95_ok() && x.p95_ms > (FACTOR * base_p95).max(MIN_P95_MS);
    let odd = |x: &Point| load(x) || slow(x);
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        if !odd(&w[i]) {
            i += 1;
            continue;
        }
        let (first, mut last) = (i, i);
        let mut j = i + 1;
        // A long incident with a short respite is one incident: the gap bridged grows
        // with the run so far.
        while j < w.len() && j - last <= MAX_GAP.max((last - first + 1) / GAP_DIVISOR) + 1 {
            if odd(&w[j]) {
                last = j;
            }
            j += 1;
        }
        i = last + 1;
        if last - first + 1 < MIN_WINDOWS {
            continue;
        }
        let s = &w[first..=last];
        let mean_busy = s.iter().map(|x| x.busy).sum::<f64>() / s.len() as f64;
        let slow_windows = s.iter().filter(|x| slow(x)).count();
        if mean_busy < (FACTOR * base_busy).max(MIN_BUSY) && slow_windows < MIN_WINDOWS {
            // A few busy seconds in a row: the workload's own rhythm, not an incident.
            continue;
        }
        let mut signals = Vec::new();
        if s.iter().any(load) {
            signals.push("load");
        }
        if s.iter().any(slow) {
            signals.push("latency");
        }
        out.push(AnomalySpan {
            first_window: first,
            last_window: last,
            begin: String::new(),
            last_window_start: String::new(),
            signals,
            baseline_busy: base_busy,
            peak_busy: s.iter().map(|x| x.busy).fold(0.0, f64::max),
            baseline_p95_ms: base_p95,
            peak_p95_ms: s
                .iter()
                .filter(|x| x.p95_ok())
                .map(|x| x.p95_ms)
                .fold(0.0, f64::max),
            baseline_rate: base_rate,
            span_rate: s.iter().map(|x| x.rate).sum::<f64>() / s.len() as f64,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(statements: u64, total_ms: f64, p95_ms: f64) -> Point {
        Point {
            busy: total_ms / 1000.0,
            rate: statements as f64,
            p95_ms,
            statements,
        }
    }

    #[test]
    fn one_long_incident_is_one_span_and_a_blip_is_none() {
        let mut windows: Vec<Point> = (0..60).map(|_| win(100, 100.0, 1.0)).collect();
        windows[5] = win(100, 900.0, 50.0); // a blip: one window
        for w in &mut windows[30..40] {
            *w = win(100, 5000.0, 80.0);
        }
        windows[34] = win(100, 100.0, 1.0); // a quiet window inside is bridged
        let s = find(&windows);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].first_window, s[0].last_window), (30, 39));
        assert_eq!(s[0].signals, ["load", "latency"]);
        assert_eq!(s[0].peak_busy, 5.0);
    }

    #[test]
    fn a_long_incident_with_a_short_respite_is_one_incident() {
        let mut windows: Vec<Point> = (0..150).map(|_| win(100, 100.0, 1.0)).collect();
        for w in &mut windows[50..100] {
            *w = win(100, 5000.0, 80.0);
        }
        // Four calm windows after 40 busy ones: bridged (40 / 8 = 5), not two incidents.
        for w in &mut windows[90..94] {
            *w = win(100, 100.0, 1.0);
        }
        let s = find(&windows);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].first_window, s[0].last_window), (50, 99));
        // The same respite after 5 busy windows splits them.
        let mut short: Vec<Point> = (0..150).map(|_| win(100, 100.0, 1.0)).collect();
        for w in &mut short[50..55] {
            *w = win(100, 5000.0, 80.0);
        }
        for w in &mut short[59..64] {
            *w = win(100, 5000.0, 80.0);
        }
        assert_eq!(find(&short).len(), 2);
    }
}
