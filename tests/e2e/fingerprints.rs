//! `--max-fingerprints`: past the cap the rows with the least total time fold into one
//! "other" row whose counts and totals stay exact, the same with any number of threads.
//!
//! The log is real PostgreSQL lines (testdata/a1_pgbadger's `duration: ... statement:`
//! line) with the relation, column and constant varied; the expected figures are read
//! back from the log's own text, line by line, as grep and awk would.

use crate::util::{json_report, run, without_run};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Statements: 300 distinct, statement `i` run `i % 4 + 1` times, spread over the log
/// so a statement recurs in later chunks.
fn write_log(path: &Path) {
    let mut out = String::new();
    let mut n = 0u64;
    for round in 0..4u64 {
        for i in 0..300u64 {
            if round > i % 4 {
                continue;
            }
            n += 1;
            // Distinct total times per statement: no ties in the ranking.
            let us = 1_000 + i * 1_009 + round * 7;
            out.push_str(&format!(
                "2026-11-24 04:{:02}:{:02} UTC [{}]: [{n}-1] user=app_rw,db=bench,app=pgbench,client=127.0.0.1 LOG:  duration: {}.{:03} ms  statement: SELECT c_{}_{i} FROM s{}.tbl_{i} WHERE id = {};\n",
                35 + round,
                i % 60,
                25000 + i % 40,
                us / 1000,
                us % 1000,
                i % 97,
                i % 13,
                i * 31 + round,
            ));
        }
    }
    std::fs::write(path, out).expect("write log");
}

/// (statement text after `statement: `, µs) of every line, as awk would read them.
fn lines(path: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| {
            let d = l.split("duration: ").nth(1).expect("duration");
            let ms = d.split(" ms").next().expect("ms");
            let (whole, frac) = ms.split_once('.').expect("decimal");
            let us = whole.parse::<u64>().expect("ms") * 1000 + frac.parse::<u64>().expect("µs");
            // The statement without its constant: what the fingerprint stands for.
            let sql = l.split("statement: ").nth(1).expect("statement");
            let shape = sql.split(" WHERE").next().expect("shape").to_string();
            (shape, us)
        })
        .collect()
}

fn sum_f(v: &Value, key: &str) -> f64 {
    v["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .map(|q| q[key].as_f64().expect("number"))
        .sum()
}

#[test]
fn folded_rows_keep_exact_counts_and_totals_with_any_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("postgresql.log");
    write_log(&log);
    let lines = lines(&log);
    let statements = lines.len() as u64;
    let total_us: u64 = lines.iter().map(|l| l.1).sum();
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for (s, us) in &lines {
        *per.entry(s).or_default() += us;
    }
    assert_eq!(per.len(), 300);
    let l = log.to_str().expect("utf-8");
    // Small chunks: the cap falls on each chunk, each group of chunks and the input,
    // and statements folded early come back later.
    for chunk in ["1000000", "4096"] {
        let args = |j: &'static str| {
            vec![
                l,
                "--max-fingerprints",
                "50",
                "-j",
                j,
                "--chunk-size",
                chunk,
            ]
        };
        let one = json_report(&args("1"), None);
        let two = json_report(&args("2"), None);
        assert_eq!(without_run(one.clone()), without_run(two), "chunk {chunk}");
        let f = &one["folded"];
        assert_eq!(f["max_fingerprints"], 50);
        assert_eq!(one["queries"].as_array().map(Vec::len), Some(50));
        assert_eq!(one["totals"]["statements"].as_u64(), Some(statements));
        assert_eq!(
            sum_f(&one, "count") as u64 + f["count"].as_u64().expect("count"),
            statements,
            "chunk {chunk}"
        );
        let ms = sum_f(&one, "total_ms") + f["total_ms"].as_f64().expect("total");
        assert!(
            (ms - total_us as f64 / 1000.0).abs() < 1e-6,
            "{ms} {total_us}"
        );
        assert!(one["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w
                .as_str()
                .is_some_and(|w| w.contains("were folded into one \"other\" row"))));
        if chunk == "1000000" {
            // One chunk: each statement is folded once, whole, and the 50 kept are the
            // 50 with the most total time.
            assert_eq!(f["fingerprints"].as_u64(), Some(250));
            let mut by_total: Vec<(u64, &str)> = per.iter().map(|(s, us)| (*us, *s)).collect();
            by_total.sort_unstable_by(|a, b| b.cmp(a));
            let want: Vec<f64> = by_total[..50].iter().map(|t| t.0 as f64 / 1000.0).collect();
            let got: Vec<f64> = one["queries"]
                .as_array()
                .expect("queries")
                .iter()
                .map(|q| q["total_ms"].as_f64().expect("total"))
                .collect();
            assert_eq!(got, want);
            let folded_max = by_total[50..].iter().map(|t| t.0).max().unwrap_or(0);
            assert!(f["max_ms"].as_f64().expect("max") * 1000.0 <= folded_max as f64);
        }
    }
}

#[test]
fn the_text_and_html_reports_say_what_was_folded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("postgresql.log");
    write_log(&log);
    let html = dir.path().join("r.html");
    let o = run(
        &[
            log.to_str().expect("utf-8"),
            "--max-fingerprints",
            "10",
            "-o",
            "-",
            "-o",
            html.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("other: 290 fingerprints folded"), "{text}");
    let html = std::fs::read_to_string(html).expect("html");
    assert!(html.contains("290 fingerprints folded past --max-fingerprints 10"));
}

#[test]
fn under_the_cap_nothing_is_folded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("postgresql.log");
    write_log(&log);
    let r = json_report(&[log.to_str().expect("utf-8")], None);
    assert!(r.get("folded").is_none());
    assert_eq!(r["totals"]["fingerprints"].as_u64(), Some(300));
}
