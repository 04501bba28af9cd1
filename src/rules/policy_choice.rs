//! Rule `policy-choice`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::{ChoiceKind, Spec};
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "policy-choice",
    severity: crate::report::Severity::Error,
    summary: "Not exactly one of semver / alphabetical / numerical, or a bad order",
    docs: r#"## What it catches
An ImagePolicy whose `spec.policy` sets none or several of `semver`, `alphabetical` and
`numerical`, a `semver` without `range`, or an `order` other than `asc` / `desc`.

`order: desc` is a warning: it picks the lowest value, which over build numbers and timestamps is
the oldest build. Read as "newest first", it makes the automation roll every image back to the
first build the filter keeps. Not where the filter keeps one tag (`^latest$`, whose digest the
automation follows): the order then picks nothing else.

## Why it matters in Flux
With no choice the policy stalls; with several, Flux silently uses the first of semver >
alphabetical > numerical, which may not be the one you meant. The CRD accepts only lowercase
`asc`/`desc` orders.

## Example
```yaml
policy:
  alphabetical:
    order: ascending
```

## Fix
Keep exactly one choice; `order: asc` picks the highest, `desc` the lowest.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let Spec::Policy(spec) = &object.spec else {
            continue;
        };
        let at = spec.policy_key.unwrap_or(object.name.origin());
        match spec.choices.len() {
            0 => out.push_at(
                &RULE,
                at,
                format!("ImagePolicy `{}` sets no `semver`, `alphabetical` or `numerical` policy; Flux stalls it", object.key()),
                "add `policy: {semver: {range: \">=1.0.0\"}}` or another choice".to_string(),
            ),
            1 => {}
            _ => out.push_at(
                &RULE,
                spec.choices[1].key,
                format!("ImagePolicy `{}` sets several policy choices; Flux uses only the first of semver > alphabetical > numerical", object.key()),
                "keep exactly one of `semver`, `alphabetical`, `numerical`".to_string(),
            ),
        }
        for choice in &spec.choices {
            match (choice.kind, &choice.argument) {
                (ChoiceKind::Semver, None) => out.push_at(
                    &RULE,
                    choice.key,
                    "`semver` needs a `range`".to_string(),
                    "add `range: \">=1.0.0\"` (Masterminds/semver syntax)".to_string(),
                ),
                (ChoiceKind::Alphabetical | ChoiceKind::Numerical, Some(order))
                    if order.value != "asc" && order.value != "desc" =>
                {
                    out.push(
                        &RULE,
                        order.file(),
                        order.span(),
                        format!("`order: {}` is not `asc` or `desc`", order.value),
                        "`asc` picks the highest value, `desc` the lowest".to_string(),
                    )
                }
                // Over a filter that keeps one tag (`^latest$`, followed by its digest) the
                // order picks nothing else (Justin-De-Sio/homelab, whose bot wrote thirty digest
                // updates under `desc`).
                (ChoiceKind::Alphabetical | ChoiceKind::Numerical, Some(order))
                    if order.value == "desc"
                        && !(spec.filter_pattern.as_ref())
                            .is_some_and(|pattern| admits_one_tag(&pattern.value)) =>
                {
                    out.push_with_severity(
                        &RULE,
                        Severity::Warning,
                        order.file(),
                        order.span(),
                        format!(
                            "`order: desc` makes ImagePolicy `{}` pick the lowest value its filter keeps: over build numbers or timestamps that is the oldest build, and the automation rolls images back to it",
                            object.key()
                        ),
                        "write `order: asc` to pick the newest (the highest value); keep `desc` only where the lowest value is the one to run".to_string(),
                    )
                }
                _ => {}
            }
        }
    }
}

/// Whether a `filterTags.pattern` admits one tag alone: `^…$` around letters, digits, `-`, `_`
/// and escaped dots (`^latest$`, `^v1\.2$`).
fn admits_one_tag(pattern: &str) -> bool {
    let Some(literal) = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')) else {
        return false;
    };
    let literal = literal.replace("\\.", "");
    !literal.is_empty()
        && (literal.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::admits_one_tag;
    use crate::rules::diagnostics_of;

    /// `order: desc` is warned of where the filter keeps several tags, not where it keeps one.
    #[test]
    fn descending_order_is_moot_over_one_tag() {
        let policy = |pattern: &str| {
            format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {{name: app, namespace: flux-system}}\nspec:\n  imageRepositoryRef: {{name: app}}\n  filterTags: {{pattern: '{pattern}'}}\n  policy: {{alphabetical: {{order: desc}}}}\n")
        };
        let warned = |pattern: &str| {
            let text = policy(pattern);
            diagnostics_of(&[("policy.yaml", text.as_str())], &["policy-choice"]).len()
        };
        assert_eq!(warned("^latest$"), 0);
        assert_eq!(warned("^main-[0-9]+$"), 1);
        assert!(admits_one_tag("^v1\\.2$"));
        assert!(!admits_one_tag("^v1.2$"));
        assert!(!admits_one_tag("latest"));
        assert!(!admits_one_tag("^$"));
    }
}
