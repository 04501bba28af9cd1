//! Flux-exact tag selection: given an ImagePolicy's selection settings and a
//! repository's tags, pick the tag Flux's image-reflector-controller would
//! pick, and say why every other tag lost.
//!
//! Owns: exclusion (`ImageRepository.spec.exclusionList`), `filterTags`
//! pattern + `extract` (Go `Regexp.Expand`), the three policies (semver with
//! Masterminds v3.5 ranges, alphabetical, numerical with Go `ParseFloat`),
//! Go RE2 acceptance checks, and the per-tag reasons `explain` shows.
//!
//! Knows nothing of I/O, YAML or registries: callers extract a [`PolicySpec`]
//! and pass tag lists in; everything here is a pure function of its inputs.
//!
//! Layout, one concept per file:
//! * [`select`] — the pipeline and [`CompiledPolicy`];
//! * [`range`] — Masterminds constraints; [`version`] — how Flux reads a tag as a
//!   version ([`TagGrammar`]) and precedence; [`goregex`] — Go RE2 syntax on top of
//!   the `regex` crate; [`extract`] — Go templates; [`numeric`] — Go `ParseFloat`.
//!
//! Determinism note: with `filterTags`, Flux puts values in a Go map and
//! iterates it in random order, so ties (`v1.0.0` vs `1.0.0`, equal numbers)
//! are random in Flux. Here values are always iterated in descending byte
//! order of their original tags — the order Flux uses without `filterTags`,
//! where the result is deterministic — so results never depend on the order
//! of the input list.

use std::fmt;

pub mod extract;
pub mod goregex;
pub mod numeric;
pub mod range;
pub mod select;
pub mod version;

pub use goregex::validate_go_regex;
pub use numeric::parse_go_float;
pub use range::{validate_range, Sides};
pub use select::CompiledPolicy;
pub use version::{compare_precedence, parse_tag_version, TagGrammar};

/// Flux's exclusion list when `spec.exclusionList` is not set.
pub const DEFAULT_EXCLUSION: &str = "^.*\\.sig$";

/// `alphabetical.order` / `numerical.order` (Flux default: `asc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// Which policy picks the latest value (`spec.policy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Choice {
    /// `grammar`: how the cluster's Flux reads a tag as a version.
    Semver {
        range: String,
        grammar: TagGrammar,
    },
    Alphabetical {
        order: Order,
    },
    Numerical {
        order: Order,
    },
}

/// Everything selection needs, already extracted from YAML by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicySpec {
    /// `None` => Flux default `["^.*\\.sig$"]`; `Some(list)` REPLACES it.
    pub exclusion_list: Option<Vec<String>>,
    /// `filterTags.pattern`; `None` or `""` matches everything.
    pub filter_pattern: Option<String>,
    /// `filterTags.extract`; `None` or `""` => the tag itself.
    pub extract: Option<String>,
    pub choice: Choice,
}

/// Why a policy cannot be compiled; Flux would mark it Stalled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyError {
    /// An `exclusionList` entry Go's `regexp` rejects.
    InvalidExclusion {
        index: usize,
        pattern: String,
        reason: String,
    },
    /// `filterTags.pattern` Go's `regexp` rejects (reason is Flux's message).
    InvalidPattern { reason: String },
    /// Never produced by [`CompiledPolicy::compile`]: Go's `Expand` accepts any
    /// template. Returned by [`select::check_extract`] for references to groups
    /// the pattern lacks, which Flux silently expands to "".
    InvalidExtract { reason: String },
    /// A semver range Masterminds rejects (reason is its message).
    InvalidRange { reason: String },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::InvalidExclusion {
                index,
                pattern,
                reason,
            } => {
                write!(
                    f,
                    "invalid exclusionList[{index}] pattern '{pattern}': {reason}"
                )
            }
            // The last two are Flux's Stalled/InvalidPolicy condition texts.
            PolicyError::InvalidPattern { reason } => write!(f, "failed to filter tags: {reason}"),
            PolicyError::InvalidExtract { reason } => {
                write!(f, "invalid filterTags.extract: {reason}")
            }
            PolicyError::InvalidRange { reason } => write!(f, "invalid policy: {reason}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// What happened to one tag, for `explain` and for rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Dropped by this exclusion regex (first matching entry).
    Excluded { pattern: String },
    /// `filterTags.pattern` did not match.
    FilteredOut,
    /// Semver policy: the value is no version in the policy's [`TagGrammar`].
    NotSemver,
    /// Semver policy: a version, but outside the range.
    OutOfRange,
    /// Numerical policy: Go `ParseFloat` rejects the value (fails the policy).
    NotNumber,
    /// Took part in the final comparison and lost.
    Candidate,
    /// The selected tag.
    Latest,
    /// Lost the value-collapse to another tag with the same extracted value.
    Collapsed,
}

/// One input tag's fate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CandidateReport {
    pub tag: String,
    pub outcome: Outcome,
    /// The value the policy compared (`extract` applied); `None` when the tag
    /// was excluded or filtered out.
    pub extracted: Option<String>,
    /// 1 = winner, 2 = next… among ranked candidates (`Latest`/`Candidate`).
    pub rank: Option<usize>,
}

/// The result of running the whole pipeline on a tag list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evaluation {
    /// The tag Flux would write (`latestRef.tag`).
    pub latest: Option<String>,
    /// Flux's message when no tag qualifies or a numeric value fails to parse.
    pub error: Option<String>,
    /// Every input tag, in input order.
    pub candidates: Vec<CandidateReport>,
}
