//! Cutting a mapped input into chunks at entry boundaries, and passing over the rest
//! of an entry longer than the cap (`--max-entry`).
//!
//! An entry that never ends (a crash left gigabytes of NUL bytes after the last
//! line; a sparse file's hole) must not be read whole: its first `max_entry` bytes
//! are parsed like any entry, the rest is scanned window by window only to find where
//! the next entry starts, each window released as soon as it is scanned, and counted
//! as skipped. The boundary probes are bounded the same way, so the resident set
//! stays at a few chunks whatever the log holds.

use std::ops::Range;

/// How far past the first byte of a line its start is looked at to tell whether an
/// entry starts there (no prefix is anywhere near this long).
pub const LOOKAHEAD: usize = 64 * 1024;

/// How much of a skipped region is scanned (and then released) at a time.
const SKIP_WINDOW: usize = 4 << 20;

/// Boundary probes released in one call: each maps a few pages around a chunk's end,
/// and one call for many (the ranges follow each other) spares the system calls,
/// not the memory (a few pages each).
const PROBES_RELEASED: usize = 16;

/// Where entries start, as a log format tells.
pub trait Boundaries {
    /// The first entry boundary at or after `from` in `data`, which starts at one.
    fn next(&self, data: &[u8], from: usize) -> Option<usize>;
    /// The last entry boundary after the start of `data`, which starts at one.
    fn last(&self, data: &[u8]) -> Option<usize>;
    /// True when an entry starts at the start of `rest`, a line start.
    fn is_start(&self, rest: &[u8]) -> bool;
}

/// The rest of an entry longer than the cap, passed over: where it is and what it
/// held, so lines are counted as if it had been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skip {
    /// Offset in the input where the skipped bytes start.
    pub offset: u64,
    /// Bytes skipped.
    pub bytes: u64,
    /// Line ends among them.
    pub newlines: u64,
    /// True when the last skipped byte is a line end.
    pub ends_line: bool,
    /// True when the kept head of the entry ended with a line end (the skipped bytes
    /// start a line).
    pub after_line_end: bool,
}

impl Skip {
    fn new(offset: u64, after_line_end: bool) -> Skip {
        Skip {
            offset,
            after_line_end,
            ..Skip::default()
        }
    }

    /// Adds passed-over bytes.
    pub fn add(&mut self, bytes: &[u8]) {
        if let Some(&last) = bytes.last() {
            self.bytes += bytes.len() as u64;
            self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.ends_line = last == b'\n';
        }
    }

    /// Lines that start in the skipped bytes: the first skipped bytes finish the kept
    /// head's last line unless it ended with a line end.
    pub fn lines(&self) -> u64 {
        if self.bytes == 0 {
            return 0;
        }
        self.newlines + u64::from(!self.ends_line) - u64::from(!self.after_line_end)
    }

    /// The line the skip starts on, relative to the lines before it: the kept head's
    /// last line (0), or the next one (1).
    pub fn first_line(&self) -> u64 {
        u64::from(self.after_line_end)
    }
}

/// Looks for the first line start in `buf` (passed-over bytes) where an entry starts.
/// `line_start` tells whether `buf[0]` starts a line; `at_end` whether nothing
/// follows `buf`. Returns how many bytes are passed over, and whether an entry starts
/// right after them. When it does not, the bytes not passed over start a line too
/// short to judge yet: judge them again with what follows.
pub fn skip_scan(buf: &[u8], line_start: bool, at_end: bool, b: &impl Boundaries) -> (usize, bool) {
    let mut ls = if line_start {
        0
    } else {
        match memchr::memchr(b'\n', buf) {
            Some(nl) => nl + 1,
            None => return (buf.len(), false),
        }
    };
    loop {
        if ls == buf.len() {
            return (ls, false);
        }
        let rest = &buf[ls..];
        let line_end = memchr::memchr(b'\n', &rest[..rest.len().min(LOOKAHEAD)]);
        if line_end.is_none() && !at_end && rest.len() < LOOKAHEAD {
            return (ls, false);
        }
        if b.is_start(rest) {
            return (ls, true);
        }
        match line_end.and_then(|_| memchr::memchr(b'\n', rest)) {
            Some(nl) => ls += nl + 1,
            None => return (buf.len(), false),
        }
    }
}

/// A part of a mapped input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A chunk to parse; it starts at an entry boundary.
    Parse(Range<usize>),
    /// The rest of an over-long entry, passed over.
    Skip(Skip),
}

/// Cuts `data` into chunks of about `target` bytes (at most `max_entry`) starting at
/// entry boundaries, so no entry spans two chunks; an entry longer than `max_entry`
/// keeps its first `max_entry` bytes in its chunk and the rest becomes a
/// [`Piece::Skip`]. `release(range)` is told of ranges scanned and not needed again.
/// The pieces cover all of `data`, in order.
pub fn plan(
    data: &[u8],
    target: usize,
    max_entry: usize,
    b: &impl Boundaries,
    release: impl Fn(Range<usize>),
) -> Vec<Piece> {
    let cap = max_entry.max(1);
    let target = target.clamp(1, cap);
    let len = data.len();
    let mut pieces = Vec::new();
    let mut prev = 0;
    // Probed ranges not released yet (they follow each other), and how many.
    let mut probed: Option<(Range<usize>, usize)> = None;
    while prev + target < len {
        // Entries end within `cap` bytes: a boundary is looked for no further.
        let window = (prev + target + cap + 1).min(len);
        let found = b.next(&data[prev..window], target).map(|o| prev + o);
        let scanned = prev..found.unwrap_or(window);
        probed = match probed.take() {
            Some((p, n)) if p.end == scanned.start && n < PROBES_RELEASED => {
                Some((p.start..scanned.end, n + 1))
            }
            Some((p, _)) => {
                release(p);
                Some((scanned, 1))
            }
            None => Some((scanned, 1)),
        };
        let short = match found {
            Some(f) => f - prev <= cap,
            None => window == len && len - prev <= cap,
        };
        let start = if short {
            None
        } else {
            // The entry around `prev + target` starts at the last boundary before it.
            let upto = found.unwrap_or(window);
            let e = prev + b.last(&data[prev..upto]).unwrap_or(0);
            let end = found.unwrap_or(len);
            (end - e > cap && (found.is_some() || window < len || len - e > cap)).then_some(e)
        };
        match (start, found) {
            (None, Some(f)) if f < len => {
                pieces.push(Piece::Parse(prev..f));
                prev = f;
            }
            (None, _) => break,
            (Some(e), _) => {
                let cut = e + cap;
                pieces.push(Piece::Parse(prev..cut));
                if let Some((p, _)) = probed.take() {
                    release(p);
                }
                let (skip, next) = skip_from(data, cut, b, &release);
                pieces.push(Piece::Skip(skip));
                prev = next;
            }
        }
    }
    if let Some((p, _)) = probed {
        release(p);
    }
    if prev < len || pieces.is_empty() {
        pieces.push(Piece::Parse(prev..len));
    }
    pieces
}

/// Passes over `data` from `cut` (inside an over-long entry) to the next entry start
/// (or the end), window by window: the skip and where the next entry starts.
fn skip_from(
    data: &[u8],
    cut: usize,
    b: &impl Boundaries,
    release: &impl Fn(Range<usize>),
) -> (Skip, usize) {
    let mut skip = Skip::new(cut as u64, data[cut - 1] == b'\n');
    let mut at = cut;
    // The cut may fall on a line start where an entry starts after all (its line was
    // too short to judge when the boundary was looked for): then nothing is skipped.
    let mut line_start = skip.after_line_end;
    while at < data.len() {
        let end = (at + SKIP_WINDOW).min(data.len());
        let (n, found) = skip_scan(&data[at..end], line_start, end == data.len(), b);
        skip.add(&data[at..at + n]);
        release(at..at + n);
        at += n;
        if found {
            break;
        }
        line_start = at > 0 && data[at - 1] == b'\n';
    }
    (skip, at)
}

/// Cuts `data` into chunks of about `target` bytes at entry boundaries (no cap on an
/// entry): the chunks' byte ranges, in order, covering all of `data`.
pub fn chunk_ranges(data: &[u8], target: usize, b: &impl Boundaries) -> Vec<Range<usize>> {
    plan(data, target, usize::MAX / 4, b, |_| {})
        .into_iter()
        .filter_map(|p| match p {
            Piece::Parse(r) => Some(r),
            Piece::Skip(_) => None,
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Entries start at lines beginning with `x` (the stream tests use it too).
    pub(in crate::input) struct X;

    impl Boundaries for X {
        fn next(&self, data: &[u8], from: usize) -> Option<usize> {
            (from.max(1)..data.len()).find(|&i| data[i - 1] == b'\n' && data[i] == b'x')
        }
        fn last(&self, data: &[u8]) -> Option<usize> {
            (1..data.len())
                .rev()
                .find(|&i| data[i - 1] == b'\n' && data[i] == b'x')
        }
        fn is_start(&self, rest: &[u8]) -> bool {
            rest.first() == Some(&b'x')
        }
    }

    fn lines(data: &[u8]) -> u64 {
        let n = memchr::memchr_iter(b'\n', data).count() as u64;
        n + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
    }

    #[test]
    fn chunks_cover_everything_and_start_at_entries() {
        let data = b"x1\n\tc\nx2\n\tc\n\tc\nx3\nx4\n\tc\n";
        for target in 1..data.len() + 2 {
            let r = chunk_ranges(data, target, &X);
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, data.len());
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[1].start], b'x');
            }
        }
    }

    /// Every cap and chunk size: the pieces cover the input in order, no kept entry
    /// is longer than the cap, and the lines of kept chunks and skips add up to the
    /// input's.
    #[test]
    fn over_long_entries_are_cut_and_lines_still_add_up() {
        let mut data = b"x1\n\tc\nx2 ".to_vec();
        data.extend(std::iter::repeat_n(0u8, 40));
        data.extend(b"\n\tzz\n\n\tmore\nx3\nx4\n\tc".iter());
        data.extend(std::iter::repeat_n(b'y', 30));
        let starts: Vec<usize> = (0..data.len())
            .filter(|&i| i == 0 || (data[i - 1] == b'\n' && data[i] == b'x'))
            .chain([data.len()])
            .collect();
        let longest = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert_eq!(longest, 55);
        for cap in 1..data.len() + 2 {
            for target in 1..data.len() + 2 {
                let pieces = plan(&data, target, cap, &X, |_| {});
                let mut at = 0usize;
                let mut n = 0u64;
                let mut kept_end_nl = true;
                for p in &pieces {
                    match p {
                        Piece::Parse(r) => {
                            assert_eq!(r.start, at, "cap {cap} target {target}");
                            n += lines(&data[r.clone()]);
                            kept_end_nl = data[..r.end].ends_with(b"\n");
                            at = r.end;
                        }
                        Piece::Skip(s) => {
                            assert_eq!(s.offset as usize, at);
                            assert_eq!(s.after_line_end, kept_end_nl);
                            n += s.lines();
                            at += s.bytes as usize;
                            assert!(at == data.len() || data[at] == b'x');
                        }
                    }
                }
                assert_eq!(at, data.len(), "cap {cap} target {target}");
                assert_eq!(n, lines(&data), "cap {cap} target {target}: {pieces:?}");
                let skipped = pieces.iter().any(|p| matches!(p, Piece::Skip(_)));
                assert_eq!(
                    skipped,
                    cap < longest,
                    "cap {cap} target {target}: {pieces:?}"
                );
            }
        }
    }

    /// The ranges the plan releases come in order from the start, each probe
    /// released by the end (none left mapped), skipped regions included; the
    /// probes of consecutive chunks are released together, at most
    /// `PROBES_RELEASED` in one call.
    #[test]
    fn probes_are_released_together_and_all() {
        let entry = b"x1\n\tcontinued\n";
        let data: Vec<u8> = entry.repeat(100);
        let mut long = b"x2 ".to_vec();
        long.extend(std::iter::repeat_n(b'z', 200));
        long.push(b'\n');
        let with_long = [&data[..800], &long[..], &data[800..]].concat();
        for (data, cap) in [(&data, usize::MAX / 4), (&with_long, 100)] {
            for target in [1, 16, 50] {
                let released = std::cell::RefCell::new(Vec::new());
                let pieces = plan(data, target, cap, &X, |r| released.borrow_mut().push(r));
                let released = released.into_inner();
                // In order (the probe that finds an over-long entry reaches past the
                // cut, where the skipped region's release starts again).
                let mut at = 0;
                for r in &released {
                    assert!(r.end > at, "target {target}: {released:?}");
                    at = r.end;
                }
                // Everything scanned is released: the last probe ends at the last
                // chunk's start (or beyond, within its window).
                let last_start = match pieces.last() {
                    Some(Piece::Parse(r)) => r.start,
                    _ => data.len(),
                };
                assert!(at >= last_start, "target {target}: {released:?}");
                // One probe per chunk but the last, at most (one more when the last
                // probe finds no boundary).
                let calls = pieces.len().div_ceil(PROBES_RELEASED);
                if cap > data.len() {
                    assert_eq!(released[0].start, 0);
                    assert!(released.windows(2).all(|w| w[0].end == w[1].start));
                    assert!(released.len() <= calls, "target {target}: {released:?}");
                } else {
                    // The probes before and after the skipped region, and the region.
                    assert!(released.len() <= calls + 2, "target {target}: {released:?}");
                }
            }
        }
    }
}
