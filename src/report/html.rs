//! The HTML report: one self-contained file (inline CSS, inline SVG, one small inline
//! script, no network), rendered by askama from `templates/report.html`.
//!
//! askama escapes every value. Three kinds of markup are inserted unescaped, and none
//! carries log text that was not escaped first: the SVG charts of [`super::svg`] (numbers
//! and [`super::svg::esc`]-escaped labels), the highlighted SQL of [`super::sql`] (every
//! piece escaped, only fixed `<span class>` tags added) and the script [`SCRIPT`] (a
//! constant). A Content-Security-Policy allows only that script (by hash) and no network
//! at all, so even a bug in escaping could not run code or fetch anything.
//!
//! The page reads top to bottom as an investigation: what the log is and can tell, what
//! happened (spans out of baseline, DDL), the timeline, the queries that cost most, and
//! each query's detail. Without JavaScript every table is already in its most useful
//! order and the tabs are CSS radio buttons; the script only adds sorting.

use super::model::{QueryView, Report, SampleView};
use super::signals::{self, EventRow, Signals};
use super::sql::{highlight, SHORT};
use super::svg::{self, Axis, Marker, Overlay};
use super::text::{human_bytes, human_ms, thousands};
use crate::diagnose::AnomalySpan;
use askama::Template;
use std::collections::BTreeSet;

/// The page's only script: click a column header to sort a table.
pub const SCRIPT: &str = include_str!("../../templates/report.js");

/// `sha256-<base64>` of [`SCRIPT`], for the Content-Security-Policy. The browser test
/// fails (the script is blocked, the page logs a CSP error) if it does not match.
pub const SCRIPT_SHA256: &str = "sha256-OakrzcWsLYRLuMruhIcLlTJJSLcdt+GHIlJ0nwU4Ndo=";

/// Rows of each top table (`--top` sets it).
const TOP_ROWS: usize = 20;
/// Samples' SQL and parameters are cut here in the page (the JSON has them whole).
const SAMPLE_CHARS: usize = 3000;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    tz: super::tz::DisplayTz,
    csp: String,
    script: &'static str,
    toc: Vec<(&'static str, &'static str)>,
    timeline_svg: String,
    story: Vec<Story>,
    first: super::first::FirstScreen,
    events: Vec<EventRow>,
    tops: Vec<TopTable<'a>>,
    details: Vec<Detail<'a>>,
    hidden_queries: usize,
    /// Where the queries no table lists are, in a sentence.
    rest: String,
    groups: Vec<(&'static str, &'a [super::model::GroupView])>,
    sig: Signals<'a>,
}

/// One top-queries table: the same columns, ordered by a different metric, plus the
/// metric's own column when the common ones do not show it.
struct TopTable<'a> {
    id: &'static str,
    title: &'static str,
    metric: Option<&'static str>,
    rows: Vec<Row<'a>>,
    /// Queries this table could list (`rows` are the first of them).
    of: usize,
}

struct Row<'a> {
    q: &'a QueryView,
    sql: String,
    spark: String,
    /// The metric's (value, display) for the extra column.
    extra: Option<(f64, String)>,
}

/// A span out of baseline, told in words.
struct Story {
    begin: String,
    end: String,
    length: String,
    signals: String,
    busy: String,
    p95: String,
    rate: String,
    /// Lock waits, deadlocks, errors... logged in the span, in words (may be empty).
    seen: String,
    top: Vec<(String, String, String)>,
}

struct Detail<'a> {
    q: &'a QueryView,
    sql: String,
    /// The start of the SQL, for the collapsed detail's one line.
    short: String,
    hist: String,
    spark: String,
    samples: Vec<SampleRow<'a>>,
    /// Lock waits of other statements behind this one (`locks.blockers`).
    caused: u64,
}

struct SampleRow<'a> {
    s: &'a SampleView,
    query: String,
    parameters: Option<String>,
    /// The statement with its parameters inlined, to run with EXPLAIN.
    runnable: Option<String>,
}

mod filters {
    use crate::report::text::{human_ms, thousands};

    pub fn ms(v: &f64) -> askama::Result<String> {
        Ok(human_ms(*v))
    }

    /// Like [`ms`], but a zero (a time below the log's resolution) is just `0`.
    pub fn ms0(v: &f64) -> askama::Result<String> {
        Ok(if *v == 0.0 { "0".into() } else { human_ms(*v) })
    }

    pub fn ms_from_s(v: &f64) -> askama::Result<String> {
        Ok(human_ms(*v * 1000.0))
    }

    pub fn numu(v: &usize) -> askama::Result<String> {
        Ok(thousands(*v as u64))
    }

    pub fn num(v: &u64) -> askama::Result<String> {
        Ok(thousands(*v))
    }

    /// `1 lock wait`, `2 lock waits`.
    pub fn count(v: &u64, one: &str, many: &str) -> askama::Result<String> {
        Ok(format!(
            "{} {}",
            thousands(*v),
            if *v == 1 { one } else { many }
        ))
    }

    pub fn bytes(v: &u64) -> askama::Result<String> {
        Ok(crate::report::text::human_bytes(*v))
    }

    /// `2026-11-24T04:34:31.000Z` → `2026-11-24 04:34:31.000` in the display zone.
    pub fn when(v: &str, tz: &crate::report::tz::DisplayTz) -> askama::Result<String> {
        Ok(tz.show(v))
    }

    pub fn pct(part: &f64, whole: &f64) -> askama::Result<String> {
        Ok(if *whole > 0.0 {
            format!("{:.1}%", part / whole * 100.0)
        } else {
            "–".to_string()
        })
    }
}

/// Milliseconds since the epoch of an RFC 3339 instant.
fn epoch_ms(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &s[..at],
            s[at..].chars().count()
        ),
        None => s.to_string(),
    }
}

fn axis(r: &Report) -> Option<Axis> {
    let first = r.timeline.windows.first()?;
    Some(Axis {
        first_ms: epoch_ms(&first.start)?,
        width_ms: (r.timeline.window_seconds * 1000.0).round() as i64,
        n: r.timeline.windows.len(),
        tz: r.time_zone.parse().unwrap_or_default(),
    })
}

fn stories(r: &Report) -> Vec<Story> {
    r.anomalies.iter().map(|a| story(r, a)).collect()
}

/// The queries that took most of the time of windows `lo..=hi`: (fingerprint,
/// highlighted SQL, time and share), at most three.
fn span_top(r: &Report, lo: usize, hi: usize) -> Vec<(String, String, String)> {
    let span_ms: f64 = r.timeline.windows[lo..=hi].iter().map(|w| w.total_ms).sum();
    let threshold = r.log_facts.inferred_min_duration_ms.unwrap_or(0.0);
    let in_span = |q: &QueryView| -> f64 {
        q.series
            .iter()
            .filter(|p| (lo as u32..=hi as u32).contains(&p.0))
            .map(|p| p.2)
            .sum()
    };
    // Executions in the span and before it: "0 before" in a log with a duration
    // threshold means the query used to be fast enough not to be logged.
    let runs = |q: &QueryView| -> (u64, u64) {
        let (mut during, mut before) = (0, 0);
        for p in &q.series {
            if (lo as u32..=hi as u32).contains(&p.0) {
                during += p.1;
            } else if p.0 < lo as u32 {
                before += p.1;
            }
        }
        (during, before)
    };
    let mut top: Vec<(&QueryView, f64)> = r
        .queries
        .iter()
        .map(|q| (q, in_span(q)))
        .filter(|x| x.1 > 0.0)
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.into_iter()
        .take(3)
        .map(|(q, t)| {
            let share = if span_ms > 0.0 {
                t / span_ms * 100.0
            } else {
                0.0
            };
            let (during, before) = runs(q);
            let why = if before == 0 && threshold > 0.0 {
                format!(" (none slower than {})", human_ms(threshold))
            } else {
                String::new()
            };
            let said = format!(
                "{} ({share:.0}% of the span's query time); {} runs in the span, {} before it{why}",
                human_ms(t),
                thousands(during),
                thousands(before)
            );
            (q.fingerprint.clone(), highlight(&q.query, Some(120)), said)
        })
        .collect()
}

fn story(r: &Report, a: &AnomalySpan) -> Story {
    let width_ms = r.timeline.window_seconds * 1000.0;
    let end_ms = epoch_ms(&a.last_window_start).unwrap_or(0) + width_ms as i64;
    // The p95 baseline means something only when latency is a signal: otherwise most
    // windows with enough statements to have a p95 may be the span's own.
    let p95 = if a.signals.contains(&"latency") {
        let (peak, base) = (human_ms(a.peak_p95_ms), human_ms(a.baseline_p95_ms));
        format!("p95 up to {peak} (baseline {base})")
    } else {
        format!("p95 up to {}", human_ms(a.peak_p95_ms))
    };
    Story {
        begin: a.begin.clone(),
        end: chrono::DateTime::from_timestamp_millis(end_ms)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default(),
        length: human_ms((a.last_window - a.first_window + 1) as f64 * width_ms),
        signals: a.signals.join(" and "),
        busy: format!(
            "{:.2} busy sessions at peak (baseline {:.2})",
            a.peak_busy, a.baseline_busy
        ),
        p95,
        rate: format!(
            "{:.1} statements/s (baseline {:.1})",
            a.span_rate, a.baseline_rate
        ),
        seen: signals::in_span(&r.timeline.windows[a.first_window..=a.last_window]),
        top: span_top(r, a.first_window, a.last_window),
    }
}

/// A few words for a timeline flag: a DDL's command (`DROP INDEX`), else the kind.
fn short_label(kind: &str, what: &str) -> String {
    if kind != "ddl" {
        return kind.to_string();
    }
    let words: Vec<&str> = what
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    let two = ["CREATE", "DROP", "ALTER", "REINDEX", "REFRESH", "COMMENT"];
    match words.as_slice() {
        [a, b] if two.iter().any(|k| k.eq_ignore_ascii_case(a)) => format!("{a} {b}"),
        [a, ..] => a.to_string(),
        [] => kind.to_string(),
    }
}

/// The column a top table adds for its own metric (lock wait, errors, temp bytes...).
#[derive(Clone, Copy)]
struct Metric {
    header: &'static str,
    fmt: fn(f64) -> String,
}

/// The top [`TOP_ROWS`] queries by `key` (queries where it is 0 left out; no table when
/// none is left), with `metric`'s column if given.
fn top_table<'a>(
    r: &'a Report,
    n: usize,
    (id, title): (&'static str, &'static str),
    key: fn(&QueryView) -> f64,
    metric: Option<Metric>,
) -> Option<TopTable<'a>> {
    let mut v: Vec<&QueryView> = r.queries.iter().filter(|q| key(q) > 0.0).collect();
    let of = v.len();
    // Stable: ties keep the model's order (by total time).
    v.sort_by(|a, b| key(b).total_cmp(&key(a)));
    let rows: Vec<Row<'a>> = v
        .into_iter()
        .take(r.top.unwrap_or(TOP_ROWS))
        .map(|q| Row {
            q,
            sql: highlight(&q.query, Some(SHORT)),
            spark: svg::sparkline(&q.series, n, 60, false, (120.0, 22.0)),
            extra: metric.map(|m| (key(q), (m.fmt)(key(q)))),
        })
        .collect();
    (!rows.is_empty()).then_some(TopTable {
        id,
        title,
        of,
        metric: metric.map(|m| m.header),
        rows,
    })
}

fn top_tables(r: &Report, n: usize) -> Vec<TopTable<'_>> {
    [
        top_table(r, n, ("total", "by total time"), |q| q.total_ms, None),
        top_table(r, n, ("count", "by count"), |q| q.count as f64, None),
        top_table(r, n, ("p99", "by p99"), |q| q.p99_ms.unwrap_or(0.0), None),
        top_table(
            r,
            n,
            ("locks", "by lock wait"),
            |q| q.lock_wait_ms,
            Some(Metric {
                header: "Lock wait",
                fmt: human_ms,
            }),
        ),
        top_table(
            r,
            n,
            ("errors", "by errors"),
            |q| q.errors as f64,
            Some(Metric {
                header: "Errors",
                fmt: |v| thousands(v as u64),
            }),
        ),
        top_table(
            r,
            n,
            ("temp", "by temp bytes"),
            |q| q.temp_bytes as f64,
            Some(Metric {
                header: "Temp files",
                fmt: |v| human_bytes(v as u64),
            }),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn details<'a>(
    r: &'a Report,
    tops: &[TopTable<'a>],
    events: &[EventRow],
    linked: &BTreeSet<String>,
    n: usize,
) -> Vec<Detail<'a>> {
    let mut wanted: BTreeSet<&str> = tops
        .iter()
        .flat_map(|t| t.rows.iter().map(|row| row.q.fingerprint.as_str()))
        .collect();
    wanted.extend(events.iter().filter_map(|e| e.fingerprint.as_deref()));
    wanted.extend(linked.iter().map(String::as_str));
    r.queries
        .iter()
        .filter(|q| wanted.contains(q.fingerprint.as_str()))
        .map(|q| Detail {
            q,
            sql: highlight(&q.query, None),
            short: highlight(&q.query, Some(SHORT)),
            hist: svg::histogram(&q.histogram),
            spark: svg::sparkline(&q.series, n, 200, true, (600.0, 48.0)),
            samples: q
                .samples
                .iter()
                .map(|s| SampleRow {
                    s,
                    query: cut(&s.query, SAMPLE_CHARS),
                    parameters: s.parameters.as_deref().map(|p| cut(p, SAMPLE_CHARS)),
                    runnable: s
                        .parameters
                        .as_deref()
                        .and_then(|p| super::replay::inline(&s.query, p))
                        .filter(|x| x.len() <= 4 * SAMPLE_CHARS)
                        .map(|x| match x.trim_end().ends_with(';') {
                            true => x,
                            false => format!("{};", x.trim_end()),
                        }),
                })
                .collect(),
            caused: r
                .locks
                .blockers
                .iter()
                .filter(|b| b.blocking_fingerprint.as_deref() == Some(q.fingerprint.as_str()))
                .map(|b| b.waits)
                .sum(),
        })
        .collect()
}

/// Where the queries a top table leaves out are: in the JSON, which lists every query
/// up to its own limit.
fn rest_sentence(r: &Report) -> String {
    let listed = r.queries.len();
    if listed < super::model::MAX_QUERIES {
        format!("the JSON report lists all {}", thousands(listed as u64))
    } else {
        format!(
            "the JSON report lists the {} that cost most; the others are counted in its totals",
            thousands(listed as u64)
        )
    }
}

/// Renders the report.
pub fn render(r: &Report) -> anyhow::Result<String> {
    let n = r.timeline.windows.len();
    let mut sig = signals::build(r);
    if super::pgbouncer::only_pgbouncer(r.inputs.iter().map(|i| i.format.as_str())) {
        // What the server logs or not cannot be told from the pooler's log.
        sig.notes.clear();
    }
    let events = signals::events(r);
    let timeline_svg = match axis(r) {
        Some(axis) => {
            let overlay = Overlay {
                shade: r
                    .anomalies
                    .iter()
                    .map(|a| (a.first_window, a.last_window))
                    .collect(),
                markers: events
                    .iter()
                    .filter_map(|e| {
                        Some(Marker {
                            at_ms: epoch_ms(&e.when)?,
                            kind: e.kind,
                            label: e.what.chars().take(60).collect(),
                            short: short_label(e.kind, &e.what),
                        })
                    })
                    .collect(),
            };
            let mut panels = signals::panels(r);
            panels.extend(r.pgbouncer.iter().flat_map(|p| p.panels()));
            svg::timeline(&r.timeline.windows, &axis, &overlay, &panels)
        }
        None => String::new(),
    };
    let tops = top_tables(r, n);
    let details = details(r, &tops, &events, &sig.linked(), n);
    let story = stories(r);
    let mut toc = vec![("findings", "Findings"), ("overview", "Overview")];
    if !story.is_empty() || !events.is_empty() {
        toc.push(("story", "What happened"));
    }
    toc.extend([("timeline", "Timeline"), ("top", "Top queries")]);
    if r.pgbouncer.is_some() {
        toc.push(("pgbouncer", "PgBouncer"));
    }
    // Locks, errors and the other signals come before the long per-query details.
    toc.extend(sig.toc());
    toc.push(("queries", "Query details"));
    toc.push(("groups", "Databases, users, applications"));
    let page = Page {
        r,
        tz: r.time_zone.parse().unwrap_or_default(),
        csp: format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_SHA256}'; img-src data:"
        ),
        script: SCRIPT,
        toc,
        timeline_svg,
        story,
        first: super::first::build(r),
        events,
        hidden_queries: r.queries.len() - details.len(),
        rest: rest_sentence(r),
        tops,
        details,
        groups: vec![
            ("Database", &r.databases),
            ("User", &r.users),
            ("Application", &r.applications),
        ],
        sig,
    };
    Ok(page.render()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_says_how_much_is_left() {
        assert_eq!(cut("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(cut("abc", 4), "abc");
    }
}
