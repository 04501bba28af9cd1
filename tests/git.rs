//! The git module against real git: a work repository and a bare remote over `file://` and
//! over `git://` (git daemon on 127.0.0.1).

#[path = "support/git_fixture.rs"]
mod git_fixture;

use flux_image_lint::git::{
    publish, read_base_files, toplevel, GitError, Identity, PublishOutcome, TRAILER,
};
use git_fixture::*;

fn files(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    list.iter()
        .map(|(p, c)| (p.to_string(), c.to_vec()))
        .collect()
}

const A_NEW: &[u8] = b"image: ghcr.io/x/a:1.1.0 # {\"$imagepolicy\": \"flux-system:a\"}\n";
const A_NEWER: &[u8] = b"image: ghcr.io/x/a:1.2.0 # {\"$imagepolicy\": \"flux-system:a\"}\n";
const RUN_NEW: &[u8] = b"#!/bin/sh\necho image: ghcr.io/x/c:3.1.0\n";

fn branch_ref() -> String {
    format!("refs/heads/{BRANCH}")
}

/// The remote review branch is exactly one commit on `base_tip` and returns its id.
fn assert_one_commit_on(fx: &Fixture, base_tip: &str) -> String {
    let tip = fx.remote_rev(&branch_ref()).expect("branch exists");
    let parents = fx.remote_git(&["rev-list", "--parents", "-n1", &tip]);
    assert_eq!(
        parents,
        format!("{tip} {base_tip}"),
        "one parent: the base tip"
    );
    let beyond = fx.remote_git(&["rev-list", "--count", &format!("{base_tip}..{tip}")]);
    assert_eq!(beyond, "1");
    let message = fx.remote_git(&["log", "-1", "--format=%B", &tip]);
    assert!(message.trim_end().ends_with(TRAILER), "{message}");
    tip
}

fn pushed_commit(outcome: &PublishOutcome) -> String {
    match outcome {
        PublishOutcome::Pushed { commit, .. } => commit.clone(),
        other => panic!("expected Pushed, got {other:?}"),
    }
}

#[test]
fn pushes_a_new_weekly_branch_without_touching_the_work_tree() {
    let fx = Fixture::new();
    let base_tip = git(&fx.work, &["rev-parse", "main"]);
    let before = fx.snapshot();
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW), ("scripts/run.sh", RUN_NEW)]);

    let outcome = publish(&fx.request(&url, &changes)).unwrap();
    let commit = pushed_commit(&outcome);
    assert_eq!(
        outcome,
        PublishOutcome::Pushed {
            branch: BRANCH.into(),
            commit: commit.clone(),
            replaced: None
        }
    );
    assert_eq!(
        fx.snapshot(),
        before,
        "work tree, index, HEAD and refs untouched"
    );

    let tip = assert_one_commit_on(&fx, &base_tip);
    assert_eq!(tip, commit);
    // Tree = base tree + changes, modes kept.
    let changed = fx.remote_git(&["diff", "--name-only", &base_tip, &tip]);
    assert_eq!(changed, "apps/a.yaml\nscripts/run.sh");
    assert_eq!(
        fx.remote_git(&["show", &format!("{tip}:apps/a.yaml")])
            .as_bytes(),
        A_NEW.strip_suffix(b"\n").unwrap()
    );
    let mode = fx.remote_git(&["ls-tree", &tip, "scripts/run.sh"]);
    assert!(mode.starts_with("100755 blob "), "{mode}");
    let link = fx.remote_git(&["ls-tree", &tip, "apps/link.yaml"]);
    assert!(link.starts_with("120000 blob "), "{link}");
    // Message, identities.
    let message = fx.remote_git(&["log", "-1", "--format=%B", &tip]);
    assert_eq!(
        message,
        "chore(images): update images for 2026-w04\n\n- apps/a.yaml: 1.0.0 -> 1.1.0\n\n\
         Generated-by: flux-image-lint"
    );
    let who = fx.remote_git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", &tip]);
    assert_eq!(
        who,
        "Image Bot <image-bot@example.org>|Image Bot <image-bot@example.org>"
    );

    // Same content again: nothing pushed.
    let again = publish(&fx.request(&url, &changes)).unwrap();
    assert_eq!(
        again,
        PublishOutcome::UpToDate {
            branch: BRANCH.into(),
            commit: tip.clone()
        }
    );
    assert_eq!(fx.remote_rev(&branch_ref()).unwrap(), tip);
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn same_week_update_replaces_the_commit_over_git_daemon() {
    let fx = Fixture::new();
    let daemon = GitDaemon::start(&fx.served);
    let url = daemon.url("remote.git");
    let base_tip = git(&fx.work, &["rev-parse", "main"]);
    let before = fx.snapshot();

    let first = files(&[("apps/a.yaml", A_NEW)]);
    let first_commit = pushed_commit(&publish(&fx.request(&url, &first)).unwrap());
    assert_eq!(assert_one_commit_on(&fx, &base_tip), first_commit);

    let up_to_date = publish(&fx.request(&url, &first)).unwrap();
    assert!(matches!(up_to_date, PublishOutcome::UpToDate { .. }));

    let second = files(&[("apps/a.yaml", A_NEWER), ("apps/b.yaml", b"b: 3\n")]);
    let outcome = publish(&fx.request(&url, &second)).unwrap();
    let second_commit = pushed_commit(&outcome);
    assert_eq!(
        outcome,
        PublishOutcome::Pushed {
            branch: BRANCH.into(),
            commit: second_commit.clone(),
            replaced: Some(first_commit.clone())
        }
    );
    assert_ne!(first_commit, second_commit);
    assert_eq!(assert_one_commit_on(&fx, &base_tip), second_commit);
    assert_eq!(
        fx.remote_git(&["diff", "--name-only", &base_tip, &second_commit]),
        "apps/a.yaml\napps/b.yaml"
    );
    assert_eq!(fx.snapshot(), before);

    // A colleague's commit on the branch, fetched over git:// to be inspected.
    fx.remote_commit_on(
        BRANCH,
        "apps/b.yaml",
        b"b: 4\n",
        "colleague on the review branch",
    );
    let err = publish(&fx.request(&url, &second)).unwrap_err();
    assert!(matches!(err, GitError::ForeignCommits { .. }), "{err:?}");
    assert!(
        err.to_string().contains("colleague on the review branch"),
        "{err}"
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn rebuilds_on_the_new_base_tip_after_the_base_moved() {
    let fx = Fixture::new();
    let url = fx.url();
    let old_base = git(&fx.work, &["rev-parse", "main"]);
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let first = pushed_commit(&publish(&fx.request(&url, &changes)).unwrap());

    // main moves on (a colleague's commit), the user pulls it.
    fx.remote_commit_on("main", "apps/b.yaml", b"b: colleague\n", "colleague change");
    git(&fx.work, &["fetch", "-q", "origin"]);
    git(
        &fx.work,
        &["update-ref", "refs/heads/main", "refs/remotes/origin/main"],
    );
    let new_base = git(&fx.work, &["rev-parse", "main"]);
    assert_ne!(old_base, new_base);

    let outcome = publish(&fx.request(&url, &changes)).unwrap();
    let second = pushed_commit(&outcome);
    assert!(matches!(outcome, PublishOutcome::Pushed { replaced: Some(ref r), .. } if *r == first));
    assert_eq!(assert_one_commit_on(&fx, &new_base), second);
    // The colleague's change is part of the base, not lost.
    assert_eq!(
        fx.remote_git(&["show", &format!("{second}:apps/b.yaml")]),
        "b: colleague"
    );
}

#[test]
fn refuses_to_replace_foreign_commits_unless_forced() {
    let fx = Fixture::new();
    let url = fx.url();
    let base_tip = git(&fx.work, &["rev-parse", "main"]);
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    publish(&fx.request(&url, &changes)).unwrap();
    fx.remote_commit_on(
        BRANCH,
        "apps/b.yaml",
        b"b: hand-made\n",
        "manual fix by a human",
    );
    let foreign_tip = fx.remote_rev(&branch_ref()).unwrap();
    let refs_before = fx.snapshot().refs;

    let err = publish(&fx.request(&url, &files(&[("apps/a.yaml", A_NEWER)]))).unwrap_err();
    eprintln!("--- {err}");
    assert!(matches!(err, GitError::ForeignCommits { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("manual fix by a human"), "{msg}");
    assert!(msg.contains("Test Human"), "{msg}");
    assert!(msg.contains("force"), "{msg}");
    assert!(msg.contains(BRANCH), "{msg}");
    assert_eq!(fx.remote_rev(&branch_ref()).unwrap(), foreign_tip);
    assert_eq!(fx.snapshot().refs, refs_before);

    // Even the same content is not "up to date": the branch has two commits.
    let err = publish(&fx.request(&url, &changes)).unwrap_err();
    eprintln!("--- {err}");
    assert!(matches!(err, GitError::ForeignCommits { .. }), "{err:?}");

    let mut forced = fx.request(&url, &changes);
    forced.force = true;
    let outcome = publish(&forced).unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Pushed { replaced: Some(ref r), .. } if *r == foreign_tip)
    );
    assert_one_commit_on(&fx, &base_tip);
}

#[test]
fn branch_at_the_base_tip_without_commits_is_replaced() {
    let fx = Fixture::new();
    let url = fx.url();
    let base_tip = git(&fx.work, &["rev-parse", "main"]);
    fx.remote_git(&["update-ref", &branch_ref(), &base_tip]);
    let outcome = publish(&fx.request(&url, &files(&[("apps/a.yaml", A_NEW)]))).unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Pushed { replaced: Some(ref r), .. } if *r == base_tip)
    );
    assert_one_commit_on(&fx, &base_tip);
}

#[cfg(unix)]
fn write_hook(path: &std::path::Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn push_rejected_by_a_server_hook_leaves_the_local_repository_unchanged() {
    let fx = Fixture::new();
    write_hook(
        &fx.bare.join("hooks/pre-receive"),
        "#!/bin/sh\necho 'branch creation is frozen' >&2\nexit 1\n",
    );
    let before = fx.snapshot();
    // Named remote, so remote-tracking refs would show any local ref update.
    let err = publish(&fx.request("origin", &files(&[("apps/a.yaml", A_NEW)]))).unwrap_err();
    eprintln!("--- {err}");
    assert!(matches!(err, GitError::PushRejected { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("branch creation is frozen"), "{msg}");
    assert!(msg.contains("left as it was"), "{msg}");
    assert_eq!(fx.snapshot(), before);
    assert_eq!(fx.remote_rev(&branch_ref()), None);
}

#[cfg(unix)]
#[test]
fn lease_mismatch_when_someone_pushed_meanwhile_is_rejected() {
    let fx = Fixture::new();
    let base_tip = git(&fx.work, &["rev-parse", "main"]);
    let first =
        pushed_commit(&publish(&fx.request("origin", &files(&[("apps/a.yaml", A_NEW)]))).unwrap());
    git(&fx.work, &["fetch", "-q", "origin"]);
    // Between our read of the remote and our push, someone moves the branch: the work
    // repository's pre-push hook does it, after git has read the remote's refs.
    write_hook(
        &fx.work.join(".git/hooks/pre-push"),
        &format!(
            "#!/bin/sh\ngit --git-dir='{}' update-ref refs/heads/{BRANCH} {base_tip}\n",
            fx.bare.display()
        ),
    );
    let before = fx.snapshot();
    let err = publish(&fx.request("origin", &files(&[("apps/a.yaml", A_NEWER)]))).unwrap_err();
    eprintln!("--- {err}");
    assert!(matches!(err, GitError::PushRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("run again"), "{err}");
    assert_eq!(fx.snapshot(), before, "local refs unchanged");
    // The concurrent update won; our lease protected it.
    assert_eq!(fx.remote_rev(&branch_ref()).unwrap(), base_tip);
    assert_ne!(first, base_tip);
}

#[test]
fn unchanged_content_is_nothing_to_commit() {
    let fx = Fixture::new();
    let url = fx.url();
    let same = files(&[("apps/a.yaml", A_YAML), ("scripts/run.sh", RUN_SH)]);
    assert_eq!(
        publish(&fx.request(&url, &same)).unwrap(),
        PublishOutcome::NothingToCommit
    );
    assert_eq!(
        publish(&fx.request(&url, &[])).unwrap(),
        PublishOutcome::NothingToCommit
    );
    assert_eq!(fx.remote_rev(&branch_ref()), None);
}

#[test]
fn the_commit_is_plain_utf8_whatever_the_repository_configures() {
    let fx = Fixture::new();
    // Signing would fail (`false` as the signing program); a Latin-1 commit encoding would add
    // an `encoding` header to a message that is UTF-8.
    git(&fx.work, &["config", "commit.gpgSign", "true"]);
    git(&fx.work, &["config", "gpg.program", "false"]);
    git(&fx.work, &["config", "i18n.commitEncoding", "ISO-8859-1"]);
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let mut request = fx.request(&url, &changes);
    request.message = "chore(images): größer";
    let commit = pushed_commit(&publish(&request).unwrap());
    let raw = fx.remote_git(&["cat-file", "commit", &commit]);
    assert!(
        !raw.contains("\nencoding ") && !raw.contains("\ngpgsig "),
        "{raw}"
    );
    assert!(raw.contains("\n\nchore(images): größer\n"), "{raw}");
}

#[test]
fn detached_head_needs_an_explicit_base() {
    let fx = Fixture::new();
    git(&fx.work, &["checkout", "-q", "--detach", "HEAD"]);
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let err = publish(&fx.request(&url, &changes)).unwrap_err();
    assert_eq!(err, GitError::DetachedHead);
    assert!(err.to_string().contains("base"), "{err}");
    let err = read_base_files(&fx.work, None, |_| true).unwrap_err();
    assert_eq!(err, GitError::DetachedHead);

    let mut request = fx.request(&url, &changes);
    request.base = Some("main");
    let before = fx.snapshot();
    let outcome = publish(&request).unwrap();
    assert!(matches!(outcome, PublishOutcome::Pushed { .. }));
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn explicit_base_other_than_the_current_branch() {
    let fx = Fixture::new();
    let main_tip = git(&fx.work, &["rev-parse", "main"]);
    git(&fx.work, &["checkout", "-q", "-b", "feature"]);
    git(&fx.work, &["commit", "-qm", "feature work"]);
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let mut request = fx.request(&url, &changes);
    request.base = Some("main");
    publish(&request).unwrap();
    assert_one_commit_on(&fx, &main_tip);

    request.base = Some("no-such-branch");
    let err = publish(&request).unwrap_err();
    assert!(matches!(err, GitError::BaseNotFound { .. }), "{err:?}");
    request.base = Some("main");
    request.branch = "main";
    let err = publish(&request).unwrap_err();
    assert!(matches!(err, GitError::BranchIsBase { .. }), "{err:?}");
}

#[test]
fn credentials_in_remote_urls_never_appear_in_errors() {
    let fx = Fixture::new();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "s3cr3t-t0ken";
    let url = format!("http://robot:{secret}@127.0.0.1:{closed_port}/infra.git");
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let err = publish(&fx.request(&url, &changes)).unwrap_err();
    eprintln!("--- {err}");
    assert!(matches!(err, GitError::RemoteUnreachable { .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("***@127.0.0.1"), "{text}");
    }

    // A named remote whose URL holds a token.
    git(&fx.work, &["remote", "add", "forgejo", &url]);
    let err = publish(&fx.request("forgejo", &changes)).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn only_files_of_the_base_tree_can_be_rewritten() {
    let fx = Fixture::new();
    let url = fx.url();
    for (path, want) in [
        ("apps/new.yaml", "PathNotInBase"),
        ("notes.txt", "PathNotInBase"),
        ("apps", "NotAFile"),
        ("apps/link.yaml", "NotAFile"),
        ("../x", "InvalidPath"),
        ("/apps/a.yaml", "InvalidPath"),
        ("apps//a.yaml", "InvalidPath"),
    ] {
        let changes = files(&[(path, b"x\n")]);
        let err = publish(&fx.request(&url, &changes)).unwrap_err();
        assert!(format!("{err:?}").starts_with(want), "{path}: {err:?}");
    }
    let dup = files(&[("apps/a.yaml", A_NEW), ("apps/a.yaml", A_NEWER)]);
    let err = publish(&fx.request(&url, &dup)).unwrap_err();
    assert!(matches!(err, GitError::InvalidPath { .. }), "{err:?}");
    assert_eq!(fx.remote_rev(&branch_ref()), None);
}

#[test]
fn read_base_files_reads_committed_content() {
    let fx = Fixture::new();
    let before = fx.snapshot();
    let (base, read) = read_base_files(&fx.work.join("apps"), None, |p| {
        p.ends_with(".yaml") || p.ends_with(".sh")
    })
    .unwrap();
    assert_eq!(base, git(&fx.work, &["rev-parse", "main"]));
    assert_eq!(
        read,
        files(&[
            ("apps/a.yaml", A_YAML), // committed, not the local edit
            ("apps/b.yaml", B_YAML),
            ("scripts/run.sh", RUN_SH),
        ]),
        "symlinks skipped"
    );
    let (_, all) = read_base_files(&fx.work, Some("main"), |_| true).unwrap();
    let names: Vec<_> = all.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        ["README.md", "apps/a.yaml", "apps/b.yaml", "scripts/run.sh"]
    );
    assert_eq!(fx.snapshot(), before);
}

#[test]
fn toplevel_finds_the_work_tree_root() {
    let fx = Fixture::new();
    assert_eq!(toplevel(&fx.work.join("apps")), Some(fx.work.clone()));
    assert_eq!(toplevel(&fx.work), Some(fx.work.clone()));
    let outside = tempfile::tempdir().unwrap();
    assert_eq!(toplevel(outside.path()), None);
}

#[test]
fn identity_from_git_config_and_signoff() {
    let fx = Fixture::new();
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let mut request = fx.request(&url, &changes);
    request.author = None;
    request.committer = None;
    let err = publish(&request).unwrap_err();
    assert_eq!(err, GitError::NoIdentity { role: "author" });
    assert!(err.to_string().contains("user.email"), "{err}");

    let mut bad = fx.request(&url, &changes);
    bad.author = Some(Identity {
        name: "Evil <x@y>".into(),
        email: "e@x".into(),
    });
    let err = publish(&bad).unwrap_err();
    assert!(
        matches!(err, GitError::InvalidIdentity { role: "author", .. }),
        "{err:?}"
    );

    git(&fx.work, &["config", "user.name", "Config Person"]);
    git(&fx.work, &["config", "user.email", "config@example.org"]);
    let mut request = fx.request(&url, &changes);
    request.author = Some(Identity {
        name: "Explicit Author".into(),
        email: "author@example.org".into(),
    });
    request.committer = None;
    request.signoff = true;
    let tip = pushed_commit(&publish(&request).unwrap());
    assert_eq!(
        fx.remote_git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", &tip]),
        "Explicit Author <author@example.org>|Config Person <config@example.org>"
    );
    let message = fx.remote_git(&["log", "-1", "--format=%B", &tip]);
    assert!(
        message.ends_with(
            "\n\nSigned-off-by: Config Person <config@example.org>\nGenerated-by: flux-image-lint"
        ),
        "{message}"
    );
}

#[test]
fn works_from_a_shallow_ci_clone() {
    let fx = Fixture::new();
    let url = fx.url();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let first = pushed_commit(&publish(&fx.request(&url, &changes)).unwrap());
    fx.remote_commit_on("main", "apps/b.yaml", b"b: moved\n", "main moves on");
    let new_base = fx.remote_rev("refs/heads/main").unwrap();

    // CI checks out the base with depth 1: the old base is not in the clone.
    let ci = fx.tmp.path().join("ci");
    git(
        fx.tmp.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "-b",
            "main",
            &url,
            ci.to_str().unwrap(),
        ],
    );
    let mut request = fx.request(&url, &changes);
    request.repo = &ci;
    let outcome = publish(&request).unwrap();
    assert!(matches!(outcome, PublishOutcome::Pushed { replaced: Some(ref r), .. } if *r == first));
    assert_one_commit_on(&fx, &new_base);
    assert!(matches!(
        publish(&request).unwrap(),
        PublishOutcome::UpToDate { .. }
    ));
}

#[test]
fn request_debug_output_redacts_the_remote() {
    let fx = Fixture::new();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let request = fx.request("https://bot:hunter2@git.example/infra.git", &changes);
    let debug = format!("{request:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("apps/a.yaml (61 bytes)"), "{debug}");
}

#[test]
fn unknown_remote_is_a_clear_error() {
    let fx = Fixture::new();
    let changes = files(&[("apps/a.yaml", A_NEW)]);
    let err = publish(&fx.request("no-such-remote", &changes)).unwrap_err();
    assert!(matches!(err, GitError::RemoteUnreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-remote") && msg.contains("git ls-remote"),
        "{msg}"
    );
    let err = publish(&fx.request("--upload-pack=evil", &changes)).unwrap_err();
    assert!(matches!(err, GitError::InvalidRemote { .. }), "{err:?}");
}
