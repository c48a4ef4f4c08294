//! The incident's signals in the HTML report: overview cards, what the log can tell
//! about them, the Locks / Errors / Maintenance / Sessions sections, the timeline's
//! event markers and its signal panels.
//!
//! Everything here prepares rows for `templates/signals.html`; log text stays plain
//! `String`s that askama escapes, except SQL, which goes through [`highlight`] (every
//! piece escaped). Sections lead with what matters and keep few rows ([`ROWS`]): the
//! JSON report has the rest.

use super::incident::{
    DeadlockSampleView, ErrorKindView, LockRelationView, SessionGroupView, TableMaintView,
};
use super::model::{Report, WindowView};
use super::sql::{highlight, SHORT};
use super::svg::{Panel, Series};
use super::text::{human_bytes, human_ms, thousands};
use std::collections::BTreeSet;

/// Rows of each section table.
pub const ROWS: usize = 8;
/// At most this many markers of one kind on the timeline.
const MAX_PER_KIND: usize = 25;

/// A statement shown in a section: linked to its detail when it has one.
pub struct QRef {
    /// Fingerprint, when the query is in the report's list.
    pub fp: Option<String>,
    /// Highlighted (escaped) SQL.
    pub sql: String,
}

/// An overview card.
#[allow(missing_docs)]
pub struct Card {
    pub value: String,
    pub label: String,
    pub anchor: &'static str,
    pub warn: bool,
}

/// Waits of one statement behind another.
#[allow(missing_docs)]
pub struct BlockRow {
    pub waits: u64,
    pub blocking: QRef,
    pub waiting: QRef,
    pub how: &'static str,
}

/// Deadlocks between the same statements.
#[allow(missing_docs)]
pub struct DeadlockRow {
    pub count: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub queries: Vec<QRef>,
}

/// One kind of error, with the name of its SQLSTATE.
#[allow(missing_docs)]
pub struct ErrorRow<'a> {
    pub e: &'a ErrorKindView,
    pub name: &'static str,
    /// The first occurrence's text, when it says more than the normalized message.
    pub example: Option<&'a str>,
}

/// A statement and the figures a section shows for it.
#[allow(missing_docs)]
pub struct QueryRow {
    pub q: QRef,
    pub cells: Vec<String>,
}

/// A marked instant of the timeline, listed in the events table.
#[allow(missing_docs)]
pub struct EventRow {
    /// RFC 3339.
    pub when: String,
    /// `ddl`, `deadlock`, `checkpoint`, `autovacuum` or `restart` (CSS class).
    pub kind: &'static str,
    pub what: String,
    pub fingerprint: Option<String>,
    pub duration_ms: Option<f64>,
}

/// Everything the signal sections show.
#[allow(missing_docs)]
pub struct Signals<'a> {
    pub cards: Vec<Card>,
    pub notes: Vec<String>,
    pub blockers: Vec<BlockRow>,
    pub relations: &'a [LockRelationView],
    pub deadlocks: Vec<DeadlockRow>,
    pub deadlock_example: Option<(&'a DeadlockSampleView, Vec<String>)>,
    pub errors: Vec<ErrorRow<'a>>,
    pub sqlstates: Vec<(String, &'static str, u64)>,
    pub cancellations: String,
    pub error_queries: Vec<QueryRow>,
    pub temp_queries: Vec<QueryRow>,
    pub tables: &'a [TableMaintView],
    pub checkpoint_reasons: String,
    pub session_groups: Vec<(&'static str, &'a [SessionGroupView])>,
    pub server: String,
    /// Which sections have something to show.
    pub has_locks: bool,
    pub has_errors: bool,
    pub has_maintenance: bool,
    pub has_sessions: bool,
}

impl Signals<'_> {
    /// The fingerprints the sections link to (their details must exist).
    pub fn linked(&self) -> BTreeSet<String> {
        let refs = self
            .blockers
            .iter()
            .flat_map(|b| [&b.blocking, &b.waiting])
            .chain(self.deadlocks.iter().flat_map(|d| &d.queries))
            .chain(self.error_queries.iter().map(|r| &r.q))
            .chain(self.temp_queries.iter().map(|r| &r.q));
        refs.filter_map(|q| q.fp.clone()).collect()
    }

    /// Table of contents entries of the sections that are shown.
    pub fn toc(&self) -> Vec<(&'static str, &'static str)> {
        [
            (self.has_locks, ("locks", "Locks")),
            (self.has_errors, ("errors", "Errors")),
            (self.has_maintenance, ("maintenance", "Maintenance")),
            (self.has_sessions, ("sessions", "Sessions")),
        ]
        .into_iter()
        .filter_map(|(on, e)| on.then_some(e))
        .collect()
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Builds the sections' rows.
pub fn build(r: &Report) -> Signals<'_> {
    let known: BTreeSet<&str> = r.queries.iter().map(|q| q.fingerprint.as_str()).collect();
    let qref = |fp: Option<&str>, sql: Option<&str>| QRef {
        fp: fp.filter(|f| known.contains(f)).map(str::to_string),
        sql: match sql {
            Some(s) if !s.is_empty() => highlight(s, Some(SHORT)),
            _ => "<span class=\"m\">(statement not in the log)</span>".to_string(),
        },
    };
    let t = &r.totals.signals;
    // `--top` sets every table's rows.
    let rows = r.top.unwrap_or(ROWS);
    let blockers = r
        .locks
        .blockers
        .iter()
        .take(rows)
        .map(|b| BlockRow {
            waits: b.waits,
            blocking: qref(
                b.blocking_fingerprint.as_deref(),
                b.blocking_query.as_deref(),
            ),
            waiting: qref(b.waiting_fingerprint.as_deref(), b.waiting_query.as_deref()),
            how: match b.blocking_how {
                "running" => "running",
                "last_logged" => "last logged",
                _ => "not in the log",
            },
        })
        .collect();
    let deadlocks = r
        .deadlocks
        .groups
        .iter()
        .take(rows)
        .map(|g| DeadlockRow {
            count: g.count,
            first: g.first.clone(),
            last: g.last.clone(),
            queries: g
                .fingerprints
                .iter()
                .zip(&g.queries)
                .map(|(f, q)| qref(Some(f), Some(q)))
                .collect(),
        })
        .collect();
    let deadlock_example = r.deadlocks.samples.first().map(|s| {
        let sql = s
            .processes
            .iter()
            .map(|p| highlight(&p.query, Some(300)))
            .collect();
        (s, sql)
    });
    let errors = r
        .errors
        .by_message
        .iter()
        .take(rows + 4)
        .map(|e| ErrorRow {
            e,
            name: sqlstate_name(&e.sqlstate),
            example: (e.example != e.message).then_some(e.example.as_str()),
        })
        .collect();
    let error_queries = r
        .errors
        .by_query
        .iter()
        .take(rows)
        .map(|q| QueryRow {
            q: qref(Some(&q.fingerprint), Some(&q.query)),
            cells: vec![
                thousands(q.errors),
                thousands(q.cancellations),
                thousands(q.deadlocks),
            ],
        })
        .collect();
    let temp_queries = r
        .temp_files
        .by_query
        .iter()
        .take(rows)
        .map(|q| QueryRow {
            q: qref(Some(&q.fingerprint), Some(&q.query)),
            cells: vec![thousands(q.count), human_bytes(q.bytes)],
        })
        .collect();
    let s = &r.sessions;
    Signals {
        cards: cards(r),
        notes: notes(r),
        blockers,
        relations: &r.locks.by_relation[..r.locks.by_relation.len().min(rows)],
        deadlocks,
        deadlock_example,
        errors,
        sqlstates: r
            .errors
            .by_sqlstate
            .iter()
            .map(|s| (s.sqlstate.clone(), sqlstate_name(&s.sqlstate), s.count))
            .collect(),
        cancellations: counted(r.errors.cancellations.iter()),
        error_queries,
        temp_queries,
        tables: &r.maintenance.tables[..r.maintenance.tables.len().min(rows)],
        checkpoint_reasons: counted(r.checkpoints.by_reason.iter()),
        session_groups: [
            ("Database", &s.by_database),
            ("User", &s.by_user),
            ("Application", &s.by_application),
            ("Host", &s.by_host),
        ]
        .into_iter()
        .filter(|g| !g.1.is_empty())
        .map(|(n, g)| (n, &g[..g.len().min(rows)]))
        .collect(),
        server: r
            .server_events
            .iter()
            .map(|e| e.event.replace('_', " "))
            .collect::<Vec<_>>()
            .join(", "),
        has_locks: t.lock_waits > 0 || t.deadlocks > 0,
        has_errors: t.errors > 0 || t.warnings > 0,
        has_maintenance: t.checkpoints > 0
            || t.autovacuums > 0
            || t.autoanalyzes > 0
            || t.temp_files > 0,
        has_sessions: t.connections > 0 || t.disconnections > 0 || !r.server_events.is_empty(),
    }
}

/// `12 statement timeout, 1 lock timeout` from (kind, count) pairs, most first.
fn counted<'k>(it: impl Iterator<Item = (&'k String, &'k u64)>) -> String {
    let mut v: Vec<(&String, &u64)> = it.collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{} {}", thousands(**n), k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cards(r: &Report) -> Vec<Card> {
    let t = &r.totals.signals;
    let mut v = Vec::new();
    let mut card = |on: bool, value: String, label: String, anchor, warn| {
        if on {
            v.push(Card {
                value,
                label,
                anchor,
                warn,
            });
        }
    };
    card(
        t.lock_waits > 0,
        thousands(t.lock_waits),
        format!("lock waits · {} waited", human_ms(t.lock_wait_ms)),
        "locks",
        false,
    );
    card(
        t.deadlocks > 0,
        thousands(t.deadlocks),
        "deadlocks".into(),
        "locks",
        true,
    );
    card(
        t.errors > 0,
        thousands(t.errors),
        if t.cancellations > 0 {
            format!(
                "errors · {}",
                plural(t.cancellations, "cancellation", "cancellations")
            )
        } else {
            "errors".into()
        },
        "errors",
        false,
    );
    card(
        t.temp_files > 0,
        human_bytes(t.temp_bytes),
        format!("in {}", plural(t.temp_files, "temp file", "temp files")),
        "maintenance",
        false,
    );
    let peak = r
        .sessions
        .peak_concurrent
        .map(|p| format!(" · peak {} open", thousands(p.max(0) as u64)))
        .unwrap_or_default();
    card(
        t.connections > 0,
        thousands(t.connections),
        format!("connections{peak}"),
        "sessions",
        r.sessions.connection_limit > 0,
    );
    v
}

/// What the log can tell about each signal: logged, or which setting is probably off.
fn notes(r: &Report) -> Vec<String> {
    let t = &r.totals.signals;
    let mut v = Vec::new();
    // With entries left out (--begin/--end), an absence says nothing about a setting.
    let filtered = r.inputs.iter().any(|i| i.filtered_entries > 0)
        || r.filters.as_ref().is_some_and(|f| f.removed_entries > 0);
    let absent = |what: &str, claim: &str| {
        if filtered {
            format!(
                "No {what} among the entries kept (others were left out by --begin/--end or the filters)."
            )
        } else {
            claim.to_string()
        }
    };
    v.push(if t.lock_waits > 0 {
        format!(
            "Lock waits are logged (log_lock_waits): {} longer than deadlock_timeout, {} waited in all.",
            plural(t.lock_waits, "wait", "waits"),
            human_ms(t.lock_wait_ms)
        )
    } else {
        absent("lock wait", "No lock wait is logged: log_lock_waits is off (time lost on locks then shows only as slow statements), or no wait outlasted deadlock_timeout.")
    });
    v.push(if t.checkpoints > 0 {
        format!(
            "Checkpoints are logged (log_checkpoints): {}.",
            thousands(t.checkpoints)
        )
    } else {
        absent(
            "checkpoint",
            "No checkpoint is logged: log_checkpoints is off, or none ran in this span.",
        )
    });
    v.push(if t.autovacuums + t.autoanalyzes > 0 {
        format!(
            "Autovacuum runs are logged (log_autovacuum_min_duration): {} and {}.",
            plural(t.autovacuums, "vacuum", "vacuums"),
            plural(t.autoanalyzes, "analyze", "analyzes")
        )
    } else {
        absent("autovacuum run", "No autovacuum run is logged: log_autovacuum_min_duration is -1, or no run took long enough.")
    });
    v.push(match (t.connections > 0, t.disconnections > 0) {
        (true, true) => format!(
            "Connections and disconnections are logged: {} and {}.",
            plural(t.connections, "connection", "connections"),
            plural(t.disconnections, "disconnection", "disconnections")
        ),
        (true, false) => format!(
            "Connections are logged ({}) but not disconnections (log_disconnections): how many sessions were open is unknown.",
            thousands(t.connections)
        ),
        _ => absent("connection", "No connection is logged: log_connections is off, so sessions cannot be counted."),
    });
    v.push(if t.temp_files > 0 {
        format!(
            "Temporary files are logged (log_temp_files): {}, {}.",
            plural(t.temp_files, "file", "files"),
            human_bytes(t.temp_bytes)
        )
    } else {
        absent(
            "temporary file",
            "No temporary file is logged: log_temp_files is -1, or no query spilled to disk.",
        )
    });
    v
}

/// The condition name of common SQLSTATEs (PostgreSQL's errcodes.txt).
pub fn sqlstate_name(code: &str) -> &'static str {
    match code {
        "23505" => "unique_violation",
        "23503" => "foreign_key_violation",
        "23502" => "not_null_violation",
        "23514" => "check_violation",
        "22P02" => "invalid_text_representation",
        "22001" => "string_data_right_truncation",
        "22003" => "numeric_value_out_of_range",
        "22012" => "division_by_zero",
        "40P01" => "deadlock_detected",
        "40001" => "serialization_failure",
        "53300" => "too_many_connections",
        "53100" => "disk_full",
        "53200" => "out_of_memory",
        "42703" => "undefined_column",
        "42P01" => "undefined_table",
        "42883" => "undefined_function",
        "42601" => "syntax_error",
        "42501" => "insufficient_privilege",
        "57014" => "query_canceled",
        "57P01" => "admin_shutdown",
        "57P03" => "cannot_connect_now",
        "28P01" => "invalid_password",
        "28000" => "invalid_authorization_specification",
        "3D000" => "invalid_catalog_name",
        "55P03" => "lock_not_available",
        "25P02" => "in_failed_sql_transaction",
        "08006" => "connection_failure",
        "08P01" => "protocol_violation",
        "XX000" => "internal_error",
        _ => "",
    }
}

/// The timeline's markers: DDL statements at their start; server starts, shutdowns and
/// crashes, checkpoint starts and autovacuum runs (their end: the log line is written
/// then) at their instants; deadlocks by bursts of windows (their counts per window).
pub fn events(r: &Report) -> Vec<EventRow> {
    let mut v: Vec<EventRow> = r
        .ddl
        .events
        .iter()
        .filter_map(|e| {
            Some(EventRow {
                when: e.started.clone().or_else(|| e.timestamp.clone())?,
                kind: "ddl",
                what: e.query.chars().take(120).collect(),
                fingerprint: Some(e.fingerprint.clone()),
                duration_ms: e.duration_ms,
            })
        })
        .take(MAX_PER_KIND)
        .collect();
    v.extend(
        r.server_events
            .iter()
            .filter(|e| !matches!(e.event.as_str(), "ready" | "shutdown_request"))
            .filter_map(|e| {
                Some(EventRow {
                    when: e.timestamp.clone()?,
                    kind: "restart",
                    what: format!("server {}", e.event.replace('_', " ")),
                    fingerprint: None,
                    duration_ms: None,
                })
            })
            .take(MAX_PER_KIND),
    );
    v.extend(by_window(
        r,
        "deadlock",
        |w| w.events.deadlocks,
        ("deadlock", "deadlocks"),
    ));
    let at = |when: &String, kind, what: &str| EventRow {
        when: when.clone(),
        kind,
        what: what.to_string(),
        fingerprint: None,
        duration_ms: None,
    };
    v.extend(
        r.checkpoints
            .started_at
            .iter()
            .take(MAX_PER_KIND)
            .map(|t| at(t, "checkpoint", "checkpoint started")),
    );
    v.extend(
        r.maintenance
            .runs
            .iter()
            .filter(|m| m.kind == "autovacuum")
            .take(MAX_PER_KIND)
            .map(|m| at(&m.timestamp, "autovacuum", "autovacuum run ended")),
    );
    v.sort_by(|a, b| a.when.cmp(&b.when).then(a.kind.cmp(b.kind)));
    v
}

/// One event per cluster of windows where `n` is not 0: windows closer than a 40th
/// of the timeline join the same event, so a burst is one marker, not a fence.
fn by_window(
    r: &Report,
    kind: &'static str,
    n: fn(&WindowView) -> u64,
    (one, many): (&str, &str),
) -> Vec<EventRow> {
    let w = &r.timeline.windows;
    let gap = (w.len() / 40).max(1);
    // (first window, last window, count)
    let mut runs: Vec<(usize, usize, u64)> = Vec::new();
    for (i, c) in w.iter().map(n).enumerate().filter(|x| x.1 > 0) {
        match runs.last_mut() {
            Some(run) if i - run.1 <= gap => {
                run.1 = i;
                run.2 += c;
            }
            _ => runs.push((i, i, c)),
        }
    }
    let secs = r.timeline.window_seconds;
    runs.into_iter()
        .take(MAX_PER_KIND)
        .map(|(a, b, c)| EventRow {
            when: w[a].start.clone(),
            kind,
            what: format!(
                "{} within {}",
                plural(c, one, many),
                human_ms((b - a + 1) as f64 * secs * 1000.0)
            ),
            fingerprint: None,
            duration_ms: None,
        })
        .collect()
}

/// What the windows of a span logged besides statements: `165 lock waits (28.08 s),
/// 23 deadlocks, 150 errors...`; empty when nothing.
pub fn in_span(windows: &[WindowView]) -> String {
    let sum = |f: fn(&WindowView) -> u64| windows.iter().map(f).sum::<u64>();
    let wait_ms: f64 = windows.iter().map(|w| w.events.lock_wait_ms).sum();
    let mut parts = Vec::new();
    let waits = sum(|w| w.events.lock_waits);
    if waits > 0 {
        parts.push(format!(
            "{} ({})",
            plural(waits, "lock wait", "lock waits"),
            human_ms(wait_ms)
        ));
    }
    for (n, one, many) in [
        (sum(|w| w.events.deadlocks), "deadlock", "deadlocks"),
        (sum(|w| w.events.errors), "error", "errors"),
        (
            sum(|w| w.events.cancellations),
            "cancellation",
            "cancellations",
        ),
        (sum(|w| w.events.temp_files), "temp file", "temp files"),
        (sum(|w| w.events.checkpoints), "checkpoint", "checkpoints"),
        (sum(|w| w.events.connections), "connection", "connections"),
    ] {
        if n > 0 {
            parts.push(plural(n, one, many));
        }
    }
    parts.join(", ")
}

/// The timeline panels of the signals the log has: lock waits, errors, sessions.
pub fn panels(r: &Report) -> Vec<Panel<'static>> {
    let w = &r.timeline.windows;
    let t = &r.totals.signals;
    let mut v = Vec::new();
    if t.lock_waits > 0 {
        v.push(Panel {
            title: "Lock wait time (bars; hover for the number of waits)",
            fmt: human_ms,
            bars: true,
            series: vec![Series {
                label: "lock wait",
                class: "s3",
                values: w.iter().map(|w| w.events.lock_wait_ms).collect(),
                tips: w
                    .iter()
                    .map(|w| plural(w.events.lock_waits, "wait", "waits"))
                    .collect(),
            }],
            height: 100.0,
            scale_by: 1,
        });
    }
    if t.errors + t.cancellations + t.deadlocks > 0 {
        let line = |label, class, f: fn(&WindowView) -> u64| Series {
            label,
            class,
            values: w.iter().map(|w| f(w) as f64).collect(),
            tips: Vec::new(),
        };
        v.push(Panel {
            title: "Errors, cancellations and deadlocks per window",
            fmt: |v| thousands(v.round() as u64),
            bars: true,
            series: vec![
                line("errors", "s3", |w| w.events.errors),
                line("cancellations", "s2", |w| w.events.cancellations),
                line("deadlocks", "s4", |w| w.events.deadlocks),
            ],
            height: 110.0,
            scale_by: 3,
        });
    }
    if t.connections > 0 || t.disconnections > 0 {
        let open = |w: &WindowView| w.sessions.map(|o| o.max(0) as u64);
        // Bars need no hover column per window (smaller page); their tooltips carry
        // the open sessions too.
        let mut series = vec![Series {
            label: "connections",
            class: "s2",
            values: w.iter().map(|w| w.events.connections as f64).collect(),
            tips: w
                .iter()
                .map(|w| open(w).map_or(String::new(), |o| format!("{} open", thousands(o))))
                .collect(),
        }];
        if w.iter().any(|w| w.sessions.is_some()) {
            series.push(Series {
                label: "open sessions (lower bound)",
                class: "s1",
                values: w.iter().map(|w| open(w).unwrap_or(0) as f64).collect(),
                tips: Vec::new(),
            });
        }
        v.push(Panel {
            title: "Sessions",
            fmt: |v| thousands(v.round() as u64),
            bars: true,
            series,
            height: 110.0,
            scale_by: 2,
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_lists_most_first() {
        let m: std::collections::BTreeMap<String, u64> = [
            ("lock_timeout".to_string(), 1),
            ("statement_timeout".into(), 12),
        ]
        .into();
        assert_eq!(counted(m.iter()), "12 statement timeout, 1 lock timeout");
    }

    #[test]
    fn sqlstates_have_names() {
        assert_eq!(sqlstate_name("40P01"), "deadlock_detected");
        assert_eq!(sqlstate_name("99999"), "");
    }
}
