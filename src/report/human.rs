//! `--format human`: miette's report with the source line and a caret under the span, wrapped to
//! a width; colour as `app` decides. Linear in the size of the output: each file's line index is
//! built once, and each diagnostic reads only the lines it shows. Control characters from
//! untrusted text (messages, file names, the files themselves) never reach the terminal raw.

use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;
use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{escape, neutralise_source, Diagnostic, Report, Severity};

/// How the report looks.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Columns to wrap messages at; `None`: miette's default.
    pub width: Option<usize>,
    /// The closing line with the counts (`--quiet` leaves it out).
    pub summary: bool,
}

/// Renders every diagnostic and, unless left out, a closing summary line; `sources` maps paths
/// to file texts.
pub fn render(report: &Report, sources: &HashMap<&str, &str>, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    if let Some(width) = style.width {
        handler = handler.with_width(width);
    }
    let mut files: HashMap<&str, Option<FileSource>> = HashMap::new();
    let mut out = String::new();
    for diagnostic in report.diagnostics {
        let source = files
            .entry(diagnostic.file.as_str())
            .or_insert_with(|| {
                sources
                    .get(diagnostic.file.as_str())
                    .map(|text| FileSource::new(&diagnostic.file, text))
            })
            .as_ref()
            .filter(|source| source.lines_are_short_around(diagnostic));
        let rendered = Rendered {
            diagnostic,
            message: escape(&diagnostic.message),
            help: escape(&diagnostic.help),
            source,
        };
        let _ = handler.render_report(&mut out, &rendered);
        out.push('\n');
    }
    if style.summary {
        out.push_str(&summary_line(report));
    }
    out
}

/// `3 errors, 1 warning in 12 markers across 40 YAML files …` (every file searched, not only
/// those parsed), and what was not checked because Flux does
/// not apply it (a repository whose markers all sit there would read as having none).
pub fn summary_line(report: &Report) -> String {
    let summary = report.summary;
    let mut line = format!(
        "{} error{}, {} warning{} in {} marker{} across {} YAML file{} ({} polic{}, {} repositor{})",
        summary.errors,
        plural(summary.errors, "", "s"),
        summary.warnings,
        plural(summary.warnings, "", "s"),
        summary.markers,
        plural(summary.markers, "", "s"),
        summary.files_scanned,
        plural(summary.files_scanned, "", "s"),
        summary.policies,
        plural(summary.policies, "y", "ies"),
        summary.repositories,
        plural(summary.repositories, "y", "ies"),
    );
    if summary.markers_flux_ignores > 0 {
        line.push_str(&format!(
            "; {} more marker{} in files no cluster here applies, not checked (`--verbose` lists the files)",
            summary.markers_flux_ignores,
            plural(summary.markers_flux_ignores, "", "s"),
        ));
    }
    line + "\n"
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    message: Cow<'a, str>,
    help: Cow<'a, str>,
    source: Option<&'a FileSource<'a>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
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
        (!self.help.is_empty()).then(|| Box::new(&self.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source?;
        let d = self.diagnostic;
        let span = SourceSpan::new(d.byte_start.into(), d.byte_end.saturating_sub(d.byte_start));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            None, span,
        ))))
    }
}

/// A file's text with its line starts as miette counts lines (after `\n`, `\r\n` and a lone
/// `\r`), so that each diagnostic reads only the lines around its span.
struct FileSource<'a> {
    name: String,
    text: Cow<'a, str>,
    line_starts: Vec<usize>,
}

impl<'a> FileSource<'a> {
    fn new(name: &str, text: &'a str) -> FileSource<'a> {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if ends_line {
                line_starts.push(i + 1);
            }
        }
        FileSource {
            name: escape(name).into_owned(),
            text: neutralise_source(text),
            line_starts,
        }
    }
}

/// Longest line shown under a diagnostic: beyond it the snippet is left out (a generated
/// one-line file of megabytes would flood the terminal, and miette cannot pad past 65,535
/// columns).
const MAX_SHOWN_LINE: usize = 4096;

impl FileSource<'_> {
    /// Whether the span's lines and their neighbours are short enough to show.
    fn lines_are_short_around(&self, diagnostic: &Diagnostic) -> bool {
        let line_of = |offset: usize| self.line_starts.partition_point(|&s| s <= offset) - 1;
        let first = line_of(diagnostic.byte_start).saturating_sub(1);
        let last = (line_of(diagnostic.byte_end) + 1).min(self.line_starts.len() - 1);
        (first..=last).all(|line| {
            let end = self
                .line_starts
                .get(line + 1)
                .copied()
                .unwrap_or(self.text.len());
            end - self.line_starts[line] <= MAX_SHOWN_LINE
        })
    }
}

impl SourceCode for FileSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let line = self
            .line_starts
            .partition_point(|&start| start <= span.offset())
            .saturating_sub(1);
        let first_line = line.saturating_sub(context_lines_before);
        let window_start = self.line_starts[first_line];
        let window: &'b str = &self.text[window_start..];
        let relative = SourceSpan::new((span.offset() - window_start).into(), span.len());
        let contents = window.read_span(&relative, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            SourceSpan::new(
                (contents.span().offset() + window_start).into(),
                contents.span().len(),
            ),
            contents.line() + first_line,
            contents.column(),
            contents.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(file: &str, start: usize, end: usize, message: &str) -> Diagnostic {
        Diagnostic {
            rule: "unknown-policy",
            severity: Severity::Error,
            file: file.into(),
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
            message: message.into(),
            help: String::new(),
            byte_start: start,
            byte_end: end,
        }
    }

    fn render_plain(diagnostics: &[Diagnostic], text: &str) -> String {
        let summary = super::super::Summary::default();
        let report = Report {
            diagnostics,
            summary: &summary,
        };
        let sources = HashMap::from_iter([("a.yaml", text)]);
        let style = Style {
            color: false,
            width: None,
            summary: false,
        };
        render(&report, &sources, style)
    }

    /// The excerpt reader shows what miette shows reading the whole file, line numbers included.
    #[test]
    fn excerpts_match_the_whole_file() {
        let text = "a: 1\r\nb: 2\rc: 3\nd: 4\n\ne: five\n";
        for start in 0..=text.len() - 3 {
            let ours = render_plain(&[diagnostic("a.yaml", start, start + 3, "m")], text);
            let theirs = {
                struct Whole<'a>(&'a Diagnostic, miette::NamedSource<String>);
                impl fmt::Debug for Whole<'_> {
                    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("m")
                    }
                }
                impl fmt::Display for Whole<'_> {
                    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("m")
                    }
                }
                impl std::error::Error for Whole<'_> {}
                impl miette::Diagnostic for Whole<'_> {
                    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
                        Some(Box::new(self.0.rule))
                    }
                    fn severity(&self) -> Option<miette::Severity> {
                        Some(miette::Severity::Error)
                    }
                    fn source_code(&self) -> Option<&dyn SourceCode> {
                        Some(&self.1)
                    }
                    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
                        let span = SourceSpan::new(self.0.byte_start.into(), 3);
                        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
                            None, span,
                        ))))
                    }
                }
                let d = diagnostic("a.yaml", start, start + 3, "m");
                let whole = Whole(&d, miette::NamedSource::new("a.yaml", text.to_string()));
                let mut out = String::new();
                GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                    .with_context_lines(1)
                    .render_report(&mut out, &whole)
                    .unwrap();
                out.push('\n');
                out
            };
            assert_eq!(ours, theirs, "span at {start}");
        }
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let text = "image: \u{1b}[31mred # {\"$imagepolicy\": \"a:b\"}\n";
        let out = render_plain(
            &[diagnostic("a.yaml", 0, 5, "tag `\u{1b}]0;x\u{7}` \u{9b}")],
            text,
        );
        let is_control = |c: char| c.is_control() && c != '\n' && c != '\t';
        assert!(!out.chars().any(is_control), "{out:?}");
        assert!(out.contains("\\u{1b}]0;x\\u{7}"), "{out}");
        assert!(out.contains("image: ?[31mred"), "{out}");
        assert_eq!(escape("a\u{1b}.yaml"), "a\\u{1b}.yaml");
    }
}
