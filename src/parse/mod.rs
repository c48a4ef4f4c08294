//! Parsing: PostgreSQL log text → [`LogEntry`] values borrowing from the input.
//!
//! A log entry is one message as PostgreSQL wrote it: its first line (prefix, severity,
//! message), the TAB-indented continuation lines of a multi-line message, and the
//! DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION lines of the same process that follow.
//! Nothing here allocates per line: entries borrow from the mapped input and the
//! auxiliary lines live in a buffer reused for the whole chunk.

pub mod anchor;
pub mod cloudsql;
pub mod cnpg;
pub mod csvlog;
pub mod format;
pub mod heroku;
pub mod infer;
pub mod jsonlog;
pub mod lines;
pub mod pgbouncer;
pub mod prefix;
pub mod rebuild;
pub mod stderr;
pub mod syslog;
pub mod time;
pub mod years;

pub use prefix::{Fields, Prefix, Severity};
pub use time::Millis;

/// One auxiliary line (DETAIL, HINT, CONTEXT, STATEMENT, QUERY, LOCATION) of an entry.
#[derive(Debug, Clone, Copy)]
pub struct Aux<'a> {
    /// Which kind of line.
    pub severity: Severity,
    /// Its text, continuation lines included (with their `\n\t`).
    pub text: &'a [u8],
}

/// One log entry, borrowed from the input (`'a`) and from the parser's reused
/// auxiliary-line buffer (`'b`).
#[derive(Debug, Clone, Copy)]
pub struct LogEntry<'a, 'b> {
    /// Byte offset of the entry's first line in its file (or stream).
    pub offset: u64,
    /// Line number of the entry's first line, 1-based, relative to the chunk.
    pub line: u64,
    /// Values of the prefix escapes.
    pub fields: Fields<'a>,
    /// The severity of the first line.
    pub severity: Severity,
    /// The message, continuation lines included (with their `\n\t`).
    pub message: &'a [u8],
    /// The auxiliary lines that complete the message.
    pub aux: &'b [Aux<'a>],
}

impl<'a> LogEntry<'a, '_> {
    /// The first auxiliary line of a kind whose text starts with `head`, without `head`.
    pub fn aux_text(&self, severity: Severity, head: &[u8]) -> Option<&'a [u8]> {
        self.aux
            .iter()
            .find(|a| a.severity == severity && a.text.starts_with(head))
            .map(|a| &a.text[head.len()..])
    }
}

/// Receives what a chunk parser finds.
pub trait EntrySink<'a> {
    /// A complete entry.
    fn entry(&mut self, entry: &LogEntry<'a, '_>);
    /// A line that belongs to no entry (1-based line number relative to the chunk).
    fn skipped(&mut self, line: u64, text: &'a [u8]);
    /// A line of the wrapper format that is not PostgreSQL's (a Heroku metrics sample,
    /// CloudNativePG's instance manager): passed over and counted, never warned about
    /// line by line.
    fn foreign(&mut self, _line: u64) {}
    /// A PgBouncer log line (never a server entry). A sink that does not read them
    /// counts them as skipped.
    fn pooler(&mut self, line: &pgbouncer::PoolerLine<'a>) {
        self.skipped(line.line, line.message);
    }
}

/// Turns stored message text back into what the client sent: continuation lines lose
/// the TAB that the stderr format adds; invalid UTF-8 is replaced.
pub fn unfold(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if text.contains("\n\t") {
        text.replace("\n\t", "\n")
    } else {
        text.into_owned()
    }
}
