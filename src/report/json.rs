//! `--format json`: one document, stable keys, paths relative to the repository root.

use serde::Serialize;

use super::{Diagnostic, Report, Summary};

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    diagnostics: &'a [Diagnostic],
    summary: &'a Summary,
}

pub fn render(report: &Report) -> String {
    let document = Document {
        version: 1,
        diagnostics: report.diagnostics,
        summary: report.summary,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("diagnostics serialise");
    text.push('\n');
    text
}
