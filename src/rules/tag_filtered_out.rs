//! Rule `tag-filtered-out`; its documentation is `RULE.docs`. Also owns reading a marker's current
//! tag and classifying it with the policy, shared with `tag-not-semver` and `tag-out-of-range`.

use foldhash::HashSet;
use std::borrow::Cow;

use super::{Context, Findings, MarkerSite, Rule};
use crate::flux::objects::{FluxObject, Spec};
use crate::policy::Outcome;
use crate::report::Severity;
use crate::scan::marker::MarkedValue;
use crate::source::Span;

pub static RULE: Rule = Rule {
    id: "tag-filtered-out",
    severity: crate::report::Severity::Warning,
    summary: "The current tag is dropped by the exclusion list or the tag filter",
    docs: r#"## What it catches
A marked value whose current tag the policy would never select: an `exclusionList` entry of the
ImageRepository matches it, or the policy's `filterTags.pattern` does not.

A warning: Flux replaces the value with the policy's pick, which is what the commit that adopts
a filter or moves a policy to another tag line wants (in the histories of eleven public
repositories, every such tag was replaced, by the automation within minutes in all but one); only where the
tags you deploy all look like this one does the filter keep none of them, and the policy select
nothing, which `status` and `explain` show from the registry's tags.

The message says what the automation makes of the tag: on a floating tag (no digit: `latest`,
`main`), the policy's pick on its next run (this rule and `tag-not-semver`); on a tag the filter
drops only because its version lacks its minor or patch (`1.27-alpine` under
`^(?P<ver>\d+\.\d+\.\d+)-alpine$`) under a semver range that admits versions above the release
it names (`1.27.0`), the next release up its own tag line, as `tag-not-semver` says of `1.27`
when the filter keeps it; on a tag that opens with another word than the pattern
(`manual-2f38e4f` under `^main-(?P<run>[0-9]+)-[a-f0-9]{7}$`; a single letter such as `v` is no
word), or with a word where the pattern's tags open with a digit (`main-319a1be-b41` under
`^(?P<version>\d+\.\d+\.\d+)$`, the commit that moves a policy from builds to releases), a value
set by hand, which the automation replaces with the newest of the filter's tags.

## Why it matters in Flux
Flux replaces the value with whatever the policy picks, so a filter that excludes the tag you
run means the next update jumps to a different tag line (or a `nightly`), and a filter that
matches nothing leaves the policy without a latest image.

## Example
```yaml
image: ghcr.io/hotio/radarr:release-5.2.6.8376 # {"$imagepolicy": "flux-system:radarr"}
```
with `filterTags.pattern: '^release-[0-9]+\.[0-9]+\.[0-9]+$'` (three numbers, the tag has four).

## Fix
Correct the pattern (anchor it with `^…$`) so that it matches the tags you deploy, or change the
tag. Pattern tests (`tests:` in `.flux-image-lint.yaml`) keep it that way.
"#,
    check,
};

/// What a tag rule adds when the automation's replacing a value Flux skips is an upgrade up its
/// own release line, with its help.
pub(super) const UPGRADE: (&str, &str) = (
    "; Flux replaces it with the newest tag in range, an upgrade",
    "write the full version the image runs, or let the automation move it",
);

/// A marker's current tag, classified by its policy.
#[derive(Clone)]
pub(super) struct CurrentTag<'a> {
    pub file: usize,
    pub span: Span,
    pub tag: String,
    pub policy: &'a FluxObject,
    pub outcome: Outcome,
    pub extracted: Option<String>,
    /// The loudest a tag rule may be about this marker.
    pub ceiling: Severity,
    /// Whether an automation here writes the marker (or none exists, and updates come from
    /// elsewhere): what a rule says the automation makes of the value happens only then.
    pub automation_writes: bool,
}

impl CurrentTag<'_> {
    /// What a tag rule adds of the value's fate: `consequence` where an automation writes the
    /// marker; where none here does, that no replacement happens (`marker-outside-automation`
    /// says why).
    pub fn fate<'s>(&self, consequence: &'s str) -> &'s str {
        if self.automation_writes || consequence.is_empty() {
            consequence
        } else {
            "; no automation here writes this marker"
        }
    }
}

/// The current tags of the markers not blocked when they were classified.
pub(super) struct Classified<'a> {
    blocked: HashSet<(usize, usize)>,
    tags: Vec<CurrentTag<'a>>,
}

/// Every unblocked marker's current tag, classified by its policy: worked out once for the
/// rules that ask with the same markers blocked.
pub(super) fn current_tags<'c, 'a>(
    cx: &'c Context<'a>,
    findings: &Findings,
) -> Cow<'c, [CurrentTag<'a>]> {
    let classified = cx.current_tags.get_or_init(|| Classified {
        blocked: findings.blocked_markers.clone(),
        tags: classify(cx, findings),
    });
    if classified.blocked == findings.blocked_markers {
        Cow::Borrowed(&classified.tags)
    } else {
        Cow::Owned(classify(cx, findings))
    }
}

/// On the workspace's threads: the other tag rules wait for it.
fn classify<'a>(cx: &Context<'a>, findings: &Findings) -> Vec<CurrentTag<'a>> {
    let live = cx.live_markers(findings);
    let parts = crate::parallel::map_slices(&live, cx.workspace.jobs, |markers| {
        markers
            .iter()
            .filter_map(|(site, value)| current_tag(cx, site, value))
            .collect::<Vec<_>>()
    });
    crate::parallel::concat(parts)
}

fn current_tag<'a>(
    cx: &Context<'a>,
    site: &MarkerSite<'a>,
    value: &MarkedValue,
) -> Option<CurrentTag<'a>> {
    let tag = cx.marked_tag(site, value)?;
    if tag.is_empty() {
        return None;
    }
    let (policy, _) = cx.policy_of(site)?;
    // None where the selection holds a `${var}`: what it selects is not known.
    let compiled = cx.compiled(policy)?;
    // A floating tag (`latest`, `main`) is a placeholder the automation replaces with the
    // policy's pick on its next run: nothing fails, so a warning at most.
    let written = cx.value_ceiling(site);
    let ceiling = if is_floating(&tag) {
        Severity::Warning
    } else {
        written
    };
    let (outcome, extracted) = compiled.classify_and_extract(&tag);
    Some(CurrentTag {
        file: site.file_index,
        span: value.span,
        outcome,
        extracted,
        ceiling,
        automation_writes: written == Severity::Error,
        tag,
        policy,
    })
}

/// The text every tag a pattern matches starts with, as written after its `^` (`main-` of
/// `^main-(?P<run>[0-9]+)`): letters, digits, `-` and `_`, less a last one a quantifier makes
/// optional (`v` of `^v?[0-9]`). Empty where the pattern opens otherwise (a group, a class, a
/// flag, no anchor).
fn literal_opening(pattern: &str) -> &str {
    let Some(rest) = pattern.strip_prefix('^') else {
        return "";
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    let optional_last = rest[end..].starts_with(['?', '*', '{']);
    let end = if optional_last {
        end.saturating_sub(1)
    } else {
        end
    };
    &rest[..end]
}

/// Whether a pattern's tags open with a digit: after its `^` and any groups it opens, `\d`,
/// `[0-9` or a digit (`^(?P<version>\d+\.\d+\.\d+)$`, `^[0-9]+`).
fn opens_with_digit(pattern: &str) -> bool {
    let Some(mut rest) = pattern.strip_prefix('^') else {
        return false;
    };
    while let Some(inner) = rest.strip_prefix('(') {
        rest = match inner
            .strip_prefix("?P<")
            .or_else(|| inner.strip_prefix("?<"))
        {
            Some(named) => named.split_once('>').map_or(named, |(_, after)| after),
            None => inner.strip_prefix("?:").unwrap_or(inner),
        };
    }
    rest.starts_with("\\d")
        || rest.starts_with("[0-9")
        || rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Whether a tag opens with another word than the filter's opening text (`manual-2f38e4f` under
/// `main-`, not `staging-1.7.5` under `staging-v`), or with a word where the filter's tags open
/// with a digit (`main-319a1be-b41` under `^(?P<version>\d+\.\d+\.\d+)$`): a value of another
/// kind than the tags the filter keeps, not one of their line spelt otherwise. A one-letter
/// opening (`v`) is no word.
fn another_form(tag: &str, opening: &str, opens_with_digit: bool) -> bool {
    let word = |text: &str| -> usize {
        text.find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(text.len())
    };
    let opening_word = &opening[..word(opening)];
    let tag_word = &tag[..word(tag)];
    if opens_with_digit {
        return tag_word.len() > 1;
    }
    opening_word.len() > 1 && tag_word != opening_word
}

/// Whether a tag is a build's, named by a word and no version (`main-ae8f7fe-1684680718`,
/// `sha-2f38e4f`) or by a commit hash (`03b8bae`, humansoftware/example_self_hosted_saas_app;
/// `c37b5aa-1715722721`, tyzbit/fleet-infra): not one of a release line's tags spelt otherwise
/// (`release-1.2.3`), but a value of another kind, set before the policy moved to releases or
/// pasted from a development build.
pub(super) fn is_build_tag(tag: &str) -> bool {
    opens_a_development_line(tag) || is_unversioned_build_tag(tag)
}

/// The words the tags of development builds open with: a tag of such a line is a build's even
/// where it holds a version (`develop-version-1.9.4.4039`, `nightly-1.9.4`), a value set before
/// the policy moved to releases (edgard/home-ops, whose bot wrote `1.12.2` over it a minute
/// after the policy became `semver: 1.x`), not a release line spelt otherwise.
const DEVELOPMENT_LINES: [&str; 12] = [
    "canary",
    "dev",
    "develop",
    "development",
    "edge",
    "main",
    "master",
    "nightly",
    "preview",
    "snapshot",
    "testing",
    "unstable",
];

/// Whether a tag's first word, before a `-`, `_` or `.`, names a development line.
fn opens_a_development_line(tag: &str) -> bool {
    tag.split_once(['-', '_', '.']).is_some_and(|(word, _)| {
        DEVELOPMENT_LINES
            .iter()
            .any(|line| word.eq_ignore_ascii_case(line))
    })
}

/// A build's tag named by a word and no version, or by a commit hash.
fn is_unversioned_build_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let holds_version = bytes
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit());
    let commit_hash = |part: &str| {
        (7..=40).contains(&part.len())
            && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && part.bytes().any(|b| b.is_ascii_lowercase())
    };
    !holds_version && (another_form(tag, "", true) || tag.split(['-', '_']).any(commit_hash))
}

/// A tag without a digit names no version (`latest`, `main`, `stable`): it floats.
pub(super) fn is_floating(tag: &str) -> bool {
    !tag.bytes().any(|b| b.is_ascii_digit())
}

/// What the automation makes of a tag the filter drops.
enum Replacement {
    /// It jumps to the filter's tags, away from the ones in use: a move made on purpose, or a
    /// pattern that is wrong.
    Elsewhere,
    /// It moves the tag up its own line (a version lacking its minor or patch).
    Upgrade,
    /// It replaces a tag set by hand with the newest of the filter's, which open with this.
    SetByHand(String),
}

impl Replacement {
    /// Of a tag the filter `pattern` drops. Set by hand is said only where an automation writes
    /// the value (else it is a warning already).
    fn of(cx: &Context, current: &CurrentTag, pattern: &str) -> Replacement {
        let upgraded = cx
            .compiled(current.policy)
            .and_then(|compiled| compiled.partial_tag_admits_above(&current.tag))
            .unwrap_or(false);
        let opening = literal_opening(pattern);
        if upgraded {
            Replacement::Upgrade
        } else if current.ceiling == Severity::Error
            && another_form(&current.tag, opening, opens_with_digit(pattern))
        {
            Replacement::SetByHand(opening.to_string())
        } else {
            Replacement::Elsewhere
        }
    }

    /// What the message adds.
    fn consequence(&self) -> String {
        match self {
            Replacement::Elsewhere => {
                "; the automation replaces it with the newest tag the policy keeps, if the registry has one".to_string()
            }
            Replacement::Upgrade => UPGRADE.0.to_string(),
            Replacement::SetByHand(opening) if opening.is_empty() => {
                "; the automation replaces it with the newest tag the filter keeps".to_string()
            }
            Replacement::SetByHand(opening) => {
                format!("; the automation replaces it with the newest `{opening}…` tag")
            }
        }
    }

    fn help(&self) -> &'static str {
        match self {
            Replacement::Elsewhere => "if the policy moved to this filter on purpose, nothing is wrong; if you deploy tags like this one, fix the pattern or exclusion list so it admits them (`flux-image-lint explain` shows each tag's fate)",
            Replacement::Upgrade => UPGRADE.1,
            Replacement::SetByHand(_) => "if this tag was set by hand for the automation to replace, nothing is wrong; if you run this tag line, fix the pattern so it admits it (`flux-image-lint explain` shows each tag's fate)",
        }
    }
}

fn check(cx: &Context, out: &mut Findings) {
    for current in current_tags(cx, out).iter() {
        let (message, replacement) = match &current.outcome {
            Outcome::Excluded { pattern } => (
                format!(
                    "tag `{}` is dropped by the ImageRepository's exclusionList entry `{pattern}`, so policy `{}` never selects it",
                    current.tag,
                    current.policy.key()
                ),
                Replacement::Elsewhere,
            ),
            Outcome::FilteredOut => {
                let (pattern, set_by) = match &current.policy.spec {
                    Spec::Policy(spec) => spec
                        .filter_pattern
                        .as_ref()
                        .map_or((String::new(), String::new()), |p| {
                            (p.value.to_string(), cx.set_by(current.policy, p))
                        }),
                    _ => (String::new(), String::new()),
                };
                let replacement = Replacement::of(cx, current, &pattern);
                let message = format!(
                    "tag `{}` does not match `filterTags.pattern` `{pattern}`{set_by} of policy `{}`, so Flux never selects it{}",
                    current.tag,
                    current.policy.key(),
                    current.fate(&replacement.consequence())
                );
                (message, replacement)
            }
            _ => continue,
        };
        let help = replacement.help().to_string();
        out.push(&RULE, current.file, current.span, message, help);
        out.at_most(current.ceiling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_tag_is_named_by_a_word_or_is_a_commit_hash() {
        for build in [
            "main-ae8f7fe-1684680718",
            "sha-2f38e4f",
            "03b8bae",
            "abcdef0",
            "c37b5aa-1715722721",
            "1715722721-c37b5aa",
            "develop-version-1.9.4.4039",
            "nightly-1.9.4",
            "Main_1.2.3",
        ] {
            assert!(is_build_tag(build), "{build}");
        }
        let hash = "03b8bae58322322e354ab75addb33f2996eeac1c";
        assert!(is_build_tag(hash));
        for release in [
            "release-1.2.3",
            "1.2.3",
            "v1.2",
            "1234567",
            "03b8ba",
            "03B8BAE",
            "1.2.3-03b8bae",
            "version-1.9.4",
            "mainline-1.2.3",
        ] {
            assert!(!is_build_tag(release), "{release}");
        }
    }

    #[test]
    fn a_tag_of_another_form_opens_with_another_word() {
        assert!(another_form("manual-2f38e4f", "main-", false));
        assert!(another_form("1.2.3", "main-", false));
        assert!(another_form("v1.2.3", "release-", false));
        assert!(!another_form("staging-1.7.5", "staging-v", false));
        assert!(!another_form("release-5.2.6.8376", "release-", false));
        assert!(!another_form("1.0.0", "v", false));
        assert!(!another_form("manual-2f38e4f", "", false));
        assert!(another_form("main-319a1be-b41", "", true));
        assert!(!another_form("v1.2", "", true));
        assert!(!another_form("1.2", "", true));
        assert!(!another_form("231c24ae6b5f", "", true));
    }

    #[test]
    fn a_pattern_opens_with_a_digit_after_its_anchor_and_groups() {
        for pattern in [
            "^(?P<version>\\d+\\.\\d+\\.\\d+)$",
            "^\\d{4}\\.\\d{2}$",
            "^[0-9]+$",
            "^(?:(?<ts>1)[0-9]+)",
            "^2024",
        ] {
            assert!(opens_with_digit(pattern), "{pattern}");
        }
        for pattern in ["\\d+", "^v?\\d+", "^main-\\d", "^(main|1)", "^[a-z0-9]+"] {
            assert!(!opens_with_digit(pattern), "{pattern}");
        }
    }

    #[test]
    fn a_pattern_opens_with_the_literal_text_after_its_anchor() {
        for (pattern, opening) in [
            ("^main-(?P<run>[0-9]+)-[a-f0-9]{7}$", "main-"),
            ("^release-[0-9]+\\.[0-9]+$", "release-"),
            ("^v?[0-9]+", ""),
            ("^rc_x*", "rc_"),
            ("^ab{2}", "a"),
            ("^v[0-9]+", "v"),
            ("^(main|dev)-[0-9]+", ""),
            ("^[0-9]+", ""),
            ("(?i)^main-", ""),
            ("main-[0-9]+", ""),
            ("^main", "main"),
        ] {
            assert_eq!(literal_opening(pattern), opening, "{pattern}");
        }
    }
}
