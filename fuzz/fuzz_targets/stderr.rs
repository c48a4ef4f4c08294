//! The stderr parser under a given `log_line_prefix`: the input is the prefix, a NUL
//! byte, then the log (the seeds carry each testdata log's own prefix; a prefix that
//! does not compile, or no NUL, falls back to PostgreSQL's default `%m [%p] `). Fuzzes
//! the prefix compiler, the matcher and the parser without inference (the `infer`
//! target covers that), so it runs thousands of inputs a second. Never panics,
//! counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::parse::format::LogFormat;

fuzz_target!(|data: &[u8]| {
    let (prefix, log) = pgferret_fuzz::split_prefix(data);
    let mut opts = pgferret_fuzz::options(Some(LogFormat::Stderr), usize::MAX);
    opts.prefix = Some(prefix);
    pgferret_fuzz::analyze(log, &opts);
});
