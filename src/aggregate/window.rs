//! Time windows: per-window statement counts, total time and latency percentiles.
//!
//! Windows are aligned to multiples of their width since the epoch, and widths come
//! from a ladder where each width is a multiple of the one before. So windows of any
//! width can be merged exactly into a coarser width, and the final width can be chosen
//! once the log's span is known (~100–400 windows) whatever the chunking was.

use super::hist::LatencyHist;
use super::incident::EventCounts;
use super::pgbouncer::PoolerWindow;
use crate::parse::Millis;

/// Window widths in milliseconds; each is a multiple of the one before.
pub const LADDER_MS: &[i64] = &[
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
];

/// More windows than this in one accumulator and it coarsens to the next width.
///
/// Twice [`TARGET_WINDOWS`]: the final width (the smallest ladder width giving fewer
/// than [`TARGET_WINDOWS`] over the log's span) has at most `TARGET_WINDOWS + 1`
/// windows, so an accumulator never coarsens past it unless some 400 windows of
/// entries lie outside the span (far-dated outliers). The bound is what keeps memory
/// flat in the log's size: every window holds a latency histogram in the timeline and
/// a run of buckets in each busy fingerprint's series, so the peak is this many windows
/// whatever the log's length (2,000 before: a 5 GB log spanning 38 h peaked at 71 MB of
/// heap against 41 MB for 1 GB; at 800, 35 and 33 MB, the same report).
pub(crate) const MAX_WINDOWS: usize = 2 * TARGET_WINDOWS as usize;

/// Most windows a fixed `--window` width may produce; wider windows beyond.
pub const MAX_FIXED_WINDOWS: i64 = 20_000;

/// Most windows one statement's run time is spread over.
const MAX_SPREAD: i64 = 600;

/// Preferred upper bound of windows in a report.
pub const TARGET_WINDOWS: i64 = 400;

/// Statistics of one window.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
pub struct WindowAcc {
    /// Statements that completed in the window (timed or not).
    pub statements: u64,
    /// The total duration of the timed ones, µs.
    pub total_us: u64,
    /// Longest, µs.
    pub max_us: u64,
    /// Time statements ran inside the window, µs: each timed statement's duration
    /// spread over the windows it ran in (from its end minus its duration), so a
    /// window's `run_us / width` is the mean number of busy sessions in it, even when
    /// the statements that kept them busy end much later.
    pub run_us: u64,
    /// Their latencies.
    pub hist: LatencyHist,
    /// Lock waits, errors, checkpoints... in the window.
    pub events: EventCounts,
    /// PgBouncer's lines in the window.
    pub pooler: PoolerWindow,
}

impl WindowAcc {
    fn merge(&mut self, o: WindowAcc) {
        self.statements += o.statements;
        self.total_us = self.total_us.saturating_add(o.total_us);
        self.max_us = self.max_us.max(o.max_us);
        self.run_us = self.run_us.saturating_add(o.run_us);
        self.hist.merge_owned(o.hist);
        self.events.merge(&o.events);
        self.pooler.merge(&o.pooler);
    }
}

/// Windows sorted by their start, each start once.
type Sorted = Vec<(i64, WindowAcc)>;

/// The window at `k` in `v` (sorted), created when new. Windows come mostly in order:
/// the last one is tried first, without a call.
#[inline(always)]
fn slot(v: &mut Sorted, k: i64) -> &mut WindowAcc {
    let n = v.len();
    if n > 0 && v[n - 1].0 == k {
        return &mut v[n - 1].1;
    }
    slot_slow(v, k)
}

/// [`slot`] past the last window: a new one at the end, or the one before it (a
/// statement that began in the window before), else a search.
#[inline(never)]
fn slot_slow(v: &mut Sorted, k: i64) -> &mut WindowAcc {
    let n = v.len();
    let at = match v.last() {
        Some(last) if last.0 < k => n,
        None => n,
        _ if n >= 2 && v[n - 2].0 == k => n - 2,
        _ => v.partition_point(|e| e.0 < k),
    };
    if at == n || v[at].0 != k {
        v.insert(at, (k, WindowAcc::default()));
    }
    &mut v[at].1
}

/// Adds window `w` at `k` to `v` (sorted): moved in when `v` has none there.
fn merge_into(v: &mut Sorted, k: i64, w: WindowAcc) {
    let n = v.len();
    match v.last_mut() {
        Some(last) if last.0 == k => last.1.merge(w),
        Some(last) if last.0 < k => v.push((k, w)),
        None => v.push((k, w)),
        _ => match v.binary_search_by_key(&k, |e| e.0) {
            Ok(i) => v[i].1.merge(w),
            Err(i) => {
                debug_assert!(i < n);
                v.insert(i, (k, w));
            }
        },
    }
}

/// Saves (and reads back) the sorted windows as the map of starts they were, so a
/// saved state reads the same.
mod as_map {
    use super::{Sorted, WindowAcc};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(v: &Sorted, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(k, w)| (k, w)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sorted, D::Error> {
        Ok(BTreeMap::<i64, WindowAcc>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// The window of the last time placed: `[start, end)` at `width`. The next time in it
/// (entries come in time order, and a log's timestamps are often whole seconds) gets
/// its window's start without a division. Empty at first; a change of width empties it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LastWindow {
    start: i64,
    end: i64,
    width: i64,
}

impl LastWindow {
    /// The start of the window of `width` (ms) that `ts` is in: `ts` rounded down to a
    /// multiple of `width`.
    #[inline]
    pub(crate) fn key(&mut self, ts: Millis, width: i64) -> i64 {
        if ts >= self.start && ts < self.end && width == self.width {
            return self.start;
        }
        let start = ts.div_euclid(width) * width;
        *self = LastWindow {
            start,
            end: start.saturating_add(width),
            width,
        };
        start
    }
}

/// Windows keyed by their start (ms since the epoch).
///
/// A vector sorted by start rather than a map: statements come in time order, so the
/// window of the next is the last one (or, for the run time of one that began in the
/// window before, the one before it), found without a search.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
pub struct Windows {
    width: i64,
    fixed: bool,
    #[serde(with = "as_map")]
    map: Sorted,
    #[serde(skip)]
    last: LastWindow,
}

impl Windows {
    /// Automatic widths (from the ladder) or a fixed width in ms.
    pub fn new(fixed_width_ms: Option<i64>) -> Self {
        Windows {
            width: fixed_width_ms.unwrap_or(LADDER_MS[0]).max(1),
            fixed: fixed_width_ms.is_some(),
            map: Vec::new(),
            last: LastWindow::default(),
        }
    }

    /// Current width, ms.
    pub fn width(&self) -> i64 {
        self.width
    }

    /// Runs `f` on the window starting at `key`, created when new. Entries come
    /// mostly in time order: the latest window is tried first, without a search.
    #[inline]
    fn with_acc<R>(&mut self, key: i64, f: impl FnOnce(&mut WindowAcc) -> R) -> R {
        f(slot(&mut self.map, key))
    }

    /// Coarsens to the next width when a window was just added past the bound.
    #[inline]
    fn bound(&mut self) {
        if self.map.len() > MAX_WINDOWS && !self.fixed {
            self.coarsen_to(next_width(self.width));
        }
    }

    /// Records a statement of `us` that completed at `ts`.
    #[inline]
    pub fn add(&mut self, ts: Millis, us: u64) {
        let key = self.last.key(ts, self.width);
        let start = ts - (us / 1000) as i64;
        let within = self.with_acc(key, |w| {
            w.statements += 1;
            w.total_us = w.total_us.saturating_add(us);
            w.max_us = w.max_us.max(us);
            w.hist.record(us);
            if start >= key {
                w.run_us = w.run_us.saturating_add(us);
            }
            start >= key
        });
        if !within {
            self.spread(start, ts, us);
        }
        self.bound();
    }

    /// Spreads a statement that ran from `start` to `end` (`us` long) over the windows
    /// it ran in; at most [`MAX_SPREAD`] windows back, the rest goes to the earliest.
    fn spread(&mut self, start: Millis, end: Millis, us: u64) {
        let w = self.width;
        let last = end.div_euclid(w) * w;
        let first = (start.div_euclid(w) * w).max(last - MAX_SPREAD * w);
        let mut left = us;
        let mut k = last;
        while k >= first && left > 0 {
            let from = if k == first { start.min(k) } else { k };
            let ms = (end.min(k + w) - from.max(start)).max(0) as u64;
            let part = if k == first {
                left
            } else {
                (ms * 1000).min(left)
            };
            let acc = slot(&mut self.map, k);
            acc.run_us = acc.run_us.saturating_add(part);
            left -= part;
            k -= w;
        }
    }

    /// Records a statement logged without a duration at `ts`: counted, not timed.
    pub fn add_untimed(&mut self, ts: Millis) {
        let key = self.last.key(ts, self.width);
        self.with_acc(key, |w| w.statements += 1);
        self.bound();
    }

    /// Counts an event at `ts` with `f`.
    pub fn event(&mut self, ts: Millis, f: impl FnOnce(&mut EventCounts)) {
        let key = self.last.key(ts, self.width);
        self.with_acc(key, |w| f(&mut w.events));
        self.bound();
    }

    /// Counts a PgBouncer line at `ts` with `f`.
    pub fn pooler(&mut self, ts: Millis, f: impl FnOnce(&mut PoolerWindow)) {
        let key = self.last.key(ts, self.width);
        self.with_acc(key, |w| f(&mut w.pooler));
        self.bound();
    }

    /// Re-buckets into `width` (a multiple of the current width).
    pub fn coarsen_to(&mut self, width: i64) {
        if width <= self.width {
            return;
        }
        let old = std::mem::take(&mut self.map);
        self.width = width;
        // Windows map in order: each coarse window is the last one so far.
        self.map.reserve(old.len());
        for (k, w) in old {
            merge_into(&mut self.map, k.div_euclid(width) * width, w);
        }
    }

    /// Adds `other`'s windows (same mode), coarsening to the wider of the two widths.
    pub fn merge(&mut self, mut other: Windows) {
        if other.width > self.width {
            self.coarsen_to(other.width);
        } else {
            other.coarsen_to(self.width);
        }
        let theirs = std::mem::take(&mut other.map);
        let (Some(mine_first), Some(mine_last)) =
            (self.map.first().map(|e| e.0), self.map.last().map(|e| e.0))
        else {
            self.map = theirs;
            return self.bound_merged();
        };
        if theirs.first().is_none_or(|f| mine_last < f.0) {
            // The usual case of chunks merged in time order: an append.
            self.map.extend(theirs);
        } else if theirs.last().is_some_and(|l| l.0 < mine_first) {
            let mine = std::mem::replace(&mut self.map, theirs);
            self.map.extend(mine);
        } else {
            self.map = merge_sorted(std::mem::take(&mut self.map), theirs);
        }
        self.bound_merged();
    }

    /// Coarsens until the windows are within the bound (automatic widths).
    fn bound_merged(&mut self) {
        while self.map.len() > MAX_WINDOWS && !self.fixed {
            self.coarsen_to(next_width(self.width));
        }
    }

    /// Drops the windows wholly before `lo` or after `hi`: entries dated far from the
    /// rest of the log, left out of the timeline.
    pub fn drop_outside(&mut self, lo: Millis, hi: Millis) {
        let width = self.width;
        self.map
            .retain(|&(k, _)| k.saturating_add(width) > lo && k <= hi);
    }

    /// True when the width was given (`--window`).
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The final windows for a log spanning `begin..=end`: in automatic mode the width
    /// is the smallest ladder width giving at most [`TARGET_WINDOWS`]; every window
    /// from the first to the last is returned, empty ones included.
    pub fn finish(mut self, begin: Millis, end: Millis) -> (i64, Vec<(Millis, WindowAcc)>) {
        let span = end.saturating_sub(begin).max(0);
        if !self.fixed {
            // The ladder, then doublings: a log spanning centuries (one line with a wrong
            // year) still gets at most TARGET_WINDOWS windows, not millions.
            let mut want = LADDER_MS
                .iter()
                .copied()
                .find(|w| span / w < TARGET_WINDOWS)
                .unwrap_or(*LADDER_MS.last().unwrap_or(&86_400_000));
            while span / want >= TARGET_WINDOWS {
                want = want.saturating_mul(2);
            }
            self.coarsen_to(want);
        } else if span / self.width > MAX_FIXED_WINDOWS {
            // `--window` too narrow for the span: the nearest multiple that fits.
            let factor = span / self.width / MAX_FIXED_WINDOWS + 1;
            self.coarsen_to(self.width.saturating_mul(factor));
        }
        let width = self.width;
        let first = begin.div_euclid(width) * width;
        let last = end.div_euclid(width) * width;
        // Sessions that began before the log's first entry: their start is counted
        // in the first window.
        let mut v = std::mem::take(&mut self.map);
        let before = v.partition_point(|e| e.0 < first);
        if before > 0 {
            let has_first = v.get(before).is_some_and(|e| e.0 == first);
            let mut early = v.drain(..before).map(|(_, mut w)| {
                // Run time before the log began is not the first window's.
                w.run_us = 0;
                w
            });
            let mut head = Vec::with_capacity(1);
            if !has_first {
                head.extend(early.next().map(|w| (first, w)));
            }
            let rest: Vec<WindowAcc> = early.collect();
            v.splice(0..0, head);
            if let Some((_, target)) = v.first_mut() {
                for w in rest {
                    target.merge(w);
                }
            }
        }
        let mut out = Vec::new();
        let mut k = first;
        let mut all = v.into_iter().peekable();
        while k <= last {
            // Sorted: a window off the grid (none once coarsened) is passed over.
            while all.next_if(|e| e.0 < k).is_some() {}
            let w = all.next_if(|e| e.0 == k).map(|e| e.1).unwrap_or_default();
            out.push((k, w));
            k += width;
        }
        (width, out)
    }
}

/// `a` and `b` (sorted) as one sorted vector, the windows at the same start merged
/// (into the one of the longer vector, `a`'s when as long, as the map's merge did).
fn merge_sorted(a: Sorted, b: Sorted) -> Sorted {
    let a_longer = a.len() >= b.len();
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek().map(|e| e.0), b.peek().map(|e| e.0)) {
        match x.cmp(&y) {
            std::cmp::Ordering::Less => out.extend(a.next()),
            std::cmp::Ordering::Greater => out.extend(b.next()),
            std::cmp::Ordering::Equal => {
                let (Some((k, wa)), Some((_, wb))) = (a.next(), b.next()) else {
                    break;
                };
                let (mut keep, add) = if a_longer { (wa, wb) } else { (wb, wa) };
                keep.merge(add);
                out.push((k, keep));
            }
        }
    }
    out.extend(a);
    out.extend(b);
    out
}

/// The next wider window width: the ladder, then doublings.
pub(crate) fn next_width(w: i64) -> i64 {
    LADDER_MS
        .iter()
        .copied()
        .find(|&l| l > w)
        .unwrap_or(w.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: one line dated 9999-12-31 in a 2026 log made a million windows
    /// (1 GB of memory, a 240 MB report).
    #[test]
    fn an_absurd_span_still_gives_few_windows() {
        let begin = 1_795_495_225_000; // 2026-11-24
        let end = 253_402_300_799_000; // 9999-12-31
        let mut w = Windows::new(None);
        w.add(begin, 5);
        w.add(end, 7);
        let (width, out) = w.finish(begin, end);
        assert!(
            out.len() <= TARGET_WINDOWS as usize,
            "{} windows",
            out.len()
        );
        assert_eq!(out.iter().map(|w| w.1.statements).sum::<u64>(), 2);
        assert!(width > 604_800_000);
        let mut fixed = Windows::new(Some(1000));
        fixed.add(begin, 5);
        fixed.add(end, 7);
        let (width, out) = fixed.finish(begin, end);
        assert!(
            out.len() as i64 <= MAX_FIXED_WINDOWS + 1,
            "{} windows",
            out.len()
        );
        assert_eq!(width % 1000, 0);
        assert_eq!(out.iter().map(|w| w.1.statements).sum::<u64>(), 2);
    }

    #[test]
    fn run_time_is_spread_over_the_windows_a_statement_ran_in() {
        let mut w = Windows::new(Some(1000));
        // 2.5 s ending at 10.2 s: 0.3 s in [7,8), 1 s in [8,9) and [9,10), 0.2 s after.
        w.add(10_200, 2_500_000);
        w.add(10_500, 100); // within one window
        let (_, v) = w.finish(7_000, 10_999);
        let run: Vec<u64> = v.iter().map(|x| x.1.run_us).collect();
        assert_eq!(run, [300_000, 1_000_000, 1_000_000, 200_100]);
        assert_eq!(
            v[3].1.total_us, 2_500_100,
            "completions stay in the end window"
        );
    }

    proptest::proptest! {
        /// The window start of the last window is that of a division, whatever the
        /// times (in any order, far apart or close) and widths before.
        #[test]
        fn last_window_gives_the_division(
            steps in proptest::collection::vec(
                (-(1i64 << 62)..1 << 62, 0i64..5_000, 0usize..4, proptest::prelude::any::<bool>()),
                1..200,
            ),
        ) {
            let widths = [1_000i64, 5_000, 7, i64::MAX];
            let mut last = LastWindow::default();
            let mut prev = 0i64;
            for (far, near, w, jump) in steps {
                let ts = if jump { far } else { prev.saturating_add(near - 2_500) };
                prev = ts;
                let width = widths[w];
                proptest::prop_assert_eq!(last.key(ts, width), ts.div_euclid(width) * width);
            }
        }
    }

    /// The windows as they were kept before (a map by start), the reference the sorted
    /// vector is checked against.
    mod reference {
        use super::super::{next_width, LastWindow, WindowAcc, MAX_SPREAD, MAX_WINDOWS};
        use crate::parse::Millis;
        use std::collections::BTreeMap;

        fn merge_into(map: &mut BTreeMap<i64, WindowAcc>, k: i64, w: WindowAcc) {
            if let Some(mut last) = map.last_entry() {
                if *last.key() == k {
                    last.get_mut().merge(w);
                    return;
                }
            }
            match map.entry(k) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(w);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(w),
            }
        }

        #[derive(serde::Serialize)]
        pub struct Windows {
            width: i64,
            fixed: bool,
            map: BTreeMap<i64, WindowAcc>,
            #[serde(skip)]
            last: LastWindow,
        }

        impl Windows {
            pub fn new(fixed_width_ms: Option<i64>) -> Self {
                Windows {
                    width: fixed_width_ms.unwrap_or(super::LADDER_MS[0]).max(1),
                    fixed: fixed_width_ms.is_some(),
                    map: BTreeMap::new(),
                    last: LastWindow::default(),
                }
            }
            fn with_acc<R>(&mut self, key: i64, f: impl FnOnce(&mut WindowAcc) -> R) -> R {
                match self.map.last_entry() {
                    Some(e) if *e.key() == key => f(e.into_mut()),
                    _ => f(self.map.entry(key).or_default()),
                }
            }
            fn bound(&mut self) {
                if self.map.len() > MAX_WINDOWS && !self.fixed {
                    self.coarsen_to(next_width(self.width));
                }
            }
            pub fn add(&mut self, ts: Millis, us: u64) {
                let key = self.last.key(ts, self.width);
                let start = ts - (us / 1000) as i64;
                let within = self.with_acc(key, |w| {
                    w.statements += 1;
                    w.total_us = w.total_us.saturating_add(us);
                    w.max_us = w.max_us.max(us);
                    w.hist.record(us);
                    if start >= key {
                        w.run_us = w.run_us.saturating_add(us);
                    }
                    start >= key
                });
                if !within {
                    self.spread(start, ts, us);
                }
                self.bound();
            }
            fn spread(&mut self, start: Millis, end: Millis, us: u64) {
                let w = self.width;
                let last = end.div_euclid(w) * w;
                let first = (start.div_euclid(w) * w).max(last - MAX_SPREAD * w);
                let mut left = us;
                let mut k = last;
                while k >= first && left > 0 {
                    let from = if k == first { start.min(k) } else { k };
                    let ms = (end.min(k + w) - from.max(start)).max(0) as u64;
                    let part = if k == first {
                        left
                    } else {
                        (ms * 1000).min(left)
                    };
                    let acc = self.map.entry(k).or_default();
                    acc.run_us = acc.run_us.saturating_add(part);
                    left -= part;
                    k -= w;
                }
            }
            pub fn add_untimed(&mut self, ts: Millis) {
                let key = self.last.key(ts, self.width);
                self.with_acc(key, |w| w.statements += 1);
                self.bound();
            }
            pub fn event(&mut self, ts: Millis, f: impl FnOnce(&mut super::EventCounts)) {
                let key = self.last.key(ts, self.width);
                self.with_acc(key, |w| f(&mut w.events));
                self.bound();
            }
            pub fn coarsen_to(&mut self, width: i64) {
                if width <= self.width {
                    return;
                }
                let old = std::mem::take(&mut self.map);
                self.width = width;
                for (k, w) in old {
                    merge_into(&mut self.map, k.div_euclid(width) * width, w);
                }
            }
            pub fn merge(&mut self, mut other: Windows) {
                if other.width > self.width {
                    self.coarsen_to(other.width);
                } else {
                    other.coarsen_to(self.width);
                }
                if self.map.len() < other.map.len() {
                    std::mem::swap(&mut self.map, &mut other.map);
                }
                for (k, w) in other.map {
                    merge_into(&mut self.map, k, w);
                }
                while self.map.len() > MAX_WINDOWS && !self.fixed {
                    self.coarsen_to(next_width(self.width));
                }
            }
            pub fn drop_outside(&mut self, lo: Millis, hi: Millis) {
                let width = self.width;
                self.map
                    .retain(|&k, _| k.saturating_add(width) > lo && k <= hi);
            }
            /// `finish` at the width already reached (the ladder's choice is shared).
            pub fn finish_at(
                mut self,
                begin: Millis,
                end: Millis,
                want: i64,
            ) -> Vec<(Millis, WindowAcc)> {
                self.coarsen_to(want);
                let width = self.width;
                let first = begin.div_euclid(width) * width;
                let last = end.div_euclid(width) * width;
                let before: Vec<i64> = self.map.range(..first).map(|(k, _)| *k).collect();
                for k in before {
                    if let Some(mut w) = self.map.remove(&k) {
                        w.run_us = 0;
                        merge_into(&mut self.map, first, w);
                    }
                }
                let mut out = Vec::new();
                let mut k = first;
                while k <= last {
                    out.push((k, self.map.remove(&k).unwrap_or_default()));
                    k += width;
                }
                out
            }
        }
    }

    /// One step of a log: a statement (µs, or untimed) or an event, at a time.
    fn steps() -> impl proptest::strategy::Strategy<Value = Vec<(i64, Option<u64>, bool)>> {
        use proptest::prelude::*;
        let t0 = prop_oneof![Just(1_700_000_000_000i64), Just(-90_000_000i64)];
        let one = (
            0i64..4_000_000,
            prop_oneof![
                4 => (0u64..3_000_000).prop_map(Some),
                1 => (0u64..900_000_000).prop_map(Some),
                1 => Just(None),
            ],
            any::<bool>(),
            0u8..10,
        );
        (t0, prop::collection::vec(one, 1..400)).prop_map(|(t0, v)| {
            let mut t = t0;
            v.into_iter()
                .map(|(dt, us, ev, jump)| {
                    // Mostly forward and close, sometimes back, sometimes whole seconds.
                    t += match jump {
                        0 => -(dt % 70_000),
                        1 => dt * 40,
                        2..=5 => (dt % 1_000) / 1_000 * 1_000,
                        _ => dt % 3_000,
                    };
                    (t, us, ev && us.is_none())
                })
                .collect()
        })
    }

    fn feed(w: &mut Windows, r: &mut reference::Windows, steps: &[(i64, Option<u64>, bool)]) {
        for &(ts, us, ev) in steps {
            match (us, ev) {
                (_, true) => {
                    w.event(ts, |c| c.errors += 1);
                    r.event(ts, |c| c.errors += 1);
                }
                (Some(us), _) => {
                    w.add(ts, us);
                    r.add(ts, us);
                }
                (None, _) => {
                    w.add_untimed(ts);
                    r.add_untimed(ts);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The sorted vector holds what the map held, byte for byte once saved, through
        /// statements and events in any order, chunks merged in order and out of it,
        /// coarsening, and the final windows.
        #[test]
        fn sorted_windows_equal_the_map(
            steps in steps(),
            cuts in proptest::collection::vec(0usize..400, 0..6),
            fixed in proptest::prelude::any::<bool>(),
            reversed in proptest::prelude::any::<bool>(),
            drop in proptest::prelude::any::<bool>(),
        ) {
            let width = fixed.then_some(7_000);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(steps.len())).collect();
            cuts.extend([0, steps.len()]);
            cuts.sort_unstable();
            let mut parts: Vec<(Windows, reference::Windows)> = cuts
                .windows(2)
                .map(|c| {
                    let (mut w, mut r) = (Windows::new(width), reference::Windows::new(width));
                    feed(&mut w, &mut r, &steps[c[0]..c[1]]);
                    (w, r)
                })
                .collect();
            if reversed {
                parts.reverse();
            }
            let (mut w, mut r) = (Windows::new(width), reference::Windows::new(width));
            for (pw, pr) in parts {
                w.merge(pw);
                r.merge(pr);
                let (a, b) = (postcard::to_allocvec(&w), postcard::to_allocvec(&r));
                proptest::prop_assert_eq!(a.ok(), b.ok());
            }
            let lo = steps.iter().map(|s| s.0).min().unwrap_or(0);
            let hi = steps.iter().map(|s| s.0).max().unwrap_or(0);
            if drop {
                w.drop_outside(lo + 5_000, hi - 5_000);
                r.drop_outside(lo + 5_000, hi - 5_000);
            }
            let saved = postcard::to_allocvec(&w).unwrap_or_default();
            let back: Windows = postcard::from_bytes(&saved).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(postcard::to_allocvec(&back).ok(), Some(saved));
            let (begin, end) = (lo + 1_500, hi);
            let (width, got) = w.finish(begin, end);
            let want = r.finish_at(begin, end, width);
            proptest::prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn ladder_widths_divide_each_other() {
        for p in LADDER_MS.windows(2) {
            assert_eq!(p[1] % p[0], 0);
        }
    }

    #[test]
    fn split_and_merged_equal_whole() {
        let mut whole = Windows::new(None);
        let (mut a, mut b) = (Windows::new(None), Windows::new(None));
        for i in 0..20_000i64 {
            let ts = 1_700_000_000_000 + i * 731;
            whole.add(ts, (i % 97) as u64);
            if i < 7_000 {
                a.add(ts, (i % 97) as u64)
            } else {
                b.add(ts, (i % 97) as u64)
            }
        }
        a.merge(b);
        let end = 1_700_000_000_000 + 19_999 * 731;
        let (wa, va) = a.finish(1_700_000_000_000, end);
        let (ww, vw) = whole.finish(1_700_000_000_000, end);
        assert_eq!(wa, ww);
        assert_eq!(wa, 60_000);
        assert_eq!(va.len(), vw.len());
        assert!(va.len() <= TARGET_WINDOWS as usize && va.len() >= 100);
        for ((ka, x), (kw, y)) in va.iter().zip(&vw) {
            assert_eq!(
                (ka, x.statements, x.total_us, x.hist.quantile(0.99)),
                (kw, y.statements, y.total_us, y.hist.quantile(0.99))
            );
        }
        assert_eq!(va.iter().map(|w| w.1.statements).sum::<u64>(), 20_000);
    }
}
