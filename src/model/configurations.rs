//! A kustomization's `configurations` files (kustomize's `TransformerConfig`: which fields its
//! transformers change in which kinds) as kustomize 5.4 and later decode them: strictly
//! (kubernetes-sigs/kustomize#5550), so that a field the type does not have fails the build.
//! kustomize 5.3 and older (Flux before 2.3) ignore such a field. What the transformers then do
//! is not modelled: the objects of such a build are taken as unknown.

use crate::model::tree::{Entry, Node, Origin, Value};

/// kustomize's words (from 5.4) on such a field, before its name.
pub const UNKNOWN_FIELD: &str = "error unmarshaling JSON: while decoding JSON: json: unknown field";

/// The fields of `TransformerConfig`, each a list of field specs but `nameReference`.
const FIELDS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "templateLabels",
    "commonAnnotations",
    "nameReference",
    "varReference",
    "images",
    "replicas",
];

/// The fields of a field spec (`FieldSpec`: a kind's group, version and kind, the path, and
/// whether to create it).
const FIELD_SPEC: &[&str] = &["group", "version", "kind", "path", "create"];

/// The fields of a `nameReference` entry (`NameBackReferences`: the referred kind and the field
/// specs that refer to it).
const NAME_REFERENCE: &[&str] = &["group", "version", "kind", "fieldSpecs"];

/// The first field of the file (its first document, `root`) that `TransformerConfig` does not
/// have, and where its key is. Go's JSON decoder matches a name whatever its case
/// (`nameSpace` is `namespace`). A value of another shape than a list of mappings fails the
/// decoder otherwise, and is not judged here.
pub fn unknown_field(root: &Node) -> Option<(&str, Origin)> {
    for entry in entries(root) {
        if !known(FIELDS, &entry.key) {
            return Some((entry.key.as_str(), entry.key_origin));
        }
        let name_reference = entry.key.eq_ignore_ascii_case("nameReference");
        for item in items(&entry.value) {
            if !name_reference {
                if let Some(found) = unknown_in(item, FIELD_SPEC) {
                    return Some(found);
                }
                continue;
            }
            if let Some(found) = unknown_in(item, NAME_REFERENCE) {
                return Some(found);
            }
            let specs = (entries(item).iter())
                .filter(|field| field.key.eq_ignore_ascii_case("fieldSpecs"))
                .flat_map(|field| items(&field.value));
            for spec in specs {
                if let Some(found) = unknown_in(spec, FIELD_SPEC) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// Whether no field spec of the file (its first document, `root`) selects an image object
/// (an ImagePolicy, ImageRepository or ImageUpdateAutomation), so that the transformers it
/// configures leave them as the model builds them: every spec names a kind, or a group, of
/// something else (the `images` of a Rollout, a CRD's name references). kustomize selects by
/// what a spec gives of group, version and kind, so one giving neither selects every kind. A
/// `nameReference` entry's own kind is what is referred to: only its field specs are changed.
/// Anything not in that shape may select anything.
pub fn spares_image_objects(root: &Node) -> bool {
    let text = |node: &Node, name: &str| -> Option<String> {
        let entry = entries(node)
            .iter()
            .find(|entry| entry.key.eq_ignore_ascii_case(name));
        match entry {
            None => Some(String::new()),
            Some(entry) => entry.value.str().map(str::to_string),
        }
    };
    let spares = |spec: &Node| {
        let (Some(group), Some(kind)) = (text(spec, "group"), text(spec, "kind")) else {
            return false;
        };
        crate::flux::objects::selects_no_image_object(&group, &kind)
    };
    let Value::Map(fields) = &root.value else {
        return false;
    };
    fields.iter().all(|field| {
        let Value::Seq(items) = &field.value.value else {
            return false;
        };
        if !field.key.eq_ignore_ascii_case("nameReference") {
            return items.iter().all(spares);
        }
        items.iter().all(|item| {
            (entries(item).iter())
                .filter(|entry| entry.key.eq_ignore_ascii_case("fieldSpecs"))
                .all(|entry| matches!(&entry.value.value, Value::Seq(specs) if specs.iter().all(spares)))
        })
    })
}

fn known(fields: &[&str], key: &str) -> bool {
    fields.iter().any(|field| field.eq_ignore_ascii_case(key))
}

/// The first key of a mapping that is none of `fields`, and where it is.
fn unknown_in<'n>(node: &'n Node, fields: &[&str]) -> Option<(&'n str, Origin)> {
    (entries(node).iter())
        .find(|entry| !known(fields, &entry.key))
        .map(|entry| (entry.key.as_str(), entry.key_origin))
}

fn entries(node: &Node) -> &[Entry] {
    match &node.value {
        Value::Map(entries) => entries,
        _ => &[],
    }
}

fn items(node: &Node) -> &[Node] {
    match &node.value {
        Value::Seq(items) => items,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::yaml::YamlFile;
    use crate::source::SourceFile;

    fn unknown(text: &str) -> Option<String> {
        let source = SourceFile::new("kustomizeconfig.yaml".to_string(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        let root = Node::from_yaml(&yaml, 0, yaml.documents[0]);
        unknown_field(&root).map(|(key, origin)| format!("{key}@{}", origin.span().start))
    }

    #[test]
    fn the_fields_kustomize_knows_pass_in_any_case() {
        let known = "nameReference:\n  - kind: ConfigMap\n    version: v1\n    fieldSpecs:\n      - path: spec/valuesFrom/name\n        kind: HelmRelease\n        create: false\ncommonLabels:\n  - path: spec/selector\n    group: apps\n    Kind: Deployment\nnameSpace: []\nlabels: []\nreplicas: []\n";
        assert_eq!(unknown(known), None);
    }

    #[test]
    fn a_field_kustomize_does_not_know_is_found_where_it_is() {
        // linuxmaniac/home-ops: a namespace on the referred kind.
        let in_reference = "nameReference:\n  - kind: Secret\n    version: v1\n    namespace: flux-system\n    fieldSpecs: []\n";
        assert_eq!(unknown(in_reference).as_deref(), Some("namespace@52"));
        let in_spec = "nameReference:\n  - kind: Secret\n    fieldSpecs:\n      - path: spec/x\n        name: y\n";
        assert_eq!(unknown(in_spec).as_deref(), Some("name@77"));
        assert_eq!(
            unknown("commonLabels:\n  - path: a\n    apiVersion: v1\n").as_deref(),
            Some("apiVersion@30")
        );
        assert_eq!(
            unknown("annotations: []\n").as_deref(),
            Some("annotations@0")
        );
    }
}
