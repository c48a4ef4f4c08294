//! What the command line does with odd inputs and outputs: outputs checked before the
//! analysis and each attempted, stdin given twice, one file given twice, timestamps
//! far from the rest of the log, a `--window` too narrow, binary data. On real logs
//! from testdata/, edited in a scratch copy where the case needs it.

use crate::util::*;
use serde_json::Value;
use std::path::Path;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("report")).expect("JSON")
}

/// The prefix a4_colon_remote was written with (its meta.json).
const A4_PREFIX: &str = "%m:%r:%u@%d:[%p]:";

/// `2026-11-24 05:45:05.849` at the start of a line of a4 → RFC 3339.
fn line_time(line: &str) -> String {
    format!("{}T{}Z", &line[..10], &line[11..23])
}

#[test]
fn an_output_that_cannot_be_written_fails_before_the_analysis_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.json");
    let l = log("a4_colon_remote");
    for bad in [
        dir.path().join("no/such/dir/r.html"),
        dir.path().to_path_buf().join("sub.json"),
    ] {
        if bad.ends_with("sub.json") {
            std::fs::create_dir(&bad).unwrap(); // a directory named like a report
        }
        let o = run(
            &[
                l.to_str().unwrap(),
                "-o",
                ok.to_str().unwrap(),
                "-o",
                bad.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(&format!("-o {}", bad.display())), "{e}");
        // Nothing was analysed or written, not even the good output.
        assert!(!ok.exists());
    }
}

#[test]
fn every_output_is_attempted_when_one_fails_to_write() {
    let dir = tempfile::tempdir().unwrap();
    // Passes the check (it exists and opens for writing), fails when written: no space.
    let full = dir.path().join("full.json");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.txt"));
    let o = run(
        &[
            log("a4_colon_remote").to_str().unwrap(),
            "-o",
            a.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
            "-o",
            b.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("full.json"), "{}", stderr(&o));
    let want = expected("a4_colon_remote");
    assert_eq!(
        read_json(&a)["totals"]["statements"],
        want["duration_statements"]
    );
    assert!(std::fs::read_to_string(&b).unwrap().contains("statements"));
}

#[test]
fn stdin_given_twice_is_refused_with_exit_2() {
    let o = run(&["-", "-", "-o", "-"], Some(&log("a4_colon_remote")));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("more than once"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn the_same_file_given_twice_is_counted_once_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let l = log("a4_colon_remote");
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&l, &link).unwrap();
    let out = dir.path().join("r.json");
    let l = l.to_str().unwrap();
    let o = run(
        &[l, link.to_str().unwrap(), l, "-o", out.to_str().unwrap()],
        None,
    );
    // Everything given was read, once: not a partial report.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = read_json(&out);
    let want = expected("a4_colon_remote");
    assert_eq!(r["totals"]["statements"], want["duration_statements"]);
    let verdicts: Vec<&str> = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["read", "duplicate", "duplicate"]);
    let note = r["inputs"][1]["verdict_note"].as_str().unwrap();
    assert!(note.contains(&format!("the same file as {l}")), "{note}");
    let e = stderr(&o);
    assert_eq!(e.matches("given twice").count(), 2, "{e}");
    assert_eq!(r["warnings"].as_array().unwrap().len(), 2);
}

#[test]
fn timestamps_50_years_off_are_outliers_left_out_of_the_timeline() {
    let src = std::fs::read_to_string(log("a4_colon_remote")).unwrap();
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    let (first, last) = (line_time(&lines[0]), {
        let l = lines.iter().rev().find(|l| l.starts_with("2026-")).unwrap();
        line_time(l)
    });
    // Three statements in the middle of the log dated 1976.
    let timed: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("duration:"))
        .collect();
    for &i in &timed[100..103] {
        lines[i].replace_range(..4, "1976");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("clock.log");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("r.json");
    let p = p.to_str().unwrap();
    // With the prefix given and inferred: the wrong dates do not make the log's time
    // look like a session's start.
    for given in [true, false] {
        let mut args = vec![p, "-o", out.to_str().unwrap()];
        if given {
            args.extend(["--prefix", A4_PREFIX]);
        }
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        outliers_left_out(&read_json(&out), &stderr(&o), &first, &last);
    }
}

fn outliers_left_out(r: &serde_json::Value, err: &str, first: &str, last: &str) {
    // Counted...
    let want = expected("a4_colon_remote");
    assert_eq!(r["totals"]["statements"], want["duration_statements"]);
    // ... but the span and the windows are the log's own (11 s in 1 s windows, not
    // 50 years in 112-day windows).
    assert_eq!(r["span"]["begin"], first);
    assert_eq!(r["span"]["end"], last);
    assert_eq!(r["span"]["outliers"], 3);
    assert_eq!(r["timeline"]["window_seconds"], 1.0);
    let in_windows: u64 = r["timeline"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["statements"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(in_windows + 3), want["duration_statements"].as_u64());
    let w = r["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].as_str().unwrap().starts_with("3 entries dated far"));
    assert!(w[0].as_str().unwrap().contains("1976-11-24T"));
    assert!(err.contains("3 entries dated far"), "{err}");
}

#[test]
fn a_window_too_narrow_for_a_long_log_is_widened_and_said() {
    // a4 over two days: its second half a day later (a quiet night in between).
    let src = std::fs::read_to_string(log("a4_colon_remote")).unwrap();
    let n = src.lines().count();
    let text: String = src
        .lines()
        .enumerate()
        .map(|(i, l)| match i > n / 2 {
            true => l.replacen("2026-11-24 ", "2026-11-25 ", 1) + "\n",
            false => format!("{l}\n"),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("two_days.log");
    std::fs::write(&p, text).unwrap();
    let out = dir.path().join("r.json");
    let p = p.to_str().unwrap();
    let o = run(&[p, "--window", "1s", "-o", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = read_json(&out);
    // 86,411 s over at most 20,000 windows: the smallest multiple of 1 s that fits.
    let width = r["timeline"]["window_seconds"].as_f64().unwrap();
    let span = r["span"]["seconds"].as_f64().unwrap();
    assert!(span > 86_400.0, "{span}");
    assert_eq!(width, (span / 20_000.0).floor() + 1.0);
    let w = r["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    let w = w[0].as_str().unwrap();
    assert!(w.starts_with("--window 1 s is too narrow"), "{w}");
    assert!(w.contains(&format!("windows of {width} s instead")), "{w}");
    assert!(stderr(&o).contains("--window 1 s is too narrow"));
    // The default width is not a widening.
    let o = run(&[p, "-o", out.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(read_json(&out)["warnings"], serde_json::json!([]));
}

/// Deterministic "random" bytes (a 64-bit LCG's high bytes).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_not_a_postgresql_log_and_no_prefix_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("core.log");
    std::fs::write(&bin, noise(200_000)).unwrap();
    let bin = bin.to_str().unwrap();
    let o = run(&[bin, "-o", "-"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "{bin}: passed over: not a PostgreSQL log, looked like binary data"
        )),
        "{e}"
    );
    assert!(!e.contains("--prefix"), "{e}");
    // Beside a real log: that one is read, the report is partial (exit 3).
    let out = dir.path().join("r.json");
    let l = log("a4_colon_remote");
    let o = run(
        &[l.to_str().unwrap(), bin, "-o", out.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = read_json(&out);
    assert_eq!(r["inputs"][1]["verdict"], "passed_over");
    let note = r["inputs"][1]["verdict_note"].as_str().unwrap();
    assert!(note.starts_with("passed over: not a PostgreSQL log, looked like binary data"));
    let want = expected("a4_colon_remote");
    assert_eq!(r["totals"]["statements"], want["duration_statements"]);
}
