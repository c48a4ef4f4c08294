//! pgferret ferrets out what went wrong in a PostgreSQL incident from the server's
//! own logs: it parses them (memory-mapped, in parallel), fingerprints every
//! statement, aggregates latencies over time windows, and writes an HTML, JSON or
//! text report.
//!
//! Data flows one way: [`input`] → [`parse`] → [`events`] → [`normalize`] →
//! [`aggregate`] → [`report`]. The entry point is [`analyze`]; [`compare`] compares
//! two periods ([`run_diff`]).
#![warn(missing_docs)]

pub mod aggregate;
pub mod cli;
pub mod compare;
pub mod config;
pub mod diagnose;
pub mod events;
pub mod filter;
pub mod incremental;
pub mod input;
pub mod normalize;
pub mod parse;
pub mod periods;
pub mod pipeline;
pub mod progress;
pub mod range;
pub mod report;
#[cfg(feature = "serve")]
pub mod serve;
pub mod state;
#[cfg(test)]
mod testdata;
pub mod verdict;

use anyhow::Context;
use clap::Parser;
use config::Config;
use pipeline::{AnalyzeError, PipelineOptions};
use report::model::Run;
use report::Report;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// Runs the analysis described by `cfg` and returns the report's view model.
pub fn analyze(cfg: &Config) -> Result<Report, AnalyzeError> {
    let started = Instant::now();
    let progress = progress::Progress::for_terminal(progress::total_size(&cfg.inputs), cfg.quiet)
        .filter(|_| cfg.fleet.state.is_none());
    let opts = pipeline_options(cfg, progress);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build();
    if let Some(dir) = &cfg.fleet.state {
        let run = || incremental::run(cfg, &opts, dir);
        let inputs = match pool {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }?;
        let analysis = combine_saved(cfg, inputs, &opts.agg)?;
        return Ok(finish(cfg, analysis, None, None, started));
    }
    let host = cfg.fleet.host.as_deref();
    let reading = match pool {
        Ok(pool) => pool.install(|| pipeline::read(&cfg.inputs, &opts, host)),
        Err(_) => pipeline::read(&cfg.inputs, &opts, host),
    };
    if let Some(p) = &opts.progress {
        p.finish();
    }
    let reading = reading?;
    let pipeline::Reading {
        inputs,
        range,
        filters,
    } = reading;
    let analysis = combine_saved(cfg, inputs, &opts.agg)?;
    Ok(finish(cfg, analysis, range, filters, started))
}

/// The pipeline's options for `cfg`, with a progress bar or none.
pub(crate) fn pipeline_options(
    cfg: &Config,
    progress: Option<progress::Progress>,
) -> PipelineOptions {
    PipelineOptions {
        prefix: cfg.prefix.clone(),
        format: cfg.format,
        agg: cfg.agg.clone(),
        range: cfg.range.clone(),
        chunk_size: cfg.chunk_size,
        max_entry: cfg.max_entry,
        jobs: cfg.jobs,
        year: cfg.year,
        progress,
    }
}

/// An analysis whose inputs are handed over one at a time, each read to its end (as
/// it arrives, when it is a stream) before the next is opened: `pgferret serve` feeds
/// it the files of an upload. It reads each input as [`analyze`] does and
/// [`Feed::finish`] builds the same report, but for where `--begin`/`--end` are
/// placed (see [`pipeline::Sequence`]). `cfg.inputs` is not read.
pub struct Feed {
    cfg: Config,
    pool: Option<rayon::ThreadPool>,
    inputs: pipeline::Sequence,
    started: Instant,
}

impl Feed {
    /// Nothing read yet.
    pub fn new(cfg: Config) -> Feed {
        let opts = pipeline_options(&cfg, None);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.jobs)
            .build()
            .ok();
        Feed {
            inputs: pipeline::Sequence::new(&opts, cfg.fleet.host.as_deref()),
            cfg,
            pool,
            started: Instant::now(),
        }
    }

    /// Reads `source` to its end.
    pub fn read(&mut self, source: &input::Source) -> Result<(), AnalyzeError> {
        let inputs = &mut self.inputs;
        match &self.pool {
            Some(pool) => pool.install(|| inputs.read(source)),
            None => inputs.read(source),
        }
    }

    /// Takes the options that only shape the report (`--title`, `--tz`, `--top`)
    /// from `cfg`: they may still change once the inputs are being read.
    pub fn report_options(&mut self, cfg: &Config) {
        self.cfg.tz = cfg.tz;
        self.cfg.share = cfg.share.clone();
    }

    /// The report over every input read.
    pub fn finish(self) -> Result<Report, AnalyzeError> {
        let pipeline::Reading {
            inputs,
            range,
            filters,
        } = self.inputs.finish()?;
        let analysis = combine_saved(&self.cfg, inputs, &self.cfg.agg)?;
        Ok(finish(&self.cfg, analysis, range, filters, self.started))
    }
}

/// `pgferret merge`: reads the states saved in `paths` and builds the report over all
/// their inputs, the way [`analyze`] builds it over the inputs it reads.
pub fn merge(cfg: &Config, paths: &[String]) -> Result<Report, AnalyzeError> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build();
    let saved = match pool {
        Ok(pool) => pool.install(|| state::read_all(paths))?,
        Err(_) => state::read_all(paths)?,
    };
    finish_state(cfg, saved, started)
}

/// The report over a state's inputs (read from files by [`merge`], or a period's made
/// by [`periods`]), finished as a run's.
pub(crate) fn finish_state(
    cfg: &Config,
    saved: state::State,
    started: Instant,
) -> Result<Report, AnalyzeError> {
    let given = (cfg.agg.window_ms, cfg.agg.max_fingerprints);
    if given.0.is_some_and(|w| Some(w) != saved.window_ms)
        || given.1.is_some_and(|m| Some(m) != saved.max_fingerprints)
    {
        return Err(AnalyzeError::State(state::StateError::Options {
            path: "pgferret merge".into(),
            what: "--window or --max-fingerprints".into(),
            first:
                "the states, which were aggregated without them: give them to the runs that --save"
                    .into(),
        }));
    }
    let agg = aggregate::AggOptions {
        window_ms: saved.window_ms,
        max_fingerprints: saved.max_fingerprints,
        ..aggregate::AggOptions::default()
    };
    let analysis = combine_saved(cfg, saved.inputs, &agg)?;
    Ok(finish(cfg, analysis, None, None, started))
}

/// Saves the inputs (`--save`), keeps those of `--only-host`, merges them.
fn combine_saved(
    cfg: &Config,
    inputs: Vec<pipeline::ReadInput>,
    agg: &aggregate::AggOptions,
) -> Result<pipeline::Combined, AnalyzeError> {
    let inputs = match &cfg.fleet.save {
        Some(path) => {
            let saved = state::State {
                pgferret: env!("CARGO_PKG_VERSION").to_string(),
                window_ms: agg.window_ms,
                max_fingerprints: agg.max_fingerprints,
                inputs,
            };
            state::write(path, &saved)?;
            saved.inputs
        }
        None => inputs,
    };
    let inputs = match &cfg.fleet.only_host {
        Some(h) => pipeline::only_host(inputs, h)?,
        None => inputs,
    };
    pipeline::combine(inputs, agg)
}

/// The report over merged inputs: every decision about the whole run (time zone,
/// windows, findings, top-N) is taken here, once, for a run and for a merge alike.
fn finish(
    cfg: &Config,
    analysis: pipeline::Combined,
    range: Option<range::Resolved>,
    filters: Option<std::sync::Arc<filter::Filters>>,
    started: Instant,
) -> Report {
    let run = Run {
        version: env!("CARGO_PKG_VERSION").to_string(),
        jobs: cfg.jobs,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let (tz, origin) = match cfg.tz {
        Some(tz) => (tz, "--tz"),
        None => report::tz::DisplayTz::of_log(analysis.clock.as_ref()),
    };
    // The report's views are built in parallel: on `-j` threads, as the reading was,
    // also where no run's pool is around (a merge, a period's report, the server).
    let stats = analysis.stats;
    let build = || Report::build(&analysis.inputs, stats, run, tz);
    let mut report = match rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
    {
        Ok(pool) => pool.install(build),
        Err(_) => build(),
    };
    report.time_zone_origin = origin.to_string();
    report.hosts = report::hosts::views(&analysis.hosts);
    if let Some(r) = &range {
        report.apply_range(r, &analysis.inputs);
    }
    if let Some(f) = &filters {
        report.apply_filters(f, &analysis.inputs);
    }
    report.title = cfg.share.title.clone();
    report.options = cfg.share.options.clone();
    // The filters are options that change what the report holds: the header names them.
    if let Some(f) = &report.filters {
        report.options.extend(f.applied.iter().cloned());
    }
    report.top = cfg.share.top;
    if let Some(mode) = cfg.share.anonymize {
        report::anonymize::apply(&mut report, mode);
    }
    report
}

/// Writes every requested output, each attempted even when another failed; the
/// paths written, and one error per output that could not be. Files are written
/// before stdout, so a reader that stops early (`| head`) loses no file.
pub fn write_outputs(cfg: &Config, report: &Report) -> (Vec<String>, Vec<anyhow::Error>) {
    let (mut written, mut errors) = (Vec::new(), Vec::new());
    let (stdout, files): (Vec<_>, Vec<_>) =
        cfg.outputs.iter().partition(|o| report::is_stdout(&o.path));
    for out in files.into_iter().chain(stdout) {
        match write_output(out, report) {
            Ok(()) => written.push(out.path.clone()),
            Err(e) => errors.push(e),
        }
    }
    (written, errors)
}

fn write_output(out: &config::Output, report: &Report) -> anyhow::Result<()> {
    if report::is_stdout(&out.path) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        report::render(report, out.format, &mut lock)?;
        lock.flush()?;
    } else if out.format == report::Format::Parquet {
        let file = std::fs::File::create(&out.path)
            .with_context(|| format!("cannot write {}", out.path))?;
        #[cfg(feature = "parquet")]
        report::parquet::write(report, file).with_context(|| format!("writing {}", out.path))?;
        #[cfg(not(feature = "parquet"))]
        {
            drop(file);
            anyhow::bail!("this pgferret was built without the `parquet` feature");
        }
    } else {
        let file = std::fs::File::create(&out.path)
            .with_context(|| format!("cannot write {}", out.path))?;
        let mut w = std::io::BufWriter::new(file);
        report::render(report, out.format, &mut w)
            .with_context(|| format!("writing {}", out.path))?;
        w.flush().with_context(|| format!("writing {}", out.path))?;
    }
    Ok(())
}

/// Prints on stderr the report's warnings (what could not be read...) unless the
/// summary printed there says them, and the skipped lines.
fn warn_skipped(report: &Report, summary: bool) {
    for w in report.warnings.iter().filter(|_| !summary) {
        eprintln!("pgferret: warning: {w}");
    }
    for i in &report.inputs {
        for ex in &i.skipped_examples {
            eprintln!("pgferret: warning: skipped line {ex}");
        }
        if i.skipped_lines > i.skipped_examples.len() as u64 {
            eprintln!(
                "pgferret: warning: {}: {} lines skipped in all",
                i.path, i.skipped_lines
            );
        }
        if i.foreign_lines > 0 {
            eprintln!(
                "pgferret: {}: {} lines not from PostgreSQL (the wrapper's own) passed over",
                i.path, i.foreign_lines
            );
        }
        if i.unknown_zone_lines > 0 {
            eprintln!(
                "pgferret: warning: {}: {} lines have a time zone pgferret does not know (an unknown abbreviation, or a syslog header without one); read as UTC",
                i.path, i.unknown_zone_lines
            );
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Exit code: the report was written, but stands for part of what was given.
pub const EXIT_PARTIAL: u8 = 3;

/// Exit code: the report was written and crosses a `--fail-on` threshold.
pub const EXIT_THRESHOLD: u8 = 4;

/// Exit code: the filters kept nothing (the report, written, says so).
pub const EXIT_FILTERED_OUT: u8 = 5;

/// The whole command line program: parses arguments, runs, maps errors to exit codes:
/// 0 everything read; 1 nothing could be read (or a report could not be written);
/// 2 bad arguments; 3 report written, but some input was passed over, unreadable or
/// read in part, more than 1% of an input's lines were skipped, or `--begin`/`--end`
/// kept nothing; 4 report written and a `--fail-on` threshold crossed (4 wins over 3
/// and 5); 5 the filters kept nothing.
pub fn cli_main() -> ExitCode {
    let cli = cli::Cli::parse();
    if let Some(cli::Command::Fingerprint(f)) = cli.command {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let res =
            normalize::write_fingerprints(&f.sql, f.nul, &mut stdin.lock(), &mut stdout.lock());
        return match res {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pgferret: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(cli::Command::Serve(s)) = &cli.command {
        #[cfg(feature = "serve")]
        return serve::main(s);
        #[cfg(not(feature = "serve"))]
        {
            let _ = s;
            eprintln!("pgferret: this pgferret was built without the `serve` feature");
            return ExitCode::from(2);
        }
    }
    if let Some(cli::Command::Diff(d)) = cli.command {
        return run_diff(&d.analyze, &d.before, &d.after);
    }
    if let Some(cli::Command::Merge(m)) = &cli.command {
        return run_merge(&m.analyze);
    }
    if cli.analyze.baseline.is_some() {
        return run_diff(&cli.analyze, &[], &[]);
    }
    let cfg = match Config::from_args(&cli.analyze).and_then(|c| {
        config::check_outputs(&c.outputs)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pgferret: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &cfg.fleet.outdir {
        return run_outdir(&cli.analyze, &cfg, dir);
    }
    match analyze(&cfg) {
        Ok(report) => deliver(&cfg, &report),
        Err(e) => {
            eprintln!("pgferret: {e}");
            ExitCode::from(analyze_exit_code(&e))
        }
    }
}

/// `--outdir DIR`: the run's days split in one pass, written as day, week and month
/// reports with an index ([`periods::outdir`]).
fn run_outdir(args: &cli::AnalyzeArgs, cfg: &Config, dir: &std::path::Path) -> ExitCode {
    if !args.outputs.is_empty() || args.save.is_some() {
        eprintln!("pgferret: --outdir writes its own reports: -o and --save are not taken with it");
        return ExitCode::from(2);
    }
    if cfg.agg.rows {
        eprintln!("pgferret: --outdir does not write a Parquet export");
        return ExitCode::from(2);
    }
    let written = match &cfg.fleet.state {
        Some(state) => periods::write_incremental(cfg, state, dir),
        None => periods::read_days(cfg).map(|days| periods::outdir::write(cfg, dir, days)),
    };
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            eprintln!("pgferret: {e}");
            return ExitCode::from(analyze_exit_code(&e));
        }
    };
    match written {
        Ok(w) => {
            if !cfg.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                for p in &w.reports {
                    eprintln!("report written to {}", p.display());
                }
                eprintln!("index written to {}", dir.join("index.html").display());
            }
            if w.partial {
                eprintln!("pgferret: a report stands for part of its input only");
            }
            // --fail-on applies to each day this run wrote: 4 wins over 3, as in a run.
            for c in &w.crossed {
                eprintln!("pgferret: {c}");
            }
            if !w.crossed.is_empty() {
                return ExitCode::from(EXIT_THRESHOLD);
            }
            if w.partial {
                return ExitCode::from(EXIT_PARTIAL);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pgferret: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// 2 for a bad argument, 1 when nothing could be read (or saved).
fn analyze_exit_code(e: &AnalyzeError) -> u8 {
    match e {
        AnalyzeError::Range(_) | AnalyzeError::NoSuchHost { .. } => 2,
        AnalyzeError::State(s) => s.exit_code(),
        AnalyzeError::StateDir(s) => s.exit_code(),
        _ => 1,
    }
}

/// `pgferret merge STATE...`: the states merged into one report, written as a run's.
fn run_merge(args: &cli::AnalyzeArgs) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("pgferret: {msg}");
        ExitCode::from(2)
    };
    if args.inputs.is_empty() {
        return fail("merge: no state given (write them with --save FILE.pgf)".into());
    }
    if args.state.is_some() {
        return fail("merge: --state reads logs incrementally; merge reads saved states".into());
    }
    if args.begin.is_some() || args.end.is_some() || args.baseline.is_some() {
        return fail(
            "merge: --begin/--end/--baseline apply when the logs are read, not to saved states"
                .into(),
        );
    }
    let cfg = match Config::from_args(args).and_then(|c| {
        config::check_outputs(&c.outputs)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    if cfg.agg.rows {
        return fail("merge: a Parquet export is made from the logs as they are read, not from saved states: give -o FILE.parquet to the runs".into());
    }
    if cfg.agg.filters.is_some() || cfg.fleet.host.is_some() {
        return fail("merge: filters and --host apply when the logs are read (give them to the runs that --save); --only-host picks a host".into());
    }
    match merge(&cfg, &args.inputs) {
        Ok(report) => deliver(&cfg, &report),
        Err(e) => {
            eprintln!("pgferret: {e}");
            ExitCode::from(analyze_exit_code(&e))
        }
    }
}

/// Writes the outputs of a report and says how it went: the exit code of a run.
fn deliver(cfg: &Config, report: &Report) -> ExitCode {
    warn_skipped(report, cfg.summary);
    let (written, errors) = write_outputs(cfg, report);
    let errors: Vec<_> = errors.into_iter().filter(|e| !is_broken_pipe(e)).collect();
    for e in &errors {
        eprintln!("pgferret: {e:#}");
    }
    if cfg.summary {
        let mut err = std::io::stderr();
        let _ = report::text::write_summary(report, &mut err);
    }
    // Where the reports went, for a person at a terminal; a cron job's mail stays quiet.
    if cfg.summary || (!cfg.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())) {
        for path in written.iter().filter(|p| !report::is_stdout(p)) {
            eprintln!("report written to {path}");
        }
    }
    if !errors.is_empty() {
        return ExitCode::from(1);
    }
    let kept_nothing = report.filters.as_ref().is_some_and(|f| f.kept_nothing);
    if kept_nothing {
        eprintln!("pgferret: the filters kept nothing (see the warning above)");
    }
    if report.partial {
        eprintln!(
            "pgferret: the report stands for part of the input only (see the warnings above)"
        );
    }
    // A crossed threshold says more to whoever is paged than a partial input does: 4
    // wins over 3 and 5, whose warnings are on stderr all the same.
    let crossed = diagnose::alerts::evaluate(report, &cfg.fail_on);
    for c in &crossed {
        eprintln!("pgferret: {}", c.message);
    }
    if !crossed.is_empty() {
        return ExitCode::from(EXIT_THRESHOLD);
    }
    if kept_nothing {
        return ExitCode::from(EXIT_FILTERED_OUT);
    }
    if report.partial {
        return ExitCode::from(EXIT_PARTIAL);
    }
    ExitCode::SUCCESS
}

/// `pgferret diff` (and `--baseline`): gets both sides, compares them, writes the
/// outputs (text on stdout by default). Exit 2 for bad arguments or reports that
/// cannot be compared, 1 when a side could not be read, 3 when a side stands for part
/// of its input only.
pub fn run_diff(args: &cli::AnalyzeArgs, before: &[String], after: &[String]) -> ExitCode {
    use compare::sides::{self, SideInput};
    let fail = |msg: String, code: u8| {
        eprintln!("pgferret: {msg}");
        ExitCode::from(code)
    };
    if !args.fail_on.is_empty() {
        return fail(
            "--fail-on applies to a report, not to a comparison".into(),
            2,
        );
    }
    let outputs: Vec<String> = if args.outputs.is_empty() {
        vec!["-".into()]
    } else {
        args.outputs.clone()
    };
    let mut outs = Vec::new();
    for p in &outputs {
        match report::Format::from_path(p) {
            Some(format) => outs.push(config::Output {
                path: p.clone(),
                format,
            }),
            None => return fail(config::ConfigError::OutputFormat(p.clone()).to_string(), 2),
        }
    }
    if let Err(e) = config::check_outputs(&outs) {
        return fail(e.to_string(), 2);
    }
    // Two sides may come from logs in different zones: a diff is shown in UTC unless
    // --tz names a zone.
    let tz: report::tz::DisplayTz = match args.tz.as_deref().unwrap_or("UTC").parse() {
        Ok(t) => t,
        Err(e) => return fail(format!("--tz: {e}"), 2),
    };
    let got = if args.baseline.is_some() {
        if !before.is_empty() || !after.is_empty() {
            return fail(
                "--baseline compares windows of one log: give the log, not --before/--after".into(),
                2,
            );
        }
        if args.inputs.is_empty() {
            return fail("--baseline: no log file given".into(), 2);
        }
        sides::windows(args, &args.inputs)
    } else {
        let plan = match (before.is_empty(), after.is_empty(), args.inputs.as_slice()) {
            (true, true, [b, a]) => (SideInput::of_path(b), SideInput::of_path(a)),
            (false, false, []) => match (logs_or_report(before), logs_or_report(after)) {
                (Ok(b), Ok(a)) => (b, a),
                (Err(e), _) | (_, Err(e)) => return fail(e, 2),
            },
            _ => {
                return fail(
                    "diff needs two sides: BEFORE AFTER (two JSON reports or two logs), --before LOG... --after LOG..., or LOG... --baseline TIME..TIME".into(),
                    2,
                )
            }
        };
        sides::side(args, &plan.0).and_then(|b| Ok((b, sides::side(args, &plan.1)?)))
    };
    let ((b, bo), (a, ao)) = match got {
        Ok(s) => s,
        Err(e) => return fail(e.to_string(), e.exit_code()),
    };
    let partial = b.partial || a.partial;
    let diff = compare::compare((&b, bo), (&a, ao), args.title.clone());
    let top = args.top.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut failed = false;
    for o in &outs {
        let res = if report::is_stdout(&o.path) {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            report::diff::render(&diff, o.format, tz, top, &mut lock)
                .and_then(|()| Ok(lock.flush()?))
        } else {
            std::fs::File::create(&o.path)
                .with_context(|| format!("cannot write {}", o.path))
                .and_then(|f| {
                    let mut w = std::io::BufWriter::new(f);
                    report::diff::render(&diff, o.format, tz, top, &mut w)?;
                    Ok(w.flush()?)
                })
                .with_context(|| format!("writing {}", o.path))
        };
        if let Some(e) = res.err().filter(|e| !is_broken_pipe(e)) {
            eprintln!("pgferret: {e:#}");
            failed = true;
        }
    }
    if failed {
        return ExitCode::from(1);
    }
    if partial {
        eprintln!("pgferret: a side stands for part of its input only (see the warnings)");
        return ExitCode::from(EXIT_PARTIAL);
    }
    ExitCode::SUCCESS
}

/// `--before x.json` is a report; anything else is logs, and a report among several
/// paths is refused (a report is one side on its own).
fn logs_or_report(paths: &[String]) -> Result<compare::sides::SideInput, String> {
    use compare::sides::SideInput;
    match paths {
        [one] => Ok(SideInput::of_path(one)),
        more => match more.iter().find(|p| matches!(SideInput::of_path(p), SideInput::Json(_))) {
            Some(r) => Err(format!(
                "{r} is a JSON report: give it alone as a side (a report cannot be merged with other inputs)"
            )),
            None => Ok(SideInput::Logs(more.to_vec())),
        },
    }
}
