//! Command-line arguments, as clap parses them. Nothing downstream sees these types:
//! [`crate::config::Config`] validates them once.

use clap::{Args, Parser, Subcommand};

/// Ferret out what went wrong in a PostgreSQL incident from the server's own logs.
#[derive(Debug, Parser)]
#[command(
    name = "pgferret",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A subcommand; without one, pgferret analyses logs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log analysis arguments.
    #[command(flatten)]
    pub analyze: AnalyzeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the fingerprint and normalized text of SQL statements.
    Fingerprint(FingerprintArgs),
    /// Compare two periods: `diff BEFORE AFTER` (two JSON reports pgferret wrote, or
    /// two logs), `diff --before LOG... --after LOG...`, or `diff LOG... --baseline
    /// TIME..TIME`. Text on stdout unless -o says otherwise.
    #[command(
        mut_arg("inputs", |a| a
            .value_name("BEFORE AFTER | LOG")
            .help("BEFORE and AFTER: each a JSON report pgferret wrote or a log; with --baseline, the logs")),
        mut_arg("outputs", |a| a
            .help("Write the comparison here; the extension picks the format (.html, .json, .txt); `-` is the text on stdout. May repeat. Default: the text on stdout"))
    )]
    Diff(Box<DiffArgs>),
    /// Merge states saved by `--save FILE.pgf` (any number, any order) into one
    /// report: the same report as one run over all their logs.
    #[command(
        mut_arg("inputs", |a| a
            .value_name("STATE")
            .help("States written by --save (FILE.pgf), in any order")))]
    Merge(Box<MergeArgs>),
    /// Serve a page where logs are uploaded and analysed: `serve --listen
    /// 127.0.0.1:8080 --data DIR`, then open the address it prints.
    Serve(ServeArgs),
}

/// `pgferret merge`: the positional arguments are saved states; the output options
/// (-o, --tz, --title, --top, --anonymize, --only-host, --save) apply.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The states and the output options.
    #[command(flatten)]
    pub analyze: AnalyzeArgs,
}

/// `pgferret serve`: a small web server for uploading logs (see [`crate::serve`]).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (`127.0.0.1:0` picks a free port; the address bound is
    /// printed on stderr). Any address that is not loopback needs --token.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where reports (and uploads, while they are analysed) are kept.
    #[arg(long, value_name = "DIR", default_value = "pgferret-data")]
    pub data: std::path::PathBuf,
    /// Every request must carry `Authorization: Bearer TOKEN` (or the cookie the page
    /// sets once the token is typed in).
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from the first line of this file instead.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
    /// The largest upload (all files of one request together): `4GB`, `500MB`... (units
    /// of 1024: `4GB` = `4GiB`).
    #[arg(long, value_name = "SIZE", default_value = "4GB")]
    pub max_upload: String,
    /// Uploads analysed at once; one more is refused with 429.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// The disk the kept reports may use (`10GB`); the oldest are removed past it.
    #[arg(long, value_name = "SIZE", default_value = "10GB")]
    pub retention: String,
    /// Keep the uploaded logs beside their report (they count in --retention);
    /// by default they are deleted once analysed.
    #[arg(long)]
    pub keep_logs: bool,
}

/// `pgferret diff`: the positional arguments are BEFORE and AFTER (each a JSON report
/// or a log), or the logs of `--baseline`; the analysis options apply to both sides.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The logs of the period before (files or directories; instead of BEFORE).
    #[arg(long, num_args = 1.., value_name = "LOG")]
    pub before: Vec<String>,
    /// The logs of the period after (instead of AFTER).
    #[arg(long, num_args = 1.., value_name = "LOG")]
    pub after: Vec<String>,
    /// BEFORE AFTER, the analysis options and -o.
    #[command(flatten)]
    pub analyze: AnalyzeArgs,
}

/// `pgferret fingerprint`.
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Statements; without any, statements are read from stdin, one per line.
    pub sql: Vec<String>,
    /// Statements on stdin are separated by NUL bytes, not newlines.
    #[arg(short = 'z', long = "null-data")]
    pub nul: bool,
}

/// Log analysis.
#[derive(Debug, Args, Clone)]
pub struct AnalyzeArgs {
    /// Log files to read (any order); `-` reads stdin.
    #[arg(value_name = "LOG")]
    pub inputs: Vec<String>,
    /// Write a report here; the extension picks the format (.html, .json, .txt, .md);
    /// `-` is the text summary on stdout (see --output-format), `-.json` (`-.md`,
    /// `-.html`) that format on stdout. May repeat. Default: pgferret-report.html.
    #[arg(
        short,
        long = "output",
        value_name = "PATH",
        allow_hyphen_values = true
    )]
    pub outputs: Vec<String>,
    /// The server's log_line_prefix; inferred from the log when absent.
    #[arg(long, value_name = "LOG_LINE_PREFIX", allow_hyphen_values = true)]
    pub prefix: Option<String>,
    /// The log format: stderr, csv, json, syslog, heroku, cloudsql,
    /// cloudnativepg or pgbouncer
    /// (default: detected per file).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The year of a syslog log's first line, when its headers have none
    /// (`Nov 30 12:00:00`); default: the file's modification time.
    #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i64).range(1970..=9999))]
    pub year: Option<i64>,
    /// Ignore entries before this time, as the log prints it: `YYYY-MM-DD HH:MM[:SS]`
    /// in the log's own zone, `HH:MM[:SS]` on the log's first day, or with a zone
    /// (RFC 3339, `... CET`).
    #[arg(long, value_name = "TIME")]
    pub begin: Option<String>,
    /// Ignore entries after this time (same forms as --begin; a time of day is on
    /// --begin's day, or the next when it is earlier).
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// The zone of --begin/--end values without one (default: the zone the log's
    /// timestamps carry): a name (Europe/Berlin), UTC or an offset (+02:00).
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub log_tz: Option<String>,
    /// Filters (see [`FilterFlags`]).
    #[command(flatten)]
    pub filters: FilterFlags,
    /// Time zone the HTML, text and Markdown reports show times in: a name
    /// (Europe/Berlin), UTC or an offset (+02:00). Default: the log's own zone, from
    /// its first timestamps (UTC when they show none). JSON times stay UTC.
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Width of the timeline windows (`30s`, `1m`, `5m`, `1h`); automatic by default.
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Keep at most N fingerprints (default 1,000,000, about 1 GB); past that the ones
    /// with the least total time are folded into one "other" row whose counts and
    /// totals stay exact.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_fingerprints: Option<u64>,
    // Sharing the report (issue 13).
    /// Replace every literal and parameter value in the report by a token (the same
    /// value, the same token everywhere in the run): `--anonymize` or
    /// `--anonymize=values`; `--anonymize=names` also maps database, user,
    /// application and client host names, and cuts input paths to their file names.
    #[arg(long, value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "values")]
    pub anonymize: Option<String>,
    /// A title for the report (HTML, text and JSON).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Rows of each top table in the HTML and the text summary (default: 20 in the HTML,
    /// 10 in the text); the JSON lists every query (up to 1,000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub top: Option<u64>,
    /// Compare instead of report: this window of the log is the reference period
    /// (`14:00..14:30`, times as for --begin, either side may be empty), compared with
    /// --compare, or else with the first incident span found outside it, or else the
    /// rest of the log. Windows are half-open: an entry at 14:30 is in 14:30..15:00.
    /// The comparison goes to stdout as text unless -o says otherwise.
    #[arg(long, value_name = "TIME..TIME", conflicts_with_all = ["begin", "end"])]
    pub baseline: Option<String>,
    /// The window compared with --baseline (`14:30..15:00`).
    #[arg(long, value_name = "TIME..TIME", requires = "baseline")]
    pub compare: Option<String>,
    /// The format written to stdout by `-o -`: text (default), md, json or html.
    #[arg(long, value_name = "FORMAT")]
    pub output_format: Option<String>,
    /// Exit 4, with one line per threshold crossed on stderr, when the report crosses
    /// one of these thresholds (once the report is written): `p95>500ms`,
    /// `p99[FINGERPRINT]>2s`, `lock_wait>30s` (longest wait), `lock_wait_total>5m`,
    /// `deadlocks>0`, `errors>100`, `errors[class 40]>0`, `temp_bytes>1GB`,
    /// `refused>0`, `incident`; comma-separated, may repeat.
    #[arg(long, value_name = "EXPR")]
    pub fail_on: Vec<String>,
    /// Do not print the summary on the terminal, nor where the reports were written.
    #[arg(short, long)]
    pub quiet: bool,
    /// The longest log entry read whole (`64MB`, `512KB`, `1GB`, bytes); the rest of a
    /// longer one (a log that ends in gigabytes of NUL bytes after a crash) is passed
    /// over and reported. Default: 64MB.
    #[arg(long, value_name = "SIZE")]
    pub max_entry: Option<String>,
    /// Also write the run's mergeable state here (FILE.pgf), for `pgferret merge`.
    #[arg(long, value_name = "FILE.pgf")]
    pub save: Option<String>,
    /// Read incrementally: DIR remembers how far each log was read and what it held;
    /// the next run reads only what is new (following rotation) and reports on all
    /// of it (docs/state-dir.md).
    #[arg(long, value_name = "DIR")]
    pub state: Option<String>,
    /// The host the logs come from (all of them); else a syslog header's hostname,
    /// else the file's name. A merged report shows hosts side by side.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Report on the logs of this host only (as --host, the syslog hostname or the
    /// file's name tell it).
    #[arg(long, value_name = "NAME")]
    pub only_host: Option<String>,
    /// Write one report per day, ISO week and month into DIR (day/2026-11-30.html,
    /// week/2026-W49.html, month/2026-11.html, each with its .json) and an index.html;
    /// days are calendar days in the zone of --tz (default: the log's own).
    #[arg(long, value_name = "DIR")]
    pub outdir: Option<std::path::PathBuf>,
    /// With --outdir: keep the reports of the last N days (counted back from the
    /// newest day reported); older days, and weeks and months wholly before them,
    /// are removed.
    #[arg(long, value_name = "N", requires = "outdir", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention: Option<u32>,
    /// Chunk size in bytes for parallel parsing (tuning and tests).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub chunk_size: Option<usize>,
}

/// Filters: include and exclude by session field, statement and time of day. Globs
/// (`*`, `?`, `[...]`) match whole values; every flag may repeat.
#[derive(Debug, Args, Default, Clone)]
pub struct FilterFlags {
    /// Only entries of these databases (globs; repeatable: --db shop --db billing).
    #[arg(long = "db", value_name = "GLOB")]
    pub db: Vec<String>,
    /// Only entries of these users (globs).
    #[arg(long = "user", value_name = "GLOB")]
    pub user: Vec<String>,
    /// Only entries of these applications (globs).
    #[arg(long = "app", value_name = "GLOB")]
    pub app: Vec<String>,
    /// Only entries from these client hosts (globs over %h/%r's host, `[local]` for
    /// unix sockets).
    #[arg(long = "client", value_name = "GLOB")]
    pub client: Vec<String>,
    /// Leave out entries of these databases (globs).
    #[arg(long = "exclude-db", value_name = "GLOB")]
    pub exclude_db: Vec<String>,
    /// Leave out entries of these users (globs).
    #[arg(long = "exclude-user", value_name = "GLOB")]
    pub exclude_user: Vec<String>,
    /// Leave out entries of these applications (globs: --exclude-app 'pg_dump*').
    #[arg(long = "exclude-app", value_name = "GLOB")]
    pub exclude_app: Vec<String>,
    /// Leave out entries from these client hosts (globs).
    #[arg(long = "exclude-client", value_name = "GLOB")]
    pub exclude_client: Vec<String>,
    /// Only statements with these query ids (globs over the decimal id, from %Q in the
    /// prefix or csv/json query_id).
    #[arg(long = "query-id", value_name = "ID", allow_hyphen_values = true)]
    pub query_id: Vec<String>,
    /// Only statements whose normalized text matches this regex.
    #[arg(long = "include-query", value_name = "REGEX")]
    pub include_query: Vec<String>,
    /// Leave out statements whose normalized text matches this regex.
    #[arg(long = "exclude-query", value_name = "REGEX")]
    pub exclude_query: Vec<String>,
    /// Only SELECT statements (WITH ... SELECT included).
    #[arg(long = "select-only")]
    pub select_only: bool,
    /// Only entries in this time of day, every day: 'HH:MM-HH:MM' in the log's own
    /// zone, or followed by a zone ('09:00-17:00 UTC').
    #[arg(long = "include-time", value_name = "HH:MM-HH:MM")]
    pub include_time: Vec<String>,
    /// Leave out entries in this time of day, every day ('02:00-03:00').
    #[arg(long = "exclude-time", value_name = "HH:MM-HH:MM")]
    pub exclude_time: Vec<String>,
}
