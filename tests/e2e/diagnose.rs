//! The findings on real incidents, checked against their truth: `timeline.json` (what
//! was done when, written by the script that ran the incident) and the server's own
//! pg_stat_statements snapshots at the phase ends. Nothing expected here comes from
//! pgferret.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Window widths the findings must not depend on.
const WIDTHS: &[&str] = &["1s", "5s", "10s", "1m"];

fn findings<'a>(r: &'a Value, kind: &str, incident: Option<u64>) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == kind && (incident.is_none() || f["incident"].as_u64() == incident))
        .collect()
}

/// SQL compared across pg_stat_statements and pgferret: lower case, `$n` as `$`, no
/// blanks or comments, IN lists as one element.
fn sql_key(sql: &str) -> String {
    let comments = regex::Regex::new(r"/\*.*?\*/").unwrap();
    let params = regex::Regex::new(r"\$\d+").unwrap();
    let lists = regex::Regex::new(r"\(\$(,\$)*\)").unwrap();
    let s = comments.replace_all(&sql.to_lowercase(), "").into_owned();
    let s = params.replace_all(&s, "$").into_owned();
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    lists.replace_all(&s, "($)").into_owned()
}

/// Cumulative (calls, total ms) per query in one snapshot, by [`sql_key`], summed over
/// users and IN-list variants.
fn cumulative(dir: &str, file: &str) -> BTreeMap<String, (f64, f64)> {
    let p = root().join("testdata").join(dir).join(file);
    let mut m: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for row in csv_reader(&p) {
        let e = m.entry(sql_key(&row["query"])).or_default();
        e.0 += row["calls"].parse::<f64>().unwrap();
        e.1 += row["total_exec_time"].parse::<f64>().unwrap();
    }
    m
}

/// A small CSV reader for pg_stat_statements dumps (quoted fields with newlines).
fn csv_reader(p: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(p).expect("csv");
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    let header = rows.remove(0);
    rows.into_iter()
        .filter(|r| r.len() == header.len())
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

/// Queries pg_stat_statements says regressed from the normal to the incident phase:
/// at least 5 calls in both, `factor` times and 1 ms slower on average.
fn pgss_regressed(dir: &str, factor: f64) -> Vec<String> {
    let normal = cumulative(dir, "pg_stat_statements.normal_end.csv");
    let incident = cumulative(dir, "pg_stat_statements.incident_end.csv");
    incident
        .into_iter()
        .filter(|(k, (c1, t1))| {
            let Some((c0, t0)) = normal.get(k) else {
                return false;
            };
            let (n, m0) = (c1 - c0, t0 / c0);
            let m1 = (t1 - t0) / n;
            *c0 >= 5.0 && n >= 5.0 && m1 >= factor * m0 && m1 - m0 >= 1.0
        })
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn c_incident_cause_regressions_and_locks_at_every_window_width() {
    let t = timeline("c_incident");
    let start = event_ms(&t, "incident_start");
    let dropped = event_ms(&t, "good_index_dropped");
    let mitigation = event_ms(&t, "mitigation_start");
    let slower = pgss_regressed("c_incident", 10.0);
    assert!(slower.len() >= 4, "pg_stat_statements: {slower:?}");
    assert!(slower.iter().any(|q| q.contains("wherecustomer_id=$")));
    let path = log("c_incident");
    for w in WIDTHS {
        let r = json_report(&[path.to_str().unwrap(), "--window", w], None);
        let inc = findings(&r, "incident", None);
        assert_eq!(inc.len(), 1, "--window {w}: {inc:#?}");
        let onset = ms(inc[0]["at"].as_str().unwrap());
        let until = ms(inc[0]["until"].as_str().unwrap());
        // The slowdown starts when the index is dropped; the span ends with the fix.
        assert!(
            (start - 1000..=dropped + 2000).contains(&onset),
            "--window {w}: onset {onset} vs drop {dropped}"
        );
        assert!(
            (until - mitigation).abs() <= 10_000,
            "--window {w}: until {until}"
        );
        assert_eq!(inc[0]["duration_ms"].as_i64(), Some(until - onset));
        let causes = findings(&r, "cause", Some(1));
        let top = causes[0];
        assert_eq!(top["rank"], 1, "--window {w}");
        assert_eq!(top["cause"], "ddl", "--window {w}: {top:#}");
        assert_eq!(top["relation"], "orders", "--window {w}: {top:#}");
        let stmt = top["statement"].as_str().unwrap();
        assert!(
            stmt.contains("orders_customer_id_idx")
                || stmt.contains("orders_status_updated_customer_idx"),
            "--window {w}: {stmt}"
        );
        // The DDL ran between the deploy's start and the drop's return.
        let at = ms(top["at"].as_str().unwrap());
        assert!(
            (start - 100..=dropped + 500).contains(&at),
            "--window {w}: cause at {at}"
        );
        let lag = top["lag_ms"].as_i64().unwrap();
        assert_eq!(
            lag,
            onset - at,
            "--window {w}: lag is onset minus the cause"
        );
        assert!(lag.abs() <= 1500, "--window {w}: lag {lag}");
        // Every query pg_stat_statements saw 10× slower is among the regressions.
        let regs: Vec<String> = findings(&r, "regression", Some(1))
            .iter()
            .map(|f| sql_key(f["query"].as_str().unwrap()))
            .collect();
        for q in &slower {
            assert!(regs.contains(q), "--window {w}: {q} not among {regs:#?}");
        }
        for f in findings(&r, "regression", Some(1)) {
            assert!(f["tables"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "orders"));
            assert!(f["ratio"].as_f64().unwrap() >= 2.0);
            assert_eq!(f["fingerprint"].as_str().unwrap().len(), 16);
        }
        let locks = findings(&r, "lock_hotspot", None);
        assert_eq!(
            locks[0]["relation"], "orders",
            "--window {w}: {:#}",
            locks[0]
        );
        assert!(locks[0]["waits"].as_u64().unwrap() > 0);
        // The rise in logged statements is (mostly) statements crossing 5 ms: said.
        assert_eq!(findings(&r, "threshold", Some(1)).len(), 1, "--window {w}");
    }
}

#[test]
fn findings_are_the_same_from_one_thread_and_many() {
    let path = log("c_incident");
    for w in ["1s", "1m"] {
        let one = json_report(&[path.to_str().unwrap(), "--window", w, "-j", "1"], None);
        let many = json_report(&[path.to_str().unwrap(), "--window", w, "-j", "4"], None);
        assert_eq!(one["findings"], many["findings"], "--window {w}");
        assert!(!one["findings"].as_array().unwrap().is_empty());
    }
}

/// The incidents of testdata/incidents: the cause ranked first, the locked relation
/// and the regressions are those of their timeline.json.
#[test]
fn made_incidents_name_their_cause() {
    for dir in ["incidents/wm_reload", "incidents/ddl_lock"] {
        let t = timeline(dir);
        let base = root().join("testdata").join(dir);
        let input = ["postgresql.log", "postgresql.csv"]
            .iter()
            .map(|f| base.join(f))
            .find(|p| p.exists())
            .expect("log");
        let truth = &t["cause"];
        let cause_at = event_ms(&t, truth["event"].as_str().unwrap());
        for w in WIDTHS {
            let r = json_report(&[input.to_str().unwrap(), "--window", w], None);
            let causes = findings(&r, "cause", Some(1));
            assert!(!causes.is_empty(), "{dir} --window {w}: no cause");
            let top = causes[0];
            assert_eq!(top["cause"], truth["kind"], "{dir} --window {w}: {top:#}");
            if !truth["relation"].is_null() {
                assert_eq!(top["relation"], truth["relation"], "{dir} --window {w}");
            }
            for p in truth["parameters"].as_array().unwrap() {
                assert!(
                    top["parameters"].as_array().unwrap().contains(p),
                    "{dir} --window {w}: {p} not in {top:#}"
                );
            }
            let at = ms(top["at"].as_str().unwrap());
            assert!(
                (at - cause_at).abs() <= 1000,
                "{dir} --window {w}: {at} vs {cause_at}"
            );
            if let Some(rel) = truth["lock_relation"].as_str() {
                let locks = findings(&r, "lock_hotspot", None);
                assert_eq!(locks[0]["relation"], rel, "{dir} --window {w}");
            }
            let regs: Vec<String> = findings(&r, "regression", Some(1))
                .iter()
                .map(|f| sql_key(f["query"].as_str().unwrap()))
                .collect();
            for q in t["regressed"].as_array().unwrap() {
                let k = sql_key(q["query"].as_str().unwrap());
                assert!(
                    regs.contains(&k),
                    "{dir} --window {w}: {k} not among {regs:#?}"
                );
            }
        }
    }
}
