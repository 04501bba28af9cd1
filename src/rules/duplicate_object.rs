//! Rule `duplicate-object`; its documentation is `RULE.docs`.

use crate::flux::objects::FluxObject;
use crate::flux::Kind;
use crate::model::substitute::is_unresolved;
use crate::walk::{folder_of, lies_under};
use foldhash::{HashMap, HashMapExt};

use super::{Context, Findings, Rule};

pub static RULE: Rule = Rule {
    id: "duplicate-object",
    severity: crate::report::Severity::Error,
    summary: "Two objects with the same kind, namespace and name",
    docs: r#"## What it catches
Two ImageRepositories, ImagePolicies or ImageUpdateAutomations with the same namespace and name
(after namespace defaulting) that one cluster applies. In a repository without clusters, the
files no kustomization reaches are compared where one is in the other's folder or below it (a
Flux Kustomization applies its path and every folder under it); copies in sibling folders
(`clusters/east`, `clusters/west`) may be two clusters' own, attached from outside. A copy kustomize-controller never
applies (`kustomize.toolkit.fluxcd.io/reconcile: disabled` or `kustomize.toolkit.fluxcd.io/ssa:
Ignore`, as a label or an annotation) is no second object, nor is an `ssa: IfNotPresent` copy
beside one Flux applies on every reconciliation, which is the one the cluster keeps. Nor are
copies two Flux Kustomizations apply alike: the same `apiVersion`, labels and `spec` (keys in
any order, every value known). kustomize-controller applies each with server-side apply under
its one field manager, so they never conflict and the object is the same whichever applies
last; only its owner labels (`kustomize.toolkit.fluxcd.io/name`) follow the last.

## Why it matters in Flux
Only one object can exist in the cluster: whichever Kustomization applies last wins, so the
policy that selects your tags depends on reconciliation order (or the apply fails).

## Example
`ImagePolicy flux-system/app` defined in both `policies/apps.yaml` and `apps/app/policy.yaml`.

## Fix
Remove one of them, or rename it (and its markers).
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    // Each cluster applies what it applies; without clusters each render is applied on its
    // own. A duplicate inside one kustomize build is its build error (`kustomize-build`). A
    // name holding a variable whose value is unknown is no name to compare.
    let by_cluster = !cx.workspace.model.clusters.is_empty();
    // The distinct copies met so far, per cluster (or render), kind, namespace and name.
    let mut copies: HashMap<(usize, Kind, &str, &str), Vec<&FluxObject>> = HashMap::new();
    for object in cx.objects() {
        if is_unresolved(&object.name.value) || is_unresolved(&object.namespace) {
            continue;
        }
        let key = (
            if by_cluster {
                object.cluster
            } else {
                object.render
            },
            object.kind,
            object.namespace.as_str(),
            object.name.value.as_str(),
        );
        let earlier = copies.entry(key).or_default();
        let together = |first: &&FluxObject| by_cluster || applied_together(cx, first, object);
        let Some(first) = earlier.iter().copied().find(together) else {
            earlier.push(object);
            continue;
        };
        if applied_alike(first, object) {
            continue;
        }
        let first_file = cx.file(first.name.file());
        let first_line = first_file.source.line_of(first.name.span().start);
        out.push(
            &RULE,
            object.name.file(),
            object.name.span(),
            format!(
                "{} `{}` is already defined at {}:{}",
                object.kind,
                object.key(),
                first_file.source.path,
                first_line
            ),
            "remove one definition or rename it; only one can exist in the cluster".to_string(),
        );
    }
}

/// Whether two objects of one render without clusters are surely applied to one cluster. A
/// build applies all it holds. Files taken as written are applied by whatever points at their
/// folders from outside: a Flux Kustomization applies its path's files and every folder below
/// it (kustomize-controller's generated kustomization walks the tree), so a copy in a folder at
/// or below the other's is applied with it wherever the other is; copies in sibling folders
/// (`clusters/east`, `clusters/west`) may be two clusters' own.
fn applied_together(cx: &Context, first: &FluxObject, copy: &FluxObject) -> bool {
    if cx.workspace.model.renders[first.render].root.is_some() {
        return true;
    }
    let path = |object: &FluxObject| cx.file(object.file()).source.path.as_str();
    let (a, b) = (path(first), path(copy));
    lies_under(b, folder_of(a)) || lies_under(a, folder_of(b))
}

/// Whether two copies are one object to the cluster: kustomize-controller applies every build
/// under one field manager (`ssa.Owner{Field: r.ControllerName}` in `reconcile`,
/// `internal/controller/kustomization_controller.go`), so the second apply of the same spec
/// changes nothing but the owner labels `SetOwnerLabels` sets; and pruning deletes only objects
/// whose owner labels name the Kustomization pruning (`deleteObjects`). Copies the model is
/// unsure of may differ in what it cannot see.
fn applied_alike(first: &FluxObject, copy: &FluxObject) -> bool {
    !first.uncertain
        && !copy.uncertain
        && first.api_version.value == copy.api_version.value
        // An automation's `policySelector` picks policies by their labels.
        && first.labels() == copy.labels()
        && first.spec_content.is_some()
        && first.spec_content == copy.spec_content
}
