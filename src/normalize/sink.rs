//! Where normalized tokens go: into the fingerprint hash ([`super::hash`]), and
//! optionally into the display text.
//!
//! Both sinks hash exactly the same tokens the same way, so `fingerprint()` and
//! `normalize_into()` cannot disagree. The display text upper-cases keywords,
//! lower-cases other unquoted names, writes every constant as `$n` numbered in order and
//! puts single spaces between tokens, except where SQL is conventionally written without
//! (`f(x)`, `t.a`, `x::int`, `a[1]`, `a, b`). It always lexes back into the same tokens,
//! so normalizing it again gives the same text and fingerprint.

use super::fold::word_key;
use super::hash::{plain_name, quoted_content, Hasher};
use super::keywords::is_keyword;
use super::lexer::{Kind, Token, MAX_DEPTH};

/// Receives the normalized token stream.
pub(crate) trait Sink {
    fn token(&mut self, src: &[u8], t: Token);

    /// A [`Kind::Word`] token with its key (see [`super::fold::Folder::word_key`]).
    #[inline(always)]
    fn word(&mut self, src: &[u8], t: Token, _key: u128) {
        self.token(src, t);
    }
}

/// The fingerprint only.
#[derive(Debug, Default)]
pub(crate) struct HashSink(pub Hasher);

impl Sink for HashSink {
    #[inline(always)]
    fn token(&mut self, src: &[u8], t: Token) {
        self.0.token(src, t);
    }

    #[inline(always)]
    fn word(&mut self, src: &[u8], t: Token, key: u128) {
        self.0.word(src, t, key);
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
    pub hash: Hasher,
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
            hash: Hasher::default(),
            out,
            params: 0,
            prev: Prev::Start,
            tags: [(0, 0); MAX_DEPTH],
            depth: 0,
        }
    }

    #[inline]
    fn push_lossy(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(s) => self.out.push_str(s),
            Err(_) => self.out.push_str(&String::from_utf8_lossy(bytes)),
        }
    }

    /// `$n`, without the formatting machinery.
    #[inline]
    fn push_param(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.push('$');
        self.out.extend(digits[i..].iter().map(|&d| char::from(d)));
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
#[cfg(test)]
fn callable_keyword_by_list(word: &[u8]) -> bool {
    CALLABLE.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// [`CALLABLE`] as word keys (all are at most 9 bytes long).
const CALLABLE_KEYS: [u128; CALLABLE.len()] = {
    let mut keys = [0u128; CALLABLE.len()];
    let mut i = 0;
    while i < CALLABLE.len() {
        let w = CALLABLE[i];
        assert!(w.len() <= 9);
        let mut k = 0u128;
        let mut j = 0;
        while j < w.len() {
            k |= (w[j] as u128) << (8 * j);
            j += 1;
        }
        keys[i] = k;
        i += 1;
    }
    keys
};

/// Keywords written like function calls, without a space before `(`: the word's key
/// among [`CALLABLE_KEYS`] (a word has no NUL byte, so its key is its name).
#[inline]
fn callable_keyword(word: &[u8]) -> bool {
    word.len() <= 9 && CALLABLE_KEYS.contains(&word_key(word))
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
        self.hash.token(src, t);
        let bytes = &src[t.span()];
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
                } else if !bytes.contains(&b'$') {
                    // A name with `$` keeps its case: folded, `r$dO$` inside a body
                    // quoted `$do$` would end it when the text is read again.
                    self.out[start..].make_ascii_lowercase();
                }
                if !keyword || callable_keyword(bytes) {
                    Prev::Callable
                } else {
                    Prev::Operand
                }
            }
            Kind::QIdent if plain_name(bytes).is_some_and(|n| !is_keyword(n)) => {
                // `"orders"` is `orders`: one text for one name (and one fingerprint).
                self.push_lossy(plain_name(bytes).unwrap_or(bytes));
                Prev::Callable
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
                self.push_param(self.params);
                Prev::Operand
            }
            Kind::Marker => {
                self.out.push_str("/*, ... */");
                Prev::Other
            }
            Kind::CodeOpen => {
                if self.depth < MAX_DEPTH {
                    self.tags[self.depth] = (t.start(), t.end());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::keywords::KEYWORDS;

    /// The key test is the list test, on every keyword, every callable one in any
    /// case, and words just longer or shorter.
    #[test]
    fn callable_by_key_is_callable_by_list() {
        let mut words: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        for k in CALLABLE {
            let k = std::str::from_utf8(k).unwrap();
            words.extend([
                k.to_uppercase(),
                format!("{k}s"),
                k[1..].to_string(),
                format!("{k}x_"),
            ]);
        }
        words.extend([
            "".into(),
            "a".into(),
            "char_".into(),
            "é".into(),
            "timestamps".into(),
        ]);
        for w in &words {
            assert_eq!(
                callable_keyword(w.as_bytes()),
                callable_keyword_by_list(w.as_bytes()),
                "{w}"
            );
        }
        assert!(callable_keyword(b"COALESCE") && callable_keyword(b"substring"));
    }

    #[test]
    fn params_are_written_as_format_writes_them() {
        for n in (0..2000).chain([9_999, 10_000, 65_535, 1 << 20, u32::MAX - 1, u32::MAX]) {
            let mut out = String::from("x");
            let mut sink = TextSink::new(&mut out);
            sink.push_param(n);
            assert_eq!(out, format!("${n}"));
        }
    }
}
