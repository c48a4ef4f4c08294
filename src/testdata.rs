//! Test support: the files of `testdata/`, for unit tests that run on every real log.

use std::path::PathBuf;

/// Every file under `testdata/` (recursively), sorted by path.
pub(crate) fn files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata"
    ))];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The stderr logs (`.log`) under `testdata/`, sorted by path.
pub(crate) fn logs() -> Vec<PathBuf> {
    let mut logs = files();
    logs.retain(|p| p.extension().is_some_and(|x| x == "log"));
    logs
}
