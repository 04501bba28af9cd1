//! `--summary-file`: the Markdown summary of a run, for `$GITHUB_STEP_SUMMARY` and a Forgejo
//! pull-request comment, and `--outputs-file`: the counts as `KEY=VALUE` lines for
//! `$GITHUB_OUTPUT`. `render` builds the summary from its parts, each part a section of its own;
//! the changes and the stuck markers are `status`'s Markdown table, as in the `--open-pr` body.

use std::fmt::Write;

use super::markdown::{self, code};
use super::{Diagnostic, Report, Severity};
use crate::status::Status;
use crate::update::{ChangeRecord, ResolveFailure, Stage};

/// Rows a table shows at most: a step summary is capped at 1 MiB.
const MAX_ROWS: usize = 500;

/// What a summary is made of. Each part is optional: a run that stopped early has no report.
#[derive(Default)]
pub struct Parts<'a> {
    /// What was checked, as the reader names it (`.`, `clusters/home`).
    pub checked: &'a str,
    /// The diagnostics and their counts; `None` when the run stopped before the rules ran.
    pub report: Option<&'a Report<'a>>,
    /// What `--fix` did.
    pub fix: Option<FixParts<'a>>,
    /// The markers that are not up to date ([`Status::pending`]), one `Status` per repository
    /// checked: with `--fix` the changes it made (or would make) and the stuck markers; in a
    /// `check` run with a tags file the pending updates and the stuck markers.
    pub updates: &'a [Status],
    /// Why the run could not do its job (exit 2).
    pub error: Option<&'a str>,
}

pub struct FixParts<'a> {
    pub changes: &'a [ChangeRecord<'a>],
    pub failures: &'a [ResolveFailure],
    /// The changes were written (or committed); false for a dry run, or when a policy could
    /// not be resolved and nothing was written.
    pub written: bool,
    /// What happened to the review branch, one sentence, when `--push` ran.
    pub push: Option<&'a str>,
}

/// The summary: a headline, then what could not be resolved, the changes and stuck markers,
/// what happened to the review branch, and the diagnostics.
pub fn render(parts: &Parts) -> String {
    let mut out = String::from("### flux-image-lint\n\n");
    out.push_str(&headline(parts));
    if let Some(fix) = &parts.fix {
        out.push_str(&failures_section(fix));
    }
    for status in parts.updates {
        out.push_str(&updates_section(status, parts.fix.as_ref()));
    }
    if let Some(push) = parts.fix.as_ref().and_then(|fix| fix.push) {
        let _ = write!(out, "{}\n\n", inline(push));
    }
    if let Some(report) = parts.report {
        out.push_str(&diagnostics_section(report.diagnostics));
    }
    out
}

/// `errors=1`, `warnings=0`, `changed=0`, `unresolved=0`: what `$GITHUB_OUTPUT` takes.
pub fn outputs(report: Option<&Report>, fix: Option<&FixParts>) -> String {
    let count = |severity| {
        report.map_or(0, |r| {
            r.diagnostics
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        })
    };
    format!(
        "errors={}\nwarnings={}\nchanged={}\nunresolved={}\n",
        count(Severity::Error),
        count(Severity::Warning),
        fix.map_or(0, |f| f.changes.len()),
        fix.map_or(0, |f| unresolved_policies(f.failures)),
    )
}

fn headline(parts: &Parts) -> String {
    let checked = code(parts.checked);
    let mut lines = Vec::new();
    if let Some(error) = parts.error {
        lines.push(format!(
            "❌ **flux-image-lint could not do its job** in {checked}: {}",
            inline(error)
        ));
    }
    if let Some(fix) = &parts.fix {
        // Only a dry run has changes it did not write: like `ruff format --check`, it fails.
        if !fix.written && !fix.changes.is_empty() {
            let changes = fix.changes.len();
            lines.push(format!(
                "❌ **{changes} {} would change** in {checked}",
                plural(changes, "marked value", "marked values"),
            ));
        }
        let unresolved = unresolved_policies(fix.failures);
        if unresolved > 0 {
            let consequence = if fix.written {
                "the other policies were applied"
            } else {
                "nothing was written"
            };
            lines.push(format!(
                "❌ **{unresolved} {} could not be resolved**: {consequence}",
                plural(unresolved, "policy", "policies"),
            ));
        }
    }
    if let Some(report) = parts.report {
        let errors = report.summary.errors;
        let warnings = report.summary.warnings;
        lines.push(if errors > 0 {
            format!(
                "❌ **{errors} {}**, {warnings} {} in {checked}",
                plural(errors, "error", "errors"),
                plural(warnings, "warning", "warnings"),
            )
        } else if warnings > 0 {
            format!(
                "⚠️ {warnings} {} in {checked}",
                plural(warnings, "warning", "warnings")
            )
        } else if lines.is_empty() {
            format!("✅ No problems in {checked}")
        } else {
            // Beside a failure, a clean report is no all-clear.
            format!("No diagnostics in {checked}")
        });
    }
    lines.iter().map(|line| format!("{line}\n\n")).collect()
}

fn failures_section(fix: &FixParts) -> String {
    if fix.failures.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "#### Could not be resolved\n\n| Policy | Image | Stage | Error |\n|---|---|---|---|\n",
    );
    for failure in fix.failures.iter().take(MAX_ROWS) {
        let stage = match failure.stage {
            Stage::Tags => "tags",
            Stage::Selection => "selection",
            Stage::Digest => "digest",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {stage} | {} |",
            code(&failure.policy),
            code(&failure.image),
            cell(&failure.message)
        );
    }
    out.push_str(&more(fix.failures.len()));
    out.push('\n');
    out
}

/// `#### Image updates: 3 changed, 1 stuck` over `status`'s table of those markers; a line
/// when every marker is up to date.
fn updates_section(status: &Status, fix: Option<&FixParts>) -> String {
    let counts = &status.summary;
    let verb = match fix {
        Some(fix) if fix.written => "changed",
        Some(_) => "would change",
        None => "pending",
    };
    let said: Vec<String> = [
        (counts.updates + counts.downgrades, verb),
        (counts.stuck, "stuck"),
        (counts.unknown, "unknown"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect();
    if said.is_empty() {
        return if counts.markers > 0 {
            "Every marker is up to date.\n\n".to_string()
        } else {
            String::new()
        };
    }
    let mut shown = status.clone();
    let dropped = shown.truncate(MAX_ROWS);
    format!(
        "#### Image updates: {}\n\n{}{}\n",
        said.join(", "),
        markdown::status(&shown),
        more(MAX_ROWS + dropped)
    )
}

fn diagnostics_section(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "#### Diagnostics\n\n| Severity | Rule | Location | Message |\n|---|---|---|---|\n",
    );
    for d in diagnostics.iter().take(MAX_ROWS) {
        let message = if d.help.is_empty() {
            cell(&d.message)
        } else {
            format!("{}<br>help: {}", cell(&d.message), cell(&d.help))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {message} |",
            d.severity.as_str(),
            code(d.rule),
            code(&format!("{}:{}:{}", d.file, d.line, d.column)),
        );
    }
    out.push_str(&more(diagnostics.len()));
    out
}

/// `… and N more (see the job log)` under a cut table.
fn more(rows: usize) -> String {
    if rows > MAX_ROWS {
        format!("\n… and {} more (see the job log)\n", rows - MAX_ROWS)
    } else {
        String::new()
    }
}

fn unresolved_policies(failures: &[ResolveFailure]) -> usize {
    let mut policies: Vec<&str> = failures.iter().map(|f| f.policy.as_str()).collect();
    policies.sort_unstable();
    policies.dedup();
    policies.len()
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// Text in a table cell, each line as `markdown::text` makes it (no markup, no way out of the
/// cell), the lines joined with `<br>`.
fn cell(text: &str) -> String {
    text.lines()
        .map(markdown::text)
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Text in a paragraph: like a cell, on one line.
fn inline(text: &str) -> String {
    cell(text).replace("<br>", " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Summary;

    fn diagnostic(severity: Severity, message: &str) -> Diagnostic {
        Diagnostic {
            rule: "unknown-policy",
            severity,
            file: "apps/a.yaml".into(),
            line: 3,
            column: 7,
            end_line: 3,
            end_column: 9,
            message: message.into(),
            help: String::new(),
            byte_start: 0,
            byte_end: 0,
        }
    }

    #[test]
    fn cells_cannot_inject_markup() {
        assert_eq!(
            cell("<img src=x> | a\r\nb & \u{1b}"),
            "&lt;img src=x> \\| a<br>b &amp; \\u{1b}"
        );
    }

    #[test]
    fn counts_come_from_the_diagnostics() {
        let diagnostics = [
            diagnostic(Severity::Error, "a"),
            diagnostic(Severity::Warning, "b"),
            diagnostic(Severity::Error, "c"),
        ];
        let summary = Summary::default();
        let report = Report {
            diagnostics: &diagnostics,
            summary: &summary,
        };
        assert_eq!(
            outputs(Some(&report), None),
            "errors=2\nwarnings=1\nchanged=0\nunresolved=0\n"
        );
        assert_eq!(
            outputs(None, None),
            "errors=0\nwarnings=0\nchanged=0\nunresolved=0\n"
        );
    }

    #[test]
    fn a_failed_run_says_why_and_what_could_not_be_resolved() {
        let key = crate::fix::ClusterPolicy {
            cluster: 0,
            policy: crate::scan::marker::PolicyRef::parse("flux-system:a").unwrap(),
            render: 0,
        };
        let failures = [
            ResolveFailure {
                policy: "flux-system:a".into(),
                image: "ghcr.io/o/a".into(),
                stage: Stage::Tags,
                message: "connection refused".into(),
                tags_failure: None,
                key: key.clone(),
            },
            ResolveFailure {
                policy: "flux-system:a".into(),
                image: "ghcr.io/o/a".into(),
                stage: Stage::Digest,
                message: "HTTP 500".into(),
                tags_failure: None,
                key: key.clone(),
            },
        ];
        let parts = Parts {
            checked: "clusters/home",
            fix: Some(FixParts {
                changes: &[],
                failures: &failures,
                written: false,
                push: None,
            }),
            ..Parts::default()
        };
        let text = render(&parts);
        assert!(
            text.contains("❌ **1 policy could not be resolved**"),
            "{text}"
        );
        assert!(
            text.contains("| `flux-system:a` | `ghcr.io/o/a` | tags | connection refused |"),
            "{text}"
        );
        assert!(!text.contains("up to date"), "{text}");

        let summary = Summary::default();
        let report = Report {
            diagnostics: &[],
            summary: &summary,
        };
        let parts = Parts {
            report: Some(&report),
            ..parts
        };
        let text = render(&parts);
        assert!(text.contains("No diagnostics in `clusters/home`"), "{text}");
        assert!(!text.contains('✅'), "{text}");
    }
}
