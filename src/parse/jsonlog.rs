//! jsonlog (PostgreSQL 15+): one JSON object per line; keys are absent when empty.
//!
//! serde_json deserializes borrowing from the input; strings that carried escapes
//! (`\n`, `\"`) come out owned and are copied into the chunk's arena, so every entry
//! borrows for the whole chunk as with the other formats.

use super::prefix::Severity;
use super::time::parse_timestamp;
use super::{Aux, EntrySink, Fields, LogEntry};
use serde::Deserialize;
use std::borrow::Cow;

/// A string borrowed from the input when it has no escapes. (serde borrows a bare
/// `Cow<str>` field, but not one inside an `Option`: the newtype makes it borrow.)
#[derive(Debug, Deserialize)]
pub(super) struct Text<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

/// The keys pgferret reads. (Cloud Logging's `jsonPayload` holds the same record,
/// maybe without its timestamp, which the entry then gives.)
#[derive(Debug, Deserialize)]
pub(super) struct Record<'a> {
    #[serde(borrow, default)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow, default)]
    user: Option<Text<'a>>,
    #[serde(borrow, default)]
    dbname: Option<Text<'a>>,
    #[serde(default)]
    pid: Option<u32>,
    #[serde(borrow, default)]
    remote_host: Option<Text<'a>>,
    #[serde(borrow, default)]
    session_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    error_severity: Option<Text<'a>>,
    #[serde(borrow, default)]
    state_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(borrow, default)]
    detail: Option<Text<'a>>,
    #[serde(borrow, default)]
    hint: Option<Text<'a>>,
    #[serde(borrow, default)]
    internal_query: Option<Text<'a>>,
    #[serde(borrow, default)]
    context: Option<Text<'a>>,
    #[serde(borrow, default)]
    statement: Option<Text<'a>>,
    #[serde(borrow, default)]
    application_name: Option<Text<'a>>,
    #[serde(default)]
    query_id: Option<i64>,
}

/// Parses jsonlog chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonParser;

/// Hands out pieces of the arena: borrowed strings stay where they are, owned ones
/// are copied in.
pub(super) struct Arena<'a> {
    free: &'a mut [u8],
}

impl<'a> Arena<'a> {
    /// Hands out pieces of `free`.
    pub(super) fn new(free: &'a mut [u8]) -> Self {
        Arena { free }
    }

    /// The bytes of `s`: borrowed from the input, or copied into the arena.
    pub(super) fn keep(&mut self, s: &Option<Text<'a>>) -> &'a [u8] {
        match s {
            None => &[],
            Some(Text(Cow::Borrowed(b))) => b.as_bytes(),
            Some(Text(Cow::Owned(o))) => {
                let n = o.len().min(self.free.len());
                let free = std::mem::take(&mut self.free);
                let (dst, rest) = free.split_at_mut(n);
                dst.copy_from_slice(&o.as_bytes()[..n]);
                self.free = rest;
                dst
            }
        }
    }
}

impl JsonParser {
    /// Every line that opens an object starts an entry.
    pub fn is_entry_start(&self, rest: &[u8]) -> bool {
        rest.first() == Some(&b'{')
    }

    /// Parses every line of `data` (starting at byte `base` of its file), copying
    /// unescaped strings into `arena` (at least `data.len()` bytes). Returns lines.
    pub fn parse_chunk<'a>(
        &self,
        data: &'a [u8],
        arena: &'a mut [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        let mut arena = Arena::new(arena);
        let mut aux: Vec<Aux<'a>> = Vec::with_capacity(6);
        let mut line_no = 0;
        let mut pos = 0;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line = &data[pos..end];
            line_no += 1;
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
            if !trimmed.is_empty() {
                match serde_json::from_slice::<Record<'a>>(trimmed) {
                    Ok(r) => {
                        let at = (base + pos as u64, line_no);
                        if !emit(&r, None, at, &mut arena, &mut aux, sink) {
                            sink.skipped(line_no, line);
                        }
                    }
                    Err(_) => sink.skipped(line_no, line),
                }
            }
            pos = end + 1;
        }
        line_no
    }
}

/// Hands on the entry of record `r` at (file offset, line); `ts` is the time when the
/// record has none. False when it is not a log record.
pub(super) fn emit<'a>(
    r: &Record<'a>,
    ts: Option<super::Millis>,
    (offset, line): (u64, u64),
    arena: &mut Arena<'a>,
    aux: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) -> bool {
    let own = r
        .timestamp
        .as_ref()
        .and_then(|t| parse_timestamp(t.0.as_bytes(), true));
    let (ts, zone_known) = match (own, ts) {
        (Some(p), _) => (p.ms, p.zone_known),
        (None, Some(ms)) => (ms, true),
        (None, None) => return false,
    };
    let Some(severity) = r
        .error_severity
        .as_ref()
        .and_then(|s| Severity::from_word(s.0.as_bytes()))
    else {
        return false;
    };
    let fields = Fields {
        ts: Some(ts),
        zone_unknown: !zone_known,
        pid: r.pid,
        user: arena.keep(&r.user),
        db: arena.keep(&r.dbname),
        app: arena.keep(&r.application_name),
        host: arena.keep(&r.remote_host),
        session: arena.keep(&r.session_id),
        sqlstate: arena.keep(&r.state_code),
        query_id: r.query_id.filter(|&q| q != 0),
        unattributed: false,
    };
    aux.clear();
    for (v, severity) in [
        (&r.detail, Severity::Detail),
        (&r.hint, Severity::Hint),
        (&r.internal_query, Severity::Query),
        (&r.context, Severity::Context),
        (&r.statement, Severity::Statement),
    ] {
        if v.is_some() {
            aux.push(Aux {
                severity,
                text: arena.keep(v),
            });
        }
    }
    sink.entry(&LogEntry {
        offset,
        line,
        fields,
        severity,
        message: arena.keep(&r.message),
        aux,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, message, pid, query id, auxiliary lines)
    type Seen = (u64, String, Option<u32>, Option<i64>, usize);

    #[derive(Default)]
    struct Collect(Vec<Seen>, Vec<u64>);

    impl<'a> EntrySink<'a> for Collect {
        fn entry(&mut self, e: &LogEntry<'a, '_>) {
            self.0.push((
                e.line,
                String::from_utf8_lossy(e.message).into_owned(),
                e.fields.pid,
                e.fields.query_id,
                e.aux.len(),
            ));
        }
        fn skipped(&mut self, line: u64, _: &'a [u8]) {
            self.1.push(line);
        }
    }

    #[test]
    fn borrowed_and_escaped_strings() {
        let data = concat!(
            r#"{"timestamp":"2026-11-24 04:39:41.429 UTC","pid":20557,"error_severity":"LOG","message":"duration: 0.706 ms  execute <unnamed>: SELECT \"a\"\n  FROM t","detail":"parameters: $1 = '72871'","query_id":-21}"#,
            "\nnot json\n",
            r#"{"timestamp":"2026-11-24 04:39:41.430 UTC","error_severity":"ERROR","message":"boom"}"#,
            "\n"
        );
        let mut arena = vec![0u8; data.len()];
        let mut c = Collect::default();
        let lines = JsonParser.parse_chunk(data.as_bytes(), &mut arena, 0, &mut c);
        assert_eq!(lines, 3);
        assert_eq!(c.1, vec![2]);
        assert_eq!(
            c.0[0],
            (
                1,
                "duration: 0.706 ms  execute <unnamed>: SELECT \"a\"\n  FROM t".into(),
                Some(20557),
                Some(-21),
                1
            )
        );
        assert_eq!(c.0[1], (3, "boom".into(), None, None, 0));
    }
}
