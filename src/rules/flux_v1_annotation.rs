//! Rule `flux-v1-annotation`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::scan::yaml::{NodeId, YamlFile};

pub static RULE: Rule = Rule {
    id: "flux-v1-annotation",
    severity: crate::report::Severity::Warning,
    summary: "Flux v1 automation annotations, which Flux v2 ignores",
    docs: r#"## What it catches
Workload annotations from Flux v1's automation: `fluxcd.io/automated` and `fluxcd.io/tag.*`
(`fluxcd.io/tag.app: semver:~1.0`).

## Why it matters in Flux
Flux v2 ignores them completely: the workload looks automated but is never updated.

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
    for (index, file) in cx.workspace.files.iter().enumerate() {
        let Ok(yaml) = &file.yaml else { continue };
        for &document in &yaml.documents {
            for annotations in annotation_maps(yaml, document) {
                for (key, _) in yaml.entries(annotations) {
                    let Some(name) = yaml.scalar(key) else {
                        continue;
                    };
                    if name == "fluxcd.io/automated" || name.starts_with("fluxcd.io/tag.") {
                        out.push(
                            &RULE,
                            index,
                            yaml.node(key).span,
                            format!("`{name}` is a Flux v1 annotation; Flux v2 ignores it"),
                            "use an ImagePolicy and a `$imagepolicy` marker on the image field instead".to_string(),
                        );
                    }
                }
            }
        }
    }
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
