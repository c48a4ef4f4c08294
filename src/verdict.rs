//! What became of each input: read, read with lines skipped, read in part, passed over
//! (not a PostgreSQL log) or unreadable, and why.
//!
//! An investigator trusts a report only as far as it says what it left out: an input
//! that could not be read is never dropped silently, and it never sinks the others
//! either. Every input gets a [`Verdict`]; the report's header, the text summary and the
//! terminal show it, and the exit code (3) says the report was made from part of what
//! was given. The wording lives here, once.

use crate::aggregate::InputStats;
use crate::input::InputError;

/// More than this share of an input's lines skipped makes the report partial.
pub const SKIPPED_SHARE_LIMIT: f64 = 0.01;

/// How many characters of a passed-over input's first line are shown.
const PREVIEW_CHARS: usize = 80;

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Read to its end (its skipped lines, if any, are in its counters).
    Read,
    /// A read error midway (a truncated gzip, an I/O error): what came before is kept.
    Partial {
        /// The error.
        why: String,
    },
    /// Not a PostgreSQL log pgferret recognises.
    PassedOver {
        /// What it looked like: its first line, shortened and escaped.
        looked_like: String,
    },
    /// Binary data (random bytes, an image, an archive pgferret cannot open).
    Binary {
        /// The share of its first bytes that are not text, in percent.
        percent: u32,
    },
    /// The same file as an input given before (same path, or the same file through
    /// another path or a link): counted once, under that one.
    Duplicate {
        /// The name of the input it repeats.
        of: String,
    },
    /// A directory with no file named like a log in it.
    EmptyDir,
    /// Nothing could be read from it.
    Unreadable {
        /// Why (missing, permission denied, not a regular file...).
        why: String,
    },
}

impl Verdict {
    /// The verdict of an input that could not be opened or read at all.
    pub fn unreadable(e: &InputError) -> Verdict {
        Verdict::Unreadable { why: reason(e) }
    }

    /// The verdict of an input whose stream failed after some of it was read.
    pub fn partial(e: &InputError) -> Verdict {
        Verdict::Partial { why: reason(e) }
    }

    /// The verdict of an input that is not a log; `line` is its first non-empty line.
    pub fn passed_over(line_no: u64, line: &str) -> Verdict {
        Verdict::PassedOver {
            looked_like: format!("line {line_no} reads \"{}\"", preview(line)),
        }
    }

    /// Its name in the JSON report: `read`, `read_with_skips`, `partial`,
    /// `passed_over` or `unreadable`.
    pub fn kind(&self, stats: &InputStats) -> &'static str {
        match self {
            Verdict::Read if stats.skipped_lines > 0 => "read_with_skips",
            Verdict::Read => "read",
            Verdict::Partial { .. } => "partial",
            Verdict::PassedOver { .. } | Verdict::Binary { .. } | Verdict::EmptyDir => {
                "passed_over"
            }
            Verdict::Duplicate { .. } => "duplicate",
            Verdict::Unreadable { .. } => "unreadable",
        }
    }

    /// One sentence for people.
    pub fn sentence(&self, stats: &InputStats) -> String {
        let lines = |n: u64| crate::report::text::thousands(n);
        match self {
            Verdict::Read if stats.lines > 0 && stats.entries == 0 => format!(
                "read, but none of its {} lines is a PostgreSQL log entry pgferret recognises \
                 (wrong --prefix or --format?)",
                lines(stats.lines)
            ),
            Verdict::Read if stats.skipped_lines > 0 => format!(
                "read with {} of {} lines skipped ({}), not part of any log entry",
                lines(stats.skipped_lines),
                lines(stats.lines),
                percent(stats.skipped_lines, stats.lines)
            ),
            Verdict::Read if stats.lines == 0 => "read: it is empty".into(),
            Verdict::Read => format!("read in full: {} lines", lines(stats.lines)),
            Verdict::Partial { why } => format!(
                "read in part: {why}; the {} lines before the error are in the report, the rest is not",
                lines(stats.lines)
            ),
            Verdict::PassedOver { looked_like } => format!(
                "passed over: not a PostgreSQL log pgferret recognises ({looked_like}); \
                 if it is one, pass --prefix '<log_line_prefix>' or --format"
            ),
            Verdict::Binary { percent } => format!(
                "passed over: not a PostgreSQL log, looked like binary data ({percent}% of its \
                 first bytes are not text)"
            ),
            Verdict::Duplicate { of } => {
                format!("given twice: the same file as {of}, counted once")
            }
            Verdict::EmptyDir => {
                "passed over: a directory with no log file in it (*.log, *.csv, *.json, \
                 their compressed copies, postgres*)"
                    .into()
            }
            Verdict::Unreadable { why } => format!("unreadable: {why}"),
        }
    }

    /// True when the report cannot stand for this whole input: it was passed over,
    /// unreadable or read in part, or more than 1% of its lines were skipped.
    pub fn incomplete(&self, stats: &InputStats) -> bool {
        match self {
            Verdict::Read => too_many_skipped(stats) || too_many_unattributed(stats),
            // Every line of it is in the report, once.
            Verdict::Duplicate { .. } => false,
            _ => true,
        }
    }
}

/// More than [`SKIPPED_SHARE_LIMIT`] of the input's lines were skipped.
pub fn too_many_skipped(stats: &InputStats) -> bool {
    stats.lines > 0 && stats.skipped_lines as f64 > stats.lines as f64 * SKIPPED_SHARE_LIMIT
}

/// More than [`SKIPPED_SHARE_LIMIT`] of the input's entries matched no prefix: their
/// counts are in the report, but not who ran them.
pub fn too_many_unattributed(stats: &InputStats) -> bool {
    stats.entries > 0
        && stats.unattributed_entries as f64 > stats.entries as f64 * SKIPPED_SHARE_LIMIT
}

fn percent(part: u64, whole: u64) -> String {
    let p = part as f64 * 100.0 / whole.max(1) as f64;
    if p < 0.1 {
        "under 0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// The OS's reason, without the path (the verdict is shown beside it).
fn reason(e: &InputError) -> String {
    match e {
        InputError::Open { source, .. } => source.to_string(),
        InputError::Read { source, .. } => format!("read error: {source}"),
        InputError::Decode {
            at,
            truncated,
            source,
            ..
        } => crate::input::decode_failure(*at, *truncated, source),
    }
}

/// `line` cut to [`PREVIEW_CHARS`] characters, control characters and quotes escaped.
pub fn preview(line: &str) -> String {
    let mut out = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == PREVIEW_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || c == '"' || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(lines: u64, entries: u64, skipped: u64) -> InputStats {
        InputStats {
            lines,
            entries,
            skipped_lines: skipped,
            ..InputStats::default()
        }
    }

    #[test]
    fn one_percent_is_the_line() {
        assert!(!Verdict::Read.incomplete(&stats(1000, 900, 10)));
        assert!(Verdict::Read.incomplete(&stats(1000, 900, 11)));
        assert_eq!(Verdict::Read.kind(&stats(1000, 900, 10)), "read_with_skips");
        assert_eq!(Verdict::Read.kind(&stats(1000, 900, 0)), "read");
        assert_eq!(
            Verdict::Read.sentence(&stats(1000, 900, 11)),
            "read with 11 of 1,000 lines skipped (1.1%), not part of any log entry"
        );
    }

    #[test]
    fn previews_are_short_and_escaped() {
        assert_eq!(preview("a\t\"b\"\u{1b}[31m"), "a\\t\\\"b\\\"\\u{1b}[31m");
        let long = "x".repeat(200);
        assert_eq!(preview(&long).chars().count(), PREVIEW_CHARS + 1);
        let v = Verdict::passed_over(2, "shopping list");
        assert!(v
            .sentence(&stats(0, 0, 0))
            .contains("line 2 reads \"shopping list\""));
        assert!(v.incomplete(&stats(0, 0, 0)));
    }
}
