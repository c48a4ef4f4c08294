//! Splitting one pass by calendar day: [`DaySplit`] hands each entry of a chunk to
//! the [`ChunkAgg`] of its day (in a given zone), so a chunk yields one [`Partial`]
//! per day it touches ([`DayPartials`]). A day's partials are appended in file order
//! like a whole input's, so each day's statistics are those of an input made of that
//! day's lines only: as if the log had been rotated at midnight. Whatever spans
//! midnight is cut there the way a rotation cuts it (docs/outdir.md says what goes
//! where); every entry is counted on exactly one day, so the days' counts add up to
//! the run's.
//!
//! An entry without a timestamp (and a skipped line) belongs to the day of the last
//! dated entry before it in the file; those before any dated entry, to the first
//! dated day. Lines are counted the same way: from one day's first entry to the next
//! day's.

use super::session::Live;
use super::{AggOptions, ChunkAgg, Partial};
use crate::parse::pgbouncer::PoolerLine;
use crate::parse::{EntrySink, LogEntry, Millis};
use crate::report::tz::DisplayTz;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The calendar day of instant `ms` in `tz`, and the instants it starts and ends at
/// (`[start, end)`).
pub fn day_of(tz: &DisplayTz, ms: Millis) -> (NaiveDate, Millis, Millis) {
    let local = ms + tz.offset_ms(ms);
    let date = chrono::DateTime::from_timestamp_millis(local)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let at = |d: NaiveDate| {
        let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local(t)
            .unwrap_or_else(|| t.and_utc().timestamp_millis())
    };
    let start = at(date).min(ms);
    let end = date.succ_opt().map_or(Millis::MAX, at).max(ms + 1);
    (date, start, end)
}

/// The partials of a contiguous part of one input, one per day it touches.
#[derive(Debug, Clone, Default)]
pub struct DayPartials {
    /// What came before the part's first dated entry: it belongs to the day of the
    /// last dated entry of the parts before.
    pub head: Option<Partial>,
    /// Each day's part.
    pub days: BTreeMap<NaiveDate, Partial>,
    /// The day of the part's last dated entry.
    pub last: Option<NaiveDate>,
}

impl DayPartials {
    /// A part with nothing dated: its whole partial is a head.
    pub fn undated(p: Partial) -> Self {
        DayPartials {
            head: Some(p),
            ..DayPartials::default()
        }
    }

    /// Appends the part of the same input that directly follows this one.
    pub fn append(&mut self, next: DayPartials) {
        if let Some(h) = next.head {
            match self.last.and_then(|d| self.days.get_mut(&d)) {
                Some(p) => p.append(h),
                None => match &mut self.head {
                    Some(mine) => mine.append(h),
                    None => self.head = Some(h),
                },
            }
        }
        for (d, p) in next.days {
            match self.days.get_mut(&d) {
                Some(mine) => mine.append(p),
                None => {
                    self.days.insert(d, p);
                }
            }
        }
        if next.last.is_some() {
            self.last = next.last;
        }
    }

    /// Caps each day's fingerprints.
    pub fn cap(&mut self, cap: usize) {
        for p in self.days.values_mut().chain(self.head.as_mut()) {
            p.stats.queries.cap(cap);
        }
    }

    /// The input's days, its head (entries before any dated one) put on its first day,
    /// or on `fallback` when nothing was dated.
    pub fn finish(mut self, fallback: NaiveDate) -> BTreeMap<NaiveDate, Partial> {
        if let Some(h) = self.head.take() {
            match self.days.pop_first() {
                Some((d, p)) => {
                    let mut h = h;
                    h.append(p);
                    self.days.insert(d, h);
                }
                None => {
                    self.days.insert(fallback, h);
                }
            }
        }
        self.days
    }
}

/// A sink that routes each entry of a chunk to its day's aggregator.
pub struct DaySplit<'a> {
    tz: DisplayTz,
    opts: AggOptions,
    file: u32,
    live: Live,
    head: Option<ChunkAgg<'a>>,
    days: BTreeMap<NaiveDate, ChunkAgg<'a>>,
    /// Lines counted per day so far.
    lines: BTreeMap<NaiveDate, u64>,
    /// The current day and its bounds.
    cur: Option<(NaiveDate, Millis, Millis)>,
    /// The chunk line at which the current day's run of lines began.
    since: u64,
}

impl<'a> DaySplit<'a> {
    /// A splitter for a chunk of input `file`, days in `tz`, starting with the sessions
    /// in `live` open.
    pub fn new(tz: DisplayTz, opts: AggOptions, file: u32, live: Live) -> Self {
        DaySplit {
            tz,
            opts,
            file,
            live,
            head: None,
            days: BTreeMap::new(),
            lines: BTreeMap::new(),
            cur: None,
            since: 1,
        }
    }

    fn agg(&mut self) -> &mut ChunkAgg<'a> {
        let (opts, file, live) = (&self.opts, self.file, &self.live);
        let new = || ChunkAgg::new(opts.clone(), file).with_sessions(live.clone());
        match self.cur {
            Some((d, ..)) => self.days.entry(d).or_insert_with(new),
            None => self.head.get_or_insert_with(new),
        }
    }

    /// Moves to the day of `ts` (an entry at chunk line `line`).
    fn at(&mut self, ts: Option<Millis>, line: u64) {
        let Some(t) = ts else { return };
        if let Some((_, s, e)) = self.cur {
            if t >= s && t < e {
                return;
            }
        }
        let next = day_of(&self.tz, t);
        match self.cur {
            Some((d, ..)) if d == next.0 => {}
            Some((d, ..)) => {
                *self.lines.entry(d).or_default() += line - self.since;
                self.since = line;
            }
            // The lines before the first dated entry are the first day's.
            None => {}
        }
        self.cur = Some(next);
    }

    /// Ends the chunk, which had `lines` lines.
    pub fn finish(mut self, lines: u64) -> DayPartials {
        let last = self.cur.map(|c| c.0);
        if let Some(d) = last {
            *self.lines.entry(d).or_default() += (lines + 1).saturating_sub(self.since);
        }
        let head = self
            .head
            .map(|h| h.finish(if last.is_none() { lines } else { 0 }));
        let counted = &self.lines;
        let days = self
            .days
            .into_iter()
            .map(|(d, a)| (d, a.finish(counted.get(&d).copied().unwrap_or(0))))
            .collect();
        DayPartials { head, days, last }
    }
}

impl<'a> EntrySink<'a> for DaySplit<'a> {
    fn entry(&mut self, e: &LogEntry<'a, '_>) {
        self.at(e.fields.ts, e.line);
        self.agg().entry(e);
    }

    fn skipped(&mut self, line: u64, text: &'a [u8]) {
        self.agg().skipped(line, text);
    }

    fn foreign(&mut self, line: u64) {
        self.agg().foreign(line);
    }

    fn pooler(&mut self, line: &PoolerLine<'a>) {
        self.at(Some(line.ts), line.line);
        self.agg().pooler(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_a_fixed_offset_and_across_a_dst_change() {
        let tz: DisplayTz = "-04:43".parse().unwrap();
        // 2026-11-24 04:43:00 UTC is midnight at -04:43.
        let midnight = 1_795_495_380_000;
        let (d, s, e) = day_of(&tz, midnight - 1);
        assert_eq!(d.to_string(), "2026-11-23");
        assert_eq!(e, midnight);
        assert_eq!(s, midnight - 86_400_000);
        let (d, s, _) = day_of(&tz, midnight);
        assert_eq!((d.to_string(), s), ("2026-11-24".to_string(), midnight));
        // Berlin's 2026-10-25 has 25 hours.
        let berlin: DisplayTz = "Europe/Berlin".parse().unwrap();
        let (d, s, e) = day_of(&berlin, 1_792_900_000_000);
        assert_eq!(d.to_string(), "2026-10-25");
        assert_eq!(e - s, 25 * 3_600_000);
    }
}
