//! The files Flux reads are the files `check` reads: what git tracks inside a repository, the
//! tree less its own `.gitignore`d files outside one, never `.ignore` or the user's global
//! excludes, and the same set for `--push`. Files that source-controller leaves out
//! (`.sourceignore`, Flux's default excludes) are read for their markers, but their objects are
//! not applied.

mod support;

use std::path::Path;
use std::process::Output;

use support::{copy_dir, diagnostic_locations, git, json, repo_dir, stdout};

/// Runs the binary in `dir` with a HOME of the test's own (no global git excludes but those
/// the test writes there).
fn check_in(dir: &Path, home: &Path, args: &[&str]) -> Output {
    support::binary()
        .arg("check")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/org/app, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: '>=1.0.0'}}
";

const MARKED: &str = "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";

#[test]
fn ignore_files_flux_does_not_read_are_not_honoured() {
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), &repo);
    let policies = "kubernetes/infrastructure/image-automation/policies/";
    write(&repo.join(".ignore"), policies);
    write(&temp.path().join(".gitignore"), "*.yaml\n");
    write(&home.join(".config/git/ignore"), "kubernetes/\n");
    // The tree's own .gitignore counts outside git: the broken marker there is not read.
    write(&repo.join(".gitignore"), "scratch/\n");
    write(
        &repo.join("scratch/broken.yaml"),
        "a: b:1 # {\"$imagepolicy\": \"x\"}\n",
    );
    let output = check_in(&repo, &home, &["--format", "json"]);
    let report = json(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["summary"]["errors"], 0, "{report}");
    assert_eq!(report["summary"]["warnings"], 0, "{report}");
    assert!(report["summary"]["markers"].as_u64().unwrap() >= 25);
}

#[test]
fn inside_git_check_reads_what_git_tracks() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    write(&repo.join("policies.yaml"), POLICY);
    write(&repo.join(".gitignore"), "generated/\n");
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "policies"]);
    let typo = "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:ap\"}\n";
    write(&repo.join("apps/app.yaml"), typo);
    write(&repo.join("generated/app.yaml"), typo);

    // Untracked: Flux never sees it, so neither does check; --verbose says so.
    let untracked = check_in(repo, repo, &["--format", "json", "--verbose"]);
    assert_eq!(
        diagnostic_locations(&untracked),
        ["unused-policy policies.yaml:8"]
    );
    let stderr = String::from_utf8_lossy(&untracked.stderr);
    assert!(
        stderr.contains("skipped apps/app.yaml: not read: git does not track it"),
        "{stderr}"
    );

    // Staged counts (pre-commit checks what is about to be committed), and so does a file
    // added despite .gitignore.
    git(repo, &["add", "apps/app.yaml"]);
    git(repo, &["add", "-f", "generated/app.yaml"]);
    let staged = check_in(repo, repo, &["--format", "json"]);
    assert_eq!(
        diagnostic_locations(&staged),
        [
            "unknown-policy apps/app.yaml:1",
            "unknown-policy generated/app.yaml:1",
            "unused-policy policies.yaml:8",
        ]
    );

    // A sub-folder root is still what git tracks there.
    let sub = check_in(repo, repo, &["apps", "--format", "json"]);
    assert_eq!(diagnostic_locations(&sub), ["unknown-policy app.yaml:1"]);
}

#[test]
fn a_failing_git_is_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    write(&temp.path().join("app.yaml"), MARKED);
    std::fs::create_dir(temp.path().join(".git")).unwrap();
    let output = check_in(temp.path(), temp.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot list the files git tracks in"),
        "{stderr}"
    );
}

#[test]
fn objects_source_controller_leaves_out_are_not_applied_but_markers_are_checked() {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    // Flux's default excludes: a policy under .github/ is never applied.
    write(&repo.join(".github/policies.yaml"), POLICY);
    write(&repo.join("apps/app.yaml"), MARKED);
    let defaults = check_in(repo, repo, &["--format", "json"]);
    assert_eq!(
        diagnostic_locations(&defaults),
        ["unknown-policy apps/app.yaml:1"]
    );

    // A .sourceignore replaces the default excludes (the .github/ policy is applied again)
    // and excludes its own paths; a marker there is still checked.
    write(
        &repo.join(".sourceignore"),
        "# drafts are not applied\ndrafts/\n",
    );
    write(
        &repo.join("drafts/policies.yaml"),
        &POLICY.replace("name: app", "name: web"),
    );
    write(
        &repo.join("drafts/web.yaml"),
        "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:web\"}\n",
    );
    let output = check_in(repo, repo, &["--format", "json", "--verbose"]);
    assert_eq!(
        diagnostic_locations(&output),
        ["unknown-policy drafts/web.yaml:1"]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("skipped drafts/policies.yaml: not applied"),
        "{stderr}"
    );
}

/// `--push` reads the base commit: the same files, including a `.sourceignore` above a
/// sub-folder root, must give the same diagnostics as `check`.
#[test]
fn push_sees_the_same_file_set() {
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("work");
    let remote = temp.path().join("remote.git");
    write(&work.join(".sourceignore"), "cluster/drafts/\n");
    write(&work.join("cluster/drafts/policies.yaml"), POLICY);
    write(&work.join("cluster/apps/app.yaml"), MARKED);
    write(
        &work.join("cluster/untracked.yaml"),
        "x: y:1 # {\"$imagepolicy\": \"q\"}\n",
    );
    let tags = temp.path().join("tags.json");
    write(&tags, "{\"ghcr.io/org/app\": [\"1.0.0\"]}");
    git(
        temp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    git(
        &work,
        &["add", ".sourceignore", "cluster/drafts", "cluster/apps"],
    );
    git(&work, &["commit", "-q", "-m", "cluster"]);
    git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&work, &["push", "-q", "origin", "main"]);

    let checked = check_in(&work, &work, &["cluster", "--format", "json"]);
    let expected = ["unknown-policy apps/app.yaml:1"];
    assert_eq!(diagnostic_locations(&checked), expected);
    let pushed = check_in(
        &work,
        &work,
        &[
            "cluster",
            "--fix",
            "--push",
            "--tags-file",
            tags.to_str().unwrap(),
            "--author",
            "Bot <bot@example.com>",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        diagnostic_locations(&pushed),
        expected,
        "{}{}",
        stdout(&pushed),
        String::from_utf8_lossy(&pushed.stderr)
    );
}
