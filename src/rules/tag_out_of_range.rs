//! Rule `tag-out-of-range`; its documentation is `RULE.docs`.

use super::tag_filtered_out::current_tags;
use super::{Context, Findings, Rule};
use crate::flux::objects::{ChoiceKind, Spec};
use crate::policy::Outcome;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "tag-out-of-range",
    severity: crate::report::Severity::Error,
    summary: "The current tag passes the filter but not the semver range",
    docs: r#"## What it catches
A marker whose current tag is strict SemVer and passes the filter, but lies outside the
policy's `semver.range`, including a prerelease under a range without a prerelease comparator
(`>=1.0.0` never admits `1.2.0-rc.1`; `>=1.0.0-0` does).

An error when the range admits nothing above the tag (Flux would downgrade it); a warning when
it does (a tag below the range, or a prerelease of a version in it: the automation's next run
moves it up), and on a marker that no ImageUpdateAutomation applies (see
`marker-outside-automation`), since no automation ever writes that value.

## Why it matters in Flux
Flux writes the policy's pick whenever it differs from the value, without an "only upgrade"
check: a tag above the range is silently downgraded to the newest tag inside it.

## Example
```yaml
image: ghcr.io/org/app:2.1.0 # {"$imagepolicy": "flux-system:app"}
```
with `range: "~1.4"`.

## Fix
Widen the range (Masterminds syntax: `>=1.4.0 <3.0.0`, `^2.0`, `1.x || 2.x`), add `-0` to admit
prereleases, or pin the tag back inside it.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let found = current_tags(cx, out);
    for current in found.iter().filter(|c| c.outcome == Outcome::OutOfRange) {
        let (range, set_by) = match &current.policy.spec {
            Spec::Policy(spec) => spec
                .choices
                .iter()
                .find(|c| c.kind == ChoiceKind::Semver)
                .and_then(|c| c.argument.as_ref())
                .map_or((String::new(), String::new()), |r| {
                    (r.value.clone(), cx.set_by(current.policy, r))
                }),
            _ => (String::new(), String::new()),
        };
        // Below the range (or a prerelease of a version in it), the automation's next run
        // moves the value up to the range: nothing fails. Above it, every version in range is
        // lower and Flux silently downgrades.
        let upgraded = cx
            .compiled(current.policy)
            .and_then(|compiled| compiled.range_admits_above(&current.tag))
            .unwrap_or(false);
        let value = current.extracted.as_deref().unwrap_or(&current.tag);
        let prerelease_hint = if value.contains('-') && !range.contains('-') {
            " (a prerelease passes only a range that names a prerelease, e.g. `>=1.0.0-0`)"
        } else {
            ""
        };
        out.push(
            &RULE,
            current.file,
            current.span,
            format!(
                "tag `{}` is outside range `{range}`{set_by} of policy `{}`{prerelease_hint}; Flux would replace it with the newest tag in range, {}",
                current.tag,
                current.policy.key(),
                if upgraded {
                    "an upgrade"
                } else {
                    "which is lower: a silent downgrade"
                }
            ),
            "widen the range or pin a tag inside it".to_string(),
        );
        out.at_most(current.ceiling);
        if upgraded {
            out.at_most(Severity::Warning);
        }
    }
}
