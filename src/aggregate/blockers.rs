//! Who blocked whom. A `still waiting` message names the holding pid in its DETAIL;
//! what that process was doing comes from its own log lines:
//!
//! 1. **running**: a statement of the holder logged with its duration overlapped the
//!    wait: its next one after the wait (in log order) had started (end − duration)
//!    before the wait was logged, or its last one before the wait ended after the wait
//!    began (end ≥ logged time − time waited). It ran while the waiter waited (a
//!    `CREATE INDEX` holding its lock, a slow lookup inside the transaction that holds
//!    a row lock);
//! 2. **last_logged**: else the holder's last statement logged before the wait (a
//!    `duration:`/`statement:` line or the STATEMENT line of any of its entries): its
//!    transaction may still hold the lock, idle or in a statement too fast to log;
//! 3. **unknown**: else nothing, rather than a guess (no statement of the holder's
//!    session is in the log, e.g. below log_min_duration_statement).
//!
//! Both directions may cross chunk boundaries: waits whose holder logs nothing more in
//! the chunk are *pending* (settled by the next part's first statement event of the
//! holder); waits whose holder logged nothing before them are *heads* (settled by the
//! previous part's tail). `Partial::append` settles both in order, so the results do
//! not depend on chunking.

use super::incident::{Attribution, Before, FirstStmt, Head, PendingWait, PidTrack};
use super::signals::PidLocal;
use super::{ChunkAgg, Stats};
use crate::events::signal;
use crate::parse::LogEntry;

impl Stats {
    /// Counts one wait of `waiter` on `blocker`.
    pub(super) fn count_blocker(
        &mut self,
        waiter: Option<u64>,
        blocker: Option<u64>,
        how: Attribution,
    ) {
        *self
            .incidents
            .blockers
            .entry((waiter, blocker, how))
            .or_default() += 1;
    }

    /// Settles a wait whose holder ran no logged statement then: its last statement
    /// before the wait, or unknown; still open (`head`) when the part does not know.
    pub(super) fn fallback(&mut self, p: PendingWait, head: &mut Vec<Head>) {
        match p.before {
            Some(Some((fp, end))) => {
                // Still running when the wait began: the order of the two lines in the
                // log (which the logging collector may swap) does not matter.
                let overlapped = end.zip(p.since).is_some_and(|(end, since)| end >= since);
                let how = match overlapped {
                    true => Attribution::Running,
                    false => Attribution::LastLogged,
                };
                self.count_blocker(p.waiter, Some(fp), how)
            }
            Some(None) => self.count_blocker(p.waiter, None, Attribution::Unknown),
            None => head.push(Head::Blocked {
                holder: p.holder,
                since: p.since,
                waiter: p.waiter,
            }),
        }
    }

    /// Settles a wait with the holder's first statement event after it.
    fn forward(&mut self, p: PendingWait, first: FirstStmt, head: &mut Vec<Head>) {
        match (first, p.ts) {
            (Some((start, fp)), Some(t)) if start <= t => {
                self.count_blocker(p.waiter, Some(fp), Attribution::Running)
            }
            _ => self.fallback(p, head),
        }
    }

    /// The holder's last statement at the end of `mine`, as a [`Before`].
    pub(super) fn before_from(mine: &PidTrack, holder: u32) -> Before {
        mine.tail.get(&holder)?.stmt
    }

    /// Settles pending waits of both parts: `next`'s waits learn what came before them
    /// from `mine`'s tail; `mine`'s waits learn what came after them from `next`'s
    /// first statement events. `next.pending` and `next.first` are moved into `mine`.
    pub(super) fn settle_pending(&mut self, mine: &mut PidTrack, next: &mut PidTrack) {
        for p in &mut next.pending {
            if p.before.is_none() {
                p.before = Stats::before_from(mine, p.holder);
            }
        }
        for p in std::mem::take(&mut mine.pending) {
            match next.first.get(&p.holder) {
                Some(&first) => self.forward(p, first, &mut mine.head),
                None => mine.pending.push(p),
            }
        }
        mine.pending.append(&mut next.pending);
        for (pid, f) in std::mem::take(&mut next.first) {
            mine.first.entry(pid).or_insert(f);
        }
    }
}

impl<'a> ChunkAgg<'a> {
    /// A `still waiting` message of `e`, whose STATEMENT has fingerprint `waiter`.
    pub(super) fn blocker(&mut self, e: &LogEntry<'a, '_>, waiter: Option<u64>, waited_us: u64) {
        let Some(holder) = signal::first_holder(e) else {
            self.stats.count_blocker(waiter, None, Attribution::Unknown);
            return;
        };
        let before = self.pids.get(&holder).and_then(|l| l.stmt);
        self.waiting_on
            .entry(holder)
            .or_default()
            .push(PendingWait {
                holder,
                waiter,
                ts: e.fields.ts,
                since: e.fields.ts.map(|t| t - (waited_us / 1000) as i64),
                before,
            });
    }

    /// Process `pid` logged a statement (or its session started or ended): settles
    /// the waits on it, and remembers its first such event in the chunk. Returns the
    /// process's state, to be updated after.
    pub(super) fn stmt_event(&mut self, pid: u32, first: FirstStmt) -> &mut PidLocal {
        // The holder's list is drained, not removed, so that its buffer is reused by
        // the next waits on it (no allocation per wait).
        // Most chunks have no lock wait: no lookup.
        let waits = match self.waiting_on.is_empty() {
            true => None,
            false => self.waiting_on.get_mut(&pid),
        };
        if let Some(waits) = waits {
            for p in waits.drain(..) {
                self.stats.forward(p, first, &mut self.track.head);
            }
        }
        let local = self.pids.entry(pid).or_default();
        if !local.ended {
            local.ended = true;
            self.track.first.entry(pid).or_insert(first);
        }
        local
    }

    /// Moves the waits still open at the end of the chunk into the track.
    pub(super) fn flush_waits(&mut self) {
        let mut open: Vec<PendingWait> = self.waiting_on.drain().flat_map(|(_, v)| v).collect();
        open.sort_by_key(|p| (p.holder, p.ts));
        self.track.pending = open;
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregate::incident::Attribution;
    use crate::aggregate::{AggOptions, ChunkAgg, Partial, Stats};
    use crate::normalize::normalize;
    use crate::parse::stderr::StderrParser;
    use crate::parse::Prefix;

    const LOG: &str = "\
2026-01-01 00:00:00.000 UTC [10]: LOG:  connection authorized: user=a database=d application_name=x
2026-01-01 00:00:01.000 UTC [10]: LOG:  duration: 50.000 ms  statement: UPDATE t SET a = 1 WHERE id = 1
2026-01-01 00:00:02.000 UTC [20]: LOG:  process 20 still waiting for ShareLock on transaction 5 after 100.000 ms
2026-01-01 00:00:02.000 UTC [20]: DETAIL:  Process holding the lock: 10. Wait queue: 20.
2026-01-01 00:00:02.000 UTC [20]: CONTEXT:  while updating tuple (0,1) in relation \"t\"
2026-01-01 00:00:02.000 UTC [20]: STATEMENT:  UPDATE t SET a = 2 WHERE id = 1
2026-01-01 00:00:02.100 UTC [10]: LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp10.0\", size 8192
2026-01-01 00:00:02.100 UTC [10]: STATEMENT:  SELECT pg_sleep(1)
2026-01-01 00:00:02.500 UTC [10]: LOG:  duration: 900.000 ms  statement: SELECT pg_sleep(1)
2026-01-01 00:00:02.600 UTC [20]: LOG:  process 20 acquired ShareLock on transaction 5 after 700.000 ms
2026-01-01 00:00:02.600 UTC [20]: CONTEXT:  while updating tuple (0,1) in relation \"t\"
2026-01-01 00:00:02.600 UTC [20]: STATEMENT:  UPDATE t SET a = 2 WHERE id = 1
2026-01-01 00:00:03.000 UTC [30]: LOG:  process 30 still waiting for ShareLock on transaction 5 after 100.000 ms
2026-01-01 00:00:03.000 UTC [30]: DETAIL:  Process holding the lock: 10. Wait queue: 30.
2026-01-01 00:00:03.000 UTC [30]: STATEMENT:  UPDATE t SET a = 3 WHERE id = 1
2026-01-01 00:00:03.500 UTC [10]: LOG:  duration: 5.000 ms  statement: COMMIT
2026-01-01 00:00:04.000 UTC [40]: LOG:  process 40 still waiting for ShareLock on transaction 6 after 100.000 ms
2026-01-01 00:00:04.000 UTC [40]: DETAIL:  Process holding the lock: 99. Wait queue: 40.
2026-01-01 00:00:04.000 UTC [40]: STATEMENT:  UPDATE t SET a = 4 WHERE id = 1
";

    fn chunk(parser: &StderrParser, data: &[u8], base: usize) -> Partial {
        let mut agg = ChunkAgg::new(AggOptions::default(), 0);
        let lines = parser.parse_chunk(data, base as u64, &mut agg);
        agg.finish(lines)
    }

    /// The log cut at `cuts` (byte offsets of entry starts), merged in order.
    fn run(parser: &StderrParser, cuts: &[usize]) -> Stats {
        let data = LOG.as_bytes();
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(data.len());
        let mut parts = bounds
            .windows(2)
            .map(|w| chunk(parser, &data[w[0]..w[1]], w[0]));
        let mut acc = parts.next().unwrap();
        for p in parts {
            acc.append(p);
        }
        acc.finish().1
    }

    #[test]
    fn running_last_logged_and_unknown_whatever_the_cuts() {
        let parser = StderrParser::new(Prefix::compile("%m [%p]: ").unwrap());
        let fp = |s: &str| Some(normalize(s).1);
        let whole = run(&parser, &[]);
        let mut want: Vec<_> = [
            (
                fp("UPDATE t SET a = 2 WHERE id = 1"),
                fp("SELECT pg_sleep(1)"),
                Attribution::Running,
            ),
            (
                fp("UPDATE t SET a = 3 WHERE id = 1"),
                fp("SELECT pg_sleep(1)"),
                Attribution::LastLogged,
            ),
            (
                fp("UPDATE t SET a = 4 WHERE id = 1"),
                None,
                Attribution::Unknown,
            ),
        ]
        .into_iter()
        .map(|k| (k, 1))
        .collect();
        want.sort();
        let blockers = |s: &Stats| {
            let mut v: Vec<_> = s.incidents.blockers.iter().map(|(k, n)| (*k, *n)).collect();
            v.sort();
            v
        };
        assert_eq!(blockers(&whole), want);
        // 100 + (700 - 100) for pid 20, 100 each for pids 30 and 40.
        assert_eq!(whole.incidents.totals.lock_wait_us, 900_000);
        let starts: Vec<usize> = LOG
            .match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| {
                i < LOG.len() && parser.is_entry_start(LOG[i..].lines().next().unwrap().as_bytes())
            })
            .collect();
        assert_eq!(starts.len(), 8);
        for (i, &a) in starts.iter().enumerate() {
            for &b in &starts[i + 1..] {
                for cuts in [vec![a], vec![a, b]] {
                    let s = run(&parser, &cuts);
                    assert_eq!(blockers(&s), want, "cuts {cuts:?}");
                    assert_eq!(s.incidents.totals.lock_wait_us, 900_000, "cuts {cuts:?}");
                }
            }
        }
    }
}
