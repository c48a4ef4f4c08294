//! Compare two periods: what changed between a reference period (`before`) and
//! another (`after`), fingerprint by fingerprint, and in the error and lock profiles.
//!
//! The sides are [`Snapshot`]s — the part of a report a diff reads — whether read from
//! a JSON report or analysed from logs now ([`sides`]), so both give the same diff. The
//! comparison decides (what regressed, what is new, whether counts can be compared at
//! all); [`crate::report::diff`] only renders it. It never compares what cannot be:
//! reports of another fingerprint version are refused, and two logs logged from
//! different duration thresholds are compared with a warning that says so.

pub mod model;
pub mod profile;
pub mod queries;
pub mod sides;
pub mod snapshot;
pub mod summary;

use model::{CountChange, Diff, MsChange, SideView, TotalsDiff, DIFF_SCHEMA_VERSION};
pub use snapshot::{Snapshot, SnapshotError};

/// Where a side came from, for its description.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// `json`, `logs` or `window`.
    pub source: &'static str,
    /// The JSON report's path or the logs' paths.
    pub paths: Vec<String>,
    /// The window (`--baseline`/`--compare`, or the incident span found), in words.
    pub window: Option<String>,
}

/// Compares `before` with `after`.
pub fn compare(
    before: (&Snapshot, Origin),
    after: (&Snapshot, Origin),
    title: Option<String>,
) -> Diff {
    let (b, a) = (before.0, after.0);
    let queries = queries::diff(b, a);
    let count_kind = |k: &[&str]| queries.iter().filter(|q| k.contains(&q.kind)).count() as u64;
    let totals = TotalsDiff {
        statements: CountChange::new(b.totals.statements, a.totals.statements),
        timed_statements: CountChange::new(b.totals.timed_statements, a.totals.timed_statements),
        total_ms: MsChange::total(b.totals.total_ms, a.totals.total_ms),
        fingerprints: CountChange::new(b.totals.fingerprints, a.totals.fingerprints),
        errors: CountChange::new(b.totals.errors, a.totals.errors),
        deadlocks: CountChange::new(b.totals.deadlocks, a.totals.deadlocks),
        cancellations: CountChange::new(b.totals.cancellations, a.totals.cancellations),
        temp_files: CountChange::new(b.totals.temp_files, a.totals.temp_files),
        lock_waits: CountChange::new(b.locks.waits, a.locks.waits),
        lock_wait_ms: MsChange::total(b.locks.wait_ms, a.locks.wait_ms),
        new_fingerprints: count_kind(&["new", "appeared"]),
        vanished_fingerprints: count_kind(&["vanished", "disappeared"]),
    };
    let (counts_comparable, warnings) = warnings(b, a);
    let mut diff = Diff {
        diff_version: DIFF_SCHEMA_VERSION,
        fingerprint_version: b.fingerprint_version,
        title: title
            .or_else(|| a.title.clone())
            .or_else(|| b.title.clone()),
        before: side("before", b, before.1),
        after: side("after", a, after.1),
        warnings,
        counts_comparable,
        summary: Vec::new(),
        totals,
        errors: profile::errors(b, a),
        locks: profile::locks(b, a),
        queries,
    };
    diff.summary = summary::sentences(&diff);
    diff
}

fn side(label: &'static str, s: &Snapshot, o: Origin) -> SideView {
    SideView {
        label,
        source: o.source,
        paths: o.paths,
        window: o.window,
        begin: s.span.begin.clone(),
        end: s.span.end.clone(),
        seconds: s.span.seconds,
        statements: s.totals.statements,
        timed_statements: s.totals.timed_statements,
        total_ms: s.totals.total_ms,
        fingerprints: s.totals.fingerprints,
        threshold_ms: s.log_facts.inferred_min_duration_ms,
        partial: s.partial,
    }
}

/// Whether counts can be compared, and what the comparison cannot stand for.
fn warnings(b: &Snapshot, a: &Snapshot) -> (bool, Vec<String>) {
    use crate::report::text::human_ms;
    let mut w = Vec::new();
    let (tb, ta) = (
        b.log_facts.inferred_min_duration_ms,
        a.log_facts.inferred_min_duration_ms,
    );
    let comparable = match (tb, ta) {
        (Some(x), Some(y)) if x == y => {
            if x > 0.0 {
                w.push(format!(
                    "Both periods log only statements slower than about {} (log_min_duration_statement): counts and means are of those slow executions alone; a query that became faster than that disappears from the log, one that became slower appears in it (marked disappeared, appeared: the log cannot tell them from queries that stopped or started).",
                    human_ms(x)
                ));
            }
            true
        }
        (Some(x), Some(y)) => {
            w.push(format!(
                "The periods were logged with different duration thresholds (log_min_duration_statement looks like {} before, {} after): counts may not be comparable — a change in count may be statements crossing the threshold.",
                human_ms(x),
                human_ms(y)
            ));
            false
        }
        _ => {
            let which = match (tb, ta) {
                (None, None) => "either period",
                (None, _) => "the period before",
                _ => "the period after",
            };
            w.push(format!(
                "Too few timed statements in {which} to tell which statements are logged (log_min_duration_statement): counts may not be comparable."
            ));
            false
        }
    };
    for (label, s) in [("before", b), ("after", a)] {
        w.extend(
            s.warnings
                .iter()
                .map(|x| format!("The {label} side's report: {x}")),
        );
        if s.partial {
            w.push(format!(
                "The {label} side stands for part of its input only (its report says why)."
            ));
        }
        if s.unlisted() > 0 {
            w.push(format!(
                "The {label} side lists {} of its {} fingerprints (the costliest): a query missing from that list may still have run, so it is marked unlisted, not new or vanished.",
                s.queries.len(),
                s.totals.fingerprints
            ));
        }
        if s.folded.as_ref().is_some_and(|f| !f.is_null()) {
            w.push(format!(
                "The {label} side folded its cheapest fingerprints into one row (--max-fingerprints): those are counted in the totals but not compared one by one."
            ));
        }
    }
    let (sb, sa) = (b.span.seconds, a.span.seconds);
    if sb > 0.0 && sa > 0.0 && (sa / sb > 1.1 || sb / sa > 1.1) {
        w.push(format!(
            "The periods do not last as long ({} before, {} after): counts and total times are per period, not per second.",
            human_ms(sb * 1000.0),
            human_ms(sa * 1000.0)
        ));
    }
    (comparable, w)
}
