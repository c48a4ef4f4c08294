//! The per-fingerprint table: every fingerprint's statistics and time series, kept
//! small for the many fingerprints seen a few times, and capped.
//!
//! A fingerprint starts *few*: its executions are kept exactly as (time, µs) pairs,
//! from which its latency histogram and its time series are derived when asked. After
//! [`FEW`] executions it turns *busy*: a [`LatencyHist`] and an entry in the shared
//! [`QuerySeries`]. Both forms are functions of the multiset of executions, so the
//! same executions give the same figures whatever the chunking and merge order.
//!
//! The table holds at most `cap` fingerprints once [`QueryTable::cap`] is applied:
//! the lowest-ranked (least total time, then fewest executions, then lowest
//! fingerprint, the report's own order reversed) are folded into [`Folded`], whose
//! counts and totals stay exact. The pipeline applies the cap at fixed points of the
//! input (each chunk, each group of chunks, each input), never where a thread happened
//! to merge, so the result does not depend on the number of threads.

use super::hist::LatencyHist;
use super::incident::QuerySignals;
use super::query::{max_opt, min_opt, QueryStats};
use super::series::{Cell, QuerySeries};
use crate::parse::Millis;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// Executions a fingerprint keeps exactly before it turns busy (a histogram and a
/// series entry): 16 bytes each, against the 2–14 KB of a histogram.
pub const FEW: usize = 32;

/// The default `--max-fingerprints`: about 1 GB of state for rarely seen fingerprints
/// (~0.7 KB each).
pub const DEFAULT_MAX_FINGERPRINTS: usize = 1_000_000;

/// `ts` of an execution logged without a timestamp.
const NO_TS: Millis = Millis::MIN;

/// `us` of an execution logged without a duration.
const UNTIMED: u64 = u64::MAX;

/// One execution of a fingerprint that is still few.
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
pub struct Exec {
    ts: Millis,
    us: u64,
}

/// A fingerprint's executions: exactly while few, summarised once busy.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
pub enum Execs {
    /// Up to [`FEW`] executions with a timestamp or a duration.
    Few(Vec<Exec>),
    /// The latencies; the series is in the table's [`QuerySeries`].
    Busy(Box<LatencyHist>),
}

impl Default for Execs {
    fn default() -> Self {
        Execs::Few(Vec::new())
    }
}

impl Execs {
    /// The latencies of the timed executions.
    pub fn latencies(&self) -> Cow<'_, LatencyHist> {
        match self {
            Execs::Busy(h) => Cow::Borrowed(h),
            Execs::Few(v) => {
                let mut h = LatencyHist::default();
                v.iter()
                    .filter(|e| e.us != UNTIMED)
                    .for_each(|e| h.record(e.us));
                Cow::Owned(h)
            }
        }
    }

    /// True once the executions are summarised.
    pub fn is_busy(&self) -> bool {
        matches!(self, Execs::Busy(_))
    }
}

/// Records `e` of fingerprint `fp` in the busy form.
#[inline(always)]
fn record_busy(h: &mut LatencyHist, series: &mut QuerySeries, fp: u64, e: Exec) {
    if e.us != UNTIMED {
        h.record(e.us);
    }
    match (e.ts, e.us) {
        (NO_TS, _) => {}
        (t, UNTIMED) => series.add_untimed(fp, t),
        (t, us) => series.add(fp, t, us),
    }
}

/// Adds `new` to `execs` of `fp`, turning busy past [`FEW`].
fn add_execs(execs: &mut Execs, series: &mut QuerySeries, fp: u64, new: &[Exec]) {
    if let Execs::Few(v) = execs {
        if v.len() + new.len() <= FEW {
            // Most fingerprints are seen once: room for one, then doubling.
            if v.capacity() == 0 {
                v.reserve_exact(new.len());
            }
            v.extend_from_slice(new);
            return;
        }
        let old = std::mem::take(v);
        let mut h = Box::<LatencyHist>::default();
        for &e in &old {
            record_busy(&mut h, series, fp, e);
        }
        *execs = Execs::Busy(h);
    }
    if let Execs::Busy(h) = execs {
        for &e in new {
            record_busy(h, series, fp, e);
        }
    }
}

/// The fingerprints folded into one row.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
pub struct Folded {
    /// The cap that folded them (`--max-fingerprints`).
    pub cap: u64,
    /// Rows folded (a fingerprint folded, seen again and folded again counts twice).
    pub fingerprints: u64,
    /// Executions, timed or not.
    pub count: u64,
    /// Executions with a duration.
    pub timed: u64,
    /// Their total duration, µs.
    pub total_us: u64,
    /// Shortest, µs (meaningless when none was timed).
    pub min_us: u64,
    /// Longest, µs.
    pub max_us: u64,
    /// First and last executions.
    pub first_seen: Option<Millis>,
    /// See `first_seen`.
    pub last_seen: Option<Millis>,
    /// Their latencies, created at the first fold.
    pub hist: Option<Box<LatencyHist>>,
    /// Their lock waits, errors, temp files...
    pub signals: QuerySignals,
}

impl Folded {
    fn add(&mut self, q: &QueryStats) {
        if q.timed > 0 {
            self.min_us = if self.timed == 0 {
                q.min_us
            } else {
                self.min_us.min(q.min_us)
            };
        }
        self.fingerprints += 1;
        self.count += q.count;
        self.timed += q.timed;
        self.total_us = self.total_us.saturating_add(q.total_us);
        self.max_us = self.max_us.max(q.max_us);
        self.first_seen = min_opt(self.first_seen, q.first_seen);
        self.last_seen = max_opt(self.last_seen, q.last_seen);
        if q.timed > 0 {
            self.hist
                .get_or_insert_with(Default::default)
                .merge(&q.execs.latencies());
        }
        self.signals.merge(&q.signals);
    }

    fn merge(&mut self, o: Folded) {
        if o.fingerprints == 0 {
            return;
        }
        self.cap = self.cap.max(o.cap);
        if o.timed > 0 {
            self.min_us = if self.timed == 0 {
                o.min_us
            } else {
                self.min_us.min(o.min_us)
            };
        }
        self.fingerprints += o.fingerprints;
        self.count += o.count;
        self.timed += o.timed;
        self.total_us = self.total_us.saturating_add(o.total_us);
        self.max_us = self.max_us.max(o.max_us);
        self.first_seen = min_opt(self.first_seen, o.first_seen);
        self.last_seen = max_opt(self.last_seen, o.last_seen);
        match (&mut self.hist, o.hist) {
            (Some(a), Some(b)) => a.merge(&b),
            (a @ None, b) => *a = b,
            (Some(_), None) => {}
        }
        self.signals.merge(&o.signals);
    }
}

/// Fingerprint → statistics.
pub type QueryMap = FxHashMap<u64, Box<QueryStats>>;

/// Every fingerprint's statistics and series, and the rows folded away.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
pub struct QueryTable {
    map: QueryMap,
    series: QuerySeries,
    folded: Folded,
}

impl QueryTable {
    /// See [`super::Stats::set_file`].
    pub fn set_file(&mut self, file: u32) {
        for q in self.map.values_mut() {
            q.samples.iter_mut().for_each(|s| s.order.0 = file);
            q.plans.iter_mut().for_each(|p| p.order.0 = file);
        }
    }
}

impl std::ops::Deref for QueryTable {
    type Target = QueryMap;
    fn deref(&self) -> &QueryMap {
        &self.map
    }
}

impl QueryTable {
    /// An empty table whose series use the timeline's widths.
    pub fn new(window_ms: Option<i64>) -> Self {
        QueryTable {
            map: QueryMap::default(),
            series: QuerySeries::new(window_ms),
            folded: Folded::default(),
        }
    }

    /// The statistics of `fp`, if it has a row.
    pub fn get_mut(&mut self, fp: &u64) -> Option<&mut QueryStats> {
        self.map.get_mut(fp).map(|b| &mut **b)
    }

    /// The statistics of `fp`, created with the normalized text `text()` when new.
    pub fn row(&mut self, fp: u64, text: impl FnOnce() -> String) -> &mut QueryStats {
        self.map
            .entry(fp)
            .or_insert_with(|| Box::new(QueryStats::new(text())))
    }

    /// Records an execution of `fp` (its row created with the normalized text `text()`
    /// when new) of `us` µs, or untimed when `None`, at `ts`; returns the row.
    pub fn record(
        &mut self,
        fp: u64,
        text: impl FnOnce() -> String,
        us: Option<u64>,
        ts: Option<Millis>,
    ) -> &mut QueryStats {
        let q = self
            .map
            .entry(fp)
            .or_insert_with(|| Box::new(QueryStats::new(text())));
        match us {
            Some(us) => q.record(us, ts),
            None => q.record_untimed(ts),
        }
        if ts.is_some() || us.is_some() {
            let e = Exec {
                ts: ts.unwrap_or(NO_TS),
                // u64::MAX marks "untimed": a duration of 584,942 years is read 1 µs
                // shorter by the histogram (count, total, min and max stay exact).
                us: us.map_or(UNTIMED, |us| us.min(UNTIMED - 1)),
            };
            match &mut q.execs {
                // Most executions are of a busy row: recorded here, without a call.
                Execs::Busy(h) => record_busy(h, &mut self.series, fp, e),
                execs => add_execs(execs, &mut self.series, fp, &[e]),
            }
        }
        q
    }

    /// Adds `other`.
    pub fn merge(&mut self, other: QueryTable) {
        // Series first: rows of `other` turning busy here add to the merged series.
        self.series.merge(other.series);
        self.folded.merge(other.folded);
        self.map.reserve(
            other
                .map
                .len()
                .saturating_sub(self.map.capacity() - self.map.len()),
        );
        for (fp, q) in other.map {
            match self.map.get_mut(&fp) {
                Some(mine) => merge_rows(mine, *q, fp, &mut self.series),
                None => {
                    self.map.insert(fp, q);
                }
            }
        }
    }

    /// Folds the lowest-ranked rows into [`Folded`] until at most `cap` are left.
    pub fn cap(&mut self, cap: usize) {
        if self.map.len() <= cap {
            return;
        }
        let mut rank: Vec<(u64, u64, u64)> = self
            .map
            .iter()
            .map(|(fp, q)| (q.total_us, q.count, *fp))
            .collect();
        let fold = rank.len() - cap;
        self.folded.cap = self.folded.cap.max(cap as u64);
        rank.select_nth_unstable(fold - 1);
        for &(_, _, fp) in &rank[..fold] {
            if let Some(q) = self.map.remove(&fp) {
                self.folded.add(&q);
                if q.execs.is_busy() {
                    self.series.remove(fp);
                }
            }
        }
        self.map.shrink_to_fit();
    }

    /// What was folded.
    pub fn folded(&self) -> &Folded {
        &self.folded
    }

    /// The rows, the series of the rows `listed` in the timeline's final windows
    /// (which start at `first` and are `width` ms wide, when the log had timestamps),
    /// and what was folded.
    /// With a fixed width, `fine` places the automatic-width series the same way
    /// (returned as the fourth part; empty without).
    pub fn into_parts(
        self,
        listed: &[u64],
        windows: Option<(Millis, i64)>,
        fine: Option<(Millis, i64)>,
    ) -> Parts {
        let QueryTable {
            map,
            mut series,
            folded,
        } = self;
        let Some((first, width)) = windows else {
            return (map, FxHashMap::default(), folded, FxHashMap::default());
        };
        // The few rows listed get their series from their executions, as busy rows did.
        for &fp in listed {
            if let Some(Execs::Few(v)) = map.get(&fp).map(|q| &q.execs) {
                let mut h = LatencyHist::default();
                for &e in v {
                    record_busy(&mut h, &mut series, fp, e);
                }
            }
        }
        let fine_series = series.take_fine();
        let cells = series.finish(first, width);
        let fine_cells = match (fine_series, fine) {
            (Some(s), Some((first, width))) => s.finish(first, width),
            _ => FxHashMap::default(),
        };
        (map, cells, folded, fine_cells)
    }
}

/// The rows, the series of the rows listed, what was folded, and the series at the
/// automatic width (fixed widths only).
pub type Parts = (
    QueryMap,
    FxHashMap<u64, Vec<(u32, Cell)>>,
    Folded,
    FxHashMap<u64, Vec<(u32, Cell)>>,
);

/// Adds row `o` of `fp` to `mine`.
fn merge_rows(mine: &mut QueryStats, mut o: QueryStats, fp: u64, series: &mut QuerySeries) {
    let execs = std::mem::take(&mut o.execs);
    mine.merge(o);
    match execs {
        Execs::Few(v) => add_execs(&mut mine.execs, series, fp, &v),
        Execs::Busy(h) => {
            if let Execs::Few(v) = &mine.execs {
                let v = v.clone();
                mine.execs = Execs::Busy(h);
                add_execs(&mut mine.execs, series, fp, &v);
            } else if let Execs::Busy(m) = &mut mine.execs {
                m.merge_owned(*h);
            }
        }
    }
}

#[cfg(test)]
mod tests;
