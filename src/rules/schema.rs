//! Rule `schema`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::objects::{FluxObject, PolicySpec, Spec};
use crate::flux::schema::{Held, Misfit};
use crate::flux::versions::Feature;
use crate::model::cluster::{accepted_name_like, kubernetes_accepts_name, ACCEPTED_NAMES};
use crate::model::tree::Origin;

pub static RULE: Rule = Rule {
    id: "schema",
    severity: crate::report::Severity::Error,
    summary: "A missing required field, a field Flux does not know, or a wrong type",
    docs: r#"## What it catches
Fields of ImageRepository, ImagePolicy and ImageUpdateAutomation that the `v1` CRDs do not
define (`filterTag`, `imageRepositoryref`), values of the wrong type (`insecure: "yes"` as a
string, a map where a string belongs) or that the CRD's `enum` does not allow (`provider:
github`, `update.strategy: PullRequest`, `digestReflectionPolicy: Sometimes`), missing required fields (`metadata.name`,
`spec.image`, `spec.interval`, `spec.imageRepositoryRef.name`), and names the API server
refuses (`user_Service`: object names are lowercase letters, digits, `-` and `.`). On Flux 2.6
and later (the version as `api-version` reads it), an ImagePolicy's `spec.interval` without
`digestReflectionPolicy: Always`, or `Always` without an `interval`: the CRD's validation rules
reject both. Objects of `v1alpha1` (Flux up to 0.12, whose ImageUpdateAutomation has `checkout`
and `commit.authorEmail` instead of `sourceRef` and `git`) are judged by their names only: their shapes differ.

## Why it matters in Flux
kustomize-controller applies with server-side apply (from Flux 0.18), whose dry run refuses an
object with a field its CRD does not declare (`field not declared in schema`): the Flux
Kustomization that applies it applies nothing, the rest of its build included; so does a name
the API server refuses. Before Flux 0.18
(`kubectl apply`) Kubernetes dropped the field, so a misspelt `filterTag` silently turned the
filter off and the policy picked tags you excluded.

## Example
```yaml
spec:
  filterTag:
    pattern: '^v[0-9.]+$'
```

## Fix
Use the field the help names (`filterTags`). A field is said to belong elsewhere only where
what it holds fits there and the place is no deeper thing of the same name: `spec.git.secretRef`
is no commit signing key (an automation pushes with the credentials of the GitRepository its
`sourceRef` names).
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for object in cx.objects() {
        let name = &object.name.value;
        if !name.is_empty() && !kubernetes_accepts_name(name) {
            refused_name(cx, object, out);
        }
        // The shapes are those of `v1alpha2` and later.
        if object.has_first_layout() {
            continue;
        }
        for misfit in &object.misfits {
            report(cx, object, misfit, out);
        }
        if let Spec::Policy(spec) = &object.spec {
            let digest_reflection = cx
                .flux_for_object(object)
                .feature(Feature::DigestReflection);
            if digest_reflection.is_none() {
                interval_needs_always(object, spec, out);
            }
        }
    }
}

fn report(cx: &Context, object: &FluxObject, misfit: &Misfit, out: &mut Findings) {
    match misfit {
        Misfit::WrongType { at, path, expected } => out.push_at(
            &RULE,
            *at,
            format!("`{path}` must be {expected}"),
            format!("see the {} API reference for `{path}`", object.kind),
        ),
        Misfit::NotAllowed {
            at,
            path,
            value,
            allowed,
        } => out.push_at(
            &RULE,
            *at,
            format!("`{path}` is `{value}`, which the {} CRD does not allow: Kubernetes refuses the object (`Unsupported value`), so the Flux Kustomization that applies it applies nothing", object.kind),
            match allowed {
                [only] => format!("`{only}` is the one value it takes"),
                _ => format!(
                    "use one of {}",
                    (allowed.iter()).map(|value| format!("`{value}`")).collect::<Vec<_>>().join(", ")
                ),
            },
        ),
        Misfit::UnknownField {
            at,
            path,
            known,
            closest,
            held,
        } => out.push_at(
            &RULE,
            *at,
            format!(
                "{} has no field `{path}`: {}",
                object.kind,
                cx.undeclared_field_fate(object)
            ),
            match (placed_elsewhere(object, path, held), closest) {
                // Push credentials written on the automation (lukewyman/llmworks-gitops'
                // `git.secretRef`, gt005/news_aggregator_infra's `spec.secretRef`).
                _ if pushes_with_its_source(object, path) => "an ImageUpdateAutomation takes no credentials: it clones and pushes with those of the GitRepository its `spec.sourceRef` names, so set `secretRef` there".to_string(),
                (Some(place), _) => format!("`{place}` is where this field belongs: move it there"),
                (None, Some(field)) => format!("did you mean `{field}`?"),
                (None, None) => format!(
                    "known fields here: {}",
                    known
                        .iter()
                        .map(|(field, _)| format!("`{field}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        ),
        Misfit::Missing { at, path, help } => {
            let span = at.span();
            out.push_at(
                &RULE,
                Origin::new(
                    at.file(),
                    crate::source::Span::new(
                        span.start,
                        span.start.max(span.end.min(span.start + 1)),
                    ),
                ),
                format!(
                    "{} `{}` is missing the required field `{}`",
                    object.kind,
                    object.name.value,
                    path.join(".")
                ),
                help.to_string(),
            );
        }
    }
}

/// A name the API server refuses for every custom resource (a DNS-1123 subdomain: apiextensions'
/// `customResourceValidator` validates `metadata` with `NameIsDNSSubdomain`): nothing can apply
/// the object, nor any reference resolve to it.
fn refused_name(cx: &Context, object: &FluxObject, out: &mut Findings) {
    let fate = if cx.flux_of(object).applies_client_side().is_some() {
        "so it is never applied"
    } else {
        "so the Flux Kustomization that applies it applies nothing"
    };
    let name = &object.name.value;
    let written = cx
        .written_metadata(object, "name")
        .map(|(written, _)| written);
    let (message, help) = match written {
        // The file's name is fine: the build renamed it (raviusit/gitOps-workflow-flux's
        // `nameSuffix: "-"`).
        Some(written) if written != *name && kubernetes_accepts_name(&written) => (
            format!("Kubernetes refuses the name `{name}` the build gives {} `{written}` (a `namePrefix` or `nameSuffix`), {fate}", object.kind),
            format!("build the image objects without that prefix or suffix, or with one that leaves names Kubernetes accepts: {ACCEPTED_NAMES}"),
        ),
        _ => (
            format!("Kubernetes refuses the {} name `{name}`, {fate}", object.kind),
            match accepted_name_like(name) {
                Some(accepted) => format!("name it `{accepted}` and the references to it too: {ACCEPTED_NAMES}"),
                None => format!("rename it and the references to it: {ACCEPTED_NAMES}"),
            },
        ),
    };
    out.push_at(&RULE, object.name.origin(), message, help);
}

/// Whether the field is a `secretRef` outside the commit signing key of an automation: the
/// credentials it pushes with belong to its GitRepository.
fn pushes_with_its_source(object: &FluxObject, path: &str) -> bool {
    object.kind == crate::flux::Kind::ImageUpdateAutomation
        && path.starts_with("spec.")
        && path.ends_with(".secretRef")
}

/// Where a field written under the wrong parent belongs: the one place of its kind's shape with
/// that name, when what it holds fits there (`push` under `spec.git.commit` belongs at
/// `spec.git.push`). Not a place two levels or more below where it is written: that is another
/// thing of the same name (`spec.git.secretRef`, push credentials, is no
/// `spec.git.commit.signingKey.secretRef`: lukewyman/llmworks-gitops).
fn placed_elsewhere(object: &FluxObject, path: &str, held: &Held) -> Option<String> {
    let (written_in, name) = path.rsplit_once('.').unwrap_or(("", path));
    let (place, shape) = crate::flux::schema::only_place_of(object.kind, name)?;
    let place_in = place.rsplit_once('.').map_or("", |(parent, _)| parent);
    let below = match written_in {
        "" => Some(place_in),
        written_in => (place_in.strip_prefix(written_in)).and_then(|rest| rest.strip_prefix('.')),
    };
    let far_below = below.is_some_and(|below| below.contains('.'));
    (held.fits(shape) && !far_below).then_some(place)
}

/// ImagePolicy's validation rules (image-reflector-controller 0.35, Flux 2.6): `spec.interval`
/// is accepted only with, and required by, `digestReflectionPolicy: Always`.
fn interval_needs_always(object: &FluxObject, spec: &PolicySpec, out: &mut Findings) {
    let reflection = spec.digest_reflection.as_ref();
    let always = reflection.is_some_and(|reflection| reflection.value == "Always");
    let (origin, message, help) = match (spec.interval, reflection) {
        (Some(interval), _) if !always => (
            interval,
            "`spec.interval` is only accepted when `spec.digestReflectionPolicy` is `Always`; Kubernetes rejects the ImagePolicy",
            "remove `spec.interval`, or set `spec.digestReflectionPolicy: Always`",
        ),
        (None, Some(reflection)) if always => (
            reflection.origin(),
            "`spec.digestReflectionPolicy: Always` needs `spec.interval`; Kubernetes rejects the ImagePolicy",
            "set `spec.interval` (how often to look up the digest, e.g. `10m`), or use `IfNotPresent`",
        ),
        _ => return,
    };
    out.push_at(
        &RULE,
        origin,
        format!("ImagePolicy `{}`: {message}", object.key()),
        help.to_string(),
    );
}

#[cfg(test)]
mod tests {
    use crate::rules::diagnostics_of;

    /// Before Flux 0.18 kustomize-controller ran `kubectl apply`, and Kubernetes dropped a field
    /// the CRD does not declare; from 0.18 its server-side dry run refuses the object.
    #[test]
    fn an_undeclared_field_is_dropped_before_flux_0_18_and_refused_from_it() {
        let message = |flux: &str| {
            let policy = format!("# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: {flux}\n---\napiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  filterTag:\n    pattern: '^v'\n  policy:\n    semver:\n      range: 1.x\n");
            (diagnostics_of(&[("images.yaml", &policy)], &["schema"]).into_iter())
                .map(|d| d.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            message("v0.17.2"),
            ["ImagePolicy has no field `spec.filterTag`: Kubernetes drops it, and Flux never sees it"]
        );
        assert_eq!(
            message("v0.18.0"),
            ["ImagePolicy has no field `spec.filterTag`: Kubernetes refuses the object (`field not declared in schema`), so the Flux Kustomization that applies it applies nothing"]
        );
    }

    /// A value outside a CRD's `enum` is refused; one filled in later is not known here.
    #[test]
    fn a_value_the_enum_does_not_allow_is_refused() {
        let found = |provider: &str, reflection: &str| {
            let objects = format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app\n  interval: 1h\n  provider: {provider}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  digestReflectionPolicy: {reflection}\n  policy:\n    semver:\n      range: 1.x\n");
            (diagnostics_of(&[("images.yaml", &objects)], &["schema"]).into_iter())
                .map(|d| format!("{} / {}", d.message, d.help))
                .collect::<Vec<_>>()
        };
        assert_eq!(found("aws", "IfNotPresent"), Vec::<String>::new());
        assert_eq!(found("${PROVIDER}", "Never"), Vec::<String>::new());
        assert_eq!(
            found("github", "Sometimes"),
            [
                "`spec.provider` is `github`, which the ImageRepository CRD does not allow: Kubernetes refuses the object (`Unsupported value`), so the Flux Kustomization that applies it applies nothing / use one of `generic`, `aws`, `azure`, `gcp`",
                "`spec.digestReflectionPolicy` is `Sometimes`, which the ImagePolicy CRD does not allow: Kubernetes refuses the object (`Unsupported value`), so the Flux Kustomization that applies it applies nothing / use one of `Always`, `IfNotPresent`, `Never`",
            ]
        );
    }
}
