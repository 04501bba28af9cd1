//! Rule `unknown-repository`; its documentation is `RULE.docs`.

use std::cell::OnceCell;

use super::unapplied::{self, Beside};
use super::unknown_policy::{closest_name, renamed_help, writes_an_object};
use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;
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
Name the existing ImageRepository (the help suggests the closest), or create it.
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
        let (severity, message, help) = match written_elsewhere.map(|found| (found.written, found.beside)) {
            // Beside a kustomization that does not list it: forgotten there.
            Some((written, Beside::Unlisted(kustomization))) => (
                Severity::Error,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, but `{kustomization}` does not list that file: no cluster applies it"),
                format!("add that file to the `resources` of `{kustomization}`"),
            ),
            // Listed by a kustomization no cluster builds: a root applied by hand, maybe.
            Some((written, Beside::Listed(kustomization))) => (
                Severity::Warning,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, which `{kustomization}` lists, but no cluster applies that kustomization: the policy finds it only if it is applied by hand"),
                format!("let a Flux Kustomization apply the folder of `{kustomization}`"),
            ),
            // In a loose folder: applied by hand after the bootstrap, maybe.
            Some((written, Beside::Nothing)) => (
                Severity::Warning,
                format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which is written in {written}, which no cluster applies: the policy finds it only if that file is applied by hand"),
                "let a Flux Kustomization apply that file (or a kustomization a cluster builds list it)".to_string(),
            ),
            None => match cx.applied_under_another_key(
                Kind::ImageRepository,
                &[object.cluster],
                namespace,
                &name.value,
            ) {
                Some((applied, written_at)) if applied.namespace == namespace => (
                    RULE.severity,
                    format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, but the one written so at {written_at} is renamed `{}` by the build that applies it (a `namePrefix` or `nameSuffix`; kustomize leaves `imageRepositoryRef` as written)", applied.key()),
                    renamed_help(&applied.name.value, &format!("name `{}` in `imageRepositoryRef`", applied.name.value)),
                ),
                _ => (
                    RULE.severity,
                    format!("ImagePolicy `{policy}` refers to ImageRepository `{wanted}`, which no file defines"),
                    missing_help(cx, &known, &wanted, namespace, &name.value),
                ),
            },
        };
        out.push_with_severity(&RULE, severity, name.file(), name.span(), message, help);
    }
}

/// What to do about a repository no file defines: the closest name, or create it.
fn missing_help(
    cx: &Context,
    known: &OnceCell<Vec<String>>,
    wanted: &str,
    namespace: &str,
    name: &str,
) -> String {
    match closest_name(
        wanted,
        known.get_or_init(|| cx.workspace.index.keys(Kind::ImageRepository)),
    ) {
        Some(closest) => format!("did you mean `{closest}`?"),
        None => format!("create ImageRepository `{name}` in namespace `{namespace}`"),
    }
}
