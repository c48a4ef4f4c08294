//! A progress bar on stderr for a person at a terminal (indicatif): bytes read, MB/s
//! and, when the inputs' size is known, the ETA. Off a terminal (cron, a pipe) there
//! is none: [`Progress::for_terminal`] returns `None` and nothing is drawn.
//!
//! The pipeline only calls [`Progress::advance`] with the bytes of each chunk it has
//! parsed (memory-mapped files) or, for a compressed or streamed input, with the
//! file's size once it is read: the bar's unit is bytes on disk.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress of one analysis, shared by the threads (a handle to one bar).
#[derive(Clone)]
pub struct Progress(ProgressBar);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Progress").field(&self.0.position()).finish()
    }
}

impl Progress {
    /// A bar on stderr when stderr is a terminal and `quiet` is not set; `total` is the
    /// inputs' size in bytes when every one is a file (else a counter without ETA).
    pub fn for_terminal(total: Option<u64>, quiet: bool) -> Option<Progress> {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr())
                .with_style(style(
                    "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style("{spinner} {bytes} {binary_bytes_per_sec}")),
        };
        Some(Progress(bar))
    }

    /// `n` more bytes read.
    pub fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    /// The reading is over: the bar is cleared (the report's lines follow).
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The inputs' size in bytes when every one is a file that can be measured (a
/// directory is measured by its files); `None` with stdin among them.
pub fn total_size(inputs: &[crate::input::Source]) -> Option<u64> {
    use crate::input::Source;
    let mut total = 0u64;
    for s in inputs {
        let Source::Path(p) = s else { return None };
        total += size_of(p)?;
    }
    Some(total)
}

fn size_of(p: &std::path::Path) -> Option<u64> {
    let m = std::fs::metadata(p).ok()?;
    if m.is_file() {
        return Some(m.len());
    }
    if m.is_dir() {
        let entries = std::fs::read_dir(p).ok()?;
        return Some(
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum(),
        );
    }
    None
}
