//! The severity anchor: where PostgreSQL's `LOG:  `, `ERROR:  `, `DETAIL:  `... starts in
//! a line. Whatever the `log_line_prefix`, the text before the anchor is the prefix and
//! the text after it the message, so entries can be recognised and counted even when
//! the prefix is not understood.

use super::Severity;

/// A severity marker found in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Where the severity word starts (the length of the prefix).
    pub at: usize,
    /// The severity.
    pub severity: Severity,
    /// Where the message starts (after `WORD:  `).
    pub message_at: usize,
}

/// The first severity marker of `line`: a severity word (`LOG`, `ERROR`, `DEBUG1`...),
/// preceded by the start of the line or a non-alphanumeric byte, followed by `:  `
/// (a colon and two spaces, as PostgreSQL writes it).
pub fn find(line: &[u8]) -> Option<Anchor> {
    for colon in memchr::memmem::find_iter(line, b":  ") {
        let start = line[..colon]
            .iter()
            .rposition(|b| !b.is_ascii_alphanumeric())
            .map_or(0, |p| p + 1);
        if colon - start < 3 {
            continue;
        }
        if let Some(severity) = Severity::from_word(&line[start..colon]) {
            return Some(Anchor {
                at: start,
                severity,
                message_at: colon + 3,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_severity_whatever_precedes_it() {
        let a = find(b"2026-11-24 04:00:00 UTC:10.0.0.5(5):app@shop:[42]:LOG:  x").unwrap();
        assert_eq!(a.at, 50);
        assert_eq!(a.severity, Severity::Log);
        let a = find(b"[1] bob ERROR:  boom LOG:  no").unwrap();
        assert_eq!((a.at, a.severity), (8, Severity::Error));
        assert_eq!(find(b"LOG:  at the start").unwrap().at, 0);
        assert!(find(b"CATALOG:  not a severity").is_none());
        assert!(find(b"LOG: one space").is_none());
        assert!(find(b"").is_none());
    }
}
