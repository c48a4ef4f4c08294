//! Lock hotspots: the relations sessions waited on most, with the statements that held
//! them.
//!
//! A wait whose CONTEXT names no table is logged with the relation's OID. It is named
//! when every statement that waited on it touches one and the same table (a
//! `RowExclusiveLock` on `relation 16428` waited for by `INSERT INTO orders` is on
//! `orders`), and said to be inferred. The blockers of a hotspot are those of the
//! statements that waited on it; a blocker is a DDL when its text is one.

use super::relations::{ddl_target, key, tables};
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
    /// The lock mode waited for most (by time).
    pub mode: String,
    /// What is locked: `relation`, `transaction` (a row lock), `tuple`...
    pub object: String,
    /// `still waiting` messages.
    pub waits: u64,
    /// Time waited, ms.
    pub wait_ms: f64,
    /// Most frequent holders first.
    pub blockers: Vec<Blocker>,
    /// Every mode waited for on it, most time first (`mode` and `object` are the first).
    pub modes: Vec<ModeWaits>,
}

/// Tables a waiting statement touches: read from a query, or a DDL's target.
fn waiter_tables(inp: &Inputs<'_>, fp: u64) -> Vec<String> {
    let Some(q) = inp.queries.get(&fp) else {
        return Vec::new();
    };
    let mut t = tables(&q.text);
    if let Some(d) = ddl_target(&q.text, &Default::default()).table {
        if !t.contains(&d) {
            t.push(d);
        }
    }
    t
}

/// The table every statement that waited on `l` touches, if one.
fn common_table(inp: &Inputs<'_>, l: &LockAgg) -> Option<String> {
    let mut common: Option<Vec<String>> = None;
    for fp in l.waiters.keys() {
        let t = waiter_tables(inp, *fp);
        common = Some(match common {
            None => t,
            Some(c) => c.into_iter().filter(|x| t.contains(x)).collect(),
        });
    }
    common.filter(|c| c.len() == 1).map(|mut c| c.remove(0))
}

/// Each lock's relation name, and whether it was inferred: from CONTEXT, else the
/// table its waiters share on a relation or tuple lock, else another lock on the same
/// OID that could be named.
fn names<'a>(inp: &Inputs<'a>) -> Vec<(&'a LockAgg, String, bool)> {
    let mut locks: Vec<&LockAgg> = inp
        .incidents
        .locks
        .values()
        .filter(|l| l.waits > 0)
        .collect();
    locks.sort_by(|a, b| (&a.relation, &a.mode, &a.object).cmp(&(&b.relation, &b.mode, &b.object)));
    let mut by_oid: BTreeMap<&[u8], String> = BTreeMap::new();
    let direct: Vec<Option<String>> = locks
        .iter()
        .map(|l| {
            let on_rel = matches!(l.object.as_ref(), b"relation" | b"tuple");
            let t = (!l.named && on_rel && !l.relation.is_empty())
                .then(|| common_table(inp, l))
                .flatten();
            if let Some(t) = &t {
                by_oid.entry(&l.relation).or_insert_with(|| t.clone());
            }
            t
        })
        .collect();
    locks
        .into_iter()
        .zip(direct)
        .map(|(l, t)| {
            let rel = String::from_utf8_lossy(&l.relation).into_owned();
            if l.named {
                return (l, key(&rel), false);
            }
            match t.or_else(|| by_oid.get(l.relation.as_ref()).cloned()) {
                Some(t) => (l, t, true),
                None if rel.is_empty() => (l, String::from("(unnamed)"), false),
                None => (l, format!("relation {rel}"), false),
            }
        })
        .collect()
}

fn is_ddl(text: &str) -> bool {
    crate::events::ddl_command(text.as_bytes()).is_some()
}

fn blockers(inp: &Inputs<'_>, waiters: &BTreeMap<u64, u64>) -> Vec<Blocker> {
    let mut by: BTreeMap<Option<u64>, u64> = BTreeMap::new();
    for ((waiter, holder, _), n) in &inp.incidents.blockers {
        if waiter.is_some_and(|w| waiters.contains_key(&w)) {
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

/// Waits on one relation, all modes.
struct Group {
    relation: String,
    inferred: bool,
    waits: u64,
    wait_us: u64,
    modes: Vec<ModeWaits>,
    waiters: BTreeMap<u64, u64>,
}

/// Waits on a relation in one mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeWaits {
    #[allow(missing_docs)]
    pub mode: String,
    /// `relation`, `transaction`, `tuple`...
    pub object: String,
    #[allow(missing_docs)]
    pub waits: u64,
    #[allow(missing_docs)]
    pub wait_ms: f64,
}

/// The relations waited on most, by time waited.
fn ranked(inp: &Inputs<'_>) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (l, name, inferred) in names(inp) {
        let g = groups.entry(name.clone()).or_insert_with(|| Group {
            relation: name,
            inferred,
            waits: 0,
            wait_us: 0,
            modes: Vec::new(),
            waiters: BTreeMap::new(),
        });
        g.inferred &= inferred;
        g.waits += l.waits;
        g.wait_us = g.wait_us.saturating_add(l.wait_us);
        g.modes.push(ModeWaits {
            mode: String::from_utf8_lossy(&l.mode).into_owned(),
            object: String::from_utf8_lossy(&l.object).into_owned(),
            waits: l.waits,
            wait_ms: l.wait_us as f64 / 1000.0,
        });
        for (fp, n) in &l.waiters {
            *g.waiters.entry(*fp).or_default() += n;
        }
    }
    let mut v: Vec<Group> = groups.into_values().collect();
    for g in &mut v {
        g.modes.sort_by(|a, b| {
            b.wait_ms
                .total_cmp(&a.wait_ms)
                .then(b.waits.cmp(&a.waits))
                .then(a.mode.cmp(&b.mode))
        });
    }
    v.sort_by(|a, b| {
        (b.wait_us, b.waits)
            .cmp(&(a.wait_us, a.waits))
            .then(a.relation.cmp(&b.relation))
    });
    v.truncate(MAX);
    v
}

/// Relations of the top hotspots, for causes on the hot tables.
pub fn hot_tables(inp: &Inputs<'_>) -> Vec<String> {
    ranked(inp).into_iter().map(|g| key(&g.relation)).collect()
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
        .map(|g| {
            let top = g.modes.first().cloned();
            let d = HotspotDetail {
                blockers: blockers(inp, &g.waiters),
                relation: g.relation,
                relation_inferred: g.inferred,
                mode: top.as_ref().map_or_else(String::new, |m| m.mode.clone()),
                object: top.map_or_else(String::new, |m| m.object),
                waits: g.waits,
                wait_ms: g.wait_us as f64 / 1000.0,
                modes: g.modes,
            };
            finding(inc, d)
        })
        .collect()
}

fn finding(inc: Option<(usize, Span)>, d: HotspotDetail) -> Finding {
    let mut sentence = format!(
        "{} lock waits on {} ({} waited in all), most for {}{}",
        d.waits,
        d.relation,
        super::ms_text(d.wait_ms),
        d.mode,
        match d.object.as_str() {
            "relation" => String::new(),
            "transaction" => " on a transaction (row locks)".to_string(),
            o => format!(" on a {o}"),
        },
    );
    let mut evidence: Vec<String> = d
        .modes
        .iter()
        .map(|m| {
            format!(
                "{} waits for {} on {} ({:.3} ms)",
                m.waits, m.mode, m.object, m.wait_ms
            )
        })
        .collect();
    if d.relation_inferred {
        evidence.push(format!(
            "the lock names an OID; every statement that waited on it touches {} (or another lock on that OID was named so)",
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
