//! Rule `invalid-range`; its documentation is `RULE.docs`.

use foldhash::{HashMap, HashMapExt};

use super::{Context, Findings, Rule};
use crate::flux::objects::ChoiceKind;
use crate::policy::validate_range;

pub static RULE: Rule = Rule {
    id: "invalid-range",
    severity: crate::report::Severity::Error,
    summary: "A semver range Masterminds/semver rejects",
    docs: r#"## What it catches
A `policy.semver.range` that Masterminds/semver v3 (the library Flux uses) cannot parse:
`==1.0`, `>=1.0,` (dangling comma), `1.0.0.0`, `latest`, an empty range, `1.0 ||`.

## Why it matters in Flux
The policy stalls with "invalid semver range" and never selects a tag.

## Example
```yaml
policy:
  semver:
    range: "==1.25"
```

## Fix
Use Masterminds syntax: `1.25.x`, `~1.25`, `>=1.25.0 <1.26.0`, `^1.25`, `1.x || 2.x`.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Many policies share a range: each is parsed once.
    let mut validated: HashMap<&str, Result<(), String>> = HashMap::new();
    for (object, spec) in cx.policies_of_known_selection() {
        for choice in spec.choices.iter().filter(|c| c.kind == ChoiceKind::Semver) {
            let Some(range) = &choice.argument else {
                continue;
            };
            let validation = validated
                .entry(range.value.as_str())
                .or_insert_with(|| validate_range(&range.value));
            if let Err(reason) = validation {
                out.push(
                    &RULE,
                    range.file(),
                    range.span(),
                    format!("range `{}` of policy `{}` is invalid: {reason}", range.value, object.key()),
                    "use Masterminds/semver syntax, e.g. `>=1.2.0 <2.0.0`, `~1.2`, `^1.2`, `1.x || 2.x`".to_string(),
                );
            }
        }
    }
}
