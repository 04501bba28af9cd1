//! Rule `duplicate-object`; its documentation is `RULE.docs`.

use std::collections::HashSet;

use super::{Context, Findings, Rule};

pub static RULE: Rule = Rule {
    id: "duplicate-object",
    severity: crate::report::Severity::Error,
    summary: "Two objects with the same kind, namespace and name",
    docs: r#"## What it catches
Two ImageRepositories, ImagePolicies or ImageUpdateAutomations with the same namespace and name
(after namespace defaulting), anywhere in the repository.

## Why it matters in Flux
Only one object can exist in the cluster: whichever Kustomization applies last wins, so the
policy that selects your tags depends on reconciliation order (or the apply fails).

## Example
`ImagePolicy flux-system/app` defined in both `policies/apps.yaml` and `apps/app/policy.yaml`.

## Fix
Remove one of them, or rename it (and its markers).
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let index = &cx.workspace.index;
    let mut seen = HashSet::new();
    for object in &index.objects {
        if !seen.insert((
            object.kind,
            object.namespace.as_str(),
            object.name.value.as_str(),
        )) {
            continue;
        }
        let all = index.all_with_key(object.kind, &object.namespace, &object.name.value);
        let first = all[0];
        let first_file = cx.file(first.file);
        let first_line = first_file.source.position(first.name.span.start).line;
        for duplicate in &all[1..] {
            out.push(
                &RULE,
                duplicate.file,
                duplicate.name.span,
                format!(
                    "{} `{}` is already defined at {}:{}",
                    object.kind,
                    object.key(),
                    first_file.source.path,
                    first_line
                ),
                "remove one definition or rename it; only one can exist in the cluster".to_string(),
            );
        }
    }
}
