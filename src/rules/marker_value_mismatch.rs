//! Rule `marker-value-mismatch`; its documentation is `RULE.docs`.

use super::{Context, Findings, MarkerSite, Rule};
use crate::flux::image::{split_reference, ImageRef};
use crate::report::Severity;
use crate::scan::marker::{Field, MarkedValue, SetterKind, ShapeMismatch};

pub static RULE: Rule = Rule {
    id: "marker-value-mismatch",
    severity: Severity::Error,
    summary: "The marked value does not have the shape the marker replaces",
    docs: r#"## What it catches
A value whose shape does not fit its marker: a `:tag` marker on a value holding an image name, a
`:name` marker on a value with a tag, a `:digest` marker on something that is not a
`sha256:` digest, a full marker on text that is not an image reference, such as a version
(`version: 0.1.8` of a Helm chart or a Giant Swarm App: Flux would write `registry/name:tag`
there; use `:tag`) or any word in a field named for a tag (`tag`, `newTag`, `imageTag`); so
is a full marker on a whole reference in a `tag` or `newTag` (`newTag: org/app:v1.0.3`, what the marker
wrote there at its last update: kustomize or the chart puts it after the image's name, and the
image `org/app:org/app:v1.0.3` cannot be pulled; the owners of three public repositories mended
the value by hand and the automation broke it again), a
`:tag` or `:digest` marker on a container's `image` (in `containers`, `initContainers` or
`ephemeralContainers`, outside a HelmRelease's values), which Kubernetes reads as a whole
reference: Flux writes a bare `1.2.0` there, and the kubelet pulls an image of that name,
whatever the field holds now. A full marker on an untagged image is a warning: Flux adds the
tag, but until then the value means `latest`. So is a full marker on a valid image name whose
tag or digest is malformed (`ghcr.io/org/app:latest@sha-c99c…`, `app:1.0+build`): the value is
the image reference the marker replaces, and the automation overwrites it with a valid one;
until it runs, nothing can pull the image. Other text under a full marker (`KEY=value`, a
command line, a `${TAG}` that `postBuild` substitutes, a `${REGION}-docker.pkg.dev/…` name) stays an
error: Flux would destroy it.
A `:tag` marker on a tag pinned to a digest (`tag: 6.5.0@sha256:…`, which charts such as
app-template take) is a warning too: Flux writes a bare tag, which still resolves, and only the
pin is lost; `--fix` leaves it alone. So is a `:tag` marker on a whole reference in a field named
for a tag (`tag: ghcr.io/org/app:1.2.0`, left over from a full marker the automation wrote with):
the marker fits the field, and its rewrite leaves the bare tag the field needs; until it runs,
the image made of it cannot be pulled. So is a `:name` marker on a whole reference in a field
named for an image's name (`newName: ghcr.io/org/app:1.0.1` beside a `newTag`, a chart's
`repository`): its rewrite leaves the bare name the field needs; a `:tag` marker there is an
error, with the help to mark the name with `:name` and the tag's own field with `:tag`; so is a
`:name` marker on a tag in a field named for a tag (`tag: sha-4500bf8`): Flux writes the image's
name there. A
`:digest` marker on a field named for a digest (`digest`, `imageDigest`, kustomize's
`images[].digest`) that holds a placeholder (`digest: placeholder`) is a warning as well: the
whole value is the digest's place, and the automation writes one there; an empty one
(`digest: ""`) is fine. A full marker on the `name` of a kustomize `images` entry (beside its
`newTag`, `newName` or `digest`, in a kustomization or a Flux Kustomization's `spec.images`) is an
error whatever it holds: kustomize matches container images by that name, and once Flux writes
`name:tag` there the entry matches nothing.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value.
A marker Flux ignores (see `marker-ignored`: after a key with no value, in a file that is a
list, …) writes nothing, and its value is not judged.

## Why it matters in Flux
Flux replaces the whole scalar with the new value, without looking at the old one
(image-automation-controller's setter filter validates nothing it overwrites): a `:tag`
marker on `image: ghcr.io/org/app:1.0` turns the line into `image: 1.1`, and a marker on
`- APP_VERSION=1.0` becomes `- 1.1` (fluxcd/image-automation-controller#96).

## Example
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
```

`check --fix` does not apply such markers (Flux would).

## Fix
Use the marker that matches the value: the full marker for `name:tag`, `:tag` on a field that
holds only the tag, `:name` on a field that holds only the name.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    cx.judge_live_markers(out, |site, value, out| judge(cx, site, value, out));
}

/// The marker's value against the shape its marker replaces.
fn judge(cx: &Context, site: &MarkerSite, value: &MarkedValue, out: &mut Findings) {
    // A whole reference there fits the marker and breaks the field.
    let breaks_the_field = match site.marker.setter.kind {
        SetterKind::Image => matches!(value.field, Field::ImagesEntryName | Field::TagAfterName),
        SetterKind::Name => matches!(value.field, Field::Tag | Field::TagAfterName),
        SetterKind::Tag | SetterKind::Digest => false,
    };
    if !breaks_the_field && fits_as_parsed(cx, site) {
        return;
    }
    let Some(mismatch) = value.mismatch(site.marker.setter.kind) else {
        return;
    };
    let text = value.value.as_str();
    let setter = &site.marker.setter;
    if let ShapeMismatch::NotAnImage(reason) = &mismatch {
        // In a container's `image`, whatever the text, the reference the full marker writes over
        // it is what the field is for.
        let container_image = value.field == Field::ContainerImage;
        let placeholders = reference_with_placeholders(text);
        if site.marker.setter.kind == SetterKind::Image
            && (container_image || placeholders || malformed_reference(text))
        {
            let help = if placeholders {
                "replace the template's placeholders (`<…>`) with the image the ImageRepository scans, and its tag; Flux keeps it up to date"
            } else {
                "write a valid reference (`name:tag`, or `name:tag@sha256:` and 64 hex digits); Flux keeps it up to date"
            };
            out.push_with_severity(
                &RULE,
                Severity::Warning,
                site.file_index,
                value.span,
                format!("`{text}` is not a valid image reference: {reason}; the full marker `{setter}` replaces the whole value, so the automation's next run writes a valid one, but until then the image cannot be pulled"),
                help.to_string(),
            );
            out.at_most(cx.value_ceiling(site));
            return;
        }
    }
    let (message, help): (String, String) = match &mismatch {
        ShapeMismatch::TagOnImage => (
            format!("`{text}` looks like an image reference, but the `:tag` marker `{setter}` replaces the whole value with a bare tag"),
            "use the full marker (no suffix) on `name:tag` values, or move the tag into its own field".into(),
        ),
        ShapeMismatch::ImageInTagField { tag } => (
            format!("`{text}` is a whole image reference in a tag field; the `:tag` marker `{setter}` fits the field and replaces the value with a bare tag on the automation's next run, but until then the image made of it cannot be pulled"),
            format!("write the bare tag (`{tag}`); Flux keeps it up to date"),
        ),
        ShapeMismatch::TagWithDigest => (
            format!("`{text}` is a tag pinned to a digest, and the `:tag` marker `{setter}` replaces the whole value with a bare tag: the image still resolves, but Flux drops the pin"),
            "drop the digest here, or keep it in a field of its own with a `:digest` marker on a policy that reflects digests (`digestReflectionPolicy`); the full marker would write `name:tag` into this tag field".into(),
        ),
        ShapeMismatch::NotATag => (
            format!("`{text}` is not a tag; Flux replaces the whole value, so it would become just the new tag"),
            "put the `:tag` marker on a field that holds only the tag (Flux cannot edit part of a string such as `KEY=value`)".into(),
        ),
        ShapeMismatch::TagOnNameField => (
            format!("`{text}` is an image's name, in a field named for it, but the `:tag` marker `{setter}` replaces it with a bare tag"),
            format!("mark this field with `{{\"$imagepolicy\": \"{}:name\"}}` (or leave it unmarked), and put the `:tag` marker on the field that holds the tag", setter.policy),
        ),
        // 6j0-org/team1-dev's `tag: sha-4500bf8 # {… :name}`: the bot wrote the image's name
        // there, and the owner's fix was `:tag` (it had been told to fix the ImageRepository).
        ShapeMismatch::NameOnTagField => (
            format!("`{text}` is a tag, in a field named for it, but the `:name` marker `{setter}` replaces it with the image's name"),
            format!("mark this field with `{{\"$imagepolicy\": \"{}:tag\"}}`, and put the `:name` marker on the field that holds the image's name, if any", setter.policy),
        ),
        ShapeMismatch::ImageInNameField { name } => (
            format!("`{text}` is a whole image reference in a name field; the `:name` marker `{setter}` fits the field and replaces the value with the bare name on the automation's next run, but until then the image made of it cannot be pulled"),
            format!("write the bare name (`{name}`); Flux keeps it up to date"),
        ),
        ShapeMismatch::NameWithTag => (
            format!("`{text}` carries a tag or digest, but the `:name` marker `{setter}` replaces the whole value with the bare name"),
            "use the full marker (no suffix) on `name:tag` values".into(),
        ),
        // olga-mir/playground's `${REGION}-docker.pkg.dev/${PROJECT_ID}/…`: a reference the
        // cluster completes, which Flux overwrites with the image as that cluster scans it.
        ShapeMismatch::NotAnImage(_) if text.contains("${") => (
            format!("`{text}` holds `${{…}}` variables, which only a Flux Kustomization's `postBuild` fills in; the full marker `{setter}` writes the policy's image over the whole value in git, as the cluster scans it, so the variables are lost (and every cluster that shares this file gets that image)"),
            "keep the variables out of the marked value: a kustomize `images` entry whose `newName` holds them, with the `:tag` marker on its `newTag`; or write the image itself here".into(),
        ),
        ShapeMismatch::NotAnImage(reason) => (
            format!("`{text}` is not an image reference: {reason}"),
            "the full marker writes `name:tag` and the `:name` marker an image name, over the whole value; use `:tag` on fields holding only the tag".into(),
        ),
        ShapeMismatch::NotADigest => (
            format!("`{text}` is not a digest, but the `:digest` marker `{setter}` writes one (`sha256:` and 64 hex digits)"),
            "put the `:digest` marker on a field that holds only the digest".into(),
        ),
        ShapeMismatch::DigestPlaceholder => (
            format!("`{text}` is not a digest; the `:digest` marker `{setter}` replaces the whole value, so the automation's next run writes one, but until then the image cannot be pulled with it"),
            "leave the field empty until the automation fills it, or write the current digest (`sha256:` and 64 hex digits)".into(),
        ),
        // What the full marker wrote into the field (viktorsss/rd-fluxcd-lesson's `newTag`,
        // beingyash/report-server's and AndreiGMX/devops_playground's chart `tag`), which the
        // owners mended by hand and the bot broke again.
        ShapeMismatch::FullImageInTagField { tag } => (
            format!("`{text}` is a whole image reference in a tag field, which kustomize or the chart writes after the image's name (`name:{text}`, an image that cannot be pulled): the full marker `{setter}` writes `name:tag` here at every update"),
            format!("use the `:tag` marker (`{{\"$imagepolicy\": \"{setter}:tag\"}}`) and write the bare tag (`{tag}`), so that Flux writes only the tag"),
        ),
        ShapeMismatch::VersionNotImage | ShapeMismatch::TagNotImage => {
            let image = cx
                .policy_of(site)
                .and_then(|(policy, spec)| cx.workspace.index.repository_of(policy, spec))
                .and_then(|(_, repository)| repository.image.as_ref())
                .map_or("registry/name".to_string(), |image| image.value.to_string());
            let what = if mismatch == ShapeMismatch::TagNotImage {
                "a tag field's value"
            } else {
                "a version"
            };
            (
                format!("`{text}` is {what}, not an image reference: the full marker `{setter}` makes Flux write `{image}:<tag>` into this field"),
                format!("use the `:tag` marker (`{{\"$imagepolicy\": \"{setter}:tag\"}}`) so that Flux writes only the tag"),
            )
        }
        ShapeMismatch::PartForContainerImage => {
            let part = if setter.kind == SetterKind::Digest { "digest" } else { "tag" };
            (
                format!("`{text}` is a container's `image`, which Kubernetes reads as a whole reference (`name:tag`), but the `:{part}` marker `{setter}` writes only a {part} there"),
                format!("use the full marker (`{{\"$imagepolicy\": \"{}\"}}`) and write the whole reference, or move the {part} into a field of its own", setter.policy),
            )
        }
        ShapeMismatch::ImageInImagesEntryName => (
            format!("`{text}` is the `name` kustomize matches container images by: the full marker `{setter}` writes `name:tag` here, after which the entry matches no container and its override stops applying"),
            format!("mark `newTag` with `{{\"$imagepolicy\": \"{}:tag\"}}` (and `newName` with `:name` where the image moves), and leave `name` unmarked", setter.policy),
        ),
        ShapeMismatch::Untagged => (
            format!("`{text}` has no tag, so until Flux writes one it means `latest`"),
            "write the current tag (`name:tag`); Flux will keep it up to date".into(),
        ),
    };
    // A dropped pin still deploys the policy's pick; the marker's value is still no bare tag
    // the other rules could read, nor one `--fix` should rewrite.
    // A value the marker's rewrite mends is wrong until then, not lost.
    let mends = matches!(
        mismatch,
        ShapeMismatch::TagWithDigest
            | ShapeMismatch::ImageInTagField { .. }
            | ShapeMismatch::ImageInNameField { .. }
    );
    let severity = if mismatch.is_destructive() && !mends {
        Severity::Error
    } else {
        Severity::Warning
    };
    out.push_with_severity(&RULE, severity, site.file_index, value.span, message, help);
    out.at_most(cx.value_ceiling(site));
    if mismatch.is_destructive() {
        out.block(site);
    }
}

/// Whether the marker's value, as the rules' facts parsed it, has the shape its marker replaces:
/// a tagged image under the full marker (a version, which `shape_mismatch` looks for first,
/// holds no `:` or `@`, so it parses untagged) or a bare name under `:name`. What
/// `shape_mismatch` would say after parsing the value again.
fn fits_as_parsed(cx: &Context, site: &MarkerSite) -> bool {
    let Some(image) = cx.marked_image(site) else {
        return false;
    };
    let tagged = image.tag.is_some() || image.digest.is_some();
    match site.marker.setter.kind {
        SetterKind::Image => tagged,
        SetterKind::Name => !tagged,
        SetterKind::Tag | SetterKind::Digest => false,
    }
}

/// A value that is an image reference with a malformed tag or digest: a valid image name, then
/// `:tag` and/or `@digest` made only of the characters tags, digests and versions use
/// (`app:latest@sha-c99c…`, `app:1.0+build`, `app@sha256:ABC…`). The full marker replaces such
/// a value with the reference Flux picks, which is what the field is for. Text that is no
/// reference at all (`KEY=value`, `--image=…`, a command line, `${TAG}`, an upper-case or empty
/// name) is not matched: Flux would destroy it.
fn malformed_reference(text: &str) -> bool {
    let (name, tag, digest) = split_reference(text);
    let reference_text = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b':'))
    };
    // A registry host, a port and a lower-case repository path (which `ImageRef::parse` checks).
    let name_text = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':'));
    (tag.is_some() || digest.is_some())
        && tag.is_none_or(reference_text)
        && digest.is_none_or(reference_text)
        && name_text
        && ImageRef::parse(name).is_ok_and(|image| image.tag.is_none() && image.digest.is_none())
        && ImageRef::parse(text).is_err()
}

/// A template's image reference with its placeholders left in
/// (`<your-acct-id>.dkr.ecr.<your-region>.amazonaws.com/nodeapp:1.0.0`, stepanowon's EKS
/// tutorial): a reference once each `<…>` is a word, which the full marker replaces whole.
fn reference_with_placeholders(text: &str) -> bool {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, after)) = rest.split_once('<') {
        let Some((_, after)) = after.split_once('>') else {
            return false;
        };
        filled.push_str(before);
        filled.push('x');
        rest = after;
    }
    filled.push_str(rest);
    filled.len() != text.len() && ImageRef::parse(&filled).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{malformed_reference, reference_with_placeholders};

    #[test]
    fn a_reference_with_placeholders_is_one_once_they_are_filled() {
        for template in [
            "<your-acct-id>.dkr.ecr.<your-region>.amazonaws.com/nodeapp:1.0.0",
            "ghcr.io/<owner>/app:v1",
        ] {
            assert!(reference_with_placeholders(template), "{template}");
        }
        for text in ["ghcr.io/org/app:1.0", "<owner", "KEY=<value>", "<a> <b>"] {
            assert!(!reference_with_placeholders(text), "{text}");
        }
    }
    use crate::report::Severity;
    use crate::rules::diagnostics_of;

    /// A full marker on a kustomize `images` entry's `name` (the schoolofdevops "instavote" Flux
    /// lab): an error before and after Flux writes `name:tag` there. `newTag` takes `:tag`, and
    /// `name` beside no override is no entry kustomize applies.
    #[test]
    fn a_full_marker_on_an_images_entry_name_is_an_error() {
        let objects = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: vote, namespace: flux-system}\nspec: {imageRepositoryRef: {name: vote}, policy: {numerical: {order: asc}}}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: vote, namespace: flux-system}\nspec: {image: schoolofdevops/vote, interval: 5m}\n";
        let found = |images: &str| {
            let kustomization = format!("resources: [policies.yaml]\nimages:\n{images}");
            let files = [
                ("kustomization.yaml", kustomization.as_str()),
                ("policies.yaml", objects),
            ];
            (diagnostics_of(&files, &["marker-value-mismatch"]).into_iter())
                .map(|d| (d.severity, d.line))
                .collect::<Vec<_>>()
        };
        let marker = "# {\"$imagepolicy\": \"flux-system:vote\"}";
        for name in ["schoolofdevops/vote", "schoolofdevops/vote:v9"] {
            let entry = format!("- name: {name} {marker}\n  newTag: v7\n");
            assert_eq!(found(&entry), [(Severity::Error, 3)], "{name}");
        }
        let tag_marker = marker.replace("vote\"}", "vote:tag\"}");
        assert!(found(&format!(
            "- name: schoolofdevops/vote\n  newTag: v7 {tag_marker}\n"
        ))
        .is_empty());
        assert!(found(&format!("- name: schoolofdevops/vote:v7 {marker}\n")).is_empty());
    }

    #[test]
    fn a_valid_name_with_a_malformed_tag_or_digest_is_a_reference() {
        for text in [
            "ghcr.io/ethanreedt/animal-wiki-taxonomy-explorer-backend:latest@sha-c99c115e1055d74b65fa694110a4103e748651ff",
            "ghcr.io/org/app@sha-c99c115e",
            "ghcr.io/org/app:1.0+build.5",
            "ghcr.io/org/app:",
            "localhost:5000/org/app:1.0@sha256:ABCDEF",
            "nginx:1.25@sha256:abc",
        ] {
            assert!(malformed_reference(text), "{text}");
        }
    }

    #[test]
    fn other_text_is_not() {
        for text in [
            "APP_IMAGE=ghcr.io/org/app:1.0",
            "--image=ghcr.io/org/app:1.0",
            "ghcr.io/org/app:1.0 --debug",
            "ghcr.io/org/app:${TAG}",
            "ghcr.io/org/app:{{ .Values.tag }}",
            "ghcr.io/org/app:1.0,ghcr.io/org/db:2.0",
            "ghcr.io/Org/App:1.0@sha-1",
            ":1.0@sha-1",
            "https://ghcr.io/org/app:1.0@sha-1",
            "ghcr.io/org/app",
            "ghcr.io/org/app:1.0",
        ] {
            assert!(!malformed_reference(text), "{text}");
        }
    }
}
