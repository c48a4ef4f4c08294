//! Inferring a file's `log_line_prefix` when the user did not give one.
//!
//! Each sampled line is anchored on its severity marker (`LOG:  `, `ERROR:  `...): the
//! text before it is the prefix. The prefixes' shapes (separators, keys, timestamps and
//! fields, see [`shape`]) are counted; the shape that explains most lines wins, with a
//! `%q` stop where lines of processes without a session end early. Its fields are then
//! named from their values and from evidence in the log ([`identify`]); a field nothing
//! names stays `%?` and is reported, never guessed.
//!
//! Lines the first prefix does not explain are inferred again: a log whose prefix changed
//! on a reload, or whose values take two shapes (`[local]` and `host(port)`), gets one
//! prefix per shape, tried in order.

mod identify;
pub mod shape;

use super::anchor;
use super::{prefix, Prefix, Severity};
use identify::Sample;
use rayon::prelude::*;
use shape::Piece;

/// At most this many prefixes per file.
const MAX_PREFIXES: usize = 8;
/// At most this many sampled lines.
const MAX_LINES: usize = 4000;
/// How many of the most frequent shapes are tried each round.
const SHAPES_TRIED: usize = 8;
/// Lines looked at on one thread at least: fewer are not worth handing over. The work
/// on the lines is shared between the threads when there are several (the others
/// wait for the parser to be chosen); what comes of it is the same.
const MIN_SPLIT: usize = 256;

/// The prefixes that explain a sample of a file, and what could not be identified.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The prefixes, the one that explains most lines first.
    pub prefixes: Vec<Prefix>,
    /// Sentences for the report: fields not identified, fields contradicted.
    pub notes: Vec<String>,
}

/// The prefixes that explain the lines of `sample` (text from the file: its start and
/// slices from further in, each starting on a line), or `None` when no line has a
/// severity marker.
pub fn infer(sample: &[u8]) -> Option<Inferred> {
    let lines: Vec<(&[u8], anchor::Anchor)> = sample
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.starts_with(b"\t"))
        .filter_map(|l| anchor::find(l).map(|a| (l, a)))
        .take(MAX_LINES)
        .collect();
    let mut remaining: Vec<usize> = (0..lines.len()).collect();
    let mut out = Inferred {
        prefixes: Vec::new(),
        notes: Vec::new(),
    };
    while !remaining.is_empty() && out.prefixes.len() < MAX_PREFIXES {
        let Some((pieces, generic, scored)) = best_shape(&lines, &remaining) else {
            break;
        };
        // The winner's captures, recorded while it was scored on every remaining line.
        let mut caps = Vec::new();
        let mut samples = Vec::new();
        let mut rest = Vec::new();
        let mut hits = scored.hits.iter().peekable();
        for (k, &i) in remaining.iter().enumerate() {
            let (line, _) = lines[i];
            match hits.next_if(|h| h.0 == k) {
                Some(&(_, severity, message_at, at)) => samples.push(Sample {
                    line,
                    caps: scored.caps[at..at + scored.slots].to_vec(),
                    severity,
                    message: &line[message_at..],
                }),
                None => rest.push(i),
            }
        }
        // A shape must explain a fair share of what is left, or it is noise.
        if samples.len() * 50 < remaining.len() && samples.len() < 20 {
            break;
        }
        let mut id = identify::identify(&pieces, &samples);
        if let Some(bound) = id.refine.take().and_then(|t| Prefix::compile(&t).ok()) {
            // Capture again with the host bound, if that still explains every line.
            let again: Option<Vec<Sample>> = samples
                .iter()
                .map(|s| {
                    let m = bound.match_capture(s.line, &mut caps)?;
                    Some(Sample {
                        line: s.line,
                        caps: caps.clone(),
                        severity: m.severity,
                        message: &s.line[m.message_at..],
                    })
                })
                .collect();
            if let Some(again) = again {
                samples = again;
                id = identify::identify(&pieces, &samples);
            }
        }
        let prefix = Prefix::compile(&id.prefix)
            .ok()
            .filter(|p| {
                samples
                    .par_iter()
                    .with_min_len(MIN_SPLIT)
                    .all(|s| p.match_line(s.line).is_some())
            })
            .unwrap_or(generic);
        out.notes.extend(id.notes);
        out.prefixes.push(prefix);
        remaining = rest;
    }
    out.notes.dedup();
    (!out.prefixes.is_empty()).then_some(out)
}

/// The first prefix [`infer`] finds in `data`.
pub fn infer_prefix(data: &[u8]) -> Option<Prefix> {
    infer(data).and_then(|i| i.prefixes.into_iter().next())
}

/// The lines a candidate matched while it was scored, with their captures: the
/// winner's are the samples, so they are not matched a second time.
#[derive(Default)]
struct Scored {
    /// Per matched line: its index in `remaining`, severity, message offset, and where
    /// its captures start in `caps`.
    hits: Vec<(usize, Severity, usize, usize)>,
    /// The captures of the matched lines, `slots` each.
    caps: Vec<(usize, usize)>,
    slots: usize,
}

/// Scores candidate `p` on the `remaining` lines, recording its matches in `rec`:
/// lines matched; fewest values with a blank at an edge; fields filled. Scoring stops
/// as soon as the lines left cannot lift the count to `at_least` (the best so far): such
/// a candidate loses whatever they hold, so the choice is the same.
///
/// With threads to share it, each half of the lines is scored on one, and stops when
/// its lines left and all the other half's cannot lift the count to `at_least`: a
/// candidate that scores below `at_least` loses whatever its count, so the choice is
/// the same; one that does not was scored on every line either way.
fn score(
    p: &Prefix,
    lines: &[(&[u8], anchor::Anchor)],
    remaining: &[usize],
    at_least: usize,
    caps: &mut Vec<(usize, usize)>,
    rec: &mut Scored,
) -> (usize, std::cmp::Reverse<usize>, usize) {
    rec.hits.clear();
    rec.caps.clear();
    rec.slots = p.slots();
    if remaining.len() < 2 * MIN_SPLIT || rayon::current_num_threads() < 2 {
        let (n, edged, filled) = score_part(p, lines, remaining, 0, 0, at_least, caps, rec);
        return (n, std::cmp::Reverse(edged), filled);
    }
    let mid = remaining.len() / 2;
    let (a, b) = remaining.split_at(mid);
    let mut second = Scored::default();
    let ((n1, e1, f1), (n2, e2, f2)) = rayon::join(
        || score_part(p, lines, a, 0, b.len(), at_least, caps, rec),
        || {
            score_part(
                p,
                lines,
                b,
                mid,
                a.len(),
                at_least,
                &mut Vec::new(),
                &mut second,
            )
        },
    );
    let base = rec.caps.len();
    rec.hits.extend(
        second
            .hits
            .iter()
            .map(|&(k, severity, message_at, at)| (k, severity, message_at, base + at)),
    );
    rec.caps.extend_from_slice(&second.caps);
    (n1 + n2, std::cmp::Reverse(e1 + e2), f1 + f2)
}

/// [`score`] on `part` of the remaining lines, the first at index `first` of them,
/// with `others` lines scored elsewhere: lines matched, values with a blank at an
/// edge, fields filled.
#[allow(clippy::too_many_arguments)]
fn score_part(
    p: &Prefix,
    lines: &[(&[u8], anchor::Anchor)],
    part: &[usize],
    first: usize,
    others: usize,
    at_least: usize,
    caps: &mut Vec<(usize, usize)>,
    rec: &mut Scored,
) -> (usize, usize, usize) {
    let (mut n, mut edged, mut filled) = (0usize, 0usize, 0usize);
    for (k, &i) in part.iter().enumerate() {
        if n + (part.len() - k) + others < at_least {
            break;
        }
        let line = lines[i].0;
        if let Some(m) = p.match_capture(line, caps) {
            n += 1;
            rec.hits
                .push((first + k, m.severity, m.message_at, rec.caps.len()));
            rec.caps.extend_from_slice(caps);
            for &(s, e) in caps.iter().filter(|c| **c != prefix::ABSENT) {
                filled += 1;
                if e > s && (line[s] == b' ' || line[e - 1] == b' ') {
                    edged += 1;
                }
            }
        }
    }
    (n, edged, filled)
}

/// The shape (with `%?` fields, and a `%q` where that helps) that matches most of the
/// `remaining` lines; ties go to the shape with more pieces. With it, the lines it
/// matched and their captures.
fn best_shape(
    lines: &[(&[u8], anchor::Anchor)],
    remaining: &[usize],
) -> Option<(Vec<Piece>, Prefix, Scored)> {
    let mut counts: Vec<(Vec<Piece>, usize)> = Vec::new();
    let shapes: Vec<Vec<Piece>> = remaining
        .par_iter()
        .with_min_len(MIN_SPLIT)
        .map(|&i| {
            let (line, a) = lines[i];
            shape::of_head(&line[..a.at])
        })
        .collect();
    for s in shapes {
        if let Some(c) = counts.iter_mut().find(|(p, _)| *p == s) {
            c.1 += 1;
        } else if counts.len() < 256 {
            counts.push((s, 1));
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    // Lines matched; then how many lines have the shape the candidate comes from (a
    // free-text field swallowing what most lines write as several fields loses to the
    // shape of those lines, and a `%q` variant of a rare shape to a common one); then
    // fewest values with a blank at an edge (PostgreSQL writes no name that way: the
    // `%q` of `%u - %q|` is not `%u %q- |`, which reads `' -'` as a user); then fields
    // filled.
    type Key = (usize, usize, std::cmp::Reverse<usize>, usize);
    type Best = Option<(Key, Vec<Piece>, Prefix, Scored)>;
    let mut best: Best = None;
    let mut caps = Vec::new();
    let mut scratch = Scored::default();
    let mut consider = |pieces: Vec<Piece>, freq: usize, best: &mut Best| {
        // Once a candidate matches every line, one from a rarer shape cannot beat it
        // (no candidate matches more lines): it is not scored. What it would have
        // returned only decides whether its `%q` variants are tried, and they cannot
        // beat it either.
        if best
            .as_ref()
            .is_some_and(|b| b.0 .0 == remaining.len() && freq < b.0 .1)
        {
            return 0;
        }
        let Ok(p) = Prefix::compile(&shape::render(&pieces)) else {
            return 0;
        };
        let at_least = best.as_ref().map_or(0, |b| b.0 .0);
        let (n, edged, filled) = score(&p, lines, remaining, at_least, &mut caps, &mut scratch);
        let key = (n, freq, edged, filled);
        if n > 0 && best.as_ref().is_none_or(|b| key > b.0) {
            let rec = match best.take() {
                Some((_, _, _, old)) => std::mem::replace(&mut scratch, old),
                None => std::mem::take(&mut scratch),
            };
            *best = Some((key, pieces, p, rec));
        }
        n
    };
    let mut partial = Vec::new();
    for (pieces, freq) in counts.into_iter().take(SHAPES_TRIED) {
        if consider(pieces.clone(), freq, &mut best) < remaining.len() {
            partial.push((pieces, freq));
        }
    }
    // Processes without a session stop at `%q`: try it before each field of the
    // shapes that did not explain every line.
    for (pieces, freq) in partial.into_iter().take(4) {
        for with_stop in stops(&pieces) {
            consider(with_stop, freq, &mut best);
        }
    }
    best.map(|(_, pieces, p, rec)| (pieces, p, rec))
}

/// `pieces` with a `%q` before a field, or inside a literal after a blank or a closing
/// bracket (`%m [%p] %q%u@%d `, `%m [%p]%q [%u@%d] `, `%m} %q|`).
fn stops(pieces: &[Piece]) -> Vec<Vec<Piece>> {
    let mut out = Vec::new();
    for at in 1..pieces.len() {
        if let Piece::Lit(l) = &pieces[at] {
            for cut in 1..l.len() {
                if !l[cut - 1].is_ascii_alphanumeric() {
                    let mut v = pieces[..at].to_vec();
                    v.push(Piece::Lit(l[..cut].to_vec()));
                    v.push(Piece::Stop);
                    v.push(Piece::Lit(l[cut..].to_vec()));
                    v.extend_from_slice(&pieces[at + 1..]);
                    out.push(v);
                }
            }
        } else if !matches!(pieces[at - 1], Piece::Stop) {
            let mut v = pieces.to_vec();
            v.insert(at, Piece::Stop);
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer_str(log: &str) -> (Vec<String>, Vec<String>) {
        let i = infer(log.as_bytes()).unwrap();
        (
            i.prefixes.iter().map(|p| p.as_str().to_string()).collect(),
            i.notes,
        )
    }

    #[test]
    fn nothing_matches_garbage() {
        assert!(infer(b"hello world\nthis is not a log\n").is_none());
    }

    /// Regression (found by `tests/infer_props.rs`, seed 11): the stop was put after the
    /// first blank, and the session-less lines' ` -` was read as a user.
    #[test]
    fn stop_after_the_whole_separator() {
        let log = " - LOG:  starting\n\
                   postgres - |LOG:  connection authorized: user=postgres database=bench\n\
                   postgres - |LOG:  duration: 1 ms  statement: select 1\n\
                   bob - |LOG:  duration: 1 ms  statement: select 2\n";
        let (p, _) = infer_str(log);
        assert_eq!(p, vec!["%u - %q|"]);
    }

    /// Regression (seed 7): `user=%u-%p-%v ` on a postmaster line is `user=-9072- `;
    /// the key named `-9072` the user.
    #[test]
    fn a_key_does_not_make_a_number_a_name() {
        let mut log = String::new();
        for pid in [9072, 9072, 9073] {
            log.push_str(&format!("user=-{pid}- LOG:  checkpoint starting: time\n"));
        }
        for pid in [9100, 9101] {
            log.push_str(&format!(
                "user=-{pid}- LOG:  connection received: host=[local]\n"
            ));
            log.push_str(&format!(
                "user=bob-{pid}- LOG:  disconnection: session time: 0:00:00.002\n"
            ));
        }
        let (p, _) = infer_str(&log);
        assert!(!p.iter().any(|p| p.contains("%u")), "{p:?}");
    }

    #[test]
    fn debian_prefix_with_q() {
        let log = "2026-11-24 05:35:14.949 CET [29040] LOG:  starting\n\
                   2026-11-24 05:35:15.018 CET [29058] postgres@bench LOG:  connection authorized: user=postgres database=bench\n\
                   2026-11-24 05:35:15.019 CET [29058] postgres@bench LOG:  duration: 1 ms  statement: select 1\n\
                   2026-11-24 05:35:15.020 CET [29058] postgres@bench LOG:  duration: 1 ms  statement: select 2\n\
                   2026-11-24 05:35:15.021 CET [29059] bob@shop LOG:  duration: 1 ms  statement: select 2\n";
        let (p, notes) = infer_str(log);
        assert_eq!(p, vec!["%m [%p] %q%u@%d "], "{notes:?}");
    }

    /// Regression: the database swallowed the rest of the prefix
    /// (`shop app=orders-api qid=-37945...`), and `qid=0` of the first line was frozen.
    #[test]
    fn key_value_fields_after_user_at_db() {
        let mut log = String::new();
        log.push_str("2026-11-24 05:35:14.949 UTC [100] LOG:  starting\n");
        for (pid, qid) in [
            (101, "0"),
            (101, "-3794512345678"),
            (102, "0"),
            (102, "77123456789012"),
        ] {
            log.push_str(&format!(
                "2026-11-24 05:35:15.018 UTC [{pid}] bob@shop app=orders-api qid={qid} LOG:  duration: 1 ms  statement: select 1\n"
            ));
        }
        log.push_str("2026-11-24 05:35:15.018 UTC [103] bob@shop app=orders-api qid=0 LOG:  connection authorized: user=bob database=shop application_name=orders-api\n");
        let (p, _) = infer_str(&log);
        assert_eq!(p, vec!["%m [%p] %q%u@%d app=%a qid=%Q "]);
    }
}
