//! Heroku logplex: the lines `heroku logs` prints and log drains deliver.
//!
//! `heroku logs`: `2026-11-30T12:00:00.123456+00:00 app[postgres.1234]: [DATABASE] [10-1] sql_error_code = 00000 LOG:  ...`
//! A drain (RFC 5424 over HTTPS, with or without its octet count):
//! `83 <134>1 2026-11-30T12:00:00.123456+00:00 host app postgres.1234 - [DATABASE] [10-1] ...`
//! The database's attachment name (`[DATABASE]`, `[HEROKU_POSTGRESQL_RED]`) may stand
//! before or after the `[N-k]` sequence tag. Only `postgres` process lines are
//! PostgreSQL's; the rest (`app[heroku-postgres]: source=DATABASE sample#db_size=...`
//! metrics, the router, the app's dynos) are foreign: passed over, counted. The text
//! is then read like syslog's ([`super::syslog`]), with the log_line_prefix Heroku
//! sets (`sql_error_code = %e `) and the header's time and pid.

use super::syslog::{sequence_tag, HeaderTime, Split, SyslogLine};
use super::time::parse_rfc3339;

/// The log_line_prefix Heroku Postgres runs with, used when none can be inferred.
pub const HEROKU_PREFIX: &str = "sql_error_code = %e ";

/// Splits a Heroku line.
pub fn split(line: &[u8]) -> Split<'_> {
    let line = drain_header(line).unwrap_or(line);
    let Some(ts) = parse_rfc3339(line) else {
        return Split::NotHeader;
    };
    if line.get(ts.len) != Some(&b' ') {
        return Split::NotHeader;
    }
    let rest = &line[ts.len + 1..];
    let Some((process, text)) = source(rest) else {
        return Split::NotHeader;
    };
    let Some(pid) = postgres_pid(process) else {
        return Split::Foreign;
    };
    let (text, color_first) = strip_attachment(text);
    let (msg, part, text) = sequence_tag(text);
    let text = if color_first {
        text
    } else {
        strip_attachment(text).0
    };
    Split::Line(SyslogLine {
        pid,
        msg,
        part,
        rest: text,
        time: HeaderTime::At(ts.ms),
    })
}

/// A drain line's `[octets ]<PRI>1 ` before its timestamp: what follows it.
fn drain_header(line: &[u8]) -> Option<&[u8]> {
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    let line = if digits > 0 && line.get(digits) == Some(&b' ') {
        &line[digits + 1..]
    } else {
        line
    };
    let after = line.strip_prefix(b"<")?;
    let close = memchr::memchr(b'>', &after[..after.len().min(5)])?;
    after[close + 1..].strip_prefix(b"1 ")
}

/// The process and the text of the rest of a line: `app[postgres.1234]: text` (heroku
/// logs) or `host app postgres.1234 - text` (a drain).
fn source(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = memchr::memchr(b' ', rest)?;
    let word = &rest[..sp];
    if let Some(open) = memchr::memchr(b'[', word) {
        let proc_ = word.strip_suffix(b"]:")?;
        return Some((&proc_[open + 1..], &rest[sp + 1..]));
    }
    // Drain: host, app name, process id, message id.
    let mut parts = rest.splitn(5, |&b| b == b' ');
    let (_host, _app) = (parts.next()?, parts.next()?);
    let process = parts.next()?;
    let _msgid = parts.next()?;
    Some((process, parts.next().unwrap_or(b"")))
}

/// `postgres.1234` → 1234; `postgres` → 0 (no pid); anything else is not PostgreSQL.
fn postgres_pid(process: &[u8]) -> Option<u32> {
    let rest = process.strip_prefix(b"postgres")?;
    if rest.is_empty() {
        return Some(0);
    }
    std::str::from_utf8(rest.strip_prefix(b".")?)
        .ok()?
        .parse()
        .ok()
}

/// Strips a `[DATABASE]`/`[HEROKU_POSTGRESQL_RED]` attachment tag; true when one was there.
fn strip_attachment(text: &[u8]) -> (&[u8], bool) {
    let Some(body) = text.strip_prefix(b"[") else {
        return (text, false);
    };
    let Some(close) = memchr::memchr(b']', &body[..body.len().min(64)]) else {
        return (text, false);
    };
    let name = &body[..close];
    let ok = !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    if !ok {
        return (text, false);
    }
    let after = &body[close + 1..];
    (after.strip_prefix(b" ").unwrap_or(after), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Option<(u32, Option<u64>, u32, String)> {
        match split(s.as_bytes()) {
            Split::Line(l) => Some((
                l.pid,
                l.msg,
                l.part,
                String::from_utf8_lossy(l.rest).into_owned(),
            )),
            _ => None,
        }
    }

    #[test]
    fn heroku_logs_and_drain_lines() {
        let want = Some((1234, Some(10), 1, "sql_error_code = 00000 LOG:  x".into()));
        assert_eq!(
            line("2026-11-30T12:00:00.123456+00:00 app[postgres.1234]: [DATABASE] [10-1] sql_error_code = 00000 LOG:  x"),
            want
        );
        assert_eq!(
            line("2026-11-30T12:00:00+00:00 app[postgres.1234]: [10-1] [HEROKU_POSTGRESQL_RED] sql_error_code = 00000 LOG:  x"),
            want
        );
        assert_eq!(
            line("83 <134>1 2026-11-30T12:00:00.123456+00:00 host app postgres.1234 - [DATABASE] [10-1] sql_error_code = 00000 LOG:  x"),
            want
        );
        assert_eq!(
            split(b"2026-11-30T12:00:00+00:00 app[heroku-postgres]: source=DATABASE addon=postgresql-x sample#db_size=1bytes"),
            Split::Foreign
        );
        assert_eq!(
            split(b"2026-11-30T12:00:00+00:00 heroku[router]: at=info"),
            Split::Foreign
        );
        assert_eq!(
            split(b"Nov 30 12:00:00 host postgres[1]: x"),
            Split::NotHeader
        );
        assert_eq!(split(b""), Split::NotHeader);
    }
}
