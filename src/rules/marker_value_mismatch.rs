//! Rule `marker-value-mismatch`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::image::{is_valid_digest, is_valid_tag, ImageRef};
use crate::report::Severity;
use crate::scan::marker::SetterKind;

pub static RULE: Rule = Rule {
    id: "marker-value-mismatch",
    severity: Severity::Error,
    summary: "The marked value does not have the shape the marker replaces",
    docs: r#"## What it catches
A value whose shape does not fit its marker: a `:tag` marker on a value holding an image name, a
`:name` marker on a value with a tag, a `:digest` marker on something that is not a
`sha256:` digest, a full marker on text that is not an image reference. A full marker on an
untagged image is a warning: Flux adds the tag, but until then the value means `latest`.

## Why it matters in Flux
Flux replaces the whole scalar with the new value, without looking at the old one: a `:tag`
marker on `image: ghcr.io/org/app:1.0` turns the line into `image: 1.1`, and a marker on
`- APP_VERSION=1.0` becomes `- 1.1` (fluxcd/image-automation-controller#96).

## Example
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
```

## Fix
Use the marker that matches the value: the full marker for `name:tag`, `:tag` on a field that
holds only the tag, `:name` on a field that holds only the name.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for site in cx.markers() {
        let Some(value) = site.value() else { continue };
        if out.is_blocked(&site) {
            continue;
        }
        let text = value.value.as_str();
        let setter = &site.marker.setter_text;
        let problem = match site.marker.setter.kind {
            SetterKind::Tag if text.contains(['/', ':', '@']) => Some((
                Severity::Error,
                format!("`{text}` looks like an image reference, but the `:tag` marker `{setter}` replaces the whole value with a bare tag"),
                "use the full marker (no suffix) on `name:tag` values, or move the tag into its own field".to_string(),
            )),
            SetterKind::Tag if !text.is_empty() && !is_valid_tag(text) => Some((
                Severity::Error,
                format!("`{text}` is not a tag; Flux replaces the whole value, so it would become just the new tag"),
                "put the `:tag` marker on a field that holds only the tag (Flux cannot edit part of a string such as `KEY=value`)".to_string(),
            )),
            SetterKind::Name => match ImageRef::parse(text) {
                Ok(image) if image.tag.is_some() || image.digest.is_some() => Some((
                    Severity::Error,
                    format!("`{text}` carries a tag or digest, but the `:name` marker `{setter}` replaces the whole value with the bare name"),
                    "use the full marker (no suffix) on `name:tag` values".to_string(),
                )),
                Ok(_) => None,
                Err(error) => Some((Severity::Error, format!("`{text}` is not an image name: {error}"), "the `:name` marker replaces an image name such as `ghcr.io/org/app`".to_string())),
            },
            SetterKind::Digest if !is_valid_digest(text) => Some((
                Severity::Error,
                format!("`{text}` is not a digest, but the `:digest` marker `{setter}` writes one (`sha256:` and 64 hex digits)"),
                "put the `:digest` marker on a field that holds only the digest".to_string(),
            )),
            SetterKind::Image => match ImageRef::parse(text) {
                Err(error) => Some((
                    Severity::Error,
                    format!("`{text}` is not an image reference: {error}"),
                    "the full marker replaces `name:tag`; use `:tag` or `:name` on fields holding only one part".to_string(),
                )),
                Ok(image) if image.tag.is_none() && image.digest.is_none() => Some((
                    Severity::Warning,
                    format!("`{text}` has no tag, so until Flux writes one it means `latest`"),
                    "write the current tag (`name:tag`); Flux will keep it up to date".to_string(),
                )),
                Ok(_) => None,
            },
            _ => None,
        };
        if let Some((severity, message, help)) = problem {
            out.push_with_severity(&RULE, severity, site.file_index, value.span, message, help);
            if severity == Severity::Error {
                out.block(&site);
            }
        }
    }
}
