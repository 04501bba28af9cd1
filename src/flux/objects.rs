//! Typed ImageRepository, ImagePolicy and ImageUpdateAutomation objects read leniently from
//! rendered trees (what kustomize outputs), each field with the file and span it came from, which
//! a patch may have set. What does not fit the CRDs is found in the same read (`schema`), for the
//! `schema` rule; the tree is not kept.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use smol_str::SmolStr;

use super::schema::{misfits, Misfit};
use super::Kind;
use crate::model::tree::{Node, Origin, Value};
use crate::source::Span;

pub const API_GROUP: &str = "image.toolkit.fluxcd.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    /// The workspace file and the span the value was written at, kept as the renders keep
    /// theirs: a file index and offsets of `usize`s made each field of every object, and the
    /// object, 8 bytes larger.
    origin: Origin,
}

impl<T> Spanned<T> {
    pub fn new(value: T, file: usize, span: Span) -> Spanned<T> {
        Spanned {
            value,
            origin: Origin::new(file, span),
        }
    }

    /// The workspace file the value was written in.
    pub fn file(&self) -> usize {
        self.origin.file()
    }

    pub fn span(&self) -> Span {
        self.origin.span()
    }

    pub fn origin(&self) -> Origin {
        self.origin
    }
}

/// An image object as a render made it: what the object is, read once from its tree, which is
/// then dropped. Renders that rendered the same tree (clusters that apply one folder) share it.
#[derive(Debug)]
pub struct ObjectContent {
    pub kind: Kind,
    pub api_version: Spanned<SmolStr>,
    /// `metadata.name`; the span is the kind line when the name is missing.
    pub name: Spanned<SmolStr>,
    /// Resolved namespace: `metadata.namespace` as rendered (a kustomization's `namespace:`
    /// included), else the configured default.
    pub namespace: SmolStr,
    /// Whether anything here set the namespace: when not, whoever applies the object (a Flux
    /// Kustomization's `targetNamespace` elsewhere) decides it, and a reference to the name in
    /// any namespace may mean it.
    pub namespace_written: bool,
    /// `metadata.labels` (see `labels`), when it has any: most objects have none, and an empty
    /// map took 24 bytes of each, where the box takes 8 (clippy sees only the extra allocation
    /// of the few objects that have labels).
    #[allow(clippy::box_collection)]
    labels: Option<Box<BTreeMap<String, String>>>,
    /// What kustomize-controller does with it, by its `reconcile` and `ssa` metadata.
    pub flux_apply: FluxApply,
    pub spec: Spec,
    /// Where its document (or `kind: List` item) was written (see `file`).
    origin: Origin,
    /// Where it does not fit its kind's shape (for the `schema` rule).
    pub misfits: Box<[Misfit]>,
    /// A hash of `spec` as rendered, values and origins: renders of one document that patches
    /// left alike have the same (see `rules::judged_objects`). The tree itself is not kept.
    pub spec_digest: u64,
    /// `spec`'s [`Node::content_digest`]: copies written apart that hold the same spec.
    pub spec_content: Option<u64>,
}

/// An image object of one render: its content (see `model::Objects` for the sharing), where it
/// was rendered and how sure that render is of it.
#[derive(Debug)]
pub struct FluxObject {
    content: Arc<ObjectContent>,
    /// Which render produced it (objects of different renders are never duplicates).
    pub render: usize,
    /// Which cluster applies it (0 in a repository without clusters): references resolve there.
    pub cluster: usize,
    /// Something the model does not follow (a remote base, `replacements`, a failed build) may
    /// change or hide it: it resolves references, but rules about its content stay silent.
    pub uncertain: bool,
    /// kustomize-controller does not keep this copy applied (see `FluxIndex::new`): what the
    /// cluster holds under its name, if anything, is another copy or older.
    pub not_kept: bool,
}

/// What kustomize-controller does with an object of its build, by the metadata Flux reads:
/// `apply` in kustomize-controller's `internal/controller/kustomization_controller.go` sets
/// `ExclusionSelector` to `kustomize.toolkit.fluxcd.io/reconcile: disabled` and
/// `kustomize.toolkit.fluxcd.io/ssa: Ignore`, and `IfNotPresentSelector` to
/// `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`; fluxcd/pkg `ssa` (`shouldSkipApply` in
/// `manager_apply.go`, called by `ApplyAll`) skips an object the exclusion matches whether or not
/// it exists, and one `IfNotPresent` matches only when it exists. `utils.AnyInMetadata` matches a
/// label or an annotation, its value compared ignoring case, never an empty one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FluxApply {
    /// Applied on every reconciliation.
    Always,
    /// Created when missing, then left as the cluster has it.
    IfNotPresent,
    /// Never applied, never created: it exists only if something else made it.
    Never,
}

const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";

impl FluxApply {
    /// From an object's `metadata` (the exclusion first, as `shouldSkipApply` checks it first).
    pub fn of_metadata(metadata: Option<&Node>) -> FluxApply {
        let carries = |key: &str, value: &str| {
            ["labels", "annotations"].iter().any(|field| {
                metadata
                    .and_then(|metadata| metadata.path(&[field, key]))
                    .and_then(Node::str)
                    .is_some_and(|text| !text.is_empty() && text.eq_ignore_ascii_case(value))
            })
        };
        if carries(RECONCILE_KEY, "disabled") || carries(SSA_KEY, "Ignore") {
            FluxApply::Never
        } else if carries(SSA_KEY, "IfNotPresent") {
            FluxApply::IfNotPresent
        } else {
            FluxApply::Always
        }
    }
}

impl ObjectContent {
    /// `metadata.labels`.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
        self.labels.as_deref().unwrap_or(&NO_LABELS)
    }

    /// The namespace the object is in for a reference that names it in `named`: its own, unless
    /// nothing here sets one. Then whoever applies it decides, and a reference resolves to it
    /// only as the object applied into the namespace it names (see `FluxIndex`).
    pub fn namespace_as_named<'n>(&'n self, named: &'n str) -> &'n str {
        if self.namespace_written {
            &self.namespace
        } else {
            named
        }
    }

    /// Index of the file in the scanned workspace the object's document is written in.
    pub fn file(&self) -> usize {
        self.origin.file()
    }

    /// Where its document (or `kind: List` item) was written.
    pub fn origin(&self) -> Origin {
        self.origin
    }
}

impl std::ops::Deref for FluxObject {
    type Target = ObjectContent;

    fn deref(&self) -> &ObjectContent {
        &self.content
    }
}

impl FluxObject {
    pub fn new(content: Arc<ObjectContent>, provenance: Provenance) -> FluxObject {
        FluxObject {
            content,
            render: provenance.render,
            cluster: provenance.cluster,
            uncertain: provenance.uncertain,
            not_kept: false,
        }
    }

    pub fn key(&self) -> String {
        // Built by hand: `format!` cost several times more, and keys are made per finding.
        let name = &self.name.value;
        let mut key = String::with_capacity(self.namespace.len() + 1 + name.len());
        key.push_str(&self.namespace);
        key.push(':');
        key.push_str(name);
        key
    }

    /// The version part of `apiVersion` (`v1beta2`).
    pub fn api(&self) -> &str {
        self.api_version
            .value
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }

    /// Whether it is written in `v1alpha1`, the layout of Flux up to 0.12 (ImageUpdateAutomation's
    /// `checkout` and `commit.authorEmail` instead of `sourceRef` and `git`), which the schema and
    /// the automation rule do not judge by the later fields.
    pub fn has_first_layout(&self) -> bool {
        self.api() == "v1alpha1"
    }
}

/// Each kind's spec boxed: inline, the largest (a policy's) made every object as large, and an
/// object of the other kinds held room for it that it never used.
#[derive(Debug)]
pub enum Spec {
    Repository(Box<RepositorySpec>),
    Policy(Box<PolicySpec>),
    Automation(Box<AutomationSpec>),
}

#[derive(Debug, Default)]
pub struct RepositorySpec {
    pub image: Option<Spanned<SmolStr>>,
    pub exclusion_list: Option<Box<[Spanned<SmolStr>]>>,
    pub insecure: bool,
    pub timeout: Option<Spanned<SmolStr>>,
    /// `accessFrom.namespaceSelectors[*].matchLabels`; `None` when `accessFrom` is absent.
    pub access_from: Option<Box<[BTreeMap<String, String>]>>,
}

/// One of `semver`, `alphabetical`, `numerical` as written.
#[derive(Debug, Clone)]
pub struct ChoiceEntry {
    pub kind: ChoiceKind,
    /// The `semver:` / `alphabetical:` / `numerical:` key.
    pub key: Origin,
    /// `range` for semver, `order` for the others.
    pub argument: Option<Spanned<SmolStr>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceKind {
    Semver,
    Alphabetical,
    Numerical,
}

#[derive(Debug, Default)]
pub struct PolicySpec {
    pub repository_name: Option<Spanned<SmolStr>>,
    pub repository_namespace: Option<Spanned<SmolStr>>,
    /// The `policy:` key, for diagnostics about the choice as a whole.
    pub policy_key: Option<Origin>,
    pub choices: Box<[ChoiceEntry]>,
    pub filter_pattern: Option<Spanned<SmolStr>>,
    pub extract: Option<Spanned<SmolStr>>,
    pub digest_reflection: Option<Spanned<SmolStr>>,
    /// `spec.interval`, of any type.
    pub interval: Option<Origin>,
}

impl PolicySpec {
    /// Whether its selection still holds a `${var}` after the substitutions known here (filled
    /// in by a `postBuild.substituteFrom` ConfigMap this repository does not hold): what it
    /// selects is not known.
    pub fn selects_by_unknown_values(&self) -> bool {
        let unknown = |field: &Option<Spanned<SmolStr>>| {
            field
                .as_ref()
                .is_some_and(|field| crate::model::substitute::is_unresolved(&field.value))
        };
        unknown(&self.filter_pattern)
            || unknown(&self.extract)
            || self.choices.iter().any(|choice| unknown(&choice.argument))
    }

    /// Whether Flux records a digest in `latestRef` (`IfNotPresent` or `Always`).
    pub fn reflects_digests(&self) -> bool {
        self.digest_reflection
            .as_ref()
            .is_some_and(|d| d.value == "IfNotPresent" || d.value == "Always")
    }
}

#[derive(Debug, Default)]
pub struct AutomationSpec {
    pub source_ref_name: Option<Spanned<SmolStr>>,
    pub author_email: Option<Spanned<SmolStr>>,
    pub message_template: Option<Spanned<SmolStr>>,
    pub update_path: Option<Spanned<SmolStr>>,
    pub policy_selector: Option<LabelSelector>,
    pub push_branch: Option<Spanned<SmolStr>>,
    /// `sourceRef.kind` and `sourceRef.namespace`, as written.
    pub source_ref_kind: Option<String>,
    pub source_ref_namespace: Option<String>,
    /// `git.checkout.ref` (`checkout` in `v1alpha1`), whole: the revision it commits to, when
    /// not the source's own.
    pub checkout_ref: Option<Node>,
    /// Whether `spec.git` is written: optional in the CRD, whose required author email is
    /// only required inside it.
    pub git_written: bool,
    /// Whether `spec.commit` or `spec.checkout` is written, where `v1alpha1` has them.
    pub first_layout_fields: bool,
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

/// Where an object comes from: its render and whether it can be trusted as rendered.
#[derive(Debug, Clone, Copy)]
pub struct Provenance {
    pub render: usize,
    pub cluster: usize,
    pub uncertain: bool,
}

/// A scalar's text with where it was written. The object keeps the tree's own text: most are
/// short and held in place (a `String` was a heap block of its own for each, in every object the
/// run holds), the long ones shared with the tree, not copied.
fn spanned(node: Option<&Node>) -> Option<Spanned<SmolStr>> {
    let node = node?;
    Some(Spanned::new(
        text_of(node)?.clone(),
        node.origin.file(),
        node.origin.span(),
    ))
}

/// The text of a scalar node, to keep (see `spanned`).
fn text_of(node: &Node) -> Option<&SmolStr> {
    match &node.value {
        Value::Scalar(scalar) => Some(&scalar.text),
        _ => None,
    }
}

/// The `apiVersion`s of the Flux image API: an object's is one of them in place of its own copy,
/// too long to be held in place.
const IMAGE_API_VERSIONS: [&str; 5] = [
    "image.toolkit.fluxcd.io/v1",
    "image.toolkit.fluxcd.io/v1beta2",
    "image.toolkit.fluxcd.io/v1beta1",
    "image.toolkit.fluxcd.io/v1alpha2",
    "image.toolkit.fluxcd.io/v1alpha1",
];

fn api_version_of(tree: &Node) -> Option<Spanned<SmolStr>> {
    let mut api_version = spanned(tree.get("apiVersion"))?;
    if let Some(known) = IMAGE_API_VERSIONS
        .iter()
        .find(|known| **known == api_version.value)
    {
        api_version.value = SmolStr::new_static(known);
    }
    Some(api_version)
}

fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    node.map(Node::string_map).unwrap_or_default()
}

/// What `keep` makes of the items it keeps, made in room for all the items (`collect` gave a list
/// of one, a policy's choice or a repository's exclusion, room for four, in every object the run
/// holds) and kept as a slice, with no capacity beside its length.
fn kept<T, U>(items: &[T], keep: impl FnMut(&T) -> Option<U>) -> Box<[U]> {
    let mut kept = Vec::with_capacity(items.len());
    kept.extend(items.iter().filter_map(keep));
    kept.into_boxed_slice()
}

/// Whether an `apiVersion` is of the Flux image API group.
pub fn is_image_api(api_version: &str) -> bool {
    // The group is what precedes the first `/`, and `API_GROUP` holds none: a prefix test, with
    // no search for the `/` in every resource's apiVersion.
    api_version
        .strip_prefix(API_GROUP)
        .is_some_and(|version| version.starts_with('/'))
}

/// Whether a kustomize selection by API group and kind (each empty where not given, which
/// selects any) never selects an image object: it names another kind, or only another group.
pub fn selects_no_image_object(group: &str, kind: &str) -> bool {
    match kind {
        "" => !group.is_empty() && group != API_GROUP,
        kind => Kind::named(kind).is_none(),
    }
}

/// The Flux image kind of an object, if it is one.
pub fn kind_of(object: &Node) -> Option<Kind> {
    if !is_image_api(object.path_str(&["apiVersion"])?) {
        return None;
    }
    Kind::named(object.path_str(&["kind"])?)
}

/// The typed view of a rendered object, read whole; `None` when it is not a Flux image object.
/// What the cluster decrypts is unknown here: read as not written, never judged.
fn in_clear(node: Option<&Node>, object_encrypted: bool) -> Option<&Node> {
    node.filter(|node| !(object_encrypted && super::sops::is_encrypted_value(node)))
}

pub fn read_object(tree: &Node, default_namespace: &str) -> Option<ObjectContent> {
    let kind = kind_of(tree)?;
    let api_version = api_version_of(tree)?;
    let kind_origin = tree.get("kind")?.origin;
    let name = spanned(tree.path(&["metadata", "name"])).unwrap_or(Spanned::new(
        SmolStr::default(),
        kind_origin.file(),
        kind_origin.span(),
    ));
    let written_namespace = tree
        .path(&["metadata", "namespace"])
        .and_then(text_of)
        .filter(|ns| !ns.is_empty());
    let namespace = written_namespace
        .cloned()
        .unwrap_or_else(|| SmolStr::new(default_namespace));
    let labels = Some(string_map(tree.path(&["metadata", "labels"])))
        .filter(|labels| !labels.is_empty())
        .map(Box::new);
    let flux_apply = FluxApply::of_metadata(tree.get("metadata"));
    let spec_node = tree.get("spec");
    let encrypted = super::sops::is_encrypted(tree);
    let at = |path: &[&str]| in_clear(spec_node.and_then(|spec| spec.path(path)), encrypted);
    let text = |path: &[&str]| spanned(at(path));
    let spec = match kind {
        Kind::ImageRepository => Spec::Repository(Box::new(RepositorySpec {
            image: text(&["image"]),
            exclusion_list: at(&["exclusionList"])
                .map(|list| kept(list.items(), |item| spanned(Some(item)))),
            insecure: at(&["insecure"]).and_then(Node::str).is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "y")
            }),
            timeout: text(&["timeout"]),
            access_from: at(&["accessFrom"]).map(|access| {
                access
                    .get("namespaceSelectors")
                    .map(|selectors| {
                        selectors
                            .items()
                            .iter()
                            .map(|s| string_map(s.get("matchLabels")))
                            .collect()
                    })
                    .unwrap_or_default()
            }),
        })),
        Kind::ImagePolicy => {
            let policy = at(&["policy"]);
            let choices = policy
                .map(|policy| {
                    kept(policy.entries(), |entry| {
                        let (kind, argument) = match entry.key.as_str() {
                            "semver" => (ChoiceKind::Semver, "range"),
                            "alphabetical" => (ChoiceKind::Alphabetical, "order"),
                            "numerical" => (ChoiceKind::Numerical, "order"),
                            _ => return None,
                        };
                        Some(ChoiceEntry {
                            kind,
                            key: entry.key_origin,
                            argument: spanned(in_clear(entry.value.get(argument), encrypted)),
                        })
                    })
                })
                .unwrap_or_default();
            Spec::Policy(Box::new(PolicySpec {
                repository_name: text(&["imageRepositoryRef", "name"]),
                repository_namespace: text(&["imageRepositoryRef", "namespace"]),
                policy_key: spec_node
                    .and_then(|spec| spec.entry("policy"))
                    .map(|entry| entry.key_origin),
                choices,
                filter_pattern: text(&["filterTags", "pattern"]),
                extract: text(&["filterTags", "extract"]),
                digest_reflection: text(&["digestReflectionPolicy"]),
                interval: at(&["interval"]).map(|interval| interval.origin),
            }))
        }
        Kind::ImageUpdateAutomation => Spec::Automation(Box::new(AutomationSpec {
            // `v1alpha1` names its GitRepository and branch under `checkout`.
            source_ref_name: text(&["sourceRef", "name"])
                .or_else(|| text(&["checkout", "gitRepositoryRef", "name"])),
            author_email: text(&["git", "commit", "author", "email"]),
            git_written: at(&["git"]).is_some(),
            first_layout_fields: at(&["commit"]).is_some() || at(&["checkout"]).is_some(),
            message_template: text(&["git", "commit", "messageTemplate"]),
            update_path: text(&["update", "path"]),
            policy_selector: at(&["policySelector"]).map(|selector| LabelSelector {
                match_labels: string_map(selector.get("matchLabels")),
                match_expressions: selector
                    .get("matchExpressions")
                    .map(|list| {
                        list.items()
                            .iter()
                            .map(|e| LabelExpression {
                                key: e.path_str(&["key"]).unwrap_or_default().to_string(),
                                operator: e.path_str(&["operator"]).unwrap_or_default().to_string(),
                                values: e
                                    .get("values")
                                    .map(|v| {
                                        v.items()
                                            .iter()
                                            .filter_map(|i| i.str().map(str::to_string))
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            push_branch: text(&["git", "push", "branch"]),
            source_ref_kind: at(&["sourceRef", "kind"])
                .and_then(Node::str)
                .map(str::to_string),
            source_ref_namespace: at(&["sourceRef", "namespace"])
                .and_then(Node::str)
                .map(str::to_string),
            checkout_ref: at(&["git", "checkout", "ref"])
                .or_else(|| at(&["checkout"]).filter(|c| c.get("gitRepositoryRef").is_some()))
                .cloned(),
        })),
    };
    Some(ObjectContent {
        kind,
        api_version,
        name,
        namespace,
        namespace_written: written_namespace.is_some(),
        labels,
        flux_apply,
        spec,
        origin: tree.origin,
        misfits: misfits(kind, tree).into_boxed_slice(),
        spec_digest: foldhash::fast::FixedState::default().hash_one(spec_node),
        spec_content: spec_node.and_then(Node::content_digest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_api_is_the_group_before_the_first_slash() {
        assert!(is_image_api("image.toolkit.fluxcd.io/v1beta2"));
        assert!(is_image_api("image.toolkit.fluxcd.io/"));
        assert!(!is_image_api("image.toolkit.fluxcd.io"));
        assert!(!is_image_api("image.toolkit.fluxcd.iox/v1"));
        assert!(!is_image_api("x/image.toolkit.fluxcd.io/v1"));
        assert!(!is_image_api("v1"));
    }

    fn flux_apply(metadata: &str) -> FluxApply {
        let text = format!("kind: ImagePolicy\nmetadata:\n{metadata}");
        let source = crate::source::SourceFile::new("t.yaml".into(), text.as_str());
        let yaml = crate::scan::yaml::YamlFile::parse(&source).unwrap();
        let tree = Node::from_yaml(&yaml, 0, yaml.documents[0]);
        FluxApply::of_metadata(tree.get("metadata"))
    }

    /// Asserts that each of these `metadata` maps gives `expected`.
    fn each_gives(metadata: &[&str], expected: FluxApply) {
        for metadata in metadata {
            assert_eq!(flux_apply(metadata), expected, "{metadata}");
        }
    }

    #[test]
    fn reconcile_disabled_or_ssa_ignore_is_never_applied_as_label_or_annotation() {
        each_gives(
            &[
                "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n",
                "  labels:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n",
                "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Ignore\n",
                "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: Ignore\n",
            ],
            FluxApply::Never,
        );
    }

    #[test]
    fn values_are_compared_ignoring_case() {
        let disabled = "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: Disabled\n";
        assert_eq!(flux_apply(disabled), FluxApply::Never);
        let ignore = "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: ignore\n";
        assert_eq!(flux_apply(ignore), FluxApply::Never);
        let if_not_present = "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: ifnotpresent\n";
        assert_eq!(flux_apply(if_not_present), FluxApply::IfNotPresent);
    }

    #[test]
    fn keys_are_compared_exactly_and_other_values_are_applied() {
        each_gives(
            &[
                "  annotations:\n    Kustomize.toolkit.fluxcd.io/reconcile: disabled\n",
                "  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: enabled\n",
                "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge\n",
                "  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: \"\"\n",
                "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n",
                "  annotations:\n    reconcile: disabled\n",
                "  name: app\n",
            ],
            FluxApply::Always,
        );
    }

    #[test]
    fn the_exclusion_wins_over_if_not_present() {
        let both = "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n  annotations:\n    kustomize.toolkit.fluxcd.io/reconcile: disabled\n";
        assert_eq!(flux_apply(both), FluxApply::Never);
        let created_once = "  labels:\n    kustomize.toolkit.fluxcd.io/ssa: IfNotPresent\n";
        assert_eq!(flux_apply(created_once), FluxApply::IfNotPresent);
    }
}
