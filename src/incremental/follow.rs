//! Which file is which since the last run: every file the last run read is looked for
//! among this run's inputs by its identity (device and inode) and its first block
//! (the xxh3 hash of its first [`HEAD`] bytes, decompressed), so a log is followed
//! when it grows, is renamed (`postgresql.log` → `postgresql.log.1`), copied and
//! truncated (copytruncate: the copy holds the old bytes), or compressed
//! (`postgresql.log.1.gz`). A file found at a log's path that is not that log's file
//! any more continues the log (logrotate's new file); any other file is a new log.

use super::{Stream, Tracked};
use crate::input::Compression;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How many first bytes identify a file's content.
pub const HEAD: usize = 4096;

/// One input file as found by this run.
#[derive(Debug)]
pub struct Probe {
    /// Its path.
    pub path: PathBuf,
    /// Its name in messages and the report.
    pub name: String,
    /// Device and inode.
    pub id: (u64, u64),
    /// Its size on disk.
    pub size: u64,
    /// Compressed (read whole as a stream; such a file never grows).
    pub compressed: bool,
    /// Its first [`HEAD`] bytes, decompressed.
    pub head: Vec<u8>,
}

/// The xxh3 hash of a first block.
pub fn head_hash(head: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(head)
}

/// Looks at the file at `path`.
pub fn probe(path: &Path) -> std::io::Result<Probe> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 6];
    let n = read_up_to(&mut file, &mut magic)?;
    let compressed = Compression::sniff(&magic[..n]) != Compression::None;
    let file = std::fs::File::open(path)?;
    let mut reader: Box<dyn Read + Send> = if compressed {
        crate::input::decompress::auto_decode(Box::new(file))?.1
    } else {
        Box::new(file)
    };
    let mut head = vec![0u8; HEAD];
    // A compressed file that cannot be decoded has no head: it matches nothing.
    let n = read_up_to(&mut reader, &mut head).unwrap_or(0);
    head.truncate(n);
    Ok(Probe {
        path: path.to_path_buf(),
        name: path.display().to_string(),
        id: (meta.dev(), meta.ino()),
        size: meta.len(),
        compressed,
        head,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Tracked {
    /// True when `p` starts with the first block this file had.
    fn head_matches(&self, p: &Probe) -> bool {
        let len = self.head_len as usize;
        p.head.len() >= len && head_hash(&p.head[..len]) == self.head_hash
    }

    /// True when `p` may hold this file's content, read up to its offset: its first
    /// block, and (uncompressed) at least as many bytes.
    fn continues_in(&self, p: &Probe) -> bool {
        self.head_matches(p) && (p.compressed || p.size >= self.offset)
    }
}

/// One file to read in this run: a tracked file found again, or a new one.
#[derive(Debug, Clone)]
pub struct Step {
    /// The probe.
    pub probe: usize,
    /// The tracked file it is, if any (index in the last manifest's files).
    pub tracked: Option<usize>,
    /// Read from this offset of the file (decompressed).
    pub from: u64,
}

/// What to read of one log, in order: the rest of its files found again, then a new
/// file that continues it, if any.
#[derive(Debug)]
pub struct LogPlan {
    /// The log, `None` for a new one (named by its first step's file).
    pub stream: Option<u32>,
    /// Its files, in the log's order.
    pub steps: Vec<Step>,
    /// True when the log's newest file of the last run was not found: what it held
    /// after the offset read (an unfinished last entry at least) is lost.
    pub lost_tail: bool,
}

/// Finds every tracked file among `probes` and places the others: a file at the path
/// a log is written to whose file moved or went continues that log; any other is a
/// new log.
pub fn plan(streams: &[Stream], files: &[Tracked], probes: &[Probe]) -> Vec<LogPlan> {
    let mut claimed = vec![false; probes.len()];
    let mut found: Vec<Option<usize>> = vec![None; files.len()];
    // First by identity (the same inode still holding the same start), then by
    // content alone (a copy, a compressed copy): an inode whose content was replaced
    // (truncated) is a new file, not the old one.
    for (t, f) in files.iter().enumerate() {
        let at = probes.iter().position(|p| {
            !p.compressed && p.id == (f.dev, f.ino) && f.continues_in(p) && !f.compressed
        });
        if let Some(at) = at.filter(|&at| !claimed[at]) {
            claimed[at] = true;
            found[t] = Some(at);
        }
    }
    for (t, f) in files.iter().enumerate() {
        if found[t].is_some() || f.head_len == 0 {
            continue;
        }
        // Prefer the uncompressed copy (read from the offset without decoding).
        let pick = |compressed: bool| {
            probes
                .iter()
                .enumerate()
                .position(|(i, p)| !claimed[i] && p.compressed == compressed && f.continues_in(p))
        };
        if let Some(at) = pick(false).or_else(|| pick(true)) {
            claimed[at] = true;
            found[t] = Some(at);
        }
    }
    // A file named as a rotated copy of a log (`NAME.1`, `NAME.2.gz`, `NAME-20261201`)
    // that is no file read before: written and rotated away since the last run, it
    // belongs to that log, after its files read before, oldest first.
    let copy = |p: &Probe| files.iter().any(|f| f.head_len > 0 && f.head_matches(p));
    let mut unseen: Vec<Vec<(RotatedAge, usize)>> = vec![Vec::new(); streams.len()];
    for (i, p) in probes.iter().enumerate() {
        if claimed[i] || p.head.is_empty() || copy(p) {
            continue;
        }
        let of = streams
            .iter()
            .enumerate()
            .find_map(|(k, s)| rotated_age(&p.name, &s.name).map(|age| (k, age)));
        if let Some((k, age)) = of {
            claimed[i] = true;
            unseen[k].push((age, i));
        }
    }
    let mut plans = Vec::new();
    for (k, s) in streams.iter().enumerate() {
        let mut mine: Vec<usize> = (0..files.len())
            .filter(|&t| files[t].stream == s.id)
            .collect();
        mine.sort_by_key(|&t| files[t].base);
        // The newest file gone while it may have held more than was read.
        let newest_lost = mine
            .last()
            .is_some_and(|&t| found[t].is_none() && !files[t].done);
        let mut steps: Vec<Step> = mine
            .iter()
            .filter_map(|&t| {
                found[t].map(|p| Step {
                    probe: p,
                    tracked: Some(t),
                    from: files[t].offset,
                })
            })
            .collect();
        unseen[k].sort();
        steps.extend(unseen[k].iter().map(|&(_, i)| Step {
            probe: i,
            tracked: None,
            from: 0,
        }));
        // A file at the log's path that no tracked file claimed: the log's next file.
        let next = probes
            .iter()
            .enumerate()
            .position(|(i, p)| !claimed[i] && p.name == s.name);
        if let Some(at) = next {
            claimed[at] = true;
            steps.push(Step {
                probe: at,
                tracked: None,
                from: 0,
            });
        }
        plans.push(LogPlan {
            stream: Some(s.id),
            lost_tail: newest_lost && next.is_some(),
            steps,
        });
    }
    // A file that starts as a file read before, found nowhere else, is a copy of it
    // (a compressed copy while the original is still there): not a new log. The
    // others are new logs, each with its rotated copies before it, oldest first (a
    // first run over `NAME.2.gz NAME.1 NAME` reads one log); a rotated copy whose log
    // is not there is a log of its own.
    let new: Vec<usize> = (0..probes.len())
        .filter(|&i| !claimed[i] && !probes[i].head.is_empty() && !copy(&probes[i]))
        .collect();
    let copy_of = |i: usize| {
        new.iter()
            .find_map(|&j| rotated_age(&probes[i].name, &probes[j].name).map(|a| (j, a)))
    };
    let mut copies: Vec<(usize, RotatedAge, usize)> = new
        .iter()
        .filter_map(|&i| copy_of(i).map(|(j, a)| (j, a, i)))
        .collect();
    copies.sort();
    for &i in new.iter().filter(|&&i| copy_of(i).is_none()) {
        let steps = copies
            .iter()
            .filter(|c| c.0 == i)
            .map(|c| c.2)
            .chain([i])
            .map(|probe| Step {
                probe,
                tracked: None,
                from: 0,
            })
            .collect();
        plans.push(LogPlan {
            stream: None,
            steps,
            lost_tail: false,
        });
    }
    plans
}

/// How old a rotated copy is among its log's copies: a higher number is older
/// (`NAME.2` before `NAME.1`), a suffix that sorts first is older (`NAME-20261130`
/// before `NAME-20261201`).
type RotatedAge = (u8, std::cmp::Reverse<u64>, String);

/// The age of `name` as a rotated copy of log `log`, `None` when it is not one.
fn rotated_age(name: &str, log: &str) -> Option<RotatedAge> {
    let rest = name.strip_prefix(log)?;
    let rest = [".gz", ".zst", ".bz2", ".xz", ".lz4"]
        .iter()
        .find_map(|c| rest.strip_suffix(c))
        .unwrap_or(rest);
    if let Some(n) = rest.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
        return Some((0, std::cmp::Reverse(n), String::new()));
    }
    let dated = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix('_'))
        .or_else(|| rest.strip_prefix('.'))
        .filter(|s| !s.is_empty() && s.bytes().any(|b| b.is_ascii_digit()));
    dated.map(|s| (1, std::cmp::Reverse(0), s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::rotated_age;

    #[test]
    fn rotated_copies_are_ordered_oldest_first() {
        let log = "logs/postgresql.log";
        let mut names = [
            "logs/postgresql.log.1",
            "logs/postgresql.log.3.gz",
            "logs/postgresql.log.2",
        ];
        names.sort_by_key(|n| rotated_age(n, log).expect("rotated"));
        assert_eq!(names[0], "logs/postgresql.log.3.gz");
        assert_eq!(names[2], "logs/postgresql.log.1");
        assert!(rotated_age("logs/postgresql.log-20261130.gz", log).is_some());
        assert!(rotated_age("logs/postgresql.log", log).is_none());
        assert!(rotated_age("logs/other.log.1", log).is_none());
        assert!(rotated_age("logs/postgresql.log.old", log).is_none());
    }
}
