//! Formats that wrap PostgreSQL's stderr text (syslog, Heroku logplex, Cloud Logging's
//! `textPayload`) are read by rebuilding that text in the chunk's arena and handing it
//! to the stderr parser. This module maps what the stderr parser finds back to the
//! file: each rebuilt line remembers the byte offset and line number of the file line
//! it came from, and the time and pid its wrapper carried, which fill the entry's
//! fields when the log_line_prefix has no `%t`/`%m`/`%p` of its own.

use super::{EntrySink, LogEntry, Millis};

/// Where one rebuilt line came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// Byte offset of the file line.
    pub offset: u64,
    /// Line number of the file line (relative to the chunk).
    pub line: u64,
    /// The time the wrapper gives the line, if any.
    pub ts: Option<Millis>,
    /// True when that time had no zone (a traditional syslog header) and is read as UTC.
    pub zone_unknown: bool,
    /// The pid the wrapper gives the line, if any.
    pub pid: Option<u32>,
}

/// Hands entries on with the file's offsets and line numbers; fills time and pid from
/// the wrapper where the prefix gave none.
pub struct Remap<'s, 'm, 'a> {
    /// The sink the entries go to.
    pub sink: &'s mut dyn EntrySink<'a>,
    /// One origin per rebuilt line, in order.
    pub map: &'m [Origin],
}

impl Remap<'_, '_, '_> {
    /// The origin of rebuilt line `line` (1-based).
    fn at(&self, line: u64) -> Origin {
        self.map
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(Origin {
                offset: 0,
                line,
                ts: None,
                zone_unknown: false,
                pid: None,
            })
    }
}

impl<'a> EntrySink<'a> for Remap<'_, '_, 'a> {
    fn entry(&mut self, e: &LogEntry<'a, '_>) {
        let o = self.at(e.line);
        let mut fields = e.fields;
        if fields.ts.is_none() && o.ts.is_some() {
            fields.ts = o.ts;
            fields.zone_unknown = o.zone_unknown;
        }
        if fields.pid.is_none() {
            fields.pid = o.pid;
        }
        self.sink.entry(&LogEntry {
            offset: o.offset,
            line: o.line,
            fields,
            ..*e
        });
    }

    fn skipped(&mut self, line: u64, text: &'a [u8]) {
        let o = self.at(line);
        self.sink.skipped(o.line, text);
    }

    fn foreign(&mut self, line: u64) {
        let o = self.at(line);
        self.sink.foreign(o.line);
    }
}
