//! Alert thresholds for scripts (`--fail-on`): a small expression language over the
//! finished report's totals and findings, and the thresholds it crossed.
//!
//! `--fail-on 'p95>500ms,lock_wait>30s,deadlocks>0,errors>100'` is a comma-separated
//! list of `METRIC OP VALUE` (OP is `>` or `>=`); `incident` alone means `incident>0`.
//! The decision lives here, once: the binary only prints the lines [`evaluate`]
//! returns and exits 4 when there is one. The metrics read the same figures the
//! reports show, so a crossed threshold can be checked against the report.
//!
//! | metric | what it reads | value |
//! |---|---|---|
//! | `p95`, `p99` | percentile of every timed execution (all fingerprints) | duration |
//! | `p95[FP]`, `p99[FP]` | the percentile of fingerprint FP (hex, a prefix is enough) | duration |
//! | `lock_wait` | the longest single lock wait | duration |
//! | `lock_wait_total` | the time waited for locks, summed | duration |
//! | `deadlocks` | `deadlock detected` errors | count |
//! | `errors` | ERROR + FATAL + PANIC | count |
//! | `errors[40]`, `errors[class 40]`, `errors[40P01]` | errors of a SQLSTATE class (2 characters) or code (5) | count |
//! | `temp_bytes` | bytes of temporary files | size |
//! | `refused` | connections refused for the connection limit (SQLSTATE 53300) | count |
//! | `incident` | incident spans found | count |

use crate::report::Report;

/// A bad `--fail-on` expression: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// An empty expression, or an empty item between commas.
    #[error("--fail-on: empty threshold in '{0}' (example: --fail-on 'p95>500ms,deadlocks>0')")]
    Empty(String),
    /// A metric pgferret does not know.
    #[error("--fail-on: unknown metric '{0}' (use {METRICS})")]
    Metric(String),
    /// An item without `>` or `>=`.
    #[error("--fail-on: '{0}' has no comparison (write METRIC>VALUE or METRIC>=VALUE)")]
    NoOperator(String),
    /// A value that cannot be read for its metric.
    #[error("--fail-on: '{item}': cannot read '{value}' as {what}")]
    Value {
        /// The whole item.
        item: String,
        /// The value.
        value: String,
        /// What was expected.
        what: &'static str,
    },
    /// A bad `[...]` argument.
    #[error("--fail-on: '{0}': {1}")]
    Argument(String, &'static str),
}

/// The metrics, as the error message lists them.
const METRICS: &str = "p95, p99, p95[FINGERPRINT], p99[FINGERPRINT], lock_wait, lock_wait_total, \
deadlocks, errors, errors[CLASS or SQLSTATE], temp_bytes, refused, incident; durations as 500ms, \
30s, 2m (a bare number is ms), sizes as 512KB, 1GB (a bare number is bytes)";

/// What a threshold reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    /// A percentile (95 or 99) over every execution, or of one fingerprint (a hex prefix).
    Percentile(u8, Option<String>),
    /// The longest single lock wait.
    LockWait,
    /// The time waited for locks, summed.
    LockWaitTotal,
    /// `deadlock detected` errors.
    Deadlocks,
    /// Errors, all or of a SQLSTATE class (2 characters) or code (5).
    Errors(Option<String>),
    /// Bytes of temporary files.
    TempBytes,
    /// Connections refused for the connection limit.
    Refused,
    /// Incident spans found.
    Incident,
}

/// How a value is read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ms,
    Count,
    Bytes,
}

impl Metric {
    fn unit(&self) -> Unit {
        match self {
            Metric::Percentile(..) | Metric::LockWait | Metric::LockWaitTotal => Unit::Ms,
            Metric::TempBytes => Unit::Bytes,
            _ => Unit::Count,
        }
    }
}

/// One threshold: `metric > limit` (or `>=`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The item as written, for the message.
    pub text: String,
    /// What it reads.
    pub metric: Metric,
    /// `>=` rather than `>`.
    pub or_equal: bool,
    /// The limit, in ms, a count or bytes.
    pub limit: f64,
}

/// Reads a `--fail-on` expression: comma-separated thresholds.
pub fn parse(expr: &str) -> Result<Vec<Threshold>, AlertError> {
    expr.split(',').map(|item| parse_item(item, expr)).collect()
}

fn parse_item(item: &str, expr: &str) -> Result<Threshold, AlertError> {
    let text: String = item.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(AlertError::Empty(expr.to_string()));
    }
    let (lhs, or_equal, rhs) = match text.find('>') {
        Some(i) if text[i + 1..].starts_with('=') => (&text[..i], true, &text[i + 2..]),
        Some(i) => (&text[..i], false, &text[i + 1..]),
        None if metric(&text).is_ok_and(|m| m == Metric::Incident) => (text.as_str(), false, "0"),
        None => {
            metric(&text)?;
            return Err(AlertError::NoOperator(text));
        }
    };
    let metric = metric(lhs.trim())?;
    let rhs = rhs.trim();
    let bad = |what| AlertError::Value {
        item: text.clone(),
        value: rhs.to_string(),
        what,
    };
    let limit = match metric.unit() {
        Unit::Ms => parse_ms(rhs).ok_or_else(|| bad("a duration (500ms, 2s, 1m)"))?,
        Unit::Bytes => crate::config::parse_size(rhs)
            .map(|b| b as f64)
            .or_else(|| (rhs == "0").then_some(0.0))
            .ok_or_else(|| bad("a size (512KB, 1GB, bytes)"))?,
        Unit::Count => rhs
            .parse::<u64>()
            .map(|n| n as f64)
            .map_err(|_| bad("a whole number"))?,
    };
    Ok(Threshold {
        text,
        metric,
        or_equal,
        limit,
    })
}

/// `p95`, `p99[ab12]`, `errors[class 40]`... → the metric.
fn metric(s: &str) -> Result<Metric, AlertError> {
    let (name, arg) = match s.find('[') {
        Some(i) if s.ends_with(']') => (s[..i].trim(), Some(s[i + 1..s.len() - 1].trim())),
        Some(_) => {
            return Err(AlertError::Argument(
                s.into(),
                "a '[' without its closing ']'",
            ))
        }
        None => (s.trim(), None),
    };
    let name = name.to_ascii_lowercase();
    let m = match (name.as_str(), arg) {
        ("p95", a) | ("p99", a) => Metric::Percentile(
            if name == "p95" { 95 } else { 99 },
            a.map(|a| fingerprint_arg(s, a)).transpose()?,
        ),
        ("errors", a) => Metric::Errors(a.map(|a| sqlstate_arg(s, a)).transpose()?),
        (_, Some(_)) => return Err(AlertError::Metric(s.into())),
        ("lock_wait", None) => Metric::LockWait,
        ("lock_wait_total", None) => Metric::LockWaitTotal,
        ("deadlocks", None) => Metric::Deadlocks,
        ("temp_bytes", None) => Metric::TempBytes,
        ("refused" | "refused_connections", None) => Metric::Refused,
        ("incident" | "incidents", None) => Metric::Incident,
        _ => return Err(AlertError::Metric(s.into())),
    };
    Ok(m)
}

fn fingerprint_arg(item: &str, a: &str) -> Result<String, AlertError> {
    let a = a.to_ascii_lowercase();
    if a.is_empty() || a.len() > 16 || !a.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AlertError::Argument(
            item.into(),
            "a fingerprint is up to 16 hex digits, as the report shows it",
        ));
    }
    Ok(a)
}

fn sqlstate_arg(item: &str, a: &str) -> Result<String, AlertError> {
    let code = a
        .strip_prefix("class")
        .map_or(a, str::trim)
        .to_ascii_uppercase();
    let ok = matches!(code.len(), 2 | 5) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(AlertError::Argument(
            item.into(),
            "give a SQLSTATE class (errors[40], errors[class 40]) or a code (errors[40P01])",
        ));
    }
    Ok(code)
}

/// `500ms`, `2s`, `1.5s`, `1m`, `1h`, `250` (ms) → milliseconds.
fn parse_ms(s: &str) -> Option<f64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..split].parse().ok().filter(|n: &f64| n.is_finite())?;
    let unit = match s[split..].trim() {
        "" | "ms" => 1.0,
        "us" | "µs" => 0.001,
        "s" | "sec" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(n * unit)
}

/// A threshold crossed: the line printed on stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossed {
    /// The threshold as written.
    pub threshold: String,
    /// The value the report has.
    pub value: f64,
    /// `threshold crossed: p95>500ms (p95 is 812.4 ms)`.
    pub message: String,
}

/// The thresholds `report` crosses, in the order given. A fingerprint the report does
/// not list reads as nothing (no execution): it crosses no threshold.
pub fn evaluate(report: &Report, thresholds: &[Threshold]) -> Vec<Crossed> {
    thresholds
        .iter()
        .filter_map(|t| {
            let value = value_of(report, &t.metric);
            let crossed = if t.or_equal {
                value >= t.limit
            } else {
                value > t.limit
            };
            crossed.then(|| Crossed {
                threshold: t.text.clone(),
                value,
                message: format!(
                    "threshold crossed: {} ({} is {})",
                    t.text,
                    name(&t.metric),
                    show(value, t.metric.unit())
                ),
            })
        })
        .collect()
}

/// The figure a metric reads from the report.
pub fn value_of(r: &Report, m: &Metric) -> f64 {
    match m {
        Metric::Percentile(p, None) => r.latency.map_or(0.0, |l| match p {
            95 => l.p95_ms,
            _ => l.p99_ms,
        }),
        Metric::Percentile(p, Some(fp)) => r
            .queries
            .iter()
            .find(|q| q.fingerprint.starts_with(fp.as_str()))
            .and_then(|q| if *p == 95 { q.p95_ms } else { q.p99_ms })
            .unwrap_or(0.0),
        Metric::LockWait => r
            .locks
            .by_relation
            .iter()
            .map(|l| l.max_ms)
            .chain(r.queries.iter().map(|q| q.max_lock_wait_ms))
            .fold(0.0, f64::max),
        Metric::LockWaitTotal => r.locks.wait_ms,
        Metric::Deadlocks => r.deadlocks.count as f64,
        Metric::Errors(None) => r.errors.errors as f64,
        Metric::Errors(Some(code)) => r
            .errors
            .by_sqlstate
            .iter()
            .filter(|s| s.sqlstate.len() == 5 && s.sqlstate.starts_with(code.as_str()))
            .map(|s| s.count)
            .sum::<u64>() as f64,
        Metric::TempBytes => r.temp_files.bytes as f64,
        Metric::Refused => r.errors.connection_limit as f64,
        Metric::Incident => r.findings.iter().filter(|f| f.kind == "incident").count() as f64,
    }
}

fn name(m: &Metric) -> String {
    match m {
        Metric::Percentile(p, None) => format!("p{p} of all statements"),
        Metric::Percentile(p, Some(fp)) => format!("p{p} of {fp}"),
        Metric::LockWait => "the longest lock wait".into(),
        Metric::LockWaitTotal => "the time waited for locks".into(),
        Metric::Deadlocks => "deadlocks".into(),
        Metric::Errors(None) => "errors".into(),
        Metric::Errors(Some(c)) if c.len() == 2 => format!("errors of class {c}"),
        Metric::Errors(Some(c)) => format!("errors {c}"),
        Metric::TempBytes => "temp file bytes".into(),
        Metric::Refused => "refused connections".into(),
        Metric::Incident => "incidents found".into(),
    }
}

fn show(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{} ms", (v * 1000.0).round() / 1000.0),
        Unit::Count => format!("{v}"),
        Unit::Bytes => format!("{v} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_issue_example() {
        let t = parse("p95>500ms,lock_wait>30s,deadlocks>0,errors>100").unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[0].metric, Metric::Percentile(95, None));
        assert_eq!(t[0].limit, 500.0);
        assert_eq!(t[1].metric, Metric::LockWait);
        assert_eq!(t[1].limit, 30_000.0);
        assert_eq!((t[2].metric.clone(), t[2].limit), (Metric::Deadlocks, 0.0));
        assert_eq!(
            (t[3].metric.clone(), t[3].limit),
            (Metric::Errors(None), 100.0)
        );
    }

    #[test]
    fn arguments_and_forms() {
        let t = parse(
            " p99[ABC123] >= 1.5s , errors[class 40]>2,errors[40P01]>0,incident,temp_bytes>1GB",
        )
        .unwrap();
        assert_eq!(t[0].metric, Metric::Percentile(99, Some("abc123".into())));
        assert!(t[0].or_equal);
        assert_eq!(t[0].limit, 1500.0);
        assert_eq!(t[1].metric, Metric::Errors(Some("40".into())));
        assert_eq!(t[2].metric, Metric::Errors(Some("40P01".into())));
        assert_eq!((t[3].metric.clone(), t[3].limit), (Metric::Incident, 0.0));
        assert_eq!(t[4].limit, (1u64 << 30) as f64);
    }

    #[test]
    fn refuses_bad_expressions() {
        assert!(matches!(parse("p95>"), Err(AlertError::Value { .. })));
        assert!(matches!(parse("p97>1s"), Err(AlertError::Metric(_))));
        assert!(matches!(parse("deadlocks"), Err(AlertError::NoOperator(_))));
        assert!(matches!(parse("p95>1s,,"), Err(AlertError::Empty(_))));
        assert!(matches!(parse("errors>1.5"), Err(AlertError::Value { .. })));
        assert!(matches!(
            parse("errors[4]>1"),
            Err(AlertError::Argument(..))
        ));
        assert!(matches!(parse("p95[xyz]>1"), Err(AlertError::Argument(..))));
        assert!(matches!(
            parse("p95>5 parsecs"),
            Err(AlertError::Value { .. })
        ));
        let msg = parse("latency>1s").unwrap_err().to_string();
        assert!(
            msg.contains("p95[FINGERPRINT]") && msg.contains("refused"),
            "{msg}"
        );
    }
}
