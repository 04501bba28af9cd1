//! `--format junit`: for CI systems that only read JUnit XML. One test suite per file with
//! diagnostics, one failing test case per error (warnings are skipped cases with their message),
//! and a passing case when the repository is clean, so the report is never empty.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Diagnostic, Report, Severity};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    // CI systems print these names and messages in their logs: escaped like a terminal's.
    let escaped: Vec<Diagnostic> = report.diagnostics.iter().map(Diagnostic::escaped).collect();
    let mut by_file: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    for d in &escaped {
        by_file.entry(d.file.as_str()).or_default().push(d);
    }
    let errors = report.summary.errors;
    let tests = report.diagnostics.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"flux-image-lint\" tests=\"{tests}\" failures=\"{errors}\">"
    );
    if by_file.is_empty() {
        out.push_str("  <testsuite name=\"flux-image-lint\" tests=\"1\" failures=\"0\">\n");
        out.push_str(
            "    <testcase name=\"check\" classname=\"flux-image-lint\"/>\n  </testsuite>\n",
        );
    }
    for (file, diagnostics) in by_file {
        let failures = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let skipped = diagnostics.len() - failures;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            escape(file),
            diagnostics.len()
        );
        for d in diagnostics {
            let _ = writeln!(
                out,
                "    <testcase name=\"{} {}:{}:{}\" classname=\"{}\" file=\"{}\" line=\"{}\">",
                d.rule,
                escape(file),
                d.line,
                d.column,
                escape(file),
                escape(file),
                d.line
            );
            let body = escape(&format!(
                "{}:{}:{}: {}\nhelp: {}",
                d.file, d.line, d.column, d.message, d.help
            ));
            match d.severity {
                Severity::Error => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{body}</failure>",
                        d.rule,
                        escape(&d.message)
                    );
                }
                Severity::Warning => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"warning: {}\"/>",
                        escape(&d.message)
                    );
                }
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
