//! The summary a run writes for CI (`--summary-file`) shows the markers that are not up to
//! date as `status --format markdown` renders them, as the `--open-pr` body does: with `--fix`
//! the changes made (or, in a dry run, that would be) and the stuck markers; in a `check` run
//! with a tags file the pending updates and the stuck markers. Golden files, through the binary.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use support::{assert_golden, binary, copy_dir, json, repo_dir};

/// Runs the binary in `cwd` with `--summary-file`; the run and the summary it wrote.
fn summary_of(cwd: &Path, args: &[&str]) -> (Output, String) {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("summary.md");
    let output = binary()
        .args(args)
        .arg("--summary-file")
        .arg(&file)
        .current_dir(cwd)
        .output()
        .unwrap();
    let summary = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "no summary ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, summary)
}

fn golden(name: &str) -> std::path::PathBuf {
    repo_dir().join("tests/golden/summary").join(name)
}

/// The `file:line` of each row of the summary's updates section.
fn rows_of_updates_section(summary: &str) -> BTreeSet<String> {
    let section = summary
        .split("\n#### ")
        .skip_while(|part| !part.starts_with("Image updates"))
        .take_while(|part| !part.starts_with("Diagnostics"))
        .collect::<Vec<_>>()
        .join("\n");
    section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| policy |"))
        .filter_map(|line| line.split(" | ").nth(5))
        .map(|cell| cell.trim_matches('`').to_string())
        .collect()
}

/// The `file:line` of each marker `status` shows in a state other than up to date.
fn pending_in_status(fixture: &str, tags: &str, prefix: &str) -> BTreeSet<String> {
    let output = binary()
        .args(["status", fixture, "--tags-file", tags, "--format", "json"])
        .current_dir(repo_dir())
        .output()
        .unwrap();
    let report = json(&output);
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["markers"].as_array().unwrap())
        .filter(|m| m["state"] != "up-to-date")
        .map(|m| format!("{prefix}{}:{}", m["file"].as_str().unwrap(), m["line"]))
        .collect()
}

#[test]
fn check_with_a_tags_file_shows_the_pending_updates_and_stuck_markers() {
    // A sub-folder as CI checks it: the rows name files as the workspace does.
    let (output, summary) = summary_of(
        &repo_dir(),
        &[
            "check",
            "fixtures/status",
            "--tags-file",
            "fixtures/status/tags.json",
            "--relative-to",
            ".",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "errors remain");
    assert_golden(&golden("check-states.md"), &summary);
    let rows = rows_of_updates_section(&summary);
    assert_eq!(
        rows,
        pending_in_status(
            "fixtures/status",
            "fixtures/status/tags.json",
            "fixtures/status/"
        ),
        "{summary}"
    );
    assert_eq!(rows.len(), 10, "{summary}");
}

#[test]
fn check_without_tags_lists_no_updates() {
    let (output, summary) = summary_of(&repo_dir(), &["check", "fixtures/status"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!summary.contains("Image updates"), "{summary}");
    assert!(summary.contains("#### Diagnostics"), "{summary}");
}

#[test]
fn a_dry_run_shows_what_would_change_and_fails() {
    let (output, summary) = summary_of(
        &repo_dir(),
        &[
            "check",
            "fixtures/homelab",
            "--fix",
            "--dry-run",
            "--tags-file",
            "fixtures/homelab/tags.json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "something would change");
    assert_golden(&golden("dry-run-homelab.md"), &summary);
    assert!(
        summary.contains("❌ **14 marked values would change** in `.`"),
        "{summary}"
    );
    assert!(!summary.contains('✅'), "{summary}");
    assert_eq!(
        rows_of_updates_section(&summary),
        pending_in_status("fixtures/homelab", "fixtures/homelab/tags.json", ""),
    );
}

/// `--fix --keep-going` with a policy the tags file lacks: what was changed, and every marker
/// left stuck with its reason (the unresolved policy's among them); then, run again, only the
/// stuck ones.
#[test]
fn fix_shows_the_changes_made_and_the_stuck_markers() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/status"), temp.path());
    let fix = ["check", "--fix", "--keep-going", "--tags-file", "tags.json"];
    let (output, summary) = summary_of(temp.path(), &fix);
    assert_eq!(output.status.code(), Some(2), "a policy was not resolved");
    assert_golden(&golden("fix-states.md"), &summary);
    assert!(
        summary.contains("✗ stuck: not in the tags file"),
        "{summary}"
    );

    let (_, again) = summary_of(temp.path(), &fix);
    assert_golden(&golden("fix-states-again.md"), &again);
    assert!(!again.contains("↑ update"), "{again}");
    assert!(again.contains("✗ stuck"), "{again}");
}
