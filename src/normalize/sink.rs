//! Where normalized tokens go: into the fingerprint hash, and optionally into the
//! display text.
//!
//! Both sinks hash exactly the same way ([`hash_token`]), so `fingerprint()` and
//! `normalize_into()` cannot disagree. The hash is FNV-1a 64 over a canonical encoding
//! of each normalized token (a kind tag, then its canonical bytes, then `0xFF`):
//!
//! | token | encoding |
//! |---|---|
//! | unquoted word | `w` + ASCII-lower-cased bytes + `FF` |
//! | quoted identifier | `w` + the bytes between the quotes, `""` read as `"` + `FF` |
//! | operator, punctuation, other byte | `o` + bytes + `FF` |
//! | constant or parameter (`$n`) | `c` |
//! | literal kept as is (`ORDER BY 2`) | `n` + bytes + `FF` |
//! | collapsed-list marker `/*, ... */` | `l` |
//! | start / end of a dollar-quoted body lexed as SQL | `q` / `Q` |
//!
//! So `"users"` and `USERS` are one identifier (as in PostgreSQL), a constant's value
//! and a parameter's number never matter, and text layout never enters the hash.

use std::fmt::Write as _;

use super::keywords::is_keyword;
use super::lexer::{Kind, Token, MARKER, MAX_DEPTH};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a 64 hash state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Fnv {
    #[inline]
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
}

/// Receives the normalized token stream.
pub(crate) trait Sink {
    fn token(&mut self, src: &[u8], t: Token);
}

/// Feeds one normalized token into the hash (see the module docs for the encoding).
#[inline]
pub(crate) fn hash_token(h: &mut Fnv, src: &[u8], t: Token) {
    let bytes = &src[t.start..t.end];
    match t.kind {
        Kind::Word => {
            h.byte(b'w');
            bytes.iter().for_each(|b| h.byte(b.to_ascii_lowercase()));
        }
        Kind::QIdent => {
            h.byte(b'w');
            let mut quote = false;
            for &b in quoted_content(bytes).0 {
                // `""` inside the quotes stands for one `"`.
                if b == b'"' && !quote {
                    quote = true;
                    continue;
                }
                quote = false;
                h.byte(b);
            }
        }
        Kind::Const => return h.byte(b'c'),
        Kind::Marker => return h.byte(b'l'),
        Kind::CodeOpen => return h.byte(b'q'),
        Kind::CodeClose => return h.byte(b'Q'),
        Kind::Kept => {
            h.byte(b'n');
            bytes.iter().for_each(|&b| h.byte(b));
        }
        _ => {
            h.byte(b'o');
            bytes.iter().for_each(|&b| h.byte(b));
        }
    }
    h.byte(0xFF);
}

/// The name inside a quoted identifier token (which may start with `U&`, end with a
/// `UESCAPE` clause, or be truncated), `""` still doubled; and whether it was closed.
fn quoted_content(tok: &[u8]) -> (&[u8], bool) {
    let Some(open) = tok.iter().position(|&b| b == b'"') else {
        return (tok, true);
    };
    let mut i = open + 1;
    while i < tok.len() {
        if tok[i] == b'"' {
            if tok.get(i + 1) != Some(&b'"') {
                return (&tok[open + 1..i], true);
            }
            i += 1;
        }
        i += 1;
    }
    (&tok[open + 1..], false)
}

/// The fingerprint only.
#[derive(Debug, Default)]
pub(crate) struct HashSink(pub Fnv);

impl Sink for HashSink {
    #[inline]
    fn token(&mut self, src: &[u8], t: Token) {
        hash_token(&mut self.0, src, t);
    }
}

/// What the previous display token was, to decide on a space before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    Start,
    /// `(` or `[`: nothing follows with a space.
    Open,
    /// `.` or `::`: names and constants follow without a space.
    Dot,
    /// A function name or other callable word: `count(`, `ANY(`.
    Callable,
    /// Another word, constant or closing bracket: `[` follows without space.
    Operand,
    Other,
}

/// The fingerprint and the display text.
#[derive(Debug)]
pub(crate) struct TextSink<'o> {
    pub hash: Fnv,
    out: &'o mut String,
    params: u32,
    prev: Prev,
    tags: [(usize, usize); MAX_DEPTH],
    depth: usize,
}

impl<'o> TextSink<'o> {
    pub(crate) fn new(out: &'o mut String) -> Self {
        out.clear();
        TextSink {
            hash: Fnv::default(),
            out,
            params: 0,
            prev: Prev::Start,
            tags: [(0, 0); MAX_DEPTH],
            depth: 0,
        }
    }

    fn push_lossy(&mut self, bytes: &[u8]) {
        self.out.push_str(&String::from_utf8_lossy(bytes));
    }

    /// Single spaces, except where SQL is conventionally written without: the text must
    /// lex back into the same tokens, so two operators are never glued (`. ..`).
    fn space_before(&self, kind: Kind, bytes: &[u8]) -> bool {
        let operator = matches!(kind, Kind::Op | Kind::Other);
        match self.prev {
            Prev::Start | Prev::Open => return false,
            Prev::Dot => return operator && bytes != b"*",
            _ => {}
        }
        let operand = matches!(self.prev, Prev::Callable | Prev::Operand);
        match (kind, bytes) {
            (Kind::Op, b"," | b")" | b"]" | b";") => false,
            (Kind::Op, b"." | b"::" | b"[") => !operand,
            (Kind::Op, b"(") => self.prev != Prev::Callable,
            _ => true,
        }
    }
}

/// Keywords written like function calls, without a space before `(`.
fn callable_keyword(word: &[u8]) -> bool {
    CALLABLE.iter().any(|k| k.eq_ignore_ascii_case(word))
}

const CALLABLE: &[&[u8]] = &[
    b"any",
    b"all",
    b"some",
    b"array",
    b"exists",
    b"coalesce",
    b"greatest",
    b"least",
    b"nullif",
    b"cast",
    b"extract",
    b"substring",
    b"position",
    b"trim",
    b"overlay",
    b"row",
    b"numeric",
    b"decimal",
    b"varchar",
    b"char",
    b"character",
    b"varying",
    b"float",
    b"bit",
    b"interval",
    b"time",
    b"timestamp",
    b"grouping",
    b"left",
    b"right",
    b"replace",
    b"format",
    b"json",
    b"user",
];

impl Sink for TextSink<'_> {
    fn token(&mut self, src: &[u8], t: Token) {
        hash_token(&mut self.hash, src, t);
        let bytes = &src[t.start..t.end];
        if self.space_before(t.kind, bytes) {
            self.out.push(' ');
        }
        self.prev = match t.kind {
            Kind::Word => {
                let start = self.out.len();
                let keyword = is_keyword(bytes);
                self.push_lossy(bytes);
                if keyword {
                    self.out[start..].make_ascii_uppercase();
                } else {
                    self.out[start..].make_ascii_lowercase();
                }
                if !keyword || callable_keyword(bytes) {
                    Prev::Callable
                } else {
                    Prev::Operand
                }
            }
            Kind::QIdent => {
                self.push_lossy(bytes);
                if !quoted_content(bytes).1 {
                    // A truncated name: closed, so that it lexes back as the same name.
                    self.out.push('"');
                }
                Prev::Callable
            }
            Kind::Const => {
                self.params += 1;
                let _ = write!(self.out, "${}", self.params);
                Prev::Operand
            }
            Kind::Marker => {
                self.out
                    .push_str(std::str::from_utf8(MARKER).unwrap_or_default());
                Prev::Other
            }
            Kind::CodeOpen => {
                if self.depth < MAX_DEPTH {
                    self.tags[self.depth] = (t.start, t.end);
                    self.depth += 1;
                }
                self.push_lossy(bytes);
                Prev::Other
            }
            Kind::CodeClose => {
                // A truncated body has no closing tag: write the opening one.
                self.depth = self.depth.saturating_sub(1);
                let (s, e) = self.tags[self.depth];
                self.push_lossy(&src[s..e]);
                Prev::Other
            }
            Kind::Op if matches!(bytes, b"(" | b"[") => {
                self.push_lossy(bytes);
                Prev::Open
            }
            Kind::Op if matches!(bytes, b"." | b"::") => {
                self.push_lossy(bytes);
                Prev::Dot
            }
            Kind::Op if matches!(bytes, b")" | b"]") => {
                self.push_lossy(bytes);
                Prev::Operand
            }
            _ => {
                self.push_lossy(bytes);
                Prev::Other
            }
        };
    }
}
