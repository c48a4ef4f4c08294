//! The data directory: `reports/<id>/` holds each report (HTML, JSON, Markdown and
//! `meta.json`), `spool/<id>/<n>` the files of an upload while they arrive, when `--keep-logs`
//! keeps them (moved to `reports/<id>/logs/` with the report).
//!
//! An id is 128 random bits in lowercase hex; [`Id::parse`] accepts nothing else, so a
//! request's text reaches a path only as 32 checked hex digits. File names given by a
//! client are kept in `meta.json`, never used as names.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A report's id: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(String);

impl Id {
    /// A new random id (from the operating system's generator).
    pub fn new() -> io::Result<Id> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Id(b.iter().map(|x| format!("{x:02x}")).collect()))
    }

    /// `s` when it is an id (32 lowercase hex digits), else `None`.
    pub fn parse(s: &str) -> Option<Id> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Id(s.to_string()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the index shows of a report, kept beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// The id.
    pub id: String,
    /// When it was made, RFC 3339 UTC.
    pub created: String,
    /// The title given, if any.
    pub title: Option<String>,
    /// The uploaded files' names as the client gave them.
    pub files: Vec<String>,
    /// Bytes uploaded.
    pub bytes: u64,
    /// The log's first and last entries, as the report shows them.
    pub period: String,
    /// The first finding, or what the log holds when nothing was found.
    pub headline: String,
    /// The report stands for part of the upload only.
    pub partial: bool,
}

/// The data directory.
pub struct Store {
    reports: PathBuf,
    spool: PathBuf,
}

impl Store {
    /// Creates (if needed) the data directory; removes uploads a previous run left.
    pub fn open(data: &Path) -> io::Result<Store> {
        let reports = data.join("reports");
        let spool = data.join("spool");
        fs::create_dir_all(&reports)?;
        let _ = fs::remove_dir_all(&spool);
        fs::create_dir_all(&spool)?;
        Ok(Store { reports, spool })
    }

    /// The directory of report `id`.
    pub fn report_dir(&self, id: &Id) -> PathBuf {
        self.reports.join(id.as_str())
    }

    /// A new spool directory for an upload, removed when the guard drops.
    pub fn spool(&self, id: &Id) -> io::Result<Spool> {
        let dir = self.spool.join(id.as_str());
        fs::create_dir(&dir)?;
        Ok(Spool { dir })
    }

    /// The kept reports, newest first.
    pub fn list(&self) -> Vec<Meta> {
        let mut out: Vec<Meta> = fs::read_dir(&self.reports)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| fs::read(e.path().join("meta.json")).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        out
    }

    /// Removes the oldest reports until all of them use at most `limit` bytes; the
    /// report `keep` (the one just made) stays whatever its size.
    pub fn enforce_retention(&self, limit: u64, keep: &Id) {
        let mut reports = self.list();
        let mut total: u64 = reports
            .iter()
            .map(|m| dir_size(&self.reports.join(&m.id)))
            .sum();
        while total > limit {
            let Some(old) = reports.pop() else { break };
            if old.id == keep.as_str() {
                break;
            }
            let Some(id) = Id::parse(&old.id) else {
                continue;
            };
            let dir = self.report_dir(&id);
            let size = dir_size(&dir);
            if fs::remove_dir_all(&dir).is_ok() {
                total = total.saturating_sub(size);
            }
        }
    }
}

/// Bytes of the files in `dir` and its subdirectories.
fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// An upload's spool directory; removed with what it holds when dropped (unless
/// [`Spool::keep`] moved it).
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// The path of the upload's `n`th file (0-based).
    pub fn file(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{n:04}"))
    }

    /// Moves the files to `dest` (`--keep-logs`).
    pub fn keep(&self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.dir, dest)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_nothing_else_parses() {
        let a = Id::new().unwrap();
        let b = Id::new().unwrap();
        assert_ne!(a, b);
        assert_eq!(Id::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdeF",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef/123456789abcdef",
        ] {
            assert_eq!(Id::parse(bad), None, "{bad}");
        }
    }
}
