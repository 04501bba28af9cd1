//! Image objects written in files no cluster applies, shared by the rules that name them when
//! a marker finds none applied (`unknown-policy`, `marker-outside-automation`): where such an
//! object is says whether it was forgotten or is applied some other way.

use super::Context;
use crate::model::kustomization_dir_over;
use crate::model::render::join;
use crate::model::tree::Node;
use crate::walk::{Exclusion, Written};
use std::sync::Arc;

/// An image object of a file no cluster reaches.
pub(super) struct Unapplied {
    /// `file:line` of its document.
    pub written: String,
    pub tree: Node,
    pub beside: Beside,
    /// Where an ignore pattern keeps the file from kustomize-controller (whatever lists it,
    /// no cluster gets it): what is said after `{what} is written in {file}`, and the start of
    /// the help ([`kept_out`]).
    pub kept_out: Option<(String, String)>,
}

/// What an object in the file at `path`, which `exclusion` keeps from kustomize-controller,
/// says after `{what} is written in {file}`, and the start of its help: the `!` pattern that
/// lets its folder through, where a `.sourceignore` left it out. 6j0-org/team1-dev's
/// `deploy/.sourceignore` (`/*`, then `!/apps/` …) left out its `flux-system` folder, which
/// its bootstrap's `./deploy` covers; the warning had sent the user to apply the folder again.
fn kept_out(exclusion: &Exclusion, path: &str) -> (String, String) {
    let why = format!(", which {exclusion} keeps from kustomize-controller (source-controller leaves it out of the artifact), so no cluster applies it");
    let below = match &exclusion.written {
        Written::InFile { dir, .. } if dir.is_empty() => Some(path),
        Written::InFile { dir, .. } => {
            crate::walk::lies_under(path, dir).then(|| &path[dir.len() + 1..])
        }
        Written::ByFlux | Written::InSpec { .. } => None,
    };
    let help = match below.map(|below| below.split_once('/')) {
        Some(Some((folder, _))) => format!("let that file through: add `!/{folder}/` to that `.sourceignore`, after the line that leaves it out"),
        Some(None) => format!("let that file through: add `!/{}` to that `.sourceignore`, after the line that leaves it out", below.unwrap_or_default()),
        None => "let that file through (a `!` pattern after the one that leaves it out)".to_string(),
    };
    (why, help)
}

/// The kustomization in or above the folder of a file no cluster applies.
pub(super) enum Beside {
    /// Lists the file in its `resources`: the kustomization itself is applied by no cluster.
    Listed(String),
    /// Does not list the file.
    Unlisted(String),
    /// Cannot be read (kustomize-build says why): whether it lists the file is not known, and
    /// no cluster applies what it would.
    Broken(String),
    /// None: a loose folder.
    Nothing,
}

/// What an object written beside a kustomization that does not parse (`Beside::Broken`) says,
/// after `{what} is written in {file}`, and its help: the build that would list it fails.
pub(super) fn beside_broken(kustomization: &str) -> (String, String) {
    (
        format!(", beside `{kustomization}`, which kustomize cannot read (`kustomize-build` says why): no cluster applies it"),
        format!("fix `{kustomization}`: Flux applies nothing of a kustomization that fails to build"),
    )
}

/// The first document of `kind` in a file no cluster applies for which `wanted` holds, with
/// the kustomization beside it; `None` in a repository without clusters. A file an automation's
/// `update.path` holds counts: its markers are live, its objects still applied by no cluster.
pub(super) fn find(cx: &Context, kind: &str, wanted: impl Fn(&Node) -> bool) -> Option<Unapplied> {
    (0..cx.workspace.files.len())
        .filter(|&file| cx.workspace.applied_by_no_cluster(file))
        .find_map(|file| {
            let scanned = &cx.workspace.files[file];
            // A file that let its tree go keeps each object's kind: parsed again only for one.
            let holds_kind = |identity: &Arc<Node>| identity.path_str(&["kind"]) == Some(kind);
            if (scanned.identities.as_ref()).is_some_and(|ids| !ids.iter().any(holds_kind)) {
                return None;
            }
            let yaml = scanned.tree().ok()?;
            yaml.documents.iter().find_map(|&document| {
                if yaml.path_str(document, &["kind"]) != Some(kind) {
                    return None;
                }
                let tree = Node::from_yaml(&yaml, file, document);
                wanted(&tree).then(|| Unapplied {
                    written: format!(
                        "{}:{}",
                        scanned.source.path,
                        scanned.source.line_of(tree.origin.span().start)
                    ),
                    tree,
                    beside: kustomization_beside(cx, &scanned.source.path),
                    kept_out: (cx.workspace.file_set)
                        .kept_out_by(&scanned.source.path)
                        .map(|exclusion| kept_out(&exclusion, &scanned.source.path)),
                })
            })
        })
}

/// The objects that reconcile or update what a file applies (group, kind, what to call it): a
/// file holding one beside image objects is a bootstrap file applied by hand (`kubectl apply -f`,
/// as PHACDataHub/iidi-tech's `sync.yaml` is), which a forgotten resource file is not.
const BOOTSTRAP_KINDS: [(&str, &str, &str); 3] = [
    (
        "image.toolkit.fluxcd.io",
        "ImageUpdateAutomation",
        "ImageUpdateAutomation",
    ),
    (
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "Flux Kustomization",
    ),
    ("source.toolkit.fluxcd.io", "GitRepository", "GitRepository"),
];

/// The first object of `file` that makes it a bootstrap file applied by hand, named as
/// "ImageUpdateAutomation `ns:name`".
pub(super) fn bootstrap_object(cx: &Context, file: usize) -> Option<String> {
    let yaml = cx.workspace.files[file].tree().ok()?;
    yaml.documents.iter().find_map(|&document| {
        let field = |path: &[&str]| yaml.path_str(document, path);
        let (api_version, kind) = (field(&["apiVersion"])?, field(&["kind"])?);
        let (_, _, called) = BOOTSTRAP_KINDS.iter().find(|(group, bootstrap_kind, _)| {
            *bootstrap_kind == kind
                && api_version
                    .strip_prefix(group)
                    .is_some_and(|version| version.starts_with('/'))
        })?;
        let name = field(&["metadata", "name"])?;
        Some(
            match field(&["metadata", "namespace"]).filter(|ns| !ns.is_empty()) {
                Some(namespace) => format!("{called} `{namespace}:{name}`"),
                None => format!("{called} `{name}`"),
            },
        )
    })
}

/// The namespace an object names, if any.
pub(super) fn written_namespace(tree: &Node) -> Option<&str> {
    tree.path_str(&["metadata", "namespace"])
        .filter(|ns| !ns.is_empty())
}

/// Whether an object of a file no cluster applies may be in `namespace`: the one it names, or,
/// naming none, any: whoever applies it decides (a kustomization's `namespace`, a Flux
/// Kustomization's `targetNamespace`, `kubectl apply -n`), as for references to applied ones.
pub(super) fn may_be_in(tree: &Node, namespace: &str) -> bool {
    written_namespace(tree).is_none_or(|written| written == namespace)
}

/// The line of the kustomization file `kustomization` that lists `path` in a comment
/// (`#- imagepolicy.yaml`): an entry its owner switched off (kingdonb/github-actions-demo's
/// `ex1` automation, its repository, policy and automation commented out together).
pub(super) fn listed_in_a_comment(cx: &Context, kustomization: &str, path: &str) -> Option<usize> {
    let dir = crate::walk::folder_of(kustomization);
    let Some(Ok(written)) = cx.workspace.model.kustomizations.get(dir) else {
        return None;
    };
    let lists_it = |line: &str| {
        let entry = line.trim_start().strip_prefix('#')?.trim_start();
        let entry = entry.strip_prefix('-')?.trim();
        Some(join(dir, entry).as_deref() == Some(path))
    };
    (cx.workspace.files[written.file].source.text().lines())
        .position(|line| lists_it(line) == Some(true))
        .map(|index| index + 1)
}

/// The kustomization file in the folder of `path` or the nearest folder above it, and whether
/// its `resources` name `path`.
fn kustomization_beside(cx: &Context, path: &str) -> Beside {
    let kustomizations = &cx.workspace.model.kustomizations;
    let Some(dir) = kustomization_dir_over(path, |dir| kustomizations.contains_key(dir)) else {
        return Beside::Nothing;
    };
    let kustomization = match kustomizations.get(dir) {
        Some(Ok(kustomization)) => kustomization,
        // kCn3333/k3s-homelab's `clients-api` folder, one entry indented a space too far.
        Some(Err(error)) => {
            let file = &cx.workspace.files[error.origin.file()].source.path;
            return Beside::Broken(file.clone());
        }
        None => return Beside::Nothing,
    };
    let file = cx.workspace.files[kustomization.file].source.path.clone();
    let lists_it = kustomization
        .resources
        .iter()
        .any(|entry| join(dir, &entry.value).as_deref() == Some(path));
    if lists_it {
        Beside::Listed(file)
    } else {
        Beside::Unlisted(file)
    }
}
