//! ArtifactGenerators (Flux 2.7's source-watcher): an ExternalArtifact made of folders of a
//! GitRepository, which a Flux Kustomization builds as it builds any source. Where the
//! GitRepository is this repository and the copies keep its folders where they stand relative
//! to each other, the folder a Flux Kustomization builds in the artifact is one of this
//! repository (Kentaro1043/homelab applies every app so, its markers rewritten by the bot).

use std::collections::BTreeMap;

use crate::model::render::join;
use crate::model::tree::Node;
use crate::workspace::ScannedFile;

/// The artifacts the repository's ArtifactGenerators make, by `namespace/name` of the
/// ExternalArtifact each makes.
#[derive(Debug, Default)]
pub struct Artifacts {
    definitions: BTreeMap<String, Vec<Artifact>>,
}

/// One `spec.artifacts` entry, with the sources of its generator.
#[derive(Debug)]
struct Artifact {
    /// `(alias, namespace, name)` of each GitRepository source; other kinds are left out.
    git_sources: Vec<(String, String, String)>,
    /// `(from, to)` of each `copy`.
    copies: Vec<(String, String)>,
    file: usize,
}

impl Artifacts {
    /// Found on up to `jobs` threads, in the documents of the parsed files.
    pub fn new(files: &[ScannedFile], default_namespace: &str, jobs: usize) -> Artifacts {
        let group_kind = ("source.extensions.fluxcd.io", "ArtifactGenerator");
        let found = super::objects_written(files, jobs, group_kind, |generator, index| {
            read(&generator, index, default_namespace)
        });
        let mut definitions: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
        for (key, artifact) in found {
            definitions.entry(key).or_default().push(artifact);
        }
        Artifacts { definitions }
    }

    /// The folder of this repository a Flux Kustomization builds at `path` of ExternalArtifact
    /// `namespace/name`, with where the generator is written: when one generator here makes
    /// it (or one of those the cluster's builds so far applied, `applied`: clusters of one
    /// repository each making their `apps` artifact, noambenm/mdch-lab), each of its copies takes a folder of a GitRepository `is_this_repository` says is
    /// this one whole (`@alias/<folder>/**` to `@artifact/<folder>/`), all of them shifted by one
    /// root, and `path` lies in what they copy. `None` otherwise: what the artifact holds is not
    /// a folder of this repository as it stands.
    pub fn folder_of(
        &self,
        namespace: &str,
        name: &str,
        path: &str,
        is_this_repository: impl Fn(&str, &str, usize) -> bool,
        applied: impl Fn(usize) -> bool,
    ) -> Option<(String, usize)> {
        let definitions = self.definitions.get(&format!("{namespace}/{name}"))?;
        let mut applied_here = definitions.iter().filter(|artifact| applied(artifact.file));
        let artifact = match (applied_here.next(), applied_here.next(), &definitions[..]) {
            (Some(artifact), None, _) | (None, _, [artifact]) => artifact,
            _ => return None,
        };
        let mut root: Option<&str> = None;
        let mut holds_path = false;
        for (from, to) in &artifact.copies {
            let (alias, folder) = from.strip_prefix('@')?.split_once('/')?;
            let folder = folder.strip_suffix("**")?.trim_end_matches('/');
            let (namespace, name) = (artifact.git_sources.iter())
                .find(|(source, _, _)| source == alias)
                .map(|(_, namespace, name)| (namespace, name))?;
            if !is_this_repository(namespace, name, artifact.file) {
                return None;
            }
            let target = to.strip_prefix("@artifact/")?;
            let target = target.strip_suffix('/').unwrap_or(target);
            if target.contains('*') || folder.contains('*') {
                return None;
            }
            let copied_root = if target.is_empty() {
                folder
            } else {
                folder.strip_suffix(target)?.strip_suffix('/').or_else(|| {
                    // The folder copied is the target itself: no root above it.
                    (folder == target).then_some("")
                })?
            };
            if root.is_some_and(|root| root != copied_root) {
                return None;
            }
            root = Some(copied_root);
            holds_path |= target.is_empty()
                || path == target
                || path
                    .strip_prefix(target)
                    .is_some_and(|rest| rest.starts_with('/'));
        }
        let root = root.filter(|_| holds_path)?;
        let folder = if root.is_empty() {
            path.to_string()
        } else {
            join(root, path)?
        };
        Some((folder, artifact.file))
    }
}

/// The artifacts of one ArtifactGenerator, keyed as the ExternalArtifacts they make.
fn read(generator: &Node, file: usize, default_namespace: &str) -> Vec<(String, Artifact)> {
    let namespace = generator
        .path_str(&["metadata", "namespace"])
        .unwrap_or(default_namespace);
    let git_sources: Vec<(String, String, String)> = generator
        .path(&["spec", "sources"])
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter(|source| source.path_str(&["kind"]) == Some("GitRepository"))
        .filter_map(|source| {
            Some((
                source.path_str(&["alias"])?.to_string(),
                source
                    .path_str(&["namespace"])
                    .unwrap_or(namespace)
                    .to_string(),
                source.path_str(&["name"])?.to_string(),
            ))
        })
        .collect();
    generator
        .path(&["spec", "artifacts"])
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|artifact| {
            let name = artifact.path_str(&["name"])?;
            let copies = artifact
                .path(&["copy"])
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|copy| {
                    Some((
                        copy.path_str(&["from"])?.to_string(),
                        copy.path_str(&["to"])?.to_string(),
                    ))
                })
                .collect();
            Some((
                format!("{namespace}/{name}"),
                Artifact {
                    git_sources: git_sources.clone(),
                    copies,
                    file,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Artifacts;
    use crate::workspace::workspace_of;

    fn generator(copies: &[(&str, &str)]) -> String {
        let copies: String = (copies.iter())
            .map(|(from, to)| format!("        - from: \"{from}\"\n          to: \"{to}\"\n"))
            .collect();
        format!("apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  sources:\n    - alias: repo\n      kind: GitRepository\n      name: flux-system\n    - alias: chart\n      kind: OCIRepository\n      name: chart\n  artifacts:\n    - name: apps\n      copy:\n{copies}")
    }

    /// What a Flux Kustomization building `path` of ExternalArtifact `flux-system/apps` builds
    /// here, with every GitRepository taken as this repository or none.
    fn folder(generators: &[String], path: &str, this_repository: bool) -> Option<String> {
        folder_applying(generators, &[], path, this_repository)
    }

    /// The same where the cluster applied the generators of index `applied`.
    fn folder_applying(
        generators: &[String],
        applied: &[usize],
        path: &str,
        this_repository: bool,
    ) -> Option<String> {
        let files: Vec<(String, &str)> = (generators.iter().enumerate())
            .map(|(i, text)| (format!("clusters/c{i}/artifacts.yaml"), text.as_str()))
            .collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        let (_dir, workspace) = workspace_of(&files);
        let artifacts = Artifacts::new(&workspace.files, "flux-system", 1);
        let is_applied = |file: usize| {
            let path = &workspace.files[file].source.path;
            (applied.iter()).any(|i| *path == format!("clusters/c{i}/artifacts.yaml"))
        };
        artifacts
            .folder_of(
                "flux-system",
                "apps",
                path,
                |_, _, _| this_repository,
                is_applied,
            )
            .map(|(folder, _)| folder)
    }

    #[test]
    fn an_artifact_of_this_repository_as_it_stands_is_built_here() {
        let kept = generator(&[
            ("@repo/k8s/apps/base/**", "@artifact/base/"),
            ("@repo/k8s/apps/homelab/**", "@artifact/homelab/"),
        ]);
        let built = |path| folder(std::slice::from_ref(&kept), path, true);
        assert_eq!(built("homelab").as_deref(), Some("k8s/apps/homelab"));
        assert_eq!(built("base/app").as_deref(), Some("k8s/apps/base/app"));
        assert_eq!(built("elsewhere"), None, "not copied");
        assert_eq!(built(""), None, "more than what is copied");
        assert_eq!(folder(std::slice::from_ref(&kept), "homelab", false), None);
        let whole = generator(&[("@repo/deploy/**", "@artifact/")]);
        assert_eq!(
            folder(&[whole], "prod", true).as_deref(),
            Some("deploy/prod")
        );
        let same_place = generator(&[("@repo/apps/**", "@artifact/apps/")]);
        assert_eq!(
            folder(&[same_place], "apps/x", true).as_deref(),
            Some("apps/x")
        );
    }

    #[test]
    fn an_artifact_that_moves_folders_apart_is_not_built_here() {
        for copies in [
            // Two roots: `../base` in the artifact is not `../base` here.
            &[
                ("@repo/k8s/apps/base/**", "@artifact/base/"),
                ("@repo/other/homelab/**", "@artifact/homelab/"),
            ][..],
            &[("@repo/k8s/apps/homelab/*.yaml", "@artifact/homelab/")],
            &[("@repo/k8s/apps/homelab/**", "@artifact/prod/")],
            &[("@chart/**", "@artifact/homelab/")],
        ] {
            assert_eq!(
                folder(&[generator(copies)], "homelab", true),
                None,
                "{copies:?}"
            );
        }
        let twice = generator(&[("@repo/k8s/apps/homelab/**", "@artifact/homelab/")]);
        assert_eq!(folder(&[twice.clone(), twice], "homelab", true), None);
    }

    #[test]
    fn of_two_generators_of_one_artifact_the_cluster_builds_the_one_it_applies() {
        let of = |env: &str| {
            generator(&[
                ("@repo/apps/base/**", "@artifact/base/"),
                (
                    &format!("@repo/apps/{env}/**"),
                    &format!("@artifact/{env}/"),
                ),
            ])
        };
        let both = [of("production"), of("staging")];
        let built = |applied: &[usize], path| folder_applying(&both, applied, path, true);
        assert_eq!(
            built(&[0], "production").as_deref(),
            Some("apps/production")
        );
        assert_eq!(built(&[1], "staging").as_deref(), Some("apps/staging"));
        assert_eq!(
            built(&[1], "production"),
            None,
            "not in what staging's copies"
        );
        assert_eq!(
            built(&[], "production"),
            None,
            "neither applied: which is unknown"
        );
        assert_eq!(built(&[0, 1], "production"), None, "both applied");
    }
}
