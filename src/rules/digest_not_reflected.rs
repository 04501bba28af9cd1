//! Rule `digest-not-reflected`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::versions::Feature;
use crate::report::Severity;
use crate::scan::marker::SetterKind;

pub static RULE: Rule = Rule {
    id: "digest-not-reflected",
    severity: crate::report::Severity::Error,
    summary: "A digest marker or pinned image whose policy does not reflect digests",
    docs: r#"## What it catches
A `:digest` marker, or a full marker on a value pinned with `@sha256:`, whose ImagePolicy has no
`digestReflectionPolicy` (or `Never`), or whose cluster runs a Flux older than 2.6, which has no
digest reflection (the version as `api-version` reads it).

## Why it matters in Flux
Without digest reflection the policy's `latestRef` has no digest: Flux writes an empty string
into a `:digest` field, and rewrites a pinned `name:tag@sha256:…` to `name:tag`, dropping the pin.
Before Flux 2.6 (image-reflector-controller 0.35) Kubernetes drops `digestReflectionPolicy`.
A `:digest` field that is already empty stays so (Flux writes only what changes): nothing is
lost, but the marker does nothing and the image is pinned by its tag alone, so that is a
warning.

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
        let pinned = site.marker.setter.kind == SetterKind::Image
            && cx
                .marked_image(&site)
                .is_some_and(|image| image.digest.is_some());
        // Only a digest is at stake: most markers carry none.
        if site.marker.setter.kind != SetterKind::Digest && !pinned {
            continue;
        }
        let Some((policy, spec)) = cx.policy_of(&site) else {
            continue;
        };
        let flux = cx.flux_for_object(policy);
        let (reason, help) = match (
            spec.reflects_digests(),
            flux.feature(Feature::DigestReflection),
        ) {
            (true, None) => continue,
            (true, Some((_, because))) => (
                format!(
                    "{because} has no digest reflection (it arrived in Flux 2.6){}",
                    flux.upgrade_note()
                ),
                "upgrade Flux to 2.6 or later, or remove the pin".to_string(),
            ),
            (false, _) => (
                format!("policy `{}` does not reflect digests", policy.key()),
                format!(
                    "set `spec.digestReflectionPolicy: IfNotPresent` on ImagePolicy `{}`",
                    policy.key()
                ),
            ),
        };
        let message = if site.marker.setter.kind == SetterKind::Digest {
            // Flux writes `""` over `""`: no change (JournalDuHacker/fluxcd's production
            // overlays, whose `:tag` markers beside them the bot updates).
            if value.value.is_empty() {
                out.push_with_severity(
                    &RULE,
                    Severity::Warning,
                    site.file_index,
                    value.span,
                    format!("{reason}, so this `:digest` marker leaves the field empty: the image is pinned by its tag alone"),
                    format!("{help}, or delete the marker"),
                );
                continue;
            }
            format!("{reason}, so Flux would write an empty digest here")
        } else {
            format!(
                "`{}` is pinned to a digest, but {reason}, so Flux would drop the pin",
                value.value
            )
        };
        out.push(&RULE, site.file_index, value.span, message, help);
    }
}
