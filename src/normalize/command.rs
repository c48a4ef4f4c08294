//! The body of `pgferret fingerprint`: one `<16 hex><TAB><normalized text>` line per
//! statement, for users and scripts (e.g. to find a query's fingerprint in a report).
//!
//! Statements come from the arguments, or from the input one per line, or separated
//! by NUL bytes (`-z`) for statements that span lines. Input is bytes: invalid UTF-8
//! is shown lossily, but the fingerprint is computed on the exact bytes.

use std::io::{self, BufRead, Write};

use super::{fingerprint_hex, Normalizer};

/// For each SQL in `args` (or, if empty, each statement read from `input`: one per line,
/// or NUL-separated when `nul` is true) write one line `<16 hex><TAB><normalized text>\n`
/// to `out`.
///
/// Records of stdin that hold only whitespace are skipped (a final newline or NUL makes
/// no empty statement); arguments are always printed. Control characters that could
/// break the one-line format (a newline inside a quoted identifier) are written as
/// spaces.
pub fn write_fingerprints(
    args: &[String],
    nul: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut norm = Normalizer::new();
    let mut text = String::new();
    if !args.is_empty() {
        for sql in args {
            write_one(&mut norm, sql.as_bytes(), &mut text, out)?;
        }
        return Ok(());
    }
    let sep = if nul { b'\0' } else { b'\n' };
    let mut record = Vec::new();
    loop {
        record.clear();
        if input.read_until(sep, &mut record)? == 0 {
            return Ok(());
        }
        if record.last() == Some(&sep) {
            record.pop();
        }
        if !nul && record.last() == Some(&b'\r') {
            record.pop();
        }
        if record.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        write_one(&mut norm, &record, &mut text, out)?;
    }
}

fn write_one(
    norm: &mut Normalizer,
    sql: &[u8],
    text: &mut String,
    out: &mut dyn Write,
) -> io::Result<()> {
    let fp = norm.normalize_into(sql, text);
    if text.contains(|c: char| c.is_control()) {
        *text = text.replace(|c: char| c.is_control(), " ");
    }
    writeln!(out, "{}\t{}", fingerprint_hex(fp), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], nul: bool, input: &[u8]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        let mut input = input;
        write_fingerprints(&args, nul, &mut input, &mut out).expect("writing to a Vec");
        String::from_utf8(out).expect("output is UTF-8")
    }

    #[test]
    fn arguments_win_over_input() {
        let out = run(&["select 1", "SELECT  2;"], false, b"select 3\n");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], lines[1]);
        assert!(lines[0].ends_with("\tSELECT $1"), "{out}");
        assert_eq!(lines[0].find('\t'), Some(16));
    }

    #[test]
    fn lines_and_nul_records() {
        let out = run(&[], false, b"select 1\r\n\nselect a from t\n");
        assert_eq!(out.lines().count(), 2, "{out}");
        let out = run(&[], true, b"select a\nfrom t\0select 'x\ny'\0\n");
        let texts: Vec<&str> = out.lines().map(|l| &l[17..]).collect();
        assert_eq!(texts, ["SELECT a FROM t", "SELECT $1"]);
    }

    #[test]
    fn invalid_utf8_and_control_characters() {
        let out = run(&[], true, b"select \"a\nb\", \xff\x01 from t");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains('\u{fffd}'), "{out}");
    }
}
