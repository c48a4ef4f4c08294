//! The compiled first try as straight-line code, for the shape most prefixes have:
//! an optional literal, the time (`%t` or `%m`), a literal, the process id, a
//! literal, optionally a line or transaction number and a literal, then free-text
//! values each ended by a literal (`%t [%p-%l] %q%u@%d `, `%m [%p] `,
//! `%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h `).
//!
//! It reads what [`Prefix::match_ops`](super::Prefix) reads, step for step, without
//! the per-step dispatch: the literals of the head are compared as masked words, the
//! process id is read a word at a time, and the time field is reused from the
//! [`TimeCache`] on its bytes when the literal after it starts with a byte that cannot
//! continue a zone. Its answer (a match, or none) is the compiled steps' (tests
//! compare both, and the general matcher, on every line of the real logs and on
//! mutated lines); where a time taken on trust leads nowhere, it cannot tell and the
//! caller asks the compiled steps.
//!
//! For `%t`, most lines start with the bytes of the line the matcher matched last,
//! up to the end of its free-text values (`2026-11-24 04:41:22 UTC [27315-1110]
//! app_rw@bench `), but for the digits of `%l`: where that head fits in 64 bytes
//! it is remembered ([`LineSeen`]), with the fields read there, and such a line is
//! read by four masked word comparisons and a check that the number's bytes are
//! digits; only its severity is read as the steps read it.

use super::{
    bytes_equal, digit_flags, digit_run, find_lit, free_text_value, has_at, read_pid, Esc, Fields,
    Op, Severity, Step,
};
use crate::parse::time::{ends_zone, LineSeen, Parsed, TimeCache};
use std::sync::atomic::{AtomicU64, Ordering};

/// The straight-line matcher's answer for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// The compiled steps match: the severity and where the message starts.
    Match(Severity, usize),
    /// The compiled steps do not match.
    NoMatch,
    /// Ask the compiled steps.
    Unsure,
}

/// A literal of 1 to 16 bytes, compared as one masked word (8 bytes for the short
/// ones, else 16) where the line has that many bytes at that place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lit {
    word: u128,
    mask: u128,
    bytes: Box<[u8]>,
}

impl Lit {
    fn new(bytes: &[u8]) -> Option<Lit> {
        if bytes.is_empty() || bytes.len() > 16 {
            return None;
        }
        let mut word = [0u8; 16];
        word[..bytes.len()].copy_from_slice(bytes);
        let mask = if bytes.len() == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * bytes.len())) - 1
        };
        Some(Lit {
            word: u128::from_le_bytes(word),
            mask,
            bytes: bytes.into(),
        })
    }

    /// True when the literal occurs in `line` at `pos`.
    #[inline(always)]
    fn at(&self, line: &[u8], pos: usize) -> bool {
        // One length check for both widths: most lines go on well past a literal.
        if let Some(w) = line.get(pos..).and_then(|r| r.first_chunk::<16>()) {
            return if self.bytes.len() <= 8 {
                let (w, _) = w.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
                (u64::from_le_bytes(*w) ^ self.word as u64) & self.mask as u64 == 0
            } else {
                (u128::from_le_bytes(*w) ^ self.word) & self.mask == 0
            };
        }
        has_at(line, pos, &self.bytes)
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// A free-text value and the literal that ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text {
    esc: Esc,
    padded: bool,
    then: Box<[u8]>,
    then_len: usize,
    /// Where the value goes.
    slot: Slot,
    /// A one-byte literal's byte in every byte of a word; 0 for longer ones.
    byte_word: u64,
}

/// Where a free-text value is stored: the plain ones (neither padded nor a host,
/// stored as they are) by name, the others through `free_text_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    User,
    Db,
    App,
    Other,
}

/// Tags of straight-line matchers, one per compiled prefix (0: none).
static TAGS: AtomicU64 = AtomicU64::new(1);

/// See the module documentation.
#[derive(Debug, Clone)]
pub(super) struct Fast {
    /// This matcher's own tag, under which it remembers a line's head in a
    /// [`TimeCache`] (its clones share it: they read lines the same way).
    tag: u64,
    /// A literal before the time.
    lead: Option<Lit>,
    /// `%m` rather than `%t`.
    frac: bool,
    after_time: Lit,
    /// The literal after the time starts with a byte that cannot continue a zone.
    time_then_ends_zone: bool,
    after_pid: Lit,
    /// `%l` or `%x`, and the literal after it.
    number: Option<Lit>,
    /// One to four free-text values: remembered as they were read in a
    /// [`TimeCache`] (`texts`), where they end within 32 bytes.
    texts_seen: bool,
    texts: Box<[Text]>,
}

impl Fast {
    /// The straight-line form of `steps`, when they have its shape.
    pub(super) fn compile(steps: &[Step]) -> Option<Fast> {
        let mut steps = steps.iter().peekable();
        let lead = match steps.peek() {
            Some(Step {
                op: Op::Lit, then, ..
            }) => {
                let l = Lit::new(then)?;
                steps.next();
                Some(l)
            }
            _ => None,
        };
        let (frac, after_time) = match steps.next()? {
            Step {
                op: Op::Time { frac },
                then,
                ..
            } => (*frac, Lit::new(then)?),
            _ => return None,
        };
        let after_pid = match steps.next()? {
            Step {
                op: Op::Pid, then, ..
            } => Lit::new(then)?,
            _ => return None,
        };
        let number = match steps.peek() {
            Some(Step {
                op: Op::Digits,
                then,
                ..
            }) => {
                let l = Lit::new(then)?;
                steps.next();
                Some(l)
            }
            _ => None,
        };
        let texts = steps
            .map(|s| match s.op {
                Op::TextToLit { esc, padded } if !s.then.is_empty() => Some(Text {
                    esc,
                    padded,
                    then: s.then.clone(),
                    then_len: s.then.len(),
                    slot: match (esc, padded) {
                        (Esc::User, false) => Slot::User,
                        (Esc::Db, false) => Slot::Db,
                        (Esc::App, false) => Slot::App,
                        _ => Slot::Other,
                    },
                    byte_word: match *s.then {
                        [b] => 0x0101_0101_0101_0101 * u64::from(b),
                        _ => 0,
                    },
                }),
                _ => None,
            })
            .collect::<Option<Box<[Text]>>>()?;
        Some(Fast {
            tag: TAGS.fetch_add(1, Ordering::Relaxed),
            texts_seen: (1..=4).contains(&texts.len()),
            lead,
            frac,
            time_then_ends_zone: ends_zone(after_time.bytes[0]),
            after_time,
            after_pid,
            number,
            texts,
        })
    }

    /// What [`Prefix::match_ops`](super::Prefix) answers for this shape (the
    /// fields written to `f`, reset first), or that it cannot tell.
    #[inline(always)]
    pub(super) fn run<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
    ) -> Answer {
        if !self.frac {
            // `%t`: most lines start as the line before, but for their `%l`.
            if let Some(r) = self.seen_line(line, f, times) {
                return r;
            }
        }
        *f = Fields::default();
        let mut trusted = false;
        let mut cuts = Cuts::default();
        match self.steps(line, f, times, &mut trusted, &mut cuts) {
            Some((s, at)) => {
                if !self.frac {
                    remember_line(self.tag, line, &cuts, f, times);
                }
                Answer::Match(s, at)
            }
            // Each step failed where the compiled step fails, unless the time was
            // taken on trust.
            None if trusted => Answer::Unsure,
            None => Answer::NoMatch,
        }
    }

    /// The steps; `trusted` set when the time was taken on trust, `cuts` where the
    /// number and the head end.
    #[inline(always)]
    fn steps<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &mut TimeCache,
        trusted: &mut bool,
        cuts: &mut Cuts,
    ) -> Option<(Severity, usize)> {
        let (t, mut pos) = if self.frac {
            // `%m`: a new millisecond on most lines, nothing worth remembering.
            self.head_read(line, times, trusted)?
        } else {
            // Most lines start as the line before up to the literal after the time.
            match times.head(self.tag, line) {
                Some(h) => h,
                None => self.head(line, times, trusted)?,
            }
        };
        f.ts = Some(t.ms);
        f.zone_unknown = !t.zone_known;
        let (pid, n) = pid_seen(line.get(pos..)?, times)?;
        f.pid = Some(pid);
        pos += n;
        if !self.after_pid.at(line, pos) {
            return None;
        }
        pos += self.after_pid.len();
        if let Some(then) = &self.number {
            let n = digits_at(line.get(pos..)?);
            if n == 0 || !then.at(line, pos + n) {
                return None;
            }
            cuts.number_at = pos;
            cuts.number_len = n;
            pos += n + then.len();
        }
        if self.texts_seen {
            // Most lines have the values of the line before (`app_rw@bench `): the
            // same bytes up to the end of the last literal find the same values.
            let rest = line.get(pos..)?;
            if let Some(len) = times.texts.find(self.tag, rest) {
                for (t, &(a, b)) in self.texts.iter().zip(&times.text_cuts) {
                    let v = rest.get(usize::from(a)..usize::from(b))?;
                    store(t, v, f)?;
                }
                pos += len;
            } else {
                let start = pos;
                let mut cuts = [(0, 0); 4];
                for (t, cut) in self.texts.iter().zip(&mut cuts) {
                    let end = text_end(t, line, pos, f)?;
                    let a = (pos - start) as u8;
                    *cut = (a, a.wrapping_add(end as u8));
                    pos += end + t.then_len;
                }
                // Values that end within 32 bytes are remembered (the cuts fit).
                times.texts.remember(self.tag, rest, pos - start);
                times.text_cuts = cuts;
            }
        } else {
            for t in self.texts.iter() {
                pos += text_end(t, line, pos, f)? + t.then_len;
            }
        }
        cuts.end = pos;
        let (s, n) = Severity::parse(line.get(pos..)?)?;
        Some((s, pos + n))
    }

    /// [`Fast::run`] for a line that starts with the bytes of the line it matched
    /// last (see [`LineSeen`]), but for the digits of its number: the fields read
    /// there, and its severity read on.
    #[inline(always)]
    pub(super) fn seen_line<'a>(
        &self,
        line: &'a [u8],
        f: &mut Fields<'a>,
        times: &TimeCache,
    ) -> Option<Answer> {
        let seen = &times.line;
        if seen.tag != self.tag {
            return None;
        }
        let head: &'a [u8; 64] = line.first_chunk()?;
        let word = |i: usize| {
            let mut w = [0u8; 16];
            w.copy_from_slice(&head[16 * i..16 * i + 16]);
            u128::from_le_bytes(w)
        };
        let d = ((word(0) ^ seen.bytes[0]) & seen.mask[0])
            | ((word(1) ^ seen.bytes[1]) & seen.mask[1])
            | ((word(2) ^ seen.bytes[2]) & seen.mask[2])
            | ((word(3) ^ seen.bytes[3]) & seen.mask[3]);
        if d != 0 {
            return None;
        }
        // The number's bytes are digits (the byte after them, compared, is not).
        let n: &[u8; 8] = head.get(seen.digits_at..)?.first_chunk()?;
        if digit_flags(u64::from_le_bytes(*n) ^ 0x3030_3030_3030_3030) & seen.digits_mask != 0 {
            return None;
        }
        let (ts, zone_unknown, pid, values, len) =
            (seen.ts, seen.zone_unknown, seen.pid, seen.values, seen.len);
        // Ranges of the 64 bytes (see `remember_line`).
        let value = |(a, b): (u8, u8)| -> &'a [u8] { &head[usize::from(a)..usize::from(b)] };
        *f = Fields {
            ts,
            zone_unknown,
            pid,
            user: value(values[0]),
            db: value(values[1]),
            app: value(values[2]),
            host: value(values[3]),
            ..Fields::default()
        };
        // Where no severity follows, the steps say why.
        let (s, n) = Severity::parse(line.get(len..)?)?;
        Some(Answer::Match(s, len + n))
    }

    /// The lead literal, the time and the literal after it, read step by step: the
    /// time and where the line goes on. Remembered in `times` for the lines after
    /// (see [`TimeCache::remember_head`]) where the literal ends the time's zone.
    #[inline(never)]
    fn head(
        &self,
        line: &[u8],
        times: &mut TimeCache,
        trusted: &mut bool,
    ) -> Option<(Parsed, usize)> {
        let (t, pos) = self.head_read(line, times, trusted)?;
        if self.time_then_ends_zone {
            let at = self.lead.as_ref().map_or(0, Lit::len);
            times.remember_head(self.tag, line, at, self.frac, pos);
        }
        Some((t, pos))
    }

    /// [`Fast::head`] without remembering it.
    #[inline(always)]
    fn head_read(
        &self,
        line: &[u8],
        times: &mut TimeCache,
        trusted: &mut bool,
    ) -> Option<(Parsed, usize)> {
        let mut pos = 0;
        if let Some(lead) = &self.lead {
            if !lead.at(line, 0) {
                return None;
            }
            pos = lead.len();
        }
        let (t, on_trust) =
            times.parse_then(line.get(pos..)?, self.frac, self.time_then_ends_zone)?;
        *trusted = on_trust;
        pos += t.len;
        if !self.after_time.at(line, pos) {
            return None;
        }
        pos += self.after_time.len();
        Some((t, pos))
    }
}

/// Where the steps found the number (`%l`, `%x`) of a line they matched, and where
/// the head (up to the end of the free-text values) ends.
#[derive(Debug, Default)]
pub(super) struct Cuts {
    number_at: usize,
    number_len: usize,
    end: usize,
}

/// Remembers the head of `line`, which the straight-line matcher tagged `tag` just
/// matched (`cuts`), and the fields `f` it read there, for [`Fast::seen_line`]: where
/// the head fits in 64 bytes, its values are ranges of it and the number's digits
/// fit in a word.
#[inline(never)]
fn remember_line(tag: u64, line: &[u8], cuts: &Cuts, f: &Fields<'_>, times: &mut TimeCache) {
    times.line.tag = 0;
    // Lines shorter than 64 bytes are never found: nothing to remember.
    let Some(head) = line.first_chunk::<64>() else {
        return;
    };
    let len = cuts.end;
    if len > 64 || cuts.number_len > 8 || cuts.number_at + 8 > 64 {
        return;
    }
    // Where a value lies in the head (empty values anywhere).
    let range = |v: &[u8]| -> Option<(u8, u8)> {
        if v.is_empty() {
            return Some((0, 0));
        }
        let a = (v.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
        let b = a.checked_add(v.len()).filter(|&b| b <= len)?;
        Some((u8::try_from(a).ok()?, u8::try_from(b).ok()?))
    };
    let (Some(user), Some(db), Some(app), Some(host)) =
        (range(f.user), range(f.db), range(f.app), range(f.host))
    else {
        return;
    };
    // The bytes below `len` but the number's digits, as words.
    let (from, to) = (cuts.number_at, cuts.number_at + cuts.number_len);
    let mut bytes = [0u128; 4];
    let mut mask = [0u128; 4];
    for (i, (b, m)) in bytes.iter_mut().zip(&mut mask).enumerate() {
        let below = |n: usize| ones(n.saturating_sub(16 * i));
        *m = below(len) & !(below(to) & !below(from));
        let mut w = [0u8; 16];
        w.copy_from_slice(&head[16 * i..16 * i + 16]);
        *b = u128::from_le_bytes(w) & *m;
    }
    times.line = LineSeen {
        tag,
        bytes,
        mask,
        len,
        digits_at: cuts.number_at,
        digits_mask: ones(cuts.number_len) as u64,
        ts: f.ts,
        zone_unknown: f.zone_unknown,
        pid: f.pid,
        values: [user, db, app, host],
    };
}

/// All ones over the first `n` bytes of a word (all of them from 16 on).
fn ones(n: usize) -> u128 {
    match n {
        0 => 0,
        1..=15 => (1u128 << (8 * n)) - 1,
        _ => u128::MAX,
    }
}

/// Where the value of `t` at `pos` ends (from `pos`), the value stored in `f`; `None`
/// where no literal ends it or the value is refused.
#[inline(always)]
fn text_end<'a>(t: &Text, line: &'a [u8], pos: usize, f: &mut Fields<'a>) -> Option<usize> {
    let rest = line.get(pos..)?;
    let end = if t.byte_word != 0 {
        find_byte(rest, t.byte_word)?
    } else {
        find_lit(rest, &t.then)?
    };
    store(t, rest.get(..end)?, f)?;
    Some(end)
}

/// Stores the value `v` of `t`: what `free_text_value` does, without its checks for
/// the plain values.
#[inline(always)]
fn store<'a>(t: &Text, v: &'a [u8], f: &mut Fields<'a>) -> Option<()> {
    match t.slot {
        Slot::User => f.user = v,
        Slot::Db => f.db = v,
        Slot::App => f.app = v,
        Slot::Other => free_text_value(t.esc, t.padded, v, f)?,
    }
    Some(())
}

/// The first occurrence in `rest` of the byte repeated in `byte_word` ([`find_lit`]
/// of a one-byte literal): the first two words compared at once, the rest by memchr.
#[inline(always)]
fn find_byte(rest: &[u8], byte_word: u64) -> Option<usize> {
    let b = byte_word as u8;
    let Some(w) = rest.first_chunk::<16>() else {
        return memchr::memchr(b, rest);
    };
    let (w0, w1) = w.split_at(8);
    let hits = bytes_equal_word(u64::from_le_bytes(w0.try_into().ok()?), byte_word);
    if hits != 0 {
        return Some((hits.trailing_zeros() / 8) as usize);
    }
    let hits = bytes_equal_word(u64::from_le_bytes(w1.try_into().ok()?), byte_word);
    if hits != 0 {
        return Some(8 + (hits.trailing_zeros() / 8) as usize);
    }
    memchr::memchr(b, &rest[16..]).map(|p| p + 16)
}

/// [`bytes_equal`] with the byte already repeated in every byte of a word.
#[inline(always)]
fn bytes_equal_word(w: u64, byte_word: u64) -> u64 {
    bytes_equal(w ^ byte_word, 0)
}

/// [`digit_run`], the first word read at once.
#[inline(always)]
fn digits_at(s: &[u8]) -> usize {
    if let Some(w) = s.first_chunk::<8>() {
        let flags = digit_flags(u64::from_le_bytes(*w) ^ 0x3030_3030_3030_3030);
        if flags != 0 {
            return (flags.trailing_zeros() / 8) as usize;
        }
    }
    digit_run(s)
}

/// [`read_pid`]: the digits of a word read at once where the run is shorter than 8.
#[cfg(test)]
pub(super) fn pid_at(s: &[u8]) -> Option<(u32, usize)> {
    pid_seen(s, &mut TimeCache::default())
}

/// [`read_pid`]: the digits of a word read at once where the run is shorter than 8,
/// their value taken from `times` where they are those of the last process id read
/// there (consecutive lines often come from one process).
#[inline(always)]
pub(super) fn pid_seen(s: &[u8], times: &mut TimeCache) -> Option<(u32, usize)> {
    if let Some(w) = s.first_chunk::<8>() {
        // As `digit_run`: digits become 0..=9, the lowest flagged byte ends the run.
        let t = u64::from_le_bytes(*w) ^ 0x3030_3030_3030_3030;
        let flags = digit_flags(t);
        if flags != 0 {
            let n = (flags.trailing_zeros() / 8) as usize;
            if n == 0 {
                return None;
            }
            // The n digits moved to the top bytes, zeros (leading zeros) below: they
            // make the number, whatever n.
            let key = t << (64 - 8 * n);
            if key != times.pid_digits {
                times.pid_digits = key;
                times.pid = word_number(key);
            }
            return Some((times.pid, n));
        }
    }
    read_pid(s)
}

/// The eight-digit number of a word of digit values (0..=9, the last digit in the
/// top byte), in three multiplications.
#[inline(always)]
fn word_number(key: u64) -> u32 {
    let d = key.wrapping_mul(10 << 8 | 1) >> 8;
    let d = (d & 0x00ff_00ff_00ff_00ff).wrapping_mul(100 << 16 | 1) >> 16;
    let d = (d & 0x0000_ffff_0000_ffff).wrapping_mul(10_000 << 32 | 1) >> 32;
    d as u32
}
