//! Statements logged by `log_statement` and what ends them: a text-less `duration:`
//! line (log_duration, or log_min_duration_statement after log_statement), an error, or
//! the process's next statement.
//!
//! A logged statement waits per process. A bare duration of the same process times it
//! (and so does a `duration: X ms  statement:` line with the same text, should a server
//! log one execution both ways);
//! an ERROR/FATAL whose `STATEMENT:` is its text means it failed, and it is not counted
//! (pg_stat_statements counts completed statements only); anything else (the process's
//! next statement, another error, the end of the input) means it completed without a
//! duration: one execution, latency unknown. So each execution counts once whatever
//! the log settings: a statement logged once as `statement:` and timed by a later
//! `duration:` line is one timed execution.
//!
//! Across chunks: statements still waiting at the end of a chunk form its tail; the
//! first duration or error of a process in a chunk that saw no statement of it yet forms
//! the head of the next one. [`Stats::settle_pairing`] pairs them in file order, so one
//! thread or many give the same counts.

use super::query::Order;
use super::{ChunkAgg, Stats};
use crate::normalize::Normalizer;
use crate::parse::{LogEntry, Millis, Severity};
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;
use std::hash::Hasher;

/// A statement as observed: borrowed from the chunk, or from an owned [`Pending`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Obs<'a> {
    pub(super) fp: u64,
    pub(super) sql: &'a [u8],
    pub(super) params: Option<&'a [u8]>,
    pub(super) db: &'a [u8],
    pub(super) user: &'a [u8],
    pub(super) app: &'a [u8],
    pub(super) host: &'a [u8],
    pub(super) session: &'a [u8],
    pub(super) query_id: Option<i64>,
    pub(super) pid: Option<u32>,
    pub(super) order: Order,
    /// When the statement was logged (the time of an untimed execution).
    pub(super) ts: Option<Millis>,
}

/// A logged statement still waiting for its duration at the end of a chunk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Pending {
    fp: u64,
    sql: Vec<u8>,
    params: Option<Vec<u8>>,
    db: Vec<u8>,
    user: Vec<u8>,
    app: Vec<u8>,
    host: Vec<u8>,
    session: Vec<u8>,
    query_id: Option<i64>,
    pid: Option<u32>,
    order: Order,
    ts: Option<Millis>,
}

impl Pending {
    fn from_obs(o: &Obs<'_>) -> Self {
        Pending {
            fp: o.fp,
            sql: o.sql.to_vec(),
            params: o.params.map(<[u8]>::to_vec),
            db: o.db.to_vec(),
            user: o.user.to_vec(),
            app: o.app.to_vec(),
            host: o.host.to_vec(),
            session: o.session.to_vec(),
            query_id: o.query_id,
            pid: o.pid,
            order: o.order,
            ts: o.ts,
        }
    }

    fn obs(&self) -> Obs<'_> {
        Obs {
            fp: self.fp,
            sql: &self.sql,
            params: self.params.as_deref(),
            db: &self.db,
            user: &self.user,
            app: &self.app,
            host: &self.host,
            session: &self.session,
            query_id: self.query_id,
            pid: self.pid,
            order: self.order,
            ts: self.ts,
        }
    }
}

/// What ended the statement of a process before any statement of it in a chunk.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum HeadKind {
    /// A bare duration.
    Duration { us: u64, ts: Option<Millis> },
    /// An error whose `STATEMENT:` text hashes to this.
    Failure { sql_hash: u64 },
    /// A statement with its duration (`duration: X ms  statement: ...`) whose text
    /// hashes to this: the same execution as a waiting statement with that text.
    Executed { sql_hash: u64 },
}

/// The first duration or error of a process in its part of the file.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Head {
    pid: u32,
    kind: HeadKind,
}

/// What neighbouring parts of one file must settle between them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Pairing {
    head: Vec<Head>,
    tail: BTreeMap<u32, Pending>,
    /// Processes with a statement, duration or error in this part.
    touched: FxHashSet<u32>,
}

fn text_hash(sql: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(sql);
    h.finish()
}

impl Stats {
    /// Records one execution logged without a duration: counted, not timed.
    pub(super) fn record_untimed(&mut self, norm: &mut Normalizer, obs: &Obs<'_>) {
        self.record_untimed_in(norm, obs, None);
    }

    /// [`Stats::record_untimed`], its groups counted in `run` when given.
    pub(super) fn record_untimed_in<'g>(
        &mut self,
        norm: &mut Normalizer,
        obs: &Obs<'g>,
        run: Option<&mut super::GroupRun<'g>>,
    ) {
        let text = || super::signals::normalized(norm, obs.sql);
        let q = self.queries.record(obs.fp, text, None, obs.ts);
        if let Some(id) = obs.query_id {
            q.query_ids.insert(id);
        }
        self.row_of(obs, None, obs.ts);
        self.statements += 1;
        self.untimed_statements += 1;
        match run {
            Some(run) => run.count(self, obs, 0),
            None => self.count_groups(obs, 0),
        }
        if let Some(t) = obs.ts {
            self.windows.add_untimed(t);
            if let Some(f) = &mut self.fine {
                f.add_untimed(t);
            }
        }
    }

    /// Pairs the tail of `mine` (the earlier part) with the head of `next`, then keeps
    /// what later parts must settle.
    pub(super) fn settle_pairing(&mut self, mine: &mut Pairing, next: Pairing) {
        let mut norm = Normalizer::new();
        for h in next.head {
            let Some(p) = mine.tail.remove(&h.pid) else {
                if !mine.touched.contains(&h.pid) {
                    mine.head.push(h);
                } else if let HeadKind::Duration { .. } = h.kind {
                    self.orphan_durations += 1;
                }
                continue;
            };
            match h.kind {
                HeadKind::Duration { us, ts } => self.record(&mut norm, &p.obs(), us, ts),
                HeadKind::Failure { sql_hash } if sql_hash == text_hash(&p.sql) => {
                    self.failed_statements += 1;
                }
                HeadKind::Executed { sql_hash } if sql_hash == text_hash(&p.sql) => {}
                HeadKind::Failure { .. } | HeadKind::Executed { .. } => {
                    self.record_untimed(&mut norm, &p.obs())
                }
            }
        }
        // A statement of the same process in `next` means these completed untimed.
        let superseded: Vec<u32> = mine
            .tail
            .keys()
            .copied()
            .filter(|pid| next.touched.contains(pid))
            .collect();
        for pid in superseded {
            if let Some(p) = mine.tail.remove(&pid) {
                self.record_untimed(&mut norm, &p.obs());
            }
        }
        mine.tail.extend(next.tail);
        mine.touched.extend(next.touched);
    }

    /// Settles what only a part before `pairing`'s could settle, when nothing comes
    /// before it (it starts the input): its heads find no statement, as at the end of
    /// the input, and which processes it touched no longer matters. The same counts
    /// as [`Stats::finish_pairing`] gives them later, without holding a set of every
    /// process of the input.
    pub(super) fn settle_start(&mut self, pairing: &mut Pairing) {
        self.orphan_durations += pairing
            .head
            .iter()
            .filter(|h| matches!(h.kind, HeadKind::Duration { .. }))
            .count() as u64;
        pairing.head.clear();
        pairing.touched = FxHashSet::default();
    }

    /// Settles what is left at the end of the input.
    pub(super) fn finish_pairing(&mut self, pairing: Pairing) {
        let mut norm = Normalizer::new();
        for p in pairing.tail.values() {
            self.record_untimed(&mut norm, &p.obs());
        }
        self.orphan_durations += pairing
            .head
            .iter()
            .filter(|h| matches!(h.kind, HeadKind::Duration { .. }))
            .count() as u64;
    }
}

impl<'a> ChunkAgg<'a> {
    /// Adds `pid` to the processes the chunk touched; true when it was not there.
    /// Consecutive statements are often of one process: no lookup for it again.
    #[inline]
    fn touch(&mut self, pid: u32) -> bool {
        if self.last_touched == Some(pid) {
            return false;
        }
        self.last_touched = Some(pid);
        self.pairing.touched.insert(pid)
    }

    /// A statement logged without a duration: it waits for one.
    pub(super) fn logged(&mut self, pid: u32, o: Obs<'a>) {
        if let Some(prev) = self.pending.insert(pid, o) {
            self.stats
                .record_untimed_in(&mut self.norm, &prev, Some(&mut self.groups));
        }
        self.touch(pid);
    }

    /// A statement the filters removed: the one still waiting is settled (untimed),
    /// and a duration line at the start of the next chunk is not paired across it.
    pub(super) fn statement_removed(&mut self, pid: u32) {
        if let Some(prev) = self.pending.remove(&pid) {
            self.stats
                .record_untimed_in(&mut self.norm, &prev, Some(&mut self.groups));
        }
        self.touch(pid);
    }

    /// A duration without text: times the waiting statement of the process.
    pub(super) fn bare_duration(&mut self, pid: u32, us: u64, ts: Option<Millis>) {
        if let Some(o) = self.pending.remove(&pid) {
            self.stats
                .record_in(&mut self.norm, &o, us, ts, Some(&mut self.groups));
        } else if self.touch(pid) {
            let kind = HeadKind::Duration { us, ts };
            self.pairing.head.push(Head { pid, kind });
        } else {
            self.stats.orphan_durations += 1;
        }
    }

    /// An ERROR/FATAL/PANIC: ends the waiting statement of its process, as failed
    /// when the error's `STATEMENT:` is its text. Without a `STATEMENT:` line
    /// (log_min_error_statement above ERROR) the statement is left waiting.
    pub(super) fn statement_error(&mut self, pid: u32, e: &LogEntry<'a, '_>) {
        if !matches!(
            e.severity,
            Severity::Error | Severity::Fatal | Severity::Panic
        ) {
            return;
        }
        let Some(text) = e.aux_text(Severity::Statement, b"") else {
            return;
        };
        if let Some(p) = self.pending.remove(&pid) {
            if p.sql == text {
                self.stats.failed_statements += 1;
            } else {
                self.stats
                    .record_untimed_in(&mut self.norm, &p, Some(&mut self.groups));
            }
        } else if self.touch(pid) {
            let kind = HeadKind::Failure {
                sql_hash: text_hash(text),
            };
            self.pairing.head.push(Head { pid, kind });
        }
    }

    /// A statement logged with its duration (already recorded): a waiting statement
    /// of the process with the same text was this execution, logged twice; one with
    /// another text completed without a duration.
    pub(super) fn timed_seen(&mut self, pid: u32, sql: &[u8]) {
        // With durations on every statement line nothing ever waits: no lookup.
        let waiting = match self.pending.is_empty() {
            true => None,
            false => self.pending.remove(&pid),
        };
        if let Some(p) = waiting {
            if p.sql != sql {
                self.stats
                    .record_untimed_in(&mut self.norm, &p, Some(&mut self.groups));
            }
        } else if self.touch(pid) {
            let kind = HeadKind::Executed {
                sql_hash: text_hash(sql),
            };
            self.pairing.head.push(Head { pid, kind });
        }
    }

    /// Moves the statements still waiting into the chunk's tail.
    pub(super) fn pending_to_tail(&mut self) {
        let mut tail: Vec<(u32, Obs<'a>)> = self.pending.drain().collect();
        tail.sort_by_key(|(pid, _)| *pid);
        self.pairing.tail = tail
            .iter()
            .map(|(pid, o)| (*pid, Pending::from_obs(o)))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AggOptions, ChunkAgg, Stats};
    use crate::parse::{Aux, EntrySink, Fields, LogEntry, Severity};

    /// (pid, severity, message, STATEMENT line) of a log written with log_statement.
    const LOG: &[(u32, Severity, &str, Option<&str>)] = &[
        (1, Severity::Log, "statement: SELECT a FROM t", None),
        (2, Severity::Log, "statement: SELECT bad", None),
        (1, Severity::Log, "duration: 2.000 ms", None),
        (
            2,
            Severity::Error,
            "column \"bad\" does not exist",
            Some("SELECT bad"),
        ),
        (
            1,
            Severity::Log,
            "statement: INSERT INTO t VALUES (1)",
            None,
        ),
        (1, Severity::Log, "statement: SELECT b FROM t", None),
        (1, Severity::Error, "syntax error", Some("SELEC 3")),
        (2, Severity::Log, "statement: UPDATE t SET a = 1", None),
        (
            2,
            Severity::Log,
            "duration: 1.500 ms  statement: UPDATE t SET a = 1",
            None,
        ),
        (1, Severity::Log, "duration: 1.000 ms", None),
        (2, Severity::Log, "statement: DELETE FROM t", None),
    ];

    fn chunk(from: usize, to: usize) -> super::super::Partial {
        let mut agg = ChunkAgg::new(AggOptions::default(), 0);
        for (i, &(pid, severity, msg, stmt)) in LOG.iter().enumerate().take(to).skip(from) {
            let aux: Vec<Aux<'static>> = stmt
                .map(|s| Aux {
                    severity: Severity::Statement,
                    text: s.as_bytes(),
                })
                .into_iter()
                .collect();
            let fields = Fields {
                pid: Some(pid),
                ts: Some(1_000 + i as i64),
                ..Fields::default()
            };
            agg.entry(&LogEntry {
                offset: i as u64 * 100,
                line: i as u64 + 1,
                fields,
                severity,
                message: msg.as_bytes(),
                aux: &aux,
            });
        }
        agg.finish((to - from) as u64)
    }

    /// (executions, timed, failed, orphan durations, total µs, per query (text, count, timed)).
    type Figures = (u64, u64, u64, u64, u64, Vec<(String, u64, u64)>);

    fn figures(s: &Stats) -> Figures {
        let mut q: Vec<_> = s
            .queries
            .values()
            .map(|q| (q.text.clone(), q.count, q.timed))
            .collect();
        q.sort();
        let timed = s.statements - s.untimed_statements;
        let (f, o) = (s.failed_statements, s.orphan_durations);
        (s.statements, timed, f, o, s.total_us, q)
    }

    #[test]
    fn each_execution_counts_once_wherever_the_chunks_split() {
        let (_, whole) = chunk(0, LOG.len()).finish();
        let want = figures(&whole);
        // SELECT a timed; INSERT, SELECT b and DELETE untimed; UPDATE timed once;
        // SELECT bad failed; the last bare duration of pid 1 has nothing to time.
        assert_eq!(
            (want.0, want.1, want.2, want.3, want.4),
            (5, 2, 1, 1, 3_500)
        );
        let ran: Vec<_> = want.5.iter().filter(|q| q.1 > 0).collect();
        assert_eq!(ran.len(), 5);
        assert!(ran.iter().all(|q| q.1 == 1), "{ran:?}");
        for a in 0..=LOG.len() {
            for b in a..=LOG.len() {
                let mut p = chunk(0, a);
                p.append(chunk(a, b));
                p.append(chunk(b, LOG.len()));
                let (_, s) = p.finish();
                assert_eq!(figures(&s), want, "split at {a} and {b}");
            }
        }
    }
}
