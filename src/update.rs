//! `check --fix`: resolve every policy an applied marker names (tags from the snapshot or the
//! registry, one fetch per image; Flux-exact selection; digests where the policy reflects them),
//! plan the changes, and write them in place. Committing them is `git`'s job, wired by `app::fix`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    compiled: BTreeMap<PolicyRef, std::sync::Arc<CompiledPolicy>>,
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
    compiled: BTreeMap<PolicyRef, std::sync::Arc<CompiledPolicy>>,
}

/// The policies Flux would apply, compiled, and the repositories they select from.
pub fn needs(workspace: &Workspace) -> Needs {
    let mut compiler = Compiler::default();
    let mut compiled = BTreeMap::new();
    let mut requests: Vec<TagRequest> = Vec::new();
    // One request per image and scheme, however many policies select from it.
    let mut request_of: HashMap<(String, bool), usize> = HashMap::new();
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
        let index = *request_of
            .entry((request.image.clone(), request.insecure))
            .or_insert_with(|| {
                requests.push(request);
                requests.len() - 1
            });
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
        let (old_name, new_name) = (format!("a/{}", source.path), format!("b/{}", source.path));
        out.push_str(&unified_diff(&source.text, text, (&old_name, &new_name)));
    }
    out
}

/// The unified diff (2 lines of context) of a rewrite. Splices replace values inside lines, so
/// the two texts almost always have the same lines in the same places: then line `i` of one is
/// compared with line `i` of the other, in linear time. Only otherwise does a diff algorithm
/// search for the alignment (patience: linear when the unchanged lines are unique, as in
/// manifests; a general diff is O(lines × changes)).
fn unified_diff(old: &str, new: &str, header: (&str, &str)) -> String {
    // With a deadline already passed the diff only splits the lines: the hunks come from the
    // line-by-line comparison.
    let lines = similar::TextDiff::configure()
        .deadline(std::time::Instant::now())
        .diff_lines(old, new);
    if lines.old_slices().len() != lines.new_slices().len() {
        return similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(old, new)
            .unified_diff()
            .context_radius(2)
            .header(header.0, header.1)
            .to_string();
    }
    let ops = aligned_ops(lines.old_slices(), lines.new_slices());
    let mut out = String::new();
    for (i, group) in similar::group_diff_ops(ops, 2).into_iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("--- {}\n+++ {}\n", header.0, header.1));
        }
        out.push_str(&similar::udiff::UnifiedDiffHunk::new(group, &lines, true).to_string());
    }
    out
}

/// Equal and replaced runs of two texts with the same number of lines, line `i` against line `i`.
fn aligned_ops(old: &[&str], new: &[&str]) -> Vec<similar::DiffOp> {
    let mut ops = Vec::new();
    let mut start = 0;
    while start < old.len() {
        let equal = old[start] == new[start];
        let len = old[start..]
            .iter()
            .zip(&new[start..])
            .take_while(|(a, b)| (a == b) == equal)
            .count();
        ops.push(if equal {
            similar::DiffOp::Equal {
                old_index: start,
                new_index: start,
                len,
            }
        } else {
            similar::DiffOp::Replace {
                old_index: start,
                old_len: len,
                new_index: start,
                new_len: len,
            }
        });
        start += len;
    }
    ops
}

#[derive(Serialize)]
pub struct ChangeRecord<'a> {
    pub file: &'a str,
    pub line: usize,
    pub policy: String,
    pub old: &'a str,
    pub new: &'a str,
}

pub fn records(changes: &[Change]) -> Vec<ChangeRecord<'_>> {
    changes
        .iter()
        .map(|c| ChangeRecord {
            file: &c.path,
            line: c.line,
            policy: format!("{}{}", c.policy, c.kind.suffix()),
            old: &c.old,
            new: &c.new,
        })
        .collect()
}

/// `file:line  old → new  (policy)`, one per change.
pub fn render_changes(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{}:{}  {} → {}  ({}{})\n",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Where every line is unique, the line-by-line diff of a rewrite is the minimal one: it
    /// must print exactly what Myers prints, hunks, context and missing newlines included.
    #[test]
    fn aligned_diff_prints_what_a_minimal_diff_prints() {
        let mut seed = 7u64;
        let mut next = move |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for case in 0..200 {
            let count = 1 + next(60);
            let old: Vec<String> = (0..count)
                .map(|i| format!("line {i}: v1.0.{case}"))
                .collect();
            let mut new = old.clone();
            for _ in 0..next(8) {
                let i = next(count);
                new[i] = format!("line {i}: v2.0.{case}");
            }
            let newline = if next(2) == 0 { "\n" } else { "" };
            let (old, new) = (old.join("\n") + newline, new.join("\n") + newline);
            let expected = similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(2)
                .header("a/f", "b/f")
                .to_string();
            assert_eq!(
                unified_diff(&old, &new, ("a/f", "b/f")),
                expected,
                "{old:?} → {new:?}"
            );
        }
        // A rewrite that adds a line falls back to aligning the lines.
        let grown = unified_diff("a\nb\n", "a\nx\ny\n", ("a/f", "b/f"));
        assert_eq!(grown, "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n+x\n+y\n");
    }
}
