//! Input: opening log files (memory-mapped when possible, read in blocks otherwise,
//! stdin as `-`) and cutting them into chunks at entry boundaries so chunks can be
//! parsed in parallel without an entry ever spanning two of them.
//!
//! Chunk sizes do not depend on the number of threads, and the parse of a chunk does not
//! depend on where the chunk was cut, so every thread count gives the same result.

pub mod chunks;
pub mod decompress;
mod mmap;
pub mod stream;
mod zstd_frames;

pub use chunks::{chunk_ranges, plan, Boundaries, Piece, Skip};
pub use decompress::{Compression, Progress};
pub use mmap::{map, populate, release};
pub use stream::{Block, BlockReader};

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Default size of a chunk: large enough that per-chunk overhead is noise, small
/// enough that two cores get work from a 10 MB log.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Default cap on one log entry (`--max-entry`): far beyond any statement a server
/// logs whole, small enough that an entry that never ends cannot exhaust memory.
pub const MAX_ENTRY: usize = 64 << 20;

/// Where a log comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file path.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A stream handed over by the program that embeds pgferret (a file of an
    /// upload, read as it arrives), under the name the report gives it.
    Reader(Stream),
}

/// A named stream, read once, like stdin. Clones share the stream; two sources are
/// equal when they share it.
#[derive(Clone)]
pub struct Stream {
    name: String,
    reader: std::sync::Arc<std::sync::Mutex<Option<Box<dyn Read + Send>>>>,
}

impl Stream {
    /// The source that reads `reader`, named `name` in messages and the report.
    pub fn source(name: &str, reader: Box<dyn Read + Send>) -> Source {
        Source::Reader(Stream {
            name: name.to_string(),
            reader: std::sync::Arc::new(std::sync::Mutex::new(Some(reader))),
        })
    }

    /// The reader, the first time only.
    fn take(&self) -> Option<Box<dyn Read + Send>> {
        self.reader.lock().ok()?.take()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stream").field(&self.name).finish()
    }
}

impl PartialEq for Stream {
    fn eq(&self, other: &Stream) -> bool {
        std::sync::Arc::ptr_eq(&self.reader, &other.reader)
    }
}

impl Eq for Stream {}

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
            Source::Reader(s) => s.name.clone(),
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
    /// A compressed stream ended early (a file cut short) or broke (corrupt bytes):
    /// what decoded before is kept.
    #[error("{path}: {}", decode_failure(*at, *truncated, source))]
    Decode {
        /// The file.
        path: String,
        /// Bytes of the compressed file the decoder had taken when it failed.
        at: u64,
        /// True when the compressed file ended there (cut short), false when its
        /// bytes could not be decoded (corrupt).
        truncated: bool,
        /// The decoder's error.
        source: io::Error,
    },
}

/// What a verdict says of a compressed stream that failed: where, and how.
pub fn decode_failure(at: u64, truncated: bool, source: &io::Error) -> String {
    let how = if truncated {
        "then truncated"
    } else {
        "then corrupt"
    };
    format!("read up to byte {at} of the compressed file, {how} ({source})")
}

/// An opened input: all its bytes mapped, or a stream to read in blocks.
pub enum Data {
    /// A memory-mapped regular file.
    Mapped(memmap2::Mmap),
    /// A stream (stdin, a pipe, a compressed file), decoded, and how far its decoder
    /// got in the raw bytes.
    Stream(Box<dyn Read + Send>, decompress::Progress),
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
            let (c, r, p) = decompress::auto_decode(Box::new(io::stdin())).map_err(err)?;
            Ok((c, Data::Stream(r, p)))
        }
        Source::Reader(s) => {
            let r = s
                .take()
                .ok_or_else(|| err(io::Error::other("this stream was read already")))?;
            let (c, r, p) = decompress::auto_decode(r).map_err(err)?;
            Ok((c, Data::Stream(r, p)))
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
                let (c, r, p) = decompress::auto_decode(Box::new(file)).map_err(err)?;
                return Ok((c, Data::Stream(r, p)));
            }
            let mut magic = [0u8; 6];
            let n = read_up_to(&mut file, &mut magic).map_err(err)?;
            let compression = Compression::sniff(&magic[..n]);
            if compression == Compression::None {
                if let Some(m) = mmap::map(&file) {
                    return Ok((compression, Data::Mapped(m)));
                }
            }
            if compression == Compression::Zstd {
                // Several frames decode in parallel; one is read as a stream.
                if let Some((r, p)) = mmap::map(&file).and_then(zstd_frames::open) {
                    return Ok((compression, Data::Stream(Box::new(r), p)));
                }
            }
            let file = File::open(path).map_err(err)?;
            let (c, r, p) = decompress::auto_decode(Box::new(file)).map_err(err)?;
            Ok((c, Data::Stream(r, p)))
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
