//! `--outdir DIR`: one pass split by calendar day. c_incident spans 04:40–04:46 UTC;
//! at `--tz -04:43` local midnight falls inside it, so it has two days. Each day's
//! counts are checked against the log's own lines, dated by the same offset here
//! (not by pgferret); the week and month (the merge of the days) against one run over
//! the whole log; -j1 with small chunks against -j4; `--retention` across two ISO
//! weeks; the index's escaping.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const OFFSET_MS: i64 = -(4 * 3600 + 43 * 60) * 1000;

#[derive(Debug, Default, PartialEq)]
struct Counts {
    statements: u64,
    errors: u64,
    lock_waits: u64,
}

/// Per local day (the log's UTC timestamps moved by `offset_ms`): statements with a
/// duration, errors (ERROR/FATAL/PANIC) and lock waits ("still waiting for"), read
/// from the log's first lines (continuation lines start with a TAB).
fn counts_by_day(log: &Path, offset_ms: i64) -> BTreeMap<String, Counts> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('\t')) {
        let Some(ts) = line.get(..23) else { continue };
        let Ok(t) = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f") else {
            continue;
        };
        let local = t.and_utc().timestamp_millis() + offset_ms;
        let day = chrono::DateTime::from_timestamp_millis(local)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        // The prefix ends with ",client=%h "; the severity follows.
        let Some(rest) = line
            .split_once(",client=")
            .and_then(|(_, r)| r.split_once(' '))
        else {
            continue;
        };
        let msg = rest.1;
        let c = out.entry(day).or_default();
        let timed = msg.starts_with("LOG:  duration: ")
            && (msg.contains(" ms  statement: ") || msg.contains(" ms  execute "));
        c.statements += u64::from(timed);
        c.errors += u64::from(
            ["ERROR:  ", "FATAL:  ", "PANIC:  "]
                .iter()
                .any(|s| msg.starts_with(s)),
        );
        c.lock_waits +=
            u64::from(msg.starts_with("LOG:  process ") && msg.contains(" still waiting for "));
    }
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn outdir(args: &[&str], dir: &Path) {
    let d = dir.to_str().unwrap();
    let mut all = args.to_vec();
    all.extend(["--outdir", d]);
    let o = run(&all, None);
    assert!(
        o.status.success(),
        "pgferret {all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn u(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("{path:?}"))
}

#[test]
fn outdir_days_match_the_log_cut_at_local_midnight() {
    let log = log("c_incident");
    let l = log.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    outdir(&[l, "--tz=-04:43", "-j4"], &dir);
    let want = counts_by_day(&log, OFFSET_MS);
    assert_eq!(want.len(), 2, "midnight at -04:43 is inside the log");
    let mut sum = Counts::default();
    for (day, c) in &want {
        let r = read_json(&dir.join("day").join(format!("{day}.json")));
        let got = Counts {
            statements: u(&r, &["totals", "statements"]),
            errors: u(&r, &["totals", "errors"]),
            lock_waits: u(&r, &["totals", "lock_waits"]),
        };
        assert_eq!(&got, c, "{day}");
        assert!(
            c.statements > 1000 && c.errors > 10 && c.lock_waits > 10,
            "{day}: {c:?}"
        );
        sum.statements += got.statements;
        sum.errors += got.errors;
        sum.lock_waits += got.lock_waits;
        assert!(dir.join("day").join(format!("{day}.html")).exists());
    }
    // The days add up to one run over the whole log; the week and the month, each the
    // merge of the two days, are that run.
    let whole = json_report(&[l, "--tz=-04:43"], None);
    assert_eq!(sum.statements, u(&whole, &["totals", "statements"]));
    assert_eq!(sum.errors, u(&whole, &["totals", "errors"]));
    assert_eq!(sum.lock_waits, u(&whole, &["totals", "lock_waits"]));
    let whole = without_run(whole);
    for p in ["week/2026-W48.json", "month/2026-11.json"] {
        assert_eq!(without_run(read_json(&dir.join(p))), whole, "{p}");
    }
    // The index lists both days, the week and the month.
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for d in want.keys() {
        assert!(index.contains(&format!("href=\"day/{d}.html\"")), "{d}");
    }
    assert!(index.contains("href=\"week/2026-W48.html\""));
    assert!(index.contains("href=\"month/2026-11.html\""));
    assert!(!index.contains("<script"));
}

#[test]
fn outdir_one_thread_small_chunks_equals_four_threads() {
    let log = log("c_incident");
    let l = log.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    outdir(&[l, "--tz=-04:42", "-j4"], &a);
    outdir(&[l, "--tz=-04:42", "-j1", "--chunk-size", "65536"], &b);
    let mut n = 0;
    for sub in ["day", "week", "month"] {
        for e in std::fs::read_dir(a.join(sub)).unwrap() {
            let name = e.unwrap().file_name();
            if !name.to_string_lossy().ends_with(".json") {
                continue;
            }
            let (x, y) = (a.join(sub).join(&name), b.join(sub).join(&name));
            assert_eq!(
                without_run(read_json(&x)),
                without_run(read_json(&y)),
                "{x:?}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 4, "two days, a week, a month");
}

#[test]
fn outdir_retention_removes_old_days_and_weeks_keeps_their_month_whole() {
    let (c, p) = (log("c_incident"), log("pgbouncer"));
    let (c, p) = (c.to_str().unwrap(), p.to_str().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    // 2026-11-24 (ISO week 48), then 2026-11-30 (week 49) keeping one day.
    outdir(&[c, "--tz", "UTC"], &dir);
    assert!(dir.join("day/2026-11-24.html").exists());
    outdir(&[p, "--tz", "UTC", "--retention", "1"], &dir);
    for gone in [
        "day/2026-11-24.html",
        "day/2026-11-24.json",
        "week/2026-W48.html",
    ] {
        assert!(!dir.join(gone).exists(), "{gone} removed");
    }
    for kept in [
        "day/2026-11-30.html",
        "week/2026-W49.json",
        "month/2026-11.html",
    ] {
        assert!(dir.join(kept).exists(), "{kept} kept");
    }
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        !index.contains("2026-11-24") && !index.contains("W48"),
        "index updated"
    );
    assert!(index.contains("day/2026-11-30.html"));
    // The month is still whole: the merge of both days equals one run over both logs.
    let both = json_report(&[c, p, "--tz", "UTC"], None);
    assert_eq!(
        without_run(read_json(&dir.join("month/2026-11.json"))),
        without_run(both)
    );
}

#[test]
fn outdir_index_escapes_names_and_title() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = tmp.path().join("a<b>&\"x'.log");
    std::fs::copy(log("c_incident"), &evil).unwrap();
    let dir = tmp.path().join("r");
    outdir(
        &[
            evil.to_str().unwrap(),
            "--title",
            "<script>alert(1)</script>",
        ],
        &dir,
    );
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(index.contains("a&lt;b&gt;&amp;&quot;x&#39;.log"), "{index}");
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!index.contains("<script") && !index.contains("<b>"));
    assert!(index.contains("default-src 'none'"));
}

#[test]
fn outdir_refuses_outputs_it_does_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let l = log("c_incident");
    let o = run(&[l.to_str().unwrap(), "--outdir", d, "-o", "x.json"], None);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[l.to_str().unwrap(), "--retention", "3"], None);
    assert_eq!(o.status.code(), Some(2), "--retention needs --outdir");
}

/// `--fail-on` with `--outdir` applies to each day written: a threshold between the
/// two days' error counts (from the log's own lines) crosses on the busier day only.
#[test]
fn outdir_fail_on_names_the_days_that_cross() {
    let log = log("c_incident");
    let l = log.to_str().unwrap();
    let want = counts_by_day(&log, OFFSET_MS);
    let errs: Vec<(&String, u64)> = want.iter().map(|(d, c)| (d, c.errors)).collect();
    assert_eq!(errs.len(), 2);
    assert_ne!(errs[0].1, errs[1].1, "{errs:?}");
    let (low, high) = if errs[0].1 < errs[1].1 {
        (errs[0], errs[1])
    } else {
        (errs[1], errs[0])
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("reports");
    let expr = format!("errors>{}", low.1);
    let o = run(
        &[
            l,
            "--tz=-04:43",
            "--outdir",
            d.to_str().unwrap(),
            "--fail-on",
            &expr,
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains(&format!("{}: ", high.0)), "{err}");
    assert!(!err.contains(&format!("{}: ", low.0)), "{err}");
    assert!(
        d.join("index.html").exists(),
        "the reports are written all the same"
    );
    // Nothing crossed: 0.
    let expr = format!("errors>{}", high.1);
    let d2 = tmp.path().join("r2");
    let o = run(
        &[
            l,
            "--tz=-04:43",
            "--outdir",
            d2.to_str().unwrap(),
            "--fail-on",
            &expr,
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
