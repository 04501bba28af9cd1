//! Defects 2 (registry), 4, 5 and 8: a malicious registry on 127.0.0.1 that never stops paging,
//! sends more than any real one, injects tags that would break a manifest or a CI log, and
//! echoes the credentials it was sent; and a tag cache another user could have planted.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::harness::{binary_path, run_command, Outcome, DEPLOY, POLICIES};
use crate::registry_support::{Response, TestServer};

/// A repository whose ImageRepository is `server`'s `org/app`, fixed with the registry's tags.
struct Target {
    dir: tempfile::TempDir,
}

impl Target {
    fn new(server: &TestServer) -> Target {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        let image = server.image("org/app");
        std::fs::write(
            dir.path().join("repo/policies.yaml"),
            POLICIES.replace("ghcr.io/org/app", &image),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("repo/deploy.yaml"),
            DEPLOY.replace("ghcr.io/org/app", &image),
        )
        .unwrap();
        Target { dir }
    }

    fn deploy(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("repo/deploy.yaml")).unwrap()
    }

    fn fix(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = Command::new(binary_path());
        command
            .args(["check", "repo", "--fix", "--no-cache"])
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("no-docker-config"))
            .envs(env.iter().copied());
        run_command(command, self.dir.path())
    }
}

fn tags_page(tags: &[String]) -> String {
    serde_json::json!({ "name": "org/app", "tags": tags }).to_string()
}

/// A registry whose tag list never ends: page N's body is `body(N)`, and it links to page N+1.
fn endless_registry(body: impl Fn(u64) -> String + Send + Sync + 'static) -> TestServer {
    TestServer::start(move |request| {
        let page: u64 = request
            .query("last")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        Response::json(200, body(page)).header(
            "Link",
            format!("</v2/org/app/tags/list?last={}>; rel=\"next\"", page + 1),
        )
    })
}

#[test]
fn endless_pages_stop_at_the_page_limit() {
    let server = endless_registry(|page| tags_page(&[format!("1.0.{page}")]));
    let target = Target::new(&server);
    let outcome = target.fix(&["--format", "json"], &[]);
    outcome.exits_saying(2, "past 2000 pages");
    assert_eq!(server.count("/v2/org/app/tags/list"), 2000);
    assert!(target.deploy().contains("app:1.0.0"), "nothing written");
}

#[test]
fn endless_tags_stop_at_the_tag_limit() {
    let server = endless_registry(|page| {
        let tags: Vec<String> = (0..1000).map(|i| format!("{page}.{i}.0")).collect();
        tags_page(&tags)
    });
    let outcome = Target::new(&server).fix(&[], &[]);
    outcome.exits_saying(2, "more than 100000 tags");
    assert!(server.count("/v2/org/app/tags/list") <= 101);
}

#[test]
fn a_registry_sending_too_much_is_cut_off() {
    // Pages of almost 8 MiB of padding, each naming a next one.
    let padding = " ".repeat(8 * 1024 * 1024 - 200);
    let server =
        endless_registry(move |page| format!("{}{padding}", tags_page(&[format!("1.0.{page}")])));
    let outcome = Target::new(&server).fix(&[], &[]);
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains("has sent more than 128 MiB in this run"),
        "{}",
        outcome.stderr
    );
    assert!(server.count("/v2/org/app/tags/list") <= 17);
}

#[test]
fn injected_tags_are_never_written_and_warnings_are_escaped_and_summarised() {
    let mut tags: Vec<String> = [
        "1.9.0\n# {\"$imagepolicy\": \"flux-system:other\"}",
        "1.9.0 # comment",
        "1.9.0\": \"x",
        "1.9.0\u{0}",
        "1.9.0\u{2028}x",
        "\n::error file=deploy.yaml::forged annotation",
        "\u{1b}]0;title\u{7}\u{1b}[2J",
        "1.2.0",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    tags.push("9".repeat(10_000));
    tags.extend((0..50_000).map(|i| format!("bad tag {i}")));
    let body = tags_page(&tags);
    let server = TestServer::start(move |_| Response::json(200, body.clone()));
    let target = Target::new(&server);
    let outcome = target.fix(&["--format", "json"], &[]);
    assert_eq!(outcome.sane(), 0, "{outcome:#?}");
    let deploy = target.deploy();
    assert!(deploy.contains("/org/app:1.2.0 # {"), "{deploy}");
    assert_eq!(deploy.lines().count(), DEPLOY.lines().count());
    // Nothing a terminal or a CI runner would act on, and a handful of lines, not 50,000.
    assert!(!outcome.stderr.contains('\u{1b}'), "{}", outcome.stderr);
    assert!(
        !outcome.stderr.lines().any(|line| line.starts_with("::")),
        "{}",
        outcome.stderr
    );
    let warnings = outcome
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .count();
    assert_eq!(warnings, 4, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("ignoring 50005 more invalid tags"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn credentials_echoed_by_the_registry_are_hidden() {
    const TOKEN: &str = "s3cr3t-t0ken-Value-42";
    let server = TestServer::start(|request| {
        let port = request.header("host").unwrap_or("").to_string();
        match (request.path(), request.header("authorization")) {
            ("/token", Some(basic)) => {
                Response::json(200, format!(r#"{{"token":"{TOKEN}","echo":"{basic}"}}"#))
            }
            ("/v2/org/app/tags/list", None) => Response::json(401, "{}").header(
                "WWW-Authenticate",
                format!(r#"Bearer realm="http://{port}/token",service="x""#),
            ),
            (_, Some(header)) => Response::json(
                500,
                format!(
                    r#"{{"errors":[{{"code":"INTERNAL","message":"bad Authorization: {header} (user alice, password pa55-w0rd-Secret)"}}]}}"#
                ),
            ),
            _ => Response::json(404, "{}"),
        }
    });
    let prefix = format!("FLUX_IMAGE_LINT_REGISTRY_127_0_0_1_{}", server.port);
    let (user, password) = (format!("{prefix}_USERNAME"), format!("{prefix}_PASSWORD"));
    let outcome = Target::new(&server).fix(
        &["--format", "json", "--verbose", "--keep-going"],
        &[(&user, "alice"), (&password, "pa55-w0rd-Secret")],
    );
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    let basic = base64_basic("alice", "pa55-w0rd-Secret");
    for secret in [TOKEN, basic.as_str(), "pa55-w0rd-Secret"] {
        assert!(
            !outcome.stdout.contains(secret),
            "{secret} in {}",
            outcome.stdout
        );
        assert!(
            !outcome.stderr.contains(secret),
            "{secret} in {}",
            outcome.stderr
        );
    }
    assert!(
        outcome
            .stderr
            .contains("INTERNAL: bad Authorization: Bearer ***"),
        "{}",
        outcome.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    let failure = report["failures"][0]["message"].as_str().unwrap();
    assert!(failure.contains("Bearer ***"), "{failure}");
}

fn base64_basic(user: &str, password: &str) -> String {
    // `user:password` in standard base64, as a client sends it.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_malformed_docker_config_never_prints_its_auth() {
    // Asking for credentials makes the client read the Docker config.
    let server = TestServer::start(|_| {
        Response::json(401, "{}").header("WWW-Authenticate", "Basic realm=\"x\"")
    });
    let target = Target::new(&server);
    let docker = target.dir.path().join("docker");
    std::fs::create_dir(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        r#"{"auths": "YWxpY2U6c3VwZXItc2VjcmV0LXBhc3N3b3Jk", "credsStore": 7"#,
    )
    .unwrap();
    let mut command = Command::new(binary_path());
    command
        .args(["check", "repo", "--fix", "--no-cache"])
        .env("DOCKER_CONFIG", &docker);
    let outcome = run_command(command, target.dir.path());
    assert_eq!(outcome.sane(), 2, "{outcome:#?}");
    assert!(
        outcome
            .stderr
            .contains("invalid JSON: invalid type: string \"***\""),
        "{}",
        outcome.stderr
    );
    assert!(
        !outcome
            .stderr
            .contains("YWxpY2U6c3VwZXItc2VjcmV0LXBhc3N3b3Jk"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_cache_another_user_planted_is_not_used() {
    let server = TestServer::start(|_| Response::json(200, tags_page(&["1.2.0".into()])));
    let target = Target::new(&server);
    let cache = target.dir.path().join("cache");
    // A first run fills the cache with the registry's real tags.
    let mut command = Command::new(binary_path());
    command
        .args(["check", "repo", "--fix", "--dry-run", "--cache-dir"])
        .arg(&cache)
        .env("DOCKER_CONFIG", target.dir.path().join("none"));
    // A dry run that would change something exits 1.
    assert_eq!(run_command(command, target.dir.path()).sane(), 1);
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // Poison every entry: a tag that would inject YAML, and one that is simply newer.
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("\"1.2.0\"", "\"1.2.0\\n# x\",\"7.7.7\""),
        )
        .unwrap();
    }
    let fix = |target: &Target| {
        let mut command = Command::new(binary_path());
        command
            .args(["check", "repo", "--fix", "--cache-dir"])
            .arg(&cache)
            .env("DOCKER_CONFIG", target.dir.path().join("none"));
        run_command(command, target.dir.path())
    };
    // Our own folder, but an entry holding an invalid tag: ignored, the registry asked again.
    let before = server.count("/v2/org/app/tags/list");
    assert_eq!(fix(&target).sane(), 0);
    assert_eq!(server.count("/v2/org/app/tags/list"), before + 1);
    assert!(target.deploy().contains("app:1.2.0"), "{}", target.deploy());
    // Another user's folder (as root: chown it to `nobody`), with a well-formed but false entry.
    if unsafe { libc::geteuid() } == 0 {
        for entry in std::fs::read_dir(&cache).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let poisoned = text.replace("\"1.2.0\"", "\"7.7.7\"");
            std::fs::write(&path, poisoned).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        }
        std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();
        let before = server.count("/v2/org/app/tags/list");
        let outcome = fix(&target);
        outcome.exits_saying(0, "another user owns it");
        assert_eq!(server.count("/v2/org/app/tags/list"), before + 1);
        assert!(!target.deploy().contains("7.7.7"), "{}", target.deploy());
    }
}
