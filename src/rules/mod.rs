//! The rules: one file each, with its documentation at the top (what it catches, why it matters
//! in Flux, an example, the fix), and the registry that runs them in order. Rules produce
//! findings; severities, suppressions and positions are applied here; formats live in `report`.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::config::Config;
use crate::flux::automation::applied_by;
use crate::flux::image::{ImageRef, ImageRefError};
use crate::flux::objects::{FluxObject, PolicySpec, Spanned, Spec};
use crate::flux::selection::{CompileError, Compiler};
use crate::flux::versions::{ClusterFlux, Fluxes};
use crate::model::substitute::is_unresolved;
use crate::model::tree::Origin;
use crate::policy::select::check_extract;
use crate::policy::{CompiledPolicy, PolicyError};
use crate::report::{Diagnostic, Severity, Summary};
use crate::scan::marker::{MarkedValue, Marker, Placement, PolicyRef, SetterKind};
use crate::source::Span;
use crate::tags::TagSnapshot;
use crate::workspace::{ScannedFile, Workspace};

mod api_version;
mod automation;
mod commented_out_marker;
mod commit_hash_order;
mod cross_namespace_ref;
mod digest_not_reflected;
mod duplicate_object;
mod flux_v1_annotation;
mod image_mismatch;
mod image_name_rewrite;
mod invalid_extract;
mod invalid_image;
mod invalid_range;
mod invalid_regex;
mod kustomize_build;
mod marker_ignored;
mod marker_outside_automation;
mod marker_syntax;
mod marker_value_mismatch;
mod numeric_extract;
mod pattern_test_failed;
mod policy_choice;
mod schema;
mod semver_extract;
mod suppression;
mod tag_filtered_out;
mod tag_not_semver;
mod tag_out_of_range;
mod unapplied;
mod unknown_policy;
mod unknown_repository;
mod unquoted_tag;
mod unused_policy;
mod version_order;
mod yaml_syntax;

/// A rule: stable id, default severity, one line for listings, full docs, and its check.
pub struct Rule {
    pub id: &'static str,
    /// Its level when enabled (rules in `OPT_IN` are off until configured).
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it catches, why it matters in Flux, an example, the fix.
    pub docs: &'static str,
    pub check: fn(&Context, &mut Findings),
}

/// Every rule, in the order they run: rules that make a marker meaningless (syntax, placement,
/// unknown policy, wrong shape) come first and block the later marker rules for that marker,
/// so one problem gives one diagnostic.
pub static RULES: &[&Rule] = &[
    &yaml_syntax::RULE,
    &kustomize_build::RULE,
    &marker_syntax::RULE,
    &commented_out_marker::RULE,
    &marker_ignored::RULE,
    &unknown_policy::RULE,
    &marker_value_mismatch::RULE,
    &digest_not_reflected::RULE,
    &image_mismatch::RULE,
    &image_name_rewrite::RULE,
    &unquoted_tag::RULE,
    &tag_filtered_out::RULE,
    &tag_not_semver::RULE,
    &tag_out_of_range::RULE,
    &marker_outside_automation::RULE,
    &api_version::RULE,
    &schema::RULE,
    &policy_choice::RULE,
    &invalid_regex::RULE,
    &invalid_extract::RULE,
    &invalid_range::RULE,
    &numeric_extract::RULE,
    &semver_extract::RULE,
    &version_order::RULE,
    &commit_hash_order::RULE,
    &pattern_test_failed::RULE,
    &invalid_image::RULE,
    &unknown_repository::RULE,
    &cross_namespace_ref::RULE,
    &duplicate_object::RULE,
    &automation::RULE,
    &flux_v1_annotation::RULE,
    &unused_policy::RULE,
    &suppression::UNKNOWN_RULE_IN_IGNORE,
    &suppression::UNUSED_IGNORE,
];

/// Rules that report nothing until `.flux-image-lint.yaml` gives them a level: clean-up lists
/// of things done on purpose, not faults.
static OPT_IN: &[&Rule] = &[&commented_out_marker::RULE, &suppression::UNUSED_IGNORE];

impl Rule {
    /// The rule's level when the configuration does not name it; `None`: off.
    pub fn default_severity(&self) -> Option<Severity> {
        let opt_in = OPT_IN.iter().any(|rule| rule.id == self.id);
        (!opt_in).then_some(self.severity)
    }

    /// The default level as listings show it: `error`, `warning` or `off`.
    pub fn default_label(&self) -> &'static str {
        self.default_severity().map_or("off", Severity::as_str)
    }
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|rule| rule.id == id)
}

/// The rule id closest to a misspelt one.
pub fn closest_id(id: &str) -> Option<&'static str> {
    crate::flux::schema::closest_field(id, RULES.iter().map(|r| r.id))
}

/// The known `namespace:name` of a policy nearest to a misspelt one.
pub fn closest_policy<'a>(wanted: &str, known: &'a [String]) -> Option<&'a str> {
    unknown_policy::closest_name(wanted, known)
}

/// What every rule can see.
pub struct Context<'a> {
    pub workspace: &'a Workspace,
    pub config: &'a Config,
    /// Tags from `--tags-file`, when given.
    pub snapshot: Option<&'a TagSnapshot>,
    /// Every ImagePolicy compiled once, by its index among the objects: a duplicate never lends
    /// its selection to a message about the other.
    compiled: Vec<Option<CompiledDefinition>>,
    /// Each ImageRepository's `spec.image` parsed, by its index among the objects, on the first
    /// ask: every marker of its policies compares with it. Boxed: most objects are no
    /// repository, and their slots stay small.
    scanned_images: Vec<OnceLock<Option<Box<ScannedImage>>>>,
    /// Indices of the objects rules judge (see `objects`).
    judged: Vec<usize>,
    /// Indices of the files that get diagnostics (see `files`), and of those with markers:
    /// listed once, as most rules walk them.
    reached: Vec<usize>,
    with_markers: Vec<usize>,
    /// By policy (`namespace:name`), the tags found in the repository: what its markers deploy
    /// now and its pattern tests accept. Gathered in one pass, not once per policy, on the first
    /// ask.
    repository_tags: OnceLock<HashMap<String, BTreeSet<String>>>,
    /// Per file, what several rules ask of each of its markers, worked out on the first ask.
    marker_facts: Vec<OnceLock<Vec<MarkerFacts<'a>>>>,
    /// Every unblocked marker's current tag, classified: the three tag rules ask with the same
    /// markers blocked, and classifying is their cost.
    current_tags: OnceLock<tag_filtered_out::Classified<'a>>,
}

/// An ImageRepository's `spec.image`, parsed.
pub type ScannedImage = Result<ImageRef, ImageRefError>;

/// What the rules ask of one marker, once: its policy and its value as an image reference.
struct MarkerFacts<'a> {
    policy: Option<(&'a FluxObject, &'a PolicySpec)>,
    /// For the setters whose value is an image (`image`, `name`), when it parses.
    image: Option<ImageRef>,
}

/// A marker Flux would apply, with where it is.
pub struct MarkerSite<'a> {
    pub file_index: usize,
    pub marker_index: usize,
    pub file: &'a ScannedFile,
    pub marker: &'a Marker,
}

impl<'a> MarkerSite<'a> {
    pub fn value(&self) -> Option<&'a MarkedValue> {
        match &self.marker.placement {
            Placement::Applied(value) => Some(value),
            Placement::Ignored(_) => None,
        }
    }
}

impl<'a> Context<'a> {
    /// Every syntactically valid marker of the repository.
    pub fn markers(&self) -> impl Iterator<Item = MarkerSite<'a>> + '_ {
        (self.with_markers.iter()).flat_map(move |&file_index| self.markers_of_file(file_index))
    }

    /// Every syntactically valid marker of one file.
    pub fn markers_of_file(
        &self,
        file_index: usize,
    ) -> impl Iterator<Item = MarkerSite<'a>> + use<'a> {
        let file = &self.workspace.files[file_index];
        (file.markers.markers.iter())
            .enumerate()
            .map(move |(marker_index, marker)| MarkerSite {
                file_index,
                marker_index,
                file,
                marker,
            })
    }

    /// The files that get diagnostics: with clusters, those a cluster reaches (a file no
    /// cluster reads, such as a test fixture, is nothing Flux sees).
    pub fn files(&self) -> impl Iterator<Item = (usize, &'a ScannedFile)> + '_ {
        let workspace = self.workspace;
        self.reached
            .iter()
            .map(move |&index| (index, &workspace.files[index]))
    }

    /// The markers Flux applies whose problems no earlier rule has reported, with the scalar
    /// each annotates: what the marker rules after `marker-ignored` look at. Collected, so that
    /// rules can report while they go.
    pub fn live_markers(&self, findings: &Findings) -> Vec<(MarkerSite<'a>, &'a MarkedValue)> {
        self.markers()
            .filter(|site| !findings.is_blocked(site))
            .filter_map(|site| {
                let value = site.value()?;
                Some((site, value))
            })
            .collect()
    }

    /// `judge` of each live marker (see `live_markers`) on the workspace's threads, its findings
    /// and blocked markers taken in the markers' order: for the rules that block markers, which
    /// run in turn while the others wait, and judge each marker on its own. The findings `judge`
    /// writes to hold none of the markers blocked before, so it must not ask which are.
    pub fn judge_live_markers(
        &self,
        out: &mut Findings,
        judge: impl Fn(&MarkerSite<'a>, &'a MarkedValue, &mut Findings) + Sync,
    ) {
        let live = self.live_markers(out);
        let parts = crate::parallel::map_slices(&live, self.workspace.jobs, |markers| {
            let mut own = Findings::default();
            for (site, value) in markers {
                judge(site, value, &mut own);
            }
            own
        });
        for part in parts {
            out.items.extend(part.items);
            out.blocked_markers.extend(part.blocked_markers);
        }
    }

    /// The objects of `kind` of `clusters` whose file writes them as `namespace:name` but that
    /// a build applies under another key (a `targetNamespace` or `namespace` moves it, a
    /// `namePrefix` or `nameSuffix` renames it), with where its file writes what changed:
    /// `file:line` of its namespace when it moved, else of its name.
    pub fn applied_under_another_key(
        &self,
        kind: crate::flux::Kind,
        clusters: &[usize],
        namespace: &str,
        name: &str,
    ) -> Vec<(&'a FluxObject, String)> {
        (self.workspace.index.of_kind(kind))
            .filter(|object| {
                clusters.contains(&object.cluster)
                    && (object.namespace != namespace || object.name.value != name)
            })
            .filter_map(|object| {
                let (written_name, name_at) = self.written_metadata(object, "name")?;
                if written_name != name {
                    return None;
                }
                if object.namespace == namespace {
                    return Some((object, name_at));
                }
                let (written_namespace, namespace_at) =
                    self.written_metadata(object, "namespace")?;
                (written_namespace == namespace).then_some((object, namespace_at))
            })
            .collect()
    }

    /// `metadata.<field>` as the object's file writes it, and where: `file:line`.
    pub fn written_metadata(&self, object: &FluxObject, field: &str) -> Option<(String, String)> {
        let scanned = &self.workspace.files[object.file()];
        let tree = scanned.tree().ok()?;
        let start = object.origin().span().start;
        let document = (tree.documents.iter().copied())
            .find(|&document| tree.node(document).span.start == start)?;
        let value = tree
            .get(document, "metadata")
            .and_then(|metadata| tree.get(metadata, field))?;
        let line = scanned.source.position(tree.node(value).span.start).line;
        Some((
            tree.scalar(value)?.to_string(),
            format!("{}:{line}", scanned.source.path),
        ))
    }

    /// The objects whose content rules judge: those rendered with certainty (a remote base,
    /// `replacements` or a failed build leaves the others unknown), and of a base that several
    /// roots render alike only the first, so one field gives one diagnostic.
    pub fn objects(&self) -> impl Iterator<Item = &'a FluxObject> + '_ {
        let objects = &self.workspace.index.objects;
        self.judged.iter().map(move |&i| &objects[i])
    }

    /// The judged ImagePolicies whose selection (range, pattern, extract) holds no `${var}`
    /// left unfilled: a template's placeholder (`'^${IMAGE_TAG_PATTERN}$'`, filled in per tenant
    /// or by a `postBuild.substituteFrom` this repository does not hold) selects by values this
    /// check cannot know.
    pub fn policies_of_known_selection(
        &self,
    ) -> impl Iterator<Item = (&'a FluxObject, &'a PolicySpec)> + '_ {
        self.objects().filter_map(|object| match &object.spec {
            Spec::Policy(spec) if !spec.selects_by_unknown_values() => Some((object, &**spec)),
            _ => None,
        })
    }

    /// The loudest a value rule may be about this marker: see `value_rule_ceiling`. The
    /// automations that could apply it are, for now, every one of the repository (one cluster).
    pub fn value_ceiling(&self, site: &MarkerSite) -> Severity {
        let Some((policy, _)) = self.policy_of(site) else {
            return Severity::Error;
        };
        let automations = self
            .workspace
            .index
            .of_kind(crate::flux::Kind::ImageUpdateAutomation)
            .filter(|automation| automation.cluster == policy.cluster);
        value_rule_ceiling(
            automations,
            policy,
            &site.marker.setter.policy.namespace,
            &site.file.source.path,
        )
    }

    /// Who writes a marker's value next, as a message's subject: Flux, where an automation
    /// applies the marker (or none is here: updates then come from elsewhere); where others are
    /// and none applies it, one that would (daodejing/chamo: "Flux would replace it" beside
    /// `marker-outside-automation`'s "no automation applies this marker").
    pub fn next_writer(&self, site: &MarkerSite) -> &'static str {
        match self.value_ceiling(site) {
            Severity::Error => "Flux",
            _ => "an automation applying this marker (none here does)",
        }
    }

    /// The ImagePolicy a marker names, in the clusters the marker answers to, when a render
    /// applies it with certainty: what the rules about the marker's value judge it by.
    pub fn policy_of(&self, site: &MarkerSite) -> Option<(&'a FluxObject, &'a PolicySpec)> {
        self.marker_facts(site)
            .policy
            .filter(|(object, _)| !object.uncertain)
    }

    /// The marker's value as an image reference, for the setters whose value is one.
    pub fn marked_image(&self, site: &MarkerSite) -> Option<&ImageRef> {
        self.marker_facts(site).image.as_ref()
    }

    fn marker_facts(&self, site: &MarkerSite) -> &MarkerFacts<'a> {
        &self.facts_of_file(site.file_index)[site.marker_index]
    }

    fn facts_of_file(&self, file_index: usize) -> &[MarkerFacts<'a>] {
        self.marker_facts[file_index].get_or_init(|| {
            let file = self.file(file_index);
            file.markers
                .markers
                .iter()
                .map(|marker| MarkerFacts {
                    policy: self
                        .workspace
                        .marker_policy(file_index, &marker.setter.policy),
                    image: match (&marker.placement, marker.setter.kind) {
                        (Placement::Applied(value), SetterKind::Image | SetterKind::Name) => {
                            ImageRef::parse(&value.value).ok()
                        }
                        _ => None,
                    },
                })
                .collect()
        })
    }

    /// ` (set by FILE:LINE)` when a field of an object was written elsewhere than the object
    /// (a kustomize patch), so a message about the value says where to change it.
    pub fn set_by<T>(&self, object: &FluxObject, field: &Spanned<T>) -> String {
        if field.file() == object.file() {
            return String::new();
        }
        let file = self.file(field.file());
        format!(
            " (set by {}:{})",
            file.source.path,
            file.source.line_of(field.span().start)
        )
    }

    pub fn file(&self, index: usize) -> &'a ScannedFile {
        &self.workspace.files[index]
    }

    /// The Flux that runs the cluster a file belongs to: the first cluster that reads it and
    /// pins a version, else the first that reads it (what stands in for its pins), else (no
    /// cluster reads it) the repository's pins.
    pub fn flux_for_file(&self, file: usize) -> &ClusterFlux {
        let reading = || {
            self.workspace
                .model
                .clusters
                .iter()
                .zip(&self.workspace.fluxes.clusters)
                .filter(|(cluster, _)| cluster.files.contains(&file))
                .map(|(_, of)| of)
        };
        reading()
            .find(|of| of.pinned)
            .or_else(|| reading().next())
            .map_or(&self.workspace.fluxes.repository, |of| &of.flux)
    }

    /// The Flux that runs an object: its cluster's (see [`Context::cluster_of_object`]), else
    /// its file's.
    pub fn flux_for_object(&self, object: &FluxObject) -> &ClusterFlux {
        self.flux_running(object, self.cluster_of_object(object))
    }

    /// The Flux of `cluster`, what [`Context::cluster_of_object`] gave for `object`.
    pub fn flux_running(&self, object: &FluxObject, cluster: Option<usize>) -> &ClusterFlux {
        match cluster {
            Some(cluster) => self.workspace.fluxes.of_cluster(cluster),
            None => self.flux_for_file(object.file()),
        }
    }

    /// The cluster whose Flux runs an object: of the clusters that apply a copy of its document
    /// (a Flux Kustomization's patch may delete it in some: controlplaneio-fluxcd/d1-fleet's
    /// production clusters drop the automation their staging cluster runs), the first in the
    /// model's order that pins a version, else the first; `None` without clusters.
    pub fn cluster_of_object(&self, object: &FluxObject) -> Option<usize> {
        let workspace = self.workspace;
        if workspace.model.clusters.is_empty() {
            return None;
        }
        let rank = |cluster: &usize| {
            let pinned = (workspace.fluxes.clusters.get(*cluster)).is_some_and(|of| of.pinned);
            (!pinned, *cluster)
        };
        (workspace.index.copies_of(object))
            .map(|copy| copy.cluster)
            .min_by_key(rank)
    }

    /// What becomes of a field an object's CRD does not declare, as the Flux that applies it
    /// applies it: before Flux 0.18 `kubectl apply` let Kubernetes drop the field; from then on
    /// the server-side dry run refuses the whole object, and with it the apply of everything
    /// its Flux Kustomization builds (fluxcd/kustomize-controller#453).
    pub fn undeclared_field_fate(&self, object: &FluxObject) -> &'static str {
        if self.flux_of(object).applies_client_side().is_some() {
            "Kubernetes drops it, and Flux never sees it"
        } else {
            "Kubernetes refuses the object (`field not declared in schema`), so the Flux Kustomization that applies it applies nothing"
        }
    }

    /// The Flux of the cluster that applies an object: what reads its ImagePolicy's tags.
    pub fn flux_of(&self, object: &FluxObject) -> &ClusterFlux {
        self.workspace.fluxes.of_cluster(object.cluster)
    }

    /// The tags the repository knows for a policy: those its markers deploy now, its pattern
    /// tests' `accept` lists, and the `--tags-file` snapshot of its image.
    pub fn known_tags(&self, policy: &FluxObject, spec: &PolicySpec) -> BTreeSet<String> {
        let mut tags = self
            .repository_tags()
            .get(&policy.key())
            .cloned()
            .unwrap_or_default();
        let image = self
            .workspace
            .index
            .repository_of(policy, spec)
            .and_then(|(_, r)| r.image.as_ref());
        if let (Some(snapshot), Some(image)) = (self.snapshot, image) {
            tags.extend(snapshot.tags(&image.value).into_iter().flatten().cloned());
        }
        tags
    }

    /// Where a policy says what value each tag gives: its `extract`, else its pattern, else its
    /// name.
    pub fn value_origin(policy: &FluxObject, spec: &PolicySpec) -> Origin {
        spec.extract
            .as_ref()
            .or(spec.filter_pattern.as_ref())
            .unwrap_or(&policy.name)
            .origin()
    }

    /// The tags `known_tags` gives, and those the policy's pattern tests name.
    pub fn known_or_tested_tags(&self, policy: &FluxObject, spec: &PolicySpec) -> BTreeSet<String> {
        let key = policy.key();
        let mut tags = self.known_tags(policy, spec);
        tags.extend(
            self.workspace
                .pattern_tests
                .iter()
                .filter(|t| t.policy.value == key)
                .flat_map(|t| t.tags.iter().chain(&t.latest))
                .map(|t| t.value.clone()),
        );
        tags
    }

    /// The tag a marker's value deploys now, as written: a `:tag` marker's value, or the tag of a
    /// full marker's image; `None` for the other setters.
    pub fn marked_tag(&self, site: &MarkerSite, value: &MarkedValue) -> Option<String> {
        match site.marker.setter.kind {
            SetterKind::Tag => Some(value.value.clone()),
            SetterKind::Image => self.marked_image(site)?.tag.clone(),
            SetterKind::Name | SetterKind::Digest => None,
        }
    }

    /// The policy, compiled; `None` when it cannot select or its `extract` refers to groups the
    /// pattern lacks (other rules say why, and tag rules stay quiet: one finding, one diagnostic).
    pub fn compiled(&self, policy: &FluxObject) -> Option<&CompiledPolicy> {
        self.compiled
            .get(self.index_of(policy)?)?
            .as_ref()?
            .as_deref()
            .ok()
    }

    /// An ImageRepository's `spec.image` as an image reference; `None` when it has none, or one
    /// whose value is unknown.
    pub fn scanned_image(&self, repository: &FluxObject) -> Option<&ScannedImage> {
        let Spec::Repository(spec) = &repository.spec else {
            return None;
        };
        let index = self.index_of(repository)?;
        self.scanned_images[index]
            .get_or_init(|| {
                spec.image
                    .as_ref()
                    // A `${var}` left after substitution: its value comes from where this check
                    // cannot read (a `substituteFrom` ConfigMap Terraform writes).
                    .filter(|image| !is_unresolved(&image.value))
                    .map(|image| Box::new(ImageRef::parse(&image.value)))
            })
            .as_deref()
    }

    /// Where an object of the index sits among its objects: what per-object tables are
    /// indexed by (a `namespace:name` key would be formatted on every ask).
    fn index_of(&self, object: &FluxObject) -> Option<usize> {
        let objects = &self.workspace.index.objects;
        let offset = std::ptr::from_ref(object)
            .addr()
            .checked_sub(objects.as_ptr().addr())?;
        let index = offset / std::mem::size_of::<FluxObject>();
        objects
            .get(index)
            .filter(|found| std::ptr::eq(*found, object))
            .map(|_| index)
    }

    pub fn new(
        workspace: &'a Workspace,
        config: &'a Config,
        snapshot: Option<&'a TagSnapshot>,
    ) -> Context<'a> {
        let jobs = workspace.jobs;
        let judged = judged_objects(&workspace.index.objects);
        let compiled = compile_policies(workspace, &workspace.fluxes);
        let reached: Vec<usize> = (0..workspace.files.len())
            .filter(|&index| workspace.is_reached(index))
            .collect();
        let with_markers = reached
            .iter()
            .copied()
            .filter(|&index| !workspace.files[index].markers.markers.is_empty())
            .collect();
        let cx = Context {
            judged,
            reached,
            with_markers,
            workspace,
            config,
            snapshot,
            compiled,
            scanned_images: workspace
                .index
                .objects
                .iter()
                .map(|_| OnceLock::new())
                .collect(),
            repository_tags: OnceLock::new(),
            marker_facts: workspace.files.iter().map(|_| OnceLock::new()).collect(),
            current_tags: OnceLock::new(),
        };
        // Every rule about markers asks for their facts: worked out on the workspace's threads.
        crate::parallel::map_slices(&cx.with_markers, jobs, |files| {
            for &file in files {
                cx.facts_of_file(file);
            }
        });
        cx
    }

    fn repository_tags(&self) -> &HashMap<String, BTreeSet<String>> {
        self.repository_tags
            .get_or_init(|| self.gather_repository_tags())
    }

    fn gather_repository_tags(&self) -> HashMap<String, BTreeSet<String>> {
        let mut tags: HashMap<String, BTreeSet<String>> = HashMap::new();
        for test in &self.workspace.pattern_tests {
            tags.entry(test.policy.value.clone())
                .or_default()
                .extend(test.accept.iter().map(|t| t.value.clone()));
        }
        // Gathered by the markers' policy first: its `namespace:name` is formatted once, not
        // once per marker.
        let mut of_markers: HashMap<&PolicyRef, BTreeSet<String>> = HashMap::new();
        for site in self.markers() {
            let Some(value) = site.value() else { continue };
            // A digest pinned after a `:tag` marker's tag (`tag@sha256:…`, written by a full
            // marker before) is no part of any tag the registry lists.
            let tag = self
                .marked_tag(&site, value)
                .map(|tag| match tag.split_once('@') {
                    Some((tag, _)) => tag.to_string(),
                    None => tag,
                });
            if let Some(tag) = tag {
                of_markers
                    .entry(&site.marker.setter.policy)
                    .or_default()
                    .insert(tag);
            }
        }
        for (policy, marker_tags) in of_markers {
            tags.entry(policy.to_string())
                .or_default()
                .extend(marker_tags);
        }
        tags
    }
}

/// An ImagePolicy compiled, or why it cannot select.
type CompiledDefinition = Result<std::sync::Arc<CompiledPolicy>, CompileError>;

/// Every ImagePolicy compiled, by its index among the objects (`None` for other kinds), each
/// reading tags as the Flux of its cluster does.
fn compile_policies(workspace: &Workspace, fluxes: &Fluxes) -> Vec<Option<CompiledDefinition>> {
    let mut compiler = Compiler::new(fluxes);
    // Policies of one pattern and one `extract` (most, in a large repository) share the check.
    let mut extract_checks: HashMap<(&str, &str), Result<(), PolicyError>> = HashMap::new();
    let mut compiled = Vec::with_capacity(workspace.index.objects.len());
    for object in &workspace.index.objects {
        let spec = match &object.spec {
            // A `${var}` left in the selection: what it selects is not known.
            Spec::Policy(spec) if !spec.selects_by_unknown_values() => spec,
            _ => {
                compiled.push(None);
                continue;
            }
        };
        let definition = compiler
            .compile(&workspace.index, object, spec)
            .and_then(|compiled| {
                let Some(extract) = &spec.extract else {
                    return Ok(compiled);
                };
                let pattern = spec
                    .filter_pattern
                    .as_ref()
                    .map_or("", |p| p.value.as_str());
                extract_checks
                    .entry((pattern, extract.value.as_str()))
                    .or_insert_with(|| check_extract(pattern, &extract.value))
                    .clone()
                    .map(|()| compiled)
                    .map_err(CompileError::Invalid)
            });
        compiled.push(Some(definition));
    }
    compiled
}

/// The certain objects, less those whose document and spec (values and origins) repeat an
/// earlier one's: a base rendered alike by several roots.
fn judged_objects(objects: &[FluxObject]) -> Vec<usize> {
    let mut seen: HashSet<(Origin, u64)> = HashSet::new();
    (0..objects.len())
        .filter(|&i| {
            let object = &objects[i];
            !object.uncertain && seen.insert((object.origin(), object.spec_digest))
        })
        .collect()
}

/// The loudest a value rule (`tag-filtered-out`, `tag-out-of-range`, `tag-not-semver`,
/// `marker-value-mismatch`, `version-order`) may be about a marker of `policy` in `file_path`,
/// given the automations that could apply it (those of the marker's cluster).
///
/// When none of them applies the marker, no automation ever writes its value, so a wrong value
/// there changes nothing in the cluster: a warning at most, beside `marker-outside-automation`'s
/// warning that says why. Where one applies it, or where there is no automation at all (updates
/// then come from elsewhere, such as `check --fix`), the rule keeps its level.
pub fn value_rule_ceiling<'a>(
    could_apply: impl IntoIterator<Item = &'a FluxObject>,
    policy: &FluxObject,
    named: &str,
    file_path: &str,
) -> Severity {
    match applied_by(could_apply, policy, named, file_path) {
        Some(false) => Severity::Warning,
        Some(true) | None => Severity::Error,
    }
}

/// A rule's result before severities and positions are applied.
pub struct Finding {
    pub rule: &'static str,
    pub file: usize,
    pub span: Span,
    pub message: String,
    pub help: String,
    /// For rules whose severity depends on the case (a deprecated vs a removed API).
    pub severity: Option<Severity>,
    /// The loudest this finding may be, whatever the rule's level (see `value_rule_ceiling`).
    pub ceiling: Severity,
}

#[derive(Default)]
pub struct Findings {
    items: Vec<Finding>,
    blocked_markers: HashSet<(usize, usize)>,
}

impl Findings {
    pub fn push(&mut self, rule: &Rule, file: usize, span: Span, message: String, help: String) {
        self.items.push(Finding {
            rule: rule.id,
            file,
            span,
            message,
            help,
            severity: None,
            ceiling: Severity::Error,
        });
    }

    /// A finding at a field of a rendered object, wherever a patch or the object wrote it.
    pub fn push_at(&mut self, rule: &Rule, origin: Origin, message: String, help: String) {
        self.push(rule, origin.file(), origin.span(), message, help);
    }

    pub fn push_with_severity(
        &mut self,
        rule: &Rule,
        severity: Severity,
        file: usize,
        span: Span,
        message: String,
        help: String,
    ) {
        self.push(rule, file, span, message, help);
        if let Some(last) = self.items.last_mut() {
            last.severity = Some(severity);
        }
    }

    /// Caps the severity of the finding pushed last, whatever the configuration sets (see
    /// `value_rule_ceiling`).
    pub fn at_most(&mut self, ceiling: Severity) {
        if let Some(last) = self.items.last_mut() {
            last.ceiling = ceiling;
        }
    }

    /// Later marker rules skip this marker: its problem has been reported.
    pub fn block(&mut self, site: &MarkerSite) {
        self.blocked_markers
            .insert((site.file_index, site.marker_index));
    }

    pub fn is_blocked(&self, site: &MarkerSite) -> bool {
        self.blocked_markers
            .contains(&(site.file_index, site.marker_index))
    }
}

/// Rules that block markers (`Findings::block`) for the marker rules after them.
static BLOCKING: &[&Rule] = &[
    &marker_ignored::RULE,
    &unknown_policy::RULE,
    &marker_value_mismatch::RULE,
    &image_mismatch::RULE,
];

/// Every rule's findings, in the order of `RULES`. The rules that block markers run first, in
/// turn; then the others run in parallel, each into findings of its own that hold the markers
/// blocked by the rules before it in `RULES`: what each sees is what it saw when all ran in turn.
fn run_rules(cx: &Context) -> Vec<Finding> {
    let mut by_rule: Vec<Vec<Finding>> = RULES.iter().map(|_| Vec::new()).collect();
    let mut blocked = HashSet::new();
    let mut others = Vec::new();
    for (position, rule) in RULES.iter().enumerate() {
        if BLOCKING.iter().any(|blocking| blocking.id == rule.id) {
            let mut own = Findings {
                items: Vec::new(),
                blocked_markers: blocked,
            };
            (rule.check)(cx, &mut own);
            by_rule[position] = own.items;
            blocked = own.blocked_markers;
        } else {
            others.push((position, rule, blocked.clone()));
        }
    }
    let found = crate::parallel::map(&others, cx.workspace.jobs, |(_, rule, blocked)| {
        let mut own = Findings {
            items: Vec::new(),
            blocked_markers: blocked.clone(),
        };
        (rule.check)(cx, &mut own);
        debug_assert_eq!(
            &own.blocked_markers, blocked,
            "{} blocks markers: list it in BLOCKING",
            rule.id
        );
        own.items
    });
    for (&(position, _, _), items) in others.iter().zip(found) {
        by_rule[position] = items;
    }
    by_rule.into_iter().flatten().collect()
}

/// For tests: the diagnostics of `rules` on a repository of these files, with no config.
#[cfg(test)]
pub(crate) fn diagnostics_of(files: &[(&str, &str)], rules: &[&str]) -> Vec<Diagnostic> {
    let (_dir, workspace) = crate::workspace::workspace_of(files);
    let (diagnostics, _) = run(&workspace, &Config::default(), None, None);
    (diagnostics.into_iter())
        .filter(|d| rules.contains(&d.rule))
        .collect()
}

/// Runs every enabled rule; `only_files` restricts the report to those repository-relative paths
/// (pre-commit passes changed files) while the whole repository still gives context.
pub fn run(
    workspace: &Workspace,
    config: &Config,
    snapshot: Option<&TagSnapshot>,
    only_files: Option<&[String]>,
) -> (Vec<Diagnostic>, Summary) {
    let cx = Context::new(workspace, config, snapshot);
    // The files' suppression comments are found, and the tags the repository knows gathered,
    // while the rules that block markers run (they ask for no tags).
    let (findings, suppressions) = crate::parallel::join(
        workspace.jobs,
        || run_rules(&cx),
        || {
            cx.repository_tags();
            suppression::Suppressions::find(workspace)
        },
    );
    let markers = cx.markers().count();
    // The rules' tables are freed while the diagnostics are assembled.
    let ((), diagnostics) = crate::parallel::join(
        workspace.jobs,
        move || drop(cx),
        || reported(workspace, config, only_files, findings, suppressions),
    );
    let ignored = workspace.files_flux_ignores();
    let summary = Summary {
        files_scanned: workspace.stats.files_scanned,
        yaml_files: workspace.stats.yaml_files,
        markers,
        policies: definitions(workspace, crate::flux::Kind::ImagePolicy),
        repositories: definitions(workspace, crate::flux::Kind::ImageRepository),
        errors: diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
        warnings: diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count(),
        files_flux_ignores: ignored.len(),
        markers_flux_ignores: ignored
            .iter()
            .map(|&file| workspace.files[file].markers.markers.len())
            .sum(),
    };
    (diagnostics, summary)
}

/// The findings as reported: severities and positions applied, suppressed ones left out (the
/// suppressions' own findings added), sorted.
fn reported(
    workspace: &Workspace,
    config: &Config,
    only_files: Option<&[String]>,
    findings: Vec<Finding>,
    mut suppressions: suppression::Suppressions,
) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = findings
        .into_iter()
        .filter_map(|finding| {
            let (file, diagnostic) = diagnostic(workspace, config, only_files, finding)?;
            (!suppressions.suppress(file, diagnostic.line, diagnostic.rule)).then_some(diagnostic)
        })
        .collect();
    // The suppressions' own rules, once every other diagnostic had its chance to use them.
    let mut about_suppressions = Findings::default();
    suppressions.report(&mut about_suppressions);
    diagnostics.extend(about_suppressions.items.into_iter().filter_map(|finding| {
        let (file, diagnostic) = diagnostic(workspace, config, only_files, finding)?;
        (!suppressions.covers(file, diagnostic.line, diagnostic.rule)).then_some(diagnostic)
    }));
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    diagnostics.dedup();
    diagnostics
}

/// How many objects of a kind the repository writes: a definition that several renders or
/// clusters apply counts once.
fn definitions(workspace: &Workspace, kind: crate::flux::Kind) -> usize {
    workspace
        .index
        .of_kind(kind)
        .map(|object| object.name.origin())
        .collect::<HashSet<_>>()
        .len()
}

/// A finding as reported, with its file's index: its configured severity and position; `None`
/// when its rule is off or its file is not reported on.
fn diagnostic(
    workspace: &Workspace,
    config: &Config,
    only_files: Option<&[String]>,
    finding: Finding,
) -> Option<(usize, Diagnostic)> {
    let rule = find(finding.rule)?;
    let configured = config.severity(rule.id, rule.default_severity())?;
    let severity = match (config.levels.contains_key(rule.id), finding.severity) {
        (false, Some(severity)) => severity,
        _ => configured,
    };
    // `Severity` orders the louder first: the later of the two is the quieter.
    let severity = severity.max(finding.ceiling);
    let file = &workspace.files[finding.file];
    if only_files.is_some_and(|only| !only.contains(&file.source.path)) {
        return None;
    }
    // A block collection ends where the next token starts (as yaml.v3's and granit-parser's
    // events end it): the line breaks and indentation before that are not what is reported,
    // and would underline the next line too.
    let text = file.source.text().as_bytes();
    let mut span = finding.span;
    while span.end > span.start
        && text
            .get(span.end - 1)
            .is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
    {
        span.end -= 1;
    }
    let start = file.source.position(span.start);
    let end = file.source.position(span.end);
    Some((
        finding.file,
        Diagnostic {
            rule: rule.id,
            severity,
            file: file.source.path.clone(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            message: finding.message,
            help: finding.help,
            byte_start: span.start,
            byte_end: span.end,
        },
    ))
}
