//! The warnings at the top of the report: what could not be read, and what the report
//! therefore cannot stand for. They come before any figure, not in a footnote, since
//! an investigator reads the figures as the whole story unless told otherwise.

use super::model::{InputView, Report};
use crate::pipeline::InputResult;
use crate::range::Resolved;
use serde::Serialize;

/// `--begin`/`--end` as placed on the log's clock.
#[derive(Debug, Clone, Serialize)]
pub struct RangeView {
    /// First instant kept, RFC 3339 UTC.
    pub begin: Option<String>,
    /// Last instant kept.
    pub end: Option<String>,
    /// How the values were read (`--begin 04:40 read as 2026-11-24 04:40:00.000 UTC (the log's zone)`).
    pub reading: String,
    /// No entry fell in the range.
    pub matched_nothing: bool,
}

/// One warning per input the report cannot stand for in full, and each input's own
/// warnings, `path: sentence`.
pub fn of_inputs(inputs: &[InputView]) -> Vec<String> {
    let mut w = Vec::new();
    for i in inputs {
        if i.incomplete {
            w.push(format!("{}: {}", i.path, i.verdict_note));
        }
        w.extend(i.warnings.iter().map(|x| format!("{}: {x}", i.path)));
        if let Some((line, why)) = &i.cut {
            w.push(format!("{}:{line}: {why}", i.path));
        }
    }
    w
}

/// The warning for entries dated far from the rest of the log.
pub fn outliers(b: &crate::aggregate::spread::Bulk) -> String {
    let dates = match b.outlier_range {
        Some((first, last)) if first.div_euclid(1000) == last.div_euclid(1000) => {
            format!(", at {}", crate::parse::time::rfc3339(first))
        }
        Some((first, last)) => format!(
            ", from {} to {}",
            crate::parse::time::rfc3339(first),
            crate::parse::time::rfc3339(last)
        ),
        None => String::new(),
    };
    let n = crate::report::text::thousands(b.outliers);
    let (entries, are) = if b.outliers == 1 {
        ("entry", "is")
    } else {
        ("entries", "are")
    };
    format!(
        "{n} {entries} dated far from the rest of the log{dates} (a clock set wrong, or lines \
         from another log?) {are} counted in the totals but left out of the span and the timeline"
    )
}

/// The warning for a `--window` too narrow for the log's span.
pub fn window_widened(asked_ms: i64, width_ms: i64, span_ms: i64) -> String {
    format!(
        "--window {} is too narrow for a log spanning {} (more than {} windows): windows of {} instead",
        duration(asked_ms),
        duration(span_ms),
        crate::report::text::thousands(crate::aggregate::window::MAX_FIXED_WINDOWS as u64),
        duration(width_ms)
    )
}

/// `90 s`, `15 min`, `3 h`, `2.5 days`: a duration for people.
fn duration(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    let (v, unit) = match s {
        s if s < 120.0 => (s, "s"),
        s if s < 7200.0 => (s / 60.0, "min"),
        s if s < 172_800.0 => (s / 3600.0, "h"),
        s => (s / 86_400.0, "days"),
    };
    let v = format!("{v:.1}");
    format!("{} {unit}", v.strip_suffix(".0").unwrap_or(&v))
}

/// The verdict fields of an input's view.
pub fn verdict_fields(i: &InputResult) -> (String, String, bool) {
    (
        i.verdict.kind(&i.stats).to_string(),
        i.verdict.sentence(&i.stats),
        i.verdict.incomplete(&i.stats),
    )
}

impl Report {
    /// Adds the range as placed, and its warnings (a range that keeps nothing makes
    /// the report partial).
    pub fn apply_range(&mut self, r: &Resolved, inputs: &[InputResult]) {
        let seen = inputs
            .iter()
            .filter_map(|i| i.stats.seen)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        let kept = self.span.begin.is_some();
        let (warnings, nothing) = r.warnings(seen, kept);
        self.partial |= nothing;
        self.warnings.extend(warnings);
        self.range = Some(RangeView {
            begin: r.begin.map(crate::parse::time::rfc3339),
            end: r.end.map(crate::parse::time::rfc3339),
            reading: r.reading(),
            matched_nothing: nothing,
        });
    }
}
