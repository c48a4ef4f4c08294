//! The terminal summary: what a person reads first, in 25 lines.

use super::model::{QueryView, Report};
use std::io::{self, Write};

/// Formats a count with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats milliseconds for people: `850 µs`, `12.3 ms`, `4.56 s`, `12 min 3 s`.
pub fn human_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 100.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms < 3_599_500.0 {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    } else {
        let m = (ms / 60_000.0).round() as u64;
        format!("{} h {} min", m / 60, m % 60)
    }
}

/// Formats a byte count for people: `512 B`, `12.3 kB`, `50.6 MB`, `1.23 GB`,
/// `120.66 TB` (decimal units, as `du --si`).
pub fn human_bytes(v: u64) -> String {
    let v = v as f64;
    if v >= 1e12 {
        format!("{:.2} TB", v / 1e12)
    } else if v >= 1e9 {
        format!("{:.2} GB", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1} MB", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} kB", v / 1e3)
    } else {
        format!("{v} B")
    }
}

fn one_line(q: &QueryView, width: usize) -> String {
    let mut s: String = q.query.chars().take(width).collect();
    if q.query.chars().count() > width {
        s.push('…');
    }
    s
}

/// Queries the summary lists (`--top` sets it).
const TOP_ROWS: usize = 10;

/// Writes the summary.
pub fn write_summary(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if let Some(title) = &r.title {
        writeln!(out, "{title}")?;
    }
    writeln!(
        out,
        "server: {}; options: {}",
        r.server,
        if r.options.is_empty() {
            "none".to_string()
        } else {
            r.options.join(" ")
        }
    )?;
    if r.partial {
        writeln!(
            out,
            "WARNING: this report stands for part of what was given only"
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "WARNING: {w}")?;
    }
    for i in &r.inputs {
        let how = if i.prefix_inferred {
            "inferred"
        } else {
            "given"
        };
        let format = match (&i.compression, &i.prefix) {
            (Some(c), Some(p)) => format!("{c} {} prefix '{p}' ({how})", i.format),
            (None, Some(p)) => format!("{} prefix '{p}' ({how})", i.format),
            (Some(c), None) => format!("{c} {}", i.format),
            (None, None) => i.format.clone(),
        };
        writeln!(
            out,
            "{}: {} lines, {} entries, {} skipped; {format}",
            i.path,
            thousands(i.lines),
            thousands(i.entries),
            thousands(i.skipped_lines),
        )?;
        writeln!(out, "  {}", i.verdict_note)?;
        for ex in i.skipped_examples.iter().take(3) {
            writeln!(out, "  skipped {ex}")?;
        }
    }
    let t = &r.totals;
    let tz: super::tz::DisplayTz = r.time_zone.parse().unwrap_or_default();
    let show = |t: &Option<String>| t.as_deref().map_or("?".to_string(), |t| tz.show(t));
    writeln!(
        out,
        "span: {} .. {} {} ({})",
        show(&r.span.begin),
        show(&r.span.end),
        r.time_zone,
        human_ms(r.span.seconds * 1000.0)
    )?;
    if let Some(g) = &r.range {
        writeln!(out, "range: {}", g.reading)?;
    }
    if let Some(f) = &r.filters {
        writeln!(out, "{}", f.sentence())?;
    }
    writeln!(
        out,
        "statements: {} in {} distinct queries, {}",
        thousands(t.statements),
        thousands(t.fingerprints),
        match t.untimed_statements {
            0 => format!("total {}", human_ms(t.total_ms)),
            n if n == t.statements => "latency unknown (no durations logged)".to_string(),
            n => format!(
                "total {} ({} without a duration)",
                human_ms(t.total_ms),
                thousands(n)
            ),
        }
    )?;
    writeln!(
        out,
        "signals: {} lock waits ({}), {} deadlocks, {} cancellations, {} errors, {} temp files ({}), {} checkpoints, {} autovacuums, {} connections",
        thousands(t.signals.lock_waits),
        human_ms(t.signals.lock_wait_ms),
        thousands(t.signals.deadlocks),
        thousands(t.signals.cancellations),
        thousands(t.signals.errors),
        thousands(t.signals.temp_files),
        human_bytes(t.signals.temp_bytes),
        thousands(t.signals.checkpoints),
        thousands(t.signals.autovacuums),
        thousands(t.signals.connections)
    )?;
    if let Some(p) = &r.pgbouncer {
        p.write_summary(out)?;
    }
    super::hosts::write_text(&r.hosts, out)?;
    super::first::write_text(r, out)?;
    super::text_sections::write_spans(r, out)?;
    super::text_sections::write_locks(r, out)?;
    super::text_sections::write_errors(r, out)?;
    if let Some(b) = r.locks.blockers.first() {
        let text = |q: &Option<String>| {
            q.as_deref()
                .map_or("(unknown)".to_string(), |q| q.chars().take(60).collect())
        };
        writeln!(
            out,
            "top blocker ({}): {} blocked {} {} times",
            b.blocking_how,
            text(&b.blocking_query),
            text(&b.waiting_query),
            thousands(b.waits)
        )?;
    }
    if !r.queries.is_empty() {
        let by = if t.timed_statements > 0 {
            "total time"
        } else {
            "count"
        };
        writeln!(out, "top queries by {by}:")?;
        writeln!(
            out,
            "  {:>10} {:>9} {:>10} {:>10}  query{}",
            "total",
            "count",
            "mean",
            "p99",
            if t.untimed_statements > 0 {
                "  (time, mean and p99 over the executions with a duration)"
            } else {
                ""
            }
        )?;
    }
    for q in r.queries.iter().take(r.top.unwrap_or(TOP_ROWS)) {
        writeln!(
            out,
            "  {:>10} {:>9} {:>10} {:>10}  {}",
            if q.timed > 0 {
                human_ms(q.total_ms)
            } else {
                "unknown".into()
            },
            thousands(q.count),
            q.mean_ms.map_or("unknown".into(), human_ms),
            q.p99_ms.map_or("unknown".into(), human_ms),
            one_line(q, 70)
        )?;
    }
    let shown = r.queries.len().min(r.top.unwrap_or(TOP_ROWS));
    if r.queries.len() > shown && shown > 0 {
        writeln!(
            out,
            "  (top {} of {} queries; the HTML and JSON reports have more)",
            thousands(shown as u64),
            thousands(r.queries.len() as u64)
        )?;
    }
    if let Some(f) = &r.folded {
        writeln!(
            out,
            "  {:>10} {:>9} {:>10} {:>10}  other: {} fingerprints folded (--max-fingerprints {})",
            human_ms(f.total_ms),
            thousands(f.count),
            f.mean_ms.map_or("unknown".into(), human_ms),
            f.p99_ms.map_or("unknown".into(), human_ms),
            thousands(f.fingerprints),
            thousands(f.max_fingerprints)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_ms(0.25), "250 µs");
        assert_eq!(human_ms(12.345), "12.35 ms");
        assert_eq!(human_ms(4560.0), "4.56 s");
        assert_eq!(human_ms(723_000.0), "12 min 3 s");
        assert_eq!(human_ms(779_990.0), "13 min 0 s");
        assert_eq!(human_ms(7_250_000.0), "2 h 1 min");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(12_345), "12.3 kB");
        assert_eq!(human_bytes(50_600_000), "50.6 MB");
        assert_eq!(human_bytes(1_234_000_000), "1.23 GB");
        // Not "120,661 MB".
        assert_eq!(human_bytes(120_661_000_000), "120.66 GB");
        assert_eq!(human_bytes(120_661_000_000_000), "120.66 TB");
    }
}
