//! The integrations shipped beside the binary: the pre-commit manifest, the composite action
//! (`action.yml` + `scripts/action-run`, run here as the action runs it) and the example
//! workflows. Offline: `scripts/test-pre-commit` exercises pre-commit itself (needs PyPI).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use flux_image_lint::scan::yaml::{NodeId, YamlFile};
use flux_image_lint::source::SourceFile;
use support::{copy_dir, repo_dir};

const BIN: &str = env!("CARGO_BIN_EXE_flux-image-lint");

/// A parsed YAML file of the repository and the root of its single document.
struct Doc {
    yaml: YamlFile,
    root: NodeId,
    path: String,
}

impl Doc {
    fn load(path: &str) -> Doc {
        let disk_path = repo_dir().join(path);
        let text = fs::read_to_string(&disk_path)
            .unwrap_or_else(|e| panic!("{}: {e}", disk_path.display()));
        let source = SourceFile::new(path.to_string(), disk_path, text);
        let yaml = YamlFile::parse(&source).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(yaml.documents.len(), 1, "{path}: one YAML document");
        let root = yaml.documents[0];
        Doc {
            yaml,
            root,
            path: path.to_string(),
        }
    }

    fn node(&self, path: &[&str]) -> NodeId {
        self.node_at(self.root, path)
    }

    fn node_at(&self, from: NodeId, path: &[&str]) -> NodeId {
        self.yaml
            .path(from, path)
            .unwrap_or_else(|| panic!("{}: no `{}`", self.path, path.join(".")))
    }

    fn str_at(&self, from: NodeId, path: &[&str]) -> Option<&str> {
        self.yaml.path_str(from, path)
    }

    fn keys(&self, map: NodeId) -> Vec<&str> {
        self.yaml
            .entries(map)
            .filter_map(|(k, _)| self.yaml.scalar(k))
            .collect()
    }

    fn scalars(&self, seq: NodeId) -> Vec<&str> {
        self.yaml
            .items(seq)
            .iter()
            .filter_map(|&i| self.yaml.scalar(i))
            .collect()
    }

    /// Every step of every job.
    fn steps(&self) -> Vec<NodeId> {
        let jobs = self.node(&["jobs"]);
        assert!(self.yaml.is_map(jobs), "{}: jobs is a mapping", self.path);
        let mut steps = Vec::new();
        for (_, job) in self.yaml.entries(jobs) {
            assert!(
                self.str_at(job, &["runs-on"]).is_some(),
                "{}: every job has runs-on",
                self.path
            );
            steps.extend_from_slice(self.yaml.items(self.node_at(job, &["steps"])));
        }
        steps
    }

    /// The steps that use this repository's action.
    fn action_steps(&self) -> Vec<NodeId> {
        self.steps()
            .into_iter()
            .filter(|&s| {
                self.str_at(s, &["uses"])
                    .is_some_and(|u| u.contains("/flux-image-lint@"))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// pre-commit

#[test]
fn pre_commit_hooks_build_with_cargo_and_lint_yaml() {
    let doc = Doc::load(".pre-commit-hooks.yaml");
    assert!(doc.yaml.is_seq(doc.root), "the manifest is a list of hooks");
    let hooks: BTreeMap<&str, NodeId> = doc
        .yaml
        .items(doc.root)
        .iter()
        .map(|&h| (doc.str_at(h, &["id"]).expect("every hook has an id"), h))
        .collect();
    assert_eq!(
        hooks.keys().copied().collect::<Vec<_>>(),
        ["flux-image-lint", "flux-image-lint-fix"]
    );
    for &hook in hooks.values() {
        assert_eq!(doc.str_at(hook, &["language"]), Some("rust"));
        assert!(doc.str_at(hook, &["name"]).is_some());
    }

    let check = hooks["flux-image-lint"];
    assert_eq!(doc.str_at(check, &["entry"]), Some("flux-image-lint check"));
    assert_eq!(doc.scalars(doc.node_at(check, &["types_or"])), ["yaml"]);
    // pre-commit passes the staged files (pass_filenames defaults to true).
    assert_eq!(doc.yaml.path(check, &["pass_filenames"]), None);
    assert_eq!(doc.yaml.path(check, &["stages"]), None, "runs on commit");

    let fix = hooks["flux-image-lint-fix"];
    assert_eq!(
        doc.str_at(fix, &["entry"]),
        Some("flux-image-lint check --fix")
    );
    assert_eq!(doc.str_at(fix, &["pass_filenames"]), Some("false"));
    assert_eq!(doc.scalars(doc.node_at(fix, &["stages"])), ["manual"]);
}

// ---------------------------------------------------------------------------------------------
// action.yml

const INPUTS: [(&str, &str); 7] = [
    ("path", "."),
    ("args", ""),
    ("version", ""),
    ("format", "human"),
    ("fix", "false"),
    ("push", "false"),
    ("remote", "origin"),
];

#[test]
fn action_is_composite_with_every_input_and_output() {
    let doc = Doc::load("action.yml");
    assert!(doc.str_at(doc.root, &["name"]).is_some());
    assert!(doc.str_at(doc.root, &["description"]).is_some());
    assert_eq!(doc.str_at(doc.root, &["runs", "using"]), Some("composite"));

    let inputs = doc.node(&["inputs"]);
    for (name, default) in INPUTS {
        let input = doc.node_at(inputs, &[name]);
        assert!(
            doc.str_at(input, &["description"]).is_some(),
            "input {name} is described"
        );
        assert_eq!(
            doc.str_at(input, &["default"]),
            Some(default),
            "default of input {name}"
        );
    }

    let outputs = doc.node(&["outputs"]);
    for name in ["errors", "warnings", "changed"] {
        let value = doc
            .str_at(outputs, &[name, "value"])
            .unwrap_or_else(|| panic!("output {name}"));
        assert_eq!(value, format!("${{{{ steps.run.outputs.{name} }}}}"));
    }

    let steps = doc.yaml.items(doc.node(&["runs", "steps"]));
    let ids: Vec<_> = steps
        .iter()
        .filter_map(|&s| doc.str_at(s, &["id"]))
        .collect();
    assert_eq!(ids, ["install", "run"]);
    let mut passed_inputs = Vec::new();
    for &step in steps {
        assert_eq!(doc.str_at(step, &["shell"]), Some("bash"));
        let run = doc.str_at(step, &["run"]).expect("a run step");
        // Inputs reach the shell as environment variables only: no expression in shell code.
        assert!(!run.contains("${{"), "expression in shell code: {run}");
        assert!(run.contains("$ACTION_PATH/scripts/action-run"), "{run}");
        let env = doc.node_at(step, &["env"]);
        for (key, value) in doc.yaml.entries(env) {
            let value = doc.yaml.scalar(value).unwrap_or_default();
            if let Some(input) = value
                .strip_prefix("${{ inputs.")
                .and_then(|v| v.strip_suffix(" }}"))
            {
                assert_eq!(
                    doc.yaml.scalar(key),
                    Some(format!("INPUT_{}", input.to_uppercase()).as_str())
                );
                passed_inputs.push(input.to_string());
            }
        }
    }
    passed_inputs.sort();
    let mut expected: Vec<_> = INPUTS.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(passed_inputs, expected, "every input reaches the script");
    assert_eq!(
        doc.str_at(steps[1], &["env", "FLUX_IMAGE_LINT_BIN"]),
        Some("${{ steps.install.outputs.bin }}")
    );
}

// ---------------------------------------------------------------------------------------------
// example workflows

#[test]
fn weekly_updates_workflow_fixes_and_pushes_on_a_schedule() {
    let doc = Doc::load("examples/forgejo/weekly-image-updates.yaml");
    let on = doc.node(&["on"]);
    let schedule = doc.node_at(on, &["schedule"]);
    let crons: Vec<_> = doc
        .yaml
        .items(schedule)
        .iter()
        .filter_map(|&s| doc.str_at(s, &["cron"]))
        .collect();
    assert_eq!(crons, ["0 6 * * 1"]);
    assert!(doc.keys(on).contains(&"workflow_dispatch"));

    let checkout = doc
        .steps()
        .into_iter()
        .find(|&s| {
            doc.str_at(s, &["uses"])
                .is_some_and(|u| u.contains("checkout"))
        })
        .expect("a checkout step");
    assert_eq!(doc.str_at(checkout, &["with", "fetch-depth"]), Some("0"));
    assert!(doc.str_at(checkout, &["with", "token"]).is_some());

    let steps = doc.action_steps();
    assert_eq!(steps.len(), 1);
    let with = doc.node_at(steps[0], &["with"]);
    assert!(doc.yaml.scalar_is_true(doc.yaml.get(with, "fix")));
    assert!(doc.yaml.scalar_is_true(doc.yaml.get(with, "push")));
    assert_eq!(doc.str_at(with, &["remote"]), Some("origin"));
    assert_action_inputs_exist(&doc, with);
}

#[test]
fn check_workflow_runs_the_action_on_pull_requests() {
    let doc = Doc::load("examples/forgejo/check.yaml");
    assert!(doc.keys(doc.node(&["on"])).contains(&"pull_request"));
    let steps = doc.action_steps();
    assert_eq!(steps.len(), 1);
    let with = doc.node_at(steps[0], &["with"]);
    assert!(!doc.yaml.scalar_is_true(doc.yaml.get(with, "fix")));
    assert!(!doc.yaml.scalar_is_true(doc.yaml.get(with, "push")));
    assert_action_inputs_exist(&doc, with);
}

fn assert_action_inputs_exist(doc: &Doc, with: NodeId) {
    for key in doc.keys(with) {
        assert!(
            INPUTS.iter().any(|(name, _)| *name == key),
            "{}: the action has no input `{key}`",
            doc.path
        );
    }
}

#[test]
fn release_workflow_publishes_what_the_action_downloads() {
    let doc = Doc::load("examples/github/release.yaml");
    let tags = doc.scalars(doc.node(&["on", "push", "tags"]));
    assert_eq!(
        tags,
        ["v*"],
        "the action downloads releases/download/v<version>"
    );
    let job = doc
        .yaml
        .entries(doc.node(&["jobs"]))
        .next()
        .expect("a job")
        .1;
    assert_eq!(
        doc.str_at(job, &["env", "TARGET"]),
        Some("x86_64-unknown-linux-gnu")
    );
    let runs: Vec<&str> = doc
        .steps()
        .into_iter()
        .filter_map(|s| doc.str_at(s, &["run"]))
        .collect();
    let all = runs.join("\n");
    for needle in [
        "cargo build --locked --profile dist --target \"$TARGET\"",
        "name=\"flux-image-lint-$TARGET\"",
        "tar -C dist -czf \"dist/$name.tar.gz\"",
        "sha256sum \"$name.tar.gz\" > \"$name.tar.gz.sha256\"",
        "\"dist/$name.tar.gz\" \"dist/$name.tar.gz.sha256\"",
    ] {
        assert!(all.contains(needle), "release.yaml runs `{needle}`");
    }
    let script = fs::read_to_string(repo_dir().join("scripts/action-run")).unwrap();
    assert!(script.contains(r#"local asset="flux-image-lint-$target.tar.gz""#));
    assert!(script.contains(r#"local url="$base/v$version/$asset""#));
    // The profile the workflow builds exists.
    let manifest = fs::read_to_string(repo_dir().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[profile.dist]"));
}

// ---------------------------------------------------------------------------------------------
// scripts/action-run, as action.yml runs it

struct ActionRun {
    /// Holds the files named by outputs (`report`) while the test looks at them.
    _temp: tempfile::TempDir,
    status: i32,
    log: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

fn action_run(cwd: &Path, mode: &str, env: &[(&str, &str)]) -> ActionRun {
    let temp = tempfile::tempdir().unwrap();
    let output_file = temp.path().join("github-output");
    let summary_file = temp.path().join("step-summary");
    let runner_temp = temp.path().join("runner-temp");
    fs::create_dir(&runner_temp).unwrap();
    let mut command = Command::new("bash");
    command
        .arg(repo_dir().join("scripts/action-run"))
        .arg(mode)
        .current_dir(cwd);
    // Whatever CI this runs under must not leak in.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_") || key.starts_with("INPUT_") || key.starts_with("RUNNER_") {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("FLUX_IMAGE_LINT_RELEASES_URL")
        .env("FLUX_IMAGE_LINT_BIN", BIN)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("RUNNER_TEMP", &runner_temp)
        .env("CI", "true")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("bash runs");
    let outputs = fs::read_to_string(&output_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ActionRun {
        _temp: temp,
        status: output.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        outputs,
        summary: fs::read_to_string(&summary_file).unwrap_or_default(),
    }
}

fn unknown_policy_dir() -> PathBuf {
    repo_dir().join("fixtures/rules/unknown-policy/triggers")
}

#[test]
fn action_passes_on_the_homelab_sample() {
    let run = action_run(&repo_dir(), "run", &[("INPUT_PATH", "fixtures/homelab")]);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.outputs["errors"], "0");
    assert_eq!(run.outputs["warnings"], "0");
    assert_eq!(run.outputs["changed"], "0");
    assert!(run.log.contains("0 errors, 0 warnings"), "{}", run.log);
    assert!(run.summary.contains("No problems in `fixtures/homelab`"));
    assert!(!run.summary.contains("| Severity |"));
    assert!(!run.log.contains("::error"), "{}", run.log);
}

#[test]
fn action_fails_on_errors_with_log_outputs_and_summary() {
    let run = action_run(&unknown_policy_dir(), "run", &[("INPUT_PATH", ".")]);
    assert_eq!(run.status, 1, "{}", run.log);
    assert_eq!(run.outputs["errors"], "2");
    assert_eq!(run.outputs["warnings"], "0");
    assert_eq!(run.outputs["changed"], "0");
    // The log is the human report, without colour, and no annotations outside GitHub.
    assert!(
        run.log
            .contains("no ImagePolicy `flux-system:ap` is defined in this repository"),
        "{}",
        run.log
    );
    assert!(run.log.contains("app.yaml:1:30"), "{}", run.log);
    assert!(!run.log.contains('\u{1b}'), "no ANSI colour: {}", run.log);
    assert!(!run.log.contains("::error file="), "{}", run.log);
    // The summary: counts and one row per diagnostic.
    assert!(
        run.summary.contains("**2 error(s)**, 0 warning(s)"),
        "{}",
        run.summary
    );
    assert!(run
        .summary
        .contains("| Severity | Rule | Location | Message |\n|---|---|---|---|\n"));
    assert!(
        run.summary.contains(
            "| error | `unknown-policy` | `app.yaml:1` | no ImagePolicy `flux-system:ap` is defined in this repository<br>help: did you mean `flux-system:app`?"
        ),
        "{}",
        run.summary
    );
    assert!(run
        .summary
        .contains("| error | `unknown-policy` | `app.yaml:2` |"));
    let report = fs::read_to_string(&run.outputs["report"]).unwrap();
    assert!(report.contains("2 errors, 0 warnings"), "{report}");
}

#[test]
fn action_annotates_on_github_with_workspace_relative_paths() {
    let run = action_run(
        &unknown_policy_dir(),
        "run",
        &[("INPUT_PATH", "."), ("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.status, 1, "{}", run.log);
    assert!(
        run.log.contains("::error file=app.yaml,line=1,"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("::error file=app.yaml,line=2,"),
        "{}",
        run.log
    );
    // Human report too: GitHub shows annotations, but the log still reads on its own.
    assert!(run.log.contains("× no ImagePolicy"), "{}", run.log);

    let run = action_run(
        &repo_dir(),
        "run",
        &[
            ("INPUT_PATH", "./fixtures/rules/unknown-policy/triggers/"),
            ("GITHUB_ACTIONS", "true"),
        ],
    );
    assert_eq!(run.status, 1, "{}", run.log);
    assert!(
        run.log.contains(
            "::error file=fixtures/rules/unknown-policy/triggers/app.yaml,line=1,col=30,"
        ),
        "{}",
        run.log
    );
    assert!(run
        .summary
        .contains("| `unknown-policy` | `fixtures/rules/unknown-policy/triggers/app.yaml:1` |"));
}

#[test]
fn action_writes_the_report_in_the_requested_format() {
    let run = action_run(
        &unknown_policy_dir(),
        "run",
        &[("INPUT_FORMAT", "sarif"), ("INPUT_ARGS", "--jobs 2")],
    );
    assert_eq!(run.status, 1, "{}", run.log);
    assert!(run.outputs["report"].ends_with(".sarif"));
    let report = fs::read_to_string(&run.outputs["report"]).unwrap();
    assert!(report.contains("\"runs\""), "{report}");
    assert!(report.contains("unknown-policy"));
    // The log stays human.
    assert!(run.log.contains("× no ImagePolicy"), "{}", run.log);
}

#[test]
fn action_rejects_bad_inputs_and_never_evaluates_args() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let args = format!("$(touch {0}) `touch {0}` ;touch {0}", marker.display());
    let run = action_run(
        &repo_dir(),
        "run",
        &[("INPUT_PATH", "fixtures/homelab"), ("INPUT_ARGS", &args)],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    assert!(!marker.exists(), "args were evaluated by the shell");

    for (env, message) in [
        (("INPUT_FORMAT", "xml"), "format must be one of"),
        (("INPUT_FIX", "maybe"), "expected true or false"),
        (("INPUT_PUSH", "true"), "push: true needs fix: true"),
    ] {
        let run = action_run(
            &repo_dir(),
            "run",
            &[("INPUT_PATH", "fixtures/homelab"), env],
        );
        assert_eq!(run.status, 2, "{env:?}: {}", run.log);
        assert!(run.log.contains(message), "{env:?}: {}", run.log);
        assert!(run.outputs.is_empty(), "{env:?}: {:?}", run.outputs);
    }
}

#[test]
fn action_reports_tool_failures_as_exit_2() {
    let run = action_run(
        &repo_dir(),
        "run",
        &[("INPUT_PATH", "fixtures/does-not-exist")],
    );
    assert_eq!(run.status, 2, "{}", run.log);
}

/// The release download path, against a local "release": checksum verified, binary unpacked.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn action_installs_a_release_only_with_a_matching_checksum() {
    use std::io::Write;

    let releases = tempfile::tempdir().unwrap();
    let asset_dir = releases.path().join("v9.9.9");
    let package = releases
        .path()
        .join("flux-image-lint-x86_64-unknown-linux-gnu");
    fs::create_dir_all(&asset_dir).unwrap();
    fs::create_dir_all(&package).unwrap();
    fs::copy(BIN, package.join("flux-image-lint")).unwrap();
    let tarball = asset_dir.join("flux-image-lint-x86_64-unknown-linux-gnu.tar.gz");
    let status = Command::new("tar")
        .arg("-C")
        .arg(releases.path())
        .arg("-czf")
        .arg(&tarball)
        .arg("flux-image-lint-x86_64-unknown-linux-gnu")
        .status()
        .unwrap();
    assert!(status.success());
    let digest = {
        let bytes = fs::read(&tarball).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let checksum = asset_dir.join("flux-image-lint-x86_64-unknown-linux-gnu.tar.gz.sha256");
    let write_checksum = |hex: &str| {
        let mut file = fs::File::create(&checksum).unwrap();
        writeln!(
            file,
            "{hex}  flux-image-lint-x86_64-unknown-linux-gnu.tar.gz"
        )
        .unwrap();
    };
    let url = format!("file://{}", releases.path().display());

    write_checksum(&digest);
    let run = action_run(
        &repo_dir(),
        "install",
        &[
            ("INPUT_VERSION", "v9.9.9"),
            ("FLUX_IMAGE_LINT_RELEASES_URL", &url),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(
        run.log.contains(&format!("sha256 {digest} OK")),
        "{}",
        run.log
    );
    let bin = &run.outputs["bin"];
    assert!(
        bin.ends_with("/flux-image-lint-9.9.9/flux-image-lint"),
        "{bin}"
    );
    assert_eq!(fs::read(bin).unwrap(), fs::read(BIN).unwrap());

    let wrong = format!("{}0", &digest[..63]);
    let wrong = if wrong == digest {
        format!("{}1", &digest[..63])
    } else {
        wrong
    };
    write_checksum(&wrong);
    let run = action_run(
        &repo_dir(),
        "install",
        &[
            ("INPUT_VERSION", "9.9.9"),
            ("FLUX_IMAGE_LINT_RELEASES_URL", &url),
        ],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    assert!(run.log.contains("checksum mismatch"), "{}", run.log);
    assert!(!run.outputs.contains_key("bin"));
}

#[test]
fn action_derives_the_release_url_from_the_action_checkout() {
    // No download happens: an unknown scheme fails after the URL is logged.
    let run = action_run(
        &repo_dir(),
        "install",
        &[
            ("INPUT_VERSION", "1.2.3"),
            (
                "ACTION_PATH",
                "/home/runner/work/_actions/someone/flux-image-lint/v1",
            ),
            ("SERVER_URL", "gopher://forge.invalid"),
        ],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        assert!(
            run.log.contains(
                "downloading gopher://forge.invalid/someone/flux-image-lint/releases/download/v1.2.3/flux-image-lint-x86_64-unknown-linux-gnu.tar.gz"
            ),
            "{}",
            run.log
        );
    }
}

/// `fix: true` offline (`--tags-file`): the fixer runs once, its changes are logged and counted.
#[test]
fn action_fix_logs_and_counts_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), dir.path());
    let env = [
        ("INPUT_FIX", "true"),
        ("INPUT_ARGS", "--tags-file tags.json"),
    ];
    let run = action_run(dir.path(), "run", &env);
    assert_eq!(run.status, 0, "{}", run.log);
    let logged = run.log.lines().filter(|l| l.contains(" → ")).count();
    assert!(logged > 0, "{}", run.log);
    assert_eq!(run.outputs["changed"], logged.to_string(), "{}", run.log);
    assert_eq!(run.outputs["errors"], "0");
    assert!(
        run.log.contains(&format!("{logged} changed")),
        "{}",
        run.log
    );
    assert!(run
        .summary
        .contains(&format!("{logged} marked value(s) updated")));

    let run = action_run(dir.path(), "run", &env);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.outputs["changed"], "0");
    assert!(
        run.log.contains("no changes: every marker is up to date"),
        "{}",
        run.log
    );
}
