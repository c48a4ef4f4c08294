//! The state directory on disk (docs/state-dir.md): a lock, a manifest, and one file
//! of partial results per period. Every file is written to a temporary file in the
//! directory, fsynced and renamed; the manifest is renamed last and is the one commit
//! point: until it is, the directory says what it said before the run. Files no
//! manifest names (a killed run's) are swept at the start of the next run.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's name in the directory.
pub const MANIFEST: &str = "manifest";
/// The lock file's name.
pub const LOCK: &str = "lock";
/// The first bytes of a manifest.
pub const MANIFEST_MAGIC: [u8; 8] = *b"PGFSTDIR";
/// The first bytes of a file of partial results.
pub const PART_MAGIC: [u8; 8] = *b"PGFSTPRT";
/// The version of the directory's files; bumped whenever a saved type changes.
pub const DIR_VERSION: u32 = 2;

const HEADER: usize = 28;
const TMP: &str = ".tmp";

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// Another run holds the lock.
    #[error("--state {dir}: another pgferret run is using this directory (it holds {dir}/lock): nothing was read; run again once it has finished")]
    Locked {
        /// The directory.
        dir: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file of the directory that is not one, or corrupted.
    #[error("{path}: not a pgferret state directory file, or corrupted ({why}): give --state a new directory to read the logs again from their start")]
    Corrupted {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// Written by another version.
    #[error("{path}: written by state directory version {found} with fingerprints of version {fp}, this pgferret reads {reads} with {fp_reads}: give --state a new directory")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// Its fingerprint version.
        fp: u32,
        /// Ours.
        reads: u32,
        /// Our fingerprint version.
        fp_reads: u32,
    },
    /// The run's options differ from the directory's.
    #[error("--state {dir}: the directory was started with {was}, this run gives {now}: give the same options, or a new directory")]
    Options {
        /// The directory.
        dir: String,
        /// Its options.
        was: String,
        /// This run's.
        now: String,
    },
}

impl DirError {
    /// 2 for a directory in use or used otherwise (the wrong argument), 1 for one that
    /// cannot be read or written.
    pub fn exit_code(&self) -> u8 {
        match self {
            DirError::Io { .. } | DirError::Corrupted { .. } => 1,
            _ => 2,
        }
    }
}

/// The directory, locked for this run (the lock goes with the process, killed or not).
pub struct Dir {
    path: PathBuf,
    _lock: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DirError + '_ {
    move |source| DirError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Dir {
    /// Creates the directory if needed and takes its lock, or fails at once when
    /// another run holds it.
    pub fn open(path: &str) -> Result<Dir, DirError> {
        let dir = PathBuf::from(path);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        if !try_flock(&lock).map_err(io(&lock_path))? {
            return Err(DirError::Locked {
                dir: path.to_string(),
            });
        }
        Ok(Dir {
            path: dir,
            _lock: lock,
        })
    }

    /// The directory's path, for messages.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// The manifest, `None` in a new directory.
    pub fn read_manifest<T: DeserializeOwned>(&self) -> Result<Option<T>, DirError> {
        let path = self.path.join(MANIFEST);
        match fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
            Ok(bytes) => unseal(&path, MANIFEST_MAGIC, &bytes).map(Some),
        }
    }

    /// A file of partial results the manifest names.
    pub fn read_part<T: DeserializeOwned>(&self, name: &str) -> Result<T, DirError> {
        let path = self.path.join(name);
        let bytes = fs::read(&path).map_err(io(&path))?;
        unseal(&path, PART_MAGIC, &bytes)
    }

    /// Writes a file of partial results under a name no manifest names yet.
    pub fn write_part<T: Serialize>(&self, name: &str, part: &T) -> Result<(), DirError> {
        self.write_atomic(name, &seal(PART_MAGIC, part))
    }

    /// The commit point: the manifest replaced at once, then the directory synced so
    /// the rename itself survives a crash.
    pub fn commit<T: Serialize>(&self, manifest: &T) -> Result<(), DirError> {
        self.write_atomic(MANIFEST, &seal(MANIFEST_MAGIC, manifest))?;
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.path))
    }

    fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), DirError> {
        let path = self.path.join(name);
        let tmp = self.path.join(format!("{name}{TMP}"));
        let res = File::create(&tmp)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .and_then(|()| fs::rename(&tmp, &path));
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.map_err(io(&path))
    }

    /// Removes the files of partial results and the temporary files that `keep`
    /// (those the manifest names) does not hold: a killed run's, or those a commit
    /// replaced. Nothing else in the directory is touched.
    pub fn sweep(&self, keep: &[&str]) {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.ends_with(TMP) || (name.starts_with("part-") && name.ends_with(".pgs"));
            if ours && !keep.contains(&name) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Takes an exclusive `flock` on `file` without waiting: false when another open file
/// description (another run) holds it. (`File::try_lock` is newer than the MSRV.)
pub fn try_flock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock(2) is given a descriptor `file` owns, open for the whole call, and
    // flags; it reads and writes no memory of ours.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// The name of the file of period `key` written by the run of generation `generation`.
pub fn part_name(generation: u64, key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("part-{generation:08}-{key}.pgs")
}

/// `magic`, version, fingerprint version, body length, CRC-32, body (postcard), as in
/// a `.pgf` state (docs/state-format.md).
fn seal<T: Serialize>(magic: [u8; 8], value: &T) -> Vec<u8> {
    // Plain data into a Vec: nothing postcard refuses, no I/O.
    let body = postcard::to_allocvec(value).expect("state serializes");
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&magic);
    out.extend_from_slice(&DIR_VERSION.to_le_bytes());
    out.extend_from_slice(&crate::normalize::FINGERPRINT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn unseal<T: DeserializeOwned>(path: &Path, magic: [u8; 8], bytes: &[u8]) -> Result<T, DirError> {
    let corrupted = |why: String| DirError::Corrupted {
        path: path.display().to_string(),
        why,
    };
    if bytes.len() < HEADER || bytes[..8] != magic {
        return Err(corrupted("no header".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let (found, fp) = (u32_at(8), u32_at(12));
    if found != DIR_VERSION || fp != crate::normalize::FINGERPRINT_VERSION {
        return Err(DirError::Version {
            path: path.display().to_string(),
            found,
            fp,
            reads: DIR_VERSION,
            fp_reads: crate::normalize::FINGERPRINT_VERSION,
        });
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let body = &bytes[HEADER..];
    if body.len() as u64 != len {
        return Err(corrupted(format!(
            "{} bytes of data, {len} expected",
            body.len()
        )));
    }
    if crc32fast::hash(body) != u32_at(24) {
        return Err(corrupted("CRC-32 mismatch".into()));
    }
    postcard::from_bytes(body).map_err(|e| corrupted(format!("cannot decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_on_a_locked_directory_stops() {
        let tmp = std::env::temp_dir().join(format!("pgferret-lock-{}", std::process::id()));
        let path = tmp.to_str().expect("utf-8").to_string();
        let first = Dir::open(&path).expect("first");
        assert!(matches!(Dir::open(&path), Err(DirError::Locked { .. })));
        drop(first);
        assert!(Dir::open(&path).is_ok());
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let sealed = seal(PART_MAGIC, &vec![1u64, 2, 3]);
        let p = Path::new("x");
        assert_eq!(
            unseal::<Vec<u64>>(p, PART_MAGIC, &sealed).unwrap(),
            [1, 2, 3]
        );
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(
            unseal::<Vec<u64>>(p, PART_MAGIC, &bad),
            Err(DirError::Corrupted { .. })
        ));
        assert!(unseal::<Vec<u64>>(p, MANIFEST_MAGIC, &sealed).is_err());
        assert!(unseal::<Vec<u64>>(p, PART_MAGIC, &sealed[..sealed.len() - 1]).is_err());
    }
}
