//! The fixer: which marked values change (the plan), the new bytes of each scalar with its quote
//! style kept, and atomic writes. Knows nothing of git or registries: the selected tags come in.

pub mod rewrite;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::flux::automation::applied_by_any;
use crate::flux::index::FluxIndex;
use crate::flux::objects::{FluxObject, PolicySpec};
use crate::flux::selection::selects_alike;
use crate::scan::marker::{Placement, PolicyRef, SetterKind};
use crate::source::Span;
use crate::workspace::Workspace;

/// What a policy resolved to, as Flux records it in `status.latestRef`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// The ImageRepository's `spec.image`, verbatim (Flux does not canonicalise it).
    pub name: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl Latest {
    /// The value a marker of this kind receives.
    pub fn value_for(&self, kind: SetterKind) -> String {
        match kind {
            SetterKind::Image => match &self.digest {
                Some(digest) => format!("{}:{}@{digest}", self.name, self.tag),
                None => format!("{}:{}", self.name, self.tag),
            },
            SetterKind::Name => self.name.clone(),
            SetterKind::Tag => self.tag.clone(),
            SetterKind::Digest => self.digest.clone().unwrap_or_default(),
        }
    }
}

/// A policy as Flux resolves it for a marker: clusters may define one `namespace:name` apart,
/// and a marker follows its own cluster's; within a cluster (one without clusters above all),
/// overlays may render copies that select apart (a numerical policy for testing, a semver one
/// for production), and a marker follows the copy its own build renders. Copies that select
/// alike are one key, named by the first of them, and resolved once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterPolicy {
    pub cluster: usize,
    pub policy: PolicyRef,
    /// The render of the first copy in the cluster that selects as this one does.
    pub render: usize,
}

impl ClusterPolicy {
    /// The key of `copy`, a copy of the policy `policy` names.
    pub fn of(index: &FluxIndex, copy: &FluxObject, policy: PolicyRef) -> ClusterPolicy {
        let first_alike = index
            .policy_in_preferring(copy.cluster, &policy.namespace, &policy.name, |other| {
                selects_alike(index, other, copy)
            })
            .map_or(copy, |(first, _)| first);
        ClusterPolicy {
            cluster: copy.cluster,
            render: first_alike.render,
            policy,
        }
    }

    /// The copy this key names.
    pub fn copy<'w>(&self, index: &'w FluxIndex) -> Option<(&'w FluxObject, &'w PolicySpec)> {
        let policy = &self.policy;
        index.policy_in_preferring(self.cluster, &policy.namespace, &policy.name, |copy| {
            copy.render == self.render
        })
    }
}

impl std::fmt::Display for ClusterPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.policy.fmt(f)
    }
}

/// One scalar to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub file: usize,
    pub path: String,
    pub line: usize,
    pub span: Span,
    /// The policy that resolved it.
    pub policy: ClusterPolicy,
    pub kind: SetterKind,
    pub old: String,
    pub new: String,
    /// The scalar's new source bytes (quotes included).
    pub replacement: String,
}

/// Every change Flux would make: markers it applies (placement, and where automations exist,
/// their path, namespace and selector), whose policy resolved, whose value differs.
pub fn plan(workspace: &Workspace, latest: &BTreeMap<ClusterPolicy, Latest>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (file_index, file) in workspace.files.iter().enumerate() {
        for marker in &file.markers.markers {
            let Placement::Applied(value) = &marker.placement else {
                continue;
            };
            // Unlike Flux, never destroy a value that is not what the marker replaces
            // (`- KEY=1.0 # {…:tag}` would become `- 1.1`): `check` reports it instead.
            if value
                .mismatch(marker.setter.kind)
                .is_some_and(|m| m.is_destructive())
            {
                continue;
            }
            let policy_ref = &marker.setter.policy;
            // The policy as the marker's cluster has it; a marker no cluster reaches is
            // updated by nothing.
            let Some((policy, _)) = workspace.marker_policy(file_index, policy_ref) else {
                continue;
            };
            let key = ClusterPolicy::of(&workspace.index, policy, policy_ref.clone());
            let Some(resolved) = latest.get(&key) else {
                continue;
            };
            let named = &policy_ref.namespace;
            if applied_by_any(&workspace.index, policy, named, &file.source.path) == Some(false) {
                continue;
            }
            let new = resolved.value_for(marker.setter.kind);
            if new == value.value {
                continue;
            }
            changes.push(Change {
                file: file_index,
                path: file.source.path.clone(),
                line: file.source.position(value.span.start).line,
                span: value.span,
                policy: key,
                kind: marker.setter.kind,
                old: value.value.clone(),
                replacement: rewrite::render_scalar(value.style, &new),
                new,
            });
        }
    }
    changes
}

fn edits_per_file(changes: &[Change]) -> BTreeMap<usize, Vec<(Span, &str)>> {
    let mut per_file: BTreeMap<usize, Vec<(Span, &str)>> = BTreeMap::new();
    for change in changes {
        per_file
            .entry(change.file)
            .or_default()
            .push((change.span, change.replacement.as_str()));
    }
    per_file
}

/// The changes grouped per file with the file's new text: the bytes read, spliced. (Only files
/// that are valid UTF-8 hold markers, and replacements are text, so the result is text too.)
pub fn new_texts(workspace: &Workspace, changes: &[Change]) -> Vec<(usize, Arc<str>)> {
    edits_per_file(changes)
        .into_iter()
        .map(|(file, edits)| {
            let read = workspace.files[file].source.text().as_bytes();
            let spliced = rewrite::splice(read, &edits);
            let text = String::from_utf8(spliced)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
            (file, Arc::from(text))
        })
        .collect()
}

/// A rewritten file as it is written in place. It shares both texts (the new one with the
/// workspace checked again, which goes on while the writing waits on the disk) rather than
/// copying them: thousands of files' copies were a fifth of `--fix`'s peak memory.
pub struct Rewrite {
    path: String,
    disk_path: PathBuf,
    /// What the change was planned from: the file must still hold it.
    expected: Arc<str>,
    new: Arc<str>,
}

/// The rewritten files (from [`new_texts`]) to write.
pub fn rewrites(workspace: &Workspace, new_texts: &[(usize, Arc<str>)]) -> Vec<Rewrite> {
    new_texts
        .iter()
        .map(|(file, text)| {
            let source = &workspace.files[*file].source;
            Rewrite {
                path: source.path.clone(),
                disk_path: workspace.root.join(&source.path),
                expected: source.shared_text(),
                new: Arc::clone(text),
            }
        })
        .collect()
}

/// Writes each file's new text in place: each file is read again and replaced only if it still
/// holds the bytes the change was planned from. A file edited meanwhile is left alone and
/// reported, after the others are written. Returns the paths written.
pub fn write_in_place(rewrites: &[Rewrite]) -> Result<Vec<String>, String> {
    let replacements: Vec<write::Replacement> = rewrites
        .iter()
        .map(|rewrite| write::Replacement {
            path: &rewrite.disk_path,
            expected: rewrite.expected.as_bytes(),
            bytes: rewrite.new.as_bytes(),
        })
        .collect();
    let mut written = Vec::new();
    let mut failed = Vec::new();
    let outcomes = write::replace_all_unchanged(&replacements);
    for (Rewrite { path, .. }, outcome) in rewrites.iter().zip(outcomes) {
        match outcome {
            Ok(()) => written.push(path.clone()),
            Err(error) => failed.push(format!("cannot write {path}: {error}")),
        }
    }
    if failed.is_empty() {
        return Ok(written);
    }
    let written = if written.is_empty() {
        "none".to_string()
    } else {
        written.join(", ")
    };
    Err(format!("{} (files written: {written})", failed.join("; ")))
}
