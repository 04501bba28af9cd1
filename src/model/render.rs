//! `kustomize build`, natively: resources (files, folders with their own kustomization, paths
//! that leave the folder), generators, components, then the transformers in kustomize's order:
//! `patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`, `nameSuffix`, labels,
//! `commonAnnotations`, `patchesJson6902`. Errors are kustomize's, at the entry that causes them.
//! The Flux objects the cluster model reads are kept whole; every other resource as its identity
//! and metadata, which is all that selectors and id checks look at, its body read only as far as
//! a patch reaches into it (an image object is read whole when the model takes it in, once per
//! shape the renders left it in). A generator's object
//! is its identity, labels and annotations: it takes part in the build, not in what it renders.
//! Remote bases, paths outside the repository and fields this model does not follow make a build
//! uncertain: the objects are kept but nothing is concluded from what may be missing, nor from
//! the content or the names such a field may have changed.

use foldhash::HashMap;
use smol_str::SmolStr;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::kustomization::{
    is_kustomization_name, Behavior, Generator, Kustomization, Patch, PatchBody, Text,
};
use super::patch::{self, Merged};
use super::selector::{Candidate, Target};
use super::tree::{Node, Origin, Value};
use super::{configurations, replacements};
use crate::flux::objects::is_image_api;
use crate::scan::yaml::{NodeId, NodeKind, Style, YamlErrorKind, YamlFile};
use crate::source::{SourceFile, Span};
use crate::walk::{file_name, lies_under, Exclusion, FileSet, PathKind};
use crate::workspace::{files_writing_group_are_read, ScannedFile};

/// What the renderer reads: the workspace's parsed files and the kustomizations by folder.
pub struct Sources<'a> {
    pub root: &'a Path,
    /// The repository's files, for what a path names (on disk, or a commit's for `--push`).
    pub tree: &'a FileSet,
    pub files: &'a [ScannedFile],
    pub by_path: &'a HashMap<&'a str, usize>,
    pub kustomizations: &'a BTreeMap<String, Result<Kustomization, BuildError>>,
    /// `kustomizations` by hash, for the lookups every resource entry of every build makes: the
    /// ordered map compared a dozen paths for each.
    by_dir: HashMap<&'a str, &'a Result<Kustomization, BuildError>>,
    /// The files the kustomizations name.
    pub referenced: &'a super::Referenced,
    pub disk: Disk,
    pub image_objects: SharedTrees,
    /// Build as kustomize before 5.1 does (Flux before 2.2): a kustomization's components are
    /// added before its own generators run, not after.
    pub components_first: bool,
    /// Build as kustomize before 5.4 does (Flux before 2.3): a field a `configurations` file
    /// holds that kustomize does not know is ignored, not a failure.
    pub lenient_configurations: bool,
}

impl<'a> Sources<'a> {
    pub fn new(
        tree: &'a FileSet,
        files: &'a [ScannedFile],
        by_path: &'a HashMap<&'a str, usize>,
        kustomizations: &'a BTreeMap<String, Result<Kustomization, BuildError>>,
        referenced: &'a super::Referenced,
    ) -> Sources<'a> {
        Sources {
            root: &tree.root,
            tree,
            files,
            by_path,
            kustomizations,
            by_dir: kustomizations
                .iter()
                .map(|(dir, k)| (dir.as_str(), k))
                .collect(),
            referenced,
            disk: Disk::default(),
            image_objects: SharedTrees::default(),
            components_first: false,
            lenient_configurations: false,
        }
    }

    /// The kustomization of a folder (or why it cannot be read), with the folder as stored.
    pub fn kustomization_of(
        &self,
        dir: &str,
    ) -> Option<(&'a str, &'a Result<Kustomization, BuildError>)> {
        self.by_dir.get_key_value(dir).map(|(&dir, &k)| (dir, k))
    }

    /// The kustomization of a folder; kustomize's error when it has none or it cannot be read
    /// (at `named_at`, the entry that names the folder, when there is one).
    pub fn kustomization(
        &self,
        dir: &str,
        named_at: Option<Origin>,
    ) -> Result<&'a Kustomization, BuildError> {
        match self.kustomization_of(dir).map(|(_, k)| k) {
            Some(Ok(kustomization)) => Ok(kustomization),
            Some(Err(error)) => Err(error.clone()),
            None => Err(BuildError {
                cause: Cause::NotAKustomization,
                message: match self.kept_out_kustomization(dir) {
                    Some((name, exclusion)) => {
                        format!("`{dir}/{name}` {}", kept_out_by(&exclusion))
                    }
                    None => format!(
                        "`{dir}` has no kustomization.yaml, kustomization.yml or Kustomization"
                    ),
                },
                origin: named_at.unwrap_or_default(),
            }),
        }
    }

    /// The kustomization file of `dir` an ignore pattern keeps out of the artifact, with it.
    fn kept_out_kustomization(&self, dir: &str) -> Option<(&'static str, Exclusion)> {
        super::kustomization::FILE_NAMES
            .iter()
            .find_map(|&name| Some((name, self.kept_out(&join(dir, name)?)?)))
    }

    /// What a build error says of a path it names: that it does not exist, or which ignore
    /// pattern keeps it out of the artifact kustomize-controller builds.
    pub fn absence(&self, path: Option<&str>) -> String {
        match path.and_then(|path| self.kept_out(path)) {
            Some(exclusion) => kept_out_by(&exclusion),
            None => "does not exist".to_string(),
        }
    }

    /// What the builds cached (what paths name on disk, the image objects read), to be freed
    /// apart from the borrowed rest.
    pub fn into_caches(self) -> (Disk, SharedTrees) {
        (self.disk, self.image_objects)
    }

    /// What a repository path names in the artifact kustomize-controller builds, asked once
    /// per path (see [`Disk`]): a file an ignore pattern keeps out (`.sourceignore`, the
    /// GitRepository's `spec.ignore`, source-controller's defaults) is not there, nor is a
    /// folder all of whose files are kept out.
    pub fn kind_of(&self, path: &str) -> PathKind {
        // Most paths are files the walk read: known without the lock the builds share.
        match self.tree.read_and_delivered(path) {
            Some(true) => return PathKind::File,
            Some(false) => return PathKind::Missing,
            None => {}
        }
        if let Some(&kind) = self.disk.lock().get(path) {
            return kind;
        }
        // Asked without the lock held: builds on other threads go on meanwhile.
        let kind = match self.tree.kind_of(path) {
            PathKind::File if !self.tree.is_applied(path) => PathKind::Missing,
            PathKind::Dir if self.kept_out(path).is_some() => PathKind::Missing,
            kind => kind,
        };
        self.disk.lock().insert(path.to_string(), kind);
        kind
    }

    /// The ignore pattern that keeps the file or folder at `path` out of the artifact, where
    /// one does: a folder's is that of its first file, when no file of it is let through.
    pub fn kept_out(&self, path: &str) -> Option<Exclusion> {
        if self.tree.contains(path) {
            return self.tree.kept_out_by(path);
        }
        let folder = format!("{}/", path.trim_end_matches('/'));
        let mut files = self.tree.starting_with(&folder);
        let first = files.next()?;
        let let_through = |file: &str| self.tree.is_applied(file);
        match let_through(first) || files.any(let_through) {
            true => None,
            false => self.tree.kept_out_by(first),
        }
    }
}

/// How a build error tells a path an ignore pattern keeps out of the artifact: the checkout
/// holds it, so `kubectl kustomize` there does not fail (see [`KEPT_OUT`]).
fn kept_out_by(exclusion: &Exclusion) -> String {
    format!("is kept out of the artifact by {exclusion}{KEPT_OUT}")
}

/// The end of every build error on a path an ignore pattern keeps out of the artifact.
pub const KEPT_OUT: &str =
    ": source-controller does not hand it on, so kustomize-controller does not find it";

/// What a build error on a key written twice in one mapping says after the lines.
pub const DUPLICATE_KEY: &str =
    ", which kustomize refuses (yaml.v3: \"mapping key already defined\")";

/// The first key of a mapping in the tree at `node` (in the order of the text) that its
/// mapping already holds, with the earlier one: kustomize reads resources with yaml.v3, which
/// refuses a key written twice ("mapping key already defined", "duplicate merge key") where
/// most YAML tools keep the last. Keys are compared by their text, as yaml.v3 compares them
/// decoding into a map of strings (`1` and `"1"` are one key).
fn duplicate_key(yaml: &YamlFile, node: NodeId) -> Option<(NodeId, NodeId)> {
    // Past this many keys a mapping's keys are sorted, not each compared with all before it.
    const FEW: usize = 16;
    if yaml.is_seq(node) {
        return (yaml.items(node).iter()).find_map(|&item| duplicate_key(yaml, item));
    }
    let entries = yaml.entries(node);
    let twice = if entries.len() <= FEW {
        // Compared where they stand: most mappings are small, and a list of them would be an
        // allocation for each mapping of each resource of each build.
        let key = |(key, _): (NodeId, NodeId)| Some((yaml.scalar(key)?, key));
        entries.clone().enumerate().find_map(|(at, entry)| {
            let (text, again) = key(entry)?;
            let earlier = entries.clone().take(at).filter_map(key);
            let (_, first) = earlier.into_iter().find(|&(seen, _)| seen == text)?;
            Some((again, first))
        })
    } else {
        let mut keys: Vec<(&str, NodeId)> = (entries.clone())
            .filter_map(|(key, _)| Some((yaml.scalar(key)?, key)))
            .collect();
        // Stable: of equal keys, the earlier stays first.
        keys.sort_by_key(|&(text, _)| text);
        (keys.windows(2))
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| (pair[1].1, pair[0].1))
            .min()
    };
    twice.or_else(|| {
        entries
            .clone()
            .find_map(|(_, value)| duplicate_key(yaml, value))
    })
}

/// What repository paths name, remembered: every build of every cluster asks again for each
/// resource whose content it does not read. Shared by the builds running in parallel.
#[derive(Debug, Default)]
pub struct Disk(Mutex<HashMap<String, PathKind>>);

impl Disk {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, PathKind>> {
        // Only ever added to: whatever panicked while it was held left it whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The image objects' identities as the files hold them (their bodies unread), read once for all
/// the builds that include them (every cluster applying a shared folder): a build shares a tree
/// until it changes it ([`Resource::node_mut`]), and the model reads each shared tree whole once.
#[derive(Debug, Default)]
pub struct SharedTrees(Mutex<HashMap<(usize, NodeId), Arc<Node>>>);

impl SharedTrees {
    fn get_or_read(&self, file: usize, document: NodeId, read: impl FnOnce() -> Node) -> Arc<Node> {
        let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tree) = lock().get(&(file, document)) {
            return Arc::clone(tree);
        }
        // Read without the lock held: builds on other threads go on meanwhile.
        let tree = Arc::new(read());
        Arc::clone(lock().entry((file, document)).or_insert(tree))
    }
}

/// A kustomize build error, at the place in the repository that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub cause: Cause,
    pub message: String,
    pub origin: Origin,
}

/// Why a build fails: the classes of kustomize's own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A resource path that names nothing, or the path of a file an unmodelled field reads.
    MissingResource,
    /// A folder named as a resource or component that has no kustomization file.
    NotAKustomization,
    MissingPatch,
    MissingGeneratorInput,
    /// Two resources with one identity in a build (a generator's among them).
    DuplicateId,
    /// Two resources with one identity whose contents differ: two objects given one name (a
    /// file copied for another object, its `metadata.name` left as it was), not copies.
    DuplicateName,
    /// A `namespace` set over a build gives two resources of different namespaces one identity.
    NamespaceCollapse,
    /// A strategic merge patch without a target matches no resource, or several; so does a
    /// generator that merges into or replaces an object.
    PatchTarget,
    /// A JSON 6902 operation does not apply.
    JsonPatch,
    /// A patch that is neither kind, or a JSON patch without a target.
    InvalidPatch,
    /// An unknown field, a wrong kind, an empty file, two kustomization files, bad YAML.
    InvalidKustomization,
    /// A resource file that is not valid YAML or lacks `kind`.
    InvalidResource,
    Cycle,
    /// A Component named as a resource, or a Kustomization as a component.
    ComponentKind,
    /// A target whose regex or selector does not parse.
    InvalidTarget,
    /// A `postBuild` variable name kustomize-controller refuses (not kustomize's own).
    InvalidVariable,
}

impl Cause {
    /// Whether a failure kustomize reports as `reported` is this one: kustomize's words tell no
    /// copies from two objects of one name.
    pub fn is_reported_as(self, reported: Cause) -> bool {
        self == reported || (self == Cause::DuplicateName && reported == Cause::DuplicateId)
    }

    /// The class of an error `kustomize build` printed, by kustomize's own wording.
    pub fn of_kustomize_error(stderr: &str) -> Option<Cause> {
        // A `patchesJson6902` entry's file: "trouble configuring builtin
        // PatchJson6902Transformer with config: … open …: no such file or directory".
        if stderr.contains("PatchJson6902Transformer") && stderr.contains("no such file") {
            return Some(Cause::MissingPatch);
        }
        let table: &[(&[&str], Cause)] = &[
            (
                &["namespace transformation produces ID conflict"],
                Cause::NamespaceCollapse,
            ),
            (
                &[
                    "already registered id",
                    "ID conflict",
                    "behavior must be merge or replace",
                ],
                Cause::DuplicateId,
            ),
            (
                &[
                    "failed to find unique target for patch",
                    "cannot merge or replace",
                    "could accept merge",
                ],
                Cause::PatchTarget,
            ),
            (&["loading KV pairs"], Cause::MissingGeneratorInput),
            (&["failed to get the patch file"], Cause::MissingPatch),
            (
                &[
                    "operation does not apply",
                    "testing value",
                    // evanphx/json-patch v5 (kustomize 5): "error in remove for path: '…':
                    // Unable to remove nonexistent key: securityContext: missing value".
                    "Unable to remove nonexistent key",
                    "Unable to access invalid index",
                ],
                Cause::JsonPatch,
            ),
            (
                &["unable to find one of 'kustomization.yaml'"],
                Cause::NotAKustomization,
            ),
            (&["cycle detected"], Cause::Cycle),
            (&["expected kind"], Cause::ComponentKind),
            (
                &[
                    "must specify a target for JSON patch",
                    "must specify the target name",
                    "must specify one of patch and path",
                    "unable to parse SM or JSON patch",
                    "illegally qualifies",
                ],
                Cause::InvalidPatch,
            ),
            (
                &[
                    "invalid Kustomization",
                    "kustomization.yaml is empty",
                    "Found multiple kustomization files",
                    "must specify --enable-helm",
                ],
                Cause::InvalidKustomization,
            ),
            (
                &[
                    "missing Resource metadata",
                    "already defined at line",
                    "duplicate merge key",
                    "missing metadata.name",
                    "missing kind in object",
                    "MalformedYAMLError",
                ],
                Cause::InvalidResource,
            ),
            (
                &["error parsing regexp", "unable to parse requirement"],
                Cause::InvalidTarget,
            ),
            // A `configurations` file's unknown field (kustomize 5.4 and later).
            (
                &[super::configurations::UNKNOWN_FIELD],
                Cause::InvalidKustomization,
            ),
            (&["no such file or directory"], Cause::MissingResource),
        ];
        table
            .iter()
            .find(|(needles, _)| needles.iter().any(|n| stderr.contains(n)))
            .map(|&(_, cause)| cause)
    }
}

/// Something the build could not see, for `--verbose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub message: String,
    pub origin: Origin,
}

/// Held in `SmolStr`s: each namespace, prefix or suffix a build sets remembers every resource's
/// identity, and five `String`s allocated for each were a tenth of a large build.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResId {
    pub group: SmolStr,
    pub version: SmolStr,
    pub kind: SmolStr,
    pub name: SmolStr,
    /// Kustomize's effective namespace: `default` when unset, a marker for cluster-scoped kinds.
    pub namespace: SmolStr,
}

const CLUSTER_SCOPED: &str = "_non_namespaceable_";

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, none: &'static str| {
            if s.is_empty() {
                none.to_string()
            } else {
                s.to_string()
            }
        };
        let namespace = if self.namespace == CLUSTER_SCOPED {
            "[noNs]".to_string()
        } else {
            self.namespace.to_string()
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            namespace
        )
    }
}

/// One resource of a build.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The object; for kinds nothing reads, only `apiVersion`, `kind` and `metadata` are read,
    /// the rest as far as a patch reaches into it ([`Value::Unread`]).
    pub node: Arc<Node>,
    /// Earlier identities (before namespace, prefix, suffix or a name-changing patch).
    previous: Vec<ResId>,
    /// Something this model does not follow may have changed it: nothing is concluded from its
    /// content (a JSON patch that does not apply to it).
    pub uncertain: bool,
    /// Something this model does not follow (`transformers`, `replacements`) may have renamed
    /// it: nothing is concluded from its identity (two objects with one, a patch that finds
    /// none).
    may_be_renamed: bool,
    /// Made by a `configMapGenerator` or `secretGenerator`, or merged into by one: it takes part
    /// in the build's identity checks, but its data (and the hash kustomize adds to its name) is
    /// not modelled, so it leaves the build unseen, as one the real kustomize builds does.
    generated: bool,
}

#[derive(Debug, Default)]
pub struct Build {
    pub resources: Vec<Resource>,
    /// Every file the build read: kustomizations, resources, patches, generators' inputs.
    pub read: BTreeSet<usize>,
    pub notes: Vec<Note>,
    /// Objects may be missing (a remote base, a path outside the repository).
    pub incomplete: bool,
    /// The files of the objects [`Build::set_aside_untracked`] dropped.
    pub untracked_files: BTreeSet<usize>,
}

impl Build {
    /// Drops the objects nothing reads once the build is done (the kinds [`is_tracked`] leaves
    /// out, when no `postBuild` substitution can change their kind), keeping which files they
    /// came from. Done on the thread that built them, it leaves the model's thread, which takes
    /// the builds in turn, less to read and to free.
    pub fn set_aside_untracked(&mut self) {
        let may_be_read = |resource: &Resource| {
            let (api_version, kind) = (resource.api_version(), resource.kind());
            is_tracked(api_version, kind) || api_version.contains('$') || kind.contains('$')
        };
        let (kept, set_aside): (Vec<Resource>, Vec<Resource>) = std::mem::take(&mut self.resources)
            .into_iter()
            .partition(may_be_read);
        self.untracked_files
            .extend(set_aside.iter().map(|resource| resource.node.origin.file()));
        self.resources = kept;
    }
}

/// Kinds Kubernetes serves cluster-wide: kustomize neither namespaces nor (for the first three
/// of its skip list) prefixes them. A `match`: every identity a build compares or hashes asks.
fn is_cluster_scoped_kind(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "StorageClass"
            | "PriorityClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "RuntimeClass"
            | "IngressClass"
            | "CertificateSigningRequest"
            | "PodSecurityPolicy"
            | "ComponentStatus"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "StorageVersion"
            | "SelfSubjectReview"
            | "TokenReview"
            | "SubjectAccessReview"
            | "SelfSubjectAccessReview"
            | "SelfSubjectRulesReview"
    )
}

/// An `apiVersion`'s group (empty for the core group) and version. The `/` is found by a loop
/// over the bytes: `rsplit_once` set up a reverse `memchr` for every identity read.
fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.bytes().rposition(|b| b == b'/') {
        Some(slash) => (&api_version[..slash], &api_version[slash + 1..]),
        None => ("", api_version),
    }
}

/// What selectors and identity checks read of a resource.
const IDENTITY_KEYS: &[&str] = &["apiVersion", "kind", "metadata"];

/// Whether a document holds nothing: a build skips it.
fn is_empty_document(yaml: &YamlFile, document: NodeId) -> bool {
    match &yaml.node(document).kind {
        NodeKind::Scalar { value, .. } => value.is_empty() || *value == "null" || *value == "~",
        NodeKind::Map { entries, .. } => entries.is_empty(),
        _ => false,
    }
}

/// What a build takes in of a document of a resource file.
enum Intake {
    /// An empty document: skipped.
    Nothing,
    /// A `kind: List`: its items, each an object.
    List,
    /// Not a map, or without a kind: the build fails.
    NoKind,
    Object(Reading),
}

/// How much of an object a build reads as it takes it in.
enum Reading {
    /// An image object: read whole for the model once built (`model::Contents`), and only as
    /// far as a patch reaches into it before; one tree shared by every build.
    ImageObject,
    /// A kind kept through the build ([`is_tracked`]).
    Whole,
    /// Its identity, the rest unread until a patch reaches in.
    Identity,
}

/// Whether kustomize finds no `metadata.name` in an object ("missing metadata.name in object"):
/// none, or empty or null. Not where the name is an alias or `metadata` merges another map in,
/// which this model does not follow.
fn lacks_name(object: &Node) -> bool {
    let unfollowed = |node: &Node| node.entries().iter().any(|entry| entry.key == "<<");
    if !matches!(object.value, Value::Map(_)) || unfollowed(object) {
        return false;
    }
    let Some(metadata) = object.get("metadata") else {
        return true;
    };
    match &metadata.value {
        Value::Map(_) if unfollowed(metadata) => false,
        Value::Map(_) => metadata
            .get("name")
            .is_none_or(|name| name.is_null() || name.str() == Some("")),
        Value::Scalar(_) => metadata.is_null() || metadata.str() == Some(""),
        _ => false,
    }
}

fn intake(yaml: &YamlFile, document: NodeId) -> Intake {
    if is_empty_document(yaml, document) {
        return Intake::Nothing;
    }
    let (api_version, kind) = api_version_and_kind(yaml, document);
    if kind == "List" {
        Intake::List
    } else if !yaml.is_map(document) || kind.is_empty() {
        Intake::NoKind
    } else {
        Intake::Object(reading(&api_version, &kind))
    }
}

/// An object's `apiVersion` and `kind`: as written, or where either is not, as a merge key gives
/// them (`<<: *object`, an item of a `kind: List` sharing another's), which only its tree shows.
fn api_version_and_kind(yaml: &YamlFile, object: NodeId) -> (Cow<'_, str>, Cow<'_, str>) {
    match (
        yaml.path_str(object, &["apiVersion"]),
        yaml.path_str(object, &["kind"]),
    ) {
        (Some(api_version), Some(kind)) => (api_version.into(), kind.into()),
        _ => {
            let merged = Node::from_yaml_reading(yaml, 0, object, IDENTITY_KEYS);
            let field = |key| Cow::Owned(merged.path_str(&[key]).unwrap_or_default().to_string());
            (field("apiVersion"), field("kind"))
        }
    }
}

fn reading(api_version: &str, kind: &str) -> Reading {
    if is_image_api(api_version) {
        Reading::ImageObject
    } else if is_tracked(api_version, kind) {
        Reading::Whole
    } else {
        Reading::Identity
    }
}

/// The objects of a file as a build takes them in, when that is each one's identity alone
/// (the rest unread, as [`Resource::read`] leaves it): what a file parsed for its
/// markers alone keeps of its tree, in file 0 until [`Node::set_file`] says which. `None`
/// where a build reads more at once (an image object, a kind kept whole, a `kind: List`) or
/// fails (a document without a kind): that file keeps its tree.
pub fn identities_alone(yaml: &YamlFile) -> Option<Box<[Arc<Node>]>> {
    yaml.documents
        .iter()
        .filter_map(|&document| match intake(yaml, document) {
            Intake::Nothing => None,
            Intake::Object(Reading::Identity) => Some(Some(Arc::new(Node::from_yaml_reading(
                yaml,
                0,
                document,
                IDENTITY_KEYS,
            )))),
            _ => Some(None),
        })
        .collect()
}

/// The end of the failure of a build on a document without a kind.
pub const NO_KIND: &str = "has no `kind`";

/// Whether a build that takes the file in fails on one of its documents (not a map, or without
/// a kind), as kustomize does ("missing Resource metadata"), and kustomize-controller's listing
/// of a folder without a kustomization file ("failed to decode Kubernetes YAML").
pub fn fails_to_take_in(yaml: &YamlFile) -> bool {
    (yaml.documents.iter()).any(|&document| matches!(intake(yaml, document), Intake::NoKind))
}

/// Kinds kept through the build, not set aside at its end: the image objects (read whole when
/// the model takes them in) and what the cluster model reads (kept whole).
pub fn is_tracked(api_version: &str, kind: &str) -> bool {
    let (group, _) = group_version(api_version);
    match group {
        "image.toolkit.fluxcd.io" | "source.toolkit.fluxcd.io" | "fluxcd.controlplane.io" => true,
        "kustomize.toolkit.fluxcd.io" => kind == "Kustomization",
        "helm.toolkit.fluxcd.io" => kind == "HelmRelease",
        "" => matches!(kind, "ConfigMap" | "Secret"),
        _ => false,
    }
}

impl Resource {
    /// An object of a resource file as a build takes it in: as much of it as `reading` says.
    fn read(
        sources: &Sources,
        yaml: &YamlFile,
        file: usize,
        object: NodeId,
        reading: Reading,
    ) -> Resource {
        let identity = || Node::from_yaml_reading(yaml, file, object, IDENTITY_KEYS);
        let node = match reading {
            Reading::ImageObject => sources.image_objects.get_or_read(file, object, identity),
            Reading::Whole => Arc::new(Node::from_yaml(yaml, file, object)),
            Reading::Identity => Arc::new(identity()),
        };
        Resource {
            node,
            previous: Vec::new(),
            uncertain: false,
            may_be_renamed: false,
            generated: false,
        }
    }

    /// A resource kustomize rendered, whole.
    pub(crate) fn from_node(node: Node) -> Resource {
        Resource::of(Arc::new(node))
    }

    fn of(node: Arc<Node>) -> Resource {
        Resource {
            node,
            previous: Vec::new(),
            uncertain: false,
            may_be_renamed: false,
            generated: false,
        }
    }

    /// The object a generator named `name` makes: its identity, labels and annotations.
    fn generated(generator: &Generator, name: &Text) -> Resource {
        let origin = generator.origin;
        let mut node = Node::empty_map(origin);
        node.set("apiVersion", origin, Node::scalar("v1", origin));
        node.set("kind", origin, Node::scalar(generator.kind, origin));
        let mut resource = Resource {
            node: Arc::new(node),
            previous: Vec::new(),
            uncertain: true,
            may_be_renamed: false,
            generated: true,
        };
        resource.set_metadata("name", name);
        if let Some(namespace) = &generator.namespace {
            resource.set_metadata("namespace", namespace);
        }
        resource.take_generated_metadata(generator);
        resource
    }

    /// The labels and annotations a generator gives its object, over those the object has.
    fn take_generated_metadata(&mut self, generator: &Generator) {
        for (key, pairs) in [
            ("labels", &generator.labels),
            ("annotations", &generator.annotations),
        ] {
            if !pairs.is_empty() {
                add_to_metadata(std::slice::from_mut(self), key, pairs, generator.origin);
            }
        }
    }

    /// The object, to change: a copy of its own when other renders share it.
    pub fn node_mut(&mut self) -> &mut Node {
        Arc::make_mut(&mut self.node)
    }

    pub fn api_version(&self) -> &str {
        self.node.path_str(&["apiVersion"]).unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.node.path_str(&["kind"]).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.node
            .path_str(&["metadata", "name"])
            .unwrap_or_default()
    }

    /// `metadata.namespace` as written (empty when unset).
    pub fn namespace(&self) -> &str {
        self.node
            .path_str(&["metadata", "namespace"])
            .unwrap_or_default()
    }

    /// Annotated `config.kubernetes.io/local-config` (any value but `false`): it takes part in
    /// the build (patches find it, its identity counts), but kustomize leaves it out of what the
    /// build outputs (`KustTarget.IgnoreLocal`, last of `makeCustomizedResMap`, through
    /// `Factory.DropLocalNodes`), so Flux never applies it.
    fn is_local_config(&self) -> bool {
        self.node
            .path(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .is_some_and(|value| value.str() != Some("false"))
    }

    fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped_kind(self.kind())
    }

    /// An ImagePolicy, ImageRepository or ImageUpdateAutomation.
    fn is_image_object(&self) -> bool {
        crate::flux::objects::kind_of(&self.node).is_some()
    }

    /// What identities are made of, found in one pass over the object's keys and one over its
    /// metadata's (the first of each key, as [`Node::get`] finds it): identities are read for
    /// every resource at every level of a build and for every patch, and a lookup per field
    /// searched the same keys again and again.
    fn fields(&self) -> Fields<'_> {
        let (mut api_version, mut kind, mut metadata) = (None, None, None);
        for entry in self.node.entries() {
            let slot = match entry.key.as_str() {
                "apiVersion" => &mut api_version,
                "kind" => &mut kind,
                "metadata" => &mut metadata,
                _ => continue,
            };
            slot.get_or_insert(&entry.value);
        }
        let (mut name, mut namespace) = (None, None);
        for entry in metadata.map(Node::entries).unwrap_or_default() {
            let slot = match entry.key.as_str() {
                "name" => &mut name,
                "namespace" => &mut namespace,
                _ => continue,
            };
            slot.get_or_insert(&entry.value);
        }
        fn text(node: Option<&Node>) -> &str {
            node.and_then(Node::str).unwrap_or_default()
        }
        Fields {
            api_version: text(api_version),
            kind: text(kind),
            name: text(name),
            namespace: text(namespace),
            metadata,
        }
    }

    /// The current identity, read in place: group, version, kind, name, effective namespace.
    fn identity(&self) -> (&str, &str, &str, &str, &str) {
        let fields = self.fields();
        let (group, version) = fields.group_version();
        let namespace = fields.effective_namespace();
        (group, version, fields.kind, fields.name, namespace)
    }

    pub fn current_id(&self) -> ResId {
        let (group, version, kind, name, namespace) = self.identity();
        ResId {
            group: SmolStr::new(group),
            version: SmolStr::new(version),
            kind: SmolStr::new(kind),
            name: SmolStr::new(name),
            namespace: SmolStr::new(namespace),
        }
    }

    /// The first identity the resource had.
    fn original_id(&self) -> ResId {
        self.previous
            .first()
            .cloned()
            .unwrap_or_else(|| self.current_id())
    }

    fn any_id_is(&self, id: &ResId) -> bool {
        // Compared in place: this runs for every patch without a target and every resource.
        self.previous.iter().any(|p| p == id) || {
            let (group, version, kind, name, namespace) = self.identity();
            id.group == group
                && id.version == version
                && id.kind == kind
                && id.name == name
                && id.namespace == namespace
        }
    }

    fn remember_id(&mut self) {
        let id = self.current_id();
        self.previous.push(id);
    }

    /// The build annotations in which kustomize's `StorePreviousId` records the earlier
    /// identities, each a comma-separated list that skips empty values.
    fn previous_id_annotations(&self) -> Vec<(&'static str, String)> {
        let list = |field: fn(&ResId) -> &SmolStr| {
            let values: Vec<&str> = self
                .previous
                .iter()
                .map(|id| field(id).as_str())
                .filter(|value| !value.is_empty())
                .collect();
            values.join(",")
        };
        [
            (
                "internal.config.kubernetes.io/previousNames",
                list(|id| &id.name),
            ),
            (
                "internal.config.kubernetes.io/previousNamespaces",
                list(|id| &id.namespace),
            ),
            (
                "internal.config.kubernetes.io/previousKinds",
                list(|id| &id.kind),
            ),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect()
    }

    /// Applies a JSON 6902 patch as kustomize does. Its build annotations are in
    /// `metadata.annotations` while the patch runs, so once an identity was stored there is a map
    /// to `add` to (and `copy`, `move` or `test` of the map see them); they leave the output, and
    /// kustomize's `SetAnnotations` after the patch drops a map left empty (or not a map).
    fn json6902(&mut self, ops: &Node, files: &[ScannedFile]) -> Result<(), String> {
        let held = self.previous_id_annotations();
        let origin = ops.origin;
        if !held.is_empty() {
            let metadata = self.node_mut().map_mut("metadata", origin);
            let annotations = metadata.map_mut("annotations", origin);
            for (key, value) in &held {
                annotations.set(key, origin, Node::string(value.as_str(), origin));
            }
        }
        let applied = patch::json6902(self.node_mut(), ops, files);
        if let Some(metadata) = self.node_mut().get_mut("metadata") {
            if let Some(annotations) = metadata.get_mut("annotations") {
                for (key, _) in &held {
                    annotations.remove(key);
                }
                // An alias or an unread node may hold entries: only what is known to be empty goes.
                let known = !matches!(annotations.value, Value::Alias | Value::Unread(_));
                if known && annotations.entries().is_empty() {
                    metadata.remove("annotations");
                }
            }
        }
        applied
    }

    fn set_metadata(&mut self, key: &str, value: &Text) {
        let origin = value.origin;
        self.node_mut().map_mut("metadata", origin).set(
            key,
            origin,
            Node::string(value.value.as_str(), origin),
        );
    }
}

/// The fields of a resource its identities and selectors read, as written.
struct Fields<'r> {
    api_version: &'r str,
    kind: &'r str,
    name: &'r str,
    /// `metadata.namespace` as written (empty when unset).
    namespace: &'r str,
    metadata: Option<&'r Node>,
}

impl<'r> Fields<'r> {
    fn group_version(&self) -> (&'r str, &'r str) {
        group_version(self.api_version)
    }

    /// Kustomize's effective namespace: `default` when unset, a marker for cluster-scoped kinds.
    fn effective_namespace(&self) -> &'r str {
        if is_cluster_scoped_kind(self.kind) {
            CLUSTER_SCOPED
        } else {
            match self.namespace {
                "" => "default",
                namespace => namespace,
            }
        }
    }
}

struct Renderer<'s, 'a> {
    sources: &'s Sources<'a>,
    /// The includes of the GitRepository the build's checkout is: what they hold is not here.
    includes: &'s [Include],
    /// Resource entries left out (see [`build_leaving_out_failed_entries`]).
    left_out: &'s [Origin],
    read: BTreeSet<usize>,
    /// A resource was added whose content is not read (nothing Flux-related in it): a patch
    /// that finds no target may be meant for it, as for one of a remote base (`incomplete`).
    opaque: bool,
    /// Folders being built, to stop on a cycle as kustomize does.
    stack: Vec<String>,
    notes: Vec<Note>,
    incomplete: bool,
    /// The `configurations` and `crds` fields built so far. kustomize merges a kustomization's
    /// transformer configuration into every kustomization that includes it, so the renames,
    /// namespaces and labels of those follow rules this model does not know either.
    merged_configurations: usize,
    /// Of those, the ones whose field specs may select an image object (a `crds` field, a
    /// `configurations` file that names no other kind, or one not read).
    merged_configurations_selecting_images: usize,
}

/// One entry of a GitRepository's `spec.include`: source-controller's `reconcileInclude` copies
/// the included GitRepository's artifact (its `fromPath`) to `toPath` of the checkout, which
/// defaults to the included GitRepository's name (`GitRepositoryInclude.GetToPath`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Include {
    /// The included GitRepository's name (in the including one's namespace).
    pub repository: String,
    /// `toPath`, relative to the artifact's root (the repository's), normalised.
    pub to_path: String,
}

impl Include {
    /// Whether `path` is what the included artifact holds: `toPath` or a path under it, when this
    /// repository has nothing there. `CopyToPath` (fluxcd/pkg artifact/storage) renames the
    /// included folder to `toPath`, which fails where the repository has content: it never merges.
    fn holds(&self, sources: &Sources, path: &str) -> bool {
        !self.to_path.is_empty()
            && (path == self.to_path || lies_under(path, &self.to_path))
            && sources.kind_of(&self.to_path) == PathKind::Missing
    }

    /// The one of `includes` whose artifact holds `path` of the checkout.
    pub fn holding<'i>(
        includes: &'i [Include],
        sources: &Sources,
        path: &str,
    ) -> Option<&'i Include> {
        includes.iter().find(|include| include.holds(sources, path))
    }
}

/// Builds the kustomization in `dir` (repository-relative) as `kustomize build` would.
pub fn build(sources: &Sources, dir: &str) -> Result<Build, BuildError> {
    build_with(sources, sources.kustomization(dir, None)?)
}

/// Builds a kustomization that is not a file of the repository: one kustomize-controller made
/// or changed for a Flux Kustomization.
pub fn build_with(sources: &Sources, kustomization: &Kustomization) -> Result<Build, BuildError> {
    build_with_includes(sources, kustomization, &[])
}

/// [`build_with`] in a checkout that `includes` fill: a path one of them holds is another
/// repository's content, unknown as a remote base's is.
pub fn build_with_includes(
    sources: &Sources,
    kustomization: &Kustomization,
    includes: &[Include],
) -> Result<Build, BuildError> {
    build_leaving_out(sources, kustomization, includes, &[])
}

/// Of a build that failed on a resource entry (a path that names nothing, a folder without a
/// kustomization file, a file that is not valid YAML), the build without the entries that fail
/// it, each left out in turn; `None` where another failure remains. Flux applies nothing of
/// the failed build and keeps what it applied before, which the rest of the build, transformed
/// as the kustomizations transform it, tells better than the files as written: a policy keeps
/// the namespace its folder's kustomization gives it (milung/ambulance-gitops, whose bot went on
/// updating the marker while the automation beside the policy was broken YAML). What was left
/// out makes the build incomplete.
pub fn build_leaving_out_failed_entries(
    sources: &Sources,
    kustomization: &Kustomization,
    includes: &[Include],
) -> Option<Build> {
    // Each round re-renders the whole build: a bound on what one broken tree costs.
    const ROUNDS: usize = 8;
    let mut left_out = Vec::new();
    for _ in 0..ROUNDS {
        match build_leaving_out(sources, kustomization, includes, &left_out) {
            Ok(build) => return (!left_out.is_empty()).then_some(build),
            Err(error)
                if matches!(
                    error.cause,
                    Cause::MissingResource | Cause::NotAKustomization | Cause::InvalidResource
                ) && !left_out.contains(&error.origin) =>
            {
                left_out.push(error.origin);
            }
            Err(_) => return None,
        }
    }
    None
}

fn build_leaving_out(
    sources: &Sources,
    kustomization: &Kustomization,
    includes: &[Include],
    left_out: &[Origin],
) -> Result<Build, BuildError> {
    let mut renderer = Renderer {
        sources,
        includes,
        left_out,
        read: BTreeSet::new(),
        opaque: false,
        stack: Vec::new(),
        notes: Vec::new(),
        incomplete: false,
        merged_configurations: 0,
        merged_configurations_selecting_images: 0,
    };
    let mut resources = renderer.build_kustomization(kustomization)?;
    resources.retain(|resource| !resource.generated && !resource.is_local_config());
    Ok(Build {
        resources,
        read: renderer.read,
        notes: renderer.notes,
        incomplete: renderer.incomplete,
        untracked_files: BTreeSet::new(),
    })
}

/// A field that adds to the transformer configuration kustomize merges upwards.
fn is_transformer_configuration(field: &str) -> bool {
    matches!(field, "configurations" | "crds")
}

/// A field whose transformers may give objects another name or namespace (a
/// `PrefixSuffixTransformer`, a `NamespaceTransformer`, a replacement into `metadata.name`).
fn may_rename(field: &str) -> bool {
    matches!(field, "transformers" | "replacements")
}

/// `dir/relative` normalised; `None` when it leaves the repository. Built in one string, its
/// parts found by a loop over the bytes (`split` and `rfind` looked for each `/` with `memchr`,
/// set up anew for parts a few bytes long): it runs for every entry of every kustomization each
/// build reads.
pub fn join(dir: &str, relative: &str) -> Option<String> {
    let mut joined = String::with_capacity(dir.len() + relative.len() + 1);
    let push = |joined: &mut String, part: &str| {
        if !joined.is_empty() {
            joined.push('/');
        }
        joined.push_str(part);
    };
    // The folders of kustomizations are written without empty parts: copied whole.
    if dir.starts_with('/') || dir.ends_with('/') || dir.contains("//") {
        for part in dir.split('/').filter(|part| !part.is_empty()) {
            push(&mut joined, part);
        }
    } else {
        joined.push_str(dir);
    }
    let bytes = relative.as_bytes();
    let mut start = 0;
    // `/` is ASCII: each part starts and ends on a character boundary.
    for end in (0..=bytes.len()).filter(|&at| bytes.get(at).is_none_or(|&b| b == b'/')) {
        let part = &relative[start..end];
        start = end + 1;
        match part {
            "" | "." => {}
            ".." => {
                if joined.is_empty() {
                    return None;
                }
                // Every part is non-empty: the last `/` ends the one before the last.
                let last = joined.bytes().rposition(|b| b == b'/').unwrap_or(0);
                joined.truncate(last);
            }
            other => push(&mut joined, other),
        }
    }
    Some(joined)
}

/// A resource or component entry that names a remote base (a URL, `github.com/...`, `git@...`).
fn is_remote(entry: &str) -> bool {
    // Not `contains("://")`: a substring search set up for every entry of every build.
    entry.as_bytes().windows(3).any(|three| three == b"://")
        || entry.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| entry.starts_with(host))
}

impl<'s, 'a> Renderer<'s, 'a> {
    fn error(cause: Cause, message: String, origin: Origin) -> BuildError {
        BuildError {
            cause,
            message,
            origin,
        }
    }

    fn build_kustomization(
        &mut self,
        kustomization: &Kustomization,
    ) -> Result<Vec<Resource>, BuildError> {
        if self.stack.contains(&kustomization.dir) {
            return Err(Self::error(
                Cause::Cycle,
                format!("`{}` includes itself", kustomization.dir),
                Origin::new(kustomization.file, Span::default()),
            ));
        }
        self.stack.push(kustomization.dir.clone());
        // What the model cannot see in a sibling's build (an unread file, a remote base) says
        // nothing of the identities in this one: kustomize builds a folder on its own, so a
        // patch here that finds no target is an error all the same. It counts again for the
        // build that includes both.
        let seen_outside = (
            std::mem::take(&mut self.opaque),
            std::mem::take(&mut self.incomplete),
        );
        let mut resources = Vec::new();
        let result = self.accumulate(kustomization, &mut resources);
        self.opaque |= seen_outside.0;
        self.incomplete |= seen_outside.1;
        self.stack.pop();
        result.map(|()| resources)
    }

    /// Kustomize's `accumulateTarget`: resources, generators' inputs, components, transformers.
    fn accumulate(
        &mut self,
        k: &Kustomization,
        resources: &mut Vec<Resource>,
    ) -> Result<(), BuildError> {
        self.read.insert(k.file);
        // kustomize loads the OpenAPI schema with the kustomization, before its resources.
        self.check_files_read(k, &["openapi.path"])?;
        let configurations_before = self.merged_configurations;
        let selecting_images_before = self.merged_configurations_selecting_images;
        // Kept as resources are added: rebuilding it for each entry made a kustomization of n
        // resources cost n² identities.
        // What the resources so far repeat among themselves is not this entry's to refuse.
        let (mut ids, _) = Ids::of(resources);
        for entry in &k.resources {
            if self.left_out.contains(&entry.origin) {
                self.incomplete = true;
                continue;
            }
            let added = self.add_resource(k, entry)?;
            append_all(resources, &mut ids, added, entry.origin, self.sources.files)?;
        }
        // kustomize's `accumulateTarget` loads the transformer configurations and CRDs right
        // before the generators run; the plugins and replacements as it runs them. Before 5.1 it
        // added the components first, from 5.1 on after the generators (kustomize #5170).
        if self.sources.components_first {
            self.add_components(k, resources)?;
        }
        self.check_files_read(k, &["configurations", "crds"])?;
        // kustomize-controller builds with kustomize's plugins off, Helm's chart inflation among
        // them (fluxcd/pkg's generator: `DisabledPluginConfig`): as `kubectl kustomize` without
        // `--enable-helm`, the generators fail.
        if let Some(origin) = k.helm_charts {
            return Err(Self::error(
                Cause::InvalidKustomization,
                "`helmCharts` needs kustomize's Helm support, which kustomize-controller builds without (kustomize: must specify --enable-helm)".to_string(),
                origin,
            ));
        }
        for generator in &k.generators {
            self.generate(k, generator, resources)?;
        }
        if !self.sources.components_first {
            self.add_components(k, resources)?;
        }
        self.transform(k, resources)?;
        self.check_files_read(
            k,
            &["generators", "transformers", "validators", "replacements"],
        )?;
        let merged = k
            .unmodelled
            .iter()
            .filter(|field| is_transformer_configuration(&field.value))
            .count();
        // A `configurations` file whose field specs all name other kinds leaves the image
        // objects as built (a Rollout's `images`: tleibert/pi-k3s-smarthome's dashy, whose file
        // hid the cluster's automation from every check).
        // So do replacements whose targets all select other kinds (kreativmonkey/homelab-gitops'
        // Ingress hosts and secrets, which hid an automation's failing template).
        let has = |name: &str| k.unmodelled.iter().any(|field| field.value == name);
        let configurations_spare = has("configurations")
            && self.files_of_field_all(k, "configurations", configurations::spares_image_objects);
        let replacements_spare = has("replacements")
            && k.inline_replacements_spare_image_objects
            && self.files_of_field_all(k, "replacements", replacements::file_spares_image_objects);
        let spares_image_objects = |field: &Text| match field.value.as_str() {
            "configurations" => configurations_spare,
            "replacements" => replacements_spare,
            _ => false,
        };
        let selecting_images = (k.unmodelled.iter())
            .filter(|field| is_transformer_configuration(&field.value))
            .filter(|field| !spares_image_objects(field))
            .count();
        let only_sparing = k.unmodelled.iter().all(spares_image_objects)
            && self.merged_configurations_selecting_images == selecting_images_before;
        let named = k
            .unmodelled
            .iter()
            .find(|field| is_transformer_configuration(&field.value))
            .or(k.unmodelled.first());
        if let Some(field) = named {
            let reach = if merged > 0 {
                "the objects this kustomization renders, and those of every kustomization that includes it, are taken as unknown"
            } else {
                "the objects this kustomization renders are taken as unknown"
            };
            let but = match (only_sparing, field.value.as_str()) {
                (false, _) => "",
                (true, "replacements") => {
                    ", but for the image objects, which its targets do not select"
                }
                (true, _) => ", but for the image objects, which its field specs do not select",
            };
            self.notes.push(Note {
                message: format!("`{}` is not modelled: {reach}{but}", field.value),
                origin: field.origin,
            });
        }
        if !k.unmodelled.is_empty() || self.merged_configurations > configurations_before {
            let renames = k.unmodelled.iter().any(|field| may_rename(&field.value));
            for resource in resources.iter_mut() {
                if only_sparing && resource.is_image_object() {
                    continue;
                }
                resource.uncertain = true;
                resource.may_be_renamed |= renames;
            }
        }
        self.merged_configurations += merged;
        self.merged_configurations_selecting_images += selecting_images;
        Ok(())
    }

    /// Kustomize's `accumulateComponents`: each component of `k` built over what `resources`
    /// holds so far.
    fn add_components(
        &mut self,
        k: &Kustomization,
        resources: &mut Vec<Resource>,
    ) -> Result<(), BuildError> {
        for entry in &k.components {
            if is_remote(&entry.value) {
                // kustomize fetches it as it fetches a remote base. A component changes what the
                // build holds so far: after one not read, any of it may be patched or renamed.
                self.unknown(
                    format!(
                        "remote component `{}` cannot be read offline; what it adds and changes is unknown",
                        entry.value
                    ),
                    entry.origin,
                );
                for resource in resources.iter_mut() {
                    resource.uncertain = true;
                    resource.may_be_renamed = true;
                }
                continue;
            }
            let Some(dir) = join(&k.dir, &entry.value) else {
                self.unknown(
                    format!("component `{}` is outside the repository", entry.value),
                    entry.origin,
                );
                continue;
            };
            if self.sources.kustomization_of(&dir).is_none()
                && self.note_if_included("component", &dir, entry)
            {
                continue;
            }
            let component = self.sources.kustomization(&dir, Some(entry.origin))?;
            if !component.is_component {
                return Err(Self::error(
                    Cause::ComponentKind,
                    format!("component `{dir}` is a Kustomization, not a Component"),
                    entry.origin,
                ));
            }
            self.stack.push(dir);
            let result = self.accumulate(component, resources);
            self.stack.pop();
            result?;
        }
        Ok(())
    }

    /// That the files these unmodelled fields of `k` read exist: what they do is not followed,
    /// but kustomize fails on one that names nothing. A remote one, or one outside the
    /// repository, is not known here.
    fn check_files_read(&mut self, k: &Kustomization, fields: &[&str]) -> Result<(), BuildError> {
        for (field, entry) in &k.read_by_unmodelled {
            if !fields.contains(field) || is_remote(&entry.value) {
                continue;
            }
            let path = join(&k.dir, &entry.value);
            if self.names_nothing(path.as_deref(), entry, &format!("`{field}` entry")) {
                return Err(Self::error(
                    Cause::MissingResource,
                    format!(
                        "`{field}` entry `{}` {}",
                        entry.value,
                        self.sources.absence(path.as_deref())
                    ),
                    entry.origin,
                ));
            }
            if *field == "configurations" && !self.sources.lenient_configurations {
                let file = path.and_then(|path| self.sources.by_path.get(path.as_str()).copied());
                if let Some(error) = file.and_then(|file| self.unknown_configuration_field(file)) {
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Whether every file `field` of `k` reads is read here and its first document (the one
    /// kustomize decodes) passes `test` (selects no image object: see [`configurations`] and
    /// [`replacements`]).
    fn files_of_field_all(&self, k: &Kustomization, field: &str, test: fn(&Node) -> bool) -> bool {
        (k.read_by_unmodelled.iter())
            .filter(|(read_by, _)| *read_by == field)
            .all(|(_, entry)| {
                let file = (!is_remote(&entry.value))
                    .then(|| join(&k.dir, &entry.value))
                    .flatten()
                    .and_then(|path| self.sources.by_path.get(path.as_str()).copied());
                (file.and_then(|file| self.first_document(file))).is_some_and(|root| test(&root))
            })
    }

    /// The first document of a parsed file, as a tree of the model.
    fn first_document(&self, file: usize) -> Option<Node> {
        let yaml = self.sources.files[file].tree().ok()?;
        Some(Node::from_yaml(&yaml, file, *yaml.documents.first()?))
    }

    /// The failure of kustomize 5.4 and later on a `configurations` file with a field its
    /// `TransformerConfig` does not have, in kustomize's words after the tool's.
    fn unknown_configuration_field(&mut self, file: usize) -> Option<BuildError> {
        self.read.insert(file);
        let root = self.first_document(file)?;
        let (key, origin) = super::configurations::unknown_field(&root)?;
        Some(Self::error(
            Cause::InvalidKustomization,
            format!(
                "`{key}` is no field of a `configurations` file, which kustomize 5.4 and later (Flux 2.3 and later) refuse: {} \"{key}\"",
                super::configurations::UNKNOWN_FIELD
            ),
            origin,
        ))
    }

    /// Kustomize's `runGenerators` for one `configMapGenerator` or `secretGenerator` entry: its
    /// inputs must exist, and its object joins the build as its `behavior` says (kustomize's
    /// `appendReplaceOrMerge`, which looks objects up by any identity they had).
    fn generate(
        &mut self,
        k: &Kustomization,
        generator: &Generator,
        resources: &mut Vec<Resource>,
    ) -> Result<(), BuildError> {
        for file in &generator.files {
            let path = join(&k.dir, &file.value);
            if self.names_nothing(path.as_deref(), file, "generator input") {
                return Err(Self::error(
                    Cause::MissingGeneratorInput,
                    format!(
                        "generator input `{}` {}",
                        file.value,
                        self.sources.absence(path.as_deref())
                    ),
                    file.origin,
                ));
            }
            // Its text is applied, as the generated object's data (a values file a HelmRelease
            // reads through `valuesFrom`): a marker in it answers to the clusters that build this.
            if let Some(&input) = path.and_then(|path| self.sources.by_path.get(path.as_str())) {
                self.read.insert(input);
            }
        }
        // kustomize refuses a generator without a name; nothing is concluded from one here.
        let Some(name) = &generator.name else {
            return Ok(());
        };
        let generated = Resource::generated(generator, name);
        let id = generated.current_id();
        let matches: Vec<usize> = (0..resources.len())
            .filter(|&i| resources[i].any_id_is(&id))
            .collect();
        let renamed = |i: &usize| resources[*i].may_be_renamed;
        let failure = match (generator.behavior, &matches[..]) {
            (Behavior::Create, []) => {
                resources.push(generated);
                return Ok(());
            }
            (Behavior::Merge | Behavior::Replace, &[index]) => {
                let target = &mut resources[index];
                target.take_generated_metadata(generator);
                target.uncertain = true;
                target.generated = true;
                return Ok(());
            }
            (Behavior::Merge | Behavior::Replace, []) if self.may_miss_identities(resources, "") => {
                return Ok(());
            }
            (behavior, matches) if matches.iter().any(renamed) => {
                for &i in matches {
                    resources[i].uncertain = true;
                }
                if behavior == Behavior::Create {
                    resources.push(generated);
                }
                return Ok(());
            }
            (Behavior::Create, _) => (
                Cause::DuplicateId,
                format!("{id} is generated by this entry and already defined in this build (kustomize: behavior must be merge or replace)"),
            ),
            (_, []) => (
                Cause::PatchTarget,
                format!("{id} is not in this build: the generator's `behavior` merges into or replaces an object that exists (kustomize: cannot merge or replace)"),
            ),
            (_, _) => (
                Cause::PatchTarget,
                format!("several objects of this build could take the generator's {id} (kustomize: found multiple objects that could accept merge)"),
            ),
        };
        Err(Self::error(failure.0, failure.1, generator.origin))
    }

    /// Whether objects of API group `group`, or names, may be in the build that the model does
    /// not see: a file whose content is not read, a remote base, an object something
    /// unmodelled may have renamed. An identity found nowhere is then no conclusion.
    fn may_miss_identities(&self, resources: &[Resource], group: &str) -> bool {
        self.may_miss_objects_of(group) || any_renamed(resources)
    }

    /// Whether objects of API group `group` may be in the build unseen: one of a remote base,
    /// or of a file whose content is not read, which holds no image or Flux object.
    fn may_miss_objects_of(&self, group: &str) -> bool {
        self.incomplete || (self.opaque && !files_writing_group_are_read(group))
    }

    fn unknown(&mut self, message: String, origin: Origin) {
        self.incomplete = true;
        self.notes.push(Note { message, origin });
    }

    /// Whether `path`, which `entry` names as a `what` (`None`: outside the repository), is
    /// known to name nothing: not on the disk, nor in an included artifact (then noted unknown,
    /// as a path outside the repository is unknown).
    fn names_nothing(&mut self, path: Option<&str>, entry: &Text, what: &str) -> bool {
        path.is_some_and(|path| {
            self.sources.kind_of(path) == PathKind::Missing
                && !self.note_if_included(what, path, entry)
        })
    }

    /// Whether `path`, which `entry` names as a `what`, is one an include holds: noted as
    /// unknown, as a remote base is (the build is incomplete).
    fn note_if_included(&mut self, what: &str, path: &str, entry: &Text) -> bool {
        let Some(include) = Include::holding(self.includes, self.sources, path) else {
            return false;
        };
        self.unknown(
            format!(
                "{what} `{}` lies in `{}`, where the checkout holds GitRepository `{}`'s included artifact: its content is unknown",
                entry.value, include.to_path, include.repository
            ),
            entry.origin,
        );
        true
    }

    /// The objects one `resources` entry adds.
    fn add_resource(
        &mut self,
        k: &Kustomization,
        entry: &Text,
    ) -> Result<Vec<Resource>, BuildError> {
        if is_remote(&entry.value) {
            self.unknown(
                format!(
                    "remote resource `{}` cannot be read offline; its objects are unknown",
                    entry.value
                ),
                entry.origin,
            );
            return Ok(Vec::new());
        }
        let Some(path) = join(&k.dir, &entry.value) else {
            self.unknown(
                format!(
                    "resource `{}` is outside the repository; its objects are unknown",
                    entry.value
                ),
                entry.origin,
            );
            return Ok(Vec::new());
        };
        if let Some(&file) = self.sources.by_path.get(path.as_str()) {
            return self.file_resources(file, entry.origin);
        }
        // A folder a kustomization was read from (most resources of a large repository) is
        // known without asking the disk.
        let kind = if self.sources.kustomization_of(&path).is_some() {
            PathKind::Dir
        } else {
            self.sources.kind_of(&path)
        };
        if kind == PathKind::File {
            // A manifest the byte search found nothing Flux-related in: no image object, no
            // Flux object, nothing a rule reads.
            self.opaque = true;
            Ok(Vec::new())
        } else if kind == PathKind::Dir {
            let child = self.sources.kustomization(&path, Some(entry.origin))?;
            if child.is_component {
                return Err(Self::error(
                    Cause::ComponentKind,
                    format!("resource `{path}` is a Component: list it under `components`"),
                    entry.origin,
                ));
            }
            self.build_kustomization(child)
        } else if self.note_if_included("resource", &path, entry) {
            Ok(Vec::new())
        } else {
            Err(Self::error(
                Cause::MissingResource,
                format!(
                    "resource `{}` {}",
                    entry.value,
                    self.sources.absence(Some(&path))
                ),
                entry.origin,
            ))
        }
    }

    /// The objects of one file: its documents, `kind: List` items expanded, empty ones skipped.
    /// Each must have a name, as kustomize loads it.
    fn file_resources(
        &mut self,
        file: usize,
        named_at: Origin,
    ) -> Result<Vec<Resource>, BuildError> {
        self.read.insert(file);
        let scanned = &self.sources.files[file];
        let resources = match &scanned.identities {
            Some(identities) => identities.iter().cloned().map(Resource::of).collect(),
            None => self.documents_of(file, named_at)?,
        };
        if let Some(nameless) = resources.iter().find(|r| lacks_name(&r.node)) {
            let path = scanned.source.path.as_str();
            let line = scanned
                .source
                .position(nameless.node.origin.span().start)
                .line;
            // The kustomization of a folder named as a file: loaded as an object, not built.
            let advice =
                if nameless.kind() == "Kustomization" && is_kustomization_name(file_name(path)) {
                    let dir = path.rsplit_once('/').map_or(".", |(dir, _)| dir);
                    format!(": list its folder (`{dir}`) instead, to build it")
                } else {
                    String::new()
                };
            return Err(Self::error(
                Cause::InvalidResource,
                format!(
                    "the {} at `{path}:{line}` has no `metadata.name`, which kustomize needs of every resource{advice}",
                    nameless.kind(),
                ),
                named_at,
            ));
        }
        Ok(resources)
    }

    /// The objects of a file whose tree it kept.
    fn documents_of(&self, file: usize, named_at: Origin) -> Result<Vec<Resource>, BuildError> {
        let scanned = &self.sources.files[file];
        let yaml = scanned.yaml.as_ref().map_err(|error| {
            let line = match error.kind {
                YamlErrorKind::Syntax => {
                    format!(" at line {}", scanned.source.position(error.offset).line)
                }
                _ => String::new(),
            };
            Self::error(
                Cause::InvalidResource,
                format!(
                    "`{}` is not valid YAML{line}: {}",
                    scanned.source.path, error.message
                ),
                named_at,
            )
        })?;
        let mut resources = Vec::new();
        for &document in &yaml.documents {
            if let Some((again, first)) = duplicate_key(yaml, document) {
                let line = |key: NodeId| scanned.source.position(yaml.node(key).span.start).line;
                let key = yaml.scalar(again).unwrap_or_default();
                return Err(Self::error(
                    Cause::InvalidResource,
                    format!(
                        "`{}` writes key `{key}` twice in one mapping (lines {} and {}){DUPLICATE_KEY}",
                        scanned.source.path,
                        line(first),
                        line(again),
                    ),
                    named_at,
                ));
            }
            match intake(yaml, document) {
                Intake::Nothing => {}
                Intake::List => {
                    for &item in yaml
                        .get(document, "items")
                        .map(|items| yaml.items(items))
                        .unwrap_or_default()
                    {
                        let (api_version, kind) = api_version_and_kind(yaml, item);
                        let reading = reading(&api_version, &kind);
                        resources.push(Resource::read(self.sources, yaml, file, item, reading));
                    }
                }
                Intake::NoKind => {
                    return Err(Self::error(
                        Cause::InvalidResource,
                        format!("a document of `{}` {NO_KIND}", scanned.source.path),
                        Origin::new(file, yaml.node(document).span),
                    ));
                }
                Intake::Object(reading) => {
                    let resource = Resource::read(self.sources, yaml, file, document, reading);
                    resources.push(resource);
                }
            }
        }
        Ok(resources)
    }

    fn transform(
        &mut self,
        k: &Kustomization,
        resources: &mut Vec<Resource>,
    ) -> Result<(), BuildError> {
        for patch in &k.patches_strategic_merge {
            if self.patch_from_include(k, patch, resources) {
                continue;
            }
            for document in self.patch_documents(k, patch)? {
                // Loaded as a resource, which needs a name.
                if document.path_str(&["metadata", "name"]).is_none() {
                    let message = "missing metadata.name in a strategic merge patch";
                    return Err(Self::error(
                        Cause::InvalidResource,
                        message.into(),
                        patch.origin,
                    ));
                }
                let unseen = |group: &str| self.may_miss_objects_of(group);
                apply_by_id(resources, &document, patch, self.sources.files, unseen)?;
            }
        }
        for patch in &k.patches {
            self.apply_patch(k, patch, resources, true)?;
        }
        if let Some(namespace) = k.namespace.as_ref().filter(|ns| !ns.value.is_empty()) {
            set_namespace(resources, namespace)?;
        }
        if let Some(prefix) = k.name_prefix.as_ref().filter(|p| !p.value.is_empty()) {
            rename(resources, prefix, true);
        }
        if let Some(suffix) = k.name_suffix.as_ref().filter(|s| !s.value.is_empty()) {
            rename(resources, suffix, false);
        }
        for labels in &k.labels {
            add_to_metadata(resources, "labels", &labels.pairs, labels.origin);
        }
        if let Some(annotations) = &k.common_annotations {
            add_to_metadata(
                resources,
                "annotations",
                &annotations.pairs,
                annotations.origin,
            );
        }
        for patch in &k.patches_json6902 {
            // Its transformer (PatchJson6902Transformer) refuses a target without a name, where
            // `patches` takes any selector; without a target kustomize panics.
            let name = (patch.target.as_ref()).and_then(|target| target.path_str(&["name"]));
            if name.is_none_or(str::is_empty) {
                return Err(Self::error(
                    Cause::InvalidPatch,
                    "a `patchesJson6902` target needs a `name` (a regular expression will do): kustomize fails \"must specify the target name\"".to_string(),
                    patch.target.as_ref().map_or(patch.origin, |target| target.origin),
                ));
            }
            self.apply_patch(k, patch, resources, false)?;
        }
        Ok(())
    }

    /// A `patches` (or `patchesJson6902`) entry: strategic merge or JSON 6902, by its content.
    /// `stores_id`: kustomize's `patches` (PatchTransformer) stores each JSON patch target's
    /// identity before patching it; the legacy `patchesJson6902` does not.
    fn apply_patch(
        &mut self,
        k: &Kustomization,
        patch: &Patch,
        resources: &mut Vec<Resource>,
        stores_id: bool,
    ) -> Result<(), BuildError> {
        if self.patch_from_include(k, patch, resources) {
            return Ok(());
        }
        let documents = self.patch_documents(k, patch)?;
        // An empty patch file: an empty JSON patch, which needs a target and changes nothing.
        if documents.is_empty() {
            if patch.target.is_none() {
                return Err(Self::error(
                    Cause::InvalidPatch,
                    "an empty patch file reads as a JSON patch, which needs a `target`".to_string(),
                    patch.origin,
                ));
            }
            return Ok(());
        }
        let is_json = documents.len() == 1 && documents[0].is_seq();
        // Empty, it reads as either.
        if is_json && documents[0].items().is_empty() {
            return Err(Self::error(
                Cause::InvalidPatch,
                "the patch illegally qualifies as both an SM and JSON patch".to_string(),
                patch.origin,
            ));
        }
        let target = patch
            .target
            .as_ref()
            .map(Target::parse)
            .transpose()
            .map_err(|message| Self::error(Cause::InvalidTarget, message, patch.origin))?;
        if is_json {
            let Some(target) = target else {
                return Err(Self::error(
                    Cause::InvalidPatch,
                    "a JSON patch needs a `target`".to_string(),
                    patch.origin,
                ));
            };
            for resource in resources.iter_mut() {
                if !selected(&target, resource) {
                    continue;
                }
                if stores_id {
                    resource.remember_id();
                }
                let applied = resource.json6902(&documents[0], self.sources.files);
                match applied {
                    // Its content is not known: the operation may apply to what kustomize holds.
                    Err(_) if resource.uncertain => {}
                    Err(message) => {
                        return Err(Self::error(Cause::JsonPatch, message, documents[0].origin))
                    }
                    Ok(()) => {}
                }
            }
            return Ok(());
        }
        if documents.iter().any(|d| !d.is_map()) {
            return Err(Self::error(
                Cause::InvalidPatch,
                "the patch is neither a strategic merge patch nor a JSON patch".to_string(),
                patch.origin,
            ));
        }
        // kustomize reads a strategic merge patch as an object, which names its kind and name.
        let names_its_object = |d: &Node| {
            d.path_str(&["kind"]).is_some() && d.path_str(&["metadata", "name"]).is_some()
        };
        if !documents.iter().all(names_its_object) {
            return Err(Self::error(
                Cause::InvalidPatch,
                "unable to parse SM or JSON patch: a strategic merge patch names its object's `kind` and `metadata.name`".to_string(),
                patch.origin,
            ));
        }
        match target {
            None => {
                for document in &documents {
                    let unseen = |group: &str| self.may_miss_objects_of(group);
                    apply_by_id(resources, document, patch, self.sources.files, unseen)?;
                }
            }
            Some(target) => {
                if documents.len() > 1 {
                    return Err(Self::error(
                        Cause::InvalidPatch,
                        "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field".to_string(),
                        patch.origin,
                    ));
                }
                let chosen: Vec<bool> = resources.iter().map(|r| selected(&target, r)).collect();
                let document = merged_part(&documents[0], patch);
                let mut index = 0;
                let mut result = Ok(());
                resources.retain_mut(|resource| {
                    let keep = if chosen[index] && result.is_ok() {
                        match merge(resource, &document, patch, self.sources.files) {
                            Ok(merged) => merged != Merged::Deleted,
                            Err(error) => {
                                result = Err(error);
                                true
                            }
                        }
                    } else {
                        true
                    };
                    index += 1;
                    keep
                });
                result?;
            }
        }
        Ok(())
    }

    /// Whether `patch` is a file an include holds: its content is unknown, and so is that of
    /// every object it may patch.
    fn patch_from_include(
        &mut self,
        k: &Kustomization,
        patch: &Patch,
        resources: &mut [Resource],
    ) -> bool {
        let PatchBody::File(file) = &patch.body else {
            return false;
        };
        let included = join(&k.dir, &file.value).is_some_and(|path| {
            !self.sources.by_path.contains_key(path.as_str())
                && self.note_if_included("patch file", &path, file)
        });
        if included {
            for resource in resources.iter_mut() {
                resource.uncertain = true;
            }
        }
        included
    }

    /// The documents of a patch: a file's, or the inline text's (origins inside the
    /// kustomization file).
    fn patch_documents(
        &mut self,
        k: &Kustomization,
        patch: &Patch,
    ) -> Result<Vec<Node>, BuildError> {
        match &patch.body {
            PatchBody::File(path) => {
                let joined = join(&k.dir, &path.value);
                let file = (joined.as_ref())
                    .and_then(|p| self.sources.by_path.get(p.as_str()).copied())
                    .ok_or_else(|| {
                        Self::error(
                            Cause::MissingPatch,
                            format!(
                                "patch file `{}` {}",
                                path.value,
                                self.sources.absence(joined.as_deref())
                            ),
                            path.origin,
                        )
                    })?;
                self.read.insert(file);
                let yaml = self.sources.files[file].tree().map_err(|error| {
                    Self::error(
                        Cause::InvalidPatch,
                        format!(
                            "patch `{}` is not valid YAML: {}",
                            path.value, error.message
                        ),
                        path.origin,
                    )
                })?;
                let documents = non_empty(
                    yaml.documents
                        .iter()
                        .map(|&d| Node::from_yaml(&yaml, file, d)),
                );
                // An empty file is an empty JSON patch to kustomize; comments alone are neither.
                if documents.is_empty() && !self.sources.files[file].source.text().trim().is_empty()
                {
                    return Err(Self::error(
                        Cause::InvalidPatch,
                        format!("patch `{}` illegally qualifies as both an SM and JSON patch: it holds only comments", path.value),
                        path.origin,
                    ));
                }
                Ok(documents)
            }
            PatchBody::Inline(node) => {
                let text = node.str().unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(Self::error(
                        Cause::InvalidPatch,
                        "the patch is empty: kustomize must be given one of `patch` and `path` (a block scalar indented no deeper than its key is empty)".to_string(),
                        node.origin,
                    ));
                }
                let source = SourceFile::new(String::new(), text.to_string());
                let yaml = YamlFile::parse(&source).map_err(|error| {
                    Self::error(
                        Cause::InvalidPatch,
                        format!("the patch is not valid YAML: {}", error.message),
                        node.origin,
                    )
                })?;
                let file = node.origin.file();
                let map = InlineMap::new(&self.sources.files[file].source, node);
                let documents = non_empty(yaml.documents.iter().map(|&d| {
                    let mut tree = Node::from_yaml(&yaml, file, d);
                    map.relocate(&mut tree);
                    tree
                }));
                if documents.is_empty() {
                    return Err(Self::error(
                        Cause::InvalidPatch,
                        "the patch illegally qualifies as both an SM and JSON patch: it holds only comments".to_string(),
                        node.origin,
                    ));
                }
                Ok(documents)
            }
        }
    }
}

fn non_empty(documents: impl Iterator<Item = Node>) -> Vec<Node> {
    documents
        .filter(|d| !(d.is_null() || (d.is_map() && d.entries().is_empty())))
        .collect()
}

fn selected(target: &Target, resource: &Resource) -> bool {
    // Read in place: this runs for every patch and every resource of a build.
    let fields = resource.fields();
    let (group, version) = fields.group_version();
    let (name, namespace) = (fields.name, fields.effective_namespace());
    let (original_name, original_namespace) =
        resource.previous.first().map_or((name, namespace), |id| {
            (id.name.as_str(), id.namespace.as_str())
        });
    let metadata = fields.metadata;
    let lookup =
        |map: &'static str| move |key: &str| metadata.and_then(|m| m.path_str(&[map, key]));
    target.matches(&Candidate {
        group,
        version,
        kind: fields.kind,
        names: [original_name, name],
        namespaces: [original_namespace, namespace],
        labels: &lookup("labels"),
        annotations: &lookup("annotations"),
    })
}

/// Whether something unmodelled may have renamed one of the resources.
fn any_renamed(resources: &[Resource]) -> bool {
    resources.iter().any(|resource| resource.may_be_renamed)
}

/// A strategic merge patch without a target goes to the one resource whose identity, present or
/// past, is the patch's own.
fn apply_by_id(
    resources: &mut Vec<Resource>,
    document: &Node,
    patch: &Patch,
    files: &[ScannedFile],
    unseen: impl Fn(&str) -> bool,
) -> Result<(), BuildError> {
    let probe = Resource::from_node(document.clone());
    let id = probe.current_id();
    let unseen = unseen(&id.group) || any_renamed(resources);
    let matches: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.any_id_is(&id))
        .map(|(i, _)| i)
        .collect();
    if matches.is_empty() && unseen {
        // Its target may be a resource whose content is not read, one of a remote base, or one
        // renamed by what the model does not follow.
        return Ok(());
    }
    if matches.len() > 1 && matches.iter().any(|&i| resources[i].may_be_renamed) {
        // Some of them may have another name by now: which one kustomize patches is not known.
        for &i in &matches {
            resources[i].uncertain = true;
        }
        return Ok(());
    }
    let [index] = matches[..] else {
        let how = if matches.is_empty() {
            "no matches"
        } else {
            "multiple matches"
        };
        return Err(BuildError {
            cause: Cause::PatchTarget,
            message: format!("{how} for the patch's target {id}"),
            origin: document.origin,
        });
    };
    let document = merged_part(document, patch);
    if merge(&mut resources[index], &document, patch, files)? == Merged::Deleted {
        resources.remove(index);
    }
    Ok(())
}

/// What of a strategic merge patch is merged: the patch's name, namespace and kind never change
/// the target unless the patch allows it. Worked out once for all the patch's targets.
fn merged_part(document: &Node, patch: &Patch) -> Node {
    let mut document = document.clone();
    if let Some(metadata) = document.get_mut("metadata") {
        if !patch.allow_name_change {
            metadata.remove("name");
        }
        metadata.remove("namespace");
    }
    if !patch.allow_kind_change {
        document.remove("kind");
    }
    document.remove("apiVersion");
    document
}

/// Kustomize's `ApplySmPatch` of a patch's [`merged_part`].
fn merge(
    resource: &mut Resource,
    document: &Node,
    patch: &Patch,
    files: &[ScannedFile],
) -> Result<Merged, BuildError> {
    if patch.allow_name_change || patch.allow_kind_change {
        resource.remember_id();
    }
    let kind = resource.node.get("kind").cloned();
    let api_version = resource.node.get("apiVersion").cloned();
    let name = resource.node.path(&["metadata", "name"]).cloned();
    let namespace = resource.node.path(&["metadata", "namespace"]).cloned();
    let merged = match patch::strategic_merge(resource.node_mut(), document, files) {
        Ok(merged) => merged,
        // Its content is not known: what fails here may apply to what kustomize holds.
        Err(_) if resource.uncertain => Merged::Kept { exact: false },
        Err(message) => {
            return Err(BuildError {
                cause: Cause::InvalidPatch,
                message,
                origin: document.origin,
            })
        }
    };
    let restore = |node: &mut Node, path: &[&str], value: Option<Node>| {
        let (last, parents) = path.split_last().expect("non-empty path");
        let mut parent = node;
        for key in parents {
            parent = parent.map_mut(key, Origin::default());
        }
        match value {
            Some(value) => parent.set(last, value.origin, value),
            None => {
                parent.remove(last);
            }
        }
    };
    if let Merged::Kept { exact } = merged {
        resource.uncertain |= !exact;
        restore(resource.node_mut(), &["apiVersion"], api_version);
        if !patch.allow_kind_change {
            restore(resource.node_mut(), &["kind"], kind);
        }
        if !patch.allow_name_change {
            restore(resource.node_mut(), &["metadata", "name"], name);
        }
        restore(resource.node_mut(), &["metadata", "namespace"], namespace);
    }
    Ok(merged)
}

/// Adds one entry's resources; `ids` holds the identities of `resources`.
fn append_all(
    resources: &mut Vec<Resource>,
    ids: &mut Ids,
    added: Vec<Resource>,
    origin: Origin,
    files: &[ScannedFile],
) -> Result<(), BuildError> {
    ids.hashes.reserve(added.len());
    for resource in added {
        if !ids.add(&resource, resources) {
            // Both files named: the entry that adds the second copy may be far from either (a
            // generated listing that takes in another cluster's bootstrap, qaware/cloud-native-explab).
            let id = resource.identity();
            let path = |resource: &Resource| {
                files
                    .get(resource.node.origin.file())
                    .map_or("", |file| file.source.path.as_str())
            };
            let first = (resources.iter()).find(|other| other.identity() == id);
            let places = match first.map(path) {
                Some(first) if first != path(&resource) => {
                    format!(", in `{first}` and `{}`", path(&resource))
                }
                _ => format!(", both in `{}`", path(&resource)),
            };
            // Read whole on this failure alone: the copies' bodies are mostly unread.
            let content = |resource: &Resource| resource.node.read_whole(files).content_digest();
            let differ = first.is_some_and(|first| {
                matches!((content(first), content(&resource)), (Some(a), Some(b)) if a != b)
            });
            let (cause, what) = match differ {
                true => (Cause::DuplicateName, ", which differ"),
                false => (Cause::DuplicateId, ""),
            };
            return Err(BuildError {
                cause,
                message: format!("{} is defined twice in this build{places}{what} (kustomize: may not add resource with an already registered id)", resource.current_id()),
                origin,
            });
        }
        resources.push(resource);
    }
    Ok(())
}

/// The current identities of a build's resources, to refuse a second resource with one as
/// kustomize does. Kept as hashes computed in place: a build of thousands of resources built
/// and hashed five strings for each, at every level it passed (most of a large build's time);
/// the resources are compared only when a hash repeats.
struct Ids {
    hashes: std::collections::HashSet<u64, BuildHasherDefault<AlreadyHashed>>,
    hasher: foldhash::fast::RandomState,
}

/// The hasher of a set whose keys are hashes already: hashing them again (SipHash, the
/// default) was a fifth of the cost of counting a large build's identities.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else still hashes, if poorly.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

impl Ids {
    /// The identities of `resources`, and the first of them whose identity one before it
    /// certainly has (see [`Ids::add`]).
    fn of(resources: &[Resource]) -> (Ids, Option<&Resource>) {
        let mut ids = Ids {
            hashes: std::collections::HashSet::with_capacity_and_hasher(
                resources.len(),
                BuildHasherDefault::default(),
            ),
            hasher: Default::default(),
        };
        let mut repeated = None;
        for (index, resource) in resources.iter().enumerate() {
            if !ids.add(resource, &resources[..index]) {
                repeated = repeated.or(Some(resource));
            }
        }
        (ids, repeated)
    }

    /// Counts `resource` in; false when one of `earlier` (those counted before) certainly has
    /// its identity: neither may have been renamed by something the model does not follow.
    fn add(&mut self, resource: &Resource, earlier: &[Resource]) -> bool {
        let id = resource.identity();
        self.hashes.insert(self.hasher.hash_one(id))
            || resource.may_be_renamed
            || !earlier
                .iter()
                .any(|other| !other.may_be_renamed && other.identity() == id)
    }
}

fn set_namespace(resources: &mut [Resource], namespace: &Text) -> Result<(), BuildError> {
    for resource in resources.iter_mut() {
        resource.remember_id();
        if resource.is_cluster_scoped() {
            // kustomize's field specs rename a v1 Namespace to the namespace.
            if resource.kind() == "Namespace" && resource.api_version() == "v1" {
                resource.set_metadata("name", namespace);
            }
            continue;
        }
        resource.set_metadata("namespace", namespace);
    }
    match Ids::of(resources) {
        (_, Some(resource)) => Err(BuildError {
            cause: Cause::NamespaceCollapse,
            message: format!(
                "setting the namespace makes two resources {}",
                resource.current_id()
            ),
            origin: namespace.origin,
        }),
        (_, None) => Ok(()),
    }
}

fn rename(resources: &mut [Resource], affix: &Text, prefix: bool) {
    for resource in resources.iter_mut() {
        let original = resource.original_id();
        let skipped = matches!(
            original.kind.as_str(),
            "CustomResourceDefinition" | "Namespace"
        ) || (original.kind == "APIService"
            && original.group == "apiregistration.k8s.io");
        if skipped {
            continue;
        }
        resource.remember_id();
        let name = resource.name();
        let renamed = if prefix {
            format!("{}{name}", affix.value)
        } else {
            format!("{name}{}", affix.value)
        };
        let name_origin = resource
            .node
            .path(&["metadata", "name"])
            .map_or(affix.origin, |n| n.origin);
        resource.node_mut().map_mut("metadata", affix.origin).set(
            "name",
            name_origin,
            Node::string(renamed, name_origin),
        );
    }
}

pub(crate) fn add_to_metadata(
    resources: &mut [Resource],
    key: &str,
    pairs: &[(String, String)],
    origin: Origin,
) {
    for resource in resources.iter_mut() {
        let map = resource
            .node_mut()
            .map_mut("metadata", origin)
            .map_mut(key, origin);
        for (name, value) in pairs {
            map.set(name, origin, Node::string(value.as_str(), origin));
        }
    }
}

/// Where the lines of an inline patch (a YAML string in the kustomization) sit in the file: a
/// literal block maps line by line; any other style maps to the whole value.
struct InlineMap {
    whole: Origin,
    /// For each line of the patch text: its start in the text and in the file.
    lines: Vec<(usize, usize)>,
}

impl InlineMap {
    fn new(file: &SourceFile, node: &Node) -> InlineMap {
        let whole = node.origin;
        let mut lines = Vec::new();
        let is_literal = matches!(&node.value, Value::Scalar(s) if s.style == Style::Literal);
        let text = node.str().unwrap_or_default();
        if is_literal {
            let file_text = file.text();
            // The span may begin at the `|` indicator or at the first line of content.
            let at = whole.span().start.min(file_text.len());
            let body_start = if file_text[at..].starts_with('|') {
                file_text[at..]
                    .find('\n')
                    .map_or(file_text.len(), |i| at + i + 1)
            } else {
                file_text[..at].rfind('\n').map_or(0, |i| i + 1)
            };
            let indent = file_text[body_start..]
                .lines()
                .find(|line| !line.trim().is_empty())
                .map_or(0, |line| line.len() - line.trim_start_matches(' ').len());
            let mut file_line = body_start;
            let mut text_line = 0;
            for line in text.split_inclusive('\n') {
                let file_rest = &file_text[file_line.min(file_text.len())..];
                let file_line_len = file_rest.find('\n').map_or(file_rest.len(), |i| i + 1);
                lines.push((text_line, file_line + indent.min(file_line_len)));
                text_line += line.len();
                file_line += file_line_len;
            }
        }
        InlineMap { whole, lines }
    }

    fn offset(&self, text_offset: usize) -> usize {
        let index = self
            .lines
            .partition_point(|&(start, _)| start <= text_offset);
        match index.checked_sub(1).map(|i| self.lines[i]) {
            Some((text_start, file_start)) => file_start + (text_offset - text_start),
            None => self.whole.span().start,
        }
    }

    fn relocate(&self, node: &mut Node) {
        let span = |span: Span| {
            if self.lines.is_empty() {
                self.whole.span()
            } else {
                Span::new(self.offset(span.start), self.offset(span.end))
            }
        };
        node.origin = Origin::new(self.whole.file(), span(node.origin.span()));
        match &mut node.value {
            Value::Map(entries) => {
                for entry in entries {
                    entry.key_origin =
                        Origin::new(self.whole.file(), span(entry.key_origin.span()));
                    self.relocate(&mut entry.value);
                }
            }
            Value::Seq(items) => items.iter_mut().for_each(|item| self.relocate(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{join, Cause};
    use crate::workspace::workspace_of;

    /// The build of a folder written from `files`: its error's class and message, if any.
    fn build_of(files: &[(&str, &str)]) -> Result<usize, (Cause, String)> {
        let (_dir, workspace) = workspace_of(files);
        workspace
            .model
            .render(&workspace.file_set, &workspace.files, "")
            .map(|build| build.resources.len())
            .map_err(|error| (error.cause, error.message))
    }

    /// The results `kubectl kustomize` (kustomize v5.5) gives: a patch of no text names none,
    /// one of comments alone is neither kind, an empty file is an empty JSON patch.
    #[test]
    fn an_empty_patch_fails_as_kustomize_fails_it() {
        let policy = policy("app", "flux-system");
        let built = |patch: &str| {
            let kustomization = format!("resources: [policy.yaml]\npatches:\n{patch}");
            build_of(&[
                ("kustomization.yaml", kustomization.as_str()),
                ("policy.yaml", policy.as_str()),
                ("empty.yaml", ""),
                ("comments.yaml", "# nothing yet\n"),
            ])
        };
        let target = "  target:\n    kind: ImagePolicy\n";
        let failed = |patch: &str| {
            built(patch).map_err(|(cause, message)| {
                (
                    cause,
                    message.split(':').next().unwrap_or_default().to_string(),
                )
            })
        };
        let invalid = |why: &str| Err((Cause::InvalidPatch, why.to_string()));
        assert_eq!(
            failed(&format!("- patch: \"\"\n{target}")),
            invalid("the patch is empty")
        );
        assert_eq!(
            failed("- patch: \"  \\n\"\n"),
            invalid("the patch is empty")
        );
        assert_eq!(
            failed(&format!("- patch: |\n    # later\n{target}")),
            invalid("the patch illegally qualifies as both an SM and JSON patch")
        );
        assert_eq!(
            failed(&format!("- path: comments.yaml\n{target}")),
            invalid("patch `comments.yaml` illegally qualifies as both an SM and JSON patch")
        );
        assert_eq!(built(&format!("- path: empty.yaml\n{target}")), Ok(1));
        assert_eq!(
            failed("- path: empty.yaml\n"),
            invalid("an empty patch file reads as a JSON patch, which needs a `target`")
        );
        // A block scalar indented no deeper than its key leaves the patch's keys in the entry.
        assert_eq!(
            built("- patch: |\n  $patch: delete\n  kind: ImagePolicy\n"),
            Err((
                Cause::InvalidKustomization,
                "invalid Kustomization: json: unknown field \"$patch\"".to_string()
            ))
        );
    }

    fn policy(name: &str, namespace: &str) -> String {
        format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: {name}\n  namespace: {namespace}\n")
    }

    /// kustomize-controller builds source-controller's artifact, not the checkout: a file or
    /// folder an ignore pattern keeps out is missing there, and so is a kustomization file kept
    /// out (`kubectl kustomize` of the checkout builds all three).
    #[test]
    fn what_an_ignore_pattern_keeps_out_is_missing_from_the_build() {
        let (policy, other) = (policy("app", "flux-system"), policy("other", "flux-system"));
        let built = |ignore: &str| {
            build_of(&[
                (".sourceignore", ignore),
                ("kustomization.yaml", "resources: [policy.yaml, sub]\n"),
                ("policy.yaml", policy.as_str()),
                ("sub/kustomization.yaml", "resources: [other.yaml]\n"),
                ("sub/other.yaml", other.as_str()),
            ])
        };
        assert_eq!(built("# nothing\n"), Ok(2));
        let kept_out = |ignore: &str| {
            let (cause, message) = built(ignore).unwrap_err();
            assert!(message.ends_with(super::KEPT_OUT), "{message}");
            (cause, message.split(':').next().unwrap().to_string())
        };
        assert_eq!(
            kept_out("/policy.yaml\n"),
            (
                Cause::MissingResource,
                "resource `policy.yaml` is kept out of the artifact by `.sourceignore".into()
            )
        );
        assert_eq!(
            kept_out("/sub/\n").1,
            "resource `sub` is kept out of the artifact by `.sourceignore"
        );
        assert_eq!(
            kept_out("/sub/kustomization.yaml\n"),
            (
                Cause::NotAKustomization,
                "`sub/kustomization.yaml` is kept out of the artifact by `.sourceignore".into()
            )
        );
        // Let through again by a later line: built as before.
        assert_eq!(built("/sub/*\n!/sub/*.yaml\n"), Ok(2));
    }

    /// yaml.v3 refuses a key written twice in one mapping, in a small mapping or a large one,
    /// `1` and `"1"` alike; a key written once in each of two mappings is no duplicate.
    #[test]
    fn a_key_written_twice_in_one_mapping_fails_the_build() {
        let built = |spec: &str| {
            let policy = format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {{name: app, namespace: flux-system}}\nspec:\n{spec}");
            build_of(&[
                ("kustomization.yaml", "resources: [policy.yaml]\n"),
                ("policy.yaml", policy.as_str()),
            ])
        };
        let many: String = (0..20).map(|i| format!("  k{i}: v\n")).collect();
        assert_eq!(built(&many), Ok(1));
        assert_eq!(built("  a: {x: 1}\n  b: {x: 2}\n"), Ok(1));
        for (spec, key, lines) in [
            ("  a: 1\n  a: 2\n".to_string(), "a", "(lines 5 and 6)"),
            ("  1: a\n  \"1\": b\n".to_string(), "1", "(lines 5 and 6)"),
            (format!("{many}  k3: again\n"), "k3", "(lines 8 and 25)"),
            (
                "  a:\n    - {x: 1, x: 2}\n".to_string(),
                "x",
                "(lines 6 and 6)",
            ),
        ] {
            let (cause, message) = built(&spec).unwrap_err();
            assert_eq!(cause, Cause::InvalidResource, "{spec}");
            assert!(
                message.contains(&format!("key `{key}` twice in one mapping {lines}")),
                "{message}"
            );
        }
    }

    /// kustomize's PatchJson6902Transformer needs a target `name`, where `patches` takes any
    /// selector (kubectl kustomize 5.5: "must specify the target name").
    #[test]
    fn a_patches_json6902_target_needs_a_name() {
        let policy = policy("app", "flux-system");
        let built = |target: &str| {
            let kustomization = format!("resources: [policy.yaml]\npatchesJson6902:\n- patch: |-\n    - op: add\n      path: /metadata/x\n      value: y\n{target}");
            build_of(&[
                ("kustomization.yaml", kustomization.as_str()),
                ("policy.yaml", policy.as_str()),
            ])
        };
        assert_eq!(built("  target: {name: 'a.*'}\n"), Ok(1));
        assert_eq!(built("  target: {kind: ImagePolicy, name: app}\n"), Ok(1));
        for unnamed in [
            "  target: {kind: ImagePolicy}\n",
            "  target: {name: ''}\n",
            "",
        ] {
            let (cause, message) = built(unnamed).unwrap_err();
            assert_eq!(cause, Cause::InvalidPatch, "{unnamed}");
            assert!(
                message.contains("must specify the target name"),
                "{message}"
            );
        }
    }

    /// A `configurations` file is not modelled, so what a build including it renders is
    /// uncertain, in the kustomizations above too (kustomize merges it upwards), but for the
    /// image objects where its every field spec names another kind (tleibert/pi-k3s-smarthome:
    /// a HelmRelease's name reference hid the cluster's automation from every check).
    #[test]
    fn configurations_naming_other_kinds_leave_the_image_objects_certain() {
        let uncertain = |configuration: &str| {
            let policy = policy("app", "flux-system");
            let files = [
                ("kustomization.yaml", "resources: [dashy, policy.yaml]\n"),
                ("policy.yaml", policy.as_str()),
                (
                    "dashy/kustomization.yaml",
                    "resources: [release.yaml]\nconfigurations: [kustomizeconfig.yaml]\n",
                ),
                (
                    "dashy/release.yaml",
                    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: dashy\n",
                ),
                ("dashy/kustomizeconfig.yaml", configuration),
            ];
            let (_dir, workspace) = workspace_of(&files);
            let build = (workspace.model)
                .render(&workspace.file_set, &workspace.files, "")
                .unwrap();
            let mut kinds: Vec<(String, bool)> = (build.resources.iter())
                .map(|resource| (resource.kind().to_string(), resource.uncertain))
                .collect();
            kinds.sort();
            kinds
        };
        let of = |policy: bool| {
            vec![
                ("HelmRelease".to_string(), true),
                ("ImagePolicy".to_string(), policy),
            ]
        };
        let name_reference = "nameReference:\n  - kind: ConfigMap\n    version: v1\n    fieldSpecs:\n      - path: spec/values/config/name\n        kind: HelmRelease\n";
        assert_eq!(uncertain(name_reference), of(false));
        let images = "images:\n  - path: spec/template/spec/containers/image\n    kind: Rollout\n";
        assert_eq!(uncertain(images), of(false));
        // A spec without a kind selects every kind; one naming an image kind, that kind.
        assert_eq!(uncertain("images:\n  - path: spec/image\n"), of(true));
        assert_eq!(
            uncertain("commonLabels:\n  - path: spec/labels\n    kind: ImagePolicy\n"),
            of(true)
        );
        assert_eq!(
            uncertain("varReference:\n  - path: spec\n    group: image.toolkit.fluxcd.io\n"),
            of(true)
        );
        assert_eq!(uncertain("nameReference:\n  - kind: ImageRepository\n    fieldSpecs:\n      - path: spec/imageRepositoryRef/name\n        kind: ImagePolicy\n"), of(true));
        assert_eq!(uncertain("not a mapping\n"), of(true));
    }

    /// Of a build that fails on resource entries (a folder without a kustomization file, a file
    /// that is not valid YAML, a missing file), the build without them: the rest keeps the
    /// namespace its kustomization gives it. Another failure leaves nothing to stand in.
    #[test]
    fn a_build_failing_on_entries_is_built_again_without_them() {
        let salvaged = |apps: &str| {
            let policy = policy("app", "flux-system");
            let files = [
                ("kustomization.yaml", "resources: [apps, gone]\n"),
                ("gone/notes.yaml", "a: b\n"),
                ("apps/kustomization.yaml", apps),
                ("apps/policy.yaml", policy.as_str()),
                (
                    "apps/broken.yaml",
                    "apiVersion: image.toolkit.fluxcd.io/v1\nkind: [\n",
                ),
            ];
            let (_dir, workspace) = workspace_of(&files);
            let by_path = super::super::paths_of(&workspace.files);
            let model = &workspace.model;
            let sources = super::Sources::new(
                &workspace.file_set,
                &workspace.files,
                &by_path,
                &model.kustomizations,
                &model.referenced,
            );
            let root = sources.kustomization("", None).unwrap();
            assert!(super::build_with(&sources, root).is_err());
            super::build_leaving_out_failed_entries(&sources, root, &[]).map(|build| {
                assert!(build.incomplete);
                (build.resources.iter())
                    .map(|r| {
                        r.node
                            .path_str(&["metadata", "namespace"])
                            .map(str::to_string)
                    })
                    .collect::<Vec<_>>()
            })
        };
        let listing = "namespace: team\nresources: [policy.yaml, broken.yaml, missing.yaml]\n";
        assert_eq!(salvaged(listing), Some(vec![Some("team".to_string())]));
        let patched = format!("{listing}patches: [{{path: absent.yaml}}]\n");
        assert_eq!(salvaged(&patched), None);
    }

    /// `overlay`'s transformer renames its policy `app-overlay` (`kubectl kustomize` builds the
    /// root and patches it): the model, which keeps the name `app`, concludes nothing from a
    /// patch that finds no `app-overlay`, nor from the base's `app` beside it. Without the
    /// transformer both are kustomize's errors.
    #[test]
    fn what_a_transformer_may_rename_is_no_duplicate_and_no_missing_target() {
        let suffix = "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata: {name: s}\nsuffix: -overlay\nfieldSpecs: [{path: metadata/name}]\n";
        let patch = "patchesStrategicMerge:\n  - |-\n    apiVersion: image.toolkit.fluxcd.io/v1\n    kind: ImagePolicy\n    metadata: {name: app-overlay, namespace: flux-system}\n    spec: {policy: {semver: {range: '>=2.0.0'}}}\n";
        let build = |overlay: &str, root: &str| {
            build_of(&[
                ("kustomization.yaml", root),
                ("overlay/kustomization.yaml", overlay),
                ("overlay/suffix.yaml", suffix),
                ("overlay/policy.yaml", &policy("app", "flux-system")),
                ("base/kustomization.yaml", "resources: [policy.yaml]\n"),
                ("base/policy.yaml", &policy("app", "flux-system")),
            ])
        };
        let transformed = "resources: [policy.yaml]\ntransformers: [suffix.yaml]\n";
        let plain = "resources: [policy.yaml]\n";
        let with_patch = format!("resources: [overlay]\n{patch}");
        assert_eq!(build(transformed, &with_patch), Ok(1));
        assert_eq!(build(transformed, "resources: [overlay, base]\n"), Ok(2));
        assert_eq!(
            build(plain, &with_patch).map_err(|(cause, _)| cause),
            Err(Cause::PatchTarget)
        );
        assert_eq!(
            build(plain, "resources: [overlay, base]\n").map_err(|(cause, _)| cause),
            Err(Cause::DuplicateId)
        );
    }

    /// The second Flux Kustomization of the list takes its API, kind and spec from the first
    /// through a merge key: it is read whole, as the kind the model tracks that it is.
    #[test]
    fn an_object_whose_kind_comes_through_a_merge_key_is_read_as_that_kind() {
        let list = "apiVersion: v1\nkind: List\nitems:\n  - &first\n    \
                    apiVersion: kustomize.toolkit.fluxcd.io/v1\n    kind: Kustomization\n    \
                    metadata: {name: a, namespace: flux-system}\n    spec: {path: ./a}\n  \
                    - <<: *first\n    metadata: {name: b, namespace: flux-system}\n";
        let (_dir, workspace) = workspace_of(&[
            ("kustomization.yaml", "resources: [list.yaml]\n"),
            ("list.yaml", list),
        ]);
        let build = workspace
            .model
            .render(&workspace.file_set, &workspace.files, "")
            .unwrap();
        let b = build
            .resources
            .iter()
            .find(|resource| resource.node.path_str(&["metadata", "name"]) == Some("b"))
            .unwrap();
        assert_eq!(b.node.path_str(&["spec", "path"]), Some("./a"));
    }

    #[test]
    fn two_resources_with_one_identity_are_refused_as_kustomize_refuses_them() {
        let resources = "resources:\n  - a.yaml\n  - b.yaml\n  - c.yaml\n";
        let with_namespace = format!("namespace: flux-system\n{resources}");
        let (a, b, c) = (policy("a", "one"), policy("b", "two"), policy("a", "two"));
        let build = |kustomization: &str, c: &str| {
            build_of(&[
                ("kustomization.yaml", kustomization),
                ("a.yaml", &a),
                ("b.yaml", &b),
                ("c.yaml", c),
            ])
        };
        assert_eq!(build(resources, &c), Ok(3));
        // The namespace puts `a` of `one` and `a` of `two` in one namespace.
        let (cause, message) = build(&with_namespace, &c).unwrap_err();
        assert_eq!(cause, Cause::NamespaceCollapse);
        assert!(
            message.starts_with("setting the namespace makes two resources"),
            "{message}"
        );
        // The same object in two files.
        let (cause, message) = build(resources, &a).unwrap_err();
        assert_eq!(cause, Cause::DuplicateId);
        assert!(
            message.contains("is defined twice in this build"),
            "{message}"
        );
        // Another object given the same name: a copied file whose name was left as it was.
        let copied = format!("{a}spec:\n  imageRepositoryRef:\n    name: nginx\n");
        let (cause, message) = build(resources, &copied).unwrap_err();
        assert_eq!(cause, Cause::DuplicateName);
        assert!(message.contains("which differ"), "{message}");
    }

    /// Three clusters apply `infra`; `b` moves it to another namespace. `a` and `c` share what
    /// was read of the document; `b`'s object was read on its own.
    #[test]
    fn clusters_share_an_image_object_until_a_build_changes_it() {
        let sync = |cluster: &str, target_namespace: &str| {
            format!(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: flux-system, namespace: flux-system}}\nspec: {{url: ssh://git@example.org/fleet}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: flux-system, namespace: flux-system}}\nspec: {{path: ./clusters/{cluster}, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: infra, namespace: flux-system}}\nspec: {{path: ./infra, {target_namespace}sourceRef: {{kind: GitRepository, name: flux-system}}}}\n"
            )
        };
        let files = [
            ("clusters/a/sync.yaml", sync("a", "")),
            (
                "clusters/b/sync.yaml",
                sync("b", "targetNamespace: other, "),
            ),
            ("clusters/c/sync.yaml", sync("c", "")),
            ("infra/policy.yaml", policy("app", "flux-system")),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let (_dir, workspace) = workspace_of(&files);
        let policies: Vec<_> = workspace
            .index
            .objects
            .iter()
            .filter(|object| object.name.value == "app")
            .collect();
        assert_eq!(policies.len(), 3, "{policies:?}");
        let namespaces: Vec<_> = policies
            .iter()
            .map(|policy| (policy.cluster, policy.namespace.as_str()))
            .collect();
        assert_eq!(
            namespaces,
            [(0, "flux-system"), (1, "other"), (2, "flux-system")]
        );
        let Ok(yaml) = &workspace.files[policies[0].file()].yaml else {
            panic!()
        };
        assert_eq!(
            policies[0].origin().span(),
            yaml.node(yaml.documents[0]).span
        );
        assert!(std::ptr::eq(&**policies[0], &**policies[2]));
        assert!(!std::ptr::eq(&**policies[0], &**policies[1]));
    }

    /// `join` as a list of parts: the meaning the one-string version must keep.
    fn join_by_parts(dir: &str, relative: &str) -> Option<String> {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in relative.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                other => parts.push(other),
            }
        }
        Some(parts.join("/"))
    }

    #[test]
    fn paths_join_as_kustomize_resolves_them() {
        assert_eq!(
            join("apps/base", "app.yaml").as_deref(),
            Some("apps/base/app.yaml")
        );
        assert_eq!(
            join("apps/overlays/prod", "../../base/x").as_deref(),
            Some("apps/base/x")
        );
        assert_eq!(join("", "./a//b/").as_deref(), Some("a/b"));
        assert_eq!(join("a", "..").as_deref(), Some(""));
        assert_eq!(join("a", "../.."), None);
        assert_eq!(join("", ".."), None);
    }

    proptest! {
        #[test]
        fn one_string_join_is_the_join_of_parts(
            dir in "(a|bc|\\.|\\.\\.|/){0,6}",
            relative in "(a|bc|\\.|\\.\\.|/){0,8}",
        ) {
            prop_assert_eq!(join(&dir, &relative), join_by_parts(&dir, &relative));
        }
    }
}
