//! The chunk-boundary logic: the first two bytes pick a chunk size (1–512 bytes) and
//! an entry cap (1–128 bytes), the rest is the log. Cut into chunks at entry
//! boundaries, the counters and the whole report equal those of one chunk; with
//! over-long entries cut at the cap, every line is still counted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret_fuzz::{analyze, json, options, report};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let v = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let (chunk, cap) = (v % 512 + 1, (v >> 9) + 1);
    let log = &data[2..];
    let whole = analyze(log, &options(None, usize::MAX));
    // Cloud Logging exports are not in log order: their entries are sorted by
    // timestamp within a chunk, so out-of-order times may pair differently when cut.
    if whole.inputs[0].format == "cloudsql" {
        return;
    }
    let cut = analyze(log, &options(None, chunk));
    assert_eq!(
        whole.inputs[0].stats, cut.inputs[0].stats,
        "chunks of {chunk}"
    );
    let capped = analyze(
        log,
        &pgferret::pipeline::PipelineOptions {
            max_entry: cap,
            ..options(None, chunk)
        },
    );
    assert_eq!(
        whole.inputs[0].stats.lines, capped.inputs[0].stats.lines,
        "chunks of {chunk}, entries cut at {cap}"
    );
    let (a, b) = (report(whole), report(cut));
    assert_eq!(json(&a), json(&b), "chunks of {chunk}");
});
