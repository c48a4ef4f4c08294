//! Unit tests: one per lexical form, with the expected normalized text.

use super::*;

fn norm(sql: &str) -> String {
    normalize(sql).0
}

fn same_fp(a: &str, b: &str) -> bool {
    normalize(a).1 == normalize(b).1
}

#[test]
fn whitespace_comments_and_case() {
    assert_eq!(
        norm("select\n\t*  FROM   T -- trailing\n"),
        "SELECT * FROM t"
    );
    assert_eq!(norm("select /* a /* nested */ comment */ 1"), "SELECT $1");
    assert_eq!(norm("SELECT a FROM t;"), "SELECT a FROM t");
    assert!(same_fp("select a from t", "SELECT A\nFROM T;  "));
    assert!(same_fp(
        "select a from t",
        "/* app */ select a -- x\n from t"
    ));
}

#[test]
fn identifiers() {
    assert_eq!(
        norm(r#"SELECT "MyCol", "a""b" FROM "Sch".tbl"#),
        r#"SELECT "MyCol", "a""b" FROM "Sch".tbl"#
    );
    assert!(same_fp(r#"select "users""#, "select USERS"));
    assert!(!same_fp(r#"select "Users""#, "select users"));
    assert_eq!(norm("select a$b, _x1 from t"), "SELECT a$b, _x1 FROM t");
    assert_eq!(
        norm(r#"select U&"d!0061t" UESCAPE '!' from t"#),
        r#"SELECT U&"d!0061t" UESCAPE '!' FROM t"#
    );
}

#[test]
fn string_constants() {
    assert_eq!(
        norm("select 'it''s', E'a\\'b', B'101', X'1F', N'nat'"),
        "SELECT $1, $2, $3, $4, $5"
    );
    assert_eq!(
        norm("select U&'d\\0061t', U&'d!0061t' UESCAPE '!' , 1"),
        "SELECT $1, $2, $3"
    );
    assert_eq!(norm("select 'foo'\n   'bar' as x"), "SELECT $1 AS x");
    assert_eq!(norm("select 'foo' 'bar'"), "SELECT $1 $2");
    assert_eq!(norm("select $$a 'b' $1$$, $tag$x$$y$tag$"), "SELECT $1, $2");
    assert_eq!(
        norm("select $1, $22 from t where a = $3"),
        "SELECT $1, $2 FROM t WHERE a = $3"
    );
}

#[test]
fn numbers() {
    assert_eq!(
        norm("select 1, 1.5, .5, 1., 1e10, 2.5E-3, 0x1F, 0o17, 0b101, 1_000_000"),
        "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
    );
    assert_eq!(norm("select a - 1, -2, b*-3"), "SELECT a - $1, $2, b * $3");
    assert!(same_fp(
        "select * from t where a = -1",
        "select * from t where a = 1"
    ));
    assert_eq!(
        norm("select 1::int, 'x'::text, interval '1 day', date '2024-01-01'"),
        "SELECT $1::INT, $2::text, INTERVAL $3, date $4"
    );
}

#[test]
fn operators_and_punctuation() {
    assert_eq!(
        norm("select a<=b, j->>'k', j @> '{}' , x||y, t.a::int[] from t"),
        "SELECT a <= b, j ->> $1, j @> $2, x || y, t.a::INT[] FROM t"
    );
    assert_eq!(
        norm("select a[1:2], f(x => 1) from t"),
        "SELECT a[$1 : $2], f(x => $3) FROM t"
    );
    assert!(!same_fp(
        "select * from t where a = 1",
        "select * from t where b = 1"
    ));
    assert!(!same_fp("select t.a from t", "select a from t"));
    assert!(!same_fp("select a < b", "select a <= b"));
}

#[test]
fn lists_collapse() {
    assert_eq!(
        norm("select * from t where id in (1, 2, 3)"),
        "SELECT * FROM t WHERE id IN ($1 /*, ... */)"
    );
    assert_eq!(
        norm("select * from t where id IN ($1,$2)"),
        "SELECT * FROM t WHERE id IN ($1 /*, ... */)"
    );
    assert_eq!(
        norm("select * from t where id = any(array[1,2,3])"),
        "SELECT * FROM t WHERE id = ANY(ARRAY[$1 /*, ... */])"
    );
    assert_eq!(
        norm("insert into t (a, b) values (1,'a'), (2,'b') returning a"),
        "INSERT INTO t(a, b) VALUES ($1, $2) /*, ... */ RETURNING a"
    );
    assert_eq!(
        norm("select * from t where d in (date '2024-01-01', '2024-02-01'::date)"),
        "SELECT * FROM t WHERE d IN (date $1 /*, ... */)"
    );
    assert!(same_fp(
        "select 1 where a in (1)",
        "select 1 where a in (1, 2, 3, 4)"
    ));
    assert!(same_fp(
        "insert into t values (1, 2)",
        "insert into t values (1, 2), (3, 4), (5, 6);"
    ));
    assert_eq!(
        norm("select * from t where a in (b, 1)"),
        "SELECT * FROM t WHERE a IN (b, $1)"
    );
    assert_eq!(
        norm("select * from t where a in (select b from u where c in (1,2))"),
        "SELECT * FROM t WHERE a IN (SELECT b FROM u WHERE c IN ($1 /*, ... */))"
    );
    assert_eq!(
        norm("insert into t values (1, now()), (2, now())"),
        "INSERT INTO t VALUES ($1, now()), ($2, now())"
    );
    assert_eq!(
        norm("insert into t values (1), (2), (now())"),
        "INSERT INTO t VALUES ($1) /*, ... */, (now())"
    );
}

/// Rows of `n` row values: `((1, 'v1'), (2, 'v2'), ...)` without the outer brackets.
fn rows(n: usize) -> String {
    (1..=n)
        .map(|i| format!("({i}, 'v{i}'::text)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Regression: a 100,000-row `IN ((..), (..))` stayed as long as it came, one
/// fingerprint per length, and made a 6.8 MB report.
#[test]
fn row_value_lists_collapse_whatever_their_length() {
    let text = "SELECT * FROM t WHERE (a, b) IN (($1, $2::text) /*, ... */)";
    let sql = |n| format!("select * from t where (a, b) in ({})", rows(n));
    for n in [1, 2, 100, 100_000] {
        assert_eq!(norm(&sql(n)), text, "{n} rows");
        assert!(same_fp(&sql(n), &sql(2)), "{n} rows");
    }
    let values = "INSERT INTO t(a, b, c) VALUES (DEFAULT, $1, ($2, $3)) /*, ... */";
    for n in [1, 2, 100, 10_000] {
        let sql = format!(
            "insert into t (a, b, c) values {}",
            (0..n)
                .map(|i| format!("(default, {i}, ({i}, 'x'))"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert_eq!(norm(&sql), values, "{n} rows");
    }
    assert!(same_fp(
        "select 1 where (a, b) in ((1, 2), (3, 4))",
        "select 1 where (a, b) in ((5, 6))"
    ));
    // Not constants: left as they are.
    assert_eq!(
        norm("select * from t where (a, b) in ((1, b), (2, 3))"),
        "SELECT * FROM t WHERE (a, b) IN (($1, b), ($2, $3))"
    );
    assert_eq!(
        norm("select * from t where a in (1, (select 2))"),
        "SELECT * FROM t WHERE a IN ($1, (SELECT $2))"
    );
    assert_eq!(
        norm("select * from t where a in (select 1)"),
        "SELECT * FROM t WHERE a IN (SELECT $1)"
    );
    // Normalizing twice changes nothing.
    let once = norm(&format!("select 1 where (a, b) in ({})", rows(3)));
    assert_eq!(norm(&once), once);
}

#[test]
fn grammar_facts() {
    assert_eq!(
        norm("select * from t where a is null and b is not null and c = null and d = true"),
        "SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL AND c = $1 AND d = $2"
    );
    assert_eq!(
        norm("select a, b from t order by 2, 1 desc limit 10"),
        "SELECT a, b FROM t ORDER BY 2, 1 DESC LIMIT $1"
    );
    assert!(!same_fp(
        "select a, b from t order by 1",
        "select a, b from t order by 2"
    ));
    assert_eq!(
        norm("select a from t group by a + 1 order by a"),
        "SELECT a FROM t GROUP BY a + $1 ORDER BY a"
    );
    assert_eq!(
        norm("create table t (id int not null default 0)"),
        "CREATE TABLE t(id INT NOT NULL DEFAULT $1)"
    );
}

#[test]
fn code_bodies() {
    assert_eq!(
        norm("DO $$ BEGIN PERFORM 1; END $$"),
        "DO $$ BEGIN PERFORM $1; END $$"
    );
    assert!(!same_fp(
        "do $$begin perform f(1); end$$",
        "do $$begin perform g(1); end$$"
    ));
    assert_eq!(
        norm("create function f() returns int language sql as $f$ select 1 $f$"),
        "CREATE FUNCTION f() RETURNS INT LANGUAGE sql AS $f$ SELECT $1 $f$"
    );
    assert_eq!(norm("DO $$ BEGIN"), "DO $$ BEGIN $$");
}

#[test]
fn truncated_and_garbage() {
    assert_eq!(
        norm("select * from t where a = 'unterminated"),
        "SELECT * FROM t WHERE a = $1"
    );
    assert_eq!(norm("select 1 /* cut"), "SELECT $1");
    assert_eq!(norm("select \"cut"), "SELECT cut");
    assert_eq!(norm("select \"a\"\"b"), "SELECT \"a\"\"b\"");
    assert_eq!(norm("select a . .. b"), "SELECT a. .. b");
    assert_eq!(norm("select $q$ cut"), "SELECT $1");
    assert_eq!(
        norm("select * from t where a in (1, 2"),
        "SELECT * FROM t WHERE a IN ($1, $2"
    );
    let mut n = Normalizer::new();
    let mut out = String::new();
    let fp = n.normalize_into(b"select \xff\xfe from \x00 t \\ {", &mut out);
    assert_eq!(fp, n.fingerprint(b"select \xff\xfe from \x00 t \\ {"));
}

#[test]
fn fingerprints_are_pinned() {
    // Changing these values breaks users' saved fingerprints (a new FINGERPRINT_VERSION).
    // The algorithm is written down in hash.rs; these values come from an independent
    // Python version of that description, testdata/normalize/fingerprint_reference.py
    // (token lists written by hand, not by pgferret's lexer; XXH3 from the `xxhash`
    // package).
    // A length of two LEB128 bytes; over 256 bytes of encoding (streamed into XXH3),
    // in one token and in many small ones.
    let long = format!("select {}", "x".repeat(200));
    let longer = format!("select {} from t", "y".repeat(1000));
    let many = format!(
        "select {} from t",
        (0..100)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases: [(&[u8], &str); 15] = [
        (b"", "2d06800538d394c2"),
        (b"SELECT 1", "6b7fb20cb00bc837"),
        (
            b"select * from pgbench_accounts where aid = $1",
            "377a1ac4b973f8be",
        ),
        (b"SELECT * FROM t WHERE id IN (1, 2, 3)", "67c9580248c296b7"),
        (b"select * from tbl_10408", "63548c8043caf1e5"),
        (b"select * from tbl_10485", "2d4f92b953070ce9"),
        (
            br#"SELECT "MyCol", "a""b" FROM shard_00042.Orders ORDER BY 2"#,
            "c3caed67f298b57e",
        ),
        (long.as_bytes(), "ac79b039f5fc23c1"),
        (longer.as_bytes(), "96e7f74a23d6f508"),
        (many.as_bytes(), "b3cc7729f0a0dcc5"),
        (b"DO $$ BEGIN PERFORM 1; END $$", "fb430d250b85986e"),
        (b"/\xdb", "047c5bb4108998b0"),
        (b"select \xc3\xa9\xff\xfe x", "1a8a78904c5c6aea"),
        (b"select \xe2\x82X", "a316c85d45ee0dae"),
        (br#"SELECT "select", "orders" FROM t"#, "6a4c36a9a40fa5a6"),
    ];
    let mut n = Normalizer::new();
    for (sql, hex) in cases {
        let shown = String::from_utf8_lossy(sql);
        assert_eq!(fingerprint_hex(n.fingerprint(sql)), hex, "{shown}");
    }
}

#[test]
fn a_quoted_name_is_the_unquoted_one_unless_it_cannot_be() {
    // Found by the property test (`\xdb` and `"\xdb"`): one name, one text.
    let mut n = Normalizer::new();
    let mut text = |sql: &[u8]| {
        let mut out = String::new();
        n.normalize_into(sql, &mut out);
        (out, n.fingerprint(sql))
    };
    assert_eq!(text(br#"select "orders""#), text(b"select orders"));
    assert_eq!(text(b"select \"\xdb\""), text(b"select \xdb"));
    for (quoted, bare) in [
        (&br#"select "select""#[..], &b"select select"[..]),
        (br#"select "Orders""#, b"select Orders"),
        (br#"select "a b""#, b"select a_b"),
    ] {
        let (q, b) = (text(quoted), text(bare));
        assert_ne!(q.0, b.0);
        assert_ne!(q.1, b.1, "{} / {}", q.0, b.0);
    }
}

#[test]
fn invalid_utf8_fingerprints_as_its_text() {
    // `/\xdb` is shown as `/ \u{fffd}`: the fingerprint of that text is the source's.
    for sql in [
        &b"/\xdb"[..],
        b"select \xff\xfe from \"a\xdb\"\"\xdc\" where \xe2\x82 = 1",
    ] {
        let mut n = Normalizer::new();
        let mut text = String::new();
        let fp = n.normalize_into(sql, &mut text);
        assert!(text.contains('\u{fffd}'), "{text}");
        assert_eq!(n.fingerprint(text.as_bytes()), fp, "{text}");
    }
}

/// The statements of `testdata/normalize/statements.sql0` (the bench corpus).
fn corpus() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/normalize/statements.sql0"
    );
    let data = std::fs::read(path).expect("testdata/normalize/statements.sql0");
    data.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn fingerprint_agrees_with_the_text_path_on_the_corpus() {
    let mut fast = Normalizer::new();
    let mut slow = Normalizer::new();
    let mut out = String::new();
    for sql in corpus() {
        let fp = fast.fingerprint(&sql);
        assert_eq!(
            fp,
            slow.normalize_into(&sql, &mut out),
            "{}",
            String::from_utf8_lossy(&sql)
        );
        assert_eq!(fp, normalize(&out).1, "{out}");
    }
}

/// A deterministic workload for instruction counts, not a check:
/// `valgrind --tool=callgrind <test binary> --ignored --exact normalize::tests::callgrind_fingerprint_corpus`.
/// `PGFERRET_REPS=200` makes it long enough to time (`time`, user seconds).
#[test]
#[ignore]
fn callgrind_fingerprint_corpus() {
    let corpus = corpus();
    let reps = std::env::var("PGFERRET_REPS").map_or(5, |r| r.parse().unwrap_or(5));
    let mut n = Normalizer::new();
    let mut acc = 0u64;
    for _ in 0..reps {
        for sql in &corpus {
            acc ^= std::hint::black_box(&mut n).fingerprint(sql);
        }
    }
    std::hint::black_box(acc);
}
