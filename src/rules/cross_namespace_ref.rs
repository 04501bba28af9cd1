//! Rule `cross-namespace-ref`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;

pub static RULE: Rule = Rule {
    id: "cross-namespace-ref",
    severity: crate::report::Severity::Error,
    summary: "A policy's ImageRepository lives in another namespace that does not grant access",
    docs: r#"## What it catches
An ImagePolicy whose ImageRepository is in another namespace, where the repository's
`spec.accessFrom.namespaceSelectors` does not admit the policy's namespace. Selectors on
`kubernetes.io/metadata.name` are evaluated; other labels cannot be known from the repository
and are given the benefit of the doubt.

## Why it matters in Flux
The image-reflector-controller refuses the reference ("AccessDenied"), and the policy never
gets a latest image.

## Example
A policy in `apps` with `imageRepositoryRef: {name: app, namespace: flux-system}` and a
repository without `accessFrom`.

## Fix
```yaml
spec:
  accessFrom:
    namespaceSelectors:
      - matchLabels:
          kubernetes.io/metadata.name: apps
```
"#,
    check,
};

const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let Spec::Policy(spec) = &object.spec else {
            continue;
        };
        let Some(namespace) = &spec.repository_namespace else {
            continue;
        };
        if namespace.value == object.namespace {
            continue;
        }
        let Some((repository, repository_spec)) = cx.workspace.index.repository_of(object, spec)
        else {
            continue;
        };
        let granted = match &repository_spec.access_from {
            None => false,
            Some(selectors) => selectors.iter().any(|labels| {
                labels.is_empty()
                    || labels.keys().any(|k| k != NAMESPACE_LABEL)
                    || labels
                        .get(NAMESPACE_LABEL)
                        .is_some_and(|label| *label == object.namespace)
            }),
        };
        if granted {
            continue;
        }
        out.push(
            &RULE,
            namespace.file(),
            namespace.span(),
            format!(
                "ImageRepository `{}` does not grant namespace `{}` access, so Flux denies this cross-namespace reference",
                repository.key(),
                object.namespace
            ),
            format!(
                "add `accessFrom: {{namespaceSelectors: [{{matchLabels: {{{NAMESPACE_LABEL}: {}}}}}]}}` to the ImageRepository",
                object.namespace
            ),
        );
    }
}
