//! The incident's signals: every log entry that is not a statement timing but tells
//! what happened to the server: lock waits, deadlocks, cancellations, temp files,
//! checkpoints, autovacuum, connections, server start and stop.
//!
//! Classification reads only what every log format carries (severity, message,
//! auxiliary lines), never the stderr layout, so csvlog and jsonlog entries classify
//! the same way. Texts are those of PostgreSQL 12–18 with `lc_messages = C`.

use super::{find_at, find_bytes, find_rare, parse_duration_ms, rfind_rare};
use crate::parse::{LogEntry, Severity};

/// What a lock-wait message says happened to the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPhase {
    /// `still waiting for`: the wait passed deadlock_timeout.
    Waiting,
    /// `acquired`: the wait ended with the lock.
    Acquired,
    /// `detected deadlock while waiting for`: this process will be the victim.
    Deadlock,
    /// `avoided deadlock for`: the queue was rearranged.
    Avoided,
}

/// A `process P ... MODE on OBJECT after N ms` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait<'a> {
    /// What happened.
    pub phase: WaitPhase,
    /// The lock mode (`ShareLock`).
    pub mode: &'a [u8],
    /// What the lock is on, e.g. `transaction`, `relation`, `tuple`.
    pub object: &'a [u8],
    /// The relation's OID when the object names one.
    pub relation_oid: Option<&'a [u8]>,
    /// Time waited so far, µs.
    pub us: u64,
}

/// Why a statement or session was cancelled.
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[allow(missing_docs)]
pub enum CancelKind {
    StatementTimeout,
    LockTimeout,
    UserRequest,
    IdleInTransactionTimeout,
    IdleSessionTimeout,
    TransactionTimeout,
    AdministratorCommand,
    RecoveryConflict,
    Autovacuum,
}

impl CancelKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelKind::StatementTimeout => "statement_timeout",
            CancelKind::LockTimeout => "lock_timeout",
            CancelKind::UserRequest => "user_request",
            CancelKind::IdleInTransactionTimeout => "idle_in_transaction_session_timeout",
            CancelKind::IdleSessionTimeout => "idle_session_timeout",
            CancelKind::TransactionTimeout => "transaction_timeout",
            CancelKind::AdministratorCommand => "administrator_command",
            CancelKind::RecoveryConflict => "recovery_conflict",
            CancelKind::Autovacuum => "autovacuum_cancelled",
        }
    }
}

/// Figures of a `checkpoint complete` (or `restartpoint complete`) message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CheckpointDone {
    pub buffers: u64,
    pub write_us: u64,
    pub sync_us: u64,
    pub total_us: u64,
    pub distance_kb: u64,
}

/// Figures of an `automatic vacuum` / `automatic analyze` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Maintenance<'a> {
    pub analyze: bool,
    /// `db.schema.table` as logged.
    pub table: &'a [u8],
    pub elapsed_us: u64,
    pub tuples_removed: u64,
    pub pages_removed: u64,
}

/// Server-wide events worth placing on the timeline.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// `starting PostgreSQL`.
    Start,
    /// `database system is ready to accept connections`.
    Ready,
    /// `received ... shutdown request`.
    ShutdownRequest,
    /// `database system is shut down`.
    ShutDown,
    /// A backend crashed (`server process ... was terminated by signal`, `... exited
    /// with exit code` of a server process).
    Crash,
    /// Crash recovery (`database system was interrupted`, `was not properly shut
    /// down; automatic recovery in progress`, `redo starts at`).
    Recovery,
    /// `received SIGHUP, reloading configuration files`.
    Reload,
    /// `out of memory` (an error or a failed fork).
    OutOfMemory,
    /// A standby promoted (`received promote request`, `selected new timeline ID`).
    Promotion,
    /// A statement cancelled for a conflict with recovery on a standby.
    ReplicationConflict,
}

impl ServerEvent {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerEvent::Start => "start",
            ServerEvent::Ready => "ready",
            ServerEvent::ShutdownRequest => "shutdown_request",
            ServerEvent::ShutDown => "shut_down",
            ServerEvent::Crash => "crash",
            ServerEvent::Recovery => "recovery",
            ServerEvent::Reload => "reload",
            ServerEvent::OutOfMemory => "out_of_memory",
            ServerEvent::Promotion => "promotion",
            ServerEvent::ReplicationConflict => "replication_conflict",
        }
    }
}

/// What an entry signals, besides statement timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Signal<'a> {
    LockWait(LockWait<'a>),
    /// `ERROR: deadlock detected`: DETAIL lists each process's wait and query.
    Deadlock {
        detail: &'a [u8],
    },
    Cancel(CancelKind),
    TempFile {
        bytes: u64,
    },
    CheckpointStart {
        reason: &'a [u8],
    },
    CheckpointDone(CheckpointDone),
    /// `checkpoints are occurring too frequently`.
    CheckpointWarning,
    Maintenance(Maintenance<'a>),
    ConnectionReceived,
    ConnectionAuthorized {
        user: &'a [u8],
        db: &'a [u8],
        app: &'a [u8],
    },
    Disconnection {
        session_us: u64,
        user: &'a [u8],
        db: &'a [u8],
        host: &'a [u8],
    },
    /// `remaining connection slots are reserved`, `too many clients already`.
    ConnectionLimit,
    /// `password authentication failed`, `no pg_hba.conf entry`, ...
    AuthFailure,
    Server(ServerEvent),
    /// `parameter "NAME" changed to "VALUE"` after a reload (`VALUE` empty for
    /// `parameter "NAME" removed from configuration file, reset to default`).
    ParameterChanged {
        name: &'a [u8],
        value: &'a [u8],
    },
    None,
}

/// Classifies `entry`'s signal.
pub fn classify_signal<'a>(entry: &LogEntry<'a, '_>) -> Signal<'a> {
    let m = entry.message;
    match entry.severity {
        Severity::Log => log_signal(entry, m),
        Severity::Error | Severity::Fatal | Severity::Panic => error_signal(entry, m),
        _ => Signal::None,
    }
}

fn log_signal<'a>(entry: &LogEntry<'a, '_>, m: &'a [u8]) -> Signal<'a> {
    match m.first() {
        Some(b'p') if m.starts_with(b"process ") => {
            lock_wait(m).map_or(Signal::None, Signal::LockWait)
        }
        Some(b't') if m.starts_with(b"temporary file: ") => {
            let size = rfind_rare!(m, b", size ").map(|i| &m[i + 7..]);
            size.and_then(|s| number(s).map(|(n, _)| Signal::TempFile { bytes: n }))
                .unwrap_or(Signal::None)
        }
        Some(b'c') => connection_or_checkpoint(m),
        Some(b'r') if m.starts_with(b"restartpoint ") => checkpoint(&m[b"restartpoint ".len()..]),
        Some(b'a') if m.starts_with(b"automatic ") => maintenance(entry, m),
        Some(b'd') if m.starts_with(b"disconnection: ") => disconnection(m),
        Some(b'p') if m.starts_with(b"parameter \"") => parameter_changed(m),
        _ => server_event(m).map_or(Signal::None, Signal::Server),
    }
}

fn connection_or_checkpoint(m: &[u8]) -> Signal<'_> {
    if m.starts_with(b"connection received: ") {
        Signal::ConnectionReceived
    } else if let Some(rest) = m.strip_prefix(b"connection authorized: ") {
        Signal::ConnectionAuthorized {
            user: kv(rest, b"user=").unwrap_or(b""),
            db: kv(rest, b"database=").unwrap_or(b""),
            app: kv(rest, b"application_name=").unwrap_or(b""),
        }
    } else if let Some(rest) = m.strip_prefix(b"checkpoint ") {
        checkpoint(rest)
    } else if m.starts_with(b"checkpoints are occurring too frequently") {
        Signal::CheckpointWarning
    } else {
        Signal::None
    }
}

/// `starting: REASON` or `complete: wrote N buffers ...` after `checkpoint `.
fn checkpoint(rest: &[u8]) -> Signal<'_> {
    if let Some(reason) = rest.strip_prefix(b"starting: ") {
        return Signal::CheckpointStart { reason };
    }
    let Some(c) = rest.strip_prefix(b"complete: ") else {
        return Signal::None;
    };
    let after = |key: &[u8]| find_bytes(c, key).map(|i| &c[i + key.len()..]);
    let secs = |key: &[u8]| after(key).and_then(seconds_us).unwrap_or(0);
    Signal::CheckpointDone(CheckpointDone {
        buffers: after(b"wrote ").and_then(number).map_or(0, |n| n.0),
        write_us: secs(b"write="),
        sync_us: secs(b"sync="),
        total_us: secs(b"total="),
        distance_kb: after(b"distance=").and_then(number).map_or(0, |n| n.0),
    })
}

fn maintenance<'a>(entry: &LogEntry<'a, '_>, m: &'a [u8]) -> Signal<'a> {
    let analyze = m.starts_with(b"automatic analyze of table \"");
    let vacuum = !analyze
        && find_bytes(&m[..m.len().min(64)], b"vacuum ").is_some()
        && find_rare!(m, b"of table \"").is_some();
    if !analyze && !vacuum {
        return Signal::None;
    }
    let Some(start) = find_rare!(m, b"of table \"").map(|i| i + 10) else {
        return Signal::None;
    };
    let table = quoted_until(&m[start..]);
    // PostgreSQL 12-14 put the figures on continuation lines of the message; some
    // builds or formats may split them into DETAIL lines: look in both.
    // The keys end with `: `, looked for.
    let find_num = |key: &[u8]| -> u64 {
        let in_msg = find_at(m, key, key.len() - 2).map(|i| &m[i + key.len()..]);
        let in_aux = || {
            entry
                .aux
                .iter()
                .find_map(|a| find_at(a.text, key, key.len() - 2).map(|i| &a.text[i + key.len()..]))
        };
        in_msg.or_else(in_aux).and_then(number).map_or(0, |n| n.0)
    };
    Signal::Maintenance(Maintenance {
        analyze,
        table,
        elapsed_us: rfind_rare!(m, b"elapsed: ")
            .and_then(|i| seconds_us(&m[i + 9..]))
            .unwrap_or(0),
        tuples_removed: if analyze { 0 } else { find_num(b"tuples: ") },
        pages_removed: if analyze { 0 } else { find_num(b"pages: ") },
    })
}

/// `disconnection: session time: H:MM:SS.mmm user=U database=D host=H port=P`.
fn disconnection(m: &[u8]) -> Signal<'_> {
    let rest = &m[b"disconnection: ".len()..];
    let session_us = rest
        .strip_prefix(b"session time: ")
        .and_then(session_time_us)
        .unwrap_or(0);
    Signal::Disconnection {
        session_us,
        user: kv(rest, b" user=").unwrap_or(b""),
        db: kv(rest, b" database=").unwrap_or(b""),
        host: kv(rest, b" host=").unwrap_or(b""),
    }
}

/// `parameter "NAME" changed to "VALUE"`, or `... removed from configuration file,
/// reset to default` (an empty value).
fn parameter_changed(m: &[u8]) -> Signal<'_> {
    let rest = &m[b"parameter \"".len()..];
    let Some(end) = memchr::memchr(b'"', rest) else {
        return Signal::None;
    };
    let (name, after) = (&rest[..end], &rest[end + 1..]);
    if let Some(v) = after.strip_prefix(b" changed to \"") {
        let value = v.strip_suffix(b"\"").unwrap_or(v);
        return Signal::ParameterChanged { name, value };
    }
    if after.starts_with(b" removed from configuration file") {
        return Signal::ParameterChanged { name, value: b"" };
    }
    Signal::None
}

fn server_event(m: &[u8]) -> Option<ServerEvent> {
    const TABLE: &[(&[u8], ServerEvent, bool)] = &[
        (b"starting PostgreSQL ", ServerEvent::Start, true),
        (
            b"database system is ready to accept",
            ServerEvent::Ready,
            true,
        ),
        (
            b"received smart shutdown request",
            ServerEvent::ShutdownRequest,
            true,
        ),
        (
            b"received fast shutdown request",
            ServerEvent::ShutdownRequest,
            true,
        ),
        (
            b"received immediate shutdown request",
            ServerEvent::ShutdownRequest,
            true,
        ),
        (b"database system is shut down", ServerEvent::ShutDown, true),
        (b"server process (PID ", ServerEvent::Crash, true),
        (
            b"terminating any other active server processes",
            ServerEvent::Crash,
            true,
        ),
        (
            b"database system was interrupted",
            ServerEvent::Recovery,
            true,
        ),
        (
            b"database system was not properly shut down",
            ServerEvent::Recovery,
            true,
        ),
        (b"redo starts at ", ServerEvent::Recovery, true),
        (
            b"received SIGHUP, reloading configuration files",
            ServerEvent::Reload,
            true,
        ),
        (b"out of memory", ServerEvent::OutOfMemory, false),
        (b"received promote request", ServerEvent::Promotion, true),
    ];
    TABLE.iter().find_map(|&(head, ev, prefix)| {
        let hit = if prefix {
            m.starts_with(head)
        } else {
            find_bytes(m, head).is_some()
        };
        hit.then_some(ev)
    })
}

fn error_signal<'a>(entry: &LogEntry<'a, '_>, m: &'a [u8]) -> Signal<'a> {
    if m == b"deadlock detected" {
        let detail = entry.aux_text(Severity::Detail, b"").unwrap_or(b"");
        return Signal::Deadlock { detail };
    }
    if let Some(k) = cancel_kind(m) {
        return Signal::Cancel(k);
    }
    if m.starts_with(b"remaining connection slots are reserved")
        || m.starts_with(b"sorry, too many clients already")
        || (m.starts_with(b"too many connections for "))
    {
        return Signal::ConnectionLimit;
    }
    if m.starts_with(b"password authentication failed for user")
        || m.starts_with(b"no pg_hba.conf entry for")
        || m.starts_with(b"pg_hba.conf rejects connection")
        || (m.ends_with(b"authentication failed for user")
            || find_rare!(m, b" authentication failed for user \"").is_some())
    {
        return Signal::AuthFailure;
    }
    if find_rare!(m, b"out of memory").is_some() {
        return Signal::Server(ServerEvent::OutOfMemory);
    }
    Signal::None
}

/// The cancellation a message reports, if any.
pub fn cancel_kind(m: &[u8]) -> Option<CancelKind> {
    if let Some(why) = m.strip_prefix(b"canceling statement due to ") {
        return Some(match why {
            b"statement timeout" => CancelKind::StatementTimeout,
            b"lock timeout" => CancelKind::LockTimeout,
            b"user request" => CancelKind::UserRequest,
            _ if why.starts_with(b"conflict with recovery") => CancelKind::RecoveryConflict,
            _ => return None,
        });
    }
    if m.starts_with(b"canceling autovacuum task") {
        return Some(CancelKind::Autovacuum);
    }
    if m.starts_with(b"terminating autovacuum process due to administrator command") {
        return Some(CancelKind::AdministratorCommand);
    }
    let why = m.strip_prefix(b"terminating connection due to ")?;
    Some(match why {
        _ if why.starts_with(b"idle-in-transaction timeout") => {
            CancelKind::IdleInTransactionTimeout
        }
        _ if why.starts_with(b"idle-session timeout") => CancelKind::IdleSessionTimeout,
        _ if why.starts_with(b"transaction timeout") => CancelKind::TransactionTimeout,
        _ if why.starts_with(b"administrator command") => CancelKind::AdministratorCommand,
        _ if why.starts_with(b"conflict with recovery") => CancelKind::RecoveryConflict,
        _ => return None,
    })
}

/// `process P still waiting for MODE on OBJECT after N ms[ at character C]` and its
/// siblings (`acquired`, `detected deadlock while waiting for`, `avoided deadlock for`).
pub fn lock_wait(m: &[u8]) -> Option<LockWait<'_>> {
    let rest = m.strip_prefix(b"process ")?;
    let (_, rest) = number(rest)?;
    let (phase, rest) = if let Some(r) = rest.strip_prefix(b" still waiting for ") {
        (WaitPhase::Waiting, r)
    } else if let Some(r) = rest.strip_prefix(b" acquired ") {
        (WaitPhase::Acquired, r)
    } else if let Some(r) = rest.strip_prefix(b" detected deadlock while waiting for ") {
        (WaitPhase::Deadlock, r)
    } else if let Some(r) = rest.strip_prefix(b" avoided deadlock for ") {
        (WaitPhase::Avoided, r)
    } else {
        return None;
    };
    let on = find_bytes(rest, b" on ")?;
    let mode = &rest[..on];
    let target = &rest[on + 4..];
    let after = rfind_rare!(target, b" after ")?;
    let (us, _) = parse_duration_ms(&target[after + 7..])?;
    let target = &target[..after];
    let object_end = target
        .iter()
        .position(|b| b.is_ascii_digit() || *b == b'(' || *b == b'[')
        .unwrap_or(target.len());
    let object = trim_end(&target[..object_end]);
    let relation_oid = find_bytes(target, b"relation ").and_then(|i| {
        let s = &target[i + 9..];
        let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
        (n > 0).then(|| &s[..n])
    });
    Some(LockWait {
        phase,
        mode,
        object,
        relation_oid,
        us,
    })
}

/// The relation named by a lock wait's CONTEXT (`while updating tuple (0,1) in
/// relation "orders"`).
pub fn context_relation<'a>(entry: &LogEntry<'a, '_>) -> Option<&'a [u8]> {
    entry.aux.iter().find_map(|a| {
        if a.severity != Severity::Context {
            return None;
        }
        let i = find_bytes(a.text, b" relation \"")?;
        Some(quoted_until(&a.text[i + 11..]))
    })
}

/// The pids of `Process holding the lock: A. Wait queue: ...` or `Processes holding
/// the lock: A, B. Wait queue: ...`: the first holder.
pub fn first_holder(entry: &LogEntry<'_, '_>) -> Option<u32> {
    let d = entry
        .aux_text(Severity::Detail, b"Process holding the lock: ")
        .or_else(|| entry.aux_text(Severity::Detail, b"Processes holding the lock: "))?;
    number(d).and_then(|(n, _)| u32::try_from(n).ok())
}

/// `Process N: SQL` lines of a deadlock DETAIL, in order: (pid, SQL).
pub fn deadlock_queries(detail: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    // Lines are separated by "\n\t" (stderr) or "\n" (csv/json); SQL may span lines,
    // so a query ends only where the next `Process N` line starts.
    let mut starts: [usize; 16] = [0; 16];
    let mut n = 0;
    let mut i = 0;
    while i < detail.len() && n < starts.len() {
        let at_line = i == 0
            || detail[i - 1] == b'\n'
            || (detail[i - 1] == b'\t' && i >= 2 && detail[i - 2] == b'\n');
        if at_line && detail[i..].starts_with(b"Process ") {
            starts[n] = i;
            n += 1;
        }
        i += 1;
    }
    (0..n).filter_map(move |k| {
        let end = if k + 1 < n {
            starts[k + 1]
        } else {
            detail.len()
        };
        let line = &detail[starts[k] + 8..end];
        let (pid, rest) = number(line)?;
        let sql = rest.strip_prefix(b": ")?;
        let sql = sql
            .strip_suffix(b"\n\t")
            .or_else(|| sql.strip_suffix(b"\n"))
            .unwrap_or(sql);
        Some((u32::try_from(pid).ok()?, sql))
    })
}

/// The text up to the next `"` (or the end).
fn quoted_until(s: &[u8]) -> &[u8] {
    &s[..memchr::memchr(b'"', s).unwrap_or(s.len())]
}

/// The value after `key` up to the next blank (or the end).
fn kv<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    // The keys end with `=`, looked for (few bytes of a message are).
    let i = find_at(s, key, key.len() - 1)? + key.len();
    let v = &s[i..];
    Some(&v[..memchr::memchr(b' ', v).unwrap_or(v.len())])
}

/// A decimal integer at the start of `s`, and what follows it.
fn number(s: &[u8]) -> Option<(u64, &[u8])> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 19 {
        return None;
    }
    let v = s[..n]
        .iter()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    Some((v, &s[n..]))
}

/// `12.345 s` at the start of `s`, in µs (exact: no floats).
fn seconds_us(s: &[u8]) -> Option<u64> {
    let (whole, rest) = number(s)?;
    let mut us = whole.checked_mul(1_000_000)?;
    if let Some(frac) = rest.strip_prefix(b".") {
        let mut scale = 100_000;
        for b in frac.iter().take_while(|b| b.is_ascii_digit()) {
            us = us.checked_add(u64::from(b - b'0') * scale)?;
            scale /= 10;
        }
    }
    Some(us)
}

/// `H:MM:SS.mmm` in µs.
fn session_time_us(s: &[u8]) -> Option<u64> {
    let (h, rest) = number(s)?;
    let (m, rest) = number(rest.strip_prefix(b":")?)?;
    let secs = seconds_us(rest.strip_prefix(b":")?)?;
    h.checked_mul(3600)?
        .checked_add(m.checked_mul(60)?)?
        .checked_mul(1_000_000)?
        .checked_add(secs)
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s.len() - s.iter().rev().take_while(|b| **b == b' ').count();
    &s[..n]
}

#[cfg(test)]
mod tests;
