//! Runs `pipeline::analyze_bytes` over every file of a directory, each cut to at most
//! `MAX_LEN` bytes, as the fuzz targets do with their corpus: a fixed workload for
//! instruction counts (no coverage instrumentation, no libFuzzer).
//!
//! ```sh
//! cargo build --release --example analyze_dir
//! valgrind --tool=callgrind target/release/examples/analyze_dir stderr fuzz/corpus/stderr 1024
//! ```
//!
//! The format is `stderr`, `syslog` or `detect`. With `--dump` as a fourth argument it
//! prints each file's name and JSON report, to check that a change leaves every
//! result as it was (`diff` two dumps).

use pgferret::parse::format::LogFormat;
use pgferret::pipeline::{analyze_bytes, PipelineOptions};
use pgferret::report::model::Run;
use pgferret::report::Report;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format, dir, max_len, rest @ ..] = args.as_slice() else {
        eprintln!("usage: analyze_dir stderr|syslog|detect DIR MAX_LEN [--dump]");
        std::process::exit(2);
    };
    let format = match format.as_str() {
        "stderr" => Some(LogFormat::Stderr),
        "syslog" => Some(LogFormat::Syslog),
        _ => None,
    };
    let max_len: usize = max_len.parse().expect("MAX_LEN is a number");
    let dump = rest.iter().any(|a| a == "--dump");
    let opts = PipelineOptions {
        format,
        chunk_size: usize::MAX,
        year: Some(2024),
        ..PipelineOptions::default()
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    paths.sort();
    let (mut files, mut entries) = (0usize, 0u64);
    for p in &paths {
        let mut data = std::fs::read(p).expect("a file");
        data.truncate(max_len);
        let a = analyze_bytes("fuzz.log", &data, &opts);
        files += 1;
        entries += a.inputs[0].stats.entries;
        if dump {
            let run = Run {
                version: "dump".into(),
                jobs: 1,
                elapsed_ms: 0,
            };
            let r = Report::build(&a.inputs, a.stats, run, Default::default());
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            println!("{name}\t{}", serde_json::to_string(&r).expect("json"));
        }
    }
    eprintln!("{files} files, {entries} entries");
}
