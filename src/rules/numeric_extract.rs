//! Rule `numeric-extract`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::ChoiceKind;
use crate::policy::{parse_go_float, Outcome};

pub static RULE: Rule = Rule {
    id: "numeric-extract",
    severity: crate::report::Severity::Error,
    summary: "A numerical policy whose filter can yield a non-number",
    docs: r#"## What it catches
A `numerical` policy whose `filterTags.pattern` accepts a tag for which the value after
`extract` is not a number, judged on the tags the repository knows: the pattern tests' tags, the
tags currently deployed, and the `--tags-file` snapshot when given.

## Why it matters in Flux
One value that Go's `ParseFloat` rejects fails the whole policy ("failed to parse invalid numeric
value"): no tag is selected, and nothing updates (fluxcd/image-reflector-controller#143, #340).
An unanchored pattern or an extract that keeps a `-` is the usual cause.

## Example
```yaml
filterTags:
  pattern: 'main-[a-f0-9]+-(?P<ts>[0-9]+)'
  extract: '$ts-build'
policy:
  numerical:
    order: asc
```

## Fix
Anchor the pattern (`^…$`) and extract only digits (`$ts`).
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (object, spec) in cx.policies_of_known_selection() {
        if spec
            .choices
            .first()
            .is_none_or(|c| c.kind != ChoiceKind::Numerical)
            || spec.choices.len() != 1
        {
            continue;
        }
        let Some(compiled) = cx.compiled(object) else {
            continue;
        };
        let key = object.key();
        let tags = cx.known_or_tested_tags(object, spec);
        let offending: Vec<(String, String)> = tags
            .into_iter()
            .filter_map(|tag| match compiled.classify_and_extract(&tag) {
                (Outcome::Excluded { .. }, _) | (_, None) => None,
                (_, Some(value)) => Some((tag, value)),
            })
            .filter(|(_, value)| parse_go_float(value).is_none())
            .collect();
        let Some((tag, value)) = offending.first() else {
            continue;
        };
        let at = Context::value_origin(object, spec);
        // Without `filterTags` there is no pattern to anchor (elifesciences/elife-flux-cluster:
        // the owner moved to a semver policy).
        let help = match spec.filter_pattern {
            Some(_) => "anchor the pattern with `^…$` and extract only the digits",
            None => "add `filterTags` with a `pattern` and an `extract` that yield only digits, or use a `semver` policy for version tags",
        };
        let more = if offending.len() > 1 {
            format!(" (and {} more tags)", offending.len() - 1)
        } else {
            String::new()
        };
        out.push_at(
            &RULE,
            at,
            format!(
                "numerical policy `{key}` turns tag `{tag}` into `{value}`, which is not a number{more}; one such value fails the whole policy"
            ),
            help.to_string(),
        );
    }
}
