//! The error and lock profiles of two periods, key by key.
//!
//! Keys are what the report groups by: an SQLSTATE, a kind of message (severity,
//! SQLSTATE and the message with its values taken out), a relation and lock mode. A
//! key seen on one side only is `new` or `vanished`; the order is by the size of the
//! change, then the key, so it is the same on every run.

use super::model::{CountChange, ErrorsDiff, KeyChange, LocksDiff, MsChange};
use super::snapshot::Snapshot;
use std::collections::BTreeMap;

/// Counts (and wait times) per key on both sides.
#[derive(Default)]
struct Joined {
    map: BTreeMap<String, [(u64, f64); 2]>,
}

impl Joined {
    fn add(&mut self, side: usize, key: String, count: u64, ms: f64) {
        let e = self.map.entry(key).or_default();
        e[side].0 += count;
        e[side].1 += ms;
    }

    fn changes(self, with_ms: bool) -> Vec<KeyChange> {
        let mut v: Vec<KeyChange> = self
            .map
            .into_iter()
            .map(|(key, [b, a])| KeyChange {
                key,
                count: CountChange::new(b.0, a.0),
                wait_ms: with_ms.then(|| MsChange::total(b.1, a.1)),
                new: b.0 == 0 && a.0 > 0,
                vanished: a.0 == 0 && b.0 > 0,
            })
            .collect();
        v.sort_by(|x, y| {
            y.count
                .change
                .unsigned_abs()
                .cmp(&x.count.change.unsigned_abs())
                .then_with(|| x.key.cmp(&y.key))
        });
        v
    }
}

/// The error profiles.
pub fn errors(before: &Snapshot, after: &Snapshot) -> ErrorsDiff {
    let (mut by_state, mut by_message) = (Joined::default(), Joined::default());
    for (side, s) in [before, after].into_iter().enumerate() {
        for e in &s.errors.by_sqlstate {
            by_state.add(side, e.sqlstate.clone(), e.count, 0.0);
        }
        for e in &s.errors.by_message {
            let key = if e.sqlstate.is_empty() {
                format!("{}: {}", e.severity, e.message)
            } else {
                format!("{} {}: {}", e.severity, e.sqlstate, e.message)
            };
            by_message.add(side, key, e.count, 0.0);
        }
    }
    ErrorsDiff {
        errors: CountChange::new(before.errors.errors, after.errors.errors),
        by_sqlstate: by_state.changes(false),
        by_message: by_message.changes(false),
    }
}

/// The lock profiles.
pub fn locks(before: &Snapshot, after: &Snapshot) -> LocksDiff {
    let mut by_rel = Joined::default();
    for (side, s) in [before, after].into_iter().enumerate() {
        for r in &s.locks.by_relation {
            by_rel.add(
                side,
                relation_key(&r.relation, &r.mode, &r.object),
                r.waits,
                r.wait_ms,
            );
        }
    }
    LocksDiff {
        waits: CountChange::new(before.locks.waits, after.locks.waits),
        wait_ms: MsChange::total(before.locks.wait_ms, after.locks.wait_ms),
        by_relation: by_rel.changes(true),
    }
}

/// `orders: RowExclusiveLock on relation`, or without a relation when the lock names none.
fn relation_key(relation: &str, mode: &str, object: &str) -> String {
    match (relation.is_empty(), object.is_empty()) {
        (true, true) => mode.to_string(),
        (true, false) => format!("{mode} on {object}"),
        (false, true) => format!("{relation}: {mode}"),
        (false, false) => format!("{relation}: {mode} on {object}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_on_one_side_are_new_or_vanished() {
        let mut j = Joined::default();
        j.add(0, "40P01".into(), 0, 0.0);
        j.add(1, "40P01".into(), 23, 0.0);
        j.add(0, "42601".into(), 2, 0.0);
        j.add(0, "23505".into(), 5, 0.0);
        j.add(1, "23505".into(), 6, 0.0);
        let v = j.changes(false);
        let keys: Vec<&str> = v.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["40P01", "42601", "23505"]);
        assert!(v[0].new && !v[0].vanished);
        assert!(v[1].vanished && !v[1].new);
        assert!(!v[2].new && !v[2].vanished);
        assert_eq!(v[2].count.change, 1);
    }
}
