//! Guessing a file's `log_line_prefix` when the user did not give one.
//!
//! Each prefix seen in the wild is tried on the first lines of the file; the one that
//! matches most lines wins (ties go to the more specific prefix). When none fits, a
//! prefix is derived from the shape of the first line: its timestamp, `[pid]`,
//! `[pid-line]` and `key=value` fields.

use super::Prefix;

/// Prefixes seen in the wild, most common first.
pub const KNOWN_PREFIXES: &[&str] = &[
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%r ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%r ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] ",
    "%m [%p] %q%u@%d ",
    "%t [%p] %q%u@%d ",
    "%m [%p-%l] %q%u@%d ",
    "%t [%p-%l] %q%u@%d ",
    "%m [%p] %q%u@%d/%a ",
    "%m [%p] [%e] xid=%x vxid=%v %q%u@%d/%a ",
    "%t:%r:%u@%d:[%p]:",
    "%m:%r:%u@%d:[%p]:",
    "%t:%h:%u@%d:[%p]:",
    "%m [%p] ",
    "%t [%p] ",
    "%m [%p]: ",
    "%t [%p]: ",
    "%m ",
    "%t ",
    "%n [%p] ",
    "[%p] ",
    "",
];

/// How many non-continuation lines are sampled.
const SAMPLE_LINES: usize = 400;

/// The prefix that best explains the first lines of `data`, or `None` when no
/// known or derived prefix matches any of them.
pub fn infer_prefix(data: &[u8]) -> Option<Prefix> {
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with(b"\t"))
        .take(SAMPLE_LINES)
        .collect();
    let mut candidates: Vec<Prefix> = KNOWN_PREFIXES
        .iter()
        .filter_map(|p| Prefix::compile(p).ok())
        .collect();
    let explains_all = |p: &Prefix| lines.iter().all(|l| p.match_line(l).is_some());
    // A line-shape prefix is derived only when no known prefix explains every line.
    let known_fits = candidates
        .iter()
        .any(|p| p.specificity() > 2 && explains_all(p));
    if let Some(derived) = lines
        .first()
        .filter(|_| !known_fits)
        .and_then(|l| derive_prefix(l))
    {
        if let Ok(p) = Prefix::compile(&derived) {
            candidates.push(p);
        }
    }
    let score = |p: &Prefix| lines.iter().filter(|l| p.match_line(l).is_some()).count();
    // Most lines matched, then most escapes, then earliest in the list.
    candidates
        .into_iter()
        .enumerate()
        .map(|(i, p)| (score(&p), p.specificity(), std::cmp::Reverse(i), p))
        .filter(|c| c.0 > 0)
        .max_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)))
        .map(|c| c.3)
}

/// Builds a prefix from one line's shape: the text before the first severity, with
/// a leading timestamp, bracketed numbers and `key=value` values turned into escapes.
pub fn derive_prefix(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let sev_at = find_severity(text)?;
    let head = &text[..sev_at];
    let re = regex::Regex::new(
        r"(?x)
        (?P<m>\d{4}-\d\d-\d\d[\ T]\d\d:\d\d:\d\d\.\d+(?:\ [A-Za-z]+|\ [+-]\d+)?)
      | (?P<t>\d{4}-\d\d-\d\d[\ T]\d\d:\d\d:\d\d(?:\ [A-Za-z]+|\ [+-]\d+)?)
      | (?P<n>\b\d{10}\.\d{3}\b)
      | \[(?P<pl>\d+-\d+)\]
      | \[(?P<p>\d+)\]
      | (?P<kv>\b(?:user|db|database|app|application|client|host|remote)=[^,\s]*)",
    )
    .ok()?;
    let mut out = String::new();
    let mut last = 0;
    let mut has_pid = false;
    for c in re.captures_iter(head) {
        let m = c.get(0)?;
        out.push_str(&head[last..m.start()].replace('%', "%%"));
        if c.name("m").is_some() {
            out.push_str("%m");
        } else if c.name("t").is_some() {
            out.push_str("%t");
        } else if c.name("n").is_some() {
            out.push_str("%n");
        } else if let Some(pl) = c.name("pl") {
            // `[pid-line]` (Debian) unless the pid was already seen: then `[line-1]`
            // (pgBadger's `[%l-1]`).
            if has_pid {
                let one = pl.as_str().ends_with("-1");
                out.push_str(if one { "[%l-1]" } else { "[%l-%l]" });
            } else {
                out.push_str("[%p-%l]");
                has_pid = true;
            }
        } else if c.name("p").is_some() {
            out.push_str("[%p]");
            has_pid = true;
        } else if let Some(kv) = c.name("kv") {
            let key = kv.as_str().split('=').next().unwrap_or_default();
            let esc = match key {
                "user" => "%u",
                "db" | "database" => "%d",
                "app" | "application" => "%a",
                _ => "%h",
            };
            out.push_str(key);
            out.push('=');
            out.push_str(esc);
        }
        last = m.end();
    }
    out.push_str(&head[last..].replace('%', "%%"));
    Some(out)
}

fn find_severity(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| i == 0 || matches!(bytes[i - 1], b' ' | b':' | b']'))
        .find(|&i| super::Severity::parse(&bytes[i..]).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(lines: &str) -> String {
        infer_prefix(lines.as_bytes()).unwrap().as_str().to_string()
    }

    #[test]
    fn picks_the_known_prefix_that_explains_most_lines() {
        let log = "2026-11-24 05:35:14.949 CET [29040] LOG:  starting\n\
                   2026-11-24 05:35:15.018 CET [29058] postgres@bench LOG:  connection authorized\n";
        assert_eq!(infer(log), "%m [%p] %q%u@%d ");
        let log = "2026-11-24 04:36:01 UTC [1235-10] app_rw@bench LOG:  statement: x\n";
        assert_eq!(infer(log), "%t [%p-%l] %q%u@%d ");
    }

    #[test]
    fn derives_an_unknown_prefix_from_the_line_shape() {
        let line = b"<2026-11-24 04:34:31.123 UTC> pid=[77] [3-1] user=bob,db=shop LOG:  hello";
        assert_eq!(
            derive_prefix(line).unwrap(),
            "<%m> pid=[%p] [%l-1] user=%u,db=%d "
        );
        let log = std::str::from_utf8(line).unwrap();
        assert_eq!(infer(log), "<%m> pid=[%p] [%l-1] user=%u,db=%d ");
    }

    #[test]
    fn nothing_matches_garbage() {
        assert!(infer_prefix(b"hello world\nthis is not a log\n").is_none());
    }
}
