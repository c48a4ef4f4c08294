//! Input: opening log files (memory-mapped when possible, read in blocks otherwise,
//! stdin as `-`) and cutting them into chunks at entry boundaries so chunks can be
//! parsed in parallel without an entry ever spanning two of them.
//!
//! Chunk sizes do not depend on the number of threads, and the parse of a chunk does not
//! depend on where the chunk was cut, so every thread count gives the same result.

mod mmap;

pub use mmap::release;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Default size of a chunk: large enough that per-chunk overhead is noise, small
/// enough that two cores get work from a 10 MB log.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Where a log comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file path.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Source {
    /// `-` is stdin; anything else a path.
    pub fn from_arg(arg: &str) -> Source {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::Path(PathBuf::from(arg))
        }
    }

    /// The name used in messages and the report.
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
        }
    }
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Opening failed (missing file, permissions, a directory...).
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// Reading failed midway.
    #[error("{path}: read error: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
}

/// An opened input: all its bytes mapped, or a stream to read in blocks.
pub enum Data {
    /// A memory-mapped regular file.
    Mapped(memmap2::Mmap),
    /// A stream (stdin, a pipe, a file that cannot be mapped).
    Stream(Box<dyn Read + Send>),
}

/// Opens `source` for reading.
pub fn open(source: &Source) -> Result<Data, InputError> {
    match source {
        Source::Stdin => Ok(Data::Stream(Box::new(io::stdin()))),
        Source::Path(path) => open_path(path),
    }
}

fn open_path(path: &Path) -> Result<Data, InputError> {
    let err = |source| InputError::Open {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    if meta.is_dir() {
        return Err(err(io::Error::other("is a directory")));
    }
    Ok(match mmap::map(&file) {
        Some(m) => Data::Mapped(m),
        None => Data::Stream(Box::new(file)),
    })
}

/// Cuts `data` into chunks of about `target` bytes, each starting at a line for which
/// `is_start` is true (the first chunk starts at 0 whatever it holds). Returns the
/// chunks' byte ranges, in order, covering all of `data`.
pub fn chunk_ranges(
    data: &[u8],
    target: usize,
    is_start: impl Fn(&[u8]) -> bool,
) -> Vec<std::ops::Range<usize>> {
    let mut starts = vec![0usize];
    let mut at = target.max(1);
    while at < data.len() {
        match next_entry_start(data, at, &is_start) {
            Some(s) => {
                if s > *starts.last().unwrap_or(&0) {
                    starts.push(s);
                }
                at = s + target.max(1);
            }
            None => break,
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(data.len()))
        .collect()
}

/// The first line start at or after `from` whose line is an entry start.
fn next_entry_start(data: &[u8], from: usize, is_start: &impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut pos = from;
    // Move to the start of the next line unless already at one.
    if pos > 0 && data[pos - 1] != b'\n' {
        pos += memchr::memchr(b'\n', &data[pos..])? + 1;
    }
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        if is_start(&data[pos..end]) {
            return Some(pos);
        }
        pos = end + 1;
    }
    None
}

/// The last complete line of `buf` (ending with a newline) that is an entry start,
/// after `min`: where a block read from a stream can be cut.
fn last_entry_start(buf: &[u8], min: usize, is_start: &impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', buf)?;
    while end > min {
        let start = memchr::memrchr(b'\n', &buf[..end]).map_or(0, |i| i + 1);
        if start > min && is_start(&buf[start..end]) {
            return Some(start);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
    None
}

/// Reads a stream in blocks that end at entry boundaries.
pub struct BlockReader {
    reader: Box<dyn Read + Send>,
    name: String,
    carry: Vec<u8>,
    offset: u64,
    eof: bool,
    target: usize,
}

impl BlockReader {
    /// A reader of `reader` (named `name` in errors) in blocks of about `target` bytes.
    pub fn new(reader: Box<dyn Read + Send>, name: String, target: usize) -> Self {
        BlockReader {
            reader,
            name,
            carry: Vec::new(),
            offset: 0,
            eof: false,
            target: target.max(4096),
        }
    }

    /// Peeks at up to `n` bytes from the start of the stream without consuming them
    /// (for format and prefix detection).
    pub fn peek(&mut self, n: usize) -> Result<&[u8], InputError> {
        while self.carry.len() < n && !self.eof {
            self.fill(n - self.carry.len())?;
        }
        Ok(&self.carry[..self.carry.len().min(n)])
    }

    fn fill(&mut self, want: usize) -> Result<(), InputError> {
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
                    self.carry.truncate(old + got);
                    return Err(InputError::Read {
                        path: self.name.clone(),
                        source,
                    });
                }
            }
        }
        self.carry.truncate(old + got);
        Ok(())
    }

    /// The next block and its offset in the stream, or `None` at the end.
    pub fn next_block(
        &mut self,
        is_start: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<(u64, Vec<u8>)>, InputError> {
        let mut want = self.target;
        loop {
            if self.carry.len() < want && !self.eof {
                self.fill(want - self.carry.len())?;
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let block = std::mem::take(&mut self.carry);
                let base = self.offset;
                self.offset += block.len() as u64;
                return Ok(Some((base, block)));
            }
            if let Some(cut) = last_entry_start(&self.carry, 0, &is_start) {
                let rest = self.carry.split_off(cut);
                let block = std::mem::replace(&mut self.carry, rest);
                let base = self.offset;
                self.offset += block.len() as u64;
                return Ok(Some((base, block)));
            }
            // One entry bigger than the block: read more.
            want = self.carry.len() * 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts_with_x(l: &[u8]) -> bool {
        l.first() == Some(&b'x')
    }

    #[test]
    fn chunks_cover_everything_and_start_at_entries() {
        let data = b"x1\n\tc\nx2\n\tc\n\tc\nx3\nx4\n\tc\n";
        for target in 1..data.len() + 2 {
            let r = chunk_ranges(data, target, starts_with_x);
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, data.len());
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[1].start], b'x');
            }
        }
    }

    #[test]
    fn blocks_from_a_stream_rejoin_to_the_input() {
        let data: Vec<u8> = (0..500)
            .flat_map(|i| format!("x{i}\n\tcont\n").into_bytes())
            .collect();
        let mut r = BlockReader::new(Box::new(io::Cursor::new(data.clone())), "-".into(), 4096);
        assert_eq!(r.peek(2).unwrap(), b"x0");
        let mut joined = Vec::new();
        while let Some((base, block)) = r.next_block(starts_with_x).unwrap() {
            assert_eq!(base as usize, joined.len());
            assert_eq!(block[0], b'x');
            joined.extend_from_slice(&block);
        }
        assert_eq!(joined, data);
    }
}
