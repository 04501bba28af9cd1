//! Rule `schema`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::FluxObject;
use crate::flux::schema::{closest_field, object_shape, Shape};
use crate::flux::versions::Feature;
use crate::flux::Kind;
use crate::model::tree::{Node, Origin, Value};
use crate::scan::yaml::Style;

pub static RULE: Rule = Rule {
    id: "schema",
    severity: crate::report::Severity::Error,
    summary: "A missing required field, a field Flux does not know, or a wrong type",
    docs: r#"## What it catches
Fields of ImageRepository, ImagePolicy and ImageUpdateAutomation that the `v1` CRDs do not
define (`filterTag`, `imageRepositoryref`), values of the wrong type (`insecure: "yes"` as a
string, a map where a string belongs), and missing required fields (`metadata.name`,
`spec.image`, `spec.interval`, `spec.imageRepositoryRef.name`). On Flux 2.6 and later (the
version as `api-version` reads it), an ImagePolicy's `spec.interval` without
`digestReflectionPolicy: Always`, or `Always` without an `interval`: the CRD's validation rules
reject both. Objects of `v1alpha1` (Flux up to 0.12, whose ImageUpdateAutomation has `checkout`
and `commit.authorEmail` instead of `sourceRef` and `git`) are not judged: their shapes differ.

## Why it matters in Flux
Unknown fields are dropped by the API server (or rejected, with strict field validation), so a
misspelt `filterTag` silently turns the filter off and the policy picks tags you excluded.

## Example
```yaml
spec:
  filterTag:
    pattern: '^v[0-9.]+$'
```

## Fix
Use the field the help names (`filterTags`).
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        // The shapes are those of `v1alpha2` and later.
        if object.has_first_layout() {
            continue;
        }
        walk(object, &object.tree, object_shape(object.kind), "", out);
        if object.kind == Kind::ImagePolicy
            && cx
                .flux_for_file(object.file)
                .feature(Feature::DigestReflection)
                .is_none()
        {
            interval_needs_always(object, out);
        }
        for (path, required) in required_fields(object.kind) {
            if object.tree.path(path).is_none() {
                let parent = object
                    .tree
                    .path(&path[..path.len() - 1])
                    .unwrap_or(&object.tree);
                let span = parent.origin.span;
                out.push_at(
                    &RULE,
                    Origin {
                        file: parent.origin.file,
                        span: crate::source::Span::new(
                            span.start,
                            span.start.max(span.end.min(span.start + 1)),
                        ),
                    },
                    format!(
                        "{} `{}` is missing the required field `{}`",
                        object.kind,
                        object.name.value,
                        path.join(".")
                    ),
                    required.to_string(),
                );
            }
        }
    }
}

/// ImagePolicy's validation rules (image-reflector-controller 0.35, Flux 2.6): `spec.interval`
/// is accepted only with, and required by, `digestReflectionPolicy: Always`.
fn interval_needs_always(object: &FluxObject, out: &mut Findings) {
    let interval = object.tree.path(&["spec", "interval"]);
    let reflection = object.tree.path(&["spec", "digestReflectionPolicy"]);
    let always = reflection.and_then(Node::str) == Some("Always");
    let (node, message, help) = match (interval, always) {
        (Some(interval), false) => (
            interval,
            "`spec.interval` is only accepted when `spec.digestReflectionPolicy` is `Always`; Kubernetes rejects the ImagePolicy",
            "remove `spec.interval`, or set `spec.digestReflectionPolicy: Always`",
        ),
        (None, true) => (
            reflection.unwrap_or(&object.tree),
            "`spec.digestReflectionPolicy: Always` needs `spec.interval`; Kubernetes rejects the ImagePolicy",
            "set `spec.interval` (how often to look up the digest, e.g. `10m`), or use `IfNotPresent`",
        ),
        _ => return,
    };
    out.push_at(
        &RULE,
        node.origin,
        format!("ImagePolicy `{}`: {message}", object.key()),
        help.to_string(),
    );
}

fn required_fields(kind: Kind) -> &'static [(&'static [&'static str], &'static str)] {
    match kind {
        Kind::ImageRepository => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (
                &["spec", "image"],
                "set `spec.image` to the repository to scan, e.g. `ghcr.io/org/app`",
            ),
            (&["spec", "interval"], "set `spec.interval`, e.g. `12h`"),
        ],
        Kind::ImagePolicy => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (
                &["spec", "imageRepositoryRef", "name"],
                "name the ImageRepository this policy selects from",
            ),
        ],
        Kind::ImageUpdateAutomation => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (&["spec", "interval"], "set `spec.interval`, e.g. `30m`"),
        ],
    }
}

fn walk(object: &FluxObject, node: &Node, shape: Shape, path: &str, out: &mut Findings) {
    let wrong_type = |expected: &str, out: &mut Findings| {
        out.push_at(
            &RULE,
            node.origin,
            format!("`{path}` must be {expected}"),
            format!("see the {} API reference for `{path}`", object.kind),
        );
    };
    if matches!(node.value, Value::Alias) {
        return;
    }
    match shape {
        Shape::Any => {}
        Shape::String | Shape::Integer => {
            if !matches!(node.value, Value::Scalar(_)) {
                wrong_type(
                    if matches!(shape, Shape::String) {
                        "a string"
                    } else {
                        "an integer"
                    },
                    out,
                );
            }
        }
        Shape::Bool => {
            let is_bool = matches!(
                &node.value,
                Value::Scalar(scalar) if scalar.style == Style::Plain
                    && matches!(scalar.text.as_str(), "true" | "false" | "True" | "False" | "TRUE" | "FALSE")
            );
            if !is_bool {
                wrong_type("a boolean (`true` or `false`, unquoted)", out);
            }
        }
        Shape::StringMap => {
            if !node.is_map() {
                wrong_type("a map of strings", out);
            }
        }
        Shape::List(item) => {
            if !node.is_seq() {
                wrong_type("a list", out);
                return;
            }
            for (i, child) in node.items().iter().enumerate() {
                walk(object, child, *item, &format!("{path}[{i}]"), out);
            }
        }
        Shape::Object(fields) => {
            if !node.is_map() {
                wrong_type("a map", out);
                return;
            }
            for entry in node.entries() {
                let name = entry.key.as_str();
                let child_path = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                match fields.iter().find(|(field, _)| *field == name) {
                    Some((_, child_shape)) => {
                        walk(object, &entry.value, *child_shape, &child_path, out)
                    }
                    None => {
                        let help = match closest_field(name, fields.iter().map(|(f, _)| *f)) {
                            Some(field) => format!("did you mean `{field}`?"),
                            None => format!(
                                "known fields here: {}",
                                fields
                                    .iter()
                                    .map(|(f, _)| format!("`{f}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        out.push_at(
                            &RULE,
                            entry.key_origin,
                            format!("{} has no field `{child_path}`; Kubernetes drops it and Flux never sees it", object.kind),
                            help,
                        );
                    }
                }
            }
        }
    }
}
