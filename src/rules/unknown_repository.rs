//! Rule `unknown-repository`; its documentation is `RULE.docs`.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};

use super::unapplied::{self, Beside};
use super::unknown_policy::{closest_name, renamed_help, writes_an_object};
use super::{Context, Findings, Rule};
use crate::flux::objects::{FluxObject, Spec};
use crate::flux::Kind;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "unknown-repository",
    severity: crate::report::Severity::Error,
    summary: "An ImagePolicy's imageRepositoryRef names no ImageRepository",
    docs: r#"## What it catches
An ImagePolicy whose `spec.imageRepositoryRef` names an ImageRepository that no file defines
(the namespace defaults to the policy's own). In a repository that defines no ImageRepository at
all (image objects exported from a cluster, or policies kept apart from the repositories they
scan), a warning: the repository is defined elsewhere, and its name cannot be checked, as
`unknown-policy` says of a marker where no ImagePolicy is defined.

An ImageRepository written in a file no cluster applies is named with where it is written: an
error beside a kustomization that does not list the file (forgotten there), a warning in a
kustomization no cluster builds or in a loose folder (it may be applied by hand).

## Why it matters in Flux
The policy waits forever for its repository (`DependencyNotReady`), so every marker on it is
never updated.

## Example
```yaml
spec:
  imageRepositoryRef:
    name: aap
```

## Fix
Name the existing ImageRepository (the help suggests the closest name, else the one ImageRepository
of the namespace that no policy refers to), or create it.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Listed for suggestions only when a policy names a missing repository.
    let known = OnceCell::new();
    // Image objects exported from a cluster, or policies kept apart from the repositories they
    // scan (inp-net/churros): every repository is defined elsewhere, none known to be missing.
    let defines_no_repository = (cx.workspace.index.of_kind(Kind::ImageRepository))
        .next()
        .is_none()
        && !writes_an_object(cx, Kind::ImageRepository);
    for object in cx.objects() {
        let Spec::Policy(spec) = &object.spec else {
            continue;
        };
        let Some(name) = &spec.repository_name else {
            continue;
        };
        if cx.workspace.index.repository_of(object, spec).is_some()
            || cx.workspace.model.renders[object.render].incomplete
            || cx
                .workspace
                .model
                .may_lack_objects(object.file(), &[object.cluster])
        {
            continue;
        }
        let namespace = spec
            .repository_namespace
            .as_ref()
            .map_or(object.namespace.as_str(), |n| n.value.as_str());
        let wanted = format!("{namespace}:{}", name.value);
        if defines_no_repository {
            out.push_with_severity(
                &RULE,
                Severity::Warning,
                name.file(),
                name.span(),
                format!(
                    "ImagePolicy `{}` refers to ImageRepository `{wanted}`; this repository defines no ImageRepository, so it must be defined elsewhere, and its name cannot be checked",
                    object.key()
                ),
                format!(
                    "if the cluster has no ImageRepository `{wanted}`, create it (`{}` in namespace `{namespace}`)",
                    name.value
                ),
            );
            continue;
        }
        let written_elsewhere = unapplied::find(cx, "ImageRepository", |tree| {
            tree.path_str(&["metadata", "name"]) == Some(name.value.as_str())
                && unapplied::may_be_in(tree, namespace)
        });
        let policy = object.key();
        let (severity, message, help) = match written_elsewhere.map(|found| (found.written, found.beside, found.kept_out)) {
            // Left out of what source-controller hands on: no cluster gets it, whatever lists it.
            Some((written, _, Some((why, help)))) => (
                Severity::Warning,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}{why}: the policy finds it only if that file is applied by hand"),
                help,
            ),
            // Beside a kustomization that does not list it: forgotten there.
            Some((written, Beside::Unlisted(kustomization), None)) => (
                Severity::Error,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, but `{kustomization}` does not list that file: no cluster applies it"),
                format!("add that file to the `resources` of `{kustomization}`"),
            ),
            // Beside a kustomization that does not parse: its build fails.
            Some((written, Beside::Broken(kustomization), None)) => {
                let (why, help) = unapplied::beside_broken(&kustomization);
                let message = format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}{why}");
                (Severity::Error, message, help)
            }
            // Listed by a kustomization no cluster builds: a root applied by hand, maybe.
            Some((written, Beside::Listed(kustomization), None)) => (
                Severity::Warning,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, which `{kustomization}` lists, but no cluster applies that kustomization: the policy finds it only if it is applied by hand"),
                format!("let a Flux Kustomization apply the folder of `{kustomization}`"),
            ),
            // In a loose folder: applied by hand after the bootstrap, maybe.
            Some((written, Beside::Nothing, None)) => (
                Severity::Warning,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, which no cluster applies: the policy finds it only if that file is applied by hand"),
                "let a Flux Kustomization apply that file (or a kustomization a cluster builds list it)".to_string(),
            ),
            None => match cx.applied_under_another_key(
                Kind::ImageRepository,
                &[object.cluster],
                namespace,
                &name.value,
            )
            .into_iter()
            .next()
            {
                Some((applied, written_at)) if applied.namespace == namespace => (
                    RULE.severity,
                    format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, but the one written so at {written_at} is renamed `{}` by the build that applies it (a `namePrefix` or `nameSuffix`; kustomize leaves `imageRepositoryRef` as written)", applied.key()),
                    renamed_help(&applied.name.value, &format!("name `{}` in `imageRepositoryRef`", applied.name.value)),
                ),
                _ => (
                    RULE.severity,
                    format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which no file defines"),
                    missing_help(cx, &known, object, &wanted, namespace, &name.value),
                ),
            },
        };
        out.push_with_severity(&RULE, severity, name.file(), name.span(), message, help);
    }
}

/// What to do about a repository no file defines: the closest name, else the one repository of
/// the policy's namespace that no policy finds, else create it.
fn missing_help(
    cx: &Context,
    known: &OnceCell<Vec<String>>,
    policy: &FluxObject,
    wanted: &str,
    namespace: &str,
    name: &str,
) -> String {
    let closest = closest_name(
        wanted,
        known.get_or_init(|| cx.workspace.index.keys(Kind::ImageRepository)),
    );
    if let Some(closest) = closest {
        return format!("did you mean `{closest}`?");
    }
    match only_unreferenced_repository(cx, policy, namespace, name) {
        Some(repository) => format!(
            "did you mean `{}`? It is the ImageRepository of namespace `{namespace}` that scans `{}`, and no policy refers to it",
            repository.name.value,
            repository_image(repository).unwrap_or_default()
        ),
        None => format!("create ImageRepository `{name}` in namespace `{namespace}`"),
    }
}

/// The one ImageRepository that the policy's cluster applies in `namespace`, that no policy
/// finds, and whose name or image the reference's `name` resembles: the one it most likely
/// meant, where the names are too far apart for a typo (balsmn/flux2-kustomize-example named
/// `nginx-repository` for `nginx`; rosadsky/ros-project-gitops `ros-project` for `wac-hospital`,
/// which scans `xosadsky/ros-project`).
fn only_unreferenced_repository<'c>(
    cx: &'c Context,
    policy: &FluxObject,
    namespace: &str,
    name: &str,
) -> Option<&'c FluxObject> {
    let referenced: HashSet<String> = (cx.objects())
        .filter_map(|object| match &object.spec {
            Spec::Policy(spec) => cx.workspace.index.repository_of(object, spec),
            _ => None,
        })
        .map(|(repository, _)| repository.key())
        .collect();
    let mut meant: BTreeMap<String, &FluxObject> = BTreeMap::new();
    for object in cx.objects() {
        if object.kind == Kind::ImageRepository
            && object.cluster == policy.cluster
            && object.namespace == namespace
            && !referenced.contains(&object.key())
            && may_mean(name, object)
        {
            meant.entry(object.key()).or_insert(object);
        }
    }
    let mut meant = meant.into_values();
    let only = meant.next()?;
    meant.next().is_none().then_some(only)
}

/// Whether a reference's name resembles the repository: one holds the other, of the two names
/// or of the name and the image (whole, or its last part), ignoring case.
fn may_mean(name: &str, repository: &FluxObject) -> bool {
    let name = name.to_ascii_lowercase();
    let image = repository_image(repository).map(str::to_ascii_lowercase);
    let last_part = image
        .as_deref()
        .and_then(|image| image.rsplit('/').next())
        .map(str::to_string);
    [
        Some(repository.name.value.to_ascii_lowercase()),
        image,
        last_part,
    ]
    .into_iter()
    .flatten()
    .any(|other| {
        let (short, long) = if other.len() < name.len() {
            (other.as_str(), name.as_str())
        } else {
            (name.as_str(), other.as_str())
        };
        short.len() >= 3 && long.contains(short)
    })
}

fn repository_image(repository: &FluxObject) -> Option<&str> {
    match &repository.spec {
        Spec::Repository(spec) => spec.image.as_ref().map(|image| image.value.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::diagnostics_of;

    /// A reference too far from every name to be a typo names the repository of the namespace
    /// that no policy refers to and that it resembles, by name (`nginx-repository` for `nginx`)
    /// or image (`ros-project` for one that scans `org/ros-project`); none where two do, or
    /// where the only one resembles it in nothing.
    #[test]
    fn a_missing_repository_names_the_one_no_policy_refers_to_that_it_resembles() {
        let repository = |name: &str, image: &str| {
            format!("---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: {name}\n  namespace: dev\nspec:\n  image: ghcr.io/org/{image}\n  interval: 5m\n")
        };
        let help = |wanted: &str, repositories: &[(&str, &str)]| {
            let policy = format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: dev\nspec:\n  imageRepositoryRef:\n    name: {wanted}\n  policy:\n    semver:\n      range: 1.x\n");
            let objects = (repositories.iter()).fold(policy, |text, (name, image)| {
                text + &repository(name, image)
            });
            (diagnostics_of(&[("images.yaml", &objects)], &["unknown-repository"]).into_iter())
                .map(|d| d.help)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            help("nginx-repository", &[("nginx", "web")]),
            ["did you mean `nginx`? It is the ImageRepository of namespace `dev` that scans `ghcr.io/org/web`, and no policy refers to it"]
        );
        assert_eq!(
            help("ros-project", &[("wac-hospital", "ros-project")]),
            ["did you mean `wac-hospital`? It is the ImageRepository of namespace `dev` that scans `ghcr.io/org/ros-project`, and no policy refers to it"]
        );
        assert_eq!(
            help("nginx-repository", &[("nginx", "web"), ("web", "nginx")]),
            ["create ImageRepository `nginx-repository` in namespace `dev`"]
        );
        assert_eq!(
            help("my-console-app", &[("podinfo", "podinfo")]),
            ["create ImageRepository `my-console-app` in namespace `dev`"]
        );
    }
}
