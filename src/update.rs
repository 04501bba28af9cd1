//! `check --fix`: resolve every policy an applied marker names (tags from the snapshot or the
//! registry, one fetch per image; Flux-exact selection; digests where the policy reflects them),
//! plan the changes, and write them in place. Committing them is `git`'s job, wired by `app::fix`.

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::fix::{self, Change, ClusterPolicy, Latest};
use crate::flux::automation::applied_by_any;
use crate::flux::image::ImageRef;
use crate::flux::selection::Compiler;
use crate::policy::{CompiledPolicy, Outcome};
use crate::registry::TagRequest;
use crate::report::{escape, neutralise_source};
use crate::scan::marker::{Placement, SetterKind};
use crate::tags::{request_for, TagError, TagFailure, TagSource};
use crate::workspace::Workspace;

/// A policy that could not be resolved: nothing of it is applied.
#[derive(Debug, Clone, Serialize)]
pub struct ResolveFailure {
    pub policy: String,
    pub image: String,
    pub stage: Stage,
    pub message: String,
    /// Why the tags could not be listed (stage `tags`).
    #[serde(skip)]
    pub tags_failure: Option<TagFailure>,
    /// The policy, as the cluster's copy that failed.
    #[serde(skip)]
    pub key: ClusterPolicy,
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

/// What each policy resolved to, per cluster that defines it.
pub struct Resolution {
    pub latest: BTreeMap<ClusterPolicy, Latest>,
    pub failures: Vec<ResolveFailure>,
    /// Per policy whose tags were listed: what the listing held and the policy kept.
    pub scans: BTreeMap<ClusterPolicy, Scan>,
    /// The policies asked about; those missing from `latest` and `failures` cannot select
    /// (`check` says why).
    pub asked: BTreeSet<ClusterPolicy>,
    compiled: BTreeMap<ClusterPolicy, std::sync::Arc<CompiledPolicy>>,
}

/// The policies Flux would apply somewhere: named by an applied marker, defined, compilable, and
/// (where automations exist) covered by one of them for that marker's file.
fn policies_in_use(workspace: &Workspace) -> BTreeSet<ClusterPolicy> {
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
            let named = &policy.namespace;
            if applied_by_any(&workspace.index, object, named, &file.source.path) != Some(false) {
                used.insert(ClusterPolicy::of(&workspace.index, object, policy.clone()));
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
    wanted: Vec<(ClusterPolicy, usize, bool)>,
    compiled: BTreeMap<ClusterPolicy, std::sync::Arc<CompiledPolicy>>,
    asked: BTreeSet<ClusterPolicy>,
}

/// What a policy's selection saw: the tags listed, and how many took part in the final
/// comparison (past the exclusion list, `filterTags` and a semver range).
#[derive(Debug, Clone)]
pub struct Scan {
    pub tags: Vec<String>,
    pub candidates: usize,
}

/// The policies Flux would apply, compiled as the Flux of their cluster runs them, and the
/// repositories they select from.
pub fn needs(workspace: &Workspace) -> Needs {
    needs_for(workspace, policies_in_use(workspace))
}

/// [`needs`] for these policies (`status` resolves every policy, used or not).
pub fn needs_for(workspace: &Workspace, policies: BTreeSet<ClusterPolicy>) -> Needs {
    let mut compiler = Compiler::new(&workspace.fluxes);
    let mut compiled = BTreeMap::new();
    let mut requests: Vec<TagRequest> = Vec::new();
    // One request per image and scheme, however many policies select from it.
    let mut request_of: HashMap<(String, bool), usize> = HashMap::new();
    let mut wanted: Vec<(ClusterPolicy, usize, bool)> = Vec::new();
    for key in policies.iter().cloned() {
        let Some((object, spec)) = key.copy(&workspace.index) else {
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
        wanted.push((key.clone(), index, spec.reflects_digests()));
        compiled.insert(key, policy);
    }
    Needs {
        requests,
        wanted,
        compiled,
        asked: policies,
    }
}

/// Selects each policy's latest from the fetched tags (one result per request of `needs`); the
/// digest from `source` where the policy reflects digests.
pub fn resolve(
    needs: Needs,
    fetched: &[Result<Vec<String>, TagError>],
    source: &TagSource,
) -> Resolution {
    let Needs {
        requests,
        wanted,
        compiled,
        asked,
    } = needs;
    let mut latest = BTreeMap::new();
    let mut failures = Vec::new();
    let mut scans = BTreeMap::new();
    for (key, index, reflects_digests) in wanted {
        let request = &requests[index];
        let policy_ref = &key.policy;
        let fail = |stage: Stage, message: String| ResolveFailure {
            policy: policy_ref.to_string(),
            image: request.image.clone(),
            stage,
            message,
            tags_failure: None,
            key: key.clone(),
        };
        let tags = match &fetched[index] {
            Ok(tags) => tags,
            Err(error) => {
                failures.push(ResolveFailure {
                    tags_failure: Some(error.kind),
                    ..fail(Stage::Tags, error.message.clone())
                });
                continue;
            }
        };
        let evaluation = compiled[&key].evaluate(tags);
        let candidates = evaluation
            .candidates
            .iter()
            .filter(|c| {
                matches!(
                    c.outcome,
                    Outcome::Candidate | Outcome::Latest | Outcome::Collapsed
                )
            })
            .count();
        scans.insert(
            key.clone(),
            Scan {
                tags: tags.clone(),
                candidates,
            },
        );
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
            key,
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
        scans,
        asked,
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
    downgrade(change, resolution).is_some()
}

/// Why `change` writes a tag its policy ranks below the current one, when it does (Flux writes
/// it anyway): the current tag is outside the range, excluded, or no longer listed.
pub fn downgrade(change: &Change, resolution: &Resolution) -> Option<String> {
    let old_tag = match change.kind {
        SetterKind::Tag => Some(change.old.clone()),
        SetterKind::Image => ImageRef::parse(&change.old)
            .ok()
            .and_then(|image| image.tag),
        SetterKind::Name | SetterKind::Digest => None,
    };
    let key = &change.policy;
    let (Some(old), Some(latest), Some(policy)) = (
        old_tag,
        resolution.latest.get(key),
        resolution.compiled.get(key),
    ) else {
        return None;
    };
    let new = &latest.tag;
    if old == *new || !policy.ranks_above(&old, new) {
        return None;
    }
    let listed = resolution
        .scans
        .get(key)
        .is_some_and(|scan| scan.tags.contains(&old));
    Some(match policy.classify(&old) {
        Outcome::OutOfRange => format!("`{old}` is outside the policy's semver range"),
        Outcome::Excluded { pattern } => {
            format!("`{old}` is dropped by the exclusion list entry `{pattern}`")
        }
        _ if !listed => format!("`{old}` is not among the repository's tags"),
        _ => format!("the policy ranks `{old}` above `{new}` but selects `{new}`"),
    })
}

/// `--dry-run`: a unified diff of every changed file, from its new text.
pub fn diff(workspace: &Workspace, new_texts: &[(usize, std::sync::Arc<str>)]) -> String {
    let mut out = String::new();
    for (file, text) in new_texts {
        let source = &workspace.files[*file].source;
        // For a terminal: no control character of the file or its name reaches it.
        let path = escape(&source.path);
        let (old_name, new_name) = (format!("a/{path}"), format!("b/{path}"));
        out.push_str(&unified_diff(
            &neutralise_source(source.text()),
            &neutralise_source(text),
            (&old_name, &new_name),
        ));
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
                escape(&c.path),
                c.line,
                escape(&c.old),
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
