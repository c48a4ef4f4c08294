//! The pages: the upload page with the index of kept reports, the reports themselves,
//! the token check, and the short pages that say why a request was refused. Every
//! value is escaped by askama; every page carries a Content-Security-Policy that
//! allows no network resource (the upload page's script may only call back home).

use super::store::Id;
use super::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
use std::sync::Arc;

/// The upload page's script: upload with progress, then show the links and the
/// Markdown summary.
const SCRIPT: &str = include_str!("../../templates/serve.js");

/// `sha256-<base64>` of [`SCRIPT`]. The browser test fails (the script is blocked)
/// if it does not match.
pub const SCRIPT_SHA256: &str = "sha256-IOZjgg20qS/3DLK/s4ZPc0mJHdGrVMll0z/1PQA1D0g=";

/// The upload page's policy: the report's, plus uploads to this server (`connect-src`
/// for the script, `form-action` for the plain form).
fn page_csp() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_SHA256}'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The HTML report's own policy (the one its `<meta>` carries), sent as a header too.
fn report_csp() -> String {
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{}'; img-src data:; frame-ancestors 'none'",
        crate::report::html::SCRIPT_SHA256
    )
}

/// The cookie that carries the token once typed into the page.
const COOKIE: &str = "pgferret_token";

#[derive(Template)]
#[template(path = "serve.html")]
struct IndexPage {
    csp: String,
    script: &'static str,
    max_upload: String,
    reports: Vec<super::store::Meta>,
}

#[derive(Template)]
#[template(path = "serve_note.html")]
struct NotePage<'a> {
    title: &'a str,
    message: &'a str,
    login: bool,
}

fn html(status: StatusCode, body: String, csp: &str) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

fn note(status: StatusCode, title: &str, message: &str, login: bool) -> Response {
    let page = NotePage {
        title,
        message,
        login,
    };
    let body = page.render().unwrap_or_else(|_| "error".into());
    html(
        status,
        body,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    )
}

/// The client asked for JSON (`Accept: application/json`).
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A refusal: `{"error": message}` or a short page saying it.
pub(crate) fn fail(status: StatusCode, json: bool, message: &str) -> Response {
    if json {
        let body = serde_json::json!({ "error": message, "status": status.as_u16() });
        return (status, axum::Json(body)).into_response();
    }
    let title = status.canonical_reason().unwrap_or("Error");
    note(status, title, message, false)
}

/// `GET /`: the upload page and the kept reports.
pub(crate) async fn index(State(st): State<Arc<AppState>>) -> Response {
    let st2 = st.clone();
    let reports = tokio::task::spawn_blocking(move || st2.store.list())
        .await
        .unwrap_or_default();
    let page = IndexPage {
        csp: page_csp(),
        script: SCRIPT,
        max_upload: super::size_shown(st.opts.max_upload),
        reports,
    };
    match page.render() {
        Ok(body) => html(StatusCode::OK, body, &page_csp()),
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, false, &e.to_string()),
    }
}

/// `GET /r/<id>`, `/r/<id>.json`, `/r/<id>.md`: a kept report. Anything that is not
/// an id with one of those endings is 404 before the disk is looked at.
pub(crate) async fn report(State(st): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let (stem, name, kind) = if let Some(s) = file.strip_suffix(".json") {
        (s, "report.json", "application/json")
    } else if let Some(s) = file.strip_suffix(".md") {
        (s, "report.md", "text/markdown; charset=utf-8")
    } else {
        (file.as_str(), "report.html", "text/html; charset=utf-8")
    };
    let Some(id) = Id::parse(stem) else {
        return not_found().await;
    };
    let path = st.store.report_dir(&id).join(name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut r = Body::from(bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            if name == "report.html" {
                if let Ok(v) = HeaderValue::from_str(&report_csp()) {
                    h.insert(header::CONTENT_SECURITY_POLICY, v);
                }
            }
            r
        }
        Err(_) => not_found().await,
    }
}

/// Anything else: 404.
pub(crate) async fn not_found() -> Response {
    note(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page or report here.",
        false,
    )
}

/// `POST /login`: the form's token, when right, is kept in a cookie.
#[derive(serde::Deserialize)]
pub(crate) struct Login {
    token: String,
}

/// `POST /login`.
pub(crate) async fn login(
    State(st): State<Arc<AppState>>,
    form: Result<Form<Login>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (Some(want), Ok(Form(got))) = (&st.opts.token, form) else {
        return axum::response::Redirect::to("/").into_response();
    };
    if !same(want.as_bytes(), got.token.trim().as_bytes()) {
        return unauthorized(false, "That token is not the server's.");
    }
    let mut r = axum::response::Redirect::to("/").into_response();
    let cookie = format!("{COOKIE}={want}; HttpOnly; SameSite=Strict; Path=/");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn unauthorized(json: bool, message: &str) -> Response {
    let mut r = if json {
        fail(StatusCode::UNAUTHORIZED, true, message)
    } else {
        note(StatusCode::UNAUTHORIZED, "Token needed", message, true)
    };
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Compares in time that does not depend on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token the request carries: `Authorization: Bearer T` or the page's cookie.
fn carried(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

/// The most of a refused request's body read (and dropped) so that the client, still
/// sending, gets to read the answer; past it the connection is closed.
pub(crate) const DRAIN: u64 = 16 << 20;

/// Reads and drops up to [`DRAIN`] bytes of `body`, each piece awaited at most
/// [`super::BODY_IDLE_TIMEOUT`]; true when it was read to its end.
pub(crate) async fn drain(mut body: Body) -> bool {
    use http_body_util::BodyExt;
    let mut seen = 0u64;
    while seen <= DRAIN {
        match tokio::time::timeout(super::BODY_IDLE_TIMEOUT, body.frame()).await {
            Ok(Some(Ok(f))) => seen += f.data_ref().map_or(0, |d| d.len() as u64),
            Ok(None) => return true,
            _ => return false,
        }
    }
    false
}

/// A refusal sent before the request's body was read: the body is drained first
/// (bounded), or else the connection closed after the answer.
pub(crate) async fn refuse_unread(body: Body, mut answer: Response) -> Response {
    if !drain(body).await {
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// Every request: the token check (`POST /login` excepted), and the headers that
/// keep the pages from being sniffed, framed, cached or referred.
pub(crate) async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(want) = &st.opts.token {
        let is_login = req.method() == Method::POST && req.uri().path() == "/login";
        let ok = carried(req.headers()).is_some_and(|t| same(want.as_bytes(), t.as_bytes()));
        if !ok && !is_login {
            let json = wants_json(req.headers());
            let msg = "This server needs its token: type it in below, or send `Authorization: Bearer TOKEN`.";
            let answer = unauthorized(json, msg);
            return with_safety(refuse_unread(req.into_body(), answer).await);
        }
    }
    with_safety(next.run(req).await)
}

fn with_safety(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
