//! Reports to share (issue 13): the text summary's spans, locks and errors, the
//! Markdown report and its escaping, the HTML's order and collapsed details, times in
//! the log's own zone, and where the reports were written. Figures are counted from
//! the log's lines here, as grep would.

use crate::util::*;
use regex::Regex;
use serde_json::Value;

fn c_log() -> String {
    log("c_incident").to_str().unwrap().to_string()
}

fn c_text() -> String {
    std::fs::read_to_string(log("c_incident")).unwrap()
}

/// `grep -c` of `needle` over the log's lines.
fn grep_c(text: &str, needle: &str) -> u64 {
    text.lines().filter(|l| l.contains(needle)).count() as u64
}

fn stdout(args: &[&str]) -> String {
    let o = run(args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_text_summary_carries_locks_errors_and_spans() {
    let log = c_text();
    let text = stdout(&[&c_log(), "-o", "-", "--top", "50"]);
    // Lock waits by relation: one line per relation and mode, adding up to grep's count.
    let waits = grep_c(&log, "still waiting for ");
    let head = format!("lock waits by relation ({} waits,", waits);
    assert!(text.contains(&head), "{text}");
    let row = Regex::new(r"(?m)^ +([0-9,]+) waits .* on ").unwrap();
    let sum: u64 = row
        .captures_iter(&text)
        .map(|c| c[1].replace(',', "").parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, waits);
    // Errors by kind: the deadlocks are grep's.
    let deadlocks = grep_c(&log, "ERROR:  deadlock detected");
    assert!(deadlocks > 0);
    let line = format!("{deadlocks:>7}  ERROR 40P01*  deadlock detected");
    assert!(text.contains(&line), "{line}\n{text}");
    assert!(text.contains(&format!("40P01 {deadlocks}")), "{text}");
    // The incident: c_incident's timeline.json places it from 04:42 on.
    let span = Regex::new(r"(?m)^  2026-11-24 04:4[2-3]:\d\d\.\d{3} for .*: load").unwrap();
    assert!(span.is_match(&text), "{text}");
    // --top cuts the lists.
    let short = stdout(&[&c_log(), "-o", "-", "--top", "2"]);
    assert_eq!(row.captures_iter(&short).count(), 2, "{short}");
    assert!(short.contains("(top 2 of "), "{short}");
}

/// A copy of c_incident whose `orders` table is named `name` in every statement.
fn renamed(dir: &std::path::Path, name: &str) -> String {
    let text = c_text().replace("FROM orders WHERE", &format!("FROM \"{name}\" WHERE"));
    let p = dir.join("postgresql.log");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Markdown with its code spans taken out (their content is shown as typed).
fn outside_code(md: &str) -> String {
    Regex::new(r"(`+) .*? (`+)")
        .unwrap()
        .replace_all(md, "")
        .into_owned()
}

#[test]
fn markdown_holds_the_tables_and_no_log_text_can_inject_markup() {
    let evil = "| [x](http://evil) <script>alert(1)</script>";
    let dir = tempfile::tempdir().unwrap();
    let log = renamed(dir.path(), evil);
    let md_path = dir.path().join("r.md");
    let title = format!("Orders {evil}");
    let o = run(
        &[&log, "-o", md_path.to_str().unwrap(), "--title", &title],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(&md_path).unwrap();
    for section in [
        "# Orders ",
        "- **Server:** ",
        "- **Period:** ",
        "- **Filters:** none",
        "## Out of baseline",
        "## Top queries",
        "## Lock waits",
        "## Errors",
        "## What this log can and cannot tell",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    // The injected name is in the queries, and inert: outside code spans no link, no
    // tag, no bare pipe; inside, no pipe that ends a cell.
    assert!(
        md.contains("\\[x\\]\\(http\\://evil\\) &lt;script&gt;"),
        "{md}"
    );
    let outside = outside_code(&md);
    assert!(
        !outside.contains("](") && !outside.contains("<script"),
        "{outside}"
    );
    assert!(md.contains("`` SELECT") || md.contains("` SELECT"));
    let bar = Regex::new(r"(^|[^\\])\|").unwrap();
    for table in md.split("\n\n").filter(|b| b.starts_with("| ")) {
        let cells = |l: &str| bar.find_iter(l).count();
        let lines: Vec<&str> = table.lines().collect();
        let want = cells(lines[0]);
        for l in &lines {
            assert_eq!(cells(l), want, "a row of another shape: {l}");
        }
    }
    // The same report on stdout with --output-format md.
    let out = stdout(&[&log, "-o", "-", "--output-format", "md", "--title", &title]);
    assert_eq!(
        out.lines().filter(|l| !l.starts_with("_pgferret")).count(),
        md.lines().filter(|l| !l.starts_with("_pgferret")).count()
    );
}

#[test]
fn markdown_respects_top_and_the_filters() {
    let md = stdout(&[
        &c_log(),
        "-o",
        "-",
        "--output-format",
        "md",
        "--top",
        "3",
        "--app",
        "orders-api",
    ]);
    let top = md.split("## Top queries").nth(1).unwrap();
    let rows = top
        .lines()
        .take_while(|l| !l.starts_with("##"))
        .filter(|l| Regex::new(r"^\| \d+ \|").unwrap().is_match(l))
        .count();
    assert_eq!(rows, 3, "{md}");
    assert!(md.contains("- **Filters:** ` --app 'orders-api' `"), "{md}");
    assert!(md.contains("_Top 3 of "), "{md}");
}

#[test]
fn html_puts_locks_and_errors_before_collapsed_query_details() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(&[&c_log()], dir.path());
    let at = |id: &str| html.find(&format!("<section id=\"{id}\"")).unwrap();
    assert!(at("locks") < at("queries") && at("errors") < at("queries"));
    let articles = html.matches("<article class=\"query\"").count();
    assert!(articles > 5);
    assert_eq!(html.matches("<details class=\"qd\">").count(), articles);
    // The table of contents follows the page.
    let nav = &html[html.find("<nav>").unwrap()..html.find("</nav>").unwrap()];
    assert!(nav.find("#locks").unwrap() < nav.find("#queries").unwrap());
}

#[test]
fn times_are_in_the_logs_zone_unless_tz_says_otherwise() {
    // a2_debian was written with log_timezone=Europe/Berlin: its lines say CET.
    let l = log("a2_debian");
    let l = l.to_str().unwrap();
    let first = std::fs::read_to_string(l)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let local = &first[..23]; // `2026-11-24 05:35:14.949`, as logged
    assert_eq!(&first[24..27], "CET");
    let text = stdout(&[l, "-o", "-"]);
    assert!(text.contains(&format!("span: {local} .. ")), "{text}");
    assert!(text.contains(" CET ("), "{text}");
    let r = json_report(&[l], None);
    assert_eq!(r["time_zone"], "CET");
    assert_eq!(r["time_zone_origin"], "the log's zone");
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = html_report(&[l], dir.path());
    assert!(
        html.contains("all times CET (the log&#x27;s zone)"),
        "header"
    );
    // --tz overrides; JSON stays UTC.
    let text = stdout(&[l, "-o", "-", "--tz", "UTC"]);
    let utc = format!("04{}", &local[13..]);
    assert!(
        text.contains(&format!("span: {} {utc} .. ", &local[..10])),
        "{text}"
    );
    let r: Value = json_report(&[l, "--tz", "UTC"], None);
    assert_eq!(r["time_zone_origin"], "--tz");
    assert!(r["span"]["begin"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn where_the_reports_went_is_said_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = run(&[&c_log(), "-o", out.to_str().unwrap()], None);
    assert!(o.status.success());
    // Off a terminal (cron), stderr stays quiet.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("report written to"), "{stderr}");
    // On a terminal: `script` gives the run one, when it is installed.
    let script = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} {} -o {}",
            env!("CARGO_BIN_EXE_pgferret"),
            c_log(),
            out.display()
        ))
        .arg("/dev/null")
        .output();
    if let Ok(o) = script {
        let all = String::from_utf8_lossy(&o.stdout);
        assert!(
            all.contains(&format!("report written to {}", out.display())),
            "{all}"
        );
    }
}
