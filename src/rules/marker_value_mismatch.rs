//! Rule `marker-value-mismatch`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::report::Severity;
use crate::scan::marker::{shape_mismatch, ShapeMismatch};

pub static RULE: Rule = Rule {
    id: "marker-value-mismatch",
    severity: Severity::Error,
    summary: "The marked value does not have the shape the marker replaces",
    docs: r#"## What it catches
A value whose shape does not fit its marker: a `:tag` marker on a value holding an image name, a
`:name` marker on a value with a tag, a `:digest` marker on something that is not a
`sha256:` digest, a full marker on text that is not an image reference, such as a version
(`version: 0.1.8` of a Helm chart or a Giant Swarm App: Flux would write `registry/name:tag`
there; use `:tag`). A full marker on an untagged image is a warning: Flux adds the tag, but until
then the value means `latest`.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value.

## Why it matters in Flux
Flux replaces the whole scalar with the new value, without looking at the old one: a `:tag`
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
    for (site, value) in cx.live_markers(out) {
        let Some(mismatch) = shape_mismatch(site.marker.setter.kind, &value.value) else {
            continue;
        };
        let text = value.value.as_str();
        let setter = &site.marker.setter_text;
        let (message, help): (String, String) = match &mismatch {
            ShapeMismatch::TagOnImage => (
                format!("`{text}` looks like an image reference, but the `:tag` marker `{setter}` replaces the whole value with a bare tag"),
                "use the full marker (no suffix) on `name:tag` values, or move the tag into its own field".into(),
            ),
            ShapeMismatch::NotATag => (
                format!("`{text}` is not a tag; Flux replaces the whole value, so it would become just the new tag"),
                "put the `:tag` marker on a field that holds only the tag (Flux cannot edit part of a string such as `KEY=value`)".into(),
            ),
            ShapeMismatch::NameWithTag => (
                format!("`{text}` carries a tag or digest, but the `:name` marker `{setter}` replaces the whole value with the bare name"),
                "use the full marker (no suffix) on `name:tag` values".into(),
            ),
            ShapeMismatch::NotAnImage(reason) => (
                format!("`{text}` is not an image reference: {reason}"),
                "the full marker replaces `name:tag` and `:name` an image name; use `:tag` on fields holding only the tag".into(),
            ),
            ShapeMismatch::NotADigest => (
                format!("`{text}` is not a digest, but the `:digest` marker `{setter}` writes one (`sha256:` and 64 hex digits)"),
                "put the `:digest` marker on a field that holds only the digest".into(),
            ),
            ShapeMismatch::VersionNotImage => {
                let image = cx
                    .policy_of(&site)
                    .and_then(|(policy, spec)| cx.workspace.index.repository_of(policy, spec))
                    .and_then(|(_, repository)| repository.image.as_ref())
                    .map_or("registry/name".to_string(), |image| image.value.clone());
                (
                    format!("`{text}` is a version, not an image reference: the full marker `{setter}` makes Flux write `{image}:<tag>` into this field"),
                    format!("use the `:tag` marker (`{{\"$imagepolicy\": \"{setter}:tag\"}}`) so that Flux writes only the tag"),
                )
            }
            ShapeMismatch::Untagged => (
                format!("`{text}` has no tag, so until Flux writes one it means `latest`"),
                "write the current tag (`name:tag`); Flux will keep it up to date".into(),
            ),
        };
        let severity = if mismatch.is_destructive() {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push_with_severity(&RULE, severity, site.file_index, value.span, message, help);
        out.at_most(cx.value_ceiling(&site));
        if mismatch.is_destructive() {
            out.block(&site);
        }
    }
}
