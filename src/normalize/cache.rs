//! A cache from a statement's raw bytes to its fingerprint, so a text the log has
//! shown before skips the lexer.
//!
//! Almost every statement of a real log repeats one seen before, byte for byte: a
//! prepared statement's text with the extended protocol, the same query from the same
//! code with `log_min_duration_statement`. Hashing the raw bytes (XXH3, ~10 GB/s) and
//! comparing them with the cached copy costs a fraction of lexing them.
//!
//! Invariants:
//! - **Exact.** A hit is verified by comparing the whole text with the cached copy, so
//!   the cache gives the fingerprint the lexer gives, or is not used; a hash collision
//!   costs a miss, never a wrong fingerprint. Results therefore do not depend on what
//!   the cache holds: not on the thread, the chunking or the order of the input.
//! - **Bounded.** A fixed table of [`SLOTS`] entries and an arena of [`ARENA`] bytes;
//!   when the arena is full the whole cache is emptied (the hot texts come back at
//!   once). Texts longer than [`MAX_TEXT`] are not cached.
//! - **Normalized texts too.** A cached text may also keep its normalized display text
//!   (in a second arena of [`ARENA`] bytes, emptied alone when full): every chunk
//!   starts its statistics afresh and needs the display text of each statement again,
//!   which the lexer would otherwise rebuild once per chunk.
//! - **No allocation once built**: the arena's capacity is reserved up front.
//! - **Lock-free.** One cache per thread (see `Normalizer::cached`), never shared.
//! - **Shapes.** A smaller cache of the same kind, beside it, keys statements by their
//!   *shape* (`super::shape`: literals replaced by placeholders): a statement with
//!   inline values never seen before, whose shape was, skips the lexer too.

use twox_hash::XxHash3_64;

/// Table entries (a power of two).
pub(crate) const SLOTS: usize = 1 << 13;

/// Bytes of cached texts.
pub(crate) const ARENA: usize = 1 << 20;

/// The longest text cached, in bytes.
pub(crate) const MAX_TEXT: usize = 16 << 10;

/// Table entries of the cache of shapes.
pub(crate) const SHAPE_SLOTS: usize = 1 << 11;

/// Bytes of cached shapes.
pub(crate) const SHAPE_ARENA: usize = 1 << 18;

/// How many neighbouring slots a text may land in.
const PROBES: usize = 4;

/// One cached text: its hash, where its bytes are in the arena, its fingerprint, and
/// where its normalized text is in the text arena (`NO_TEXT` when not kept).
/// `len == 0` marks a free slot (the empty text is never cached).
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    fp: u64,
    start: u32,
    len: u32,
    text_start: u32,
    text_len: u32,
}

/// `text_len` of a slot without its normalized text.
const NO_TEXT: u32 = u32::MAX;

impl Default for Slot {
    fn default() -> Self {
        Slot {
            key: 0,
            fp: 0,
            start: 0,
            len: 0,
            text_start: 0,
            text_len: NO_TEXT,
        }
    }
}

/// The cache (see the module docs).
#[derive(Debug)]
pub(crate) struct Cache {
    slots: Box<[Slot]>,
    arena: Vec<u8>,
    /// Normalized texts (UTF-8).
    texts: Vec<u8>,
    slots_mask: usize,
    arena_cap: usize,
    /// The cache of shapes (none in a cache of shapes).
    pub(crate) shapes: Option<Box<Cache>>,
}

impl Default for Cache {
    fn default() -> Self {
        let mut cache = Cache::plain(SLOTS, ARENA);
        cache.shapes = Some(Box::new(Cache::plain(SHAPE_SLOTS, SHAPE_ARENA)));
        cache
    }
}

/// Where a text was found, or where it goes.
pub(crate) enum Lookup {
    /// Its fingerprint, and its slot.
    Hit(u64, usize),
    /// Not cached: pass this to [`Cache::insert`] with its fingerprint.
    Miss(Pending),
}

/// A text not found: its hash and the slot it goes in.
pub(crate) struct Pending {
    key: u64,
    slot: usize,
}

impl Cache {
    /// A cache of `slots` entries (rounded up to a power of two) and `arena` bytes,
    /// and a cache of shapes of the same size: small ones let tests force evictions
    /// and flushes.
    #[cfg(test)]
    pub(crate) fn with_capacity(slots: usize, arena: usize) -> Self {
        let mut cache = Cache::plain(slots, arena);
        cache.shapes = Some(Box::new(Cache::plain(slots, arena)));
        cache
    }

    /// A cache of `slots` entries (rounded up to a power of two) and `arena` bytes,
    /// without a cache of shapes.
    pub(crate) fn plain(slots: usize, arena: usize) -> Self {
        let slots = slots.max(PROBES).next_power_of_two();
        Cache {
            slots: vec![Slot::default(); slots].into_boxed_slice(),
            arena: Vec::with_capacity(arena),
            texts: Vec::with_capacity(arena),
            slots_mask: slots - 1,
            arena_cap: arena,
            shapes: None,
        }
    }

    /// Looks `sql` up; `None` when it is not to be cached (empty or too long).
    #[inline]
    pub(crate) fn lookup(&self, sql: &[u8]) -> Option<Lookup> {
        if sql.is_empty() || sql.len() > MAX_TEXT.min(self.arena_cap) {
            return None;
        }
        let key = XxHash3_64::oneshot(sql);
        let home = key as usize & self.slots_mask;
        let mut free = None;
        for p in 0..PROBES {
            let i = (home + p) & self.slots_mask;
            let s = self.slots[i];
            if s.len == 0 {
                free.get_or_insert(i);
                continue;
            }
            if s.key == key && s.len as usize == sql.len() {
                let start = s.start as usize;
                if &self.arena[start..start + sql.len()] == sql {
                    return Some(Lookup::Hit(s.fp, i));
                }
            }
        }
        // No free slot among the probes: the text replaces one of them, chosen by
        // other bits of its hash so that two hot texts do not keep evicting each other.
        let slot = free.unwrap_or((home + (key >> 60) as usize % PROBES) & self.slots_mask);
        Some(Lookup::Miss(Pending { key, slot }))
    }

    /// Caches `sql` (looked up and missed as `p`) with its fingerprint `fp`; returns
    /// its slot.
    pub(crate) fn insert(&mut self, p: Pending, sql: &[u8], fp: u64) -> usize {
        let mut slot = p.slot;
        if self.arena.len() + sql.len() > self.arena_cap {
            // Full: start again. The texts still in use are cached again at once.
            self.arena.clear();
            self.slots.fill(Slot::default());
            slot = p.key as usize & self.slots_mask;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(sql);
        self.slots[slot] = Slot {
            key: p.key,
            fp,
            start: start as u32,
            len: sql.len() as u32,
            ..Slot::default()
        };
        slot
    }

    /// The normalized text kept with the text in `slot` (as a lookup or an insert
    /// gave it), if any.
    #[inline]
    pub(crate) fn text(&self, slot: usize) -> Option<&str> {
        let s = &self.slots[slot];
        if s.text_len == NO_TEXT {
            return None;
        }
        let at = s.text_start as usize;
        let bytes = &self.texts[at..at + s.text_len as usize];
        // Only whole `&str`s are copied in (`set_text`).
        std::str::from_utf8(bytes).ok()
    }

    /// Keeps `text`, the normalized text of the text in `slot` (as a lookup or an
    /// insert gave it). A text too long for the arena is not kept.
    pub(crate) fn set_text(&mut self, slot: usize, text: &str) {
        let cap = self.arena_cap;
        if text.len() > MAX_TEXT.min(cap) {
            return;
        }
        if self.texts.len() + text.len() > cap {
            // Full: forget the normalized texts (not the fingerprints).
            self.texts.clear();
            self.slots.iter_mut().for_each(|s| s.text_len = NO_TEXT);
        }
        let start = self.texts.len();
        self.texts.extend_from_slice(text.as_bytes());
        let s = &mut self.slots[slot];
        s.text_start = start as u32;
        s.text_len = text.len() as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Normalizer;

    fn corpus() -> Vec<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/normalize/statements.sql0"
        );
        let data = std::fs::read(path).unwrap();
        data.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
    }

    /// Through caches small enough to evict and flush all the time, and the default
    /// one, every statement of the corpus (each several times, in a scrambled order)
    /// gets the lexer's fingerprint.
    #[test]
    fn cached_fingerprints_are_the_lexers() {
        let sqls = corpus();
        assert!(sqls.len() > 10_000);
        let mut lexer = Normalizer::new();
        let want: Vec<u64> = sqls.iter().map(|s| lexer.lex_fingerprint(s)).collect();
        for (slots, arena) in [(4, 64), (16, 4096), (256, 64 << 10), (SLOTS, ARENA)] {
            let mut cache = Cache::with_capacity(slots, arena);
            let (mut hits, mut n) = (0, 0);
            for round in 0..3usize {
                for k in 0..sqls.len() {
                    let i = (k * 7919 + round * 31) % sqls.len();
                    let sql = &sqls[i];
                    let fp = match cache.lookup(sql) {
                        Some(Lookup::Hit(fp, _)) => {
                            hits += 1;
                            fp
                        }
                        Some(Lookup::Miss(p)) => {
                            let fp = lexer.lex_fingerprint(sql);
                            cache.insert(p, sql, fp);
                            fp
                        }
                        None => lexer.lex_fingerprint(sql),
                    };
                    assert_eq!(
                        fp,
                        want[i],
                        "{slots} slots: {:?}",
                        String::from_utf8_lossy(sql)
                    );
                    n += 1;
                }
                assert!(cache.arena.len() <= arena);
            }
            eprintln!("{slots} slots, {arena} bytes: {hits} hits of {n}");
            if slots == SLOTS {
                assert!(hits * 2 > n, "the default cache keeps repeated texts");
            }
        }
    }

    /// Through caches small enough to evict and flush both arenas all the time, and the
    /// default one, the normalized text of every statement is the lexer's, and so is
    /// the fingerprint looked up between two texts.
    #[test]
    fn cached_texts_are_the_lexers() {
        let sqls = corpus();
        let mut lexer = Normalizer::new();
        let want: Vec<(String, u64)> = sqls
            .iter()
            .map(|s| {
                let mut t = String::new();
                let fp = lexer.normalize_into(s, &mut t);
                (t, fp)
            })
            .collect();
        for (slots, arena) in [(4, 64), (16, 4096), (256, 64 << 10), (SLOTS, ARENA)] {
            let mut n = Normalizer {
                buf: Vec::new(),
                cache: Some(Box::new(Cache::with_capacity(slots, arena))),
                shape: Vec::new(),
            };
            for round in 0..2usize {
                for k in 0..sqls.len() {
                    let i = (k * 7919 + round * 31) % sqls.len();
                    // Either order: text first, or fingerprint first.
                    let (fp, text) = match (k + round) % 2 {
                        0 => {
                            let t = n.normalized_text(&sqls[i]);
                            (n.fingerprint(&sqls[i]), t)
                        }
                        _ => {
                            let fp = n.fingerprint(&sqls[i]);
                            (fp, n.normalized_text(&sqls[i]))
                        }
                    };
                    assert_eq!((&text, fp), (&want[i].0, want[i].1), "{slots} slots");
                }
                let c = n.cache.as_deref().unwrap();
                assert!(c.texts.len() <= arena);
            }
        }
    }

    /// A text that shares a cached text's length but not its bytes is a miss; a text
    /// too long to cache is lexed every time.
    #[test]
    fn a_hit_needs_the_same_bytes() {
        let mut n = Normalizer::cached();
        let a = n.fingerprint(b"select 1 from a");
        assert_eq!(n.fingerprint(b"select 1 from a"), a);
        let b = n.fingerprint(b"select 1 from b");
        assert_ne!(a, b);
        assert_eq!(b, Normalizer::new().fingerprint(b"select 1 from b"));
        let long = format!("select {} from t", "x, ".repeat(MAX_TEXT));
        let mut plain = Normalizer::new();
        assert_eq!(
            n.fingerprint(long.as_bytes()),
            plain.fingerprint(long.as_bytes())
        );
        assert_eq!(n.fingerprint(b""), plain.fingerprint(b""));
    }
}
