//! Rule `marker-outside-automation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::automation::applied_by_any;
use crate::flux::objects::Spec;
use crate::flux::Kind;

pub static RULE: Rule = Rule {
    id: "marker-outside-automation",
    severity: crate::report::Severity::Warning,
    summary: "No ImageUpdateAutomation will apply this marker",
    docs: r#"## What it catches
Where the repository defines ImageUpdateAutomations, a marker that none of them applies: its file
is outside every automation's `spec.update.path`, or its policy is in another namespace than the
automation, or the automation's `policySelector` does not select the policy.

## Why it matters in Flux
An automation only reads files under its `update.path` and only knows the policies of its own
namespace that its selector matches; every other marker is skipped without a word
(fluxcd/image-automation-controller#361).

## Example
A marker in `apps/` while the only automation has `update.path: ./clusters`.

## Fix
Widen the automation's `update.path` or `policySelector`, move the policy into the automation's
namespace, or add an automation for it.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (site, _) in cx.live_markers(out) {
        let Some((policy, _)) = cx.policy_of(&site) else {
            continue;
        };
        if applied_by_any(&cx.workspace.index, policy, &site.file.source.path) != Some(false) {
            continue;
        }
        let automations: Vec<String> = cx
            .workspace
            .index
            .of_kind(Kind::ImageUpdateAutomation)
            .filter(|a| a.cluster == policy.cluster)
            .map(|a| {
                let path = match &a.spec {
                    Spec::Automation(spec) => {
                        spec.update_path.as_ref().map_or("./", |p| p.value.as_str())
                    }
                    _ => "",
                };
                format!("`{}` (path `{path}`)", a.key())
            })
            .collect();
        out.push(
            &RULE,
            site.file_index,
            site.marker.span,
            format!(
                "no ImageUpdateAutomation applies this marker: none covers this file in namespace `{}` with a selector matching policy `{}`",
                policy.namespace,
                policy.key()
            ),
            format!("automations here: {}; widen one's `update.path` or `policySelector`, or add one", automations.join(", ")),
        );
    }
}
