//! Rule `tag-not-semver`; its documentation is `RULE.docs`.

use super::tag_filtered_out::{current_tags, UPGRADE};
use super::{Context, Findings, Rule};
use crate::policy::Outcome;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "tag-not-semver",
    severity: crate::report::Severity::Error,
    summary: "Under a semver policy, the current tag is not strict SemVer",
    docs: r#"## What it catches
A marker whose current tag (after `extract`) is not strict SemVer 2.0 under a `semver` policy:
`v1.2` (two parts), CalVer with leading zeros (`2022.04.1`), `1.0.0-rc.01`, four-part versions.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value. So it is on a floating tag (no digit:
`latest`, `main`), a placeholder the automation replaces with the policy's pick, and on a value
that only lacks its minor or patch (`1.25`, a release line's moving tag) under a range that
admits versions above the release it names (`1.25.0`): the automation moves it up to the
range's newest, as it does a value below the range (`tag-out-of-range`).

## Why it matters in Flux
Flux's semver policy silently skips every value that is not strict SemVer after removing one
leading `v` (fluxcd/image-reflector-controller#250): the tag you run can never be selected, and
if no tag qualifies the policy has no latest image at all.

## Example
```yaml
image: ghcr.io/org/app:2022.04.1 # {"$imagepolicy": "flux-system:app"}
```

## Fix
Use an `alphabetical` or `numerical` policy with a `filterTags.pattern` for CalVer or build
numbers, or `extract` a SemVer-shaped part of the tag.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let found = current_tags(cx, out);
    for current in found.iter().filter(|c| c.outcome == Outcome::NotSemver) {
        let value = current.extracted.as_deref().unwrap_or(&current.tag);
        let shown = if value == current.tag {
            format!("`{value}`")
        } else {
            format!("`{}` (extracted `{value}`)", current.tag)
        };
        let upgraded = cx
            .compiled(current.policy)
            .and_then(|compiled| compiled.partial_version_admits_above(&current.tag))
            .unwrap_or(false);
        let (consequence, help) = if upgraded {
            UPGRADE
        } else {
            (
                "",
                "use an alphabetical or numerical policy with a filter for such tags, or extract a SemVer part",
            )
        };
        out.push(
            &RULE,
            current.file,
            current.span,
            format!(
                "tag {shown} is not strict SemVer (MAJOR.MINOR.PATCH, no leading zeros), so the semver policy `{}` never considers it{consequence}",
                current.policy.key()
            ),
            help.to_string(),
        );
        out.at_most(current.ceiling);
        if upgraded {
            out.at_most(Severity::Warning);
        }
    }
}
