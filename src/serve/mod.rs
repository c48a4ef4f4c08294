//! `pgferret serve`: a small web server where investigators upload logs and get the
//! report. Built on axum/hyper and tokio; the analysis is the CLI's own
//! ([`crate::analyze`]), run on a blocking thread, and its reports are rendered by the
//! same writers, so a served report says exactly what the CLI's would.
//!
//! Safe by default: loopback unless a token is set; every request checked against
//! the token; uploads bounded in size, analyses in number; report ids are 128 random
//! bits; nothing from a request is ever used in a file system path (an id reaches the
//! disk only once it is checked to be 32 hex digits, and uploaded files are stored
//! under their index, never their name).
//!
//! Uploads are analysed as they arrive, each file through a bounded channel read by
//! the CLI's stream path ([`crate::Feed`]): neither held in memory nor spooled to disk
//! (`--keep-logs` writes them beside the report as they pass).

mod pages;
mod pipe;
mod store;
mod upload;

use crate::cli::ServeArgs;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a client may take to send a request's headers (slow-loris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an upload may stall between two pieces of its body.
pub(crate) const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 512;

/// The validated options of `pgferret serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory.
    pub data: PathBuf,
    /// The token every request must carry, when set.
    pub token: Option<String>,
    /// The largest upload, in bytes.
    pub max_upload: u64,
    /// Analyses at once.
    pub jobs: usize,
    /// Bytes the kept reports may use.
    pub retention: u64,
    /// Keep the uploaded logs.
    pub keep_logs: bool,
}

impl ServeOptions {
    /// Validates the arguments: a bad one is a message for exit code 2.
    pub fn from_args(a: &ServeArgs) -> Result<ServeOptions, String> {
        let listen: SocketAddr = a
            .listen
            .parse()
            .map_err(|_| format!("--listen: cannot read '{}' as ADDR:PORT", a.listen))?;
        let token = match (&a.token, &a.token_file) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(p)) => {
                let s = std::fs::read_to_string(p)
                    .map_err(|e| format!("--token-file {}: {e}", p.display()))?;
                Some(s.lines().next().unwrap_or("").trim().to_string())
            }
            (None, None) => None,
        };
        if token
            .as_deref()
            .is_some_and(|t| t.len() < 8 || t.chars().any(|c| !c.is_ascii_graphic()))
        {
            return Err("--token: use at least 8 printable ASCII characters, no spaces".into());
        }
        if token.is_none() && !listen.ip().is_loopback() {
            return Err(format!(
                "--listen {listen}: not a loopback address; anyone who can reach it could upload and read reports: set --token (or --token-file)"
            ));
        }
        let size = |flag: &str, v: &str| {
            crate::config::parse_size(v)
                .map(|n| n as u64)
                .ok_or_else(|| {
                    format!("{flag}: cannot read '{v}' as a size (examples: 500MB, 4GB)")
                })
        };
        Ok(ServeOptions {
            listen,
            data: a.data.clone(),
            token,
            max_upload: size("--max-upload", &a.max_upload)?,
            jobs: a.jobs as usize,
            retention: size("--retention", &a.retention)?,
            keep_logs: a.keep_logs,
        })
    }
}

/// A size as `--max-upload` and `--retention` read it (units of 1024): `4 GiB`,
/// `500 MiB`, or in GiB with two decimals when it is no whole number of a unit.
pub(crate) fn size_shown(n: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!("{} {unit}", n >> shift);
        }
    }
    if n >= 1 << 30 {
        return format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64);
    }
    if n >= 1 << 20 {
        return format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64);
    }
    format!("{n} bytes")
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub opts: ServeOptions,
    pub store: store::Store,
    /// One permit per analysis (and the upload that feeds it).
    pub jobs: Arc<Semaphore>,
    /// The uploads whose progress a page follows.
    pub board: pipe::Board,
}

/// `pgferret serve`: exit 2 for bad arguments, 1 when the server cannot start.
pub fn main(args: &ServeArgs) -> ExitCode {
    let opts = match ServeOptions::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("pgferret: {e}");
            return ExitCode::from(2);
        }
    };
    match run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pgferret: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Starts the server and serves until the process is stopped. The address bound is
/// printed on stderr as `pgferret: serving http://ADDR/`.
pub fn run(opts: ServeOptions) -> anyhow::Result<()> {
    use anyhow::Context;
    let store = store::Store::open(&opts.data)
        .with_context(|| format!("--data {}", opts.data.display()))?;
    let listener = std::net::TcpListener::bind(opts.listen)
        .with_context(|| format!("--listen {}: cannot listen there", opts.listen))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let state = Arc::new(AppState {
        jobs: Arc::new(Semaphore::new(opts.jobs)),
        board: pipe::Board::default(),
        store,
        opts,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    eprintln!(
        "pgferret: serving http://{bound}/ (reports in {})",
        state.opts.data.display()
    );
    rt.block_on(serve(listener, router(state)))
}

/// The routes: the page and index, the upload, the login, and the reports.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/upload", post(upload::upload))
        .route("/progress/{id}", get(pipe::progress))
        .route("/login", post(pages::login))
        .route("/r/{file}", get(pages::report))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::guard,
        ))
        // Uploads are bounded by --max-upload as they stream, not by axum's default.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Accepts connections and serves each with hyper, headers bounded in time.
async fn serve(listener: std::net::TcpListener, app: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = slots.clone().acquire_owned().await?;
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors or an aborted handshake: wait, go on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(io, service);
            let _ = conn.await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_the_units_they_are_read_in() {
        let read = |s: &str| crate::config::parse_size(s).unwrap() as u64;
        assert_eq!(size_shown(read("4GB")), "4 GiB");
        assert_eq!(size_shown(read("4GiB")), "4 GiB");
        assert_eq!(size_shown(read("500MB")), "500 MiB");
        assert_eq!(size_shown(read("1536MB")), "1536 MiB");
        assert_eq!(size_shown(read("64k")), "64 KiB");
        assert_eq!(size_shown(read("1000")), "1000 bytes");
        assert_eq!(size_shown((5 << 30) + 7), "5.00 GiB");
    }
}
