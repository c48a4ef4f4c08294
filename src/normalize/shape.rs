//! A statement's *shape*: its bytes with each plain string literal and each plain
//! integer replaced by one placeholder byte, so that statements that differ only in
//! their literal values (`... VALUES ('billing', 'adjusted 10114 by 920')`, the same
//! code with other values) share one shape, found in the cache without lexing.
//!
//! A shape stands for a fingerprint only if every text of that shape lexes to the same
//! tokens but for the values of the replaced literals, which the normalizer turns into
//! constants (hashed as a bare tag, shown as `$n`): then the fingerprint and the
//! normalized text are the same for all of them. So [`shape`] covers only what it can
//! prove, and declines the rest (the text is then lexed, as before):
//!
//! - a string replaced is `'...'` (`''` inside) starting after a byte that is no
//!   identifier character nor `&`, so not `E'...'`, `B'...'`, `X'...'`, `N'...'` or
//!   `U&'...'`, and not followed by blanks holding a newline and another quote (SQL's
//!   string continuation); an unterminated string declines;
//! - an integer replaced is a run of digits after a byte that is no identifier
//!   character nor `.`, and before one that is neither (so not `1.5`, `.5`, `1e5`,
//!   `0x1F`, `1_000`, `1..5`); digits inside names are kept (`tbl_10408`);
//! - `$` starting a token (parameters, dollar quotes; inside a name, `a$b`, it is
//!   kept), `"` (quoted names), comments (`--`,
//!   `/*`, the list marker included) and the placeholder bytes themselves decline.
//!
//! Everything else is kept byte for byte: words, operators, punctuation, blanks. The
//! lexer's decisions depend on token kinds and on the bytes of words and operators, all
//! kept; the one decision that keeps a literal's bytes, a column position
//! (`ORDER BY 2`), is why a shape is only cached from a text that had none (see
//! `Hasher::kept`).

use super::lexer::is_ident_cont;

/// Stands for a string literal in a shape.
const STR: u8 = 0x01;
/// Stands for an integer in a shape.
const NUM: u8 = 0x02;

/// What a byte asks of the scan.
const PLAIN: u8 = 0;
const IDENT: u8 = 1;
const DIGIT: u8 = 2;
const QUOTE: u8 = 3;
const DECLINE: u8 = 4;
/// `-` or `/`: a comment if the next byte is `-` or `*`.
const COMMENT: u8 = 5;

static CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            IDENT
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c == b'\'' {
            QUOTE
        } else if c == b'$' || c == b'"' || c == STR || c == NUM {
            DECLINE
        } else if c == b'-' || c == b'/' {
            COMMENT
        } else {
            PLAIN
        };
        b += 1;
    }
    t
};

/// The blanks of the lexer (`lexer::is_space`).
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Writes the shape of `sql` into `out` (cleared first); false if `sql` holds
/// something a shape does not cover (see the module docs), `out` then meaningless.
pub(crate) fn shape(sql: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(sql.len());
    let n = sql.len();
    // Bytes from `kept` to `i` are still to be copied as they are.
    let mut kept = 0;
    let mut i = 0;
    while i < n {
        let b = sql[i];
        match CLASS[b as usize] {
            PLAIN => i += 1,
            IDENT => {
                // Byte by byte: most names are short, shorter than a word's worth.
                i += 1;
                while i < n && is_ident_cont(sql[i]) {
                    i += 1;
                }
            }
            DIGIT => {
                if i > 0 && (is_ident_cont(sql[i - 1]) || sql[i - 1] == b'.') {
                    return false;
                }
                let mut j = i + 1;
                while j < n && sql[j].is_ascii_digit() {
                    j += 1;
                }
                if j < n && (is_ident_cont(sql[j]) || sql[j] == b'.') {
                    return false;
                }
                out.extend_from_slice(&sql[kept..i]);
                out.push(NUM);
                kept = j;
                i = j;
            }
            QUOTE => {
                if i > 0 && (is_ident_cont(sql[i - 1]) || sql[i - 1] == b'&') {
                    return false;
                }
                let Some(end) = string_end(sql, i + 1) else {
                    return false;
                };
                // Blanks with a newline, then a quote: the string goes on.
                let mut j = end;
                let mut newline = false;
                while j < n && is_space(sql[j]) {
                    newline |= sql[j] == b'\n';
                    j += 1;
                }
                if newline && j < n && sql[j] == b'\'' {
                    return false;
                }
                out.extend_from_slice(&sql[kept..i]);
                out.push(STR);
                kept = end;
                i = end;
            }
            COMMENT => {
                if i + 1 < n && matches!((b, sql[i + 1]), (b'-', b'-') | (b'/', b'*')) {
                    return false;
                }
                i += 1;
            }
            _ => return false,
        }
    }
    out.extend_from_slice(&sql[kept..]);
    true
}

/// Just past the quote that closes the string whose content starts at `from`
/// (`''` is a quote inside it), as the lexer reads it; `None` if unterminated.
#[inline]
fn string_end(sql: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let j = from + memchr::memchr(b'\'', &sql[from..])?;
        if sql.get(j + 1) == Some(&b'\'') {
            from = j + 2;
        } else {
            return Some(j + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(sql: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        shape(sql.as_bytes(), &mut out).then_some(out)
    }

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            of("INSERT INTO audit_log (who, msg) VALUES ('billing', 'adjusted 10114 by 920');")
                .unwrap(),
            b"INSERT INTO audit_log (who, msg) VALUES (\x01, \x01);"
        );
        assert_eq!(
            of("select a from t_12 where x=-12").unwrap(),
            b"select a from t_12 where x=-\x02"
        );
        assert_eq!(
            of("select 'it''s', 'a'\n, 'b' 'c'").unwrap(),
            b"select \x01, \x01\n, \x01 \x01"
        );
        assert_eq!(of("select 'a'5").unwrap(), b"select \x01\x02");
        assert_eq!(of("").unwrap(), b"");
    }

    #[test]
    fn what_a_shape_cannot_prove_declines() {
        for sql in [
            "select E'a\\'b'",
            "select e'x'",
            "select B'01'",
            "select x'1F'",
            "select N'n'",
            "select U&'d!0061' UESCAPE '!'",
            "select 'a'\n  'b'",
            "select 'unterminated",
            "select 1.5",
            "select .5",
            "select 1e5",
            "select 0x1F",
            "select 1_000",
            "select 1..5",
            "select 12abc",
            "select t.5",
            "select 5'a'",
            "select $1",
            "select $$x$$",
            "select \"Col\"",
            "select 1 -- two",
            "select /* c */ 1",
            "select in (1 /*, ... */)",
            "select \x01",
            "select \x02",
        ] {
            assert_eq!(of(sql), None, "{sql:?}");
        }
        // Comments' first bytes alone are operators.
        assert!(of("select a - b / c, -1, a-/b").is_some());
        assert_eq!(of("select a$b, x$1").unwrap(), b"select a$b, x$1");
    }

    use crate::normalize::cache::Cache;
    use crate::normalize::lexer::{Kind, Lexer};
    use crate::normalize::Normalizer;
    use proptest::prelude::*;

    /// The lexer's fingerprint and text, and whether a literal was kept as is.
    fn lexed(sql: &[u8]) -> (u64, String, bool) {
        let mut out = String::new();
        let (fp, kept) = Normalizer::new().normalize_kept(sql, &mut out);
        (fp, out, kept)
    }

    fn cached(slots: usize, arena: usize) -> Normalizer {
        Normalizer {
            buf: Vec::new(),
            cache: Some(Box::new(Cache::with_capacity(slots, arena))),
            shape: Vec::new(),
        }
    }

    /// A small deterministic generator (no dependency, same cases every run).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n.max(1) as u64) as usize
        }
    }

    /// String contents and numbers that other executions of a statement could have.
    const CONTENTS: &[&str] = &[
        "", "x", "''", "it''s", "\\", "a\nb", "\n", "--", "/*", "$$", "$1", "\"", "é", "日本", "0",
        "1e5", "' '", "\t",
    ];
    const NUMBERS: &[&str] = &["0", "7", "42", "007", "123456789012345678901234567890"];

    /// `sql` with the values of its plain strings and integers changed.
    fn other_values(sql: &[u8], rng: &mut Lcg) -> Vec<u8> {
        let mut lx = Lexer::new(sql);
        let mut out = Vec::new();
        let mut last = 0;
        while let Some(t) = lx.next_token() {
            let tok = &sql[t.span()];
            let new: Option<Vec<u8>> = match t.kind {
                Kind::Str
                    if tok.first() == Some(&b'\'') && tok.len() > 1 && tok.ends_with(b"'") =>
                {
                    Some(
                        format!(
                            "'{}'",
                            CONTENTS[rng.below(CONTENTS.len())].replace('\'', "''")
                        )
                        .into_bytes(),
                    )
                }
                Kind::Num if tok.iter().all(u8::is_ascii_digit) => {
                    Some(NUMBERS[rng.below(NUMBERS.len())].as_bytes().to_vec())
                }
                _ => None,
            };
            if let Some(new) = new {
                out.extend_from_slice(&sql[last..t.start()]);
                out.extend_from_slice(&new);
                last = t.end();
            }
        }
        out.extend_from_slice(&sql[last..]);
        out
    }

    /// Every file under `dir` whose name ends with `.log`.
    fn logs(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                logs(&p, found);
            } else if p.extension().is_some_and(|x| x == "log") {
                found.push(p);
            }
        }
    }

    /// The statements of every testdata log (the text after `statement: ` or
    /// `execute ...: `, with its continuation lines), and of the normalizer's corpus.
    fn statements() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut files = Vec::new();
        logs(&root, &mut files);
        files.sort();
        let mut seen = std::collections::HashSet::new();
        let mut all = Vec::new();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let mut cur: Option<Vec<u8>> = None;
            for line in data.split(|&b| b == b'\n') {
                if let (Some(c), Some(b'\t')) = (cur.as_mut(), line.first()) {
                    c.push(b'\n');
                    c.extend_from_slice(&line[1..]);
                    continue;
                }
                if let Some(c) = cur.take() {
                    if seen.insert(c.clone()) {
                        all.push(c);
                    }
                }
                let at = memchr::memmem::find(line, b"statement: ")
                    .map(|i| i + 11)
                    .or_else(|| {
                        let e = memchr::memmem::find(line, b"execute ")?;
                        memchr::memmem::find(&line[e..], b": ").map(|i| e + i + 2)
                    });
                cur = at.map(|i| line[i..].to_vec());
            }
            if let Some(c) = cur {
                if seen.insert(c.clone()) {
                    all.push(c);
                }
            }
        }
        let corpus = root.join("normalize/statements.sql0");
        for s in std::fs::read(corpus).unwrap().split(|&b| b == 0) {
            if seen.insert(s.to_vec()) {
                all.push(s.to_vec());
            }
        }
        all
    }

    /// The old path (the lexer on every text) is the oracle: every statement of every
    /// testdata log, whole, cut at random points and with other literal values, gets
    /// the lexer's fingerprint and text through caches small enough to evict and flush
    /// all the time and through the default one, asked for the fingerprint first or
    /// the text first. And shapes do stand in for the lexer.
    #[test]
    fn logged_statements_through_shapes_are_the_lexers() {
        let base = statements();
        assert!(base.len() > 1_000, "{}", base.len());
        let mut rng = Lcg(14);
        let mut texts = Vec::new();
        for s in &base {
            texts.push(s.clone());
            for _ in 0..2 {
                let cut = rng.below(s.len() + 1);
                texts.push(s[..cut].to_vec());
                texts.push(other_values(s, &mut rng));
            }
        }
        let want: Vec<(u64, String, bool)> = texts.iter().map(|t| lexed(t)).collect();
        let mut shaped = 0;
        let mut scratch = Vec::new();
        for t in &texts {
            shaped += usize::from(shape(t, &mut scratch));
        }
        assert!(shaped * 3 > texts.len(), "{shaped} of {}", texts.len());
        for (slots, arena) in [(4, 64), (16, 4096), (256, 64 << 10), (0, 0)] {
            let mut n = if slots == 0 {
                Normalizer::cached()
            } else {
                cached(slots, arena)
            };
            for round in 0..2usize {
                for (i, t) in texts.iter().enumerate() {
                    let (fp, text) = if (i + round) % 2 == 0 {
                        let fp = n.fingerprint(t);
                        (fp, n.normalized_text(t))
                    } else {
                        let text = n.normalized_text(t);
                        (n.fingerprint(t), text)
                    };
                    assert_eq!(
                        (fp, &text),
                        (want[i].0, &want[i].1),
                        "{slots} slots: {:?}",
                        String::from_utf8_lossy(t)
                    );
                }
            }
        }
    }

    /// Pieces of generated statements: words (keywords that steer the normalizer,
    /// string prefixes), operators and the constructs a shape must decline.
    const PIECES: &[&str] = &[
        "select", "from", "t_1", "x", "e", "E", "b", "X", "n", "U", "u&", "order", "group", "by",
        "in", "values", "array", "is", "not", "null", "true", "limit", "do", "create", "as",
        "default", "desc", "(", ")", ",", "=", "-", "+", "::", ".", "..", "[", "]", ";", "&", "/",
        "*", "--", "/*", "*/", "$", "$$", "$1", "\"q\"", "'", "\\", "\u{1}", "\u{2}", "é", "\u{0}",
        "1e", "0x", "_",
    ];
    const SEPS: &[&str] = &[" ", "", "\n", "\t", " \n ", "\r\n"];

    /// A statement template: pieces, literals (by position in `lits`) and separators.
    fn render(tpl: &[(usize, usize)], lits: &[(bool, usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut k = 0;
        for &(piece, sep) in tpl {
            if piece < PIECES.len() {
                out.extend_from_slice(PIECES[piece].as_bytes());
            } else {
                let (string, v) = lits[k % lits.len()];
                k += 1;
                if string {
                    out.push(b'\'');
                    out.extend_from_slice(
                        CONTENTS[v % CONTENTS.len()].replace('\'', "''").as_bytes(),
                    );
                    out.push(b'\'');
                } else {
                    out.extend_from_slice(NUMBERS[v % NUMBERS.len()].as_bytes());
                }
            }
            out.extend_from_slice(SEPS[sep].as_bytes());
        }
        out
    }

    /// Two texts of one shape, from which no literal was kept, have the lexer's
    /// fingerprint and text in common; and the cached normalizer agrees with the lexer.
    fn check_pair(a: &[u8], b: &[u8]) -> Result<(), TestCaseError> {
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        let (la, lb) = (lexed(a), lexed(b));
        if shape(a, &mut sa) && shape(b, &mut sb) && sa == sb && !la.2 {
            prop_assert_eq!(
                (la.0, &la.1),
                (lb.0, &lb.1),
                "{:?} vs {:?}",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            );
        }
        let mut n = cached(16, 4096);
        for t in [a, b, a, b] {
            let l = lexed(t);
            prop_assert_eq!(n.fingerprint(t), l.0);
            prop_assert_eq!(n.normalized_text(t), l.1);
        }
        let mut n = cached(16, 4096);
        for t in [b, a] {
            let l = lexed(t);
            prop_assert_eq!(n.normalized_text(t), l.1);
            prop_assert_eq!(n.fingerprint(t), l.0);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_statements_of_one_shape_agree(
            tpl in prop::collection::vec((0..PIECES.len() + 8, 0..SEPS.len()), 0..24),
            a in prop::collection::vec((any::<bool>(), 0..64usize), 1..6),
            b in prop::collection::vec((any::<bool>(), 0..64usize), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let (ra, rb) = (render(&tpl, &a), render(&tpl, &b));
            check_pair(&ra, &rb)?;
            let at = cut.index(ra.len() + 1);
            check_pair(&ra[..at], &rb[..at.min(rb.len())])?;
        }

        #[test]
        fn bytes_changed_in_place_agree(
            a in prop::collection::vec(prop::sample::select(b"ab1 0'\"$-/*.,()e\n\\&x_".to_vec()), 0..60),
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(b"ab1 9'\"$-/*.e\n\\x\x01\xff".to_vec()),
            insert in any::<bool>(),
        ) {
            let mut b = a.clone();
            let i = at.index(a.len() + 1);
            if insert || i == a.len() {
                b.insert(i, with);
            } else {
                b[i] = with;
            }
            check_pair(&a, &b)?;
        }
    }
}
