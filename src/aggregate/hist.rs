//! A mergeable latency histogram (microseconds) with ≤ 1% relative error.
//!
//! HdrHistogram with two significant digits: bucket widths are at most 1% of their
//! values, counts merge exactly, so percentiles do not depend on how the log was split.

use hdrhistogram::Histogram;

/// Latencies in microseconds; exact minimum and maximum kept beside the buckets
/// (HdrHistogram reports them rounded to their bucket). Saved (`--save`) as its
/// non-empty buckets, each by a value inside it and its count: re-recorded, they
/// land in the same buckets, so every figure read from it is the same.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "SavedHist", from = "SavedHist")]
pub struct LatencyHist {
    h: Histogram<u64>,
    min: u64,
    max: u64,
}

impl Default for LatencyHist {
    fn default() -> Self {
        // Two significant digits: relative error ≤ 1%; auto-resizing to any value.
        let mut h = Histogram::new(2).expect("2 significant digits is a valid precision");
        h.auto(true);
        LatencyHist {
            h,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl LatencyHist {
    /// Records one latency.
    pub fn record(&mut self, us: u64) {
        // Auto-resize makes every u64 recordable; the error path cannot happen.
        let _ = self.h.record(us);
        self.min = self.min.min(us);
        self.max = self.max.max(us);
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &LatencyHist) {
        let _ = self.h.add(&other.h);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Adds the counts of `other`, taken: the wider of the two counts arrays is kept,
    /// so the narrower is added into it instead of the other being grown to fit.
    pub fn merge_owned(&mut self, mut other: LatencyHist) {
        if other.h.is_empty() {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
            return;
        }
        if self.h.distinct_values() < other.h.distinct_values() || self.h.is_empty() {
            std::mem::swap(self, &mut other);
        }
        self.merge(&other);
    }

    /// The latency at quantile `q` (0..=1), clamped into `[min, max]` recorded.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.h.is_empty() {
            return 0;
        }
        self.h.value_at_quantile(q).clamp(self.min, self.max)
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.h.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }

    /// Counts per bucket for display: (bucket upper bound µs, count), for the
    /// non-empty log2 buckets.
    pub fn log2_buckets(&self) -> Vec<(u64, u64)> {
        if self.h.is_empty() {
            return Vec::new();
        }
        self.h
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
        let buckets =
            h.h.iter_recorded()
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
        let mut h = LatencyHist::default();
        for (v, n) in s.buckets {
            // Auto-resize makes every u64 recordable, as in `record`.
            let _ = h.h.record_n(v, n);
        }
        h.min = s.min;
        h.max = s.max;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
