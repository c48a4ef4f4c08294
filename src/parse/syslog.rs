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
//! line numbers back to the file's.

use super::stderr::StderrParser;
use super::{EntrySink, LogEntry};

/// A syslog line split into its header's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    /// Pid from `prog[pid]`.
    pub pid: u32,
    /// `k` of the `[N-k]` tag (1 when the tag is absent).
    pub part: u32,
    /// The text after the header (and tag).
    pub rest: &'a [u8],
}

/// Splits a syslog line: timestamp (traditional `Mmm dd HH:MM:SS` or RFC 3339), host,
/// `program[pid]:`, optional `[N-k]` tag, text.
pub fn split_line(line: &[u8]) -> Option<SyslogLine<'_>> {
    let after_ts = if line.first()?.is_ascii_digit() {
        // RFC 3339: up to the first space.
        let sp = memchr::memchr(b' ', line)?;
        (sp >= 19 && line.get(10) == Some(&b'T')).then_some(sp + 1)?
    } else {
        // `Mmm dd HH:MM:SS ` (day padded with a space when below 10).
        let ok = line.len() > 16
            && line[..3].iter().all(u8::is_ascii_alphabetic)
            && line[3] == b' '
            && line[6] == b' '
            && line[9] == b':'
            && line[12] == b':'
            && line[15] == b' ';
        ok.then_some(16)?
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
    let mut text = &rest[colon + 3..];
    let mut part = 1;
    if text.first() == Some(&b'[') {
        if let Some(close) = memchr::memchr(b']', &text[..text.len().min(24)]) {
            let tag = &text[1..close];
            if let Some(dash) = memchr::memchr(b'-', tag) {
                let n = std::str::from_utf8(&tag[dash + 1..])
                    .ok()
                    .and_then(|s| s.parse().ok());
                if let (true, Some(k)) = (tag[..dash].iter().all(u8::is_ascii_digit), n) {
                    part = k;
                    text = text[close + 1..]
                        .strip_prefix(b" ")
                        .unwrap_or(&text[close + 1..]);
                }
            }
        }
    }
    Some(SyslogLine {
        pid,
        part,
        rest: text,
    })
}

/// Parses syslog chunks: the stderr parser over the rebuilt text.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    inner: StderrParser,
}

impl SyslogParser {
    /// A parser for syslog lines whose text carries `inner`'s prefix.
    pub fn new(inner: StderrParser) -> Self {
        SyslogParser { inner }
    }

    /// The stderr parser inside.
    pub fn inner(&self) -> &StderrParser {
        &self.inner
    }

    /// True when `line` starts a log entry: a first part whose text starts one.
    pub fn is_entry_start(&self, line: &[u8]) -> bool {
        split_line(line).is_some_and(|s| s.part == 1 && self.inner.is_entry_start(s.rest))
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
        // For each rebuilt line: where it starts in the rebuilt text, and the byte
        // offset and line number of the file line it came from.
        let mut map: Vec<(usize, u64, u64)> = Vec::new();
        let mut n = 0usize;
        let mut lines = 0u64;
        let mut pos = 0usize;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line = data[pos..end]
                .strip_suffix(b"\r")
                .unwrap_or(&data[pos..end]);
            lines += 1;
            let (text, glue) = match split_line(line) {
                Some(s) => {
                    let continuation = s.rest.starts_with(b"#011");
                    let glue = s.part > 1
                        && !continuation
                        && !map.is_empty()
                        && self.inner.prefix().match_line(s.rest).is_none();
                    (s.rest, glue)
                }
                None => (line, false),
            };
            if !glue {
                if !map.is_empty() {
                    arena[n] = b'\n';
                    n += 1;
                }
                map.push((n, base + pos as u64, lines));
            }
            n += unescape(text, &mut arena[n..]);
            pos = end + 1;
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

/// Hands entries on with the file's offsets and line numbers.
struct Remap<'s, 'm, 'a> {
    sink: &'s mut dyn EntrySink<'a>,
    map: &'m [(usize, u64, u64)],
}

impl Remap<'_, '_, '_> {
    /// (file offset, file line) of rebuilt line `line` (1-based).
    fn at(&self, line: u64) -> (u64, u64) {
        self.map
            .get(line.saturating_sub(1) as usize)
            .map_or((0, line), |&(_, off, l)| (off, l))
    }
}

impl<'a> EntrySink<'a> for Remap<'_, '_, 'a> {
    fn entry(&mut self, e: &LogEntry<'a, '_>) {
        let (offset, line) = self.at(e.line);
        self.sink.entry(&LogEntry { offset, line, ..*e });
    }

    fn skipped(&mut self, line: u64, text: &'a [u8]) {
        let (_, line) = self.at(line);
        self.sink.skipped(line, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let l = b"Nov 24 06:11:57 vm postgres[8344]: [10-2] #011  FROM t";
        assert_eq!(
            split_line(l),
            Some(SyslogLine {
                pid: 8344,
                part: 2,
                rest: b"#011  FROM t"
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
}
