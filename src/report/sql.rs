//! Normalized SQL as highlighted HTML: keywords, strings, numbers and placeholders in
//! `<span>`s, every piece of the text escaped.
//!
//! This is the one place besides the SVG charts where the report writes markup around
//! log text, so the rule is simple and tested: the text is cut into pieces at token
//! boundaries, each piece goes through [`esc`], and only fixed `<span class="x">` and
//! `</span>` tags are added between pieces.

use super::svg::esc;
use crate::normalize::{display_tokens, TokenClass};

/// Characters of SQL shown in a table cell; the detail shows the whole text.
pub const SHORT: usize = 200;

fn class(c: TokenClass) -> Option<&'static str> {
    match c {
        TokenClass::Keyword => Some("k"),
        TokenClass::Str => Some("s"),
        TokenClass::Number => Some("n"),
        TokenClass::Param => Some("p"),
        TokenClass::Marker => Some("m"),
        TokenClass::Word | TokenClass::Other => None,
    }
}

/// `sql` cut to at most `max` characters (with `…`), as escaped, highlighted HTML.
pub fn highlight(sql: &str, max: Option<usize>) -> String {
    let (text, cut) = match max.and_then(|m| sql.char_indices().nth(m)) {
        Some((at, _)) => (&sql[..at], true),
        None => (sql, false),
    };
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut pos = 0;
    for (c, r) in display_tokens(text) {
        let (Some(gap), Some(tok)) = (text.get(pos..r.start), text.get(r.clone())) else {
            // Not on character boundaries: give up on colours, never on escaping.
            return plain(sql, max);
        };
        out.push_str(&esc(gap));
        match class(c) {
            Some(k) => {
                out.push_str("<span class=\"");
                out.push_str(k);
                out.push_str("\">");
                out.push_str(&esc(tok));
                out.push_str("</span>");
            }
            None => out.push_str(&esc(tok)),
        }
        pos = r.end;
    }
    out.push_str(&esc(text.get(pos..).unwrap_or("")));
    if cut {
        out.push('…');
    }
    out
}

fn plain(sql: &str, max: Option<usize>) -> String {
    let mut s: String = match max {
        Some(m) => sql.chars().take(m).collect(),
        None => sql.to_string(),
    };
    if s.len() < sql.len() {
        s.push('…');
    }
    esc(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_placeholders_get_classes() {
        let h = highlight(
            "SELECT a FROM t WHERE b = $1 AND c IN ($2 /*, ... */)",
            None,
        );
        assert!(h.starts_with("<span class=\"k\">SELECT</span> a "), "{h}");
        assert!(h.contains("<span class=\"p\">$1</span>"), "{h}");
        assert!(h.contains("<span class=\"m\">/*, ... */</span>"), "{h}");
    }

    #[test]
    fn log_text_never_becomes_markup() {
        for evil in [
            "SELECT '</span><script>alert(1)</script>' FROM \"<b onmouseover=x>\"",
            "SELECT 1 /* <img src=x onerror=alert(1)> */ -- </textarea>",
            "x<y>z\"'&",
            "SELECT $$<script>$$, E'\\'<script>'",
        ] {
            for max in [None, Some(10), Some(31)] {
                let h = highlight(evil, max);
                let stripped = h
                    .replace("</span>", "")
                    .replace("<span class=\"k\">", "")
                    .replace("<span class=\"s\">", "")
                    .replace("<span class=\"n\">", "")
                    .replace("<span class=\"p\">", "")
                    .replace("<span class=\"m\">", "");
                assert!(!stripped.contains(['<', '>', '"']), "{evil:?} → {h}");
            }
        }
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        let h = highlight("SELECT 'ééééééé'", Some(10));
        assert!(h.ends_with('…'), "{h}");
        assert!(h.contains("éé"), "{h}");
    }
}
