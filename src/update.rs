//! `check --fix`: resolve every policy an applied marker names (tags from the snapshot or the
//! registry, one fetch per image; Flux-exact selection; digests where the policy reflects them),
//! plan the changes, and write them in place. Committing them is `git`'s job, wired by `app::fix`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::fix::{self, write::write_atomic, Change, Latest};
use crate::flux::automation::applied_by_any;
use crate::flux::image::ImageRef;
use crate::flux::selection::Compiler;
use crate::policy::CompiledPolicy;
use crate::registry::TagRequest;
use crate::scan::marker::{Placement, PolicyRef, SetterKind};
use crate::tags::{request_for, TagSource};
use crate::workspace::Workspace;

/// A policy that could not be resolved: nothing of it is applied.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveFailure {
    pub policy: String,
    pub image: String,
    pub stage: Stage,
    pub message: String,
}

/// Where resolving a policy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Listing the repository's tags.
    Tags,
    /// No tag qualifies.
    Selection,
    /// Resolving the winner's digest.
    Digest,
}

pub struct Resolution {
    pub latest: BTreeMap<PolicyRef, Latest>,
    pub failures: Vec<ResolveFailure>,
    compiled: BTreeMap<PolicyRef, CompiledPolicy>,
}

/// The policies Flux would apply somewhere: named by an applied marker, defined, compilable, and
/// (where automations exist) covered by one of them for that marker's file.
fn policies_in_use(workspace: &Workspace) -> BTreeSet<PolicyRef> {
    let mut used = BTreeSet::new();
    for (index, file) in workspace.files.iter().enumerate() {
        for marker in &file.markers.markers {
            if !matches!(marker.placement, Placement::Applied(_)) {
                continue;
            }
            let policy = &marker.setter.policy;
            let Some((object, _)) = workspace.marker_policy(index, policy) else {
                continue;
            };
            if applied_by_any(&workspace.index, object, &file.source.path) != Some(false) {
                used.insert(policy.clone());
            }
        }
    }
    used
}

/// What resolving needs: the repositories to list (each image once) and, per policy in use,
/// which of them it selects from.
pub struct Needs {
    pub requests: Vec<TagRequest>,
    /// Policy, index into `requests`, whether it reflects digests.
    wanted: Vec<(PolicyRef, usize, bool)>,
    compiled: BTreeMap<PolicyRef, CompiledPolicy>,
}

/// The policies Flux would apply, compiled, and the repositories they select from.
pub fn needs(workspace: &Workspace) -> Needs {
    let mut compiler = Compiler::default();
    let mut compiled = BTreeMap::new();
    let mut requests: Vec<TagRequest> = Vec::new();
    let mut wanted: Vec<(PolicyRef, usize, bool)> = Vec::new();
    for policy_ref in policies_in_use(workspace) {
        let Some((object, spec)) = workspace
            .index
            .policy(&policy_ref.namespace, &policy_ref.name)
        else {
            continue;
        };
        // Policies that cannot compile are `check` errors; Flux stalls them and applies nothing.
        let Ok(policy) = compiler.compile(&workspace.index, object, spec) else {
            continue;
        };
        let Some(request) = workspace
            .index
            .repository_of(object, spec)
            .and_then(|(_, r)| request_for(r))
        else {
            continue;
        };
        let index = match requests
            .iter()
            .position(|r| r.image == request.image && r.insecure == request.insecure)
        {
            Some(index) => index,
            None => {
                requests.push(request);
                requests.len() - 1
            }
        };
        wanted.push((policy_ref.clone(), index, spec.reflects_digests()));
        compiled.insert(policy_ref, policy);
    }
    Needs {
        requests,
        wanted,
        compiled,
    }
}

/// Selects each policy's latest from the fetched tags (one result per request of `needs`); the
/// digest from `source` where the policy reflects digests.
pub fn resolve(
    needs: Needs,
    fetched: &[Result<Vec<String>, String>],
    source: &TagSource,
) -> Resolution {
    let Needs {
        requests,
        wanted,
        compiled,
    } = needs;
    let mut latest = BTreeMap::new();
    let mut failures = Vec::new();
    for (policy_ref, index, reflects_digests) in wanted {
        let request = &requests[index];
        let fail = |stage: Stage, message: String| ResolveFailure {
            policy: policy_ref.to_string(),
            image: request.image.clone(),
            stage,
            message,
        };
        let tags = match &fetched[index] {
            Ok(tags) => tags,
            Err(message) => {
                failures.push(fail(Stage::Tags, message.clone()));
                continue;
            }
        };
        let evaluation = compiled[&policy_ref].evaluate(tags);
        let Some(tag) = evaluation.latest else {
            let why = evaluation
                .error
                .unwrap_or_else(|| "no tag qualifies".to_string());
            failures.push(fail(
                Stage::Selection,
                format!(
                "policy selects no tag: {why} (`flux-image-lint explain {policy_ref}` shows why)"
            ),
            ));
            continue;
        };
        let digest = if reflects_digests {
            match source.digest(&request.image, &tag, request.insecure) {
                Ok(digest) => Some(digest),
                Err(message) => {
                    failures.push(fail(Stage::Digest, message));
                    continue;
                }
            }
        } else {
            None
        };
        latest.insert(
            policy_ref,
            Latest {
                name: request.image.clone(),
                tag,
                digest,
            },
        );
    }
    Resolution {
        latest,
        failures,
        compiled,
    }
}

/// The changes to make, and those refused as downgrades (`--no-downgrade`).
pub struct Plan {
    pub changes: Vec<Change>,
    pub refused_downgrades: Vec<Change>,
}

pub fn plan(
    workspace: &Workspace,
    resolution: &Resolution,
    only_files: Option<&[String]>,
    no_downgrade: bool,
) -> Plan {
    let mut changes = Vec::new();
    let mut refused_downgrades = Vec::new();
    for change in fix::plan(workspace, &resolution.latest) {
        if only_files.is_some_and(|only| !only.contains(&change.path)) {
            continue;
        }
        if no_downgrade && is_downgrade(&change, resolution) {
            refused_downgrades.push(change);
        } else {
            changes.push(change);
        }
    }
    Plan {
        changes,
        refused_downgrades,
    }
}

/// The policy itself ranks the old tag above the new one (Flux writes it anyway).
fn is_downgrade(change: &Change, resolution: &Resolution) -> bool {
    let old_tag = match change.kind {
        SetterKind::Tag => Some(change.old.clone()),
        SetterKind::Image => ImageRef::parse(&change.old)
            .ok()
            .and_then(|image| image.tag),
        SetterKind::Name | SetterKind::Digest => None,
    };
    let (Some(old_tag), Some(latest), Some(policy)) = (
        old_tag,
        resolution.latest.get(&change.policy),
        resolution.compiled.get(&change.policy),
    ) else {
        return false;
    };
    old_tag != latest.tag && policy.latest(&[old_tag.clone(), latest.tag.clone()]) == Some(old_tag)
}

/// Writes each file's new text (from [`fix::new_texts`]) atomically. Returns the paths written.
pub fn write_changes(
    workspace: &Workspace,
    new_texts: &[(usize, String)],
) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (file, text) in new_texts {
        let source = &workspace.files[*file].source;
        write_atomic(&source.disk_path, text.as_bytes()).map_err(|e| {
            format!(
                "cannot write {}: {e} (files written before it: {})",
                source.path,
                if written.is_empty() {
                    "none".to_string()
                } else {
                    written.join(", ")
                }
            )
        })?;
        written.push(source.path.clone());
    }
    Ok(written)
}

/// `--dry-run`: a unified diff of every changed file, from its new text.
pub fn diff(workspace: &Workspace, new_texts: &[(usize, String)]) -> String {
    let mut out = String::new();
    for (file, text) in new_texts {
        let source = &workspace.files[*file].source;
        let diff = similar::TextDiff::from_lines(source.text.as_str(), text.as_str());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&format!("a/{}", source.path), &format!("b/{}", source.path))
                .to_string(),
        );
    }
    out
}

#[derive(Serialize)]
pub struct ChangeRecord<'a> {
    pub file: String,
    pub line: usize,
    pub policy: String,
    pub old: &'a str,
    pub new: &'a str,
}

/// The changes as reported, their paths beginning with `prefix` (see `--relative-to`).
pub fn records<'a>(changes: &'a [Change], prefix: &str) -> Vec<ChangeRecord<'a>> {
    changes
        .iter()
        .map(|c| ChangeRecord {
            file: format!("{prefix}{}", c.path),
            line: c.line,
            policy: format!("{}{}", c.policy, c.kind.suffix()),
            old: &c.old,
            new: &c.new,
        })
        .collect()
}

/// `file:line  old → new  (policy)`, one per change, paths beginning with `prefix`.
pub fn render_changes(changes: &[Change], prefix: &str) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{prefix}{}:{}  {} → {}  ({}{})\n",
                c.path,
                c.line,
                c.old,
                c.new,
                c.policy,
                c.kind.suffix()
            )
        })
        .collect()
}
