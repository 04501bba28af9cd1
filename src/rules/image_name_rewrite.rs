//! Rule `image-name-rewrite`; its documentation is `RULE.docs`.

use super::image_mismatch::compare;
use super::{Context, Findings, Rule};

pub static RULE: Rule = Rule {
    id: "image-name-rewrite",
    severity: crate::report::Severity::Warning,
    summary: "Same image, spelled differently from spec.image: Flux will rewrite the name",
    docs: r#"## What it catches
A full or `:name` marker on the right image spelled differently from the ImageRepository's
`spec.image` (`docker.io/library/nginx` vs `nginx`).

## Why it matters in Flux
Flux writes `spec.image` verbatim, so the first update also changes the name's spelling: a noisy
diff, and tools that match on the exact string (Kustomize `images:`, Renovate) stop matching.

## Example
```yaml
image: docker.io/library/nginx:1.27.0 # {"$imagepolicy": "flux-system:nginx"}
```
with `spec.image: nginx`.

## Fix
Spell the image as `spec.image` does (or change `spec.image`), so updates only touch the tag.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (site, _) in cx.live_markers(out) {
        let Some(comparison) = compare(cx, &site) else {
            continue;
        };
        if !comparison.same_image || comparison.marked == comparison.scanned {
            continue;
        }
        out.push(
            &RULE,
            site.file_index,
            comparison.span,
            format!(
                "`{}` is written `{}` in the ImageRepository; Flux writes that spelling on its next update",
                comparison.marked, comparison.scanned
            ),
            format!("write the image as `{}` here (or change `spec.image`)", comparison.scanned),
        );
    }
}
