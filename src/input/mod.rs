//! Input: opening log files (memory-mapped when possible, read in blocks otherwise,
//! stdin as `-`) and cutting them into chunks at entry boundaries so chunks can be
//! parsed in parallel without an entry ever spanning two of them.
//!
//! Chunk sizes do not depend on the number of threads, and the parse of a chunk does not
//! depend on where the chunk was cut, so every thread count gives the same result.

pub mod decompress;
mod mmap;

pub use decompress::Compression;
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

/// What identifies a file whatever the path it is reached by: device and inode (on
/// Unix), else the canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileId {
    /// Device and inode.
    Inode(u64, u64),
    /// The canonical path.
    Path(PathBuf),
}

impl Source {
    /// The file's identity, when it can be had (`None` for stdin or a missing file).
    pub fn file_id(&self) -> Option<FileId> {
        let Source::Path(p) = self else { return None };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(p).ok()?;
            Some(FileId::Inode(m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(p).ok().map(FileId::Path)
        }
    }
}

/// How much of `sample` is not text, in percent: control bytes other than whitespace,
/// ESC and NUL (a log may hold a hole of zeros), and bytes that are not UTF-8, over the
/// bytes that are not NUL. Logs score 0 (a log in Latin-1 a few); random bytes ~75.
pub fn binary_percent(sample: &[u8]) -> u32 {
    let sample = &sample[..sample.len().min(64 * 1024)];
    let control = sample
        .iter()
        .filter(|&&b| {
            (b < 0x20 && !matches!(b, 0 | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1b)) || b == 0x7f
        })
        .count();
    let invalid: usize = sample.utf8_chunks().map(|c| c.invalid().len()).sum();
    let text = sample.iter().filter(|&&b| b != 0).count();
    if text == 0 {
        return 0;
    }
    ((control + invalid) * 100 / text) as u32
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

/// Opens `source` for reading: plain regular files are mapped; compressed files
/// (recognised by their magic bytes), stdin and pipes become decompressed streams.
pub fn open(source: &Source) -> Result<(Compression, Data), InputError> {
    let name = source.name();
    let err = |source| InputError::Open {
        path: name.clone(),
        source,
    };
    match source {
        Source::Stdin => {
            let (c, r) = decompress::auto_decode(Box::new(io::stdin())).map_err(err)?;
            Ok((c, Data::Stream(r)))
        }
        Source::Path(path) => {
            let mut file = File::open(path).map_err(err)?;
            let meta = file.metadata().map_err(err)?;
            if meta.is_dir() {
                return Err(err(io::Error::other("is a directory")));
            }
            if !meta.is_file() {
                // A pipe or FIFO (`<(zcat x.gz)`): it cannot be reopened or mapped, so the
                // decoder looks at its first bytes through its own buffer.
                let (c, r) = decompress::auto_decode(Box::new(file)).map_err(err)?;
                return Ok((c, Data::Stream(r)));
            }
            let mut magic = [0u8; 6];
            let n = read_up_to(&mut file, &mut magic).map_err(err)?;
            let compression = Compression::sniff(&magic[..n]);
            if compression == Compression::None {
                if let Some(m) = mmap::map(&file) {
                    return Ok((compression, Data::Mapped(m)));
                }
            }
            let file = File::open(path).map_err(err)?;
            let (c, r) = decompress::auto_decode(Box::new(file)).map_err(err)?;
            Ok((c, Data::Stream(r)))
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One input after directories are expanded: a file to read, or a directory that gave
/// nothing to read, with why.
#[derive(Debug)]
pub enum Expanded {
    /// A file, or stdin.
    Input(Source),
    /// A directory that holds no log file.
    Empty(Source),
    /// A directory that could not be listed.
    Unlistable(Source, InputError),
}

/// Replaces each directory among `sources` by the log files inside it (sorted by
/// name; hidden files skipped; names that look like logs: `*.log`, `*.csv`,
/// `*.json`, compressed copies of those, or `postgres*`). A file found in a directory
/// is passed over, not fatal, when it turns out not to be a log; a directory that
/// cannot be listed or holds no log is kept as such, so it is reported
/// rather than aborting the others.
pub fn expand_dirs(sources: &[Source]) -> Vec<Expanded> {
    let mut out = Vec::new();
    for s in sources {
        match s {
            Source::Path(p) if p.is_dir() => match std::fs::read_dir(p) {
                Err(source) => {
                    let path = p.display().to_string();
                    out.push(Expanded::Unlistable(
                        s.clone(),
                        InputError::Open { path, source },
                    ))
                }
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && looks_like_log(f))
                        .collect();
                    files.sort();
                    if files.is_empty() {
                        out.push(Expanded::Empty(s.clone()));
                    }
                    out.extend(files.into_iter().map(|f| Expanded::Input(Source::Path(f))));
                }
            },
            other => out.push(Expanded::Input(other.clone())),
        }
    }
    out
}

fn looks_like_log(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') {
        return false;
    }
    let name = name.to_ascii_lowercase();
    let base = [".gz", ".zst", ".bz2", ".xz", ".lz4"]
        .iter()
        .find_map(|c| name.strip_suffix(c))
        .unwrap_or(&name);
    [".log", ".csv", ".json"].iter().any(|e| base.ends_with(e)) || base.starts_with("postgres")
}

/// Cuts `data` into chunks of about `target` bytes. `next_boundary(part, from)` gets
/// the input from a known entry boundary on and returns the first entry boundary at
/// or after `from` in it: chunks start only there, so no entry spans two chunks.
/// Returns the chunks' byte ranges, in order, covering all of `data`.
pub fn chunk_ranges(
    data: &[u8],
    target: usize,
    next_boundary: impl Fn(&[u8], usize) -> Option<usize>,
) -> Vec<std::ops::Range<usize>> {
    let target = target.max(1);
    let mut starts = vec![0usize];
    let mut prev = 0;
    while prev + target < data.len() {
        match next_boundary(&data[prev..], target) {
            Some(off) if prev + off < data.len() => {
                prev += off;
                starts.push(prev);
            }
            _ => break,
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(data.len()))
        .collect()
}

/// Reads a stream in blocks that end at entry boundaries. A read error midway (a
/// truncated gzip, an I/O error) ends the stream like its end would, so what was read
/// is kept; [`BlockReader::error`] tells it happened.
pub struct BlockReader {
    reader: Box<dyn Read + Send>,
    name: String,
    carry: Vec<u8>,
    offset: u64,
    eof: bool,
    target: usize,
    error: Option<InputError>,
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
            error: None,
        }
    }

    /// The read error that ended the stream early, if one did.
    pub fn error(&self) -> Option<&InputError> {
        self.error.as_ref()
    }

    /// Takes the read error that ended the stream early, if one did.
    pub fn take_error(&mut self) -> Option<InputError> {
        self.error.take()
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
                    self.error = Some(InputError::Read {
                        path: self.name.clone(),
                        source,
                    });
                    break;
                }
            }
        }
        self.carry.truncate(old + got);
    }

    /// The next block and its offset in the stream, or `None` at the end.
    /// `last_boundary(buf)` gets the buffered input (which starts at an entry boundary)
    /// and returns the last entry boundary after its start, where the block is cut.
    pub fn next_block(
        &mut self,
        last_boundary: impl Fn(&[u8]) -> Option<usize>,
    ) -> Option<(u64, Vec<u8>)> {
        let mut want = self.target;
        loop {
            if self.carry.len() < want && !self.eof {
                self.fill(want - self.carry.len());
            }
            if self.eof {
                if self.carry.is_empty() {
                    return None;
                }
                let block = std::mem::take(&mut self.carry);
                let base = self.offset;
                self.offset += block.len() as u64;
                return Some((base, block));
            }
            if let Some(cut) = last_boundary(&self.carry).filter(|&c| c > 0 && c < self.carry.len())
            {
                let rest = self.carry.split_off(cut);
                let block = std::mem::replace(&mut self.carry, rest);
                let base = self.offset;
                self.offset += block.len() as u64;
                return Some((base, block));
            }
            // One entry bigger than the block: read more.
            want = self.carry.len() * 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries start at lines beginning with `x`.
    fn next_x(data: &[u8], from: usize) -> Option<usize> {
        (from..data.len()).find(|&i| data[i - 1] == b'\n' && data[i] == b'x')
    }

    fn last_x(data: &[u8]) -> Option<usize> {
        (1..data.len())
            .rev()
            .find(|&i| data[i - 1] == b'\n' && data[i] == b'x')
    }

    #[test]
    fn chunks_cover_everything_and_start_at_entries() {
        let data = b"x1\n\tc\nx2\n\tc\n\tc\nx3\nx4\n\tc\n";
        for target in 1..data.len() + 2 {
            let r = chunk_ranges(data, target, next_x);
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
        assert_eq!(r.peek(2), b"x0");
        let mut joined = Vec::new();
        while let Some((base, block)) = r.next_block(last_x) {
            assert_eq!(base as usize, joined.len());
            assert_eq!(block[0], b'x');
            joined.extend_from_slice(&block);
        }
        assert_eq!(joined, data);
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
    fn a_read_error_midway_keeps_what_was_read() {
        let data: Vec<u8> = (0..2000)
            .flat_map(|i| format!("x{i}\n").into_bytes())
            .collect();
        let reader = FailsAfter(io::Cursor::new(data.clone()), 5000);
        let mut r = BlockReader::new(Box::new(reader), "t.gz".into(), 4096);
        let mut joined = Vec::new();
        while let Some((_, block)) = r.next_block(last_x) {
            joined.extend_from_slice(&block);
        }
        assert_eq!(joined, data[..5000]);
        let e = r.error().expect("the error is kept").to_string();
        assert!(e.starts_with("t.gz: read error: truncated"), "{e}");
    }
}
