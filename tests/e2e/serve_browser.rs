//! The upload page in a real browser: headless Chromium, driven over W3C WebDriver
//! by chromedriver, picks two testdata logs in the page's file input, types a title,
//! and submits, once with JavaScript on (the page's script uploads with progress and
//! shows the report's links and its Markdown summary, which proves the CSP hash
//! matches) and once with it off (the plain form posts, the browser follows the 303
//! and shows the report). Screenshots of both go to target/serve-screens/. Skipped,
//! saying why, when chromium or chromedriver is not installed (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`).

use crate::serve::{client, Server};
use crate::util::*;
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let c = client();
    for _ in 0..100 {
        if c.get(format!("{}/status", d.base)).send().is_ok() {
            return d;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start");
}

/// One browser session.
struct Session<'a> {
    d: &'a Driver,
    id: String,
    c: reqwest::blocking::Client,
}

impl Session<'_> {
    fn new<'d>(d: &'d Driver, scripts: bool, profile: &Path) -> Session<'d> {
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,1100".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !scripts {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let c = client();
        let v = send(&c, c.post(format!("{}/session", d.base)).json(&caps));
        let id = v["sessionId"].as_str().expect("a session").to_string();
        Session { d, id, c }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.d.base, self.id);
        let req = self.c.request(method, url);
        send(&self.c, if body.is_null() { req } else { req.json(&body) })
    }

    fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            reqwest::Method::POST,
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no {css}: {v}"))
            .to_string()
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            json!({}),
        );
    }

    fn get(&self, what: &str) -> Value {
        self.call(reqwest::Method::GET, what, Value::Null)
    }

    fn attribute(&self, css: &str, name: &str) -> Value {
        let e = self.find(css);
        self.get(&format!("/element/{e}/property/{name}"))
    }

    fn screenshot(&self, name: &str) {
        let png = self.get("/screenshot");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let dir = root().join("target/serve-screens");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    /// Waits (at most two minutes) until `ok` holds.
    fn until(&self, what: &str, mut ok: impl FnMut(&Self) -> bool) {
        for _ in 0..240 {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("waited two minutes for {what}");
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.d.base, self.id);
        let _ = self.c.delete(url).send();
    }
}

fn send(_c: &reqwest::blocking::Client, req: reqwest::blocking::RequestBuilder) -> Value {
    let r = req.send().expect("webdriver");
    let v: Value = serde_json::from_str(&r.text().unwrap()).expect("webdriver JSON");
    v["value"].clone()
}

fn missing() -> bool {
    for p in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(p).exists() {
            eprintln!("skipped: {p} not found (apt-get install chromium chromium-driver)");
            return true;
        }
    }
    false
}

/// The two logs picked in the file input, one compressed.
fn two_logs() -> String {
    format!(
        "{}\n{}",
        log("a1_pgbadger").display(),
        root()
            .join("testdata/c_incident/postgresql.csv.gz")
            .display()
    )
}

#[test]
fn upload_page_with_javascript_shows_progress_links_and_markdown() {
    if missing() {
        return;
    }
    let s = Server::start(&[]);
    let d = driver();
    let profile = tempfile::tempdir().unwrap();
    let b = Session::new(&d, true, profile.path());
    b.go(&s.url("/"));
    b.type_in("input[type=file]", &two_logs());
    b.type_in("input[name=title]", "Browser <b>test</b>");
    b.click("#go");
    b.until("the report's link", |b| {
        b.attribute("#open", "href")
            .as_str()
            .is_some_and(|h| h.contains("/r/"))
    });
    b.until("the Markdown summary", |b| {
        b.attribute("#summary", "value")
            .as_str()
            .is_some_and(|v| v.starts_with("# Browser"))
    });
    let said = b.attribute("#said", "textContent");
    assert!(said.as_str().unwrap().starts_with("Done: "), "{said}");
    let href = b.attribute("#open", "href").as_str().unwrap().to_string();
    let md = b
        .attribute("#summary", "value")
        .as_str()
        .unwrap()
        .to_string();
    let served = client()
        .get(format!("{href}.md"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(md, served);
    assert!(md.contains("postgresql.log and 1 more"), "{md}");
    b.screenshot("upload-js-on.png");
    b.go(&href);
    let title = b.get("/title");
    assert!(
        title.as_str().unwrap().contains("pgferret report"),
        "{title}"
    );
    b.screenshot("report-served.png");
}

#[test]
fn upload_page_without_javascript_posts_the_form_and_shows_the_report() {
    if missing() {
        return;
    }
    let s = Server::start(&[]);
    let d = driver();
    let profile = tempfile::tempdir().unwrap();
    let b = Session::new(&d, false, profile.path());
    b.go(&s.url("/"));
    b.type_in("input[type=file]", &two_logs());
    b.type_in("input[name=title]", "No script");
    b.click("#go");
    b.until("the report", |b| {
        b.get("/url").as_str().is_some_and(|u| u.contains("/r/"))
    });
    let title = b.get("/title");
    assert!(
        title
            .as_str()
            .unwrap()
            .starts_with("No script · pgferret report"),
        "{title}"
    );
    b.screenshot("upload-js-off.png");
}
