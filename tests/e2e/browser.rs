//! The report in a real browser: headless Chromium renders it with JavaScript on and
//! off. With it on, the one script runs (the CSP hash matches), nothing logs to the
//! console, and no payload from the log runs; with it off, the page has all its
//! content and looks exactly the same. Skipped, with a message, when Chromium is not
//! installed (`.ci/run` installs Debian's `chromium`).
//!
//! "Off" is the report with its Content-Security-Policy set to `script-src 'none'`:
//! Chromium's `scriptEnabled=false` also stops headless `--dump-dom` and
//! `--screenshot`, while a CSP blocks exactly the page's own script, as a mail client
//! or a locked-down browser would.

use crate::util::*;
use pgferret::report::html::SCRIPT_SHA256;
use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium with a fresh profile (kept alive by the returned guard).
fn chromium() -> (Command, tempfile::TempDir) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    (cmd, profile)
}

/// The DOM after load, and the console messages, of `page`.
fn render(page: &Path) -> (String, Vec<String>) {
    let (mut cmd, _profile) = chromium();
    let o = cmd
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let console = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

/// A screenshot of the top of `page`, 1280 px wide.
fn screenshot(page: &Path) -> Vec<u8> {
    let (mut cmd, profile) = chromium();
    let png = profile.path().join("shot.png");
    let o = cmd
        // Draw only once layout, fonts and every compositor stage are done, so two
        // captures of the same page are the same whatever the machine's load.
        .args([
            "--hide-scrollbars",
            "--window-size=1280,2400",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A copy of `page` whose own script is blocked, as with JavaScript off.
fn without_script(page: &Path) -> std::path::PathBuf {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains(SCRIPT_SHA256));
    let off = page.with_file_name("nojs.html");
    std::fs::write(&off, html.replace(SCRIPT_SHA256, "none")).unwrap();
    off
}

fn chromium_missing() -> bool {
    if Path::new(CHROMIUM).exists() {
        return false;
    }
    eprintln!("skipped: {CHROMIUM} not found (apt-get install chromium)");
    true
}

/// The `<html ...>` start tag of a DOM dump.
fn html_tag(dom: &str) -> &str {
    let at = dom.find("<html").expect("an <html> element");
    &dom[at..at + dom[at..].find('>').unwrap()]
}

#[test]
fn browser_runs_our_script_only_and_no_payload_with_javascript_on() {
    if chromium_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let evil = evil_log(dir.path());
    let (page, _) = html_report(
        &[evil.to_str().unwrap(), "--prefix", EVIL_PREFIX],
        dir.path(),
    );
    let (dom, console) = render(&page);
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(
        html_tag(&dom).contains("class=\"js\""),
        "the sort script did not run"
    );
    assert!(!dom.contains("data-pwned"), "a payload ran");
    assert!(!dom.contains("PWNED") || dom.contains("&lt;script&gt;document.title='PWNED1'"));
    let title = &dom[dom.find("<title>").unwrap()..dom.find("</title>").unwrap()];
    assert!(title.starts_with("<title>pgferret report"), "{title}");
}

#[test]
fn browser_shows_a_real_report_without_console_errors_and_without_javascript() {
    if chromium_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (page, _) = html_report(&[log("a2_debian").to_str().unwrap()], dir.path());
    let (dom, console) = render(&page);
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(html_tag(&dom).contains("class=\"js\""));
    let off = without_script(&page);
    let (dom, _) = render(&off);
    assert!(
        !html_tag(&dom).contains("js"),
        "the script ran although blocked"
    );
    // Without JavaScript the content is all there, in its default order...
    assert!(dom.contains("<svg class=\"chart\""));
    assert!(dom.matches("<table class=\"top sortable\">").count() >= 3);
    assert!(dom.contains("id=\"tab-total\" checked"));
    // ... and the page looks the same, pixel for pixel.
    assert!(
        screenshot(&page) == screenshot(&off),
        "the page looks different without JavaScript"
    );
}

#[test]
fn browser_sorts_a_table_by_the_clicked_column() {
    if chromium_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (page, html) = html_report(&[log("a1_pgbadger").to_str().unwrap()], dir.path());
    // A copy that also allows one test script: click "Count" of the first top table
    // (ordered by total time) and write the counts of its rows into the title.
    let probe = r#"<script>
var t = document.querySelector("table.top");
t.tHead.rows[0].cells[3].click();
document.title = Array.prototype.map.call(t.tBodies[0].rows, function (r) {
  return r.cells[3].getAttribute("data-v");
}).join(",");
</script></body>"#;
    let sorted = page.with_file_name("sorted.html");
    let html = html
        .replace(SCRIPT_SHA256, "unsafe-inline")
        .replace("</body>", probe);
    std::fs::write(&sorted, html).unwrap();
    let (dom, console) = render(&sorted);
    assert!(console.is_empty(), "console: {console:#?}");
    let title = &dom[dom.find("<title>").unwrap() + 7..dom.find("</title>").unwrap()];
    let counts: Vec<u64> = title.split(',').map(|c| c.parse().unwrap()).collect();
    assert!(counts.len() >= 10, "{title}");
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {title}"
    );
}

#[test]
fn browser_outdir_index_renders_the_days_without_console_errors() {
    if chromium_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let evil = evil_log(dir.path());
    let out = dir.path().join("reports");
    let o = run(
        &[
            evil.to_str().unwrap(),
            "--prefix",
            EVIL_PREFIX,
            "--title",
            "<img src=x onerror=document.body.dataset.pwned=1>",
            "--outdir",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = out.join("index.html");
    let (dom, console) = render(&index);
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(!dom.contains("data-pwned"), "a payload ran");
    let days: Vec<_> = std::fs::read_dir(out.join("day"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html"))
        .collect();
    assert!(!days.is_empty());
    for d in &days {
        assert!(dom.contains(&format!("href=\"day/{d}\"")), "{d} listed");
    }
    assert!(dom.contains("<svg class=\"spark\""), "sparklines");
    let png = screenshot(&index);
    assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000);
}
