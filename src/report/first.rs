//! The first screen of the HTML report: the findings in sentences, with links to the
//! sections that hold their evidence. Nothing is decided here: every sentence and
//! figure comes from [`crate::diagnose`]'s findings, only arranged and linked.

use super::model::Report;
use super::sql::highlight;
use crate::diagnose::{Detail, Finding};

/// Causes shown per incident besides the first.
const MORE_CAUSES: usize = 2;
/// Regressions shown per incident.
const REGRESSIONS: usize = 3;

/// What the first screen shows of one incident.
pub struct IncidentBox {
    /// The span, in a sentence.
    pub span: String,
    /// The most plausible cause: (sentence, confidence).
    pub cause: Option<(String, &'static str)>,
    /// What else changed before the onset: short sentences.
    pub also: Vec<String>,
    /// (fingerprint, highlighted short SQL, "before → during" in words).
    pub regressions: Vec<(String, String, String)>,
    /// More regressions than shown.
    pub more_regressions: usize,
    /// The logging threshold's caveat, when it applies.
    pub threshold: Option<String>,
}

/// The first screen.
pub struct FirstScreen {
    /// One box per incident.
    pub incidents: Vec<IncidentBox>,
    /// The relation waited on most, in a sentence, and its top blocker's fingerprint.
    pub lock: Option<(String, Option<String>)>,
    /// What the log cannot tell: the first of the facts.
    pub cannot_tell: Option<String>,
}

fn confidence(f: &Finding) -> &'static str {
    match f.confidence {
        crate::diagnose::Confidence::High => "high",
        crate::diagnose::Confidence::Medium => "medium",
        crate::diagnose::Confidence::Low => "low",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "?".into(), super::text::human_ms)
}

/// "below 5 ms (not logged) → 125 ms mean, ≥ 25×, 6,190 runs".
fn before_during(d: &crate::diagnose::regress::RegressionDetail, threshold: Option<f64>) -> String {
    let during = format!(
        "{} mean over {} runs",
        ms(d.during.mean_ms),
        super::text::thousands(d.during.count)
    );
    if d.ratio_is_lower_bound {
        format!(
            "not logged before (under {}) → {during}: ≥ {}× slower",
            ms(threshold),
            crate::diagnose::times(d.ratio)
        )
    } else {
        format!(
            "{} → {during} (p95 {} → {}): {}× slower",
            ms(d.before.mean_ms),
            ms(d.before.p95_ms),
            ms(d.during.p95_ms),
            crate::diagnose::times(d.ratio)
        )
    }
}

fn incident_box(r: &Report, n: usize) -> Option<IncidentBox> {
    let of = |kind: &'static str| {
        r.findings
            .iter()
            .filter(move |f| f.kind == kind && f.incident == Some(n))
    };
    let span = of("incident").next()?.sentence.clone();
    let mut causes = of("cause");
    let cause = causes.next().map(|f| (f.sentence.clone(), confidence(f)));
    let also = causes
        .take(MORE_CAUSES)
        .map(|f| {
            f.sentence
                .replace("Also changed before the onset of ", "Also before ")
        })
        .collect();
    let threshold = r.log_facts.inferred_min_duration_ms;
    let regs: Vec<&Finding> = of("regression").collect();
    let regressions = regs
        .iter()
        .take(REGRESSIONS)
        .filter_map(|f| match &f.detail {
            Detail::Regression(d) => Some((
                d.fingerprint.clone(),
                highlight(&d.query, Some(90)),
                before_during(d, threshold),
            )),
            _ => None,
        })
        .collect();
    Some(IncidentBox {
        span,
        cause,
        also,
        regressions,
        more_regressions: regs.len().saturating_sub(REGRESSIONS),
        threshold: of("threshold").next().map(|f| f.sentence.clone()),
    })
}

/// The first screen of `r`.
pub fn build(r: &Report) -> FirstScreen {
    let n = r.findings.iter().filter(|f| f.kind == "incident").count();
    let lock = r
        .findings
        .iter()
        .find(|f| f.kind == "lock_hotspot")
        .map(|f| {
            let fp = match &f.detail {
                Detail::LockHotspot(d) => d.blockers.first().and_then(|b| b.fingerprint.clone()),
                _ => None,
            };
            (f.sentence.clone(), fp)
        });
    FirstScreen {
        incidents: (1..=n).filter_map(|i| incident_box(r, i)).collect(),
        lock,
        cannot_tell: r.log_facts.notes.first().cloned(),
    }
}

/// The same findings in the text summary: one line each, indented under a heading.
pub fn write_text(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if r.findings.is_empty() {
        return Ok(());
    }
    writeln!(out, "findings:")?;
    let first = build(r);
    for b in &first.incidents {
        writeln!(out, "  {}", b.span)?;
        if let Some((c, conf)) = &b.cause {
            writeln!(out, "    [{conf}] {c}")?;
        }
        for a in &b.also {
            writeln!(out, "    {a}")?;
        }
        for (fp, _, said) in &b.regressions {
            let q = r
                .findings
                .iter()
                .find_map(|f| match &f.detail {
                    Detail::Regression(d) if d.fingerprint == *fp => Some(d.query.as_str()),
                    _ => None,
                })
                .unwrap_or("");
            writeln!(
                out,
                "    slower: {} — {said}",
                crate::diagnose::short(q, 70)
            )?;
        }
        if let Some(t) = &b.threshold {
            writeln!(out, "    note: {t}")?;
        }
    }
    if let Some((l, _)) = &first.lock {
        writeln!(out, "  waited on most: {l}")?;
    }
    Ok(())
}
