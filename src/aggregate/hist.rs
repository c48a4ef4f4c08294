//! A mergeable latency histogram (microseconds) with ≤ 1% relative error.
//!
//! HdrHistogram with two significant digits: bucket widths are at most 1% of their
//! values, counts merge exactly, so percentiles do not depend on how the log was split.

use hdrhistogram::Histogram;
use std::borrow::Cow;

/// Latencies kept as they are, up to this many; past it, in a histogram. A window of
/// the timeline holds a few hundred statements a second and is merged into a coarser
/// one soon after: its latencies are copied over, instead of a histogram of a few KB
/// being allocated, grown and zeroed for it, then scanned whole to be added.
const FEW: usize = 1024;

/// Room for latencies made when the first is recorded: as many bytes as the smallest
/// histogram takes, and a second's statements in a busy log.
const RECORDED: usize = 256;

/// Latencies in microseconds; exact minimum and maximum kept beside the buckets
/// (HdrHistogram reports them rounded to their bucket). Saved (`--save`) as its
/// non-empty buckets, each by a value inside it and its count: re-recorded, they
/// land in the same buckets, so every figure read from it is the same.
///
/// While few, the latencies are kept as recorded and put in a histogram only when a
/// figure is asked for: every figure is that of the histogram they would be in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "SavedHist", from = "SavedHist")]
pub struct LatencyHist {
    repr: Repr,
    min: u64,
    max: u64,
}

#[derive(Debug, Clone)]
enum Repr {
    /// At most [`FEW`] latencies, as recorded.
    Few(Vec<u64>),
    Hdr(Histogram<u64>),
}

impl Default for LatencyHist {
    fn default() -> Self {
        LatencyHist {
            repr: Repr::Few(Vec::new()),
            min: u64::MAX,
            max: 0,
        }
    }
}

/// An empty histogram for latencies up to `high` (it grows past it as needed).
fn histogram(high: u64) -> Histogram<u64> {
    // Two significant digits: relative error ≤ 1%; auto-resizing to any value. Sized
    // for `high` from the start: the buckets of a value do not depend on the size.
    let mut h = Histogram::new_with_bounds(1, high.max(2), 2)
        .expect("2 significant digits from 1 with high >= 2 are valid bounds");
    h.auto(true);
    h
}

/// Records `values` in `h`.
fn record_all(h: &mut Histogram<u64>, values: &[u64]) {
    for &v in values {
        // Auto-resize makes every u64 recordable; the error path cannot happen.
        let _ = h.record(v);
    }
}

impl LatencyHist {
    /// Records one latency.
    #[inline]
    pub fn record(&mut self, us: u64) {
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        match &mut self.repr {
            // Recording never grows the buffer (an allocation per so many lines):
            // full, the latencies go into a histogram (merges may grow it, to FEW).
            Repr::Few(v) if v.len() < v.capacity().min(FEW) => v.push(us),
            Repr::Few(v) if v.capacity() == 0 => {
                v.reserve_exact(RECORDED);
                v.push(us);
            }
            Repr::Few(_) => {
                self.spill();
                self.record_hdr(us);
            }
            Repr::Hdr(h) => {
                let _ = h.record(us);
            }
        }
    }

    #[inline]
    fn record_hdr(&mut self, us: u64) {
        if let Repr::Hdr(h) = &mut self.repr {
            let _ = h.record(us);
        }
    }

    /// Moves the latencies kept as recorded into a histogram.
    fn spill(&mut self) {
        if let Repr::Few(v) = &self.repr {
            let mut h = histogram(self.max);
            record_all(&mut h, v);
            self.repr = Repr::Hdr(h);
        }
    }

    /// The histogram of the latencies (built when they are kept as recorded).
    fn hdr(&self) -> Cow<'_, Histogram<u64>> {
        match &self.repr {
            Repr::Hdr(h) => Cow::Borrowed(h),
            Repr::Few(v) => {
                let mut h = histogram(self.max);
                record_all(&mut h, v);
                Cow::Owned(h)
            }
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &LatencyHist) {
        match &other.repr {
            Repr::Few(v) => self.extend(v),
            Repr::Hdr(o) => {
                self.spill();
                if let Repr::Hdr(h) = &mut self.repr {
                    let _ = h.add(o);
                }
            }
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Records `values` (bounds aside).
    fn extend(&mut self, values: &[u64]) {
        match &mut self.repr {
            Repr::Few(v) if v.len() + values.len() <= FEW => v.extend_from_slice(values),
            Repr::Few(_) => {
                self.max = values.iter().fold(self.max, |m, &x| m.max(x));
                self.spill();
                if let Repr::Hdr(h) = &mut self.repr {
                    record_all(h, values);
                }
            }
            Repr::Hdr(h) => record_all(h, values),
        }
    }

    /// Adds the counts of `other`, taken: the wider of two histograms is kept, so the
    /// narrower is added into it instead of the other being grown to fit; latencies
    /// kept as recorded are recorded into the other.
    pub fn merge_owned(&mut self, mut other: LatencyHist) {
        let swap = match (&mut self.repr, &mut other.repr) {
            (Repr::Few(mine), Repr::Few(theirs)) => {
                if mine.capacity() < theirs.capacity() {
                    std::mem::swap(mine, theirs);
                }
                false
            }
            (Repr::Few(_), Repr::Hdr(o)) => !o.is_empty(),
            (Repr::Hdr(_), Repr::Few(_)) => false,
            (Repr::Hdr(h), Repr::Hdr(o)) => {
                !o.is_empty() && (h.is_empty() || h.distinct_values() < o.distinct_values())
            }
        };
        if swap {
            std::mem::swap(self, &mut other);
        }
        self.merge(&other);
    }

    /// The latency at quantile `q` (0..=1), clamped into `[min, max]` recorded.
    pub fn quantile(&self, q: f64) -> u64 {
        self.quantiles([q])[0]
    }

    /// The latencies at several quantiles, as [`LatencyHist::quantile`] gives each: the
    /// histogram of latencies kept as recorded is built once for all of them.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        if self.is_empty() {
            return [0; N];
        }
        let h = self.hdr();
        qs.map(|q| h.value_at_quantile(q).clamp(self.min, self.max))
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Few(v) => v.len() as u64,
            Repr::Hdr(h) => h.len(),
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts per bucket for display: (bucket upper bound µs, count), for the
    /// non-empty log2 buckets.
    pub fn log2_buckets(&self) -> Vec<(u64, u64)> {
        if self.is_empty() {
            return Vec::new();
        }
        self.hdr()
            .iter_log(1, 2.0)
            .filter(|v| v.count_since_last_iteration() > 0)
            .map(|v| (v.value_iterated_to(), v.count_since_last_iteration()))
            .collect()
    }
}

/// A [`LatencyHist`] as saved: exact bounds and (value, count) per non-empty bucket.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedHist {
    min: u64,
    max: u64,
    buckets: Vec<(u64, u64)>,
}

impl From<LatencyHist> for SavedHist {
    fn from(h: LatencyHist) -> Self {
        let buckets = h
            .hdr()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        SavedHist {
            min: h.min,
            max: h.max,
            buckets,
        }
    }
}

impl From<SavedHist> for LatencyHist {
    fn from(s: SavedHist) -> Self {
        let mut h = histogram(2);
        for (v, n) in s.buckets {
            // Auto-resize makes every u64 recordable, as in `record`.
            let _ = h.record_n(v, n);
        }
        LatencyHist {
            repr: Repr::Hdr(h),
            min: s.min,
            max: s.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every figure of `h` against a histogram `values` were recorded in one by one.
    fn same_as_reference(h: &LatencyHist, values: &[u64]) -> Result<(), TestCaseError> {
        let mut r = Histogram::<u64>::new(2).expect("valid precision");
        r.auto(true);
        for &v in values {
            let _ = r.record(v);
        }
        prop_assert_eq!(h.len(), values.len() as u64);
        let (min, max) = (
            values.iter().copied().min().unwrap_or(u64::MAX),
            values.iter().copied().max().unwrap_or(0),
        );
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let want = if values.is_empty() {
                0
            } else {
                r.value_at_quantile(q).clamp(min, max)
            };
            prop_assert_eq!(h.quantile(q), want, "q={}", q);
        }
        let log2: Vec<(u64, u64)> = if values.is_empty() {
            Vec::new()
        } else {
            r.iter_log(1, 2.0)
                .filter(|v| v.count_since_last_iteration() > 0)
                .map(|v| (v.value_iterated_to(), v.count_since_last_iteration()))
                .collect()
        };
        prop_assert_eq!(h.log2_buckets(), log2);
        let saved: Vec<(u64, u64)> = r
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        prop_assert_eq!(SavedHist::from(h.clone()).buckets, saved);
        Ok(())
    }

    fn latencies() -> impl Strategy<Value = Vec<u64>> {
        let one = prop_oneof![
            3 => 0u64..5_000,
            1 => any::<u64>().prop_map(|x| x >> (x % 64)),
        ];
        prop::collection::vec(one, 0..3 * FEW)
    }

    proptest! {
        /// Latencies kept as recorded or in a histogram, merged in any order, taken or
        /// borrowed, give the figures of one histogram they were all recorded in.
        #[test]
        fn any_split_and_merge_order_gives_the_figures_of_one_histogram(
            values in latencies(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            order in any::<u64>(),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(values.len() + 1)).collect();
            cuts.push(0);
            cuts.push(values.len());
            cuts.sort_unstable();
            let mut parts: Vec<LatencyHist> = cuts
                .windows(2)
                .map(|p| {
                    let mut h = LatencyHist::default();
                    for &v in &values[p[0]..p[1]] {
                        h.record(v);
                    }
                    h
                })
                .collect();
            // Some parts saved and read back (always in a histogram).
            for (i, p) in parts.iter_mut().enumerate() {
                if order >> (i % 64) & 1 == 1 {
                    *p = SavedHist::from(p.clone()).into();
                }
            }
            let mut acc = LatencyHist::default();
            for (i, p) in parts.into_iter().enumerate().rev() {
                if order >> ((i + 7) % 64) & 1 == 1 {
                    acc.merge_owned(p);
                } else {
                    acc.merge(&p);
                }
            }
            same_as_reference(&acc, &values)?;
        }
    }

    #[test]
    fn percentiles_within_one_percent() {
        let mut h = LatencyHist::default();
        for v in 1..=100_000u64 {
            h.record(v * 7);
        }
        for (q, exact) in [(0.5, 350_000f64), (0.95, 665_000.0), (0.99, 693_000.0)] {
            let got = h.quantile(q) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "q={q} got={got} exact={exact}"
            );
        }
        assert_eq!(h.quantile(1.0), 700_000);
    }

    #[test]
    fn saved_and_read_back_gives_the_same_figures() {
        let mut h = LatencyHist::default();
        for v in [3u64, 17, 17, 250, 9_999, 1_234_567, 88_000_000_000] {
            h.record(v);
        }
        let back: LatencyHist = SavedHist::from(h.clone()).into();
        for q in [0.0, 0.25, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(back.quantile(q), h.quantile(q), "q={q}");
        }
        assert_eq!(back.len(), h.len());
        assert_eq!(back.log2_buckets(), h.log2_buckets());
    }

    #[test]
    fn merge_equals_single() {
        let (mut a, mut b, mut all) = (
            LatencyHist::default(),
            LatencyHist::default(),
            LatencyHist::default(),
        );
        for v in 0..5000u64 {
            let x = v * v % 100_003;
            if v % 3 == 0 {
                a.record(x)
            } else {
                b.record(x)
            }
            all.record(x);
        }
        a.merge(&b);
        for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(a.quantile(q), all.quantile(q));
        }
        assert_eq!(a.len(), 5000);
    }
}
