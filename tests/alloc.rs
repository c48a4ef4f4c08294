//! The hot path does not allocate per line: a counting allocator measures the
//! allocations of parsing and aggregating whole real logs. What does allocate is
//! bounded by what is new (a fingerprint, a sample among the slowest, a window, a
//! database/user/application name), not by the number of lines.

use pgferret::aggregate::{AggOptions, ChunkAgg};
use pgferret::parse::infer::infer_prefix;
use pgferret::parse::stderr::StderrParser;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations of this thread: the test harness's own threads (printing another
    /// test's result) must not count.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// Bytes this thread holds (allocated minus freed).
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn count_one() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

fn live_bytes() -> i64 {
    LIVE.with(Cell::get)
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count_one();
        live(l.size() as i64);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        live(-(l.size() as i64));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count_one();
        live(n as i64 - l.size() as i64);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations of a fingerprint turning busy: its histogram (the box, its counts
/// growing with the largest latency) and its series (a map slot, the entries growing).
const BUSY_ALLOCS: u64 = 12;

/// The counter is global: tests that read it must not run at the same time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn parsing_and_aggregating_allocates_far_less_than_once_per_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // c_incident adds lock waits, deadlocks, errors, temp files, sessions, DDL.
    for name in ["a1_pgbadger", "a2_debian", "d_multiline", "c_incident"] {
        let path = format!(
            "{}/testdata/{name}/postgresql.log",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(path).unwrap();
        let parser = StderrParser::new(infer_prefix(&data).unwrap());
        // The same log 3 and 4 times in one chunk: once every fingerprint holds its 3
        // samples, a further copy holds nothing new and must add (almost) no allocation
        // but for the fingerprints it makes busy (a histogram and a series, once each).
        let thrice = [&data[..], &data[..], &data[..]].concat();
        let four = [&thrice[..], &data[..]].concat();
        let count = |input: &[u8]| {
            let before = allocs();
            let mut agg = ChunkAgg::new(AggOptions::default(), 0);
            let lines = parser.parse_chunk(input, 0, &mut agg);
            let p = agg.finish(lines);
            let n = allocs() - before;
            let busy = p
                .stats
                .queries
                .values()
                .filter(|q| q.execs.is_busy())
                .count() as u64;
            (n, lines, p.stats.statements, busy)
        };
        let (once, lines, statements, _) = count(&data);
        let (three, _, _, busy3) = count(&thrice);
        let (four, _, statements4, busy4) = count(&four);
        assert_eq!(statements4, 4 * statements);
        let extra = four.saturating_sub(three);
        let turned = busy4 - busy3;
        eprintln!("{name}: {lines} lines, {statements} statements: {once} allocations; a 4th copy of the log adds {extra}, {turned} fingerprints turned busy");
        assert!(
            once * 4 < lines,
            "{name}: {once} allocations for {lines} lines"
        );
        assert!(
            extra.saturating_sub(turned * BUSY_ALLOCS) * 1000 < lines,
            "{name}: the 4th copy added {extra} allocations for {lines} lines ({turned} fingerprints turned busy)"
        );
    }
}

/// csvlog and jsonlog too: entries borrow from the input (csv fields decoded into the
/// chunk's arena; json strings borrowed unless they carry escapes).
#[test]
fn csvlog_and_jsonlog_allocate_nothing_per_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use pgferret::parse::csvlog::CsvParser;
    use pgferret::parse::format::LogParser;
    use pgferret::parse::jsonlog::JsonParser;
    for (file, parser) in [
        ("postgresql.csv.gz", LogParser::Csv(CsvParser)),
        ("postgresql.json.gz", LogParser::Json(JsonParser)),
    ] {
        let path = format!("{}/testdata/b_csv_json/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut data = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()),
            &mut data,
        )
        .unwrap();
        let count = |input: &[u8]| {
            let mut arena = vec![0u8; parser.arena_len(input.len())];
            let before = allocs();
            let mut agg = ChunkAgg::new(AggOptions::default(), 0);
            let lines = parser.parse_chunk(input, &mut arena, 0, &mut agg);
            let p = agg.finish(lines);
            let busy = p
                .stats
                .queries
                .values()
                .filter(|q| q.execs.is_busy())
                .count() as u64;
            (allocs() - before, lines, p.stats.statements, busy)
        };
        let three = [&data[..], &data[..], &data[..]].concat();
        let four = [&three[..], &data[..]].concat();
        let (a3, _, _, busy3) = count(&three);
        let (a4, lines, statements, busy4) = count(&four);
        assert!(statements > 0);
        // A fingerprint turning busy allocates once for all its later lines.
        let extra = a4
            .saturating_sub(a3)
            .saturating_sub((busy4 - busy3) * BUSY_ALLOCS);
        // A json string with escapes (`\"`, `\n`) is unescaped into an owned string.
        let escaped = if file.contains("json") {
            data.split(|&b| b == b'\n')
                .filter(|l| l.contains(&b'\\'))
                .count() as u64
        } else {
            0
        };
        eprintln!(
            "{file}: {} lines; a 4th copy adds {extra} allocations ({escaped} lines with escapes)",
            lines / 4
        );
        // Each escaped field costs its owned string (and the growth of serde's buffer).
        assert!(
            extra <= escaped * 6 + 10,
            "{file}: a 4th copy added {extra} allocations"
        );
    }
}

/// PgBouncer lines: a closing reason or warning already seen is counted without
/// allocating (its kind is looked up by the borrowed text).
#[test]
fn pgbouncer_lines_allocate_nothing_per_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use pgferret::parse::format::LogParser;
    use pgferret::parse::pgbouncer::PgbouncerParser;
    let path = format!(
        "{}/testdata/pgbouncer/pgbouncer.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(path).unwrap();
    let parser = LogParser::Pgbouncer(PgbouncerParser);
    let count = |input: &[u8]| {
        let before = allocs();
        let mut agg = ChunkAgg::new(AggOptions::default(), 0);
        let lines = parser.parse_chunk(input, &mut [], 0, &mut agg);
        let p = agg.finish(lines);
        (allocs() - before, p.stats.pgbouncer.lines)
    };
    let three = [&data[..], &data[..], &data[..]].concat();
    let four = [&three[..], &data[..]].concat();
    let (a3, _) = count(&three);
    let (a4, lines) = count(&four);
    assert!(lines > 400, "{lines} lines");
    let extra = a4.saturating_sub(a3);
    eprintln!("pgbouncer.log: a 4th copy adds {extra} allocations");
    assert!(extra <= 4, "a 4th copy added {extra} allocations");
}

/// Regression (issue 10): a query seen once held ~11.7 KB (a whole histogram, a series,
/// room for 4 samples), so a log of 1,000,000 distinct statements took 11.7 GB. What a
/// chunk's statistics hold per distinct statement seen once, measured by the bytes
/// allocated and not freed, stays under 1 KB.
#[test]
fn a_query_seen_once_holds_under_1_kb() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // A real line of a1_pgbadger with the relation, column and constant varied.
    const N: usize = 20_000;
    let mut log = String::new();
    for i in 0..N {
        log.push_str(&format!(
            "2026-11-24 04:34:{:02} UTC [{}]: [{}-1] user=app_rw,db=bench,app=pgbench,client=127.0.0.1 LOG:  duration: {}.{:03} ms  statement: SELECT c_{}_{i} FROM s{}.tbl_{i} WHERE id = {};\n",
            i % 60, 25000 + i % 50, i + 1, 1 + i % 50, i % 1000, i % 97, i % 13, i * 31
        ));
    }
    let parser = StderrParser::new(infer_prefix(log.as_bytes()).unwrap());
    let before = live_bytes();
    let mut agg = ChunkAgg::new(AggOptions::default(), 0);
    let lines = parser.parse_chunk(log.as_bytes(), 0, &mut agg);
    let p = agg.finish(lines);
    let held = live_bytes() - before;
    assert_eq!(p.stats.queries.len(), N);
    let per = held / N as i64;
    eprintln!("{N} distinct statements seen once: {held} bytes held, {per} per statement");
    assert!(per < 1024, "{per} bytes per statement seen once");
    drop(p);
}

/// Allocations a connection line may make for its session (the session's fields and
/// its shared pointer).
const SESSION_ALLOCS: u64 = 6;

/// Every filter on: matching an entry (globs, regexes, times of day, query ids)
/// allocates nothing; the statement filters decide once per fingerprint.
#[test]
fn filters_allocate_nothing_per_entry() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use pgferret::filter::{FilterArgs, Filters};
    let path = format!(
        "{}/testdata/c_incident/postgresql.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(path).unwrap();
    let parser = StderrParser::new(infer_prefix(&data).unwrap());
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let args = FilterArgs {
        include: [
            s(&["shop"]),
            s(&["*"]),
            s(&["orders-*", "metabase"]),
            s(&["127.*"]),
        ],
        exclude: [s(&[]), s(&["post*"]), s(&["pg_dump*"]), s(&["10.*"])],
        query_id: Vec::new(),
        include_query: s(&["orders"]),
        exclude_query: s(&["^COMMIT"]),
        select_only: true,
        include_time: s(&["04:00-05:00"]),
        exclude_time: s(&["04:43-04:44 +01:00"]),
    };
    let filters = std::sync::Arc::new(Filters::build(&args).unwrap().unwrap());
    let thrice = [&data[..], &data[..], &data[..]].concat();
    let four = [&thrice[..], &data[..]].concat();
    let count = |input: &[u8]| {
        let opts = AggOptions {
            filters: Some(filters.clone()),
            ..AggOptions::default()
        };
        let before = allocs();
        let mut agg = ChunkAgg::new(opts, 0);
        let lines = parser.parse_chunk(input, 0, &mut agg);
        let p = agg.finish(lines);
        let n = allocs() - before;
        let busy = p
            .stats
            .queries
            .values()
            .filter(|q| q.execs.is_busy())
            .count() as u64;
        (n, lines, p.input.filter, busy)
    };
    let (three, _, _, busy3) = count(&thrice);
    let (four_n, lines, f, busy4) = count(&four);
    assert!(f.removed > 0 && f.kept_statements > 0, "{f:?}");
    let extra = four_n.saturating_sub(three);
    let turned = busy4 - busy3;
    // The session filters keep each session's user, database, application and host:
    // a few allocations per connection line (c_incident's connection storm has 981 of
    // them), none per entry.
    let text = String::from_utf8_lossy(&data);
    let connections = text
        .lines()
        .filter(|l| {
            l.contains("LOG:  connection received: ") || l.contains("LOG:  connection authorized: ")
        })
        .count() as u64;
    eprintln!("filters: a 4th copy of c_incident adds {extra} allocations, {turned} fingerprints turned busy, {connections} connection lines");
    assert!(
        extra.saturating_sub(turned * BUSY_ALLOCS + connections * SESSION_ALLOCS) * 1000 < lines,
        "the 4th copy added {extra} allocations for {lines} lines"
    );
}
