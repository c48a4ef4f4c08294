//! Filters: which entries and statements the report stands for.
//!
//! Session filters (`--db`, `--user`, `--app`, `--client` and their `--exclude-`
//! twins) look at the fields each entry carries, and where it lacks one (the prefix has
//! no such escape, or PostgreSQL's `[unknown]`) at its session's, read from the
//! process's connection lines ([`crate::aggregate::session`]); so every signal of a
//! session — statement, lock wait, error, temp file — is kept or removed alike. An
//! entry whose field is unknown and whose session could not be matched (a background
//! process, a session that began before the log) matches no include filter: it is
//! removed and counted apart, so the report can say the filter could not be applied to
//! it; an exclude filter keeps it, counted too. Time-of-day
//! filters (`--include-time`, `--exclude-time`) are read in the log's own zone unless
//! they carry one. Statement filters (`--query-id`, `--include-query`,
//! `--exclude-query`, `--select-only`) look at statements only, and decide once per
//! fingerprint.
//!
//! Everything is compiled once, in [`Filters::build`]; matching an entry allocates
//! nothing.

use crate::aggregate::session::Session;
use crate::parse::{LogEntry, Millis};
use crate::report::tz::DisplayTz;
use regex::bytes::Regex;

/// A bad filter argument (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A regular expression that does not compile.
    #[error("--{flag} {value}: not a regular expression: {why}")]
    Regex {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// The regex crate's reason.
        why: String,
    },
    /// A glob that does not compile (`[z-a]`).
    #[error("--{flag} {value}: not a glob pattern: {why}")]
    Glob {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
        /// Why.
        why: String,
    },
    /// An unreadable time-of-day range.
    #[error("--{flag} {value}: cannot read it as a time-of-day range (use 'HH:MM-HH:MM', optionally followed by a zone: '02:00-03:00 UTC')")]
    TimeRange {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
    },
}

/// The session fields a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `%d`, csv/json database.
    Db,
    /// `%u`.
    User,
    /// `%a`.
    App,
    /// `%h`/`%r`.
    Client,
}

impl Field {
    /// Every field, in the order of [`FieldCounts`].
    pub const ALL: [Field; 4] = [Field::Db, Field::User, Field::App, Field::Client];

    /// The word the report uses.
    pub fn noun(self) -> &'static str {
        match self {
            Field::Db => "database",
            Field::User => "user",
            Field::App => "application",
            Field::Client => "client host",
        }
    }

    fn of<'a>(self, e: &LogEntry<'a, '_>) -> &'a [u8] {
        match self {
            Field::Db => e.fields.db,
            Field::User => e.fields.user,
            Field::App => e.fields.app,
            Field::Client => e.fields.host,
        }
    }

    /// The session's value; before authorization only the client host is known.
    fn of_session(self, s: &Session) -> Option<&[u8]> {
        match self {
            Field::Client => (!s.host.is_empty()).then_some(&s.host[..]),
            _ if !s.authorized => None,
            Field::Db => Some(&s.db),
            Field::User => Some(&s.user),
            Field::App => Some(&s.app),
        }
    }
}

/// Per-field counts, in the order of [`Field::ALL`].
pub type FieldCounts = [u64; 4];

/// Why an entry was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Kept.
    Keep,
    /// Removed by a filter on a known value, or by a time filter.
    Removed,
    /// Removed because an include filter's field is unknown on this entry and its
    /// session could not be matched.
    Unknown(Field),
    /// Kept, but an exclude filter's field is unknown on this entry and its session
    /// could not be matched: the filter could not be applied to it.
    KeptUnknown(Field),
}

/// Globs compiled into one anchored regex.
#[derive(Debug, Clone)]
pub struct Globs(Regex);

impl Globs {
    /// `shop`, `pg_dump*`, `app-?`, `[ab]*`: `*` any run, `?` one character, `[...]`
    /// a class (`[!...]` negated), `\\` escapes the next character; the rest literal.
    /// `[local]` alone is PostgreSQL's unix-socket client, literally.
    pub fn new(flag: &'static str, globs: &[String]) -> Result<Option<Globs>, FilterError> {
        let bad = |g: &str, why: String| FilterError::Glob {
            flag,
            value: g.to_string(),
            why,
        };
        for g in globs {
            // A class like `[z-a]` does not compile: said, never dropped silently.
            Regex::new(&glob_regex(g)).map_err(|e| bad(g, e.to_string()))?;
        }
        if globs.is_empty() {
            return Ok(None);
        }
        let alts: Vec<String> = globs.iter().map(|g| glob_regex(g)).collect();
        Regex::new(&format!("^(?:{})$", alts.join("|")))
            .map(|r| Some(Globs(r)))
            .map_err(|e| bad(&globs.join(" "), e.to_string()))
    }

    /// True when `v` matches one of the globs.
    pub fn is_match(&self, v: &[u8]) -> bool {
        self.0.is_match(v)
    }
}

fn glob_regex(g: &str) -> String {
    // PostgreSQL's name for a unix socket client, not a class of one letter.
    if g == "[local]" {
        return regex::escape(g);
    }
    let mut out = String::from("(?s:");
    let mut chars = g.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().map_or("\\".to_string(), |c| c.to_string());
                out.push_str(&regex::escape(&next));
            }
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let class: String = chars.clone().take_while(|&c| c != ']').collect();
                if !class.is_empty() && chars.clone().nth(class.chars().count()) == Some(']') {
                    for _ in 0..=class.chars().count() {
                        chars.next();
                    }
                    let (neg, body) = match class.strip_prefix('!') {
                        Some(b) => ("^", b),
                        None => ("", class.as_str()),
                    };
                    let body: String = body
                        .chars()
                        .map(|c| match c {
                            '-' => "-".to_string(),
                            c => regex::escape(&c.to_string()),
                        })
                        .collect();
                    out.push_str(&format!("[{neg}{body}]"));
                } else {
                    out.push_str(r"\[");
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push(')');
    out
}

/// An include and an exclude filter on one field.
#[derive(Debug, Clone, Default)]
struct FieldFilter {
    include: Option<Globs>,
    exclude: Option<Globs>,
}

/// A daily span of the clock, ms after midnight; wraps past midnight when `from > to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    from: i64,
    to: i64,
    /// The zone given with the span, if any.
    zone: Option<DisplayTz>,
}

impl DailySpan {
    /// `02:00-03:00`, `23:30-00:30`, `02:00-03:00 UTC`, `02:00-03:00 +02:00`,
    /// `02:00-03:00 Europe/Berlin`.
    pub fn parse(s: &str) -> Option<DailySpan> {
        let s = s.trim();
        let (times, zone) = match s.split_once(' ') {
            Some((t, z)) => (t, Some(parse_zone(z.trim())?)),
            None => (s, None),
        };
        let (a, b) = times.split_once('-')?;
        let time = |t: &str| {
            ["%H:%M:%S", "%H:%M"]
                .iter()
                .find_map(|f| chrono::NaiveTime::parse_from_str(t.trim(), f).ok())
                .map(|t| {
                    use chrono::Timelike;
                    i64::from(t.num_seconds_from_midnight()) * 1000
                })
        };
        Some(DailySpan {
            from: time(a)?,
            to: time(b)?,
            zone,
        })
    }

    fn contains(&self, log_zone: &DisplayTz, t: Millis) -> bool {
        let zone = self.zone.as_ref().unwrap_or(log_zone);
        let day = (t + zone.offset_ms(t)).rem_euclid(86_400_000);
        if self.from <= self.to {
            day >= self.from && day < self.to
        } else {
            day >= self.from || day < self.to
        }
    }
}

fn parse_zone(z: &str) -> Option<DisplayTz> {
    if let Ok(tz) = z.parse::<DisplayTz>() {
        return Some(tz);
    }
    let (off, known) = crate::parse::time::zone_token_offset(z.as_bytes())?;
    known
        .then(|| chrono::FixedOffset::east_opt(off as i32))
        .flatten()
        .map(DisplayTz::Fixed)
}

/// The filters given on the command line, as typed.
#[derive(Debug, Clone, Default)]
pub struct FilterArgs {
    /// `--db`, `--user`, `--app`, `--client`.
    pub include: [Vec<String>; 4],
    /// `--exclude-db`, `--exclude-user`, `--exclude-app`, `--exclude-client`.
    pub exclude: [Vec<String>; 4],
    /// `--query-id` (globs over the decimal id).
    pub query_id: Vec<String>,
    /// `--include-query`.
    pub include_query: Vec<String>,
    /// `--exclude-query`.
    pub exclude_query: Vec<String>,
    /// `--select-only`.
    pub select_only: bool,
    /// `--include-time`.
    pub include_time: Vec<String>,
    /// `--exclude-time`.
    pub exclude_time: Vec<String>,
}

/// The filters, compiled.
#[derive(Debug, Clone)]
pub struct Filters {
    fields: [FieldFilter; 4],
    query_id: Option<Globs>,
    include_query: Option<Regex>,
    exclude_query: Option<Regex>,
    select_only: bool,
    include_time: Vec<DailySpan>,
    exclude_time: Vec<DailySpan>,
    /// The zone of time-of-day spans given without one (set once the log's clock is
    /// known).
    pub log_zone: DisplayTz,
    /// How times of day without a zone are read, once the log's clock is known.
    pub zone_note: String,
    /// Each filter as given, one phrase each (`--exclude-app 'pg_dump*'`).
    pub applied: Vec<String>,
}

impl Filters {
    /// Compiles the filters; `None` when none is given.
    pub fn build(a: &FilterArgs) -> Result<Option<Filters>, FilterError> {
        let mut applied = Vec::new();
        let names = ["db", "user", "app", "client"];
        let mut say = |flag: &str, values: &[String]| {
            applied.extend(values.iter().map(|v| format!("--{flag} '{v}'")));
        };
        for (i, n) in names.iter().enumerate() {
            say(n, &a.include[i]);
            say(&format!("exclude-{n}"), &a.exclude[i]);
        }
        say("query-id", &a.query_id);
        say("include-query", &a.include_query);
        say("exclude-query", &a.exclude_query);
        say("include-time", &a.include_time);
        say("exclude-time", &a.exclude_time);
        if a.select_only {
            applied.push("--select-only".into());
        }
        if applied.is_empty() {
            return Ok(None);
        }
        let inc = ["db", "user", "app", "client"];
        let exc = [
            "exclude-db",
            "exclude-user",
            "exclude-app",
            "exclude-client",
        ];
        let mut fields: [FieldFilter; 4] = Default::default();
        for (i, f) in fields.iter_mut().enumerate() {
            f.include = Globs::new(inc[i], &a.include[i])?;
            f.exclude = Globs::new(exc[i], &a.exclude[i])?;
        }
        let spans = |flag: &'static str, v: &[String]| {
            v.iter()
                .map(|s| {
                    DailySpan::parse(s).ok_or_else(|| FilterError::TimeRange {
                        flag,
                        value: s.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Some(Filters {
            fields,
            query_id: Globs::new("query-id", &a.query_id)?,
            include_query: regexes("include-query", &a.include_query)?,
            exclude_query: regexes("exclude-query", &a.exclude_query)?,
            select_only: a.select_only,
            include_time: spans("include-time", &a.include_time)?,
            exclude_time: spans("exclude-time", &a.exclude_time)?,
            log_zone: DisplayTz::default(),
            zone_note: String::new(),
            applied,
        }))
    }

    /// True when a filter looks at statements (a statement that matches none is
    /// removed with its duration).
    pub fn on_statements(&self) -> bool {
        self.query_id.is_some()
            || self.include_query.is_some()
            || self.exclude_query.is_some()
            || self.select_only
    }

    /// True when a time-of-day filter is given.
    pub fn on_time(&self) -> bool {
        !self.include_time.is_empty() || !self.exclude_time.is_empty()
    }

    /// The include filters given, by field.
    pub fn includes(&self) -> [bool; 4] {
        std::array::from_fn(|i| self.fields[i].include.is_some())
    }

    /// True when a filter looks at the session fields (database, user, application,
    /// client): entries are then matched to their sessions.
    pub fn on_sessions(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.include.is_some() || f.exclude.is_some())
    }

    /// Whether entry `e` of session `session` (when its connection lines were read) is
    /// kept by the session and time filters. A field the entry carries is its own; one
    /// it lacks is its session's.
    pub fn entry(&self, e: &LogEntry<'_, '_>, session: Option<&Session>) -> Verdict {
        if e.fields.ts.is_some_and(|t| !self.time_kept(t)) {
            return Verdict::Removed;
        }
        let mut verdict = Verdict::Keep;
        for (f, filter) in Field::ALL.iter().zip(&self.fields) {
            if filter.include.is_none() && filter.exclude.is_none() {
                continue;
            }
            let own = f.of(e);
            let v = if !(own.is_empty() || own == b"[unknown]") {
                Some(own)
            } else {
                session.and_then(|s| f.of_session(s))
            };
            if let Some(inc) = &filter.include {
                match v {
                    None => return Verdict::Unknown(*f),
                    Some(v) if !inc.is_match(v) => return Verdict::Removed,
                    Some(_) => {}
                }
            }
            match (v, &filter.exclude) {
                (Some(v), Some(x)) if x.is_match(v) => return Verdict::Removed,
                (None, Some(_)) if verdict == Verdict::Keep => verdict = Verdict::KeptUnknown(*f),
                _ => {}
            }
        }
        verdict
    }

    /// Whether instant `t` is kept by the time-of-day filters.
    pub fn time_kept(&self, t: Millis) -> bool {
        let zone = &self.log_zone;
        !self.exclude_time.iter().any(|s| s.contains(zone, t))
            && (self.include_time.is_empty()
                || self.include_time.iter().any(|s| s.contains(zone, t)))
    }

    /// Whether a PgBouncer line of pool `db`/`user` is kept (`(nodb)`, `(nouser)`:
    /// unknown).
    pub fn pool(&self, t: Millis, db: &[u8], user: &[u8]) -> bool {
        if !self.time_kept(t) {
            return false;
        }
        let ok = |f: &FieldFilter, v: &[u8]| {
            let known = !(v.is_empty() || v.starts_with(b"(no"));
            f.include
                .as_ref()
                .is_none_or(|inc| known && inc.is_match(v))
                && !(known && f.exclude.as_ref().is_some_and(|x| x.is_match(v)))
        };
        ok(&self.fields[0], db) && ok(&self.fields[1], user)
    }

    /// Whether a statement with query id `id` is kept by `--query-id`.
    pub fn query_id(&self, id: Option<i64>) -> bool {
        let Some(globs) = &self.query_id else {
            return true;
        };
        let Some(id) = id else {
            return false;
        };
        let mut buf = [0u8; 24];
        globs.is_match(decimal(id, &mut buf))
    }

    /// Whether a statement of normalized text `text` is kept by the query filters.
    pub fn statement(&self, text: &str) -> bool {
        let t = text.as_bytes();
        if self.select_only && !is_select(t) {
            return false;
        }
        if self.include_query.as_ref().is_some_and(|r| !r.is_match(t)) {
            return false;
        }
        !self.exclude_query.as_ref().is_some_and(|r| r.is_match(t))
    }

    /// True when a filter looks at the normalized text.
    pub fn on_text(&self) -> bool {
        self.include_query.is_some() || self.exclude_query.is_some() || self.select_only
    }
}

fn regexes(flag: &'static str, v: &[String]) -> Result<Option<Regex>, FilterError> {
    for r in v {
        Regex::new(r).map_err(|e| FilterError::Regex {
            flag,
            value: r.clone(),
            why: e.to_string(),
        })?;
    }
    if v.is_empty() {
        return Ok(None);
    }
    let alts: Vec<String> = v.iter().map(|r| format!("(?:{r})")).collect();
    Regex::new(&alts.join("|"))
        .map(Some)
        .map_err(|e| FilterError::Regex {
            flag,
            value: v.join(" "),
            why: e.to_string(),
        })
}

/// `id` in decimal, in `buf`.
fn decimal(id: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut n = id.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if id < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// A SELECT: the statement's first word is SELECT (or VALUES, TABLE), or it is a WITH
/// whose main statement is a SELECT (not a data-modifying INSERT/UPDATE/DELETE/MERGE).
pub fn is_select(t: &[u8]) -> bool {
    let mut depth = 0i32;
    let mut first = true;
    let mut with = false;
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        match c {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'"' | b'\'' => {
                i += 1;
                while i < t.len() && t[i] != c {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < t.len() && (t[i].is_ascii_alphanumeric() || t[i] == b'_') {
                    i += 1;
                }
                let w = &t[start..i];
                let is = |k: &[u8]| w.eq_ignore_ascii_case(k);
                if first {
                    first = false;
                    if is(b"select") || is(b"values") || is(b"table") {
                        return true;
                    }
                    if !is(b"with") {
                        return false;
                    }
                    with = true;
                } else if with && depth <= 0 {
                    if is(b"select") || is(b"values") || is(b"table") {
                        return true;
                    }
                    if is(b"insert") || is(b"update") || is(b"delete") || is(b"merge") {
                        return false;
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(g: &[&str]) -> Globs {
        let g: Vec<String> = g.iter().map(|s| s.to_string()).collect();
        Globs::new("db", &g).unwrap().unwrap()
    }

    #[test]
    fn globs_match_whole_values() {
        let g = globs(&["pg_dump*", "shop"]);
        assert!(g.is_match(b"pg_dump"));
        assert!(g.is_match(b"pg_dumpall"));
        assert!(g.is_match(b"shop"));
        assert!(!g.is_match(b"shopping"));
        assert!(!g.is_match(b"xpg_dump"));
        let g = globs(&["app-?", "[ab]x", "[!c]y", "a.b", "[oops"]);
        assert!(g.is_match(b"app-1") && !g.is_match(b"app-12"));
        assert!(g.is_match(b"ax") && g.is_match(b"bx") && !g.is_match(b"cx"));
        assert!(g.is_match(b"dy") && !g.is_match(b"cy"));
        assert!(g.is_match(b"a.b") && !g.is_match(b"aXb"));
        assert!(g.is_match(b"[oops"));
        assert!(Globs::new("db", &["[z-a]".to_string()]).is_err());
        let g = globs(&["[local]", r"\*x"]);
        assert!(g.is_match(b"[local]") && !g.is_match(b"l"));
        assert!(g.is_match(b"*x") && !g.is_match(b"ax"));
    }

    #[test]
    fn selects_are_told_from_writes() {
        assert!(is_select(b"SELECT $1"));
        assert!(is_select(b"(SELECT a FROM t) UNION (SELECT b FROM u)"));
        assert!(is_select(b"WITH a AS (SELECT $1) SELECT * FROM a"));
        assert!(!is_select(
            b"WITH a AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM a"
        ));
        assert!(!is_select(b"WITH a AS (SELECT $1) UPDATE t SET x = $2"));
        assert!(!is_select(b"UPDATE t SET x = (SELECT $1)"));
        assert!(!is_select(b"BEGIN"));
    }

    #[test]
    fn daily_spans_wrap_and_carry_zones() {
        let utc = DisplayTz::default();
        let h = |h: i64, m: i64| 1_764_547_200_000 + (h * 60 + m) * 60_000; // a UTC midnight
        let s = DailySpan::parse("02:00-03:00").unwrap();
        assert!(s.contains(&utc, h(2, 0)) && s.contains(&utc, h(2, 59)));
        assert!(!s.contains(&utc, h(3, 0)) && !s.contains(&utc, h(1, 59)));
        let s = DailySpan::parse("23:30-00:30").unwrap();
        assert!(s.contains(&utc, h(23, 45)) && s.contains(&utc, h(0, 10)));
        assert!(!s.contains(&utc, h(12, 0)));
        let s = DailySpan::parse("03:00-04:00 +01:00").unwrap();
        assert!(s.contains(&utc, h(2, 30)));
        let cet: DisplayTz = "+01:00".parse().unwrap();
        let s = DailySpan::parse("03:00-04:00").unwrap();
        assert!(s.contains(&cet, h(2, 30)) && !s.contains(&utc, h(2, 30)));
        assert!(DailySpan::parse("03:00-04:00 CET").is_some());
        assert!(DailySpan::parse("3am").is_none());
        assert!(DailySpan::parse("03:00-04:00 Mars/Olympus").is_none());
    }

    #[test]
    fn query_ids_in_decimal() {
        let mut b = [0u8; 24];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(-42, &mut b), b"-42");
        assert_eq!(decimal(i64::MIN, &mut b), b"-9223372036854775808");
    }
}
