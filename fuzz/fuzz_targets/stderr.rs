//! The stderr parser (with prefix inference where the format has a prefix) on arbitrary
//! bytes: never panics, counters add up. In-process and single-threaded, so fast.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::parse::format::LogFormat;

fuzz_target!(|data: &[u8]| {
    let opts = pgferret_fuzz::options(Some(LogFormat::Stderr), usize::MAX);
    pgferret_fuzz::analyze(data, &opts);
});
