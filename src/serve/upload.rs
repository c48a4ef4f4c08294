//! `POST /upload`: the files of a multipart request are spooled to disk as they
//! arrive (bounded by `--max-upload`, each piece awaited at most
//! [`super::BODY_IDLE_TIMEOUT`]), then analysed on a blocking thread by the CLI's own
//! [`crate::analyze`], with the form's fields turned into the CLI's flags, and
//! rendered by the CLI's writers.

use super::pages::{fail, refuse_unread, wants_json};
use super::store::{Id, Meta, Spool};
use super::{AppState, BODY_IDLE_TIMEOUT};
use crate::report::{Format, Report};
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

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

/// The longest value of a form field.
const MAX_FIELD: usize = 4096;
/// Files in one upload at most.
const MAX_FILES: usize = 1000;
/// Room for the form's fields and boundaries beside the files in a Content-Length.
const FORM_SLACK: u64 = 1 << 20;

/// An uploaded file: the name the client gave (cleaned for display), where it is
/// spooled, its size.
struct Upload {
    name: String,
    path: PathBuf,
    bytes: u64,
}

/// Why an upload got no report: a status and a sentence for the person.
type Refusal = (StatusCode, String);

/// `POST /upload`.
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
        return too_large(json, st.opts.max_upload);
    }
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
    let id = match Id::new() {
        Ok(id) => id,
        Err(e) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                json,
                &format!("no random id: {e}"),
            )
        }
    };
    let spool = match st.store.spool(&id) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                json,
                &format!("cannot spool the upload: {e}"),
            )
        }
    };
    let (files, fields) = match receive(&mut mp, &spool, st.opts.max_upload).await {
        Ok(x) => x,
        Err((StatusCode::PAYLOAD_TOO_LARGE, _)) => return too_large(json, st.opts.max_upload),
        Err((status, msg)) => return fail(status, json, &msg),
    };
    let st2 = st.clone();
    let done = tokio::task::spawn_blocking(move || {
        let res = analyse(&st2, &id, &files, &fields, &spool);
        drop(spool);
        drop(permit);
        res.map(|(meta, report)| (id, meta, report))
    })
    .await;
    match done {
        Ok(Ok((id, meta, report))) => answer(json, &id, &meta, &report),
        Ok(Err((status, msg))) => fail(status, json, &msg),
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            json,
            &format!("the analysis failed: {e}"),
        ),
    }
}

fn too_large(json: bool, max: u64) -> Response {
    let mut r = fail(
        StatusCode::PAYLOAD_TOO_LARGE,
        json,
        &format!(
            "the upload is larger than the server takes (--max-upload {})",
            crate::report::text::human_bytes(max)
        ),
    );
    // The rest of the body is not read: the connection cannot carry another request.
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
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

/// Reads the multipart body: `file` fields spooled to disk, the fields of [`FIELDS`]
/// kept (blank ones dropped), anything else read and dropped.
async fn receive(
    mp: &mut Multipart,
    spool: &Spool,
    max: u64,
) -> Result<(Vec<Upload>, Vec<(String, String)>), Refusal> {
    let (mut files, mut fields) = (Vec::new(), Vec::new());
    let mut total = 0u64;
    loop {
        let next = tokio::time::timeout(BODY_IDLE_TIMEOUT, mp.next_field()).await;
        let mut field = match next {
            Err(_) => return Err(stalled()),
            Ok(Err(e)) => return Err(broken(e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(f))) => f,
        };
        match field.name().unwrap_or("") {
            "file" => {
                if files.len() == MAX_FILES {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("more than {MAX_FILES} files in one upload"),
                    ));
                }
                let given = field.file_name().unwrap_or("").to_string();
                let path = spool.file(files.len());
                let bytes = spool_field(&mut field, &path, &mut total, max).await?;
                // A form sent with no file chosen has one empty, nameless file.
                if bytes == 0 && given.is_empty() {
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                let name = display_name(&given, files.len(), &files);
                files.push(Upload { name, path, bytes });
            }
            name if FIELDS.contains(&name) => {
                let name = name.to_string();
                let value = read_value(&mut field, &mut total, max).await?;
                if !value.trim().is_empty() {
                    fields.push((name, value));
                }
            }
            _ => {
                read_value(&mut field, &mut total, max).await?;
            }
        }
    }
    if files.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "no log file in the upload: send one or more `file` fields".into(),
        ));
    }
    Ok((files, fields))
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
) -> Result<Option<axum::body::Bytes>, Refusal> {
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

/// Writes a file field to `path` piece by piece; its size.
async fn spool_field(
    field: &mut Field<'_>,
    path: &Path,
    total: &mut u64,
    max: u64,
) -> Result<u64, Refusal> {
    let io = |e: std::io::Error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot spool the upload: {e}"),
        )
    };
    let file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut bytes = 0u64;
    while let Some(piece) = next_piece(field, total, max).await? {
        bytes += piece.len() as u64;
        out.write_all(&piece).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    out.into_inner().sync_data().await.map_err(io)?;
    Ok(bytes)
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

/// The analysis, as the CLI runs it on the spooled files, and the report stored.
fn analyse(
    st: &AppState,
    id: &Id,
    files: &[Upload],
    fields: &[(String, String)],
    spool: &Spool,
) -> Result<(Meta, Report), Refusal> {
    let bad = |msg: String| (StatusCode::BAD_REQUEST, msg);
    let mut argv = vec!["pgferret".to_string(), "--quiet".to_string()];
    argv.extend(fields.iter().map(|(k, v)| format!("--{k}={v}")));
    argv.push("--".into());
    argv.extend(files.iter().map(|f| f.path.display().to_string()));
    let cli = crate::cli::Cli::try_parse_from(&argv).map_err(|e| bad(e.to_string()))?;
    let cfg = crate::config::Config::from_args(&cli.analyze).map_err(|e| bad(e.to_string()))?;
    let mut report = crate::analyze(&cfg).map_err(|e| {
        // The CLI's verdict, naming the files as the client did.
        let msg = format!("pgferret: {}", rename(&e.to_string(), files));
        (StatusCode::UNPROCESSABLE_ENTITY, msg)
    })?;
    name_inputs(&mut report, files);
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
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the report: {e}"),
        )
    })?;
    if st.opts.keep_logs {
        let _ = spool.keep(&dir.join("logs"));
    }
    st.store.enforce_retention(st.opts.retention, id);
    Ok((meta, report))
}

use clap::Parser as _;

/// Replaces the spooled paths in `text` by the client's names. The spool's names are
/// all of one length (`0000`...), so none is a prefix of another.
fn rename(text: &str, files: &[Upload]) -> String {
    let mut s = text.to_string();
    for f in files {
        s = s.replace(&f.path.display().to_string(), &f.name);
    }
    s
}

/// The report names each input as the client did, as the CLI names it by its path.
fn name_inputs(r: &mut Report, files: &[Upload]) {
    for w in &mut r.warnings {
        *w = rename(w, files);
    }
    for i in &mut r.inputs {
        i.path = rename(&i.path, files);
        for ex in &mut i.skipped_examples {
            *ex = rename(ex, files);
        }
    }
    r.server = crate::report::model::server_of(&r.inputs);
}

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
            path: PathBuf::new(),
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
