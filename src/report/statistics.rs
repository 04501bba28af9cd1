//! `--statistics`: how many diagnostics each rule gave, most first, instead of the diagnostics.

use serde::Serialize;

use super::{Diagnostic, Report, Severity, Summary};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    pub rule: &'static str,
    pub severity: Severity,
    pub count: usize,
}

/// One entry per rule and severity found, most frequent first, then by rule id.
pub fn count(diagnostics: &[Diagnostic]) -> Vec<RuleCount> {
    let mut counts: Vec<RuleCount> = Vec::new();
    for diagnostic in diagnostics {
        match counts
            .iter_mut()
            .find(|c| c.rule == diagnostic.rule && c.severity == diagnostic.severity)
        {
            Some(entry) => entry.count += 1,
            None => counts.push(RuleCount {
                rule: diagnostic.rule,
                severity: diagnostic.severity,
                count: 1,
            }),
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule.cmp(b.rule)));
    counts
}

/// `   12  unknown-policy   error`, one line per rule.
pub fn render_text(report: &Report) -> String {
    let counts = count(report.diagnostics);
    let width = counts.iter().map(|c| c.rule.len()).max().unwrap_or(0);
    counts
        .iter()
        .map(|c| {
            format!(
                "{:>5}  {:width$}  {}\n",
                c.count,
                c.rule,
                c.severity.as_str()
            )
        })
        .collect()
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    statistics: Vec<RuleCount>,
    summary: &'a Summary,
}

/// `{"version":1,"statistics":[{"rule","severity","count"}],"summary":{…}}`.
pub fn render_json(report: &Report) -> String {
    let document = Document {
        version: 1,
        statistics: count(report.diagnostics),
        summary: report.summary,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("statistics serialise");
    text.push('\n');
    text
}
