//! The parsers never panic, whatever the bytes: arbitrary input, and real log lines
//! cut, spliced and corrupted (what damaged or truncated logs look like).

use pgferret::aggregate::{AggOptions, ChunkAgg};
use pgferret::parse::cloudsql::CloudSqlParser;
use pgferret::parse::cnpg::CnpgParser;
use pgferret::parse::csvlog::CsvParser;
use pgferret::parse::format::{LogFormat, LogParser};
use pgferret::parse::jsonlog::JsonParser;
use pgferret::parse::pgbouncer::PgbouncerParser;
use pgferret::parse::stderr::StderrParser;
use pgferret::parse::syslog::{Dialect, SyslogParser};
use pgferret::parse::Prefix;
use proptest::prelude::*;

fn parsers() -> Vec<LogParser> {
    let p = |s: &str| StderrParser::new(Prefix::compile(s).unwrap());
    vec![
        LogParser::Stderr(p("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")),
        LogParser::Stderr(p("%m [%p] %q%u@%d ")),
        LogParser::Stderr(p("%m:%r:%u@%d:[%p]:")),
        LogParser::Csv(CsvParser),
        LogParser::Json(JsonParser),
        LogParser::Syslog(SyslogParser::new(p("%m [%p] %q%u@%d "))),
        LogParser::Syslog(SyslogParser::new(p("user=%u,db=%d "))),
        LogParser::Syslog(
            SyslogParser::new(p("sql_error_code = %e ")).with_dialect(Dialect::Heroku),
        ),
        LogParser::CloudSql(CloudSqlParser::new(p("%m [%p]: [%l-1] db=%d,user=%u "))),
        LogParser::Cnpg(CnpgParser),
        LogParser::Pgbouncer(PgbouncerParser),
    ]
}

/// Real lines of every format, to splice and corrupt: read once, shared by every case.
fn corpus_lines() -> &'static [Vec<u8>] {
    static LINES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    LINES.get_or_init(read_corpus_lines)
}

fn read_corpus_lines() -> Vec<Vec<u8>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut lines = Vec::new();
    for f in [
        "a1_pgbadger/postgresql.log",
        "a2_debian/postgresql.log",
        "a4_colon_remote/postgresql.log",
        "syslog/postgresql.log",
        "syslog_noprefix/postgresql.log",
        "heroku/postgresql.log",
        "heroku/drain.log",
        "cloudsql/postgresql.jsonl",
        "cloudsql/export.json",
        "cloudnativepg/postgresql.json",
        "csv_quoted/all-quoted.csv",
        "a7_threshold/postgresql.log",
        "pgbouncer/pgbouncer.log",
    ] {
        let data = std::fs::read(format!("{root}/testdata/{f}")).unwrap();
        lines.extend(data.split(|&b| b == b'\n').take(400).map(<[u8]>::to_vec));
    }
    for f in [
        "b_csv_json/postgresql.csv.gz",
        "b_csv_json/postgresql.json.gz",
    ] {
        let mut d = flate2::read::GzDecoder::new(
            std::fs::File::open(format!("{root}/testdata/{f}")).unwrap(),
        );
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut data).unwrap();
        lines.extend(data.split(|&b| b == b'\n').take(400).map(<[u8]>::to_vec));
    }
    lines
}

fn exercise(data: &[u8]) {
    for parser in parsers() {
        let mut arena = vec![0u8; parser.arena_len(data.len())];
        let mut agg = ChunkAgg::new(AggOptions::default(), 0);
        let lines = parser.parse_chunk(data, &mut arena, 0, &mut agg);
        let p = agg.finish(lines);
        assert!(p.input.entries <= lines.max(1) * 2);
        for from in [1, data.len() / 3, data.len() / 2] {
            if let Some(b) = parser.next_boundary(data, from) {
                assert!(b >= from.min(data.len()) && b <= data.len());
            }
        }
        if let Some(b) = parser.last_boundary(data) {
            assert!(b <= data.len());
        }
    }
    let _ = LogFormat::detect(data);
    let _ = pgferret::parse::infer::infer_prefix(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&data);
    }

    #[test]
    fn real_lines_cut_spliced_and_corrupted(
        picks in proptest::collection::vec((0usize..10_000, 0usize..400, any::<u8>(), 0usize..400), 1..12),
    ) {
        let lines = corpus_lines();
        let mut data = Vec::new();
        for (i, cut, byte, at) in picks {
            let line = &lines[i % lines.len()];
            let mut l = line[..cut.min(line.len())].to_vec();
            if !l.is_empty() {
                let k = at % l.len();
                l[k] = byte;
            }
            data.extend_from_slice(&l);
            data.push(b'\n');
        }
        exercise(&data);
    }

    #[test]
    fn any_prefix_on_any_line(prefix in "[%a-z \\[\\]:@=,.0-9-]{0,30}", line in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = Prefix::compile(&prefix) {
            let _ = p.match_line(&line);
        }
    }
}
