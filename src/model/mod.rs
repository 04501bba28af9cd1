//! What Flux applies: the Flux image objects as kustomize renders them. Every kustomization that
//! no other includes is a root and is built on its own (each usually feeds another cluster), so
//! objects of two roots are never duplicates of each other. A file that no kustomization reaches
//! is taken as written when no kustomization sits in or above its folder (a repository without
//! kustomizations works as plain files); otherwise nothing applies it and rules about its objects
//! stay silent. Markers are not here: Flux's automation edits files, not renders.

pub mod artifact;
pub mod chart;
pub mod cluster;
pub mod configurations;
pub mod external;
pub mod kustomization;
pub mod patch;
pub mod render;
pub mod replacements;
pub mod selector;
pub mod substitute;
pub mod tree;

use foldhash::{HashMap, HashSet};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cluster::Cluster;
use kustomization::{is_kustomization_name, Decoding, Kustomization, PatchBody};
use render::{join, Build, BuildError, Cause, Note, Sources};
use tree::{Node, Origin};

use crate::config::Config;
use crate::flux::objects::{
    is_image_api, kind_of, read_object, FluxObject, ObjectContent, Provenance,
};
use crate::flux::versions::{ClusterFlux, Fluxes, Repository};
use crate::walk::{FileSet, ListedPaths};
use crate::workspace::ScannedFile;

/// One render: a root kustomization's (or a Flux Kustomization's) build, or the files no
/// kustomization lists.
#[derive(Debug)]
pub struct Render {
    /// The folder built; `None` for the files taken as written.
    pub root: Option<String>,
    /// The cluster that applies it (0 in a repository without clusters).
    pub cluster: usize,
    /// Objects may be missing from it (a remote base, a path outside the repository): nothing
    /// is concluded from an object it lacks.
    pub incomplete: bool,
    /// Files whose objects it applies.
    pub files: BTreeSet<usize>,
    /// Files it reads besides (its kustomizations, patches and generators' inputs), where it
    /// renders an ImagePolicy: a marker among them means that copy of the policy.
    pub read_besides: BTreeSet<usize>,
}

#[derive(Debug, Default)]
pub struct Model {
    /// Every kustomization of the workspace by folder (or why it cannot be read).
    pub kustomizations: BTreeMap<String, Result<Kustomization, BuildError>>,
    /// Those kustomize 4 reads otherwise (see [`Kustomizations::as_kustomize_4`]).
    kustomizations_as_4: BTreeMap<String, Result<Kustomization, BuildError>>,
    /// The files they name.
    pub referenced: Referenced,
    pub renders: Vec<Render>,
    /// Kustomize build failures, each once, at its cause.
    pub build_errors: Vec<BuildError>,
    /// Failures that may be none of Flux's, each once, with the first cluster that meets it and
    /// why.
    pub unsure_build_errors: Vec<(BuildError, usize, Unsure)>,
    /// Those of `build_errors` that only kustomize before 5.1 makes, as Flux before 2.2 runs it
    /// (a kustomization's components added before its generators run): `kubectl kustomize`
    /// builds them.
    pub errors_before_kustomize_5_1: Vec<BuildError>,
    /// What the model could not see, for `--verbose`.
    pub notes: Vec<Note>,
    /// Files with image objects that a kustomization sits over but none lists: applied nowhere
    /// that the model can see.
    pub unapplied: Vec<usize>,
    /// The clusters, when the repository defines them (Flux Kustomizations, FluxInstances).
    pub clusters: Vec<Cluster>,
    /// With clusters, the files some cluster reaches (applies, or uses as a Helm chart); other
    /// files get no diagnostics. `None`: the repository is one cluster and every file counts.
    pub reached: Option<BTreeSet<usize>>,
    /// Without clusters, the ImagePolicies the charts of this repository that its HelmReleases
    /// install may render (with clusters, each cluster's own: `Cluster::chart_policies`).
    pub chart_policies: Vec<chart::ChartPolicy>,
    /// The ImageUpdateAutomations that commit elsewhere than this checkout, by cluster and
    /// object (see [`Model::other_checkout`]).
    other_checkouts: BTreeMap<(usize, Origin), cluster::OtherCheckout>,
}

/// Who builds what Flux applies: the native renderer, or the real kustomize (see `external`).
#[derive(Debug, Clone, Default)]
pub enum Builder {
    #[default]
    Native,
    External(external::External),
}

impl Builder {
    pub fn from_setting(setting: &crate::config::KustomizeSetting) -> Builder {
        use crate::config::KustomizeSetting;
        match setting {
            KustomizeSetting::Off => Builder::Native,
            KustomizeSetting::Auto => {
                external::External::find().map_or(Builder::Native, Builder::External)
            }
            KustomizeSetting::Binary(path) => {
                Builder::External(external::External::at(path.clone()))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Builder::Native => "the native renderer".to_string(),
            Builder::External(external) => external.describe(),
        }
    }

    /// One build, natively or by the real kustomize, with only the objects the model reads (see
    /// [`Build::set_aside_untracked`]). A build with remote bases stays native: the real one
    /// would reach the network. So does a Flux Kustomization's that names `components`:
    /// kustomize-controller adds them to the folder's own kustomization, before its patches,
    /// which a wrapper around the folder cannot do (its components come after). And so does one
    /// the real kustomize fails on a kustomization file that holds nothing while the native
    /// build took it as listing nothing (at `spec.path`, or anywhere for a cluster whose Flux is
    /// older than 2.2), on a bare path in `patches` the native build read as kustomize 4 does
    /// (for a cluster whose Flux is older than 2.0), on a map key that is no string (which some
    /// releases of kustomize-controller build), on a field it does not know in the file
    /// kustomize-controller rewrites without it, or on a remote file this machine cannot fetch.
    /// A native failure on a path an ignore pattern keeps out of the artifact stands.
    fn build<'w>(
        &self,
        sources: &Sources,
        native: Result<Build, BuildError>,
        wrapper: impl FnOnce() -> Result<external::Wrapper<'w>, BuildError>,
    ) -> Result<Build, BuildError> {
        let mut build = match (self, native) {
            (Builder::External(external), Ok(mut native)) if !native.incomplete => {
                let wrapper = wrapper()?;
                // kustomize's output names the files of its objects only: the kustomization
                // files, patches and generators' inputs it read too (whose markers image
                // automation updates) are those the native build read.
                let read_natively = native.read.clone();
                let natively = |why: &str| {
                    native.notes.push(Note {
                        message: format!("built natively, not by {}: {why}", external.describe()),
                        origin: wrapper.origin,
                    });
                    Ok(native)
                };
                let built = wrapper
                    .components
                    .is_empty()
                    .then(|| external.build(sources, &wrapper));
                match built {
                    // The native build read a kustomization file that holds nothing as one
                    // listing nothing, as the cluster's Flux (older than 2.2) does; the
                    // kustomize asked here is newer.
                    Some(Err(error)) if error.message.contains(kustomization::EMPTY) => natively(
                        "kustomize-controller builds a kustomization file that holds nothing as one listing nothing (at `spec.path` from Flux 2.3, anywhere before 2.2), which the real kustomize refuses",
                    ),
                    // Where the native build succeeds, only the file at `spec.path` can hold it:
                    // kustomize-controller drops it before kustomize reads the file.
                    Some(Err(error)) if error.message.contains(kustomization::UNKNOWN_FIELD) => {
                        natively(
                            "kustomize-controller drops the fields kustomize does not know from the kustomization at `spec.path` before it builds, which the real kustomize cannot be asked without editing the folder",
                        )
                    }
                    // The native build read a bare path in `patches` as a strategic merge patch
                    // file, as the cluster's Flux (older than 2.0) does (weaveworks/
                    // weave-gitops-clusters); the kustomize asked here is 5 or later.
                    Some(Err(error)) if error.message.contains(kustomization::BARE_PATCH_PATH) => {
                        natively(
                            "kustomize-controller before Flux 2.0 builds with kustomize 4, which reads a bare path in `patches` as a `patchesStrategicMerge` entry, where the real kustomize asked here refuses it",
                        )
                    }
                    // linuxmaniac/home-ops's `namespace` in `nameReference` entries, on Flux 2.2.
                    Some(Err(error))
                        if sources.lenient_configurations
                            && external::is_strict_configuration_failure(&error.message) =>
                    {
                        natively(
                            "kustomize-controller before Flux 2.3 builds with kustomize 5.3 or older, which ignores the fields it does not know in a `configurations` file; the real kustomize asked here refuses them (kubernetes-sigs/kustomize#5550)",
                        )
                    }
                    // sharonliao/fleet-infra's `tcp: {2222: …}` on Flux 0.13, which builds it.
                    Some(Err(error)) if external::is_non_string_key_failure(&error.message) => {
                        natively(
                            "the real kustomize asked here fails on a map key that is no string, which kustomize-controller builds before Flux 0.15 and with a kustomize that has the fix (kubernetes-sigs/kustomize#6223); which kustomize this cluster's Flux has is not known",
                        )
                    }
                    // A remote file (a generator's `https://` source) this machine cannot fetch,
                    // which kustomize-controller can (mgueye01/home-ops's Grafana dashboards).
                    Some(Err(error)) if external::is_fetch_failure(&error.message) => natively(
                        "the real kustomize could not fetch a remote file from this machine, which kustomize-controller fetches in the cluster",
                    ),
                    Some(built) => built.map(|mut built| {
                        built.read.extend(read_natively);
                        built
                    }),
                    None => natively(
                        "kustomize-controller adds `spec.components` to the folder's own kustomization, which the real kustomize cannot be asked without editing the folder",
                    ),
                }
            }
            // The real kustomize builds the checkout, which holds what an ignore pattern keeps
            // out of the artifact kustomize-controller builds.
            (Builder::External(_), Err(native_error))
                if native_error.message.ends_with(render::KEPT_OUT) =>
            {
                Err(native_error)
            }
            (Builder::External(external), Err(native_error)) => {
                match external.build(sources, &wrapper()?) {
                    // kustomize's words name no file of the repository: its failure is placed at
                    // the entry the native build found it at (not at `spec.path`).
                    Err(error) if native_error.cause.is_reported_as(error.cause) => {
                        Err(BuildError {
                            origin: native_error.origin,
                            cause: native_error.cause,
                            ..error
                        })
                    }
                    // A remote base this machine cannot fetch, which kustomize-controller can:
                    // the failure it meets is the one the native build found.
                    Err(error) if external::is_fetch_failure(&error.message) => Err(native_error),
                    built => built,
                }
            }
            (_, native) => native,
        }?;
        build.set_aside_untracked();
        Ok(build)
    }
}

/// The kustomizations of the workspace by folder; a folder with two kustomization files is
/// kustomize's error.
fn read_kustomizations(
    files: &[ScannedFile],
    jobs: usize,
) -> BTreeMap<String, Result<Kustomization, BuildError>> {
    let read = crate::parallel::map_ranges(files.len(), jobs, |indices| {
        indices
            .filter_map(|index| read_kustomization(files, index, Decoding::Strict))
            .collect::<Vec<_>>()
    });
    let mut read: Vec<_> = read.into_iter().flatten().collect();
    // Stable: the files of one folder stay in the workspace's order.
    read.sort_by_key(|(dir, ..)| *dir);
    let mut kustomizations: Vec<(String, Result<Kustomization, BuildError>)> =
        Vec::with_capacity(read.len());
    for (dir, index, read) in read {
        match kustomizations.last_mut() {
            Some((last, kustomization)) if last == dir => {
                *kustomization = Err(BuildError {
                    cause: Cause::InvalidKustomization,
                    message: format!(
                        "`{dir}` has two kustomization files; kustomize refuses to choose"
                    ),
                    origin: Origin::new(index, Default::default()),
                });
            }
            _ => kustomizations.push((dir.to_string(), read)),
        }
    }
    // Built from the sorted list at once, the map's nodes are full: inserted one by one in
    // order, each kept nearly half of its room (eleven values of over 400 bytes) empty.
    kustomizations.into_iter().collect()
}

/// The kustomization file at `files[index]` (with its folder), read; `None` for another file.
pub(crate) fn read_kustomization(
    files: &[ScannedFile],
    index: usize,
    decoding: Decoding,
) -> Option<(&str, usize, Result<Kustomization, BuildError>)> {
    let file = &files[index];
    let path = file.source.path.as_str();
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    // One an ignore pattern keeps out of the artifact is not there for kustomize-controller.
    if !is_kustomization_name(name) || !file.applied {
        return None;
    }
    let read = match &file.yaml {
        Ok(yaml) => match yaml.documents.first() {
            Some(&document) => {
                let root = Node::from_yaml(yaml, index, document);
                kustomization::read(dir, index, &root, decoding).map_err(|invalid| BuildError {
                    cause: Cause::InvalidKustomization,
                    message: invalid.message,
                    origin: invalid.origin,
                })
            }
            None => Err(BuildError {
                cause: Cause::InvalidKustomization,
                message: kustomization::EMPTY.to_string(),
                origin: Origin::new(index, Default::default()),
            }),
        },
        Err(error) => Err(BuildError {
            cause: Cause::InvalidKustomization,
            message: format!("not valid YAML: {}", error.message),
            origin: Origin::new(index, crate::source::Span::new(error.offset, error.offset)),
        }),
    };
    Some((dir, index, read))
}

/// A repository's kustomizations by folder (or why one cannot be read), and the files they
/// name: read once per load.
pub struct Kustomizations {
    pub by_dir: BTreeMap<String, Result<Kustomization, BuildError>>,
    /// Those kustomize 4 (Flux before 2.0.0-rc.4) reads otherwise, as it reads them: a bare
    /// path in `patches`, which kustomize 5 refuses, is a strategic merge patch file to it.
    pub as_kustomize_4: BTreeMap<String, Result<Kustomization, BuildError>>,
    pub referenced: Referenced,
}

impl Kustomizations {
    pub fn read(files: &[ScannedFile], jobs: usize) -> Kustomizations {
        let by_dir = read_kustomizations(files, jobs);
        let as_kustomize_4 = read_again(
            &by_dir,
            files,
            kustomization::BARE_PATCH_PATH,
            Decoding::Kustomize4,
        );
        // The files they name are read too, for the clusters whose kustomize reads them, and so
        // are those named by what kustomize-controller makes of one at a Flux Kustomization's
        // `spec.path` with a field kustomize does not know: the rewrite drops the field
        // (caruccio/flux-intro's `namePreffix`, beside a patch file).
        let rewritten = read_again(
            &by_dir,
            files,
            kustomization::UNKNOWN_FIELD,
            Decoding::DroppingUnknownFields,
        );
        let referenced = referenced_files(&[&by_dir, &as_kustomize_4, &rewritten], jobs);
        Kustomizations {
            by_dir,
            as_kustomize_4,
            referenced,
        }
    }
}

/// The kustomizations of `by_dir` that failed with `failure`, read again as `decoding` reads them.
fn read_again(
    by_dir: &BTreeMap<String, Result<Kustomization, BuildError>>,
    files: &[ScannedFile],
    failure: &str,
    decoding: Decoding,
) -> BTreeMap<String, Result<Kustomization, BuildError>> {
    (by_dir.iter())
        .filter_map(|(dir, read)| match read {
            Err(error) if error.message.contains(failure) => {
                let (_, _, read) = read_kustomization(files, error.origin.file(), decoding)?;
                Some((dir.clone(), read))
            }
            _ => None,
        })
        .collect()
}

/// Files the kustomizations name: resources that are not folders with a kustomization, and
/// patch files. What a build reads besides the kustomizations themselves.
#[derive(Debug, Default)]
pub struct Referenced {
    /// Once the model is built, only those that are patch files too (see
    /// [`Referenced::keep_what_builds_ask`]).
    pub resources: BTreeSet<String>,
    pub patches: BTreeSet<String>,
    /// `configurations` files, whose fields kustomize checks (see [`configurations`]).
    pub configurations: BTreeSet<String>,
    /// The objects that the targets of `patches` and `patchesJson6902` name by kind and name,
    /// each a word (`Deployment`, `echoservice`): the resources holding one are read, whatever
    /// else they hold.
    pub patched_objects: HashSet<ObjectKeys>,
}

impl Referenced {
    /// Drops the resources that are no patch files: the model asks of a patch file only whether
    /// it is a resource too, and every path a large repository names was held through the
    /// renders and the rules.
    fn keep_what_builds_ask(&mut self) {
        let patches = &self.patches;
        self.resources = std::mem::take(&mut self.resources)
            .into_iter()
            .filter(|path| patches.contains(path))
            .collect();
    }
}

/// The files named by the kustomizations of `readings`: by folder, then other readings of
/// some of those folders' files.
fn referenced_files(
    readings: &[&BTreeMap<String, Result<Kustomization, BuildError>>],
    jobs: usize,
) -> Referenced {
    let read: Vec<&Kustomization> = (readings.iter())
        .flat_map(|by_dir| by_dir.values().filter_map(|k| k.as_ref().ok()))
        .collect();
    // Looked up for every entry: by hash, where the ordered map compared a dozen paths.
    let folders: HashSet<&str> = readings[0].keys().map(String::as_str).collect();
    let path_of = |k: &Kustomization, entry: &kustomization::Text| {
        join(&k.dir, &entry.value).filter(|path| !folders.contains(path.as_str()))
    };
    // Joined on the threads; the sets are built from whole lists at the end, which costs a
    // fraction of inserting each path (thousands of kustomizations name the same files).
    let named = crate::parallel::map_slices(&read, jobs, |read| {
        let mut resources = Vec::new();
        let mut patches = Vec::new();
        let mut configurations = Vec::new();
        let mut patched_objects = Vec::new();
        for k in read {
            let targets = (k.patches.iter().chain(&k.patches_json6902))
                .filter_map(|patch| patch.target.as_ref())
                .filter_map(|target| {
                    let word = |field| target.path_str(&[field]).filter(|text| is_word(text));
                    Some(ObjectKeys::of(word("kind")?, word("name")?))
                });
            patched_objects.extend(targets);
            let patch_files = k
                .patches_strategic_merge
                .iter()
                .chain(&k.patches)
                .chain(&k.patches_json6902)
                .filter_map(|patch| match &patch.body {
                    PatchBody::File(path) => Some(path),
                    PatchBody::Inline(_) => None,
                });
            resources.extend(k.resources.iter().filter_map(|entry| path_of(k, entry)));
            patches.extend(patch_files.filter_map(|entry| path_of(k, entry)));
            configurations.extend(
                (k.read_by_unmodelled.iter())
                    .filter(|(field, _)| *field == "configurations")
                    .filter_map(|(_, entry)| path_of(k, entry)),
            );
        }
        (resources, patches, configurations, patched_objects)
    });
    let mut referenced = Referenced::default();
    for (resources, patches, configurations, patched_objects) in named {
        referenced.resources.extend(resources);
        referenced.patches.extend(patches);
        referenced.configurations.extend(configurations);
        referenced.patched_objects.extend(patched_objects);
    }
    referenced
}

/// Objects' kinds and names in one word, three of its 64 bits for each: what a patch target
/// names, matched against what each file the walk passed over writes, with no allocation for
/// any of them (a list for each was a megabyte of the 20,000-file tree's resident memory). A
/// key a set seems to hold may not be there (a file is then read for nothing); one it does not
/// hold is surely absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ObjectKeys(u64);

impl ObjectKeys {
    /// The set of one object.
    pub fn of(kind: &str, name: &str) -> ObjectKeys {
        use std::hash::BuildHasher;
        let hash = foldhash::fast::FixedState::default().hash_one((kind, name));
        ObjectKeys((0..3).fold(0, |bits, part| bits | 1 << ((hash >> (6 * part)) & 63)))
    }

    pub fn add(&mut self, keys: ObjectKeys) {
        self.0 |= keys.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set may hold every object of `keys`.
    pub fn may_hold(self, keys: ObjectKeys) -> bool {
        !keys.is_empty() && self.0 & keys.0 == keys.0
    }
}

/// Whether a patch target's field (a regular expression to kustomize) is a name as written,
/// which matches itself alone.
fn is_word(text: &str) -> bool {
    !text.is_empty() && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The image objects of the renders, in the order they are added. Clusters that apply one folder
/// (a shared `infrastructure`) render mostly the same objects: an object whose tree equals one
/// already read from the same document shares that one's content, so each is held and read once.
struct Objects<'c> {
    objects: Vec<FluxObject>,
    contents: &'c Contents,
}

type ReadTree = (Arc<Node>, Arc<ObjectContent>);

impl Objects<'_> {
    /// Adds the object a render made of `tree`, if it is an image object.
    fn add(
        &mut self,
        tree: Arc<Node>,
        files: &[ScannedFile],
        default_namespace: &str,
        provenance: Provenance,
    ) {
        if let Some(content) = self.contents.of(&tree, files, default_namespace) {
            self.objects.push(FluxObject::new(content, provenance));
        }
    }
}

/// The image objects' trees read so far by document, as the renders left them (parts no patch
/// reached still unread), each with what it was read as. Kept while the model is built. The
/// threads that build read their builds' objects here ([`Contents::read_ahead`]), so that the
/// model's thread, which takes the builds in turn while the others wait, finds them read.
#[derive(Default)]
pub struct Contents(Mutex<ReadTrees>);

/// The shapes read of each document: the first in the table itself, as most documents render
/// in one shape (a list for each document was a heap block of its own), the others after it.
#[derive(Default)]
struct ReadTrees {
    first: HashMap<Origin, ReadTree>,
    others: HashMap<Origin, Vec<ReadTree>>,
}

impl ReadTrees {
    /// What a tree of this shape was read as, if one was.
    fn content_of(&self, tree: &Arc<Node>) -> Option<Arc<ObjectContent>> {
        let same = |(read, _): &&ReadTree| Arc::ptr_eq(read, tree) || **read == **tree;
        let first = self.first.get(&tree.origin)?;
        let others = self.others.get(&tree.origin).into_iter().flatten();
        let (_, content) = std::iter::once(first).chain(others).find(same)?;
        Some(Arc::clone(content))
    }

    fn add(&mut self, tree: &Arc<Node>, content: &Arc<ObjectContent>) {
        let read = (Arc::clone(tree), Arc::clone(content));
        match self.first.entry(tree.origin) {
            Entry::Vacant(first) => {
                first.insert(read);
            }
            Entry::Occupied(_) => self.others.entry(tree.origin).or_default().push(read),
        }
    }
}

impl Contents {
    fn lock(&self) -> MutexGuard<'_, ReadTrees> {
        // Only ever added to: whatever panicked while it was held left it whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `tree` is, if it is an image object: read whole (the parts no patch reached from
    /// `files`, for as long as that takes) the first time its shape is met.
    fn of(
        &self,
        tree: &Arc<Node>,
        files: &[ScannedFile],
        default_namespace: &str,
    ) -> Option<Arc<ObjectContent>> {
        kind_of(tree)?;
        if let Some(content) = self.lock().content_of(tree) {
            return Some(content);
        }
        // Read without the lock held: builds on other threads go on meanwhile.
        let content = Arc::new(read_object(&tree.read_whole(files), default_namespace)?);
        let mut contents = self.lock();
        // Another thread may have read the same shape meanwhile.
        if let Some(content) = contents.content_of(tree) {
            return Some(content);
        }
        contents.add(tree, &content);
        Some(content)
    }

    /// Reads the image objects of a build where it was made, those that reach the model as they
    /// are: the model's thread applies `postBuild` substitution, when the build `substitutes`,
    /// which changes only trees with a `$`. A build of many (a folder of every policy, which
    /// the clusters share) is read on up to `jobs` threads: it may be the last of its round,
    /// the other threads idle.
    pub fn read_ahead(
        &self,
        build: &Result<Build, BuildError>,
        substitutes: bool,
        files: &[ScannedFile],
        default_namespace: &str,
        jobs: usize,
    ) {
        let trees: Vec<&Arc<Node>> = build
            .iter()
            .flat_map(|build| &build.resources)
            .map(|resource| &resource.node)
            .filter(|tree| {
                kind_of(tree).is_some() && !(substitutes && substitute::may_change(tree, files))
            })
            .collect();
        // Fewer are read on this thread alone: starting threads would cost more.
        const MANY: usize = 256;
        let jobs = if trees.len() < MANY { 1 } else { jobs };
        crate::parallel::map_slices(&trees, jobs, |trees| {
            for tree in trees {
                self.of(tree, files, default_namespace);
            }
        });
    }
}

/// What the charts HelmReleases install from this repository hold.
struct ChartFiles {
    files: Vec<usize>,
    mention_image_api: bool,
    policies: Vec<chart::ChartPolicy>,
}

impl ChartFiles {
    /// Of the charts in `chart_dirs` (subcharts included), each with the namespaces of the
    /// releases that install it.
    fn of(chart_dirs: &BTreeMap<String, BTreeSet<String>>, files: &[ScannedFile]) -> ChartFiles {
        let mut charts = ChartFiles {
            files: Vec::new(),
            mention_image_api: false,
            policies: Vec::new(),
        };
        for (dir, namespaces) in chart_dirs {
            let chart = files_under(files, dir);
            // Few files, read again only where they name the image API.
            for &file in &chart {
                if files[file].mentions_image_api {
                    charts.mention_image_api = true;
                    let policies = chart::policies_of(namespaces, &files[file]);
                    charts.policies.extend(policies);
                }
            }
            charts.files.extend(chart);
        }
        charts
    }
}

impl Model {
    /// What the clusters apply, each built as its Flux builds it. Which Flux a cluster runs is
    /// known from the files it applies, so once they are: where one runs a Flux older than 2.2
    /// and its kustomize builds something otherwise (a kustomization file holds nothing, or one
    /// has both components and generators), the model is built again with that kustomize for
    /// that cluster.
    pub fn build(
        tree: &FileSet,
        files: &[ScannedFile],
        yaml_paths: &ListedPaths,
        kustomizations: Kustomizations,
        config: &Config,
        jobs: usize,
    ) -> (Model, Vec<FluxObject>) {
        let inputs = Inputs {
            tree,
            files,
            yaml_paths,
            default_namespace: &config.default_namespace,
            builder: Builder::from_setting(&config.kustomize),
            jobs,
        };
        let mut kustomizations = kustomizations;
        kustomizations.referenced.keep_what_builds_ask();
        let (mut model, objects) =
            Model::build_as(&inputs, kustomizations, &OlderKustomize::default());
        let old_kustomize = OlderKustomize::for_old_flux(&model, tree, files, config, jobs);
        if !old_kustomize.anywhere() {
            return (model, objects);
        }
        let kustomizations = Kustomizations {
            by_dir: std::mem::take(&mut model.kustomizations),
            as_kustomize_4: std::mem::take(&mut model.kustomizations_as_4),
            referenced: std::mem::take(&mut model.referenced),
        };
        let first_errors = std::mem::take(&mut model.build_errors);
        drop((model, objects));
        let (mut model, objects) = Model::build_as(&inputs, kustomizations, &old_kustomize);
        let notes = old_kustomize.notes(&model, &first_errors);
        model.notes.extend(notes);
        model.errors_before_kustomize_5_1 = model
            .build_errors
            .iter()
            .filter(|error| !first_errors.contains(error))
            .cloned()
            .collect();
        (model, objects)
    }

    fn build_as(
        &Inputs {
            tree,
            files,
            yaml_paths,
            default_namespace,
            ref builder,
            jobs,
        }: &Inputs,
        Kustomizations {
            by_dir: kustomizations,
            as_kustomize_4,
            referenced,
        }: Kustomizations,
        old_kustomize: &OlderKustomize,
    ) -> (Model, Vec<FluxObject>) {
        let by_path = paths_of(files);
        let sources = Sources::new(tree, files, &by_path, &kustomizations, &referenced);
        let listing_nothing = (old_kustomize.before_5_1)
            .anywhere()
            .then(|| OlderKustomize::listing_nothing(&kustomizations));
        let read_by_kustomize_4 = (listing_nothing.as_ref())
            .filter(|_| old_kustomize.kustomize_4.anywhere())
            .map(|listing_nothing| {
                let mut read = listing_nothing.clone();
                read.extend(as_kustomize_4.clone());
                read
            });
        let older_sources = |kustomizations| {
            let mut sources = Sources::new(tree, files, &by_path, kustomizations, &referenced);
            sources.components_first = true;
            sources.lenient_configurations = true;
            sources
        };
        let old_sources = listing_nothing.as_ref().map(older_sources);
        let kustomize_4_sources = read_by_kustomize_4.as_ref().map(older_sources);
        let lenient_sources = old_kustomize.before_5_4.anywhere().then(|| {
            let mut sources = Sources::new(tree, files, &by_path, &kustomizations, &referenced);
            sources.lenient_configurations = true;
            sources
        });
        // The sources of the oldest kustomize that `runs` says a cluster (or the repository)
        // runs.
        let sources_for = |runs: &dyn Fn(&Runners) -> bool| {
            [
                (&kustomize_4_sources, &old_kustomize.kustomize_4),
                (&old_sources, &old_kustomize.before_5_1),
                (&lenient_sources, &old_kustomize.before_5_4),
            ]
            .into_iter()
            .find_map(|(older, runners)| older.as_ref().filter(|_| runs(runners)))
            .unwrap_or(&sources)
        };
        let sources_of_cluster =
            |cluster: usize| sources_for(&|runners| runners.clusters.contains_key(&cluster));
        let mut model = Model::default();
        let contents = Contents::default();
        let mut objects = Objects {
            objects: Vec::new(),
            contents: &contents,
        };
        let mut discovery_notes = Vec::new();
        let charts_here = std::sync::OnceLock::new();
        let (clusters, repositories) = cluster::discover(
            cluster::ClusterSources {
                all: &sources,
                of_cluster: &sources_of_cluster,
                contents: &contents,
                charts_here: &charts_here,
            },
            yaml_paths,
            default_namespace,
            builder,
            jobs,
            &mut discovery_notes,
            |render| {
                let path = render.kustomization.path.clone();
                let failure = if render.kustomization.path_is_guessed() {
                    Failure::NoneOfFlux
                } else if render.cluster_guessed {
                    Failure::Unsure(Unsure::GuessedCluster)
                } else if let Some(input) = input_left_out_of_git(&render, &sources) {
                    Failure::Unsure(Unsure::InputLeftOutOfGit(input))
                } else {
                    Failure::Flux
                };
                model.add_render(
                    &mut objects,
                    render.result,
                    || (render.fallback, render.salvaged),
                    Built {
                        root: Some(path),
                        cluster: render.cluster,
                        failure,
                    },
                    files,
                    default_namespace,
                );
            },
        );
        // What discovery noted comes before what the builds noted.
        discovery_notes.append(&mut model.notes);
        model.notes = discovery_notes;
        match clusters {
            Some(mut clusters) => {
                let mut reached = BTreeSet::new();
                for cluster in &mut clusters {
                    reached.extend(cluster.files.iter().copied());
                    // What a HelmRelease installs from its chart's folder includes the subcharts
                    // it pulls in from this repository.
                    cluster.chart_dirs =
                        chart::with_local_dependencies(&cluster.chart_dirs, files, &by_path);
                    let charts = ChartFiles::of(&cluster.chart_dirs, files);
                    cluster.charts_may_define_image_objects = charts.mention_image_api;
                    cluster.chart_policies = charts.policies;
                    reached.extend(charts.files);
                    // The policies of this repository's charts it installs from a Helm
                    // repository, by name: their folders are not what it applies.
                    let released: BTreeMap<String, BTreeSet<String>> = (cluster.released_charts)
                        .iter()
                        .flat_map(|(name, namespaces)| {
                            (charts_here.get().and_then(|by_name| by_name.get(name)))
                                .into_iter()
                                .flatten()
                                .map(|folder| (folder.clone(), namespaces.clone()))
                        })
                        .collect();
                    (cluster.chart_policies).extend(ChartFiles::of(&released, files).policies);
                }
                model.reached = Some(reached);
                model.clusters = clusters;
            }
            None => {
                let sources = sources_for(&|runners| runners.repository.is_some());
                model.build_roots(sources, &mut objects, default_namespace, builder, jobs)
            }
        }
        let automations = objects.objects.iter().filter(|object| {
            object.kind == crate::flux::Kind::ImageUpdateAutomation && files[object.file()].applied
        });
        for automation in automations {
            let Some(other) =
                cluster::other_checkout(automation, &model.clusters, &repositories, &sources)
            else {
                continue;
            };
            let note = Note {
                message: other.note(automation),
                origin: automation.origin(),
            };
            if !model.notes.contains(&note) {
                model.notes.push(note);
            }
            model
                .other_checkouts
                .insert((automation.cluster, automation.origin()), other);
        }
        let objects = objects.objects;
        // Freed beside the stages that follow: on the model's thread alone they were a serial
        // stretch of the run (3 to 4 ms at 20,000 files).
        crate::parallel::free_in_background((
            contents,
            sources.into_caches(),
            old_sources.map(Sources::into_caches),
            kustomize_4_sources.map(Sources::into_caches),
        ));
        model.kustomizations = kustomizations;
        model.kustomizations_as_4 = as_kustomize_4;
        model.referenced = referenced;
        (model, objects)
    }

    /// Where an ImageUpdateAutomation commits, when that is not this checkout: another
    /// repository, or this one at another revision. Its `update.path` and the markers it updates
    /// are then in a tree this check does not see.
    pub fn other_checkout(&self, automation: &FluxObject) -> Option<&cluster::OtherCheckout> {
        self.other_checkouts
            .get(&(automation.cluster, automation.origin()))
    }

    /// A repository without clusters: each kustomization no other includes is built on its own
    /// (on up to `jobs` threads, added in order), and the files no kustomization reaches are
    /// taken as written.
    fn build_roots(
        &mut self,
        sources: &Sources,
        objects: &mut Objects<'_>,
        default_namespace: &str,
        builder: &Builder,
        jobs: usize,
    ) {
        let files = sources.files;
        let contents = objects.contents;
        let mut reached = BTreeSet::new();
        let roots = roots(sources.kustomizations);
        let build = |dir: &String| {
            let (origin, is_component) = match sources.kustomizations.get(dir) {
                Some(Ok(k)) => (Origin::new(k.file, Default::default()), k.is_component),
                _ => (Origin::default(), false),
            };
            // kustomize takes a Component only among `components` (`kubectl kustomize` of its
            // folder builds it as such).
            let (resources, components) = if is_component {
                (Vec::new(), vec![dir.clone()])
            } else {
                (vec![dir.clone()], Vec::new())
            };
            let build = builder.build(sources, render::build(sources, dir), || {
                Ok(external::Wrapper {
                    resources,
                    namespace: None,
                    name_prefix: None,
                    name_suffix: None,
                    patches: &[],
                    components,
                    origin,
                })
            });
            contents.read_ahead(&build, false, files, default_namespace, jobs);
            build
        };
        let mut chart_dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        crate::parallel::for_each_in_order(&roots, jobs, build, |index, result| {
            let dir = &roots[index];
            if let Ok(build) = &result {
                for resource in &build.resources {
                    cluster::record_chart_release(&mut chart_dirs, resource);
                }
            }
            let applied = self.add_render(
                objects,
                result,
                || (static_closure(sources, dir), Vec::new()),
                Built {
                    root: Some(dir.clone()),
                    cluster: 0,
                    failure: Failure::Flux,
                },
                files,
                default_namespace,
            );
            reached.extend(applied);
        });
        // Patch files are read by builds, never applied as objects.
        reached.extend(
            sources
                .referenced
                .patches
                .iter()
                .filter_map(|p| sources.by_path.get(p.as_str()).copied()),
        );
        let render = self.renders.len();
        let mut as_written = BTreeSet::new();
        for (index, file) in files.iter().enumerate() {
            if reached.contains(&index) || !has_image_objects(file) {
                continue;
            }
            // Under a kustomization that does not list it, nothing applies the file; its objects
            // still answer references (Flux may apply it in a way the model does not see), but
            // no rule judges them.
            let unapplied = kustomization_dir_over(&file.source.path, |dir| {
                sources.kustomizations.contains_key(dir)
            })
            .is_some();
            if unapplied {
                self.unapplied.push(index);
            } else {
                as_written.insert(index);
            }
            let provenance = Provenance {
                render,
                cluster: 0,
                uncertain: unapplied,
            };
            add_objects_as_written(objects, sources.files, index, default_namespace, provenance);
        }
        self.renders.push(Render {
            root: None,
            cluster: 0,
            incomplete: false,
            files: as_written,
            read_besides: BTreeSet::new(),
        });
        let chart_dirs = chart::with_local_dependencies(&chart_dirs, files, sources.by_path);
        self.chart_policies = ChartFiles::of(&chart_dirs, files).policies;
    }

    /// Adds one build: its objects, or, when it failed, those of the files it would have read,
    /// as uncertain (Flux applies nothing of a failed build; its objects still answer
    /// references, so the one failure is the one diagnostic, unless the failure is none of
    /// Flux's): as the folders among them that build on their own render them, the rest as
    /// written. Returns the files it applies.
    fn add_render(
        &mut self,
        objects: &mut Objects<'_>,
        result: Result<Build, BuildError>,
        fallback: impl FnOnce() -> (BTreeSet<usize>, Vec<Build>),
        Built {
            root,
            cluster,
            failure,
        }: Built,
        files: &[ScannedFile],
        default_namespace: &str,
    ) -> BTreeSet<usize> {
        let render = self.renders.len();
        let mut applied = BTreeSet::new();
        let mut read_besides = BTreeSet::new();
        let incomplete = match result {
            Ok(mut build) => {
                applied.extend(build.untracked_files);
                // Asked only of a render's policies (which copy a marker means): kept for those.
                let renders_a_policy = (build.resources.iter())
                    .any(|resource| resource.node.path_str(&["kind"]) == Some("ImagePolicy"));
                if renders_a_policy {
                    read_besides = std::mem::take(&mut build.read);
                }
                for resource in build.resources {
                    applied.insert(resource.node.origin.file());
                    let provenance = Provenance {
                        render,
                        cluster,
                        uncertain: resource.uncertain,
                    };
                    objects.add(resource.node, files, default_namespace, provenance);
                }
                self.notes.extend(build.notes);
                build.incomplete
            }
            Err(error) => {
                let (would_read, salvaged) = fallback();
                let provenance = Provenance {
                    render,
                    cluster,
                    uncertain: true,
                };
                let mut rendered = BTreeSet::new();
                for build in salvaged {
                    rendered.extend(build.read);
                    for resource in build.resources {
                        rendered.insert(resource.node.origin.file());
                        objects.add(resource.node, files, default_namespace, provenance);
                    }
                }
                for file in would_read {
                    applied.insert(file);
                    if !rendered.contains(&file) {
                        add_objects_as_written(objects, files, file, default_namespace, provenance);
                    }
                }
                // Guessed clusters are mostly rendered after the bootstrapped ones beside them,
                // so a failure Flux has is known before a guessed cluster meets it; where a
                // guessed cluster met it first (one Flux Kustomization of its own builds the
                // folder again: jdevto/tf-aws-eks-flux-demo's staging), it is Flux's now.
                let known = |model: &Model| {
                    model.build_errors.contains(&error)
                        || model.unsure_build_errors.iter().any(|(e, ..)| *e == error)
                };
                match failure {
                    Failure::Flux if !self.build_errors.contains(&error) => {
                        self.unsure_build_errors
                            .retain(|(unsure, ..)| *unsure != error);
                        self.build_errors.push(error);
                    }
                    Failure::Unsure(why) if !known(self) => {
                        self.unsure_build_errors.push((error, cluster, why));
                    }
                    _ => {}
                }
                // What it would have applied is all there, as written.
                false
            }
        };
        read_besides.retain(|file| !applied.contains(file));
        self.renders.push(Render {
            root,
            cluster,
            incomplete,
            files: applied.clone(),
            read_besides,
        });
        applied
    }

    /// `kustomize build` of one folder of the workspace, natively.
    pub fn render(
        &self,
        tree: &FileSet,
        files: &[ScannedFile],
        dir: &str,
    ) -> Result<render::Build, BuildError> {
        let by_path = paths_of(files);
        let sources = Sources::new(
            tree,
            files,
            &by_path,
            &self.kustomizations,
            &self.referenced,
        );
        render::build(&sources, dir)
    }

    /// Whether a cluster this file belongs to may hold image objects the model does not see: a
    /// render of it with a remote base, or a Helm chart of the repository that mentions them.
    pub fn may_lack_objects(&self, file: usize, clusters: &[usize]) -> bool {
        self.file_in_incomplete_render(file)
            || clusters.iter().any(|&c| {
                self.clusters
                    .get(c)
                    .is_some_and(|cluster| cluster.charts_may_define_image_objects)
            })
    }

    /// The files where a build fails, each failure at its cause (Flux's or unsure).
    pub fn files_failing_builds(&self) -> impl Iterator<Item = usize> + '_ {
        (self.build_errors.iter())
            .chain(self.unsure_build_errors.iter().map(|(error, ..)| error))
            .map(|error| error.origin.file())
    }

    /// Whether a render that applies this file may lack objects.
    pub fn file_in_incomplete_render(&self, file: usize) -> bool {
        self.renders
            .iter()
            .any(|r| r.incomplete && r.files.contains(&file))
    }
}

/// What one build of a model is: the folder built, the cluster it applies to (0 in a
/// repository without clusters), and what its failure would be.
struct Built {
    root: Option<String>,
    cluster: usize,
    failure: Failure,
}

/// What a build's failure is, as far as the model knows.
enum Failure {
    /// Flux's: the cluster runs the build.
    Flux,
    /// Flux's unless what it is unsure of says otherwise.
    Unsure(Unsure),
    /// None of Flux's: the build is of a folder guessed among those a path could be.
    NoneOfFlux,
}

/// Why a build's failure may be none of Flux's.
#[derive(Debug, Clone, PartialEq)]
pub enum Unsure {
    /// Its cluster is a guess (see `cluster::ClusterRender::cluster_guessed`).
    GuessedCluster,
    /// A folder applied by hand lacks a generator input that the repository's `.gitignore`
    /// leaves out (a secret kept out of git, written where the folder is applied:
    /// warroyo/tpk8s-flux-samples's `generator.env`): its path.
    InputLeftOutOfGit(String),
}

/// The generator input a folder applied by hand fails to find, where git's ignore rules leave
/// it out of the repository: one its own kustomization reads (whichever renderer told the
/// failure, at whatever place).
fn input_left_out_of_git(render: &cluster::ClusterRender, sources: &Sources) -> Option<String> {
    let Err(error) = &render.result else {
        return None;
    };
    if error.cause != render::Cause::MissingGeneratorInput
        || !render.kustomization.applied_by_hand()
    {
        return None;
    }
    let Some(Ok(kustomization)) = sources.kustomizations.get(&render.kustomization.path) else {
        return None;
    };
    (kustomization.generators.iter())
        .flat_map(|generator| &generator.files)
        .filter_map(|file| render::join(&kustomization.dir, &file.value))
        .find(|path| {
            sources.tree.kind_of(path) == crate::walk::PathKind::Missing
                && sources.tree.ignored_by_git(path)
        })
}

/// What a model is built from, the same on each pass (see [`Model::build`]).
struct Inputs<'a> {
    tree: &'a FileSet,
    files: &'a [ScannedFile],
    yaml_paths: &'a ListedPaths,
    default_namespace: &'a str,
    builder: Builder,
    jobs: usize,
}

/// The builds that run as kustomize-controller's kustomize before Flux 2.2 (see
/// [`crate::flux::versions::ClusterFlux::runs_kustomize_before_5_1`]): a kustomization file
/// holding nothing (comments only) lists nothing, where from 2.2 the build fails, and a
/// kustomization's components are added before its own generators run, where from 2.2 they
/// run after. The clusters whose Flux is that old, or the repository's own builds when it has
/// no cluster, each with that Flux described; and of those, the ones whose Flux builds with
/// kustomize 4 (before 2.0.0-rc.4), which reads a bare path in `patches` as a strategic merge
/// patch file, where kustomize 5 fails the build. And the clusters whose Flux builds with a
/// kustomize older than 5.4 (before 2.3), which ignores the fields a `configurations` file holds
/// that it does not know, where a build failed on one.
#[derive(Debug, Default)]
struct OlderKustomize {
    before_5_1: Runners,
    kustomize_4: Runners,
    /// Those whose kustomize is older than 5.4 (Flux before 2.3), where a build failed in the
    /// real kustomize's words on a field a `configurations` file holds that it does not know.
    before_5_4: Runners,
}

/// The clusters whose Flux runs an older kustomize, or the repository's own builds when it has
/// no cluster, each with that Flux described.
#[derive(Debug, Default)]
struct Runners {
    clusters: BTreeMap<usize, String>,
    repository: Option<String>,
}

impl Runners {
    fn anywhere(&self) -> bool {
        !self.clusters.is_empty() || self.repository.is_some()
    }

    /// `--verbose` notes at `errors`, which a newer kustomize meets, for each of these that reads
    /// an error's file: "{runner} runs {flux}, {why}: {error}".
    fn notes_on<'e>(
        &self,
        model: &Model,
        errors: impl Iterator<Item = &'e BuildError>,
        why: &str,
    ) -> Vec<Note> {
        let mut notes = Vec::new();
        for error in errors {
            for (runner, flux) in self.reading(model, error.origin.file()) {
                notes.push(Note {
                    message: format!("{runner} runs {flux}, {why}: {}", error.message),
                    origin: error.origin,
                });
            }
        }
        notes
    }

    /// Those that read `file` of `model`: each cluster's name, or the repository, with its Flux.
    fn reading(&self, model: &Model, file: usize) -> Vec<(String, String)> {
        let clusters = (self.clusters.iter())
            .filter(|(&cluster, _)| model.clusters[cluster].files.contains(&file))
            .map(|(&cluster, flux)| {
                let name = &model.clusters[cluster].name;
                (format!("cluster `{name}`"), flux.clone())
            });
        let repository =
            (self.repository.iter()).map(|flux| ("the repository".to_string(), flux.clone()));
        clusters.chain(repository).collect()
    }
}

impl OlderKustomize {
    fn anywhere(&self) -> bool {
        self.before_5_1.anywhere() || self.before_5_4.anywhere()
    }

    /// The builds of `model` (built as Flux 2.2 and later build) that run on a Flux older than
    /// 2.2, when its kustomize would build something otherwise: a build failed on a
    /// kustomization file that holds nothing (natively, or in the words of the real kustomize
    /// asked instead) or, under kustomize 4, on a bare path in `patches`; or a kustomization has
    /// both components and generators.
    fn for_old_flux(
        model: &Model,
        tree: &FileSet,
        files: &[ScannedFile],
        config: &Config,
        jobs: usize,
    ) -> Self {
        let failed_on =
            |needle: &str| (model.build_errors.iter()).any(|error| error.message.contains(needle));
        let failed_on_one = failed_on(kustomization::EMPTY);
        let failed_on_bare_patch = failed_on(kustomization::BARE_PATCH_PATH);
        let failed_on_configuration = (model.build_errors.iter())
            .any(|error| external::is_strict_configuration_failure(&error.message));
        let generates_beside_components = model
            .kustomizations
            .values()
            .flatten()
            .any(generates_beside_components);
        if !failed_on_one
            && !failed_on_bare_patch
            && !failed_on_configuration
            && !generates_beside_components
        {
            return OlderKustomize::default();
        }
        // Each cluster's Flux as the rules take it: another cluster's pins say nothing of it.
        let repository = Repository {
            tree,
            kustomizations: &model.kustomizations,
        };
        let fluxes = Fluxes::find(files, &repository, &model.clusters, config, jobs);
        let running = |runs: fn(&ClusterFlux) -> Option<String>| Runners {
            clusters: (fluxes.clusters.iter().enumerate())
                .filter_map(|(index, of)| Some((index, runs(&of.flux)?)))
                .collect(),
            repository: (model.clusters.is_empty())
                .then(|| runs(&fluxes.repository))
                .flatten(),
        };
        OlderKustomize {
            before_5_1: running(ClusterFlux::runs_kustomize_before_5_1),
            kustomize_4: if failed_on_bare_patch {
                running(ClusterFlux::runs_kustomize_4)
            } else {
                Runners::default()
            },
            before_5_4: if failed_on_configuration {
                running(ClusterFlux::runs_kustomize_before_5_4)
            } else {
                Runners::default()
            },
        }
    }

    /// The kustomizations with each file that holds nothing read as one that lists nothing.
    fn listing_nothing(
        kustomizations: &BTreeMap<String, Result<Kustomization, BuildError>>,
    ) -> BTreeMap<String, Result<Kustomization, BuildError>> {
        kustomizations
            .iter()
            .map(|(dir, read)| {
                let read = match holding_nothing(read) {
                    Some(file) => Ok(Kustomization {
                        dir: dir.clone(),
                        file,
                        ..Kustomization::default()
                    }),
                    None => read.clone(),
                };
                (dir.clone(), read)
            })
            .collect()
    }

    /// `--verbose` notes where a build ran as the older kustomize and a Flux upgrade fails it:
    /// on the files that hold nothing, taken as listing nothing (from 2.2); on the errors of
    /// `first_errors` (the builds as the newest Flux runs them) at a kustomization that has both
    /// components and generators (from 2.2) or on a `configurations` file's unknown field (from
    /// 2.3), which these builds no longer have; and at a bare path in `patches` (from 2.0).
    fn notes(&self, model: &Model, first_errors: &[BuildError]) -> Vec<Note> {
        let runners = |file: usize| self.before_5_1.reading(model, file);
        let mut notes = Vec::new();
        for file in model.kustomizations.values().filter_map(holding_nothing) {
            for (runner, flux) in runners(file) {
                notes.push(Note {
                    message: format!(
                        "this kustomization holds nothing: {runner} runs {flux}, whose kustomize builds it as one listing nothing; from Flux 2.2 on the build fails (`{}`)",
                        kustomization::EMPTY
                    ),
                    origin: Origin::new(file, Default::default()),
                });
            }
        }
        let generating: BTreeSet<usize> = model
            .kustomizations
            .values()
            .flatten()
            .filter(|k| generates_beside_components(k))
            .map(|k| k.file)
            .collect();
        let failing_from_2_2 = first_errors.iter().filter(|error| {
            generating.contains(&error.origin.file()) && !model.build_errors.contains(error)
        });
        notes.extend(self.before_5_1.notes_on(model, failing_from_2_2, "whose kustomize adds this kustomization's components before running its generators; from Flux 2.2 on the generators run first and the build fails"));
        let bare_patch_paths = (model.kustomizations.values())
            .filter_map(|read| read.as_ref().err())
            .filter(|error| error.message.contains(kustomization::BARE_PATCH_PATH));
        notes.extend(self.kustomize_4.notes_on(model, bare_patch_paths, "whose kustomize (4) reads a bare path in `patches` as a `patchesStrategicMerge` entry; from Flux 2.0 on the build fails"));
        let strict_configurations = first_errors.iter().filter(|error| {
            external::is_strict_configuration_failure(&error.message)
                && !model.build_errors.contains(error)
        });
        notes.extend(self.before_5_4.notes_on(model, strict_configurations, "whose kustomize ignores the fields it does not know in a `configurations` file; from Flux 2.3 on the build fails"));
        notes
    }
}

/// Whether a kustomization has both components and generators, which kustomize before 5.1 and
/// from 5.1 on run in another order.
fn generates_beside_components(kustomization: &Kustomization) -> bool {
    !kustomization.components.is_empty() && !kustomization.generators.is_empty()
}

/// The file of a kustomization that holds nothing (comments only), which kustomize 5.1 and
/// later refuse to build.
fn holding_nothing(read: &Result<Kustomization, BuildError>) -> Option<usize> {
    match read {
        Err(error) if error.message == kustomization::EMPTY => Some(error.origin.file()),
        _ => None,
    }
}

/// The files a build of `dir` would read, whatever fails on the way: the kustomization's
/// resources, or for a folder without one every manifest under it, and what the kustomizations
/// of its sub-folders reach beyond them: kustomize-controller lists each sub-folder with a
/// kustomization file as a whole (fluxcd/pkg `kustomize` generator), whose resources may lie
/// elsewhere.
fn would_read(sources: &Sources, yaml_paths: &ListedPaths, dir: &str) -> BTreeSet<usize> {
    if sources.kustomizations.contains_key(dir) {
        return static_closure(sources, dir);
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut files: BTreeSet<usize> = yaml_paths
        .starting_with(sources.tree, &prefix)
        .filter_map(|path| sources.by_path.get(path).copied())
        .collect();
    let folders = sources
        .kustomizations
        .range(prefix.clone()..)
        .map(|(folder, _)| folder);
    for folder in folders.take_while(|folder| folder.starts_with(&prefix)) {
        files.extend(static_closure(sources, folder));
    }
    files
}

/// The parsed files under a folder of the repository.
fn files_under(files: &[ScannedFile], dir: &str) -> BTreeSet<usize> {
    files
        .iter()
        .enumerate()
        .filter(|(_, f)| crate::walk::lies_under(&f.source.path, dir))
        .map(|(i, _)| i)
        .collect()
}

/// The files by path, borrowed: a copy of every path was held through the renders.
/// What `read` makes of each document of the parsed files whose `kind` is `kind` and whose API
/// group is `group` (any version), with its file's index: every document of every file is
/// looked at, on up to `jobs` threads, and the results come in the files' order.
fn objects_written<T: Send, I: IntoIterator<Item = T>>(
    files: &[ScannedFile],
    jobs: usize,
    (group, kind): (&str, &str),
    read: impl Fn(Node, usize) -> I + Sync,
) -> Vec<T> {
    let found = crate::parallel::map_ranges(files.len(), jobs, |indices| {
        let mut found = Vec::new();
        for index in indices {
            let Ok(yaml) = &files[index].yaml else {
                continue;
            };
            for &document in &yaml.documents {
                let of_kind = yaml.path_str(document, &["kind"]) == Some(kind)
                    && yaml
                        .path_str(document, &["apiVersion"])
                        .and_then(|version| version.strip_prefix(group))
                        .is_some_and(|version| version.starts_with('/'));
                if of_kind {
                    found.extend(read(Node::from_yaml(yaml, index, document), index));
                }
            }
        }
        found
    });
    found.into_iter().flatten().collect()
}

/// The files of the artifact kustomize-controller builds, by path: those an ignore pattern keeps
/// out are not in it (see [`Sources::kind_of`]).
fn paths_of(files: &[ScannedFile]) -> HashMap<&str, usize> {
    files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.applied)
        .map(|(i, f)| (f.source.path.as_str(), i))
        .collect()
}

/// Kustomizations no other includes, as a resource or a component.
fn roots(kustomizations: &BTreeMap<String, Result<Kustomization, BuildError>>) -> Vec<String> {
    let included: BTreeSet<String> = kustomizations
        .values()
        .filter_map(|k| k.as_ref().ok())
        .flat_map(|k| {
            k.resources
                .iter()
                .chain(&k.components)
                .filter_map(move |entry| join(&k.dir, &entry.value))
        })
        .collect();
    kustomizations
        .keys()
        .filter(|dir| !included.contains(*dir))
        .cloned()
        .collect()
}

/// The files a kustomization's resources reach, following folders, whatever fails on the way.
fn static_closure(sources: &Sources, dir: &str) -> BTreeSet<usize> {
    match sources.kustomizations.get(dir) {
        Some(Ok(k)) => files_reached(sources, k),
        _ => BTreeSet::new(),
    }
}

/// The files the resources of `k` (one of the repository's, or one kustomize-controller
/// generates) reach, following folders, whatever fails on the way.
fn files_reached(sources: &Sources, k: &Kustomization) -> BTreeSet<usize> {
    let mut files = BTreeSet::new();
    let mut pending = Vec::new();
    let mut seen = BTreeSet::from([k.dir.clone()]);
    let mut add_entries = |k: &Kustomization, pending: &mut Vec<String>| {
        for entry in k.resources.iter().chain(&k.components) {
            let Some(path) = join(&k.dir, &entry.value) else {
                continue;
            };
            match sources.by_path.get(path.as_str()) {
                Some(&file) => {
                    files.insert(file);
                }
                None => pending.push(path),
            }
        }
    };
    add_entries(k, &mut pending);
    while let Some(dir) = pending.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        if let Some(Ok(k)) = sources.kustomizations.get(&dir) {
            add_entries(k, &mut pending);
        }
    }
    files
}

/// Adds the image objects of a file as written: its documents and `kind: List` items.
fn add_objects_as_written(
    objects: &mut Objects<'_>,
    files: &[ScannedFile],
    index: usize,
    default_namespace: &str,
    provenance: Provenance,
) {
    let Ok(yaml) = &files[index].yaml else {
        return;
    };
    for &document in &yaml.documents {
        let nodes: Vec<_> = if yaml.path_str(document, &["kind"]) == Some("List") {
            yaml.get(document, "items")
                .map(|items| yaml.items(items).to_vec())
                .unwrap_or_default()
        } else {
            vec![document]
        };
        for node in nodes {
            let tree = Arc::new(Node::from_yaml(yaml, index, node));
            objects.add(tree, files, default_namespace, provenance);
        }
    }
}

fn has_image_objects(file: &ScannedFile) -> bool {
    file.mentions_image_api
        && file.yaml.as_ref().is_ok_and(|yaml| {
            yaml.documents.iter().any(|&d| {
                yaml.path_str(d, &["kind"]) == Some("List")
                    || yaml.path_str(d, &["apiVersion"]).is_some_and(is_image_api)
            })
        })
}

/// The nearest folder, from the file's own up to the root (`""`), that `has_kustomization`.
pub fn kustomization_dir_over(
    path: &str,
    has_kustomization: impl Fn(&str) -> bool,
) -> Option<&str> {
    (crate::walk::folders_above(path).find(|&folder| has_kustomization(folder)))
        .or_else(|| has_kustomization("").then_some(""))
}
