//! Error messages: their SQLSTATE when the log does not carry it, and a normalized
//! form (numbers and quoted values replaced) that groups messages of one kind.
//!
//! The normalized text is produced token by token into any [`MessageSink`], so the
//! hot path only hashes it; the text is built once, when a kind is new.

/// SQLSTATEs of the messages an incident usually shows, for logs without `%e`
/// (stderr with the default verbosity). First match wins; the message must start with
/// the text unless it begins with a blank (then it may occur anywhere).
const BY_TEXT: &[(&str, &str)] = &[
    ("deadlock detected", "40P01"),
    ("canceling statement due to statement timeout", "57014"),
    ("canceling statement due to user request", "57014"),
    ("canceling statement due to lock timeout", "55P03"),
    ("canceling statement due to conflict with recovery", "40001"),
    ("canceling autovacuum task", "57014"),
    (
        "terminating connection due to administrator command",
        "57P01",
    ),
    (
        "terminating connection due to idle-in-transaction timeout",
        "25P03",
    ),
    (
        "terminating connection due to idle-session timeout",
        "57P05",
    ),
    ("terminating connection due to transaction timeout", "25P04"),
    (
        "terminating connection due to conflict with recovery",
        "40001",
    ),
    ("remaining connection slots are reserved", "53300"),
    ("sorry, too many clients already", "53300"),
    ("too many connections for", "53300"),
    ("password authentication failed for user", "28P01"),
    ("no pg_hba.conf entry for", "28000"),
    ("duplicate key value violates unique constraint", "23505"),
    (" violates foreign key constraint", "23503"),
    ("null value in column", "23502"),
    (" violates check constraint", "23514"),
    (" violates not-null constraint", "23502"),
    ("could not serialize access", "40001"),
    ("could not obtain lock", "55P03"),
    ("current transaction is aborted", "25P02"),
    ("there is no transaction in progress", "25P01"),
    ("there is already a transaction in progress", "25001"),
    ("syntax error at", "42601"),
    ("invalid input syntax for", "22P02"),
    ("division by zero", "22012"),
    ("value too long for type", "22001"),
    ("permission denied", "42501"),
    ("must be owner of", "42501"),
    ("column ", "42703"),
    ("relation ", "42P01"),
    ("function ", "42883"),
    ("operator does not exist", "42883"),
    ("database ", "3D000"),
    ("role ", "28000"),
    ("prepared statement ", "26000"),
    (" out of memory", "53200"),
    ("out of memory", "53200"),
];

/// The byte of each text of [`BY_TEXT`] a search for it looks for.
const ANCHORS: [usize; BY_TEXT.len()] = {
    let mut a = [0; BY_TEXT.len()];
    let mut i = 0;
    while i < a.len() {
        a[i] = super::rare_index(BY_TEXT[i].0.as_bytes());
        i += 1;
    }
    a
};

/// The SQLSTATE PostgreSQL gives `message`, when it is one of the well-known ones.
pub fn sqlstate_from_text(message: &[u8]) -> Option<&'static str> {
    let first = message.first().copied();
    for (&(text, code), &k) in BY_TEXT.iter().zip(&ANCHORS) {
        let t = text.as_bytes();
        let hit = if t[0] == b' ' {
            super::find_at(message, t, k).is_some()
        } else if first != Some(t[0]) || !message.starts_with(t) {
            // Not a prefix of it: no other test can hit.
            false
        } else if text.ends_with(' ')
            && matches!(
                code,
                "42703" | "42P01" | "42883" | "3D000" | "28000" | "26000"
            )
        {
            // `column "x" does not exist`, `relation "x" does not exist`, ...
            message.ends_with(b"does not exist")
                || super::find_rare!(message, b" does not exist").is_some()
        } else {
            true
        };
        if hit {
            return Some(code);
        }
    }
    None
}

/// Receives the normalized message piece by piece.
pub trait MessageSink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
}

/// FNV-1a 64 of the normalized message.
#[derive(Debug, Clone, Copy)]
pub struct HashSink(pub u64);

impl Default for HashSink {
    fn default() -> Self {
        HashSink(0xcbf2_9ce4_8422_2325)
    }
}

impl MessageSink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl MessageSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes the normalized form of `message` (its first line only, without the
/// ` at character N` position): numbers become `N`,
/// single-quoted values `'…'`, double-quoted text `"…"` when it is a value (after
/// `: `, e.g. `invalid input syntax for type integer: "x"`) but stays when it names
/// an object (a constraint, a column), which is what tells two errors apart.
pub fn normalize_message(message: &[u8], sink: &mut dyn MessageSink) {
    let line = &message[..memchr::memchr(b'\n', message).unwrap_or(message.len())];
    // stderr appends the error position (` at character 42`); csv and json keep it in
    // a column of its own: the kind is the same without it.
    let line = match super::rfind_rare!(line, b" at character ") {
        Some(i) if line[i + 14..].iter().all(u8::is_ascii_digit) && i + 14 < line.len() => {
            &line[..i]
        }
        _ => line,
    };
    let mut i = 0;
    let mut plain = 0;
    while i < line.len() {
        let b = line[i];
        let prev = if i == 0 { b' ' } else { line[i - 1] };
        let word_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        if b.is_ascii_digit() && !word_char(prev) {
            sink.put(&line[plain..i]);
            while i < line.len() && (line[i].is_ascii_digit() || line[i] == b'.') {
                i += 1;
            }
            sink.put(b"N");
            plain = i;
            continue;
        }
        let value_quote = b == b'\'' || (b == b'"' && i >= 2 && &line[i - 2..i] == b": ");
        if value_quote {
            sink.put(&line[plain..i]);
            let close = memchr::memchr(b, &line[i + 1..]).map_or(line.len(), |j| i + 2 + j);
            sink.put(if b == b'"' {
                b"\"\xe2\x80\xa6\""
            } else {
                b"'\xe2\x80\xa6'"
            });
            i = close;
            plain = i;
            continue;
        }
        i += 1;
    }
    sink.put(&line[plain.min(line.len())..]);
}

/// The hash of `message`'s normalized form.
pub fn message_hash(message: &[u8]) -> u64 {
    let mut h = HashSink::default();
    normalize_message(message, &mut h);
    h.0
}

/// The normalized form of `message` as text.
pub fn normalized_text(message: &[u8]) -> String {
    let mut v = Vec::new();
    normalize_message(message, &mut v);
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_values_not_names() {
        let n = |s: &str| normalized_text(s.as_bytes());
        assert_eq!(
            n("invalid input syntax for type bigint: \"42;\" at character 31"),
            "invalid input syntax for type bigint: \"…\""
        );
        assert_eq!(
            n("duplicate key value violates unique constraint \"orders_order_ref_key\""),
            "duplicate key value violates unique constraint \"orders_order_ref_key\""
        );
        assert_eq!(n("value 'abc' is bad for t1"), "value '…' is bad for t1");
        assert_eq!(
            message_hash(b"syntax error at or near \"LIMT\" at character 50"),
            message_hash(b"syntax error at or near \"LIMT\" at character 7")
        );
    }

    /// [`sqlstate_from_text`] before its first-byte test and rare-byte searches.
    fn sqlstate_reference(message: &[u8]) -> Option<&'static str> {
        for &(text, code) in BY_TEXT {
            let t = text.as_bytes();
            let hit = if t[0] == b' ' {
                memchr::memmem::find(message, t).is_some()
            } else if text.ends_with(' ')
                && matches!(
                    code,
                    "42703" | "42P01" | "42883" | "3D000" | "28000" | "26000"
                )
            {
                message.starts_with(t) && message.ends_with(b"does not exist")
                    || message.starts_with(t)
                        && memchr::memmem::find(message, b" does not exist").is_some()
            } else {
                message.starts_with(t)
            };
            if hit {
                return Some(code);
            }
        }
        None
    }

    /// Every table text alone, cut, inside others and with the endings looked for;
    /// the error messages of the testdata logs: the same code as the reference, and
    /// the same kind as `memmem::rfind` finds the error position.
    #[test]
    fn sqlstate_and_position_match_the_reference() {
        let mut messages: Vec<Vec<u8>> = vec![];
        for &(text, _) in BY_TEXT {
            let t = text.as_bytes();
            for n in 0..=t.len() {
                messages.push(t[..n].to_vec());
            }
            for (a, b) in [
                (&b""[..], &b" does not exist"[..]),
                (b"x", b""),
                (b"a \"b\" ", b" at character 12"),
                (b"", b" \"x\" does not exist at character 3"),
                (b"", b"does not exist"),
            ] {
                messages.push([a, t, b].concat());
            }
        }
        for p in crate::testdata::files() {
            let Ok(data) = std::fs::read(&p) else {
                continue;
            };
            for line in data.split(|&b| b == b'\n') {
                for marker in [&b"ERROR:  "[..], b"FATAL:  ", b"WARNING:  "] {
                    if let Some(i) = memchr::memmem::find(line, marker) {
                        messages.push(line[i + marker.len()..].to_vec());
                    }
                }
            }
        }
        assert!(messages.len() > 2000, "{}", messages.len());
        for m in &messages {
            let text = String::from_utf8_lossy(m);
            assert_eq!(sqlstate_from_text(m), sqlstate_reference(m), "{text}");
            for k in 0..14 {
                let needle = b" at character ";
                assert_eq!(
                    super::super::rfind_at(m, needle, k),
                    memchr::memmem::rfind(m, needle),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn maps_well_known_messages() {
        let s = |m: &str| sqlstate_from_text(m.as_bytes());
        assert_eq!(s("deadlock detected"), Some("40P01"));
        assert_eq!(s("column \"order_status\" does not exist"), Some("42703"));
        assert_eq!(
            s("insert or update on table \"orders\" violates foreign key constraint \"f\""),
            Some("23503")
        );
        assert_eq!(
            s("remaining connection slots are reserved for x"),
            Some("53300")
        );
        // Pairs read from the corpus' csvlogs (sql_state_code, message).
        for (code, m) in [
            ("22012", "division by zero"),
            (
                "22P02",
                "invalid input syntax for type integer: \"137 abc\"",
            ),
            (
                "23505",
                "duplicate key value violates unique constraint \"audit_log_pkey\"",
            ),
            ("25P01", "there is no transaction in progress"),
            (
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            ),
            (
                "28P01",
                "password authentication failed for user \"orders_app\"",
            ),
            ("42501", "must be owner of function customer_label"),
            ("42501", "permission denied for table audit_log"),
            ("42601", "syntax error at or near \"SELEC\""),
            ("42883", "function lower(integer) does not exist"),
            ("42P01", "relation \"no_such_table\" does not exist"),
            ("55P03", "canceling statement due to lock timeout"),
        ] {
            assert_eq!(s(m), Some(code), "{m}");
        }
        assert_eq!(s("column \"a\" is of type integer"), None);
        assert_eq!(s("something else"), None);
    }
}
