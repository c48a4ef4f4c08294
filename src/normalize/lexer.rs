//! A byte-level lexer following PostgreSQL's scanner (`src/backend/parser/scan.l`).
//!
//! It works on `&[u8]` because log text may be cut mid-character or contain garbage:
//! every byte sequence lexes to the end, and an unterminated string, quoted identifier,
//! comment or dollar quote simply runs to the end of the input (logs truncate long
//! queries). Tokens are spans into the input, so lexing never allocates.
//!
//! Whitespace and comments are skipped, except the list marker `/*, ... */` that the
//! normalizer itself writes: it must survive re-normalization, so it is a token.
//!
//! The lexer is hand-written rather than built from nom combinators: SQL lexing is a
//! one-byte-lookahead state machine where `memchr` finds string and comment ends, and
//! the hot path (every statement of a multi-GB log) benefits from staying this simple.
//!
//! Dollar-quoted function bodies (`DO $$ ... $$`) can be *entered*: the caller asks the
//! lexer to lex the body as SQL, and gets a [`Kind::CodeClose`] token when it ends.

use memchr::{memchr, memchr2, memmem};

/// What a token is; the span says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Kind {
    /// Unquoted identifier or keyword (case-folded when compared or hashed).
    Word,
    /// `"..."` or `U&"..."` identifier (the span includes the quotes).
    QIdent,
    /// `'...'`, `E'...'`, `B'...'`, `X'...'`, `N'...'`, `U&'...'` (with continuations).
    Str,
    /// `$tag$...$tag$`.
    DollarStr,
    /// A numeric constant.
    Num,
    /// A parameter `$n`.
    Param,
    /// An operator or punctuation (`,` `(` `::` `<=` ...).
    Op,
    /// The `/*, ... */` list marker the normalizer writes.
    Marker,
    /// Any other byte (garbage, `\`, `{`, control characters...).
    Other,
    /// Start of an entered dollar-quoted body (span: the opening `$tag$`).
    CodeOpen,
    /// End of an entered body (span: the closing `$tag$`, empty if truncated).
    CodeClose,
    /// Made by the normalizer: a constant or parameter, shown as `$n`.
    Const,
    /// Made by the normalizer: a literal that keeps its value (`ORDER BY 2`).
    Kept,
}

/// A token: its kind and its byte span in the input.
///
/// Two 64-bit words (the span packed as `start | end << 32`), so that an `Option<Token>`
/// is returned in two registers between the stages: returned through memory, the
/// tokens cost store-forwarding stalls that halved the throughput. The lexer therefore
/// reads at most the first 4 GiB of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    span: u64,
}

impl Token {
    #[inline]
    pub(crate) fn new(kind: Kind, start: usize, end: usize) -> Token {
        // Offsets fit in 32 bits: Lexer::new caps the input at u32::MAX bytes.
        Token {
            kind,
            span: start as u64 | (end as u64) << 32,
        }
    }

    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.span as u32 as usize
    }

    #[inline]
    pub(crate) fn end(&self) -> usize {
        (self.span >> 32) as usize
    }

    /// The token's bytes are `src[t.span()]`.
    #[inline]
    pub(crate) fn span(&self) -> std::ops::Range<usize> {
        self.start()..self.end()
    }
}

/// The comment the normalizer writes after the one element kept of a collapsed list.
pub(crate) const MARKER: &[u8] = b"/*, ... */";

/// How deep dollar-quoted bodies may nest before they are treated as plain strings.
pub(crate) const MAX_DEPTH: usize = 4;

/// Streams tokens out of one SQL text.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// End of the region being lexed (the whole input, or an entered body).
    end: usize,
    /// For each entered body: (resume position, outer end, closing tag start).
    stack: [(usize, usize, usize); MAX_DEPTH],
    depth: usize,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const SPACE: u8 = 1;
const IDENT_START: u8 = 2;
const IDENT_CONT: u8 = 4;
const OP_CHAR: u8 = 8;

/// Character classes of scan.l, one table lookup per byte on the hot path.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            t[b] |= SPACE;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            t[b] |= IDENT_START | IDENT_CONT;
        }
        if c.is_ascii_digit() || c == b'$' {
            t[b] |= IDENT_CONT;
        }
        if matches!(
            c,
            b'~' | b'!'
                | b'@'
                | b'#'
                | b'^'
                | b'&'
                | b'|'
                | b'`'
                | b'?'
                | b'+'
                | b'-'
                | b'*'
                | b'/'
                | b'%'
                | b'<'
                | b'>'
                | b'='
        ) {
            t[b] |= OP_CHAR;
        }
        b += 1;
    }
    t
};

/// High bit of each byte of `w` set iff the byte is not an identifier character
/// ([`is_ident_cont`]: a letter, digit, `_`, `$` or a byte >= 0x80), eight bytes at a
/// time without a branch: how long a name is, is what a branch predictor cannot guess.
#[inline(always)]
fn not_ident_cont(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let v = w & LOW7;
    // Bytes of v in lo..=hi: high bit set (v + 0x80 - lo >= 0x80, v + 0x7f - hi < 0x80;
    // no carry crosses a byte as v < 0x80).
    let within = |v: u64, lo: u8, hi: u8| {
        (v + ONES * u64::from(0x80 - lo)) & !(v + ONES * u64::from(0x7f - hi)) & HIGH
    };
    let ident = (w & HIGH)
        | within(v | (ONES * 0x20), b'a', b'z')
        | within(v, b'0', b'9')
        | within(v, b'_', b'_')
        | within(v, b'$', b'$');
    !ident & HIGH
}

#[inline]
fn is_space(b: u8) -> bool {
    CLASS[b as usize] & SPACE != 0
}

#[inline]
pub(crate) fn is_ident_start(b: u8) -> bool {
    CLASS[b as usize] & IDENT_START != 0
}

#[inline]
pub(crate) fn is_ident_cont(b: u8) -> bool {
    CLASS[b as usize] & IDENT_CONT != 0
}

#[inline]
fn is_op_char(b: u8) -> bool {
    CLASS[b as usize] & OP_CHAR != 0
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        let src = &src[..src.len().min(u32::MAX as usize)];
        Lexer {
            src,
            pos: 0,
            end: src.len(),
            stack: [(0, 0, 0); MAX_DEPTH],
            depth: 0,
        }
    }

    /// The input bytes (token spans index into them).
    pub(crate) fn src(&self) -> &'a [u8] {
        self.src
    }

    fn at(&self, i: usize) -> u8 {
        if i < self.end {
            self.src[i]
        } else {
            0
        }
    }

    /// Lexes the body of the dollar-quoted string `tok` (just returned) as SQL. Returns
    /// the [`Kind::CodeOpen`] token to emit, or `None` when nesting is too deep.
    pub(crate) fn enter(&mut self, tok: Token) -> Option<Token> {
        let (start, end) = (tok.start(), tok.end());
        if self.depth == MAX_DEPTH || tok.kind != Kind::DollarStr || end != self.pos {
            return None;
        }
        let tag_len = dollar_tag_len(&self.src[start..end])?;
        let body_start = start + tag_len;
        let terminated = end - start >= 2 * tag_len
            && self.src[end - tag_len..end] == self.src[start..body_start];
        let body_end = if terminated { end - tag_len } else { end };
        self.stack[self.depth] = (end, self.end, body_end);
        self.depth += 1;
        self.pos = body_start;
        self.end = body_end;
        Some(Token::new(Kind::CodeOpen, start, body_start))
    }

    /// The next token, or `None` at the end of the input.
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Option<Token> {
        self.skip_space_and_comments();
        if self.pos >= self.end {
            if self.depth == 0 {
                return None;
            }
            self.depth -= 1;
            let (resume, outer_end, close) = self.stack[self.depth];
            self.pos = resume;
            self.end = outer_end;
            return Some(Token::new(Kind::CodeClose, close, resume));
        }
        let start = self.pos;
        let kind = self.lex_one();
        Some(Token::new(kind, start, self.pos))
    }

    /// Skips blanks: a run of `' '` eight bytes at a time without a branch per byte
    /// (how many blanks separate two tokens is what a branch predictor cannot guess),
    /// then other whitespace byte by byte.
    #[inline(always)]
    fn skip_space(&mut self) {
        // On locals: `self.pos` is stored once, not at every step.
        let src = &self.src[..self.end];
        let mut pos = self.pos;
        loop {
            if let Some(w) = src.get(pos..pos + 8) {
                let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                let x = w ^ 0x2020_2020_2020_2020;
                // High bit of each byte set iff the byte is not a blank.
                let not_blank = (((x & LOW7) + LOW7) | x) & !LOW7;
                let n = (not_blank.trailing_zeros() / 8) as usize;
                pos += n;
                if n == 8 {
                    continue;
                }
            }
            match src.get(pos) {
                Some(&b) if is_space(b) => pos += 1,
                _ => break,
            }
        }
        self.pos = pos;
    }

    /// Skips identifier characters eight bytes at a time (see [`not_ident_cont`]), then
    /// byte by byte near the end of the input.
    #[inline(always)]
    fn skip_ident_cont(&mut self) {
        let src = &self.src[..self.end];
        let mut pos = self.pos;
        while let Some(w) = src.get(pos..pos + 8) {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            let n = (not_ident_cont(w).trailing_zeros() / 8) as usize;
            pos += n;
            if n < 8 {
                self.pos = pos;
                return;
            }
        }
        while src.get(pos).is_some_and(|&b| is_ident_cont(b)) {
            pos += 1;
        }
        self.pos = pos;
    }

    #[inline(always)]
    fn skip_space_and_comments(&mut self) {
        loop {
            self.skip_space();
            // Most tokens start with neither: one test, not two reads and four.
            let b0 = self.at(self.pos);
            if b0 != b'-' && b0 != b'/' {
                return;
            }
            let b1 = self.at(self.pos + 1);
            if b0 == b'-' && b1 == b'-' {
                self.pos = match memchr(b'\n', &self.src[self.pos..self.end]) {
                    Some(i) => self.pos + i + 1,
                    None => self.end,
                };
            } else if b0 == b'/' && b1 == b'*' && !self.src[self.pos..self.end].starts_with(MARKER)
            {
                self.skip_block_comment();
            } else {
                return;
            }
        }
    }

    /// Block comments nest in PostgreSQL: `/* a /* b */ c */` is one comment.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        let mut i = self.pos;
        while let Some(off) = memchr2(b'*', b'/', &self.src[i..self.end]) {
            let j = i + off;
            if self.src[j] == b'/' && self.at(j + 1) == b'*' {
                depth += 1;
                i = j + 2;
            } else if self.src[j] == b'*' && self.at(j + 1) == b'/' {
                depth -= 1;
                i = j + 2;
                if depth == 0 {
                    self.pos = i;
                    return;
                }
            } else {
                i = j + 1;
            }
        }
        self.pos = self.end;
    }

    #[inline(always)]
    fn lex_one(&mut self) -> Kind {
        let b = self.src[self.pos];
        // The byte after `b`, read only by the arms that need it.
        let next = || self.at(self.pos + 1);
        match b {
            b'\'' => self.string(false),
            b'"' => self.quoted_ident(),
            b'e' | b'E' if next() == b'\'' => {
                self.pos += 1;
                self.string(true)
            }
            b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if next() == b'\'' => {
                self.pos += 1;
                self.string(false)
            }
            b'u' | b'U' if next() == b'&' && matches!(self.at(self.pos + 2), b'\'' | b'"') => {
                self.pos += 2;
                let kind = if self.src[self.pos] == b'"' {
                    self.quoted_ident()
                } else {
                    self.string(false)
                };
                self.uescape();
                kind
            }
            b'$' => self.dollar(),
            b'0'..=b'9' => self.number(),
            b'.' if next().is_ascii_digit() => self.number(),
            b'/' if self.src[self.pos..self.end].starts_with(MARKER) => {
                self.pos += MARKER.len();
                Kind::Marker
            }
            _ if is_ident_start(b) => {
                self.pos += 1;
                self.skip_ident_cont();
                Kind::Word
            }
            _ if is_op_char(b) => self.operator(),
            b':' => {
                self.pos += if matches!(next(), b':' | b'=') { 2 } else { 1 };
                Kind::Op
            }
            b'.' => {
                self.pos += if next() == b'.' { 2 } else { 1 };
                Kind::Op
            }
            b',' | b'(' | b')' | b'[' | b']' | b';' => {
                self.pos += 1;
                Kind::Op
            }
            _ => {
                self.pos += 1;
                Kind::Other
            }
        }
    }

    /// A quoted string starting at `self.pos` (on the quote). `''` is a quote; in
    /// `E''` strings so is `\'`. Strings separated only by whitespace containing a
    /// newline are one constant (SQL's string continuation).
    fn string(&mut self, backslash: bool) -> Kind {
        loop {
            self.pos += 1; // the opening quote
            loop {
                let rest = &self.src[self.pos..self.end];
                let found = if backslash {
                    memchr2(b'\'', b'\\', rest)
                } else {
                    memchr(b'\'', rest)
                };
                let Some(off) = found else {
                    self.pos = self.end;
                    return Kind::Str;
                };
                let j = self.pos + off;
                if self.src[j] == b'\\' {
                    self.pos = (j + 2).min(self.end);
                } else if self.at(j + 1) == b'\'' {
                    self.pos = j + 2;
                } else {
                    self.pos = j + 1;
                    break;
                }
            }
            if !self.continuation() {
                return Kind::Str;
            }
        }
    }

    /// After a string: whitespace with a newline then a quote continues it.
    fn continuation(&mut self) -> bool {
        let mut i = self.pos;
        let mut newline = false;
        while i < self.end && is_space(self.src[i]) {
            newline |= self.src[i] == b'\n';
            i += 1;
        }
        if newline && self.at(i) == b'\'' {
            self.pos = i;
            return true;
        }
        false
    }

    fn quoted_ident(&mut self) -> Kind {
        self.pos += 1;
        loop {
            let Some(off) = memchr(b'"', &self.src[self.pos..self.end]) else {
                self.pos = self.end;
                return Kind::QIdent;
            };
            let j = self.pos + off;
            if self.at(j + 1) == b'"' {
                self.pos = j + 2;
            } else {
                self.pos = j + 1;
                return Kind::QIdent;
            }
        }
    }

    /// `U&'...' UESCAPE '!'`: the escape clause belongs to the constant.
    fn uescape(&mut self) {
        let save = self.pos;
        self.skip_space_and_comments();
        let word = &self.src[self.pos..self.end];
        if word.len() > 7 && word[..7].eq_ignore_ascii_case(b"uescape") && !is_ident_cont(word[7]) {
            self.pos += 7;
            self.skip_space_and_comments();
            if self.at(self.pos) == b'\'' {
                self.string(false);
                return;
            }
        }
        self.pos = save;
    }

    /// `$1` parameter, `$tag$ ... $tag$` dollar quote, or a lone `$`.
    fn dollar(&mut self) -> Kind {
        let rest = &self.src[self.pos..self.end];
        if rest.get(1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            while self.pos < self.end && self.src[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            return Kind::Param;
        }
        let Some(tag_len) = dollar_tag_len(rest) else {
            self.pos += 1;
            return Kind::Other;
        };
        let body = self.pos + tag_len;
        let tag = &self.src[self.pos..body];
        self.pos = match memmem::find(&self.src[body..self.end], tag) {
            Some(off) => body + off + tag_len,
            None => self.end,
        };
        Kind::DollarStr
    }

    /// Skips digits (as `ok` says) and `_`; counted on a local slice, so that the loop
    /// neither re-checks bounds nor stores the position at each byte.
    #[inline(always)]
    fn digits(&mut self, ok: impl Fn(u8) -> bool) -> usize {
        let rest = &self.src[self.pos..self.end];
        let n = rest.iter().take_while(|&&c| ok(c) || c == b'_').count();
        self.pos += n;
        n
    }

    /// Integers, decimals, exponents, `0x`/`0o`/`0b` and `_` separators (PostgreSQL 16).
    fn number(&mut self) -> Kind {
        // Most numbers are plain integers: digits, then a byte that starts no other
        // form (`.5`, `e3`, `_000`, `0x`, `0o`, `0b`).
        let rest = &self.src[self.pos..self.end];
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if !matches!(
            rest.get(n),
            Some(b'.' | b'e' | b'E' | b'_' | b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
        ) {
            self.pos += n;
            return Kind::Num;
        }
        let b1 = self.at(self.pos + 1);
        if self.src[self.pos] == b'0' && matches!(b1, b'x' | b'X' | b'o' | b'O' | b'b' | b'B') {
            let ok: fn(u8) -> bool = match b1 {
                b'x' | b'X' => |c| c.is_ascii_hexdigit(),
                b'o' | b'O' => |c| (b'0'..=b'7').contains(&c),
                _ => |c| c == b'0' || c == b'1',
            };
            let save = self.pos;
            self.pos += 2;
            if self.digits(ok) > 0 {
                return Kind::Num;
            }
            self.pos = save;
        }
        self.digits(|c| c.is_ascii_digit());
        // `1..5` is an integer followed by `..` (PL/pgSQL ranges).
        if self.at(self.pos) == b'.' && self.at(self.pos + 1) != b'.' {
            self.pos += 1;
            self.digits(|c| c.is_ascii_digit());
        }
        if matches!(self.at(self.pos), b'e' | b'E') {
            let sign = usize::from(matches!(self.at(self.pos + 1), b'+' | b'-'));
            if self.at(self.pos + 1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                self.digits(|c| c.is_ascii_digit());
            }
        }
        Kind::Num
    }

    /// scan.l's operator rule: the longest run of operator characters, stopped by a
    /// comment start; a trailing `+`/`-` is given back unless the operator contains one
    /// of `~!@#^&|`?%` (so `a=-1` is `=` then `-1`).
    fn operator(&mut self) -> Kind {
        // Most operators are one character (`=`, `*`, `+`): nothing to extend or trim.
        if !is_op_char(self.at(self.pos + 1)) {
            self.pos += 1;
            return Kind::Op;
        }
        let start = self.pos;
        let mut i = start;
        while i < self.end && is_op_char(self.src[i]) {
            if i > start && matches!((self.src[i], self.at(i + 1)), (b'-', b'-') | (b'/', b'*')) {
                break;
            }
            i += 1;
        }
        let op = &self.src[start..i];
        let special = op.iter().any(|c| b"~!@#^&|`?%".contains(c));
        if !special {
            while i - start > 1 && matches!(self.src[i - 1], b'+' | b'-') {
                i -= 1;
            }
        }
        self.pos = i;
        Kind::Op
    }
}

/// Length of the opening `$tag$` at the start of `s`, if it is one.
fn dollar_tag_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'$') {
        return None;
    }
    let mut i = 1;
    if s.get(1).is_some_and(|&b| is_ident_start(b)) {
        i += 1;
        while s.get(i).is_some_and(|&b| is_ident_cont(b) && b != b'$') {
            i += 1;
        }
    }
    (s.get(i) == Some(&b'$')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        let mut lx = Lexer::new(sql.as_bytes());
        let mut v = Vec::new();
        while let Some(t) = lx.next_token() {
            v.push((t.kind, &sql[t.span()]));
        }
        v
    }

    #[test]
    fn not_ident_cont_is_is_ident_cont_eight_at_a_time() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                for fill in [b'a', b'0', b' ', 0x80, b'$'] {
                    let mut bytes = [fill; 8];
                    bytes[pos] = b;
                    let got = not_ident_cont(u64::from_le_bytes(bytes)).to_le_bytes();
                    for (i, (&g, &c)) in got.iter().zip(&bytes).enumerate() {
                        assert_eq!(g == 0x80, !is_ident_cont(c), "{bytes:?} at {i}");
                        assert!(g == 0 || g == 0x80);
                    }
                }
            }
        }
    }

    #[test]
    fn operators_follow_scan_l() {
        use Kind::*;
        assert_eq!(
            kinds("a=-1"),
            vec![(Word, "a"), (Op, "="), (Op, "-"), (Num, "1")]
        );
        assert_eq!(
            kinds("j->>'k'"),
            vec![(Word, "j"), (Op, "->>"), (Str, "'k'")]
        );
        assert_eq!(kinds("a@-b"), vec![(Word, "a"), (Op, "@-"), (Word, "b")]);
        assert_eq!(
            kinds("x::int"),
            vec![(Word, "x"), (Op, "::"), (Word, "int")]
        );
        assert_eq!(kinds("a<=b--c"), vec![(Word, "a"), (Op, "<="), (Word, "b")]);
        assert_eq!(kinds("1..5"), vec![(Num, "1"), (Op, ".."), (Num, "5")]);
    }

    #[test]
    fn strings_and_dollar_quotes() {
        use Kind::*;
        assert_eq!(
            kinds("'a''b' 'c'\n 'd'"),
            vec![(Str, "'a''b'"), (Str, "'c'\n 'd'")]
        );
        assert_eq!(kinds(r"E'\'x' y"), vec![(Str, r"E'\'x'"), (Word, "y")]);
        assert_eq!(
            kinds("$a$ $$ $a$ $1"),
            vec![(DollarStr, "$a$ $$ $a$"), (Param, "$1")]
        );
        assert_eq!(
            kinds("U&'d!0061' UESCAPE '!' x"),
            vec![(Str, "U&'d!0061' UESCAPE '!'"), (Word, "x")]
        );
        assert_eq!(kinds("a$b$"), vec![(Word, "a$b$")]);
    }

    #[test]
    fn truncated_input_runs_to_the_end() {
        for sql in [
            "'abc",
            "E'a\\",
            "\"id",
            "/* x /* y */",
            "$q$ body",
            "U&'x' UESCAPE",
            "0x",
            "1e",
        ] {
            let toks = kinds(sql);
            assert!(
                toks.last().is_some_and(|t| sql.ends_with(t.1)) || toks.is_empty(),
                "{sql}: {toks:?}"
            );
        }
    }
}
