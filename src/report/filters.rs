//! What the filters did, said in the report: which were applied, how many entries
//! they removed, the entries a filter could not be applied to (their field is
//! unknown and their session could not be matched), and a warning when they kept nothing (exit code 5), so an empty
//! report is never read as a quiet server or a setting that was off.

use super::model::Report;
use super::text::thousands;
use crate::aggregate::FilterCounts;
use crate::filter::{Field, Filters};
use crate::pipeline::InputResult;
use serde::Serialize;

/// The filters as applied.
#[derive(Debug, Clone, Serialize)]
pub struct FiltersView {
    /// Each filter as given (`--exclude-app 'pg_dump*'`).
    pub applied: Vec<String>,
    /// Entries the filters removed (statements and their duration lines among them).
    pub removed_entries: u64,
    /// Entries whose session could not be matched, removed because an include
    /// filter's field is unknown on them.
    pub unknown_field: Vec<UnknownField>,
    /// Entries whose session could not be matched, kept because an exclude filter's
    /// field is unknown on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_kept: Vec<UnknownField>,
    /// How times of day were read, when a time filter is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<String>,
    /// The filters kept no entry, or a statement filter kept no statement (exit 5).
    pub kept_nothing: bool,
}

/// Entries an include filter could not be applied to.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownField {
    /// `database`, `user`, `application`, `client host`.
    pub field: &'static str,
    /// Entries removed for it.
    pub entries: u64,
}

impl FiltersView {
    /// One line for the header and the text summary.
    pub fn sentence(&self) -> String {
        format!(
            "filters {} removed {} entries",
            self.applied.join(" "),
            thousands(self.removed_entries)
        )
    }
}

impl Report {
    /// Adds the filters, their counts and their warnings.
    pub fn apply_filters(&mut self, f: &Filters, inputs: &[InputResult]) {
        let mut c = FilterCounts::default();
        for i in inputs {
            c.merge(&i.stats.filter);
        }
        let flags = ["--db", "--user", "--app", "--client"];
        let mut unknown_field = Vec::new();
        for ((field, n), flag) in Field::ALL.iter().zip(c.unknown).zip(flags) {
            if n == 0 {
                continue;
            }
            self.warnings.push(format!(
                "{flag} could not be applied to {} entries whose session could not be \
                 matched: they carry no {} and no connection line of their process tells it \
                 (a background process, a line before its session's authorization, a \
                 session that began before the log, or a log without log_connections): they were left out",
                thousands(n),
                field.noun()
            ));
            unknown_field.push(UnknownField {
                field: field.noun(),
                entries: n,
            });
        }
        let mut unknown_kept = Vec::new();
        for ((field, n), flag) in Field::ALL.iter().zip(c.unknown_kept).zip(flags) {
            if n == 0 {
                continue;
            }
            self.warnings.push(format!(
                "--exclude-{} could not be applied to {} entries whose session could not be \
                 matched (no {} on them, no connection line of their process): they were \
                 kept",
                &flag[2..],
                thousands(n),
                field.noun()
            ));
            unknown_kept.push(UnknownField {
                field: field.noun(),
                entries: n,
            });
        }
        let no_entry = c.kept == 0 && c.removed > 0;
        let no_statement = f.on_statements() && c.kept_statements == 0 && c.removed > 0;
        if no_entry || no_statement {
            let what = if no_entry { "entry" } else { "statement" };
            self.warnings.insert(
                0,
                format!(
                    "The filters ({}) kept no {what}: they removed {} entries. This report is \
                     empty because of the filters, not because nothing happened; nothing in \
                     it says a setting was off.",
                    f.applied.join(" "),
                    thousands(c.removed)
                ),
            );
        }
        self.filters = Some(FiltersView {
            applied: f.applied.clone(),
            removed_entries: c.removed,
            unknown_field,
            unknown_kept,
            times: (!f.zone_note.is_empty()).then(|| f.zone_note.clone()),
            kept_nothing: no_entry || no_statement,
        });
    }
}
