//! Every format PostgreSQL writes gives the same analysis of the same events; every
//! compression gives the same JSON as the plain file.

use crate::util::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

fn file(name: &str, f: &str) -> String {
    root()
        .join("testdata")
        .join(name)
        .join(f)
        .to_str()
        .unwrap()
        .to_string()
}

/// The report without what legitimately differs between formats of one log: the
/// inputs (and `server`, named by their paths), and the query ids (only csv/json, or a
/// prefix with %Q, carry them).
fn comparable(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("run");
    o.remove("inputs");
    o.remove("server");
    o.remove("options");
    for q in o["queries"].as_array_mut().unwrap() {
        q.as_object_mut().unwrap().remove("query_ids");
    }
    v
}

/// Queries that ran (the list also holds queries that only failed or waited).
fn executed(v: &Value) -> impl Iterator<Item = &Value> {
    v["queries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["count"].as_u64() > Some(0))
}

/// Per-fingerprint figures that do not depend on timestamp precision.
fn aggregates(v: &Value) -> BTreeMap<String, Vec<Value>> {
    executed(v)
        .map(|q| {
            let keys = [
                "count", "total_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms", "query",
            ];
            (
                q["fingerprint"].as_str().unwrap().to_string(),
                keys.iter().map(|k| q[*k].clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn csvlog_and_jsonlog_of_one_server_give_the_same_report() {
    let csv = json_report(&[&file("b_csv_json", "postgresql.csv.gz")], None);
    let json = json_report(&[&file("b_csv_json", "postgresql.json.gz")], None);
    assert_eq!(csv["inputs"][0]["format"], "csv");
    assert_eq!(json["inputs"][0]["format"], "json");
    assert_eq!(csv["inputs"][0]["compression"], "gzip");
    assert_eq!(csv["inputs"][0]["prefix"], Value::Null);
    assert_eq!(csv["inputs"][0]["skipped_lines"], 0);
    assert_eq!(json["inputs"][0]["skipped_lines"], 0);
    // Same events: 11,584 records in both (the corpus INVENTORY counts them too).
    assert_eq!(csv["inputs"][0]["entries"], 11584);
    assert_eq!(json["inputs"][0]["entries"], 11584);
    assert_eq!(
        csv["queries"][0]["query_ids"],
        json["queries"][0]["query_ids"]
    );
    assert!(
        comparable(csv) == comparable(json),
        "csv and json reports differ"
    );
}

#[test]
fn stderr_csvlog_and_jsonlog_agree_on_every_fingerprint() {
    let stderr = json_report(&[log("d_multiline").to_str().unwrap()], None);
    let want = aggregates(&stderr);
    assert_eq!(
        want.len(),
        stderr["totals"]["fingerprints"].as_u64().unwrap() as usize
    );
    for f in ["postgresql.csv.gz", "postgresql.json.gz"] {
        let other = json_report(&[&file("d_multiline", f)], None);
        assert_eq!(
            other["totals"]["statements"], stderr["totals"]["statements"],
            "{f}"
        );
        assert_eq!(
            other["totals"]["total_ms"], stderr["totals"]["total_ms"],
            "{f}"
        );
        assert_eq!(
            other["totals"]["protocol_steps"], stderr["totals"]["protocol_steps"],
            "{f}"
        );
        assert_eq!(
            other["inputs"][0]["entries"], stderr["inputs"][0]["entries"],
            "{f}"
        );
        assert!(
            aggregates(&other) == want,
            "{f}: per-fingerprint figures differ from stderr"
        );
    }
}

#[test]
fn csvlog_counts_and_query_ids_equal_pg_stat_statements() {
    let r = json_report(&[&file("b_csv_json", "postgresql.csv.gz")], None);
    let mut rdr = csv::Reader::from_path(file("b_csv_json", "pg_stat_statements.csv")).unwrap();
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    let mut ids: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[8] != "t" {
            continue;
        }
        let fp = pgferret::normalize::fingerprint_hex(pgferret::normalize::normalize(&rec[5]).1);
        *calls.entry(fp.clone()).or_default() += rec[1].parse::<u64>().unwrap();
        ids.entry(fp).or_default().insert(rec[0].parse().unwrap());
    }
    let queries: Vec<&Value> = executed(&r).collect();
    assert_eq!(queries.len(), calls.len());
    for q in queries {
        let fp = q["fingerprint"].as_str().unwrap();
        assert_eq!(
            q["count"].as_u64(),
            calls.get(fp).copied(),
            "{}",
            q["query"]
        );
        let got: BTreeSet<i64> = q["query_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(Some(&got), ids.get(fp), "query ids of {}", q["query"]);
    }
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(data, 1).unwrap(),
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "lz4" => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

fn without_compression(v: Value) -> String {
    let mut v = v;
    for i in v["inputs"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("compression");
    }
    without_run(v)
}

#[test]
fn compressed_copies_give_the_same_json_as_the_plain_file() {
    let plain = log("a3_ddl_extended");
    let data = std::fs::read(&plain).unwrap();
    let want = without_compression(json_report(&[plain.to_str().unwrap(), "-j", "2"], None));
    let dir = tempfile::tempdir().unwrap();
    for (kind, name) in [
        ("gz", "gzip"),
        ("zst", "zstd"),
        ("bz2", "bzip2"),
        ("xz", "xz"),
        ("lz4", "lz4"),
    ] {
        // A misleading name: compression is recognised by content, not extension.
        let p = dir.path().join(format!("postgresql-{kind}.log"));
        std::fs::write(&p, compress(kind, &data)).unwrap();
        let got = json_report(
            &[p.to_str().unwrap(), "-j", "2", "--chunk-size", "100000"],
            None,
        );
        assert_eq!(got["inputs"][0]["compression"], name);
        assert!(
            without_compression(got) == want,
            "{kind} differs from the plain file"
        );
    }
    let gz = dir.path().join("postgresql-gz.log");
    let piped = json_report(&["-", "-j", "2"], Some(Path::new(&gz)));
    assert_eq!(piped["inputs"][0]["compression"], "gzip");
    assert!(without_compression(piped) == want, "gzip on stdin differs");
}

/// A zstd file of many frames (decoded in parallel, frame by frame) gives the JSON of
/// the plain file, whatever the threads and chunks, and so does the same file on
/// stdin (decoded as one stream). Frame boundaries fall mid-line and mid-entry.
#[test]
fn a_multi_frame_zstd_gives_the_same_json_as_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a3_ddl_extended", "a1_pgbadger"] {
        let plain = log(name);
        let data = std::fs::read(&plain).unwrap();
        let want = without_compression(json_report(&[plain.to_str().unwrap()], None));
        // About 12 frames, of a size prime to any line length.
        let z = zstd_frames(&data, data.len() / 12 + 7);
        let p = dir.path().join(format!("{name}.log.zst"));
        std::fs::write(&p, &z).unwrap();
        for args in [
            &["-j", "1"][..],
            &["-j", "2"],
            &["-j", "2", "--chunk-size", "5000"],
        ] {
            let mut all = vec![p.to_str().unwrap()];
            all.extend(args);
            let got = json_report(&all, None);
            assert_eq!(got["inputs"][0]["compression"], "zstd");
            assert!(
                without_compression(got) == want,
                "{name} {args:?} differs from the plain file"
            );
        }
        let piped = json_report(&["-", "-j", "2"], Some(&p));
        assert!(
            without_compression(piped) == want,
            "{name} on stdin differs"
        );
    }
}

#[test]
fn a_directory_reads_the_logs_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(log("a1_pgbadger"), dir.path().join("postgresql-1.log")).unwrap();
    std::fs::write(
        dir.path().join("postgresql-2.log.gz"),
        compress("gz", &std::fs::read(log("a3_ddl_extended")).unwrap()),
    )
    .unwrap();
    std::fs::write(dir.path().join(".hidden.log"), "x").unwrap();
    std::fs::write(dir.path().join("postmaster.pid"), "123").unwrap();
    std::fs::write(dir.path().join("CHANGELOG.md"), "# not a log").unwrap();
    // Regression: a file in the directory that looks like a log by name but is not one
    // (the corpus folders hold meta.json) used to abort the whole run.
    std::fs::write(dir.path().join("meta.json"), "{\"scenario\": \"x\"}\n").unwrap();
    // It is passed over with its verdict, and the exit code says so (3).
    let out = dir.path().join("r.json.out");
    let o = run(
        &[
            dir.path().to_str().unwrap(),
            "-o",
            &format!("{}.json", out.display()),
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{}.json", out.display())).unwrap()).unwrap();
    let inputs = r["inputs"].as_array().unwrap();
    let paths: Vec<&str> = inputs.iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(inputs.len(), 3, "{paths:?}");
    assert!(paths[0].ends_with("meta.json"));
    assert_eq!(inputs[0]["format"], "unrecognised");
    assert_eq!(inputs[0]["verdict"], "passed_over");
    assert!(paths[1].ends_with("postgresql-1.log"));
    assert_eq!(inputs[2]["compression"], "gzip");
    assert_eq!(r["totals"]["statements"], 8037 + 2995);
}

#[test]
fn format_flag_overrides_detection() {
    let p = log("a1_pgbadger");
    let o = run(&[p.to_str().unwrap(), "--format", "json", "-o", "-"], None);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a stderr log read as json holds no entry"
    );
    let o = run(&[p.to_str().unwrap(), "--format", "xml"], None);
    assert_eq!(o.status.code(), Some(2));
    let r = json_report(
        &[&file("b_csv_json", "postgresql.csv.gz"), "--format", "csv"],
        None,
    );
    assert_eq!(r["totals"]["statements"], 3940);
}

#[test]
fn csv_and_json_split_into_many_chunks_give_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["postgresql.csv.gz", "postgresql.json.gz"] {
        // Plain copies so they are memory-mapped and cut into chunks.
        let mut d =
            flate2::read::GzDecoder::new(std::fs::File::open(file("d_multiline", f)).unwrap());
        let plain = dir.path().join(f.trim_end_matches(".gz"));
        std::io::copy(&mut d, &mut std::fs::File::create(&plain).unwrap()).unwrap();
        let p = plain.to_str().unwrap();
        let one = without_run(json_report(
            &[p, "-j", "1", "--chunk-size", "100000000"],
            None,
        ));
        for args in [
            vec![p, "-j", "2", "--chunk-size", "7000"],
            vec![p, "-j", "1", "--chunk-size", "3000"],
            vec!["-", "-j", "2", "--chunk-size", "5000"],
        ] {
            let stdin = (args[0] == "-").then_some(plain.as_path());
            let got = without_run(json_report(&args, stdin));
            assert!(got == one, "{f}: {args:?} differs from one chunk");
        }
    }
}

/// Regression: a quoted SQL literal holding a line shaped exactly like a csvlog record
/// must not be taken for a record boundary when the file is cut into chunks.
#[test]
fn csv_decoy_records_inside_quoted_sql_do_not_split_entries() {
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open(file("d_multiline", "postgresql.csv.gz")).unwrap(),
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut gz, &mut text).unwrap();
    let fake = "2026-11-24 04:46:20.000 UTC,x,y,1,h,s,1,t,2026-11-24 04:46:20 UTC,1/1,0,LOG,00000,duration: 9.000 ms  statement: fake,,,,,,,,,app,client backend,,1";
    let decoy = format!(
        "2026-11-24 04:46:20.500 UTC,\"webapp\",\"appdb\",4242,\"[local]\",6b051600.1092,1,\"SELECT\",2026-11-24 04:46:20 UTC,3/0,0,LOG,00000,\"duration: 1.500 ms  statement: SELECT '\n{fake}\n{fake}\n' AS decoy\",,,,,,,,,\"psql\",\"client backend\",,0\n"
    );
    let mut out = String::new();
    // Insert a decoy before every 40th record (at record boundaries of the real file).
    let (mut last, mut k, mut quotes, mut counted) = (0, 0, 0usize, 0);
    for (i, _) in text.match_indices("\n2026-") {
        let at = i + 1;
        quotes += text[counted..at].bytes().filter(|&b| b == b'"').count();
        counted = at;
        if quotes % 2 == 0 {
            if k % 40 == 0 {
                out.push_str(&text[last..at]);
                out.push_str(&decoy);
                last = at;
            }
            k += 1;
        }
    }
    out.push_str(&text[last..]);
    let inserted = out.matches("AS decoy").count() as u64;
    assert!(inserted > 100);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("decoys.csv");
    std::fs::write(&p, &out).unwrap();
    let p = p.to_str().unwrap();
    let clean = json_report(&[&file("d_multiline", "postgresql.csv.gz")], None);
    let one = json_report(&[p, "-j", "1", "--chunk-size", "100000000"], None);
    let n = |v: &Value| v["totals"]["statements"].as_u64().unwrap();
    assert_eq!(n(&one), n(&clean) + inserted);
    assert_eq!(one["inputs"][0]["skipped_lines"], 0);
    let one = without_run(one);
    for args in [
        vec![p, "-j", "2", "--chunk-size", "2000"],
        vec!["-", "-j", "2", "--chunk-size", "3000"],
    ] {
        let stdin = (args[0] == "-").then(|| Path::new(p));
        assert!(
            without_run(json_report(&args, stdin)) == one,
            "{args:?} split a decoy"
        );
    }
}

#[test]
fn query_id_flag_keeps_one_query() {
    let f = file("b_csv_json", "postgresql.csv.gz");
    let all = json_report(&[&f], None);
    let q = all["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| {
            q["query"] == "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2"
        })
        .unwrap();
    let id = q["query_ids"][0].as_i64().unwrap().to_string();
    let one = json_report(&[&f, "--query-id", &id], None);
    assert_eq!(one["totals"]["statements"], q["count"]);
    let ran: Vec<&Value> = executed(&one).collect();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0]["fingerprint"], q["fingerprint"]);
}

#[test]
fn non_utf8_statement_text_never_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.log");
    let mut data = Vec::new();
    for (i, name) in [&b"M\xfcller"[..], b"M\xfcller", b"Jos\xe9"]
        .iter()
        .enumerate()
    {
        data.extend_from_slice(format!("2026-11-24 04:34:3{i} UTC [7]: [1-1] user=u,db=d,app=a,client=h LOG:  duration: 1.000 ms  statement: SELECT * FROM t WHERE name = '").as_bytes());
        data.extend_from_slice(name);
        data.extend_from_slice(b"' AND note = '\xff'\n");
    }
    std::fs::write(&p, data).unwrap();
    let r = json_report(&[p.to_str().unwrap()], None);
    assert_eq!(r["totals"]["statements"], 3);
    assert_eq!(
        r["queries"].as_array().unwrap().len(),
        1,
        "literals differ only"
    );
    let s = r["queries"][0]["samples"][0]["query"].as_str().unwrap();
    assert!(s.contains('\u{fffd}'), "lossy display: {s}");
}

#[test]
fn syslog_in_both_timestamp_styles_equals_the_grep_counts() {
    let e = expected("syslog");
    let trad = json_report(&[&file("syslog", "postgresql.log")], None);
    let iso = json_report(&[&file("syslog", "postgresql-iso.log")], None);
    for r in [&trad, &iso] {
        let i = &r["inputs"][0];
        assert_eq!(i["format"], "syslog");
        assert_eq!(i["prefix"], "%m [%p] %q%u@%d ");
        assert_eq!(i["skipped_lines"], 0);
        assert_eq!(i["lines"], e["lines"]);
        assert_eq!(r["totals"]["statements"], e["duration_statements"]);
        let ms = r["totals"]["total_ms"].as_f64().unwrap();
        assert!(same_ms(ms, e["duration_statements_ms"].as_f64().unwrap()));
        assert_eq!(r["totals"]["protocol_steps"], e["protocol_steps"]);
    }
    assert!(
        comparable(trad.clone()) == comparable(iso),
        "the two syslog styles differ"
    );
    // Lines rebuilt from syslog's pieces: `#011` is a TAB again, a multi-line statement
    // has its lines, and a literal longer than syslog's line limit is whole again.
    let samples: Vec<&str> = trad["queries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|q| q["samples"].as_array().unwrap())
        .map(|s| s["query"].as_str().unwrap())
        .collect();
    assert!(samples
        .iter()
        .any(|s| s.starts_with("SELECT 'tab\tinside' AS t, ")));
    assert!(samples.iter().any(
        |s| s.starts_with("SELECT aid,\n       abalance\n  FROM pgbench_accounts\n WHERE aid IN (")
    ));
    let long = format!(
        "SELECT '{}' AS long_literal_split_by_syslog, ",
        "long".repeat(400)
    );
    assert!(
        samples.iter().any(|s| s.starts_with(&long)),
        "split literal not reassembled"
    );
}

#[test]
fn syslog_split_into_many_chunks_gives_identical_json() {
    let p = file("syslog", "postgresql.log");
    let one = without_run(json_report(&[&p, "-j", "1"], None));
    for args in [
        vec![p.as_str(), "-j", "2", "--chunk-size", "3000"],
        vec!["-", "-j", "2", "--chunk-size", "5000"],
    ] {
        let stdin = (args[0] == "-").then(|| Path::new(&p));
        assert!(
            without_run(json_report(&args, stdin)) == one,
            "{args:?} differs"
        );
    }
}

/// The incident log's csvlog copy gives the stderr log's report: statements, every
/// signal (lock waits and blockers, deadlocks, errors, temp files, checkpoints,
/// sessions...) and the timeline. Left out: what the formats write differently (the
/// stderr prefix has no %Q; stderr keeps ` at character N` in error messages, csv puts
/// it in its own column, so the SQLSTATE of a stderr error is read from its text).
#[test]
fn c_incident_csvlog_gives_the_stderr_report() {
    let stderr = json_report(&[log("c_incident").to_str().unwrap()], None);
    let dir = tempfile::tempdir().unwrap();
    let mut d = flate2::read::GzDecoder::new(
        std::fs::File::open(file("c_incident", "postgresql.csv.gz")).unwrap(),
    );
    let plain = dir.path().join("postgresql.csv");
    std::io::copy(&mut d, &mut std::fs::File::create(&plain).unwrap()).unwrap();
    let p = plain.to_str().unwrap();
    let csv = json_report(&[p], None);
    assert_eq!(csv["inputs"][0]["format"], "csv");
    assert_eq!(csv["inputs"][0]["skipped_lines"], 0);
    let e = expected_events("c_incident");
    for k in [
        "lock_waits",
        "deadlocks",
        "cancellations",
        "errors",
        "temp_files",
        "temp_bytes",
        "checkpoints",
        "connections",
        "disconnections",
    ] {
        assert_eq!(csv["totals"][k], e[k], "csv totals.{k}");
    }
    let strip = |mut v: Value| {
        let mut v2 = comparable(v.take());
        for m in v2["errors"]["by_message"].as_array_mut().unwrap() {
            let m = m.as_object_mut().unwrap();
            m.remove("example");
            m.remove("sqlstate_from_text");
        }
        v2
    };
    let (a, b) = (strip(stderr), strip(csv));
    let differ: Vec<&String> = a
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| a[*k] != b[*k])
        .collect();
    // What the log can tell differs by design: csv carries query ids, a prefix may not.
    assert_eq!(
        differ,
        ["log_facts"],
        "sections that differ between stderr and csvlog"
    );
    assert_eq!(a["log_facts"]["query_ids"], false);
    assert_eq!(b["log_facts"]["query_ids"], true);
    // And the csv is cut into chunks at record boundaries whatever their size.
    let one = without_run(json_report(
        &[p, "-j", "1", "--chunk-size", "100000000"],
        None,
    ));
    for args in [
        vec![p, "-j", "2", "--chunk-size", "7000"],
        vec!["-", "-j", "2", "--chunk-size", "20000"],
    ] {
        let stdin = (args[0] == "-").then_some(plain.as_path());
        assert!(
            without_run(json_report(&args, stdin)) == one,
            "{args:?} differs"
        );
    }
}
