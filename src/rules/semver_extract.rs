//! Rule `semver-extract`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::{ChoiceKind, PolicySpec, Spanned};
use crate::policy::extract::Template;
use crate::policy::goregex::GoRegex;
use foldhash::HashMap;
use smol_str::SmolStr;

pub static RULE: Rule = Rule {
    id: "semver-extract",
    severity: crate::report::Severity::Error,
    summary: "A semver policy whose extract never yields a version",
    docs: r#"## What it catches
A `semver` policy whose `filterTags.extract` can only produce values with fewer than two dots:
the template's own text holds at most one, and every group it names matches no `.` (`\d+`,
`[a-z]+`, `\w+`). `extract: '$major.$minor'` under `pattern: '^v(?P<major>\d+)\.(?P<minor>\d+)$'`
is the common case.

## Why it matters in Flux
image-reflector-controller reads each extracted value as a version, and every Flux reads a
version as three parts at the dots: `MAJOR.MINOR.PATCH` (strict SemVer up to Flux 2.6; from 2.7,
fluxcd/pkg `version.ParseVersion` splits at the dots and needs three parts before coercing). A
value such as `1.4` is never a version, so no tag ever is: the policy fails with "unable to
determine latest version from provided list" and no marker on it is ever updated.

## Example
```yaml
filterTags:
  pattern: '^v(?P<major>\d+)\.(?P<minor>\d+)$'
  extract: '$major.$minor'
policy:
  semver:
    range: '>=1.0.0'
```

## Fix
Complete the version in the template (`$major.$minor.0`), or capture all three numbers.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let mut extracts = Extracts::default();
    for (object, spec) in cx.policies_of_known_selection() {
        let Some((dots, extract)) = extracts.too_few_dots(spec) else {
            continue;
        };
        let values = if dots == 0 {
            "values without a dot"
        } else {
            "values with at most one dot"
        };
        out.push_at(
            &RULE,
            extract.origin(),
            format!(
                "`extract: {}` of semver policy `{}` yields {values} (the groups it names match no `.`), and Flux reads a version as `MAJOR.MINOR.PATCH`: no tag is ever a version, so the policy selects none (\"unable to determine latest version from provided list\")",
                extract.value,
                object.key()
            ),
            "complete the version in the template (`$major.$minor.0`), or capture all three numbers".to_string(),
        );
    }
}

/// The verdicts on semver policies' `extract`, each pattern and template judged once: policies
/// share a few of them, and `tag-not-semver` asks for every marker on such a policy.
#[derive(Default)]
pub(super) struct Extracts<'a> {
    judged: HashMap<(&'a str, &'a str), Option<usize>>,
}

impl<'a> Extracts<'a> {
    /// Whether a semver policy's `extract` never yields a version: what this rule reports,
    /// which says all there is about the tags of its markers.
    pub(super) fn never_yield_a_version(&mut self, spec: &'a PolicySpec) -> bool {
        self.too_few_dots(spec).is_some()
    }

    /// The most dots a semver policy's `extract` yields, with the `extract`, when fewer than a
    /// version needs.
    fn too_few_dots(&mut self, spec: &'a PolicySpec) -> Option<(usize, &'a Spanned<SmolStr>)> {
        let (pattern, extract) = semver_extract(spec)?;
        let dots = *self
            .judged
            .entry((pattern, &extract.value))
            .or_insert_with(|| most_dots(pattern, &extract.value));
        dots.filter(|&dots| dots < 2).map(|dots| (dots, extract))
    }
}

/// The pattern and `extract` of a policy whose one choice is `semver` (an empty `extract` keeps
/// the tag whole).
fn semver_extract(spec: &PolicySpec) -> Option<(&str, &Spanned<SmolStr>)> {
    let semver = matches!(&*spec.choices, [only] if only.kind == ChoiceKind::Semver);
    let pattern = spec.filter_pattern.as_ref()?;
    let extract = spec.extract.as_ref().filter(|e| !e.value.is_empty())?;
    (semver && !pattern.value.is_empty()).then_some((pattern.value.as_str(), extract))
}

/// How many dots an expansion of `extract` holds at most; `None`: any number (a group it names
/// may match one), or the pattern or a group it names is not read.
fn most_dots(pattern: &str, extract: &str) -> Option<usize> {
    let regex = GoRegex::new(pattern).ok()?;
    let template = Template::parse(extract);
    // A group the pattern does not define, or none referred to, is `invalid-extract`'s to report.
    if template.refers_to_no_group() || !template.unknown_references(&regex.names).is_empty() {
        return None;
    }
    template.at_most('.', &regex.names, &regex.groups_may_hold('.')?)
}
