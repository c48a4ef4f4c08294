//! What each field of an inferred prefix holds, told from its values and from evidence
//! in the log itself — never from its position alone.
//!
//! - Shapes: a session id is `hex.hex`, a query id a large or negative integer, a
//!   SQLSTATE five digits and capitals with `00000` on LOG lines, a vxid `n/n`.
//! - Counting: a line number rises by one per line of its process, which tells it from
//!   the pid it counts for.
//! - Evidence: `connection authorized: user=U database=D` lines carry the user and
//!   database their own prefix shows, and `application_name=A` the application their
//!   process's next lines show; `connection received: host=H` the client host.
//! - Keys (`db=`, `usr=`, `app=`...) and the `user@db` convention name a field unless
//!   the evidence contradicts them.
//!
//! A field nothing identifies is `%?`: matched, never reported. A value is never made
//! a literal unless it is the same word on every line and no evidence names it.

// Fields are addressed by their position `k` throughout (values, neighbours, kinds).
#![allow(clippy::needless_range_loop)]

use super::shape::Piece;
use crate::parse::prefix::{escape_fits, ABSENT};
use crate::parse::time::{parse_epoch, parse_timestamp};
use crate::parse::Severity;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// One sampled line matched by the generic prefix, with its fields' value ranges.
pub struct Sample<'a> {
    /// The line.
    pub line: &'a [u8],
    /// Each field's range in the line ([`ABSENT`] after a `%q` stop).
    pub caps: Vec<(usize, usize)>,
    /// The line's severity.
    pub severity: Severity,
    /// The line's message.
    pub message: &'a [u8],
}

impl<'a> Sample<'a> {
    /// The field's value (without the blanks of a padded field).
    fn value(&self, slot: usize) -> Option<&'a [u8]> {
        let (s, e) = *self.caps.get(slot)?;
        ((s, e) != ABSENT).then(|| self.line[s..e].trim_ascii())
    }
}

/// What a field was identified as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LogTime,
    OtherTime,
    User,
    Db,
    App,
    Host,
    Pid,
    Line,
    Session,
    SqlState,
    Vxid,
    Xid,
    QueryId,
    Backend,
    Tag,
    /// Not identified, but its values are ones that do not matter (`1` of `[%l-1]`,
    /// a port).
    Ignored,
    /// The same word on every line, and nothing names it: prefix text.
    Constant,
    Unknown,
}

impl Kind {
    fn escape(self) -> &'static str {
        match self {
            Kind::LogTime | Kind::OtherTime => unreachable!("timestamps keep their shape"),
            Kind::User => "%u",
            Kind::Db => "%d",
            Kind::App => "%a",
            Kind::Host => "%h",
            Kind::Pid => "%p",
            Kind::Line => "%l",
            Kind::Session => "%c",
            Kind::SqlState => "%e",
            Kind::Vxid => "%v",
            Kind::Xid => "%x",
            Kind::QueryId => "%Q",
            Kind::Backend => "%b",
            Kind::Tag => "%i",
            Kind::Ignored | Kind::Constant | Kind::Unknown => "%?",
        }
    }
}

/// The identified prefix, and sentences about what could not be identified.
pub struct Identified {
    /// The `log_line_prefix`, with `%?` for fields not identified.
    pub prefix: String,
    /// What the report should say.
    pub notes: Vec<String>,
    /// A shape to capture the fields with again before naming them once more (a host
    /// was found, which binds the fields beside it).
    pub refine: Option<String>,
}

/// Names the fields of `pieces` (a generic prefix: `%?` fields) from the lines it matched.
pub fn identify(pieces: &[Piece], samples: &[Sample<'_>]) -> Identified {
    let slots = slot_pieces(pieces);
    let mut kinds = vec![Kind::Unknown; slots.len()];
    let ctx = Ctx {
        pieces,
        slots: &slots,
        samples,
    };
    ctx.by_key_and_shape(&mut kinds);
    ctx.numbers(&mut kinds);
    ctx.times(&mut kinds);
    ctx.vxids(&mut kinds);
    let notes = ctx.texts(&mut kinds);
    ctx.constants(&mut kinds);
    ctx.fit(&mut kinds);
    let mut notes = notes;
    notes.extend(ctx.ambiguous(&mut kinds));
    let prefix = render(pieces, &kinds, samples);
    let unknown: Vec<String> = (0..slots.len())
        .filter(|&k| kinds[k] == Kind::Unknown)
        .map(|k| ctx.describe(k))
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "prefix field{} {} could not be identified: not reported",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", ")
        ));
    }
    let refine = kinds
        .contains(&Kind::Host)
        .then(|| capture_shape(pieces, &kinds));
    Identified {
        prefix,
        notes,
        refine,
    }
}

/// The generic shape with the host fields bound to what a host can be (no blank): the
/// free-text fields beside it then split where PostgreSQL wrote them
/// (`%a %r` with an application name holding blanks).
fn capture_shape(pieces: &[Piece], kinds: &[Kind]) -> String {
    let mut out = String::new();
    let mut k = 0;
    for p in pieces {
        match p {
            Piece::Lit(_) | Piece::Stop => {
                out.push_str(&super::shape::render(std::slice::from_ref(p)))
            }
            _ => {
                if kinds[k] == Kind::Host {
                    out.push_str(if *p == Piece::PaddedField {
                        "%-h"
                    } else {
                        "%h"
                    });
                } else {
                    out.push_str(&super::shape::render(std::slice::from_ref(p)));
                }
                k += 1;
            }
        }
    }
    out
}

/// The piece index of each field (every piece but literals and `%q`).
fn slot_pieces(pieces: &[Piece]) -> Vec<usize> {
    pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| !matches!(p, Piece::Lit(_) | Piece::Stop))
        .map(|(i, _)| i)
        .collect()
}

struct Ctx<'p, 's, 'a> {
    pieces: &'p [Piece],
    slots: &'p [usize],
    samples: &'s [Sample<'a>],
}

/// Keys people write before a field, and what they name.
fn kind_of_key(key: &str) -> Option<Kind> {
    Some(match key {
        "user" | "usr" | "u" | "username" | "user_name" | "role" | "usename" => Kind::User,
        "db" | "database" | "dbname" | "database_name" | "datname" | "d" => Kind::Db,
        "app" | "application" | "appname" | "application_name" | "a" => Kind::App,
        "client" | "host" | "remote" | "ip" | "h" | "r" | "client_addr" | "remote_host"
        | "connection_source" | "connection_from" | "clientip" | "client_ip" => Kind::Host,
        "pid" | "process" | "process_id" | "p" => Kind::Pid,
        "qid" | "queryid" | "query_id" | "q" => Kind::QueryId,
        "session" | "sess" | "sid" | "session_id" | "c" => Kind::Session,
        "xid" | "tx" | "txid" | "tid" | "transaction_id" | "x" => Kind::Xid,
        "vxid" | "vtid" | "virtual_transaction_id" | "v" => Kind::Vxid,
        "line" | "l" | "line_num" | "session_line_num" | "log_line" | "lineno" => Kind::Line,
        "sqlstate" | "state" | "code" | "sql_error_code" | "error_code" | "e" | "err" => {
            Kind::SqlState
        }
        "backend" | "backend_type" | "type" | "b" => Kind::Backend,
        "tag" | "cmd" | "command_tag" | "ps" | "i" => Kind::Tag,
        _ => return None,
    })
}

const BACKEND_TYPES: &[&str] = &[
    "client backend",
    "autovacuum launcher",
    "autovacuum worker",
    "background writer",
    "checkpointer",
    "walwriter",
    "wal writer",
    "walreceiver",
    "walsender",
    "wal summarizer",
    "startup",
    "archiver",
    "postmaster",
    "logger",
    "logical replication launcher",
    "logical replication worker",
    "logical replication apply worker",
    "logical replication tablesync worker",
    "logical replication parallel worker",
    "parallel worker",
    "background worker",
    "standalone backend",
    "slotsync worker",
    "io worker",
    "pg_wait_sampling collector",
    "TimescaleDB Background Worker Launcher",
];

const TAGS: &[&str] = &[
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "authentication",
    "startup",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "COPY",
    "VACUUM",
    "ANALYZE",
    "CREATE TABLE",
    "CREATE INDEX",
    "DROP TABLE",
    "ALTER TABLE",
    "SET",
    "SHOW",
    "PARSE",
    "BIND",
    "EXECUTE",
    "FETCH",
    "DECLARE CURSOR",
    "CLOSE CURSOR",
    "DISCARD ALL",
    "DEALLOCATE",
    "LOCK TABLE",
    "TRUNCATE TABLE",
];

/// A test for times far from the others (a clock set wrong: more than 30 days, and
/// more than 10 times the spread of the middle half, away from the middle half), when
/// they are at most 1% of the times; otherwise nothing is far.
fn far_off(ms: &[Option<i64>]) -> impl Fn(i64) -> bool {
    const DAYS_30: i64 = 30 * 86_400_000;
    let mut v: Vec<i64> = ms.iter().flatten().copied().collect();
    v.sort_unstable();
    let (lo, hi) = match v.len() {
        0 => (0, 0),
        n => (v[n / 4], v[(3 * n) / 4]),
    };
    let reach = DAYS_30.max((hi - lo).saturating_mul(10));
    let is_far = move |t: i64| t < lo.saturating_sub(reach) || t > hi.saturating_add(reach);
    let count = v.iter().filter(|&&t| is_far(t)).count();
    let some = count * 100 <= v.len();
    move |t| some && is_far(t)
}

fn is_int(v: &[u8]) -> bool {
    let d = v.strip_prefix(b"-").unwrap_or(v);
    !d.is_empty() && d.iter().all(u8::is_ascii_digit)
}

fn int(v: &[u8]) -> Option<i64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

impl<'a> Ctx<'_, '_, 'a> {
    fn values(&self, k: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.samples.iter().filter_map(move |s| s.value(k))
    }

    /// The key written before field `k` (`usr` of `usr=%u`), lowercased.
    fn key(&self, k: usize) -> Option<String> {
        let i = self.slots[k];
        let Some(Piece::Lit(l)) = i.checked_sub(1).map(|j| &self.pieces[j]) else {
            return None;
        };
        let l = l.strip_suffix(b"=")?;
        let start = l
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(0, |p| p + 1);
        let key = std::str::from_utf8(&l[start..]).ok()?;
        (!key.is_empty()).then(|| key.to_ascii_lowercase())
    }

    fn lit_before(&self, k: usize) -> &[u8] {
        match self.slots[k].checked_sub(1).map(|j| &self.pieces[j]) {
            Some(Piece::Lit(l)) => l,
            _ => b"",
        }
    }

    fn lit_after(&self, k: usize) -> &[u8] {
        match self.pieces.get(self.slots[k] + 1) {
            Some(Piece::Lit(l)) => l,
            _ => b"",
        }
    }

    /// The field as people read it in a note: its key or surroundings and two values.
    fn describe(&self, k: usize) -> String {
        let mut seen: Vec<&[u8]> = Vec::new();
        for v in self.values(k) {
            if !v.is_empty() && !seen.contains(&v) {
                seen.push(v);
                if seen.len() == 2 {
                    break;
                }
            }
        }
        let eg: Vec<String> = seen
            .iter()
            .map(|v| format!("'{}'", String::from_utf8_lossy(&v[..v.len().min(40)])))
            .collect();
        let before = String::from_utf8_lossy(self.lit_before(k)).into_owned();
        let after = String::from_utf8_lossy(self.lit_after(k)).into_owned();
        format!(
            "'{}%?{}' ({})",
            before.trim_start(),
            after.trim_end(),
            if eg.is_empty() {
                "always empty".to_string()
            } else {
                format!("e.g. {}", eg.join(", "))
            }
        )
    }

    /// The first timestamp that rises with the log is the log's time; one that jumps
    /// back (a session's start, `%s`) or equals the session id's start time is not.
    fn times(&self, kinds: &mut [Kind]) {
        let mut have_log_time = false;
        for k in 0..self.slots.len() {
            let piece = &self.pieces[self.slots[k]];
            if !matches!(piece, Piece::Ts(_) | Piece::Epoch) {
                continue;
            }
            let ms: Vec<Option<i64>> = self
                .samples
                .iter()
                .map(|s| {
                    let v = s.value(k)?;
                    match piece {
                        Piece::Epoch => parse_epoch(v).map(|p| p.ms),
                        _ => parse_timestamp(v, v.get(19) == Some(&b'.')).map(|p| p.ms),
                    }
                })
                .collect();
            let far = far_off(&ms);
            let mut max = i64::MIN;
            let (mut n, mut back) = (0usize, 0usize);
            for t in ms.iter().flatten().filter(|t| !far(**t)) {
                n += 1;
                if *t <= max.saturating_sub(2000) {
                    back += 1;
                }
                max = max.max(*t);
            }
            // The log's time never goes back by seconds (the logging collector only
            // swaps lines milliseconds apart; a few lines dated years off are a clock set
            // wrong, left out here); a session's start does whenever a long-lived
            // process logs after a newer session.
            // A time in seconds that never changes over many lines may as well be a
            // session's start (`%s`): it cannot be told from the log's time.
            let mut seen: Vec<i64> = ms.iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            let frozen = matches!(piece, Piece::Ts(false))
                && ((seen.len() == 1 && n >= 10) || self.constant_per_process(k, kinds));
            let rises = n > 0 && back == 0 && !frozen;
            kinds[k] = if rises && !have_log_time && !self.is_session_start(&ms) {
                have_log_time = true;
                Kind::LogTime
            } else {
                Kind::OtherTime
            };
        }
    }

    /// Every process shows one value of field `k` on all its lines, and some process
    /// writes several: a session's start, not the time of each line.
    fn constant_per_process(&self, k: usize, kinds: &[Kind]) -> bool {
        let Some(p) = kinds.iter().position(|&x| x == Kind::Pid) else {
            return false;
        };
        let mut per: FxHashMap<&[u8], (&[u8], usize)> = FxHashMap::default();
        for s in self.samples {
            let (Some(pid), Some(v)) = (s.value(p), s.value(k)) else {
                continue;
            };
            let e = per.entry(pid).or_insert((v, 0));
            if e.0 != v {
                return false;
            }
            e.1 += 1;
        }
        per.values().any(|&(_, n)| n >= 5)
    }

    /// True when every time equals the start time a `%c` session id carries.
    fn is_session_start(&self, ms: &[Option<i64>]) -> bool {
        let Some(sess) = (0..self.slots.len()).find(|&k| {
            self.is_field(k)
                && self.values(k).filter(|v| !v.is_empty()).all(is_session_id)
                && self.values(k).any(|v| !v.is_empty())
        }) else {
            return false;
        };
        let mut compared = 0;
        for (s, t) in self.samples.iter().zip(ms) {
            let (Some(v), Some(t)) = (s.value(sess), t) else {
                continue;
            };
            let Some(start) = session_start(v) else {
                continue;
            };
            if start != t.div_euclid(1000) {
                return false;
            }
            compared += 1;
        }
        compared > 0
    }

    fn is_field(&self, k: usize) -> bool {
        matches!(
            self.pieces[self.slots[k]],
            Piece::Field | Piece::PaddedField
        )
    }

    fn by_key_and_shape(&self, kinds: &mut [Kind]) {
        for k in 0..self.slots.len() {
            if !self.is_field(k) {
                continue;
            }
            let present: Vec<&[u8]> = self.values(k).filter(|v| !v.is_empty()).collect();
            let by_shape = if present.is_empty() {
                None
            } else if present.iter().all(|v| is_session_id(v)) {
                Some(Kind::Session)
            } else if present.iter().all(|v| is_int(v))
                && present
                    .iter()
                    .any(|v| v.strip_prefix(b"-").unwrap_or(v).len() >= 11)
            {
                Some(Kind::QueryId)
            } else if present.iter().all(|v| is_sqlstate(v)) && self.sqlstate_on_log_lines(k) {
                Some(Kind::SqlState)
            } else if present.iter().all(|v| is_vxid(v)) {
                Some(Kind::Vxid)
            } else {
                None
            };
            let by_key = self.key(k).as_deref().and_then(kind_of_key);
            kinds[k] = match (by_key, by_shape) {
                // A key names the field unless the values cannot be that (a `qid=`
                // holding text): then the shape, or nothing.
                (Some(kk), _) if self.plausible(kk, &present) => kk,
                (_, Some(s)) => s,
                _ => Kind::Unknown,
            };
        }
    }

    /// Whether `present` values can be what `kind` prints.
    fn plausible(&self, kind: Kind, present: &[&[u8]]) -> bool {
        let all = |f: fn(&[u8]) -> bool| present.iter().all(|v| f(v));
        match kind {
            Kind::Pid | Kind::Line | Kind::Xid => all(|v| is_int(v) && !v.starts_with(b"-")),
            Kind::QueryId => all(is_int),
            Kind::Session => all(is_session_id),
            Kind::SqlState => all(is_sqlstate),
            Kind::Vxid => all(is_vxid),
            // Names are not bare numbers in practice; a number there is a pid or a
            // counter on a line whose name was empty (`user=%u-%p` gives `user=-9072`).
            Kind::User | Kind::Db | Kind::App | Kind::Host => !present.iter().any(|v| is_int(v)),
            _ => true,
        }
    }

    fn sqlstate_on_log_lines(&self, k: usize) -> bool {
        let mut log_lines = self
            .samples
            .iter()
            .filter(|s| s.severity == Severity::Log)
            .filter_map(|s| s.value(k))
            .peekable();
        log_lines.peek().is_some() && log_lines.all(|v| v == b"00000")
    }

    /// Numbers with no key: the pid, the line number that counts its lines, an xid
    /// (mostly 0); `1` after a line number is pgBadger's constant `[%l-1]`.
    fn numbers(&self, kinds: &mut [Kind]) {
        let numeric: Vec<usize> = (0..self.slots.len())
            .filter(|&k| self.is_field(k) && matches!(kinds[k], Kind::Unknown | Kind::Pid))
            .filter(|&k| {
                let mut present = self.values(k).filter(|v| !v.is_empty()).peekable();
                present.peek().is_some()
                    && present.all(|v| is_int(v) && !v.starts_with(b"-") && v.len() <= 10)
            })
            .collect();
        let keyed_pid = numeric.iter().copied().find(|&k| kinds[k] == Kind::Pid);
        // A line counter: rises by one between consecutive lines of the same pid.
        let counts_for = |l: usize, p: usize| -> bool {
            let mut last: FxHashMap<&[u8], i64> = FxHashMap::default();
            let (mut steps, mut ones) = (0usize, 0usize);
            for s in self.samples {
                let (Some(pv), Some(lv)) = (s.value(p), s.value(l).and_then(int)) else {
                    continue;
                };
                if let Some(prev) = last.insert(pv, lv) {
                    steps += 1;
                    if lv == prev + 1 {
                        ones += 1;
                    }
                }
            }
            steps >= 10 && ones * 10 >= steps * 9
        };
        // Whether each numeric field may be the pid: `kinds` does not change until the
        // end, so it is worked out once per field, not once per use below.
        let known: Vec<std::cell::OnceCell<bool>> =
            numeric.iter().map(|_| Default::default()).collect();
        let may_be_pid = |k: usize| {
            let i = numeric
                .iter()
                .position(|&n| n == k)
                .expect("a numeric field");
            *known[i].get_or_init(|| self.may_be_pid(k, kinds))
        };
        let mut pid = keyed_pid;
        let mut line = None;
        'find: for &p in &numeric {
            if keyed_pid.is_some_and(|kp| kp != p) || !may_be_pid(p) {
                continue;
            }
            for &l in &numeric {
                if l != p && kinds[l] == Kind::Unknown && counts_for(l, p) {
                    pid = Some(p);
                    line = Some(l);
                    break 'find;
                }
            }
        }
        if pid.is_none() {
            // A new process logs `connection received` then `connection authorized`:
            // a field new on each and the same on both is its pid.
            pid = numeric.iter().copied().find(|&k| {
                kinds[k] == Kind::Unknown && may_be_pid(k) && self.follows_connections(k)
            });
        }
        if pid.is_none() {
            // No line counter to tell it by: a bracketed number, else none.
            pid = numeric.iter().copied().find(|&k| {
                kinds[k] == Kind::Unknown
                    && may_be_pid(k)
                    && self.lit_before(k).ends_with(b"[")
                    && self.distinct(k) > 1
                    && self
                        .values(k)
                        .all(|v| int(v).is_some_and(|n| n > 0 && n <= 4_194_304))
            });
        }
        if let Some(p) = pid {
            kinds[p] = Kind::Pid;
        }
        if let Some(l) = line {
            kinds[l] = Kind::Line;
        }
        for &k in &numeric {
            if kinds[k] != Kind::Unknown {
                continue;
            }
            let after_line = k > 0 && kinds[k - 1] == Kind::Line;
            if after_line && self.values(k).all(|v| v == b"1") {
                kinds[k] = Kind::Constant; // pgBadger's `[%l-1]`
            } else if self.is_vxid_half(k) {
                kinds[k] = Kind::Ignored; // `%v` is `backend/local xid`
            } else if self.lit_before(k).ends_with(b"(") && self.lit_after(k).starts_with(b")") {
                kinds[k] = Kind::Ignored; // the port of `host(port)`
            } else if self.mostly_zero(k) {
                kinds[k] = Kind::Xid;
            }
        }
    }

    /// One of two numbers written `n/n` (a vxid); lines whose vxid is empty may have
    /// pushed other text into it, hence "mostly".
    fn is_vxid_half(&self, k: usize) -> bool {
        let pair = (self.lit_after(k) == b"/" && k + 1 < self.slots.len())
            || (self.lit_before(k) == b"/" && k > 0);
        let (n, ints) = self
            .values(k)
            .filter(|v| !v.is_empty())
            .fold((0, 0), |(n, i), v| (n + 1, i + usize::from(is_int(v))));
        pair && n > 0 && ints * 10 >= n * 9
    }

    fn vxids(&self, kinds: &mut [Kind]) {
        for k in 0..self.slots.len() {
            if kinds[k] == Kind::Unknown && self.is_field(k) && self.is_vxid_half(k) {
                kinds[k] = Kind::Ignored;
            }
        }
    }

    /// A pid is not a port (`host(port)`), and equals the pid a `%c` session id ends
    /// with on every line that has both.
    fn may_be_pid(&self, k: usize, kinds: &[Kind]) -> bool {
        if self.lit_before(k).ends_with(b"(") && kinds[k] != Kind::Pid {
            return false;
        }
        // No process is 0, and a log has more than one.
        if self
            .values(k)
            .any(|v| !int(v).is_some_and(|n| n > 0 && n <= 4_194_304))
            || self.distinct(k) < 2
        {
            return false;
        }
        if !self.new_on_each_connection(k) || self.counts_up(k) {
            return false;
        }
        let Some(sess) = (0..self.slots.len()).find(|&j| kinds[j] == Kind::Session) else {
            return true;
        };
        self.samples
            .iter()
            .all(|s| match (s.value(k), s.value(sess)) {
                (Some(p), Some(c)) if !c.is_empty() => {
                    let hex = c.rsplit(|&b| b == b'.').next().unwrap_or_default();
                    let from_session = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| i64::from_str_radix(h, 16).ok());
                    from_session.is_some() && from_session == int(p)
                }
                _ => true,
            })
    }

    /// From line to line the value mostly goes up by one (a line counter), where a
    /// pid mostly stays (a process writes several lines in a row).
    fn counts_up(&self, k: usize) -> bool {
        let (mut same, mut up) = (0usize, 0usize);
        let mut last: Option<i64> = None;
        for v in self.values(k).filter_map(int) {
            match last {
                Some(l) if v == l => same += 1,
                Some(l) if v == l + 1 => up += 1,
                _ => {}
            }
            last = Some(v);
        }
        up > 2 * same + 2
    }

    /// Where the log has connection lines, a pid is (nearly always) new on each
    /// `connection received` line and the same on the process's `connection authorized`.
    fn new_on_each_connection(&self, k: usize) -> bool {
        let mut received: Vec<&[u8]> = Vec::new();
        let mut authorized = Vec::new();
        for s in self.samples {
            let Some(v) = s.value(k) else { continue };
            let m = unverbose(s.message);
            if m.starts_with(b"connection received: ") {
                received.push(v);
            } else if m.starts_with(b"connection authorized: ") {
                authorized.push(v);
            }
        }
        if received.len() < 3 {
            return true;
        }
        let known = authorized.iter().filter(|v| received.contains(v)).count();
        received.sort_unstable();
        let all = received.len();
        received.dedup();
        received.len() * 10 >= all * 9 && known * 10 >= authorized.len() * 9
    }

    /// Each `connection authorized` line has the value of a `connection received`
    /// line before it, and the received lines' values differ (each is a new process).
    fn follows_connections(&self, k: usize) -> bool {
        let mut received: Vec<&[u8]> = Vec::new();
        let mut authorized = 0;
        for s in self.samples {
            let Some(v) = s.value(k) else { continue };
            let m = unverbose(s.message);
            if m.starts_with(b"connection received: ") {
                if received.contains(&v) {
                    return false;
                }
                received.push(v);
            } else if m.starts_with(b"connection authorized: ") {
                if !received.contains(&v) {
                    return false;
                }
                authorized += 1;
            }
        }
        received.len() >= 2 && authorized >= 2
    }

    fn distinct(&self, k: usize) -> usize {
        let mut seen: Vec<&[u8]> = self.values(k).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    fn mostly_zero(&self, k: usize) -> bool {
        let (n, zero) = self
            .values(k)
            .fold((0, 0), |(n, z), v| (n + 1, z + usize::from(v == b"0")));
        n > 0 && zero * 2 > n
    }

    /// User, database, application and host, from the connection lines; keys and
    /// `user@db` where the evidence does not contradict them. Returns notes on keyed
    /// fields the evidence contradicted.
    fn texts(&self, kinds: &mut [Kind]) -> Vec<String> {
        let mut notes = Vec::new();
        let ev = Evidence::gather(self.samples, kinds.iter().position(|&k| k == Kind::Pid));
        for k in 0..self.slots.len() {
            if !self.is_field(k) || !matches!(kinds[k], Kind::Unknown | Kind::User | Kind::Db) {
                if matches!(kinds[k], Kind::App | Kind::Host) {
                    if let Some(note) = self.check(k, kinds[k], &ev) {
                        notes.push(note);
                        kinds[k] = Kind::Unknown;
                    }
                }
                continue;
            }
            let tally = |want: Kind| ev.tally(self.samples, k, want);
            let (u_ok, u_bad) = tally(Kind::User);
            let (d_ok, d_bad) = tally(Kind::Db);
            // `user@db` by convention, unless the values are numbers (a pid after `@`).
            let numeric = self.values(k).filter(|v| !v.is_empty()).all(is_int);
            let field_at =
                |j: Option<usize>| j.is_some_and(|j| j < kinds.len() && self.is_field(j));
            let vocabulary = self.by_vocabulary(k, &ev);
            let by_at = if numeric || matches!(vocabulary, Kind::Backend | Kind::Tag) {
                None
            } else if self.lit_after(k) == b"@" && field_at(Some(k + 1)) {
                Some(Kind::User)
            } else if self.lit_before(k) == b"@" && field_at(k.checked_sub(1)) {
                Some(Kind::Db)
            } else {
                None
            };
            let named = match kinds[k] {
                Kind::User | Kind::Db => Some(kinds[k]),
                _ => by_at,
            };
            kinds[k] = match named {
                Some(Kind::User) if u_bad == 0 => Kind::User,
                Some(Kind::Db) if d_bad == 0 => Kind::Db,
                Some(n) => {
                    notes.push(format!(
                        "prefix field {} looks like the {} but does not match the log's connection lines: not reported",
                        self.describe(k),
                        if n == Kind::User { "user" } else { "database" }
                    ));
                    Kind::Unknown
                }
                None => {
                    let user = u_ok > 0 && u_bad == 0;
                    let db = d_ok > 0 && d_bad == 0;
                    match (user, db) {
                        (true, false) => Kind::User,
                        (false, true) => Kind::Db,
                        _ => vocabulary,
                    }
                }
            };
        }
        notes
    }

    /// A keyed application or host field checked against the connection lines.
    fn check(&self, k: usize, kind: Kind, ev: &Evidence<'a>) -> Option<String> {
        let (ok, bad) = ev.tally(self.samples, k, kind);
        let cut = kind == Kind::App && ev.cut_short(self.samples, k, kind);
        (cut || (bad > 0 && bad * 10 > ok)).then(|| {
            format!(
                "prefix field {} looks like the {} but does not match the log's connection lines: not reported",
                self.describe(k),
                if kind == Kind::App { "application" } else { "client host" }
            )
        })
    }

    /// An unkeyed text field: the application or host the connection lines name, a
    /// backend type, a command tag.
    fn by_vocabulary(&self, k: usize, ev: &Evidence<'a>) -> Kind {
        let present: Vec<&[u8]> = self.values(k).filter(|v| !v.is_empty()).collect();
        if present.is_empty() {
            return Kind::Unknown;
        }
        let (a_ok, a_bad) = ev.tally(self.samples, k, Kind::App);
        if a_ok >= 2 && a_bad * 10 <= a_ok && !ev.cut_short(self.samples, k, Kind::App) {
            return Kind::App;
        }
        let (h_ok, h_bad) = ev.tally(self.samples, k, Kind::Host);
        if h_ok >= 2 && h_bad * 10 <= h_ok {
            return Kind::Host;
        }
        let among = |list: &[&str]| {
            present
                .iter()
                .all(|v| list.iter().any(|w| w.as_bytes() == *v))
        };
        if among(BACKEND_TYPES) {
            Kind::Backend
        } else if among(TAGS) {
            Kind::Tag
        } else {
            Kind::Unknown
        }
    }

    /// A field that is the same alphabetic word on every line is prefix text, unless
    /// a connection line names it (a database all lines share is still a database).
    fn constants(&self, kinds: &mut [Kind]) {
        for k in 0..self.slots.len() {
            if kinds[k] != Kind::Unknown || !self.is_field(k) {
                continue;
            }
            let Some(first) = self.values(k).next() else {
                continue;
            };
            let n = self.values(k).count();
            let same = self.values(k).all(|v| v == first);
            let word =
                !first.is_empty() && first.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_');
            let present_everywhere = self.samples.iter().all(|s| s.value(k).is_some());
            if same && word && n >= 10 && present_everywhere {
                kinds[k] = Kind::Constant;
            }
        }
    }

    /// Fields a line can be split into two ways (an application name holding the
    /// separator that follows it, `%a %u` with `pgAdmin 4`): their values cannot be
    /// told, so they are not reported.
    fn ambiguous(&self, kinds: &mut [Kind]) -> Vec<String> {
        let reported = |k: Kind| {
            !matches!(
                k,
                Kind::Unknown | Kind::Ignored | Kind::Constant | Kind::OtherTime
            )
        };
        // Only a reported field can be taken back: with none, there is nothing to read.
        if !kinds.iter().any(|&k| reported(k)) {
            return Vec::new();
        }
        let ev = Evidence::gather(self.samples, kinds.iter().position(|&k| k == Kind::Pid));
        let slots: Vec<Kind> = kinds
            .iter()
            .map(|&k| {
                if k == Kind::Constant {
                    Kind::Unknown
                } else {
                    k
                }
            })
            .collect();
        let Ok(p) = crate::parse::Prefix::compile(&render(self.pieces, &slots, self.samples))
        else {
            return Vec::new();
        };
        let now: &[Kind] = kinds;
        // Without free text a line has one reading; and once every reported field
        // differs, more lines cannot change the outcome.
        let settled = |d: &[bool]| (0..d.len()).all(|k| d[k] || !reported(now[k]));
        // The fields that differ on some line of `part`.
        let differ_in = |part: &[Sample<'_>]| {
            let (mut lazy, mut greedy) = (Vec::new(), Vec::new());
            let mut differs = vec![false; now.len()];
            for s in part {
                if settled(&differs) {
                    break;
                }
                // Up to the message: a value does not run past the severity.
                let head = &s.line[..s.line.len() - s.message.len()];
                if p.match_capture(head, &mut lazy).is_none() {
                    continue;
                }
                if p.match_capture_greedy(head, &mut greedy).is_none() {
                    // Too many readings to try them all: none can be trusted.
                    differs.iter_mut().for_each(|d| *d = true);
                    continue;
                }
                for (k, d) in differs.iter_mut().enumerate() {
                    let v = |c: &[(usize, usize)]| c.get(k).map(|&(a, b)| (a, b));
                    *d |= v(&lazy) != v(&greedy);
                }
            }
            differs
        };
        // The lines shared between the threads (a field differs if it does on a line
        // of either share).
        let share = self
            .samples
            .len()
            .div_ceil(rayon::current_num_threads())
            .max(256);
        let differs = match p.has_free_text() {
            false => vec![false; now.len()],
            true => self
                .samples
                .par_chunks(share)
                .map(differ_in)
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a |= b);
                    a
                })
                .unwrap_or_else(|| vec![false; now.len()]),
        };
        let mut notes = Vec::new();
        for k in 0..kinds.len() {
            if differs[k] && reported(kinds[k]) && !self.confirmed(k, kinds[k], &ev) {
                notes.push(format!(
                    "prefix field {} can be read two ways on some lines (a value holds the text that follows it): not reported",
                    self.describe(k)
                ));
                kinds[k] = Kind::Unknown;
            }
        }
        notes
    }

    /// The connection lines bear out every value the first reading gives field `k`
    /// (`%d %a`: the database is a name the connection lines give, so the blank after
    /// it is the separator, whatever the application name holds).
    fn confirmed(&self, k: usize, kind: Kind, ev: &Evidence<'a>) -> bool {
        let names: Vec<&[u8]> = match kind {
            Kind::User => ev.authorized.iter().map(|a| a.1).collect(),
            Kind::Db => ev.authorized.iter().filter_map(|a| a.2).collect(),
            Kind::App => ev.app_of_line.iter().map(|a| a.1).collect(),
            _ => return false,
        };
        !names.is_empty()
            && self
                .values(k)
                .all(|v| v.is_empty() || v == b"[unknown]" || names.contains(&v))
    }

    /// Fixed-shape escapes must parse every value exactly; otherwise the field stays
    /// free text (`%?`) so no line is lost.
    fn fit(&self, kinds: &mut [Kind]) {
        for k in 0..self.slots.len() {
            if !self.is_field(k) {
                continue;
            }
            let esc = kinds[k].escape();
            let c = esc.chars().nth(1).unwrap_or('?');
            if !self.values(k).all(|v| escape_fits(c, v)) {
                kinds[k] = Kind::Unknown;
            }
        }
    }
}

/// A `connection authorized` line: its sample index, user and database.
type Authorized<'a> = (usize, &'a [u8], Option<&'a [u8]>);

/// What the connection lines say: per line index, the user and database of a
/// `connection authorized` line; per pid, the application and client host.
struct Evidence<'a> {
    authorized: Vec<Authorized<'a>>,
    /// `connection received` lines: sample index and client host (their own prefix
    /// shows it).
    received: Vec<(usize, &'a [u8])>,
    /// `connection authorized` lines' application names.
    app_of_line: Vec<(usize, &'a [u8])>,
    app_of_pid: FxHashMap<&'a [u8], (usize, &'a [u8])>,
    host_of_pid: FxHashMap<&'a [u8], (usize, &'a [u8])>,
    pid_slot: Option<usize>,
}

impl<'a> Evidence<'a> {
    fn gather(samples: &[Sample<'a>], pid_slot: Option<usize>) -> Self {
        let mut ev = Evidence {
            authorized: Vec::new(),
            received: Vec::new(),
            app_of_line: Vec::new(),
            app_of_pid: FxHashMap::default(),
            host_of_pid: FxHashMap::default(),
            pid_slot,
        };
        for (i, s) in samples.iter().enumerate() {
            if s.severity != Severity::Log {
                continue;
            }
            let pid = pid_slot.and_then(|p| s.value(p));
            let message = unverbose(s.message);
            if let Some(rest) = message.strip_prefix(b"connection authorized: ") {
                let user = kv(rest, b"user=");
                let db = kv(rest, b"database=");
                if let Some(u) = user {
                    ev.authorized.push((i, u, db));
                }
                if let Some(app) = app_value(rest) {
                    ev.app_of_line.push((i, app));
                    if let Some(pid) = pid {
                        ev.app_of_pid.insert(pid, (i, app));
                    }
                }
            } else if let Some(rest) = message.strip_prefix(b"connection received: ") {
                if let Some(host) = kv(rest, b"host=") {
                    ev.received.push((i, host));
                    if let Some(pid) = pid {
                        ev.host_of_pid.insert(pid, (i, host));
                    }
                }
            }
        }
        ev
    }

    /// True when some value of field `k` is the start of the `want` value the
    /// connection lines give, cut at a blank: the field was split in the wrong place.
    fn cut_short(&self, samples: &[Sample<'a>], k: usize, want: Kind) -> bool {
        let Some(p) = self.pid_slot else { return false };
        let map = if want == Kind::App {
            &self.app_of_pid
        } else {
            &self.host_of_pid
        };
        samples.iter().enumerate().any(|(j, s)| {
            let (Some(pid), Some(v)) = (s.value(p), s.value(k)) else {
                return false;
            };
            map.get(pid).is_some_and(|&(i, truth)| {
                j > i && v.len() < truth.len() && truth.starts_with(v) && truth[v.len()] == b' '
            })
        })
    }

    /// (agreeing, disagreeing) lines for field `k` read as `want`.
    fn tally(&self, samples: &[Sample<'a>], k: usize, want: Kind) -> (usize, usize) {
        let (mut ok, mut bad) = (0, 0);
        let host = want == Kind::Host;
        let mut count = |v: Option<&[u8]>, truth: &[u8]| match v {
            Some(v) if v == truth => ok += 1,
            // `%r` writes the host with its port.
            Some(v) if host && v.starts_with(truth) && v[truth.len()..].starts_with(b"(") => {
                ok += 1
            }
            Some(_) => bad += 1,
            None => {}
        };
        match want {
            Kind::User | Kind::Db => {
                let mut names: Vec<&[u8]> = Vec::new();
                for &(i, u, d) in &self.authorized {
                    let truth = if want == Kind::User { Some(u) } else { d };
                    if let Some(t) = truth {
                        count(samples[i].value(k), t);
                        names.push(t);
                    }
                }
                // A value made of a name the connection lines give and more text is a
                // split gone wrong (a plain name they do not give is a session that
                // began before the log: a pool's connections live for days).
                // (Each name once: only whether a value swallows some name counts.)
                names.sort_unstable();
                names.dedup();
                if !names.is_empty() {
                    bad += samples
                        .iter()
                        .filter_map(|s| s.value(k))
                        .filter(|v| swallows(v, &names))
                        .count();
                }
            }
            // Without a pid to follow a process, the values must at least be among
            // those the connection lines name.
            Kind::App if self.pid_slot.is_none() => {
                let mut apps: Vec<&[u8]> = self.app_of_line.iter().map(|&(_, a)| a).collect();
                apps.sort_unstable();
                apps.dedup();
                if apps.is_empty() {
                    return (0, 0);
                }
                for v in samples.iter().filter_map(|s| s.value(k)) {
                    if swallows(v, &apps) {
                        bad += 1;
                    } else if !v.is_empty() && apps.contains(&v) {
                        ok += 1;
                    }
                }
            }
            Kind::Host if self.pid_slot.is_none() => {
                for &(i, h) in &self.received {
                    count(samples[i].value(k), h);
                }
                let mut hosts: Vec<&[u8]> = self.received.iter().map(|&(_, h)| h).collect();
                hosts.sort_unstable();
                hosts.dedup();
                for s in samples {
                    let Some(v) = s.value(k) else { continue };
                    let v = match memchr::memrchr(b'(', v) {
                        Some(p) if v.ends_with(b")") => &v[..p],
                        _ => v,
                    };
                    if !(v.is_empty() || hosts.contains(&v)) {
                        bad += 1;
                    }
                }
            }
            Kind::App | Kind::Host => {
                let (Some(p), map) = (
                    self.pid_slot,
                    if want == Kind::App {
                        &self.app_of_pid
                    } else {
                        &self.host_of_pid
                    },
                ) else {
                    return (0, 0);
                };
                // The process's lines after the connection line show its application
                // (set from the startup packet just after authentication).
                for (j, s) in samples.iter().enumerate() {
                    let Some(pid) = s.value(p) else { continue };
                    match map.get(pid) {
                        Some(&(i, truth)) if j > i => count(s.value(k), truth),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        (ok, bad)
    }
}

/// `v` is one of `names` with more text joined to it by a separator, before or after
/// (`orders-api-9123`, `4 - DB:shop analyst`), or part of one cut at a blank.
fn swallows(v: &[u8], names: &[&[u8]]) -> bool {
    if v.is_empty() || names.contains(&v) {
        return false;
    }
    let joined = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii_alphanumeric());
    names.iter().any(|n| {
        let longer = !n.is_empty() && v.len() > n.len();
        (longer && v.starts_with(n) && joined(v.get(n.len())))
            || (longer && v.ends_with(n) && joined(v.get(v.len() - n.len() - 1)))
            || (n.len() > v.len() && n.starts_with(v) && n[v.len()] == b' ')
    })
}

/// The value after `key` up to the next space.
fn kv<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = memchr::memmem::find(s, key)? + key.len();
    let rest = &s[at..];
    Some(&rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())])
}

/// `application_name=` runs to the end of the message (it may hold spaces), less the
/// SSL/GSS notes PostgreSQL appends.
fn app_value(s: &[u8]) -> Option<&[u8]> {
    let at = memchr::memmem::find(s, b"application_name=")? + 17;
    let mut v = &s[at..];
    for tail in [&b" SSL enabled"[..], b" GSS ", b" (", b" SSL"] {
        if let Some(p) = memchr::memmem::find(v, tail) {
            v = &v[..p];
        }
    }
    Some(v)
}

/// The message without the SQLSTATE log_error_verbosity = verbose writes first.
fn unverbose(m: &[u8]) -> &[u8] {
    match m.get(5..7) {
        Some(b": ") if is_sqlstate(&m[..5]) => &m[7..],
        _ => m,
    }
}

fn is_session_id(v: &[u8]) -> bool {
    match memchr::memchr(b'.', v) {
        Some(dot) => {
            // `%lx.%x`: the start time (8 hex digits until 2106) and the pid.
            dot == 8
                && dot + 1 < v.len()
                && v[..dot].iter().all(u8::is_ascii_hexdigit)
                && v[dot + 1..].iter().all(u8::is_ascii_hexdigit)
        }
        None => false,
    }
}

/// The start time (Unix seconds) a `%c` session id carries.
fn session_start(v: &[u8]) -> Option<i64> {
    let dot = memchr::memchr(b'.', v)?;
    i64::from_str_radix(std::str::from_utf8(&v[..dot]).ok()?, 16).ok()
}

fn is_sqlstate(v: &[u8]) -> bool {
    v.len() == 5
        && v.iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn is_vxid(v: &[u8]) -> bool {
    match memchr::memchr(b'/', v) {
        Some(s) => s > 0 && is_int(&v[..s]) && is_int(&v[s + 1..]),
        None => false,
    }
}

/// The identified prefix text.
fn render(pieces: &[Piece], kinds: &[Kind], samples: &[Sample<'_>]) -> String {
    let mut out = String::new();
    let mut k = 0;
    for p in pieces {
        match p {
            Piece::Lit(l) => out.push_str(&String::from_utf8_lossy(l).replace('%', "%%")),
            Piece::Stop => out.push_str("%q"),
            _ => {
                let kind = kinds[k];
                match (p, kind) {
                    (Piece::Ts(true), Kind::LogTime) => out.push_str("%m"),
                    (Piece::Ts(false), Kind::LogTime) => out.push_str("%t"),
                    (Piece::Epoch, Kind::LogTime) => out.push_str("%n"),
                    // A time that is not the log's: matched as a time, not used.
                    (Piece::Ts(_) | Piece::Epoch, _) => out.push_str("%s"),
                    (_, Kind::Constant) => {
                        let v = samples.iter().find_map(|s| s.value(k)).unwrap_or_default();
                        out.push_str(&String::from_utf8_lossy(v).replace('%', "%%"));
                    }
                    (_, kind) => {
                        let with_port = kind == Kind::Host
                            && samples
                                .iter()
                                .any(|s| s.value(k).is_some_and(|v| v.ends_with(b")")));
                        let esc = if with_port { "%r" } else { kind.escape() };
                        if *p == Piece::PaddedField {
                            out.push_str("%-");
                            out.push_str(&esc[1..]);
                        } else {
                            out.push_str(esc);
                        }
                    }
                }
                k += 1;
            }
        }
    }
    out
}
