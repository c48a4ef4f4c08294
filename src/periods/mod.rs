//! Reports per period (issue 12): one pass over the logs split by calendar day
//! ([`read_days`]), each day's result a [`State`] like the one `--save` writes, so a
//! day can be stored, merged with another part of the same day or with other days
//! ([`merge_states`]) and finished into a report ([`report_of_state`]) exactly as
//! `pgferret merge` finishes saved states. [`outdir`] writes the day, week and month
//! reports and the index of `--outdir`.
//!
//! The days are calendar days in the zone the report shows times in: `--tz` when
//! given, else the log's own zone (the zone of its first timestamps, as the report
//! picks it). A day's statistics are those of a log holding that day's lines only, as
//! if the log had been rotated at midnight: docs/outdir.md says what spans midnight
//! and where it is counted.

pub mod index;
pub mod outdir;

use crate::aggregate::days::DayPartials;
use crate::config::Config;
use crate::pipeline::{self, AnalyzeError, DayCtx, ReadInput};
use crate::report::tz::DisplayTz;
use crate::report::Report;
use crate::state::{State, StateError};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::time::Instant;

/// Reads the inputs of `cfg` once and returns each calendar day's mergeable partial
/// result: the same type `--save` writes, holding for each input that had entries on
/// that day (and every input that could not be read) the statistics of that day's
/// entries. `--begin`/`--end` and the filters apply as in a run. Days are in `--tz`,
/// else in the log's own zone; entries of an input with no timestamp at all fall on
/// today's date in that zone.
pub fn read_days(cfg: &Config) -> Result<BTreeMap<NaiveDate, State>, AnalyzeError> {
    let opts = crate::pipeline_options(
        cfg,
        crate::progress::Progress::for_terminal(
            crate::progress::total_size(&cfg.inputs),
            cfg.quiet,
        ),
    );
    let zone = |clock: Option<&crate::range::LogClock>| day_ctx(cfg, clock);
    let host = cfg.fleet.host.as_deref();
    let read = || pipeline::read_with::<DayPartials>(&cfg.inputs, &opts, host, zone);
    let got = match rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
    {
        Ok(pool) => pool.install(read),
        Err(_) => read(),
    };
    if let Some(p) = &opts.progress {
        p.finish();
    }
    let (inputs, _, _, _) = got?;
    if inputs.iter().all(|(r, _, _)| r.stats.entries == 0) {
        let verdicts = inputs
            .iter()
            .map(|(r, _, _)| (r.name.clone(), r.verdict.sentence(&r.stats)))
            .collect();
        return Err(AnalyzeError::NothingParsed(verdicts));
    }
    let mut days: BTreeMap<NaiveDate, State> = BTreeMap::new();
    let all: Vec<NaiveDate> = inputs
        .iter()
        .filter_map(|(_, d, _)| d.as_ref())
        .flat_map(|d| d.keys().copied())
        .collect();
    for (result, per_day, clock) in inputs {
        match per_day {
            // An input that gave nothing is said on every day.
            None => {
                for d in &all {
                    day_state(&mut days, *d, cfg).inputs.push(ReadInput {
                        result: result.clone(),
                        stats: None,
                        clock: clock.clone(),
                    });
                }
            }
            Some(per_day) => {
                for (d, (input, stats)) in per_day {
                    let mut result = result.clone();
                    result.stats = input;
                    day_state(&mut days, d, cfg).inputs.push(ReadInput {
                        result,
                        stats: Some(stats),
                        clock: clock.clone(),
                    });
                }
            }
        }
    }
    Ok(days)
}

/// The days of an input whose log shows `clock`: in `--tz`, else in the log's own
/// zone; today's date in that zone for what has no date.
pub(crate) fn day_ctx(cfg: &Config, clock: Option<&crate::range::LogClock>) -> DayCtx {
    let tz = cfg.tz.unwrap_or_else(|| DisplayTz::of_log(clock).0);
    let now = chrono::Utc::now().timestamp_millis();
    DayCtx {
        tz,
        today: crate::aggregate::days::day_of(&tz, now).0,
    }
}

/// An empty state of `cfg`'s options, to add a day's inputs to.
pub(crate) fn empty_state(cfg: &Config) -> State {
    State {
        pgferret: env!("CARGO_PKG_VERSION").to_string(),
        window_ms: cfg.agg.window_ms,
        max_fingerprints: cfg.agg.max_fingerprints,
        inputs: Vec::new(),
    }
}

/// `--state DIR` with `--outdir DIR2`: reads the bytes new since the last run and
/// writes the days they touch to `outdir` ([`outdir::write`]: their reports, weeks,
/// months and the index), then commits the state (docs/state-dir.md).
pub fn write_incremental(
    cfg: &Config,
    state_dir: &str,
    outdir: &std::path::Path,
) -> Result<anyhow::Result<outdir::Written>, AnalyzeError> {
    let opts = crate::pipeline_options(cfg, None);
    let read = || {
        crate::incremental::run_days(cfg, &opts, state_dir, |days| {
            outdir::write(cfg, outdir, days)
        })
    };
    match rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
    {
        Ok(pool) => pool.install(read),
        Err(_) => read(),
    }
}

fn day_state<'a>(
    days: &'a mut BTreeMap<NaiveDate, State>,
    d: NaiveDate,
    cfg: &Config,
) -> &'a mut State {
    days.entry(d).or_insert_with(|| empty_state(cfg))
}

/// Merges `more` into `into`: two parts of one period (two days of a week, or the
/// part of a day stored by an earlier run and the part read now). The same input (by
/// name and host) is merged into one: its counters added, its statistics merged, its
/// clock the earlier; other inputs are added after. Refused when the two were
/// aggregated with different `--window` or `--max-fingerprints`.
pub fn merge_states(into: &mut State, more: State) -> Result<(), StateError> {
    if (into.window_ms, into.max_fingerprints) != (more.window_ms, more.max_fingerprints) {
        return Err(StateError::Options {
            path: "a period's parts".into(),
            what: "other options".into(),
            first: "the part merged into".into(),
        });
    }
    for i in more.inputs {
        let key = (i.result.name.clone(), i.result.host_label());
        let same = into
            .inputs
            .iter_mut()
            .find(|m| (m.result.name.clone(), m.result.host_label()) == key);
        let Some(m) = same else {
            into.inputs.push(i);
            continue;
        };
        m.result.stats.append(i.result.stats);
        m.result.bytes = m.result.bytes.max(i.result.bytes);
        if m.result.verdict == crate::verdict::Verdict::Read {
            m.result.verdict = i.result.verdict;
        }
        for w in i.result.warnings {
            if !m.result.warnings.contains(&w) {
                m.result.warnings.push(w);
            }
        }
        m.stats = match (m.stats.take(), i.stats) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        m.clock = match (m.clock.take(), i.clock) {
            (Some(a), Some(b)) => Some(if b.first_ms < a.first_ms { b } else { a }),
            (a, b) => a.or(b),
        };
    }
    Ok(())
}

/// The report of a period's state, finished as `pgferret merge` finishes saved states
/// (`--tz`, `--title`, `--top`, `--anonymize`, `--only-host` of `cfg` apply).
pub fn report_of_state(cfg: &Config, state: State) -> Result<Report, AnalyzeError> {
    crate::finish_state(cfg, state, Instant::now())
}
