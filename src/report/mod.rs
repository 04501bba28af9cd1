//! Diagnostics and how they are printed: human (miette), JSON, GitHub annotations, SARIF,
//! JUnit; and `status` as a table or Markdown. Knows nothing of what a rule means.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod statistics;
pub mod status_table;
pub mod summary;

use std::borrow::Cow;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding, located for humans (1-based lines and columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub help: String,
    /// Byte range in the file, for renderers that show the source.
    #[serde(skip)]
    pub byte_start: usize,
    #[serde(skip)]
    pub byte_end: usize,
}

impl Diagnostic {
    /// The order every format prints: file, line, column, rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.file, self.line, self.column, self.rule)
    }

    /// This diagnostic with its file name, message and help [`escape`]d, for formats read on a
    /// terminal or in a CI log (file names, tags and server messages are untrusted).
    pub fn escaped(&self) -> Diagnostic {
        Diagnostic {
            file: escape(&self.file).into_owned(),
            message: escape(&self.message).into_owned(),
            help: escape(&self.help).into_owned(),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The YAML files read and searched: what the human summary counts.
    pub files_scanned: usize,
    /// Those parsed, for a marker or what Flux reads in them (the others hold neither).
    pub yaml_files: usize,
    pub markers: usize,
    pub policies: usize,
    pub repositories: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Parsed files Flux never applies or reads: with clusters, those no cluster reaches; without,
    /// those with image objects that a kustomization sits over but none lists. Their objects
    /// and markers get no diagnostics (`--verbose` lists them).
    #[serde(skip_serializing_if = "is_zero")]
    pub files_flux_ignores: usize,
    /// The markers in those files, which `markers` does not count.
    #[serde(skip_serializing_if = "is_zero")]
    pub markers_flux_ignores: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl std::ops::AddAssign for Summary {
    /// Totals over several repositories checked in one run.
    fn add_assign(&mut self, other: Summary) {
        self.files_scanned += other.files_scanned;
        self.yaml_files += other.yaml_files;
        self.markers += other.markers;
        self.policies += other.policies;
        self.repositories += other.repositories;
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.files_flux_ignores += other.files_flux_ignores;
        self.markers_flux_ignores += other.markers_flux_ignores;
    }
}

pub struct Report<'a> {
    pub diagnostics: &'a [Diagnostic],
    pub summary: &'a Summary,
}

/// `text` safe to print on a terminal or in a CI log: control characters (C0, DEL, C1), line
/// and paragraph separators and bidirectional overrides become `\u{…}` escapes, so a file
/// name, tag or server message can neither move the cursor, forge a new log line nor reorder
/// what is shown. Everything else is kept as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A file's text for showing its lines on a terminal: what [`escape`] would escape becomes `?`
/// (one per byte, so every byte offset still points at the same place); tabs and line breaks
/// stay.
pub fn neutralise_source(text: &str) -> Cow<'_, str> {
    let keep = |c: char| matches!(c, '\t' | '\n' | '\r') || !needs_escape(c);
    if text.chars().all(keep) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if keep(c) {
                    c.to_string()
                } else {
                    "?".repeat(c.len_utf8())
                }
            })
            .collect(),
    )
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_what_a_terminal_or_log_would_act_on() {
        assert_eq!(escape("v1.2.3"), "v1.2.3");
        assert_eq!(escape("ünïcode é"), "ünïcode é");
        assert_eq!(escape("a\nb"), "a\\u{a}b");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(
            escape("x\u{2028}y\u{202e}z\u{9b}"),
            "x\\u{2028}y\\u{202e}z\\u{9b}"
        );
        assert_eq!(escape("tab\there"), "tab\\u{9}here");
    }

    #[test]
    fn neutralised_sources_keep_every_offset() {
        use super::neutralise_source;
        let text = "a: 1 # \u{1b}[2J\u{202e}x\t\r\n";
        let shown = neutralise_source(text);
        assert_eq!(shown, "a: 1 # ?[2J???x\t\r\n");
        assert_eq!(shown.len(), text.len());
        assert_eq!(neutralise_source("plain: é\n"), "plain: é\n");
    }
}
