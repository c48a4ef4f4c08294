//! The fingerprint: a 64-bit hash of the normalized token stream.
//!
//! Users keep fingerprints (in reports, tickets, scripts), so the algorithm is part of
//! pgferret's interface: it must give the same value on every platform and in every
//! version, which rules out std's `DefaultHasher`. It is written down here, and a test
//! pins values that an independent Python version reproduces
//! (`testdata/normalize/fingerprint_reference.py`, with the `xxhash` package).
//!
//! **Algorithm (fingerprint version 2).** Each normalized token has a canonical
//! encoding:
//!
//! | token | encoding |
//! |---|---|
//! | unquoted word (identifier or keyword) | `w`, length, its bytes ASCII lower-cased |
//! | quoted identifier | `w`, length, the bytes between the quotes, `""` read as `"` |
//! | quoted identifier whose name is a keyword as an unquoted one folds to (`"select"`) | `k`, length, the name |
//! | operator, punctuation, other byte | `o`, length, its bytes |
//! | literal kept as is (`ORDER BY 2`) | `n`, length, its bytes |
//! | constant or parameter (`$n`) | `c` |
//! | collapsed-list marker `/*, ... */` | `l` |
//! | start / end of a dollar-quoted body lexed as SQL | `q` / `Q` |
//!
//! The tag is one ASCII byte; the length, of the bytes that follow, is unsigned LEB128
//! (7 bits a byte, low bits first; one byte below 128). Bytes that are not UTF-8 are
//! first replaced as the display text shows them: each maximal invalid sequence by
//! U+FFFD (`EF BF BD`), as Rust's `String::from_utf8_lossy` and Python's
//! `bytes.decode("utf-8", "replace")` do, so the fingerprint of the normalized text is
//! the fingerprint of its source. The fingerprint is XXH3-64 (seed 0, default secret) of
//! the concatenated encodings (held in a fixed buffer, streamed into XXH3 past 256
//! bytes, which gives the same value; nothing is allocated).
//!
//! So `"users"` and `USERS` are one identifier (as in PostgreSQL), a constant's value
//! and a parameter's number never matter, and text layout never enters the hash. The
//! encoding is prefix-free (a tag says whether a length follows, the length says where
//! the token ends), so two different token streams never hash the same bytes, and
//! XXH3's avalanche (it passes SMHasher) makes a collision between two of them as
//! unlikely as for random 64-bit values: about n²/2⁶⁵ among n statements.
//!
//! Version 1 (pgferret 0.1) fed FxHash steps over 64-bit words, which gave thousands of
//! collisions among names that differ in a numeric suffix (`tbl_10408`, `tbl_10485`).

use std::hash::Hasher as _;

use twox_hash::xxhash3_64::{RawHasher, SecretBuffer, DEFAULT_SECRET_LENGTH};
use twox_hash::XxHash3_64;

use super::keywords::is_keyword;
use super::lexer::{is_ident_cont, is_ident_start, Kind, Token};

/// The version of the fingerprint algorithm, in the JSON report: fingerprints of
/// different versions cannot be compared.
pub const FINGERPRINT_VERSION: u32 = 2;

/// U+FFFD REPLACEMENT CHARACTER, which stands for each invalid UTF-8 sequence.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// How many bytes of encoding the hasher holds before it streams them into XXH3.
const BUF: usize = 256;

type Stream = RawHasher<&'static [u8; DEFAULT_SECRET_LENGTH]>;

/// The hash state: the encoding so far, in a buffer; when it fills (a long statement),
/// it streams into an XXH3 state, which gives the same value as hashing the whole
/// encoding at once. Most statements fit, and are hashed at once by [`Hasher::finish`].
#[derive(Clone)]
pub(crate) struct Hasher {
    buf: [u8; BUF],
    len: usize,
    stream: Option<Stream>,
    /// Whether a literal kept as is (`ORDER BY 2`) was fed: then the fingerprint
    /// depends on a literal's value, and the text's shape (see `shape`) does not
    /// stand for it.
    pub(crate) kept: bool,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            buf: [0; BUF],
            len: 0,
            stream: None,
            kept: false,
        }
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher(XXH3-64)")
    }
}

/// `x` with ASCII upper-case letters lower-cased, eight bytes at a time.
#[inline]
pub(crate) fn lower8(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = x & LOW7;
    // Bit 7 of each byte: set if the byte's low 7 bits are >= 'A', and >= '[' ('Z' + 1).
    let ge_a = low + 0x3f3f_3f3f_3f3f_3f3f;
    let gt_z = low + 0x2525_2525_2525_2525;
    let upper = ge_a & !gt_z & !x & HIGH;
    x | (upper >> 2)
}

/// Up to 8 bytes as a little-endian word, zero-padded. Built from whole loads (no
/// byte-by-byte copy into a buffer, which stalls when read back as a word); for 4 to 7
/// bytes, two overlapping 4-byte loads, whose common bytes are the same bytes.
#[inline]
pub(crate) fn le_word(chunk: &[u8]) -> u64 {
    let n = chunk.len();
    let u32_at = |i: usize| {
        u64::from(u32::from_le_bytes([
            chunk[i],
            chunk[i + 1],
            chunk[i + 2],
            chunk[i + 3],
        ]))
    };
    match n {
        8.. => u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]),
        4..=7 => u32_at(0) | u32_at(n - 4) << (8 * (n - 4)),
        _ => chunk.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    }
}

/// The pieces of a payload, in order: a token's bytes, or a quoted name's bytes cut
/// around each doubled `"` (so that `""` reads as one `"`).
#[derive(Clone)]
struct Pieces<'a> {
    rest: &'a [u8],
    unquote: bool,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let cut = match self.unquote {
            true => self.rest.windows(2).position(|w| w == b"\"\""),
            false => None,
        };
        let (piece, rest) = match cut {
            // Keep the first quote of the pair, skip the second.
            Some(i) => (&self.rest[..=i], &self.rest[i + 2..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        Some(piece)
    }
}

impl Hasher {
    /// Streams the buffer into the XXH3 state and empties it.
    #[cold]
    fn flush(&mut self) {
        let stream = self
            .stream
            .get_or_insert_with(|| RawHasher::new(SecretBuffer::default()));
        stream.write(&self.buf[..self.len]);
        self.len = 0;
    }

    /// One byte.
    #[inline]
    fn byte(&mut self, b: u8) {
        if self.len == BUF {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// The first `n` bytes of `bytes`, copied as 16 (two moves instead of a `memcpy`)
    /// when there is room: the bytes past `n` are overwritten by the next write.
    #[inline]
    fn small(&mut self, bytes: &[u8; 16], n: usize) {
        if self.len + 16 <= BUF {
            self.buf[self.len..self.len + 16].copy_from_slice(bytes);
            self.len += n;
        } else {
            self.write(&bytes[..n], false);
        }
    }

    /// `bytes`, ASCII-lower-cased if `lower`.
    #[inline]
    fn write(&mut self, bytes: &[u8], lower: bool) {
        if bytes.len() > BUF - self.len {
            self.write_long(bytes, lower);
            return;
        }
        let out = &mut self.buf[self.len..self.len + bytes.len()];
        out.copy_from_slice(bytes);
        if lower {
            out.make_ascii_lowercase();
        }
        self.len += bytes.len();
    }

    #[cold]
    fn write_long(&mut self, bytes: &[u8], lower: bool) {
        for chunk in bytes.chunks(BUF) {
            if chunk.len() > BUF - self.len {
                self.flush();
            }
            self.write(chunk, lower);
        }
    }

    /// A tag and, for tokens with a payload, the payload's length in LEB128.
    #[inline]
    fn header(&mut self, tag: u8, len: usize) {
        let mut buf = [0u8; 16];
        buf[0] = tag;
        let mut n = 1;
        let mut len = len as u64;
        loop {
            let low = (len & 0x7f) as u8;
            len >>= 7;
            buf[n] = low | if len > 0 { 0x80 } else { 0 };
            n += 1;
            if len == 0 {
                break;
            }
        }
        self.small(&buf, n);
    }

    /// A payload made of `pieces`: valid UTF-8 goes as it is (the common case, checked
    /// once), invalid sequences as U+FFFD.
    fn payload(&mut self, tag: u8, pieces: Pieces<'_>, lower: bool) {
        let valid = pieces
            .clone()
            .all(|p| p.is_ascii() || std::str::from_utf8(p).is_ok());
        if valid {
            self.header(tag, pieces.clone().map(<[u8]>::len).sum());
            pieces.for_each(|p| self.write(p, lower));
            return;
        }
        // No invalid sequence spans two pieces: they are cut after a `"`, an ASCII byte.
        let lossy_len = |p: &[u8]| -> usize {
            p.utf8_chunks()
                .map(|c| c.valid().len() + if c.invalid().is_empty() { 0 } else { 3 })
                .sum()
        };
        self.header(tag, pieces.clone().map(lossy_len).sum());
        for chunk in pieces.flat_map(<[u8]>::utf8_chunks) {
            self.write(chunk.valid().as_bytes(), lower);
            if !chunk.invalid().is_empty() {
                self.write(REPLACEMENT, false);
            }
        }
    }

    /// The bytes of a token as its payload.
    #[inline]
    fn bytes(&mut self, tag: u8, bytes: &[u8], lower: bool) {
        let n = bytes.len();
        if n <= 14 && bytes.is_ascii() {
            // Most tokens: tag, length (one byte), bytes, in one write from two words.
            let (head, tail) = bytes.split_at(n.min(8));
            let (mut w0, mut w1) = (le_word(head), le_word(tail));
            if lower {
                (w0, w1) = (lower8(w0), lower8(w1));
            }
            let mut buf = [0u8; 16];
            buf[0] = tag;
            buf[1] = n as u8;
            buf[2..10].copy_from_slice(&w0.to_le_bytes());
            buf[10..16].copy_from_slice(&w1.to_le_bytes()[..6]);
            self.small(&buf, 2 + n);
            return;
        }
        let pieces = Pieces {
            rest: bytes,
            unquote: false,
        };
        self.payload(tag, pieces, lower);
    }

    /// The fingerprint of everything fed so far.
    pub(crate) fn finish(&self) -> u64 {
        let tail = &self.buf[..self.len];
        match &self.stream {
            None => XxHash3_64::oneshot(tail),
            Some(stream) => {
                let mut stream = stream.clone();
                stream.write(tail);
                stream.finish()
            }
        }
    }

    /// Feeds a [`Kind::Word`] token whose first 8 bytes, lower-cased, are the low 64
    /// bits of `key`: the same as [`Hasher::token`], without reading them again.
    #[inline(always)]
    pub(crate) fn word(&mut self, src: &[u8], t: Token, key: u128) {
        let len = t.end() - t.start();
        let key = key as u64;
        if t.kind == Kind::Word && (1..=8).contains(&len) && key & 0x8080_8080_8080_8080 == 0 {
            // ASCII: tag, length (< 128: one byte), bytes, in one write.
            let mut buf = [0u8; 16];
            buf[0] = b'w';
            buf[1] = len as u8;
            buf[2..10].copy_from_slice(&key.to_le_bytes());
            self.small(&buf, 2 + len);
        } else {
            self.token(src, t);
        }
    }

    /// Feeds one normalized token (see the module docs for the encoding).
    #[inline(always)]
    pub(crate) fn token(&mut self, src: &[u8], t: Token) {
        let bytes = &src[t.span()];
        match t.kind {
            Kind::Word => self.bytes(b'w', bytes, true),
            Kind::QIdent if quoted_keyword(bytes) => {
                self.bytes(b'k', quoted_content(bytes).0, false)
            }
            Kind::QIdent => {
                let pieces = Pieces {
                    rest: quoted_content(bytes).0,
                    unquote: true,
                };
                self.payload(b'w', pieces, false);
            }
            Kind::Const => self.byte(b'c'),
            Kind::Marker => self.byte(b'l'),
            Kind::CodeOpen => self.byte(b'q'),
            Kind::CodeClose => self.byte(b'Q'),
            Kind::Kept => {
                self.kept = true;
                self.bytes(b'n', bytes, false);
            }
            _ => self.bytes(b'o', bytes, false),
        }
    }
}

/// The name of a quoted identifier token that an unquoted word folds to as well
/// (`"orders"`, not `"Orders"`, `"a b"` or `U&"x"`): the same name either way.
pub(crate) fn plain_name(tok: &[u8]) -> Option<&[u8]> {
    // A truncated name (no closing quote) is the name so far.
    let (name, _) = quoted_content(tok);
    let plain = tok.first() == Some(&b'"')
        && name.first().is_some_and(|&b| is_ident_start(b))
        && name
            .iter()
            .all(|&b| is_ident_cont(b) && !b.is_ascii_uppercase());
    plain.then_some(name)
}

/// A quoted identifier whose name is a keyword as written unquoted and folded
/// (`"select"`): the same bytes as the keyword, but not the keyword.
pub(crate) fn quoted_keyword(tok: &[u8]) -> bool {
    plain_name(tok).is_some_and(is_keyword)
}

/// The name inside a quoted identifier token (which may start with `U&`, end with a
/// `UESCAPE` clause, or be truncated), `""` still doubled; and whether it was closed.
pub(crate) fn quoted_content(tok: &[u8]) -> (&[u8], bool) {
    let Some(open) = tok.iter().position(|&b| b == b'"') else {
        return (tok, true);
    };
    let mut i = open + 1;
    while i < tok.len() {
        if tok[i] == b'"' {
            if tok.get(i + 1) != Some(&b'"') {
                return (&tok[open + 1..i], true);
            }
            i += 1;
        }
        i += 1;
    }
    (&tok[open + 1..], false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower8_is_to_ascii_lowercase() {
        for hi in 0..=255u8 {
            let bytes = [
                hi,
                b'A',
                b'Z',
                b'@',
                b'[',
                b'a',
                hi ^ 0x80,
                hi.wrapping_add(7),
            ];
            let got = lower8(u64::from_le_bytes(bytes)).to_le_bytes();
            assert_eq!(got, bytes.map(|b| b.to_ascii_lowercase()), "{bytes:?}");
        }
    }

    #[test]
    fn le_word_pads_with_zeros() {
        let bytes = b"abcdefgh";
        for n in 0..=8 {
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(le_word(&bytes[..n]), u64::from_le_bytes(buf), "{n}");
        }
    }

    #[test]
    fn doubled_quotes_are_one_quote() {
        let mut a = Hasher::default();
        a.token(br#""a""b""#, Token::new(Kind::QIdent, 0, 6));
        let mut b = Hasher::default();
        b.bytes(b'w', br#"a"b"#, false);
        assert_eq!(a.finish(), b.finish());
    }
}
