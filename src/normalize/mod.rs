//! SQL normalization and fingerprinting: which statements are "the same query".
//!
//! Investigators ask "which query got slow?", which only works if every execution of
//! a query lands on one fingerprint and different queries never share one. PostgreSQL
//! answers with its parser (pg_stat_statements' query id); pgferret gets close to that
//! with a lexer that follows PostgreSQL's own lexical rules, plus the few grammar facts
//! that decide what is a constant. The stages:
//!
//! 1. `lexer`: bytes → tokens, PostgreSQL's scanner rules, never fails on garbage or
//!    truncated text.
//! 2. `fold`: tokens → normalized tokens (constants and parameters become
//!    placeholders; `-1`, `ORDER BY 1`, `IS NULL`, `DO $$...$$` get their due).
//! 3. `collapse`: lists of constants keep one item and a `/*, ... */` marker, a
//!    trailing `;` is dropped.
//! 4. `sink`: the token stream is hashed (`hash`: XXH3-64 over a canonical encoding of
//!    each token, documented there) and, for display, written as text with upper-case
//!    keywords and single spaces.
//!
//! The fingerprint is a hash of the normalized *token stream*, not of the text, so it
//! is the same whether or not the text is built, and the same for the text itself:
//! `normalize(&normalize(sql).0)` gives back the same text and fingerprint, invalid
//! UTF-8 included (the hash reads it as the text shows it, as U+FFFD).
//!
//! With a cache (`Normalizer::cached`), a text seen before, or of a shape seen before
//! (the same but for the values of its literals, see `shape`), is not lexed again.
//!
//! Invariants: no panic on any input; no allocation in [`Normalizer::fingerprint`]
//! once its scratch buffer has grown to the longest list seen; the fingerprint of a
//! given SQL text never changes between runs, platforms or versions (a test pins
//! values: changing them is a breaking change for users' saved fingerprints).

mod cache;
mod collapse;
mod command;
mod display;
mod fold;
mod hash;
mod keywords;
mod lexer;
mod literals;
mod shape;
mod sink;
#[cfg(test)]
mod tests;

pub use command::write_fingerprints;
pub use display::{display_tokens, TokenClass};
pub use hash::FINGERPRINT_VERSION;
pub use literals::{rewrite_literals, rewrite_sql, Literal};

use cache::{Cache, Lookup, Pending};
use lexer::Token;
use sink::{HashSink, TextSink};
use std::cell::Cell;

thread_local! {
    /// The fingerprint cache of this thread while no [`Normalizer`] holds it: a chunk's
    /// normalizer takes it and gives it back when dropped, so the texts of one chunk
    /// are found cached in the next.
    static SPARE: Cell<Option<Box<Cache>>> = const { Cell::new(None) };
}

/// Reusable normalizer; one per thread, scratch buffers reused between calls.
#[derive(Debug, Default)]
pub struct Normalizer {
    /// Tokens of the list being collapsed.
    buf: Vec<Token>,
    /// Fingerprints of texts seen before (see `cache`), when asked for.
    cache: Option<Box<Cache>>,
    /// The shape of the text being looked up (see `shape`).
    shape: Vec<u8>,
}

impl Normalizer {
    /// A new normalizer with empty scratch buffers and no cache: every call lexes.
    pub fn new() -> Self {
        Self::default()
    }

    /// A normalizer whose [`Normalizer::fingerprint`] looks raw texts up in this
    /// thread's cache (about 1.2 MB, built once per thread and handed from one
    /// normalizer to the next). The fingerprints are the same as without it: a hit is
    /// verified byte for byte.
    pub fn cached() -> Self {
        let cache = SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default();
        Normalizer {
            buf: Vec::new(),
            cache: Some(cache),
            shape: Vec::new(),
        }
    }

    /// The 64-bit fingerprint of `sql`, without building the normalized text.
    pub fn fingerprint(&mut self, sql: &[u8]) -> u64 {
        let Some(cache) = self.cache.as_deref_mut() else {
            return self.lex_fingerprint(sql);
        };
        match cache.lookup(sql) {
            Some(Lookup::Hit(fp, _)) => fp,
            Some(Lookup::Miss(p)) => {
                // A new text of a known shape (other literal values) needs no lexing;
                // it is not cached as a text, so that texts used once do not push out
                // the ones that repeat.
                let shaped = match cache.shapes.as_deref() {
                    Some(shapes) if shape::shape(sql, &mut self.shape) => {
                        match shapes.lookup(&self.shape) {
                            Some(Lookup::Hit(fp, _)) => return fp,
                            other => other,
                        }
                    }
                    _ => None,
                };
                let mut sink = HashSink::default();
                collapse::run(sql, &mut self.buf, &mut sink, true);
                let fp = sink.0.finish();
                cache.insert(p, sql, fp);
                if let (Some(Lookup::Miss(sp)), false) = (shaped, sink.0.kept) {
                    if let Some(shapes) = cache.shapes.as_deref_mut() {
                        shapes.insert(sp, &self.shape, fp);
                    }
                }
                fp
            }
            None => self.lex_fingerprint(sql),
        }
    }

    /// The fingerprint by the lexer, whatever is cached.
    pub fn lex_fingerprint(&mut self, sql: &[u8]) -> u64 {
        let mut sink = HashSink::default();
        collapse::run(sql, &mut self.buf, &mut sink, true);
        sink.0.finish()
    }

    /// The normalized display text of `sql` (as [`Normalizer::normalize_into`] writes
    /// it), kept in this thread's cache beside the fingerprint when the normalizer has
    /// one: every chunk needs the text of each of its statements once.
    pub fn normalized_text(&mut self, sql: &[u8]) -> String {
        let mut out = String::new();
        let Some(mut cache) = self.cache.take() else {
            self.normalize_into(sql, &mut out);
            return out;
        };
        match cache.lookup(sql) {
            Some(Lookup::Hit(_, slot)) => match cache.text(slot) {
                Some(t) => out.push_str(t),
                None => {
                    self.normalize_into(sql, &mut out);
                    cache.set_text(slot, &out);
                }
            },
            Some(Lookup::Miss(p)) => self.text_missed(&mut cache, p, sql, &mut out),
            None => {
                self.normalize_into(sql, &mut out);
            }
        }
        self.cache = Some(cache);
        out
    }

    /// [`Normalizer::normalized_text`] of a text not in `cache` (looked up as `p`):
    /// from the cache of shapes, or lexed and cached.
    fn text_missed(&mut self, cache: &mut Cache, p: Pending, sql: &[u8], out: &mut String) {
        let mut shaped = None;
        if let Some(shapes) = cache.shapes.as_deref_mut() {
            if shape::shape(sql, &mut self.shape) {
                match shapes.lookup(&self.shape) {
                    Some(Lookup::Hit(_, slot)) => {
                        match shapes.text(slot) {
                            Some(t) => out.push_str(t),
                            None => {
                                self.normalize_kept(sql, out);
                                shapes.set_text(slot, out);
                            }
                        }
                        return;
                    }
                    other => shaped = other,
                }
            }
        }
        let (fp, kept) = self.normalize_kept(sql, out);
        let slot = cache.insert(p, sql, fp);
        cache.set_text(slot, out);
        if let (Some(Lookup::Miss(sp)), false) = (shaped, kept) {
            if let Some(shapes) = cache.shapes.as_deref_mut() {
                let slot = shapes.insert(sp, &self.shape, fp);
                shapes.set_text(slot, out);
            }
        }
    }

    /// Writes the normalized display text of `sql` into `out` (cleared first) and
    /// returns the same fingerprint as [`Normalizer::fingerprint`].
    pub fn normalize_into(&mut self, sql: &[u8], out: &mut String) -> u64 {
        self.normalize_kept(sql, out).0
    }

    /// [`Normalizer::normalize_into`], and whether a literal was kept as is (see
    /// `Hasher::kept`).
    fn normalize_kept(&mut self, sql: &[u8], out: &mut String) -> (u64, bool) {
        let mut sink = TextSink::new(out);
        collapse::run(sql, &mut self.buf, &mut sink, true);
        (sink.hash.finish(), sink.hash.kept)
    }
}

impl Drop for Normalizer {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.take() {
            // The thread may be ending (its locals gone): then the cache goes too.
            let _ = SPARE.try_with(|s| s.set(Some(cache)));
        }
    }
}

/// The fingerprint `sql` would have if lists of constants were *not* collapsed.
///
/// Not for grouping: tests use it to show that a fingerprint merging several of
/// PostgreSQL's query ids does so only because of list lengths.
#[doc(hidden)]
pub fn fingerprint_uncollapsed(sql: &[u8]) -> u64 {
    let mut sink = HashSink::default();
    collapse::run(sql, &mut Vec::new(), &mut sink, false);
    sink.0.finish()
}

/// Normalizes `sql`: (normalized text, fingerprint).
pub fn normalize(sql: &str) -> (String, u64) {
    let mut n = Normalizer::new();
    let mut out = String::new();
    let fp = n.normalize_into(sql.as_bytes(), &mut out);
    (out, fp)
}

/// A fingerprint as users see it: 16 lower-case hex digits.
pub fn fingerprint_hex(fp: u64) -> String {
    format!("{fp:016x}")
}
