//! The renderers: the report of whatever the bytes parse into, as HTML, JSON and text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgferret::report::{render, Format};

fuzz_target!(|data: &[u8]| {
    let a = pgferret_fuzz::analyze(data, &pgferret_fuzz::options(None, usize::MAX));
    let r = pgferret_fuzz::report(a);
    for f in [Format::Json, Format::Text, Format::Html] {
        let mut out = Vec::new();
        render(&r, f, &mut out).expect("rendering into memory never fails");
        if f == Format::Json {
            serde_json::from_slice::<serde_json::Value>(&out).expect("the JSON parses");
        }
    }
});
