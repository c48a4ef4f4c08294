//! Real PostgreSQL 15 logs under many log_line_prefix values (testdata/prefixes/<name>/,
//! written by make.sh), checked against the server's csvlog twin of the same events:
//! expected.json is computed by expected.py from postgresql.csv.gz, never from pgferret.
//!
//! The promise checked here (issue 9): whatever the prefix, the statement count is exact, and
//! each of database, user and application is either exact or reported as unknown as a whole:
//! never a wrong value. With the true prefix given by `--prefix`, every dimension is exact.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Names of the group that holds statements whose attribution could not be read:
/// `?unknown`, and "" (a field the prefix does not carry). PostgreSQL never writes an empty
/// %u, %d or %a on a statement line (it writes `[unknown]`), so "" cannot be a real value.
const UNKNOWN: &[&str] = &["?unknown", ""];

/// The attribution dimensions: key in the report and in expected.json, and the escape
/// that carries it in a prefix.
const DIMENSIONS: &[(&str, &str)] = &[("databases", "%d"), ("users", "%u"), ("applications", "%a")];

type Counts = BTreeMap<String, u64>;

/// Every log directory of testdata/prefixes, sorted by name.
fn logs() -> Vec<PathBuf> {
    let base = root().join("testdata").join("prefixes");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("testdata/prefixes")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 29, "only {} logs in {}", v.len(), base.display());
    v
}

fn counts(v: &Value) -> Counts {
    let o = v.as_object().expect("counts object");
    o.iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("count")))
        .collect()
}

/// A report's groups of one dimension (groups without statements left out);
/// None when the dimension is absent.
fn groups(r: &Value, dim: &str) -> Option<Counts> {
    let a = r.get(dim)?.as_array()?;
    let mut c = Counts::new();
    for g in a {
        let n = g["count"].as_u64().expect("group count");
        if n > 0 {
            *c.entry(g["name"].as_str().expect("group name").to_owned())
                .or_default() += n;
        }
    }
    Some(c)
}

/// Statement count per query id, as the report has them: each fingerprint lists its ids.
/// Fails on an id listed under two fingerprints or a fingerprint whose count is not the
/// sum of its ids' true counts.
fn check_query_ids(r: &Value, want: &Counts, errs: &mut Vec<String>) {
    let mut seen = Counts::new();
    let mut untagged = 0;
    for q in r["queries"].as_array().expect("queries") {
        let ids = q["query_ids"].as_array().expect("query_ids");
        let n = q["count"].as_u64().expect("count");
        if ids.is_empty() {
            untagged += n;
            continue;
        }
        let mut sum = 0;
        for id in ids {
            let id = id.as_i64().expect("query id").to_string();
            sum += want.get(&id).copied().unwrap_or(0);
            if seen.insert(id.clone(), n).is_some() {
                errs.push(format!("query id {id} under two fingerprints"));
            }
        }
        if sum != n {
            errs.push(format!(
                "fingerprint with query ids {ids:?}: {n} statements, csv {sum}"
            ));
        }
    }
    let true_ids: Vec<&String> = want.keys().filter(|k| *k != "0").collect();
    let got_ids: Vec<&String> = seen.keys().collect();
    if got_ids != true_ids {
        errs.push(format!(
            "query ids {} reported, csv has {}",
            got_ids.len(),
            true_ids.len()
        ));
    }
    let want_untagged = want.get("0").copied().unwrap_or(0);
    if untagged != want_untagged {
        errs.push(format!(
            "{untagged} statements without query id, csv {want_untagged}"
        ));
    }
}

/// Runs pgferret on `log` (with `--prefix` if given); the report, or why there is none.
fn report(log: &Path, prefix: Option<&str>) -> Result<(Value, i32), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let mut args = vec![log.to_str().unwrap(), "-o", out.to_str().unwrap()];
    if let Some(p) = prefix {
        args.extend(["--prefix", p]);
    }
    let o = run(&args, None);
    let code = o.status.code().unwrap_or(-1);
    match std::fs::read(&out) {
        Ok(b) => Ok((serde_json::from_slice(&b).expect("valid JSON"), code)),
        Err(_) => Err(format!(
            "exit {code}, no report: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
    }
}

/// The prefixes the log was written under.
fn prefixes(e: &Value) -> Vec<&str> {
    let a = e["prefixes"].as_array().expect("prefixes");
    a.iter().map(|p| p.as_str().expect("prefix")).collect()
}

/// Every way the report differs from the csv twin. A dimension for which `unknown_ok`
/// holds may be unknown as a whole (absent, or only unknown groups); never partly.
fn mismatches(r: &Value, e: &Value, unknown_ok: impl Fn(&str) -> bool) -> Vec<String> {
    let mut errs = Vec::new();
    let want_n = e["statements"].as_u64().unwrap();
    let got_n = r["totals"]["statements"].as_u64().unwrap_or(0);
    if got_n != want_n {
        errs.push(format!("statements {got_n}, csv {want_n}"));
    }
    for (dim, escape) in DIMENSIONS {
        let want = counts(&e[*dim]);
        let unknown = unknown_ok(escape);
        match groups(r, dim) {
            None if unknown => {}
            None => errs.push(format!("{dim}: absent")),
            Some(got) if got == want => {}
            Some(got) if unknown && got.keys().all(|k| UNKNOWN.contains(&k.as_str())) => {}
            // A log whose prefix changed to or from one without the field: the lines
            // under the prefix that has it are exact, the others unknown.
            Some(got) if unknown && mixed(e, escape) && within(&got, &want) => {}
            Some(got) => errs.push(format!("{dim}: {}", diff(&got, &want))),
        }
    }
    if prefixes(e).iter().all(|p| p.contains("%Q")) {
        check_query_ids(r, &counts(&e["query_ids"]), &mut errs);
    } else if r["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .any(|q| q["query_ids"] != Value::Array(vec![]))
    {
        // Without %Q a stderr log carries no query id: any would be invented.
        errs.push("query ids reported, but the prefix has no %Q".to_owned());
    }
    errs
}

/// The log was written under several prefixes, some without `escape`.
fn mixed(e: &Value, escape: &str) -> bool {
    let p = prefixes(e);
    p.len() > 1 && p.iter().any(|p| !p.contains(escape))
}

/// No known value counted more than the csv has, and the rest unknown.
fn within(got: &Counts, want: &Counts) -> bool {
    let total: u64 = want.values().sum();
    let known: u64 = got
        .iter()
        .filter(|(k, _)| !UNKNOWN.contains(&k.as_str()))
        .map(|(k, &n)| {
            if n > want.get(k).copied().unwrap_or(0) {
                u64::MAX / 4
            } else {
                n
            }
        })
        .sum();
    let unknown: u64 = got
        .iter()
        .filter(|(k, _)| UNKNOWN.contains(&k.as_str()))
        .map(|(_, &n)| n)
        .sum();
    known + unknown == total
}

/// The groups that differ, e.g. `"shop app=orders-api" 57 (csv 0), "shop" 0 (csv 57)`.
fn diff(got: &Counts, want: &Counts) -> String {
    let mut keys: Vec<&String> = got.keys().chain(want.keys()).collect();
    keys.sort();
    keys.dedup();
    let d: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| {
            let g = got.get(k).copied().unwrap_or(0);
            format!("{k:?} {g} (csv {})", want.get(k).copied().unwrap_or(0))
        })
        .collect();
    let mut s = d.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if d.len() > 4 {
        s += &format!(", ... {} groups differ", d.len());
    }
    s
}

/// Runs every log through `check` and fails with one line per log that does not pass; the
/// whole table goes to stderr (`cargo test -- --nocapture` shows it).
/// Logs that fail today for a known reason; each must still fail (so the list shrinks when
/// the bug is fixed), every other log must pass.
fn every_log(
    known_failures: &[&str],
    check: impl Fn(&str, &Path, &Value) -> Option<Result<(), String>>,
) {
    let mut failed = Vec::new();
    let mut fixed = Vec::new();
    for dir in logs() {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let e: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap())
            .expect("expected.json");
        match check(&name, &dir.join("postgresql.log"), &e) {
            None => eprintln!("{name:<18} skipped"),
            Some(Ok(())) if known_failures.contains(&name.as_str()) => {
                eprintln!("{name:<18} ok, but listed as a known failure");
                fixed.push(name);
            }
            Some(Ok(())) => eprintln!("{name:<18} ok"),
            Some(Err(why)) if known_failures.contains(&name.as_str()) => {
                eprintln!("{name:<18} known failure: {why}");
            }
            Some(Err(why)) => {
                eprintln!("{name:<18} FAIL {why}");
                failed.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} logs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "fixed, remove from the known failures: {fixed:?}"
    );
}

#[test]

fn inferred_prefix_gives_the_csv_figures_or_unknown() {
    every_log(&[], |_, log, e| {
        Some(report(log, None).and_then(|(r, code)| {
            let mut errs = mismatches(&r, e, |_| true);
            if code != 0 && code != 3 {
                errs.push(format!("exit {code}"));
            }
            let prefix = r["inputs"][0]["prefix"].as_str().unwrap_or("-").to_owned();
            match errs.is_empty() {
                true => Ok(()),
                false => Err(format!("[inferred {prefix:?}] {}", errs.join("; "))),
            }
        }))
    });
}

#[test]
fn true_prefix_gives_the_csv_figures() {
    // Regression (pg_docs_sample, `%a %r`): an application name with blanks was cut at
    // its first blank ("[worker]" for "[worker] billing"); a host never holds a blank.
    every_log(&[], |_, log, e| {
        // A log whose prefix changes (reload_change) has no one prefix to give.
        let prefix = e["prefix"].as_str()?;
        Some(report(log, Some(prefix)).and_then(|(r, code)| {
            // Unknown is right only for a field the prefix does not carry.
            let mut errs = mismatches(&r, e, |escape| !prefix.contains(escape));
            if code != 0 {
                errs.push(format!("exit {code}"));
            }
            match errs.is_empty() {
                true => Ok(()),
                false => Err(errs.join("; ")),
            }
        }))
    });
}
