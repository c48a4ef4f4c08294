//! Aggregation: events of a chunk → mergeable statistics.
//!
//! [`ChunkAgg`] consumes the entries of one chunk. Its result, a [`Partial`], holds
//! the commutative statistics ([`Stats`]) plus what only the neighbouring chunks can
//! settle: statements logged without a duration whose `duration:` line (or error) may be
//! in the next chunk, and bare durations and errors at the start of a chunk whose
//! statement may be in the previous one ([`pairing`]). [`Partial::append`] merges a file's partials in order and settles those;
//! [`Stats::merge`] merges anything else in any order. One thread or many, the same
//! statements are paired and the same totals come out.

mod blockers;
pub mod days;
pub mod hist;
pub mod hosts;
pub mod incident;
pub mod interned;
mod pairing;
pub mod pgbouncer;
pub mod query;
pub mod rows;
pub mod series;
pub mod session;
mod signals;
pub mod spread;
pub mod table;
pub mod window;

use crate::events::{self, Event};
use crate::filter::{Filters, Verdict};
use crate::normalize::Normalizer;
use crate::parse::{unfold, EntrySink, LogEntry, Millis};
use incident::{Incidents, PidTrack};
use pairing::{Obs, Pairing};
use query::{max_opt, min_opt, Sample};
use rustc_hash::FxHashMap;
use table::QueryTable;
use window::Windows;

/// How many skipped-line examples each input keeps.
pub const SKIPPED_EXAMPLES: usize = 10;

/// What aggregation needs to know from the configuration.
#[derive(Debug, Clone, Default)]
pub struct AggOptions {
    /// Entries before this instant are ignored.
    pub begin: Option<Millis>,
    /// Entries after this instant are ignored.
    pub end: Option<Millis>,
    /// Fixed window width, ms (`--window`); automatic when `None`.
    pub window_ms: Option<i64>,
    /// `--max-fingerprints`; [`table::DEFAULT_MAX_FINGERPRINTS`] when `None`.
    pub max_fingerprints: Option<usize>,
    /// `--db`, `--exclude-app`, `--exclude-time`, `--select-only`...
    pub filters: Option<std::sync::Arc<Filters>>,
    /// Keep a row per execution and event (for `-o FILE.parquet`).
    pub rows: bool,
}

impl AggOptions {
    /// The most fingerprints a table keeps.
    pub fn max_fingerprints(&self) -> usize {
        self.max_fingerprints
            .unwrap_or(table::DEFAULT_MAX_FINGERPRINTS)
            .max(1)
    }
}

/// Totals of one database, user or application.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupTotals {
    /// Statements.
    pub count: u64,
    /// Their total duration, µs.
    pub total_us: u64,
}

/// Per-input counters.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Lines read.
    pub lines: u64,
    /// Log entries (a first line with its continuation and auxiliary lines).
    pub entries: u64,
    /// Lines that belong to no entry.
    pub skipped_lines: u64,
    /// The first skipped lines: (line number, text).
    pub skipped_examples: Vec<(u64, String)>,
    /// Lines whose time zone abbreviation was unknown and read as UTC.
    pub unknown_zone_lines: u64,
    /// Lines of a wrapper format that are not PostgreSQL's, passed over (Heroku metrics
    /// samples, CloudNativePG's instance manager...).
    pub foreign_lines: u64,
    /// Entries outside `--begin`/`--end`.
    pub filtered_entries: u64,
    /// What the filters removed (`--db`, `--exclude-time`...).
    pub filter: FilterCounts,
    /// Entries no prefix explained, read from their severity marker on: counted, with
    /// their process, user, database and application unknown.
    pub unattributed_entries: u64,
    /// First and last timestamps of all entries, kept or filtered out (what the log
    /// covers, said when a range keeps nothing).
    pub seen: Option<(Millis, Millis)>,
    /// Entries longer than `--max-entry`, cut there.
    pub cut: CutEntries,
}

/// Entries longer than `--max-entry`: their heads are read, the rest of each passed
/// over (its lines counted as skipped).
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutEntries {
    /// How many.
    pub entries: u64,
    /// The line the first was cut at (1-based, relative to the part of the input).
    pub first_line: Option<u64>,
    /// Bytes passed over.
    pub bytes: u64,
}

impl InputStats {
    /// Appends the counters of the part of the same input that follows this one.
    pub fn append(&mut self, mut next: InputStats) {
        for ex in &mut next.skipped_examples {
            ex.0 += self.lines;
        }
        self.lines += next.lines;
        self.entries += next.entries;
        self.skipped_lines += next.skipped_lines;
        self.unknown_zone_lines += next.unknown_zone_lines;
        self.foreign_lines += next.foreign_lines;
        self.filtered_entries += next.filtered_entries;
        self.filter.merge(&next.filter);
        self.unattributed_entries += next.unattributed_entries;
        self.seen = match (self.seen, next.seen) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        self.cut.entries += next.cut.entries;
        self.cut.bytes += next.cut.bytes;
        if self.cut.first_line.is_none() {
            // `self.lines` already counts `next`'s lines.
            self.cut.first_line = next.cut.first_line.map(|l| l + self.lines - next.lines);
        }
        let room = SKIPPED_EXAMPLES.saturating_sub(self.skipped_examples.len());
        self.skipped_examples
            .extend(next.skipped_examples.into_iter().take(room));
    }
}

/// What the filters removed from one input.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterCounts {
    /// Entries removed (those below included), statements and their duration lines
    /// among them.
    pub removed: u64,
    /// Entries removed because an include filter's field is unknown on them, by field
    /// ([`crate::filter::Field::ALL`]).
    pub unknown: crate::filter::FieldCounts,
    /// Entries kept because an exclude filter's field is unknown on them (and their
    /// session could not be matched), by field.
    pub unknown_kept: crate::filter::FieldCounts,
    /// Statements (timed, or logged by log_statement) the filters kept.
    pub kept_statements: u64,
    /// Entries the filters kept.
    pub kept: u64,
}

impl FilterCounts {
    /// Adds `o`.
    pub fn merge(&mut self, o: &FilterCounts) {
        self.removed += o.removed;
        for (a, b) in self.unknown.iter_mut().zip(o.unknown) {
            *a += b;
        }
        for (a, b) in self.unknown_kept.iter_mut().zip(o.unknown_kept) {
            *a += b;
        }

        self.kept_statements += o.kept_statements;
        self.kept += o.kept;
    }
}

/// Statistics that merge in any order.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct Stats {
    pub statements: u64,
    pub total_us: u64,
    /// Per-fingerprint statistics and time series.
    pub queries: QueryTable,
    /// The export's rows, when asked for ([`rows`]); in no particular order. Not in a
    /// saved state (`--save`): an export is made from the logs as they are read.
    #[serde(skip)]
    pub rows: Option<Vec<rows::Row>>,
    pub by_database: FxHashMap<Box<[u8]>, GroupTotals>,
    pub by_user: FxHashMap<Box<[u8]>, GroupTotals>,
    pub by_application: FxHashMap<Box<[u8]>, GroupTotals>,
    pub windows: Windows,
    /// With `--window`, windows of the automatic width as well: the findings place an
    /// incident on these, so its onset does not depend on the width asked for (`None`
    /// when `windows` are already automatic).
    pub fine: Option<Windows>,
    pub first_ts: Option<Millis>,
    pub last_ts: Option<Millis>,
    /// Entries per day: the bulk of the log, and the entries dated far from it.
    pub spread: spread::Spread,
    /// Parse and bind steps of the extended protocol (not counted as statements).
    pub protocol_steps: u64,
    pub protocol_us: u64,
    /// auto_explain plans.
    pub plans: u64,
    /// Executions logged without a duration (log_statement alone, or faster than
    /// log_min_duration_statement): in `statements`, not in `total_us`.
    pub untimed_statements: u64,
    /// Statements logged by log_statement that then failed (not executions).
    pub failed_statements: u64,
    /// Durations without text and without a statement to pair with.
    pub orphan_durations: u64,
    /// Lock waits, deadlocks, errors, checkpoints, sessions...
    pub incidents: Incidents,
    /// PgBouncer's lines, apart from the server's.
    pub pgbouncer: pgbouncer::PoolerStats,
}

impl Stats {
    /// Empty statistics.
    pub fn new(opts: &AggOptions) -> Self {
        Stats {
            statements: 0,
            total_us: 0,
            queries: QueryTable::new(opts.window_ms),
            rows: opts.rows.then(Vec::new),
            by_database: FxHashMap::default(),
            by_user: FxHashMap::default(),
            by_application: FxHashMap::default(),
            windows: Windows::new(opts.window_ms),
            fine: opts.window_ms.map(|_| Windows::new(None)),
            first_ts: None,
            last_ts: None,
            spread: spread::Spread::default(),
            protocol_steps: 0,
            protocol_us: 0,
            plans: 0,
            untimed_statements: 0,
            failed_statements: 0,
            orphan_durations: 0,
            incidents: Incidents::default(),
            pgbouncer: pgbouncer::PoolerStats::default(),
        }
    }

    /// Counts an entry (kept by the range) at `t` in the log's span: in `spread`,
    /// which `first_ts` and `last_ts` are read from once the chunk is done
    /// ([`Stats::settle_span`]).
    #[inline]
    pub(crate) fn saw(&mut self, t: Millis) {
        self.spread.add(t);
    }

    /// Counts a parse or bind step of `us`.
    #[inline(always)]
    fn protocol_step(&mut self, us: u64) {
        self.protocol_steps += 1;
        self.protocol_us = self.protocol_us.saturating_add(us);
    }

    /// Sets `first_ts` and `last_ts` from the entries counted by [`Stats::saw`].
    fn settle_span(&mut self) {
        if let Some((a, b)) = self.spread.span() {
            self.first_ts = min_opt(self.first_ts, Some(a));
            self.last_ts = max_opt(self.last_ts, Some(b));
        }
    }

    /// Adds `o`.
    pub fn merge(&mut self, mut o: Stats) {
        if let (Some(a), Some(b)) = (&mut self.rows, o.rows.take()) {
            a.extend(b);
        }
        self.statements += o.statements;
        self.total_us = self.total_us.saturating_add(o.total_us);
        self.queries.merge(o.queries);
        for (mine, theirs) in [
            (&mut self.by_database, o.by_database),
            (&mut self.by_user, o.by_user),
            (&mut self.by_application, o.by_application),
        ] {
            for (k, v) in theirs {
                let e = mine.entry(k).or_default();
                e.count += v.count;
                e.total_us = e.total_us.saturating_add(v.total_us);
            }
        }
        self.windows.merge(o.windows);
        match (&mut self.fine, o.fine) {
            (Some(a), Some(b)) => a.merge(b),
            (a @ None, b) => *a = b,
            _ => {}
        }
        self.first_ts = min_opt(self.first_ts, o.first_ts);
        self.last_ts = max_opt(self.last_ts, o.last_ts);
        self.spread.merge(o.spread);
        self.protocol_steps += o.protocol_steps;
        self.protocol_us = self.protocol_us.saturating_add(o.protocol_us);
        self.plans += o.plans;
        self.untimed_statements += o.untimed_statements;
        self.failed_statements += o.failed_statements;
        self.orphan_durations += o.orphan_durations;
        self.incidents.merge(o.incidents);
        self.pgbouncer.merge(o.pgbouncer);
    }

    /// Places everything ordered by (input, offset) in input `file`: statistics of one
    /// input read on its own (a saved state) take their place among the inputs they
    /// are merged with, so ties between samples break as in a single run.
    pub fn set_file(&mut self, file: u32) {
        self.queries.set_file(file);
        self.incidents.set_file(file);
    }

    /// Records one timed execution.
    fn record(&mut self, norm: &mut Normalizer, obs: &Obs<'_>, us: u64, ts: Option<Millis>) {
        self.record_in(norm, obs, us, ts, None);
    }

    /// Records one timed execution, its database, user and application counted in
    /// `run` when given (a chunk's), else in the maps.
    fn record_in<'g>(
        &mut self,
        norm: &mut Normalizer,
        obs: &Obs<'g>,
        us: u64,
        ts: Option<Millis>,
        run: Option<&mut GroupRun<'g>>,
    ) {
        let text = || signals::normalized(norm, obs.sql);
        let q = self.queries.record(obs.fp, text, Some(us), ts);
        if let Some(id) = obs.query_id {
            q.query_ids.insert(id);
        }
        if q.wants_sample(us, obs.order) {
            q.offer(Sample {
                duration_us: us,
                ts,
                order: obs.order,
                query: unfold_fast(obs.sql),
                parameters: obs.params.map(unfold_fast),
                database: lossy(obs.db),
                user: lossy(obs.user),
                application: lossy(obs.app),
                pid: obs.pid,
            });
        }
        self.statements += 1;
        self.total_us = self.total_us.saturating_add(us);
        match run {
            Some(run) => run.count(self, obs, us),
            None => self.count_groups(obs, us),
        }
        if self.rows.is_some() {
            self.row_of(obs, Some(us), ts);
        }
        if let Some(t) = ts {
            self.windows.add(t, us);
            if let Some(f) = &mut self.fine {
                f.add(t, us);
            }
        }
    }

    /// The export's row of an execution (timed or not), when rows are kept.
    /// Its time is the report's: the duration line's for a paired execution.
    fn row_of(&mut self, obs: &Obs<'_>, us: Option<u64>, ts: Option<Millis>) {
        let Some(rows) = &mut self.rows else { return };
        rows.push(rows::Row {
            ts,
            kind: "statement",
            duration_us: us,
            fingerprint: Some(obs.fp),
            query_id: obs.query_id,
            database: rows::text(obs.db),
            user: rows::text(obs.user),
            application: rows::text(obs.app),
            host: rows::text(obs.host),
            session: rows::text(obs.session),
            pid: obs.pid,
            sqlstate: Box::default(),
            lock_mode: Box::default(),
            lock_object: Box::default(),
            lock_relation: Box::default(),
            temp_bytes: None,
            order: obs.order,
        });
    }

    /// Counts one execution of `us` (0 when untimed) in its database, user and application.
    fn count_groups(&mut self, obs: &Obs<'_>, us: u64) {
        for (i, key) in [obs.db, obs.user, obs.app].into_iter().enumerate() {
            self.add_group(
                i,
                key,
                GroupTotals {
                    count: 1,
                    total_us: us,
                },
            );
        }
    }

    /// Adds `t` to group `key` of map `i` (database, user, application).
    fn add_group(&mut self, i: usize, key: &[u8], t: GroupTotals) {
        let map = match i {
            0 => &mut self.by_database,
            1 => &mut self.by_user,
            _ => &mut self.by_application,
        };
        let g = match map.get_mut(key) {
            Some(g) => g,
            None => map.entry(key.into()).or_default(),
        };
        g.count += t.count;
        g.total_us = g.total_us.saturating_add(t.total_us);
    }
}

/// The database, user and application a chunk counted last, with what they counted
/// since, not yet in [`Stats`]' maps: most consecutive statements share them, so most
/// are counted without a map lookup. [`GroupRun::flush`] before the maps are read.
/// (Sums saturate, so adding in runs gives the same totals as one by one.)
#[derive(Debug, Default)]
pub(crate) struct GroupRun<'a>([Option<(&'a [u8], GroupTotals)>; 3]);

impl<'a> GroupRun<'a> {
    /// Counts one execution of `us` (0 when untimed).
    #[inline]
    fn count(&mut self, stats: &mut Stats, obs: &Obs<'a>, us: u64) {
        self.count_in(stats, 0, obs.db, us);
        self.count_in(stats, 1, obs.user, us);
        self.count_in(stats, 2, obs.app, us);
    }

    /// Counts one execution of `us` in group `key` of map `i` (database, user,
    /// application).
    #[inline(always)]
    fn count_in(&mut self, stats: &mut Stats, i: usize, key: &'a [u8], us: u64) {
        match &mut self.0[i] {
            Some((k, t)) if same_bytes(k, key) => {
                t.count += 1;
                t.total_us = t.total_us.saturating_add(us);
            }
            slot => {
                if let Some((k, t)) = slot.take() {
                    stats.add_group(i, k, t);
                }
                *slot = Some((
                    key,
                    GroupTotals {
                        count: 1,
                        total_us: us,
                    },
                ));
            }
        }
    }

    /// Moves the counts into `stats`' maps.
    fn flush(&mut self, stats: &mut Stats) {
        for (i, slot) in self.0.iter_mut().enumerate() {
            if let Some((k, t)) = slot.take() {
                stats.add_group(i, k, t);
            }
        }
    }
}

/// `a == b`, without a call to `memcmp` for the short names (databases, users,
/// applications) compared once per statement.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
        let mut w = [0; N];
        w.copy_from_slice(&s[at..at + N]);
        w
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping words cover every byte.
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

fn lossy(b: &[u8]) -> String {
    // `from_utf8` checks a word at a time: most texts are valid, and this is faster
    // than `from_utf8_lossy`'s walk.
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// [`unfold`], without its search for continuation lines in a text of one line.
fn unfold_fast(b: &[u8]) -> String {
    match memchr::memchr(b'\n', b) {
        None => lossy(b),
        Some(_) => unfold(b),
    }
}

/// The result of aggregating a contiguous part of one input. Serializable: `--state
/// DIR` keeps a log's part read so far unfinished (what waits for the next part with
/// it), so the next run appends the new part as a run appends its chunks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Partial {
    /// Counters of the input.
    pub input: InputStats,
    /// Statistics.
    pub stats: Stats,
    pairing: Pairing,
    track: PidTrack,
}

impl Partial {
    /// Appends the part of the same input that directly follows this one, pairing
    /// statements at the end of this part with durations at the start of `next`.
    pub fn append(&mut self, next: Partial) {
        let Partial {
            input,
            stats,
            pairing,
            track,
        } = next;
        self.input.append(input);
        self.stats.merge(stats);
        self.stats.settle_pairing(&mut self.pairing, pairing);
        self.stats.settle(&mut self.track, track);
    }

    /// Tells this part that it starts its input: nothing will be prepended to it, so
    /// what only a part before it could settle is settled now (or forgotten when only
    /// such a part would read it). Results are the same; the state kept across
    /// appends no longer grows with the number of processes of the input.
    pub fn starts_input(&mut self) {
        self.stats.settle_start(&mut self.pairing);
        // The processes' first statement events settle the waits of a part before.
        self.track.first = Default::default();
        // A process whose session (re)started or ended, and no wait open: nothing
        // before this part could tell more, so it reads the same as one never seen
        // (waits on it are counted as unknown, an `acquired` counts its whole wait).
        self.track
            .tail
            .retain(|_, t| matches!(t.stmt, Some(Some(_))) || matches!(t.wait_us, Some(Some(_))));
    }

    /// Settles what is left at the end of the input and returns the statistics.
    pub fn finish(mut self) -> (InputStats, Stats) {
        self.stats.finish_pairing(self.pairing);
        self.stats.settle_end(self.track);
        (self.input, self.stats)
    }
}

/// Aggregates the entries of one chunk.
pub struct ChunkAgg<'a> {
    opts: AggOptions,
    file: u32,
    norm: Normalizer,
    input: InputStats,
    stats: Stats,
    pending: FxHashMap<u32, Obs<'a>>,
    pairing: Pairing,
    pids: FxHashMap<u32, signals::PidLocal>,
    waiting_on: FxHashMap<u32, Vec<incident::PendingWait>>,
    track: PidTrack,
    /// The statement filters' decision per fingerprint (normalized once).
    decided: FxHashMap<u64, bool>,
    /// Processes whose last statement the filters removed: its duration line goes too.
    dropped: rustc_hash::FxHashSet<u32>,
    /// A reusable buffer for normalized text.
    text: String,
    /// The sessions open, for the session filters.
    sessions: session::Live,
    /// The groups counted last, not yet in `stats`.
    groups: GroupRun<'a>,
    /// No range and no filter: every entry is kept ([`ChunkAgg::entry`]'s short path).
    keeps_all: bool,
    /// The first and last instant of all entries (kept or not), `i64::MAX` and
    /// `i64::MIN` before the first: `input.seen` when the chunk is done.
    seen: (Millis, Millis),
    /// The process last added to `pairing.touched` (adding it again changes nothing).
    last_touched: Option<u32>,
}

impl<'a> ChunkAgg<'a> {
    /// An aggregator for a chunk of input number `file`.
    pub fn new(opts: AggOptions, file: u32) -> Self {
        let keeps_all = opts.begin.is_none() && opts.end.is_none() && opts.filters.is_none();
        ChunkAgg {
            stats: Stats::new(&opts),
            opts,
            file,
            norm: Normalizer::cached(),
            input: InputStats::default(),
            pending: FxHashMap::default(),
            pairing: Pairing::default(),
            pids: FxHashMap::default(),
            waiting_on: FxHashMap::default(),
            track: PidTrack::default(),
            decided: FxHashMap::default(),
            dropped: rustc_hash::FxHashSet::default(),
            text: String::new(),
            sessions: session::Live::default(),
            groups: GroupRun::default(),
            keeps_all,
            seen: (Millis::MAX, Millis::MIN),
            last_touched: None,
        }
    }

    /// Starts the chunk with the sessions open at its start (see [`session`]).
    pub fn with_sessions(mut self, live: session::Live) -> Self {
        self.sessions = live;
        self
    }

    /// Starts the next of consecutive chunks parsed into this aggregator (a run, see
    /// [`ChunkAgg::chunk_done`]) with the sessions open at its start.
    pub fn set_sessions(&mut self, live: session::Live) {
        self.sessions = live;
    }

    /// Ends a chunk of `lines` lines of a run of consecutive chunks parsed into this
    /// aggregator (the last one then [`ChunkAgg::finish`]es with 0 lines): the same as
    /// finishing each chunk apart and appending the parts in order, as long as the
    /// fingerprints stay within the cap. False when they do not (a chunk finished apart
    /// might have folded some at its end): the run must then be parsed chunk by chunk.
    pub fn chunk_done(&mut self, lines: u64) -> bool {
        self.input.lines += lines;
        self.stats.queries.len() <= self.opts.max_fingerprints()
    }

    /// Ends the chunk (the last of a run), which had `lines` lines.
    pub fn finish(mut self, lines: u64) -> Partial {
        self.input.lines += lines;
        if self.seen.0 <= self.seen.1 {
            let (a, b) = self.seen;
            self.input.seen = Some(match self.input.seen {
                Some((x, y)) => (x.min(a), y.max(b)),
                None => (a, b),
            });
        }
        self.stats.settle_span();
        self.groups.flush(&mut self.stats);
        self.pending_to_tail();
        self.flush_waits();
        self.track.tail = self.pid_tail();
        self.stats.queries.cap(self.opts.max_fingerprints());
        Partial {
            input: self.input,
            stats: self.stats,
            pairing: self.pairing,
            track: self.track,
        }
    }

    fn in_range(&self, ts: Option<Millis>) -> bool {
        match ts {
            Some(t) => {
                self.opts.begin.is_none_or(|b| t >= b) && self.opts.end.is_none_or(|e| t <= e)
            }
            None => true,
        }
    }
}

impl<'a> ChunkAgg<'a> {
    /// Applies the statement filters to a statement, and removes the duration line of
    /// a statement they removed; counts what they keep. False when `e` is removed.
    fn filter_kept(&mut self, e: &LogEntry<'a, '_>, event: &Event<'a>) -> bool {
        let Some(f) = self.opts.filters.clone() else {
            return true;
        };
        let pid = e.fields.pid.unwrap_or(0);
        let sql = match event {
            Event::Timed { sql, .. } | Event::Logged { sql } => *sql,
            Event::BareDuration { .. } if self.dropped.remove(&pid) => {
                self.input.filter.removed += 1;
                return false;
            }
            Event::Other if f.on_statements() => {
                let keep = self.signal_kept(&f, e, pid);
                match keep {
                    true => self.input.filter.kept += 1,
                    false => self.input.filter.removed += 1,
                }
                return keep;
            }
            _ => {
                self.input.filter.kept += 1;
                return true;
            }
        };
        self.dropped.remove(&pid);
        let keep = f.query_id(e.fields.query_id) && (!f.on_text() || self.text_kept(&f, sql));
        if keep {
            self.input.filter.kept += 1;
            self.input.filter.kept_statements += 1;
            return true;
        }
        self.input.filter.removed += 1;
        if matches!(event, Event::Logged { .. }) && !e.fields.unattributed {
            // Its duration line, when log_duration writes one, is removed with it; a
            // statement still waiting for one is settled first.
            self.statement_removed(pid);
            self.dropped.insert(pid);
        }
        false
    }

    /// The statement filters' decision on an entry that is not a statement (an error,
    /// a lock wait, a temp file, a cancellation): it goes with the statement it was
    /// logged for — its `STATEMENT:` line, else the statement its process is running
    /// (its query id under `%Q`, or the statement logged by log_statement that is
    /// still waiting for its end). An entry that names no statement (a checkpoint, a
    /// connection) is kept.
    fn signal_kept(&mut self, f: &Filters, e: &LogEntry<'a, '_>, pid: u32) -> bool {
        if let Some(sql) = e.aux_text(crate::parse::Severity::Statement, b"") {
            return f.query_id(e.fields.query_id) && (!f.on_text() || self.text_kept(f, sql));
        }
        if let Some(id) = e.fields.query_id.filter(|&id| id != 0) {
            if !f.query_id(Some(id)) {
                return false;
            }
        }
        e.fields.unattributed || !self.dropped.contains(&pid)
    }

    /// The text filters' decision on `sql`, normalized once per fingerprint.
    fn text_kept(&mut self, f: &Filters, sql: &[u8]) -> bool {
        let fp = self.norm.fingerprint(sql);
        if let Some(&k) = self.decided.get(&fp) {
            return k;
        }
        self.text.clear();
        self.norm.normalize_into(sql, &mut self.text);
        let k = f.statement(&self.text);
        self.decided.insert(fp, k);
        k
    }
}

impl<'a> ChunkAgg<'a> {
    /// Counts `t` in the span of all entries.
    #[inline(always)]
    fn seen_at(&mut self, t: Millis) {
        self.seen.0 = self.seen.0.min(t);
        self.seen.1 = self.seen.1.max(t);
    }

    /// [`EntrySink::entry`] with a range or filters: what the short path does, and
    /// what it leaves out.
    #[inline(never)]
    fn entry_filtered(&mut self, e: &LogEntry<'a, '_>) {
        self.input.entries += 1;
        let ts = e.fields.ts;
        if e.fields.zone_unknown {
            self.input.unknown_zone_lines += 1;
        }
        if e.fields.unattributed {
            self.input.unattributed_entries += 1;
        }
        if let Some(t) = ts {
            self.seen_at(t);
        }
        if !self.in_range(ts) {
            self.input.filtered_entries += 1;
            return;
        }
        if let Some(f) = &self.opts.filters {
            let session = match f.on_sessions() {
                true => self.sessions.observe(e),
                false => None,
            };
            match f.entry(e, session.as_deref()) {
                Verdict::Keep => {}
                Verdict::KeptUnknown(field) => self.input.filter.unknown_kept[field as usize] += 1,
                Verdict::Removed => {
                    self.input.filter.removed += 1;
                    return;
                }
                Verdict::Unknown(field) => {
                    self.input.filter.removed += 1;
                    self.input.filter.unknown[field as usize] += 1;
                    return;
                }
            }
        }
        if let Some(t) = ts {
            self.stats.saw(t);
        }
        let event = events::classify(e);
        if self.opts.filters.is_some() && !self.filter_kept(e, &event) {
            return;
        }
        self.event(e, event);
    }

    /// Records the event of a kept entry (all but the parse and bind steps of the
    /// short path, which counts them itself).
    #[inline(never)]
    fn event(&mut self, e: &LogEntry<'a, '_>, event: Event<'a>) {
        let ts = e.fields.ts;
        let pid = e.fields.pid.unwrap_or(0);
        let obs = |sql: &'a [u8], norm: &mut Normalizer| Obs {
            fp: norm.fingerprint(sql),
            sql,
            params: events::parameters(e),
            db: e.fields.db,
            user: e.fields.user,
            app: e.fields.app,
            host: e.fields.host,
            session: e.fields.session,
            query_id: e.fields.query_id,
            pid: e.fields.pid,
            order: (self.file, e.offset),
            ts,
        };
        match event {
            Event::Timed { us, sql } => {
                let o = obs(sql, &mut self.norm);
                let run = Some(&mut self.groups);
                self.stats.record_in(&mut self.norm, &o, us, ts, run);
                self.timed_seen(pid, sql);
                self.statement_seen(e, sql, o.fp, Some(us));
            }
            // Without a pid a statement cannot be paired with its duration line: it
            // counts as an execution without one.
            Event::Logged { sql } if e.fields.unattributed => {
                let o = obs(sql, &mut self.norm);
                let run = Some(&mut self.groups);
                self.stats.record_untimed_in(&mut self.norm, &o, run);
            }
            Event::BareDuration { .. } if e.fields.unattributed => self.stats.orphan_durations += 1,
            Event::Logged { sql } => {
                let o = obs(sql, &mut self.norm);
                self.statement_seen(e, sql, o.fp, None);
                self.logged(pid, o);
            }
            Event::BareDuration { us } => self.bare_duration(pid, us, ts),
            Event::Protocol { us } => self.stats.protocol_step(us),
            Event::Plan { us, plan } => {
                self.stats.plans += 1;
                let Some(sql) = events::plan_query_text(plan) else {
                    return;
                };
                let fp = self.norm.fingerprint(&sql);
                let order = (self.file, e.offset);
                let q = self.stats.query_mut(&mut self.norm, fp, &sql);
                if q.wants_plan(us, order) {
                    q.offer_plan(query::PlanSample {
                        duration_us: us,
                        ts,
                        order,
                        pid: e.fields.pid,
                        plan: unfold(plan),
                    });
                }
            }
            Event::Other => {
                self.statement_error(pid, e);
                self.signals(e);
            }
        }
    }
}

impl<'a> EntrySink<'a> for ChunkAgg<'a> {
    /// Without a range or filters every entry is kept: the short path counts it,
    /// classifies it and, for a parse or bind step (most entries of a log of the
    /// extended protocol), only counts that; anything else is recorded out of line.
    fn entry(&mut self, e: &LogEntry<'a, '_>) {
        if !self.keeps_all {
            return self.entry_filtered(e);
        }
        self.input.entries += 1;
        self.input.unknown_zone_lines += u64::from(e.fields.zone_unknown);
        self.input.unattributed_entries += u64::from(e.fields.unattributed);
        if let Some(t) = e.fields.ts {
            self.seen_at(t);
            self.stats.saw(t);
        }
        match events::classify(e) {
            Event::Protocol { us } => self.stats.protocol_step(us),
            event => self.event(e, event),
        }
    }

    fn foreign(&mut self, _line: u64) {
        self.input.foreign_lines += 1;
    }

    fn skipped(&mut self, line: u64, text: &'a [u8]) {
        self.input.skipped_lines += 1;
        if self.input.skipped_examples.len() < SKIPPED_EXAMPLES {
            let mut t = lossy(&text[..text.len().min(200)]);
            t.retain(|c| !c.is_control());
            // `line` counts from the chunk's start; `input.lines`, the lines of the
            // run's chunks before it.
            self.input
                .skipped_examples
                .push((line + self.input.lines, t));
        }
    }

    fn pooler(&mut self, line: &crate::parse::pgbouncer::PoolerLine<'a>) {
        self.pooler_line(line);
    }
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn same_bytes_is_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{n} {at}");
            }
            let mut longer = a.clone();
            longer.push(b'z');
            assert!(!same_bytes(&a, &longer));
        }
    }
}
