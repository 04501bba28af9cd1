//! Repositories laid out with kustomizations (`fixtures/kustomize/<case>`) and with clusters
//! (`fixtures/clusters/<case>`), checked through the built binary against a golden human report:
//! faults planted inside patches reported at the patch's line, a base two roots render judged
//! once, a marker naming another cluster's policy, an out-of-band cluster beside a bootstrapped
//! one (and a left-over Flux Kustomization elsewhere), a policy file its kustomization does not
//! list, an automation file its kustomization does not list, a marker in a Flux
//! Kustomization of another repository (a warning: that source may define its policy, as may
//! one the cluster applies beside a manifest here; a Kustomization whose `targetNamespace` moves
//! its policies elsewhere keeps the error), a Flux Kustomization whose path
//! does not exist (or names a file), a bootstrap whose path does not exist (a typo beside a live bootstrap, in the
//! path's last segment or in its first, one moved under `k8s/` or renamed `old-clusters/home`
//! with no other bootstrap: each keeps its error), a bootstrap whose build
//! fails (one cluster, one error), an application's build that fails (and one whose `newTag` YAML reads as a number, one that lists a folder's kustomization file), Flux versions per cluster, a kustomization of comments only
//! (an error where the cluster's Flux is 2.2 or newer, nothing before; a cluster that pins no
//! Flux beside one on 2.1 takes the newest, not its neighbour's), Helm chart values,
//! `substituteFrom`; the summary of what no cluster applies; a branch per environment; `explain`
//! of a policy each cluster writes its own way.
//! (`fixtures/kustomize/oracle/` holds the renderer's cases for `tests/kustomize_oracle.rs`.)

mod support;

use support::{assert_golden, copy_dir, git, repo_dir, run, stdout};

fn each_case_matches_its_golden_report(layout: &str) {
    let cases_dir = repo_dir().join("fixtures").join(layout);
    let mut cases: Vec<String> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "oracle")
        .collect();
    cases.sort();
    assert!(cases.len() >= 2, "{cases:?}");
    for case in cases {
        let output = run(
            &["check", cases_dir.join(&case).to_str().unwrap()],
            &repo_dir(),
        );
        assert_golden(
            &repo_dir().join(format!("tests/golden/layouts/{layout}/{case}.txt")),
            &stdout(&output),
        );
    }
}

#[test]
fn kustomize_layouts() {
    each_case_matches_its_golden_report("kustomize");
}

#[test]
fn cluster_layouts() {
    each_case_matches_its_golden_report("clusters");
}

/// What no cluster applies is counted in the JSON summary too: the files and their markers.
#[test]
fn the_summary_counts_what_no_cluster_applies() {
    let case = repo_dir().join("fixtures/clusters/out-of-band-bootstrap");
    let output = run(
        &["check", case.to_str().unwrap(), "--format", "json"],
        &repo_dir(),
    );
    let summary = &support::json(&output)["summary"];
    assert_eq!(summary["markers"], 1);
    assert_eq!(summary["files_flux_ignores"], 1);
    assert_eq!(summary["markers_flux_ignores"], 1);
}

/// `--verbose` lists the files no cluster applies; a kustomization whose build fails is among
/// them, but it is checked: its failure is reported, and the listing says so.
#[test]
fn verbose_tells_a_failing_build_from_a_file_not_checked() {
    let case = repo_dir().join("fixtures/clusters/app-build-fails");
    let output = run(&["check", case.to_str().unwrap(), "--verbose"], &repo_dir());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "not applied by Flux, its build fails (reported below): apps/kustomization.yaml"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not checked: apps/kustomization.yaml"),
        "{stderr}"
    );
    assert!(
        stdout(&output).contains("resource `missing.yaml` does not exist"),
        "{}",
        stdout(&output)
    );
}

/// A branch per environment, each applied from its own GitRepository of this repository: the
/// work tree on `staging` is what the `staging` GitRepository syncs, so its Flux Kustomization
/// is built here and the policy it applies answers the marker. On `main` it is another
/// revision's, and the marker's policy is not found applied.
#[test]
fn the_checked_out_branch_is_what_its_own_git_repository_syncs() {
    let repo = tempfile::tempdir().unwrap();
    support::copy_dir(
        &repo_dir().join("fixtures/branch-per-environment"),
        repo.path(),
    );
    support::git(repo.path(), &["init", "-q", "-b", "main"]);
    support::git(repo.path(), &["add", "-A"]);
    support::git(repo.path(), &["commit", "-q", "-m", "environments"]);
    let report = || support::json(&run(&["check", ".", "--format", "json"], repo.path()));
    let warnings = || support::locations_of(&report(), Some("warning"));
    assert_eq!(
        warnings(),
        ["unknown-policy apps/staging/deployment.yaml:17"]
    );
    // It says where the folder is applied from, not to apply it again from here.
    let message = report()["diagnostics"][0]["message"].to_string();
    assert!(
        message.contains("Flux Kustomization `apps-staging` of cluster `clusters/home` applies this folder from `staging`"),
        "{message}"
    );
    support::git(repo.path(), &["checkout", "-q", "-b", "staging"]);
    assert_eq!(warnings(), Vec::<String>::new());
}

/// A FluxInstance whose sync path is no folder here roots another repository's cluster when the
/// repository it syncs is none of the work tree's remotes (a template copied into deploy
/// repositories), and fails as written when it is this one (`fixtures/remotes`).
#[test]
fn a_root_of_another_repository_is_told_by_the_remotes() {
    for (origin, fails) in [
        ("https://github.com/example-org/fluxcd-template.git", false),
        ("git@github.com:example-org/project1-dev.git", true),
    ] {
        let (report, stderr) = check_with_origin("fluxinstance-of-a-deploy-repository", origin);
        let missing = "the Flux Kustomization's path `fluxcd/flux` does not exist";
        assert_eq!(report.contains(missing), fails, "{origin}: {report}");
        assert_eq!(
            stderr.contains("taken as another repository's cluster, not followed"),
            !fails,
            "{origin}: {stderr}"
        );
        // Checked as its Flux Kustomizations lay it out: the marker is reached.
        assert_eq!(
            stderr.contains("not checked: apps/app/deployment.yaml"),
            fails,
            "{origin}: {stderr}"
        );
    }
}

/// A repository holding copies of other repositories, each in a folder named as it is: a copy's
/// bootstrap syncs its path from the copy's root, not this one's, and a copy's `path: ./` of its
/// own source is no loop of this repository's. When the work tree is that copied repository
/// itself, or a fork of it (its clusters moved into a subfolder, paths not updated), the path
/// is a fault.
#[test]
fn a_bootstrap_of_a_copied_repository_roots_no_cluster_here() {
    for (origin, fails) in [
        ("https://github.com/example/gitops-demos", false),
        ("git@gitlab.example.com:tenants/flux-fleet.git", true),
        ("https://github.com/someone/flux-fleet", true),
    ] {
        let (report, stderr) = check_with_origin("copies-of-bootstrapped-repositories", origin);
        let missing = "the Flux Kustomization's path `clusters/staging` does not exist";
        assert_eq!(report.contains(missing), fails, "{origin}: {report}");
        assert!(!report.contains("has no `kind`"), "{origin}: {report}");
        let copy = "`tenants/flux-fleet` holds a copy of it: taken as that repository's cluster, not followed (check the copy on its own: `flux-image-lint check tenants/flux-fleet`)";
        assert_eq!(stderr.contains(copy), !fails, "{origin}: {stderr}");
    }
}

/// A cluster folder copied from another repository under a new parent, its bootstrap as
/// written there: where the repository it syncs is none of the work tree's remotes, it roots
/// that repository's cluster; where it is this one, or no remote is on a server, the folder may
/// have been moved and its path not updated, a fault.
#[test]
fn a_bootstrap_copied_from_another_repository_roots_no_cluster_here() {
    for (origin, fails) in [
        ("https://github.com/ip812/infra.git", false),
        ("git@github.com:ip812/apps.git", true),
        // A folder of this machine tells nothing of which repository this is (CI's clone).
        ("/srv/git/infra", true),
    ] {
        let (report, stderr) =
            check_with_origin("bootstrap-copied-from-another-repository", origin);
        let missing = "the Flux Kustomization's path `envs/prod` does not exist";
        assert_eq!(report.contains(missing), fails, "{origin}: {report}");
        let elsewhere = "`flux-system` syncs `envs/prod` of `github.com/ip812/apps`, which is no remote of this work tree, and no folder here is that path: taken as another repository's cluster, not followed";
        assert_eq!(stderr.contains(elsewhere), !fails, "{origin}: {stderr}");
    }
}

/// A repository renamed since its bootstrap, whose cluster folder was then moved under a new
/// parent: another Flux Kustomization builds a folder here from the old name, so the bootstrap
/// is this repository's, and its path a fault whatever the remote is named now.
#[test]
fn a_bootstrap_of_a_name_that_builds_folders_here_is_this_repository() {
    for origin in [
        "https://github.com/luca-iachini/fluxcd-demo.git",
        "https://github.com/luca-iachini/fluxcd-test.git",
    ] {
        let (report, stderr) = check_with_origin("renamed-and-moved-since-its-bootstrap", origin);
        let missing = "the Flux Kustomization's path `apps` does not exist";
        assert!(report.contains(missing), "{origin}: {report}");
        assert!(
            !stderr.contains("another repository's cluster"),
            "{origin}: {stderr}"
        );
    }
}

/// A repository renamed since its bootstrap: the bootstrap still syncs the old name, a
/// tenant's GitRepository the new one. Where the new name is a remote of the work tree, the
/// tenant's folder is this repository's, followed and checked; otherwise another repository's.
#[test]
fn a_git_repository_of_a_remote_of_the_work_tree_is_this_repository() {
    for (origin, followed) in [
        ("https://github.com/new-owner/fleet.git", true),
        ("git@github.com:new-owner/fleet", true),
        ("https://github.com/someone/else", false),
    ] {
        let (report, stderr) = check_with_origin("renamed-since-its-bootstrap", origin);
        let typo = "no ImagePolicy `team:ap` is defined in this repository";
        assert_eq!(report.contains(typo), followed, "{origin}: {report}");
        let not_followed = "Flux Kustomization `team` syncs from GitRepository `team`, not this repository: not followed";
        assert_eq!(
            stderr.contains(not_followed),
            !followed,
            "{origin}: {stderr}"
        );
    }
}

/// The `--verbose` check of a case of `fixtures/remotes`, copied into a fresh repository whose
/// `origin` is `origin`: its report and its notes.
fn check_with_origin(case: &str, origin: &str) -> (String, String) {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/remotes").join(case), temp.path());
    git(temp.path(), &["init", "-q"]);
    git(temp.path(), &["remote", "add", "origin", origin]);
    git(temp.path(), &["add", "-A"]);
    let output = run(
        &["check", temp.path().to_str().unwrap(), "--verbose"],
        temp.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (stdout(&output), stderr)
}

/// A policy each cluster's overlay writes its own way (production takes releases, staging
/// release candidates too): `explain` asks which cluster's copy, and explains the one named,
/// as `check -v` names it or as the path its bootstrap syncs.
#[test]
fn explain_asks_which_cluster_where_their_copies_select_apart() {
    let case = repo_dir().join("fixtures/clusters/policy-per-cluster");
    let temp = tempfile::tempdir().unwrap();
    let tags = temp.path().join("tags.json");
    std::fs::write(
        &tags,
        r#"{"ghcr.io/org/app": ["1.2.3", "1.3.0", "1.4.0-rc.1"]}"#,
    )
    .unwrap();
    let explain = |cluster: Option<&str>| {
        let mut args = vec![
            "explain",
            "flux-system:app",
            "--root",
            case.to_str().unwrap(),
            "--tags-file",
            tags.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend(
            cluster
                .map(|cluster| ["--cluster", cluster])
                .iter()
                .flatten(),
        );
        run(&args, &repo_dir())
    };
    let stderr =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).into_owned();

    let unnamed = explain(None);
    assert_eq!(unnamed.status.code(), Some(2));
    assert!(
        stderr(&unnamed).contains(
            "policy `flux-system:app` selects tags differently in clusters `clusters/production`, `clusters/staging`: pass `--cluster` with one of them"
        ),
        "{}",
        stderr(&unnamed)
    );
    for (cluster, named, latest) in [
        ("./clusters/staging/", "clusters/staging", "1.4.0-rc.1"),
        ("clusters/production", "clusters/production", "1.3.0"),
    ] {
        let report = support::json(&explain(Some(cluster)));
        assert_eq!(report["cluster"], named, "{report:#}");
        assert_eq!(report["latest"], latest, "{report:#}");
    }
    let unknown = explain(Some("clusters/prod"));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains(
            "no cluster `clusters/prod`; the clusters are `clusters/production`, `clusters/staging`"
        ),
        "{}",
        stderr(&unknown)
    );
}
