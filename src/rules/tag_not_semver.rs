//! Rule `tag-not-semver`; its documentation is `RULE.docs`.

use super::tag_filtered_out::{current_tags, is_build_tag, is_floating, UPGRADE};
use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;
use crate::policy::{parse_tag_version, Outcome, TagGrammar};
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "tag-not-semver",
    severity: crate::report::Severity::Error,
    summary: "Under a semver policy, the current tag is no version the cluster's Flux reads",
    docs: r#"## What it catches
A marker whose current tag (after `extract`) is no version under a `semver` policy, as the
cluster's Flux reads tags. Flux 2.7 (image-reflector-controller 1.0, fluxcd/pkg `version`
v0.10) reads them more loosely than Flux 2.6 and older:

| Flux | a tag is a version when it is | skipped, for example |
|---|---|---|
| up to 2.6 | strict SemVer 2.0 after at most one leading `v`: `MAJOR.MINOR.PATCH`, no leading zeros | `v1.2`, `2022.04.1`, `1.2-rc.1`, `1.0.0-rc.01`, `1.2.3.4`, `V1.2.3` |
| 2.7 and later | three parts when split at its dots, and after at most one leading `v` up to three numbers (leading zeros allowed, a missing one 0) with SemVer's prerelease and build: `2022.04.1` is 2022.4.1, `1.2-rc.1` is 1.2.0-rc.1 | `v1.2`, `1.0.0-rc.01`, `1.2.3.4`, `V1.2.3` |

Which Flux the cluster runs is read from the repository, as `api-version` reads it; when
nothing pins it, the newest is assumed.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value. So it is on a floating tag (no digit:
`latest`, `main`), a placeholder the automation replaces with the policy's pick, and on a value
that only lacks its minor or patch (`1.25`, a release line's moving tag) under a range that
admits versions above the release it names (`1.25.0`): the automation moves it up to the
range's newest, as it does a value below the range (`tag-out-of-range`). Of a floating tag the
message says so, and its help what becomes of it where the registry holds no version the range
admits (only `latest` and commit hashes pushed): the policy selects nothing and the tag stays.
So it is on a build's tag, named by a word and no version (`main-ae8f7fe-1684680718`,
`sha-2f38e4f`), by a development line's word before a version (`develop-version-1.9.4.4039`,
`nightly-1.9.4`), or a bare commit hash (`03b8bae`): a value set before the policy moved to
releases, which the automation replaces with the newest version (`release-1.2.3`, a version spelt
otherwise, stays an error). So it is
on a placeholder that holds a part of four or more zeros (`v1.0.0-0.0000000`, a commit hash
zeroed out), written until the automation's first run replaces it.

## Why it matters in Flux
Flux's semver policy silently skips every value it does not read as a version
(fluxcd/image-reflector-controller#250): the tag you run can never be selected, and if no tag
qualifies the policy has no latest image at all.

## Example
On Flux 2.6 or older:
```yaml
image: ghcr.io/org/app:2022.04.1 # {"$imagepolicy": "flux-system:app"}
```

## Fix
For CalVer with leading zeros, upgrade Flux to 2.7 or later. Otherwise use an `alphabetical` or
`numerical` policy with a `filterTags.pattern` for CalVer or build numbers, or `extract` a
SemVer-shaped part of the tag.
"#,
    check,
};

/// What the message adds, and the help, on a floating tag (`latest`, `main`) under a semver
/// policy: no build's, and no run number or timestamp to order by. Where the registry holds only
/// it and commit hashes (teads-sess-2026/devops-Merge-Conflict-Survivors' CI), the policy picks
/// nothing and the placeholder stays.
const FLOATING_REPLACED: (&str, &str) = (
    "; it is a floating tag, a placeholder the automation replaces with the newest version in range",
    "if the registry holds versions the range admits, nothing is wrong: the automation writes the newest on its next run; if the image is pushed only as this tag (and commit hashes), the policy selects nothing: push version tags, or use a policy over the tags you push (`flux-image-lint explain` shows each tag's fate)",
);

/// What the message adds, and the help, on a build's tag under a semver policy.
const BUILD_REPLACED: (&str, &str) = (
    "; it is a build's tag, which the automation replaces with the newest version in range",
    "if this tag was set before the policy moved to releases, nothing is wrong; if you deploy such builds, use a numerical policy over their run number or timestamp",
);

const PLACEHOLDER_REPLACED: (&str, &str) = (
    "; a part of zeros marks it as a placeholder, which the automation replaces with the newest version in range",
    "if this is a placeholder for the automation's first run, nothing is wrong; if you deploy such tags, make their parts versions SemVer reads",
);

/// A part made of zeros alone, four or more (`v1.0.0-0.0000000`: a commit hash zeroed out), in
/// a tag no semver policy reads: a placeholder written until the automation's first run
/// (Chokchai-Fa/homelab-flux-controller, replaced within minutes each time).
fn zeroed_part(tag: &str) -> Option<&str> {
    tag.split(['.', '-', '_', '+'])
        .find(|part| part.len() >= 4 && part.bytes().all(|b| b == b'0'))
}

/// A numeric identifier of the prerelease with a leading zero (`1.0.0-rc.01`): what SemVer
/// refuses in a tag whose version core Flux reads.
fn prerelease_number_with_leading_zero(tag: &str) -> Option<&str> {
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let tag = tag.split_once('+').map_or(tag, |(version, _)| version);
    let (_, prerelease) = tag.split_once('-')?;
    prerelease.split('.').find(|part| {
        part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit())
    })
}

fn check(cx: &Context, out: &mut Findings) {
    let found = current_tags(cx, out);
    let mut extracts = super::semver_extract::Extracts::default();
    for current in found.iter().filter(|c| c.outcome == Outcome::NotSemver) {
        let Some(compiled) = cx.compiled(current.policy) else {
            continue;
        };
        let Some(grammar) = compiled.tag_grammar() else {
            continue;
        };
        // No tag is a version to that policy: `semver-extract` says so, once, on the policy.
        if let Spec::Policy(spec) = &current.policy.spec {
            if extracts.never_yield_a_version(spec) {
                continue;
            }
        }
        let value = current.extracted.as_deref().unwrap_or(&current.tag);
        let shown = if value == current.tag {
            format!("`{value}`")
        } else {
            format!("`{}` (extracted `{value}`)", current.tag)
        };
        let upgraded = compiled
            .partial_version_admits_above(&current.tag)
            .unwrap_or(false);
        let read_from_2_7 =
            grammar == TagGrammar::Strict && parse_tag_version(value, TagGrammar::Loose).is_some();
        let floating = is_floating(value);
        let build = is_build_tag(value);
        let placeholder = zeroed_part(value);
        let (fate, help) = if upgraded {
            UPGRADE
        } else if floating {
            FLOATING_REPLACED
        } else if build {
            BUILD_REPLACED
        } else if placeholder.is_some() {
            PLACEHOLDER_REPLACED
        } else if read_from_2_7 {
            (
                "",
                "Flux 2.7 and later read it as a version: upgrade Flux, or use an alphabetical or numerical policy with a filter for such tags",
            )
        } else {
            (
                "",
                "use an alphabetical or numerical policy with a filter for such tags, or extract a SemVer part",
            )
        };
        let because = prerelease_number_with_leading_zero(value).map_or(String::new(), |part| {
            format!("; its prerelease part `{part}` is a number with a leading zero, which SemVer forbids")
        });
        out.push(
            &RULE,
            current.file,
            current.span,
            format!(
                "tag {shown} is not a version {} reads ({}){because}, so the semver policy `{}` never considers it{}",
                cx.flux_of(current.policy).tag_grammar_pins(),
                grammar.requirement(),
                current.policy.key(),
                current.fate(fate),
            ),
            help.to_string(),
        );
        out.at_most(current.ceiling);
        if upgraded || floating || build || placeholder.is_some() {
            out.at_most(Severity::Warning);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::report::Severity;
    use crate::rules::diagnostics_of;

    const POLICIES: &str = "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/org/app, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec: {imageRepositoryRef: {name: app}, policy: {semver: {range: '>=1.0.0-0'}}}
";

    /// Unpinned, the newest Flux is assumed: it reads CalVer with leading zeros and a
    /// prerelease of two numbers, and skips what even it cannot read, saying what it wants.
    #[test]
    fn the_newest_flux_skips_only_what_it_cannot_read() {
        let app = "a: ghcr.io/org/app:2025.02.03 # {\"$imagepolicy\": \"flux-system:app\"}
b: ghcr.io/org/app:1.2-rc.1 # {\"$imagepolicy\": \"flux-system:app\"}
c: ghcr.io/org/app:1.0.0-rc.01 # {\"$imagepolicy\": \"flux-system:app\"}
d: ghcr.io/org/app:1.2.3.4 # {\"$imagepolicy\": \"flux-system:app\"}
";
        let files = [("app.yaml", app), ("policies.yaml", POLICIES)];
        let diagnostics = diagnostics_of(&files, &["tag-not-semver"]);
        let found: Vec<(usize, &str)> = (diagnostics.iter())
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        let newest = crate::flux::versions::newest();
        let message = |tag: &str| {
            format!(
                "tag `{tag}` is not a version Flux {newest} (the newest; no Flux version is pinned) reads (`MAJOR.MINOR.PATCH` after at most one `v`, leading zeros allowed), so the semver policy `flux-system:app` never considers it"
            )
        };
        let leading_zero = message("1.0.0-rc.01").replace(
            "), so",
            "); its prerelease part `01` is a number with a leading zero, which SemVer forbids, so",
        );
        assert_eq!(
            found,
            [(3, leading_zero.as_str()), (4, message("1.2.3.4").as_str())]
        );
    }

    /// A tag with a part of zeros (a zeroed hash) is a placeholder the automation replaces:
    /// a warning, where an error stands for a tag of the same shape with a real hash.
    #[test]
    fn a_tag_zeroed_out_is_a_placeholder() {
        let app = "a: ghcr.io/org/app:v1.0.0-0.0000000 # {\"$imagepolicy\": \"flux-system:app\"}
b: ghcr.io/org/app:v1.0.0-0.0123456 # {\"$imagepolicy\": \"flux-system:app\"}
";
        let files = [("app.yaml", app), ("policies.yaml", POLICIES)];
        let found: Vec<(usize, Severity)> = (diagnostics_of(&files, &["tag-not-semver"]).iter())
            .map(|d| (d.line, d.severity))
            .collect();
        assert_eq!(found, [(1, Severity::Warning), (2, Severity::Error)]);
    }

    /// A floating tag is told as a placeholder, not as a build's tag: it has no run number
    /// to order by, and the help says what becomes of it where no version is pushed.
    #[test]
    fn a_floating_tag_is_a_placeholder_not_a_build() {
        let app = "a: ghcr.io/org/app:latest # {\"$imagepolicy\": \"flux-system:app\"}
b: ghcr.io/org/app:sha-2f38e4f # {\"$imagepolicy\": \"flux-system:app\"}
";
        let files = [("app.yaml", app), ("policies.yaml", POLICIES)];
        let diagnostics = diagnostics_of(&files, &["tag-not-semver"]);
        let found: Vec<(usize, Severity, bool, bool)> = (diagnostics.iter())
            .map(|d| {
                let floating = d.message.ends_with("it is a floating tag, a placeholder the automation replaces with the newest version in range");
                let build = d.message.ends_with("it is a build's tag, which the automation replaces with the newest version in range");
                (d.line, d.severity, floating, build)
            })
            .collect();
        assert_eq!(
            found,
            [
                (1, Severity::Warning, true, false),
                (2, Severity::Warning, false, true)
            ]
        );
        assert!(diagnostics[0].help.contains("push version tags"));
    }
}
