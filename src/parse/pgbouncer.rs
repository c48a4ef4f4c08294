//! PgBouncer's own log (1.x): one line per message, no continuation lines.
//!
//! PgBouncer writes `TIME [PID] LEVEL MESSAGE` (1.8 and later; 1.7 wrote the pid without
//! brackets), the time as `%Y-%m-%d %H:%M:%S.mmm ZONE`, the level one word followed by a
//! single space (`LOG `, `WARNING `, `ERROR `, `FATAL `, `DEBUG `, `NOISE `). That single
//! space tells it from a PostgreSQL stderr line, whose severity always ends in `:  `, so a
//! server log under a `%m [%p] ` prefix is never read as PgBouncer's.
//!
//! A message about one connection starts with the connection's kind and address, then
//! its pool and peer: `C-0x55d0c1a2b3c0: db/user@127.0.0.1:40000 login attempt: ...`
//! (C- a client, S- a server connection); the parser splits that off so the classifier
//! sees the message alone. Lines are handed to [`EntrySink::pooler`], never to
//! [`EntrySink::entry`]: nothing PgBouncer says is counted as the server's.

use super::time::{parse_timestamp, Millis};
use super::EntrySink;

/// A PgBouncer log level.
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[allow(missing_docs)]
pub enum PoolerLevel {
    Noise,
    Debug,
    Log,
    Warning,
    Error,
    Fatal,
}

impl PoolerLevel {
    fn from_word(w: &[u8]) -> Option<PoolerLevel> {
        Some(match w {
            b"LOG" => PoolerLevel::Log,
            b"WARNING" => PoolerLevel::Warning,
            b"ERROR" => PoolerLevel::Error,
            b"FATAL" => PoolerLevel::Fatal,
            b"DEBUG" => PoolerLevel::Debug,
            b"NOISE" => PoolerLevel::Noise,
            _ => return None,
        })
    }

    /// The word as PgBouncer writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolerLevel::Noise => "NOISE",
            PoolerLevel::Debug => "DEBUG",
            PoolerLevel::Log => "LOG",
            PoolerLevel::Warning => "WARNING",
            PoolerLevel::Error => "ERROR",
            PoolerLevel::Fatal => "FATAL",
        }
    }
}

/// Which side of the pooler a connection message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnSide {
    /// `C-0x...`: a client connected to PgBouncer.
    Client,
    /// `S-0x...`: PgBouncer's connection to the server.
    Server,
}

/// One PgBouncer log line, borrowed from the input.
#[derive(Debug, Clone, Copy)]
pub struct PoolerLine<'a> {
    /// Byte offset of the line in its file.
    pub offset: u64,
    /// Line number, 1-based, relative to the chunk.
    pub line: u64,
    /// The instant, UTC.
    pub ts: Millis,
    /// The zone abbreviation was unknown and read as UTC.
    pub zone_unknown: bool,
    /// PgBouncer's process id.
    pub pid: Option<u32>,
    /// Level.
    pub level: PoolerLevel,
    /// The connection the message is about, if any.
    pub side: Option<ConnSide>,
    /// Its pool's database (`(nodb)` before one is known).
    pub db: &'a [u8],
    /// Its pool's user (`(nouser)` before one is known).
    pub user: &'a [u8],
    /// The message, after the connection part.
    pub message: &'a [u8],
}

/// Parses PgBouncer lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgbouncerParser;

impl PgbouncerParser {
    /// True when `line` is a PgBouncer log line.
    pub fn is_line(line: &[u8]) -> bool {
        parse_line(line, 0, 0).is_some()
    }

    /// Parses a chunk (every line is an entry); returns the number of lines.
    pub fn parse_chunk<'a>(&self, data: &'a [u8], base: u64, sink: &mut dyn EntrySink<'a>) -> u64 {
        let mut line_no = 0;
        let mut pos = 0;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line = &data[pos..end];
            line_no += 1;
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
            if !trimmed.trim_ascii().is_empty() {
                match parse_line(trimmed, base + pos as u64, line_no) {
                    Some(l) => sink.pooler(&l),
                    None => sink.skipped(line_no, line),
                }
            }
            pos = end + 1;
        }
        line_no
    }
}

/// `TIME [PID] LEVEL MESSAGE` or `TIME PID LEVEL MESSAGE`.
fn parse_line(line: &[u8], offset: u64, line_no: u64) -> Option<PoolerLine<'_>> {
    let ts = parse_timestamp(line, true).or_else(|| parse_timestamp(line, false))?;
    let rest = line.get(ts.len..)?.strip_prefix(b" ")?;
    let (pid, rest) = pid_field(rest)?;
    let sp = memchr::memchr(b' ', &rest[..rest.len().min(8)])?;
    let level = PoolerLevel::from_word(&rest[..sp])?;
    let message = &rest[sp + 1..];
    let (side, db, user, message) = match connection(message) {
        Some(c) => (Some(c.side), c.db, c.user, c.message),
        None => (None, &[][..], &[][..], message),
    };
    Some(PoolerLine {
        offset,
        line: line_no,
        ts: ts.ms,
        zone_unknown: !ts.zone_known,
        pid,
        level,
        side,
        db,
        user,
        message,
    })
}

/// `[1234] ` or `1234 `: the pid and the rest.
fn pid_field(s: &[u8]) -> Option<(Option<u32>, &[u8])> {
    let (inner, bracketed) = match s.strip_prefix(b"[") {
        Some(r) => (r, true),
        None => (s, false),
    };
    let n = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 10 {
        return None;
    }
    let pid = std::str::from_utf8(&inner[..n]).ok()?.parse().ok();
    let mut rest = &inner[n..];
    if bracketed {
        rest = rest.strip_prefix(b"]")?;
    }
    Some((pid, rest.strip_prefix(b" ")?))
}

/// The connection part of a message, and the message after it.
struct Conn<'a> {
    side: ConnSide,
    db: &'a [u8],
    user: &'a [u8],
    message: &'a [u8],
}

/// `C-0x55d...: db/user@host:port MESSAGE` (the peer may be `unix(1234):6432` or
/// `[::1]:40000`).
fn connection(s: &[u8]) -> Option<Conn<'_>> {
    let side = match s.get(..2)? {
        b"C-" => ConnSide::Client,
        b"S-" => ConnSide::Server,
        _ => return None,
    };
    let colon = memchr::memchr(b':', &s[..s.len().min(40)])?;
    let ptr = &s[2..colon];
    if ptr.is_empty() || !ptr.iter().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = s.get(colon + 1..)?.strip_prefix(b" ")?;
    // The pool and peer are one word without spaces (database and user names with a
    // space are printed as they are; then the message keeps them, nothing is lost).
    let sp = memchr::memchr(b' ', rest)?;
    let word = &rest[..sp];
    let slash = memchr::memchr(b'/', word)?;
    let at = memchr::memrchr(b'@', word)?;
    if at < slash {
        return None;
    }
    Some(Conn {
        side,
        db: &word[..slash],
        user: &word[slash + 1..at],
        message: &rest[sp + 1..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shapes_of_1x() {
        let l = parse_line(b"2026-11-30 22:40:35.549 UTC [11204] ERROR C-0x563a5c899220: bench/app@127.0.0.1:46028 password authentication failed", 0, 1).unwrap();
        assert_eq!(l.level, PoolerLevel::Error);
        assert_eq!(l.side, Some(ConnSide::Client));
        assert_eq!((l.db, l.user), (&b"bench"[..], &b"app"[..]));
        assert_eq!(l.message, b"password authentication failed");
        assert_eq!(l.pid, Some(11204));
        let l = parse_line(
            b"2017-03-09 13:19:51.497 3452 LOG Stats: 0 req/s, in 0 b/s, out 0 b/s,query 0 us",
            0,
            1,
        )
        .unwrap();
        assert_eq!((l.pid, l.side), (Some(3452), None));
        assert!(l.message.starts_with(b"Stats:"));
        let l = parse_line(b"2026-11-30 22:40:35.653 UTC [1] WARNING server login failed: FATAL database \"ghost\" does not exist", 0, 1).unwrap();
        assert_eq!(l.side, None);
    }

    #[test]
    fn a_server_line_is_not_pgbouncer() {
        for l in [
            &b"2026-11-30 22:40:35.549 UTC [11204] LOG:  connection received: host=127.0.0.1"[..],
            b"2026-11-30 22:40:35 UTC [11204] ERROR:  division by zero",
            b"2026-11-30 22:40:35.549 UTC [11204] app@bench LOG:  duration: 1 ms",
            b"",
            b"LOG x",
        ] {
            assert!(
                !PgbouncerParser::is_line(l),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }
}
