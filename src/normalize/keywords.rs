//! The keyword list used to upper-case keywords in the display text.
//!
//! Display only: the fingerprint folds every unquoted word to lower case, so whether a
//! word is a keyword never changes a fingerprint. The list holds the keywords of
//! PostgreSQL's `kwlist.h` that appear in everyday SQL (all reserved ones and the common
//! unreserved ones); a missing keyword merely shows in lower case. Unreserved keywords
//! that are far more often column names (`name`, `data`, `value`, `key`...) are left
//! out, so `SELECT id, name` does not read `SELECT id, NAME`.

/// Sorted (byte order) so [`is_keyword`] can binary-search it.
#[rustfmt::skip]
pub(crate) const KEYWORDS: &[&str] = &[
    "abort", "absolute", "add", "after", "aggregate", "all", "also", "alter", "always", "analyse",
    "analyze", "and", "any", "array", "as", "asc", "asymmetric", "at", "authorization", "begin",
    "between", "bigint", "binary", "bit", "boolean", "both", "by", "cache", "called", "cascade",
    "case", "cast", "chain", "char", "character", "check", "checkpoint", "close", "cluster",
    "coalesce", "collate", "collation", "column", "columns", "commit", "committed", "concurrently",
    "conflict", "constraint", "constraints", "continue", "copy", "cost", "create", "cross", "csv",
    "cube", "current", "current_catalog", "current_date", "current_role", "current_schema",
    "current_time", "current_timestamp", "current_user", "cursor", "cycle", "database", "day",
    "deallocate", "dec", "decimal", "declare", "default", "defaults", "deferrable", "deferred",
    "definer", "delete", "delimiter", "desc", "detach", "diagnostics", "disable", "discard",
    "distinct", "do", "domain", "double", "drop", "each", "else", "elsif", "enable", "encoding",
    "end", "enum", "escape", "except", "exception", "exclude", "excluding", "exclusive", "execute",
    "exists", "exit", "explain", "extension", "extract", "false", "fetch", "filter", "first",
    "float", "following", "for", "force", "foreach", "foreign", "format", "forward", "freeze",
    "from", "full", "function", "functions", "generated", "global", "grant", "granted", "greatest",
    "group", "grouping", "groups", "having", "hold", "hour", "identity", "if", "ilike",
    "immediate", "immutable", "in", "include", "including", "increment", "index", "indexes",
    "info", "inherit", "inherits", "initially", "inner", "inout", "insert", "instead", "int",
    "integer", "intersect", "interval", "into", "invoker", "is", "isnull", "isolation", "join",
    "json", "language", "large", "last", "lateral", "leading", "least", "left", "like", "limit",
    "listen", "load", "local", "localtime", "localtimestamp", "lock", "locked", "logged", "loop",
    "match", "materialized", "maxvalue", "merge", "minute", "minvalue", "month", "move",
    "national", "natural", "nchar", "new", "next", "no", "none", "not", "nothing", "notice",
    "notify", "notnull", "nowait", "null", "nullif", "nulls", "numeric", "of", "off", "offset",
    "oids", "old", "on", "only", "operator", "option", "or", "order", "ordinality", "others",
    "out", "outer", "over", "overlaps", "overlay", "overriding", "owned", "parallel", "partial",
    "partition", "perform", "placing", "policy", "position", "preceding", "precision", "prepare",
    "prepared", "preserve", "primary", "prior", "privileges", "procedure", "program",
    "publication", "raise", "range", "read", "real", "reassign", "recursive", "ref", "references",
    "referencing", "refresh", "reindex", "relative", "release", "rename", "repeatable", "replace",
    "replica", "reset", "restart", "restrict", "return", "returning", "returns", "revoke", "right",
    "role", "rollback", "rollup", "routine", "row", "rows", "rule", "savepoint", "schema",
    "schemas", "scroll", "search", "second", "security", "select", "sequence", "serializable",
    "server", "session", "session_user", "set", "setof", "sets", "share", "show", "similar",
    "simple", "skip", "smallint", "snapshot", "some", "stable", "standalone", "start", "statement",
    "statistics", "stdin", "stdout", "storage", "stored", "strict", "strip", "subscription",
    "substring", "symmetric", "system", "table", "tables", "tablesample", "tablespace", "temp",
    "template", "temporary", "then", "ties", "time", "timestamp", "to", "trailing", "transaction",
    "treat", "trigger", "trim", "true", "truncate", "trusted", "type", "unbounded", "uncommitted",
    "unique", "unknown", "unlisten", "unlogged", "until", "update", "user", "using", "vacuum",
    "valid", "validate", "values", "varchar", "variadic", "varying", "verbose", "view", "views",
    "volatile", "warning", "when", "where", "while", "whitespace", "window", "with", "within",
    "without", "work", "wrapper", "write", "xml", "year", "yes", "zone",
];

/// Whether `word` (any case) is a keyword. Words longer than any keyword are not.
pub(crate) fn is_keyword(word: &[u8]) -> bool {
    let mut buf = [0u8; 24];
    let Some(lower) = buf.get_mut(..word.len()) else {
        return false;
    };
    for (d, s) in lower.iter_mut().zip(word) {
        *d = s.to_ascii_lowercase();
    }
    KEYWORDS
        .binary_search_by(|k| k.as_bytes().cmp(lower))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_for_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lookup_ignores_case() {
        assert!(is_keyword(b"SELECT") && is_keyword(b"select") && is_keyword(b"Current_Timestamp"));
        assert!(!is_keyword(b"pgbench_accounts") && !is_keyword(b"") && !is_keyword(b"selectx"));
    }
}
