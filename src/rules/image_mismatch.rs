//! Rule `image-mismatch`; its documentation is `RULE.docs`. Also owns the comparison of a marked
//! image with the one its policy's ImageRepository scans, shared with `image-name-rewrite`.

use super::{Context, Findings, MarkerSite, Rule};
use std::sync::OnceLock;

use foldhash::{HashMap, HashSet};

use crate::flux::image::{is_docker_hub_site, ImageRef};
use crate::flux::objects::{FluxObject, Spec};
use crate::flux::Kind;
use crate::model::tree::Origin;
use crate::report::Severity;
use crate::scan::marker::SetterKind;
use crate::source::Span;

pub static RULE: Rule = Rule {
    id: "image-mismatch",
    severity: crate::report::Severity::Error,
    summary: "The marked image is not the one the policy's ImageRepository scans",
    docs: r#"## What it catches
A full or `:name` marker on an image whose repository path differs from the one in the
`spec.image` of the ImageRepository behind the policy, names compared canonical (`nginx` =
`docker.io/library/nginx` = `index.docker.io/library/nginx`). The same path in another registry
(`old.example.com/org/app` where `spec.image` is `new.example.com/org/app`) is the same image
moved or mirrored: `image-name-rewrite` warns about it. A `:tag` or `:digest` marker holds no
image name, and Flux writes no name there.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value. A warning too where the image looks
renamed: the last parts of the two names share a word (`ambulance-webapi`,
`ambulance-wl-webapi`), no other marker on the policy marks another image, and no other
ImageRepository scans either name (a marker or an ImageRepository copied from another
application would); Flux then writes the new name on its next update, as the owner meant where
only `spec.image` was changed.

## Why it matters in Flux
Flux does not compare names: it writes `spec.image:tag` over the value, so a marker copied from
another container silently replaces the image with a different one.

## Example
```yaml
image: ghcr.io/org/worker:1.0.0 # {"$imagepolicy": "flux-system:app"}
```
where the policy `app` scans `ghcr.io/org/app`.

## Fix
Point the marker at the policy for this image (create one if needed). Where the policy is this
image's but names another image's ImageRepository (a copied `imageRepositoryRef`), point its
`spec.imageRepositoryRef` at the ImageRepository that scans this image; change an
ImageRepository's `spec.image` only where no other policy takes its tags from it. The help names
which of these the repository points to.
"#,
    check,
};

/// How a marked image relates to the image its policy scans.
pub(super) struct Comparison<'c> {
    pub span: Span,
    pub marked: &'c str,
    pub scanned: &'c str,
    pub relation: Relation,
    /// The registry of each (Docker Hub as `docker.io`), for `Relation::OtherRegistry`.
    pub marked_registry: &'c str,
    pub scanned_registry: &'c str,
    marked_ref: &'c ImageRef,
    scanned_ref: &'c ImageRef,
    policy: &'c FluxObject,
    repository: &'c FluxObject,
}

/// How a marked image relates to the image its policy scans, names compared canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    /// The same registry (its host without regard to case, as DNS reads it) and repository path.
    SameImage,
    /// The same repository path in another registry: the image moved or is mirrored, and Flux's
    /// next update writes the ImageRepository's registry (`image-name-rewrite`).
    OtherRegistry,
    /// Another repository path: another image (`image-mismatch`).
    OtherImage,
}

impl Relation {
    pub(super) fn of(marked: &ImageRef, scanned: &ImageRef) -> Relation {
        // The canonical names compared part by part: a registry holds no `/`.
        if marked.repository != scanned.repository {
            Relation::OtherImage
        } else if marked.registry.eq_ignore_ascii_case(&scanned.registry) {
            Relation::SameImage
        } else {
            Relation::OtherRegistry
        }
    }
}

pub(super) fn compare<'c>(cx: &'c Context, site: &MarkerSite) -> Option<Comparison<'c>> {
    let value = site.value()?;
    // Only these setters write a name: `:tag` and `:digest` write theirs over the old one.
    if !matches!(
        site.marker.setter.kind,
        SetterKind::Image | SetterKind::Name
    ) {
        return None;
    }
    let (policy, spec) = cx.policy_of(site)?;
    let (object, repository) = cx.workspace.index.repository_of(policy, spec)?;
    let scanned = repository.image.as_ref()?;
    let scanned_ref = cx.scanned_image(object)?.as_ref().ok()?;
    // Docker Hub's web site: its scan fails, so no name is written, and `invalid-image` names
    // the repository meant.
    if is_docker_hub_site(&scanned_ref.registry) {
        return None;
    }
    let marked_ref = cx.marked_image(site)?;
    Some(Comparison {
        span: value.span,
        relation: Relation::of(marked_ref, scanned_ref),
        marked: &marked_ref.written_name,
        scanned: &scanned.value,
        marked_registry: registry_shown(marked_ref),
        scanned_registry: registry_shown(scanned_ref),
        marked_ref,
        scanned_ref,
        policy,
        repository: object,
    })
}

/// What tells a renamed image from a copied one, gathered once, on the first mismatch: the
/// images each policy's markers mark (policies by address), and the ImageRepositories that scan
/// each repository path (by where they are written: the copies of one in several clusters are
/// one).
struct Renames<'c> {
    marked: HashMap<usize, HashSet<&'c str>>,
    scanned: HashMap<&'c str, HashSet<Origin>>,
}

impl<'c> Renames<'c> {
    fn of(cx: &'c Context) -> Renames<'c> {
        let mut marked: HashMap<usize, HashSet<&'c str>> = HashMap::default();
        for site in cx.markers() {
            if let (Some((policy, _)), Some(image)) = (cx.policy_of(&site), cx.marked_image(&site))
            {
                let images = marked.entry(std::ptr::from_ref(policy).addr()).or_default();
                images.insert(image.repository.as_str());
            }
        }
        let mut scanned: HashMap<&'c str, HashSet<Origin>> = HashMap::default();
        for object in cx.objects() {
            if let Some(Ok(image)) = cx.scanned_image(object) {
                let scanners = scanned.entry(image.repository.as_str()).or_default();
                scanners.insert(object.origin());
            }
        }
        Renames { marked, scanned }
    }

    /// Whether the marked image looks renamed rather than mistaken: the names are alike, the
    /// policy's markers mark no other image, and no other ImageRepository scans either name (as
    /// a copy of another application's marker or repository would). Flux writes the scanned
    /// name on its next update, which is what the owner meant where the image moved
    /// (milung/ambulance-gitops and a copy of it changed only `spec.image`; the bot wrote the
    /// new name a minute later, and it stayed).
    fn looks_renamed(&self, comparison: &Comparison) -> bool {
        let (marked, scanned) = (comparison.marked_ref, comparison.scanned_ref);
        let policy_marks = self
            .marked
            .get(&std::ptr::from_ref(comparison.policy).addr());
        let marks_another =
            policy_marks.is_some_and(|images| images.iter().any(|i| *i != marked.repository));
        let scanners = |image: &ImageRef| self.scanned.get(image.repository.as_str());
        let only_its_own = scanners(scanned).is_some_and(|origins| {
            origins.len() == 1 && origins.contains(&comparison.repository.origin())
        });
        names_alike(marked, scanned) && !marks_another && scanners(marked).is_none() && only_its_own
    }
}

/// Whether two images' last path parts share a word (split at `-`, `_`, `.`), as a renamed
/// image's do (`ambulance-webapi`, `ambulance-wl-webapi`; `server.deno`, `server.bun`) and
/// another application's seldom does (`job-exam-web`, `docker_exe`).
fn names_alike(a: &ImageRef, b: &ImageRef) -> bool {
    let words = |image: &ImageRef| -> Vec<String> {
        let last = image.repository.rsplit('/').next().unwrap_or_default();
        (last.split(['-', '_', '.']))
            .filter(|word| !word.is_empty())
            .map(str::to_string)
            .collect()
    };
    let theirs = words(b);
    words(a).iter().any(|word| theirs.contains(word))
}

/// What to change, by what else the marker's cluster holds: a policy that follows the marked
/// image (the marker names the wrong one), else an ImageRepository of the policy's namespace
/// that scans it (the policy names the wrong one: spuxx1701/flux's `potber-client-production`
/// took its tags from `potber-api`); the ImageRepository's `spec.image` only where no other
/// policy takes its tags from it.
fn help(cx: &Context, comparison: &Comparison) -> String {
    let (policy, marked) = (comparison.policy, comparison.marked);
    let scans_marked = |repository: &FluxObject| {
        cx.scanned_image(repository)
            .and_then(|image| image.as_ref().ok())
            .is_some_and(|image| Relation::of(comparison.marked_ref, image) == Relation::SameImage)
    };
    let repository_of = |object: &'_ FluxObject| match &object.spec {
        Spec::Policy(spec) => cx.workspace.index.repository_of(object, spec),
        _ => None,
    };
    let others = || {
        cx.objects().filter(|object| {
            object.kind == Kind::ImagePolicy
                && object.cluster == policy.cluster
                && (object.namespace != policy.namespace || object.name.value != policy.name.value)
        })
    };
    let following = others()
        .filter(|other| {
            repository_of(other).is_some_and(|(repository, _)| scans_marked(repository))
        })
        .map(|other| format!("{}:{}", other.namespace, other.name.value))
        .min();
    if let Some(following) = following {
        return format!("point the marker at `{following}`, the policy that follows `{marked}`");
    }
    let repository = &comparison.repository.name.value;
    // Another copy of the policy's own (an overlay's) is no other ImageRepository to name.
    let scanning = cx
        .objects()
        .filter(|object| {
            object.kind == Kind::ImageRepository
                && object.cluster == policy.cluster
                && object.namespace == policy.namespace
                && object.name.value != *repository
                && scans_marked(object)
        })
        .map(|object| object.name.value.as_str())
        .min();
    if let Some(scanning) = scanning {
        return format!(
            "policy `{}:{}` takes its tags from ImageRepository `{repository}`, while `{scanning}` scans `{marked}`: if this policy is meant for this image, set its `spec.imageRepositoryRef.name: {scanning}`; if not, point the marker at a policy for this image",
            policy.namespace, policy.name.value
        );
    }
    let shared = others().any(|other| {
        repository_of(other).is_some_and(|(object, _)| std::ptr::eq(object, comparison.repository))
    });
    if shared {
        format!("point the marker at a policy for this image (with an ImageRepository that scans it); ImageRepository `{repository}` serves other policies too")
    } else {
        "point the marker at the policy for this image, or fix the ImageRepository's `spec.image`"
            .to_string()
    }
}

fn registry_shown(image: &ImageRef) -> &str {
    if image.is_docker_hub() {
        "docker.io"
    } else {
        &image.registry
    }
}

fn check(cx: &Context, out: &mut Findings) {
    let renames = OnceLock::new();
    cx.judge_live_markers(out, |site, _, out| judge(cx, site, &renames, out));
}

/// The marker's image against the one its policy's ImageRepository scans.
fn judge<'c>(
    cx: &'c Context,
    site: &MarkerSite,
    renames: &OnceLock<Renames<'c>>,
    out: &mut Findings,
) {
    let Some(comparison) = compare(cx, site) else {
        return;
    };
    if comparison.relation != Relation::OtherImage {
        return;
    }
    if renames
        .get_or_init(|| Renames::of(cx))
        .looks_renamed(&comparison)
    {
        let scanned = comparison.scanned;
        out.push_with_severity(
            &RULE,
            Severity::Warning,
            site.file_index,
            comparison.span,
            format!(
                "`{}` is not the image policy `{}` follows (its ImageRepository scans `{scanned}`, which no other marker or ImageRepository names): {} writes `{scanned}` here on its next update",
                comparison.marked, site.marker.setter.policy, cx.next_writer(site)
            ),
            format!("if the image moved to `{scanned}`, write it here too; if not, fix the ImageRepository's `spec.image`"),
        );
        out.at_most(cx.value_ceiling(site));
        return;
    }
    out.push(
        &RULE,
        site.file_index,
        comparison.span,
        format!(
            "`{}` is not the image policy `{}` follows (its ImageRepository scans `{}`); {} would replace it with `{}`",
            comparison.marked,
            site.marker.setter.policy,
            comparison.scanned,
            cx.next_writer(site),
            comparison.scanned
        ),
        help(cx, &comparison),
    );
    let ceiling = cx.value_ceiling(site);
    out.at_most(ceiling);
    // A marker no automation writes keeps its `marker-outside-automation` warning: it is why
    // the mismatch does no harm today.
    if ceiling == Severity::Error {
        out.block(site);
    }
}

#[cfg(test)]
mod tests {
    use crate::report::Severity;
    use crate::rules::diagnostics_of;

    /// The image objects of one policy `app` scanning `scanned`, and an automation that writes
    /// every file: so a value rule reports at its full level.
    fn objects(scanned: &str) -> String {
        let object = |kind: &str, spec: &str| {
            format!(
                "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: {kind}\n\
                 metadata: {{name: app, namespace: flux-system}}\nspec: {spec}\n"
            )
        };
        [
            object(
                "ImageRepository",
                &format!("{{image: {scanned}, interval: 5m}}"),
            ),
            object(
                "ImagePolicy",
                "{imageRepositoryRef: {name: app}, policy: {alphabetical: {order: asc}}}",
            ),
            object(
                "ImageUpdateAutomation",
                "{interval: 1m, sourceRef: {kind: GitRepository, name: app}, \
                 git: {commit: {author: {name: bot, email: bot@example.com}}}, \
                 update: {path: ./, strategy: Setters}}",
            ),
        ]
        .concat()
    }

    /// `(rule, severity, message)` of every diagnostic on `app.yaml` by the two rules that
    /// compare the marked image with the scanned one.
    fn compared(app: &str, scanned: &str) -> Vec<(&'static str, Severity, String)> {
        let objects = objects(scanned);
        let files = [("app.yaml", app), ("policies.yaml", &objects)];
        (diagnostics_of(&files, &["image-mismatch", "image-name-rewrite"]).into_iter())
            .filter(|d| d.file == "app.yaml")
            .map(|d| (d.rule, d.severity, d.message))
            .collect()
    }

    /// The help of the one `image-mismatch` on `app.yaml`, with `more` beside the objects of
    /// policy `app` scanning `ghcr.io/org/api`.
    fn help_with(more: &str) -> String {
        let objects = format!("{}{more}", objects("ghcr.io/org/api"));
        let app = marked("ghcr.io/org/web");
        let files = [("app.yaml", app.as_str()), ("policies.yaml", &objects)];
        let mut helps = (diagnostics_of(&files, &["image-mismatch"]).into_iter())
            .filter(|d| d.file == "app.yaml")
            .map(|d| d.help);
        let help = helps.next().expect("a mismatch");
        assert_eq!(helps.next(), None);
        help
    }

    /// Where the marked image has a policy, the marker is the slip; where it has an
    /// ImageRepository only, the policy's `imageRepositoryRef` is (spuxx1701/flux); the
    /// ImageRepository's `spec.image` only where no other policy reads it.
    #[test]
    fn the_help_names_what_to_change_by_what_the_cluster_holds() {
        let object = |kind: &str, name: &str, spec: &str| {
            format!(
                "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: {kind}\n\
                 metadata: {{name: {name}, namespace: flux-system}}\nspec: {spec}\n"
            )
        };
        let web_repository = object(
            "ImageRepository",
            "web",
            "{image: ghcr.io/org/web, interval: 5m}",
        );
        let policy_of = |name: &str, repository: &str| {
            object(
                "ImagePolicy",
                name,
                &format!("{{imageRepositoryRef: {{name: {repository}}}, policy: {{alphabetical: {{order: asc}}}}}}"),
            )
        };
        assert_eq!(
            help_with(&format!("{web_repository}{}", policy_of("web", "web"))),
            "point the marker at `flux-system:web`, the policy that follows `ghcr.io/org/web`"
        );
        assert_eq!(
            help_with(&web_repository),
            "policy `flux-system:app` takes its tags from ImageRepository `app`, while `web` scans `ghcr.io/org/web`: if this policy is meant for this image, set its `spec.imageRepositoryRef.name: web`; if not, point the marker at a policy for this image"
        );
        assert!(help_with(&policy_of("api-staging", "app"))
            .ends_with("ImageRepository `app` serves other policies too"));
        assert_eq!(
            help_with(""),
            "point the marker at the policy for this image, or fix the ImageRepository's `spec.image`"
        );
    }

    fn marked(image: &str) -> String {
        format!("image: {image}:prod-5badb8c-20260101120000 # {{\"$imagepolicy\": \"flux-system:app\"}}\n")
    }

    /// An image whose ImageRepository alone changed to a name alike (milung/ambulance-gitops)
    /// is a rename Flux finishes: a warning. A copy stays an error: names that share no word,
    /// or the policy marking another image elsewhere too.
    #[test]
    fn an_image_renamed_with_its_repository_is_a_warning_a_copy_an_error() {
        let severities = |app: &str, scanned: &str| -> Vec<(&'static str, Severity)> {
            (compared(app, scanned).into_iter())
                .map(|(rule, severity, _)| (rule, severity))
                .collect()
        };
        let renamed = marked("ghcr.io/org/ambulance-webapi");
        let scanned = "ghcr.io/org/ambulance-wl-webapi";
        assert_eq!(
            severities(&renamed, scanned),
            [("image-mismatch", Severity::Warning)]
        );
        let unlike = marked("ghcr.io/org/job-exam-web");
        assert_eq!(
            severities(&unlike, "ghcr.io/org/docker_exe"),
            [("image-mismatch", Severity::Error)]
        );
        let copied = format!(
            "{renamed}---\n{}",
            marked("ghcr.io/org/ambulance-wl-webapi")
        );
        assert_eq!(
            severities(&copied, scanned),
            [("image-mismatch", Severity::Error)]
        );
    }

    #[test]
    fn the_same_path_in_another_registry_is_a_move_flux_makes_not_another_image() {
        // hmcts/sds-flux-config: the ImageRepository moved registry, the markers were left for
        // Flux to rewrite (fluxcdbot dedda2b1e6 changed only the host).
        let found = compared(
            &marked("sdshmctspublic.azurecr.io/my-time/frontend"),
            "hmctsprod.azurecr.io/my-time/frontend",
        );
        assert_eq!(
            found,
            [(
                "image-name-rewrite",
                Severity::Warning,
                "`sdshmctspublic.azurecr.io/my-time/frontend` is in registry `sdshmctspublic.azurecr.io`, the ImageRepository scans the same path in `hmctsprod.azurecr.io`; Flux moves the image to `hmctsprod.azurecr.io/my-time/frontend` on its next update".to_string()
            )]
        );
        // Docker Hub's names normalise first (`library/`), a port is part of the host, and the
        // `:name` setter writes the name as the full one does.
        for (app, scanned) in [
            (marked("nginx"), "mirror.gcr.io/library/nginx"),
            (marked("docker.io/org/app"), "ghcr.io/org/app"),
            (marked("registry.local:5000/org/app"), "registry.local/org/app"),
            (
                "repository: sdshmctspublic.azurecr.io/my-time/frontend # {\"$imagepolicy\": \"flux-system:app:name\"}\n".to_string(),
                "hmctsprod.azurecr.io/my-time/frontend",
            ),
        ] {
            let found = compared(&app, scanned);
            assert_eq!(found.len(), 1, "{app}: {found:?}");
            assert_eq!(found[0].0, "image-name-rewrite", "{app}: {found:?}");
            assert_eq!(found[0].1, Severity::Warning, "{app}");
            assert!(found[0].2.contains("Flux moves the image"), "{app}: {found:?}");
        }
        // A host in other case is the same registry (DNS ignores case): a spelling only.
        let found = compared(&marked("GHCR.io/org/app"), "ghcr.io/org/app");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "image-name-rewrite");
        assert!(
            found[0].2.contains("Flux writes that spelling"),
            "{found:?}"
        );
    }

    /// Where automations are and none applies the marker, what one would write is said as
    /// such: `marker-outside-automation` says beside it that none does (daodejing/chamo).
    #[test]
    fn what_an_automation_would_write_where_none_applies_the_marker() {
        let objects = objects("ap-osaka-1.ocir.io/org/app").replace("path: ./", "path: ./other");
        for (app, says) in [
            (marked("ghcr.io/org/app"), "an automation applying this marker (none here does) moves the image to `ap-osaka-1.ocir.io/org/app`"),
            (marked("ghcr.io/org/web"), "an automation applying this marker (none here does) would replace it with `ap-osaka-1.ocir.io/org/app`"),
        ] {
            let files = [("app.yaml", app.as_str()), ("policies.yaml", objects.as_str())];
            let found = diagnostics_of(&files, &["image-mismatch", "image-name-rewrite"]);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].message.contains(says), "{found:?}");
        }
    }

    #[test]
    fn another_path_is_another_image_in_any_registry() {
        for (image, scanned) in [
            // Seen beside the move in hmcts/sds-flux-config at dedda2b1e6^.
            (
                "sdshmctspublic.azurecr.io/opal/service-auth-provider",
                "hmctsprod.azurecr.io/opal/service-auth-provider-app",
            ),
            (
                "hmctsprod.azurecr.io/opal/service-auth-provider",
                "hmctsprod.azurecr.io/opal/service-auth-provider-app",
            ),
            // Docker Hub's `library/nginx` is not another registry's `nginx`.
            ("nginx", "quay.io/nginx"),
        ] {
            // Names alike, marked and scanned nowhere else: a warning (see the test above).
            let found = compared(&marked(image), scanned);
            assert_eq!(found.len(), 1, "{image}: {found:?}");
            assert_eq!(found[0].0, "image-mismatch", "{image}: {found:?}");
            assert_eq!(found[0].1, Severity::Warning, "{image}");
        }
    }

    #[test]
    fn a_tag_marker_holds_no_name_to_move() {
        // Flux writes only the tag here; the name beside it is no setter's value, and stays
        // what it is whatever registry the ImageRepository scans: neither rule can say the image
        // differs (nor should it guess from a neighbouring field).
        let app = "repository: sdshmctspublic.azurecr.io/my-time/frontend\n\
                   tag: prod-5badb8c-20260101120000 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
        assert_eq!(compared(app, "hmctsprod.azurecr.io/my-time/frontend"), []);
        assert_eq!(compared(app, "hmctsprod.azurecr.io/other/image"), []);
    }
}
