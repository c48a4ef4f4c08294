//! `log_line_prefix`: compiled once from its `%` escapes into a matcher that splits a
//! stderr line into prefix fields, severity and message.
//!
//! Fixed-shape escapes (`%t %m %n %s %p %l %x %e %c %Q %v %P`) are parsed directly.
//! Free-text escapes (`%u %d %a %h %r %b %i`) end where the next literal of the prefix
//! occurs; since a free-text value may itself contain that literal (an application
//! name with a space), the matcher backtracks to the next occurrence until the whole
//! prefix matches and is followed by a severity (`LOG:  `). `%q` ends the prefix early
//! for processes without a session, exactly as PostgreSQL does when printing.

use super::time::{parse_epoch, parse_timestamp, Millis, TimeCache};
use fast::Fast;
use std::fmt;

mod fast;

/// A message severity, as PostgreSQL writes it after the prefix.
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[allow(missing_docs)]
pub enum Severity {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Log,
    Fatal,
    Panic,
    Detail,
    Hint,
    Context,
    Statement,
    Query,
    Location,
}

impl Severity {
    /// Parses `WORD:  ` at the start of `s`: the severity and the length up to the message.
    ///
    /// Dispatched on the first byte, each word compared with its `:  ` in place: the
    /// same answer as finding the first colon and naming the word before it (no word
    /// holds a colon, and the longest, `STATEMENT`, ends well within 12 bytes).
    #[inline(always)]
    pub fn parse(s: &[u8]) -> Option<(Severity, usize)> {
        // The two words most lines carry, each one masked word comparison.
        if let Some(w) = word_at(s, 0) {
            const LOG: u64 = u64::from_le_bytes(*b"LOG:  \0\0");
            const DETAIL: u64 = u64::from_le_bytes(*b"DETAIL: ");
            if w & 0xffff_ffff_ffff == LOG {
                return Some((Severity::Log, 6));
            }
            if w == DETAIL && s.get(8) == Some(&b' ') {
                return Some((Severity::Detail, 9));
            }
        }
        Self::parse_word(s)
    }

    /// [`Severity::parse`] for every word, dispatched on the first byte.
    #[inline(never)]
    fn parse_word(s: &[u8]) -> Option<(Severity, usize)> {
        #[inline(always)]
        fn word<const N: usize>(s: &[u8], w: &[u8; N], sev: Severity) -> Option<(Severity, usize)> {
            let head = s.get(..N + 3)?;
            (head[..N] == w[..] && head[N..] == *b":  ").then_some((sev, N + 3))
        }
        match *s.first()? {
            b'L' => {
                word(s, b"LOG", Severity::Log).or_else(|| word(s, b"LOCATION", Severity::Location))
            }
            b'E' => word(s, b"ERROR", Severity::Error),
            b'D' => word(s, b"DETAIL", Severity::Detail).or_else(|| {
                word(s, b"DEBUG", Severity::Debug).or_else(|| {
                    let head = s.get(..9)?;
                    let level = (b'1'..=b'5').contains(&head[5]);
                    (level && head[..5] == *b"DEBUG" && head[6..] == *b":  ")
                        .then_some((Severity::Debug, 9))
                })
            }),
            b'S' => word(s, b"STATEMENT", Severity::Statement),
            b'H' => word(s, b"HINT", Severity::Hint),
            b'C' => word(s, b"CONTEXT", Severity::Context),
            b'W' => word(s, b"WARNING", Severity::Warning),
            b'F' => word(s, b"FATAL", Severity::Fatal),
            b'P' => word(s, b"PANIC", Severity::Panic),
            b'Q' => word(s, b"QUERY", Severity::Query),
            b'N' => word(s, b"NOTICE", Severity::Notice),
            b'I' => word(s, b"INFO", Severity::Info),
            _ => None,
        }
    }

    /// The severity named `word` (`LOG`, `ERROR`, ... as csvlog and jsonlog write it).
    pub fn from_word(word: &[u8]) -> Option<Severity> {
        Some(match word {
            b"LOG" => Severity::Log,
            b"ERROR" => Severity::Error,
            b"STATEMENT" => Severity::Statement,
            b"DETAIL" => Severity::Detail,
            b"HINT" => Severity::Hint,
            b"CONTEXT" => Severity::Context,
            b"WARNING" => Severity::Warning,
            b"FATAL" => Severity::Fatal,
            b"PANIC" => Severity::Panic,
            b"QUERY" => Severity::Query,
            b"LOCATION" => Severity::Location,
            b"NOTICE" => Severity::Notice,
            b"INFO" => Severity::Info,
            b"DEBUG" | b"DEBUG1" | b"DEBUG2" | b"DEBUG3" | b"DEBUG4" | b"DEBUG5" => Severity::Debug,
            _ => return None,
        })
    }

    /// True for the lines PostgreSQL writes after a message to complete it
    /// (DETAIL, HINT, CONTEXT, STATEMENT, QUERY, LOCATION): never the start of an entry.
    pub fn is_auxiliary(self) -> bool {
        matches!(
            self,
            Severity::Detail
                | Severity::Hint
                | Severity::Context
                | Severity::Statement
                | Severity::Query
                | Severity::Location
        )
    }

    /// The word as PostgreSQL writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Log => "LOG",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Detail => "DETAIL",
            Severity::Hint => "HINT",
            Severity::Context => "CONTEXT",
            Severity::Statement => "STATEMENT",
            Severity::Query => "QUERY",
            Severity::Location => "LOCATION",
        }
    }
}

/// The values a prefix carried on one line; borrowed from the line.
#[derive(Debug, Default, Clone, Copy)]
#[allow(missing_docs)]
pub struct Fields<'a> {
    pub ts: Option<Millis>,
    /// The timestamp's zone abbreviation was unknown and read as UTC.
    pub zone_unknown: bool,
    pub pid: Option<u32>,
    pub user: &'a [u8],
    pub db: &'a [u8],
    pub app: &'a [u8],
    pub host: &'a [u8],
    pub session: &'a [u8],
    pub sqlstate: &'a [u8],
    pub query_id: Option<i64>,
    /// No prefix explained the line: it was read from its severity marker on, and its
    /// process, user, database and application are unknown.
    pub unattributed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    App,
    User,
    Db,
    RemoteHostPort,
    Host,
    BackendType,
    Pid,
    LeaderPid,
    Ts,
    TsMs,
    Epoch,
    Tag,
    SqlState,
    Session,
    LineNo,
    SessionStart,
    Vxid,
    Xid,
    QueryId,
    /// `%?` (pgferret's own): a field whose meaning inference could not establish.
    /// It is matched as free text and its value is never reported.
    Unknown,
}

impl Esc {
    fn from_char(c: char) -> Option<Esc> {
        Some(match c {
            'a' => Esc::App,
            'u' => Esc::User,
            'd' => Esc::Db,
            'r' => Esc::RemoteHostPort,
            'h' => Esc::Host,
            'b' => Esc::BackendType,
            'p' => Esc::Pid,
            'P' => Esc::LeaderPid,
            't' => Esc::Ts,
            'm' => Esc::TsMs,
            'n' => Esc::Epoch,
            'i' => Esc::Tag,
            'e' => Esc::SqlState,
            'c' => Esc::Session,
            'l' => Esc::LineNo,
            's' => Esc::SessionStart,
            'v' => Esc::Vxid,
            'x' => Esc::Xid,
            'Q' => Esc::QueryId,
            '?' => Esc::Unknown,
            _ => return None,
        })
    }

    /// Free-text escapes end at the next literal; the others have a fixed shape.
    fn is_free_text(self) -> bool {
        matches!(
            self,
            Esc::App
                | Esc::User
                | Esc::Db
                | Esc::RemoteHostPort
                | Esc::Host
                | Esc::BackendType
                | Esc::Tag
                | Esc::Unknown
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Lit(Box<[u8]>),
    /// An escape; `padded` when written with a width (`%-10a`), whose spaces are trimmed.
    Esc {
        esc: Esc,
        padded: bool,
        /// The escape's position among the prefix's escapes (for [`Prefix::match_capture`]).
        slot: u8,
    },
    /// `%q`: non-session processes stop printing the prefix here; `next_slot` is the
    /// position of the first escape after it.
    Stop {
        next_slot: u8,
    },
}

/// Where the escapes' values lie in a line, recorded while matching (inference only:
/// the hot path records nothing).
trait Capture {
    fn set(&mut self, slot: u8, start: usize, end: usize);
    /// Forgets the escapes from `slot` on (a `%q` stop was taken after all).
    fn clear_from(&mut self, slot: u8);
    /// Free text ends at the last place that lets the line match, not the first.
    fn greedy(&self) -> bool {
        false
    }
}

/// Captures with free text ending as late as the line allows.
struct Greedy<'v>(&'v mut Vec<(usize, usize)>);

impl Capture for Greedy<'_> {
    fn set(&mut self, slot: u8, start: usize, end: usize) {
        self.0.set(slot, start, end);
    }
    fn clear_from(&mut self, slot: u8) {
        self.0.clear_from(slot);
    }
    fn greedy(&self) -> bool {
        true
    }
}

impl Capture for () {
    #[inline(always)]
    fn set(&mut self, _: u8, _: usize, _: usize) {}
    #[inline(always)]
    fn clear_from(&mut self, _: u8) {}
}

/// The value range of each escape; [`ABSENT`] where the line stopped at `%q`.
impl Capture for Vec<(usize, usize)> {
    fn set(&mut self, slot: u8, start: usize, end: usize) {
        if let Some(s) = self.get_mut(slot as usize) {
            *s = (start, end);
        }
    }
    fn clear_from(&mut self, slot: u8) {
        for s in self.iter_mut().skip(slot as usize) {
            *s = ABSENT;
        }
    }
}

/// The range recorded for an escape a line did not print (it stopped at `%q`).
pub const ABSENT: (usize, usize) = (usize::MAX, usize::MAX);

/// Why a `log_line_prefix` cannot be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrefixError {
    /// An escape PostgreSQL does not define.
    #[error("unknown escape '%{0}' in log_line_prefix")]
    UnknownEscape(char),
    /// A `%` at the very end.
    #[error("log_line_prefix ends with a lone '%'")]
    TrailingPercent,
    /// More escapes than any real prefix has.
    #[error("log_line_prefix has more than 255 escapes")]
    TooLong,
}

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone)]
pub struct Prefix {
    text: String,
    items: Vec<Item>,
    /// The first try of every choice fits within the backtracking budget, so
    /// [`Prefix::match_first_try`] may be tried before the general matcher.
    first_try: bool,
    /// The first try compiled for the hot path ([`Prefix::match_into`]).
    steps: Vec<Step>,
    /// The same steps as straight-line code, for the prefixes of the common shape.
    fast: Option<Fast>,
}

/// Two prefixes are the same when their text is: everything else is compiled from it.
impl PartialEq for Prefix {
    fn eq(&self, other: &Prefix) -> bool {
        self.text == other.text
    }
}

impl Eq for Prefix {}

/// Why the straight-line matcher did not answer a line with a match (see
/// [`Prefix::match_fast`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fallback(fast::Answer);

/// One step of the compiled first try: the items as [`Prefix::match_first_try`]
/// reads them, each escape joined to the literal that follows it (and a free-text
/// value to the literal that ends it), the common fixed-shape escapes given steps of
/// their own: a line costs one dispatch per escape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    op: Op,
    /// The literal after the escape (empty when none follows).
    then: Box<[u8]>,
    /// Its first 8 bytes as a little-endian word, and the mask of its bytes there.
    then_word: u64,
    then_mask: u64,
}

impl Step {
    fn new(op: Op, then: Box<[u8]>) -> Step {
        let mut word = [0u8; 8];
        let n = then.len().min(8);
        word[..n].copy_from_slice(&then[..n]);
        let then_mask = if n == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        };
        Step {
            op,
            then,
            then_word: u64::from_le_bytes(word),
            then_mask,
        }
    }

    /// True when the step's literal occurs in `rest` at `at`: one masked word
    /// comparison where 8 bytes are there to load and the literal fits in them.
    #[inline(always)]
    fn then_at(&self, rest: &[u8], at: usize) -> bool {
        if self.then.len() <= 8 {
            if let Some(w) = word_at(rest, at) {
                return (w ^ self.then_word) & self.then_mask == 0;
            }
        }
        has_at(rest, at, &self.then)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// Nothing but the literal (a prefix that starts with one).
    Lit,
    /// `%t` (`frac` false) or `%m`, not padded: through the caller's [`TimeCache`].
    Time { frac: bool },
    /// `%p`, not padded.
    Pid,
    /// `%l` or `%x`, not padded: one digit or more, the value unused.
    Digits,
    /// Any other fixed-shape escape.
    Fixed { esc: Esc, padded: bool },
    /// Free text up to the first occurrence of the step's literal.
    TextToLit { esc: Esc, padded: bool },
    /// Free text up to the first word boundary where a severity starts (it ends the
    /// prefix or comes before a `%q`).
    TextToSeverity { esc: Esc, padded: bool },
    /// Free text up to the next blank (another escape follows).
    TextToBlank { esc: Esc, padded: bool },
}

/// The first try's steps for `items` (a `%q` is passed: no step).
fn compile_steps(items: &[Item]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(items.len());
    let mut i = 0;
    while let Some(item) = items.get(i) {
        i += 1;
        let op = match item {
            Item::Lit(_) => Op::Lit,
            Item::Stop { .. } => continue,
            &Item::Esc { esc, padded, .. } if esc.is_free_text() => match items.get(i) {
                Some(Item::Lit(_)) => Op::TextToLit { esc, padded },
                None | Some(Item::Stop { .. }) => Op::TextToSeverity { esc, padded },
                Some(Item::Esc { .. }) => Op::TextToBlank { esc, padded },
            },
            &Item::Esc { esc, padded, .. } => match (esc, padded) {
                (Esc::Ts, false) => Op::Time { frac: false },
                (Esc::TsMs, false) => Op::Time { frac: true },
                (Esc::Pid, false) => Op::Pid,
                (Esc::LineNo | Esc::Xid, false) => Op::Digits,
                _ => Op::Fixed { esc, padded },
            },
        };
        let then = match (&op, item, items.get(i)) {
            (Op::Lit, Item::Lit(l), _) => l.clone(),
            (Op::TextToSeverity { .. } | Op::TextToBlank { .. }, ..) => Box::default(),
            (_, _, Some(Item::Lit(l))) => {
                i += 1;
                l.clone()
            }
            _ => Box::default(),
        };
        steps.push(Step::new(op, then));
    }
    steps
}

/// The result of matching one line: prefix fields, severity, and where the message starts.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    /// Values of the prefix escapes.
    pub fields: Fields<'a>,
    /// The severity after the prefix.
    pub severity: Severity,
    /// Byte offset of the message text in the line.
    pub message_at: usize,
}

impl<'a> Matched<'a> {
    /// The match of a line whose fields were read into `fields`, from what the
    /// matchers return: the severity and where the message starts.
    pub fn of(fields: Fields<'a>, (severity, message_at): (Severity, usize)) -> Matched<'a> {
        Matched {
            fields,
            severity,
            message_at,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Prefix {
    /// Compiles a `log_line_prefix` as written in postgresql.conf.
    pub fn compile(text: &str) -> Result<Prefix, PrefixError> {
        let mut items = Vec::new();
        let mut lit = Vec::new();
        let mut slots = 0usize;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                let mut buf = [0u8; 4];
                lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            let mut padded = false;
            while let Some(&p) = chars.peek() {
                if p == '-' || p.is_ascii_digit() {
                    padded = true;
                    chars.next();
                } else {
                    break;
                }
            }
            let e = chars.next().ok_or(PrefixError::TrailingPercent)?;
            if e == '%' {
                lit.push(b'%');
                continue;
            }
            if !lit.is_empty() {
                items.push(Item::Lit(std::mem::take(&mut lit).into_boxed_slice()));
            }
            let slot = u8::try_from(slots).map_err(|_| PrefixError::TooLong)?;
            if e == 'q' {
                items.push(Item::Stop { next_slot: slot });
            } else {
                let esc = Esc::from_char(e).ok_or(PrefixError::UnknownEscape(e))?;
                items.push(Item::Esc { esc, padded, slot });
                slots += 1;
            }
        }
        if !lit.is_empty() {
            items.push(Item::Lit(lit.into_boxed_slice()));
        }
        // The general matcher spends one unit of its budget (256) per item, and one
        // for the severity, along its first try.
        let first_try = items.len() < 255;
        let steps = compile_steps(&items);
        let fast = first_try.then(|| Fast::compile(&steps)).flatten();
        Ok(Prefix {
            text: text.to_string(),
            items,
            first_try,
            steps,
            fast,
        })
    }

    /// The prefix as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the prefix starts with the log's time (`%t`, `%m`, `%n`): a line it
    /// does not explain may still be dated from its first bytes.
    pub fn starts_with_log_time(&self) -> bool {
        matches!(
            self.items.first(),
            Some(Item::Esc {
                esc: Esc::Ts | Esc::TsMs | Esc::Epoch,
                padded: false,
                ..
            })
        )
    }

    /// Number of escapes: used to prefer the more specific of two prefixes that match.
    pub fn specificity(&self) -> usize {
        self.items
            .iter()
            .filter(|i| !matches!(i, Item::Lit(_)))
            .count()
    }

    /// Matches `line` (without its newline): the fields, the severity and the message offset.
    pub fn match_line<'a>(&self, line: &'a [u8]) -> Option<Matched<'a>> {
        let mut fields = Fields::default();
        self.match_into(line, &mut fields, &mut TimeCache::default())
            .map(|r| Matched::of(fields, r))
    }

    /// [`Prefix::match_line`] for a loop over lines: the fields are written to `f`
    /// (reset first; meaningless when the line does not match) and the time is read
    /// through `times`, which remembers the last line's. Returns the severity and
    /// where the message starts.
    #[inline]
    pub fn match_into<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Option<(Severity, usize)> {
        match self.match_fast(line, f, times) {
            Ok(r) => Some(r),
            Err(why) => self.match_fallback(line, f, times, why),
        }
    }

    /// [`Prefix::match_into`] where the straight-line matcher answers with a match
    /// (every field written to `f`); else why not, for [`Prefix::match_fallback`].
    #[inline(always)]
    pub(crate) fn match_fast<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Result<(Severity, usize), Fallback> {
        match &self.fast {
            Some(fast) => match fast.run(line, f, times) {
                fast::Answer::Match(s, at) => Ok((s, at)),
                a => Err(Fallback(a)),
            },
            // The compiled steps, as where the straight-line matcher cannot tell.
            None => Err(Fallback(fast::Answer::Unsure)),
        }
    }

    /// [`Prefix::match_into`] for a line [`Prefix::match_fast`] did not match, `why`
    /// being its answer: the other matchers, out of line (the straight-line code
    /// keeps its registers).
    #[inline]
    pub(crate) fn match_fallback<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
        why: Fallback,
    ) -> Option<(Severity, usize)> {
        match why.0 {
            fast::Answer::NoMatch => self.match_general_cold(line, f),
            _ => self.match_steps_cold(line, f, times),
        }
    }

    /// The general matcher: [`Prefix::match_into`] after the straight-line matcher
    /// found that the compiled steps do not match.
    #[inline(never)]
    #[cold]
    fn match_general_cold<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
    ) -> Option<(Severity, usize)> {
        *f = Fields::default();
        let mut budget = 256u32;
        self.match_from(0, line, 0, f, &mut budget, &mut ())
    }

    /// The compiled steps, then the general matcher: [`Prefix::match_into`] where
    /// there is no straight-line matcher or it could not tell.
    #[inline(never)]
    fn match_steps_cold<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Option<(Severity, usize)> {
        *f = Fields::default();
        self.match_steps(line, f, times)
    }

    /// The compiled steps, then the general matcher (`f` reset by the caller).
    #[inline]
    fn match_steps<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Option<(Severity, usize)> {
        if self.first_try {
            if let Some(r) = self.match_ops(line, f, times) {
                return Some(r);
            }
            *f = Fields::default();
        }
        let mut budget = 256u32;
        self.match_from(0, line, 0, f, &mut budget, &mut ())
    }

    /// [`Prefix::match_first_try`] without captures, by the compiled steps.
    #[inline]
    fn match_ops<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Option<(Severity, usize)> {
        let mut pos = 0;
        for step in &self.steps {
            let (op, then) = (&step.op, &step.then);
            let rest = line.get(pos..)?;
            let n = match *op {
                Op::Lit => 0,
                Op::Time { frac } => {
                    let p = times.parse(rest, frac)?;
                    if f.ts.is_none() {
                        f.ts = Some(p.ms);
                        f.zone_unknown = !p.zone_known;
                    }
                    p.len
                }
                Op::Pid => {
                    let (pid, n) = read_pid(rest)?;
                    f.pid = Some(pid);
                    n
                }
                Op::Digits => Some(digit_run(rest)).filter(|&n| n > 0)?,
                Op::TextToLit { esc, padded } => {
                    // The literal is known to follow: step over it too.
                    let end = find_lit(rest, then)?;
                    free_text_value(esc, padded, &rest[..end], f)?;
                    pos += end + then.len();
                    continue;
                }
                _ => other_step(op, line, pos, f)? - pos,
            };
            if !step.then_at(rest, n) {
                return None;
            }
            pos += n + then.len();
        }
        let (s, n) = Severity::parse(line.get(pos..)?)?;
        Some((s, pos + n))
    }

    /// [`Prefix::match_line`] by the general matcher alone.
    #[cfg(test)]
    pub(crate) fn match_backtracking<'a>(&self, line: &'a [u8]) -> Option<Matched<'a>> {
        let mut fields = Fields::default();
        let mut budget = 256u32;
        self.match_from(0, line, 0, &mut fields, &mut budget, &mut ())
            .map(|r| Matched::of(fields, r))
    }

    /// Number of escapes (`%q` aside): the length of [`Prefix::match_capture`]'s ranges.
    pub fn slots(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Esc { .. }))
            .count()
    }

    /// True when some escape is free text (`%u %d %a %h %r %b %i %?`): only then can
    /// a line be read more than one way.
    pub fn has_free_text(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Esc { esc, .. } if esc.is_free_text()))
    }

    /// Like [`Prefix::match_capture`], with each free-text value as long as the line
    /// allows: where it differs from the first match, the line can be read two ways.
    pub fn match_capture_greedy<'a>(
        &self,
        line: &'a [u8],
        caps: &mut Vec<(usize, usize)>,
    ) -> Option<Matched<'a>> {
        caps.clear();
        caps.resize(self.slots(), ABSENT);
        let mut fields = Fields::default();
        // Trying the last candidates first explores more before it finds a match.
        let mut budget = 8192u32;
        self.match_from(0, line, 0, &mut fields, &mut budget, &mut Greedy(caps))
            .map(|r| Matched::of(fields, r))
    }

    /// Like [`Prefix::match_line`], and records in `caps` the byte range of each
    /// escape's value in the line ([`ABSENT`] after a `%q` the line stopped at).
    pub fn match_capture<'a>(
        &self,
        line: &'a [u8],
        caps: &mut Vec<(usize, usize)>,
    ) -> Option<Matched<'a>> {
        caps.clear();
        caps.resize(self.slots(), ABSENT);
        let mut fields = Fields::default();
        if self.first_try {
            if let Some(r) = self.match_first_try(line, &mut fields, caps) {
                return Some(Matched::of(fields, r));
            }
            // The general matcher starts afresh.
            caps.fill(ABSENT);
            fields = Fields::default();
        }
        let mut budget = 256u32;
        self.match_from(0, line, 0, &mut fields, &mut budget, caps)
            .map(|r| Matched::of(fields, r))
    }

    /// Matches the items from `i` on at `pos`. Literals and fixed-shape escapes are
    /// matched in a loop (each step costs one unit of `budget`, as a call would);
    /// only `%q` and free text, which may try several ends, recurse.
    fn match_from<'a, C: Capture>(
        &self,
        mut i: usize,
        line: &'a [u8],
        mut pos: usize,
        f: &mut Fields<'a>,
        budget: &mut u32,
        cap: &mut C,
    ) -> Option<(Severity, usize)> {
        loop {
            *budget = budget.checked_sub(1)?;
            let Some(item) = self.items.get(i) else {
                return Severity::parse(&line[pos..]).map(|(s, n)| (s, pos + n));
            };
            match item {
                Item::Lit(l) => {
                    if !line[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Item::Stop { next_slot } => {
                    return self
                        .match_from(i + 1, line, pos, f, budget, cap)
                        .or_else(|| {
                            let (s, n) = Severity::parse(&line[pos..])?;
                            // The fields after the stop are not printed: forget what
                            // failed attempts to match them stored (a match that gets
                            // past the stop sets every field it passes, so only this
                            // path needs it).
                            self.clear_after(i, f);
                            cap.clear_from(*next_slot);
                            Some((s, pos + n))
                        });
                }
                Item::Esc { esc, padded, slot } if esc.is_free_text() => {
                    return self.match_free_text(
                        i,
                        (*esc, *slot),
                        *padded,
                        line,
                        pos,
                        f,
                        budget,
                        cap,
                    );
                }
                Item::Esc { esc, padded, slot } => {
                    pos = fixed_at((*esc, *slot), *padded, line, pos, f, cap)?;
                }
            }
            i += 1;
        }
    }

    /// The general matcher's first try, without its backtracking: each free-text
    /// value ends at its first candidate end and a `%q` is passed (the session's
    /// fields are printed). Where this matches, the general matcher returns the same
    /// (its first try is its answer); where it does not, the general matcher decides.
    #[inline]
    fn match_first_try<'a, C: Capture>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        cap: &mut C,
    ) -> Option<(Severity, usize)> {
        let mut pos = 0;
        let mut i = 0;
        while let Some(item) = self.items.get(i) {
            match item {
                Item::Lit(l) => {
                    if !has_at(line, pos, l) {
                        return None;
                    }
                    pos += l.len();
                }
                Item::Stop { .. } => {}
                Item::Esc { esc, padded, slot } if esc.is_free_text() => {
                    let rest = &line[pos..];
                    let end = match self.items.get(i + 1) {
                        Some(Item::Lit(l)) => {
                            let end = find_lit(rest, l)?;
                            // The literal is known to follow: step over it too.
                            free_text_value(*esc, *padded, &rest[..end], f)?;
                            cap.set(*slot, pos, pos + end);
                            pos += end + l.len();
                            i += 2;
                            continue;
                        }
                        None | Some(Item::Stop { .. }) => std::iter::once(0)
                            .chain(memchr::memchr_iter(b' ', rest).map(|b| b + 1))
                            .find(|&end| Severity::parse(&rest[end..]).is_some())?,
                        Some(Item::Esc { .. }) => memchr::memchr(b' ', rest).unwrap_or(rest.len()),
                    };
                    free_text_value(*esc, *padded, &rest[..end], f)?;
                    cap.set(*slot, pos, pos + end);
                    pos += end;
                }
                Item::Esc { esc, padded, slot } => {
                    pos = fixed_at((*esc, *slot), *padded, line, pos, f, cap)?;
                }
            }
            i += 1;
        }
        Severity::parse(&line[pos..]).map(|(s, n)| (s, pos + n))
    }

    /// Empties the fields of the escapes after item `i` (the line stopped at `i`).
    fn clear_after(&self, i: usize, f: &mut Fields<'_>) {
        let time_before = self.items[..i].iter().any(|it| {
            matches!(
                it,
                Item::Esc {
                    esc: Esc::Ts | Esc::TsMs | Esc::Epoch,
                    ..
                }
            )
        });
        let before = |e: Esc| {
            self.items[..i]
                .iter()
                .any(|it| matches!(it, Item::Esc { esc, .. } if *esc == e))
        };
        for item in &self.items[i + 1..] {
            let Item::Esc { esc, .. } = item else {
                continue;
            };
            if before(*esc) {
                continue; // printed before the stop: its value is the line's
            }
            match esc {
                Esc::Ts | Esc::TsMs | Esc::Epoch if !time_before => {
                    f.ts = None;
                    f.zone_unknown = false;
                }
                Esc::Pid => f.pid = None,
                Esc::User => f.user = b"",
                Esc::Db => f.db = b"",
                Esc::App => f.app = b"",
                Esc::Host | Esc::RemoteHostPort => f.host = b"",
                Esc::Session => f.session = b"",
                Esc::SqlState => f.sqlstate = b"",
                Esc::QueryId => f.query_id = None,
                _ => {}
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn match_free_text<'a, C: Capture>(
        &self,
        i: usize,
        (esc, slot): (Esc, u8),
        padded: bool,
        line: &'a [u8],
        pos: usize,
        f: &mut Fields<'a>,
        budget: &mut u32,
        cap: &mut C,
    ) -> Option<(Severity, usize)> {
        let rest = &line[pos..];
        // A host never holds a blank: `%h %r` after an application name with blanks
        // must not take part of the name.
        let no_blank = matches!(esc, Esc::Host | Esc::RemoteHostPort);
        let greedy = cap.greedy();
        let mut try_end = |end: usize, f: &mut Fields<'a>, budget: &mut u32| {
            let mut v = &rest[..end];
            if no_blank && memchr::memchr(b' ', v.trim_ascii()).is_some() {
                return None;
            }
            if padded {
                v = v.trim_ascii();
            }
            set_free_text(esc, v, f);
            cap.set(slot, pos, pos + end);
            self.match_from(i + 1, line, pos + end, f, budget, cap)
        };
        match self.items.get(i + 1) {
            Some(Item::Lit(l)) => {
                // Candidates: where the literal's first byte occurs (memchr), checked in
                // full; cheaper than a substring search for the short literals prefixes have.
                let fits = |&i: &usize| l.len() == 1 || rest[i..].starts_with(l);
                if greedy {
                    // The same candidates from the last, found without collecting them.
                    for end in memchr::memrchr_iter(l[0], rest).filter(fits) {
                        if let Some(r) = try_end(end, f, budget) {
                            return Some(r);
                        }
                        if *budget == 0 {
                            return None;
                        }
                    }
                    return None;
                }
                for end in memchr::memchr_iter(l[0], rest).filter(fits) {
                    if let Some(r) = try_end(end, f, budget) {
                        return Some(r);
                    }
                    if *budget == 0 {
                        return None;
                    }
                }
                None
            }
            None | Some(Item::Stop { .. }) => {
                // Ends where a severity starts: try each word boundary (the start, and
                // after each blank, found with memchr rather than byte by byte).
                let after_blanks = memchr::memchr_iter(b' ', rest).map(|b| b + 1);
                for end in std::iter::once(0).chain(after_blanks) {
                    if Severity::parse(&rest[end..]).is_some() {
                        if let Some(r) = try_end(end, f, budget) {
                            return Some(r);
                        }
                    }
                    if *budget == 0 {
                        return None;
                    }
                }
                None
            }
            Some(Item::Esc { .. }) => {
                let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
                try_end(end, f, budget)
            }
        }
    }
}

/// The less common steps of [`Prefix::match_ops`], out of its loop: the position
/// after the escape at `pos`.
#[inline(never)]
fn other_step<'a>(op: &Op, line: &'a [u8], pos: usize, f: &mut Fields<'a>) -> Option<usize> {
    let rest = &line[pos..];
    let end = match *op {
        Op::Fixed { esc, padded } => return fixed_at((esc, 0), padded, line, pos, f, &mut ()),
        Op::TextToSeverity { esc, padded } => {
            let end = std::iter::once(0)
                .chain(memchr::memchr_iter(b' ', rest).map(|b| b + 1))
                .find(|&end| Severity::parse(&rest[end..]).is_some())?;
            free_text_value(esc, padded, &rest[..end], f)?;
            end
        }
        Op::TextToBlank { esc, padded } => {
            let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            free_text_value(esc, padded, &rest[..end], f)?;
            end
        }
        Op::Lit | Op::Time { .. } | Op::Pid | Op::Digits | Op::TextToLit { .. } => 0,
    };
    Some(pos + end)
}

/// Matches the fixed-shape escape `esc` at `pos` (a padded one with its spaces): the
/// position after it.
#[inline]
fn fixed_at<'a, C: Capture>(
    (esc, slot): (Esc, u8),
    padded: bool,
    line: &'a [u8],
    pos: usize,
    f: &mut Fields<'a>,
    cap: &mut C,
) -> Option<usize> {
    let start = if padded { skip_spaces(line, pos) } else { pos };
    let len = fixed_field(esc, &line[start..], f)?;
    cap.set(slot, start, start + len);
    Some(if padded {
        skip_spaces(line, start + len)
    } else {
        start + len
    })
}

/// True when `value` is exactly what the fixed-shape escape `%c` (`c` one of
/// `t m n s p P l x v e c Q`) prints; free-text escapes fit anything.
pub fn escape_fits(c: char, value: &[u8]) -> bool {
    match Esc::from_char(c) {
        Some(esc) if esc.is_free_text() => true,
        Some(esc) => fixed_field(esc, value, &mut Fields::default()) == Some(value.len()),
        None => false,
    }
}

/// True when `lit` occurs in `line` at `pos`; literals of up to 3 bytes (most of a
/// prefix's) are compared in place rather than by a call.
#[inline(always)]
fn has_at(line: &[u8], pos: usize, lit: &[u8]) -> bool {
    let Some(s) = line.get(pos..pos + lit.len()) else {
        return false;
    };
    match lit.len() {
        0 => true,
        1 => s[0] == lit[0],
        2 => s[0] == lit[0] && s[1] == lit[1],
        3 => s[0] == lit[0] && s[1] == lit[1] && s[2] == lit[2],
        _ => s == lit,
    }
}

/// Where the first occurrence of `lit` (not empty) starts in `rest`: the first
/// candidate end of a free-text value the literal follows.
#[inline(always)]
fn find_lit(rest: &[u8], lit: &[u8]) -> Option<usize> {
    let first = lit[0];
    let fits = |at: usize| lit.len() == 1 || has_at(rest, at, lit);
    // Values are short: the first 16 bytes are searched a word at a time, before a
    // memchr call would have set up.
    let mut from = 0;
    while from < 16 {
        let Some(w) = word_at(rest, from) else {
            break;
        };
        let mut hits = bytes_equal(w, first);
        while hits != 0 {
            let at = from + (hits.trailing_zeros() / 8) as usize;
            if fits(at) {
                return Some(at);
            }
            hits &= hits - 1;
        }
        from += 8;
    }
    // The tail: short lines byte by byte, long values by memchr.
    memchr::memchr_iter(first, &rest[from..])
        .map(|p| from + p)
        .find(|&at| fits(at))
}

/// The 8 bytes of `s` from `at`, as a little-endian word (byte `at` lowest).
#[inline(always)]
fn word_at(s: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = s.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `w` that equals `b`, and no other bit (exact for
/// every byte: no borrow crosses bytes).
#[inline(always)]
fn bytes_equal(w: u64, b: u8) -> u64 {
    let x = w ^ (0x0101_0101_0101_0101 * u64::from(b));
    // A byte of `x` is zero iff neither its low 7 bits (+0x7f carries into bit 7)
    // nor its bit 7 is set.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The flags of a word whose bytes were XORed with `0x30` (digits become 0..=9): a
/// byte's flag is set when it is no digit (its high nibble set, or its low nibble
/// above 9: +6 reaches bit 4). A carry out of a non-digit byte only disturbs the bytes
/// above it: the lowest flag is exact.
#[inline(always)]
fn digit_flags(t: u64) -> u64 {
    (t & 0xf0f0_f0f0_f0f0_f0f0) | (t.wrapping_add(0x0606_0606_0606_0606) & 0x1010_1010_1010_1010)
}

/// The number of ASCII digits `s` starts with, counted 8 bytes at a time.
#[inline(always)]
fn digit_run(s: &[u8]) -> usize {
    let mut n = 0;
    while let Some(w) = word_at(s, n) {
        let flags = digit_flags(w ^ 0x3030_3030_3030_3030);
        if flags != 0 {
            return n + (flags.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + s[n..].iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Stores free-text value `v` as the general matcher's `try_end` does; `None` where
/// it would refuse it (a host with a blank).
#[inline(always)]
fn free_text_value<'a>(esc: Esc, padded: bool, mut v: &'a [u8], f: &mut Fields<'a>) -> Option<()> {
    if matches!(esc, Esc::Host | Esc::RemoteHostPort)
        && memchr::memchr(b' ', v.trim_ascii()).is_some()
    {
        return None;
    }
    if padded {
        v = v.trim_ascii();
    }
    set_free_text(esc, v, f);
    Some(())
}

fn skip_spaces(line: &[u8], mut pos: usize) -> usize {
    while line.get(pos) == Some(&b' ') {
        pos += 1;
    }
    pos
}

#[inline(always)]
fn set_free_text<'a>(esc: Esc, v: &'a [u8], f: &mut Fields<'a>) {
    match esc {
        Esc::App => f.app = v,
        Esc::User => f.user = v,
        Esc::Db => f.db = v,
        Esc::Host => f.host = v,
        Esc::RemoteHostPort => {
            // `host(port)` or `[local]`: keep the host only.
            f.host = match memchr::memrchr(b'(', v) {
                Some(p) if v.ends_with(b")") => &v[..p],
                _ => v,
            }
        }
        _ => {}
    }
}

/// Parses a fixed-shape escape at the start of `s`, storing its value; returns its length.
fn fixed_field<'a>(esc: Esc, s: &'a [u8], f: &mut Fields<'a>) -> Option<usize> {
    match esc {
        // The first of several times is the line's.
        Esc::Ts | Esc::TsMs => {
            let p = parse_timestamp(s, esc == Esc::TsMs)?;
            if f.ts.is_none() {
                f.ts = Some(p.ms);
                f.zone_unknown = !p.zone_known;
            }
            Some(p.len)
        }
        Esc::Epoch => {
            let p = parse_epoch(s)?;
            f.ts.get_or_insert(p.ms);
            Some(p.len)
        }
        // Matched, never used: also stands for a second time of any shape in an
        // inferred prefix.
        Esc::SessionStart => parse_timestamp(s, true)
            .or_else(|| parse_timestamp(s, false))
            .or_else(|| parse_epoch(s))
            .map(|p| p.len),
        Esc::Pid => {
            // The digits are read as they are counted: one pass.
            let mut n = 0;
            let mut pid = Some(0u32);
            while let Some(d) = s.get(n).filter(|b| b.is_ascii_digit()) {
                pid = pid.and_then(|v| v.checked_mul(10)?.checked_add(u32::from(d - b'0')));
                n += 1;
            }
            f.pid = pid.filter(|_| n > 0);
            f.pid.map(|_| n)
        }
        Esc::LineNo | Esc::Xid => Some(digit_run(s)).filter(|&n| n > 0),
        Esc::LeaderPid => Some(digit_run(s)),
        Esc::QueryId => {
            let neg = usize::from(s.first() == Some(&b'-'));
            let n = neg + digit_run(&s[neg..]);
            if n == neg {
                return None;
            }
            f.query_id = std::str::from_utf8(&s[..n]).ok()?.parse().ok();
            Some(n)
        }
        Esc::SqlState => {
            let n = s
                .iter()
                .take(5)
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            (n == 5).then(|| {
                f.sqlstate = &s[..5];
                5
            })
        }
        Esc::Session => {
            let n = s
                .iter()
                .take_while(|b| b.is_ascii_hexdigit() || **b == b'.')
                .count();
            (n > 0).then(|| {
                f.session = &s[..n];
                n
            })
        }
        Esc::Vxid => {
            // `backend/local xid`, or nothing outside a transaction.
            let a = digit_run(s);
            if a > 0 && s.get(a) == Some(&b'/') {
                let b = digit_run(&s[a + 1..]);
                (b > 0).then_some(a + 1 + b)
            } else {
                Some(0)
            }
        }
        _ => None,
    }
}

/// `%p` at the start of `s`: the process id and its length, as [`fixed_field`]
/// reads it (one digit or more, no overflow of `u32`).
#[inline(always)]
fn read_pid(s: &[u8]) -> Option<(u32, usize)> {
    let n = digit_run(s);
    if n == 0 {
        return None;
    }
    // Nine digits always fit; longer runs (leading zeros) are read with checks.
    if n <= 9 {
        let v = s[..n]
            .iter()
            .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        return Some((v, n));
    }
    let v = s[..n].iter().try_fold(0u32, |v, &d| {
        v.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })?;
    Some((v, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::time::rfc3339;

    fn m<'a>(prefix: &str, line: &'a str) -> Option<Matched<'a>> {
        Prefix::compile(prefix).unwrap().match_line(line.as_bytes())
    }

    fn msg<'a>(r: &Matched<'a>, line: &'a str) -> &'a str {
        &line[r.message_at..]
    }

    #[test]
    fn pgbadger_prefix() {
        let line = "2026-11-24 04:34:32 UTC [25172]: [4-1] user=app_rw,db=bench,app=pgbench,client=127.0.0.1 LOG:  duration: 1.150 ms  statement: select 1";
        let r = m("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", line).unwrap();
        assert_eq!(r.fields.pid, Some(25172));
        assert_eq!(r.fields.user, b"app_rw");
        assert_eq!(r.fields.db, b"bench");
        assert_eq!(r.fields.app, b"pgbench");
        assert_eq!(r.fields.host, b"127.0.0.1");
        assert_eq!(r.severity, Severity::Log);
        assert_eq!(msg(&r, line), "duration: 1.150 ms  statement: select 1");
        assert_eq!(rfc3339(r.fields.ts.unwrap()), "2026-11-24T04:34:32.000Z");
    }

    #[test]
    fn empty_fields_and_app_with_separator() {
        let p = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ";
        let line = "2026-11-24 04:34:31 UTC [24982]: [3-1] user=,db=,app=,client= LOG:  starting";
        let r = m(p, line).unwrap();
        assert_eq!(r.fields.user, b"");
        assert_eq!(msg(&r, line), "starting");
        // A free-text value containing the next literal: backtrack to the next one.
        let line = "2026-11-24 04:34:31 UTC [1] my app LOG:  hi";
        let r = m("%t [%p] %a ", line).unwrap();
        assert_eq!(r.fields.app, b"my app");
        assert_eq!(msg(&r, line), "hi");
    }

    #[test]
    fn debian_q_prefix() {
        let p = "%m [%p] %q%u@%d ";
        let line = "2026-11-24 05:35:14.949 CET [29040] LOG:  starting PostgreSQL";
        let r = m(p, line).unwrap();
        assert_eq!(r.fields.pid, Some(29040));
        assert_eq!(r.fields.user, b"");
        assert_eq!(msg(&r, line), "starting PostgreSQL");
        let line = "2026-11-24 05:35:15.018 CET [29058] postgres@bench LOG:  connection authorized";
        let r = m(p, line).unwrap();
        assert_eq!(r.fields.user, b"postgres");
        assert_eq!(r.fields.db, b"bench");
        assert_eq!(rfc3339(r.fields.ts.unwrap()), "2026-11-24T04:35:15.018Z");
    }

    #[test]
    fn rds_prefix_and_remote_host() {
        let p = "%t:%r:%u@%d:[%p]:";
        let line = "2026-11-24 04:00:00 UTC:10.0.0.5(52314):app@shop:[4242]:LOG:  duration: 2.000 ms  statement: select 1";
        let r = m(p, line).unwrap();
        assert_eq!(r.fields.host, b"10.0.0.5");
        assert_eq!(r.fields.pid, Some(4242));
        assert_eq!(r.fields.db, b"shop");
        let line = "2026-11-24 04:00:00 UTC::@:[77]:LOG:  checkpoint starting: time";
        assert_eq!(m(p, line).unwrap().fields.pid, Some(77));
    }

    #[test]
    fn every_escape_compiles_and_matches() {
        let p = "%m %n [%p-%l] %P %c %s %v %x %e %Q %b|%i|%r|%h|%a|%u|%d %% ";
        let line = "2026-11-24 04:00:00.123 UTC 1764000000.123 [42-7]  6743a1b2.2a 2026-11-24 03:59:00 UTC 3/17 0 00000 -123 client backend|idle in transaction|[local]|[local]|psql|bob|shop % LOG:  x";
        let r = m(p, line).unwrap();
        assert_eq!(r.fields.pid, Some(42));
        assert_eq!(r.fields.query_id, Some(-123));
        assert_eq!(r.fields.session, b"6743a1b2.2a");
        assert_eq!(r.fields.sqlstate, b"00000");
        assert_eq!(r.fields.user, b"bob");
        assert_eq!(r.fields.app, b"psql");
        assert_eq!(msg(&r, line), "x");
    }

    #[test]
    fn padded_escapes() {
        let line = "2026-11-24 04:00:00 UTC [   42] psql       LOG:  x";
        let r = m("%t [%5p] %-10a ", line).unwrap();
        assert_eq!(r.fields.pid, Some(42));
        assert_eq!(r.fields.app, b"psql");
    }

    #[test]
    fn continuation_and_garbage_do_not_match() {
        let p = "%t [%p] ";
        assert!(m(p, "\tSELECT 1").is_none());
        assert!(m(p, "").is_none());
        assert!(m(p, "2026-11-24 04:00:00 UTC [x] LOG:  a").is_none());
        assert!(m(p, "2026-11-24 04:00:00 UTC [1] BLAH:  a").is_none());
    }

    /// `match_line` (first try, then the general matcher) and the general matcher
    /// alone give the same answer: fields, severity and message offset.
    fn same_both_ways(prefix: &str, line: &str) -> Option<String> {
        let p = Prefix::compile(prefix).unwrap();
        let show = |m: Option<Matched<'_>>| m.map(|m| format!("{m:?}"));
        let fast = show(p.match_line(line.as_bytes()));
        let slow = show(p.match_backtracking(line.as_bytes()));
        assert_eq!(fast, slow, "{prefix:?} on {line:?}");
        same_steps(&p, line.as_bytes());
        // With captures (inference's matcher) too.
        let mut caps = Vec::new();
        let fast_caps = show(p.match_capture(line.as_bytes(), &mut caps));
        let mut slow_caps = vec![ABSENT; p.slots()];
        let mut f = Fields::default();
        let slow_m = p
            .match_from(0, line.as_bytes(), 0, &mut f, &mut 256, &mut slow_caps)
            .map(|(severity, message_at)| Matched {
                fields: f,
                severity,
                message_at,
            });
        assert_eq!(fast_caps, show(slow_m), "{prefix:?} on {line:?}");
        if fast_caps.is_some() {
            assert_eq!(caps, slow_caps, "{prefix:?} on {line:?}");
        }
        fast
    }

    /// The compiled steps give what the first try gives (fields, severity, message
    /// offset, or no match), with a fresh time cache and with one that has read
    /// `line` before.
    fn same_steps(p: &Prefix, line: &[u8]) {
        let show = |r: Option<(Severity, usize)>, f: &Fields<'_>| r.map(|r| format!("{r:?} {f:?}"));
        let mut f = Fields::default();
        let first = p.match_first_try(line, &mut f, &mut ());
        let first = show(first, &f);
        let mut times = TimeCache::default();
        for _ in 0..2 {
            let mut g = Fields::default();
            let steps = p.match_ops(line, &mut g, &mut times);
            assert_eq!(
                show(steps, &g),
                first,
                "{p} on {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// Every line of the real logs under many prefixes (testdata/prefixes), read
    /// one after another as the stderr parser does: the compiled steps agree with the
    /// first try, and `match_into` (one time cache for the whole log) with the
    /// general matcher alone.
    #[test]
    fn the_compiled_steps_agree_on_real_logs() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/prefixes");
        let mut logs = 0;
        for dir in std::fs::read_dir(&base).unwrap() {
            let dir = dir.unwrap().path();
            let Ok(expected) = std::fs::read(dir.join("expected.json")) else {
                continue;
            };
            let expected: serde_json::Value = serde_json::from_slice(&expected).unwrap();
            let log = std::fs::read(dir.join("postgresql.log")).unwrap();
            logs += 1;
            for text in expected["prefixes"].as_array().unwrap() {
                let p = Prefix::compile(text.as_str().unwrap()).unwrap();
                let mut times = TimeCache::default();
                let mut matched = 0;
                for line in log.split(|&b| b == b'\n') {
                    same_steps(&p, line);
                    let mut f = dirty_fields();
                    let fast = p
                        .match_into(line, &mut f, &mut times)
                        .map(|r| format!("{:?}", Matched::of(f, r)));
                    matched += usize::from(fast.is_some());
                    let slow = p.match_backtracking(line).map(|m| format!("{m:?}"));
                    assert_eq!(fast, slow, "{p} on {:?}", String::from_utf8_lossy(line));
                }
                assert!(matched > 0, "{p} matches no line of {}", dir.display());
            }
        }
        assert!(logs >= 30, "{logs} logs under {}", base.display());
    }

    /// The straight-line matcher, where it can tell, gives what the compiled steps
    /// give (a match, or none; with a fresh time cache), and `match_into` (with
    /// `times`, shared with the lines before) what the general matcher alone gives.
    /// Returns whether the straight-line matcher answered with a match.
    fn same_fast(p: &Prefix, line: &[u8], times: &mut TimeCache) -> bool {
        let show = |r: Option<(Severity, usize)>, f: &Fields<'_>| r.map(|r| format!("{r:?} {f:?}"));
        let text = || String::from_utf8_lossy(line).into_owned();
        let mut answered = false;
        if let Some(fast) = &p.fast {
            let mut f = dirty_fields();
            let r = match fast.run(line, &mut f, &mut times.clone()) {
                fast::Answer::Match(s, at) => Some(Some((s, at))),
                fast::Answer::NoMatch => Some(None),
                fast::Answer::Unsure => None,
            };
            if let Some(r) = r {
                answered = r.is_some();
                let mut g = Fields::default();
                let steps = p.match_ops(line, &mut g, &mut TimeCache::default());
                if r.is_none() {
                    assert!(steps.is_none(), "{p} on {:?}", text());
                } else {
                    assert_eq!(show(r, &f), show(steps, &g), "{p} on {:?}", text());
                }
            }
        }
        // Fields left from another line: `match_into` writes every one.
        let mut f = dirty_fields();
        let fast = p.match_into(line, &mut f, times).map(|r| Matched::of(f, r));
        let slow = p.match_backtracking(line);
        assert_eq!(
            fast.map(|m| format!("{m:?}")),
            slow.map(|m| format!("{m:?}")),
            "{p} on {:?}",
            text()
        );
        answered
    }

    /// Fields with every value set, as another line may leave them.
    fn dirty_fields() -> Fields<'static> {
        Fields {
            ts: Some(1),
            zone_unknown: true,
            pid: Some(2),
            user: b"u",
            db: b"d",
            app: b"a",
            host: b"h",
            session: b"s",
            sqlstate: b"42P01",
            query_id: Some(3),
            unattributed: true,
        }
    }

    /// Every stderr log under testdata with the prefixes it was written with (or
    /// those inferred from it), and the prefixes of testdata/prefixes.
    fn logs_and_prefixes() -> Vec<(String, Vec<u8>, Vec<Prefix>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let known = [
            (
                "a1_pgbadger",
                "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
            ),
            ("a2_debian", "%m [%p] %q%u@%d "),
            ("a3_ddl_extended", "%t [%p-%l] %q%u@%d "),
            (
                "d_multiline",
                "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
            ),
        ];
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .chain(std::fs::read_dir(root.join("prefixes")).unwrap())
            .map(|d| d.unwrap().path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let Ok(log) = std::fs::read(dir.join("postgresql.log")) else {
                continue;
            };
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let mut prefixes: Vec<Prefix> = std::fs::read(dir.join("expected.json"))
                .ok()
                .and_then(|e| serde_json::from_slice::<serde_json::Value>(&e).ok())
                .and_then(|e| e["prefixes"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|t| Prefix::compile(t.as_str()?).ok())
                .collect();
            prefixes.extend(
                known
                    .iter()
                    .filter(|k| k.0 == name)
                    .map(|k| Prefix::compile(k.1).unwrap()),
            );
            if let Some(inferred) = crate::parse::infer::infer(&log) {
                prefixes.extend(inferred.prefixes);
            }
            prefixes.dedup();
            if !prefixes.is_empty() {
                out.push((name, log, prefixes));
            }
        }
        out
    }

    /// Every line of every log, as the stderr parser reads them (one time cache per
    /// log): the straight-line matcher agrees with the compiled steps and
    /// `match_into` with the general matcher; the common shapes take the
    /// straight-line path.
    #[test]
    fn the_straight_line_matcher_agrees_on_every_line() {
        let logs = logs_and_prefixes();
        assert!(logs.len() >= 40, "{} logs", logs.len());
        let mut fast_logs = Vec::new();
        for (name, log, prefixes) in &logs {
            for p in prefixes {
                let mut times = TimeCache::default();
                let mut answered = 0;
                for line in log.split(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    answered += usize::from(same_fast(p, line, &mut times));
                }
                if answered > 0 {
                    fast_logs.push(name.clone());
                }
            }
        }
        for name in ["a1_pgbadger", "a2_debian", "a3_ddl_extended", "d_multiline"] {
            assert!(fast_logs.iter().any(|n| n == name), "{name}: {fast_logs:?}");
        }
        assert!(fast_logs.len() >= 20, "{fast_logs:?}");
    }

    /// Lines cut short at every byte and lines with one byte changed (to each of a
    /// few values that matter to the matchers), after the original line went
    /// through the same time cache: both matchers still agree.
    #[test]
    fn the_straight_line_matcher_agrees_on_mutated_lines() {
        let mut answered = 0;
        for (_, log, prefixes) in logs_and_prefixes() {
            for p in prefixes.iter().filter(|p| p.fast.is_some()) {
                let lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
                let picked = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| (*i < 4 || i % 1009 == 0) && !l.starts_with(b"\t"));
                for (_, line) in picked {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let mut times = TimeCache::default();
                    for cut in 0..=line.len() {
                        same_fast(p, line, &mut times);
                        answered += usize::from(same_fast(p, &line[..cut], &mut times));
                    }
                    let values = [0u8, b' ', b'@', b'-', b']', b':', b'9', b'X', 0xff];
                    let mut mutated = line.to_vec();
                    for at in 0..line.len().min(72) {
                        for v in values {
                            mutated[at] = v;
                            same_fast(p, line, &mut times);
                            answered += usize::from(same_fast(p, &mutated, &mut times));
                        }
                        mutated[at] = line[at];
                    }
                }
            }
        }
        assert!(answered > 10_000, "{answered}");
    }

    /// Lines that start as the line before but for one byte of their first 64
    /// (changed to a digit or to a byte that matters to the matchers, put in, or
    /// taken out), read after that line: the straight-line matcher agrees with the
    /// compiled steps and `match_into` with the general matcher, whether the
    /// remembered head explains them or not; and every line that differs only in a
    /// digit of its `%l` is explained by it.
    #[test]
    fn lines_read_through_the_remembered_head() {
        let (mut seen, mut numbers, mut numbers_seen) = (0, 0, 0);
        for (_, log, prefixes) in logs_and_prefixes() {
            for p in prefixes.iter().filter(|p| p.fast.is_some()) {
                let fast = p.fast.as_ref().unwrap();
                let lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
                let picked = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| (*i < 4 || i % 97 == 0) && !l.starts_with(b"\t"));
                for (_, line) in picked {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let mut times = TimeCache::default();
                    if !same_fast(p, line, &mut times) {
                        continue;
                    }
                    let mut variants = Vec::new();
                    for at in 0..line.len().min(66) {
                        for v in [b'0', b'5', b'9', b' ', b'-', b']', b'@', b':', 0xff] {
                            let mut m = line.to_vec();
                            m[at] = v;
                            variants.push(m);
                            let mut m = line.to_vec();
                            m.insert(at, v);
                            variants.push(m);
                        }
                        let mut m = line.to_vec();
                        m.remove(at);
                        variants.push(m);
                    }
                    for m in &variants {
                        same_fast(p, line, &mut times);
                        let mut f = dirty_fields();
                        let hit = fast.seen_line(m, &mut f, &times).is_some();
                        seen += usize::from(hit);
                        // Only the digits of the number changed, to digits.
                        let differ: Vec<usize> = (0..line.len().min(m.len()))
                            .filter(|&i| line[i] != m[i])
                            .collect();
                        if m.len() == line.len()
                            && differ.len() == 1
                            && m[differ[0]].is_ascii_digit()
                        {
                            let i = differ[0];
                            let mut g = Fields::default();
                            let mut t = TimeCache::default();
                            let steps = p.match_ops(line, &mut g, &mut t);
                            let seen = &times.line;
                            let in_number = i >= seen.digits_at
                                && (i - seen.digits_at) < 8
                                && seen.digits_mask >> (8 * (i - seen.digits_at)) & 1 == 1;
                            let in_number = steps.is_some()
                                && m.len() >= 64
                                && line[i].is_ascii_digit()
                                && seen.tag != 0
                                && in_number;
                            numbers += usize::from(in_number);
                            numbers_seen += usize::from(in_number && hit);
                        }
                        same_fast(p, m, &mut times);
                    }
                }
            }
        }
        assert!(seen > 1000, "{seen}");
        assert!(
            numbers > 500 && numbers_seen == numbers,
            "{numbers_seen} of {numbers}"
        );
    }

    /// Process ids and line numbers of every length (ending in a word read, past
    /// it, at its end), with each byte there changed to a non-digit: the
    /// straight-line matcher agrees with the compiled steps and the general matcher.
    #[test]
    fn pid_and_number_of_every_length() {
        let p = Prefix::compile("%t [%p-%l] %q%u@%d ").unwrap();
        assert!(p.fast.is_some());
        let mut times = TimeCache::default();
        let mut answered = 0;
        for a in 0..12 {
            for b in 0..12 {
                let line = format!(
                    "2026-11-24 04:00:00 UTC [{}-{}] u@d LOG:  x",
                    &"123456789012"[..a],
                    &"987654321098"[..b]
                );
                answered += usize::from(same_fast(&p, line.as_bytes(), &mut times));
                let mut mutated = line.clone().into_bytes();
                for at in 25..25 + a + b + 3 {
                    for v in [b'/', b':', b'a', b' ', b'-', b']', 0xca, 0xff] {
                        mutated[at] = v;
                        same_fast(&p, &mutated, &mut times);
                    }
                    mutated[at] = line.as_bytes()[at];
                }
            }
        }
        // Ids of 1 to 10 digits (11 overflow a u32), numbers of 1 to 11.
        assert_eq!(answered, 110);
    }

    /// The word-at-a-time process id reads what `read_pid` reads, through a cache
    /// of the last one or not.
    #[test]
    fn the_word_pid_reads_as_read_pid() {
        // One cache for all: each id read after another (or the same digits).
        let mut times = TimeCache::default();
        for len in 0..20 {
            for at in 0..=len {
                for b in [b'0', b'1', b'9', b'/', b':', b' ', b'a', 0, 0xff] {
                    let mut s = b"7309182746501928374"[..len].to_vec();
                    if at < len {
                        s[at] = b;
                    }
                    assert_eq!(fast::pid_at(&s), read_pid(&s), "{s:?}");
                    assert_eq!(fast::pid_seen(&s, &mut times), read_pid(&s), "{s:?}");
                    s.insert(0, b'0');
                    assert_eq!(fast::pid_at(&s), read_pid(&s), "{s:?}");
                    assert_eq!(fast::pid_seen(&s, &mut times), read_pid(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn the_first_try_agrees_with_the_general_matcher() {
        let t = "2026-11-24 04:00:00 UTC";
        let cases: &[(&str, &str)] = &[
            // A value holding the next literal's first byte, or the whole literal.
            (
                "%t [%p-%l] %q%u@%d ",
                "2026-11-24 04:00:00 UTC [1-2] a@b@shop LOG:  x",
            ),
            (
                "%t [%p-%l] %q%u@%d ",
                "2026-11-24 04:00:00 UTC [1-2] bob@my db LOG:  x",
            ),
            (
                "%t [%p] %a: ",
                "2026-11-24 04:00:00 UTC [1] a:b: c: LOG:  x",
            ),
            (
                "%t [%p] %a:: ",
                "2026-11-24 04:00:00 UTC [1] a:b:: c:: LOG:  x",
            ),
            (
                "%t [%p] %a ",
                "2026-11-24 04:00:00 UTC [1] my LOGapp LOG:  hi",
            ),
            (
                "%t [%p] %a ",
                "2026-11-24 04:00:00 UTC [1] a very long application name here LOG:  hi",
            ),
            // `%q` stops: session lines, session-less lines, and a session-less line
            // whose message holds the separator.
            (
                "%m [%p] %q%u@%d ",
                "2026-11-24 05:35:14.949 CET [29040] LOG:  starting",
            ),
            (
                "%m [%p] %q%u@%d ",
                "2026-11-24 05:35:14.949 CET [29040] LOG:  mail bob@shop now",
            ),
            (
                "%m [%p] %q%u@%d ",
                "2026-11-24 05:35:14.949 CET [29040] bob@shop ERROR:  x",
            ),
            ("%u - %q|", " - LOG:  starting"),
            ("%u - %q|", "postgres - |LOG:  x"),
            ("%t %q%a", "2026-11-24 04:00:00 UTC my app LOG:  x"),
            // Padded escapes.
            (
                "%t [%5p] %-10a ",
                "2026-11-24 04:00:00 UTC [   42] psql       LOG:  x",
            ),
            (
                "%t [%5p] %-10a ",
                "2026-11-24 04:00:00 UTC [   42] my app     LOG:  x",
            ),
            ("%-6p|%10u|", "42    |       bob|LOG:  x"),
            // CR line ends (kept in the message when not trimmed).
            ("%t [%p] ", "2026-11-24 04:00:00 UTC [1] LOG:  x\r"),
            ("%t [%p] %u ", "2026-11-24 04:00:00 UTC [1] bob\r"),
            // Hosts never hold a blank; `%r` keeps the host only.
            ("%t %h %a ", "2026-11-24 04:00:00 UTC my host app LOG:  x"),
            (
                "%t:%r:%u@%d:[%p]:",
                "2026-11-24 04:00:00 UTC:10.0.0.5(52314):app@shop:[4242]:LOG:  x",
            ),
            (
                "%t:%r:%u@%d:[%p]:",
                "2026-11-24 04:00:00 UTC::@:[77]:LOG:  x",
            ),
            // Free text before an escape, at the end, before a stop.
            ("%a %p ", "psql 42 LOG:  x"),
            ("%a %p ", "my psql 42 LOG:  x"),
            ("%t %a", "2026-11-24 04:00:00 UTC my app DEBUG3:  x"),
            // Failures everywhere.
            (
                "%t [%p-%l] %q%u@%d ",
                "2026-11-24 04:00:00 UTC [1-x] a@b LOG:  x",
            ),
            (
                "%t [%p-%l] %q%u@%d ",
                "2026-11-24 04:00:00 UTC [99999999999-1] a@b LOG:  x",
            ),
            (
                "%t [%p-%l] %q%u@%d ",
                "2026-11-24 04:00:00 UTC [1-1] a@b LOGS:  x",
            ),
            ("%t [%p-%l] %q%u@%d ", "2026-11-24 04:00:00 UTC [1-1] a@b"),
            ("%t [%p-%l] %q%u@%d ", "2026-11-24 04:00:00 UTC [1"),
            ("%t [%p-%l] %q%u@%d ", ""),
            ("%t [%p-%l] %q%u@%d ", "\tSELECT 1"),
        ];
        for (prefix, line) in cases {
            same_both_ways(prefix, line);
        }
        // The common line is read on the first try; one whose first candidate end
        // leads nowhere is read by the general matcher, as before.
        let p = Prefix::compile("%t [%p] %a ").unwrap();
        let mut f = Fields::default();
        let line = b"2026-11-24 04:00:00 UTC [1] psql LOG:  hi";
        assert!(p.match_first_try(line, &mut f, &mut ()).is_some());
        let line = "2026-11-24 04:00:00 UTC [1] my LOGapp LOG:  hi";
        assert!(p
            .match_first_try(line.as_bytes(), &mut f, &mut ())
            .is_none());
        assert_eq!(m("%t [%p] %a ", line).unwrap().fields.app, b"my LOGapp");
        // Every severity word, and near misses, after each of a few prefixes.
        let words = [
            "LOG",
            "LOCATION",
            "ERROR",
            "STATEMENT",
            "DETAIL",
            "DEBUG",
            "DEBUG1",
            "DEBUG5",
            "DEBUG6",
            "DEBUG12",
            "HINT",
            "CONTEXT",
            "WARNING",
            "FATAL",
            "PANIC",
            "QUERY",
            "NOTICE",
            "INFO",
            "LO",
            "LOGG",
            "",
            "log",
            "INFO:",
        ];
        for w in words {
            for sep in [":  ", ": ", ":", "  ", ":   "] {
                for prefix in ["%t [%p] ", "%t [%p] %a ", "%t [%p] %q%u@%d "] {
                    same_both_ways(prefix, &format!("{t} [7] {w}{sep}x"));
                    same_both_ways(prefix, &format!("{t} [7] a@b {w}{sep}x"));
                }
            }
        }
    }

    /// The word-at-a-time scans give what byte loops give: every byte value at
    /// every place of digit runs, and literals in pseudo-random lines.
    #[test]
    fn word_scans_agree_with_byte_loops() {
        for len in 0..26 {
            for at in 0..=len {
                for b in 0..=255u8 {
                    let mut s = b"9081726354".repeat(3)[..len].to_vec();
                    if at < len {
                        s[at] = b;
                    }
                    let naive = s.iter().take_while(|b| b.is_ascii_digit()).count();
                    assert_eq!(digit_run(&s), naive, "{s:?}");
                    let pid = std::str::from_utf8(&s[..naive])
                        .ok()
                        .and_then(|t| t.parse::<u32>().ok());
                    assert_eq!(read_pid(&s), pid.map(|p| (p, naive)), "{s:?}");
                }
            }
        }
        assert_eq!(read_pid(b"0000000000042 x"), Some((42, 13)));
        assert_eq!(read_pid(b"4294967295]"), Some((u32::MAX, 10)));
        assert_eq!(read_pid(b"4294967296]"), None);
        let alphabet = b"@@  ,=db\x80\xc0\x7f\x01\x00a";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let s: Vec<u8> = (0..len)
                .map(|i| alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            for lit in [&b"@"[..], b" ", b",db=", b"\x80", b"\x00", b"  "] {
                let naive = (0..s.len()).find(|&i| s[i..].starts_with(lit));
                assert_eq!(find_lit(&s, lit), naive, "{s:?} {lit:?}");
            }
        }
    }

    #[test]
    fn severities_by_first_byte_as_by_the_colon() {
        fn by_colon(s: &[u8]) -> Option<(Severity, usize)> {
            let colon = memchr::memchr(b':', &s[..s.len().min(12)])?;
            if s.get(colon + 1) != Some(&b' ') || s.get(colon + 2) != Some(&b' ') {
                return None;
            }
            Some((Severity::from_word(&s[..colon])?, colon + 3))
        }
        let words = [
            "LOG",
            "LOCATION",
            "ERROR",
            "STATEMENT",
            "DETAIL",
            "DEBUG",
            "DEBUG1",
            "DEBUG2",
            "DEBUG3",
            "DEBUG4",
            "DEBUG5",
            "DEBUG0",
            "DEBUG6",
            "HINT",
            "CONTEXT",
            "WARNING",
            "FATAL",
            "PANIC",
            "QUERY",
            "NOTICE",
            "INFO",
            "L",
            "LOGX",
            "STATEMENTS",
            "",
        ];
        for w in words {
            for tail in ["", ":", ": ", ":  ", ":  x", ":   x", " :  x", "::  x"] {
                let s = format!("{w}{tail}");
                for n in 0..=s.len() {
                    let b = &s.as_bytes()[..n];
                    assert_eq!(Severity::parse(b), by_colon(b), "{:?}", &s[..n]);
                }
            }
        }
    }

    #[test]
    fn bad_prefixes() {
        assert_eq!(
            Prefix::compile("%t %z"),
            Err(PrefixError::UnknownEscape('z'))
        );
        assert_eq!(Prefix::compile("%t %"), Err(PrefixError::TrailingPercent));
    }
}
