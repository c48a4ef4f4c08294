//! Per-fingerprint time series: how many executions of each query completed in each
//! timeline window, and how slow they were (for the report's sparklines).
//!
//! Windows follow the same ladder as [`super::window::Windows`] and coarsen under the
//! same rule, so a fingerprint's series is never coarser than the global timeline and can be folded into the timeline's final width exactly. Latencies
//! go into a tiny log-bucketed histogram (8 buckets per power of two, ≤ 9% relative
//! error) whose counts add up exactly: the series of any chunking, merged in any order,
//! are identical.

use super::window::LADDER_MS;
use crate::parse::Millis;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Windows a single fingerprint may hold before the whole set coarsens. The same bound
/// as the global timeline: a fingerprint's windows at the same width are a subset of the
/// global ones, so the series is never coarser than the timeline.
const MAX_WINDOWS: usize = 2_000;

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

/// One window of one fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    /// Executions that completed in the window.
    pub count: u64,
    /// Their total duration, µs.
    pub total_us: u64,
    /// Latency buckets (bucket, count), sorted by bucket.
    hist: Vec<(u16, u32)>,
}

impl Cell {
    fn add(&mut self, us: u64) {
        self.count += 1;
        self.total_us += us;
        self.add_bucket(bucket(us), 1);
    }

    fn add_bucket(&mut self, b: u16, n: u32) {
        match self.hist.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => self.hist[i].1 += n,
            Err(i) => self.hist.insert(i, (b, n)),
        }
    }

    fn merge(&mut self, o: &Cell) {
        self.count += o.count;
        self.total_us += o.total_us;
        for &(b, n) in &o.hist {
            self.add_bucket(b, n);
        }
    }

    /// The latency at quantile `q` (0..=1), µs, from the buckets.
    pub fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.hist.iter().map(|e| e.1 as u64).sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for &(b, n) in &self.hist {
            seen += n as u64;
            if seen >= rank {
                return bucket_mid(b);
            }
        }
        0
    }
}

/// The series of every fingerprint, at one shared width.
#[derive(Debug, Clone)]
pub struct QuerySeries {
    width: i64,
    fixed: bool,
    map: FxHashMap<u64, BTreeMap<i64, Cell>>,
}

impl QuerySeries {
    /// Automatic widths (from the ladder) or a fixed width in ms, as the timeline.
    pub fn new(fixed_width_ms: Option<i64>) -> Self {
        QuerySeries {
            width: fixed_width_ms.unwrap_or(LADDER_MS[0]).max(1),
            fixed: fixed_width_ms.is_some(),
            map: FxHashMap::default(),
        }
    }

    /// Records an execution of fingerprint `fp` of `us` that completed at `ts`.
    pub fn add(&mut self, fp: u64, ts: Millis, us: u64) {
        let key = ts.div_euclid(self.width) * self.width;
        let windows = self.map.entry(fp).or_default();
        windows.entry(key).or_default().add(us);
        if windows.len() > MAX_WINDOWS && !self.fixed {
            let next = next_width(self.width);
            self.coarsen_to(next);
        }
    }

    fn coarsen_to(&mut self, width: i64) {
        if width <= self.width {
            return;
        }
        self.width = width;
        for windows in self.map.values_mut() {
            let old = std::mem::take(windows);
            for (k, c) in old {
                windows
                    .entry(k.div_euclid(width) * width)
                    .or_default()
                    .merge(&c);
            }
        }
    }

    /// Adds `other` (same mode), coarsening to the wider of the two widths.
    pub fn merge(&mut self, mut other: QuerySeries) {
        if other.width > self.width {
            self.coarsen_to(other.width);
        } else {
            other.coarsen_to(self.width);
        }
        for (fp, windows) in other.map {
            let mine = self.map.entry(fp).or_default();
            for (k, c) in windows {
                mine.entry(k).or_default().merge(&c);
            }
        }
        while !self.fixed && self.map.values().any(|w| w.len() > MAX_WINDOWS) {
            let next = next_width(self.width);
            self.coarsen_to(next);
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
            .map(|(fp, windows)| {
                let cells = windows
                    .into_iter()
                    .filter(|(k, _)| *k >= first)
                    .map(|(k, c)| (((k - first) / width) as u32, c))
                    .collect();
                (fp, cells)
            })
            .collect()
    }
}

fn next_width(w: i64) -> i64 {
    LADDER_MS.iter().copied().find(|&l| l > w).unwrap_or(w * 2)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(bucket_mid(bucket(u64::MAX)), u64::MAX);
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
        let (ma, mw) = (a.finish(t0, 60_000), whole.finish(t0, 60_000));
        assert_eq!(ma, mw);
        assert_eq!(ma[&0].iter().map(|c| c.1.count).sum::<u64>(), 10_000);
        assert!(ma[&1].len() <= 49);
        assert!(ma[&1][3].1.quantile(0.95) > 0);
    }
}
