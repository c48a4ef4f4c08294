//! Running the stages over every input: open (mmap, or a decompressed stream), detect
//! the format and prefix, cut into chunks at entry boundaries, parse and aggregate the
//! chunks in parallel, merge in order. Inputs are processed in parallel too.

use crate::aggregate::{AggOptions, ChunkAgg, InputStats, Partial, Stats};
use crate::input::{self, BlockReader, Compression, Data, InputError, Source};
use crate::parse::csvlog::CsvParser;
use crate::parse::format::{LogFormat, LogParser};
use crate::parse::infer::infer_prefix;
use crate::parse::jsonlog::JsonParser;
use crate::parse::pgbouncer::PgbouncerParser;
use crate::parse::stderr::StderrParser;
use crate::parse::syslog::{first_parts_text, SyslogParser};
use crate::parse::Prefix;
use rayon::prelude::*;

/// How many bytes are sampled to detect the format and infer a prefix.
const SNIFF_BYTES: usize = 256 * 1024;

/// Why analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// An input could not be opened or read.
    #[error(transparent)]
    Input(#[from] InputError),
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
    /// The inputs held no log entry at all.
    #[error("no PostgreSQL log entry found in {0}")]
    NothingParsed(String),
}

/// What the pipeline needs to run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Prefix given by the user (else inferred per input).
    pub prefix: Option<Prefix>,
    /// Format given by the user (else detected per input).
    pub format: Option<LogFormat>,
    /// Aggregation options.
    pub agg: AggOptions,
    /// Chunk size in bytes.
    pub chunk_size: usize,
    /// Threads.
    pub jobs: usize,
}

/// One analysed input.
#[derive(Debug, Clone)]
pub struct InputResult {
    /// Path, or `-`.
    pub name: String,
    /// Log format.
    pub format: &'static str,
    /// Compression, if any.
    pub compression: Option<&'static str>,
    /// The log_line_prefix used (stderr).
    pub prefix: Option<String>,
    /// True when the prefix was inferred.
    pub prefix_inferred: bool,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Counters.
    pub stats: InputStats,
}

/// Analyses every input: per-input counters and the merged statistics.
pub fn run(
    sources: &[Source],
    opts: &PipelineOptions,
) -> Result<(Vec<InputResult>, Stats), AnalyzeError> {
    let given = sources;
    let sources = input::expand_dirs(sources)?;
    // Open everything first: a missing file fails the run before any work.
    let opened: Vec<(Source, bool, Compression, Data)> = sources
        .iter()
        .map(|(s, in_dir)| input::open(s).map(|(c, d)| (s.clone(), *in_dir, c, d)))
        .collect::<Result<_, _>>()?;
    let results: Vec<(InputResult, Stats)> = opened
        .into_par_iter()
        .enumerate()
        .map(|(idx, (source, in_dir, c, data))| {
            match run_one(idx as u32, &source, c, data, opts) {
                // A file found in a directory that is not a log is passed over, not fatal.
                Err(AnalyzeError::UnknownPrefix { .. }) if in_dir => {
                    Ok((unrecognised(&source), Stats::new(&opts.agg)))
                }
                other => other,
            }
        })
        .collect::<Result<_, _>>()?;
    let mut total = Stats::new(&opts.agg);
    let mut inputs = Vec::with_capacity(results.len());
    for (res, stats) in results {
        inputs.push(res);
        total.merge(stats);
    }
    if inputs.iter().all(|r| r.stats.entries == 0) {
        let names: Vec<String> = if inputs.is_empty() {
            given
                .iter()
                .map(|s| format!("{} (no log file in it)", s.name()))
                .collect()
        } else {
            inputs.iter().map(|r| r.name.clone()).collect()
        };
        return Err(AnalyzeError::NothingParsed(names.join(", ")));
    }
    Ok((inputs, total))
}

/// The format of a file passed over because it is not a PostgreSQL log.
pub const UNRECOGNISED: &str = "unrecognised";

fn unrecognised(source: &Source) -> InputResult {
    InputResult {
        name: source.name(),
        format: UNRECOGNISED,
        compression: None,
        prefix: None,
        prefix_inferred: false,
        bytes: 0,
        stats: InputStats::default(),
    }
}

/// The parser for an input whose first bytes are `head`.
fn choose_parser(
    name: &str,
    head: &[u8],
    opts: &PipelineOptions,
) -> Result<(LogParser, bool), AnalyzeError> {
    let format = opts.format.unwrap_or_else(|| LogFormat::detect(head));
    let wrap = |p: Prefix| match format {
        LogFormat::Syslog => LogParser::Syslog(SyslogParser::new(StderrParser::new(p))),
        _ => LogParser::Stderr(StderrParser::new(p)),
    };
    let syslog_text: Vec<u8>;
    let head = match format {
        LogFormat::Csv => return Ok((LogParser::Csv(CsvParser), false)),
        LogFormat::Json => return Ok((LogParser::Json(JsonParser), false)),
        LogFormat::Pgbouncer => return Ok((LogParser::Pgbouncer(PgbouncerParser), false)),
        LogFormat::Stderr => head,
        LogFormat::Syslog => {
            // The prefix is inferred from the text after the syslog headers.
            syslog_text = first_parts_text(head);
            &syslog_text
        }
    };
    if let Some(p) = &opts.prefix {
        return Ok((wrap(p.clone()), false));
    }
    if let Some(p) = infer_prefix(head) {
        return Ok((wrap(p), true));
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

fn run_one(
    idx: u32,
    source: &Source,
    compression: Compression,
    data: Data,
    opts: &PipelineOptions,
) -> Result<(InputResult, Stats), AnalyzeError> {
    let name = source.name();
    let (partial, bytes, parser, inferred) = match data {
        Data::Mapped(map) => {
            let (parser, inferred) =
                choose_parser(&name, &map[..map.len().min(SNIFF_BYTES)], opts)?;
            let partial = parse_mapped(idx, &map, &parser, opts);
            (partial, map.len() as u64, Some(parser), inferred)
        }
        Data::Stream(reader) => {
            let mut blocks = BlockReader::new(reader, name.clone(), opts.chunk_size);
            let head = blocks.peek(SNIFF_BYTES)?.to_vec();
            if head.is_empty() {
                (ChunkAgg::new(opts.agg, idx).finish(0), 0, None, false)
            } else {
                let (parser, inferred) = choose_parser(&name, &head, opts)?;
                let (partial, bytes) = parse_stream(idx, &mut blocks, &parser, opts)?;
                (partial, bytes, Some(parser), inferred)
            }
        }
    };
    let (stats_in, stats) = partial.finish();
    Ok((
        InputResult {
            name,
            format: parser
                .as_ref()
                .map_or(LogFormat::Stderr, LogParser::format)
                .name(),
            compression: compression.name(),
            prefix: parser
                .as_ref()
                .and_then(LogParser::prefix)
                .map(|p| p.as_str().to_string()),
            prefix_inferred: inferred,
            bytes,
            stats: stats_in,
        },
        stats,
    ))
}

fn parse_chunk(idx: u32, data: &[u8], base: u64, parser: &LogParser, agg: AggOptions) -> Partial {
    let mut arena = vec![0u8; parser.arena_len(data.len())];
    let mut sink = ChunkAgg::new(agg, idx);
    let lines = parser.parse_chunk(data, &mut arena, base, &mut sink);
    sink.finish(lines)
}

fn merge_in_order(mut a: Partial, b: Partial) -> Partial {
    a.append(b);
    a
}

fn parse_mapped(
    idx: u32,
    map: &memmap2::Mmap,
    parser: &LogParser,
    opts: &PipelineOptions,
) -> Partial {
    let data: &[u8] = map;
    let ranges = input::chunk_ranges(data, opts.chunk_size, |d, from| {
        let found = parser.next_boundary(d, from);
        // Finding csv boundaries reads every page (quote parity): let the scanned pages
        // go until their chunk is parsed, so memory stays flat.
        let start = d.as_ptr() as usize - data.as_ptr() as usize;
        input::release(map, start..start + found.unwrap_or(d.len()));
        found
    });
    ranges
        .into_par_iter()
        .map(|r| {
            let partial = parse_chunk(idx, &data[r.clone()], r.start as u64, parser, opts.agg);
            input::release(map, r);
            partial
        })
        // `reduce_with` keeps the chunks' order: each merge appends the later part.
        .reduce_with(merge_in_order)
        .unwrap_or_else(|| ChunkAgg::new(opts.agg, idx).finish(0))
}

fn parse_stream(
    idx: u32,
    blocks: &mut BlockReader,
    parser: &LogParser,
    opts: &PipelineOptions,
) -> Result<(Partial, u64), AnalyzeError> {
    let mut acc: Option<Partial> = None;
    let mut bytes = 0u64;
    let batch = opts.jobs.max(1) * 2;
    loop {
        let mut batch_blocks = Vec::with_capacity(batch);
        while batch_blocks.len() < batch {
            match blocks.next_block(|buf| parser.last_boundary(buf))? {
                Some(b) => batch_blocks.push(b),
                None => break,
            }
        }
        if batch_blocks.is_empty() {
            break;
        }
        bytes += batch_blocks
            .iter()
            .map(|(_, b)| b.len() as u64)
            .sum::<u64>();
        let merged = batch_blocks
            .par_iter()
            .map(|(base, block)| parse_chunk(idx, block, *base, parser, opts.agg))
            .reduce_with(merge_in_order);
        if let Some(m) = merged {
            acc = Some(match acc {
                Some(a) => merge_in_order(a, m),
                None => m,
            });
        }
    }
    Ok((
        acc.unwrap_or_else(|| ChunkAgg::new(opts.agg, idx).finish(0)),
        bytes,
    ))
}
