//! Clusters: what each cluster's Flux applies from this repository. A cluster starts at a Flux
//! bootstrap (a Flux Kustomization that applies its own folder, as `flux bootstrap` writes in
//! `flux-system/gotk-sync.yaml`, or a loop of them applying one another that nothing outside the
//! loop applies: the first was applied at install time, then the loop manages itself; its member
//! named `flux-system`, else the first written, stands for it), at a Flux Operator
//! `FluxInstance`'s `spec.sync.path` (or that of the FluxInstance a HelmRelease of the operator's
//! `flux-instance` chart installs; a path with a variable the Flux Kustomization applying it fills
//! in, at each folder it could be), or, when the bootstrap was made out of band, at the Flux
//! Kustomizations nothing here applies (those in one folder being one cluster, as one bootstrap
//! path applies a folder). Not all of those are roots: beside a bootstrap, only a sibling of its
//! folder is; one whose name Kubernetes refuses (`$APPNAME$`) is a scaffold's template, and so
//! is a bootstrap file whose GitRepository URL is left to fill in (`${BOOTSTRAP_…}`); one under
//! a kustomization that does not reach it (an app tree's folder set aside) is left over, unless
//! no other root shows how the repository is applied. Nor is a bootstrap whose `spec.path` does
//! not exist while the same path under a folder above its file holds it (`archive/` +
//! `clusters/vps1`), beside another bootstrap: its cluster's folder was moved there; nor a
//! bootstrap or FluxInstance whose folder is not here and that syncs another repository than the
//! bootstraps whose folder is here (or, without one, than every remote of the work tree): it
//! roots that repository's cluster. A Flux
//! Kustomization shared by several clusters, whose `spec.path` each cluster's kustomization
//! patches to its own folder (its `postBuild` variables with it), is a bootstrap as each
//! renders it. From there every Flux Kustomization it applies is followed as
//! kustomize-controller builds it: its `spec.path` (the kustomization there, or one generated
//! from the folder's manifests), then its `targetNamespace`, `namePrefix`, `nameSuffix`,
//! `patches` and `components`, then `postBuild.substitute` (on every object it applies, a child
//! Flux Kustomization's `spec.path` included). A Flux Kustomization of another
//! source (an OCIRepository, a Bucket, another repository's GitRepository) builds its `spec.path`
//! in that source: it takes no part in finding clusters (it applies and starts nothing here) and
//! is not followed (a repository with only such Flux Kustomizations is checked as one with
//! none: every file counts), nor is one whose `spec.path` lies in the `toPath` of its GitRepository's
//! `spec.include` (another GitRepository's artifact). So does a GitRepository no root syncs
//! from, when the path is no folder of this repository, and, with no bootstrap to say which
//! repository this is, one whose URL is not the one the Flux Kustomizations here build folders
//! from, whatever its path (its root too, which every checkout has). A copy of a Flux Kustomization in
//! a file Flux never receives (a template in a `.sourceignore`d folder) is not what the cluster
//! runs when Flux receives one of that name: it takes no part either. An ImageUpdateAutomation
//! is told apart much the same way: one whose GitRepository and `git.checkout.ref` are another
//! repository than a bootstrap's, another revision of this one, or an unknown source whose
//! `update.path` is no folder here commits to a checkout this check does not see
//! (`OtherCheckout`). Without a bootstrap, a URL of its own is not enough: an automation often
//! has a GitRepository of this repository to itself (write access), used by no Flux
//! Kustomization.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;

use super::artifact::Artifacts;
use super::kustomization::{
    self, is_kustomization_name, Decoding, Kustomization, LabelSet, Patch, PatchBody, Text,
};
use super::render::{self, Build, BuildError, Cause, Include, Note, Resource, Sources};
use super::substitute::{is_unresolved, PathPattern, Variables};
use super::tree::{Node, Origin};
use crate::flux::automation::normalize;
use crate::flux::objects::{FluxObject, Spec};
use crate::flux::operator;
use crate::walk::{
    file_name, folder_of, folders_above, lies_under, FileSet, ListedPaths, PathKind,
};
use crate::workspace::ScannedFile;

pub const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io/";

/// What `flux bootstrap` names its Flux Kustomization and the GitRepository it syncs.
const BOOTSTRAP_NAME: &str = "flux-system";

/// A Flux Kustomization (`kustomize.toolkit.fluxcd.io`), as its cluster sees it.
#[derive(Debug, Clone)]
pub struct FluxKustomization {
    pub name: String,
    pub namespace: String,
    /// The document that defines it.
    pub origin: Origin,
    /// `spec.path`, repository-relative and normalised (`""` is the root).
    pub path: String,
    pub path_origin: Origin,
    source_kind: String,
    source_name: String,
    source_namespace: String,
    target_namespace: Option<Text>,
    name_prefix: Option<Text>,
    name_suffix: Option<Text>,
    patches: Vec<Patch>,
    components: Vec<Text>,
    /// `spec.commonMetadata.labels`: set on every object it applies, after the build.
    common_labels: Option<LabelSet>,
    /// `spec.ignoreMissingComponents` (Flux 2.7): a component missing from the source is left
    /// out of the kustomization kustomize-controller generates.
    ignore_missing_components: bool,
    /// `postBuild.substitute`, each value with where its name is written; `None` without
    /// `postBuild` (then nothing is substituted).
    substitute: Option<BTreeMap<String, (String, Origin)>>,
    /// `postBuild.substituteFrom`: (kind, name, optional).
    substitute_from: Vec<(String, String, bool)>,
    /// `postBuild.substituteStrategy: Always`: substituted with no variable too.
    substitute_always: bool,
    /// A FluxInstance's `spec.sync.url` and `ref`: the repository and revision it syncs.
    sync_url: Option<String>,
    sync_ref: Option<String>,
    /// Not a Flux Kustomization but the folder of out-of-band ones, applied whole.
    folder: bool,
    /// For such a folder: the folders under it applied on their own (other out-of-band
    /// folders), whose files its apply leaves to them.
    set_apart: Vec<String>,
    /// Applied by a Flux Kustomization whose build fails: what it would apply is unknown.
    uncertain: bool,
    /// `path` is one folder of several its `spec.path` could be (see `paths_it_may_have`):
    /// how that folder builds says nothing of what Flux builds.
    path_guessed: bool,
}

fn text(node: Option<&Node>) -> Option<Text> {
    let node = node?;
    Some(Text {
        value: node.str()?.into(),
        origin: node.origin,
    })
}

/// Whether a Flux Kustomization is written where a bootstrap's own file sits: in the folder it
/// applies, or in that folder's `flux-system/`, where `flux bootstrap` writes it.
fn written_where_its_bootstrap_file_is(kustomization: &FluxKustomization, file: &str) -> bool {
    let folder = folder_of(file);
    let applied = kustomization.path.as_str();
    folder == applied
        || folder
            .strip_suffix(BOOTSTRAP_NAME)
            .is_some_and(|above| above.strip_suffix('/').unwrap_or(above) == applied)
}

/// What fills in the variables of a Flux Kustomization's `spec.path` when the repository does
/// not say their values.
#[derive(Debug, Clone, Copy)]
enum FilledBy {
    /// Its parent's `postBuild.substituteFrom`, from a ConfigMap only the cluster has.
    SubstituteFrom,
    /// Whatever applies the out-of-band folder it is written in (a fleet's Flux Kustomization).
    WhatAppliesTheFolder,
    /// Nothing here: its parent has no `postBuild`.
    SomethingUnseen,
}

impl FilledBy {
    fn what(self) -> &'static str {
        match self {
            FilledBy::SubstituteFrom => "`postBuild.substituteFrom` this repository does not hold",
            FilledBy::WhatAppliesTheFolder => "whatever applies the folder it is written in",
            FilledBy::SomethingUnseen => "what the repository does not show (its parent has no `postBuild`; a mutating webhook may add one, else kustomize-controller finds no such folder)",
        }
    }
}

impl FluxKustomization {
    /// A Flux Kustomization whose `spec.path` holds variables whose values the model cannot
    /// read (see [`FilledBy`]): the cluster builds one folder, unknown, of those the path could
    /// be (each `${…}` part of one folder's name). Each such folder is followed as uncertain:
    /// its objects answer references, none is judged, its files are not counted as the
    /// cluster's and its failure is no error. Where no folder could be it, it stays as it is, and its build fails as
    /// Flux's would. A folder around its own file is none it could be: it would apply itself.
    fn paths_it_may_have(
        self,
        files: &[ScannedFile],
        folders: &BTreeSet<&str>,
        filled_by: FilledBy,
        notes: &mut Vec<Note>,
    ) -> Vec<FluxKustomization> {
        let own_file = &files[self.origin.file()].source.path;
        let candidates: Vec<&str> = self
            .folders_it_may_be(folders)
            .filter(|folder| !lies_under(own_file, folder))
            .collect();
        if candidates.is_empty() {
            return vec![self];
        }
        let note = Note {
            message: format!(
                "Flux Kustomization `{}`'s path `{}` takes its values from {}: followed into each folder it could be ({}), as uncertain",
                self.name,
                self.path,
                filled_by.what(),
                candidates.len()
            ),
            origin: self.path_origin,
        };
        if !notes.contains(&note) {
            notes.push(note);
        }
        candidates
            .into_iter()
            .map(|folder| FluxKustomization {
                path: folder.to_string(),
                uncertain: true,
                path_guessed: true,
                ..self.clone()
            })
            .collect()
    }

    /// The folders a `spec.path` that holds variables could be, once they have values.
    fn folders_it_may_be<'f>(
        &self,
        folders: &'f BTreeSet<&str>,
    ) -> impl Iterator<Item = &'f str> + use<'f, '_> {
        let pattern = PathPattern::new(&self.path);
        folders
            .iter()
            .copied()
            .filter(move |folder| pattern.could_be(folder))
    }

    /// A root whose path holds a variable that the Flux Kustomization applying it fills in (a
    /// `flux-instance` chart's `sync.path: kubernetes/clusters/${CLUSTER}/bootstrap`, with
    /// `CLUSTER` in each cluster's `postBuild.substitute`: deedee-ops/home-ops): a root in each
    /// folder the path could be, each a cluster's; as written where none could be, where its
    /// build fails as Flux's would.
    ///
    /// A path that is variables alone (`${CLUSTER_SYNC_PATH}`) could be any folder: each root
    /// is a guess, whose failed build is none of Flux's (tcordina/home-ops syncs
    /// `kubernetes/clusters/main` from a ConfigMap, never the folder `kubernetes` it matches).
    fn roots_it_may_be(self, folders: &BTreeSet<&str>, notes: &mut Vec<Note>) -> Vec<Self> {
        let candidates: Vec<&str> = self.folders_it_may_be(folders).collect();
        if candidates.is_empty() {
            return vec![self];
        }
        let variables_alone = Variables::default()
            .substitute(&self.path)
            .trim_matches(['.', '/'])
            .is_empty();
        notes.push(Note {
            message: format!(
                "`{}`'s sync path `{}` holds a variable filled in where it is applied: taken as each folder it could be ({}){}",
                self.name,
                self.path,
                candidates.join(", "),
                if variables_alone { ", each a guess" } else { "" }
            ),
            origin: self.path_origin,
        });
        candidates
            .into_iter()
            .map(|folder| FluxKustomization {
                path: folder.to_string(),
                path_guessed: variables_alone,
                ..self.clone()
            })
            .collect()
    }

    /// The `namespace` and `name` of the source it syncs from.
    fn source_key(&self) -> (String, String) {
        (self.source_namespace.clone(), self.source_name.clone())
    }

    pub fn is_one(object: &Node) -> bool {
        object.path_str(&["kind"]) == Some("Kustomization")
            && object
                .path_str(&["apiVersion"])
                .is_some_and(|v| v.starts_with(KUSTOMIZE_GROUP))
    }

    /// Reads a Flux Kustomization object; `None` for anything else.
    pub fn read(object: &Node, default_namespace: &str) -> Option<FluxKustomization> {
        if !FluxKustomization::is_one(object) {
            return None;
        }
        let spec = object.get("spec");
        let at = |path: &[&str]| spec.and_then(|s| s.path(path));
        let namespace = object
            .path_str(&["metadata", "namespace"])
            .filter(|ns| !ns.is_empty())
            .unwrap_or(default_namespace)
            .to_string();
        let path = at(&["path"]);
        let patches = at(&["patches"])
            .map(|list| {
                list.items()
                    .iter()
                    .filter_map(|entry| {
                        let patch = entry.get("patch")?;
                        Some(Patch {
                            body: PatchBody::Inline(patch.clone()),
                            target: entry.get("target").cloned(),
                            allow_name_change: false,
                            allow_kind_change: false,
                            origin: entry.origin,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let post_build = at(&["postBuild"]);
        Some(FluxKustomization {
            name: object
                .path_str(&["metadata", "name"])
                .unwrap_or_default()
                .to_string(),
            source_namespace: at(&["sourceRef", "namespace"])
                .and_then(Node::str)
                .unwrap_or(&namespace)
                .to_string(),
            namespace,
            origin: object.origin,
            path: normalize(path.and_then(Node::str).unwrap_or_default()),
            path_origin: path.map_or(object.origin, |p| p.origin),
            source_kind: at(&["sourceRef", "kind"])
                .and_then(Node::str)
                .unwrap_or_default()
                .to_string(),
            source_name: at(&["sourceRef", "name"])
                .and_then(Node::str)
                .unwrap_or_default()
                .to_string(),
            target_namespace: text(at(&["targetNamespace"])),
            name_prefix: text(at(&["namePrefix"])),
            name_suffix: text(at(&["nameSuffix"])),
            patches,
            components: at(&["components"])
                .map(|list| list.items().iter().filter_map(|c| text(Some(c))).collect())
                .unwrap_or_default(),
            common_labels: at(&["commonMetadata", "labels"]).map(|labels| LabelSet {
                pairs: labels.string_map().into_iter().collect(),
                origin: labels.origin,
            }),
            ignore_missing_components: at(&["ignoreMissingComponents"]).and_then(Node::str)
                == Some("true"),
            substitute: post_build.map(|pb| {
                pb.get("substitute")
                    .map(|map| {
                        map.entries()
                            .iter()
                            .filter_map(|entry| {
                                let value = entry.value.str()?.to_string();
                                Some((entry.key.to_string(), (value, entry.key_origin)))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }),
            substitute_from: post_build
                .and_then(|pb| pb.get("substituteFrom"))
                .map(|list| {
                    list.items()
                        .iter()
                        .map(|source| {
                            (
                                source.path_str(&["kind"]).unwrap_or_default().to_string(),
                                source.path_str(&["name"]).unwrap_or_default().to_string(),
                                source.path_str(&["optional"]) == Some("true"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            substitute_always: post_build.and_then(|pb| pb.path_str(&["substituteStrategy"]))
                == Some("Always"),
            sync_url: None,
            sync_ref: None,
            folder: false,
            set_apart: Vec::new(),
            uncertain: false,
            path_guessed: false,
        })
    }

    /// The folder a Flux Kustomization nothing here applies sits in (or the kustomization that
    /// gathers it), as the out-of-band bootstrap applied it: every object written there, the
    /// Flux Kustomizations among them.
    fn applied_out_of_band(&self, dir: &str, set_apart: Vec<String>) -> FluxKustomization {
        FluxKustomization {
            name: format!("{dir} (applied out of band)"),
            path: dir.to_string(),
            path_origin: self.origin,
            target_namespace: None,
            name_prefix: None,
            name_suffix: None,
            patches: Vec::new(),
            components: Vec::new(),
            common_labels: None,
            ignore_missing_components: false,
            substitute: None,
            substitute_from: Vec::new(),
            substitute_always: false,
            folder: true,
            set_apart,
            ..self.clone()
        }
    }

    /// Built from a GitRepository this repository does not define: this checkout, whichever
    /// repository it is.
    fn built_from_a_checkout_not_named(self) -> FluxKustomization {
        FluxKustomization {
            source_name: String::new(),
            sync_url: None,
            sync_ref: None,
            ..self
        }
    }

    /// The kustomization kustomize-controller builds: the one at `spec.path` (or one generated
    /// from the folder's manifests), with the Flux Kustomization's own fields laid over it.
    fn kustomization(
        &self,
        sources: &Sources,
        yaml_paths: &ListedPaths,
    ) -> Result<Kustomization, BuildError> {
        let mut k = match sources.kustomizations.get(&self.path) {
            Some(Ok(k)) => k.clone(),
            // `kubectl apply -k` fails there, so an out-of-band apply of the folder was
            // `kubectl apply -f`: its files are objects, the `kustomization.yaml` among them
            // (often a Flux Kustomization written under that name).
            Some(Err(_)) if self.folder => self.generated_listing(sources, yaml_paths, true)?,
            // kustomize-controller rewrites the file before kustomize reads it (fluxcd/pkg's
            // generator). An existing file that lists no resources gets `buildMetadata` there
            // (from Flux 2.3), so one that holds nothing builds nothing instead of failing
            // kustomize's emptiness check.
            Some(Err(error)) if error.message == kustomization::EMPTY => Kustomization {
                dir: self.path.clone(),
                file: error.origin.file(),
                ..Kustomization::default()
            },
            // The rewrite drops the fields kustomize does not know: what is left may build.
            Some(Err(error)) if error.message.contains(kustomization::UNKNOWN_FIELD) => {
                match super::read_kustomization(
                    sources.files,
                    error.origin.file(),
                    Decoding::DroppingUnknownFields,
                ) {
                    Some((_, _, rewritten)) => rewritten?,
                    None => return Err(error.clone()),
                }
            }
            Some(Err(error)) => return Err(error.clone()),
            None => self.generated(sources, yaml_paths)?,
        };
        if let Some(namespace) = &self.target_namespace {
            k.namespace = Some(namespace.clone());
        }
        if let Some(prefix) = &self.name_prefix {
            k.name_prefix = Some(Box::new(prefix.clone()));
        }
        if let Some(suffix) = &self.name_suffix {
            k.name_suffix = Some(Box::new(suffix.clone()));
        }
        k.patches.extend(self.patches.iter().cloned());
        k.components.extend(self.components_built(sources).cloned());
        Ok(k)
    }

    /// The components kustomize-controller adds to the folder's kustomization.
    fn components_built<'s>(&'s self, sources: &'s Sources) -> impl Iterator<Item = &'s Text> {
        self.components.iter().filter(|component| {
            !self.ignore_missing_components
                || render::join(&self.path, &component.value)
                    .is_none_or(|path| sources.kind_of(&path) != PathKind::Missing)
        })
    }

    /// kustomize-controller's generated kustomization: every manifest under the folder, a
    /// sub-folder with its own kustomization taken whole.
    fn generated(
        &self,
        sources: &Sources,
        yaml_paths: &ListedPaths,
    ) -> Result<Kustomization, BuildError> {
        self.generated_listing(sources, yaml_paths, false)
    }

    /// The generated kustomization's resources; with `kustomization_files_are_objects`, the
    /// folder's own kustomization file is listed as a manifest too.
    fn generated_listing(
        &self,
        sources: &Sources,
        yaml_paths: &ListedPaths,
        kustomization_files_are_objects: bool,
    ) -> Result<Kustomization, BuildError> {
        let prefix = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}/", self.path)
        };
        if !self.path.is_empty() && sources.kind_of(&self.path) != PathKind::Dir {
            // kustomize-controller only checks that the path exists; a file then fails where
            // Flux's generator writes `<path>/kustomization.yaml` ("not a directory").
            let what = match sources.kind_of(&self.path) {
                PathKind::Missing => sources.absence(Some(&self.path)),
                _ => "is a file, not a folder".to_string(),
            };
            return Err(BuildError {
                cause: Cause::MissingResource,
                message: format!("the Flux Kustomization's path `{}` {what}", self.path),
                origin: self.path_origin,
            });
        }
        let mut resources: Vec<Text> = Vec::new();
        let mut taken_dirs: HashSet<String> = HashSet::new();
        for path in yaml_paths.starting_with(sources.tree, &prefix) {
            let relative = &path[prefix.len()..];
            if self.set_apart.iter().any(|dir| lies_under(path, dir)) {
                continue;
            }
            // The first folder on the way down that has a kustomization is a resource of its own.
            let whole_dir = first_kustomization_folder(sources, &prefix, path)
                .map(|folder| folder[prefix.len()..].to_string());
            let name = crate::walk::file_name(relative);
            let entry = match whole_dir {
                Some(dir) if taken_dirs.insert(dir.clone()) => dir,
                Some(_) => continue,
                None if is_kustomization_name(name) && !kustomization_files_are_objects => continue,
                None => relative.to_string(),
            };
            resources.push(Text {
                value: entry.into(),
                origin: self.path_origin,
            });
        }
        Ok(Kustomization {
            dir: self.path.clone(),
            file: self.origin.file(),
            resources,
            ..Kustomization::default()
        })
    }

    /// What the real kustomize is asked to build for this Flux Kustomization; the error of a
    /// path that does not exist, which kustomize-controller reports before kustomize runs.
    fn wrapper<'a>(
        &'a self,
        sources: &Sources,
        yaml_paths: &ListedPaths,
    ) -> Result<super::external::Wrapper<'a>, BuildError> {
        // The same start as the native build: the kustomization at the path, or a listing.
        let listing = match sources.kustomizations.get(&self.path) {
            Some(Err(_)) if self.folder => Some(self.generated_listing(sources, yaml_paths, true)),
            Some(_) => None,
            None => Some(self.generated(sources, yaml_paths)),
        };
        let resources = match listing {
            None => vec![self.path.clone()],
            Some(listing) => listing?
                .resources
                .iter()
                .filter_map(|entry| render::join(&self.path, &entry.value))
                .collect(),
        };
        let text = |field: &Option<Text>| field.as_ref().map(|t| t.value.to_string());
        Ok(super::external::Wrapper {
            resources,
            namespace: text(&self.target_namespace),
            name_prefix: text(&self.name_prefix),
            name_suffix: text(&self.name_suffix),
            patches: &self.patches,
            components: self
                .components_built(sources)
                .filter_map(|c| render::join(&self.path, &c.value))
                .collect(),
            origin: self.path_origin,
        })
    }

    /// Its build, in a checkout that `includes` (its GitRepository's `spec.include`) fill.
    pub fn build(
        &self,
        sources: &Sources,
        yaml_paths: &ListedPaths,
        includes: &[Include],
    ) -> Result<Build, BuildError> {
        let kustomization = self.kustomization(sources, yaml_paths)?;
        render::build_with_includes(sources, &kustomization, includes)
    }
}

/// Of a build that failed, the folders its kustomization lists that build on their own, built.
/// Where kustomize-controller's kustomization only lists them (the generated one of a folder, as
/// most are), each renders in it as it does alone: its objects keep the namespace and the names
/// its own kustomization gives them, while the failure is another entry's
/// (BriianPowell/k3s-collective: an empty sibling folder beside a `namespace:` overlay).
fn builds_of_listed_folders(
    sources: &Sources,
    kustomization: &Kustomization,
    includes: &[Include],
) -> Vec<Build> {
    if !kustomization.only_lists() {
        return Vec::new();
    }
    (kustomization.resources.iter())
        .filter_map(|entry| render::join(&kustomization.dir, &entry.value))
        .filter_map(|dir| {
            let listed = sources.kustomization(&dir, None).ok()?;
            render::build_with_includes(sources, listed, includes).ok()
        })
        .collect()
}

/// A cluster of the repository.
#[derive(Debug, Default)]
pub struct Cluster {
    /// How it is named in messages: the bootstrap's path, or the folder of its roots.
    pub name: String,
    /// The path its bootstrap syncs (for `flux_version` per cluster path).
    pub path: String,
    /// Files whose objects it applies.
    pub files: BTreeSet<usize>,
    /// Rooted at a folder without a kustomization file in a repository without a bootstrap:
    /// applied by hand, with `kubectl apply -f`, so the folder's own build is a guess.
    pub applied_as_files: bool,
    /// Folders of this repository that its HelmReleases use as charts, and (once the model is
    /// built) those of the subcharts they pull in with `file://` dependencies, each with the
    /// namespaces those releases install into (empty where a release's is not known).
    pub chart_dirs: BTreeMap<String, BTreeSet<String>>,
    /// One of those charts mentions the image API: it may create image objects this model does
    /// not render, so nothing is concluded from one the cluster seems to lack.
    pub charts_may_define_image_objects: bool,
    /// The ImagePolicies those charts' templates write, names and namespaces as templates; and
    /// those of the charts of this repository named as one its HelmReleases install from a Helm
    /// repository (see [`record_released_chart`]).
    pub chart_policies: Vec<super::chart::ChartPolicy>,
    /// The charts its HelmReleases install from a Helm repository, by name, each with the
    /// namespaces the releases install into.
    pub released_charts: BTreeMap<String, BTreeSet<String>>,
    /// Folders its Flux Kustomizations build from another branch of this repository: what that
    /// branch holds there (policies among it) is not what this checkout shows.
    pub other_branches: Vec<OtherBranch>,
    /// Flux Kustomizations it applies that build another source (another repository's
    /// GitRepository, an OCIRepository, a Bucket): what they apply, image objects among it, is
    /// not in this checkout.
    pub other_sources: Vec<OtherSource>,
    /// What it takes for this repository, to tell where its automations commit.
    this_repository: ThisRepository,
}

impl Cluster {
    /// Whether it applies the file at `path` (index `file`), or uses its folder as a Helm chart.
    pub fn applies(&self, file: usize, path: &str) -> bool {
        self.files.contains(&file) || self.chart_dirs.keys().any(|dir| lies_under(path, dir))
    }
}

/// A Flux Kustomization that builds a folder of this repository from another branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherBranch {
    /// `spec.path`, repository-relative (`""` is the root).
    pub path: String,
    pub kustomization: String,
    /// The branch (or `tag:…`, `commit:…`) its GitRepository checks out.
    pub reference: String,
}

impl OtherBranch {
    pub fn covers(&self, file: &str) -> bool {
        lies_under(file, &self.path)
    }
}

/// A Flux Kustomization that builds another source than this repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherSource {
    pub kustomization: String,
    /// Its document.
    pub origin: Origin,
    /// Its `sourceRef`: kind and name.
    pub source_kind: String,
    pub source_name: String,
    /// Its `targetNamespace`: every namespaced object it applies lands there.
    pub target_namespace: Option<String>,
}

/// One Flux Kustomization's build inside a cluster.
pub struct ClusterRender<'k> {
    pub cluster: usize,
    /// The build is a guess: its cluster is rooted at a folder of Flux Kustomizations that
    /// nothing here applies, beside a bootstrap's folder, taken as applied out of band like it;
    /// or it is such a folder's own, without a kustomization file, in a repository without a
    /// bootstrap. A build that fails in it is told as a warning.
    pub cluster_guessed: bool,
    pub kustomization: &'k FluxKustomization,
    pub result: Result<Build, BuildError>,
    /// The files it would have applied, when the build failed.
    pub fallback: BTreeSet<usize>,
    /// When the build failed, what of it still builds: the build without the entries that fail
    /// it (see [`render::build_leaving_out_failed_entries`]), else the folders it lists that
    /// build on their own (see [`builds_of_listed_folders`]).
    pub salvaged: Vec<Build>,
}

/// Every Flux Kustomization and FluxInstance written in the repository's files.
fn written_roots(
    sources: &Sources,
    default_namespace: &str,
    jobs: usize,
) -> (Vec<FluxKustomization>, Vec<FluxKustomization>) {
    let found = crate::parallel::map_ranges(sources.files.len(), jobs, |indices| {
        let mut kustomizations = Vec::new();
        let mut instances = Vec::new();
        for index in indices {
            let file = &sources.files[index];
            let path = &file.source.path;
            // A file kustomizations name only as a patch holds patches, not objects: a Flux
            // Kustomization there (a bootstrap's `path` set per cluster) is no root of its own.
            let referenced = sources.referenced;
            if referenced.patches.contains(path) && !referenced.resources.contains(path) {
                continue;
            }
            let Ok(yaml) = &file.yaml else { continue };
            for &document in &yaml.documents {
                let api_version = yaml.path_str(document, &["apiVersion"]).unwrap_or_default();
                let kind = yaml.path_str(document, &["kind"]).unwrap_or_default();
                if api_version.starts_with(KUSTOMIZE_GROUP) && kind == "Kustomization" {
                    let tree = Node::from_yaml(yaml, index, document);
                    kustomizations.extend(FluxKustomization::read(&tree, default_namespace));
                } else if (api_version.starts_with("fluxcd.controlplane.io/")
                    && kind == "FluxInstance")
                    || operator::installs_flux_instance(yaml, document)
                {
                    let tree = Node::from_yaml(yaml, index, document);
                    instances.extend(flux_instance(&tree, default_namespace));
                }
            }
        }
        (kustomizations, instances)
    });
    let (kustomizations, instances): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    (
        kustomizations.into_iter().flatten().collect(),
        instances.into_iter().flatten().collect(),
    )
}

/// Bootstraps laid out per cluster by a kustomization that takes a shared Flux Kustomization
/// and patches its `spec.path` to the cluster's folder, which holds that kustomization
/// (`clusters/<c>/flux-system` patching `path: ./clusters/<c>`, or `clusters/<env>/<nn>` patching
/// `path: ./clusters/<env>/<nn>` and the cluster's `postBuild.substitute`): rendered, each is a
/// bootstrap applying its own folder, as `flux bootstrap --path` runs it, with the variables the
/// patch gives it. Only a rendering whose path differs from the one written counts (an ordinary
/// bootstrap is found as written).
fn patched_bootstraps(
    sources: &Sources,
    inclusions: &Inclusions,
    written: &[FluxKustomization],
    default_namespace: &str,
) -> Vec<FluxKustomization> {
    let written_files: BTreeSet<usize> = written.iter().map(|k| k.origin.file()).collect();
    let reaching = inclusions.reaching(&written_files);
    let mut bootstraps = Vec::new();
    for (dir, kustomization) in sources.kustomizations {
        let Ok(kustomization) = kustomization else {
            continue;
        };
        let patches_nothing = kustomization.patches.is_empty()
            && kustomization.patches_strategic_merge.is_empty()
            && kustomization.patches_json6902.is_empty();
        // Most kustomizations that patch (the apps' overlays) cannot render a Flux
        // Kustomization at all: they are not built.
        if patches_nothing || !reaching.contains(dir.as_str()) {
            continue;
        }
        let Some(build) = render::build_with(sources, kustomization)
            .ok()
            .or_else(|| bootstrap_alone(sources, kustomization, &written_files, &reaching))
        else {
            continue;
        };
        for resource in &build.resources {
            let Some(rendered) = FluxKustomization::read(&resource.node, default_namespace) else {
                continue;
            };
            let applies_this_folder = !rendered.path.is_empty()
                && (*dir == rendered.path || dir.starts_with(&format!("{}/", rendered.path)));
            let as_written = written
                .iter()
                .find(|k| k.origin == rendered.origin)
                .map(|k| k.path.as_str());
            if !applies_this_folder || as_written.is_none_or(|path| path == rendered.path) {
                continue;
            }
            // The cluster's folder and its `flux-system` sub-folder, which the folder includes,
            // render the same bootstrap: one cluster. Flux runs the rendering of its own path.
            let same =
                |k: &&mut FluxKustomization| k.origin == rendered.origin && k.path == rendered.path;
            match bootstraps.iter_mut().find(same) {
                Some(found) if *dir == rendered.path => *found = rendered,
                Some(_) => {}
                None => bootstraps.push(rendered),
            }
        }
    }
    bootstraps
}

/// The build of a kustomization that fails, with only its entries that lead to a bootstrap:
/// where another entry fails (a folder without a kustomization file), the patched bootstrap
/// still names its cluster. Flux keeps what that cluster applied before the failure, and the
/// cluster's own build reports it.
fn bootstrap_alone(
    sources: &Sources,
    kustomization: &Kustomization,
    written_files: &BTreeSet<usize>,
    reaching: &HashSet<&str>,
) -> Option<Build> {
    let leads_to_bootstrap = |entry: &Text| {
        render::join(&kustomization.dir, &entry.value).is_some_and(|path| {
            match sources.by_path.get(path.as_str()) {
                Some(file) => written_files.contains(file),
                None => reaching.contains(path.as_str()),
            }
        })
    };
    let resources: Vec<Text> = (kustomization.resources.iter())
        .filter(|entry| leads_to_bootstrap(entry))
        .cloned()
        .collect();
    if resources.len() == kustomization.resources.len() && kustomization.components.is_empty() {
        return None;
    }
    let alone = Kustomization {
        resources,
        components: Vec::new(),
        ..kustomization.clone()
    };
    render::build_with(sources, &alone).ok()
}

/// A FluxInstance's sync, as the Flux Kustomization the operator creates for it; or that of the
/// FluxInstance a HelmRelease of the `flux-instance` chart installs, from its values.
fn flux_instance(object: &Node, default_namespace: &str) -> Option<FluxKustomization> {
    let spec = match object.path_str(&["kind"]) {
        Some("HelmRelease") => object.path(&operator::INSTANCE_VALUES)?,
        _ => object.get("spec")?,
    };
    let sync = spec.get("sync")?;
    let path = sync.get("path");
    Some(FluxKustomization {
        name: object
            .path_str(&["metadata", "name"])
            .unwrap_or_default()
            .to_string(),
        namespace: object
            .path_str(&["metadata", "namespace"])
            .unwrap_or(default_namespace)
            .to_string(),
        origin: object.origin,
        path: normalize(path.and_then(Node::str).unwrap_or_default()),
        path_origin: path.map_or(object.origin, |p| p.origin),
        source_kind: sync
            .path_str(&["kind"])
            .unwrap_or("GitRepository")
            .to_string(),
        source_name: String::new(),
        source_namespace: String::new(),
        target_namespace: None,
        name_prefix: None,
        name_suffix: None,
        patches: Vec::new(),
        components: Vec::new(),
        common_labels: None,
        ignore_missing_components: false,
        substitute: None,
        substitute_from: Vec::new(),
        substitute_always: false,
        sync_url: sync.path_str(&["url"]).map(str::to_string),
        sync_ref: reference(sync.get("ref")),
        folder: false,
        set_apart: Vec::new(),
        uncertain: false,
        path_guessed: false,
    })
}

/// A Git source: its repository (URL reduced to host and path) and the revision it checks out
/// (`branch:main`, `tag:v1`, …; `None` when unset).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GitSource {
    repository: String,
    reference: Option<String>,
    /// `spec.include`: other GitRepositories' artifacts source-controller copies into this
    /// checkout's.
    includes: Vec<Include>,
}

/// A GitRepository `spec.include` entry: `None` without the GitRepository it names.
fn read_include(entry: &Node) -> Option<Include> {
    let repository = entry.path_str(&["repository", "name"])?;
    let to_path = entry
        .path_str(&["toPath"])
        .filter(|to_path| !to_path.is_empty())
        .unwrap_or(repository);
    Some(Include {
        repository: repository.to_string(),
        to_path: normalize(to_path),
    })
}

impl GitSource {
    fn new(url: &str, reference: Option<String>) -> GitSource {
        GitSource {
            repository: repository_identity(url),
            reference,
            includes: Vec::new(),
        }
    }

    /// The same checkout: one repository, and the same revision where both say which.
    fn is(&self, other: &GitSource) -> bool {
        self.repository == other.repository
            && (self.reference.is_none()
                || other.reference.is_none()
                || self.reference == other.reference)
    }
}

/// A GitRepository's `spec.ref` (or a FluxInstance's `sync.ref`, a Git reference) as one
/// comparable string: a branch by its name, anything else by kind and value.
fn reference(node: Option<&Node>) -> Option<String> {
    let node = node?;
    let from_git_reference = |reference: &str| match reference.strip_prefix("refs/heads/") {
        Some(branch) => branch.to_string(),
        None => match reference.strip_prefix("refs/tags/") {
            Some(tag) => format!("tag:{tag}"),
            None => reference.to_string(),
        },
    };
    if let Some(text) = node.str() {
        return Some(from_git_reference(text)).filter(|r| !r.is_empty());
    }
    if let Some(name) = node.path_str(&["name"]) {
        return Some(from_git_reference(name));
    }
    if let Some(branch) = node.path_str(&["branch"]) {
        return Some(branch.to_string());
    }
    ["tag", "semver", "commit"]
        .iter()
        .find_map(|key| Some(format!("{key}:{}", node.path_str(&[key])?)))
}

/// Every GitRepository the repository defines, by `namespace/name`: each cluster may define
/// its own under one name (piny940/infra's `apps-git`, on `main` for production and `staging`
/// for staging), so a name can have several definitions.
#[derive(Debug, Default)]
pub struct GitRepositories {
    definitions: BTreeMap<String, Vec<(usize, GitSource)>>,
}

impl GitRepositories {
    /// Found on up to `jobs` threads: every document of every file is looked at.
    pub fn new(files: &[ScannedFile], default_namespace: &str, jobs: usize) -> Self {
        let group_kind = ("source.toolkit.fluxcd.io", "GitRepository");
        let found = super::objects_written(files, jobs, group_kind, |tree, index| {
            let namespace = tree
                .path_str(&["metadata", "namespace"])
                .unwrap_or(default_namespace);
            let name = tree.path_str(&["metadata", "name"]).unwrap_or_default();
            let url = tree.path_str(&["spec", "url"]).unwrap_or_default();
            let reference = reference(tree.path(&["spec", "ref"]));
            let includes = tree
                .path(&["spec", "include"])
                .map(|list| list.items().iter().filter_map(read_include).collect())
                .unwrap_or_default();
            let source = GitSource {
                includes,
                ..GitSource::new(url, reference)
            };
            Some((format!("{namespace}/{name}"), (index, source)))
        });
        let mut definitions: BTreeMap<String, Vec<(usize, GitSource)>> = BTreeMap::new();
        for (key, definition) in found {
            definitions.entry(key).or_default().push(definition);
        }
        GitRepositories { definitions }
    }

    /// Every definition.
    fn all(&self) -> impl Iterator<Item = &GitSource> {
        self.definitions
            .values()
            .flatten()
            .map(|(_, source)| source)
    }

    /// The GitRepository `namespace/name` an object written in file `written_in` names, when
    /// the repository defines it (in that namespace, else under that name in any: a
    /// kustomization's `namespace:` may place it). Of several definitions, the one written
    /// nearest the object: a cluster's sources sit in its own folder.
    fn named(
        &self,
        files: &[ScannedFile],
        namespace: &str,
        name: &str,
        written_in: usize,
    ) -> Option<&GitSource> {
        let definitions = self
            .definitions
            .get(&format!("{namespace}/{name}"))
            .or_else(|| {
                self.definitions
                    .iter()
                    .find(|(key, _)| key.rsplit_once('/').is_some_and(|(_, n)| n == name))
                    .map(|(_, definitions)| definitions)
            })?;
        let written_in = &files[written_in].source.path;
        // The last of the nearest, as the last definition read was the only one before.
        definitions
            .iter()
            .max_by_key(|(file, _)| shared_folders(written_in, &files[*file].source.path))
            .map(|(_, source)| source)
    }
}

/// What a cluster takes for this repository: the Git checkouts its roots sync (every
/// bootstrap's; without a bootstrap, its roots' own) and the GitRepositories they name.
#[derive(Debug, Default, Clone)]
struct ThisRepository {
    checkouts: Vec<GitSource>,
    synced: BTreeSet<(String, String)>,
    /// The repositories the Flux Kustomizations written here build a folder of this
    /// repository from, its root aside (`None`: a GitRepository nothing here defines): what
    /// this repository is when no checkout says.
    builds_folders_from: BTreeSet<Option<String>>,
}

impl ThisRepository {
    /// Whether a Git checkout is this repository at the revision the cluster syncs; `None` (a
    /// GitRepository the repository does not define) is assumed to be. With no checkout to
    /// compare with, so is any but one the Flux Kustomizations here show to be another.
    fn follows(&self, source: Option<&GitSource>) -> bool {
        source.is_none_or(|source| {
            if self.checkouts.is_empty() {
                !self.shows_another_repository(source)
            } else {
                self.checkouts.iter().any(|this| this.is(source))
            }
        })
    }

    /// Whether a checkout's URL is another repository than the one the Flux Kustomizations
    /// here build folders of: some build a folder of this repository, none from that URL. Its
    /// root tells nothing (every checkout has one): gateway-api's GitRepository with no
    /// `spec.path` is still gateway-api's root (carpenike/k8s-gitops). A URL left to be
    /// substituted (`${GIT_URL}`) may be any repository.
    fn shows_another_repository(&self, source: &GitSource) -> bool {
        let known = !source.repository.is_empty() && !source.repository.contains("${");
        known
            && !self.builds_folders_from.is_empty()
            && !self
                .builds_folders_from
                .contains(&Some(source.repository.clone()))
    }

    /// These checkouts and the GitRepositories that check out a remote of the work tree at one
    /// of their revisions: this repository under another name (kingdonb/github-actions-demo,
    /// bootstrapped as yebyen/gha-demo before it moved, its tenants syncing the new name, whose
    /// markers fluxcdbot updates here). Git is asked only where a GitRepository checks out
    /// a repository no checkout names.
    fn with_remotes(mut self, repositories: &GitRepositories, tree: &FileSet) -> Self {
        let at_a_synced_revision = |source: &&GitSource| {
            !self.checkouts.is_empty()
                && !(self.checkouts.iter()).any(|this| this.repository == source.repository)
                && (self.checkouts.iter()).any(|this| {
                    source.reference.is_none()
                        || this.reference.is_none()
                        || this.reference == source.reference
                })
        };
        let others: Vec<GitSource> = repositories
            .all()
            .filter(at_a_synced_revision)
            .cloned()
            .collect();
        if others.is_empty() {
            return self;
        }
        let remotes: BTreeSet<String> = (tree.remote_urls().iter())
            .map(|url| repository_identity(url))
            .collect();
        for source in others {
            if remotes.contains(&source.repository) && !self.checkouts.contains(&source) {
                self.checkouts.push(source);
            }
        }
        self
    }

    /// These checkouts and, where the work tree is on the branch that another GitRepository of
    /// one of their repositories checks out, that revision too: what this check reads is then
    /// what that GitRepository syncs (a branch per environment, each applied from a
    /// GitRepository of its own: kCn3333/k3s-homelab checked out on `staging`).
    fn with_work_tree_branch(mut self, repositories: &GitRepositories, tree: &FileSet) -> Self {
        let of_this_repository = |source: &&GitSource| {
            source.reference.is_some()
                && self
                    .checkouts
                    .iter()
                    .any(|this| this.repository == source.repository)
                && !self.checkouts.iter().any(|this| this.is(source))
        };
        let other_revisions: Vec<GitSource> = repositories
            .all()
            .filter(of_this_repository)
            .cloned()
            .collect();
        // Git is asked only where another revision is in question.
        if other_revisions.is_empty() {
            return self;
        }
        let Some(branch) = tree.work_tree_branch() else {
            return self;
        };
        for source in other_revisions {
            if source.reference.as_deref() == Some(branch) && !self.checkouts.contains(&source) {
                self.checkouts.push(source);
            }
        }
        self
    }

    /// The revision a checkout takes of this repository, when it is not one the cluster syncs.
    fn other_revision(&self, source: &GitSource) -> Option<String> {
        let this_repository = |this: &GitSource| this.repository == source.repository;
        let other = self.checkouts.iter().any(this_repository)
            && !self.checkouts.iter().any(|this| this.is(source));
        other.then(|| source.reference.clone())?
    }

    /// Whether the GitRepository `namespace/name` (`source` where the repository defines it)
    /// may be another repository's: it is none of these checkouts, and no root syncs from it.
    fn may_be_elsewhere(&self, source: Option<&GitSource>, namespace: &str, name: &str) -> bool {
        source.is_none_or(|source| !self.checkouts.iter().any(|this| this.is(source)))
            && !self
                .synced
                .contains(&(namespace.to_string(), name.to_string()))
    }

    /// Whether what the GitRepository `namespace/name` checks out at `path` is taken as
    /// another repository's: it may be elsewhere, and `path` is no folder of this one (a policy
    /// library's `./pod-security/baseline`, another branch's `./dev`).
    fn takes_for_elsewhere(
        &self,
        sources: &Sources,
        source: Option<&GitSource>,
        (namespace, name): (&str, &str),
        path: &str,
    ) -> bool {
        self.may_be_elsewhere(source, namespace, name)
            && !path.is_empty()
            && sources.kind_of(path) != PathKind::Dir
    }
}

/// Where an ImageUpdateAutomation clones and commits, when that is not this checkout: its
/// `update.path` and the markers it updates are then in a tree this check does not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherCheckout {
    /// Its GitRepository, defined here, has another URL than the repository its cluster syncs.
    Repository,
    /// This repository at another revision (`git.checkout.ref`, else its GitRepository's
    /// `ref`): a branch, or `tag:…`, `commit:…`.
    Revision(String),
    /// A GitRepository no root syncs from, that nothing here defines or that has another URL
    /// with no bootstrap to compare, while `update.path` is no folder of this repository: taken
    /// as another repository's, as a Flux Kustomization of such a source is.
    Unknown,
}

impl OtherCheckout {
    /// Where the automation commits, in a few words: "another repository", "`ref`".
    pub fn place(&self) -> String {
        match self {
            OtherCheckout::Repository => "another repository".to_string(),
            OtherCheckout::Revision(reference) => format!("`{reference}`"),
            OtherCheckout::Unknown => "another repository or branch".to_string(),
        }
    }

    /// The `--verbose` note about `automation`.
    pub fn note(&self, automation: &FluxObject) -> String {
        let Spec::Automation(spec) = &automation.spec else {
            return String::new();
        };
        let source = spec
            .source_ref_name
            .as_ref()
            .map_or("", |s| s.value.as_str());
        let path = spec.update_path.as_ref().map_or("", |p| p.value.as_str());
        let not_checked = "`update.path` and the markers it updates are there, not checked here";
        let key = automation.key();
        match self {
            OtherCheckout::Repository => format!(
                "ImageUpdateAutomation `{key}` commits to GitRepository `{source}`, another repository than the one its cluster syncs: {not_checked}"
            ),
            OtherCheckout::Revision(reference) => format!(
                "ImageUpdateAutomation `{key}` checks out `{reference}` of this repository, not the revision its cluster syncs: {not_checked}"
            ),
            OtherCheckout::Unknown => format!(
                "ImageUpdateAutomation `{key}` commits to GitRepository `{source}`, which no bootstrap here syncs from, and its `update.path` `{path}` is no folder of this repository: taken as another repository's or branch's, where the markers it updates are; not checked here"
            ),
        }
    }
}

/// Where `automation` commits, when that is not this checkout, as image-automation-controller
/// decides it: it clones the GitRepository `spec.sourceRef` names and checks out
/// `spec.git.checkout.ref` when set, else the GitRepository's `ref`. That is compared with what
/// the automation's cluster takes for this repository (the automation's file picks the nearest
/// definition, as a Flux Kustomization's does).
pub fn other_checkout(
    automation: &FluxObject,
    clusters: &[Cluster],
    repositories: &GitRepositories,
    sources: &Sources,
) -> Option<OtherCheckout> {
    let Spec::Automation(spec) = &automation.spec else {
        return None;
    };
    // Without a source there is nothing to compare (the CRD requires one: `automation` says so).
    let name = &spec.source_ref_name.as_ref()?.value;
    if spec
        .source_ref_kind
        .as_ref()
        .is_some_and(|kind| kind != "GitRepository")
    {
        return None;
    }
    let namespace = spec
        .source_ref_namespace
        .as_deref()
        .unwrap_or(&automation.namespace);
    let checkout = reference(spec.checkout_ref.as_ref());
    let source = repositories
        .named(sources.files, namespace, name, automation.file())
        .map(|defined| GitSource {
            repository: defined.repository.clone(),
            reference: checkout.or_else(|| defined.reference.clone()),
            // The automation clones the repository itself, not the artifact they are copied into.
            includes: Vec::new(),
        });
    let nothing = ThisRepository::default();
    let this_repository = clusters
        .get(automation.cluster)
        .map_or(&nothing, |cluster| &cluster.this_repository);
    if let Some(source) = &source {
        if let Some(reference) = this_repository.other_revision(source) {
            return Some(OtherCheckout::Revision(reference));
        }
        if !this_repository.checkouts.is_empty() {
            return (!this_repository.follows(Some(source))).then_some(OtherCheckout::Repository);
        }
    }
    // `flux bootstrap` names the GitRepository of the repository it writes to `flux-system`:
    // one defined here that the bootstrap here does not settle (ommkwn/fluxes defines it by
    // hand, with no bootstrap) is this repository. One defined nowhere here is the bootstrap of
    // wherever Flux was installed from (stianHG/DeploymentTest, an application repository,
    // bootstraps another): this one only if a root here syncs from it.
    if name == BOOTSTRAP_NAME && source.is_some() {
        return None;
    }
    let path = normalize(spec.update_path.as_ref().map_or("", |p| p.value.as_str()));
    this_repository
        .takes_for_elsewhere(sources, source.as_ref(), (namespace, name), &path)
        .then_some(OtherCheckout::Unknown)
}

/// How many leading folders two repository paths share.
fn shared_folders(a: &str, b: &str) -> usize {
    fn folders(path: &str) -> std::str::Split<'_, char> {
        folder_of(path).split('/')
    }
    folders(a)
        .zip(folders(b))
        .take_while(|(x, y)| x == y)
        .count()
}

/// What a repository's builds read: `all`, to find its clusters; for the builds of a cluster,
/// `of_cluster(its index)`: the same files, their kustomizations read as that cluster's Flux
/// reads them.
pub struct ClusterSources<'a, 's> {
    pub all: &'a Sources<'s>,
    pub of_cluster: &'a dyn Fn(usize) -> &'a Sources<'s>,
    /// Where each build's thread reads the image objects it built, for the model.
    pub contents: &'a super::Contents,
    /// This repository's charts, by the name in their `Chart.yaml`: the charts a HelmRelease
    /// installs from a Helm repository that are worth recording. Found when the first such
    /// release is.
    pub charts_here: &'a std::sync::OnceLock<BTreeMap<String, Vec<String>>>,
}

/// The clusters of the repository, each Flux Kustomization build (made on up to `jobs` threads)
/// handed to `on_render` in a fixed order as soon as it is made, so that few builds' trees are
/// alive at a time (`None` when the repository holds no Flux Kustomization and no FluxInstance),
/// and the GitRepositories it defines.
pub fn discover(
    ClusterSources {
        all: sources,
        of_cluster,
        contents,
        charts_here,
    }: ClusterSources,
    yaml_paths: &ListedPaths,
    default_namespace: &str,
    builder: &super::Builder,
    jobs: usize,
    notes: &mut Vec<Note>,
    mut on_render: impl FnMut(ClusterRender),
) -> (Option<Vec<Cluster>>, GitRepositories) {
    let repositories = GitRepositories::new(sources.files, default_namespace, jobs);
    // Read only where a Flux Kustomization builds an ExternalArtifact: most repositories have
    // none, and reading them looks at every document of every parsed file again.
    let artifacts = std::cell::OnceCell::new();
    let (mut written, mut instances) = written_roots(sources, default_namespace, jobs);
    if instances
        .iter()
        .any(|instance| is_unresolved(&instance.path))
    {
        let folders = yaml_folders(sources.tree, yaml_paths);
        instances = instances
            .into_iter()
            .flat_map(|instance| {
                if is_unresolved(&instance.path) {
                    instance.roots_it_may_be(&folders, notes)
                } else {
                    vec![instance]
                }
            })
            .collect();
    }
    if written.is_empty() && instances.is_empty() {
        return (None, repositories);
    }
    // A copy of a Flux Kustomization in a file Flux never receives (a template or a backup in a
    // `.sourceignore`d folder) is not what the cluster runs: the one Flux receives under that
    // name is. Counted, the copy would apply the real bootstrap and hide it.
    let received = |k: &FluxKustomization| sources.files[k.origin.file()].applied;
    let received_names: HashSet<(String, String)> = written
        .iter()
        .filter(|k| received(k))
        .map(|k| (k.namespace.clone(), k.name.clone()))
        .collect();
    written.retain(|k| {
        received(k) || !received_names.contains(&(k.namespace.clone(), k.name.clone()))
    });
    // Bootstraps whose `path` a kustomization patches in per cluster replace the written base
    // they patch, which is no root of its own.
    let inclusions = Inclusions::new(sources, jobs);
    let mut patched = patched_bootstraps(sources, &inclusions, &written, default_namespace);
    written.retain(|k| !patched.iter().any(|p| p.origin == k.origin));
    let source_of = |k: &FluxKustomization| git_source(k, &repositories, sources.files);
    // One GitRepository is one checkout: where a Flux Kustomization of it builds a path that is
    // no folder here but is one under a folder its own file lies in, the source is a copy of
    // another repository kept in that folder, and what the others of that source build is not
    // here either, even where a folder of that name is (killianvervelle/
    // ML-Navigation-System-for-the-Visually-Impaired: its manifests repository copied into
    // `ms-manifests/`, beside application sources under the same names at the root). A path no
    // folder holds says nothing (a template's placeholder, a folder since moved). Each such
    // source, with that Flux Kustomization's name and path.
    let source_identity = |k: &FluxKustomization, source: Option<&GitSource>| {
        let repository = source.map(|source| source.repository.clone());
        (
            k.source_namespace.clone(),
            k.source_name.clone(),
            repository,
        )
    };
    let lacking_a_folder: HashMap<_, (String, String)> = written
        .iter()
        .filter(|k| {
            k.source_kind == "GitRepository"
                && !k.path_guessed
                && !k.path.is_empty()
                && !is_unresolved(&k.path)
                && sources.kind_of(&k.path) != PathKind::Dir
                && folders_above(&sources.files[k.origin.file()].source.path)
                    .any(|folder| sources.kind_of(&format!("{folder}/{}", k.path)) == PathKind::Dir)
        })
        .map(|k| {
            let identity = source_identity(k, source_of(k).as_ref());
            (identity, (k.name.clone(), k.path.clone()))
        })
        .collect();
    // What the includes of its GitRepository copy into its checkout (`spec.include`).
    let includes_of = |k: &FluxKustomization| {
        source_of(k)
            .map(|source| source.includes)
            .unwrap_or_default()
    };
    let written_by_flux_bootstrap = |k: &FluxKustomization| {
        sources.files[k.origin.file()]
            .source
            .path
            .ends_with("gotk-sync.yaml")
    };
    // `flux bootstrap` writes a literal URL: a GitRepository left to fill in (`url:
    // ${BOOTSTRAP_GITHUB_REPOSITORY}`, the old flux-cluster-template's `tmpl/`, rendered with
    // envsubst) makes its file a template, nobody's bootstrap (tvories/k8s-gitops).
    written.retain(|k| {
        let template = written_by_flux_bootstrap(k)
            && source_of(k).is_some_and(|source| is_unresolved(&source.repository));
        if template {
            notes.push(Note {
                message: format!(
                    "Flux Kustomization `{}` is in a bootstrap file whose GitRepository URL is left to fill in: taken as a template, not followed",
                    k.name
                ),
                origin: k.origin,
            });
        }
        !template
    });
    // The repositories the Flux Kustomizations written here build a folder of this one from
    // (a root another repository's is none of them: its folder is not here).
    let builds_folders_from: BTreeSet<Option<String>> = written
        .iter()
        .chain(&instances)
        .chain(&patched)
        .filter(|k| {
            k.source_kind == "GitRepository"
                && !k.path.is_empty()
                && sources.kind_of(&k.path) == PathKind::Dir
        })
        .map(|k| source_of(k).map(|source| source.repository))
        .collect();
    let elsewhere = roots_of_another_repository(
        sources,
        instances
            .iter()
            .chain(&patched)
            .chain(written.iter().filter(|k| written_by_flux_bootstrap(k))),
        source_of,
        &builds_folders_from,
    );
    for ElsewhereRoot { root, why, copy } in &elsewhere {
        let message = match copy {
            Some(folder) => format!(
                "`{}` syncs `{}` of {why}; `{folder}` holds a copy of it: taken as that repository's cluster, not followed (check the copy on its own: `flux-image-lint check {folder}`)",
                root.name, root.path
            ),
            None => format!(
                "`{}` syncs `{}` of {why}, and no folder here is that path: taken as another repository's cluster, not followed",
                root.name, root.path
            ),
        };
        notes.push(Note {
            message,
            origin: root.path_origin,
        });
    }
    // A repository holding copies of others (ForcemCS/flux-cd-demo) is applied by none of its
    // own bootstraps, and what its copies apply by hand is theirs: it has no out-of-band cluster.
    let holds_bootstrapped_copies = elsewhere.iter().any(|root| root.copy.is_some());
    let syncs_here =
        |k: &FluxKustomization| !elsewhere.iter().any(|other| other.root.origin == k.origin);
    instances.retain(syncs_here);
    patched.retain(syncs_here);
    written.retain(syncs_here);
    // A Flux Kustomization of another source (an OCI artifact, a bucket, another repository)
    // builds its `path` there: `path: ./` of the Flux install's OCIRepository is no folder of
    // this repository. So it neither applies nor roots anything here. Which repository this is
    // can be told before anything is built where a bootstrap says so; without one, by the
    // folders of it Flux Kustomizations build.
    let synced_by_bootstraps: Vec<GitSource> = instances
        .iter()
        .chain(&patched)
        .chain(written.iter().filter(|k| written_by_flux_bootstrap(k)))
        .filter_map(source_of)
        .collect();
    let synced_by_bootstraps = ThisRepository {
        checkouts: synced_by_bootstraps,
        synced: BTreeSet::new(),
        builds_folders_from,
    }
    .with_remotes(&repositories, sources.tree)
    .with_work_tree_branch(&repositories, sources.tree);
    let builds_here = |k: &FluxKustomization| {
        follows_this_repository(k, source_of(k).as_ref(), &synced_by_bootstraps)
    };
    written.retain(builds_here);
    instances.retain(builds_here);
    patched.retain(builds_here);
    // Only Flux Kustomizations of other sources (an application's OCI artifact, say): they say
    // nothing of how this repository is applied, so it is checked as if it had none.
    if written.is_empty() && instances.is_empty() && patched.is_empty() {
        return (None, repositories);
    }
    // Which written Flux Kustomization applies which, from a build of each as written.
    let index_of: BTreeMap<Origin, usize> = written
        .iter()
        .enumerate()
        .map(|(i, k)| (k.origin, i))
        .collect();
    // FluxInstances apply what their sync path holds, as bootstraps do; so do the bootstraps
    // found as rendered, whose written base is no longer among the written ones.
    let appliers: Vec<(Option<usize>, &FluxKustomization)> = written
        .iter()
        .enumerate()
        .map(|(i, k)| (Some(i), k))
        .chain(instances.iter().chain(&patched).map(|k| (None, k)))
        .collect();
    let written_files: BTreeSet<usize> = written.iter().map(|k| k.origin.file()).collect();
    let reaching = inclusions.reaching(&written_files);
    // Freed before the builds, where the run's memory peaks.
    drop(inclusions);
    // What each applier's build applies of the written ones; the builds are dropped on the way.
    let applied = crate::parallel::map(&appliers, jobs, |&(applier, kustomization)| {
        let Ok(k) = kustomization.kustomization(sources, yaml_paths) else {
            return Vec::new();
        };
        // A build whose objects cannot come from a file that holds a Flux Kustomization (most
        // of them: the apps) tells nothing here, and each is built again for its cluster.
        if !Leads::of(sources, &k).reach(&written_files, &reaching) {
            return Vec::new();
        }
        let Ok(build) = render::build_with_includes(sources, &k, &includes_of(kustomization))
        else {
            // What a failing build would apply is not known, but the Flux Kustomizations written
            // in the files it names are its own: taken as applied by nothing, they made a second
            // cluster of the same folder that reported the same failure (DecentM/fleet-infra).
            let files = super::files_reached(sources, &k);
            return written
                .iter()
                .enumerate()
                .filter(|(_, w)| files.contains(&w.origin.file()))
                .map(|(i, _)| i)
                .collect();
        };
        build
            .resources
            .iter()
            .filter_map(|resource| {
                let applied = *index_of.get(&resource.node.origin)?;
                // A build that moves or renames the Flux Kustomization it is built for (its own
                // `targetNamespace`) applies a copy of it, not the object that runs: that one
                // was applied from elsewhere (popov-p/itmo-devops-manifests-2025: by hand, with
                // its folder's other files as written).
                let moves_itself = Some(applied) == applier
                    && !FluxKustomization::read(&resource.node, &kustomization.namespace)
                        .is_some_and(|own| own.is_the_same_object_as(kustomization));
                (!moves_itself).then_some(applied)
            })
            .collect()
    });
    let mut applies = vec![Vec::new(); written.len()];
    let mut applied_by_other_roots = Vec::new();
    for (&(applier, _), applied) in appliers.iter().zip(applied) {
        match applier {
            Some(i) => applies[i] = applied,
            None => applied_by_other_roots.extend(applied),
        }
    }
    // Flux Kustomizations that apply one another, each through the others (the first applied at
    // install time, then the loop manages itself), stand or fall together: what matters is
    // whether anything outside the loop applies one of them.
    let components = strongly_connected(&applies);
    let mut component_of = vec![0; written.len()];
    for (component, members) in components.iter().enumerate() {
        for &i in members {
            component_of[i] = component;
        }
    }
    let mut applied_from_outside = vec![false; components.len()];
    let edges = applies
        .iter()
        .enumerate()
        .flat_map(|(i, targets)| {
            let from = Some(component_of[i]);
            targets.iter().map(move |&j| (from, j))
        })
        .chain(applied_by_other_roots.into_iter().map(|j| (None, j)));
    for (applier, j) in edges {
        if applier != Some(component_of[j]) {
            applied_from_outside[component_of[j]] = true;
        }
    }
    // Roots: bootstraps (a loop, of which a Flux Kustomization applying its own folder is the
    // shortest, or `flux bootstrap`'s own) and FluxInstances; where the repository has neither,
    // the Flux Kustomizations nothing here applies, taken as applied out of band with their folder.
    let mut clusters_roots: Vec<(String, String, Vec<FluxKustomization>)> = Vec::new();
    for bootstrap in patched {
        clusters_roots.push((
            bootstrap.path.clone(),
            bootstrap.path.clone(),
            vec![bootstrap],
        ));
    }
    // Bootstraps (and FluxInstances) whose cluster folder was moved, with where it went.
    let mut moved = Vec::new();
    for instance in instances {
        let file = &sources.files[instance.origin.file()].source.path;
        if let Some(folder) = moved_to(sources, &instance, file) {
            moved.push((instance, folder));
            continue;
        }
        clusters_roots.push((instance.path.clone(), instance.path.clone(), vec![instance]));
    }
    let mut out_of_band = Vec::new();
    for (members, applied_from_outside) in components.iter().zip(applied_from_outside) {
        let first = members[0];
        if applied_from_outside {
            continue;
        }
        // In a repository holding copies of others, a loop is a copy's own (`path: ./` of
        // its source), not this repository's bootstrap. One whose every name the API server
        // refuses is a template's (loicgo29/nudger-gitops's `PLACEHOLDER`, without a path,
        // applied the repository root): it is left over with the others.
        let is_loop = (members.len() > 1 || applies[first].contains(&first))
            && !holds_bootstrapped_copies
            && (members.iter()).any(|&member| kubernetes_accepts_name(&written[member].name));
        if is_loop || written_by_flux_bootstrap(&written[first]) {
            // The member the install applied: the one named as bootstraps are, else one
            // written where a bootstrap's file sits, else the first. A tenant's Flux
            // Kustomization of another repository whose path is also a folder here closes a
            // loop through the bootstrap that applies it (ipni/storetheindex: `./deploy/…` in
            // `autoretrieve-deploy`), and may be written first.
            let member = |i: &usize| &written[*i];
            let bootstrap = members
                .iter()
                .map(member)
                .find(|k| k.name == BOOTSTRAP_NAME)
                .or_else(|| {
                    members.iter().map(member).find(|k| {
                        let file = &sources.files[k.origin.file()].source.path;
                        written_where_its_bootstrap_file_is(k, file)
                    })
                })
                .unwrap_or(&written[first]);
            let file = &sources.files[bootstrap.origin.file()].source.path;
            if let Some(folder) = moved_to(sources, bootstrap, file) {
                moved.push((bootstrap.clone(), folder));
                continue;
            }
            let name = if bootstrap.path.is_empty() {
                "the repository root".to_string()
            } else {
                bootstrap.path.clone()
            };
            clusters_roots.push((name, bootstrap.path.clone(), vec![bootstrap.clone()]));
        } else {
            out_of_band.push(written[first].clone());
        }
    }
    // A bootstrap whose folder was moved (`clusters/vps1` to `archive/clusters/vps1`, or
    // `clusters/blimp` to `old-clusters/blimp`: a cluster decommissioned) roots no cluster when
    // the folder it left holds another bootstrap's cluster: a cluster that ran it has been
    // re-pointed or is gone, as the live clusters' own bootstraps show the repository is still
    // applied from there. Otherwise the move was of the whole repository's clusters
    // (`clusters/` to `k8s/clusters/`, paths not updated), or the path's first segments are a
    // typo (`cluster/vps1` for `clusters/vps1`): the cluster bootstrapped from here then really
    // fails to find its path, and so is reported.
    let (retired, stranded): (Vec<_>, Vec<_>) = moved.into_iter().partition(|(_, folder)| {
        clusters_roots
            .iter()
            .any(|(_, path, _)| *path == folder.left || lies_under(path, &folder.left))
    });
    for (bootstrap, _) in stranded {
        clusters_roots.push((
            bootstrap.path.clone(),
            bootstrap.path.clone(),
            vec![bootstrap],
        ));
    }
    for (bootstrap, folder) in retired {
        let live = if folder.left.is_empty() {
            "the repository has another bootstrap".to_string()
        } else {
            format!("`{}` holds another bootstrap's cluster", folder.left)
        };
        notes.push(Note {
            message: format!(
                "Flux Kustomization `{}`'s path `{}` does not exist, but `{}` does, near its file, while {live}: taken as moved there, not followed",
                bootstrap.name, bootstrap.path, folder.to
            ),
            origin: bootstrap.path_origin,
        });
    }
    // This repository is what the bootstraps sync: their GitRepositories' URLs and revisions,
    // and the GitRepositories they name.
    let root_kustomizations = || clusters_roots.iter().flat_map(|(_, _, roots)| roots);
    let bootstrapped_repository = ThisRepository {
        checkouts: root_kustomizations().filter_map(source_of).collect(),
        synced: root_kustomizations()
            .map(FluxKustomization::source_key)
            .collect(),
        builds_folders_from: synced_by_bootstraps.builds_folders_from.clone(),
    }
    .with_remotes(&repositories, sources.tree)
    .with_work_tree_branch(&repositories, sources.tree);
    // A GitRepository no root syncs from, nothing here defines or that checks out another URL
    // than the bootstraps' (every URL, without a bootstrap): this repository's own when the
    // folder the Flux Kustomization builds is here; another repository's (a policy library's
    // `./pod-security/baseline`, gateway-api's `config/crd/experimental`) otherwise.
    let from_elsewhere = |k: &FluxKustomization, source: Option<&GitSource>| {
        let key = (k.source_namespace.as_str(), k.source_name.as_str());
        k.source_kind == "GitRepository"
            && (bootstrapped_repository.takes_for_elsewhere(sources, source, key, &k.path)
                || (bootstrapped_repository.may_be_elsewhere(source, key.0, key.1)
                    && lacking_a_folder.contains_key(&source_identity(k, source))))
    };
    // Without a bootstrap, every out-of-band folder is a cluster. Beside one, only a sibling of a
    // bootstrapped folder is (`clusters/staging` next to `clusters/production`, set up by hand
    // the same way); elsewhere a Flux Kustomization nothing applies is left over. Such a
    // sibling is a guess: it may as well be a part of the bootstrap's own cluster that nothing
    // applies (h3mmy/bloopySphere's `k8s/clusters/x/deploy` beside `k8s/clusters/x/bootstrap`),
    // so its builds' failures are warnings (see [`ClusterRender::cluster_guessed`]).
    let bootstrapped_parents: BTreeSet<String> = clusters_roots
        .iter()
        .filter_map(|(_, path, _)| path.rsplit_once('/').map(|(parent, _)| parent.to_string()))
        .collect();
    let bootstrapped = !clusters_roots.is_empty() || holds_bootstrapped_copies;
    // Only what is applied out of band is grouped: a bootstrapped repository has none of it.
    let gathered_by = if out_of_band.is_empty() {
        BTreeMap::new()
    } else {
        gathering_kustomizations(sources)
    };
    // Where each left-over note is among `notes`: an out-of-band cluster may still apply the
    // file (its folder's generated listing holds it), and then follows what the note calls left.
    let mut left_over_notes = Vec::new();
    let mut leave_over = |notes: &mut Vec<Note>, kustomization: &FluxKustomization, why: &str| {
        left_over_notes.push(notes.len());
        notes.push(Note {
            message: format!(
                "Flux Kustomization `{}` is applied by nothing here{why}: taken as left over, not followed",
                kustomization.name
            ),
            origin: kustomization.origin,
        });
    };
    let has_kustomization = |dir: &str| matches!(sources.kustomizations.get(dir), Some(Ok(_)));
    let mut groups: BTreeMap<String, Vec<FluxKustomization>> = BTreeMap::new();
    // Those under a kustomization that does not reach them, with their folder and that
    // kustomization's file.
    let mut left_out = Vec::new();
    for kustomization in out_of_band {
        let file = &sources.files[kustomization.origin.file()].source.path;
        let gathering = gathered_by.get(&kustomization.origin.file());
        let dir = gathering
            .cloned()
            .unwrap_or_else(|| folder_of(file).to_string());
        let beside_a_bootstrap = dir
            .rsplit_once('/')
            .is_some_and(|(parent, _)| bootstrapped_parents.contains(parent));
        if bootstrapped && !beside_a_bootstrap {
            let why = if clusters_roots.is_empty() {
                " while the repository holds copies of bootstrapped repositories"
            } else {
                " while the repository has its own bootstrap"
            };
            leave_over(notes, &kustomization, why);
            continue;
        }
        // The API server refuses such a name (`$APPNAME$`): a scaffold's template, in no cluster.
        if !kubernetes_accepts_name(&kustomization.name) {
            let why = ", and Kubernetes accepts no object of that name (a template's placeholder)";
            leave_over(notes, &kustomization, why);
            continue;
        }
        // What an out-of-band apply takes: the kustomization gathering it (nothing is over the
        // root's own), else its own file.
        let applied = gathering.unwrap_or(file);
        let kustomization_over = super::kustomization_dir_over(applied, has_kustomization)
            .filter(|&over| over != applied)
            .and_then(|over| sources.kustomizations[over].as_ref().ok());
        if let Some(over) = kustomization_over {
            left_out.push((kustomization, dir, over.file));
            continue;
        }
        groups.entry(dir).or_default().push(kustomization);
    }
    // A kustomization over a Flux Kustomization that does not reach it (an app tree's folder set
    // aside, `apps/unused/`) applies it to no cluster: it was left there. Only where the
    // repository shows no other root may such a folder have been applied by hand.
    let other_roots = bootstrapped || !groups.is_empty();
    for (kustomization, dir, over) in left_out {
        if other_roots {
            let file = &sources.files[over].source.path;
            let why = format!(", and the kustomization over it, `{file}`, does not reach it");
            leave_over(notes, &kustomization, &why);
        } else {
            groups.entry(dir).or_default().push(kustomization);
        }
    }
    let group_dirs: Vec<String> = groups.keys().cloned().collect();
    for (dir, roots) in groups {
        let name = if dir.is_empty() {
            "the repository root".to_string()
        } else {
            dir.clone()
        };
        // A folder applied on its own is not applied again with the one above it: a root's
        // generated listing would hold both copies of the same Flux Kustomization
        // (tyagi-raj/eks-workshop-migration), a duplicate no apply makes.
        let set_apart = group_dirs
            .iter()
            .filter(|other| **other != dir && lies_under(other, &dir))
            .cloned()
            .collect();
        // The folder is applied from this checkout. Its Flux Kustomizations' source says which
        // repository that is, unless each builds another repository's folder (an app's deploy
        // repository syncing `./deploy/vote` of the app's: fluxdemo/instavote-deploy).
        let folder = match roots
            .iter()
            .find(|k| !from_elsewhere(k, source_of(k).as_ref()))
        {
            Some(own) => own.applied_out_of_band(&dir, set_apart),
            None => roots[0]
                .applied_out_of_band(&dir, set_apart)
                .built_from_a_checkout_not_named(),
        };
        clusters_roots.push((name, dir, vec![folder]));
    }
    let mut clusters = Vec::new();
    for (name, path, roots) in clusters_roots {
        let cluster = clusters.len();
        let sources = of_cluster(cluster);
        // Without a bootstrap to say which repository this is, the roots' own source is.
        let mut this_repository = bootstrapped_repository.clone();
        if this_repository.checkouts.is_empty() {
            this_repository.checkouts = roots.iter().filter_map(source_of).collect();
        }
        this_repository
            .synced
            .extend(roots.iter().map(FluxKustomization::source_key));
        let guessed = bootstrapped && roots.iter().all(|root| root.folder);
        // Applied by hand, a folder without a kustomization file is `kubectl apply -f` (`-k`
        // fails there): each file applied as it is, no build to fail (jsgiraldoh/gitops-flux-
        // series keeps two versions of one object side by side).
        let applied_as_files = !bootstrapped
            && roots
                .iter()
                .all(|root| root.folder && !sources.kustomizations.contains_key(&root.path));
        let mut cluster_state = Cluster {
            name,
            path,
            applied_as_files,
            ..Cluster::default()
        };
        // The Flux Kustomizations are followed breadth first, one round at a time: a round's
        // builds run in parallel, and are taken in turn in the order a queue would take them
        // (the children of one round make the next), so that `substituteFrom` sees the same
        // ConfigMaps as if they were built one by one.
        let mut round: Vec<FluxKustomization> = roots;
        let mut seen = HashSet::new();
        let mut config_maps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let folders = std::cell::OnceCell::new();
        while !round.is_empty() {
            let mut followed = Vec::new();
            for kustomization in std::mem::take(&mut round) {
                if !seen.insert((
                    kustomization.origin,
                    kustomization.folder,
                    kustomization.path.clone(),
                )) {
                    continue;
                }
                let source = source_of(&kustomization);
                let other_source = || OtherSource {
                    kustomization: kustomization.name.clone(),
                    origin: kustomization.origin,
                    source_kind: kustomization.source_kind.clone(),
                    source_name: kustomization.source_name.clone(),
                    target_namespace: kustomization
                        .target_namespace
                        .as_ref()
                        .map(|namespace| namespace.value.to_string()),
                };
                let include = source.as_ref().and_then(|source| {
                    Include::holding(&source.includes, sources, &kustomization.path)
                });
                let message = if let Some(include) = include {
                    cluster_state.other_sources.push(OtherSource {
                        source_name: include.repository.clone(),
                        ..other_source()
                    });
                    format!(
                        "Flux Kustomization `{}`'s path `{}` lies in `{}`, where GitRepository `{}` includes the artifact of GitRepository `{}`: another repository's content, not followed",
                        kustomization.name,
                        kustomization.path,
                        include.to_path,
                        kustomization.source_name,
                        include.repository
                    )
                } else if from_elsewhere(&kustomization, source.as_ref()) {
                    cluster_state.other_sources.push(other_source());
                    let lacking = (sources.kind_of(&kustomization.path) == PathKind::Dir)
                        .then(|| {
                            lacking_a_folder.get(&source_identity(&kustomization, source.as_ref()))
                        })
                        .flatten();
                    match lacking {
                        Some((sibling, path)) => format!(
                            "Flux Kustomization `{}` syncs from GitRepository `{}`, which no bootstrap here syncs from, and whose Flux Kustomization `{sibling}` builds `{path}`, no folder of this repository: taken as another repository's (`{}` here is another folder of that name), not followed",
                            kustomization.name, kustomization.source_name, kustomization.path
                        ),
                        None => format!(
                            "Flux Kustomization `{}` syncs from GitRepository `{}`, which no bootstrap here syncs from, and its path `{}` is no folder of this repository: taken as another repository's, not followed",
                            kustomization.name, kustomization.source_name, kustomization.path
                        ),
                    }
                } else if follows_this_repository(&kustomization, source.as_ref(), &this_repository)
                {
                    followed.push(kustomization);
                    continue;
                } else if let Some((folder, generator)) = (kustomization.source_kind
                    == "ExternalArtifact")
                    .then(|| {
                        (artifacts
                            .get_or_init(|| Artifacts::new(sources.files, default_namespace, jobs)))
                        .folder_of(
                            &kustomization.source_namespace,
                            &kustomization.source_name,
                            &kustomization.path,
                            |namespace, name, written_in| {
                                let source =
                                    repositories.named(sources.files, namespace, name, written_in);
                                this_repository.follows(source)
                            },
                            |file| cluster_state.files.contains(&file),
                        )
                    })
                    .flatten()
                {
                    notes.push(Note {
                        message: format!(
                            "Flux Kustomization `{}` builds `{}` of ExternalArtifact `{}`, which the ArtifactGenerator in {} copies from this repository: built as `{folder}`",
                            kustomization.name,
                            kustomization.path,
                            kustomization.source_name,
                            sources.files[generator].source.path
                        ),
                        origin: kustomization.path_origin,
                    });
                    followed.push(FluxKustomization {
                        path: folder,
                        ..kustomization
                    });
                    continue;
                } else {
                    let reference = source
                        .as_ref()
                        .and_then(|source| this_repository.other_revision(source));
                    match reference {
                        Some(reference) => cluster_state.other_branches.push(OtherBranch {
                            path: kustomization.path.clone(),
                            kustomization: kustomization.name.clone(),
                            reference,
                        }),
                        None => cluster_state.other_sources.push(other_source()),
                    }
                    format!(
                        "Flux Kustomization `{}` syncs from {} `{}`, not this repository: not followed",
                        kustomization.name, kustomization.source_kind, kustomization.source_name
                    )
                };
                let note = Note {
                    message,
                    origin: kustomization.origin,
                };
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            let build = |kustomization: &FluxKustomization| {
                let native = kustomization.build(sources, yaml_paths, &includes_of(kustomization));
                let mut build = builder.build(sources, native, || {
                    kustomization.wrapper(sources, yaml_paths)
                });
                // kustomize-controller sets them as it applies what the build gave.
                if let (Ok(build), Some(labels)) = (&mut build, &kustomization.common_labels) {
                    render::add_to_metadata(
                        &mut build.resources,
                        "labels",
                        &labels.pairs,
                        labels.origin,
                    );
                }
                let substitutes = kustomization.substitutes();
                let files = sources.files;
                contents.read_ahead(&build, substitutes, files, default_namespace, jobs);
                build
            };
            crate::parallel::for_each_in_order(&followed, jobs, build, |index, mut result| {
                let kustomization = &followed[index];
                let mut fallback = BTreeSet::new();
                let mut salvaged = Vec::new();
                // What Flux applies of a Flux Kustomization its own build holds (a bootstrap whose
                // cluster folder patches it: equinor/radix-flux adds `postBuild` so) is what it
                // reconciles with from then on.
                let applied_self = result.as_ref().ok().and_then(|build| {
                    build.resources.iter().find_map(|resource| {
                        FluxKustomization::read(&resource.node, &kustomization.namespace)
                            .filter(|own| own.is_the_same_object_as(kustomization))
                    })
                });
                let variables = applied_self
                    .as_ref()
                    .filter(|own| own.substitutes())
                    .unwrap_or(kustomization)
                    .variables(&config_maps);
                if let (Ok(_), Some(name)) = (
                    &result,
                    variables.as_ref().and_then(Variables::invalid_name),
                ) {
                    result = Err(BuildError {
                        cause: Cause::InvalidVariable,
                        message: format!(
                            "postBuild variable `{name}` is not a valid name (letters, digits and `_`, not starting with a digit), so kustomize-controller fails the substitution of every object and applies nothing"
                        ),
                        // A name from a ConfigMap: the Kustomization that reads it.
                        origin: kustomization
                            .substitute
                            .as_ref()
                            .and_then(|substitute| substitute.get(name))
                            .map_or(kustomization.origin, |&(_, origin)| origin),
                    });
                }
                // What a guessed folder holds answers references; the cluster is not known to
                // apply it, so its files are not counted as the cluster's.
                let reaches = !kustomization.path_guessed;
                match &mut result {
                    Ok(build) => {
                        if reaches {
                            cluster_state.files.extend(build.read.iter().copied());
                        }
                        for resource in &mut build.resources {
                            resource.uncertain |= kustomization.uncertain;
                            if let Some(variables) = &variables {
                                variables.apply(&mut resource.node, sources.files);
                            }
                            record_config_map(resource, &mut config_maps);
                            record_chart_release(&mut cluster_state.chart_dirs, resource);
                            record_released_chart(
                                &mut cluster_state.released_charts,
                                resource,
                                || {
                                    charts_here
                                        .get_or_init(|| super::chart::folders_by_name(sources.tree))
                                },
                            );
                            if let Some(mut child) =
                                FluxKustomization::read(&resource.node, &kustomization.namespace)
                            {
                                child.uncertain = kustomization.uncertain;
                                child.path_guessed = kustomization.path_guessed;
                                // What applies a folder out of band (a fleet repository's
                                // Flux Kustomization, for a tenant's) may substitute its
                                // variables too: unknown here, as `substituteFrom` is.
                                // Without a `postBuild`, kustomize-controller substitutes
                                // nothing, so a variable left in a path is filled in by what
                                // the repository does not show: a mutating webhook that adds
                                // `postBuild.substitute` to every Flux Kustomization (xunholy's
                                // kustomize-mutating-webhook, in tslamars/k8s-gitops).
                                let filled_by = if kustomization.folder {
                                    Some(FilledBy::WhatAppliesTheFolder)
                                } else {
                                    match &variables {
                                        None => Some(FilledBy::SomethingUnseen),
                                        Some(v) if v.incomplete => Some(FilledBy::SubstituteFrom),
                                        Some(_) => None,
                                    }
                                };
                                let unknown_path = filled_by.filter(|_| is_unresolved(&child.path));
                                match (unknown_path, kustomization.path_guessed) {
                                    (None, _) => round.push(child),
                                    (Some(filled_by), false) => {
                                        round.extend(child.paths_it_may_have(
                                            sources.files,
                                            folders.get_or_init(|| {
                                                yaml_folders(sources.tree, yaml_paths)
                                            }),
                                            filled_by,
                                            notes,
                                        ))
                                    }
                                    // A guess inside a guess: what it applies is not followed.
                                    (Some(_), true) => {}
                                }
                            }
                        }
                    }
                    // Flux applies nothing of a failed build. What it would have applied, the
                    // Flux Kustomizations inside included, is still followed as uncertain: it
                    // answers references, and the one failure is the one diagnostic.
                    Err(_) => {
                        fallback = super::would_read(sources, yaml_paths, &kustomization.path);
                        let built = kustomization.kustomization(sources, yaml_paths).ok();
                        if let Some(built) = &built {
                            let includes = includes_of(kustomization);
                            salvaged = match render::build_leaving_out_failed_entries(
                                sources, built, &includes,
                            ) {
                                Some(build) => vec![build],
                                None => builds_of_listed_folders(sources, built, &includes),
                            };
                        }
                        for resource in salvaged.iter_mut().flat_map(|b| &mut b.resources) {
                            if let Some(variables) = &variables {
                                variables.apply(&mut resource.node, sources.files);
                            }
                        }
                        if reaches {
                            cluster_state.files.extend(fallback.iter().copied());
                        }
                        // Its Flux Kustomizations are followed from what kustomize-controller's
                        // kustomization lists (a sub-folder's kustomization with what it lists,
                        // PHACDataHub/iidi-tech's unlisted leftover `sync.yaml` left out), while
                        // every file of the fallback answers references (a file renamed while its
                        // kustomization still lists the old name).
                        let applying = built
                            .map(|built| super::files_reached(sources, &built))
                            .unwrap_or_default();
                        for &file in fallback.intersection(&applying) {
                            let Ok(yaml) = &sources.files[file].yaml else {
                                continue;
                            };
                            for &document in &yaml.documents {
                                let tree = Node::from_yaml(yaml, file, document);
                                // Its own copy as written (a bootstrap the cluster's folder
                                // patches) is no child: the one applied stays live.
                                if let Some(mut child) =
                                    FluxKustomization::read(&tree, &kustomization.namespace)
                                        .filter(|child| !child.is_the_same_object_as(kustomization))
                                {
                                    child.uncertain = true;
                                    child.path_guessed = kustomization.path_guessed;
                                    round.push(child);
                                }
                            }
                        }
                    }
                }
                on_render(ClusterRender {
                    cluster,
                    cluster_guessed: guessed
                        || (kustomization.folder && cluster_state.applied_as_files),
                    kustomization,
                    result,
                    fallback,
                    salvaged,
                });
            });
        }
        cluster_state.this_repository = this_repository;
        clusters.push(cluster_state);
    }
    let followed: BTreeSet<usize> = left_over_notes
        .into_iter()
        .filter(|&i| {
            let file = notes[i].origin.file();
            clusters.iter().any(|cluster| cluster.files.contains(&file))
        })
        .collect();
    let mut position = 0;
    notes.retain(|_| {
        position += 1;
        !followed.contains(&(position - 1))
    });
    (Some(clusters), repositories)
}

/// The bootstraps and FluxInstances that root another repository's cluster, each with what
/// says so: the folder it syncs is not here, and the repository it syncs is another than the
/// one the bootstraps whose folder is here sync (a cluster moved to a new fleet repository,
/// its old bootstrap left behind: spuxx-dev/flux), or, with no such bootstrap, than every
/// remote of the work tree while the path is the root's own folder under a prefix (a template
/// copied into each deploy repository under `fluxcd/`, its FluxInstance syncing `fluxcd/flux`
/// there: devopscoop/fluxcd-template), or whose copy a folder named as that repository holds
/// (ForcemCS/flux-cd-demo). Otherwise a missing folder is a fault, reported where its build
/// fails.
fn roots_of_another_repository<'k>(
    sources: &Sources,
    roots: impl Iterator<Item = &'k FluxKustomization>,
    source_of: impl Fn(&FluxKustomization) -> Option<GitSource>,
    builds_folders_from: &BTreeSet<Option<String>>,
) -> Vec<ElsewhereRoot> {
    let folder_here =
        |k: &FluxKustomization| k.path.is_empty() || sources.kind_of(&k.path) == PathKind::Dir;
    let (here, missing): (Vec<&FluxKustomization>, Vec<&FluxKustomization>) =
        roots.partition(|k| folder_here(k));
    if missing.is_empty() {
        return Vec::new();
    }
    let synced_here: BTreeSet<String> = here
        .into_iter()
        .filter_map(&source_of)
        .map(|source| source.repository)
        .collect();
    let remotes = std::cell::OnceCell::new();
    missing
        .into_iter()
        .filter_map(|root| {
            let repository = source_of(root)?.repository;
            if repository.is_empty() || is_unresolved(&repository) {
                return None;
            }
            let why = if !synced_here.is_empty() {
                let this = synced_here.iter().next().expect("not empty");
                (!synced_here.contains(&repository)).then(|| {
                    format!(
                        "`{repository}`, while the bootstraps whose folder is here sync `{this}`"
                    )
                })
            } else {
                // Only in the shape of a copy, the path's folder near the root's own file: the
                // path is a folder around that file under a prefix (`fluxcd/` + `flux`), or the
                // synced repository is itself copied into a folder named as it is
                // (`multi-tenant/flux-fleet/` + `clusters/staging`, syncing
                // `…/multi-tenant/flux-fleet`: ForcemCS/flux-cd-demo keeps several repositories
                // side by side), or the folder was moved under a new parent (`k8s/` +
                // `envs/prod`) while the path was not updated. That last is this repository's
                // fault where it syncs a remote of the work tree or a repository a Flux
                // Kustomization here builds a folder of (this one under an old name:
                // luca-iachini/fluxcd-demo, once fluxcd-test), and another repository's cluster
                // copied in where it syncs none (ip812/infra, holding ip812/apps' `envs/prod`
                // under `k8s/` with its bootstrap as written there).
                let file = &sources.files[root.origin.file()].source.path;
                let folder = moved_to(sources, root, file)?;
                let copy = if folder.left.is_empty() {
                    let holder = (folder.to.strip_suffix(&root.path))
                        .and_then(|holder| holder.strip_suffix('/'))
                        .filter(|holder| file_name(holder) == file_name(&repository));
                    holder.map(|holder| Some(holder.to_string()))
                } else {
                    let copied_under_a_prefix =
                        root.path == format!("{}/{}", folder.left, folder.to);
                    copied_under_a_prefix.then_some(None)
                };
                let remotes: &BTreeSet<String> = remotes.get_or_init(|| {
                    (sources.tree.remote_urls().iter())
                        .filter(|url| is_hosted(url))
                        .map(|url| repository_identity(url))
                        .collect()
                });
                let no_remote = !remotes.is_empty() && !remotes.contains(&repository);
                // A fork is named as what it was forked from: its folder named so is its own
                // (clusters moved under `k8s/` in a fork of `…/k8s`), not a copy of another.
                let named_as_a_remote =
                    || (remotes.iter()).any(|remote| file_name(remote) == file_name(&repository));
                let builds_a_folder_here =
                    || builds_folders_from.contains(&Some(repository.clone()));
                if named_as_a_remote() || (copy.is_none() && builds_a_folder_here()) {
                    return None;
                }
                return no_remote.then(|| ElsewhereRoot {
                    root: root.clone(),
                    why: format!("`{repository}`, which is no remote of this work tree"),
                    copy: copy.flatten(),
                });
            }?;
            Some(ElsewhereRoot {
                root: root.clone(),
                why,
                copy: None,
            })
        })
        .collect()
}

/// A bootstrap or FluxInstance that roots another repository's cluster.
struct ElsewhereRoot {
    root: FluxKustomization,
    /// Which repository it syncs, and why that is not this one.
    why: String,
    /// The folder holding a copy of that repository, where this one holds it.
    copy: Option<String>,
}

/// Where a bootstrap's cluster folder went, as the bootstrap's own file shows it.
struct MovedFolder {
    /// The folder around the file that ends as the bootstrap's `spec.path` does, or the whole
    /// path under a folder around the file.
    to: String,
    /// The folder the cluster's folder was moved out of: the part of `spec.path` before the
    /// segments `to` shares with it (the repository root when it shares them all).
    left: String,
}

/// Where a bootstrap's cluster folder was moved: its `spec.path` does not exist, but a folder
/// around its file ends as the path does, with the whole path under a new parent (`archive/` +
/// `clusters/vps1`) or with its last segments under a renamed one (`clusters/blimp` to
/// `old-clusters/blimp`). The folder sharing most segments wins. Else the whole path may lie
/// under a folder around the file (a FluxInstance's file is not in the folder it syncs). A path
/// that is merely wrong (a typo, a folder deleted) has no such copy near its file; a typo in a path's first segments
/// is told apart by the caller, by whether the folder left holds a live cluster.
fn moved_to(sources: &Sources, bootstrap: &FluxKustomization, file: &str) -> Option<MovedFolder> {
    if bootstrap.path.is_empty() || sources.kind_of(&bootstrap.path) != PathKind::Missing {
        return None;
    }
    let segments: Vec<&str> = bootstrap.path.split('/').collect();
    let to = file
        .match_indices('/')
        .map(|(at, _)| {
            let folder = &file[..at];
            let shared = folder
                .rsplit('/')
                .zip(segments.iter().rev())
                .take_while(|(around, named)| around == *named)
                .count();
            (folder, shared)
        })
        .filter(|&(_, shared)| shared > 0)
        .min_by_key(|&(_, shared)| std::cmp::Reverse(shared));
    if let Some((to, shared)) = to {
        return Some(MovedFolder {
            to: to.to_string(),
            left: segments[..segments.len() - shared].join("/"),
        });
    }
    // A FluxInstance's file is not in the folder it syncs: the whole tree moved under a folder
    // around its file (`.archive/` + `nas/flux/cluster`: cbc02009/k8s-home-ops).
    file.rmatch_indices('/')
        .map(|(at, _)| format!("{}/{}", &file[..at], bootstrap.path))
        .find(|moved| sources.kind_of(moved) == PathKind::Dir)
        .map(|to| MovedFolder {
            to,
            left: String::new(),
        })
}

/// The strongly connected components of a graph, `edges[i]` being the nodes `i` has an edge to:
/// each component's nodes in increasing order, the components in the order of their first nodes
/// (Tarjan's algorithm, with a stack of its own instead of recursion, whose depth a long chain of
/// Flux Kustomizations would set).
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNVISITED: usize = usize::MAX;
    let count = edges.len();
    let mut order = vec![UNVISITED; count];
    let mut lowest = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut visited = 0;
    for start in 0..count {
        if order[start] != UNVISITED {
            continue;
        }
        // Each node being visited and the position of the next of its edges to take.
        let mut path = vec![(start, 0)];
        order[start] = visited;
        lowest[start] = visited;
        visited += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&(node, next_edge)) = path.last() {
            if let Some(&target) = edges[node].get(next_edge) {
                if let Some(last) = path.last_mut() {
                    last.1 += 1;
                }
                if order[target] == UNVISITED {
                    order[target] = visited;
                    lowest[target] = visited;
                    visited += 1;
                    stack.push(target);
                    on_stack[target] = true;
                    path.push((target, 0));
                } else if on_stack[target] {
                    lowest[node] = lowest[node].min(order[target]);
                }
                continue;
            }
            path.pop();
            if let Some(&(parent, _)) = path.last() {
                lowest[parent] = lowest[parent].min(lowest[node]);
            }
            if lowest[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort_unstable();
                found.push(component);
            }
        }
    }
    found.sort_unstable_by_key(|component| component[0]);
    found
}

/// What the kustomizations' entries name: the graph every question "may this build hold an
/// object whose node comes from one of these files?" walks, made once. Every object of a build
/// comes from a file a `resources` entry names (followed through the folders with
/// kustomizations that `resources` and `components` lead to) or from a patch (a patch file, or
/// the file an inline patch is written in); nothing else gives a build its nodes.
struct Inclusions<'s> {
    leads: Vec<(&'s str, Leads<'s>)>,
}

/// What one kustomization's entries name directly.
struct Leads<'s> {
    /// Files named by patches and by `resources` and `components`.
    files: Vec<usize>,
    /// The folders with kustomizations that `resources` and `components` name.
    folders: Vec<&'s str>,
}

impl<'s> Leads<'s> {
    fn of(sources: &Sources<'s>, k: &Kustomization) -> Leads<'s> {
        let patches = k
            .patches_strategic_merge
            .iter()
            .chain(&k.patches)
            .chain(&k.patches_json6902);
        let patch_file = |patch: &Patch| match &patch.body {
            PatchBody::File(path) => render::join(&k.dir, &path.value)
                .and_then(|path| sources.by_path.get(path.as_str()).copied()),
            PatchBody::Inline(node) => Some(node.origin.file()),
        };
        let mut files: Vec<usize> = patches.filter_map(patch_file).collect();
        let mut folders = Vec::new();
        for entry in k.resources.iter().chain(&k.components) {
            let Some(path) = render::join(&k.dir, &entry.value) else {
                continue;
            };
            if let Some(&file) = sources.by_path.get(path.as_str()) {
                files.push(file);
            } else if let Some((folder, Ok(_))) = sources.kustomization_of(&path) {
                folders.push(folder);
            }
        }
        Leads { files, folders }
    }

    /// Whether a build of the kustomization may hold an object whose node comes from one of
    /// `files`, given the folders [`Inclusions::reaching`] them.
    fn reach(&self, files: &BTreeSet<usize>, reaching: &HashSet<&str>) -> bool {
        self.files.iter().any(|file| files.contains(file))
            || self.folders.iter().any(|folder| reaching.contains(folder))
    }
}

impl<'s> Inclusions<'s> {
    /// Made on up to `jobs` threads: a large repository has thousands of kustomizations.
    fn new(sources: &Sources<'s>, jobs: usize) -> Inclusions<'s> {
        let kustomizations: Vec<(&'s str, &'s Kustomization)> = sources
            .kustomizations
            .iter()
            .filter_map(|(dir, k)| Some((dir.as_str(), k.as_ref().ok()?)))
            .collect();
        let parts = crate::parallel::map_slices(&kustomizations, jobs, |slice| {
            slice
                .iter()
                .map(|&(dir, k)| (dir, Leads::of(sources, k)))
                .collect::<Vec<_>>()
        });
        Inclusions {
            leads: crate::parallel::concat(parts),
        }
    }

    /// The folders whose build may hold an object whose node comes from one of `files`: found
    /// backwards from the folders that name one.
    fn reaching(&self, files: &BTreeSet<usize>) -> HashSet<&'s str> {
        let mut including: HashMap<&str, Vec<&'s str>> = HashMap::new();
        let mut found = Vec::new();
        for (dir, leads) in &self.leads {
            if leads.files.iter().any(|file| files.contains(file)) {
                found.push(*dir);
            }
            for folder in &leads.folders {
                including.entry(folder).or_default().push(dir);
            }
        }
        let mut reaching = HashSet::new();
        while let Some(dir) = found.pop() {
            if reaching.insert(dir) {
                found.extend(including.get(dir).into_iter().flatten());
            }
        }
        reaching
    }
}

impl FluxKustomization {
    /// Whether its path is one folder of several its `spec.path` could be: a failure to build
    /// it is then no failure of Flux's.
    pub fn path_is_guessed(&self) -> bool {
        self.path_guessed
    }

    /// Whether it is the folder of out-of-band Flux Kustomizations, which a person applies.
    pub fn applied_by_hand(&self) -> bool {
        self.folder
    }

    /// Whether `other` is this object as another copy of it: the same namespace and name.
    fn is_the_same_object_as(&self, other: &FluxKustomization) -> bool {
        self.namespace == other.namespace && self.name == other.name && !other.folder
    }

    /// Whether its builds go through `postBuild` substitution.
    fn substitutes(&self) -> bool {
        self.substitute.is_some() || !self.substitute_from.is_empty()
    }

    /// The variables of `postBuild`, with those of `substituteFrom` ConfigMaps and Secrets the
    /// cluster's builds so far define; `None` without `postBuild`, and where it surely defines
    /// no variable: kustomize-controller then substitutes nothing, `${var:=default}` included,
    /// unless `substituteStrategy: Always` (fluxcd/pkg `kustomize_varsub.go`,
    /// `SubstituteVariables`: `len(vars) > 0 || options.Always`).
    fn variables(
        &self,
        config_maps: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Option<Variables> {
        if !self.substitutes() {
            return None;
        }
        let mut values = BTreeMap::new();
        let mut incomplete = false;
        for (kind, name, optional) in &self.substitute_from {
            match config_maps.get(&format!("{kind}/{}/{name}", self.namespace)) {
                Some(data) => values.extend(data.clone()),
                None => incomplete |= !optional || kind == "Secret",
            }
        }
        values.extend(
            self.substitute
                .iter()
                .flatten()
                .map(|(name, (value, _))| (name.clone(), value.clone())),
        );
        if values.is_empty() && !incomplete && !self.substitute_always {
            return None;
        }
        Some(Variables { values, incomplete })
    }
}

/// Every folder that holds a YAML file, at any depth.
fn yaml_folders<'t>(tree: &'t FileSet, yaml_paths: &'t ListedPaths) -> BTreeSet<&'t str> {
    let mut folders = BTreeSet::new();
    for path in yaml_paths.iter(tree) {
        for folder in folders_above(path) {
            if !folders.insert(folder) {
                break;
            }
        }
    }
    folders
}

/// Keeps a ConfigMap's (or Secret's) data for the `substituteFrom` of later builds.
fn record_config_map(
    resource: &Resource,
    config_maps: &mut BTreeMap<String, BTreeMap<String, String>>,
) {
    let kind = resource.kind();
    if resource.api_version() != "v1" || !matches!(kind, "ConfigMap" | "Secret") {
        return;
    }
    let mut data = resource
        .node
        .get("data")
        .map(Node::string_map)
        .unwrap_or_default();
    if kind == "Secret" {
        data = data
            .into_iter()
            .filter_map(|(key, value)| {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(value.as_bytes())
                    .ok()?;
                Some((key, String::from_utf8(decoded).ok()?))
            })
            .collect();
        data.extend(
            resource
                .node
                .get("stringData")
                .map(Node::string_map)
                .unwrap_or_default(),
        );
    }
    let namespace = match resource.namespace() {
        "" => "default",
        namespace => namespace,
    };
    config_maps.insert(format!("{kind}/{namespace}/{}", resource.name()), data);
}

/// Adds the chart folder a HelmRelease installs from this repository, with the namespace it
/// installs into (see [`chart_release`]).
pub(super) fn record_chart_release(
    chart_dirs: &mut BTreeMap<String, BTreeSet<String>>,
    resource: &Resource,
) {
    if let Some((dir, namespace)) = chart_release(resource) {
        chart_dirs.entry(dir).or_default().insert(namespace);
    }
}

/// Adds the chart a HelmRelease installs from a Helm repository (`spec.chart.spec.chart` of a
/// HelmRepository), by name, with the namespace it installs into, where one of `charts_here`
/// is so named: a repository that publishes its own charts installs them so
/// (public-transport/infrastructure's `kubernetes/.charts`, released by chart-releaser to its
/// GitHub Pages), and their templates may write the policies its markers name. The charts of
/// other publishers are not kept (a fleet's thousands of releases held 0.4 MB for nothing).
pub(super) fn record_released_chart<'a>(
    released: &mut BTreeMap<String, BTreeSet<String>>,
    resource: &Resource,
    charts_here: impl FnOnce() -> &'a BTreeMap<String, Vec<String>>,
) {
    let chart = helm_release_chart(resource).filter(|(source, chart, _)| {
        *source == "HelmRepository" && charts_here().contains_key(*chart)
    });
    if let Some((_, chart, namespace)) = chart {
        released
            .entry(chart.to_string())
            .or_default()
            .insert(namespace.to_string());
    }
}

/// The folder of this repository a HelmRelease uses as its chart (`spec.chart.spec.chart` from
/// a GitRepository), and the namespace it installs into (`spec.targetNamespace`, else its own;
/// empty when not known).
fn chart_release(resource: &Resource) -> Option<(String, String)> {
    match helm_release_chart(resource)? {
        // source-controller joins the path to the checkout's root whatever it starts with:
        // `_charts/api` is `./_charts/api`.
        ("GitRepository", path, namespace) => Some((normalize(path), namespace.to_string())),
        _ => None,
    }
}

/// A HelmRelease's chart (`spec.chart.spec`): its source's kind, the chart (a path, or a name),
/// and the namespace the release installs into.
fn helm_release_chart(resource: &Resource) -> Option<(&str, &str, &str)> {
    let object = &resource.node;
    let is_helm_release = object.path_str(&["kind"]) == Some("HelmRelease")
        && object
            .path_str(&["apiVersion"])
            .is_some_and(|v| v.starts_with("helm.toolkit.fluxcd.io/"));
    if !is_helm_release {
        return None;
    }
    let chart = object.path(&["spec", "chart", "spec"])?;
    let source = chart.path_str(&["sourceRef", "kind"])?;
    let name = chart.path_str(&["chart"]).filter(|name| !name.is_empty())?;
    let namespace = object
        .path_str(&["spec", "targetNamespace"])
        .unwrap_or(resource.namespace());
    Some((source, name, namespace))
}

/// Whether a Flux Kustomization builds from this repository: its GitRepository checks out this
/// repository at the same revision, or the repository does not define it (then it is assumed to
/// be this one).
fn follows_this_repository(
    kustomization: &FluxKustomization,
    source: Option<&GitSource>,
    this_repository: &ThisRepository,
) -> bool {
    kustomization.source_kind == "GitRepository" && this_repository.follows(source)
}

/// The Git checkout a Flux Kustomization builds from (a FluxInstance's: its sync); `None` for a
/// source of another kind or a GitRepository the repository does not define.
fn git_source(
    kustomization: &FluxKustomization,
    repositories: &GitRepositories,
    files: &[ScannedFile],
) -> Option<GitSource> {
    if kustomization.source_kind != "GitRepository" {
        return None;
    }
    match &kustomization.sync_url {
        Some(url) => Some(GitSource::new(url, kustomization.sync_ref.clone())),
        None => repositories
            .named(
                files,
                &kustomization.source_namespace,
                &kustomization.source_name,
                kustomization.origin.file(),
            )
            .cloned(),
    }
}

/// For each file a kustomization no other includes reaches, that kustomization's folder: Flux
/// Kustomizations it gathers from several folders are applied together.
fn gathering_kustomizations(sources: &Sources) -> BTreeMap<usize, String> {
    let mut gathered_by = BTreeMap::new();
    for dir in super::roots(sources.kustomizations) {
        for file in super::static_closure(sources, &dir) {
            gathered_by.entry(file).or_insert_with(|| dir.clone());
        }
    }
    gathered_by
}

/// What a name the API server accepts is, in the words of a message's help.
pub const ACCEPTED_NAMES: &str = "object names are lowercase letters, digits, `-` and `.`, beginning and ending with a letter or digit, at most 253 characters";

/// Whether the API server accepts `name` for an object (a DNS-1123 subdomain), each `${var}`
/// taken as filled in before it is applied (by `envsubst`, or Flux's `postBuild`).
pub fn kubernetes_accepts_name(name: &str) -> bool {
    // Most names hold no variable: judged as they are, nothing copied (the rules ask of every
    // image object).
    if !name.contains('$') {
        return is_dns_subdomain(name);
    }
    let mut filled = String::with_capacity(name.len());
    let mut rest = name;
    while let Some((before, after)) = rest.split_once("${") {
        let Some((_, after_variable)) = after.split_once('}') else {
            break;
        };
        filled.push_str(before);
        filled.push('x');
        rest = after_variable;
    }
    filled.push_str(rest);
    is_dns_subdomain(&filled)
}

/// Whether `name` is a DNS-1123 subdomain: dot-separated labels of lowercase letters, digits
/// and `-`, each beginning and ending with a letter or digit; 253 characters at most.
fn is_dns_subdomain(name: &str) -> bool {
    let label_ok = |label: &str| {
        let alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        label.bytes().next().is_some_and(alphanumeric)
            && label.bytes().next_back().is_some_and(alphanumeric)
            && label.bytes().all(|b| alphanumeric(b) || b == b'-')
    };
    name.len() <= 253 && name.split('.').all(label_ok)
}

/// The name Kubernetes accepts nearest to a refused `name` (`user_Service` → `user-service`):
/// lowercased, each run of other characters one `-`. None when that is no accepted name either,
/// or `name` holds a `${var}`, whose value this cannot know.
pub fn accepted_name_like(name: &str) -> Option<String> {
    if name.contains("${") {
        return None;
    }
    let mut accepted = String::with_capacity(name.len());
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            accepted.push(c);
        } else if !accepted.is_empty() && !accepted.ends_with('-') {
            accepted.push('-');
        }
    }
    let accepted = accepted.trim_end_matches(['-', '.']);
    kubernetes_accepts_name(accepted).then(|| accepted.to_string())
}

/// A Git URL reduced to host and path, so that `ssh://git@host/org/repo.git`,
/// `git@host:org/repo` and `https://host/org/repo` are one repository.
/// Whether a remote's URL names a repository on a server (`https://`, `ssh://`, `git@host:`),
/// not a folder of this machine (a clone of a local clone, as CI checks one out), which says
/// nothing of which hosted repository the work tree is.
fn is_hosted(url: &str) -> bool {
    match url.trim().split_once("://") {
        Some((scheme, _)) => !scheme.eq_ignore_ascii_case("file"),
        // scp-like `[user@]host:path`: a colon before any slash.
        None => url
            .find(':')
            .is_some_and(|colon| !url[..colon].contains('/')),
    }
}

fn repository_identity(url: &str) -> String {
    let url = url.trim();
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let without_user = without_scheme
        .split_once('@')
        .filter(|(user, _)| !user.contains('/'))
        .map_or(without_scheme, |(_, rest)| rest);
    let path = without_user.replacen(':', "/", 1);
    path.trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

/// The first folder on the way down from `prefix` (a folder's path and `/`, or empty) to
/// `path` that holds a kustomization: what kustomize-controller's generated kustomization of
/// the folder lists whole, in place of the files under it.
fn first_kustomization_folder(sources: &Sources, prefix: &str, path: &str) -> Option<String> {
    let relative = path.strip_prefix(prefix)?;
    let mut end = 0;
    while let Some(slash) = relative[end..].find('/') {
        end += slash;
        let folder = &path[..prefix.len() + end];
        if sources.kustomizations.contains_key(folder) {
            return Some(folder.to_string());
        }
        end += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::workspace_of;

    /// Each cluster of a repository of these files: its name and the files it applies.
    fn clusters_of(files: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        let (_dir, workspace) = workspace_of(files);
        workspace
            .model
            .clusters
            .iter()
            .map(|cluster| {
                let files = cluster.files.iter();
                let paths = files.map(|&f| workspace.files[f].source.path.clone());
                (cluster.name.clone(), paths.collect())
            })
            .collect()
    }

    /// A Flux Kustomization named `name` applying `path` from the source `kind`/`source`.
    fn flux_kustomization(name: &str, path: &str, kind: &str, source: &str) -> String {
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  path: {path}\n  sourceRef:\n    kind: {kind}\n    name: {source}\n")
    }

    fn git_repository(name: &str, url: &str) -> String {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  url: {url}\n  ref:\n    branch: main\n")
    }

    /// What `flux bootstrap` writes in `gotk-sync.yaml`: GitRepository and Kustomization
    /// `flux-system`, the latter applying `path`.
    fn flux_bootstrap(path: &str) -> String {
        git_repository("flux-system", "https://github.com/org/fleet")
            + "---\n"
            + &flux_kustomization("flux-system", path, "GitRepository", "flux-system")
    }

    const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: a\n  policy:\n    semver:\n      range: 1.x\n";

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nimage: x:1 # {\"$imagepolicy\": \"flux-system:a\"}\n";

    #[test]
    fn substitution_reaches_the_unread_body_of_an_image_object() {
        // The render leaves an image object's `spec` unread (no patch reaches it); the model
        // reads it whole, so `postBuild.substitute` must have been applied to that part too.
        let policy = POLICY.replace("range: 1.x", "range: ${RANGE}");
        let (_dir, workspace) =
            applied_with_post_build("    substitute:\n      RANGE: 1.x\n", &policy);
        assert_eq!(policy_ranges(&workspace), ["1.x"]);
    }

    /// The range of each ImagePolicy the index holds.
    fn policy_ranges(workspace: &crate::workspace::Workspace) -> Vec<String> {
        workspace
            .index
            .objects
            .iter()
            .filter_map(|object| match &object.spec {
                crate::flux::objects::Spec::Policy(spec) => spec.choices[0].argument.clone(),
                _ => None,
            })
            .map(|range| range.value.to_string())
            .collect()
    }

    fn applies_file(
        workspace: &crate::workspace::Workspace,
        cluster: &Cluster,
        path: &str,
    ) -> bool {
        cluster
            .files
            .iter()
            .any(|&file| workspace.files[file].source.path == path)
    }

    fn build_error_messages(workspace: &crate::workspace::Workspace) -> Vec<&str> {
        workspace
            .model
            .build_errors
            .iter()
            .map(|error| error.message.as_str())
            .collect()
    }

    /// The model's notes that mention `text`.
    fn notes_mentioning<'w>(
        workspace: &'w crate::workspace::Workspace,
        text: &str,
    ) -> Vec<&'w str> {
        workspace
            .model
            .notes
            .iter()
            .map(|note| note.message.as_str())
            .filter(|message| message.contains(text))
            .collect()
    }

    /// A cluster whose Flux Kustomization `apps` applies `policy` with this `postBuild`.
    fn applied_with_post_build(
        post_build: &str,
        policy: &str,
    ) -> (tempfile::TempDir, crate::workspace::Workspace) {
        let apps = flux_kustomization("apps", "./apps", "GitRepository", "flux-system")
            + "  postBuild:\n"
            + post_build;
        workspace_of(&[
            (
                "clusters/home/gotk-sync.yaml",
                &flux_bootstrap("./clusters/home"),
            ),
            ("clusters/home/apps.yaml", &apps),
            ("apps/policy.yaml", policy),
        ])
    }

    #[test]
    fn with_no_variable_flux_substitutes_nothing_unless_told_to_always() {
        let policy = POLICY.replace("range: 1.x", "range: ${RANGE:=1.x}");
        let ranges = |post_build: &str| -> Vec<String> {
            let (_dir, workspace) = applied_with_post_build(post_build, &policy);
            policy_ranges(&workspace)
        };
        assert_eq!(ranges("    substitute: {}\n"), ["${RANGE:=1.x}"]);
        // An optional ConfigMap the repository does not hold adds no variable either.
        let optional = "    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n        optional: true\n";
        assert_eq!(ranges(optional), ["${RANGE:=1.x}"]);
        let always = "    substituteStrategy: Always\n    substitute: {}\n";
        assert_eq!(ranges(always), ["1.x"]);
        assert_eq!(ranges("    substitute:\n      OTHER: x\n"), ["1.x"]);
        // A Secret's variables are unknown here: substituted, with the value left open.
        let secret = "    substituteFrom:\n      - kind: Secret\n        name: vars\n";
        assert_eq!(ranges(secret), ["${RANGE:=1.x}"]);
    }

    #[test]
    fn a_variable_name_kustomize_controller_refuses_fails_the_whole_kustomization() {
        let errors = |post_build: &str| -> Vec<String> {
            let (_dir, workspace) = applied_with_post_build(post_build, POLICY);
            let policies = workspace.index.of_kind(crate::flux::Kind::ImagePolicy);
            assert!(policies.count() == 1, "what it would apply still answers");
            build_error_messages(&workspace)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        assert!(errors("    substitute:\n      CLUSTER_1: home\n      _x: y\n").is_empty());
        let [error] = &errors("    substitute:\n      cluster-name: home\n")[..] else {
            panic!("one error");
        };
        assert!(error.contains("`cluster-name`"), "{error}");
        assert_eq!(errors("    substitute:\n      1st: x\n").len(), 1);
    }

    #[test]
    fn a_flux_kustomization_of_another_source_applies_nothing_here() {
        // `path: ./` of an OCI artifact or a bucket is their root, not this repository's: the
        // bootstrap is `cluster`, which applies its own folder.
        let cluster = flux_kustomization("cluster", "./clusters/prod", "GitRepository", "home");
        let apps = flux_kustomization("apps", "./apps", "GitRepository", "home");
        let oci = flux_kustomization("flux", "./", "OCIRepository", "flux-manifests");
        let bucket = flux_kustomization("bucket", "./", "Bucket", "artifacts");
        let applied = vec![
            "apps/deploy.yaml".to_string(),
            "clusters/prod/apps.yaml".to_string(),
            "clusters/prod/bucket.yaml".to_string(),
            "clusters/prod/cluster.yaml".to_string(),
            "clusters/prod/flux.yaml".to_string(),
        ];
        assert_eq!(
            clusters_of(&[
                ("clusters/prod/cluster.yaml", &cluster),
                ("clusters/prod/apps.yaml", &apps),
                ("clusters/prod/flux.yaml", &oci),
                ("clusters/prod/bucket.yaml", &bucket),
                ("apps/deploy.yaml", DEPLOYMENT),
            ]),
            vec![("clusters/prod".to_string(), applied.clone())]
        );
        // A GitRepository of another repository than the one `flux bootstrap` syncs.
        let bootstrapped_apps =
            flux_kustomization("apps", "./apps", "GitRepository", "flux-system");
        let bootstrap = flux_bootstrap("./clusters/prod");
        let other = git_repository("other", "https://github.com/org/other")
            + "---\n"
            + &flux_kustomization("other", "./", "GitRepository", "other");
        assert_eq!(
            clusters_of(&[
                ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
                ("clusters/prod/other.yaml", &other),
                ("clusters/prod/apps.yaml", &bootstrapped_apps),
                ("apps/deploy.yaml", DEPLOYMENT),
            ]),
            vec![(
                "clusters/prod".to_string(),
                vec![
                    "apps/deploy.yaml".to_string(),
                    "clusters/prod/apps.yaml".to_string(),
                    "clusters/prod/flux-system/gotk-sync.yaml".to_string(),
                    "clusters/prod/other.yaml".to_string(),
                ]
            )]
        );
    }

    #[test]
    fn a_git_repository_no_folder_here_is_built_from_is_another_repository_even_at_its_root() {
        // gateway-api's CRDs: no `spec.path`, the root of that repository. No bootstrap says
        // which repository this is; the Flux Kustomizations building `kubernetes/...` do.
        let gateway_api = git_repository(
            "gateway-api",
            "https://github.com/kubernetes-sigs/gateway-api",
        ) + "---\n"
            + &flux_kustomization("gateway-api", "./", "GitRepository", "gateway-api");
        let crds = (
            "kubernetes/apps/crds/gateway-api.yaml",
            gateway_api.as_str(),
        );
        let crds_ks = flux_kustomization("crds", "./kubernetes/apps/crds", "GitRepository", "home");
        let loose = ("loose/deploy.yaml", DEPLOYMENT);
        // Its own GitRepository defined (carpenike/k8s-gitops): `cluster` applies its own folder.
        let cluster = git_repository("home", "https://github.com/org/home")
            + "---\n"
            + &flux_kustomization("cluster", "./kubernetes/flux", "GitRepository", "home");
        assert_eq!(
            clusters_of(&[
                ("kubernetes/flux/config/cluster.yaml", &cluster),
                ("kubernetes/flux/crds.yaml", &crds_ks),
                crds,
                loose,
            ]),
            vec![(
                "kubernetes/flux".to_string(),
                vec![
                    "kubernetes/apps/crds/gateway-api.yaml".to_string(),
                    "kubernetes/flux/config/cluster.yaml".to_string(),
                    "kubernetes/flux/crds.yaml".to_string(),
                ]
            )]
        );
        // Its own GitRepository made by a FluxInstance out of sight (Chrtol/home-cluster).
        let flux_system_crds = flux_kustomization(
            "crds",
            "./kubernetes/apps/crds",
            "GitRepository",
            "flux-system",
        );
        assert_eq!(
            clusters_of(&[
                ("kubernetes/flux/cluster/ks.yaml", &flux_system_crds),
                crds,
                loose
            ]),
            vec![(
                "kubernetes/flux/cluster".to_string(),
                vec![
                    "kubernetes/apps/crds/gateway-api.yaml".to_string(),
                    "kubernetes/flux/cluster/ks.yaml".to_string(),
                ]
            )]
        );
        // Nothing tells this repository apart from it: it may be this one, whose root it builds.
        let everything = vec![
            "kubernetes/apps/crds/gateway-api.yaml".to_string(),
            "loose/deploy.yaml".to_string(),
        ];
        assert_eq!(
            clusters_of(&[crds, loose]),
            vec![("the repository root".to_string(), everything.clone())]
        );
        // The URL a Flux Kustomization builds a folder of is this repository's, root and all.
        let same_url = git_repository("gateway-api", "https://github.com/org/home")
            + "---\n"
            + &flux_kustomization("gateway-api", "./", "GitRepository", "gateway-api");
        let roots = clusters_of(&[
            ("kubernetes/flux/config/cluster.yaml", &cluster),
            ("kubernetes/flux/crds.yaml", &crds_ks),
            ("kubernetes/apps/crds/gateway-api.yaml", &same_url),
            loose,
        ]);
        assert!(roots
            .iter()
            .any(|(_, files)| files.contains(&everything[1])));
    }

    #[test]
    fn a_copy_flux_never_receives_is_not_the_bootstrap() {
        // `tmpl/` holds the template `cluster.yaml` is rendered from; `.sourceignore` keeps it
        // from Flux. Counted, it would apply `cluster` and leave no root.
        let cluster = flux_kustomization("cluster", "./kubernetes/flux", "GitRepository", "home");
        let apps = flux_kustomization("apps", "./kubernetes/apps", "GitRepository", "home");
        let home = git_repository("home", "https://github.com/org/home");
        let template = git_repository("home", "${BOOTSTRAP_GIT_REPOSITORY}");
        let files = [
            (
                "kubernetes/flux/config/cluster.yaml",
                home + "---\n" + &cluster,
            ),
            ("kubernetes/flux/apps.yaml", apps),
            ("kubernetes/apps/deploy.yaml", DEPLOYMENT.to_string()),
            (
                "tmpl/kubernetes/flux/cluster.yaml",
                template + "---\n" + &cluster,
            ),
            (".sourceignore", "tmpl/\n".to_string()),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        assert_eq!(
            clusters_of(&files),
            vec![(
                "kubernetes/flux".to_string(),
                vec![
                    "kubernetes/apps/deploy.yaml".to_string(),
                    "kubernetes/flux/apps.yaml".to_string(),
                    "kubernetes/flux/config/cluster.yaml".to_string(),
                ]
            )]
        );
    }

    /// A child's `spec.path` whose variables come from a `substituteFrom` only the cluster holds
    /// is one of the folders it could be, each followed as uncertain: what they define answers
    /// references, but the cluster is not known to apply their files, and how they build is no
    /// error; not a folder around its own file (it would apply itself). Without `postBuild`,
    /// the `${…}` stays in the path and kustomize-controller fails on it.
    #[test]
    fn a_path_from_unknown_variables_is_any_folder_it_could_be() {
        let bootstrap = flux_bootstrap("./clusters/prod");
        let child = flux_kustomization("app", "./apps/${ENV}", "GitRepository", "flux-system");
        let parent = |post_build: &str| {
            flux_kustomization("parent", "./parents", "GitRepository", "flux-system") + post_build
        };
        let from_cluster =
            "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n";
        let workspace_with = |parent: &str| {
            workspace_of(&[
                ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
                ("clusters/prod/parent.yaml", parent),
                ("parents/app.yaml", &child),
                ("apps/dev/policy.yaml", POLICY),
                (
                    "apps/prod/kustomization.yaml",
                    "resources: [missing.yaml]\n",
                ),
                ("other/deploy.yaml", DEPLOYMENT),
            ])
        };
        let (_dir, workspace) = workspace_with(&parent(from_cluster));
        assert!(workspace.index.policy("flux-system", "a").is_some());
        let cluster = &workspace.model.clusters[0];
        assert!(!applies_file(&workspace, cluster, "apps/dev/policy.yaml"));
        assert!(build_error_messages(&workspace).is_empty());
        assert_eq!(
            notes_mentioning(&workspace, "followed into each folder it could be (2)").len(),
            1
        );
        // Without a `postBuild`, what fills the variable in is not in the repository (a mutating
        // webhook): the same folders, told why.
        let (_dir, workspace) = workspace_with(&parent(""));
        assert!(build_error_messages(&workspace).is_empty());
        assert_eq!(
            notes_mentioning(&workspace, "its parent has no `postBuild`").len(),
            1
        );
        // No folder could be it: the build fails as Flux's would.
        let (_dir, workspace) = workspace_of(&[
            ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
            ("clusters/prod/parent.yaml", &parent("")),
            ("parents/app.yaml", &child.replace("./apps/", "./nowhere/")),
            ("apps/dev/policy.yaml", POLICY),
        ]);
        assert_eq!(
            build_error_messages(&workspace),
            ["the Flux Kustomization's path `nowhere/${ENV}` does not exist"]
        );
    }

    #[test]
    fn a_git_repository_defined_nowhere_is_this_one_unless_its_path_is_not_here() {
        let bootstrap = flux_bootstrap("./clusters/prod");
        // `policies`: defined nowhere, a path that is not here. `local`: defined nowhere, a
        // path that is here. `typo`: the bootstrap's own source, a path that is not here.
        let policies =
            flux_kustomization("policies", "./pod-security", "GitRepository", "policies");
        let local = flux_kustomization("local", "./apps", "GitRepository", "local");
        let typo = flux_kustomization("typo", "./aps", "GitRepository", "flux-system");
        let (_dir, workspace) = workspace_of(&[
            ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
            ("clusters/prod/policies.yaml", &policies),
            ("clusters/prod/local.yaml", &local),
            ("clusters/prod/typo.yaml", &typo),
            ("apps/deploy.yaml", DEPLOYMENT),
        ]);
        let cluster = &workspace.model.clusters[0];
        let applies = |path: &str| applies_file(&workspace, cluster, path);
        assert!(applies("apps/deploy.yaml"));
        let errors = build_error_messages(&workspace);
        assert_eq!(
            errors,
            ["the Flux Kustomization's path `aps` does not exist"]
        );
        assert!(workspace.model.notes.iter().any(|note| note
            .message
            .starts_with("Flux Kustomization `policies` syncs from GitRepository `policies`, which no bootstrap here syncs from")));
    }

    #[test]
    fn what_the_includes_of_its_git_repository_hold_is_another_repositorys_content() {
        // `shared-apps` is copied to `shared`, `platform` to its name; `overlay` to `apps`,
        // which this repository has, so that copy fails and adds nothing there.
        let includes = "  include:\n    - repository:\n        name: shared-apps\n      toPath: ./shared/\n    - repository:\n        name: platform\n      fromPath: config\n    - repository:\n        name: overlay\n      toPath: apps\n";
        let bootstrap = git_repository("flux-system", "https://github.com/org/fleet")
            + includes
            + "---\n"
            + &flux_kustomization(
                "flux-system",
                "./clusters/prod",
                "GitRepository",
                "flux-system",
            );
        let kustomization =
            |name: &str, path: &str| flux_kustomization(name, path, "GitRepository", "flux-system");
        let (shared, platform) = (
            kustomization("shared", "./shared/apps"),
            kustomization("platform", "./platform"),
        );
        let (infra, typo) = (
            kustomization("infra", "./infra"),
            kustomization("typo", "./apps/missing"),
        );
        let infra_kustomization = "resources:\n  - deploy.yaml\n  - policy.yaml\n  - ../shared/infra\ncomponents:\n  - ../platform/monitoring\npatches:\n  - path: ../shared/patches/deploy.yaml\nconfigMapGenerator:\n  - name: settings\n    files:\n      - ../shared/settings.env\n";
        let (_dir, workspace) = workspace_of(&[
            ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
            ("clusters/prod/shared.yaml", &shared),
            ("clusters/prod/platform.yaml", &platform),
            ("clusters/prod/infra.yaml", &infra),
            ("clusters/prod/typo.yaml", &typo),
            ("infra/kustomization.yaml", infra_kustomization),
            ("infra/deploy.yaml", DEPLOYMENT),
            ("infra/policy.yaml", POLICY),
            ("apps/deploy.yaml", DEPLOYMENT),
        ]);
        let errors = build_error_messages(&workspace);
        assert_eq!(
            errors,
            ["the Flux Kustomization's path `apps/missing` does not exist"]
        );
        let cluster = &workspace.model.clusters[0];
        let applies = |path: &str| applies_file(&workspace, cluster, path);
        assert!(applies("infra/deploy.yaml"));
        // The included patch may change the policy: rules about its content stay silent.
        let policies: Vec<bool> = workspace
            .index
            .objects
            .iter()
            .map(|object| object.uncertain)
            .collect();
        assert_eq!(policies, [true]);
        let other_sources: Vec<(&str, &str)> = cluster
            .other_sources
            .iter()
            .map(|other| (other.kustomization.as_str(), other.source_name.as_str()))
            .collect();
        assert_eq!(
            other_sources,
            [("platform", "platform"), ("shared", "shared-apps")]
        );
        let notes = notes_mentioning(&workspace, "include");
        assert_eq!(
            notes,
            [
                "Flux Kustomization `platform`'s path `platform` lies in `platform`, where GitRepository `flux-system` includes the artifact of GitRepository `platform`: another repository's content, not followed",
                "Flux Kustomization `shared`'s path `shared/apps` lies in `shared`, where GitRepository `flux-system` includes the artifact of GitRepository `shared-apps`: another repository's content, not followed",
                "resource `../shared/infra` lies in `shared`, where the checkout holds GitRepository `shared-apps`'s included artifact: its content is unknown",
                // In kustomize's order: resources, generators, components, patches.
                "generator input `../shared/settings.env` lies in `shared`, where the checkout holds GitRepository `shared-apps`'s included artifact: its content is unknown",
                "component `../platform/monitoring` lies in `platform`, where the checkout holds GitRepository `platform`'s included artifact: its content is unknown",
                "patch file `../shared/patches/deploy.yaml` lies in `shared`, where the checkout holds GitRepository `shared-apps`'s included artifact: its content is unknown",
            ]
        );
    }

    #[test]
    fn a_bootstrap_each_cluster_folder_patches_is_one_per_cluster_with_its_variables() {
        // One `flux-system` for every cluster, its path and variables patched in by each
        // cluster's folder (not one named `flux-system`); the child's path takes the variables.
        let shared = flux_kustomization("flux-system", "./clusters/${ENV}", "GitRepository", "git");
        let patch = |env: &str| {
            format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/{env}\n  postBuild:\n    substitute:\n      ENV: {env}\n")
        };
        let cluster = |env: &str| {
            format!("resources:\n  - ../../flux/ks.yaml\n  - ../../apps/ks.yaml\npatches:\n  - path: ../../flux/{env}.yaml\n")
        };
        let app = flux_kustomization("app", "./apps/${ENV}", "GitRepository", "git");
        let (dev, prod) = (patch("dev"), patch("prod"));
        let (dev_cluster, prod_cluster) = (cluster("dev"), cluster("prod"));
        let expected = |env: &str| {
            let mut files = vec![
                "apps/ks.yaml".to_string(),
                format!("apps/{env}/deploy.yaml"),
                format!("clusters/{env}/kustomization.yaml"),
                format!("flux/{env}.yaml"),
                "flux/ks.yaml".to_string(),
            ];
            files.sort();
            (format!("clusters/{env}"), files)
        };
        assert_eq!(
            clusters_of(&[
                ("flux/ks.yaml", &shared),
                ("flux/dev.yaml", &dev),
                ("flux/prod.yaml", &prod),
                ("clusters/dev/kustomization.yaml", &dev_cluster),
                ("clusters/prod/kustomization.yaml", &prod_cluster),
                ("apps/ks.yaml", &app),
                ("apps/dev/deploy.yaml", DEPLOYMENT),
                ("apps/prod/deploy.yaml", DEPLOYMENT),
            ]),
            vec![expected("dev"), expected("prod")]
        );
    }

    #[test]
    fn a_patched_bootstrap_its_cluster_folder_renders_too_is_one_cluster() {
        // `clusters/sbox` includes `flux-system`, where the shared bootstrap gets its path, and
        // patches something of its own: both folders render the bootstrap.
        let shared = flux_kustomization("flux-system", "", "GitRepository", "git");
        let patch = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  path: ./clusters/sbox\n";
        let apps = flux_kustomization("apps", "./apps", "GitRepository", "git");
        let files = [
            "apps/deploy.yaml",
            "clusters/sbox/apps.yaml",
            "clusters/sbox/flux-system/kustomization.yaml",
            "clusters/sbox/kustomization.yaml",
            "flux/gotk-sync.yaml",
            "flux/sbox.yaml",
        ];
        assert_eq!(
            clusters_of(&[
                ("flux/gotk-sync.yaml", &shared),
                ("flux/sbox.yaml", patch),
                ("clusters/sbox/flux-system/kustomization.yaml", "resources:\n  - ../../../flux/gotk-sync.yaml\npatches:\n  - path: ../../../flux/sbox.yaml\n"),
                ("clusters/sbox/kustomization.yaml", "resources:\n  - flux-system\n  - apps.yaml\npatches:\n  - patch: |-\n      - op: add\n        path: /spec/prune\n        value: true\n    target:\n      name: apps\n"),
                ("clusters/sbox/apps.yaml", &apps),
                ("apps/deploy.yaml", DEPLOYMENT),
            ]),
            vec![(
                "clusters/sbox".to_string(),
                files.iter().map(|f| f.to_string()).collect()
            )]
        );
    }

    #[test]
    fn a_loop_nothing_outside_applies_is_a_cluster_of_its_own() {
        let git = |name: &str, path: &str| flux_kustomization(name, path, "GitRepository", "git");
        // Each loop's bootstrap names its cluster: the member called `flux-system`, else the
        // first written.
        let expected = |name: &str, files: &[&str]| {
            let files = files.iter().map(|f| f.to_string()).collect();
            (name.to_string(), files)
        };
        assert_eq!(
            clusters_of(&[
                ("a/boot/sync.yaml", &git("flux-system", "./a/cluster")),
                ("a/cluster/ks.yaml", &git("apps", "./a/apps")),
                ("a/apps/ks.yaml", &git("back", "./a/boot")),
                ("a/apps/deploy.yaml", DEPLOYMENT),
                ("b/x/ks.yaml", &git("two", "./b/y")),
                ("b/y/ks.yaml", &git("one", "./b/x")),
            ]),
            vec![
                expected(
                    "a/cluster",
                    &[
                        "a/apps/deploy.yaml",
                        "a/apps/ks.yaml",
                        "a/boot/sync.yaml",
                        "a/cluster/ks.yaml",
                    ]
                ),
                expected("b/y", &["b/x/ks.yaml", "b/y/ks.yaml"]),
            ]
        );
    }

    #[test]
    fn a_folder_its_kustomization_leaves_out_is_a_root_only_when_nothing_else_is() {
        let git = |name: &str, path: &str| flux_kustomization(name, path, "GitRepository", "git");
        let apps = "resources:\n  - ./default\n";
        let gathers_ks = "resources:\n  - ./longhorn/ks.yaml\n";
        // `apps/unused/` is set aside: `apps/kustomization.yaml` lists only `./default`.
        let left_over = [
            ("apps/kustomization.yaml", apps),
            ("apps/default/deploy.yaml", DEPLOYMENT),
            ("apps/unused/old/ks.yaml", &git("old", "./apps/old/app")),
            ("apps/unused/storage/kustomization.yaml", gathers_ks),
            (
                "apps/unused/storage/longhorn/ks.yaml",
                &git("longhorn", "./apps/longhorn"),
            ),
        ];
        let cluster = [
            (
                "clusters/main/kustomization.yaml",
                "resources:\n  - apps.yaml\n",
            ),
            ("clusters/main/apps.yaml", &git("apps", "./apps")),
        ];
        let names = |files: &[(&str, &str)]| -> Vec<String> {
            clusters_of(files)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(
            names(&[&cluster[..], &left_over].concat()),
            ["clusters/main"]
        );
        // With no other root, the folders were applied by hand: each is a cluster.
        assert_eq!(
            names(&left_over),
            ["apps/unused/old", "apps/unused/storage"]
        );
        let (_dir, workspace) = workspace_of(&[&cluster[..], &left_over].concat());
        let notes: Vec<&str> = workspace
            .model
            .notes
            .iter()
            .map(|n| n.message.as_str())
            .collect();
        assert!(notes.contains(&"Flux Kustomization `longhorn` is applied by nothing here, and the kustomization over it, `apps/kustomization.yaml`, does not reach it: taken as left over, not followed"), "{notes:?}");
    }

    #[test]
    fn a_flux_kustomization_a_cluster_applies_is_not_called_left_over() {
        // PHACDataHub/infra-core: `k8s/infra` sits beside the bootstrapped `k8s/flux-system`, so
        // it is applied out of band; its generated listing holds `k8s/infra/platform/sync.yaml`,
        // which the bootstrap rule alone would call left over.
        let git =
            |name: &str, path: &str| flux_kustomization(name, path, "GitRepository", "flux-system");
        let bootstrap = format!(
            "{}---\n{}",
            git_repository("flux-system", "https://github.com/org/infra"),
            git("flux-system", "./k8s/flux-system")
        );
        let files = [
            ("k8s/flux-system/gotk-sync.yaml", bootstrap.as_str()),
            (
                "k8s/flux-system/kustomization.yaml",
                "resources:\n  - gotk-sync.yaml\n",
            ),
            (
                "k8s/infra/sync.yaml",
                &git("platform", "./k8s/infra/platform/app"),
            ),
            (
                "k8s/infra/platform/sync.yaml",
                &git("platform-app", "./k8s/infra/platform/app"),
            ),
            ("k8s/infra/platform/app/deploy.yaml", DEPLOYMENT),
            ("archive/sync.yaml", &git("old", "./k8s/infra/platform/app")),
        ];
        let (_dir, workspace) = workspace_of(&files);
        let clusters: Vec<&str> = workspace
            .model
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(clusters, ["k8s/flux-system", "k8s/infra"]);
        let left_over = notes_mentioning(&workspace, "taken as left over");
        // The one no cluster applies keeps its note.
        assert_eq!(
            left_over,
            ["Flux Kustomization `old` is applied by nothing here while the repository has its own bootstrap: taken as left over, not followed"]
        );
    }

    #[test]
    fn a_template_kubernetes_would_refuse_is_no_root() {
        let git = |name: &str, path: &str| flux_kustomization(name, path, "GitRepository", "git");
        let scaffold = git("$APPNAME$", "./apps/$NAMESPACE$/$APPNAME$/app");
        assert_eq!(
            clusters_of(&[
                ("flux/apps.yaml", &git("apps", "./apps")),
                ("apps/deploy.yaml", DEPLOYMENT),
                ("tools/scaffold/appname/ks.yaml", &scaffold),
            ]),
            vec![(
                "flux".to_string(),
                vec!["apps/deploy.yaml".to_string(), "flux/apps.yaml".to_string()]
            )]
        );
        assert!(clusters_of(&[("tools/scaffold/appname/ks.yaml", &scaffold)]).is_empty());
    }

    #[test]
    fn a_remote_on_a_server_is_hosted_and_a_folder_is_not() {
        for url in [
            "https://github.com/org/fleet.git",
            "ssh://git@github.com/org/fleet",
            "git@github.com:org/fleet.git",
            "forgejo.home:org/fleet",
        ] {
            assert!(is_hosted(url), "{url}");
        }
        for url in [
            "/work/main",
            "../fleet",
            "file:///srv/git/fleet.git",
            "./a:b",
        ] {
            assert!(!is_hosted(url), "{url}");
        }
    }

    #[test]
    fn names_kubernetes_accepts() {
        for name in ["apps", "cluster-apps.v2", "${cluster}-apps", "${APP:=web}"] {
            assert!(kubernetes_accepts_name(name), "{name}");
        }
        for name in [
            "$APPNAME$",
            "$APPNAME$-postgres",
            "Apps",
            "",
            "-apps",
            "a..b",
            "${app",
        ] {
            assert!(!kubernetes_accepts_name(name), "{name}");
        }
        assert!(!kubernetes_accepts_name(&"a".repeat(254)));
    }

    #[test]
    fn the_accepted_name_like_a_refused_one() {
        for (refused, accepted) in [
            ("user_Service", Some("user-service")),
            ("_My__App_", Some("my-app")),
            ("Apps", Some("apps")),
            ("${app}_web", None),
            ("___", None),
            ("a..b", None),
        ] {
            assert_eq!(
                accepted_name_like(refused).as_deref(),
                accepted,
                "{refused}"
            );
        }
    }

    #[test]
    fn strongly_connected_components() {
        // 0 → 1 → 2 → 0 a loop, left by 2 → 3; 3 applies itself; 4 → 3; 5 alone.
        let edges = [vec![1], vec![2], vec![0, 3], vec![3], vec![3], vec![]];
        assert_eq!(
            strongly_connected(&edges),
            vec![vec![0, 1, 2], vec![3], vec![4], vec![5]]
        );
        // Found from the last node first, numbered still by their first nodes.
        let edges = [vec![], vec![2], vec![1], vec![0]];
        assert_eq!(
            strongly_connected(&edges),
            vec![vec![0], vec![1, 2], vec![3]]
        );
    }

    /// An ImageUpdateAutomation `name` of GitRepository `source`, checking out `checkout` when
    /// given, updating `path`.
    fn image_automation(name: &str, source: &str, checkout: Option<&str>, path: &str) -> String {
        let checkout = checkout.map_or(String::new(), |branch| {
            format!("    checkout:\n      ref:\n        branch: {branch}\n")
        });
        format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  git:\n{checkout}    commit:\n      author:\n        email: bot@example.com\n  update:\n    path: {path}\n")
    }

    /// Where each automation of a repository of these files commits, when not this checkout.
    fn other_checkouts(files: &[(&str, &str)]) -> Vec<(String, Option<OtherCheckout>)> {
        let (_dir, workspace) = workspace_of(files);
        let automations = workspace
            .index
            .of_kind(crate::flux::Kind::ImageUpdateAutomation);
        let mut found: Vec<_> = automations
            .map(|a| {
                (
                    a.name.value.to_string(),
                    workspace.model.other_checkout(a).cloned(),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn an_automation_commits_to_the_checkout_its_git_repository_and_ref_name() {
        let bootstrap = flux_bootstrap("./clusters/prod");
        let automations = [
            // The bootstrap's own source, at its branch: this checkout, whatever the path.
            image_automation("own", "flux-system", None, "./clusters/missing"),
            image_automation("own-main", "flux-system", Some("main"), "./clusters/prod"),
            // The bootstrap's source on another branch.
            image_automation("release", "flux-system", Some("release"), "./apps"),
            // Defined here with another repository's URL.
            image_automation("other", "app-config", None, "./clusters/prod"),
            // Defined here with this repository's URL and another `ref`.
            image_automation("staging", "fleet-staging", None, "./apps"),
            // Defined nowhere: this repository where the path is a folder here.
            image_automation("nowhere-here", "podinfo", Some("release"), "./apps"),
            image_automation("nowhere", "podinfo", Some("release"), "./dev"),
        ]
        .join("---\n");
        let sources = git_repository("app-config", "ssh://git@github.com/org/app-config.git")
            + "---\n"
            + &git_repository("fleet-staging", "git@github.com:org/fleet.git")
                .replace("branch: main", "branch: staging");
        let found = other_checkouts(&[
            ("clusters/prod/flux-system/gotk-sync.yaml", &bootstrap),
            ("clusters/prod/sources.yaml", &sources),
            ("clusters/prod/automations.yaml", &automations),
            ("apps/deploy.yaml", DEPLOYMENT),
        ]);
        let revision = |r: &str| Some(OtherCheckout::Revision(r.to_string()));
        assert_eq!(
            found,
            [
                ("nowhere".to_string(), Some(OtherCheckout::Unknown)),
                ("nowhere-here".to_string(), None),
                ("other".to_string(), Some(OtherCheckout::Repository)),
                ("own".to_string(), None),
                ("own-main".to_string(), None),
                ("release".to_string(), revision("release")),
                ("staging".to_string(), revision("staging")),
            ]
        );
    }

    #[test]
    fn without_a_bootstrap_an_automation_of_an_unknown_source_is_elsewhere_only_off_its_path() {
        // rparmer/podinfo-image-automation: no cluster, a GitRepository made by hand on
        // `release`, whose folders this branch does not hold. `flux-system` defined nowhere here
        // is the bootstrap of wherever Flux was installed from (stianHG/DeploymentTest, an
        // application repository, bootstraps another); an automation without a source is left
        // to the CRD check.
        let found = other_checkouts(&[
            (
                "automations.yaml",
                &[
                    image_automation("dev", "podinfo", Some("release"), "./dev"),
                    image_automation("here", "podinfo", Some("release"), "./apps"),
                    // What `flux bootstrap` names this repository's source.
                    image_automation("bootstrap-source", "flux-system", None, "./dev"),
                    image_automation("no-source", "", None, "./dev").replace("    name: \n", ""),
                ]
                .join("---\n"),
            ),
            ("apps/deploy.yaml", DEPLOYMENT),
        ]);
        assert_eq!(
            found,
            [
                ("bootstrap-source".to_string(), Some(OtherCheckout::Unknown)),
                ("dev".to_string(), Some(OtherCheckout::Unknown)),
                ("here".to_string(), None),
                ("no-source".to_string(), None),
            ]
        );
        // ommkwn/fluxes defines `flux-system` by hand, with no bootstrap: this repository.
        let found = other_checkouts(&[
            (
                "automation.yaml",
                &image_automation("bootstrap-source", "flux-system", None, "./dev"),
            ),
            (
                "source.yaml",
                &git_repository("flux-system", "https://github.com/org/fleet"),
            ),
            ("apps/deploy.yaml", DEPLOYMENT),
        ]);
        assert_eq!(found, [("bootstrap-source".to_string(), None)]);
    }

    #[test]
    fn the_files_a_build_may_take_objects_from() {
        let fk = flux_kustomization("apps", "./apps", "GitRepository", "flux-system");
        let files = [
            ("fk.yaml", fk.as_str()),
            ("apps/kustomization.yaml", "resources:\n  - deploy.yaml\n"),
            // A marker, so that the file is parsed and can hold objects.
            ("apps/deploy.yaml", DEPLOYMENT),
            ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ../fk.yaml\n"),
            ("via-component/kustomization.yaml", "components:\n  - ../comp\n"),
            ("via-folder/kustomization.yaml", "resources:\n  - ../via-component\n  - ../apps\n"),
            ("via-patch/kustomization.yaml", "resources:\n  - ../apps\npatches:\n  - path: ../fk.yaml\n"),
            ("inline/kustomization.yaml", "resources:\n  - ../apps\npatches:\n  - patch: |-\n      - op: add\n        path: /metadata/labels\n        value: {}\n    target:\n      kind: Deployment\n"),
        ];
        let (_dir, workspace) = workspace_of(&files);
        let by_path = super::super::paths_of(&workspace.files);
        let sources = Sources::new(
            &workspace.file_set,
            &workspace.files,
            &by_path,
            &workspace.model.kustomizations,
            &workspace.model.referenced,
        );
        let file = |path: &str| by_path[path];
        let may_yield = |dir: &str, from: &str| {
            let Some(Ok(k)) = sources.kustomizations.get(dir) else {
                panic!("{dir} has no kustomization")
            };
            let files = BTreeSet::from([file(from)]);
            let reaching = Inclusions::new(&sources, 1).reaching(&files);
            Leads::of(&sources, k).reach(&files, &reaching)
        };
        assert!(may_yield("via-component", "fk.yaml"));
        assert!(
            may_yield("via-folder", "fk.yaml"),
            "through a folder, then a component"
        );
        assert!(may_yield("via-patch", "fk.yaml"), "a patch file");
        assert!(!may_yield("apps", "fk.yaml"));
        assert!(may_yield("apps", "apps/deploy.yaml"));
        // An inline patch's nodes come from the kustomization file itself.
        assert!(may_yield("inline", "inline/kustomization.yaml"));
        assert!(!may_yield("via-patch", "inline/kustomization.yaml"));
    }
}
