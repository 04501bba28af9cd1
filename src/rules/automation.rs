//! Rule `automation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;

pub static RULE: Rule = Rule {
    id: "automation",
    severity: crate::report::Severity::Error,
    summary: "An ImageUpdateAutomation Flux would stall on",
    docs: r#"## What it catches
An ImageUpdateAutomation without `spec.sourceRef` or `spec.git.commit.author.email`, with an
`spec.update.path` that does not exist in the repository, or with a `messageTemplate` using
fields removed in Flux 2.7 (`.Updated`, `.Changed.ImageResult`).

## Why it matters in Flux
The automation stalls (or updates nothing) and no update branch is ever pushed
(fluxcd/image-automation-controller#771 for the removed template fields).

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

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let Spec::Automation(spec) = &object.spec else {
            continue;
        };
        let missing = |field: &str| {
            format!(
                "ImageUpdateAutomation `{}` has no `{field}`; Flux stalls it",
                object.key()
            )
        };
        if spec.source_ref_name.is_none() {
            out.push(
                &RULE,
                object.name.file,
                object.name.span,
                missing("spec.sourceRef.name"),
                "set `spec.sourceRef: {kind: GitRepository, name: flux-system}`".to_string(),
            );
        }
        if spec
            .author_email
            .as_ref()
            .is_none_or(|e| e.value.is_empty())
        {
            out.push(
                &RULE,
                object.name.file,
                object.name.span,
                missing("spec.git.commit.author.email"),
                "set `spec.git.commit.author.email`, e.g. `fluxcdbot@users.noreply.github.com`"
                    .to_string(),
            );
        }
        if let Some(path) = &spec.update_path {
            let relative = crate::flux::automation::normalize(&path.value);
            if !cx.workspace.root.join(&relative).exists() {
                out.push(
                    &RULE,
                    path.file,
                    path.span,
                    format!("`update.path` `{}` does not exist in this repository, so the automation updates nothing", path.value),
                    "point it at a directory relative to the repository root, e.g. `./clusters/production`".to_string(),
                );
            }
        }
        if let Some(template) = &spec.message_template {
            for removed in [".Updated", ".Changed.ImageResult"] {
                if template.value.contains(removed) {
                    out.push(
                        &RULE,
                        template.file,
                        template.span,
                        format!("the commit message template uses `{removed}`, which Flux removed; the automation stalls"),
                        "use `.Changed.Changes` (old/new values with setters) or `.Changed.FileChanges`".to_string(),
                    );
                }
            }
        }
    }
}
