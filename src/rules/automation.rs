//! Rule `automation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;
use crate::flux::versions::{template_fields_used, Support};
use crate::flux::Kind;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "automation",
    severity: Severity::Error,
    summary: "An ImageUpdateAutomation Flux would stall on",
    docs: r#"## What it catches
An ImageUpdateAutomation without `spec.sourceRef` or `spec.git.commit.author.email`, with an
`spec.update.path` that does not exist in the repository, or with a `messageTemplate` that
reads a field the cluster's Flux does not fill: removed (`.Updated`, `.Changed.ImageResult`
from Flux 2.7) or not there yet (`.Changed` before 2.3, `.Values` before 2.5). Also a
`spec.policySelector` on a `v1beta1` object: the selector arrived with `v1beta2` (Flux 2.3). A field that
works on the cluster's Flux but a later release removed is a warning: it breaks on upgrade. So
is a removed field when no Flux version is pinned (the newest is assumed; the cluster may run
an older Flux that still fills it). The message names the Flux version and where it was read
(see `api-version` for the order); `check --flux-version 2.9` reports what breaks on upgrade to
that version as errors.

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
                object.name.file,
                object.name.span,
                missing("spec.sourceRef.name", false),
                "set `spec.sourceRef: {kind: GitRepository, name: flux-system}`".to_string(),
            );
        }
        if !first_layout
            && spec
                .author_email
                .as_ref()
                .is_none_or(|e| e.value.is_empty())
        {
            out.push(
                &RULE,
                object.name.file,
                object.name.span,
                missing("spec.git.commit.author.email", spec.author_email.is_some()),
                "set `spec.git.commit.author.email`, e.g. `fluxcdbot@users.noreply.github.com`"
                    .to_string(),
            );
        }
        if let Some(path) = &spec.update_path {
            let relative = crate::flux::automation::normalize(&path.value);
            if cx.workspace.file_set.kind_of(&relative) == crate::walk::PathKind::Missing {
                out.push(
                    &RULE,
                    path.file,
                    path.span,
                    format!("`update.path` `{}` does not exist in this repository, so the automation updates nothing", path.value),
                    "point it at a directory relative to the repository root, e.g. `./clusters/production`".to_string(),
                );
            }
        }
        let api = object.api();
        if spec.policy_selector.is_some() && PRE_SELECTOR_APIS.contains(&api) {
            out.push(
                &RULE,
                object.api_version.file,
                object.api_version.span,
                format!("ImageUpdateAutomation `{}` sets `spec.policySelector`, which `{api}` does not have: Kubernetes drops it, so the automation applies every ImagePolicy of its namespace", object.key()),
                "use `image.toolkit.fluxcd.io/v1` (or `v1beta2` before Flux 2.7), which have `policySelector` (from Flux 2.3)".to_string(),
            );
        }
        if let Some(template) = &spec.message_template {
            let flux = cx.flux_for_file(object.file);
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
                        Severity::Error,
                        format!("the commit message template uses `{path}`, which {because} no longer fills (removed in Flux {removed_in}): the automation stalls{}", flux.upgrade_note()),
                    ),
                    Support::UntilUpgrade { removed_in } => (
                        Severity::Warning,
                        format!("the commit message template uses `{path}`, which {because} still fills but Flux {removed_in} removed: the automation stalls after an upgrade"),
                    ),
                    Support::NotYet { since } => (
                        Severity::Error,
                        format!("the commit message template uses `{path}`, which {because} does not fill yet (it arrived in Flux {since}): the automation stalls"),
                    ),
                };
                out.push_with_severity(
                    &RULE,
                    severity,
                    template.file,
                    template.span,
                    message,
                    field.advice.to_string(),
                );
            }
        }
    }
}
