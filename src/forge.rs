//! Opens or updates the pull request of the weekly review branch (`check --fix --push --open-pr`)
//! through the REST API of Forgejo/Gitea or GitHub.
//!
//! - [`detect`] reads the forge, host, owner and repository from the git remote's URL
//!   (`https://host/owner/repo(.git)`, `ssh://git@host[:port]/owner/repo.git`,
//!   `git@host:owner/repo.git`); `github.com` is GitHub, any other host Forgejo/Gitea.
//! - [`open_or_update`] looks for an open pull request from `head` into `base` and `PATCH`es its
//!   title and body ([`PullRequestOutcome::Updated`]), else `POST`s a new one
//!   ([`PullRequestOutcome::Created`]).
//!   - Forgejo/Gitea (`https://<host>/api/v1`): `GET /repos/{owner}/{repo}/pulls?state=open`,
//!     paged with `page`/`limit`, matching `head.ref` and `base.ref`;
//!     `PATCH /repos/{owner}/{repo}/pulls/{index}`; `POST /repos/{owner}/{repo}/pulls`.
//!     `Authorization: token <t>`.
//!   - GitHub (`https://api.github.com`, `https://<host>/api/v3` for GitHub Enterprise):
//!     `GET /repos/{owner}/{repo}/pulls?state=open&head={owner}:{head}&base={base}`;
//!     `PATCH /repos/{owner}/{repo}/pulls/{number}`; `POST /repos/{owner}/{repo}/pulls`.
//!     `Authorization: Bearer <t>`, `Accept: application/vnd.github+json`,
//!     `X-GitHub-Api-Version: 2022-11-28`.
//! - The token comes from the environment only ([`token_from_env`]).
//! - `GET` and `PATCH` follow the retry policy of [`crate::http`] (3 attempts: the statuses of
//!   [`retryable_status`] and connection resets; never a timeout); `POST` is sent once (a retry could open a second pull request). Redirects never
//!   carry the `Authorization` header; answers are capped at [`MAX_RESPONSE_BYTES`].
//!
//! Nothing here prints or returns the token or the `Authorization` header: errors hold the
//! forge's own message with the token scrubbed out, and [`ForgeOptions`]' `Debug` redacts it.

use foldhash::{HashSet, HashSetExt};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::http::{backoff, clip, io_failure, percent_encode, retryable_status, IoFailure};
use crate::redact::{redact, redact_with};

/// Largest answer accepted (one page of pull requests).
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// Attempts for `GET`/`PATCH` on retryable statuses and resets.
pub const MAX_ATTEMPTS: u32 = 3;
/// Page size asked of Forgejo/Gitea (its default `MAX_RESPONSE_ITEMS` is 50).
pub const FORGEJO_PAGE_SIZE: usize = 50;
/// Safety net against a server whose pages never end.
const MAX_PAGES: usize = 200;
/// GitHub refuses bodies over 65 536 characters; longer bodies are cut to this many bytes.
pub const MAX_BODY_BYTES: usize = 60_000;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
const GITHUB_API_VERSION: &str = "2022-11-28";

/// The kind of forge. `Forgejo` covers Gitea (same API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forge {
    Forgejo,
    GitHub,
}

impl Forge {
    /// The environment variables a token is read from, in order ([`token_from_env`]).
    pub fn token_vars(self) -> &'static [&'static str] {
        match self {
            Forge::Forgejo => &["FORGEJO_TOKEN", "GITEA_TOKEN", "GITHUB_TOKEN"],
            Forge::GitHub => &["GITHUB_TOKEN"],
        }
    }

    /// Name for messages: `Forgejo/Gitea` or `GitHub`.
    pub fn name(self) -> &'static str {
        match self {
            Forge::Forgejo => "Forgejo/Gitea",
            Forge::GitHub => "GitHub",
        }
    }

    /// `token_vars` for messages: `FORGEJO_TOKEN (else GITEA_TOKEN, else GITHUB_TOKEN)`.
    fn token_vars_text(self) -> String {
        let vars = self.token_vars();
        match vars.split_first() {
            Some((first, [])) => (*first).to_string(),
            Some((first, rest)) => format!("{first} (else {})", rest.join(", else ")),
            None => String::new(),
        }
    }

    fn scope_hint(self) -> &'static str {
        match self {
            Forge::Forgejo => {
                "the token needs the `write:repository` scope and its user write access to the \
                 repository"
            }
            Forge::GitHub => {
                "the token needs `pull_requests: write` (fine-grained token or workflow \
                 `permissions:`; a classic token the `repo` scope), and with GitHub Actions' \
                 GITHUB_TOKEN the repository setting \"Allow GitHub Actions to create and approve \
                 pull requests\""
            }
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forge::Forgejo => "forgejo",
            Forge::GitHub => "github",
        })
    }
}

impl std::str::FromStr for Forge {
    type Err = String;

    /// `forgejo`, `gitea` (same API) or `github`, any case.
    fn from_str(s: &str) -> Result<Forge, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "forgejo" | "gitea" => Ok(Forge::Forgejo),
            "github" => Ok(Forge::GitHub),
            other => Err(format!(
                "unknown forge `{other}` (expected forgejo, gitea or github)"
            )),
        }
    }
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    /// The git remote's URL: `https://host/owner/repo(.git)`,
    /// `ssh://git@host[:port]/owner/repo.git` or `git@host:owner/repo.git`. Credentials in it
    /// are ignored (and never shown).
    pub remote_url: String,
    /// The branch pushed (`image-updates/YYYY-wWW`), in the same repository.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    pub title: String,
    /// Markdown. Cut to [`MAX_BODY_BYTES`] if longer.
    pub body: String,
}

/// How to talk to the forge.
#[derive(Clone)]
pub struct ForgeOptions {
    /// `None`: `github.com` is GitHub, any other host Forgejo/Gitea.
    pub forge: Option<Forge>,
    /// The API's base URL, e.g. for tests or GitHub Enterprise. Default: Forgejo
    /// `https://<host>/api/v1` (`http://` if the remote is plain HTTP, with the remote's path
    /// prefix if the forge lives under one), GitHub `https://api.github.com`
    /// (`https://<host>/api/v3` for another host).
    pub api_url: Option<String>,
    /// From [`token_from_env`]. Never printed.
    pub token: String,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl ForgeOptions {
    /// Auto-detected forge, default API URL, 30 s timeout.
    pub fn new(token: impl Into<String>) -> ForgeOptions {
        ForgeOptions {
            forge: None,
            api_url: None,
            token: token.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for ForgeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForgeOptions")
            .field("forge", &self.forge)
            .field("api_url", &self.api_url.as_deref().map(redact))
            .field(
                "token",
                &if self.token.is_empty() {
                    "<empty>"
                } else {
                    "<redacted>"
                },
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What [`open_or_update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullRequestOutcome {
    /// A new pull request was opened.
    Created { number: u64, url: String },
    /// An open pull request from the same head into the same base got the new title and body.
    Updated { number: u64, url: String },
}

impl PullRequestOutcome {
    pub fn number(&self) -> u64 {
        match self {
            PullRequestOutcome::Created { number, .. }
            | PullRequestOutcome::Updated { number, .. } => *number,
        }
    }

    /// The pull request's web page.
    pub fn url(&self) -> &str {
        match self {
            PullRequestOutcome::Created { url, .. } | PullRequestOutcome::Updated { url, .. } => {
                url
            }
        }
    }
}

impl fmt::Display for PullRequestOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PullRequestOutcome::Created { number, url } => {
                write!(f, "opened pull request #{number}: {url}")
            }
            PullRequestOutcome::Updated { number, url } => {
                write!(f, "updated pull request #{number}: {url}")
            }
        }
    }
}

/// Why a pull request could not be opened or updated. Each says what happened and what to do;
/// none holds the token (the forge's own message is scrubbed of it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForgeError {
    /// The remote URL is not one of a forge repository. `url` has any credentials removed.
    RemoteUrl { url: String, reason: String },
    /// `api_url` is not an `http(s)://` URL.
    ApiUrl { url: String, reason: String },
    /// The token is empty.
    MissingToken { forge: Forge },
    /// 401 or 403.
    Unauthorized {
        forge: Forge,
        status: u16,
        /// What was being done, e.g. "listing the open pull requests of owner/repo".
        action: String,
        /// The forge's own message, if any.
        detail: String,
    },
    /// 404: the repository does not exist (or the token cannot see it), or the API URL is wrong.
    NotFound {
        forge: Forge,
        repository: String,
        api_url: String,
        action: String,
        detail: String,
    },
    /// 409 or 422: the forge refused the request, e.g. the head branch does not exist.
    Rejected {
        forge: Forge,
        status: u16,
        action: String,
        head: String,
        base: String,
        detail: String,
    },
    /// Any other unexpected HTTP status (after retries for 429/502/503/504).
    Status {
        forge: Forge,
        status: u16,
        action: String,
        detail: String,
    },
    /// Could not connect, TLS failure, connection reset, or similar.
    Connection {
        api_url: String,
        action: String,
        detail: String,
    },
    /// No answer within the timeout (after retries where allowed).
    Timeout {
        api_url: String,
        action: String,
        timeout: Duration,
    },
    /// The forge answered something that cannot be understood.
    InvalidResponse { action: String, detail: String },
}

impl fmt::Display for ForgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_detail = |detail: &str| {
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        };
        match self {
            ForgeError::RemoteUrl { url, reason } => write!(
                f,
                "cannot open a pull request for the git remote `{url}`: {reason}; expected \
                 https://host/owner/repo(.git), ssh://git@host[:port]/owner/repo.git or \
                 git@host:owner/repo.git"
            ),
            ForgeError::ApiUrl { url, reason } => write!(
                f,
                "invalid forge API URL `{url}`: {reason}; expected e.g. https://host/api/v1 \
                 (Forgejo/Gitea) or https://api.github.com (GitHub)"
            ),
            ForgeError::MissingToken { forge } => write!(
                f,
                "no token to open the pull request on {}: set {}; {}",
                forge.name(),
                forge.token_vars_text(),
                forge.scope_hint()
            ),
            ForgeError::Unauthorized {
                forge,
                status,
                action,
                detail,
            } => {
                let what = if *status == 401 {
                    "the token was refused"
                } else {
                    "the token is not allowed to do this"
                };
                write!(
                    f,
                    "{} answered HTTP {status} {action}{}: {what}; check the token in {}: {}",
                    forge.name(),
                    with_detail(detail),
                    forge.token_vars_text(),
                    forge.scope_hint()
                )
            }
            ForgeError::NotFound {
                forge,
                repository,
                api_url,
                action,
                detail,
            } => write!(
                f,
                "{} answered HTTP 404 {action}{}: check that the repository {repository} exists \
                 and the token can see it, and that the API URL {api_url} is right (Forgejo/Gitea: \
                 https://<host>/api/v1; GitHub: https://api.github.com, GitHub Enterprise: \
                 https://<host>/api/v3)",
                forge.name(),
                with_detail(detail)
            ),
            ForgeError::Rejected {
                forge,
                status,
                action,
                head,
                base,
                detail,
            } => write!(
                f,
                "{} refused {action} with HTTP {status}{}: check that the branch `{head}` was \
                 pushed to the repository, differs from `{base}`, and that `{base}` exists",
                forge.name(),
                with_detail(detail)
            ),
            ForgeError::Status {
                forge,
                status,
                action,
                detail,
            } => write!(
                f,
                "{} answered HTTP {status} {action}{}",
                forge.name(),
                with_detail(detail)
            ),
            ForgeError::Connection {
                api_url,
                action,
                detail,
            } => write!(
                f,
                "cannot reach the forge API at {api_url} {action}: {detail}; check the host and \
                 the API URL"
            ),
            ForgeError::Timeout {
                api_url,
                action,
                timeout,
            } => write!(
                f,
                "the forge API at {api_url} did not answer within {:.1} s {action}",
                timeout.as_secs_f64()
            ),
            ForgeError::InvalidResponse { action, detail } => {
                write!(f, "unexpected answer from the forge {action}: {detail}")
            }
        }
    }
}

impl std::error::Error for ForgeError {}

/// The token for `forge` from the process environment: Forgejo/Gitea `FORGEJO_TOKEN`, then
/// `GITEA_TOKEN`, then `GITHUB_TOKEN` (as Forgejo Actions sets it); GitHub `GITHUB_TOKEN`.
/// Empty values are skipped.
pub fn token_from_env(forge: Forge) -> Option<String> {
    token_from_lookup(forge, |name| std::env::var(name).ok())
}

/// [`token_from_env`] with the environment given as a lookup (for tests).
pub fn token_from_lookup(forge: Forge, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    forge.token_vars().iter().find_map(|name| {
        lookup(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// A parsed remote URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Remote {
    /// `https`/`http` for web URLs; `None` for SSH (the web is assumed to be HTTPS).
    web_scheme: Option<&'static str>,
    /// Lower-case host; with the port for web URLs (the API lives there), without for SSH.
    host: String,
    /// Path segments before `owner/repo` in a web URL (a forge served under a sub-path).
    prefix: String,
    owner: String,
    repo: String,
}

/// The forge (`github.com` → GitHub, else Forgejo), host, owner and repository of a git remote
/// URL. The host is lower-case, with the port for `http(s)://` URLs and without it for SSH
/// (whose port is not the web port). Credentials in the URL are dropped.
pub fn detect(remote_url: &str) -> Result<(Forge, String, String, String), ForgeError> {
    let remote = parse_remote(remote_url)?;
    Ok((
        forge_of_host(&remote.host),
        remote.host,
        remote.owner,
        remote.repo,
    ))
}

fn forge_of_host(host: &str) -> Forge {
    match host_without_port(host) {
        "github.com" | "www.github.com" | "ssh.github.com" => Forge::GitHub,
        _ => Forge::Forgejo,
    }
}

fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port → [v6]
        return match rest.find(']') {
            Some(i) => &host[..i + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn parse_remote(url: &str) -> Result<Remote, ForgeError> {
    let trimmed = url.trim();
    let bad = |reason: &str| ForgeError::RemoteUrl {
        url: redact(trimmed),
        reason: reason.to_string(),
    };
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let (web_scheme, host, path) = if let Some((scheme, rest)) = trimmed.split_once("://") {
        let web_scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Some("https"),
            "http" => Some("http"),
            "ssh" | "git+ssh" | "ssh+git" | "git" => None,
            "file" => return Err(bad("it is a local path, not a forge")),
            _ => return Err(bad(&format!("unsupported scheme `{scheme}`"))),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        // user[:password]@host[:port]: the credentials are dropped here.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if web_scheme.is_some() {
            host_port
        } else {
            host_without_port(host_port)
        };
        (web_scheme, host.to_ascii_lowercase(), path)
    } else {
        // scp-like: [user@]host:path (a ':' before any '/').
        let Some((user_host, path)) = trimmed.split_once(':') else {
            return Err(bad("it is a local path or not a URL"));
        };
        if user_host.contains('/') || user_host.contains('\\') {
            return Err(bad("it is a local path or not a URL"));
        }
        let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
        (None, host.to_ascii_lowercase(), path)
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it has no host"));
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [prefix @ .., owner, repo] = segments.as_slice() else {
        return Err(bad("its path is not owner/repository"));
    };
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    let valid = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '%' | '\\'))
    };
    if !valid(owner) || !valid(repo) {
        return Err(bad("its path is not owner/repository"));
    }
    Ok(Remote {
        web_scheme,
        host,
        prefix: if web_scheme.is_some() {
            prefix.iter().map(|s| format!("/{s}")).collect()
        } else {
            String::new()
        },
        owner: owner.to_string(),
        repo: repo.to_string(),
    })
}

/// The API base URL, without a trailing `/`.
fn api_base(forge: Forge, remote: &Remote, api_url: Option<&str>) -> Result<String, ForgeError> {
    if let Some(url) = api_url {
        let url = url.trim().trim_end_matches('/');
        let bad = |reason: &str| ForgeError::ApiUrl {
            url: redact(url),
            reason: reason.to_string(),
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad("it has no http:// or https:// scheme"));
        };
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return Err(bad("only http:// and https:// are supported"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(bad("it has no host"));
        }
        if authority.contains('@') {
            return Err(bad(
                "credentials do not belong in the URL; the token is read from the environment",
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(bad("it must not have a query or fragment"));
        }
        return Ok(url.to_string());
    }
    let scheme = remote.web_scheme.unwrap_or("https");
    Ok(match forge {
        Forge::Forgejo => format!("{scheme}://{}{}/api/v1", remote.host, remote.prefix),
        Forge::GitHub if forge_of_host(&remote.host) == Forge::GitHub => {
            "https://api.github.com".to_string()
        }
        Forge::GitHub => format!("{scheme}://{}{}/api/v3", remote.host, remote.prefix),
    })
}

/// Opens a pull request from `spec.head` into `spec.base`, or updates the title and body of the
/// open one.
pub fn open_or_update(
    spec: &PullRequestSpec,
    options: &ForgeOptions,
) -> Result<PullRequestOutcome, ForgeError> {
    let remote = parse_remote(&spec.remote_url)?;
    let forge = options.forge.unwrap_or_else(|| forge_of_host(&remote.host));
    let api = api_base(forge, &remote, options.api_url.as_deref())?;
    let token = options.token.trim();
    if token.is_empty() {
        return Err(ForgeError::MissingToken { forge });
    }
    let client = Client::new(forge, api, token, options.timeout);
    let repo_path = format!(
        "/repos/{}/{}",
        percent_encode(&remote.owner),
        percent_encode(&remote.repo)
    );
    let ctx = Ctx {
        client: &client,
        remote: &remote,
        spec,
        repo_path: &repo_path,
    };
    let body = clip_body(&spec.body);
    let existing = match forge {
        Forge::Forgejo => ctx.find_forgejo()?,
        Forge::GitHub => ctx.find_github()?,
    };
    let payload_update = json!({ "title": spec.title, "body": body });
    if let Some(found) = existing {
        let action = format!("updating pull request #{}", found.number);
        let reply = client.send(
            Method::Patch,
            &format!("{repo_path}/pulls/{}", found.number),
            Some(&payload_update),
            &action,
        )?;
        let reply = ctx.check(reply, &action)?;
        let updated: PullRequest = ctx.parse(&reply.body, &action)?;
        let url = [updated.html_url, found.html_url]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or_default();
        return Ok(PullRequestOutcome::Updated {
            number: found.number,
            url,
        });
    }
    let action = format!(
        "opening a pull request from `{}` into `{}`",
        spec.head, spec.base
    );
    let payload = json!({
        "head": spec.head,
        "base": spec.base,
        "title": spec.title,
        "body": body,
    });
    let reply = client.send(
        Method::Post,
        &format!("{repo_path}/pulls"),
        Some(&payload),
        &action,
    )?;
    let reply = ctx.check(reply, &action)?;
    let created: PullRequest = ctx.parse(&reply.body, &action)?;
    if created.number == 0 {
        return Err(ForgeError::InvalidResponse {
            action,
            detail: "the answer has no pull request number".into(),
        });
    }
    Ok(PullRequestOutcome::Created {
        number: created.number,
        url: created.html_url,
    })
}

fn clip_body(body: &str) -> String {
    if body.len() <= MAX_BODY_BYTES {
        return body.to_string();
    }
    let note = "\n\n… (cut: the description was too long)";
    let mut end = MAX_BODY_BYTES - note.len();
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &body[..end])
}

/// A pull request as listed or returned. Missing or `null` fields are tolerated.
#[derive(Deserialize, Default)]
#[serde(from = "RawPullRequest")]
struct PullRequest {
    /// GitHub's number; Forgejo/Gitea's index (sent as `number`; `index` also accepted).
    number: u64,
    html_url: String,
    head: Option<BranchInfo>,
    base: Option<BranchInfo>,
}

impl From<RawPullRequest> for PullRequest {
    fn from(raw: RawPullRequest) -> PullRequest {
        PullRequest {
            number: raw.number.or(raw.index).unwrap_or(0),
            html_url: raw.html_url.unwrap_or_default(),
            head: raw.head,
            base: raw.base,
        }
    }
}

#[derive(Deserialize, Default)]
struct RawPullRequest {
    #[serde(default)]
    number: Option<u64>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    head: Option<BranchInfo>,
    #[serde(default)]
    base: Option<BranchInfo>,
}

#[derive(Deserialize, Default)]
struct BranchInfo {
    #[serde(default, rename = "ref", deserialize_with = "string_or_null")]
    branch: String,
    #[serde(default)]
    repo: Option<RepoInfo>,
}

#[derive(Deserialize, Default)]
struct RepoInfo {
    #[serde(default, deserialize_with = "string_or_null")]
    full_name: String,
}

fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

struct Ctx<'a> {
    client: &'a Client,
    remote: &'a Remote,
    spec: &'a PullRequestSpec,
    repo_path: &'a str,
}

impl Ctx<'_> {
    fn full_name(&self) -> String {
        format!("{}/{}", self.remote.owner, self.remote.repo)
    }

    /// Whether `pr` is from `head` of this repository into `base`.
    fn matches(&self, pr: &PullRequest) -> bool {
        let (Some(head), Some(base)) = (&pr.head, &pr.base) else {
            return false;
        };
        let same_repo = match &head.repo {
            Some(repo) if !repo.full_name.is_empty() => {
                repo.full_name.eq_ignore_ascii_case(&self.full_name())
            }
            // No head repository in the answer: trust the branch names.
            _ => true,
        };
        head.branch == self.spec.head && base.branch == self.spec.base && same_repo && pr.number > 0
    }

    fn find_forgejo(&self) -> Result<Option<PullRequest>, ForgeError> {
        let action = format!("listing the open pull requests of {}", self.full_name());
        let mut seen: HashSet<u64> = HashSet::new();
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/pulls?state=open&page={page}&limit={FORGEJO_PAGE_SIZE}",
                self.repo_path
            );
            let reply = self.client.send(Method::Get, &path, None, &action)?;
            let reply = self.check(reply, &action)?;
            let items: Vec<PullRequest> = self.parse(&reply.body, &action)?;
            if items.is_empty() {
                break;
            }
            let mut new = false;
            for pr in items {
                new |= seen.insert(pr.number);
                if self.matches(&pr) {
                    return Ok(Some(pr));
                }
            }
            let total = reply.total_count;
            if !new || total.is_some_and(|t| seen.len() as u64 >= t) {
                break;
            }
        }
        Ok(None)
    }

    fn find_github(&self) -> Result<Option<PullRequest>, ForgeError> {
        let action = format!("listing the open pull requests of {}", self.full_name());
        let path = format!(
            "{}/pulls?state=open&head={}&base={}&per_page=100",
            self.repo_path,
            percent_encode(&format!("{}:{}", self.remote.owner, self.spec.head)),
            percent_encode(&self.spec.base)
        );
        let reply = self.client.send(Method::Get, &path, None, &action)?;
        let reply = self.check(reply, &action)?;
        let items: Vec<PullRequest> = self.parse(&reply.body, &action)?;
        Ok(items.into_iter().find(|pr| self.matches(pr)))
    }

    /// A 2xx reply, or the error for its status.
    fn check(&self, reply: Reply, action: &str) -> Result<Reply, ForgeError> {
        let forge = self.client.forge;
        let detail = || error_detail(&reply.body, &self.client.token);
        let action = action.to_string();
        match reply.status {
            200..=299 => Ok(reply),
            401 | 403 => Err(ForgeError::Unauthorized {
                forge,
                status: reply.status,
                action,
                detail: detail(),
            }),
            404 => Err(ForgeError::NotFound {
                forge,
                repository: self.full_name(),
                api_url: self.client.api.clone(),
                action,
                detail: detail(),
            }),
            409 | 422 => Err(ForgeError::Rejected {
                forge,
                status: reply.status,
                action,
                head: self.spec.head.clone(),
                base: self.spec.base.clone(),
                detail: detail(),
            }),
            status => Err(ForgeError::Status {
                forge,
                status,
                action,
                detail: detail(),
            }),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        action: &str,
    ) -> Result<T, ForgeError> {
        serde_json::from_slice(body).map_err(|e| ForgeError::InvalidResponse {
            action: action.to_string(),
            detail: format!("not the expected JSON: {e}"),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Patch,
    Post,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    /// `X-Total-Count` (Forgejo/Gitea paging).
    total_count: Option<u64>,
    retry_after: Option<Duration>,
}

/// A transport failure (no HTTP status).
enum Fail {
    Timeout,
    Reset(String),
    Other(String),
}

struct Client {
    forge: Forge,
    agent: ureq::Agent,
    /// API base URL, no trailing `/`.
    api: String,
    /// Only for the `Authorization` header and for scrubbing messages.
    token: String,
    timeout: Duration,
}

impl Client {
    fn new(forge: Forge, api: String, token: &str, timeout: Duration) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(format!("flux-image-lint/{}", env!("CARGO_PKG_VERSION")))
            .max_redirects(5)
            // The default, spelled out: a redirect never carries the token elsewhere.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .build()
            .into();
        Client {
            forge,
            agent,
            api,
            token: token.to_string(),
            timeout,
        }
    }

    fn authorization(&self) -> String {
        match self.forge {
            Forge::Forgejo => format!("token {}", self.token),
            Forge::GitHub => format!("Bearer {}", self.token),
        }
    }

    /// Sends with retries for `GET`/`PATCH`; returns any HTTP status as a [`Reply`].
    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        action: &str,
    ) -> Result<Reply, ForgeError> {
        let url = format!("{}{path}", self.api);
        let body = body.map(|b| b.to_string());
        let retries = method != Method::Post;
        let mut attempt = 1;
        loop {
            let result = self.call(method, &url, body.as_deref());
            let delay = match &result {
                Ok(reply) if retryable_status(reply.status) => Some(
                    reply
                        .retry_after
                        .unwrap_or_else(|| backoff(Duration::from_millis(500), attempt)),
                ),
                Err(Fail::Reset(_)) => Some(backoff(Duration::from_millis(500), attempt)),
                _ => None,
            };
            match delay {
                Some(delay) if retries && attempt < MAX_ATTEMPTS => {
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                _ => return result.map_err(|fail| self.fail_error(fail, action)),
            }
        }
    }

    fn call(&self, method: Method, url: &str, body: Option<&str>) -> Result<Reply, Fail> {
        let mut response = match method {
            Method::Get => self.headers(self.agent.get(url)).call(),
            Method::Patch => self
                .headers(self.agent.patch(url))
                .header("Content-Type", "application/json")
                .send(body.unwrap_or("{}")),
            Method::Post => self
                .headers(self.agent.post(url))
                .header("Content-Type", "application/json")
                .send(body.unwrap_or("{}")),
        }
        .map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let header_u64 = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let total_count = header_u64("x-total-count");
        let retry_after =
            header_u64("retry-after").map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(classify)?;
        Ok(Reply {
            status,
            body,
            total_count,
            retry_after,
        })
    }

    fn headers<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header("Authorization", self.authorization());
        match self.forge {
            Forge::Forgejo => request.header("Accept", "application/json"),
            Forge::GitHub => request
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", GITHUB_API_VERSION),
        }
    }

    fn fail_error(&self, fail: Fail, action: &str) -> ForgeError {
        let api_url = self.api.clone();
        let action = action.to_string();
        match fail {
            Fail::Timeout => ForgeError::Timeout {
                api_url,
                action,
                timeout: self.timeout,
            },
            Fail::Reset(detail) | Fail::Other(detail) => ForgeError::Connection {
                api_url,
                action,
                detail: redact_with(&detail, &[&self.token]),
            },
        }
    }
}

fn classify(err: ureq::Error) -> Fail {
    match err {
        ureq::Error::Timeout(_) => Fail::Timeout,
        ureq::Error::BodyExceedsLimit(_) => Fail::Other(format!(
            "answer larger than {} MiB",
            MAX_RESPONSE_BYTES >> 20
        )),
        ureq::Error::HostNotFound => Fail::Other("host name not found (DNS)".into()),
        ureq::Error::ConnectionFailed => Fail::Other("connection failed".into()),
        ureq::Error::Io(e) => match io_failure(e.kind()) {
            IoFailure::Timeout => Fail::Timeout,
            IoFailure::Reset => Fail::Reset(e.to_string()),
            IoFailure::Refused | IoFailure::Other => Fail::Other(e.to_string()),
        },
        other => Fail::Other(other.to_string()),
    }
}

/// The forge's own error text: `message` (both forges), GitHub's `errors[]` (`message`, or
/// `resource.field: code`), Forgejo's `errors[]` strings. Control characters removed, clipped,
/// the token scrubbed out.
fn error_detail(body: &[u8], token: &str) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(message) = value.get("message").and_then(|m| m.as_str()) {
        if !message.trim().is_empty() {
            parts.push(message.trim().to_string());
        }
    }
    if let Some(errors) = value.get("errors").and_then(|e| e.as_array()) {
        for item in errors.iter().take(3) {
            let text = match item {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Object(o) => {
                    let field = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("");
                    if !field("message").is_empty() {
                        field("message").to_string()
                    } else {
                        let what = [field("resource"), field("field")]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(".");
                        match (what.is_empty(), field("code")) {
                            (true, code) => code.to_string(),
                            (false, "") => what,
                            (false, code) => format!("{what}: {code}"),
                        }
                    }
                }
                _ => String::new(),
            };
            if !text.trim().is_empty() {
                parts.push(text.trim().to_string());
            }
        }
    }
    let text: String = parts
        .join("; ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Redact first: clipping could cut the token in half.
    clip(&redact_with(&text, &[token]), 300).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_api_urls() {
        let remote = parse_remote("https://code.example:3000/git/org/app.git").unwrap();
        assert_eq!(remote.prefix, "/git");
        assert_eq!(
            api_base(Forge::Forgejo, &remote, None).unwrap(),
            "https://code.example:3000/git/api/v1"
        );
        let remote = parse_remote("git@codeberg.org:org/app.git").unwrap();
        assert_eq!(
            api_base(Forge::Forgejo, &remote, None).unwrap(),
            "https://codeberg.org/api/v1"
        );
        let remote = parse_remote("git@github.com:org/app.git").unwrap();
        assert_eq!(
            api_base(Forge::GitHub, &remote, None).unwrap(),
            "https://api.github.com"
        );
        let remote = parse_remote("https://ghe.corp/org/app").unwrap();
        assert_eq!(
            api_base(Forge::GitHub, &remote, None).unwrap(),
            "https://ghe.corp/api/v3"
        );
        assert_eq!(
            api_base(Forge::GitHub, &remote, Some("http://127.0.0.1:1/api/")).unwrap(),
            "http://127.0.0.1:1/api"
        );
        assert!(api_base(Forge::GitHub, &remote, Some("ftp://x")).is_err());
        let err = api_base(Forge::GitHub, &remote, Some("https://u:sekrit@x/api")).unwrap_err();
        assert!(!err.to_string().contains("sekrit"));
    }

    #[test]
    fn pull_request_fields_tolerate_index_and_nulls() {
        let pr: PullRequest = serde_json::from_str(
            r#"{"number":7,"index":7,"html_url":null,"head":{"ref":"a","repo":null},"base":null}"#,
        )
        .unwrap();
        assert_eq!((pr.number, pr.html_url.as_str()), (7, ""));
        assert_eq!(pr.head.unwrap().branch, "a");
        let pr: PullRequest = serde_json::from_str(r#"{"index":3}"#).unwrap();
        assert_eq!(pr.number, 3);
    }

    #[test]
    fn error_detail_forms_and_scrubbing() {
        assert_eq!(
            error_detail(
                br#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}"#,
                "tok-0123456789"
            ),
            "Validation Failed; PullRequest.head: invalid"
        );
        assert_eq!(
            error_detail(br#"{"message":"bad token abc123"}"#, "abc123"),
            "bad token ***"
        );
        assert_eq!(error_detail(b"<html>", "tok-0123456789"), "");
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "é".repeat(MAX_BODY_BYTES);
        let cut = clip_body(&body);
        assert!(cut.len() <= MAX_BODY_BYTES);
        assert!(cut.ends_with("too long)"));
        assert_eq!(clip_body("short"), "short");
    }
}
