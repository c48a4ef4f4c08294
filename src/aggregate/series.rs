//! Per-fingerprint time series: how many executions of each query completed in each
//! timeline window, and how slow they were (for the report's sparklines).
//!
//! Windows follow the same ladder as [`super::window::Windows`] and coarsen under the
//! same rule, so a fingerprint's series is never coarser than the global timeline and can be folded into the timeline's final width exactly. Latencies
//! go into a tiny log-bucketed histogram (8 buckets per power of two, ≤ 9% relative
//! error) whose counts add up exactly: the series of any chunking, merged in any order,
//! are identical.

use super::window::{next_width, LastWindow, LADDER_MS, MAX_WINDOWS};
use crate::parse::Millis;
use rustc_hash::FxHashMap;

// A single fingerprint may hold MAX_WINDOWS windows before the whole set coarsens: the
// same bound as the global timeline, whose windows at the same width are a superset of
// a fingerprint's, so the series is never coarser than the timeline, and never coarser
// than the timeline's final width (`final_width_is_reached_whatever_the_chunking`).

/// Sub-buckets per power of two (as a bit count): 3 bits, 8 buckets.
const SUB_BITS: u32 = 3;

/// Bucket of a latency: the exponent and the next [`SUB_BITS`] bits of the mantissa.
fn bucket(us: u64) -> u16 {
    if us < (1 << SUB_BITS) {
        return us as u16;
    }
    let exp = 63 - us.leading_zeros();
    let sub = (us >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    (((exp - SUB_BITS + 1) << SUB_BITS) as u64 + sub) as u16
}

/// The middle of a bucket, µs.
fn bucket_mid(b: u16) -> u64 {
    let b = b as u64;
    if b < (1 << SUB_BITS) {
        return b;
    }
    let shift = (b >> SUB_BITS) - 1;
    let low = (((1 << SUB_BITS) + (b & ((1 << SUB_BITS) - 1))) as u128) << shift;
    (low + (1u128 << shift) / 2).min(u64::MAX as u128) as u64
}

/// One window of one fingerprint, as the report reads it.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// Executions that completed in the window.
    pub count: u64,
    /// Their total duration, µs.
    pub total_us: u64,
    /// Latency buckets (bucket, count), sorted by bucket.
    hist: Vec<(u16, u64)>,
}

impl Cell {
    /// Adds `o` (another window of the same fingerprint, e.g. to sum a phase).
    pub fn merge(&mut self, o: &Cell) {
        self.count += o.count;
        self.total_us = self.total_us.saturating_add(o.total_us);
        self.hist.extend_from_slice(&o.hist);
        self.hist.sort_unstable_by_key(|e| e.0);
        self.hist.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 += next.1;
            }
            same
        });
    }

    /// Executions with a duration (those in the latency buckets).
    pub fn timed(&self) -> u64 {
        self.hist.iter().map(|e| e.1).sum()
    }

    /// The latency at quantile `q` (0..=1), µs, from the buckets.
    pub fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.hist.iter().map(|e| e.1).sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for &(b, n) in &self.hist {
            seen += n;
            if seen >= rank {
                return bucket_mid(b);
            }
        }
        0
    }
}

/// The key under which an entry holds the window's total µs instead of a bucket count
/// (buckets stop below 512).
const TOTAL: u16 = u16::MAX;

/// The key under which an entry counts executions logged without a duration (kept
/// out of the latency buckets, sorted just before [`TOTAL`]).
const UNTIMED: u16 = u16::MAX - 1;

/// One fingerprint's series: `(window start, bucket, value)` sorted by (window, bucket),
/// where the value is a count of executions, or the total µs for bucket [`TOTAL`].
///
/// A flat sorted vector rather than a map of maps: statements come mostly in time
/// order, so inserts land at the end, and the vector allocates only when it doubles
/// (the hot path's allocation budget is per new thing, not per line). The number of
/// windows (of [`TOTAL`] entries) is kept beside it, so the bound is checked without
/// a scan of the whole series.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
struct Entries {
    v: Vec<(i64, u16, u64)>,
    windows: usize,
}

fn key(e: &(i64, u16, u64)) -> (i64, u16) {
    (e.0, e.1)
}

impl Entries {
    fn add(&mut self, window: i64, bucket: u16, v: u64) {
        let v_key = (window, bucket);
        let at = match self.v.last() {
            Some(last) if key(last) < v_key => self.v.len(),
            _ => match self.v.binary_search_by(|e| key(e).cmp(&v_key)) {
                Ok(i) => {
                    self.v[i].2 += v;
                    return;
                }
                Err(i) => i,
            },
        };
        self.v.insert(at, (window, bucket, v));
        self.windows += usize::from(bucket == TOTAL);
    }

    /// Re-keys every entry to its window of `width` (a multiple of the entries' own),
    /// in one pass, in place. Windows map in order, so the entries of one coarse window
    /// are consecutive: a run that came from a single fine window is copied as it is
    /// (its buckets are sorted), and the entries of several are summed bucket by bucket
    /// in `scratch` and written out in bucket order. No sort: the cost is linear in the
    /// entries (the sort this replaced was most of the cost of merging a chunk's series).
    fn coarsen(&mut self, width: i64, scratch: &mut Scratch) {
        let v = &mut self.v;
        let n = v.len();
        let (mut read, mut write) = (0, 0);
        while read < n {
            let w = v[read].0.div_euclid(width) * width;
            let fine = v[read].0;
            let mut end = read + 1;
            while end < n && v[end].0.div_euclid(width) * width == w {
                end += 1;
            }
            if v[end - 1].0 == fine {
                // One fine window: its entries move as they are.
                for i in read..end {
                    v[write] = (w, v[i].1, v[i].2);
                    write += 1;
                }
            } else if v[read..end].iter().all(|e| slot(e.1).is_some()) {
                for &(_, b, x) in &v[read..end] {
                    scratch.add(b, x);
                }
                // `write <= read`: the sums are never more entries than they sum.
                scratch.drain(|b, x| {
                    v[write] = (w, b, x);
                    write += 1;
                });
            } else {
                // A bucket no latency maps to (a damaged saved state): sorted and
                // summed as they are.
                let mut group: Vec<_> = v[read..end].iter().map(|e| (w, e.1, e.2)).collect();
                sort_and_sum(&mut group);
                for e in group {
                    v[write] = e;
                    write += 1;
                }
            }
            read = end;
        }
        v.truncate(write);
        self.windows = count_windows(v);
    }

    /// Records one execution of `us` (in `bucket`) in the window starting at `window`;
    /// true when the window is new.
    fn record(&mut self, window: i64, bucket: u16, us: u64) -> bool {
        let v = &mut self.v;
        match v.last_mut() {
            // The usual case: the latest window again. Its run of entries is short
            // (a few buckets and its total, last), so scan it from the end.
            Some(last) if key(last) == (window, TOTAL) => {
                last.2 += us;
                let mut i = v.len() - 1;
                while i > 0 && v[i - 1].0 == window && v[i - 1].1 > bucket {
                    i -= 1;
                }
                if i > 0 && key(&v[i - 1]) == (window, bucket) {
                    v[i - 1].2 += 1;
                } else {
                    v.insert(i, (window, bucket, 1));
                }
                false
            }
            _ => {
                let before = self.windows;
                self.add(window, bucket, 1);
                self.add(window, TOTAL, us);
                self.windows > before
            }
        }
    }

    /// Records one execution without a duration in the window starting at `window`;
    /// true when the window is new. Every window keeps a [`TOTAL`] entry (here 0 µs).
    fn record_untimed(&mut self, window: i64) -> bool {
        let before = self.windows;
        self.add(window, UNTIMED, 1);
        self.add(window, TOTAL, 0);
        self.windows > before
    }

    /// Adds the entries of `other` (sorted as well). Chunks come in time order, so
    /// the usual case is an append, or an overlap of the window a chunk boundary cut:
    /// only the entries of `self` from `other`'s first key on are merged, so the cost
    /// is that of `other` (and the overlap), not of the whole series so far.
    fn merge(&mut self, other: Entries) {
        let Some(first) = other.v.first().map(key) else {
            return;
        };
        let from = self.v.partition_point(|e| key(e) < first);
        if from == self.v.len() {
            self.v.extend(other.v);
            self.windows += other.windows;
            return;
        }
        let tail = self.v.split_off(from);
        self.windows -= count_windows(&tail);
        self.v.reserve(tail.len() + other.v.len());
        let (mut a, mut b) = (tail.into_iter().peekable(), other.v.into_iter().peekable());
        let start = self.v.len();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if key(x) <= key(y) => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            let Some(e) = next else { break };
            let merged = self.v.len() > start;
            match self.v.last_mut() {
                Some(l) if merged && key(l) == key(&e) => l.2 += e.2,
                _ => self.v.push(e),
            }
        }
        self.windows += count_windows(&self.v[start..]);
    }
}

/// The slot of bucket `b` in a [`Scratch`]: latency buckets in order, then
/// [`UNTIMED`] and [`TOTAL`], so slots sort as their buckets do. `None` for a bucket
/// no latency maps to.
fn slot(b: u16) -> Option<usize> {
    match b {
        TOTAL => Some(SLOTS - 1),
        UNTIMED => Some(SLOTS - 2),
        b if usize::from(b) < SLOTS - 2 => Some(usize::from(b)),
        _ => None,
    }
}

/// The bucket of slot `s`, the inverse of [`slot`].
fn slot_bucket(s: usize) -> u16 {
    match s {
        s if s == SLOTS - 1 => TOTAL,
        s if s == SLOTS - 2 => UNTIMED,
        s => s as u16,
    }
}

/// Slots of a [`Scratch`]: every latency bucket (the largest, of `u64::MAX`, is 495),
/// then [`UNTIMED`] and [`TOTAL`].
const SLOTS: usize = 514;

/// Sums per bucket of one window while its series is coarsened, with a bit per slot
/// in use so that only those are read back and cleared.
struct Scratch {
    sums: [u64; SLOTS],
    used: [u64; SLOTS.div_ceil(64)],
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            sums: [0; SLOTS],
            used: [0; SLOTS.div_ceil(64)],
        }
    }

    /// Adds `x` to bucket `b` (one [`slot`] maps).
    fn add(&mut self, b: u16, x: u64) {
        let Some(s) = slot(b) else { return };
        let bit = 1u64 << (s % 64);
        if self.used[s / 64] & bit == 0 {
            self.used[s / 64] |= bit;
            self.sums[s] = x;
        } else {
            self.sums[s] += x;
        }
    }

    /// Hands out (bucket, sum) in bucket order, and empties.
    fn drain(&mut self, mut f: impl FnMut(u16, u64)) {
        for (word, used) in self.used.iter_mut().enumerate() {
            while *used != 0 {
                let s = word * 64 + used.trailing_zeros() as usize;
                *used &= *used - 1;
                f(slot_bucket(s), self.sums[s]);
            }
        }
    }
}

/// Sorts `v` by (window, bucket) and sums the entries with equal keys.
fn sort_and_sum(v: &mut Vec<(i64, u16, u64)>) {
    v.sort_unstable_by_key(key);
    v.dedup_by(|next, kept| {
        let same = key(next) == key(kept);
        if same {
            kept.2 += next.2;
        }
        same
    });
}

/// The number of windows among `v`: one [`TOTAL`] entry each.
fn count_windows(v: &[(i64, u16, u64)]) -> usize {
    v.iter().filter(|e| e.1 == TOTAL).count()
}

/// True when a series with a window just added passes the bound. Counting windows is
/// linear, so only past the bound in entries (each window has at least two).
fn too_many_windows(e: &Entries, fixed: bool) -> bool {
    !fixed && e.windows > MAX_WINDOWS
}

/// The series of every fingerprint, at one shared width.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
pub struct QuerySeries {
    width: i64,
    fixed: bool,
    map: FxHashMap<u64, Entries>,
    /// With a fixed width, the same series at the automatic width too: the findings
    /// compare a fingerprint before and during an incident on these, whatever width
    /// the report shows.
    fine: Option<Box<QuerySeries>>,
    #[serde(skip)]
    last: LastWindow,
}

impl QuerySeries {
    /// Automatic widths (from the ladder) or a fixed width in ms, as the timeline.
    pub fn new(fixed_width_ms: Option<i64>) -> Self {
        QuerySeries {
            width: fixed_width_ms.unwrap_or(LADDER_MS[0]).max(1),
            fixed: fixed_width_ms.is_some(),
            map: FxHashMap::default(),
            fine: fixed_width_ms.map(|_| Box::new(QuerySeries::new(None))),
            last: LastWindow::default(),
        }
    }

    /// The series at the automatic width, when the width is fixed (taken out).
    pub fn take_fine(&mut self) -> Option<QuerySeries> {
        self.fine.take().map(|b| *b)
    }

    /// Records an execution of fingerprint `fp` of `us` that completed at `ts`.
    pub fn add(&mut self, fp: u64, ts: Millis, us: u64) {
        if let Some(f) = &mut self.fine {
            f.add(fp, ts, us);
        }
        let key = self.last.key(ts, self.width);
        let e = self.map.entry(fp).or_default();
        let new_window = e.record(key, bucket(us), us);
        if new_window && too_many_windows(e, self.fixed) {
            self.coarsen_to(next_width(self.width));
        }
    }

    /// Records an execution of fingerprint `fp` logged without a duration at `ts`.
    pub fn add_untimed(&mut self, fp: u64, ts: Millis) {
        if let Some(f) = &mut self.fine {
            f.add_untimed(fp, ts);
        }
        let key = self.last.key(ts, self.width);
        let e = self.map.entry(fp).or_default();
        let new_window = e.record_untimed(key);
        if new_window && too_many_windows(e, self.fixed) {
            self.coarsen_to(next_width(self.width));
        }
    }

    fn coarsen_to(&mut self, width: i64) {
        if width <= self.width {
            return;
        }
        self.width = width;
        let mut scratch = Scratch::new();
        for e in self.map.values_mut() {
            e.coarsen(width, &mut scratch);
        }
    }

    /// Forgets the series of `fp` (folded away).
    pub fn remove(&mut self, fp: u64) {
        self.map.remove(&fp);
        if let Some(f) = &mut self.fine {
            f.remove(fp);
        }
    }

    /// Adds `other` (same mode), coarsening to the wider of the two widths.
    pub fn merge(&mut self, mut other: QuerySeries) {
        match (&mut self.fine, other.fine.take()) {
            (Some(a), Some(b)) => a.merge(*b),
            (a @ None, b) => *a = b,
            _ => {}
        }
        if other.width > self.width {
            self.coarsen_to(other.width);
        } else {
            other.coarsen_to(self.width);
        }
        // Only the series `other` touched can have passed the bound.
        let mut over = false;
        for (fp, e) in other.map {
            let mine = self.map.entry(fp).or_default();
            mine.merge(e);
            over |= mine.windows > MAX_WINDOWS;
        }
        while over && !self.fixed {
            let next = next_width(self.width);
            self.coarsen_to(next);
            over = self.map.values().any(|e| e.windows > MAX_WINDOWS);
        }
    }

    /// The series of every fingerprint in the timeline's final windows, which start at
    /// `first` and are `width` ms wide: fingerprint → (window index, cell) for the
    /// windows where it ran, in time order.
    pub fn finish(mut self, first: Millis, width: i64) -> FxHashMap<u64, Vec<(u32, Cell)>> {
        self.coarsen_to(width);
        let width = self.width.max(1);
        self.map
            .into_iter()
            .map(|(fp, e)| {
                let mut cells: Vec<(u32, Cell)> = Vec::new();
                for (w, b, v) in e.v {
                    if w < first {
                        continue;
                    }
                    let i = ((w - first) / width) as u32;
                    if cells.last().is_none_or(|c| c.0 != i) {
                        cells.push((i, Cell::default()));
                    }
                    let Some((_, c)) = cells.last_mut() else {
                        continue;
                    };
                    if b == TOTAL {
                        c.total_us = c.total_us.saturating_add(v);
                    } else if b == UNTIMED {
                        c.count += v;
                    } else {
                        c.count += v;
                        c.hist.push((b, v));
                    }
                }
                (fp, cells)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The coarsening the linear pass replaced: re-key, sort, sum equal keys.
    fn coarsen_by_sort(e: &Entries, width: i64) -> Vec<(i64, u16, u64)> {
        let mut v: Vec<_> =
            e.v.iter()
                .map(|x| (x.0.div_euclid(width) * width, x.1, x.2))
                .collect();
        sort_and_sum(&mut v);
        v
    }

    /// Executions (fingerprint, ms from the start, µs or none) over up to ~3 hours,
    /// in bursts so that windows hold several buckets, some before the epoch.
    fn executions() -> impl Strategy<Value = Vec<(u64, i64, Option<u64>)>> {
        let t0 = prop_oneof![Just(1_700_000_000_123i64), Just(-86_400_500i64)];
        let one = (
            0u64..3,
            0i64..10_000_000,
            prop_oneof![
                3 => (0u64..2_000).prop_map(Some),
                // Up to 2^54 µs: high buckets, and sums that still fit in 64 bits.
                3 => (0u64..u64::MAX).prop_map(|x| Some(x >> (10 + x % 54))),
                1 => Just(None),
            ],
        );
        (t0, prop::collection::vec(one, 1..600)).prop_map(|(t0, mut v)| {
            for x in &mut v {
                x.1 = t0 + x.1 / (1 + x.1 % 97);
            }
            v
        })
    }

    fn recorded(width: Option<i64>, obs: &[(u64, i64, Option<u64>)]) -> QuerySeries {
        let mut s = QuerySeries::new(width);
        for &(fp, ts, us) in obs {
            match us {
                Some(us) => s.add(fp, ts, us),
                None => s.add_untimed(fp, ts),
            }
        }
        s
    }

    proptest! {
        /// The linear coarsening gives what sorting gave, at every width of the ladder
        /// and at doublings past it, and what recording at that width gives.
        #[test]
        fn linear_coarsening_equals_sorting_and_direct_recording(
            obs in executions(),
            to in 1usize..LADDER_MS.len() + 2,
        ) {
            let width = LADDER_MS.get(to).copied().unwrap_or(LADDER_MS[LADDER_MS.len() - 1] * 2);
            let fine = recorded(Some(1_000), &obs);
            let direct = recorded(Some(width), &obs);
            let mut coarse = fine.clone();
            coarse.coarsen_to(width);
            prop_assert_eq!(coarse.map.len(), fine.map.len());
            for (fp, e) in &coarse.map {
                prop_assert_eq!(&e.v, &coarsen_by_sort(&fine.map[fp], width));
                prop_assert_eq!(e.windows, count_windows(&e.v));
                prop_assert_eq!(&e.v, &direct.map[fp].v);
            }
        }

        /// Chunks cut anywhere, each coarsening on its own, merged in order, equal one
        /// pass over the whole.
        #[test]
        fn chunks_merged_in_order_equal_whole(
            obs in executions(),
            cuts in prop::collection::vec(0usize..600, 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(obs.len())).collect();
            cuts.push(0);
            cuts.push(obs.len());
            cuts.sort_unstable();
            let whole = recorded(None, &obs);
            let mut merged = QuerySeries::new(None);
            for p in cuts.windows(2) {
                merged.merge(recorded(None, &obs[p[0]..p[1]]));
            }
            for e in merged.map.values() {
                prop_assert_eq!(e.windows, count_windows(&e.v));
            }
            let first = obs.iter().map(|o| o.1).min().unwrap_or(0).div_euclid(3_600_000) * 3_600_000;
            prop_assert_eq!(merged.finish(first, 3_600_000), whole.finish(first, 3_600_000));
        }
    }

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for us in 0..200_000u64 {
            let b = bucket(us);
            assert!(b >= last);
            last = b;
            let mid = bucket_mid(b) as f64;
            if us > 0 {
                assert!((mid - us as f64).abs() / us as f64 <= 0.0625, "{us} {mid}");
            }
        }
        assert!(bucket_mid(bucket(u64::MAX)) > u64::MAX / 16 * 15);
    }

    #[test]
    fn split_and_merged_equal_whole() {
        let t0 = 1_700_000_000_000i64;
        let mut whole = QuerySeries::new(None);
        let mut parts = [QuerySeries::new(None), QuerySeries::new(None)];
        for i in 0..30_000i64 {
            let (fp, ts, us) = ((i % 3) as u64, t0 + i * 97, (i * i % 10_007) as u64);
            whole.add(fp, ts, us);
            parts[(i % 7 == 0) as usize].add(fp, ts, us);
        }
        let [mut a, b] = parts;
        a.merge(b);
        let first = t0.div_euclid(60_000) * 60_000;
        let (ma, mw) = (a.finish(first, 60_000), whole.finish(first, 60_000));
        assert_eq!(ma, mw);
        assert_eq!(ma[&0].iter().map(|c| c.1.count).sum::<u64>(), 10_000);
        assert!(ma[&1].len() <= 49);
        assert!(ma[&1][3].1.quantile(0.95) > 0);
    }

    #[test]
    fn consecutive_chunks_merged_in_order_equal_whole() {
        // Chunks cut inside windows (the boundary's window is in both), a few lines
        // out of order across the cuts, and enough windows to coarsen on the way.
        let t0 = 1_700_000_000_000i64;
        let obs: Vec<(u64, i64, u64)> = (0..40_000i64)
            .map(|i| {
                let jitter = if i % 5 == 0 { -3 } else { 0 };
                (
                    (i % 4) as u64,
                    t0 + i * 733 + jitter,
                    (i * 31 % 9_001) as u64,
                )
            })
            .collect();
        let mut whole = QuerySeries::new(None);
        for &(fp, ts, us) in &obs {
            whole.add(fp, ts, us);
        }
        let mut merged = QuerySeries::new(None);
        for part in obs.chunks(377) {
            let mut p = QuerySeries::new(None);
            for &(fp, ts, us) in part {
                p.add(fp, ts, us);
            }
            merged.merge(p);
        }
        for e in merged.map.values() {
            assert_eq!(e.windows, count_windows(&e.v));
        }
        let first = t0.div_euclid(60_000) * 60_000;
        assert_eq!(merged.finish(first, 60_000), whole.finish(first, 60_000));
    }

    /// A log spanning just under and just over `TARGET_WINDOWS` windows of each ladder
    /// width, one execution every window of the finest width it could be shown at, cut
    /// into chunks: the timeline and every series reach the final width exactly (the
    /// smallest ladder width giving fewer than `TARGET_WINDOWS` windows) and the series
    /// count what a direct count per final window gives. Fails when the accumulators'
    /// bound is so low that they coarsen past the final width.
    #[test]
    fn final_width_is_reached_whatever_the_chunking() {
        use super::super::window::{Windows, TARGET_WINDOWS};
        let t0 = 1_700_000_000_123i64;
        for pair in LADDER_MS.windows(2).take(12) {
            let (fine, coarse) = (pair[0], pair[1]);
            for (span, want) in [
                (TARGET_WINDOWS * fine - 1, fine),
                (TARGET_WINDOWS * fine, coarse),
            ] {
                let step = (fine / 3).max(1);
                let mut stamps: Vec<i64> = (0..=span / step).map(|i| t0 + i * step).collect();
                let end = t0 + span;
                if stamps.last() != Some(&end) {
                    stamps.push(end);
                }
                let (mut windows, mut series) = (Windows::new(None), QuerySeries::new(None));
                for part in stamps.chunks(stamps.len() / 5 + 1) {
                    let (mut w, mut q) = (Windows::new(None), QuerySeries::new(None));
                    for (i, &ts) in part.iter().enumerate() {
                        w.add(ts, 100);
                        q.add((i % 2) as u64, ts, 100);
                    }
                    windows.merge(w);
                    series.merge(q);
                }
                let (width, shown) = windows.finish(t0, end);
                assert_eq!(width, want, "span {span}");
                assert!(shown.len() <= TARGET_WINDOWS as usize + 1);
                let first = t0.div_euclid(width) * width;
                let cells = series.finish(first, width);
                let mut direct = vec![0u64; shown.len()];
                for &ts in &stamps {
                    direct[((ts - first) / width) as usize] += 1;
                }
                let mut got = vec![0u64; shown.len()];
                for c in cells.values().flatten() {
                    got[c.0 as usize] += c.1.count;
                }
                assert_eq!(got, direct, "span {span}, width {width}");
            }
        }
    }

    #[test]
    fn out_of_order_timestamps_give_the_same_series() {
        let t0 = 1_700_000_000_000i64;
        let (mut sorted, mut shuffled) = (QuerySeries::new(None), QuerySeries::new(None));
        let obs: Vec<(i64, u64)> = (0..5_000i64)
            .map(|i| (t0 + i * 13, (i * 7919 % 5000) as u64))
            .collect();
        for &(ts, us) in &obs {
            sorted.add(1, ts, us);
        }
        // A few milliseconds out of order, as the logging collector writes them.
        for k in (0..obs.len()).step_by(4) {
            for &(ts, us) in obs[k..(k + 4).min(obs.len())].iter().rev() {
                shuffled.add(1, ts, us);
            }
        }
        assert_eq!(shuffled.finish(t0, 1_000), sorted.finish(t0, 1_000));
    }
}
