//! A mergeable latency histogram (microseconds) with ≤ 1% relative error.
//!
//! HdrHistogram with two significant digits: bucket widths are at most 1% of their
//! values, counts merge exactly, so percentiles do not depend on how the log was split.

use hdrhistogram::Histogram;

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
/// While few, the latencies are kept as recorded; past that, as counts per bucket of
/// the HdrHistogram they would be in ([`Counts`]). The histogram itself is built only
/// when a figure is asked for: every figure is that of the histogram they would be in.
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
    Counts(Counts),
}

/// The buckets of an HdrHistogram of two significant digits from 1 (the one
/// [`histogram`] makes), without it: `counts[i]` is the count of bucket `i` as the
/// histogram numbers its buckets, so recording is an index and an add, and the
/// histogram is made from the counts when a figure is read (see [`Counts::to_hdr`]).
///
/// The layout: 256 sub-buckets (2 × 10² rounded up to a power of two), the lower
/// half used by the first bucket only; bucket `b` holds the values of `b + 8`
/// significant bits, `2^b` wide.
#[derive(Debug, Clone, Default)]
struct Counts {
    counts: Vec<u64>,
    total: u64,
}

/// log2 of half the sub-buckets of a bucket.
const HALF_MAGNITUDE: u32 = 7;
/// Half the sub-buckets of a bucket.
const HALF: usize = 1 << HALF_MAGNITUDE;
/// Values below this are in the first bucket, one per sub-bucket.
const SUB_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;
/// 64 minus the bits of [`SUB_MASK`]: `bucket(v) = BASE - lz(v | SUB_MASK)`.
const LZ_BASE: u32 = 64 - (HALF_MAGNITUDE + 1);

/// The bucket of `v`, numbered as the histogram numbers them.
#[inline]
fn index_of(v: u64) -> usize {
    let b = LZ_BASE - (v | SUB_MASK).leading_zeros();
    (((b + 1) as usize) << HALF_MAGNITUDE) + (v >> b) as usize - HALF
}

/// The lowest value in bucket `i` (the inverse of [`index_of`]).
fn value_of(i: usize) -> u64 {
    let b = (i >> HALF_MAGNITUDE) as u32;
    let sub = (i & (HALF - 1)) as u64;
    match b {
        0 => sub,
        b => (sub + HALF as u64) << (b - 1),
    }
}

/// The count of latencies at or below quantile `q` (at most 1) of `total`: at least the
/// first, as the histogram counts it.
fn rank(q: f64, total: u64) -> u64 {
    ((q * total as f64).ceil() as u64).max(1)
}

/// The value the histogram gives for quantile `q` found in bucket `i`: its lowest
/// value for `q == 0`, else its highest.
fn bucket_value(i: usize, q: f64) -> u64 {
    let low = value_of(i);
    match q == 0.0 {
        true => low,
        false => low.saturating_add(width_of(i)) - 1,
    }
}

/// The width of bucket `i`.
fn width_of(i: usize) -> u64 {
    1 << (i >> HALF_MAGNITUDE).saturating_sub(1)
}

/// Buckets up to the end of the bucket of `v`: room for values of its magnitude.
fn len_for(v: u64) -> usize {
    (index_of(v) | (HALF - 1)) + 1
}

impl Counts {
    /// Empty, with room up to `high`.
    fn with_high(high: u64) -> Self {
        Counts {
            counts: vec![0; len_for(high)],
            total: 0,
        }
    }

    /// The counts of `values`, whose largest is `high`.
    fn of(values: &[u64], high: u64) -> Self {
        let mut c = Counts::with_high(high);
        values.iter().for_each(|&x| c.add(x, 1));
        c
    }

    /// Records `n` latencies of `v`.
    #[inline]
    fn add(&mut self, v: u64, n: u64) {
        match self.counts.get_mut(index_of(v)) {
            // Saturating, as the histogram counts.
            Some(c) => *c = c.saturating_add(n),
            None => self.grow_for(v, n),
        }
        self.total = self.total.saturating_add(n);
    }

    /// [`Counts::add`] of a value past the buckets so far: room up to its bucket.
    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, v: u64, n: u64) {
        self.counts.resize(len_for(v), 0);
        let c = &mut self.counts[index_of(v)];
        *c = c.saturating_add(n);
    }

    /// Adds the counts of `o`.
    fn merge(&mut self, o: &Counts) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, &b) in self.counts.iter_mut().zip(&o.counts) {
            *a = a.saturating_add(b);
        }
        self.total = self.total.saturating_add(o.total);
    }

    /// The histogram's `value_at_quantile(q)` of these counts (its code, on its
    /// buckets): the highest value of the bucket where the count reaches `q` of the
    /// total (at least the first), the lowest for `q == 0`; 0 when empty.
    fn value_at_quantile(&self, q: f64) -> u64 {
        let q = if q > 1.0 { 1.0 } else { q };
        let want = rank(q, self.total);
        let mut seen = 0u64;
        // Eight buckets at a time until the one that reaches the rank, as the histogram.
        let mut at = 0;
        for chunk in self.counts.chunks_exact(8) {
            let sum: u64 = chunk.iter().sum();
            if seen + sum >= want {
                break;
            }
            seen += sum;
            at += 8;
        }
        for (i, &n) in self.counts.iter().enumerate().skip(at) {
            seen += n;
            if seen >= want {
                return bucket_value(i, q);
            }
        }
        0
    }

    /// The histogram of these counts, sized for `high`.
    fn to_hdr(&self, high: u64) -> Histogram<u64> {
        let mut h = histogram(high);
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 {
                // Auto-resize makes every u64 recordable; the error path cannot happen.
                let _ = h.record_n(value_of(i), n);
            }
        }
        h
    }
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
            // full, the latencies go into counts (merges may grow it, to FEW).
            Repr::Few(v) if v.len() < v.capacity().min(FEW) => v.push(us),
            Repr::Counts(c) => c.add(us, 1),
            Repr::Few(_) => self.record_few_full(us),
        }
    }

    /// [`LatencyHist::record`] when the latencies kept as recorded have no room: the
    /// first gets room, a full buffer goes into counts.
    #[cold]
    #[inline(never)]
    fn record_few_full(&mut self, us: u64) {
        if let Repr::Few(v) = &mut self.repr {
            if v.capacity() == 0 {
                v.reserve_exact(RECORDED);
                v.push(us);
                return;
            }
        }
        self.spill();
        if let Repr::Counts(c) = &mut self.repr {
            c.add(us, 1);
        }
    }

    /// Moves the latencies kept as recorded into counts.
    fn spill(&mut self) {
        if let Repr::Few(v) = &self.repr {
            self.repr = Repr::Counts(Counts::of(v, self.max));
        }
    }

    /// The histogram of the latencies.
    fn hdr(&self) -> Histogram<u64> {
        match &self.repr {
            Repr::Counts(c) => c.to_hdr(self.max),
            Repr::Few(v) => {
                let mut h = histogram(self.max);
                record_all(&mut h, v);
                h
            }
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &LatencyHist) {
        match &other.repr {
            Repr::Few(v) => self.extend(v),
            Repr::Counts(o) => {
                self.max = self.max.max(other.max);
                self.spill();
                if let Repr::Counts(c) = &mut self.repr {
                    c.merge(o);
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
                self.extend(values);
            }
            Repr::Counts(c) => values.iter().for_each(|&x| c.add(x, 1)),
        }
    }

    /// Adds the counts of `other`, taken: the wider of two counts is kept, so the
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
            (Repr::Few(_), Repr::Counts(o)) => o.total > 0,
            (Repr::Counts(_), Repr::Few(_)) => false,
            (Repr::Counts(h), Repr::Counts(o)) => {
                o.total > 0 && (h.total == 0 || h.counts.len() < o.counts.len())
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
    /// latencies kept as recorded are sorted once for all of them.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [u64; N] {
        if self.is_empty() {
            return [0; N];
        }
        match &self.repr {
            Repr::Counts(c) => qs.map(|q| c.value_at_quantile(q).clamp(self.min, self.max)),
            Repr::Few(v) => {
                // The bucket where the count reaches the rank is that of the latency
                // of that rank: buckets are in the order of their values.
                let mut sorted = v.clone();
                sorted.sort_unstable();
                let n = sorted.len() as u64;
                qs.map(|q| {
                    let q = if q > 1.0 { 1.0 } else { q };
                    let at = rank(q, n).min(n) as usize - 1;
                    bucket_value(index_of(sorted[at]), q).clamp(self.min, self.max)
                })
            }
        }
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        match &self.repr {
            Repr::Few(v) => v.len() as u64,
            Repr::Counts(c) => c.total,
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts per bucket for display: (bucket upper bound µs, count), for the
    /// non-empty log2 buckets.
    ///
    /// The histogram's `iter_log(1, 2.0)` without it: that iterator reports step `k`
    /// (value `2^k - 1`) at the first bucket from the lowest of `2^k - 1`, with the
    /// counts since the step before, so a bucket's count goes to the first step whose
    /// lowest bucket is at or past it.
    pub fn log2_buckets(&self) -> Vec<(u64, u64)> {
        let counts = match &self.repr {
            _ if self.is_empty() => return Vec::new(),
            Repr::Counts(c) => std::borrow::Cow::Borrowed(c),
            Repr::Few(v) => std::borrow::Cow::Owned(Counts::of(v, self.max)),
        };
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut k = 0u32;
        for (i, &n) in counts.counts.iter().enumerate().filter(|c| *c.1 > 0) {
            while index_of(log2_step(k)) < i {
                k += 1;
            }
            let at = log2_step(k);
            match out.last_mut() {
                Some(last) if last.0 == at => last.1 = last.1.saturating_add(n),
                _ => out.push((at, n)),
            }
        }
        out
    }
}

/// The value the histogram's log iterator (base 2, from 1) reports at its step `k`:
/// `2^k - 1`, computed in f64 as it does (the step past `2^63` saturates).
fn log2_step(k: u32) -> u64 {
    match k {
        0..=63 => (1u64 << k) - 1,
        _ => u64::MAX - 1,
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
        let mut c = Counts::with_high(s.max);
        for (v, n) in s.buckets {
            c.add(v, n);
        }
        LatencyHist {
            repr: Repr::Counts(c),
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

    /// The buckets [`Counts`] numbers are the histogram's: every value of the first
    /// 2^20, and those around every power of two, land in the bucket whose lowest value
    /// the histogram gives, and every bucket maps back to itself.
    #[test]
    fn counts_number_buckets_as_the_histogram_does() {
        let r = Histogram::<u64>::new_with_bounds(1, u64::MAX, 2).expect("valid bounds");
        let mut values: Vec<u64> = (0..1 << 20).collect();
        for p in 0..64 {
            let x = 1u64 << p;
            values.extend([x - 1, x, x + 1, x.wrapping_mul(3) / 2]);
        }
        values.push(u64::MAX);
        for v in values {
            assert_eq!(value_of(index_of(v)), r.lowest_equivalent(v), "v={v}");
        }
        for i in 0..=index_of(u64::MAX) {
            assert_eq!(index_of(value_of(i)), i, "i={i}");
        }
    }

    proptest! {
        /// Any latency lands in the bucket the histogram puts it in.
        #[test]
        fn counts_bucket_any_value_as_the_histogram(v in any::<u64>(), shift in 0u32..64) {
            let r = Histogram::<u64>::new_with_bounds(1, u64::MAX, 2).expect("valid bounds");
            let v = v >> shift;
            prop_assert_eq!(value_of(index_of(v)), r.lowest_equivalent(v));
            prop_assert_eq!(index_of(r.highest_equivalent(v)), index_of(v));
        }

        /// Any quantile of any latencies is the histogram's.
        #[test]
        fn any_quantile_is_the_histograms(values in latencies(), q in 0.0f64..=1.0) {
            let mut r = Histogram::<u64>::new(2).expect("valid precision");
            r.auto(true);
            let mut h = LatencyHist::default();
            for &v in &values {
                let _ = r.record(v);
                h.record(v);
            }
            let want = match values.is_empty() {
                true => 0,
                false => r.value_at_quantile(q).clamp(h.min, h.max),
            };
            prop_assert_eq!(h.quantile(q), want);
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
