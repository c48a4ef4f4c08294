//! The shape of a line's prefix: the text before its severity anchor cut into constant
//! separators and variable fields.
//!
//! Timestamps and epochs are recognised whole (they contain separators); any other run
//! of word bytes is a field, except a word written as a key (`user=`), which is part of
//! the separator text. A number is never a separator: a value seen on the first line
//! (`qid=0`, a pid) must not be frozen into the prefix.

use crate::parse::time::{parse_epoch, parse_timestamp};

/// One piece of a prefix's shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Constant text (separators, keys).
    Lit(Vec<u8>),
    /// A timestamp; `true` with milliseconds.
    Ts(bool),
    /// A Unix epoch with milliseconds (`%n`).
    Epoch,
    /// A variable field of unknown meaning.
    Field,
    /// A field padded with blanks to a width (`%-12a`, `%5p`).
    PaddedField,
    /// `%q`: lines of processes without a session stop here.
    Stop,
}

/// Bytes that may be part of a field's value without separating it from the next.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+' | b'$') || b >= 0x80
}

/// The shape of `head` (a line's text before its severity anchor).
pub fn of_head(head: &[u8]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut pos = 0;
    let boundary = |pos: usize| pos == 0 || !is_word(head[pos - 1]);
    let ts_boundary = |pos: usize| pos == 0 || !head[pos - 1].is_ascii_alphanumeric();
    while pos < head.len() {
        let rest = &head[pos..];
        // A byte that starts no timestamp, placeholder or word is separator text, and
        // so is each such byte after it: the run is taken at once.
        if !(rest[0].is_ascii_digit() || rest[0] == b'[' || is_word(rest[0])) {
            let run = rest
                .iter()
                .position(|&b| b.is_ascii_digit() || b == b'[' || is_word(b))
                .unwrap_or(rest.len());
            push_lit(&mut out, &rest[..run]);
            pos += run;
            continue;
        }
        if ts_boundary(pos) && rest.first().is_some_and(u8::is_ascii_digit) {
            let ts = if may_be_timestamp(rest) {
                parse_timestamp(rest, true).or_else(|| parse_timestamp(rest, false))
            } else {
                None
            };
            if let Some(p) = ts {
                let ms = rest.get(19) == Some(&b'.');
                out.push(Piece::Ts(ms));
                pos += p.len;
                continue;
            }
            if let Some(p) = parse_epoch(rest).filter(|p| is_epoch(&rest[..p.len], rest.get(p.len)))
            {
                out.push(Piece::Epoch);
                pos += p.len;
                continue;
            }
        }
        // PostgreSQL's own placeholders are values, brackets and all.
        if let Some(v) = [&b"[local]"[..], b"[unknown]"]
            .into_iter()
            .find(|v| rest.starts_with(v))
        {
            out.push(Piece::Field);
            pos += v.len();
            continue;
        }
        if is_word(rest[0]) && !(rest[0] == b'-' && !(boundary(pos) && starts_value(rest))) {
            let mut len = word_len(rest);
            // `backend/xid` (`%v`) is one value.
            if rest[..len].iter().all(u8::is_ascii_digit) && rest.get(len) == Some(&b'/') {
                let digits = rest[len + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let after = rest.get(len + 1 + digits);
                if digits > 0 && !after.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'.') {
                    len += digits + 1;
                }
            }
            // `host(port)` (`%r`) is one value.
            if rest.get(len) == Some(&b'(') {
                let digits = rest[len + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits > 0 && rest.get(len + 1 + digits) == Some(&b')') {
                    len += digits + 2;
                }
            }
            // `key=` and Heroku's `key = "value"` are prefix text.
            let key = [&b"="[..], b" = "]
                .into_iter()
                .find(|k| rest[len..].starts_with(k))
                .map(<[u8]>::len);
            if let Some(k) = key {
                // A key is a name; a value joined to it (`6b0dfd72.2391-user=`) is not.
                let word = &rest[..len];
                let name = word
                    .iter()
                    .rposition(|b| !(b.is_ascii_alphabetic() || *b == b'_'))
                    .map_or(0, |p| p + 1);
                if name > 1 && name < len && matches!(word[name - 1], b'-' | b'.' | b'+') {
                    out.push(Piece::Field);
                    push_lit(&mut out, &rest[name - 1..len + k]);
                } else if word[0].is_ascii_alphabetic() || word[0] == b'_' {
                    push_lit(&mut out, &rest[..len + k]);
                } else {
                    out.push(Piece::Field);
                    push_lit(&mut out, &rest[len..len + k]);
                }
                pos += len + k;
            } else {
                out.push(Piece::Field);
                pos += len;
            }
            continue;
        }
        push_lit(&mut out, &rest[..1]);
        pos += 1;
    }
    mark_padding(&mut out);
    // Two fields with nothing between them cannot be told apart: one field.
    out.dedup_by(|b, a| *a == Piece::Field && *b == Piece::Field);
    out
}

/// A field beside a run of blanks was padded to a width (`%-12a`, `%5p`): the blanks
/// vary with the value's length, so they are the field's, not the prefix's.
fn mark_padding(out: &mut [Piece]) {
    for i in 0..out.len() {
        let Piece::Lit(l) = &out[i] else { continue };
        let trailing = l.iter().rev().take_while(|&&b| b == b' ').count();
        let leading = l.iter().take_while(|&&b| b == b' ').count();
        let field = |p: Option<&Piece>| matches!(p, Some(Piece::Field));
        if leading >= 2 && i > 0 && field(out.get(i - 1)) {
            let Piece::Lit(l) = &mut out[i] else { continue };
            l.drain(..leading - 1);
            out[i - 1] = Piece::PaddedField;
        } else if trailing >= 2 && field(out.get(i + 1)) {
            let Piece::Lit(l) = &mut out[i] else { continue };
            let keep = l.len() - trailing;
            l.truncate(keep);
            out[i + 1] = Piece::PaddedField;
        }
    }
}

/// An epoch starts `s`.
fn epoch_at(s: &[u8]) -> bool {
    parse_epoch(s).is_some_and(|p| is_epoch(&s[..p.len], s.get(p.len)))
}

/// `%n`: seconds (9 or 10 digits), a dot, milliseconds, and no more word after it.
fn is_epoch(v: &[u8], next: Option<&u8>) -> bool {
    let dot = v.iter().position(|&b| b == b'.');
    matches!(dot, Some(9 | 10))
        && v.len() == dot.unwrap_or(0) + 4
        && !next.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'.')
}

/// A `-` starts a value only as the sign of a number (`-123`, a query id), not before
/// a timestamp.
fn starts_value(rest: &[u8]) -> bool {
    if is_timestamp(&rest[1..]) {
        return false;
    }
    let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && !rest
            .get(1 + digits)
            .is_some_and(|&b| is_word(b) && b != b'-')
}

/// Length of the word at the start of `s`. A `-` after a number separates it from the
/// next (`[1234-5]` is a pid and a line number); a `-` or `.` that no letter or digit
/// follows ends the word (`%c-` in Azure's prefix).
fn word_len(s: &[u8]) -> usize {
    let mut i = 1;
    while i < s.len() && is_word(s[i]) {
        let inner = s.get(i + 1).is_some_and(u8::is_ascii_alphanumeric);
        if matches!(s[i], b'-' | b'.') && !inner {
            break;
        }
        if s[i] == b'-' && (is_timestamp(&s[i + 1..]) || epoch_at(&s[i + 1..])) {
            break;
        }
        if s[i] == b'-' && s[..i].iter().all(|b| b.is_ascii_digit() || *b == b'-') {
            break;
        }
        i += 1;
    }
    i
}

/// A timestamp without fraction starts `s` (`parse_timestamp(s, false)`).
fn is_timestamp(s: &[u8]) -> bool {
    may_be_timestamp(s) && parse_timestamp(s, false).is_some()
}

/// False when `s` cannot start a timestamp (`YYYY-MM-DD HH:MM:SS` is 19 bytes with a
/// dash at 4): a cheap test before the parse. Nineteen NUL bytes pass, since the
/// parser's per-thread cache of the last second starts as those and reads them as a
/// time until a first timestamp is parsed.
fn may_be_timestamp(s: &[u8]) -> bool {
    s.len() >= 19 && (s[4] == b'-' || s[0] == 0)
}

fn push_lit(out: &mut Vec<Piece>, bytes: &[u8]) {
    if let Some(Piece::Lit(l)) = out.last_mut() {
        l.extend_from_slice(bytes);
    } else {
        let mut l = Vec::with_capacity(bytes.len().max(16));
        l.extend_from_slice(bytes);
        out.push(Piece::Lit(l));
    }
}

/// The shape as a `log_line_prefix` with `%?` for each field.
pub fn render(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Lit(l) => s.push_str(&String::from_utf8_lossy(l).replace('%', "%%")),
            Piece::Ts(true) => s.push_str("%m"),
            Piece::Ts(false) => s.push_str("%t"),
            Piece::Epoch => s.push_str("%n"),
            Piece::Field => s.push_str("%?"),
            Piece::PaddedField => s.push_str("%-?"),
            Piece::Stop => s.push_str("%q"),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(head: &str) -> String {
        render(&of_head(head.as_bytes()))
    }

    #[test]
    fn fields_keys_and_timestamps() {
        assert_eq!(
            shape("2026-11-24 04:34:32 UTC [25172]: [4-1] user=app_rw,db=bench,app=pgbench,client=127.0.0.1 "),
            "%t [%?]: [%?-%?] user=%?,db=%?,app=%?,client=%? "
        );
        assert_eq!(
            shape("2026-11-24 05:35:15.018 CET [29058] postgres@shop app=orders-api qid=-37945 "),
            "%m [%?] %?@%? app=%? qid=%? "
        );
        assert_eq!(shape("1764000000.123 [42] "), "%n [%?] ");
        assert_eq!(
            shape("2026-11-24 04:00:00 UTC:10.0.0.5(52314):app@shop:[4242]:"),
            "%t:%?:%?@%?:[%?]:"
        );
        assert_eq!(
            shape("2026-11-24 04:00:00 UTC:[local]:[unknown]@x:[4242]:"),
            "%t:%?:%?@%?:[%?]:"
        );
        assert_eq!(shape("2026-11-24 04:00:00 UTC-6743a1b2.2a-"), "%t-%?-");
        assert_eq!(shape("[queryid=0] x|y|"), "[queryid=%?] %?|%?|");
        assert_eq!(shape("100% "), "%?%% ");
        assert_eq!(shape("6b0dfd72.2391-user=bob "), "%?-user=%? ");
        assert_eq!(shape("42=x "), "%?=%? ");
        assert_eq!(shape("1-2026-11-30 22:49:22 UTC "), "%?-%t ");
        assert_eq!(shape("user=bob-2026-11-30 22:49:22 UTC "), "user=%?-%t ");
        assert_eq!(shape("0/1796078962.183|"), "%?/%n|");
        assert_eq!(shape("3/17 "), "%? ");
    }
}
