//! The command line as a user meets it: outputs, exit codes, one-line errors, bad input.

use crate::util::*;
use std::io::Write;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn missing_file_is_its_verdict_and_exit_1() {
    let o = run(&["/nonexistent/postgresql.log"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    // The input's verdict, then that no report was written.
    assert_eq!(e.lines().count(), 2, "{e}");
    assert!(
        e.starts_with("pgferret: /nonexistent/postgresql.log: unreadable: "),
        "{e}"
    );
    assert!(
        e.contains("nothing could be read, no report written"),
        "{e}"
    );
}

#[test]
fn a_file_that_is_not_a_log_asks_for_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "\nshopping list\nmilk, eggs\n").unwrap();
    let o = run(&[p.to_str().unwrap(), "-o", "-"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 2, "{e}");
    assert!(
        e.starts_with(&format!("pgferret: {}: passed over", p.display())),
        "{e}"
    );
    assert!(e.contains("line 2 reads \"shopping list\""), "{e}");
    assert!(e.contains("--prefix"), "{e}");
}

/// Counting never depends on the prefix: with a wrong `--prefix` every statement is
/// still counted, nobody is named, and the run says so and exits 3.
#[test]
fn a_wrong_prefix_still_counts_but_names_nobody_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = run(
        &[
            log("a1_pgbadger").to_str().unwrap(),
            "--prefix",
            "%m [%p] ",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("matched no log_line_prefix"),
        "{}",
        stderr(&o)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let want = expected("a1_pgbadger");
    assert_eq!(r["totals"]["statements"], want["duration_statements"]);
    let users = r["users"].as_array().unwrap();
    assert!(users.iter().all(|u| u["name"] == ""), "{users:?}");
}

#[test]
fn bad_arguments_exit_2() {
    let l = log("a1_pgbadger");
    let l = l.to_str().unwrap();
    for args in [
        vec![],
        vec![l, "--window", "soon"],
        vec![l, "-o", "report.pdf"],
        vec![l, "--begin", "yesterday"],
        vec![l, "--prefix", "%z"],
        vec![l, "-j", "0"],
        vec![l, "--no-such-flag"],
    ] {
        let o = run(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("pgferret") || stderr(&o).contains("error"),
            "{args:?}"
        );
    }
}

#[test]
fn unparseable_lines_are_counted_with_file_and_line_and_nothing_else_is_lost() {
    let src = std::fs::read_to_string(log("a1_pgbadger")).unwrap();
    let lines: Vec<&str> = src.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("damaged.log");
    let mut f = std::fs::File::create(&p).unwrap();
    for (i, l) in lines.iter().enumerate() {
        writeln!(f, "{l}").unwrap();
        if i == 99 {
            writeln!(f, "#### disk full, line truncated ####").unwrap();
        }
        if i == 5000 {
            f.write_all(b"\xff\xfe binary junk \x00\x01\n").unwrap();
        }
    }
    drop(f);
    let damaged = json_report(&[p.to_str().unwrap(), "--chunk-size", "50000"], None);
    let clean = json_report(&[log("a1_pgbadger").to_str().unwrap()], None);
    let i = &damaged["inputs"][0];
    assert_eq!(i["skipped_lines"], 2);
    let ex = i["skipped_examples"].as_array().unwrap();
    assert!(
        ex[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:101: ####", p.display())),
        "{ex:?}"
    );
    assert!(
        ex[1]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:5003: ", p.display())),
        "{ex:?}"
    );
    assert_eq!(
        damaged["totals"]["statements"],
        clean["totals"]["statements"]
    );
    assert_eq!(damaged["totals"]["total_ms"], clean["totals"]["total_ms"]);
    // And the user is told on stderr, with file:line.
    let o = run(&[p.to_str().unwrap(), "-o", "-"], None);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains(&format!("warning: skipped line {}:101:", p.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn default_run_writes_the_html_report_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let o = pgferret()
        .arg(log("a3_ddl_extended"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("pgferret-report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let e = stderr(&o);
    assert!(e.contains("statements: 2,995 in "), "{e}");
    assert!(e.contains("report written to pgferret-report.html"), "{e}");
}

#[test]
fn dash_output_writes_the_summary_to_stdout() {
    let o = run(&[log("a1_pgbadger").to_str().unwrap(), "-o", "-"], None);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("statements: 8,037 in "), "{out}");
    assert!(out.contains("top queries by total time"));
}

#[test]
fn html_is_self_contained_and_escapes_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.log");
    let evil = "2026-11-24 04:34:32 UTC [7]: [1-1] user=<script>alert(1)</script>,db=x\" onmouseover=\"alert(2),app=javascript:alert(3),client=h LOG:  duration: 1.000 ms  statement: SELECT '</textarea><script>alert(4)</script>' AS x /* <img src=x onerror=alert(5)> */\n";
    std::fs::write(&p, evil.repeat(3)).unwrap();
    let out = dir.path().join("r.html");
    // Values no inference would name: the prefix is given.
    let o = run(
        &[
            p.to_str().unwrap(),
            "--prefix",
            EVIL_PREFIX,
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        1,
        "a <script> came through"
    );
    assert!(html.contains(&format!(
        "<script>{}</script>",
        pgferret::report::html::SCRIPT
    )));
    assert!(!html.contains("<img"));
    assert!(!html.contains("\" onmouseover="));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;/textarea&gt;"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network resource"
    );
    // No tag loads anything or runs anything: look at every real tag.
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let t = tag.to_ascii_lowercase();
        assert!(!t.contains("src=") && !t.contains(" on"), "tag <{tag}>");
    }
}

#[test]
fn json_output_has_the_documented_fields() {
    let r = json_report(&[log("a1_pgbadger").to_str().unwrap()], None);
    for k in [
        "run",
        "inputs",
        "span",
        "totals",
        "queries",
        "timeline",
        "locks",
        "deadlocks",
        "errors",
        "temp_files",
        "checkpoints",
        "maintenance",
        "sessions",
        "ddl",
        "server_events",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    for k in [
        "lock_waits",
        "lock_wait_ms",
        "deadlocks",
        "cancellations",
        "errors",
        "temp_files",
        "temp_bytes",
        "checkpoints",
        "autovacuums",
        "autoanalyzes",
        "connections",
        "disconnections",
    ] {
        assert!(r["totals"].get(k).is_some(), "totals missing {k}");
        assert!(
            r["timeline"]["windows"][0].get(k).is_some(),
            "windows[] missing {k}"
        );
    }
    let q = &r["queries"][0];
    for k in [
        "fingerprint",
        "query",
        "count",
        "total_ms",
        "min_ms",
        "max_ms",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "first_seen",
        "last_seen",
        "samples",
        "lock_waits",
        "lock_wait_ms",
        "cancellations",
        "errors",
        "temp_files",
        "temp_bytes",
    ] {
        assert!(q.get(k).is_some(), "queries[] missing {k}");
    }
    assert_eq!(q["fingerprint"].as_str().unwrap().len(), 16);
    for k in [
        "path",
        "format",
        "prefix",
        "bytes",
        "lines",
        "entries",
        "skipped_lines",
    ] {
        assert!(r["inputs"][0].get(k).is_some(), "inputs[] missing {k}");
    }
    assert_eq!(r["span"]["begin"], "2026-11-24T04:34:31.000Z");
    let w = &r["timeline"]["windows"][0];
    for k in [
        "start",
        "statements",
        "total_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    ] {
        assert!(w.get(k).is_some(), "windows[] missing {k}");
    }
    assert_eq!(
        r["inputs"][0]["bytes"],
        std::fs::metadata(log("a1_pgbadger")).unwrap().len()
    );
}

#[test]
fn tz_shows_times_in_the_stated_zone_and_json_stays_utc() {
    // a2 was written with log_timezone = Europe/Berlin: its first line says 05:35:14.949 CET.
    let l = log("a2_debian");
    let l = l.to_str().unwrap();
    let o = run(&[l, "--tz", "Europe/Berlin", "-o", "-"], None);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("span: 2026-11-24 05:35:14.949 .. 2026-11-24 05:35:56.698 Europe/Berlin"),
        "{out}"
    );
    let berlin = json_report(&[l, "--tz", "Europe/Berlin"], None);
    let utc = json_report(&[l, "--tz", "UTC"], None);
    assert_eq!(berlin["time_zone"], "Europe/Berlin");
    assert_eq!(utc["time_zone"], "UTC");
    assert_eq!(berlin["span"], utc["span"]);
    assert_eq!(utc["span"]["begin"], "2026-11-24T04:35:14.949Z");
    assert_eq!(
        run(&[l, "--tz", "Mars/Olympus"], None).status.code(),
        Some(2)
    );
}

/// Regression: a named pipe (`pgferret <(zcat old.log.gz)`) lost its first bytes when
/// it was reopened after the compression check.
#[test]
fn a_named_pipe_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success());
    if ok.ok() != Some(true) {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    let src = log("a1_pgbadger");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let data = std::fs::read(src).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(fifo)
                .unwrap()
                .write_all(&data)
                .unwrap();
        })
    };
    let r = json_report(&[fifo.to_str().unwrap()], None);
    writer.join().unwrap();
    assert_eq!(r["inputs"][0]["skipped_lines"], 0);
    assert_eq!(r["totals"]["statements"], 8037);
}

/// Regression: absurd numbers in a log (a damaged or forged file) overflowed sums and
/// panicked in debug builds; they are bad input, never a crash.
#[test]
fn absurd_numbers_never_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("absurd.log");
    let pre = "2026-11-24 04:34:32 UTC [7]: [1-1] user=u,db=d,app=a,client=h";
    let log = format!(
        "{pre} LOG:  duration: 18446744073709551.615 ms  statement: SELECT 1\n\
         {pre} LOG:  duration: 18446744073709551.615 ms  statement: SELECT 1\n\
         {pre} LOG:  duration: 9999999999999.999 ms  statement: SELECT 2\n\
         {pre} LOG:  duration: 9999999999999.999 ms  statement: SELECT 2\n\
         {pre} LOG:  temporary file: path \"base/pgsql_tmp/a\", size 18446744073709551615\n\
         {pre} STATEMENT:  SELECT 3\n\
         {pre} LOG:  temporary file: path \"base/pgsql_tmp/b\", size 18446744073709551615\n\
         {pre} STATEMENT:  SELECT 3\n\
         {pre} LOG:  disconnection: session time: 9999999999999999999:00:00.000 user=u database=d host=h\n\
         {pre} LOG:  checkpoint complete: wrote 1 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=18446744073709.999999 s, sync=0.001 s, total=18446744073709.999 s; sync files=1, longest=0.001 s, average=0.001 s; distance=1 kB, estimate=1 kB\n\
         {pre} LOG:  checkpoint complete: wrote 1 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=18446744073709.999999 s, sync=0.001 s, total=18446744073709.999 s; sync files=1, longest=0.001 s, average=0.001 s; distance=1 kB, estimate=1 kB\n"
    );
    std::fs::write(&p, log).unwrap();
    let o = run(&[p.to_str().unwrap(), "-o", "-"], None);
    assert!(o.status.success(), "{}", stderr(&o));
}
