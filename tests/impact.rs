//! `check` with file arguments reports what the change to them breaks elsewhere, and
//! `--staged` what the staged deletions and renames break: on a git copy of the homelab sample,
//! against its HEAD. Errors the repository already had are never reported.

use std::fs;
use std::path::Path;

mod support;

use support::{copy_dir, git, repo_dir, run, stdout};

const POLICIES: &str = "kubernetes/infrastructure/image-automation/policies";
const ARR: &str = "kubernetes/infrastructure/image-automation/policies/arr-stack.yaml";
const RADARR: &str = "kubernetes/apps/base/arr/radarr/deployment.yaml";

/// The homelab sample as a git repository with one commit.
fn homelab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "homelab"]);
    dir
}

fn edit(dir: &Path, path: &str, from: &str, to: &str) {
    let file = dir.join(path);
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains(from), "{path} holds no `{from}`");
    fs::write(&file, text.replacen(from, to, 1)).unwrap();
}

/// `rule file:line message` of each diagnostic of a JSON report.
fn diagnostics(dir: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let output = run(&all, dir);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
    });
    let lines = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}:{} {}",
                d["rule"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                d["line"],
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    (output.status.code().unwrap(), lines)
}

#[test]
fn deleting_a_policy_file_reports_every_marker_it_broke() {
    let dir = homelab();
    git(dir.path(), &["rm", "-q", ARR]);
    // pre-commit passes no deleted file: with only deletions staged, no file at all.
    let (status, found) = diagnostics(dir.path(), &["--staged"]);
    assert_eq!(status, 1, "{found:#?}");
    let deleted = format!("broken by your change to `{ARR}` (deleted)");
    assert!(found.iter().all(|d| d.ends_with(&deleted)), "{found:#?}");
    for policy in ["radarr", "sonarr", "prowlarr"] {
        assert!(
            found.iter().any(|d| d.starts_with("unknown-policy ")
                && d.contains(&format!("`flux-system:{policy}`"))),
            "{policy}: {found:#?}"
        );
    }
    assert!(
        found.iter().any(|d| d.starts_with(
            "kustomize-build kubernetes/infrastructure/image-automation/kustomization.yaml:"
        )),
        "{found:#?}"
    );
    // The human report says it too, at each marker.
    let output = run(&["check", "--staged", "--color", "never"], dir.path());
    let text = stdout(&output);
    assert!(text.contains(&format!("╭─[{RADARR}:")), "{text}");
    assert!(text.contains(&deleted), "{text}");
}

#[test]
fn renaming_a_policy_reports_the_markers_elsewhere_and_blames_the_file() {
    let dir = homelab();
    edit(
        dir.path(),
        ARR,
        "kind: ImagePolicy\nmetadata:\n  name: radarr\n",
        "kind: ImagePolicy\nmetadata:\n  name: radarr-v5\n",
    );
    // Another changed file that breaks nothing: the blame names only the cause.
    edit(
        dir.path(),
        &format!("{POLICIES}/ai.yaml"),
        "interval: 12h",
        "interval: 6h",
    );
    git(dir.path(), &["add", "-A"]);
    let (status, found) = diagnostics(dir.path(), &[ARR, &format!("{POLICIES}/ai.yaml")]);
    assert_eq!(status, 1, "{found:#?}");
    let broken: Vec<&String> = found
        .iter()
        .filter(|d| d.starts_with(&format!("unknown-policy {RADARR}:")))
        .collect();
    assert_eq!(broken.len(), 1, "{found:#?}");
    assert!(
        broken[0].ends_with(&format!(
            "`flux-system:radarr` is defined in this repository; broken by your change to `{ARR}`"
        )),
        "{found:#?}"
    );
    // In a given file, a diagnostic is the file's own: no blame.
    assert!(
        found
            .iter()
            .filter(|d| d.contains(&format!(" {ARR}:")))
            .all(|d| !d.contains("broken by")),
        "{found:#?}"
    );
}

#[test]
fn errors_the_repository_already_had_are_not_the_changes() {
    let dir = homelab();
    // Committed broken: not this change's doing.
    edit(
        dir.path(),
        RADARR,
        "\"flux-system:radarr\"",
        "\"flux-system:radar\"",
    );
    git(dir.path(), &["commit", "-q", "-am", "typo"]);
    let (status, found) = diagnostics(dir.path(), &[]);
    assert_eq!(status, 1, "the repository has an error: {found:#?}");

    edit(
        dir.path(),
        &format!("{POLICIES}/ai.yaml"),
        "interval: 12h",
        "interval: 6h",
    );
    let ai = format!("{POLICIES}/ai.yaml");
    let (status, found) = diagnostics(dir.path(), &[&ai]);
    assert_eq!((status, found.len()), (0, 0), "{found:#?}");
    // The same with pre-commit's flags and nothing else staged.
    let (status, found) = diagnostics(dir.path(), &["--staged"]);
    assert_eq!((status, found.len()), (0, 0), "{found:#?}");

    // Deleting the policy the broken marker meant to name breaks the others, not it again.
    git(dir.path(), &["rm", "-q", ARR]);
    let (_, found) = diagnostics(dir.path(), &["--staged"]);
    assert!(!found.is_empty());
    assert!(
        !found.iter().any(|d| d.contains("flux-system:radar`")),
        "{found:#?}"
    );
}

#[test]
fn a_renamed_file_that_the_kustomization_still_lists_fails_at_the_kustomization() {
    let dir = homelab();
    let renamed = format!("{POLICIES}/arr.yaml");
    git(dir.path(), &["mv", ARR, &renamed]);
    let (status, found) = diagnostics(dir.path(), &["--staged", &renamed]);
    assert_eq!(status, 1, "{found:#?}");
    assert_eq!(
        found,
        [format!(
            "kustomize-build kubernetes/infrastructure/image-automation/kustomization.yaml:6 \
             kustomize cannot build this: resource `policies/arr-stack.yaml` does not exist; \
             broken by your change to `{ARR}` (renamed to `{renamed}`)"
        )]
    );
    // Listed under its new name: nothing is broken.
    edit(
        dir.path(),
        "kubernetes/infrastructure/image-automation/kustomization.yaml",
        "policies/arr-stack.yaml",
        "policies/arr.yaml",
    );
    git(dir.path(), &["add", "-A"]);
    let kustomization = "kubernetes/infrastructure/image-automation/kustomization.yaml";
    let (status, found) = diagnostics(dir.path(), &["--staged", &renamed, kustomization]);
    assert_eq!((status, found.len()), (0, 0), "{found:#?}");
}

#[test]
fn without_git_the_given_files_are_all_that_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), dir.path());
    edit(
        dir.path(),
        ARR,
        "kind: ImagePolicy\nmetadata:\n  name: radarr\n",
        "kind: ImagePolicy\nmetadata:\n  name: radarr-v5\n",
    );
    let (_, found) = diagnostics(dir.path(), &["--root", ".", ARR]);
    assert!(
        found.iter().all(|d| d.contains(&format!(" {ARR}:"))),
        "{found:#?}"
    );
}

#[test]
fn staged_takes_files_not_directories() {
    let dir = homelab();
    let output = run(&["check", "--staged", "kubernetes"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--staged takes files"));
}
