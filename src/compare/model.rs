//! The comparison's result: what every rendering of a diff (JSON, HTML, text) says.
//!
//! Every figure carries both sides, so a reader never has to trust a computed change
//! alone; `ratio` is `after / before` and is absent where `before` is zero (a ratio to
//! nothing is not a number anyone should read).

use serde::Serialize;

/// The version of this JSON shape; it changes when a field changes meaning.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// A comparison of two periods.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// [`DIFF_SCHEMA_VERSION`].
    pub diff_version: u32,
    /// The fingerprint algorithm both sides were written with.
    pub fingerprint_version: u32,
    /// `--title`.
    pub title: Option<String>,
    /// The earlier (reference) period.
    pub before: SideView,
    /// The period compared with it.
    pub after: SideView,
    /// What the comparison cannot stand for, one sentence each (shown first).
    pub warnings: Vec<String>,
    /// False when the two sides log statements from different duration thresholds:
    /// then a change in count may be statements crossing the threshold.
    pub counts_comparable: bool,
    /// The main changes in sentences, most important first.
    pub summary: Vec<String>,
    /// Whole-period totals.
    pub totals: TotalsDiff,
    /// Every fingerprint listed on either side, by the size of the change in its
    /// total time (largest first; ties by the larger total, then by fingerprint).
    pub queries: Vec<QueryDiff>,
    /// The error profile.
    pub errors: ErrorsDiff,
    /// The lock profile.
    pub locks: LocksDiff,
}

/// One side, described.
#[derive(Debug, Clone, Serialize)]
pub struct SideView {
    /// `before` or `after`.
    pub label: &'static str,
    /// `json` (a report read back), `logs` (analysed now) or `window` (a time window
    /// of one log, `--baseline`/`--compare`).
    pub source: &'static str,
    /// The JSON report's path or the logs' paths.
    pub paths: Vec<String>,
    /// The window asked for (`--baseline`/`--compare`), as given or found.
    pub window: Option<String>,
    /// First and last timestamps of what was read, RFC 3339 UTC.
    pub begin: Option<String>,
    /// Last timestamp.
    pub end: Option<String>,
    /// Seconds between them.
    pub seconds: f64,
    /// Executions, timed or not.
    pub statements: u64,
    /// Executions with a duration.
    pub timed_statements: u64,
    /// Their time, ms.
    pub total_ms: f64,
    /// Distinct fingerprints.
    pub fingerprints: u64,
    /// The log_min_duration_statement the durations suggest (ms), when told.
    pub threshold_ms: Option<f64>,
    /// The side's report stands for part of its input only.
    pub partial: bool,
}

/// A count on both sides.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CountChange {
    /// Before.
    pub before: u64,
    /// After.
    pub after: u64,
    /// After − before.
    pub change: i64,
    /// After / before; absent when before is 0.
    pub ratio: Option<f64>,
}

/// Milliseconds on both sides; a side is absent when it has no timed execution.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MsChange {
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
    /// After − before, when both are known.
    pub change: Option<f64>,
    /// After / before, when both are known and before is not 0.
    pub ratio: Option<f64>,
}

impl CountChange {
    /// The change from `before` to `after`.
    pub fn new(before: u64, after: u64) -> CountChange {
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        CountChange {
            before,
            after,
            change: signed(after) - signed(before),
            ratio: (before > 0).then(|| round6(after as f64 / before as f64)),
        }
    }
}

impl MsChange {
    /// The change from `before` to `after`.
    pub fn new(before: Option<f64>, after: Option<f64>) -> MsChange {
        let both = before.zip(after);
        MsChange {
            before,
            after,
            change: both.map(|(b, a)| round6(a - b)),
            ratio: both.filter(|(b, _)| *b > 0.0).map(|(b, a)| round6(a / b)),
        }
    }

    /// Both sides known (absent counts as 0 ms: total times).
    pub fn total(before: f64, after: f64) -> MsChange {
        MsChange::new(Some(before), Some(after))
    }
}

/// Rounded to 6 decimals: a change of floats read from JSON is the same whichever side
/// the floats came from, and prints without `0.30000000000000004`.
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Whole-period totals.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct TotalsDiff {
    pub statements: CountChange,
    pub timed_statements: CountChange,
    pub total_ms: MsChange,
    pub fingerprints: CountChange,
    pub errors: CountChange,
    pub deadlocks: CountChange,
    pub cancellations: CountChange,
    pub temp_files: CountChange,
    pub lock_waits: CountChange,
    pub lock_wait_ms: MsChange,
    /// Fingerprints listed only after / only before (`new` + `appeared`,
    /// `vanished` + `disappeared`).
    pub new_fingerprints: u64,
    pub vanished_fingerprints: u64,
}

/// One fingerprint on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct QueryDiff {
    /// The fingerprint (hex).
    pub fingerprint: String,
    /// Its normalized text.
    pub query: String,
    /// `regressed`, `improved` or `unchanged` (latency, when on both sides); `new`
    /// or `vanished` when absent from a side that logs every statement; `appeared` or
    /// `disappeared` when absent from a side that logs only statements slower than a
    /// threshold (it may have run there, faster); `unlisted_before`/`unlisted_after`
    /// when absent from a side whose list is cut; `not_run` when it only failed or
    /// waited on both sides (listed for its errors or lock waits). A side where it only
    /// failed counts as absent.
    pub kind: &'static str,
    /// For an `appeared` query whose mean is now [`crate::compare::queries::RATIO`]×
    /// the before side's threshold or more: that threshold, ms. It is new, or every
    /// run before was faster than this — a regression to its mean now.
    pub past_threshold_ms: Option<f64>,
    /// Executions.
    pub count: CountChange,
    /// Executions with a duration.
    pub timed: CountChange,
    /// Mean latency over the timed executions.
    pub mean_ms: MsChange,
    /// 95th percentile.
    pub p95_ms: MsChange,
    /// Total time (0 on a side where it did not run).
    pub total_ms: MsChange,
    /// Errors of this statement.
    pub errors: CountChange,
    /// Lock waits of this statement.
    pub lock_waits: CountChange,
}

/// One key (an SQLSTATE, a message kind, a relation) counted on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct KeyChange {
    /// The key in words (`23505`, `ERROR 40P01 deadlock detected`, `orders (ShareLock)`).
    pub key: String,
    /// Occurrences.
    pub count: CountChange,
    /// Time waited (locks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<MsChange>,
    /// Seen only after.
    pub new: bool,
    /// Seen only before.
    pub vanished: bool,
}

/// The error profile on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorsDiff {
    /// ERROR + FATAL + PANIC.
    pub errors: CountChange,
    /// By SQLSTATE (empty key: the log does not tell), largest change first.
    pub by_sqlstate: Vec<KeyChange>,
    /// By kind of message (severity, SQLSTATE, normalized message).
    pub by_message: Vec<KeyChange>,
}

/// The lock profile on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct LocksDiff {
    /// `still waiting` messages.
    pub waits: CountChange,
    /// Time waited as far as the log tells.
    pub wait_ms: MsChange,
    /// By relation and mode, largest change in waits first.
    pub by_relation: Vec<KeyChange>,
}
