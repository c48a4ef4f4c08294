//! Helpers for the end-to-end tests: running the binary, reading the JSON report,
//! and the expected figures that sit beside each log in testdata/.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A log shipped in testdata/.
pub fn log(name: &str) -> PathBuf {
    root().join("testdata").join(name).join("postgresql.log")
}

/// The pgferret binary built for these tests.
pub fn pgferret() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pgferret"))
}

/// Runs pgferret with `args` (and `stdin` if given) and returns its output.
pub fn run(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = pgferret();
    cmd.args(args);
    match stdin {
        Some(p) => cmd.stdin(Stdio::from(std::fs::File::open(p).expect("stdin file"))),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.output().expect("run pgferret")
}

/// Runs pgferret writing JSON into a scratch file and returns the parsed report.
pub fn json_report(args: &[&str], stdin: Option<&Path>) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let mut all: Vec<&str> = args.to_vec();
    let out_s = out.to_str().expect("utf-8 path");
    all.extend(["-o", out_s]);
    let o = run(&all, stdin);
    assert!(
        o.status.success(),
        "pgferret {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("read report")).expect("valid JSON")
}

/// The report without its run-specific part: what must be identical between runs.
pub fn without_run(mut v: Value) -> String {
    v.as_object_mut().expect("object").remove("run");
    // Input paths differ between a file and stdin; everything else must not.
    if let Some(inputs) = v.get_mut("inputs").and_then(Value::as_array_mut) {
        for i in inputs {
            i.as_object_mut().expect("input").remove("path");
            if let Some(ex) = i.get_mut("skipped_examples") {
                *ex = Value::Null;
            }
        }
    }
    serde_json::to_string_pretty(&v).expect("serialize")
}

/// The expected figures beside a log (written by testdata/expected.sh).
pub fn expected(name: &str) -> Value {
    let p = root().join("testdata").join(name).join("expected.json");
    serde_json::from_slice(&std::fs::read(p).expect("expected.json")).expect("valid JSON")
}

/// Float equality to the microsecond.
pub fn same_ms(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.0005
}
