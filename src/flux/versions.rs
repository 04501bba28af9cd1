//! Which Flux a cluster runs, and what that Flux serves: the image API versions per kind, the
//! commit-template fields, the marker and field features, and the Masterminds/semver it bundles.
//!
//! The table below was read from the image controllers' CRDs and CHANGELOGs at each release
//! (fluxcd/image-reflector-controller, fluxcd/image-automation-controller) and from the
//! controller versions each fluxcd/flux2 release bundles (`manifests/bases/*/kustomization.yaml`),
//! up to Flux v2.9.4. A version newer than the table behaves as its newest line.
//!
//! Detection (`detect`) finds the pins a set of files holds; `ClusterFlux::resolve` keeps the
//! ones that decide (the config first, then `FluxInstance`s, install-manifest headers, image
//! controller tags, image CRDs) and answers the rules' questions. Several pins of the same rank
//! that disagree stand for clusters this repository holds but does not tie to their files: an
//! API or field then counts as working when it works on any of them.
//!
//! Policy selection also changed with the Masterminds/semver that image-reflector-controller
//! bundles, and with the fluxcd/pkg `version.ParseVersion` its semver policy reads each tag
//! with. `policy::range` implements v3.5's ranges for every Flux version; how a tag is read
//! follows the cluster's Flux ([`ClusterFlux::tag_grammar`], `policy::TagGrammar`):
//!
//! | Flux | Masterminds/semver | what a `semver` range admits differently | how a tag is read (fluxcd/pkg `version`) |
//! |---|---|---|---|
//! | up to 2.3 | 3.1, 3.2 | a prerelease passes only comparators that carry one (`!=1.0.0` passes any) | strict SemVer after one `v` (`Strict`) |
//! | 2.4, 2.6 | 3.3.0 | as 3.2 | as 2.3 |
//! | 2.5 | 3.3.1 | as 3.2, and a range version with a leading zero (`>=1.02`) is rejected | as 2.3 |
//! | 2.7 – 2.8 | 3.4 | a prerelease passes an AND group when any comparator of it carries one | three parts at the dots, then coerced: leading zeros allowed (`2025.02.03`), missing numbers 0 (`1.2-rc.1`) (`Loose`, from `version/v0.10.0`) |
//! | 2.9 + | 3.5 | as 3.4; a range is at most 512 bytes and 32 `\|\|` groups | as 2.7 |

mod detect;

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;

pub use detect::{detect, install_components, runs_controller_image, PIN_PATTERNS};

use super::template::root_reads;
use super::Kind;
use crate::config::Config;
use crate::model::cluster::Cluster;
use crate::model::kustomization::Kustomization;
use crate::model::render::BuildError;
use crate::policy::range::Range;
use crate::policy::TagGrammar;
use crate::source::Span;
use crate::walk::{lies_under, FileSet};
use crate::workspace::ScannedFile;

/// One Flux minor line: its newest patch release and the minor versions of the image controllers
/// it first shipped (reflector, automation), for mapping a controller tag to a Flux release.
struct Line {
    minor: (u64, u64),
    newest_patch: u64,
    reflector: (u64, u64),
    automation: (u64, u64),
}

const fn line(
    minor: (u64, u64),
    newest_patch: u64,
    reflector: (u64, u64),
    automation: (u64, u64),
) -> Line {
    Line {
        minor,
        newest_patch,
        reflector,
        automation,
    }
}

/// Every Flux line since the image controllers joined the distribution (v0.9). Flux 2 went from
/// v0.41 to v2.0.
static LINES: &[Line] = &[
    line((0, 9), 1, (0, 7), (0, 6)),
    line((0, 10), 0, (0, 7), (0, 7)),
    line((0, 11), 0, (0, 7), (0, 7)),
    line((0, 12), 3, (0, 8), (0, 8)),
    line((0, 13), 4, (0, 9), (0, 9)),
    line((0, 14), 2, (0, 9), (0, 10)),
    line((0, 15), 3, (0, 10), (0, 12)),
    line((0, 16), 2, (0, 11), (0, 14)),
    line((0, 17), 2, (0, 11), (0, 14)),
    line((0, 18), 3, (0, 12), (0, 15)),
    line((0, 19), 1, (0, 13), (0, 15)),
    line((0, 20), 1, (0, 13), (0, 16)),
    line((0, 21), 1, (0, 13), (0, 16)),
    line((0, 22), 1, (0, 13), (0, 17)),
    line((0, 23), 0, (0, 13), (0, 17)),
    line((0, 24), 1, (0, 14), (0, 18)),
    line((0, 25), 3, (0, 15), (0, 19)),
    line((0, 26), 3, (0, 16), (0, 20)),
    line((0, 27), 4, (0, 16), (0, 20)),
    line((0, 28), 5, (0, 17), (0, 21)),
    line((0, 29), 5, (0, 17), (0, 22)),
    line((0, 30), 2, (0, 18), (0, 22)),
    line((0, 31), 5, (0, 19), (0, 23)),
    line((0, 32), 0, (0, 20), (0, 24)),
    line((0, 33), 0, (0, 20), (0, 24)),
    line((0, 34), 0, (0, 21), (0, 25)),
    line((0, 35), 0, (0, 22), (0, 26)),
    line((0, 36), 0, (0, 22), (0, 26)),
    line((0, 37), 0, (0, 23), (0, 27)),
    line((0, 38), 3, (0, 23), (0, 28)),
    line((0, 39), 0, (0, 24), (0, 29)),
    line((0, 40), 2, (0, 25), (0, 30)),
    line((0, 41), 2, (0, 26), (0, 31)),
    line((2, 0), 1, (0, 29), (0, 35)),
    line((2, 1), 2, (0, 30), (0, 36)),
    line((2, 2), 3, (0, 31), (0, 37)),
    line((2, 3), 0, (0, 32), (0, 38)),
    line((2, 4), 0, (0, 33), (0, 39)),
    line((2, 5), 1, (0, 34), (0, 40)),
    line((2, 6), 4, (0, 35), (0, 41)),
    line((2, 7), 5, (1, 0), (1, 0)),
    line((2, 8), 8, (1, 1), (1, 1)),
    line((2, 9), 4, (1, 2), (1, 2)),
];

/// An API version a CRD serves, and whether it is marked deprecated there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedApi {
    pub version: String,
    pub deprecated: bool,
}

/// From `since` on (until the next era), the versions each CRD serves. ImagePolicy and
/// ImageRepository (image-reflector-controller) always move together; ImageUpdateAutomation
/// (image-automation-controller) does not.
struct ApiEra {
    since: (u64, u64),
    reflector: &'static [(&'static str, bool)],
    automation: &'static [(&'static str, bool)],
}

const DEPRECATED: bool = true;
const CURRENT: bool = false;

static API_ERAS: &[ApiEra] = &[
    ApiEra {
        since: (0, 9),
        reflector: &[("v1alpha1", CURRENT)],
        automation: &[("v1alpha1", CURRENT)],
    },
    ApiEra {
        since: (0, 13),
        reflector: &[("v1alpha1", CURRENT), ("v1alpha2", CURRENT)],
        automation: &[("v1alpha1", CURRENT), ("v1alpha2", CURRENT)],
    },
    ApiEra {
        since: (0, 16),
        reflector: &[
            ("v1alpha1", CURRENT),
            ("v1alpha2", CURRENT),
            ("v1beta1", CURRENT),
        ],
        automation: &[
            ("v1alpha1", CURRENT),
            ("v1alpha2", CURRENT),
            ("v1beta1", CURRENT),
        ],
    },
    ApiEra {
        since: (0, 37),
        reflector: &[("v1beta1", CURRENT)],
        automation: &[("v1beta1", CURRENT)],
    },
    ApiEra {
        since: (0, 40),
        reflector: &[("v1beta1", CURRENT), ("v1beta2", CURRENT)],
        automation: &[("v1beta1", CURRENT)],
    },
    ApiEra {
        since: (2, 3),
        reflector: &[("v1beta1", CURRENT), ("v1beta2", CURRENT)],
        automation: &[("v1beta1", DEPRECATED), ("v1beta2", CURRENT)],
    },
    ApiEra {
        since: (2, 7),
        reflector: &[("v1", CURRENT), ("v1beta2", DEPRECATED)],
        automation: &[("v1", CURRENT), ("v1beta2", DEPRECATED)],
    },
    ApiEra {
        since: (2, 9),
        reflector: &[("v1", CURRENT)],
        automation: &[("v1", CURRENT)],
    },
];

/// A top-level field of the commit message template data (`messageTemplate`).
pub struct TemplateField {
    /// As written in a template, e.g. `.Changed.ImageResult`.
    pub path: &'static str,
    /// The first Flux line that fills it.
    pub since: (u64, u64),
    /// The first Flux line that no longer does: the template then fails and the automation stalls.
    pub removed: Option<(u64, u64)>,
    /// What to use instead, or how to get it.
    pub advice: &'static str,
}

/// image-automation-controller's `TemplateData`: `.AutomationObject` and `.Updated` from 0.7
/// (Flux 0.10), `.Changed` (`update.ResultV2`) from 0.38, `.Values` from 0.40, `.Updated` and
/// `.Changed.ImageResult` removed in 1.0 (fluxcd/image-automation-controller#931).
pub static TEMPLATE_FIELDS: &[TemplateField] = &[
    TemplateField {
        path: ".Updated",
        since: (0, 10),
        removed: Some((2, 7)),
        advice: "use `.Changed.Changes` (old/new values with setters), `.Changed.FileChanges` or `.Changed.Objects`",
    },
    TemplateField {
        path: ".Changed.ImageResult",
        since: (2, 3),
        removed: Some((2, 7)),
        advice: "use `.Changed.FileChanges` or `.Changed.Objects`",
    },
    TemplateField {
        path: ".Changed",
        since: (2, 3),
        removed: None,
        advice: "upgrade Flux to 2.3 or later, or use `.Updated` until then",
    },
    TemplateField {
        path: ".Values",
        since: (2, 5),
        removed: None,
        advice: "upgrade Flux to 2.5 or later, or drop `.Values` from the template",
    },
];

/// The template fields a commit message template reads from its root (`.Changed.Changes`,
/// `$.Updated`), each field once, the most specific entry for each use.
pub fn template_fields_used(template: &str) -> Vec<&'static TemplateField> {
    let mut used: Vec<&'static TemplateField> = Vec::new();
    for read in root_reads(template) {
        let field = TEMPLATE_FIELDS
            .iter()
            .filter(|f| {
                read.chain == f.path
                    || read
                        .chain
                        .strip_prefix(f.path)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            .max_by_key(|f| f.path.len());
        if let Some(field) = field {
            if !used.iter().any(|u| std::ptr::eq(*u, field)) {
                used.push(field);
            }
        }
    }
    used
}

/// The fields `TemplateData` has in some Flux: `.Updated` until 2.7, the others from when they
/// arrived ([`TEMPLATE_FIELDS`]).
const TEMPLATE_DATA_FIELDS: [&str; 4] = ["AutomationObject", "Updated", "Changed", "Values"];

/// The fields a commit message template reads from its data whatever the changes are, that no
/// Flux's `TemplateData` has (`.NewImage`), each once: Go fails to execute it on every Flux.
pub fn template_fields_never_filled(template: &str) -> Vec<&str> {
    let mut never = Vec::new();
    for read in root_reads(template).iter().filter(|read| read.always) {
        let field = read.field();
        if !TEMPLATE_DATA_FIELDS.contains(&field) && !never.contains(&field) {
            never.push(field);
        }
    }
    never
}

/// What appeared in a Flux line and is silently ignored by older ones. (ImageUpdateAutomation
/// `spec.policySelector` arrived with its `v1beta2` API in 2.3, so the API table covers it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// The `:digest` marker suffix (image-automation-controller 0.41): before, the setter is
    /// unknown and the marker is skipped.
    DigestMarker,
    /// ImagePolicy `spec.digestReflectionPolicy` and `spec.interval` (image-reflector-controller
    /// 0.35): before, Kubernetes drops the fields and `latestImage` carries no digest.
    DigestReflection,
    /// ImagePolicy `spec.imageRepositoryRef.namespace` and ImageRepository `spec.accessFrom`
    /// (image-reflector-controller 0.12, #162): before, Kubernetes drops both, and a policy
    /// reads the repository of its own namespace.
    CrossNamespaceRef,
}

impl Feature {
    pub fn since(self) -> (u64, u64) {
        match self {
            Feature::DigestMarker | Feature::DigestReflection => (2, 6),
            Feature::CrossNamespaceRef => (0, 18),
        }
    }

    fn controller(self) -> Controller {
        match self {
            Feature::DigestMarker => Controller::Automation,
            Feature::DigestReflection | Feature::CrossNamespaceRef => Controller::Reflector,
        }
    }
}

fn minor_of(version: &Version) -> (u64, u64) {
    (version.major, version.minor)
}

fn show_minor((major, minor): (u64, u64)) -> String {
    format!("{major}.{minor}")
}

/// Every Flux release the table knows, oldest first.
fn releases() -> impl Iterator<Item = Version> {
    LINES.iter().flat_map(|line| {
        (0..=line.newest_patch).map(move |patch| Version::new(line.minor.0, line.minor.1, patch))
    })
}

/// The newest release the table knows.
pub fn newest() -> Version {
    let last = LINES.last().expect("the table has lines");
    Version::new(last.minor.0, last.minor.1, last.newest_patch)
}

/// A version as written in the config, on the command line or in a FluxInstance (`2.8`,
/// `v2.8.3`, `2.9.x`, `>=2.3 <2.5`: Masterminds ranges, as the Flux Operator reads them): the
/// newest known release it admits. A range whose lowest version is newer than the table stands
/// for that (unknown) release, which behaves as the newest line.
pub fn resolve_written(written: &str) -> Result<Version, String> {
    let range = Range::parse(written.trim())
        .map_err(|e| format!("`{written}` is not a Flux version or range: {e}"))?;
    let beyond = lowest_written(written).filter(|v| *v > newest());
    releases()
        .chain(beyond)
        .filter(|v| range.matches(v))
        .max()
        .ok_or_else(|| {
            format!(
                "`{written}` matches no Flux release (the newest known is {})",
                newest()
            )
        })
}

/// Whether the known releases a written range admits are of more than one minor line.
fn spans_minor_lines(written: &str) -> bool {
    let Ok(range) = Range::parse(written.trim()) else {
        return false;
    };
    let mut lines = releases()
        .filter(|v| range.matches(v))
        .map(|v| (v.major, v.minor));
    lines
        .next()
        .is_some_and(|first| lines.any(|line| line != first))
}

/// The first `major[.minor[.patch]]` written in a range, missing parts as 0.
fn lowest_written(written: &str) -> Option<Version> {
    let start = written.find(|c: char| c.is_ascii_digit())?;
    let mut parts = written[start..]
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.')
        .map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some(Version::new(major, minor, patch))
}

/// The Flux release an image controller tag was shipped with: the newest release of the
/// newest line that first shipped this controller minor or an older one.
fn release_of_controller(controller: Controller, tag: &Version) -> Version {
    let line = LINES
        .iter()
        .rev()
        .find(|line| {
            let first = match controller {
                Controller::Reflector => line.reflector,
                Controller::Automation => line.automation,
            };
            first <= minor_of(tag)
        })
        .unwrap_or(&LINES[0]);
    Version::new(line.minor.0, line.minor.1, line.newest_patch)
}

fn era(minor: (u64, u64)) -> &'static ApiEra {
    API_ERAS
        .iter()
        .rev()
        .find(|era| era.since <= minor)
        .unwrap_or(&API_ERAS[0])
}

fn era_apis(era: &ApiEra, kind: Kind) -> &'static [(&'static str, bool)] {
    match kind {
        Kind::ImagePolicy | Kind::ImageRepository => era.reflector,
        Kind::ImageUpdateAutomation => era.automation,
    }
}

/// What the Flux line of `version` serves for a kind.
fn table_apis(kind: Kind, version: &Version) -> Vec<ServedApi> {
    era_apis(era(minor_of(version)), kind)
        .iter()
        .map(|&(version, deprecated)| ServedApi {
            version: version.to_string(),
            deprecated,
        })
        .collect()
}

/// The first Flux line after `version` that no longer serves `api` for `kind`.
fn removed_after(kind: Kind, api: &str, version: &Version) -> Option<(u64, u64)> {
    API_ERAS
        .iter()
        .filter(|era| era.since > minor_of(version))
        .find(|era| !era_apis(era, kind).iter().any(|&(v, _)| v == api))
        .map(|era| era.since)
}

/// The first Flux line that serves `api` for `kind`.
fn first_line_serving(kind: Kind, api: &str) -> Option<(u64, u64)> {
    API_ERAS
        .iter()
        .find(|era| era_apis(era, kind).iter().any(|&(v, _)| v == api))
        .map(|era| era.since)
}

/// The two image controllers whose tags tell the Flux release (ordered as a file's pins list
/// them: the reflector's first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    Reflector,
    Automation,
}

impl Controller {
    /// The controller that serves a kind.
    pub fn of(kind: Kind) -> Controller {
        match kind {
            Kind::ImagePolicy | Kind::ImageRepository => Controller::Reflector,
            Kind::ImageUpdateAutomation => Controller::Automation,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Controller::Reflector => "image-reflector-controller",
            Controller::Automation => "image-automation-controller",
        }
    }
}

/// The `# Components:` line of an install manifest's header: the controllers `flux bootstrap`
/// installed (the image controllers only with `--components-extra`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallComponents {
    pub line: usize,
    pub listed: Box<str>,
}

impl InstallComponents {
    pub fn lists(&self, controller: Controller) -> bool {
        self.listed
            .split(',')
            .any(|c| c.trim() == controller.name())
    }
}

/// Where a Flux version was read from, in the order the sources decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// `flux_version` in the config, as written.
    Config { written: String },
    /// A Flux Operator `FluxInstance`'s `spec.distribution.version`, as written.
    FluxInstance { written: String },
    /// A HelmRelease of the `flux-instance` chart that sets no version: the chart's default.
    InstanceChartDefault,
    /// `# Flux Version:` in the header of a Flux install manifest, with the header's
    /// `# Components:` line where it has one.
    InstallHeader {
        components: Option<InstallComponents>,
    },
    /// A kustomization's remote resource of Flux's install manifests at a release
    /// (`github.com/fluxcd/flux2//manifests/install?ref=v2.8.1`), as written.
    InstallResource { written: String },
    /// The tag of an OCIRepository of Flux's install manifests (`oci://ghcr.io/fluxcd/flux-manifests`),
    /// which a Flux Kustomization applies: Flux installing itself.
    InstallArtifact { tag: String },
    /// An image controller's image tag.
    ControllerImage { controller: Controller, tag: String },
    /// An image CRD's `served:` flags.
    Crd { kind: Kind, served: Vec<ServedApi> },
    /// `check --flux-version`, as written.
    Upgrade { written: String },
    /// Nothing pinned: the newest release the table knows.
    Assumed,
}

impl PinSource {
    /// Lower ranks decide; pins of a higher rank are then ignored.
    fn rank(&self) -> u8 {
        match self {
            PinSource::Upgrade { .. } => 0,
            PinSource::Config { .. } => 1,
            PinSource::FluxInstance { .. } | PinSource::InstanceChartDefault => 2,
            PinSource::InstallHeader { .. }
            | PinSource::InstallArtifact { .. }
            | PinSource::InstallResource { .. } => 3,
            PinSource::ControllerImage { .. } => 4,
            PinSource::Crd { .. } => 5,
            PinSource::Assumed => 6,
        }
    }
}

/// One statement of which Flux runs, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The release it stands for; `None` for a CRD whose served set no release has.
    pub version: Option<Version>,
    pub source: PinSource,
    /// The workspace file and span it was read from (`None` for the config and the command line).
    pub at: Option<(usize, Span)>,
    /// `path:line`, or `--flux-version`, for messages.
    pub location: String,
    /// Read from a file no cluster applies, standing in for a cluster whose own files pin
    /// nothing: an install applied by hand, which may run another release than the file says
    /// (thetillhoff/infra's FluxInstance, which Renovate bumped months before Pulumi ran it).
    out_of_band: bool,
}

impl Pin {
    fn new(version: Option<Version>, source: PinSource, location: String) -> Pin {
        Pin {
            version,
            source,
            at: None,
            location,
            out_of_band: false,
        }
    }

    /// The pin, read from a file no cluster applies.
    fn out_of_band(self) -> Pin {
        Pin {
            out_of_band: true,
            ..self
        }
    }

    /// The release as precise as the source tells it.
    fn shown_version(&self) -> Option<String> {
        let version = self.version.as_ref()?;
        Some(match self.source {
            PinSource::ControllerImage { .. } | PinSource::Crd { .. } => {
                show_minor(minor_of(version))
            }
            // A prerelease (`v2.0.0-rc.1`) is not its release: shown as tagged.
            PinSource::InstallArtifact { ref tag } => tag.trim_start_matches('v').to_string(),
            _ => version.to_string(),
        })
    }

    /// `Flux 2.8.8 (# Flux Version at clusters/prod/flux-system/gotk-components.yaml:3)`.
    pub fn describe(&self) -> String {
        self.described(0)
    }

    /// As `describe`, adding how many more places say the same.
    fn described(&self, more: usize) -> String {
        let flux = self
            .shown_version()
            .map_or_else(|| "an unknown Flux".to_string(), |v| format!("Flux {v}"));
        let from = match &self.source {
            PinSource::Config { written } => {
                format!("`flux_version: {written}` at {}", self.location)
            }
            PinSource::FluxInstance { written } => {
                format!("FluxInstance version `{written}` at {}", self.location)
            }
            PinSource::InstanceChartDefault => format!(
                "the flux-instance chart's default version `{}`, its HelmRelease setting none at {}",
                super::operator::INSTANCE_DEFAULT_VERSION,
                self.location
            ),
            PinSource::InstallHeader { .. } => {
                format!("install manifest header at {}", self.location)
            }
            PinSource::InstallResource { written } => {
                format!("install manifests resource `{written}` at {}", self.location)
            }
            PinSource::InstallArtifact { tag } => {
                format!(
                    "flux-manifests OCIRepository tag `{tag}` at {}",
                    self.location
                )
            }
            PinSource::ControllerImage { controller, tag } => {
                format!("{} {tag} at {}", controller.name(), self.location)
            }
            PinSource::Crd { kind, .. } => {
                format!("{kind} CRD served flags at {}", self.location)
            }
            PinSource::Upgrade { written } => format!("`--flux-version {written}`"),
            PinSource::Assumed => "the newest; no Flux version is pinned".to_string(),
        };
        let from = if self.out_of_band {
            format!("{from}, a file applied out of band")
        } else {
            from
        };
        match more {
            0 => format!("{flux} ({from})"),
            n => format!("{flux} ({from}, and {n} more)"),
        }
    }

    /// Whether the pin leaves the release open: nothing pinned, or a FluxInstance range whose
    /// releases span several minor lines (`2.x`). The Flux Operator installs the newest release
    /// of the range that its own image carries (`MatchVersion` over its embedded manifests), so
    /// an operator older than the newest Flux installs an older line.
    fn is_open(&self) -> bool {
        match &self.source {
            PinSource::Assumed => true,
            PinSource::FluxInstance { written } => spans_minor_lines(written),
            PinSource::InstanceChartDefault => true,
            _ => false,
        }
    }

    /// Whether this pin tells anything about the controller that serves `kind`: a CRD speaks
    /// for its own controller only, and only when its served set is a known release's.
    fn speaks_for(&self, controller: Controller) -> bool {
        match &self.source {
            PinSource::Crd { kind, .. } => Controller::of(*kind) == controller,
            _ => self.version.is_some(),
        }
    }

    /// What this pin says about an API version of a kind.
    fn api_status(&self, kind: Kind, api: &str) -> Option<ApiStatus> {
        let served = self.served(kind)?;
        Some(match served.iter().find(|s| s.version == api) {
            Some(s) if s.deprecated => ApiStatus::Deprecated,
            Some(_) => ApiStatus::Served,
            None => ApiStatus::Unserved,
        })
    }

    fn served(&self, kind: Kind) -> Option<Vec<ServedApi>> {
        if !self.speaks_for(Controller::of(kind)) {
            return None;
        }
        match &self.source {
            PinSource::Crd { kind: crd, served } if *crd == kind => Some(served.clone()),
            _ => self.version.as_ref().map(|v| table_apis(kind, v)),
        }
    }
}

/// Whether a cluster's Flux serves an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiStatus {
    Served,
    Deprecated,
    Unserved,
}

/// The answer about one API version, with what the message needs.
#[derive(Debug)]
pub struct ApiVerdict {
    pub status: ApiStatus,
    /// The pins that say so, described.
    pub because: String,
    /// The first Flux line that no longer serves it (for a deprecated version).
    pub removed_in: Option<String>,
    /// What the deciding Flux serves for the kind, preferred first (`v1` before `v1beta2`).
    pub served: Vec<String>,
}

/// The answer about one template field or feature that does not simply work.
#[derive(Debug, PartialEq, Eq)]
pub enum Support {
    /// It works on the cluster's Flux but a later line drops it (`removed_in`).
    UntilUpgrade { removed_in: String },
    /// The cluster's Flux dropped it (in `removed_in`).
    Removed { removed_in: String },
    /// The cluster's Flux predates it (it arrived in `since`).
    NotYet { since: String },
}

/// `served_image_apis` from the config.
#[derive(Debug, Clone)]
pub struct ServedOverride {
    pub versions: Vec<String>,
    pub location: String,
}

/// The Flux line whose image-reflector-controller (1.0) reads tags with fluxcd/pkg `version`
/// v0.10: leading zeros and missing numbers coerced (see the table at the top).
const LOOSE_TAGS: (u64, u64) = (2, 7);

/// The Flux line whose kustomize-controller builds with kustomize 5.1's API (v0.14 on): it
/// fails on a kustomization file that holds nothing, and runs a kustomization's generators
/// before its components.
const KUSTOMIZE_5_1: (u64, u64) = (2, 2);

/// The Flux line whose kustomize-controller (1.3) builds with kustomize 5.4, which decodes a
/// kustomization's `configurations` files strictly (kubernetes-sigs/kustomize#5550): a field
/// it does not know fails the build, where kustomize 5.3 (Flux 2.2) ignored it.
const KUSTOMIZE_5_4: (u64, u64) = (2, 3);

/// The Flux release whose kustomize-controller (1.0.0-rc.4) builds with kustomize 5.
const KUSTOMIZE_5: &str = "2.0.0-rc.4";

/// The Flux line whose kustomize-controller (0.15) applies with server-side apply.
const SERVER_SIDE_APPLY: (u64, u64) = (0, 18);

/// The Flux of each cluster, and of the repository as one cluster (for the files no cluster
/// reads, and for everything where there is no cluster).
#[derive(Debug)]
pub struct Fluxes {
    pub repository: ClusterFlux,
    /// By cluster index (as `Model::clusters`).
    pub clusters: Vec<OfCluster>,
}

impl Fluxes {
    /// Each file's pins found once (on up to `jobs` threads), for the repository's Flux and each
    /// cluster's, whose files are mostly the same.
    pub fn find(
        files: &[ScannedFile],
        repository: &Repository,
        clusters: &[Cluster],
        config: &Config,
        jobs: usize,
    ) -> Fluxes {
        let pins = file_pins(files, repository, config, jobs);
        Fluxes {
            clusters: clusters_flux(&pins, files, clusters, config),
            repository: ClusterFlux::resolve(pins.concat(), config, None),
        }
    }

    /// The Flux of the cluster that applies an object (`FluxObject::cluster`): the repository's
    /// where there is no cluster.
    pub fn of_cluster(&self, cluster: usize) -> &ClusterFlux {
        self.clusters
            .get(cluster)
            .map_or(&self.repository, |of| &of.flux)
    }
}

/// What pins read beyond the files' own text: the repository's files and kustomizations.
pub struct Repository<'r> {
    pub tree: &'r FileSet,
    pub kustomizations: &'r BTreeMap<String, Result<Kustomization, BuildError>>,
}

/// Each file's Flux pins, found on up to `jobs` threads.
pub fn file_pins(
    files: &[ScannedFile],
    repository: &Repository,
    config: &Config,
    jobs: usize,
) -> Vec<Vec<Pin>> {
    crate::parallel::concat(crate::parallel::map_ranges(files.len(), jobs, |indices| {
        indices
            .map(|index| {
                let file = &files[index];
                // Parsed for its markers alone, it holds no pin's byte pattern (or it would be
                // parsed for its content): its text, perhaps let go, is not read again.
                if file.identities.is_some() {
                    return Vec::new();
                }
                let yaml = file.yaml.as_ref().ok();
                let mut pins = detect(index, &file.source, yaml);
                if let (true, Some(yaml)) = (pins.is_empty(), yaml) {
                    let dir = crate::walk::folder_of(&file.source.path);
                    pins.extend(detect::instance_values_from(
                        index,
                        yaml,
                        || (repository.kustomizations.get(dir))?.as_ref().ok(),
                        |path| repository.tree.read_file(path, config.max_file_size),
                    ));
                }
                pins
            })
            .collect::<Vec<_>>()
    }))
}

/// The Flux of `cluster`, when the files it applies pin a version or the config's
/// `flux_version` names its path; `None` when neither does (see [`clusters_flux`] for what
/// stands in).
fn cluster_flux(
    file_pins: &[Vec<Pin>],
    files: &[ScannedFile],
    cluster: &Cluster,
    config: &Config,
) -> Option<ClusterFlux> {
    let cluster_path = cluster.path.as_str();
    let pins: Vec<Pin> = (cluster.files.iter())
        .flat_map(|&file| {
            // A FluxInstance written outside the folder it syncs is applied by another tool
            // (Pulumi, Terraform, by hand) whenever that runs, not by the Flux it installs.
            let outside = !lies_under(&files[file].source.path, cluster_path);
            file_pins[file]
                .iter()
                .cloned()
                .map(move |pin| match pin.source {
                    PinSource::FluxInstance { .. } if outside => pin.out_of_band(),
                    _ => pin,
                })
        })
        .collect();
    let configured = config
        .flux_version
        .iter()
        .any(|setting| setting.cluster_path.as_deref() == Some(cluster_path));
    (!pins.is_empty() || configured).then(|| ClusterFlux::resolve(pins, config, Some(cluster_path)))
}

/// Which Flux a cluster runs, and whether its own files say so.
#[derive(Debug)]
pub struct OfCluster {
    pub flux: ClusterFlux,
    /// Whether the files it applies pin a version, or the config's `flux_version` names its
    /// path; else what stands in for its own pins (see [`clusters_flux`]).
    pub pinned: bool,
}

/// The Flux of each cluster: what the files it applies pin, with the config's `flux_version`
/// (its path's, or the one for every cluster). A cluster whose files pin nothing had Flux
/// installed out of band: the pins of files no cluster applies stand in (an install manifest
/// kept beside the clusters and applied by hand), except those in another cluster's folder;
/// with none, the newest release is assumed. Another cluster's pins never do: its install
/// manifest says nothing of this cluster's Flux (sharonliao/fleet-infra's `moo-cluster`
/// installed Flux out of band and served `v1beta1` beside a cluster whose manifest is 0.14).
pub fn clusters_flux(
    file_pins: &[Vec<Pin>],
    files: &[ScannedFile],
    clusters: &[Cluster],
    config: &Config,
) -> Vec<OfCluster> {
    let unclaimed: Vec<usize> = (0..files.len())
        .filter(|&file| !file_pins[file].is_empty())
        .filter(|&file| {
            let path = &files[file].source.path;
            !clusters.iter().any(|cluster| cluster.applies(file, path))
        })
        .collect();
    clusters
        .iter()
        .map(|cluster| {
            if let Some(flux) = cluster_flux(file_pins, files, cluster, config) {
                return OfCluster { flux, pinned: true };
            }
            let pins = unclaimed
                .iter()
                .filter(|&&file| {
                    cluster_folder_of(clusters, &files[file].source.path)
                        .is_none_or(|folder| folder == cluster.path)
                })
                .flat_map(|&file| file_pins[file].iter().cloned().map(Pin::out_of_band))
                .collect();
            OfCluster {
                flux: ClusterFlux::resolve(pins, config, Some(&cluster.path)),
                pinned: false,
            }
        })
        .collect()
}

/// The deepest cluster's folder (the path its bootstrap syncs, never the repository root) that
/// holds `path`.
fn cluster_folder_of<'c>(clusters: &'c [Cluster], path: &str) -> Option<&'c str> {
    clusters
        .iter()
        .map(|cluster| cluster.path.as_str())
        .filter(|folder| !folder.is_empty() && lies_under(path, folder))
        .max_by_key(|folder| folder.len())
}

/// What the Flux of one cluster (or of the repository as one cluster) runs, as far as the files
/// and the config tell.
#[derive(Debug)]
pub struct ClusterFlux {
    /// The pins that decide: every pin of the best-ranked source found (several when they
    /// disagree), or the assumed newest release.
    pins: Vec<Pin>,
    served_override: Option<ServedOverride>,
    /// With `--flux-version`: the pins of the cluster as it runs today.
    upgrading_from: Option<Vec<Pin>>,
}

impl ClusterFlux {
    /// Keeps the pins that decide among the files' `pins`, the config's (`flux_version` entries
    /// for `cluster_path`, or all of them when there is no cluster) and `--flux-version`. For
    /// one cluster of several, pass the pins its own files hold, or what stands in for them
    /// (see [`clusters_flux`]).
    pub fn resolve(pins: Vec<Pin>, config: &Config, cluster_path: Option<&str>) -> ClusterFlux {
        let mut all = pins;
        all.extend(config_pins(config, cluster_path));
        let current = best_ranked(all);
        let served_override = config.served_image_apis.clone();
        match &config.upgrade_to {
            Some(target) => ClusterFlux {
                pins: vec![Pin::new(
                    Some(target.version.clone()),
                    PinSource::Upgrade {
                        written: target.written.clone(),
                    },
                    "--flux-version".to_string(),
                )],
                served_override: None,
                upgrading_from: Some(current),
            },
            None => ClusterFlux {
                pins: current,
                served_override,
                upgrading_from: None,
            },
        }
    }

    /// Which Flux the cluster runs and where that was read, for `--verbose`.
    pub fn description(&self) -> String {
        describe(self.pins.iter())
    }

    /// The note `--verbose` gives when nothing pins a version.
    pub fn assumption(&self) -> Option<String> {
        let pins = self.upgrading_from.as_ref().unwrap_or(&self.pins);
        matches!(pins.as_slice(), [pin] if pin.source == PinSource::Assumed).then(|| {
            format!(
                "no Flux version is pinned (config `flux_version`, a FluxInstance, a Flux install manifest or its remote resource, image controller tags or image CRDs): checking against the newest Flux this tool knows, {}",
                newest()
            )
        })
    }

    /// `; the cluster runs Flux 2.7.2 (…) now` in upgrade mode, else empty.
    pub fn upgrade_note(&self) -> String {
        match &self.upgrading_from {
            Some(pins) => format!("; the cluster runs {} now", describe(pins.iter())),
            None => String::new(),
        }
    }

    /// Whether `api` (`v1beta2`) of `kind` is served. Served when any deciding pin serves it
    /// undeprecated; deprecated when the ones that serve it deprecate it; else unserved. With
    /// `served_image_apis`, the listed versions are served (deprecated unless a pin serves
    /// them undeprecated) and the others are not.
    pub fn api(&self, kind: Kind, api: &str) -> ApiVerdict {
        let pins = self.speaking_for(Controller::of(kind));
        let statuses: Vec<(&Pin, ApiStatus)> = pins
            .iter()
            .filter_map(|pin| Some((*pin, pin.api_status(kind, api)?)))
            .collect();
        let best = statuses
            .iter()
            .map(|(_, status)| *status)
            .min()
            .unwrap_or(ApiStatus::Unserved);
        let mut served: Vec<String> = Vec::new();
        for pin in &pins {
            for s in pin.served(kind).unwrap_or_default() {
                if !served.contains(&s.version) {
                    served.push(s.version);
                }
            }
        }
        served.sort_by_key(|v| api_preference(v));
        if let Some(config) = &self.served_override {
            let listed = config.versions.iter().any(|v| v == api);
            return ApiVerdict {
                status: match (listed, best) {
                    (false, _) => ApiStatus::Unserved,
                    (true, ApiStatus::Served) => ApiStatus::Served,
                    (true, _) => ApiStatus::Deprecated,
                },
                because: format!("`served_image_apis` at {}", config.location),
                removed_in: None,
                served: config.versions.clone(),
            };
        }
        let deciding = statuses
            .iter()
            .filter(|(_, status)| *status == best)
            .map(|(pin, _)| *pin);
        let removed_in = (best == ApiStatus::Deprecated)
            .then(|| {
                statuses
                    .iter()
                    .filter(|(_, status)| *status == best)
                    .filter_map(|(pin, _)| removed_after(kind, api, pin.version.as_ref()?))
                    .max()
                    .map(show_minor)
            })
            .flatten();
        ApiVerdict {
            status: best,
            because: describe(deciding),
            removed_in,
            served,
        }
    }

    /// Where the install manifest that pins this Flux lists its components without
    /// `controller` (`clusters/home/flux-system/gotk-components.yaml:4`), when every deciding
    /// pin is such a header: `flux bootstrap` without `--components-extra` installs neither
    /// image controller nor its CRDs.
    pub fn install_lists_without(&self, controller: Controller) -> Option<String> {
        let mut at = None;
        for pin in self.speaking_for(controller) {
            let PinSource::InstallHeader {
                components: Some(components),
            } = &pin.source
            else {
                return None;
            };
            if components.lists(controller) {
                return None;
            }
            let path = pin.location.rsplit_once(':').map_or("", |(path, _)| path);
            at.get_or_insert_with(|| format!("{path}:{}", components.line));
        }
        at
    }

    /// The deciding pins that tell about a controller; the assumed newest release when none do.
    fn speaking_for(&self, controller: Controller) -> Vec<&Pin> {
        // Where the controller's own image is pinned, the other controllers' images (of another
        // release: deepfence-demo/secure-gitops's image-reflector-controller v0.9.0 from Flux
        // 0.14 beside image-automation-controller v0.9.0 from 0.13) do not speak for it.
        let image_of = |pin: &Pin| match &pin.source {
            PinSource::ControllerImage { controller, .. } if pin.version.is_some() => {
                Some(*controller)
            }
            _ => None,
        };
        let own_image = self
            .pins
            .iter()
            .any(|pin| image_of(pin) == Some(controller));
        let pins: Vec<&Pin> = self
            .pins
            .iter()
            .filter(|pin| pin.speaks_for(controller))
            .filter(|pin| !own_image || image_of(pin).is_none_or(|of| of == controller))
            .collect();
        if pins.is_empty() {
            vec![&ASSUMED]
        } else {
            pins
        }
    }

    /// Whether what this cluster's Flux does for `kind`'s controller is an assumption: nothing
    /// pins a version that speaks for it, so the newest release stands in, or only FluxInstance
    /// ranges of several lines do, whose newest release the operator may not carry. A verdict
    /// that only the assumption makes wrong is not a fact about the files (the cluster may run
    /// an older Flux that serves it), so rules report it as a warning.
    pub fn assumes_version_for(&self, kind: Kind) -> bool {
        self.served_override.is_none()
            && self
                .speaking_for(Controller::of(kind))
                .iter()
                .all(|pin| pin.is_open() || pin.out_of_band)
    }

    /// The Flux line from which `api` of `kind` is served, for advice.
    pub fn first_serving(kind: Kind, api: &str) -> Option<String> {
        first_line_serving(kind, api).map(show_minor)
    }

    /// Whether a template field works: `None` when it does on some deciding pin and no later
    /// line drops it.
    pub fn template_field(&self, field: &TemplateField) -> Option<(Support, String)> {
        self.support(Controller::Automation, field.since, field.removed)
    }

    /// Whether a feature works: `None` when it does on some deciding pin.
    pub fn feature(&self, feature: Feature) -> Option<(Support, String)> {
        self.support(feature.controller(), feature.since(), None)
    }

    /// Whether kustomize-controller builds with a kustomize older than 5.1 (kustomize API
    /// v0.13.4 and before): the deciding pins of a release before Flux 2.2 that does, described.
    /// Up to Flux 2.1 (kustomize-controller 1.1) it builds a kustomization file that holds
    /// nothing (comments only) as one that lists nothing, and adds a kustomization's components
    /// before running its own generators (`accumulateTarget`). Flux 2.2 (kustomize-controller
    /// 1.2, API v0.16) brought kustomize 5.1's `CheckEmpty`, so such a build fails
    /// `kustomization.yaml is empty`, and runs the generators first (kustomize #5170). An image
    /// CRD's served flags tell its own controller's release only; several pins that disagree
    /// build as the older one when any is, as a field works when it works on any.
    pub fn runs_kustomize_before_5_1(&self) -> Option<String> {
        self.kustomize_controller_older(|version| minor_of(version) < KUSTOMIZE_5_1)
    }

    /// Whether kustomize-controller builds with a kustomize older than 5.4 (before Flux 2.3),
    /// which ignores the fields it does not know in a `configurations` file: the deciding pins
    /// of such a release, described.
    pub fn runs_kustomize_before_5_4(&self) -> Option<String> {
        self.kustomize_controller_older(|version| minor_of(version) < KUSTOMIZE_5_4)
    }

    /// Whether kustomize-controller builds with kustomize 4 (before Flux 2.0.0-rc.4,
    /// kustomize-controller 1.0.0-rc.4, which brought kustomize 5.0.3): the deciding pins of such
    /// a release, described. kustomize 4 reads a bare path in `patches` as a strategic merge
    /// patch file; kustomize 5 refuses it.
    pub fn runs_kustomize_4(&self) -> Option<String> {
        let kustomize_5 = Version::parse(KUSTOMIZE_5).expect("the release is a version");
        self.kustomize_controller_older(|version| *version < kustomize_5)
    }

    /// Whether kustomize-controller applies with `kubectl apply` (before Flux 0.18,
    /// kustomize-controller 0.15), where Kubernetes drops a field a CRD does not declare: the
    /// deciding pins that say so, described. From 0.18 it applies server-side, and the dry run
    /// refuses such an object (`field not declared in schema`): the Flux Kustomization that
    /// applies it applies nothing (fluxcd/kustomize-controller#453).
    pub fn applies_client_side(&self) -> Option<String> {
        self.kustomize_controller_older(|version| minor_of(version) < SERVER_SIDE_APPLY)
    }

    /// The deciding pins of a release `older` holds, described, as they tell
    /// kustomize-controller's release: an image CRD's served flags tell its own controller's
    /// only. Several pins that disagree count as the older when any is.
    fn kustomize_controller_older(&self, older: impl Fn(&Version) -> bool) -> Option<String> {
        let older: Vec<&Pin> = (self.pins.iter())
            .filter(|pin| !matches!(pin.source, PinSource::Crd { .. }))
            .filter(|pin| pin.version.as_ref().is_some_and(&older))
            .collect();
        (!older.is_empty()).then(|| describe(older.into_iter()))
    }

    /// How image-reflector-controller's semver policy reads a tag as a version: loosely when a
    /// deciding pin that tells the controller's release is Flux 2.7 or later (as an API counts
    /// as served when any pin serves it, a tag counts as read when any of them reads it), or
    /// when none tells it (the newest release stands in); strictly otherwise. Asked of every
    /// policy: nothing is allocated.
    pub fn tag_grammar(&self) -> TagGrammar {
        let mut known = self.telling_reflector_release().peekable();
        let strict = known.peek().is_some()
            && known.all(|(_, release)| reads_tags(release) == TagGrammar::Strict);
        if strict {
            TagGrammar::Strict
        } else {
            TagGrammar::Loose
        }
    }

    /// The pins that make [`Self::tag_grammar`] what it is, described.
    pub fn tag_grammar_pins(&self) -> String {
        let grammar = self.tag_grammar();
        let deciding: Vec<&Pin> = self
            .telling_reflector_release()
            .filter(|(_, release)| reads_tags(release) == grammar)
            .map(|(pin, _)| pin)
            .collect();
        if deciding.is_empty() {
            ASSUMED.describe()
        } else {
            describe(deciding.into_iter())
        }
    }

    /// The deciding pins that tell image-reflector-controller's release, with that release.
    fn telling_reflector_release(&self) -> impl Iterator<Item = (&Pin, &Version)> + '_ {
        self.pins
            .iter()
            .filter(|pin| pin.speaks_for(Controller::Reflector))
            .filter_map(|pin| Some((pin, pin.version.as_ref()?)))
    }

    /// Whether something that exists from `since` until `removed` works, with the pins that
    /// decide, described.
    fn support(
        &self,
        controller: Controller,
        since: (u64, u64),
        removed: Option<(u64, u64)>,
    ) -> Option<(Support, String)> {
        let versions: Vec<(&Pin, (u64, u64))> = self
            .speaking_for(controller)
            .into_iter()
            .filter_map(|pin| Some((pin, minor_of(pin.version.as_ref()?))))
            .collect();
        let works = |minor: (u64, u64)| since <= minor && removed.is_none_or(|r| minor < r);
        if let Some(removed) = removed {
            if versions.iter().any(|(_, minor)| works(*minor)) {
                let before = versions.iter().filter(|(_, minor)| works(*minor));
                return Some((
                    Support::UntilUpgrade {
                        removed_in: show_minor(removed),
                    },
                    describe(before.map(|(pin, _)| *pin)),
                ));
            }
        } else if versions.iter().any(|(_, minor)| works(*minor)) {
            return None;
        }
        let too_new: Vec<&Pin> = versions
            .iter()
            .filter(|(_, minor)| removed.is_some_and(|r| *minor >= r))
            .map(|(pin, _)| *pin)
            .collect();
        Some(match removed {
            Some(removed) if !too_new.is_empty() => (
                Support::Removed {
                    removed_in: show_minor(removed),
                },
                describe(too_new.into_iter()),
            ),
            _ => (
                Support::NotYet {
                    since: show_minor(since),
                },
                describe(versions.iter().map(|(pin, _)| *pin)),
            ),
        })
    }
}

/// How the image-reflector-controller of a Flux release reads tags.
fn reads_tags(release: &Version) -> TagGrammar {
    if minor_of(release) < LOOSE_TAGS {
        TagGrammar::Strict
    } else {
        TagGrammar::Loose
    }
}

/// Whether API version `a` is newer than `b` (`v1` > `v1beta2` > `v1beta1` > `v1alpha2`).
pub fn is_newer_api(a: &str, b: &str) -> bool {
    api_preference(a) < api_preference(b)
}

/// `v1` first, then betas before alphas, newest first.
fn api_preference(version: &str) -> (u8, std::cmp::Reverse<String>) {
    let stage = if version.contains("alpha") {
        2
    } else if version.contains("beta") {
        1
    } else {
        0
    };
    (stage, std::cmp::Reverse(version.to_string()))
}

/// The pin that stands for an unpinned cluster: the newest release the table knows.
static ASSUMED: std::sync::LazyLock<Pin> =
    std::sync::LazyLock::new(|| Pin::new(Some(newest()), PinSource::Assumed, String::new()));

/// The pins of the best rank among `pins`; the assumed newest release when there are none.
fn best_ranked(pins: Vec<Pin>) -> Vec<Pin> {
    let Some(best) = pins.iter().map(|pin| pin.source.rank()).min() else {
        return vec![ASSUMED.clone()];
    };
    pins.into_iter()
        .filter(|pin| pin.source.rank() == best)
        .collect()
}

fn config_pins(config: &Config, cluster_path: Option<&str>) -> Vec<Pin> {
    config
        .flux_version
        .iter()
        .filter(|setting| {
            cluster_path.is_none()
                || setting.cluster_path.is_none()
                || setting.cluster_path.as_deref() == cluster_path
        })
        .map(|setting| {
            Pin::new(
                Some(setting.version.clone()),
                PinSource::Config {
                    written: setting.written.clone(),
                },
                setting.location.clone(),
            )
        })
        .collect()
}

/// Pins for a message: one per distinct release, the first place each was read, and how many
/// more places say the same.
fn describe<'a>(pins: impl Iterator<Item = &'a Pin>) -> String {
    let mut seen: Vec<(&Pin, usize)> = Vec::new();
    for pin in pins {
        match seen.iter_mut().find(|(first, _)| {
            first.shown_version() == pin.shown_version() && first.shown_version().is_some()
        }) {
            Some((_, more)) => *more += 1,
            None => seen.push((pin, 0)),
        }
    }
    let described: BTreeSet<String> = seen
        .iter()
        .map(|(pin, more)| pin.described(*more))
        .collect();
    described.into_iter().collect::<Vec<_>>().join(", ")
}

/// A `flux_version` from the config (or `--flux-version`): as written, resolved, and where.
#[derive(Debug, Clone)]
pub struct VersionSetting {
    /// The cluster path it is for; `None` for every cluster.
    pub cluster_path: Option<String>,
    pub written: String,
    pub version: Version,
    /// `path:line` in the config.
    pub location: String,
}

/// The table as Markdown, for the `api-version` rule's documentation (a test keeps them equal).
pub fn api_table_markdown() -> String {
    let mut out = String::from(
        "| Flux | ImagePolicy, ImageRepository | ImageUpdateAutomation |\n|---|---|---|\n",
    );
    let list = |apis: &[(&str, bool)]| {
        apis.iter()
            .map(|&(v, deprecated)| {
                if deprecated {
                    format!("`{v}` (deprecated)")
                } else {
                    format!("`{v}`")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, era) in API_ERAS.iter().enumerate() {
        let last = API_ERAS.get(i + 1).map(|next| {
            LINES
                .iter()
                .rev()
                .find(|line| line.minor < next.since)
                .expect("every era has a line")
                .minor
        });
        let flux = match last {
            Some(last) if last == era.since => show_minor(era.since),
            Some(last) => format!("{} – {}", show_minor(era.since), show_minor(last)),
            None => format!("{} +", show_minor(era.since)),
        };
        out.push_str(&format!(
            "| {flux} | {} | {} |\n",
            list(era.reflector),
            list(era.automation)
        ));
    }
    out
}

/// The template fields as Markdown, for the `automation` rule's documentation.
pub fn template_table_markdown() -> String {
    let mut out = String::from("| field | filled from Flux | removed in |\n|---|---|---|\n");
    for field in TEMPLATE_FIELDS {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            field.path,
            show_minor(field.since),
            field.removed.map_or("—".to_string(), show_minor)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn pin(version: &str) -> Pin {
        Pin::new(
            Some(v(version)),
            PinSource::InstallHeader { components: None },
            "gotk.yaml:3".into(),
        )
    }

    /// The CRD of `kind` as Flux `release` ships it: its served flags pin that release.
    fn release_crd(kind: Kind, release: &str) -> Pin {
        Pin::new(
            Some(v(release)),
            PinSource::Crd {
                kind,
                served: table_apis(kind, &v(release)),
            },
            "crds.yaml:2".into(),
        )
    }

    fn cluster(pins: Vec<Pin>) -> ClusterFlux {
        ClusterFlux::resolve(pins, &Config::default(), None)
    }

    #[test]
    fn written_versions_resolve_to_the_newest_known_release() {
        assert_eq!(resolve_written("2.9.x").unwrap(), v("2.9.4"));
        assert_eq!(resolve_written("2.x").unwrap(), newest());
        assert_eq!(resolve_written("2.8").unwrap(), v("2.8.8"));
        assert_eq!(resolve_written("v2.8.3").unwrap(), v("2.8.3"));
        assert_eq!(resolve_written(">=2.3 <2.5").unwrap(), v("2.4.0"));
        assert_eq!(resolve_written("0.38").unwrap(), v("0.38.3"));
        // Newer than the table: that release, which behaves as the newest line.
        assert_eq!(resolve_written("2.10.x").unwrap(), v("2.10.0"));
        assert!(resolve_written("latest").is_err());
        assert!(resolve_written("1.5").is_err());
    }

    #[test]
    fn a_flux_instance_range_of_several_lines_leaves_the_release_open() {
        let instance = |written: &str| {
            cluster(vec![Pin::new(
                Some(resolve_written(written).unwrap()),
                PinSource::FluxInstance {
                    written: written.to_string(),
                },
                "instance.yaml:8".into(),
            )])
        };
        // The operator installs the newest release of `2.x` its image carries: maybe 2.8.
        assert!(instance("2.x").assumes_version_for(Kind::ImagePolicy));
        assert!(instance(">=2.3").assumes_version_for(Kind::ImagePolicy));
        // Every release of one line serves the same APIs.
        assert!(!instance("2.9.x").assumes_version_for(Kind::ImagePolicy));
        assert!(!instance("2.8.3").assumes_version_for(Kind::ImagePolicy));
        assert!(!cluster(vec![pin("2.9.4")]).assumes_version_for(Kind::ImagePolicy));
        assert!(cluster(Vec::new()).assumes_version_for(Kind::ImagePolicy));
    }

    #[test]
    fn controller_tags_map_to_their_flux_release() {
        let reflector = |tag| release_of_controller(Controller::Reflector, &v(tag));
        let automation = |tag| release_of_controller(Controller::Automation, &v(tag));
        assert_eq!(reflector("1.1.1"), v("2.8.8"));
        assert_eq!(automation("1.0.2"), v("2.7.5"));
        assert_eq!(reflector("0.31.2"), v("2.2.3"));
        assert_eq!(automation("0.38.0"), v("2.3.0"));
        assert_eq!(automation("0.11.0"), v("0.14.2"));
        assert_eq!(reflector("1.3.0"), v("2.9.4"));
    }

    #[test]
    fn served_apis_differ_by_kind_and_line() {
        let on = |flux: &str, kind| cluster(vec![pin(flux)]).api(kind, "v1beta2").status;
        // 2.0–2.2: ImagePolicy v1beta2 but ImageUpdateAutomation only v1beta1.
        assert_eq!(on("2.1.0", Kind::ImagePolicy), ApiStatus::Served);
        assert_eq!(
            on("2.1.0", Kind::ImageUpdateAutomation),
            ApiStatus::Unserved
        );
        assert_eq!(on("2.3.0", Kind::ImageUpdateAutomation), ApiStatus::Served);
        assert_eq!(on("2.8.8", Kind::ImageRepository), ApiStatus::Deprecated);
        assert_eq!(on("2.9.1", Kind::ImagePolicy), ApiStatus::Unserved);
        assert_eq!(on("0.38.0", Kind::ImagePolicy), ApiStatus::Unserved);
        let old = cluster(vec![pin("2.4.0")]);
        assert_eq!(
            old.api(Kind::ImageUpdateAutomation, "v1beta1").status,
            ApiStatus::Deprecated
        );
        assert_eq!(old.api(Kind::ImagePolicy, "v1").status, ApiStatus::Unserved);
        let verdict = cluster(vec![pin("2.8.8")]).api(Kind::ImagePolicy, "v1beta2");
        assert_eq!(verdict.removed_in.as_deref(), Some("2.9"));
        assert_eq!(verdict.served, ["v1", "v1beta2"]);
    }

    #[test]
    fn disagreeing_pins_serve_what_any_of_them_serves() {
        let mixed = cluster(vec![pin("2.3.0"), pin("2.9.4"), pin("2.3.0")]);
        assert_eq!(
            mixed.api(Kind::ImagePolicy, "v1beta2").status,
            ApiStatus::Served
        );
        assert_eq!(mixed.api(Kind::ImagePolicy, "v1").status, ApiStatus::Served);
        let verdict = mixed.api(Kind::ImageUpdateAutomation, "v1beta1");
        assert_eq!(verdict.status, ApiStatus::Deprecated);
        assert_eq!(
            verdict.because,
            "Flux 2.3.0 (install manifest header at gotk.yaml:3, and 1 more)"
        );
        assert_eq!(
            mixed.api(Kind::ImagePolicy, "v1alpha1").status,
            ApiStatus::Unserved
        );
    }

    #[test]
    fn a_crd_pin_serves_what_its_flags_say() {
        let crd = Pin::new(
            None,
            PinSource::Crd {
                kind: Kind::ImagePolicy,
                served: vec![ServedApi {
                    version: "v1beta3".into(),
                    deprecated: false,
                }],
            },
            "crds.yaml:2".into(),
        );
        let flux = cluster(vec![crd]);
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1beta3").status,
            ApiStatus::Served
        );
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1").status,
            ApiStatus::Unserved
        );
        // It says nothing of the other controller's kinds nor templates: the newest is assumed.
        let automation = flux.api(Kind::ImageUpdateAutomation, "v1beta2");
        assert_eq!(automation.status, ApiStatus::Unserved);
        assert!(automation.because.contains("no Flux version is pinned"));
        assert_eq!(
            flux.template_field(&TEMPLATE_FIELDS[0]).unwrap().0,
            Support::Removed {
                removed_in: "2.7".into()
            }
        );
    }

    #[test]
    fn kustomize_before_5_1_runs_before_flux_2_2() {
        let builds = |pins| cluster(pins).runs_kustomize_before_5_1();
        assert!(builds(vec![pin("2.1.2")])
            .unwrap()
            .starts_with("Flux 2.1.2"));
        assert!(builds(vec![pin("0.41.2")]).is_some());
        assert_eq!(builds(vec![pin("2.2.0")]), None);
        // Nothing pinned: the newest is assumed. Pins that disagree: any older one builds it.
        assert_eq!(builds(Vec::new()), None);
        assert!(builds(vec![pin("2.9.4"), pin("2.0.0")]).is_some());
        // An image CRD tells its own controller's release, not kustomize-controller's.
        assert_eq!(builds(vec![release_crd(Kind::ImagePolicy, "2.0.0")]), None);
    }

    #[test]
    fn kustomize_4_runs_before_flux_2_0_0_rc_4() {
        let builds = |pins| cluster(pins).runs_kustomize_4();
        assert!(builds(vec![pin("0.31.1")])
            .unwrap()
            .starts_with("Flux 0.31.1"));
        assert!(builds(vec![pin("2.0.0-rc.3")]).is_some());
        assert_eq!(builds(vec![pin("2.0.0-rc.4")]), None);
        assert_eq!(builds(vec![pin("2.0.0")]), None);
        assert_eq!(builds(Vec::new()), None);
        assert!(builds(vec![pin("2.3.0"), pin("0.41.2")]).is_some());
        assert_eq!(builds(vec![release_crd(Kind::ImagePolicy, "0.41.2")]), None);
    }

    #[test]
    fn tags_are_read_loosely_from_flux_2_7() {
        let reads = |pins| cluster(pins).tag_grammar();
        assert_eq!(reads(vec![pin("2.6.4")]), TagGrammar::Strict);
        assert_eq!(reads(vec![pin("0.41.2")]), TagGrammar::Strict);
        assert_eq!(reads(vec![pin("2.7.0")]), TagGrammar::Loose);
        assert_eq!(reads(vec![pin("2.10.0")]), TagGrammar::Loose);
        // Nothing pinned: the newest is assumed.
        assert_eq!(reads(Vec::new()), TagGrammar::Loose);
        // Pins that disagree: a tag any of them reads counts as read.
        let mixed = cluster(vec![pin("2.6.4"), pin("2.8.8")]);
        assert_eq!(mixed.tag_grammar(), TagGrammar::Loose);
        assert_eq!(
            mixed.tag_grammar_pins(),
            "Flux 2.8.8 (install manifest header at gotk.yaml:3)"
        );
        assert_eq!(
            cluster(vec![pin("2.6.4")]).tag_grammar_pins(),
            "Flux 2.6.4 (install manifest header at gotk.yaml:3)"
        );
        assert!(cluster(Vec::new())
            .tag_grammar_pins()
            .contains("no Flux version is pinned"));
        // The reflector's image tag tells; an automation CRD says nothing of the reflector.
        let reflector = Pin::new(
            Some(release_of_controller(Controller::Reflector, &v("0.35.2"))),
            PinSource::ControllerImage {
                controller: Controller::Reflector,
                tag: "v0.35.2".into(),
            },
            "controllers.yaml:9".into(),
        );
        assert_eq!(reads(vec![reflector]), TagGrammar::Strict);
        let automation_crd = release_crd(Kind::ImageUpdateAutomation, "2.6.4");
        assert_eq!(reads(vec![automation_crd]), TagGrammar::Loose);
    }

    #[test]
    fn template_fields_by_line() {
        let updated = &TEMPLATE_FIELDS[0];
        let changed = &TEMPLATE_FIELDS[2];
        let (support, because) = cluster(vec![pin("2.4.0")]).template_field(updated).unwrap();
        assert_eq!(
            support,
            Support::UntilUpgrade {
                removed_in: "2.7".into()
            }
        );
        assert!(because.starts_with("Flux 2.4.0"), "{because}");
        assert_eq!(
            cluster(vec![pin("2.7.2")])
                .template_field(updated)
                .unwrap()
                .0,
            Support::Removed {
                removed_in: "2.7".into()
            }
        );
        assert_eq!(cluster(vec![pin("2.4.0")]).template_field(changed), None);
        assert_eq!(
            cluster(vec![pin("2.2.0")])
                .template_field(changed)
                .unwrap()
                .0,
            Support::NotYet {
                since: "2.3".into()
            }
        );
        assert_eq!(
            cluster(vec![pin("2.5.0")])
                .feature(Feature::DigestMarker)
                .unwrap()
                .0,
            Support::NotYet {
                since: "2.6".into()
            }
        );
        assert_eq!(
            cluster(vec![pin("2.6.0")]).feature(Feature::DigestMarker),
            None
        );
        // Each controller's image speaks for its own controller where both are pinned:
        // deepfence-demo/secure-gitops's automation v0.9.0 (Flux 0.13) beside the reflector
        // v0.9.0 (Flux 0.14); the template is the automation's.
        let image = |controller: Controller, tag: &str, at: &str| {
            Pin::new(
                Some(release_of_controller(controller, &v(tag))),
                PinSource::ControllerImage {
                    controller,
                    tag: format!("v{tag}"),
                },
                at.into(),
            )
        };
        let both = cluster(vec![
            image(Controller::Automation, "0.9.0", "gotk.yaml:3582"),
            image(Controller::Reflector, "0.9.0", "gotk.yaml:3657"),
        ]);
        let (_, because) = both.template_field(updated).unwrap();
        assert!(because.contains("image-automation-controller"), "{because}");
        assert!(!because.contains("image-reflector-controller"), "{because}");
        // Alone, the reflector's image tells the release for the automation too.
        let reflector_alone = cluster(vec![image(Controller::Reflector, "0.9.0", "gotk.yaml:1")]);
        let (_, because) = reflector_alone.template_field(updated).unwrap();
        assert!(because.contains("image-reflector-controller"), "{because}");
    }

    #[test]
    fn template_fields_are_read_from_the_root_chain() {
        let paths = |template| {
            template_fields_used(template)
                .iter()
                .map(|f| f.path)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths("{{range .Updated.Images}}{{println .}}{{end}}"),
            [".Updated"]
        );
        assert_eq!(
            paths("{{ range .Changed.ImageResult.Files }}{{ $.Changed.Changes }}{{ .Values.env }}"),
            [".Changed.ImageResult", ".Changed", ".Values"]
        );
        assert!(
            paths("{{ range $c := .Changed.Changes }}{{ $c.Updated }}{{ .NewValue }}").len() == 1
        );
        assert!(paths("Automated update. {{ .AutomationObject }}").is_empty());
        // Text outside the actions is the message: it reads nothing.
        assert!(paths("see .Updated for {{ .Changed.Changes }} and $.Updated").len() == 1);
    }

    #[test]
    fn template_fields_never_filled_are_those_no_flux_has() {
        assert_eq!(
            template_fields_never_filled("[ci] bump to {{ .NewImage }} {{ .LatestImage.Tag }}"),
            ["NewImage", "LatestImage"]
        );
        // The fields some Flux fills, and what a block's body reads on another dot.
        let known = "{{ .AutomationObject }} {{ .Updated }} {{ .Values.x }} {{ range .Changed.Changes }}{{ .NewValue }}{{ end }}";
        assert!(template_fields_never_filled(known).is_empty());
    }

    #[test]
    fn the_rule_docs_hold_the_tables() {
        for (rule, table) in [
            ("api-version", api_table_markdown()),
            ("automation", template_table_markdown()),
        ] {
            let docs = crate::rules::find(rule).unwrap().docs;
            assert!(
                docs.contains(&table),
                "update the table in the `{rule}` docs to:\n{table}"
            );
        }
    }

    #[test]
    fn pins_of_the_best_rank_decide() {
        let instance = Pin::new(
            Some(v("2.4.0")),
            PinSource::FluxInstance {
                written: "2.4.x".into(),
            },
            "instance.yaml:8".into(),
        );
        let flux = cluster(vec![pin("2.9.4"), instance]);
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1").status,
            ApiStatus::Unserved
        );
        assert!(flux.assumption().is_none());
        let nothing = cluster(Vec::new());
        assert!(nothing.assumption().unwrap().contains("2.9.4"));
        assert_eq!(
            nothing.api(Kind::ImagePolicy, "v1").status,
            ApiStatus::Served
        );
    }

    #[test]
    fn a_cluster_that_pins_nothing_never_takes_another_clusters_pins() {
        let paths = [
            "clusters/old/flux-system/gotk-components.yaml",
            "clusters/bare/flux-system/gotk-components.yaml",
            "infrastructure/flux/gotk-components.yaml",
        ];
        let files: Vec<ScannedFile> = paths
            .iter()
            .map(|path| {
                let source = crate::source::SourceFile::new(path.to_string(), "");
                crate::workspace::scan_file(source)
            })
            .collect();
        // The first is applied by `old`; the second (in `bare`'s folder, its kustomization
        // leaving it out) and the third by no cluster.
        let file_pins: Vec<Vec<Pin>> = ["0.14.2", "2.0.1", "2.4.0"]
            .iter()
            .zip(paths)
            .map(|(version, path)| {
                vec![Pin::new(
                    Some(v(version)),
                    PinSource::InstallHeader { components: None },
                    format!("{path}:3"),
                )]
            })
            .collect();
        let cluster = |name: &str, files: &[usize]| {
            let mut cluster = Cluster::default();
            cluster.path = format!("clusters/{name}");
            cluster.files = files.iter().copied().collect();
            cluster
        };
        let clusters = [
            cluster("old", &[0]),
            cluster("bare", &[]),
            cluster("other", &[]),
            cluster("configured", &[]),
        ];
        let mut config = Config::default();
        config.flux_version.push(VersionSetting {
            cluster_path: Some("clusters/configured".into()),
            written: "2.8".into(),
            version: v("2.8.8"),
            location: ".flux-image-lint.yaml:2".into(),
        });
        let described = |config: &Config, clusters: &[Cluster]| {
            clusters_flux(&file_pins, &files, clusters, config)
                .iter()
                .map(|of| (of.pinned, of.flux.description()))
                .collect::<Vec<_>>()
        };
        let header = |version: &str, path: &str| {
            format!("Flux {version} (install manifest header at {path}:3)")
        };
        // What stands in is read from a file no cluster applies: applied out of band.
        let stand_in = |version: &str, path: &str| {
            format!(
                "Flux {version} (install manifest header at {path}:3, a file applied out of band)"
            )
        };
        assert_eq!(
            described(&config, &clusters),
            [
                (true, header("0.14.2", paths[0])),
                (
                    false,
                    format!(
                        "{}, {}",
                        stand_in("2.0.1", paths[1]),
                        stand_in("2.4.0", paths[2])
                    )
                ),
                (false, stand_in("2.4.0", paths[2])),
                (
                    true,
                    "Flux 2.8.8 (`flux_version: 2.8` at .flux-image-lint.yaml:2)".into()
                ),
            ]
        );
        // With nothing but another cluster's pins, the newest is assumed; a `flux_version` for
        // every cluster still decides.
        let alone = [cluster("old", &[0, 1, 2]), cluster("bare", &[])];
        let bare = &clusters_flux(&file_pins, &files, &alone, &config)[1];
        assert!(!bare.pinned && bare.flux.assumption().is_some());
        config.flux_version[0].cluster_path = None;
        assert_eq!(
            described(&config, &alone)[1],
            (
                false,
                "Flux 2.8.8 (`flux_version: 2.8` at .flux-image-lint.yaml:2)".into()
            )
        );
    }

    #[test]
    fn the_config_overrides_the_files_and_the_flag_overrides_both() {
        let mut config = Config::default();
        config.flux_version.push(VersionSetting {
            cluster_path: None,
            written: "2.4".into(),
            version: v("2.4.0"),
            location: ".flux-image-lint.yaml:1".into(),
        });
        let flux = ClusterFlux::resolve(vec![pin("2.9.4")], &config, None);
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1beta2").status,
            ApiStatus::Served
        );
        config.served_image_apis = Some(ServedOverride {
            versions: vec!["v1".into()],
            location: ".flux-image-lint.yaml:2".into(),
        });
        let flux = ClusterFlux::resolve(vec![pin("2.9.4")], &config, None);
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1beta2").status,
            ApiStatus::Unserved
        );
        assert_eq!(
            flux.api(Kind::ImagePolicy, "v1").status,
            ApiStatus::Deprecated
        );
        config.upgrade_to = Some(VersionSetting {
            cluster_path: None,
            written: "2.9".into(),
            version: v("2.9.4"),
            location: "--flux-version".into(),
        });
        let flux = ClusterFlux::resolve(vec![pin("2.7.2")], &config, None);
        let verdict = flux.api(Kind::ImagePolicy, "v1beta2");
        assert_eq!(verdict.status, ApiStatus::Unserved);
        assert_eq!(verdict.because, "Flux 2.9.4 (`--flux-version 2.9`)");
        assert_eq!(
            flux.upgrade_note(),
            "; the cluster runs Flux 2.4.0 (`flux_version: 2.4` at .flux-image-lint.yaml:1) now"
        );
    }
}
