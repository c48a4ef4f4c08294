//! Findings: what the merged statistics say happened, decided once for every output.
//!
//! This stage sits between aggregation and the report. It reads the merged [`Stats`]
//! pieces (the timeline windows, each fingerprint's series, DDL, server events, lock
//! waits) and returns [`Finding`]s, each with its time, a confidence and the evidence
//! it rests on: the incident spans ([`spans`]), what changed just before each onset
//! ([`causes`]), what regressed ([`regress`]), where sessions waited ([`locks`]) and
//! what the logging threshold hides. The report only renders them (HTML first screen,
//! text summary, JSON `findings`).
//!
//! Every decision is a pure function of merged statistics, which are the same from one
//! thread and many, and every list is sorted with a full tie-break, so the findings are
//! too.
//!
//! JSON schema of one finding (`findings[]`): `kind` (`incident`, `cause`,
//! `regression`, `lock_hotspot`, `threshold`), `incident` (1-based incident number, or
//! null when log-wide), `at` (RFC 3339 UTC), `confidence` (`high`, `medium`, `low`),
//! `sentence`, `evidence` (strings), and the fields of its kind (see [`Detail`]).

pub mod alerts;
pub mod causes;
pub mod locks;
pub mod regress;
pub mod relations;
pub mod spans;

use crate::aggregate::incident::{EventCounts, Incidents};
use crate::aggregate::series::Cell;
use crate::aggregate::table::QueryMap;
use crate::parse::time::rfc3339;
use crate::parse::Millis;
use rustc_hash::FxHashMap;
use serde::Serialize;

pub use spans::AnomalySpan;

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    #[allow(missing_docs)]
    Low,
    #[allow(missing_docs)]
    Medium,
    #[allow(missing_docs)]
    High,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `incident`, `cause`, `regression`, `lock_hotspot`, `threshold`.
    pub kind: &'static str,
    /// The incident span it relates to (1-based), or `None` when log-wide.
    pub incident: Option<usize>,
    /// When, RFC 3339 UTC.
    pub at: Option<String>,
    /// How sure.
    pub confidence: Confidence,
    /// The finding in a sentence, for people.
    pub sentence: String,
    /// What it rests on, one fact each.
    pub evidence: Vec<String>,
    /// The fields of its kind.
    #[serde(flatten)]
    pub detail: Detail,
}

/// The fields of each kind of finding.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// An incident span.
    Incident(spans::IncidentDetail),
    /// Something that changed just before or at an onset.
    Cause(causes::CauseDetail),
    /// A fingerprint slower during an incident than before it.
    Regression(regress::RegressionDetail),
    /// A relation sessions waited on.
    LockHotspot(locks::HotspotDetail),
    /// The logging threshold and what it hides.
    Threshold(ThresholdDetail),
}

/// A rise in statements per second that the logging threshold may explain.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdDetail {
    /// The `log_min_duration_statement` the durations suggest, ms.
    pub threshold_ms: f64,
    /// Logged statements per second before and during the incident.
    pub rate_before: f64,
    #[allow(missing_docs)]
    pub rate_during: f64,
}

/// One timeline window as the findings read it.
#[derive(Debug, Clone, Default)]
pub struct Win {
    /// Start, ms since the epoch.
    pub start: Millis,
    /// Statements that completed in it.
    pub statements: u64,
    /// Their total duration, µs.
    pub total_us: u64,
    /// Time statements ran inside the window, µs (see `WindowAcc::run_us`).
    pub run_us: u64,
    /// p95 latency, µs.
    pub p95_us: u64,
    /// Lock waits, connections, checkpoints... (display windows only).
    pub events: EventCounts,
}

/// What the findings are made from: merged statistics, borrowed.
pub struct Inputs<'a> {
    /// Windows of the automatic width (the onset's resolution, whatever `--window`).
    pub fine: &'a [Win],
    /// Their width, ms.
    pub fine_width: i64,
    /// The report's timeline windows.
    pub display: &'a [Win],
    /// Their width, ms.
    pub display_width: i64,
    /// Each listed fingerprint's cells, by fine window index.
    pub series: &'a FxHashMap<u64, Vec<(u32, Cell)>>,
    /// Every fingerprint's statistics (text, first seen).
    pub queries: &'a QueryMap,
    /// Lock waits, DDL, server events, errors...
    pub incidents: &'a Incidents,
    /// The `log_min_duration_statement` the durations suggest, ms (`None`: unknown).
    pub threshold_ms: Option<f64>,
    /// First and last entry of the log.
    pub log: (Millis, Millis),
    /// Times in sentences, in the report's zone.
    pub clock: &'a dyn Fn(Millis) -> String,
}

/// The findings and the incident spans on the report's timeline.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// Sorted by incident, then kind (incident, causes by rank, regressions by ratio,
    /// lock hotspots, threshold); log-wide findings last.
    pub findings: Vec<Finding>,
    /// The incident spans on the display windows.
    pub anomalies: Vec<AnomalySpan>,
}

/// One incident span, in time.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Onset, ms since the epoch (start of the first out-of-line fine window).
    pub at: Millis,
    /// End (end of the last out-of-line fine window).
    pub until: Millis,
}

/// Decides the findings.
pub fn diagnose(inp: &Inputs<'_>) -> Diagnosis {
    let found = spans::incidents(inp);
    let mut findings = Vec::new();
    let mut prev_end = None;
    for (i, s) in found.iter().enumerate() {
        let n = i + 1;
        findings.push(spans::finding(inp, n, s));
        let regs = regress::regressions(inp, n, &s.span, prev_end);
        let hot = locks::hot_tables(inp);
        findings.extend(causes::causes(inp, n, &s.span, prev_end, &regs, &hot));
        findings.extend(regs.into_iter().map(|r| r.finding));
        if let Some(f) = threshold(inp, n, s) {
            findings.push(f);
        }
        prev_end = Some(s.span.until);
    }
    let spans_only: Vec<Span> = found.iter().map(|s| s.span).collect();
    findings.extend(locks::hotspots(inp, &spans_only));
    sort(&mut findings);
    Diagnosis {
        findings,
        anomalies: found.into_iter().map(|s| s.view).collect(),
    }
}

fn kind_order(f: &Finding) -> (u8, f64) {
    match &f.detail {
        Detail::Incident(_) => (0, 0.0),
        Detail::Cause(c) => (1, c.rank as f64),
        Detail::Regression(r) => (2, -r.ratio),
        Detail::LockHotspot(h) => (3, -h.wait_ms),
        Detail::Threshold(_) => (4, 0.0),
    }
}

/// By incident (log-wide last), kind, then rank / ratio / wait, then sentence.
fn sort(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        let inc = |x: &Finding| x.incident.unwrap_or(usize::MAX);
        let (ka, kb) = (kind_order(a), kind_order(b));
        inc(a)
            .cmp(&inc(b))
            .then(ka.0.cmp(&kb.0))
            .then(ka.1.total_cmp(&kb.1))
            .then(a.sentence.cmp(&b.sentence))
    });
}

/// With a logging threshold, a rise in logged statements per second may be statements
/// that slowed down past it rather than more traffic.
fn threshold(inp: &Inputs<'_>, n: usize, s: &spans::Found) -> Option<Finding> {
    let th = inp.threshold_ms.filter(|t| *t > 0.0)?;
    let d = &s.detail;
    if d.rate_during < 2.0 * d.rate_before.max(0.01) {
        return None;
    }
    let sentence = format!(
        "Logged statements per second rose from {:.1} to {:.1} in incident {n}, but only statements \
         slower than about {} are logged (log_min_duration_statement): statements that slowed down \
         past the threshold show the same rise, so the log cannot tell a traffic surge from a slowdown.",
        d.rate_before,
        d.rate_during,
        ms_text(th)
    );
    Some(Finding {
        kind: "threshold",
        incident: Some(n),
        at: Some(rfc3339(s.span.at)),
        confidence: Confidence::Medium,
        sentence,
        evidence: vec![format!(
            "the fastest logged statement takes {} or more",
            ms_text(th)
        )],
        detail: Detail::Threshold(ThresholdDetail {
            threshold_ms: th,
            rate_before: d.rate_before,
            rate_during: d.rate_during,
        }),
    })
}

/// A duration for sentences: `850 ms`, `1.2 s`, `3 min 5 s`.
pub fn ms_text(ms: f64) -> String {
    let ms = ms.abs();
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as i64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A ratio for sentences: `2.7`, `25`.
pub fn times(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

/// Rounds to microseconds, as the report's ms values.
pub fn round_ms(us: f64) -> f64 {
    (us).round() / 1000.0
}

/// Shortens SQL for a sentence.
pub fn short(sql: &str, max: usize) -> String {
    match sql.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_string(),
    }
}
