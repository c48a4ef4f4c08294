//! Memory-mapping a log file (`unsafe`: the mapping; the crate's other `unsafe` blocks are
//! the SIMD newline scan in `parse/lines.rs` and one call in `incremental/dir.rs`).

use std::fs::File;

/// Maps `file` read-only. Returns `None` when the file cannot be mapped (a pipe, a
/// FIFO, an empty file, a file system without mmap): the caller then reads it in blocks.
pub fn map(file: &File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; pgferret only reads
    // bytes through it. The hazard is another process truncating or rewriting the file
    // while it is mapped: the bytes change under us, or a read past the new end raises
    // SIGBUS. A file still being appended to only grows past the mapped length, but
    // logrotate's `copytruncate` (Debian's default for /var/log/postgresql) truncates
    // the live log: analysing the live file at that instant can kill the run. Analyse
    // rotated copies, or pipe the live file through stdin (`cat f | pgferret -`).
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Maps `range` of `map` into this process now, in one call, rather than by one page
/// fault per few pages as it is read (Linux 5.14's `MADV_POPULATE_READ`; a page not in
/// the page cache is read from the file as a fault would read it). Called on a run of
/// chunks just before it is parsed: the run's pages are released when it is done, so
/// no more is mapped at once than without it. Failure (an older kernel, another
/// system) only means the pages fault in as they are read.
pub fn populate(map: &memmap2::Mmap, range: std::ops::Range<usize>) {
    #[cfg(target_os = "linux")]
    let _ = map.advise_range(memmap2::Advice::PopulateRead, range.start, range.len());
    #[cfg(not(target_os = "linux"))]
    let _ = (map, range);
}

/// Tells the kernel this process will not read `range` of `map` again, so its pages
/// leave the resident set (they stay in the page cache). Keeps memory flat whatever
/// the size of the log. Failure only means the pages stay resident.
pub fn release(map: &memmap2::Mmap, range: std::ops::Range<usize>) {
    #[cfg(unix)]
    {
        // SAFETY: the mapping is read-only and backed by a file. MADV_DONTNEED on such a
        // mapping drops the pages from this process; a later read of the same bytes
        // (a neighbouring chunk sharing a boundary page) faults them in again from the
        // file with the same contents. No reference observes a change.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, range.len())
        };
    }
    #[cfg(not(unix))]
    let _ = (map, range);
}
