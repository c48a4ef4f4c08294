//! Classifying a PgBouncer log line by what its message says (1.x, messages in English).
//!
//! The shapes read, after the connection part `C-0x...: db/user@peer ` (see
//! [`crate::parse::pgbouncer`]):
//! - `login attempt: db=D user=U tls=...` (log_connections): a client logs in;
//! - `login failed: db=D user=U`: the database or user is unknown to the pooler;
//! - `closing because: REASON (age=Ns)` (log_disconnections, and on errors): a client or
//!   server connection ends; the reason says whether normally (`client close request`)
//!   or not (`query_wait_timeout`, `SASL authentication failed`, `server conn crashed?`);
//! - `pooler error: MESSAGE`: an error PgBouncer itself sent to a client;
//! - `new connection to server (from ...)`: a server connection opened;
//! - `stats: N xacts/s, N queries/s, [N client parses/s, N server parses/s, N binds/s,]
//!   in N B/s, out N B/s, xact N us, query N us, wait N us` (every stats_period; 1.7 wrote
//!   `Stats: N req/s, in N b/s, out N b/s, query N us`).

/// What a PgBouncer line means for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolerEvent<'a> {
    /// `login attempt:`.
    LoginAttempt,
    /// `login failed:` (unknown database or user).
    LoginFailed,
    /// `closing because: REASON`, without its `(age=...)`.
    Closing {
        /// Why.
        reason: &'a [u8],
    },
    /// `new connection to server`.
    NewServer,
    /// A `stats:` line.
    Stats(StatsLine),
    /// Anything else (its level still counts).
    Other,
}

/// The averages of one `stats:` line (per second over the last stats_period).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StatsLine {
    pub xacts_per_s: u64,
    pub queries_per_s: u64,
    pub in_bytes_per_s: u64,
    pub out_bytes_per_s: u64,
    /// Average transaction time, µs.
    pub xact_us: u64,
    /// Average query time, µs.
    pub query_us: u64,
    /// Average time clients waited for a server, µs.
    pub wait_us: u64,
}

/// Classifies a PgBouncer message.
pub fn classify(msg: &[u8]) -> PoolerEvent<'_> {
    if msg.starts_with(b"login attempt:") {
        return PoolerEvent::LoginAttempt;
    }
    if msg.starts_with(b"login failed:") {
        return PoolerEvent::LoginFailed;
    }
    if let Some(r) = msg.strip_prefix(b"closing because: ") {
        return PoolerEvent::Closing {
            reason: strip_age(r),
        };
    }
    if msg.starts_with(b"new connection to server") {
        return PoolerEvent::NewServer;
    }
    if let Some(r) = msg
        .strip_prefix(b"stats: ")
        .or_else(|| msg.strip_prefix(b"Stats: "))
    {
        if let Some(s) = stats_line(r) {
            return PoolerEvent::Stats(s);
        }
    }
    PoolerEvent::Other
}

/// `REASON (age=12s)` → `REASON`.
fn strip_age(r: &[u8]) -> &[u8] {
    match memchr::memmem::rfind(r, b" (age=") {
        Some(i) if r.ends_with(b")") => &r[..i],
        _ => r,
    }
}

/// True when a client closed for `reason` never got to run a query: its login failed
/// (authentication, unknown database or user, no room, the server refusing the login).
pub fn is_login_failure(reason: &[u8]) -> bool {
    const MARKS: &[&[u8]] = &[
        b"authentication failed",
        b"no such database",
        b"no such user",
        b"login failed",
        b"does not exist",
        b"no more connections allowed",
        b"server login has been failing",
        b"pgbouncer cannot connect to server",
        b"client_login_timeout",
        b"not allowed",
    ];
    MARKS
        .iter()
        .any(|m| memchr::memmem::find(reason, m).is_some())
}

/// Parses the items of a stats line; `None` when it names neither xacts nor queries.
fn stats_line(s: &[u8]) -> Option<StatsLine> {
    let mut out = StatsLine::default();
    let mut seen = false;
    for item in s.split(|&b| b == b',') {
        let mut num = None;
        let mut label: [&[u8]; 3] = [b""; 3];
        let mut n_label = 0;
        for w in item.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
            match (num, parse_u64(w)) {
                (None, Some(v)) => num = Some(v),
                _ if n_label < label.len() => {
                    label[n_label] = w;
                    n_label += 1;
                }
                _ => {}
            }
        }
        let Some(v) = num else { continue };
        let slot = match &label[..n_label] {
            [b"xacts/s"] => &mut out.xacts_per_s,
            [b"queries/s"] | [b"req/s"] => &mut out.queries_per_s,
            [b"in", b"B/s" | b"b/s"] => &mut out.in_bytes_per_s,
            [b"out", b"B/s" | b"b/s"] => &mut out.out_bytes_per_s,
            [b"xact", b"us"] => &mut out.xact_us,
            [b"query", b"us"] => &mut out.query_us,
            [b"wait", b"us"] | [b"wait", b"time", b"us"] => &mut out.wait_us,
            _ => continue,
        };
        *slot = v;
        seen |= matches!(
            &label[..n_label],
            [b"xacts/s"] | [b"queries/s"] | [b"req/s"]
        );
    }
    seen.then_some(out)
}

fn parse_u64(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 19 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(w).ok()?.parse().ok()
}

/// The message of a warning or error with its variable parts masked, so messages of one
/// kind group together: `0x...` addresses become `0x?`, digit runs `N`.
pub fn message_kind(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(&msg[..msg.len().min(300)]);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
            }
            out.push_str("0x?");
        } else if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_of_each_version() {
        let s = b"stats: 25 xacts/s, 26 queries/s, in 1610 B/s, out 1736 B/s, xact 938 us, query 900 us, wait 8478 us";
        assert_eq!(
            classify(s),
            PoolerEvent::Stats(StatsLine {
                xacts_per_s: 25,
                queries_per_s: 26,
                in_bytes_per_s: 1610,
                out_bytes_per_s: 1736,
                xact_us: 938,
                query_us: 900,
                wait_us: 8478,
            })
        );
        let s = b"stats: 3 xacts/s, 4 queries/s, 1 client parses/s, 1 server parses/s, 2 binds/s, in 10 B/s, out 20 B/s, xact 5 us, query 6 us, wait 7 us";
        let PoolerEvent::Stats(l) = classify(s) else {
            panic!()
        };
        assert_eq!((l.xacts_per_s, l.queries_per_s, l.wait_us), (3, 4, 7));
        let PoolerEvent::Stats(l) = classify(b"Stats: 9 req/s, in 1 b/s, out 2 b/s,query 30 us")
        else {
            panic!()
        };
        assert_eq!((l.queries_per_s, l.query_us, l.out_bytes_per_s), (9, 30, 2));
        assert_eq!(classify(b"stats: nothing here"), PoolerEvent::Other);
    }

    #[test]
    fn closings_and_logins() {
        assert_eq!(
            classify(b"closing because: query_wait_timeout (age=4s)"),
            PoolerEvent::Closing {
                reason: b"query_wait_timeout"
            }
        );
        assert_eq!(
            classify(b"closing because: no more connections allowed (max_client_conn) (age=0s)"),
            PoolerEvent::Closing {
                reason: b"no more connections allowed (max_client_conn)"
            }
        );
        assert!(is_login_failure(b"SASL authentication failed"));
        assert!(!is_login_failure(b"client close request"));
        assert!(!is_login_failure(b"query_wait_timeout"));
        assert_eq!(
            message_kind(b"got packet 'E' from server 0x55aa when not linked 12"),
            "got packet 'E' from server 0x? when not linked N"
        );
    }
}
