//! `--anonymize`: the values a report keeps (samples, parameters, deadlock statements,
//! error examples, plans, skipped lines) replaced by tokens, so the report can be
//! attached to a ticket many people read.
//!
//! A step applied to the finished view model, once, before any rendering: every output
//! of the run (HTML, JSON, text) shows the same tokens, and no template knows about it.
//!
//! **Tokens are numbered in order of first appearance** while the model is walked in a
//! fixed order (`<n1>`, `<n2>`... for numbers, `<s1>`... for other values). The model
//! is byte-identical for 1 and N threads, so the tokens are too. A hash of the value,
//! even salted, was rejected: the salt would ship with pgferret, and the values worth
//! hiding (customer ids, amounts) are few enough to hash them all and read the tokens
//! back. A counter tells only which values are equal. The price: token numbers mean
//! nothing across two runs.
//!
//! A value is the same token wherever it appears (`$1 = '18300'`, `WHERE id = 18300`,
//! `Key (id)=(18300)`): the key is the value's text without its quotes.
//!
//! What is kept: keywords, identifiers (table, column, constraint names: in messages a
//! double-quoted name after `relation`, `table`, `column`, `constraint`...), `$n`
//! parameters, SQLSTATEs, and numbers that are not data (`process 123`, `character 42`,
//! `line 3`). Normalized query texts hold no literal (every constant is `$n`), except
//! the positions kept by the normalizer (`ORDER BY 2`); they are rewritten all the same.
//!
//! `--anonymize=names` also maps database, user, application and client host names
//! (`db1`, `user1`, `app1`, `host1`) wherever the model holds them, and input paths to
//! their file names.

use super::model::Report;
use crate::normalize::{rewrite_literals, Literal};
use rustc_hash::FxHashMap;

/// What `--anonymize` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymize {
    /// Literal and parameter values.
    Values,
    /// Values, and database, user, application and host names.
    Names,
}

impl Anonymize {
    /// `values` or `names`.
    pub fn from_name(s: &str) -> Option<Anonymize> {
        match s {
            "values" => Some(Anonymize::Values),
            "names" => Some(Anonymize::Names),
            _ => None,
        }
    }
}

/// The kinds of names `--anonymize=names` maps, each numbered on its own.
#[derive(Debug, Clone, Copy)]
enum NameKind {
    Database = 0,
    User = 1,
    Application = 2,
    Host = 3,
    /// A table, column or alias in SQL, or a relation a lock was waited on.
    Ident = 4,
}

const NAME_PREFIX: [&str; 5] = ["db", "user", "app", "host", "obj"];

/// Words after which a double-quoted name in a message is an identifier, not a value.
const IDENT_WORDS: &[&str] = &[
    "relation",
    "table",
    "column",
    "constraint",
    "index",
    "sequence",
    "view",
    "schema",
    "function",
    "procedure",
    "type",
    "trigger",
    "extension",
    "tablespace",
    "operator",
    "collation",
    "domain",
    "policy",
    "role",
    "user",
    "database",
    "publication",
    "subscription",
    "parameter",
    "file",
    "socket",
];

/// Words after which a number in a message is not data.
const KEEP_NUMBER_AFTER: &[&str] = &[
    "process",
    "processes",
    "character",
    "line",
    "position",
    "port",
    "pid",
    "transaction",
    "database",
    "relation",
    "lock:",
    "queue:",
];

/// Value → token, and name → token, in order of first appearance.
#[derive(Debug, Default)]
pub struct Tokens {
    values: FxHashMap<String, String>,
    numbers: usize,
    strings: usize,
    names: Option<[FxHashMap<String, String>; 5]>,
}

impl Tokens {
    /// Tokens for `mode`.
    pub fn new(mode: Anonymize) -> Tokens {
        Tokens {
            names: (mode == Anonymize::Names).then(Default::default),
            ..Tokens::default()
        }
    }

    /// The token of a value (without quotes): `<n3>` for a number, `<s7>` otherwise.
    /// An empty value stays empty, and the `…` pgferret writes for a value already
    /// left out stays: they hold nothing.
    pub fn value(&mut self, v: &str) -> String {
        if v.is_empty() || v == "…" {
            return v.to_string();
        }
        if let Some(t) = self.values.get(v) {
            return t.clone();
        }
        let t = if is_number(v) {
            self.numbers += 1;
            format!("<n{}>", self.numbers)
        } else {
            self.strings += 1;
            format!("<s{}>", self.strings)
        };
        self.values.insert(v.to_string(), t.clone());
        t
    }

    /// SQL text with its literals replaced, and with `names` its identifiers too.
    pub fn sql(&mut self, sql: &str) -> String {
        if self.names.is_none() {
            return rewrite_literals(sql, &mut |l| match l {
                Literal::Str(s) | Literal::Num(s) => self.value(s),
            });
        }
        // One pass; the two callbacks take turns with the tokens.
        let tokens = std::cell::RefCell::new(self);
        crate::normalize::rewrite_sql(
            sql,
            &mut |l| match l {
                Literal::Str(s) | Literal::Num(s) => tokens.borrow_mut().value(s),
            },
            Some(&mut |n: &str| tokens.borrow_mut().name(NameKind::Ident, n)),
        )
    }

    /// A relation's name (`orders`, `public.orders`) with `names`.
    fn relation(&mut self, rel: &str) -> String {
        rel.split('.')
            .map(|p| self.name(NameKind::Ident, &p.to_lowercase()))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn name(&mut self, kind: NameKind, v: &str) -> String {
        let Some(maps) = &mut self.names else {
            return v.to_string();
        };
        // Placeholders PostgreSQL writes are not names.
        if v.is_empty() || v.starts_with('[') || v == "?" || v == "(unknown)" {
            return v.to_string();
        }
        let map = &mut maps[kind as usize];
        let next = map.len() + 1;
        map.entry(v.to_string())
            .or_insert_with(|| format!("{}{next}", NAME_PREFIX[kind as usize]))
            .clone()
    }

    /// `text` with every word that is an identifier already mapped replaced by its
    /// token (a relation's `public.orders` word by word).
    fn known_words(&self, text: &str) -> String {
        let Some(maps) = &self.names else {
            return text.to_string();
        };
        let ident = &maps[NameKind::Ident as usize];
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            match ident.get(word.as_str()) {
                Some(t) => out.push_str(t),
                None => out.push_str(word),
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    /// A name already mapped, of any kind (for names quoted in messages).
    fn known_name(&self, v: &str) -> Option<String> {
        self.names.as_ref()?.iter().find_map(|m| m.get(v).cloned())
    }

    /// A server message (error text, DETAIL, CONTEXT) with its values replaced:
    /// quoted strings, `=(...)` key values and numbers; identifiers after `relation`,
    /// `constraint`... and numbers after `process`, `character`... kept.
    pub fn message(&mut self, m: &str) -> String {
        let b = m.as_bytes();
        let mut out = String::with_capacity(m.len());
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'\'' || c == b'"' {
                let end = memchr::memchr(c, &b[i + 1..]).map_or(b.len(), |j| i + 1 + j);
                let inner = &m[i + 1..end];
                let q = c as char;
                out.push(q);
                if c == b'"' && last_word_in(&m[..i], IDENT_WORDS) {
                    let known = self.known_name(inner);
                    out.push_str(&known.unwrap_or_else(|| self.name(NameKind::Ident, inner)));
                } else {
                    out.push_str(&self.value(inner));
                }
                if end < b.len() {
                    out.push(q);
                }
                i = end + 1;
            } else if c == b'=' && i > 0 && b[i - 1] == b')' && b.get(i + 1) == Some(&b'(') {
                let end = key_values_end(b, i + 2);
                out.push_str("=(");
                let vals: Vec<String> = m[i + 2..end].split(", ").map(|v| self.value(v)).collect();
                out.push_str(&vals.join(", "));
                if end < b.len() {
                    out.push(')');
                }
                i = end + 1;
            } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.') || b[i] >= 0x80)
                {
                    i += 1;
                }
                let mut word = &m[start..i];
                let dot = word.ends_with('.');
                if dot {
                    word = &word[..word.len() - 1];
                }
                if c.is_ascii_digit() && !last_word_in(&m[..start], KEEP_NUMBER_AFTER) {
                    out.push_str(&self.value(word));
                } else {
                    out.push_str(word);
                }
                if dot {
                    out.push('.');
                }
            } else {
                let next = m[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&m[i..i + next]);
                i += next;
            }
        }
        out
    }

    /// An auto_explain plan: the query text and the conditions and filters (where
    /// values are) rewritten; costs, row counts and timings kept.
    pub fn plan(&mut self, plan: &str) -> String {
        let mut out = String::with_capacity(plan.len());
        for (n, line) in plan.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            out.push_str(&self.plan_line(line));
        }
        out
    }

    fn plan_line(&mut self, line: &str) -> String {
        let holds_values = ["Cond", "Filter", "Query Text", "Query Parameters", "Key"]
            .iter()
            .any(|k| line.contains(k));
        let Some(colon) = line.find(':').filter(|_| holds_values) else {
            return line.to_string();
        };
        let (head, rest) = line.split_at(colon + 1);
        let trimmed = rest.trim_start();
        let lead = &rest[..rest.len() - trimmed.len()];
        // A JSON plan: `"Filter": "(id = 42)",`.
        if let Some(body) = trimmed.strip_prefix('"') {
            let (body, tail) = match body.rfind('"') {
                Some(j) => (&body[..j], &body[j..]),
                None => (body, ""),
            };
            return format!("{head}{lead}\"{}{tail}", self.sql(body));
        }
        format!("{head}{lead}{}", self.sql(trimmed))
    }
}

/// `18300`, `1.00`, `-5`, `1e3`: a value shown as `<n…>`.
fn is_number(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    v.bytes().next().is_some_and(|c| c.is_ascii_digit())
        && v.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// Whether the last word of `before` (lower-cased) is one of `words`.
fn last_word_in(before: &str, words: &[&str]) -> bool {
    let w = before.trim_end();
    let w = w.rsplit([' ', '(']).next().unwrap_or("");
    let w = w.trim_start_matches('(');
    words.iter().any(|k| k.eq_ignore_ascii_case(w))
}

/// The end of `Key (a, b)=(1, 2)`'s values: the `)` followed by a space, a period or
/// the end of the text (values may hold parentheses).
fn key_values_end(b: &[u8], from: usize) -> usize {
    let mut j = from;
    while j < b.len() {
        if b[j] == b')' && matches!(b.get(j + 1), None | Some(b' ' | b'.' | b'\n')) {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// Anonymizes `r` in place, walking it in a fixed order (names first, so that a name
/// quoted in a message is recognised).
pub fn apply(r: &mut Report, mode: Anonymize) {
    let mut t = Tokens::new(mode);
    names(r, &mut t);
    filter_flags(r, t.names.is_some());
    for q in &mut r.queries {
        q.query = t.sql(&q.query);
        for s in &mut q.samples {
            s.query = t.sql(&s.query);
            s.parameters = s.parameters.as_deref().map(|p| t.sql(p));
            s.plan = s.plan.as_deref().map(|p| t.plan(p));
        }
        for p in &mut q.plans {
            p.plan = t.plan(&p.plan);
        }
    }
    if t.names.is_some() {
        // Server names (`--host`, syslog hostnames, file names): numbered in the
        // table's order, as the other names are.
        for (i, h) in r.hosts.iter_mut().enumerate() {
            h.host = format!("server{}", i + 1);
        }
        for l in r
            .locks
            .by_relation
            .iter_mut()
            .filter(|l| !l.relation_is_oid)
        {
            l.relation = t.relation(&l.relation);
        }
        // `db1.public.orders`: the database is mapped already, schema and table here.
        for m in &mut r.maintenance.tables {
            m.table = match m.table.split_once('.') {
                Some((db, rel)) => format!("{db}.{}", t.relation(rel)),
                None => t.relation(&m.table),
            };
        }
    }
    for q in &mut r.locks.by_query {
        q.query = t.sql(&q.query);
    }
    for b in &mut r.locks.blockers {
        b.waiting_query = b.waiting_query.as_deref().map(|q| t.sql(q));
        b.blocking_query = b.blocking_query.as_deref().map(|q| t.sql(q));
    }
    for g in &mut r.deadlocks.groups {
        for q in &mut g.queries {
            *q = t.sql(q);
        }
    }
    for s in &mut r.deadlocks.samples {
        for p in &mut s.processes {
            p.query = t.sql(&p.query);
        }
    }
    for e in &mut r.errors.by_message {
        e.message = t.message(&e.message);
        e.example = t.message(&e.example);
    }
    for q in &mut r.errors.by_query {
        q.query = t.sql(&q.query);
    }
    for q in &mut r.temp_files.by_query {
        q.query = t.sql(&q.query);
    }
    for e in &mut r.ddl.events {
        e.query = t.sql(&e.query);
    }
    findings(r, &mut t);
    if let Some(p) = &mut r.pgbouncer {
        for m in &mut p.messages {
            m.message = t.message(&m.message);
        }
        for c in &mut p.closings {
            c.reason = t.message(&c.reason);
        }
    }
    for i in &mut r.inputs {
        // A passed-over input's verdict quotes its first line, and the warnings repeat it.
        if let Some(note) = passed_over_note(&i.verdict_note, &mut t) {
            for w in &mut r.warnings {
                *w = w.replace(i.verdict_note.as_str(), &note);
            }
            i.verdict_note = note;
        }
        let path = i.path.clone();
        for ex in &mut i.skipped_examples {
            // `path:line: text`: the text is the log's.
            let rest = ex.strip_prefix(path.as_str()).unwrap_or(ex);
            let (line, text) = rest.split_once(": ").unwrap_or((rest, ""));
            *ex = format!("{}{line}: {}", i.path, t.message(text));
        }
    }
}

/// The findings' SQL and settings values replaced, in their fields and wherever their
/// sentences and evidence quote them (whole or shortened).
fn findings(r: &mut Report, t: &mut Tokens) {
    use crate::diagnose::{short, Detail};
    for f in &mut r.findings {
        let mut swaps: Vec<(String, String)> = Vec::new();
        let sql = |t: &mut Tokens, q: &mut String, swaps: &mut Vec<(String, String)>| {
            let a = t.sql(q);
            if a != *q {
                for n in [70, 80, 100] {
                    swaps.push((short(q, n), short(&a, n)));
                }
                swaps.push((q.clone(), a.clone()));
                *q = a;
            }
        };
        match &mut f.detail {
            Detail::Cause(c) => {
                if let Some(q) = &mut c.statement {
                    sql(t, q, &mut swaps);
                }
                if let Some(n) = &mut c.relation {
                    *n = t.relation(n);
                }
                for p in &mut c.parameters {
                    let v = t.value(&p.value);
                    swaps.push((
                        format!("{} = {}", p.name, p.value),
                        format!("{} = {v}", p.name),
                    ));
                    p.value = v;
                }
            }
            Detail::Regression(d) => {
                sql(t, &mut d.query, &mut swaps);
                for n in &mut d.tables {
                    *n = t.relation(n);
                }
            }
            Detail::LockHotspot(h) => {
                h.relation = t.relation(&h.relation);
                for b in &mut h.blockers {
                    if let Some(q) = &mut b.query {
                        sql(t, q, &mut swaps);
                    }
                }
            }
            Detail::Incident(_) | Detail::Threshold(_) => {}
        }
        // Longest first, so a whole text is replaced before its shortened forms.
        swaps.sort_by_key(|b| std::cmp::Reverse(b.0.len()));
        for (from, to) in &swaps {
            f.sentence = f.sentence.replace(from.as_str(), to);
            for e in &mut f.evidence {
                *e = e.replace(from.as_str(), to);
            }
        }
        // With `names`, the tables and indexes the sentences name in words.
        if t.names.is_some() {
            f.sentence = t.known_words(&f.sentence);
            for e in &mut f.evidence {
                *e = t.known_words(e);
            }
        }
    }
}

/// `... (line 3 reads "<the line>"); if it is one...` with the line's values replaced.
fn passed_over_note(note: &str, t: &mut Tokens) -> Option<String> {
    let open = note.find(" reads \"")? + " reads \"".len();
    let close = note.rfind("\"); if it is one")?;
    let line = note.get(open..close)?;
    Some(format!(
        "{}{}{}",
        &note[..open],
        t.message(line),
        &note[close..]
    ))
}

/// The filters as given name what the user typed: a query regex may hold values, and
/// with `names` the database, user, application and client flags name names. Their
/// values are withheld (the flag stays) in the header, the filters and the warnings.
fn filter_flags(r: &mut Report, names: bool) {
    const VALUES: [&str; 2] = ["--include-query", "--exclude-query"];
    const NAMES: [&str; 8] = [
        "--db",
        "--user",
        "--app",
        "--client",
        "--exclude-db",
        "--exclude-user",
        "--exclude-app",
        "--exclude-client",
    ];
    let withhold = |o: &str| -> Option<String> {
        let (flag, _) = o.split_once(' ')?;
        (VALUES.contains(&flag) || (names && NAMES.contains(&flag)))
            .then(|| format!("{flag} '\u{2026}'"))
    };
    let mut replaced: Vec<(String, String)> = Vec::new();
    let lists = r
        .options
        .iter_mut()
        .chain(r.filters.iter_mut().flat_map(|f| f.applied.iter_mut()));
    for o in lists {
        if let Some(w) = withhold(o) {
            replaced.push((std::mem::replace(o, w.clone()), w));
        }
    }
    for w in &mut r.warnings {
        for (from, to) in &replaced {
            *w = w.replace(from.as_str(), to);
        }
    }
}

/// `--anonymize=names`: databases, users, applications and hosts, in the order of the
/// report's tables; input paths cut to their file names.
fn names(r: &mut Report, t: &mut Tokens) {
    if t.names.is_none() {
        return;
    }
    let tables = [
        (NameKind::Database, &mut r.databases),
        (NameKind::User, &mut r.users),
        (NameKind::Application, &mut r.applications),
    ];
    for (kind, groups) in tables {
        for g in groups.iter_mut() {
            g.name = t.name(kind, &g.name);
        }
    }
    let s = &mut r.sessions;
    let sessions = [
        (NameKind::Database, &mut s.by_database),
        (NameKind::User, &mut s.by_user),
        (NameKind::Application, &mut s.by_application),
        (NameKind::Host, &mut s.by_host),
    ];
    for (kind, groups) in sessions {
        for g in groups.iter_mut() {
            g.name = t.name(kind, &g.name);
        }
    }
    for q in &mut r.queries {
        for s in &mut q.samples {
            s.database = t.name(NameKind::Database, &s.database);
            s.user = t.name(NameKind::User, &s.user);
            s.application = t.name(NameKind::Application, &s.application);
        }
    }
    for m in &mut r.maintenance.tables {
        // `db.schema.table`: the database is a name, the rest identifiers.
        if let Some((db, rest)) = m.table.split_once('.') {
            m.table = format!("{}.{rest}", t.name(NameKind::Database, db));
        }
    }
    if let Some(p) = &mut r.pgbouncer {
        for pool in &mut p.pools {
            pool.database = t.name(NameKind::Database, &pool.database);
            pool.user = t.name(NameKind::User, &pool.user);
        }
    }
    for i in &mut r.inputs {
        let old = std::mem::take(&mut i.path);
        i.path = std::path::Path::new(&old)
            .file_name()
            .map_or_else(|| old.clone(), |f| f.to_string_lossy().into_owned());
        for w in &mut r.warnings {
            *w = w.replace(old.as_str(), &i.path);
        }
        for ex in &mut i.skipped_examples {
            if let Some(rest) = ex.strip_prefix(old.as_str()) {
                *ex = format!("{}{rest}", i.path);
            }
        }
    }
    r.server = super::model::server_of(&r.inputs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_token_everywhere() {
        let mut t = Tokens::new(Anonymize::Values);
        assert_eq!(t.sql("$1 = '18300'"), "$1 = '<n1>'");
        assert_eq!(
            t.sql("SELECT * FROM orders WHERE customer_id = 18300 AND s = 'paid'"),
            "SELECT * FROM orders WHERE customer_id = <n1> AND s = '<s1>'"
        );
        assert_eq!(
            t.message("Key (customer_id)=(18300) is not present in table \"customers\"."),
            "Key (customer_id)=(<n1>) is not present in table \"customers\"."
        );
        assert_eq!(
            t.message("invalid input syntax for type bigint: \"109575;\" at character 42"),
            "invalid input syntax for type bigint: \"<s2>\" at character 42"
        );
        assert_eq!(
            t.message("while updating tuple (0,5) in relation \"orders\""),
            "while updating tuple (<n2>,<n3>) in relation \"orders\""
        );
        assert_eq!(
            t.message("Key (order_ref)=(ORD-00012345) already exists."),
            "Key (order_ref)=(<s3>) already exists."
        );
        assert_eq!(
            t.message(
                "Process 24931 waits for ShareLock on transaction 1234; blocked by process 24925."
            ),
            "Process 24931 waits for ShareLock on transaction 1234; blocked by process 24925."
        );
    }

    #[test]
    fn passed_over_line_anonymized() {
        let mut t = Tokens::new(Anonymize::Values);
        let note = "passed over: not a PostgreSQL log pgferret recognises (line 1 reads \"id=18300 name='Ann'\"); if it is one, pass --prefix '<log_line_prefix>' or --format";
        assert_eq!(
            passed_over_note(note, &mut t).unwrap(),
            "passed over: not a PostgreSQL log pgferret recognises (line 1 reads \"id=<n1> name='<s1>'\"); if it is one, pass --prefix '<log_line_prefix>' or --format"
        );
    }

    #[test]
    fn plans_keep_costs() {
        let mut t = Tokens::new(Anonymize::Values);
        let plan = "Index Scan using orders_pkey on orders  (cost=0.29..8.31 rows=1 width=8)\n  Index Cond: (id = 42)\n  \"Filter\": \"(status = 'paid'::text)\",";
        assert_eq!(
            t.plan(plan),
            "Index Scan using orders_pkey on orders  (cost=0.29..8.31 rows=1 width=8)\n  Index Cond: (id = <n1>)\n  \"Filter\": \"(status = '<s1>'::text)\","
        );
    }

    #[test]
    fn names_only_when_asked() {
        let mut t = Tokens::new(Anonymize::Values);
        assert_eq!(t.name(NameKind::User, "alice"), "alice");
        let mut t = Tokens::new(Anonymize::Names);
        assert_eq!(t.name(NameKind::User, "alice"), "user1");
        assert_eq!(t.name(NameKind::User, "bob"), "user2");
        assert_eq!(t.name(NameKind::User, "alice"), "user1");
        assert_eq!(t.name(NameKind::Host, "[local]"), "[local]");
        assert_eq!(
            t.message("password authentication failed for user \"alice\""),
            "password authentication failed for user \"user1\""
        );
    }
}
