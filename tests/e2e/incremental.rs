//! `--state DIR`: a real log fed to successive incremental runs the way a server and
//! logrotate write it (appends cut anywhere, even mid-line; rename and a new file;
//! copytruncate; gzip of the old file, with and without bytes the last run did not
//! see): the last report's JSON equals, byte for byte but for its `run` key, one run
//! over the whole log at the same path. Runs killed with SIGKILL at random points
//! change nothing. A directory in use or used with other options is refused.

use crate::util::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// A small seeded generator (xorshift64*): random but replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The byte offsets where the log's entries start: a line not indented by a tab, and
/// not the DETAIL, HINT, STATEMENT... of the message before it (a server writes a
/// message and those lines at once, so a file is never rotated between them).
fn entry_starts(log: &[u8]) -> Vec<usize> {
    const AUX: [&[u8]; 6] = [
        b" DETAIL:  ",
        b" HINT:  ",
        b" STATEMENT:  ",
        b" CONTEXT:  ",
        b" QUERY:  ",
        b" LOCATION:  ",
    ];
    let mut out = vec![0];
    let mut at = 0;
    for line in log.split_inclusive(|&b| b == b'\n') {
        let head = &line[..line.len().min(200)];
        let aux = AUX.iter().any(|a| head.windows(a.len()).any(|w| w == *a));
        if at > 0 && !line.starts_with(b"\t") && !aux {
            out.push(at);
        }
        at += line.len();
    }
    out
}

/// `n - 1` sorted distinct cuts taken from `at` past the first quarter of the log
/// (the first run infers the prefix from what it sees, as a run over the whole log
/// does from its sample: it needs a few thousand lines), and `len`.
fn cuts(at: &[usize], len: usize, n: usize, rng: &mut Rng) -> Vec<usize> {
    let at: Vec<usize> = at.iter().copied().filter(|&a| a >= len / 4).collect();
    let mut c: Vec<usize> = (0..n - 1).map(|_| at[rng.below(at.len())]).collect();
    c.push(len);
    c.sort_unstable();
    c.dedup();
    c
}

/// A scenario: the logs directory as the server and logrotate leave it, and the
/// state directory, under one root; pgferret runs in the root so inputs are named
/// `logs/...` as in the reference run.
struct Scene {
    root: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("logs")).expect("logs");
        Scene { root }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join("logs").join(name)
    }
    fn append(&self, name: &str, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .expect("open log");
        f.write_all(bytes).expect("append");
    }
    fn rename(&self, from: &str, to: &str) {
        std::fs::rename(self.path(from), self.path(to)).expect("rename");
    }
    /// logrotate's copytruncate: the file copied to `to`, then truncated in place.
    fn copytruncate(&self, name: &str, to: &str) {
        std::fs::copy(self.path(name), self.path(to)).expect("copy");
        std::fs::OpenOptions::new()
            .write(true)
            .open(self.path(name))
            .and_then(|f| f.set_len(0))
            .expect("truncate");
    }
    /// gzip NAME: NAME.gz written, NAME removed.
    fn gzip(&self, name: &str) {
        let data = std::fs::read(self.path(name)).expect("read");
        let out = std::fs::File::create(self.path(&format!("{name}.gz"))).expect("gz");
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        gz.write_all(&data).expect("gzip");
        gz.finish().expect("gzip end");
        std::fs::remove_file(self.path(name)).expect("rm");
    }
    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = pgferret();
        cmd.current_dir(self.root.path())
            .args(["logs/", "--state", "state", "-q", "-o", "r.json"])
            .args(extra);
        cmd
    }
    /// An incremental run; the report's JSON.
    fn run(&self) -> String {
        let o = self.command(&[]).output().expect("run");
        assert!(
            o.status.success(),
            "incremental run: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(self.root.path().join("r.json")).expect("report")
    }
}

/// One run over `log` written whole at logs/postgresql.log: the reference.
fn reference(log: &[u8]) -> String {
    let scene = Scene::new();
    scene.append("postgresql.log", log);
    let o = pgferret()
        .current_dir(scene.root.path())
        .args(["logs/", "-q", "-o", "r.json"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(scene.root.path().join("r.json")).expect("report")
}

/// The JSON text with its `run` object cut out (elapsed time, threads).
fn cut_run(json: &str) -> String {
    let start = json.find("\n  \"run\": {").expect("run key");
    let end = start + json[start..].find("\n  },").expect("end of run") + "\n  },".len();
    format!("{}{}", &json[..start], &json[end..])
}

fn assert_same(got: &str, want: &str, what: &str) {
    let (got, want) = (cut_run(got), cut_run(want));
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let show = |s: &str| {
            s.lines()
                .skip(line.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{what}: the incremental report differs from one run over the whole log at line {line}:\n--- incremental\n{}\n--- one run\n{}",
            show(&got),
            show(&want)
        );
    }
}

fn corpus_log(name: &str) -> Vec<u8> {
    std::fs::read(log(name)).expect("corpus log")
}

#[test]
fn appends_cut_anywhere_give_one_runs_report_at_every_step() {
    let whole = corpus_log("a6_logstatement_all");
    let mut rng = Rng(7);
    let scene = Scene::new();
    // Cut at any byte, mid-line included: the last entry is held back each time.
    let mut c: Vec<usize> = (0..4).map(|_| 1 + rng.below(whole.len() - 1)).collect();
    c.push(whole.len());
    c.sort_unstable();
    c.dedup();
    let mut from = 0;
    for &to in &c {
        scene.append("postgresql.log", &whole[from..to]);
        from = to;
        let got = scene.run();
        assert_same(&got, &reference(&whole[..to]), &format!("after byte {to}"));
    }
    // A run with nothing new gives the same report.
    assert_same(&scene.run(), &reference(&whole), "nothing new");
}

/// Feeds `whole` in steps; `rotate(scene, step)` acts between steps (after the
/// appends of that step were run, or not, as `seen` says).
fn rotation(name: &str, seed: u64, rotate: impl Fn(&Scene, usize)) {
    let whole = corpus_log(name);
    let mut rng = Rng(seed);
    let c = cuts(&entry_starts(&whole), whole.len(), 7, &mut rng);
    let scene = Scene::new();
    let mut from = 0;
    for (step, &to) in c.iter().enumerate() {
        // The first entry of each step is seen by a run before the rotation (every
        // other step), the rest not; the first run sees the whole first step.
        let second = entry_starts(&whole[from..to]).get(1).map(|&m| from + m);
        let mid = second.filter(|_| step > 0).unwrap_or(to);
        scene.append("postgresql.log", &whole[from..mid]);
        if step % 2 == 0 {
            scene.run();
        }
        scene.append("postgresql.log", &whole[mid..to]);
        from = to;
        if step + 1 < c.len() {
            rotate(&scene, step);
        }
        if step % 3 == 1 {
            scene.run();
        }
    }
    assert_same(&scene.run(), &reference(&whole), name);
}

/// logrotate's numbered copies: NAME.(n) → NAME.(n+1), newest first.
fn shift(scene: &Scene, step: usize) {
    for n in (1..=step + 1).rev() {
        for ext in ["", ".gz"] {
            let from = format!("postgresql.log.{n}{ext}");
            if scene.path(&from).exists() {
                scene.rename(&from, &format!("postgresql.log.{}{ext}", n + 1));
            }
        }
    }
}

#[test]
fn rename_and_new_file_rotation() {
    rotation("c_incident", 11, |scene, step| {
        shift(scene, step);
        scene.rename("postgresql.log", "postgresql.log.1");
        scene.append("postgresql.log", b"");
    });
}

#[test]
fn rename_rotation_with_gzip_of_the_old_file() {
    rotation("c_incident", 12, |scene, step| {
        shift(scene, step);
        scene.rename("postgresql.log", "postgresql.log.1");
        // compress (no delaycompress): the copy the last run may not have finished.
        scene.gzip("postgresql.log.1");
        scene.append("postgresql.log", b"");
    });
}

#[test]
fn rename_rotation_with_delaycompress() {
    rotation("d_multiline", 13, |scene, step| {
        if scene.path("postgresql.log.1").exists() {
            shift(scene, step);
            scene.gzip("postgresql.log.2");
        }
        scene.rename("postgresql.log", "postgresql.log.1");
    });
}

#[test]
fn copytruncate_rotation() {
    rotation("c_incident", 14, |scene, step| {
        shift(scene, step);
        scene.copytruncate("postgresql.log", "postgresql.log.1");
    });
}

#[test]
fn copytruncate_rotation_with_gzip() {
    rotation("a6_logstatement_all", 15, |scene, step| {
        shift(scene, step);
        scene.copytruncate("postgresql.log", "postgresql.log.1");
        scene.gzip("postgresql.log.1");
    });
}

/// Runs killed with SIGKILL after a seeded random delay, at every step of a rotating
/// log, then run again to the end: the result is exact whatever the kills hit
/// (parse, partial files, manifest, sweep).
#[test]
fn runs_killed_at_random_points_change_nothing() {
    let whole = corpus_log("c_incident");
    for seed in [21u64, 22, 23] {
        let mut rng = Rng(seed);
        let c = cuts(&entry_starts(&whole), whole.len(), 4, &mut rng);
        let scene = Scene::new();
        let mut from = 0;
        for (step, &to) in c.iter().enumerate() {
            scene.append("postgresql.log", &whole[from..to]);
            from = to;
            for _ in 0..3 {
                let mut child = scene.command(&[]).spawn().expect("spawn");
                let ms = rng.below(1500) as u64;
                std::thread::sleep(std::time::Duration::from_millis(ms));
                let _ = child.kill();
                let _ = child.wait();
            }
            if step + 1 < c.len() && step % 2 == 1 {
                scene.rename("postgresql.log", "postgresql.log.1");
            }
        }
        assert_same(&scene.run(), &reference(&whole), &format!("seed {seed}"));
        let left: Vec<String> = std::fs::read_dir(scene.root.path().join("state"))
            .expect("state dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(
            left.is_empty(),
            "seed {seed}: temporary files left: {left:?}"
        );
    }
}

#[test]
fn a_directory_in_use_is_refused_with_exit_2() {
    let scene = Scene::new();
    scene.append("postgresql.log", &corpus_log("a6_logstatement_all"));
    scene.run();
    let lock = std::fs::File::open(scene.root.path().join("state/lock")).expect("lock");
    let held = pgferret::incremental::dir::try_flock(&lock).expect("flock");
    assert!(held, "the test takes the lock");
    let o = scene.command(&[]).output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("another pgferret run is using this directory"),
        "{err}"
    );
}

#[test]
fn a_directory_started_with_other_options_is_refused() {
    let scene = Scene::new();
    scene.append("postgresql.log", &corpus_log("a6_logstatement_all"));
    scene.run();
    let o = scene.command(&["--window", "1m"]).output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the directory was started with"), "{err}");
    let o = pgferret()
        .current_dir(scene.root.path())
        .args(["-", "--state", "state"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
}

/// `--state` with `--outdir`, as the nightly cron line runs it: c_incident fed in
/// steps with a rename rotation after each, `--tz=-04:43` putting local midnight
/// inside the log (two days, so steps straddle it); at the end every day, week and
/// month JSON in the outdir equals, but for its `run` key, that of one `--outdir` run
/// over the whole log at the same path.
#[test]
fn state_with_outdir_gives_one_runs_day_week_and_month_reports() {
    let whole = corpus_log("c_incident");
    let mut rng = Rng(21);
    let starts = entry_starts(&whole);
    let mut c = cuts(&starts, whole.len(), 5, &mut rng);
    // Two runs stop before local midnight (04:43 UTC), after the first run has seen
    // enough to infer the prefix: the first day is read in three parts.
    let at = |i: usize| String::from_utf8_lossy(&whole[i..i + 19]).into_owned();
    for t in ["2026-11-24 04:42:30", "2026-11-24 04:42:50"] {
        c.extend(starts.iter().find(|&&i| at(i).as_str() >= t));
    }
    c.sort_unstable();
    c.dedup();
    let first_day = c
        .iter()
        .filter(|&&i| i < whole.len() && at(i).as_str() < "2026-11-24 04:43:00");
    assert_eq!(first_day.count(), 2, "{c:?}");
    let run = |root: &std::path::Path, state: bool| {
        let o = outdir_command(root, state).output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let scene = Scene::new();
    let mut from = 0;
    for (step, &to) in c.iter().enumerate() {
        scene.append("postgresql.log", &whole[from..to]);
        from = to;
        run(scene.root.path(), true);
        if step + 1 < c.len() {
            shift(&scene, step);
            scene.rename("postgresql.log", "postgresql.log.1");
            scene.append("postgresql.log", b"");
        }
    }
    let one = Scene::new();
    one.append("postgresql.log", &whole);
    run(one.root.path(), false);
    let n = assert_same_outdir(scene.root.path(), one.root.path());
    assert_eq!(n, 4, "two days, a week and a month");
    // The days' zone is the directory's: another --tz is refused, and so is a run
    // without --outdir.
    for extra in [
        &["--tz=+01:00", "--outdir", "out"][..],
        &["-o", "r.json"][..],
    ] {
        let o = pgferret()
            .current_dir(scene.root.path())
            .args(["logs/", "-q", "--state", "state"])
            .args(extra)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--outdir days in -04:43"), "{extra:?}: {err}");
    }
}

/// `logs/ -q --tz=-04:43 --outdir out`, with `--state state` when `state`, in `root`.
fn outdir_command(root: &std::path::Path, state: bool) -> Command {
    let mut cmd = pgferret();
    cmd.current_dir(root)
        .args(["logs/", "-q", "--tz=-04:43", "--outdir", "out"]);
    if state {
        cmd.args(["--state", "state"]);
    }
    cmd
}

/// Every day, week and month JSON of `root/out` equals that of `want/out`, but for
/// the `run` key and the inputs' `bytes`; returns how many there are.
fn assert_same_outdir(root: &std::path::Path, want: &std::path::Path) -> usize {
    let mut n = 0;
    for sub in ["day", "week", "month"] {
        let want_dir = want.join("out").join(sub);
        let got_dir = root.join("out").join(sub);
        let names = |d: &std::path::Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .expect("outdir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&got_dir), names(&want_dir), "{sub}");
        for name in names(&want_dir) {
            // An input's `bytes` is its size when the period was last written: a day
            // the later runs did not touch was written before the log grew.
            let read = |d: &std::path::Path| {
                let json = std::fs::read_to_string(d.join(&name)).expect("json");
                let mut lines: Vec<&str> = json.lines().collect();
                lines.retain(|l| !l.starts_with("      \"bytes\": "));
                lines.join("\n")
            };
            assert_same(&read(&got_dir), &read(&want_dir), &format!("{sub}/{name}"));
            n += 1;
        }
    }
    n
}

/// `--state` with `--outdir`, runs killed with SIGKILL after a seeded random delay at
/// every step (parse, the outdir's files, the state's commit), then run to the end: the
/// outdir equals one `--outdir` run's.
#[test]
fn state_with_outdir_runs_killed_at_random_points_change_nothing() {
    let whole = corpus_log("c_incident");
    let one = Scene::new();
    one.append("postgresql.log", &whole);
    let o = outdir_command(one.root.path(), false)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rng = Rng(31);
    let starts = entry_starts(&whole);
    let mut c = cuts(&starts, whole.len(), 4, &mut rng);
    c.extend(
        starts
            .iter()
            .find(|&&i| &whole[i..i + 19] >= b"2026-11-24 04:42:30".as_slice()),
    );
    c.sort_unstable();
    c.dedup();
    let scene = Scene::new();
    let mut from = 0;
    for (step, &to) in c.iter().enumerate() {
        scene.append("postgresql.log", &whole[from..to]);
        from = to;
        for _ in 0..3 {
            let mut child = outdir_command(scene.root.path(), true)
                .spawn()
                .expect("spawn");
            let ms = rng.below(1500) as u64;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let _ = child.kill();
            let _ = child.wait();
        }
        if step == 0 {
            // The log's first run completes on the first step, so its prefix is
            // inferred from that step as in the test above (a first run whose log was
            // rotated meanwhile reads it from the rotated copy: not tested here).
            let o = outdir_command(scene.root.path(), true)
                .output()
                .expect("run");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        if step + 1 < c.len() && step % 2 == 1 {
            if scene.path("postgresql.log.1").exists() {
                // This rotation deletes the older copy: a run must have read its end
                // first, else its unread bytes are gone for good (a loaded machine kills
                // every run above before it commits; tested apart below).
                let o = outdir_command(scene.root.path(), true)
                    .output()
                    .expect("run");
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
            scene.rename("postgresql.log", "postgresql.log.1");
        }
    }
    let o = outdir_command(scene.root.path(), true)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(assert_same_outdir(scene.root.path(), one.root.path()), 4);
}

/// A file deleted before a run read its end (a rotation that keeps no copy, or one
/// that replaced the copy the last run had not finished): its unread bytes are gone.
/// The run says so: the log's verdict is partial, exit 3, and every later report of the
/// log still says it (the bytes stay missing); what was read is all there.
#[test]
fn a_file_gone_before_its_end_was_read_makes_the_report_partial() {
    let whole = corpus_log("a1_pgbadger");
    let starts = entry_starts(&whole);
    let third = starts.len() / 3;
    let (a, b) = (starts[third], starts[2 * third]);
    let scene = Scene::new();
    scene.append("postgresql.log", &whole[..a]);
    scene.run();
    scene.append("postgresql.log", &whole[a..b]);
    std::fs::remove_file(scene.path("postgresql.log")).expect("rm");
    scene.append("postgresql.log", &whole[b..]);
    let json_of = |o: &std::process::Output| -> serde_json::Value {
        let text = std::fs::read_to_string(scene.root.path().join("r.json")).expect("report");
        assert!(!text.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_str(&text).expect("json")
    };
    let o = scene.command(&[]).output().expect("run");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("the file read last time is gone"));
    let j = json_of(&o);
    assert_eq!(j["inputs"][0]["verdict"], "partial", "{}", j["inputs"][0]);
    assert!(j["inputs"][0]["verdict_note"]
        .as_str()
        .is_some_and(|n| n.contains("was gone")));
    // Statements: those of the bytes read (grep over the two parts), not the lost ones;
    // the first run held back its last entry (it may still grow): lost with the file.
    let held_back = starts[third - 1];
    let count = |bytes: &[u8]| {
        bytes
            .split(|&c| c == b'\n')
            .filter(|l| l.windows(10).any(|w| w == b"duration: "))
            .count() as u64
    };
    let want = count(&whole[..held_back]) + count(&whole[b..]);
    assert!(want > 0 && want < count(&whole));
    assert_eq!(j["totals"]["statements"], want, "{}", j["totals"]);
    // The next run reads nothing new: still partial.
    let o = scene.command(&[]).output().expect("run");
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json_of(&o)["inputs"][0]["verdict"], "partial");
}
