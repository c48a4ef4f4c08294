//! What the log can and cannot tell: the logging settings the log itself betrays.
//!
//! An investigator must know what is *missing* before reading what is there: with
//! `log_min_duration_statement = 5ms` the fast statements are not in the log at all, and
//! a query that "ran 200 times" may have run 200,000 times. Nothing here reads the
//! server's configuration; every fact is inferred from the entries, and worded as such.

use super::model::{QueryView, Totals};
use super::text::{human_ms, thousands};
use serde::Serialize;

/// Fewer timed statements than this and the threshold is not guessed.
const MIN_STATEMENTS_FOR_THRESHOLD: u64 = 20;

/// Thresholds people set, ms; the inferred one is the largest not above the fastest
/// logged statement.
const USUAL_THRESHOLDS_MS: &[f64] = &[
    1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0,
    10000.0,
];

/// Logging facts inferred from the log.
#[derive(Debug, Clone, Serialize)]
pub struct LogFacts {
    /// The fastest statement in the log, ms.
    pub min_duration_ms: Option<f64>,
    /// The `log_min_duration_statement` the durations suggest, ms (`0` when even
    /// sub-millisecond statements are logged); `None` when the log cannot tell.
    pub inferred_min_duration_ms: Option<f64>,
    /// Some slow sample carries its bind parameters (`DETAIL:  parameters: ...`).
    pub parameters: bool,
    /// Parse/bind steps of the extended protocol are logged.
    pub protocol_steps: bool,
    /// Query ids (`%Q`, `compute_query_id`) are logged.
    pub query_ids: bool,
    /// auto_explain plans are logged.
    pub plans: bool,
    /// One sentence per fact, for people.
    pub notes: Vec<String>,
}

/// The facts of a report's totals and queries; `min_us` is the fastest statement of
/// all fingerprints (listed or not); `prefixes` are the inputs' `log_line_prefix`es
/// (empty for formats that carry every field); `filtered` says entries were left out
/// (`--begin`/`--end`, `--query-id`), so what is absent from the rest says nothing
/// about the server's settings.
pub fn infer(
    t: &Totals,
    queries: &[QueryView],
    min_us: Option<u64>,
    prefixes: &[&str],
    filtered: bool,
) -> LogFacts {
    let min_duration_ms = min_us
        .filter(|_| t.timed_statements > 0)
        .map(super::model::ms);
    let inferred = min_duration_ms
        .filter(|_| t.timed_statements >= MIN_STATEMENTS_FOR_THRESHOLD)
        .map(threshold);
    let parameters = queries
        .iter()
        .any(|q| q.samples.iter().any(|s| s.parameters.is_some()));
    let query_ids = queries.iter().any(|q| !q.query_ids.is_empty());
    let mut f = LogFacts {
        min_duration_ms,
        inferred_min_duration_ms: inferred,
        parameters,
        protocol_steps: t.protocol_steps > 0,
        query_ids,
        plans: t.plans > 0,
        notes: Vec::new(),
    };
    f.notes = notes(t, &f);
    if filtered {
        // Absences in a slice of the log are not settings.
        f.notes.retain(|n| !n.starts_with("No bind parameters"));
        f.notes.insert(0, FILTERED.into());
    }
    f.notes.extend(prefix_notes(prefixes));
    f
}

/// The `log_min_duration_statement` the durations suggest, ms (`0` when even
/// sub-millisecond statements are logged), from the fastest timed statement `min_us`;
/// `None` when too few statements are timed to tell.
pub fn inferred_threshold(t: &Totals, min_us: Option<u64>) -> Option<f64> {
    min_us
        .filter(|_| t.timed_statements >= MIN_STATEMENTS_FOR_THRESHOLD)
        .map(super::model::ms)
        .map(threshold)
}

/// Said instead of what an absence would imply, when entries were left out.
pub const FILTERED: &str = "Entries outside --begin/--end (or removed by the filters) were left out: \
     what is absent from the rest may be logged elsewhere, so it says nothing about the server's settings.";

/// What the `log_line_prefix` leaves out: fields the report then cannot show.
fn prefix_notes(prefixes: &[&str]) -> Vec<String> {
    let mut n = Vec::new();
    let missing = |esc: &str| prefixes.iter().any(|p| !p.is_empty() && !p.contains(esc));
    let absent: Vec<&str> = [("%d", "database"), ("%u", "user"), ("%a", "application")]
        .iter()
        .filter(|(e, _)| missing(e))
        .map(|(_, what)| *what)
        .collect();
    if !absent.is_empty() {
        n.push(format!(
            "log_line_prefix has no {}: statements cannot be attributed to one.",
            absent.join(", no ")
        ));
    }
    if missing("%p") && missing("%c") {
        n.push("log_line_prefix has no process id (%p): sessions cannot be followed.".into());
    }
    if prefixes
        .iter()
        .any(|p| p.contains("%t") && !p.contains("%m") && !p.contains("%n"))
    {
        n.push(
            "Timestamps have whole seconds (%t): within a second, order is the log's order.".into(),
        );
    }
    n
}

/// The usual threshold just below the fastest logged statement, or 0.
fn threshold(min_ms: f64) -> f64 {
    USUAL_THRESHOLDS_MS
        .iter()
        .copied()
        .rev()
        .find(|&t| t <= min_ms)
        .unwrap_or(0.0)
}

fn notes(t: &Totals, f: &LogFacts) -> Vec<String> {
    let mut n = Vec::new();
    let (timed, untimed) = (t.timed_statements, t.untimed_statements);
    match (f.inferred_min_duration_ms, f.min_duration_ms) {
        (Some(th), Some(min)) if th > 0.0 && untimed > 0 => n.push(format!(
            "No duration below {} is logged: log_min_duration_statement looks like {}; \
             faster statements are counted from log_statement, without a duration.",
            human_ms(min),
            human_ms(th)
        )),
        (Some(th), Some(min)) if th > 0.0 => n.push(format!(
            "No statement faster than {} is logged: log_min_duration_statement looks like {}, \
             so faster statements are not in this log and counts are only those of slow executions.",
            human_ms(min),
            human_ms(th)
        )),
        (Some(_), Some(min)) => n.push(format!(
            "Statements as fast as {} are logged: every statement seems to be in this log \
             (log_min_duration_statement = 0 or log_duration).",
            human_ms(min)
        )),
        _ if timed == 0 && untimed > 0 => n.push(
            "Statements are logged without durations (log_statement without log_duration or \
             log_min_duration_statement): they are counted per query, their latency is unknown."
                .to_string(),
        ),
        _ => n.push("Too few timed statements to tell which statements are logged.".to_string()),
    }
    if untimed > 0 && timed > 0 {
        n.push(format!(
            "{} of {} executions have no duration in the log (log_statement): counted, latency unknown.",
            thousands(untimed),
            thousands(t.statements)
        ));
    }
    if t.failed_statements > 0 {
        n.push(format!(
            "{} statements logged by log_statement failed: they count as errors, not executions.",
            thousands(t.failed_statements)
        ));
    }
    n.push(if f.parameters {
        "Bind parameters are logged with the statements, so slow samples can be replayed.".into()
    } else {
        "No bind parameters in this log (simple protocol, or log_parameter_max_length = 0).".into()
    });
    if f.protocol_steps {
        n.push(format!(
            "The extended protocol's parse/bind steps are logged ({}); each execution counts once.",
            thousands(t.protocol_steps)
        ));
    }
    if f.query_ids {
        n.push("Query ids are logged: fingerprints can be matched with pg_stat_statements.".into());
    }
    if f.plans {
        n.push(format!(
            "{} auto_explain plans are logged.",
            thousands(t.plans)
        ));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_round_down_to_usual_settings() {
        assert_eq!(threshold(5.012), 5.0);
        assert_eq!(threshold(0.004), 0.0);
        assert_eq!(threshold(12.0), 10.0);
        assert_eq!(threshold(1000.5), 1000.0);
    }

    #[test]
    fn prefixes_say_what_they_leave_out() {
        assert!(prefix_notes(&["%m [%p] %q%u@%d "])
            .iter()
            .any(|n| n
                == "log_line_prefix has no application: statements cannot be attributed to one."));
        let n = prefix_notes(&["%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]);
        assert_eq!(
            n,
            ["Timestamps have whole seconds (%t): within a second, order is the log's order."]
        );
        assert!(prefix_notes(&[""]).is_empty());
    }
}
