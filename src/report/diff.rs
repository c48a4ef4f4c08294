//! Renders a comparison ([`crate::compare::model::Diff`]) as JSON, text or HTML.
//!
//! Nothing here decides: what regressed, what is new and what cannot be compared
//! were decided in [`crate::compare`]; this file only lays them out. The text is
//! what a person reads in a terminal: the two sides, the warnings, the sentences,
//! then the top of each table.

use super::text::{human_ms, thousands};
use super::tz::DisplayTz;
use super::Format;
use crate::compare::model::{CountChange, Diff, KeyChange, MsChange, QueryDiff, SideView};
use std::io::{self, Write};

/// Rows of each table in the text (the JSON has every row; `--top` sets it).
pub const TEXT_ROWS: usize = 15;

/// Renders `d` in `format` into `out`; times shown in `tz`, `top` rows per table.
pub fn render(
    d: &Diff,
    format: Format,
    tz: DisplayTz,
    top: Option<usize>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, d)?;
            out.write_all(b"\n")?;
        }
        Format::Text => write_text(d, tz, top.unwrap_or(TEXT_ROWS), out)?,
        Format::Html => out.write_all(super::diff_html::render(d, tz, top)?.as_bytes())?,
        Format::Parquet => {
            anyhow::bail!("a comparison has no Parquet form (use .json, .html, .txt or .md)")
        }
        Format::Markdown => {
            // The text comparison in a fenced block, longer than any run of backticks in
            // it, so nothing from a log renders as Markdown.
            let mut text = Vec::new();
            write_text(d, tz, top.unwrap_or(TEXT_ROWS), &mut text)?;
            let text = String::from_utf8_lossy(&text);
            let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            writeln!(out, "{fence}text\n{}{fence}", text)?;
        }
    }
    Ok(())
}

/// `2026-11-24 04:40:31.756 → 04:42:01.857 UTC (1 min 30 s)`, or `(no timestamps)`.
pub fn side_span(s: &SideView, tz: DisplayTz) -> String {
    match (&s.begin, &s.end) {
        (Some(b), Some(e)) => format!(
            "{} – {} {tz} ({})",
            tz.show(b),
            tz.show(e),
            human_ms(s.seconds * 1000.0)
        ),
        _ => "(no timestamps)".to_string(),
    }
}

/// Where a side came from, in words.
pub fn side_source(s: &SideView) -> String {
    let what = match s.source {
        "json" => "JSON report",
        "window" => "window of",
        _ => "logs",
    };
    let mut w = format!("{what} {}", s.paths.join(", "));
    if let Some(win) = &s.window {
        w += &format!(": {win}");
    }
    w
}

/// `9,000 statements, 12.3 s of query time, threshold 5.00 ms`.
pub fn side_figures(s: &SideView) -> String {
    let th = match s.threshold_ms {
        Some(t) if t > 0.0 => format!("statements slower than {} logged", human_ms(t)),
        Some(_) => "every statement logged".to_string(),
        None => "logging threshold unknown".to_string(),
    };
    format!(
        "{} statements, {} of query time, {} distinct queries; {th}{}",
        thousands(s.statements),
        human_ms(s.total_ms),
        thousands(s.fingerprints),
        if s.partial { "; PARTIAL" } else { "" }
    )
}

/// `0.41 ms → 150 ms`.
pub fn ms_pair(m: &MsChange) -> String {
    crate::compare::summary::opt_pair(m)
}

/// Total times: `0 → 12 min 53 s` (a zero is just `0`).
pub fn total_pair(m: &MsChange) -> String {
    crate::compare::summary::total_pair(m)
}

/// `900 → 1,200 (+300)`.
pub fn count_pair(c: &CountChange) -> String {
    let sign = match c.change {
        0 => "",
        x if x > 0 => "+",
        _ => "−",
    };
    format!(
        "{} → {} ({sign}{})",
        thousands(c.before),
        thousands(c.after),
        thousands(c.change.unsigned_abs())
    )
}

/// `×366`, or `–` without a ratio.
pub fn ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 10.0 => format!("×{r:.0}"),
        Some(r) => format!("×{r:.2}"),
        None => "–".to_string(),
    }
}

/// The ratio of the means: `×11`, or `≥×25` for a query that appeared past the
/// threshold (its mean before is below the threshold, if it ran).
pub fn mean_ratio(q: &QueryDiff) -> String {
    match (q.past_threshold_ms, q.mean_ms.after) {
        (Some(t), Some(m)) if t > 0.0 => format!("≥×{:.0}", (m / t).floor()),
        _ => ratio(q.mean_ms.ratio),
    }
}

/// `+178 s`, `−2.00 ms`.
pub fn signed_ms(v: Option<f64>) -> String {
    match v {
        Some(0.0) => "0".into(),
        Some(v) if v < 0.0 => format!("−{}", human_ms(-v)),
        Some(v) => format!("+{}", human_ms(v)),
        None => "?".into(),
    }
}

/// The kind of a query in words.
pub fn kind_words(q: &QueryDiff) -> &'static str {
    if q.past_threshold_ms.is_some() {
        return "regressed or new";
    }
    match q.kind {
        "new" => "new",
        "vanished" => "vanished",
        "appeared" => "appeared",
        "disappeared" => "disappeared",
        "regressed" => "regressed",
        "improved" => "improved",
        "unlisted_before" => "not listed before",
        "unlisted_after" => "not listed after",
        "not_run" => "failed or waited only",
        _ => "unchanged",
    }
}

fn write_text(d: &Diff, tz: DisplayTz, rows: usize, w: &mut dyn Write) -> io::Result<()> {
    match &d.title {
        Some(t) => writeln!(w, "pgferret diff: {t}")?,
        None => writeln!(w, "pgferret diff")?,
    }
    for s in [&d.before, &d.after] {
        writeln!(w, "{:<7} {}", format!("{}:", s.label), side_source(s))?;
        writeln!(w, "        {}", side_span(s, tz))?;
        writeln!(w, "        {}", side_figures(s))?;
    }
    for x in &d.warnings {
        writeln!(w, "warning: {x}")?;
    }
    writeln!(w)?;
    for x in &d.summary {
        writeln!(w, "* {x}")?;
    }
    queries(d, rows, w)?;
    keys(w, "Errors by SQLSTATE", &d.errors.by_sqlstate, rows)?;
    keys(w, "Errors by kind", &d.errors.by_message, rows)?;
    keys(w, "Lock waits by relation", &d.locks.by_relation, rows)?;
    Ok(())
}

fn queries(d: &Diff, rows: usize, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w)?;
    writeln!(
        w,
        "Queries by change in total time ({} of {}):",
        rows.min(d.queries.len()),
        d.queries.len()
    )?;
    writeln!(
        w,
        "  {:<21} {:>13}  {:<24} {:<26} {:<26} query",
        "kind", "Δ total", "runs", "mean", "p95"
    )?;
    for q in d.queries.iter().take(rows) {
        writeln!(w, "  {}", query_row(q))?;
    }
    Ok(())
}

fn query_row(q: &QueryDiff) -> String {
    let sql: String = q.query.split_whitespace().collect::<Vec<_>>().join(" ");
    let sql: String = sql.chars().take(70).collect();
    format!(
        "{:<21} {:>13}  {:<24} {:<26} {:<26} {sql}",
        kind_words(q),
        signed_ms(q.total_ms.change),
        count_pair(&q.count),
        format!("{} {}", ms_pair(&q.mean_ms), mean_ratio(q)),
        format!("{} {}", ms_pair(&q.p95_ms), ratio(q.p95_ms.ratio)),
    )
}

fn keys(w: &mut dyn Write, title: &str, v: &[KeyChange], rows: usize) -> io::Result<()> {
    if v.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{title}:")?;
    for k in v.iter().take(rows) {
        let tag = if k.new {
            " [new]"
        } else if k.vanished {
            " [vanished]"
        } else {
            ""
        };
        let key = if k.key.is_empty() {
            "(not logged)"
        } else {
            &k.key
        };
        let waited = k
            .wait_ms
            .map(|m| format!(", waited {}", ms_pair(&m)))
            .unwrap_or_default();
        writeln!(w, "  {:<24} {key}{tag}{waited}", count_pair(&k.count))?;
    }
    if v.len() > rows {
        writeln!(w, "  ... {} more in the JSON", v.len() - rows)?;
    }
    Ok(())
}
