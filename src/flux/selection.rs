//! The selection settings of an ImagePolicy, assembled from the policy and its ImageRepository
//! as the policy engine takes them (exclusion list, filter, extract, choice).

use foldhash::HashMap;
use std::sync::Arc;

use super::index::{as_policy, FluxIndex};
use super::objects::{ChoiceKind, FluxObject, PolicySpec};
use super::versions::Fluxes;
use crate::policy::{self, Choice, Order, TagGrammar};

/// Why a policy cannot be evaluated at all (each reported by its own rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// No (or an unusable) `semver` / `alphabetical` / `numerical` choice: `policy-choice`.
    NoChoice,
    /// The ImageRepository is not defined: `unknown-repository`.
    NoRepository,
}

/// A policy's selection settings, borrowed from its objects, with how its cluster's Flux reads
/// tags: what [`Compiler`] looks its cache up by, so that only a selection not seen before is
/// copied into a [`policy::PolicySpec`].
#[derive(PartialEq, Eq, Hash)]
struct Selection<'a> {
    exclusion_list: Option<Vec<&'a str>>,
    filter_pattern: Option<&'a str>,
    extract: Option<&'a str>,
    choice: SelectedChoice<'a>,
}

/// [`Choice`], borrowed.
#[derive(PartialEq, Eq, Hash)]
enum SelectedChoice<'a> {
    Semver { range: &'a str, grammar: TagGrammar },
    Alphabetical { order: Order },
    Numerical { order: Order },
}

impl<'a> Selection<'a> {
    /// The engine's view of a policy whose cluster's Flux reads tags with `grammar`. With
    /// several choices Flux uses the first of semver > alphabetical > numerical, and so do we.
    fn of(
        index: &'a FluxIndex,
        policy: &'a FluxObject,
        spec: &'a PolicySpec,
        grammar: TagGrammar,
    ) -> Result<Selection<'a>, Unusable> {
        let (_, repository) = index
            .repository_of(policy, spec)
            .ok_or(Unusable::NoRepository)?;
        let choice = [
            ChoiceKind::Semver,
            ChoiceKind::Alphabetical,
            ChoiceKind::Numerical,
        ]
        .iter()
        .find_map(|kind| spec.choices.iter().find(|c| c.kind == *kind))
        .ok_or(Unusable::NoChoice)?;
        let argument = choice.argument.as_ref().map(|a| a.value.as_str());
        let order = || match argument {
            None | Some("asc") => Ok(Order::Asc),
            Some("desc") => Ok(Order::Desc),
            Some(_) => Err(Unusable::NoChoice),
        };
        let choice = match choice.kind {
            ChoiceKind::Semver => SelectedChoice::Semver {
                range: argument.ok_or(Unusable::NoChoice)?,
                grammar,
            },
            ChoiceKind::Alphabetical => SelectedChoice::Alphabetical { order: order()? },
            ChoiceKind::Numerical => SelectedChoice::Numerical { order: order()? },
        };
        Ok(Selection {
            exclusion_list: repository
                .exclusion_list
                .as_ref()
                .map(|list| list.iter().map(|p| p.value.as_str()).collect()),
            filter_pattern: spec.filter_pattern.as_ref().map(|p| p.value.as_str()),
            extract: spec.extract.as_ref().map(|e| e.value.as_str()),
            choice,
        })
    }

    /// The selection as the policy engine takes it.
    fn to_spec(&self) -> policy::PolicySpec {
        policy::PolicySpec {
            exclusion_list: self
                .exclusion_list
                .as_ref()
                .map(|list| list.iter().map(|p| p.to_string()).collect()),
            filter_pattern: self.filter_pattern.map(str::to_string),
            extract: self.extract.map(str::to_string),
            choice: match self.choice {
                SelectedChoice::Semver { range, grammar } => Choice::Semver {
                    range: range.to_string(),
                    grammar,
                },
                SelectedChoice::Alphabetical { order } => Choice::Alphabetical { order },
                SelectedChoice::Numerical { order } => Choice::Numerical { order },
            },
        }
    }
}

/// Whether two copies of a policy in one cluster select alike: the same image, the same tags
/// kept and ranked, digests recorded or not. The overlays of one repository render copies of
/// one policy, most of them alike, some patched to select apart; resolving each distinct one
/// once serves every marker of every copy.
pub fn selects_alike(index: &FluxIndex, a: &FluxObject, b: &FluxObject) -> bool {
    match (resolution_inputs(index, a), resolution_inputs(index, b)) {
        (Some(a), Some(b)) => a == b,
        // A copy that cannot select resolves to nothing, alike only to itself.
        _ => std::ptr::eq(a, b),
    }
}

/// Whether two copies of a policy, each in its own cluster, select alike: as
/// [`selects_alike`], and the Flux of both clusters reads tags alike.
pub fn select_alike_in_their_clusters(
    index: &FluxIndex,
    fluxes: &Fluxes,
    a: &FluxObject,
    b: &FluxObject,
) -> bool {
    selects_alike(index, a, b)
        && fluxes.of_cluster(a.cluster).tag_grammar() == fluxes.of_cluster(b.cluster).tag_grammar()
}

/// What resolving a policy reads: its selection (one cluster: the same Flux reads the tags),
/// the image and how it is reached, whether digests are recorded.
type ResolutionInputs<'a> = (Selection<'a>, Option<&'a str>, bool, bool);

fn resolution_inputs<'a>(
    index: &'a FluxIndex,
    policy: &'a FluxObject,
) -> Option<ResolutionInputs<'a>> {
    let (_, spec) = as_policy(policy)?;
    let selection = Selection::of(index, policy, spec, TagGrammar::Strict).ok()?;
    let (_, repository) = index.repository_of(policy, spec)?;
    let image = repository.image.as_ref().map(|image| image.value.as_str());
    Some((
        selection,
        image,
        repository.insecure,
        spec.reflects_digests(),
    ))
}

/// Why a policy does not compile into something that can select tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    Unusable(Unusable),
    Invalid(policy::PolicyError),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Unusable(Unusable::NoChoice) => {
                f.write_str("it sets no usable semver, alphabetical or numerical policy")
            }
            CompileError::Unusable(Unusable::NoRepository) => {
                f.write_str("its ImageRepository is not defined")
            }
            CompileError::Invalid(error) => write!(f, "{error}"),
        }
    }
}

/// Compiles policies once per distinct selection: policies usually share their patterns (every
/// hotio policy, every `^v?[0-9.]+$` semver filter), and regex compilation dominates a `check`.
/// Policies that share a selection share its compiled form: a copy of a regex would grow its own
/// matching cache (20,000 policies of one pattern: 400 MB).
pub struct Compiler<'a> {
    cache: HashMap<Selection<'a>, Result<Arc<policy::CompiledPolicy>, policy::PolicyError>>,
    fluxes: &'a Fluxes,
}

impl<'a> Compiler<'a> {
    /// A compiler for the policies of the clusters whose Flux `fluxes` tells.
    pub fn new(fluxes: &'a Fluxes) -> Compiler<'a> {
        Compiler {
            cache: HashMap::default(),
            fluxes,
        }
    }

    /// The policy compiled as the Flux of its cluster (`FluxObject::cluster`) runs it.
    pub fn compile(
        &mut self,
        index: &'a FluxIndex,
        policy: &'a FluxObject,
        spec: &'a PolicySpec,
    ) -> Result<Arc<policy::CompiledPolicy>, CompileError> {
        let grammar = self.fluxes.of_cluster(policy.cluster).tag_grammar();
        let selection =
            Selection::of(index, policy, spec, grammar).map_err(CompileError::Unusable)?;
        self.cache
            .entry(selection)
            .or_insert_with_key(|selection| {
                policy::CompiledPolicy::compile(&selection.to_spec()).map(Arc::new)
            })
            .clone()
            .map_err(CompileError::Invalid)
    }
}
