//! Filters (issue 13) on real PostgreSQL 15 logs. Every expected figure is counted here
//! from the log's own lines, as grep/awk would (c_incident carries user, db, app and
//! client on each line), or read from expected.json, computed by expected.py from the
//! csvlog twin (testdata/prefixes) — never taken from pgferret.

use crate::util::*;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

const AUX: [&str; 6] = [
    "DETAIL:  ",
    "HINT:  ",
    "CONTEXT:  ",
    "STATEMENT:  ",
    "QUERY:  ",
    "LOCATION:  ",
];

/// One entry of c_incident (a line that is not a continuation line): its time of day
/// (`HH:MM:SS.mmm`, UTC), app (its own, else its session's; empty when unknown) and
/// message.
struct Line {
    time: String,
    app: String,
    rest: String,
}

fn c_incident() -> &'static [Line] {
    static LINES: OnceLock<Vec<Line>> = OnceLock::new();
    LINES.get_or_init(|| {
        let re = Regex::new(
            r"^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\]: \[\d+-1\] user=[^,]*,db=[^,]*,app=([^,]*),client=\S* (.*)$",
        )
        .unwrap();
        let text = std::fs::read_to_string(log("c_incident")).unwrap();
        // The application of each pid's session, from its `connection authorized` line
        // (the prefix says [unknown] up to it), until its disconnection.
        let mut sessions = std::collections::HashMap::new();
        let lines: Vec<Line> = text
            .lines()
            .filter(|l| !l.starts_with('\t'))
            .map(|l| {
                let c = re.captures(l).unwrap_or_else(|| panic!("unexpected line {l}"));
                let (pid, own, rest) = (c[2].to_string(), &c[3], c[4].to_string());
                if rest.starts_with("LOG:  connection received: ") {
                    sessions.remove(&pid);
                }
                if let Some(a) = rest.strip_prefix("LOG:  connection authorized: ") {
                    let app = a.split("application_name=").nth(1).unwrap_or("");
                    sessions.insert(pid.clone(), app.to_string());
                }
                let app = match own {
                    "" | "[unknown]" => sessions.get(&pid).cloned().unwrap_or_default(),
                    a => a.to_string(),
                };
                if rest.starts_with("LOG:  disconnection: ") {
                    sessions.remove(&pid);
                }
                Line {
                    time: c[1].to_string(),
                    app,
                    rest,
                }
            })
            // DETAIL, CONTEXT, STATEMENT... lines belong to the entry before them.
            .filter(|l| !AUX.iter().any(|a| l.rest.starts_with(a)))
            .collect();
        assert_eq!(lines.len(), 20_880);
        lines
    })
}

/// The statement text of a `duration:` line that is an execution (not parse or bind).
fn statement(rest: &str) -> Option<&str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^LOG:  duration: [0-9.]+ ms  (?:statement|execute [^:]*): (.*)$").unwrap()
    });
    re.captures(rest).map(|c| c.get(1).unwrap().as_str())
}

/// Figures over the entries `keep` selects, counted from the lines.
#[derive(Debug, PartialEq, Eq, Default)]
struct Figures {
    statements: u64,
    lock_waits: u64,
    errors: u64,
    deadlocks: u64,
    temp_files: u64,
}

fn figures(keep: impl Fn(&Line) -> bool) -> Figures {
    let mut f = Figures::default();
    for l in c_incident().iter().filter(|l| keep(l)) {
        let r = &l.rest;
        f.statements += u64::from(statement(r).is_some());
        f.lock_waits +=
            u64::from(r.starts_with("LOG:  process ") && r.contains("still waiting for"));
        f.errors += u64::from(r.starts_with("ERROR:  ") || r.starts_with("FATAL:  "));
        f.deadlocks += u64::from(r == "ERROR:  deadlock detected");
        f.temp_files += u64::from(r.starts_with("LOG:  temporary file"));
    }
    f
}

fn figures_of(r: &Value) -> Figures {
    let t = &r["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    Figures {
        statements: n("statements"),
        lock_waits: n("lock_waits"),
        errors: n("errors"),
        deadlocks: n("deadlocks"),
        temp_files: n("temp_files"),
    }
}

fn c_log() -> String {
    log("c_incident").to_str().unwrap().to_string()
}

fn report(args: &[&str]) -> Value {
    let l = c_log();
    let mut all = vec![l.as_str()];
    all.extend(args);
    json_report(&all, None)
}

#[test]
fn the_figures_are_counted_right_without_filters() {
    // The counting in this file agrees with pgferret on the whole log first, so that a
    // difference below is the filters'.
    let r = report(&[]);
    assert_eq!(figures_of(&r), figures(|_| true));
    assert!(r.get("filters").is_none());
}

#[test]
fn an_app_filter_applies_to_every_signal() {
    let r = report(&["--app", "orders-api"]);
    let want = figures(|l| l.app == "orders-api");
    assert!(want.lock_waits > 0 && want.errors > 0 && want.deadlocks > 0);
    assert_eq!(figures_of(&r), want);
    let f = &r["filters"];
    assert_eq!(f["applied"], serde_json::json!(["--app 'orders-api'"]));
    // Entries without an application and without a session (background processes):
    // counted and said; their exact figures are in filter_sessions.rs.
    assert_eq!(f["unknown_field"][0]["field"], "application");
    assert!(f["unknown_field"][0]["entries"].as_u64().unwrap() > 0);
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("--app could not be applied to")
            && warnings.contains("carry no application"),
        "{warnings}"
    );
    assert_eq!(f["kept_nothing"], false);
}

#[test]
fn excluded_apps_by_glob_and_name() {
    let r = report(&["--exclude-app", "fulfil*", "--exclude-app", "metabase"]);
    let want = figures(|l| !l.app.starts_with("fulfil") && l.app != "metabase");
    assert!(want.temp_files < figures(|_| true).temp_files);
    assert_eq!(figures_of(&r), want);
    // An exclude filter leaves entries without the field alone: nothing unknown.
    assert_eq!(r["filters"]["unknown_field"], serde_json::json!([]));
}

#[test]
fn include_and_exclude_combine() {
    let r = report(&["--app", "*-*", "--exclude-app", "orders-*"]);
    let want = figures(|l| l.app == "fulfillment-worker");
    assert!(want.statements > 0 && want.lock_waits > 0);
    assert_eq!(figures_of(&r), want);
}

#[test]
fn times_of_day_are_excluded_every_day_in_the_logs_zone_or_the_one_given() {
    let out = |l: &Line| !(l.time.as_str() >= "04:42:00" && l.time.as_str() < "04:44:00");
    let want = figures(out);
    assert!(want.statements < figures(|_| true).statements && want.statements > 0);
    let r = report(&["--exclude-time", "04:42-04:44"]);
    assert_eq!(figures_of(&r), want);
    // The same span written in another zone.
    let r2 = report(&["--exclude-time", "05:42-05:44 +01:00"]);
    assert_eq!(figures_of(&r2), want);
    let times = r["filters"]["times"].as_str().unwrap();
    assert!(times.contains("UTC (the log's zone)"), "{times}");
    // Two include spans: only what falls in either.
    let r = report(&[
        "--include-time",
        "04:41-04:42",
        "--include-time",
        "04:45-04:46",
    ]);
    let within = |l: &Line| {
        let t = l.time.as_str();
        ("04:41:00".."04:42:00").contains(&t) || ("04:45:00".."04:46:00").contains(&t)
    };
    assert_eq!(figures_of(&r), figures(within));
}

#[test]
fn select_only_and_query_regexes() {
    let first_word = |l: &Line| {
        statement(&l.rest).map(|s| {
            s.split(|c: char| !c.is_ascii_alphabetic())
                .next()
                .unwrap()
                .to_ascii_uppercase()
        })
    };
    let count = |pred: &dyn Fn(&str) -> bool| {
        c_incident()
            .iter()
            .filter(|l| first_word(l).is_some_and(|w| pred(&w)))
            .count() as u64
    };
    let selects = count(&|w| w == "SELECT");
    let r = report(&["--select-only"]);
    assert_eq!(r["totals"]["statements"], selects);
    // The lock waits, errors and temp files of the statements it removes go with them
    // (counted in filter_sessions.rs).
    assert!(figures_of(&r).lock_waits < figures(|_| true).lock_waits);

    let r = report(&["--exclude-query", "^COMMIT"]);
    assert_eq!(r["totals"]["statements"], count(&|w| w != "COMMIT"));

    let updates = c_incident()
        .iter()
        .filter_map(|l| statement(&l.rest))
        .filter(|s| s.to_ascii_lowercase().starts_with("update orders "))
        .count() as u64;
    assert!(updates > 0);
    let r = report(&["--include-query", "^UPDATE orders "]);
    assert_eq!(r["totals"]["statements"], updates);
    assert!(r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["count"].as_u64().unwrap() > 0)
        .all(|q| q["query"].as_str().unwrap().starts_with("UPDATE orders ")));
}

#[test]
fn filters_that_keep_nothing_exit_5_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let l = c_log();
    for args in [
        &["--app", "no-such-app"][..],
        &["--include-query", "^NO SUCH STATEMENT"][..],
    ] {
        let mut all = vec![l.as_str(), "-o", out.to_str().unwrap()];
        all.extend(args);
        let o = run(&all, None);
        assert_eq!(o.status.code(), Some(5), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("the filters kept nothing"), "{stderr}");
        let r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(r["filters"]["kept_nothing"], true);
        assert!(r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("The filters ("));
    }
}

#[test]
fn bad_filters_are_bad_arguments() {
    let l = c_log();
    for args in [
        &["--exclude-query", "(unclosed"][..],
        &["--exclude-time", "2am-3am"][..],
        &["--include-time", "02:00-03:00 Mars/Olympus"][..],
        &["--exclude-db", "[z-a]"][..],
    ] {
        let mut all = vec![l.as_str(), "-o", "-"];
        all.extend(args);
        assert_eq!(run(&all, None).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn filtered_results_are_the_same_on_one_thread_and_several() {
    let l = c_log();
    let args = [
        "--app",
        "orders-api",
        "--exclude-query",
        "^COMMIT",
        "--exclude-time",
        "04:43-04:44",
        "--chunk-size",
        "65536",
    ];
    let one = |j: &str| {
        let mut all = vec![l.as_str(), "-j", j];
        all.extend(args);
        without_run(json_report(&all, None))
    };
    assert_eq!(one("1"), one("2"));
}

/// A log of testdata/prefixes and its expected.json (from the csv twin).
fn prefixes(name: &str) -> (String, Value) {
    let dir = root().join("testdata").join("prefixes").join(name);
    let e: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    (dir.to_str().unwrap().to_string(), e)
}

fn statements(path: &str, args: &[&str]) -> u64 {
    let mut all = vec![path];
    all.extend(args);
    json_report(&all, None)["totals"]["statements"]
        .as_u64()
        .unwrap()
}

#[test]
fn databases_users_and_query_ids_match_the_csv_twin() {
    let (dir, e) = prefixes("debian_app_qid");
    let n = |k: &str, v: &str| e[k][v].as_u64().unwrap();
    for path in [
        format!("{dir}/postgresql.log"),
        format!("{dir}/postgresql.csv.gz"),
    ] {
        let p = path.as_str();
        assert_eq!(statements(p, &["--db", "shop"]), n("databases", "shop"));
        assert_eq!(
            statements(p, &["--db", "shop", "--db", "bench"]),
            n("databases", "shop") + n("databases", "bench")
        );
        assert_eq!(statements(p, &["--db", "b*"]), n("databases", "bench"));
        assert_eq!(
            statements(p, &["--exclude-db", "shop"]),
            e["statements"].as_u64().unwrap() - n("databases", "shop")
        );
        assert_eq!(statements(p, &["--user", "billing"]), n("users", "billing"));
        assert_eq!(
            statements(
                p,
                &["--exclude-user", "app_rw", "--exclude-user", "postgres"]
            ),
            ["analyst", "billing", "reporter"]
                .iter()
                .map(|u| n("users", u))
                .sum::<u64>()
        );
        let (id, count) = e["query_ids"]
            .as_object()
            .unwrap()
            .iter()
            .max_by_key(|(_, c)| c.as_u64())
            .unwrap();
        assert_eq!(statements(p, &["--query-id", id]), count.as_u64().unwrap());
        let minus_5: u64 = e["query_ids"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(id, _)| id.starts_with("-5"))
            .map(|(_, c)| c.as_u64().unwrap())
            .sum();
        assert_eq!(statements(p, &["--query-id", "-5*"]), minus_5);
    }
}

#[test]
fn a_field_neither_the_prefix_nor_a_connection_line_tells_is_said_and_keeps_nothing() {
    // '%m [%p] ' carries no database; without its connection lines (log_connections
    // off) nothing tells an entry's database.
    let (dir, _) = prefixes("pg_default");
    let text = std::fs::read_to_string(format!("{dir}/postgresql.log")).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("LOG:  connection "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(kept.len() < text.len());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("postgresql.log");
    std::fs::write(&path, kept).unwrap();
    let out = tmp.path().join("r.json");
    let o = run(
        &[
            path.to_str().unwrap(),
            "--db",
            "shop",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(5));
    let r: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let entries = r["inputs"][0]["entries"].as_u64().unwrap();
    assert_eq!(
        r["filters"]["unknown_field"],
        serde_json::json!([{"field": "database", "entries": entries}])
    );
    assert_eq!(r["filters"]["removed_entries"], entries);
}

#[test]
fn the_html_and_text_reports_name_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(
        &[&c_log(), "--exclude-app", "pg_dump*", "--app", "orders-api"],
        dir.path(),
    );
    assert!(html.contains("Filters applied: <code>--app &#x27;orders-api&#x27; --exclude-app &#x27;pg_dump*&#x27;</code>")
        || html.contains("Filters applied: <code>--app &#39;orders-api&#39; --exclude-app &#39;pg_dump*&#39;</code>"),
        "{}", &html[..html.len().min(3000)]);
    let o = run(&[&c_log(), "--app", "orders-api", "-o", "-"], None);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("filters --app 'orders-api' removed "),
        "{text}"
    );
}

#[test]
fn client_hosts_by_name_and_unix_socket() {
    // '%m|%p|%u|%d|%a|%h|': the host is the 6th field of each statement line.
    let (dir, _) = prefixes("pipes");
    let stmt = Regex::new(r"LOG:  duration: [0-9.]+ ms  (statement: |execute [^:]*: )").unwrap();
    let text = std::fs::read_to_string(format!("{dir}/postgresql.log")).unwrap();
    let by_host = |h: &str| {
        text.lines()
            .filter(|l| !l.starts_with('\t') && stmt.is_match(l))
            .filter(|l| l.split('|').nth(5) == Some(h))
            .count() as u64
    };
    let (tcp, unix) = (by_host("127.0.0.1"), by_host("[local]"));
    assert!(tcp > 0 && unix > 0);
    for path in [
        format!("{dir}/postgresql.log"),
        format!("{dir}/postgresql.csv.gz"),
    ] {
        let p = path.as_str();
        assert_eq!(statements(p, &["--client", "[local]"]), unix, "{p}");
        assert_eq!(statements(p, &["--client", "127.*"]), tcp, "{p}");
        assert_eq!(statements(p, &["--exclude-client", "[local]"]), tcp, "{p}");
    }
}
