//! Rewrites the literals of a SQL text, for `--anonymize`: every string, dollar-quoted
//! string and number the lexer finds is handed to a callback that returns what to show
//! instead; keywords, identifiers, operators and `$n` parameters are kept as written.
//!
//! Used on the few texts a report keeps (samples, parameters, deadlock statements),
//! never on the hot path. Comments are not tokens, so they are not copied: a comment
//! can hold anything (`/* customer 18300 */`), and is shown as `/* … */`.

use super::lexer::{Kind, Lexer};

/// A literal found in SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal<'a> {
    /// A quoted string's content (`'it''s'` → `it's`, `E'x'` → `x`), or a dollar-quoted
    /// string's body.
    Str(&'a str),
    /// A numeric constant as written.
    Num(&'a str),
}

/// `sql` with every literal replaced by `replace(literal)`: a string's replacement is
/// quoted (`'…'`), a number's is written bare.
pub fn rewrite_literals(sql: &str, replace: &mut dyn FnMut(Literal<'_>) -> String) -> String {
    rewrite_sql(sql, replace, None)
}

/// Words before a `(` that name a table, not call a function (`INSERT INTO t (a, b)`).
const BEFORE_TABLE: &[&str] = &[
    "into",
    "table",
    "references",
    "join",
    "from",
    "update",
    "only",
    "on",
];

/// Like [`rewrite_literals`], and with `rename`, every identifier (table, column,
/// alias; unquoted ones case-folded, quoted ones as written) replaced by `rename(name)`:
/// keywords, function names (a word before `(`) and type names (after `::`) are kept.
pub fn rewrite_sql(
    sql: &str,
    replace: &mut dyn FnMut(Literal<'_>) -> String,
    mut rename: Option<&mut dyn FnMut(&str) -> String>,
) -> String {
    let src = sql.as_bytes();
    let mut prev = "";
    let mut lexer = Lexer::new(src);
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    while let Some(tok) = lexer.next_token() {
        let span = tok.span();
        // Spans start and end at ASCII bytes (quotes, digits, operators) or at the
        // ends of the text, so these slices are on char boundaries; `get` keeps a
        // surprise from panicking.
        let gap = sql.get(last..span.start).unwrap_or("");
        if gap.trim().is_empty() {
            out.push_str(gap);
        } else {
            out.push_str(" /* … */ ");
        }
        let text = sql.get(span.clone()).unwrap_or("");
        match tok.kind {
            Kind::Str => {
                let inner = string_body(text);
                out.push('\'');
                out.push_str(&replace(Literal::Str(&inner.replace("''", "'"))));
                out.push('\'');
            }
            Kind::DollarStr => {
                out.push('\'');
                out.push_str(&replace(Literal::Str(dollar_body(text))));
                out.push('\'');
            }
            Kind::Num => out.push_str(&replace(Literal::Num(text))),
            Kind::Word if rename.is_some() && is_identifier(text, prev, &sql[span.end..]) => {
                let rename = rename.as_mut().expect("checked");
                out.push_str(&rename(&text.to_lowercase()));
            }
            Kind::QIdent if rename.is_some() && text.starts_with('"') => {
                let rename = rename.as_mut().expect("checked");
                let inner = text.trim_matches('"').replace("\"\"", "\"");
                out.push('"');
                out.push_str(&rename(&inner));
                out.push('"');
            }
            _ => out.push_str(text),
        }
        prev = text;
        last = span.end;
    }
    let rest = sql.get(last..).unwrap_or("");
    if !rest.trim().is_empty() {
        out.push_str(" /* … */");
    }
    out
}

/// True when the word `w`, after the token `prev` and before `rest`, names a table,
/// column or alias (not a keyword, a function or a type).
fn is_identifier(w: &str, prev: &str, rest: &str) -> bool {
    if super::keywords::is_keyword(w.as_bytes()) || prev == "::" {
        return false;
    }
    let call = rest.trim_start().starts_with('(');
    !call || BEFORE_TABLE.iter().any(|k| prev.eq_ignore_ascii_case(k))
}

/// `E'abc'` → `abc`; an unterminated string runs to the end.
fn string_body(tok: &str) -> &str {
    let open = tok.find('\'').map_or(0, |i| i + 1);
    let body = &tok[open.min(tok.len())..];
    body.strip_suffix('\'').unwrap_or(body)
}

/// `$tag$body$tag$` → `body`.
fn dollar_body(tok: &str) -> &str {
    let Some(tag_end) = tok[1..].find('$').map(|i| i + 2) else {
        return tok;
    };
    let tag = &tok[..tag_end];
    let body = &tok[tag_end..];
    body.strip_suffix(tag).unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(sql: &str) -> String {
        rewrite_literals(sql, &mut |l| match l {
            Literal::Str(s) => format!("S[{s}]"),
            Literal::Num(n) => format!("N[{n}]"),
        })
    }

    #[test]
    fn literals_replaced_identifiers_kept() {
        assert_eq!(
            mark("SELECT id FROM orders WHERE customer_id = 18300 AND ref = 'ORD-1' LIMIT $1"),
            "SELECT id FROM orders WHERE customer_id = N[18300] AND ref = 'S[ORD-1]' LIMIT $1"
        );
        assert_eq!(
            mark("$1 = '18300', $2 = NULL"),
            "$1 = 'S[18300]', $2 = NULL"
        );
        assert_eq!(mark("x = E'it''s' + 1.5e3"), "x = 'S[it's]' + N[1.5e3]");
        assert_eq!(mark("DO $f$ secret $f$"), "DO 'S[ secret ]'");
        assert_eq!(
            mark("SELECT 1 /* customer 42 */ FROM t -- 7"),
            "SELECT N[1] /* … */ FROM t /* … */"
        );
        assert_eq!(mark("x = 'unterminated"), "x = 'S[unterminated]'");
        assert_eq!(mark("\"Quoted Id\" = 'é'"), "\"Quoted Id\" = 'S[é]'");
    }

    #[test]
    fn identifiers_renamed_keywords_functions_and_types_kept() {
        let mut names = Vec::new();
        let out = rewrite_sql(
            "INSERT INTO Orders (id, \"Amount\") SELECT count(o.id)::int FROM orders o",
            &mut |_| "L".into(),
            Some(&mut |n: &str| {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
                format!("n{}", names.iter().position(|x| x == n).unwrap() + 1)
            }),
        );
        assert_eq!(
            out,
            "INSERT INTO n1 (n2, \"n3\") SELECT count(n4.n2)::int FROM n1 n4"
        );
    }
}
