//! Rule `invalid-extract`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::policy::extract::Template;
use crate::policy::goregex::group_names;
use crate::policy::select::check_extract;
use crate::policy::PolicyError;
use foldhash::{HashMap, HashMapExt};

pub static RULE: Rule = Rule {
    id: "invalid-extract",
    severity: crate::report::Severity::Error,
    summary: "filterTags.extract names a group the pattern does not define",
    docs: r#"## What it catches
A `filterTags.extract` template (`$1`, `${1}`, `$name`, `${name}`) that refers to a capture
group the pattern does not define — including `$ts_v2` read as the group `ts_v2`, and `$1x`
read as a group named `1x` — or to no group at all (`extract: version`, without its `$`: every
tag becomes the text `version`).

## Why it matters in Flux
Go's template expansion turns an unknown group into an empty string, silently: every tag then
collapses into the same empty value, and a numerical policy fails on it
(fluxcd/image-reflector-controller#143).

## Example
```yaml
filterTags:
  pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$'
  extract: '$timestamp'
```

## Fix
Name a group the pattern defines (`$ts`), or use `${name}` when text follows the name.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Policies of a large repository share a few patterns and templates: each pair is checked
    // once.
    let mut checks: HashMap<(&str, &str), Result<(), PolicyError>> = HashMap::new();
    for (object, spec) in cx.policies_of_known_selection() {
        let Some(extract) = &spec.extract else {
            continue;
        };
        let pattern = spec
            .filter_pattern
            .as_ref()
            .map_or("", |p| p.value.as_str());
        let checked = checks
            .entry((pattern, &extract.value))
            .or_insert_with(|| check_extract(pattern, &extract.value));
        // A pattern Go rejects (`InvalidPattern`) is invalid-regex's to report.
        if let Err(PolicyError::InvalidExtract { reason }) = checked {
            let named_so = || {
                group_names(pattern)
                    .is_ok_and(|names| names.iter().flatten().any(|name| *name == extract.value))
            };
            let template = Template::parse(&extract.value);
            let names = group_names(pattern).unwrap_or_default();
            // A reference a letter away from a group the pattern names (`$timestamp` for
            // `(?P<timesamp>…)`, Notliam99/nzdev-org) meant it.
            let meant = template
                .unknown_references(&names)
                .iter()
                .find_map(|reference| {
                    let named = names.iter().flatten().map(String::as_str);
                    let group = crate::flux::schema::closest_field(&reference[1..], named)?;
                    Some((reference.clone(), group))
                });
            let help = if let Some((reference, group)) = meant {
                format!("the pattern names the group `{group}`: write `${group}` for `{reference}`, or rename the group")
            } else if !template.refers_to_no_group() {
                "name a capture group of the pattern, e.g. `(?P<version>[0-9.]+)` with `extract: $version`".to_string()
            } else if named_so() {
                format!(
                    "write `${}`: a group is referred to with `$`",
                    extract.value
                )
            } else {
                "refer to a group of the pattern: `$name`, `${name}` where text follows, or `$1`"
                    .to_string()
            };
            out.push(
                &RULE,
                extract.file(),
                extract.span(),
                format!(
                    "`extract: {}` of policy `{}`: {reason}",
                    extract.value,
                    object.key()
                ),
                help,
            );
        }
    }
}
