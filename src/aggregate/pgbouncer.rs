//! PgBouncer's lines → their own statistics, kept apart from the server's.
//!
//! Totals (logins, login failures, closings by reason, warnings and errors by message,
//! the stats lines' sums) live in [`PoolerStats`]; per-window figures live in each
//! window's [`PoolerWindow`], so they share the timeline's windows with the server's
//! and coarsen with them. Everything is a count or a sum: merging in any order gives
//! the same result, one thread or many.

use super::query::{max_opt, min_opt};
use super::ChunkAgg;
use crate::events::pgbouncer::{classify, is_login_failure, message_kind, PoolerEvent, StatsLine};
use crate::parse::pgbouncer::{ConnSide, PoolerLevel, PoolerLine};
use crate::parse::Millis;
use std::collections::BTreeMap;

/// Whole-log PgBouncer figures.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Default, PartialEq, Eq)]
pub struct PoolerStats {
    /// PgBouncer lines read (within `--begin/--end`).
    pub lines: u64,
    /// First and last instants of those lines.
    pub first_ts: Option<Millis>,
    /// See `first_ts`.
    pub last_ts: Option<Millis>,
    /// `login attempt:` lines.
    pub login_attempts: u64,
    /// Clients closed for a login reason (see [`is_login_failure`]).
    pub login_failures: u64,
    /// `new connection to server`.
    pub server_connections: u64,
    /// Closings by side, then reason.
    pub closings: BTreeMap<Side, Kinds>,
    /// WARNING, ERROR and FATAL lines by level, then message kind.
    pub messages: BTreeMap<PoolerLevel, Kinds>,
    /// Sums over the stats lines.
    pub stats: StatsSums,
    /// Per pool: database, then user, as the connection part names them (`(nodb)`,
    /// `(nouser)` before the pooler knows them).
    pub pools: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, PoolCounts>>,
}

/// What happened to one pool's connections.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PoolCounts {
    pub logins: u64,
    pub login_failures: u64,
    /// WARNING lines about the pool's connections.
    pub warnings: u64,
    /// ERROR and FATAL lines about the pool's connections.
    pub errors: u64,
}

impl PoolCounts {
    fn merge(&mut self, o: &PoolCounts) {
        self.logins += o.logins;
        self.login_failures += o.login_failures;
        self.warnings += o.warnings;
        self.errors += o.errors;
    }
}

/// The counts of pool `db`/`user`; allocates only for a pool not seen yet.
fn pool_mut<'m>(
    pools: &'m mut BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, PoolCounts>>,
    db: &[u8],
    user: &[u8],
) -> &'m mut PoolCounts {
    if !pools.contains_key(db) {
        pools.insert(db.to_vec(), BTreeMap::new());
    }
    let users = pools.get_mut(db).expect("inserted above");
    if !users.contains_key(user) {
        users.insert(user.to_vec(), PoolCounts::default());
    }
    users.get_mut(user).expect("inserted above")
}

/// Counts by message kind (see [`message_kind`]).
pub type Kinds = BTreeMap<String, u64>;

/// Counts `raw` under its kind; allocates only for a kind not seen yet, or a message
/// with digits to mask.
fn count_kind(kinds: &mut Kinds, raw: &[u8]) {
    let plain = !raw
        .iter()
        .any(|b| b.is_ascii_digit() || b.is_ascii_control());
    if let Some(c) = std::str::from_utf8(raw)
        .ok()
        .filter(|s| plain && s.len() <= 300)
        .and_then(|s| kinds.get_mut(s))
    {
        *c += 1;
        return;
    }
    *kinds.entry(message_kind(raw)).or_default() += 1;
}

fn merge_kinds(mine: &mut Kinds, theirs: Kinds) {
    for (k, v) in theirs {
        *mine.entry(k).or_default() += v;
    }
}

/// Which side a closing was on (serializable, ordered).
#[derive(
    Debug, serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub enum Side {
    /// A client connection.
    Client,
    /// A server connection.
    Server,
}

/// Sums over `stats:` lines.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StatsSums {
    pub lines: u64,
    pub xacts_per_s: u64,
    pub queries_per_s: u64,
    pub xact_us: u64,
    pub query_us: u64,
    pub wait_us: u64,
    pub max_wait_us: u64,
    pub max_xacts_per_s: u64,
}

impl StatsSums {
    fn add(&mut self, s: &StatsLine) {
        self.lines += 1;
        self.xacts_per_s = self.xacts_per_s.saturating_add(s.xacts_per_s);
        self.queries_per_s = self.queries_per_s.saturating_add(s.queries_per_s);
        self.xact_us = self.xact_us.saturating_add(s.xact_us);
        self.query_us = self.query_us.saturating_add(s.query_us);
        self.wait_us = self.wait_us.saturating_add(s.wait_us);
        self.max_wait_us = self.max_wait_us.max(s.wait_us);
        self.max_xacts_per_s = self.max_xacts_per_s.max(s.xacts_per_s);
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &StatsSums) {
        self.lines += o.lines;
        self.xacts_per_s = self.xacts_per_s.saturating_add(o.xacts_per_s);
        self.queries_per_s = self.queries_per_s.saturating_add(o.queries_per_s);
        self.xact_us = self.xact_us.saturating_add(o.xact_us);
        self.query_us = self.query_us.saturating_add(o.query_us);
        self.wait_us = self.wait_us.saturating_add(o.wait_us);
        self.max_wait_us = self.max_wait_us.max(o.max_wait_us);
        self.max_xacts_per_s = self.max_xacts_per_s.max(o.max_xacts_per_s);
    }

    /// The mean of a summed figure over the lines.
    pub fn mean(&self, sum: u64) -> Option<f64> {
        (self.lines > 0).then(|| sum as f64 / self.lines as f64)
    }
}

/// PgBouncer figures of one time window.
#[derive(Debug, serde::Serialize, serde::Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PoolerWindow {
    pub lines: u64,
    pub logins: u64,
    pub login_failures: u64,
    /// WARNING lines.
    pub warnings: u64,
    /// ERROR and FATAL lines.
    pub errors: u64,
    pub stats: StatsSums,
}

impl PoolerWindow {
    /// Adds `o`.
    pub fn merge(&mut self, o: &PoolerWindow) {
        self.lines += o.lines;
        self.logins += o.logins;
        self.login_failures += o.login_failures;
        self.warnings += o.warnings;
        self.errors += o.errors;
        self.stats.merge(&o.stats);
    }
}

impl PoolerStats {
    /// Adds `o`.
    pub fn merge(&mut self, o: PoolerStats) {
        self.lines += o.lines;
        self.first_ts = min_opt(self.first_ts, o.first_ts);
        self.last_ts = max_opt(self.last_ts, o.last_ts);
        self.login_attempts += o.login_attempts;
        self.login_failures += o.login_failures;
        self.server_connections += o.server_connections;
        for (side, kinds) in o.closings {
            merge_kinds(self.closings.entry(side).or_default(), kinds);
        }
        for (level, kinds) in o.messages {
            merge_kinds(self.messages.entry(level).or_default(), kinds);
        }
        self.stats.merge(&o.stats);
        for (db, users) in o.pools {
            let mine = self.pools.entry(db).or_default();
            for (user, c) in users {
                mine.entry(user).or_default().merge(&c);
            }
        }
    }

    /// Counts one line into the totals and returns its window's share.
    fn add(&mut self, l: &PoolerLine<'_>) -> PoolerWindow {
        let mut w = PoolerWindow {
            lines: 1,
            ..PoolerWindow::default()
        };
        self.lines += 1;
        self.first_ts = min_opt(self.first_ts, Some(l.ts));
        self.last_ts = max_opt(self.last_ts, Some(l.ts));
        match l.level {
            PoolerLevel::Warning => w.warnings = 1,
            PoolerLevel::Error | PoolerLevel::Fatal => w.errors = 1,
            _ => {}
        }
        if w.warnings + w.errors > 0 {
            count_kind(self.messages.entry(l.level).or_default(), l.message);
        }
        match classify(l.message) {
            PoolerEvent::LoginAttempt => {
                self.login_attempts += 1;
                w.logins = 1;
            }
            PoolerEvent::Closing { reason } => {
                let side = match l.side {
                    Some(ConnSide::Server) => Side::Server,
                    _ => Side::Client,
                };
                if side == Side::Client && is_login_failure(reason) {
                    self.login_failures += 1;
                    w.login_failures = 1;
                }
                count_kind(self.closings.entry(side).or_default(), reason);
            }
            PoolerEvent::NewServer => self.server_connections += 1,
            PoolerEvent::Stats(s) => {
                self.stats.add(&s);
                w.stats.add(&s);
            }
            PoolerEvent::LoginFailed | PoolerEvent::Other => {}
        }
        if l.side.is_some() && w.logins + w.login_failures + w.warnings + w.errors > 0 {
            pool_mut(&mut self.pools, l.db, l.user).merge(&PoolCounts {
                logins: w.logins,
                login_failures: w.login_failures,
                warnings: w.warnings,
                errors: w.errors,
            });
        }
        w
    }
}

impl ChunkAgg<'_> {
    /// Counts a PgBouncer line: its own totals and its window, never the server's.
    pub(super) fn pooler_line(&mut self, l: &PoolerLine<'_>) {
        self.input.entries += 1;
        if l.zone_unknown {
            self.input.unknown_zone_lines += 1;
        }
        if !self.in_range(Some(l.ts)) {
            self.input.filtered_entries += 1;
            return;
        }
        if let Some(f) = &self.opts.filters {
            if !f.pool(l.ts, l.db, l.user) {
                self.input.filter.removed += 1;
                return;
            }
            self.input.filter.kept += 1;
        }
        self.stats.saw(l.ts);
        let w = self.stats.pgbouncer.add(l);
        self.stats.windows.pooler(l.ts, |p| p.merge(&w));
    }
}
