//! Google Cloud SQL, as Cloud Logging exports it: one LogEntry object per line (a sink
//! to Cloud Storage, `gcloud logging read --format=json` piped through `jq -c`), or one
//! JSON array of them (`gcloud logging read --format=json`, the Logs Explorer's
//! download). PostgreSQL's text is in `textPayload`, with Cloud SQL's prefix
//! (`%m [%p]: [%l-1] db=%d,user=%u `); a self-managed server whose jsonlog the Ops Agent
//! ships has the jsonlog record in `jsonPayload`.
//!
//! `textPayload`s are written one after another into the chunk's arena and read by the
//! stderr parser ([`super::rebuild`]); the entry's `timestamp` stands in when the
//! prefix has no time. Exports list the newest entry first: a chunk whose entries run
//! backwards is put in time order, so DETAIL and STATEMENT lines follow their message.
//! Entries with neither payload (audit logs in the same export) are foreign.

use super::jsonlog::{self, Arena, Text};
use super::rebuild::{Origin, Remap};
use super::stderr::StderrParser;
use super::time::parse_rfc3339;
use super::{Aux, EntrySink, Millis};
use serde::Deserialize;

/// The log_line_prefix Cloud SQL for PostgreSQL runs with, used when none is inferred.
pub const CLOUDSQL_PREFIX: &str = "%m [%p]: [%l-1] db=%d,user=%u ";

/// The LogEntry keys pgferret reads.
#[derive(Debug, Deserialize)]
struct Entry<'a> {
    #[serde(rename = "textPayload", borrow, default)]
    text: Option<Text<'a>>,
    #[serde(rename = "jsonPayload", borrow, default)]
    json: Option<jsonlog::Record<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Text<'a>>,
}

/// One entry of the chunk, where it stands in the file.
struct Item<'a> {
    offset: u64,
    line: u64,
    ts: Option<Millis>,
    entry: Option<Entry<'a>>,
    raw: &'a [u8],
}

/// Parses Cloud Logging exports of Cloud SQL.
#[derive(Debug, Clone)]
pub struct CloudSqlParser {
    inner: StderrParser,
}

/// True when `data` is a JSON array (an export), not one entry per line.
pub fn is_array(data: &[u8]) -> bool {
    data.trim_ascii_start().first() == Some(&b'[')
}

/// The `textPayload`s of the first entries of `head`, one per line: what the
/// log_line_prefix is inferred from.
pub fn payload_text(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items(head, 0) {
        if let Some(Entry {
            text: Some(Text(t)),
            ..
        }) = &item.entry
        {
            out.extend_from_slice(t.lines().next().unwrap_or("").as_bytes());
            out.push(b'\n');
        }
    }
    out
}

impl CloudSqlParser {
    /// A parser for payloads written with `inner`'s prefix.
    pub fn new(inner: StderrParser) -> Self {
        CloudSqlParser { inner }
    }

    /// The stderr parser inside.
    pub fn inner(&self) -> &StderrParser {
        &self.inner
    }

    /// A line that opens an object starts an entry (an array is never cut: it is one
    /// chunk), unless its text payload continues the entry before it (a DETAIL,
    /// STATEMENT... line, which Cloud Logging writes as an entry of its own).
    pub fn is_entry_start(&self, line: &[u8]) -> bool {
        if line.first() != Some(&b'{') {
            return false;
        }
        match serde_json::from_slice::<Entry>(line.trim_ascii()) {
            Ok(Entry {
                text: Some(Text(t)),
                ..
            }) => {
                let first = t.split('\n').next().unwrap_or_default().as_bytes();
                !self.inner.continues_entry(first)
            }
            _ => true,
        }
    }

    /// Parses the entries of `data` (at byte `base` of its file) into `arena` (at
    /// least `data.len()` bytes). Returns the number of lines.
    pub fn parse_chunk<'a>(
        &self,
        data: &'a [u8],
        arena: &'a mut [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        let mut list = items(data, base);
        let backwards = {
            let ts: Vec<Millis> = list.iter().filter_map(|i| i.ts).collect();
            ts.len() > 1 && ts[0] > ts[ts.len() - 1]
        };
        if backwards {
            list.reverse();
        }
        list.sort_by_key(|i| i.ts.unwrap_or(Millis::MIN));
        // The text payloads, rebuilt; one origin per rebuilt line.
        let mut map: Vec<Origin> = Vec::with_capacity(list.len());
        let mut n = 0;
        for item in &list {
            let Some(Entry {
                text: Some(Text(t)),
                ..
            }) = &item.entry
            else {
                continue;
            };
            for (k, l) in t.trim_end_matches('\n').split('\n').enumerate() {
                // (The text is shorter than its JSON encoding; never write past the arena.)
                if n + 2 > arena.len() {
                    break;
                }
                if !map.is_empty() {
                    arena[n] = b'\n';
                    n += 1;
                }
                // Continuation lines of a multi-line message carry a TAB in stderr.
                if k > 0 && !l.starts_with('\t') && n < arena.len() {
                    arena[n] = b'\t';
                    n += 1;
                }
                let l = &l.as_bytes()[..l.len().min(arena.len() - n)];
                arena[n..n + l.len()].copy_from_slice(l);
                n += l.len();
                map.push(Origin {
                    offset: item.offset,
                    line: item.line,
                    ts: item.ts,
                    zone_unknown: false,
                    pid: None,
                });
            }
        }
        let (text, rest) = arena.split_at_mut(n);
        let text: &'a [u8] = text;
        self.inner
            .parse_chunk(text, 0, &mut Remap { sink, map: &map });
        // Structured payloads and the rest.
        let mut arena = Arena::new(rest);
        let mut aux: Vec<Aux<'a>> = Vec::with_capacity(6);
        for item in &list {
            match &item.entry {
                Some(Entry { text: Some(_), .. }) => {}
                Some(Entry { json: Some(r), .. }) => {
                    let at = (item.offset, item.line);
                    if !jsonlog::emit(r, item.ts, at, &mut arena, &mut aux, sink) {
                        sink.foreign(item.line);
                    }
                }
                Some(_) => sink.foreign(item.line),
                None => sink.skipped(item.line, item.raw),
            }
        }
        let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
        newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
    }
}

/// The entries of `data`: an array's elements, or one per non-blank line.
fn items(data: &[u8], base: u64) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    if is_array(data) {
        let mut pos = memchr::memchr(b'[', data).map_or(data.len(), |i| i + 1);
        let mut line = 1 + memchr::memchr_iter(b'\n', &data[..pos]).count() as u64;
        loop {
            let skip = data[pos..]
                .iter()
                .position(|b| !(b.is_ascii_whitespace() || *b == b','))
                .unwrap_or(data.len() - pos);
            line += memchr::memchr_iter(b'\n', &data[pos..pos + skip]).count() as u64;
            pos += skip;
            if pos >= data.len() || data[pos] == b']' {
                break;
            }
            let mut de = serde_json::Deserializer::from_slice(&data[pos..]).into_iter::<Entry>();
            let entry = de.next().and_then(Result::ok);
            let len = de.byte_offset();
            let raw = &data[pos..pos + len.max(1).min(data.len() - pos)];
            out.push(item(entry, base + pos as u64, line, raw));
            if len == 0 || out.last().is_some_and(|i| i.entry.is_none()) {
                // Cannot find the next element after a broken one.
                break;
            }
            line += memchr::memchr_iter(b'\n', &data[pos..pos + len]).count() as u64;
            pos += len;
        }
        return out;
    }
    let mut pos = 0;
    let mut line = 0;
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        line += 1;
        let raw = data[pos..end].trim_ascii();
        if !raw.is_empty() {
            let entry = serde_json::from_slice::<Entry>(raw).ok();
            out.push(item(entry, base + pos as u64, line, raw));
        }
        pos = end + 1;
    }
    out
}

fn item<'a>(entry: Option<Entry<'a>>, offset: u64, line: u64, raw: &'a [u8]) -> Item<'a> {
    let ts = entry
        .as_ref()
        .and_then(|e| e.timestamp.as_ref())
        .and_then(|t| parse_rfc3339(t.0.as_bytes()))
        .map(|p| p.ms);
    Item {
        offset,
        line,
        ts,
        entry,
        raw,
    }
}
