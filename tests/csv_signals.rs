//! The same figures from the csvlog copy of c_incident as from its stderr log, at the
//! aggregation layer: each csv record becomes a `LogEntry` (DETAIL, HINT, CONTEXT and
//! the `query` column as auxiliary lines, `sql_state_code` as the SQLSTATE) fed to
//! the same aggregator. This is what a csvlog parser must produce; once pgferret
//! reads csv itself, the end-to-end test runs the binary on the csv file instead.

use pgferret::aggregate::{AggOptions, ChunkAgg, Partial, Stats};
use pgferret::parse::infer::infer_prefix;
use pgferret::parse::stderr::StderrParser;
use pgferret::parse::time::parse_timestamp;
use pgferret::parse::{Aux, EntrySink, Fields, LogEntry, Severity};

fn path(file: &str) -> String {
    format!("{}/testdata/c_incident/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn severity(word: &str) -> Severity {
    Severity::parse(format!("{word}:  ").as_bytes())
        .expect("a known severity")
        .0
}

/// Aggregates the csv records, cut into parts of `per_chunk` records merged in order.
fn from_csv(per_chunk: usize) -> Stats {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path("postgresql.csv"))
        .unwrap();
    let records: Vec<(u64, csv::StringRecord)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r.position().unwrap().byte(), r)
        })
        .collect();
    let mut acc: Option<Partial> = None;
    for part in records.chunks(per_chunk) {
        let mut agg = ChunkAgg::new(AggOptions::default(), 0);
        for (offset, r) in part {
            let host = &r[4];
            // connection_from is host:port; the stderr prefix's %h is the host alone.
            let host = match host.rsplit_once(':') {
                Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => host,
            };
            let fields = Fields {
                ts: parse_timestamp(r[0].as_bytes(), true).map(|p| p.ms),
                pid: r[3].parse().ok(),
                user: r[1].as_bytes(),
                db: r[2].as_bytes(),
                app: r[22].as_bytes(),
                host: host.as_bytes(),
                session: r[5].as_bytes(),
                sqlstate: r[12].as_bytes(),
                ..Fields::default()
            };
            let aux: Vec<Aux<'_>> = [
                (Severity::Detail, &r[14]),
                (Severity::Hint, &r[15]),
                (Severity::Context, &r[18]),
                (Severity::Statement, &r[19]),
            ]
            .into_iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(severity, t)| Aux {
                severity,
                text: t.as_bytes(),
            })
            .collect();
            let entry = LogEntry {
                offset: *offset,
                line: 0,
                fields,
                severity: severity(&r[11]),
                message: r[13].as_bytes(),
                aux: &aux,
            };
            agg.entry(&entry);
        }
        let p = agg.finish(part.len() as u64);
        match acc.as_mut() {
            Some(a) => a.append(p),
            None => acc = Some(p),
        }
    }
    acc.unwrap().finish().1
}

fn from_stderr() -> Stats {
    let data = std::fs::read(path("postgresql.log")).unwrap();
    let parser = StderrParser::new(infer_prefix(&data).unwrap());
    let mut agg = ChunkAgg::new(AggOptions::default(), 0);
    let lines = parser.parse_chunk(&data, 0, &mut agg);
    agg.finish(lines).finish().1
}

fn sorted<K: Ord + Clone, V: Clone>(it: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut v: Vec<(K, V)> = it.collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn csv_copy_gives_the_same_signals() {
    let s = from_stderr();
    for per_chunk in [usize::MAX, 997] {
        let c = from_csv(per_chunk);
        let (a, b) = (&s.incidents, &c.incidents);
        assert_eq!(a.totals, b.totals, "totals ({per_chunk} records per chunk)");
        assert_eq!(s.statements, c.statements);
        assert_eq!(
            sorted(a.blockers.iter().map(|(k, v)| (*k, *v))),
            sorted(b.blockers.iter().map(|(k, v)| (*k, *v))),
            "blockers"
        );
        assert_eq!(
            sorted(a.locks.iter().map(|(k, v)| (*k, v.clone()))),
            sorted(b.locks.iter().map(|(k, v)| (*k, v.clone()))),
            "locks"
        );
        // Same kinds and counts; the SQLSTATE comes from the message text in stderr and
        // from the log in csv, and must agree.
        let kinds = |i: &pgferret::aggregate::incident::Incidents| {
            sorted(
                i.errors
                    .iter()
                    .map(|(k, e)| (*k, (e.sqlstate.clone(), e.count))),
            )
        };
        assert_eq!(kinds(a), kinds(b), "errors");
        assert!(b.errors.values().all(|e| !e.sqlstate_guessed));
        assert_eq!(a.cancellations, b.cancellations);
        assert_eq!(a.connection_limit, b.connection_limit);
        assert_eq!(a.auth_failures, b.auth_failures);
        assert_eq!(
            a.checkpoints.starts_by_reason,
            b.checkpoints.starts_by_reason
        );
        assert_eq!(
            (a.checkpoints.buffers, a.checkpoints.total_us),
            (b.checkpoints.buffers, b.checkpoints.total_us)
        );
        let tables = |i: &pgferret::aggregate::incident::Incidents| {
            sorted(
                i.tables
                    .iter()
                    .map(|(k, t)| (k.clone(), (t.vacuums, t.analyzes, t.tuples_removed))),
            )
        };
        assert_eq!(tables(a), tables(b));
        let hosts = |i: &pgferret::aggregate::incident::Incidents| {
            sorted(
                i.by_host
                    .iter()
                    .map(|(k, g)| (k.clone(), (g.connections, g.disconnections))),
            )
        };
        assert_eq!(hosts(a), hosts(b));
        let ddl = |i: &pgferret::aggregate::incident::Incidents| {
            i.ddl
                .iter()
                .map(|d| (d.ts, d.us, d.fingerprint))
                .collect::<Vec<_>>()
        };
        assert_eq!(ddl(a), ddl(b));
        let per_query =
            |s: &Stats| sorted(s.queries.iter().map(|(k, q)| (*k, (q.count, q.signals))));
        assert_eq!(per_query(&s), per_query(&c), "per query");
    }
}
