//! Inputs the fuzz targets (`fuzz/`) found crashing, minimised, each named after what
//! broke. They run through the same library entry point as the targets.

use pgferret::parse::format::LogFormat;
use pgferret::pipeline::{analyze_bytes, PipelineOptions};

fn options(format: Option<LogFormat>) -> PipelineOptions {
    PipelineOptions {
        format,
        year: Some(2024),
        ..PipelineOptions::default()
    }
}

/// csv-core ends a record at a lone `\r` too: a line of several bad records was
/// counted as several skipped lines, more skipped lines than lines.
#[test]
fn csv_line_of_records_split_by_carriage_returns_is_one_skipped_line() {
    let log = b"2026-11-30 22:51:53.116 UTC,\"u\",\"d\",1,\"h\",s.1,7,\"\",2026-11-30 22:51:53 UTC,,0,LOG,000\xd3 \r\xd2 \r\xd2\x0000,\"m\",,,,,,,,,\"\",\"client backend\",,0\n";
    let a = analyze_bytes("t.csv", log, &options(Some(LogFormat::Csv)));
    let s = &a.inputs[0].stats;
    assert_eq!((s.lines, s.skipped_lines), (1, 1), "{s:?}");
}

/// Normalizing twice must change nothing: an identifier with `$` inside a `DO` body
/// was lowercased into the body's closing tag (`r$dO$` → `r$do$` in `$do$ ... `), so
/// the normalized text read back ended the body early.
#[test]
fn dollar_identifier_is_not_folded_into_the_closing_tag() {
    for sql in [
        "DO $do$\nBEGI[\n    RAISE W#RNINft',whitU--0045er.';\nEND\nr$dO$;",
        "DO $do$ r$dO$;",
        "DO $X$ BEGIN PERFORM a$X$b; END $X$",
    ] {
        let (text, fp) = pgferret::normalize::normalize(sql);
        let (again, fp2) = pgferret::normalize::normalize(&text);
        assert_eq!(again, text, "from {sql:?}");
        assert_eq!(fp2, fp, "text {text:?} from {sql:?}");
    }
}

/// A Cloud SQL export writes a DETAIL line as an entry of its own: a chunk cut before
/// it made it an entry (7 entries instead of 6). Any chunk size gives the counters of
/// one chunk.
#[test]
fn cloudsql_detail_line_is_no_chunk_boundary() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/cloudsql/postgresql.jsonl"
    );
    let all = std::fs::read(path).unwrap();
    let head: Vec<u8> = all
        .split_inclusive(|&b| b == b'\n')
        .take(40)
        .flatten()
        .copied()
        .collect();
    assert!(head.windows(9).any(|w| w == b"DETAIL:  "));
    let whole = analyze_bytes("t.jsonl", &head, &options(None));
    assert_eq!(whole.inputs[0].format, "cloudsql");
    for chunk in (1..head.len()).step_by(13) {
        let opts = PipelineOptions {
            chunk_size: chunk,
            ..options(None)
        };
        let cut = analyze_bytes("t.jsonl", &head, &opts);
        assert_eq!(
            whole.inputs[0].stats, cut.inputs[0].stats,
            "chunks of {chunk}"
        );
    }
}

/// A `"` inside an unquoted csv field is data to csv-core, but chunk boundaries were
/// found by counting quotes: with one stray quote, a chunk started inside what the
/// parser read as a record, or skipped a real one (0 entries in one chunk, 1 when
/// cut at 84 bytes). Every chunk size gives the counters of one chunk.
#[test]
fn csv_stray_quote_in_an_unquoted_field_does_not_move_chunk_boundaries() {
    let rec = |n: u32, tail: &str| {
        format!("2026-11-30 22:53:21.{n:03} UTC,\"u\",\"d\",1,\"h:1\",6b.5,{n},\"BIND\",2026-11-30 22:53:20 UTC,3/9,0,LOG,00000,\"duration: 0.009 ms  statement: SELECT {n}\",,,,,,,,,\"a\",\"client backend\",,{tail}\n")
    };
    let log = [
        rec(1, "-78p\",2"),
        rec(2, "1"),
        "2026-11-30 22:53:21.287 UTC,\"u\",\"d\",1,\"127.0.552972\n".to_string(),
        rec(3, "2"),
        rec(4, "3"),
    ]
    .concat();
    let whole = analyze_bytes("t.csv", log.as_bytes(), &options(Some(LogFormat::Csv)));
    for chunk in 1..log.len() {
        let opts = PipelineOptions {
            chunk_size: chunk,
            ..options(Some(LogFormat::Csv))
        };
        let cut = analyze_bytes("t.csv", log.as_bytes(), &opts);
        assert_eq!(
            whole.inputs[0].stats, cut.inputs[0].stats,
            "chunks of {chunk}"
        );
    }
}

/// A `log_statement` line no prefix explains was counted as an execution without a
/// duration but not as an execution: untimed exceeded all, and `timed_statements`
/// (all minus untimed) overflowed in the report. It counts as an execution now.
#[test]
fn unattributed_logged_statement_is_an_untimed_execution() {
    let log = b"2026-11-30 22:44:31.487 UTC [24523]: LOG:  statement: UPDATE t SET a = 1\n\
        garbage that no prefix reads LOG:  statement: UPDATE t SET a = 2\n";
    let opts = PipelineOptions {
        prefix: Some(pgferret::parse::Prefix::compile("%m [%p]: ").unwrap()),
        ..options(Some(LogFormat::Stderr))
    };
    let a = analyze_bytes("t.log", log, &opts);
    assert_eq!(a.inputs[0].stats.unattributed_entries, 1);
    let run = pgferret::report::model::Run {
        version: "t".into(),
        jobs: 1,
        elapsed_ms: 0,
    };
    let r = pgferret::report::Report::build(&a.inputs, a.stats, run, Default::default());
    let t = &r.totals;
    assert_eq!(
        (t.statements, t.untimed_statements, t.timed_statements),
        (2, 2, 0)
    );
}
