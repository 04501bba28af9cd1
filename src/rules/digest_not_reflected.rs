//! Rule `digest-not-reflected`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::image::ImageRef;
use crate::scan::marker::SetterKind;

pub static RULE: Rule = Rule {
    id: "digest-not-reflected",
    severity: crate::report::Severity::Error,
    summary: "A digest marker or pinned image whose policy does not reflect digests",
    docs: r#"## What it catches
A `:digest` marker, or a full marker on a value pinned with `@sha256:`, whose ImagePolicy has no
`digestReflectionPolicy` (or `Never`).

## Why it matters in Flux
Without digest reflection the policy's `latestRef` has no digest: Flux writes an empty string
into a `:digest` field, and rewrites a pinned `name:tag@sha256:…` to `name:tag`, dropping the pin.

## Example
```yaml
image: ghcr.io/org/app:1.0.0@sha256:… # {"$imagepolicy": "flux-system:app"}
```
with a policy that does not set `digestReflectionPolicy`.

## Fix
Set `spec.digestReflectionPolicy: IfNotPresent` (or `Always` with an `interval`) on the policy,
or remove the pin.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (site, value) in cx.live_markers(out) {
        let Some((policy, spec)) = cx.policy_of(&site) else {
            continue;
        };
        if spec.reflects_digests() {
            continue;
        }
        let pinned = site.marker.setter.kind == SetterKind::Image
            && ImageRef::parse(&value.value).is_ok_and(|image| image.digest.is_some());
        let message = match site.marker.setter.kind {
            SetterKind::Digest => format!(
                "policy `{}` does not reflect digests, so Flux would write an empty digest here",
                policy.key()
            ),
            _ if pinned => format!(
                "`{}` is pinned to a digest, but policy `{}` does not reflect digests, so Flux would drop the pin",
                value.value,
                policy.key()
            ),
            _ => continue,
        };
        out.push(
            &RULE,
            site.file_index,
            value.span,
            message,
            format!(
                "set `spec.digestReflectionPolicy: IfNotPresent` on ImagePolicy `{}`",
                policy.key()
            ),
        );
    }
}
