//! Snapshots of the JSON view model behind the HTML report, so that a change to what
//! the report says shows up as a diff to review like code (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test` and `git diff`). Values that depend on the run or
//! the machine (the `run` block, the checkout's directory in paths) are redacted.

use crate::util::*;
use insta::internals::{Content, ContentPath};

/// A path (or `path:line: text`) relative to the repository.
fn relative(v: Content, _: ContentPath<'_>) -> String {
    let root = format!("{}/", root().display());
    v.as_str().unwrap_or_default().replace(&root, "")
}

#[test]
fn view_model_of_a_small_real_log() {
    let r = json_report(&[log("a4_colon_remote").to_str().unwrap()], None);
    insta::assert_json_snapshot!("a4_colon_remote", r, {
        ".run" => "[run]",
        ".inputs[].path" => insta::dynamic_redaction(relative),
        ".server" => insta::dynamic_redaction(relative),
        ".inputs[].skipped_examples[]" => insta::dynamic_redaction(relative),
    });
}
