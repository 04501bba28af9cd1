//! `--kustomize auto` builds with the real kustomize (`kubectl kustomize` here): on every layout
//! fixture it finds what the native renderer finds. Only where a field's value was set by a patch
//! does it point at the object instead of the patch line, which it cannot see, and a build that
//! fails is told in kubectl's words.

mod support;

use std::collections::BTreeSet;

use support::{json, repo_dir, run};

fn findings(dir: &str, extra: &[&str]) -> BTreeSet<String> {
    let args = [&["check", dir, "--format", "json"][..], extra].concat();
    json(&run(&args, &repo_dir()))["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let rule = d["rule"].as_str().unwrap();
            let message = d["message"].as_str().unwrap();
            // The native renderer names the patch that set a value; kustomize's output cannot.
            let message = match message.find(" (set by ") {
                Some(at) => {
                    let end = message[at..]
                        .find(')')
                        .map_or(message.len(), |e| at + e + 1);
                    format!("{}{}", &message[..at], &message[end..])
                }
                None => message.to_string(),
            };
            format!("{rule} {} {message}", d["severity"])
        })
        .collect()
}

/// A failed build is told in kustomize's own words (kubectl's error, with the paths of the
/// wrapper it built): that it failed is what both renderers must find.
fn without_build_errors_words(findings: BTreeSet<String>) -> BTreeSet<String> {
    findings
        .into_iter()
        .map(|finding| match finding.strip_prefix("kustomize-build ") {
            Some(rest) => format!("kustomize-build {}", rest.split(':').next().unwrap_or(rest)),
            None => finding,
        })
        .collect()
}

#[test]
fn the_real_kustomize_finds_what_the_native_renderer_finds() {
    let mut cases = Vec::new();
    for layout in ["kustomize", "clusters", "realworld"] {
        for entry in std::fs::read_dir(repo_dir().join("fixtures").join(layout)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("oracle") {
                cases.push(path);
            }
        }
    }
    assert!(cases.len() >= 15, "{cases:?}");
    let mut differ = Vec::new();
    for case in &cases {
        let dir = case.to_str().unwrap();
        let native = without_build_errors_words(findings(dir, &[]));
        let real = without_build_errors_words(findings(dir, &["--kustomize", "auto"]));
        if native != real {
            differ.push(format!("{dir}:\n  native: {native:?}\n  real:   {real:?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// A field a `configurations` file holds that kustomize does not know fails kustomize from 5.4
/// (Flux 2.3), which the real kustomize asked here is; on the fixture's Flux 2.2.3 the build
/// succeeds, in both modes.
#[test]
fn a_configurations_field_kustomize_5_3_ignores_fails_from_flux_2_3() {
    let temp = tempfile::tempdir().unwrap();
    let case = repo_dir().join("fixtures/realworld/unknown-field-in-configurations-on-flux-2-2");
    support::copy_dir(&case, temp.path());
    let root = temp.path().to_str().unwrap();
    let modes: [&[&str]; 2] = [&[], &["--kustomize", "auto"]];
    for mode in modes {
        let found = findings(root, mode);
        assert!(
            found.iter().all(|f| !f.contains("error")),
            "{mode:?}: {found:?}"
        );
    }
    let install = temp
        .path()
        .join("clusters/pk8s/flux-system/gotk-components.yaml");
    let header = std::fs::read_to_string(&install).unwrap();
    std::fs::write(&install, header.replace("v2.2.3", "v2.3.0")).unwrap();
    for mode in modes {
        let failed = findings(root, mode);
        let refused = |f: &String| {
            f.starts_with("kustomize-build \"error\"")
                && f.contains("json: unknown field \"namespace\"")
        };
        assert!(failed.iter().any(refused), "{mode:?}: {failed:?}");
    }
}

#[test]
fn a_missing_binary_is_a_clear_error() {
    let output = run(
        &[
            "check",
            "fixtures/homelab",
            "--kustomize",
            "/nowhere/kustomize",
        ],
        &repo_dir(),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nowhere/kustomize") && stderr.contains("auto"),
        "{stderr}"
    );
}

#[test]
fn a_failed_build_is_reported_the_same_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n  - deployment.yaml\n  - missing.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app:v1.2.3 # {\"$imagepolicy\": \"flux-system:app\"}\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    let first = findings(root, &["--kustomize", "auto"]);
    let failure = first
        .iter()
        .find(|finding| finding.starts_with("kustomize-build"))
        .unwrap_or_else(|| panic!("{first:?}"));
    // kubectl's log header (`E1201 17:18:18.782871 1070 run.go:72] "command failed" err=…`) is
    // not part of the message: its time and process id differ on every run.
    assert!(
        failure.contains("missing.yaml: no such file")
            && !failure.contains("run.go")
            && !failure.contains("command failed"),
        "{failure}"
    );
    // Its paths are the repository's, not the scratch folder's wrapper's nor absolute ones.
    assert!(
        failure.contains("accumulating resources from '.'")
            && failure.contains("open missing.yaml: no such file")
            && !failure.contains(root)
            && !failure.contains("'../"),
        "{failure}"
    );
    assert_eq!(findings(root, &["--kustomize", "auto"]), first);
}

/// The diagnostics of `check` on `root` as `rule file:line message`, errors only.
fn errors_at(root: &str, extra: &[&str]) -> Vec<String> {
    let args = [&["check", root, "--format", "json"][..], extra].concat();
    (json(&run(&args, &repo_dir()))["diagnostics"]
        .as_array()
        .unwrap()
        .iter())
    .filter(|d| d["severity"] == "error")
    .map(|d| {
        let (rule, file, line) = (&d["rule"], &d["file"], &d["line"]);
        format!(
            "{} {}:{line} {}",
            rule.as_str().unwrap(),
            file.as_str().unwrap(),
            d["message"].as_str().unwrap()
        )
    })
    .collect()
}

/// A Flux Kustomization `infrastructure` that applies `./infrastructure`.
const FLUX_KUSTOMIZATION: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: infrastructure\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./infrastructure\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";

fn write_tree(root: &std::path::Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A folder a Flux Kustomization applies whose kustomization lists a folder that does not exist
/// (stefanprodan/podinfo-deploy): kubectl's words name no file of the repository, so its error
/// stands at the entry the native build names, not at `spec.path`.
#[test]
fn a_failed_build_is_placed_at_the_entry_that_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("clusters/staging/infrastructure.yaml", FLUX_KUSTOMIZATION),
            ("infrastructure/kustomization.yaml", "resources:\n  - policy.yaml\n  - repositories\n"),
            ("infrastructure/policy.yaml", "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app\n"),
        ],
    );
    let root = dir.path().to_str().unwrap();
    let native = errors_at(root, &[]);
    let real = errors_at(root, &["--kustomize", "auto"]);
    let at = |errors: &[String]| -> Vec<String> {
        errors
            .iter()
            .map(|e| e.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        at(&native),
        ["kustomize-build infrastructure/kustomization.yaml:3"],
        "{native:?}"
    );
    assert_eq!(at(&real), at(&native), "{real:?}");
    assert!(real[0].contains("kubectl kustomize"), "{real:?}");
}

/// A remote base kubectl cannot fetch here (nothing listens on 127.0.0.1:1) beside a patch file
/// that does not exist (drepkovsky/mealplan-gitops, offline): kustomize-controller fetches the
/// base and fails on the patch, which is the failure told, not this machine's network.
#[test]
fn an_unreachable_remote_base_does_not_hide_the_failure_flux_meets() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("clusters/staging/apps.yaml", &FLUX_KUSTOMIZATION.replace("infrastructure", "apps")),
            (
                "apps/kustomization.yaml",
                "resources:\n  - https://127.0.0.1:1/org/repo//base?ref=main\npatches:\n  - path: patches/missing.yaml\n",
            ),
        ],
    );
    let root = dir.path().to_str().unwrap();
    let native = errors_at(root, &[]);
    assert_eq!(native.len(), 1, "{native:?}");
    assert!(native[0].contains("patches/missing.yaml"), "{native:?}");
    assert_eq!(errors_at(root, &["--kustomize", "auto"]), native);
}

/// A generator's remote file kubectl cannot fetch here (nothing listens on 127.0.0.1:1), in a
/// build the native renderer completes (mgueye01/home-ops's Grafana dashboards, offline):
/// kustomize-controller fetches it, so nothing fails.
#[test]
fn an_unreachable_generator_file_is_no_build_failure() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("clusters/staging/infrastructure.yaml", FLUX_KUSTOMIZATION),
            (
                "infrastructure/kustomization.yaml",
                "resources:\n  - repository.yaml\nconfigMapGenerator:\n  - name: dashboard\n    files:\n      - dashboard.json=https://127.0.0.1:1/api/dashboards/12776/download\n",
            ),
            ("infrastructure/repository.yaml", "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app\n  interval: 1h\n"),
        ],
    );
    let root = dir.path().to_str().unwrap();
    assert_eq!(errors_at(root, &[]), Vec::<String>::new());
    assert_eq!(
        errors_at(root, &["--kustomize", "auto"]),
        Vec::<String>::new()
    );
}

/// A kustomization's `namespace:` over two objects of one name in two namespaces (an image pull
/// secret and the ImageRepositories' own, OpalWight/The-Ranch): kustomize fails on the identity
/// the override gives both, and the help says to narrow the override, not to delete a copy.
#[test]
fn a_namespace_override_joining_two_objects_is_told_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let repository = |namespace: &str| {
        format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: api\n  namespace: {namespace}\nspec:\n  image: ghcr.io/org/api\n")
    };
    write_tree(
        dir.path(),
        &[
            ("clusters/staging/infrastructure.yaml", FLUX_KUSTOMIZATION),
            (
                "infrastructure/kustomization.yaml",
                "namespace: default\nresources:\n  - default.yaml\n  - flux-system.yaml\n",
            ),
            ("infrastructure/default.yaml", &repository("default")),
            (
                "infrastructure/flux-system.yaml",
                &repository("flux-system"),
            ),
        ],
    );
    let root = dir.path().to_str().unwrap();
    for extra in [&[][..], &["--kustomize", "auto"]] {
        let args = [&["check", root, "--format", "json"][..], extra].concat();
        let report = json(&run(&args, &repo_dir()));
        let diagnostics = report["diagnostics"].as_array().unwrap();
        assert_eq!(diagnostics.len(), 1, "{extra:?}: {diagnostics:?}");
        let help = diagnostics[0]["help"].as_str().unwrap();
        assert!(
            help.contains("they are two objects, not copies; drop the override"),
            "{extra:?}: {help}"
        );
    }
}
