//! A slow sample as runnable SQL: its bind parameters (`DETAIL:  parameters: $1 =
//! '42', $2 = NULL`) put in place of the placeholders, for EXPLAIN.
//!
//! PostgreSQL writes each value as a quoted literal with its quotes doubled, or `NULL`,
//! so the values are inlined as written. Placeholders inside string literals, quoted
//! names, dollar-quoted strings and comments are left alone. A value cut by
//! `log_parameter_max_length` (it ends in `...'`) makes the statement not runnable:
//! `None`, rather than SQL that would run with a wrong value.

/// `$n = value` pairs of a parameters line, or `None` when it cannot be read whole.
fn parse(params: &str) -> Option<Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut s = params.trim();
    while !s.is_empty() {
        let rest = s.strip_prefix('$')?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[..digits].parse().ok()?;
        let rest = rest[digits..].strip_prefix(" = ")?;
        let (value, after) = if let Some(r) = rest.strip_prefix("NULL") {
            ("NULL".to_string(), r)
        } else {
            let body = rest.strip_prefix('\'')?;
            let mut end = None;
            let b = body.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            let end = end?;
            let v = &body[..end];
            if v.ends_with("...") {
                return None;
            }
            (format!("'{v}'"), &body[end + 1..])
        };
        out.push((n, value));
        s = after.trim_start();
        s = s.strip_prefix(',').unwrap_or(s).trim_start();
    }
    Some(out)
}

/// Skips a quoted run starting at `i` (the quote), returns the index after it.
fn skip_quoted(b: &[u8], i: usize, q: u8) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// `sql` with `params` inlined, or `None` when a value is cut or a placeholder has none.
pub fn inline(sql: &str, params: &str) -> Option<String> {
    let values = parse(params)?;
    let value = |n: usize| values.iter().find(|v| v.0 == n).map(|v| v.1.as_str());
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + params.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        let next = match b[i] {
            b'\'' => skip_quoted(b, i, b'\''),
            b'"' => skip_quoted(b, i, b'"'),
            b'-' if b.get(i + 1) == Some(&b'-') => sql[i..].find('\n').map_or(b.len(), |n| i + n),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                sql[i + 2..].find("*/").map_or(b.len(), |n| i + n + 4)
            }
            b'$' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits > 0 {
                    let n: usize = sql[i + 1..i + 1 + digits].parse().ok()?;
                    out.push_str(&sql[copied..i]);
                    out.push_str(value(n)?);
                    copied = i + 1 + digits;
                    i = copied;
                    continue;
                }
                // A dollar-quoted string: $tag$ ... $tag$.
                let tag_len = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                if b.get(i + 1 + tag_len) == Some(&b'$') {
                    let tag = &sql[i..i + tag_len + 2];
                    sql[i + tag.len()..]
                        .find(tag)
                        .map_or(b.len(), |n| i + tag.len() + n + tag.len())
                } else {
                    i + 1
                }
            }
            _ => i + 1,
        };
        i = next.max(i + 1);
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_inlined_outside_strings_and_comments() {
        let sql = "SELECT '$1', $1, \"$2\" FROM t WHERE a = $2 -- $1\n AND b = $10 /* $2 */";
        let got = inline(sql, "$1 = '42', $2 = 'it''s', $10 = NULL").unwrap();
        assert_eq!(
            got,
            "SELECT '$1', '42', \"$2\" FROM t WHERE a = 'it''s' -- $1\n AND b = NULL /* $2 */"
        );
        assert_eq!(
            inline("SELECT $f$ $1 $f$, $1", "$1 = '1'").as_deref(),
            Some("SELECT $f$ $1 $f$, '1'")
        );
    }

    #[test]
    fn cut_or_missing_values_are_not_runnable() {
        assert_eq!(inline("SELECT $1", "$1 = 'abc...'"), None);
        assert_eq!(inline("SELECT $1, $2", "$1 = '1'"), None);
        assert_eq!(inline("SELECT $1", "$1 = 'unterminated"), None);
    }
}
