//! The report's view model: what every output (JSON, HTML, text) says, as serde structs.
//!
//! Everything here is a pure function of the log; values that depend on the run
//! (version, elapsed time, thread count) live only under [`Report::run`], so two runs
//! over the same log differ only there.

use super::incident::{
    open_sessions, CheckpointsView, DdlView, DeadlocksView, ErrorsView, LocksView, MaintenanceView,
    Sections, ServerEventView, SessionsView, SignalCounts, TempFilesView,
};
use super::tz::DisplayTz;
use crate::aggregate::query::{PlanSample, QueryStats, Sample};
use crate::aggregate::table::Folded;
use crate::aggregate::{GroupTotals, Stats};
use crate::normalize::fingerprint_hex;
use crate::parse::time::rfc3339;
use crate::pipeline::InputResult;
use rayon::prelude::*;
use serde::Serialize;

/// How many queries the report lists at most.
pub const MAX_QUERIES: usize = 1000;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Report {
    pub run: Run,
    /// `--title`.
    pub title: Option<String>,
    /// The server, as its logs name it: the input paths.
    pub server: String,
    /// Each host's totals, when the inputs come from more than one (`--host`, syslog
    /// hostnames, merged states).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<super::hosts::HostView>,
    /// The options that changed what the report holds or shows (`--begin`, `--top`,
    /// `--anonymize`...), as given.
    pub options: Vec<String>,
    /// `--top`: rows of each top table in the HTML and the text summary (the JSON
    /// lists every query).
    #[serde(skip)]
    pub top: Option<usize>,
    /// The version of the fingerprint algorithm ([`crate::normalize::FINGERPRINT_VERSION`]):
    /// fingerprints of different versions cannot be compared.
    pub fingerprint_version: u32,
    /// Some input was passed over, unreadable or read in part, more than 1% of an
    /// input's lines were skipped, or `--begin`/`--end` kept nothing: the report
    /// stands for part of what was given (exit code 3).
    pub partial: bool,
    /// What the report cannot stand for, one sentence each: shown first.
    pub warnings: Vec<String>,
    /// `--begin`/`--end` as placed on the log's clock.
    pub range: Option<super::warnings::RangeView>,
    /// The filters applied (`--db`, `--exclude-time`...) and what they removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<super::filters::FiltersView>,
    /// The zone the HTML and text reports show times in (`--tz`, else the log's own);
    /// JSON times are UTC.
    pub time_zone: String,
    /// Where that zone comes from: `--tz`, `the log's zone`, or why it is UTC.
    pub time_zone_origin: String,
    pub inputs: Vec<InputView>,
    pub span: Span,
    pub totals: Totals,
    pub queries: Vec<QueryView>,
    /// The fingerprints folded into one row past `--max-fingerprints`, when any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded: Option<FoldedView>,
    pub databases: Vec<GroupView>,
    pub users: Vec<GroupView>,
    pub applications: Vec<GroupView>,
    pub timeline: Timeline,
    /// What the log can and cannot tell (settings inferred from what it holds).
    pub log_facts: super::facts::LogFacts,
    /// Spans of the timeline where the numbers leave their baseline.
    pub anomalies: Vec<crate::diagnose::AnomalySpan>,
    /// What the log says happened: incident spans, their causes, regressions, lock
    /// hotspots (see [`crate::diagnose`] for the schema).
    pub findings: Vec<crate::diagnose::Finding>,
    pub locks: LocksView,
    pub deadlocks: DeadlocksView,
    pub errors: ErrorsView,
    pub temp_files: TempFilesView,
    pub checkpoints: CheckpointsView,
    pub maintenance: MaintenanceView,
    pub sessions: SessionsView,
    pub ddl: DdlView,
    /// Start, shutdown, crash, recovery, reload, out of memory.
    pub server_events: Vec<ServerEventView>,
    /// PgBouncer's log, when one was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgbouncer: Option<super::pgbouncer::PgbouncerView>,
    /// Percentiles over every timed execution, for `--fail-on` (not in the JSON).
    #[serde(skip)]
    pub latency: Option<Latency>,
    /// The rows of the Parquet export, when one is asked for (not in the JSON).
    #[serde(skip)]
    pub export: Option<std::sync::Arc<super::parquet::Export>>,
}

/// Facts about this run, not about the log.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Run {
    pub version: String,
    pub jobs: usize,
    pub elapsed_ms: u64,
}

/// One input file.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct InputView {
    pub path: String,
    pub format: String,
    /// gzip, zstd, bzip2, xz or lz4 when the input was compressed.
    pub compression: Option<String>,
    /// The log_line_prefix (stderr only).
    pub prefix: Option<String>,
    pub prefix_inferred: bool,
    pub bytes: u64,
    pub lines: u64,
    pub entries: u64,
    pub skipped_lines: u64,
    /// `file:line: text` of the first skipped lines.
    pub skipped_examples: Vec<String>,
    pub filtered_entries: u64,
    pub unknown_zone_lines: u64,
    /// Further log_line_prefixes inferred for lines the first does not explain.
    pub prefixes_more: Vec<String>,
    /// Entries no prefix explained: counted, their process, user, database and
    /// application unknown.
    pub unattributed_entries: u64,
    /// `read`, `read_with_skips`, `partial`, `passed_over`, `duplicate` or `unreadable`.
    pub verdict: String,
    /// The verdict in a sentence.
    pub verdict_note: String,
    /// Passed over, unreadable, read in part, or more than 1% of its lines skipped.
    pub incomplete: bool,
    /// What else could not be told about this input (a prefix field not identified...).
    pub warnings: Vec<String>,
    /// Lines of a wrapper format that are not PostgreSQL's (Heroku metrics samples,
    /// CloudNativePG's instance manager), passed over.
    #[serde(skip_serializing_if = "is_zero")]
    pub foreign_lines: u64,
    /// The line the first entry longer than `--max-entry` was cut at, and what
    /// became of it (said among the report's warnings as `path:line: ...`).
    #[serde(skip)]
    pub cut: Option<(u64, String)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// First and last timestamps, RFC 3339 UTC.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Span {
    pub begin: Option<String>,
    pub end: Option<String>,
    pub seconds: f64,
    /// Entries dated far from the rest of the log (a clock set wrong): counted in the
    /// totals, left out of the span and the timeline.
    pub outliers: u64,
}

/// Whole-log totals.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Totals {
    /// Executions, timed or not.
    pub statements: u64,
    /// Executions with a duration; `total_ms` is their time.
    pub timed_statements: u64,
    pub total_ms: f64,
    pub fingerprints: u64,
    /// Parse/bind steps of the extended protocol (their time is not in total_ms).
    pub protocol_steps: u64,
    pub protocol_ms: f64,
    pub plans: u64,
    /// Executions without a duration (log_statement alone, or below the threshold).
    pub untimed_statements: u64,
    /// Statements logged by log_statement that failed: not executions.
    pub failed_statements: u64,
    pub orphan_durations: u64,
    pub skipped_lines: u64,
    /// Lock waits, deadlocks, errors, temp files, checkpoints, sessions...
    #[serde(flatten)]
    pub signals: SignalCounts,
}

/// One fingerprint.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct QueryView {
    pub fingerprint: String,
    pub query: String,
    /// Executions, timed or not.
    pub count: u64,
    /// Executions with a duration: the latency figures are over these, and are
    /// `None` (latency unknown) when there are none.
    pub timed: u64,
    pub total_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub query_ids: Vec<i64>,
    /// `still waiting` lock messages whose STATEMENT is this query, and the time waited.
    pub lock_waits: u64,
    pub lock_wait_ms: f64,
    pub max_lock_wait_ms: f64,
    /// Deadlocks this query was the victim of.
    pub deadlocks: u64,
    pub cancellations: u64,
    pub errors: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
    pub samples: Vec<SampleView>,
    /// The slowest auto_explain plans of this query.
    pub plans: Vec<PlanView>,
    /// (upper bound ms, count) per log2 latency bucket.
    pub histogram: Vec<(f64, u64)>,
    /// (timeline window index, executions, total ms, p95 ms) for the windows where it ran.
    pub series: Vec<(u32, u64, f64, f64)>,
}

impl QueryView {
    /// (name, ms) of min, mean, p50, p95, p99 and max; `None` when latency is unknown.
    pub fn latencies(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("min", self.min_ms),
            ("mean", self.mean_ms),
            ("p50", self.p50_ms),
            ("p95", self.p95_ms),
            ("p99", self.p99_ms),
            ("max", self.max_ms),
        ]
    }

    /// Mean, p95, p99 and max, as the query tables show them.
    pub fn table_latencies(&self) -> [Option<f64>; 4] {
        [self.mean_ms, self.p95_ms, self.p99_ms, self.max_ms]
    }
}

/// The fingerprints folded into one "other" row: their counts and totals are exact,
/// their latencies within 1%.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct FoldedView {
    /// `--max-fingerprints`: more fingerprints than this and the ones with the least
    /// total time (then the fewest executions) are folded.
    pub max_fingerprints: u64,
    /// Fingerprint rows folded (one folded, seen again and folded again counts twice).
    pub fingerprints: u64,
    pub count: u64,
    pub timed: u64,
    pub total_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub lock_waits: u64,
    pub lock_wait_ms: f64,
    pub errors: u64,
    pub cancellations: u64,
    pub temp_files: u64,
    pub temp_bytes: u64,
}

impl FoldedView {
    /// What was folded, in a sentence.
    pub fn sentence(&self) -> String {
        format!(
            "More than {} distinct queries: those with the least total time were folded into one \"other\" row ({} rows, {} executions, {:.3} ms in total; --max-fingerprints raises the limit)",
            super::text::thousands(self.max_fingerprints),
            super::text::thousands(self.fingerprints),
            super::text::thousands(self.count),
            self.total_ms
        )
    }

    fn build(f: Folded) -> Option<FoldedView> {
        if f.fingerprints == 0 {
            return None;
        }
        let timed = |v: f64| (f.timed > 0).then_some(v);
        let q = |p: f64| timed(ms(f.hist.as_ref().map_or(0, |h| h.quantile(p))));
        Some(FoldedView {
            max_fingerprints: f.cap,
            fingerprints: f.fingerprints,
            count: f.count,
            timed: f.timed,
            total_ms: ms(f.total_us),
            min_ms: timed(ms(f.min_us)),
            max_ms: timed(ms(f.max_us)),
            mean_ms: timed((f.total_us as f64 / f.timed.max(1) as f64).round() / 1000.0),
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            first_seen: f.first_seen.map(rfc3339),
            last_seen: f.last_seen.map(rfc3339),
            lock_waits: f.signals.lock_waits,
            lock_wait_ms: ms(f.signals.lock_wait_us),
            errors: f.signals.errors,
            cancellations: f.signals.cancellations,
            temp_files: f.signals.temp_files,
            temp_bytes: f.signals.temp_bytes,
        })
    }
}

/// One slow execution.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SampleView {
    pub duration_ms: f64,
    pub timestamp: Option<String>,
    pub query: String,
    pub parameters: Option<String>,
    pub database: String,
    pub user: String,
    pub application: String,
    /// The auto_explain plan of this execution, when the log has it.
    pub plan: Option<String>,
}

/// An auto_explain plan.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PlanView {
    pub duration_ms: f64,
    pub timestamp: Option<String>,
    pub plan: String,
}

/// Totals of one database, user or application.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct GroupView {
    pub name: String,
    pub count: u64,
    pub total_ms: f64,
}

/// Time windows.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct Timeline {
    pub window_seconds: f64,
    pub windows: Vec<WindowView>,
}

/// One window.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct WindowView {
    pub start: String,
    pub statements: u64,
    pub total_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    #[serde(flatten)]
    pub events: SignalCounts,
    /// Sessions open at the window's end (see `sessions.peak_concurrent`).
    pub sessions: Option<i64>,
}

/// A finished window as the findings read it.
fn win(start: i64, a: &crate::aggregate::window::WindowAcc) -> crate::diagnose::Win {
    crate::diagnose::Win {
        start,
        statements: a.statements,
        total_us: a.total_us,
        run_us: a.run_us,
        p95_us: a.hist.quantile(0.95),
        events: a.events,
    }
}

/// Percentiles over every timed execution of every fingerprint (folded ones too).
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(missing_docs)]
pub struct Latency {
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    fn of(queries: &crate::aggregate::table::QueryTable) -> Option<Latency> {
        let mut all = crate::aggregate::hist::LatencyHist::default();
        for (_, q) in queries.iter().filter(|(_, q)| q.timed > 0) {
            all.merge(&q.execs.latencies());
        }
        if let Some(h) = &queries.folded().hist {
            all.merge(h);
        }
        (!all.is_empty()).then(|| {
            let [p95, p99] = all.quantiles([0.95, 0.99]);
            Latency {
                p95_ms: ms(p95),
                p99_ms: ms(p99),
            }
        })
    }
}

/// Microseconds as milliseconds.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Report {
    /// Builds the view model from the analysis.
    pub fn build(inputs: &[InputResult], mut stats: Stats, run: Run, tz: DisplayTz) -> Report {
        // The timeline spans the bulk of the log: entries dated far from it (a clock
        // set wrong) are counted, but would stretch it over years.
        let bulk = std::mem::take(&mut stats.spread).bulk();
        let (first_ts, last_ts) = match bulk {
            Some(b) => (Some(b.begin), Some(b.end)),
            None => (stats.first_ts, stats.last_ts),
        };
        let mut warnings = Vec::new();
        if let Some(b) = bulk.filter(|b| b.outliers > 0) {
            stats.windows.drop_outside(b.fence.0, b.fence.1);
            if let Some(f) = &mut stats.fine {
                f.drop_outside(b.fence.0, b.fence.1);
            }
            warnings.push(super::warnings::outliers(&b));
        }
        let span = Span {
            begin: first_ts.map(rfc3339),
            end: last_ts.map(rfc3339),
            seconds: match (first_ts, last_ts) {
                (Some(b), Some(e)) => (e - b) as f64 / 1000.0,
                _ => 0.0,
            },
            outliers: bulk.map_or(0, |b| b.outliers),
        };
        let skipped_lines = inputs.iter().map(|i| i.stats.skipped_lines).sum();
        let c = stats.incidents.totals;
        let totals = Totals {
            statements: stats.statements,
            timed_statements: stats.statements - stats.untimed_statements,
            total_ms: ms(stats.total_us),
            fingerprints: stats.queries.values().filter(|q| q.count > 0).count() as u64
                + stats.queries.folded().fingerprints,
            protocol_steps: stats.protocol_steps,
            protocol_ms: ms(stats.protocol_us),
            plans: stats.plans,
            untimed_statements: stats.untimed_statements,
            failed_statements: stats.failed_statements,
            orphan_durations: stats.orphan_durations,
            skipped_lines,
            signals: SignalCounts::new(&c),
        };
        let min_us = stats
            .queries
            .values()
            .filter(|q| q.timed > 0)
            .map(|q| q.min_us)
            .chain((stats.queries.folded().timed > 0).then_some(stats.queries.folded().min_us))
            .min();
        let mut series_windows = None;
        let mut n_windows = 0;
        let mut peak = None;
        let mut pooler_windows = Vec::new();
        let mut display: Vec<crate::diagnose::Win> = Vec::new();
        let mut fine: Option<(i64, Vec<crate::diagnose::Win>)> = None;
        let mut display_width = 1000;
        let timeline = match (first_ts, last_ts) {
            (Some(b), Some(e)) => {
                let asked = stats.windows.is_fixed().then(|| stats.windows.width());
                if let Some(f) = stats.fine.take() {
                    let (w, v) = f.finish(b, e);
                    fine = Some((w, v.iter().map(|(s, a)| win(*s, a)).collect()));
                }
                let (width, windows) = stats.windows.finish(b, e);
                display = windows.iter().map(|(s, a)| win(*s, a)).collect();
                display_width = width;
                if let Some(asked) = asked.filter(|&a| a != width) {
                    warnings.push(super::warnings::window_widened(asked, width, e - b));
                }
                series_windows = Some((b.div_euclid(width) * width, width));
                n_windows = windows.len();
                let counts: Vec<_> = windows.iter().map(|(s, w)| (*s, w.events)).collect();
                pooler_windows = windows.iter().map(|(s, w)| (*s, w.pooler)).collect();
                let open = open_sessions(&counts);
                peak = open
                    .iter()
                    .zip(&counts)
                    .filter_map(|(o, (s, _))| o.map(|o| (o, *s)))
                    .fold(None, |best: Option<(i64, i64)>, x| match best {
                        Some(b) if b.0 >= x.0 => Some(b),
                        _ => Some(x),
                    });
                Timeline {
                    window_seconds: width as f64 / 1000.0,
                    windows: windows
                        .into_iter()
                        .zip(open)
                        .map(|((start, w), open)| {
                            let [p50, p95, p99] = w.hist.quantiles([0.50, 0.95, 0.99]);
                            WindowView {
                                events: SignalCounts::new(&w.events),
                                sessions: open,
                                start: rfc3339(start),
                                statements: w.statements,
                                total_ms: ms(w.total_us),
                                p50_ms: ms(p50),
                                p95_ms: ms(p95),
                                p99_ms: ms(p99),
                                max_ms: ms(w.max_us),
                            }
                        })
                        .collect(),
                }
            }
            _ => Timeline {
                window_seconds: 0.0,
                windows: Vec::new(),
            },
        };
        // Listed: queries that ran, or that only failed or waited (signals). Left out:
        // fingerprints seen only in auto_explain plans (nested statements), and
        // statements logged without a duration that never got one and had no signal.
        // By total time; where that ties (statements logged without durations), by count.
        let mut order: Vec<(u64, u64, u64)> = stats
            .queries
            .iter()
            .filter(|(_, q)| q.count > 0 || !q.signals.is_empty())
            .map(|(fp, q)| (q.total_us, q.count, *fp))
            .collect();
        order.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then(a.2.cmp(&b.2)));
        let listed: Vec<u64> = order.into_iter().take(MAX_QUERIES).map(|o| o.2).collect();
        let fine_at = match (&fine, first_ts) {
            (Some((w, _)), Some(b)) => Some((b.div_euclid(*w) * *w, *w)),
            _ => None,
        };
        let latency = Latency::of(&stats.queries);
        let export = stats
            .rows
            .take()
            .map(|rows| std::sync::Arc::new(super::parquet::Export::new(rows, &stats.queries)));
        let (mut map, mut series, folded, fine_series) =
            stats.queries.into_parts(&listed, series_windows, fine_at);
        // Entries after the bulk (outliers) have no window.
        for cells in series.values_mut() {
            cells.retain(|c| (c.0 as usize) < n_windows);
        }
        let threshold_ms = super::facts::inferred_threshold(&totals, min_us);
        let (fine_width, fine_windows, fine_series) = match &fine {
            Some((w, v)) => (*w, v.as_slice(), &fine_series),
            None => (display_width, display.as_slice(), &series),
        };
        let clock = |t: i64| tz.format_ms(t, "%H:%M:%S");
        let diagnosis = crate::diagnose::diagnose(&crate::diagnose::Inputs {
            fine: fine_windows,
            fine_width,
            display: &display,
            display_width,
            series: fine_series,
            queries: &map,
            incidents: &stats.incidents,
            threshold_ms,
            log: (first_ts.unwrap_or(0), last_ts.unwrap_or(0)),
            clock: &clock,
        });
        let sections = Sections::build(stats.incidents, &map, peak);
        // Each query's view built on any thread (histograms and series read), in order.
        let listed: Vec<_> = listed
            .iter()
            .filter_map(|fp| map.remove(fp).map(|q| (*fp, q, series.remove(fp))))
            .collect();
        let queries: Vec<QueryView> = listed
            .into_par_iter()
            .map(|(fp, q, cells)| super::series::with_series(query_view(fp, *q), cells))
            .collect();
        drop(map);
        // csvlog and jsonlog carry every field; only prefixes can leave some out.
        let prefixes: Vec<&str> = inputs.iter().filter_map(|i| i.prefix.as_deref()).collect();
        let filtered = inputs
            .iter()
            .any(|i| i.stats.filtered_entries > 0 || i.stats.filter.removed > 0);
        let mut log_facts = super::facts::infer(&totals, &queries, min_us, &prefixes, filtered);
        if super::pgbouncer::only_pgbouncer(inputs.iter().map(|i| i.format)) {
            log_facts.notes = vec![super::pgbouncer::ONLY_NOTE.to_string()];
        }
        let input_views: Vec<InputView> = inputs.iter().map(input_view).collect();
        let folded = FoldedView::build(folded);
        let mut warnings_all = super::warnings::of_inputs(&input_views);
        warnings_all.extend(warnings);
        warnings_all.extend(folded.as_ref().map(FoldedView::sentence));
        Report {
            run,
            title: None,
            server: server_of(&input_views),
            hosts: Vec::new(),
            options: Vec::new(),
            top: None,
            fingerprint_version: crate::normalize::FINGERPRINT_VERSION,
            partial: input_views.iter().any(|i| i.incomplete),
            warnings: warnings_all,
            range: None,
            filters: None,
            time_zone: tz.to_string(),
            time_zone_origin: String::new(),
            inputs: input_views,
            span,
            totals,
            queries,
            folded,
            databases: groups(stats.by_database),
            users: groups(stats.by_user),
            applications: groups(stats.by_application),
            timeline,
            log_facts,
            anomalies: diagnosis.anomalies,
            findings: diagnosis.findings,
            locks: sections.locks,
            deadlocks: sections.deadlocks,
            errors: sections.errors,
            temp_files: sections.temp_files,
            checkpoints: sections.checkpoints,
            maintenance: sections.maintenance,
            sessions: sections.sessions,
            ddl: sections.ddl,
            server_events: sections.server,
            pgbouncer: super::pgbouncer::PgbouncerView::build(stats.pgbouncer, &pooler_windows),
            latency,
            export,
        }
    }
}

/// The server as its logs name it: the input path, or the first and how many more.
pub fn server_of(inputs: &[InputView]) -> String {
    match inputs {
        [] => String::new(),
        [one] => one.path.clone(),
        [first, more @ ..] => format!("{} and {} more", first.path, more.len()),
    }
}

fn input_view(i: &InputResult) -> InputView {
    let (verdict, verdict_note, incomplete) = super::warnings::verdict_fields(i);
    InputView {
        verdict,
        verdict_note,
        incomplete,
        path: i.name.clone(),
        format: i.format.to_string(),
        compression: i.compression.map(str::to_string),
        prefix: i.prefix.clone(),
        prefix_inferred: i.prefix_inferred,
        bytes: i.bytes,
        lines: i.stats.lines,
        entries: i.stats.entries,
        skipped_lines: i.stats.skipped_lines,
        skipped_examples: i
            .stats
            .skipped_examples
            .iter()
            .map(|(line, text)| format!("{}:{line}: {text}", i.name))
            .collect(),
        filtered_entries: i.stats.filtered_entries,
        unknown_zone_lines: i.stats.unknown_zone_lines,
        prefixes_more: i.prefixes_more.clone(),
        unattributed_entries: i.stats.unattributed_entries,
        warnings: input_warnings(i),
        foreign_lines: i.stats.foreign_lines,
        cut: cut_sentence(&i.stats),
    }
}

/// The inference's notes, and the entries no prefix explained.
fn input_warnings(i: &InputResult) -> Vec<String> {
    let mut w = i.warnings.clone();
    let n = i.stats.unattributed_entries;
    if n > 0 {
        w.push(format!(
            "{n} entr{} matched no log_line_prefix: read from the severity on and counted, with process, user, database and application unknown",
            if n == 1 { "y" } else { "ies" }
        ));
    }
    w
}

/// What became of entries longer than `--max-entry`, if any was.
pub fn cut_sentence(s: &crate::aggregate::InputStats) -> Option<(u64, String)> {
    let c = s.cut;
    let line = c.first_line?;
    let more = match c.entries {
        1 => String::new(),
        n => format!(" ({} such entries in all)", super::text::thousands(n)),
    };
    let sentence = format!(
        "an entry longer than --max-entry was cut there; the {} bytes after the cut were passed over, their lines counted as skipped{more}",
        super::text::thousands(c.bytes)
    );
    Some((line, sentence))
}

fn query_view(fp: u64, q: QueryStats) -> QueryView {
    let timed = |v: f64| (q.timed > 0).then_some(v);
    let hist = q.execs.latencies();
    let [p50, p95, p99] = hist.quantiles([0.50, 0.95, 0.99]);
    QueryView {
        fingerprint: fingerprint_hex(fp),
        count: q.count,
        timed: q.timed,
        total_ms: ms(q.total_us),
        min_ms: timed(ms(q.min_us)),
        max_ms: timed(ms(q.max_us)),
        mean_ms: timed((q.total_us as f64 / q.timed.max(1) as f64).round() / 1000.0),
        p50_ms: timed(ms(p50)),
        p95_ms: timed(ms(p95)),
        p99_ms: timed(ms(p99)),
        first_seen: q.first_seen.map(rfc3339),
        last_seen: q.last_seen.map(rfc3339),
        query_ids: q.query_ids.into_iter().collect(),
        lock_waits: q.signals.lock_waits,
        lock_wait_ms: ms(q.signals.lock_wait_us),
        max_lock_wait_ms: ms(q.signals.max_lock_wait_us),
        deadlocks: q.signals.deadlocks,
        cancellations: q.signals.cancellations,
        errors: q.signals.errors,
        temp_files: q.signals.temp_files,
        temp_bytes: q.signals.temp_bytes,
        histogram: hist
            .log2_buckets()
            .into_iter()
            .map(|(v, c)| (ms(v), c))
            .collect(),
        plans: q
            .plans
            .iter()
            .map(|p| PlanView {
                duration_ms: ms(p.duration_us),
                timestamp: p.ts.map(rfc3339),
                plan: p.plan.clone(),
            })
            .collect(),
        samples: q
            .samples
            .into_iter()
            .map(|s| SampleView {
                plan: plan_of(&q.plans, &s),
                duration_ms: ms(s.duration_us),
                timestamp: s.ts.map(rfc3339),
                query: s.query,
                parameters: s.parameters,
                database: s.database,
                user: s.user,
                application: s.application,
            })
            .collect(),
        series: Vec::new(),
        query: q.text,
    }
}

/// The plan auto_explain logged for sample `s`: the latest plan of the same process
/// logged before it (the plan is written when the executor ends, before the
/// statement's duration line), no slower than the statement.
fn plan_of(plans: &[PlanSample], s: &Sample) -> Option<String> {
    plans
        .iter()
        .filter(|p| {
            p.pid.is_some() && p.pid == s.pid && p.order < s.order && p.duration_us <= s.duration_us
        })
        .max_by_key(|p| p.order)
        .map(|p| p.plan.clone())
}

fn groups(map: rustc_hash::FxHashMap<Box<[u8]>, GroupTotals>) -> Vec<GroupView> {
    let mut v: Vec<GroupView> = map
        .into_iter()
        .map(|(k, g)| GroupView {
            name: String::from_utf8_lossy(&k).into_owned(),
            count: g.count,
            total_ms: ms(g.total_us),
        })
        .collect();
    v.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| a.name.cmp(&b.name))
    });
    v
}
