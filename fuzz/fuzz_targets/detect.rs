//! Format detection (stderr, csv, json, syslog, Heroku, Cloud SQL, CloudNativePG,
//! PgBouncer) and then that format's parser, on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = pgferret_fuzz::options(None, usize::MAX);
    pgferret_fuzz::analyze(data, &opts);
});
