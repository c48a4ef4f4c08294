//! Lock hotspots: the relations sessions waited on most, with the statements that held
//! them.
//!
//! A wait whose CONTEXT names no table is logged with the relation's OID. It is named
//! when every statement that waited on it touches one and the same table (a
//! `RowExclusiveLock` on `relation 16428` waited for by `INSERT INTO orders` is on
//! `orders`), and said to be inferred. The blockers of a hotspot are those of the
//! statements that waited on it; a blocker is a DDL when its text is one.

use super::relations::tables;
use super::{Confidence, Detail, Finding, Inputs, Span};
use crate::aggregate::incident::LockAgg;
use crate::normalize::fingerprint_hex;
use crate::parse::time::rfc3339;
use serde::Serialize;
use std::collections::BTreeMap;

/// Hotspots reported.
const MAX: usize = 3;
/// Blockers listed per hotspot.
const MAX_BLOCKERS: usize = 3;
/// Share of the waits inside an incident that ties a hotspot to it.
const IN_SPAN: f64 = 0.8;

/// A statement that held a lock others waited for.
#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    /// Normalized text, or `None` when the log does not have it.
    pub query: Option<String>,
    /// 16 hex digits.
    pub fingerprint: Option<String>,
    /// The holder's statement is a DDL or maintenance command.
    pub is_ddl: bool,
    /// Waits it caused.
    pub count: u64,
}

/// The fields of a `lock_hotspot` finding.
#[derive(Debug, Clone, Serialize)]
pub struct HotspotDetail {
    /// The table, or `relation OID` when it cannot be named.
    pub relation: String,
    /// The name was inferred from the waiting statements' tables.
    pub relation_inferred: bool,
    /// The lock mode waited for.
    pub mode: String,
    /// What is locked: `relation`, `transaction` (a row lock), `tuple`...
    pub object: String,
    /// `still waiting` messages.
    pub waits: u64,
    /// Time waited, ms.
    pub wait_ms: f64,
    /// Most frequent holders first.
    pub blockers: Vec<Blocker>,
}

/// The name of a lock's relation: from CONTEXT, else from its waiters' tables.
fn name(inp: &Inputs<'_>, l: &LockAgg) -> (String, bool) {
    let rel = String::from_utf8_lossy(&l.relation).into_owned();
    if l.named {
        return (rel, false);
    }
    let mut common: Option<Vec<String>> = None;
    for fp in l.waiters.keys() {
        let t = inp
            .queries
            .get(fp)
            .map(|q| tables(&q.text))
            .unwrap_or_default();
        common = Some(match common {
            None => t,
            Some(c) => c.into_iter().filter(|x| t.contains(x)).collect(),
        });
    }
    match common {
        Some(c) if c.len() == 1 && l.object.as_ref() == b"relation" => (c[0].clone(), true),
        _ if rel.is_empty() => (String::from("(unnamed)"), false),
        _ => (format!("relation {rel}"), false),
    }
}

fn is_ddl(text: &str) -> bool {
    crate::events::ddl_command(text.as_bytes()).is_some()
}

fn blockers(inp: &Inputs<'_>, l: &LockAgg) -> Vec<Blocker> {
    let mut by: BTreeMap<Option<u64>, u64> = BTreeMap::new();
    for ((waiter, holder, _), n) in &inp.incidents.blockers {
        if waiter.is_some_and(|w| l.waiters.contains_key(&w)) {
            *by.entry(*holder).or_default() += n;
        }
    }
    let mut v: Vec<Blocker> = by
        .into_iter()
        .map(|(h, count)| {
            let text = h.and_then(|h| inp.queries.get(&h)).map(|q| q.text.clone());
            Blocker {
                is_ddl: text.as_deref().is_some_and(is_ddl),
                query: text,
                fingerprint: h.map(fingerprint_hex),
                count,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    v.truncate(MAX_BLOCKERS);
    v
}

/// Relations of the top hotspots, for causes on the hot tables.
pub fn hot_tables(inp: &Inputs<'_>) -> Vec<String> {
    ranked(inp)
        .into_iter()
        .map(|l| super::relations::key(&name(inp, l).0))
        .collect()
}

fn ranked<'a>(inp: &Inputs<'a>) -> Vec<&'a LockAgg> {
    let mut v: Vec<&LockAgg> = inp
        .incidents
        .locks
        .values()
        .filter(|l| l.waits > 0)
        .collect();
    v.sort_by(|a, b| {
        (b.wait_us, b.waits)
            .cmp(&(a.wait_us, a.waits))
            .then((&a.relation, &a.mode, &a.object).cmp(&(&b.relation, &b.mode, &b.object)))
    });
    v.truncate(MAX);
    v
}

/// The incident most of the log's lock waits fall in, if any.
fn incident_of(inp: &Inputs<'_>, spans: &[Span]) -> Option<(usize, Span)> {
    let all: u64 = inp.display.iter().map(|w| w.events.lock_waits).sum();
    spans.iter().enumerate().find_map(|(i, s)| {
        let inside: u64 = inp
            .display
            .iter()
            .filter(|w| w.start + inp.display_width > s.at && w.start < s.until)
            .map(|w| w.events.lock_waits)
            .sum();
        (all > 0 && inside as f64 >= IN_SPAN * all as f64).then_some((i + 1, *s))
    })
}

/// The lock hotspot findings.
pub fn hotspots(inp: &Inputs<'_>, spans: &[Span]) -> Vec<Finding> {
    let inc = incident_of(inp, spans);
    ranked(inp)
        .into_iter()
        .map(|l| {
            let (relation, inferred) = name(inp, l);
            let d = HotspotDetail {
                relation,
                relation_inferred: inferred,
                mode: String::from_utf8_lossy(&l.mode).into_owned(),
                object: String::from_utf8_lossy(&l.object).into_owned(),
                waits: l.waits,
                wait_ms: l.wait_us as f64 / 1000.0,
                blockers: blockers(inp, l),
            };
            finding(inp, inc, d)
        })
        .collect()
}

fn finding(inp: &Inputs<'_>, inc: Option<(usize, Span)>, d: HotspotDetail) -> Finding {
    let mut sentence = format!(
        "{} waits for {} on {}{} ({} waited in all)",
        d.waits,
        d.mode,
        d.relation,
        if d.object == "relation" {
            String::new()
        } else {
            format!(" ({} lock)", d.object)
        },
        super::ms_text(d.wait_ms)
    );
    let mut evidence = vec![format!(
        "{} `still waiting` messages, {:.3} ms waited",
        d.waits, d.wait_ms
    )];
    if d.relation_inferred {
        evidence.push(format!(
            "the lock names an OID; every statement that waited on it touches {}",
            d.relation
        ));
    }
    match d.blockers.first() {
        Some(b) => {
            let what = b
                .query
                .as_deref()
                .map_or("a session whose statement is not in the log".into(), |q| {
                    super::short(q, 80)
                });
            sentence.push_str(&format!(
                "; top blocker{}: {what} ({} waits).",
                if b.is_ddl { " (a DDL)" } else { "" },
                b.count
            ));
            for b in &d.blockers {
                evidence.push(format!(
                    "blocked {} waits: {}",
                    b.count,
                    b.query.as_deref().unwrap_or("(statement not in the log)")
                ));
            }
        }
        None => sentence.push('.'),
    }
    let _ = inp;
    Finding {
        kind: "lock_hotspot",
        incident: inc.map(|i| i.0),
        at: inc.map(|i| rfc3339(i.1.at)),
        confidence: if d.relation.starts_with("relation ") {
            Confidence::Medium
        } else {
            Confidence::High
        },
        sentence,
        evidence,
        detail: Detail::LockHotspot(d),
    }
}
