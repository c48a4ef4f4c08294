//! The hosts table: each host's totals side by side, when a report covers more than one
//! (a merge of states saved on several servers, or a run with `--host`/syslog hosts).

use super::model::ms;
use super::text::{human_ms, thousands};
use crate::aggregate::hosts::HostTotals;
use crate::parse::time::rfc3339;

/// One host's row.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct HostView {
    /// `--host`, the syslog hostname, or the file's name.
    pub host: String,
    /// Inputs read from it.
    pub inputs: u64,
    /// Log entries.
    pub entries: u64,
    /// Statements.
    pub statements: u64,
    /// Their total duration, ms.
    pub total_ms: f64,
    /// ERROR, FATAL and PANIC entries.
    pub errors: u64,
    /// Lock waits (`still waiting for`).
    pub lock_waits: u64,
    /// Deadlocks.
    pub deadlocks: u64,
    /// First timestamp (RFC 3339, UTC).
    pub begin: Option<String>,
    /// Last timestamp.
    pub end: Option<String>,
}

/// The rows, by host name.
pub fn views(hosts: &[(String, HostTotals)]) -> Vec<HostView> {
    hosts
        .iter()
        .map(|(host, t)| HostView {
            host: host.clone(),
            inputs: t.inputs,
            entries: t.entries,
            statements: t.statements,
            total_ms: ms(t.total_us),
            errors: t.errors,
            lock_waits: t.lock_waits,
            deadlocks: t.deadlocks,
            begin: t.first.map(rfc3339),
            end: t.last.map(rfc3339),
        })
        .collect()
}

/// The table as text (the summary and the .txt report), after a heading.
pub fn write_text(hosts: &[HostView], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if hosts.is_empty() {
        return Ok(());
    }
    writeln!(out, "hosts:")?;
    let width = hosts.iter().map(|h| h.host.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "  {:<width$}  {:>12}  {:>14}  {:>8}  {:>10}  {:>9}  span (UTC)",
        "host", "statements", "total time", "errors", "lock waits", "deadlocks"
    )?;
    for h in hosts {
        writeln!(
            out,
            "  {:<width$}  {:>12}  {:>14}  {:>8}  {:>10}  {:>9}  {} .. {}",
            h.host,
            thousands(h.statements),
            human_ms(h.total_ms),
            thousands(h.errors),
            thousands(h.lock_waits),
            thousands(h.deadlocks),
            h.begin.as_deref().unwrap_or("-"),
            h.end.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(())
}
