//! Relation names in normalized SQL, read from the normalizer's tokens: the tables a
//! query touches (after `FROM`, `JOIN`, `UPDATE`, `INTO`) and the table a DDL acts
//! on, with indexes mapped to their tables from the `CREATE INDEX` statements of the
//! same log.
//!
//! This is a reading of the text, not of the catalog: a view, a CTE name or a function
//! in `FROM` reads as a relation too. Names are compared by their last part, without
//! quotes, in lower case, so `public.orders`, `"orders"` and `ORDERS` meet.

use crate::normalize::{display_tokens, TokenClass};
use std::collections::BTreeMap;

/// The words and punctuation of `sql`, names unquoted.
fn words(sql: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (class, r) in display_tokens(sql) {
        let Some(t) = sql.get(r) else { continue };
        let t = match class {
            TokenClass::Str if t.starts_with('"') => t.trim_matches('"').to_string(),
            TokenClass::Str | TokenClass::Number | TokenClass::Param | TokenClass::Marker => {
                "?".to_string()
            }
            _ => t.to_string(),
        };
        // `schema . table` as one name.
        if out.last().is_some_and(|l| l == ".") && out.len() >= 2 && t != "." {
            out.pop();
            let schema = out.pop().unwrap_or_default();
            out.push(format!("{schema}.{t}"));
            continue;
        }
        out.push(t);
    }
    out
}

fn is_name(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn kw(w: &str, k: &str) -> bool {
    w.eq_ignore_ascii_case(k)
}

/// The name to compare: last part, lower case.
pub fn key(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_lowercase()
}

/// Tables `sql` reads or writes, deduplicated, in order of appearance.
pub fn tables(sql: &str) -> Vec<String> {
    let w = words(sql);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let after = ["FROM", "JOIN", "UPDATE", "INTO"]
            .iter()
            .any(|k| kw(&w[i], k));
        // `DELETE FROM`, `INSERT INTO`: the next word; `FROM a, b`: the list.
        if after {
            let mut j = i + 1;
            while j < w.len() && kw(&w[j], "ONLY") {
                j += 1;
            }
            while j < w.len() && is_name(&w[j]) && !is_reserved(&w[j]) {
                let k = key(&w[j]);
                if !out.contains(&k) {
                    out.push(k);
                }
                // Skip an alias, then continue after a comma.
                let mut n = j + 1;
                if n < w.len() && kw(&w[n], "AS") {
                    n += 1;
                }
                if n < w.len() && is_name(&w[n]) && !is_reserved(&w[n]) {
                    n += 1;
                }
                if n < w.len() && w[n] == "," && kw(&w[i], "FROM") {
                    j = n + 1;
                } else {
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

/// Words that end a relation list (so `FROM t WHERE` does not read `WHERE` as an alias).
fn is_reserved(w: &str) -> bool {
    const R: &[&str] = &[
        "WHERE",
        "JOIN",
        "LEFT",
        "RIGHT",
        "INNER",
        "OUTER",
        "FULL",
        "CROSS",
        "ON",
        "USING",
        "GROUP",
        "ORDER",
        "LIMIT",
        "OFFSET",
        "SET",
        "VALUES",
        "SELECT",
        "RETURNING",
        "HAVING",
        "UNION",
        "EXCEPT",
        "INTERSECT",
        "FOR",
        "WINDOW",
        "NATURAL",
        "LATERAL",
        "DEFAULT",
    ];
    R.iter().any(|k| kw(w, k))
}

/// What a DDL statement acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DdlTarget {
    /// The table (for an index: its table, when the log's `CREATE INDEX` tells).
    pub table: Option<String>,
    /// The index created, dropped or rebuilt, if any.
    pub index: Option<String>,
}

/// Skips `IF [NOT] EXISTS`, `CONCURRENTLY`, `ONLY`, `UNIQUE`... from `i`.
fn skip_modifiers(w: &[String], mut i: usize) -> usize {
    const M: &[&str] = &[
        "IF",
        "NOT",
        "EXISTS",
        "CONCURRENTLY",
        "ONLY",
        "UNIQUE",
        "VERBOSE",
        "FULL",
        "FREEZE",
        "ANALYZE",
        "TABLE",
        "INDEX",
    ];
    while i < w.len() && M.iter().any(|k| kw(&w[i], k)) {
        i += 1;
    }
    // `VACUUM (ANALYZE) t`: options in parentheses.
    if i < w.len() && w[i] == "(" {
        while i < w.len() && w[i] != ")" {
            i += 1;
        }
        i += 1;
    }
    i
}

fn name_at(w: &[String], i: usize) -> Option<String> {
    w.get(i)
        .filter(|x| is_name(x) && !is_reserved(x))
        .map(|x| key(x))
}

/// The table and index a DDL statement acts on; `indexes` maps index names to tables.
pub fn ddl_target(sql: &str, indexes: &BTreeMap<String, String>) -> DdlTarget {
    let w = words(sql);
    let first = w
        .first()
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    let second = w.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    let index = |name: Option<String>| DdlTarget {
        table: name.as_ref().and_then(|n| indexes.get(n).cloned()),
        index: name,
    };
    match (first.as_str(), second.as_str()) {
        ("CREATE", _) if w.iter().take(3).any(|x| kw(x, "INDEX")) => {
            let (name, table) = create_index(&w);
            DdlTarget { table, index: name }
        }
        ("DROP", "INDEX") => index(name_at(&w, skip_modifiers(&w, 2))),
        ("REINDEX", "INDEX") => index(name_at(&w, skip_modifiers(&w, 2))),
        ("ALTER", "INDEX") => index(name_at(&w, skip_modifiers(&w, 2))),
        ("CREATE" | "DROP" | "ALTER", "TABLE") | ("REINDEX", "TABLE") => DdlTarget {
            table: name_at(&w, skip_modifiers(&w, 2)),
            index: None,
        },
        ("TRUNCATE" | "VACUUM" | "CLUSTER" | "ANALYZE", _) => DdlTarget {
            table: name_at(&w, skip_modifiers(&w, 1)),
            index: None,
        },
        _ => DdlTarget::default(),
    }
}

/// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table`.
fn create_index(w: &[String]) -> (Option<String>, Option<String>) {
    let Some(on) = w.iter().position(|x| kw(x, "ON")) else {
        return (None, None);
    };
    let name = (on > 0)
        .then(|| name_at(w, on - 1))
        .flatten()
        .filter(|n| n != "index" && n != "concurrently" && n != "exists");
    let table = name_at(w, skip_modifiers(w, on + 1));
    (name, table)
}

/// Index name → table, from every `CREATE INDEX` text given.
pub fn index_map<'a>(ddl: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for sql in ddl {
        if let (Some(i), Some(t)) = create_index(&words(sql)) {
            m.insert(i, t);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_queries() {
        assert_eq!(
            tables("SELECT id FROM orders WHERE customer_id = $1"),
            ["orders"]
        );
        assert_eq!(
            tables("SELECT c.region FROM public.orders o JOIN customers AS c ON c.id = o.cid"),
            ["orders", "customers"]
        );
        assert_eq!(tables("SELECT 1 FROM a, b x, \"C\""), ["a", "b", "c"]);
        assert_eq!(
            tables("UPDATE orders SET amount = amount + $1 WHERE id = $2"),
            ["orders"]
        );
        assert_eq!(
            tables("INSERT INTO order_events (order_id) VALUES ($1)"),
            ["order_events"]
        );
        assert_eq!(tables("DELETE FROM ONLY t WHERE x = $1"), ["t"]);
        assert!(tables("SELECT now()").is_empty());
    }

    #[test]
    fn ddl_targets_and_indexes() {
        let m = index_map(
            ["CREATE INDEX orders_customer_id_idx ON orders(customer_id)"]
                .iter()
                .copied(),
        );
        let t = ddl_target("DROP INDEX orders_customer_id_idx", &m);
        assert_eq!(t.table.as_deref(), Some("orders"));
        assert_eq!(t.index.as_deref(), Some("orders_customer_id_idx"));
        let t = ddl_target("DROP INDEX CONCURRENTLY IF EXISTS other_idx", &m);
        assert_eq!((t.table, t.index.as_deref()), (None, Some("other_idx")));
        let t = ddl_target(
            "CREATE UNIQUE INDEX CONCURRENTLY x_idx ON ONLY public.orders USING btree (a)",
            &m,
        );
        assert_eq!(t.table.as_deref(), Some("orders"));
        assert_eq!(t.index.as_deref(), Some("x_idx"));
        let t = ddl_target("ALTER TABLE IF EXISTS orders ADD COLUMN x int", &m);
        assert_eq!(t.table.as_deref(), Some("orders"));
        let t = ddl_target("VACUUM (ANALYZE) orders", &m);
        assert_eq!(t.table.as_deref(), Some("orders"));
        assert_eq!(
            ddl_target("TRUNCATE TABLE t1", &m).table.as_deref(),
            Some("t1")
        );
        assert_eq!(
            ddl_target("GRANT SELECT ON t TO u", &m),
            DdlTarget::default()
        );
    }
}
