//! The formats of managed services and syslog users: Heroku logplex, Cloud SQL through
//! Cloud Logging, CloudNativePG, quoted csvlog (logs built by scripts/make_cloud_logs.py
//! around real csvlog records), and a real syslog log whose prefix has no time or pid.
//! Every expected figure is counted from the records' own fields (expected.json).

use crate::util::{expected, json_report, root, same_ms};
use serde_json::Value;
use std::collections::BTreeMap;

fn file(name: &str, f: &str) -> String {
    let p = root().join("testdata").join(name).join(f);
    p.to_str().unwrap().to_string()
}

/// name → count of a report list (databases, users).
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn want_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// Checks a report of one of the built logs against the records' figures.
/// `attributed`: the format carries database and user (Heroku's prefix does not).
fn check(r: &Value, e: &Value, format: &str, foreign: &str, attributed: bool) {
    let i = &r["inputs"][0];
    assert_eq!(i["format"], format);
    assert_eq!(i["skipped_lines"], 0, "{:?}", i["skipped_examples"]);
    assert_eq!(i["entries"], e["records"]);
    assert_eq!(i["foreign_lines"], e[foreign]);
    let t = &r["totals"];
    assert_eq!(t["statements"], e["duration_statements"]);
    assert!(same_ms(
        t["total_ms"].as_f64().unwrap(),
        e["duration_statements_ms"].as_f64().unwrap()
    ));
    assert_eq!(t["protocol_steps"], e["protocol_steps"]);
    assert_eq!(t["errors"], e["errors"]);
    assert_eq!(t["connections"], e["connections"]);
    assert_eq!(r["span"]["begin"], e["begin"]);
    assert_eq!(r["span"]["end"], e["end"]);
    if attributed {
        assert_eq!(counts(&r["databases"]), want_counts(&e["by_database"]));
        assert_eq!(counts(&r["users"]), want_counts(&e["by_user"]));
    }
}

#[test]
fn heroku_logs_and_drain_give_the_records_figures() {
    let e = expected("heroku");
    let r = json_report(&[&file("heroku", "postgresql.log")], None);
    check(&r, &e, "heroku", "foreign_lines", false);
    assert_eq!(r["inputs"][0]["prefix"], "sql_error_code = %e ");
    assert_eq!(r["inputs"][0]["lines"], e["lines"]);
    // Chunks cut anywhere, and `--format` naming it, change nothing.
    let small = json_report(
        &[
            &file("heroku", "postgresql.log"),
            "--format",
            "heroku",
            "--chunk-size",
            "4000",
        ],
        None,
    );
    assert_eq!(r["totals"], small["totals"]);
    assert_eq!(r["queries"], small["queries"]);
    let d = json_report(&[&file("heroku", "drain.log")], None);
    check(&d, &e, "heroku", "drain_foreign_lines", false);
    assert_eq!(d["inputs"][0]["lines"], e["drain_lines"]);
}

#[test]
fn cloud_sql_lines_and_array_export_give_the_records_figures() {
    let e = expected("cloudsql");
    let lines = json_report(&[&file("cloudsql", "postgresql.jsonl")], None);
    check(&lines, &e, "cloudsql", "foreign_lines", true);
    assert_eq!(
        lines["inputs"][0]["prefix"],
        "%m [%p]: [%l-1] db=%d,user=%u "
    );
    // The array export lists the newest entry first, pretty-printed.
    let array = json_report(&[&file("cloudsql", "export.json")], None);
    check(&array, &e, "cloudsql", "foreign_lines", true);
    // Equal durations are ranked by file position, which the export reverses: compare
    // each fingerprint's figures, not its samples.
    let per_query = |r: &Value| -> Vec<(String, u64, String)> {
        let mut v: Vec<_> = r["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (
                    q["fingerprint"].as_str().unwrap().to_string(),
                    q["count"].as_u64().unwrap(),
                    q["total_ms"].to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(per_query(&lines), per_query(&array));
    assert_eq!(
        lines["errors"]["by_sqlstate"],
        array["errors"]["by_sqlstate"]
    );
    let small = json_report(
        &[
            &file("cloudsql", "postgresql.jsonl"),
            "--format",
            "cloudsql",
            "--chunk-size",
            "5000",
        ],
        None,
    );
    assert_eq!(lines["totals"], small["totals"]);
}

#[test]
fn cloudnativepg_json_gives_the_records_figures() {
    let e = expected("cloudnativepg");
    let r = json_report(&[&file("cloudnativepg", "postgresql.json")], None);
    check(&r, &e, "cloudnativepg", "foreign_lines", true);
    let small = json_report(
        &[
            &file("cloudnativepg", "postgresql.json"),
            "--format",
            "cloudnativepg",
            "--chunk-size",
            "3000",
        ],
        None,
    );
    assert_eq!(r["totals"], small["totals"]);
    assert_eq!(r["queries"], small["queries"]);
}

#[test]
fn csvlog_with_every_field_quoted_or_none_is_detected_and_read() {
    let e = expected("csv_quoted");
    for f in ["all-quoted.csv", "minimal-quotes.csv"] {
        let r = json_report(&[&file("csv_quoted", f)], None);
        check(&r, &e, "csv", "no_such_key", true);
    }
}

/// Regression: with a log_line_prefix without %t/%m/%p, syslog logs lost every
/// timestamp (span `? .. ?`, no timeline, --begin ignored).
#[test]
fn syslog_without_time_in_the_prefix_takes_the_headers_time_and_pid() {
    let e = expected("syslog_noprefix");
    let iso = json_report(&[&file("syslog_noprefix", "postgresql-iso.log")], None);
    let trad = json_report(
        &[&file("syslog_noprefix", "postgresql.log"), "--year", "2026"],
        None,
    );
    for r in [&iso, &trad] {
        assert_eq!(r["inputs"][0]["prefix"], "user=%u,db=%d ");
        assert_eq!(r["inputs"][0]["skipped_lines"], 0);
        assert_eq!(r["totals"]["statements"], e["duration_statements"]);
        assert!(same_ms(
            r["totals"]["total_ms"].as_f64().unwrap(),
            e["duration_statements_ms"].as_f64().unwrap()
        ));
        assert_eq!(r["totals"]["errors"], e["errors"]);
        assert_eq!(counts(&r["databases"]), want_counts(&e["by_database"]));
        assert!(!r["timeline"]["windows"].as_array().unwrap().is_empty());
    }
    // rsyslog stamps a line when it receives it: within a second after PostgreSQL's time.
    let ms = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
            .unwrap()
            .timestamp_millis()
    };
    let (first, last) = (ms(&e["first"]), ms(&e["last"]));
    // (The syslog file also has the line PostgreSQL wrote before its logging collector
    // started, which the csvlog lacks.)
    let near = |a: i64, b: i64| (a - b).abs() < 1000;
    assert!(
        near(ms(&iso["span"]["begin"]), first),
        "{} vs {first}",
        iso["span"]["begin"]
    );
    assert!(near(ms(&iso["span"]["end"]), last));
    // The traditional header has whole seconds and no year.
    assert_eq!(
        ms(&trad["span"]["begin"]),
        ms(&iso["span"]["begin"]) / 1000 * 1000
    );
    let other_year = json_report(
        &[&file("syslog_noprefix", "postgresql.log"), "--year", "2025"],
        None,
    );
    assert!(other_year["span"]["begin"]
        .as_str()
        .unwrap()
        .starts_with("2025-11-30T"));
    // Without --year the file's mtime dates it (a checkout within a year of the run).
    let mtime = json_report(&[&file("syslog_noprefix", "postgresql.log")], None);
    assert_eq!(mtime["totals"], trad["totals"]);
    // --begin now cuts the log: a second no record is near.
    let cut = e["begin_cut"].as_str().unwrap();
    for f in ["postgresql.log", "postgresql-iso.log"] {
        let r = json_report(
            &[
                &file("syslog_noprefix", f),
                "--year",
                "2026",
                "--begin",
                cut,
            ],
            None,
        );
        assert_eq!(r["totals"]["statements"], e["statements_from_cut"], "{f}");
        assert!(r["inputs"][0]["filtered_entries"].as_u64().unwrap() > 0);
    }
}
