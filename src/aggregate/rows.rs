//! The rows of the Parquet export: one per statement execution and one per event
//! (lock wait, deadlock, cancellation, temp file, refused connection, error...), a
//! tap on what the aggregate records, kept only when an export is asked for.
//!
//! Each row carries its place in the input (input number, byte offset), so rows
//! merged from chunks in any order are put back in one order at the end: by time,
//! then by that place. The same log gives the same rows from 1 thread and N.
//! The rows are held in memory until the export is written (about 150 bytes each
//! plus their names): the export is meant for logs of up to tens of millions of
//! entries on one machine.

use crate::parse::Millis;

/// One execution or event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Row {
    pub ts: Option<Millis>,
    /// `statement`, `lock_wait`, `lock_acquired`, `lock_deadlock`, `lock_avoided`,
    /// `deadlock`, `cancel`, `temp_file`,
    /// `connection_refused`, `auth_failure`, `error`, `fatal`, `panic`, `warning`.
    pub kind: &'static str,
    /// An execution's duration, or the time a lock was waited for.
    pub duration_us: Option<u64>,
    pub fingerprint: Option<u64>,
    pub query_id: Option<i64>,
    pub database: Box<str>,
    pub user: Box<str>,
    pub application: Box<str>,
    pub host: Box<str>,
    pub session: Box<str>,
    pub pid: Option<u32>,
    pub sqlstate: Box<str>,
    pub lock_mode: Box<str>,
    pub lock_object: Box<str>,
    /// The relation's OID when the lock names one.
    pub lock_relation: Box<str>,
    pub temp_bytes: Option<u64>,
    /// (input number, byte offset of the entry).
    pub order: (u32, u64),
}

/// Text of a log field (lossy UTF-8).
pub fn text(b: &[u8]) -> Box<str> {
    String::from_utf8_lossy(b).into()
}

/// Puts rows merged in any order into the export's order: by time (rows without one
/// first), then by input and offset, then kind.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        (a.ts, a.order, a.kind, a.duration_us).cmp(&(b.ts, b.order, b.kind, b.duration_us))
    });
}
