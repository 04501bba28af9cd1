//! Rule `marker-outside-automation`; its documentation is `RULE.docs`. Also owns the question
//! "which ImageUpdateAutomation applies this marker", which `--fix` asks too.

use super::{Context, Findings, Rule};
use crate::flux::index::FluxIndex;
use crate::flux::objects::{FluxObject, Spec};
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

/// Whether an automation would apply markers of `policy` found in `file_path`.
pub fn automation_applies(automation: &FluxObject, policy: &FluxObject, file_path: &str) -> bool {
    let Spec::Automation(spec) = &automation.spec else {
        return false;
    };
    if automation.namespace != policy.namespace {
        return false;
    }
    let selected = spec
        .policy_selector
        .as_ref()
        .is_none_or(|selector| selector.matches(&policy.labels));
    let path = spec.update_path.as_ref().map_or("", |p| p.value.as_str());
    selected && path_contains(path, file_path)
}

/// Whether the repository-relative `file_path` lies under the automation path `dir`
/// (`./clusters/prod`, `clusters/prod/`, `.` and empty all allowed).
pub fn path_contains(dir: &str, file_path: &str) -> bool {
    let dir = normalize(dir);
    dir.is_empty() || file_path == dir || file_path.starts_with(&format!("{dir}/"))
}

pub fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether any automation of the index applies this marker; `None` when there are none.
pub fn applied_by_any(index: &FluxIndex, policy: &FluxObject, file_path: &str) -> Option<bool> {
    let mut automations = index.of_kind(Kind::ImageUpdateAutomation).peekable();
    automations.peek()?;
    Some(automations.any(|a| automation_applies(a, policy, file_path)))
}

fn check(cx: &Context, out: &mut Findings) {
    for site in cx.markers() {
        if out.is_blocked(&site) || site.value().is_none() {
            continue;
        }
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
