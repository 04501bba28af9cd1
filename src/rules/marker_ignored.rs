//! Rule `marker-ignored`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::versions::{Feature, Support};
use crate::scan::marker::{Placement, SetterKind};

pub static RULE: Rule = Rule {
    id: "marker-ignored",
    severity: crate::report::Severity::Error,
    summary: "A valid marker sits where Flux silently ignores it",
    docs: r#"## What it catches
A well-formed marker in a place where Flux does not look: a comment above `key: value` (it
belongs to the key), a marker after a flow collection (`[…]`, `{…}`), text inside a block
scalar (`|`, `>`), a marker on a key whose value is on the next line, on a map, a sequence or an
alias, part of a multi-line comment block, or hidden by another comment on the value's line.
Also a `:digest` marker on a cluster whose Flux predates 2.6 (the version as `api-version`
reads it).

## Why it matters in Flux
Flux (through kyaml) reads only the line comment of a scalar value, or its head comment when it
has no line comment. Everywhere else the marker is ignored without a warning. Before Flux 2.6
(image-automation-controller 0.41) there is no `:digest` setter, so such a marker names nothing.

## Example
```yaml
# {"$imagepolicy": "flux-system:app"}
image: ghcr.io/org/app:1.0.0
```

## Fix
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
```
A comment directly above a sequence item also works: `# {…}` then `- ghcr.io/org/app:1.0.0`.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for site in cx.markers() {
        let (message, help) = match site.marker.placement {
            Placement::Ignored(why) => (why.describe().to_string(), why.advice().to_string()),
            Placement::Applied(_) if site.marker.setter.kind == SetterKind::Digest => {
                let flux = cx.flux_for_file(site.file_index);
                let Some((Support::NotYet { since }, because)) =
                    flux.feature(Feature::DigestMarker)
                else {
                    continue;
                };
                (
                    format!(
                        "{because} has no `:digest` setter (it arrived in Flux {since}){}",
                        flux.upgrade_note()
                    ),
                    "upgrade Flux to 2.6 or later, or pin by tag with the full or `:tag` marker"
                        .to_string(),
                )
            }
            Placement::Applied(_) => continue,
        };
        out.push(
            &RULE,
            site.file_index,
            site.marker.span,
            format!("Flux ignores this marker: {message}"),
            help,
        );
        out.block(&site);
    }
}
