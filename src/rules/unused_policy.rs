//! Rule `unused-policy`; its documentation is `RULE.docs`.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::cell::OnceCell;
use std::collections::BTreeMap;

use super::{closest_policy, Context, Findings, Rule};
use crate::flux::automation::uses_policy;
use crate::flux::objects::FluxObject;
use crate::flux::Kind;
use crate::model::cluster::kubernetes_accepts_name;
use crate::model::substitute::{could_be, is_unresolved};
use crate::model::tree::Origin;
use crate::source::Span;
use crate::workspace::ScannedFile;

pub static RULE: Rule = Rule {
    id: "unused-policy",
    severity: crate::report::Severity::Warning,
    summary: "An ImagePolicy that no marker references",
    docs: r#"## What it catches
An ImagePolicy that no `$imagepolicy` marker in the repository names. A policy that an
automation committing to another repository or branch would apply (its namespace, its
`policySelector`) is not reported: the markers it serves are in that checkout.

## Why it matters in Flux
The policy (and its ImageRepository) keeps scanning the registry, using rate limits, but updates
nothing: often a marker was deleted or misspelt (see `unknown-policy`).

## Example
`ImagePolicy flux-system/grafana` with no `# {"$imagepolicy": "flux-system:grafana"}` anywhere.

## Fix
Add the marker to the image it should update, or delete the policy. When a marker misspells the
policy's name, or Flux ignores a marker meant for it (`marker-syntax`), the help points at that
marker: fix it there. A policy that sets no namespace is in the one that applies it: the help
names it as the markers name the policies beside it that set none, else `<namespace>:name`.
Policies used only by other
tools can be silenced with `rules: {unused-policy: off}` or an inline
`# flux-image-lint: ignore unused-policy` on the name's line.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // `namespace` and `name` as markers name them: neither holds a `:` (the marker's separator),
    // so a pair matches a policy exactly when its `namespace:name` does.
    let used: HashSet<(&str, &str)> = cx
        .markers()
        .map(|site| {
            let policy = &site.marker.setter.policy;
            (policy.namespace.as_str(), policy.name.as_str())
        })
        .collect();
    // A marker naming `${…}` could mean any policy its pattern fits (and is wrong itself).
    let patterns: Vec<String> = used
        .iter()
        .filter(|(namespace, name)| is_unresolved(namespace) || is_unresolved(name))
        .map(|(namespace, name)| format!("{namespace}:{name}"))
        .collect();
    // A policy whose namespace nothing here sets is named in the namespace it is applied to.
    let used_names: HashSet<&str> = used.iter().map(|&(_, name)| name).collect();
    // Automations that commit to another repository or branch read markers this check does
    // not see.
    let elsewhere: Vec<&FluxObject> = cx
        .workspace
        .index
        .of_kind(Kind::ImageUpdateAutomation)
        .filter(|automation| cx.workspace.model.other_checkout(automation).is_some())
        .collect();
    let is_used = |policy: &FluxObject| {
        used.contains(&(policy.namespace.as_str(), policy.name.value.as_str()))
            || (!patterns.is_empty() && {
                let key = policy.key();
                patterns.iter().any(|p| could_be(p, &key))
            })
            || (!policy.namespace_written && used_names.contains(policy.name.value.as_str()))
            || elsewhere.iter().any(|a| {
                a.cluster == policy.cluster
                    && uses_policy(a, policy, policy.namespace_as_named(&a.namespace))
            })
    };
    let typos = marker_typos(cx);
    // A base policy that several roots render is used when any of its renders is. One whose
    // name the API server refuses is never applied, used or not (`schema` says so).
    let mut by_name: BTreeMap<Origin, Vec<&FluxObject>> = BTreeMap::new();
    for policy in cx.workspace.index.of_kind(Kind::ImagePolicy) {
        let name = &policy.name.value;
        if !policy.uncertain && !is_unresolved(name) && kubernetes_accepts_name(name) {
            by_name
                .entry(policy.name.origin())
                .or_default()
                .push(policy);
        }
    }
    for renders in by_name.values() {
        if renders.iter().any(|policy| is_used(policy)) {
            continue;
        }
        let key = renders[0].key();
        let help = match typos.get(&key) {
            // The same name in another namespace: perhaps the policy's namespace as written,
            // where its build applies it elsewhere; `unknown-policy` at the marker tells which.
            Some(typo) if typo.other_namespace => format!(
                "the marker at {} {}, this name in another namespace: an automation reads only the policies of its own namespace, so one of the two namespaces must change (`unknown-policy` there says which); do not delete the policy",
                typo.at, typo.problem
            ),
            Some(typo) => format!(
                "did you mean this policy in the marker at {}, which {}? Fix that marker rather than deleting the policy",
                typo.at, typo.problem
            ),
            None => format!("add `# {{\"$imagepolicy\": \"{}\"}}` to the image it should update, or delete the policy", named_as(cx, &used, renders[0])),
        };
        let message = if renders[0].namespace_written {
            format!("no marker Flux reads names ImagePolicy `{key}`")
        } else {
            format!(
                "no marker Flux reads names ImagePolicy `{}`, which sets no namespace (what applies it decides)",
                renders[0].name.value
            )
        };
        out.push_at(&RULE, renders[0].name.origin(), message, help);
    }
}

/// `namespace:name` for a marker on `policy`: where it sets no namespace, the one the markers
/// give the policies beside it that set none either (ravichaudhary11/d2-apps: `apps:`, where
/// the default namespace would name a policy the cluster does not have), else a placeholder.
fn named_as(cx: &Context, used: &HashSet<(&str, &str)>, policy: &FluxObject) -> String {
    let name = &policy.name.value;
    if policy.namespace_written {
        return policy.key();
    }
    let folder = |object: &FluxObject| crate::walk::folder_of(&cx.file(object.file()).source.path);
    let here = folder(policy);
    let beside = (cx.workspace.index.of_kind(Kind::ImagePolicy))
        .filter(|other| !other.namespace_written && folder(other) == here)
        .find_map(|other| {
            (used.iter())
                .find(|(_, used_name)| *used_name == other.name.value.as_str())
                .map(|&(namespace, _)| namespace)
        });
    format!("{}:{name}", beside.unwrap_or("<namespace>"))
}

/// A marker that misses the policy it was written for.
struct MarkerTypo {
    /// `file:line` of the marker.
    at: String,
    /// What is wrong with the marker, after "which".
    problem: String,
    /// It names the policy's name in another namespace.
    other_namespace: bool,
}

/// Markers whose policy is defined nowhere but is close to a known one, and marker attempts
/// that Flux ignores (`marker-syntax`) but that name a known policy: the first such marker for
/// each policy it was meant for.
fn marker_typos(cx: &Context) -> HashMap<String, MarkerTypo> {
    let at = |file: &ScannedFile, span: Span| {
        format!("{}:{}", file.source.path, file.source.line_of(span.start))
    };
    // Listed only when a marker misses its policy.
    let known_policies = OnceCell::new();
    let known = || {
        known_policies
            .get_or_init(|| cx.workspace.index.keys(Kind::ImagePolicy))
            .as_slice()
    };
    let mut typos = HashMap::new();
    for site in cx.markers() {
        if cx.policy_of(&site).is_some() {
            continue;
        }
        let named = site.marker.setter.policy.to_string();
        if let Some(meant) = closest_policy(&named, known()) {
            let other_namespace = meant
                .split_once(':')
                .is_some_and(|(_, name)| name == site.marker.setter.policy.name);
            typos
                .entry(meant.to_string())
                .or_insert_with(|| MarkerTypo {
                    at: at(site.file, site.marker.span),
                    problem: format!("names `{named}`"),
                    other_namespace,
                });
        }
    }
    for (_, file) in cx.files() {
        for error in &file.markers.syntax_errors {
            let Some(named) = &error.intended_policy else {
                continue;
            };
            let bare_name_of = |key: &String| key.split_once(':').is_some_and(|(_, n)| n == named);
            let meant = known()
                .iter()
                .find(|key| *key == named || bare_name_of(key))
                .map(String::as_str)
                .or_else(|| closest_policy(named, known()));
            if let Some(meant) = meant {
                typos
                    .entry(meant.to_string())
                    .or_insert_with(|| MarkerTypo {
                        at: at(file, error.span),
                        problem: "Flux cannot read (`marker-syntax`)".to_string(),
                        other_namespace: false,
                    });
            }
        }
    }
    typos
}

#[cfg(test)]
mod tests {
    use crate::rules::diagnostics_of;

    /// A policy that sets no namespace is in the one it is applied to: the help names it as the
    /// markers name the policies beside it (ravichaudhary11/d2-apps), never the default.
    #[test]
    fn a_policy_without_namespace_is_named_as_the_markers_name_those_beside_it() {
        let policy = |name: &str| {
            format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: {name}\nspec:\n  imageRepositoryRef:\n    name: {name}\n  policy:\n    semver:\n      range: '>=1.0.0'\n")
        };
        let (redis, web) = (policy("redis"), policy("web"));
        let helps = |app: &str| {
            let files = [
                ("policies/redis.yaml", redis.as_str()),
                ("policies/web.yaml", web.as_str()),
                ("app.yaml", app),
            ];
            (diagnostics_of(&files, &["unused-policy"]).into_iter())
                .map(|d| format!("{} | {}", d.message, d.help))
                .collect::<Vec<_>>()
        };
        let marked = "image: ghcr.io/org/redis:1.0.0 # {\"$imagepolicy\": \"apps:redis\"}\n";
        assert_eq!(
            helps(marked),
            ["no marker Flux reads names ImagePolicy `web`, which sets no namespace (what applies it decides) | add `# {\"$imagepolicy\": \"apps:web\"}` to the image it should update, or delete the policy"]
        );
        let unmarked = helps("image: ghcr.io/org/redis:1.0.0\n");
        assert_eq!(unmarked.len(), 2, "{unmarked:?}");
        assert!(unmarked[1].contains("\"<namespace>:web\""), "{unmarked:?}");
    }
}
