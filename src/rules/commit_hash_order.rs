//! Rule `commit-hash-order`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::ChoiceKind;
use crate::policy::Outcome;

pub static RULE: Rule = Rule {
    id: "commit-hash-order",
    severity: crate::report::Severity::Warning,
    summary: "An alphabetical policy that orders commit hashes",
    docs: r#"## What it catches
An `alphabetical` policy whose value for a known tag (the tags its markers deploy, its pattern
tests' tags, and the `--tags-file` snapshot when given) is a commit hash: hex digits, 7 to 64 of
them, letters and digits mixed, after at most a fixed word such as `main-` or `sha-`.

## Why it matters in Flux
Flux sorts the values as text. Hashes are random, so the "latest" is whichever build's hash
happens to sort last, not the newest build. Each new build moves the automation forward or back
at random, and most builds are never deployed.

## Example
```yaml
filterTags:
  pattern: '^main-[a-f0-9]{7}$'
policy:
  alphabetical:
    order: asc
```

## Fix
Tag each build with something that grows, and sort by it: CI's run number or a timestamp
(`main-<sha>-<timestamp>`), with `pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'`,
`extract: '$ts'` and a `numerical` policy.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (object, spec) in cx.policies_of_known_selection() {
        // With several choices Flux uses the first of semver > alphabetical > numerical.
        let alphabetical = spec.choices.first().map(|c| c.kind) == Some(ChoiceKind::Alphabetical)
            && spec.choices.len() == 1;
        if !alphabetical {
            continue;
        }
        let Some(compiled) = cx.compiled(object) else {
            continue;
        };
        let key = object.key();
        let tags = cx.known_or_tested_tags(object, spec);
        let hashed = tags
            .into_iter()
            .find_map(|tag| match compiled.classify_and_extract(&tag) {
                (Outcome::Excluded { .. } | Outcome::FilteredOut, _) | (_, None) => None,
                (_, Some(value)) => is_commit_hash_value(&value).then_some((tag, value)),
            });
        let Some((tag, value)) = hashed else {
            continue;
        };
        let at = Context::value_origin(object, spec);
        let example = if value == tag {
            format!("tag `{tag}`")
        } else {
            format!("tag `{tag}` gives `{value}`")
        };
        // `order: desc` picks the lowest (nerif-tafu/flux-cd's bot wrote the first hash in
        // order, and stayed there).
        let descending =
            (spec.choices[0].argument.as_ref()).is_some_and(|order| order.value == "desc");
        let sorts = if descending { "first" } else { "last" };
        out.push_at(
            &RULE,
            at,
            format!(
                "alphabetical policy `{key}` sorts commit hashes ({example}): Flux picks whichever build's hash sorts {sorts}, not the newest build"
            ),
            "sort by something that grows with each build: tag builds `<branch>-<sha>-<timestamp>` and use a `numerical` policy on `extract: '$ts'`; for an image you do not build, follow the version tags its publisher pushes (a `semver` policy)".to_string(),
        );
    }
}

/// A commit hash, alone or after a fixed word (`main-`, `sha-`): 7 to 64 hex digits with both
/// letters and digits, so a number or a word is not one.
fn is_commit_hash_value(value: &str) -> bool {
    let hash = match value.rfind(['-', '_', '.']) {
        Some(at)
            if value[..at]
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_') =>
        {
            &value[at + 1..]
        }
        Some(_) => return false,
        None => value,
    };
    (7..=64).contains(&hash.len())
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && hash.bytes().any(|b| b.is_ascii_digit())
        && hash.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::is_commit_hash_value;

    #[test]
    fn a_hash_alone_or_after_a_word_is_one() {
        for hash in [
            "abc1234",
            "main-0a1b2c3",
            "sha-0123456789abcdef0123456789abcdef01234567",
        ] {
            assert!(is_commit_hash_value(hash), "{hash}");
        }
        for other in [
            "1234567",
            "deadbeef",
            "abc123",
            "20240101-abc1234",
            "1.2.3-abc1234",
            "main-abc1234-1700000000",
            "v1.2.3",
        ] {
            assert!(!is_commit_hash_value(other), "{other}");
        }
    }
}
