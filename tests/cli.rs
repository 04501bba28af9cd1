//! The built binary end to end: root discovery, file filtering, formats, exit codes,
//! determinism across thread counts, and the real-world corpus.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use support::{assert_golden, copy_dir, json, locations_of, repo_dir, run, stdout};

fn fixture(path: &str) -> String {
    repo_dir()
        .join("fixtures")
        .join(path)
        .to_str()
        .unwrap()
        .to_string()
}

fn corpus_dir() -> PathBuf {
    repo_dir().join("fixtures/corpus")
}

/// Each corpus repository has an expected-diagnostics file: one `rule file:line  # why` per
/// real fault (none: the repository lints clean; a why starting `warning:` is a warning, every
/// other an error), lines starting with `#` saying what the tool rightly leaves alone; the tool
/// must report exactly those, at those severities.
#[test]
fn corpus_diagnostics_are_exactly_the_explained_faults() {
    let corpus = corpus_dir();
    assert!(
        corpus.is_dir(),
        "the vendored corpus is missing at {}",
        corpus.display()
    );
    for name in [
        "kingdon-ci__fleet-infra",
        "fancl20__homeserver-configs",
        "AshBuk__homelab",
        "giantswarm__gitops-template",
        "louis-vs__lvs-cloud",
    ] {
        let expected_text =
            std::fs::read_to_string(repo_dir().join(format!("tests/corpus/{name}.expected")))
                .unwrap();
        let mut expected = BTreeSet::new();
        let mut expected_errors = BTreeSet::new();
        for line in expected_text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let (entry, why) = line
                .split_once("  # ")
                .unwrap_or_else(|| panic!("no explanation: {line}"));
            assert!(
                why.len() > 20 && !why.contains("TODO"),
                "weak explanation: {line}"
            );
            if !why.starts_with("warning:") {
                expected_errors.insert(entry.to_string());
            }
            expected.insert(entry.to_string());
        }
        let output = run(
            &[
                "check",
                corpus.join(name).to_str().unwrap(),
                "--format",
                "json",
            ],
            &repo_dir(),
        );
        let report = json(&output);
        let actual: BTreeSet<String> = locations_of(&report, None).into_iter().collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        let unexpected: Vec<_> = actual.difference(&expected).collect();
        assert!(
            missing.is_empty() && unexpected.is_empty(),
            "{name}: missing {missing:?}, unexpected {unexpected:?}"
        );
        let errors: BTreeSet<String> = locations_of(&report, Some("error")).into_iter().collect();
        assert_eq!(errors, expected_errors, "{name}: errors");
    }
}

#[test]
fn thread_count_does_not_change_the_output() {
    for dir in [
        corpus_dir().join("fancl20__homeserver-configs"),
        corpus_dir().join("kingdon-ci__fleet-infra"),
        repo_dir().join("fixtures/homelab"),
    ] {
        let dir = dir.to_str().unwrap().to_string();
        let one = run(
            &["check", &dir, "--format", "json", "--jobs", "1"],
            &repo_dir(),
        );
        let eight = run(
            &["check", &dir, "--format", "json", "--jobs", "8"],
            &repo_dir(),
        );
        assert!(!one.stdout.is_empty());
        assert_eq!(one.stdout, eight.stdout, "{dir}");
    }
}

#[test]
fn homelab_sample_is_clean() {
    let output = run(&["check", &fixture("homelab")], &repo_dir());
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
    let report = json(&run(
        &["check", &fixture("homelab"), "--format", "json"],
        &repo_dir(),
    ));
    assert!(
        report["summary"]["markers"].as_u64().unwrap() >= 25,
        "{report}"
    );
}

#[test]
fn file_arguments_report_only_those_files_but_load_the_whole_root() {
    let root = fixture("rules/unknown-policy/triggers");
    // The policy lives in policies.yaml; the marker in app.yaml still resolves against it.
    let output = run(
        &[
            "check",
            "--root",
            &root,
            &format!("{root}/app.yaml"),
            "--format",
            "json",
        ],
        &repo_dir(),
    );
    let report = json(&output);
    let files: BTreeSet<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.into_iter().collect::<Vec<_>>(), ["app.yaml"]);
    assert_eq!(
        report["diagnostics"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    let only_policies = run(
        &[
            "check",
            "--root",
            &root,
            &format!("{root}/policies.yaml"),
            "--format",
            "json",
        ],
        &repo_dir(),
    );
    assert_eq!(only_policies.status.code(), Some(0));
    assert!(json(&only_policies)["diagnostics"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn root_is_the_git_toplevel_of_the_current_directory() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_dir().join("fixtures/rules/unknown-policy/triggers"),
        temp.path(),
    );
    support::git(temp.path(), &["init", "-q"]);
    support::git(temp.path(), &["add", "-A"]);
    std::fs::create_dir_all(temp.path().join("deep/er")).unwrap();
    let output = run(&["check", "--format", "json"], &temp.path().join("deep/er"));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["summary"]["policies"], 1);
}

#[test]
fn formats_human_and_github() {
    let case = fixture("rules/unknown-policy/triggers");
    let human = stdout(&run(&["check", &case], &repo_dir()));
    assert!(human.contains("unknown-policy"), "{human}");
    assert!(human.contains("app.yaml:1:30"), "{human}");
    assert!(human.contains("did you mean `flux-system:app`?"), "{human}");
    assert!(human.contains("2 errors, 0 warnings"), "{human}");
    assert!(
        !human.contains('\u{1b}'),
        "no colour when not a terminal: {human}"
    );
    let github = stdout(&run(&["check", &case, "--format", "github"], &repo_dir()));
    assert_golden(
        &repo_dir().join("tests/golden/unknown-policy.github.txt"),
        &github,
    );
}

#[test]
fn formats_sarif_and_junit() {
    // Errors and a warning, so both levels appear.
    let case = fixture("rules/marker-value-mismatch/triggers");
    let sarif = stdout(&run(&["check", &case, "--format", "sarif"], &repo_dir()));
    assert_golden(
        &repo_dir().join("tests/golden/marker-value-mismatch.sarif.json"),
        &sarif,
    );
    let document: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(document["version"], "2.1.0");
    let run0 = &document["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    let junit = stdout(&run(&["check", &case, "--format", "junit"], &repo_dir()));
    assert_golden(
        &repo_dir().join("tests/golden/marker-value-mismatch.junit.xml"),
        &junit,
    );
    let clean = stdout(&run(
        &["check", &fixture("homelab"), "--format", "junit"],
        &repo_dir(),
    ));
    assert!(clean.contains("<testcase name=\"check\""), "{clean}");
}

#[test]
fn bad_config_is_exit_2_with_file_and_line() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(
        temp.path().join(".flux-image-lint.yaml"),
        "rules:\n  unknown-polcy: off\n",
    )
    .unwrap();
    let output = run(&["check", temp.path().to_str().unwrap()], &repo_dir());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".flux-image-lint.yaml:2:3"), "{stderr}");
    assert!(stderr.contains("did you mean `unknown-policy`"), "{stderr}");
}

/// A reader that stops early (`check | head -1`) ends the run quietly, as for other Unix tools:
/// no panic, no exit 101. Both streams go to a pipe whose reader is gone before anything is
/// written (the run prints only once it has scanned the repository).
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_run_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flux-image-lint"))
        .args(["check", "-v", &fixture("homelab")])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn()
        .unwrap();
    drop(reader);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
}

#[test]
fn bad_arguments_are_exit_2() {
    let output = run(&["check", "/does/not/exist"], &repo_dir());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
    assert_eq!(
        run(&["check", "--format", "xml"], &repo_dir())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn rule_documentation() {
    let listing = stdout(&run(&["rules"], &repo_dir()));
    assert!(listing.contains("marker-ignored") && listing.contains("error"));
    let docs = stdout(&run(&["rule", "marker-ignored"], &repo_dir()));
    for section in [
        "## What it catches",
        "## Why it matters in Flux",
        "## Example",
        "## Fix",
    ] {
        assert!(docs.contains(section), "{docs}");
    }
    let unknown = run(&["rule", "marker-ignore"], &repo_dir());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `marker-ignored`"));
}

#[test]
fn rule_severity_can_be_changed_and_turned_off() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_dir().join("fixtures/rules/unknown-policy/triggers"),
        temp.path(),
    );
    let dir = temp.path().to_str().unwrap();
    std::fs::write(
        temp.path().join(".flux-image-lint.yaml"),
        "rules:\n  unknown-policy: warning\n",
    )
    .unwrap();
    let output = run(&["check", dir, "--format", "json"], &repo_dir());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json(&output)["summary"]["warnings"], 2);
    std::fs::write(
        temp.path().join(".flux-image-lint.yaml"),
        "rules:\n  unknown-policy: off\n",
    )
    .unwrap();
    let output = run(&["check", dir, "--format", "json"], &repo_dir());
    assert_eq!(json(&output)["summary"]["warnings"], 0);
}

#[test]
fn readme_rule_table_is_generated_from_the_rules() {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let start = readme
        .find("<!-- rules:start -->\n")
        .expect("rules:start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("rules:end marker");
    let table = stdout(&run(&["rules", "--format", "markdown"], &repo_dir()));
    assert_eq!(
        &readme[start..end],
        table,
        "README rule table is stale: regenerate it from `flux-image-lint rules --format markdown`"
    );
}

#[test]
fn kustomization_namespaces_decide_where_policies_live() {
    let output = run(
        &["check", &fixture("kustomize-namespace"), "--format", "json"],
        &repo_dir(),
    );
    let report = json(&output);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{report}");
    assert_eq!(diagnostics[0]["rule"], "unknown-policy");
    assert_eq!(diagnostics[0]["line"], 12);
    assert!(
        diagnostics[0]["help"]
            .as_str()
            .unwrap()
            .contains("name `apps:app` in the marker where the ImageUpdateAutomation that reads it runs in `apps`"),
        "{report}"
    );
}

#[test]
fn version_help_and_completions() {
    let version = stdout(&run(&["--version"], &repo_dir()));
    assert_eq!(
        version.trim(),
        format!("flux-image-lint {}", env!("CARGO_PKG_VERSION"))
    );
    let help = stdout(&run(&["check", "--help"], &repo_dir()));
    for flag in [
        "--fix",
        "--push",
        "--tags-file",
        "--format",
        "--registry-timeout",
    ] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&run(&["completions", shell], &repo_dir()));
        assert!(
            script.contains("flux-image-lint") && script.contains("explain"),
            "{shell}"
        );
    }
}

/// Value rules keep their level on markers an automation applies, or when the repository has no
/// automation at all; on markers no automation applies they are warnings, whatever the config.
#[test]
fn value_rules_are_warnings_on_markers_no_automation_applies() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_dir().join("fixtures/realworld/marker-no-automation-applies"),
        temp.path(),
    );
    let release = temp.path().join("environments/staging/helmrelease.yaml");
    let text = std::fs::read_to_string(&release).unwrap();
    std::fs::write(&release, text.replace("staging-v1.7.5", "staging-1.7.5")).unwrap();
    std::fs::write(
        temp.path().join(".flux-image-lint.yaml"),
        "rules:\n  tag-filtered-out: error\n",
    )
    .unwrap();
    let severities = |dir: &std::path::Path| -> Vec<String> {
        let report = json(&run(
            &["check", dir.to_str().unwrap(), "--format", "json"],
            &repo_dir(),
        ));
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["rule"] == "tag-filtered-out")
            .map(|d| {
                format!(
                    "{} {}",
                    d["file"].as_str().unwrap(),
                    d["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        severities(temp.path()),
        [
            "charts/app/values.yaml warning",
            "environments/staging/helmrelease.yaml error"
        ]
    );
    let images = temp.path().join("images.yaml");
    let text = std::fs::read_to_string(&images).unwrap();
    let without_automation = &text[..text
        .find("---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation")
        .unwrap()];
    std::fs::write(&images, without_automation).unwrap();
    assert_eq!(
        severities(temp.path()),
        [
            "charts/app/values.yaml error",
            "environments/staging/helmrelease.yaml error"
        ]
    );
}
