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
        let named = &site.marker.setter.policy.namespace;
        let namespace = policy.namespace_as_named(named);
        match applied_by_any(&cx.workspace.index, policy, named, &site.file.source.path) {
            Some(true) => continue,
            Some(false) => {}
            // The cluster applies no automation: it may run elsewhere (another repository, by
            // hand), unless the one written here was left out of the kustomization beside it.
            None => {
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
        // Those of every cluster the marker answers to: each applies the file, none updates it.
        let clusters = cx.workspace.marker_clusters(site.file_index);
        let automations = automations_of(cx, &clusters).join(", ");
        out.push(
            &RULE,
            site.file_index,
            site.marker.span,
            format!(
                "no ImageUpdateAutomation applies this marker: none covers this file in namespace `{namespace}` with a selector matching policy `{namespace}:{}`",
                policy.name.value
            ),
            format!("automations here: {automations}; widen one's `update.path` or `policySelector`, or add one"),
        );
    }
}

/// An ImageUpdateAutomation of `namespace` in a file beside a kustomization that does not list
/// it: its name, `file:line`, and that kustomization's file.
fn forgotten_automation(cx: &Context, namespace: &str) -> Option<(String, String, String)> {
    let found = unapplied::find(cx, "ImageUpdateAutomation", |tree| {
        unapplied::may_be_in(tree, namespace)
    })?;
    let Beside::Unlisted(kustomization) = found.beside else {
        return None;
    };
    let name = found.tree.path_str(&["metadata", "name"])?.to_string();
    Some((name, found.written, kustomization))
}

/// The ImageUpdateAutomations these clusters apply, each with its `update.path` and, for one
/// that commits elsewhere, where: "`ns:name` (path `./apps`)", "`ns:name` (path `./apps` of
/// another repository)", each once (one of a base several clusters apply).
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
            match cx.workspace.model.other_checkout(a) {
                Some(elsewhere) => {
                    format!("`{}` (path `{path}` of {})", a.key(), elsewhere.place())
                }
                None => format!("`{}` (path `{path}`)", a.key()),
            }
        })
        .filter(|described| seen.insert(described.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::rules::diagnostics_of;

    #[test]
    fn the_help_lists_the_automations_of_every_cluster_that_applies_the_file() {
        let cluster = |name: &str| {
            let sync = format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://example.com/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/{name}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps/{name}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n");
            let automation = format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: updates\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.com\n  update:\n    path: ./apps/{name}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 1m\n  image: ghcr.io/org/app\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: 1.x\n");
            [
                (format!("clusters/{name}/flux-system/gotk-sync.yaml"), sync),
                (format!("clusters/{name}/automation.yaml"), automation),
                (
                    format!("apps/{name}/kustomization.yaml"),
                    "resources:\n  - ../base\n".to_string(),
                ),
            ]
        };
        let base = [
            ("apps/base/kustomization.yaml".to_string(), "resources:\n  - deployment.yaml\n".to_string()),
            ("apps/base/deployment.yaml".to_string(), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n".to_string()),
        ];
        let files: Vec<(String, String)> =
            [&cluster("prod")[..], &cluster("staging")[..], &base[..]].concat();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let found = diagnostics_of(&files, &["marker-outside-automation"]);
        let helps: Vec<&str> = found.iter().map(|d| d.help.as_str()).collect();
        assert_eq!(
            helps,
            ["automations here: `flux-system:updates` (path `./apps/prod`), `flux-system:updates` (path `./apps/staging`); widen one's `update.path` or `policySelector`, or add one"]
        );
    }
}
