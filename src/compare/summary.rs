//! The comparison in sentences, most important first: the totals, the regressed
//! queries with before → after figures, new and vanished queries, new error kinds,
//! the lock profile. Every sentence carries its numbers.

use super::model::{CountChange, Diff, MsChange, QueryDiff};
use crate::report::text::{human_ms, thousands};

/// Regressed (and new) queries named at most.
const NAMED: usize = 3;
/// Query texts are cut here in sentences.
const SQL_CHARS: usize = 90;

/// The sentences of `d`.
pub fn sentences(d: &Diff) -> Vec<String> {
    let mut s = vec![totals(d)];
    let slower = |q: &&QueryDiff| q.kind == "regressed" || q.past_threshold_ms.is_some();
    let all: Vec<&QueryDiff> = d.queries.iter().filter(slower).collect();
    for q in all.iter().take(NAMED) {
        s.push(match q.past_threshold_ms {
            Some(t) => format!(
                "Regressed past the {} threshold, or new: {}",
                human_ms(t),
                threshold_sentence(q, t)
            ),
            None => format!("Regressed: {}", query_sentence(q)),
        });
    }
    if all.len() > NAMED {
        s.push(format!(
            "{} more queries regressed (see the table).",
            all.len() - NAMED
        ));
    }
    let first = |q: &QueryDiff| q.past_threshold_ms.is_none();
    for (kinds, words) in [
        (&["new"][..], "only in the period after"),
        (
            &["appeared"][..],
            "logged only in the period after (new, or faster than the threshold before)",
        ),
        (&["vanished"][..], "only in the period before"),
        (
            &["disappeared"][..],
            "logged only in the period before (gone, or faster than the threshold after)",
        ),
    ] {
        s.extend(kind_sentence(d, kinds, words, first));
    }
    s.extend(errors(d));
    if d.locks.waits.before + d.locks.waits.after > 0 {
        let mut x = format!(
            "Lock waits: {} ({} waited).",
            counts(&d.locks.waits),
            total_pair(&d.locks.wait_ms)
        );
        if let Some(r) = d.locks.by_relation.first().filter(|r| r.count.change > 0) {
            x.pop();
            x += &format!("; most added on {} ({}).", r.key, counts(&r.count));
        }
        s.push(x);
    }
    s
}

fn totals(d: &Diff) -> String {
    let t = &d.totals;
    format!(
        "Query time {} ({}); statements {}{}.",
        total_pair(&t.total_ms),
        ratio(t.total_ms.ratio),
        counts(&t.statements),
        if d.counts_comparable {
            ""
        } else {
            " (counts may not be comparable: see the warnings)"
        }
    )
}

/// `SELECT ... — mean 0.41 ms → 150 ms (×366), p95 ..., 900 → 1,200 runs, +178 s in total`.
pub fn query_sentence(q: &QueryDiff) -> String {
    format!(
        "{} — mean {} ({}), p95 {}, runs {}, total time {}.",
        short(&q.query),
        opt_pair(&q.mean_ms),
        ratio(q.mean_ms.ratio),
        opt_pair(&q.p95_ms),
        counts(&q.count),
        signed_ms(q.total_ms.change.unwrap_or(0.0))
    )
}

/// `SELECT ... — not logged before (every run faster than 5 ms, if it ran); mean 126 ms
/// now (at least ×25), ...`.
fn threshold_sentence(q: &QueryDiff, t: f64) -> String {
    let m = q.mean_ms.after.unwrap_or(0.0);
    format!(
        "{} — not logged before (every run faster than {}, if it ran); mean {} now (at least ×{:.0}), p95 {}, {} runs logged, total time {}.",
        short(&q.query),
        human_ms(t),
        human_ms(m),
        (m / t).floor(),
        q.p95_ms.after.map_or_else(|| "?".into(), human_ms),
        thousands(q.count.after),
        signed_ms(q.total_ms.change.unwrap_or(0.0))
    )
}

/// How many queries are of `kinds`, and the costliest of those `named` lets through
/// (the ones already named as regressions are not named twice).
fn kind_sentence(
    d: &Diff,
    kinds: &[&str],
    words: &str,
    named: impl Fn(&QueryDiff) -> bool,
) -> Option<String> {
    let v: Vec<&QueryDiff> = d
        .queries
        .iter()
        .filter(|q| kinds.contains(&q.kind))
        .collect();
    if v.is_empty() {
        return None;
    }
    let Some(top) = v
        .iter()
        .find(|q| named(q) && q.total_ms.change.unwrap_or(0.0) != 0.0)
    else {
        return Some(format!(
            "{} {} {words}.",
            thousands(v.len() as u64),
            if v.len() == 1 {
                "query is"
            } else {
                "queries are"
            },
        ));
    };
    let (runs, total) = if matches!(top.kind, "new" | "appeared") {
        (top.count.after, top.total_ms.after)
    } else {
        (top.count.before, top.total_ms.before)
    };
    Some(format!(
        "{} {} {words}; the costliest: {} ({} runs, {}).",
        thousands(v.len() as u64),
        if v.len() == 1 {
            "query is"
        } else {
            "queries are"
        },
        short(&top.query),
        thousands(runs),
        human_ms(total.unwrap_or(0.0))
    ))
}

fn errors(d: &Diff) -> Vec<String> {
    let e = &d.errors;
    if e.errors.before + e.errors.after == 0 {
        return Vec::new();
    }
    let mut s = vec![format!("Errors: {}.", counts(&e.errors))];
    let new: Vec<String> = e
        .by_message
        .iter()
        .filter(|k| k.new)
        .take(NAMED)
        .map(|k| format!("{} ({})", k.key, thousands(k.count.after)))
        .collect();
    if !new.is_empty() {
        s.push(format!("New kinds of error: {}.", new.join("; ")));
    }
    s
}

fn short(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(SQL_CHARS) {
        Some((at, _)) => format!("{}…", &one[..at]),
        None => one,
    }
}

/// `900 → 1,200`.
pub fn counts(c: &CountChange) -> String {
    format!("{} → {}", thousands(c.before), thousands(c.after))
}

/// `0.41 ms → 150 ms`, `?` for an unknown side.
pub fn opt_pair(m: &MsChange) -> String {
    let one = |v: Option<f64>| v.map_or_else(|| "?".to_string(), human_ms);
    format!("{} → {}", one(m.before), one(m.after))
}

/// Total times: `0 → 12 min 53 s` (a zero is just `0`).
pub fn total_pair(m: &MsChange) -> String {
    let one = |v: Option<f64>| match v {
        None => "?".to_string(),
        Some(0.0) => "0".to_string(),
        Some(v) => human_ms(v),
    };
    format!("{} → {}", one(m.before), one(m.after))
}

/// `×366`, `×0.50`, or `new` when there is no ratio.
pub fn ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 10.0 => format!("×{r:.0}"),
        Some(r) => format!("×{r:.2}"),
        None => "no ratio: nothing before".to_string(),
    }
}

/// `+178 s`, `−2.00 ms`.
pub fn signed_ms(v: f64) -> String {
    if v < 0.0 {
        format!("−{}", human_ms(-v))
    } else {
        format!("+{}", human_ms(v))
    }
}
