//! `--state DIR`: incremental runs. The directory remembers, for every log file read,
//! where it is (device, inode, path), what it starts with (the hash of its first
//! block) and how far it was read; and each log's part read so far, unfinished (a
//! [`Partial`]: statements waiting for their duration line, lock waits open...). The
//! next run finds the files again ([`follow`]), reads only the bytes after each
//! offset, appends them to the saved part as a run appends its chunks, and reports on
//! everything read so far: the report equals one run over the whole log.
//!
//! The rule for the end of a log that may still grow: the offset saved stops before
//! the last entry of the newest file of a log (a continuation line may still be
//! written to it); that entry is read again by the next run. This run's report counts
//! it all the same, from a copy of the saved part that is thrown away. A file that
//! cannot grow any more (compressed, or followed by a newer file of its log) is read to
//! its end.
//!
//! Partial results are stored per period key ([`period_keys`]); the directory's layout
//! and its commit protocol are in [`dir`] and docs/state-dir.md. With `--outdir`
//! ([`run_days`]) the keys are calendar days (`YYYY-MM-DD`, split as
//! [`DayPartials`] splits one pass) and the run returns the days its bytes touched,
//! each whole, for [`crate::periods::outdir::write`].

pub mod dir;
pub mod follow;

use crate::aggregate::days::DayPartials;
use crate::aggregate::Partial;
use crate::config::Config;
use crate::input::{self, BlockReader, Data, Source};
use crate::parse::format::{LogFormat, LogParser};
use crate::pipeline::{self, AnalyzeError, Fold, InputResult, Parsed, PipelineOptions, ReadInput};
use crate::range::{detect_clock, LogClock};
use crate::state::State;
use crate::verdict::Verdict;
use chrono::NaiveDate;
use dir::{Dir, DirError};
use follow::{LogPlan, Probe};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// The period key of a run without `--outdir`: every part of a log under one key.
pub const ALL: &str = "all";

/// With `--outdir`: the key of what a log held before its first dated entry (the
/// first dated day takes it when it comes).
pub const UNDATED: &str = "undated";

/// The periods a log's part read by this run is stored under, each with its share of
/// it. One key, [`ALL`], for now. To keep one partial per day instead, this is the one
/// function to change: return the part split by day (keys `YYYY-MM-DD`); the rest of
/// the module takes any keys, stores one file per key, rewrites only the keys a run
/// touched, and builds the report from all of them in key order.
pub fn period_keys(part: Partial) -> Vec<(String, Partial)> {
    vec![(ALL.to_string(), part)]
}

/// The options a directory's partial results depend on: a run with others is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// `--window`, ms.
    pub window_ms: Option<i64>,
    /// `--max-fingerprints`.
    pub max_fingerprints: Option<usize>,
    /// `--format`.
    pub format: Option<String>,
    /// `--prefix`.
    pub prefix: Option<String>,
    /// `--host`.
    pub host: Option<String>,
    /// `--max-entry`, bytes.
    pub max_entry: usize,
    /// `--year`.
    pub year: Option<i64>,
    /// With `--outdir`: the zone of the days (`--tz`, or each log's own); `None`
    /// without (one key, [`ALL`]).
    pub days: Option<String>,
}

impl Options {
    fn of(cfg: &Config, opts: &PipelineOptions) -> Options {
        Options {
            window_ms: opts.agg.window_ms,
            max_fingerprints: opts.agg.max_fingerprints,
            format: opts.format.map(|f| f.name().to_string()),
            prefix: opts.prefix.as_ref().map(|p| p.as_str().to_string()),
            host: cfg.fleet.host.clone(),
            max_entry: opts.max_entry,
            year: opts.year,
            days: None,
        }
    }

    fn describe(&self) -> String {
        format!(
            "--window {}, --max-fingerprints {}, --format {}, --prefix {}, --host {}, --max-entry {}, --year {}, --outdir days in {}",
            self.window_ms.map_or("auto".into(), |w| format!("{w}ms")),
            self.max_fingerprints.map_or("default".into(), |m| m.to_string()),
            self.format.as_deref().unwrap_or("auto"),
            self.prefix.as_deref().unwrap_or("auto"),
            self.host.as_deref().unwrap_or("none"),
            self.max_entry,
            self.year.map_or("auto".into(), |y| y.to_string()),
            self.days.as_deref().unwrap_or("none (no --outdir)"),
        )
    }
}

/// The commit point of the directory: what is read of which file, and where the
/// partial results are.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The pgferret version of the last run.
    pub pgferret: String,
    /// Runs committed so far.
    pub generation: u64,
    /// The options of the first run.
    pub options: Options,
    /// Every log read so far.
    pub streams: Vec<Stream>,
    /// Every file of theirs still there at the last run.
    pub files: Vec<Tracked>,
    /// Period key → the file of partial results of that period.
    pub periods: BTreeMap<String, String>,
}

/// One log: the files written one after the other at one path (and rotated away).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stream {
    /// Its number in this directory.
    pub id: u32,
    /// The path it is written to, where it was first found: its name in the report.
    pub name: String,
    /// How its first file was read (format, prefixes, host...; counters zero).
    pub input: InputResult,
    /// Its clock (first timestamp with a zone).
    pub clock: Option<LogClock>,
    /// Bytes its saved partial results hold.
    pub bytes: u64,
    /// Where the next file of the log starts in it: the end of its newest file as
    /// read ([`Tracked::base`] of a new file).
    pub end: u64,
    /// With `--outdir`: the day (`YYYY-MM-DD`) of its last dated entry kept, where
    /// the undated entries after it go.
    pub last_day: Option<String>,
}

/// One file of a log, and how far it was read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tracked {
    /// Its log ([`Stream::id`]).
    pub stream: u32,
    /// Where it was last found.
    pub path: String,
    /// Its device.
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
    /// Compressed.
    pub compressed: bool,
    /// How many first bytes are hashed (less than [`follow::HEAD`] for a file that
    /// was shorter).
    pub head_len: u32,
    /// xxh3 of those bytes (decompressed).
    pub head_hash: u64,
    /// Bytes read (decompressed), up to an entry boundary.
    pub offset: u64,
    /// Offset of the file's first byte in its log (the files before it).
    pub base: u64,
    /// Read to its end, never to grow (a compressed file).
    pub done: bool,
}

/// Period key → log → its part read so far, unfinished.
type Parts = BTreeMap<String, BTreeMap<u32, Partial>>;

/// How a run folds what it reads: [`Partial`] (one key, [`ALL`]) or, with
/// `--outdir`, [`DayPartials`] (one key per day).
pub(crate) trait Split: Fold + Clone {
    /// The fold context of a log whose clock is `clock`.
    fn ctx(cfg: &Config, clock: Option<&LogClock>) -> Self::Ctx;
}

impl Split for Partial {
    fn ctx(_: &Config, _: Option<&LogClock>) {}
}

impl Split for DayPartials {
    fn ctx(cfg: &Config, clock: Option<&LogClock>) -> pipeline::DayCtx {
        crate::periods::day_ctx(cfg, clock)
    }
}

/// What this run read of one log beyond what is saved.
struct Read_<F> {
    /// Kept: saved with the state.
    kept: Option<F>,
    kept_bytes: u64,
    /// The newest file's last entry, counted in this run's report only.
    tail: Option<F>,
    tail_bytes: u64,
}

/// The state directory opened, its manifest read; the periods' parts are read when
/// first needed.
struct Opened {
    dir: Dir,
    m: Manifest,
    parts: Parts,
}

impl Opened {
    fn open(state_dir: &str, options: Options) -> Result<Opened, AnalyzeError> {
        let dir = Dir::open(state_dir)?;
        let m = match dir.read_manifest::<Manifest>()? {
            Some(m) if m.options != options => {
                return Err(DirError::Options {
                    dir: dir.display(),
                    was: m.options.describe(),
                    now: options.describe(),
                }
                .into())
            }
            Some(m) => m,
            None => Manifest {
                pgferret: String::new(),
                generation: 0,
                options,
                streams: Vec::new(),
                files: Vec::new(),
                periods: BTreeMap::new(),
            },
        };
        dir.sweep(&m.periods.values().map(String::as_str).collect::<Vec<_>>());
        Ok(Opened {
            dir,
            m,
            parts: BTreeMap::new(),
        })
    }

    /// The logs' parts of period `key`, read from the directory the first time.
    fn logs(&mut self, key: &str) -> Result<&mut BTreeMap<u32, Partial>, AnalyzeError> {
        if !self.parts.contains_key(key) {
            let saved: Vec<(u32, Partial)> = match self.m.periods.get(key) {
                Some(file) => self.dir.read_part(file)?,
                None => Vec::new(),
            };
            self.parts
                .insert(key.to_string(), saved.into_iter().collect());
        }
        Ok(self.parts.entry(key.to_string()).or_default())
    }

    /// Appends `part` to log `id`'s part of period `key`.
    fn add(&mut self, key: &str, id: u32, part: Partial) -> Result<(), AnalyzeError> {
        let logs = self.logs(key)?;
        match logs.get_mut(&id) {
            Some(acc) => acc.append(part),
            None => {
                logs.insert(id, part);
            }
        }
        Ok(())
    }

    /// Reads what is new of every log, `store` putting each log's kept part under its
    /// keys (it returns them). Returns each log's tail and its bytes, and the keys
    /// changed; [`Opened::commit`] saves them.
    fn read_new<F: Split>(
        &mut self,
        cfg: &Config,
        opts: &PipelineOptions,
        mut store: impl FnMut(&mut Opened, u32, F) -> Result<Vec<String>, AnalyzeError>,
    ) -> Result<NewRead<F>, AnalyzeError> {
        let probes = probe_inputs(&cfg.inputs);
        let plans = follow::plan(&self.m.streams, &self.m.files, &probes);
        let mut files = Vec::new();
        let mut tails = BTreeMap::new();
        let mut changed = BTreeSet::new();
        for plan in plans {
            let Some((id, read)) =
                read_log::<F>(cfg, opts, &mut self.m, &probes, &plan, &mut files)
            else {
                continue;
            };
            if let Some(kept) = read.kept {
                changed.extend(store(self, id, kept)?);
            }
            if let Some(s) = self.m.streams.iter_mut().find(|s| s.id == id) {
                s.bytes += read.kept_bytes;
            }
            if let Some(t) = read.tail {
                tails.insert(id, (t, read.tail_bytes));
            }
        }
        Ok(NewRead {
            files,
            tails,
            changed,
        })
    }

    fn commit<F>(&mut self, read: &NewRead<F>) -> Result<(), AnalyzeError> {
        commit(
            &self.dir,
            &mut self.m,
            read.files.clone(),
            &self.parts,
            &read.changed,
        )
    }
}

/// What [`Opened::read_new`] read, to commit.
struct NewRead<F> {
    files: Vec<Tracked>,
    tails: BTreeMap<u32, (F, u64)>,
    changed: BTreeSet<String>,
}

/// Runs incrementally over `cfg`'s inputs with the state in `state_dir`: reads what is
/// new, commits the state, and returns every log read so far, as read, for the report.
pub fn run(
    cfg: &Config,
    opts: &PipelineOptions,
    state_dir: &str,
) -> Result<Vec<ReadInput>, AnalyzeError> {
    let mut o = Opened::open(state_dir, Options::of(cfg, opts))?;
    let read = o.read_new::<Partial>(cfg, opts, |o, id, kept| {
        let mut keys = Vec::new();
        for (key, part) in period_keys(kept) {
            o.add(&key, id, part)?;
            keys.push(key);
        }
        Ok(keys)
    })?;
    o.commit(&read)?;
    let keys: Vec<String> = o.m.periods.keys().cloned().collect();
    for k in &keys {
        o.logs(k)?;
    }
    Ok(report_inputs(&o.m, &o.parts, read.tails))
}

/// `--state DIR` with `--outdir`: as [`run`], the parts kept per calendar day (each
/// log's part of a day, unfinished, under the key `YYYY-MM-DD`). Hands `write` the
/// state of every day this run's bytes touched (the days of what it kept and of the
/// logs' tails), whole: every log's part of that day, finished, the tail included.
/// Only those days' parts are read from the directory. The state is committed after
/// `write` succeeds: a run killed (or failing) before leaves the directory as it was,
/// and the next run writes those days again.
pub fn run_days<T, E>(
    cfg: &Config,
    opts: &PipelineOptions,
    state_dir: &str,
    write: impl FnOnce(BTreeMap<NaiveDate, State>) -> Result<T, E>,
) -> Result<Result<T, E>, AnalyzeError> {
    let mut options = Options::of(cfg, opts);
    options.days = Some(
        cfg.tz
            .map_or("each log's own zone".into(), |t| t.to_string()),
    );
    let mut o = Opened::open(state_dir, options)?;
    let mut read = o.read_new::<DayPartials>(cfg, opts, store_days)?;
    if o.m.streams.is_empty() {
        return Err(AnalyzeError::NothingParsed(Vec::new()));
    }
    let tails = std::mem::take(&mut read.tails);
    let days = day_states(cfg, &mut o, tails, &read.changed)?;
    let written = write(days);
    if written.is_ok() {
        o.commit(&read)?;
    }
    Ok(written)
}

fn day_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Stores log `id`'s kept part by day, as [`DayPartials::append`] appends it to what
/// came before: its undated head to the day of the log's last dated entry.
fn store_days(o: &mut Opened, id: u32, kept: DayPartials) -> Result<Vec<String>, AnalyzeError> {
    let last =
        o.m.streams
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.last_day.clone());
    let mut keys = Vec::new();
    if let Some(h) = kept.head {
        let key = last.clone().unwrap_or_else(|| UNDATED.to_string());
        o.add(&key, id, h)?;
        keys.push(key);
    }
    let first = kept.days.keys().next().copied();
    for (d, p) in kept.days {
        let key = day_key(d);
        o.add(&key, id, p)?;
        keys.push(key);
    }
    if let (None, Some(first)) = (&last, first) {
        // What came before the log's first dated entry goes on its first day.
        if let Some(mut u) = o.logs(UNDATED)?.remove(&id) {
            let key = day_key(first);
            let logs = o.logs(&key)?;
            if let Some(p) = logs.remove(&id) {
                u.append(p);
            }
            logs.insert(id, u);
            keys.push(UNDATED.to_string());
        }
    }
    if let Some(d) = kept.last {
        if let Some(s) = o.m.streams.iter_mut().find(|s| s.id == id) {
            s.last_day = Some(day_key(d));
        }
    }
    Ok(keys)
}

/// The state of each day touched: the changed keys and the days of the tails.
fn day_states(
    cfg: &Config,
    o: &mut Opened,
    mut tails: BTreeMap<u32, (DayPartials, u64)>,
    changed: &BTreeSet<String>,
) -> Result<BTreeMap<NaiveDate, State>, AnalyzeError> {
    let mut streams = o.m.streams.clone();
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    // Each log's parts that differ from the saved ones: its tail added (on a copy).
    let mut extra: BTreeMap<u32, BTreeMap<NaiveDate, Partial>> = BTreeMap::new();
    let mut touched: BTreeSet<NaiveDate> = changed
        .iter()
        .filter_map(|k| NaiveDate::parse_from_str(k, "%Y-%m-%d").ok())
        .collect();
    for s in &streams {
        let tail = tails.remove(&s.id);
        let last = s
            .last_day
            .as_deref()
            .and_then(|k| NaiveDate::parse_from_str(k, "%Y-%m-%d").ok());
        let mut mine = BTreeMap::new();
        match last {
            // Nothing dated kept yet: the undated part and the tail, as one run
            // finishes an input (on its first day, or today when none is dated).
            None => {
                let mut dp = DayPartials {
                    head: o.logs(UNDATED)?.get(&s.id).cloned(),
                    ..DayPartials::default()
                };
                if let Some((t, _)) = &tail {
                    dp.append(t.clone());
                }
                let today = crate::periods::day_ctx(cfg, s.clock.as_ref()).today;
                if dp.head.is_some() || !dp.days.is_empty() {
                    mine = dp.finish(today);
                }
            }
            Some(last) => {
                if let Some((t, _)) = &tail {
                    let t = t.clone();
                    let mut add = |d: NaiveDate, p: Partial| match mine.get_mut(&d) {
                        Some(a) => Partial::append(a, p),
                        None => {
                            mine.insert(d, p);
                        }
                    };
                    if let Some(h) = t.head {
                        add(last, h);
                    }
                    for (d, p) in t.days {
                        add(d, p);
                    }
                    for (d, p) in std::mem::take(&mut mine) {
                        let mut saved = match o.logs(&day_key(d))?.get(&s.id) {
                            Some(saved) => saved.clone(),
                            None => {
                                mine.insert(d, p);
                                continue;
                            }
                        };
                        saved.append(p);
                        mine.insert(d, saved);
                    }
                }
            }
        }
        touched.extend(mine.keys().copied());
        extra.insert(s.id, mine);
        if let Some((_, bytes)) = tail {
            tails.insert(s.id, (DayPartials::default(), bytes));
        }
    }
    let mut out = BTreeMap::new();
    for d in touched {
        let mut state = crate::periods::empty_state(cfg);
        let key = day_key(d);
        for s in &streams {
            let part = match extra.get_mut(&s.id).and_then(|e| e.remove(&d)) {
                Some(p) => p,
                None => match o.logs(&key)?.get(&s.id) {
                    Some(p) => p.clone(),
                    None => continue,
                },
            };
            let (counters, stats) = part.finish();
            let mut result = s.input.clone();
            result.bytes = s.bytes + tails.get(&s.id).map_or(0, |t| t.1);
            result.stats = counters;
            state.inputs.push(ReadInput {
                result,
                stats: Some(stats),
                clock: s.clock.clone(),
            });
        }
        out.insert(d, state);
    }
    Ok(out)
}

/// Writes the periods that changed under new names, then the manifest naming them
/// (the commit), then removes the files it no longer names. A period left with no
/// part (the undated parts once dated) is dropped.
fn commit(
    dir: &Dir,
    m: &mut Manifest,
    files: Vec<Tracked>,
    parts: &Parts,
    changed: &BTreeSet<String>,
) -> Result<(), AnalyzeError> {
    m.generation += 1;
    m.pgferret = env!("CARGO_PKG_VERSION").to_string();
    m.files = files;
    for key in changed {
        let logs: Vec<(u32, &Partial)> = parts[key].iter().map(|(id, p)| (*id, p)).collect();
        if logs.is_empty() {
            m.periods.remove(key);
            continue;
        }
        let name = dir::part_name(m.generation, key);
        dir.write_part(&name, &logs)?;
        m.periods.insert(key.clone(), name);
    }
    dir.commit(&*m)?;
    dir.sweep(&m.periods.values().map(String::as_str).collect::<Vec<_>>());
    Ok(())
}

/// Every log, by name, with its saved parts (in key order) and this run's tail
/// appended, finished as one run finishes an input.
fn report_inputs(
    m: &Manifest,
    parts: &Parts,
    mut tails: BTreeMap<u32, (Partial, u64)>,
) -> Vec<ReadInput> {
    let mut streams: Vec<&Stream> = m.streams.iter().collect();
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for s in streams {
        let mut acc: Option<Partial> = None;
        let tail = tails.remove(&s.id);
        let saved = parts.values().filter_map(|logs| logs.get(&s.id).cloned());
        for p in saved.chain(tail.as_ref().map(|t| t.0.clone())) {
            match &mut acc {
                Some(a) => a.append(p),
                None => acc = Some(p),
            }
        }
        let Some(acc) = acc else { continue };
        let (counters, stats) = acc.finish();
        let mut result = s.input.clone();
        result.bytes = s.bytes + tail.map_or(0, |t| t.1);
        result.stats = counters;
        out.push(ReadInput {
            result,
            stats: Some(stats),
            clock: s.clock.clone(),
        });
    }
    out
}

/// Every input file, directories expanded, each file once; those that cannot be
/// looked at are said on stderr and left for the next run.
fn probe_inputs(sources: &[Source]) -> Vec<Probe> {
    let mut probes: Vec<Probe> = Vec::new();
    for e in input::expand_dirs(sources) {
        let input::Expanded::Input(Source::Path(p)) = e else {
            continue;
        };
        match follow::probe(&p) {
            Ok(probe) if probes.iter().any(|q| q.id == probe.id) => {}
            Ok(probe) => probes.push(probe),
            Err(e) => eprintln!("pgferret: warning: {}: {e}", p.display()),
        }
    }
    probes
}

/// Reads the new part of one log (its steps in order); updates its stream (a new one
/// is added to `m`) and pushes its files, as read, to `files`. `None` when the log is
/// not read (a new file that is not a log).
fn read_log<F: Split>(
    cfg: &Config,
    opts: &PipelineOptions,
    m: &mut Manifest,
    probes: &[Probe],
    plan: &LogPlan,
    files: &mut Vec<Tracked>,
) -> Option<(u32, Read_<F>)> {
    let mut read = Read_ {
        kept: None,
        kept_bytes: 0,
        tail: None,
        tail_bytes: 0,
    };
    let (id, mut end) = match plan
        .stream
        .and_then(|id| m.streams.iter().find(|s| s.id == id))
    {
        Some(s) => (s.id, s.end),
        None => (m.streams.iter().map(|s| s.id + 1).max().unwrap_or(0), 0),
    };
    if plan.lost_tail {
        if let Some(s) = m.streams.iter_mut().find(|s| s.id == id) {
            eprintln!(
                "pgferret: warning: {}: the file read last time is gone: what was written to it after the last run (its last entry at least) is not counted",
                s.name
            );
            // Kept with the log for good: every later report of it lacks these bytes
            // too, so each says it stands for part of the log (exit 3).
            if matches!(s.input.verdict, Verdict::Read) {
                s.input.verdict = Verdict::Partial {
                    why: "its file was gone (rotated away or deleted) before a run read \
                          its end, so what was written to it after the run before (its \
                          last entry at least) is not counted"
                        .to_string(),
                };
            }
        }
    }
    let mut parser: Option<LogParser> = None;
    let mut mine = Vec::new();
    for (n, step) in plan.steps.iter().enumerate() {
        let probe = &probes[step.probe];
        let tracked = step.tracked.map(|t| m.files[t].clone());
        let base = tracked.as_ref().map_or(end, |t| t.base);
        let last = n + 1 == plan.steps.len();
        let done = tracked.as_ref().is_some_and(|t| t.done);
        let mut offset = step.from;
        let mut complete = done;
        if !done {
            let Some(got) = read_file(cfg, opts, m, id, probe, base, step.from, !last, &mut parser)
            else {
                // Not read (not a log, or a parser that cannot be built again): what
                // is saved of it stays as it was.
                files.extend(m.files.iter().filter(|f| f.stream == id).cloned());
                return None;
            };
            offset = got.offset;
            complete = got.complete;
            read.kept_bytes += got.offset - step.from;
            append(&mut read.kept, got.kept);
            if let Some((t, bytes)) = got.tail {
                read.tail = Some(t);
                read.tail_bytes = bytes;
            }
        }
        end = end.max(base + offset);
        if probe.head.is_empty() {
            // Nothing known of an empty file's content: not remembered; the next run
            // finds it (or its copy, after a copytruncate) as a new file of the log.
            continue;
        }
        mine.push(Tracked {
            stream: id,
            path: probe.name.clone(),
            dev: probe.id.0,
            ino: probe.id.1,
            compressed: probe.compressed,
            head_len: probe.head.len() as u32,
            head_hash: follow::head_hash(&probe.head),
            offset,
            base,
            done: complete,
        });
    }
    let s = m.streams.iter_mut().find(|s| s.id == id)?;
    s.end = end;
    if let (None, Some(newest)) = (plan.stream, plan.steps.last()) {
        // A new log read from its rotated copies on is named by its newest file.
        let newest = &probes[newest.probe];
        s.name = newest.name.clone();
        s.input.name = newest.name.clone();
        if !newest.compressed {
            s.input.compression = None;
        }
    }
    files.extend(mine);
    Some((id, read))
}

fn append<F: Fold>(acc: &mut Option<F>, next: Option<F>) {
    match (acc.as_mut(), next) {
        (Some(a), Some(n)) => a.append(n),
        (None, n) => *acc = n,
        (Some(_), None) => {}
    }
}

/// What was read of one file.
struct FileRead<F> {
    kept: Option<F>,
    /// The offset reached (an entry boundary).
    offset: u64,
    /// The last entry, held back, and its bytes.
    tail: Option<(F, u64)>,
    /// Read to its end for good (a compressed file).
    complete: bool,
}

/// The bytes of a plain file: mapped, or read when it cannot be.
enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

/// Reads `probe` from `from` (at `base` in its log): to its end when `last_file` is
/// false or it is compressed, else up to its last entry, which is parsed apart as the
/// tail. The first file of a new log chooses its parser and adds its stream to `m`.
#[allow(clippy::too_many_arguments)]
fn read_file<F: Split>(
    cfg: &Config,
    opts: &PipelineOptions,
    m: &mut Manifest,
    id: u32,
    probe: &Probe,
    base: u64,
    from: u64,
    more_after: bool,
    parser: &mut Option<LogParser>,
) -> Option<FileRead<F>> {
    let source = Source::Path(probe.path.clone());
    let (compression, data) = match input::open(&source) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pgferret: warning: {e}");
            return Some(unchanged(from));
        }
    };
    match data {
        Data::Stream(mut r, _) if probe.compressed => {
            // Skip what was read before, in the decompressed stream.
            let skipped = std::io::copy(&mut r.by_ref().take(from), &mut std::io::sink());
            if skipped.as_ref().map_or(true, |&n| n < from) {
                eprintln!(
                    "pgferret: warning: {}: shorter than the {from} bytes read before, or unreadable: not read",
                    probe.name
                );
                return Some(unchanged(from));
            }
            let mut blocks = BlockReader::new(r, probe.name.clone(), opts.chunk_size)
                .with_max_entry(opts.max_entry);
            let head = blocks.peek(pipeline::SNIFF_BYTES).to_vec();
            let p = parser_of(cfg, opts, m, id, probe, &head, compression, parser)?;
            let ctx = F::ctx(cfg, clock_of(m, id));
            let (partial, bytes): (F, u64) =
                pipeline::parse_stream(0, &mut blocks, base + from, p, opts, ctx);
            if let Some(e) = blocks.error() {
                // Cut short (still being compressed?) or corrupt: its last entry may
                // be cut, so none of it counts; the next run reads it again.
                eprintln!("pgferret: warning: {e}: not counted, read again next run");
                return Some(unchanged(from));
            }
            Some(FileRead {
                kept: Some(partial),
                offset: from + bytes,
                tail: None,
                complete: true,
            })
        }
        Data::Stream(mut r, _) => {
            let mut v = Vec::new();
            if let Err(e) = r.read_to_end(&mut v) {
                eprintln!("pgferret: warning: {}: {e}", probe.name);
                return Some(unchanged(from));
            }
            read_plain(
                cfg,
                opts,
                m,
                id,
                probe,
                &Bytes::Read(v),
                base,
                from,
                more_after,
                parser,
            )
        }
        Data::Mapped(map) => {
            let bytes = Bytes::Mapped(map);
            read_plain(
                cfg, opts, m, id, probe, &bytes, base, from, more_after, parser,
            )
        }
    }
}

fn unchanged<F>(from: u64) -> FileRead<F> {
    FileRead {
        kept: None,
        offset: from,
        tail: None,
        complete: false,
    }
}

/// [`read_file`] of an uncompressed file.
#[allow(clippy::too_many_arguments)]
fn read_plain<F: Split>(
    cfg: &Config,
    opts: &PipelineOptions,
    m: &mut Manifest,
    id: u32,
    probe: &Probe,
    bytes: &Bytes,
    base: u64,
    from: u64,
    more_after: bool,
    parser: &mut Option<LogParser>,
) -> Option<FileRead<F>> {
    let data: &[u8] = bytes;
    let Some(rest) = usize::try_from(from).ok().and_then(|f| data.get(f..)) else {
        // Truncated since it was looked at: the next run sees it as such.
        return Some(unchanged(from));
    };
    let head = pipeline::sample(data);
    let p = parser_of(
        cfg,
        opts,
        m,
        id,
        probe,
        &head,
        input::Compression::None,
        parser,
    )?;
    let keep = if more_after {
        rest.len()
    } else {
        p.last_boundary(rest).unwrap_or(0)
    };
    let start = base + from;
    // A mapped file's pages are given back once parsed, as in a run (the RSS stays
    // that of the chunks in flight, not of the bytes read).
    let release = |at: usize| {
        move |r: std::ops::Range<usize>| {
            if let Bytes::Mapped(map) = bytes {
                let at = from as usize + at;
                input::release(map, r.start + at..r.end + at);
            }
        }
    };
    let ctx = F::ctx(cfg, clock_of(m, id));
    let kept: F = pipeline::parse_slice(0, &rest[..keep], start, p, opts, ctx, true, release(0));
    let tail = (keep < rest.len()).then(|| {
        let t = &rest[keep..];
        let t: F =
            pipeline::parse_slice(0, t, start + keep as u64, p, opts, ctx, true, release(keep));
        (t, (rest.len() - keep) as u64)
    });
    Some(FileRead {
        kept: Some(kept),
        offset: from + keep as u64,
        tail,
        complete: false,
    })
}

/// The clock of log `id`.
fn clock_of(m: &Manifest, id: u32) -> Option<&LogClock> {
    m.streams
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.clock.as_ref())
}

/// The parser of log `id`: the one its first file was read with, built again; for a
/// new log, chosen from `head` as one run chooses it, and the log added to `m`.
/// `None` when a new file is not a log (said on stderr; it is looked at again next run).
#[allow(clippy::too_many_arguments)]
fn parser_of<'p>(
    cfg: &Config,
    opts: &PipelineOptions,
    m: &mut Manifest,
    id: u32,
    probe: &Probe,
    head: &[u8],
    compression: input::Compression,
    parser: &'p mut Option<LogParser>,
) -> Option<&'p LogParser> {
    if parser.is_none() {
        *parser = match m.streams.iter().find(|s| s.id == id) {
            Some(s) => Some(rebuild(&s.input, head, probe, opts)?),
            None => Some(new_stream(cfg, opts, m, id, probe, head, compression)?),
        };
    }
    parser.as_ref()
}

fn rebuild(
    input: &InputResult,
    head: &[u8],
    probe: &Probe,
    opts: &PipelineOptions,
) -> Option<LogParser> {
    let format = LogFormat::from_name(input.format)?;
    let prefixes: Vec<String> = input
        .prefix
        .iter()
        .chain(&input.prefixes_more)
        .cloned()
        .collect();
    let mtime = pipeline::modified(&Source::Path(probe.path.clone()));
    let p = pipeline::parser_for(format, &prefixes, head, mtime, opts);
    if p.is_none() {
        eprintln!(
            "pgferret: warning: {}: its parser cannot be built again (a state of another version?): not read",
            probe.name
        );
    }
    p
}

fn new_stream(
    cfg: &Config,
    opts: &PipelineOptions,
    m: &mut Manifest,
    id: u32,
    probe: &Probe,
    head: &[u8],
    compression: input::Compression,
) -> Option<LogParser> {
    let not_read = |why: String| {
        eprintln!("pgferret: warning: {}: {why}: not read", probe.name);
        None
    };
    let percent = input::binary_percent(head);
    if opts.format.is_none() && percent > pipeline::BINARY_PERCENT {
        return not_read(Verdict::Binary { percent }.sentence(&Default::default()));
    }
    let mtime = pipeline::modified(&Source::Path(probe.path.clone()));
    let (parser, inferred, warnings) = match pipeline::choose_parser(&probe.name, head, mtime, opts)
    {
        Ok(p) => p,
        Err(e) => return not_read(e.to_string()),
    };
    let syslog = matches!(parser.format(), LogFormat::Syslog);
    let chosen = Parsed {
        parser,
        inferred,
        warnings,
    };
    let mut input = chosen.describe(
        probe.name.clone(),
        compression.name(),
        0,
        Default::default(),
        Verdict::Read,
    );
    if syslog {
        input.host = crate::parse::syslog::first_host(head);
    }
    if let Some(h) = &cfg.fleet.host {
        input.host = Some(h.clone());
    }
    m.streams.push(Stream {
        id,
        name: probe.name.clone(),
        input,
        clock: detect_clock(&head[..head.len().min(pipeline::SNIFF_BYTES)]),
        bytes: 0,
        end: 0,
        last_day: None,
    });
    Some(chosen.parser)
}
