//! Totals per host: what a merged report over many servers shows side by side. Sums of
//! each input's own statistics, taken before they are merged, so they add up exactly
//! whatever the order of the inputs.

use super::Stats;
use crate::parse::Millis;
use crate::pipeline::InputResult;

/// One host's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostTotals {
    /// Inputs read from it.
    pub inputs: u64,
    /// Log entries.
    pub entries: u64,
    /// Statements.
    pub statements: u64,
    /// Their total duration, µs.
    pub total_us: u64,
    /// ERROR, FATAL and PANIC entries.
    pub errors: u64,
    /// `still waiting for` lock messages.
    pub lock_waits: u64,
    /// `deadlock detected`.
    pub deadlocks: u64,
    /// First and last timestamps.
    pub first: Option<Millis>,
    /// Last timestamp.
    pub last: Option<Millis>,
}

impl HostTotals {
    /// Adds one input's statistics.
    pub fn add(&mut self, s: &Stats, input: &InputResult) {
        self.inputs += 1;
        self.entries += input.stats.entries;
        self.statements += s.statements;
        self.total_us = self.total_us.saturating_add(s.total_us);
        let t = &s.incidents.totals;
        self.errors += t.errors;
        self.lock_waits += t.lock_waits;
        self.deadlocks += t.deadlocks;
        self.first = super::query::min_opt(self.first, s.first_ts);
        self.last = super::query::max_opt(self.last, s.last_ts);
    }
}
