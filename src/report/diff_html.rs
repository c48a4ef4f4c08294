//! The comparison as one self-contained HTML page (`templates/diff.html`): the house
//! style sheet inline, no script, no network (a Content-Security-Policy forbids both).
//!
//! askama escapes every value; the only markup inserted unescaped is the highlighted
//! SQL of [`super::sql::highlight`], whose every piece is escaped first. The page reads
//! top to bottom: what cannot be compared, what changed in sentences, the two sides,
//! then the queries, errors and locks, each table already in order of impact.

use super::diff::{count_pair, kind_words, ms_pair, ratio, side_figures, side_source, side_span};
use super::sql::highlight;
use super::text::thousands;
use super::tz::DisplayTz;
use crate::compare::model::{CountChange, Diff, KeyChange, MsChange, QueryDiff};
use askama::Template;

/// Rows of the query table (`--top` sets it).
const HTML_ROWS: usize = 50;
/// Rows of each error and lock table.
const KEY_ROWS: usize = 30;
/// SQL is cut here in the table.
const SQL_CHARS: usize = 160;

#[derive(Template)]
#[template(path = "diff.html")]
struct Page<'a> {
    d: &'a Diff,
    tz: DisplayTz,
    csp: &'static str,
    toc: Vec<(&'static str, &'static str)>,
    cards: Vec<(String, String)>,
    sides: Vec<SideRow>,
    rows: Vec<QRow<'a>>,
    keys: Vec<KeyTable>,
}

struct SideRow {
    label: &'static str,
    source: String,
    span: String,
    figures: String,
}

struct QRow<'a> {
    q: &'a QueryDiff,
    sql: String,
    kind: &'static str,
    cls: &'static str,
    delta: String,
    total: String,
    count: String,
    mean: String,
    mean_ratio: String,
    p95: String,
    p95_ratio: String,
}

struct KeyTable {
    id: &'static str,
    title: &'static str,
    key: &'static str,
    total: String,
    waits: bool,
    rows: Vec<KRow>,
}

struct KRow {
    key: String,
    pair: String,
    change: String,
    cls: &'static str,
    waited: String,
    tag: &'static str,
}

mod filters {
    pub fn numu(v: usize) -> askama::Result<String> {
        Ok(crate::report::text::thousands(v as u64))
    }
}

/// No script, no network, inline style only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Renders the page; `top` rows of the query table (default [`HTML_ROWS`]).
pub fn render(d: &Diff, tz: DisplayTz, top: Option<usize>) -> anyhow::Result<String> {
    let page = Page {
        d,
        tz,
        csp: CSP,
        toc: vec![
            ("changed", "What changed"),
            ("queries", "Queries"),
            ("sqlstate", "Errors"),
            ("locks", "Locks"),
        ],
        cards: cards(d),
        sides: [&d.before, &d.after]
            .into_iter()
            .map(|s| SideRow {
                label: s.label,
                source: side_source(s),
                span: side_span(s, tz),
                figures: side_figures(s),
            })
            .collect(),
        rows: d
            .queries
            .iter()
            .take(top.unwrap_or(HTML_ROWS))
            .map(qrow)
            .collect(),
        keys: key_tables(d),
    };
    Ok(page.render()?)
}

fn cards(d: &Diff) -> Vec<(String, String)> {
    let t = &d.totals;
    let c = |v: &CountChange| format!("{} → {}", thousands(v.before), thousands(v.after));
    vec![
        (
            ms_pair(&t.total_ms),
            format!("query time ({})", ratio(t.total_ms.ratio)),
        ),
        (c(&t.statements), "statements".into()),
        (
            format!("{} / {}", t.new_fingerprints, t.vanished_fingerprints),
            "new / vanished queries".into(),
        ),
        (c(&t.errors), "errors".into()),
        (c(&t.lock_waits), "lock waits".into()),
        (c(&t.deadlocks), "deadlocks".into()),
    ]
}

fn up_down(change: f64, regressed: bool) -> &'static str {
    match () {
        _ if regressed || change > 0.0 => "up",
        _ if change < 0.0 => "down",
        _ => "",
    }
}

fn qrow(q: &QueryDiff) -> QRow<'_> {
    let cls = match q.kind {
        _ if q.past_threshold_ms.is_some() => "up",
        "regressed" | "new" => "up",
        "improved" | "vanished" => "down",
        _ => "",
    };
    QRow {
        q,
        sql: highlight(&q.query, Some(SQL_CHARS)),
        kind: kind_words(q),
        cls,
        delta: super::diff::signed_ms(q.total_ms.change),
        total: super::diff::total_pair(&q.total_ms),
        count: format!(
            "{} → {}",
            thousands(q.count.before),
            thousands(q.count.after)
        ),
        mean: ms_pair(&q.mean_ms),
        mean_ratio: super::diff::mean_ratio(q),
        p95: ms_pair(&q.p95_ms),
        p95_ratio: ratio(q.p95_ms.ratio),
    }
}

fn krow(k: &KeyChange) -> KRow {
    KRow {
        key: k.key.clone(),
        pair: format!(
            "{} → {}",
            thousands(k.count.before),
            thousands(k.count.after)
        ),
        change: count_pair(&k.count)
            .rsplit_once(" (")
            .map(|(_, c)| c.trim_end_matches(')').to_string())
            .unwrap_or_default(),
        cls: up_down(k.count.change as f64, false),
        waited: k.wait_ms.as_ref().map(wait_pair).unwrap_or_default(),
        tag: if k.new {
            "new"
        } else if k.vanished {
            "vanished"
        } else {
            ""
        },
    }
}

fn wait_pair(m: &MsChange) -> String {
    super::diff::total_pair(m)
}

fn key_tables(d: &Diff) -> Vec<KeyTable> {
    let table = |id, title, key, total: String, waits, v: &[KeyChange]| KeyTable {
        id,
        title,
        key,
        total,
        waits,
        rows: v.iter().take(KEY_ROWS).map(krow).collect(),
    };
    let e = &d.errors;
    let l = &d.locks;
    vec![
        table(
            "sqlstate",
            "Errors by SQLSTATE",
            "SQLSTATE",
            format!("{} errors in all", count_pair(&e.errors)),
            false,
            &e.by_sqlstate,
        ),
        table(
            "messages",
            "Errors by kind",
            "Severity, SQLSTATE, message",
            String::new(),
            false,
            &e.by_message,
        ),
        table(
            "locks",
            "Lock waits by relation",
            "Relation: mode on object",
            format!(
                "{} waits in all, {} waited",
                count_pair(&l.waits),
                wait_pair(&l.wait_ms)
            ),
            true,
            &l.by_relation,
        ),
    ]
}
