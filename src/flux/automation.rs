//! Which ImageUpdateAutomation applies a marker: the automation's namespace, `policySelector`
//! and `update.path`, as image-automation-controller decides it. `check` and `--fix` both ask.

use std::borrow::Cow;

use super::index::FluxIndex;
use super::objects::{FluxObject, Spec};
use super::Kind;
use crate::model::substitute::{is_unresolved, PathPattern};

/// Whether an automation would apply markers of `policy` found in `file_path`, markers that
/// name the policy in the namespace `named`.
pub fn automation_applies(
    automation: &FluxObject,
    policy: &FluxObject,
    named: &str,
    file_path: &str,
) -> bool {
    let Spec::Automation(spec) = &automation.spec else {
        return false;
    };
    let path = spec.update_path.as_ref().map_or("", |p| p.value.as_str());
    uses_policy(automation, policy, policy.namespace_as_named(named))
        && path_contains(path, file_path)
}

/// Whether an automation applies the markers of `policy`, in `namespace`, wherever they are
/// under its path: the policy is in its namespace and fits its `policySelector`
/// (image-automation-controller lists the policies of the automation's namespace). An
/// automation that sets no namespace is in the one it is applied into, as the policy may be.
pub fn uses_policy(automation: &FluxObject, policy: &FluxObject, namespace: &str) -> bool {
    let Spec::Automation(spec) = &automation.spec else {
        return false;
    };
    automation.namespace_as_named(namespace) == namespace
        && spec
            .policy_selector
            .as_ref()
            .is_none_or(|selector| selector.matches(policy.labels()))
}

/// Whether an automation in `automation_namespace` reads a policy of `namespace`: its own, or
/// either left to a variable whose value is not known here.
pub fn reads_namespace(automation_namespace: &str, namespace: &str) -> bool {
    automation_namespace == namespace
        || is_unresolved(namespace)
        || is_unresolved(automation_namespace)
}

/// Whether the repository-relative `file_path` lies under the automation path `dir`
/// (`./clusters/prod`, `clusters/prod/`, `.` and empty all allowed).
pub fn path_contains(dir: &str, file_path: &str) -> bool {
    if is_unresolved(dir) {
        return could_contain(dir, file_path);
    }
    // Asked for every marker and automation: most `update.path`s are clean but for a leading
    // `./` (`./apps`), and need no copy.
    let written = dir.strip_prefix("./").unwrap_or(dir);
    let clean = written
        .split('/')
        .all(|part| !matches!(part, "" | "." | ".."));
    let dir = if clean {
        Cow::Borrowed(written)
    } else {
        Cow::Owned(normalize(dir))
    };
    dir.is_empty()
        || file_path
            .strip_prefix(&*dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether a path still holding a `${var}` (filled in by `postBuild.substituteFrom` of what
/// applies the automation, unknown here) could be a folder `file_path` lies under: one of the
/// folders it could be, each variable part of one folder's name.
fn could_contain(dir: &str, file_path: &str) -> bool {
    thread_local! {
        // Asked for every file and marker against the same few paths: each pattern is
        // compiled once per run of questions, not once per file.
        static LAST: std::cell::RefCell<Option<(String, PathPattern)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if last.as_ref().is_none_or(|(written, _)| written != dir) {
            *last = Some((dir.to_string(), PathPattern::new(&normalize(dir))));
        }
        let (_, pattern) = last.as_ref().expect("set just above");
        file_path
            .match_indices('/')
            .any(|(end, _)| pattern.could_be(&file_path[..end]))
    })
}

/// A path inside the repository as Flux's controllers resolve it (`securejoin.SecureJoin` with
/// the clone's root): cleaned, and a `..` that would leave the root stays at it, so
/// `../../apps` is `apps`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// Whether an automation of the policy's cluster applies this marker, which names the policy
/// in the namespace `named`; `None` when the cluster has none.
pub fn applied_by_any(
    index: &FluxIndex,
    policy: &FluxObject,
    named: &str,
    file_path: &str,
) -> Option<bool> {
    applied_by(
        index
            .of_kind(Kind::ImageUpdateAutomation)
            .filter(|automation| automation.cluster == policy.cluster),
        policy,
        named,
        file_path,
    )
}

/// Whether one of `automations` applies a marker of `policy` (named in `named`) in `file_path`;
/// `None` when the list is empty.
pub fn applied_by<'a>(
    automations: impl IntoIterator<Item = &'a FluxObject>,
    policy: &FluxObject,
    named: &str,
    file_path: &str,
) -> Option<bool> {
    let mut automations = automations.into_iter().peekable();
    automations.peek()?;
    Some(automations.any(|a| automation_applies(a, policy, named, file_path)))
}

#[cfg(test)]
mod tests {
    use super::{normalize, path_contains};

    #[test]
    fn paths_are_cleaned_and_clamped_at_the_root_as_securejoin_does() {
        assert_eq!(normalize("./clusters/prod/"), "clusters/prod");
        assert_eq!(normalize("../../../../apps"), "apps");
        assert_eq!(normalize("./apps/../apps/staging"), "apps/staging");
        assert_eq!(normalize("/apps//web/."), "apps/web");
        assert_eq!(normalize(".."), "");
    }

    #[test]
    fn a_path_contains_the_files_under_it_written_clean_or_not() {
        for dir in ["apps", "./apps", "apps/", "/apps", "x/../apps", ""] {
            assert!(path_contains(dir, "apps/web/deploy.yaml"), "{dir}");
        }
        assert!(path_contains("./", "apps/web/deploy.yaml"));
        assert!(path_contains(
            "apps/web/deploy.yaml",
            "apps/web/deploy.yaml"
        ));
        for dir in ["app", "apps2", "./apps/web2", "apps/web/deploy"] {
            assert!(!path_contains(dir, "apps/web/deploy.yaml"), "{dir}");
        }
    }
}
