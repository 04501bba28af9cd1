//! `--format json`: one document, stable keys, paths relative to the repository root.

use serde::Serialize;

use super::{Diagnostic, Report, Summary};

#[derive(Serialize)]
struct Document<'a, Extra: Serialize> {
    version: u32,
    diagnostics: &'a [Diagnostic],
    summary: &'a Summary,
    #[serde(flatten)]
    extra: Option<&'a Extra>,
}

pub fn render(report: &Report) -> String {
    render_with::<()>(report, None)
}

/// The document with more top-level keys after `summary` (what `--fix` did).
pub fn render_with<Extra: Serialize>(report: &Report, extra: Option<&Extra>) -> String {
    let document = Document {
        version: 1,
        diagnostics: report.diagnostics,
        summary: report.summary,
        extra,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("diagnostics serialise");
    text.push('\n');
    text
}
