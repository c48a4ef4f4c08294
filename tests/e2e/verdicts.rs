//! Every input gets a verdict, an input that cannot be read never sinks the others, the
//! exit code says when a report is partial, and `--begin`/`--end` are read as the log
//! prints its times. Figures come from awk over the same logs (testdata/expected.sh's
//! rules), never from pgferret alone.

use crate::util::*;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs pgferret writing JSON and returns the exit code and the report (if written).
fn report_and_code(args: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut all = args.to_vec();
    all.extend(["-o", out.to_str().unwrap()]);
    let o = run(&all, None);
    let report = std::fs::read(&out)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("valid JSON"));
    (o.status.code(), report, stderr(&o))
}

/// Statements with a duration (expected.sh's rule) whose local time of day is within
/// `[from, to]` (`HH:MM:SS.mmm`, as the log prints it), and their total ms, by awk.
fn awk_statements(log: &Path, from: &str, to: &str) -> (u64, f64) {
    let prog = r#"
        /^\t/ { next }
        { t = $2; if (length(t) == 8) t = t ".000" }
        t < from || t > to { next }
        {
          if (!match($0, /[] :]LOG:  /)) next
          rest = substr($0, RSTART + 7)
          if (match(rest, /^duration: [0-9.]+ ms  (statement|execute [^:]*): /)) {
            split(rest, w, " "); n++; ms += w[2]
          }
        }
        END { printf "%d %.3f\n", n, ms }"#;
    let o = std::process::Command::new("awk")
        .args([
            "-v",
            &format!("from={from}"),
            "-v",
            &format!("to={to}"),
            prog,
        ])
        .arg(log)
        .output()
        .expect("awk");
    let s = String::from_utf8(o.stdout).unwrap();
    let mut it = s.split_whitespace();
    let n = it.next().unwrap().parse().unwrap();
    let ms = it.next().unwrap().parse().unwrap();
    (n, ms)
}

fn verdicts(r: &Value) -> Vec<(String, String)> {
    r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let path = i["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                i["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_good_log_among_unreadable_and_foreign_inputs_keeps_its_figures_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "\nshopping list\tmilk \"eggs\"\n").unwrap();
    // Unreadable even for root: a symlink to nothing, a file whose read fails (EIO),
    // a directory with no log in it.
    let dangling = dir.path().join("gone.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let empty_dir = dir.path().join("archive");
    std::fs::create_dir(&empty_dir).unwrap();
    let good = log("a1_pgbadger");
    let good = good.to_str().unwrap();
    let (code, r, err) = report_and_code(&[
        good,
        notes.to_str().unwrap(),
        dangling.to_str().unwrap(),
        "/proc/self/mem",
        empty_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{err}");
    let r = r.expect("the report is written from what could be read");
    let e = expected("a1_pgbadger");
    assert_eq!(r["totals"]["statements"], e["duration_statements"]);
    assert!(same_ms(
        r["totals"]["total_ms"].as_f64().unwrap(),
        e["duration_statements_ms"].as_f64().unwrap()
    ));
    // Exactly the good log's report, but for the inputs and the warnings.
    let alone = json_report(&[good], None);
    for k in [
        "totals",
        "queries",
        "span",
        "timeline",
        "databases",
        "users",
    ] {
        assert_eq!(r[k], alone[k], "{k}");
    }
    assert_eq!(
        verdicts(&r),
        [
            ("postgresql.log", "read"),
            ("notes.txt", "passed_over"),
            ("gone.log", "unreadable"),
            ("mem", "unreadable"),
            ("archive", "passed_over"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(r["partial"], true);
    assert_eq!(alone["partial"], false);
    let notes_v = r["inputs"][1]["verdict_note"].as_str().unwrap();
    assert!(
        notes_v.contains(r#"line 2 reads "shopping list\tmilk \"eggs\"""#),
        "{notes_v}"
    );
    let gone_v = r["inputs"][2]["verdict_note"].as_str().unwrap();
    assert!(gone_v.contains("No such file or directory"), "{gone_v}");
    // Each one is a warning at the top and on the terminal.
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    for w in warnings {
        assert!(err.contains(w.as_str().unwrap()), "{w} not in {err}");
    }
    // And first in the HTML page, before any figure.
    let html_dir = tempfile::tempdir().unwrap();
    let out = html_dir.path().join("r.html");
    let o = run(
        &[
            good,
            notes.to_str().unwrap(),
            dangling.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3));
    let html = std::fs::read_to_string(&out).unwrap();
    let alert = html.find("class=\"alert\"").expect("a warning box");
    assert!(alert < html.find("id=\"overview\"").unwrap());
    assert!(html[alert..].contains("gone.log: unreadable: No such file or directory"));
}

#[test]
fn nothing_readable_is_exit_1_with_a_verdict_for_each_input() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "shopping list\n").unwrap();
    let (code, r, err) = report_and_code(&[
        "/nonexistent/postgresql.log",
        notes.to_str().unwrap(),
        "/proc/self/mem",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(r.is_none(), "no report is written");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines[0].starts_with("pgferret: /nonexistent/postgresql.log: unreadable: "));
    assert!(lines[1].contains("notes.txt: passed over"));
    assert!(lines[2].starts_with("pgferret: /proc/self/mem: unreadable: "));
    assert!(lines[3].contains("nothing could be read, no report written"));
}

/// a1_pgbadger with `junk` lines that belong to no entry inserted after line 1000.
fn with_junk(dir: &Path, junk: usize) -> std::path::PathBuf {
    let src = std::fs::read_to_string(log("a1_pgbadger")).unwrap();
    let mut out = String::new();
    for (i, l) in src.lines().enumerate() {
        if i == 1000 {
            for j in 0..junk {
                out += &format!("--- copied from a terminal, junk {j} ---\n");
            }
        }
        out += l;
        out.push('\n');
    }
    let p = dir.join(format!("junk{junk}.log"));
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn more_than_one_percent_of_lines_skipped_is_exit_3_and_a_warning_at_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let lines = expected("a1_pgbadger")["lines"].as_u64().unwrap();
    // 1% of 9,158 + 92 lines is 92.5: 92 skipped is within, 93 is not.
    for (junk, code) in [(92, 0), (93, 3), (400, 3)] {
        let p = with_junk(dir.path(), junk);
        let (c, r, err) = report_and_code(&[p.to_str().unwrap()]);
        assert_eq!(c, Some(code), "{junk}: {err}");
        let r = r.unwrap();
        assert_eq!(r["inputs"][0]["skipped_lines"], junk);
        assert_eq!(r["inputs"][0]["lines"], lines + junk as u64);
        assert_eq!(r["inputs"][0]["verdict"], "read_with_skips");
        assert_eq!(
            r["totals"]["statements"],
            expected("a1_pgbadger")["duration_statements"]
        );
        let warnings = r["warnings"].as_array().unwrap();
        if code == 0 {
            assert!(warnings.is_empty(), "{warnings:?}");
        } else {
            let w = warnings[0].as_str().unwrap();
            let total = lines + junk as u64;
            let pct = format!("{:.1}%", junk as f64 * 100.0 / total as f64);
            assert!(
                w.contains(&format!(
                    "{junk} of {} lines skipped ({pct})",
                    thousands(total)
                )),
                "{w}"
            );
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn a_truncated_gzip_keeps_what_was_read_and_says_it_was_read_in_part() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(log("a1_pgbadger")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    let gz = gz.finish().unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    // What any gunzip gets out of it before the error.
    let mut prefix = Vec::new();
    let err = flate2::read::GzDecoder::new(&gz[..gz.len() * 2 / 3])
        .read_to_end(&mut prefix)
        .expect_err("truncated");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(!prefix.is_empty() && prefix.len() < text.len());
    let (code, r, stderr) = report_and_code(&[cut.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    let r = r.unwrap();
    let input = &r["inputs"][0];
    assert_eq!(input["verdict"], "partial");
    // The line the cut tore is not a line of the log: the complete lines are read.
    let complete = &prefix[..prefix.iter().rposition(|&b| b == b'\n').unwrap() + 1];
    assert!(complete.len() < prefix.len());
    let lines = complete.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(input["lines"], lines);
    assert_eq!(input["bytes"], complete.len());
    assert_eq!(input["skipped_lines"], 0);
    let at = format!(
        "cut.log.gz: read in part: read up to byte {} of the compressed file, then truncated",
        gz.len() * 2 / 3
    );
    assert!(stderr.contains(&at), "{stderr}");
    // The part read gives the figures the same bytes give as a plain file.
    let plain = dir.path().join("prefix.log");
    std::fs::write(&plain, complete).unwrap();
    let whole = json_report(&[plain.to_str().unwrap()], None);
    assert_eq!(r["totals"], whole["totals"]);
}

#[test]
fn begin_and_end_as_times_of_day_match_an_awk_count_over_the_same_local_times() {
    let l = log("c_incident");
    let (n, ms) = awk_statements(&l, "04:40:00.000", "04:41:00.000");
    assert!(n > 100, "the window holds statements: {n}");
    let r = json_report(
        &[l.to_str().unwrap(), "--begin", "04:40", "--end", "04:41"],
        None,
    );
    assert_eq!(r["totals"]["statements"], n);
    assert!(same_ms(r["totals"]["total_ms"].as_f64().unwrap(), ms));
    assert_eq!(r["partial"], false);
}

#[test]
fn values_without_a_zone_are_in_the_logs_own_zone() {
    // a2_debian writes CET times: 05:35:20 CET is 04:35:20 UTC.
    let l = log("a2_debian");
    let p = l.to_str().unwrap();
    let (n, ms) = awk_statements(&l, "05:35:20.000", "05:35:30.000");
    assert!(n > 100, "{n}");
    for (b, e) in [
        ("05:35:20", "05:35:30"),
        ("2026-11-24 05:35:20", "2026-11-24 05:35:30"),
        ("2026-11-24 05:35:20 CET", "2026-11-24 05:35:30.000 CET"),
        ("2026-11-24T04:35:20Z", "2026-11-24T05:35:30+01:00"),
    ] {
        let r = json_report(&[p, "--begin", b, "--end", e], None);
        assert_eq!(r["totals"]["statements"], n, "{b} .. {e}");
        assert!(same_ms(r["totals"]["total_ms"].as_f64().unwrap(), ms));
        assert_eq!(r["range"]["begin"], "2026-11-24T04:35:20.000Z");
    }
    // --log-tz overrides the log's zone: 05:35 UTC is after this log's end.
    let (code, r, _) = report_and_code(&[p, "--log-tz", "UTC", "--begin", "05:35:20"]);
    assert_eq!(code, Some(3));
    assert_eq!(r.unwrap()["totals"]["statements"], 0);
}

#[test]
fn a_range_with_nothing_in_it_is_exit_3_and_claims_no_setting_is_off() {
    let l = log("a1_pgbadger");
    let p = l.to_str().unwrap();
    let (code, r, err) = report_and_code(&[p, "--begin", "05:40", "--end", "05:41"]);
    assert_eq!(code, Some(3), "{err}");
    let r = r.unwrap();
    // The log's first and last lines (head/tail): 04:34:31 and 04:35:12 UTC.
    let w = "No entry between 2026-11-24 05:40:00 UTC and 2026-11-24 05:41:00 UTC; \
             the log covers 2026-11-24 04:34:31 UTC .. 2026-11-24 04:35:12 UTC.";
    assert_eq!(r["warnings"][0], w);
    assert!(err.contains(w), "{err}");
    assert_eq!(r["range"]["matched_nothing"], true);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = run(
        &[
            p,
            "--begin",
            "05:40",
            "--end",
            "05:41",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains(w));
    // The whole log's report says these settings look off; the empty slice must not.
    let (_, full) = html_report(&[p], dir.path());
    for claim in ["log_lock_waits is off", "No bind parameters in this log"] {
        assert!(full.contains(claim), "{claim}");
        assert!(!html.contains(claim), "{claim}");
    }
}

#[test]
fn a_time_of_day_on_a_log_over_two_days_is_its_first_day_and_says_so() {
    // a1_pgbadger, then the same lines a day later (a rotated pair of files in one).
    let dir = tempfile::tempdir().unwrap();
    let day1 = std::fs::read_to_string(log("a1_pgbadger")).unwrap();
    let day2 = day1.replace("2026-11-24 ", "2026-11-25 ");
    let both = dir.path().join("two_days.log");
    std::fs::write(&both, format!("{day1}{day2}")).unwrap();
    let first = dir.path().join("day1.log");
    std::fs::write(&first, &day1).unwrap();
    let (n, ms) = awk_statements(&first, "04:34:40.000", "04:34:50.000");
    assert!(n > 100, "{n}");
    let b = both.to_str().unwrap();
    let (code, r, err) = report_and_code(&[b, "--begin", "04:34:40", "--end", "04:34:50"]);
    assert_eq!(code, Some(0), "a warning, not a partial report: {err}");
    let r = r.unwrap();
    assert_eq!(r["totals"]["statements"], n);
    assert!(same_ms(r["totals"]["total_ms"].as_f64().unwrap(), ms));
    let w = r["warnings"][0].as_str().unwrap();
    assert!(w.starts_with("The log runs over several days"), "{w}");
    assert!(err.contains(w), "{err}");
    // A date picks the other day: the same figures, a day later.
    let r = json_report(
        &[
            b,
            "--begin",
            "2026-11-25 04:34:40",
            "--end",
            "2026-11-25 04:34:50",
        ],
        None,
    );
    assert_eq!(r["totals"]["statements"], n);
    assert_eq!(r["span"]["begin"].as_str().unwrap()[..10], *"2026-11-25");
    assert_eq!(r["warnings"], serde_json::json!([]));
}
