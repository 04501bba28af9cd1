//! Rule `unknown-policy`; its documentation is `RULE.docs`.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use foldhash::HashMap;

use super::marker_outside_automation::automations_of;
use super::unapplied::{self, Beside};
use super::{Context, Findings, MarkerSite, Rule};
use crate::flux::automation::path_contains;
use crate::flux::objects::Spec;
use crate::flux::versions::Controller;
use crate::flux::Kind;
use crate::model::cluster::{
    accepted_name_like, kubernetes_accepts_name, OtherBranch, OtherSource, ACCEPTED_NAMES,
};
use crate::model::substitute::{could_be, is_unresolved};
use crate::model::tree::Origin;
use crate::report::Severity;
use crate::scan::marker::PolicyRef;

pub static RULE: Rule = Rule {
    id: "unknown-policy",
    severity: crate::report::Severity::Error,
    summary: "A marker names an ImagePolicy that no file defines",
    docs: r#"## What it catches
A marker whose `namespace:name` matches no ImagePolicy in the repository (namespaces resolved from
`metadata.namespace`, else the configured `default_namespace`, as the build that applies it leaves
them: a marker that names a policy as written, where a Flux Kustomization's `targetNamespace` or a
kustomization's `namespace` applies it elsewhere, is told where). Policies defined elsewhere can be
declared in `.flux-image-lint.yaml` under `external_policies`. While a YAML file of the repository
could not be read (`yaml-syntax` reports it), no marker is called unknown: that file may define the
policy. Nor is one a Helm chart of this repository may render: a chart a HelmRelease of the marker's
cluster installs (from a GitRepository) whose template writes an ImagePolicy named, with each `{{ …
}}` standing for any text, as the marker names it (`{{ .Values.env }}-api` may be `staging-api`), in
the namespace the template writes, else the release's. A policy written only in a file no cluster
applies is named: beside a kustomization that does not list that file, an error saying so (it was
forgotten), but a warning where no cluster builds that kustomization either (listing the file there
would change nothing), and where that file also holds an ImageUpdateAutomation, a Flux Kustomization
or a GitRepository (a bootstrap file applied by hand with `kubectl apply -f`); listed by a
kustomization no cluster builds (a root applied by hand with `kubectl apply -k`), or in a loose
folder no kustomization covers (image objects applied by hand with `kubectl apply -f`, as runbooks
do), a warning, since whether it exists in the cluster is not known. A warning too for a marker in a
folder a cluster applies from another branch (whose policies this checkout does not show), for one
in a Flux Kustomization that builds another source (another repository's GitRepository, an
OCIRepository, a Bucket), in its `images` say: it sets what that source applies, and an
application's repository may ship its own ImagePolicy (unless its `targetNamespace` puts everything
it applies in another namespace than the marker names); for one whose cluster also applies another
repository's content (a Flux Kustomization of a GitRepository this check does not follow, with no
`targetNamespace` or the marker's namespace), a fleet syncing its teams' repositories, to which a
policy may have moved, unless the marker's name is close to a policy defined here or another policy
selects its image (a typo); for one in a file no cluster applies (left
over or set aside, reached only by an automation's `update.path`: Flux skips it, and nothing here
runs what it would update), and for every marker of a repository that defines no ImagePolicy at all
(an application repository, or a cluster's, whose image objects live in the cluster or in another
repository): its policies are defined elsewhere. And a warning, not an error, for a marker no
automation reads: its clusters apply ImageUpdateAutomations (a repository without clusters counts
as one, with the automations it writes), but none whose `update.path` holds its file (an automation switched off with its policy, the tag bumped by hand), so Flux leaves the image
as written and nothing fails. For a policy written beside a kustomization that leaves it out, an
automation of another namespace over the file does not count (it reads only its own namespace's
policies), and neither does a cluster's lack of automations where the kustomization lists the
policy's file in a comment (`#- imagepolicy.yaml`: switched off by its owner, so no automation can
resolve the marker) and no automation here reads the marker. Otherwise, where a cluster applies no
automation at all, one may run from outside
the repository over any path, so the marker may be read: the level stays; but not where the
cluster's Flux install lists its components without image-automation-controller (the `# Components:`
header `flux bootstrap` writes, without `--components-extra`) and nothing else it applies may run
one: a warning, since no automation runs there and an image object applied there would fail.

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

/// An ImagePolicy of the wanted name written in a file no cluster applies: where, what lies
/// beside it, and what else says why it is not applied.
struct WrittenElsewhere {
    /// `file:line` of its document.
    written: String,
    beside: Beside,
    /// What in the same file reconciles or updates it (a bootstrap file applied by hand).
    bootstrap: Option<String>,
    /// The line of the kustomization beside it that lists the file in a comment.
    commented: Option<usize>,
    /// The ignore pattern that keeps the file from kustomize-controller, told and helped.
    kept_out: Option<(String, String)>,
}

fn check(cx: &Context, out: &mut Findings) {
    // The names suggestions are picked from, listed only when a marker or test needs one.
    let known_policies = OnceCell::new();
    let known = || {
        known_policies
            .get_or_init(|| {
                let mut known = cx.workspace.index.keys(Kind::ImagePolicy);
                known.extend(cx.config.external_policies.iter().map(|p| p.to_string()));
                known
            })
            .as_slice()
    };
    // A file that could not be read (permissions, size) may define any policy: `yaml-syntax`
    // reports that file, and no marker is called unknown on a guess.
    let some_file_unread = cx.workspace.files.iter().any(|file| {
        matches!(&file.yaml, Err(error) if error.kind == crate::scan::yaml::YamlErrorKind::NotRead)
    });
    let defines_no_policy = cx.config.external_policies.is_empty()
        && cx
            .workspace
            .index
            .of_kind(Kind::ImagePolicy)
            .next()
            .is_none()
        && !writes_an_object(cx, Kind::ImagePolicy);
    // Each cluster's Flux install, read once: where it lists no image-automation-controller.
    let mut installs = HashMap::default();
    for (site, _) in cx.live_markers(out) {
        let policy = &site.marker.setter.policy;
        if is_unresolved(&policy.namespace) || is_unresolved(&policy.name) {
            let wanted = policy.to_string();
            let message = format!("the marker names `{wanted}` literally: image automation reads this file from git, where `postBuild.substitute` has not run, so no ImagePolicy has that name");
            let help = "name the policy as it is after substitution in each cluster (a marker cannot vary per cluster: keep one file per cluster, or one policy name for all)".to_string();
            let inert = cx
                .workspace
                .marker_read_by_no_automation(site.file_index, None);
            let finding = if inert {
                let clusters = cx.workspace.marker_clusters(site.file_index);
                (
                    Severity::Warning,
                    format!("{message}; {}", read_by_none(cx, &clusters)),
                    help,
                )
            } else {
                (Severity::Error, message, help)
            };
            report(out, &site, inert, finding);
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
        // A render that may lack objects (a remote base) could define it: never guessed. Nor
        // is a name a Helm chart of the clusters may render (mfamador/gitops-demo-tenant-data's
        // `{{ .Values.environment }}-{{ .Values.region }}-…`, which fluxcdbot updates).
        if cx
            .workspace
            .model
            .file_in_incomplete_render(site.file_index)
            || a_name_could_be(cx, &clusters, policy)
            || a_chart_could_render(cx, &clusters, policy)
        {
            continue;
        }
        let wanted = policy.to_string();
        // No automation the clusters run reads this file: the marker is inert, so nothing
        // about it can fail, whatever else is said of it.
        let inert = cx
            .workspace
            .marker_read_by_no_automation(site.file_index, None);
        let finding = if defines_no_policy {
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
                    && unapplied::may_be_in(tree, &policy.namespace)
            })
            .map(|found| {
                let file = found.tree.origin.file();
                let bootstrap = unapplied::bootstrap_object(cx, file);
                let commented = match &found.beside {
                    Beside::Unlisted(kustomization) => {
                        let path = &cx.workspace.files[file].source.path;
                        unapplied::listed_in_a_comment(cx, kustomization, path)
                    }
                    _ => None,
                };
                WrittenElsewhere {
                    written: found.written,
                    beside: found.beside,
                    bootstrap,
                    commented,
                    kept_out: found.kept_out,
                }
            });
            let other_branch = from_other_branch(cx, site.file_index);
            match written_elsewhere {
                // Beside a kustomization that does not list it while no automation reads the
                // marker: switched off with its automation (the tag bumped by hand), or never
                // switched on. Flux leaves the image as written.
                Some(WrittenElsewhere { written, beside: Beside::Unlisted(kustomization), .. })
                    if inert
                        || (cx.workspace)
                            .marker_read_by_no_automation(site.file_index, Some(&policy.namespace)) =>
                {
                    let why = read_by_none_of_namespace(cx, &site, &clusters);
                    switched_off(cx, &site, &written, &kustomization, why)
                }
                // Listed in a comment, while no automation here reads the marker: switched off
                // by its owner, so none can resolve it, wherever it runs. (Where one reads it,
                // the marker is live and skipped: an error. Where the cluster lacks the image
                // controllers, that is why: said below.)
                Some(WrittenElsewhere { written, beside: Beside::Unlisted(kustomization), commented: Some(line), .. })
                    if !(cx.workspace)
                        .automation_updates(site.file_index, Some(&policy.namespace))
                        && without_automation_controller(cx, &clusters, &mut installs).is_none() =>
                {
                    let why = format!("its entry there is commented out (line {line}), so nothing can resolve this marker: Flux leaves the image as written");
                    switched_off(cx, &site, &written, &kustomization, why)
                }
                // Left out of what source-controller hands on: whatever lists it, or would, no
                // cluster gets it; applied by hand if at all.
                Some(WrittenElsewhere { written, kept_out: Some((why, help)), .. }) => {
                    (
                        Severity::Warning,
                        format!("ImagePolicy `{wanted}` is written in {written}{why}: this marker resolves only if that file is applied by hand"),
                        format!("{help}; if it is applied out of band on purpose, add `{wanted}` to `external_policies` in .flux-image-lint.yaml"),
                    )
                }
                // Beside a kustomization no cluster builds either: listing the file there
                // changes nothing in Flux, so the file is applied by hand if at all (the
                // `flux-system` folder of a bootstrap whose cluster syncs another path, as
                // suyeop627/echo-bootstrap's is, whose marker fluxbot then updated).
                Some(WrittenElsewhere { written, beside: Beside::Unlisted(kustomization), .. })
                    if built_by_no_cluster(cx, &kustomization) =>
                {
                    (
                        Severity::Warning,
                        format!("ImagePolicy `{wanted}` is written in {written}, beside `{kustomization}`, which does not list it and which no cluster builds either: this marker resolves only if that file is applied by hand"),
                        format!("let a Flux Kustomization apply that file (or the folder of `{kustomization}`, listing it there); if it is applied out of band on purpose, add `{wanted}` to `external_policies` in .flux-image-lint.yaml"),
                    )
                }
                // Beside a kustomization that does not list it, in a file that also holds what
                // reconciles or updates it: a bootstrap file applied by hand, not a forgotten one
                // (PHACDataHub/iidi-tech's `sync.yaml`, whose marker fluxbot updates). Whether
                // the policy exists is not known, not false.
                Some(WrittenElsewhere { written, beside: Beside::Unlisted(kustomization), bootstrap: Some(bootstrap), .. }) => (
                    Severity::Warning,
                    format!("ImagePolicy `{wanted}` is written in {written}, which `{kustomization}` does not list, so no cluster applies it; that file also holds {bootstrap}, so it looks like a bootstrap file applied with `kubectl apply -f`: this marker resolves only if that file is applied by hand"),
                    format!("let a Flux Kustomization apply that file (or list it in the `resources` of `{kustomization}`); if it is applied out of band on purpose, add `{wanted}` to `external_policies` in .flux-image-lint.yaml"),
                ),
                // Beside a kustomization that does not list it, it was forgotten; unless the
                // clusters have a policy of the marked image under another name.
                Some(WrittenElsewhere { written, beside: Beside::Unlisted(kustomization), bootstrap: None, .. }) => {
                    let meant = same_image_policy(cx, &clusters, &site);
                    // Listing it there would apply it in other clusters than the marker's
                    // (bencetotht/jegyrendszer-infra: `clusters/agora` for a marker of
                    // `clusters/agora-rke2`).
                    let others = other_clusters_building(cx, &kustomization, &clusters);
                    let help = match (meant, others) {
                        (Some(meant), None) => format!("{meant}; or add that file to the `resources` of `{kustomization}`"),
                        (None, None) => format!("add that file to the `resources` of `{kustomization}`"),
                        (Some(meant), Some(_)) => meant,
                        (None, Some(others)) => format!("listing that file in `{kustomization}` would apply it in {others}, not where this marker is read: define `{wanted}` in a file the marker's cluster applies"),
                    };
                    (
                        Severity::Error,
                        format!("ImagePolicy `{wanted}` is written in {written}, which `{kustomization}` does not list: no cluster applies it"),
                        help,
                    )
                }
                // Beside a kustomization that does not parse: the build that would list it
                // fails, so no cluster applies it, and listing it elsewhere mends nothing.
                Some(WrittenElsewhere { written, beside: Beside::Broken(kustomization), .. }) => {
                    let (why, help) = unapplied::beside_broken(&kustomization);
                    let message = format!("ImagePolicy `{wanted}` is written in {written}{why}");
                    (Severity::Error, message, help)
                }
                // Applied, with its folder, from another branch (kCn3333/k3s-homelab's
                // `apps-staging`, from `staging`, where fluxbot rewrites the markers): what is
                // applied there is not in this checkout.
                Some(WrittenElsewhere { written, beside: Beside::Listed(_) | Beside::Nothing, .. }) if other_branch.is_some() => {
                    let (cluster, other) = other_branch.expect("the guard");
                    (
                        Severity::Warning,
                        format!("ImagePolicy `{wanted}` is written in {written}, which no cluster applies from this checkout, but Flux Kustomization `{}` of cluster `{cluster}` applies this folder from `{}`, which this check does not see", other.kustomization, other.reference),
                        format!("check `{wanted}` on `{}`, or add it to `external_policies` in .flux-image-lint.yaml", other.reference),
                    )
                }
                // Listed by a kustomization no cluster builds: a root applied by hand
                // (`kubectl apply -k` at setup, as canada-ca/tracker's automation folder is).
                Some(WrittenElsewhere { written, beside: Beside::Listed(kustomization), .. }) => (
                    Severity::Warning,
                    format!("ImagePolicy `{wanted}` is written in {written}, which `{kustomization}` lists, but no cluster applies that kustomization: this marker resolves only if it is applied by hand"),
                    format!("let a Flux Kustomization apply the folder of `{kustomization}`; if it is applied out of band on purpose, add `{wanted}` to `external_policies` in .flux-image-lint.yaml"),
                ),
                // In a loose folder, it may have been applied by hand (`kubectl apply -f` after
                // the bootstrap, as runbooks do): whether it exists is not known, not false.
                Some(WrittenElsewhere { written, beside: Beside::Nothing, .. }) => (
                    Severity::Warning,
                    format!("ImagePolicy `{wanted}` is written in {written}, which no cluster applies: this marker resolves only if that file is applied by hand"),
                    "let a Flux Kustomization apply that file (or a kustomization a cluster builds list it); if it is applied out of band on purpose, add it to `external_policies` in .flux-image-lint.yaml".to_string(),
                ),
                None => match other_branch {
                    // What that branch defines is not in this checkout: not known missing.
                    Some((cluster, other)) => (
                        Severity::Warning,
                        format!("no ImagePolicy `{wanted}` is defined here, but Flux Kustomization `{}` of cluster `{cluster}` applies this folder from `{}`, which this check does not see", other.kustomization, other.reference),
                        format!("check `{wanted}` on `{}`, or add it to `external_policies` in .flux-image-lint.yaml", other.reference),
                    ),
                    None => {
                        let meant = same_image_policy(cx, &clusters, &site);
                        let closest = closest_name(&wanted, known());
                        // A name close to one defined here, or a policy of the marker's image,
                        // says what the marker meant: a typo, wherever else policies come from.
                        let like_one_here = meant.is_some() || closest.is_some();
                        let (message, help) = not_defined(cx, &clusters, policy, meant, closest);
                        // A file only an automation's `update.path` reaches (left over, set
                        // aside, applied some other way): Flux skips the marker, and nothing
                        // here runs what it would update.
                        if cx.workspace.applied_by_no_cluster(site.file_index) {
                            (
                                Severity::Warning,
                                format!("{message}; no cluster applies this file, so nothing here runs what this marker would update"),
                                format!("delete the marker if the file is left over; {help}"),
                            )
                        } else if inert {
                            (
                                Severity::Warning,
                                format!("{message}; {}", read_by_none(cx, &clusters)),
                                format!("{help}; delete the marker if the image is bumped by hand"),
                            )
                        // A marker in a Flux Kustomization of another source (in its `images`)
                        // sets what that source applies, which is not in this checkout: an
                        // application's repository may ship its own ImagePolicy
                        // (neuland-ingolstadt/flux-infra builds each app's `./kustomize`), unless
                        // the Kustomization's `targetNamespace` moves it to another namespace.
                        } else if let Some((cluster, other)) = from_other_source(cx, &clusters, &site) {
                            let builds = format!(
                                "the marker is in Flux Kustomization `{}` of cluster `{cluster}`, which builds {} `{}`",
                                other.kustomization, other.source_kind, other.source_name
                            );
                            match &other.target_namespace {
                                Some(namespace) if *namespace != policy.namespace => (
                                    Severity::Error,
                                    format!("{message}; {builds} into namespace `{namespace}`, so an ImagePolicy that source defines is in `{namespace}`, not `{}`", policy.namespace),
                                    help,
                                ),
                                _ => (
                                    Severity::Warning,
                                    format!("{message}; {builds}: another source, which this check does not see and which may define it"),
                                    help,
                                ),
                            }
                        } else if let Some((cluster, other)) = another_repository_applied(cx, &clusters, policy).filter(|_| !like_one_here) {
                            (
                                Severity::Warning,
                                format!("{message}; cluster `{cluster}` also applies Flux Kustomization `{}`, which builds {} `{}`: another repository, which this check does not see and which may define it", other.kustomization, other.source_kind, other.source_name),
                                help,
                            )
                        } else {
                            (Severity::Error, message, help)
                        }
                    }
                },
            }
        };
        let finding = match finding {
            (Severity::Error, message, help) => {
                match without_automation_controller(cx, &clusters, &mut installs) {
                    // Applied there, an image object fails the whole apply (its kind is not
                    // served): the controllers come first.
                    Some(why) => (
                        Severity::Warning,
                        format!("{message}; {why}"),
                        "install the image controllers first (`flux bootstrap … --components-extra=image-reflector-controller,image-automation-controller`): until then the cluster serves no image API, so applying the ImagePolicy fails".to_string(),
                    ),
                    None => (Severity::Error, message, help),
                }
            }
            finding => finding,
        };
        report(out, &site, inert, finding);
    }
    for test in &cx.workspace.pattern_tests {
        let known_here = crate::scan::marker::PolicyRef::parse(&test.policy.value)
            .is_some_and(|p| cx.workspace.index.policy(&p.namespace, &p.name).is_some());
        if known_here {
            continue;
        }
        let help = match closest_name(&test.policy.value, known()) {
            Some(closest) => format!("did you mean `{closest}`?"),
            None => "name a policy as `<namespace>:<name>`".to_string(),
        };
        out.push(
            &RULE,
            test.file,
            test.policy.span(),
            format!(
                "the test names ImagePolicy `{}`, which no file defines",
                test.policy.value
            ),
            help,
        );
    }
}

/// Whether a file of the repository, applied or not, holds an image object of `kind`: a
/// document whose own `kind` it is in the Flux image API. The ImagePolicy CRD of the Flux install
/// manifests (`spec.names.kind: ImagePolicy` in gotk-components.yaml) is no such object, nor is
/// another API's kind of that name. A file whose YAML could not be parsed may hold one when it
/// names the image API (`yaml-syntax` reports it).
pub(super) fn writes_an_object(cx: &Context, kind: Kind) -> bool {
    cx.workspace.files.iter().any(|file| match &file.yaml {
        Ok(yaml) => yaml.documents.iter().any(|&document| {
            yaml.path_str(document, &["kind"]) == Some(kind.as_str())
                && yaml
                    .path_str(document, &["apiVersion"])
                    .is_some_and(crate::flux::objects::is_image_api)
        }),
        Err(_) => file.mentions_image_api,
    })
}

/// "did you mean …?" for the one policy of these clusters that selects from the marked image:
/// what a marker naming a policy that does not exist most likely means, whatever its name.
fn same_image_policy(cx: &Context, clusters: &[usize], site: &MarkerSite) -> Option<String> {
    // A `:tag` marker holds no image: a marker of its file that names the same policy may (the
    // `:name` marker of the same kustomize `images` entry, vecnehladny/premises-gitops).
    let (image, whose) = match cx.marked_image(site) {
        Some(image) => (image, "the image of this marker".to_string()),
        None => (cx.markers_of_file(site.file_index))
            .filter(|other| other.marker.setter.policy == site.marker.setter.policy)
            .find_map(|other| {
                let image = cx.marked_image(&other)?;
                let line = other.file.source.line_of(other.marker.span.start);
                Some((
                    image,
                    format!("the image the marker at line {line} names with this policy"),
                ))
            })?,
    };
    let wanted = image.canonical_name();
    let mut found: Vec<String> = cx
        .workspace
        .index
        .of_kind(Kind::ImagePolicy)
        .filter(|policy| clusters.contains(&policy.cluster) && !policy.uncertain)
        .filter(|policy| kubernetes_accepts_name(&policy.name.value))
        .filter(|policy| {
            let Spec::Policy(spec) = &policy.spec else {
                return false;
            };
            cx.workspace
                .index
                .repository_of(policy, spec)
                .and_then(|(repository, _)| cx.scanned_image(repository)?.as_ref().ok())
                .is_some_and(|scanned| scanned.canonical_name() == wanted)
        })
        .map(|policy| policy.key())
        .collect();
    found.sort();
    found.dedup();
    let [meant] = &found[..] else {
        return None;
    };
    Some(format!(
        "did you mean `{meant}`? It selects the tags of `{}`, {whose}",
        image.written_name
    ))
}

/// What to say of a marker whose policy no file of its clusters defines, and what to do.
fn not_defined(
    cx: &Context,
    clusters: &[usize],
    policy: &PolicyRef,
    meant: Option<String>,
    closest: Option<&str>,
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
    if let Some(path) = written_in_unparsable_file(cx, &policy.name) {
        return (
            format!("{message}: {path} seems to write it, but does not parse, so Flux applies nothing of it"),
            format!("fix the YAML of {path} (`yaml-syntax` points at the error)"),
        );
    }
    if let Some(at) = commented_out(cx, &policy.name) {
        return (
            format!("{message}: the one written at {at} is commented out"),
            "uncomment it if Flux should update this image; otherwise delete the marker (Flux leaves the value as it is)".to_string(),
        );
    }
    let copies =
        cx.applied_under_another_key(Kind::ImagePolicy, clusters, &policy.namespace, &policy.name);
    if let Some((applied, written_at)) = copies.first() {
        if applied.name.value != policy.name {
            let key = applied.key();
            return (
                format!("no ImagePolicy `{wanted}` is applied: the one written so at {written_at} is renamed `{key}` by the build that applies it (a `namePrefix` or `nameSuffix`)"),
                renamed_help(&applied.name.value, &format!("name `{key}` in the marker")),
            );
        }
        // Each build that applies the file may put it in a namespace of its own
        // (kingdon-ci/flux-pr-review's dev and experiment roots).
        let mut namespaces: Vec<&str> = Vec::new();
        for (copy, _) in &copies {
            if copy.name.value == policy.name && !namespaces.contains(&copy.namespace.as_str()) {
                namespaces.push(&copy.namespace);
            }
        }
        let message = match namespaces.as_slice() {
            [namespace] => format!("no ImagePolicy `{wanted}` is applied: the one written so at {written_at} is applied in namespace `{namespace}`, where the build that applies it puts every object (a Flux Kustomization's `targetNamespace`, a kustomization's `namespace`)"),
            several => format!("no ImagePolicy `{wanted}` is applied: the one written so at {written_at} is applied in namespaces `{}`, one for each build that applies it (a build puts every object in its namespace: a Flux Kustomization's `targetNamespace`, a kustomization's `namespace`)", several.join("` and `")),
        };
        return (message, moved_help(cx, clusters, &policy.name, &namespaces));
    }
    let help = match (meant, closest) {
        (Some(meant), _) => format!(
            "{meant} (or add `{wanted}` to `external_policies` in .flux-image-lint.yaml if it is defined elsewhere)"
        ),
        (_, Some(closest)) => format!("did you mean `{closest}`? (or add `{wanted}` to `external_policies` in .flux-image-lint.yaml if it is defined elsewhere)"),
        _ if !kubernetes_accepts_name(&policy.name) => {
            let name_it = match accepted_name_like(&policy.name) {
                Some(accepted) => format!("name the policy `{accepted}` and this marker `{}:{accepted}`", policy.namespace),
                None => "rename the policy and this marker".to_string(),
            };
            format!("no ImagePolicy can be named `{}`: {name_it} ({ACCEPTED_NAMES})", policy.name)
        }
        _ => format!("create the ImagePolicy `{}` in namespace `{}`, or add `{wanted}` to `external_policies` in .flux-image-lint.yaml if it is defined elsewhere", policy.name, policy.namespace),
    };
    (message, help)
}

/// Where an ImagePolicy of this name is written in comments (`# kind: ImagePolicy`, then
/// `#   name: sonarr` under its `metadata:`): switched off by its owner (wdiazux/infra's policies
/// for images whose tags became commit hashes), `file:line` of its name.
fn commented_out(cx: &Context, name: &str) -> Option<String> {
    cx.workspace
        .files
        .iter()
        .filter(|file| file.mentions_image_api)
        .find_map(|file| {
            // Where the comments are: in a policy's document, then in its metadata.
            let (mut in_policy, mut in_metadata) = (false, false);
            for (index, line) in file.source.text().lines().enumerate() {
                let Some(commented) = line.trim_start().strip_prefix('#') else {
                    (in_policy, in_metadata) = (false, false);
                    continue;
                };
                let field = commented.trim();
                if field.starts_with("kind:") || field == "---" {
                    (in_policy, in_metadata) = (field == "kind: ImagePolicy", false);
                } else if in_policy && field == "metadata:" {
                    in_metadata = true;
                } else if in_metadata && field.starts_with("name:") {
                    if names(field, name) {
                        return Some(format!("{}:{}", file.source.path, index + 1));
                    }
                    (in_policy, in_metadata) = (false, false);
                }
            }
            None
        })
}

/// Whether a `name: <value>` line (trimmed) names `name`, quoted or not.
fn names(line: &str, name: &str) -> bool {
    line.strip_prefix("name:")
        .is_some_and(|value| value.trim().trim_matches(['"', '\'']) == name)
}

/// A file that does not parse whose text names an ImagePolicy of this name (`kind: ImagePolicy`
/// and a `name: <name>` line): the policy the marker means, lost with the file.
fn written_in_unparsable_file<'w>(cx: &Context<'w>, name: &str) -> Option<&'w str> {
    cx.workspace
        .files
        .iter()
        .filter(|file| file.yaml.is_err() && file.mentions_image_api)
        .find(|file| {
            let text = file.source.text();
            text.contains("ImagePolicy") && text.lines().any(|line| names(line.trim(), name))
        })
        .map(|file| file.source.path.as_str())
}

/// Reports a finding about the marker of `site` (severity, message, help), which no automation
/// reads when `inert`: then a warning whatever the configuration sets, as nothing fails.
fn report(
    out: &mut Findings,
    site: &MarkerSite,
    inert: bool,
    (severity, message, help): (Severity, String, String),
) {
    out.push_with_severity(
        &RULE,
        severity,
        site.file_index,
        site.marker.span,
        message,
        help,
    );
    if inert {
        out.at_most(Severity::Warning);
    }
    out.block(site);
}

/// What to do about a reference to an image object by the name its file writes, where a
/// `namePrefix` or `nameSuffix` renames it to `renamed`: `rename` the reference, unless the new
/// name is one Kubernetes refuses (raviusit/gitOps-workflow-flux's `nameSuffix: "-"`).
pub(super) fn renamed_help(renamed: &str, rename: &str) -> String {
    if kubernetes_accepts_name(renamed) {
        format!("{rename}, or build the image objects without that prefix or suffix")
    } else {
        format!("build the image objects without that prefix or suffix: `{renamed}` is no name Kubernetes accepts ({ACCEPTED_NAMES}), so their apply fails too")
    }
}

/// What to do about a marker that names a policy as written, not as applied: an automation
/// reads only the policies of its own namespace, so either the marker names the policy where an
/// automation runs, or the policy is applied where the automation runs.
fn moved_help(cx: &Context, clusters: &[usize], name: &str, moved_to: &[&str]) -> String {
    let automations: BTreeSet<&str> = (cx.workspace.index.of_kind(Kind::ImageUpdateAutomation))
        .filter(|automation| clusters.contains(&automation.cluster))
        .map(|automation| automation.namespace.as_str())
        .collect();
    let keys = |namespaces: &[&str]| {
        let keys: Vec<String> = (namespaces.iter())
            .map(|namespace| format!("{namespace}:{name}"))
            .collect();
        keys.join("` or `")
    };
    let read: Vec<&str> = (moved_to.iter().copied())
        .filter(|namespace| automations.contains(namespace))
        .collect();
    let namespaces = moved_to.join("` or `");
    match read.as_slice() {
        [namespace] => format!("name `{}` in the marker: the ImageUpdateAutomation in `{namespace}` reads the policies of its own namespace", keys(&read)),
        [_, ..] => format!("name `{}` in the marker, after the build in which Flux should update this image: the ImageUpdateAutomations in `{}` each read only the policies of their own namespace", keys(&read), read.join("` and `")),
        [] if automations.is_empty() => format!("name `{}` in the marker where the ImageUpdateAutomation that reads it runs in `{namespaces}`; otherwise apply the image objects in its namespace (build them without that override): an automation reads only the policies of its own namespace", keys(moved_to)),
        [] => format!("apply the image objects in the namespace of the ImageUpdateAutomation (`{}`), building them without that override, or run one in `{namespaces}`: an automation reads only the policies of its own namespace", automations.into_iter().collect::<Vec<_>>().join("`, `")),
    }
}

/// Why no automation reads a marker where every one of its `clusters` installs Flux
/// without image-automation-controller (raviusit/gitOps-workflow-flux left its image objects
/// out until it would install them): no policy is missing to anything that runs.
fn without_automation_controller(
    cx: &Context,
    clusters: &[usize],
    installs: &mut HashMap<usize, Option<String>>,
) -> Option<String> {
    let mut listed = Vec::new();
    for &cluster in clusters {
        let at = installs
            .entry(cluster)
            .or_insert_with(|| {
                cx.workspace
                    .installs_without(cluster, Controller::Automation)
            })
            .clone()?;
        let name = &cx.workspace.model.clusters.get(cluster)?.name;
        listed.push(format!("cluster `{name}` installs Flux without image-automation-controller (`# Components:` at {at})"));
    }
    (!listed.is_empty()).then(|| {
        format!(
            "{}, so no automation runs there to read this marker",
            listed.join(", and ")
        )
    })
}

/// Whether clusters exist and none builds the kustomization at `path` (nor a kustomization that
/// includes it), as far as a build that fails shows: one whose own file fails is built.
fn built_by_no_cluster(cx: &Context, path: &str) -> bool {
    let fails = |file: usize| cx.workspace.model.files_failing_builds().any(|f| f == file);
    cx.workspace
        .file_by_path(path)
        .is_some_and(|file| !cx.workspace.is_reached(file) && !fails(file))
}

/// The clusters that build the kustomization at `path` when none of the marker's `clusters`
/// does, named for a message (`cluster `clusters/agora``).
fn other_clusters_building(cx: &Context, path: &str, clusters: &[usize]) -> Option<String> {
    let file = cx.workspace.file_by_path(path)?;
    let model = &cx.workspace.model;
    let building: Vec<usize> = (0..model.clusters.len())
        .filter(|&cluster| model.clusters[cluster].files.contains(&file))
        .collect();
    if building.is_empty() || building.iter().any(|cluster| clusters.contains(cluster)) {
        return None;
    }
    let names: Vec<&str> = building
        .iter()
        .map(|&cluster| model.clusters[cluster].name.as_str())
        .collect();
    Some(format!("cluster `{}`", names.join("`, `")))
}

/// Why no automation reads the marker of `site`, none of `clusters` updating its file, or
/// only automations of other namespaces, which read only their own namespace's policies.
fn read_by_none_of_namespace(cx: &Context, site: &MarkerSite, clusters: &[usize]) -> String {
    let of_other_namespaces: Vec<String> = (cx.workspace)
        .automations_updating(site.file_index)
        .filter(|(_, automation)| clusters.contains(&automation.cluster))
        .map(|(dir, automation)| format!("`{}` (path `{dir}`)", automation.key()))
        .collect();
    match of_other_namespaces.as_slice() {
        [] => read_by_none(cx, clusters),
        [one] => format!("{one} updates this file but reads only the policies of its namespace, so nothing reads this marker: Flux leaves the image as written"),
        several => format!("{} update this file but read only the policies of their namespaces, so nothing reads this marker: Flux leaves the image as written", several.join(", ")),
    }
}

/// What to say of a marker whose policy is written in a file beside `kustomization`, which
/// does not list it, when no automation can read the marker (`why`): the automation that would
/// (if one is written) is most likely left out with it, on purpose.
fn switched_off(
    cx: &Context,
    site: &MarkerSite,
    written: &str,
    kustomization: &str,
    why: String,
) -> (Severity, String, String) {
    let policy = &site.marker.setter.policy;
    let path = &site.file.source.path;
    let automation = unapplied::find(cx, "ImageUpdateAutomation", |tree| {
        let update_path = tree.path_str(&["spec", "update", "path"]).unwrap_or("");
        path_contains(update_path, path) && unapplied::may_be_in(tree, &policy.namespace)
    });
    let message = format!(
        "ImagePolicy `{policy}` is written in {written}, which `{kustomization}` does not list, so no cluster applies it; {why}"
    );
    let to_automate = match &automation {
        Some(found) => format!(
            "list the policy's file and {} (ImageUpdateAutomation `{}:{}`, which would update this file) in the `resources` of the kustomizations beside them",
            found.written,
            unapplied::written_namespace(&found.tree).unwrap_or(&policy.namespace),
            found.tree.path_str(&["metadata", "name"]).unwrap_or("")
        ),
        None => format!(
            "add that file to the `resources` of `{kustomization}` and widen an automation's `update.path` to this file"
        ),
    };
    (
        Severity::Warning,
        message,
        format!("if the automation is off on purpose (the tag bumped by hand), nothing is wrong: delete the marker, or keep it for when it is back on; to switch it on, {to_automate}"),
    )
}

/// That no automation of `clusters` reads a marker: which ones they run, and what follows.
fn read_by_none(cx: &Context, clusters: &[usize]) -> String {
    let names: Vec<&str> = clusters
        .iter()
        .filter_map(|&c| cx.workspace.model.clusters.get(c))
        .map(|c| c.name.as_str())
        .collect();
    // Without clusters, the repository is taken as one.
    let whose = match names.len() {
        0 => "this repository writes".to_string(),
        1 => format!("cluster `{}` applies", names[0]),
        _ => format!("clusters `{}` apply", names.join("`, `")),
    };
    let automations = automations_of(cx, clusters);
    // Named while they are few; a fleet's dozens would drown the point.
    let which = match automations.len() {
        1 => format!("the one ImageUpdateAutomation {whose}, {}, does not update this file", automations[0]),
        2..=3 => format!("the ImageUpdateAutomations {whose}, {}, do not update this file", automations.join(", ")),
        count => format!("none of the {count} ImageUpdateAutomations {whose} has an `update.path` that holds this file"),
    };
    format!("{which}, so nothing reads this marker: Flux leaves the image as written")
}

/// A cluster that applies the folder of `file` from another branch, and how.
fn from_other_branch<'c>(cx: &'c Context, file: usize) -> Option<(&'c str, &'c OtherBranch)> {
    let path = &cx.workspace.files[file].source.path;
    cx.workspace.model.clusters.iter().find_map(|cluster| {
        let other = cluster.other_branches.iter().find(|o| o.covers(path))?;
        Some((cluster.name.as_str(), other))
    })
}

/// The Flux Kustomization of the marker's clusters, building another source, whose document
/// holds the marker, with its cluster's name.
fn from_other_source<'c>(
    cx: &'c Context,
    clusters: &[usize],
    site: &MarkerSite,
) -> Option<(&'c str, &'c OtherSource)> {
    let holds_marker = |origin: Origin| {
        origin.file() == site.file_index
            && origin.span().start <= site.marker.span.start
            && site.marker.span.end <= origin.span().end
    };
    other_source_of(cx, clusters, |other| holds_marker(other.origin))
}

/// A Flux Kustomization of the marker's clusters that applies another repository's content,
/// where it may put objects in the policy's namespace (it sets no `targetNamespace`, or that
/// one): a fleet syncing its teams' repositories, to which a policy moved
/// (elifesciences/elife-flux-cluster's `teams/*/deployment-sync.yaml`; fluxbot still updated
/// the marker after the move).
fn another_repository_applied<'c>(
    cx: &'c Context,
    clusters: &[usize],
    policy: &PolicyRef,
) -> Option<(&'c str, &'c OtherSource)> {
    other_source_of(cx, clusters, |other| {
        other.source_kind == "GitRepository"
            && other
                .target_namespace
                .as_ref()
                .is_none_or(|namespace| *namespace == policy.namespace)
    })
}

/// The first source of the marker's clusters, other than this checkout, that `wanted` takes,
/// with its cluster's name.
fn other_source_of<'c>(
    cx: &'c Context,
    clusters: &[usize],
    wanted: impl Fn(&OtherSource) -> bool,
) -> Option<(&'c str, &'c OtherSource)> {
    clusters.iter().find_map(|&index| {
        let cluster = cx.workspace.model.clusters.get(index)?;
        let other = cluster.other_sources.iter().find(|other| wanted(other))?;
        Some((cluster.name.as_str(), other))
    })
}

/// Whether a Helm chart of this repository that a HelmRelease of the marker's clusters (or, with
/// none, of any build) installs
/// writes an ImagePolicy whose name (each `{{ … }}` any text) and namespace could be the one the
/// marker names.
fn a_chart_could_render(cx: &Context, clusters: &[usize], policy: &PolicyRef) -> bool {
    let model = &cx.workspace.model;
    let of_clusters = clusters
        .iter()
        .filter_map(|&c| model.clusters.get(c))
        .flat_map(|cluster| &cluster.chart_policies);
    // Without clusters, the charts every build's HelmReleases install.
    of_clusters
        .chain(&model.chart_policies)
        .any(|chart_policy| chart_policy.could_be(policy))
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
        // An object of a name the API server refuses exists nowhere (`schema` says why).
        .filter(|candidate| kubernetes_accepts_name(name_of(candidate)))
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

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::report::{Diagnostic, Severity};
    use crate::rules::diagnostics_of;
    use crate::workspace::workspace_of;

    const BOOTSTRAP: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://github.com/org/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/c\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    const MARKED: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: off\nspec:\n  template:\n    spec:\n      containers:\n        - name: off\n          image: ghcr.io/org/off:1.0.0 # {\"$imagepolicy\": \"flux-system:off\"}\n";
    const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: off\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: off\n  policy:\n    semver:\n      range: \">=1.0.0\"\n";
    /// The app `off`: its policy written but left out of its kustomization, switched off.
    const OFF_LISTS: &str = "resources:\n  - deployment.yaml\n";

    /// An ImageUpdateAutomation `name` of flux-system updating `path`.
    fn automation(name: &str, path: &str) -> String {
        format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  update:\n    path: {path}\n    strategy: Setters\n")
    }

    /// The `unknown-policy` diagnostics of cluster `clusters/c` with the app `off` and, when
    /// given, an applied automation updating `update_path` and one left out beside `off`'s.
    fn unknown_policy(update_path: Option<&str>, policy: bool, left_out: bool) -> Vec<Diagnostic> {
        unknown_policy_with(&Config::default(), update_path, policy, left_out)
    }

    fn unknown_policy_with(
        config: &Config,
        update_path: Option<&str>,
        policy: bool,
        left_out: bool,
    ) -> Vec<Diagnostic> {
        unknown_policy_listed(config, OFF_LISTS, update_path, policy, left_out)
    }

    /// The same, the app `off`'s kustomization being `off_lists`.
    fn unknown_policy_listed(
        config: &Config,
        off_lists: &str,
        update_path: Option<&str>,
        policy: bool,
        left_out: bool,
    ) -> Vec<Diagnostic> {
        // With the app `kept`'s policy, so the repository defines one.
        let kept_policy = POLICY.replace("off", "kept");
        let applied = update_path.map(|path| automation("kept", path) + "---\n" + &kept_policy);
        let off = automation("off", "./clusters/c/apps/off");
        let mut files = vec![
            ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
            (
                "clusters/c/flux-system/kustomization.yaml",
                "resources:\n  - gotk-sync.yaml\n",
            ),
            ("clusters/c/apps/off/kustomization.yaml", off_lists),
            ("clusters/c/apps/off/deployment.yaml", MARKED),
        ];
        if let Some(applied) = &applied {
            files.push(("clusters/c/apps/kept/automation.yaml", applied));
        }
        if policy {
            files.push(("clusters/c/apps/off/policy.yaml", POLICY));
        }
        if left_out {
            files.push(("clusters/c/apps/off/automation.yaml", &off));
        }
        let (_dir, workspace) = workspace_of(&files);
        let (diagnostics, _) = crate::rules::run(&workspace, config, None, None);
        diagnostics
            .into_iter()
            .filter(|d| d.rule == "unknown-policy")
            .collect()
    }

    /// The one diagnostic found, which must be a warning.
    fn one_warning(found: Vec<Diagnostic>) -> Diagnostic {
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Warning, "{found:?}");
        found.into_iter().next().unwrap()
    }

    /// Asserts that `text` holds each of `parts`.
    fn says(text: &str, parts: &[&str]) {
        for part in parts {
            assert!(text.contains(part), "{part:?} not in {text:?}");
        }
    }

    const KEPT: Option<&str> = Some("./clusters/c/apps/kept");

    #[test]
    fn a_policy_of_the_marked_image_under_another_name_is_suggested() {
        let objects = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/web\n  interval: 1h\n---\n".to_string()
            + &POLICY.replace("off", "web").replace("name: web\n  namespace", "name: web-frontend\n  namespace");
        let help = |image: &str| {
            let marked = format!(
                "image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:web-public\"}}\n"
            );
            let found = diagnostics_of(
                &[("app.yaml", marked.as_str()), ("images.yaml", &objects)],
                &["unknown-policy"],
            );
            let [found] = &found[..] else {
                panic!("{found:?}")
            };
            found.help.clone()
        };
        says(
            &help("ghcr.io/org/web"),
            &["did you mean `flux-system:web-frontend`? It selects the tags of `ghcr.io/org/web`"],
        );
        assert!(!help("ghcr.io/org/api").contains("web-frontend"));
        // A `:tag` marker holds no image: the `:name` marker of its file that names the same
        // policy tells it (one kustomize `images` entry, vecnehladny/premises-gitops).
        let entry = "newName: ghcr.io/org/web # {\"$imagepolicy\": \"flux-system:web-public:name\"}\nnewTag: 1.0.0 # {\"$imagepolicy\": \"flux-system:web-public:tag\"}\n";
        let found = diagnostics_of(
            &[("app.yaml", entry), ("images.yaml", &objects)],
            &["unknown-policy"],
        );
        let helps: Vec<&str> = found.iter().map(|d| d.help.as_str()).collect();
        assert_eq!(helps.len(), 2, "{helps:?}");
        says(
            helps[1],
            &["did you mean `flux-system:web-frontend`? It selects the tags of `ghcr.io/org/web`, the image the marker at line 1 names with this policy"],
        );
    }

    #[test]
    fn a_marker_no_applied_automation_reads_is_a_warning_that_names_the_switched_off_one() {
        let found = one_warning(unknown_policy(KEPT, true, true));
        says(
            &found.message,
            &[
                "ImagePolicy `flux-system:off` is written in clusters/c/apps/off/policy.yaml:1",
                "clusters/c/apps/off/kustomization.yaml` does not list",
                "`flux-system:kept` (path `./clusters/c/apps/kept`), does not update this file",
                "nothing reads this marker",
            ],
        );
        says(
            &found.help,
            &[
                "if the automation is off on purpose",
                "clusters/c/apps/off/automation.yaml:1 (ImageUpdateAutomation `flux-system:off`",
            ],
        );
    }

    #[test]
    fn a_marker_nothing_reads_stays_a_warning_when_the_rule_is_set_to_error() {
        let mut config = Config::default();
        config
            .levels
            .insert("unknown-policy".to_string(), crate::config::Level::Error);
        one_warning(unknown_policy_with(&config, KEPT, true, true));
        one_warning(unknown_policy_with(&config, KEPT, false, false));
        let read = unknown_policy_with(&config, Some("./clusters/c/apps"), true, true);
        assert_eq!(read[0].severity, Severity::Error, "{read:?}");
    }

    #[test]
    fn without_a_left_out_automation_the_help_says_what_would_read_the_marker() {
        let found = one_warning(unknown_policy(KEPT, true, false));
        says(&found.help, &["widen an automation's `update.path`"]);
    }

    #[test]
    fn a_policy_defined_nowhere_in_a_file_no_automation_reads_is_a_warning() {
        let found = one_warning(unknown_policy(KEPT, false, false));
        says(
            &found.message,
            &[
                "no ImagePolicy `flux-system:off` is defined",
                "nothing reads this marker",
            ],
        );
    }

    #[test]
    fn an_applied_automation_that_reads_the_marker_keeps_the_error() {
        for policy in [true, false] {
            let found = unknown_policy(Some("./clusters/c/apps"), policy, true);
            assert_eq!(found[0].severity, Severity::Error, "{found:?}");
            assert!(
                !found[0].message.contains("nothing reads this marker"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn a_cluster_that_applies_no_automation_keeps_the_error() {
        // An automation may run from outside the repository, over any path.
        let found = unknown_policy(None, true, true);
        assert_eq!(found[0].severity, Severity::Error, "{found:?}");
    }

    #[test]
    fn a_policy_whose_entry_is_commented_out_is_switched_off_unless_an_automation_reads_it() {
        let commented = |update_path: Option<&str>| {
            let lists = "resources:\n  - deployment.yaml\n  # - policy.yaml\n";
            unknown_policy_listed(&Config::default(), lists, update_path, true, false)
        };
        let off = one_warning(commented(None));
        says(
            &off.message,
            &["its entry there is commented out (line 3), so nothing can resolve this marker"],
        );
        let read = commented(Some("./clusters/c/apps"));
        assert_eq!(read[0].severity, Severity::Error, "{read:?}");
    }

    /// The `unknown-policy` diagnostics of the app `off`, whose policy is written, with `beside`
    /// after it, in a file its kustomization does not list.
    fn policy_unlisted_beside(beside: &str) -> Vec<Diagnostic> {
        let sync = format!("{POLICY}---\n{beside}");
        diagnostics_of(
            &[
                ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
                (
                    "clusters/c/flux-system/kustomization.yaml",
                    "resources:\n  - gotk-sync.yaml\n",
                ),
                ("clusters/c/apps/off/kustomization.yaml", OFF_LISTS),
                ("clusters/c/apps/off/deployment.yaml", MARKED),
                ("clusters/c/apps/off/sync.yaml", &sync),
            ],
            &["unknown-policy"],
        )
    }

    #[test]
    fn an_unlisted_policy_file_that_holds_what_reconciles_it_is_a_bootstrap_file_applied_by_hand() {
        let (git_repository, flux_kustomization) = BOOTSTRAP.split_once("---\n").unwrap();
        let cases = [
            (
                automation("off", "./clusters/c/apps/off"),
                "ImageUpdateAutomation `flux-system:off`",
            ),
            (
                flux_kustomization.replace("flux-system\n  namespace", "off\n  namespace"),
                "Flux Kustomization `flux-system:off`",
            ),
            (
                git_repository.replace("  namespace: flux-system\n", ""),
                "GitRepository `flux-system`",
            ),
        ];
        for (beside, named) in cases {
            let found = one_warning(policy_unlisted_beside(&beside));
            says(
                &found.message,
                &[
                    "clusters/c/apps/off/kustomization.yaml` does not list, so no cluster applies it",
                    &format!("that file also holds {named}, so it looks like a bootstrap file"),
                    "resolves only if that file is applied by hand",
                ],
            );
        }
    }

    #[test]
    fn an_unlisted_policy_file_without_what_reconciles_it_keeps_the_error() {
        let image_repository = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: off\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/off\n";
        // A kustomize Kustomization, or another API's kind of an automation's name, reconciles
        // nothing.
        let kustomize = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: off\n";
        let other_api = automation("off", "./clusters/c/apps/off")
            .replace("image.toolkit.fluxcd.io/v1", "example.com/v1");
        for beside in [image_repository, kustomize, &other_api] {
            let found = policy_unlisted_beside(beside);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].severity, Severity::Error, "{found:?}");
            says(
                &found[0].message,
                &["`clusters/c/apps/off/kustomization.yaml` does not list: no cluster applies it"],
            );
        }
    }

    /// The `unknown-policy` diagnostics of a cluster applying a marked deployment and `other`.
    fn beside_bootstrap(other: &[(&str, &str)]) -> Vec<Diagnostic> {
        let mut files = vec![
            ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
            (
                "clusters/c/flux-system/kustomization.yaml",
                "resources:\n  - gotk-components.yaml\n  - gotk-sync.yaml\n",
            ),
            ("clusters/c/apps/deployment.yaml", MARKED),
        ];
        files.extend_from_slice(other);
        diagnostics_of(&files, &["unknown-policy"])
    }

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: imagepolicies.image.toolkit.fluxcd.io\nspec:\n  group: image.toolkit.fluxcd.io\n  names:\n    kind: ImagePolicy\n    plural: imagepolicies\n  scope: Namespaced\n";

    #[test]
    fn the_image_policy_crd_of_the_flux_install_is_no_policy() {
        // rayanebel/fluxv2-test: image objects made in the cluster, the CRD in gotk-components.
        let found = one_warning(beside_bootstrap(&[(
            "clusters/c/flux-system/gotk-components.yaml",
            CRD,
        )]));
        says(&found.message, &["this repository defines no ImagePolicy"]);
        // Nor is another API's kind of that name.
        let openshift = POLICY.replace("image.toolkit.fluxcd.io/v1", "config.openshift.io/v1");
        one_warning(beside_bootstrap(&[
            ("clusters/c/flux-system/gotk-components.yaml", CRD),
            ("clusters/c/openshift.yaml", &openshift),
        ]));
    }

    #[test]
    fn a_policy_object_anywhere_in_the_repository_keeps_the_error() {
        // Another policy, in a file no cluster applies: the repository does define policies.
        let other = POLICY.replace("off", "other");
        let found = beside_bootstrap(&[
            ("clusters/c/flux-system/gotk-components.yaml", CRD),
            ("archive/policy.yaml", &other),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Error, "{found:?}");
        // A file of the image API that does not parse may hold one.
        let broken = format!("{POLICY}  bad: [\n").replace("off", "other");
        let found = beside_bootstrap(&[("archive/policy.yaml", &broken)]);
        assert_eq!(found[0].severity, Severity::Error, "{found:?}");
        // When it writes this very policy, the file is what to fix, not a policy to create.
        let broken = format!("{POLICY}  bad: [\n");
        let found = beside_bootstrap(&[("archive/policy.yaml", &broken)]);
        assert_eq!(found[0].severity, Severity::Error, "{found:?}");
        assert!(
            found[0]
                .message
                .ends_with("archive/policy.yaml seems to write it, but does not parse, so Flux applies nothing of it"),
            "{found:?}"
        );
        assert_eq!(
            found[0].help,
            "fix the YAML of archive/policy.yaml (`yaml-syntax` points at the error)"
        );
    }

    #[test]
    fn a_name_a_chart_of_the_cluster_may_render_is_not_unknown_and_another_is() {
        let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: charts/api\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n  values:\n    env: staging\n    image:\n      tag: 1.0.0 # {\"$imagepolicy\": \"flux-system:staging-api:tag\"}\n";
        let template = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: {{ .Values.env }}-api\nspec:\n  imageRepositoryRef:\n    name: api\n";
        let chart = [
            (
                "charts/api/Chart.yaml",
                "apiVersion: v2\nname: api\nversion: 0.1.0\n",
            ),
            ("charts/api/templates/policy.yaml", template),
        ];
        let unknown_policies = |files: &[(&str, &str)]| {
            diagnostics_of(&[files, &chart[..]].concat(), &["unknown-policy"])
        };
        let found = |release: &str| {
            unknown_policies(&[
                ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
                (
                    "clusters/c/flux-system/kustomization.yaml",
                    "resources:\n  - gotk-sync.yaml\n",
                ),
                ("clusters/c/apps/release.yaml", release),
            ])
        };
        let on_marker =
            |found: &[Diagnostic], policy: &str| found.iter().any(|d| d.message.contains(policy));
        let rendered = found(release);
        assert!(!on_marker(&rendered, "staging-api"), "{rendered:?}");
        let other = found(&release.replace("staging-api:tag", "staging-web:tag"));
        assert!(
            on_marker(&other, "no ImagePolicy `flux-system:staging-web`"),
            "{other:?}"
        );
        let elsewhere = found(&release.replace("flux-system:staging-api", "apps:staging-api"));
        assert!(
            on_marker(&elsewhere, "no ImagePolicy `apps:staging-api`"),
            "{elsewhere:?}"
        );

        // Without clusters, the charts every build's HelmReleases install (a tenant repository
        // whose fleet applies it: mfamador/gitops-demo-tenant-data).
        let other_policy = POLICY.replace("off", "other");
        let tenant = |release: &str| {
            unknown_policies(&[
                (
                    "apps/kustomization.yaml",
                    "resources:\n  - release.yaml\n  - other-policy.yaml\n",
                ),
                ("apps/release.yaml", release),
                ("apps/other-policy.yaml", &other_policy),
            ])
        };
        let rendered = tenant(release);
        assert!(!on_marker(&rendered, "staging-api"), "{rendered:?}");
        let other = tenant(&release.replace("staging-api:tag", "staging-web:tag"));
        assert!(
            on_marker(&other, "no ImagePolicy `flux-system:staging-web`"),
            "{other:?}"
        );
    }

    #[test]
    fn a_policy_and_repository_renamed_by_a_name_suffix_are_named_as_applied() {
        let repository = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: off\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/off\n";
        let found = |suffix: &str| {
            let kustomization = format!("resources:\n  - deployment.yaml\n  - policy.yaml\n  - repository.yaml\nnameSuffix: \"{suffix}\"\n");
            let files = [
                ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
                ("clusters/c/apps/off/kustomization.yaml", &kustomization),
                ("clusters/c/apps/off/deployment.yaml", MARKED),
                ("clusters/c/apps/off/policy.yaml", POLICY),
                ("clusters/c/apps/off/repository.yaml", repository),
            ];
            (diagnostics_of(&files, &["unknown-policy", "unknown-repository"]).into_iter())
                .map(|d| format!("{}: {} | {}", d.rule, d.message, d.help))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("-prod"),
            [
                "unknown-policy: no ImagePolicy `flux-system:off` is applied: the one written so at clusters/c/apps/off/policy.yaml:4 is renamed `flux-system:off-prod` by the build that applies it (a `namePrefix` or `nameSuffix`) | name `flux-system:off-prod` in the marker, or build the image objects without that prefix or suffix",
                "unknown-repository: ImagePolicy `flux-system:off-prod` refers to ImageRepository `flux-system:off`, but the one written so at clusters/c/apps/off/repository.yaml:4 is renamed `flux-system:off-prod` by the build that applies it (a `namePrefix` or `nameSuffix`; kustomize leaves `imageRepositoryRef` as written) | name `off-prod` in `imageRepositoryRef`, or build the image objects without that prefix or suffix",
            ]
        );
        let invalid = found("-");
        assert!(
            invalid[0].ends_with("| build the image objects without that prefix or suffix: `off-` is no name Kubernetes accepts (object names are lowercase letters, digits, `-` and `.`, beginning and ending with a letter or digit, at most 253 characters), so their apply fails too"),
            "{invalid:?}"
        );
    }

    #[test]
    fn a_policy_unlisted_in_another_clusters_folder_is_not_to_be_listed_there() {
        let other_bootstrap = BOOTSTRAP.replace("./clusters/c", "./clusters/d");
        let automation = automation("apps", "./clusters/d");
        let files = [
            ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
            (
                "clusters/c/flux-system/kustomization.yaml",
                "resources:\n  - gotk-sync.yaml\n",
            ),
            ("clusters/c/flux-system/policy.yaml", POLICY),
            ("clusters/d/flux-system/gotk-sync.yaml", &other_bootstrap),
            ("clusters/d/automation.yaml", &automation),
            ("clusters/d/app/deployment.yaml", MARKED),
        ];
        let found = diagnostics_of(&files, &["unknown-policy"]);
        let helps: Vec<&str> = found.iter().map(|d| d.help.as_str()).collect();
        assert_eq!(
            helps,
            ["listing that file in `clusters/c/flux-system/kustomization.yaml` would apply it in cluster `clusters/c`, not where this marker is read: define `flux-system:off` in a file the marker's cluster applies"]
        );
    }

    #[test]
    fn a_policy_written_in_comments_is_named_as_switched_off() {
        let said = |commented_policy: &str| {
            let commented: String = (commented_policy.lines())
                .map(|line| format!("# {line}\n"))
                .collect();
            let policies = format!("{}---\n{commented}", POLICY.replace("off", "other"));
            let automation = automation("apps", "./clusters/c");
            let files = [
                ("clusters/c/flux-system/gotk-sync.yaml", BOOTSTRAP),
                ("clusters/c/automation.yaml", &automation),
                ("clusters/c/policies.yaml", &policies),
                ("clusters/c/app/deployment.yaml", MARKED),
            ];
            (diagnostics_of(&files, &["unknown-policy"]).iter())
                .map(|d| format!("{} | {}", d.message, d.help))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            said(POLICY),
            ["no ImagePolicy `flux-system:off` is defined in this repository: the one written at clusters/c/policies.yaml:16 is commented out | uncomment it if Flux should update this image; otherwise delete the marker (Flux leaves the value as it is)"]
        );
        // Another policy of the same repository, commented out: not the one the marker names.
        let other = said(&POLICY.replacen("name: off", "name: another", 1));
        assert!(!other[0].contains("commented out"), "{other:?}");
    }
}
