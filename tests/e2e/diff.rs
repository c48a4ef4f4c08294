//! `pgferret diff` and `--baseline`: c_incident's normal phase against its incident
//! phase (times from testdata/c_incident/timeline.json), checked against the
//! server's own pg_stat_statements snapshots and grep counts of the two halves.

use crate::util::{self, run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Phase boundaries of c_incident (timeline.json), as the log prints its timestamps.
const NORMAL: (&str, &str) = ("2026-11-24 04:40:31.756", "2026-11-24 04:42:01.858");
const INCIDENT: (&str, &str) = ("2026-11-24 04:42:01.858", "2026-11-24 04:44:31.681");

/// The customer lookups: the queries the dropped index made slow.
const LOOKUPS: [&str; 2] = [
    "SELECT id, order_ref, status, amount, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2",
    "SELECT id, status, amount FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2",
];

/// The lines of the c_incident log whose entry's timestamp is in `[from, to)` (a
/// continuation line belongs to the entry above it), written to `dir/name`.
fn half(dir: &Path, name: &str, (from, to): (&str, &str)) -> PathBuf {
    let text = std::fs::read_to_string(util::log("c_incident")).expect("log");
    let mut keep = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.len() >= 23 && line.starts_with("2026-") {
            let ts = &line[..23];
            keep = ts >= from && ts < to;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    let p = dir.join(name);
    std::fs::write(&p, out).expect("write half");
    p
}

/// Executions of `sql` logged with a duration in a half (`execute` lines: parse and
/// bind steps are not executions). The log writes `LIMIT 20` where the normalized
/// text has `$2`.
fn grep_executions(half: &Path, sql: &str) -> u64 {
    let raw = sql.replace("LIMIT $2", "LIMIT 20");
    std::fs::read_to_string(half)
        .expect("half")
        .lines()
        .filter(|l| {
            l.contains("duration: ") && l.contains(" execute ") && l.ends_with(&format!("{raw};"))
        })
        .count() as u64
}

/// (calls, mean ms) of `sql` from a cumulative pg_stat_statements snapshot.
fn pgss(file: &str, sql: &str) -> (f64, f64) {
    let p = util::root().join("testdata/c_incident").join(file);
    let text = std::fs::read_to_string(p).expect("pgss csv");
    let needle = format!(",\"{sql}\",");
    let line = text
        .lines()
        .find(|l| l.contains(&needle))
        .expect("query in pgss");
    let f: Vec<&str> = line.splitn(4, ',').collect();
    (f[1].parse().expect("calls"), f[2].parse().expect("total"))
}

fn diff_json(args: &[&str], dir: &Path, name: &str) -> Value {
    let out = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["-o", out.to_str().expect("path")]);
    let o = run(&all, None);
    assert!(
        o.status.success(),
        "pgferret {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("diff")).expect("JSON")
}

fn report(log: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = run(
        &[
            log.to_str().expect("path"),
            "-q",
            "-o",
            out.to_str().expect("path"),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn query<'a>(d: &'a Value, sql: &str) -> &'a Value {
    d["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .find(|q| q["query"] == sql)
        .unwrap_or_else(|| panic!("{sql} not in the diff"))
}

#[test]
fn incident_names_the_customer_lookups_as_regressed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (normal, incident) = (
        half(dir.path(), "normal.log", NORMAL),
        half(dir.path(), "incident.log", INCIDENT),
    );
    let d = diff_json(
        &[
            "diff",
            "--before",
            normal.to_str().unwrap(),
            "--after",
            incident.to_str().unwrap(),
        ],
        dir.path(),
        "d.json",
    );
    assert_eq!(d["before"]["threshold_ms"], 5.0);
    assert_eq!(d["counts_comparable"], true);
    let summary: Vec<&str> = d["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for sql in LOOKUPS {
        let q = query(&d, sql);
        // Not logged before, because every lookup ran faster than the 5 ms threshold
        // (pg_stat_statements: mean 0.10 and 0.08 ms): the log can only say that it is
        // new or regressed past the threshold.
        assert_eq!(q["kind"], "appeared", "{sql}");
        assert_eq!(q["past_threshold_ms"], 5.0, "{sql}");
        assert_eq!(grep_executions(&normal, sql), 0);
        assert_eq!(q["count"]["before"], 0);
        let (calls_n, total_n) = pgss("pg_stat_statements.normal_end.csv", sql);
        assert!(
            total_n / calls_n < 5.0,
            "{sql}: normal mean {}",
            total_n / calls_n
        );
        // After: the logged executions, counted by grep, and their mean against the
        // server's. The snapshots are cumulative from the workload's start, taken
        // ~50-100 ms before each phase boundary and flushed lazily (<= 1 s), so up to
        // ~1% of the phase's calls can fall on the other side: 3% tolerance. Logged
        // executions are those >= 5 ms, all slower than the unlogged ones, so their
        // mean is at least the server's mean and at most mean × calls / logged.
        let logged = grep_executions(&incident, sql);
        assert_eq!(q["count"]["after"], logged, "{sql}");
        let (calls_i, total_i) = pgss("pg_stat_statements.incident_end.csv", sql);
        let (calls, mean) = (calls_i - calls_n, (total_i - total_n) / (calls_i - calls_n));
        assert!(
            logged as f64 <= calls * 1.03,
            "{sql}: {logged} logged, {calls} calls"
        );
        assert!(
            logged as f64 >= calls * 0.9,
            "{sql}: most lookups were slow: {logged} of {calls}"
        );
        let m = q["mean_ms"]["after"].as_f64().expect("mean after");
        let hi = mean * calls / logged as f64 * 1.03;
        assert!(
            m >= mean * 0.97 && m <= hi,
            "{sql}: mean {m}, server {mean}, upper {hi}"
        );
        // The ratio floor the diff states is below the server's true ratio.
        let floor = (m / 5.0).floor();
        assert!(
            floor >= 20.0 && floor <= mean / (total_n / calls_n),
            "{sql}: ≥×{floor}"
        );
        assert!(
            summary.iter().any(
                |s| s.starts_with("Regressed past the 5.00 ms threshold, or new: ")
                    && s.contains(&sql[..40])
            ),
            "{sql} not named in {summary:#?}"
        );
    }
    // The costliest change is a lookup: it is first.
    assert_eq!(d["queries"][0]["query"], LOOKUPS[0]);
}

/// Lowercase without whitespace: the normalized text differs from the logged one in
/// case and spacing only, up to its first parameter.
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[test]
fn appeared_and_disappeared_queries_match_grep_of_the_halves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (normal, incident) = (
        half(dir.path(), "normal.log", NORMAL),
        half(dir.path(), "incident.log", INCIDENT),
    );
    let d = diff_json(
        &["diff", normal.to_str().unwrap(), incident.to_str().unwrap()],
        dir.path(),
        "d.json",
    );
    // The log's entries, a statement's continuation lines joined to its first line.
    let entries = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for l in std::fs::read_to_string(p).expect("half").lines() {
            match v.last_mut() {
                Some(e) if !l.starts_with("2026-") => e.push_str(l),
                _ => v.push(l.to_string()),
            }
        }
        v
    };
    let (tn, ti) = (entries(&normal), entries(&incident));
    // Executions of a statement whose text starts with `prefix` (the normalized text up
    // to its first parameter, which the log prints as is).
    let count = |t: &[String], prefix: &str| {
        t.iter()
            .filter(|l| {
                l.contains("duration: ") && !l.contains(" parse <") && !l.contains(" bind <")
            })
            .filter(|l| squeeze(l).contains(&format!(":{}", squeeze(prefix))))
            .count()
    };
    let mut checked = 0;
    for q in d["queries"].as_array().unwrap() {
        let (kind, sql) = (q["kind"].as_str().unwrap(), q["query"].as_str().unwrap());
        let prefix = sql.split('$').next().unwrap().trim_end();
        if prefix.len() < 25 || !matches!(kind, "appeared" | "disappeared") {
            continue;
        }
        let (absent, present) = if kind == "appeared" {
            (&tn, &ti)
        } else {
            (&ti, &tn)
        };
        assert_eq!(count(absent, prefix), 0, "{kind}: {prefix}");
        assert!(count(present, prefix) > 0, "{kind}: {prefix}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} queries checked");
    let gone = d["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] == "disappeared")
        .count();
    assert!(
        gone >= 1,
        "c_incident's normal phase has a query the incident does not log"
    );
}

#[test]
fn a_report_against_itself_is_all_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&util::log("c_incident"), dir.path(), "r.json");
    let r = r.to_str().unwrap();
    let d = diff_json(&["diff", r, r], dir.path(), "d.json");
    assert_eq!(d["before"]["source"], "json");
    assert!(d["queries"].as_array().unwrap().len() > 10);
    for q in d["queries"].as_array().unwrap() {
        assert!(
            matches!(q["kind"].as_str().unwrap(), "unchanged" | "not_run"),
            "{q}"
        );
        for f in ["count", "timed", "errors", "lock_waits"] {
            assert_eq!(q[f]["change"], 0, "{f} {q}");
        }
        for f in ["mean_ms", "p95_ms", "total_ms"] {
            assert!(q[f]["change"].is_null() || q[f]["change"] == 0.0, "{f} {q}");
            assert!(q[f]["ratio"].is_null() || q[f]["ratio"] == 1.0, "{f} {q}");
        }
    }
    for t in ["by_sqlstate", "by_message"] {
        for k in d["errors"][t].as_array().unwrap() {
            assert_eq!(k["count"]["change"], 0);
            assert_eq!(
                (k["new"].as_bool(), k["vanished"].as_bool()),
                (Some(false), Some(false))
            );
        }
    }
    assert!(!d["locks"]["by_relation"].as_array().unwrap().is_empty());
    for k in d["locks"]["by_relation"].as_array().unwrap() {
        assert_eq!(k["count"]["change"], 0);
        assert_eq!(k["wait_ms"]["change"], 0.0);
    }
    assert_eq!(d["totals"]["new_fingerprints"], 0);
    assert_eq!(d["totals"]["total_ms"]["change"], 0.0);
}

/// The queries and profiles of a diff, without where the sides came from.
fn comparable(mut d: Value) -> Value {
    for s in ["before", "after"] {
        d[s]["source"] = Value::Null;
        d[s]["paths"] = Value::Null;
        d[s]["window"] = Value::Null;
    }
    d
}

#[test]
fn json_and_log_inputs_give_the_same_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (normal, incident) = (
        half(dir.path(), "normal.log", NORMAL),
        half(dir.path(), "incident.log", INCIDENT),
    );
    let (a, b) = (
        report(&normal, dir.path(), "a.json"),
        report(&incident, dir.path(), "b.json"),
    );
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let from_json = diff_json(&["diff", &p(&a), &p(&b)], dir.path(), "1.json");
    let from_logs = diff_json(
        &["diff", "--before", &p(&normal), "--after", &p(&incident)],
        dir.path(),
        "2.json",
    );
    let mixed = diff_json(&["diff", &p(&a), &p(&incident)], dir.path(), "3.json");
    assert_eq!(from_json["before"]["source"], "json");
    assert_eq!(from_logs["before"]["source"], "logs");
    assert_eq!(comparable(from_json.clone()), comparable(from_logs));
    assert_eq!(comparable(from_json.clone()), comparable(mixed));
    // The same periods as windows of the whole log: the same fingerprints, counts and
    // latencies (the halves were cut at the same instants).
    let log = util::log("c_incident");
    let base = format!("{}..{}", NORMAL.0, NORMAL.1);
    let cmp = format!("{}..{}", INCIDENT.0, INCIDENT.1);
    let windows = diff_json(
        &[
            log.to_str().unwrap(),
            "--baseline",
            &base,
            "--compare",
            &cmp,
        ],
        dir.path(),
        "4.json",
    );
    assert_eq!(windows["before"]["source"], "window");
    assert_eq!(windows["queries"], from_json["queries"]);
    assert_eq!(windows["errors"], from_json["errors"]);
    assert_eq!(windows["locks"], from_json["locks"]);
}

#[test]
fn baseline_alone_compares_with_the_incident_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = util::log("c_incident");
    let base = format!("{}..{}", NORMAL.0, NORMAL.1);
    let d = diff_json(
        &[log.to_str().unwrap(), "--baseline", &base],
        dir.path(),
        "d.json",
    );
    let w = d["after"]["window"].as_str().expect("window");
    assert!(w.starts_with("the incident span found in the log"), "{w}");
    // The span found starts within a window (1 s here) of the incident's start.
    let begin = d["after"]["begin"].as_str().unwrap();
    assert!(
        ("2026-11-24T04:42:01".."2026-11-24T04:42:04").contains(&begin),
        "{begin}"
    );
    assert_eq!(query(&d, LOOKUPS[0])["past_threshold_ms"], 5.0);
}

#[test]
fn another_fingerprint_version_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = report(&util::log("c_incident"), dir.path(), "r.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap();
    v["fingerprint_version"] = Value::from(1);
    let old = dir.path().join("old.json");
    std::fs::write(&old, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = run(&["diff", old.to_str().unwrap(), r.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("fingerprint version 1") && err.contains("cannot be compared"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn different_thresholds_are_flagged() {
    // a2_debian logs every statement, c_incident only those of 5 ms or more.
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (util::log("a2_debian"), util::log("c_incident"));
    let d = diff_json(
        &["diff", a.to_str().unwrap(), b.to_str().unwrap()],
        dir.path(),
        "d.json",
    );
    assert_eq!(d["counts_comparable"], false);
    assert_eq!(
        (
            d["before"]["threshold_ms"].as_f64(),
            d["after"]["threshold_ms"].as_f64()
        ),
        (Some(0.0), Some(5.0))
    );
    assert!(d["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("counts may not be comparable")));
    // Absent from a side that logs everything: really vanished.
    let kinds: Vec<&str> = d["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["kind"].as_str().unwrap())
        .collect();
    // Absent from the side that logs everything: new; from the one with a threshold:
    // disappeared (it may have run there, faster), never vanished.
    assert!(
        kinds.contains(&"new") && kinds.contains(&"disappeared"),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&"vanished") && !kinds.contains(&"appeared"),
        "{kinds:?}"
    );
    let o = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("warning: The periods were logged with different duration thresholds"),
        "{text}"
    );
}

#[test]
fn bad_diff_arguments_exit_2() {
    let log = util::log("c_incident");
    let l = log.to_str().unwrap();
    for args in [
        vec!["diff", l],
        vec!["diff", "--before", l],
        vec![l, "--baseline", "04:40-04:42"],
        vec![l, "--baseline", "04:40..lunch"],
        vec![l, "--compare", "04:40..04:42"],
        vec![l, "--baseline", "04:40..04:42", "--begin", "04:40"],
    ] {
        let o = run(&args, None);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn diff_html_escapes_every_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evil = util::evil_log(dir.path());
    let out = dir.path().join("d.html");
    let o = run(
        &[
            "diff",
            "--prefix",
            util::EVIL_PREFIX,
            evil.to_str().unwrap(),
            evil.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    // The payloads are shown, as text: in the query table, the error and lock tables.
    for shown in [
        "&lt;svg onload=document.body.dataset.pwned=7&gt;",
        "&lt;img src=x onerror=document.body.dataset.pwned=9&gt;",
        "&lt;iframe srcdoc=x&gt;",
        "&lt;b onclick=x&gt;",
        "&lt;script&gt;document.title=8&lt;/script&gt;",
    ] {
        assert!(html.contains(shown), "{shown} missing");
    }
    for bad in [
        "<script",
        "<img",
        "<svg",
        "<iframe",
        "\" onmouseover=",
        "<b onclick",
    ] {
        assert!(!html.contains(bad), "{bad} unescaped");
    }
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src"));
}

#[test]
fn one_thread_and_many_give_the_same_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = util::log("c_incident");
    let l = log.to_str().unwrap();
    let base = format!("{}..{}", NORMAL.0, NORMAL.1);
    let cmp = format!("{}..{}", INCIDENT.0, INCIDENT.1);
    let args = |j: &'static str| vec![l, "--baseline", &base, "--compare", &cmp, "-j", j];
    let one = diff_json(&args("1"), dir.path(), "1.json");
    let four = diff_json(&args("4"), dir.path(), "4.json");
    assert_eq!(one, four);
    // And the text is the same bytes on every run.
    let t1 = run(&args("1"), None).stdout;
    let t4 = run(&args("4"), None).stdout;
    assert!(!t1.is_empty());
    assert_eq!(t1, t4);
}
