//! Rule `image-name-rewrite`; its documentation is `RULE.docs`.

use super::image_mismatch::{compare, Relation};
use super::{Context, Findings, Rule};

pub static RULE: Rule = Rule {
    id: "image-name-rewrite",
    severity: crate::report::Severity::Warning,
    summary: "Same image, spelled differently or in another registry than spec.image: Flux will rewrite the name",
    docs: r#"## What it catches
A full or `:name` marker on the right image written otherwise than the ImageRepository's
`spec.image`:

- spelled differently: `docker.io/library/nginx` vs `nginx`, or a registry host in other case;
- in another registry: the same repository path under another host (or port), as when the
  ImageRepository moved to a new registry or a mirror (`old.example.com/org/app` vs
  `new.example.com/org/app`, `nginx` vs `mirror.gcr.io/library/nginx`). A different path is
  another image, an `image-mismatch` error.

## Why it matters in Flux
Flux writes `spec.image` verbatim, so the first update also changes the name: a noisy diff, and
tools that match on the exact string (Kustomize `images:`, Renovate) stop matching. In another
registry, that update moves the image there, with the tag the policy picks among that registry's
tags: what you want when you moved the ImageRepository and leave the markers for Flux to rewrite,
a surprise when `spec.image` names the wrong registry.

## Example
```yaml
image: docker.io/library/nginx:1.27.0 # {"$imagepolicy": "flux-system:nginx"}
```
with `spec.image: nginx`.

## Fix
Write the image as `spec.image` does (or change `spec.image`), so updates only touch the tag.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (site, _) in cx.live_markers(out) {
        let Some(comparison) = compare(cx, &site) else {
            continue;
        };
        let (message, help) = match comparison.relation {
            Relation::OtherImage => continue,
            Relation::SameImage if comparison.marked == comparison.scanned => continue,
            Relation::SameImage => (
                format!(
                    "`{}` is written `{}` in the ImageRepository; {} writes that spelling on its next update",
                    comparison.marked,
                    comparison.scanned,
                    cx.next_writer(&site)
                ),
                format!(
                    "write the image as `{}` here (or change `spec.image`)",
                    comparison.scanned
                ),
            ),
            Relation::OtherRegistry => (
                format!(
                    "`{}` is in registry `{}`, the ImageRepository scans the same path in `{}`; {} moves the image to `{}` on its next update",
                    comparison.marked,
                    comparison.marked_registry,
                    comparison.scanned_registry,
                    cx.next_writer(&site),
                    comparison.scanned
                ),
                format!(
                    "if the image moved to `{}`, write `{}` here (or leave it to Flux); if not, fix the registry in `spec.image`",
                    comparison.scanned_registry, comparison.scanned
                ),
            ),
        };
        out.push(&RULE, site.file_index, comparison.span, message, help);
    }
}
