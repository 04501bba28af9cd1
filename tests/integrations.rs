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
        let source = SourceFile::new(path.to_string(), text);
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
    assert_eq!(
        doc.str_at(check, &["entry"]),
        Some("flux-image-lint check --staged")
    );
    // The files the walker reads: `.yaml`, `.yml` and `Kustomization`.
    let files = regex::Regex::new(doc.str_at(check, &["files"]).unwrap()).unwrap();
    for path in ["a.yaml", "b/c.yml", "Kustomization", "d/Kustomization"] {
        assert!(files.is_match(path), "{path}");
    }
    for path in ["a.yaml.bak", "README.md", "MyKustomization"] {
        assert!(!files.is_match(path), "{path}");
    }
    // pre-commit passes the staged files (pass_filenames defaults to true), and runs the hook
    // when only deletions are staged.
    assert_eq!(doc.yaml.path(check, &["pass_filenames"]), None);
    assert_eq!(doc.str_at(check, &["always_run"]), Some("true"));
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

const INPUTS: [(&str, &str); 10] = [
    ("path", "."),
    ("args", ""),
    ("config", ""),
    ("version", ""),
    ("format", "human"),
    ("fix", "false"),
    ("keep-going", "false"),
    ("push", "false"),
    ("remote", "origin"),
    ("open-pr", "false"),
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
    for name in ["errors", "warnings", "changed", "unresolved", "report"] {
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
                    Some(format!("INPUT_{}", input.to_uppercase().replace('-', "_")).as_str())
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

/// Both release workflows (GitHub and Forgejo syntax) test with the README's command, build the
/// binaries the action downloads for each runner architecture, package them with the script
/// the action's download test runs, build the wheels and the hook mirror, and publish.
#[test]
fn release_workflows_publish_what_the_action_downloads() {
    let script = fs::read_to_string(repo_dir().join("scripts/action-run")).unwrap();
    let action_targets: Vec<&str> = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
        .into_iter()
        .filter(|target| script.contains(&format!("printf '{target}'")))
        .collect();
    assert_eq!(
        action_targets.len(),
        2,
        "action-run installs both musl builds"
    );
    assert!(script.contains(r#"local asset="flux-image-lint-$target.tar.gz""#));
    assert!(script.contains(r#"local url="$base/v$version/$asset""#));

    for path in [
        "examples/github/release.yaml",
        "examples/forgejo/release.yaml",
    ] {
        let doc = Doc::load(path);
        let tags = doc.scalars(doc.node(&["on", "push", "tags"]));
        assert_eq!(
            tags,
            ["v*"],
            "{path}: the action downloads releases/download/v<version>"
        );
        let jobs = doc.node(&["jobs"]);
        assert_eq!(
            doc.keys(jobs),
            ["test", "binaries", "wheels", "publish"],
            "{path}"
        );
        let runs = |job: &str| -> String {
            let steps = doc.node_at(jobs, &[job, "steps"]);
            doc.yaml
                .items(steps)
                .iter()
                .filter_map(|&s| doc.str_at(s, &["run"]))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(runs("test").contains("scripts/test"), "{path}");
        let binaries = doc.node_at(jobs, &["binaries", "strategy", "matrix", "target"]);
        assert_eq!(doc.scalars(binaries), action_targets, "{path}");
        let build = runs("binaries");
        assert!(
            build.contains("--locked --profile dist --target \"${{ matrix.target }}\""),
            "{path}"
        );
        assert!(build.contains("scripts/release-package \"${{ matrix.target }}\" \"target/${{ matrix.target }}/dist/flux-image-lint\" dist"), "{path}");
        let wheels = doc.node_at(jobs, &["wheels", "strategy", "matrix", "target"]);
        assert_eq!(
            doc.scalars(wheels).len(),
            4,
            "{path}: gnu and musl, x86_64 and aarch64"
        );
        assert!(runs("wheels").contains("scripts/release-wheel \"${{ matrix.target }}\" dist"));
        let publish = runs("publish");
        for needle in [
            "sha256sum -c",
            "SHA256SUMS",
            "scripts/hook-mirror \"$version\" mirror",
        ] {
            assert!(publish.contains(needle), "{path}: publish runs `{needle}`");
        }
        assert_eq!(
            doc.scalars(doc.node_at(jobs, &["publish", "needs"])),
            ["test", "binaries", "wheels"]
        );
    }
    for script in ["release-package", "release-wheel", "hook-mirror", "test"] {
        let mode = fs::metadata(repo_dir().join("scripts").join(script))
            .unwrap_or_else(|e| panic!("scripts/{script}: {e}"))
            .permissions();
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
            "scripts/{script} runs"
        );
    }
    // The profile the workflows build exists.
    let manifest = fs::read_to_string(repo_dir().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[profile.dist]"));
}

/// What the publish job checks, over what `scripts/release-package` writes: `sha256sum -c`
/// accepts each `.sha256` in the folder, and refuses a tarball changed after packaging.
#[test]
fn release_package_writes_checksums_that_sha256sum_verifies() {
    let dist = tempfile::tempdir().unwrap();
    let packaged = Command::new(repo_dir().join("scripts/release-package"))
        .args(["x86_64-unknown-linux-gnu", BIN])
        .arg(dist.path())
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{packaged:?}");
    let check = || {
        Command::new("sha256sum")
            .args([
                "-c",
                "flux-image-lint-x86_64-unknown-linux-gnu.tar.gz.sha256",
            ])
            .current_dir(dist.path())
            .output()
            .unwrap()
    };
    assert!(check().status.success(), "{:?}", check());
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(
            dist.path()
                .join("flux-image-lint-x86_64-unknown-linux-gnu.tar.gz"),
        )
        .output()
        .unwrap();
    let mut listing: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    listing.sort();
    assert_eq!(
        listing,
        [
            "flux-image-lint-x86_64-unknown-linux-gnu/",
            "flux-image-lint-x86_64-unknown-linux-gnu/LICENSE",
            "flux-image-lint-x86_64-unknown-linux-gnu/README.md",
            "flux-image-lint-x86_64-unknown-linux-gnu/flux-image-lint",
        ]
    );
    let tarball = dist
        .path()
        .join("flux-image-lint-x86_64-unknown-linux-gnu.tar.gz");
    let mut bytes = fs::read(&tarball).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&tarball, bytes).unwrap();
    assert!(!check().status.success(), "a changed tarball passes");
}

// ---------------------------------------------------------------------------------------------
// action.yml's steps, run as a runner runs them

/// A composite action run the way GitHub's and Forgejo's runners run one: each step's `env`
/// with its `${{ … }}` expressions evaluated, its `run` through `bash --noprofile --norc -eo
/// pipefail`, a fresh `$GITHUB_OUTPUT` per step read back into `steps.<id>.outputs`, one
/// `$GITHUB_STEP_SUMMARY` for the job, and the action's `outputs` evaluated at the end. A
/// failing step skips the steps after it.
struct ActionRun {
    /// Holds the files named by outputs (`report`) while the test looks at them.
    _temp: tempfile::TempDir,
    status: i32,
    log: String,
    outputs: BTreeMap<String, String>,
    summary: String,
}

fn run_action(cwd: &Path, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> ActionRun {
    let temp = tempfile::tempdir().unwrap();
    let runner_temp = temp.path().join("runner-temp");
    let installed = runner_temp.join(format!("flux-image-lint-{TEST_VERSION}"));
    fs::create_dir_all(&installed).unwrap();
    std::os::unix::fs::symlink(BIN, installed.join("flux-image-lint")).unwrap();
    fs::write(installed.join(".verified"), "").unwrap();
    let summary_file = temp.path().join("step-summary");
    fs::write(&summary_file, "").unwrap();
    let action = Doc::load("action.yml");
    let mut values: BTreeMap<String, String> = INPUTS
        .iter()
        .map(|(name, default)| (format!("inputs.{name}"), default.to_string()))
        .collect();
    values.insert("inputs.version".into(), TEST_VERSION.into());
    for (name, value) in inputs {
        let key = format!("inputs.{name}");
        assert!(
            values.contains_key(&key),
            "action.yml has no input `{name}`"
        );
        values.insert(key, value.to_string());
    }
    values.insert(
        "github.action_path".into(),
        repo_dir().display().to_string(),
    );
    values.insert("github.action_repository".into(), String::new());
    values.insert("github.server_url".into(), String::new());

    let mut status = 0;
    let mut log = String::new();
    for (i, &step) in action
        .yaml
        .items(action.node(&["runs", "steps"]))
        .iter()
        .enumerate()
    {
        assert_eq!(action.str_at(step, &["shell"]), Some("bash"));
        let script = temp.path().join(format!("step-{i}.sh"));
        fs::write(&script, action.str_at(step, &["run"]).expect("a run step")).unwrap();
        let output_file = temp.path().join(format!("step-{i}-output"));
        fs::write(&output_file, "").unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .current_dir(cwd);
        // Whatever CI this runs under must not leak in.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("GITHUB_") || key.starts_with("INPUT_") || key.starts_with("RUNNER_")
            {
                command.env_remove(&key);
            }
        }
        command
            .env_remove("FLUX_IMAGE_LINT_RELEASES_URL")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_WORKSPACE", cwd)
            .env("RUNNER_TEMP", &runner_temp)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied());
        if let Some(step_env) = action.yaml.path(step, &["env"]) {
            for (key, value) in action.yaml.entries(step_env) {
                let value = evaluate(action.yaml.scalar(value).unwrap_or_default(), &values);
                command.env(action.yaml.scalar(key).unwrap(), value);
            }
        }
        let output = command.output().expect("bash runs");
        log.push_str(&String::from_utf8_lossy(&output.stdout));
        log.push_str(&String::from_utf8_lossy(&output.stderr));
        if let Some(id) = action.str_at(step, &["id"]) {
            for line in fs::read_to_string(&output_file).unwrap().lines() {
                let (key, value) = line.split_once('=').expect("KEY=VALUE lines");
                values.insert(format!("steps.{id}.outputs.{key}"), value.to_string());
            }
        }
        status = output.status.code().unwrap_or(-1);
        if status != 0 {
            break;
        }
    }
    let outputs = action.node(&["outputs"]);
    let outputs = action
        .yaml
        .entries(outputs)
        .filter_map(|(name, output)| {
            let value = evaluate(action.str_at(output, &["value"])?, &values);
            (!value.is_empty()).then(|| (action.yaml.scalar(name).unwrap().to_string(), value))
        })
        .collect();
    ActionRun {
        _temp: temp,
        status,
        log,
        outputs,
        summary: fs::read_to_string(&summary_file).unwrap(),
    }
}

/// `${{ name }}` expressions as a runner evaluates the ones action.yml uses; an unset step
/// output is empty, any other expression fails the test.
fn evaluate(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        let name = rest[start + 3..end].trim();
        match values.get(name) {
            Some(value) => out.push_str(value),
            None if name.starts_with("steps.") => {}
            None => panic!("action.yml uses `{name}`, which this runner does not know"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The release `version` the action installs unless a test says otherwise: the binary under
/// test, placed where the install step keeps a verified download (`$RUNNER_TEMP`), so every
/// step runs and nothing is downloaded. `action_downloads_and_verifies_a_release_from_a_server`
/// covers the download itself.
const TEST_VERSION: &str = "0.0.0-test";

#[path = "support/registry.rs"]
mod servers;

fn unknown_policy_dir() -> PathBuf {
    repo_dir().join("fixtures/rules/unknown-policy/triggers")
}

#[test]
fn action_passes_on_the_homelab_sample() {
    let run = run_action(&repo_dir(), &[("path", "fixtures/homelab")], &[]);
    assert_eq!(run.status, 0, "{}", run.log);
    for (output, value) in [
        ("errors", "0"),
        ("warnings", "0"),
        ("changed", "0"),
        ("unresolved", "0"),
    ] {
        assert_eq!(run.outputs[output], value, "{output}");
    }
    assert!(run.log.contains("0 errors, 0 warnings"), "{}", run.log);
    assert!(
        run.summary.contains("✅ No problems in `fixtures/homelab`"),
        "{}",
        run.summary
    );
    assert!(!run.summary.contains("#### Diagnostics"), "{}", run.summary);
    assert!(!run.log.contains("::error"), "{}", run.log);
    assert!(!run.summary.contains("Image updates"), "{}", run.summary);

    // With a tags file, the check's summary shows what `fix` would change, the markers named
    // as the workspace names them.
    let args = ("args", "--tags-file fixtures/homelab/tags.json");
    let run = run_action(&repo_dir(), &[("path", "fixtures/homelab"), args], &[]);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.outputs["changed"], "0", "nothing was changed");
    assert!(
        run.summary.contains("#### Image updates: 14 pending\n"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains(
            "| `fixtures/homelab/kubernetes/apps/base/ai/ollama/deployment.yaml:24` | `0.13.5` → `0.14.2` | ↑ update |"
        ),
        "{}",
        run.summary
    );
}

#[test]
fn action_fails_on_errors_with_log_outputs_and_summary() {
    let run = run_action(&unknown_policy_dir(), &[], &[]);
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
        run.summary.contains("❌ **2 errors**, 0 warnings in `.`"),
        "{}",
        run.summary
    );
    assert!(run
        .summary
        .contains("| Severity | Rule | Location | Message |\n|---|---|---|---|\n"));
    assert!(
        run.summary.contains(
            "| error | `unknown-policy` | `app.yaml:1:30` | no ImagePolicy `flux-system:ap` is defined in this repository<br>help: did you mean `flux-system:app`?"
        ),
        "{}",
        run.summary
    );
    assert!(run
        .summary
        .contains("| error | `unknown-policy` | `app.yaml:2:32` |"));
    let report = fs::read_to_string(&run.outputs["report"]).unwrap();
    assert!(report.contains("2 errors, 0 warnings"), "{report}");
}

#[test]
fn action_annotates_on_github_with_workspace_relative_paths() {
    let github = [("GITHUB_ACTIONS", "true")];
    let run = run_action(&unknown_policy_dir(), &[], &github);
    assert_eq!(run.status, 1, "{}", run.log);
    for line in [1, 2] {
        assert!(
            run.log
                .contains(&format!("::error file=app.yaml,line={line},")),
            "{}",
            run.log
        );
    }
    // Human report too: GitHub shows annotations, but the log still reads on its own.
    assert!(run.log.contains("× no ImagePolicy"), "{}", run.log);

    // A sub-folder: every artefact names the files as the workspace does, SARIF included (a
    // code-scanning upload resolves its paths against the checkout).
    let sub = "fixtures/rules/unknown-policy/triggers";
    let run = run_action(
        &repo_dir(),
        &[("path", &format!("./{sub}/")), ("format", "sarif")],
        &github,
    );
    assert_eq!(run.status, 1, "{}", run.log);
    assert!(
        run.log
            .contains(&format!("::error file={sub}/app.yaml,line=1,col=30,")),
        "{}",
        run.log
    );
    assert!(
        run.summary
            .contains(&format!("| `unknown-policy` | `{sub}/app.yaml:1:30` |")),
        "{}",
        run.summary
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&run.outputs["report"]).unwrap()).unwrap();
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, [format!("{sub}/app.yaml"), format!("{sub}/app.yaml")]);
}

/// The counts come from the tool (`--outputs-file`), never from reading a report: whatever the
/// format, and with no awk, jq or sed over its text.
#[test]
fn action_counts_come_from_the_tool_whatever_the_format() {
    for format in ["human", "json", "github", "sarif", "junit"] {
        let run = run_action(
            &unknown_policy_dir(),
            &[("format", format), ("args", "--jobs 2")],
            &[],
        );
        assert_eq!(run.status, 1, "{format}: {}", run.log);
        assert_eq!(run.outputs["errors"], "2", "{format}");
        assert_eq!(run.outputs["warnings"], "0", "{format}");
        let report = fs::read_to_string(&run.outputs["report"]).unwrap();
        assert!(report.contains("unknown-policy"), "{format}: {report}");
        // The log stays human.
        assert!(
            run.log.contains("× no ImagePolicy"),
            "{format}: {}",
            run.log
        );
    }
    for file in ["action.yml", "scripts/action-run"] {
        let text = fs::read_to_string(repo_dir().join(file)).unwrap();
        let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).collect();
        for reader in ["awk", "jq", "python3", "sed"] {
            assert!(!words.contains(&reader), "{file} runs {reader}");
        }
    }
}

#[test]
fn action_rejects_bad_inputs_and_never_evaluates_args() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let args = format!("$(touch {0}) `touch {0}` ;touch {0}", marker.display());
    let run = run_action(
        &repo_dir(),
        &[("path", "fixtures/homelab"), ("args", &args)],
        &[],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    assert!(!marker.exists(), "args were evaluated by the shell");
    // The words became paths: the tool says so in the summary.
    assert!(
        run.summary
            .contains("❌ **flux-image-lint could not do its job** in ``fixtures/homelab, $(touch"),
        "{}",
        run.summary
    );
    let run = run_action(
        &repo_dir(),
        &[("path", "fixtures/homelab"), ("args", "--no-such-switch")],
        &[],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    assert!(run.log.contains("--no-such-switch"), "{}", run.log);
    assert!(
        run.summary
            .contains("❌ **flux-image-lint could not run** (exit 2): see the job log"),
        "{}",
        run.summary
    );

    for (input, message) in [
        (("format", "xml"), "format must be one of"),
        (("fix", "maybe"), "fix: expected true or false"),
        (("push", "true"), "keep-going and push need fix: true"),
        (("keep-going", "true"), "keep-going and push need fix: true"),
        (("open-pr", "true"), "open-pr needs push: true"),
    ] {
        let run = run_action(&repo_dir(), &[("path", "fixtures/homelab"), input], &[]);
        assert_eq!(run.status, 2, "{input:?}: {}", run.log);
        assert!(run.log.contains(message), "{input:?}: {}", run.log);
        assert!(
            !run.outputs.contains_key("errors"),
            "{input:?}: {:?}",
            run.outputs
        );
    }
}

#[test]
fn action_reports_tool_failures_as_exit_2_in_the_log_and_the_summary() {
    let run = run_action(&repo_dir(), &[("path", "fixtures/does-not-exist")], &[]);
    assert_eq!(run.status, 2, "{}", run.log);
    assert!(
        run.log
            .contains("::error::flux-image-lint could not do its job (exit 2)"),
        "{}",
        run.log
    );
    assert!(
        run.summary.contains(
            "❌ **flux-image-lint could not do its job** in `fixtures/does-not-exist`: `fixtures/does-not-exist` does not exist"
        ),
        "{}",
        run.summary
    );
}

/// A policy whose registry cannot be reached: the job fails, the summary says which policy,
/// which image and why, nothing is written, and `unresolved` counts it.
#[test]
fn action_fails_loudly_with_the_registry_errors_when_a_policy_cannot_be_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let image = format!("127.0.0.1:{}/org/app", servers::free_port());
    fs::write(
        dir.path().join("image.yaml"),
        format!(
            "apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: {image}
  interval: 1h
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: '>=1.0.0'
"
        ),
    )
    .unwrap();
    let deployment = format!("image: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n");
    fs::write(dir.path().join("app.yaml"), &deployment).unwrap();
    let run = run_action(
        dir.path(),
        &[("fix", "true"), ("args", "--no-cache --registry-timeout 5")],
        &[],
    );
    assert_eq!(run.status, 2, "{}", run.log);
    assert_eq!(run.outputs["unresolved"], "1", "{:?}", run.outputs);
    assert_eq!(run.outputs["changed"], "0");
    assert!(
        run.summary
            .contains("❌ **1 policy could not be resolved**: nothing was written"),
        "{}",
        run.summary
    );
    let row = run
        .summary
        .lines()
        .find(|l| l.starts_with("| `flux-system:app` |"))
        .unwrap_or_else(|| panic!("{}", run.summary));
    assert!(row.contains(&format!("| `{image}` | tags |")), "{row}");
    assert!(row.contains("127.0.0.1"), "the registry's error: {row}");
    assert!(!run.summary.contains("up to date"), "{}", run.summary);
    assert!(run.log.contains("could not be resolved"), "{}", run.log);
    assert!(!run.log.contains("no changes"), "{}", run.log);
    assert_eq!(
        fs::read_to_string(dir.path().join("app.yaml")).unwrap(),
        deployment
    );
}

/// `fix: true` offline (`--tags-file`): the fixer runs once, its changes are logged, counted and
/// listed in the summary; a `--fix`-only argument applies.
#[test]
fn action_fix_logs_and_counts_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), dir.path());
    let inputs = [
        ("fix", "true"),
        ("keep-going", "true"),
        ("args", "--tags-file tags.json --no-downgrade"),
    ];
    let run = run_action(dir.path(), &inputs, &[]);
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
    assert!(
        run.summary
            .contains(&format!("#### Image updates: {logged} changed\n")),
        "{}",
        run.summary
    );

    let run = run_action(dir.path(), &inputs, &[]);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.outputs["changed"], "0");
    assert!(
        run.log
            .contains("no changes: every marker the fixer can write is up to date"),
        "{}",
        run.log
    );
    assert!(
        run.summary.contains("Every marker is up to date."),
        "{}",
        run.summary
    );
}

/// The release path end to end, as far as this machine can go: the glibc build packaged by
/// the release workflow's script under the asset name of this runner's musl target, served
/// from 127.0.0.1; the action downloads it, verifies its SHA-256 and runs it.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn action_downloads_and_verifies_a_release_from_a_server() {
    let dist = tempfile::tempdir().unwrap();
    let asset = "flux-image-lint-x86_64-unknown-linux-musl.tar.gz";
    let packaged = Command::new(repo_dir().join("scripts/release-package"))
        .args(["x86_64-unknown-linux-musl", BIN])
        .arg(dist.path())
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{packaged:?}");
    let tarball = fs::read(dist.path().join(asset)).unwrap();
    let digest = servers::sha256_hex(&tarball);
    let checksum_file = dist.path().join(format!("{asset}.sha256"));
    assert_eq!(
        fs::read_to_string(&checksum_file).unwrap(),
        format!("{digest}  {asset}\n")
    );

    let served = dist.path().to_path_buf();
    let server =
        servers::TestServer::start(
            move |request| match request.path().strip_prefix("/v9.9.9/") {
                Some(name) if !name.contains('/') => match fs::read(served.join(name)) {
                    Ok(bytes) => servers::Response::new(200).body(bytes),
                    Err(_) => servers::Response::new(404),
                },
                _ => servers::Response::new(404),
            },
        );
    let releases = [("FLUX_IMAGE_LINT_RELEASES_URL", server.url())];
    let releases: Vec<(&str, &str)> = releases.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let inputs = [("version", "v9.9.9"), ("path", "fixtures/homelab")];

    let run = run_action(&repo_dir(), &inputs, &releases);
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(
        run.log
            .contains(&format!("downloading {}/v9.9.9/{asset}", server.url())),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!("sha256 {digest} OK")),
        "{}",
        run.log
    );
    assert_eq!(run.outputs["errors"], "0", "the downloaded binary ran");

    let mut wrong = digest.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    for (checksum, message) in [
        (format!("{wrong}  {asset}\n"), "checksum mismatch"),
        (
            format!("{digest}  flux-image-lint-other.tar.gz\n"),
            "is the checksum of 'flux-image-lint-other.tar.gz'",
        ),
        ("not a checksum\n".to_string(), "holds no SHA-256 checksum"),
    ] {
        fs::write(&checksum_file, checksum).unwrap();
        let run = run_action(&repo_dir(), &inputs, &releases);
        assert_eq!(run.status, 2, "{}", run.log);
        assert!(run.log.contains(message), "{message}: {}", run.log);
        assert!(!run.outputs.contains_key("errors"), "the run step ran");
    }
}

#[test]
fn action_derives_the_release_url_from_the_action_checkout() {
    // No download happens: an unknown scheme fails after the URL is logged.
    let output = Command::new("bash")
        .arg(repo_dir().join("scripts/action-run"))
        .arg("install")
        .env_remove("FLUX_IMAGE_LINT_RELEASES_URL")
        .env_remove("GITHUB_OUTPUT")
        .env("RUNNER_TEMP", std::env::temp_dir())
        .env("INPUT_VERSION", "1.2.3")
        .env(
            "ACTION_PATH",
            "/home/runner/work/_actions/someone/flux-image-lint/v1",
        )
        .env("SERVER_URL", "gopher://forge.invalid")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{log}");
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        assert!(
            log.contains(
                "downloading gopher://forge.invalid/someone/flux-image-lint/releases/download/v1.2.3/flux-image-lint-x86_64-unknown-linux-musl.tar.gz"
            ),
            "{log}"
        );
    }
}

/// `config`, `push` and `open-pr` reach the one run: the config's author signs the weekly
/// branch pushed to a bare remote, the summary shows the changes and the push; asking for a
/// pull request where no forge can be told from the remote fails the job, saying why.
#[test]
fn action_pushes_the_weekly_branch_with_the_config_and_opens_no_pr_without_a_forge() {
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("work");
    let bare = temp.path().join("remote.git");
    fs::create_dir_all(&work).unwrap();
    fs::create_dir_all(&bare).unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), &work);
    fs::write(
        temp.path().join("ci.yaml"),
        "author: \"Image Bot <image-bot@example.com>\"\n",
    )
    .unwrap();
    support::git(&bare, &["init", "-q", "--bare"]);
    support::git(&work, &["init", "-q", "-b", "main"]);
    support::git(&work, &["add", "-A"]);
    support::git(&work, &["commit", "-q", "-m", "homelab"]);
    let remote = format!("file://{}", bare.display());
    support::git(&work, &["remote", "add", "origin", &remote]);
    support::git(&work, &["push", "-q", "origin", "main"]);

    let config = temp.path().join("ci.yaml").display().to_string();
    let home = work.display().to_string();
    let env = [("HOME", home.as_str()), ("GIT_CONFIG_NOSYSTEM", "1")];
    let mut inputs = vec![
        ("fix", "true"),
        ("push", "true"),
        ("config", config.as_str()),
        ("args", "--tags-file tags.json"),
    ];
    let run = run_action(&work, &inputs, &env);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(run.outputs["changed"], "14");
    let branches = support::git(&bare, &["branch", "--list", "image-updates/*"]);
    let branch = branches.trim().trim_start_matches("* ").to_string();
    assert!(branch.starts_with("image-updates/"), "{branches}");
    assert_eq!(
        support::git(&bare, &["log", "-1", "--format=%an <%ae>", &branch]).trim(),
        "Image Bot <image-bot@example.com>",
        "the config's author"
    );
    assert!(
        run.summary.contains("#### Image updates: 14 changed\n"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains(&format!("pushed {branch} at ")),
        "{}",
        run.summary
    );

    // On a new base the branch is pushed again; then the pull request: a file:// remote names
    // no forge.
    support::git(&work, &["commit", "-q", "--allow-empty", "-m", "next"]);
    support::git(&work, &["push", "-q", "origin", "main"]);
    inputs.push(("open-pr", "true"));
    let run = run_action(&work, &inputs, &env);
    assert_eq!(run.status, 2, "{}", run.log);
    for said in [
        "❌ **flux-image-lint could not do its job** in `.`:",
        "it is a local path, not a forge",
        "pushed image-updates/",
    ] {
        assert!(run.summary.contains(said), "{said}: {}", run.summary);
    }
}
