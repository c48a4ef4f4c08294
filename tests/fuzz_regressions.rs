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
