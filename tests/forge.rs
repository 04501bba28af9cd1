//! The pull-request client (`src/forge.rs`) against a Forgejo/GitHub double of the tests' own:
//! a hand-written HTTP/1.1 server on 127.0.0.1 that records every request. Nothing here leaves
//! 127.0.0.1, and the process environment is never read or changed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flux_image_lint::forge::{
    detect, open_or_update, token_from_lookup, Forge, ForgeError, ForgeOptions, PullRequestOutcome,
    PullRequestSpec,
};
use serde_json::{json, Value};

const FORGEJO_TOKEN: &str = "fj-secret-0123456789abcdef";
const GITHUB_TOKEN: &str = "ghs_secret0123456789ABCDEF";
const HEAD: &str = "image-updates/2025-w03";
const BASE: &str = "main";

// ---------------------------------------------------------------------------------------------
// The server double.

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    /// The path, without the query.
    path: String,
    /// Query parameters, percent-decoded, in order.
    query: Vec<(String, String)>,
    /// Header names lower-case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

type Handler = dyn Fn(&Recorded) -> Answer + Send + Sync;

struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Serves `handler` on 127.0.0.1 until the test process ends.
    fn start(handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, recorded) = (handler.clone(), recorded.clone());
                std::thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        Server { port, requests }
    }

    /// An API base URL on the double.
    fn api(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}{prefix}", self.port)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// One request per connection (the answer says `Connection: close`).
fn serve(stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Recorded>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    assert_eq!(parts.next(), Some("HTTP/1.1"), "request line: {line:?}");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').expect("header line");
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    assert!(
        !headers.iter().any(|(k, _)| k == "transfer-encoding"),
        "bodies are sent with a Content-Length"
    );
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Recorded {
        method,
        path: path.to_string(),
        query: query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect(),
        headers,
        body: String::from_utf8(body).unwrap(),
    };
    recorded.lock().unwrap().push(request.clone());
    let answer = handler(&request);
    let reason = match answer.status {
        200 => "OK",
        201 => "Created",
        _ => "Status",
    };
    let mut text = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(&answer.body);
    let mut stream = reader.into_inner();
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).expect("percent escape"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn spec(remote_url: &str) -> PullRequestSpec {
    PullRequestSpec {
        remote_url: remote_url.to_string(),
        head: HEAD.to_string(),
        base: BASE.to_string(),
        title: "Image updates 2025-w03".to_string(),
        body: "- `apps/web`: ghcr.io/org/web 1.2.3 → 1.2.4\n".to_string(),
    }
}

fn options(forge: Option<Forge>, api_url: String, token: &str) -> ForgeOptions {
    ForgeOptions {
        forge,
        api_url: Some(api_url),
        token: token.to_string(),
        timeout: Duration::from_secs(10),
    }
}

/// A pull request as both forges send it (Forgejo/Gitea: `number` is the index).
fn pr(number: u64, head: &str, base: &str, head_repo: &str, web: &str) -> Value {
    json!({
        "id": 1000 + number,
        "number": number,
        "state": "open",
        "title": format!("PR {number}"),
        "html_url": format!("{web}/{number}"),
        "head": { "ref": head, "label": head, "repo": { "full_name": head_repo } },
        "base": { "ref": base, "label": base, "repo": { "full_name": "org/app" } },
    })
}

fn assert_no_token(text: &str) {
    for secret in [FORGEJO_TOKEN, GITHUB_TOKEN, "token fj-", "Bearer "] {
        assert!(!text.contains(secret), "`{secret}` leaked into: {text}");
    }
}

fn assert_user_agent(request: &Recorded) {
    let ua = request.header("user-agent").unwrap();
    assert_eq!(
        ua,
        format!("flux-image-lint/{}", env!("CARGO_PKG_VERSION")),
        "user agent"
    );
}

fn assert_forgejo_headers(request: &Recorded) {
    assert_eq!(
        request.header("authorization").unwrap(),
        format!("token {FORGEJO_TOKEN}")
    );
    assert_user_agent(request);
}

fn assert_github_headers(request: &Recorded) {
    assert_eq!(
        request.header("authorization").unwrap(),
        format!("Bearer {GITHUB_TOKEN}")
    );
    assert_eq!(
        request.header("accept").unwrap(),
        "application/vnd.github+json"
    );
    assert_eq!(
        request.header("x-github-api-version").unwrap(),
        "2022-11-28"
    );
    assert_user_agent(request);
}

fn assert_json_body(request: &Recorded) {
    assert!(request
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}

// ---------------------------------------------------------------------------------------------
// Forgejo/Gitea.

#[test]
fn forgejo_creates_a_pull_request_when_none_is_open() {
    let server = Server::start(
        |request| match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/v1/repos/org/app/pulls") => {
                // An open PR from another branch only.
                let items = json!([pr(
                    3,
                    "feature",
                    BASE,
                    "org/app",
                    "https://code.example/org/app/pulls"
                )]);
                Answer {
                    headers: vec![("X-Total-Count".into(), "1".into())],
                    ..answer(200, items)
                }
            }
            ("POST", "/api/v1/repos/org/app/pulls") => answer(
                201,
                pr(
                    12,
                    HEAD,
                    BASE,
                    "org/app",
                    "https://code.example/org/app/pulls",
                ),
            ),
            _ => answer(500, json!({"message": "unexpected request"})),
        },
    );
    let spec = spec("https://code.example/org/app.git");
    let outcome =
        open_or_update(&spec, &options(None, server.api("/api/v1/"), FORGEJO_TOKEN)).unwrap();
    assert_eq!(
        outcome,
        PullRequestOutcome::Created {
            number: 12,
            url: "https://code.example/org/app/pulls/12".into()
        }
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let list = &requests[0];
    assert_eq!(list.method, "GET");
    assert_eq!(list.param("state"), Some("open"));
    assert_eq!(list.param("page"), Some("1"));
    assert_eq!(list.param("limit"), Some("50"));
    assert_forgejo_headers(list);
    assert_eq!(list.header("accept"), Some("application/json"));

    let create = &requests[1];
    assert_eq!(create.method, "POST");
    assert_forgejo_headers(create);
    assert_json_body(create);
    assert_eq!(
        create.json(),
        json!({"head": HEAD, "base": BASE, "title": spec.title, "body": spec.body})
    );
}

#[test]
fn forgejo_updates_the_open_pull_request_found_on_a_later_page() {
    // 60 open PRs; the one from HEAD into BASE is on page 2. Decoys on page 1: same head into
    // another base, and the same branch name from a fork.
    let web = "https://code.example/org/app/pulls";
    let mut all: Vec<Value> = (1..=60)
        .map(|n| pr(n, &format!("topic-{n}"), BASE, "org/app", web))
        .collect();
    all[2] = pr(3, HEAD, "release-1.0", "org/app", web);
    all[5] = pr(6, HEAD, BASE, "someone/app", web);
    all[54] = pr(55, HEAD, BASE, "org/app", web);
    let all = Arc::new(all);
    let list = all.clone();
    let server =
        Server::start(
            move |request| match (request.method.as_str(), request.path.as_str()) {
                ("GET", "/api/v1/repos/org/app/pulls") => {
                    let page: usize = request.param("page").unwrap().parse().unwrap();
                    let limit: usize = request.param("limit").unwrap().parse().unwrap();
                    let items: Vec<Value> = list
                        .iter()
                        .skip((page - 1) * limit)
                        .take(limit)
                        .cloned()
                        .collect();
                    Answer {
                        headers: vec![("X-Total-Count".into(), list.len().to_string())],
                        ..answer(200, Value::Array(items))
                    }
                }
                ("PATCH", "/api/v1/repos/org/app/pulls/55") => answer(200, list[54].clone()),
                _ => answer(500, json!({"message": "unexpected request"})),
            },
        );
    // Forced Forgejo, SSH remote with a port: the API URL comes from the options.
    let spec = spec("ssh://git@code.example:2222/org/app.git");
    let outcome = open_or_update(
        &spec,
        &options(Some(Forge::Forgejo), server.api("/api/v1"), FORGEJO_TOKEN),
    )
    .unwrap();
    assert_eq!(
        outcome,
        PullRequestOutcome::Updated {
            number: 55,
            url: format!("{web}/55")
        }
    );

    let requests = server.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "PATCH"], "{requests:#?}");
    assert_eq!(requests[0].param("page"), Some("1"));
    assert_eq!(requests[1].param("page"), Some("2"));
    let patch = &requests[2];
    assert_forgejo_headers(patch);
    assert_json_body(patch);
    assert_eq!(
        patch.json(),
        json!({"title": spec.title, "body": spec.body})
    );
}

#[test]
fn forgejo_paging_stops_on_an_empty_page_without_total_count() {
    let server = Server::start(|request| match request.method.as_str() {
        "GET" if request.param("page") == Some("1") => answer(
            200,
            json!([pr(1, "other", BASE, "org/app", "https://x/org/app/pulls")]),
        ),
        "GET" => answer(200, json!([])),
        "POST" => answer(201, pr(2, HEAD, BASE, "org/app", "https://x/org/app/pulls")),
        _ => answer(500, json!({})),
    });
    let outcome = open_or_update(
        &spec("git@x:org/app.git"),
        &options(None, server.api("/api/v1"), FORGEJO_TOKEN),
    )
    .unwrap();
    assert_eq!(outcome.number(), 2);
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET", "POST"]);
}

// ---------------------------------------------------------------------------------------------
// GitHub.

fn github_list_query_ok(request: &Recorded) {
    assert_eq!(request.path, "/repos/org/app/pulls");
    assert_eq!(request.param("state"), Some("open"));
    assert_eq!(request.param("head"), Some(format!("org:{HEAD}").as_str()));
    assert_eq!(request.param("base"), Some(BASE));
}

#[test]
fn github_creates_a_pull_request_when_none_is_open() {
    let server = Server::start(|request| match request.method.as_str() {
        "GET" => answer(200, json!([])),
        "POST" if request.path == "/repos/org/app/pulls" => answer(
            201,
            pr(42, HEAD, BASE, "org/app", "https://github.com/org/app/pull"),
        ),
        _ => answer(500, json!({"message": "unexpected request"})),
    });
    let spec = spec("git@github.com:org/app.git");
    let outcome = open_or_update(&spec, &options(None, server.api(""), GITHUB_TOKEN)).unwrap();
    assert_eq!(
        outcome,
        PullRequestOutcome::Created {
            number: 42,
            url: "https://github.com/org/app/pull/42".into()
        }
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    github_list_query_ok(&requests[0]);
    assert_github_headers(&requests[0]);
    let create = &requests[1];
    assert_eq!(create.method, "POST");
    assert_github_headers(create);
    assert_json_body(create);
    assert_eq!(
        create.json(),
        json!({"head": HEAD, "base": BASE, "title": spec.title, "body": spec.body})
    );
}

#[test]
fn github_updates_the_open_pull_request() {
    let server = Server::start(
        |request| match (request.method.as_str(), request.path.as_str()) {
            ("GET", _) => answer(
                200,
                json!([pr(
                    5,
                    HEAD,
                    BASE,
                    "org/app",
                    "https://github.com/org/app/pull"
                )]),
            ),
            ("PATCH", "/repos/org/app/pulls/5") => answer(
                200,
                pr(5, HEAD, BASE, "org/app", "https://github.com/org/app/pull"),
            ),
            _ => answer(500, json!({"message": "unexpected request"})),
        },
    );
    let spec = spec("https://github.com/org/app");
    let outcome = open_or_update(
        &spec,
        &options(Some(Forge::GitHub), server.api("/"), GITHUB_TOKEN),
    )
    .unwrap();
    assert_eq!(
        outcome,
        PullRequestOutcome::Updated {
            number: 5,
            url: "https://github.com/org/app/pull/5".into()
        }
    );
    let requests = server.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "PATCH"], "{requests:#?}");
    github_list_query_ok(&requests[0]);
    assert_github_headers(&requests[1]);
    assert_eq!(
        requests[1].json(),
        json!({"title": spec.title, "body": spec.body})
    );
}

#[test]
fn github_422_on_create_points_at_the_head_branch() {
    let server = Server::start(|request| match request.method.as_str() {
        "GET" => answer(200, json!([])),
        _ => answer(
            422,
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]}),
        ),
    });
    let err = open_or_update(
        &spec("https://github.com/org/app.git"),
        &options(None, server.api(""), GITHUB_TOKEN),
    )
    .unwrap_err();
    assert!(
        matches!(err, ForgeError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("PullRequest.head: invalid"), "{text}");
    assert!(text.contains(HEAD) && text.contains("pushed"), "{text}");
    assert_no_token(&text);
    // POST is never retried.
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn unauthorized_names_the_token_variable_and_never_shows_the_token() {
    // The double even echoes the token back in its message.
    let server = Server::start(|request| {
        let sent = request.header("authorization").unwrap_or("").to_string();
        answer(
            401,
            json!({"message": format!("invalid credentials: {sent}")}),
        )
    });
    let err = open_or_update(
        &spec("https://code.example/org/app"),
        &options(None, server.api("/api/v1"), FORGEJO_TOKEN),
    )
    .unwrap_err();
    assert!(
        matches!(err, ForgeError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("FORGEJO_TOKEN"), "{text}");
    assert!(text.contains("GITEA_TOKEN"), "{text}");
    assert!(text.contains("write:repository"), "{text}");
    assert!(text.contains("invalid credentials"), "{text}");
    assert_no_token(&text);
    assert_no_token(&format!("{err:?}"));
    assert_eq!(server.requests().len(), 1, "401 is not retried");

    let server = Server::start(|_| {
        answer(
            403,
            json!({"message": "Resource not accessible by integration"}),
        )
    });
    let err = open_or_update(
        &spec("https://github.com/org/app"),
        &options(None, server.api(""), GITHUB_TOKEN),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("GITHUB_TOKEN"), "{text}");
    assert!(text.contains("pull_requests: write"), "{text}");
    assert!(text.contains("Resource not accessible"), "{text}");
    assert_no_token(&text);
    assert_no_token(&format!("{err:?}"));
}

#[test]
fn not_found_is_about_the_repository_or_api_url() {
    let server = Server::start(|_| answer(404, json!({"message": "Not Found"})));
    let api = server.api("/wrong/api");
    let err = open_or_update(
        &spec("https://code.example/org/app.git"),
        &options(None, api.clone(), FORGEJO_TOKEN),
    )
    .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("repository org/app"), "{text}");
    assert!(text.contains(&format!("API URL {api}")), "{text}");
    assert_no_token(&text);
}

#[test]
fn server_errors_are_retried_for_reads() {
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    let server = Server::start(move |request| match request.method.as_str() {
        "GET" => {
            let mut n = counter.lock().unwrap();
            *n += 1;
            if *n == 1 {
                Answer {
                    headers: vec![("Retry-After".into(), "0".into())],
                    ..answer(503, json!({"message": "busy"}))
                }
            } else {
                answer(200, json!([]))
            }
        }
        _ => answer(500, json!({"message": "boom"})),
    });
    let err = open_or_update(
        &spec("https://code.example/org/app"),
        &options(None, server.api("/api/v1"), FORGEJO_TOKEN),
    )
    .unwrap_err();
    // GET retried once after 503; the POST's 500 is reported, not retried.
    assert!(
        matches!(err, ForgeError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("boom"), "{err}");
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET", "POST"]);
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream); // accept, never answer
        }
    });
    let mut opts = options(
        None,
        format!("http://127.0.0.1:{port}/api/v1"),
        FORGEJO_TOKEN,
    );
    opts.timeout = Duration::from_millis(200);
    let err = open_or_update(&spec("https://code.example/org/app"), &opts).unwrap_err();
    assert!(matches!(err, ForgeError::Timeout { .. }), "{err:?}");
    assert_no_token(&err.to_string());
    // A timeout is not retried.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn an_empty_token_fails_before_any_request() {
    let server = Server::start(|_| answer(500, json!({})));
    let err = open_or_update(
        &spec("https://code.example/org/app"),
        &options(None, server.api("/api/v1"), "  "),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ForgeError::MissingToken {
            forge: Forge::Forgejo
        }
    );
    assert!(err.to_string().contains("FORGEJO_TOKEN"), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn options_debug_redacts_the_token() {
    let opts = options(
        Some(Forge::GitHub),
        "https://api.github.com".into(),
        GITHUB_TOKEN,
    );
    let text = format!("{opts:?}");
    assert!(text.contains("<redacted>"), "{text}");
    assert_no_token(&text);
}

#[test]
fn a_bad_remote_url_is_reported_without_its_credentials() {
    let err = open_or_update(
        &spec("https://user:hunter2@code.example/just-one-segment"),
        &options(None, "http://127.0.0.1:9/api/v1".into(), FORGEJO_TOKEN),
    )
    .unwrap_err();
    assert!(matches!(err, ForgeError::RemoteUrl { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("owner/repo"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// detect and tokens.

fn detected(url: &str) -> (Forge, String, String, String) {
    detect(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn tuple(forge: Forge, host: &str, owner: &str, repo: &str) -> (Forge, String, String, String) {
    (forge, host.into(), owner.into(), repo.into())
}

#[test]
fn detect_reads_every_remote_url_form() {
    use Forge::{Forgejo, GitHub};
    let cases = [
        (
            "https://codeberg.org/org/app.git",
            tuple(Forgejo, "codeberg.org", "org", "app"),
        ),
        (
            "https://codeberg.org/org/app",
            tuple(Forgejo, "codeberg.org", "org", "app"),
        ),
        (
            "https://codeberg.org/org/app/",
            tuple(Forgejo, "codeberg.org", "org", "app"),
        ),
        (
            "https://Code.Example:3000/org/app.git",
            tuple(Forgejo, "code.example:3000", "org", "app"),
        ),
        (
            "http://127.0.0.1:3000/git/org/app.git",
            tuple(Forgejo, "127.0.0.1:3000", "org", "app"),
        ),
        (
            "ssh://git@code.example:2222/org/app.git",
            tuple(Forgejo, "code.example", "org", "app"),
        ),
        (
            "ssh://code.example/org/app",
            tuple(Forgejo, "code.example", "org", "app"),
        ),
        (
            "git@code.example:org/app.git",
            tuple(Forgejo, "code.example", "org", "app"),
        ),
        (
            "code.example:org/my.app.git",
            tuple(Forgejo, "code.example", "org", "my.app"),
        ),
        (
            "https://github.com/org/app.git",
            tuple(GitHub, "github.com", "org", "app"),
        ),
        (
            "https://github.com/org/app",
            tuple(GitHub, "github.com", "org", "app"),
        ),
        (
            "git@github.com:org/app.git",
            tuple(GitHub, "github.com", "org", "app"),
        ),
        (
            "ssh://git@ssh.github.com:443/org/app.git",
            tuple(GitHub, "ssh.github.com", "org", "app"),
        ),
        (
            "https://GitHub.com/Org/App.git",
            tuple(GitHub, "github.com", "Org", "App"),
        ),
    ];
    for (url, want) in cases {
        assert_eq!(detected(url), want, "{url}");
    }
}

#[test]
fn detect_drops_credentials_from_https_urls() {
    let url = "https://x-access-token:ghs_abc123@github.com/org/app.git";
    let (forge, host, owner, repo) = detected(url);
    assert_eq!((forge, host.as_str()), (Forge::GitHub, "github.com"));
    assert_eq!((owner.as_str(), repo.as_str()), ("org", "app"));
    let joined = format!("{host}{owner}{repo}");
    assert!(!joined.contains("ghs_abc123") && !joined.contains("x-access-token"));

    let (_, host, _, _) = detected("https://oauth2:secret@code.example:8443/org/app");
    assert_eq!(host, "code.example:8443");
}

#[test]
fn detect_rejects_what_is_not_a_forge_repository() {
    for url in [
        "",
        "/srv/git/app.git",
        "./app",
        "file:///srv/git/org/app.git",
        "https://code.example/",
        "https://code.example/org",
        "git@code.example:app.git",
        "ftp://code.example/org/app",
        "https://:secret@/org/app",
    ] {
        let err = detect(url).expect_err(url);
        assert!(
            matches!(err, ForgeError::RemoteUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

#[test]
fn token_precedence() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let all: &[(&str, &str)] = &[
        ("FORGEJO_TOKEN", "fj"),
        ("GITEA_TOKEN", "gt"),
        ("GITHUB_TOKEN", "gh"),
    ];
    assert_eq!(
        token_from_lookup(Forge::Forgejo, env(all)).as_deref(),
        Some("fj")
    );
    assert_eq!(
        token_from_lookup(Forge::GitHub, env(all)).as_deref(),
        Some("gh")
    );
    let no_forgejo: &[(&str, &str)] = &[
        ("FORGEJO_TOKEN", " "),
        ("GITEA_TOKEN", "gt"),
        ("GITHUB_TOKEN", "gh"),
    ];
    assert_eq!(
        token_from_lookup(Forge::Forgejo, env(no_forgejo)).as_deref(),
        Some("gt"),
        "an empty FORGEJO_TOKEN is skipped"
    );
    let actions: &[(&str, &str)] = &[("GITHUB_TOKEN", "gh")];
    assert_eq!(
        token_from_lookup(Forge::Forgejo, env(actions)).as_deref(),
        Some("gh"),
        "Forgejo Actions sets GITHUB_TOKEN"
    );
    let forgejo_only: &[(&str, &str)] = &[("FORGEJO_TOKEN", "fj"), ("GITEA_TOKEN", "gt")];
    assert_eq!(token_from_lookup(Forge::GitHub, env(forgejo_only)), None);
    assert_eq!(token_from_lookup(Forge::Forgejo, env(&[])), None);
}

#[test]
fn forge_names_parse() {
    assert_eq!("gitea".parse::<Forge>(), Ok(Forge::Forgejo));
    assert_eq!("Forgejo".parse::<Forge>(), Ok(Forge::Forgejo));
    assert_eq!("github".parse::<Forge>(), Ok(Forge::GitHub));
    assert!("gitlab".parse::<Forge>().is_err());
}

// ---------------------------------------------------------------------------------------------
// End to end: `check --fix --push --open-pr` with a real bare repository behind the forge's URL.

mod support;

use support::git;

#[test]
fn fix_push_opens_the_pull_request_of_the_weekly_branch() {
    let server = Server::start(
        |request| match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/v1/repos/wdiaz/infra/pulls") => answer(200, json!([])),
            ("POST", "/api/v1/repos/wdiaz/infra/pulls") => {
                let body = request.json();
                answer(
                    201,
                    pr(
                        7,
                        body["head"].as_str().unwrap(),
                        "main",
                        "wdiaz/infra",
                        "https://git.home-infra.net/wdiaz/infra/pulls",
                    ),
                )
            }
            _ => answer(404, json!({"message": "not found"})),
        },
    );
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("work");
    let bare = temp.path().join("remotes/wdiaz/infra.git");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&bare).unwrap();
    support::copy_dir(&support::repo_dir().join("fixtures/homelab"), &work);
    git(&bare, &["init", "-q", "--bare"]);
    git(&work, &["init", "-q", "-b", "main"]);
    // The forge's URL, served by a local bare repository: pushes go there, the pull request
    // goes to the forge double.
    let rewrite = format!("url.file://{}/remotes/.insteadOf", temp.path().display());
    git(&work, &["config", &rewrite, "https://git.home-infra.net/"]);
    git(
        &work,
        &[
            "remote",
            "add",
            "forgejo",
            "https://git.home-infra.net/wdiaz/infra.git",
        ],
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "homelab"]);
    git(&work, &["push", "-q", "forgejo", "main"]);

    let output = support::binary()
        .args([
            "check",
            "--fix",
            "--push",
            "--remote",
            "forgejo",
            "--open-pr",
            "--tags-file",
            "tags.json",
        ])
        .args([
            "--forge-api-url",
            &server.api("/api/v1"),
            "--author",
            "Bot <bot@example.com>",
            "--summary-file",
        ])
        .arg(temp.path().join("summary.md"))
        .current_dir(&work)
        .env("HOME", &work)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("FORGEJO_TOKEN", FORGEJO_TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.contains("opened pull request #7: https://git.home-infra.net/wdiaz/infra/pulls/7"),
        "{stderr}"
    );
    assert_no_token(&stderr);
    assert_no_token(&String::from_utf8_lossy(&output.stdout));

    let requests = server.requests();
    let create = requests
        .iter()
        .find(|r| r.method == "POST")
        .expect("a pull request was created");
    assert_eq!(
        create.header("authorization"),
        Some(format!("token {FORGEJO_TOKEN}").as_str())
    );
    let body = create.json();
    assert_eq!(body["base"], "main");
    let head = body["head"].as_str().unwrap();
    assert!(
        head.starts_with("image-updates/") && git(&bare, &["rev-parse", head]).len() == 41,
        "{head} was pushed"
    );
    assert!(body["title"]
        .as_str()
        .unwrap()
        .starts_with("chore(images): update images for "));
    let text = body["body"].as_str().unwrap();
    // The body is `status --format markdown` of the changes made and the stuck markers.
    assert!(
        text.contains("| `ollama` | `ollama/ollama` | 34 | 18 | `0.14.2` | `kubernetes/apps/base/ai/ollama/deployment.yaml:24` | `0.13.5` → `0.14.2` | ↑ update |"),
        "{text}"
    );
    assert!(
        !text.contains("up to date |"),
        "only changes and stuck markers: {text}"
    );
    // The CI summary shows the same table: one rendering.
    let table = text
        .split_once("\n\n")
        .and_then(|(_, rest)| rest.rsplit_once("\nGenerated by"))
        .map(|(table, _)| table)
        .unwrap_or_else(|| panic!("{text}"));
    let summary = std::fs::read_to_string(temp.path().join("summary.md")).unwrap();
    assert!(summary.contains(table), "{summary}\n---\n{table}");
}
