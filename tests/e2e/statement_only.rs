//! Logs written by `log_statement` without durations, or with durations only for slow
//! statements (testdata/statement_only/, made by its make.sh on a real PostgreSQL 15):
//! every execution counts once per fingerprint, latency is over the timed ones only and
//! is said to be unknown where none is timed. Expected figures: expected.json (python
//! over the log) and the server's pg_stat_statements.csv.

use crate::corpus::pgss_calls;
use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;

const CASES: &[&str] = &["a_all_noduration", "b_all_lmds", "c_mod"];

fn name(case: &str) -> String {
    format!("statement_only/{case}")
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// fingerprint → (count, timed) of the report's queries that ran.
fn ours(r: &Value) -> BTreeMap<String, (u64, u64)> {
    r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| n(q, "count") > 0)
        .map(|q| {
            let fp = q["fingerprint"].as_str().unwrap().to_string();
            (fp, (n(q, "count"), n(q, "timed")))
        })
        .collect()
}

#[test]
fn statement_only_totals_equal_python_counts() {
    for case in CASES {
        let name = name(case);
        let r = json_report(&[log(&name).to_str().unwrap(), "-j", "2"], None);
        let (e, t) = (expected(&name), &r["totals"]);
        assert!(n(&e, "executions") > 300, "{case}: a real workload");
        assert_eq!(
            n(t, "statements"),
            n(&e, "executions"),
            "{case}: executions"
        );
        assert_eq!(n(t, "timed_statements"), n(&e, "timed"), "{case}: timed");
        assert_eq!(n(t, "untimed_statements"), n(&e, "untimed"), "{case}");
        assert_eq!(n(t, "failed_statements"), n(&e, "failed"), "{case}: failed");
        assert_eq!(
            n(t, "orphan_durations"),
            n(&e, "orphan_durations"),
            "{case}"
        );
        assert_eq!(n(t, "protocol_steps"), n(&e, "protocol_steps"), "{case}");
        let want_ms =
            e["timed_ms"].as_f64().unwrap() + e["duration_statements_ms"].as_f64().unwrap();
        assert!(
            same_ms(t["total_ms"].as_f64().unwrap(), want_ms),
            "{case}: total_ms"
        );
        assert_eq!(n(&r["inputs"][0], "lines"), n(&e, "lines"), "{case}: lines");
        assert_eq!(n(&r["inputs"][0], "skipped_lines"), 0, "{case}: skipped");
        let q = ours(&r);
        assert_eq!(
            q.values().map(|c| c.0).sum::<u64>(),
            n(t, "statements"),
            "{case}"
        );
        assert_eq!(
            q.values().map(|c| c.1).sum::<u64>(),
            n(&e, "timed"),
            "{case}"
        );
        let windows: u64 = r["timeline"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| n(w, "statements"))
            .sum();
        assert_eq!(windows, n(t, "statements"), "{case}: windows add up");
    }
}

#[test]
fn statement_only_counts_per_fingerprint_equal_pg_stat_statements_calls() {
    // log_statement = all: every completed top-level statement is in the log (pgbench
    // -M simple and -M extended: no BEGIN/END undercount, which is -M prepared's trap).
    for case in ["a_all_noduration", "b_all_lmds"] {
        let name = name(case);
        let pgss = pgss_calls(&name);
        let ours = ours(&json_report(&[log(&name).to_str().unwrap()], None));
        for (fp, (calls, text)) in &pgss {
            assert_eq!(ours.get(fp).map(|c| c.0), Some(*calls), "{case}: {text}");
        }
        for fp in ours.keys() {
            assert!(pgss.contains_key(fp), "{case}: {fp} unknown to pgss");
        }
        assert_eq!(ours.len(), pgss.len(), "{case}");
    }
}

#[test]
fn log_statement_mod_counts_only_the_modifications() {
    let name = name("c_mod");
    let pgss = pgss_calls(&name);
    let r = json_report(&[log(&name).to_str().unwrap()], None);
    let ours = ours(&r);
    let first_word = |s: &str| {
        let w: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        w.to_ascii_uppercase()
    };
    let modifies = [
        "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "TRUNCATE",
    ];
    let mut modifications = 0;
    for (fp, (calls, text)) in &pgss {
        let logged = modifies.contains(&first_word(text).as_str());
        let got = ours.get(fp).map(|c| c.0);
        if logged {
            assert_eq!(got, Some(*calls), "a modification: {text}");
            modifications += calls;
        } else {
            assert_eq!(got, None, "not a modification, not logged: {text}");
        }
    }
    assert!(modifications > 100);
    assert_eq!(n(&r["totals"], "statements"), modifications);
}

#[test]
fn a_statement_timed_by_a_later_duration_line_counts_once_with_that_duration() {
    // b: log_statement = all with log_min_duration_statement = 1ms. PostgreSQL logs each
    // statement as `statement:`/`execute` and, when slower than 1 ms, a text-less
    // `duration:` line after it: one execution, timed.
    let name = name("b_all_lmds");
    let e = expected(&name);
    let r = json_report(&[log(&name).to_str().unwrap()], None);
    let t = &r["totals"];
    assert!(n(&e, "timed") > 50 && n(&e, "untimed") > 300);
    let total_calls: u64 = pgss_calls(&name).values().map(|c| c.0).sum();
    assert_eq!(n(t, "statements"), total_calls);
    assert_eq!(n(t, "timed_statements"), n(&e, "timed"));
    // The fastest timed execution is at the threshold: latency figures are over the
    // timed executions only (never an untimed one as 0 ms).
    let min = r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|q| q["min_ms"].as_f64())
        .fold(f64::MAX, f64::min);
    assert!(min >= 1.0, "min_ms {min}");
    let notes = r["log_facts"]["notes"].to_string();
    assert!(
        notes.contains("executions have no duration in the log"),
        "{notes}"
    );
}

#[test]
fn latency_is_unknown_where_nothing_is_timed() {
    let dir = tempfile::tempdir().unwrap();
    let p = log(&name("a_all_noduration"));
    let r = json_report(&[p.to_str().unwrap()], None);
    for q in r["queries"].as_array().unwrap() {
        assert_eq!(q["timed"], 0);
        for k in ["min_ms", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"] {
            assert!(q[k].is_null(), "{k} of {}", q["query"]);
        }
    }
    let notes = r["log_facts"]["notes"].to_string();
    assert!(
        notes.contains("Statements are logged without durations"),
        "{notes}"
    );
    assert!(r["log_facts"]["min_duration_ms"].is_null());
    let (_, html) = html_report(&[p.to_str().unwrap()], dir.path());
    assert!(html.contains("unknown (logged without a duration)"));
    assert!(html.contains("Latency unknown: logged without a duration"));
    assert!(html.contains("title=\"latency unknown: no duration logged\">?</td>"));
    let o = run(&[p.to_str().unwrap(), "-o", "-"], None);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("latency unknown (no durations logged)")
            && text.contains("top queries by count:"),
        "{text}"
    );
}

#[test]
fn statement_only_same_json_from_one_thread_and_many_chunks() {
    for case in CASES {
        let path = log(&name(case));
        let p = path.to_str().unwrap();
        let reference = without_run(json_report(&[p, "-j", "1"], None));
        for args in [
            vec![p, "-j", "2"],
            vec![p, "-j", "2", "--chunk-size", "7000"],
            vec![p, "-j", "1", "--chunk-size", "3000"],
        ] {
            let got = without_run(json_report(&args, None));
            assert!(got == reference, "{case}: {args:?} differs from -j 1");
        }
    }
}
