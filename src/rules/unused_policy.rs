//! Rule `unused-policy`; its documentation is `RULE.docs`.

use std::collections::{BTreeMap, HashSet};

use super::{Context, Findings, Rule};
use crate::flux::objects::FluxObject;
use crate::flux::Kind;
use crate::model::tree::Origin;

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
    // A base policy that several roots render is used when any of its renders is.
    let mut by_name: BTreeMap<Origin, Vec<&FluxObject>> = BTreeMap::new();
    for policy in cx.workspace.index.of_kind(Kind::ImagePolicy) {
        if !policy.uncertain {
            by_name
                .entry(policy.name.origin())
                .or_default()
                .push(policy);
        }
    }
    for renders in by_name.values() {
        if renders.iter().any(|policy| used.contains(&policy.key())) {
            continue;
        }
        let policy = renders[0];
        out.push_at(
            &RULE,
            policy.name.origin(),
            format!("no marker references ImagePolicy `{}`", policy.key()),
            format!("add `# {{\"$imagepolicy\": \"{}\"}}` to the image it should update, or delete the policy", policy.key()),
        );
    }
}
