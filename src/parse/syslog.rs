//! syslog, as rsyslog or syslog-ng write it to a file:
//! `Nov 24 06:11:57 host postgres[8344]: [10-1] <log_line_prefix>LOG:  ...`, or with an
//! RFC 3339 timestamp first (`2026-11-24T06:11:57.465123+00:00 host postgres[8344]: ...`).
//!
//! With `syslog_sequence_numbers`, `[N-1]` starts message N of the process and `[N-k]`
//! (k > 1) continues it: an auxiliary line (DETAIL, STATEMENT...: it carries the
//! prefix), a continuation line of a multi-line message (its TAB written as `#011`), or
//! the rest of a line longer than syslog's limit (`syslog_split_messages`), to be glued
//! to the line before without a newline. The parser rebuilds the stderr text of each
//! chunk in the chunk's arena and hands it to the stderr parser, mapping offsets and
//! line numbers back to the file's ([`super::rebuild`]).
//!
//! The header's time and pid fill the entries whose log_line_prefix has no `%t`/`%m`
//! or `%p`. A traditional header has no year: it comes from a [`Years`] rule (the
//! file's mtime, or `--year`), chosen so that a log crossing New Year never jumps back.
//! Heroku logplex lines (`... app[postgres.1234]: [DATABASE] [10-1] ...`) are the same
//! machinery with another header ([`super::heroku`]).

use super::rebuild::{Origin, Remap};
use super::stderr::StderrParser;
use super::time::parse_rfc3339;
pub use super::years::{calendar, HeaderTime, Years};
use super::{EntrySink, Millis};
use rustc_hash::FxHashMap;

/// The header a wrapper format puts before PostgreSQL's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// rsyslog / syslog-ng files.
    Syslog,
    /// Heroku logplex (`heroku logs`, log drains).
    Heroku,
}

/// What a line of a wrapper format is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split<'a> {
    /// A line of PostgreSQL's.
    Line(SyslogLine<'a>),
    /// A line of the wrapper format from another source: passed over, counted.
    Foreign,
    /// No header: not a line of the format.
    NotHeader,
}

impl Dialect {
    /// Splits a line of this dialect.
    pub fn split(self, line: &[u8]) -> Split<'_> {
        match self {
            Dialect::Syslog => split_line(line).map_or(Split::NotHeader, Split::Line),
            Dialect::Heroku => super::heroku::split(line),
        }
    }

    /// The first parts' text without their headers, one per line: what the
    /// log_line_prefix is inferred from.
    pub fn first_parts_text(self, head: &[u8]) -> Vec<u8> {
        head.split(|&b| b == b'\n')
            .filter_map(|l| match self.split(l) {
                Split::Line(s) if s.part == 1 => Some(s.rest),
                _ => None,
            })
            .flat_map(|rest| rest.iter().copied().chain([b'\n']))
            .collect()
    }

    /// The (month, day) of the first traditional header in `head`, if any.
    pub fn first_calendar_day(self, head: &[u8]) -> Option<(u8, u8)> {
        head.split(|&b| b == b'\n')
            .find_map(|l| match self.split(l) {
                Split::Line(SyslogLine {
                    time: HeaderTime::Calendar { month, day, .. },
                    ..
                }) => Some((month, day)),
                _ => None,
            })
    }
}

/// A syslog line split into its header's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    /// Pid from `prog[pid]`.
    pub pid: u32,
    /// `N` of the `[N-k]` tag: the process's message number (absent without tags).
    pub msg: Option<u64>,
    /// `k` of the `[N-k]` tag (1 when the tag is absent).
    pub part: u32,
    /// The text after the header (and tag).
    pub rest: &'a [u8],
    /// The header's time.
    pub time: HeaderTime,
}

/// Splits a syslog line: timestamp (traditional `Mmm dd HH:MM:SS` or RFC 3339), host,
/// `program[pid]:`, optional `[N-k]` tag, text.
pub fn split_line(line: &[u8]) -> Option<SyslogLine<'_>> {
    let (after_ts, time) = if line.first()?.is_ascii_digit() {
        // RFC 3339: up to the first space.
        let sp = memchr::memchr(b' ', line)?;
        (sp >= 19 && line.get(10) == Some(&b'T')).then_some(())?;
        let time = parse_rfc3339(line).map_or(HeaderTime::None, |p| HeaderTime::At(p.ms));
        (sp + 1, time)
    } else {
        // `Mmm dd HH:MM:SS ` (day padded with a space when below 10).
        let ok = line.len() > 16
            && line[..3].iter().all(u8::is_ascii_alphabetic)
            && line[3] == b' '
            && line[6] == b' '
            && line[9] == b':'
            && line[12] == b':'
            && line[15] == b' ';
        ok.then_some(())?;
        (16, calendar(&line[..15]))
    };
    let rest = &line[after_ts..];
    let host_end = memchr::memchr(b' ', rest)?;
    let rest = &rest[host_end + 1..];
    let colon = memchr::memmem::find(rest, b"]: ")?;
    let open = memchr::memrchr(b'[', &rest[..colon])?;
    let pid: u32 = std::str::from_utf8(&rest[open + 1..colon])
        .ok()?
        .parse()
        .ok()?;
    let (msg, part, text) = sequence_tag(&rest[colon + 3..]);
    Some(SyslogLine {
        pid,
        msg,
        part,
        rest: text,
        time,
    })
}

/// The hostname of the first syslog header in `head` that [`split_line`] reads: the
/// field after the timestamp (`Nov 24 06:11:57 db1 postgres[8344]: ...` → `db1`).
pub fn first_host(head: &[u8]) -> Option<String> {
    head.split(|&b| b == b'\n').find_map(|line| {
        split_line(line)?;
        let after_ts = if line.first()?.is_ascii_digit() {
            memchr::memchr(b' ', line)? + 1
        } else {
            16
        };
        let rest = &line[after_ts..];
        let host = &rest[..memchr::memchr(b' ', rest)?];
        (!host.is_empty() && host != b"-").then(|| String::from_utf8_lossy(host).into_owned())
    })
}

/// The `[N-k] ` tag of `syslog_sequence_numbers` at the start of `text`:
/// (N, k, the text after it); (None, 1, text) without one.
pub(super) fn sequence_tag(text: &[u8]) -> (Option<u64>, u32, &[u8]) {
    if text.first() == Some(&b'[') {
        if let Some(close) = memchr::memchr(b']', &text[..text.len().min(24)]) {
            let tag = &text[1..close];
            if let Some(dash) = memchr::memchr(b'-', tag) {
                let k = std::str::from_utf8(&tag[dash + 1..])
                    .ok()
                    .and_then(|s| s.parse().ok());
                let n = std::str::from_utf8(&tag[..dash])
                    .ok()
                    .and_then(|s| s.parse().ok());
                if let (Some(n), Some(k)) = (n, k) {
                    let after = &text[close + 1..];
                    return (Some(n), k, after.strip_prefix(b" ").unwrap_or(after));
                }
            }
        }
    }
    (None, 1, text)
}

/// The first parts' text without their syslog headers, one per line: what the
/// log_line_prefix is inferred from.
pub fn first_parts_text(head: &[u8]) -> Vec<u8> {
    Dialect::Syslog.first_parts_text(head)
}

/// How many lines [`SyslogParser::is_boundary`] looks ahead for parts of earlier messages.
pub const LOOKAHEAD: usize = 64;

/// Parses syslog chunks: the stderr parser over the rebuilt text.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    inner: StderrParser,
    dialect: Dialect,
    years: Years,
}

impl SyslogParser {
    /// A parser for syslog lines whose text carries `inner`'s prefix; traditional
    /// headers are dated as if the file ended now.
    pub fn new(inner: StderrParser) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        SyslogParser {
            inner,
            dialect: Dialect::Syslog,
            years: Years::ending_at(now),
        }
    }

    /// The same, for lines of `dialect`.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// The same, dating traditional headers with `years`.
    pub fn with_years(mut self, years: Years) -> Self {
        self.years = years;
        self
    }

    /// The dialect read.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The stderr parser inside.
    pub fn inner(&self) -> &StderrParser {
        &self.inner
    }

    fn split<'a>(&self, line: &'a [u8]) -> Option<SyslogLine<'a>> {
        match self.dialect.split(line) {
            Split::Line(s) => Some(s),
            _ => None,
        }
    }

    /// True when `line` starts a log entry: a first part whose text starts one.
    pub fn is_entry_start(&self, line: &[u8]) -> bool {
        self.split(line)
            .is_some_and(|s| s.part == 1 && self.inner.is_entry_start(s.rest))
    }

    /// True when a chunk may start at `rest` (the input from a line start on): the line
    /// starts an entry, and none of the next lines continues a message begun before it
    /// (other processes' parts interleave, so a cut must not separate a message from
    /// its later parts). Looks [`LOOKAHEAD`] lines ahead; at the end of `rest` the
    /// answer is no, so a block read from a stream is never cut blind.
    pub fn is_boundary(&self, rest: &[u8]) -> bool {
        let mut lines = rest.split(|&b| b == b'\n');
        if !lines.next().is_some_and(|l| self.is_entry_start(l)) {
            return false;
        }
        let mut started: [(u32, u64); LOOKAHEAD] = [(0, 0); LOOKAHEAD];
        let mut n = 0;
        let first = self.split(rest).map(|s| (s.pid, s.msg.unwrap_or(0)));
        if let Some(f) = first {
            started[0] = f;
            n = 1;
        }
        for (i, line) in lines.enumerate() {
            if i + 1 >= LOOKAHEAD {
                return true;
            }
            let Some(s) = self.split(line) else { continue };
            let key = (s.pid, s.msg.unwrap_or(0));
            let begun_here = started[..n].contains(&key);
            let continues =
                (s.msg.is_some() && s.part > 1) || (s.msg.is_none() && s.rest.starts_with(b"#011"));
            if continues && !begun_here {
                return false;
            }
            if s.part == 1 && n < LOOKAHEAD {
                started[n] = key;
                n += 1;
            }
        }
        false
    }

    /// Parses `data` (a chunk at byte `base` of its file), rebuilding the stderr text
    /// into `arena` (at least `data.len()` bytes). Returns the number of lines.
    pub fn parse_chunk<'a>(
        &self,
        data: &'a [u8],
        arena: &'a mut [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        // Pass 1: every line of the chunk becomes a part of a message. Parts of one
        // message ([N-1], [N-2]... of one process; or a `#011` continuation without
        // sequence numbers) are grouped even when other processes' lines fall between
        // them, as they do on a busy server.
        struct Part {
            msg: u32,
            k: u32,
            line: u64,
            start: usize,
            end: usize,
            glue: bool,
            ts: Option<Millis>,
            pid: Option<u32>,
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut first_part: FxHashMap<(u32, u64), u32> = FxHashMap::default();
        let mut last_of_pid: FxHashMap<u32, u32> = FxHashMap::default();
        let mut lines = 0u64;
        let mut pos = 0usize;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line = data[pos..end]
                .strip_suffix(b"\r")
                .unwrap_or(&data[pos..end]);
            lines += 1;
            let idx = parts.len() as u32;
            let mut p = Part {
                msg: idx,
                k: 1,
                line: lines,
                start: pos,
                end: pos + line.len(),
                glue: false,
                ts: None,
                pid: None,
            };
            match self.dialect.split(line) {
                Split::Foreign => {
                    sink.foreign(lines);
                    pos = end + 1;
                    continue;
                }
                Split::NotHeader => {}
                Split::Line(s) => {
                    p.start = p.end - s.rest.len();
                    p.k = s.part;
                    p.ts = self.years.resolve(s.time);
                    p.pid = (s.pid != 0).then_some(s.pid);
                    let continuation = s.rest.starts_with(b"#011");
                    let owner = match s.msg {
                        Some(m) if s.part == 1 => {
                            first_part.insert((s.pid, m), idx);
                            None
                        }
                        Some(m) => first_part.get(&(s.pid, m)).copied(),
                        None if continuation => last_of_pid.get(&s.pid).copied(),
                        None => None,
                    };
                    if let Some(o) = owner {
                        p.msg = o;
                        // The rest of a line longer than syslog's limit, not a line of its own.
                        p.glue = s.msg.is_some()
                            && !continuation
                            && self.inner.prefix().match_line(s.rest).is_none();
                    } else {
                        last_of_pid.insert(s.pid, idx);
                    }
                }
            }
            parts.push(p);
            pos = end + 1;
        }
        // Pass 2: write the messages whole, in the order of their first parts.
        let mut order: Vec<u32> = (0..parts.len() as u32).collect();
        order.sort_by_key(|&i| (parts[i as usize].msg, parts[i as usize].k));
        // For each rebuilt line: where it came from in the file, and its header's time
        // and pid.
        let mut map: Vec<Origin> = Vec::with_capacity(parts.len());
        let mut n = 0usize;
        let zone_unknown = self.dialect == Dialect::Syslog;
        for &i in &order {
            let p = &parts[i as usize];
            if !p.glue || map.is_empty() {
                if !map.is_empty() {
                    arena[n] = b'\n';
                    n += 1;
                }
                let line_start = data[..p.start]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |j| j + 1);
                map.push(Origin {
                    offset: base + line_start as u64,
                    line: p.line,
                    ts: p.ts,
                    // Only a traditional header lacks a zone; RFC 3339 ones carry theirs.
                    zone_unknown: zone_unknown
                        && !data[line_start..].first().is_some_and(u8::is_ascii_digit),
                    pid: p.pid,
                });
            }
            n += unescape(&data[p.start..p.end], &mut arena[n..]);
        }
        let text: &'a [u8] = &arena[..n];
        let mut adapter = Remap { sink, map: &map };
        self.inner.parse_chunk(text, 0, &mut adapter);
        lines
    }
}

/// Copies `text` into `out`, turning rsyslog's `#011` back into a TAB; returns bytes written.
fn unescape(text: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'#' && text.get(i + 1..i + 4) == Some(b"011") {
            out[n] = b'\t';
            i += 4;
        } else {
            out[n] = text[i];
            i += 1;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::LogEntry;

    #[test]
    fn headers() {
        let l = b"Nov 24 06:11:57 vm postgres[8344]: [10-2] #011  FROM t";
        assert_eq!(
            split_line(l),
            Some(SyslogLine {
                pid: 8344,
                msg: Some(10),
                part: 2,
                rest: b"#011  FROM t",
                time: HeaderTime::Calendar {
                    month: 11,
                    day: 24,
                    secs: 6 * 3600 + 11 * 60 + 57
                },
            })
        );
        let l = b"Nov  4 06:11:57 vm.example postgres[8]: [1-1] 2026-11-04 LOG:  x";
        assert_eq!(split_line(l).unwrap().rest, b"2026-11-04 LOG:  x");
        let l = b"2026-11-24T06:11:07.872309+00:00 vm postgres[3841]: [1-1] text";
        assert_eq!(split_line(l).unwrap().pid, 3841);
        let l = b"Nov 24 06:11:57 vm postgres[8344]: no sequence numbers";
        assert_eq!(split_line(l).unwrap().part, 1);
        assert!(split_line(b"2026-11-24 06:11:57.465 UTC [8344] LOG:  x").is_none());
        assert!(split_line(b"").is_none());
    }

    /// Regression: on a busy server other processes' messages fall between the parts
    /// of a long line; each part must join its own message, and no chunk may start
    /// between a message and its later parts.
    #[test]
    fn parts_of_interleaved_processes_join_their_own_message() {
        let log = "Nov 24 06:11:57 vm postgres[100]: [5-1] 2026-11-24 06:11:57.000 UTC [100] LOG:  duration: 5.000 ms  statement: SELECT 'aaaa\n\
                   Nov 24 06:11:57 vm postgres[200]: [7-1] 2026-11-24 06:11:57.001 UTC [200] LOG:  duration: 1.000 ms  statement: SELECT 2\n\
                   Nov 24 06:11:57 vm postgres[100]: [5-2] bbbb' AS x\n\
                   Nov 24 06:11:57 vm postgres[200]: [8-1] 2026-11-24 06:11:57.002 UTC [200] LOG:  duration: 1.000 ms  statement: SELECT 3\n\
                   Nov 24 06:11:57 vm postgres[100]: [5-3] #011FROM t\n";
        let prefix = crate::parse::Prefix::compile("%m [%p] ").unwrap();
        let p = SyslogParser::new(StderrParser::new(prefix));
        #[derive(Default)]
        struct Seen(Vec<(u64, u64, String)>, u64);
        impl<'a> EntrySink<'a> for Seen {
            fn entry(&mut self, e: &LogEntry<'a, '_>) {
                let m = String::from_utf8_lossy(e.message).into_owned();
                self.0.push((e.offset, e.line, m));
            }
            fn skipped(&mut self, _: u64, _: &'a [u8]) {
                self.1 += 1;
            }
        }
        let mut arena = vec![0u8; log.len()];
        let mut seen = Seen::default();
        let lines = p.parse_chunk(log.as_bytes(), &mut arena, 1000, &mut seen);
        assert_eq!(lines, 5);
        assert_eq!(seen.1, 0);
        let msgs: Vec<&str> = seen.0.iter().map(|e| e.2.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "duration: 5.000 ms  statement: SELECT 'aaaabbbb' AS x\n\tFROM t",
                "duration: 1.000 ms  statement: SELECT 2",
                "duration: 1.000 ms  statement: SELECT 3",
            ]
        );
        // Each entry keeps the file line and offset of its first part.
        assert_eq!((seen.0[0].0, seen.0[0].1), (1000, 1));
        assert_eq!(seen.0[1].1, 2);
        assert_eq!(seen.0[2].1, 4);
        // Lines 2 and 4 start entries, but a cut there would separate pid 100's parts.
        let second = log.find("Nov 24 06:11:57 vm postgres[200]: [7-1]").unwrap();
        assert!(!p.is_boundary(&log.as_bytes()[second..]));
    }
}
