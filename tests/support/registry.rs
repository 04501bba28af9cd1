//! Test harness for the registry client: Debian's `docker-registry` (CNCF distribution) on
//! 127.0.0.1, seeded over its HTTP API, and small hand-written HTTP/1.1 servers for what that
//! registry cannot do (paging, bearer tokens, retries, slowness). Everything listens on
//! 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// User and password of the htpasswd registry; the hash is bcrypt (cost 5) of `PASSWORD`,
/// made with `htpasswd -nbB -C 5`.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret-pass";
const HTPASSWD: &str = "alice:$2y$05$6EZ9Bkk8UoA4AGYXKzYASO75iEYwqQCe67PFsYi0EXxcOyH4PbHxS\n";

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The `docker-registry` binary, or a failing test that says how to install it.
pub fn registry_binary() -> PathBuf {
    for candidate in ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    if let Ok(path) = which("docker-registry") {
        return path;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "docker-registry is not installed on this CI machine: .ci/run must run \
             scripts/install-test-deps before the tests"
        );
    }
    panic!(
        "docker-registry is not installed: run scripts/install-test-deps (installs Debian's \
         docker-registry package) and run the tests again"
    );
}

fn which(name: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// The built binary run in `dir` with no Docker config and no colour: what the CLI tests that
/// talk to registries on 127.0.0.1 run.
pub fn binary_in(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_flux-image-lint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .output()
        .unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test CA and a server certificate for 127.0.0.1 and localhost.
pub struct TestCa {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "flux-image-lint test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        TestCa {
            ca_pem: ca.pem(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Plain,
    Htpasswd,
    Tls,
}

/// A running `docker-registry serve`, killed on drop.
pub struct DockerRegistry {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub kind: Kind,
    /// PEM of the CA that signed the TLS instance's certificate.
    pub ca_pem: Option<String>,
    agent: ureq::Agent,
}

/// `sh -c WATCHDOG <docker-registry> <config.yml>`: runs the registry, and kills it once stdin
/// reaches end of file.
const WATCHDOG: &str = r#"exec 3<&0
"$0" serve "$1" </dev/null 3<&- &
pid=$!
( read -r _ <&3; kill "$pid" 2>/dev/null ) &
exec 3<&-
wait "$pid"
"#;

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl DockerRegistry {
    pub fn start(kind: Kind) -> DockerRegistry {
        let binary = registry_binary();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut tls = String::new();
        let mut auth = String::new();
        let mut ca_pem = None;
        match kind {
            Kind::Plain => {}
            Kind::Htpasswd => {
                std::fs::write(root.join("htpasswd"), HTPASSWD).unwrap();
                auth = format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    root.join("htpasswd").display()
                );
            }
            Kind::Tls => {
                let ca = TestCa::new();
                std::fs::write(root.join("cert.pem"), &ca.cert_pem).unwrap();
                std::fs::write(root.join("key.pem"), &ca.key_pem).unwrap();
                std::fs::write(root.join("ca.pem"), &ca.ca_pem).unwrap();
                tls = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    root.join("cert.pem").display(),
                    root.join("key.pem").display()
                );
                ca_pem = Some(ca.ca_pem);
            }
        }
        let agent = seed_agent(ca_pem.as_deref());
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 \x20 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: flux-image-lint-test\n{tls}{auth}",
                root.join("data").display()
            );
            std::fs::write(root.join("config.yml"), config).unwrap();
            let log = std::fs::File::create(root.join("registry.log")).unwrap();
            // Through a small shell that kills the registry when our end of its stdin closes:
            // when this value is dropped, and also when the test process exits without
            // dropping it (the registries kept in statics).
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg(&binary)
                .arg(root.join("config.yml"))
                .stdin(Stdio::piped())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let scheme = if kind == Kind::Tls { "https" } else { "http" };
            match wait_ready(
                &mut child,
                root,
                &agent,
                &format!("{scheme}://127.0.0.1:{port}/v2/"),
            ) {
                Ok(()) => {
                    return DockerRegistry {
                        child,
                        dir,
                        port,
                        kind,
                        ca_pem,
                        agent,
                    }
                }
                Err(e) => {
                    last_err = e;
                    drop(child.stdin.take());
                    let _ = child.wait();
                }
            }
        }
        panic!("docker-registry did not start: {last_err}");
    }

    /// `127.0.0.1:<port>`: the registry part of image names.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.kind == Kind::Tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host())
    }

    /// Writes the CA bundle to a file and returns its path (TLS instance only).
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, self.ca_pem.as_ref().expect("TLS instance")).unwrap();
        path
    }

    fn auth_header(&self) -> Option<String> {
        use base64::Engine;
        (self.kind == Kind::Htpasswd).then(|| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
            )
        })
    }

    fn request(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, HashMap<String, String>) {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base_url())
        };
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(auth) = self.auth_header() {
            builder = builder.header("Authorization", auth);
        }
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        let request = builder.body(body.to_vec()).unwrap();
        let response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        (response.status().as_u16(), headers)
    }

    /// Uploads a blob (POST then PUT ?digest=) and returns its digest.
    pub fn upload_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let (status, headers) = self.request(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            None,
            &[],
        );
        assert_eq!(status, 202, "blob upload start");
        let location = &headers["location"];
        let sep = if location.contains('?') { '&' } else { '?' };
        let (status, _) = self.request(
            "PUT",
            &format!("{location}{sep}digest={digest}"),
            Some("application/octet-stream"),
            bytes,
        );
        assert_eq!(status, 201, "blob upload finish");
        digest
    }

    /// PUTs a manifest under `reference` and returns the digest of the bytes PUT.
    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let (status, headers) = self.request(
            "PUT",
            &format!("/v2/{repository}/manifests/{reference}"),
            Some(media_type),
            bytes,
        );
        assert_eq!(status, 201, "manifest PUT {repository}:{reference}");
        let digest = sha256_digest(bytes);
        if let Some(sent) = headers.get("docker-content-digest") {
            assert_eq!(sent, &digest);
        }
        digest
    }

    /// Pushes a minimal OCI image (config + one layer) to `repository` under `first_tag`.
    /// Returns (manifest bytes, manifest digest).
    pub fn push_image(&self, repository: &str, first_tag: &str) -> (Vec<u8>, String) {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
            sha256_hex(repository.as_bytes())
        );
        let layer = format!("layer of {repository}").into_bytes();
        let config_digest = self.upload_blob(repository, config.as_bytes());
        let layer_digest = self.upload_blob(repository, &layer);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        )
        .into_bytes();
        let digest = self.put_manifest(repository, first_tag, OCI_MANIFEST, &manifest);
        (manifest, digest)
    }

    /// Tags `manifest` under every tag in `tags`, through the API, on a few threads.
    pub fn tag_many(&self, repository: &str, manifest: &[u8], tags: &[String]) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tag) = tags.get(i) else { break };
                    self.put_manifest(repository, tag, OCI_MANIFEST, manifest);
                });
            }
        });
    }

    /// Pushes an OCI index over the manifest `(bytes, digest)` under `tag`; returns the
    /// index digest.
    pub fn push_index(&self, repository: &str, tag: &str, manifest: &(Vec<u8>, String)) -> String {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
            manifest.1,
            manifest.0.len()
        )
        .into_bytes();
        self.put_manifest(repository, tag, OCI_INDEX, &index)
    }

    /// Adds tags straight into the registry's filesystem storage, the way distribution lays
    /// them out (`_manifests/tags/<tag>/current/link`), for the benchmark's 25,000 tags. The
    /// repository must have been pushed through the API first (see `push_image`).
    pub fn tag_on_disk(&self, repository: &str, digest: &str, tags: &[String]) {
        let base = self
            .dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags");
        let hex = digest.strip_prefix("sha256:").unwrap();
        for tag in tags {
            let dir = base.join(tag);
            std::fs::create_dir_all(dir.join("current")).unwrap();
            std::fs::write(dir.join("current/link"), digest).unwrap();
            let index = dir.join("index/sha256").join(hex);
            std::fs::create_dir_all(&index).unwrap();
            std::fs::write(index.join("link"), digest).unwrap();
        }
    }
}

fn wait_ready(child: &mut Child, dir: &Path, agent: &ureq::Agent, url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
            return Err(format!("exited with {status}: {log}"));
        }
        if let Ok(resp) = agent.get(url).call() {
            let status = resp.status().as_u16();
            if status == 200 || status == 401 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err("no answer on /v2/ within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn seed_agent(ca_pem: Option<&str>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(pem) = ca_pem {
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem.as_bytes())
            .filter_map(|item| match item.unwrap() {
                ureq::tls::PemItem::Certificate(c) => Some(c.to_owned()),
                _ => None,
            })
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::from(certs));
    }
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(tls.build())
        .proxy(None)
        .build()
        .into()
}

// ---------------------------------------------------------------------------------------------
// Small HTTP/1.1 servers of the tests' own.

/// A request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lower-cased header names.
    pub headers: HashMap<String, String>,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }

    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (slow server).
    pub delay: Duration,
    /// Close the connection instead of answering (a reset).
    pub hang_up: bool,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            hang_up: false,
        }
    }

    pub fn json(status: u16, body: impl Into<String>) -> Response {
        Response::new(status)
            .header("Content-Type", "application/json")
            .body(body.into())
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// A connection closed without an answer.
    pub fn hang_up() -> Response {
        Response {
            hang_up: true,
            ..Response::new(500)
        }
    }

    pub fn delay(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }
}

/// A host on 127.0.0.1 that accepts connections and never answers (a registry behind a dead
/// proxy); counts the connections it received.
pub struct SilentHost {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl SilentHost {
    pub fn start() -> SilentHost {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        SilentHost { port, connections }
    }

    pub fn image(&self, repository: &str) -> String {
        format!("127.0.0.1:{}/{repository}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A hand-written HTTP/1.1 server on 127.0.0.1 (keep-alive, one thread per connection). TLS
/// client hellos are answered with 400 and a close, as a plain-HTTP registry does.
pub struct TestServer {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Requests being answered right now, and the most seen at once.
    pub in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler: Arc<Handler> = Arc::new(handler);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (requests, in_flight, max_in_flight, stop) = (
                requests.clone(),
                in_flight.clone(),
                max_in_flight.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, requests, in_flight, max_in_flight) = (
                        handler.clone(),
                        requests.clone(),
                        in_flight.clone(),
                        max_in_flight.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = serve(stream, &*handler, &requests, &in_flight, &max_in_flight);
                    });
                }
            });
        }
        TestServer {
            port,
            requests,
            in_flight,
            max_in_flight,
            stop,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests whose path is `path`.
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path() == path).count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: TcpStream,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    in_flight: &AtomicUsize,
    max_in_flight: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Head and body go out in separate writes: without this, Nagle and delayed ACKs add 40 ms.
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let first = reader.fill_buf()?;
        if first.is_empty() {
            return Ok(());
        }
        if first[0] == 0x16 {
            // A TLS ClientHello: this is a plain-HTTP server.
            writer.write_all(b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request = Request {
            method,
            target,
            headers,
        };
        requests.lock().unwrap().push(request.clone());
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max_in_flight.fetch_max(now, Ordering::SeqCst);
        let response = handler(&request);
        std::thread::sleep(response.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if response.hang_up {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            response.status,
            response.body.len()
        );
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        if request.method != "HEAD" {
            writer.write_all(&response.body)?;
        }
        writer.flush()?;
    }
}

/// Writes a Docker config.json into `dir` and returns its path.
pub fn docker_config(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, json).unwrap();
    path
}

/// `{"auths": {host: {"auth": base64(user:password)}}}`.
pub fn auths_config(host: &str, user: &str, password: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#)
}

/// Writes an executable `docker-credential-<name>` shell script in `dir` that answers `user`
/// and `secret` for `host` and "credentials not found" for anything else.
#[cfg(unix)]
pub fn credential_helper(dir: &Path, name: &str, host: &str, user: &str, secret: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server\n\
         if [ \"$server\" = '{host}' ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}' \"$server\"\n\
         else\n  echo 'credentials not found in native keychain'\n  exit 1\nfi\n"
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
