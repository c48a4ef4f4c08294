//! What changed just before or at an incident's onset, ranked by plausibility.
//!
//! Candidates come from a look-back of [`LOOKBACK_MS`] *or* [`LOOKBACK_WINDOWS`]
//! display windows before the onset, whichever reaches further (never past the end of
//! the previous incident), up to the end of the onset's first fine window: DDL, reloads
//! and the settings they changed, restarts and crashes, promotions, replication
//! conflicts, checkpoint storms, autovacuum, connection storms, query shapes and error
//! kinds never seen before.
//!
//! Plausibility = the kind's weight × closeness (1 at the onset, ½ at [`HALF_LIFE_MS`]
//! before it) × 2 when the cause acts on a table that regressed or was waited on. The
//! weights say what usually breaks a database: a schema change or a setting before a
//! restart, a restart before new traffic. With a logging threshold, a "new" query may
//! be an old one that slowed down past it: its weight drops and the evidence says so.

use super::regress::{Reg, MIN_COVERAGE_MS};
use super::relations::{ddl_target, index_map, key};
use super::{Confidence, Detail, Finding, Inputs, Span};
use crate::aggregate::incident::table_key;
use crate::events::signal::ServerEvent;
use crate::parse::time::rfc3339;
use crate::parse::Millis;
use serde::Serialize;

/// The fixed look-back, ms.
pub const LOOKBACK_MS: i64 = 10 * 60_000;
/// The look-back in display windows.
pub const LOOKBACK_WINDOWS: i64 = 3;
/// Closeness halves this long before the onset, ms.
pub const HALF_LIFE_MS: f64 = 30_000.0;
/// Normal activity between a change and the onset that makes the change less likely
/// a cause, ms, and the factor its score is multiplied by then.
const CALM_MS: i64 = 20_000;
const CALM_FACTOR: f64 = 0.25;
/// A strong kind of change this close before the onset is a sure cause, ms.
const CLOSE_MS: i64 = 5_000;
/// Causes kept per incident.
const MAX: usize = 5;
/// A window with this many times the median connections (and at least
/// [`STORM_MIN`]) is a connection storm.
const STORM_FACTOR: u64 = 4;
const STORM_MIN: u64 = 10;
/// Checkpoints in the look-back that make a storm.
const CHECKPOINT_STORM: usize = 3;
/// New query shapes with fewer executions in the span are left out.
const NEW_QUERY_MIN: u64 = 5;

/// A `{name, value}` pair of a configuration reload.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Parameter {
    #[allow(missing_docs)]
    pub name: String,
    /// Empty when it was reset to its default.
    pub value: String,
}

/// The fields of a `cause` finding.
#[derive(Debug, Clone, Serialize)]
pub struct CauseDetail {
    /// `ddl`, `config_reload`, `restart`, `promotion`, `replication_conflict`,
    /// `checkpoint_storm`, `autovacuum`, `connection_storm`, `new_query`, `new_error`.
    pub cause: &'static str,
    /// 1 = most plausible, per incident.
    pub rank: usize,
    /// Onset minus the cause's time, ms: positive when the cause came first.
    pub lag_ms: i64,
    /// The table it acts on, when known.
    pub relation: Option<String>,
    /// The DDL or query, normalized (or the error message).
    pub statement: Option<String>,
    /// Settings a reload changed.
    pub parameters: Vec<Parameter>,
    /// The plausibility score it was ranked by.
    pub score: f64,
}

/// A candidate before ranking.
struct Cand {
    cause: &'static str,
    ts: Millis,
    relation: Option<String>,
    statement: Option<String>,
    parameters: Vec<Parameter>,
    weight: f64,
    what: String,
    evidence: Vec<String>,
}

impl Cand {
    fn new(cause: &'static str, ts: Millis, weight: f64, what: String) -> Cand {
        Cand {
            cause,
            ts,
            relation: None,
            statement: None,
            parameters: Vec::new(),
            weight,
            what,
            evidence: Vec::new(),
        }
    }
}

/// The range causes are looked for in.
fn window(inp: &Inputs<'_>, s: &Span, prev_end: Option<Millis>) -> (Millis, Millis) {
    let back = LOOKBACK_MS.max(LOOKBACK_WINDOWS * inp.display_width);
    let from = (s.at - back).max(prev_end.unwrap_or(i64::MIN));
    (from, (s.at + inp.fine_width).min(s.until))
}

/// The ranked causes of incident `n`.
pub fn causes(
    inp: &Inputs<'_>,
    n: usize,
    s: &Span,
    prev_end: Option<Millis>,
    regs: &[Reg],
    hot: &[String],
) -> Vec<Finding> {
    let range = window(inp, s, prev_end);
    let inside = |t: Option<Millis>| t.is_some_and(|t| t >= range.0 && t < range.1);
    let mut c = Vec::new();
    ddl(inp, &inside, &mut c);
    config(inp, &inside, &mut c);
    server(inp, &inside, &mut c);
    maintenance(inp, &inside, range, &mut c);
    connections(inp, range, &mut c);
    new_queries(inp, s, range, &mut c);
    new_errors(inp, range, &mut c);
    let regressed: Vec<&Reg> = regs.iter().collect();
    let mut scored: Vec<(f64, Cand)> = c
        .into_iter()
        .map(|mut x| {
            let lag = (s.at - x.ts).max(0) as f64;
            let mut score = x.weight * HALF_LIFE_MS / (HALF_LIFE_MS + lag);
            let calm = normal_after(inp, x.ts, s.at);
            if calm >= CALM_MS {
                score *= CALM_FACTOR;
                x.evidence.push(format!(
                    "the workload ran normally for {} after it, before the onset",
                    super::ms_text(calm as f64)
                ));
            }
            let acts_on = x.cause != "new_query";
            if let Some(rel) = x.relation.as_deref().map(key).filter(|_| acts_on) {
                let slow: Vec<&&Reg> = regressed
                    .iter()
                    .filter(|r| r.tables.contains(&rel))
                    .collect();
                if !slow.is_empty() {
                    score *= 2.0;
                    x.evidence.push(linked(&rel, &slow));
                } else if hot.contains(&rel) {
                    score *= 2.0;
                    x.evidence
                        .push(format!("{rel} is the most waited-on relation"));
                }
            }
            ((score * 1000.0).round() / 1000.0, x)
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.ts.cmp(&a.1.ts))
            .then(a.1.what.cmp(&b.1.what))
    });
    scored.truncate(MAX);
    let top = scored.first().map_or(0.0, |x| x.0);
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (score, x))| finding(inp, n, s, (i + 1, score, top), x))
        .collect()
}

/// "3 queries on orders 25–40× slower".
fn linked(rel: &str, slow: &[&&Reg]) -> String {
    let lo = slow.iter().map(|r| r.ratio).fold(f64::INFINITY, f64::min);
    let hi = slow.iter().map(|r| r.ratio).fold(0.0, f64::max);
    let range = if (hi - lo).abs() < 0.5 {
        format!("{}×", super::times(hi))
    } else {
        format!("{}–{}×", super::times(lo), super::times(hi))
    };
    format!(
        "{} quer{} on {rel} {range} slower during the incident",
        slow.len(),
        if slow.len() == 1 { "y" } else { "ies" }
    )
}

fn ddl(inp: &Inputs<'_>, inside: &dyn Fn(Option<Millis>) -> bool, c: &mut Vec<Cand>) {
    let text = |fp: u64| inp.queries.get(&fp).map_or("", |q| q.text.as_str());
    let indexes = index_map(inp.incidents.ddl.iter().map(|e| text(e.fingerprint)));
    // A DDL acts from when it starts (a migration queued for its lock is logged with
    // its duration only when it finally runs).
    let start = |e: &crate::aggregate::incident::DdlEvent| {
        e.ts.map(|t| t - e.us.map_or(0, |us| (us / 1000) as i64))
    };
    for e in inp.incidents.ddl.iter().filter(|e| inside(start(e))) {
        let (Some(ts), sql) = (start(e), text(e.fingerprint)) else {
            continue;
        };
        let t = ddl_target(sql, &indexes);
        let mut x = Cand::new("ddl", ts, 1.0, super::short(sql, 100));
        if let (Some(i), Some(tb)) = (&t.index, &t.table) {
            x.evidence.push(format!(
                "index {i} is on {tb} (from the log's CREATE INDEX)"
            ));
        }
        if let Some(us) = e.us {
            x.evidence.push(format!(
                "started at {}, ran {} (logged at its end, {})",
                rfc3339(ts),
                super::ms_text(us as f64 / 1000.0),
                e.ts.map_or_else(String::new, rfc3339)
            ));
        }
        x.relation = t.table.or_else(|| {
            let i = t.index.as_deref()?;
            let table = table_of_index_name(inp, i)?;
            x.evidence.push(format!(
                "index {i} is probably on {table}: its CREATE INDEX is not in the log, and its \
                 name begins with that table's (PostgreSQL's default index names do)"
            ));
            Some(table)
        });
        x.statement = Some(sql.to_string());
        c.push(x);
    }
}

/// The longest table the log's queries touch whose name starts `index` (`orders` for
/// `orders_customer_id_idx`).
fn table_of_index_name(inp: &Inputs<'_>, index: &str) -> Option<String> {
    let mut best: Option<String> = None;
    for q in inp.queries.values() {
        for t in super::relations::tables(&q.text) {
            let fits = index.len() > t.len() + 1
                && index.starts_with(t.as_str())
                && index.as_bytes()[t.len()] == b'_';
            if fits
                && best
                    .as_ref()
                    .is_none_or(|b| t.len() > b.len() || (t.len() == b.len() && t < *b))
            {
                best = Some(t);
            }
        }
    }
    best
}

/// How long the workload ran normally between `t` and the onset, ms: a change followed
/// by a stretch of ordinary activity is a less likely cause.
fn normal_after(inp: &Inputs<'_>, t: Millis, onset: Millis) -> i64 {
    let active = inp
        .fine
        .iter()
        .filter(|w| w.start > t && w.start + inp.fine_width <= onset && w.statements > 0)
        .count();
    active as i64 * inp.fine_width
}

fn config(inp: &Inputs<'_>, inside: &dyn Fn(Option<Millis>) -> bool, c: &mut Vec<Cand>) {
    // The parameters a reload changed are logged right after it: one cause per reload,
    // or per burst of parameter lines when the SIGHUP line itself is absent.
    let changes: Vec<_> = inp
        .incidents
        .config_changes
        .iter()
        .filter(|e| inside(e.ts))
        .collect();
    let mut groups: Vec<(Millis, Vec<Parameter>)> = Vec::new();
    for ch in changes {
        let Some(ts) = ch.ts else { continue };
        let p = Parameter {
            name: ch.name.to_string(),
            value: ch.value.to_string(),
        };
        match groups.last_mut() {
            Some(g) if ts - g.0 <= 1000 => g.1.push(p),
            _ => groups.push((ts, vec![p])),
        }
    }
    for (ts, params) in groups {
        let list: Vec<String> = params
            .iter()
            .map(|p| match p.value.is_empty() {
                true => format!("{} reset to its default", p.name),
                false => format!("{} = {}", p.name, p.value),
            })
            .collect();
        let mut x = Cand::new(
            "config_reload",
            ts,
            0.9,
            format!("configuration reload: {}", list.join(", ")),
        );
        x.evidence = list
            .iter()
            .map(|l| format!("parameter changed: {l}"))
            .collect();
        x.parameters = params;
        c.push(x);
    }
    let has_params = !c.iter().any(|x| x.cause == "config_reload");
    for (ts, _, ev) in &inp.incidents.server_events {
        if *ev == ServerEvent::Reload && inside(*ts) && has_params {
            let x = Cand::new(
                "config_reload",
                ts.unwrap_or_default(),
                0.4,
                "configuration reload (no changed parameter logged)".into(),
            );
            c.push(x);
        }
    }
}

fn server(inp: &Inputs<'_>, inside: &dyn Fn(Option<Millis>) -> bool, c: &mut Vec<Cand>) {
    let mut last: Option<(&str, Millis)> = None;
    for (ts, _, ev) in &inp.incidents.server_events {
        let (Some(t), true) = (*ts, inside(*ts)) else {
            continue;
        };
        let (cause, weight, what) = match ev {
            ServerEvent::Start => ("restart", 0.8, "server start"),
            ServerEvent::Crash => ("restart", 0.9, "a server process crashed (crash restart)"),
            ServerEvent::Promotion => ("promotion", 0.8, "standby promoted"),
            ServerEvent::ReplicationConflict => (
                "replication_conflict",
                0.5,
                "statements cancelled for conflicts with recovery",
            ),
            _ => continue,
        };
        // One candidate per burst of the same kind.
        if last.is_some_and(|(k, lt)| k == cause && t - lt < 60_000) {
            continue;
        }
        last = Some((cause, t));
        c.push(Cand::new(cause, t, weight, what.into()));
    }
}

fn maintenance(
    inp: &Inputs<'_>,
    inside: &dyn Fn(Option<Millis>) -> bool,
    range: (Millis, Millis),
    c: &mut Vec<Cand>,
) {
    let ev = &inp.incidents.maint_events;
    let checkpoints: Vec<Millis> = ev
        .iter()
        .filter(|e| e.kind == "checkpoint" && inside(e.ts))
        .filter_map(|e| e.ts)
        .collect();
    if checkpoints.len() >= CHECKPOINT_STORM {
        let t = *checkpoints.last().unwrap_or(&range.0);
        let mut x = Cand::new(
            "checkpoint_storm",
            t,
            0.3,
            format!("{} checkpoints in the look-back", checkpoints.len()),
        );
        x.evidence.push(format!(
            "{} checkpoint starts from {} on",
            checkpoints.len(),
            rfc3339(checkpoints[0])
        ));
        c.push(x);
    }
    let names: rustc_hash::FxHashMap<u64, String> = inp
        .incidents
        .tables
        .keys()
        .map(|k| (table_key(k), String::from_utf8_lossy(k).into_owned()))
        .collect();
    for e in ev.iter().filter(|e| e.kind == "autovacuum" && inside(e.ts)) {
        let (Some(t), Some(table)) = (e.ts, e.table.and_then(|k| names.get(&k))) else {
            continue;
        };
        let mut x = Cand::new("autovacuum", t, 0.3, format!("autovacuum of {table}"));
        x.relation = Some(key(table));
        c.push(x);
    }
}

fn connections(inp: &Inputs<'_>, range: (Millis, Millis), c: &mut Vec<Cand>) {
    let mut v: Vec<u64> = inp.display.iter().map(|w| w.events.connections).collect();
    v.sort_unstable();
    let median = v.get(v.len() / 2).copied().unwrap_or(0);
    let limit = (STORM_FACTOR * median).max(STORM_MIN);
    let storm = inp.display.iter().find(|w| {
        w.start + inp.display_width > range.0 && w.start < range.1 && w.events.connections >= limit
    });
    if let Some(w) = storm {
        let mut x = Cand::new(
            "connection_storm",
            w.start.max(range.0),
            0.4,
            format!("{} connections in one window", w.events.connections),
        );
        x.evidence.push(format!(
            "{} connections from {} (median {} per window)",
            w.events.connections,
            rfc3339(w.start),
            median
        ));
        c.push(x);
    }
}

/// Fingerprints first seen in the range, with enough log before it to call them new.
fn new_queries(inp: &Inputs<'_>, s: &Span, range: (Millis, Millis), c: &mut Vec<Cand>) {
    let threshold = inp.threshold_ms.filter(|t| *t > 0.0);
    let mut found: Vec<(u64, Millis, &str)> = inp
        .queries
        .values()
        .filter_map(|q| {
            let t = q.first_seen?;
            let fresh = t >= range.0 && t < range.1 && t - inp.log.0 >= MIN_COVERAGE_MS;
            let is_ddl = crate::events::ddl_command(q.text.as_bytes()).is_some();
            (fresh && !is_ddl && q.count >= NEW_QUERY_MIN).then_some((q.count, t, q.text.as_str()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    for (count, t, text) in found.into_iter().take(3) {
        let weight = if threshold.is_some() { 0.15 } else { 0.5 };
        let mut x = Cand::new(
            "new_query",
            t,
            weight,
            format!("a new query shape: {}", super::short(text, 80)),
        );
        x.evidence.push(format!(
            "first logged {}, never before in {} of log; {count} executions in all",
            rfc3339(t),
            super::ms_text((t - inp.log.0) as f64)
        ));
        if let Some(th) = threshold {
            x.evidence.push(format!(
                "only statements slower than {} are logged: it may have run faster before",
                super::ms_text(th)
            ));
        }
        x.relation = super::relations::tables(text).into_iter().next();
        x.statement = Some(text.to_string());
        let _ = s;
        c.push(x);
    }
}

fn new_errors(inp: &Inputs<'_>, range: (Millis, Millis), c: &mut Vec<Cand>) {
    let mut found: Vec<_> = inp
        .incidents
        .errors
        .values()
        .filter(|e| {
            e.first
                .is_some_and(|t| t >= range.0 && t < range.1 && t - inp.log.0 >= MIN_COVERAGE_MS)
        })
        .collect();
    found.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first.cmp(&b.first))
            .then(a.message.cmp(&b.message))
    });
    for e in found.into_iter().take(2) {
        let t = e.first.unwrap_or_default();
        let mut x = Cand::new(
            "new_error",
            t,
            0.3,
            format!("a new error: {}", super::short(&e.message, 80)),
        );
        x.evidence
            .push(format!("{} times, first at {}", e.count, rfc3339(t)));
        x.statement = Some(e.message.clone());
        c.push(x);
    }
}

fn finding(
    inp: &Inputs<'_>,
    n: usize,
    s: &Span,
    (rank, score, top): (usize, f64, f64),
    x: Cand,
) -> Finding {
    let lag = s.at - x.ts;
    let when = if lag > 0 {
        format!("{} before the onset", super::ms_text(lag as f64))
    } else {
        format!(
            "within the onset's first {}",
            super::ms_text(inp.fine_width as f64)
        )
    };
    let on = x
        .relation
        .as_deref()
        .filter(|_| x.cause == "ddl")
        .map_or(String::new(), |r| format!(" on {r}"));
    let mut sentence = format!(
        "{} of incident {n}: {}{on}, at {} ({when}).",
        if rank == 1 {
            "Most plausible cause"
        } else {
            "Also changed before the onset"
        },
        x.what,
        (inp.clock)(x.ts)
    );
    if let Some(l) = x
        .evidence
        .iter()
        .find(|e| e.contains(" slower during the incident"))
    {
        sentence.pop();
        sentence.push_str(&format!(": {l}."));
    }
    // Sure when it acts on what slowed down, or is a strong kind of change right at
    // the onset; a change a while before an unrelated slowdown is only possible.
    let strong = matches!(x.cause, "ddl" | "config_reload" | "restart" | "promotion");
    let confidence = match score {
        s if s >= 1.0 => Confidence::High,
        _ if strong && lag <= CLOSE_MS => Confidence::High,
        s if s >= 0.3 => Confidence::Medium,
        _ => Confidence::Low,
    };
    // Only the first can be sure; the others are what else changed.
    let confidence = match rank {
        1 => confidence,
        _ if score < 0.5 * top => Confidence::Low,
        _ => confidence.min(Confidence::Medium),
    };
    Finding {
        kind: "cause",
        incident: Some(n),
        at: Some(rfc3339(x.ts)),
        confidence,
        sentence,
        evidence: x.evidence,
        detail: Detail::Cause(CauseDetail {
            cause: x.cause,
            rank,
            lag_ms: lag,
            relation: x.relation,
            statement: x.statement,
            parameters: x.parameters,
            score,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::incident::{ConfigChange, DdlEvent, Incidents};
    use crate::aggregate::query::QueryStats;
    use crate::aggregate::table::QueryMap;
    use crate::diagnose::Win;

    fn inputs<'a>(
        fine: &'a [Win],
        queries: &'a QueryMap,
        inc: &'a Incidents,
        series: &'a rustc_hash::FxHashMap<u64, Vec<(u32, crate::aggregate::series::Cell)>>,
        clock: &'a dyn Fn(Millis) -> String,
    ) -> Inputs<'a> {
        Inputs {
            fine,
            fine_width: 1000,
            display: fine,
            display_width: 1000,
            series,
            queries,
            incidents: inc,
            threshold_ms: Some(0.0),
            log: (0, 200_000),
            clock,
        }
    }

    #[test]
    fn the_change_at_the_onset_ranks_before_one_followed_by_a_calm_stretch() {
        let fine: Vec<Win> = (0..200)
            .map(|i| Win {
                start: i * 1000,
                statements: 10,
                ..Win::default()
            })
            .collect();
        let mut queries = QueryMap::default();
        queries.insert(
            1,
            Box::new(QueryStats::new("DROP INDEX orders_customer_id_idx".into())),
        );
        queries.insert(
            2,
            Box::new(QueryStats::new("CREATE TABLE t2(a int)".into())),
        );
        queries.insert(
            3,
            Box::new(QueryStats::new("SELECT * FROM orders WHERE id = $1".into())),
        );
        let mut inc = Incidents::default();
        for (fp, ts) in [(2u64, 40_000i64), (1, 99_500)] {
            inc.ddl.push(DdlEvent {
                ts: Some(ts),
                order: (0, ts as u64),
                us: Some(20_000),
                fingerprint: fp,
                command: "DDL",
            });
        }
        inc.config_changes.push(ConfigChange {
            ts: Some(95_000),
            order: (0, 95_000),
            name: "work_mem".into(),
            value: "64kB".into(),
        });
        let series = Default::default();
        let clock = |t: Millis| t.to_string();
        let inp = inputs(&fine, &queries, &inc, &series, &clock);
        let span = Span {
            at: 100_000,
            until: 150_000,
        };
        let f = causes(&inp, 1, &span, None, &[], &["orders".to_string()]);
        let got: Vec<(&str, i64, Option<&str>)> = f
            .iter()
            .map(|f| match &f.detail {
                Detail::Cause(c) => (c.cause, c.lag_ms, c.relation.as_deref()),
                _ => unreachable!(),
            })
            .collect();
        // The DROP INDEX on the most waited-on table (its table from the index name),
        // then the reload 5 s before, then the CREATE TABLE a calm minute earlier.
        assert_eq!(
            got,
            [
                ("ddl", 520, Some("orders")),
                ("config_reload", 5000, None),
                ("ddl", 60_020, Some("t2")),
            ]
        );
        assert_eq!(f[0].confidence, Confidence::High);
        assert_eq!(f[2].confidence, Confidence::Low);
        assert!(f[2].evidence.iter().any(|e| e.contains("ran normally")));
        // The look-back never reaches past the end of the previous incident.
        let after = causes(&inp, 2, &span, Some(97_000), &[], &[]);
        assert_eq!(after.len(), 1);
    }
}
