//! Reading a stream (stdin, a pipe, a decompressed file) in blocks that end at entry
//! boundaries, with memory bounded by the block size and the entry cap.
//!
//! A read error midway (a compressed file cut short, an I/O error) ends the stream
//! like its end would: what was read is kept, except the incomplete line the error
//! cut, and [`BlockReader::error`] tells where in the compressed file it happened. An
//! entry longer than the cap is cut: its head is a block, its rest a [`Skip`] read
//! and dropped window by window until the next entry starts.

use super::chunks::{skip_scan, Boundaries, Skip};
use super::{InputError, Progress};
use std::io::{self, Read};

/// What [`BlockReader::next_block`] gives.
#[derive(Debug)]
pub enum Block {
    /// Bytes that start at an entry boundary, and their offset in the stream.
    Data(u64, Vec<u8>),
    /// The rest of an entry longer than the cap, passed over.
    Skipped(Skip),
}

/// Reads a stream in blocks that end at entry boundaries.
pub struct BlockReader {
    reader: Box<dyn Read + Send>,
    name: String,
    carry: Vec<u8>,
    offset: u64,
    eof: bool,
    target: usize,
    max_entry: usize,
    progress: Option<Progress>,
    skipping: Option<Skip>,
    error: Option<InputError>,
    dropped: u64,
}

impl BlockReader {
    /// A reader of `reader` (named `name` in errors) in blocks of about `target`
    /// bytes, with no cap on an entry.
    pub fn new(reader: Box<dyn Read + Send>, name: String, target: usize) -> Self {
        BlockReader {
            reader,
            name,
            carry: Vec::new(),
            offset: 0,
            eof: false,
            target: target.max(4096),
            max_entry: usize::MAX / 4,
            progress: None,
            skipping: None,
            error: None,
            dropped: 0,
        }
    }

    /// Cuts entries longer than `max_entry` bytes.
    pub fn with_max_entry(mut self, max_entry: usize) -> Self {
        self.max_entry = max_entry.max(1);
        self
    }

    /// The stream is decoded from a compressed input: `progress` tells where in it
    /// a failure happens.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The read error that ended the stream early, if one did.
    pub fn error(&self) -> Option<&InputError> {
        self.error.as_ref()
    }

    /// Takes the read error that ended the stream early, if one did.
    pub fn take_error(&mut self) -> Option<InputError> {
        self.error.take()
    }

    /// Bytes of an incomplete last line dropped because a read error cut it.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Peeks at up to `n` bytes from the start of the stream without consuming them
    /// (for format and prefix detection).
    pub fn peek(&mut self, n: usize) -> &[u8] {
        while self.carry.len() < n && !self.eof {
            self.fill(n - self.carry.len());
        }
        &self.carry[..self.carry.len().min(n)]
    }

    fn fill(&mut self, want: usize) {
        let old = self.carry.len();
        self.carry.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.reader.read(&mut self.carry[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    self.eof = true;
                    self.error = Some(self.failure(source));
                    break;
                }
            }
        }
        self.carry.truncate(old + got);
        if self.error.is_some() && self.skipping.is_none() {
            // The line the error cut is not a line the log holds.
            let keep = memchr::memrchr(b'\n', &self.carry).map_or(0, |i| i + 1);
            self.dropped += (self.carry.len() - keep) as u64;
            self.carry.truncate(keep);
        }
    }

    fn failure(&self, source: io::Error) -> InputError {
        let path = self.name.clone();
        match &self.progress {
            Some(p) => InputError::Decode {
                path,
                at: p.consumed(),
                truncated: p.at_end(),
                source,
            },
            None => InputError::Read { path, source },
        }
    }

    fn take(&mut self, n: usize) -> Block {
        let rest = self.carry.split_off(n);
        let block = std::mem::replace(&mut self.carry, rest);
        let base = self.offset;
        self.offset += block.len() as u64;
        Block::Data(base, block)
    }

    /// The next block, or `None` at the end. `b` tells where entries start; the
    /// buffered input always starts at one.
    pub fn next_block(&mut self, b: &impl Boundaries) -> Option<Block> {
        if self.skipping.is_some() {
            return Some(self.skip(b));
        }
        let mut want = self.target.min(self.max_entry + 1);
        loop {
            if self.carry.len() < want && !self.eof {
                self.fill(want - self.carry.len());
            }
            if self.carry.is_empty() {
                return None;
            }
            let over = self.carry.len() > self.max_entry;
            if self.eof && !over {
                return Some(self.take(self.carry.len()));
            }
            let len = self.carry.len();
            if let Some(cut) = b.last(&self.carry).filter(|&c| c > 0 && c < len) {
                return Some(self.take(cut));
            }
            if over {
                // One entry longer than the cap: keep its head, pass over the rest.
                let after_line_end = self.carry[self.max_entry - 1] == b'\n';
                let head = self.take(self.max_entry);
                self.skipping = Some(Skip {
                    offset: self.offset,
                    after_line_end,
                    ..Skip::default()
                });
                return Some(head);
            }
            want = (self.carry.len() * 2).min(self.max_entry + 1);
        }
    }

    /// Reads and drops the rest of an over-long entry, up to the next entry start.
    fn skip(&mut self, b: &impl Boundaries) -> Block {
        let mut skip = self.skipping.take().unwrap_or_default();
        // As for a mapped input (`chunks::skip_from`): the cut may fall where an entry starts.
        let mut line_start = skip.after_line_end;
        loop {
            if self.carry.is_empty() && !self.eof {
                self.fill(self.target);
            }
            let (n, found) = skip_scan(&self.carry, line_start, self.eof, b);
            skip.add(&self.carry[..n]);
            line_start = n > 0 && self.carry[n - 1] == b'\n' || (n == 0 && line_start);
            self.carry.drain(..n);
            self.offset += n as u64;
            if found || (self.eof && self.carry.is_empty()) {
                return Block::Skipped(skip);
            }
            // Not at the end (there nothing stays undecided): judge with more.
            self.fill(self.target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::chunks::tests::X;
    use super::*;

    fn all_blocks(r: &mut BlockReader) -> (Vec<u8>, Vec<Skip>) {
        let (mut joined, mut skips) = (Vec::new(), Vec::new());
        while let Some(b) = r.next_block(&X) {
            match b {
                Block::Data(base, block) => {
                    assert_eq!(
                        base as usize,
                        joined.len() + skips.iter().map(|s: &Skip| s.bytes as usize).sum::<usize>()
                    );
                    assert_eq!(block[0], b'x');
                    assert!(block.len() <= r.max_entry.max(r.target) + 1);
                    joined.extend_from_slice(&block);
                }
                Block::Skipped(s) => skips.push(s),
            }
        }
        (joined, skips)
    }

    #[test]
    fn blocks_from_a_stream_rejoin_to_the_input() {
        let data: Vec<u8> = (0..500)
            .flat_map(|i| format!("x{i}\n\tcont\n").into_bytes())
            .collect();
        let mut r = BlockReader::new(Box::new(io::Cursor::new(data.clone())), "-".into(), 4096);
        assert_eq!(r.peek(2), b"x0");
        let (joined, skips) = all_blocks(&mut r);
        assert_eq!(joined, data);
        assert!(skips.is_empty());
        assert!(r.error().is_none());
    }

    /// Fails after `ok` bytes, like a truncated gzip.
    struct FailsAfter(io::Cursor<Vec<u8>>, usize);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.position() as usize >= self.1 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated"));
            }
            let room = self.1 - self.0.position() as usize;
            let n = buf.len().min(room);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn a_read_error_midway_keeps_the_lines_read() {
        let data: Vec<u8> = (0..2000)
            .flat_map(|i| format!("x{i}\n").into_bytes())
            .collect();
        // 5000 bytes end inside a line: the lines before it are kept, not its start.
        let whole = data[..5000].iter().rposition(|&c| c == b'\n').unwrap() + 1;
        assert!(whole < 5000);
        let reader = FailsAfter(io::Cursor::new(data.clone()), 5000);
        let mut r = BlockReader::new(Box::new(reader), "t.gz".into(), 4096);
        let (joined, _) = all_blocks(&mut r);
        assert_eq!(joined, data[..whole]);
        assert_eq!(r.dropped() as usize, 5000 - whole);
        let e = r.error().expect("the error is kept").to_string();
        assert!(e.starts_with("t.gz: read error: truncated"), "{e}");
    }

    /// An entry that never ends (NUL bytes, then a newline-less tail) is cut at the
    /// cap; the next entry is found again; no buffer grows past the cap and a block.
    #[test]
    fn an_endless_entry_is_cut_and_the_rest_found_again() {
        let mut data = b"x1\nx2 start".to_vec();
        data.extend(std::iter::repeat_n(0u8, 300_000));
        data.extend(b"\n\tc\n\nx3\n\tz\nx4 ".iter());
        data.extend(std::iter::repeat_n(0u8, 100_000));
        for target in [4096, 10_000, 1 << 20] {
            let mut r =
                BlockReader::new(Box::new(io::Cursor::new(data.clone())), "-".into(), target)
                    .with_max_entry(50_000);
            let (joined, skips) = all_blocks(&mut r);
            assert_eq!(skips.len(), 2, "target {target}");
            let kept = joined.len() as u64 + skips.iter().map(|s| s.bytes).sum::<u64>();
            assert_eq!(kept, data.len() as u64);
            assert_eq!(skips[0].newlines, 3);
            assert!(!skips[0].after_line_end && skips[0].ends_line);
            assert!(joined.windows(8).any(|w| w == b"x3\n\tz\nx4"));
        }
    }
}
