//! Markdown: `status --format markdown`, and the same table in the pull request `--open-pr`
//! opens (the changes made, then the stuck markers), for a Forgejo issue kept as a dashboard or
//! `$GITHUB_STEP_SUMMARY`. GitHub-flavoured tables; every value from the repository or a
//! registry is a code span or escaped, so none can break the table or inject HTML.

use crate::status::{phrase, MarkerStatus, PolicyStatus, Problem, State, Status};

/// A heading per cluster and namespace, each with a table: one row per marker, the policy's
/// columns filled on its first row only; a policy no marker names gets a row of its own.
pub fn status(status: &Status) -> String {
    let mut out = summary(status);
    for group in status.groups() {
        out.push_str(&format!(
            "\n#### {}\n\n| policy | image | tags | kept | latest | marker | value | state |\n|---|---|--:|--:|---|---|---|---|\n",
            group[0].group_heading(code)
        ));
        for policy in group {
            policy_rows(&mut out, policy);
        }
    }
    out
}

/// `**2 updates**, 1 downgrade, 1 stuck, 20 up to date · 29 policies (2 unused), 32 markers`.
fn summary(status: &Status) -> String {
    let counts = &status.summary;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "**{}**, {}, {} stuck, {} up to date · {} ({} unused), {}\n",
        plural(counts.updates, "update", "updates"),
        plural(counts.downgrades, "downgrade", "downgrades"),
        counts.stuck,
        counts.up_to_date,
        plural(counts.policies, "policy", "policies"),
        counts.unused,
        plural(counts.markers, "marker", "markers"),
    )
}

fn policy_rows(out: &mut String, policy: &PolicyStatus) {
    let number = |n: Option<usize>| n.map_or(String::new(), |n| n.to_string());
    let image = match (&policy.image, policy.defined) {
        (Some(image), _) => code(image),
        (None, true) => String::new(),
        (None, false) => "not defined".to_string(),
    };
    let latest = match (&policy.latest, &policy.problem) {
        (Some(latest), _) => code(latest),
        (None, Some(problem)) => format!("✗ {}", reason_text(problem)),
        (None, None) => String::new(),
    };
    let policy_cells = format!(
        "| {} | {image} | {} | {} | {latest} |",
        code(&policy.name),
        number(policy.tags),
        number(policy.candidates)
    );
    if policy.markers.is_empty() {
        out.push_str(&format!("{policy_cells} no marker | | |\n"));
    }
    for (i, marker) in policy.markers.iter().enumerate() {
        let lead = if i == 0 {
            policy_cells.clone()
        } else {
            "| | | | | |".to_string()
        };
        out.push_str(&format!(
            "{lead} {} | {} | {} |\n",
            code(&format!("{}:{}", marker.file, marker.line)),
            value_cell(policy, marker),
            state_cell(&marker.state)
        ));
    }
}

fn value_cell(policy: &PolicyStatus, marker: &MarkerStatus) -> String {
    let value = marker.shown_value(policy).map(code).unwrap_or_default();
    match &marker.state {
        State::Update { new, .. } | State::Downgrade { new, .. } => {
            format!("{value} → {}", code(policy.short_value(new)))
        }
        _ => value,
    }
}

fn state_cell(state: &State) -> String {
    match state {
        State::UpToDate => "✓ up to date".to_string(),
        State::Update { rule, .. } => format!("↑ update{}", rule_suffix(*rule)),
        State::Downgrade { why, rule, .. } => {
            format!("↓ downgrade: {}{}", text(why), rule_suffix(*rule))
        }
        State::Stuck(problem) => format!("✗ stuck: {}", reason_text(problem)),
        State::Unknown(problem) => format!("? {}", reason_text(problem)),
    }
}

fn reason_text(problem: &Problem) -> String {
    format!("{}{}", phrase(problem.reason), rule_suffix(problem.rule))
}

/// ` (`tag-out-of-range`)`: the `check` rule behind a state.
fn rule_suffix(rule: Option<&str>) -> String {
    rule.map(|rule| format!(" ({})", code(rule)))
        .unwrap_or_default()
}

/// `text` as a code span inside a table cell: fenced with more backticks than it holds, `|`
/// escaped (GitHub and Forgejo unescape it inside code spans in tables), control characters
/// and line breaks shown escaped.
pub fn code(text: &str) -> String {
    let text = visible(text).replace('|', "\\|");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Prose inside a table cell: `|` escaped, `<` and `&` as entities (no HTML), on one line.
pub fn text(text: &str) -> String {
    visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('|', "\\|")
}

/// Control characters, line breaks and tabs as `\u{…}` escapes.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{code, text};

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(code("v1.2.3"), "`v1.2.3`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a\nb"), "`a\\u{a}b`");
        assert_eq!(text("<img src=x> & |"), "&lt;img src=x> &amp; \\|");
    }
}
