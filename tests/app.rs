//! The command line as users of ruff and yamllint expect it, through the built binary: `--quiet`,
//! `--statistics`, `--exit-zero`, `--strict`, `--output-file`, `--dry-run`'s exit code, the
//! config file's discovery and validation, colour conventions, wrapping, and errors that name
//! their file.

mod support;

use std::path::Path;
use std::process::Output;

use support::{binary, repo_dir, stdout};

const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app\n  interval: 12h\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: \">=1.0.0\"\n";

/// A repository whose one policy no marker uses: one warning (`unused-policy`).
fn warning_only(dir: &Path) {
    std::fs::write(dir.join("policies.yaml"), POLICY).unwrap();
}

/// A repository with a marker naming a policy that does not exist: one error, one warning.
fn with_error(dir: &Path) {
    warning_only(dir);
    std::fs::write(
        dir.join("app.yaml"),
        "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:ap\"}\n",
    )
    .unwrap();
}

fn check(dir: &Path, args: &[&str]) -> Output {
    binary()
        .arg("check")
        .arg(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn quiet_leaves_out_the_summary_before_or_after_the_subcommand() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let loud = check(temp.path(), &[]);
    assert!(
        stdout(&loud).contains("1 error, 1 warning"),
        "{}",
        stdout(&loud)
    );
    for quiet in [
        check(temp.path(), &["--quiet"]),
        binary()
            .args(["-q", "check"])
            .arg(temp.path())
            .output()
            .unwrap(),
    ] {
        assert_eq!(quiet.status.code(), Some(1));
        let text = stdout(&quiet);
        assert!(
            text.contains("unknown-policy") && !text.contains("1 error"),
            "{text}"
        );
    }
}

#[test]
fn statistics_count_each_rule() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let human = check(temp.path(), &["--statistics"]);
    assert_eq!(human.status.code(), Some(1));
    assert_eq!(
        stdout(&human),
        "    1  unknown-policy  error\n    1  unused-policy   warning\n1 error, 1 warning in 1 marker across 2 YAML files (1 policy, 1 repository)\n"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&check(temp.path(), &["--statistics", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(
        json["statistics"],
        serde_json::json!([
            {"rule": "unknown-policy", "severity": "error", "count": 1},
            {"rule": "unused-policy", "severity": "warning", "count": 1},
        ])
    );
    let sarif = check(temp.path(), &["--statistics", "--format", "sarif"]);
    assert_eq!(sarif.status.code(), Some(2));
}

#[test]
fn exit_zero_and_strict() {
    let temp = tempfile::tempdir().unwrap();
    warning_only(temp.path());
    assert_eq!(check(temp.path(), &[]).status.code(), Some(0));
    assert_eq!(check(temp.path(), &["--strict"]).status.code(), Some(1));
    with_error(temp.path());
    assert_eq!(check(temp.path(), &[]).status.code(), Some(1));
    assert_eq!(check(temp.path(), &["--exit-zero"]).status.code(), Some(0));
    let both = check(temp.path(), &["--exit-zero", "--strict"]);
    assert_eq!(both.status.code(), Some(2), "they contradict each other");
}

#[test]
fn output_file_takes_the_report_and_names_itself_when_it_cannot() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let report = temp.path().join("report.json");
    let output = check(
        temp.path(),
        &["--format", "json", "-o", report.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["summary"]["errors"], 1);

    let missing = temp.path().join("no/such/dir/report.txt");
    let output = check(temp.path(), &["-o", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&output)
    );
}

#[test]
fn io_errors_name_their_file() {
    // No ImageRepository: nothing to ask a registry, an empty snapshot to write.
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("no/such/dir/tags.json");
    let output = binary()
        .args(["tags", "--root"])
        .arg(temp.path())
        .arg("--write")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.starts_with(&format!("error: cannot write {}: ", missing.display())),
        "{text}"
    );
}

#[test]
fn dry_run_exits_1_when_something_would_change() {
    let homelab = repo_dir().join("fixtures/homelab");
    let tags = homelab.join("tags.json");
    let tags = tags.to_str().unwrap();
    let stale = check(&homelab, &["--fix", "--dry-run", "--tags-file", tags]);
    assert!(
        stdout(&stale).contains("would change"),
        "{}",
        stdout(&stale)
    );
    assert_eq!(stale.status.code(), Some(1));
    // Up to date: a snapshot holding exactly the tags in use changes nothing.
    let temp = tempfile::tempdir().unwrap();
    support::copy_dir(&homelab, temp.path());
    let fixed = check(temp.path(), &["--fix", "--tags-file", tags]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    let fresh = check(temp.path(), &["--fix", "--dry-run", "--tags-file", tags]);
    assert!(
        stdout(&fresh).starts_with("no changes"),
        "{}",
        stdout(&fresh)
    );
    assert_eq!(fresh.status.code(), Some(0));
}

#[test]
fn config_yml_both_none_and_what_was_used() {
    let temp = tempfile::tempdir().unwrap();
    warning_only(temp.path());
    std::fs::write(
        temp.path().join(".flux-image-lint.yml"),
        "rules:\n  unused-policy: off\n",
    )
    .unwrap();
    let yml = check(temp.path(), &["--strict", "-v"]);
    assert_eq!(yml.status.code(), Some(0), "the .yml config is read");
    let said = stderr(&yml);
    assert!(
        said.contains(&format!(
            "root: {}",
            temp.path().canonicalize().unwrap().display()
        )) && said.contains(".flux-image-lint.yml")
            && said.contains("\nflux: "),
        "{said}"
    );
    let ignored = check(temp.path(), &["--strict", "--no-config"]);
    assert_eq!(ignored.status.code(), Some(1), "--no-config reads none");

    std::fs::write(temp.path().join(".flux-image-lint.yaml"), "rules: {}\n").unwrap();
    let both = check(temp.path(), &[]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr(&both).contains(".flux-image-lint.yaml")
            && stderr(&both).contains(".flux-image-lint.yml"),
        "{}",
        stderr(&both)
    );
}

#[test]
fn enumerated_config_values_are_checked_with_file_and_line() {
    let temp = tempfile::tempdir().unwrap();
    warning_only(temp.path());
    std::fs::write(
        temp.path().join(".flux-image-lint.yaml"),
        "served_image_apis:\n  - v1\n  - v9\n",
    )
    .unwrap();
    let output = check(temp.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(".flux-image-lint.yaml:3:5: `v9` is not a version"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_config_nearer_to_the_files_than_the_root_is_not_silently_ignored() {
    let temp = tempfile::tempdir().unwrap();
    let flux = temp.path().join("flux");
    std::fs::create_dir(&flux).unwrap();
    warning_only(&flux);
    std::fs::write(flux.join(".flux-image-lint.yaml"), "rules: {}\n").unwrap();
    let output = binary()
        .args(["check", "--root"])
        .arg(temp.path())
        .arg(flux.join("policies.yaml"))
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(
        text.contains("flux/.flux-image-lint.yaml is not read") && text.contains("--root"),
        "{text}"
    );
    let chosen = binary()
        .args(["check", "--no-config", "--root"])
        .arg(temp.path())
        .arg(flux.join("policies.yaml"))
        .output()
        .unwrap();
    assert!(
        !stderr(&chosen).contains("is not read"),
        "{}",
        stderr(&chosen)
    );
}

fn colored(output: &Output) -> bool {
    output.stdout.contains(&0x1b)
}

#[test]
fn colour_follows_the_environment_conventions() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut command = binary();
        command
            .env_remove("NO_COLOR")
            .arg("check")
            .arg(temp.path())
            .args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    assert!(!colored(&run(&[], &[])), "not a terminal: no colour");
    assert!(colored(&run(&[("FORCE_COLOR", "1")], &[])));
    assert!(
        !colored(&run(&[("FORCE_COLOR", "")], &[])),
        "empty is unset"
    );
    assert!(colored(&run(&[("CLICOLOR_FORCE", "1")], &[])));
    assert!(!colored(&run(&[("CLICOLOR_FORCE", "0")], &[])));
    assert!(!colored(&run(
        &[("FORCE_COLOR", "1")],
        &["--color", "never"]
    )));
    assert!(colored(&run(&[("NO_COLOR", "1")], &["--color", "always"])));
}

/// On a pseudo-terminal: an empty `NO_COLOR` is unset (colour), a non-empty one turns it off.
#[test]
fn an_empty_no_color_does_not_turn_colour_off() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let on_a_terminal = |no_color: &str| {
        let command = format!(
            "NO_COLOR='{no_color}' '{}' check '{}'",
            env!("CARGO_BIN_EXE_flux-image-lint"),
            temp.path().display()
        );
        let output = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .output()
            .expect("script(1) from util-linux");
        output.stdout.contains(&0x1b)
    };
    assert!(on_a_terminal(""));
    assert!(!on_a_terminal("1"));
}

#[test]
fn the_human_report_wraps_to_the_width() {
    let temp = tempfile::tempdir().unwrap();
    with_error(temp.path());
    let at = |columns: &str| {
        let output = binary()
            .env("COLUMNS", columns)
            .arg("check")
            .arg(temp.path())
            .output()
            .unwrap();
        stdout(&output)
    };
    let narrow = at("50");
    let help_lines: Vec<&str> = narrow
        .lines()
        .skip_while(|l| !l.contains("help:"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(help_lines.len() > 1, "the help wraps: {narrow}");
    for line in help_lines {
        assert!(line.chars().count() <= 50, "{line:?}");
    }
    assert_ne!(narrow, at("200"));
}

/// An ImagePolicy defined twice: each message speaks of the definition it quotes. The marker
/// resolves to the first definition (`^v[0-9.]+$`), which admits `v1.2.3`; the second
/// (`^release-`) must not lend it its verdict.
#[test]
fn a_duplicate_definition_never_lends_its_values_to_the_other() {
    let temp = tempfile::tempdir().unwrap();
    let policy = |pattern: &str| {
        format!("---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  filterTags:\n    pattern: '{pattern}'\n  policy:\n    alphabetical:\n      order: asc\n")
    };
    std::fs::write(
        temp.path().join("a.yaml"),
        format!(
            "{}{}",
            POLICY.split("---").next().unwrap(),
            policy("^v[0-9.]+$")
        ),
    )
    .unwrap();
    std::fs::write(temp.path().join("b.yaml"), policy("^release-")).unwrap();
    std::fs::write(
        temp.path().join("app.yaml"),
        "image: ghcr.io/org/app:v1.2.3 # {\"$imagepolicy\": \"flux-system:app\"}\n",
    )
    .unwrap();
    let output = check(temp.path(), &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"duplicate-object"), "{json}");
    assert!(!rules.contains(&"tag-filtered-out"), "{json}");
}

/// `unused-ignore` is opt-in: the fixture that triggers it with its config says nothing without.
#[test]
fn unused_ignores_are_reported_only_when_asked_for() {
    let fixture = repo_dir().join("fixtures/rules/unused-ignore/triggers");
    let count = |args: &[&str]| {
        let output = check(
            &fixture,
            &[&["--statistics", "--format", "json"], args].concat(),
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["statistics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["rule"] == "unused-ignore")
            .map(|s| s["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&["--no-config"]), 0);
}
