//! Typed ImageRepository, ImagePolicy and ImageUpdateAutomation objects read leniently from YAML
//! documents (the `schema` rule reports what does not fit), each field with its source span.

use std::collections::BTreeMap;

use super::Kind;
use crate::scan::yaml::{NodeId, YamlFile};
use crate::source::Span;

pub const API_GROUP: &str = "image.toolkit.fluxcd.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug)]
pub struct FluxObject {
    pub kind: Kind,
    /// Index of the file in the scanned workspace.
    pub file: usize,
    /// The document (or `kind: List` item) node.
    pub root: NodeId,
    pub api_version: Spanned<String>,
    /// `metadata.name`; the span is the kind line when the name is missing.
    pub name: Spanned<String>,
    /// Resolved namespace: a kustomization's `namespace:`, else `metadata.namespace`, else the
    /// configured default.
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub spec: Spec,
}

impl FluxObject {
    pub fn key(&self) -> String {
        format!("{}:{}", self.namespace, self.name.value)
    }
}

#[derive(Debug)]
pub enum Spec {
    Repository(RepositorySpec),
    Policy(PolicySpec),
    Automation(AutomationSpec),
}

#[derive(Debug, Default)]
pub struct RepositorySpec {
    pub image: Option<Spanned<String>>,
    pub exclusion_list: Option<Vec<Spanned<String>>>,
    pub insecure: bool,
    pub timeout: Option<Spanned<String>>,
    /// `accessFrom.namespaceSelectors[*].matchLabels`; `None` when `accessFrom` is absent.
    pub access_from: Option<Vec<BTreeMap<String, String>>>,
}

/// One of `semver`, `alphabetical`, `numerical` as written.
#[derive(Debug, Clone)]
pub struct ChoiceEntry {
    pub kind: ChoiceKind,
    pub key_span: Span,
    /// `range` for semver, `order` for the others.
    pub argument: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceKind {
    Semver,
    Alphabetical,
    Numerical,
}

#[derive(Debug, Default)]
pub struct PolicySpec {
    pub repository_name: Option<Spanned<String>>,
    pub repository_namespace: Option<Spanned<String>>,
    /// Span of `policy:` key, for diagnostics about the choice as a whole.
    pub policy_span: Option<Span>,
    pub choices: Vec<ChoiceEntry>,
    pub filter_pattern: Option<Spanned<String>>,
    pub extract: Option<Spanned<String>>,
    pub digest_reflection: Option<Spanned<String>>,
}

impl PolicySpec {
    /// Whether Flux records a digest in `latestRef` (`IfNotPresent` or `Always`).
    pub fn reflects_digests(&self) -> bool {
        self.digest_reflection
            .as_ref()
            .is_some_and(|d| d.value == "IfNotPresent" || d.value == "Always")
    }
}

#[derive(Debug, Default)]
pub struct AutomationSpec {
    pub source_ref_name: Option<Spanned<String>>,
    pub author_email: Option<Spanned<String>>,
    pub message_template: Option<Spanned<String>>,
    pub update_path: Option<Spanned<String>>,
    pub policy_selector: Option<LabelSelector>,
    pub push_branch: Option<Spanned<String>>,
}

#[derive(Debug, Default, Clone)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<LabelExpression>,
}

#[derive(Debug, Clone)]
pub struct LabelExpression {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Kubernetes label-selector semantics (`In`, `NotIn`, `Exists`, `DoesNotExist`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| e.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// The Flux image objects in one parsed file (documents and `kind: List` items). Namespaces:
/// the one a kustomization forces on the file, else `metadata.namespace`, else the default.
pub fn read_objects(
    yaml: &YamlFile,
    file: usize,
    forced_namespace: Option<&str>,
    default_namespace: &str,
) -> Vec<FluxObject> {
    let namespace_of = |root: NodeId| {
        forced_namespace
            .or(yaml
                .path_str(root, &["metadata", "namespace"])
                .filter(|ns| !ns.is_empty()))
            .unwrap_or(default_namespace)
            .to_string()
    };
    let mut objects = Vec::new();
    for &document in &yaml.documents {
        if yaml.path_str(document, &["kind"]) == Some("List") {
            if let Some(items) = yaml.get(document, "items") {
                for &item in yaml.items(items) {
                    objects.extend(read_object(yaml, item, file, namespace_of(item)));
                }
            }
        } else {
            objects.extend(read_object(yaml, document, file, namespace_of(document)));
        }
    }
    objects
}

fn spanned(yaml: &YamlFile, node: Option<NodeId>) -> Option<Spanned<String>> {
    let id = node?;
    Some(Spanned {
        value: yaml.scalar(id)?.to_string(),
        span: yaml.node(id).span,
    })
}

fn string_map(yaml: &YamlFile, node: Option<NodeId>) -> BTreeMap<String, String> {
    node.map(|map| {
        yaml.entries(map)
            .filter_map(|(k, v)| Some((yaml.scalar(k)?.to_string(), yaml.scalar(v)?.to_string())))
            .collect()
    })
    .unwrap_or_default()
}

/// The Flux image kind of a document, if it is one.
pub fn kind_of(yaml: &YamlFile, root: NodeId) -> Option<Kind> {
    let api_version = yaml.path_str(root, &["apiVersion"])?;
    let (group, _) = api_version.split_once('/')?;
    if group != API_GROUP {
        return None;
    }
    match yaml.path_str(root, &["kind"])? {
        "ImageRepository" => Some(Kind::ImageRepository),
        "ImagePolicy" => Some(Kind::ImagePolicy),
        "ImageUpdateAutomation" => Some(Kind::ImageUpdateAutomation),
        _ => None,
    }
}

fn read_object(
    yaml: &YamlFile,
    root: NodeId,
    file: usize,
    namespace: String,
) -> Option<FluxObject> {
    let kind = kind_of(yaml, root)?;
    let api_version = spanned(yaml, yaml.get(root, "apiVersion"))?;
    let kind_span = yaml.node(yaml.get(root, "kind")?).span;
    let name = spanned(yaml, yaml.path(root, &["metadata", "name"])).unwrap_or(Spanned {
        value: String::new(),
        span: kind_span,
    });
    let labels = string_map(yaml, yaml.path(root, &["metadata", "labels"]));
    let spec_node = yaml.get(root, "spec");
    let at = |path: &[&str]| spec_node.and_then(|spec| yaml.path(spec, path));
    let text = |path: &[&str]| spanned(yaml, at(path));
    let spec = match kind {
        Kind::ImageRepository => Spec::Repository(RepositorySpec {
            image: text(&["image"]),
            exclusion_list: at(&["exclusionList"]).map(|list| {
                yaml.items(list)
                    .iter()
                    .filter_map(|&item| spanned(yaml, Some(item)))
                    .collect()
            }),
            insecure: yaml.scalar_is_true(at(&["insecure"])),
            timeout: text(&["timeout"]),
            access_from: at(&["accessFrom"]).map(|access| {
                yaml.get(access, "namespaceSelectors")
                    .map(|selectors| {
                        yaml.items(selectors)
                            .iter()
                            .map(|&s| string_map(yaml, yaml.get(s, "matchLabels")))
                            .collect()
                    })
                    .unwrap_or_default()
            }),
        }),
        Kind::ImagePolicy => {
            let policy = at(&["policy"]);
            let choices = policy
                .map(|policy| {
                    yaml.entries(policy)
                        .filter_map(|(key, value)| {
                            let (kind, argument) = match yaml.scalar(key)? {
                                "semver" => (ChoiceKind::Semver, "range"),
                                "alphabetical" => (ChoiceKind::Alphabetical, "order"),
                                "numerical" => (ChoiceKind::Numerical, "order"),
                                _ => return None,
                            };
                            Some(ChoiceEntry {
                                kind,
                                key_span: yaml.node(key).span,
                                argument: spanned(yaml, yaml.get(value, argument)),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Spec::Policy(PolicySpec {
                repository_name: text(&["imageRepositoryRef", "name"]),
                repository_namespace: text(&["imageRepositoryRef", "namespace"]),
                policy_span: spec_node
                    .and_then(|spec| {
                        yaml.entries(spec)
                            .find(|&(k, _)| yaml.scalar(k) == Some("policy"))
                    })
                    .map(|(k, _)| yaml.node(k).span),
                choices,
                filter_pattern: text(&["filterTags", "pattern"]),
                extract: text(&["filterTags", "extract"]),
                digest_reflection: text(&["digestReflectionPolicy"]),
            })
        }
        Kind::ImageUpdateAutomation => Spec::Automation(AutomationSpec {
            source_ref_name: text(&["sourceRef", "name"]),
            author_email: text(&["git", "commit", "author", "email"]),
            message_template: text(&["git", "commit", "messageTemplate"]),
            update_path: text(&["update", "path"]),
            policy_selector: at(&["policySelector"]).map(|selector| LabelSelector {
                match_labels: string_map(yaml, yaml.get(selector, "matchLabels")),
                match_expressions: yaml
                    .get(selector, "matchExpressions")
                    .map(|list| {
                        yaml.items(list)
                            .iter()
                            .map(|&e| LabelExpression {
                                key: yaml.path_str(e, &["key"]).unwrap_or_default().to_string(),
                                operator: yaml
                                    .path_str(e, &["operator"])
                                    .unwrap_or_default()
                                    .to_string(),
                                values: yaml
                                    .get(e, "values")
                                    .map(|v| {
                                        yaml.items(v)
                                            .iter()
                                            .filter_map(|&i| yaml.scalar(i).map(str::to_string))
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            push_branch: text(&["git", "push", "branch"]),
        }),
    };
    Some(FluxObject {
        kind,
        file,
        root,
        api_version,
        name,
        namespace,
        labels,
        spec,
    })
}
