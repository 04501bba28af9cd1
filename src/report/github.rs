//! `--format github`: workflow commands (`::error file=…,line=…::message`) that GitHub Actions
//! shows on the pull request's diff. Forgejo Actions only prints them, so the action prints the
//! human format there.

use std::fmt::Write;

use super::{Report, Severity};

/// Escapes a message: `%`, CR and LF (the text is [`super::escape`]d first, so no other control
/// character reaches the log).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for d in report.diagnostics {
        let d = &d.escaped();
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(
            out,
            "::{command} file={},line={}",
            escape_property(&d.file),
            d.line
        );
        if d.end_line == d.line {
            let _ = write!(out, ",col={},endColumn={}", d.column, d.end_column);
        } else {
            let _ = write!(out, ",endLine={}", d.end_line);
        }
        let message = if d.help.is_empty() {
            d.message.clone()
        } else {
            format!("{}\nhelp: {}", d.message, d.help)
        };
        let _ = writeln!(
            out,
            ",title={}::{}",
            escape_property(d.rule),
            escape_data(&message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_github_requires() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
