//! The registry client against real parts: Debian's `docker-registry` on 127.0.0.1 (plain,
//! htpasswd, TLS with a test CA) and small HTTP servers of the tests' own for paging, bearer
//! tokens, retries and timeouts. Nothing here leaves 127.0.0.1.

#[path = "support/registry.rs"]
mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use flux_image_lint::registry::{
    CacheOptions, Registry, RegistryError, RegistryOptions, TagList, TagRequest,
};
use support::{DockerRegistry, Kind, Response, SilentHost, TestServer, PASSWORD, USER};

/// Options for tests: no cache, no real Docker config, short timeout.
fn options() -> RegistryOptions {
    RegistryOptions {
        timeout: Duration::from_secs(10),
        cache: None,
        docker_config: Some(PathBuf::from(
            "/nonexistent/flux-image-lint-test/config.json",
        )),
        ..Default::default()
    }
}

fn registry(options: RegistryOptions) -> Registry {
    Registry::new(options).unwrap()
}

fn list(registry: &Registry, image: &str) -> Result<TagList, RegistryError> {
    registry.list_tags(&TagRequest::new(image))
}

fn assert_no_secret(text: &str) {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for secret in [
        PASSWORD,
        basic.as_str(),
        "wrong-password",
        "tok-",
        "Bearer ",
        "Basic ",
    ] {
        assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// docker-registry, plain HTTP on 127.0.0.1 (one instance shared by these tests).

struct Seeded {
    registry: DockerRegistry,
    tags: Vec<String>,
    manifest: (Vec<u8>, String),
    index_digest: String,
}

fn plain() -> &'static Seeded {
    static PLAIN: OnceLock<Seeded> = OnceLock::new();
    PLAIN.get_or_init(|| {
        let registry = DockerRegistry::start(Kind::Plain);
        let manifest = registry.push_image("org/many", "v0.0.0");
        let mut tags: Vec<String> = (0..1050)
            .map(|i| format!("1.{}.{}", i / 100, i % 100))
            .collect();
        tags.push("latest".into());
        registry.tag_many("org/many", &manifest.0, &tags);
        tags.push("v0.0.0".into());
        let index_digest = registry.push_index("org/many", "multi-arch", &manifest);
        tags.push("multi-arch".into());
        Seeded {
            registry,
            tags,
            manifest,
            index_digest,
        }
    })
}

#[test]
fn lists_more_than_1000_tags_from_docker_registry() {
    let seeded = plain();
    let client = registry(options());
    let mut got = list(&client, &seeded.registry.image("org/many")).unwrap();
    assert!(got.dropped.is_empty());
    got.tags.sort();
    let mut want = seeded.tags.clone();
    want.sort();
    assert_eq!(got.tags.len(), 1053);
    assert_eq!(got.tags, want);
}

#[test]
fn unknown_repository_is_a_clear_404() {
    let seeded = plain();
    let client = registry(options());
    let image = seeded.registry.image("org/does-not-exist");
    let err = list(&client, &image).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&image), "{text}");
    assert!(
        text.contains("404") && text.contains("image name"),
        "{text}"
    );
}

#[test]
fn resolves_digests_of_an_oci_manifest_and_an_oci_index() {
    let seeded = plain();
    let client = registry(options());
    let image = seeded.registry.image("org/many");
    let manifest_digest = client.resolve_digest(&image, "latest", false).unwrap();
    assert_eq!(manifest_digest, support::sha256_digest(&seeded.manifest.0));
    assert_eq!(manifest_digest, seeded.manifest.1);
    let index_digest = client.resolve_digest(&image, "multi-arch", false).unwrap();
    assert_eq!(index_digest, seeded.index_digest);
    assert_ne!(index_digest, manifest_digest);
    let err = client
        .resolve_digest(&image, "no-such-tag", false)
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-tag"), "{err}");
}

#[test]
fn many_images_from_docker_registry_in_input_order() {
    let seeded = plain();
    let client = registry(options());
    let good = seeded.registry.image("org/many");
    let requests = vec![
        TagRequest::new(good.clone()),
        TagRequest::new(seeded.registry.image("org/missing")),
        TagRequest::new("Not A Valid/Image"),
        TagRequest::new(good.clone()),
    ];
    let results = client.list_tags_many(&requests);
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().unwrap().tags.len(), 1053);
    assert!(matches!(results[1], Err(RegistryError::NotFound { .. })));
    assert!(matches!(
        results[2],
        Err(RegistryError::InvalidImage { .. })
    ));
    assert_eq!(results[3], results[0]);
}

// ---------------------------------------------------------------------------------------------
// docker-registry with htpasswd (Basic auth).

fn htpasswd() -> &'static DockerRegistry {
    static AUTH: OnceLock<DockerRegistry> = OnceLock::new();
    AUTH.get_or_init(|| {
        let registry = DockerRegistry::start(Kind::Htpasswd);
        let manifest = registry.push_image("team/app", "1.0.0");
        registry.tag_many("team/app", &manifest.0, &["1.1.0".into(), "2.0.0".into()]);
        registry
    })
}

#[test]
fn basic_auth_with_credentials_from_a_docker_config() {
    let reg = htpasswd();
    let dir = tempfile::tempdir().unwrap();
    // Keyed by URL, as `docker login` writes some registries.
    let config = support::docker_config(
        dir.path(),
        &support::auths_config(&format!("https://{}/v2/", reg.host()), USER, PASSWORD),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config),
        ..options()
    });
    let mut got = list(&client, &reg.image("team/app")).unwrap();
    got.tags.sort();
    assert_eq!(got.tags, ["1.0.0", "1.1.0", "2.0.0"]);
    let digest = client
        .resolve_digest(&reg.image("team/app"), "1.0.0", false)
        .unwrap();
    assert!(digest.starts_with("sha256:"));
}

#[test]
fn basic_auth_with_wrong_credentials_is_a_clear_401_without_the_password() {
    let reg = htpasswd();
    let dir = tempfile::tempdir().unwrap();
    let config = support::docker_config(
        dir.path(),
        &support::auths_config(&reg.host(), USER, "wrong-password"),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config.clone()),
        ..options()
    });
    let err = list(&client, &reg.image("team/app")).unwrap_err();
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("401"), "{text}");
    assert!(text.contains(&config.display().to_string()), "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{err:?}"));
}

#[test]
fn basic_auth_without_credentials_says_where_it_looked() {
    let reg = htpasswd();
    let client = registry(options());
    let err = list(&client, &reg.image("team/app")).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(text.contains("none found"), "{text}");
    assert!(
        text.contains(&format!(
            "FLUX_IMAGE_LINT_REGISTRY_127_0_0_1_{}_USERNAME",
            reg.port
        )),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn basic_auth_with_a_credential_helper() {
    let reg = htpasswd();
    let dir = tempfile::tempdir().unwrap();
    support::credential_helper(dir.path(), "test", &reg.host(), USER, PASSWORD);
    let config = support::docker_config(
        dir.path(),
        // The helper wins over a wrong auths entry, as with the Docker CLI.
        &format!(
            r#"{{"credHelpers": {{"{host}": "test"}}, "auths": {{"{host}": {{"username": "x", "password": "wrong-password"}}}}}}"#,
            host = reg.host()
        ),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config.clone()),
        credential_helper_dir: Some(dir.path().to_path_buf()),
        ..options()
    });
    assert_eq!(list(&client, &reg.image("team/app")).unwrap().tags.len(), 3);

    // credsStore with a helper that has nothing for this host: falls through to auths.
    let config = support::docker_config(
        dir.path(),
        &format!(
            r#"{{"credsStore": "test", "auths": {{"{host}": {{"username": "{USER}", "password": "{PASSWORD}"}}}}}}"#,
            host = "127.0.0.1:1"
        )
        .replace("127.0.0.1:1", &reg.host()),
    );
    support::credential_helper(dir.path(), "test", "other.example", USER, PASSWORD);
    let client = registry(RegistryOptions {
        docker_config: Some(config),
        credential_helper_dir: Some(dir.path().to_path_buf()),
        ..options()
    });
    assert_eq!(list(&client, &reg.image("team/app")).unwrap().tags.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// docker-registry over TLS with a test CA.

fn tls() -> &'static DockerRegistry {
    static TLS: OnceLock<DockerRegistry> = OnceLock::new();
    TLS.get_or_init(|| {
        let registry = DockerRegistry::start(Kind::Tls);
        registry.push_image("secure/app", "3.2.1");
        registry
    })
}

#[test]
fn tls_with_the_test_ca_from_ca_file() {
    let reg = tls();
    let client = registry(RegistryOptions {
        ca_file: Some(reg.ca_file()),
        ..options()
    });
    assert_eq!(
        list(&client, &reg.image("secure/app")).unwrap().tags,
        ["3.2.1"]
    );
}

#[test]
fn tls_without_the_ca_fails_with_a_clear_tls_error() {
    let reg = tls();
    let client = registry(options());
    let err = list(&client, &reg.image("secure/app")).unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("TLS") && text.contains("--ca-file"), "{text}");
    assert!(
        text.to_lowercase().contains("issuer") || text.contains("certificate"),
        "{text}"
    );
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let err = Registry::new(RegistryOptions {
        ca_file: Some(path.clone()),
        ..options()
    })
    .unwrap_err();
    assert!(matches!(err, RegistryError::CaFile { .. }), "{err:?}");
    assert!(err.to_string().contains("--ca-file"));
    let err = Registry::new(RegistryOptions {
        ca_file: Some(dir.path().join("missing.pem")),
        ..options()
    })
    .unwrap_err();
    assert!(matches!(err, RegistryError::CaFile { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Small servers of our own.

fn tags_json(name: &str, tags: &[String]) -> String {
    serde_json::json!({ "name": name, "tags": tags }).to_string()
}

/// 350 tags, 100 per page, `Link` to the next page (`relative` or absolute URLs); page 2
/// repeats a tag of page 1 and holds one invalid tag.
fn paging_server(absolute: bool) -> TestServer {
    let port_cell: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
    let port_for_handler = port_cell.clone();
    let server = TestServer::start(move |req| {
        if req.path() != "/v2/org/paged/tags/list" {
            return Response::json(404, r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#);
        }
        let all: Vec<String> = (0..350).map(|i| format!("v{i:03}")).collect();
        let start = match req.query("last") {
            Some(last) => all.iter().position(|t| *t == last).unwrap() + 1,
            None => 0,
        };
        let end = (start + 100).min(all.len());
        let mut page: Vec<String> = all[start..end].to_vec();
        if start == 100 {
            page.push("v000".into());
            page.push("-not-a-tag".into());
        }
        let mut response = Response::json(200, tags_json("org/paged", &page));
        if end < all.len() {
            let next = format!("/v2/org/paged/tags/list?last={}&n=100", all[end - 1]);
            let next = if absolute {
                format!("http://127.0.0.1:{}{next}", port_for_handler.get().unwrap())
            } else {
                next
            };
            response = response.header("Link", format!("<{next}>; rel=\"next\""));
        }
        response
    });
    port_cell.set(server.port).unwrap();
    server
}

#[test]
fn follows_link_headers_through_every_page() {
    for absolute in [false, true] {
        let server = paging_server(absolute);
        let client = registry(options());
        let got = list(&client, &server.image("org/paged")).unwrap();
        let want: Vec<String> = (0..350).map(|i| format!("v{i:03}")).collect();
        assert_eq!(got.tags, want, "absolute links: {absolute}");
        assert_eq!(got.dropped, ["-not-a-tag"]);
        assert_eq!(server.count("/v2/org/paged/tags/list"), 4);
        let first = &server.requests()[0];
        assert_eq!(first.query("n").as_deref(), Some("1000"));
        let last = server.requests().last().unwrap().clone();
        assert_eq!(last.query("last").as_deref(), Some("v299"));
        assert_eq!(last.query("n").as_deref(), Some("100"));
    }
}

/// A registry that wants a bearer token from its own `/token` endpoint.
fn bearer_server(token_field: &'static str, require_basic: Option<String>) -> TestServer {
    let port_cell: Arc<OnceLock<u16>> = Arc::new(OnceLock::new());
    let port = port_cell.clone();
    let server = TestServer::start(move |req| {
        let port = port.get().unwrap();
        if req.path() == "/token" {
            if let Some(basic) = &require_basic {
                if req.header("authorization") != Some(basic.as_str()) {
                    return Response::json(401, r#"{"details":"incorrect username or password"}"#);
                }
            }
            let scope = req.query("scope").unwrap_or_default();
            return Response::json(
                200,
                format!(r#"{{"{token_field}":"tok-{scope}","expires_in":300}}"#),
            );
        }
        let repo = req
            .path()
            .strip_prefix("/v2/")
            .and_then(|p| p.strip_suffix("/tags/list"))
            .unwrap_or("");
        let want = format!("Bearer tok-repository:{repo}:pull");
        if req.header("authorization") != Some(want.as_str()) {
            return Response::json(401, r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#)
                .header(
                    "WWW-Authenticate",
                    format!(
                        "Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"test-registry\",scope=\"repository:{repo}:pull\""
                    ),
                );
        }
        Response::json(
            200,
            tags_json(repo, &["1.0".to_string(), "2.0".to_string()]),
        )
    });
    port_cell.set(server.port).unwrap();
    server
}

#[test]
fn bearer_challenge_and_anonymous_token_exchange() {
    let server = bearer_server("token", None);
    let client = registry(options());
    let got = list(&client, &server.image("org/app")).unwrap();
    assert_eq!(got.tags, ["1.0", "2.0"]);
    let requests = server.requests();
    let token = requests.iter().find(|r| r.path() == "/token").unwrap();
    assert_eq!(token.query("service").as_deref(), Some("test-registry"));
    assert_eq!(
        token.query("scope").as_deref(),
        Some("repository:org/app:pull")
    );
    assert_eq!(
        token.header("authorization"),
        None,
        "anonymous token request"
    );
    let last = requests.last().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some("Bearer tok-repository:org/app:pull")
    );
    // The token is reused: a second listing goes straight to the registry.
    let before = server.requests().len();
    list(&client, &server.image("org/app")).unwrap();
    assert_eq!(server.requests().len(), before + 1);
}

#[test]
fn bearer_token_exchange_with_basic_credentials_and_access_token() {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    let server = bearer_server("access_token", Some(basic.clone()));
    let dir = tempfile::tempdir().unwrap();
    let config = support::docker_config(
        dir.path(),
        &support::auths_config(&server.host(), USER, PASSWORD),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config),
        ..options()
    });
    assert_eq!(
        list(&client, &server.image("team/svc")).unwrap().tags,
        ["1.0", "2.0"]
    );
    let token = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/token")
        .unwrap();
    assert_eq!(token.header("authorization"), Some(basic.as_str()));
    assert_eq!(
        token.query("scope").as_deref(),
        Some("repository:team/svc:pull")
    );

    // Wrong credentials: the token service refuses; the error says so without secrets.
    let config = support::docker_config(
        dir.path(),
        &support::auths_config(&server.host(), USER, "wrong-password"),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config),
        ..options()
    });
    let err = list(&client, &server.image("team/svc")).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::TokenExchange {
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("incorrect username or password"), "{text}");
    assert!(text.contains("auths"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn retries_429_honouring_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = TestServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::json(429, r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#)
                .header("Retry-After", "1")
        } else {
            Response::json(200, tags_json("org/app", &["1".to_string()]))
        }
    });
    let client = registry(options());
    let start = Instant::now();
    assert_eq!(list(&client, &server.image("org/app")).unwrap().tags, ["1"]);
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn retries_503_then_succeeds_and_gives_up_after_four_attempts() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = TestServer::start(move |req| {
        if req.path().contains("/down/") {
            return Response::json(
                503,
                r#"{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}"#,
            );
        }
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::new(503)
        } else {
            Response::json(200, tags_json("org/app", &["1".to_string()]))
        }
    });
    let client = registry(options());
    assert_eq!(list(&client, &server.image("org/app")).unwrap().tags, ["1"]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let err = list(&client, &server.image("org/down/app")).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Status {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("maintenance"), "{err}");
    assert_eq!(server.count("/v2/org/down/app/tags/list"), 4);
}

#[test]
fn retries_500_and_not_501() {
    let server = TestServer::start(|req| {
        let status = if req.path().contains("/internal/") {
            500
        } else {
            501
        };
        Response::json(status, r#"{"errors":[]}"#)
    });
    let client = registry(options());
    let err = list(&client, &server.image("org/internal/app")).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Status {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    let err = list(&client, &server.image("org/other/app")).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Status {
                status: 501,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_redirect_loop_is_named_as_such() {
    let server = TestServer::start(|req| {
        Response::new(307).header("Location", format!("{}?again", req.path()))
    });
    let err = list(&registry(options()), &server.image("org/app")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("redirect loop"), "{text}");
    assert!(
        !text.contains("TLS") && !text.contains("--ca-file"),
        "{text}"
    );
}

#[test]
fn a_breaker_stops_asking_a_host_that_keeps_timing_out() {
    let silent = [SilentHost::start(), SilentHost::start()];
    let client = registry(RegistryOptions {
        timeout: Duration::from_millis(300),
        concurrency_per_host: 1,
        ..options()
    });
    let requests: Vec<TagRequest> = silent
        .iter()
        .flat_map(|host| (0..10).map(|i| TagRequest::new(host.image(&format!("org/app{i}")))))
        .collect();
    let results = client.list_tags_many(&requests);
    for host in &silent {
        // One request at a time: the breaker opens after the third failure in a row.
        assert_eq!(host.connections(), 3);
    }
    for (request, result) in requests.iter().zip(&results) {
        let text = result.as_ref().unwrap_err().to_string();
        assert!(text.contains(&request.image), "{text}");
    }
    let skipped = results[9].as_ref().unwrap_err();
    assert!(
        matches!(skipped, RegistryError::HostDown { failures: 3, .. }),
        "{skipped:?}"
    );
    assert!(
        skipped.to_string().contains(&requests[0].image),
        "names the first failure: {skipped}"
    );
}

#[test]
fn a_slow_registry_times_out_with_the_request_timeout() {
    let server = TestServer::start(|_| {
        Response::json(200, r#"{"tags":["1"]}"#).delay(Duration::from_secs(3))
    });
    let client = registry(RegistryOptions {
        timeout: Duration::from_secs(30),
        ..options()
    });
    let start = Instant::now();
    let err = client
        .list_tags(&TagRequest {
            image: server.image("org/slow"),
            insecure: false,
            timeout: Some(Duration::from_millis(300)),
        })
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(
            err,
            RegistryError::Timeout {
                attempts: 1,
                connecting: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("timeout"), "{err}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // A timeout is not retried.
    assert_eq!(server.count("/v2/org/slow/tags/list"), 1);
}

#[test]
fn forbidden_and_not_found_are_clear() {
    let server = TestServer::start(|req| match req.path() {
        "/v2/org/private/tags/list" => Response::json(
            403,
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
        ),
        _ => Response::json(404, r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#),
    });
    let client = registry(options());
    let err = list(&client, &server.image("org/private")).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 403, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("denied access") && text.contains("DENIED"),
        "{text}"
    );
    assert!(text.contains("credentials: none found"), "{text}");
    let err = list(&client, &server.image("org/nope")).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
}

#[test]
fn list_tags_many_fetches_each_image_once_bounded_per_host() {
    let server = TestServer::start(|req| {
        let repo = req
            .path()
            .strip_prefix("/v2/")
            .and_then(|p| p.strip_suffix("/tags/list"))
            .unwrap_or("")
            .to_string();
        Response::json(200, tags_json(&repo, &[repo.replace('/', "-")]))
            .delay(Duration::from_millis(100))
    });
    let client = registry(RegistryOptions {
        concurrency_per_host: 2,
        ..options()
    });
    let mut requests = Vec::new();
    for i in 0..8 {
        requests.push(TagRequest::new(server.image(&format!("org/app{i}"))));
    }
    // Duplicates, written differently.
    requests.push(TagRequest::new(server.image("org/app3")));
    requests.push(TagRequest::new(format!("{}:1.0", server.image("org/app5"))));
    let start = Instant::now();
    let results = client.list_tags_many(&requests);
    let elapsed = start.elapsed();
    for (i, result) in results.iter().enumerate().take(8) {
        assert_eq!(result.as_ref().unwrap().tags, [format!("org-app{i}")]);
    }
    assert_eq!(results[8], results[3]);
    assert_eq!(results[9], results[5]);
    let tag_requests = server
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/tags/list"))
        .count();
    assert_eq!(tag_requests, 8, "one fetch per distinct image");
    assert!(server.max_in_flight.load(Ordering::SeqCst) <= 2);
    assert!(server.max_in_flight.load(Ordering::SeqCst) >= 1);
    // 8 images × 100 ms over 2 connections: about 400 ms, not 800 ms nor 100 ms.
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
}

#[test]
fn tag_cache_is_used_within_ttl_and_ignored_when_expired_or_corrupt() {
    let server = TestServer::start(|_| Response::json(200, r#"{"tags":["1.0","2.0"]}"#));
    let dir = tempfile::tempdir().unwrap();
    let cached = |ttl| {
        registry(RegistryOptions {
            cache: Some(CacheOptions {
                dir: dir.path().to_path_buf(),
                ttl,
            }),
            ..options()
        })
    };
    let image = server.image("org/cached");
    let client = cached(Duration::from_secs(600));
    assert_eq!(list(&client, &image).unwrap().tags, ["1.0", "2.0"]);
    assert_eq!(list(&client, &image).unwrap().tags, ["1.0", "2.0"]);
    // A new client (a new run) reads the cache too.
    assert_eq!(
        list(&cached(Duration::from_secs(600)), &image)
            .unwrap()
            .tags,
        ["1.0", "2.0"]
    );
    assert_eq!(server.count("/v2/org/cached/tags/list"), 1);
    // Expired: fetched again.
    list(&cached(Duration::ZERO), &image).unwrap();
    assert_eq!(server.count("/v2/org/cached/tags/list"), 2);
    // Corrupt: ignored and rewritten.
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains("Basic") && !text.contains("Bearer"));
    std::fs::write(&files[0], "{garbage").unwrap();
    list(&client, &image).unwrap();
    assert_eq!(server.count("/v2/org/cached/tags/list"), 3);
    list(&client, &image).unwrap();
    assert_eq!(server.count("/v2/org/cached/tags/list"), 3);
}

#[test]
fn oversized_pages_are_refused() {
    let big = format!(r#"{{"tags":["{}"]}}"#, "a".repeat(9 * 1024 * 1024));
    let big = Arc::new(big);
    let server = TestServer::start(move |_| Response::json(200, big.as_str()));
    let client = registry(options());
    let err = list(&client, &server.image("org/huge")).unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("8 MiB"), "{err}");
}

#[test]
fn invalid_images_are_refused_before_any_request() {
    let client = registry(options());
    for image in ["", "https://ghcr.io/org/app", "ghcr.io/Org/App"] {
        let err = list(&client, image).unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidImage { .. }),
            "{image}: {err:?}"
        );
    }
    let err = client
        .resolve_digest("ghcr.io/org/app", "bad tag", false)
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidImage { .. }), "{err:?}");
}

#[test]
fn plain_http_is_not_tried_for_public_hosts() {
    // The rule itself (a public host never falls back to plain HTTP unless spec.insecure).
    use flux_image_lint::registry::allows_plain_http;
    assert!(!allows_plain_http("registry.example.com", false));
    assert!(!allows_plain_http("ghcr.io", false));
    assert!(allows_plain_http("registry.example.com", true));
    assert!(allows_plain_http("127.0.0.1:5000", false));
    assert!(allows_plain_http("localhost:5000", false));
}

#[test]
fn retries_a_connection_closed_without_an_answer() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = TestServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::hang_up()
        } else {
            Response::json(200, tags_json("org/app", &["1".to_string()]))
        }
    });
    let client = registry(options());
    assert_eq!(list(&client, &server.image("org/app")).unwrap().tags, ["1"]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn authorization_is_not_sent_to_another_host_a_link_points_at() {
    // Page 2 lives on another server (as a CDN would); it must not see the Basic credentials.
    let other = TestServer::start(|_| Response::json(200, r#"{"tags":["from-other"]}"#));
    let next = format!("{}/v2/org/app/tags/list?last=a", other.url());
    let server = TestServer::start(move |req| {
        if req.header("authorization").is_none() {
            return Response::new(401).header("WWW-Authenticate", "Basic realm=\"test\"");
        }
        Response::json(200, r#"{"tags":["a"]}"#).header("Link", format!("<{next}>; rel=\"next\""))
    });
    let dir = tempfile::tempdir().unwrap();
    let config = support::docker_config(
        dir.path(),
        &support::auths_config(&server.host(), USER, PASSWORD),
    );
    let client = registry(RegistryOptions {
        docker_config: Some(config),
        ..options()
    });
    assert_eq!(
        list(&client, &server.image("org/app")).unwrap().tags,
        ["a", "from-other"]
    );
    assert!(server
        .requests()
        .last()
        .unwrap()
        .header("authorization")
        .is_some());
    assert_eq!(other.requests().len(), 1);
    assert_eq!(other.requests()[0].header("authorization"), None);
}
