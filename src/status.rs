//! `status`: every ImagePolicy with its image, its tags and the latest tag it selects, and every
//! marker naming it with its fate: up to date, an update or a downgrade (exactly the changes
//! `check --fix` plans), or stuck, for the reason `check` reports at the marker or the resolver
//! met (a registry that refused, a policy that selects nothing). Judges nothing itself: the
//! rules' diagnostics, the resolution and the plan come in; this groups them per policy.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Config;
use crate::fix::{Change, ClusterPolicy};
use crate::flux::objects::{FluxObject, Spec};
use crate::flux::Kind;
use crate::report::{Diagnostic, Severity};
use crate::scan::marker::{Marker, Placement, PolicyRef, SetterKind};
use crate::source::Span;
use crate::tags::TagFailure;
use crate::update::{self, Plan, Resolution, Stage};
use crate::workspace::Workspace;

/// The rules whose diagnostic on a marker means Flux will not move it, the cause that holds
/// whatever the others say first (the first one found is the reason: a marker no automation
/// applies stays as it is, whatever its policy and tag), each with the phrase `status` shows.
const STUCK_RULES: &[(&str, &str)] = &[
    ("marker-ignored", "Flux ignores the marker here"),
    (
        "marker-outside-automation",
        "no automation applies the file",
    ),
    ("unknown-policy", "no such ImagePolicy"),
    ("marker-value-mismatch", "not the value the marker sets"),
    ("digest-not-reflected", "the policy reflects no digest"),
    ("tag-filtered-out", "the current tag is filtered out"),
    ("tag-not-semver", "the current tag is not SemVer"),
    ("tag-out-of-range", "the current tag is out of range"),
];

/// Why a marker is stuck or a policy has no latest tag, where `check` does not say: stable ids
/// for the JSON document, with the phrase the table shows.
const REASONS: &[(&str, &str)] = &[
    ("no-cluster", "no cluster here applies the file"),
    ("registry-auth", "registry refused access"),
    ("registry-not-found", "repository not found"),
    ("registry-unreachable", "registry unreachable"),
    ("registry-error", "registry error"),
    ("not-in-tags-file", "not in the tags file"),
    ("no-tag-selected", "the policy selects no tag"),
    ("digest-unavailable", "digest unavailable"),
    ("policy-invalid", "the policy errors"),
    ("downgrade-refused", "downgrade refused (--no-downgrade)"),
    ("external-policy", "policy defined outside the repository"),
    ("policy-unresolved", "policy not known here"),
    ("not-applied", "Flux does not apply the marker"),
];

/// The phrase shown for a reason id (a rule id or one of [`REASONS`]).
pub fn phrase(reason: &str) -> &'static str {
    STUCK_RULES
        .iter()
        .chain(REASONS)
        .find(|(id, _)| *id == reason)
        .map_or("stuck", |(_, phrase)| phrase)
}

/// Every policy of the repository, grouped by cluster, namespace and name.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub version: u32,
    pub policies: Vec<PolicyStatus>,
    pub summary: Counts,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub policies: usize,
    /// Policies no marker names.
    pub unused: usize,
    pub markers: usize,
    pub up_to_date: usize,
    pub updates: usize,
    pub downgrades: usize,
    pub stuck: usize,
    pub unknown: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyStatus {
    /// The cluster that applies it (its bootstrap path); `None` in a repository without
    /// clusters.
    pub cluster: Option<String>,
    pub namespace: String,
    pub name: String,
    /// Whether an ImagePolicy of this name exists (false: only markers name it).
    pub defined: bool,
    /// The ImageRepository's `spec.image`.
    pub image: Option<String>,
    /// How many tags the repository lists, and how many the policy chose among.
    pub tags: Option<usize>,
    pub candidates: Option<usize>,
    /// What `flux get image policy` shows as the latest image's tag.
    pub latest: Option<String>,
    pub digest: Option<String>,
    /// Why there is no latest tag.
    pub problem: Option<Problem>,
    pub markers: Vec<MarkerStatus>,
    #[serde(skip)]
    cluster_index: Option<usize>,
    /// What the resolution knows this policy by, when it is defined.
    #[serde(skip)]
    key: Option<ClusterPolicy>,
}

impl PolicyStatus {
    /// `cluster C · namespace N` (`namespace N` without a cluster), each name as `quote` shows
    /// it.
    pub fn group_heading(&self, quote: impl Fn(&str) -> String) -> String {
        match &self.cluster {
            Some(cluster) => format!(
                "cluster {} · namespace {}",
                quote(cluster),
                quote(&self.namespace)
            ),
            None => format!("namespace {}", quote(&self.namespace)),
        }
    }

    /// A marked value without the policy's image in front (`app:1.0` → `1.0`), for tables whose
    /// policy columns name the image.
    pub fn short_value<'v>(&self, value: &'v str) -> &'v str {
        self.image
            .as_deref()
            .and_then(|image| value.strip_prefix(image))
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(value)
    }
}

/// A reason with its stable id, the `check` rule behind it (when `check` reports it), and the
/// full message (the rule's, the registry's).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub reason: &'static str,
    pub rule: Option<&'static str>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MarkerStatus {
    pub file: String,
    pub line: usize,
    /// What the marker sets: `image` (the whole reference), `name`, `tag` or `digest`.
    pub setter: &'static str,
    /// The marked value; `None` where Flux reads no value (an ignored marker).
    pub value: Option<String>,
    #[serde(flatten)]
    pub state: State,
}

impl MarkerStatus {
    /// The marked value as a table shows it: a full marker's without the policy's image in
    /// front (see [`PolicyStatus::short_value`]), any other as written, so that a `:tag` marker
    /// on a whole reference (round 90, sras1599/word-dash) shows the reference it holds.
    pub fn shown_value<'v>(&'v self, policy: &PolicyStatus) -> Option<&'v str> {
        let value = self.value.as_deref()?;
        Some(match self.setter {
            "image" => policy.short_value(value),
            _ => value,
        })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum State {
    UpToDate,
    /// `rule`: what `check` reports about the current value, if anything (a tag the filter
    /// drops is replaced too).
    Update {
        new: String,
        rule: Option<&'static str>,
    },
    /// Flux writes a tag the policy ranks below the current one.
    Downgrade {
        new: String,
        why: String,
        rule: Option<&'static str>,
    },
    Stuck(Problem),
    /// A policy defined outside the repository, or whose name the model cannot resolve: its
    /// tags are not known here; or a file no cluster here applies.
    Unknown(Problem),
}

impl State {
    pub fn is_stuck(&self) -> bool {
        matches!(self, State::Stuck(_) | State::Unknown(_))
    }

    pub fn is_change(&self) -> bool {
        matches!(self, State::Update { .. } | State::Downgrade { .. })
    }
}

/// What `status` is made from.
pub struct Inputs<'a> {
    pub workspace: &'a Workspace,
    pub config: &'a Config,
    pub resolution: &'a Resolution,
    /// The changes `--fix` plans (from the same resolution).
    pub plan: &'a Plan,
    /// `check`'s diagnostics on the same workspace.
    pub diagnostics: &'a [Diagnostic],
}

/// Cluster, namespace, name, and for a defined policy the render that names its copy (see
/// [`ClusterPolicy`]): copies that select apart are listed apart.
type RowKey = (Option<usize>, String, String, Option<usize>);

fn policy_key(workspace: &Workspace, policy: &FluxObject, namespace: &str) -> RowKey {
    let key = resolution_key(workspace, policy, namespace);
    (
        Some(key.cluster),
        namespace.to_string(),
        policy.name.value.to_string(),
        Some(key.render),
    )
}

/// The policy a marker of `file` (which `clusters` reach) is listed under, and the namespace it
/// is listed in: as the marker's cluster has it; a marker no cluster reaches, the policy it
/// names wherever that is defined. A policy that names no namespace is in the one it is applied
/// into, which is the one the marker names wherever it resolves.
fn found_policy<'w>(
    workspace: &'w Workspace,
    file: usize,
    clusters: &[usize],
    named: &'w PolicyRef,
) -> Option<(&'w FluxObject, &'w str)> {
    let (policy, _) = match clusters.first() {
        Some(_) => workspace.marker_policy(file, named),
        None => workspace.index.policy(&named.namespace, &named.name),
    }?;
    Some((policy, policy.namespace_as_named(&named.namespace)))
}

/// Every policy under each key `status` lists it by, to resolve it under those keys: as the
/// markers that find it have it (see [`found_policy`]), and under its own namespace.
pub fn listed_policies(workspace: &Workspace) -> BTreeSet<ClusterPolicy> {
    let mut keys: BTreeSet<ClusterPolicy> = workspace
        .index
        .of_kind(Kind::ImagePolicy)
        .map(|policy| resolution_key(workspace, policy, &policy.namespace))
        .collect();
    for (file_index, file) in workspace.files.iter().enumerate() {
        let clusters = workspace.marker_clusters(file_index);
        for marker in file.markers.markers.iter().filter(|m| !m.repeats_applied()) {
            let named = &marker.setter.policy;
            if let Some((policy, namespace)) = found_policy(workspace, file_index, &clusters, named)
            {
                keys.insert(resolution_key(workspace, policy, namespace));
            }
        }
    }
    keys
}

/// The key a policy listed in `namespace` is resolved under.
fn resolution_key(workspace: &Workspace, policy: &FluxObject, namespace: &str) -> ClusterPolicy {
    let named = PolicyRef {
        namespace: namespace.into(),
        name: policy.name.value.clone(),
    };
    ClusterPolicy::of(&workspace.index, policy, named)
}

pub fn build(inputs: &Inputs) -> Status {
    let workspace = inputs.workspace;
    let mut rows: BTreeMap<RowKey, PolicyStatus> = BTreeMap::new();
    // The policies some marker resolves to, by address: listed where the markers find them.
    let mut listed: HashSet<*const FluxObject> = HashSet::new();
    let changes = ChangeIndex::new(inputs.plan);
    let findings = MarkerFindings::new(inputs.diagnostics);
    for (file_index, file) in workspace.files.iter().enumerate() {
        // A copy of the marker Flux reads on the same value has no fate of its own: it would
        // show as stuck beside the other's update.
        let markers = file.markers.markers.iter().filter(|m| !m.repeats_applied());
        for marker in markers {
            let named = &marker.setter.policy;
            let clusters = workspace.marker_clusters(file_index);
            let row = match found_policy(workspace, file_index, &clusters, named) {
                Some((policy, namespace)) => {
                    listed.insert(policy);
                    rows.entry(policy_key(workspace, policy, namespace))
                        .or_insert_with(|| policy_row(inputs, policy, namespace))
                }
                None => rows
                    .entry((
                        clusters.first().copied(),
                        named.namespace.to_string(),
                        named.name.to_string(),
                        None,
                    ))
                    .or_insert_with_key(|key| undefined_row(inputs, key)),
            };
            let site = Site {
                file: file_index,
                marker,
            };
            let state = marker_state(inputs, &site, row, &changes, &findings);
            let (line_at, value) = match &marker.placement {
                Placement::Applied(value) => (value.span.start, Some(value.value.clone())),
                Placement::Ignored(_) => (marker.span.start, None),
            };
            row.markers.push(MarkerStatus {
                file: file.source.path.clone(),
                line: file.source.position(line_at).line,
                setter: match marker.setter.kind {
                    SetterKind::Image => "image",
                    SetterKind::Name => "name",
                    SetterKind::Tag => "tag",
                    SetterKind::Digest => "digest",
                },
                value,
                state,
            });
        }
    }
    let unlisted = workspace
        .index
        .of_kind(Kind::ImagePolicy)
        .filter(|&policy| !listed.contains(&(policy as *const FluxObject)));
    for policy in unlisted {
        rows.entry(policy_key(workspace, policy, &policy.namespace))
            .or_insert_with(|| policy_row(inputs, policy, &policy.namespace));
    }
    let mut policies: Vec<PolicyStatus> = rows.into_values().collect();
    // By cluster, namespace and name; markers no cluster reaches naming no policy, last.
    policies.sort_by_key(|p| {
        (
            p.cluster_index.is_none(),
            p.cluster_index,
            p.namespace.clone(),
            p.name.clone(),
        )
    });
    for policy in &mut policies {
        policy
            .markers
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    }
    Status {
        version: 1,
        summary: count(&policies),
        policies,
    }
}

impl Status {
    /// The policies of each cluster and namespace, in order.
    pub fn groups(&self) -> impl Iterator<Item = &[PolicyStatus]> {
        self.policies
            .chunk_by(|a, b| (a.cluster_index, &a.namespace) == (b.cluster_index, &b.namespace))
    }

    /// Keeps the markers in a state `keep` accepts, and the policies left with one; the summary
    /// still counts everything.
    pub fn keep(&mut self, keep: impl Fn(&State) -> bool) {
        for policy in &mut self.policies {
            policy.markers.retain(|marker| keep(&marker.state));
        }
        self.policies.retain(|policy| !policy.markers.is_empty());
    }

    /// Only the markers that are not up to date: the changes and what keeps the others from
    /// moving, as a reviewer or a CI summary wants them.
    pub fn pending(mut self) -> Status {
        self.keep(|state| *state != State::UpToDate);
        self
    }

    /// Keeps the first `max` markers (and the policies left with one); returns how many were
    /// dropped. The summary still counts everything.
    pub fn truncate(&mut self, max: usize) -> usize {
        let mut left = max;
        let mut dropped = 0;
        for policy in &mut self.policies {
            let kept = policy.markers.len().min(left);
            dropped += policy.markers.len() - kept;
            policy.markers.truncate(kept);
            left -= kept;
        }
        self.policies.retain(|policy| !policy.markers.is_empty());
        dropped
    }

    /// Marker paths as a report names them: `prefix` (`--relative-to`) in front.
    pub fn prefix_paths(&mut self, prefix: &str) {
        if prefix.is_empty() {
            return;
        }
        for marker in self.policies.iter_mut().flat_map(|p| &mut p.markers) {
            marker.file.insert_str(0, prefix);
        }
    }
}

fn count(policies: &[PolicyStatus]) -> Counts {
    let mut counts = Counts {
        policies: policies.iter().filter(|p| p.defined).count(),
        unused: policies.iter().filter(|p| p.markers.is_empty()).count(),
        ..Counts::default()
    };
    for marker in policies.iter().flat_map(|p| &p.markers) {
        counts.markers += 1;
        match marker.state {
            State::UpToDate => counts.up_to_date += 1,
            State::Update { .. } => counts.updates += 1,
            State::Downgrade { .. } => counts.downgrades += 1,
            State::Stuck(_) => counts.stuck += 1,
            State::Unknown(_) => counts.unknown += 1,
        }
    }
    counts
}

fn cluster_name(workspace: &Workspace, cluster: Option<usize>) -> Option<String> {
    cluster
        .and_then(|i| workspace.model.clusters.get(i))
        .map(|c| c.name.clone())
}

/// A defined policy, listed in `namespace`: its image, what the resolver found, and why it has
/// no latest tag.
fn policy_row(inputs: &Inputs, policy: &FluxObject, namespace: &str) -> PolicyStatus {
    let workspace = inputs.workspace;
    let key = resolution_key(workspace, policy, namespace);
    let image = match &policy.spec {
        Spec::Policy(spec) => workspace
            .index
            .repository_of(policy, spec)
            .and_then(|(_, repository)| repository.image.as_ref())
            .map(|image| image.value.to_string()),
        _ => None,
    };
    let resolution = inputs.resolution;
    let scan = resolution.scans.get(&key);
    let latest = resolution.latest.get(&key);
    let problem = match (latest, resolution_problem(resolution, &key)) {
        (Some(_), _) => None,
        (None, Some(problem)) => Some(problem),
        // Not asked about: `--fix` resolves only the policies it applies.
        (None, None) if !resolution.asked.contains(&key) => None,
        (None, None) => Some(policy_error(inputs, policy)),
    };
    PolicyStatus {
        cluster: cluster_name(workspace, Some(policy.cluster)),
        cluster_index: Some(policy.cluster),
        namespace: namespace.to_string(),
        name: key.policy.name.to_string(),
        defined: true,
        image,
        tags: scan.map(|s| s.tags.len()),
        candidates: scan.map(|s| s.candidates),
        latest: latest.map(|l| l.tag.clone()),
        digest: latest.and_then(|l| l.digest.clone()),
        problem,
        markers: Vec::new(),
        key: Some(key),
    }
}

/// A policy that markers name but nothing here defines.
fn undefined_row(inputs: &Inputs, key: &RowKey) -> PolicyStatus {
    let (cluster, namespace, name, _) = key.clone();
    PolicyStatus {
        cluster: cluster_name(inputs.workspace, cluster),
        cluster_index: cluster,
        namespace,
        name,
        defined: false,
        image: None,
        tags: None,
        candidates: None,
        latest: None,
        digest: None,
        problem: None,
        markers: Vec::new(),
        key: None,
    }
}

/// Why the resolver has no latest tag for a policy, when it tried.
fn resolution_problem(resolution: &Resolution, key: &ClusterPolicy) -> Option<Problem> {
    let failure = resolution.failures.iter().find(|f| f.key == *key)?;
    let reason = match (failure.stage, failure.tags_failure) {
        (Stage::Tags, Some(TagFailure::Auth)) => "registry-auth",
        (Stage::Tags, Some(TagFailure::NotFound)) => "registry-not-found",
        (Stage::Tags, Some(TagFailure::Unreachable)) => "registry-unreachable",
        (Stage::Tags, Some(TagFailure::NotInSnapshot)) => "not-in-tags-file",
        (Stage::Tags, _) => "registry-error",
        (Stage::Selection, _) => "no-tag-selected",
        (Stage::Digest, _) => "digest-unavailable",
    };
    Some(Problem {
        reason,
        rule: None,
        message: failure.message.clone(),
    })
}

/// A policy the resolver did not try (it cannot select, or has no ImageRepository to list):
/// the first error `check` reports in its document.
fn policy_error(inputs: &Inputs, policy: &FluxObject) -> Problem {
    let path = &inputs.workspace.files[policy.file()].source.path;
    let span = policy.origin().span();
    let error = inputs.diagnostics.iter().find(|d| {
        d.severity == Severity::Error
            && &d.file == path
            && span.start <= d.byte_start
            && d.byte_end <= span.end
    });
    Problem {
        reason: "policy-invalid",
        rule: error.map(|d| d.rule),
        message: error.map_or_else(
            || "the policy cannot select tags (`flux-image-lint check` says why)".to_string(),
            |d| d.message.clone(),
        ),
    }
}

struct Site<'a> {
    file: usize,
    marker: &'a Marker,
}

/// The planned changes and refused downgrades by the scalar they rewrite.
struct ChangeIndex<'a> {
    planned: HashMap<(usize, usize), &'a Change>,
    refused: HashMap<(usize, usize), &'a Change>,
}

impl<'a> ChangeIndex<'a> {
    fn new(plan: &'a Plan) -> ChangeIndex<'a> {
        let by_scalar = |changes: &'a [Change]| {
            changes
                .iter()
                .map(|c| ((c.file, c.span.start), c))
                .collect::<HashMap<_, _>>()
        };
        ChangeIndex {
            planned: by_scalar(&plan.changes),
            refused: by_scalar(&plan.refused_downgrades),
        }
    }
}

/// `check`'s diagnostics by file, to find those at a marker.
struct MarkerFindings<'a> {
    by_file: HashMap<&'a str, Vec<&'a Diagnostic>>,
}

impl<'a> MarkerFindings<'a> {
    fn new(diagnostics: &'a [Diagnostic]) -> MarkerFindings<'a> {
        let mut by_file: HashMap<&str, Vec<&Diagnostic>> = HashMap::new();
        for diagnostic in diagnostics {
            by_file
                .entry(diagnostic.file.as_str())
                .or_default()
                .push(diagnostic);
        }
        MarkerFindings { by_file }
    }

    /// The first diagnostic of [`STUCK_RULES`] (in rule order) on the marker's comment or its
    /// value.
    fn first(&self, path: &str, spans: &[Span]) -> Option<Problem> {
        let at_marker: Vec<&Diagnostic> = self
            .by_file
            .get(path)?
            .iter()
            .copied()
            .filter(|d| {
                spans
                    .iter()
                    .any(|s| s.start <= d.byte_start && d.byte_end <= s.end)
            })
            .collect();
        STUCK_RULES.iter().find_map(|(rule, _)| {
            let diagnostic = at_marker.iter().find(|d| d.rule == *rule)?;
            Some(Problem {
                reason: diagnostic.rule,
                rule: Some(diagnostic.rule),
                message: diagnostic.message.clone(),
            })
        })
    }
}

/// A marker's fate: the change `--fix` plans for it; else what `check` reports that keeps
/// Flux from moving it; else why its policy has no latest tag; else up to date.
fn marker_state(
    inputs: &Inputs,
    site: &Site,
    row: &PolicyStatus,
    changes: &ChangeIndex,
    findings: &MarkerFindings,
) -> State {
    let workspace = inputs.workspace;
    let file = &workspace.files[site.file];
    let value = match &site.marker.placement {
        Placement::Applied(value) => Some(value),
        Placement::Ignored(_) => None,
    };
    if let Some(value) = value {
        let at = (site.file, value.span.start);
        if let Some(change) = changes.planned.get(&at) {
            let rule = findings
                .first(&file.source.path, &[site.marker.span, value.span])
                .and_then(|problem| problem.rule);
            let new = change.new.clone();
            return match update::downgrade(change, inputs.resolution) {
                Some(why) => State::Downgrade { new, why, rule },
                None => State::Update { new, rule },
            };
        }
        if let Some(change) = changes.refused.get(&at) {
            return State::Stuck(Problem {
                reason: "downgrade-refused",
                rule: None,
                message: format!(
                    "Flux would write `{}`; --no-downgrade refused it",
                    change.new
                ),
            });
        }
    }
    let mut spans = vec![site.marker.span];
    spans.extend(value.map(|v| v.span));
    if let Some(problem) = findings.first(&file.source.path, &spans) {
        return State::Stuck(problem);
    }
    // Not stuck: what is applied from outside the repository (kingdonb/water-monitor's
    // `water-dev/`, whose own automation the bot's commits show running) is not known here, and
    // `check` leaves such a file unchecked.
    if !workspace.is_reached(site.file) {
        return State::Unknown(Problem {
            reason: "no-cluster",
            rule: None,
            message: "no cluster here applies this file, and no ImageUpdateAutomation here updates it: it may be applied from outside this repository"
                .to_string(),
        });
    }
    if !row.defined
        && inputs
            .config
            .external_policies
            .contains(&site.marker.setter.policy)
    {
        return State::Unknown(Problem {
            reason: "external-policy",
            rule: None,
            message: "the policy is in `external_policies`: its tags are not known here"
                .to_string(),
        });
    }
    if !row.defined {
        return State::Unknown(Problem {
            reason: "policy-unresolved",
            rule: None,
            message: "no ImagePolicy of this name is known here, and `check` reports nothing: \
                      its name may come from what the model cannot read \
                      (`postBuild.substituteFrom`, a remote base)"
                .to_string(),
        });
    }
    if let Some(problem) = &row.problem {
        return State::Stuck(problem.clone());
    }
    let latest = row
        .key
        .as_ref()
        .and_then(|key| inputs.resolution.latest.get(key));
    match (value, latest) {
        (Some(value), Some(latest)) if latest.value_for(site.marker.setter.kind) == value.value => {
            State::UpToDate
        }
        _ => State::Stuck(Problem {
            reason: "not-applied",
            rule: None,
            message: "Flux does not apply this marker".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, markers: usize) -> PolicyStatus {
        PolicyStatus {
            cluster: None,
            namespace: "flux-system".into(),
            name: name.into(),
            defined: true,
            image: None,
            tags: None,
            candidates: None,
            latest: None,
            digest: None,
            problem: None,
            markers: (0..markers)
                .map(|line| MarkerStatus {
                    file: "apps.yaml".into(),
                    line,
                    setter: "image",
                    value: None,
                    state: State::UpToDate,
                })
                .collect(),
            cluster_index: None,
            key: None,
        }
    }

    #[test]
    fn only_a_full_markers_value_is_shown_without_the_image() {
        let mut policy = policy("app", 1);
        policy.image = Some("ghcr.io/org/app".into());
        let mut marker = policy.markers[0].clone();
        marker.value = Some("ghcr.io/org/app:1.0.0".into());
        assert_eq!(marker.shown_value(&policy), Some("1.0.0"));
        marker.setter = "tag";
        assert_eq!(marker.shown_value(&policy), Some("ghcr.io/org/app:1.0.0"));
        marker.value = Some("1.0.0".into());
        assert_eq!(marker.shown_value(&policy), Some("1.0.0"));
    }

    #[test]
    fn truncation_keeps_the_first_markers_and_counts_the_rest() {
        let policies = vec![policy("a", 2), policy("b", 3), policy("c", 1)];
        let mut status = Status {
            version: 1,
            summary: count(&policies),
            policies,
        };
        assert_eq!(status.truncate(3), 3);
        let kept: Vec<(&str, usize)> = status
            .policies
            .iter()
            .map(|p| (p.name.as_str(), p.markers.len()))
            .collect();
        assert_eq!(kept, [("a", 2), ("b", 1)]);
        assert_eq!(status.summary.markers, 6, "the summary counts everything");
        assert_eq!(status.truncate(10), 0);
    }
}
