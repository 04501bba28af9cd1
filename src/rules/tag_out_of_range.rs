//! Rule `tag-out-of-range`; its documentation is `RULE.docs`.

use super::tag_filtered_out::current_tags;
use super::{Context, Findings, Rule};
use crate::flux::objects::{ChoiceKind, Spec};
use crate::policy::{Outcome, Sides};
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "tag-out-of-range",
    severity: crate::report::Severity::Error,
    summary: "The current tag passes the filter but not the semver range",
    docs: r#"## What it catches
A marker whose current tag is a version as the cluster's Flux reads tags (see
`tag-not-semver`) and passes the filter, but lies outside the policy's `semver.range`,
including a prerelease under a range without a prerelease comparator (`>=1.0.0` never admits
`1.2.0-rc.1`; `>=1.0.0-0` does).

An error when the tag is above the range: every version the range admits is lower, so Flux
would downgrade it; a warning when the range is one version (`5.0.1`): a pin set to roll back.
A warning when the tag is below the range (every version in it is higher: the automation's next
run moves the value up), or in a gap of it or a prerelease of a version in it (an upgrade once
the registry holds a tag in range above it), and on a marker that no ImageUpdateAutomation
applies (see `marker-outside-automation`), since no automation ever writes that value. Which side the tag is on is decided exactly from the range's comparators, whatever
their form (`6.2.x`, `~6.2`, `^6.2.0`, `>=6.2.0`, `<1.0.0 || >=3.0.0`). A range that admits no
version at all (`>2.0.0 <1.0.0`) stays an error: the policy never selects a tag.

## Why it matters in Flux
Flux writes the policy's pick, the newest tag in range, whenever it differs from the value,
without an "only upgrade" check (image-reflector-controller's semver policy never looks at the
value): a tag above the range is silently downgraded to the newest tag inside it, and a tag
below it is upgraded into it.

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
                    (r.value.to_string(), cx.set_by(current.policy, r))
                }),
            _ => (String::new(), String::new()),
        };
        // Flux writes the newest tag in range whatever the value holds (no "only upgrade"
        // check). Below the range every version in it is higher: the automation's next run
        // moves the value up, and nothing fails. Above it every version in range is lower:
        // Flux silently downgrades. Both (a gap, or a prerelease of a version in range): an
        // upgrade once the registry holds a tag in range above the value.
        let compiled = cx.compiled(current.policy);
        let sides = compiled.and_then(|compiled| compiled.range_sides(&current.tag));
        let value = current.extracted.as_deref().unwrap_or(&current.tag);
        let prerelease_hint = if value.contains('-') && !range.contains('-') {
            " (a prerelease passes only a range that names a prerelease, e.g. `>=1.0.0-0`)"
        } else {
            ""
        };
        let (place, outcome, help, intended) = match sides {
            Some(Sides {
                below: false,
                above: true,
            }) => (
                "below",
                "Flux will replace it with the newest tag in range, which is higher: an upgrade".to_string(),
                "the automation's next run writes the newest tag in range; write a tag inside the range to show what will run, or widen the range to keep this one",
                true,
            ),
            Some(Sides {
                below: true,
                above: true,
            }) => (
                "outside",
                "Flux would replace it with the newest tag in range, an upgrade once one above it exists".to_string(),
                "widen the range or pin a tag inside it",
                true,
            ),
            Some(Sides {
                below: false,
                above: false,
            }) => (
                "outside",
                "the range admits no version at all, so the policy never selects a tag (Flux: \"unable to determine latest version from provided list\")".to_string(),
                "fix the range: its comparators exclude each other",
                false,
            ),
            // A range of one version is a pin, set to roll back (KapilYadava/flux-image-updates:
            // "rolling back to 5.0.1"): the downgrade is what it asks for.
            _ => match compiled.and_then(|compiled| compiled.pinned_version()) {
                Some(pinned) => (
                    "above",
                    format!("it admits only `{pinned}`, which Flux will write over it: a rollback"),
                    "if you roll back on purpose, nothing is wrong; otherwise widen the range",
                    true,
                ),
                None => (
                    "above",
                    "Flux would replace it with the newest tag in range, which is lower: a silent downgrade".to_string(),
                    "widen the range or pin a tag inside it",
                    false,
                ),
            },
        };
        out.push(
            &RULE,
            current.file,
            current.span,
            format!(
                "tag `{}` is {place} range `{range}`{set_by} of policy `{}`{prerelease_hint}; {outcome}",
                current.tag,
                current.policy.key(),
            ),
            help.to_string(),
        );
        out.at_most(current.ceiling);
        if intended {
            out.at_most(Severity::Warning);
        }
    }
}
