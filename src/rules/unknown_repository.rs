//! Rule `unknown-repository`; its documentation is `RULE.docs`.

use std::cell::OnceCell;

use super::unknown_policy::closest_name;
use super::{Context, Findings, Rule};
use crate::flux::objects::Spec;
use crate::flux::Kind;

pub static RULE: Rule = Rule {
    id: "unknown-repository",
    severity: crate::report::Severity::Error,
    summary: "An ImagePolicy's imageRepositoryRef names no ImageRepository",
    docs: r#"## What it catches
An ImagePolicy whose `spec.imageRepositoryRef` names an ImageRepository that no file defines
(the namespace defaults to the policy's own).

## Why it matters in Flux
The policy waits forever for its repository (`DependencyNotReady`), so every marker on it is
never updated.

## Example
```yaml
spec:
  imageRepositoryRef:
    name: aap
```

## Fix
Name the existing ImageRepository (the help suggests the closest), or create it.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Listed for suggestions only when a policy names a missing repository.
    let known = OnceCell::new();
    for object in cx.objects() {
        let Spec::Policy(spec) = &object.spec else {
            continue;
        };
        let Some(name) = &spec.repository_name else {
            continue;
        };
        if cx.workspace.index.repository_of(object, spec).is_some()
            || cx.workspace.model.renders[object.render].incomplete
            || cx
                .workspace
                .model
                .may_lack_objects(object.file(), &[object.cluster])
        {
            continue;
        }
        let namespace = spec
            .repository_namespace
            .as_ref()
            .map_or(object.namespace.as_str(), |n| n.value.as_str());
        let wanted = format!("{namespace}:{}", name.value);
        let help = match closest_name(
            &wanted,
            known.get_or_init(|| cx.workspace.index.keys(Kind::ImageRepository)),
        ) {
            Some(closest) => format!("did you mean `{closest}`?"),
            None => format!(
                "create ImageRepository `{}` in namespace `{namespace}`",
                name.value
            ),
        };
        out.push(
            &RULE,
            name.file(),
            name.span(),
            format!(
                "ImagePolicy `{}` refers to ImageRepository `{wanted}`, which no file defines",
                object.key()
            ),
            help,
        );
    }
}
