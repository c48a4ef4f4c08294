//! The incident's signals aggregated: lock waits and their blockers, deadlocks,
//! cancellations, errors, temp files, checkpoints, autovacuum, sessions, server events
//! and DDL. Everything in [`Incidents`] merges in any order; what needs the previous
//! part of the same file (who held a lock, how long a wait had lasted) goes through
//! [`PidTrack`], settled in order by `Partial::append` like statement pairing.

use super::query::{max_opt, min_opt, Order};
use crate::events::signal::{CancelKind, CheckpointDone, Maintenance, ServerEvent};
use crate::parse::{Millis, Severity};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Server events and DDL events kept (the earliest in input order).
pub const MAX_EVENTS: usize = 1000;
/// Deadlocks kept with their processes' queries.
pub const MAX_DEADLOCK_SAMPLES: usize = 10;

/// Counts of the signals, for the totals and each time window.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct EventCounts {
    /// `still waiting for` lock messages.
    pub lock_waits: u64,
    /// Time those waits lasted as far as the log tells (`acquired` after N ms when
    /// logged, else the `still waiting` time), µs.
    pub lock_wait_us: u64,
    /// `ERROR: deadlock detected`.
    pub deadlocks: u64,
    pub cancellations: u64,
    /// ERROR, FATAL and PANIC entries (cancellations and deadlocks included).
    pub errors: u64,
    pub warnings: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
    /// `checkpoint starting` (and `restartpoint starting`).
    pub checkpoints: u64,
    pub autovacuums: u64,
    pub autoanalyzes: u64,
    /// `connection authorized`.
    pub connections: u64,
    pub disconnections: u64,
    /// DDL and maintenance statements.
    pub ddl: u64,
    /// Sessions that began in the window minus sessions that ended in it, counting
    /// the sessions whose disconnection is logged (its session time tells the start).
    pub sessions_delta: i64,
}

impl EventCounts {
    /// Adds `o`.
    pub fn merge(&mut self, o: &EventCounts) {
        self.lock_waits += o.lock_waits;
        self.lock_wait_us = self.lock_wait_us.saturating_add(o.lock_wait_us);
        self.deadlocks += o.deadlocks;
        self.cancellations += o.cancellations;
        self.errors += o.errors;
        self.warnings += o.warnings;
        self.temp_files += o.temp_files;
        self.temp_bytes = self.temp_bytes.saturating_add(o.temp_bytes);
        self.checkpoints += o.checkpoints;
        self.autovacuums += o.autovacuums;
        self.autoanalyzes += o.autoanalyzes;
        self.connections += o.connections;
        self.disconnections += o.disconnections;
        self.ddl += o.ddl;
        self.sessions_delta += o.sessions_delta;
    }
}

/// Per-fingerprint counters of the signals (kept in `QueryStats`).
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct QuerySignals {
    pub lock_waits: u64,
    pub lock_wait_us: u64,
    pub max_lock_wait_us: u64,
    pub deadlocks: u64,
    pub cancellations: u64,
    pub errors: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
}

impl QuerySignals {
    /// Adds `o`.
    pub fn merge(&mut self, o: &QuerySignals) {
        self.lock_waits += o.lock_waits;
        self.lock_wait_us = self.lock_wait_us.saturating_add(o.lock_wait_us);
        self.max_lock_wait_us = self.max_lock_wait_us.max(o.max_lock_wait_us);
        self.deadlocks += o.deadlocks;
        self.cancellations += o.cancellations;
        self.errors += o.errors;
        self.temp_files += o.temp_files;
        self.temp_bytes = self.temp_bytes.saturating_add(o.temp_bytes);
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        *self == QuerySignals::default()
    }
}

/// The hash of a relation (its name from CONTEXT, else its OID), lock mode and
/// object kind: the key of [`LockAgg`].
pub type LockKey = u64;

/// Waits on one relation in one mode.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LockAgg {
    /// The relation's name (from CONTEXT), else its OID, else empty.
    pub relation: Box<[u8]>,
    /// True when the relation is known by name, false for an OID or nothing.
    pub named: bool,
    pub mode: Box<[u8]>,
    /// What is locked: `transaction`, `relation`, `tuple`...
    pub object: Box<[u8]>,
    pub waits: u64,
    pub wait_us: u64,
    pub max_us: u64,
    pub acquired: u64,
    pub deadlocks: u64,
    /// The waiting statements' fingerprints and their `still waiting` counts (which
    /// statements wait on this lock, and the tables they touch name an OID).
    pub waiters: BTreeMap<u64, u64>,
}

/// How the statement of a lock's holder was found.
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum Attribution {
    /// The log has no statement of the holder's session to tell.
    Unknown,
    /// A statement of the holder logged with its duration overlapped the wait: the
    /// next one after the wait had started before the wait was logged, or the last
    /// one before the wait ended after the wait began.
    Running,
    /// The holder's last statement logged before the wait (it may have finished, with
    /// the lock still held by its open transaction).
    LastLogged,
}

impl Attribution {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::Unknown => "unknown",
            Attribution::Running => "running",
            Attribution::LastLogged => "last_logged",
        }
    }
}

/// Who waited (fingerprint of the waiting statement) on whom (fingerprint of the
/// holder's statement; `None` when the log does not have it), and how that was found.
pub type BlockKey = (Option<u64>, Option<u64>, Attribution);

/// One kind of error: severity, SQLSTATE and normalized message.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct ErrorKind {
    pub severity: Severity,
    /// From the log (`%e`, csv/json, verbose), else from the message text, else empty.
    pub sqlstate: String,
    /// True when the SQLSTATE was read from the message text.
    pub sqlstate_guessed: bool,
    pub message: String,
    pub count: u64,
    pub first: Option<Millis>,
    pub last: Option<Millis>,
    /// The first message of this kind as logged, and where.
    pub example: (Order, String),
}

/// The processes of one deadlock.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct DeadlockSample {
    pub ts: Option<Millis>,
    pub order: Order,
    /// (pid, fingerprint, SQL) in DETAIL order.
    pub processes: Vec<(u32, u64, String)>,
}

/// Deadlocks between the same set of fingerprints.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
#[allow(missing_docs)]
pub struct DeadlockGroup {
    pub fingerprints: Vec<u64>,
    pub count: u64,
    pub first: Option<Millis>,
    pub last: Option<Millis>,
}

/// Checkpoint figures.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
#[allow(missing_docs)]
pub struct Checkpoints {
    pub starts_by_reason: BTreeMap<Box<[u8]>, u64>,
    pub complete: u64,
    pub buffers: u64,
    pub write_us: u64,
    pub sync_us: u64,
    pub total_us: u64,
    pub max_total_us: u64,
    pub distance_kb: u64,
    /// `checkpoints are occurring too frequently`.
    pub warnings: u64,
}

/// Autovacuum and autoanalyze of one table.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct TableMaint {
    pub vacuums: u64,
    pub vacuum_us: u64,
    pub analyzes: u64,
    pub analyze_us: u64,
    pub tuples_removed: u64,
    pub pages_removed: u64,
    /// `canceling autovacuum task` on this table.
    pub cancelled: u64,
}

/// Sessions of one database, user, application or host.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct SessionGroup {
    pub connections: u64,
    pub disconnections: u64,
    pub session_us: u64,
}

/// A DDL or maintenance statement.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy)]
#[allow(missing_docs)]
pub struct DdlEvent {
    pub ts: Option<Millis>,
    pub order: Order,
    /// Its duration when logged with it.
    pub us: Option<u64>,
    pub fingerprint: u64,
    #[serde(with = "super::interned")]
    pub command: super::interned::Name,
}

/// When a checkpoint started or an autovacuum/autoanalyze run ended (the earliest
/// [`MAX_EVENTS`] in input order), for the timeline's markers.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct MaintEvent {
    pub ts: Option<Millis>,
    pub order: Order,
    /// `checkpoint`, `autovacuum` or `autoanalyze`.
    #[serde(with = "super::interned")]
    pub kind: super::interned::Name,
    /// The table vacuumed or analyzed: [`table_key`] of its name (the name is a key of
    /// [`Incidents::tables`]; a hash, so an event allocates nothing).
    pub table: Option<u64>,
}

/// The key of a table name in [`MaintEvent::table`].
pub fn table_key(name: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(name);
    h.finish()
}

/// A `parameter "NAME" changed to "VALUE"` line (a reload that changed a setting).
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone)]
#[allow(missing_docs)]
pub struct ConfigChange {
    pub ts: Option<Millis>,
    pub order: Order,
    pub name: Box<str>,
    /// Empty when the parameter was removed from the file (reset to its default).
    pub value: Box<str>,
}

/// Everything about the signals that merges in any order.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default)]
#[allow(missing_docs)]
pub struct Incidents {
    pub totals: EventCounts,
    pub acquired: u64,
    pub detected_deadlock_waits: u64,
    pub avoided_deadlocks: u64,
    pub locks: FxHashMap<LockKey, LockAgg>,
    pub blockers: FxHashMap<BlockKey, u64>,
    pub deadlock_groups: FxHashMap<u64, DeadlockGroup>,
    pub deadlock_samples: Vec<DeadlockSample>,
    pub cancellations: BTreeMap<CancelKind, u64>,
    pub errors: FxHashMap<(Severity, u64), ErrorKind>,
    pub connection_limit: u64,
    pub auth_failures: u64,
    pub temp_unattributed: (u64, u64),
    pub checkpoints: Checkpoints,
    pub tables: FxHashMap<Box<[u8]>, TableMaint>,
    pub connections_received: u64,
    pub by_database: FxHashMap<Box<[u8]>, SessionGroup>,
    pub by_user: FxHashMap<Box<[u8]>, SessionGroup>,
    pub by_application: FxHashMap<Box<[u8]>, SessionGroup>,
    pub by_host: FxHashMap<Box<[u8]>, SessionGroup>,
    pub session_us: u64,
    pub server_events: Vec<(Option<Millis>, Order, ServerEvent)>,
    pub ddl: Vec<DdlEvent>,
    pub maint_events: Vec<MaintEvent>,
    /// Settings changed by reloads (the earliest [`MAX_EVENTS`] in input order).
    pub config_changes: Vec<ConfigChange>,
}

impl Incidents {
    /// See [`super::Stats::set_file`].
    pub fn set_file(&mut self, file: u32) {
        self.errors.values_mut().for_each(|e| e.example.0 .0 = file);
        self.deadlock_samples
            .iter_mut()
            .for_each(|s| s.order.0 = file);
        self.server_events.iter_mut().for_each(|e| e.1 .0 = file);
        self.ddl.iter_mut().for_each(|e| e.order.0 = file);
        self.maint_events.iter_mut().for_each(|e| e.order.0 = file);
        self.config_changes
            .iter_mut()
            .for_each(|e| e.order.0 = file);
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: Incidents) {
        self.totals.merge(&o.totals);
        self.acquired += o.acquired;
        self.detected_deadlock_waits += o.detected_deadlock_waits;
        self.avoided_deadlocks += o.avoided_deadlocks;
        for (k, v) in o.locks {
            match self.locks.get_mut(&k) {
                Some(e) => {
                    e.waits += v.waits;
                    e.wait_us = e.wait_us.saturating_add(v.wait_us);
                    e.max_us = e.max_us.max(v.max_us);
                    e.acquired += v.acquired;
                    e.deadlocks += v.deadlocks;
                    for (fp, n) in v.waiters {
                        *e.waiters.entry(fp).or_default() += n;
                    }
                }
                None => {
                    self.locks.insert(k, v);
                }
            }
        }
        for (k, v) in o.blockers {
            *self.blockers.entry(k).or_default() += v;
        }
        for (k, g) in o.deadlock_groups {
            let e = self.deadlock_groups.entry(k).or_default();
            if e.fingerprints.is_empty() {
                e.fingerprints = g.fingerprints;
            }
            e.count += g.count;
            e.first = min_opt(e.first, g.first);
            e.last = max_opt(e.last, g.last);
        }
        self.deadlock_samples.extend(o.deadlock_samples);
        self.deadlock_samples.sort_by_key(|s| s.order);
        self.deadlock_samples.truncate(MAX_DEADLOCK_SAMPLES);
        for (k, v) in o.cancellations {
            *self.cancellations.entry(k).or_default() += v;
        }
        for (k, v) in o.errors {
            match self.errors.get_mut(&k) {
                Some(e) => {
                    e.count += v.count;
                    e.first = min_opt(e.first, v.first);
                    e.last = max_opt(e.last, v.last);
                    if v.example.0 < e.example.0 {
                        e.example = v.example;
                    }
                }
                None => {
                    self.errors.insert(k, v);
                }
            }
        }
        self.connection_limit += o.connection_limit;
        self.auth_failures += o.auth_failures;
        self.temp_unattributed.0 += o.temp_unattributed.0;
        self.temp_unattributed.1 += o.temp_unattributed.1;
        let (c, oc) = (&mut self.checkpoints, o.checkpoints);
        for (k, v) in oc.starts_by_reason {
            *c.starts_by_reason.entry(k).or_default() += v;
        }
        c.complete += oc.complete;
        c.buffers += oc.buffers;
        c.write_us = c.write_us.saturating_add(oc.write_us);
        c.sync_us = c.sync_us.saturating_add(oc.sync_us);
        c.total_us = c.total_us.saturating_add(oc.total_us);
        c.max_total_us = c.max_total_us.max(oc.max_total_us);
        c.distance_kb += oc.distance_kb;
        c.warnings += oc.warnings;
        for (k, v) in o.tables {
            let e = self.tables.entry(k).or_default();
            e.vacuums += v.vacuums;
            e.vacuum_us = e.vacuum_us.saturating_add(v.vacuum_us);
            e.analyzes += v.analyzes;
            e.analyze_us = e.analyze_us.saturating_add(v.analyze_us);
            e.tuples_removed += v.tuples_removed;
            e.pages_removed += v.pages_removed;
            e.cancelled += v.cancelled;
        }
        self.connections_received += o.connections_received;
        for (mine, theirs) in [
            (&mut self.by_database, o.by_database),
            (&mut self.by_user, o.by_user),
            (&mut self.by_application, o.by_application),
            (&mut self.by_host, o.by_host),
        ] {
            for (k, v) in theirs {
                let e = mine.entry(k).or_default();
                e.connections += v.connections;
                e.disconnections += v.disconnections;
                e.session_us = e.session_us.saturating_add(v.session_us);
            }
        }
        self.session_us = self.session_us.saturating_add(o.session_us);
        self.server_events.extend(o.server_events);
        self.server_events.sort_by_key(|e| e.1);
        self.server_events.truncate(MAX_EVENTS);
        self.ddl.extend(o.ddl);
        self.ddl.sort_by_key(|e| e.order);
        self.ddl.truncate(MAX_EVENTS);
        self.maint_events.extend(o.maint_events);
        self.maint_events.sort_by_key(|e| e.order);
        self.maint_events.truncate(MAX_EVENTS);
        self.config_changes.extend(o.config_changes);
        self.config_changes.sort_by_key(|e| e.order);
        self.config_changes.truncate(MAX_EVENTS);
    }

    /// Records a checkpoint start (counted in the totals by the caller).
    pub fn checkpoint_start(&mut self, reason: &[u8]) {
        let c = &mut self.checkpoints;
        match c.starts_by_reason.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                c.starts_by_reason.insert(reason.into(), 1);
            }
        }
    }

    /// Records a checkpoint's completion.
    pub fn checkpoint_done(&mut self, d: &CheckpointDone) {
        let c = &mut self.checkpoints;
        c.complete += 1;
        c.buffers += d.buffers;
        c.write_us = c.write_us.saturating_add(d.write_us);
        c.sync_us = c.sync_us.saturating_add(d.sync_us);
        c.total_us = c.total_us.saturating_add(d.total_us);
        c.max_total_us = c.max_total_us.max(d.total_us);
        c.distance_kb += d.distance_kb;
    }

    /// Records an autovacuum or autoanalyze run.
    pub fn maintenance(&mut self, m: &Maintenance<'_>) {
        let t = entry_mut(&mut self.tables, m.table);
        if m.analyze {
            t.analyzes += 1;
            t.analyze_us = t.analyze_us.saturating_add(m.elapsed_us);
            self.totals.autoanalyzes += 1;
        } else {
            t.vacuums += 1;
            t.vacuum_us = t.vacuum_us.saturating_add(m.elapsed_us);
            t.tuples_removed += m.tuples_removed;
            t.pages_removed += m.pages_removed;
            self.totals.autovacuums += 1;
        }
    }

    /// Records a connection authorized for `keys` = (database, user, application, host).
    pub fn connection(&mut self, keys: [&[u8]; 4]) {
        self.totals.connections += 1;
        for (map, k) in self.session_maps().into_iter().zip(keys) {
            entry_mut(map, k).connections += 1;
        }
    }

    /// Records a disconnection after `us` of session.
    pub fn disconnection(&mut self, keys: [&[u8]; 4], us: u64) {
        self.totals.disconnections += 1;
        self.session_us = self.session_us.saturating_add(us);
        for (map, k) in self.session_maps().into_iter().zip(keys) {
            let g = entry_mut(map, k);
            g.disconnections += 1;
            g.session_us = g.session_us.saturating_add(us);
        }
    }

    fn session_maps(&mut self) -> [&mut FxHashMap<Box<[u8]>, SessionGroup>; 4] {
        [
            &mut self.by_database,
            &mut self.by_user,
            &mut self.by_application,
            &mut self.by_host,
        ]
    }

    /// Keeps a server event if it is among the earliest.
    pub fn server_event(&mut self, ts: Option<Millis>, order: Order, ev: ServerEvent) {
        if self.server_events.len() < MAX_EVENTS {
            self.server_events.push((ts, order, ev));
        }
    }

    /// Keeps a checkpoint start or autovacuum run if it is among the earliest.
    pub fn maint_event(&mut self, ev: MaintEvent) {
        if self.maint_events.len() < MAX_EVENTS {
            self.maint_events.push(ev);
        }
    }

    /// Keeps a DDL statement if it is among the earliest.
    pub fn ddl(&mut self, ev: DdlEvent) {
        if self.ddl.len() < MAX_EVENTS {
            self.ddl.push(ev);
        }
    }
}

/// The value of `key` in `map`, created (allocating the key) only when new.
pub fn entry_mut<'m, V: Default>(map: &'m mut FxHashMap<Box<[u8]>, V>, key: &[u8]) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.into(), V::default());
    }
    map.get_mut(key).expect("just inserted")
}

/// What one process did last, as far as one part of a file tells: `None` = nothing
/// in this part; `Some(None)` = its session (re)started or ended, so whatever came
/// before no longer applies.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct PidTail {
    /// The last statement logged by the process.
    pub stmt: Option<Option<LastStmt>>,
    /// The time of its open `still waiting` lock wait, µs.
    pub wait_us: Option<Option<u64>>,
}

/// A signal at the start of a part of a file that needs the previous part.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Head {
    /// A wait on a lock held by `holder`, which was not running a logged statement
    /// then, and whose last statement is not in this part.
    Blocked {
        /// The holding pid.
        holder: u32,
        /// When the wait began.
        since: Option<Millis>,
        /// The waiting statement's fingerprint.
        waiter: Option<u64>,
    },
    /// The end of a wait whose `still waiting` line is not in this part.
    Acquired {
        /// The waiting pid.
        pid: u32,
        /// Total wait, µs.
        us: u64,
        /// The waiting statement's fingerprint.
        fp: Option<u64>,
        /// Relation, mode and object (the entry exists in the part's statistics).
        key: LockKey,
        /// When.
        ts: Option<Millis>,
    },
}

/// What is known of a holder before a wait: `None` = nothing yet in this part (the
/// previous part may tell); `Some(None)` = nothing (session start); `Some(Some(fp))`
/// = its last logged statement.
pub type Before = Option<Option<LastStmt>>;

/// A process's last logged statement: its fingerprint, and when it ended if it was
/// logged with its duration (an end is only known then).
pub type LastStmt = (u64, Option<Millis>);

/// A lock wait whose holder has logged no statement after it yet in this part.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct PendingWait {
    /// The holding pid.
    pub holder: u32,
    /// The waiting statement's fingerprint.
    pub waiter: Option<u64>,
    /// When the wait was logged.
    pub ts: Option<Millis>,
    /// When the wait began (logged time minus the time waited).
    pub since: Option<Millis>,
    /// The holder's last statement before the wait.
    pub before: Before,
}

/// A process's first statement event in a part: `Some((start, fingerprint))` for a
/// statement logged with its duration (start = end - duration), `None` for any other
/// (a statement without duration, a failing statement, a session start or end).
pub type FirstStmt = Option<(Millis, u64)>;

/// Per-process state that crosses chunk boundaries (see the module doc).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PidTrack {
    /// Signals at the start of the part waiting for the previous part.
    pub head: Vec<Head>,
    /// Lock waits at the end of the part waiting for the next part.
    pub pending: Vec<PendingWait>,
    /// Each process's first statement event in the part.
    pub first: BTreeMap<u32, FirstStmt>,
    /// Each process's state at the end of the part.
    pub tail: BTreeMap<u32, PidTail>,
}
