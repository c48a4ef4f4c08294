//! The display time zone (`--tz`): the report's times for people are shown in one
//! stated zone; the JSON keeps RFC 3339 UTC for machines.

use chrono::{DateTime, FixedOffset, Utc};
use std::fmt;
use std::str::FromStr;

/// A display time zone: a tz database name (`Europe/Berlin`), `UTC`, or a fixed
/// offset (`+02:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayTz {
    /// A named zone, daylight saving time included.
    Named(chrono_tz::Tz),
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
}

impl Default for DisplayTz {
    fn default() -> Self {
        DisplayTz::Named(chrono_tz::UTC)
    }
}

impl DisplayTz {
    /// The zone of a log whose clock is `clock` (its first timestamp with a zone), and
    /// where it comes from: the tz database zone its abbreviation names when that
    /// agrees with the logged offset (`CET`, which turns CEST in summer), else that
    /// offset; UTC when the log shows no zone.
    pub fn of_log(clock: Option<&crate::range::LogClock>) -> (DisplayTz, &'static str) {
        let Some(c) = clock else {
            return (DisplayTz::default(), "UTC: the log shows no zone");
        };
        let named = c
            .zone
            .parse::<chrono_tz::Tz>()
            .ok()
            .map(DisplayTz::Named)
            .filter(|tz| tz.offset_ms(c.first_ms) == c.offset_s * 1000);
        let fixed = || {
            FixedOffset::east_opt(c.offset_s as i32)
                .map(DisplayTz::Fixed)
                .unwrap_or_default()
        };
        let tz = match named {
            Some(tz) => tz,
            None if c.offset_s == 0 => DisplayTz::default(),
            None => fixed(),
        };
        (tz, "the log's zone")
    }
}

impl FromStr for DisplayTz {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
            return Ok(DisplayTz::Named(tz));
        }
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(DisplayTz::default());
        }
        let bytes = s.as_bytes();
        let sign = match bytes.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => {
                return Err(format!(
                    "unknown time zone '{s}' (use a name like Europe/Berlin, UTC, or +02:00)"
                ))
            }
        };
        let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok(), Some(0)),
            4 => (digits[..2].parse().ok(), digits[2..].parse().ok()),
            _ => (None, None),
        };
        match (h, m) {
            (Some(h), Some(m)) if h <= 14 && m < 60 => {
                FixedOffset::east_opt(sign * (h * 3600 + m * 60))
                    .map(DisplayTz::Fixed)
                    .ok_or_else(|| format!("bad offset '{s}'"))
            }
            _ => Err(format!(
                "unknown time zone '{s}' (use a name like Europe/Berlin, UTC, or +02:00)"
            )),
        }
    }
}

impl fmt::Display for DisplayTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisplayTz::Named(tz) => f.write_str(tz.name()),
            DisplayTz::Fixed(o) => write!(f, "{o}"),
        }
    }
}

impl DisplayTz {
    /// Offset from UTC at instant `ms`, in milliseconds.
    pub fn offset_ms(&self, ms: i64) -> i64 {
        use chrono::Offset;
        let Some(t) = DateTime::from_timestamp_millis(ms) else {
            return 0;
        };
        let secs = match self {
            DisplayTz::Named(tz) => t.with_timezone(tz).offset().fix().local_minus_utc(),
            DisplayTz::Fixed(o) => o.local_minus_utc(),
        };
        i64::from(secs) * 1000
    }

    /// The instant at which this zone's clock reads `t`: the earlier one when the clock
    /// reads it twice (daylight saving time ends); when it never reads it (the hour
    /// skipped when daylight saving time begins), `t` read in the offset before the jump.
    pub fn from_local(&self, t: chrono::NaiveDateTime) -> Option<i64> {
        use chrono::TimeZone;
        match self {
            DisplayTz::Named(tz) => {
                let earliest = |t: chrono::NaiveDateTime| tz.from_local_datetime(&t).earliest();
                earliest(t)
                    .or_else(|| earliest(t + chrono::Duration::hours(1)))
                    .map(|d| d.timestamp_millis())
            }
            DisplayTz::Fixed(o) => o
                .from_local_datetime(&t)
                .single()
                .map(|d| d.timestamp_millis()),
        }
    }

    /// Formats instant `ms` in this zone with a chrono format string.
    pub fn format_ms(&self, ms: i64, fmt: &str) -> String {
        let Some(t) = DateTime::from_timestamp_millis(ms) else {
            return String::new();
        };
        match self {
            DisplayTz::Named(tz) => t.with_timezone(tz).format(fmt).to_string(),
            DisplayTz::Fixed(o) => t.with_timezone(o).format(fmt).to_string(),
        }
    }

    /// `2026-11-24T04:35:14.949Z` → `2026-11-24 05:35:14.949` in this zone (the input
    /// unchanged if it is not RFC 3339).
    pub fn show(&self, rfc3339: &str) -> String {
        let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
            return rfc3339.to_string();
        };
        let t = t.with_timezone(&Utc);
        let fmt = "%Y-%m-%d %H:%M:%S%.3f";
        match self {
            DisplayTz::Named(tz) => t.with_timezone(tz).format(fmt).to_string(),
            DisplayTz::Fixed(o) => t.with_timezone(o).format(fmt).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        let berlin: DisplayTz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            berlin.show("2026-11-24T04:35:14.949Z"),
            "2026-11-24 05:35:14.949"
        );
        assert_eq!(
            berlin.show("2026-07-01T10:00:00.000Z"),
            "2026-07-01 12:00:00.000"
        );
        let utc: DisplayTz = "utc".parse().unwrap();
        assert_eq!(
            utc.show("2026-11-24T04:35:14.949Z"),
            "2026-11-24 04:35:14.949"
        );
        let off: DisplayTz = "-05:30".parse().unwrap();
        assert_eq!(
            off.show("2026-11-24T04:35:14.949Z"),
            "2026-11-23 23:05:14.949"
        );
        assert_eq!(off.to_string(), "-05:30");
        assert!("Mars/Olympus".parse::<DisplayTz>().is_err());
        assert!("+25".parse::<DisplayTz>().is_err());
    }
}
