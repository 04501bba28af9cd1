//! Rule `marker-syntax`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::report::Severity;
use crate::scan::marker::is_placeholder;

pub static RULE: Rule = Rule {
    id: "marker-syntax",
    severity: crate::report::Severity::Error,
    summary: "A marker attempt that Flux does not accept",
    docs: r#"## What it catches
A marker attempt that Flux does not read as a setter marker: single quotes, a non-string JSON
value, text after the closing `}`, `namespace/name` instead of `namespace:name`, a missing
namespace, an unknown suffix, an empty value, a misspelt key (`$ImagePolicy`, `$imagepolcy`,
`ref`), quotes around the whole object, words before the `{` in the comment of a value
(`# Image Policy {"$imagepolicy": …}`). Also a marker written as the value, without `#`
(`semver: {"$imagepolicy": "apps:app:tag"}`): YAML reads a map there, the object's field holds a
map where it wants a value, and there is no marker at all.

A placeholder left for overlays to fill (`{"$imagepolicy": "REPLACE_WITH_OVERLAY_POLICY"}`:
capitals, digits and `_`, which no ImagePolicy's name can hold) is a warning: it is not a policy
mistyped, and Flux leaves its value alone, which is what a base whose image every overlay
patches wants.

A marker attempt is a comment whose text, after its leading `#`s and spaces, opens an object
(`{`, or a quote then `{`) with the key `$imagepolicy`, a `$ref` to
`#/definitions/io.k8s.cli.setters.…`, or a near miss of either, in any key order. Prose that
mentions `$imagepolicy` is not an attempt (words before a marker count only on a value's own
line, with nothing after the `}`), and neither is a commented-out line carrying its
marker (see `commented-out-marker`).

## Why it matters in Flux
Flux parses the comment as a JSON object of strings; anything else is silently not a marker, so
the image is never updated and nothing tells you.

## Example
```yaml
image: ghcr.io/org/app:1.0.0 # {'$imagepolicy': 'flux-system/app'}
```

## Fix
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
```
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (index, file) in cx.files() {
        for error in &file.markers.syntax_errors {
            // A slot left to fill on purpose, not a policy mistyped.
            let placeholder = error.intended_policy.as_deref().is_some_and(is_placeholder);
            let severity = match placeholder {
                true => Severity::Warning,
                false => RULE.severity,
            };
            out.push_with_severity(
                &RULE,
                severity,
                index,
                error.span,
                error.reason.clone(),
                error.help.clone(),
            );
        }
    }
}
