//! Prefix inference, then the stderr parser with the prefix it chose, on arbitrary
//! bytes: never panics, counters add up. In-process and single-threaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::parse::format::LogFormat;

fuzz_target!(|data: &[u8]| {
    let opts = pgferret_fuzz::options(Some(LogFormat::Stderr), usize::MAX);
    pgferret_fuzz::analyze(data, &opts);
});
