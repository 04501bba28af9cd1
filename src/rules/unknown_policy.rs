//! Rule `unknown-policy`; its documentation is `RULE.docs`.

use super::unapplied::{self, Beside};
use super::{Context, Findings, Rule};
use crate::flux::Kind;
use crate::model::cluster::OtherBranch;
use crate::model::substitute::{could_be, is_unresolved};
use crate::report::Severity;
use crate::scan::marker::PolicyRef;

pub static RULE: Rule = Rule {
    id: "unknown-policy",
    severity: crate::report::Severity::Error,
    summary: "A marker names an ImagePolicy that no file defines",
    docs: r#"## What it catches
A marker whose `namespace:name` matches no ImagePolicy in the repository (namespaces resolved from
`metadata.namespace`, else the configured `default_namespace`). Policies defined elsewhere can be
declared in `.flux-image-lint.yaml` under `external_policies`. While a YAML file of the repository
could not be read (`yaml-syntax` reports it), no marker is called unknown: that file may define
the policy. A policy written only in a file no cluster applies is named: beside a
kustomization that does not list that file, an error saying so (it was forgotten); listed by a
kustomization no cluster builds (a root applied by hand with `kubectl apply -k`), or in a loose
folder no kustomization covers (image objects applied by hand with `kubectl apply -f`, as
runbooks do), a warning, since whether it exists in the cluster is not known. A warning too for
a marker in a folder a cluster applies from another branch (whose policies this checkout does
not show), for one in a file no cluster applies (left over or set aside, reached only by an
automation's `update.path`: Flux skips it, and nothing here runs what it would update), and for
every marker of a repository that defines no ImagePolicy at all (an application repository, or
a cluster's, whose image objects live in the cluster or in another repository): its policies
are defined elsewhere.

## Why it matters in Flux
The automation lists the policies of its namespace and skips every marker that names another
one, with no error or event (fluxcd/image-automation-controller#361, #85): a typo means the
image is never updated.

## Example
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:ap"}
```

## Fix
Name an existing policy (the help suggests the closest), create the policy, or declare it:
```yaml
external_policies: ["flux-system:app"]
```
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let mut known = cx.workspace.index.keys(Kind::ImagePolicy);
    known.extend(cx.config.external_policies.iter().map(|p| p.to_string()));
    // A file that could not be read (permissions, size) may define any policy: `yaml-syntax`
    // reports that file, and no marker is called unknown on a guess.
    let some_file_unread = cx.workspace.files.iter().any(|file| {
        matches!(&file.yaml, Err(error) if error.kind == crate::scan::yaml::YamlErrorKind::NotRead)
    });
    let defines_no_policy = known.is_empty()
        && !cx
            .workspace
            .files
            .iter()
            .any(|file| file.source.text.contains("kind: ImagePolicy"));
    for (site, _) in cx.live_markers(out) {
        let policy = &site.marker.setter.policy;
        if is_unresolved(&policy.namespace) || is_unresolved(&policy.name) {
            let wanted = policy.to_string();
            out.push(
                &RULE,
                site.file_index,
                site.marker.span,
                format!("the marker names `{wanted}` literally: image automation reads this file from git, where `postBuild.substitute` has not run, so no ImagePolicy has that name"),
                "name the policy as it is after substitution in each cluster (a marker cannot vary per cluster: keep one file per cluster, or one policy name for all)".to_string(),
            );
            out.block(&site);
            continue;
        }
        // Defined where the marker answers (most markers): known before the clusters are asked.
        if some_file_unread
            || cx.marker_facts(&site).policy.is_some()
            || cx.config.external_policies.contains(policy)
        {
            continue;
        }
        let clusters = cx.workspace.marker_clusters(site.file_index);
        // A render that may lack objects (a remote base) could define it: never guessed.
        if cx
            .workspace
            .model
            .may_lack_objects(site.file_index, &clusters)
            || a_name_could_be(cx, &clusters, policy)
        {
            continue;
        }
        let wanted = policy.to_string();
        let (severity, message, help) = if defines_no_policy {
            // Image objects that live in the cluster (`flux create image policy`) or in another
            // repository: every policy is defined elsewhere, so none is known to be missing.
            (
                Severity::Warning,
                format!("this repository defines no ImagePolicy, so `{wanted}` must be defined elsewhere; its name cannot be checked"),
                format!("add `{wanted}` to `external_policies` in .flux-image-lint.yaml (where it is defined: the cluster, or the fleet repository)"),
            )
        } else {
            let written_elsewhere = unapplied::find(cx, "ImagePolicy", |tree| {
                tree.path_str(&["metadata", "name"]) == Some(policy.name.as_str())
                    && unapplied::namespace_of(cx, tree) == policy.namespace
            })
            .map(|found| (found.written, found.beside));
            match written_elsewhere {
                // Beside a kustomization that does not list it, it was forgotten.
                Some((written, Beside::Unlisted(kustomization))) => (
                    Severity::Error,
                    format!("ImagePolicy `{wanted}` is written in {written}, which `{kustomization}` does not list: no cluster applies it"),
                    format!("add that file to the `resources` of `{kustomization}`"),
                ),
                // Listed by a kustomization no cluster builds: a root applied by hand
                // (`kubectl apply -k` at setup, as canada-ca/tracker's automation folder is).
                Some((written, Beside::Listed(kustomization))) => (
                    Severity::Warning,
                    format!("ImagePolicy `{wanted}` is written in {written}, which `{kustomization}` lists, but no cluster applies that kustomization: this marker resolves only if it is applied by hand"),
                    format!("let a Flux Kustomization apply the folder of `{kustomization}`; if it is applied out of band on purpose, add `{wanted}` to `external_policies` in .flux-image-lint.yaml"),
                ),
                // In a loose folder, it may have been applied by hand (`kubectl apply -f` after
                // the bootstrap, as runbooks do): whether it exists is not known, not false.
                Some((written, Beside::Nothing)) => (
                    Severity::Warning,
                    format!("ImagePolicy `{wanted}` is written in {written}, which no cluster applies: this marker resolves only if that file is applied by hand"),
                    "let a Flux Kustomization apply that file (or a kustomization a cluster builds list it); if it is applied out of band on purpose, add it to `external_policies` in .flux-image-lint.yaml".to_string(),
                ),
                None => match from_other_branch(cx, site.file_index) {
                    // What that branch defines is not in this checkout: not known missing.
                    Some((cluster, other)) => (
                        Severity::Warning,
                        format!("no ImagePolicy `{wanted}` is defined here, but Flux Kustomization `{}` of cluster `{cluster}` applies this folder from `{}`, which this check does not see", other.kustomization, other.reference),
                        format!("check `{wanted}` on `{}`, or add it to `external_policies` in .flux-image-lint.yaml", other.reference),
                    ),
                    None => {
                        let (message, help) = not_defined(cx, &clusters, policy, &known);
                        // A file only an automation's `update.path` reaches (left over, set
                        // aside, applied some other way): Flux skips the marker, and nothing
                        // here runs what it would update.
                        if applied_by_no_cluster(cx, site.file_index) {
                            (
                                Severity::Warning,
                                format!("{message}; no cluster applies this file, so nothing here runs what this marker would update"),
                                format!("delete the marker if the file is left over; {help}"),
                            )
                        } else {
                            (Severity::Error, message, help)
                        }
                    }
                },
            }
        };
        out.push_with_severity(
            &RULE,
            severity,
            site.file_index,
            site.marker.span,
            message,
            help,
        );
        out.block(&site);
    }
    for test in &cx.workspace.pattern_tests {
        let known_here = crate::scan::marker::PolicyRef::parse(&test.policy.value)
            .is_some_and(|p| cx.workspace.index.policy(&p.namespace, &p.name).is_some());
        if known_here {
            continue;
        }
        let help = match closest_name(&test.policy.value, &known) {
            Some(closest) => format!("did you mean `{closest}`?"),
            None => "name a policy as `<namespace>:<name>`".to_string(),
        };
        out.push(
            &RULE,
            test.file,
            test.policy.span,
            format!(
                "the test names ImagePolicy `{}`, which no file defines",
                test.policy.value
            ),
            help,
        );
    }
}

/// What to say of a marker whose policy no file of its clusters defines, and what to do.
fn not_defined(
    cx: &Context,
    clusters: &[usize],
    policy: &PolicyRef,
    known: &[String],
) -> (String, String) {
    let wanted = policy.to_string();
    let elsewhere: Vec<&str> = cx
        .workspace
        .index
        .clusters_defining(Kind::ImagePolicy, &policy.namespace, &policy.name)
        .into_iter()
        .filter_map(|c| cx.workspace.model.clusters.get(c))
        .map(|c| c.name.as_str())
        .collect();
    let message = if elsewhere.is_empty() {
        format!("no ImagePolicy `{wanted}` is defined in this repository")
    } else {
        let here: Vec<&str> = clusters
            .iter()
            .filter_map(|&c| cx.workspace.model.clusters.get(c))
            .map(|c| c.name.as_str())
            .collect();
        format!(
            "no ImagePolicy `{wanted}` in cluster `{}`, where Flux reads this file; only cluster `{}` defines it",
            here.join("`, `"),
            elsewhere.join("`, `")
        )
    };
    let help = match closest_name(&wanted, known) {
        Some(closest) => format!("did you mean `{closest}`? (or add `{wanted}` to `external_policies` in .flux-image-lint.yaml if it is defined elsewhere)"),
        None => format!("create the ImagePolicy `{}` in namespace `{}`, or add `{wanted}` to `external_policies` in .flux-image-lint.yaml if it is defined elsewhere", policy.name, policy.namespace),
    };
    (message, help)
}

/// Clusters exist and none applies `file` (nor uses its folder as a chart).
fn applied_by_no_cluster(cx: &Context, file: usize) -> bool {
    let path = &cx.workspace.files[file].source.path;
    let clusters = &cx.workspace.model.clusters;
    !clusters.is_empty() && !clusters.iter().any(|cluster| cluster.applies(file, path))
}

/// A cluster that applies the folder of `file` from another branch, and how.
fn from_other_branch<'c>(cx: &'c Context, file: usize) -> Option<(&'c str, &'c OtherBranch)> {
    let path = &cx.workspace.files[file].source.path;
    cx.workspace.model.clusters.iter().find_map(|cluster| {
        let other = cluster.other_branches.iter().find(|o| o.covers(path))?;
        Some((cluster.name.as_str(), other))
    })
}

/// Whether an ImagePolicy of the marker's clusters has a name holding a variable whose value
/// is unknown (`${cluster}-app`) that could be the one the marker names.
fn a_name_could_be(cx: &Context, clusters: &[usize], policy: &PolicyRef) -> bool {
    cx.workspace
        .index
        .of_kind(Kind::ImagePolicy)
        .filter(|p| clusters.contains(&p.cluster) && is_unresolved(&p.name.value))
        .any(|p| {
            (p.namespace == policy.namespace || is_unresolved(&p.namespace))
                && could_be(&p.name.value, &policy.name)
        })
}

/// The known `ns:name` nearest to a wanted one: names within a third of their length in edits
/// (same name in another namespace counts as near).
pub fn closest_name<'a>(wanted: &str, known: &'a [String]) -> Option<&'a str> {
    let name_of = |key: &'a str| key.split_once(':').map_or(key, |(_, n)| n);
    let (wanted_namespace, wanted_name) = wanted.split_once(':').unwrap_or(("", wanted));
    known
        .iter()
        .map(|candidate| {
            let name = name_of(candidate);
            let namespace_differs =
                usize::from(!candidate.starts_with(&format!("{wanted_namespace}:")));
            (
                strsim::levenshtein(wanted_name, name) + namespace_differs,
                candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance > 0 && *distance <= 2.max(name_of(candidate).len() / 3)
        })
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, candidate)| candidate.as_str())
}
