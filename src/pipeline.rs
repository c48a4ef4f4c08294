//! Running the stages over every input: open (mmap, or a decompressed stream), detect
//! the format and prefix, cut into chunks at entry boundaries, parse and aggregate the
//! chunks in parallel, merge in order. Inputs are processed in parallel too.

use crate::aggregate::days::{DayPartials, DaySplit};
use crate::aggregate::hosts::HostTotals;
use crate::aggregate::interned::Name;
use crate::aggregate::session::{Live, SessionScan};
use crate::aggregate::{AggOptions, ChunkAgg, CutEntries, InputStats, Partial, Stats};
use crate::input::{
    self, Block, BlockReader, Boundaries, Compression, Data, Expanded, InputError, Piece, Skip,
    Source,
};
use crate::parse::cloudsql::{self, CloudSqlParser};
use crate::parse::cnpg::CnpgParser;
use crate::parse::csvlog::CsvParser;
use crate::parse::format::{LogFormat, LogParser};
use crate::parse::heroku::HEROKU_PREFIX;
use crate::parse::infer::infer;
use crate::parse::jsonlog::JsonParser;
use crate::parse::pgbouncer::PgbouncerParser;
use crate::parse::stderr::StderrParser;
use crate::parse::syslog::SyslogParser;
use crate::parse::syslog::{Dialect, Years};
use crate::parse::Millis;
use crate::parse::Prefix;
use crate::range::{detect_clock, Range, RangeError, Resolved};
use crate::verdict::Verdict;
use rayon::prelude::*;
use std::borrow::Cow;

/// Chunks merged between two applications of `--max-fingerprints`: a fixed number
/// rather than one per thread, so the table is capped at the same places of the input
/// whatever the number of threads, and folds the same fingerprints.
const GROUP_CHUNKS: usize = 16;

/// Over this share (percent) of bytes that are not text, an input is binary data.
pub(crate) const BINARY_PERCENT: u32 = 10;

/// How many bytes are sampled to detect the format and infer a prefix.
pub(crate) const SNIFF_BYTES: usize = 256 * 1024;

/// Why analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// No known prefix fits the file.
    #[error("{path}:{line}: cannot recognise the log_line_prefix of this line; pass --prefix '<log_line_prefix>' (first unmatched line: {text:?})")]
    UnknownPrefix {
        /// The file.
        path: String,
        /// The first line no prefix matched.
        line: u64,
        /// Its text.
        text: String,
    },
    /// No input held a log entry: each input's path and verdict.
    #[error("{}", nothing_parsed(.0))]
    NothingParsed(Vec<(String, String)>),
    /// `--begin`/`--end` cannot be placed on the log's clock (a bad argument).
    #[error(transparent)]
    Range(#[from] RangeError),
    /// A saved state that cannot be written or read (`--save`, `pgferret merge`).
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The `--state` directory cannot be used (in use, other options, unreadable).
    #[error(transparent)]
    StateDir(#[from] crate::incremental::dir::DirError),
    /// `--only-host` names no host of the inputs (a bad argument).
    #[error("--only-host {host}: no input is from that host (hosts: {known})")]
    NoSuchHost {
        /// The host asked for.
        host: String,
        /// The hosts of the inputs.
        known: String,
    },
}

fn nothing_parsed(verdicts: &[(String, String)]) -> String {
    let mut s: String = verdicts
        .iter()
        .map(|(path, v)| format!("{path}: {v}\npgferret: "))
        .collect();
    let names: Vec<&str> = verdicts.iter().map(|(p, _)| p.as_str()).collect();
    s.push_str(&format!(
        "no PostgreSQL log entry found in {}: nothing could be read, no report written",
        names.join(", ")
    ));
    s
}

/// What the pipeline needs to run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Prefix given by the user (else inferred per input).
    pub prefix: Option<Prefix>,
    /// Format given by the user (else detected per input).
    pub format: Option<LogFormat>,
    /// Aggregation options (`begin`/`end` are set from `range`).
    pub agg: AggOptions,
    /// `--begin`/`--end` as given, placed on the log's clock once it is known.
    pub range: Range,
    /// Chunk size in bytes.
    pub chunk_size: usize,
    /// `--max-entry`: the longest entry read whole, in bytes; the rest of a longer one
    /// is passed over.
    pub max_entry: usize,
    /// Threads.
    pub jobs: usize,
    /// `--year`: the year of a traditional syslog log's first line.
    pub year: Option<i64>,
    /// The progress bar on a terminal, told of the bytes read.
    pub progress: Option<crate::progress::Progress>,
}

impl Default for PipelineOptions {
    /// Format and prefix detected, no range, chunks of [`input::CHUNK_SIZE`], one thread.
    fn default() -> Self {
        PipelineOptions {
            prefix: None,
            format: None,
            agg: AggOptions::default(),
            range: Range::default(),
            chunk_size: input::CHUNK_SIZE,
            progress: None,
            max_entry: input::MAX_ENTRY,
            jobs: 1,
            year: None,
        }
    }
}

/// One analysed input.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputResult {
    /// Path, or `-`.
    pub name: String,
    /// The host it came from: `--host`, else the syslog header's hostname; `None`
    /// when neither tells ([`InputResult::host_label`] then names it by its file).
    pub host: Option<String>,
    /// Log format.
    #[serde(with = "crate::aggregate::interned")]
    pub format: Name,
    /// Compression, if any.
    #[serde(with = "crate::aggregate::interned::option")]
    pub compression: Option<Name>,
    /// The log_line_prefix used (stderr).
    pub prefix: Option<String>,
    /// True when the prefix was inferred.
    pub prefix_inferred: bool,
    /// Further prefixes inferred for lines the first does not explain (a prefix
    /// changed on a reload, values of two shapes).
    pub prefixes_more: Vec<String>,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Counters.
    pub stats: InputStats,
    /// Read, read in part, passed over or unreadable.
    pub verdict: Verdict,
    /// What else the reader could not tell about this input, one sentence each (a
    /// prefix field that could not be identified...); shown at the top of the report.
    pub warnings: Vec<String>,
}

impl InputResult {
    /// The host this input stands for: its host, else its file's name without the
    /// directory and the usual extensions (`/var/log/db1.log.gz` → `db1`).
    pub fn host_label(&self) -> String {
        if let Some(h) = &self.host {
            return h.clone();
        }
        let base = std::path::Path::new(&self.name)
            .file_name()
            .map_or_else(|| self.name.clone(), |f| f.to_string_lossy().into_owned());
        let mut stem = base.as_str();
        for ext in [
            ".gz", ".bz2", ".xz", ".zst", ".lz4", ".log", ".csv", ".json", ".pgf",
        ] {
            stem = stem.strip_suffix(ext).unwrap_or(stem);
        }
        if stem.is_empty() {
            base
        } else {
            stem.to_string()
        }
    }
}

/// What [`run`] found: each input, the merged statistics, and the range as placed.
#[derive(Debug)]
pub struct Analysis {
    /// Every input, in order, whatever became of it.
    pub inputs: Vec<InputResult>,
    /// Merged statistics of what could be read.
    pub stats: Stats,
    /// `--begin`/`--end` on the log's clock, when given.
    pub range: Option<Resolved>,
    /// The filters as applied (time-of-day spans placed in the log's zone).
    pub filters: Option<std::sync::Arc<crate::filter::Filters>>,
    /// The log's clock: its first timestamp with a zone (of the earliest input).
    pub clock: Option<crate::range::LogClock>,
    /// Totals per host, when there is more than one ([`hosts_shown`]).
    pub hosts: Vec<(String, HostTotals)>,
}

/// An input opened. A stream's first bytes are read (and kept) only when needed, so
/// many compressed files do not each hold a sample at once.
struct Opened {
    source: Source,
    compression: Compression,
    body: Body,
}

enum Body {
    Mapped(memmap2::Mmap),
    Stream(BlockReader),
}

impl Opened {
    /// The first bytes, for detection.
    fn head(&mut self) -> &[u8] {
        match &mut self.body {
            Body::Mapped(m) => &m[..m.len().min(SNIFF_BYTES)],
            Body::Stream(blocks) => blocks.peek(SNIFF_BYTES),
        }
    }
}

/// One input as read, before it is merged with the others: what `--save` writes and
/// `pgferret merge` reads back. It holds everything the report is built from, and no
/// decision about the whole run: those (the fingerprint cap across inputs, the log's
/// clock, then the window width and the findings) are taken after [`combine`], the
/// same way for a run and for a merge.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReadInput {
    /// Verdict, counters, host...
    pub result: InputResult,
    /// Its statistics, when something was read.
    pub stats: Option<Stats>,
    /// Its clock: its first timestamp with a zone.
    pub clock: Option<crate::range::LogClock>,
}

/// Every input as read ([`read`]), with the range and filters as placed.
#[derive(Debug)]
pub struct Reading {
    /// Every input, in order, whatever became of it.
    pub inputs: Vec<ReadInput>,
    /// `--begin`/`--end` on the log's clock, when given.
    pub range: Option<Resolved>,
    /// The filters as applied.
    pub filters: Option<std::sync::Arc<crate::filter::Filters>>,
}

/// Inputs merged ([`combine`]).
#[derive(Debug)]
pub struct Combined {
    /// Every input's result, in order.
    pub inputs: Vec<InputResult>,
    /// Their statistics merged, capped after each input.
    pub stats: Stats,
    /// The log's clock: the earliest of the inputs'.
    pub clock: Option<crate::range::LogClock>,
    /// Totals per host, by host (empty unless [`hosts_shown`] says they are worth a table).
    pub hosts: Vec<(String, HostTotals)>,
}

/// Analyses every input: per-input verdicts and counters, and the merged statistics
/// of what could be read. An input that cannot be read is a verdict, not an error;
/// the run fails only when nothing at all could be read.
pub fn run(sources: &[Source], opts: &PipelineOptions) -> Result<Analysis, AnalyzeError> {
    let r = read(sources, opts, None)?;
    let c = combine(r.inputs, &opts.agg)?;
    Ok(Analysis {
        inputs: c.inputs,
        stats: c.stats,
        range: r.range,
        filters: r.filters,
        clock: c.clock,
        hosts: c.hosts,
    })
}

/// Merges inputs read by [`read`] (in this run, or saved by others) in their order,
/// capping the fingerprints after each as a single run does; fails when none held a
/// log entry.
pub fn combine(inputs: Vec<ReadInput>, agg: &AggOptions) -> Result<Combined, AnalyzeError> {
    let clock = inputs
        .iter()
        .filter_map(|i| i.clock.as_ref())
        .min_by_key(|c| c.first_ms)
        .cloned();
    let shown = hosts_shown(inputs.iter().map(|i| &i.result));
    let mut hosts: std::collections::BTreeMap<String, HostTotals> = Default::default();
    let mut stats = Stats::new(agg);
    let mut results = Vec::with_capacity(inputs.len());
    for (
        file,
        ReadInput {
            result, stats: s, ..
        },
    ) in inputs.into_iter().enumerate()
    {
        if let Some(mut s) = s {
            if shown {
                hosts
                    .entry(result.host_label())
                    .or_default()
                    .add(&s, &result);
            }
            // Samples are ordered by (input, offset): an input read elsewhere (a
            // saved state) takes its place among these.
            s.set_file(file as u32);
            stats.merge(s);
            stats.queries.cap(agg.max_fingerprints());
        }
        results.push(result);
    }
    if results.iter().all(|r| r.stats.entries == 0) {
        let verdicts = results
            .iter()
            .map(|r| (r.name.clone(), r.verdict.sentence(&r.stats)))
            .collect();
        return Err(AnalyzeError::NothingParsed(verdicts));
    }
    Ok(Combined {
        inputs: results,
        stats,
        clock,
        hosts: hosts.into_iter().collect(),
    })
}

/// True when the inputs name more than one host and at least one by `--host` or its
/// syslog header: a run over many files of one server shows no hosts table.
pub fn hosts_shown<'a>(inputs: impl Iterator<Item = &'a InputResult> + Clone) -> bool {
    let named = inputs.clone().any(|i| i.host.is_some());
    let mut labels: Vec<String> = inputs.map(InputResult::host_label).collect();
    labels.sort();
    labels.dedup();
    named && labels.len() > 1
}

/// Keeps the inputs of host `host` (by [`InputResult::host_label`]).
pub fn only_host(inputs: Vec<ReadInput>, host: &str) -> Result<Vec<ReadInput>, AnalyzeError> {
    let mut known: Vec<String> = inputs.iter().map(|i| i.result.host_label()).collect();
    let kept: Vec<ReadInput> = inputs
        .into_iter()
        .filter(|i| i.result.host_label() == host)
        .collect();
    if kept.is_empty() {
        known.sort();
        known.dedup();
        return Err(AnalyzeError::NoSuchHost {
            host: host.to_string(),
            known: known.join(", "),
        });
    }
    Ok(kept)
}

/// Reads every input (in parallel, each in chunks), each to its own statistics;
/// `host` (`--host`) names the host of all of them.
pub fn read(
    sources: &[Source],
    opts: &PipelineOptions,
    host: Option<&str>,
) -> Result<Reading, AnalyzeError> {
    let (inputs, range, filters, ()) = read_with::<Partial>(sources, opts, host, |_| ())?;
    let inputs = inputs
        .into_iter()
        .map(|(result, stats, clock)| ReadInput {
            result,
            stats,
            clock,
        })
        .collect();
    Ok(Reading {
        inputs,
        range,
        filters,
    })
}

/// Each input's result, what it folded into, its clock; the range and filters as
/// placed; the context the inputs were folded in.
pub(crate) type ReadWith<F> = (
    Vec<(
        InputResult,
        Option<<F as Fold>::Done>,
        Option<crate::range::LogClock>,
    )>,
    Option<Resolved>,
    Option<std::sync::Arc<crate::filter::Filters>>,
    <F as Fold>::Ctx,
);

/// [`read`], each input folded into `F` in the context `ctx` makes of the log's clock.
pub(crate) fn read_with<F: Fold>(
    sources: &[Source],
    opts: &PipelineOptions,
    host: Option<&str>,
    ctx: impl FnOnce(Option<&crate::range::LogClock>) -> F::Ctx,
) -> Result<ReadWith<F>, AnalyzeError> {
    let mut seen = std::collections::HashMap::new();
    let mut slots: Vec<Result<Opened, Box<InputResult>>> = input::expand_dirs(sources)
        .into_iter()
        .map(|e| slot(e, opts, &mut seen))
        .collect();
    // The log's zone places --begin/--end and times of day, and is the report's zone
    // unless --tz says otherwise.
    let clocks: Vec<_> = slots
        .iter_mut()
        .map(|s| s.as_mut().ok().and_then(|o| detect_clock(o.head())))
        .collect();
    let clock = clocks.iter().flatten().min_by_key(|c| c.first_ms).cloned();
    let (opts, range) = place(opts, clock.as_ref())?;
    let ctx = ctx(clock.as_ref());
    let inputs: Vec<_> = slots
        .into_par_iter()
        .zip(clocks)
        .enumerate()
        .map(|(idx, (slot, clock))| {
            let (mut result, stats) = match slot {
                Err(res) => (*res, None),
                Ok(o) => run_one::<F>(idx as u32, o, &opts, ctx),
            };
            if let Some(h) = host {
                result.host = Some(h.to_string());
            }
            (result, stats, clock)
        })
        .collect();
    Ok((inputs, range, opts.agg.filters.clone(), ctx))
}

/// An input opened, or the verdict of one that cannot be; the same file twice (by
/// path, link or directory) is read once (`seen`: the files opened so far).
fn slot(
    e: Expanded,
    opts: &PipelineOptions,
    seen: &mut std::collections::HashMap<input::FileId, String>,
) -> Result<Opened, Box<InputResult>> {
    if let Expanded::Input(s) = &e {
        if let Some(id) = s.file_id() {
            if let Some(first) = seen.get(&id) {
                let of = String::clone(first);
                let mut res = verdict_only(s, Verdict::Duplicate { of });
                res.warnings.push(res.verdict.sentence(&res.stats));
                return Err(Box::new(res));
            }
            seen.insert(id, s.name());
        }
    }
    match e {
        Expanded::Empty(s) => Err(Box::new(verdict_only(&s, Verdict::EmptyDir))),
        Expanded::Unlistable(s, e) => Err(Box::new(verdict_only(&s, Verdict::unreadable(&e)))),
        // Whether given or found in a directory, a file that is not a log is passed
        // over with a verdict; it never aborts the others.
        Expanded::Input(s) => {
            open(&s, opts).map_err(|e| Box::new(verdict_only(&s, Verdict::unreadable(&e))))
        }
    }
}

/// The options with `--begin`/`--end` and the filters' times of day placed on the
/// log's clock, and the range as placed.
fn place(
    opts: &PipelineOptions,
    clock: Option<&crate::range::LogClock>,
) -> Result<(PipelineOptions, Option<Resolved>), AnalyzeError> {
    let range = if opts.range.is_empty() {
        None
    } else {
        Some(opts.range.resolve(clock)?)
    };
    let mut opts = opts.clone();
    let timed_filters = opts.agg.filters.as_ref().is_some_and(|f| f.on_time());
    if let Some(f) = opts.agg.filters.as_mut().filter(|_| timed_filters) {
        let (zone, name, origin) = crate::range::log_zone(opts.range.log_tz, clock);
        let f = std::sync::Arc::make_mut(f);
        f.log_zone = zone;
        f.zone_note = format!("times of day in {name} ({origin}) unless they carry a zone");
    }
    opts.agg.begin = range.as_ref().and_then(|r| r.begin);
    opts.agg.end = range.as_ref().and_then(|r| r.end);
    Ok((opts, range))
}

/// Inputs read one after the other, each whole before the next is opened: streams
/// that arrive in turn, as the files of an upload do. Each input is read as [`read`]
/// reads it (its chunks in parallel) and [`Sequence::finish`] gives the same
/// [`Reading`], but for one thing: `--begin`/`--end` and the filters' times of day
/// are placed on the clock of the first input that shows one, where [`read`] takes
/// the earliest of all inputs (not known before the last one has begun).
pub struct Sequence {
    opts: PipelineOptions,
    host: Option<String>,
    placed: Option<(PipelineOptions, Option<Resolved>)>,
    seen: std::collections::HashMap<input::FileId, String>,
    inputs: Vec<ReadInput>,
}

impl Sequence {
    /// No input read yet; `host` (`--host`) names the host of all of them.
    pub fn new(opts: &PipelineOptions, host: Option<&str>) -> Sequence {
        Sequence {
            opts: opts.clone(),
            host: host.map(str::to_string),
            placed: None,
            seen: Default::default(),
            inputs: Vec::new(),
        }
    }

    /// Reads `source` to its end (a directory: each of its logs). An input that
    /// cannot be read is a verdict; the error is a range that cannot be placed.
    pub fn read(&mut self, source: &Source) -> Result<(), AnalyzeError> {
        for e in input::expand_dirs(std::slice::from_ref(source)) {
            let mut slot = slot(e, &self.opts, &mut self.seen);
            let clock = slot.as_mut().ok().and_then(|o| detect_clock(o.head()));
            if self.placed.is_none() && clock.is_some() {
                self.placed = Some(place(&self.opts, clock.as_ref())?);
            }
            let unplaced;
            let opts = match &self.placed {
                Some((opts, _)) => opts,
                // No clock so far: nothing to place a time on (the range applies to
                // entries with a time, which this input's first lines do not show).
                None => {
                    unplaced = place(&self.opts, None).map_or_else(|_| self.opts.clone(), |p| p.0);
                    &unplaced
                }
            };
            let idx = self.inputs.len() as u32;
            let (mut result, stats) = match slot {
                Err(res) => (*res, None),
                Ok(o) => run_one::<Partial>(idx, o, opts, ()),
            };
            if let Some(h) = &self.host {
                result.host = Some(h.clone());
            }
            self.inputs.push(ReadInput {
                result,
                stats,
                clock,
            });
        }
        Ok(())
    }

    /// Every input read, with the range and filters as placed (on no clock, as
    /// [`read`] places them, when no input showed one).
    pub fn finish(self) -> Result<Reading, AnalyzeError> {
        let (opts, range) = match self.placed {
            Some(p) => p,
            None => place(&self.opts, None)?,
        };
        Ok(Reading {
            inputs: self.inputs,
            range,
            filters: opts.agg.filters.clone(),
        })
    }
}

/// The format of a file passed over because it is not a PostgreSQL log.
pub const UNRECOGNISED: &str = "unrecognised";

/// The result of an input nothing was read from.
fn verdict_only(source: &Source, verdict: Verdict) -> InputResult {
    named_verdict(source.name(), verdict)
}

pub(crate) fn named_verdict(name: String, verdict: Verdict) -> InputResult {
    InputResult {
        name,
        host: None,
        format: UNRECOGNISED,
        compression: None,
        prefix: None,
        prefix_inferred: false,
        prefixes_more: Vec::new(),
        bytes: 0,
        stats: InputStats::default(),
        verdict,
        warnings: Vec::new(),
    }
}

fn open(source: &Source, opts: &PipelineOptions) -> Result<Opened, InputError> {
    let (compression, data) = input::open(source)?;
    let body = match data {
        Data::Mapped(m) => Body::Mapped(m),
        Data::Stream(r, progress) => {
            let blocks =
                BlockReader::new(r, source.name(), opts.chunk_size).with_max_entry(opts.max_entry);
            Body::Stream(match compression {
                Compression::None => blocks,
                _ => blocks.with_progress(progress),
            })
        }
    };
    Ok(Opened {
        source: source.clone(),
        compression,
        body,
    })
}

/// Which year a traditional syslog header is in: `--year` is the first line's, else
/// the file was written up to its mtime (or now).
fn years(head: &[u8], year: Option<i64>, mtime: Option<Millis>) -> Years {
    match (year, Dialect::Syslog.first_calendar_day(head)) {
        (Some(y), Some((month, day))) => Years::starting(y, month, day),
        (Some(y), None) => Years::starting(y, 1, 1),
        (None, _) => Years::ending_at(mtime.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        })),
    }
}

/// True when `prefix` reads at least 90% of the lines of `text` that are not
/// continuation lines.
fn fits(prefix: &Prefix, text: &[u8]) -> bool {
    let lines = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'\t');
    let (mut all, mut read) = (0usize, 0usize);
    for l in lines {
        all += 1;
        read += usize::from(prefix.match_line(l).is_some());
    }
    all > 0 && read * 10 >= all * 9
}

/// The parser for an input sampled by `head` (its first bytes, and for a mapped file
/// slices from further in; `mtime`: when the file was last written, if it is one): the
/// parser, whether its prefix was inferred, and what the inference could not identify.
/// The parser of `format` reading the text inside its wrapper with `inner`.
fn wrap_stderr(
    format: LogFormat,
    inner: StderrParser,
    head: &[u8],
    year: Option<i64>,
    mtime: Option<Millis>,
) -> LogParser {
    let dialect = match format {
        LogFormat::Heroku => Dialect::Heroku,
        _ => Dialect::Syslog,
    };
    match format {
        LogFormat::Syslog | LogFormat::Heroku => LogParser::Syslog(
            SyslogParser::new(inner)
                .with_dialect(dialect)
                .with_years(years(head, year, mtime)),
        ),
        LogFormat::CloudSql => LogParser::CloudSql(CloudSqlParser::new(inner)),
        _ => LogParser::Stderr(inner),
    }
}

/// The parser an input was read with (its format, and its prefixes when it has
/// any), built again: `--state` reads the rest of a log with the parser its start
/// was read with, as one run reads a whole file with one parser. `None` when a
/// prefix does not compile (a state written by another version).
pub(crate) fn parser_for(
    format: LogFormat,
    prefixes: &[String],
    head: &[u8],
    mtime: Option<Millis>,
    opts: &PipelineOptions,
) -> Option<LogParser> {
    let prefixes: Vec<Prefix> = prefixes
        .iter()
        .map(|p| Prefix::compile(p).ok())
        .collect::<Option<_>>()?;
    Some(match format {
        LogFormat::Csv => LogParser::Csv(CsvParser),
        LogFormat::Json => LogParser::Json(JsonParser),
        LogFormat::Cnpg => LogParser::Cnpg(CnpgParser),
        LogFormat::Pgbouncer => LogParser::Pgbouncer(PgbouncerParser),
        _ if prefixes.is_empty() => return None,
        _ => wrap_stderr(
            format,
            StderrParser::with_prefixes(prefixes),
            head,
            opts.year,
            mtime,
        ),
    })
}

pub(crate) fn choose_parser(
    name: &str,
    head: &[u8],
    mtime: Option<Millis>,
    opts: &PipelineOptions,
) -> Result<(LogParser, bool, Vec<String>), AnalyzeError> {
    let format = opts.format.unwrap_or_else(|| LogFormat::detect(head));
    let wrap = |inner: StderrParser| wrap_stderr(format, inner, head, opts.year, mtime);
    // The prefix is inferred from the text inside the wrapper; a managed service's own
    // prefix stands in when it cannot be.
    let (text, fallback) = match format {
        LogFormat::Csv => return Ok((LogParser::Csv(CsvParser), false, Vec::new())),
        LogFormat::Json => return Ok((LogParser::Json(JsonParser), false, Vec::new())),
        LogFormat::Cnpg => return Ok((LogParser::Cnpg(CnpgParser), false, Vec::new())),
        LogFormat::Pgbouncer => {
            return Ok((LogParser::Pgbouncer(PgbouncerParser), false, Vec::new()))
        }
        LogFormat::Stderr => (None, None),
        LogFormat::Syslog => (Some(Dialect::Syslog.first_parts_text(head)), None),
        LogFormat::Heroku => (
            Some(Dialect::Heroku.first_parts_text(head)),
            Some(HEROKU_PREFIX),
        ),
        LogFormat::CloudSql => (
            Some(cloudsql::payload_text(head)),
            Some(cloudsql::CLOUDSQL_PREFIX),
        ),
    };
    if let Some(p) = &opts.prefix {
        return Ok((wrap(StderrParser::new(p.clone())), false, Vec::new()));
    }
    let head = text.as_deref().unwrap_or(head);
    // A managed service's own prefix, when it reads the lines, is what the server ran with.
    let known = fallback.and_then(|f| Prefix::compile(f).ok());
    if let Some(p) = known.as_ref().filter(|p| fits(p, head)) {
        return Ok((wrap(StderrParser::new(p.clone())), true, Vec::new()));
    }
    if let Some(inferred) = infer(head) {
        let parser = wrap(StderrParser::with_prefixes(inferred.prefixes));
        return Ok((parser, true, inferred.notes));
    }
    if let Some(p) = known {
        return Ok((wrap(StderrParser::new(p)), true, Vec::new()));
    }
    let (line, text) = head
        .split(|&b| b == b'\n')
        .enumerate()
        .find(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            (
                i as u64 + 1,
                String::from_utf8_lossy(&l[..l.len().min(120)]).into_owned(),
            )
        })
        .unwrap_or((1, String::new()));
    Err(AnalyzeError::UnknownPrefix {
        path: name.to_string(),
        line,
        text,
    })
}

fn run_one<F: Fold>(
    idx: u32,
    mut o: Opened,
    opts: &PipelineOptions,
    ctx: F::Ctx,
) -> (InputResult, Option<F::Done>) {
    let name = o.source.name();
    let head = match &o.body {
        Body::Mapped(m) => sample(m).into_owned(),
        Body::Stream(_) => o.head().to_vec(),
    };
    if head.is_empty() {
        if let Body::Stream(blocks) = &mut o.body {
            if let Some(e) = blocks.take_error() {
                // Nothing came before the error: unreadable, not read in part.
                return (verdict_only(&o.source, Verdict::unreadable(&e)), None);
            }
        }
        let mut res = verdict_only(&o.source, Verdict::Read);
        res.format = opts.format.unwrap_or(LogFormat::Stderr).name();
        res.compression = o.compression.name();
        return (res, None);
    }
    // Random bytes or an image: not a log, whatever prefix could be tried.
    let percent = input::binary_percent(&head);
    if opts.format.is_none() && percent > BINARY_PERCENT {
        return (verdict_only(&o.source, Verdict::Binary { percent }), None);
    }
    let mtime = modified(&o.source);
    let (parser, inferred, warnings) = match choose_parser(&name, &head, mtime, opts) {
        Ok(p) => p,
        Err(AnalyzeError::UnknownPrefix { line, text, .. }) => {
            return (
                verdict_only(&o.source, Verdict::passed_over(line, &text)),
                None,
            )
        }
        Err(e) => {
            let why = Verdict::Unreadable { why: e.to_string() };
            return (verdict_only(&o.source, why), None);
        }
    };
    let (partial, bytes, verdict) = match o.body {
        Body::Mapped(map) => {
            let partial = parse_mapped::<F>(idx, &map, &parser, opts, ctx);
            (partial, map.len() as u64, Verdict::Read)
        }
        Body::Stream(mut blocks) => {
            let (partial, bytes) = parse_stream::<F>(idx, &mut blocks, 0, &parser, opts, ctx);
            // A stream's size on disk (compressed) is counted once it is read.
            if let (Some(p), Source::Path(path)) = (&opts.progress, &o.source) {
                p.advance(std::fs::metadata(path).map_or(0, |m| m.len()));
            }
            let verdict = blocks.error().map_or(Verdict::Read, Verdict::partial);
            (partial, bytes, verdict)
        }
    };
    let compression = o.compression.name();
    let syslog = matches!(parser.format(), LogFormat::Syslog);
    let parsed = Parsed {
        parser,
        inferred,
        warnings,
    };
    let (stats_in, done) = partial.finish(ctx);
    let mut res = parsed.result(name, compression, stats_in, bytes, verdict);
    let stats = Some(done);
    if syslog {
        res.host = crate::parse::syslog::first_host(&head);
    }
    (res, stats)
}

/// The parser chosen for an input.
pub(crate) struct Parsed {
    pub(crate) parser: LogParser,
    pub(crate) inferred: bool,
    pub(crate) warnings: Vec<String>,
}

impl Parsed {
    /// The input's result once it has been parsed into `partial`.
    fn result(
        self,
        name: String,
        compression: Option<&'static str>,
        stats_in: InputStats,
        bytes: u64,
        verdict: Verdict,
    ) -> InputResult {
        self.describe(name, compression, bytes, stats_in, verdict)
    }

    /// The input's result, read with this parser.
    pub(crate) fn describe(
        &self,
        name: String,
        compression: Option<&'static str>,
        bytes: u64,
        stats_in: InputStats,
        verdict: Verdict,
    ) -> InputResult {
        let parser = &self.parser;
        InputResult {
            name,
            host: None,
            format: parser.format().name(),
            compression,
            prefix: parser.prefix().map(|p| p.as_str().to_string()),
            prefix_inferred: self.inferred,
            prefixes_more: parser
                .stderr()
                .map(|p| {
                    p.prefixes()[1..]
                        .iter()
                        .map(|p| p.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            bytes,
            stats: stats_in,
            verdict,
            warnings: self.warnings.clone(),
        }
    }
}

/// Analyses one uncompressed input held in memory, in the calling thread: no file,
/// no thread pool, no report. The same steps as a mapped file (format detection,
/// prefix inference on the same sample, chunks cut at entry boundaries every
/// `opts.chunk_size` bytes), so the result equals [`run`]'s for that file. For
/// embedding, tests and fuzzing: thousands of small inputs a second.
pub fn analyze_bytes(name: &str, data: &[u8], opts: &PipelineOptions) -> Analysis {
    let mut opts = opts.clone();
    let range = if opts.range.is_empty() {
        None
    } else {
        opts.range
            .resolve(detect_clock(&data[..data.len().min(SNIFF_BYTES)]).as_ref())
            .ok()
    };
    opts.agg.begin = range.as_ref().and_then(|r| r.begin);
    opts.agg.end = range.as_ref().and_then(|r| r.end);
    if let Some(f) = opts.agg.filters.as_mut().filter(|f| f.on_time()) {
        let clock = detect_clock(&data[..data.len().min(SNIFF_BYTES)]);
        let (zone, name, origin) = crate::range::log_zone(opts.range.log_tz, clock.as_ref());
        let f = std::sync::Arc::make_mut(f);
        f.log_zone = zone;
        f.zone_note = format!("times of day in {name} ({origin}) unless they carry a zone");
    }
    let (res, stats) = if data.is_empty() {
        let mut res = named_verdict(name.to_string(), Verdict::Read);
        res.format = opts.format.unwrap_or(LogFormat::Stderr).name();
        (res, None)
    } else {
        match choose_parser(name, &sample(data), None, &opts) {
            Ok((parser, inferred, warnings)) => {
                let partial: Partial = parse_slice(0, data, 0, &parser, &opts, (), false, |_| {});
                let parsed = Parsed {
                    parser,
                    inferred,
                    warnings,
                };
                let (stats_in, stats) = partial.finish();
                let len = data.len() as u64;
                let res = parsed.result(name.into(), None, stats_in, len, Verdict::Read);
                (res, Some(stats))
            }
            Err(AnalyzeError::UnknownPrefix { line, text, .. }) => {
                let v = Verdict::passed_over(line, &text);
                (named_verdict(name.to_string(), v), None)
            }
            Err(e) => {
                let v = Verdict::Unreadable { why: e.to_string() };
                (named_verdict(name.to_string(), v), None)
            }
        }
    };
    let mut all = Stats::new(&opts.agg);
    if let Some(s) = stats {
        all.merge(s);
    }
    Analysis {
        inputs: vec![res],
        stats: all,
        range,
        filters: opts.agg.filters.clone(),
        clock: detect_clock(&data[..data.len().min(SNIFF_BYTES)]),
        hosts: Vec::new(),
    }
}

/// What prefix inference reads of a mapped file: all of a small one; of a larger one
/// its start and slices spread over the rest (a prefix may change on a reload).
pub(crate) fn sample(data: &[u8]) -> Cow<'_, [u8]> {
    const SLICES: usize = 16;
    const SLICE: usize = 32 * 1024;
    if data.len() <= SNIFF_BYTES + SLICES * SLICE {
        return Cow::Borrowed(data);
    }
    let mut out = data[..SNIFF_BYTES].to_vec();
    let step = (data.len() - SNIFF_BYTES) / SLICES;
    for i in 0..SLICES {
        let at = SNIFF_BYTES + i * step;
        let slice = &data[at..(at + SLICE).min(data.len())];
        // Whole lines only.
        let (Some(s), Some(e)) = (memchr::memchr(b'\n', slice), memchr::memrchr(b'\n', slice))
        else {
            continue;
        };
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(&slice[s + 1..=e]);
    }
    Cow::Owned(out)
}

/// When a file was last written (ms since the epoch).
pub(crate) fn modified(source: &Source) -> Option<Millis> {
    let Source::Path(p) = source else { return None };
    let t = std::fs::metadata(p).ok()?.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

fn parse_chunk(
    idx: u32,
    data: &[u8],
    base: u64,
    parser: &LogParser,
    agg: &AggOptions,
    sessions: Live,
) -> Partial {
    let mut arena = vec![0u8; parser.arena_len(data.len())];
    let mut sink = ChunkAgg::new(agg.clone(), idx).with_sessions(sessions);
    let lines = parser.parse_chunk(data, &mut arena, base, &mut sink);
    sink.finish(lines)
}

/// Parses consecutive chunks into one aggregator (see [`Fold::parse_run`]); when the
/// fingerprints pass the cap before the last chunk's end, how many chunks were read.
fn parse_run(
    idx: u32,
    data: &[u8],
    base: u64,
    runs: &[(std::ops::Range<usize>, Live)],
    parser: &LogParser,
    agg: &AggOptions,
    done: &dyn Fn(std::ops::Range<usize>),
) -> Result<Partial, usize> {
    let lens: usize = runs.iter().map(|(r, _)| parser.arena_len(r.len())).sum();
    let mut arena = vec![0u8; lens];
    let mut free: &mut [u8] = &mut arena;
    let mut sink = ChunkAgg::new(agg.clone(), idx);
    let last = runs.len() - 1;
    for (i, (r, live)) in runs.iter().enumerate() {
        let (mine, rest) = std::mem::take(&mut free).split_at_mut(parser.arena_len(r.len()));
        free = rest;
        sink.set_sessions(live.clone());
        let lines = parser.parse_chunk(&data[r.clone()], mine, base + r.start as u64, &mut sink);
        if !sink.chunk_done(lines) {
            return Err(i + 1);
        }
        if i == last {
            let part = sink.finish(0);
            // Only now: the aggregator may read back bytes of the run's earlier chunks
            // (keys, open statements) until it is finished, and a page read again after
            // its release would be mapped again (with its neighbours) and stay. The
            // chunks follow each other: one release for all (one system call).
            for r in joined(runs.iter().map(|(r, _)| r.clone())) {
                done(r);
            }
            return Ok(part);
        }
    }
    Err(runs.len())
}

/// `ranges` in order, each joined to the one before when it starts where that one ends.
fn joined(ranges: impl Iterator<Item = std::ops::Range<usize>>) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => out.push(r),
        }
    }
    out
}

/// The sessions a chunk leaves open or ended (its connection lines only).
fn scan_sessions(data: &[u8], base: u64, parser: &LogParser) -> Live {
    let mut arena = vec![0u8; parser.arena_len(data.len())];
    let mut scan = SessionScan::default();
    parser.parse_chunk(data, &mut arena, base, &mut scan);
    scan.ends
}

/// The sessions open at the start of each of a group's chunks, given those open at the
/// start of the group (`live`, moved on to the group's end), when the session filters
/// need them: each chunk's connection lines are scanned (in parallel or not), then
/// folded in file order. Without session filters, nothing is scanned.
fn session_starts<T: Sync>(
    group: &[T],
    live: &mut Live,
    wanted: bool,
    parallel: bool,
    scan: impl Fn(&T) -> Live + Sync + Send,
) -> Vec<Live> {
    if !wanted {
        return vec![Live::default(); group.len()];
    }
    let ends: Vec<Live> = if parallel {
        group.par_iter().map(&scan).collect()
    } else {
        group.iter().map(&scan).collect()
    };
    ends.iter()
        .map(|e| {
            let start = live.clone();
            live.apply(e);
            start
        })
        .collect()
}

fn merge_in_order<F: Fold>(mut a: F, b: F) -> F {
    a.append(b);
    a
}

fn parse_mapped<F: Fold>(
    idx: u32,
    map: &memmap2::Mmap,
    parser: &LogParser,
    opts: &PipelineOptions,
    ctx: F::Ctx,
) -> F {
    let populate = |r| input::populate(map, r);
    parse_slice_paged(idx, map, 0, parser, opts, ctx, true, populate, |r| {
        input::release(map, r)
    })
}

/// Parses `data` (at offset `base` of its input) in chunks cut at entry boundaries,
/// in parallel or not, and merges them in order, unfinished. `release(range)` is told
/// when a range will not be read again.
///
/// The chunks are taken in groups of [`GROUP_CHUNKS`], capped after each (the same
/// places whatever the threads). A group's consecutive chunks are parsed in runs, each
/// into one accumulator ([`Fold::parse_run`]): one part to merge per run, not per
/// chunk. The runs are handed out in file order to the threads, each taking the next
/// as it finishes one, and merged in order as they come in: no thread waits for the
/// others at the end of a group.
#[allow(clippy::too_many_arguments)]
pub(crate) fn parse_slice<F: Fold>(
    idx: u32,
    data: &[u8],
    base: u64,
    parser: &LogParser,
    opts: &PipelineOptions,
    ctx: F::Ctx,
    parallel: bool,
    release: impl Fn(std::ops::Range<usize>) + Sync,
) -> F {
    parse_slice_paged(
        idx,
        data,
        base,
        parser,
        opts,
        ctx,
        parallel,
        |_| {},
        release,
    )
}

/// [`parse_slice`], told with `populate(range)` of the bytes of a run of chunks
/// just before they are parsed (a mapped file maps them in one call).
#[allow(clippy::too_many_arguments)]
fn parse_slice_paged<F: Fold>(
    idx: u32,
    data: &[u8],
    base: u64,
    parser: &LogParser,
    opts: &PipelineOptions,
    ctx: F::Ctx,
    parallel: bool,
    populate: impl Fn(std::ops::Range<usize>) + Sync,
    release: impl Fn(std::ops::Range<usize>) + Sync,
) -> F {
    let pieces = input::plan(data, opts.chunk_size, opts.max_entry, parser, &release);
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let tasks = runs(&pieces, threads);
    let cap = opts.agg.max_fingerprints();
    // Each task releases its own pages when done, but pages of a task already done
    // come back when a neighbour's populate or read faults a page beside them: the
    // kernel maps the rest of a large page-cache folio (up to 2 MiB) and fault-around
    // neighbours with it, and they stayed (~60 MB of file pages on a 10 GB log, growing
    // with its size). So once every task up to some point is done, everything before
    // that point is released again, from a little before the point reached last.
    let done_upto = std::sync::Mutex::new((0usize, vec![false; tasks.len()]));
    let task_end = |i: usize| {
        tasks
            .get(i + 1)
            .and_then(|t| pieces.get(t.pieces.start))
            .map_or(data.len(), piece_start)
    };
    let settle = |t: &Task| {
        let Ok(mut guard) = done_upto.lock() else {
            return;
        };
        let (next, done) = &mut *guard;
        let Ok(i) = tasks.binary_search_by_key(&t.pieces.start, |x| x.pieces.start) else {
            return;
        };
        done[i] = true;
        let from = if *next > 0 { task_end(*next - 1) } else { 0 };
        while done.get(*next) == Some(&true) {
            *next += 1;
        }
        if *next > 0 && task_end(*next - 1) > from {
            release(from.saturating_sub(FOLIO)..task_end(*next - 1));
        }
    };
    let run_task = |t: &Task, starts: Option<&[Live]>| -> F {
        let group = &pieces[t.pieces.clone()];
        let part = match group {
            [Piece::Skip(s)] => F::skipped(idx, s, opts, ctx),
            _ => {
                let ranges: Vec<(std::ops::Range<usize>, Live)> = group
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| match p {
                        Piece::Parse(r) => {
                            let live = starts.map(|s| s[i].clone()).unwrap_or_default();
                            Some((r.clone(), live))
                        }
                        Piece::Skip(_) => None,
                    })
                    .collect();
                if let (Some((first, _)), Some((last, _))) = (ranges.first(), ranges.last()) {
                    populate(first.start..last.end);
                }
                F::parse_run(idx, data, base, &ranges, parser, &opts.agg, ctx, &|r| {
                    if let Some(p) = &opts.progress {
                        p.advance(r.len() as u64);
                    }
                    release(r);
                })
            }
        };
        part
    };
    let run = |t: &Task, starts: Option<&[Live]>| -> F {
        let part = run_task(t, starts);
        settle(t);
        part
    };
    if wants_sessions(opts) {
        // Each chunk starts with the sessions open before it: a group's starts are
        // known once the groups before it are scanned, so the groups go one by one.
        let scan = |p: &Piece| match p {
            Piece::Parse(r) => scan_sessions(&data[r.clone()], base + r.start as u64, parser),
            Piece::Skip(_) => Live::default(),
        };
        let mut live = Live::default();
        let mut acc: Option<F> = None;
        for group in tasks.chunk_by(|a, b| a.group == b.group) {
            let first = group[0].pieces.start;
            let last = group[group.len() - 1].pieces.end;
            let starts = session_starts(&pieces[first..last], &mut live, true, parallel, scan);
            let one = |t: &Task| run(t, Some(&starts[t.pieces.start - first..]));
            let merged = if parallel {
                group.par_iter().map(one).reduce_with(merge_in_order)
            } else {
                group.iter().map(one).reduce(merge_in_order)
            };
            append_capped(&mut acc, merged, cap);
            if let Some(a) = acc.as_mut().filter(|_| base == 0) {
                a.starts_input();
            }
        }
        return acc.unwrap_or_else(|| F::empty(idx, opts, ctx));
    }
    // A part at the input's offset 0 has nothing before it.
    let start = base == 0;
    let acc = if threads > 1 {
        in_order(&tasks, start, threads, |t| run(t, None), cap)
    } else {
        let mut m = Merger::new(start);
        for (i, t) in tasks.iter().enumerate() {
            m.push(&tasks, i, run(t, None), cap);
        }
        m.acc
    };
    acc.unwrap_or_else(|| F::empty(idx, opts, ctx))
}

/// Bytes before the end of the tasks done released again with the next ones: the
/// largest page-cache folio a fault maps at once (a PMD, 2 MiB on x86-64), twice.
const FOLIO: usize = 4 << 20;

/// Where piece `p` starts in the data.
fn piece_start(p: &Piece) -> usize {
    match p {
        Piece::Parse(r) => r.start,
        Piece::Skip(s) => s.offset as usize,
    }
}

/// Consecutive pieces of one group, parsed into one accumulator (a skipped piece is a
/// task of its own).
#[derive(Debug, Clone)]
struct Task {
    /// The group, of [`GROUP_CHUNKS`] pieces.
    group: usize,
    /// The pieces (indices).
    pieces: std::ops::Range<usize>,
}

/// Cuts the pieces into tasks: each group into runs of about `GROUP_CHUNKS / (2 *
/// threads)` chunks (the whole group with one thread), so two threads share the
/// work evenly to the end of the input.
fn runs(pieces: &[Piece], threads: usize) -> Vec<Task> {
    let len = match threads {
        0 | 1 => GROUP_CHUNKS,
        t => (GROUP_CHUNKS / (2 * t)).max(1),
    };
    let mut tasks = Vec::new();
    for (g, start) in (0..pieces.len()).step_by(GROUP_CHUNKS).enumerate() {
        let end = (start + GROUP_CHUNKS).min(pieces.len());
        let mut from = start;
        for (i, p) in pieces.iter().enumerate().take(end).skip(start) {
            if let Piece::Skip(_) = p {
                if from < i {
                    tasks.extend(split(g, from..i, len));
                }
                tasks.push(Task {
                    group: g,
                    pieces: i..i + 1,
                });
                from = i + 1;
            }
        }
        if from < end {
            // A small input (fewer chunks than a group) is still shared by the threads.
            let len = len.min((end - from).div_ceil(threads.max(1))).max(1);
            tasks.extend(split(g, from..end, len));
        }
    }
    tasks
}

/// `r` in runs of at most `len` pieces.
fn split(group: usize, r: std::ops::Range<usize>, len: usize) -> impl Iterator<Item = Task> {
    r.clone().step_by(len).map(move |s| Task {
        group,
        pieces: s..(s + len).min(r.end),
    })
}

/// Parts merged in task order as they come in, capped after each group's last part.
struct Merger<F> {
    acc: Option<F>,
    /// The next task to merge.
    next: usize,
    /// Parts that came in before the ones they follow.
    early: std::collections::BTreeMap<usize, F>,
    /// True when the parts start at the input's start ([`Fold::starts_input`]).
    start: bool,
}

impl<F> Merger<F> {
    fn new(start: bool) -> Self {
        Merger {
            acc: None,
            next: 0,
            early: Default::default(),
            start,
        }
    }
}

impl<F: Fold> Merger<F> {
    /// Takes the part of task `i`; merges every part now in order.
    fn push(&mut self, tasks: &[Task], i: usize, part: F, cap: usize) {
        self.early.insert(i, part);
        while let Some(part) = self.early.remove(&self.next) {
            let t = &tasks[self.next];
            let group_end = tasks.get(self.next + 1).is_none_or(|n| n.group != t.group);
            let mut acc = match self.acc.take() {
                Some(a) => merge_in_order(a, part),
                None => part,
            };
            if group_end {
                acc.cap(cap);
            }
            if self.start {
                acc.starts_input();
            }
            self.acc = Some(acc);
            self.next += 1;
        }
    }
}

/// Runs `tasks` on `threads` threads, each taking the next task in order when it is
/// done with one; the parts are merged in order by whichever thread completes the
/// one that was awaited.
fn in_order<F: Fold>(
    tasks: &[Task],
    start: bool,
    threads: usize,
    run: impl Fn(&Task) -> F + Sync,
    cap: usize,
) -> Option<F> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let merger = std::sync::Mutex::new(Merger::<F>::new(start));
    let work = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(t) = tasks.get(i) else { break };
        let part = run(t);
        // A poisoned lock means another thread panicked: that panic is re-raised
        // when the scope ends.
        if let Ok(mut m) = merger.lock() {
            m.push(tasks, i, part, cap);
        }
    };
    rayon::scope(|s| {
        for _ in 1..threads.min(tasks.len()) {
            s.spawn(|_| work());
        }
        work();
    });
    merger.into_inner().ok().and_then(|m| m.acc)
}

/// The next [`GROUP_CHUNKS`] blocks of a stream (fewer at its end).
fn read_batch(blocks: &mut BlockReader, parser: &LogParser) -> Vec<Block> {
    let mut batch = Vec::with_capacity(GROUP_CHUNKS);
    while batch.len() < GROUP_CHUNKS {
        match blocks.next_block(parser) {
            Some(b) => batch.push(b),
            None => break,
        }
    }
    batch
}

/// Parses a batch of a stream's blocks in parallel, merged in order.
#[allow(clippy::too_many_arguments)]
fn parse_batch<F: Fold>(
    idx: u32,
    batch: &[Block],
    offset: u64,
    live: &mut Live,
    wanted: bool,
    parser: &LogParser,
    opts: &PipelineOptions,
    ctx: F::Ctx,
) -> Option<F> {
    let scan = |b: &Block| match b {
        Block::Data(base, block) => scan_sessions(block, offset + *base, parser),
        Block::Skipped(_) => Live::default(),
    };
    let starts = session_starts(batch, live, wanted, true, scan);
    batch
        .par_iter()
        .zip(starts)
        .map(|(b, live)| match b {
            Block::Data(base, block) => {
                F::parse(idx, block, offset + *base, parser, &opts.agg, live, ctx)
            }
            Block::Skipped(s) => F::skipped(idx, s, opts, ctx),
        })
        .reduce_with(merge_in_order)
}

/// True when the session filters need each entry's session.
fn wants_sessions(opts: &PipelineOptions) -> bool {
    opts.agg.filters.as_ref().is_some_and(|f| f.on_sessions())
}

/// Appends `next` to `acc` and caps the fingerprints.
fn append_capped<F: Fold>(acc: &mut Option<F>, next: Option<F>, cap: usize) {
    let Some(next) = next else { return };
    let mut a = match acc.take() {
        Some(a) => merge_in_order(a, next),
        None => next,
    };
    a.cap(cap);
    *acc = Some(a);
}

/// The part of an input that the rest of an over-long entry stands for: its lines,
/// counted as skipped, and the cut.
fn skipped(idx: u32, s: &Skip, opts: &PipelineOptions) -> Partial {
    let mut p = ChunkAgg::new(opts.agg.clone(), idx).finish(s.lines());
    p.input.skipped_lines = s.lines();
    if s.bytes > 0 {
        p.input.cut = CutEntries {
            entries: 1,
            first_line: Some(s.first_line()),
            bytes: s.bytes,
        };
    }
    p
}

impl Boundaries for LogParser {
    fn next(&self, data: &[u8], from: usize) -> Option<usize> {
        self.next_boundary(data, from)
    }
    fn last(&self, data: &[u8]) -> Option<usize> {
        self.last_boundary(data)
    }
    fn is_start(&self, rest: &[u8]) -> bool {
        self.is_boundary(rest)
    }
}

/// Parses a stream's blocks (the stream starts at offset `offset` of its input),
/// merged in order, unfinished; and the bytes read.
pub(crate) fn parse_stream<F: Fold>(
    idx: u32,
    blocks: &mut BlockReader,
    offset: u64,
    parser: &LogParser,
    opts: &PipelineOptions,
    ctx: F::Ctx,
) -> (F, u64) {
    let mut acc: Option<F> = None;
    let mut bytes = 0u64;
    let wanted = wants_sessions(opts);
    let mut live = Live::default();
    // Pipelined: the next batch is read (decompressed) on one thread while the
    // current one is parsed on the others. The batches are the same either way, so
    // is the result; two batches are in memory at a time.
    let mut batch = read_batch(blocks, parser);
    while !batch.is_empty() {
        bytes += batch
            .iter()
            .map(|b| match b {
                Block::Data(_, b) => b.len() as u64,
                Block::Skipped(s) => s.bytes,
            })
            .sum::<u64>();
        let (next, merged) = rayon::join(
            || read_batch(blocks, parser),
            || parse_batch(idx, &batch, offset, &mut live, wanted, parser, opts, ctx),
        );
        append_capped(&mut acc, merged, opts.agg.max_fingerprints());
        batch = next;
    }
    (acc.unwrap_or_else(|| F::empty(idx, opts, ctx)), bytes)
}

/// What the chunks of an input fold into: one [`Partial`] for the whole input, or one
/// per calendar day ([`DayPartials`]). Either way the chunks are appended in file order.
pub(crate) trait Fold: Sized + Send {
    /// What is needed besides the options (the zone of the days).
    type Ctx: Copy + Send + Sync;
    /// The input's statistics once every chunk is in.
    type Done: Send;
    /// Parses a chunk.
    #[allow(clippy::too_many_arguments)]
    fn parse(
        idx: u32,
        data: &[u8],
        base: u64,
        parser: &LogParser,
        agg: &AggOptions,
        live: Live,
        ctx: Self::Ctx,
    ) -> Self;
    /// Parses consecutive chunks `runs` of `data` (each with the sessions open at its
    /// start; `data` is at offset `base` of its input), told to `done` once each is
    /// read (chunks that follow each other may be told as one range): the same as
    /// parsing each and appending them in order.
    #[allow(clippy::too_many_arguments)]
    fn parse_run(
        idx: u32,
        data: &[u8],
        base: u64,
        runs: &[(std::ops::Range<usize>, Live)],
        parser: &LogParser,
        agg: &AggOptions,
        ctx: Self::Ctx,
        done: &dyn Fn(std::ops::Range<usize>),
    ) -> Self {
        let mut acc: Option<Self> = None;
        for (r, live) in runs {
            let part = Self::parse(
                idx,
                &data[r.clone()],
                base + r.start as u64,
                parser,
                agg,
                live.clone(),
                ctx,
            );
            done(r.clone());
            acc = Some(match acc {
                Some(a) => merge_in_order(a, part),
                None => part,
            });
        }
        acc.expect("a run has at least one chunk")
    }
    /// The lines of an over-long entry passed over.
    fn skipped(idx: u32, s: &Skip, opts: &PipelineOptions, ctx: Self::Ctx) -> Self;
    /// Nothing read.
    fn empty(idx: u32, opts: &PipelineOptions, ctx: Self::Ctx) -> Self;
    /// Appends the part that directly follows.
    fn append(&mut self, next: Self);
    /// Caps the fingerprints.
    fn cap(&mut self, cap: usize);
    /// Tells the part that it starts its input (nothing will be prepended to it).
    fn starts_input(&mut self) {}
    /// The input's counters and statistics.
    fn finish(self, ctx: Self::Ctx) -> (InputStats, Self::Done);
}

impl Fold for Partial {
    type Ctx = ();
    type Done = Stats;
    fn parse(
        idx: u32,
        data: &[u8],
        base: u64,
        parser: &LogParser,
        agg: &AggOptions,
        live: Live,
        _: (),
    ) -> Self {
        parse_chunk(idx, data, base, parser, agg, live)
    }
    fn parse_run(
        idx: u32,
        data: &[u8],
        base: u64,
        runs: &[(std::ops::Range<usize>, Live)],
        parser: &LogParser,
        agg: &AggOptions,
        _: (),
        done: &dyn Fn(std::ops::Range<usize>),
    ) -> Self {
        match parse_run(idx, data, base, runs, parser, agg, done) {
            Ok(p) => p,
            // Past the cap: each chunk apart, capped at its end as it would be alone.
            Err(_) => runs
                .iter()
                .map(|(r, live)| {
                    let d = &data[r.clone()];
                    let p = parse_chunk(idx, d, base + r.start as u64, parser, agg, live.clone());
                    done(r.clone());
                    p
                })
                .reduce(merge_in_order)
                .expect("a run has at least one chunk"),
        }
    }
    fn skipped(idx: u32, s: &Skip, opts: &PipelineOptions, _: ()) -> Self {
        skipped(idx, s, opts)
    }
    fn empty(idx: u32, opts: &PipelineOptions, _: ()) -> Self {
        ChunkAgg::new(opts.agg.clone(), idx).finish(0)
    }
    fn append(&mut self, next: Self) {
        Partial::append(self, next);
    }
    fn cap(&mut self, cap: usize) {
        self.stats.queries.cap(cap);
    }
    fn starts_input(&mut self) {
        Partial::starts_input(self);
    }
    fn finish(self, _: ()) -> (InputStats, Stats) {
        Partial::finish(self)
    }
}

/// The zone of the days, and the day of anything undated in an input with no dated
/// entry (the day of the run).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayCtx {
    pub(crate) tz: crate::report::tz::DisplayTz,
    pub(crate) today: chrono::NaiveDate,
}

impl Fold for DayPartials {
    type Ctx = DayCtx;
    type Done = std::collections::BTreeMap<chrono::NaiveDate, (InputStats, Stats)>;
    fn parse(
        idx: u32,
        data: &[u8],
        base: u64,
        parser: &LogParser,
        agg: &AggOptions,
        live: Live,
        ctx: DayCtx,
    ) -> Self {
        let mut arena = vec![0u8; parser.arena_len(data.len())];
        let mut sink = DaySplit::new(ctx.tz, agg.clone(), idx, live);
        let lines = parser.parse_chunk(data, &mut arena, base, &mut sink);
        sink.finish(lines)
    }
    fn skipped(idx: u32, s: &Skip, opts: &PipelineOptions, _: DayCtx) -> Self {
        DayPartials::undated(skipped(idx, s, opts))
    }
    fn empty(_: u32, _: &PipelineOptions, _: DayCtx) -> Self {
        DayPartials::default()
    }
    fn append(&mut self, next: Self) {
        DayPartials::append(self, next);
    }
    fn cap(&mut self, cap: usize) {
        DayPartials::cap(self, cap);
    }
    fn finish(self, ctx: DayCtx) -> (InputStats, Self::Done) {
        let mut total = InputStats::default();
        let days: Self::Done = DayPartials::finish(self, ctx.today)
            .into_iter()
            .map(|(d, p)| {
                let (i, s) = p.finish();
                total.append(i.clone());
                (d, (i, s))
            })
            .collect();
        (total, days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges that follow each other are joined; a gap keeps them apart.
    #[test]
    fn joined_ranges() {
        assert_eq!(joined([0..3, 3..5, 5..9].into_iter()), vec![0..9]);
        assert_eq!(joined([0..3, 4..5, 5..9].into_iter()), vec![0..3, 4..9]);
        assert_eq!(
            joined(std::iter::empty()),
            Vec::<std::ops::Range<usize>>::new()
        );
    }

    /// Resident bytes of the mapping that starts at `addr`, from /proc/self/smaps.
    #[cfg(target_os = "linux")]
    fn mapped_rss(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut mine = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ').filter(|(r, _)| r.contains('-')) {
                let start = range.split('-').next()?;
                mine = usize::from_str_radix(start, 16).ok() == Some(addr);
            } else if let Some(kb) = line.strip_prefix("Rss:").filter(|_| mine) {
                return kb
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .map(|k| k * 1024);
            }
        }
        None
    }

    /// A mapped log parsed by two threads in small chunks leaves none of its pages
    /// mapped. Before the tasks done were released again, pages of a task already
    /// released came back when a neighbour's populate faulted a page of the same
    /// page-cache folio (2.4 of 3.2 MB here), so the resident file pages grew with the
    /// log's size.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_mapped_log_leaves_no_pages_mapped() {
        use std::io::Write;
        let log = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/a1_pgbadger/postgresql.log"
        ))
        .expect("a1 log");
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        while file.as_file().metadata().map_or(0, |m| m.len()) < (3 << 20) && !log.is_empty() {
            file.write_all(&log).expect("write");
        }
        let f = std::fs::File::open(file.path()).expect("open");
        let map = input::map(&f).expect("map");
        let opts = PipelineOptions {
            chunk_size: 32 << 10,
            ..PipelineOptions::default()
        };
        let (parser, _, _) = choose_parser("t.log", &sample(&map), None, &opts).expect("parser");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let part: Partial = pool.install(|| parse_mapped(0, &map, &parser, &opts, ()));
        let rss = mapped_rss(map.as_ptr() as usize).expect("the mapping in smaps");
        assert!(part.finish().1.statements > 0);
        // The sample for inference mapped most of the file; everything is released.
        assert!(rss <= 64 << 10, "{rss} bytes of {} still mapped", map.len());
    }

    /// Runs cover the pieces in order, never cross a group (where the cap applies),
    /// hold at most their length, and a skipped piece is a task of its own.
    #[test]
    fn runs_cover_the_pieces_within_groups() {
        let mut pieces: Vec<Piece> = (0..50).map(|i| Piece::Parse(i..i + 1)).collect();
        pieces[20] = Piece::Skip(Skip::default());
        for threads in [1, 2, 3, 8, 64] {
            let tasks = runs(&pieces, threads);
            let len = if threads == 1 {
                GROUP_CHUNKS
            } else {
                (GROUP_CHUNKS / (2 * threads)).max(1)
            };
            let mut at = 0;
            for t in &tasks {
                assert_eq!(t.pieces.start, at, "{threads} threads: {tasks:?}");
                assert!(!t.pieces.is_empty() && t.pieces.len() <= len);
                assert!(t.pieces.clone().all(|i| i / GROUP_CHUNKS == t.group));
                let skips = t.pieces.clone().filter(|&i| i == 20).count();
                assert!(skips == 0 || t.pieces == (20..21));
                at = t.pieces.end;
            }
            assert_eq!(at, pieces.len());
        }
    }
}
