//! Rule `unused-policy`; its documentation is `RULE.docs`.

use std::collections::HashSet;

use super::{Context, Findings, Rule};
use crate::flux::Kind;

pub static RULE: Rule = Rule {
    id: "unused-policy",
    severity: crate::report::Severity::Warning,
    summary: "An ImagePolicy that no marker references",
    docs: r#"## What it catches
An ImagePolicy that no `$imagepolicy` marker in the repository names.

## Why it matters in Flux
The policy (and its ImageRepository) keeps scanning the registry, using rate limits, but updates
nothing: often a marker was deleted or misspelt (see `unknown-policy`).

## Example
`ImagePolicy flux-system/grafana` with no `# {"$imagepolicy": "flux-system:grafana"}` anywhere.

## Fix
Add the marker to the image it should update, or delete the policy. Policies used only by other
tools can be silenced with `rules: {unused-policy: off}` or an inline
`# flux-image-lint: ignore unused-policy` on the name's line.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let used: HashSet<String> = cx
        .markers()
        .map(|site| site.marker.setter.policy.to_string())
        .collect();
    for policy in cx.workspace.index.of_kind(Kind::ImagePolicy) {
        if !used.contains(&policy.key()) {
            out.push(
                &RULE,
                policy.file,
                policy.name.span,
                format!("no marker references ImagePolicy `{}`", policy.key()),
                format!("add `# {{\"$imagepolicy\": \"{}\"}}` to the image it should update, or delete the policy", policy.key()),
            );
        }
    }
}
