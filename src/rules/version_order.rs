//! Rule `version-order`; its documentation is `RULE.docs`.

use std::cmp::Ordering;

use super::{Context, Findings, Rule};
use crate::flux::objects::ChoiceKind;
use crate::policy::Outcome;

pub static RULE: Rule = Rule {
    id: "version-order",
    severity: crate::report::Severity::Warning,
    summary: "An alphabetical or numerical policy picks an older version than a known tag",
    docs: r#"## What it catches
An `alphabetical` or `numerical` policy that, among the tags the repository knows (the tags its
markers deploy, its pattern tests' `accept` lists, and the `--tags-file` snapshot when given),
picks a tag whose version is lower than another candidate's when the numbers inside the tags are
compared as numbers.

On a marker that no ImageUpdateAutomation applies (see `marker-outside-automation`) this is a
warning at most: no automation ever writes that value.

## Why it matters in Flux
`alphabetical` compares bytes, so `release-4.0.9` sorts above `release-4.0.16` ("9" > "1"), and
`numerical` compares decimals, so `18.6` beats `18.10`. Flux then writes the older image, a
silent downgrade, and keeps it there until the digit counts line up again
(fluxcd/image-reflector-controller#145). hotio-style `release-<version>` tags are the usual case.

## Example
```yaml
filterTags:
  pattern: '^release-[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
policy:
  alphabetical:
    order: asc
```
with tags `release-4.0.9.2244` and `release-4.0.16.2944`: Flux picks `release-4.0.9.2244`.

## Fix
Use a `semver` policy and `extract` a SemVer value from the tag, e.g. pattern
`^release-(?P<v>[0-9]+\.[0-9]+\.[0-9]+)\.(?P<b>[0-9]+)$`, `extract: '$v-$b'` with a range that
admits it (`>=4.0.0-0`), or zero-padded tags where you control them.
"#,
    check,
};

/// Compares digit runs as numbers and everything else as bytes (`4.0.9` < `4.0.16`).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (ra, rb) = (run(a), run(b));
                let (da, db) = (&a[..ra], &b[..rb]);
                let trim = |d: &'_ [u8]| {
                    let zeros = d.iter().take_while(|&&c| c == b'0').count();
                    d[zeros.min(d.len().saturating_sub(1))..].to_vec()
                };
                let (ta, tb) = (trim(da), trim(db));
                let order = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(&tb));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[ra..];
                b = &b[rb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn check(cx: &Context, out: &mut Findings) {
    for (object, spec) in cx.policies_of_known_selection() {
        // With several choices Flux uses semver first; only a lone alphabetical or numerical
        // choice orders tags this way.
        let Some(choice) = spec.choices.first().filter(|_| spec.choices.len() == 1) else {
            continue;
        };
        if choice.kind == ChoiceKind::Semver {
            continue;
        }
        let Some(compiled) = cx.compiled(object) else {
            continue;
        };
        let tags: Vec<String> = cx.known_tags(object, spec).into_iter().collect();
        let evaluation = compiled.evaluate(&tags);
        let Some(picked) = evaluation.latest else {
            continue;
        };
        let value_of = |tag: &str| {
            evaluation
                .candidates
                .iter()
                .find(|c| c.tag == tag)
                .and_then(|c| c.extracted.clone())
                .unwrap_or_else(|| tag.to_string())
        };
        let descending = choice.argument.as_ref().is_some_and(|o| o.value == "desc");
        let picked_value = value_of(&picked);
        let better = evaluation
            .candidates
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Candidate))
            .filter_map(|c| Some((c.tag.as_str(), c.extracted.as_deref()?)))
            .filter(|(_, value)| {
                let order = natural_cmp(value, &picked_value);
                if descending {
                    order == Ordering::Less
                } else {
                    order == Ordering::Greater
                }
            })
            .max_by(|a, b| {
                let order = natural_cmp(a.1, b.1);
                if descending {
                    order.reverse()
                } else {
                    order
                }
            });
        let Some((newer, _)) = better else { continue };
        // The older pick reaches the cluster only through markers an automation applies. A
        // marker's namespace and name hold no `:`, so comparing them is comparing the key.
        let ceiling = cx
            .markers()
            .filter(|site| {
                let named = &site.marker.setter.policy;
                named.namespace == object.namespace && named.name == object.name.value
            })
            .map(|site| cx.value_ceiling(&site))
            .min()
            .unwrap_or(crate::report::Severity::Error);
        let how = if choice.kind == ChoiceKind::Alphabetical {
            "compares the tags as text"
        } else {
            "compares the values as decimal numbers"
        };
        let at = spec
            .filter_pattern
            .as_ref()
            .map_or(choice.key, |p| p.origin());
        out.push_at(
            &RULE,
            at,
            format!(
                "policy `{}` picks `{picked}` over the newer `{newer}`: {} {how}",
                object.key(),
                if choice.kind == ChoiceKind::Alphabetical { "alphabetical order" } else { "numerical order" },
            ),
            "use a semver policy with `extract` (see `flux-image-lint rule version-order`), or tags whose numbers have a fixed width".to_string(),
        );
        out.at_most(ceiling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        assert_eq!(
            natural_cmp("release-4.0.9.2244", "release-4.0.16.2944"),
            Ordering::Less
        );
        assert_eq!(natural_cmp("18.6", "18.10"), Ordering::Less);
        assert_eq!(
            natural_cmp("RELEASE.2025-01-20", "RELEASE.2024-12-18"),
            Ordering::Greater
        );
        assert_eq!(natural_cmp("v01", "v1"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "b"), Ordering::Less);
    }
}
