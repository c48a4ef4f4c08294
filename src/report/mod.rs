//! Reports: the view model and its renderings (JSON, HTML, text summary, Markdown).

pub mod anonymize;
pub mod diff;
pub mod diff_html;
pub mod facts;
pub mod filters;
pub mod first;
pub mod hosts;
pub mod html;
pub mod incident;
pub mod markdown;
pub mod model;
pub mod parquet;
pub mod pgbouncer;
pub mod replay;
pub mod series;
pub mod signals;
pub mod sql;
pub mod svg;
pub mod text;
pub mod text_sections;
pub mod tz;
pub mod warnings;

pub use model::Report;

use std::io::Write;
use std::path::Path;

/// An output format, chosen from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.html`
    Html,
    /// `.json`
    Json,
    /// `.txt`, or `-` (stdout)
    Text,
    /// `.md`
    Markdown,
    /// `.parquet`: the rows of every execution and event (a file only).
    Parquet,
}

impl Format {
    /// The format of an output path, or `None` for an unknown extension.
    pub fn from_path(path: &str) -> Option<Format> {
        if path == "-" {
            return Some(Format::Text);
        }
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Format::Html),
            "json" => Some(Format::Json),
            "txt" | "text" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// A format by name (`--output-format`): html, json, text (txt), md (markdown).
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            "text" | "txt" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// True for an output that goes to stdout: `-`, or `-.json`, `-.md`... (`-` with an
/// extension naming the format).
pub fn is_stdout(path: &str) -> bool {
    path == "-" || (path.starts_with("-.") && !path.contains(['/', '\\']))
}

/// Renders `report` in `format` into `out`.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            // Into memory, then one write: serialized straight into `out` (a `dyn
            // Write`), each of the report's many small pieces was a call through it.
            let mut json = serde_json::to_vec_pretty(report)?;
            json.push(b'\n');
            out.write_all(&json)?;
        }
        Format::Text => text::write_summary(report, out)?,
        Format::Markdown => markdown::write_markdown(report, out)?,
        Format::Html => out.write_all(html::render(report)?.as_bytes())?,
        Format::Parquet => anyhow::bail!("a Parquet export is written to a file (-o FILE.parquet)"),
    }
    Ok(())
}
