//! Getting the two sides of a comparison: JSON reports read back, logs analysed now,
//! or two time windows of one log (`--baseline`, `--compare`).
//!
//! Logs are analysed with the same options on both sides, so the only difference
//! between the sides is the input or the window. A window is a `--begin`/`--end` pair
//! for the ordinary analysis, made half-open (the baseline's last millisecond is not
//! the compared window's first) so an entry is never on both sides.

use super::{Origin, Snapshot, SnapshotError};
use crate::cli::AnalyzeArgs;
use crate::config::{Config, ConfigError};
use crate::pipeline::AnalyzeError;
use crate::range::UserTime;
use crate::report::Report;
use std::path::Path;

/// Why the sides could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SidesError {
    /// A bad argument (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A JSON report that cannot be compared (exit 2).
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A window that cannot be read (exit 2).
    #[error("{0}")]
    Window(String),
    /// The analysis failed (exit 1; exit 2 for a range error).
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
}

impl SidesError {
    /// The exit code: 2 for what the user gave wrong, 1 when nothing could be read.
    pub fn exit_code(&self) -> u8 {
        match self {
            SidesError::Analyze(AnalyzeError::Range(_)) => 2,
            SidesError::Analyze(_) => 1,
            _ => 2,
        }
    }
}

/// One side as given: a JSON report, or logs.
#[derive(Debug, Clone)]
pub enum SideInput {
    /// A report pgferret wrote.
    Json(String),
    /// Log files or directories.
    Logs(Vec<String>),
}

impl SideInput {
    /// A path given alone: a JSON report if it is one, else a log.
    pub fn of_path(p: &str) -> SideInput {
        if super::snapshot::is_report(Path::new(p)) {
            SideInput::Json(p.to_string())
        } else {
            SideInput::Logs(vec![p.to_string()])
        }
    }
}

/// A side, where it came from, and whether it stands for part of its input only.
pub type Side = (Snapshot, Origin);

/// Reads or analyses one side; `args` are the analysis options of both sides.
pub fn side(args: &AnalyzeArgs, input: &SideInput) -> Result<Side, SidesError> {
    match input {
        SideInput::Json(p) => Ok((
            Snapshot::read(Path::new(p))?,
            Origin {
                source: "json",
                paths: vec![p.clone()],
                window: None,
            },
        )),
        SideInput::Logs(paths) => {
            let r = analyse(args, paths, None)?;
            Ok((
                Snapshot::from_report(&paths.join(", "), &r)?,
                Origin {
                    source: "logs",
                    paths: paths.clone(),
                    window: None,
                },
            ))
        }
    }
}

/// `A..B` as two times (either may be empty: open).
type Window = (Option<String>, Option<String>);

/// Reads `--baseline`/`--compare` values: `TIME..TIME`, each side in the forms of
/// `--begin`, either side empty for the start or end of the log.
pub fn parse_window(flag: &str, v: &str) -> Result<Window, SidesError> {
    let Some((a, b)) = v.split_once("..") else {
        return Err(SidesError::Window(format!(
            "--{flag}: '{v}' is not a window (use TIME..TIME, e.g. 14:00..14:30 or '2026-11-24 04:40..2026-11-24 04:42')"
        )));
    };
    let one = |s: &str| -> Result<Option<String>, SidesError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        UserTime::parse(s).map(|_| Some(s.to_string())).ok_or_else(|| {
            SidesError::Window(format!(
                "--{flag}: cannot read '{s}' as a time (use 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM[:SS]' in the log's own zone, or RFC 3339)"
            ))
        })
    };
    Ok((one(a)?, one(b)?))
}

/// The two windows of one log: the baseline, and `--compare` — or, without it, the
/// first incident span found outside the baseline, or else the rest of the log.
pub fn windows(args: &AnalyzeArgs, logs: &[String]) -> Result<(Side, Side), SidesError> {
    let base = parse_window("baseline", args.baseline.as_deref().unwrap_or(".."))?;
    let before = analyse(args, logs, Some(&base))?;
    let base_words = args.baseline.clone().unwrap_or_default();
    let (cmp, words) = match args.compare.as_deref() {
        Some(c) => (parse_window("compare", c)?, c.to_string()),
        None => found_window(args, logs, &before)?,
    };
    let after = analyse(args, logs, Some(&cmp))?;
    let origin = |window: String| Origin {
        source: "window",
        paths: logs.to_vec(),
        window: Some(window),
    };
    Ok((
        (
            Snapshot::from_report("--baseline", &before)?,
            origin(base_words),
        ),
        (Snapshot::from_report("--compare", &after)?, origin(words)),
    ))
}

/// Without `--compare`: the first incident span of the whole log that does not
/// overlap the baseline; else the log after the baseline (before it when the
/// baseline runs to the log's end).
fn found_window(
    args: &AnalyzeArgs,
    logs: &[String],
    baseline: &Report,
) -> Result<(Window, String), SidesError> {
    let whole = analyse(args, logs, None)?;
    let ms = |s: &Option<String>| s.as_deref().and_then(epoch_ms);
    let range = baseline.range.as_ref();
    let (bb, be) = (
        range.and_then(|r| ms(&r.begin)),
        range.and_then(|r| ms(&r.end)),
    );
    let width = (whole.timeline.window_seconds * 1000.0).round() as i64;
    for a in &whole.anomalies {
        let (Some(s), Some(last)) = (epoch_ms(&a.begin), epoch_ms(&a.last_window_start)) else {
            continue;
        };
        let e = last + width - 1;
        let overlaps = bb.is_none_or(|bb| e >= bb) && be.is_none_or(|be| s <= be);
        if !overlaps {
            let w = (Some(rfc3339(s)), Some(rfc3339(e)));
            let tz: crate::report::tz::DisplayTz = args
                .tz
                .as_deref()
                .unwrap_or("UTC")
                .parse()
                .unwrap_or_default();
            let words = format!(
                "the incident span found in the log, {} – {} {tz}",
                tz.show(&rfc3339(s)),
                tz.show(&rfc3339(e))
            );
            return Ok((w, words));
        }
    }
    let log_end = ms(&whole.span.end);
    match be {
        Some(be) if log_end.is_some_and(|end| end > be) => Ok((
            (Some(rfc3339(be + 1)), None),
            "the rest of the log after the baseline (no incident span found outside it)".into(),
        )),
        _ => match bb {
            Some(bb) => Ok((
                (None, Some(rfc3339(bb - 1))),
                "the log before the baseline (no incident span found outside it)".into(),
            )),
            None => Err(SidesError::Window(
                "--baseline covers the whole log: give --compare TIME..TIME".into(),
            )),
        },
    }
}

/// Analyses `logs` with `args`' options, within `window` when given.
fn analyse(
    args: &AnalyzeArgs,
    logs: &[String],
    window: Option<&Window>,
) -> Result<Report, SidesError> {
    let mut a = args.clone();
    a.inputs = logs.to_vec();
    a.outputs = vec!["-".into()];
    a.baseline = None;
    a.compare = None;
    if let Some((b, e)) = window {
        a.begin = b.clone();
        a.end = e.clone();
    }
    let mut cfg = Config::from_args(&a)?;
    if let (Some(_), Some((_, end))) = (window, cfg.range.end.as_mut()) {
        // Half-open: the next window starts where this one ends.
        *end = just_before(*end);
    }
    Ok(crate::analyze(&cfg)?)
}

/// One millisecond earlier.
fn just_before(t: UserTime) -> UserTime {
    let ms = chrono::Duration::milliseconds(1);
    match t {
        UserTime::Instant(x) => UserTime::Instant(x - 1),
        UserTime::Local(x) => UserTime::Local(x - ms),
        UserTime::TimeOfDay(x) => UserTime::TimeOfDay(x - ms),
    }
}

fn epoch_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn rfc3339(ms: i64) -> String {
    crate::parse::time::rfc3339(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_like_begin_and_end() {
        let w = parse_window("baseline", "14:00..14:30").expect("window");
        assert_eq!(w, (Some("14:00".into()), Some("14:30".into())));
        let w = parse_window("compare", "2026-11-24 04:42..").expect("open end");
        assert_eq!(w, (Some("2026-11-24 04:42".into()), None));
        assert!(parse_window("baseline", "14:00-14:30").is_err());
        assert!(parse_window("baseline", "lunch..14:30").is_err());
    }
}
