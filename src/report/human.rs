//! `--format human`: miette's report with the source line and a caret under the span; colour
//! only on a terminal (and never with `NO_COLOR`).

use std::collections::HashMap;
use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::{neutralise_source, Diagnostic, Report, Severity};

struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<String>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.diagnostic.help.is_empty())
            .then(|| Box::new(&self.diagnostic.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let d = self.diagnostic;
        let span = SourceSpan::new(d.byte_start.into(), d.byte_end.saturating_sub(d.byte_start));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            None, span,
        ))))
    }
}

/// Renders every diagnostic and a closing summary line; `sources` maps paths to file texts.
pub fn render(report: &Report, sources: &HashMap<&str, &str>, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for original in report.diagnostics {
        let text = sources.get(original.file.as_str());
        let diagnostic = &original.escaped();
        let source = text.map(|text| {
            NamedSource::new(
                diagnostic.file.clone(),
                neutralise_source(text).into_owned(),
            )
        });
        let rendered = Rendered { diagnostic, source };
        let _ = handler.render_report(&mut out, &rendered);
        out.push('\n');
    }
    let summary = report.summary;
    out.push_str(&format!(
        "{} error{}, {} warning{} in {} marker{} across {} YAML file{} ({} polic{}, {} repositor{})\n",
        summary.errors,
        plural(summary.errors, "", "s"),
        summary.warnings,
        plural(summary.warnings, "", "s"),
        summary.markers,
        plural(summary.markers, "", "s"),
        summary.yaml_files,
        plural(summary.yaml_files, "", "s"),
        summary.policies,
        plural(summary.policies, "y", "ies"),
        summary.repositories,
        plural(summary.repositories, "y", "ies"),
    ));
    out
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
