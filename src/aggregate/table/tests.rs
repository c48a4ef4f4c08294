use super::*;

const T0: Millis = 1_795_000_000_000;

/// Execution `i` of a made-up workload: fingerprint, µs (or untimed), time.
fn exec(i: u64) -> (u64, Option<u64>, Option<Millis>) {
    let fp = i % 7 + (i % 3) * 100;
    let us = (i % 11 != 0).then_some(i * 7919 % 100_003);
    let ts = (i % 13 != 0).then_some(T0 + (i as i64) * 977);
    (fp, us, ts)
}

fn feed(t: &mut QueryTable, range: std::ops::Range<u64>) {
    for i in range {
        let (fp, us, ts) = exec(i);
        t.record(fp, || format!("q{fp}"), us, ts);
    }
}

/// Everything the report reads of a table.
fn view(t: QueryTable) -> Vec<String> {
    let mut fps: Vec<u64> = t.keys().copied().collect();
    fps.sort();
    let (map, cells, folded, _) =
        t.into_parts(&fps, Some((T0 - T0.rem_euclid(60_000), 60_000)), None);
    let mut out: Vec<String> = fps
        .iter()
        .map(|fp| {
            let q = &map[fp];
            let h = q.execs.latencies();
            format!(
                "{fp} {} {} {} {} {} {:?} {:?} {} {} {} {:?} {:?}",
                q.count,
                q.timed,
                q.total_us,
                q.min_us,
                q.max_us,
                q.first_seen,
                q.last_seen,
                h.quantile(0.5),
                h.quantile(0.99),
                h.len(),
                h.log2_buckets(),
                cells.get(fp)
            )
        })
        .collect();
    out.push(format!(
        "folded {} {} {} {} {} {} {:?} {:?}",
        folded.fingerprints,
        folded.count,
        folded.timed,
        folded.total_us,
        folded.min_us,
        folded.max_us,
        folded.first_seen,
        folded.hist.map(|h| (h.len(), h.quantile(0.95)))
    ));
    out
}

#[test]
fn split_and_merged_equal_whole_across_the_few_threshold() {
    // 21 fingerprints of ~10, ~48 or ~240 executions: rows few in every part and in
    // all, few in each part and busy merged, few in one part and busy in the other.
    for n in [200u64, 1_000, 5_000] {
        let mut whole = QueryTable::new(None);
        feed(&mut whole, 0..n);
        for cut in [1, n / 3, n / 2, n - 1] {
            let (mut a, mut b) = (QueryTable::new(None), QueryTable::new(None));
            feed(&mut a, 0..cut);
            feed(&mut b, cut..n);
            b.merge(a);
            assert_eq!(view(b), view(whole.clone()), "n={n} cut={cut}");
        }
    }
}

#[test]
fn a_few_row_reads_as_a_busy_one() {
    // The same executions kept exactly and summarised give the same figures.
    let (mut few, mut busy) = (QueryTable::new(None), QueryTable::new(None));
    // Execution 0 has neither a duration nor a time: 1..=FEW are FEW executions.
    for i in 1..=FEW as u64 {
        let (_, us, ts) = exec(i);
        few.record(1, || "q".into(), us, ts);
        busy.record(1, || "q".into(), us, ts);
    }
    assert!(!few[&1].execs.is_busy());
    // One more turns `busy` busy on the spot, and `few` through a merge, where its
    // exact executions are summarised.
    let mut extra = QueryTable::new(None);
    extra.record(1, || "q".into(), Some(5), Some(T0));
    busy.merge(extra.clone());
    assert!(busy[&1].execs.is_busy());
    let mut few_then = QueryTable::new(None);
    few_then.merge(extra);
    few_then.merge(few);
    assert!(few_then[&1].execs.is_busy());
    assert_eq!(view(few_then), view(busy));
}

#[test]
fn folded_rows_keep_exact_totals_and_the_busiest_stay() {
    let mut t = QueryTable::new(None);
    let (mut count, mut total) = (0u64, 0u64);
    for fp in 0..1_000u64 {
        // Fingerprint fp runs fp % 5 + 1 times, each fp µs.
        for k in 0..fp % 5 + 1 {
            t.record(fp, || format!("q{fp}"), Some(fp), Some(T0 + k as i64));
            count += 1;
            total += fp;
        }
    }
    t.cap(100);
    assert_eq!(t.len(), 100);
    let kept_count: u64 = t.values().map(|q| q.count).sum();
    let kept_total: u64 = t.values().map(|q| q.total_us).sum();
    let f = t.folded();
    assert_eq!((f.fingerprints, f.cap), (900, 100));
    assert_eq!(f.count + kept_count, count);
    assert_eq!(f.total_us + kept_total, total);
    assert_eq!(f.timed, f.count);
    assert_eq!(f.hist.as_ref().map(|h| h.len()), Some(f.count));
    // Kept: the 100 largest total times (fp × runs); every folded one is no larger.
    let least_kept = t.values().map(|q| q.total_us).min().unwrap_or(0);
    let mut totals: Vec<u64> = (0..1_000u64).map(|fp| fp * (fp % 5 + 1)).collect();
    totals.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(least_kept, totals[99]);
    assert_eq!(f.min_us, 0);
}

#[test]
fn folding_then_merging_is_exact() {
    let (mut a, mut b) = (QueryTable::new(None), QueryTable::new(None));
    feed(&mut a, 0..3_000);
    feed(&mut b, 3_000..6_000);
    a.cap(4);
    b.cap(2);
    a.merge(b);
    a.cap(3);
    let kept: u64 = a.values().map(|q| q.count).sum();
    assert_eq!(a.len(), 3);
    assert_eq!(kept + a.folded().count, 6_000);
    let total: u64 = (0..6_000).filter_map(|i| exec(i).1).sum();
    let kept_us: u64 = a.values().map(|q| q.total_us).sum();
    assert_eq!(kept_us + a.folded().total_us, total);
    assert_eq!(a.folded().fingerprints, (21 - 4) + (21 - 2) + (4 + 2 - 3));
}

/// The per-fingerprint state must not silently regrow: a row is one pointer in the
/// map, and the row itself stays small (the 2–14 KB histogram only once busy).
#[test]
fn per_fingerprint_state_stays_small() {
    use std::mem::size_of;
    assert_eq!(size_of::<Exec>(), 16);
    assert!(size_of::<Execs>() <= 24, "Execs {}", size_of::<Execs>());
    assert!(
        size_of::<QueryStats>() <= 256,
        "QueryStats {}",
        size_of::<QueryStats>()
    );
    assert_eq!(size_of::<Box<QueryStats>>(), 8);
    assert!(size_of::<super::super::query::Sample>() <= 176);
}
