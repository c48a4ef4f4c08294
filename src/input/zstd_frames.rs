//! A zstd file made of several independent frames (`pzstd`, concatenated `.zst`
//! files, the seekable format), decoded frame by frame on the worker threads.
//!
//! The file is mapped and its frames found by walking their headers. Frames are
//! decoded a group at a time, in parallel, into memory, and handed out in file order
//! through [`Read`], so what comes out is byte for byte what the one-thread streaming
//! decoder gives, and the stream is then cut at entry boundaries as any other
//! ([`super::BlockReader`]). Memory is bounded: a group holds at most
//! [`GROUP_BUDGET`] decoded bytes (and its buffers kept for the next group as
//! much again), and a frame that may decode to more than
//! [`FRAME_CAP`] (or the first one, read at open for detection) is streamed in order
//! instead. A frame that fails to decode is streamed again, so the lines before the
//! damage are kept and the error names the byte where decoding stopped, as for a
//! single-frame file.

use super::{mmap, Progress};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::sync::Arc;
use zstd::zstd_safe;

/// The most a frame decoded in memory may hold; larger frames are streamed.
pub const FRAME_CAP: usize = 16 << 20;

/// The most decoded bytes a group of frames holds at once.
pub const GROUP_BUDGET: usize = 2 * FRAME_CAP;

/// Frames in a group at most (a file of tiny frames).
const GROUP_FRAMES: usize = 1024;

/// Bytes of the map, from `pos` to `end`, read by a decoder.
struct MapSlice {
    map: Arc<memmap2::Mmap>,
    pos: usize,
    end: usize,
}

impl Read for MapSlice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let mut rest = self.fill_buf()?;
            rest.read(buf)?
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for MapSlice {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.map[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }
}

type Streaming = zstd::stream::read::Decoder<'static, MapSlice>;

/// One frame (or, after a frame that cannot be found whole, the rest of the file).
struct Piece {
    /// Where it starts and ends in the file.
    start: usize,
    end: usize,
    /// Its decoded bytes, and how many were handed out.
    data: Vec<u8>,
    at: usize,
    /// Decoded in memory (as opposed to streamed when its turn comes), in a buffer
    /// of `size` bytes.
    whole: bool,
    size: usize,
    /// The decoder that streams it, once its turn has come.
    stream: Option<Streaming>,
}

/// A multi-frame zstd file, decoded.
pub struct Frames {
    map: Arc<memmap2::Mmap>,
    /// Where the next frame to plan starts.
    next: usize,
    ready: VecDeque<Piece>,
    /// Buffers of frames handed out, for the next ones: a fresh buffer costs a page
    /// fault per 4 KiB written.
    spare: Vec<Vec<u8>>,
    progress: Progress,
    /// The first frame with data has been planned (it is streamed).
    started: bool,
    failed: bool,
}

/// A reader of `map` when it holds more than one frame (else `None`: the one frame
/// cannot be split, and is read as a stream like any compressed file).
pub fn open(map: memmap2::Mmap) -> Option<(Frames, Progress)> {
    let first = zstd_safe::find_frame_compressed_size(&map).ok()?;
    if first >= map.len() {
        return None;
    }
    let progress = Progress::default();
    let frames = Frames {
        map: Arc::new(map),
        next: 0,
        ready: VecDeque::new(),
        spare: Vec::new(),
        progress: progress.clone(),
        started: false,
        failed: false,
    };
    Some((frames, progress))
}

impl Frames {
    /// Plans the next group of frames and decodes in parallel those it can; false at
    /// the end of the file.
    fn refill(&mut self) -> bool {
        let mut budget = 0usize;
        while self.next < self.map.len() && self.ready.len() < GROUP_FRAMES {
            let rest = &self.map[self.next..];
            let (len, bound) = match zstd_safe::find_frame_compressed_size(rest) {
                Ok(len) if len > 0 => (len, zstd_safe::decompress_bound(&rest[..len]).ok()),
                // Cut short or damaged: the rest of the file is streamed, and fails
                // where a streaming decoder fails.
                _ => (rest.len(), None),
            };
            let size = bound.map_or(usize::MAX, |b| usize::try_from(b).unwrap_or(usize::MAX));
            let whole = self.started && size <= FRAME_CAP;
            if whole && !self.ready.is_empty() && budget + size > GROUP_BUDGET {
                break;
            }
            let data = match whole {
                true => self.spare.pop().unwrap_or_default(),
                false => Vec::new(),
            };
            self.ready.push_back(Piece {
                start: self.next,
                end: self.next + len,
                data,
                at: 0,
                whole,
                size,
                stream: None,
            });
            self.next += len;
            if !whole {
                // Streamed: its turn comes after the frames before it; the group ends.
                self.started |= size > 0;
                break;
            }
            budget += size;
        }
        let map = &self.map;
        self.ready
            .par_iter_mut()
            .filter(|p| p.whole)
            .for_each(|p| decode(map, p));
        !self.ready.is_empty()
    }

    /// Records a failure at byte `at` of the file for [`super::BlockReader`] to report.
    fn fail(&mut self, at: usize, e: io::Error) -> io::Error {
        self.progress.set(at as u64, at == self.map.len());
        self.failed = true;
        self.ready.clear();
        e
    }
}

/// Decodes a frame whole; one that fails is left to be streamed, which keeps what
/// decodes before the damage and tells where it is.
fn decode(map: &Arc<memmap2::Mmap>, p: &mut Piece) {
    let src = &map[p.start..p.end];
    p.data.clear();
    p.data.reserve(p.size);
    if zstd_safe::decompress(&mut p.data, src).is_err() {
        p.data.clear();
        p.whole = false;
    }
}

fn streaming(map: &Arc<memmap2::Mmap>, p: &Piece) -> io::Result<Streaming> {
    zstd::stream::read::Decoder::with_buffer(MapSlice {
        map: Arc::clone(map),
        pos: p.start,
        end: p.end,
    })
}

impl Read for Frames {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.failed || buf.is_empty() {
                return Ok(0);
            }
            if self.ready.is_empty() && !self.refill() {
                self.progress.set(self.map.len() as u64, true);
                return Ok(0);
            }
            let map = Arc::clone(&self.map);
            let p = self.ready.front_mut().expect("refilled");
            if p.at < p.data.len() {
                let n = (&p.data[p.at..]).read(buf)?;
                p.at += n;
                return Ok(n);
            }
            if !p.whole {
                if p.stream.is_none() {
                    match streaming(&map, p) {
                        Ok(s) => p.stream = Some(s),
                        Err(e) => {
                            let at = p.start;
                            return Err(self.fail(at, e));
                        }
                    }
                }
                let s = p.stream.as_mut().expect("just set");
                match s.read(buf) {
                    Ok(0) => {}
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let at = s.get_ref().pos;
                        return Err(self.fail(at, e));
                    }
                }
            }
            // This frame is done: its bytes and its pages are no longer needed.
            let mut done = self.ready.pop_front().expect("a piece");
            let kept: usize = self.spare.iter().map(Vec::capacity).sum();
            if done.whole && kept + done.data.capacity() <= GROUP_BUDGET {
                done.data.clear();
                self.spare.push(std::mem::take(&mut done.data));
            }
            self.progress
                .set(done.end as u64, done.end == self.map.len());
            mmap::release(&self.map, page_floor(done.start)..page_floor(done.end));
        }
    }
}

/// `at` rounded down to a page, so a release never drops a page a later frame shares.
fn page_floor(at: usize) -> usize {
    at & !4095
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// `text` compressed as frames of `frame` bytes of text each.
    fn frames(text: &[u8], frame: usize) -> Vec<u8> {
        text.chunks(frame)
            .flat_map(|c| zstd::encode_all(c, 1).unwrap())
            .collect()
    }

    fn mapped(bytes: &[u8]) -> (tempfile::NamedTempFile, memmap2::Mmap) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let map = mmap::map(f.as_file()).unwrap();
        (f, map)
    }

    fn text(lines: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("line {i} {}\n", "x".repeat(i % 97)).into_bytes())
            .collect()
    }

    fn read_all(r: &mut impl Read) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 3000];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn one_frame_is_left_to_the_stream() {
        let (_f, map) = mapped(&zstd::encode_all(&text(100)[..], 1).unwrap());
        assert!(open(map).is_none());
    }

    #[test]
    fn many_frames_decode_to_the_text_in_order() {
        let t = text(20_000);
        // Frame sizes that cut lines anywhere; skippable frames between, as pzstd writes.
        for frame in [1000, 77_777, 300_000] {
            let mut z = Vec::new();
            for c in t.chunks(frame) {
                z.extend([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
                z.extend(zstd::encode_all(c, 1).unwrap());
            }
            let (_f, map) = mapped(&z);
            let (mut r, progress) = open(map).expect("several frames");
            let (got, err) = read_all(&mut r);
            assert!(err.is_none(), "{err:?}");
            assert!(got == t, "frames of {frame}");
            assert_eq!(progress.consumed(), z.len() as u64);
        }
    }

    #[test]
    fn a_group_stays_within_its_budget() {
        let t = text(200_000);
        let (_f, map) = mapped(&frames(&t, 1 << 20));
        let (mut r, _) = open(map).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while r.read(&mut buf).unwrap() > 0 {
            let held: usize = r.ready.iter().map(|p| p.data.capacity()).sum();
            assert!(held <= GROUP_BUDGET + (128 << 10), "{held}");
            let spare: usize = r.spare.iter().map(Vec::capacity).sum();
            assert!(spare <= GROUP_BUDGET, "{spare}");
        }
    }

    #[test]
    fn a_corrupt_frame_keeps_what_came_before_and_says_where() {
        let t = text(20_000);
        let frame = 100_000;
        let mut z = frames(&t[..frame * 3], frame);
        let before = z.len();
        let mut bad = zstd::encode_all(&t[frame * 3..frame * 4], 1).unwrap();
        let mid = bad.len() / 2;
        bad[mid..mid + 50].fill(0xff);
        z.extend(&bad);
        z.extend(frames(&t[frame * 4..], frame));
        let (_f, map) = mapped(&z);
        let (mut r, progress) = open(map).unwrap();
        let (got, err) = read_all(&mut r);
        let err = err.expect("the damage is an error");
        assert!(
            got.len() >= frame * 3 && got.len() < frame * 4,
            "{}",
            got.len()
        );
        assert!(got == t[..got.len()]);
        let at = progress.consumed() as usize;
        assert!(at >= before && at <= before + bad.len(), "{at} {err}");
        assert!(!progress.at_end());
    }

    #[test]
    fn a_truncated_last_frame_is_read_up_to_the_cut() {
        let t = text(20_000);
        let z = frames(&t, 100_000);
        let cut = &z[..z.len() - 1000];
        let (_f, map) = mapped(cut);
        let (mut r, progress) = open(map).unwrap();
        let (got, err) = read_all(&mut r);
        assert!(err.is_some());
        let mut want = Vec::new();
        let _ = zstd::stream::read::Decoder::new(cut)
            .unwrap()
            .read_to_end(&mut want);
        assert!(got == want, "{} vs {}", got.len(), want.len());
        assert_eq!(progress.consumed(), cut.len() as u64);
        assert!(progress.at_end());
    }
}
