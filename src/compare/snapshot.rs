//! One side of a comparison: the part of a report a diff reads, whichever way it came.
//!
//! A side is read from a JSON report pgferret wrote (`-o x.json`) or built from a
//! [`Report`] analysed just now. Both go through the same serde shape — a report is
//! turned into its JSON value and read back — so a JSON report and the logs it was
//! written from give the same comparison, and the latencies are the ones the report
//! computed from its histograms, never recomputed here.

use crate::report::Report;
use serde::Deserialize;
use std::path::Path;

/// Why a side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The JSON report was written with another fingerprint algorithm.
    #[error(
        "{path}: written with fingerprint version {found}, this pgferret uses {ours}: \
         the same query has different fingerprints in the two, so they cannot be compared \
         (analyse the logs again with this pgferret, or compare reports written by the same version)"
    )]
    FingerprintVersion {
        /// The report.
        path: String,
        /// Its version.
        found: u32,
        /// This build's version.
        ours: u32,
    },
    /// The file holds a JSON object that is not a pgferret report this version reads.
    #[error("{path}: not a pgferret JSON report this version can read: {why}")]
    NotAReport {
        /// The file.
        path: String,
        /// What serde said.
        why: String,
    },
    /// The file cannot be read.
    #[error("{path}: {why}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        why: std::io::Error,
    },
}

/// What a diff reads of one report.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct Snapshot {
    pub fingerprint_version: u32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub partial: bool,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub span: SpanSnap,
    pub totals: TotalsSnap,
    pub queries: Vec<QuerySnap>,
    #[serde(default)]
    pub folded: Option<serde_json::Value>,
    pub log_facts: FactsSnap,
    pub errors: ErrorsSnap,
    pub locks: LocksSnap,
}

/// The report's span.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct SpanSnap {
    pub begin: Option<String>,
    pub end: Option<String>,
    pub seconds: f64,
}

/// The report's totals.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct TotalsSnap {
    pub statements: u64,
    pub timed_statements: u64,
    pub total_ms: f64,
    pub fingerprints: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub deadlocks: u64,
    #[serde(default)]
    pub cancellations: u64,
    #[serde(default)]
    pub temp_files: u64,
}

/// One fingerprint as the report lists it.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct QuerySnap {
    pub fingerprint: String,
    pub query: String,
    pub count: u64,
    pub timed: u64,
    pub total_ms: f64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    #[serde(default)]
    pub lock_waits: u64,
    #[serde(default)]
    pub lock_wait_ms: f64,
    #[serde(default)]
    pub errors: u64,
}

/// What the log tells of its settings.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct FactsSnap {
    pub inferred_min_duration_ms: Option<f64>,
}

/// The error profile.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct ErrorsSnap {
    pub errors: u64,
    pub by_sqlstate: Vec<SqlstateSnap>,
    pub by_message: Vec<MessageSnap>,
}

/// Errors of one SQLSTATE.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct SqlstateSnap {
    pub sqlstate: String,
    pub count: u64,
}

/// One kind of error message.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct MessageSnap {
    pub severity: String,
    pub sqlstate: String,
    pub message: String,
    pub count: u64,
}

/// The lock profile.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct LocksSnap {
    pub waits: u64,
    pub wait_ms: f64,
    pub by_relation: Vec<LockRelationSnap>,
}

/// Waits on one relation in one mode.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct LockRelationSnap {
    pub relation: String,
    pub mode: String,
    pub object: String,
    pub waits: u64,
    pub wait_ms: f64,
}

impl Snapshot {
    /// The side of a report analysed in this run (`name` names it in an error: a
    /// value JSON cannot carry, such as a NaN, would fail here as in a JSON report).
    pub fn from_report(name: &str, r: &Report) -> Result<Snapshot, SnapshotError> {
        let not = |e: serde_json::Error| SnapshotError::NotAReport {
            path: name.to_string(),
            why: e.to_string(),
        };
        serde_json::to_value(r)
            .and_then(serde_json::from_value)
            .map_err(not)
    }

    /// Reads a JSON report, refusing one of another fingerprint version.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|why| SnapshotError::Io {
            path: name.clone(),
            why,
        })?;
        Self::from_json(&name, &bytes)
    }

    /// Reads a JSON report's text (`path` names it in errors).
    pub fn from_json(path: &str, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let not = |why: String| SnapshotError::NotAReport {
            path: path.to_string(),
            why,
        };
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| not(e.to_string()))?;
        if v.get("diff_version").is_some() {
            return Err(not(
                "it is a comparison (pgferret diff), not a report: compare the reports it was made from".into(),
            ));
        }
        // The version first: a report of another version may also differ in shape, and
        // the version is what the user must be told.
        let found = v
            .get("fingerprint_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| not("it has no fingerprint_version".into()))?;
        let ours = crate::normalize::FINGERPRINT_VERSION;
        if found != u64::from(ours) {
            return Err(SnapshotError::FingerprintVersion {
                path: path.to_string(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
                ours,
            });
        }
        serde_json::from_value(v).map_err(|e| not(e.to_string()))
    }

    /// The fingerprints the report counts but does not list (its list is cut at
    /// [`crate::report::model::MAX_QUERIES`]): when there are some, a fingerprint
    /// absent from the list may still have run.
    pub fn unlisted(&self) -> u64 {
        self.totals
            .fingerprints
            .saturating_sub(self.queries.len() as u64)
    }
}

/// Whether `path` is a JSON report (rather than a log): a file holding one JSON object
/// with a `fingerprint_version`. A jsonlog file holds one object per line, so it fails
/// to parse as a single value and is read as a log.
pub fn is_report(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = [0u8; 1];
    let mut r = std::io::BufReader::new(f);
    // Cheap test first: a report starts with `{` (pretty-printed, no leading space).
    if std::io::Read::read(&mut r, &mut first).ok() != Some(1) || first[0] != b'{' {
        return false;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let v: Result<serde_json::Map<String, serde_json::Value>, _> =
        serde_json::from_reader(std::io::BufReader::new(f));
    v.is_ok_and(|m| m.contains_key("fingerprint_version") && m.contains_key("queries"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_fingerprint_version_is_refused() {
        let e = Snapshot::from_json("old.json", br#"{"fingerprint_version": 999999}"#)
            .expect_err("refused");
        assert!(matches!(
            e,
            SnapshotError::FingerprintVersion { found: 999999, .. }
        ));
        assert!(e.to_string().contains("cannot be compared"), "{e}");
    }

    #[test]
    fn a_diff_is_not_a_report() {
        let e = Snapshot::from_json(
            "d.json",
            br#"{"diff_version": 1, "fingerprint_version": 2}"#,
        )
        .expect_err("not a report");
        assert!(e.to_string().contains("pgferret diff"), "{e}");
    }

    #[test]
    fn a_json_log_line_is_not_a_report() {
        let e = Snapshot::from_json("x.json", br#"{"timestamp": "2026"}"#).expect_err("not");
        assert!(matches!(e, SnapshotError::NotAReport { .. }), "{e}");
    }
}
