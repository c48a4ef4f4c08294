//! csvlog: one CSV record per entry, quoted fields with embedded newlines and doubled
//! quotes. 23 columns on PostgreSQL 12, 24 on 13 (+backend_type), 26 on 14–18
//! (+leader_pid, query_id); the column count is read per record.
//!
//! Records are decoded by csv-core into an arena as long as the chunk (a decoded field
//! is never longer than its encoding), so every entry borrows for the whole chunk just
//! as stderr entries borrow from the mapped file, and nothing is allocated per record.

use super::prefix::Severity;
use super::time::parse_timestamp;
use super::{Aux, EntrySink, Fields, LogEntry};
use csv_core::{ReadRecordResult, Reader};

/// Fewest and most columns a csvlog record has.
const MIN_COLUMNS: usize = 23;
const MAX_COLUMNS: usize = 26;

/// Parses csvlog chunks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvParser;

impl CsvParser {
    /// The first record boundary at or after `from` in `data`, which starts at a
    /// record boundary: a newline outside a quoted field, as csv-core reads quotes
    /// from `data`'s start (see [`line_ends`]), followed by a line that starts with a
    /// timestamp. A line inside a quoted field is never taken, however much it looks
    /// like a record.
    pub fn next_boundary(&self, data: &[u8], from: usize) -> Option<usize> {
        line_ends(data)
            .map(|i| i + 1)
            .find(|&p| p >= from && is_record_line(&data[p..]))
    }

    /// True when `rest` starts like a record (quote state unknown: for finding one's
    /// way again after passing over bytes).
    pub fn is_record_start(&self, rest: &[u8]) -> bool {
        is_record_line(rest)
    }

    /// The last record boundary after `data`'s start (a record boundary) on a complete
    /// line, found the same way.
    pub fn last_boundary(&self, data: &[u8]) -> Option<usize> {
        let mut last = None;
        let mut line_start: Option<usize> = None;
        for i in line_ends(data) {
            // A boundary counts once the line it starts is complete.
            if line_start.is_some() {
                last = line_start;
            }
            line_start = is_record_line(&data[i + 1..]).then_some(i + 1);
        }
        last
    }

    /// Parses every record of `data` (starting at byte `base` of its file), decoding
    /// into `arena` (at least `data.len()` bytes). Returns the number of lines.
    pub fn parse_chunk<'a>(
        &self,
        data: &'a [u8],
        arena: &'a mut [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        let mut rdr = Reader::new();
        let mut out: &'a mut [u8] = arena;
        let mut ends = [0usize; MAX_COLUMNS + 1];
        let mut aux: Vec<Aux<'a>> = Vec::with_capacity(6);
        let (mut pos, mut start, mut line, mut start_line) = (0usize, 0usize, 1u64, 1u64);
        let mut written = 0usize;
        let mut nends = 0usize;
        let mut too_many = false;
        let mut last_skipped = None;
        loop {
            let input = &data[pos..];
            let (res, nin, nout, n) =
                rdr.read_record(input, &mut out[written..], &mut ends[nends..]);
            line += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
            pos += nin;
            written += nout;
            nends += n;
            match res {
                // More input, or (with empty input) the end: csv-core then returns
                // the last record or End.
                ReadRecordResult::InputEmpty => continue,
                ReadRecordResult::OutputFull | ReadRecordResult::End => break,
                ReadRecordResult::OutputEndsFull => {
                    too_many = true;
                    nends = 0;
                    continue;
                }
                ReadRecordResult::Record => {}
            }
            let taken = std::mem::take(&mut out);
            let (rec, rest) = taken.split_at_mut(written);
            out = rest;
            let rec: &'a [u8] = rec;
            let ok = !too_many
                && emit(
                    rec,
                    &ends[..nends],
                    base + start as u64,
                    start_line,
                    &mut aux,
                    sink,
                );
            // csv-core also ends records at a lone `\r`: a line is skipped once, however
            // many records it held.
            if !ok && last_skipped != Some(start_line) {
                let raw = &data[start..pos];
                let first = raw.split(|&b| b == b'\n').next().unwrap_or(raw);
                sink.skipped(start_line, first);
                last_skipped = Some(start_line);
            }
            (start, start_line, written, nends, too_many) = (pos, line, 0, 0, false);
        }
        // The count of lines is the count of newlines, plus an unterminated last line.
        let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
        newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
    }
}

/// A record starts with its timestamp followed by a comma; some exporters quote it
/// (`"2026-11-30 12:00:00.123 UTC","user",...`).
pub fn is_record_line(rest: &[u8]) -> bool {
    let (rest, close) = match rest.strip_prefix(b"\"") {
        Some(r) => (r, &b"\","[..]),
        None => (rest, &b","[..]),
    };
    parse_timestamp(rest, true).is_some_and(|t| rest[t.len..].starts_with(close))
}

/// Where csv-core stands in a field, as far as quotes go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// At a field's first byte: a `"` opens a quoted field.
    Start,
    /// In an unquoted field: a `"` is data.
    Plain,
    /// In a quoted field: newlines and commas are data.
    Open,
    /// Just after a `"` in a quoted field: `""` is an escaped quote, anything else
    /// closes the field.
    Closing,
}

/// The positions of the newlines of `data` (which starts at a record boundary) that
/// end a record: those outside a quoted field, as csv-core reads quotes (a `"` opens
/// a quoted field only as a field's first byte; in an unquoted field it is data, so
/// counting quotes would disagree with the parser on a malformed line). `\r` ends a
/// record too, as csv-core's CRLF terminator does.
fn line_ends(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let (mut q, mut i) = (Quote::Start, 0usize);
    std::iter::from_fn(move || {
        while i < data.len() {
            match q {
                Quote::Open => match memchr::memchr(b'"', &data[i..]) {
                    Some(k) => (q, i) = (Quote::Closing, i + k + 1),
                    None => i = data.len(),
                },
                Quote::Plain => match memchr::memchr3(b',', b'\n', b'\r', &data[i..]) {
                    Some(k) => (q, i) = (Quote::Start, i + k),
                    None => i = data.len(),
                },
                Quote::Start | Quote::Closing => {
                    let b = data[i];
                    i += 1;
                    q = match (q, b) {
                        (_, b'\n') => {
                            q = Quote::Start;
                            return Some(i - 1);
                        }
                        (_, b',' | b'\r') => Quote::Start,
                        (Quote::Start | Quote::Closing, b'"') => Quote::Open,
                        _ => Quote::Plain,
                    };
                }
            }
        }
        None
    })
}

/// Builds the entry of one decoded record; false when it is not a csvlog record.
fn emit<'a>(
    rec: &'a [u8],
    ends: &[usize],
    offset: u64,
    line: u64,
    aux: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) -> bool {
    if !(MIN_COLUMNS..=MAX_COLUMNS).contains(&ends.len()) {
        return false;
    }
    // Field `i`, empty when the record has fewer columns (PostgreSQL 12 and 13).
    let f = |i: usize| -> &'a [u8] {
        let start = if i == 0 {
            Some(0)
        } else {
            ends.get(i - 1).copied()
        };
        match (start, ends.get(i)) {
            (Some(s), Some(&e)) => &rec[s..e],
            _ => &[],
        }
    };
    let Some(ts) = parse_timestamp(f(0), true) else {
        return false;
    };
    let Some(severity) = Severity::from_word(f(11)) else {
        return false;
    };
    let fields = Fields {
        ts: Some(ts.ms),
        zone_unknown: !ts.zone_known,
        pid: std::str::from_utf8(f(3)).ok().and_then(|s| s.parse().ok()),
        user: f(1),
        db: f(2),
        app: f(22),
        host: strip_port(f(4)),
        session: f(5),
        sqlstate: f(12),
        query_id: std::str::from_utf8(f(25))
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&q: &i64| q != 0),
        unattributed: false,
    };
    aux.clear();
    for (i, sev) in [
        (14, Severity::Detail),
        (15, Severity::Hint),
        (16, Severity::Query),
        (18, Severity::Context),
        (19, Severity::Statement),
        (21, Severity::Location),
    ] {
        if !f(i).is_empty() {
            aux.push(Aux {
                severity: sev,
                text: f(i),
            });
        }
    }
    sink.entry(&LogEntry {
        offset,
        line,
        fields,
        severity,
        message: f(13),
        aux,
    });
    true
}

/// `host:port` → `host` (`[local]` and bare hosts unchanged).
pub fn strip_port(v: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', v) {
        Some(i) if i + 1 < v.len() && v[i + 1..].iter().all(u8::is_ascii_digit) => &v[..i],
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        entries: Vec<(u64, u64, String, String, Vec<String>)>,
        skipped: Vec<u64>,
    }

    impl<'a> EntrySink<'a> for Collect {
        fn entry(&mut self, e: &LogEntry<'a, '_>) {
            self.entries.push((
                e.offset,
                e.line,
                String::from_utf8_lossy(e.message).into_owned(),
                String::from_utf8_lossy(e.fields.host).into_owned(),
                e.aux
                    .iter()
                    .map(|a| {
                        format!(
                            "{}:{}",
                            a.severity.as_str(),
                            String::from_utf8_lossy(a.text)
                        )
                    })
                    .collect(),
            ));
        }
        fn skipped(&mut self, line: u64, _: &'a [u8]) {
            self.skipped.push(line);
        }
    }

    const REC: &str = "2026-11-24 04:39:41.180 UTC,\"app_rw\",\"bench\",20533,\"127.0.0.1:33090\",6b05150d.5035,4,\"INSERT\",2026-11-24 04:39:41 UTC,3/0,0,LOG,00000,\"duration: 10.050 ms  statement: SELECT 'a \"\"b\"\"',\n  2\",\"parameters: $1 = 'x'\",,,,,,,,\"billing-cron\",\"client backend\",,-3721790156520260258\n";

    fn parse(data: &str) -> (Collect, u64) {
        let mut arena = vec![0u8; data.len()];
        let mut c = Collect::default();
        let lines = CsvParser.parse_chunk(data.as_bytes(), &mut arena, 100, &mut c);
        (c, lines)
    }

    #[test]
    fn decodes_quotes_newlines_and_columns() {
        let data = format!("{REC}garbage line\n{REC}");
        let (c, lines) = parse(&data);
        assert_eq!(lines, 5);
        assert_eq!(c.skipped, vec![3]);
        assert_eq!(c.entries.len(), 2);
        let e = &c.entries[0];
        assert_eq!((e.0, e.1), (100, 1));
        assert_eq!(
            e.2,
            "duration: 10.050 ms  statement: SELECT 'a \"b\"',\n  2"
        );
        assert_eq!(e.3, "127.0.0.1");
        assert_eq!(e.4, vec!["DETAIL:parameters: $1 = 'x'".to_string()]);
        assert_eq!(c.entries[1].1, 4);
        assert_eq!(c.entries[1].0, 100 + (REC.len() + 13) as u64);
    }

    #[test]
    fn last_record_without_newline_and_truncated_record() {
        let (c, _) = parse(REC.trim_end());
        assert_eq!(c.entries.len(), 1);
        let cut = &REC[..60];
        let (c, _) = parse(cut);
        assert_eq!(c.entries.len(), 0);
        assert_eq!(c.skipped.len(), 1);
    }

    /// A record whose quoted SQL holds a line shaped exactly like a 26-column record.
    fn decoy() -> String {
        let fake = "2026-11-24 04:39:41.180 UTC,a,b,1,h,s,1,t,2026-11-24 04:39:41 UTC,1/1,0,LOG,00000,duration: 9.000 ms  statement: fake,,,,,,,,,app,client backend,,1";
        REC.replace(
            "SELECT 'a \"\"b\"\"',\n  2",
            &format!("SELECT '\n{fake}\n'"),
        )
    }

    #[test]
    fn boundaries_follow_quotes_not_line_shapes() {
        let data = format!("{REC}{}{REC}", decoy());
        let d = data.as_bytes();
        let second = REC.len();
        let third = REC.len() + decoy().len();
        // From anywhere inside the first record: the second; inside the decoy: the third.
        assert_eq!(CsvParser.next_boundary(d, 1), Some(second));
        assert_eq!(CsvParser.next_boundary(d, second + 1), Some(third));
        assert_eq!(CsvParser.next_boundary(d, third + 1), None);
        assert_eq!(CsvParser.last_boundary(d), Some(third));
        assert_eq!(CsvParser.last_boundary(&d[..third + 10]), Some(second));
        let (c, _) = parse(&data);
        assert_eq!(c.entries.len(), 3);
        assert!(c.entries[1].2.contains("statement: SELECT '\n2026-11-24"));
    }

    /// PostgreSQL 12 writes the first 23 columns (up to application_name), 13 adds
    /// backend_type (24), 14+ leader_pid and query_id (26).
    #[test]
    fn older_column_counts() {
        let cols26 = REC.trim_end_matches('\n');
        let cut = |n: usize| {
            // Columns end at top-level commas; the message field holds none outside quotes
            // after the record's quoted fields, so cut at the last n-1 commas from the end.
            let commas: Vec<usize> = cols26.match_indices(',').map(|(i, _)| i).collect();
            format!("{}\n", &cols26[..commas[commas.len() - (26 - n)]])
        };
        for n in [23, 24, 26] {
            let rec = if n == 26 { REC.to_string() } else { cut(n) };
            let mut arena = vec![0u8; rec.len()];
            let mut app = String::new();
            struct App<'x>(&'x mut String, usize);
            impl<'a> EntrySink<'a> for App<'_> {
                fn entry(&mut self, e: &LogEntry<'a, '_>) {
                    *self.0 = String::from_utf8_lossy(e.fields.app).into_owned();
                    self.1 += 1;
                }
                fn skipped(&mut self, _: u64, _: &'a [u8]) {}
            }
            let mut sink = App(&mut app, 0);
            CsvParser.parse_chunk(rec.as_bytes(), &mut arena, 0, &mut sink);
            assert_eq!(sink.1, 1, "{n} columns");
            assert_eq!(app, "billing-cron", "{n} columns");
        }
        // 22 columns is not a csvlog record.
        let (c, _) = parse(&cut(22));
        assert!(c.entries.is_empty());
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port(b"10.0.0.1:5432"), b"10.0.0.1");
        assert_eq!(strip_port(b"[local]"), b"[local]");
        assert_eq!(strip_port(b"::1:5432"), b"::1");
    }
}
