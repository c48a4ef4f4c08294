//! Filters per session and per statement (issue 13) on c_incident, counted here from the
//! log's lines as awk would: an entry's session is the last `connection authorized` of
//! its pid (until its `disconnection:`), its statement the `STATEMENT:` line under it.
//! Never from pgferret.

use crate::util::*;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;

/// One entry of c_incident.
#[derive(Debug, Clone)]
struct Entry {
    /// `app=` of the prefix (`[unknown]` before authentication, empty for background
    /// processes).
    app: String,
    /// The application of its session, when its connection line is in the text read.
    session_app: Option<String>,
    /// The message after the severity.
    rest: String,
    /// The text of its `STATEMENT:` line, first line only.
    stmt: Option<String>,
}

const PREFIX: &str = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[(\d+)\]: \[\d+-1\] user=[^,]*,db=[^,]*,app=([^,]*),client=\S* (.*)$";

/// The entries of `lines` (c_incident's lines, possibly a tail of them).
fn entries(lines: &[&str]) -> Vec<Entry> {
    let re = Regex::new(PREFIX).unwrap();
    let mut out: Vec<Entry> = Vec::new();
    let mut sessions: HashMap<String, String> = HashMap::new();
    for l in lines.iter().filter(|l| !l.starts_with('\t')) {
        let c = re.captures(l).unwrap_or_else(|| panic!("{l}"));
        let (pid, app, rest) = (c[1].to_string(), c[2].to_string(), c[3].to_string());
        if let Some(s) = rest.strip_prefix("STATEMENT:  ") {
            out.last_mut().unwrap().stmt = Some(s.to_string());
            continue;
        }
        if ["DETAIL:  ", "HINT:  ", "CONTEXT:  ", "QUERY:  "]
            .iter()
            .any(|a| rest.starts_with(a))
        {
            continue;
        }
        if rest.starts_with("LOG:  connection received: ") {
            sessions.remove(&pid);
        }
        if let Some(a) = rest.split("application_name=").nth(1) {
            if rest.starts_with("LOG:  connection authorized: ") {
                sessions.insert(pid.clone(), a.split(' ').next().unwrap().to_string());
            }
        }
        let session_app = sessions.get(&pid).cloned();
        if rest.starts_with("LOG:  disconnection: ") {
            sessions.remove(&pid);
        }
        out.push(Entry {
            app,
            session_app,
            rest,
            stmt: None,
        });
    }
    out
}

fn c_lines() -> Vec<String> {
    std::fs::read_to_string(log("c_incident"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `(statements, lock waits, errors, deadlocks, temp files, cancellations)`.
type Figures = [u64; 6];

fn count(es: &[Entry], keep: impl Fn(&Entry) -> bool) -> Figures {
    let stmt = Regex::new(r"^LOG:  duration: [0-9.]+ ms  (?:statement|execute [^:]*): ").unwrap();
    let mut f = [0; 6];
    for e in es.iter().filter(|e| keep(e)) {
        let r = &e.rest;
        f[0] += u64::from(stmt.is_match(r));
        f[1] += u64::from(r.starts_with("LOG:  process ") && r.contains("still waiting for"));
        f[2] += u64::from(r.starts_with("ERROR:  ") || r.starts_with("FATAL:  "));
        f[3] += u64::from(r == "ERROR:  deadlock detected");
        f[4] += u64::from(r.starts_with("LOG:  temporary file"));
        f[5] += u64::from(r.starts_with("ERROR:  canceling statement"));
    }
    f
}

fn figures_of(r: &Value) -> Figures {
    let t = &r["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    [
        n("statements"),
        n("lock_waits"),
        n("errors"),
        n("deadlocks"),
        n("temp_files"),
        n("cancellations"),
    ]
}

/// c_incident's lines with the user, db, app and client of the prefix taken out (the
/// prefix becomes `%m [%p]: [%l-1] `), written to `dir`.
fn stripped(dir: &std::path::Path, lines: &[String]) -> String {
    let re = Regex::new(r" user=[^,]*,db=[^,]*,app=[^,]*,client=\S* ").unwrap();
    let text: String = lines
        .iter()
        .map(|l| format!("{}\n", re.replace(l, " ")))
        .collect();
    let p = dir.join("stripped.log");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn report_of(path: &str, args: &[&str]) -> Value {
    let mut all = vec![path];
    all.extend(args);
    json_report(&all, None)
}

#[test]
fn a_prefix_without_the_app_is_filtered_by_each_entrys_session() {
    let lines = c_lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let es = entries(&refs);
    let want = count(&es, |e| e.session_app.as_deref() == Some("orders-api"));
    assert!(want.iter().take(4).all(|&n| n > 0), "{want:?}");
    // The prefix says `[unknown]` on a session's lines up to its authorization (a
    // FATAL: too many connections among them): the session tells more.
    let by_prefix = count(&es, |e| e.app == "orders-api");
    assert!(want[2] > by_prefix[2], "{want:?} {by_prefix:?}");
    let tmp = tempfile::tempdir().unwrap();
    let path = stripped(tmp.path(), &lines);
    let mut seen = Vec::new();
    for extra in [
        &["-j", "1"][..],
        &["-j", "2", "--chunk-size", "4096"][..],
        &["-j", "2", "--chunk-size", "700"][..],
    ] {
        let mut args = vec!["--app", "orders-api"];
        args.extend(extra);
        let r = report_of(&path, &args);
        assert_eq!(figures_of(&r), want, "{extra:?}");
        // Background processes have no session: said, not guessed.
        let unknown = es.iter().filter(|e| e.session_app.is_none()).count() as u64;
        assert_eq!(
            r["filters"]["unknown_field"],
            serde_json::json!([{"field": "application", "entries": unknown}])
        );
        seen.push(without_run(r));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn sessions_that_began_before_the_log_are_counted_never_guessed() {
    let lines = c_lines();
    // The log as if it began halfway: the long pgbench sessions connected before it.
    let tail: Vec<String> = lines[lines.len() / 2..]
        .iter()
        .skip_while(|l| l.starts_with('\t'))
        .cloned()
        .collect();
    let refs: Vec<&str> = tail.iter().map(String::as_str).collect();
    let es = entries(&refs);
    let unknown = es.iter().filter(|e| e.session_app.is_none()).count() as u64;
    let orders = |e: &Entry| e.session_app.as_deref() == Some("orders-api");
    assert!(unknown > es.len() as u64 / 4, "{unknown} of {}", es.len());
    let tmp = tempfile::tempdir().unwrap();
    let path = stripped(tmp.path(), &tail);
    for j in ["1", "2"] {
        let r = report_of(
            &path,
            &["--app", "orders-api", "-j", j, "--chunk-size", "2048"],
        );
        assert_eq!(figures_of(&r), count(&es, orders));
        assert_eq!(
            r["filters"]["unknown_field"],
            serde_json::json!([{"field": "application", "entries": unknown}])
        );
        let w = r["warnings"].to_string();
        assert!(w.contains("whose session could not be matched"), "{w}");
        // Excluding: the unmatched entries are kept, and said.
        let r = report_of(&path, &["--exclude-app", "orders-api", "-j", j]);
        assert_eq!(figures_of(&r), count(&es, |e| !orders(e)));
        assert_eq!(
            r["filters"]["unknown_kept"],
            serde_json::json!([{"field": "application", "entries": unknown}])
        );
    }
}

#[test]
fn a_db_filter_on_a_prefix_without_the_db_matches_the_csv_twin() {
    // '%m [%p] ' carries no database, user or application: the connection lines do.
    let dir = root().join("testdata/prefixes/pg_default");
    let e: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let path = dir.join("postgresql.log");
    let p = path.to_str().unwrap();
    let n = |k: &str, v: &str| e[k][v].as_u64().unwrap();
    let stmts = |args: &[&str]| report_of(p, args)["totals"]["statements"].clone();
    assert_eq!(stmts(&["--db", "shop"]), n("databases", "shop"));
    assert_eq!(stmts(&["--db", "bench"]), n("databases", "bench"));
    assert_eq!(stmts(&["--user", "app_rw"]), n("users", "app_rw"));
    assert_eq!(
        stmts(&["--app", "orders-api"]),
        n("applications", "orders-api")
    );
    assert_eq!(
        stmts(&["--exclude-db", "shop"]),
        e["statements"].as_u64().unwrap() - n("databases", "shop")
    );
}

/// The first word of a statement, upper case.
fn first_word(s: &str) -> String {
    s.trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap()
        .to_ascii_uppercase()
}

#[test]
fn statement_filters_drop_the_signals_of_the_statements_they_drop() {
    let lines = c_lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let es = entries(&refs);
    // A signal goes with its STATEMENT: line; one without (a FATAL, a checkpoint) stays.
    let kept_by = |pred: &dyn Fn(&str) -> bool| {
        let stmt =
            Regex::new(r"^LOG:  duration: [0-9.]+ ms  (?:statement|execute [^:]*): (.*)$").unwrap();
        count(&es, |e| {
            if let Some(c) = stmt.captures(&e.rest) {
                return pred(&c[1]);
            }
            e.stmt.as_deref().is_none_or(pred)
        })
    };
    let r = report_of(&c_log(), &["--select-only"]);
    let want = kept_by(&|s| first_word(s) == "SELECT");
    let all = count(&es, |_| true);
    assert!(
        want[1] < all[1] && want[4] > 0 && want[5] > 0,
        "{want:?} {all:?}"
    );
    assert_eq!(figures_of(&r), want);

    let r = report_of(&c_log(), &["--include-query", "^UPDATE orders "]);
    let want = kept_by(&|s| s.starts_with("UPDATE orders "));
    assert!(want[1] > 0 && want[3] > 0 && want[4] == 0, "{want:?}");
    assert_eq!(figures_of(&r), want);
    // The lock relations waited on are those of the kept waits only.
    let waits: u64 = r["locks"]["by_relation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["waits"].as_u64().unwrap())
        .sum();
    assert_eq!(waits, want[1]);

    let r = report_of(
        &c_log(),
        &[
            "--exclude-query",
            "^SELECT",
            "-j",
            "2",
            "--chunk-size",
            "4096",
        ],
    );
    assert_eq!(figures_of(&r), kept_by(&|s| first_word(s) != "SELECT"));
}

fn c_log() -> String {
    log("c_incident").to_str().unwrap().to_string()
}
