//! The view model of the incident's signals: locks and blockers, deadlocks, errors,
//! temp files, checkpoints, maintenance, sessions, DDL and server events.
//!
//! Lists are sorted by a count (descending) and then by a key, so two runs over the
//! same log give the same JSON.

use super::model::ms;
use crate::aggregate::incident::{BlockKey, EventCounts, Incidents, SessionGroup};
use crate::aggregate::table::QueryMap;
use crate::normalize::fingerprint_hex;
use crate::parse::time::rfc3339;
use crate::parse::Millis;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many entries the per-query lists of a section keep.
pub const MAX_ROWS: usize = 100;

/// Lock waits.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct LocksView {
    /// `still waiting for` messages.
    pub waits: u64,
    /// Time waited as far as the log tells (`acquired` time when logged, else the
    /// `still waiting` time).
    pub wait_ms: f64,
    pub acquired: u64,
    pub detected_deadlocks: u64,
    pub avoided_deadlocks: u64,
    pub by_relation: Vec<LockRelationView>,
    pub by_query: Vec<QueryLockView>,
    /// Who blocked whom: the waiting statement and the holder's statement
    /// (`blocking_fingerprint` null when the log does not have it; see `blocking_how`).
    pub blockers: Vec<BlockerView>,
    pub blockers_unknown: u64,
}

/// Waits on one relation in one mode.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct LockRelationView {
    /// The relation's name (from CONTEXT) or OID; empty when the lock names neither.
    pub relation: String,
    pub relation_is_oid: bool,
    pub mode: String,
    pub object: String,
    pub waits: u64,
    pub wait_ms: f64,
    pub max_ms: f64,
    pub acquired: u64,
    pub deadlocks: u64,
}

/// Lock waits of one fingerprint.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct QueryLockView {
    pub fingerprint: String,
    pub query: String,
    pub waits: u64,
    pub wait_ms: f64,
    pub max_ms: f64,
}

/// Waits of one statement on another.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct BlockerView {
    pub waiting_fingerprint: Option<String>,
    pub waiting_query: Option<String>,
    pub blocking_fingerprint: Option<String>,
    pub blocking_query: Option<String>,
    /// `running` (the holder's statement ran during the wait), `last_logged` (the
    /// holder's last statement logged before the wait) or `unknown`.
    pub blocking_how: &'static str,
    pub waits: u64,
}

/// Deadlocks.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DeadlocksView {
    /// `ERROR:  deadlock detected`.
    pub count: u64,
    /// `detected deadlock while waiting for` (log_lock_waits).
    pub detected_while_waiting: u64,
    /// Deadlocks by the set of queries involved.
    pub groups: Vec<DeadlockGroupView>,
    /// The first deadlocks with each process's query.
    pub samples: Vec<DeadlockSampleView>,
}

/// Deadlocks between the same queries.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DeadlockGroupView {
    pub fingerprints: Vec<String>,
    pub queries: Vec<String>,
    pub count: u64,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// One deadlock.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DeadlockSampleView {
    pub timestamp: Option<String>,
    pub processes: Vec<DeadlockProcessView>,
}

/// One process of a deadlock.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DeadlockProcessView {
    pub pid: u32,
    pub fingerprint: String,
    pub query: String,
}

/// Errors, warnings and cancellations.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ErrorsView {
    /// ERROR + FATAL + PANIC (cancellations and deadlocks included).
    pub errors: u64,
    pub by_severity: BTreeMap<String, u64>,
    pub warnings: u64,
    pub cancellations: BTreeMap<String, u64>,
    pub connection_limit: u64,
    pub authentication_failures: u64,
    pub by_sqlstate: Vec<SqlstateView>,
    pub by_message: Vec<ErrorKindView>,
    pub by_query: Vec<QueryErrorView>,
}

/// Errors of one SQLSTATE.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SqlstateView {
    /// Empty when neither the log nor the message text tells.
    pub sqlstate: String,
    pub count: u64,
}

/// One kind of error.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ErrorKindView {
    pub severity: String,
    pub sqlstate: String,
    /// True when the SQLSTATE comes from the message text, not from the log.
    pub sqlstate_from_text: bool,
    pub message: String,
    pub count: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub example: String,
}

/// Errors of one fingerprint.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct QueryErrorView {
    pub fingerprint: String,
    pub query: String,
    pub errors: u64,
    pub cancellations: u64,
    pub deadlocks: u64,
}

/// Temporary files.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct TempFilesView {
    pub count: u64,
    pub bytes: u64,
    /// Temp files without a STATEMENT line.
    pub unattributed_count: u64,
    pub unattributed_bytes: u64,
    pub by_query: Vec<QueryTempView>,
}

/// Temp files of one fingerprint.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct QueryTempView {
    pub fingerprint: String,
    pub query: String,
    pub count: u64,
    pub bytes: u64,
}

/// Checkpoints.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct CheckpointsView {
    /// `checkpoint starting` (and `restartpoint starting`).
    pub started: u64,
    pub by_reason: BTreeMap<String, u64>,
    pub complete: u64,
    pub buffers: u64,
    pub write_s: f64,
    pub sync_s: f64,
    pub total_s: f64,
    pub max_total_s: f64,
    pub distance_kb: u64,
    /// `checkpoints are occurring too frequently`.
    pub too_frequent: u64,
    /// When the first checkpoints (at most 1000) started, in log order.
    pub started_at: Vec<String>,
}

/// Autovacuum and autoanalyze.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct MaintenanceView {
    pub autovacuums: u64,
    pub autoanalyzes: u64,
    pub autovacuums_cancelled: u64,
    pub tables: Vec<TableMaintView>,
    /// When the first runs (at most 1000) ended, in log order.
    pub runs: Vec<MaintRunView>,
}

/// One autovacuum or autoanalyze run.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct MaintRunView {
    pub timestamp: String,
    /// `autovacuum` or `autoanalyze`.
    pub kind: &'static str,
}

/// One table.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct TableMaintView {
    pub table: String,
    pub vacuums: u64,
    pub vacuum_ms: f64,
    pub analyzes: u64,
    pub analyze_ms: f64,
    pub tuples_removed: u64,
    pub pages_removed: u64,
    pub cancelled: u64,
}

/// Connections and sessions.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SessionsView {
    /// `connection received`.
    pub received: u64,
    /// `connection authorized`.
    pub connections: u64,
    pub disconnections: u64,
    pub session_ms: f64,
    pub mean_session_ms: f64,
    /// Most sessions open at a window's end, over the sessions whose disconnection is
    /// logged (a lower bound; null when the log has no disconnection).
    pub peak_concurrent: Option<i64>,
    pub peak_at: Option<String>,
    pub connection_limit: u64,
    pub authentication_failures: u64,
    pub by_database: Vec<SessionGroupView>,
    pub by_user: Vec<SessionGroupView>,
    pub by_application: Vec<SessionGroupView>,
    pub by_host: Vec<SessionGroupView>,
}

/// Sessions of one database, user, application or host.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SessionGroupView {
    pub name: String,
    pub connections: u64,
    pub disconnections: u64,
    pub session_ms: f64,
}

/// DDL and maintenance statements.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DdlView {
    pub count: u64,
    /// The first events (at most 1000), in log order.
    pub events: Vec<DdlEventView>,
}

/// One DDL statement.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct DdlEventView {
    /// When it was logged (its end, when logged with its duration).
    pub timestamp: Option<String>,
    /// When it started: timestamp minus duration.
    pub started: Option<String>,
    pub duration_ms: Option<f64>,
    pub command: String,
    pub fingerprint: String,
    pub query: String,
}

/// A server event.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ServerEventView {
    pub timestamp: Option<String>,
    pub event: String,
}

/// Counts of the signals, for the whole log (`totals`) or one window: flattened into
/// both, so the JSON keys stay where they were.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SignalCounts {
    pub lock_waits: u64,
    pub lock_wait_ms: f64,
    pub deadlocks: u64,
    pub cancellations: u64,
    pub errors: u64,
    pub warnings: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
    pub checkpoints: u64,
    pub autovacuums: u64,
    pub autoanalyzes: u64,
    pub connections: u64,
    pub disconnections: u64,
    pub ddl: u64,
}

impl SignalCounts {
    /// The view of accumulated counts.
    pub fn new(c: &EventCounts) -> Self {
        SignalCounts {
            lock_waits: c.lock_waits,
            lock_wait_ms: ms(c.lock_wait_us),
            deadlocks: c.deadlocks,
            cancellations: c.cancellations,
            errors: c.errors,
            warnings: c.warnings,
            temp_files: c.temp_files,
            temp_bytes: c.temp_bytes,
            checkpoints: c.checkpoints,
            autovacuums: c.autovacuums,
            autoanalyzes: c.autoanalyzes,
            connections: c.connections,
            disconnections: c.disconnections,
            ddl: c.ddl,
        }
    }
}

/// Sessions open at each window's end: the running sum of sessions begun minus
/// sessions ended, over the sessions whose disconnection is logged (its session time
/// tells when it began). `None` everywhere when the log has no disconnection.
pub fn open_sessions(windows: &[(Millis, EventCounts)]) -> Vec<Option<i64>> {
    if windows.iter().all(|w| w.1.disconnections == 0) {
        return vec![None; windows.len()];
    }
    let mut level = 0i64;
    windows
        .iter()
        .map(|w| {
            level += w.1.sessions_delta;
            Some(level)
        })
        .collect()
}

/// Looks up a fingerprint's normalized text.
struct Texts<'q>(&'q QueryMap);

impl Texts<'_> {
    fn get(&self, fp: u64) -> String {
        self.0.get(&fp).map(|q| q.text.clone()).unwrap_or_default()
    }
}

fn ts(t: Option<Millis>) -> Option<String> {
    t.map(rfc3339)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Sorts by `count` descending, then by fingerprint; keeps [`MAX_ROWS`].
fn top<T>(mut v: Vec<(u64, u64, T)>) -> Vec<T> {
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(MAX_ROWS).map(|x| x.2).collect()
}

/// All sections built from the statistics.
#[allow(missing_docs)]
pub struct Sections {
    pub locks: LocksView,
    pub deadlocks: DeadlocksView,
    pub errors: ErrorsView,
    pub temp_files: TempFilesView,
    pub checkpoints: CheckpointsView,
    pub maintenance: MaintenanceView,
    pub sessions: SessionsView,
    pub ddl: DdlView,
    pub server: Vec<ServerEventView>,
}

impl Sections {
    /// Builds every section; `peak` is (most open sessions, window start) when known.
    pub fn build(inc: Incidents, queries: &QueryMap, peak: Option<(i64, Millis)>) -> Sections {
        let texts = Texts(queries);
        Sections {
            locks: locks(&inc, queries, &texts),
            deadlocks: deadlocks(&inc, &texts),
            errors: errors(&inc, queries),
            temp_files: temp_files(&inc, queries),
            checkpoints: checkpoints(&inc),
            maintenance: maintenance(&inc),
            sessions: sessions(&inc, peak),
            ddl: DdlView {
                count: inc.totals.ddl,
                events: inc
                    .ddl
                    .iter()
                    .map(|e| DdlEventView {
                        timestamp: ts(e.ts),
                        started: ts(e.ts.map(|t| t - e.us.map_or(0, |us| (us / 1000) as i64))),
                        duration_ms: e.us.map(ms),
                        command: e.command.to_string(),
                        fingerprint: fingerprint_hex(e.fingerprint),
                        query: texts.get(e.fingerprint),
                    })
                    .collect(),
            },
            server: inc
                .server_events
                .iter()
                .map(|(t, _, ev)| ServerEventView {
                    timestamp: ts(*t),
                    event: ev.as_str().to_string(),
                })
                .collect(),
        }
    }
}

fn locks(inc: &Incidents, queries: &QueryMap, texts: &Texts<'_>) -> LocksView {
    let mut by_relation: Vec<LockRelationView> = inc
        .locks
        .values()
        .map(|l| LockRelationView {
            relation: lossy(&l.relation),
            relation_is_oid: !l.named && !l.relation.is_empty(),
            mode: lossy(&l.mode),
            object: lossy(&l.object),
            waits: l.waits,
            wait_ms: ms(l.wait_us),
            max_ms: ms(l.max_us),
            acquired: l.acquired,
            deadlocks: l.deadlocks,
        })
        .collect();
    by_relation.sort_by(|a, b| {
        (b.waits, b.acquired, b.deadlocks)
            .cmp(&(a.waits, a.acquired, a.deadlocks))
            .then_with(|| (&a.relation, &a.mode, &a.object).cmp(&(&b.relation, &b.mode, &b.object)))
    });
    let by_query = top(queries
        .iter()
        .filter(|(_, q)| q.signals.lock_waits > 0)
        .map(|(fp, q)| {
            let s = &q.signals;
            (
                s.lock_waits,
                *fp,
                QueryLockView {
                    fingerprint: fingerprint_hex(*fp),
                    query: q.text.clone(),
                    waits: s.lock_waits,
                    wait_ms: ms(s.lock_wait_us),
                    max_ms: ms(s.max_lock_wait_us),
                },
            )
        })
        .collect());
    let key = |fp: Option<u64>| fp.map_or(0, |f| f.wrapping_add(1));
    let mut blockers: Vec<(BlockKey, u64)> = inc.blockers.iter().map(|(k, n)| (*k, *n)).collect();
    blockers.sort_by(|a, b| {
        b.1.cmp(&a.1).then((key(a.0 .0), key(a.0 .1), a.0 .2).cmp(&(
            key(b.0 .0),
            key(b.0 .1),
            b.0 .2,
        )))
    });
    LocksView {
        waits: inc.totals.lock_waits,
        wait_ms: ms(inc.totals.lock_wait_us),
        acquired: inc.acquired,
        detected_deadlocks: inc.detected_deadlock_waits,
        avoided_deadlocks: inc.avoided_deadlocks,
        by_relation,
        by_query,
        blockers_unknown: inc
            .blockers
            .iter()
            .filter(|(k, _)| k.1.is_none())
            .map(|(_, n)| n)
            .sum(),
        blockers: blockers
            .into_iter()
            .take(MAX_ROWS)
            .map(|((w, b, how), n)| BlockerView {
                waiting_fingerprint: w.map(fingerprint_hex),
                waiting_query: w.map(|f| texts.get(f)),
                blocking_fingerprint: b.map(fingerprint_hex),
                blocking_query: b.map(|f| texts.get(f)),
                blocking_how: how.as_str(),
                waits: n,
            })
            .collect(),
    }
}

fn deadlocks(inc: &Incidents, texts: &Texts<'_>) -> DeadlocksView {
    let mut groups: Vec<DeadlockGroupView> = inc
        .deadlock_groups
        .values()
        .map(|g| DeadlockGroupView {
            fingerprints: g.fingerprints.iter().map(|f| fingerprint_hex(*f)).collect(),
            queries: g.fingerprints.iter().map(|f| texts.get(*f)).collect(),
            count: g.count,
            first: ts(g.first),
            last: ts(g.last),
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.fingerprints.cmp(&b.fingerprints))
    });
    DeadlocksView {
        count: inc.totals.deadlocks,
        detected_while_waiting: inc.detected_deadlock_waits,
        groups,
        samples: inc
            .deadlock_samples
            .iter()
            .map(|s| DeadlockSampleView {
                timestamp: ts(s.ts),
                processes: s
                    .processes
                    .iter()
                    .map(|(pid, fp, sql)| DeadlockProcessView {
                        pid: *pid,
                        fingerprint: fingerprint_hex(*fp),
                        query: sql.clone(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn errors(inc: &Incidents, queries: &QueryMap) -> ErrorsView {
    let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_state: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_message: Vec<ErrorKindView> = Vec::new();
    let mut kinds: Vec<_> = inc.errors.values().collect();
    kinds.sort_by(|a, b| b.count.cmp(&a.count).then(a.example.0.cmp(&b.example.0)));
    for k in kinds {
        *by_severity
            .entry(k.severity.as_str().to_string())
            .or_default() += k.count;
        if k.severity != crate::parse::Severity::Warning {
            *by_state.entry(&k.sqlstate).or_default() += k.count;
        }
        by_message.push(ErrorKindView {
            severity: k.severity.as_str().to_string(),
            sqlstate: k.sqlstate.clone(),
            sqlstate_from_text: k.sqlstate_guessed,
            message: k.message.clone(),
            count: k.count,
            first: ts(k.first),
            last: ts(k.last),
            example: k.example.1.clone(),
        });
    }
    let mut by_sqlstate: Vec<SqlstateView> = by_state
        .into_iter()
        .map(|(s, n)| SqlstateView {
            sqlstate: s.to_string(),
            count: n,
        })
        .collect();
    by_sqlstate.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.sqlstate.cmp(&b.sqlstate))
    });
    let by_query = top(queries
        .iter()
        .filter(|(_, q)| q.signals.errors > 0)
        .map(|(fp, q)| {
            (
                q.signals.errors,
                *fp,
                QueryErrorView {
                    fingerprint: fingerprint_hex(*fp),
                    query: q.text.clone(),
                    errors: q.signals.errors,
                    cancellations: q.signals.cancellations,
                    deadlocks: q.signals.deadlocks,
                },
            )
        })
        .collect());
    ErrorsView {
        errors: inc.totals.errors,
        by_severity,
        warnings: inc.totals.warnings,
        cancellations: inc
            .cancellations
            .iter()
            .map(|(k, n)| (k.as_str().to_string(), *n))
            .collect(),
        connection_limit: inc.connection_limit,
        authentication_failures: inc.auth_failures,
        by_sqlstate,
        by_message,
        by_query,
    }
}

fn temp_files(inc: &Incidents, queries: &QueryMap) -> TempFilesView {
    TempFilesView {
        count: inc.totals.temp_files,
        bytes: inc.totals.temp_bytes,
        unattributed_count: inc.temp_unattributed.0,
        unattributed_bytes: inc.temp_unattributed.1,
        by_query: top(queries
            .iter()
            .filter(|(_, q)| q.signals.temp_files > 0)
            .map(|(fp, q)| {
                (
                    q.signals.temp_bytes,
                    *fp,
                    QueryTempView {
                        fingerprint: fingerprint_hex(*fp),
                        query: q.text.clone(),
                        count: q.signals.temp_files,
                        bytes: q.signals.temp_bytes,
                    },
                )
            })
            .collect()),
    }
}

fn checkpoints(inc: &Incidents) -> CheckpointsView {
    let c = &inc.checkpoints;
    let s = |us: u64| ms(us) / 1000.0;
    CheckpointsView {
        started: inc.totals.checkpoints,
        by_reason: c
            .starts_by_reason
            .iter()
            .map(|(k, n)| (lossy(k), *n))
            .collect(),
        complete: c.complete,
        buffers: c.buffers,
        write_s: s(c.write_us),
        sync_s: s(c.sync_us),
        total_s: s(c.total_us),
        max_total_s: s(c.max_total_us),
        distance_kb: c.distance_kb,
        too_frequent: c.warnings,
        started_at: inc
            .maint_events
            .iter()
            .filter(|e| e.kind == "checkpoint")
            .filter_map(|e| ts(e.ts))
            .collect(),
    }
}

fn maintenance(inc: &Incidents) -> MaintenanceView {
    let mut tables: Vec<TableMaintView> = inc
        .tables
        .iter()
        .map(|(t, m)| TableMaintView {
            table: lossy(t),
            vacuums: m.vacuums,
            vacuum_ms: ms(m.vacuum_us),
            analyzes: m.analyzes,
            analyze_ms: ms(m.analyze_us),
            tuples_removed: m.tuples_removed,
            pages_removed: m.pages_removed,
            cancelled: m.cancelled,
        })
        .collect();
    tables.sort_by(|a, b| {
        (b.vacuums + b.analyzes + b.cancelled)
            .cmp(&(a.vacuums + a.analyzes + a.cancelled))
            .then_with(|| a.table.cmp(&b.table))
    });
    MaintenanceView {
        autovacuums: inc.totals.autovacuums,
        autoanalyzes: inc.totals.autoanalyzes,
        autovacuums_cancelled: inc.tables.values().map(|t| t.cancelled).sum(),
        tables,
        runs: inc
            .maint_events
            .iter()
            .filter(|e| e.kind != "checkpoint")
            .filter_map(|e| {
                Some(MaintRunView {
                    timestamp: ts(e.ts)?,
                    kind: e.kind,
                })
            })
            .collect(),
    }
}

fn session_groups(map: &FxHashMap<Box<[u8]>, SessionGroup>) -> Vec<SessionGroupView> {
    let mut v: Vec<SessionGroupView> = map
        .iter()
        .map(|(k, g)| SessionGroupView {
            name: lossy(k),
            connections: g.connections,
            disconnections: g.disconnections,
            session_ms: ms(g.session_us),
        })
        .collect();
    v.sort_by(|a, b| {
        (b.connections, b.disconnections)
            .cmp(&(a.connections, a.disconnections))
            .then_with(|| a.name.cmp(&b.name))
    });
    v
}

fn sessions(inc: &Incidents, peak: Option<(i64, Millis)>) -> SessionsView {
    let t = &inc.totals;
    SessionsView {
        received: inc.connections_received,
        connections: t.connections,
        disconnections: t.disconnections,
        session_ms: ms(inc.session_us),
        mean_session_ms: if t.disconnections == 0 {
            0.0
        } else {
            (inc.session_us as f64 / t.disconnections as f64).round() / 1000.0
        },
        peak_concurrent: peak.map(|p| p.0),
        peak_at: peak.map(|p| rfc3339(p.1)),
        connection_limit: inc.connection_limit,
        authentication_failures: inc.auth_failures,
        by_database: session_groups(&inc.by_database),
        by_user: session_groups(&inc.by_user),
        by_application: session_groups(&inc.by_application),
        by_host: session_groups(&inc.by_host),
    }
}
