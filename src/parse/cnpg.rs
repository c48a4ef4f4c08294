//! CloudNativePG: every line on the pod's stdout is a JSON object from the instance
//! manager; PostgreSQL's own records are those with `"logger":"postgres"` and
//! `"msg":"record"`, the csvlog columns under `record` as strings:
//! `{"level":"info","ts":"...","logger":"postgres","msg":"record","logging_pod":"c-1",
//! "record":{"log_time":"2025-12-09 00:32:20.822 UTC","user_name":"app",...}}`.
//! Other lines (the instance manager's own, pg_controldata, raw pre-collector text)
//! are foreign: passed over and counted. Strings are borrowed, or copied into the
//! chunk's arena when they carried escapes, as for jsonlog.

use super::csvlog::strip_port;
use super::jsonlog::{Arena, Text};
use super::prefix::Severity;
use super::time::parse_timestamp;
use super::{Aux, EntrySink, Fields, LogEntry};
use serde::Deserialize;
use std::borrow::Cow;

/// A number CloudNativePG writes as a string (`"process_id":"4003"`), or as a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Num<'a> {
    Int(i64),
    Str(#[serde(borrow)] Cow<'a, str>),
}

impl Num<'_> {
    fn get(n: &Option<Num<'_>>) -> Option<i64> {
        match n.as_ref()? {
            Num::Int(i) => Some(*i),
            Num::Str(s) => s.trim().parse().ok(),
        }
    }
}

/// One stdout line.
#[derive(Debug, Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    logger: Option<Text<'a>>,
    #[serde(borrow, default)]
    msg: Option<Text<'a>>,
    #[serde(borrow, default)]
    record: Option<Record<'a>>,
}

/// The csvlog columns pgferret reads, as CloudNativePG names them.
#[derive(Debug, Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    log_time: Option<Text<'a>>,
    #[serde(borrow, default)]
    user_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    database_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    process_id: Option<Num<'a>>,
    #[serde(borrow, default)]
    connection_from: Option<Text<'a>>,
    #[serde(borrow, default)]
    session_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    error_severity: Option<Text<'a>>,
    #[serde(borrow, default)]
    sql_state_code: Option<Text<'a>>,
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
    query: Option<Text<'a>>,
    #[serde(borrow, default)]
    location: Option<Text<'a>>,
    #[serde(borrow, default)]
    application_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    query_id: Option<Num<'a>>,
}

/// Parses CloudNativePG chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CnpgParser;

impl CnpgParser {
    /// Every line that opens an object starts an entry.
    pub fn is_entry_start(&self, rest: &[u8]) -> bool {
        rest.first() == Some(&b'{')
    }

    /// Parses every line of `data` (at byte `base` of its file), copying unescaped
    /// strings into `arena` (at least `data.len()` bytes). Returns the number of lines.
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
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
            if !trimmed.is_empty() {
                match serde_json::from_slice::<Line<'a>>(trimmed) {
                    Ok(l) if is_postgres_record(&l) => {
                        let r = l.record.as_ref().expect("checked");
                        let at = (base + pos as u64, line_no);
                        if !emit(r, at, &mut arena, &mut aux, sink) {
                            sink.skipped(line_no, line);
                        }
                    }
                    Ok(l) if l.logger.is_some() || l.msg.is_some() => sink.foreign(line_no),
                    _ => sink.skipped(line_no, line),
                }
            }
            pos = end + 1;
        }
        line_no
    }
}

fn is_postgres_record(l: &Line<'_>) -> bool {
    l.logger.as_ref().is_some_and(|t| t.0 == "postgres") && l.record.is_some()
}

fn emit<'a>(
    r: &Record<'a>,
    (offset, line): (u64, u64),
    arena: &mut Arena<'a>,
    aux: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) -> bool {
    let Some(ts) = r
        .log_time
        .as_ref()
        .and_then(|t| parse_timestamp(t.0.as_bytes(), true))
    else {
        return false;
    };
    let Some(severity) = r
        .error_severity
        .as_ref()
        .and_then(|s| Severity::from_word(s.0.as_bytes()))
    else {
        return false;
    };
    let fields = Fields {
        ts: Some(ts.ms),
        zone_unknown: !ts.zone_known,
        pid: Num::get(&r.process_id).and_then(|p| u32::try_from(p).ok()),
        user: arena.keep(&r.user_name),
        db: arena.keep(&r.database_name),
        app: arena.keep(&r.application_name),
        host: strip_port(arena.keep(&r.connection_from)),
        session: arena.keep(&r.session_id),
        sqlstate: arena.keep(&r.sql_state_code),
        query_id: Num::get(&r.query_id).filter(|&q| q != 0),
        unattributed: false,
    };
    aux.clear();
    for (v, severity) in [
        (&r.detail, Severity::Detail),
        (&r.hint, Severity::Hint),
        (&r.internal_query, Severity::Query),
        (&r.context, Severity::Context),
        (&r.query, Severity::Statement),
        (&r.location, Severity::Location),
    ] {
        if v.as_ref().is_some_and(|t| !t.0.is_empty()) {
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

    /// (line, message, pid, query id, host)
    type Entry = (u64, String, Option<u32>, Option<i64>, String);

    #[derive(Default)]
    struct Seen(Vec<Entry>, u64, u64);

    impl<'a> EntrySink<'a> for Seen {
        fn entry(&mut self, e: &LogEntry<'a, '_>) {
            self.0.push((
                e.line,
                String::from_utf8_lossy(e.message).into_owned(),
                e.fields.pid,
                e.fields.query_id,
                String::from_utf8_lossy(e.fields.host).into_owned(),
            ));
        }
        fn skipped(&mut self, _: u64, _: &'a [u8]) {
            self.1 += 1;
        }
        fn foreign(&mut self, _: u64) {
            self.2 += 1;
        }
    }

    #[test]
    fn records_foreign_lines_and_garbage() {
        let data = concat!(
            r#"{"level":"info","ts":"2025-12-09T00:32:20.823314307Z","logger":"postgres","msg":"record","logging_pod":"c-1","record":{"log_time":"2025-12-09 00:32:20.822 UTC","user_name":"postgres","database_name":"postgres","process_id":"4003","connection_from":"10.0.0.9:5544","session_id":"69376dbf.fa3","session_line_num":"1","command_tag":"SELECT","error_severity":"LOG","sql_state_code":"00000","message":"duration: 100.000 ms  statement: SELECT \"a\"","application_name":"psql","backend_type":"client backend","query_id":"-42"}}"#,
            "\n",
            r#"{"level":"info","ts":"2025-12-09T00:32:21Z","logger":"instance-manager","msg":"Checking for free disk space for WALs","logging_pod":"c-1"}"#,
            "\nnot json\n"
        );
        let mut arena = vec![0u8; data.len()];
        let mut seen = Seen::default();
        let lines = CnpgParser.parse_chunk(data.as_bytes(), &mut arena, 0, &mut seen);
        assert_eq!(lines, 3);
        assert_eq!((seen.1, seen.2), (1, 1));
        assert_eq!(
            seen.0,
            vec![(
                1,
                "duration: 100.000 ms  statement: SELECT \"a\"".into(),
                Some(4003),
                Some(-42),
                "10.0.0.9".into()
            )]
        );
    }
}
