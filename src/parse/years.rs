//! The time in a syslog header. A traditional header (`Nov 30 12:00:00`) has neither
//! year nor zone: the year comes from a [`Years`] rule that needs only the date itself,
//! so every chunk dates its lines alone and a log crossing New Year never jumps back;
//! the zone is read as UTC (and said so). An RFC 3339 header carries both.

use super::time::days_from_civil;
use super::Millis;

/// The time a header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderTime {
    /// None could be read.
    None,
    /// An RFC 3339 instant.
    At(Millis),
    /// A traditional `Mmm dd HH:MM:SS`: no year, no zone.
    Calendar {
        /// 1–12.
        month: u8,
        /// 1–31.
        day: u8,
        /// Seconds since midnight.
        secs: u32,
    },
}

/// Which year a traditional header's date is in: the year of `anchor`, or the one
/// after it (`forward`, the anchor is the log's first line) or before it (the anchor is
/// the file's mtime, after every line) for dates on the other side of the anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Years {
    year: i64,
    anchor: (u8, u8),
    forward: bool,
}

impl Years {
    /// Dates up to `end` (the file's mtime, ms since the epoch) are in its year; later
    /// ones in the year before.
    pub fn ending_at(end: Millis) -> Years {
        use chrono::Datelike;
        let t = chrono::DateTime::from_timestamp_millis(end).unwrap_or_default();
        Years {
            year: i64::from(t.year()),
            anchor: (t.month() as u8, t.day() as u8),
            forward: false,
        }
    }

    /// The log's first dated line (`month`, `day`) is in `year`; earlier dates in the
    /// year after (`--year`).
    pub fn starting(year: i64, month: u8, day: u8) -> Years {
        Years {
            year,
            anchor: (month, day),
            forward: true,
        }
    }

    /// The instant of a header time (traditional headers read as UTC).
    pub fn resolve(&self, t: HeaderTime) -> Option<Millis> {
        match t {
            HeaderTime::None => None,
            HeaderTime::At(ms) => Some(ms),
            HeaderTime::Calendar { month, day, secs } => {
                let year = match (self.forward, (month, day).cmp(&self.anchor)) {
                    (true, std::cmp::Ordering::Less) => self.year + 1,
                    (false, std::cmp::Ordering::Greater) => self.year - 1,
                    _ => self.year,
                };
                let days = days_from_civil(year, i64::from(month), i64::from(day));
                Some((days * 86_400 + i64::from(secs)) * 1000)
            }
        }
    }
}

/// `Mmm dd HH:MM:SS` → month, day, seconds of the day.
pub fn calendar(t: &[u8]) -> HeaderTime {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let num = |s: &[u8]| -> Option<u32> { std::str::from_utf8(s).ok()?.trim_start().parse().ok() };
    let parsed = (|| {
        let month = MONTHS.iter().position(|m| &t[..3] == *m)? as u8 + 1;
        let day = num(&t[4..6])?;
        let (h, m, s) = (num(&t[7..9])?, num(&t[10..12])?, num(&t[13..15])?);
        ((1..=31).contains(&day) && h < 24 && m < 60 && s <= 60).then_some(HeaderTime::Calendar {
            month,
            day: day as u8,
            secs: h * 3600 + m * 60 + s,
        })
    })();
    parsed.unwrap_or(HeaderTime::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::time::rfc3339;

    fn at(y: &Years, t: &[u8]) -> String {
        rfc3339(y.resolve(calendar(t)).expect("a date"))
    }

    #[test]
    fn a_log_crossing_new_year_keeps_going_forward() {
        // The file was last written on 2 January 2027.
        let end = crate::parse::time::parse_rfc3339(b"2027-01-02T08:00:00Z")
            .unwrap()
            .ms;
        let y = Years::ending_at(end);
        assert_eq!(at(&y, b"Dec 31 23:59:59"), "2026-12-31T23:59:59.000Z");
        assert_eq!(at(&y, b"Jan  1 00:00:01"), "2027-01-01T00:00:01.000Z");
        assert_eq!(at(&y, b"Jan  2 07:00:00"), "2027-01-02T07:00:00.000Z");
        // --year 2026 names the first line's year.
        let y = Years::starting(2026, 12, 31);
        assert_eq!(at(&y, b"Dec 31 23:59:59"), "2026-12-31T23:59:59.000Z");
        assert_eq!(at(&y, b"Jan  1 00:00:01"), "2027-01-01T00:00:01.000Z");
    }

    #[test]
    fn bad_calendar_times_are_none() {
        assert_eq!(calendar(b"Foo 30 12:00:00"), HeaderTime::None);
        assert_eq!(calendar(b"Nov 32 12:00:00"), HeaderTime::None);
        assert_eq!(calendar(b"Nov 30 25:00:00"), HeaderTime::None);
        assert_eq!(
            calendar(b"Nov  4 01:02:03"),
            HeaderTime::Calendar {
                month: 11,
                day: 4,
                secs: 3723
            }
        );
    }
}
