//! What regressed: each fingerprint before an incident against during it.
//!
//! Both are read on the fine windows (the automatic width, whatever `--window`).
//! "Before" is the windows from the end of the previous incident (or the log's
//! start) to the onset's window; "during" is the span's windows. A fingerprint
//! regressed when its mean latency during is [`FACTOR`] times its mean before (the
//! `ratio` ranks by the mean), and at least [`MIN_GROWTH_MS`] slower. With a logging threshold, a fingerprint absent before
//! the onset but slow during it ran faster than the threshold then, or did not run:
//! its ratio is the lower bound `mean during / threshold`, said as such.

use super::relations::tables;
use super::{Confidence, Detail, Finding, Inputs, Span};
use crate::aggregate::series::Cell;
use crate::normalize::fingerprint_hex;
use crate::parse::time::rfc3339;
use crate::parse::Millis;
use serde::Serialize;

/// How many times slower (mean) makes a regression.
pub const FACTOR: f64 = 2.0;
/// ... and at least this much slower, ms (a 0.01 → 0.03 ms change is noise).
const MIN_GROWTH_MS: f64 = 1.0;
/// Executions during the incident below this are not judged.
const MIN_DURING: u64 = 5;
/// Executions before the onset below this give no baseline.
const MIN_BEFORE: u64 = 3;
/// Log before the onset needed to call a fingerprint absent, ms.
pub const MIN_COVERAGE_MS: i64 = 30_000;
/// Regressions kept per incident.
const MAX: usize = 10;

/// One side of the comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    /// Executions (with or without a duration).
    pub count: u64,
    /// Mean, p50 and p95 latency of the timed ones, ms (`None` without any).
    pub mean_ms: Option<f64>,
    #[allow(missing_docs)]
    pub p50_ms: Option<f64>,
    #[allow(missing_docs)]
    pub p95_ms: Option<f64>,
    /// Its share of all query time in the same windows (0..1).
    pub share: f64,
}

/// The fields of a `regression` finding.
#[derive(Debug, Clone, Serialize)]
pub struct RegressionDetail {
    /// 16 hex digits.
    pub fingerprint: String,
    /// Normalized text.
    pub query: String,
    /// Tables it reads or writes (from its text).
    pub tables: Vec<String>,
    #[allow(missing_docs)]
    pub before: Side,
    #[allow(missing_docs)]
    pub during: Side,
    /// Mean during / mean before.
    pub ratio: f64,
    /// The fingerprint is not in the log before the onset: `ratio` is mean during /
    /// threshold, a lower bound.
    pub ratio_is_lower_bound: bool,
}

/// A regression with what causes need of it.
#[derive(Debug, Clone)]
pub struct Reg {
    /// Its finding.
    pub finding: Finding,
    /// Its tables.
    pub tables: Vec<String>,
    /// Its ratio.
    pub ratio: f64,
}

fn side(c: &Cell, all_us: u64) -> Side {
    let timed = c.timed();
    let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
    Side {
        count: c.count,
        mean_ms: (timed > 0).then(|| ms(c.total_us / timed)),
        p50_ms: (timed > 0).then(|| ms(c.quantile(0.50))),
        p95_ms: (timed > 0).then(|| ms(c.quantile(0.95))),
        share: if all_us > 0 {
            (c.total_us as f64 / all_us as f64 * 1000.0).round() / 1000.0
        } else {
            0.0
        },
    }
}

/// The fine windows before and during `s` (indices), after `prev_end`.
pub fn phases(
    inp: &Inputs<'_>,
    s: &Span,
    prev_end: Option<Millis>,
) -> Option<(usize, usize, usize)> {
    let first = inp.fine.first()?.start;
    let w = inp.fine_width.max(1);
    let n = inp.fine.len();
    let idx = |t: Millis| (((t - first).max(0) / w) as usize).min(n.saturating_sub(1));
    let a = idx(s.at);
    let b = idx(s.until - 1);
    let from = prev_end.map_or(0, |p| (idx(p - 1) + 1).min(a));
    Some((from, a, b))
}

/// The regressions of incident `n` spanning `s`, ranked by ratio.
pub fn regressions(inp: &Inputs<'_>, n: usize, s: &Span, prev_end: Option<Millis>) -> Vec<Reg> {
    let Some((from, a, b)) = phases(inp, s, prev_end) else {
        return Vec::new();
    };
    let before_ms = (a - from) as i64 * inp.fine_width;
    if a == from {
        return Vec::new();
    }
    let total = |r: std::ops::Range<usize>| inp.fine[r].iter().map(|w| w.total_us).sum::<u64>();
    let (all_before, all_during) = (total(from..a), total(a..b + 1));
    let threshold = inp.threshold_ms.filter(|t| *t > 0.0);
    let mut out: Vec<Reg> = Vec::new();
    for (fp, cells) in inp.series {
        let (mut pre, mut dur) = (Cell::default(), Cell::default());
        for (i, c) in cells {
            let i = *i as usize;
            if (from..a).contains(&i) {
                pre.merge(c);
            } else if (a..=b).contains(&i) {
                dur.merge(c);
            }
        }
        let (bt, dt) = (pre.timed(), dur.timed());
        if dt < MIN_DURING {
            continue;
        }
        let during_mean = dur.total_us as f64 / dt as f64;
        let (ratio, lower) = if bt >= MIN_BEFORE {
            let before_mean = pre.total_us as f64 / bt as f64;
            if during_mean - before_mean < MIN_GROWTH_MS * 1000.0 {
                continue;
            }
            (during_mean / before_mean.max(1.0), false)
        } else if pre.count == 0 && before_ms >= MIN_COVERAGE_MS {
            match threshold {
                Some(th) => (during_mean / (th * 1000.0), true),
                None => continue,
            }
        } else {
            continue;
        };
        if ratio < FACTOR {
            continue;
        }
        let text = inp.queries.get(fp).map_or("", |q| q.text.as_str());
        let d = RegressionDetail {
            fingerprint: fingerprint_hex(*fp),
            query: text.to_string(),
            tables: tables(text),
            before: side(&pre, all_before),
            during: side(&dur, all_during),
            ratio: (ratio * 10.0).round() / 10.0,
            ratio_is_lower_bound: lower,
        };
        out.push(Reg {
            tables: d.tables.clone(),
            ratio: d.ratio,
            finding: finding(inp, n, s, d, threshold),
        });
    }
    out.sort_by(|x, y| {
        y.ratio
            .total_cmp(&x.ratio)
            .then(x.finding.sentence.cmp(&y.finding.sentence))
    });
    out.truncate(MAX);
    out
}

fn finding(inp: &Inputs<'_>, n: usize, s: &Span, d: RegressionDetail, th: Option<f64>) -> Finding {
    let q = super::short(&d.query, 80);
    let during = d.during.mean_ms.unwrap_or(0.0);
    let on = if d.tables.is_empty() {
        String::new()
    } else {
        format!(" (on {})", d.tables.join(", "))
    };
    let (sentence, confidence) = if d.ratio_is_lower_bound {
        let th = th.unwrap_or(0.0);
        (
            format!(
                "{q}{on}: not in the log before incident {n} (faster than the {} threshold then, or not run), \
                 {} executions averaging {} during it: at least {}× slower if it ran before.",
                super::ms_text(th),
                d.during.count,
                super::ms_text(during),
                super::times(d.ratio)
            ),
            Confidence::Medium,
        )
    } else {
        let before = d.before.mean_ms.unwrap_or(0.0);
        (
            format!(
                "{q}{on}: {} → {} mean ({}× slower), {} executions before, {} during incident {n}.",
                super::ms_text(before),
                super::ms_text(during),
                super::times(d.ratio),
                d.before.count,
                d.during.count
            ),
            if d.before.count >= 20 && d.during.count >= 20 {
                Confidence::High
            } else {
                Confidence::Medium
            },
        )
    };
    let show = |x: &Side| {
        format!(
            "{} executions, mean {}, p50 {}, p95 {}, {:.1}% of query time",
            x.count,
            x.mean_ms.map_or("n/a".into(), |v| format!("{v:.3} ms")),
            x.p50_ms.map_or("n/a".into(), |v| format!("{v:.3} ms")),
            x.p95_ms.map_or("n/a".into(), |v| format!("{v:.3} ms")),
            x.share * 100.0
        )
    };
    let evidence = vec![
        format!("before: {}", show(&d.before)),
        format!("during: {}", show(&d.during)),
        format!("compared on {} s windows", inp.fine_width as f64 / 1000.0),
    ];
    Finding {
        kind: "regression",
        incident: Some(n),
        at: Some(rfc3339(s.at)),
        confidence,
        sentence,
        evidence,
        detail: Detail::Regression(d),
    }
}
