//! The Parquet export: the same file from 1 thread and N; the README's DuckDB query
//! over it gives pgferret's per-fingerprint count and total exactly and its p95 within
//! the histogram's precision; the event rows match independent counts.

use crate::util::{expected_events, log, root, run};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn export(args: &[&str], dir: &Path, name: &str) -> (std::path::PathBuf, Value) {
    let pq = dir.join(format!("{name}.parquet"));
    let js = dir.join(format!("{name}.json"));
    let path = log("c_incident");
    let mut all = vec![
        path.to_str().unwrap(),
        "-o",
        pq.to_str().unwrap(),
        "-o",
        js.to_str().unwrap(),
    ];
    all.extend(args);
    let o = run(&all, None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    (pq, v)
}

/// One thread, or four on small chunks: byte-identical files.
#[test]
fn the_same_export_from_one_thread_and_many() {
    let dir = tempfile::tempdir().unwrap();
    let (one, _) = export(&["-j1"], dir.path(), "one");
    let (many, _) = export(&["-j4", "--chunk-size", "65536"], dir.path(), "many");
    let (a, b) = (std::fs::read(one).unwrap(), std::fs::read(many).unwrap());
    assert!(a.starts_with(b"PAR1") && a.len() > 10_000);
    assert!(a == b, "the exports differ");
}

/// The README's query, as written there (the first ```sql block after its marker).
fn readme_query() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme.find("<!-- duckdb-query -->").expect("marker")..];
    let start = after.find("```sql\n").expect("sql block") + 7;
    after[start..start + after[start..].find("```").unwrap()].to_string()
}

const SCRIPT: &str = r#"
import duckdb, json, sys
path, query = sys.argv[1], sys.argv[2]
con = duckdb.connect()
query = query.replace("'events.parquet'", "'" + path.replace("'", "''") + "'")
per_fp = {}
for fp, _q, count, total, p95 in con.execute(query).fetchall():
    per_fp[fp] = [count, total, p95]
# The executions of each fingerprint in order, to place the p95 by rank.
durations = {}
for fp, ds in con.execute(
    "SELECT fingerprint, list(duration_ms ORDER BY duration_ms) FROM read_parquet(?) "
    "WHERE kind = 'statement' AND duration_ms IS NOT NULL GROUP BY fingerprint", [path]
).fetchall():
    durations[fp] = ds
kinds = dict(con.execute(
    "SELECT kind, count(*) FROM read_parquet(?) GROUP BY kind", [path]).fetchall())
temp = con.execute(
    "SELECT sum(temp_bytes) FROM read_parquet(?) WHERE kind = 'temp_file'", [path]).fetchone()[0]
ordered = con.execute(
    "SELECT bool_and(t >= p) FROM (SELECT time AS t, lag(time) OVER () AS p "
    "FROM read_parquet(?)) WHERE p IS NOT NULL", [path]).fetchone()[0]
print(json.dumps({"per_fp": per_fp, "durations": durations, "kinds": kinds,
                  "temp_bytes": temp, "ordered": ordered}))
"#;

/// The README's DuckDB query against pgferret's JSON: count and total exact (total to
/// the microsecond, as both sum whole microseconds), p95 within 1% of a value at most
/// one rank from DuckDB's nearest-rank p95 (pgferret's histogram keeps two significant
/// digits, and its rank rounding may differ by one). Skipped, saying so, without
/// Python's duckdb (`.ci/run` installs it).
#[test]
fn duckdb_reads_the_export_as_pgferret_counts() {
    let has = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("SKIPPED duckdb_reads_the_export_as_pgferret_counts: python3 with duckdb is not installed (pip install duckdb)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (pq, report) = export(&[], dir.path(), "events");
    let o = Command::new("python3")
        .args(["-c", SCRIPT, pq.to_str().unwrap(), &readme_query()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    let per_fp = got["per_fp"].as_object().unwrap();
    let queries = report["queries"].as_array().unwrap();
    assert!(queries.len() > 10);
    assert!(report["folded"].is_null());
    assert_eq!(
        per_fp.len(),
        queries
            .iter()
            .filter(|q| q["count"].as_u64() > Some(0))
            .count()
    );
    for q in queries.iter().filter(|q| q["count"].as_u64() > Some(0)) {
        let fp = q["fingerprint"].as_str().unwrap();
        let d = &per_fp[fp];
        assert_eq!(d[0], q["count"], "count of {fp}");
        let total = d[1].as_f64().unwrap_or(0.0);
        assert!(
            (total - q["total_ms"].as_f64().unwrap()).abs() < 0.0005,
            "total of {fp}"
        );
        let Some(p95) = q["p95_ms"].as_f64() else {
            continue;
        };
        let ds: Vec<f64> = got["durations"][fp]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let rank = (0.95 * ds.len() as f64).ceil() as usize; // 1-based nearest rank
        assert_eq!(
            d[2].as_f64().unwrap(),
            ds[rank - 1],
            "DuckDB's quantile_disc is nearest-rank"
        );
        let lo = ds[rank.saturating_sub(2)] * 0.99;
        let hi = ds[rank.min(ds.len() - 1)] * 1.01;
        assert!(
            lo <= p95 && p95 <= hi,
            "p95 of {fp}: {p95} not in [{lo}, {hi}]"
        );
    }
    // Events, against awk's counts over the log.
    let e = expected_events("c_incident");
    let kinds = &got["kinds"];
    assert_eq!(kinds["deadlock"], e["deadlocks"]);
    assert_eq!(kinds["lock_wait"], e["lock_waits"]);
    assert_eq!(kinds["lock_acquired"], e["lock_acquired"]);
    assert_eq!(kinds["lock_deadlock"], e["deadlock_waits"]);
    assert_eq!(kinds["temp_file"], e["temp_files"]);
    assert_eq!(got["temp_bytes"], e["temp_bytes"]);
    assert_eq!(kinds["connection_refused"], e["connection_limit"]);
    assert_eq!(kinds["statement"], report["totals"]["statements"]);
    assert_eq!(got["ordered"], true, "rows in time order");
}

/// Parquet needs a file; an anonymized report cannot be exported (its rows carry
/// names as logged).
#[test]
fn export_refusals() {
    let path = log("c_incident");
    let p = path.to_str().unwrap();
    let o = run(&[p, "-o", "-.parquet"], None);
    assert_eq!(o.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("e.parquet");
    let o = run(&[p, "-o", pq.to_str().unwrap(), "--anonymize"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(!pq.exists());
}
