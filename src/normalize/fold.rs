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

use super::lexer::{Kind, Lexer, Token};

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
}

fn word_is(src: &[u8], t: Option<Token>, words: &[&[u8]]) -> bool {
    match t {
        Some(t) if t.kind == Kind::Word => {
            let w = &src[t.start..t.end];
            words.iter().any(|k| k.eq_ignore_ascii_case(w))
        }
        _ => false,
    }
}

fn op_is(src: &[u8], t: Option<Token>, op: &[u8]) -> bool {
    matches!(t, Some(t) if t.kind == Kind::Op && &src[t.start..t.end] == op)
}

/// Words after which a `-` starts an operand rather than subtracting.
const OPERAND_BEFORE: &[&[u8]] = &[
    b"select",
    b"where",
    b"and",
    b"or",
    b"not",
    b"then",
    b"else",
    b"when",
    b"case",
    b"between",
    b"limit",
    b"offset",
    b"having",
    b"return",
    b"distinct",
    b"like",
    b"ilike",
    b"on",
    b"by",
];

/// Words that end an `ORDER BY` / `GROUP BY` list.
const BY_END: &[&[u8]] = &[
    b"limit",
    b"offset",
    b"having",
    b"window",
    b"fetch",
    b"for",
    b"union",
    b"except",
    b"intersect",
    b"returning",
    b"from",
];

/// Words that may follow a positional item: `ORDER BY 2 DESC`.
const AFTER_ITEM: &[&[u8]] = &[b"asc", b"desc", b"nulls", b"using"];

impl<'a> Folder<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        Folder {
            lx: Lexer::new(src),
            peeked: None,
            prev: None,
            stmt: Stmt::Start,
            depth: 0,
            by_depth: None,
        }
    }

    pub(crate) fn src(&self) -> &'a [u8] {
        self.lx.src()
    }

    fn raw(&mut self) -> Option<Token> {
        self.peeked.take().or_else(|| self.lx.next_token())
    }

    fn peek(&mut self) -> Option<Token> {
        if self.peeked.is_none() {
            self.peeked = self.lx.next_token();
        }
        self.peeked
    }

    /// The next normalized token.
    pub(crate) fn next_token(&mut self) -> Option<Token> {
        let mut t = self.raw()?;
        let src = self.lx.src();
        t.kind = match t.kind {
            Kind::Str | Kind::Param => Kind::Const,
            Kind::Num => self.number_kind(),
            Kind::DollarStr => return Some(self.dollar(t)),
            Kind::Op if &src[t.start..t.end] == b"-" && self.operand_expected() => {
                match self.peek() {
                    Some(n) if n.kind == Kind::Num => {
                        self.peeked = None;
                        t.end = n.end;
                        Kind::Const
                    }
                    _ => Kind::Op,
                }
            }
            Kind::Word => self.word_kind(t),
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
        if t.kind == Kind::Op {
            self.track_op(&src[t.start..t.end]);
        }
        self.prev = Some(t);
        Some(t)
    }

    fn operand_expected(&self) -> bool {
        let src = self.lx.src();
        match self.prev {
            None => true,
            Some(p) => match p.kind {
                Kind::Op => !matches!(&src[p.start..p.end], b")" | b"]"),
                Kind::Word => word_is(src, self.prev, OPERAND_BEFORE),
                Kind::Other | Kind::CodeOpen => true,
                _ => false,
            },
        }
    }

    fn number_kind(&mut self) -> Kind {
        let src = self.lx.src();
        let item_start = word_is(src, self.prev, &[b"by"]) || op_is(src, self.prev, b",");
        if self.by_depth == Some(self.depth) && item_start {
            let next = self.peek();
            let item_end = match next {
                None => true,
                Some(n) if n.kind == Kind::Op => matches!(&src[n.start..n.end], b"," | b")" | b";"),
                Some(n) => word_is(src, Some(n), AFTER_ITEM) || word_is(src, Some(n), BY_END),
            };
            if item_end {
                return Kind::Kept;
            }
        }
        Kind::Const
    }

    fn word_kind(&mut self, t: Token) -> Kind {
        let src = self.lx.src();
        let w = &src[t.start..t.end];
        if self.stmt == Stmt::Start {
            self.stmt = match w {
                _ if w.eq_ignore_ascii_case(b"do") => Stmt::Do,
                _ if w.eq_ignore_ascii_case(b"create") => Stmt::Create,
                _ => Stmt::Other,
            };
        }
        let is = |k: &[u8]| w.eq_ignore_ascii_case(k);
        if is(b"by") && word_is(src, self.prev, &[b"order", b"group"]) {
            self.by_depth = Some(self.depth);
        } else if self.by_depth.is_some() && BY_END.iter().any(|k| is(k)) {
            self.by_depth = None;
        }
        let syntax_before = word_is(src, self.prev, &[b"is", b"not"]);
        if (is(b"true") || is(b"false")) && !syntax_before {
            return Kind::Const;
        }
        if is(b"null") && !syntax_before && !word_is(src, self.prev, &[b"set"]) {
            return Kind::Const;
        }
        Kind::Word
    }

    /// A dollar-quoted string: a code body to lex as SQL, or a constant.
    fn dollar(&mut self, mut t: Token) -> Token {
        let src = self.lx.src();
        let code = match self.stmt {
            Stmt::Do => true,
            Stmt::Create => word_is(src, self.prev, &[b"as"]),
            _ => false,
        };
        if code && self.peeked.is_none() {
            if let Some(open) = self.lx.enter(t) {
                self.stmt = Stmt::Start;
                self.prev = Some(open);
                return open;
            }
        }
        t.kind = Kind::Const;
        self.prev = Some(t);
        t
    }

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
