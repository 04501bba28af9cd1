//! Rule `unquoted-tag`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::scan::marker::SetterKind;

pub static RULE: Rule = Rule {
    id: "unquoted-tag",
    severity: crate::report::Severity::Warning,
    summary: "A :tag value that YAML reads as a number or boolean",
    docs: r#"## What it catches
A `:tag` marker on a plain (unquoted) value that YAML 1.1 reads as a number, boolean or null:
`1.10`, `10`, `1e3`, `yes`.

## Why it matters in Flux
`tag: 1.10` is the float `1.1` to Kubernetes and Helm, not the tag `1.10`. When Flux rewrites
the value it keeps the old type tag (the kpt#1673 quirk): `tag: 5` updated to `6-alpine`
becomes `tag: !!int 6-alpine`, which fails to apply.

## Example
```yaml
tag: 1.10 # {"$imagepolicy": "flux-system:app:tag"}
```

## Fix
```yaml
tag: "1.10" # {"$imagepolicy": "flux-system:app:tag"}
```
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (site, value) in cx.live_markers(out) {
        if site.marker.setter.kind != SetterKind::Tag || value.is_string {
            continue;
        }
        out.push(
            &RULE,
            site.file_index,
            value.span,
            format!(
                "YAML reads the unquoted tag `{}` as a number or boolean, not a string",
                value.value
            ),
            format!("quote it: `\"{}\"`", value.value),
        );
    }
}
