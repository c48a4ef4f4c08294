//! The `pgferret` binary: arguments in, exit code out; the work is in the library.

use std::process::ExitCode;

/// mimalloc (v2) instead of glibc's malloc: on the 1 GB extended-protocol log the
/// run took 13% less wall time at -j2 and 15% less at -j1 (glibc's per-thread arenas
/// trimmed and refilled the runs' buffers); peak anonymous memory on 5 GB at -j2
/// rose from 66 to 96 MB (BENCHMARKS.md, issue 14).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    pgferret::cli_main()
}
