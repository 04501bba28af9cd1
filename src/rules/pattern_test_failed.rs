//! Rule `pattern-test-failed`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::explain::outcome_reason;
use crate::flux::Kind;
use crate::policy::Outcome;

pub static RULE: Rule = Rule {
    id: "pattern-test-failed",
    severity: crate::report::Severity::Error,
    summary: "A policy pattern test fails",
    docs: r#"## What it catches
A failing test of a policy, written under `tests:` in `.flux-image-lint.yaml` or in any
`*.imagepolicy-tests.yaml` file:

```yaml
tests:
  - policy: flux-system:radarr
    accept: [release-5.2.6.8376]          # must pass exclusion + filter (+ range)
    reject: [nightly-5.3.0.1, latest]     # must be dropped
  - policy: flux-system:minio
    tags: [RELEASE.2025-01-20T14-49-07Z, RELEASE.2024-12-18T13-15-44Z]
    latest: RELEASE.2025-01-20T14-49-07Z # given these tags, the policy picks this
```
Each failure is reported at the tag's own line, with why it was dropped, kept or lost.

## Why it matters in Flux
Tag filters are regexes and ranges that fail silently in the cluster: a test pins down what the
policy must accept and pick, so a later edit that breaks it is caught before commit.

## Fix
Correct the policy (or the test, when the expectation was wrong). `flux-image-lint explain
NS:NAME --tags-file FILE` shows each tag's fate.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (file, span, message) in &cx.workspace.pattern_test_errors {
        out.push(
            &RULE,
            *file,
            *span,
            format!("malformed pattern test: {message}"),
            "see `flux-image-lint rule pattern-test-failed` for the format".to_string(),
        );
    }
    for test in &cx.workspace.pattern_tests {
        let Some((namespace, name)) = test.policy.value.split_once(':') else {
            continue;
        };
        let Some(policy) = cx.workspace.index.find(Kind::ImagePolicy, namespace, name) else {
            continue;
        };
        let Some(compiled) = cx.compiled(policy) else {
            continue;
        };
        for tag in &test.accept {
            let outcome = compiled.classify(&tag.value);
            if outcome != Outcome::Candidate {
                out.push(
                    &RULE,
                    test.file,
                    tag.span(),
                    format!(
                        "policy `{}` should accept `{}`, but the tag {}",
                        test.policy.value,
                        tag.value,
                        outcome_reason(&outcome)
                    ),
                    "fix the policy's filter, range or exclusion list, or the test".to_string(),
                );
            }
        }
        for tag in &test.reject {
            if compiled.classify(&tag.value) == Outcome::Candidate {
                out.push(
                    &RULE,
                    test.file,
                    tag.span(),
                    format!("policy `{}` should reject `{}`, but the tag passes its exclusion list, filter and policy", test.policy.value, tag.value),
                    "tighten the pattern (anchor it with `^…$`) or add an exclusion".to_string(),
                );
            }
        }
        if let (Some(expected), false) = (&test.latest, test.tags.is_empty()) {
            let tags: Vec<String> = test.tags.iter().map(|t| t.value.clone()).collect();
            let evaluation = compiled.evaluate(&tags);
            if evaluation.latest.as_deref() != Some(expected.value.as_str()) {
                let picked = match (&evaluation.latest, &evaluation.error) {
                    (Some(latest), _) => format!("picks `{latest}`"),
                    (None, Some(error)) => format!("picks nothing ({error})"),
                    (None, None) => "picks nothing".to_string(),
                };
                let why = evaluation
                    .candidates
                    .iter()
                    .find(|c| c.tag == expected.value)
                    .map(|c| match c.outcome {
                        Outcome::Candidate => {
                            format!("`{}` ranks {}", expected.value, c.rank.unwrap_or(0))
                        }
                        ref other => format!("`{}` {}", expected.value, outcome_reason(other)),
                    })
                    .unwrap_or_else(|| {
                        format!("`{}` is not among the test's `tags`", expected.value)
                    });
                out.push(
                    &RULE,
                    test.file,
                    expected.span(),
                    format!(
                        "given these tags, policy `{}` {picked}, not `{}`: {why}",
                        test.policy.value, expected.value
                    ),
                    "fix the policy, or the test's expectation".to_string(),
                );
            }
        }
    }
}
