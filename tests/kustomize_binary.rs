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
