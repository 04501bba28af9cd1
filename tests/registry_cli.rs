//! The binary against a real registry (Debian's `docker-registry` on 127.0.0.1): `explain` lists
//! a repository's tags and picks Flux's choice, `check --fix` rewrites from the registry
//! (digests included), `tags --write` snapshots it, and a failing registry writes nothing.

#[path = "support/registry.rs"]
mod registry_support;

use std::path::Path;
use std::process::Output;

use registry_support::{binary_in, DockerRegistry, Kind};

fn repository(dir: &Path, image: &str, policy: &str, extra: &str) {
    std::fs::write(
        dir.join("policies.yaml"),
        format!(
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 12h\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n{extra}  policy:\n{policy}"
        ),
    )
    .unwrap();
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn explain_fix_and_snapshot_from_a_real_registry() {
    let registry = DockerRegistry::start(Kind::Plain);
    let manifest = registry.push_image("org/app", "1.0.0");
    let tags: Vec<String> = [
        "1.1.0",
        "1.2.0",
        "1.10.0",
        "2.0.0-rc.1",
        "latest",
        "v1.9.9",
        "1.10.0.sig",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    registry.tag_many("org/app", &manifest.0, &tags);
    let image = registry.image("org/app");
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    repository(
        dir,
        &image,
        "    semver:\n      range: \">=1.0.0 <2.0.0\"\n",
        "  digestReflectionPolicy: IfNotPresent\n",
    );
    std::fs::write(
        dir.join("app.yaml"),
        format!("image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"),
    )
    .unwrap();

    let explained = binary_in(
        dir,
        &[
            "explain",
            "flux-system:app",
            "--root",
            ".",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    assert_eq!(
        explained.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&explained.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert_eq!(report["latest"], "1.10.0");
    assert_eq!(report["image"], image.as_str());
    let candidates = report["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 8, "every tag of the registry: {report}");
    let outcome = |tag: &str| {
        candidates.iter().find(|c| c["tag"] == tag).unwrap()["outcome"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(outcome("1.10.0.sig"), "excluded");
    assert_eq!(outcome("2.0.0-rc.1"), "out-of-range");
    assert_eq!(outcome("latest"), "not-semver");
    assert_eq!(outcome("v1.9.9"), "candidate");

    let human = binary_in(
        dir,
        &["explain", "flux-system:app", "--root", ".", "--no-cache"],
    );
    assert!(
        stdout(&human).contains("latest: 1.10.0"),
        "{}",
        stdout(&human)
    );

    // The policy reflects digests, so the full marker gets `name:tag@digest` from the registry.
    let fixed = binary_in(dir, &["check", ".", "--fix", "--no-cache"]);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}{}",
        stdout(&fixed),
        String::from_utf8_lossy(&fixed.stderr)
    );
    let written = std::fs::read_to_string(dir.join("app.yaml")).unwrap();
    assert_eq!(
        written,
        format!(
            "image: {image}:1.10.0@{} # {{\"$imagepolicy\": \"flux-system:app\"}}\n",
            manifest.1
        )
    );

    let snapshot = dir.join("tags.json");
    let written_tags = binary_in(
        dir,
        &[
            "tags",
            "--root",
            ".",
            "--write",
            snapshot.to_str().unwrap(),
            "--no-cache",
        ],
    );
    assert_eq!(
        written_tags.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&written_tags.stderr)
    );
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    assert_eq!(snapshot[image.as_str()].as_array().unwrap().len(), 8);
}

#[test]
fn an_unreachable_registry_fails_the_fix_and_writes_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    // A closed port on loopback: connection refused, after retries.
    let port = registry_support::free_port();
    let image = format!("127.0.0.1:{port}/org/app");
    repository(dir, &image, "    semver:\n      range: \">=1.0.0\"\n", "");
    let marked = format!("image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n");
    std::fs::write(dir.join("app.yaml"), &marked).unwrap();
    let output = binary_in(
        dir,
        &[
            "check",
            ".",
            "--fix",
            "--no-cache",
            "--registry-timeout",
            "2",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&image) && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("app.yaml")).unwrap(),
        marked
    );
}
