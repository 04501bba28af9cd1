//! OCI registry client: lists the tags of `ImageRepository` images and resolves tags to digests.
//!
//! Blocking HTTP (ureq over rustls), threads for parallelism (no async runtime):
//!
//! - `GET /v2/<name>/tags/list?n=1000`, following `Link: <…>; rel="next"` (relative or absolute)
//!   through every page, de-duplicated; tags that are not valid OCI tags go to
//!   [`TagList::dropped`].
//! - Auth: anonymous first; on `401` a `Bearer` challenge is answered by a token exchange
//!   (`GET realm?service=…&scope=…`, with Basic credentials when the user has some; `token` or
//!   `access_token` in the answer), a `Basic` challenge by Basic credentials. Where credentials
//!   come from is documented in [`credentials`] (env vars, then the Docker config and its
//!   credential helpers).
//! - HTTPS first; plain HTTP only as a fallback where Flux falls back ([`host::allows_plain_http`]).
//! - The retry policy of [`crate::http`]: up to 4 attempts (exponential backoff from 250 ms,
//!   `Retry-After` honoured up to 60 s) on 408/429/500/502/503/504 and connection resets; a
//!   timeout, a refused connection or a redirect loop is not retried. A connect timeout (TCP and
//!   TLS) separate from the request timeout, and a per-host [`Breaker`]: once a host has failed
//!   to connect or answer 3 times in a row, its remaining requests fail at once. Clear errors for
//!   401/403/404.
//! - Bounded: 8 MiB per response, 128 MiB from one registry host per run, 2,000 pages and
//!   100,000 tags per listing ([`crate::limits`]).
//! - An on-disk tag cache with a TTL ([`cache`]).
//!
//! Nothing here prints or returns credentials, tokens or `Authorization` headers.

pub mod cache;
pub mod credentials;
mod error;
pub mod host;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::HeaderMap;

pub use cache::default_cache_dir;
pub use credentials::default_docker_config;
pub use error::RegistryError;
pub use host::{allows_plain_http, env_prefix};

use crate::flux::image::{is_valid_digest, is_valid_tag, ImageRef};
use crate::http::{
    backoff, clip, io_failure, percent_encode, retry_after, retryable_status, Breaker, IoFailure,
};
use crate::limits::{MAX_BYTES_PER_REGISTRY, MAX_PAGES_PER_LISTING, MAX_TAGS_PER_REPOSITORY};
use crate::redact::redact_with;
use credentials::CredentialStore;
use host::api_host;

/// Largest response body accepted (one page of tags, a token answer).
pub const MAX_RESPONSE_BYTES: u64 = 8 * crate::limits::MIB;
/// Attempts per request for retryable failures (see [`retryable_status`], and resets).
pub const MAX_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// First backoff delay; doubled on each further attempt.
pub const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// Page size asked for (registries may use less; Docker Hub and GHCR send 100).
pub const PAGE_SIZE: usize = 1000;
/// Redirects followed per request; more is reported as a redirect loop.
const MAX_REDIRECTS: u32 = 5;

/// Accept header for `resolve_digest`: OCI index, OCI manifest, Docker manifest list v2, Docker
/// manifest v2.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Options of the client. Build with `RegistryOptions { ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Per-request timeout for the answer (`--registry-timeout`, default 30 s);
    /// `TagRequest::timeout` overrides it.
    pub timeout: Duration,
    /// Timeout for connecting, TCP and TLS (`--registry-connect-timeout`, default 10 s); never
    /// more than the request timeout.
    pub connect_timeout: Duration,
    /// Parallel requests per registry host (default 4).
    pub concurrency_per_host: usize,
    /// A PEM bundle of CA certificates trusted in addition to the built-in (Mozilla) roots.
    pub ca_file: Option<PathBuf>,
    /// The tag cache; `None` is `--no-cache`.
    pub cache: Option<CacheOptions>,
    /// The Docker config file to read credentials from. `None`: `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json` (see [`credentials`]). Tests point this at a temp file.
    pub docker_config: Option<PathBuf>,
    /// Where `docker-credential-<name>` helpers are looked for. `None`: on `PATH`.
    pub credential_helper_dir: Option<PathBuf>,
    /// Log each request (method, URL, status, time) on stderr for `--verbose`. Authorization
    /// values, credentials and tokens are never logged; query values other than `n`, `last`,
    /// `service` and `scope` are shown as `***`.
    pub verbose: bool,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency_per_host: 4,
            ca_file: None,
            cache: default_cache_dir().map(CacheOptions::new),
            docker_config: None,
            credential_helper_dir: None,
            verbose: false,
        }
    }
}

/// The on-disk tag cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// Default: [`default_cache_dir`]; used only if [`cache::usable_dir`] allows it.
    pub dir: PathBuf,
    /// How long a cached tag list is used (default 10 minutes).
    pub ttl: Duration,
}

impl CacheOptions {
    /// A cache in `dir` with the default TTL.
    pub fn new(dir: PathBuf) -> CacheOptions {
        CacheOptions {
            dir,
            ttl: Duration::from_secs(600),
        }
    }
}

/// One `ImageRepository` to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagRequest {
    /// `spec.image` as written (a tag or digest, if present, is ignored).
    pub image: String,
    /// `spec.insecure`: allows plain HTTP for any host.
    pub insecure: bool,
    /// `spec.timeout`: overrides [`RegistryOptions::timeout`].
    pub timeout: Option<Duration>,
}

impl TagRequest {
    pub fn new(image: impl Into<String>) -> TagRequest {
        TagRequest {
            image: image.into(),
            ..Default::default()
        }
    }
}

/// What [`Registry::list_tags_observed`] reports while it works, from its worker threads.
#[derive(Debug)]
pub enum FetchEvent<'a> {
    /// A repository's listing started (`index` into the requests).
    Started { index: usize, registry: &'a str },
    /// It ended; a request shared by several indices reports for each.
    Finished {
        index: usize,
        registry: &'a str,
        result: &'a Result<TagList, RegistryError>,
    },
}

/// The tags of one repository.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagList {
    /// Every valid tag of every page, de-duplicated, in the order the registry sent them.
    pub tags: Vec<String>,
    /// Tags that are not valid OCI tags, dropped (for a warning).
    pub dropped: Vec<String>,
}

/// The registry client. Shareable between threads; remembers tokens, credentials and which
/// scheme each host speaks for its lifetime (one run).
pub struct Registry {
    options: RegistryOptions,
    agent: ureq::Agent,
    credentials: CredentialStore,
    /// (registry, repository) → `Authorization` value; repository "" for host-wide Basic.
    auth: Mutex<HashMap<(String, String), String>>,
    /// registry → the scheme that answered.
    schemes: Mutex<HashMap<String, &'static str>>,
    /// registry → response bytes received in this run ([`MAX_BYTES_PER_REGISTRY`]).
    received: Mutex<HashMap<String, u64>>,
    /// Registries that keep failing to connect or answer.
    breaker: Breaker<RegistryError>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What one request is about.
struct Target<'a> {
    image: &'a str,
    registry: String,
    repository: String,
    insecure: bool,
    timeout: Duration,
}

impl Target<'_> {
    fn host(&self) -> &str {
        api_host(&self.registry)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
}

/// Where to send a request: a path on the registry (scheme chosen here) or a full URL.
enum Loc<'a> {
    Path(&'a str),
    Url(&'a str),
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    url: String,
}

/// A transport failure (no HTTP status).
#[derive(Debug)]
enum Fail {
    /// `connecting`: no connection (TCP and TLS) within the connect timeout; else no answer.
    Timeout {
        connecting: bool,
    },
    /// More than [`MAX_REDIRECTS`] redirects.
    RedirectLoop,
    Reset(String),
    Refused(String),
    Tls(String),
    TooLarge,
    /// The registry's budget for this run is spent.
    OverBudget,
    Other(String),
}

impl Fail {
    fn retryable(&self) -> bool {
        matches!(self, Fail::Reset(_))
    }
}

fn classify(err: ureq::Error) -> Fail {
    use std::io::ErrorKind;
    match err {
        ureq::Error::Timeout(which) => Fail::Timeout {
            connecting: matches!(which, ureq::Timeout::Connect | ureq::Timeout::Resolve),
        },
        ureq::Error::TooManyRedirects => Fail::RedirectLoop,
        ureq::Error::BodyExceedsLimit(_) => Fail::TooLarge,
        ureq::Error::HostNotFound => Fail::Refused("host name not found (DNS)".into()),
        ureq::Error::ConnectionFailed => Fail::Refused("connection failed".into()),
        ureq::Error::Tls(msg) => Fail::Tls(msg.to_string()),
        ureq::Error::Rustls(e) => Fail::Tls(e.to_string()),
        ureq::Error::Pem(e) => Fail::Tls(e.to_string()),
        ureq::Error::Io(e) => match io_failure(e.kind()) {
            IoFailure::Timeout => Fail::Timeout { connecting: false },
            IoFailure::Reset => Fail::Reset(e.to_string()),
            IoFailure::Refused => Fail::Refused(e.to_string()),
            // rustls reports handshake failures as InvalidData I/O errors.
            IoFailure::Other if e.kind() == ErrorKind::InvalidData => match e.get_ref() {
                Some(inner) => Fail::Tls(inner.to_string()),
                None => Fail::Other(e.to_string()),
            },
            IoFailure::Other => Fail::Other(e.to_string()),
        },
        other => Fail::Other(other.to_string()),
    }
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl Registry {
    pub fn new(mut options: RegistryOptions) -> Result<Registry, RegistryError> {
        options.cache = options.cache.filter(|cache| cache::usable_dir(&cache.dir));
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &options.ca_file {
            tls = tls.root_certs(root_certs_with(path)?);
        }
        let per_host = options.concurrency_per_host.max(1);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(format!("flux-image-lint/{}", env!("CARGO_PKG_VERSION")))
            .max_redirects(MAX_REDIRECTS)
            .max_idle_connections_per_host(per_host * 2)
            .max_idle_connections(64)
            .tls_config(tls.build())
            .build()
            .into();
        let credentials = CredentialStore::new(
            options.docker_config.clone(),
            options.credential_helper_dir.clone(),
            options.timeout,
        );
        Ok(Registry {
            options,
            agent,
            credentials,
            auth: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
            received: Mutex::new(HashMap::new()),
            breaker: Breaker::default(),
        })
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Lists every tag of `request.image` (cache first, when enabled).
    pub fn list_tags(&self, request: &TagRequest) -> Result<TagList, RegistryError> {
        let (key, target) = self.target(&request.image, request.insecure, request.timeout)?;
        self.list_tags_target(&key, &target)
    }

    /// All requests in parallel, bounded per host, one fetch per distinct image; results in
    /// input order.
    pub fn list_tags_many(&self, requests: &[TagRequest]) -> Vec<Result<TagList, RegistryError>> {
        self.list_tags_observed(requests, &|_| {})
    }

    /// [`Registry::list_tags_many`], telling `observe` as each listing starts and ends.
    pub fn list_tags_observed(
        &self,
        requests: &[TagRequest],
        observe: &(dyn Fn(FetchEvent) + Sync),
    ) -> Vec<Result<TagList, RegistryError>> {
        // Distinct images by canonical name; a repeated image gets the first one's timeout and
        // is insecure if any of its requests is.
        let mut job_of: Vec<Result<usize, RegistryError>> = Vec::with_capacity(requests.len());
        let mut jobs: Vec<(String, Target<'_>)> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for request in requests {
            match self.target(&request.image, request.insecure, request.timeout) {
                Ok((key, target)) => {
                    let index = *by_key.entry(key.clone()).or_insert_with(|| {
                        jobs.push((key, target));
                        jobs.len() - 1
                    });
                    if request.insecure {
                        jobs[index].1.insecure = true;
                    }
                    job_of.push(Ok(index));
                }
                Err(e) => job_of.push(Err(e)),
            }
        }

        let mut hosts: Vec<(String, Vec<usize>)> = Vec::new();
        for (index, (_, target)) in jobs.iter().enumerate() {
            match hosts.iter_mut().find(|(h, _)| *h == target.registry) {
                Some((_, list)) => list.push(index),
                None => hosts.push((target.registry.clone(), vec![index])),
            }
        }

        // Which request indices each job answers, for the events.
        let mut indices_of: Vec<Vec<usize>> = vec![Vec::new(); jobs.len()];
        for (index, job) in job_of.iter().enumerate() {
            match job {
                Ok(job) => indices_of[*job].push(index),
                Err(error) => observe(FetchEvent::Finished {
                    index,
                    registry: "",
                    result: &Err(error.clone()),
                }),
            }
        }
        let results: Vec<Mutex<Option<Result<TagList, RegistryError>>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let per_host = self.options.concurrency_per_host.max(1);
        std::thread::scope(|scope| {
            let mut workers = Vec::new();
            for (_, list) in &hosts {
                let next = std::sync::Arc::new(AtomicUsize::new(0));
                for _ in 0..per_host.min(list.len()) {
                    let next = next.clone();
                    let (jobs, results, indices_of) = (&jobs, &results, &indices_of);
                    workers.push(scope.spawn(move || loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&job) = list.get(i) else { break };
                        let (key, target) = &jobs[job];
                        let registry = target.registry.as_str();
                        for &index in &indices_of[job] {
                            observe(FetchEvent::Started { index, registry });
                        }
                        let result = self.list_tags_target(key, target);
                        for &index in &indices_of[job] {
                            let result = &result;
                            observe(FetchEvent::Finished {
                                index,
                                registry,
                                result,
                            });
                        }
                        *results[job].lock().unwrap() = Some(result);
                    }));
                }
            }
            let mut panicked = None;
            for worker in workers {
                if let Err(panic) = worker.join() {
                    panicked.get_or_insert(panic);
                }
            }
            if let Some(panic) = panicked {
                std::panic::resume_unwind(panic);
            }
        });

        let results: Vec<Option<Result<TagList, RegistryError>>> = results
            .into_iter()
            .map(|m| m.into_inner().unwrap())
            .collect();
        job_of
            .into_iter()
            .map(|job| match job {
                Ok(index) => results[index].clone().expect("every job ran to completion"),
                Err(e) => Err(e),
            })
            .collect()
    }

    /// `HEAD /v2/<name>/manifests/<tag>` with `Accept` for OCI index, OCI manifest, Docker
    /// manifest list v2 and Docker manifest v2; returns `sha256:…` from `Docker-Content-Digest`.
    pub fn resolve_digest(
        &self,
        image: &str,
        tag: &str,
        insecure: bool,
    ) -> Result<String, RegistryError> {
        let (_, target) = self.target(image, insecure, None)?;
        if !is_valid_tag(tag) && !is_valid_digest(tag) {
            return Err(RegistryError::InvalidImage {
                image: image.to_string(),
                reason: format!("`{tag}` is not a valid tag"),
            });
        }
        let path = format!("/v2/{}/manifests/{tag}", target.repository);
        let reply = self.fetch(
            &target,
            Method::Head,
            Loc::Path(&path),
            Some(MANIFEST_ACCEPT),
            &format!("tag `{tag}` of {}", target.repository),
        )?;
        let digest = reply
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        if is_valid_digest(digest) {
            Ok(digest.to_string())
        } else if digest.is_empty() {
            Err(self.invalid(
                &target,
                "no Docker-Content-Digest header in the manifest answer",
            ))
        } else {
            Err(self.invalid(
                &target,
                &format!(
                    "Docker-Content-Digest `{}` is not a sha256 digest",
                    clip(digest, 200)
                ),
            ))
        }
    }

    fn target<'a>(
        &self,
        image: &'a str,
        insecure: bool,
        timeout: Option<Duration>,
    ) -> Result<(String, Target<'a>), RegistryError> {
        let parsed = ImageRef::parse(image.trim()).map_err(|e| RegistryError::InvalidImage {
            image: image.to_string(),
            reason: e.to_string(),
        })?;
        let target = Target {
            image,
            registry: parsed.registry.clone(),
            repository: parsed.repository.clone(),
            insecure,
            timeout: timeout.unwrap_or(self.options.timeout),
        };
        Ok((parsed.canonical_name(), target))
    }

    fn list_tags_target(&self, key: &str, target: &Target<'_>) -> Result<TagList, RegistryError> {
        if let Some(cache) = &self.options.cache {
            if let Some(list) = cache::read(&cache.dir, key, cache.ttl) {
                return Ok(list);
            }
        }
        let list = self.fetch_tags(target)?;
        if let Some(cache) = &self.options.cache {
            cache::write(&cache.dir, key, &list);
        }
        Ok(list)
    }

    fn fetch_tags(&self, target: &Target<'_>) -> Result<TagList, RegistryError> {
        let first = format!("/v2/{}/tags/list?n={PAGE_SIZE}", target.repository);
        let what = format!("repository {}", target.repository);
        let mut seen: HashSet<String> = HashSet::new();
        let mut list = TagList::default();
        let mut visited: HashSet<String> = HashSet::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_LISTING {
            let reply = match &next {
                None => self.fetch(target, Method::Get, Loc::Path(&first), None, &what)?,
                Some(url) => self.fetch(target, Method::Get, Loc::Url(url), None, &what)?,
            };
            visited.insert(reply.url.clone());
            let page: TagsPage = serde_json::from_slice(&reply.body).map_err(|e| {
                self.invalid(
                    target,
                    &format!("the tag list is not the expected JSON: {e}"),
                )
            })?;
            for tag in page.tags.unwrap_or_default() {
                if !is_valid_tag(&tag) {
                    // Kept for the warning only, and short: the registry chose its length.
                    list.dropped.push(clip(&tag, 200).to_string());
                } else if seen.insert(tag.clone()) {
                    list.tags.push(tag);
                }
                if list.tags.len() + list.dropped.len() > MAX_TAGS_PER_REPOSITORY {
                    return Err(self.invalid(
                        target,
                        &format!("more than {MAX_TAGS_PER_REPOSITORY} tags, the most flux-image-lint accepts for one repository"),
                    ));
                }
            }
            match next_link(&reply.headers, &reply.url).map(|u| secure_url(&u, target.insecure)) {
                Some(url) if !visited.contains(&url) => next = Some(url),
                _ => return Ok(list),
            }
        }
        Err(self.invalid(
            target,
            &format!("the tag list goes on past {MAX_PAGES_PER_LISTING} pages, the most flux-image-lint follows"),
        ))
    }

    /// [`Registry::fetch_answered`] behind the host's breaker: a registry that failed to
    /// connect or answer too often in a row is not asked again.
    fn fetch(
        &self,
        target: &Target<'_>,
        method: Method,
        loc: Loc<'_>,
        accept: Option<&str>,
        what: &str,
    ) -> Result<Reply, RegistryError> {
        let unreachable = |error: &RegistryError| {
            matches!(
                error,
                RegistryError::Timeout { .. } | RegistryError::Connection { .. }
            )
        };
        self.breaker
            .call(
                &target.registry,
                || self.fetch_answered(target, method, loc, accept, what),
                unreachable,
            )
            .unwrap_or_else(|down| {
                Err(RegistryError::HostDown {
                    image: target.image.to_string(),
                    registry: target.registry.clone(),
                    failures: down.consecutive_failures,
                    first: Box::new(down.first_error),
                })
            })
    }

    /// A request with auth (challenge → credentials or token → retry once) and status checks:
    /// returns only 2xx answers.
    fn fetch_answered(
        &self,
        target: &Target<'_>,
        method: Method,
        loc: Loc<'_>,
        accept: Option<&str>,
        what: &str,
    ) -> Result<Reply, RegistryError> {
        // Authorization goes only to the registry's own host (not to a CDN a Link points at).
        let same_host = match &loc {
            Loc::Path(_) => true,
            Loc::Url(url) => url_authority(url).eq_ignore_ascii_case(target.host()),
        };
        let cached = if same_host {
            let auth = self.auth.lock().unwrap();
            auth.get(&(target.registry.clone(), target.repository.clone()))
                .or_else(|| auth.get(&(target.registry.clone(), String::new())))
                .cloned()
        } else {
            None
        };
        let (mut reply, mut attempts) =
            self.send(target, method, &loc, accept, cached.as_deref())?;
        let mut sent_credentials = cached.is_some();
        if reply.status == 401 && same_host {
            let header = self.authenticate(target, &reply)?;
            (reply, attempts) = self.send(target, method, &loc, accept, Some(&header))?;
            sent_credentials = true;
        }
        match reply.status {
            200..=299 => Ok(reply),
            401 | 403 => {
                let found = self.credentials.lookup(&target.registry);
                let credentials = if sent_credentials || found.credential.is_none() {
                    found.source
                } else {
                    format!("{} (not asked for by the registry)", found.source)
                };
                Err(RegistryError::Unauthorized {
                    image: target.image.to_string(),
                    registry: target.registry.clone(),
                    status: reply.status,
                    credentials,
                    detail: self.server_detail(target, &reply.body, None),
                })
            }
            404 => Err(RegistryError::NotFound {
                image: target.image.to_string(),
                registry: target.registry.clone(),
                what: what.to_string(),
            }),
            status => Err(RegistryError::Status {
                image: target.image.to_string(),
                registry: target.registry.clone(),
                status,
                attempts,
                detail: self.server_detail(target, &reply.body, None),
            }),
        }
    }

    /// Answers a 401 challenge: returns the `Authorization` value to retry with.
    fn authenticate(&self, target: &Target<'_>, reply: &Reply) -> Result<String, RegistryError> {
        let mut bearer = None;
        let mut basic = false;
        for value in reply.headers.get_all("www-authenticate") {
            let Ok(value) = value.to_str() else { continue };
            for challenge in http_auth::parser::ChallengeParser::new(value).flatten() {
                if challenge.scheme.eq_ignore_ascii_case("bearer") && bearer.is_none() {
                    let param = |name: &str| {
                        challenge
                            .params
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.to_unescaped())
                    };
                    bearer = Some((param("realm"), param("service"), param("scope")));
                } else if challenge.scheme.eq_ignore_ascii_case("basic") {
                    basic = true;
                }
            }
        }
        let found = self.credentials.lookup(&target.registry);
        if let Some((realm, service, scope)) = bearer {
            let Some(realm) = realm.filter(|r| !r.is_empty()) else {
                return Err(self.invalid(target, "a Bearer challenge without realm"));
            };
            let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", target.repository));
            let mut url = secure_url(&realm, target.insecure);
            let mut sep = if url.contains('?') { '&' } else { '?' };
            if let Some(service) = service {
                url.push_str(&format!("{sep}service={}", percent_encode(&service)));
                sep = '&';
            }
            url.push_str(&format!("{sep}scope={}", percent_encode(&scope)));
            let basic_header = found.credential.as_ref().map(|c| c.basic_header());
            let token_error = |status: Option<u16>, detail: String| RegistryError::TokenExchange {
                image: target.image.to_string(),
                registry: target.registry.clone(),
                status,
                credentials: found.source.clone(),
                detail: if detail.is_empty() {
                    format!("token service {}", clip(&realm, 200))
                } else {
                    format!("token service {}: {detail}", clip(&realm, 200))
                },
            };
            let (answer, _) = self
                .call_with_retries(target, Method::Get, &url, None, basic_header.as_deref())
                .map_err(|(fail, attempts)| match fail {
                    Fail::Timeout { connecting } => {
                        self.timeout_error(target, connecting, attempts)
                    }
                    other => token_error(None, fail_text(&other)),
                })?;
            if !(200..300).contains(&answer.status) {
                let detail = self.server_detail(target, &answer.body, basic_header.as_deref());
                return Err(token_error(Some(answer.status), detail));
            }
            let token: TokenAnswer = serde_json::from_slice(&answer.body)
                .map_err(|_| token_error(None, "the answer is not the expected JSON".into()))?;
            let Some(token) = token
                .token
                .filter(|t| !t.is_empty())
                .or(token.access_token.filter(|t| !t.is_empty()))
            else {
                return Err(token_error(None, "the answer holds no token".into()));
            };
            let header = format!("Bearer {token}");
            self.auth.lock().unwrap().insert(
                (target.registry.clone(), target.repository.clone()),
                header.clone(),
            );
            return Ok(header);
        }
        if basic {
            if let Some(credential) = &found.credential {
                let header = credential.basic_header();
                self.auth
                    .lock()
                    .unwrap()
                    .insert((target.registry.clone(), String::new()), header.clone());
                return Ok(header);
            }
        }
        Err(RegistryError::Unauthorized {
            image: target.image.to_string(),
            registry: target.registry.clone(),
            status: 401,
            credentials: found.source,
            detail: self.server_detail(target, &reply.body, None),
        })
    }

    /// The registry's own error text, with every secret this run sent to it hidden (`sent`: one
    /// not remembered, such as the Basic header of a token exchange): a server may echo the
    /// `Authorization` header it received.
    fn server_detail(&self, target: &Target<'_>, body: &[u8], sent: Option<&str>) -> String {
        let mut secrets: Vec<String> = self
            .auth
            .lock()
            .unwrap()
            .iter()
            .filter(|((registry, _), _)| *registry == target.registry)
            .map(|(_, header)| header.clone())
            .chain(sent.map(str::to_string))
            // The credential of each header (`Bearer <token>` → `<token>`): the scheme may show.
            .map(|header| {
                header
                    .split_once(' ')
                    .map_or(header.clone(), |(_, v)| v.to_string())
            })
            .collect();
        if let Some(credential) = self.credentials.lookup(&target.registry).credential {
            secrets.push(credential.password);
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        redact_with(&error_detail(body), &secrets)
    }

    /// Sends with the scheme rules: a known scheme for the host, else HTTPS, then plain HTTP
    /// where allowed. Returns any HTTP answer (retryable statuses retried).
    fn send(
        &self,
        target: &Target<'_>,
        method: Method,
        loc: &Loc<'_>,
        accept: Option<&str>,
        auth: Option<&str>,
    ) -> Result<(Reply, u32), RegistryError> {
        let path = match loc {
            Loc::Url(url) => {
                return self
                    .call_with_retries(target, method, url, accept, auth)
                    .map_err(|(fail, attempts)| self.fail_error(target, fail, attempts, false));
            }
            Loc::Path(path) => path,
        };
        let known = self.schemes.lock().unwrap().get(&target.registry).copied();
        let plain_allowed = allows_plain_http(&target.registry, target.insecure);
        // A host remembered as plain HTTP (by an `insecure` request) stays HTTPS-only for
        // requests that may not use plain HTTP.
        let schemes: &[&'static str] = match known {
            Some("http") if plain_allowed => &["http"],
            Some(_) => &["https"],
            None if plain_allowed => &["https", "http"],
            None => &["https"],
        };
        let mut first: Option<(Fail, u32)> = None;
        for &scheme in schemes {
            let url = format!("{scheme}://{}{path}", target.host());
            match self.call_with_retries(target, method, &url, accept, auth) {
                Ok((reply, attempts)) => {
                    // An HTTPS server asked in plain HTTP answers 400: report the HTTPS failure.
                    if scheme == "http" && reply.status == 400 && first.is_some() {
                        break;
                    }
                    self.schemes
                        .lock()
                        .unwrap()
                        .insert(target.registry.clone(), scheme);
                    return Ok((reply, attempts));
                }
                Err((fail, attempts)) => {
                    // A plain-HTTP failure past the connection (slow, oversized, reset) is the
                    // one to report; a refused one means HTTPS was the right scheme.
                    let answered = matches!(
                        fail,
                        Fail::Timeout { connecting: false }
                            | Fail::TooLarge
                            | Fail::Reset(_)
                            | Fail::RedirectLoop
                    );
                    if first.is_none() || (scheme == "http" && answered) {
                        first = Some((fail, attempts));
                    }
                    // A host that does not answer in time over HTTPS is not tried again in plain HTTP.
                    if matches!(first, Some((Fail::Timeout { .. }, _))) {
                        break;
                    }
                }
            }
        }
        let (fail, attempts) = first.expect("at least one scheme was tried");
        Err(self.fail_error(target, fail, attempts, !plain_allowed))
    }

    fn call_with_retries(
        &self,
        target: &Target<'_>,
        method: Method,
        url: &str,
        accept: Option<&str>,
        auth: Option<&str>,
    ) -> Result<(Reply, u32), (Fail, u32)> {
        let mut attempt = 1;
        loop {
            let result = self.call(target, method, url, accept, auth);
            let delay = match &result {
                Ok(reply) if retryable_status(reply.status) => {
                    retry_after(&reply.headers, MAX_RETRY_AFTER)
                        .unwrap_or_else(|| backoff(BASE_BACKOFF, attempt))
                }
                Err(fail) if fail.retryable() => backoff(BASE_BACKOFF, attempt),
                _ => Duration::ZERO,
            };
            if delay.is_zero() || attempt >= MAX_ATTEMPTS {
                return result.map(|r| (r, attempt)).map_err(|f| (f, attempt));
            }
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    fn call(
        &self,
        target: &Target<'_>,
        method: Method,
        url: &str,
        accept: Option<&str>,
        auth: Option<&str>,
    ) -> Result<Reply, Fail> {
        let answer = Some(target.timeout);
        let mut request = match method {
            Method::Get => self.agent.get(url),
            Method::Head => self.agent.head(url),
        }
        .config()
        .timeout_connect(Some(self.options.connect_timeout.min(target.timeout)))
        .timeout_send_request(answer)
        .timeout_recv_response(answer)
        .timeout_recv_body(answer)
        .build();
        request = request.header("Accept", accept.unwrap_or("application/json"));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let started = std::time::Instant::now();
        let result = (|| {
            let budget_left = {
                let received = self.received.lock().unwrap();
                MAX_BYTES_PER_REGISTRY
                    .saturating_sub(received.get(&target.registry).copied().unwrap_or(0))
            };
            if budget_left == 0 {
                return Err(Fail::OverBudget);
            }
            let mut response = request.call().map_err(classify)?;
            let status = response.status().as_u16();
            let body = if method == Method::Head {
                Vec::new()
            } else {
                let limit = MAX_RESPONSE_BYTES.min(budget_left);
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(limit)
                    .read_to_vec()
                    .map_err(|error| match classify(error) {
                        Fail::TooLarge if limit < MAX_RESPONSE_BYTES => Fail::OverBudget,
                        fail => fail,
                    });
                let read = body.as_ref().map_or(limit, |b| b.len() as u64);
                *self
                    .received
                    .lock()
                    .unwrap()
                    .entry(target.registry.clone())
                    .or_default() += read;
                body?
            };
            Ok(Reply {
                status,
                headers: response.headers().clone(),
                body,
                url: url.to_string(),
            })
        })();
        if self.options.verbose {
            let outcome = match &result {
                Ok(reply) => format!("HTTP {}, {} bytes", reply.status, reply.body.len()),
                Err(fail) => fail_text(fail),
            };
            // Never the Authorization value: only whether one was sent.
            eprintln!(
                "registry: {} {} -> {outcome} in {} ms{}",
                if method == Method::Get { "GET" } else { "HEAD" },
                crate::report::escape(&redact_url(url)),
                started.elapsed().as_millis(),
                if auth.is_some() {
                    " (with authorization)"
                } else {
                    ""
                }
            );
        }
        result
    }

    fn invalid(&self, target: &Target<'_>, detail: &str) -> RegistryError {
        RegistryError::InvalidResponse {
            image: target.image.to_string(),
            registry: target.registry.clone(),
            detail: detail.to_string(),
        }
    }

    fn timeout_error(&self, target: &Target<'_>, connecting: bool, attempts: u32) -> RegistryError {
        RegistryError::Timeout {
            image: target.image.to_string(),
            registry: target.registry.clone(),
            timeout: if connecting {
                self.options.connect_timeout.min(target.timeout)
            } else {
                target.timeout
            },
            connecting,
            attempts,
        }
    }

    fn fail_error(
        &self,
        target: &Target<'_>,
        fail: Fail,
        attempts: u32,
        https_only: bool,
    ) -> RegistryError {
        let image = target.image.to_string();
        let registry = target.registry.clone();
        let https_note = if https_only {
            " (plain HTTP is not tried for this host; set spec.insecure: true if it serves plain HTTP)"
        } else {
            ""
        };
        match fail {
            Fail::Timeout { connecting } => self.timeout_error(target, connecting, attempts),
            Fail::RedirectLoop => RegistryError::InvalidResponse {
                image,
                registry,
                detail: format!("more than {MAX_REDIRECTS} redirects (a redirect loop?)"),
            },
            Fail::Tls(detail) => RegistryError::Tls {
                image,
                registry,
                detail: format!("{detail}{https_note}"),
            },
            Fail::TooLarge => RegistryError::TooLarge {
                image,
                registry,
                limit: MAX_RESPONSE_BYTES,
            },
            Fail::OverBudget => RegistryError::OverBudget {
                image,
                registry,
                limit: MAX_BYTES_PER_REGISTRY,
            },
            Fail::Reset(detail) => RegistryError::Connection {
                image,
                registry,
                detail: format!("{detail} ({attempts} attempts)"),
            },
            Fail::Refused(detail) | Fail::Other(detail) => RegistryError::Connection {
                image,
                registry,
                detail: format!("{detail}{https_note}"),
            },
        }
    }
}

fn root_certs_with(path: &std::path::Path) -> Result<ureq::tls::RootCerts, RegistryError> {
    let bad = |detail: String| RegistryError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()))
        .collect();
    let builtin = certs.len();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| bad(format!("invalid PEM: {e}")))? {
            ureq::tls::PemItem::Certificate(cert) => certs.push(cert.to_owned()),
            ureq::tls::PemItem::PrivateKey(_) => {}
            _ => {}
        }
    }
    if certs.len() == builtin {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(ureq::tls::RootCerts::from(certs))
}

/// The `rel="next"` target of a `Link` header, resolved against `current`.
fn next_link(headers: &HeaderMap, current: &str) -> Option<String> {
    for value in headers.get_all("link") {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let part = part.trim();
            let Some(rest) = part.strip_prefix('<') else {
                continue;
            };
            let Some((target, params)) = rest.split_once('>') else {
                continue;
            };
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim()
                            .trim_matches('"')
                            .split_ascii_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if is_next && !target.is_empty() {
                return Some(resolve_url(current, target));
            }
        }
    }
    None
}

/// Resolves a `Link` target: absolute URL, absolute path, or path relative to `current`.
fn resolve_url(current: &str, target: &str) -> String {
    if target.starts_with("https://") || target.starts_with("http://") {
        return target.to_string();
    }
    let scheme_end = current.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = current[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(current.len());
    let origin = &current[..authority_end];
    if let Some(rest) = target.strip_prefix("//") {
        let scheme = &current[..scheme_end];
        return format!("{scheme}{rest}");
    }
    if target.starts_with('/') {
        return format!("{origin}{target}");
    }
    let path = current[authority_end..]
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    if let Some(query) = target.strip_prefix('?') {
        return format!("{origin}{path}?{query}");
    }
    format!("{origin}{dir}{target}")
}

/// `url`, with `http://` turned into `https://` where plain HTTP is not allowed for its host
/// ([`allows_plain_http`]): a `Link` or token realm must not downgrade the connection (servers
/// behind a TLS-terminating proxy often write `http://` URLs).
fn secure_url(url: &str, insecure: bool) -> String {
    match url.strip_prefix("http://") {
        Some(rest) if !allows_plain_http(url_authority(url), insecure) => format!("https://{rest}"),
        _ => url.to_string(),
    }
}

/// `url` for the log: query values other than `n`, `last`, `service` and `scope` become `***`
/// (a Link may point at a signed URL).
fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if matches!(k, "n" | "last" | "service" | "scope") => format!("{k}={v}"),
            Some((k, _)) => format!("{k}=***"),
            None => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

fn url_authority(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// The registry's own error text (`errors[].code/message`, or `details`), shortened. Token
/// services' error answers hold no token, and success bodies never reach here.
fn error_detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<Item>,
        #[serde(default)]
        details: Option<String>,
    }
    let Ok(parsed) = serde_json::from_slice::<Errors>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = parsed
        .errors
        .iter()
        .take(3)
        .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
            (false, false) => format!("{}: {}", e.code, e.message),
            (false, true) => e.code.clone(),
            _ => e.message.clone(),
        })
        .collect();
    if let Some(details) = parsed.details {
        parts.push(details);
    }
    let text: String = parts
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    clip(&text, 200).to_string()
}

fn fail_text(fail: &Fail) -> String {
    match fail {
        Fail::Timeout { connecting: true } => "no connection in time".into(),
        Fail::Timeout { connecting: false } => "timed out".into(),
        Fail::RedirectLoop => "too many redirects".into(),
        Fail::TooLarge => format!("answer larger than {} MiB", MAX_RESPONSE_BYTES >> 20),
        Fail::OverBudget => format!(
            "more than {} from this registry in this run",
            crate::limits::format_size(MAX_BYTES_PER_REGISTRY)
        ),
        Fail::Reset(d) | Fail::Refused(d) | Fail::Tls(d) | Fail::Other(d) => d.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn link_header_forms() {
        let cur = "https://ghcr.io/v2/org/app/tags/list?n=1000";
        let h = headers(&[("link", "</v2/org/app/tags/list?last=b&n=100>; rel=\"next\"")]);
        assert_eq!(
            next_link(&h, cur).unwrap(),
            "https://ghcr.io/v2/org/app/tags/list?last=b&n=100"
        );
        let h = headers(&[(
            "link",
            "<https://other.example/v2/x/tags/list?last=z>; rel=next, <https://a/b>; rel=\"prev\"",
        )]);
        assert_eq!(
            next_link(&h, cur).unwrap(),
            "https://other.example/v2/x/tags/list?last=z"
        );
        let h = headers(&[("link", "<list?last=c>; rel=\"next\"")]);
        assert_eq!(
            next_link(&h, cur).unwrap(),
            "https://ghcr.io/v2/org/app/tags/list?last=c"
        );
        let h = headers(&[("link", "<https://a/b>; rel=\"prev\"")]);
        assert!(next_link(&h, cur).is_none());
        assert!(next_link(&HeaderMap::new(), cur).is_none());
    }

    #[test]
    fn retry_after_is_capped_and_backoff_doubles() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1")]), MAX_RETRY_AFTER),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3600")]), MAX_RETRY_AFTER),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                MAX_RETRY_AFTER
            ),
            None
        );
        assert_eq!(backoff(BASE_BACKOFF, 1), Duration::from_millis(250));
        assert_eq!(backoff(BASE_BACKOFF, 3), Duration::from_millis(1000));
    }

    #[test]
    fn links_and_realms_never_downgrade_to_plain_http() {
        assert_eq!(
            secure_url("http://ghcr.io/v2/a/tags/list?last=x", false),
            "https://ghcr.io/v2/a/tags/list?last=x"
        );
        assert_eq!(
            secure_url("http://ghcr.io/token", true),
            "http://ghcr.io/token"
        );
        assert_eq!(
            secure_url("http://127.0.0.1:5000/token", false),
            "http://127.0.0.1:5000/token"
        );
        assert_eq!(
            secure_url("https://ghcr.io/token", false),
            "https://ghcr.io/token"
        );
    }

    #[test]
    fn log_urls_are_redacted() {
        assert_eq!(
            redact_url("https://auth.example/token?service=reg&scope=repository:a:pull&sig=abc"),
            "https://auth.example/token?service=reg&scope=repository:a:pull&sig=***"
        );
        assert_eq!(
            redact_url("https://ghcr.io/v2/a/tags/list"),
            "https://ghcr.io/v2/a/tags/list"
        );
    }

    #[test]
    fn percent_encoding_and_error_detail() {
        assert_eq!(
            percent_encode("repository:org/app:pull"),
            "repository%3Aorg%2Fapp%3Apull"
        );
        assert_eq!(
            error_detail(br#"{"errors":[{"code":"DENIED","message":"no"}]}"#),
            "DENIED: no"
        );
        assert_eq!(error_detail(b"<html>"), "");
    }
}
