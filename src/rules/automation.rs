//! Rule `automation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::automation::{path_contains, reads_namespace};
use crate::flux::objects::{FluxObject, Spec};
use crate::flux::template::{failing_reads, parse_error, result_fields_never_filled, Dot};
use crate::flux::versions::{template_fields_never_filled, template_fields_used, Support};
use crate::flux::Kind;
use crate::model::substitute::is_unresolved;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "automation",
    severity: Severity::Error,
    summary: "An ImageUpdateAutomation Flux would stall on",
    docs: r#"## What it catches
An ImageUpdateAutomation without `spec.sourceRef` or `spec.git.commit.author.email` (or
without `spec.git` at all, which the CRD takes and the controller stalls on), with an
`spec.update.path` that does not exist in the repository, or with a `messageTemplate` that
reads a field no Flux fills (`.NewImage`: the data a template runs on has only
`.AutomationObject`, `.Changed`, `.Values` and, before Flux 2.7, `.Updated`; `.Changed.Images`:
`.Changed` has only `.FileChanges`, `.Changes` and `.Objects`; `.Updated.Containers`: `.Updated`
has only `.Files`, `.Images` and `.Objects`) or one the
cluster's Flux does not fill: removed (`.Updated`, `.Changed.ImageResult` from Flux 2.7) or not
there yet (`.Changed` before 2.3, `.Values` before 2.5). A field read only inside an `if`,
`range` or `with` is not judged by name: its body may not run, or runs on another value. Except
in a `with` over `.Changed` or a `range` or `with` over its changes (also through a variable a
`range` bound: `{{range $images}}`), whose body runs on every commit: there the dot is the
result (`.FileChanges`, `.Changes`, `.Objects`), a change (`.OldValue`, `.NewValue`, `.Setter`)
or a list or map of changes, which have no fields, and a field it lacks fails the template
(`{{range .Changed.Objects}}{{.NewValue}}{{end}}`: each object's changes are a list). A
template Go does not parse: an action left open, a block without its `{{end}}` or an `{{end}}`
or `{{else}}` of none, a call of a function neither Go's templates nor the sprig functions Flux
adds define (`{{router .}}`; Flux adds sprig's hermetic ones only, so `now`, `date`, `env`,
`uuidv4` and the `rand…` functions are not there either). Also a
`spec.policySelector` on a `v1beta1` object: the selector arrived with `v1beta2` (Flux 2.3), and
Flux's server-side apply refuses a field the API does not declare, so the Flux Kustomization
that applies the automation applies nothing. A field that
works on the cluster's Flux but a later release removed is a warning: it breaks on upgrade. So
is a removed field when no Flux version is pinned (the newest is assumed; the cluster may run
an older Flux that still fills it). The message names the Flux version and where it was read
(see `api-version` for the order); `check --flux-version 2.9` reports what breaks on upgrade to
that version as errors. A template that fails where the automation has nothing to update yet
(committing to this checkout, no marker under its `update.path` names a policy of its
namespace; committing to another, its cluster applies no ImagePolicy of its namespace) is a
warning: the controller runs the template only for a commit with changes, so the automation
stalls on its first update, not before.

`update.path` is looked for only when the automation commits to this checkout: one whose
GitRepository has another URL than the repository its cluster syncs, or that checks out
another branch (`git.checkout.ref`, else its GitRepository's `ref`), resolves it in that
checkout, and so does one of a GitRepository no bootstrap here syncs from (other than
`flux-system`, `flux bootstrap`'s name for this repository) while the path is no folder here
(`--verbose` notes each).

| field | filled from Flux | removed in |
|---|---|---|
| `.Updated` | 0.10 | 2.7 |
| `.Changed.ImageResult` | 2.3 | 2.7 |
| `.Changed` | 2.3 | — |
| `.Values` | 2.5 | — |

## Why it matters in Flux
The automation stalls (or updates nothing) and no update branch is ever pushed. Without a field
its CRD requires (the author's email, the source's name) it is worse: the API server refuses the
object, and the Flux Kustomization that applies it fails with it. A template
that reads a field the controller's `TemplateData` lacks fails to execute
(fluxcd/image-automation-controller#771, #931 for the removed fields).

## Example
```yaml
git:
  commit:
    messageTemplate: '{{range .Updated.Images}}{{println .}}{{end}}'
```

## Fix
Use `.Changed.Changes` (or `.Changed.FileChanges`, `.Changed.Objects`) in templates; set the
author email; point `update.path` at an existing directory.
"#,
    check,
};

/// ImageUpdateAutomation versions without `spec.policySelector` (it arrived with `v1beta2`).
const PRE_SELECTOR_APIS: &[&str] = &["v1alpha1", "v1alpha2", "v1beta1"];

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let Spec::Automation(spec) = &object.spec else {
            continue;
        };
        let first_layout = object.has_first_layout();
        // A field the CRD requires: the API server refuses the object, and with it the apply of
        // the Flux Kustomization that holds it. Written but empty, the controller stalls on it.
        let missing = |field: &str, written: bool| {
            if written {
                format!(
                    "ImageUpdateAutomation `{}` has an empty `{field}`; Flux stalls it",
                    object.key()
                )
            } else {
                format!(
                    "ImageUpdateAutomation `{}` has no `{field}`, which its CRD requires: the API server refuses it, and the Flux Kustomization that applies it fails",
                    object.key()
                )
            }
        };
        if spec.source_ref_name.is_none() && !first_layout {
            out.push(
                &RULE,
                object.name.file(),
                object.name.span(),
                missing("spec.sourceRef.name", false),
                "set `spec.sourceRef: {kind: GitRepository, name: flux-system}`".to_string(),
            );
        }
        if !first_layout && !spec.git_written {
            // The CRD takes it (`spec.git` is optional); image-automation-controller does not.
            let help = match spec.first_layout_fields {
                true => "move `checkout`, `commit` and `push` under `spec.git`, where this apiVersion reads them (`v1alpha1` had them under `spec`), with `commit.author.email`",
                false => "add `spec.git.commit.author` (`name` and `email`), and `push.branch` to push elsewhere than the checked-out branch",
            };
            out.push(
                &RULE,
                object.name.file(),
                object.name.span(),
                format!(
                    "ImageUpdateAutomation `{}` has no `spec.git`, which image-automation-controller needs for a GitRepository source (`necessitates field .spec.git`): the automation stalls",
                    object.key()
                ),
                help.to_string(),
            );
        } else if !first_layout
            && spec
                .author_email
                .as_ref()
                .is_none_or(|e| e.value.is_empty())
        {
            out.push(
                &RULE,
                object.name.file(),
                object.name.span(),
                missing("spec.git.commit.author.email", spec.author_email.is_some()),
                "set `spec.git.commit.author.email`, e.g. `fluxcdbot@users.noreply.github.com`"
                    .to_string(),
            );
        }
        // An automation of another repository or branch resolves its path in that checkout.
        let this_checkout = cx.workspace.model.other_checkout(object).is_none();
        if let Some(path) = spec.update_path.as_ref().filter(|_| this_checkout) {
            let relative = crate::flux::automation::normalize(&path.value);
            // A variable is filled in by the `postBuild.substituteFrom` of what applies the
            // automation (the Flux Operator's `flux-runtime-info`, per cluster): fine where
            // some folder could be the path.
            let variable = is_unresolved(&relative);
            let missing = if variable {
                !folder_could_be(cx, &relative)
            } else {
                cx.workspace.file_set.kind_of(&relative) == crate::walk::PathKind::Missing
            };
            if missing {
                let (what, help) = match variable {
                    true => (
                        "matches no folder of this repository, whatever its variables hold",
                        "point it at a directory relative to the repository root, with each variable standing for one folder's name (`./apps/${ENVIRONMENT}`)".to_string(),
                    ),
                    false => ("does not exist in this repository", existing_folder_help(cx, &relative, &object.namespace)),
                };
                out.push(
                    &RULE,
                    path.file(),
                    path.span(),
                    format!("`update.path` `{}` {what}, so every run of the automation fails (image-automation-controller walks it for markers: `no such file or directory`) and nothing is updated", path.value),
                    help,
                );
            }
        }
        let api = object.api();
        if spec.policy_selector.is_some() && PRE_SELECTOR_APIS.contains(&api) {
            out.push(
                &RULE,
                object.api_version.file(),
                object.api_version.span(),
                format!("ImageUpdateAutomation `{}` sets `spec.policySelector`, which `{api}` does not have: {}", object.key(), cx.undeclared_field_fate(object)),
                "use `image.toolkit.fluxcd.io/v1` (or `v1beta2` before Flux 2.7), which have `policySelector` (from Flux 2.3)".to_string(),
            );
        }
        if let Some(template) = &spec.message_template {
            let flux = cx.flux_for_object(object);
            // A failing template is latent where nothing is updated yet.
            let latent = updates_nothing_yet(
                cx,
                object,
                spec.update_path.as_ref().map_or("", |path| path.value.as_str()),
                this_checkout,
            )
            .map(|why| format!(" on its first update ({why} yet; the template runs only on a commit with changes)"));
            let unless_latent = |severity| match latent {
                Some(_) => Severity::Warning,
                None => severity,
            };
            let latent = latent.as_deref().unwrap_or("");
            // What Go refuses to parse runs nothing: no read of it is judged.
            if let Some(why) = parse_error(&template.value) {
                out.push_with_severity(
                    &RULE,
                    unless_latent(Severity::Error),
                    template.file(),
                    template.span(),
                    format!("the commit message template does not parse: {why}; image-automation-controller cannot make the commit message, and the automation stalls{latent}"),
                    "fix the template: Go's `text/template` with the functions of sprig that give the same result each time (`flux-image-lint rule automation`)".to_string(),
                );
                continue;
            }
            for field in template_fields_used(&template.value) {
                let Some((support, because)) = flux.template_field(field) else {
                    continue;
                };
                let path = field.path;
                let (severity, message) = match support {
                    // On an assumed version the cluster may well run a Flux that fills it.
                    Support::Removed { removed_in }
                        if flux.assumes_version_for(Kind::ImageUpdateAutomation) =>
                    {
                        (
                            Severity::Warning,
                            format!("the commit message template uses `{path}`, which {because} no longer fills: on Flux {removed_in} or later the automation stalls"),
                        )
                    }
                    Support::Removed { removed_in } => (
                        unless_latent(Severity::Error),
                        format!("the commit message template uses `{path}`, which {because} no longer fills (removed in Flux {removed_in}): the automation stalls{latent}{}", flux.upgrade_note()),
                    ),
                    Support::UntilUpgrade { removed_in } => (
                        Severity::Warning,
                        format!("the commit message template uses `{path}`, which {because} still fills but Flux {removed_in} removed: the automation stalls after an upgrade"),
                    ),
                    Support::NotYet { since } => (
                        unless_latent(Severity::Error),
                        format!("the commit message template uses `{path}`, which {because} does not fill yet (it arrived in Flux {since}): the automation stalls{latent}"),
                    ),
                };
                out.push_with_severity(
                    &RULE,
                    severity,
                    template.file(),
                    template.span(),
                    message,
                    field.advice.to_string(),
                );
            }
            let never_filled = (template_fields_never_filled(&template.value).into_iter())
                .map(|field| (format!(".{field}"), "its data has `.AutomationObject`, `.Changed`, `.Values` and, before Flux 2.7, `.Updated`".to_string()))
                .chain(
                    (result_fields_never_filled(&template.value).into_iter()).map(
                        |(result, field)| {
                            (
                                format!("{}.{field}", result.chain),
                                format!("`{}` has {}", result.chain, result.described),
                            )
                        },
                    ),
                );
            for (read, filled) in never_filled {
                out.push_with_severity(
                    &RULE,
                    unless_latent(Severity::Error),
                    template.file(),
                    template.span(),
                    format!("the commit message template reads `{read}`, which no Flux fills ({filled}): the template fails to run and the automation stalls{latent}"),
                    "read the changes from `.Changed.Changes` (each with `.OldValue` and `.NewValue`), `.Changed.FileChanges` or `.Changed.Objects`".to_string(),
                );
            }
            for read in failing_reads(&template.value) {
                let help = match read.dot {
                    Dot::Change => "read `.OldValue`, `.NewValue` or `.Setter` of each change",
                    Dot::Changes => "range once more, over each change (`{{range .}}{{.NewValue}}{{end}}`), or over `.Changed.Changes` instead, whose items are changes",
                    Dot::Objects | Dot::Files => "range twice more, over each object and then each of its changes, or over `.Changed.Changes` instead, whose items are changes",
                    Dot::Result | Dot::Updated => "read `.Changes`, `.Objects` or `.FileChanges` of it, and range over one of them for each change",
                    Dot::Index => "bind each item with one variable (`{{range $image := .Updated.Images}}`), or the second of two: the first is each item's position",
                    Dot::Images => "range over it, and read each image's fields in the body",
                };
                let subject = read
                    .variable
                    .map_or("the dot".to_string(), |variable| format!("`${variable}`"));
                out.push_with_severity(
                    &RULE,
                    unless_latent(Severity::Error),
                    template.file(),
                    template.span(),
                    format!("the commit message template reads `{}` inside `{{{{{}}}}}`, where {subject} is `{}`, {}: the template fails to run on every commit and the automation stalls{latent}", read.field, read.opened_by, read.dot.go_type(), read.dot.described()),
                    help.to_string(),
                );
            }
        }
    }
}

/// Why the automation has nothing to update yet, if it has not: committing to this checkout,
/// no marker under its `update.path` names a policy of its namespace; committing to another,
/// whose markers are not here, its cluster applies no ImagePolicy of its namespace (nor a chart
/// that may write one). image-automation-controller returns before the commit when no file
/// changed, so a template that fails to run stalls it on its first update, not before
/// (marcocaberletti/flux-v2-poc, its only policy commented out). Policies written nowhere here
/// may still be applied from elsewhere, so markers that name some keep the verdict.
fn updates_nothing_yet(
    cx: &Context,
    automation: &FluxObject,
    update_path: &str,
    this_checkout: bool,
) -> Option<&'static str> {
    let its_namespace = |namespace: &str| reads_namespace(&automation.namespace, namespace);
    if this_checkout {
        let marker_read = cx.markers().any(|site| {
            site.value().is_some()
                && its_namespace(&site.marker.setter.policy.namespace)
                && path_contains(update_path, &site.file.source.path)
        });
        return (!marker_read)
            .then_some("no marker under its `update.path` names a policy of its namespace");
    }
    let charts_may_write_one =
        (cx.workspace.model.clusters.get(automation.cluster)).is_some_and(|cluster| {
            cluster.charts_may_define_image_objects || !cluster.chart_policies.is_empty()
        });
    let policy_read = (cx.workspace.index.of_kind(Kind::ImagePolicy))
        .any(|policy| policy.cluster == automation.cluster && its_namespace(&policy.namespace));
    (!policy_read && !charts_may_write_one)
        .then_some("no ImagePolicy of its namespace is applied with it")
}

/// Whether some folder holding a file could be `path` once its `${…}` have values.
/// Where a missing `update.path` most likely meant: the same path without its first folders
/// (written relative to a subfolder, as a Flux Kustomization's `spec.path` never is), else the
/// deepest folder of it that exists, else the folder that holds every marker naming a policy of
/// the automation's `namespace` (hummingbird-labs-dev/platform's `./deployments`, whose markers
/// were under `./applications`).
fn existing_folder_help(cx: &Context, path: &str, namespace: &str) -> String {
    let is_folder = |path: &str| cx.workspace.file_set.kind_of(path) == crate::walk::PathKind::Dir;
    let folders: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let suffix = (1..folders.len()).find_map(|start| {
        let tail = folders[start..].join("/");
        is_folder(&tail).then(|| (folders[..start].join("/"), tail))
    });
    if let Some((dropped, tail)) = suffix {
        return format!("it is relative to the repository root: `./{tail}` is there (the path without its `{dropped}/`)");
    }
    let ancestor = (1..folders.len())
        .rev()
        .map(|end| folders[..end].join("/"))
        .find(|prefix| is_folder(prefix));
    match ancestor {
        Some(ancestor) => format!(
            "point it at a directory relative to the repository root: `./{ancestor}` is there, but not `{}` in it",
            path[ancestor.len()..].trim_start_matches('/')
        ),
        None => match folder_of_markers(cx, namespace) {
            Some(folder) => format!("point it at a directory relative to the repository root: the markers naming policies of its namespace are under `./{folder}`"),
            None => "point it at a directory relative to the repository root, e.g. `./clusters/production`".to_string(),
        },
    }
}

/// The deepest folder that holds every marker naming a policy an automation of `namespace`
/// reads; `None` where there is none, or only the repository root holds them all.
fn folder_of_markers(cx: &Context, namespace: &str) -> Option<String> {
    let mut common: Option<&str> = None;
    for site in cx.markers() {
        if !reads_namespace(namespace, &site.marker.setter.policy.namespace) {
            continue;
        }
        let path = site.file.source.path.as_str();
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        common = Some(match common {
            None => folder,
            Some(common) => common_folder(common, folder),
        });
    }
    common
        .filter(|folder| !folder.is_empty())
        .map(str::to_string)
}

/// The deepest folder both `a` and `b` lie in (`""` for the root).
fn common_folder<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for ((at, part), other) in a
        .split('/')
        .scan(0, |start, part| {
            let at = *start;
            *start += part.len() + 1;
            Some((at, part))
        })
        .zip(b.split('/'))
    {
        if part != other {
            break;
        }
        end = at + part.len();
    }
    &a[..end]
}

fn folder_could_be(cx: &Context, path: &str) -> bool {
    // Only files under the path's literal opening can lie under it.
    let opening = path[..path.find("${").unwrap_or(path.len())]
        .rfind('/')
        .map_or("", |end| &path[..=end]);
    cx.workspace
        .file_set
        .starting_with(opening)
        .any(|file| path_contains(path, file))
}

#[cfg(test)]
mod tests {
    use super::common_folder;
    use crate::report::Diagnostic;
    use crate::rules::diagnostics_of;

    const BOOTSTRAP: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://github.com/org/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/prod\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

    /// An automation of GitRepository `source` checking out `checkout`, whose `update.path` is
    /// not in the repository, with `extra` (a GitRepository) beside it: what `automation` and
    /// `unused-policy` say.
    fn diagnostics(source: &str, checkout: &str, extra: &str) -> Vec<String> {
        let automation = format!("{extra}apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  git:\n    checkout:\n      ref:\n        branch: {checkout}\n    commit:\n      author:\n        email: bot@example.com\n  update:\n    path: ./apps\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: 1.x\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 1m\n  image: ghcr.io/org/app\n");
        let files = [
            ("clusters/prod/flux-system/gotk-sync.yaml", BOOTSTRAP),
            ("clusters/prod/automation.yaml", &automation),
        ];
        (diagnostics_of(&files, &["automation", "unused-policy"]).into_iter())
            .map(|d| format!("{}: {}", d.rule, d.message))
            .collect()
    }

    /// The `automation` diagnostics of an automation of the bootstrap's source, with `template`
    /// as its commit message template (if any) and `path` as its `update.path`.
    fn automation_findings(template: Option<&str>, path: &str) -> Vec<Diagnostic> {
        let template = template.map_or(String::new(), |template| {
            format!("      messageTemplate: '{template}'\n")
        });
        let automation = format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.com\n{template}  update:\n    path: {path}\n");
        let files = [
            ("clusters/prod/flux-system/gotk-sync.yaml", BOOTSTRAP),
            ("clusters/prod/automation.yaml", &automation),
        ];
        diagnostics_of(&files, &["automation"])
    }

    /// The `automation` diagnostics of an automation over `./clusters` with `template`, beside
    /// an ImagePolicy of its namespace (with `policy`) and a marker naming it (with `marker`),
    /// as `severity: message`.
    fn template_findings(template: &str, policy: bool, marker: bool) -> Vec<String> {
        let mut files = vec![
            ("clusters/prod/flux-system/gotk-sync.yaml", BOOTSTRAP.to_string()),
            ("clusters/prod/automation.yaml", format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.com\n      messageTemplate: '{template}'\n  update:\n    path: ./clusters\n")),
        ];
        if policy {
            files.push(("clusters/prod/policy.yaml", "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: 1.x\n".to_string()));
        }
        if marker {
            files.push(("clusters/prod/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n".to_string()));
        }
        let files: Vec<(&str, &str)> = (files.iter())
            .map(|(path, text)| (*path, text.as_str()))
            .collect();
        (diagnostics_of(&files, &["automation"]).into_iter())
            .map(|d| format!("{}: {}", d.severity.as_str(), d.message))
            .collect()
    }

    #[test]
    fn a_template_field_no_flux_fills_stalls_the_automation() {
        let stalls = "the commit message template reads `.NewImage`, which no Flux fills (its data has `.AutomationObject`, `.Changed`, `.Values` and, before Flux 2.7, `.Updated`): the template fails to run and the automation stalls";
        assert_eq!(
            template_findings("bump to {{ .NewImage }}", true, true),
            [format!("error: {stalls}")]
        );
        assert!(template_findings(
            "{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}",
            true,
            true
        )
        .is_empty());
    }

    /// `spec.git` is optional in the CRD, and its author email required only inside it: an
    /// automation without it is applied, and stalls in the controller (aamini-stack/projects'
    /// `v1alpha1` layout under `v1beta2`).
    #[test]
    fn an_automation_without_git_stalls_rather_than_being_refused() {
        let findings = |spec: &str| {
            let automation = format!("apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{spec}  update:\n    path: ./clusters\n");
            let files = [
                ("clusters/prod/flux-system/gotk-sync.yaml", BOOTSTRAP),
                ("clusters/prod/automation.yaml", automation.as_str()),
            ];
            (diagnostics_of(&files, &["automation"]).into_iter())
                .map(|d| (d.message, d.help))
                .collect::<Vec<_>>()
        };
        let stalls = "ImageUpdateAutomation `flux-system:apps` has no `spec.git`, which image-automation-controller needs for a GitRepository source (`necessitates field .spec.git`): the automation stalls";
        let old_layout = findings(
            "  checkout:\n    branch: main\n  commit:\n    authorEmail: bot@example.com\n",
        );
        assert_eq!(old_layout.len(), 1, "{old_layout:?}");
        assert_eq!(old_layout[0].0, stalls);
        assert!(old_layout[0]
            .1
            .starts_with("move `checkout`, `commit` and `push` under `spec.git`"));
        let none = findings("");
        assert_eq!(none.len(), 1, "{none:?}");
        assert!(none[0].1.starts_with("add `spec.git.commit.author`"));
        // Inside `spec.git`, the CRD requires the email: the API server refuses the object.
        let refused = findings("  git:\n    commit:\n      author:\n        name: bot\n");
        assert!(
            refused[0]
                .0
                .contains("which its CRD requires: the API server refuses it"),
            "{refused:?}"
        );
    }

    /// The controller runs the template only on a commit with changes: with no policy of its
    /// namespace applied, or no marker under its path naming one, nothing stalls yet.
    #[test]
    fn a_failing_template_with_nothing_to_update_is_latent() {
        let stalls = "the commit message template reads `.NewImage`, which no Flux fills (its data has `.AutomationObject`, `.Changed`, `.Values` and, before Flux 2.7, `.Updated`): the template fails to run and the automation stalls on its first update";
        let no_marker = format!("warning: {stalls} (no marker under its `update.path` names a policy of its namespace yet; the template runs only on a commit with changes)");
        for policy in [false, true] {
            assert_eq!(
                template_findings("bump to {{ .NewImage }}", policy, false),
                std::slice::from_ref(&no_marker)
            );
        }
        // A policy written nowhere here may be applied from elsewhere (a chart, by hand).
        let stalls_now = stalls.trim_end_matches(" on its first update");
        assert_eq!(
            template_findings("bump to {{ .NewImage }}", false, true),
            [format!("error: {stalls_now}")]
        );
    }

    #[test]
    fn update_path_is_looked_for_only_in_the_checkout_the_automation_commits_to() {
        // The bootstrap's own source at its branch: the path is missing where Flux looks, and
        // no marker uses the policy.
        assert_eq!(
            diagnostics("flux-system", "main", ""),
            [
                "automation: `update.path` `./apps` does not exist in this repository, so every run of the automation fails (image-automation-controller walks it for markers: `no such file or directory`) and nothing is updated",
                "unused-policy: no marker Flux reads names ImagePolicy `flux-system:app`",
            ]
        );
        // Another branch of this repository, another repository: both are in that checkout.
        assert!(diagnostics("flux-system", "release", "").is_empty());
        let other = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app-config\n  namespace: flux-system\nspec:\n  url: ssh://git@github.com/org/app-config\n  ref:\n    branch: main\n---\n";
        assert!(diagnostics("app-config", "main", other).is_empty());
    }

    #[test]
    fn a_missing_update_path_is_pointed_at_the_folder_it_likely_meant() {
        let help = |path: &str| {
            (automation_findings(None, path).into_iter())
                .map(|d| d.help)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            help("./flux/clusters/prod"),
            ["it is relative to the repository root: `./clusters/prod` is there (the path without its `flux/`)"]
        );
        assert_eq!(
            help("./clusters/production/apps"),
            ["point it at a directory relative to the repository root: `./clusters` is there, but not `production/apps` in it"]
        );
        assert_eq!(
            help("./apps"),
            ["point it at a directory relative to the repository root, e.g. `./clusters/production`"]
        );
    }

    /// Where nothing of a missing path exists, the folder of the markers of the automation's
    /// namespace says where it points.
    #[test]
    fn a_missing_update_path_is_pointed_at_its_markers() {
        let automation = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    commit:\n      author:\n        email: bot@example.com\n  update:\n    path: ./deployments\n";
        let marker = |name: &str| {
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:{name}\"}}\n")
        };
        let (one, two, other) = (
            marker("one"),
            marker("two"),
            marker("other").replace("flux-system:", "other:"),
        );
        let files = [
            ("clusters/prod/flux-system/gotk-sync.yaml", BOOTSTRAP),
            ("clusters/prod/automation.yaml", automation),
            ("clusters/prod/applications/one/app.yaml", one.as_str()),
            ("clusters/prod/applications/two/deep/app.yaml", two.as_str()),
            ("clusters/prod/elsewhere/app.yaml", other.as_str()),
        ];
        let help: Vec<String> = (diagnostics_of(&files, &["automation"]).into_iter())
            .filter(|d| d.message.starts_with("`update.path`"))
            .map(|d| d.help)
            .collect();
        assert_eq!(
            help,
            ["point it at a directory relative to the repository root: the markers naming policies of its namespace are under `./clusters/prod/applications`"]
        );
        assert_eq!(common_folder("a/b/c", "a/b"), "a/b");
        assert_eq!(common_folder("a/bc", "a/b"), "a");
        assert_eq!(common_folder("x", "y"), "");
    }
}
