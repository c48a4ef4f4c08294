//! Log formats: detecting which one a file holds, and one parser type over all of them.

use super::cloudsql::{self, CloudSqlParser};
use super::cnpg::CnpgParser;
use super::csvlog::{self, CsvParser};
use super::jsonlog::JsonParser;
use super::pgbouncer::PgbouncerParser;
use super::stderr::StderrParser;
use super::syslog::{split_line, Dialect, Split, SyslogParser};
use super::{EntrySink, Prefix};

/// A log format PostgreSQL writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// stderr (with or without the logging collector), prefixed by log_line_prefix.
    Stderr,
    /// csvlog.
    Csv,
    /// jsonlog.
    Json,
    /// syslog as rsyslog/syslog-ng write it, log_line_prefix after the header.
    Syslog,
    /// Heroku logplex (`heroku logs`, a log drain).
    Heroku,
    /// Google Cloud SQL as Cloud Logging exports it (`textPayload`/`jsonPayload`).
    CloudSql,
    /// CloudNativePG's JSON lines.
    Cnpg,
    /// PgBouncer's own log (not PostgreSQL's: reported in a section of its own).
    Pgbouncer,
}

impl LogFormat {
    /// The name used in the report and by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Stderr => "stderr",
            LogFormat::Csv => "csv",
            LogFormat::Json => "json",
            LogFormat::Syslog => "syslog",
            LogFormat::Heroku => "heroku",
            LogFormat::CloudSql => "cloudsql",
            LogFormat::Cnpg => "cloudnativepg",
            LogFormat::Pgbouncer => "pgbouncer",
        }
    }

    /// The names `--format` takes, for messages.
    pub const NAMES: &'static str = "stderr, csv, json, syslog, heroku, cloudsql, cloudnativepg";

    /// Parses a `--format` value.
    pub fn from_name(s: &str) -> Option<LogFormat> {
        match s {
            "stderr" => Some(LogFormat::Stderr),
            "csv" | "csvlog" => Some(LogFormat::Csv),
            "json" | "jsonlog" => Some(LogFormat::Json),
            "syslog" => Some(LogFormat::Syslog),
            "heroku" | "logplex" => Some(LogFormat::Heroku),
            "cloudsql" | "gcp" | "cloud-logging" => Some(LogFormat::CloudSql),
            "cloudnativepg" | "cnpg" => Some(LogFormat::Cnpg),
            "pgbouncer" => Some(LogFormat::Pgbouncer),
            _ => None,
        }
    }

    /// The format of a log whose first bytes are `head`: jsonlog objects, csvlog
    /// records (a timestamp, quoted or not, then a comma), syslog, the cloud wrappers;
    /// anything else is stderr. The lines are voted on (the first 200 that are not
    /// blank): a file cut in the middle of a multi-line csv record still reads as csv.
    pub fn detect(head: &[u8]) -> LogFormat {
        if cloudsql::is_array(head) && memchr::memmem::find(head, b"Payload\"").is_some() {
            return LogFormat::CloudSql;
        }
        // Votes in the order of `ORDER`; a tie goes to the earlier.
        const ORDER: [LogFormat; 7] = [
            LogFormat::Pgbouncer,
            LogFormat::Json,
            LogFormat::Csv,
            LogFormat::Syslog,
            LogFormat::Heroku,
            LogFormat::CloudSql,
            LogFormat::Cnpg,
        ];
        let mut votes = [0usize; ORDER.len()];
        let lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l))
            .filter(|l| !l.trim_ascii().is_empty())
            .take(200);
        for line in lines {
            if let Some(f) = Self::of_line(line) {
                if let Some(i) = ORDER.iter().position(|&o| o == f) {
                    votes[i] += 1;
                }
            }
        }
        let best = votes.iter().copied().max().unwrap_or(0);
        if best == 0 {
            return LogFormat::Stderr;
        }
        ORDER[votes.iter().position(|&v| v == best).unwrap_or(0)]
    }

    /// The format a single line is typical of, if any (stderr lines have no marker of
    /// their own: a prefix can be anything).
    fn of_line(line: &[u8]) -> Option<LogFormat> {
        let has = |key: &[u8]| memchr::memmem::find(line, key).is_some();
        if line.starts_with(b"{") {
            if has(b"\"logger\":") && (has(b"\"record\":") || has(b"\"logging_pod")) {
                return Some(LogFormat::Cnpg);
            }
            if has(b"\"textPayload\":") || has(b"\"jsonPayload\":") || has(b"\"logName\":") {
                return Some(LogFormat::CloudSql);
            }
            if has(b"\"timestamp\":") {
                return Some(LogFormat::Json);
            }
        }
        if PgbouncerParser::is_line(line) {
            return Some(LogFormat::Pgbouncer);
        }
        if csvlog::is_record_line(line) {
            return Some(LogFormat::Csv);
        }
        if split_line(line).is_some() {
            return Some(LogFormat::Syslog);
        }
        match Dialect::Heroku.split(line) {
            Split::Line(_) | Split::Foreign => Some(LogFormat::Heroku),
            Split::NotHeader => None,
        }
    }
}

/// A parser for one input, whatever its format.
#[derive(Debug, Clone)]
pub enum LogParser {
    /// stderr with its prefix.
    Stderr(StderrParser),
    /// csvlog.
    Csv(CsvParser),
    /// jsonlog.
    Json(JsonParser),
    /// syslog, or Heroku logplex (its dialect).
    Syslog(SyslogParser),
    /// Cloud SQL through Cloud Logging.
    CloudSql(CloudSqlParser),
    /// CloudNativePG.
    Cnpg(CnpgParser),
    /// PgBouncer.
    Pgbouncer(PgbouncerParser),
}

impl LogParser {
    /// The format parsed.
    pub fn format(&self) -> LogFormat {
        match self {
            LogParser::Stderr(_) => LogFormat::Stderr,
            LogParser::Csv(_) => LogFormat::Csv,
            LogParser::Json(_) => LogFormat::Json,
            LogParser::Syslog(p) if p.dialect() == Dialect::Heroku => LogFormat::Heroku,
            LogParser::Syslog(_) => LogFormat::Syslog,
            LogParser::CloudSql(_) => LogFormat::CloudSql,
            LogParser::Cnpg(_) => LogFormat::Cnpg,
            LogParser::Pgbouncer(_) => LogFormat::Pgbouncer,
        }
    }

    /// The log_line_prefix, for stderr.
    pub fn prefix(&self) -> Option<&Prefix> {
        match self {
            LogParser::Stderr(p) => Some(p.prefix()),
            LogParser::Syslog(p) => Some(p.inner().prefix()),
            LogParser::CloudSql(p) => Some(p.inner().prefix()),
            _ => None,
        }
    }

    /// The stderr parser inside (stderr and syslog).
    pub fn stderr(&self) -> Option<&StderrParser> {
        match self {
            LogParser::Stderr(p) => Some(p),
            LogParser::Syslog(p) => Some(p.inner()),
            LogParser::CloudSql(p) => Some(p.inner()),
            _ => None,
        }
    }

    /// Bytes of arena `parse_chunk` needs for a chunk of `len` bytes.
    pub fn arena_len(&self, len: usize) -> usize {
        match self {
            LogParser::Stderr(_) | LogParser::Pgbouncer(_) => 0,
            _ => len,
        }
    }

    /// The first entry boundary at or after `from` in `data`, which starts at an entry
    /// boundary: where a chunk may start.
    pub fn next_boundary(&self, data: &[u8], from: usize) -> Option<usize> {
        match self {
            LogParser::Stderr(p) => {
                next_start_where(data, from, |rest| p.is_entry_start(first_line(rest)))
            }
            LogParser::Json(p) => {
                next_start_where(data, from, |rest| p.is_entry_start(first_line(rest)))
            }
            LogParser::Syslog(p) => next_start_where(data, from, |rest| p.is_boundary(rest)),
            LogParser::Csv(p) => p.next_boundary(data, from),
            // An array export is one chunk.
            LogParser::CloudSql(_) if cloudsql::is_array(data) => None,
            LogParser::CloudSql(p) => {
                next_start_where(data, from, |rest| p.is_entry_start(first_line(rest)))
            }
            LogParser::Cnpg(p) => {
                next_start_where(data, from, |rest| p.is_entry_start(first_line(rest)))
            }
            // One line, one entry: any line start is a boundary.
            LogParser::Pgbouncer(_) => next_start_where(data, from, |_| true),
        }
    }

    /// True when an entry starts at the start of `rest`, a line start; for csv, when a
    /// record looks like it starts there (the quote parity is not known).
    pub fn is_boundary(&self, rest: &[u8]) -> bool {
        match self {
            LogParser::Stderr(p) => p.is_entry_start(first_line(rest)),
            LogParser::Json(p) => p.is_entry_start(first_line(rest)),
            LogParser::Syslog(p) => p.is_boundary(rest),
            LogParser::Csv(p) => p.is_record_start(rest),
            LogParser::CloudSql(p) => p.is_entry_start(first_line(rest)),
            LogParser::Cnpg(p) => p.is_entry_start(first_line(rest)),
            LogParser::Pgbouncer(_) => true,
        }
    }

    /// The last entry boundary after the start of `data` (which starts at one), on a
    /// complete line: where a block read from a stream is cut.
    pub fn last_boundary(&self, data: &[u8]) -> Option<usize> {
        match self {
            LogParser::Stderr(p) => {
                last_start_where(data, |rest| p.is_entry_start(first_line(rest)))
            }
            LogParser::Json(p) => last_start_where(data, |rest| p.is_entry_start(first_line(rest))),
            LogParser::Syslog(p) => last_start_where(data, |rest| p.is_boundary(rest)),
            LogParser::Csv(p) => p.last_boundary(data),
            LogParser::CloudSql(_) if cloudsql::is_array(data) => None,
            LogParser::CloudSql(p) => {
                last_start_where(data, |rest| p.is_entry_start(first_line(rest)))
            }
            LogParser::Cnpg(p) => last_start_where(data, |rest| p.is_entry_start(first_line(rest))),
            LogParser::Pgbouncer(_) => last_start_where(data, |_| true),
        }
    }

    /// Parses a chunk that starts at an entry boundary, at byte `base` of its input.
    /// `arena` must hold [`LogParser::arena_len`] bytes. Returns the number of lines.
    pub fn parse_chunk<'a>(
        &self,
        data: &'a [u8],
        arena: &'a mut [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        match self {
            LogParser::Stderr(p) => p.parse_chunk(data, base, sink),
            LogParser::Csv(p) => p.parse_chunk(data, arena, base, sink),
            LogParser::Json(p) => p.parse_chunk(data, arena, base, sink),
            LogParser::Syslog(p) => p.parse_chunk(data, arena, base, sink),
            LogParser::CloudSql(p) => p.parse_chunk(data, arena, base, sink),
            LogParser::Cnpg(p) => p.parse_chunk(data, arena, base, sink),
            LogParser::Pgbouncer(p) => p.parse_chunk(data, base, sink),
        }
    }
}

/// The first line start at or after `from` where `is_start(rest of data)` holds.
fn next_start_where(data: &[u8], from: usize, is_start: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut pos = from.min(data.len());
    if pos > 0 && data[pos - 1] != b'\n' {
        pos += memchr::memchr(b'\n', &data[pos..])? + 1;
    }
    while pos < data.len() {
        if is_start(&data[pos..]) {
            return Some(pos);
        }
        pos += memchr::memchr(b'\n', &data[pos..])? + 1;
    }
    None
}

/// The last line start after the start of `data` where `is_start(rest of data)` holds.
fn last_start_where(data: &[u8], is_start: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut end = data.len();
    while let Some(nl) = memchr::memrchr(b'\n', &data[..end]) {
        let start = nl + 1;
        if start < data.len() && is_start(&data[start..]) {
            return Some(start);
        }
        end = nl;
    }
    None
}

/// The first line of `rest`, without its newline.
fn first_line(rest: &[u8]) -> &[u8] {
    memchr::memchr(b'\n', rest).map_or(rest, |i| &rest[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_from_the_first_line() {
        assert_eq!(
            LogFormat::detect(b"{\"timestamp\":\"2026-11-24 04:39:41.180 UTC\",\"user\":\"x\"}\n"),
            LogFormat::Json
        );
        assert_eq!(
            LogFormat::detect(b"\n2026-11-24 04:39:41.180 UTC,\"app_rw\",\"bench\",20533\n"),
            LogFormat::Csv
        );
        assert_eq!(
            LogFormat::detect(b"2026-11-24 04:39:41.180 UTC [1] LOG:  x\n"),
            LogFormat::Stderr
        );
        assert_eq!(
            LogFormat::detect(b"2026-11-24 04:39:41 UTC [1]: [3-1] user=,db= LOG:  x\n"),
            LogFormat::Stderr
        );
        assert_eq!(LogFormat::detect(b""), LogFormat::Stderr);
        // A csvlog cut inside a multi-line record: the first line is SQL.
        assert_eq!(
            LogFormat::detect(b"  DECLARE x int;\n  BEGIN\",,,,\n2026-11-24 04:39:41.180 UTC,\"u\",\"d\",1\n2026-11-24 04:39:41.181 UTC,\"u\",\"d\",1\n"),
            LogFormat::Csv
        );
        assert_eq!(
            LogFormat::detect(b"Nov 24 06:11:07 vm postgres[3841]: [1-1] 2026-11-24 06:11:07.872 UTC [3841] LOG:  x\n"),
            LogFormat::Syslog
        );
        assert_eq!(
            LogFormat::detect(b"2026-11-30 22:40:32.774 UTC [11204] LOG listening on 127.0.0.1:43473\n2026-11-30 22:40:33.838 UTC [11204] LOG S-0x563a5c89ff80: bench/app@127.0.0.1:37489 new connection to server (from 127.0.0.1:35074)\n"),
            LogFormat::Pgbouncer
        );
    }

    #[test]
    fn detects_the_cloud_wrappers_and_quoted_csv() {
        assert_eq!(
            LogFormat::detect(b"\"2026-11-24 04:39:41.180 UTC\",\"app_rw\",\"bench\",\"20533\"\n"),
            LogFormat::Csv
        );
        assert_eq!(
            LogFormat::detect(b"2026-11-30T12:00:00.123456+00:00 app[postgres.1234]: [DATABASE] [10-1] sql_error_code = 00000 LOG:  x\n2026-11-30T12:00:00+00:00 app[heroku-postgres]: source=DATABASE sample#db_size=1bytes\n"),
            LogFormat::Heroku
        );
        assert_eq!(
            LogFormat::detect(br#"{"insertId":"x","logName":"projects/p/logs/cloudsql.googleapis.com%2Fpostgres.log","textPayload":"2026-11-30 12:00:00.123 UTC [1]: [1-1] db=,user= LOG:  x","timestamp":"2026-11-30T12:00:00.123Z"}"#),
            LogFormat::CloudSql
        );
        assert_eq!(
            LogFormat::detect(b"[\n  {\n    \"textPayload\": \"x\",\n    \"timestamp\": \"2026-11-30T12:00:00Z\"\n  }\n]\n"),
            LogFormat::CloudSql
        );
        assert_eq!(
            LogFormat::detect(br#"{"level":"info","ts":"2025-12-09T00:32:20.823314307Z","logger":"postgres","msg":"record","logging_pod":"c-1","record":{"log_time":"2025-12-09 00:32:20.822 UTC"}}"#),
            LogFormat::Cnpg
        );
        for name in ["heroku", "cloudsql", "cloudnativepg"] {
            assert_eq!(LogFormat::from_name(name).map(LogFormat::name), Some(name));
        }
    }
}
