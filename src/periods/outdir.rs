//! `--outdir DIR`: a report per day, ISO week and month, and an index.
//!
//! ```text
//! DIR/index.html               the periods, with a sparkline of each day
//! DIR/days.json                each day's figures, for the index
//! DIR/day/2026-11-24.html      (+ .json) one calendar day
//! DIR/week/2026-W48.html       (+ .json) an ISO week: the merge of its days
//! DIR/month/2026-11.html       (+ .json) a month: the merge of its days
//! DIR/partial/2026-11-24.pgf   the day's mergeable state (docs/state-format.md)
//! ```
//!
//! A day read by this run replaces the day stored; the weeks and months of the days
//! read are rebuilt from the stored days' states, read and merged one at a time, so
//! memory holds one period's statistics at a time, whatever the days kept. Every file
//! is written to a temporary file in its directory, fsynced, then renamed over the old
//! one: a reader (or a run killed midway) sees the old file or the new, never half.

use super::index::{self, DayFigures};
use super::{merge_states, report_of_state};
use crate::config::Config;
use crate::report::{self, Format, Report};
use crate::state::{self, State};
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a run wrote in the outdir.
#[derive(Debug, Default)]
pub struct Written {
    /// The reports written (HTML paths; each has a JSON twin).
    pub reports: Vec<PathBuf>,
    /// Days whose reports were removed by `--retention`.
    pub removed_days: Vec<NaiveDate>,
    /// True when a report stands for part of its input only.
    pub partial: bool,
    /// The `--fail-on` thresholds crossed by the days written, one line each, the
    /// day first.
    pub crossed: Vec<String>,
}

/// A period of the outdir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    /// A calendar day.
    Day(NaiveDate),
    /// An ISO week (its year and number).
    Week(i32, u32),
    /// A month (year, month).
    Month(i32, u32),
}

impl Period {
    /// The week of `d`.
    pub fn week_of(d: NaiveDate) -> Period {
        let w = d.iso_week();
        Period::Week(w.year(), w.week())
    }

    /// The month of `d`.
    pub fn month_of(d: NaiveDate) -> Period {
        Period::Month(d.year(), d.month())
    }

    /// The directory and file stem: `day/2026-11-24`, `week/2026-W48`, `month/2026-11`.
    pub fn path(&self) -> (&'static str, String) {
        match self {
            Period::Day(d) => ("day", d.format("%Y-%m-%d").to_string()),
            Period::Week(y, w) => ("week", format!("{y}-W{w:02}")),
            Period::Month(y, m) => ("month", format!("{y}-{m:02}")),
        }
    }

    /// Its first and last days.
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        match *self {
            Period::Day(d) => (d, d),
            Period::Week(y, w) => {
                let mon =
                    NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon).unwrap_or_default();
                (mon, mon + chrono::Days::new(6))
            }
            Period::Month(y, m) => {
                let first = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
                let next = first + chrono::Months::new(1);
                (first, next.pred_opt().unwrap_or(first))
            }
        }
    }

    /// True when `d` is in it.
    pub fn contains(&self, d: NaiveDate) -> bool {
        let (a, b) = self.days();
        a <= d && d <= b
    }

    /// Reads a stem written by [`Period::path`] in directory `dir`.
    pub fn parse(dir: &str, stem: &str) -> Option<Period> {
        match dir {
            "day" => NaiveDate::parse_from_str(stem, "%Y-%m-%d")
                .ok()
                .map(Period::Day),
            "week" => {
                let (y, w) = stem.split_once("-W")?;
                let (y, w) = (y.parse().ok()?, w.parse().ok()?);
                NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon)?;
                Some(Period::Week(y, w))
            }
            "month" => {
                let (y, m) = stem.split_once('-')?;
                let (y, m) = (y.parse().ok()?, m.parse().ok()?);
                NaiveDate::from_ymd_opt(y, m, 1)?;
                Some(Period::Month(y, m))
            }
            _ => None,
        }
    }
}

/// Writes `bytes` through `fill` to `path` atomically: a temporary file beside it,
/// fsynced, renamed over `path`, the directory fsynced.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| -> anyhow::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", path.display()))
}

/// Writes the day reports of `days` (each day's state as [`super::read_days`] made it),
/// rebuilds their weeks and months from the days stored, applies `--retention`, and
/// writes the index.
pub fn write(
    cfg: &Config,
    dir: &Path,
    days: BTreeMap<NaiveDate, State>,
) -> anyhow::Result<Written> {
    for sub in ["day", "week", "month", "partial"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    let mut figures = index::load(dir)?;
    let mut out = Written::default();
    let mut touched = BTreeSet::new();
    for (d, st) in days {
        let pgf = partial_path(dir, d);
        state::write(&pgf.to_string_lossy(), &st)?;
        let report = report_of_state(cfg, st)?;
        out.reports
            .push(write_report(dir, Period::Day(d), &report)?);
        out.partial |= report.partial;
        out.crossed.extend(
            crate::diagnose::alerts::evaluate(&report, &cfg.fail_on)
                .into_iter()
                .map(|c| format!("{d}: {}", c.message)),
        );
        figures.insert(d, DayFigures::of(&report));
        touched.insert(Period::week_of(d));
        touched.insert(Period::month_of(d));
    }
    let stored = stored_days(dir)?;
    let cutoff = match (cfg.fleet.retention, stored.iter().next_back()) {
        (Some(n), Some(newest)) => Some(*newest - chrono::Days::new(u64::from(n) - 1)),
        _ => None,
    };
    let kept = |d: NaiveDate| cutoff.is_none_or(|c| d >= c);
    for p in touched {
        let last = p.days().1;
        if !kept(last) {
            continue;
        }
        let mut acc: Option<State> = None;
        for d in stored.iter().filter(|d| p.contains(**d)) {
            let st = state::read(&partial_path(dir, *d).to_string_lossy())?;
            match &mut acc {
                Some(a) => merge_states(a, st)?,
                None => acc = Some(st),
            }
        }
        let Some(st) = acc else { continue };
        let report = report_of_state(cfg, st)?;
        out.reports.push(write_report(dir, p, &report)?);
    }
    if let Some(c) = cutoff {
        out.removed_days = prune(dir, c, &stored)?;
        figures.retain(|d, _| *d >= c);
    }
    index::save(dir, &figures)?;
    let periods = listed(dir)?;
    write_atomic(&dir.join("index.html"), |w| {
        w.write_all(index::render(cfg.share.title.as_deref(), &figures, &periods).as_bytes())?;
        Ok(())
    })?;
    Ok(out)
}

fn partial_path(dir: &Path, d: NaiveDate) -> PathBuf {
    dir.join("partial")
        .join(format!("{}.pgf", d.format("%Y-%m-%d")))
}

/// Writes a period's report as HTML and JSON; the HTML's path.
fn write_report(dir: &Path, p: Period, report: &Report) -> anyhow::Result<PathBuf> {
    let (sub, stem) = p.path();
    let html = dir.join(sub).join(format!("{stem}.html"));
    for (path, format) in [
        (dir.join(sub).join(format!("{stem}.json")), Format::Json),
        (html.clone(), Format::Html),
    ] {
        write_atomic(&path, |w| report::render(report, format, w))?;
    }
    Ok(html)
}

/// The days whose states are stored.
fn stored_days(dir: &Path) -> anyhow::Result<BTreeSet<NaiveDate>> {
    let mut days = BTreeSet::new();
    let sub = dir.join("partial");
    for e in std::fs::read_dir(&sub).with_context(|| format!("reading {}", sub.display()))? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some(d) = name
            .strip_suffix(".pgf")
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            days.insert(d);
        }
    }
    Ok(days)
}

/// The reports present: every period with an HTML report in the outdir.
pub fn listed(dir: &Path) -> anyhow::Result<Vec<Period>> {
    let mut out = Vec::new();
    for sub in ["day", "week", "month"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in rd {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(p) = name
                .strip_suffix(".html")
                .and_then(|s| Period::parse(sub, s))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the reports of the days before `cutoff`, and the weeks and months wholly
/// before it; a day's state goes once its week and month are both gone (until then
/// they are rebuilt from it, whole).
fn prune(
    dir: &Path,
    cutoff: NaiveDate,
    stored: &BTreeSet<NaiveDate>,
) -> anyhow::Result<Vec<NaiveDate>> {
    let mut removed = Vec::new();
    for p in listed(dir)? {
        if p.days().1 >= cutoff {
            continue;
        }
        let (sub, stem) = p.path();
        for ext in ["html", "json"] {
            remove(&dir.join(sub).join(format!("{stem}.{ext}")))?;
        }
        if let Period::Day(d) = p {
            removed.push(d);
        }
    }
    for d in stored {
        let gone = |p: Period| p.days().1 < cutoff;
        if gone(Period::week_of(*d)) && gone(Period::month_of(*d)) {
            remove(&partial_path(dir, *d))?;
        }
    }
    Ok(removed)
}

fn remove(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
