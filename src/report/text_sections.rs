//! Sections of the text summary that a cron mail or a chat message needs besides the
//! totals: the spans out of baseline, the error breakdown and the locks waited on.
//! Each renders what the view model holds ([`Report`]); nothing is decided here.

use super::model::Report;
use super::text::{human_ms, thousands};
use super::tz::DisplayTz;
use std::io::{self, Write};

/// Rows of each list when `--top` is not given.
const ROWS: usize = 5;

fn rows(r: &Report) -> usize {
    r.top.unwrap_or(ROWS)
}

/// One line of at most `width` characters (newlines and tabs folded into spaces).
pub fn one_line(s: &str, width: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > width {
        out = out.chars().take(width).collect();
        out.push('…');
    }
    out
}

/// The spans of the timeline out of baseline, one line each.
pub fn write_spans(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if r.anomalies.is_empty() {
        return Ok(());
    }
    let tz: DisplayTz = r.time_zone.parse().unwrap_or_default();
    let window_ms = r.timeline.window_seconds * 1000.0;
    writeln!(out, "out of baseline ({}):", r.time_zone)?;
    for a in &r.anomalies {
        let windows = (a.last_window - a.first_window + 1) as f64;
        writeln!(
            out,
            "  {} for {}: {}; busy {:.2} s/s at peak (baseline {:.2}), p95 {} at peak (baseline {})",
            tz.show(&a.begin),
            human_ms(windows * window_ms),
            a.signals.join(" and "),
            a.peak_busy,
            a.baseline_busy,
            human_ms(a.peak_p95_ms),
            human_ms(a.baseline_p95_ms),
        )?;
    }
    Ok(())
}

/// Errors by SQLSTATE and by message kind, the most frequent first.
pub fn write_errors(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let e = &r.errors;
    if e.by_message.is_empty() {
        return Ok(());
    }
    let states: Vec<String> = e
        .by_sqlstate
        .iter()
        .take(rows(r))
        .map(|s| format!("{} {}", s.sqlstate, thousands(s.count)))
        .collect();
    writeln!(
        out,
        "errors by SQLSTATE: {}{}",
        states.join(", "),
        more(e.by_sqlstate.len(), rows(r))
    )?;
    writeln!(out, "errors by kind:")?;
    for k in e.by_message.iter().take(rows(r)) {
        writeln!(
            out,
            "  {:>7}  {} {}{}  {}",
            thousands(k.count),
            k.severity,
            if k.sqlstate.is_empty() {
                "?????"
            } else {
                &k.sqlstate
            },
            if k.sqlstate_from_text { "*" } else { "" },
            one_line(&k.message, 90)
        )?;
    }
    let shown = e.by_message.len().min(rows(r));
    if e.by_message.len() > shown {
        writeln!(
            out,
            "  (top {shown} of {} kinds; the HTML and JSON reports have them all)",
            thousands(e.by_message.len() as u64)
        )?;
    }
    if e.by_message.iter().any(|k| k.sqlstate_from_text) {
        writeln!(
            out,
            "  (* SQLSTATE told by the message text: the prefix has no %e)"
        )?;
    }
    Ok(())
}

/// Relations waited on, with their waits and time, and the top blockers.
pub fn write_locks(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let l = &r.locks;
    if l.by_relation.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "lock waits by relation ({} waits, {} waited as far as the log tells):",
        thousands(l.waits),
        human_ms(l.wait_ms)
    )?;
    for x in l.by_relation.iter().take(rows(r)) {
        let relation = match (x.relation.as_str(), x.relation_is_oid) {
            ("", _) => format!("({})", x.object),
            (rel, true) => format!("relation oid {rel}"),
            (rel, false) => one_line(rel, 60),
        };
        writeln!(
            out,
            "  {:>7} waits {:>10} (max {}) {} on {}{}",
            thousands(x.waits),
            human_ms(x.wait_ms),
            human_ms(x.max_ms),
            x.mode,
            relation,
            if x.deadlocks > 0 {
                format!(", {} deadlocks", thousands(x.deadlocks))
            } else {
                String::new()
            }
        )?;
    }
    let shown = l.by_relation.len().min(rows(r));
    if l.by_relation.len() > shown {
        writeln!(
            out,
            "  (top {shown} of {} relations and modes)",
            thousands(l.by_relation.len() as u64)
        )?;
    }
    Ok(())
}

fn more(all: usize, shown: usize) -> String {
    if all > shown {
        format!(" (and {} more)", all - shown)
    } else {
        String::new()
    }
}
