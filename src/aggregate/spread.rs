//! When the log's entries are: per-day counts, to tell the bulk of a log from a few
//! entries dated far away (a clock set wrong, a line from another log).
//!
//! Three lines dated 1976 in a log of 2026 would otherwise stretch the timeline over 50
//! years, in windows of 112 days that put the whole incident in one bar. The timeline
//! spans the bulk instead, and the entries far from it are counted apart and reported.
//!
//! An entry is far when it is more than [`MIN_GAP_MS`] (30 days), and more than 10
//! times the spread of the middle half of the entries, away from that middle half (a
//! Tukey fence on the quartiles, robust while under a quarter of the entries are off).
//! A log spanning months evenly has a wide middle half, so its own first and last
//! days are never far.
//!
//! Counts per day, with each day's first and last instant, merge exactly in any order,
//! so the bulk is the same for any chunking and thread count. The day being counted is
//! kept apart, so the hot path adds to a counter without a map lookup.

use crate::parse::Millis;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// Entries closer than this to the middle half of the log are never far.
pub const MIN_GAP_MS: i64 = 30 * DAY_MS;

/// How many times the middle half's spread an entry must be away to be far.
const FENCE: i64 = 10;

/// One day's entries: how many, the first and last instant.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy)]
struct Day {
    count: u64,
    first: Millis,
    last: Millis,
}

impl Day {
    fn merge(&mut self, o: Day) {
        self.count += o.count;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// Entries per day.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
pub struct Spread {
    days: BTreeMap<i64, Day>,
    /// The day being counted, not yet in `days`.
    current: Option<(i64, Day)>,
    /// The first and last instant of `current`'s day (empty when there is no current
    /// day, or it is not known yet): an entry of that day is counted after two
    /// comparisons, without the division that finds its day.
    #[serde(skip)]
    bounds: Bounds,
}

/// A range of instants, `lo..=hi`; empty by default.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lo: Millis,
    hi: Millis,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { lo: 1, hi: 0 }
    }
}

/// The bulk of the log, and the entries left out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bulk {
    /// The first and last instant of the bulk.
    pub begin: Millis,
    /// Last instant.
    pub end: Millis,
    /// Entries far from the bulk.
    pub outliers: u64,
    /// The earliest and latest of them.
    pub outlier_range: Option<(Millis, Millis)>,
    /// Entries before the first or from the second of these instants are far.
    pub fence: (Millis, Millis),
}

impl Spread {
    /// Counts an entry at `ts`.
    #[inline]
    pub fn add(&mut self, ts: Millis) {
        if let Some((_, acc)) = &mut self.current {
            if self.bounds.lo <= ts && ts <= self.bounds.hi {
                acc.count += 1;
                acc.first = acc.first.min(ts);
                acc.last = acc.last.max(ts);
                return;
            }
        }
        self.add_other_day(ts);
    }

    /// [`Spread::add`] of an entry of another day than the current one (or of the
    /// current one before its bounds are known).
    #[inline(never)]
    fn add_other_day(&mut self, ts: Millis) {
        let day = ts.div_euclid(DAY_MS);
        // The first day of the i64 range starts before i64::MIN and the last ends
        // after i64::MAX: the bounds are computed in i128 and clamped (no time lies
        // outside i64).
        let start = i128::from(day) * i128::from(DAY_MS);
        let lo = start.max(i128::from(Millis::MIN)) as Millis;
        let hi = (start + i128::from(DAY_MS) - 1).min(i128::from(Millis::MAX)) as Millis;
        match &mut self.current {
            Some((d, acc)) if *d == day => {
                acc.count += 1;
                acc.first = acc.first.min(ts);
                acc.last = acc.last.max(ts);
            }
            _ => {
                self.flush();
                let acc = Day {
                    count: 1,
                    first: ts,
                    last: ts,
                };
                self.current = Some((day, acc));
            }
        }
        // After the flush above, which empties them.
        self.bounds = Bounds { lo, hi };
    }

    /// The first and last instant counted; `None` without entries.
    pub fn span(&self) -> Option<(Millis, Millis)> {
        // Days do not overlap: the first day holds the first instant, the last the last.
        let days = match (self.days.first_key_value(), self.days.last_key_value()) {
            (Some((_, a)), Some((_, b))) => Some((a.first, b.last)),
            _ => None,
        };
        let cur = self.current.as_ref().map(|(_, d)| (d.first, d.last));
        match (days, cur) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        }
    }

    fn flush(&mut self) {
        // The bounds then bound no current day.
        self.bounds = Bounds::default();
        if let Some((d, acc)) = self.current.take() {
            match self.days.get_mut(&d) {
                Some(mine) => mine.merge(acc),
                None => {
                    self.days.insert(d, acc);
                }
            }
        }
    }

    /// Adds `other`.
    pub fn merge(&mut self, mut other: Spread) {
        self.flush();
        other.flush();
        for (d, acc) in other.days {
            match self.days.get_mut(&d) {
                Some(mine) => mine.merge(acc),
                None => {
                    self.days.insert(d, acc);
                }
            }
        }
    }

    /// The bulk of the entries and those far from it; `None` without entries.
    pub fn bulk(mut self) -> Option<Bulk> {
        self.flush();
        let n: u64 = self.days.values().map(|d| d.count).sum();
        if n == 0 {
            return None;
        }
        // The days of the entries ranked n/4 and 3n/4 (1-based, rounded up).
        let day_at = |rank: u64| {
            let mut seen = 0;
            self.days
                .iter()
                .find(|(_, d)| {
                    seen += d.count;
                    seen >= rank
                })
                .map_or(0, |(k, _)| *k)
        };
        let (q1, q3) = (day_at(n.div_ceil(4)), day_at((3 * n).div_ceil(4)));
        let middle = (q3 - q1 + 1).saturating_mul(DAY_MS);
        let gap = middle.saturating_mul(FENCE).max(MIN_GAP_MS);
        // In i128: the days at the ends of the i64 range start or end past it.
        let lo = i128::from(q1) * i128::from(DAY_MS) - i128::from(gap);
        let hi = (i128::from(q3) + 1) * i128::from(DAY_MS) + i128::from(gap);
        let mut bulk: Option<(Millis, Millis)> = None;
        let mut far: Option<(Millis, Millis)> = None;
        let mut outliers = 0;
        for d in self.days.values() {
            let range = if i128::from(d.first) >= lo && i128::from(d.last) < hi {
                &mut bulk
            } else {
                outliers += d.count;
                &mut far
            };
            *range =
                Some(range.map_or((d.first, d.last), |(a, b)| (a.min(d.first), b.max(d.last))));
        }
        let (begin, end) = bulk?;
        Some(Bulk {
            begin,
            end,
            outliers,
            outlier_range: far,
            fence: (clamp(lo), clamp(hi)),
        })
    }
}

/// `v` within the i64 range.
fn clamp(v: i128) -> Millis {
    v.clamp(i128::from(Millis::MIN), i128::from(Millis::MAX)) as Millis
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_795_495_225_000; // 2026-11-24

    fn spread(ts: impl IntoIterator<Item = Millis>) -> Spread {
        let mut s = Spread::default();
        ts.into_iter().for_each(|t| s.add(t));
        s
    }

    #[test]
    fn a_few_entries_50_years_off_are_left_out() {
        let far = T0 - 50 * 365 * DAY_MS;
        let ts = (0..1000)
            .map(|i| T0 + i * 300)
            .chain([far, far + 5, T0 + 400 * DAY_MS]);
        let b = spread(ts).bulk().unwrap();
        assert_eq!((b.begin, b.end), (T0, T0 + 999 * 300));
        assert_eq!(b.outliers, 3);
        assert_eq!(b.outlier_range, Some((far, T0 + 400 * DAY_MS)));
    }

    #[test]
    fn timestamps_at_the_ends_of_the_range_do_not_overflow() {
        // Most entries on the first or last day of the i64 range: its fence is past
        // the range's ends (an overflow in a debug build before).
        for (most, other) in [
            (Millis::MIN, 0),
            (Millis::MAX, 0),
            (Millis::MIN + 1, Millis::MAX),
        ] {
            let ts = (0..10).map(|i| most.saturating_add(i)).chain([other]);
            let b = spread(ts).bulk().unwrap();
            assert_eq!(b.outliers, 1);
            assert!(b.begin <= b.end);
        }
    }

    #[test]
    fn a_long_log_keeps_its_ends() {
        // 90 days, even traffic, and a quiet first and last week.
        let ts = (0..90 * 24).map(|h| T0 + h * 3_600_000);
        let b = spread(ts.clone().chain([T0 - 7 * DAY_MS, T0 + 97 * DAY_MS]))
            .bulk()
            .unwrap();
        assert_eq!(b.outliers, 0);
        assert_eq!((b.begin, b.end), (T0 - 7 * DAY_MS, T0 + 97 * DAY_MS));
        // A burst with a quiet tail hours later: one log.
        let b = spread((0..1000).map(|i| T0 + i).chain([T0 + 5 * 3_600_000]))
            .bulk()
            .unwrap();
        assert_eq!(b.outliers, 0);
    }

    /// The days counted with the current day's bounds are those of a division per
    /// entry, and the span is the entries' first and last, for entries dated
    /// anywhere (before 1970, at the ends of the range of instants), in any order.
    #[test]
    fn bounds_count_as_a_division_per_entry() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 11
        };
        for round in 0..200 {
            let base = match round % 4 {
                0 => T0,
                1 => -T0,
                2 => Millis::MAX - 3 * DAY_MS,
                _ => Millis::MIN + DAY_MS / 2,
            };
            let mut s = Spread::default();
            let mut want: BTreeMap<i64, (u64, Millis, Millis)> = BTreeMap::new();
            let mut ts_all = vec![];
            for _ in 0..(next() % 300) {
                let step = match next() % 4 {
                    0 => (next() % 1000) as i64,
                    1 => (next() % (3 * DAY_MS as u64)) as i64,
                    2 => DAY_MS - 1,
                    _ => DAY_MS,
                };
                let t = base
                    .saturating_add(step)
                    .saturating_sub((next() % 2) as i64);
                ts_all.push(t);
                s.add(t);
                let w = want.entry(t.div_euclid(DAY_MS)).or_insert((0, t, t));
                w.0 += 1;
                w.1 = w.1.min(t);
                w.2 = w.2.max(t);
            }
            let span = ts_all.iter().min().zip(ts_all.iter().max());
            assert_eq!(s.span(), span.map(|(a, b)| (*a, *b)));
            s.flush();
            let got: BTreeMap<i64, (u64, Millis, Millis)> = s
                .days
                .iter()
                .map(|(d, v)| (*d, (v.count, v.first, v.last)))
                .collect();
            assert_eq!(got, want);
        }
        // The extreme instants.
        let mut s = Spread::default();
        for t in [
            Millis::MAX,
            Millis::MIN,
            Millis::MAX - 1,
            0,
            -1,
            Millis::MIN + 1,
        ] {
            s.add(t);
        }
        assert_eq!(s.span(), Some((Millis::MIN, Millis::MAX)));
        s.flush();
        assert_eq!(s.days.values().map(|d| d.count).sum::<u64>(), 6);
        assert_eq!(s.days.len(), 4);
    }

    #[test]
    fn split_and_merged_equal_whole() {
        let far = T0 + 20_000 * DAY_MS;
        let ts: Vec<Millis> = (0..5000).map(|i| T0 + i * 7_919).chain([far]).collect();
        let whole = spread(ts.iter().copied()).bulk();
        let mut a = spread(ts.iter().copied().step_by(2));
        a.merge(spread(ts.iter().copied().skip(1).step_by(2)));
        assert_eq!(a.bulk(), whole);
        assert_eq!(whole.unwrap().outliers, 1);
    }
}
