//! Diagnostics and how they are printed: human (miette), JSON, GitHub annotations, SARIF,
//! JUnit. Knows nothing of what a rule means.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod statistics;

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
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files_scanned: usize,
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
    }
}

pub struct Report<'a> {
    pub diagnostics: &'a [Diagnostic],
    pub summary: &'a Summary,
}
