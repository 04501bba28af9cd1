//! Rule `invalid-regex`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;
use crate::policy::validate_go_regex;
use foldhash::{HashMap, HashMapExt};
use smol_str::SmolStr;

pub static RULE: Rule = Rule {
    id: "invalid-regex",
    severity: crate::report::Severity::Error,
    summary: "filterTags.pattern or an exclusionList entry that Go's RE2 rejects",
    docs: r#"## What it catches
A `filterTags.pattern` (ImagePolicy) or `exclusionList` entry (ImageRepository) that Go's
`regexp` package rejects: look-around (`(?!…)`, `(?<=…)`), backreferences (`\1`), possessive
or atomic groups, unbalanced brackets, repeat counts over 1000.

## Why it matters in Flux
Flux compiles these with Go's RE2 engine. A pattern it rejects stalls the policy
(`invalid or unsupported Perl syntax`, fluxcd/flux#3562); a bad exclusion stops the repository
scan. Nothing is updated.

## Example
```yaml
filterTags:
  pattern: '^(?!nightly).*$'
```

## Fix
Express it without look-around: anchor what you want instead (`^release-[0-9.]+$`), or use the
repository's `exclusionList` to drop what you do not want.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Policies of a large repository share a few patterns: each is validated once.
    let mut verdicts: HashMap<&str, Result<(), String>> = HashMap::new();
    for object in cx.objects() {
        let patterns: Vec<(&str, &crate::flux::objects::Spanned<SmolStr>)> = match &object.spec {
            // A template's placeholder (`'^${IMAGE_TAG_PATTERN}$'`) is no pattern yet.
            Spec::Policy(spec) if spec.selects_by_unknown_values() => Vec::new(),
            Spec::Policy(spec) => spec
                .filter_pattern
                .iter()
                .map(|p| ("filterTags.pattern", p))
                .collect(),
            Spec::Repository(spec) => spec
                .exclusion_list
                .iter()
                .flatten()
                .map(|p| ("exclusionList entry", p))
                .collect(),
            Spec::Automation(_) => Vec::new(),
        };
        for (what, pattern) in patterns {
            let verdict = verdicts
                .entry(&pattern.value)
                .or_insert_with(|| validate_go_regex(&pattern.value));
            if let Err(reason) = verdict {
                out.push(
                    &RULE,
                    pattern.file(),
                    pattern.span(),
                    format!(
                        "{} `{}`: Go's RE2 rejects its {what}: {reason}",
                        object.kind,
                        object.key()
                    ),
                    help_for(&pattern.value, reason),
                );
            }
        }
    }
}

/// What to do about a pattern RE2 rejects: alternatives written in a character class
/// (testruction/fleet-infra-public's `.*[-rc|-beta|-alpha].*`, where `|-b` is a range running
/// backwards) belong in a group; otherwise what RE2 lacks.
fn help_for(pattern: &str, reason: &str) -> String {
    let class_of_alternatives = pattern.split_once('[').and_then(|(before, rest)| {
        let (class, after) = rest.split_once(']')?;
        class
            .contains('|')
            .then(|| format!("{before}({class}){after}"))
    });
    match class_of_alternatives {
        Some(grouped) if reason.contains("character class") => format!(
            "`[…]` matches one character of a set, in which `|` is itself and `a-b` a range: write alternatives as a group, `{grouped}`"
        ),
        _ => "Flux compiles patterns with Go's regexp (RE2): no look-around or backreferences; anchor what you want with `^…$` instead".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn alternatives_in_a_character_class_are_told_to_be_a_group() {
        let reason = "error parsing regexp: invalid character class range: `|-b`";
        assert!(super::help_for(".*[-rc|-beta|-alpha].*", reason)
            .ends_with("write alternatives as a group, `.*(-rc|-beta|-alpha).*`"));
        let lookahead = "error parsing regexp: invalid or unsupported Perl syntax: `(?!`";
        assert!(super::help_for("^(?!rc)[a-z|]+$", lookahead).contains("no look-around"));
    }
}
