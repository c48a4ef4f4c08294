//! The binary on real PostgreSQL logs from testdata/, checked against
//! figures that come from elsewhere (grep/awk counts in expected.json, the server's own
//! pg_stat_statements.csv).

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;

const LOGS: &[&str] = &[
    "a1_pgbadger",
    "a2_debian",
    "a3_ddl_extended",
    "a4_colon_remote",
    "a5_sqlstate_verbose",
    "a6_logstatement_all",
    "a7_threshold",
    "d_multiline",
];

fn totals(r: &Value) -> &Value {
    &r["totals"]
}

#[test]
fn totals_equal_grep_and_awk_counts() {
    for name in LOGS {
        let path = log(name);
        let r = json_report(&[path.to_str().unwrap(), "-j", "2"], None);
        let e = expected(name);
        let t = totals(&r);
        let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
        let want_n = n(&e, "duration_statements") + n(&e, "logged_statements");
        // Every logged statement gets a duration, stays untimed (both are executions) or
        // failed; every bare duration pairs with a logged statement or stays an orphan
        // (parse/bind under log_duration).
        let got_n = n(t, "statements") + n(t, "failed_statements");
        assert_eq!(got_n, want_n, "{name}: statements");
        let bare = n(&e, "duration_statements") + n(&e, "bare_durations");
        assert_eq!(
            n(t, "timed_statements") + n(t, "orphan_durations"),
            bare,
            "{name}: durations"
        );
        if n(t, "orphan_durations") == 0 {
            let want_ms = e["duration_statements_ms"].as_f64().unwrap()
                + e["bare_durations_ms"].as_f64().unwrap();
            assert!(
                same_ms(t["total_ms"].as_f64().unwrap(), want_ms),
                "{name}: total_ms {} != {want_ms}",
                t["total_ms"]
            );
        }
        assert_eq!(
            t["protocol_steps"], e["protocol_steps"],
            "{name}: parse/bind steps"
        );
        assert_eq!(t["plans"], e["plans"], "{name}: auto_explain plans");
        let want_n = n(t, "statements");
        let input = &r["inputs"][0];
        assert_eq!(input["lines"], e["lines"], "{name}: lines");
        assert_eq!(input["skipped_lines"], 0, "{name}: skipped");
        assert_eq!(input["format"], "stderr");
        let per_query: u64 = r["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["count"].as_u64().unwrap())
            .sum();
        assert_eq!(per_query, want_n, "{name}: queries[].count adds up");
        let per_window: u64 = r["timeline"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["statements"].as_u64().unwrap())
            .sum();
        assert_eq!(per_window, want_n, "{name}: windows add up");
    }
}

#[test]
fn prefixes_are_inferred_and_reported() {
    // The server's own setting, recorded by the corpus script beside each log.
    for name in &LOGS[..6] {
        let meta: Value =
            serde_json::from_slice(&std::fs::read(log(name).with_file_name("meta.json")).unwrap())
                .unwrap();
        let r = json_report(&[log(name).to_str().unwrap()], None);
        assert_eq!(r["inputs"][0]["prefix"], meta["log_line_prefix"], "{name}");
        assert_eq!(r["inputs"][0]["prefix_inferred"], true);
    }
}

/// pg_stat_statements' calls, summed per pgferret fingerprint of its normalized text
/// (PostgreSQL 15 gives each IN-list length its own query id; pgferret merges them).
pub(crate) fn pgss_calls(name: &str) -> BTreeMap<String, (u64, String)> {
    let path = log(name).with_file_name("pg_stat_statements.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut out: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[8] != "t" {
            continue; // nested statements are not in the log
        }
        let (_, fp) = pgferret::normalize::normalize(&rec[5]);
        let e = out
            .entry(pgferret::normalize::fingerprint_hex(fp))
            .or_insert((0, rec[5].to_string()));
        e.0 += rec[1].parse::<u64>().unwrap();
    }
    out
}

#[test]
fn statements_per_fingerprint_equal_pg_stat_statements_calls() {
    // Where the two cannot agree, and why (see ../shared/corpus/README.md):
    // with -M prepared, PostgreSQL 15's pgss counts BEGIN/END once per connection.
    let cannot_agree: &[(&str, &[&str])] = &[("a2_debian", &["BEGIN", "END"])];
    for name in &LOGS[..6] {
        let name = *name;
        let skip = cannot_agree
            .iter()
            .find(|c| c.0 == name)
            .map_or(&[][..], |c| c.1);
        let pgss = pgss_calls(name);
        let r = json_report(&[log(name).to_str().unwrap()], None);
        // Queries that only failed, waited or wrote temp files, and never completed, have
        // count 0: pg_stat_statements counts completed statements only.
        let ours: BTreeMap<String, u64> = r["queries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["count"].as_u64().unwrap() > 0)
            .map(|q| {
                (
                    q["fingerprint"].as_str().unwrap().to_string(),
                    q["count"].as_u64().unwrap(),
                )
            })
            .collect();
        let mut agreed = 0;
        for (fp, (calls, text)) in &pgss {
            if skip.contains(&text.as_str()) {
                continue;
            }
            assert_eq!(ours.get(fp), Some(calls), "{name}: {text}");
            agreed += calls;
        }
        for fp in ours.keys() {
            assert!(
                pgss.contains_key(fp),
                "{name}: fingerprint {fp} unknown to pg_stat_statements"
            );
        }
        let total = r["totals"]["statements"].as_u64().unwrap();
        eprintln!("{name}: {agreed} of {total} statements agree with pg_stat_statements");
        assert!(
            agreed * 100 >= total * 75,
            "{name}: too few statements compared"
        );
    }
}

#[test]
fn same_json_from_mmap_stdin_one_thread_and_many_chunks() {
    for name in [
        "a3_ddl_extended",
        "a2_debian",
        "a6_logstatement_all",
        "c_incident",
    ] {
        let path = log(name);
        let p = path.to_str().unwrap();
        let reference = without_run(json_report(&[p, "-j", "1"], None));
        let variants: Vec<(&str, Vec<&str>, bool)> = vec![
            ("mmap -j 2", vec![p, "-j", "2"], false),
            (
                "mmap -j 1, 16 KiB chunks",
                vec![p, "-j", "1", "--chunk-size", "16384"],
                false,
            ),
            (
                "mmap -j 2, 16 KiB chunks",
                vec![p, "-j", "2", "--chunk-size", "16384"],
                false,
            ),
            (
                "mmap -j 2, 7 KiB chunks",
                vec![p, "-j", "2", "--chunk-size", "7000"],
                false,
            ),
            ("stdin -j 2", vec!["-", "-j", "2"], true),
            (
                "stdin -j 2, 10 KiB blocks",
                vec!["-", "-j", "2", "--chunk-size", "10000"],
                true,
            ),
        ];
        for (label, args, stdin) in variants {
            let got = without_run(json_report(&args, stdin.then_some(path.as_path())));
            assert!(got == reference, "{name}: {label} differs from mmap -j 1");
        }
    }
}

#[test]
fn one_run_over_many_files_adds_them_up() {
    let (a, b) = (log("a1_pgbadger"), log("a3_ddl_extended"));
    let both = json_report(&[b.to_str().unwrap(), a.to_str().unwrap()], None);
    let n = |v: &Value| v["totals"]["statements"].as_u64().unwrap();
    let one = json_report(&[a.to_str().unwrap()], None);
    let two = json_report(&[b.to_str().unwrap()], None);
    assert_eq!(n(&both), n(&one) + n(&two));
    assert_eq!(both["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(both["span"]["begin"], one["span"]["begin"]);
    assert_eq!(both["span"]["end"], two["span"]["end"]);
}

#[test]
fn begin_and_end_split_the_log_without_losing_statements() {
    let p = log("a1_pgbadger");
    let p = p.to_str().unwrap();
    let all = json_report(&[p], None)["totals"]["statements"]
        .as_u64()
        .unwrap();
    let before = json_report(&[p, "--end", "2026-11-24 04:34:59.999"], None);
    let after = json_report(&[p, "--begin", "2026-11-24T04:35:00Z"], None);
    let (b, a) = (
        before["totals"]["statements"].as_u64().unwrap(),
        after["totals"]["statements"].as_u64().unwrap(),
    );
    assert!(b > 0 && a > 0);
    assert_eq!(a + b, all);
    assert_eq!(after["span"]["begin"], "2026-11-24T04:35:00.000Z");
}

#[test]
fn window_flag_sets_the_width() {
    let r = json_report(
        &[log("a1_pgbadger").to_str().unwrap(), "--window", "10s"],
        None,
    );
    assert_eq!(r["timeline"]["window_seconds"], 10.0);
    let w = r["timeline"]["windows"].as_array().unwrap();
    // 04:34:31 .. 04:35:12 in 10 s windows aligned on the clock: 04:34:30 .. 04:35:10.
    assert_eq!(w.len(), 5);
    assert_eq!(w[0]["start"], "2026-11-24T04:34:30.000Z");
}

#[test]
fn samples_keep_text_parameters_and_context() {
    let r = json_report(&[log("a2_debian").to_str().unwrap()], None);
    let q = r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| {
            q["query"] == "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2"
        })
        .expect("the pgbench update");
    let s = &q["samples"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert!(s[0]["duration_ms"].as_f64() >= s[1]["duration_ms"].as_f64());
    assert_eq!(s[0]["duration_ms"], q["max_ms"]);
    assert_eq!(s[0]["database"], "bench");
    assert_eq!(s[0]["user"], "app_rw");
    assert!(s[0]["query"]
        .as_str()
        .unwrap()
        .starts_with("UPDATE pgbench_accounts"));
    // Executions of prepared statements keep their `parameters:` detail; the sample's
    // text and its parameters must come from the same log entry.
    let log_text = std::fs::read_to_string(log("a2_debian")).unwrap();
    let with_params: Vec<&Value> = r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|q| q["samples"].as_array().unwrap())
        .filter(|s| !s["parameters"].is_null())
        .collect();
    assert!(with_params.len() >= 5);
    for s in with_params {
        let entry = format!(
            "{}\n{}",
            s["query"].as_str().unwrap(),
            s["parameters"].as_str().unwrap()
        );
        assert!(s["query"].as_str().unwrap().contains("$1"));
        if s["query"].as_str().unwrap().contains('\n') {
            continue;
        }
        let found = log_text.lines().collect::<Vec<_>>().windows(2).any(|w| {
            w[0].ends_with(s["query"].as_str().unwrap())
                && w[1].ends_with(&format!(
                    "DETAIL:  parameters: {}",
                    s["parameters"].as_str().unwrap()
                ))
        });
        assert!(found, "sample not found in the log: {entry}");
    }
    let p50 = q["p50_ms"].as_f64().unwrap();
    assert!(q["min_ms"].as_f64().unwrap() <= p50 && p50 <= q["p99_ms"].as_f64().unwrap());
}

#[test]
fn auto_explain_plans_are_attached_to_their_samples() {
    let r = json_report(&[log("a7_threshold").to_str().unwrap()], None);
    let mut attached = 0;
    for q in r["queries"].as_array().unwrap() {
        for s in q["samples"].as_array().unwrap() {
            if let Some(plan) = s["plan"].as_str() {
                // The plan is the one of this very statement: its Query Text is the
                // sample's text, and auto_explain only logs statements >= 30 ms.
                let text = s["query"].as_str().unwrap();
                assert!(plan.starts_with(&format!("Query Text: {text}")), "{plan}");
                assert!(s["duration_ms"].as_f64().unwrap() >= 30.0);
                attached += 1;
            }
        }
        for p in q["plans"].as_array().unwrap() {
            assert!(p["duration_ms"].as_f64().unwrap() >= 30.0);
        }
    }
    assert!(attached >= 10, "{attached} samples with a plan");
}

#[test]
fn auto_explain_json_plans_are_attached_and_parse_as_json() {
    let e = expected("auto_explain_json");
    let r = json_report(&[log("auto_explain_json").to_str().unwrap()], None);
    assert_eq!(r["totals"]["plans"], e["plans"]);
    assert_eq!(r["totals"]["statements"], e["duration_statements"]);
    let mut attached = 0;
    for q in r["queries"].as_array().unwrap() {
        for s in q["samples"].as_array().unwrap() {
            if let Some(plan) = s["plan"].as_str() {
                let plan: Value = serde_json::from_str(plan).expect("a JSON plan");
                assert_eq!(plan["Query Text"], s["query"]);
                assert!(plan["Plan"]["Node Type"].is_string());
                attached += 1;
            }
        }
    }
    // Every statement but CREATE TABLE has a plan; samples keep the 3 slowest per query.
    assert!(attached >= 8, "{attached} samples with a plan");
}
