//! `--begin`/`--end` as the log prints them.
//!
//! People copy times out of the log they are reading, so a value without a zone is in
//! the log's own zone — the one its `%t`/`%m` (or csvlog/jsonlog) timestamps carry,
//! read from the inputs' first lines, or `--log-tz` — not UTC. A time of day alone
//! (`--begin 14:00`) is on the log's first day (the local date of its earliest first
//! timestamp); `--end` alone as a time of day is on `--begin`'s day when `--begin`
//! has one, and on the next day when it would otherwise fall before `--begin`
//! (`--begin 23:30 --end 00:30`). When the log runs over several days, a warning says
//! which day was taken and asks for a date to pick another.
//!
//! A range that keeps no entry is a warning, and makes the report partial, since an
//! empty report would claim that nothing happened.

use crate::parse::time::{parse_timestamp, zone_token_offset, Millis};
use crate::report::tz::DisplayTz;
use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// How many first lines of each input are searched for a timestamp with a zone.
const CLOCK_LINES: usize = 1000;
/// How far into a line the timestamp is looked for (it is in the prefix).
const CLOCK_COLUMNS: usize = 160;

/// A `--begin`/`--end` value as the user typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTime {
    /// An instant: RFC 3339, or a timestamp with a zone as the log prints it
    /// (`2026-11-24 05:35:14.949 CET`).
    Instant(Millis),
    /// A date and time with no zone: in the log's zone.
    Local(NaiveDateTime),
    /// A time of day: on the log's day, in its zone.
    TimeOfDay(NaiveTime),
}

impl UserTime {
    /// Reads a value, or `None` when it is no time pgferret knows.
    pub fn parse(s: &str) -> Option<UserTime> {
        let s = s.trim();
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Some(UserTime::Instant(t.timestamp_millis()));
        }
        if let Some(ms) = zoned_timestamp(s.as_bytes()) {
            return Some(UserTime::Instant(ms));
        }
        let with_date = [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
        ];
        if let Some(t) = with_date
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        {
            return Some(UserTime::Local(t));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(UserTime::Local(d.and_time(NaiveTime::MIN)));
        }
        ["%H:%M:%S%.f", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
            .map(UserTime::TimeOfDay)
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fff] ZONE` with a zone PostgreSQL writes, wholly.
fn zoned_timestamp(s: &[u8]) -> Option<Millis> {
    [true, false].into_iter().find_map(|frac| {
        let p = parse_timestamp(s, frac)?;
        (p.len == s.len() && p.zone_known && zone_of(s, frac).is_some()).then_some(p.ms)
    })
}

/// The zone token after a timestamp at the start of `s`, if it has one.
fn zone_of(s: &[u8], frac: bool) -> Option<&[u8]> {
    let mut end = 19;
    if frac {
        end += 1 + s
            .get(20..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
    }
    let rest = s.get(end..)?.strip_prefix(b" ")?;
    let len = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b':')))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

/// The log's clock, from its first timestamp that carries a zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogClock {
    /// That timestamp's instant.
    pub first_ms: Millis,
    /// Its offset east of UTC, seconds.
    pub offset_s: i64,
    /// Its zone as printed (`CET`, `+02`).
    pub zone: String,
}

/// The first timestamp with a zone in the first lines of `head` (an input's first
/// bytes, any format: the prefix, csvlog's first field, jsonlog's `timestamp`).
pub fn detect_clock(head: &[u8]) -> Option<LogClock> {
    head.split(|&b| b == b'\n')
        .take(CLOCK_LINES)
        .filter(|l| !matches!(l.first(), Some(b'\t' | b' ')))
        .find_map(|line| {
            let window = &line[..line.len().min(CLOCK_COLUMNS)];
            (0..window.len().saturating_sub(19))
                .filter(|&i| looks_like_date(window, i))
                .find_map(|i| clock_at(&line[i..]))
        })
}

fn looks_like_date(s: &[u8], i: usize) -> bool {
    let digit = |k: usize| s.get(i + k).is_some_and(u8::is_ascii_digit);
    (i == 0 || !s[i - 1].is_ascii_digit())
        && (0..4).all(digit)
        && s.get(i + 4) == Some(&b'-')
        && s.get(i + 7) == Some(&b'-')
        && s.get(i + 10) == Some(&b' ')
}

fn clock_at(s: &[u8]) -> Option<LogClock> {
    [true, false].into_iter().find_map(|frac| {
        let p = parse_timestamp(s, frac)?;
        let zone = zone_of(s, frac)?;
        let (offset_s, _) = zone_token_offset(zone)?;
        Some(LogClock {
            first_ms: p.ms,
            offset_s,
            zone: String::from_utf8_lossy(zone).into_owned(),
        })
    })
}

/// Why a range cannot be resolved: a bad argument (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// A time of day, and no date in the log to put it on.
    #[error("--{flag} {value}: a time of day needs the log's day, and no timestamp with a date was found in the first lines of the logs; give a date ('YYYY-MM-DD {value}')")]
    NoDay {
        /// `begin` or `end`.
        flag: &'static str,
        /// The value.
        value: String,
    },
    /// `--begin` after `--end` once both are placed.
    #[error("--begin {begin} is after --end {end}")]
    Empty {
        /// As given.
        begin: String,
        /// As given.
        end: String,
    },
}

/// `--begin`, `--end` and `--log-tz` as given.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// `--begin`: the text and its reading.
    pub begin: Option<(String, UserTime)>,
    /// `--end`.
    pub end: Option<(String, UserTime)>,
    /// `--log-tz`: the zone of values without one (else the log's own).
    pub log_tz: Option<DisplayTz>,
}

/// A range placed on the log's clock.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// First instant kept.
    pub begin: Option<Millis>,
    /// Last instant kept.
    pub end: Option<Millis>,
    /// The zone values without one were read in.
    pub zone: DisplayTz,
    /// Its name as times are shown: `CET`, `Europe/Berlin`.
    pub zone_name: String,
    /// Where it comes from: `the log's zone`, `--log-tz`.
    pub zone_origin: &'static str,
    /// A time of day was given (a multi-day log then gets a warning).
    time_of_day: bool,
    given: (Option<String>, Option<String>),
}

impl Range {
    /// True when neither bound is given.
    pub fn is_empty(&self) -> bool {
        self.begin.is_none() && self.end.is_none()
    }

    /// Places the bounds on the log's clock (`None` when the logs' first lines carry
    /// no timestamp with a zone: values are then read in UTC).
    pub fn resolve(&self, clock: Option<&LogClock>) -> Result<Resolved, RangeError> {
        let (zone, zone_name, zone_origin) = log_zone(self.log_tz, clock);
        let first_day = clock.map(|c| local(&zone, c.first_ms).date());
        let place = |flag: &'static str, given: &(String, UserTime), day: Option<NaiveDate>| {
            match given.1 {
                UserTime::Instant(ms) => Ok(ms),
                UserTime::Local(t) => Ok(on_clock(&zone, t)),
                UserTime::TimeOfDay(t) => {
                    day.map(|d| on_clock(&zone, d.and_time(t)))
                        .ok_or_else(|| RangeError::NoDay {
                            flag,
                            value: given.0.clone(),
                        })
                }
            }
        };
        let begin = self
            .begin
            .as_ref()
            .map(|b| place("begin", b, first_day))
            .transpose()?;
        let end_day = begin.map(|b| local(&zone, b).date()).or(first_day);
        let mut end = self
            .end
            .as_ref()
            .map(|e| place("end", e, end_day))
            .transpose()?;
        if let (Some(b), Some(e), Some((_, UserTime::TimeOfDay(_)))) = (begin, end, &self.end) {
            if e < b {
                // `--begin 23:30 --end 00:30`: past midnight.
                end = Some(e + Duration::days(1).num_milliseconds());
            }
        }
        if let (Some(b), Some(e)) = (begin, end) {
            if b > e {
                let given = |b: &Option<(String, UserTime)>| b.as_ref().map(|b| b.0.clone());
                return Err(RangeError::Empty {
                    begin: given(&self.begin).unwrap_or_default(),
                    end: given(&self.end).unwrap_or_default(),
                });
            }
        }
        let time_of_day = [&self.begin, &self.end]
            .iter()
            .any(|b| matches!(b, Some((_, UserTime::TimeOfDay(_)))));
        Ok(Resolved {
            begin,
            end,
            zone,
            zone_name,
            zone_origin,
            time_of_day,
            given: (
                self.begin.as_ref().map(|b| b.0.clone()),
                self.end.as_ref().map(|e| e.0.clone()),
            ),
        })
    }
}

/// The zone of times given without one: `--log-tz`, else the log's own, else UTC;
/// with its name and where it comes from.
pub fn log_zone(
    log_tz: Option<DisplayTz>,
    clock: Option<&LogClock>,
) -> (DisplayTz, String, &'static str) {
    match (log_tz, clock) {
        (Some(tz), _) => (tz, tz.to_string(), "--log-tz"),
        (None, Some(c)) => (
            FixedOffset::east_opt(c.offset_s as i32)
                .map(DisplayTz::Fixed)
                .unwrap_or_default(),
            c.zone.clone(),
            "the log's zone",
        ),
        (None, None) => (
            DisplayTz::default(),
            "UTC".into(),
            "the log's first lines show no zone",
        ),
    }
}

fn local(zone: &DisplayTz, ms: Millis) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms + zone.offset_ms(ms))
        .unwrap_or_default()
        .naive_utc()
}

fn on_clock(zone: &DisplayTz, t: NaiveDateTime) -> Millis {
    zone.from_local(t)
        .unwrap_or_else(|| t.and_utc().timestamp_millis())
}

impl Resolved {
    /// `2026-11-24 05:40:00 CET` (milliseconds when there are some).
    pub fn show(&self, ms: Millis) -> String {
        let fmt = if ms % 1000 == 0 {
            "%Y-%m-%d %H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M:%S%.3f"
        };
        format!("{} {}", self.zone.format_ms(ms, fmt), self.zone_name)
    }

    /// How the bounds were read, in one sentence.
    pub fn reading(&self) -> String {
        let part = |flag: &str, given: &Option<String>, at: Option<Millis>| {
            given
                .as_ref()
                .zip(at)
                .map(|(g, at)| format!("--{flag} {g} read as {}", self.show(at)))
        };
        let parts: Vec<String> = [
            part("begin", &self.given.0, self.begin),
            part("end", &self.given.1, self.end),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!("{} ({})", parts.join(", "), self.zone_origin)
    }

    /// Warnings once the logs are read: `seen` is the first and last timestamp of all
    /// entries (kept or not), `kept` whether any timed entry fell in the range.
    /// Returns them and whether the range kept nothing.
    pub fn warnings(&self, seen: Option<(Millis, Millis)>, kept: bool) -> (Vec<String>, bool) {
        let Some((first, last)) = seen else {
            return (
                vec!["--begin/--end were not applied: no entry of the log carries a time.".into()],
                false,
            );
        };
        let mut w = Vec::new();
        let nothing = !kept;
        if nothing {
            let bound =
                |b: Option<Millis>, none: &str| b.map_or(none.to_string(), |b| self.show(b));
            w.push(format!(
                "No entry between {} and {}; the log covers {} .. {}.",
                bound(self.begin, "the log's start"),
                bound(self.end, "the log's end"),
                self.show(first),
                self.show(last)
            ));
        }
        if self.time_of_day && local(&self.zone, first).date() != local(&self.zone, last).date() {
            w.push(format!(
                "The log runs over several days ({} .. {}): a time of day was taken on its \
                 first day ({}); give a date (e.g. --begin 'YYYY-MM-DD HH:MM') for another.",
                self.show(first),
                self.show(last),
                self.reading()
            ));
        }
        (w, nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn range(b: Option<&str>, e: Option<&str>, tz: Option<&str>) -> Range {
        let read = |v: Option<&str>| v.map(|v| (v.to_string(), UserTime::parse(v).unwrap()));
        Range {
            begin: read(b),
            end: read(e),
            log_tz: tz.map(|t| t.parse().unwrap()),
        }
    }

    #[test]
    fn reads_what_people_type() {
        let instant = UserTime::Instant(ms("2026-11-24T04:35:14.949Z"));
        assert_eq!(UserTime::parse("2026-11-24T04:35:14.949Z"), Some(instant));
        assert_eq!(
            UserTime::parse("2026-11-24 05:35:14.949 CET"),
            Some(instant)
        );
        assert!(matches!(
            UserTime::parse("2026-11-24 05:35"),
            Some(UserTime::Local(_))
        ));
        assert!(matches!(
            UserTime::parse("14:30:15"),
            Some(UserTime::TimeOfDay(_))
        ));
        assert!(matches!(
            UserTime::parse("14:00"),
            Some(UserTime::TimeOfDay(_))
        ));
        assert_eq!(UserTime::parse("yesterday"), None);
        assert_eq!(UserTime::parse("25:00"), None);
    }

    #[test]
    fn the_clock_is_read_from_any_format() {
        let stderr = b"2026-11-24 05:34:31.123 CET [29040] LOG:  x\n";
        let c = detect_clock(stderr).unwrap();
        assert_eq!((c.offset_s, c.zone.as_str()), (3600, "CET"));
        assert_eq!(c.first_ms, ms("2026-11-24T04:34:31.123Z"));
        let json = b"{\"timestamp\":\"2026-11-24 04:34:31.123 -0530\",\"user\":\"u\"}\n";
        assert_eq!(detect_clock(json).unwrap().offset_s, -(5 * 3600 + 1800));
        let pid_first = b"[12] 2026-11-24 04:34:31 UTC LOG:  x\n";
        assert_eq!(detect_clock(pid_first).unwrap().zone, "UTC");
        assert_eq!(detect_clock(b"LOG:  no time here\n"), None);
    }

    #[test]
    fn values_without_a_zone_are_in_the_logs_zone() {
        let cet = detect_clock(b"2026-11-24 23:10:00 CET [1] LOG:  x\n").unwrap();
        let r = range(Some("2026-11-24 23:30"), Some("2026-11-25 00:30"), None);
        let res = r.resolve(Some(&cet)).unwrap();
        assert_eq!(res.begin, Some(ms("2026-11-24T22:30:00Z")));
        // Time of day: the log's first day; an end before the begin is past midnight.
        let r = range(Some("23:30"), Some("00:30"), None);
        let res = r.resolve(Some(&cet)).unwrap();
        assert_eq!(res.begin, Some(ms("2026-11-24T22:30:00Z")));
        assert_eq!(res.end, Some(ms("2026-11-24T23:30:00Z")));
        // --log-tz overrides, daylight saving time included.
        let r = range(Some("2026-07-01 12:00"), None, Some("Europe/Berlin"));
        assert_eq!(
            r.resolve(Some(&cet)).unwrap().begin,
            Some(ms("2026-07-01T10:00:00Z"))
        );
        // A zone in the value wins.
        let r = range(Some("2026-11-24T23:30:00Z"), None, None);
        assert_eq!(
            r.resolve(Some(&cet)).unwrap().begin,
            Some(ms("2026-11-24T23:30:00Z"))
        );
        assert!(matches!(
            range(Some("14:00"), None, None).resolve(None),
            Err(RangeError::NoDay { .. })
        ));
    }

    #[test]
    fn an_empty_range_and_a_multi_day_log_are_said() {
        let utc = detect_clock(b"2026-11-24 04:34:31 UTC [1] LOG:  x\n").unwrap();
        let res = range(Some("05:00"), Some("05:10"), None)
            .resolve(Some(&utc))
            .unwrap();
        let (w, nothing) = res.warnings(Some((utc.first_ms, utc.first_ms + 600_000)), false);
        assert!(nothing);
        assert_eq!(
            w[0],
            "No entry between 2026-11-24 05:00:00 UTC and 2026-11-24 05:10:00 UTC; \
             the log covers 2026-11-24 04:34:31 UTC .. 2026-11-24 04:44:31 UTC."
        );
        assert_eq!(
            res.reading(),
            "--begin 05:00 read as 2026-11-24 05:00:00 UTC, --end 05:10 read as \
             2026-11-24 05:10:00 UTC (the log's zone)"
        );
        let (w, nothing) = res.warnings(Some((utc.first_ms, utc.first_ms + 86_400_000)), true);
        assert!(!nothing);
        assert!(w[0].starts_with("The log runs over several days"), "{w:?}");
    }
}
