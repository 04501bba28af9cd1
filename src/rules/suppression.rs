//! Suppression comments, which of them suppressed something, and the two rules that report on
//! them: `unknown-rule-in-ignore` and the opt-in `unused-ignore`.
//!
//! - `# flux-image-lint: ignore RULE[, RULE…]` on a diagnostic's line, or alone on the line
//!   above it (a marker line cannot carry a second comment: Flux would no longer parse the
//!   marker's JSON);
//! - `# flux-image-lint: ignore-file RULE[, RULE…]` anywhere in a file, for the whole file.
//!
//! Without a rule id, every rule. A reason may follow the ids after `--`.

use super::{find, Findings, Rule};
use crate::report::Severity;
use crate::source::Span;
use crate::workspace::Workspace;

pub static UNKNOWN_RULE_IN_IGNORE: Rule = Rule {
    id: "unknown-rule-in-ignore",
    severity: Severity::Warning,
    summary: "An ignore comment names a rule that does not exist",
    docs: r#"## What it catches
A `# flux-image-lint: ignore …` or `ignore-file …` comment naming a rule id that no rule has.

## Why it matters
The comment suppresses nothing for that id: a misspelt id leaves the diagnostic it was meant to
silence, or, after a rule was renamed, hides nothing while looking as if it does.

## Example
```yaml
# flux-image-lint: ignore unused-polcy
```

## Fix
Use an id from `flux-image-lint rules` (the message suggests the nearest one), or remove the id.
"#,
    check: reported_by_the_suppression_pass,
};

pub static UNUSED_IGNORE: Rule = Rule {
    id: "unused-ignore",
    severity: Severity::Warning,
    summary: "An ignore comment that suppresses nothing",
    docs: r#"## What it catches
A `# flux-image-lint: ignore …` or `ignore-file …` comment, or one rule id in it, that suppressed
no diagnostic in this run. Off by default: turn it on with `rules: {unused-ignore: warning}`.

## Why it matters
Suppressions outlive the problems they silenced; a stale one hides the next real problem on its
line.

## Example
```yaml
# flux-image-lint: ignore unused-policy
kind: ImagePolicy   # … which a marker now uses
```

## Fix
Remove the comment, or the rule id that no longer applies.
"#,
    check: reported_by_the_suppression_pass,
};

/// These rules report on the suppression comments after every other rule ran.
fn reported_by_the_suppression_pass(_: &super::Context, _: &mut Findings) {}

use crate::scan::SUPPRESSION_PREFIX as PREFIX;

/// One ignore comment.
struct Ignore {
    file: usize,
    line: usize,
    /// The comment is the only thing on its line: it also covers the next line.
    alone: bool,
    whole_file: bool,
    /// Where the comment's directive (`flux-image-lint: ignore…`) is, for reports about it.
    span: Span,
    /// Empty: every rule.
    rules: Vec<NamedRule>,
    used: bool,
}

struct NamedRule {
    id: String,
    span: Span,
    used: bool,
}

impl Ignore {
    fn covers(&self, line: usize) -> bool {
        self.whole_file || self.line == line || (self.alone && self.line + 1 == line)
    }
}

/// Every ignore comment of a workspace, by file.
pub struct Suppressions {
    per_file: Vec<Vec<Ignore>>,
}

impl Suppressions {
    pub fn find(workspace: &Workspace) -> Suppressions {
        let finder = memchr::memmem::Finder::new(PREFIX);
        let mut per_file = Vec::with_capacity(workspace.files.len());
        for (file_index, file) in workspace.files.iter().enumerate() {
            let mut ignores = Vec::new();
            if !file.mentions_suppression {
                per_file.push(ignores);
                continue;
            }
            let text = file.source.text();
            for at in finder.find_iter(text.as_bytes()) {
                let line = file.source.position(at).line;
                let line_start = file.source.line_start(line);
                let before = &text[line_start..at];
                let Some(hash) = before.find('#') else {
                    continue;
                };
                if let Some(ignore) = parse(text, at, file_index, line) {
                    ignores.push(Ignore {
                        alone: before[..hash].trim().is_empty(),
                        ..ignore
                    });
                }
            }
            per_file.push(ignores);
        }
        Suppressions { per_file }
    }

    /// Whether a diagnostic of `rule` on `line` of `file` is suppressed; what suppressed it is
    /// marked used.
    pub fn suppress(&mut self, file: usize, line: usize, rule: &str) -> bool {
        let mut suppressed = false;
        for ignore in self.per_file[file].iter_mut().filter(|i| i.covers(line)) {
            if ignore.rules.is_empty() {
                ignore.used = true;
                suppressed = true;
            }
            for named in ignore.rules.iter_mut().filter(|n| n.id == rule) {
                named.used = true;
                suppressed = true;
            }
        }
        suppressed
    }

    /// Whether a diagnostic of the suppression rules themselves is suppressed: only by a comment
    /// naming the rule (a bare `ignore-file` would otherwise silence the report about itself).
    pub fn covers(&self, file: usize, line: usize, rule: &str) -> bool {
        self.per_file[file]
            .iter()
            .any(|i| i.covers(line) && i.rules.iter().any(|n| n.id == rule))
    }

    /// `unknown-rule-in-ignore` for every id no rule has; `unused-ignore` for every comment, or
    /// id in it, that suppressed nothing.
    pub fn report(&self, out: &mut Findings) {
        for ignore in self.per_file.iter().flatten() {
            let directive = if ignore.whole_file {
                "ignore-file"
            } else {
                "ignore"
            };
            if ignore.rules.is_empty() && !ignore.used {
                out.push(
                    &UNUSED_IGNORE,
                    ignore.file,
                    ignore.span,
                    format!("this `{directive}` suppresses no diagnostic"),
                    "remove the comment".to_string(),
                );
            }
            for named in &ignore.rules {
                if find(&named.id).is_none() {
                    let hint = super::closest_id(&named.id)
                        .map(|id| format!(" (did you mean `{id}`?)"))
                        .unwrap_or_default();
                    out.push(
                        &UNKNOWN_RULE_IN_IGNORE,
                        ignore.file,
                        named.span,
                        format!("`{}` is not a rule{hint}; this `{directive}` suppresses nothing for it", named.id),
                        "use an id from `flux-image-lint rules`".to_string(),
                    );
                } else if !named.used {
                    out.push(
                        &UNUSED_IGNORE,
                        ignore.file,
                        named.span,
                        format!("this `{directive}` suppresses no `{}` diagnostic", named.id),
                        format!("remove `{}` from the comment", named.id),
                    );
                }
            }
        }
    }
}

/// `flux-image-lint: ignore[-file] [ids] [-- reason]` starting at byte `at` of `text`.
fn parse(text: &str, at: usize, file: usize, line: usize) -> Option<Ignore> {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let after_prefix = at + PREFIX.len();
    let rest = &text[after_prefix..line_end];
    let directive_start = after_prefix + (rest.len() - rest.trim_start().len());
    let directive = &text[directive_start..line_end];
    let (whole_file, word) = if directive.starts_with("ignore-file") {
        (true, "ignore-file")
    } else if directive.starts_with("ignore") {
        (false, "ignore")
    } else {
        return None;
    };
    let ids_start = directive_start + word.len();
    let ids_text = &text[ids_start..line_end];
    // `ignoreX` is not a directive; a reason after `--` is not an id.
    if ids_text.starts_with(|c: char| !c.is_whitespace() && c != ',') {
        return None;
    }
    let ids_end = ids_text.find("--").map_or(line_end, |n| ids_start + n);
    let mut rules = Vec::new();
    let mut offset = ids_start;
    for piece in text[ids_start..ids_end].split(|c: char| c == ',' || c.is_whitespace()) {
        if !piece.is_empty() {
            rules.push(NamedRule {
                id: piece.trim_end_matches('\r').to_string(),
                span: Span::new(offset, offset + piece.len()),
                used: false,
            });
        }
        offset += piece.len() + 1;
    }
    Some(Ignore {
        file,
        line,
        alone: false,
        whole_file,
        span: Span::new(at, ids_start),
        rules,
        used: false,
    })
}
