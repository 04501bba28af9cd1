//! Defect 2 (files): every input read from disk is bounded and special files are refused before
//! they are opened, each with a message naming the source.

use std::os::unix::fs::symlink;

use crate::harness::{mkfifo, run, Repo};

#[test]
fn a_100_mib_manifest_is_reported_without_being_read() {
    let repo = Repo::new();
    let big = std::fs::File::create(repo.path("generated.yaml")).unwrap();
    // Sparse: the size is there, the bytes are not, and reading it whole would show in memory.
    big.set_len(100 * 1024 * 1024).unwrap();
    let check = repo.check(&[]);
    check.exits_reporting(1, "yaml-syntax");
    assert!(
        check
            .stdout
            .contains("100 MiB, over the limit of 16 MiB; not read"),
        "{check:#?}"
    );
    assert!(check.peak_rss_mb < 64, "{} MB", check.peak_rss_mb);
}

#[test]
fn max_file_size_is_configurable() {
    let repo = Repo::new();
    std::fs::write(repo.path(".flux-image-lint.yaml"), "max_file_size: 300\n").unwrap();
    let check = repo.check(&[]);
    check.exits_reporting(1, "over the limit of 300 bytes");
    std::fs::write(repo.path(".flux-image-lint.yaml"), "max_file_size: 1MiB\n").unwrap();
    assert_eq!(repo.check(&[]).sane(), 0);
}

#[test]
fn a_fifo_in_the_walk_or_as_an_argument_is_refused_not_waited_on() {
    let repo = Repo::new();
    mkfifo(&repo.path("pipe.yaml"));
    let check = repo.check(&[]);
    assert_eq!(check.sane(), 1, "{check:#?}");
    assert!(
        check.stdout.contains("pipe.yaml") && check.stdout.contains("a FIFO, not a regular file"),
        "{check:#?}"
    );
    let pipe = repo.path("pipe.yaml");
    let root = repo.root();
    let check = run(
        &[
            "check",
            "--root",
            root.to_str().unwrap(),
            pipe.to_str().unwrap(),
        ],
        repo.dir.path(),
    );
    check.exits_reporting(1, "a FIFO");
}

#[test]
fn config_and_tags_file_that_are_special_or_huge_are_tool_failures() {
    let repo = Repo::new();
    let fifo = repo.dir.path().join("fifo");
    mkfifo(&fifo);
    let huge = repo.dir.path().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--config", fifo.to_str().unwrap()],
            "a FIFO, not a regular file",
        ),
        (&["--config", "/dev/zero"], "a character device"),
        (
            &["--tags-file", fifo.to_str().unwrap()],
            "a FIFO, not a regular file",
        ),
        (&["--tags-file", "/dev/zero"], "a character device"),
        (
            &["--tags-file", huge.to_str().unwrap()],
            "65 MiB, over the limit of 64 MiB",
        ),
    ];
    for (args, message) in cases {
        let outcome = repo.check(args);
        outcome.exits_saying(2, message);
    }
    let big_config = repo.dir.path().join("big.yaml");
    std::fs::write(&big_config, "# x\n".repeat(300_000)).unwrap();
    let outcome = repo.check(&["--config", big_config.to_str().unwrap()]);
    outcome.exits_saying(2, "over the limit of 1 MiB");
}

#[test]
fn a_committed_config_linking_out_of_the_repository_is_refused() {
    let repo = Repo::new();
    symlink("/dev/zero", repo.path(".flux-image-lint.yaml")).unwrap();
    let outcome = repo.check(&[]);
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains(".flux-image-lint.yaml: a symbolic link that leaves the repository"),
        "{outcome:#?}"
    );
    std::fs::remove_file(repo.path(".flux-image-lint.yaml")).unwrap();
    let outside = repo.dir.path().join("outside.yaml");
    std::fs::write(&outside, "default_namespace: x\n").unwrap();
    symlink(&outside, repo.path(".flux-image-lint.yaml")).unwrap();
    assert_eq!(repo.check(&[]).sane(), 2);
    // A link inside the repository is fine.
    std::fs::remove_file(repo.path(".flux-image-lint.yaml")).unwrap();
    std::fs::write(repo.path("lint.yaml"), "default_namespace: flux-system\n").unwrap();
    symlink("lint.yaml", repo.path(".flux-image-lint.yaml")).unwrap();
    assert_eq!(repo.check(&[]).sane(), 0);
}

#[test]
fn duplicate_keys_in_the_config_or_the_tags_file_are_errors() {
    let repo = Repo::with_tags(r#"{"ghcr.io/org/app": ["1.0.0"], "ghcr.io/org/app": ["9.9.9"]}"#);
    let outcome = repo.fix(&[]);
    outcome.exits_saying(2, "`ghcr.io/org/app` is listed twice");
    std::fs::write(repo.path(".flux-image-lint.yaml"), "remote: a\nremote: b\n").unwrap();
    let outcome = repo.check(&[]);
    outcome.exits_saying(2, ":2:1: `remote` is set twice");
}

#[test]
fn an_unreadable_policy_file_is_an_error_on_that_file() {
    let repo = Repo::new();
    std::fs::set_permissions(
        repo.path("policies.yaml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    // Root reads anything: run as `nobody` then, through a world-readable copy of the tree.
    let outcome = if unsafe { libc::geteuid() } == 0 {
        use std::os::unix::fs::PermissionsExt;
        for dir in [repo.dir.path().to_path_buf(), repo.root()] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(
            repo.path("deploy.yaml"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(crate::harness::binary_path())
            .args(["check", repo.root().to_str().unwrap()]);
        crate::harness::run_command(command, std::path::Path::new("/"))
    } else {
        repo.check(&[])
    };
    assert_eq!(outcome.sane(), 1, "{outcome:#?}");
    assert!(
        outcome.stdout.contains("policies.yaml")
            && outcome.stdout.contains("Permission denied")
            && !outcome.stdout.contains("unknown-policy"),
        "{outcome:#?}"
    );
}
