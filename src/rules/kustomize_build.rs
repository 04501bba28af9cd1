//! Rule `kustomize-build`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::flux::versions::ClusterFlux;
use crate::model::kustomization::{
    closest_field, is_kustomization_name, BARE_PATCH_PATH, UNKNOWN_FIELD,
};
use crate::model::render::{BuildError, Cause, NO_KIND};
use crate::model::Unsure;
use crate::report::Severity;

pub static RULE: Rule = Rule {
    id: "kustomize-build",
    severity: Severity::Error,
    summary: "A kustomization that kustomize (and so Flux) cannot build",
    docs: r#"## What it catches
A kustomization whose `kustomize build` fails, with kustomize's own error at the entry that
causes it: a resource or patch file that does not exist, a folder without a kustomization, a
resource without `metadata.name` (a folder's `kustomization.yaml` listed as a file: kustomize
loads it as an object, where listing the folder builds it), a patch that matches no resource, a JSON patch whose path is missing, two resources with the same
kind, namespace and name (a generated ConfigMap or Secret among them, unless its generator says
`behavior: merge` or `replace`), a generator with `behavior: merge` or `replace` and nothing to
merge into, an unknown field in `kustomization.yaml` or a string field of it written as a number or boolean
(`newTag: 20231010`, `namespace: 123`, a label's `version: 1.0`: kustomize decodes the file into
Go strings through JSON), a `kustomization.yaml` that holds nothing
but comments (from Flux 2.2; the kustomize of an older Flux builds it to nothing, so on a
cluster that runs one it is no error, and where no Flux version is pinned it is a warning), a
field a `configurations` file holds that kustomize's transformer configuration does not have
(from Flux 2.3, kustomize 5.4: the same), a nested option written in another type than
kustomize's (`generatorOptions: {labels: {monitored: on}}`, a label entry's
`includeSelectors: "true"`, a replica's `count: "3"`), a `patchesJson6902` target without a
`name`, and a key written twice in one mapping of a resource (kustomize reads resources with
yaml.v3, which refuses it where most YAML tools keep the last). kustomize-controller builds what
source-controller hands on, not the checkout: an entry naming a file or folder that a
`.sourceignore`, the GitRepository's `spec.ignore` or Flux's default excludes (`*.png`,
`.github/`, … while no pattern is written) keep out fails as a missing one, with the pattern
named; there `kubectl kustomize` of the checkout does not fail.
A field kustomize does not know in the kustomization at a Flux Kustomization's `spec.path`
is a warning: kustomize-controller drops it before it builds, so the build goes on without what
it meant (a misspelt `namePreffix`, whose prefix is never applied).
Where the build holds what the tool does not follow (a remote base or component, `transformers` that may
rename objects, a list merged in a way it does not model), it reports nothing that this could
explain. A failed build of a cluster the tool only guesses at
(a folder of Flux Kustomizations nothing here applies, beside a bootstrap's folder, taken as
applied out of band like it) is a warning: that folder may be applied by nothing at all. So is
a failed build in a repository with no cluster, no marker and no image object a kustomization
lists (an application's deploy template, copied into the fleet repository): nothing says Flux
builds it, and no marker depends on it. So is the failed build of a folder of Flux
Kustomizations without a kustomization file, in a repository without a bootstrap: applied by
hand, that is `kubectl apply -f`, which applies each file as it is and builds nothing. So is a
generator input that `.gitignore` leaves out of the repository, in a folder of Flux
Kustomizations applied by hand (`kubectl apply -k`): a secret kept out of git, written where the
folder is applied; in a folder Flux builds it stays an error. Also Flux's own step after the
build: a `postBuild.substitute` variable whose name kustomize-controller refuses
(`cluster-name`: only letters, digits and `_`, not starting with a digit) fails the
substitution of every object, so nothing of that Flux Kustomization is applied.

## Why it matters in Flux
kustomize-controller builds the kustomization before it applies anything. When the build fails,
the Flux Kustomization is not ready and nothing in it is applied or updated: not the ImagePolicy,
not the deployment whose marker you edited. The other rules stay silent about the objects of a
build that fails, so this is the one diagnostic.

## Example
```yaml
# apps/app/kustomization.yaml
resources:
  - deployment.yaml
  - policy.yaml      # the file was renamed to image-policy.yaml
```

## Fix
Correct the entry the diagnostic points at. `kubectl kustomize --load-restrictor
LoadRestrictionsNone <folder>` reproduces the error locally.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    let model = &cx.workspace.model;
    // No cluster and nothing image-related (an application's deploy template, copied into the
    // fleet repository): nothing says Flux builds these folders, and no marker depends on them.
    // Image objects in files no kustomization here lists (kept for another repository's
    // cluster, beside a CI template folder: dperez-unir/spring-petclinic-microservices) are not
    // applied here either, and say nothing of these builds.
    let applied_nowhere = model.unapplied.as_slice();
    let nothing_applies_or_depends = model.clusters.is_empty()
        && (cx.workspace.index.objects.iter())
            .all(|object| applied_nowhere.contains(&object.file()))
        && cx
            .workspace
            .files
            .iter()
            .all(|f| f.markers.markers.is_empty());
    // A failure that may be no failure of Flux's, with why: a warning.
    let flux = model.build_errors.iter().map(|error| {
        let unsure = nothing_applies_or_depends.then(|| {
            "no Flux Kustomization here builds it, and the repository holds no marker, nor an image object any kustomization lists; if one elsewhere builds this folder".to_string()
        }).or_else(|| {
            // Only Flux 2.2 (2.3) and later fail it: a verdict the assumed version alone makes.
            let file = error.origin.file();
            let fails_from_2_2 = error.message.contains(crate::model::kustomization::EMPTY);
            let fails_from_2_3 =
                crate::model::external::is_strict_configuration_failure(&error.message);
            if fails_from_2_2 && !runs_flux_from(cx, file, ClusterFlux::runs_kustomize_before_5_1) {
                Some("no Flux version is pinned, so the newest is assumed; Flux before 2.2 builds a kustomization that holds nothing as one listing nothing. If the cluster runs Flux 2.2 or later".to_string())
            } else if fails_from_2_3 && !runs_flux_from(cx, file, ClusterFlux::runs_kustomize_before_5_4) {
                Some("no Flux version is pinned, so the newest is assumed; Flux before 2.3 ignores the fields a `configurations` file holds that kustomize does not know. If the cluster runs Flux 2.3 or later".to_string())
            } else {
                None
            }
        });
        (error, unsure)
    });
    let unsure = model.unsure_build_errors.iter().map(|(error, cluster, why)| {
        let cluster = &model.clusters[*cluster];
        let folder = &cluster.name;
        let unsure = match why {
            Unsure::InputLeftOutOfGit(input) => format!("`.gitignore` leaves `{input}` out of the repository, and nothing here makes Flux build `{folder}`: applied by hand, the file is written where it is applied; if a Flux Kustomization builds it"),
            Unsure::GuessedCluster if cluster.applied_as_files => format!("nothing here applies `{folder}`, which has no kustomization file: applied by hand, that is `kubectl apply -f`, which applies each file as it is and builds nothing; if a Flux Kustomization builds it"),
            Unsure::GuessedCluster => format!("nothing here applies `{folder}`, taken as applied out of band like the bootstrap's folder beside it; if it is"),
        };
        (error, Some(unsure))
    });
    warn_of_dropped_fields(cx, out);
    for (error, unsure) in flux.chain(unsure) {
        let (message, help) = told(cx, error);
        match unsure {
            None => out.push_at(&RULE, error.origin, message, help),
            Some(unsure) => out.push_with_severity(
                &RULE,
                Severity::Warning,
                error.origin.file(),
                error.origin.span(),
                message,
                format!("{unsure}, {help}"),
            ),
        }
    }
}

/// kustomize-controller drops a field kustomize does not know from the kustomization at a Flux
/// Kustomization's `spec.path` before it builds (see `Decoding::DroppingUnknownFields`): the build
/// goes on, and what the field meant is lost without a word (caruccio/flux-intro's
/// `namePreffix`, whose prefix was never applied).
fn warn_of_dropped_fields(cx: &Context, out: &mut Findings) {
    let model = &cx.workspace.model;
    let mut warned = std::collections::BTreeSet::new();
    for root in model
        .renders
        .iter()
        .filter_map(|render| render.root.as_deref())
    {
        let Some(Err(error)) = model.kustomizations.get(root) else {
            continue;
        };
        // Where the build fails anyway (a Flux Kustomization saved as `kustomization.yaml`), that
        // failure is what to fix first.
        // Nor is a Flux Kustomization saved as `kustomization.yaml` built where its folder is
        // applied by hand, with `kubectl apply -f`: it is an object there.
        let file = error.origin.file();
        let fails = (model.build_errors.iter()).any(|failure| failure.origin.file() == file);
        if !error.message.contains(UNKNOWN_FIELD)
            || fails
            || is_flux_kustomization(&cx.file(file).source)
            || !warned.insert(error.origin)
        {
            continue;
        }
        let field = error.message.rsplit('"').nth(1).unwrap_or_default();
        let help = match closest_field(field) {
            Some(meant) => format!("did you mean `{meant}`? Correct it, or delete it"),
            // jorgegarflo/infra-k8s's Flux Kustomization, its apiVersion made kustomize's.
            None if field == "spec" => "a kustomization has no `spec`: if this file is a Flux Kustomization, give it another name than a kustomization file's (and list it in one), so that Flux applies it as an object".to_string(),
            None => format!("delete `{field}`, or write it as kustomize names the field meant"),
        };
        out.push_with_severity(
            &RULE,
            Severity::Warning,
            error.origin.file(),
            error.origin.span(),
            format!("kustomize-controller drops `{field}`, a field kustomize does not know, from the kustomization a Flux Kustomization builds (`kubectl kustomize` fails on it): it has no effect"),
            help,
        );
    }
}

/// Whether a file's `apiVersion` is a Flux Kustomization's.
fn is_flux_kustomization(source: &crate::source::SourceFile) -> bool {
    source.text().lines().any(|line| {
        line.strip_prefix("apiVersion:").is_some_and(|api| {
            (api.trim().trim_matches(['"', '\'']))
                .starts_with(crate::model::cluster::KUSTOMIZE_GROUP)
        })
    })
}

/// Whether a cluster that reads `file` (or, read by none, the repository) is known to run a
/// Flux that `older` (the deciding pins of an older one, described) does not say: one whose
/// kustomize fails what the older one builds (a kustomization that holds nothing from 2.2, a
/// `configurations` file's unknown field from 2.3); elsewhere only the newest Flux, assumed,
/// fails it.
fn runs_flux_from(cx: &Context, file: usize, older: fn(&ClusterFlux) -> Option<String>) -> bool {
    let fluxes = &cx.workspace.fluxes;
    let newer = |flux: &ClusterFlux| flux.assumption().is_none() && older(flux).is_none();
    let mut reading = (cx.workspace.model.clusters.iter())
        .zip(&fluxes.clusters)
        .filter(|(cluster, _)| cluster.files.contains(&file))
        .map(|(_, of)| &of.flux)
        .peekable();
    match reading.peek() {
        None => newer(&fluxes.repository),
        Some(_) => reading.any(newer),
    }
}

/// A failure's message and help.
fn told(cx: &Context, error: &BuildError) -> (String, String) {
    let source = &cx.file(error.origin.file()).source;
    let path = source.path.as_str();
    let kustomization_file = is_kustomization_name(crate::walk::file_name(path));
    // Elsewhere (a Flux Kustomization's `spec.path`, the listing kustomize-controller
    // generates for a folder without a kustomization file) kustomize alone fails otherwise.
    let kept_out = error.message.ends_with(crate::model::render::KEPT_OUT);
    let before_5_1 = cx
        .workspace
        .model
        .errors_before_kustomize_5_1
        .contains(error);
    let reproduce = if before_5_1 {
        " (Flux before 2.2 runs a kustomize that adds a kustomization's components before \
         running its generators; from 2.2, and in `kubectl kustomize`, they run after)"
            .to_string()
    } else if kept_out {
        " (`kubectl kustomize` of the checkout, which holds it, does not fail)".to_string()
    } else if kustomization_file {
        let dir = path.rsplit_once('/').map_or(".", |(dir, _)| dir);
        format!(" (`kubectl kustomize --load-restrictor LoadRestrictionsNone {dir}` shows the same error)")
    } else {
        String::new()
    };
    let message = match error.cause {
        // Flux's own step after the build, not kustomize's.
        Cause::InvalidVariable => format!("Flux cannot apply this: {}", error.message),
        _ => format!("kustomize cannot build this: {}", error.message),
    };
    // A Flux Kustomization saved under kustomize's file name (jorgegarflo/infra-k8s): writing
    // kustomize's apiVersion over it, as kustomize's message invites, makes Flux drop its
    // `spec` and build nothing.
    let flux_kustomization = kustomization_file && is_flux_kustomization(source);
    // Go's decoder on a string field that YAML reads as a number or boolean (`newTag: 20231010`),
    // or that holds a map or a list (`resources: [{path: app.yaml}]`).
    let into_string =
        error.message.contains("into Go struct field") && error.message.ends_with("of type string");
    let held = |kind: &str| {
        error
            .message
            .contains(&format!("cannot unmarshal {kind} into"))
    };
    let bare_patch_path = error.message.contains(BARE_PATCH_PATH);
    let without_kind = error.message.ends_with(NO_KIND);
    let written_path = || {
        source
            .text()
            .get(error.origin.span().range())
            .unwrap_or("<file>")
    };
    let fix = if bare_patch_path {
        &format!(
            "write the entry as `- path: {}`: kustomize 5 (Flux 2.0 and later) no longer reads a bare path in `patches` as a strategic merge patch file, as kustomize 4 did",
            written_path()
        )
    } else if into_string && (held("object") || held("array")) {
        "write a single string here (a path or URL), as kustomize reads it"
    } else if into_string {
        "quote the value (unquoted, YAML reads it as a number or boolean)"
    } else if without_kind && crate::walk::file_name(path) == "Chart.yaml" {
        // eknathdj/devops-gitops-flux: a Flux Kustomization whose `path` is a chart's folder.
        "this folder is a Helm chart, which kustomize does not render: install it with a HelmRelease (its chart a path of this repository's GitRepository), and let the Flux Kustomization build a folder of manifests"
    } else if without_kind {
        "a file a build takes in must hold Kubernetes objects: leave this one out of the build (out of the folder or its kustomization's `resources`, or in `.sourceignore`)"
    } else if error.cause == Cause::NamespaceCollapse {
        // OpalWight/The-Ranch: an image pull secret and the ImageRepositories' secret, one name in
        // two namespaces; deleting either breaks pulls or scans.
        "a `namespace` this build sets (a kustomization's `namespace:`, a Flux Kustomization's `targetNamespace`) gives objects of two namespaces one, and so one identity: they are two objects, not copies; drop the override and write each object's namespace, or move the one that belongs elsewhere out of this build"
    } else if error.cause == Cause::DuplicateName {
        // elliottpope/homecloud: an ImagePolicy file copied for nginx, its name left `nextcloud`.
        "the two differ, so they are not copies: two versions of one object (keep the one meant) or two objects given one name (give the other its own `metadata.name`, and the references to it: markers, `imageRepositoryRef`)"
    } else if error.cause == Cause::DuplicateId {
        "keep one of the two copies in what this build lists (where a folder without a kustomization file takes in another folder's, such as a second cluster's bootstrap, a kustomization.yaml there that lists only what belongs)"
    } else if error.message.ends_with(crate::model::render::DUPLICATE_KEY) {
        "keep one of the two (many YAML tools silently keep the last one; kustomize refuses the file)"
    } else if kept_out {
        "let it through with a `!` pattern naming it, after the one that keeps it out (Flux's default excludes hold only while no `.sourceignore` or `spec.ignore` has a pattern: any turns them off), or drop this entry"
    } else if flux_kustomization {
        "this file is a Flux Kustomization, which kustomize reads as its own configuration: rename it (any name but a kustomization file's) so that the build applies it as an object; do not change its apiVersion, which would make Flux drop its `spec` and build nothing"
    } else {
        "fix this entry"
    };
    (
        message,
        format!("Flux applies nothing of a kustomization that fails to build; {fix}{reproduce}"),
    )
}
