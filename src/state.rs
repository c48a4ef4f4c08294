//! Saved states: `--save FILE.pgf` writes every input of a run as read, before any
//! decision about the whole run; `pgferret merge` reads any number of them back and
//! merges them as one run merges its inputs ([`crate::pipeline::combine`]), so the
//! merged report equals the report of one run over all the logs.
//!
//! The file (docs/state-format.md): a 28-byte header, then the body.
//!
//! | bytes | what |
//! |---|---|
//! | 0..8 | magic `PGFSTATE` |
//! | 8..12 | format version, u32 little-endian ([`FORMAT_VERSION`]) |
//! | 12..16 | fingerprint version, u32 LE ([`crate::normalize::FINGERPRINT_VERSION`]) |
//! | 16..24 | body length, u64 LE |
//! | 24..28 | CRC-32 (IEEE) of the body, u32 LE |
//! | 28.. | body: a [`State`] in postcard (serde, varints) |
//!
//! A file from another format or fingerprint version is refused, not guessed at: a
//! fingerprint of another version names other statements.

use crate::pipeline::ReadInput;
use std::io::Write;

/// The first bytes of every state.
pub const MAGIC: [u8; 8] = *b"PGFSTATE";

/// The version of the layout of [`State`]; bumped whenever a saved type changes.
pub const FORMAT_VERSION: u32 = 1;

const HEADER: usize = 28;

/// A run's inputs as read, and the options their statistics depend on.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// The pgferret version that wrote it.
    pub pgferret: String,
    /// `--window`, ms (the time windows are aggregated at this width).
    pub window_ms: Option<i64>,
    /// `--max-fingerprints` (each input's table is capped at it).
    pub max_fingerprints: Option<usize>,
    /// Every input, in the order given.
    pub inputs: Vec<ReadInput>,
}

/// Why a state could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not a file `--save` wrote.
    #[error("{path}: not a pgferret state (no PGFSTATE header; write one with --save FILE.pgf)")]
    NotAState {
        /// The file.
        path: String,
    },
    /// Another format version.
    #[error("{path}: written by format version {found}, this pgferret reads {reads}: save it again from the logs with this version")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// Ours.
        reads: u32,
    },
    /// Fingerprints of another version.
    #[error("{path}: its fingerprints are of version {found}, this pgferret's of {reads}: save it again from the logs with this version")]
    Fingerprint {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// Ours.
        reads: u32,
    },
    /// Shorter or longer than its header says, or a checksum that does not match.
    #[error("{path}: checksum mismatch: the file is corrupted ({why})")]
    Corrupted {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// Parts saved with options that change their statistics.
    #[error("{path}: saved with {what}, unlike {first}: states merge only when saved with the same --window and --max-fingerprints")]
    Options {
        /// The file.
        path: String,
        /// Its options.
        what: String,
        /// The first state's file.
        first: String,
    },
}

impl StateError {
    /// The exit code: 2 for a file that is not a state this version reads (the wrong
    /// argument), 1 for one that cannot be read (missing, corrupted).
    pub fn exit_code(&self) -> u8 {
        match self {
            StateError::Io { .. } | StateError::Corrupted { .. } => 1,
            _ => 2,
        }
    }
}

/// The file's bytes for `state`.
pub fn encode(state: &State) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail: no map without a length, no
    // I/O, nothing postcard refuses.
    let body = postcard::to_allocvec(state).expect("a state serializes");
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crate::normalize::FINGERPRINT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads the state in `bytes` (of file `path`, for the messages).
pub fn decode(path: &str, bytes: &[u8]) -> Result<State, StateError> {
    let path = path.to_string();
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(StateError::NotAState { path });
    }
    let corrupted = |why: String| StateError::Corrupted {
        path: path.clone(),
        why,
    };
    if bytes.len() < HEADER {
        return Err(corrupted(format!(
            "{} bytes, shorter than its header",
            bytes.len()
        )));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let found = u32_at(8);
    if found != FORMAT_VERSION {
        return Err(StateError::Version {
            path,
            found,
            reads: FORMAT_VERSION,
        });
    }
    let fp = u32_at(12);
    if fp != crate::normalize::FINGERPRINT_VERSION {
        return Err(StateError::Fingerprint {
            path,
            found: fp,
            reads: crate::normalize::FINGERPRINT_VERSION,
        });
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let body = &bytes[HEADER..];
    if body.len() as u64 != len {
        return Err(corrupted(format!(
            "the header says {len} bytes of data, the file holds {}",
            body.len()
        )));
    }
    let (want, got) = (u32_at(24), crc32fast::hash(body));
    if want != got {
        return Err(corrupted(format!("CRC-32 {got:08x}, expected {want:08x}")));
    }
    postcard::from_bytes(body).map_err(|e| corrupted(format!("cannot decode: {e}")))
}

/// Writes `state` to `path` (through a temporary file beside it, renamed: a reader
/// never sees half a state).
pub fn write(path: &str, state: &State) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.to_string(),
        source,
    };
    let bytes = encode(state);
    let tmp = format!("{path}.tmp{}", std::process::id());
    let res = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(io)
}

/// Reads the state saved in `path`.
pub fn read(path: &str) -> Result<State, StateError> {
    let bytes = std::fs::read(path).map_err(|source| StateError::Io {
        path: path.to_string(),
        source,
    })?;
    decode(path, &bytes)
}

/// Reads every state and puts their inputs in one order whatever the order of
/// `paths`: the states sorted by their inputs' hosts and names. (A run over the same
/// logs given in that order gives the same report.) Fails on the first state that
/// cannot be read or was saved with other options than the first.
pub fn read_all(paths: &[String]) -> Result<State, StateError> {
    use rayon::prelude::*;
    let mut states: Vec<(String, State)> = paths
        .par_iter()
        .map(|p| read(p).map(|s| (p.clone(), s)))
        .collect::<Result<_, _>>()?;
    if let Some((first, s0)) = states.first() {
        let opts = |s: &State| (s.window_ms, s.max_fingerprints);
        if let Some((path, s)) = states.iter().find(|(_, s)| opts(s) != opts(s0)) {
            return Err(StateError::Options {
                path: path.clone(),
                what: describe(s),
                first: format!("{first} ({})", describe(s0)),
            });
        }
    }
    let key = |s: &State| -> Vec<(String, String)> {
        s.inputs
            .iter()
            .map(|i| (i.result.host_label(), i.result.name.clone()))
            .collect()
    };
    states.sort_by_cached_key(|(_, s)| key(s));
    let mut merged = State {
        pgferret: env!("CARGO_PKG_VERSION").to_string(),
        window_ms: states.first().and_then(|(_, s)| s.window_ms),
        max_fingerprints: states.first().and_then(|(_, s)| s.max_fingerprints),
        inputs: Vec::new(),
    };
    let mut firsts: std::collections::HashMap<Reading, String> = Default::default();
    for (path, s) in states {
        for input in s.inputs {
            merged.inputs.push(once(input, &path, &mut firsts));
        }
    }
    Ok(merged)
}

/// What identifies one reading of a log: its host and name, the bytes and lines read,
/// its entries, the first and last instants, the lines skipped and filtered out. Two
/// saved inputs alike in all of these are the same log read the same way (a state
/// given twice, or saved by two runs over the same file), not two logs.
type Reading = (String, String, u64, u64, u64, Option<(i64, i64)>, u64, u64);

/// `input` (saved in `path`), or, when an input read the same way came first (in
/// `firsts`), a duplicate in its place, counted once as a run counts a file given
/// twice.
fn once(
    input: ReadInput,
    path: &str,
    firsts: &mut std::collections::HashMap<Reading, String>,
) -> ReadInput {
    let r = &input.result;
    if input.stats.is_none() || r.stats.lines == 0 {
        return input;
    }
    let key = (
        r.host_label(),
        r.name.clone(),
        r.bytes,
        r.stats.lines,
        r.stats.entries,
        r.stats.seen,
        r.stats.skipped_lines,
        r.stats.filtered_entries,
    );
    let Some(first) = firsts.get(&key) else {
        firsts.insert(key, format!("{} (in {path})", r.name));
        return input;
    };
    let name = format!("{} (in {path})", r.name);
    let mut res = crate::pipeline::named_verdict(
        name,
        crate::verdict::Verdict::Duplicate { of: first.clone() },
    );
    res.host = input.result.host.clone();
    res.warnings.push(res.verdict.sentence(&res.stats));
    ReadInput {
        result: res,
        stats: None,
        clock: None,
    }
}

fn describe(s: &State) -> String {
    let w = s.window_ms.map_or("automatic windows".to_string(), |w| {
        format!("--window {w}ms")
    });
    let m = s
        .max_fingerprints
        .map_or("the default --max-fingerprints".to_string(), |m| {
            format!("--max-fingerprints {m}")
        });
    format!("{w} and {m}")
}
