//! Tokens of SQL text for display (syntax highlighting in reports), from the same
//! lexer that fingerprints, so what is shown as a string or a keyword is what
//! PostgreSQL would read as one.

use super::keywords::is_keyword;
use super::lexer::{Kind, Lexer};
use std::ops::Range;

/// What a piece of SQL is, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    /// A keyword written in upper case (the normalizer writes keywords so).
    Keyword,
    /// An identifier, or a keyword written in lower case.
    Word,
    /// A string or quoted identifier.
    Str,
    /// A number or a kept literal.
    Number,
    /// A parameter or a placeholder (`$1`).
    Param,
    /// The `/*, ... */` marker of a collapsed list.
    Marker,
    /// Operators, punctuation and anything else.
    Other,
}

/// The tokens of `sql`: (class, byte range), in order. Bytes between tokens are
/// white space or comments. Never fails: garbage lexes as [`TokenClass::Other`].
pub fn display_tokens(sql: &str) -> Vec<(TokenClass, Range<usize>)> {
    let bytes = sql.as_bytes();
    let mut lx = Lexer::new(bytes);
    let mut out = Vec::new();
    while let Some(t) = lx.next_token() {
        let text = &bytes[t.start()..t.end()];
        let class = match t.kind {
            Kind::Word if is_keyword(text) && !text.iter().any(u8::is_ascii_lowercase) => {
                TokenClass::Keyword
            }
            Kind::Word => TokenClass::Word,
            Kind::QIdent | Kind::Str | Kind::DollarStr => TokenClass::Str,
            Kind::Num | Kind::Kept => TokenClass::Number,
            Kind::Param | Kind::Const => TokenClass::Param,
            Kind::Marker => TokenClass::Marker,
            _ => TokenClass::Other,
        };
        out.push((class, t.start()..t.end()));
    }
    out
}
