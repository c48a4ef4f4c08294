//! The incident's signals (lock waits, deadlocks, cancellations, errors, temp files,
//! checkpoints, autovacuum, sessions, DDL) on real logs, checked against awk counts
//! (testdata/expected_events.sh) and against the server's own counters dumped beside
//! c_incident (pg_stat_database, pg_stat_bgwriter, pg_stat_user_tables, timeline.json).

use crate::util::*;
use serde_json::Value;

const LOGS: &[&str] = &[
    "a1_pgbadger",
    "a2_debian",
    "a3_ddl_extended",
    "a4_colon_remote",
    "a5_sqlstate_verbose",
    "a6_logstatement_all",
    "d_multiline",
    "c_incident",
];

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The rows of a CSV dump beside a log, as maps from column to value.
fn csv_rows(name: &str, file: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let path = root().join("testdata").join(name).join(file);
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn c_incident(args: &[&str]) -> Value {
    let p = log("c_incident");
    let mut all = vec![p.to_str().unwrap()];
    all.extend_from_slice(args);
    json_report(&all, None)
}

#[test]
fn signal_totals_equal_awk_counts() {
    for name in LOGS {
        let r = json_report(&[log(name).to_str().unwrap(), "-j", "2"], None);
        let e = expected_events(name);
        let t = &r["totals"];
        for (ours, theirs) in [
            ("lock_waits", "lock_waits"),
            ("deadlocks", "deadlocks"),
            ("cancellations", "cancellations"),
            ("errors", "errors"),
            ("warnings", "warnings"),
            ("temp_files", "temp_files"),
            ("temp_bytes", "temp_bytes"),
            ("checkpoints", "checkpoints"),
            ("autovacuums", "autovacuums"),
            ("autoanalyzes", "autoanalyzes"),
            ("connections", "connections"),
            ("disconnections", "disconnections"),
            ("ddl", "ddl"),
        ] {
            assert_eq!(t[ours], e[theirs], "{name}: totals.{ours}");
        }
        assert_eq!(r["locks"]["acquired"], e["lock_acquired"], "{name}");
        assert_eq!(
            r["deadlocks"]["detected_while_waiting"], e["deadlock_waits"],
            "{name}"
        );
        assert_eq!(
            r["errors"]["by_severity"]["FATAL"].as_u64().unwrap_or(0),
            n(&e["fatals"]),
            "{name}"
        );
        let cancel = &r["errors"]["cancellations"];
        assert_eq!(
            cancel["statement_timeout"].as_u64().unwrap_or(0),
            n(&e["statement_timeouts"]),
            "{name}"
        );
        assert_eq!(
            cancel["lock_timeout"].as_u64().unwrap_or(0),
            n(&e["lock_timeouts"]),
            "{name}"
        );
        assert_eq!(
            r["errors"]["connection_limit"], e["connection_limit"],
            "{name}"
        );
        assert_eq!(
            r["errors"]["authentication_failures"], e["auth_failures"],
            "{name}"
        );
        assert_eq!(
            r["sessions"]["received"], e["connections_received"],
            "{name}"
        );
        assert_eq!(
            r["checkpoints"]["complete"], e["checkpoints_complete"],
            "{name}"
        );
        assert_eq!(
            r["checkpoints"]["too_frequent"], e["checkpoint_warnings"],
            "{name}"
        );
        assert_eq!(r["ddl"]["count"], e["ddl"], "{name}");
        sums_agree(name, &r);
    }
}

/// Windows, queries and sections add up to the totals.
fn sums_agree(name: &str, r: &Value) {
    let t = &r["totals"];
    let windows = r["timeline"]["windows"].as_array().unwrap();
    for k in [
        "lock_waits",
        "deadlocks",
        "cancellations",
        "errors",
        "warnings",
        "temp_files",
        "temp_bytes",
        "checkpoints",
        "autovacuums",
        "autoanalyzes",
        "connections",
        "disconnections",
        "ddl",
    ] {
        let sum: u64 = windows.iter().map(|w| n(&w[k])).sum();
        assert_eq!(sum, n(&t[k]), "{name}: windows' {k}");
    }
    let lock_ms: f64 = windows
        .iter()
        .map(|w| w["lock_wait_ms"].as_f64().unwrap())
        .sum();
    assert!(
        same_ms(lock_ms, t["lock_wait_ms"].as_f64().unwrap()),
        "{name}"
    );
    let queries = r["queries"].as_array().unwrap();
    let q = |k: &str| -> u64 { queries.iter().map(|q| n(&q[k])).sum() };
    let tf = &r["temp_files"];
    assert_eq!(
        q("temp_files") + n(&tf["unattributed_count"]),
        n(&t["temp_files"]),
        "{name}"
    );
    assert_eq!(
        q("temp_bytes") + n(&tf["unattributed_bytes"]),
        n(&t["temp_bytes"]),
        "{name}"
    );
    let by_rel: u64 = r["locks"]["by_relation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| n(&l["waits"]))
        .sum();
    assert_eq!(by_rel, n(&t["lock_waits"]), "{name}");
    let blocked: u64 = r["locks"]["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| n(&b["waits"]))
        .sum();
    assert_eq!(
        blocked,
        n(&t["lock_waits"]),
        "{name}: every wait has a blocker row"
    );
    let by_message: u64 = r["errors"]["by_message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| n(&m["count"]))
        .sum();
    assert_eq!(by_message, n(&t["errors"]) + n(&t["warnings"]), "{name}");
}

#[test]
fn c_incident_signals_equal_the_servers_counters() {
    // Every counter was reset at workload_start and dumped at each snapshot: pgferret
    // over [workload_start, snapshot] must count what the server counted.
    let meta: Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/c_incident/meta.json")).unwrap(),
    )
    .unwrap();
    let timeline: Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/c_incident/timeline.json")).unwrap(),
    )
    .unwrap();
    let begin = meta["workload_start"].as_str().unwrap();
    for snap in timeline["server_counter_snapshots"].as_array().unwrap() {
        let at = snap["at"].as_str().unwrap();
        let r = c_incident(&["--begin", begin, "--end", at]);
        let label = snap["label"].as_str().unwrap();
        let t = &r["totals"];
        assert_eq!(t["deadlocks"], snap["deadlocks"], "{label}: deadlocks");
        assert_eq!(t["temp_files"], snap["temp_files"], "{label}: temp_files");
        assert_eq!(t["temp_bytes"], snap["temp_bytes"], "{label}: temp_bytes");
        // pg_stat_bgwriter counts checkpoints when they start.
        let timed = r["checkpoints"]["by_reason"]["time"].as_u64().unwrap_or(0);
        assert_eq!(
            timed,
            n(&snap["checkpoints_timed"]),
            "{label}: timed checkpoints"
        );
        assert_eq!(
            n(&t["checkpoints"]),
            n(&snap["checkpoints_timed"]) + n(&snap["checkpoints_req"]),
            "{label}: checkpoints"
        );
        // pg_stat_database.sessions counts sessions established. A connection refused
        // for lack of slots was authorized first (PostgreSQL checks the slots after
        // authentication), so it has a `connection authorized` line but no session.
        let shop = r["sessions"]["by_database"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "shop")
            .unwrap();
        assert_eq!(
            n(&shop["connections"]) - n(&r["errors"]["connection_limit"]),
            n(&snap["sessions"]),
            "{label}: sessions"
        );
        // Each ERROR rolled back one transaction; the workload rolls back nothing else.
        assert_eq!(
            r["errors"]["by_severity"]["ERROR"], snap["xact_rollback"],
            "{label}"
        );
    }
    // The final dumps.
    let r = c_incident(&[
        "--begin",
        begin,
        "--end",
        meta["workload_end"].as_str().unwrap(),
    ]);
    let db = &csv_rows("c_incident", "pg_stat_database.csv")[0];
    assert_eq!(r["totals"]["deadlocks"].to_string(), db["deadlocks"]);
    assert_eq!(r["totals"]["temp_files"].to_string(), db["temp_files"]);
    assert_eq!(r["totals"]["temp_bytes"].to_string(), db["temp_bytes"]);
    let bg = &csv_rows("c_incident", "pg_stat_bgwriter.csv")[0];
    let want: u64 = bg["checkpoints_timed"].parse::<u64>().unwrap()
        + bg["checkpoints_req"].parse::<u64>().unwrap();
    assert_eq!(n(&r["totals"]["checkpoints"]), want);
    let tables = r["maintenance"]["tables"].as_array().unwrap();
    for row in csv_rows("c_incident", "pg_stat_user_tables.csv") {
        let name = format!("shop.public.{}", row["relname"]);
        let ours = tables.iter().find(|t| t["table"] == name.as_str());
        let get = |k: &str| ours.map_or(0, |t| n(&t[k]));
        assert_eq!(
            get("vacuums").to_string(),
            row["autovacuum_count"],
            "{name}"
        );
        assert_eq!(
            get("analyzes").to_string(),
            row["autoanalyze_count"],
            "{name}"
        );
    }
}

#[test]
fn c_incident_phases_match_the_corpus_table() {
    // ../shared/corpus/README.md, "Measured per phase (csv, by timestamp)": lock waits,
    // deadlocks, ERROR and FATAL of the normal, incident and recovery phases, whose
    // bounds come from timeline.json (each phase ends where the next begins).
    let want = [(0, 0, 10, 0), (162, 23, 141, 25), (3, 0, 10, 0)];
    let timeline: Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/c_incident/timeline.json")).unwrap(),
    )
    .unwrap();
    let phases = timeline["phases"].as_array().unwrap();
    assert_eq!(phases.len(), want.len());
    for (i, (ph, want)) in phases.iter().zip(want).enumerate() {
        let begin = ph["start"].as_str().unwrap();
        let end = if i + 1 < phases.len() {
            // The next phase's start, exclusive.
            iso(epoch_ms(phases[i + 1]["start"].as_str().unwrap()) - 1)
        } else {
            ph["end"].as_str().unwrap().to_string()
        };
        let r = c_incident(&["--begin", begin, "--end", &end]);
        let sev = &r["errors"]["by_severity"];
        let got = (
            n(&r["totals"]["lock_waits"]),
            n(&r["totals"]["deadlocks"]),
            sev["ERROR"].as_u64().unwrap_or(0),
            sev["FATAL"].as_u64().unwrap_or(0),
        );
        assert_eq!(got, want, "phase {}", ph["name"]);
    }
}

/// ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (for 2026-11-24 only).
fn iso(ms: i64) -> String {
    let day = epoch_ms("2026-11-24T00:00:00.000Z");
    assert!((day..day + 86_400_000).contains(&ms));
    let t = ms - day;
    format!(
        "2026-11-24T{:02}:{:02}:{:02}.{:03}Z",
        t / 3_600_000,
        t / 60_000 % 60,
        t / 1000 % 60,
        t % 1000
    )
}

#[test]
fn c_incident_tells_the_story() {
    let r = c_incident(&[]);
    let timeline: Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/c_incident/timeline.json")).unwrap(),
    )
    .unwrap();
    let event = |name: &str| {
        timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == name)
            .unwrap()["epoch_ms"]
            .as_i64()
            .unwrap()
    };
    // The migration's CREATE INDEX is a DDL event: it began after incident_start and
    // ended before the driver saw it done (bad_index_created).
    let ddl = r["ddl"]["events"].as_array().unwrap();
    let bad = ddl
        .iter()
        .find(|e| {
            e["query"]
                .as_str()
                .unwrap()
                .starts_with("CREATE INDEX orders_status_updated_customer_idx")
        })
        .expect("the bad index's CREATE INDEX");
    let ms = |v: &Value| epoch_ms(v.as_str().unwrap());
    assert!(ms(&bad["started"]) >= event("incident_start") - 10, "{bad}");
    assert!(ms(&bad["timestamp"]) <= event("bad_index_created"), "{bad}");
    assert_eq!(bad["command"], "CREATE");
    let commands: Vec<&str> = ddl.iter().map(|e| e["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["CREATE", "DROP", "CREATE", "DROP", "VACUUM"]);

    // Checked by hand (see the report of this change): the RowExclusiveLock waits at
    // 04:42:02.0 name pids 31886 (and 31887) as holders; 31886's next line is
    // `duration: 548.493 ms  statement: CREATE INDEX orders_status_updated_customer_idx`
    // at 04:42:02.442, so it ran from 04:42:01.894, before every one of those waits.
    let blockers = r["locks"]["blockers"].as_array().unwrap();
    let by_create: u64 = blockers
        .iter()
        .filter(|b| {
            b["blocking_how"] == "running"
                && b["blocking_query"]
                    .as_str()
                    .is_some_and(|q| q.starts_with("CREATE INDEX orders_status_updated"))
        })
        .map(|b| n(&b["waits"]))
        .sum();
    let row_exclusive = r["locks"]["by_relation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["mode"] == "RowExclusiveLock")
        .unwrap();
    assert_eq!(by_create, n(&row_exclusive["waits"]));
    // The row-lock waits are blocked by the by-customer lookup that became a full scan
    // inside the transaction holding the row lock (c_status / c_split).
    let top = &blockers[0];
    assert_eq!(top["blocking_how"], "running");
    assert!(
        top["blocking_query"]
            .as_str()
            .unwrap()
            .contains("WHERE customer_id = $1"),
        "{top}"
    );
    assert!(
        top["waiting_query"]
            .as_str()
            .unwrap()
            .starts_with("UPDATE orders SET amount"),
        "{top}"
    );

    // Errors by kind, counted with plain substring search over the log.
    let text = std::fs::read_to_string(log("c_incident")).unwrap();
    let count = |s: &str| text.matches(s).count() as u64;
    let kinds = r["errors"]["by_message"].as_array().unwrap();
    for (needle, sqlstate, severity) in [
        ("ERROR:  syntax error at or near \"LIMT\"", "42601", "ERROR"),
        (
            "ERROR:  column \"order_status\" does not exist",
            "42703",
            "ERROR",
        ),
        (
            "ERROR:  duplicate key value violates unique constraint \"orders_order_ref_key\"",
            "23505",
            "ERROR",
        ),
        (
            "ERROR:  canceling statement due to statement timeout",
            "57014",
            "ERROR",
        ),
        (
            "ERROR:  canceling statement due to lock timeout",
            "55P03",
            "ERROR",
        ),
        ("ERROR:  deadlock detected", "40P01", "ERROR"),
        (
            "FATAL:  remaining connection slots are reserved",
            "53300",
            "FATAL",
        ),
        (
            "FATAL:  password authentication failed for user",
            "28P01",
            "FATAL",
        ),
    ] {
        let msg = &needle[severity.len() + 3..];
        let got: u64 = kinds
            .iter()
            .filter(|k| {
                k["severity"] == severity && k["message"].as_str().unwrap().starts_with(msg)
            })
            .map(|k| {
                assert_eq!(k["sqlstate"], sqlstate, "{needle}");
                n(&k["count"])
            })
            .sum();
        assert_eq!(got, count(needle), "{needle}");
    }
    // Statement timeouts hit the reports; the lock timeout the batch job.
    let queries = r["queries"].as_array().unwrap();
    let cancelled: Vec<&Value> = queries
        .iter()
        .filter(|q| n(&q["cancellations"]) > 0)
        .collect();
    assert_eq!(
        cancelled
            .iter()
            .map(|q| n(&q["cancellations"]))
            .sum::<u64>(),
        13
    );
    // The connection storm is the peak of concurrent sessions (max_connections = 40).
    let s = &r["sessions"];
    let peak = s["peak_concurrent"].as_i64().unwrap();
    assert!((30..=40).contains(&peak), "{s}");
    let at = epoch_ms(s["peak_at"].as_str().unwrap());
    assert!(at >= event("connection_storm_start") - 1000 && at <= event("connection_storm_end"));
}

/// `2026-11-24T04:42:02.442Z` in ms since the epoch (UTC, this corpus only).
fn epoch_ms(s: &str) -> i64 {
    let (date, time) = s.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + frac.parse::<i64>().unwrap()
}

#[test]
fn blockers_do_not_depend_on_chunking() {
    // 1.5 KB chunks put nearly every lock wait in a different chunk from its holder's
    // statements, before and after it.
    let reference = without_run(c_incident(&["-j", "1"]));
    for args in [
        ["-j", "2", "--chunk-size", "1500"],
        ["-j", "1", "--chunk-size", "4000"],
    ] {
        assert!(without_run(c_incident(&args)) == reference, "{args:?}");
    }
}
