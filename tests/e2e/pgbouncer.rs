//! PgBouncer's log (a real PgBouncer 1.18 in front of a real PostgreSQL 15, made by
//! testdata/pgbouncer/make.sh): read on its own, its figures equal the counts that
//! expected.py makes with regular expressions; read with the server's log of the same
//! run, the server's figures are those of the server's log alone.

use crate::util::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn file(f: &str) -> String {
    root()
        .join("testdata/pgbouncer")
        .join(f)
        .to_str()
        .unwrap()
        .to_string()
}

fn counts(list: &Value, key: fn(&Value) -> String) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for x in list.as_array().unwrap() {
        *m.entry(key(x)).or_default() += x["count"].as_u64().unwrap();
    }
    m
}

fn as_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// Checks the `pgbouncer` key against expected.json.
fn assert_expected(pb: &Value) {
    let e = expected("pgbouncer");
    for k in [
        "lines",
        "login_attempts",
        "login_failures",
        "warnings",
        "errors",
    ] {
        assert_eq!(pb[k], e[k], "{k}");
    }
    let closings = counts(&pb["closings"], |c| {
        format!(
            "{} {}",
            c["side"].as_str().unwrap(),
            c["reason"].as_str().unwrap()
        )
    });
    assert_eq!(closings, as_counts(&e["closings"]));
    let messages = counts(&pb["messages"], |m| {
        format!(
            "{} {}",
            m["level"].as_str().unwrap(),
            m["message"].as_str().unwrap()
        )
    });
    assert_eq!(messages, as_counts(&e["messages"]));
    let mut pools = BTreeMap::new();
    for p in pb["pools"].as_array().unwrap() {
        let name = format!(
            "{}/{}",
            p["database"].as_str().unwrap(),
            p["user"].as_str().unwrap()
        );
        let counts: BTreeMap<String, u64> = ["logins", "login_failures", "warnings", "errors"]
            .iter()
            .filter(|k| p[**k].as_u64().unwrap() > 0)
            .map(|k| (k.to_string(), p[*k].as_u64().unwrap()))
            .collect();
        pools.insert(name, counts);
    }
    let want: BTreeMap<String, BTreeMap<String, u64>> = e["pools"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), as_counts(v)))
        .collect();
    assert_eq!(pools, want);
    let (s, es) = (&pb["stats"], &e["stats"]);
    assert_eq!(s["lines"], es["lines"]);
    assert_eq!(s["sum_xacts_per_s"], es["sum_xacts_per_s"]);
    assert_eq!(s["sum_queries_per_s"], es["sum_queries_per_s"]);
    assert!(same_ms(
        s["max_wait_ms"].as_f64().unwrap(),
        es["max_wait_us"].as_f64().unwrap() / 1000.0
    ));
    // The windows hold every line once.
    let windows = pb["windows"].as_array().unwrap();
    let sum = |k: &str| windows.iter().map(|w| w[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("lines"), e["lines"].as_u64().unwrap());
    assert_eq!(sum("logins"), e["login_attempts"].as_u64().unwrap());
    assert_eq!(sum("login_failures"), e["login_failures"].as_u64().unwrap());
    let stats_lines: u64 = windows
        .iter()
        .map(|w| w["stats"]["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(stats_lines, es["lines"].as_u64().unwrap());
}

#[test]
fn pgbouncer_log_alone_equals_the_regex_counts() {
    let r = json_report(&[&file("pgbouncer.log")], None);
    assert_eq!(r["inputs"][0]["format"], "pgbouncer");
    assert_eq!(r["inputs"][0]["skipped_lines"], 0);
    assert_expected(&r["pgbouncer"]);
    assert_eq!(
        r["pgbouncer"]["windows"].as_array().unwrap().len(),
        r["timeline"]["windows"].as_array().unwrap().len()
    );
    // Nothing the pooler says is counted as the server's.
    assert_eq!(r["totals"]["statements"], 0);
    assert_eq!(r["totals"]["errors"], 0);
    assert_eq!(r["totals"]["connections"], 0);
    // ...nor is the server's logging judged from it.
    let notes = r["log_facts"]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0]
        .as_str()
        .unwrap()
        .starts_with("Only PgBouncer's log"));
    // --format names it too.
    let forced = json_report(&[&file("pgbouncer.log"), "--format", "pgbouncer"], None);
    assert_eq!(without_run(forced), without_run(r));
}

/// The report without what a second input may legitimately change: the inputs (and
/// `server`, named by them), the span and what is drawn over it (timeline, spans out of
/// baseline), the pooler's part.
fn server_part(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    for k in [
        "run",
        "inputs",
        "server",
        "span",
        "timeline",
        "anomalies",
        // Found on the timeline's windows, which PgBouncer's lines extend, like anomalies.
        "findings",
        "pgbouncer",
    ] {
        o.remove(k);
    }
    v
}

fn windows_by_start(v: &Value) -> Map<String, Value> {
    v["timeline"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["start"].as_str().unwrap().to_string(), w.clone()))
        .collect()
}

#[test]
fn server_and_pgbouncer_logs_in_one_report() {
    let server = json_report(&[&file("postgresql.log")], None);
    let both = json_report(&[&file("postgresql.log"), &file("pgbouncer.log")], None);
    assert!(server.get("pgbouncer").is_none());
    assert!(server["totals"]["statements"].as_u64().unwrap() > 100);
    assert!(server["totals"]["errors"].as_u64().unwrap() > 0);
    assert_eq!(server_part(both.clone()), server_part(server.clone()));
    assert_expected(&both["pgbouncer"]);
    // Every window of the server's own timeline has the same server figures.
    assert_eq!(
        both["timeline"]["window_seconds"],
        server["timeline"]["window_seconds"]
    );
    let all = windows_by_start(&both);
    for (start, w) in windows_by_start(&server) {
        assert_eq!(all.get(&start), Some(&w), "window {start}");
    }
    let formats: Vec<&str> = both["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["stderr", "pgbouncer"]);
}

#[test]
fn pgbouncer_with_one_thread_or_two_and_many_chunks_gives_identical_json() {
    let (s, p) = (file("postgresql.log"), file("pgbouncer.log"));
    let one = without_run(json_report(&[&s, &p, "-j", "1"], None));
    let two = without_run(json_report(
        &[&s, &p, "-j", "2", "--chunk-size", "2000"],
        None,
    ));
    assert!(one == two, "-j 1 and -j 2 differ");
    let alone = without_run(json_report(&[&p, "-j", "1"], None));
    let streamed = json_report(
        &["-", "-j", "2", "--chunk-size", "1500"],
        Some(Path::new(&p)),
    );
    assert!(alone == without_run(streamed), "stdin in chunks differs");
}

#[test]
fn pgbouncer_section_in_html_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(
        &[&file("postgresql.log"), &file("pgbouncer.log")],
        dir.path(),
    );
    assert!(html.contains(r#"<section id="pgbouncer">"#));
    assert!(html.contains("PgBouncer: average client wait for a server"));
    assert!(html.contains("login failures"));
    // Log text is escaped: the quotes around a database name.
    assert!(!html.contains(r#"database "ghost" does not exist"#));
    assert!(html.contains("ghost"));
    let o = run(&[&file("pgbouncer.log"), "-o", "-"], None);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let e = expected("pgbouncer");
    let line = format!(
        "pgbouncer: {} lines, {} login attempts, {} login failures",
        e["lines"], e["login_attempts"], e["login_failures"]
    );
    assert!(text.contains(&line), "{text}");
}

/// `--begin` applies to the pooler's lines as to the server's: the figures of the lines
/// at or after the instant, counted here from the log text.
#[test]
fn begin_filters_pgbouncer_lines() {
    let text = std::fs::read_to_string(file("pgbouncer.log")).unwrap();
    let after: Vec<&str> = text
        .lines()
        .filter(|l| l.get(..19).is_some_and(|t| t >= "2026-11-30 22:49:20"))
        .collect();
    let logins = after
        .iter()
        .filter(|l| l.contains(" login attempt: "))
        .count();
    assert!(logins > 0 && after.len() < text.lines().count());
    let r = json_report(
        &[&file("pgbouncer.log"), "--begin", "2026-11-30 22:49:20"],
        None,
    );
    assert_eq!(r["pgbouncer"]["lines"], after.len() as u64);
    assert_eq!(r["pgbouncer"]["login_attempts"], logins as u64);
    assert_eq!(
        r["inputs"][0]["filtered_entries"],
        (text.lines().count() - after.len()) as u64
    );
}
