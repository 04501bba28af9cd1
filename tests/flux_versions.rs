//! Which Flux a repository runs, read from each source (`fixtures/flux-versions`, one case per
//! source), and `check --flux-version`: golden human reports, each naming where the version
//! was read.

mod support;

use std::path::Path;

use support::{assert_golden, json, repo_dir, run, stdout};

/// Each case and the place its Flux version must be read from (the config beats the install
/// manifest in `config-flux-version`; the FluxInstance beats it in `flux-instance-range`).
const CASES: &[(&str, &str)] = &[
    (
        "config-flux-version",
        "`flux_version: 2.2` at .flux-image-lint.yaml:2",
    ),
    (
        "controller-image-tags",
        "image-reflector-controller v0.34.0 at flux-system/image-controllers.yaml:9",
    ),
    (
        "crd-served-flags",
        "ImageUpdateAutomation CRD served flags at vendor/image-crds.yaml:23",
    ),
    (
        "flux-instance-range",
        "FluxInstance version `2.7.x` at clusters/prod/flux-instance.yaml:8",
    ),
    (
        "install-header-any-name",
        "install manifest header at infrastructure/flux/crds.yaml:3",
    ),
];

fn case_dir(case: &str) -> String {
    repo_dir()
        .join("fixtures/flux-versions")
        .join(case)
        .to_str()
        .unwrap()
        .to_string()
}

/// Every message of a JSON report, one per line.
fn messages(args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    json(&run(&args, &repo_dir()))["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_source_pins_the_version() {
    let listed: Vec<String> = std::fs::read_dir(repo_dir().join("fixtures/flux-versions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        listed.len(),
        CASES.len(),
        "every case needs its source: {listed:?}"
    );
    for (case, source) in CASES {
        let dir = case_dir(case);
        let report = stdout(&run(&["check", &dir], &repo_dir()));
        assert_golden(
            &repo_dir().join(format!("tests/golden/flux-versions/{case}.txt")),
            &report,
        );
        let messages = messages(&["check", &dir]);
        assert!(
            messages.contains(source),
            "{case}: the version is not read from {source}:\n{messages}"
        );
    }
}

#[test]
fn upgrade_mode_reports_what_breaks_with_the_current_version() {
    for (case, source) in CASES {
        let dir = case_dir(case);
        let output = run(&["check", &dir, "--flux-version", "2.9"], &repo_dir());
        let report = stdout(&output);
        assert_golden(
            &repo_dir().join(format!("tests/golden/flux-versions/{case}.upgrade-2.9.txt")),
            &report,
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{case}: something breaks on 2.9"
        );
        let messages = messages(&["check", &dir, "--flux-version", "2.9"]);
        let upgrade_messages: Vec<&str> = messages
            .lines()
            .filter(|m| m.contains("`--flux-version 2.9`"))
            .collect();
        assert!(
            !upgrade_messages.is_empty()
                && upgrade_messages
                    .iter()
                    .all(|m| m.contains("the cluster runs")),
            "{case}: the messages do not name both versions:\n{messages}"
        );
        assert!(
            messages.contains(source),
            "{case}: the current version is not read from {source}:\n{messages}"
        );
    }
}

/// `apiVersion: image.toolkit.fluxcd.io/v1beta2` lines of a tree, as `file:line`.
fn v1beta2_objects(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            v1beta2_objects(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.trim() == "apiVersion: image.toolkit.fluxcd.io/v1beta2" {
                    let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                    out.push(format!("{relative}:{}", i + 1));
                }
            }
        }
    }
}

fn api_version_diagnostics(report: &serde_json::Value, severity: &str) -> Vec<String> {
    let mut found: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "api-version" && d["severity"] == severity)
        .map(|d| format!("{}:{}", d["file"].as_str().unwrap(), d["line"]))
        .collect();
    found.sort();
    found
}

/// louis-vs/lvs-cloud runs Flux v2.7.2 (its gotk-components.yaml): its `v1beta2` image objects
/// are served there, deprecated; Flux 2.9 no longer serves them.
#[test]
fn lvs_cloud_is_deprecated_on_its_flux_and_breaks_on_2_9() {
    let root = repo_dir().join("fixtures/corpus/louis-vs__lvs-cloud");
    let mut objects = Vec::new();
    v1beta2_objects(&root, &root, &mut objects);
    // Stale copies whose folder's kustomization.yaml does not list them: Flux never applies
    // them, so nothing is said about their API version.
    objects.retain(|o| !o.starts_with("applications/"));
    objects.sort();
    assert!(objects.len() >= 6, "{objects:?}");
    let dir = root.to_str().unwrap();

    let report = json(&run(&["check", dir, "--format", "json"], &repo_dir()));
    assert_eq!(api_version_diagnostics(&report, "warning"), objects);
    assert!(api_version_diagnostics(&report, "error").is_empty());
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "api-version")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .all(|m| m.contains("deprecated in Flux 2.7.2")
                && m.contains("flux-system/gotk-components.yaml:3")),
        "{messages:?}"
    );

    let upgrade = json(&run(
        &["check", dir, "--format", "json", "--flux-version", "2.9"],
        &repo_dir(),
    ));
    assert_eq!(api_version_diagnostics(&upgrade, "error"), objects);
    assert!(api_version_diagnostics(&upgrade, "warning").is_empty());
}

#[test]
fn an_unpinned_repository_is_said_once_in_verbose() {
    let unpinned = repo_dir().join("fixtures/realworld/unpinned-flux-version");
    let output = run(
        &["check", unpinned.to_str().unwrap(), "--verbose"],
        &repo_dir(),
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.matches("no Flux version is pinned").count(),
        1,
        "{stderr}"
    );
    let pinned = run(
        &["check", &case_dir("flux-instance-range"), "--verbose"],
        &repo_dir(),
    );
    let stderr = String::from_utf8(pinned.stderr).unwrap();
    assert!(!stderr.contains("no Flux version is pinned"), "{stderr}");
}

#[test]
fn a_cluster_that_pins_nothing_is_said_unpinned_in_verbose() {
    let case = repo_dir().join("fixtures/realworld/cluster-without-pin-inherits-another");
    let output = run(&["check", case.to_str().unwrap(), "--verbose"], &repo_dir());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let cluster_line = |name: &str| {
        stderr
            .lines()
            .find(|line| line.starts_with(&format!("cluster clusters/{name}:")))
            .unwrap_or_else(|| panic!("no line for {name}: {stderr}"))
            .to_string()
    };
    assert!(
        cluster_line("home-workers").ends_with("Flux 0.14 (image-reflector-controller v0.9.1 at clusters/home-workers/flux-system/gotk-components.yaml:121, and 1 more)"),
        "{stderr}"
    );
    assert!(
        cluster_line("moo-cluster").ends_with("no Flux version pinned: the newest assumed"),
        "{stderr}"
    );
}

#[test]
fn a_flux_version_that_is_no_release_is_exit_2() {
    let output = run(
        &[
            "check",
            &case_dir("flux-instance-range"),
            "--flux-version",
            "latest",
        ],
        &repo_dir(),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--flux-version: `latest`"), "{stderr}");
}

/// A cluster on Flux 2.0 builds a kustomization's components before its generators: the
/// `replace` that Flux 2.2 fails builds there, and `--verbose` says that the upgrade fails it.
/// On Flux 2.2 and later, as `kubectl kustomize` builds it, the same repository fails there and
/// builds the component that merges into its parent's generated object.
#[test]
fn components_run_before_generators_before_flux_2_2() {
    let case = repo_dir().join("fixtures/realworld/component-generator-order-before-flux-2-2");
    let case = case.to_str().unwrap();
    let output = run(
        &["check", case, "--verbose", "--format", "json"],
        &repo_dir(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.contains(
            "note: apps/web/kustomization.yaml:8: cluster `clusters/home` runs Flux 2.0.1"
        ) && stderr.contains("from Flux 2.2 on the generators run first and the build fails"),
        "{stderr}"
    );
    let failing = |report: &serde_json::Value| -> Vec<String> {
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}:{}", d["file"].as_str().unwrap(), d["line"]))
            .collect()
    };
    assert_eq!(
        failing(&json(&output)),
        ["components/tuning/kustomization.yaml:4"]
    );
    let upgraded = run(
        &["check", case, "--format", "json", "--flux-version", "2.2.0"],
        &repo_dir(),
    );
    assert_eq!(failing(&json(&upgraded)), ["apps/web/kustomization.yaml:8"]);
}

/// `explain` reads the tags as the repository's Flux does: `2025.02.03` is the pick from Flux
/// 2.7 on (the newest assumed when nothing is pinned) and no version to Flux 2.6.
#[test]
fn explain_reads_tags_as_the_pinned_flux_does() {
    let temp = tempfile::tempdir().unwrap();
    let repository = temp.path().join("repository");
    std::fs::create_dir(&repository).unwrap();
    support::copy_dir(
        &repo_dir().join("fixtures/realworld/calver-leading-zero-semver-flux27"),
        &repository,
    );
    let tags = temp.path().join("tags.json");
    std::fs::write(
        &tags,
        r#"{"ghcr.io/example/app": ["2024.12.31", "2025.02.03", "2025.2.1", "latest"]}"#,
    )
    .unwrap();
    let explain = || {
        json(&run(
            &[
                "explain",
                "flux-system:app",
                "--root",
                repository.to_str().unwrap(),
                "--tags-file",
                tags.to_str().unwrap(),
                "--format",
                "json",
            ],
            &repo_dir(),
        ))
    };
    let outcome = |report: &serde_json::Value, tag: &str| {
        report["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tag"] == tag)
            .unwrap()["outcome"]
            .clone()
    };
    let newest = explain();
    assert_eq!(newest["latest"], "2025.02.03", "{newest:#}");
    assert_eq!(outcome(&newest, "2025.2.1"), "candidate");
    std::fs::write(
        repository.join(".flux-image-lint.yaml"),
        "flux_version: \"2.6\"\n",
    )
    .unwrap();
    let old = explain();
    assert_eq!(old["latest"], "2025.2.1", "{old:#}");
    assert_eq!(outcome(&old, "2025.02.03"), "not-semver");
}

/// A cluster installed by a `flux-instance` HelmRelease that sets no version runs the chart's
/// default, `2.x`: the pin of an archived FluxInstance, in files no cluster applies, does not
/// stand in for it (cbc02009/k8s-home-ops).
#[test]
fn a_flux_instance_release_without_a_version_pins_the_charts_default() {
    let case = repo_dir().join("fixtures/realworld/flux-instance-moved-to-an-archive");
    let output = run(&["check", case.to_str().unwrap(), "--verbose"], &repo_dir());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let live = stderr
        .lines()
        .find(|line| line.starts_with("cluster kubernetes/flux/cluster:"))
        .unwrap_or_else(|| panic!("no live cluster: {stderr}"));
    assert!(
        live.contains("(the flux-instance chart's default version `2.x`, its HelmRelease setting none at kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml:"),
        "{live}"
    );
    assert!(!live.contains("2.8.2"), "{live}");
}
