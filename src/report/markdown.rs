//! The Markdown report (`-o report.md`): what a ticket or a chat message needs — title,
//! server, period, filters, the spans out of baseline, the top queries, the locks, the
//! error breakdown, what the log cannot tell, and the warnings about what was not read.
//!
//! It renders the same view model as the HTML and text reports and decides nothing.
//! Every value from the log goes through [`text`] (or [`code`] for SQL), so a log line
//! cannot add a link, an image, HTML or a table cell: the punctuation Markdown reads
//! (and the `:`, `@` and `www.` that GFM autolinks) is backslash-escaped, `<`, `>` and
//! `&` become entities, line breaks become spaces; SQL
//! goes in a code span fenced longer than any run of backticks it holds.

use super::model::Report;
use super::text::{human_bytes, human_ms, thousands};
use super::text_sections::one_line;
use super::tz::DisplayTz;
use std::io::{self, Write};

/// Rows of each table when `--top` is not given.
const ROWS: usize = 10;
/// SQL is cut here in the tables (the JSON has it whole).
const SQL_CHARS: usize = 160;

/// `s` as inert Markdown text (for a table cell too).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            // Emphasis, code, links and images, tables, strikethrough, math, and the
            // `:` of `http://` and the `@` of an address, which GFM would autolink.
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '|' | '!' | '~' | '#' | '$' | ':'
            | '@' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            // `www.example.com` is autolinked too.
            '.' if out.len() >= 3 && out[out.len() - 3..].eq_ignore_ascii_case("www") => {
                out.push_str("\\.")
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` on one line in a code span, inert in a table cell: fenced by more backticks
/// than any run it holds, pipes escaped (GFM reads `\|` in a cell as `|`, in a code
/// span too).
pub fn code(s: &str, width: usize) -> String {
    let s = one_line(s, width).replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {s} {fence}")
}

fn rows(r: &Report) -> usize {
    r.top.unwrap_or(ROWS)
}

/// Writes the Markdown report.
pub fn write_markdown(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    header(r, out)?;
    warnings(r, out)?;
    spans(r, out)?;
    hosts(r, out)?;
    queries(r, out)?;
    locks(r, out)?;
    errors(r, out)?;
    cannot_tell(r, out)?;
    writeln!(
        out,
        "\n_pgferret {}: the HTML and JSON reports have every table in full._",
        text(&r.run.version)
    )
}

fn header(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let title = r.title.as_deref().unwrap_or("pgferret report");
    writeln!(out, "# {}\n", text(title))?;
    let tz: DisplayTz = r.time_zone.parse().unwrap_or_default();
    let when = |t: &Option<String>| t.as_deref().map_or("?".into(), |t| tz.show(t));
    writeln!(out, "- **Server:** {}", text(&r.server))?;
    writeln!(
        out,
        "- **Period:** {} – {} {} ({}; {})",
        text(&when(&r.span.begin)),
        text(&when(&r.span.end)),
        text(&r.time_zone),
        text(&r.time_zone_origin),
        human_ms(r.span.seconds * 1000.0)
    )?;
    if let Some(g) = &r.range {
        writeln!(out, "- **Range:** {}", text(&g.reading))?;
    }
    match &r.filters {
        Some(f) => writeln!(
            out,
            "- **Filters:** {} (removed {} entries)",
            code(&f.applied.join(" "), 400),
            thousands(f.removed_entries)
        )?,
        None => writeln!(out, "- **Filters:** none")?,
    }
    if !r.options.is_empty() {
        writeln!(out, "- **Options:** {}", code(&r.options.join(" "), 400))?;
    }
    let t = &r.totals;
    let s = &t.signals;
    writeln!(
        out,
        "- **Totals:** {} statements ({} distinct), {} lock waits, {} deadlocks, {} errors, {} temp files ({})",
        thousands(t.statements),
        thousands(t.fingerprints),
        thousands(s.lock_waits),
        thousands(s.deadlocks),
        thousands(s.errors),
        thousands(s.temp_files),
        human_bytes(s.temp_bytes)
    )
}

fn warnings(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.warnings.is_empty() && !r.partial {
        return Ok(());
    }
    writeln!(out, "\n## Warnings\n")?;
    if r.partial {
        writeln!(
            out,
            "- **This report stands for part of what was given only.**"
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "- {}", text(w))?;
    }
    Ok(())
}

fn spans(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n## Out of baseline\n")?;
    if r.anomalies.is_empty() {
        return writeln!(out, "No part of the timeline leaves its baseline.");
    }
    let tz: DisplayTz = r.time_zone.parse().unwrap_or_default();
    let window_ms = r.timeline.window_seconds * 1000.0;
    for a in &r.anomalies {
        let windows = (a.last_window - a.first_window + 1) as f64;
        writeln!(
            out,
            "- **{}** {} for {}: {}; busy {:.2} s/s at peak (baseline {:.2}), p95 {} at peak (baseline {})",
            text(&tz.show(&a.begin)),
            text(&r.time_zone),
            human_ms(windows * window_ms),
            a.signals.join(" and "),
            a.peak_busy,
            a.baseline_busy,
            human_ms(a.peak_p95_ms),
            human_ms(a.baseline_p95_ms)
        )?;
    }
    Ok(())
}

fn hosts(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.hosts.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Hosts\n")?;
    writeln!(
        out,
        "| Host | Statements | Total | Errors | Lock waits | Deadlocks | First | Last |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|---|---|")?;
    for h in &r.hosts {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            text(&h.host),
            thousands(h.statements),
            human_ms(h.total_ms),
            thousands(h.errors),
            thousands(h.lock_waits),
            thousands(h.deadlocks),
            h.begin.as_deref().unwrap_or("–"),
            h.end.as_deref().unwrap_or("–"),
        )?;
    }
    Ok(())
}

fn queries(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.queries.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Top queries\n")?;
    writeln!(out, "| # | Total | Count | Mean | p99 | Query |")?;
    writeln!(out, "|--:|--:|--:|--:|--:|---|")?;
    let unknown = || "unknown".to_string();
    for (i, q) in r.queries.iter().take(rows(r)).enumerate() {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            if q.timed > 0 {
                human_ms(q.total_ms)
            } else {
                unknown()
            },
            thousands(q.count),
            q.mean_ms.map_or_else(unknown, human_ms),
            q.p99_ms.map_or_else(unknown, human_ms),
            code(&q.query, SQL_CHARS)
        )?;
    }
    more(out, r.queries.len(), rows(r), "queries")
}

fn locks(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let l = &r.locks;
    if l.by_relation.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n## Lock waits\n\n{} waits, {} waited as far as the log tells.\n",
        thousands(l.waits),
        human_ms(l.wait_ms)
    )?;
    writeln!(
        out,
        "| Relation | Mode | Waits | Waited | Max | Deadlocks |"
    )?;
    writeln!(out, "|---|---|--:|--:|--:|--:|")?;
    for x in l.by_relation.iter().take(rows(r)) {
        let relation = match (x.relation.as_str(), x.relation_is_oid) {
            ("", _) => format!("({})", x.object),
            (rel, true) => format!("oid {rel}"),
            (rel, false) => rel.to_string(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            text(&one_line(&relation, 80)),
            text(&x.mode),
            thousands(x.waits),
            human_ms(x.wait_ms),
            human_ms(x.max_ms),
            thousands(x.deadlocks)
        )?;
    }
    more(out, l.by_relation.len(), rows(r), "relations and modes")?;
    if let Some(b) = l.blockers.first() {
        let q = |q: &Option<String>| q.as_deref().map_or("(unknown)".into(), |q| code(q, 100));
        writeln!(
            out,
            "\nTop blocker ({}): {} blocked {} {} times.",
            text(b.blocking_how),
            q(&b.blocking_query),
            q(&b.waiting_query),
            thousands(b.waits)
        )?;
    }
    Ok(())
}

fn errors(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let e = &r.errors;
    if e.by_message.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Errors\n")?;
    let states: Vec<String> = e
        .by_sqlstate
        .iter()
        .take(rows(r))
        .map(|s| format!("{} × {}", text(&s.sqlstate), thousands(s.count)))
        .collect();
    writeln!(out, "By SQLSTATE: {}.\n", states.join(", "))?;
    writeln!(out, "| Count | Severity | SQLSTATE | Message |")?;
    writeln!(out, "|--:|---|---|---|")?;
    for k in e.by_message.iter().take(rows(r)) {
        writeln!(
            out,
            "| {} | {} | {}{} | {} |",
            thousands(k.count),
            text(&k.severity),
            text(&k.sqlstate),
            if k.sqlstate_from_text {
                " (from the text)"
            } else {
                ""
            },
            text(&one_line(&k.message, 200))
        )?;
    }
    more(out, e.by_message.len(), rows(r), "kinds of error")
}

fn cannot_tell(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.log_facts.notes.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## What this log can and cannot tell\n")?;
    for n in &r.log_facts.notes {
        writeln!(out, "- {}", text(n))?;
    }
    Ok(())
}

fn more(out: &mut dyn Write, all: usize, shown: usize, what: &str) -> io::Result<()> {
    if all > shown {
        writeln!(
            out,
            "\n_Top {shown} of {} {what}; the HTML and JSON reports have the rest._",
            thousands(all as u64)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_is_inert() {
        let evil = "| [x](http://evil) <script>alert(1)</script> ![i](y) `a` www.evil.com\nnext";
        let t = text(evil);
        assert!(!t.contains("[x]") && !t.contains("<script") && !t.contains("http://"));
        assert!(!t.contains('\n') && !t.contains("www.evil"));
        assert!(
            t.starts_with("\\| \\[x\\]\\(http\\://evil\\) &lt;script&gt;"),
            "{t}"
        );
        let c = code("SELECT '`' || a FROM t", 100);
        assert_eq!(c, "`` SELECT '`' \\|\\| a FROM t ``");
        let c = code("a\n\tb", 100);
        assert_eq!(c, "` a b `");
    }
}
