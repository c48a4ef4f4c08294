//! The stderr format (with or without the logging collector): lines that start with
//! the `log_line_prefix`, multi-line messages continued on TAB-indented lines.

use super::lines::LineEnds;
use super::prefix::{Fallback, Matched};
use super::time::{parse_epoch, parse_timestamp, TimeCache};
use super::{anchor, Aux, EntrySink, Fields, LogEntry, Prefix};

/// Parses stderr-format chunks with compiled prefixes, tried in order; a line none
/// explains but that carries a severity marker is still read, unattributed.
#[derive(Debug, Clone)]
pub struct StderrParser {
    prefixes: Vec<Prefix>,
    /// Unexplained lines may take their time from their first bytes.
    dated: bool,
}

impl StderrParser {
    /// A parser for lines written with `prefix`.
    pub fn new(prefix: Prefix) -> Self {
        Self::with_prefixes(vec![prefix])
    }

    /// A parser for lines written with any of `prefixes` (at least one), tried in order.
    pub fn with_prefixes(prefixes: Vec<Prefix>) -> Self {
        assert!(!prefixes.is_empty(), "a stderr parser needs a prefix");
        let dated = prefixes[0].starts_with_log_time();
        StderrParser { prefixes, dated }
    }

    /// The main prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefixes[0]
    }

    /// Every prefix, in the order they are tried.
    pub fn prefixes(&self) -> &[Prefix] {
        &self.prefixes
    }

    /// The first prefix that explains `line`; else, when the line has a severity
    /// marker, the line read from there with its prefix fields unknown (and its time
    /// when the main prefix starts with it and the line with a timestamp).
    fn match_line<'a>(&self, line: &'a [u8]) -> Option<Matched<'a>> {
        let mut fields = Fields::default();
        self.match_into(line, &mut fields, &mut TimeCache::default())
            .map(|r| Matched::of(fields, r))
    }

    /// [`StderrParser::match_line`] writing the fields to `f`, the time read through
    /// `times` (see [`Prefix::match_into`]): the severity and where the message starts.
    /// Inlined in the line loop: most lines take the straight-line matcher alone.
    #[inline(always)]
    fn match_into<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Option<(super::Severity, usize)> {
        // The main prefix's straight-line matcher here, everything else out of line.
        match self.prefixes[0].match_fast(line, f, times) {
            Ok(r) => Some(r),
            Err(why) => self.match_rest(line, f, times, why),
        }
    }

    /// [`StderrParser::match_into`] for a line the main prefix's straight-line
    /// matcher did not match (`why` says why).
    #[inline(never)]
    fn match_rest<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
        why: Fallback,
    ) -> Option<(super::Severity, usize)> {
        if let Some(r) = self.prefixes[0].match_fallback(line, f, times, why) {
            return Some(r);
        }
        for p in &self.prefixes[1..] {
            if let Some(r) = p.match_into(line, f, times) {
                return Some(r);
            }
        }
        self.unattributed(line, f)
    }

    /// A line no prefix explains, read from its severity marker.
    #[inline(never)]
    fn unattributed<'a>(
        &self,
        line: &'a [u8],
        fields: &mut Fields<'a>,
    ) -> Option<(super::Severity, usize)> {
        let a = anchor::find(line)?;
        *fields = Fields {
            unattributed: true,
            ..Fields::default()
        };
        if self.dated {
            let head = &line[..a.at];
            let t = parse_timestamp(head, true)
                .or_else(|| parse_timestamp(head, false))
                .map(|p| (p.ms, p.zone_known))
                .or_else(|| parse_epoch(head).map(|p| (p.ms, true)));
            if let Some((ms, known)) = t {
                fields.ts = Some(ms);
                fields.zone_unknown = !known;
            }
        }
        Some((a.severity, a.message_at))
    }

    /// True when `line` starts a new entry: it matches the prefix and is not a
    /// continuation or an auxiliary (DETAIL, STATEMENT...) line. Chunks split only here.
    pub fn is_entry_start(&self, line: &[u8]) -> bool {
        !line.starts_with(b"\t")
            && self
                .match_line(trim_cr(line))
                .is_some_and(|m| !m.severity.is_auxiliary())
    }

    /// True when `line` belongs to the entry before it: a continuation line, or an
    /// auxiliary (DETAIL, STATEMENT...) line of the prefix.
    pub fn continues_entry(&self, line: &[u8]) -> bool {
        line.starts_with(b"\t")
            || self
                .match_line(trim_cr(line))
                .is_some_and(|m| m.severity.is_auxiliary())
    }

    /// Parses every line of `data` (a chunk that starts at an entry boundary and whose
    /// first byte is at `base` in the file), handing entries and skipped lines to `sink`.
    /// Returns the number of lines.
    pub fn parse_chunk<'a>(&self, data: &'a [u8], base: u64, sink: &mut dyn EntrySink<'a>) -> u64 {
        // Two entries: the open one, which its continuation and auxiliary lines
        // complete, and the one each line is read into. A line that starts an entry
        // swaps them, so an entry's fields are written once, by the prefix matcher,
        // and handed to `sink` where they lie.
        let mut slots = [blank(), blank()];
        let [a, b] = &mut slots;
        let (mut open, mut next) = (a, b);
        let mut is_open = false;
        // Where the open entry's message starts.
        let mut message_start = 0usize;
        // Positions of the open entry's auxiliary lines, and the slices handed out:
        // both reused for the whole chunk.
        let mut aux_pos: Vec<(super::Severity, usize, usize)> = Vec::with_capacity(8);
        let mut aux_buf: Vec<Aux<'a>> = Vec::with_capacity(8);
        // The last time field's parse.
        let mut times = TimeCache::default();
        let mut ends = LineEnds::new(data);
        let mut line_no = 0u64;
        let mut pos = 0usize;
        while pos < data.len() {
            let end = ends.next_end().unwrap_or(data.len());
            let line = trim_cr(&data[pos..end]);
            line_no += 1;
            let line_end = pos + line.len();
            if line.first() == Some(&b'\t') {
                if !is_open {
                    sink.skipped(line_no, line);
                } else if let Some(a) = aux_pos.last_mut() {
                    a.2 = line_end;
                } else {
                    open.message = &data[message_start..line_end];
                }
            } else if let Some((severity, message_at)) =
                self.match_into(line, &mut next.fields, &mut times)
            {
                if severity.is_auxiliary() && is_open && open.fields.pid == next.fields.pid {
                    aux_pos.push((severity, pos + message_at, line_end));
                } else {
                    // An auxiliary line with no entry of its own process before it
                    // becomes an entry of its own: kept, not lost.
                    if is_open {
                        emit(data, open, &aux_pos, &mut aux_buf, sink);
                    }
                    aux_pos.clear();
                    message_start = pos + message_at;
                    next.offset = base + pos as u64;
                    next.line = line_no;
                    next.severity = severity;
                    next.message = &data[message_start..line_end];
                    std::mem::swap(&mut open, &mut next);
                    is_open = true;
                }
            } else if line.is_empty() && end == data.len() {
                line_no -= 1;
            } else {
                sink.skipped(line_no, line);
            }
            pos = end + 1;
        }
        if is_open {
            emit(data, open, &aux_pos, &mut aux_buf, sink);
        }
        line_no
    }
}

/// An entry slot before its first line.
fn blank<'a>() -> LogEntry<'a, 'static> {
    LogEntry {
        offset: 0,
        line: 0,
        fields: Fields::default(),
        severity: super::Severity::Log,
        message: &[],
        aux: &[],
    }
}

/// Hands `o` to `sink` with its auxiliary lines (at `aux_pos` in `data`).
#[inline]
fn emit<'a>(
    data: &'a [u8],
    o: &LogEntry<'a, '_>,
    aux_pos: &[(super::Severity, usize, usize)],
    buf: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) {
    // Most entries have no auxiliary line: nothing to look for, nothing to copy.
    if aux_pos.is_empty() {
        sink.entry(o);
    } else {
        emit_with_aux(data, o, aux_pos, buf, sink);
    }
}

#[inline(never)]
fn emit_with_aux<'a>(
    data: &'a [u8],
    o: &LogEntry<'a, '_>,
    aux_pos: &[(super::Severity, usize, usize)],
    buf: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) {
    buf.clear();
    buf.extend(aux_pos.iter().map(|&(severity, s, e)| Aux {
        severity,
        text: &data[s..e],
    }));
    let mut entry = LogEntry { aux: buf, ..*o };
    // log_error_verbosity = verbose puts the SQLSTATE before the message (`00000: `)
    // and always follows it with a LOCATION line: without one, `E1234: ...` is the
    // message itself (a RAISE EXCEPTION text), not a code.
    let verbose = aux_pos.iter().any(|a| a.0 == super::Severity::Location);
    if let Some(code) = verbose.then(|| verbose_sqlstate(entry.message)).flatten() {
        if entry.fields.sqlstate.is_empty() {
            entry.fields.sqlstate = code;
        }
        entry.message = &entry.message[7..];
    }
    sink.entry(&entry);
}

/// The SQLSTATE that verbose mode writes at the start of a message (`42P01: `).
fn verbose_sqlstate(message: &[u8]) -> Option<&[u8]> {
    let code = message.get(..5)?;
    let ok = code
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && message.get(5..7) == Some(b": ");
    ok.then_some(code)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of every stderr log under testdata, read as `parse_chunk` reads
    /// them (one time cache, the fields the line before left), with the prefixes
    /// inferred from it, and with a prefix that explains none of its lines first:
    /// the first prefix that the general matcher alone explains the line with, else
    /// the line from its severity marker.
    #[test]
    fn lines_read_as_by_the_general_matcher() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut dirs: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .chain(std::fs::read_dir(root.join("prefixes")).unwrap())
            .map(|d| d.unwrap().path())
            .collect();
        dirs.sort();
        let (mut read, mut first_missed) = (0, 0);
        for dir in dirs {
            let Ok(log) = std::fs::read(dir.join("postgresql.log")) else {
                continue;
            };
            let Some(inferred) = crate::parse::infer::infer(&log) else {
                continue;
            };
            let decoy = Prefix::compile("%m [%p] %q%u@%d ").unwrap();
            let mut with_decoy = vec![decoy];
            with_decoy.extend(inferred.prefixes.iter().cloned());
            for prefixes in [inferred.prefixes.clone(), with_decoy] {
                let p = StderrParser::with_prefixes(prefixes);
                let mut times = TimeCache::default();
                let mut f = Fields::default();
                for line in log.split(|&b| b == b'\n') {
                    let line = trim_cr(line);
                    let got = p
                        .match_into(line, &mut f, &mut times)
                        .map(|r| format!("{:?}", Matched::of(f, r)));
                    let first = p.prefixes[0].match_backtracking(line);
                    first_missed += usize::from(first.is_none());
                    let want = first
                        .or_else(|| {
                            p.prefixes[1..]
                                .iter()
                                .find_map(|q| q.match_backtracking(line))
                        })
                        .or_else(|| {
                            let mut g = Fields::default();
                            p.unattributed(line, &mut g).map(|r| Matched::of(g, r))
                        })
                        .map(|m| format!("{m:?}"));
                    assert_eq!(
                        got,
                        want,
                        "{} {:?}",
                        dir.display(),
                        String::from_utf8_lossy(line)
                    );
                    read += 1;
                }
            }
        }
        assert!(
            read > 20_000 && first_missed > 10_000,
            "{read} {first_missed}"
        );
    }

    struct Msgs(Vec<(String, String)>);
    impl<'a> EntrySink<'a> for Msgs {
        fn entry(&mut self, e: &LogEntry<'a, '_>) {
            let m = String::from_utf8_lossy(e.message).into_owned();
            self.0
                .push((m, String::from_utf8_lossy(e.fields.sqlstate).into_owned()));
        }
        fn skipped(&mut self, _: u64, _: &'a [u8]) {}
    }

    /// Regression: a message that merely starts like a SQLSTATE (`RAISE EXCEPTION
    /// 'E1234: ...'`) lost its first word when verbose mode was not on.
    #[test]
    fn a_sqlstate_is_stripped_only_in_verbose_mode() {
        let p = StderrParser::new(Prefix::compile("%m [%p] ").unwrap());
        let log = "2026-11-24 04:00:00.000 UTC [1] ERROR:  E1234: order 42 is invalid\n\
                   2026-11-24 04:00:00.001 UTC [2] ERROR:  42P01: relation \"t\" does not exist\n\
                   2026-11-24 04:00:00.001 UTC [2] LOCATION:  parserOpenTable, parse_relation.c:1392\n";
        let mut m = Msgs(Vec::new());
        p.parse_chunk(log.as_bytes(), 0, &mut m);
        assert_eq!(m.0[0], ("E1234: order 42 is invalid".into(), String::new()));
        assert_eq!(
            m.0[1],
            ("relation \"t\" does not exist".into(), "42P01".into())
        );
    }

    /// Everything a chunk parser hands out, in order, as text.
    #[derive(Default)]
    struct Record(Vec<String>);
    impl<'a> EntrySink<'a> for Record {
        fn entry(&mut self, e: &LogEntry<'a, '_>) {
            self.0.push(format!("{e:?}"));
        }
        fn skipped(&mut self, line: u64, text: &'a [u8]) {
            self.0.push(format!("skipped {line} {text:?}"));
        }
    }

    /// The line loop as it was before line ends came from bitmasks and entries from
    /// swapped slots: one `memchr` per line, the open entry's fields copied. The
    /// oracle the parser is held to.
    fn reference<'a>(
        p: &StderrParser,
        data: &'a [u8],
        base: u64,
        sink: &mut dyn EntrySink<'a>,
    ) -> u64 {
        struct Open<'a> {
            offset: usize,
            line: u64,
            fields: Fields<'a>,
            severity: super::super::Severity,
            message: (usize, usize),
        }
        let hand = |o: &Open<'a>,
                    aux_pos: &[(super::super::Severity, usize, usize)],
                    sink: &mut dyn EntrySink<'a>| {
            let mut fields = o.fields;
            let mut message = &data[o.message.0..o.message.1];
            let verbose = aux_pos
                .iter()
                .any(|a| a.0 == super::super::Severity::Location);
            if let Some(code) = verbose.then(|| verbose_sqlstate(message)).flatten() {
                if fields.sqlstate.is_empty() {
                    fields.sqlstate = code;
                }
                message = &message[7..];
            }
            let aux: Vec<Aux<'a>> = aux_pos
                .iter()
                .map(|&(severity, s, e)| Aux {
                    severity,
                    text: &data[s..e],
                })
                .collect();
            sink.entry(&LogEntry {
                offset: base + o.offset as u64,
                line: o.line,
                fields,
                severity: o.severity,
                message,
                aux: &aux,
            });
        };
        let mut open: Option<Open<'a>> = None;
        let mut aux_pos: Vec<(super::super::Severity, usize, usize)> = Vec::new();
        let mut line_no = 0u64;
        let mut pos = 0usize;
        while pos < data.len() {
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line = trim_cr(&data[pos..end]);
            line_no += 1;
            let line_end = pos + line.len();
            if line.first() == Some(&b'\t') {
                match open.as_mut() {
                    Some(o) => match aux_pos.last_mut() {
                        Some(a) => a.2 = line_end,
                        None => o.message.1 = line_end,
                    },
                    None => sink.skipped(line_no, line),
                }
            } else if let Some(m) = p.match_line(line) {
                let same_process = open.as_ref().is_some_and(|o| o.fields.pid == m.fields.pid);
                if m.severity.is_auxiliary() && same_process {
                    aux_pos.push((m.severity, pos + m.message_at, line_end));
                } else {
                    if let Some(o) = &open {
                        hand(o, &aux_pos, sink);
                    }
                    aux_pos.clear();
                    open = Some(Open {
                        offset: pos,
                        line: line_no,
                        fields: m.fields,
                        severity: m.severity,
                        message: (pos + m.message_at, line_end),
                    });
                }
            } else if line.is_empty() && end == data.len() {
                line_no -= 1;
            } else {
                sink.skipped(line_no, line);
            }
            pos = end + 1;
        }
        if let Some(o) = &open {
            hand(o, &aux_pos, sink);
        }
        line_no
    }

    fn same_as_reference(p: &StderrParser, data: &[u8]) -> Result<(), String> {
        let (mut got, mut want) = (Record::default(), Record::default());
        let n = p.parse_chunk(data, 7, &mut got);
        let m = reference(p, data, 7, &mut want);
        if (n, &got.0) == (m, &want.0) {
            return Ok(());
        }
        let at = got.0.iter().zip(&want.0).position(|(g, w)| g != w);
        Err(format!(
            "{n} vs {m} lines, first difference at {at:?}: {:?} vs {:?}",
            at.map(|i| &got.0[i]),
            at.map(|i| &want.0[i])
        ))
    }

    /// Every stderr log of testdata, with the prefix inferred from it.
    fn testdata_logs() -> Vec<(std::path::PathBuf, StderrParser, Vec<u8>)> {
        let mut logs = Vec::new();
        for path in crate::testdata::logs() {
            let data = std::fs::read(&path).unwrap();
            if let Some(prefix) = crate::parse::infer::infer_prefix(&data) {
                logs.push((path, StderrParser::new(prefix), data));
            }
        }
        logs
    }

    #[test]
    fn every_testdata_log_parses_as_the_reference_does() {
        let logs = testdata_logs();
        assert!(logs.len() >= 10, "only {} logs", logs.len());
        for (path, p, data) in &logs {
            // The whole log, and pieces that start and end anywhere in a line.
            let n = data.len();
            for (from, to) in [
                (0, n),
                (1, n),
                (0, n.saturating_sub(1)),
                (n / 3, 2 * n / 3),
                (n / 2 + 5, n),
            ] {
                if let Err(e) = same_as_reference(p, &data[from..to]) {
                    panic!("{} [{from}..{to}]: {e}", path.display());
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Real lines cut, with CR, NUL, TAB or any byte put in, very long, blank, and
        /// the chunk not always ending in a newline.
        #[test]
        fn mutated_lines_parse_as_the_reference_does(
            log in 0usize..1000,
            picks in proptest::collection::vec((0usize..100_000, 0usize..300, 0u8..8, proptest::prelude::any::<u8>()), 1..40),
            newline_at_end in proptest::prelude::any::<bool>(),
        ) {
            static LOGS: std::sync::OnceLock<Vec<(std::path::PathBuf, StderrParser, Vec<u8>)>> = std::sync::OnceLock::new();
            let logs = LOGS.get_or_init(testdata_logs);
            let (_, p, src) = &logs[log % logs.len()];
            let lines: Vec<&[u8]> = src.split(|&b| b == b'\n').collect();
            let mut data = Vec::new();
            for (i, cut, how, byte) in picks {
                let mut l = lines[i % lines.len()].to_vec();
                match how {
                    0 => l.truncate(cut),
                    1 => l.push(b'\r'),
                    2 => l.insert(cut.min(l.len()), 0),
                    3 => l.insert(0, b'\t'),
                    4 => l.extend(std::iter::repeat_n(b'x', cut * 30)),
                    5 => l.clear(),
                    6 => {
                        let k = cut.min(l.len().saturating_sub(1));
                        if let Some(b) = l.get_mut(k) {
                            *b = byte;
                        }
                    }
                    _ => {}
                }
                data.extend_from_slice(&l);
                data.push(b'\n');
            }
            if !newline_at_end {
                data.pop();
            }
            proptest::prop_assert_eq!(same_as_reference(p, &data), Ok(()));
        }
    }
}
