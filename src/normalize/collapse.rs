//! The normalizing driver: lists of constants collapse, a trailing `;` goes, and the
//! rest flows to a [`Sink`].
//!
//! An application sends `IN (1, 2, 3)` with as many items as it has ids; grouping by
//! list length would scatter one query over hundreds of fingerprints. So, as
//! PostgreSQL 18 shows it, a list whose every item is a constant keeps its first item
//! and a marker: `IN ($1 /*, ... */)`, `ARRAY[$1 /*, ... */]`, and for `VALUES` rows of
//! constants `VALUES ($1, $2) /*, ... */`. A one-item list gets the marker too, so the
//! length never matters, and the marker in our own output is read back as the same
//! marker, so normalizing twice changes nothing.
//!
//! An item is a constant optionally preceded by type words (`date '2024-01-01'`) and
//! followed by casts (`'a'::text`), `DEFAULT` (in a `VALUES` row), or a row of such
//! items in brackets: `IN ((1, 'a'), (2, 'b'))` becomes `IN (($1, $2) /*, ... */)`
//! and `VALUES (1, (2, 3)), (4, (5, 6))` becomes `VALUES ($1, ($2, $3)) /*, ... */`,
//! so a list of row values of any length is one fingerprint too. A list with any
//! other item (a column, a subquery, a function call) is left as it is.
//!
//! Deciding needs the whole list, so its tokens wait in a reusable buffer; once the
//! buffer has grown to the longest list seen, nothing allocates.

use super::fold::Folder;
use super::lexer::{Kind, Token};
use super::sink::Sink;

/// What the last emitted word opens, if followed by a bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    None,
    In,
    Array,
    Values,
}

/// Where an item of a list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// Nothing yet, or only type words (`date '...'`).
    Start,
    /// After the constant.
    Const,
    /// Right after `::`.
    Cast,
    /// Inside a cast's type name (`::double precision`, `::pg_catalog.int4`).
    Type,
}

/// How reading a list ended.
enum Scan {
    /// All items constant; the first item is `buf[..first_end]`; `close` ended it.
    Constants { first_end: usize, close: Token },
    /// Not a list of constants: the buffer holds the tokens read before `stop`.
    Other { stop: Option<Token> },
}

/// Emits tokens to the sink, holding a `;` back until something follows it.
struct Out<'s, S: Sink> {
    sink: &'s mut S,
    src: &'s [u8],
    semi: Option<Token>,
    opener: Opener,
}

impl<S: Sink> Out<'_, S> {
    #[inline(always)]
    fn emit(&mut self, t: Token) {
        self.emit_keyed(t, None);
    }

    /// [`Out::emit`], with the word key of `t` if the folder just gave it.
    #[inline(always)]
    fn emit_keyed(&mut self, t: Token, key: Option<u128>) {
        let bytes = &self.src[t.span()];
        if t.kind == Kind::Op && matches!(bytes, b";") {
            self.semi = Some(t);
            self.opener = Opener::None;
            return;
        }
        if let Some(semi) = self.semi.take() {
            self.sink.token(self.src, semi);
        }
        match key {
            Some(k) if t.kind == Kind::Word => self.sink.word(self.src, t, k),
            _ => self.sink.token(self.src, t),
        }
        self.opener = match (t.kind, bytes.len()) {
            (Kind::Word, 2) if bytes.eq_ignore_ascii_case(b"in") => Opener::In,
            (Kind::Word, 5) if bytes.eq_ignore_ascii_case(b"array") => Opener::Array,
            (Kind::Word, 6) if bytes.eq_ignore_ascii_case(b"values") => Opener::Values,
            _ => Opener::None,
        };
    }

    fn emit_all(&mut self, toks: &[Token]) {
        toks.iter().for_each(|&t| self.emit(t));
    }

    fn marker(&mut self) {
        self.emit(Token::new(Kind::Marker, 0, 0));
    }
}

/// Normalizes `src` into `sink`, using `buf` as scratch space. With `collapse` false,
/// lists are kept as they are (only to explain merges in tests).
pub(crate) fn run<S: Sink>(src: &[u8], buf: &mut Vec<Token>, sink: &mut S, collapse: bool) {
    let mut f = Folder::new(src);
    let mut out = Out {
        sink,
        src,
        semi: None,
        opener: Opener::None,
    };
    let mut pending: Option<Token> = None;
    loop {
        let (t, key) = match pending.take() {
            Some(t) => (t, None),
            None => match f.next_token() {
                Some(t) => (t, Some(f.word_key())),
                None => return,
            },
        };
        // Most tokens follow no opener: straight out, without looking at their bytes.
        if out.opener == Opener::None {
            out.emit_keyed(t, key);
            continue;
        }
        let bracket = if t.kind == Kind::Op {
            src[t.span()].first().copied()
        } else {
            None
        };
        let opener = if collapse { out.opener } else { Opener::None };
        pending = match (opener, bracket) {
            (Opener::In, Some(b'(')) => list(&mut f, &mut out, buf, t, b')'),
            (Opener::Array, Some(b'[')) => list(&mut f, &mut out, buf, t, b']'),
            (Opener::Values, Some(b'(')) => values(&mut f, &mut out, buf, t),
            _ => {
                out.emit(t);
                None
            }
        };
    }
}

/// Reads the items of a list up to `close` into `buf` (cleared first).
fn scan(f: &mut Folder<'_>, buf: &mut Vec<Token>, close: u8) -> Scan {
    buf.clear();
    let src = f.src();
    let mut item = Item::Start;
    let mut first_end = None;
    // Rows opened inside the list and not yet closed.
    let mut depth = 0u32;
    while let Some(t) = f.next_token() {
        // Operators as byte patterns (no slice comparisons: they become memcmp calls).
        let op: &[u8] = if t.kind == Kind::Op {
            &src[t.span()]
        } else {
            b""
        };
        item = match (item, t.kind, op) {
            (_, Kind::Marker, _) => continue,
            (Item::Start, Kind::Word, _) => match word_item(&src[t.span()]) {
                Some(i) => i,
                None => return Scan::Other { stop: Some(t) },
            },
            (Item::Start, Kind::Const, _) => Item::Const,
            (Item::Start, _, b"(") => {
                depth += 1;
                Item::Start
            }
            (Item::Const | Item::Type, _, b"::") => Item::Cast,
            (Item::Cast | Item::Type, Kind::Word | Kind::QIdent, _) => Item::Type,
            (Item::Type, _, b".") => Item::Type,
            (Item::Const | Item::Type, _, b",") if depth > 0 => Item::Start,
            (Item::Const | Item::Type, _, b")") if depth > 0 => {
                depth -= 1;
                Item::Const
            }
            (Item::Const | Item::Type, _, &[b]) if b == b',' || b == close => {
                let first_end = *first_end.get_or_insert(buf.len());
                if b == close {
                    return Scan::Constants {
                        first_end,
                        close: t,
                    };
                }
                Item::Start
            }
            _ => return Scan::Other { stop: Some(t) },
        };
        buf.push(t);
    }
    Scan::Other { stop: None }
}

/// What a word at the start of an item makes of it: `DEFAULT` is an item, a word that
/// begins a query (`(SELECT 1)`) ends the list, any other may be a type name before a
/// constant (`date '2024-01-01'`).
fn word_item(w: &[u8]) -> Option<Item> {
    const QUERY: [&[u8]; 4] = [b"select", b"values", b"with", b"table"];
    if w.eq_ignore_ascii_case(b"default") {
        Some(Item::Const)
    } else if QUERY.iter().any(|q| w.eq_ignore_ascii_case(q)) {
        None
    } else {
        Some(Item::Start)
    }
}

/// `IN (...)` or `ARRAY[...]`; returns a token still to be processed.
fn list<S: Sink>(
    f: &mut Folder<'_>,
    out: &mut Out<'_, S>,
    buf: &mut Vec<Token>,
    open: Token,
    close: u8,
) -> Option<Token> {
    out.emit(open);
    match scan(f, buf, close) {
        Scan::Constants { first_end, close } => {
            out.emit_all(&buf[..first_end]);
            out.marker();
            out.emit(close);
            None
        }
        Scan::Other { stop } => {
            out.emit_all(buf);
            stop
        }
    }
}

/// `VALUES (...), (...)`: rows of constants after the first are absorbed by a marker.
fn values<S: Sink>(
    f: &mut Folder<'_>,
    out: &mut Out<'_, S>,
    buf: &mut Vec<Token>,
    open: Token,
) -> Option<Token> {
    out.emit(open);
    match scan(f, buf, b')') {
        Scan::Constants { close, .. } => {
            out.emit_all(buf);
            out.emit(close);
        }
        Scan::Other { stop } => {
            out.emit_all(buf);
            return stop;
        }
    }
    let src = f.src();
    let is_op = |t: Token, c: u8| t.kind == Kind::Op && matches!(&src[t.span()], &[b] if b == c);
    loop {
        let next = f.next_token();
        match next {
            Some(t) if t.kind == Kind::Marker => continue,
            Some(comma) if is_op(comma, b',') => {
                let row = f.next_token();
                match row {
                    Some(open) if is_op(open, b'(') => {
                        if let Scan::Other { stop } = scan(f, buf, b')') {
                            out.marker();
                            out.emit_all(&[comma, open]);
                            out.emit_all(buf);
                            return stop;
                        }
                    }
                    _ => {
                        out.marker();
                        out.emit(comma);
                        return row;
                    }
                }
            }
            _ => {
                out.marker();
                return next;
            }
        }
    }
}
