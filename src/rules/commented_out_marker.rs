//! Rule `commented-out-marker`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};

pub static RULE: Rule = Rule {
    id: "commented-out-marker",
    severity: crate::report::Severity::Warning,
    summary: "A commented-out line still carries a marker",
    docs: r#"## What it catches
A commented-out YAML line that carries its own marker, such as an environment's pinned image
left in place under "uncomment to pin", or a marker behind a second `#`:

```yaml
# image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
```

Off by default: a line disabled on purpose is not a fault. Enable it to find the stale copies
(`rules: {commented-out-marker: warning}` in `.flux-image-lint.yaml`).

## Why it matters in Flux
Flux never reads a comment as a value, so the line and its tag are frozen at the day they were
commented out. Uncommenting it later deploys that old tag until the next automation run.

## Example
```yaml
values:
  app:
    # Uncomment to pin this environment to the automated image
    # image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
```

## Fix
Delete the line when nobody needs it any more; when you uncomment it, check the tag first.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (index, file) in cx.files() {
        for disabled in &file.markers.commented_out {
            out.push(
                &RULE,
                index,
                disabled.span,
                "this commented-out line carries a marker; Flux never updates it, so its tag is frozen"
                    .to_string(),
                "delete the line if nobody needs it; before uncommenting it, bring its tag up to date"
                    .to_string(),
            );
        }
    }
}
