//! Agreement with PostgreSQL's own grouping: the query id (`%Q` in log_line_prefix,
//! `compute_query_id = on`) of every statement of a real PostgreSQL 15 log
//! (testdata/queryid/, see its README) against pgferret's fingerprint.
//!
//! - Statements sharing a query id must share a fingerprint.
//! - A fingerprint may merge several query ids only where PostgreSQL 15 splits what
//!   pgferret deliberately groups: lists of different lengths (checked: without list
//!   collapsing the merged statements fall back into one group per query id), and
//!   utility statements, whose query id in PostgreSQL 15 is a hash of their raw text
//!   (`SET work_mem = '4MB'` vs `'8MB'`; PostgreSQL 16 normalizes those too).
//!
//! The parser below is deliberately self-contained (not pgferret's log parser), so the
//! test checks the normalizer alone.

use std::collections::{BTreeMap, BTreeSet};

use pgferret::normalize::{fingerprint_uncollapsed, normalize, Normalizer};
use regex::Regex;

/// A rewrite of normalized text.
type Rewrite<'a> = dyn Fn(&str) -> String + 'a;

/// Refines a fingerprint: (fingerprint without list collapsing, has `$n` parameters,
/// raw text if a utility statement).
type Key<'a> = (u64, bool, &'a str);

struct Stmt {
    qid: i64,
    sql: String,
}

/// `... [pid] <qid> user@db LOG:  duration: X ms  statement: SQL` or `execute <name>: SQL`,
/// continued on the following TAB-indented lines.
fn parse(log: &str) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = Vec::new();
    let mut open = false;
    for line in log.lines() {
        if let Some(cont) = line.strip_prefix('\t') {
            if let (true, Some(last)) = (open, out.last_mut()) {
                last.sql.push('\n');
                last.sql.push_str(cont);
            }
            continue;
        }
        open = false;
        let Some(rest) = line.find("] ").map(|i| &line[i + 2..]) else {
            continue;
        };
        let Some((qid, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Some((_, msg)) = rest.split_once(" LOG:  duration: ") else {
            continue;
        };
        let Some((_, msg)) = msg.split_once(" ms  ") else {
            continue;
        };
        let sql = if let Some(sql) = msg.strip_prefix("statement: ") {
            sql
        } else if let Some((_, sql)) = msg
            .strip_prefix("execute ")
            .and_then(|m| m.split_once(": "))
        {
            sql
        } else {
            continue;
        };
        let qid: i64 = qid.parse().expect("query id in the prefix");
        if qid != 0 {
            out.push(Stmt {
                qid,
                sql: sql.to_string(),
            });
            open = true;
        }
    }
    out
}

/// The first keyword of a statement, after any leading comment.
fn first_word(sql: &str) -> String {
    let text = normalize(sql).0;
    text.split(' ').next().unwrap_or("").to_ascii_uppercase()
}

/// Utility statements: PostgreSQL 15 hashes their text instead of jumbling a tree.
fn is_utility(sql: &str) -> bool {
    ["SET", "RESET", "DO", "BEGIN", "COMMIT", "ROLLBACK"].contains(&first_word(sql).as_str())
}

/// `%Q` of `PREPARE` and `EXECUTE` is the id of the prepared query, not their own.
fn is_wrapper(sql: &str) -> bool {
    ["PREPARE", "EXECUTE"].contains(&first_word(sql).as_str())
}

/// What PostgreSQL's parse analysis knows and a lexer cannot, as rewrites of the
/// normalized text: if one makes the texts of a split query id equal, it explains it.
fn split_reason(texts: &BTreeSet<String>) -> Option<&'static str> {
    let num = Regex::new(r"\$\d+").expect("regex");
    let qual = Regex::new(r"\b([a-z_][a-z0-9_]*)\.").expect("regex");
    let in1 = Regex::new(r"(NOT )?IN \(\$\d+ /\*, \.\.\. \*/\)").expect("regex");
    let any = Regex::new(r"= ANY\(ARRAY\[(\$\d+) /\*, \.\.\. \*/\]\)").expect("regex");
    let unqualify = |t: &str| {
        let aliases: BTreeSet<String> = qual.captures_iter(t).map(|c| c[1].to_string()).collect();
        let t = qual.replace_all(t, "").into_owned();
        let words: Vec<&str> = t.split(' ').filter(|w| !aliases.contains(*w)).collect();
        words.join(" ")
    };
    let one_in = |t: &str| {
        in1.replace_all(
            t,
            |c: &regex::Captures| if c.get(1).is_some() { "<> $" } else { "= $" },
        )
        .into_owned()
    };
    let any_in = |t: &str| any.replace_all(t, "IN ($1 /*, ... */)").into_owned();
    let rewrites: [(&str, &Rewrite<'_>); 3] = [
        (
            "table aliases / qualified names (PostgreSQL resolves names)",
            &unqualify,
        ),
        ("a one-item IN list (PostgreSQL rewrites it as =)", &one_in),
        (
            "= ANY(ARRAY[...]) written for IN (...) (one tree in PostgreSQL)",
            &any_in,
        ),
    ];
    let reason = rewrites.iter().find_map(|(why, f)| {
        let canon: BTreeSet<String> = texts
            .iter()
            .map(|t| num.replace_all(&f(t), "$").into_owned())
            .collect();
        (canon.len() == 1).then_some(*why)
    });
    reason
}

#[test]
fn fingerprints_agree_with_postgres_query_ids() {
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/queryid/postgresql.log"
    ))
    .expect("testdata/queryid/postgresql.log");
    let all = parse(&log);
    let (wrappers, stmts): (Vec<Stmt>, Vec<Stmt>) =
        all.into_iter().partition(|s| is_wrapper(&s.sql));
    assert!(stmts.len() > 500, "parsed only {} statements", stmts.len());

    let mut norm = Normalizer::new();
    let mut text = String::new();
    let mut by_qid: BTreeMap<i64, BTreeMap<u64, String>> = BTreeMap::new();
    // fingerprint -> refined key -> query ids. The key adds what PostgreSQL 15 tells apart
    // and pgferret groups on purpose: list lengths, literal vs `$n` parameter, and the raw
    // text of utility statements.
    let mut by_fp: BTreeMap<u64, BTreeMap<Key, BTreeSet<i64>>> = BTreeMap::new();
    for s in &stmts {
        let fp = norm.normalize_into(s.sql.as_bytes(), &mut text);
        by_qid.entry(s.qid).or_default().insert(fp, text.clone());
        let utility_text = if is_utility(&s.sql) {
            s.sql.as_str()
        } else {
            ""
        };
        let key = (
            fingerprint_uncollapsed(s.sql.as_bytes()),
            has_param(&s.sql),
            utility_text,
        );
        by_fp
            .entry(fp)
            .or_default()
            .entry(key)
            .or_default()
            .insert(s.qid);
    }

    // 1. Same query id, same fingerprint, except where PostgreSQL knows better.
    let mut splits: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained_splits = Vec::new();
    let mut split_statements = 0;
    for (qid, fps) in by_qid.iter().filter(|(_, fps)| fps.len() > 1) {
        // Statements away from their query id's most common fingerprint.
        let mut per_fp: BTreeMap<u64, usize> = BTreeMap::new();
        for s in stmts.iter().filter(|s| s.qid == *qid) {
            *per_fp
                .entry(norm.fingerprint(s.sql.as_bytes()))
                .or_default() += 1;
        }
        split_statements += per_fp.values().sum::<usize>() - per_fp.values().max().unwrap_or(&0);
        let texts: BTreeSet<String> = fps.values().cloned().collect();
        match split_reason(&texts) {
            Some(why) => *splits.entry(why).or_default() += 1,
            None => unexplained_splits.push(texts),
        }
    }

    // 2. Merges: within a fingerprint, the refined key must separate the query ids.
    let mut merges = 0;
    let mut why_merged: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained_merges = Vec::new();
    for keys in by_fp.values() {
        let qids: BTreeSet<i64> = keys.values().flatten().copied().collect();
        if qids.len() > 1 {
            merges += 1;
            if keys.values().any(|q| q.len() > 1) {
                unexplained_merges.push(qids);
            }
            let varies =
                |part: fn(&Key) -> String| keys.keys().map(part).collect::<BTreeSet<_>>().len() > 1;
            for (why, part) in [
                ("list lengths", (|k| k.0.to_string()) as fn(&Key) -> String),
                ("literal vs $n parameter", |k| k.1.to_string()),
                ("utility statement text (PostgreSQL 15 hashes it)", |k| {
                    k.2.to_string()
                }),
            ] {
                if varies(part) {
                    *why_merged.entry(why).or_default() += 1;
                }
            }
        }
    }
    let distinct_fps = by_fp.len();
    eprintln!(
        "query-id agreement: {} statements ({} PREPARE/EXECUTE left out: their %Q is the prepared \
         query's), {} distinct query ids, {distinct_fps} distinct fingerprints",
        stmts.len(),
        wrappers.len(),
        by_qid.len()
    );
    eprintln!(
        "  query ids split over several fingerprints: {} ({split_statements} statements away \
         from their query id's main fingerprint; {} unexplained)",
        splits.values().sum::<usize>() + unexplained_splits.len(),
        unexplained_splits.len()
    );
    for (why, n) in &splits {
        eprintln!("    {n} by {why}");
    }
    eprintln!(
        "  fingerprints merging several query ids: {merges} ({} unexplained by list length, \
         literal vs parameter, or PostgreSQL 15's text hash of utility statements)",
        unexplained_merges.len()
    );
    for (why, n) in &why_merged {
        eprintln!("    {n} involve {why}");
    }
    assert!(
        unexplained_splits.is_empty(),
        "unexplained splits: {unexplained_splits:#?}"
    );
    assert!(
        unexplained_merges.is_empty(),
        "unexplained merges: {unexplained_merges:#?}"
    );
    assert!(merges > 0, "the workload should exercise list collapsing");
}

fn has_param(sql: &str) -> bool {
    sql.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
}
