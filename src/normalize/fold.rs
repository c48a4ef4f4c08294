//! Turns lexer tokens into normalized tokens: which literals become placeholders.
//!
//! PostgreSQL's query id ignores the value of every constant (`Const` node) and
//! pg_stat_statements shows each as `$n`. The lexer alone cannot say what the parser
//! makes a `Const`, so this stage applies the few grammar rules that matter:
//!
//! - strings, numbers, bit strings, parameters, `TRUE`, `FALSE` and `NULL` are
//!   constants — but not after `IS` / `NOT` (`IS NULL`, `NOT NULL` are syntax);
//! - a `-` before a number where an operand is expected is part of the constant
//!   (the grammar folds `-1` into one `Const`), so `a = -1` and `a = 1` agree;
//! - an integer alone in an `ORDER BY` / `GROUP BY` item is a column position, not a
//!   constant: `ORDER BY 1` and `ORDER BY 2` are different queries;
//! - the dollar-quoted body of `DO` or of `CREATE FUNCTION ... AS` is code: it is lexed
//!   as SQL (its own literals become placeholders) instead of becoming one constant,
//!   so different procedures do not share a fingerprint.

use super::hash::{le_word, lower8};
use super::lexer::{Kind, Lexer, Token};

/// A word of up to 9 bytes (the longest keyword tested here), ASCII-lower-cased and
/// packed little-endian into an integer, so keyword tests are integer comparisons;
/// longer words get `u128::MAX`, which no keyword has.
#[inline]
pub(crate) fn word_key(w: &[u8]) -> u128 {
    match w.len() {
        0..=8 => u128::from(lower8(le_word(w))),
        9 => u128::from(lower8(le_word(&w[..8]))) | u128::from(w[8].to_ascii_lowercase()) << 64,
        _ => u128::MAX,
    }
}

/// [`word_key`] of a lower-case keyword, at compile time.
pub(crate) const fn key(w: &str) -> u128 {
    let b = w.as_bytes();
    let mut k = 0u128;
    let mut i = 0;
    while i < b.len() {
        k |= (b[i] as u128) << (8 * i);
        i += 1;
    }
    k
}

/// The first word of the current statement, as far as bodies are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stmt {
    Start,
    Do,
    Create,
    Other,
}

/// Streams normalized tokens out of a [`Lexer`].
#[derive(Debug)]
pub(crate) struct Folder<'a> {
    lx: Lexer<'a>,
    peeked: Option<Token>,
    prev: Option<Token>,
    stmt: Stmt,
    depth: u32,
    /// Paren depth of the `ORDER BY` / `GROUP BY` list being read, if any.
    by_depth: Option<u32>,
    /// [`word_key`] of `prev` if it is a word, else 0.
    prev_key: u128,
}

/// Words after which a `-` starts an operand rather than subtracting.
const OPERAND_BEFORE: &[u128] = &[
    key("select"),
    key("where"),
    key("and"),
    key("or"),
    key("not"),
    key("then"),
    key("else"),
    key("when"),
    key("case"),
    key("between"),
    key("limit"),
    key("offset"),
    key("having"),
    key("return"),
    key("distinct"),
    key("like"),
    key("ilike"),
    key("on"),
    key("by"),
];

/// Words that end an `ORDER BY` / `GROUP BY` list.
const BY_END: &[u128] = &[
    key("limit"),
    key("offset"),
    key("having"),
    key("window"),
    key("fetch"),
    key("for"),
    key("union"),
    key("except"),
    key("intersect"),
    key("returning"),
    key("from"),
];

/// Words that may follow a positional item: `ORDER BY 2 DESC`.
const AFTER_ITEM: &[u128] = &[key("asc"), key("desc"), key("nulls"), key("using")];

impl<'a> Folder<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        Folder {
            lx: Lexer::new(src),
            peeked: None,
            prev: None,
            stmt: Stmt::Start,
            depth: 0,
            by_depth: None,
            prev_key: 0,
        }
    }

    pub(crate) fn src(&self) -> &'a [u8] {
        self.lx.src()
    }

    /// The key of the token [`Folder::next_token`] returned last, if it is a
    /// [`Kind::Word`]: its first 8 bytes lower-cased, little-endian, in the low 64
    /// bits (as the hash reads them), so that a word is read and lower-cased once.
    #[inline(always)]
    pub(crate) fn word_key(&self) -> u128 {
        self.prev_key
    }

    #[inline(always)]
    fn raw(&mut self) -> Option<Token> {
        match self.peeked.take() {
            Some(t) => Some(t),
            None => self.lx.next_token(),
        }
    }

    fn peek(&mut self) -> Option<Token> {
        if self.peeked.is_none() {
            self.peeked = self.lx.next_token();
        }
        self.peeked
    }

    /// The next normalized token.
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Option<Token> {
        let t = self.fold()?;
        self.prev = Some(t);
        Some(t)
    }

    /// Folds the next token and sets `prev_key` to its key (0 if not a word).
    #[inline(always)]
    fn fold(&mut self) -> Option<Token> {
        let mut t = self.raw()?;
        // Words and operators first, apart: they are most tokens, and two predictable
        // branches cost less than one jump through a table of kinds.
        if t.kind == Kind::Word {
            t.kind = self.word_kind(t);
            return Some(t);
        }
        let t = self.fold_other(t);
        self.prev_key = 0;
        Some(t)
    }

    /// [`Folder::fold`] of a token that is not a word (`prev_key` still the previous
    /// token's).
    #[inline(always)]
    fn fold_other(&mut self, mut t: Token) -> Token {
        let src = self.lx.src();
        if t.kind == Kind::Op {
            let op = &src[t.span()];
            if matches!(op, b"-") && self.operand_expected() {
                if let Some(n) = self.peek().filter(|n| n.kind == Kind::Num) {
                    self.peeked = None;
                    return Token::new(Kind::Const, t.start(), n.end());
                }
            }
            self.track_op(op);
            return t;
        }
        // Numbers and strings next, apart, for the same reason.
        if t.kind == Kind::Num {
            t.kind = self.number_kind();
            return t;
        }
        if t.kind == Kind::Str {
            t.kind = Kind::Const;
            return t;
        }
        t.kind = match t.kind {
            Kind::Param => Kind::Const,
            Kind::DollarStr => return self.dollar(t),
            Kind::CodeOpen => {
                self.stmt = Stmt::Start;
                Kind::CodeOpen
            }
            Kind::CodeClose => {
                self.stmt = Stmt::Other;
                Kind::CodeClose
            }
            k => k,
        };
        t
    }

    fn operand_expected(&self) -> bool {
        let src = self.lx.src();
        match self.prev {
            None => true,
            Some(p) => match p.kind {
                Kind::Op => !matches!(&src[p.span()], b")" | b"]"),
                Kind::Word => OPERAND_BEFORE.contains(&self.prev_key),
                Kind::Other | Kind::CodeOpen => true,
                _ => false,
            },
        }
    }

    fn number_kind(&mut self) -> Kind {
        let src = self.lx.src();
        let item_start = self.prev_key == key("by")
            || matches!(self.prev, Some(p) if p.kind == Kind::Op && matches!(&src[p.span()], b","));
        if self.by_depth == Some(self.depth) && item_start {
            let next = self.peek();
            let item_end = match next {
                None => true,
                Some(n) if n.kind == Kind::Op => matches!(&src[n.span()], b"," | b")" | b";"),
                Some(n) if n.kind == Kind::Word => {
                    let k = word_key(&src[n.span()]);
                    AFTER_ITEM.contains(&k) || BY_END.contains(&k)
                }
                Some(_) => false,
            };
            if item_end {
                return Kind::Kept;
            }
        }
        Kind::Const
    }

    #[inline(always)]
    fn word_kind(&mut self, t: Token) -> Kind {
        let k = word_key(&self.lx.src()[t.span()]);
        let prev = std::mem::replace(&mut self.prev_key, k);
        if self.stmt == Stmt::Start {
            self.stmt = match k {
                _ if k == key("do") => Stmt::Do,
                _ if k == key("create") => Stmt::Create,
                _ => Stmt::Other,
            };
        }
        if k == key("by") && (prev == key("order") || prev == key("group")) {
            self.by_depth = Some(self.depth);
        } else if self.by_depth.is_some() && BY_END.contains(&k) {
            self.by_depth = None;
        }
        let syntax_before = prev == key("is") || prev == key("not");
        if (k == key("true") || k == key("false")) && !syntax_before {
            return Kind::Const;
        }
        if k == key("null") && !syntax_before && prev != key("set") {
            return Kind::Const;
        }
        Kind::Word
    }

    /// A dollar-quoted string: a code body to lex as SQL, or a constant.
    fn dollar(&mut self, mut t: Token) -> Token {
        let code = match self.stmt {
            Stmt::Do => true,
            Stmt::Create => self.prev_key == key("as"),
            _ => false,
        };
        if code && self.peeked.is_none() {
            if let Some(open) = self.lx.enter(t) {
                self.stmt = Stmt::Start;
                return open;
            }
        }
        t.kind = Kind::Const;
        t
    }

    #[inline(always)]
    fn track_op(&mut self, op: &[u8]) {
        match op {
            b"(" => self.depth += 1,
            b")" => {
                self.depth = self.depth.saturating_sub(1);
                if self.by_depth.is_some_and(|d| d > self.depth) {
                    self.by_depth = None;
                }
            }
            b";" => {
                self.stmt = Stmt::Start;
                self.by_depth = None;
                self.depth = 0;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_keys_ignore_case_and_length_matters() {
        assert_eq!(word_key(b"InterSect"), key("intersect"));
        assert_eq!(word_key(b"BY"), key("by"));
        assert_ne!(word_key(b"by_"), key("by"));
        assert_ne!(word_key(b"intersects"), key("intersect"));
        assert_ne!(word_key(b"returnin"), key("returning"));
    }
}
