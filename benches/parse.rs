//! Parsing throughput on real logs, in MB/s of log text.
//!
//! - `prefix_match`: the compiled log_line_prefix matcher alone, on every line;
//! - `chunk`: parse + classify + fingerprint + aggregate of one whole log on one thread;
//! - `pipeline`: the library entry (mmap, chunking, rayon, merge) on the current pool.
//!
//! Run: `cargo bench --bench parse`. End-to-end figures on an inflated 1 GB log are in
//! BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pgferret::aggregate::{AggOptions, ChunkAgg};
use pgferret::input::{Source, CHUNK_SIZE};
use pgferret::parse::stderr::StderrParser;
use pgferret::parse::Prefix;
use pgferret::pipeline::{self, PipelineOptions};
use std::path::PathBuf;

const LOGS: &[(&str, &str)] = &[
    (
        "a1_pgbadger",
        "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    ),
    ("a2_debian", "%m [%p] %q%u@%d "),
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
            b.iter(|| {
                data.split(|&c| c == b'\n')
                    .filter(|l| prefix.match_line(l).is_some())
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
            chunk_size: CHUNK_SIZE,
            jobs: 1,
        };
        let sources = [Source::Path(path(name))];
        g.bench_function("pipeline", |b| {
            b.iter(|| pipeline::run(&sources, &opts).expect("run"))
        });
        g.finish();
    }
}

criterion_group!(parse, benches);
criterion_main!(parse);
