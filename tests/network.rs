//! Registry work through the built binary: failing fast on dead hosts (what silent hosts on
//! 127.0.0.1 received), progress and errors as they happen, `tags --keep-going`, and the JSON
//! document of `check --fix` whatever happened. Nothing leaves 127.0.0.1.

#[path = "support/registry.rs"]
mod registry_support;

use std::path::Path;
use std::process::Output;

use registry_support::{binary_in, free_port, Response, SilentHost, TestServer};

/// `tags --write` with a 2 s timeout, for tests with a silent host.
const WRITE_TAGS_QUICKLY: [&str; 6] = [
    "tags",
    "--write",
    "t.json",
    "--no-cache",
    "--registry-timeout",
    "2",
];

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A registry on 127.0.0.1 that lists `1.0.0` and `1.1.0` for every repository.
fn answering_registry() -> TestServer {
    TestServer::start(|_| Response::json(200, r#"{"tags":["1.0.0","1.1.0"]}"#))
}

/// An image on a 127.0.0.1 port nothing listens on: refused at once.
fn refused_image() -> String {
    format!("127.0.0.1:{}/org/refused", free_port())
}

/// One ImageRepository and ImagePolicy per image, a marker for each, in `dir`.
fn repositories(dir: &Path, images: &[String], timeout: Option<&str>) {
    let mut policies = String::new();
    let mut markers = String::new();
    for (i, image) in images.iter().enumerate() {
        let timeout = timeout.map_or(String::new(), |t| format!("  timeout: {t}\n"));
        policies.push_str(&format!(
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  image: {image}\n  interval: 12h\n{timeout}---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  policy:\n    semver:\n      range: \">=1.0.0\"\n"
        ));
        markers.push_str(&format!(
            "image{i}: {image}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app{i}\"}}\n"
        ));
    }
    std::fs::write(dir.join("policies.yaml"), policies).unwrap();
    std::fs::write(dir.join("values.yaml"), markers).unwrap();
}

#[test]
fn an_overflowing_spec_timeout_is_not_a_panic() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    repositories(
        dir,
        &["ghcr.io/org/app".to_string()],
        Some("99999999999999999999999s"),
    );
    std::fs::write(
        dir.join("tags.json"),
        r#"{"ghcr.io/org/app": ["1.0.0", "1.1.0"]}"#,
    )
    .unwrap();
    let explain = binary_in(
        dir,
        &[
            "explain",
            "flux-system:app0",
            "--root",
            ".",
            "--tags-file",
            "tags.json",
        ],
    );
    assert_eq!(explain.status.code(), Some(0), "{explain:?}");
    let fix = binary_in(
        dir,
        &[
            "check",
            ".",
            "--fix",
            "--dry-run",
            "--tags-file",
            "tags.json",
        ],
    );
    assert!(matches!(fix.status.code(), Some(0 | 1)), "{fix:?}");
}

/// The issue's case, shortened: dead registry hosts (accepting, never answering) cost one
/// connection per parallel request each, not one per repository and attempt, and every failure
/// is named.
#[test]
fn dead_hosts_fail_fast_and_every_failure_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let hosts = [
        SilentHost::start(),
        SilentHost::start(),
        SilentHost::start(),
    ];
    let images: Vec<String> = (0..36)
        .map(|i| hosts[i % 3].image(&format!("org/app{i}")))
        .collect();
    repositories(dir, &images, None);
    let output = binary_in(
        dir,
        &[
            "tags",
            "--write",
            "tags.json",
            "--no-cache",
            "--registry-timeout",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let text = stderr(&output);
    for image in &images {
        assert!(
            text.contains(&format!("`{image}`")),
            "{image} not named: {text}"
        );
    }
    for host in &hosts {
        // 12 repositories each: the default 4 parallel requests, then nothing more (once a host
        // has failed, the requests under way decide before another is sent): never one
        // connection per repository, never a retry.
        assert!(
            (1..=4).contains(&host.connections()),
            "{} connections",
            host.connections()
        );
    }
    assert!(text.contains("not asked, because registry"), "{text}");
    assert!(!dir.join("tags.json").exists());
}

#[test]
fn tags_keep_going_writes_what_resolved() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let registry = answering_registry();
    let good = registry.image("org/app");
    let bad = refused_image();
    repositories(dir, &[good.clone(), bad.clone()], None);
    let args = ["tags", "--write", "tags.json", "--no-cache"];
    let without = binary_in(dir, &args);
    assert_eq!(without.status.code(), Some(2));
    assert!(
        stderr(&without).contains("--keep-going"),
        "{}",
        stderr(&without)
    );
    assert!(!dir.join("tags.json").exists());

    let with = binary_in(dir, &[&args[..], &["--keep-going"]].concat());
    assert_eq!(with.status.code(), Some(2), "{with:?}");
    let text = stderr(&with);
    assert!(
        text.contains(&bad) && text.contains("wrote the tags of 1 of 2"),
        "{text}"
    );
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tags.json")).unwrap()).unwrap();
    assert_eq!(snapshot, serde_json::json!({ good: ["1.0.0", "1.1.0"] }));
}

/// Off a terminal (a CI log): one line per repository as it ends, errors among them as they
/// happen, so a refused host is reported before a silent one times out.
#[test]
fn plain_lines_and_errors_as_they_happen_off_a_terminal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let registry = answering_registry();
    let silent = SilentHost::start();
    let images = [
        silent.image("org/slow"),
        refused_image(),
        registry.image("org/app"),
    ];
    repositories(dir, &images, None);
    let output = binary_in(dir, &WRITE_TAGS_QUICKLY);
    let text = stderr(&output);
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing: {text}"))
    };
    assert!(
        position(&format!("tags: {}: 2 tags", images[2])) < position(&images[0]),
        "{text}"
    );
    assert!(
        position(&format!("`{}`", images[1])) < position(&format!("`{}`", images[0])),
        "{text}"
    );
    assert!(text.contains("(3/3)"), "{text}");
    assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
}

/// Runs the binary on a pseudo-terminal (`script`), returning what the terminal showed.
fn on_a_terminal(dir: &Path, args: &[&str]) -> String {
    let command = std::iter::once(env!("CARGO_BIN_EXE_flux-image-lint"))
        .chain(args.iter().copied())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env_remove("NO_COLOR")
        .output()
        .expect("script(1) from util-linux");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_progress_bar_on_a_terminal_and_nothing_with_quiet() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let silent = SilentHost::start();
    let registry = answering_registry();
    repositories(
        dir,
        &[silent.image("org/slow"), registry.image("org/app")],
        None,
    );
    let shown = on_a_terminal(dir, &WRITE_TAGS_QUICKLY);
    assert!(shown.contains("fetching tags 1/2"), "{shown:?}");
    assert!(
        shown.contains(&format!("waiting on 127.0.0.1:{}", silent.port)),
        "the slow host is named: {shown:?}"
    );
    assert!(shown.contains("error: `127.0.0.1"), "{shown:?}");

    let quiet = on_a_terminal(dir, &[&WRITE_TAGS_QUICKLY[..], &["--quiet"]].concat());
    assert!(!quiet.contains("fetching tags"), "{quiet:?}");
    assert!(
        quiet.contains("error: `127.0.0.1"),
        "errors still show: {quiet:?}"
    );
}

#[test]
fn check_fix_json_always_emits_its_document() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let bad = refused_image();
    repositories(dir, std::slice::from_ref(&bad), None);
    let before = std::fs::read(dir.join("values.yaml")).unwrap();
    let output = binary_in(
        dir,
        &["check", ".", "--fix", "--no-cache", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let failures = document["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{document}");
    assert_eq!(failures[0]["image"], bad.as_str());
    assert_eq!(failures[0]["stage"], "tags");
    assert_eq!(document["changes"], serde_json::json!([]));
    assert!(document["diagnostics"].is_array() && document["summary"].is_object());
    assert_eq!(document["error"], serde_json::Value::Null);
    assert_eq!(std::fs::read(dir.join("values.yaml")).unwrap(), before);

    // It could not even start: the document says why.
    let output = binary_in(
        dir,
        &[
            "check",
            ".",
            "--fix",
            "--format",
            "json",
            "--tags-file",
            "missing.json",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        document["error"].as_str().unwrap().contains("missing.json"),
        "{document}"
    );
    assert_eq!(document["changes"], serde_json::json!([]));
}

/// Text from a repository (a YAML escape in `spec.image`, from a pull request) reaches the
/// terminal escaped: no control sequence gets through.
#[test]
fn an_image_name_cannot_drive_the_terminal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    repositories(dir, &["\"ghcr.io/org/\\e]0;pwned\\a\"".to_string()], None);
    let output = binary_in(dir, &["tags", "--write", "t.json", "--no-cache"]);
    let text = stderr(&output);
    assert!(text.contains("pwned"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}
