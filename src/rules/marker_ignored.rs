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
scalar (`|`, `>`), a marker on a key whose value is on the next line or that has no value
(`tag: # {…}`), on a map, a sequence or an alias, part of a multi-line comment block, or hidden
by another comment on the value's line. Also every marker of a file that Flux's image
automation cannot read: one with a document that is a list or a plain value rather than a
mapping (`- name: app`), or whose `metadata` is one, or that holds markers of the long form
(a `$ref` to `io.k8s.cli.setters.ns:policy`) alone: the controller reads only files that hold
`"$imagepolicy"`, before it parses them. And a `:digest` marker on a cluster whose
Flux predates 2.6 (the version as `api-version` reads it).

A copy of the marker Flux does read on that value (same policy, same `:tag`, `:name`,
`:digest` or none) is not reported: Flux updates the value from the other one, and the copy
costs nothing. A marker that names another policy or another setter than the value's is.

## Why it matters in Flux
Flux (through kyaml) reads only the line comment of a scalar value, or its head comment when it
has no line comment. Everywhere else the marker is ignored without a warning. After `key:` with
nothing behind it the comment belongs to the key (yaml.v3), so there is no value to write.
image-automation-controller reads a file with kyaml's `kio.ByteReader`, which annotates every
document; a document that cannot take annotations (a list or a plain value, at the top or as
`metadata`) fails the read, and the controller skips the whole file, its mappings included. A
mapping needs no `apiVersion` or `kind`.

Before Flux 2.6 (image-automation-controller 0.41) there is no `:digest` setter, so such a
marker names nothing.

## Example
```yaml
# {"$imagepolicy": "flux-system:app"}
image: ghcr.io/org/app:1.0.0
```

```yaml
# {"$imagepolicy": "flux-system:app-dev:tag"}
tag: "1.0.0" # {"$imagepolicy": "flux-system:app-prod:tag"}
```
Only the line's marker is read: `app-prod` sets the tag, and the `app-dev` marker is lost.

```yaml
- name: app
  tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
```
The file is a list: Flux never updates it.

## Fix
```yaml
image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
```
A comment directly above a sequence item also works: `# {…}` then `- ghcr.io/org/app:1.0.0`.
A key without value takes the current value (`tag: 1.0.0 # {…}`); a list goes under a key:
```yaml
tags:
  - name: app
    tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
```
When the value has a marker Flux reads already, keep there the one the value should follow
and delete the other. An identical copy is not reported; deleting it only tidies:
```yaml
# {"$imagepolicy": "flux-system:app:tag"}
tag: "1.0.0" # {"$imagepolicy": "flux-system:app:tag"}
```
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for site in cx.markers() {
        let (message, help) = match site.marker.placement {
            // Flux updates the value from the copy it reads: nothing is lost.
            Placement::Ignored(_) if site.marker.repeats_applied() => continue,
            Placement::Ignored(why) => match &site.marker.beside_applied {
                // Moving this marker to the value would drop the one Flux follows now.
                Some(applied) => (
                    format!(
                        "{}; Flux sets this value by `{applied}` instead",
                        why.describe()
                    ),
                    "a value takes one marker: keep the one it should follow where Flux reads \
                     it, and delete the other"
                        .to_string(),
                ),
                None => (why.describe().to_string(), why.advice().to_string()),
            },
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
