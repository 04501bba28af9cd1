//! Rule `flux-v1-annotation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::scan::marker::Placement;
use crate::scan::yaml::{NodeId, YamlFile};
use crate::source::Span;
use crate::workspace::ScannedFile;

pub static RULE: Rule = Rule {
    id: "flux-v1-annotation",
    severity: crate::report::Severity::Warning,
    summary: "Flux v1 automation annotations, which Flux v2 ignores",
    docs: r#"## What it catches
Workload annotations from Flux v1's automation: `fluxcd.io/automated` and `fluxcd.io/tag.*`
(`fluxcd.io/tag.app: semver:~1.0`).

## Why it matters in Flux
Flux v2 ignores them completely: the workload looks automated but is never updated. The reverse
holds for `fluxcd.io/automated: "false"`: the workload looks frozen, but Flux v2 keeps updating
every `$imagepolicy` marker in it.

## Example
```yaml
metadata:
  annotations:
    fluxcd.io/automated: "true"
```

## Fix
Create an ImageRepository and an ImagePolicy, and mark the image field with
`# {"$imagepolicy": "<namespace>:<policy>"}`; then remove the annotations.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (index, file) in cx.files() {
        let Ok(yaml) = &file.yaml else { continue };
        for &document in &yaml.documents {
            for annotations in annotation_maps(yaml, document) {
                for (key, value) in yaml.entries(annotations) {
                    let Some(name) = yaml.scalar(key) else {
                        continue;
                    };
                    let (message, help) = if name == "fluxcd.io/automated"
                        && is_false(yaml.scalar(value))
                    {
                        frozen_in_v1_only(file, yaml.node(document).span)
                    } else if name == "fluxcd.io/automated" || name.starts_with("fluxcd.io/tag.") {
                        (
                            format!("`{name}` is a Flux v1 annotation; Flux v2 ignores it"),
                            "use an ImagePolicy and a `$imagepolicy` marker on the image field instead".to_string(),
                        )
                    } else {
                        continue;
                    };
                    out.push(&RULE, index, yaml.node(key).span, message, help);
                }
            }
        }
    }
}

fn is_false(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "n"
        )
    })
}

/// `fluxcd.io/automated: "false"` meant "do not touch this workload" in Flux v1. Flux v2 ignores
/// it, so whatever markers the workload carries keep being applied.
fn frozen_in_v1_only(file: &ScannedFile, document: Span) -> (String, String) {
    let applied_markers = file
        .markers
        .markers
        .iter()
        .filter(|m| document.start <= m.span.start && m.span.end <= document.end)
        .filter(|m| matches!(m.placement, Placement::Applied(_)))
        .count();
    let message = match applied_markers {
        0 => "`fluxcd.io/automated: \"false\"` froze a workload in Flux v1; Flux v2 ignores it".to_string(),
        1 => "`fluxcd.io/automated: \"false\"` does not freeze this workload: Flux v2 ignores it and keeps updating its marked image".to_string(),
        n => format!("`fluxcd.io/automated: \"false\"` does not freeze this workload: Flux v2 ignores it and keeps updating its {n} marked images"),
    };
    let help = "to stop updates in Flux v2, remove the workload's `$imagepolicy` markers (or keep the file outside the automation's `update.path`), then delete the annotation".to_string();
    (message, help)
}

/// `metadata.annotations` of a document and of pod templates inside it.
fn annotation_maps(yaml: &YamlFile, document: NodeId) -> Vec<NodeId> {
    [
        &["metadata", "annotations"][..],
        &["spec", "template", "metadata", "annotations"][..],
    ]
    .iter()
    .filter_map(|path| yaml.path(document, path))
    .collect()
}
