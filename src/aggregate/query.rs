//! Per-fingerprint statistics and the slowest samples of each.

use super::incident::QuerySignals;
use super::table::Execs;
use crate::parse::Millis;
use std::collections::BTreeSet;

/// How many slowest samples each fingerprint keeps.
pub const SAMPLES: usize = 3;

/// Where an observation sits in the input: (file index, byte offset). Breaks ties the
/// same way whatever the chunking.
pub type Order = (u32, u64);

/// One execution kept as an example.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Sample {
    pub duration_us: u64,
    pub ts: Option<Millis>,
    pub order: Order,
    /// The statement as the client sent it.
    pub query: String,
    pub parameters: Option<String>,
    pub database: String,
    pub user: String,
    pub application: String,
    /// The process that ran it (to find its auto_explain plan).
    pub pid: Option<u32>,
}

/// An auto_explain plan of a fingerprint.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PlanSample {
    pub duration_us: u64,
    pub ts: Option<Millis>,
    pub order: Order,
    pub pid: Option<u32>,
    /// The plan as logged.
    pub plan: String,
}

/// Statistics of one fingerprint.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct QueryStats {
    /// Normalized text.
    pub text: String,
    /// Executions, with or without a logged duration.
    pub count: u64,
    /// Executions with a duration: total, min, max and the histogram are over these.
    pub timed: u64,
    pub total_us: u64,
    pub min_us: u64,
    pub max_us: u64,
    /// The executions: their latencies (and, while few, their times).
    pub execs: Execs,
    pub first_seen: Option<Millis>,
    pub last_seen: Option<Millis>,
    /// Slowest first; ties by input order.
    pub samples: Vec<Sample>,
    /// Query ids (`%Q`, csv/json `query_id`) seen for this fingerprint.
    pub query_ids: BTreeSet<i64>,
    /// auto_explain plans seen for this fingerprint: the slowest ones.
    pub plans: Vec<PlanSample>,
    /// Lock waits, errors, temp files... of this fingerprint's statements.
    pub signals: QuerySignals,
}

impl QueryStats {
    /// Empty statistics for a fingerprint whose normalized text is `text`.
    pub fn new(mut text: String) -> Self {
        text.shrink_to_fit();
        QueryStats {
            text,
            count: 0,
            timed: 0,
            total_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            execs: Execs::default(),
            first_seen: None,
            last_seen: None,
            samples: Vec::new(),
            query_ids: BTreeSet::new(),
            plans: Vec::new(),
            signals: QuerySignals::default(),
        }
    }

    /// Counts one execution of `us` (its latency and time go to [`Self::execs`]
    /// through the table).
    pub fn record(&mut self, us: u64, ts: Option<Millis>) {
        self.timed += 1;
        self.record_untimed(ts);
        self.total_us = self.total_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// Records one execution logged without a duration (log_statement).
    pub fn record_untimed(&mut self, ts: Option<Millis>) {
        self.count += 1;
        if let Some(t) = ts {
            self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
            self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
        }
    }

    /// True when an execution of `us` at `order` would be one of the kept samples.
    pub fn wants_sample(&self, us: u64, order: Order) -> bool {
        self.samples.len() < SAMPLES
            || self
                .samples
                .last()
                .is_some_and(|w| sample_key(us, order) < sample_key(w.duration_us, w.order))
    }

    /// Keeps `s` if it is among the slowest.
    pub fn offer(&mut self, s: Sample) {
        if !self.wants_sample(s.duration_us, s.order) {
            return;
        }
        // Most fingerprints keep one sample: no room for more until needed.
        self.samples.reserve_exact(1);
        self.samples.push(s);
        self.samples
            .sort_by_key(|s| sample_key(s.duration_us, s.order));
        self.samples.truncate(SAMPLES);
    }

    /// True when a plan of `us` at `order` would be one of the kept plans.
    pub fn wants_plan(&self, us: u64, order: Order) -> bool {
        self.plans.len() < SAMPLES
            || self
                .plans
                .last()
                .is_some_and(|w| sample_key(us, order) < sample_key(w.duration_us, w.order))
    }

    /// Keeps `p` if it is among the slowest plans.
    pub fn offer_plan(&mut self, p: PlanSample) {
        if !self.wants_plan(p.duration_us, p.order) {
            return;
        }
        self.plans.reserve_exact(1);
        self.plans.push(p);
        self.plans
            .sort_by_key(|p| sample_key(p.duration_us, p.order));
        self.plans.truncate(SAMPLES);
    }

    /// Adds `other` (same fingerprint) but for its executions, which the table merges.
    pub fn merge(&mut self, other: QueryStats) {
        self.count += other.count;
        self.timed += other.timed;
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        self.first_seen = min_opt(self.first_seen, other.first_seen);
        self.last_seen = max_opt(self.last_seen, other.last_seen);
        for s in other.samples {
            self.offer(s);
        }
        for p in other.plans {
            self.offer_plan(p);
        }
        self.query_ids.extend(other.query_ids);
        self.signals.merge(&other.signals);
    }
}

fn sample_key(us: u64, order: Order) -> (std::cmp::Reverse<u64>, Order) {
    (std::cmp::Reverse(us), order)
}

/// The smaller of two optional instants.
pub fn min_opt(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The larger of two optional instants.
pub fn max_opt(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(us: u64, off: u64) -> Sample {
        Sample {
            duration_us: us,
            ts: None,
            order: (0, off),
            query: String::new(),
            parameters: None,
            database: String::new(),
            user: String::new(),
            application: String::new(),
            pid: None,
        }
    }

    #[test]
    fn keeps_the_slowest_with_stable_ties() {
        let mut q = QueryStats::new("x".into());
        for (us, off) in [(5, 1), (9, 2), (5, 0), (7, 3), (9, 4), (1, 5)] {
            q.offer(s(us, off));
        }
        let got: Vec<_> = q
            .samples
            .iter()
            .map(|s| (s.duration_us, s.order.1))
            .collect();
        assert_eq!(got, vec![(9, 2), (9, 4), (7, 3)]);
    }
}
