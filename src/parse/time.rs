//! Timestamps as PostgreSQL prints them in `%t`, `%m`, `%s` and `%n`, turned into
//! milliseconds since the Unix epoch, UTC.
//!
//! Parsing is hand-written on bytes because it runs once per log line: chrono's
//! format-string parser is an order of magnitude slower. Zone abbreviations are those
//! PostgreSQL writes from `log_timezone` (its tz database abbreviations, or a numeric
//! `+02`/`-0530` when a zone has none).

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// A parsed timestamp and the number of bytes it took.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// The instant, UTC.
    pub ms: Millis,
    /// Bytes consumed from the input.
    pub len: usize,
    /// False when the zone abbreviation was unknown and read as UTC.
    pub zone_known: bool,
}

/// Parses `YYYY-MM-DD HH:MM:SS[.fff] ZONE` at the start of `s`. `frac` says whether
/// the fractional part (milliseconds, as `%m` writes) is required.
pub fn parse_timestamp(s: &[u8], frac: bool) -> Option<Parsed> {
    parse_timestamp_zoned(s, frac).map(|(p, _)| p)
}

/// [`parse_timestamp`], and whether a zone token was read (the parse then ended
/// where the token did).
fn parse_timestamp_zoned(s: &[u8], frac: bool) -> Option<(Parsed, bool)> {
    let local = local_seconds(s)?;
    let mut pos = 19;
    let mut ms = 0i64;
    if frac {
        if s.get(pos) != Some(&b'.') {
            return None;
        }
        let start = pos + 1;
        let mut end = start;
        while end < s.len() && s[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        // Keep millisecond precision whatever the number of digits.
        let mut scale = 100;
        for &d in &s[start..end.min(start + 3)] {
            ms += i64::from(d - b'0') * scale;
            scale /= 10;
        }
        pos = end;
    }
    let mut result = Parsed {
        ms: local * 1000 + ms,
        len: pos,
        zone_known: true,
    };
    // The zone is optional only in the sense that some custom formats leave it out;
    // PostgreSQL always writes one.
    if s.get(pos) == Some(&b' ') {
        if let Some((offset_s, zlen, known)) = cached_zone(&s[pos + 1..]) {
            result.ms -= offset_s * 1000;
            result.len = pos + 1 + zlen;
            result.zone_known = known;
            return Some((result, true));
        }
    }
    Some((result, false))
}

/// Remembers the last timestamp field parsed by its exact bytes, so that the lines
/// of one second cost a comparison instead of a parse. Owned by its caller (one per
/// parsing loop), so nothing is shared between threads.
///
/// Exact: a field is remembered only when its parse ended with a zone token, and is
/// reused only for the same `frac`, the same bytes, and a next byte that cannot
/// continue the token (so a fresh parse would stop at the same place). Everything
/// the parse returns depends on those bytes alone.
#[derive(Debug, Clone)]
pub struct TimeCache {
    /// The remembered field's bytes; zero beyond `len`.
    bytes: [u8; TimeCache::MAX],
    /// `0xff` over the first `len` bytes, zero beyond.
    mask: [u8; TimeCache::MAX],
    /// Length of the remembered field; 0 when none is.
    len: usize,
    frac: bool,
    parsed: Parsed,
    /// A line's head as a straight-line matcher last read it (see [`TimeCache::head`]).
    head: Seen,
    /// The time field read in that head.
    head_time: Parsed,
    /// The free-text values of a line as a straight-line matcher last read them:
    /// their bytes (from the first value's start to the end of the literal after
    /// the last one) and where each value lies in them.
    pub(crate) texts: Seen,
    pub(crate) text_cuts: [(u8, u8); 4],
    /// The digits of the last process id a straight-line matcher read (their values
    /// in the top bytes of a word, zeros below), and its value: 0 for no digit.
    pub(crate) pid_digits: u64,
    pub(crate) pid: u32,
    /// The head of the line a straight-line matcher last matched, up to the end of
    /// its free-text values, and what it read there (see [`LineSeen`]).
    pub(crate) line: LineSeen,
}

/// Up to 64 bytes a line started with, remembered by the straight-line matcher that
/// matched it (its tag; 0 when none did), every byte compared but one run of digits
/// (`%l`), which need only be digits; and the fields read there, the values as
/// ranges of those bytes. A later line that starts with the same bytes is read the
/// same way: a few masked word comparisons instead of the steps.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineSeen {
    pub(crate) tag: u64,
    /// The bytes, zero where not compared, as four little-endian words.
    pub(crate) bytes: [u128; 4],
    /// All ones over the bytes compared, zero elsewhere.
    pub(crate) mask: [u128; 4],
    /// Where the bytes end (the steps go on there, with the severity).
    pub(crate) len: usize,
    /// Where the run of digits starts (at most 56) and the mask of its bytes in the
    /// word read there (0 when there is none).
    pub(crate) digits_at: usize,
    pub(crate) digits_mask: u64,
    pub(crate) ts: Option<Millis>,
    pub(crate) zone_unknown: bool,
    pub(crate) pid: Option<u32>,
    /// The user, database, application and host, as ranges of the bytes.
    pub(crate) values: [(u8, u8); 4],
}

/// Up to 32 bytes a line had from some place on, remembered by the reader that
/// tagged them (its tag; 0 when none did): a later line with the same bytes there
/// is known by two masked word comparisons.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    tag: u64,
    /// The bytes, zero beyond `len`, as two little-endian words.
    bytes: [u128; 2],
    /// All ones over the first `len` bytes, zero beyond.
    mask: [u128; 2],
    len: usize,
}

impl Seen {
    /// The length remembered, when `s` starts with the bytes remembered under `tag`
    /// (and has at least 32 bytes).
    #[inline(always)]
    pub(crate) fn find(&self, tag: u64, s: &[u8]) -> Option<usize> {
        if self.tag != tag {
            return None;
        }
        let (a, b) = words(s)?;
        let d = ((a ^ self.bytes[0]) & self.mask[0]) | ((b ^ self.bytes[1]) & self.mask[1]);
        (d == 0).then_some(self.len)
    }

    /// Remembers the first `len` bytes of `s` (at most 32) under `tag` (not 0); on
    /// a line shorter than 32 bytes, nothing (no line that short is found).
    #[inline(always)]
    pub(crate) fn remember(&mut self, tag: u64, s: &[u8], len: usize) {
        match words(s) {
            Some((a, b)) if len <= 32 => {
                let ones = |n: usize| match n {
                    0 => 0,
                    n if n >= 16 => u128::MAX,
                    n => (1u128 << (8 * n)) - 1,
                };
                let mask = [ones(len), ones(len.saturating_sub(16))];
                *self = Seen {
                    tag,
                    bytes: [a & mask[0], b & mask[1]],
                    mask,
                    len,
                };
            }
            _ => self.tag = 0,
        }
    }
}

/// The first 32 bytes of `s` as two little-endian words.
#[inline(always)]
fn words(s: &[u8]) -> Option<(u128, u128)> {
    let w: &[u8; 32] = s.first_chunk()?;
    let (a, b) = w.split_at(16);
    Some((
        u128::from_le_bytes(a.try_into().unwrap_or_default()),
        u128::from_le_bytes(b.try_into().unwrap_or_default()),
    ))
}

impl Default for TimeCache {
    fn default() -> Self {
        TimeCache {
            bytes: [0; TimeCache::MAX],
            mask: [0; TimeCache::MAX],
            len: 0,
            frac: false,
            parsed: Parsed {
                ms: 0,
                len: 0,
                zone_known: false,
            },
            head: Seen::default(),
            head_time: Parsed::default(),
            texts: Seen::default(),
            text_cuts: [(0, 0); 4],
            pid_digits: 0,
            pid: 0,
            line: LineSeen::default(),
        }
    }
}

impl TimeCache {
    /// Longest field remembered (`%m` with a 5-letter zone takes 29 bytes).
    const MAX: usize = 32;

    /// [`parse_timestamp`]`(s, frac)`, through the cache.
    #[inline]
    pub fn parse(&mut self, s: &[u8], frac: bool) -> Option<Parsed> {
        if self.hit(s, frac) {
            return Some(self.parsed);
        }
        self.miss(s, frac)
    }

    /// [`TimeCache::parse`] for a caller that then checks that the field is followed
    /// by a byte `b` for which [`ends_zone`]`(b)` is `next_ends_zone` (the first byte
    /// of the prefix's next literal). Returns the parse and whether it was taken on
    /// trust: where it was not, it is [`parse_timestamp`]`(s, frac)`; where it was,
    /// it is that only when `b` is at the returned length.
    ///
    /// When `b` cannot continue a zone token, the remembered field is reused on its
    /// bytes alone: the caller's check of `b` stands for the check of the byte after
    /// it (a line where `b` is not there is no match, whatever the length).
    #[inline(always)]
    pub fn parse_then(
        &mut self,
        s: &[u8],
        frac: bool,
        next_ends_zone: bool,
    ) -> Option<(Parsed, bool)> {
        if next_ends_zone && self.same_bytes(s, frac) {
            return Some((self.parsed, true));
        }
        self.parse(s, frac).map(|p| (p, false))
    }

    /// The time field of `line` and the length of its head, when `line` starts with
    /// the head that the straight-line matcher tagged `tag` remembered last (see
    /// [`TimeCache::remember_head`]): two masked word comparisons.
    #[inline(always)]
    pub(crate) fn head(&self, tag: u64, line: &[u8]) -> Option<(Parsed, usize)> {
        let len = self.head.find(tag, line)?;
        Some((self.head_time, len))
    }

    /// Remembers `line[..len]` as the head of the straight-line matcher tagged `tag`
    /// (not 0): the line has a time field at `at`, just read through this cache with
    /// `frac`, and the literal that follows it there, which ends at `len` and starts
    /// with a byte that cannot continue a zone. Kept only where this cache
    /// remembers that field (its parse ended with a zone token): a fresh parse of a
    /// line with the same head then reads the same field from the same bytes.
    #[inline(never)]
    pub(crate) fn remember_head(
        &mut self,
        tag: u64,
        line: &[u8],
        at: usize,
        frac: bool,
        len: usize,
    ) {
        let known = line
            .get(at..len)
            .is_some_and(|s| self.same_bytes(&line[at..], frac) && self.len < s.len());
        if known {
            self.head.remember(tag, line, len);
            self.head_time = self.parsed;
        } else {
            self.head.tag = 0;
        }
    }

    #[inline(always)]
    fn hit(&self, s: &[u8], frac: bool) -> bool {
        self.same_bytes(s, frac) && !s.get(self.len).is_some_and(|&b| continues_zone(b))
    }

    /// True when `s` starts with the remembered field's bytes (parsed with `frac`).
    #[inline(always)]
    fn same_bytes(&self, s: &[u8], frac: bool) -> bool {
        let n = self.len;
        if n == 0 || frac != self.frac {
            return false;
        }
        match s.get(..Self::MAX) {
            // Two 16-byte words compared under the mask: no call, no loop.
            Some(head) => {
                let word = |b: &[u8]| u128::from_le_bytes(b.try_into().unwrap_or([0; 16]));
                let d0 = (word(&head[..16]) ^ word(&self.bytes[..16])) & word(&self.mask[..16]);
                let d1 = (word(&head[16..]) ^ word(&self.bytes[16..])) & word(&self.mask[16..]);
                d0 | d1 == 0
            }
            None => s.get(..n) == Some(&self.bytes[..n]),
        }
    }

    #[inline(never)]
    fn miss(&mut self, s: &[u8], frac: bool) -> Option<Parsed> {
        let (p, zoned) = parse_timestamp_zoned(s, frac)?;
        if zoned && p.len <= Self::MAX {
            self.bytes = [0; Self::MAX];
            self.bytes[..p.len].copy_from_slice(&s[..p.len]);
            self.mask = [0; Self::MAX];
            self.mask[..p.len].fill(0xff);
            self.len = p.len;
            self.frac = frac;
            self.parsed = p;
        }
        Some(p)
    }
}

/// A byte that may continue a zone token (`CEST`, `+05:30`): after a remembered
/// field, such a byte sends the line to a fresh parse.
fn continues_zone(b: u8) -> bool {
    !ends_zone(b)
}

/// True when `b` cannot continue a zone token: a field followed by it ends there.
pub fn ends_zone(b: u8) -> bool {
    !(b.is_ascii_alphanumeric() || matches!(b, b':' | b'+' | b'-'))
}

/// Consecutive log lines share their second and their zone: the last ones parsed are
/// remembered per thread, so most lines cost two comparisons instead of a parse.
#[derive(Clone, Copy)]
struct Last {
    /// `datetime` holds a timestamp parsed on this thread (not the initial zeros,
    /// which a line of NUL bytes would otherwise match).
    parsed: bool,
    datetime: [u8; 19],
    seconds: i64,
    zone: [u8; 8],
    zone_len: usize,
    zone_parsed: Option<(i64, usize, bool)>,
}

thread_local! {
    static LAST: std::cell::Cell<Last> = const {
        std::cell::Cell::new(Last {
            parsed: false,
            datetime: [0; 19],
            seconds: 0,
            zone: [0; 8],
            zone_len: usize::MAX,
            zone_parsed: None,
        })
    };
}

/// Local seconds since the epoch of `YYYY-MM-DD HH:MM:SS` at the start of `s`.
fn local_seconds(s: &[u8]) -> Option<i64> {
    let dt = s.get(..19)?;
    let mut last = LAST.get();
    if last.parsed && last.datetime == dt {
        return Some(last.seconds);
    }
    // The same minute as the last one, another second: only the seconds are read.
    if last.parsed && last.datetime[..17] == dt[..17] {
        let sec = digits(s, 17, 2)?;
        let was = i64::from(last.datetime[17] - b'0') * 10 + i64::from(last.datetime[18] - b'0');
        if sec > 60 {
            return None;
        }
        last.seconds += sec - was;
        last.datetime[17..].copy_from_slice(&dt[17..]);
        LAST.set(last);
        return Some(last.seconds);
    }
    let year = digits(s, 0, 4)?;
    let month = digits_after(s, 4, b'-', 2)?;
    let day = digits_after(s, 7, b'-', 2)?;
    let hour = digits_after(s, 10, b' ', 2)?;
    let min = digits_after(s, 13, b':', 2)?;
    let sec = digits_after(s, 16, b':', 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let seconds = ((days_from_civil(year, month, day) * 24 + hour) * 60 + min) * 60 + sec;
    last.datetime.copy_from_slice(dt);
    last.parsed = true;
    last.seconds = seconds;
    LAST.set(last);
    Some(seconds)
}

/// [`parse_zone`] remembering the last zone token.
fn cached_zone(s: &[u8]) -> Option<(i64, usize, bool)> {
    let mut last = LAST.get();
    let n = last.zone_len;
    if n <= 8
        && s.get(..n) == Some(&last.zone[..n])
        && !s.get(n).is_some_and(|&b| continues_zone(b))
    {
        return last.zone_parsed;
    }
    let parsed = parse_zone(s);
    let len = parsed.map_or(0, |p| p.1);
    if len <= 8 {
        last.zone[..len].copy_from_slice(&s[..len]);
        last.zone_len = len;
        last.zone_parsed = parsed;
        LAST.set(last);
    }
    parsed
}

/// Parses `%n`: seconds since the epoch with milliseconds, `1700000000.123`.
pub fn parse_epoch(s: &[u8]) -> Option<Parsed> {
    let mut i = 0;
    let mut secs: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() && i < 12 {
        secs = secs * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || s.get(i) != Some(&b'.') {
        return None;
    }
    let start = i + 1;
    let mut end = start;
    let mut ms = 0;
    let mut scale = 100;
    while end < s.len() && s[end].is_ascii_digit() {
        if end < start + 3 {
            ms += i64::from(s[end] - b'0') * scale;
            scale /= 10;
        }
        end += 1;
    }
    (end > start).then_some(Parsed {
        ms: secs * 1000 + ms,
        len: end,
        zone_known: true,
    })
}

/// Parses an RFC 3339 instant at the start of `s`, as syslog, Heroku and Cloud Logging
/// write it: `2026-11-30T12:00:00[.ffffff](Z|+00:00)`.
pub fn parse_rfc3339(s: &[u8]) -> Option<Parsed> {
    if s.get(10) != Some(&b'T') {
        return None;
    }
    let mut head = [0u8; 19];
    head.copy_from_slice(s.get(..19)?);
    head[10] = b' ';
    let local = local_seconds(&head)?;
    let mut pos = 19;
    let mut ms = 0i64;
    if s.get(pos) == Some(&b'.') {
        let mut scale = 100;
        pos += 1;
        while pos < s.len() && s[pos].is_ascii_digit() {
            ms += i64::from(s[pos] - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
    }
    let offset = match s.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            0
        }
        Some(b'+' | b'-') => {
            let sign = if s[pos] == b'-' { -1 } else { 1 };
            let h = digits(s, pos + 1, 2)?;
            let m = digits_after(s, pos + 3, b':', 2)?;
            pos += 6;
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    Some(Parsed {
        ms: (local - offset) * 1000 + ms,
        len: pos,
        zone_known: true,
    })
}

/// A zone token at the start of `s`: returns (offset east of UTC in seconds, length,
/// known). Unknown alphabetic abbreviations are read as UTC with `known = false`.
fn parse_zone(s: &[u8]) -> Option<(i64, usize, bool)> {
    let numeric = matches!(s.first(), Some(b'+' | b'-'));
    let len = s
        .iter()
        .skip(usize::from(numeric))
        .position(|&b| {
            if numeric {
                !(b.is_ascii_digit() || b == b':')
            } else {
                !b.is_ascii_alphanumeric()
            }
        })
        .map_or(s.len(), |p| p + usize::from(numeric));
    if len == 0 {
        return None;
    }
    let tok = &s[..len];
    if matches!(tok[0], b'+' | b'-') {
        let sign = if tok[0] == b'-' { -1 } else { 1 };
        let body: Vec<u8> = tok[1..].iter().copied().filter(|b| *b != b':').collect();
        if body.is_empty() || !body.iter().all(u8::is_ascii_digit) || body.len() > 6 {
            return None;
        }
        let n = |r: std::ops::Range<usize>| -> i64 {
            body.get(r)
                .map(|d| d.iter().fold(0, |a, &b| a * 10 + i64::from(b - b'0')))
                .unwrap_or(0)
        };
        let (h, m, sec) = match body.len() {
            1 | 2 => (n(0..body.len()), 0, 0),
            3 | 4 => (n(0..body.len() - 2), n(body.len() - 2..body.len()), 0),
            _ => (n(0..2), n(2..4), n(4..body.len())),
        };
        return Some((sign * (h * 3600 + m * 60 + sec), len, true));
    }
    if !tok[0].is_ascii_alphabetic() {
        return None;
    }
    match zone_offset(tok) {
        Some(off) => Some((off, len, true)),
        None => Some((0, len, false)),
    }
}

/// The offset (seconds east of UTC) of a whole zone token as PostgreSQL writes it
/// (`CET`, `+02`, `-05:30`), and whether it is known (an unknown abbreviation is read
/// as UTC, like the log's lines that carry it).
pub fn zone_token_offset(token: &[u8]) -> Option<(i64, bool)> {
    parse_zone(token)
        .filter(|z| z.1 == token.len())
        .map(|(off, _, known)| (off, known))
}

/// Offsets (seconds east of UTC) of the abbreviations PostgreSQL's tz database writes
/// for common zones. Ambiguous ones (IST, CST) take their most common meaning in logs.
fn zone_offset(tok: &[u8]) -> Option<i64> {
    const H: i64 = 3600;
    let off = match tok {
        b"UTC" | b"GMT" | b"Z" | b"UCT" | b"WET" | b"Zulu" => 0,
        b"BST" | b"WEST" | b"CET" | b"MET" => H,
        b"CEST" | b"MEST" | b"EET" | b"SAST" => 2 * H,
        b"EEST" | b"MSK" | b"IDT" => 3 * H,
        b"IST" => 5 * H + 30 * 60,
        b"PKT" => 5 * H,
        b"WIB" => 7 * H,
        b"HKT" | b"AWST" | b"PHT" | b"WITA" => 8 * H,
        b"JST" | b"KST" | b"WIT" => 9 * H,
        b"ACST" => 9 * H + 30 * 60,
        b"ACDT" => 10 * H + 30 * 60,
        b"AEST" | b"ChST" => 10 * H,
        b"AEDT" => 11 * H,
        b"NZST" => 12 * H,
        b"NZDT" => 13 * H,
        b"ADT" => -3 * H,
        b"AST" | b"EDT" => -4 * H,
        b"EST" | b"CDT" => -5 * H,
        b"CST" | b"MDT" => -6 * H,
        b"MST" | b"PDT" => -7 * H,
        b"PST" | b"AKDT" => -8 * H,
        b"AKST" | b"HDT" => -9 * H,
        b"HST" => -10 * H,
        b"NST" => -(3 * H + 30 * 60),
        b"NDT" => -(2 * H + 30 * 60),
        _ => return None,
    };
    Some(off)
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let d = s.get(at..at + n)?;
    d.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn digits_after(s: &[u8], sep_at: usize, sep: u8, n: usize) -> Option<i64> {
    (s.get(sep_at) == Some(&sep)).then_some(())?;
    digits(s, sep_at + 1, n)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats an instant as RFC 3339 UTC with milliseconds, `2026-11-24T04:34:31.000Z`.
pub fn rfc3339(ms: Millis) -> String {
    // Years 0 to 9999 written digit by digit (a report formats thousands of
    // instants); the others as chrono writes them.
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return rfc3339_chrono(ms);
    }
    let (s, milli) = (in_day / 1000, in_day % 1000);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, v: i64, n: usize| {
        let mut v = v;
        for i in (at..at + n).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, s / 3600, 2);
    put(14, s / 60 % 60, 2);
    put(17, s % 60, 2);
    put(20, milli, 3);
    b.iter().map(|&c| c as char).collect()
}

/// [`rfc3339`] as chrono formats it (empty out of its range).
fn rfc3339_chrono(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The proleptic Gregorian date (year, month, day) of `days` since 1970-01-01 (the
/// inverse of [`days_from_civil`], Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses a user-given instant (`--begin`/`--end`): RFC 3339, or
/// `YYYY-MM-DD[ HH:MM[:SS]]` read as UTC.
pub fn parse_user_time(s: &str) -> Option<Millis> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let fmts = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
    ];
    for f in fmts {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Instants are written as chrono writes them: any instant, and instants
        /// around the ends of the years written digit by digit.
        #[test]
        fn rfc3339_is_chronos(
            ms in prop_oneof![
                any::<i64>(),
                -62_167_219_200_000i64 - 100_000_000..-62_167_219_200_000 + 100_000_000,
                253_402_300_800_000i64 - 100_000_000..253_402_300_800_000 + 100_000_000,
                -1_000_000_000_000i64..4_000_000_000_000,
            ]
        ) {
            prop_assert_eq!(rfc3339(ms), rfc3339_chrono(ms));
        }
    }

    /// NUL bytes are no timestamp, also on a thread that has parsed none yet (the
    /// remembered one starts as zeros) and after one was parsed.
    #[test]
    fn nul_bytes_are_no_timestamp_before_or_after_a_parse() {
        let nul = [0u8; 32];
        let fresh = std::thread::spawn(move || parse_timestamp(&nul, false).is_none());
        assert!(fresh.join().unwrap());
        parse_timestamp(b"2026-09-21 10:00:00 UTC", false).unwrap();
        assert!(parse_timestamp(&nul, false).is_none());
    }

    /// Through a [`TimeCache`], every field parses as it does alone, whatever came
    /// before: fields whose bytes differ only in the zone, the milliseconds, the
    /// next byte, across midnight and a DST change of a named zone, numeric zones,
    /// unknown zones, fields without a zone, and lines that are no timestamp.
    #[test]
    fn the_time_cache_parses_as_a_fresh_parse() {
        let fields: &[&[u8]] = &[
            b"2026-11-24 04:00:00 UTC [1]",
            b"2026-11-24 04:00:00 UTC",
            b"2026-11-24 04:00:00 UTCX [1]",
            b"2026-11-24 04:00:00 UTC:x",
            b"2026-11-24 04:00:00 UTC+01 x",
            b"2026-11-24 04:00:00 CET [1]",
            b"2026-11-24 04:00:00 CEST [1]",
            b"2026-11-24 04:00:00 XYZT [1]",
            b"2026-11-24 04:00:00.123 UTC [1]",
            b"2026-11-24 04:00:00.124 UTC [1]",
            b"2026-11-24 04:00:00.12 UTC [1]",
            b"2026-11-24 04:00:00.123456 UTC [1]",
            b"2026-11-24 04:00:00.123 CET [1]",
            b"2026-11-24 04:00:00 +02 [1]",
            b"2026-11-24 04:00:00 +0200 [1]",
            b"2026-11-24 04:00:00 +02:00 [1]",
            b"2026-11-24 04:00:00 -05:30 [1]",
            b"2026-11-24 04:00:00 +02",
            b"2026-11-24 04:00:00 +021 x",
            b"2026-11-24 04:00:00 [1]",
            b"2026-11-24 04:00:00  UTC",
            b"2026-11-24 04:00:00.123 [1]",
            b"2026-11-24 04:00:00",
            b"2026-11-24 04:00:01 UTC [1]",
            b"2026-11-24 23:59:59 UTC [1]",
            b"2026-11-25 00:00:00 UTC [1]",
            b"2026-11-24 23:59:59.999 UTC [1]",
            b"2026-11-25 00:00:00.000 UTC [1]",
            // Europe/Paris leaves summer time: 02:59:59 CEST, then 02:00:00 CET.
            b"2026-10-25 02:59:59 CEST [1]",
            b"2026-10-25 02:00:00 CET [1]",
            b"2026-10-25 02:59:59 CET [1]",
            b"2026-10-25 02:59:59.500 CEST [1]",
            b"2026-10-25 02:59:59.500 CET [1]",
            b"2026-11-24 04:00:00 AVeryLongZoneName [1]",
            b"2026-13-24 04:00:00 UTC [1]",
            b"\t2026-11-24 04:00:00 UTC",
            b"",
            &[0u8; 40],
            &[0u8; 8],
        ];
        // Short lines are compared byte by byte, long ones by words: both.
        let fields: Vec<Vec<u8>> = fields
            .iter()
            .flat_map(|f| {
                [
                    f.to_vec(),
                    [*f, b"45-1] bob@shop LOG:  x".as_slice()].concat(),
                ]
            })
            .collect();
        let fresh = |s: &[u8], frac| parse_timestamp(s, frac);
        let mut cache = TimeCache::default();
        // Every ordered pair (each field after each other, both shapes).
        for a in &fields {
            for b in &fields {
                for (fa, fb) in [(false, false), (true, true), (false, true), (true, false)] {
                    for (s, frac) in [(&a[..], fa), (&b[..], fb), (&b[..], fb)] {
                        assert_eq!(
                            cache.parse(s, frac),
                            fresh(s, frac),
                            "{:?} ({frac}) after {:?}",
                            String::from_utf8_lossy(s),
                            String::from_utf8_lossy(a),
                        );
                    }
                }
            }
        }
        // `parse_then`: the fresh parse, unless taken on trust where the byte it
        // was told of does not follow (no match then, the caller's to check).
        let mut cache = TimeCache::default();
        for a in &fields {
            for b in &fields {
                for frac in [false, true] {
                    for next in [b' ', b'[', b':', b'X', b'+', b'.', b'1'] {
                        cache.parse(a, frac);
                        let s = &b[..];
                        let fresh = fresh(s, frac);
                        let r = cache.parse_then(s, frac, ends_zone(next));
                        let shown = || (String::from_utf8_lossy(s), frac, next as char);
                        match r {
                            Some((r, true)) if s.get(r.len) != Some(&next) => {}
                            _ => assert_eq!(r.map(|r| r.0), fresh, "{:?}", shown()),
                        }
                    }
                }
            }
        }
        // A line of NUL bytes, before any parse and after one.
        let nul = [0u8; 40];
        assert!(TimeCache::default().parse(&nul, false).is_none());
        assert!(cache.parse(b"2026-11-24 04:00:00 UTC [1]", false).is_some());
        assert!(cache.parse(&nul, false).is_none());
        assert!(cache.parse(&nul[..20], false).is_none());
    }

    /// Each second of a span, parsed after the one before (the remembered minute's
    /// tail) and after an unrelated one (a whole parse), gives the same instant.
    #[test]
    fn the_seconds_of_the_last_minute_parse_as_a_whole_timestamp() {
        let t0 = 1_790_000_000i64; // 2026-09-21, the span crosses minutes and a day
        for t in t0 - 200..t0 + 200 {
            let text = format!("{} UTC x", rfc3339(t * 1000).replace('T', " "));
            let text = text.replacen(".000Z", "", 1);
            let after_previous = parse_timestamp(text.as_bytes(), false).unwrap();
            parse_timestamp(b"1999-01-01 00:00:00 UTC", false).unwrap();
            let whole = parse_timestamp(text.as_bytes(), false).unwrap();
            assert_eq!(after_previous.ms, t * 1000, "{text}");
            assert_eq!(whole.ms, t * 1000, "{text}");
        }
        parse_timestamp(b"2026-07-01 12:00:07 UTC", false).unwrap();
        assert!(parse_timestamp(b"2026-07-01 12:00:7x UTC", false).is_none());
        assert!(parse_timestamp(b"2026-07-01 12:00:61 UTC", false).is_none());
        let p = parse_timestamp(b"2026-07-01 12:00:60 UTC", false).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-07-01T12:01:00.000Z");
    }

    #[test]
    fn parses_t_and_m_with_zones() {
        let p = parse_timestamp(b"2026-11-24 04:34:31 UTC [1]", false).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-11-24T04:34:31.000Z");
        assert_eq!(p.len, 23);
        let p = parse_timestamp(b"2026-11-24 05:35:14.949 CET [29040]", true).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-11-24T04:35:14.949Z");
        let p = parse_timestamp(b"2026-07-01 12:00:00 CEST", false).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-07-01T10:00:00.000Z");
        let p = parse_timestamp(b"2026-07-01 12:00:00 -0530 x", false).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-07-01T17:30:00.000Z");
        let p = parse_timestamp(b"2026-07-01 12:00:00 +02", false).unwrap();
        assert_eq!(rfc3339(p.ms), "2026-07-01T10:00:00.000Z");
        let p = parse_timestamp(b"2026-07-01 12:00:00 XYZT", false).unwrap();
        assert!(!p.zone_known);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_timestamp(b"2026-13-24 04:34:31 UTC", false).is_none());
        assert!(parse_timestamp(b"2026-11-24 04:34", false).is_none());
        assert!(parse_timestamp(b"2026-11-24 04:34:31 UTC", true).is_none());
        assert!(parse_timestamp(b"", false).is_none());
    }

    #[test]
    fn rfc3339_instants() {
        let p = parse_rfc3339(b"2026-11-30T12:00:00.123456+01:00 app").unwrap();
        assert_eq!(rfc3339(p.ms), "2026-11-30T11:00:00.123Z");
        assert_eq!(p.len, 32);
        let p = parse_rfc3339(b"2026-11-30T12:00:00Z").unwrap();
        assert_eq!(rfc3339(p.ms), "2026-11-30T12:00:00.000Z");
        assert!(parse_rfc3339(b"2026-11-30 12:00:00Z").is_none());
        assert!(parse_rfc3339(b"2026-11-30T12:00:00").is_none());
    }

    #[test]
    fn epoch() {
        let p = parse_epoch(b"1764000000.123 [5]").unwrap();
        assert_eq!(p.ms, 1_764_000_000_123);
        assert_eq!(p.len, 14);
    }

    #[test]
    fn user_times() {
        assert_eq!(
            parse_user_time("2026-11-24 04:35"),
            parse_user_time("2026-11-24T04:35:00Z")
        );
        assert!(parse_user_time("yesterday").is_none());
    }
}
