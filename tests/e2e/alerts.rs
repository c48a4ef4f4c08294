//! `--fail-on`: exit 4 and one line per threshold crossed, 0 when none is; the limits
//! straddle figures counted independently (expected_events.json, made by awk over the
//! log, and the log's own duration lines).

use crate::util::{expected_events, log, run};

fn fail_on(expr: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let path = log("c_incident");
    run(
        &[
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--fail-on",
            expr,
        ],
        None,
    )
}

fn crossed_lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("pgferret: threshold crossed: "))
        .map(str::to_string)
        .collect()
}

/// Each count threshold crosses one below the independent figure and not at it.
#[test]
fn count_thresholds_straddle_the_expected_figures() {
    let e = expected_events("c_incident");
    let n = |k: &str| e[k].as_u64().expect(k);
    // ERROR and FATAL lines (the report's errors count both).
    let errors = n("errors");
    let text = std::fs::read_to_string(log("c_incident")).unwrap();
    let fatal = text.matches(" FATAL:  ").count() as u64;
    let error = text.matches(" ERROR:  ").count() as u64;
    assert_eq!(
        errors,
        error + fatal,
        "expected_events counts ERROR and FATAL"
    );
    let deadlock_lines = text.matches("ERROR:  deadlock detected").count() as u64;
    let cases = [
        ("deadlocks", n("deadlocks")),
        ("errors", errors),
        ("errors[class 40]", deadlock_lines),
        ("errors[40P01]", deadlock_lines),
        ("refused", n("connection_limit")),
        ("temp_bytes", n("temp_bytes")),
    ];
    for (_, figure) in cases {
        assert!(figure > 0);
    }
    let expr = |op: &str, delta: u64| {
        cases
            .iter()
            .map(|(m, f)| format!("{m}{op}{}", f - delta))
            .collect::<Vec<_>>()
            .join(",")
    };
    // One below each figure: all cross, each line naming the figure.
    let below = fail_on(&expr(">", 1));
    assert_eq!(below.status.code(), Some(4));
    let lines = crossed_lines(&below);
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    for ((metric, figure), line) in cases.iter().zip(&lines) {
        assert!(line.contains(&format!("{metric}>")), "{line}");
        assert!(line.contains(&format!(" is {figure}")), "{line}");
    }
    // At each figure: `>` crosses none, `>=` crosses all.
    let at = fail_on(&expr(">", 0));
    assert_eq!(at.status.code(), Some(0));
    assert!(crossed_lines(&at).is_empty());
    let ge = fail_on(&expr(">=", 0));
    assert_eq!(ge.status.code(), Some(4));
    assert_eq!(crossed_lines(&ge).len(), cases.len());
}

/// The issue's example: every crossed threshold named, exit 4; none crossed, exit 0
/// and nothing on stderr.
#[test]
fn the_issue_example_exits_4_and_says_why() {
    let o = fail_on("p95>500ms,lock_wait>30s,deadlocks>0,errors>100");
    assert_eq!(o.status.code(), Some(4));
    let lines = crossed_lines(&o);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("deadlocks>0") && lines[1].contains("errors>100"));
    let calm = fail_on("p95>1h,lock_wait>1h,deadlocks>1000,errors>100000,errors[08]>0");
    assert_eq!(calm.status.code(), Some(0));
    assert!(
        calm.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&calm.stderr)
    );
}

/// p95 and p99 of every execution: against nearest-rank percentiles of the log's own
/// `duration:` lines of statements and executes (parse/bind steps are not executions),
/// within 2% (the histogram keeps two significant digits, ≤ 1%, and percentile
/// definitions differ by one rank).
#[test]
fn overall_percentiles_match_the_logs_durations() {
    let text = std::fs::read_to_string(log("c_incident")).unwrap();
    let mut d: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("duration: ")? + 10..];
            let (num, tail) = rest.split_once(" ms  ")?;
            (tail.starts_with("statement:") || tail.starts_with("execute"))
                .then(|| num.parse().ok())?
        })
        .collect();
    d.sort_by(f64::total_cmp);
    assert_eq!(d.len(), 18_101);
    for (name, q) in [("p95", 0.95), ("p99", 0.99)] {
        let rank = (q * d.len() as f64).ceil() as usize;
        let v = d[rank - 1];
        let crossed = fail_on(&format!("{name}>{}ms", v * 0.98));
        assert_eq!(crossed.status.code(), Some(4), "{name} {v}");
        let calm = fail_on(&format!("{name}>{}ms", v * 1.02));
        assert_eq!(calm.status.code(), Some(0), "{name} {v}");
    }
}

/// `p95[FP]` reads one fingerprint; `incident` alone means an incident was found
/// (c_incident's scenario holds one); a longest lock wait from the log's own lines.
#[test]
fn fingerprint_incident_and_lock_wait() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let path = log("c_incident");
    let o = run(
        &[
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--fail-on",
            "incident",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(crossed_lines(&o)[0].contains("incidents found is 1"));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let q = &r["queries"][0];
    let (fp, p95) = (
        q["fingerprint"].as_str().unwrap(),
        q["p95_ms"].as_f64().unwrap(),
    );
    let at = fail_on(&format!("p95[{}]>{p95}ms", &fp[..8]));
    assert_eq!(at.status.code(), Some(0));
    let below = fail_on(&format!("p95[{fp}]>{}ms", p95 * 0.99));
    assert_eq!(below.status.code(), Some(4));
    // A fingerprint not in the report crosses nothing.
    assert_eq!(fail_on("p95[0000000000000000]>0").status.code(), Some(0));
    // The longest wait: the longest `acquired ... after X ms` or `still waiting ...
    // after X ms` line.
    let text = std::fs::read_to_string(&path).unwrap();
    let longest = text
        .lines()
        .filter(|l| l.contains(" still waiting for ") || l.contains(" acquired "))
        .filter_map(|l| {
            let rest = &l[l.rfind(" after ")? + 7..];
            rest.split_once(" ms")?.0.parse::<f64>().ok()
        })
        .fold(0.0, f64::max);
    assert!(longest > 0.0);
    assert_eq!(
        fail_on(&format!("lock_wait>{}ms", longest - 0.001))
            .status
            .code(),
        Some(4)
    );
    assert_eq!(
        fail_on(&format!("lock_wait>{longest}ms")).status.code(),
        Some(0)
    );
}

/// A bad expression is a bad argument: exit 2 before any work, with what is allowed.
#[test]
fn a_bad_expression_exits_2_listing_the_metrics() {
    for bad in [
        "latency>1s",
        "p95>fast",
        "deadlocks",
        "errors[4]>0",
        "p95>1s,",
    ] {
        let o = fail_on(bad);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("pgferret: --fail-on:"), "{bad}: {err}");
    }
    let err = String::from_utf8_lossy(&fail_on("latency>1s").stderr).to_string();
    assert!(
        err.contains("p95[FINGERPRINT]") && err.contains("lock_wait"),
        "{err}"
    );
}

/// Partial input and a crossed threshold: 4 wins (it says more to whoever is paged),
/// and the partial-input warning is still on stderr; the same run without the
/// threshold exits 3.
#[test]
fn threshold_wins_over_partial_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let missing = dir.path().join("missing.log");
    let path = log("c_incident");
    let args = [
        path.to_str().unwrap(),
        missing.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let plain = run(&args, None);
    assert_eq!(plain.status.code(), Some(3));
    let mut with: Vec<&str> = args.to_vec();
    with.extend(["--fail-on", "deadlocks>0"]);
    let o = run(&with, None);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("part of the input only"), "{err}");
    assert!(err.contains("threshold crossed: deadlocks>0"), "{err}");
    assert!(out.exists());
}
