//! The fixer: which marked values change (the plan), the new bytes of each scalar with its quote
//! style kept, and atomic writes. Knows nothing of git or registries: the selected tags come in.

pub mod rewrite;
pub mod write;

use std::collections::BTreeMap;

use crate::flux::automation::applied_by_any;
use crate::scan::marker::{shape_mismatch, Placement, PolicyRef, SetterKind};
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

/// One scalar to rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub file: usize,
    pub path: String,
    pub line: usize,
    pub span: Span,
    pub policy: PolicyRef,
    pub kind: SetterKind,
    pub old: String,
    pub new: String,
    /// The scalar's new source bytes (quotes included).
    pub replacement: String,
}

/// Every change Flux would make: markers it applies (placement, and where automations exist,
/// their path, namespace and selector), whose policy resolved, whose value differs.
pub fn plan(workspace: &Workspace, latest: &BTreeMap<PolicyRef, Latest>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (file_index, file) in workspace.files.iter().enumerate() {
        for marker in &file.markers.markers {
            let Placement::Applied(value) = &marker.placement else {
                continue;
            };
            // Unlike Flux, never destroy a value that is not what the marker replaces
            // (`- KEY=1.0 # {…:tag}` would become `- 1.1`): `check` reports it instead.
            if shape_mismatch(marker.setter.kind, &value.value).is_some_and(|m| m.is_destructive())
            {
                continue;
            }
            let policy_ref = &marker.setter.policy;
            let Some(resolved) = latest.get(policy_ref) else {
                continue;
            };
            // The policy as the marker's cluster has it; a marker no cluster reaches is
            // updated by nothing.
            let Some((policy, _)) = workspace.marker_policy(file_index, policy_ref) else {
                continue;
            };
            if applied_by_any(&workspace.index, policy, &file.source.path) == Some(false) {
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
                policy: policy_ref.clone(),
                kind: marker.setter.kind,
                old: value.value.clone(),
                replacement: rewrite::render_scalar(value.style, &new),
                new,
            });
        }
    }
    changes
}

/// The changes grouped per file with the file's new text.
pub fn new_texts(workspace: &Workspace, changes: &[Change]) -> Vec<(usize, String)> {
    let mut per_file: BTreeMap<usize, Vec<(Span, &str)>> = BTreeMap::new();
    for change in changes {
        per_file
            .entry(change.file)
            .or_default()
            .push((change.span, change.replacement.as_str()));
    }
    per_file
        .into_iter()
        .map(|(file, edits)| {
            (
                file,
                rewrite::splice(&workspace.files[file].source.text, &edits),
            )
        })
        .collect()
}
