//! Compressed logs: detected by their magic bytes (not their name) and decompressed
//! in-process as a stream, by well-kept crates.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (also concatenated members, as logrotate's `delaycompress` makes).
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// LZ4 frames.
    Lz4,
}

impl Compression {
    /// The compression whose magic bytes start `head`.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || (head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18])
        {
            // A zstd frame, or a skippable frame (pzstd starts its files with one).
            Compression::Zstd
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Compression::Xz
        } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
            Compression::Lz4
        } else {
            Compression::None
        }
    }

    /// The name in the report (`null` when not compressed).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::Bzip2 => Some("bzip2"),
            Compression::Xz => Some("xz"),
            Compression::Lz4 => Some("lz4"),
        }
    }
}

/// How far a decoder got in its compressed input: the bytes it took, and whether it
/// met the input's end. Shared between the decoder's reader and whoever reports a
/// failure ("read up to byte N, then truncated").
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<(AtomicU64, AtomicBool)>);

impl Progress {
    /// Bytes of the underlying input the decoder has consumed.
    pub fn consumed(&self) -> u64 {
        self.0 .0.load(Ordering::Relaxed)
    }

    /// True once the underlying input has reached its end.
    pub fn at_end(&self) -> bool {
        self.0 .1.load(Ordering::Relaxed)
    }

    /// Records that the decoder has taken `consumed` bytes, and whether that is all.
    pub(crate) fn set(&self, consumed: u64, at_end: bool) {
        self.0 .0.store(consumed, Ordering::Relaxed);
        self.0 .1.store(at_end, Ordering::Relaxed);
    }
}

/// A buffered reader that counts what is consumed from it, by `read` or by
/// `consume`, into its [`Progress`].
struct Counted<R> {
    inner: BufReader<R>,
    progress: Progress,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.0 .0.fetch_add(n as u64, Ordering::Relaxed);
        if n == 0 && !buf.is_empty() {
            self.progress.0 .1.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl<R: Read> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.progress.0 .1.store(true, Ordering::Relaxed);
        }
        Ok(buf)
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.progress.0 .0.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Peeks at `reader`'s first bytes and wraps it in the decoder they call for; the
/// [`Progress`] tells how much of `reader` the decoder has taken.
pub fn auto_decode(
    reader: Box<dyn Read + Send>,
) -> std::io::Result<(Compression, Box<dyn Read + Send>, Progress)> {
    let progress = Progress::default();
    let mut buf = Counted {
        inner: BufReader::with_capacity(1 << 16, reader),
        progress: progress.clone(),
    };
    let c = Compression::sniff(buf.fill_buf()?);
    let r: Box<dyn Read + Send> = match c {
        Compression::None => Box::new(buf),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buf)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buf)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(buf)),
    };
    Ok((c, r, progress))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"2026-11-24 04:34:31 UTC [1]: LOG:  hello\n";

    fn roundtrip(c: Compression, bytes: Vec<u8>) {
        let (got, mut r, _) = auto_decode(Box::new(std::io::Cursor::new(bytes))).unwrap();
        assert_eq!(got, c);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, TEXT.repeat(2));
    }

    #[test]
    fn every_format_by_magic() {
        let mut gz = Vec::new();
        for _ in 0..2 {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(TEXT).unwrap();
            gz.extend(e.finish().unwrap()); // two members, as concatenated .gz files
        }
        roundtrip(Compression::Gzip, gz);
        roundtrip(
            Compression::Zstd,
            zstd::encode_all(&TEXT.repeat(2)[..], 3).unwrap(),
        );
        // pzstd starts with a skippable frame.
        let mut pz = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        pz.extend(zstd::encode_all(&TEXT.repeat(2)[..], 3).unwrap());
        roundtrip(Compression::Zstd, pz);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&TEXT.repeat(2)).unwrap();
        roundtrip(Compression::Bzip2, bz.finish().unwrap());
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&TEXT.repeat(2)).unwrap();
        roundtrip(Compression::Xz, xz.finish().unwrap());
        let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
        lz.write_all(&TEXT.repeat(2)).unwrap();
        roundtrip(Compression::Lz4, lz.finish().unwrap());
        roundtrip(Compression::None, TEXT.repeat(2));
    }
}
