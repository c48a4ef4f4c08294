//! The syslog parser (header split, then the `log_line_prefix` inside it) under a given
//! prefix: the input is the prefix, a NUL byte, then the log, as for `stderr`.
//! Inference inside syslog is covered by `detect`. Never panics, counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::parse::format::LogFormat;

fuzz_target!(|data: &[u8]| {
    let (prefix, log) = pgferret_fuzz::split_prefix(data);
    let mut opts = pgferret_fuzz::options(Some(LogFormat::Syslog), usize::MAX);
    opts.prefix = Some(prefix);
    pgferret_fuzz::analyze(log, &opts);
});
