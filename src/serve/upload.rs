//! `POST /upload`: each file of the multipart request is analysed while it arrives,
//! by the CLI's stream path (format and compression from its first bytes, the
//! prefix inferred, the chunks parsed in parallel) on a blocking thread fed through a
//! bounded [`super::pipe::Pipe`]: never held whole, on disk or in memory (with
//! `--keep-logs` its bytes are also written beside the report). Several files are
//! several inputs, read in turn, merged as the CLI merges them; the form's fields
//! become the CLI's flags and the report is rendered by the CLI's writers.
//!
//! The fields that shape the reading (`begin`, `format`, `db`...) must come before
//! the first file; `title`, `tz` and `top` may come anywhere.

use super::pages::{fail, refuse_unread, wants_json};
use super::pipe::{self, Msg, Phase, Tracker};
use super::store::{Id, Meta, Spool};
use super::{AppState, BODY_IDLE_TIMEOUT};
use crate::config::Config;
use crate::input::{Source, Stream};
use crate::report::{Format, Report};
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;

/// Form fields other than `file` and the flag each becomes (`--NAME=value`).
const FIELDS: &[&str] = &[
    "title",
    "tz",
    "begin",
    "end",
    "log-tz",
    "window",
    "top",
    "year",
    "format",
    "prefix",
    "db",
    "user",
    "app",
    "client",
    "exclude-db",
    "exclude-user",
    "exclude-app",
    "exclude-client",
    "query-id",
    "include-query",
    "exclude-query",
    "include-time",
    "exclude-time",
];

/// The fields that only shape the report, so may come after the files.
const REPORT_FIELDS: &[&str] = &["title", "tz", "top"];

/// The longest value of a form field.
const MAX_FIELD: usize = 4096;
/// Files in one upload at most.
const MAX_FILES: usize = 1000;
/// Room for the form's fields and boundaries beside the files in a Content-Length.
const FORM_SLACK: u64 = 1 << 20;

/// An uploaded file: the name the client gave (cleaned for display) and its size.
struct Upload {
    name: String,
    bytes: u64,
}

/// Why an upload got no report: a status and a sentence for the person.
type Refusal = (StatusCode, String);

/// What the request's task asks of the analysis.
enum Job {
    /// Read this input to its end.
    Read(Source),
    /// The request is in: build the report (with the report's options of this
    /// config, when fields came after the files), store it.
    Finish {
        report: Option<Box<Config>>,
        files: Vec<Upload>,
        spool: Option<Spool>,
    },
}

/// The analysis, once the first file has begun.
struct Running {
    jobs: mpsc::Sender<Job>,
    task: JoinHandle<Result<(Meta, Report), Refusal>>,
}

/// An upload being received.
struct Receiving {
    st: Arc<AppState>,
    id: Id,
    tracker: Arc<Tracker>,
    /// The analysis' permit, until the analysis holds it.
    permit: Option<OwnedSemaphorePermit>,
    /// Where the files are written as well (`--keep-logs`).
    spool: Option<Spool>,
    fields: Vec<(String, String)>,
    /// A report field came after a file.
    late: bool,
    files: Vec<Upload>,
    running: Option<Running>,
    /// Bytes of the request's parts so far, against `--max-upload`.
    total: u64,
}

/// `POST /upload` (`?progress=ID`: the upload's progress at `GET /progress/ID`).
pub(crate) async fn upload(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let headers = req.headers().clone();
    let json = wants_json(&headers);
    let Ok(permit) = st.jobs.clone().try_acquire_owned() else {
        let mut r = fail(
            StatusCode::TOO_MANY_REQUESTS,
            json,
            &format!(
                "{} analyses are already running (--jobs): try again in a moment",
                st.opts.jobs
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
        return refuse_unread(req.into_body(), r).await;
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.opts.max_upload.saturating_add(FORM_SLACK)) {
        return too_large(json, st.opts.max_upload, false);
    }
    let tracker = Arc::new(Tracker::new(declared));
    let _listed = progress_id(req.uri().query()).and_then(|id| st.board.list(&id, &tracker));
    let mp: Result<Multipart, MultipartRejection> = Multipart::from_request(req, &()).await;
    let mut mp = match mp {
        Ok(m) => m,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                json,
                &format!("{e}: send multipart/form-data with one or more `file` fields"),
            )
        }
    };
    let fault = |e: String| fail(StatusCode::INTERNAL_SERVER_ERROR, json, &e);
    let id = match Id::new() {
        Ok(id) => id,
        Err(e) => return fault(format!("no random id: {e}")),
    };
    let spool = match st.opts.keep_logs.then(|| st.store.spool(&id)).transpose() {
        Ok(s) => s,
        Err(e) => return fault(format!("cannot keep the upload: {e}")),
    };
    let mut up = Receiving {
        st: st.clone(),
        id,
        tracker,
        permit: Some(permit),
        spool,
        fields: Vec::new(),
        late: false,
        files: Vec::new(),
        running: None,
        total: 0,
    };
    let done = match up.receive(&mut mp).await {
        Ok(()) => up.finish().await,
        Err(((StatusCode::PAYLOAD_TOO_LARGE, _), whole)) => {
            return too_large(json, st.opts.max_upload, whole)
        }
        Err(((status, msg), whole)) => {
            let mut r = fail(status, json, &msg);
            if !whole {
                close(&mut r);
            }
            return r;
        }
    };
    match done {
        Ok((id, meta, report)) => answer(json, &id, &meta, &report),
        Err((status, msg)) => fail(status, json, &msg),
    }
}

/// The rest of the request was not read: the connection cannot carry another one.
fn close(r: &mut Response) {
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
}

/// The `progress` id of the query, when it is one.
fn progress_id(query: Option<&str>) -> Option<Id> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("progress="))
        .and_then(Id::parse)
}

/// 413; `whole`: the rest of the request was read (and dropped), so the connection
/// can carry on, else it is closed after the answer.
fn too_large(json: bool, max: u64, whole: bool) -> Response {
    let mut r = fail(
        StatusCode::PAYLOAD_TOO_LARGE,
        json,
        &format!(
            "the upload is larger than the server takes (--max-upload {})",
            super::size_shown(max)
        ),
    );
    if !whole {
        close(&mut r);
    }
    r
}

/// 303 to the report, or its id and links as JSON.
fn answer(json: bool, id: &Id, meta: &Meta, report: &Report) -> Response {
    let url = format!("/r/{}", id.as_str());
    if json {
        let body = serde_json::json!({
            "id": id.as_str(),
            "report": url,
            "json": format!("{url}.json"),
            "markdown": format!("{url}.md"),
            "title": meta.title,
            "period": meta.period,
            "headline": meta.headline,
            "partial": report.partial,
            "warnings": report.warnings,
        });
        let mut r = (StatusCode::CREATED, axum::Json(body)).into_response();
        if let Ok(v) = header::HeaderValue::from_str(&url) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    axum::response::Redirect::to(&url).into_response()
}

/// The analysis stopped before the request was in: what it said.
const STOPPED: &str = "the analysis stopped";

impl Receiving {
    /// Reads the multipart body: each `file` field fed to the analysis as it arrives,
    /// the fields of [`FIELDS`] kept (blank ones dropped), anything else read and
    /// dropped. A refusal comes with whether the request was read to its end: one
    /// made in the middle of it (over `--max-upload`, a bad field) reads the rest
    /// first, up to a bound, so that the client, still sending, gets to read it.
    async fn receive(&mut self, mp: &mut Multipart) -> Result<(), (Refusal, bool)> {
        loop {
            let next = tokio::time::timeout(BODY_IDLE_TIMEOUT, mp.next_field()).await;
            let mut field = match next {
                Err(_) => return Err((stalled(), false)),
                Ok(Err(e)) => return Err((broken(e), false)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(f))) => f,
            };
            let got = match field.name().unwrap_or("") {
                "file" => self.file(&mut field).await,
                name if FIELDS.contains(&name) => {
                    let name = name.to_string();
                    self.field(&mut field, name).await
                }
                _ => read_value(&mut field, &mut self.total, self.st.opts.max_upload)
                    .await
                    .map(drop),
            };
            if let Err(e) = got {
                let e = self.why_stopped(e).await;
                if e.0 == StatusCode::REQUEST_TIMEOUT {
                    return Err((e, false));
                }
                // No more analysis; the rest is read, bounded, so the answer is read.
                self.running = None;
                let whole = drain_field(&mut field).await && {
                    drop(field);
                    drain_rest(mp).await
                };
                return Err((e, whole));
            }
        }
        if self.files.is_empty() {
            let e = (
                StatusCode::BAD_REQUEST,
                "no log file in the upload: send one or more `file` fields".into(),
            );
            return Err((e, true));
        }
        Ok(())
    }

    /// A form field, kept; one that shapes the reading is refused once a file has
    /// begun (the reading has begun with the flags it had).
    async fn field(&mut self, field: &mut Field<'_>, name: String) -> Result<(), Refusal> {
        let value = read_value(field, &mut self.total, self.st.opts.max_upload).await?;
        if value.trim().is_empty() {
            return Ok(());
        }
        if self.running.is_some() {
            if !REPORT_FIELDS.contains(&name.as_str()) {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("the field `{name}` came after a file: the files are analysed as they arrive, so send the fields that shape the reading (all but {}) before them", REPORT_FIELDS.join(", ")),
                ));
            }
            self.late = true;
        }
        self.fields.push((name, value));
        Ok(())
    }

    /// A file field, fed to the analysis piece by piece (and written to the spool
    /// with `--keep-logs`).
    async fn file(&mut self, field: &mut Field<'_>) -> Result<(), Refusal> {
        if self.files.len() == MAX_FILES {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("more than {MAX_FILES} files in one upload"),
            ));
        }
        let given = field.file_name().unwrap_or("").to_string();
        let name = display_name(&given, self.files.len(), &self.files);
        let max = self.st.opts.max_upload;
        let mut input: Option<Input> = None;
        let mut bytes = 0u64;
        while let Some(piece) = next_piece(field, &mut self.total, max).await? {
            if input.is_none() {
                input = Some(self.begin(&name).await?);
            }
            bytes += piece.len() as u64;
            self.tracker
                .received
                .fetch_add(piece.len() as u64, Ordering::Relaxed);
            if let Some(i) = input.as_mut() {
                i.send(piece).await?;
            }
        }
        // A form sent with no file chosen has one empty, nameless file.
        if input.is_none() && given.is_empty() {
            return Ok(());
        }
        let input = match input {
            Some(i) => i,
            None => self.begin(&name).await?,
        };
        input.end().await?;
        self.files.push(Upload { name, bytes });
        Ok(())
    }

    /// A new input for the analysis (started with the fields so far when this is
    /// the first).
    async fn begin(&mut self, name: &str) -> Result<Input, Refusal> {
        if self.running.is_none() {
            let cfg = config(&self.fields)?;
            let (jobs, rx) = mpsc::channel(4);
            let (st, id, permit) = (self.st.clone(), self.id.clone(), self.permit.take());
            let tracker = self.tracker.clone();
            let task = tokio::task::spawn_blocking(move || {
                let res = analyse(&st, &id, cfg, rx, &tracker);
                drop(permit);
                res
            });
            self.running = Some(Running { jobs, task });
        }
        let tee = match &self.spool {
            Some(s) => {
                let f = tokio::fs::File::create(s.file(self.files.len()))
                    .await
                    .map_err(|e| internal(format!("cannot keep the upload: {e}")))?;
                Some(tokio::io::BufWriter::with_capacity(1 << 20, f))
            }
            None => None,
        };
        let (tx, reader) = pipe::pipe(self.tracker.clone());
        self.tracker.files.fetch_add(1, Ordering::Relaxed);
        let source = Stream::source(name, Box::new(reader));
        let running = self
            .running
            .as_ref()
            .ok_or_else(|| internal(STOPPED.into()))?;
        running
            .jobs
            .send(Job::Read(source))
            .await
            .map_err(|_| internal(STOPPED.into()))?;
        Ok(Input { tx, tee })
    }

    /// The request is in: the analysis reads what it has not yet, then reports.
    async fn finish(mut self) -> Result<(Id, Meta, Report), Refusal> {
        let report = if self.late {
            Some(Box::new(config(&self.fields)?))
        } else {
            None
        };
        let Some(running) = self.running.take() else {
            return Err(internal(STOPPED.into()));
        };
        self.tracker.set(Phase::Analysing);
        let job = Job::Finish {
            report,
            files: std::mem::take(&mut self.files),
            spool: self.spool.take(),
        };
        if running.jobs.send(job).await.is_err() {
            return Err(self_stopped(running).await);
        }
        match running.task.await {
            Ok(Ok((meta, report))) => Ok((self.id, meta, report)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(internal(format!("the analysis failed: {e}"))),
        }
    }

    /// Why the upload failed: `e`, unless the analysis stopped first and says why.
    async fn why_stopped(&mut self, e: Refusal) -> Refusal {
        match self.running.take() {
            Some(r) if e.1 == STOPPED => self_stopped(r).await,
            _ => e,
        }
    }
}

/// What the analysis said when it stopped before the end of the request.
async fn self_stopped(r: Running) -> Refusal {
    drop(r.jobs);
    match r.task.await {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => internal(STOPPED.into()),
        Err(e) => internal(format!("the analysis failed: {e}")),
    }
}

/// A file on its way to the analysis.
struct Input {
    tx: mpsc::Sender<Msg>,
    tee: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

impl Input {
    /// Passes `piece` on, waiting while the analysis has [`pipe::PIECES`] pieces.
    async fn send(&mut self, piece: Bytes) -> Result<(), Refusal> {
        if let Some(t) = self.tee.as_mut() {
            t.write_all(&piece).await.map_err(keep_failed)?;
        }
        self.tx
            .send(Msg::Data(piece))
            .await
            .map_err(|_| internal(STOPPED.into()))
    }

    /// The file is whole.
    async fn end(self) -> Result<(), Refusal> {
        if let Some(mut t) = self.tee {
            t.flush().await.map_err(keep_failed)?;
        }
        self.tx
            .send(Msg::End)
            .await
            .map_err(|_| internal(STOPPED.into()))
    }
}

fn keep_failed(e: std::io::Error) -> Refusal {
    internal(format!("cannot keep the upload: {e}"))
}

fn internal(msg: String) -> Refusal {
    (StatusCode::INTERNAL_SERVER_ERROR, msg)
}

/// The CLI's configuration for the form's fields (a bad value is the CLI's message).
fn config(fields: &[(String, String)]) -> Result<Config, Refusal> {
    let bad = |msg: String| (StatusCode::BAD_REQUEST, msg);
    let mut argv = vec!["pgferret".to_string(), "--quiet".to_string()];
    argv.extend(fields.iter().map(|(k, v)| format!("--{k}={v}")));
    // The inputs are the upload's files, handed over one by one ([`crate::Feed`]).
    argv.extend(["--".to_string(), "-".to_string()]);
    let cli = crate::cli::Cli::try_parse_from(&argv).map_err(|e| bad(e.to_string()))?;
    Config::from_args(&cli.analyze).map_err(|e| bad(e.to_string()))
}

/// Reads and drops the rest of a field, up to [`super::pages::DRAIN`] bytes; true
/// when it ended.
async fn drain_field(field: &mut Field<'_>) -> bool {
    let mut seen = 0u64;
    while seen <= super::pages::DRAIN {
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, field.chunk()).await {
            Ok(Ok(Some(b))) => seen += b.len() as u64,
            Ok(Ok(None)) => return true,
            _ => return false,
        }
    }
    false
}

/// Reads and drops the fields left, each up to [`super::pages::DRAIN`] bytes, at most
/// [`MAX_FILES`] of them; true when the request ended.
async fn drain_rest(mp: &mut Multipart) -> bool {
    for _ in 0..MAX_FILES {
        match tokio::time::timeout(BODY_IDLE_TIMEOUT, mp.next_field()).await {
            Ok(Ok(Some(mut f))) => {
                if !drain_field(&mut f).await {
                    return false;
                }
            }
            Ok(Ok(None)) => return true,
            _ => return false,
        }
    }
    false
}

fn stalled() -> Refusal {
    (
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the upload stalled for more than {} s",
            BODY_IDLE_TIMEOUT.as_secs()
        ),
    )
}

fn broken(e: axum::extract::multipart::MultipartError) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        format!("the upload could not be read as multipart/form-data: {e}"),
    )
}

/// The next piece of a field's body, awaited at most [`BODY_IDLE_TIMEOUT`], counted
/// against the upload's limit.
async fn next_piece(
    field: &mut Field<'_>,
    total: &mut u64,
    max: u64,
) -> Result<Option<Bytes>, Refusal> {
    match tokio::time::timeout(BODY_IDLE_TIMEOUT, field.chunk()).await {
        Err(_) => Err(stalled()),
        Ok(Err(e)) => Err(broken(e)),
        Ok(Ok(None)) => Ok(None),
        Ok(Ok(Some(b))) => {
            *total += b.len() as u64;
            if *total > max {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, String::new()));
            }
            Ok(Some(b))
        }
    }
}

/// A form field's value, up to [`MAX_FIELD`] bytes (the rest is read and dropped).
async fn read_value(field: &mut Field<'_>, total: &mut u64, max: u64) -> Result<String, Refusal> {
    let mut v = Vec::new();
    while let Some(piece) = next_piece(field, total, max).await? {
        let room = MAX_FIELD.saturating_sub(v.len());
        v.extend_from_slice(&piece[..piece.len().min(room)]);
    }
    Ok(String::from_utf8_lossy(&v).into_owned())
}

/// The name a file is shown under: the client's name without any directory part or
/// control character, at most 200 characters, made unique within the upload;
/// `upload-N` when it gives none.
fn display_name(given: &str, n: usize, before: &[Upload]) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string();
    if name.is_empty() || name == "." || name == ".." {
        name = format!("upload-{}", n + 1);
    }
    let mut unique = name.clone();
    let mut k = 2;
    while before.iter().any(|u| u.name == unique) {
        unique = format!("{name} ({k})");
        k += 1;
    }
    unique
}

/// The analysis, on a blocking thread: each input read as it arrives, then the
/// report built, stored, and the logs kept (`--keep-logs`). Stops when the request
/// stops (its channel closed with no [`Job::Finish`]).
fn analyse(
    st: &AppState,
    id: &Id,
    cfg: Config,
    mut jobs: mpsc::Receiver<Job>,
    tracker: &Tracker,
) -> Result<(Meta, Report), Refusal> {
    let verdict = |e: crate::pipeline::AnalyzeError| {
        // The CLI's verdict; the inputs are named as the client named them.
        (StatusCode::UNPROCESSABLE_ENTITY, format!("pgferret: {e}"))
    };
    let mut feed = crate::Feed::new(cfg);
    let (report_cfg, files, spool) = loop {
        match jobs.blocking_recv() {
            Some(Job::Read(source)) => feed.read(&source).map_err(verdict)?,
            Some(Job::Finish {
                report,
                files,
                spool,
            }) => break (report, files, spool),
            None => return Err(internal(STOPPED.into())),
        }
    };
    tracker.set(Phase::Reporting);
    if let Some(c) = report_cfg {
        feed.report_options(&c);
    }
    let report = feed.finish().map_err(verdict)?;
    let meta = Meta {
        id: id.as_str().to_string(),
        created: crate::parse::time::rfc3339(chrono::Utc::now().timestamp_millis()),
        title: report.title.clone(),
        files: files.iter().map(|f| f.name.clone()).collect(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        period: period(&report),
        headline: headline(&report),
        partial: report.partial,
    };
    let dir = st.store.report_dir(id);
    write_report(&dir, &report, &meta).map_err(|e| {
        let _ = std::fs::remove_dir_all(&dir);
        internal(format!("cannot store the report: {e}"))
    })?;
    if let Some(s) = spool {
        let _ = s.keep(&dir.join("logs"));
    }
    st.store.enforce_retention(st.opts.retention, id);
    Ok((meta, report))
}

use clap::Parser as _;

fn period(r: &Report) -> String {
    let tz: crate::report::tz::DisplayTz = r.time_zone.parse().unwrap_or_default();
    let when = |t: &Option<String>| t.as_deref().map_or("?".into(), |t| tz.show(t));
    format!(
        "{} – {} {}",
        when(&r.span.begin),
        when(&r.span.end),
        r.time_zone
    )
}

fn headline(r: &Report) -> String {
    match r.findings.first() {
        Some(f) => f.sentence.clone(),
        None => format!(
            "{} statements; no incident found",
            crate::report::text::thousands(r.totals.statements)
        ),
    }
}

/// Writes the report's HTML, JSON and Markdown and its meta into a fresh directory
/// next to `dir`, then renames it to `dir`, so a report is there whole or not at all.
fn write_report(dir: &Path, report: &Report, meta: &Meta) -> anyhow::Result<()> {
    let tmp = dir.with_extension("part");
    std::fs::create_dir(&tmp)?;
    for (name, format) in [
        ("report.html", Format::Html),
        ("report.json", Format::Json),
        ("report.md", Format::Markdown),
    ] {
        let mut w = std::io::BufWriter::new(std::fs::File::create(tmp.join(name))?);
        crate::report::render(report, format, &mut w)?;
        w.flush()?;
    }
    std::fs::write(tmp.join("meta.json"), serde_json::to_vec_pretty(meta)?)?;
    std::fs::rename(&tmp, dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_directories_and_control_characters_and_stay_unique() {
        let up = |name: &str| Upload {
            name: name.into(),
            bytes: 0,
        };
        assert_eq!(display_name("../../etc/passwd", 0, &[]), "passwd");
        assert_eq!(display_name("C:\\logs\\pg.log", 0, &[]), "pg.log");
        assert_eq!(display_name("a\u{0}b\nc.log", 0, &[]), "abc.log");
        assert_eq!(display_name("..", 2, &[]), "upload-3");
        assert_eq!(display_name("", 0, &[]), "upload-1");
        assert_eq!(display_name("pg.log", 1, &[up("pg.log")]), "pg.log (2)");
    }
}
