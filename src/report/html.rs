//! The HTML report (placeholder).
use super::Report;
/// Renders the HTML report.
pub fn render(_r: &Report) -> anyhow::Result<String> {
    Ok(String::new())
}
