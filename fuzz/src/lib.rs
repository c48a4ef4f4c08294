//! What the fuzz targets share: one input analysed in-process (no file, no thread
//! pool), the checks every analysis must pass, and the report built from it.

use pgferret::parse::format::LogFormat;
use pgferret::parse::Prefix;
use pgferret::pipeline::{analyze_bytes, Analysis, PipelineOptions};
use pgferret::report::model::Run;
use pgferret::report::Report;

/// Options for a format given (`None`: detected) and a chunk size; the syslog year is
/// fixed so a run never depends on the clock.
pub fn options(format: Option<LogFormat>, chunk_size: usize) -> PipelineOptions {
    PipelineOptions {
        format,
        chunk_size,
        year: Some(2024),
        ..PipelineOptions::default()
    }
}

/// The prefix PostgreSQL logs with by default, for inputs that give none.
pub const DEFAULT_PREFIX: &str = "%m [%p] ";

/// Splits an input into a `log_line_prefix` and a log at its first NUL byte (within
/// the first 256 bytes). Without one, or when the prefix does not compile, the
/// default prefix and the whole input (after the NUL, when there is one).
pub fn split_prefix(data: &[u8]) -> (Prefix, &[u8]) {
    let default = || Prefix::compile(DEFAULT_PREFIX).expect("the default prefix compiles");
    let Some(nul) = data.iter().take(256).position(|&b| b == 0) else {
        return (default(), data);
    };
    let prefix = std::str::from_utf8(&data[..nul])
        .ok()
        .and_then(|t| Prefix::compile(t).ok())
        .unwrap_or_else(default);
    (prefix, &data[nul + 1..])
}

/// Analyses `data` and checks what must hold whatever the bytes: the counters add up.
pub fn analyze(data: &[u8], opts: &PipelineOptions) -> Analysis {
    let a = analyze_bytes("fuzz.log", data, opts);
    assert_eq!(a.inputs.len(), 1);
    let s = &a.inputs[0].stats;
    assert!(s.skipped_lines <= s.lines, "{s:?}");
    assert!(s.filtered_entries <= s.entries, "{s:?}");
    let newlines = memchr_count(data);
    assert!(
        s.lines <= newlines + 1,
        "{} lines counted in {} newlines",
        s.lines,
        newlines
    );
    a
}

fn memchr_count(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The report of an analysis, with a fixed run (no elapsed time).
pub fn report(a: Analysis) -> Report {
    let run = Run {
        version: "fuzz".into(),
        jobs: 1,
        elapsed_ms: 0,
    };
    Report::build(&a.inputs, a.stats, run, Default::default())
}

/// The report as JSON text.
pub fn json(r: &Report) -> String {
    serde_json::to_string(r).expect("a report always serializes")
}
