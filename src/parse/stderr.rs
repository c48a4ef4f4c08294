//! The stderr format (with or without the logging collector): lines that start with
//! the `log_line_prefix`, multi-line messages continued on TAB-indented lines.

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

/// Where each part of the entry being built lies in the chunk (offsets, not slices,
/// so the entry can grow as continuation lines arrive).
struct Open<'a> {
    offset: usize,
    line: u64,
    fields: super::Fields<'a>,
    severity: super::Severity,
    message: (usize, usize),
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
        let mut open: Option<Open<'a>> = None;
        // Positions of the open entry's auxiliary lines, and the slices handed out:
        // both reused for the whole chunk.
        let mut aux_pos: Vec<(super::Severity, usize, usize)> = Vec::with_capacity(8);
        let mut aux_buf: Vec<Aux<'a>> = Vec::with_capacity(8);
        // The fields of the line being read, and the last time field's parse.
        let mut fields = Fields::default();
        let mut times = TimeCache::default();
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
            } else if let Some((severity, message_at)) =
                self.match_into(line, &mut fields, &mut times)
            {
                let same_process = open.as_ref().is_some_and(|o| o.fields.pid == fields.pid);
                if severity.is_auxiliary() && same_process {
                    aux_pos.push((severity, pos + message_at, line_end));
                } else {
                    // An auxiliary line with no entry of its own process before it
                    // becomes an entry of its own: kept, not lost.
                    if let Some(o) = &open {
                        emit(data, base, o, &aux_pos, &mut aux_buf, sink);
                    }
                    aux_pos.clear();
                    open = Some(Open {
                        offset: pos,
                        line: line_no,
                        fields,
                        severity,
                        message: (pos + message_at, line_end),
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
            emit(data, base, o, &aux_pos, &mut aux_buf, sink);
        }
        line_no
    }
}

fn emit<'a>(
    data: &'a [u8],
    base: u64,
    o: &Open<'a>,
    aux_pos: &[(super::Severity, usize, usize)],
    buf: &mut Vec<Aux<'a>>,
    sink: &mut dyn EntrySink<'a>,
) {
    let mut fields = o.fields;
    let mut message = &data[o.message.0..o.message.1];
    // log_error_verbosity = verbose puts the SQLSTATE before the message (`00000: `)
    // and always follows it with a LOCATION line: without one, `E1234: ...` is the
    // message itself (a RAISE EXCEPTION text), not a code.
    // Most entries have no auxiliary line: nothing to look for, nothing to copy.
    buf.clear();
    if !aux_pos.is_empty() {
        let verbose = aux_pos.iter().any(|a| a.0 == super::Severity::Location);
        if let Some(code) = verbose.then(|| verbose_sqlstate(message)).flatten() {
            if fields.sqlstate.is_empty() {
                fields.sqlstate = code;
            }
            message = &message[7..];
        }
        buf.extend(aux_pos.iter().map(|&(severity, s, e)| Aux {
            severity,
            text: &data[s..e],
        }));
    }
    let entry = LogEntry {
        offset: base + o.offset as u64,
        line: o.line,
        fields,
        severity: o.severity,
        message,
        aux: buf,
    };
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
}
