//! `status` run as a binary: golden output in each format on the homelab sample and on
//! `fixtures/status` (one marker in each state), agreement with `check --fix --dry-run` and
//! `check` marker by marker, `--only`, the width of the table, exit codes, and registries on
//! 127.0.0.1 that refuse (401) or lack the repository (404).

#[path = "support/registry.rs"]
mod registry_support;
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{assert_golden, binary, json, repo_dir, stdout};

const HOMELAB: (&str, &str) = ("fixtures/homelab", "fixtures/homelab/tags.json");
const STATES: (&str, &str) = ("fixtures/status", "fixtures/status/tags.json");
const FLEET: (&str, &str) = ("fixtures/status-fleet", "fixtures/status-fleet/tags.json");

fn status(fixture: (&str, &str), extra: &[&str]) -> Output {
    binary()
        .args(["status", fixture.0, "--tags-file", fixture.1])
        .args(extra)
        .env_remove("COLUMNS")
        .current_dir(repo_dir())
        .output()
        .unwrap()
}

fn golden(name: &str) -> std::path::PathBuf {
    repo_dir().join("tests/golden/status").join(name)
}

fn assert_ok(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn golden_output_in_every_format() {
    for (fixture, name) in [(HOMELAB, "homelab"), (STATES, "states")] {
        for (format, extension) in [("human", "txt"), ("json", "json"), ("markdown", "md")] {
            let output = status(fixture, &["--format", format]);
            assert_ok(&output);
            assert_golden(&golden(&format!("{name}.{extension}")), &stdout(&output));
        }
    }
}

/// Every marker of the states fixture is in the state its comment in the fixture names.
#[test]
fn each_state_and_its_reason() {
    let report = json(&status(STATES, &["--format", "json"]));
    let state_of = |policy: &str| {
        let policy = report["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == policy)
            .unwrap_or_else(|| panic!("no policy {policy}"));
        let marker = &policy["markers"][0];
        (
            marker["state"].as_str().unwrap_or_default().to_string(),
            marker["reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    let expected = [
        ("current", "up-to-date", ""),
        ("newer", "update", ""),
        ("withdrawn", "downgrade", ""),
        ("ignored", "stuck", "marker-ignored"),
        ("outside", "stuck", "marker-outside-automation"),
        ("filtered", "stuck", "tag-filtered-out"),
        ("broken", "stuck", "policy-invalid"),
        ("typo", "stuck", "unknown-policy"),
        ("missing", "stuck", "not-in-tags-file"),
        ("pinned", "downgrade", ""),
        ("floating", "update", ""),
    ];
    for (policy, state, reason) in expected {
        assert_eq!(
            state_of(policy),
            (state.to_string(), reason.to_string()),
            "{policy}"
        );
    }
    // A downgrade says why; both name what `check` reports about the value they replace.
    let marker_of = |policy: &str| {
        report["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == policy)
            .unwrap()["markers"][0]
            .clone()
    };
    assert_eq!(marker_of("pinned")["rule"], "tag-out-of-range");
    assert_eq!(
        marker_of("pinned")["why"],
        "`2.0.0` is outside the policy's semver range"
    );
    assert_eq!(
        marker_of("withdrawn")["why"],
        "`1.2.0` is not among the repository's tags"
    );
    assert_eq!(marker_of("floating")["rule"], "tag-filtered-out");
    assert_eq!(marker_of("newer")["rule"], Value::Null);
    let spare = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "spare")
        .unwrap();
    assert_eq!(spare["markers"], serde_json::json!([]), "listed, unused");
    assert_eq!(spare["latest"], "2.1.0");
    assert_eq!(report["summary"]["unused"], 1);
}

/// A marker that repeats, where Flux ignores it, the marker Flux reads on the same value is no
/// marker of its own: the value's one update is listed, not a stuck copy beside it.
#[test]
fn an_ignored_copy_of_a_values_marker_is_not_listed() {
    let temp = tempfile::tempdir().unwrap();
    let tags = temp.path().join("tags.json");
    std::fs::write(&tags, r#"{"ghcr.io/org/app": ["1.0.0", "1.1.0"]}"#).unwrap();
    let case = "fixtures/realworld/duplicate-head-marker";
    let report = json(&status(
        (case, tags.to_str().unwrap()),
        &["--format", "json"],
    ));
    let listed: Vec<(u64, &str)> = markers(&report)
        .iter()
        .map(|m| (m["line"].as_u64().unwrap(), m["state"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(16, "update")]);
}

/// A file no cluster here applies may be applied from outside the repository (its own
/// automation rewrote this marker): its marker's fate is unknown, not stuck.
#[test]
fn a_marker_no_cluster_applies_is_unknown() {
    let case = "fixtures/realworld/folder-with-own-automation-applied-from-outside";
    let temp = tempfile::tempdir().unwrap();
    let tags = temp.path().join("tags.json");
    std::fs::write(
        &tags,
        r#"{"ghcr.io/kingdonb/water-monitor/myapp": ["main-1e4459e4-1733867080"]}"#,
    )
    .unwrap();
    let report = json(&status(
        (case, tags.to_str().unwrap()),
        &["--format", "json"],
    ));
    let listed: Vec<(u64, &str, &str)> = markers(&report)
        .iter()
        .map(|m| {
            (
                m["line"].as_u64().unwrap(),
                m["state"].as_str().unwrap(),
                m["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [(67, "unknown", "no-cluster")]);
    assert_eq!(report["summary"]["stuck"], 0);
}

/// A policy that names no namespace is in the one it is applied into: listed under the namespace
/// its marker names, as the marker finds it, not under a namespace of its own beside it.
#[test]
fn a_namespace_less_policy_is_listed_where_its_marker_finds_it() {
    let temp = tempfile::tempdir().unwrap();
    let tags = temp.path().join("tags.json");
    std::fs::write(
        &tags,
        r#"{"registry.example.com/pcm/html": ["1.0.0", "1.1.0"]}"#,
    )
    .unwrap();
    let case = "fixtures/realworld/namespace-less-policy-applied-by-hand";
    let report = json(&status(
        (case, tags.to_str().unwrap()),
        &["--format", "json"],
    ));
    let rows = report["policies"].as_array().unwrap();
    assert_eq!(
        fields(rows, &["namespace", "name", "latest"]),
        BTreeSet::from([r#""demo" "demo" "1.1.0""#.to_string()])
    );
    assert_eq!(report["summary"]["unused"], 0);
    assert_eq!(markers(&report)[0]["state"], "update");
}

/// The same policy found only by a marker Flux ignores (on a line of its own, above the value):
/// its row is keyed by the namespace that marker names, and it is resolved under that key too,
/// so its latest tag shows beside the stuck marker.
#[test]
fn a_namespace_less_policy_found_by_an_ignored_marker_keeps_its_latest_tag() {
    let temp = tempfile::tempdir().unwrap();
    let case = "fixtures/realworld/namespace-less-policy-applied-by-hand";
    let repo = temp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    support::copy_dir(&repo_dir().join(case), &repo);
    let deployment = repo.join("flux/deployment.yaml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let marker = r#"image: registry.example.com/pcm/html:1.0.0 # {"$imagepolicy": "demo:demo"}"#;
    assert!(text.contains(marker));
    let above =
        "# {\"$imagepolicy\": \"demo:demo\"}\n          image: registry.example.com/pcm/html:1.0.0";
    std::fs::write(&deployment, text.replace(marker, above)).unwrap();
    let tags = temp.path().join("tags.json");
    std::fs::write(
        &tags,
        r#"{"registry.example.com/pcm/html": ["1.0.0", "1.1.0"]}"#,
    )
    .unwrap();
    let report = json(&status(
        (repo.to_str().unwrap(), tags.to_str().unwrap()),
        &["--format", "json"],
    ));
    let rows = report["policies"].as_array().unwrap();
    assert_eq!(
        fields(rows, &["namespace", "name", "latest"]),
        BTreeSet::from([r#""demo" "demo" "1.1.0""#.to_string()])
    );
    assert_eq!(markers(&report)[0]["reason"], "marker-ignored");
}

/// The JSON report of a run of the binary in the repository.
fn run_json(args: &[&str]) -> Value {
    json(
        &binary()
            .args(args)
            .current_dir(repo_dir())
            .output()
            .unwrap(),
    )
}

/// These fields of each object, as one row per object.
fn fields<'a>(objects: impl IntoIterator<Item = &'a Value>, keys: &[&str]) -> BTreeSet<String> {
    objects
        .into_iter()
        .map(|object| {
            keys.iter()
                .map(|key| object[*key].to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn markers(report: &Value) -> Vec<&Value> {
    report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["markers"].as_array().unwrap())
        .collect()
}

/// The Done-when of issue 16: the updates `status` shows are the changes `check --fix
/// --dry-run` would make, marker by marker, and each stuck reason that names a rule is what
/// `check` reports at that marker (and each such report is a stuck marker).
#[test]
fn agrees_with_fix_and_check_marker_by_marker() {
    const STUCK_RULES: [&str; 8] = [
        "marker-ignored",
        "unknown-policy",
        "marker-value-mismatch",
        "digest-not-reflected",
        "tag-filtered-out",
        "tag-not-semver",
        "tag-out-of-range",
        "marker-outside-automation",
    ];
    for fixture in [HOMELAB, STATES, FLEET] {
        let report = json(&status(fixture, &["--format", "json"]));
        let changed = markers(&report)
            .into_iter()
            .filter(|m| m["state"] == "update" || m["state"] == "downgrade");
        let shown = fields(changed, &["file", "line", "value", "new"]);
        let dry_run = run_json(&[
            "check",
            fixture.0,
            "--fix",
            "--dry-run",
            "--keep-going",
            "--tags-file",
            fixture.1,
            "--format",
            "json",
        ]);
        let planned = fields(
            dry_run["changes"].as_array().unwrap(),
            &["file", "line", "old", "new"],
        );
        assert!(!planned.is_empty(), "{fixture:?} has updates to compare");
        assert_eq!(shown, planned, "{fixture:?}");

        let checked = run_json(&[
            "check",
            fixture.0,
            "--tags-file",
            fixture.1,
            "--format",
            "json",
        ]);
        let diagnostics = checked["diagnostics"].as_array().unwrap();
        // Reasons `check` reports at the policy (`policy-invalid`): the rule is reported there.
        for marker in markers(&report) {
            if marker["reason"] == "policy-invalid" {
                assert!(
                    diagnostics.iter().any(|d| d["rule"] == marker["rule"]),
                    "{marker}"
                );
            }
        }
        // Every other rule a marker names is reported at that marker: what keeps it stuck, or
        // what is wrong with the value an update or downgrade replaces.
        let naming = markers(&report)
            .into_iter()
            .filter(|m| m["rule"].is_string() && m["reason"] != "policy-invalid");
        let at_markers = diagnostics
            .iter()
            .filter(|d| STUCK_RULES.contains(&d["rule"].as_str().unwrap()));
        // A marker with two such diagnostics names the one that holds whatever the other says
        // (no automation applies the file, whatever its tag).
        let named = fields(naming.clone(), &["rule", "file", "line"]);
        let reported: Vec<&Value> = at_markers.collect();
        assert!(
            named.is_subset(&fields(reported.iter().copied(), &["rule", "file", "line"])),
            "{fixture:?}"
        );
        assert_eq!(
            fields(naming, &["file", "line"]),
            fields(reported, &["file", "line"]),
            "{fixture:?}"
        );
        // A stuck marker's reason reads as `check`'s diagnostic there, word for word.
        let stuck_for_a_rule = markers(&report)
            .into_iter()
            .filter(|m| m["state"] == "stuck" && m["rule"].is_string())
            .filter(|m| m["reason"] != "policy-invalid");
        let stuck_for_a_rule = fields(stuck_for_a_rule, &["rule", "file", "line", "message"]);
        let diagnosed = fields(diagnostics, &["rule", "file", "line", "message"]);
        assert!(
            stuck_for_a_rule.is_subset(&diagnosed),
            "{fixture:?}: {stuck_for_a_rule:#?} not among {diagnosed:#?}"
        );
        // The states fixture has a marker stuck for each rule (homelab and the fleet none).
        if fixture == STATES {
            assert!(!stuck_for_a_rule.is_empty(), "{fixture:?}");
        }
    }
}

#[test]
fn only_stuck_or_only_updates() {
    let stuck = json(&status(STATES, &["--format", "json", "--only", "stuck"]));
    let states: BTreeSet<String> = markers(&stuck)
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, BTreeSet::from(["stuck".to_string()]));
    assert_eq!(markers(&stuck).len(), 6);

    let updates = json(&status(STATES, &["--format", "json", "--only", "updates"]));
    let states: BTreeSet<String> = markers(&updates)
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        states,
        BTreeSet::from(["update".to_string(), "downgrade".to_string()])
    );
    // The summary still counts every marker.
    assert_eq!(updates["summary"]["markers"], 11);
}

#[test]
fn the_table_fits_the_width() {
    for fixture in [HOMELAB, STATES] {
        for (columns, limit) in [(None, 100), (Some("200"), 100), (Some("60"), 60)] {
            let mut command = binary();
            command
                .args(["status", fixture.0, "--tags-file", fixture.1])
                .current_dir(repo_dir());
            match columns {
                Some(columns) => command.env("COLUMNS", columns),
                None => command.env_remove("COLUMNS"),
            };
            let output = command.output().unwrap();
            assert_ok(&output);
            for line in stdout(&output).lines() {
                assert!(
                    line.chars().count() <= limit,
                    "{fixture:?} COLUMNS={columns:?}: {} columns: {line}",
                    line.chars().count()
                );
            }
        }
    }
}

#[test]
fn colour_per_state_only_when_asked() {
    let plain = stdout(&status(STATES, &[]));
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: no escape codes");
    let coloured = stdout(&status(STATES, &["--color", "always"]));
    for (colour, label) in [
        ("\u{1b}[32m", "✓ up to date"),
        ("\u{1b}[36m", "↑ update"),
        ("\u{1b}[33m", "↓ downgrade"),
        ("\u{1b}[31m", "✗ stuck"),
    ] {
        assert!(
            coloured.contains(&format!("{colour}  {label}")),
            "{label} in {colour:?}: {coloured}"
        );
    }
}

#[test]
fn exit_two_only_when_it_cannot_do_its_job() {
    let missing_tags = binary()
        .args(["status", "fixtures/status", "--tags-file", "no-such.json"])
        .current_dir(repo_dir())
        .output()
        .unwrap();
    assert_eq!(missing_tags.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_tags.stderr).contains("no-such.json"));

    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join(".flux-image-lint.yaml"), "nonsense: 1\n").unwrap();
    let bad_config = binary()
        .args(["status", ".", "--tags-file"])
        .arg(repo_dir().join(STATES.1))
        .current_dir(temp.path())
        .output()
        .unwrap();
    assert_eq!(bad_config.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains(".flux-image-lint.yaml"));

    let file = binary()
        .args(["status", "fixtures/status/policies.yaml"])
        .current_dir(repo_dir())
        .output()
        .unwrap();
    assert_eq!(file.status.code(), Some(2));
}

fn write_repository(dir: &Path, policies: &[(&str, &str)]) {
    let mut objects = String::new();
    // Under a key: image automation skips a file whose top level is a list.
    let mut markers = String::from("apps:\n");
    for (name, image) in policies {
        objects.push_str(&format!(
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 12h\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: {name}\n  policy:\n    semver:\n      range: \">=1.0.0\"\n"
        ));
        markers.push_str(&format!(
            "  - image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:{name}\"}}\n"
        ));
    }
    std::fs::write(dir.join("policies.yaml"), objects).unwrap();
    std::fs::write(dir.join("apps.yaml"), markers).unwrap();
}

/// Two real registries: one behind htpasswd with no credentials given (401), one without the
/// repository (404); and a port nothing listens on. Each marker is stuck with its reason,
/// beside one that resolves.
#[test]
fn registries_that_refuse_or_lack_the_repository() {
    use registry_support::{binary_in, free_port, DockerRegistry, Kind};
    let private = DockerRegistry::start(Kind::Htpasswd);
    private.push_image("org/private", "1.0.0");
    let public = DockerRegistry::start(Kind::Plain);
    let manifest = public.push_image("org/app", "1.0.0");
    public.tag_many("org/app", &manifest.0, &["1.1.0".to_string()]);

    let temp = tempfile::tempdir().unwrap();
    write_repository(
        temp.path(),
        &[
            ("app", &public.image("org/app")),
            ("private", &private.image("org/private")),
            ("gone", &public.image("org/gone")),
            // Nothing listens there: the connection is refused.
            ("down", &format!("127.0.0.1:{}/org/app", free_port())),
        ],
    );
    let output = binary_in(
        temp.path(),
        &["status", ".", "--no-cache", "--format", "json"],
    );
    assert_ok(&output);
    let report = json(&output);
    let policy = |name: &str| {
        report["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(policy("app")["latest"], "1.1.0");
    assert_eq!(policy("app")["tags"], 2);
    assert_eq!(policy("app")["markers"][0]["state"], "update");
    for (name, reason, says) in [
        ("private", "registry-auth", "HTTP 401"),
        ("gone", "registry-not-found", "HTTP 404"),
        ("down", "registry-unreachable", "cannot connect"),
    ] {
        let policy = policy(name);
        assert_eq!(policy["problem"]["reason"], reason, "{policy}");
        assert!(
            policy["problem"]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{policy}"
        );
        assert_eq!(policy["markers"][0]["state"], "stuck");
        assert_eq!(policy["markers"][0]["reason"], reason);
    }

    let human = binary_in(temp.path(), &["status", ".", "--no-cache"]);
    assert_ok(&human);
    let table = stdout(&human);
    assert!(table.contains("1.0.0: registry refused access"), "{table}");
    assert!(table.contains("1.0.0: repository not found"), "{table}");
    assert!(table.contains("1.0.0: registry unreachable"), "{table}");
}

/// The README shows what `status` prints on the homelab sample.
#[test]
fn readme_shows_the_homelab_output() {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let start = "<!-- status:homelab:start -->\n```text\n";
    let shown = &readme[readme.find(start).expect("the README's status block") + start.len()..];
    let shown = &shown[..shown.find("```\n<!-- status:homelab:end -->").unwrap()];
    let printed = std::fs::read_to_string(golden("homelab.txt")).unwrap();
    assert_eq!(
        shown, printed,
        "the README's status output is stale: copy tests/golden/status/homelab.txt into it"
    );
}

/// `--no-downgrade` refuses what `status` calls a downgrade, and nothing else.
#[test]
fn no_downgrade_refuses_the_downgrades_status_shows() {
    let fixed = run_json(&[
        "check",
        STATES.0,
        "--fix",
        "--dry-run",
        "--keep-going",
        "--no-downgrade",
        "--tags-file",
        STATES.1,
        "--format",
        "json",
    ]);
    let refused = fields(
        fixed["refused_downgrades"].as_array().unwrap(),
        &["file", "line"],
    );
    let report = json(&status(STATES, &["--format", "json", "--only", "updates"]));
    let downgrades = markers(&report)
        .into_iter()
        .filter(|m| m["state"] == "downgrade");
    let downgrades = fields(downgrades, &["file", "line"]);
    assert_eq!(downgrades.len(), 2, "{report}");
    assert_eq!(refused, downgrades);
}

/// Names, paths and values from the repository reach the terminal and the Markdown escaped.
#[test]
fn untrusted_text_is_shown_escaped() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(
        temp.path().join("policies.yaml"),
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: \"evil\\e[2J\"\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app\n  policy:\n    semver:\n      range: \">=1.0.0\"\n",
    )
    .unwrap();
    std::fs::write(
        temp.path().join("app.yaml"),
        "image: \"ghcr.io/org/app:1.0.0\\e]8;;x\\a|<b>\" # {\"$imagepolicy\": \"flux-system:evil\\u001b[2J\"}\n",
    )
    .unwrap();
    std::fs::write(temp.path().join("tags.json"), "{}").unwrap();
    for format in ["human", "markdown"] {
        let output = binary()
            .args([
                "status",
                ".",
                "--tags-file",
                "tags.json",
                "--format",
                format,
            ])
            .current_dir(temp.path())
            .output()
            .unwrap();
        assert_ok(&output);
        let text = stdout(&output);
        assert!(text.contains("app.yaml:1"), "the marker is listed: {text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{format}: {text:?}"
        );
        if format == "markdown" {
            // In a code span, `|` escaped: the table holds, and `<b>` is text, not HTML.
            assert!(
                text.contains("| `ghcr.io/org/app:1.0.0\\u{1b}]8;;x\\u{7}\\|<b>` |"),
                "{text}"
            );
        }
    }
}

/// Two clusters define one `namespace:name` apart: each marker follows its own cluster's.
#[test]
fn each_cluster_resolves_its_own_policy() {
    let report = json(&status(FLEET, &["--format", "json"]));
    let by_cluster = fields(
        report["policies"].as_array().unwrap(),
        &["cluster", "name", "latest"],
    );
    assert_eq!(
        by_cluster,
        BTreeSet::from([
            r#""clusters/prod" "app" "1.1.0""#.to_string(),
            r#""clusters/staging" "app" "2.0.0-rc.1""#.to_string(),
        ])
    );
}
