//! Defect 5: untrusted text (file names, marked values) cannot forge workflow commands, move the
//! terminal's cursor or break a report: each format escapes it its own way.

use crate::harness::Repo;

/// A file name and a marked value that try to start a new log line with a workflow command, and
/// carry terminal escapes and a line separator.
const EVIL_NAME: &str = "evil\u{1b}[31m\n::error file=x.yaml::forged\u{2028}.yaml";

fn evil_repo() -> Repo {
    let repo = Repo::new();
    std::fs::write(
        repo.path(EVIL_NAME),
        "image: \"ghcr.io/org/app:\\e[2J\\u2028x\" # {\"$imagepolicy\": \"flux-system:missing\"}\n",
    )
    .unwrap();
    repo
}

fn no_control_characters(text: &str) {
    assert!(
        !text.contains(['\u{1b}', '\u{2028}', '\u{0}']),
        "raw control characters in {text:?}"
    );
}

#[test]
fn human_and_github_output_escape_untrusted_text() {
    let repo = evil_repo();
    let human = repo.check(&["--format", "human"]);
    assert_eq!(human.sane(), 1, "{human:#?}");
    no_control_characters(&human.stdout);
    assert!(
        !human.stdout.lines().any(|l| l.starts_with("::")),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("evil\\u{1b}[31m\\u{a}::error"),
        "{}",
        human.stdout
    );

    let github = repo.check(&["--format", "github"]);
    assert_eq!(github.sane(), 1, "{github:#?}");
    no_control_characters(&github.stdout);
    let commands: Vec<&str> = github.stdout.lines().collect();
    assert_eq!(
        commands.len(),
        1,
        "one diagnostic, one command: {commands:?}"
    );
    assert!(
        commands[0]
            .starts_with("::error file=evil\\u{1b}[31m\\u{a}%3A%3Aerror file=x.yaml%3A%3Aforged"),
        "{}",
        commands[0]
    );
}

#[test]
fn junit_json_and_sarif_stay_well_formed_and_exact() {
    let repo = evil_repo();
    let junit = repo.check(&["--format", "junit"]);
    assert_eq!(junit.sane(), 1, "{junit:#?}");
    no_control_characters(&junit.stdout);
    assert!(!junit.stdout.contains("\n::"), "{}", junit.stdout);

    for format in ["json", "sarif"] {
        let outcome = repo.check(&["--format", format]);
        assert_eq!(outcome.sane(), 1, "{outcome:#?}");
        // The serialiser escapes C0 controls (U+2028 is valid JSON); the name comes back exactly.
        assert!(
            !outcome.stdout.contains(['\u{1b}', '\u{0}']),
            "{}",
            outcome.stdout
        );
        let document: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
        let file = if format == "json" {
            &document["diagnostics"][0]["file"]
        } else {
            &document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
                ["artifactLocation"]["uri"]
        };
        assert_eq!(file.as_str(), Some(EVIL_NAME), "{format}");
    }
}

#[test]
fn a_fix_listing_escapes_file_names_and_old_values() {
    let repo = Repo::new();
    let name = "dep\u{1b}]0;pwned\u{7}.yaml";
    std::fs::rename(repo.path("deploy.yaml"), repo.path(name)).unwrap();
    let fix = repo.fix(&["--dry-run"]);
    // A dry run that would change something exits 1.
    assert_eq!(fix.sane(), 1, "{fix:#?}");
    no_control_characters(&fix.stdout);
    no_control_characters(&fix.stderr);
    assert!(
        fix.stdout.contains(
            "dep\\u{1b}]0;pwned\\u{7}.yaml:10  ghcr.io/org/app:1.0.0 → ghcr.io/org/app:1.2.0"
        ),
        "{}",
        fix.stdout
    );
}
