//! Property tests of the normalizer: what must hold for every input, not just the
//! examples in the unit tests.
//!
//! - lexing and normalizing arbitrary bytes never panics, and `fingerprint` always
//!   equals the fingerprint `normalize_into` returns;
//! - normalizing twice changes nothing (text and fingerprint);
//! - re-spacing, comments, re-casing keywords and unquoted names, other literal values
//!   and other list lengths never change the fingerprint of a statement;
//! - the fingerprint of the normalized text is the source's, for any bytes (invalid
//!   UTF-8 included: the text shows it as U+FFFD, and so does the hash);
//! - two statements whose normalized texts differ have different fingerprints, from
//!   near misses (one byte changed, one name's suffix) to unrelated noise.
//!
//! Statements are rendered from templates: a template is a list of pieces, and one
//! template rendered twice with different random choices must fingerprint the same.

use pgferret::normalize::{normalize, Normalizer};
use proptest::prelude::*;

/// A piece of a statement template.
#[derive(Debug, Clone)]
enum Piece {
    /// A keyword or unquoted name: rendered in any case.
    Word(&'static str),
    /// Punctuation or operator, rendered as is.
    Sym(&'static str),
    /// A constant: any literal form, or a parameter.
    Lit,
    /// `(c, c, ...)` of 1..6 constants.
    List,
    /// `(c, c), (c, c), ...`: 1..5 rows of two constants.
    Rows,
}

use Piece::*;

/// Statement shapes seen in logs, with every kind of spot a constant can take.
fn templates() -> Vec<Vec<Piece>> {
    vec![
        vec![
            Word("select"),
            Word("a"),
            Sym(","),
            Word("b"),
            Word("from"),
            Word("t"),
            Word("where"),
            Word("a"),
            Sym("="),
            Lit,
        ],
        vec![
            Word("SELECT"),
            Sym("*"),
            Word("FROM"),
            Word("t"),
            Word("WHERE"),
            Word("id"),
            Word("IN"),
            List,
            Word("and"),
            Word("x"),
            Sym("<="),
            Lit,
        ],
        vec![
            Word("select"),
            Word("id"),
            Word("from"),
            Word("t"),
            Word("where"),
            Word("id"),
            Sym("="),
            Word("any"),
            Sym("("),
            Word("array"),
            Sym("["),
            Lit,
            Sym(","),
            Lit,
            Sym("]"),
            Sym(")"),
        ],
        vec![
            Word("insert"),
            Word("into"),
            Word("t"),
            Sym("("),
            Word("a"),
            Sym(","),
            Word("b"),
            Sym(")"),
            Word("values"),
            Rows,
            Word("returning"),
            Word("a"),
        ],
        vec![
            Word("update"),
            Word("t"),
            Word("set"),
            Word("x"),
            Sym("="),
            Word("x"),
            Sym("+"),
            Lit,
            Word("where"),
            Word("k"),
            Sym("->>"),
            Lit,
            Sym("="),
            Lit,
        ],
        vec![
            Word("select"),
            Word("a"),
            Word("from"),
            Word("t"),
            Word("order"),
            Word("by"),
            Word("a"),
            Word("desc"),
            Word("limit"),
            Lit,
            Word("offset"),
            Lit,
        ],
        vec![
            Word("select"),
            Word("count"),
            Sym("("),
            Sym("*"),
            Sym(")"),
            Word("from"),
            Word("t"),
            Word("where"),
            Word("d"),
            Sym(">"),
            Word("now"),
            Sym("("),
            Sym(")"),
            Sym("-"),
            Lit,
            Sym("::"),
            Word("interval"),
        ],
        vec![
            Word("select"),
            Lit,
            Sym("::"),
            Word("text"),
            Sym(","),
            Word("case"),
            Word("when"),
            Word("a"),
            Sym(">"),
            Lit,
            Word("then"),
            Lit,
            Word("else"),
            Lit,
            Word("end"),
        ],
        vec![
            Word("delete"),
            Word("from"),
            Word("t"),
            Word("where"),
            Word("a"),
            Word("not"),
            Word("in"),
            List,
            Word("or"),
            Word("b"),
            Word("is"),
            Word("null"),
        ],
    ]
}

/// Every literal form of the lexer, plus parameters and the constants that are keywords.
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..1000, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        (0u32..1000).prop_map(|a| format!("{a}e-3")),
        Just(".5".to_string()),
        Just("0x1F".to_string()),
        Just("1_000".to_string()),
        "[a-z' ]{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        "[a-z]{0,5}".prop_map(|s| format!("E'{s}\\'\\\\'")),
        "[a-z]{0,5}".prop_map(|s| format!("$tag${s}$$ 'x' $tag$")),
        Just("$$it's$$".to_string()),
        Just("B'1010'".to_string()),
        Just("X'FF'".to_string()),
        Just("U&'d\\0061t'".to_string()),
        Just("'multi'\n  'line'".to_string()),
        (1u32..30).prop_map(|n| format!("${n}")),
        Just("true".to_string()),
        Just("NULL".to_string()),
    ]
}

/// Whitespace or a comment between two pieces.
fn gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(" "),
        Just("  "),
        Just("\n"),
        Just("\t"),
        Just(" /* c */ "),
        Just(" /* a /* nested */ b */ "),
        Just(" -- line\n"),
        Just("\r\n  "),
    ]
}

/// The random choices of one rendering.
#[derive(Debug, Clone)]
struct Choices {
    gaps: Vec<&'static str>,
    upper: Vec<bool>,
    lits: Vec<String>,
    lens: Vec<usize>,
    end: &'static str,
}

fn choices() -> impl Strategy<Value = Choices> {
    (
        prop::collection::vec(gap(), 64),
        prop::collection::vec(any::<bool>(), 32),
        prop::collection::vec(literal(), 64),
        prop::collection::vec(1usize..6, 8),
        prop_oneof![Just(""), Just(";"), Just(" ;\n"), Just("\n")],
    )
        .prop_map(|(gaps, upper, lits, lens, end)| Choices {
            gaps,
            upper,
            lits,
            lens,
            end,
        })
}

fn render(tpl: &[Piece], c: &Choices) -> String {
    let (mut g, mut w, mut l, mut n) = (0, 0, 0, 0);
    let mut lit = || {
        l += 1;
        c.lits[l % c.lits.len()].clone()
    };
    let mut out = String::new();
    for piece in tpl {
        out.push_str(c.gaps[g % c.gaps.len()]);
        g += 1;
        match piece {
            Word(s) => {
                w += 1;
                let up = c.upper[w % c.upper.len()];
                out.push_str(&if up {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                });
            }
            Sym(s) => out.push_str(s),
            Lit => out.push_str(&lit()),
            List => {
                n += 1;
                let items: Vec<String> = (0..c.lens[n % c.lens.len()]).map(|_| lit()).collect();
                out.push_str(&format!("({})", items.join(", ")));
            }
            Rows => {
                n += 1;
                let rows: Vec<String> = (0..c.lens[n % c.lens.len()])
                    .map(|_| format!("({}, {})", lit(), lit()))
                    .collect();
                out.push_str(&rows.join(", "));
            }
        }
    }
    out.push_str(c.end);
    out
}

/// SQL-flavoured noise: the byte patterns that steer the lexer, in any order.
fn sqlish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("'"),
        Just("\""),
        Just("$"),
        Just("$$"),
        Just("$a$"),
        Just("$1"),
        Just("E'"),
        Just("U&'"),
        Just("U&\""),
        Just(" UESCAPE "),
        Just("/*"),
        Just("*/"),
        Just("--"),
        Just("\n"),
        Just(" "),
        Just("\\"),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just(","),
        Just(";"),
        Just("."),
        Just("::"),
        Just(":"),
        Just("-"),
        Just("+"),
        Just("="),
        Just("<"),
        Just("@"),
        Just("0x"),
        Just("1"),
        Just("2.5e"),
        Just("_"),
        Just("select"),
        Just("IN"),
        Just("values"),
        Just("array"),
        Just("do"),
        Just("create"),
        Just("as"),
        Just("order by"),
        Just("is"),
        Just("null"),
        Just("x"),
        Just("é"),
        Just("/*, ... */"),
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

/// [`sqlish`] noise with bytes that are not UTF-8 (lone continuation bytes, cut
/// sequences, bytes never valid) and other raw bytes between the atoms.
fn sqlish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => sqlish().prop_map(String::into_bytes),
        1 => prop::sample::select(vec![
            &b"\xdb"[..],
            b"\xff",
            b"\xfe\xfe",
            b"\xc3",
            b"\xe2\x82",
            b"\xf0\x9f\x98",
            b"\x80",
            b"\xc3\xa9",
            b"\0",
            b"\x7f",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// A name as generated schemas, partitions and tenants have them: letters, digits, `_`,
/// any case, sometimes quoted.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,20}",
        "[a-z]{1,8}_[0-9]{1,7}",
        "[A-Za-z_][A-Za-z0-9_$]{0,70}",
        "[A-Za-z0-9 _\"é]{1,12}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
    ]
}

/// `sql` with the byte at `at` (wrapped) replaced by `with`, or `with` inserted there.
fn mutate(sql: &[u8], at: usize, with: u8, insert: bool) -> Vec<u8> {
    let mut out = sql.to_vec();
    let i = if out.is_empty() { 0 } else { at % out.len() };
    if insert || out.is_empty() {
        out.insert(i, with);
    } else {
        out[i] = with;
    }
    out
}

/// Normalized text and fingerprint of bytes.
fn norm_bytes(sql: &[u8]) -> (String, u64) {
    let mut out = String::new();
    let fp = Normalizer::new().normalize_into(sql, &mut out);
    (out, fp)
}

fn fp(sql: &str) -> u64 {
    normalize(sql).1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut n = Normalizer::new();
        let mut out = String::new();
        let with_text = n.normalize_into(&bytes, &mut out);
        prop_assert_eq!(with_text, n.fingerprint(&bytes));
    }

    #[test]
    fn sqlish_noise_never_panics_and_is_idempotent(sql in sqlish()) {
        let (text, fp1) = normalize(&sql);
        let (again, fp2) = normalize(&text);
        prop_assert_eq!(&again, &text, "from {:?}", sql);
        prop_assert_eq!(fp1, fp2, "text {:?} from {:?}", text, sql);
    }

    #[test]
    fn normalizing_twice_changes_nothing(t in 0..9usize, c in choices()) {
        let sql = render(&templates()[t], &c);
        let (text, fp1) = normalize(&sql);
        let (again, fp2) = normalize(&text);
        prop_assert_eq!(&again, &text);
        prop_assert_eq!(fp1, fp2);
    }

    #[test]
    fn the_text_fingerprints_as_its_source(sql in sqlish_bytes()) {
        let (text, fp1) = norm_bytes(&sql);
        let mut n = Normalizer::new();
        prop_assert_eq!(n.fingerprint(text.as_bytes()), fp1, "text {:?} from {:?}", text, sql);
        prop_assert_eq!(n.fingerprint(&sql), fp1);
    }

    #[test]
    fn one_byte_changed_changes_the_fingerprint_unless_the_text_is_the_same(
        sql in sqlish_bytes(),
        at in any::<usize>(),
        with in prop::sample::select(b"aZ_09.,'\"$ ;(-/*\xdb\xff".to_vec()),
        insert in any::<bool>(),
    ) {
        let other = mutate(&sql, at, with, insert);
        let (a, b) = (norm_bytes(&sql), norm_bytes(&other));
        prop_assert_eq!(a.0 == b.0, a.1 == b.1, "{:?} / {:?}", a.0, b.0);
    }

    #[test]
    fn different_names_have_different_fingerprints(
        a in name(),
        b in name(),
        t in 0..3usize,
    ) {
        let render = |n: &str| match t {
            0 => format!("select * from {n} where id = 1"),
            1 => format!("insert into shard_00042.{n} (a, {n}) values (1, 'x')"),
            _ => format!("select {n}.a, 2 from {n}"),
        };
        let (x, y) = (normalize(&render(&a)), normalize(&render(&b)));
        prop_assert_eq!(x.0 == y.0, x.1 == y.1, "{:?} / {:?}", x.0, y.0);
    }

    #[test]
    fn unrelated_statements_have_different_fingerprints(a in sqlish_bytes(), b in sqlish_bytes()) {
        let (x, y) = (norm_bytes(&a), norm_bytes(&b));
        prop_assert_eq!(x.0 == y.0, x.1 == y.1, "{:?} / {:?}", x.0, y.0);
    }

    #[test]
    fn layout_case_values_and_list_lengths_never_matter(t in 0..9usize, a in choices(), b in choices()) {
        let tpl = &templates()[t];
        let (x, y) = (render(tpl, &a), render(tpl, &b));
        prop_assert_eq!(fp(&x), fp(&y), "\n{}\n{}\n=> {}\n=> {}", x, y, normalize(&x).0, normalize(&y).0);
    }
}

#[test]
fn templates_differ_from_each_other() {
    let c = Choices {
        gaps: vec![" "],
        upper: vec![false],
        lits: vec!["1".into()],
        lens: vec![2],
        end: "",
    };
    let fps: std::collections::BTreeSet<u64> =
        templates().iter().map(|t| fp(&render(t, &c))).collect();
    assert_eq!(fps.len(), templates().len());
}
