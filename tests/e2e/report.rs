//! The HTML report as a reader meets it: one self-contained file, log text escaped
//! everywhere, every link landing on an anchor, and the figures behind its charts
//! (per-query series, inferred settings, out-of-baseline spans) consistent with the
//! rest of the report.

use crate::util::*;
use pgferret::report::html::{SCRIPT, SCRIPT_SHA256};
use std::collections::BTreeSet;

/// The text of every `<script>` element.
fn scripts(html: &str) -> Vec<&str> {
    html.split("<script")
        .skip(1)
        .map(|s| {
            let body = &s[s.find('>').map_or(0, |i| i + 1)..];
            &body[..body.find("</script>").unwrap_or(body.len())]
        })
        .collect()
}

/// A log with `lines` of (second, duration ms, statement) in pgBadger's prefix.
fn synthetic_log(dir: &std::path::Path, lines: &[(u32, f64, &str)]) -> std::path::PathBuf {
    let mut s = String::new();
    for (k, (sec, ms, sql)) in lines.iter().enumerate() {
        s += &format!(
            "2026-11-24 04:{:02}:{:02} UTC [{}]: [1-1] user=u,db=d,app=a,client=h LOG:  duration: {ms:.3} ms  statement: {sql}\n",
            sec / 60,
            sec % 60,
            100 + k % 50
        );
    }
    let p = dir.join("synthetic.log");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn html_is_one_self_contained_file_with_one_known_script() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(&[log("a1_pgbadger").to_str().unwrap()], dir.path());
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(scripts(&html), [SCRIPT], "one script, ours");
    let csp = html
        .split("http-equiv=\"Content-Security-Policy\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a Content-Security-Policy")
        .replace("&#x27;", "'");
    assert_eq!(
        csp,
        format!("default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_SHA256}'; img-src data:")
    );
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let t = tag.to_ascii_lowercase();
        assert!(!t.contains("src=") && !t.contains(" on"), "tag <{tag}>");
    }
}

#[test]
fn csp_hash_is_the_hash_of_the_script() {
    // openssl is the independent oracle; without it the browser test still catches a
    // stale hash (the script would be blocked and the page would log a CSP error).
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("report.js");
    std::fs::write(&js, SCRIPT).unwrap();
    let cmd = format!("openssl dgst -sha256 -binary {} | base64", js.display());
    match std::process::Command::new("sh").args(["-c", &cmd]).output() {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => {
            let b64 = String::from_utf8(o.stdout).unwrap();
            assert_eq!(SCRIPT_SHA256, format!("sha256-{}", b64.trim()));
        }
        _ => eprintln!("skipped: openssl not available"),
    }
}

#[test]
fn log_text_is_escaped_everywhere_in_the_html() {
    let dir = tempfile::tempdir().unwrap();
    let evil = evil_log(dir.path());
    let (_, html) = html_report(
        &[evil.to_str().unwrap(), "--prefix", EVIL_PREFIX],
        dir.path(),
    );
    assert_eq!(scripts(&html), [SCRIPT], "no script but ours");
    for bad in [
        "<img",
        "<svg onload",
        "</textarea>",
        "\" onmouseover=",
        "<script>document",
        "<iframe",
        "<b onclick",
    ] {
        assert!(!html.contains(bad), "{bad} came through");
    }
    // The payloads are there, as text.
    for shown in [
        "&lt;script&gt;document.title=",
        "&lt;/textarea&gt;",
        "&lt;img src=x onerror=document.body.dataset.pwned=6&gt;",
        "&lt;svg onload=document.body.dataset.pwned=7&gt;",
        "javascript:document.body.dataset.pwned=3",
        // In the Locks, Errors and Maintenance sections.
        "&lt;img src=x onerror=document.body.dataset.pwned=9&gt;",
        "&lt;svg onload=document.body.dataset.pwned=10&gt;",
        "&lt;iframe srcdoc=x&gt;",
        "&lt;b onclick=x&gt;",
        "relation &quot;&lt;script&gt;document.title=8&lt;/script&gt;&quot; does not exist",
    ] {
        assert!(html.contains(shown), "{shown} missing");
    }
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        let t = tag.to_ascii_lowercase();
        assert!(
            !t.contains("src=") && !t.contains(" on") && !t.contains("javascript:"),
            "tag <{tag}>"
        );
    }
}

#[test]
fn every_internal_link_lands_on_an_anchor() {
    let dir = tempfile::tempdir().unwrap();
    for path in [log("a1_pgbadger"), evil_log(dir.path())] {
        let (_, html) = html_report(&[path.to_str().unwrap()], dir.path());
        let ids: BTreeSet<&str> = html
            .split(" id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let links: BTreeSet<&str> = html
            .split("href=\"#")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(links.len() > 5, "{links:?}");
        for l in links {
            assert!(
                ids.contains(l),
                "link #{l} has no anchor in {}",
                path.display()
            );
        }
        for section in ["overview", "timeline", "top", "queries", "groups"] {
            assert!(ids.contains(section), "section {section}");
        }
    }
}

/// The text of the element that opens with `start` (up to its `end`).
fn part<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} missing"));
    let rest = &html[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn the_incident_sections_lead_with_blockers_deadlocks_errors_and_ddl() {
    let dir = tempfile::tempdir().unwrap();
    let c = log("c_incident");
    let (_, html) = html_report(&[c.to_str().unwrap()], dir.path());
    let json = json_report(&[c.to_str().unwrap()], None);
    let want = expected_events("c_incident");
    // Every section is in the table of contents and its links land (ids checked by
    // every_internal_link_lands_on_an_anchor on this log too).
    let nav = part(&html, "<nav>", "</nav>");
    for s in ["locks", "errors", "maintenance", "sessions"] {
        assert!(
            nav.contains(&format!("href=\"#{s}\"")),
            "{s} not in the TOC"
        );
        assert!(
            html.contains(&format!("<section id=\"{s}\">")),
            "section {s}"
        );
    }
    let ids: BTreeSet<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    for l in html
        .split("href=\"#")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        assert!(ids.contains(l), "link #{l} has no anchor");
    }
    // The top blocker pair comes first, both statements linked to their details.
    let top = &json["locks"]["blockers"][0];
    let first_pair = part(&html, "<table class=\"pairs\">", "</tr>\n");
    let first_pair = &first_pair[first_pair.find("<tbody>").unwrap()..];
    for fp in ["blocking_fingerprint", "waiting_fingerprint"] {
        let fp = top[fp].as_str().unwrap();
        assert!(first_pair.contains(&format!("href=\"#q-{fp}\"")), "{fp}");
    }
    assert!(first_pair.contains(&format!("<b>{}</b>", top["waits"])));
    // Deadlocks: the count grep gives, in the card and the section title.
    let deadlocks = want["deadlocks"].as_u64().unwrap();
    assert_eq!(deadlocks, 23);
    assert!(html.contains(&format!("<h3>Deadlocks: {deadlocks}</h3>")));
    assert!(html.contains(&format!("<b>{deadlocks}</b><span>deadlocks</span>")));
    // Error kinds, by SQLSTATE and message.
    let errors = part(&html, "<section id=\"errors\">", "</section>");
    for kind in [
        "23505",
        "unique_violation",
        "40P01",
        "deadlock_detected",
        "57014",
        "53300",
        "duplicate key value violates unique constraint &quot;orders_order_ref_key&quot;",
        "canceling statement due to statement timeout",
    ] {
        assert!(errors.contains(kind), "{kind} missing from Errors");
    }
    assert!(errors.contains(&format!("{} errors", want["errors"])));
    // The CREATE INDEX is a DDL marker on the timeline and a row of the events table.
    let lane = part(&html, "<svg class=\"chart lane\"", "</svg>");
    assert!(lane.contains("<g class=\"mk ddl\"><title>"));
    assert!(lane.contains("ddl: CREATE INDEX orders_status_updated_customer_idx"));
    // Checkpoints are marked at their instants: one per `checkpoint starting` grep counts.
    let starts = json["checkpoints"]["started_at"].as_array().unwrap();
    assert_eq!(starts.len() as u64, want["checkpoints"].as_u64().unwrap());
    assert_eq!(
        lane.matches("<g class=\"mk checkpoint\">").count(),
        starts.len()
    );
    for kind in ["deadlock", "checkpoint", "autovacuum", "restart"] {
        assert!(
            lane.contains(&format!("<g class=\"mk {kind}\">")),
            "{kind} marker"
        );
    }
    // Queries that only failed are not empty rows of the top tables by time/count/p99.
    for tab in ["total", "count", "p99"] {
        let t = part(
            &html,
            &format!("<div class=\"tab\" id=\"top-{tab}\">"),
            "</table>",
        );
        assert!(!t.contains("<td class=\"n\" data-v=\"0\">0</td>"), "{tab}");
    }
    assert!(html.contains("Never completed in this log"));
    assert!(html.len() < 700_000, "{} bytes", html.len());
}

#[test]
fn query_series_add_up_to_counts_and_windows() {
    for (name, window) in [
        ("a1_pgbadger", None),
        ("a6_logstatement_all", None),
        ("a2_debian", Some("7s")),
    ] {
        let l = log(name);
        let mut args = vec![l.to_str().unwrap()];
        if let Some(w) = window {
            args.extend(["--window", w]);
        }
        let r = json_report(&args, None);
        let windows = r["timeline"]["windows"].as_array().unwrap();
        let mut per_window = vec![0u64; windows.len()];
        for q in r["queries"].as_array().unwrap() {
            let mut n = 0;
            for p in q["series"].as_array().unwrap() {
                let (i, c) = (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap());
                assert!(i < windows.len(), "{name}: window {i}");
                per_window[i] += c;
                n += c;
            }
            assert_eq!(n, q["count"].as_u64().unwrap(), "{name}: {}", q["query"]);
        }
        let want: Vec<u64> = windows
            .iter()
            .map(|w| w["statements"].as_u64().unwrap())
            .collect();
        assert_eq!(per_window, want, "{name}");
    }
}

#[test]
fn a_duration_threshold_is_inferred_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<(u32, f64, &str)> = (0..40)
        .map(|i| (i, 5.02 + i as f64 * 1.7, "SELECT 1"))
        .collect();
    let p = synthetic_log(dir.path(), &lines);
    let r = json_report(&[p.to_str().unwrap()], None);
    assert_eq!(r["log_facts"]["inferred_min_duration_ms"], 5.0);
    assert_eq!(r["log_facts"]["min_duration_ms"], 5.02);
    let (_, html) = html_report(&[p.to_str().unwrap()], dir.path());
    assert!(
        html.contains("log_min_duration_statement looks like 5.00 ms"),
        "threshold not said"
    );
    let every = json_report(&[log("a1_pgbadger").to_str().unwrap()], None);
    assert_eq!(every["log_facts"]["inferred_min_duration_ms"], 0.0);
    assert_eq!(every["log_facts"]["parameters"], false);
    let prepared = json_report(&[log("a2_debian").to_str().unwrap()], None);
    assert_eq!(prepared["log_facts"]["parameters"], true);
}

#[test]
fn an_incident_is_one_shaded_span_told_in_words() {
    // 3 minutes at 20 statements/s of 1 ms; from 60 s to 100 s, half of them take 300 ms.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for sec in 0..180u32 {
        for k in 0..20 {
            let slow = (60..100).contains(&sec) && k < 10;
            let (ms, sql) = if slow {
                (300.0, "SELECT * FROM orders WHERE customer_id = 42")
            } else {
                (1.0, "SELECT * FROM orders WHERE id = 7")
            };
            lines.push((sec, ms, sql));
        }
        if sec == 59 {
            lines.push((sec, 20.0, "DROP INDEX orders_customer_id_idx"));
        }
    }
    let p = synthetic_log(dir.path(), &lines);
    let r = json_report(&[p.to_str().unwrap()], None);
    let spans = r["anomalies"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    // The first slow statements are logged at 04:01:00.000 after 300 ms: sessions are
    // busy with them from 04:00:59.700, so the load leaves its baseline in that window.
    assert_eq!(spans[0]["begin"], "2026-11-24T04:00:59.000Z");
    assert_eq!(spans[0]["last_window_start"], "2026-11-24T04:01:39.000Z");
    assert_eq!(spans[0]["signals"], serde_json::json!(["load", "latency"]));
    let (_, html) = html_report(&[p.to_str().unwrap()], dir.path());
    let story = &html[html.find("id=\"story\"").expect("story section")..];
    assert!(story.contains("2026-11-24 04:00:59.000 – 2026-11-24 04:01:40.000"));
    assert!(
        story.contains("customer_id"),
        "the query that took the time"
    );
    assert!(
        story.contains("DROP INDEX orders_customer_id_idx"),
        "the DDL"
    );
    assert_eq!(
        html.matches("class=\"anom\"").count(),
        3,
        "shaded in every panel"
    );
}

#[test]
fn the_corpus_incident_is_found_where_its_timeline_says() {
    let path = root().join("testdata/c_incident/postgresql.log");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    // From the corpus' timeline.json (wall clock of the server): the incident phase runs
    // 04:42:01.858 – 04:44:31.681; the mitigation's DDL completes at 04:44:33.769.
    let r = json_report(&[path.to_str().unwrap()], None);
    let spans = r["anomalies"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let begin = spans[0]["begin"].as_str().unwrap();
    let last = spans[0]["last_window_start"].as_str().unwrap();
    assert!(
        ("2026-11-24T04:42:01"..="2026-11-24T04:42:03").contains(&&begin[..19]),
        "{begin}"
    );
    assert!(
        ("2026-11-24T04:44:30"..="2026-11-24T04:44:35").contains(&&last[..19]),
        "{last}"
    );
    assert_eq!(r["log_facts"]["inferred_min_duration_ms"], 5.0);
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(&[path.to_str().unwrap()], dir.path());
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    assert!(html.contains("CREATE INDEX orders_status_updated_customer_idx"));
    assert!(html.contains("DROP INDEX orders_customer_id_idx"));
}
