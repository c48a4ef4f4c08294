//! Per-fingerprint changes: joined on the fingerprint, classified, ordered by impact.
//!
//! A fingerprint absent from one side is `new` or `vanished` only when that side's
//! list is whole and it logs every statement. A report lists at most
//! [`crate::report::model::MAX_QUERIES`] fingerprints, so absence from a cut list says
//! nothing (`unlisted_*`); and with `log_min_duration_statement > 0` a query missing
//! from one side may have run there faster than the threshold (`appeared`,
//! `disappeared`). A query that appeared well above the threshold (its mean
//! [`RATIO`]× the threshold) is flagged `past_threshold`: it is new, or it regressed
//! from below the threshold to its mean now — the log cannot tell which.

use super::model::{CountChange, MsChange, QueryDiff};
use super::snapshot::{QuerySnap, Snapshot};
use std::collections::BTreeMap;

/// A mean or p95 at least this many times the other side's is a change...
pub const RATIO: f64 = 1.5;
/// ...when it also moved by at least this much (a 2 µs → 5 µs move is noise).
pub const MIN_CHANGE_MS: f64 = 1.0;

/// Every fingerprint of either side, by |change in total time| (largest first), ties
/// by the larger of its totals, then by fingerprint so the order is the same on every run.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<QueryDiff> {
    let mut joined: BTreeMap<&str, (Option<&QuerySnap>, Option<&QuerySnap>)> = BTreeMap::new();
    for q in &before.queries {
        joined.entry(&q.fingerprint).or_default().0 = Some(q);
    }
    for q in &after.queries {
        joined.entry(&q.fingerprint).or_default().1 = Some(q);
    }
    let sides = [Whole::of(before), Whole::of(after)];
    let mut out: Vec<QueryDiff> = joined
        .into_iter()
        .map(|(fp, (b, a))| one(fp, b, a, &sides))
        .collect();
    // Ties (no change at all, as in a report against itself) by the larger total, so
    // the costly queries still come first.
    let larger = |q: &QueryDiff| {
        let t = q.total_ms;
        t.before.unwrap_or(0.0).max(t.after.unwrap_or(0.0))
    };
    out.sort_by(|x, y| {
        impact(y)
            .total_cmp(&impact(x))
            .then_with(|| larger(y).total_cmp(&larger(x)))
            .then_with(|| x.fingerprint.cmp(&y.fingerprint))
    });
    out
}

/// The size of a change: |after − before| of the total time.
pub fn impact(q: &QueryDiff) -> f64 {
    q.total_ms.change.unwrap_or(0.0).abs()
}

/// What absence from a side means.
struct Whole {
    /// The side lists every fingerprint it counted.
    listed: bool,
    /// The duration threshold the side's log suggests (`Some(0.0)`: every statement).
    threshold_ms: Option<f64>,
}

impl Whole {
    fn of(s: &Snapshot) -> Whole {
        Whole {
            listed: s.unlisted() == 0,
            threshold_ms: s.log_facts.inferred_min_duration_ms,
        }
    }

    /// Absence here means the query did not run.
    fn absence_is_proof(&self) -> bool {
        self.listed && self.threshold_ms == Some(0.0)
    }
}

/// What a query absent from one side is.
fn absent_kind(missing: &Whole, before: bool) -> &'static str {
    match (missing.listed, missing.absence_is_proof(), before) {
        (false, _, true) => "unlisted_before",
        (false, _, false) => "unlisted_after",
        (true, true, true) => "new",
        (true, true, false) => "vanished",
        (true, false, true) => "appeared",
        (true, false, false) => "disappeared",
    }
}

/// An `appeared` query whose mean is now well above the threshold under which it
/// ran before (if it ran): the threshold, else `None`.
fn past_threshold(kind: &str, before: &Whole, mean_after: Option<f64>) -> Option<f64> {
    let t = before.threshold_ms.filter(|t| *t > 0.0)?;
    let m = mean_after?;
    (kind == "appeared" && m >= t * RATIO && m - t >= MIN_CHANGE_MS).then_some(t)
}

fn one(fp: &str, b: Option<&QuerySnap>, a: Option<&QuerySnap>, sides: &[Whole; 2]) -> QueryDiff {
    let count = |q: Option<&QuerySnap>, f: fn(&QuerySnap) -> u64| q.map_or(0, f);
    let lat = |q: Option<&QuerySnap>, f: fn(&QuerySnap) -> Option<f64>| q.and_then(f);
    let mean_ms = MsChange::new(lat(b, |q| q.mean_ms), lat(a, |q| q.mean_ms));
    let p95_ms = MsChange::new(lat(b, |q| q.p95_ms), lat(a, |q| q.p95_ms));
    // A side where it only failed or waited (listed for its errors) did not run there.
    let ran = |q: Option<&QuerySnap>| q.filter(|q| q.count > 0).is_some();
    let kind = match (ran(b), ran(a)) {
        (false, false) => "not_run",
        (false, true) => absent_kind(&sides[0], true),
        (true, false) => absent_kind(&sides[1], false),
        (true, true) => latency_kind(&mean_ms, &p95_ms),
    };
    let text = a.or(b).map(|q| q.query.clone()).unwrap_or_default();
    QueryDiff {
        fingerprint: fp.to_string(),
        query: text,
        kind,
        past_threshold_ms: past_threshold(kind, &sides[0], mean_ms.after),
        count: CountChange::new(count(b, |q| q.count), count(a, |q| q.count)),
        timed: CountChange::new(count(b, |q| q.timed), count(a, |q| q.timed)),
        mean_ms,
        p95_ms,
        total_ms: MsChange::total(b.map_or(0.0, |q| q.total_ms), a.map_or(0.0, |q| q.total_ms)),
        errors: CountChange::new(count(b, |q| q.errors), count(a, |q| q.errors)),
        lock_waits: CountChange::new(count(b, |q| q.lock_waits), count(a, |q| q.lock_waits)),
    }
}

/// `regressed` when the mean or the p95 rose [`RATIO`]× and by [`MIN_CHANGE_MS`];
/// `improved` when one fell so and neither rose; else `unchanged`.
fn latency_kind(mean: &MsChange, p95: &MsChange) -> &'static str {
    let moved = |m: &MsChange, up: bool| match (m.before, m.after) {
        (Some(b), Some(a)) if up => a >= b * RATIO && a - b >= MIN_CHANGE_MS,
        (Some(b), Some(a)) => b >= a * RATIO && b - a >= MIN_CHANGE_MS,
        _ => false,
    };
    if moved(mean, true) || moved(p95, true) {
        "regressed"
    } else if moved(mean, false) || moved(p95, false) {
        "improved"
    } else {
        "unchanged"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(b: f64, a: f64) -> MsChange {
        MsChange::new(Some(b), Some(a))
    }

    #[test]
    fn a_regression_needs_ratio_and_size() {
        assert_eq!(latency_kind(&ms(0.4, 150.0), &ms(1.0, 300.0)), "regressed");
        // Three times slower, but by 4 µs.
        assert_eq!(
            latency_kind(&ms(0.002, 0.006), &ms(0.002, 0.006)),
            "unchanged"
        );
        assert_eq!(latency_kind(&ms(10.0, 12.0), &ms(20.0, 25.0)), "unchanged");
        assert_eq!(latency_kind(&ms(150.0, 0.5), &ms(300.0, 1.0)), "improved");
        // The tail rose even though the mean fell: a regression.
        assert_eq!(latency_kind(&ms(10.0, 5.0), &ms(20.0, 90.0)), "regressed");
        let none = MsChange::new(None, Some(3.0));
        assert_eq!(latency_kind(&none, &none), "unchanged");
    }
}
