//! `--anonymize`: every literal value of the input log is gone from every output format,
//! the same value is the same token everywhere, and the figures and fingerprints are
//! those of the report without it.
//!
//! The values are extracted from the log here, independently of pgferret: parameters
//! (`$1 = '18300'`), quoted strings and numbers of statements, and the values of
//! DETAIL lines (`Key (order_ref)=(ORD-00012345)`).

use crate::util::*;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The literal values of a log: parameter values, quoted strings anywhere in
/// statements and server messages, numbers of statements, `=(...)` key values.
/// Numbers shorter than 5 digits are kept only when quoted: `3` or `406` appear in any
/// report as counts; a 5-digit number there is a customer id, an order number.
fn log_values(log: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let quoted = Regex::new(r"'((?:[^'\n]|'')*)'").unwrap();
    let key = Regex::new(r"\)=\(([^)\n]*)\)").unwrap();
    let number = Regex::new(r"(?:^|[^\w.$])(\d{5,}(?:\.\d+)?)(?:$|[^\w.])").unwrap();
    let sql_line =
        Regex::new(r"(statement: |execute [^:]*: |DETAIL: |CONTEXT: |STATEMENT: |^\t)").unwrap();
    let (mut quoted_values, mut bare_values) = (BTreeSet::new(), BTreeSet::new());
    for line in log.lines() {
        let Some(m) = sql_line.find(line) else {
            continue;
        };
        let text = &line[m.start()..];
        for c in quoted.captures_iter(text) {
            let v = c[1].replace("''", "'");
            if !v.is_empty() {
                quoted_values.insert(v);
            }
        }
        for c in key.captures_iter(text) {
            for v in c[1].split(", ") {
                // Short ones are looked for as they were shown: `=(1)`.
                if v.len() >= 5 {
                    bare_values.insert(v.to_string());
                } else {
                    quoted_values.insert(format!("=({v})"));
                }
            }
        }
        // Lists of process ids: `Process holding the lock: 1. Wait queue: 2, 3.`
        if !text.contains("duration:") && !text.contains("Wait queue:") {
            for c in number.captures_iter(text) {
                // Process ids, transaction ids and OIDs name things; they are not data.
                let before = text[..c.get(1).unwrap().start()].trim_end();
                let names = [
                    "process",
                    "relation",
                    "database",
                    "transaction",
                    "queue:",
                    "lock:",
                ];
                if !names
                    .iter()
                    .any(|w| before.to_ascii_lowercase().ends_with(w))
                {
                    bare_values.insert(c[1].to_string());
                }
            }
        }
    }
    (quoted_values, bare_values)
}

/// Every string of a JSON value, one per line.
fn json_strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

/// The HTML's text: tags out (each a space, so that cells do not run together),
/// entities read.
fn html_text(html: &str) -> String {
    let tags = Regex::new(r"<[^>]*>").unwrap();
    tags.replace_all(html, " ")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The values of `quoted` found quoted in `text`, and of `bare` found as a word.
fn leaks(text: &str, quoted: &BTreeSet<String>, bare: &BTreeSet<String>) -> Vec<String> {
    let mut found: Vec<String> = quoted
        .iter()
        .filter(|v| {
            v.starts_with("=(") && text.contains(v.as_str())
                || text.contains(&format!("'{v}'"))
                || text.contains(&format!("\"{v}\""))
        })
        .cloned()
        .collect();
    found.extend(
        bare.iter()
            .filter(|v| {
                text.match_indices(v.as_str()).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + v.len()..].chars().next();
                    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    !word(before) && !word(after)
                })
            })
            .cloned(),
    );
    found
}

/// Markdown as read: its backslash escapes and entities undone, so a value shows as
/// it would in a ticket.
fn md_text(md: &str) -> String {
    let unescaped = Regex::new(r"\\(.)").unwrap().replace_all(md, "$1");
    unescaped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

struct Outputs {
    json: Value,
    html: String,
    text: String,
    md: String,
}

fn outputs(name: &str, extra: &[&str], jobs: &str) -> Outputs {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let (j, h, t, m) = (p("r.json"), p("r.html"), p("r.txt"), p("r.md"));
    let l = log(name);
    let mut args = vec![
        l.to_str().unwrap(),
        "-j",
        jobs,
        "-o",
        &j,
        "-o",
        &h,
        "-o",
        &t,
        "-o",
        &m,
    ];
    args.extend(extra);
    let o = run(&args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(f).unwrap();
    Outputs {
        json: serde_json::from_str(&read(&j)).unwrap(),
        html: read(&h),
        text: read(&t),
        md: md_text(&read(&m)),
    }
}

fn no_value_left(name: &str, mode: &str) {
    let log_text = std::fs::read_to_string(log(name)).unwrap();
    let (quoted, bare) = log_values(&log_text);
    let plain = outputs(name, &[], "1");
    let mut plain_json = String::new();
    json_strings(&plain.json, &mut plain_json);
    // The test can fail: without --anonymize, the reports carry the log's values.
    let shown = leaks(&plain_json, &quoted, &bare).len();
    assert!(
        shown >= 10,
        "{name}: only {shown} values in the plain report"
    );
    let anon = outputs(name, &[mode], "2");
    let mut anon_json = String::new();
    json_strings(&anon.json, &mut anon_json);
    for (format, text) in [
        ("JSON", anon_json),
        ("HTML", html_text(&anon.html)),
        ("text", anon.text.clone()),
        ("Markdown", anon.md.clone()),
    ] {
        let left = leaks(&text, &quoted, &bare);
        assert!(left.is_empty(), "{name} {mode}: {format} shows {left:?}");
    }
    // The figures and fingerprints are those of the plain report.
    let figures = |r: &Value| {
        let q: Vec<_> = r["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (
                    q["fingerprint"].clone(),
                    q["count"].clone(),
                    q["total_ms"].clone(),
                )
            })
            .collect();
        (
            r["totals"].clone(),
            q,
            r["errors"]["errors"].clone(),
            r["deadlocks"]["count"].clone(),
        )
    };
    assert_eq!(figures(&plain.json), figures(&anon.json));
    // -j1 and -j2 give the same tokens.
    let anon1 = outputs(name, &[mode], "1");
    assert_eq!(without_run(anon.json.clone()), without_run(anon1.json));
    same_value_same_token(&plain.json, &anon.json);
}

/// Parameters side by side: each value has one token and each token one value.
fn same_value_same_token(plain: &Value, anon: &Value) {
    let param = Regex::new(r"\$\d+ = '([^']*)'").unwrap();
    let (mut to_token, mut to_value) = (BTreeMap::new(), BTreeMap::new());
    let samples = |r: &Value| -> Vec<String> {
        r["queries"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|q| q["samples"].as_array().unwrap().clone())
            .filter_map(|s| s["parameters"].as_str().map(str::to_string))
            .collect()
    };
    for (p, a) in samples(plain).iter().zip(samples(anon)) {
        for (v, t) in param.captures_iter(p).zip(param.captures_iter(&a)) {
            let (v, t) = (v[1].to_string(), t[1].to_string());
            assert!(t.starts_with('<') && t.ends_with('>'), "{v} shown as {t}");
            assert_eq!(to_token.entry(v.clone()).or_insert(t.clone()), &t, "{v}");
            assert_eq!(to_value.entry(t.clone()).or_insert(v.clone()), &v, "{t}");
        }
    }
}

#[test]
fn anonymized_c_incident_shows_no_value_of_the_log() {
    no_value_left("c_incident", "--anonymize");
}

#[test]
fn anonymized_a4_shows_no_value_of_the_log() {
    no_value_left("a4_colon_remote", "--anonymize");
}

#[test]
fn anonymize_names_maps_databases_users_applications_hosts() {
    no_value_left("c_incident", "--anonymize=names");
    let r = outputs("c_incident", &["--anonymize=names"], "1");
    let mut all = String::new();
    json_strings(&r.json, &mut all);
    let all = all + &html_text(&r.html) + &r.text + &r.md;
    // Names from the log's prefix (grep 'user=orders_app,db=shop,app=orders-api').
    for name in [
        "orders_app",
        "orders-api",
        "127.0.0.1",
        "testdata/c_incident",
    ] {
        assert!(!all.contains(name), "{name} left in the report");
    }
    assert!(all.contains("db1") && all.contains("user1") && all.contains("app1"));
}

#[test]
fn anonymized_filters_do_not_name_what_they_filter() {
    // The filter values are the user's, but name an application and hold a literal.
    let flags = [
        "--app",
        "orders-api",
        "--exclude-query",
        "= 424242",
        "--anonymize=names",
    ];
    let r = outputs("c_incident", &flags, "1");
    let mut all = String::new();
    json_strings(&r.json, &mut all);
    let all = all + &html_text(&r.html) + &r.text + &r.md;
    for value in ["orders-api", "424242"] {
        assert!(!all.contains(value), "{value} left in the report");
    }
    assert!(all.contains("--app") && all.contains("--exclude-query"));
}

#[test]
fn title_server_period_options_top_in_every_header() {
    let r = outputs(
        "c_incident",
        &["--title", "Ticket <4711>", "--top", "3", "--anonymize"],
        "1",
    );
    assert_eq!(r.json["title"], "Ticket <4711>");
    assert!(r.html.contains("Ticket &lt;4711&gt;") && !r.html.contains("Ticket <4711>"));
    assert!(r.text.starts_with("Ticket <4711>\n"));
    for h in [&r.html, &r.text] {
        assert!(h.contains("postgresql.log") && h.contains("--top 3 --anonymize"));
    }
    // The table by total time could list every query that took time; it shows 3.
    let queries = r.json["queries"].as_array().unwrap();
    let timed = queries
        .iter()
        .filter(|q| q["total_ms"].as_f64() > Some(0.0))
        .count();
    let all = queries.len();
    let note = format!("Top 3 of {timed} queries; the JSON report lists all {all}");
    assert!(r.html.contains(&note), "{note}");
    assert!(r.text.contains(&format!("(top 3 of {all} queries;")));
    // Temp bytes scale (no "50 MB" from an integer division, no "120,661 MB"): the
    // sizes summed from the log's `temporary file: ... size N` lines.
    let size = Regex::new(r"temporary file: .*, size (\d+)").unwrap();
    let log_text = std::fs::read_to_string(log("c_incident")).unwrap();
    let bytes: u64 = size
        .captures_iter(&log_text)
        .map(|c| c[1].parse::<u64>().unwrap())
        .sum();
    assert!(bytes > 1_000_000, "{bytes}");
    let shown = format!("temp files ({:.1} MB)", bytes as f64 / 1e6);
    assert!(r.text.contains(&shown), "{shown}");
}

#[test]
fn anonymize_names_maps_tables_and_columns_in_queries_samples_and_locks() {
    // The tables and columns of the log's statements, as grep finds them.
    let text = std::fs::read_to_string(log("c_incident")).unwrap();
    let re = Regex::new(r"(?i)\b(?:from|join|update|into)\s+([a-z_][a-z0-9_]*)").unwrap();
    let mut idents: BTreeSet<String> = re
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .filter(|w| !["on", "table"].contains(&w.as_str()))
        .collect();
    idents.extend(["customer_id".to_string(), "order_ref".to_string()]);
    assert!(idents.contains("orders") && idents.len() >= 5, "{idents:?}");
    let word = |w: &str| Regex::new(&format!(r"\b{w}\b")).unwrap();
    let plain = outputs("c_incident", &["--anonymize"], "1");
    let plain_json = plain.json.to_string();
    for w in &idents {
        assert!(word(w).is_match(&plain_json), "{w}: kept without =names");
    }
    let r = outputs("c_incident", &["--anonymize=names"], "2");
    let mut all = String::new();
    json_strings(&r.json, &mut all);
    let all = all + &html_text(&r.html) + &r.text + &r.md;
    for w in &idents {
        assert!(!word(w).is_match(&all), "{w} left in the report");
    }
    // The lock relation is the token the queries use for that table.
    let rel = r.json["locks"]["by_relation"][0]["relation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(rel.starts_with("obj"), "{rel}");
    let queries = r.json["queries"].to_string();
    assert!(queries.contains(&format!("FROM {rel} ")), "{rel}");
}
