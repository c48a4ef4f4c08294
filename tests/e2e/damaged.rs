//! Damaged inputs: a log whose last entry never ends (NUL bytes after a crash) and
//! compressed logs cut short. What could be read is read; the damage is reported
//! with where it is; the exit code follows the verdict rules.
//!
//! Expected figures come from the logs themselves, counted here with the rule of
//! testdata/expected.sh (a regex over the lines), and from decoding the cut files
//! with the compression crates directly, never from pgferret.

use crate::util::{log, pgferret};
use regex::bytes::Regex;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};

/// Statements with a duration, as testdata/expected.sh counts them: a line that does
/// not start with TAB whose first `LOG:  ` (after a blank, colon or bracket) is
/// followed by `duration: X ms  statement: ` or `... execute NAME: `.
fn statements(text: &[u8]) -> u64 {
    let log = Regex::new(r"[\] :]LOG:  ").unwrap();
    let stmt =
        Regex::new(r"^(?:[0-9A-Z]{5}: )?duration: [0-9.]+ ms  (?:statement|execute [^:]*): ")
            .unwrap();
    text.split(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"\t"))
        .filter(|l| log.find(l).is_some_and(|m| stmt.is_match(&l[m.end()..])))
        .count() as u64
}

fn lines(text: &[u8]) -> u64 {
    let n = text.iter().filter(|&&b| b == b'\n').count() as u64;
    n + u64::from(!text.is_empty() && !text.ends_with(b"\n"))
}

/// Runs pgferret on `path` (or on stdin fed from it) with a JSON report.
fn run(path: &Path, stdin: bool, extra: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut cmd = pgferret();
    cmd.args(extra).args(["-q", "-o", out.to_str().unwrap()]);
    if stdin {
        cmd.arg("-")
            .stdin(Stdio::from(std::fs::File::open(path).unwrap()));
    } else {
        cmd.arg(path).stdin(Stdio::null());
    }
    let o = cmd.output().unwrap();
    let report = std::fs::read(&out)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (o, report)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The exit code the verdict rules give an input read to its end: 3 when more than
/// 1% of its lines were skipped (src/verdict.rs), else 0.
fn exit_for(skipped: u64, lines: u64) -> i32 {
    if skipped as f64 > lines as f64 * 0.01 {
        3
    } else {
        0
    }
}

/// 50 real lines, then 3 MB of NUL bytes that never end the entry, as a log ends
/// after a crash: the same statements as the 50 lines alone; the cut reported at
/// the line of the NULs; one line of 51 skipped is more than 1%: exit 3. As a mapped
/// file, a gzip file and gzip on stdin alike.
#[test]
fn an_entry_that_never_ends_is_cut_and_the_lines_before_it_counted() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let head: Vec<u8> = real
        .split_inclusive(|&b| b == b'\n')
        .take(50)
        .flatten()
        .copied()
        .collect();
    let mut data = head.clone();
    data.resize(head.len() + (3 << 20), 0);
    let want = statements(&head);
    assert!(want > 0);
    let (all_lines, skipped) = (lines(&data), 1);
    assert_eq!(all_lines, 51);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("crash.log");
    std::fs::write(&plain, &data).unwrap();
    let gz = dir.path().join("crash.log.gz");
    std::fs::write(&gz, gzip(&data)).unwrap();
    for (path, stdin) in [(&plain, false), (&gz, false), (&gz, true)] {
        let (o, r) = run(path, stdin, &["--max-entry", "1MB"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(exit_for(skipped, all_lines)), "{err}");
        assert_eq!(r["totals"]["statements"], want, "{path:?} stdin {stdin}");
        assert_eq!(r["inputs"][0]["lines"], all_lines);
        assert_eq!(r["inputs"][0]["skipped_lines"], skipped);
        let name = if stdin {
            "-".to_string()
        } else {
            path.display().to_string()
        };
        let cut = format!("{name}:51: an entry longer than --max-entry was cut there; the ");
        assert!(err.contains(&cut), "{err}");
    }
}

/// NULs in the middle of a log, then the rest of it: the run goes on after the cut
/// and counts every statement of the whole log; one skipped line of 14,200 is under
/// the 1% rule: exit 0.
#[test]
fn the_run_goes_on_after_an_over_long_entry() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let all: Vec<&[u8]> = real.split_inclusive(|&b| b == b'\n').collect();
    // Split before a statement line, so no entry is torn apart.
    let at = (all.len() / 2..all.len())
        .find(|&i| statements(all[i]) == 1)
        .unwrap();
    let mut data: Vec<u8> = all[..at].concat();
    data.extend(std::iter::repeat_n(0u8, 3 << 20));
    data.push(b'\n');
    data.extend(all[at..].concat());
    let want = statements(&real);
    assert_eq!(
        want,
        crate::util::expected("a2_debian")["duration_statements"]
    );
    let all_lines = lines(&data);
    assert_eq!(all_lines, lines(&real) + 1);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("hole.log");
    std::fs::write(&plain, &data).unwrap();
    let gz = dir.path().join("hole.log.gz");
    std::fs::write(&gz, gzip(&data)).unwrap();
    for (path, stdin) in [(&plain, false), (&gz, false), (&gz, true)] {
        let (o, r) = run(path, stdin, &["--max-entry", "1MB", "--jobs", "2"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(exit_for(1, all_lines)), "{err}");
        assert_eq!(r["totals"]["statements"], want, "{path:?} stdin {stdin}");
        assert_eq!(r["inputs"][0]["lines"], all_lines);
        assert_eq!(r["inputs"][0]["skipped_lines"], 1);
        assert!(
            err.contains(&format!(":{}: an entry longer", at + 1)),
            "{err}"
        );
    }
}

/// A compressed file cut in the middle, in each format.
fn compressed(ext: &str, data: &[u8]) -> Vec<u8> {
    match ext {
        "gz" => gzip(data),
        "zst" => zstd::encode_all(data, 3).unwrap(),
        "bz2" => {
            // 100 kB blocks, so half the file holds complete blocks to decode.
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(1));
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

/// What the format's own decoder gives of `cut` before it fails.
fn decoded_prefix(ext: &str, cut: &[u8]) -> Vec<u8> {
    let mut r: Box<dyn Read> = match ext {
        "gz" => Box::new(flate2::read::MultiGzDecoder::new(cut)),
        "zst" => Box::new(zstd::stream::read::Decoder::new(cut).unwrap()),
        "bz2" => Box::new(bzip2::read::MultiBzDecoder::new(cut)),
        "xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(cut)),
        _ => unreachable!(),
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// A real log compressed in each format and cut in half, as a file still being
/// written or an interrupted copy: the statements of the complete lines decoded
/// before the cut are counted, the verdict names the byte where decoding failed,
/// exit 3.
#[test]
fn a_compressed_log_cut_in_half_keeps_what_decoded() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["gz", "zst", "bz2", "xz"] {
        let whole = compressed(ext, &real);
        let cut = &whole[..whole.len() / 2];
        let prefix = decoded_prefix(ext, cut);
        let complete = &prefix[..prefix.iter().rposition(|&b| b == b'\n').unwrap() + 1];
        assert!(
            complete.len() > real.len() / 10,
            "{ext}: {}",
            complete.len()
        );
        assert_eq!(complete, &real[..complete.len()]);
        let want = statements(complete);
        let path = dir.path().join(format!("postgresql.log.{ext}"));
        std::fs::write(&path, cut).unwrap();
        for stdin in [false, true] {
            let (o, r) = run(&path, stdin, &[]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(3), "{ext}: {err}");
            assert_eq!(
                r["totals"]["statements"], want,
                "{ext} stdin {stdin}: {err}"
            );
            assert_eq!(r["inputs"][0]["lines"], lines(complete), "{ext}");
            assert_eq!(r["inputs"][0]["skipped_lines"], 0, "{ext}: {err}");
            assert_eq!(r["inputs"][0]["verdict"], "partial", "{ext}");
            let at = format!(
                "read up to byte {} of the compressed file, then truncated",
                cut.len()
            );
            assert!(err.contains(&at), "{ext}: {err}");
        }
    }
}

/// Corrupt bytes in the middle of a gzip file: the verdict says the compressed data
/// is corrupt (deflate may decode damaged bytes for a while: the gzip checksum is
/// what tells, so the byte named is where decoding stopped, at or after the damage);
/// the lines decoded before the damage are counted.
#[test]
fn a_corrupt_gzip_is_read_up_to_the_damage() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let mut gz = gzip(&real);
    let at = gz.len() / 2;
    gz[at..at + 200].fill(0xff);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.log.gz");
    std::fs::write(&path, &gz).unwrap();
    let (o, r) = run(&path, false, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(r["inputs"][0]["verdict"], "partial");
    let said = regex::Regex::new(r"read up to byte (\d+) of the compressed file, then corrupt")
        .unwrap()
        .captures(&err)
        .unwrap_or_else(|| panic!("{err}"))[1]
        .parse::<usize>()
        .unwrap();
    assert!(
        said >= at && said <= gz.len(),
        "byte {said}, damage at {at}"
    );
    // Every statement of the lines decoded intact before the damage is counted.
    let decoded = decoded_prefix("gz", &gz);
    let same = decoded
        .iter()
        .zip(&real)
        .take_while(|(a, b)| a == b)
        .count();
    let clean = &real[..real[..same].iter().rposition(|&b| b == b'\n').unwrap() + 1];
    assert!(clean.len() > real.len() / 4);
    let n = r["totals"]["statements"].as_u64().unwrap();
    assert!(n >= statements(clean) && n <= statements(&real), "{n}");
}

/// The complete lines of what the zstd crate's own streaming decoder gets out of
/// `z` before it fails, and the compressed file's figures on those lines alone.
fn zstd_before_damage(z: &[u8]) -> Vec<u8> {
    let prefix = decoded_prefix("zst", z);
    prefix[..prefix.iter().rposition(|&b| b == b'\n').unwrap() + 1].to_vec()
}

/// Runs a damaged multi-frame zstd file and checks what it keeps: exactly the
/// complete lines decoded before the damage (the figures of a plain file holding
/// them), exit 3, and a warning naming the byte where decoding stopped, in
/// `lo..=hi`, corrupt or truncated.
fn damaged_frames_keep_what_decoded(z: &[u8], lo: usize, hi: usize, how: &str) {
    let complete = zstd_before_damage(z);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("prefix.log");
    std::fs::write(&plain, &complete).unwrap();
    let path = dir.path().join("postgresql.log.zst");
    std::fs::write(&path, z).unwrap();
    let (_, whole) = run(&plain, false, &[]);
    let re = format!(r"read up to byte (\d+) of the compressed file, then {how}");
    let re = regex::Regex::new(&re).unwrap();
    for args in [&["-j", "1"][..], &["-j", "2", "--chunk-size", "5000"]] {
        let (o, r) = run(&path, false, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        let input = &r["inputs"][0];
        assert_eq!(input["verdict"], "partial", "{err}");
        assert_eq!(input["lines"], lines(&complete), "{args:?}: {err}");
        assert_eq!(input["bytes"], complete.len(), "{args:?}");
        assert_eq!(r["totals"], whole["totals"], "{args:?}");
        let at: usize = re.captures(&err).unwrap_or_else(|| panic!("{err}"))[1]
            .parse()
            .unwrap();
        assert!(lo <= at && at <= hi, "byte {at} not in {lo}..={hi}: {err}");
    }
}

/// A corrupt frame in the middle of a multi-frame zstd file (decoded in parallel):
/// the frames before it and what the broken frame decodes before its damage are
/// kept, nothing after; the warning names a byte inside the broken frame.
#[test]
fn a_corrupt_frame_in_a_multi_frame_zstd_keeps_what_came_before() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let every = real.len() / 9 + 3;
    let head = crate::util::zstd_frames(&real[..every * 4], every);
    let mut bad = crate::util::zstd_frames(&real[every * 4..every * 5], every);
    let mid = bad.len() / 2;
    bad[mid..mid + 200].fill(0xff);
    let tail = crate::util::zstd_frames(&real[every * 5..], every);
    let z = [&head[..], &bad[..], &tail[..]].concat();
    let complete = zstd_before_damage(&z);
    assert!(complete.len() >= every * 4 - 1000 && complete.len() < every * 5);
    assert_eq!(complete, &real[..complete.len()]);
    damaged_frames_keep_what_decoded(&z, head.len(), head.len() + bad.len(), "corrupt");
}

/// A multi-frame zstd file cut inside its last frame, as a copy interrupted: every
/// frame before is kept and the warning names the file's end, truncated.
#[test]
fn a_multi_frame_zstd_cut_in_its_last_frame_keeps_the_frames_before() {
    let real = std::fs::read(log("a2_debian")).unwrap();
    let every = real.len() / 7 + 5;
    let z = crate::util::zstd_frames(&real, every);
    // The same frames but the last: the last one starts where they end.
    let before = crate::util::zstd_frames(&real[..every * 6], every);
    assert!(z.starts_with(&before));
    let cut = &z[..(before.len() + z.len()) / 2];
    let complete = zstd_before_damage(cut);
    assert!(complete.len() > real.len() / 2 && complete.len() < real.len());
    damaged_frames_keep_what_decoded(cut, cut.len(), cut.len(), "truncated");
}
