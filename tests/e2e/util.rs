//! Helpers for the end-to-end tests: running the binary, reading the JSON report,
//! and the expected figures that sit beside each log in testdata/.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A log shipped in testdata/.
pub fn log(name: &str) -> PathBuf {
    root().join("testdata").join(name).join("postgresql.log")
}

/// The pgferret binary built for these tests.
pub fn pgferret() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pgferret"))
}

/// Runs pgferret with `args` (and `stdin` if given) and returns its output.
pub fn run(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = pgferret();
    cmd.args(args);
    match stdin {
        Some(p) => cmd.stdin(Stdio::from(std::fs::File::open(p).expect("stdin file"))),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.output().expect("run pgferret")
}

/// Runs pgferret writing JSON into a scratch file and returns the parsed report.
pub fn json_report(args: &[&str], stdin: Option<&Path>) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let mut all: Vec<&str> = args.to_vec();
    let out_s = out.to_str().expect("utf-8 path");
    all.extend(["-o", out_s]);
    let o = run(&all, stdin);
    assert!(
        o.status.success(),
        "pgferret {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("read report")).expect("valid JSON")
}

/// The report without its run-specific part: what must be identical between runs.
pub fn without_run(mut v: Value) -> String {
    v.as_object_mut().expect("object").remove("run");
    // Input paths differ between a file and stdin (and `server` names the inputs by
    // their paths), `options` records the flags given; everything else must not.
    v.as_object_mut().expect("object").remove("server");
    v.as_object_mut().expect("object").remove("options");
    if let Some(inputs) = v.get_mut("inputs").and_then(Value::as_array_mut) {
        for i in inputs {
            i.as_object_mut().expect("input").remove("path");
            if let Some(ex) = i.get_mut("skipped_examples") {
                *ex = Value::Null;
            }
        }
    }
    serde_json::to_string_pretty(&v).expect("serialize")
}

/// The expected figures beside a log (written by testdata/expected.sh).
pub fn expected(name: &str) -> Value {
    let p = root().join("testdata").join(name).join("expected.json");
    serde_json::from_slice(&std::fs::read(p).expect("expected.json")).expect("valid JSON")
}

/// Float equality to the microsecond.
pub fn same_ms(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.0005
}

/// Runs pgferret writing HTML into `dir` and returns the file's path and text.
pub fn html_report(args: &[&str], dir: &Path) -> (PathBuf, String) {
    let out = dir.join("report.html");
    let mut all: Vec<&str> = args.to_vec();
    let out_s = out.to_str().expect("utf-8 path");
    all.extend(["-o", out_s]);
    let o = run(&all, None);
    assert!(
        o.status.success(),
        "pgferret {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(&out).expect("read report");
    (out, html)
}

/// A log whose query texts, user, database, application, parameters, DDL and error
/// messages carry markup and script payloads; 30 s of statements so every part of the
/// report (timeline, markers, top tables, details) shows some of them.
pub fn evil_log(dir: &Path) -> PathBuf {
    let user = "<script>document.title='PWNED1'</script>";
    let db = "x\" onmouseover=\"document.body.dataset.pwned=2";
    let app = "javascript:document.body.dataset.pwned=3";
    let mut s = String::new();
    for i in 0..30 {
        let p = format!(
            "2026-11-24 04:34:{i:02} UTC [7{i}]: [1-1] user={user},db={db},app={app},client=h "
        );
        s += &format!(
            "{p}LOG:  duration: {}.250 ms  statement: SELECT '</textarea><script>document.title=4</script>' AS x /* <img src=x onerror=document.body.dataset.pwned=5> */\n",
            1 + i % 7
        );
        s += &format!(
            "{p}LOG:  duration: 0.{i:02}0 ms  execute <unnamed>: SELECT * FROM t WHERE a = $1 AND b = '\" onmouseover=x'\n{p}DETAIL:  parameters: $1 = '<img src=x onerror=document.body.dataset.pwned=6>'\n"
        );
        if i == 12 {
            s += &format!("{p}LOG:  duration: 40.000 ms  statement: CREATE TABLE \"<svg onload=document.body.dataset.pwned=7>\" (a int)\n");
            s += &format!("{p}ERROR:  relation \"<script>document.title=8</script>\" does not exist at character 15\n{p}STATEMENT:  SELECT * FROM \"<script>document.title=8</script>\"\n");
        }
        if i == 13 {
            // The signal sections: a lock wait on, a temp file of and an autovacuum of
            // relations whose names are markup.
            s += &format!("{p}LOG:  process 7{i} still waiting for ShareLock on transaction 9 after 1000.500 ms\n{p}DETAIL:  Process holding the lock: 70. Wait queue: 7{i}.\n{p}CONTEXT:  while updating tuple (0,1) in relation \"<img src=x onerror=document.body.dataset.pwned=9>\"\n{p}STATEMENT:  UPDATE \"<b onclick=x>\" SET a = 1\n");
            s += &format!("{p}LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp7.0\", size 8192\n{p}STATEMENT:  SELECT \"<iframe srcdoc=x>\" FROM t ORDER BY 1\n");
            s += &format!("2026-11-24 04:34:{i:02} UTC [99]: [1-1] user=,db=,app=,client= LOG:  automatic vacuum of table \"d.s.<svg onload=document.body.dataset.pwned=10>\": index scans: 0\n");
        }
    }
    let path = dir.join("evil.log");
    std::fs::write(&path, s).expect("write evil log");
    path
}

/// The prefix the evil log is written with: its values are markup that no inference
/// could (or should) name, so the escaping tests give it.
pub const EVIL_PREFIX: &str = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";

/// The awk counts of incident signals beside a log (testdata/expected_events.sh).
pub fn expected_events(name: &str) -> Value {
    let p = root()
        .join("testdata")
        .join(name)
        .join("expected_events.json");
    serde_json::from_slice(&std::fs::read(p).expect("expected_events.json")).expect("JSON")
}

/// `testdata/<dir>/timeline.json`: the truth of a made incident.
pub fn timeline(dir: &str) -> Value {
    let p = root().join("testdata").join(dir).join("timeline.json");
    serde_json::from_slice(&std::fs::read(p).expect("timeline.json")).expect("JSON")
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339: {rfc3339}: {e}"))
        .timestamp_millis()
}

/// The time of the event `name` of a timeline.json, ms since the epoch.
pub fn event_ms(t: &Value, name: &str) -> i64 {
    let e = t["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no event {name} in timeline.json"));
    ms(e["time"].as_str().expect("time"))
}

/// `data` as a zstd file of many frames, each of `every` bytes of text wherever that
/// cuts a line or an entry: every other frame as `pzstd` writes them (a skippable
/// frame before it, no content size in its header), the others as concatenated
/// `.zst` files are (content size given). Every frame carries its checksum.
pub fn zstd_frames(data: &[u8], every: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in data.chunks(every).enumerate() {
        let pzstd = i % 2 == 0;
        if pzstd {
            out.extend([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]);
            out.extend((part.len() as u32).to_le_bytes());
        }
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
        e.include_checksum(true).expect("checksum");
        e.include_contentsize(!pzstd).expect("content size");
        if !pzstd {
            e.set_pledged_src_size(Some(part.len() as u64))
                .expect("size");
        }
        std::io::Write::write_all(&mut e, part).expect("compress");
        out.extend(e.finish().expect("finish"));
    }
    out
}
