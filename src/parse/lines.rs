//! Where the lines of a chunk end: every `\n`, in order, found a window at a time.
//!
//! Log lines are short (~130 bytes on an extended-protocol log) and every one of them
//! needs its end. A `memchr` call per line spends most of its ~80 instructions on
//! setting up (dispatch, broadcasting the needle, the unaligned head, finding which
//! vector of its unrolled loop matched) rather than on the two or three vector
//! compares the line needs; `memchr_iter` makes the same call per match, and the
//! crate has no API that returns a bitmask of the matches in a block, which is what
//! dense matches want. So each 4 KiB window is compared once, one bit per byte in
//! 64-bit masks, and the next line end is a trailing-zero count (of the
//! window's next mask that has a bit, itself found by a trailing-zero count).
//!
//! The masks come from SSE2 (part of every x86_64 CPU), AVX2 when the CPU has it
//! (detected at run time, once per chunk), and plain code elsewhere; all three give
//! the same masks (tested against each other and against `memchr`).

/// Bytes compared at once.
const WINDOW: usize = 4096;
/// 64-bit masks per window.
const MASKS: usize = WINDOW / 64;

/// The positions of the `\n` bytes of a chunk, in increasing order.
pub struct LineEnds<'a> {
    data: &'a [u8],
    /// Where the window starts in `data`.
    window: usize,
    /// One bit per byte of the window: set for a `\n`.
    masks: [u64; MASKS],
    /// Bit `k` set when `masks[k]` has a bit and is still to be read.
    rest: u64,
    /// The mask being read, without the bits already returned, and where it starts.
    cur: u64,
    at: usize,
    avx2: bool,
}

impl<'a> LineEnds<'a> {
    /// The line ends of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let mut ends = LineEnds {
            data,
            window: 0,
            masks: [0; MASKS],
            rest: 0,
            cur: 0,
            at: 0,
            avx2: has_avx2(),
        };
        ends.fill();
        ends
    }

    /// The position of the next `\n`, or `None` when there is none left.
    #[inline]
    pub fn next_end(&mut self) -> Option<usize> {
        loop {
            if self.cur != 0 {
                let end = self.at + self.cur.trailing_zeros() as usize;
                self.cur &= self.cur - 1;
                return Some(end);
            }
            if self.rest == 0 {
                return self.next_window();
            }
            // The next mask with a bit (`% MASKS` rather than a bounds check: k < MASKS).
            let k = self.rest.trailing_zeros() as usize;
            self.rest &= self.rest - 1;
            self.cur = self.masks[k % MASKS];
            self.at = self.window + k * 64;
        }
    }

    /// The first line end of the next windows that hold one.
    #[inline(never)]
    fn next_window(&mut self) -> Option<usize> {
        while self.window + WINDOW < self.data.len() {
            self.window += WINDOW;
            self.fill();
            if self.rest != 0 {
                return self.next_end();
            }
        }
        None
    }

    /// The masks of the window at `self.window` (bytes past the end read as 0).
    fn fill(&mut self) {
        let rest = &self.data[self.window.min(self.data.len())..];
        match rest.first_chunk::<WINDOW>() {
            Some(block) => self.rest = masks_of(block, &mut self.masks, self.avx2),
            None => {
                let mut pad = [0u8; WINDOW];
                pad[..rest.len()].copy_from_slice(rest);
                self.rest = masks_of(&pad, &mut self.masks, self.avx2);
            }
        }
    }
}

impl Iterator for LineEnds<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.next_end()
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

/// The `\n` masks of `block`, with AVX2 when `avx2` (which the CPU must have);
/// returns which masks have a bit.
#[inline]
fn masks_of(block: &[u8; WINDOW], out: &mut [u64; MASKS], avx2: bool) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            // SAFETY: `avx2` is true only when the CPU has AVX2 (`has_avx2`).
            unsafe { x86::masks_avx2(block, out) }
        } else {
            x86::masks_sse2(block, out)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = avx2;
        masks_plain(block, out)
    }
}

/// [`masks_of`] in plain code: the reference the vector versions are tested against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn masks_plain(block: &[u8; WINDOW], out: &mut [u64; MASKS]) -> u64 {
    for (m, bytes) in out.iter_mut().zip(block.chunks_exact(64)) {
        *m = bytes
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u64::from(b == b'\n') << i);
    }
    nonzero(out)
}

/// Bit `k` set when `masks[k]` is not 0 (inlined, so vectorized with the caller's
/// instruction set).
#[inline(always)]
fn nonzero(masks: &[u64; MASKS]) -> u64 {
    (masks.iter().enumerate()).fold(0, |r, (k, &m)| r | u64::from(m != 0) << k)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{nonzero, MASKS, WINDOW};
    use std::arch::x86_64::*;

    /// [`super::masks_of`] with SSE2, which every x86_64 CPU has.
    #[inline]
    pub(super) fn masks_sse2(block: &[u8; WINDOW], out: &mut [u64; MASKS]) -> u64 {
        // SAFETY: SSE2 is part of x86_64; every load reads 16 bytes inside `block`
        // (offsets k*64 + 0..64 with k < MASKS, so below WINDOW).
        unsafe {
            let nl = _mm_set1_epi8(b'\n' as i8);
            let p = block.as_ptr();
            for (k, m) in out.iter_mut().enumerate() {
                let q = p.add(k * 64);
                let bits = |o: usize| {
                    let v = _mm_loadu_si128(q.add(o).cast());
                    _mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u16 as u64
                };
                *m = bits(0) | bits(16) << 16 | bits(32) << 32 | bits(48) << 48;
            }
        }
        nonzero(out)
    }

    /// [`super::masks_of`] with AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn masks_avx2(block: &[u8; WINDOW], out: &mut [u64; MASKS]) -> u64 {
        // SAFETY: every load reads 32 bytes inside `block` (offsets k*64 + 0..64
        // with k < MASKS, so below WINDOW); AVX2 is the caller's promise.
        unsafe {
            let nl = _mm256_set1_epi8(b'\n' as i8);
            let p = block.as_ptr();
            for (k, m) in out.iter_mut().enumerate() {
                let q = p.add(k * 64);
                let lo = _mm256_loadu_si256(q.cast());
                let hi = _mm256_loadu_si256(q.add(32).cast());
                let lo = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, nl)) as u32 as u64;
                let hi = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, nl)) as u32 as u64;
                *m = lo | hi << 32;
            }
        }
        nonzero(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_memchr(data: &[u8]) -> Vec<usize> {
        memchr::memchr_iter(b'\n', data).collect()
    }

    /// Bytes with many newlines, and `\r`, TABs, NULs and high bytes beside them.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(0u8),
            1 => Just(b'\t'),
            1 => Just(0x8a_u8),
            8 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..10_000)
    }

    proptest! {
        #[test]
        fn the_ends_are_memchrs(data in bytes()) {
            prop_assert_eq!(LineEnds::new(&data).collect::<Vec<_>>(), by_memchr(&data));
        }

        #[test]
        fn sparse_ends_are_memchrs(len in 0usize..5000, at in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let mut data = vec![b'x'; len];
            for i in at.iter().filter(|_| len > 0) {
                data[i.index(len)] = b'\n';
            }
            prop_assert_eq!(LineEnds::new(&data).collect::<Vec<_>>(), by_memchr(&data));
        }

        #[test]
        fn every_way_gives_the_same_masks(data in prop::collection::vec(bytes(), 1)) {
            // The bytes repeated over the whole window.
            let mut block = [0u8; WINDOW];
            if !data[0].is_empty() {
                for (i, b) in block.iter_mut().enumerate() {
                    *b = data[0][i % data[0].len()];
                }
            }
            let mut want = [0; MASKS];
            let want_rest = masks_plain(&block, &mut want);
            prop_assert_eq!(want_rest, (0..MASKS).filter(|&k| want[k] != 0).map(|k| 1 << k).sum::<u64>());
            let mut got = [0; MASKS];
            prop_assert_eq!(masks_of(&block, &mut got, false), want_rest);
            prop_assert_eq!(got, want);
            if has_avx2() {
                prop_assert_eq!(masks_of(&block, &mut got, true), want_rest);
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn every_testdata_log_splits_as_memchr_does() {
        let mut seen = 0;
        for path in crate::testdata::logs() {
            let data = std::fs::read(&path).unwrap();
            // Several start offsets, so the windows fall at other places in the lines.
            for from in [0, 1, 63, 64, 4095, 4097]
                .into_iter()
                .filter(|&f| f <= data.len())
            {
                let d = &data[from..];
                assert_eq!(
                    LineEnds::new(d).collect::<Vec<_>>(),
                    by_memchr(d),
                    "{}",
                    path.display()
                );
            }
            seen += 1;
        }
        assert!(seen >= 10, "only {seen} testdata logs");
    }

    #[test]
    fn no_end_after_the_last() {
        let mut ends = LineEnds::new(b"a\nb");
        assert_eq!(ends.next_end(), Some(1));
        for _ in 0..20 {
            assert_eq!(ends.next_end(), None);
        }
        assert_eq!(LineEnds::new(b"").next_end(), None);
    }
}
