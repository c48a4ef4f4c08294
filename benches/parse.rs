//! Parsing throughput on real logs, in MB/s of log text.
//!
//! - `prefix_match`: the compiled log_line_prefix matcher alone, on every line (as the
//!   stderr parser runs it: `match_into` with one time cache);
//! - `chunk`: parse + classify + fingerprint + aggregate of one whole log on one thread;
//! - `pipeline`: the library entry (mmap, chunking, rayon, merge) on the current pool;
//! - `infer/*`: prefix inference on 1 KB of a log (what a fuzz target feeds it), alone
//!   and inside `analyze_bytes`.
//!
//! Run: `cargo bench --bench parse`. End-to-end figures on an inflated 1 GB log are in
//! BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pgferret::aggregate::{AggOptions, ChunkAgg};
use pgferret::input::{Source, CHUNK_SIZE};
use pgferret::parse::csvlog::CsvParser;
use pgferret::parse::format::{LogFormat, LogParser};
use pgferret::parse::infer::{infer, infer_prefix};
use pgferret::parse::jsonlog::JsonParser;
use pgferret::parse::stderr::StderrParser;
use pgferret::parse::syslog::{first_parts_text, SyslogParser};
use pgferret::parse::time::TimeCache;
use pgferret::parse::{Fields, Prefix};
use pgferret::pipeline::{self, PipelineOptions};
use std::path::PathBuf;

const LOGS: &[(&str, &str)] = &[
    (
        "a1_pgbadger",
        "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    ),
    ("a2_debian", "%m [%p] %q%u@%d "),
    // Every statement logged with the extended protocol (parse/bind/execute durations).
    ("a3_ddl_extended", "%t [%p-%l] %q%u@%d "),
    (
        "d_multiline",
        "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    ),
];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
        .join("postgresql.log")
}

fn benches(c: &mut Criterion) {
    for (name, prefix) in LOGS {
        let data = std::fs::read(path(name)).expect("testdata log");
        let prefix = Prefix::compile(prefix).expect("prefix");
        let mut g = c.benchmark_group(*name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(20);
        g.bench_function("prefix_match", |b| {
            // As the stderr parser matches: one Fields and one TimeCache for all lines.
            b.iter(|| {
                let mut fields = Fields::default();
                let mut times = TimeCache::default();
                data.split(|&c| c == b'\n')
                    .filter(|l| prefix.match_into(l, &mut fields, &mut times).is_some())
                    .count()
            })
        });
        let parser = StderrParser::new(prefix.clone());
        g.bench_function("chunk", |b| {
            b.iter(|| {
                let mut agg = ChunkAgg::new(AggOptions::default(), 0);
                let lines = parser.parse_chunk(&data, 0, &mut agg);
                agg.finish(lines)
            })
        });
        let opts = PipelineOptions {
            prefix: Some(prefix.clone()),
            format: None,
            agg: AggOptions::default(),
            range: Default::default(),
            chunk_size: CHUNK_SIZE,
            max_entry: pgferret::input::MAX_ENTRY,
            jobs: 1,
            year: None,
            progress: None,
        };
        let sources = [Source::Path(path(name))];
        g.bench_function("pipeline", |b| {
            b.iter(|| pipeline::run(&sources, &opts).expect("run"))
        });
        g.finish();
    }
}

/// csvlog, jsonlog and syslog: parse + aggregate of a whole log in one chunk.
fn formats(c: &mut Criterion) {
    let gunzip = |name: &str, f: &str| {
        let mut d = flate2::read::GzDecoder::new(
            std::fs::File::open(path(name).with_file_name(f)).expect("testdata"),
        );
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).expect("gzip");
        out
    };
    let inputs = [
        ("b_csv_json/csv", gunzip("b_csv_json", "postgresql.csv.gz")),
        (
            "b_csv_json/json",
            gunzip("b_csv_json", "postgresql.json.gz"),
        ),
        ("syslog", std::fs::read(path("syslog")).expect("testdata")),
    ];
    for (name, data) in inputs {
        let head = &data[..data.len().min(1 << 18)];
        let parser = match LogFormat::detect(head) {
            LogFormat::Csv => LogParser::Csv(CsvParser),
            LogFormat::Json => LogParser::Json(JsonParser),
            _ => {
                let prefix = infer_prefix(&first_parts_text(head)).expect("prefix");
                LogParser::Syslog(SyslogParser::new(StderrParser::new(prefix)))
            }
        };
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(20);
        g.bench_function("chunk", |b| {
            let mut arena = vec![0u8; parser.arena_len(data.len())];
            b.iter(|| {
                let mut agg = ChunkAgg::new(AggOptions::default(), 0);
                let lines = parser.parse_chunk(&data, &mut arena, 0, &mut agg);
                agg.finish(lines)
            })
        });
        g.finish();
    }
}

/// Prefix inference on a small input: the first whole lines of a log up to 1 KB, as
/// the fuzz targets run it (`-max_len=1024`), where inference is most of the work.
fn inference(c: &mut Criterion) {
    let mut g = c.benchmark_group("infer");
    g.sample_size(50);
    for (name, _) in &LOGS[..2] {
        let data = std::fs::read(path(name)).expect("testdata log");
        let end = memchr::memrchr(b'\n', &data[..1024]).expect("a line in 1 KB") + 1;
        let small = &data[..end];
        g.throughput(Throughput::Bytes(small.len() as u64));
        g.bench_function(format!("{name}_1k"), |b| b.iter(|| infer(small)));
        let opts = PipelineOptions {
            format: Some(LogFormat::Stderr),
            chunk_size: usize::MAX,
            ..PipelineOptions::default()
        };
        g.bench_function(format!("{name}_1k_analyze_bytes"), |b| {
            b.iter(|| pipeline::analyze_bytes("bench.log", small, &opts))
        });
    }
    g.finish();
}

criterion_group!(parse, benches, formats, inference);
criterion_main!(parse);
