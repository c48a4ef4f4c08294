//! The PgBouncer section: what the pooler's own log says, beside the server's report.
//!
//! Built from [`PoolerStats`] and the timeline's windows (each carries its PgBouncer
//! share), so its per-window figures line up index for index with `timeline.windows`
//! and its panels are drawn on the same axis as the server's. Absent from the JSON when
//! no PgBouncer line was read, so a server-only report is unchanged.

use super::model::ms;
use super::svg::{Panel, Series};
use super::text::{human_ms, thousands};
use crate::aggregate::pgbouncer::{PoolerStats, PoolerWindow, Side, StatsSums};
use crate::parse::pgbouncer::PoolerLevel;
use crate::parse::time::rfc3339;
use crate::parse::Millis;
use serde::Serialize;
use std::io::{self, Write};

/// Rows of the closings and messages tables at most (the JSON has them all).
pub const TOP_ROWS: usize = 30;

/// The one thing the report can say of the server's logging when only PgBouncer's log
/// was read.
pub const ONLY_NOTE: &str = "Only PgBouncer's log was read: the server's statements, locks, errors and settings are not in it (give the server's log too for one report of both).";

/// True when every input is a PgBouncer log (and there is at least one).
pub fn only_pgbouncer<'a>(mut formats: impl Iterator<Item = &'a str>) -> bool {
    let name = crate::parse::format::LogFormat::Pgbouncer.name();
    let mut any = false;
    formats.all(|f| {
        any = true;
        f == name
    }) && any
}

/// The `pgbouncer` key of the report.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PgbouncerView {
    pub lines: u64,
    pub begin: Option<String>,
    pub end: Option<String>,
    /// `login attempt:` lines.
    pub login_attempts: u64,
    /// Clients closed for a login reason (authentication, unknown database or user,
    /// max_client_conn, the server refusing the login).
    pub login_failures: u64,
    /// `new connection to server` lines.
    pub server_connections: u64,
    pub client_closings: u64,
    pub server_closings: u64,
    /// Closings by side and reason, most frequent first.
    pub closings: Vec<ClosingView>,
    /// WARNING lines (PgBouncer's `pooler error:` messages to clients are warnings).
    pub warnings: u64,
    /// ERROR and FATAL lines.
    pub errors: u64,
    /// WARNING, ERROR and FATAL lines by message kind (digits masked), most frequent first.
    pub messages: Vec<MessageView>,
    pub stats: StatsView,
    /// Per pool (database/user), those with failures, warnings or errors first.
    pub pools: Vec<PoolView>,
    /// One per `timeline.windows` entry, in the same order.
    pub windows: Vec<PoolerWindowView>,
}

/// One pool's logins and problems.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PoolView {
    pub database: String,
    pub user: String,
    pub logins: u64,
    pub login_failures: u64,
    pub warnings: u64,
    pub errors: u64,
}

/// Closings of one reason.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ClosingView {
    /// `client` or `server`.
    pub side: &'static str,
    pub reason: String,
    pub count: u64,
}

/// Lines of one level and message kind.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct MessageView {
    pub level: &'static str,
    pub message: String,
    pub count: u64,
}

/// The `stats:` lines: PgBouncer's averages over each stats_period.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct StatsView {
    pub lines: u64,
    /// Sums of the lines' xacts/s and queries/s figures.
    pub sum_xacts_per_s: u64,
    pub sum_queries_per_s: u64,
    pub mean_xacts_per_s: Option<f64>,
    pub max_xacts_per_s: u64,
    pub mean_queries_per_s: Option<f64>,
    pub mean_xact_ms: Option<f64>,
    pub mean_query_ms: Option<f64>,
    /// Mean of the lines' average client wait.
    pub mean_wait_ms: Option<f64>,
    pub max_wait_ms: f64,
}

impl StatsView {
    fn new(s: &StatsSums) -> Self {
        let m = |sum: u64| s.mean(sum);
        StatsView {
            lines: s.lines,
            sum_xacts_per_s: s.xacts_per_s,
            sum_queries_per_s: s.queries_per_s,
            mean_xacts_per_s: m(s.xacts_per_s),
            max_xacts_per_s: s.max_xacts_per_s,
            mean_queries_per_s: m(s.queries_per_s),
            mean_xact_ms: m(s.xact_us).map(|v| v / 1000.0),
            mean_query_ms: m(s.query_us).map(|v| v / 1000.0),
            mean_wait_ms: m(s.wait_us).map(|v| v / 1000.0),
            max_wait_ms: ms(s.max_wait_us),
        }
    }
}

/// PgBouncer's figures in one timeline window.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PoolerWindowView {
    pub start: String,
    pub lines: u64,
    pub logins: u64,
    pub login_failures: u64,
    pub warnings: u64,
    pub errors: u64,
    pub stats: StatsView,
}

impl PgbouncerView {
    /// The section, or `None` when no PgBouncer line was read. `windows` are the
    /// timeline's (start, PgBouncer share).
    pub fn build(p: PoolerStats, windows: &[(Millis, PoolerWindow)]) -> Option<Self> {
        if p.lines == 0 {
            return None;
        }
        let side = |s: Side| match s {
            Side::Client => "client",
            Side::Server => "server",
        };
        let on = |s: Side| -> u64 { p.closings.get(&s).map_or(0, |k| k.values().sum()) };
        let (client_closings, server_closings) = (on(Side::Client), on(Side::Server));
        let mut closings: Vec<ClosingView> = p
            .closings
            .iter()
            .flat_map(|(s, kinds)| {
                kinds.iter().map(|(reason, count)| ClosingView {
                    side: side(*s),
                    reason: reason.clone(),
                    count: *count,
                })
            })
            .collect();
        closings.sort_by_key(|c| std::cmp::Reverse(c.count));
        let count_of = |pred: fn(&PoolerLevel) -> bool| -> u64 {
            p.messages
                .iter()
                .filter(|(l, _)| pred(l))
                .flat_map(|(_, k)| k.values())
                .sum()
        };
        let warnings = count_of(|l| *l == PoolerLevel::Warning);
        let errors = count_of(|l| *l != PoolerLevel::Warning);
        let mut messages: Vec<MessageView> = p
            .messages
            .iter()
            .flat_map(|(l, kinds)| {
                kinds.iter().map(|(m, c)| MessageView {
                    level: l.as_str(),
                    message: m.clone(),
                    count: *c,
                })
            })
            .collect();
        messages.sort_by_key(|m| std::cmp::Reverse(m.count));
        let mut pools: Vec<PoolView> = p
            .pools
            .iter()
            .flat_map(|(db, users)| {
                users.iter().map(|(user, c)| PoolView {
                    database: String::from_utf8_lossy(db).into_owned(),
                    user: String::from_utf8_lossy(user).into_owned(),
                    logins: c.logins,
                    login_failures: c.login_failures,
                    warnings: c.warnings,
                    errors: c.errors,
                })
            })
            .collect();
        pools.sort_by_key(|v| {
            let trouble = v.login_failures + v.warnings + v.errors;
            (std::cmp::Reverse(trouble), std::cmp::Reverse(v.logins))
        });
        Some(PgbouncerView {
            lines: p.lines,
            begin: p.first_ts.map(rfc3339),
            end: p.last_ts.map(rfc3339),
            login_attempts: p.login_attempts,
            login_failures: p.login_failures,
            server_connections: p.server_connections,
            client_closings,
            server_closings,
            closings,
            warnings,
            errors,
            messages,
            stats: StatsView::new(&p.stats),
            pools,
            windows: windows
                .iter()
                .map(|(start, w)| PoolerWindowView {
                    start: rfc3339(*start),
                    lines: w.lines,
                    logins: w.logins,
                    login_failures: w.login_failures,
                    warnings: w.warnings,
                    errors: w.errors,
                    stats: StatsView::new(&w.stats),
                })
                .collect(),
        })
    }

    /// The timeline panels: logins and their failures, warnings and errors; the
    /// pooler's throughput and the clients' wait for a server (from the stats lines).
    pub fn panels(&self) -> Vec<Panel<'static>> {
        let w = &self.windows;
        let line = |label, class, f: fn(&PoolerWindowView) -> f64| Series {
            label,
            class,
            values: w.iter().map(f).collect(),
            tips: Vec::new(),
        };
        let mut v = vec![Panel {
            title: "PgBouncer: logins, login failures, warnings and errors per window",
            fmt: |v| thousands(v.round() as u64),
            bars: true,
            series: vec![
                line("logins", "s1", |w| w.logins as f64),
                line("login failures", "s3", |w| w.login_failures as f64),
                line("warnings", "s2", |w| w.warnings as f64),
                line("errors", "s4", |w| w.errors as f64),
            ],
            height: 110.0,
            scale_by: 4,
        }];
        if self.stats.lines > 0 {
            v.push(Panel {
                title: "PgBouncer: average client wait for a server (stats lines)",
                fmt: human_ms,
                bars: true,
                series: vec![
                    line("wait", "s3", |w| w.stats.mean_wait_ms.unwrap_or(0.0)),
                    line("query", "s1", |w| w.stats.mean_query_ms.unwrap_or(0.0)),
                ],
                height: 110.0,
                scale_by: 1,
            });
            v.push(Panel {
                title: "PgBouncer: transactions and queries per second (stats lines)",
                fmt: |v| thousands(v.round() as u64),
                bars: false,
                series: vec![
                    line("xacts/s", "s1", |w| w.stats.mean_xacts_per_s.unwrap_or(0.0)),
                    line("queries/s", "s2", |w| {
                        w.stats.mean_queries_per_s.unwrap_or(0.0)
                    }),
                ],
                height: 110.0,
                scale_by: 2,
            });
        }
        v
    }

    /// The terminal summary's lines.
    pub fn write_summary(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "pgbouncer: {} lines, {} login attempts, {} login failures, {} warnings, {} errors, {} client / {} server closings",
            thousands(self.lines),
            thousands(self.login_attempts),
            thousands(self.login_failures),
            thousands(self.warnings),
            thousands(self.errors),
            thousands(self.client_closings),
            thousands(self.server_closings),
        )?;
        let s = &self.stats;
        if let (Some(x), Some(wait)) = (s.mean_xacts_per_s, s.mean_wait_ms) {
            writeln!(
                out,
                "pgbouncer stats: {} lines, mean {x:.1} xacts/s (max {}), mean wait {} (max {})",
                thousands(s.lines),
                thousands(s.max_xacts_per_s),
                human_ms(wait),
                human_ms(s.max_wait_ms)
            )?;
        }
        for m in self.messages.iter().take(3) {
            writeln!(
                out,
                "  {} x{} {}",
                m.level,
                thousands(m.count),
                m.message.chars().take(90).collect::<String>()
            )?;
        }
        Ok(())
    }
}
