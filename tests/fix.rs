//! `check --fix` through the built binary: golden rewrites over every value shape, idempotence,
//! dry runs, failures that write nothing, `--no-downgrade`, file modes, and the weekly branch
//! pushed to a real bare repository.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{assert_golden, copy_dir, diagnostic_locations, git, json, repo_dir, run, stdout};

fn copy_fixture(name: &str) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&repo_dir().join("fixtures").join(name), temp.path());
    temp
}

fn shapes_tags() -> String {
    repo_dir()
        .join("fixtures/fix/shapes.tags.json")
        .display()
        .to_string()
}

fn fix(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", dir.to_str().unwrap(), "--fix"];
    args.extend_from_slice(extra);
    run(&args, &repo_dir())
}

#[test]
fn rewrites_every_value_shape_byte_exactly_and_only_once() {
    let temp = copy_fixture("fix/shapes");
    let first = fix(
        temp.path(),
        &["--tags-file", &shapes_tags(), "--color", "never"],
    );
    // Markers Flux ignores or that would destroy data stay as they are and remain errors.
    assert_eq!(first.status.code(), Some(1), "{}", stdout(&first));
    let text = stdout(&first);
    let listing_end = text.find(" changed\n").expect("a change count") + " changed\n".len();
    let listing = &text[..listing_end];
    // The `num` policy picks 1.9 over 1.10 (alphabetical): Flux-exact, and reported as such.
    assert!(text.contains("picks `1.9` over the newer `1.10`"), "{text}");
    assert_golden(&repo_dir().join("fixtures/fix/shapes.changes.txt"), listing);
    for file in [
        "values.yaml",
        "helmrelease.yaml",
        "crlf.yaml",
        "policies.yaml",
    ] {
        let actual = std::fs::read_to_string(temp.path().join(file)).unwrap();
        assert_golden(
            &repo_dir().join("fixtures/fix/shapes.expected").join(file),
            &actual,
        );
    }
    let crlf = std::fs::read(temp.path().join("crlf.yaml")).unwrap();
    assert!(crlf.starts_with("\u{feff}".as_bytes()), "BOM kept");
    assert_eq!(
        crlf.iter().filter(|&&b| b == b'\n').count(),
        crlf.windows(2).filter(|w| w == b"\r\n").count(),
        "CRLF kept"
    );

    let second = fix(temp.path(), &["--tags-file", &shapes_tags()]);
    assert!(
        stdout(&second).starts_with("no changes: every marker the fixer can write is up to date"),
        "{}",
        stdout(&second)
    );
    let again = std::fs::read_to_string(temp.path().join("values.yaml")).unwrap();
    assert_eq!(
        again,
        std::fs::read_to_string(repo_dir().join("fixtures/fix/shapes.expected/values.yaml"))
            .unwrap()
    );
}

#[test]
fn dry_run_prints_a_diff_and_changes_nothing() {
    let temp = copy_fixture("fix/shapes");
    let before = std::fs::read(temp.path().join("values.yaml")).unwrap();
    let output = fix(temp.path(), &["--tags-file", &shapes_tags(), "--dry-run"]);
    let text = stdout(&output);
    assert!(
        text.contains("--- a/values.yaml\n+++ b/values.yaml\n"),
        "{text}"
    );
    assert!(
        text.contains("-  plain_number: 1.0 #") && text.contains("+  plain_number: \"1.9\" #"),
        "{text}"
    );
    assert!(text.contains("would change"), "{text}");
    assert_eq!(
        before,
        std::fs::read(temp.path().join("values.yaml")).unwrap()
    );
}

#[test]
fn json_lists_the_changes() {
    let temp = copy_fixture("fix/shapes");
    let output = fix(
        temp.path(),
        &["--tags-file", &shapes_tags(), "--format", "json"],
    );
    let report = json(&output);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 16);
    let hub = changes.iter().find(|c| c["line"] == 19).unwrap();
    assert_eq!(hub["file"], "values.yaml");
    assert_eq!(hub["policy"], "flux-system:nginx");
    assert_eq!(hub["old"], "docker.io/library/nginx:1.27.0");
    assert_eq!(hub["new"], "nginx:1.27.3");
    assert!(report["failures"].as_array().unwrap().is_empty());
    assert_eq!(report["summary"]["errors"], 3);
}

/// The report after fixing comes from the rewritten texts in memory; it must be what a fresh
/// `check` of the written files says.
#[test]
fn the_report_after_fixing_is_a_fresh_check_of_the_written_files() {
    let temp = copy_fixture("fix/shapes");
    let fixed = json(&fix(
        temp.path(),
        &["--tags-file", &shapes_tags(), "--format", "json"],
    ));
    let checked = json(&run(
        &[
            "check",
            temp.path().to_str().unwrap(),
            "--tags-file",
            &shapes_tags(),
            "--format",
            "json",
        ],
        &repo_dir(),
    ));
    assert!(!checked["diagnostics"].as_array().unwrap().is_empty());
    assert_eq!(fixed["diagnostics"], checked["diagnostics"]);
    assert_eq!(fixed["summary"], checked["summary"]);
}

#[test]
fn a_policy_that_cannot_resolve_writes_nothing_unless_keep_going() {
    let temp = copy_fixture("fix/shapes");
    let tags: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shapes_tags()).unwrap()).unwrap();
    let mut partial = tags.as_object().unwrap().clone();
    partial.remove("nginx");
    let partial_path = temp.path().join("partial-tags.json");
    std::fs::write(&partial_path, serde_json::to_string(&partial).unwrap()).unwrap();
    let before = std::fs::read(temp.path().join("values.yaml")).unwrap();

    let output = fix(
        temp.path(),
        &["--tags-file", partial_path.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("flux-system:nginx") && stderr.contains("no entry for `nginx`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        before,
        std::fs::read(temp.path().join("values.yaml")).unwrap()
    );

    let output = fix(
        temp.path(),
        &[
            "--tags-file",
            partial_path.to_str().unwrap(),
            "--keep-going",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let after = std::fs::read_to_string(temp.path().join("values.yaml")).unwrap();
    assert!(after.contains("plain: ghcr.io/org/app:1.1.0"));
    assert!(
        after.contains("hub: docker.io/library/nginx:1.27.0"),
        "the unresolved policy is not applied"
    );
}

#[test]
fn no_downgrade_refuses_what_flux_would_write() {
    let temp = copy_fixture("fix/shapes");
    let values = temp.path().join("values.yaml");
    let text = std::fs::read_to_string(&values).unwrap().replace(
        "plain: ghcr.io/org/app:1.0.0",
        "plain: ghcr.io/org/app:1.2.0",
    );
    std::fs::write(&values, text).unwrap();
    let output = fix(
        temp.path(),
        &["--tags-file", &shapes_tags(), "--no-downgrade"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not downgrading ghcr.io/org/app:1.2.0 to ghcr.io/org/app:1.1.0"),
        "{stderr}"
    );
    assert!(std::fs::read_to_string(&values)
        .unwrap()
        .contains("plain: ghcr.io/org/app:1.2.0"));
    // Flux's own decision: write whenever the value differs, even downwards.
    fix(temp.path(), &["--tags-file", &shapes_tags()]);
    assert!(std::fs::read_to_string(&values)
        .unwrap()
        .contains("plain: ghcr.io/org/app:1.1.0"));
}

/// Each cluster's semver policy reads tags as its own Flux does: Flux 2.6 (`clusters/old`) skips
/// CalVer with leading zeros and writes the newest tag it reads, `2025.2.1`; Flux 2.7
/// (`clusters/new`) reads `2025.02.03` as 2025.2.3, its pick, and leaves it.
#[test]
fn each_cluster_reads_tags_as_its_flux_does() {
    let temp = copy_fixture("fix/calver-per-cluster");
    let dir = temp.path().to_str().unwrap();
    let tags = repo_dir().join("fixtures/fix/calver-per-cluster.tags.json");
    let tags = tags.to_str().unwrap();
    let checked = run(&["check", dir, "--format", "json"], &repo_dir());
    assert_eq!(
        diagnostic_locations(&checked),
        ["tag-not-semver clusters/old/app.yaml:11"]
    );
    let message = json(&checked)["diagnostics"][0]["message"].to_string();
    assert!(
        message.contains("Flux 2.6.4 (install manifest header at clusters/old/flux-system/gotk-components.yaml:3)"),
        "{message}"
    );

    let output = fix(
        temp.path(),
        &["--tags-file", tags, "--dry-run", "--color", "never"],
    );
    let text = stdout(&output);
    assert!(
        text.contains("--- a/clusters/old/app.yaml\n")
            && text.contains("-          image: ghcr.io/org/app:2025.02.03 #")
            && text.contains("+          image: ghcr.io/org/app:2025.2.1 #"),
        "{text}"
    );
    assert!(!text.contains("clusters/new/app.yaml"), "{text}");
    assert!(text.contains("1 would change"), "{text}");

    // Upgraded to Flux 2.7, the old cluster reads the tag as a version too.
    let upgraded = run(
        &["check", dir, "--flux-version", "2.7", "--format", "json"],
        &repo_dir(),
    );
    assert!(
        !diagnostic_locations(&upgraded)
            .iter()
            .any(|d| d.starts_with("tag-not-semver")),
        "{}",
        stdout(&upgraded)
    );
}

/// Without clusters, each overlay renders its own copy of `app:app`: testing's selects
/// numerically over `main-<sha>-<timestamp>` tags, review's by semver. Each marker gets the tag
/// its own copy selects, and `status` lists the two copies apart.
#[test]
fn each_overlay_resolves_its_own_copy_of_a_policy() {
    let temp = copy_fixture("fix/policy-per-overlay");
    let tags = repo_dir().join("fixtures/fix/policy-per-overlay.tags.json");
    let tags = tags.to_str().unwrap();
    let output = fix(temp.path(), &["--tags-file", tags]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let marker = |overlay: &str| {
        let path = temp.path().join(overlay).join("patch-deployment.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .find(|l| l.contains("$imagepolicy"))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(
        marker("overlays/review"),
        r#"image: ghcr.io/example/app:0.0.16 # {"$imagepolicy": "app:app"}"#
    );
    assert_eq!(
        marker("overlays/testing"),
        r#"image: ghcr.io/example/app:main-9f1c2d3-1704390000000 # {"$imagepolicy": "app:app"}"#
    );

    let status = run(
        &[
            "status",
            temp.path().to_str().unwrap(),
            "--tags-file",
            tags,
            "--format",
            "json",
        ],
        &repo_dir(),
    );
    let rows: Vec<(String, String)> = json(&status)["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["latest"].to_string(), p["markers"][0]["file"].to_string()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                r#""0.0.16""#.into(),
                r#""overlays/review/patch-deployment.yaml""#.into()
            ),
            (
                r#""main-9f1c2d3-1704390000000""#.into(),
                r#""overlays/testing/patch-deployment.yaml""#.into()
            ),
        ]
    );
}

#[test]
fn rewritten_files_keep_their_mode() {
    let temp = copy_fixture("fix/shapes");
    let values = temp.path().join("values.yaml");
    std::fs::set_permissions(&values, std::fs::Permissions::from_mode(0o640)).unwrap();
    fix(temp.path(), &["--tags-file", &shapes_tags()]);
    assert_eq!(
        std::fs::metadata(&values).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

fn push(work: &Path, tags: &str) -> std::process::Output {
    support::binary()
        .args([
            "check",
            "--fix",
            "--push",
            "--tags-file",
            tags,
            "--author",
            "Bot <bot@example.com>",
        ])
        .current_dir(work)
        .env("HOME", work)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

/// The issue's "done when": on the homelab sample with its tags, `--fix --push` produces one
/// commit on `image-updates/YYYY-wWW` touching exactly the expected lines, leaves the working
/// tree and current branch alone, and a second run the same day pushes nothing.
#[test]
fn homelab_fix_push_builds_the_weekly_branch() {
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("work");
    let remote = temp.path().join("remote.git");
    std::fs::create_dir_all(&work).unwrap();
    copy_dir(&repo_dir().join("fixtures/homelab"), &work);
    let tags = work.join("tags.json").display().to_string();
    git(
        temp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "homelab"]);
    git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&work, &["push", "-q", "origin", "main"]);
    let head = git(&work, &["rev-parse", "HEAD"]);

    let dry = run(
        &[
            "check",
            "--fix",
            "--dry-run",
            "--tags-file",
            &tags,
            "--format",
            "json",
        ],
        &work,
    );
    let expected: Vec<(String, u64)> = json(&dry)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["file"].as_str().unwrap().to_string(),
                c["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(expected.len() >= 10, "{expected:?}");

    let pushed = push(&work, &tags);
    let text = stdout(&pushed);
    assert_eq!(
        pushed.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let branch =
        flux_image_lint::git::weekly_branch_name("image-updates/{iso_year}-w{iso_week}", now)
            .unwrap();
    assert!(text.contains(&format!("pushed {branch} at ")), "{text}");

    // One commit on top of main, touching exactly the planned lines.
    let log = git(&remote, &["log", "--format=%s", &format!("main..{branch}")]);
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.starts_with("chore(images): update images for "),
        "{log}"
    );
    let diff = git(&remote, &["diff", "--unified=0", "main", &branch]);
    let mut touched = Vec::new();
    let mut file = String::new();
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ b/") {
            file = path.to_string();
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            let new = hunk.split(' ').nth(1).unwrap().trim_start_matches('+');
            let (start, count) = new.split_once(',').map_or((new, "1"), |(s, c)| (s, c));
            assert_eq!(count, "1", "one line per hunk: {line}");
            touched.push((file.clone(), start.parse::<u64>().unwrap()));
        }
    }
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    touched.sort();
    assert_eq!(touched, expected_sorted);

    // The user's repository is untouched.
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    assert_eq!(git(&work, &["branch", "--show-current"]).trim(), "main");

    // Again the same day: nothing to push.
    let tip = git(&remote, &["rev-parse", &branch]);
    let again = push(&work, &tags);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("already up to date"),
        "{}",
        stdout(&again)
    );
    assert_eq!(git(&remote, &["rev-parse", &branch]), tip);
}
