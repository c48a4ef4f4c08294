//! The validated configuration, built once from the command line.

use crate::aggregate::AggOptions;
use crate::cli::AnalyzeArgs;
use crate::input::{Source, CHUNK_SIZE, MAX_ENTRY};
use crate::parse::format::LogFormat;
use crate::parse::Prefix;
use crate::range::{Range, UserTime};
use crate::report::tz::DisplayTz;
use crate::report::Format;

/// A bad argument: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No input given.
    #[error("no log file given (use '-' to read stdin)")]
    NoInput,
    /// `--save` with an option a saved state does not carry yet.
    #[error("--save cannot be combined with {0} (a state holds whole logs; filter when merging is not supported yet)")]
    SaveFiltered(&'static str),
    /// `--state` with an option an incremental run cannot apply.
    #[error("--state cannot be combined with {0}")]
    StateRefused(&'static str),
    /// `--prefix` does not compile.
    #[error("--prefix: {0}")]
    Prefix(#[from] crate::parse::prefix::PrefixError),
    /// An unreadable time.
    #[error(
        "--{flag}: cannot read '{value}' as a time (use 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM[:SS]' in the log's own zone, or RFC 3339)"
    )]
    Time {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
    },
    /// An unreadable window width.
    #[error("--window: cannot read '{0}' as a duration (examples: 30s, 1m, 5m, 1h)")]
    Window(String),
    /// An output with an unknown extension.
    #[error("-o {0}: unknown report format (use .html, .json, .txt, .md, .parquet or -)")]
    OutputFormat(String),
    /// An unknown `--output-format`.
    #[error("--output-format {0}: unknown report format (use html, json, text or md)")]
    StdoutFormat(String),
    /// `--begin` after `--end`.
    #[error("--begin is after --end")]
    EmptyRange,
    /// An unknown `--format`.
    #[error("--format: unknown log format '{0}' (use stderr, csv, json, syslog, heroku, cloudsql or cloudnativepg)")]
    Format(String),
    /// An unknown `--tz`.
    #[error("--tz: {0}")]
    Tz(String),
    /// An unknown `--log-tz`.
    #[error("--log-tz: {0}")]
    LogTz(String),
    /// A bad filter.
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),
    /// A bad `--fail-on` expression.
    #[error(transparent)]
    FailOn(#[from] crate::diagnose::alerts::AlertError),
    /// An unreadable `--max-entry`.
    #[error("--max-entry: cannot read '{0}' as a size (examples: 64MB, 512KB, 1GB, 1048576)")]
    MaxEntry(String),
    /// An unknown `--anonymize` value.
    #[error("--anonymize: unknown value '{0}' (use --anonymize, --anonymize=values or --anonymize=names)")]
    Anonymize(String),
    /// Zero jobs.
    #[error("--jobs must be at least 1")]
    Jobs,
    /// `-` given more than once: standard input can be read only once.
    #[error("'-' (standard input) is given more than once; it can be read only once")]
    StdinTwice,
    /// `--anonymize` with a Parquet export (its rows carry the names and texts).
    #[error("--anonymize does not apply to a Parquet export (its rows carry names as logged): leave out -o {0} or --anonymize")]
    AnonymizedExport(String),
    /// Stdout named by more than one `-o`.
    #[error("-o -: standard output is given more than once; give it once")]
    StdoutTwice,
    /// An output that cannot be written (checked before the analysis).
    #[error("-o {path}: cannot write the report there: {why}")]
    Unwritable {
        /// The path.
        path: String,
        /// Why.
        why: String,
    },
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// A path, or `-` for stdout.
    pub path: String,
    /// Its format.
    pub format: Format,
}

/// Everything an analysis run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The logs.
    pub inputs: Vec<Source>,
    /// The outputs.
    pub outputs: Vec<Output>,
    /// The user's prefix.
    pub prefix: Option<Prefix>,
    /// The user's format.
    pub format: Option<LogFormat>,
    /// The display time zone (`--tz`); the log's own when `None`.
    pub tz: Option<DisplayTz>,
    /// Threads.
    pub jobs: usize,
    /// Aggregation options (`begin`/`end` are placed from `range` once the log's
    /// clock is known).
    pub agg: AggOptions,
    /// `--begin`/`--end`/`--log-tz` as given.
    pub range: Range,
    /// Print a summary on stderr.
    pub summary: bool,
    /// `--quiet`: nothing on stderr but warnings and errors.
    pub quiet: bool,
    /// Chunk size in bytes.
    pub chunk_size: usize,
    /// `--max-entry` in bytes.
    pub max_entry: usize,
    /// `--year`: the year of a traditional syslog log's first line.
    pub year: Option<i64>,
    /// How the report is shared: `--anonymize`, `--title`, `--top`.
    pub share: Share,
    /// Where, machines and hosts: `--save`, `--host`, `--only-host`.
    pub fleet: Fleet,
    /// `--fail-on`: the alert thresholds (exit 4 when one is crossed).
    pub fail_on: Vec<crate::diagnose::alerts::Threshold>,
}

/// How the report is shared (issue 13): applied to the view model once it is built.
#[derive(Debug, Clone, Default)]
pub struct Share {
    /// `--anonymize`.
    pub anonymize: Option<crate::report::anonymize::Anonymize>,
    /// `--title`.
    pub title: Option<String>,
    /// `--top`.
    pub top: Option<usize>,
    /// The options that change what the report holds, as given (for its header).
    pub options: Vec<String>,
}

/// `--save`, `--host`, `--only-host`.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// `--save FILE.pgf`.
    pub save: Option<String>,
    /// `--host NAME`.
    pub host: Option<String>,
    /// `--only-host NAME`.
    pub only_host: Option<String>,
    /// `--outdir DIR`: a report per day, week and month, and an index.
    pub outdir: Option<std::path::PathBuf>,
    /// `--retention N`: days of reports kept in the outdir.
    pub retention: Option<u32>,
    /// `--state DIR`.
    pub state: Option<String>,
}

/// The default report path.
pub const DEFAULT_OUTPUT: &str = "pgferret-report.html";

impl Config {
    /// Validates the arguments.
    pub fn from_args(a: &AnalyzeArgs) -> Result<Config, ConfigError> {
        if a.inputs.is_empty() {
            return Err(ConfigError::NoInput);
        }
        if a.inputs.iter().filter(|i| *i == "-").count() > 1 {
            return Err(ConfigError::StdinTwice);
        }
        let time = |flag: &'static str, v: &Option<String>| -> Result<_, ConfigError> {
            v.as_deref()
                .map(|s| {
                    UserTime::parse(s)
                        .map(|t| (s.to_string(), t))
                        .ok_or_else(|| ConfigError::Time {
                            flag,
                            value: s.to_string(),
                        })
                })
                .transpose()
        };
        let range = Range {
            begin: time("begin", &a.begin)?,
            end: time("end", &a.end)?,
            log_tz: a
                .log_tz
                .as_deref()
                .map(|z| z.parse().map_err(ConfigError::LogTz))
                .transpose()?,
        };
        // Values on the same footing can be compared now; the others once the log's
        // clock is known.
        if let (Some((_, b)), Some((_, e))) = (&range.begin, &range.end) {
            let wrong = match (b, e) {
                (UserTime::Instant(b), UserTime::Instant(e)) => b > e,
                (UserTime::Local(b), UserTime::Local(e)) => b > e,
                _ => false,
            };
            if wrong {
                return Err(ConfigError::EmptyRange);
            }
        }
        let window_ms = a
            .window
            .as_deref()
            .map(|w| parse_window(w).ok_or_else(|| ConfigError::Window(w.to_string())))
            .transpose()?;
        let default_outputs = vec![DEFAULT_OUTPUT.to_string()];
        let outputs = if a.outputs.is_empty() {
            &default_outputs
        } else {
            &a.outputs
        };
        let stdout_format = a
            .output_format
            .as_deref()
            .map(|f| Format::from_name(f).ok_or_else(|| ConfigError::StdoutFormat(f.to_string())))
            .transpose()?;
        let outputs = outputs
            .iter()
            .map(|p| {
                let by_path = Format::from_path(p);
                match stdout_format {
                    Some(f) if p == "-" => Some(f),
                    _ => by_path,
                }
                .map(|format| Output {
                    path: p.clone(),
                    format,
                })
                .ok_or_else(|| ConfigError::OutputFormat(p.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(o) = outputs.iter().find(|o| o.format == Format::Parquet) {
            if a.anonymize.is_some() {
                return Err(ConfigError::AnonymizedExport(o.path.clone()));
            }
        }
        let rows = outputs.iter().any(|o| o.format == Format::Parquet);
        let jobs = match a.jobs {
            Some(0) => return Err(ConfigError::Jobs),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let filters = filters(&a.filters)?;
        if a.save.is_some() {
            if range.begin.is_some() || range.end.is_some() {
                return Err(ConfigError::SaveFiltered("--begin/--end"));
            }
            if filters.is_some() {
                return Err(ConfigError::SaveFiltered(
                    "the filters (--db, --exclude-time...)",
                ));
            }
        }
        if a.state.is_some() {
            state_refuses(a, filters.is_some(), rows)?;
        }
        Ok(Config {
            inputs: a.inputs.iter().map(|s| Source::from_arg(s)).collect(),
            summary: !a.quiet && a.outputs.is_empty(),
            quiet: a.quiet,
            outputs,
            prefix: a.prefix.as_deref().map(Prefix::compile).transpose()?,
            tz: a
                .tz
                .as_deref()
                .map(|z| z.parse().map_err(ConfigError::Tz))
                .transpose()?,
            format: a
                .format
                .as_deref()
                .map(|f| LogFormat::from_name(f).ok_or_else(|| ConfigError::Format(f.to_string())))
                .transpose()?,
            jobs,
            range,
            agg: AggOptions {
                begin: None,
                end: None,
                window_ms,
                filters,
                rows,
                max_fingerprints: a
                    .max_fingerprints
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            },
            chunk_size: a.chunk_size.unwrap_or(CHUNK_SIZE).max(1),
            max_entry: match a.max_entry.as_deref() {
                None => MAX_ENTRY,
                Some(s) => parse_size(s).ok_or_else(|| ConfigError::MaxEntry(s.to_string()))?,
            },
            year: a.year,
            share: share(a)?,
            fleet: Fleet {
                save: a.save.clone(),
                state: a.state.clone(),
                host: a.host.clone(),
                only_host: a.only_host.clone(),
                outdir: a.outdir.clone(),
                retention: a.retention,
            },
            fail_on: a
                .fail_on
                .iter()
                .map(|e| crate::diagnose::alerts::parse(e))
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
        })
    }
}

/// What `--state DIR` cannot be combined with: a state holds whole logs (no range,
/// no filters, no export rows) read from files it can find again (not stdin).
fn state_refuses(a: &AnalyzeArgs, filtered: bool, rows: bool) -> Result<(), ConfigError> {
    let refused = if a.begin.is_some() || a.end.is_some() {
        Some("--begin/--end (the state holds whole logs)")
    } else if filtered {
        Some("the filters (--db, --exclude-time...: the state holds whole logs)")
    } else if rows {
        Some("-o FILE.parquet (an export is made from the logs as they are read)")
    } else if a.inputs.iter().any(|i| i == "-") {
        Some("stdin (-): a stream cannot be read again from where the last run stopped")
    } else {
        None
    };
    refused.map_or(Ok(()), |r| Err(ConfigError::StateRefused(r)))
}

/// `--anonymize`, `--title`, `--top`, and the options the report's header names.
fn share(a: &AnalyzeArgs) -> Result<Share, ConfigError> {
    use crate::report::anonymize::Anonymize;
    let anonymize = a
        .anonymize
        .as_deref()
        .map(|v| Anonymize::from_name(v).ok_or_else(|| ConfigError::Anonymize(v.to_string())))
        .transpose()?;
    let mut options = Vec::new();
    let mut say = |flag: &str, v: &Option<String>| {
        if let Some(v) = v {
            options.push(format!("{flag} {v}"));
        }
    };
    say("--begin", &a.begin);
    say("--end", &a.end);
    say("--log-tz", &a.log_tz);
    say("--window", &a.window);
    say("--prefix", &a.prefix);
    say("--format", &a.format);
    say("--top", &a.top.map(|n| n.to_string()));
    if let Some(tz) = &a.tz {
        options.push(format!("--tz {tz}"));
    }
    match anonymize {
        Some(Anonymize::Values) => options.push("--anonymize".into()),
        Some(Anonymize::Names) => options.push("--anonymize=names".into()),
        None => {}
    }
    Ok(Share {
        anonymize,
        title: a.title.clone(),
        top: a.top.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        options,
    })
}

/// The filters, compiled (`None` when no filter is given).
fn filters(
    f: &crate::cli::FilterFlags,
) -> Result<Option<std::sync::Arc<crate::filter::Filters>>, ConfigError> {
    let args = crate::filter::FilterArgs {
        include: [
            f.db.clone(),
            f.user.clone(),
            f.app.clone(),
            f.client.clone(),
        ],
        exclude: [
            f.exclude_db.clone(),
            f.exclude_user.clone(),
            f.exclude_app.clone(),
            f.exclude_client.clone(),
        ],
        query_id: f.query_id.clone(),
        include_query: f.include_query.clone(),
        exclude_query: f.exclude_query.clone(),
        select_only: f.select_only,
        include_time: f.include_time.clone(),
        exclude_time: f.exclude_time.clone(),
    };
    Ok(crate::filter::Filters::build(&args)?.map(std::sync::Arc::new))
}

/// Checks that every output file can be written, before a long analysis: its directory
/// exists and a file can be created there (or the existing file opened for writing).
/// Nothing is left behind: a file created to check is removed, an existing one is not
/// truncated.
pub fn check_outputs(outputs: &[Output]) -> Result<(), ConfigError> {
    if outputs
        .iter()
        .filter(|o| crate::report::is_stdout(&o.path))
        .count()
        > 1
    {
        return Err(ConfigError::StdoutTwice);
    }
    if let Some(o) = outputs
        .iter()
        .find(|o| crate::report::is_stdout(&o.path) && o.format == Format::Parquet)
    {
        return Err(ConfigError::Unwritable {
            path: o.path.clone(),
            why: "a Parquet export is written to a file, not to stdout".into(),
        });
    }
    for o in outputs
        .iter()
        .filter(|o| !crate::report::is_stdout(&o.path))
    {
        check_writable(std::path::Path::new(&o.path)).map_err(|why| ConfigError::Unwritable {
            path: o.path.clone(),
            why,
        })?;
    }
    Ok(())
}

fn check_writable(path: &std::path::Path) -> Result<(), String> {
    use std::fs::OpenOptions;
    if path.is_dir() {
        return Err("it is a directory".into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("no directory {}", dir.display()));
    }
    if path.exists() {
        return OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| e.to_string());
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// `90s`, `1m`, `5min`, `2h`, `1d` (a bare number is seconds) → milliseconds.
pub fn parse_window(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: i64 = s[..split].parse().ok().filter(|&n| n > 0)?;
    let unit = match s[split..].trim() {
        "" | "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `64MB`, `64M`, `64MiB`, `512kb`, `1G`, `1048576` (bytes) → bytes; units are
/// powers of 1024. Zero is refused.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: usize = s[..split].parse().ok().filter(|&n| n > 0)?;
    let shift = match s[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MB"), Some(64 << 20));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("1 TB"), None);
        assert_eq!(parse_size("MB"), None);
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("1m"), Some(60_000));
        assert_eq!(parse_window("30s"), Some(30_000));
        assert_eq!(parse_window("90"), Some(90_000));
        assert_eq!(parse_window("2h"), Some(7_200_000));
        assert_eq!(parse_window("0s"), None);
        assert_eq!(parse_window("1 fortnight"), None);
    }
}
