//! Rule `image-mismatch`; its documentation is `RULE.docs`. Also owns the comparison of a marked
//! image with the one its policy's ImageRepository scans, shared with `image-name-rewrite`.

use super::{Context, Findings, MarkerSite, Rule};
use crate::flux::image::ImageRef;
use crate::report::Severity;
use crate::scan::marker::SetterKind;
use crate::source::Span;

pub static RULE: Rule = Rule {
    id: "image-mismatch",
    severity: crate::report::Severity::Error,
    summary: "The marked image is not the one the policy's ImageRepository scans",
    docs: r#"## What it catches
A full or `:name` marker on an image whose canonical name (`nginx` = `docker.io/library/nginx` =
`index.docker.io/library/nginx`; `host:port` kept) differs from the `spec.image` of the
ImageRepository behind the policy.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value.

## Why it matters in Flux
Flux does not compare names: it writes `spec.image:tag` over the value, so a marker copied from
another container silently replaces the image with a different one.

## Example
```yaml
image: ghcr.io/org/worker:1.0.0 # {"$imagepolicy": "flux-system:app"}
```
where the policy `app` scans `ghcr.io/org/app`.

## Fix
Point the marker at the policy for this image (create one if needed).
"#,
    check,
};

/// How a marked image relates to the image its policy scans.
pub(super) struct Comparison<'c> {
    pub span: Span,
    pub marked: &'c str,
    pub scanned: &'c str,
    pub same_image: bool,
}

pub(super) fn compare<'c>(cx: &'c Context, site: &MarkerSite) -> Option<Comparison<'c>> {
    let value = site.value()?;
    if !matches!(
        site.marker.setter.kind,
        SetterKind::Image | SetterKind::Name
    ) {
        return None;
    }
    let (policy, spec) = cx.policy_of(site)?;
    let (_, repository) = cx.workspace.index.repository_of(policy, spec)?;
    let scanned = repository.image.as_ref()?;
    let scanned_ref = ImageRef::parse(&scanned.value).ok()?;
    let marked_ref = cx.marked_image(site)?;
    Some(Comparison {
        span: value.span,
        // The canonical names compared part by part: a registry holds no `/`.
        same_image: marked_ref.registry == scanned_ref.registry
            && marked_ref.repository == scanned_ref.repository,
        marked: &marked_ref.written_name,
        scanned: &scanned.value,
    })
}

fn check(cx: &Context, out: &mut Findings) {
    for (site, _) in cx.live_markers(out) {
        let Some(comparison) = compare(cx, &site) else {
            continue;
        };
        if comparison.same_image {
            continue;
        }
        out.push(
            &RULE,
            site.file_index,
            comparison.span,
            format!(
                "`{}` is not the image policy `{}` follows (its ImageRepository scans `{}`); Flux would replace it with `{}`",
                comparison.marked, site.marker.setter.policy, comparison.scanned, comparison.scanned
            ),
            "point the marker at the policy for this image, or fix the ImageRepository's `spec.image`".to_string(),
        );
        let ceiling = cx.value_ceiling(&site);
        out.at_most(ceiling);
        // A marker no automation writes keeps its `marker-outside-automation` warning: it is why
        // the mismatch does no harm today.
        if ceiling == Severity::Error {
            out.block(&site);
        }
    }
}
