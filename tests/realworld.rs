//! The minimal cases of false errors seen on real repositories (`fixtures/realworld`, README
//! there): each must lint as Flux behaves. The human report of each is golden, and its errors are
//! exactly the faults Flux really has. A case still listed in `PENDING` is not there yet; the test
//! fails once it is, so the list cannot go stale.

mod support;

use support::{assert_golden, json, locations_of, repo_dir, run, stdout};

/// The errors Flux itself would have (`rule file:line`): `postbuild-substitute-marker`'s
/// `base/app.yaml` marker names `${cluster}`, which image automation reads unsubstituted; in the
/// cases of layouts where the tool once checked nothing, a marker names a policy that does not
/// exist; `marker-in-sequence-file`'s `tags.yaml` is a list, which image automation skips whole;
/// `generator-input-marker`'s values file, applied as a ConfigMap's data, names a policy whose
/// file its kustomization does not list; so does a policy's repository in
/// `repository-in-a-file-its-kustomization-does-not-list`.
fn flux_errors(case: &str) -> Vec<String> {
    match case {
        "postbuild-substitute-marker" => vec!["unknown-policy base/app.yaml:9".to_string()],
        "unknown-suffix-on-an-image-name" => {
            vec!["marker-syntax apps/jenkins/helmrelease.yaml:22".to_string()]
        }
        "kustomization-beside-policy-does-not-parse" => vec![
            "unknown-policy apps/base/clients-api/deployment.yaml:18".to_string(),
            "kustomize-build apps/base/clients-api/kustomization.yaml:7".to_string(),
        ],
        "image-template-placeholders-under-full-marker" => {
            vec!["invalid-image yaml/nodeapp-registry.yaml:9".to_string()]
        }
        "failure-met-first-by-a-guessed-cluster" => {
            vec!["kustomize-build k8s-app/podinfo/staging/kustomization.yaml:31".to_string()]
        }
        "template-field-of-a-list-of-changes" => {
            vec!["automation clusters/eldertree/swimto/image-update-automation.yaml:21".to_string()]
        }
        "flux-kustomization-of-a-helm-chart" => {
            vec!["kustomize-build charts/myapp/Chart.yaml:1".to_string()]
        }
        "tag-marker-on-a-repository-field" => vec![
            "marker-value-mismatch clusters/eldertree/bolao-claude/helmrelease.yaml:25".to_string(),
        ],
        "template-action-inside-a-mapping" => {
            vec!["kustomize-build clusters/eldertree/canopy/kustomization.yaml:4".to_string()]
        }
        "plain-value-running-on-into-a-key" => {
            vec!["kustomize-build clusters/my-cluster/flux-system/gotk-sync.yaml:20".to_string()]
        }
        "numerical-policy-without-filter-tags" => {
            vec!["numeric-extract apps/policy.yaml:13".to_string()]
        }
        "file-without-kind-in-a-cluster-folder" => {
            vec!["kustomize-build clusters/staging/sops.yaml:1".to_string()]
        }
        "bare-patch-path-on-flux-2" => vec![
            "kustomize-build apps/kube-prometheus/killercoda/kustomization.yaml:10".to_string(),
        ],
        "artifact-generator-of-this-repository" => {
            vec!["unknown-policy k8s/apps/base/app/deployment.yaml:17".to_string()]
        }
        "policy-moved-by-two-builds" => {
            vec!["unknown-policy deploy/automated/_bug-scrub-web-deployment.yaml:16".to_string()]
        }
        "docker-hub-web-page-as-image" => {
            vec!["invalid-image cluster/app-registry.yaml:8".to_string()]
        }
        "own-folder-build-failure-keeps-namespace" => vec![
            "yaml-syntax clusters/localhost/gitops/image-update-automation.yaml:20".to_string(),
            "kustomize-build clusters/localhost/gitops/kustomization.yaml:12".to_string(),
        ],
        "nested-bootstrap-duplicate-namespace" => {
            vec!["kustomize-build clusters/gcp/lab/flux-system/gotk-sync.yaml:23".to_string()]
        }
        "marker-written-as-value" => vec!["marker-syntax ocirepository.yaml:9".to_string()],
        "install-without-image-controllers" => {
            vec!["api-version clusters/my-cluster/podinfo-images.yaml:2".to_string()]
        }
        "failed-generated-build-skips-unlisted-leftover" => {
            vec!["kustomize-build k8s/app/kustomization.yaml:5".to_string()]
        }
        "misplaced-field-refused-by-server-side-apply" => {
            vec!["schema kubernetes/imageupdateautomation.yaml:20".to_string()]
        }
        "only-oci-sourced-flux-kustomization" => {
            vec!["unknown-policy deploy/app/deployment.yaml:15".to_string()]
        }
        "oci-kustomization-hides-bootstrap" | "bootstrap-in-a-cycle" => {
            vec!["unknown-policy kubernetes/apps/app/deployment.yaml:13".to_string()]
        }
        "bootstrap-patched-in-cluster-folder" => {
            vec!["unknown-policy apps/web/ptl/deployment.yaml:18".to_string()]
        }
        "postbuild-substitute-child-path" => {
            vec!["unknown-policy apps/web/dev/deployment.yaml:18".to_string()]
        }
        "orphans-without-visible-bootstrap" => {
            vec!["unknown-policy kubernetes/apps/default/web/app/deployment.yaml:13".to_string()]
        }
        "repository-in-a-file-its-kustomization-does-not-list" => vec![
            "unknown-repository clusters/staging/image-automation/imagepolicy.yaml:8".to_string(),
        ],
        "patched-bootstrap-whose-cluster-build-fails" => {
            vec!["kustomize-build clusters/cftptl/flux-system/kustomization.yaml:6".to_string()]
        }
        "flux-kustomization-saved-as-kustomization-yaml" => {
            vec!["kustomize-build kustomization.yaml:1".to_string()]
        }
        // The API server refuses the names the suffix makes.
        "repository-renamed-by-a-name-suffix" => vec![
            "unknown-policy apps/staging/sre-challenge-app/deployment.yaml:27".to_string(),
            "schema apps/staging/sre-challenge-app/imagepolicy.yaml:4".to_string(),
            "unknown-repository apps/staging/sre-challenge-app/imagepolicy.yaml:8".to_string(),
            "schema apps/staging/sre-challenge-app/imagerepository.yaml:4".to_string(),
            "schema apps/staging/sre-challenge-app/imageupdateautomation.yaml:4".to_string(),
        ],
        "replacements-select-other-kinds" => {
            vec!["automation apps/base/goloom/image-update-automation.yaml:20".to_string()]
        }
        "template-reads-a-field-the-result-lacks" => vec![
            "automation infrastructure/image-automation/image-update-automation.yaml:19"
                .to_string(),
        ],
        "misplaced-field-of-another-meaning" => vec![
            "schema infrastructure/image-automation.yaml:32".to_string(),
            "schema infrastructure/image-automation.yaml:33".to_string(),
        ],
        "template-reads-a-field-updated-lacks" => {
            vec!["automation gitops/image-automation.yaml:40".to_string()]
        }
        "extract-without-its-dollar" => {
            vec!["invalid-extract apps/nextcloud/nextcloud-image-policy.yaml:9".to_string()]
        }
        "policy-copied-with-its-name" => vec![
            "kustomize-build apps/nextcloud/kustomization.yaml:8".to_string(),
            "unknown-policy apps/nextcloud/nextcloud.yaml:13".to_string(),
        ],
        "json-patch-fails-on-a-file-without-flux" => {
            vec!["kustomize-build apps/dev/kustomization.yaml:10".to_string()]
        }
        "full-marker-writes-into-a-tag-field" => vec![
            "marker-value-mismatch overlays/production/helmrelease.yaml:19".to_string(),
            "marker-value-mismatch overlays/production/kustomization.yaml:10".to_string(),
        ],
        "extract-names-a-group-a-letter-away" => {
            vec!["invalid-extract deploy/image-policy.yaml:23".to_string()]
        }
        "name-marker-on-a-tag-field" => {
            vec!["marker-value-mismatch deploy/apps/app1/release.yaml:19".to_string()]
        }
        "template-reads-a-field-of-a-list-position" => vec![
            "automation infrastructure/image-automation/image-automation.yaml:89".to_string(),
            "automation infrastructure/image-automation/image-automation.yaml:89".to_string(),
        ],
        "default-exclude-keeps-out-a-generator-input" => {
            vec!["kustomize-build kustomization.yaml:12".to_string()]
        }
        "postbuild-variables-under-a-full-marker" => {
            vec!["marker-value-mismatch apps/troubleshooter/deployment.yaml:17".to_string()]
        }
        "key-written-twice-in-the-automation" => {
            vec!["kustomize-build clusters/staging/flux-system/gotk-sync.yaml:23".to_string()]
        }
        "image-kind-in-another-group" => {
            vec!["api-version flux-system/image-automation/orion-api-repo.yaml:1".to_string()]
        }
        "template-calls-undefined-function" => vec!["automation apps/goloom.yaml:53".to_string()],
        "name-kubernetes-refuses" => vec![
            "unknown-policy app/user-service.yml:18".to_string(),
            "schema app/user-service.yml:26".to_string(),
            "schema app/user-service.yml:38".to_string(),
        ],
        "policy-moved-by-a-target-namespace" => {
            vec!["unknown-policy apps/blog/deployment.yaml:20".to_string()]
        }
        "generator-input-marker" => {
            vec!["unknown-policy apps/app/values.yaml:2".to_string()]
        }
        "component-generator-order-before-flux-2-2" => {
            vec!["kustomize-build components/tuning/kustomization.yaml:4".to_string()]
        }
        "duplicate-identical-across-kustomizations" => {
            vec!["duplicate-object infra/images/repository.yaml:4".to_string()]
        }
        "marker-in-sequence-file" => vec![
            "marker-ignored tags.yaml:2".to_string(),
            "marker-ignored tags.yaml:3".to_string(),
        ],
        _ => Vec::new(),
    }
}

/// Cases whose fix has not landed yet, with the issue that owns it.
const PENDING: &[(&str, u32)] = &[];

#[test]
fn each_case_lints_as_flux_behaves() {
    let cases_dir = repo_dir().join("fixtures/realworld");
    let mut cases: Vec<String> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "{cases:?}");
    let mut wrong = Vec::new();
    for case in &cases {
        let dir = cases_dir.join(case);
        let dir = dir.to_str().unwrap();
        let human = run(&["check", dir], &repo_dir());
        assert_golden(
            &repo_dir().join(format!("tests/golden/realworld/{case}.txt")),
            &stdout(&human),
        );
        let report = json(&run(&["check", dir, "--format", "json"], &repo_dir()));
        let errors = locations_of(&report, Some("error"));
        let pending = PENDING.iter().find(|(name, _)| name == case);
        match (errors == flux_errors(case), pending) {
            (true, Some((_, issue))) => wrong.push(format!(
                "{case} now lints as Flux behaves: remove it from PENDING (issue {issue})"
            )),
            (false, None) => wrong.push(format!(
                "{case}: errors {errors:?}, Flux has {:?}",
                flux_errors(case)
            )),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A spec shared through a merge key (`<<: *policy-spec`) is judged in every object that merges
/// it, and a fault in it is reported where it is written, the anchor's line, once per object.
#[test]
fn a_fault_in_a_merged_spec_is_reported_at_the_anchor() {
    let case = repo_dir().join("fixtures/realworld/image-policies-share-spec-by-merge-key");
    let dir = tempfile::tempdir().unwrap();
    support::copy_dir(&case, dir.path());
    let images = dir.path().join("images.yaml");
    let text = std::fs::read_to_string(&images).unwrap();
    let broken = text.replace("range: '>=1.0.0'", "range: '>=1.0.0 <'");
    assert_ne!(broken, text);
    std::fs::write(&images, broken).unwrap();
    support::git(dir.path(), &["init", "-q"]);
    support::git(dir.path(), &["add", "-A"]);
    let report = json(&run(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        &repo_dir(),
    ));
    assert_eq!(
        locations_of(&report, Some("error")),
        [
            "invalid-range images.yaml:32",
            "invalid-range images.yaml:32"
        ],
        "{report:#}"
    );
}
