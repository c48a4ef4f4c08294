//! `--save FILE.pgf` and `pgferret merge`: real logs split by time (runs of lines) and
//! by process into 2–8 parts, each part saved on its own, the states merged in
//! shuffled orders: the JSON equals, byte for byte but for its `run` key, the JSON of
//! one run over all the parts. States that are not states, from another version or
//! corrupted are refused with their own message and exit code. Hosts: `--host`, the
//! syslog hostname, the hosts table and `--only-host`.

use crate::util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A small seeded generator (xorshift64*): the splits and orders are random but the
/// same on every run, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// The log's entries: a first line with its continuation lines (tab-indented).
fn entries(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("log");
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        match out.last_mut() {
            Some(e) if line.starts_with('\t') => e.push_str(line),
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// The pid of an entry of a `%m [%p]: ...` log.
fn pid(entry: &str) -> &str {
    let open = entry.find(" [").expect("pid") + 2;
    let close = open + entry[open..].find(']').expect("pid end");
    &entry[open..close]
}

/// Writes `parts` as part-1.log, part-2.log... in `dir`; their paths, in name order.
fn write_parts(dir: &Path, parts: &[Vec<&String>]) -> Vec<PathBuf> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = dir.join(format!("part-{}.log", i + 1));
            let text: String = p.iter().map(|e| e.as_str()).collect();
            std::fs::write(&path, text).expect("part");
            path
        })
        .collect()
}

/// Splits the entries in `n` runs of consecutive entries (cut at random entries).
fn split_by_time<'a>(all: &'a [String], n: usize, rng: &mut Rng) -> Vec<Vec<&'a String>> {
    let mut cuts: Vec<usize> = (0..n - 1).map(|_| 1 + rng.below(all.len() - 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = Vec::new();
    let mut from = 0;
    for c in cuts.into_iter().chain([all.len()]) {
        parts.push(all[from..c].iter().collect());
        from = c;
    }
    parts
}

/// Splits the entries in `n` parts by process: each pid's entries all go to one part,
/// drawn at random, in their order.
fn split_by_pid<'a>(all: &'a [String], n: usize, rng: &mut Rng) -> Vec<Vec<&'a String>> {
    let mut part_of = std::collections::HashMap::new();
    let mut parts = vec![Vec::new(); n];
    for e in all {
        let k = *part_of.entry(pid(e)).or_insert_with(|| rng.below(n));
        parts[k].push(e);
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// The JSON text with its `run` object cut out (the one thing that differs: elapsed
/// time and threads).
fn cut_run(json: &str) -> String {
    let start = json.find("\n  \"run\": {").expect("run key");
    let end = start + json[start..].find("\n  },").expect("end of run") + "\n  },".len();
    format!("{}{}", &json[..start], &json[end..])
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs pgferret, asserts exit 0, returns the JSON written to `out`.
fn json_of(args: &[&str], out: &Path) -> String {
    let mut all = args.to_vec();
    all.extend(["-o", s(out), "-q"]);
    let o = run(&all, None);
    assert!(
        o.status.success(),
        "pgferret {all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out).expect("report")
}

/// Saves each part, merges the states in two shuffled orders (and with 1 and 4
/// threads), and compares each JSON with one run over all the parts.
fn check_merge_equals_run(parts: &[PathBuf], dir: &Path, rng: &mut Rng, what: &str) {
    let mut states = Vec::new();
    for p in parts {
        let state = p.with_extension("pgf");
        let out = p.with_extension("json");
        json_of(&[s(p), "--save", s(&state)], &out);
        states.push(state);
    }
    let names: Vec<&str> = parts.iter().map(|p| s(p)).collect();
    let single = cut_run(&json_of(&names, &dir.join("single.json")));
    for (round, jobs) in ["1", "4"].into_iter().enumerate() {
        rng.shuffle(&mut states);
        let mut args = vec!["merge", "-j", jobs];
        args.extend(states.iter().map(|p| s(p)));
        let merged = cut_run(&json_of(&args, &dir.join(format!("merged-{round}.json"))));
        assert!(
            merged == single,
            "{what}: merge of {} states (order {:?}, -j {jobs}) differs from one run",
            states.len(),
            states
                .iter()
                .map(|p| p.file_name().unwrap())
                .collect::<Vec<_>>()
        );
    }
    // Each part's statements, from its own run, add up to the merged total.
    let merged: Value = serde_json::from_str(&single).expect("JSON");
    let sum: u64 = parts
        .iter()
        .map(|p| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(p.with_extension("json")).unwrap()).unwrap();
            v["totals"]["statements"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(merged["totals"]["statements"].as_u64(), Some(sum), "{what}");
}

#[test]
fn c_incident_split_by_time_saved_and_merged_in_any_order_equals_one_run() {
    let all = entries(&log("c_incident"));
    let mut rng = Rng(0x5eed_0001);
    for n in [3, 8] {
        let dir = tempfile::tempdir().unwrap();
        let parts = split_by_time(&all, n, &mut rng);
        let paths = write_parts(dir.path(), &parts);
        check_merge_equals_run(&paths, dir.path(), &mut rng, &format!("{n} parts by time"));
    }
}

#[test]
fn c_incident_split_by_process_saved_and_merged_in_any_order_equals_one_run() {
    let all = entries(&log("c_incident"));
    let mut rng = Rng(0x5eed_0002);
    for n in [2, 6] {
        let dir = tempfile::tempdir().unwrap();
        let parts = split_by_pid(&all, n, &mut rng);
        let paths = write_parts(dir.path(), &parts);
        check_merge_equals_run(&paths, dir.path(), &mut rng, &format!("{n} parts by pid"));
    }
}

#[test]
fn a_state_of_many_files_merges_like_the_files_themselves() {
    // One --save over two files, one over a third: the same as a run over the three.
    let dir = tempfile::tempdir().unwrap();
    let all = entries(&log("a2_debian"));
    let mut rng = Rng(0x5eed_0003);
    let parts = write_parts(dir.path(), &split_by_time(&all, 3, &mut rng));
    assert_eq!(parts.len(), 3);
    let (ab, c) = (dir.path().join("ab.pgf"), dir.path().join("c.pgf"));
    json_of(
        &[s(&parts[0]), s(&parts[1]), "--save", s(&ab)],
        &dir.path().join("ab.json"),
    );
    json_of(&[s(&parts[2]), "--save", s(&c)], &dir.path().join("c.json"));
    let names: Vec<&str> = parts.iter().map(|p| s(p)).collect();
    let single = cut_run(&json_of(&names, &dir.path().join("single.json")));
    let merged = cut_run(&json_of(
        &["merge", s(&c), s(&ab)],
        &dir.path().join("m.json"),
    ));
    assert!(merged == single, "a state of two files and one of a third");
    // A merge saved again is a state too.
    let abc = dir.path().join("abc.pgf");
    json_of(
        &["merge", s(&c), s(&ab), "--save", s(&abc)],
        &dir.path().join("m2.json"),
    );
    let again = cut_run(&json_of(&["merge", s(&abc)], &dir.path().join("m3.json")));
    assert!(again == single, "a merged state merged again");
}

/// A state of a2_debian, its bytes.
fn a_state(dir: &Path) -> (PathBuf, Vec<u8>) {
    let state = dir.join("a2.pgf");
    json_of(
        &[s(&log("a2_debian")), "--save", s(&state)],
        &dir.join("a2.json"),
    );
    let bytes = std::fs::read(&state).unwrap();
    (state, bytes)
}

/// `pgferret merge FILE`: its exit code and stderr.
fn merge_fails(file: &Path, dir: &Path) -> (i32, String) {
    let out = dir.join("never.json");
    let o = run(&["merge", s(file), "-o", s(&out)], None);
    assert!(!out.exists(), "no report from a bad state");
    (
        o.status.code().expect("exit code"),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_state_header_says_what_it_is_and_a_log_is_not_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = a_state(dir.path());
    assert_eq!(&bytes[..8], b"PGFSTATE");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
    let len = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    assert_eq!(len as usize, bytes.len() - 28, "body length");
    let (code, err) = merge_fails(&log("a2_debian"), dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("postgresql.log: not a pgferret state"),
        "{err}"
    );
}

#[test]
fn a_state_of_another_format_version_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (state, mut bytes) = a_state(dir.path());
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&state, &bytes).unwrap();
    let (code, err) = merge_fails(&state, dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("a2.pgf: written by format version 7, this pgferret reads 1"),
        "{err}"
    );
}

#[test]
fn a_corrupted_or_truncated_state_is_refused_by_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (state, bytes) = a_state(dir.path());
    // One bit flipped in the middle of the body.
    let mut flipped = bytes.clone();
    let mid = 28 + (bytes.len() - 28) / 2;
    flipped[mid] ^= 0x10;
    std::fs::write(&state, &flipped).unwrap();
    let (code, err) = merge_fails(&state, dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("checksum mismatch: the file is corrupted"),
        "{err}"
    );
    // Cut short (a copy that did not finish).
    std::fs::write(&state, &bytes[..bytes.len() - 100]).unwrap();
    let (code, err) = merge_fails(&state, dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("checksum mismatch: the file is corrupted"),
        "{err}"
    );
}

/// The same log in two states (one state given twice, or a copy of it) is counted once,
/// with a warning, as a run counts a file given twice; a different log beside it still
/// adds up. The statements are grep's count of a1's `duration: ` lines (with
/// d_multiline beside it, one run's over both logs).
#[test]
fn the_same_log_in_two_states_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.pgf"),
        dir.path().join("b.pgf"),
        dir.path().join("c.pgf"),
    );
    let durations = |l: &Path| {
        std::fs::read_to_string(l)
            .expect("log")
            .matches("duration: ")
            .count() as u64
    };
    let (l1, l2) = (log("a1_pgbadger"), log("d_multiline"));
    // d_multiline logs statements and durations apart: one run over both logs.
    let both = json_report(&[s(&l1), s(&l2)], None)["totals"]["statements"]
        .as_u64()
        .expect("statements");
    assert!(both > durations(&l1));
    json_of(&[s(&l1), "--save", s(&a)], &dir.path().join("a.json"));
    std::fs::copy(&a, &b).expect("copy");
    json_of(&[s(&l2), "--save", s(&c)], &dir.path().join("c.json"));
    let cases: [(&[&Path], u64); 3] = [
        (&[&a, &b], durations(&l1)),
        (&[&a, &a], durations(&l1)),
        (&[&b, &c, &a], both),
    ];
    for (states, want) in cases {
        let out = dir.path().join("m.json");
        let mut args = vec!["merge"];
        args.extend(states.iter().map(|p| s(p)));
        args.extend(["-o", s(&out)]);
        let o = run(&args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(err.contains("given twice"), "{err}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(v["totals"]["statements"].as_u64(), Some(want), "{states:?}");
        let verdicts: Vec<&str> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["verdict"].as_str())
            .collect();
        assert_eq!(
            verdicts.iter().filter(|v| **v == "duplicate").count(),
            1,
            "{verdicts:?}"
        );
    }
}

#[test]
fn states_saved_with_different_windows_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.pgf"), dir.path().join("b.pgf"));
    let l = log("a2_debian");
    json_of(&[s(&l), "--save", s(&a)], &dir.path().join("a.json"));
    json_of(
        &[s(&l), "--window", "5m", "--save", s(&b)],
        &dir.path().join("b.json"),
    );
    let out = dir.path().join("m.json");
    let o = run(&["merge", s(&a), s(&b), "-o", s(&out)], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--window"), "{err}");
}

#[test]
fn hosts_side_by_side_and_only_host_picks_one() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries(&log("c_incident"));
    let mut rng = Rng(0x5eed_0004);
    let parts = write_parts(dir.path(), &split_by_time(&all, 2, &mut rng));
    let (db1, db2) = (dir.path().join("db1.pgf"), dir.path().join("db2.pgf"));
    let one = json_of(
        &[s(&parts[0]), "--host", "db1", "--save", s(&db1)],
        &dir.path().join("db1.json"),
    );
    let two = json_of(
        &[s(&parts[1]), "--host", "db2", "--save", s(&db2)],
        &dir.path().join("db2.json"),
    );
    let m: Value = serde_json::from_str(&json_of(
        &["merge", s(&db2), s(&db1)],
        &dir.path().join("m.json"),
    ))
    .unwrap();
    let hosts = m["hosts"].as_array().expect("a hosts table");
    let names: Vec<&str> = hosts.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, ["db1", "db2"]);
    // Each host's row holds the figures of its own run.
    for (h, own) in hosts.iter().zip([&one, &two]) {
        let own: Value = serde_json::from_str(own).unwrap();
        assert!(own.get("hosts").is_none(), "one host: no table");
        assert_eq!(h["statements"], own["totals"]["statements"]);
        assert_eq!(h["errors"], own["totals"]["errors"]);
        assert_eq!(h["lock_waits"], own["totals"]["lock_waits"]);
        assert_eq!(h["deadlocks"], own["totals"]["deadlocks"]);
        assert_eq!(h["begin"], own["span"]["begin"]);
    }
    // --anonymize=names numbers the hosts.
    let anon: Value = serde_json::from_str(&json_of(
        &["merge", s(&db2), s(&db1), "--anonymize=names"],
        &dir.path().join("anon.json"),
    ))
    .unwrap();
    let names: Vec<&str> = anon["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["server1", "server2"]);
    // --only-host db2 over the merge is db2's own report.
    let only = cut_run(&json_of(
        &["merge", s(&db1), s(&db2), "--only-host", "db2"],
        &dir.path().join("only.json"),
    ));
    assert!(
        only == cut_run(&two),
        "--only-host db2 equals db2's own run"
    );
    // A host that is not there: exit 2, naming those that are.
    let o = run(&["merge", s(&db1), s(&db2), "--only-host", "db3"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("hosts: db1, db2"), "{err}");
}

#[test]
fn a_syslog_log_is_of_the_host_its_headers_name() {
    let l = root().join("testdata/syslog/postgresql.log");
    // The hostname is the field after the timestamp (`Nov 24 06:11:52 vm postgres[...]`).
    let text = std::fs::read_to_string(&l).unwrap();
    let host = text.lines().next().unwrap()[16..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let all = json_of(&[s(&l)], &dir.path().join("all.json"));
    let only = json_of(
        &[s(&l), "--only-host", &host],
        &dir.path().join("only.json"),
    );
    assert!(
        cut_run(&all) == cut_run(&only),
        "the log is all of host {host}"
    );
    let o = run(&[s(&l), "--only-host", "elsewhere", "-o", "-"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("(hosts: {host})")), "{err}");
}

/// A saved state holds no export rows: `merge -o FILE.parquet` is refused (exit 2)
/// rather than writing an empty export, while a run may save and export at once.
#[test]
fn merge_refuses_a_parquet_export_and_a_run_saves_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = a_state(dir.path());
    let out = dir.path().join("m.parquet");
    let o = run(&["merge", s(&state), "-o", s(&out)], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Parquet export is made from the logs"),
        "{err}"
    );
    assert!(!out.exists());
    let both = dir.path().join("both.pgf");
    let export = dir.path().join("run.parquet");
    let o = run(
        &[
            s(&log("a2_debian")),
            "--save",
            s(&both),
            "-o",
            s(&export),
            "-q",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&export).unwrap();
    assert_eq!(&bytes[..4], b"PAR1", "a Parquet file");
    assert!(bytes.len() > 1000, "with rows");
    assert!(both.exists());
}
