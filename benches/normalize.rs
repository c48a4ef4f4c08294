//! Normalizer throughput in MB/s of SQL text, on real statements.
//!
//! Input: testdata/normalize/statements.sql0, the statements of two corpus logs
//! (d_multiline: multi-line SQL, comments, quotes, unicode, dollar quoting, IN lists of
//! 1..1000 items, VALUES lists; a1_pgbadger: pgbench and report queries), NUL-separated,
//! extracted by testdata/normalize/extract_statements.py.
//!
//! `fingerprint` is the hot path (every statement of a log); `normalize_into` also
//! builds the display text (once per new fingerprint in the pipeline, measured here on
//! every statement as an upper bound). Both reuse one Normalizer and one String, as the
//! pipeline does.
//!
//! Run: `cargo bench --bench normalize`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pgferret::normalize::Normalizer;

fn statements() -> (Vec<u8>, Vec<(usize, usize)>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/normalize/statements.sql0"
    );
    let data = std::fs::read(path).expect("testdata/normalize/statements.sql0");
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == 0 {
            spans.push((start, i));
            start = i + 1;
        }
    }
    (data, spans)
}

fn bench(c: &mut Criterion) {
    let (data, spans) = statements();
    let bytes: usize = spans.iter().map(|(s, e)| e - s).sum();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut norm = Normalizer::new();
    g.bench_function("fingerprint", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &(s, e) in &spans {
                acc ^= norm.fingerprint(&data[s..e]);
            }
            acc
        })
    });
    let mut out = String::new();
    g.bench_function("normalize_into", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &(s, e) in &spans {
                acc ^= norm.normalize_into(&data[s..e], &mut out);
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
