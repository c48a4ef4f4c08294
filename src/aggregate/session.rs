//! Sessions, for the session filters: who a process is, from its connection lines.
//!
//! A stderr prefix without `%u`, `%d`, `%a` or `%h` (or an entry that lacks them, such
//! as `[unknown]` before authentication) still belongs to a session whose user,
//! database, application and client the server wrote once, in its `connection
//! received: host=…` and `connection authorized: user=… database=…
//! application_name=…` lines. A session filter (`--app orders-api`) then applies to
//! every entry of that process until its `disconnection:` line or its next connection
//! (a pid reused). With `%c` on both lines, an entry of another session id is not
//! matched to it.
//!
//! Across chunks: the connection line of a session may be in an earlier chunk than its
//! entries. When session filters are given, the pipeline first scans each chunk of a
//! group for its connection lines ([`SessionScan`], in parallel), folds what each chunk
//! leaves open in file order ([`Live::apply`]) and hands each chunk the sessions open
//! at its start; so one thread, many threads and any chunk size match the same entries
//! to the same sessions. A session whose connection line is not in the input (the log
//! started after it) stays unknown: never guessed, counted in the report.

use crate::parse::{EntrySink, LogEntry};
use memchr::memmem;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// What the connection lines of one session said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// `database=`.
    pub db: Box<[u8]>,
    /// `user=`.
    pub user: Box<[u8]>,
    /// `application_name=` (as set at connection time).
    pub app: Box<[u8]>,
    /// `host=` of `connection received`.
    pub host: Box<[u8]>,
    /// `%c` of the connection line, when the prefix has it.
    pub id: Box<[u8]>,
    /// `connection authorized` was read: the database, user and application are
    /// known (before it, only the client host is).
    pub authorized: bool,
}

/// The sessions open per process, as far as the input read so far tells. In a chunk's
/// scan, `None` means the session ended there (so an earlier one no longer applies).
#[derive(Debug, Clone, Default)]
pub struct Live(FxHashMap<u32, Option<Arc<Session>>>);

impl Live {
    /// Applies what the following part of the file left (`ends`, from its scan).
    pub fn apply(&mut self, ends: &Live) {
        for (pid, s) in &ends.0 {
            let Some(s) = s else {
                self.0.remove(pid);
                continue;
            };
            // An authorized line whose `connection received` was in an earlier part:
            // the host comes from there, as it does when one chunk reads both.
            let s = match self.0.get(pid) {
                Some(Some(before))
                    if s.host.is_empty() && s.authorized && same_session(before, &s.id) =>
                {
                    Arc::new(Session {
                        host: before.host.clone(),
                        ..Session::clone(s)
                    })
                }
                _ => Arc::clone(s),
            };
            self.0.insert(*pid, Some(s));
        }
    }

    /// Follows entry `e` (a connection line opens or completes a session, a
    /// disconnection ends it) and returns the session `e` belongs to, if known.
    pub fn observe(&mut self, e: &LogEntry<'_, '_>) -> Option<Arc<Session>> {
        let pid = e.fields.pid.filter(|_| !e.fields.unattributed)?;
        let m = e.message;
        if let Some(rest) = m.strip_prefix(b"connection received: ") {
            let s = Session {
                host: kv(rest, b"host=").into(),
                id: e.fields.session.into(),
                ..Session::default()
            };
            self.0.insert(pid, Some(Arc::new(s)));
        } else if let Some(rest) = m.strip_prefix(b"connection authorized: ") {
            let mut s = match self.0.get(&pid) {
                Some(Some(s)) if same_session(s, e.fields.session) => Session::clone(s),
                _ => Session {
                    id: e.fields.session.into(),
                    ..Session::default()
                },
            };
            s.user = kv(rest, b"user=").into();
            s.db = kv(rest, b"database=").into();
            s.app = kv(rest, b"application_name=").into();
            s.authorized = true;
            self.0.insert(pid, Some(Arc::new(s)));
        }
        let s = self
            .0
            .get(&pid)?
            .as_ref()
            .filter(|s| same_session(s, e.fields.session))
            .cloned();
        if m.starts_with(b"disconnection: ") {
            self.0.insert(pid, None);
        }
        s
    }

    /// The open sessions only (what a chunk starts from).
    pub fn open(mut self) -> Live {
        self.0.retain(|_, s| s.is_some());
        self
    }
}

/// True when an entry of session id `id` (empty: unknown) can belong to `s`.
fn same_session(s: &Session, id: &[u8]) -> bool {
    s.id.is_empty() || id.is_empty() || *s.id == *id
}

/// `key=value` in a connection line; empty when absent.
fn kv<'a>(s: &'a [u8], key: &[u8]) -> &'a [u8] {
    let Some(i) = memmem::find(s, key) else {
        return b"";
    };
    let v = &s[i + key.len()..];
    &v[..memchr::memchr(b' ', v).unwrap_or(v.len())]
}

/// Scans a chunk for its connection lines only: the sessions it leaves open or ended.
#[derive(Debug, Default)]
pub struct SessionScan {
    /// Per process, the chunk's last word on its session.
    pub ends: Live,
}

impl<'a> EntrySink<'a> for SessionScan {
    fn entry(&mut self, e: &LogEntry<'a, '_>) {
        let m = e.message;
        if matches!(m.first(), Some(b'c' | b'd'))
            && (m.starts_with(b"connection ") || m.starts_with(b"disconnection: "))
        {
            self.ends.observe(e);
        }
    }

    fn skipped(&mut self, _line: u64, _text: &'a [u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Fields, LogEntry, Severity};

    fn entry<'a>(pid: u32, id: &'a [u8], msg: &'a [u8]) -> LogEntry<'a, 'a> {
        LogEntry {
            offset: 0,
            line: 1,
            fields: Fields {
                pid: Some(pid),
                session: id,
                ..Fields::default()
            },
            severity: Severity::Log,
            message: msg,
            aux: &[],
        }
    }

    #[test]
    fn a_session_lives_from_its_connection_to_its_disconnection() {
        let mut live = Live::default();
        let e = entry(7, b"", b"statement: SELECT 1");
        assert!(live.observe(&e).is_none(), "no connection line yet");
        live.observe(&entry(7, b"", b"connection received: host=10.0.0.5 port=1"));
        let auth = b"connection authorized: user=u database=shop application_name=orders-api";
        let s = live.observe(&entry(7, b"", auth)).unwrap();
        assert_eq!(
            (&*s.user, &*s.db, &*s.app, &*s.host),
            (
                &b"u"[..],
                &b"shop"[..],
                &b"orders-api"[..],
                &b"10.0.0.5"[..]
            )
        );
        assert!(live.observe(&entry(7, b"", b"duration: 1 ms")).is_some());
        let bye = b"disconnection: session time: 0:00:01.000 user=u database=shop host=x";
        assert!(
            live.observe(&entry(7, b"", bye)).is_some(),
            "its own last line"
        );
        assert!(live.observe(&e).is_none(), "ended");
    }

    #[test]
    fn another_session_id_is_not_matched() {
        let mut live = Live::default();
        let auth = b"connection authorized: user=u database=d application_name=a";
        live.observe(&entry(7, b"65a.1", auth));
        assert!(live.observe(&entry(7, b"65a.1", b"x")).is_some());
        assert!(live.observe(&entry(7, b"65a.2", b"x")).is_none());
    }

    #[test]
    fn a_later_part_overrides_an_earlier_one() {
        let mut scan = SessionScan::default();
        let auth = b"connection authorized: user=u database=d application_name=a";
        scan.entry(&entry(1, b"", auth));
        scan.entry(&entry(2, b"", auth));
        scan.entry(&entry(2, b"", b"disconnection: session time: 0:00:01.000"));
        let mut live = Live::default();
        live.apply(&scan.ends);
        let mut live = live.open();
        assert!(live.observe(&entry(1, b"", b"x")).is_some());
        assert!(live.observe(&entry(2, b"", b"x")).is_none());
    }
}
