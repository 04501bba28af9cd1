//! Defects 7 and 9 (push): a git remote that never answers cannot hang `--push`, and a push that
//! fails never reads as a change.

use std::net::TcpListener;
use std::process::Command;

use crate::harness::{binary_path, run_command, Repo};
use crate::support::git;

/// A repository in git whose `origin` is `url`.
fn repo_with_remote(url: &str) -> Repo {
    let repo = Repo::new();
    let root = repo.root();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "init"]);
    git(&root, &["remote", "add", "origin", url]);
    repo
}

fn push(repo: &Repo, extra: &[&str]) -> crate::harness::Outcome {
    let mut command = Command::new(binary_path());
    command
        .args(["check", ".", "--fix", "--push", "--tags-file"])
        .arg(&repo.tags_file)
        .args(["--author", "Bot <bot@example.com>"])
        .args(extra)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo.dir.path());
    run_command(command, &repo.root())
}

#[test]
fn a_remote_that_never_answers_times_out() {
    // Accepts connections and says nothing, forever.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let repo = repo_with_remote(&format!("git://127.0.0.1:{port}/silent.git"));
    let outcome = push(&repo, &["--git-timeout", "2"]);
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains("`git ls-remote` with remote `origin` did not finish within 2 s"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stdout.contains("1 not pushed (nothing changed)"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_rejected_push_does_not_read_as_a_change() {
    let repo = repo_with_remote("/nonexistent/remote.git");
    let outcome = push(&repo, &[]);
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    assert!(!outcome.stdout.contains(" changed\n"), "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("1 not pushed"),
        "{}",
        outcome.stdout
    );
}
