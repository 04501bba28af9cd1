//! Rule `marker-ignored`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::scan::marker::Placement;

pub static RULE: Rule = Rule {
    id: "marker-ignored",
    severity: crate::report::Severity::Error,
    summary: "A valid marker sits where Flux silently ignores it",
    docs: r#"## What it catches
A well-formed marker in a place where Flux does not look: a comment above `key: value` (it
belongs to the key), a marker after a flow collection (`[…]`, `{…}`), text inside a block
scalar (`|`, `>`), a marker on a key whose value is on the next line, on a map, a sequence or an
alias, part of a multi-line comment block, or hidden by another comment on the value's line.

## Why it matters in Flux
Flux (through kyaml) reads only the line comment of a scalar value, or its head comment when it
has no line comment. Everywhere else the marker is ignored without a warning.

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
        if let Placement::Ignored(why) = site.marker.placement {
            out.push(
                &RULE,
                site.file_index,
                site.marker.span,
                format!("Flux ignores this marker: {}", why.describe()),
                why.advice().to_string(),
            );
            out.block(&site);
        }
    }
}
