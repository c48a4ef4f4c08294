//! Classifying a log entry by what its message says.
//!
//! The statement shapes PostgreSQL writes (lc_messages = C):
//! - `duration: X ms  statement: SQL` (log_min_duration_statement, simple protocol);
//! - `duration: X ms  execute NAME: SQL` (extended protocol; one execution);
//! - `duration: X ms  parse NAME: SQL` / `bind NAME: SQL` (protocol steps of that
//!   execution: not statements of their own);
//! - `statement: SQL` / `execute NAME: SQL` without a duration (log_statement), whose
//!   time comes on a later bare `duration: X ms` line of the same process
//!   (log_duration, or log_min_duration_statement after log_statement);
//! - `duration: X ms  plan:` (auto_explain).
//!
//! Every other signal of an incident (lock waits, errors, checkpoints...) is read by
//! [`signal`]; error messages are grouped and given a SQLSTATE by [`message`].

pub mod message;
pub mod pgbouncer;
pub mod signal;

use crate::parse::{LogEntry, Severity};

/// The DDL or maintenance command `sql` starts with (after blanks and comments),
/// upper-case: the first keyword of a statement that changes the schema or maintains
/// a table, which the timeline marks (`CREATE`, `DROP`, `ALTER`, `TRUNCATE`,
/// `REINDEX`, `VACUUM`, `ANALYZE`, `CLUSTER`, `REFRESH`, `GRANT`, `REVOKE`, `COMMENT`).
#[inline]
pub fn ddl_command(sql: &[u8]) -> Option<&'static str> {
    // Most statements start with their keyword, and most keywords are not DDL's.
    if let Some(b) = sql.first().filter(|b| b.is_ascii_alphabetic()) {
        if !matches!(
            b.to_ascii_uppercase(),
            b'A' | b'C' | b'D' | b'G' | b'R' | b'T' | b'V'
        ) {
            return None;
        }
    }
    ddl_keyword(sql)
}

/// [`ddl_command`] past its first-letter check.
fn ddl_keyword(sql: &[u8]) -> Option<&'static str> {
    let mut s = sql;
    loop {
        let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
        s = &s[n..];
        if let Some(r) = s.strip_prefix(b"--") {
            s = &r[memchr::memchr(b'\n', r).unwrap_or(r.len())..];
        } else if let Some(r) = s.strip_prefix(b"/*") {
            s = memchr::memmem::find(r, b"*/").map_or(&[][..], |i| &r[i + 2..]);
        } else {
            break;
        }
    }
    let word_len = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word = &s[..word_len];
    // Most statements are not DDL: their first letter rules most of the list out.
    let candidates: &[&'static str] = match word.first()?.to_ascii_uppercase() {
        b'A' => &["ALTER", "ANALYZE"],
        b'C' => &["CREATE", "CLUSTER", "COMMENT"],
        b'D' => &["DROP"],
        b'G' => &["GRANT"],
        b'R' => &["REINDEX", "REFRESH", "REVOKE"],
        b'T' => &["TRUNCATE"],
        b'V' => &["VACUUM"],
        _ => return None,
    };
    candidates
        .iter()
        .copied()
        .find(|k| k.as_bytes().eq_ignore_ascii_case(word))
}

/// Where `needle` first occurs in `hay` (as `memchr::memmem::find`): a `memchr` for
/// one of its bytes, then a comparison. The messages searched are short and each is
/// searched once for a given phrase, where building a `memmem` searcher costs more
/// than the search. A phrase's leading blank (blanks are everywhere) is not the byte
/// looked for.
pub(crate) fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, _)) = needle.split_first() else {
        return Some(0);
    };
    let skip = usize::from(first == b' ' && needle.len() > 1);
    find_at(hay, needle, skip)
}

/// [`find_bytes`] looking for `needle[k]` (`k` < its length): the first occurrence
/// of `needle` all the same, found after fewer false hits when that byte is rare.
pub(crate) fn find_at(hay: &[u8], needle: &[u8], k: usize) -> Option<usize> {
    let anchor = needle[k];
    let mut from = k;
    while let Some(i) = memchr::memchr(anchor, hay.get(from..)?) {
        let at = from + i - k;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        from += i + 1;
    }
    None
}

/// Where `needle` last occurs in `hay` (as `memchr::memmem::rfind`), looking for
/// `needle[k]` from the end (`k` < its length).
pub(crate) fn rfind_at(hay: &[u8], needle: &[u8], k: usize) -> Option<usize> {
    let anchor = needle[k];
    let tail = needle.len() - k;
    let mut end = hay.len().checked_sub(tail - 1)?;
    while let Some(i) = memchr::memrchr(anchor, &hay[..end]) {
        if i >= k && hay[i - k..].starts_with(needle) {
            return Some(i - k);
        }
        end = i;
    }
    None
}

/// The index of the byte of `needle` least common in English messages (the first of
/// equals): the byte [`find_at`] should look for. `needle` is not empty.
pub(crate) const fn rare_index(needle: &[u8]) -> usize {
    /// How common a byte is in messages: letters by their frequency in English
    /// text, the blank most common, other bytes rare.
    const fn rank(b: u8) -> u8 {
        match b {
            b' ' => 30,
            b'e' => 26,
            b't' => 25,
            b'a' => 24,
            b'o' => 23,
            b'i' => 22,
            b'n' => 21,
            b's' => 20,
            b'r' => 19,
            b'h' => 18,
            b'l' => 17,
            b'd' => 16,
            b'c' => 15,
            b'u' => 14,
            b'm' => 13,
            b'f' => 12,
            b'p' => 11,
            b'g' => 10,
            b'w' => 9,
            b'y' => 8,
            b'b' => 7,
            b'v' => 6,
            b'k' => 5,
            b'"' | b'_' | b'.' | b',' | b'(' | b')' | b':' => 4,
            _ => 1,
        }
    }
    assert!(!needle.is_empty());
    let mut best = 0;
    let mut i = 1;
    while i < needle.len() {
        if rank(needle[i]) < rank(needle[best]) {
            best = i;
        }
        i += 1;
    }
    best
}

/// [`find_at`] of a constant needle, looking for its rarest byte ([`rare_index`],
/// chosen at compile time).
macro_rules! find_rare {
    ($hay:expr, $needle:expr) => {{
        const NEEDLE: &[u8] = $needle;
        const AT: usize = $crate::events::rare_index(NEEDLE);
        $crate::events::find_at($hay, NEEDLE, AT)
    }};
}
pub(crate) use find_rare;

/// [`rfind_at`] of a constant needle, looking for its rarest byte.
macro_rules! rfind_rare {
    ($hay:expr, $needle:expr) => {{
        const NEEDLE: &[u8] = $needle;
        const AT: usize = $crate::events::rare_index(NEEDLE);
        $crate::events::rfind_at($hay, NEEDLE, AT)
    }};
}
pub(crate) use rfind_rare;

/// What an entry means for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A statement with its duration in microseconds.
    Timed {
        /// Duration, µs.
        us: u64,
        /// The SQL as logged (continuation lines keep their `\n\t`).
        sql: &'a [u8],
    },
    /// A parse or bind step of the extended protocol with its duration.
    Protocol {
        /// Duration, µs.
        us: u64,
    },
    /// A duration without text: belongs to the last logged statement of the process.
    BareDuration {
        /// Duration, µs.
        us: u64,
    },
    /// A statement logged by log_statement, without a duration.
    Logged {
        /// The SQL as logged.
        sql: &'a [u8],
    },
    /// An auto_explain plan with its duration.
    Plan {
        /// Duration, µs.
        us: u64,
        /// The plan as logged (text or JSON format), `Query Text` included.
        plan: &'a [u8],
    },
    /// Anything else (connections, checkpoints, errors...: classified by later stages).
    Other,
}

/// Classifies `entry`. Dispatches on the first byte of the message (and of what
/// follows a duration): most entries are told apart without a string comparison, and
/// the fixed words are compared as whole arrays (a load and a compare each, see
/// [`strip`]). Inlined into the aggregator's loop: called once per entry, most of
/// its cost was its call.
#[inline(always)]
pub fn classify<'a>(entry: &LogEntry<'a, '_>) -> Event<'a> {
    if entry.severity != Severity::Log {
        return Event::Other;
    }
    let msg = entry.message;
    match msg.first() {
        Some(b'd') => {}
        Some(b's') => {
            return match strip(msg, b"statement: ") {
                Some(sql) => Event::Logged { sql },
                None => Event::Other,
            }
        }
        // A parse or bind step without a duration is nothing to count.
        Some(b'e') => {
            return match protocol_step(msg) {
                Some((Step::Execute, sql)) => Event::Logged { sql },
                _ => Event::Other,
            }
        }
        _ => return Event::Other,
    }
    let Some(rest) = strip(msg, b"duration: ") else {
        return Event::Other;
    };
    let Some((us, after)) = parse_duration_ms(rest) else {
        return Event::Other;
    };
    if after.is_empty() {
        return Event::BareDuration { us };
    }
    let Some(after) = strip(after, b"  ") else {
        return Event::Other;
    };
    // One dispatch on the word after the duration; a parse or bind step is counted
    // once its statement name is seen to end (its SQL is not needed).
    let step = match after.first() {
        Some(b'p') => match strip(after, b"parse ") {
            Some(rest) => named_sql(rest).map(|_| Event::Protocol { us }),
            None => strip(after, b"plan:").map(|plan| {
                // The plan starts on the next line (TAB-indented in stderr).
                let plan = plan.strip_prefix(b"\n").unwrap_or(plan);
                let plan = plan.strip_prefix(b"\t").unwrap_or(plan);
                Event::Plan { us, plan }
            }),
        },
        Some(b'b') => strip(after, b"bind ")
            .and_then(named_sql)
            .map(|_| Event::Protocol { us }),
        Some(b'e') => strip(after, b"execute ")
            .and_then(named_sql)
            .map(|sql| Event::Timed { us, sql }),
        Some(b's') => strip(after, b"statement: ").map(|sql| Event::Timed { us, sql }),
        _ => None,
    };
    step.unwrap_or(Event::Other)
}

/// `s` without its prefix `p`, if it has it: the same as `strip_prefix`, with the
/// prefix compared as one array of known length (whole-word loads, no `memcmp`).
#[inline(always)]
fn strip<'s, const N: usize>(s: &'s [u8], p: &[u8; N]) -> Option<&'s [u8]> {
    let (head, tail) = s.split_first_chunk::<N>()?;
    (head == p).then_some(tail)
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Parse,
    Bind,
    Execute,
}

/// `execute NAME: SQL`, `execute fetch from NAME: SQL`, `parse NAME: SQL`, `bind NAME: SQL`.
#[inline(always)]
fn protocol_step(s: &[u8]) -> Option<(Step, &[u8])> {
    let (step, rest) = match s.first()? {
        b'e' => (Step::Execute, strip(s, b"execute ")?),
        b'p' => (Step::Parse, strip(s, b"parse ")?),
        b'b' => (Step::Bind, strip(s, b"bind ")?),
        _ => return None,
    };
    Some((step, named_sql(rest)?))
}

/// The SQL after a statement or portal name and its `: `.
#[inline(always)]
fn named_sql(rest: &[u8]) -> Option<&[u8]> {
    // The unnamed statement, by far the most common name (drivers use it by default).
    if let Some(sql) = strip(rest, b"<unnamed>: ") {
        return Some(sql);
    }
    // The statement/portal name never contains ": "; the SQL may.
    let colon = memchr::memchr_iter(b':', rest).find(|&i| rest.get(i + 1) == Some(&b' '))?;
    Some(&rest[colon + 2..])
}

/// Parses `12.345 ms` at the start of `s` into microseconds, exactly (no floats, so
/// sums do not depend on the order of addition). Returns the rest after ` ms`.
#[inline(always)]
pub fn parse_duration_ms(s: &[u8]) -> Option<(u64, &[u8])> {
    parse_short_duration(s).or_else(|| parse_long_duration(s))
}

/// [`parse_duration_ms`] of any shape, digit by digit (out of line: the short form
/// covers most lines).
#[inline(never)]
fn parse_long_duration(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut i = 0;
    let mut whole: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        whole = whole.checked_mul(10)?.checked_add(u64::from(s[i] - b'0'))?;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut frac = 0u64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100;
        while i < s.len() && s[i].is_ascii_digit() {
            frac += u64::from(s[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let rest = s[i..].strip_prefix(b" ms")?;
    let us = whole.checked_mul(1000)?.checked_add(frac)?;
    // Longer than 30 years is not a duration PostgreSQL measured: bad input.
    (us <= MAX_DURATION_US).then_some((us, rest))
}

/// `D.DDD ms`, as PostgreSQL writes a duration under 10 ms (most durations of a
/// busy log): the same value as [`parse_duration_ms`]'s general loop, without a loop,
/// its eight bytes read as one word and checked at once. `None` when `s` is not of
/// that shape.
#[inline(always)]
fn parse_short_duration(s: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = s.split_first_chunk::<8>()?;
    let w = u64::from_le_bytes(*head);
    // Bytes 1, 5, 6, 7 (little-endian): `.`, ` `, `m`, `s`.
    const FIXED_MASK: u64 = 0xFFFF_FF00_0000_FF00;
    const FIXED: u64 = u64::from_le_bytes([0, b'.', 0, 0, 0, b' ', b'm', b's']);
    // Bytes 0, 2, 3, 4: digits, i.e. 0x30..=0x39: high nibble 3, and still 3 once 6
    // is added (no carry leaves a byte whose high nibble is 3).
    const DIGITS: u64 = 0x0000_00FF_FFFF_00FF;
    const HIGH: u64 = DIGITS & 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = DIGITS & 0x3030_3030_3030_3030;
    const SIXES: u64 = DIGITS & 0x0606_0606_0606_0606;
    let d = w & DIGITS;
    if w & FIXED_MASK != FIXED || d & HIGH != ZEROS || (d + SIXES) & HIGH != ZEROS {
        return None;
    }
    let v = d - ZEROS;
    let digit = |i: u32| (v >> (8 * i)) & 0xF;
    let us = digit(0) * 1000 + digit(2) * 100 + digit(3) * 10 + digit(4);
    Some((us, rest))
}

/// The SQL an auto_explain plan is for: its `Query Text`. In the text format the query
/// runs up to the first plan node (a line with `(cost=`, `(actual ` or `(never
/// executed)`), or is its first line when costs are off; in the JSON format it is the
/// `"Query Text"` string.
pub fn plan_query_text(plan: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if let Some(at) = memchr::memmem::find(plan, b"\"Query Text\": ") {
        let mut it = serde_json::Deserializer::from_slice(&plan[at + 14..]).into_iter::<String>();
        return it
            .next()?
            .ok()
            .map(|s| std::borrow::Cow::Owned(s.into_bytes()));
    }
    let at = memchr::memmem::find(plan, b"Query Text: ")? + 12;
    let rest = &plan[at..];
    let mut end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let mut pos = end;
    while pos < rest.len() {
        let next = memchr::memchr(b'\n', &rest[pos + 1..]).map_or(rest.len(), |i| pos + 1 + i);
        let line = &rest[pos + 1..next];
        let is_node = [&b"(cost="[..], b"(actual ", b"(never executed)"]
            .iter()
            .any(|p| memchr::memmem::find(line, p).is_some());
        if is_node {
            return Some(std::borrow::Cow::Borrowed(&rest[..end]));
        }
        end = next;
        pos = next;
    }
    let first = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    Some(std::borrow::Cow::Borrowed(&rest[..first]))
}

/// The longest duration taken as real (30 years, in µs); sums of durations saturate.
pub const MAX_DURATION_US: u64 = 30 * 365 * 86_400 * 1_000_000;

/// The `parameters:` detail of an execution (`Parameters:` in some versions).
/// One pass over the auxiliary lines: the first `parameters: ` detail, else the first
/// `Parameters: ` one.
pub fn parameters<'a>(entry: &LogEntry<'a, '_>) -> Option<&'a [u8]> {
    let mut upper = None;
    for a in entry.aux {
        if a.severity != Severity::Detail {
            continue;
        }
        if let Some(p) = strip(a.text, b"parameters: ") {
            return Some(p);
        }
        if upper.is_none() {
            upper = strip(a.text, b"Parameters: ");
        }
    }
    upper
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Fields;

    fn ev(msg: &str) -> Event<'_> {
        let e = LogEntry {
            offset: 0,
            line: 1,
            fields: Fields::default(),
            severity: Severity::Log,
            message: msg.as_bytes(),
            aux: &[],
        };
        classify(&e)
    }

    #[test]
    fn statement_shapes() {
        assert_eq!(
            ev("duration: 1.150 ms  statement: select 1"),
            Event::Timed {
                us: 1150,
                sql: b"select 1"
            }
        );
        assert_eq!(
            ev("duration: 0.095 ms  execute <unnamed>: SELECT $1"),
            Event::Timed {
                us: 95,
                sql: b"SELECT $1"
            }
        );
        assert_eq!(
            ev("duration: 2 ms  execute fetch from S_1/C_2: SELECT a: b"),
            Event::Timed {
                us: 2000,
                sql: b"SELECT a: b"
            }
        );
        assert_eq!(
            ev("duration: 0.644 ms  parse <unnamed>: SELECT 1"),
            Event::Protocol { us: 644 }
        );
        assert_eq!(
            ev("duration: 0.581 ms  bind P_1: SELECT 1"),
            Event::Protocol { us: 581 }
        );
        assert_eq!(ev("duration: 40.474 ms"), Event::BareDuration { us: 40474 });
        assert_eq!(
            ev("statement: DROP TABLE t;"),
            Event::Logged {
                sql: b"DROP TABLE t;"
            }
        );
        assert_eq!(
            ev("execute <unnamed>: SELECT 1"),
            Event::Logged { sql: b"SELECT 1" }
        );
        assert_eq!(
            ev("duration: 31.2 ms  plan:\n\tQuery Text: x"),
            Event::Plan {
                us: 31200,
                plan: b"Query Text: x"
            }
        );
        assert_eq!(ev("checkpoint starting: time"), Event::Other);
        assert_eq!(ev("duration: x ms"), Event::Other);
    }

    /// [`classify`] as it was before its one dispatch after the duration: the oracle.
    fn classify_reference(msg: &[u8]) -> Event<'_> {
        match msg.first() {
            Some(b'd') => {}
            Some(b's') => {
                return match msg.strip_prefix(b"statement: ") {
                    Some(sql) => Event::Logged { sql },
                    None => Event::Other,
                }
            }
            Some(b'e') => {
                return match protocol_step(msg) {
                    Some((Step::Execute, sql)) => Event::Logged { sql },
                    _ => Event::Other,
                }
            }
            _ => return Event::Other,
        }
        let Some(rest) = msg.strip_prefix(b"duration: ") else {
            return Event::Other;
        };
        let Some((us, after)) = parse_long_duration(rest) else {
            return Event::Other;
        };
        if after.is_empty() {
            return Event::BareDuration { us };
        }
        let Some(after) = after.strip_prefix(b"  ") else {
            return Event::Other;
        };
        if let Some(sql) = after.strip_prefix(b"statement: ") {
            return Event::Timed { us, sql };
        }
        if let Some(plan) = after.strip_prefix(b"plan:") {
            let plan = plan.strip_prefix(b"\n").unwrap_or(plan);
            let plan = plan.strip_prefix(b"\t").unwrap_or(plan);
            return Event::Plan { us, plan };
        }
        match protocol_step(after) {
            Some((Step::Execute, sql)) => Event::Timed { us, sql },
            Some(_) => Event::Protocol { us },
            None => Event::Other,
        }
    }

    /// The messages of every testdata log (the text after `LOG:  `), every cut of
    /// them and every one-byte change of their first 48 bytes: classified as the
    /// oracle does.
    #[test]
    fn classify_matches_the_reference_on_real_and_damaged_messages() {
        let mut messages = std::collections::BTreeSet::new();
        for f in crate::testdata::files() {
            let Ok(data) = std::fs::read(&f) else {
                continue;
            };
            for line in data.split(|&b| b == b'\n') {
                if let Some(i) = find_bytes(line, b"LOG:  ") {
                    messages.insert(line[i + 6..].to_vec());
                }
            }
        }
        for extra in [
            &b"duration: 0.123 ms  parse <unnamed>: SELECT 1"[..],
            b"duration: 0.123 ms  bind S_1: SELECT 1",
            b"duration: 0.123 ms  execute fetch from S_1/C_2: SELECT a: b",
            b"duration: 12.5 ms  plan:\n\tQuery Text: x",
            b"duration: 1.000 ms  statement: ",
            b"execute S_2: SELECT 1",
        ] {
            messages.insert(extra.to_vec());
        }
        assert!(messages.len() > 1000, "{}", messages.len());
        let check = |m: &[u8]| {
            let e = LogEntry {
                offset: 0,
                line: 1,
                fields: Fields::default(),
                severity: Severity::Log,
                message: m,
                aux: &[],
            };
            assert_eq!(
                classify(&e),
                classify_reference(m),
                "{}",
                String::from_utf8_lossy(m)
            );
        };
        let mut m2 = vec![];
        let mut cut_shapes = std::collections::HashSet::new();
        for m in &messages {
            check(m);
            // Cuts and changes of one message of each kind (its first 24 bytes).
            if !cut_shapes.insert(m[..m.len().min(24)].to_vec()) {
                continue;
            }
            for n in 0..m.len().min(80) {
                check(&m[..n]);
            }
            for at in 0..m.len().min(48) {
                for b in [b' ', b':', b'.', b'0', b'9', b'x', b'<', b'\n', 0xff] {
                    m2.clear();
                    m2.extend_from_slice(m);
                    m2[at] = b;
                    check(&m2);
                }
            }
        }
    }

    /// The lower-case detail wins wherever it is; else the first capitalised one.
    #[test]
    fn parameters_of_an_execution() {
        use crate::parse::Aux;
        let of = |aux: &[Aux<'static>]| {
            let e = LogEntry {
                offset: 0,
                line: 1,
                fields: Fields::default(),
                severity: Severity::Log,
                message: b"duration: 1.000 ms  execute <unnamed>: SELECT $1",
                aux,
            };
            parameters(&e)
        };
        let d = |text: &'static [u8]| Aux {
            severity: Severity::Detail,
            text,
        };
        let st = Aux {
            severity: Severity::Statement,
            text: b"parameters: $1 = '0'",
        };
        assert_eq!(of(&[]), None);
        assert_eq!(of(&[st]), None);
        assert_eq!(of(&[d(b"parameters: $1 = '1'")]), Some(&b"$1 = '1'"[..]));
        assert_eq!(of(&[d(b"Parameters: $1 = '2'")]), Some(&b"$1 = '2'"[..]));
        assert_eq!(
            of(&[d(b"Parameters: $1 = '2'"), st, d(b"parameters: $1 = '1'")]),
            Some(&b"$1 = '1'"[..])
        );
        assert_eq!(
            of(&[
                d(b"x"),
                d(b"Parameters: $1 = '2'"),
                d(b"Parameters: $1 = '3'")
            ]),
            Some(&b"$1 = '2'"[..])
        );
        assert_eq!(of(&[d(b"parameters:")]), None);
    }

    #[test]
    fn query_text_of_plans() {
        let text = b"\tQuery Text: SELECT a\n\t  FROM t\n\tSeq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n";
        assert_eq!(
            plan_query_text(text).unwrap().as_ref(),
            b"SELECT a\n\t  FROM t"
        );
        let no_costs = b"\tQuery Text: SELECT 1\n\tResult\n";
        assert_eq!(plan_query_text(no_costs).unwrap().as_ref(), b"SELECT 1");
        let json = b"\t{\n\t  \"Query Text\": \"SELECT \\\"x\\\" FROM t\",\n\t  \"Plan\": {}}";
        assert_eq!(
            plan_query_text(json).unwrap().as_ref(),
            b"SELECT \"x\" FROM t"
        );
        assert!(plan_query_text(b"nothing").is_none());
    }

    #[test]
    fn ddl_commands() {
        assert_eq!(ddl_command(b"CREATE INDEX i ON t (a)"), Some("CREATE"));
        assert_eq!(
            ddl_command(b" -- migrate\n\t/* x */ vacuum (analyze) t"),
            Some("VACUUM")
        );
        assert_eq!(ddl_command(b"SELECT 1"), None);
        assert_eq!(ddl_command(b"CREATED"), None);
        for k in [
            "CREATE", "DROP", "ALTER", "TRUNCATE", "REINDEX", "VACUUM", "ANALYZE", "CLUSTER",
            "REFRESH", "GRANT", "REVOKE", "COMMENT",
        ] {
            assert_eq!(ddl_command(k.as_bytes()), Some(k));
            let lower = format!("\t{} x", k.to_lowercase());
            assert_eq!(ddl_command(lower.as_bytes()), Some(k));
        }
        for other in [
            "SELECT 1", "UPDATE t", "INSERT", "BEGIN", "END", "WITH x", "COPY t",
        ] {
            assert_eq!(ddl_command(other.as_bytes()), None);
        }
        assert_eq!(ddl_command(b""), None);
    }

    #[test]
    fn durations_are_exact_microseconds() {
        assert_eq!(parse_duration_ms(b"1234.5678 ms").unwrap().0, 1_234_567);
        assert_eq!(parse_duration_ms(b"0.001 ms").unwrap().0, 1);
        assert!(parse_duration_ms(b"99999999999999999999 ms").is_none());
        assert!(parse_duration_ms(b"1.5 s").is_none());
        // Leading zeros past the unchecked length; too long for 30 years.
        assert_eq!(
            parse_duration_ms(b"00000000000000000001.5 ms").unwrap().0,
            1_500
        );
        assert!(parse_duration_ms(b"999999999999999 ms").is_none());
        assert_eq!(
            parse_duration_ms(b"946080000000 ms").unwrap().0,
            MAX_DURATION_US
        );
        assert!(parse_duration_ms(b"946080000000.001 ms").is_none());
        assert_eq!(parse_duration_ms(b"7 ms  x").unwrap(), (7_000, &b"  x"[..]));
        for (text, us) in [
            ("0.306 ms", 306),
            ("12.3 ms", 12_300),
            ("12.34 ms", 12_340),
            ("12.345 ms", 12_345),
            ("12.3456789 ms", 12_345),
            ("12. ms", 12_000),
            ("0.000 ms", 0),
        ] {
            assert_eq!(parse_duration_ms(text.as_bytes()).unwrap().0, us, "{text}");
        }
        assert!(parse_duration_ms(b".5 ms").is_none());
        assert!(parse_duration_ms(b"5.5ms").is_none());
    }

    /// The general loop of `parse_duration_ms`, without the short form's shortcut.
    fn general(s: &[u8]) -> Option<(u64, &[u8])> {
        let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let whole = std::str::from_utf8(&s[..n]).ok()?.parse::<u64>().ok()?;
        let mut i = n;
        let mut frac = 0;
        if s.get(i) == Some(&b'.') {
            i += 1;
            let m = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            for (k, &b) in s[i..i + m].iter().take(3).enumerate() {
                frac += u64::from(b - b'0') * [100, 10, 1][k];
            }
            i += m;
        }
        let rest = s[i..].strip_prefix(b" ms")?;
        let us = whole.checked_mul(1000)?.checked_add(frac)?;
        (us <= MAX_DURATION_US).then_some((us, rest))
    }

    #[test]
    fn short_durations_read_as_the_general_loop() {
        let mut seed = 11u64;
        let alphabet = b"0123456789. ms";
        for _ in 0..50_000 {
            let len = (seed >> 9) as usize % 12;
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            assert_eq!(
                parse_duration_ms(&s),
                general(&s),
                "{:?}",
                String::from_utf8_lossy(&s)
            );
        }
        // Shaped ones: whole and decimal digits of every count, endings good and bad.
        for k in 0..20_000u64 {
            let (w, f) = ((k % 6) as usize, ((k / 6) % 6) as usize);
            let digits = format!("{:020}", k.wrapping_mul(2654435761));
            let mut s = digits[..w].to_string();
            if k % 7 != 0 {
                s.push('.');
            }
            s.push_str(&digits[20 - f..]);
            s.push_str([" ms", " ms  x", "ms", " s", " m", ""][((k / 36) % 6) as usize]);
            assert_eq!(
                parse_duration_ms(s.as_bytes()),
                general(s.as_bytes()),
                "{s}"
            );
        }
        for s in [
            "0.095 ms",
            "12.345 ms  x",
            "999.999 ms",
            "1000.000 ms",
            "0.09 ms",
            "1.0001 ms",
        ] {
            assert_eq!(
                parse_duration_ms(s.as_bytes()),
                general(s.as_bytes()),
                "{s}"
            );
        }
        assert_eq!(
            parse_duration_ms(b"0.095 ms  execute"),
            Some((95, &b"  execute"[..]))
        );
    }

    /// The short form reads its eight bytes as one word: every byte value at every
    /// position (digits' neighbours `/` and `:` included) reads as the general loop.
    #[test]
    fn short_durations_check_every_byte() {
        for shape in [&b"1.234 ms"[..], b"0.095 ms  x", b"9.999 ms"] {
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut s = shape.to_vec();
                    s[at] = b;
                    assert_eq!(
                        parse_duration_ms(&s),
                        general(&s),
                        "{:?}",
                        String::from_utf8_lossy(&s)
                    );
                    if let Some((us, rest)) = parse_short_duration(&s) {
                        assert_eq!(Some((us, rest)), general(&s));
                    }
                }
            }
        }
    }

    #[test]
    fn find_bytes_is_memmem_find() {
        let needles: [&[u8]; 9] = [
            b" x",
            b"ab",
            b"a",
            b" ",
            b"aab",
            b" out of memory",
            b"",
            b"b ab",
            b"xa x",
        ];
        let mut seed = 7u64;
        for _ in 0..3_000 {
            let len = (seed >> 7) as usize % 40;
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    b" abx"[(seed >> 33) as usize % 4]
                })
                .collect();
            for n in needles {
                let want = memchr::memmem::find(&hay, n);
                assert_eq!(find_bytes(&hay, n), want, "{hay:?} {n:?}");
                let last = memchr::memmem::rfind(&hay, n);
                for k in 0..n.len() {
                    assert_eq!(find_at(&hay, n, k), want, "{hay:?} {n:?} {k}");
                    assert_eq!(rfind_at(&hay, n, k), last, "{hay:?} {n:?} {k}");
                }
            }
        }
        assert_eq!(find_bytes(b"ran out of memory", b" out of memory"), Some(3));
        assert_eq!(find_rare!(b"ran out of memory", b" out of memory"), Some(3));
        assert_eq!(find_bytes(b"x out of memor", b" out of memory"), None);
    }

    #[test]
    fn statement_names_of_any_length() {
        let long = format!("execute {}: SELECT a: b", "n".repeat(200));
        assert_eq!(
            protocol_step(long.as_bytes()),
            Some((Step::Execute, &b"SELECT a: b"[..]))
        );
        let colons = format!("bind {}x: SELECT 1", ":".repeat(100));
        assert_eq!(
            protocol_step(colons.as_bytes()),
            Some((Step::Bind, &b"SELECT 1"[..]))
        );
        assert_eq!(
            protocol_step(b"execute <unnamed>: SELECT 1"),
            Some((Step::Execute, &b"SELECT 1"[..]))
        );
        assert_eq!(
            protocol_step(b"execute <unnamed>/C_1: SELECT 1"),
            Some((Step::Execute, &b"SELECT 1"[..]))
        );
        assert_eq!(protocol_step(b"parse x:"), None);
        assert_eq!(protocol_step(b"parse x: "), Some((Step::Parse, &b""[..])));
    }
}
