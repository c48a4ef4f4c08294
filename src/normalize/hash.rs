//! The fingerprint: a 64-bit hash of the normalized token stream.
//!
//! Users keep fingerprints (in reports, tickets, scripts), so the algorithm is part of
//! pgferret's interface: it must give the same value on every platform and in every
//! version, which rules out std's `DefaultHasher`. It is written down here, and a test
//! pins values that an independent 15-line Python version reproduces.
//!
//! **Algorithm.** Each normalized token has a canonical encoding: a tag byte, and a
//! payload of bytes.
//!
//! | token | tag | payload |
//! |---|---|---|
//! | unquoted word (identifier or keyword) | `w` | its bytes, ASCII lower-cased |
//! | quoted identifier | `w` | the bytes between the quotes, `""` read as `"` |
//! | operator, punctuation, other byte | `o` | its bytes |
//! | constant or parameter (`$n`) | `c` | none |
//! | literal kept as is (`ORDER BY 2`) | `n` | its bytes |
//! | collapsed-list marker `/*, ... */` | `l` | none |
//! | start / end of a dollar-quoted body lexed as SQL | `q` / `Q` | none |
//!
//! Starting from `h = 0x243f_6a88_85a3_08d3`, each token feeds the 64-bit word
//! `tag | payload_len << 8`, then its payload as little-endian 64-bit words (the last
//! one zero-padded), each word `w` as `h = (h.rotate_left(5) ^ w) * 0x517c_c1b7_2722_0a95`
//! (wrapping; the FxHash step rustc uses). The fingerprint is `h` through MurmurHash3's
//! 64-bit finalizer (`fmix64`), which spreads every input bit over the output.
//!
//! So `"users"` and `USERS` are one identifier (as in PostgreSQL), a constant's value
//! and a parameter's number never matter, and text layout never enters the hash. Words
//! rather than bytes: hashing is then a small part of normalizing (per-byte FNV-1a was
//! a sixth of the time).

use super::lexer::{Kind, Token};

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K: u64 = 0x517c_c1b7_2722_0a95;

/// The hash state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hasher(u64);

impl Default for Hasher {
    fn default() -> Self {
        Hasher(SEED)
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
/// byte-by-byte copy into a buffer, which stalls when read back as a word).
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

impl Hasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }

    #[inline]
    fn tag(&mut self, tag: u8, len: usize) {
        self.mix(u64::from(tag) | (len as u64) << 8);
    }

    #[inline]
    fn payload(&mut self, tag: u8, bytes: &[u8], lower: bool) {
        self.tag(tag, bytes.len());
        for chunk in bytes.chunks(8) {
            let w = le_word(chunk);
            self.mix(if lower { lower8(w) } else { w });
        }
    }

    /// A quoted identifier's name: `""` stands for one `"` (a slow path: rare tokens).
    fn quoted(&mut self, content: &[u8]) {
        let mut name = [0u8; 64];
        let mut len = 0;
        let mut skip = false;
        let mut unescaped = content.iter().filter(|&&b| {
            skip = b == b'"' && !skip;
            !skip
        });
        // Names are at most 63 bytes in PostgreSQL; longer ones (garbage) go in pieces.
        let total = content.len() - escapes(content);
        self.tag(b'w', total);
        loop {
            while len < name.len() {
                match unescaped.next() {
                    Some(&b) => name[len] = b,
                    None => break,
                }
                len += 1;
            }
            name[..len].chunks(8).for_each(|c| self.mix(le_word(c)));
            if len < name.len() {
                return;
            }
            len = 0;
        }
    }

    /// The fingerprint of everything fed so far.
    pub(crate) fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    /// Feeds a [`Kind::Word`] token whose first 8 bytes, lower-cased, are the low 64
    /// bits of `key`: the same as [`Hasher::token`], without reading them again.
    #[inline(always)]
    pub(crate) fn word(&mut self, src: &[u8], t: Token, key: u128) {
        let len = t.end() - t.start();
        if t.kind == Kind::Word && (1..=8).contains(&len) {
            self.tag(b'w', len);
            self.mix(key as u64);
        } else {
            self.token(src, t);
        }
    }

    /// Feeds one normalized token (see the module docs for the encoding).
    #[inline(always)]
    pub(crate) fn token(&mut self, src: &[u8], t: Token) {
        let bytes = &src[t.span()];
        match t.kind {
            Kind::Word => self.payload(b'w', bytes, true),
            Kind::QIdent => self.quoted(quoted_content(bytes).0),
            Kind::Const => self.tag(b'c', 0),
            Kind::Marker => self.tag(b'l', 0),
            Kind::CodeOpen => self.tag(b'q', 0),
            Kind::CodeClose => self.tag(b'Q', 0),
            Kind::Kept => self.payload(b'n', bytes, false),
            _ => self.payload(b'o', bytes, false),
        }
    }
}

/// How many bytes reading `""` as `"` removes from `content`.
fn escapes(content: &[u8]) -> usize {
    let mut skip = false;
    content
        .iter()
        .filter(|&&b| {
            skip = b == b'"' && !skip;
            skip
        })
        .count()
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
        b.payload(b'w', br#"a"b"#, false);
        assert_eq!(a.finish(), b.finish());
    }
}
