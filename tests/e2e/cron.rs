//! Cron manners: off a terminal nothing on stdout unless asked and no progress on
//! stderr; `-o -.json` is JSON on stdout; a reader that stops early loses no file.

use crate::util::{log, pgferret, run};
use std::process::Stdio;

/// Piped (as under cron): a file output leaves stdout empty, and stderr has neither
/// progress nor "report written to" (those are for a person at a terminal).
#[test]
fn off_a_terminal_stdout_is_empty_and_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let path = log("c_incident");
    let o = run(&[path.to_str().unwrap(), "-o", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.exists());
}

/// `-o -.json` (and `-o - --output-format json`) write the JSON report on stdout,
/// the same as `-o r.json` writes to a file.
#[test]
fn dash_json_writes_json_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let path = log("a1_pgbadger");
    let p = path.to_str().unwrap();
    let o = run(&[p, "-o", "-.json", "-o", file.to_str().unwrap()], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let from_stdout: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let from_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(from_stdout["totals"], from_file["totals"]);
    assert_eq!(from_stdout["queries"], from_file["queries"]);
    let o = run(&[p, "-o", "-", "--output-format", "json"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["totals"], from_file["totals"]);
}

/// Stdout is one stream: naming it twice is a bad argument.
#[test]
fn stdout_twice_is_refused() {
    let path = log("a1_pgbadger");
    let o = run(&[path.to_str().unwrap(), "-o", "-", "-o", "-.json"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard output is given more than once"));
}

/// `-o - -o r.json | true`: the reader is gone before pgferret writes (its end of
/// the pipe is closed right after the start, while the log is still being read).
/// r.json is written all the same, whole, and the broken pipe is no failure.
#[test]
fn a_reader_that_stops_early_loses_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let path = log("c_incident");
    for stdout_first in [true, false] {
        let _ = std::fs::remove_file(&file);
        let mut cmd = pgferret();
        cmd.arg(&path);
        let outs = if stdout_first {
            ["-", file.to_str().unwrap()]
        } else {
            [file.to_str().unwrap(), "-"]
        };
        for o in outs {
            cmd.args(["-o", o]);
        }
        let mut child = cmd
            .args(["--output-format", "html"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("r.json written")).unwrap();
        assert_eq!(v["totals"]["timed_statements"], 18_101);
    }
}
