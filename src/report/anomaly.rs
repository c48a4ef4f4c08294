//! Where the numbers leave their baseline: spans of the timeline worth a look.
//!
//! The baseline of a signal is its median over the log's windows (robust as long as the
//! incident covers less than half of the log). A window is out of line when the query
//! time per second ("busy sessions") or the p95 latency is several times its baseline;
//! runs of such windows, with gaps of up to [`MAX_GAP`] windows bridged, make a span
//! when they last at least [`MIN_WINDOWS`] windows and stay out of line on average (or
//! hold [`MIN_WINDOWS`] slow windows), so a single slow statement or a few busy seconds
//! of an ordinary workload do not shade the chart.

use super::model::{Timeline, WindowView};
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

/// The spans of `t` where load or latency leave their baseline.
pub fn spans(t: &Timeline) -> Vec<AnomalySpan> {
    let secs = t.window_seconds.max(0.001);
    let points: Vec<Point> = t
        .windows
        .iter()
        .map(|w: &WindowView| Point {
            busy: w.total_ms / 1000.0 / secs,
            rate: w.statements as f64 / secs,
            p95_ms: w.p95_ms,
            statements: w.statements,
        })
        .collect();
    find(&points)
        .into_iter()
        .map(|mut s| {
            s.begin = t.windows[s.first_window].start.clone();
            s.last_window_start = t.windows[s.last_window].start.clone();
            s
        })
        .collect()
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
        while j < w.len() && j - last <= MAX_GAP + 1 {
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
}
