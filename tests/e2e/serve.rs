//! `pgferret serve` end to end: the server runs on a free loopback port, a real HTTP
//! client uploads testdata logs (multipart, chunked, several files), and what it
//! serves must equal what the CLI writes for the same files. Then abuse, bounded in
//! count and time, loopback only: concurrent uploads, uploads over the limit, a
//! slow-loris connection, tokens wrong and missing, path traversal and markup in file
//! names and fields; the server stays up, answers the others, and leaks nothing.

use crate::util::*;
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A running `pgferret serve` on a free loopback port, stopped when dropped.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The scratch directory; `data/` is the server's.
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `extra` arguments and waits for the address it prints.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = pgferret()
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgferret serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let addr = first
            .split("serving http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        // Keep reading stderr so the server never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr, dir }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that does not follow redirects, each request bounded in time.
pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

fn file_part(path: &Path, name: &str) -> Part {
    Part::file(path).unwrap().file_name(name.to_string())
}

/// A part with no length: the request body goes out chunked.
fn chunked_part(path: &Path, name: &str) -> Part {
    Part::reader(std::fs::File::open(path).unwrap()).file_name(name.to_string())
}

fn upload_json(c: &Client, s: &Server, form: Form) -> (StatusCode, Value) {
    let r = c
        .post(s.url("/upload"))
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .expect("upload");
    let status = r.status();
    (
        status,
        serde_json::from_str(&r.text().unwrap_or_default()).unwrap_or(Value::Null),
    )
}

/// The CLI on copies of `files` named as given, in a scratch directory (so its input
/// paths are the bare names the server shows): the JSON report, the Markdown one,
/// and stderr.
fn cli(files: &[(&Path, &str)], flags: &[&str]) -> (Option<Value>, Option<String>, String, i32) {
    let dir = tempfile::tempdir().unwrap();
    for (p, name) in files {
        std::fs::copy(p, dir.path().join(name)).unwrap();
    }
    let o = pgferret()
        .current_dir(dir.path())
        .args(["-q", "-o", "r.json", "-o", "r.md"])
        .args(flags)
        .arg("--")
        .args(files.iter().map(|(_, n)| *n))
        .output()
        .unwrap();
    let json = std::fs::read(dir.path().join("r.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    let md = std::fs::read_to_string(dir.path().join("r.md")).ok();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (json, md, err, o.status.code().unwrap_or(-1))
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

fn get(c: &Client, s: &Server, path: &str) -> (StatusCode, String) {
    let r = c.get(s.url(path)).send().expect("get");
    (r.status(), r.text().unwrap_or_default())
}

/// Several files in one upload, one of them compressed and one sent chunked: the
/// served JSON and Markdown are the CLI's for the same files, and the statement count
/// is the one grep finds in the log.
#[test]
fn served_report_is_the_clis_for_the_same_files() {
    let s = Server::start(&[]);
    let c = client();
    let a1 = log("a1_pgbadger");
    let gz = root().join("testdata/c_incident/postgresql.csv.gz");
    let form = Form::new()
        .text("title", "Checkout slow")
        .text("tz", "Europe/Berlin")
        .part("file", file_part(&a1, "postgresql.log"))
        .part("file", chunked_part(&gz, "postgresql.csv.gz"));
    let (status, got) = upload_json(&c, &s, form);
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let id = got["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(got["report"], format!("/r/{id}"));

    let (st, served) = get(&c, &s, &format!("/r/{id}.json"));
    assert_eq!(st, StatusCode::OK);
    let served: Value = serde_json::from_str(&served).unwrap();
    let files = [
        (a1.as_path(), "postgresql.log"),
        (gz.as_path(), "postgresql.csv.gz"),
    ];
    let (json, md, err, code) = cli(
        &files,
        &["--title", "Checkout slow", "--tz", "Europe/Berlin"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        without(served.clone(), "run"),
        without(json.unwrap(), "run")
    );
    let (_, served_md) = get(&c, &s, &format!("/r/{id}.md"));
    assert_eq!(served_md, md.unwrap());

    // The independent figure: grep's count of duration lines in the plain log.
    let expected: Value = serde_json::from_slice(
        &std::fs::read(root().join("testdata/a1_pgbadger/expected.json")).unwrap(),
    )
    .unwrap();
    let one = Form::new().part("file", chunked_part(&a1, "postgresql.log"));
    let (status, got) = upload_json(&c, &s, one);
    assert_eq!(status, StatusCode::CREATED);
    let (_, one) = get(&c, &s, &format!("/r/{}.json", got["id"].as_str().unwrap()));
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        one["totals"]["statements"], expected["duration_statements"],
        "{}",
        one["totals"]
    );

    // The HTML report carries its CSP, as a header too; the index lists both reports.
    let r = c.get(s.url(&format!("/r/{id}"))).send().unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = r.text().unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("Checkout slow"));
    let (_, index) = get(&c, &s, "/");
    assert!(index.contains(&format!("/r/{id}")) && index.contains("Checkout slow"));
    // Uploaded logs are gone once analysed (no --keep-logs).
    assert_eq!(
        std::fs::read_dir(s.data().join("spool")).unwrap().count(),
        0
    );
}

/// Without `Accept: application/json` the answer is a 303 to the report.
#[test]
fn plain_form_upload_is_redirected_to_the_report() {
    let s = Server::start(&["--keep-logs"]);
    let c = client();
    let form = Form::new()
        .text("title", "")
        .part("file", file_part(&log("a2_debian"), "pg.log"));
    let r = c.post(s.url("/upload")).multipart(form).send().unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (st, html) = get(&c, &s, &to);
    assert_eq!(st, StatusCode::OK);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // --keep-logs: the log stays beside its report, under its index, not its name.
    let id = to.trim_start_matches("/r/");
    let kept = s.data().join("reports").join(id).join("logs").join("0000");
    assert_eq!(
        std::fs::read(kept).unwrap(),
        std::fs::read(log("a2_debian")).unwrap()
    );
}

/// A truncated gzip is read up to the cut with the CLI's warning; bytes that are not
/// a log get the CLI's verdict (exit 1 there, 422 here) with the same words.
#[test]
fn malformed_uploads_get_the_clis_verdict() {
    let s = Server::start(&[]);
    let c = client();
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::read(root().join("testdata/c_incident/postgresql.csv.gz")).unwrap();
    let cut = dir.path().join("cut.csv.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let (status, got) = upload_json(
        &c,
        &s,
        Form::new().part("file", file_part(&cut, "cut.csv.gz")),
    );
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(got["partial"], true);
    let (json, _, _, code) = cli(&[(cut.as_path(), "cut.csv.gz")], &[]);
    assert_eq!(code, 3);
    assert_eq!(got["warnings"], json.unwrap()["warnings"]);
    assert!(got["warnings"].to_string().contains("truncated"), "{got}");

    let bin = dir.path().join("blob");
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&bin, noise).unwrap();
    let (status, got) = upload_json(
        &c,
        &s,
        Form::new().part("file", file_part(&bin, "core.bin")),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{got}");
    let (json, _, err, code) = cli(&[(bin.as_path(), "core.bin")], &[]);
    assert_eq!((json, code), (None, 1));
    assert_eq!(got["error"].as_str().unwrap().trim(), err.trim());
    // The same verdict on the page, escaped.
    let form = Form::new().part("file", file_part(&bin, "<i>core<i>.bin"));
    let r = c.post(s.url("/upload")).multipart(form).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().unwrap();
    assert!(
        page.contains("&lt;i&gt;core&lt;i&gt;.bin") && !page.contains("<i>core"),
        "{page}"
    );
}

/// The reading starts with the first file, so a field that shapes it must come
/// before the files (400, saying so); the report's own fields may come after them.
#[test]
fn fields_that_shape_the_reading_come_before_the_files() {
    let s = Server::start(&[]);
    let c = client();
    let form = Form::new()
        .part("file", file_part(&log("a2_debian"), "pg.log"))
        .text("title", "Late title")
        .text("top", "3");
    let (status, got) = upload_json(&c, &s, form);
    assert_eq!(status, StatusCode::CREATED, "{got}");
    assert_eq!(got["title"], "Late title");
    let (_, served) = get(&c, &s, &format!("/r/{}.json", got["id"].as_str().unwrap()));
    let served: Value = serde_json::from_str(&served).unwrap();
    let (json, _, err, code) = cli(
        &[(log("a2_debian").as_path(), "pg.log")],
        &["--title", "Late title", "--top", "3"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(without(served, "run"), without(json.unwrap(), "run"));

    let form = Form::new()
        .part("file", file_part(&log("a2_debian"), "pg.log"))
        .text("db", "shop");
    let (status, got) = upload_json(&c, &s, form);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert!(
        got["error"]
            .as_str()
            .unwrap()
            .contains("`db` came after a file"),
        "{got}"
    );
    // A bad value is the CLI's message, before any byte of the file is read.
    let form = Form::new()
        .text("begin", "not a time")
        .part("file", file_part(&log("a2_debian"), "pg.log"));
    let (status, got) = upload_json(&c, &s, form);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    assert!(got["error"].as_str().unwrap().contains("--begin"), "{got}");
    assert_eq!(get(&c, &s, "/").0, StatusCode::OK);
}

/// `--token`: every request without it, or with a wrong one, gets 401; the bearer
/// header and the cookie the login form sets both open the door. A listen address
/// that is not loopback is refused without a token.
#[test]
fn token_is_required_everywhere() {
    let token = "s3cret-t0ken-for-tests";
    let s = Server::start(&["--token", token]);
    let c = client();
    for path in ["/", "/r/0123456789abcdef0123456789abcdef", "/nowhere"] {
        assert_eq!(get(&c, &s, path).0, StatusCode::UNAUTHORIZED, "{path}");
        let r = c
            .get(s.url(path))
            .bearer_auth("wrong-token-xx")
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let form = Form::new().part("file", file_part(&log("a2_debian"), "pg.log"));
    let r = c.post(s.url("/upload")).multipart(form).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(s.url("/login"))
        .form(&[("token", "nope-nope-nope")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = c.get(s.url("/")).bearer_auth(token).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let form = Form::new().part("file", file_part(&log("a2_debian"), "pg.log"));
    let r = c
        .post(s.url("/upload"))
        .bearer_auth(token)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = serde_json::from_str::<Value>(&r.text().unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .post(s.url("/login"))
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let r = c
        .get(s.url(&format!("/r/{id}.md")))
        .header("Cookie", pair)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let o = pgferret()
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(s.dir.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--token"));
}

/// Raw bytes to the server; what it answers (until it closes or 30 s pass).
fn raw(addr: &str, request: &[u8]) -> String {
    let mut t = TcpStream::connect(addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = t.write_all(request);
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Limits: an upload declared or sent over --max-upload gets 413, one more than
/// --jobs at once gets 429, a client that never finishes its headers is cut off;
/// through all of it the server answers the others.
#[test]
fn limits_hold_and_the_server_keeps_serving() {
    let s = Server::start(&["--max-upload", "2MB", "--jobs", "2"]);
    let c = client();

    // Slow loris: half a request, then silence, held open during everything below.
    let mut loris = TcpStream::connect(&s.addr).unwrap();
    loris
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();

    let over = raw(
        &s.addr,
        b"POST /upload HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000000\r\n\r\n",
    );
    assert!(over.starts_with("HTTP/1.1 413"), "{over}");
    assert!(over.contains("--max-upload"), "{over}");

    // Sent chunked, so only counting the bytes finds it too large; the server reads
    // the rest (it is over by less than it drains) so the client reads the answer.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    std::fs::write(&big, std::fs::read(log("a1_pgbadger")).unwrap().repeat(2)).unwrap();
    let form = Form::new().part("file", chunked_part(&big, "big.log"));
    let r = c.post(s.url("/upload")).multipart(form).send().unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = r.text().unwrap();
    assert!(page.contains("--max-upload 2 MiB"), "{page}");

    // 20 at once: each gets its report or a clear 429, never anything else.
    let a1 = log("a1_pgbadger");
    let answers: Vec<(StatusCode, Value)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                sc.spawn(|| {
                    let form = Form::new().part("file", file_part(&a1, "postgresql.log"));
                    upload_json(&c, &s, form)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let made: Vec<_> = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::CREATED)
        .collect();
    assert!(!made.is_empty());
    for (st, v) in &answers {
        match *st {
            StatusCode::CREATED => assert_eq!(v["headline"], made[0].1["headline"]),
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(v["error"].as_str().unwrap().contains("--jobs"), "{v}")
            }
            other => panic!("{other}: {v}"),
        }
    }

    // The loris is cut off (408 or a plain close), the others served meanwhile.
    assert_eq!(get(&c, &s, "/").0, StatusCode::OK);
    loris
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = Vec::new();
    let cut = loris.read_to_end(&mut buf);
    assert!(cut.is_ok(), "the slow connection was not closed: {cut:?}");
    let said = String::from_utf8_lossy(&buf);
    assert!(
        said.is_empty() || said.starts_with("HTTP/1.1 408"),
        "{said}"
    );
    assert_eq!(get(&c, &s, "/").0, StatusCode::OK);
    assert_eq!(
        std::fs::read_dir(s.data().join("spool")).unwrap().count(),
        0
    );
}

/// Path traversal and markup in file names, form fields and URLs: nothing reaches
/// the file system outside the data directory, and every value comes back escaped.
#[test]
fn probes_in_names_fields_and_paths_leak_nothing() {
    let s = Server::start(&[]);
    let c = client();
    let evil = "../../../tmp/<img src=x onerror=alert(2)>.log";
    let title = "<script>alert(1)</script>\"'";
    let form = Form::new()
        .text("title", title)
        .text("nonsense", "../../etc/passwd")
        .part("file", file_part(&log("a2_debian"), evil));
    let (status, got) = upload_json(&c, &s, form);
    assert_eq!(status, StatusCode::CREATED, "{got}");
    let id = got["id"].as_str().unwrap().to_string();
    let (_, html) = get(&c, &s, &format!("/r/{id}"));
    let (_, index) = get(&c, &s, "/");
    for page in [&html, &index] {
        assert!(!page.contains("<script>alert(1)"));
        assert!(!page.contains("<img src=x"));
    }
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;.log"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;"),
        "{index}"
    );
    let (_, json) = get(&c, &s, &format!("/r/{id}.json"));
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["inputs"][0]["path"],
        "<img src=x onerror=alert(2)>.log"
    );

    // The data directory holds the report's files and nothing named by the client.
    let mut names = Vec::new();
    walk(s.dir.path(), &mut names);
    for n in &names {
        assert!(!n.contains("img") && !n.contains("passwd"), "{n}");
    }
    // Sent raw: a client library would normalise `..` away before sending.
    for p in [
        "/r/../../etc/passwd",
        "/r/..%2f..%2fetc%2fpasswd",
        "/r/%2e%2e",
        "/r/%2e%2e%2fmeta.json",
        &format!("/r/{id}/meta.json"),
        &format!("/r/{id}.meta.json"),
        &format!("/r/{id}%2fmeta.json"),
        &format!("/r/{}", id.to_uppercase()),
        "/r/",
        "/../../etc/passwd",
    ] {
        let req = format!("GET {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw(&s.addr, req.as_bytes());
        assert!(
            answer.starts_with("HTTP/1.1 404") || answer.starts_with("HTTP/1.1 400"),
            "{p}: {answer}"
        );
        assert!(
            !answer.contains("root:") && !answer.contains("\"files\""),
            "{p}"
        );
    }
    assert_eq!(get(&c, &s, "/").0, StatusCode::OK);
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(e.file_name().to_string_lossy().into_owned());
        if e.path().is_dir() {
            walk(&e.path(), out);
        }
    }
}

/// One piece of a chunked request body.
fn chunk(t: &mut TcpStream, bytes: &[u8]) {
    t.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
        .unwrap();
    t.write_all(bytes).unwrap();
    t.write_all(b"\r\n").unwrap();
}

/// The analysis follows the upload: the first half of a log is sent (chunked, by a
/// client that holds the rest back), and the server's progress shows the analysis
/// has taken most of that half while the request is still open; then the rest is
/// sent and the report is the CLI's for the same file.
#[test]
fn uploads_are_analysed_as_they_arrive() {
    let s = Server::start(&[]);
    let c = client();
    let path = root().join("testdata/c_incident/postgresql.log");
    let data = std::fs::read(&path).unwrap();
    let half = data.len() / 2;
    let job = "00112233445566778899aabbccddeeff";
    let mut t = TcpStream::connect(&s.addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    t.write_all(
        format!(
            "POST /upload?progress={job} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    chunk(
        &mut t,
        b"--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nStreamed\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"postgresql.log\"\r\nContent-Type: text/plain\r\n\r\n",
    );
    for piece in data[..half].chunks(64 * 1024) {
        chunk(&mut t, piece);
    }
    t.flush().unwrap();
    // Bounded: at most 600 looks, 50 ms apart.
    let mut seen = Value::Null;
    for _ in 0..600 {
        let (st, body) = get(&c, &s, &format!("/progress/{job}"));
        // Until the server has taken the request up, the id is not on the board yet.
        if st == StatusCode::NOT_FOUND && seen.is_null() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        assert_eq!(st, StatusCode::OK, "{body}");
        seen = serde_json::from_str(&body).unwrap();
        if seen["analysed"].as_u64().unwrap() >= half as u64 / 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        seen["analysed"].as_u64().unwrap_or(0) >= half as u64 / 2,
        "{seen}"
    );
    assert!(seen["received"].as_u64().unwrap() <= half as u64, "{seen}");
    assert_eq!(seen["phase"], "receiving");
    assert_eq!(seen["files"], 1);

    for piece in data[half..].chunks(64 * 1024) {
        chunk(&mut t, piece);
    }
    chunk(&mut t, b"\r\n--b0undary--\r\n");
    t.write_all(b"0\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    t.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let got: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let (_, served) = get(&c, &s, &format!("/r/{}.json", got["id"].as_str().unwrap()));
    let served: Value = serde_json::from_str(&served).unwrap();
    let (json, _, err, code) = cli(
        &[(path.as_path(), "postgresql.log")],
        &["--title", "Streamed"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(without(served, "run"), without(json.unwrap(), "run"));
    // Over, the upload leaves the progress board.
    assert_eq!(
        get(&c, &s, &format!("/progress/{job}")).0,
        StatusCode::NOT_FOUND
    );
}
