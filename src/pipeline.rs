//! Running the stages over every input: open, detect the prefix, cut into chunks,
//! parse and aggregate the chunks in parallel, merge in order.

use crate::aggregate::{AggOptions, ChunkAgg, InputStats, Partial, Stats};
use crate::input::{self, BlockReader, Data, InputError, Source};
use crate::parse::infer::infer_prefix;
use crate::parse::stderr::StderrParser;
use crate::parse::Prefix;
use rayon::prelude::*;

/// How many bytes are sampled to infer a prefix.
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
    /// The log_line_prefix used.
    pub prefix: String,
    /// True when the prefix was inferred.
    pub prefix_inferred: bool,
    /// Bytes read.
    pub bytes: u64,
    /// Counters.
    pub stats: InputStats,
}

/// Analyses every input: per-input counters and the merged statistics.
pub fn run(
    sources: &[Source],
    opts: &PipelineOptions,
) -> Result<(Vec<InputResult>, Stats), AnalyzeError> {
    // Open everything first: a missing file fails the run before any work.
    let opened: Vec<(Source, Data)> = sources
        .iter()
        .map(|s| input::open(s).map(|d| (s.clone(), d)))
        .collect::<Result<_, _>>()?;
    let mut results = Vec::new();
    let mut total = Stats::new(&opts.agg);
    for (idx, (source, data)) in opened.into_iter().enumerate() {
        let (res, stats) = run_one(idx as u32, &source, data, opts)?;
        results.push(res);
        total.merge(stats);
    }
    if results.iter().all(|r| r.stats.entries == 0) {
        let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
        return Err(AnalyzeError::NothingParsed(names.join(", ")));
    }
    Ok((results, total))
}

fn choose_prefix(
    name: &str,
    head: &[u8],
    opts: &PipelineOptions,
) -> Result<(Prefix, bool), AnalyzeError> {
    if let Some(p) = &opts.prefix {
        return Ok((p.clone(), false));
    }
    if let Some(p) = infer_prefix(head) {
        return Ok((p, true));
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
    data: Data,
    opts: &PipelineOptions,
) -> Result<(InputResult, Stats), AnalyzeError> {
    let name = source.name();
    let (partial, bytes, prefix, inferred) = match data {
        Data::Mapped(map) => {
            let (prefix, inferred) =
                choose_prefix(&name, &map[..map.len().min(SNIFF_BYTES)], opts)?;
            let parser = StderrParser::new(prefix.clone());
            let partial = parse_mapped(idx, &map, &parser, opts);
            (partial, map.len() as u64, prefix, inferred)
        }
        Data::Stream(reader) => {
            let mut blocks = BlockReader::new(reader, name.clone(), opts.chunk_size);
            let head = blocks.peek(SNIFF_BYTES)?.to_vec();
            if head.is_empty() {
                let p = opts
                    .prefix
                    .clone()
                    .unwrap_or(Prefix::compile("").expect("empty prefix"));
                let empty = ChunkAgg::new(opts.agg, idx).finish(0);
                (empty, 0, p, false)
            } else {
                let (prefix, inferred) = choose_prefix(&name, &head, opts)?;
                let parser = StderrParser::new(prefix.clone());
                let (partial, bytes) = parse_stream(idx, &mut blocks, &parser, opts)?;
                (partial, bytes, prefix, inferred)
            }
        }
    };
    let (stats_in, stats) = partial.finish();
    Ok((
        InputResult {
            name,
            format: "stderr",
            prefix: prefix.as_str().to_string(),
            prefix_inferred: inferred,
            bytes,
            stats: stats_in,
        },
        stats,
    ))
}

fn parse_chunk(
    idx: u32,
    data: &[u8],
    base: u64,
    parser: &StderrParser,
    agg: AggOptions,
) -> Partial {
    let mut sink = ChunkAgg::new(agg, idx);
    let lines = parser.parse_chunk(data, base, &mut sink);
    sink.finish(lines)
}

fn parse_mapped(
    idx: u32,
    map: &memmap2::Mmap,
    parser: &StderrParser,
    opts: &PipelineOptions,
) -> Partial {
    let data: &[u8] = map;
    let ranges = input::chunk_ranges(data, opts.chunk_size, |l| parser.is_entry_start(l));
    ranges
        .into_par_iter()
        .map(|r| {
            let partial = parse_chunk(idx, &data[r.clone()], r.start as u64, parser, opts.agg);
            input::release(map, r);
            partial
        })
        // `reduce_with` keeps the chunks' order: each merge appends the later part.
        .reduce_with(|mut a, b| {
            a.append(b);
            a
        })
        .unwrap_or_else(|| ChunkAgg::new(opts.agg, idx).finish(0))
}

fn parse_stream(
    idx: u32,
    blocks: &mut BlockReader,
    parser: &StderrParser,
    opts: &PipelineOptions,
) -> Result<(Partial, u64), AnalyzeError> {
    let mut acc: Option<Partial> = None;
    let mut bytes = 0u64;
    let batch = opts.jobs.max(1) * 2;
    loop {
        let mut batch_blocks = Vec::with_capacity(batch);
        while batch_blocks.len() < batch {
            match blocks.next_block(|l| parser.is_entry_start(l))? {
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
            .reduce_with(|mut a, b| {
                a.append(b);
                a
            });
        if let Some(m) = merged {
            match acc.as_mut() {
                Some(a) => a.append(m),
                None => acc = Some(m),
            }
        }
    }
    Ok((
        acc.unwrap_or_else(|| ChunkAgg::new(opts.agg, idx).finish(0)),
        bytes,
    ))
}
