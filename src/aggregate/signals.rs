//! Feeding the incident's signals of one chunk into [`Stats`], and settling the
//! per-process state between consecutive chunks of a file.
//!
//! Who blocked whom is in [`super::blockers`]; this module keeps the per-process state
//! it needs (each process's last statement and open lock wait).

use super::incident::{
    Attribution, DdlEvent, DeadlockSample, EventCounts, Head, LockAgg, MaintEvent, PendingWait,
    PidTail, PidTrack,
};
use super::query::{Order, QueryStats};
use super::{ChunkAgg, Stats};
use crate::events::message::{self, HashSink, MessageSink};
use crate::events::signal::{self, CancelKind, LockWait, Signal, WaitPhase};
use crate::events::{ddl_command, message::sqlstate_from_text};
use crate::normalize::Normalizer;
use crate::parse::{unfold, LogEntry, Millis, Severity};
use memchr::memmem;

/// What one process did last in this chunk (see [`PidTail`] for the meaning of the
/// nested options).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PidLocal {
    /// The last statement (its text is in the statistics).
    pub(super) stmt: Option<Option<super::incident::LastStmt>>,
    /// The chunk has seen a statement of this process end (or its session change).
    pub(super) ended: bool,
    wait_us: Option<Option<u64>>,
}

/// The normalized text of `sql`.
pub(super) fn normalized(norm: &mut Normalizer, sql: &[u8]) -> String {
    norm.normalized_text(sql)
}

impl Stats {
    /// Counts an event in the totals and in its window.
    fn bump(&mut self, ts: Option<Millis>, f: impl Fn(&mut EventCounts)) {
        f(&mut self.incidents.totals);
        if let Some(t) = ts {
            self.windows.event(t, f);
        }
    }

    /// The statistics of fingerprint `fp` (whose SQL is `sql`), created when new.
    pub(super) fn query_mut(
        &mut self,
        norm: &mut Normalizer,
        fp: u64,
        sql: &[u8],
    ) -> &mut QueryStats {
        self.queries.row(fp, || normalized(norm, sql))
    }

    /// Adds `delta` µs of lock wait ending at `ts` (an `acquired` line).
    fn add_wait_time(&mut self, fp: Option<u64>, key: u64, delta: u64, ts: Option<Millis>) {
        self.bump(ts, |c| {
            c.lock_wait_us = c.lock_wait_us.saturating_add(delta)
        });
        if let Some(l) = self.incidents.locks.get_mut(&key) {
            l.wait_us = l.wait_us.saturating_add(delta);
        }
        if let Some(q) = fp.and_then(|fp| self.queries.get_mut(&fp)) {
            q.signals.lock_wait_us = q.signals.lock_wait_us.saturating_add(delta);
        }
    }

    /// Settles the signals at the start of the next part (`next`) against the state at
    /// the end of this part (`mine`); what stays unknown goes to `mine.head`.
    pub(super) fn settle(&mut self, mine: &mut PidTrack, mut next: PidTrack) {
        self.settle_pending(mine, &mut next);
        for h in next.head {
            match h {
                Head::Blocked {
                    holder,
                    since,
                    waiter,
                } => {
                    let before = Stats::before_from(mine, holder);
                    self.fallback(
                        PendingWait {
                            holder,
                            waiter,
                            ts: None,
                            since,
                            before,
                        },
                        &mut mine.head,
                    );
                }
                Head::Acquired {
                    pid,
                    us,
                    fp,
                    key,
                    ts,
                } => match mine.tail.get(&pid).and_then(|t| t.wait_us) {
                    Some(Some(before)) => {
                        self.add_wait_time(fp, key, us.saturating_sub(before), ts)
                    }
                    Some(None) => self.add_wait_time(fp, key, us, ts),
                    None => mine.head.push(Head::Acquired {
                        pid,
                        us,
                        fp,
                        key,
                        ts,
                    }),
                },
            }
        }
        for (pid, t) in next.tail {
            let e = mine.tail.entry(pid).or_default();
            if t.stmt.is_some() {
                e.stmt = t.stmt;
            }
            if t.wait_us.is_some() {
                e.wait_us = t.wait_us;
            }
        }
    }

    /// Settles what is still open at the end of a file: blockers never seen are
    /// unknown, waits whose start was never logged count whole.
    pub(super) fn settle_end(&mut self, mut track: PidTrack) {
        for p in std::mem::take(&mut track.pending) {
            self.fallback(p, &mut track.head);
        }
        for h in track.head {
            match h {
                Head::Blocked { waiter, .. } => {
                    self.count_blocker(waiter, None, Attribution::Unknown)
                }
                Head::Acquired {
                    us, fp, key, ts, ..
                } => self.add_wait_time(fp, key, us, ts),
            }
        }
    }
}

impl<'a> ChunkAgg<'a> {
    /// The per-process state at the end of the chunk, owned.
    pub(super) fn pid_tail(&mut self) -> std::collections::BTreeMap<u32, PidTail> {
        self.pids
            .drain()
            .map(|(pid, l)| {
                let stmt = l.stmt;
                (
                    pid,
                    PidTail {
                        stmt,
                        wait_us: l.wait_us,
                    },
                )
            })
            .collect()
    }

    /// Records a DDL or maintenance statement logged as a statement.
    pub(super) fn statement_seen(
        &mut self,
        e: &LogEntry<'a, '_>,
        sql: &'a [u8],
        fp: u64,
        us: Option<u64>,
    ) {
        let pid = e.fields.pid.unwrap_or(0);
        let first = match (us, e.fields.ts) {
            (Some(us), Some(t)) => Some((t - (us / 1000) as i64, fp)),
            _ => None,
        };
        let end = us.and(e.fields.ts);
        self.stmt_event(pid, first).stmt = Some(Some((fp, end)));
        if us.is_none() {
            // A statement still waiting for its duration: its text must be there for
            // blockers and DDL even if the duration never comes.
            self.stats.query_mut(&mut self.norm, fp, sql);
        }
        if let Some(command) = ddl_command(sql) {
            self.stats.bump(e.fields.ts, |c| c.ddl += 1);
            self.stats.incidents.ddl(DdlEvent {
                ts: e.fields.ts,
                order: (self.file, e.offset),
                us,
                fingerprint: fp,
                command,
            });
        }
    }

    /// The export's row of an event: its kind from the signal, else the severity;
    /// entries that are neither (checkpoints, connections...) have none.
    fn event_row(&mut self, e: &LogEntry<'a, '_>, sig: &Signal<'_>, fp: Option<u64>) {
        use crate::aggregate::rows::{text, Row};
        let (mut duration_us, mut temp_bytes) = (None, None);
        let mut lock: [&[u8]; 3] = [b"", b"", b""];
        let kind = match sig {
            Signal::LockWait(w) => {
                duration_us = Some(w.us);
                lock = [w.mode, w.object, w.relation_oid.unwrap_or(b"")];
                match w.phase {
                    WaitPhase::Waiting => "lock_wait",
                    WaitPhase::Acquired => "lock_acquired",
                    WaitPhase::Deadlock => "lock_deadlock",
                    WaitPhase::Avoided => "lock_avoided",
                }
            }
            Signal::Deadlock { .. } => "deadlock",
            Signal::Cancel(_) => "cancel",
            Signal::TempFile { bytes } => {
                temp_bytes = Some(*bytes);
                "temp_file"
            }
            Signal::ConnectionLimit => "connection_refused",
            Signal::AuthFailure => "auth_failure",
            _ => match e.severity {
                Severity::Error => "error",
                Severity::Fatal => "fatal",
                Severity::Panic => "panic",
                Severity::Warning => "warning",
                _ => return,
            },
        };
        let f = &e.fields;
        let row = Row {
            ts: f.ts,
            kind,
            duration_us,
            fingerprint: fp,
            query_id: f.query_id,
            database: text(f.db),
            user: text(f.user),
            application: text(f.app),
            host: text(f.host),
            session: text(f.session),
            pid: f.pid,
            // The log's SQLSTATE, else the one the message text implies (as the
            // report's error tables do); none for an event that is not an error.
            sqlstate: match (f.sqlstate, e.severity) {
                (b"", Severity::Error | Severity::Fatal | Severity::Panic) => {
                    sqlstate_from_text(e.message).unwrap_or("").into()
                }
                (s, _) => text(s),
            },
            lock_mode: text(lock[0]),
            lock_object: text(lock[1]),
            lock_relation: text(lock[2]),
            temp_bytes,
            order: (self.file, e.offset),
        };
        if let Some(rows) = &mut self.stats.rows {
            rows.push(row);
        }
    }

    /// Records every signal of `e`.
    pub(super) fn signals(&mut self, e: &LogEntry<'a, '_>) {
        let sig = signal::classify_signal(e);
        let is_error = matches!(
            e.severity,
            Severity::Error | Severity::Fatal | Severity::Panic
        );
        let is_warning = e.severity == Severity::Warning;
        if matches!(sig, Signal::None) && !is_error && !is_warning {
            return;
        }
        let ts = e.fields.ts;
        let pid = e.fields.pid.unwrap_or(0);
        let stmt = e.aux_text(Severity::Statement, b"");
        let fp = match stmt {
            Some(sql) => {
                let fp = self.norm.fingerprint(sql);
                self.stats.query_mut(&mut self.norm, fp, sql);
                Some(fp)
            }
            None => None,
        };
        if is_error || is_warning {
            self.error(e, fp);
        }
        if self.stats.rows.is_some() {
            self.event_row(e, &sig, fp);
        }
        match sig {
            Signal::LockWait(w) => self.lock_wait(e, &w, fp),
            Signal::Deadlock { detail } => self.deadlock(e, detail, fp),
            Signal::Cancel(kind) => self.cancel(e, kind, fp),
            Signal::TempFile { bytes } => self.temp_file(ts, bytes, fp),
            Signal::CheckpointStart { reason } => {
                self.stats.incidents.checkpoint_start(reason);
                self.maint_event(e, "checkpoint", None);
                self.stats.bump(ts, |c| c.checkpoints += 1);
            }
            Signal::CheckpointDone(d) => self.stats.incidents.checkpoint_done(&d),
            Signal::CheckpointWarning => self.stats.incidents.checkpoints.warnings += 1,
            Signal::Maintenance(m) => {
                self.stats.incidents.maintenance(&m);
                let kind = if m.analyze {
                    "autoanalyze"
                } else {
                    "autovacuum"
                };
                self.maint_event(e, kind, Some(m.table));
                if let Some(t) = ts {
                    self.stats.windows.event(t, |c| match m.analyze {
                        true => c.autoanalyzes += 1,
                        false => c.autovacuums += 1,
                    });
                }
            }
            Signal::ConnectionReceived => {
                self.stats.incidents.connections_received += 1;
                self.session_reset(pid);
            }
            Signal::ConnectionAuthorized { user, db, app } => {
                let keys = [
                    or(db, e.fields.db),
                    or(user, e.fields.user),
                    or(app, e.fields.app),
                    e.fields.host,
                ];
                self.stats.incidents.connection(keys);
                if let Some(t) = ts {
                    self.stats.windows.event(t, |c| c.connections += 1);
                }
                self.session_reset(pid);
            }
            Signal::Disconnection { .. } => return self.disconnection(e, &sig),
            Signal::ConnectionLimit => self.stats.incidents.connection_limit += 1,
            Signal::AuthFailure => self.stats.incidents.auth_failures += 1,
            Signal::Server(ev) => {
                let order = (self.file, e.offset);
                self.stats.incidents.server_event(ts, order, ev)
            }
            Signal::ParameterChanged { name, value } => {
                let inc = &mut self.stats.incidents;
                if inc.config_changes.len() < super::incident::MAX_EVENTS {
                    inc.config_changes.push(super::incident::ConfigChange {
                        ts,
                        order: (self.file, e.offset),
                        name: String::from_utf8_lossy(name).into(),
                        value: String::from_utf8_lossy(value).into(),
                    });
                }
            }
            Signal::None => {}
        }
        if let Some(fp) = fp {
            // An error ends the statement; a LOG entry (a temp file, a lock wait)
            // reports on a statement still running, whose end comes later.
            if is_error {
                self.stmt_event(pid, None);
            }
            self.pids.entry(pid).or_default().stmt = Some(Some((fp, None)));
        }
    }

    fn cancel(&mut self, e: &LogEntry<'a, '_>, kind: CancelKind, fp: Option<u64>) {
        self.stats.bump(e.fields.ts, |c| c.cancellations += 1);
        *self.stats.incidents.cancellations.entry(kind).or_default() += 1;
        if kind == CancelKind::RecoveryConflict {
            let order = (self.file, e.offset);
            let ev = crate::events::signal::ServerEvent::ReplicationConflict;
            self.stats.incidents.server_event(e.fields.ts, order, ev);
        }
        if let Some(q) = fp.and_then(|fp| self.stats.queries.get_mut(&fp)) {
            q.signals.cancellations += 1;
        }
        if kind == CancelKind::Autovacuum {
            if let Some(t) = autovacuum_context(e) {
                super::incident::entry_mut(&mut self.stats.incidents.tables, t).cancelled += 1;
            }
        }
    }

    fn maint_event(&mut self, e: &LogEntry<'a, '_>, kind: &'static str, table: Option<&[u8]>) {
        if self.stats.incidents.maint_events.len() >= super::incident::MAX_EVENTS {
            return;
        }
        self.stats.incidents.maint_event(MaintEvent {
            ts: e.fields.ts,
            order: (self.file, e.offset),
            kind,
            table: table.map(super::incident::table_key),
        });
    }

    fn temp_file(&mut self, ts: Option<Millis>, bytes: u64, fp: Option<u64>) {
        self.stats.bump(ts, |c| {
            c.temp_files += 1;
            c.temp_bytes = c.temp_bytes.saturating_add(bytes);
        });
        match fp.and_then(|fp| self.stats.queries.get_mut(&fp)) {
            Some(q) => {
                q.signals.temp_files += 1;
                q.signals.temp_bytes = q.signals.temp_bytes.saturating_add(bytes);
            }
            None => {
                self.stats.incidents.temp_unattributed.0 += 1;
                self.stats.incidents.temp_unattributed.1 += bytes;
            }
        }
    }

    fn disconnection(&mut self, e: &LogEntry<'a, '_>, sig: &Signal<'a>) {
        let Signal::Disconnection {
            session_us,
            user,
            db,
            host,
        } = *sig
        else {
            return;
        };
        let keys = [
            or(db, e.fields.db),
            or(user, e.fields.user),
            e.fields.app,
            or(host, e.fields.host),
        ];
        self.stats.incidents.disconnection(keys, session_us);
        if let Some(t) = e.fields.ts {
            // The session was open from (end - session time) to end: exact for every
            // session whose disconnection is logged.
            let start = t - (session_us / 1000) as i64;
            self.stats.windows.event(start, |c| c.sessions_delta += 1);
            self.stats.windows.event(t, |c| {
                c.disconnections += 1;
                c.sessions_delta -= 1;
            });
        }
        self.session_reset(e.fields.pid.unwrap_or(0));
    }

    fn session_reset(&mut self, pid: u32) {
        self.stmt_event(pid, None);
        self.pids.insert(
            pid,
            PidLocal {
                stmt: Some(None),
                wait_us: Some(None),
                ended: true,
            },
        );
    }

    fn error(&mut self, e: &LogEntry<'a, '_>, fp: Option<u64>) {
        let ts = e.fields.ts;
        if e.severity == Severity::Warning {
            self.stats.bump(ts, |c| c.warnings += 1);
        } else {
            self.stats.bump(ts, |c| c.errors += 1);
            if let Some(q) = fp.and_then(|fp| self.stats.queries.get_mut(&fp)) {
                q.signals.errors += 1;
            }
        }
        let logged = e.fields.sqlstate;
        let logged = (!logged.is_empty() && logged != b"00000").then_some(logged);
        let guessed = match logged {
            Some(_) => None,
            None => sqlstate_from_text(e.message),
        };
        let code: &[u8] = logged.or(guessed.map(str::as_bytes)).unwrap_or(b"");
        let mut h = HashSink::default();
        h.put(code);
        h.put(b"\0");
        message::normalize_message(e.message, &mut h);
        let order: Order = (self.file, e.offset);
        let kind = self
            .stats
            .incidents
            .errors
            .entry((e.severity, h.0))
            .or_insert_with(|| super::incident::ErrorKind {
                severity: e.severity,
                sqlstate: String::from_utf8_lossy(code).into_owned(),
                sqlstate_guessed: guessed.is_some(),
                message: message::normalized_text(e.message),
                count: 0,
                first: ts,
                last: ts,
                example: (order, unfold(first_line(e.message))),
            });
        kind.count += 1;
        kind.first = super::query::min_opt(kind.first, ts);
        kind.last = super::query::max_opt(kind.last, ts);
    }

    fn lock_wait(&mut self, e: &LogEntry<'a, '_>, w: &LockWait<'a>, fp: Option<u64>) {
        let ts = e.fields.ts;
        let pid = e.fields.pid.unwrap_or(0);
        let named = signal::context_relation(e);
        let relation = named.or(w.relation_oid).unwrap_or(b"");
        let mut h = HashSink::default();
        for part in [relation, b"\0", w.mode, b"\0", w.object] {
            h.put(part);
        }
        let key = h.0;
        let lock = self
            .stats
            .incidents
            .locks
            .entry(key)
            .or_insert_with(|| LockAgg {
                relation: relation.into(),
                named: named.is_some(),
                mode: w.mode.into(),
                object: w.object.into(),
                ..LockAgg::default()
            });
        lock.max_us = lock.max_us.max(w.us);
        let query = fp.and_then(|fp| self.stats.queries.get_mut(&fp));
        match w.phase {
            WaitPhase::Waiting => {
                lock.waits += 1;
                if let Some(fp) = fp {
                    *lock.waiters.entry(fp).or_default() += 1;
                }
                lock.wait_us = lock.wait_us.saturating_add(w.us);
                if let Some(q) = query {
                    q.signals.lock_waits += 1;
                    q.signals.lock_wait_us = q.signals.lock_wait_us.saturating_add(w.us);
                    q.signals.max_lock_wait_us = q.signals.max_lock_wait_us.max(w.us);
                }
                let us = w.us;
                self.stats.bump(ts, |c| {
                    c.lock_waits += 1;
                    c.lock_wait_us = c.lock_wait_us.saturating_add(us);
                });
                self.pids.entry(pid).or_default().wait_us = Some(Some(w.us));
                self.blocker(e, fp, w.us);
            }
            WaitPhase::Acquired => {
                lock.acquired += 1;
                self.stats.incidents.acquired += 1;
                if let Some(q) = query {
                    q.signals.max_lock_wait_us = q.signals.max_lock_wait_us.max(w.us);
                }
                let local = self.pids.entry(pid).or_default();
                let before = local.wait_us;
                local.wait_us = Some(None);
                match before {
                    Some(Some(b)) => self
                        .stats
                        .add_wait_time(fp, key, w.us.saturating_sub(b), ts),
                    Some(None) => self.stats.add_wait_time(fp, key, w.us, ts),
                    None => self.track.head.push(Head::Acquired {
                        pid,
                        us: w.us,
                        fp,
                        key,
                        ts,
                    }),
                }
            }
            WaitPhase::Deadlock => {
                lock.deadlocks += 1;
                self.stats.incidents.detected_deadlock_waits += 1;
            }
            WaitPhase::Avoided => self.stats.incidents.avoided_deadlocks += 1,
        }
    }

    fn deadlock(&mut self, e: &LogEntry<'a, '_>, detail: &'a [u8], victim: Option<u64>) {
        let ts = e.fields.ts;
        self.stats.bump(ts, |c| c.deadlocks += 1);
        if let Some(q) = victim.and_then(|fp| self.stats.queries.get_mut(&fp)) {
            q.signals.deadlocks += 1;
        }
        let mut fps = [0u64; 16];
        let mut n = 0;
        for (_, sql) in signal::deadlock_queries(detail) {
            let fp = self.norm.fingerprint(sql);
            self.stats.query_mut(&mut self.norm, fp, sql);
            fps[n] = fp;
            n += 1;
        }
        let set = &mut fps[..n];
        set.sort_unstable();
        let mut m = 0;
        for i in 0..set.len() {
            if i == 0 || set[i] != set[m - 1] {
                set[m] = set[i];
                m += 1;
            }
        }
        let set = &fps[..m];
        let mut h = HashSink::default();
        for fp in set {
            h.put(&fp.to_le_bytes());
        }
        let g = self.stats.incidents.deadlock_groups.entry(h.0).or_default();
        if g.fingerprints.is_empty() {
            g.fingerprints = set.to_vec();
        }
        g.count += 1;
        g.first = super::query::min_opt(g.first, ts);
        g.last = super::query::max_opt(g.last, ts);
        if self.stats.incidents.deadlock_samples.len() < super::incident::MAX_DEADLOCK_SAMPLES {
            let processes = signal::deadlock_queries(detail)
                .map(|(pid, sql)| (pid, self.norm.fingerprint(sql), unfold(sql)))
                .collect();
            self.stats.incidents.deadlock_samples.push(DeadlockSample {
                ts,
                order: (self.file, e.offset),
                processes,
            });
        }
    }
}

/// `a` unless empty, else `b`.
fn or<'x>(a: &'x [u8], b: &'x [u8]) -> &'x [u8] {
    if a.is_empty() {
        b
    } else {
        a
    }
}

fn first_line(m: &[u8]) -> &[u8] {
    &m[..memchr::memchr(b'\n', m).unwrap_or(m.len())]
}

/// The table of a cancelled autovacuum (`CONTEXT:  automatic vacuum of table "db.s.t"`).
fn autovacuum_context<'a>(e: &LogEntry<'a, '_>) -> Option<&'a [u8]> {
    e.aux.iter().find_map(|a| {
        let i = memmem::find(a.text, b"of table \"")? + 10;
        let t = &a.text[i..];
        Some(&t[..memchr::memchr(b'"', t).unwrap_or(t.len())])
    })
}
