//! Rule `marker-outside-automation`; its documentation is `RULE.docs`.

use super::unapplied::{self, Beside};
use super::{Context, Findings, Rule};
use crate::flux::automation::applied_by_any;
use crate::flux::objects::Spec;
use crate::flux::Kind;
use foldhash::{HashMap, HashMapExt, HashSetExt};

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

Where the cluster applies no automation at all, nothing is said (it may run from another
repository, or be applied by hand), unless the repository writes one in a file beside a
kustomization that does not list it: left out, so no cluster applies it.

## Example
A marker in `apps/` while the only automation has `update.path: ./clusters`.

## Fix
Widen the automation's `update.path` or `policySelector`, move the policy into the automation's
namespace, or add an automation for it.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Per namespace, an automation written beside a kustomization that does not list it.
    let mut forgotten: HashMap<String, Option<(String, String, String)>> = HashMap::new();
    for (site, _) in cx.live_markers(out) {
        let Some((policy, _)) = cx.policy_of(&site) else {
            continue;
        };
        match applied_by_any(&cx.workspace.index, policy, &site.file.source.path) {
            Some(true) => continue,
            Some(false) => {}
            // The cluster applies no automation: it may run elsewhere (another repository, by
            // hand), unless the one written here was left out of the kustomization beside it.
            None => {
                let namespace = &policy.namespace;
                let found = forgotten
                    .entry(namespace.to_string())
                    .or_insert_with(|| forgotten_automation(cx, namespace));
                if let Some((name, written, kustomization)) = found {
                    out.push(
                        &RULE,
                        site.file_index,
                        site.marker.span,
                        format!("no ImageUpdateAutomation applies this marker: `{namespace}:{name}` is written in {written}, which `{kustomization}` does not list, so no cluster applies it"),
                        format!("add that file to the `resources` of `{kustomization}`"),
                    );
                }
                continue;
            }
        }
        let automations = automations_of(cx, &[policy.cluster]).join(", ");
        out.push(
            &RULE,
            site.file_index,
            site.marker.span,
            format!(
                "no ImageUpdateAutomation applies this marker: none covers this file in namespace `{}` with a selector matching policy `{}`",
                policy.namespace,
                policy.key()
            ),
            format!("automations here: {automations}; widen one's `update.path` or `policySelector`, or add one"),
        );
    }
}

/// An ImageUpdateAutomation of `namespace` in a file beside a kustomization that does not list
/// it: its name, `file:line`, and that kustomization's file.
fn forgotten_automation(cx: &Context, namespace: &str) -> Option<(String, String, String)> {
    let found = unapplied::find(cx, "ImageUpdateAutomation", |tree| {
        unapplied::namespace_of(cx, tree) == namespace
    })?;
    let Beside::Unlisted(kustomization) = found.beside else {
        return None;
    };
    let name = found.tree.path_str(&["metadata", "name"])?.to_string();
    Some((name, found.written, kustomization))
}

/// The ImageUpdateAutomations these clusters apply, each with its `update.path`:
/// "`ns:name` (path `./apps`)", each once (one of a base several clusters apply).
pub(super) fn automations_of(cx: &Context, clusters: &[usize]) -> Vec<String> {
    let mut seen = foldhash::HashSet::new();
    cx.workspace
        .index
        .of_kind(Kind::ImageUpdateAutomation)
        .filter(|a| clusters.contains(&a.cluster))
        .map(|a| {
            let path = match &a.spec {
                Spec::Automation(spec) => {
                    spec.update_path.as_ref().map_or("./", |p| p.value.as_str())
                }
                _ => "",
            };
            format!("`{}` (path `{path}`)", a.key())
        })
        .filter(|described| seen.insert(described.clone()))
        .collect()
}
