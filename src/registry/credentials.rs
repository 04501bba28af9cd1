//! Where registry credentials come from.
//!
//! Precedence, first match wins, looked up once per registry host per run:
//!
//! 1. Environment: `FLUX_IMAGE_LINT_REGISTRY_<HOST>_USERNAME` and `..._PASSWORD`, both set. HOST is
//!    the canonical registry host (with port) upper-cased, every character that is not an ASCII
//!    letter or digit replaced by `_`: `ghcr.io` → `GHCR_IO`, `localhost:5000` →
//!    `LOCALHOST_5000`, Docker Hub → `INDEX_DOCKER_IO` (`DOCKER_IO` is accepted as well).
//! 2. The Docker config file: `RegistryOptions::docker_config` when set, else
//!    `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. Inside it, as the Docker CLI
//!    reads it:
//!    1. `credHelpers[<host>]`: runs `docker-credential-<name> get`;
//!    2. `credsStore`: runs `docker-credential-<name> get`;
//!    3. `auths`: the entry keyed by the host or by a URL of it (`https://host/…`; Docker Hub is
//!       `https://index.docker.io/v1/`), with base64 `auth` (`user:password`) or
//!       `username`/`password`.
//!
//!    A helper that answers "credentials not found", is missing or fails falls through to the
//!    next step. Helpers get the host on stdin (Docker Hub: `https://index.docker.io/v1/`) and
//!    answer `{"Username": …, "Secret": …}` on stdout; they are found on `PATH`, or in
//!    `RegistryOptions::credential_helper_dir` when set. Identity tokens (`identitytoken`, helper
//!    user `<token>`) are not supported and are skipped.
//! 3. None: requests go out anonymously (public images, anonymous bearer tokens).
//!
//! Credentials are kept in memory only, never cached on disk, never logged, and never part of an
//! error message: errors say only where credentials were read from.

use foldhash::{HashMap, HashMapExt};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use super::host::env_prefix;
use crate::flux::image::DOCKER_HUB;

/// The key the Docker CLI uses for Docker Hub in `auths` and with credential helpers.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or token used as password). Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential { <redacted> }")
    }
}

impl Credential {
    /// The value of a `Basic` `Authorization` header.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Credentials found for one registry and a description of where (never the secret itself).
#[derive(Debug, Clone)]
pub struct Found {
    pub credential: Option<Credential>,
    /// "from …" or "none found (…)": safe to show.
    pub source: String,
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Looks credentials up and remembers them per registry for the run.
pub struct CredentialStore {
    config_path: Option<PathBuf>,
    helper_dir: Option<PathBuf>,
    helper_timeout: Duration,
    config: OnceLock<Result<Option<ConfigFile>, String>>,
    found: Mutex<HashMap<String, Found>>,
}

/// The Docker config file used when no explicit path is given: `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`.
pub fn default_docker_config() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    home_dir().map(|home| home.join(".docker").join("config.json"))
}

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

impl CredentialStore {
    /// `helper_timeout` bounds each credential helper run.
    pub fn new(
        config_path: Option<PathBuf>,
        helper_dir: Option<PathBuf>,
        helper_timeout: Duration,
    ) -> CredentialStore {
        CredentialStore {
            config_path: config_path.or_else(default_docker_config),
            helper_dir,
            helper_timeout,
            config: OnceLock::new(),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// Credentials for `registry` (canonical host, Docker Hub is `index.docker.io`).
    pub fn lookup(&self, registry: &str) -> Found {
        if let Some(found) = self.found.lock().unwrap().get(registry) {
            return found.clone();
        }
        // Looked up outside the lock: a helper may take a while. Two threads may both ask the
        // helper for the same host once; both get the same answer.
        let found = self.lookup_uncached(registry);
        self.found
            .lock()
            .unwrap()
            .entry(registry.to_string())
            .or_insert(found)
            .clone()
    }

    fn lookup_uncached(&self, registry: &str) -> Found {
        let mut prefixes = vec![env_prefix(registry)];
        if registry == DOCKER_HUB {
            prefixes.push(env_prefix("docker.io"));
        }
        for prefix in &prefixes {
            let user = std::env::var(format!("{prefix}_USERNAME"));
            let pass = std::env::var(format!("{prefix}_PASSWORD"));
            if let (Ok(username), Ok(password)) = (user, pass) {
                return Found {
                    credential: Some(Credential { username, password }),
                    source: format!("from environment variables {prefix}_USERNAME/_PASSWORD"),
                };
            }
        }
        let env_note = format!("{}_USERNAME/_PASSWORD not set", prefixes[0]);
        let Some(path) = &self.config_path else {
            return Found {
                credential: None,
                source: format!(
                    "none found ({env_note}; no Docker config: HOME and DOCKER_CONFIG unset)"
                ),
            };
        };
        let config = match self.config.get_or_init(|| read_config(path)) {
            Ok(Some(config)) => config,
            Ok(None) => {
                return Found {
                    credential: None,
                    source: format!(
                        "none found ({env_note}; Docker config {} does not exist)",
                        path.display()
                    ),
                }
            }
            Err(e) => {
                return Found {
                    credential: None,
                    source: format!(
                        "none found ({env_note}; Docker config {} unreadable: {e})",
                        path.display()
                    ),
                }
            }
        };
        let mut notes = vec![env_note];
        let server = if registry == DOCKER_HUB {
            DOCKER_HUB_AUTH_KEY
        } else {
            registry
        };
        let helper = find_key(&config.cred_helpers, registry).map(|(_, h)| h);
        let mut helpers = Vec::new();
        if let Some(h) = helper {
            helpers.push((h, "credHelpers"));
        }
        if let Some(h) = &config.creds_store {
            helpers.push((h, "credsStore"));
        }
        for (helper, origin) in helpers {
            match self.run_helper(helper, server) {
                Ok(Some(credential)) => {
                    return Found {
                        credential: Some(credential),
                        source: format!(
                            "from credential helper docker-credential-{helper} ({origin} in {})",
                            path.display()
                        ),
                    }
                }
                Ok(None) => notes.push(format!(
                    "docker-credential-{helper} ({origin}) has none for {server}"
                )),
                Err(e) => notes.push(format!("docker-credential-{helper} ({origin}) failed: {e}")),
            }
        }
        if let Some((key, entry)) = find_key(&config.auths, registry) {
            match entry_credential(entry) {
                Some(credential) => {
                    return Found {
                        credential: Some(credential),
                        source: format!("from auths[\"{key}\"] in {}", path.display()),
                    }
                }
                None => notes.push(format!(
                    "auths[\"{key}\"] in {} holds no user name and password",
                    path.display()
                )),
            }
        } else {
            notes.push(format!("no auths entry for {server} in {}", path.display()));
        }
        Found {
            credential: None,
            source: format!("none found ({})", notes.join("; ")),
        }
    }

    fn run_helper(&self, name: &str, server: &str) -> Result<Option<Credential>, String> {
        if name.is_empty() || name.contains('/') || name.contains('\\') {
            return Err(format!("invalid helper name {name:?}"));
        }
        let program = format!("docker-credential-{name}");
        let program: PathBuf = match &self.helper_dir {
            Some(dir) => dir.join(program),
            None => PathBuf::from(program),
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading stdin is not an error of ours.
            let _ = stdin.write_all(server.as_bytes());
        }
        // Read both pipes on threads and wait with a deadline: a helper may hang (a locked
        // keychain asking for a password, a desktop app that is not running).
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let out = std::thread::spawn(move || read_all(stdout.as_mut()));
        let err = std::thread::spawn(move || read_all(stderr.as_mut()));
        let deadline = Instant::now() + self.helper_timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "no answer within {} s",
                        self.helper_timeout.as_secs()
                    ));
                }
                Err(e) => return Err(format!("cannot wait for {}: {e}", program.display())),
            }
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            let text = String::from_utf8_lossy(&stdout).to_lowercase()
                + &String::from_utf8_lossy(&stderr).to_lowercase();
            if text.contains("not found") {
                return Ok(None);
            }
            // Helper output is not shown: it is not ours to print and could hold anything.
            return Err(format!("exit status {status}"));
        }
        let answer: HelperAnswer = serde_json::from_slice(&stdout)
            .map_err(|_| "answer is not the expected JSON {Username, Secret}".to_string())?;
        if answer.username == "<token>" {
            return Err("identity tokens are not supported".into());
        }
        if answer.username.is_empty() && answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credential {
            username: answer.username,
            password: answer.secret,
        }))
    }
}

fn read_all(pipe: Option<&mut impl Read>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(1024 * 1024).read_to_end(&mut bytes);
    }
    bytes
}

fn read_config(path: &Path) -> Result<Option<ConfigFile>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    // serde_json quotes values in some errors (`invalid type: string "…"`): an `auth` could be one.
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| crate::redact::redact(&format!("invalid JSON: {e}")))
}

/// The host a config key names: `https://ghcr.io/v2/` → `ghcr.io`.
fn key_host(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_ascii_lowercase()
}

fn same_registry(key: &str, registry: &str) -> bool {
    let host = key_host(key);
    if registry == DOCKER_HUB {
        matches!(
            host.as_str(),
            "index.docker.io" | "docker.io" | "registry-1.docker.io"
        )
    } else {
        host == registry.to_ascii_lowercase()
    }
}

/// The entry for `registry`: an exact key first, then the first (in key order) naming its host.
fn find_key<'a, V>(map: &'a HashMap<String, V>, registry: &str) -> Option<(&'a str, &'a V)> {
    let exact = if registry == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY
    } else {
        registry
    };
    if let Some((k, v)) = map.get_key_value(exact) {
        return Some((k.as_str(), v));
    }
    let mut keys: Vec<&String> = map.keys().filter(|k| same_registry(k, registry)).collect();
    keys.sort();
    keys.first().map(|k| (k.as_str(), &map[*k]))
}

fn entry_credential(entry: &AuthEntry) -> Option<Credential> {
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        return Some(Credential {
            username: username.to_string(),
            password: password.to_string(),
        });
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Some(Credential {
            username: u.clone(),
            password: p.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, config).unwrap();
        let store = CredentialStore::new(
            Some(path),
            Some(dir.path().to_path_buf()),
            Duration::from_secs(5),
        );
        (dir, store)
    }

    #[test]
    fn auths_by_host_url_and_docker_hub_key() {
        let (_dir, store) = store_with(
            r#"{"auths": {
                "https://ghcr.io/v2/": {"auth": "dXNlcjpwYTpzcw=="},
                "https://index.docker.io/v1/": {"username": "hub", "password": "hubpw"},
                "quay.io": {}
            }}"#,
        );
        let ghcr = store.lookup("ghcr.io");
        let cred = ghcr.credential.unwrap();
        assert_eq!(
            (cred.username.as_str(), cred.password.as_str()),
            ("user", "pa:ss")
        );
        assert!(ghcr.source.contains("https://ghcr.io/v2/"));
        let hub = store.lookup("index.docker.io").credential.unwrap();
        assert_eq!(hub.username, "hub");
        let quay = store.lookup("quay.io");
        assert!(quay.credential.is_none());
        assert!(quay.source.contains("no user name"), "{}", quay.source);
        let other = store.lookup("example.com");
        assert!(other.credential.is_none());
        assert!(!format!("{:?}", store.lookup("ghcr.io")).contains("pa:ss"));
    }

    #[test]
    fn missing_config_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(
            Some(dir.path().join("nope.json")),
            None,
            Duration::from_secs(5),
        );
        let found = store.lookup("ghcr.io");
        assert!(found.credential.is_none());
        assert!(found.source.contains("does not exist"));
    }

    #[test]
    fn broken_config_is_reported_not_fatal() {
        let (_dir, store) = store_with("{not json");
        let found = store.lookup("ghcr.io");
        assert!(found.credential.is_none());
        assert!(found.source.contains("invalid JSON"), "{}", found.source);
    }

    #[cfg(unix)]
    #[test]
    fn helpers_then_auths() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, store) = store_with(
            r#"{"credHelpers": {"ghcr.io": "fake"}, "credsStore": "missing",
                "auths": {"quay.io": {"auth": "cTpxcA=="}}}"#,
        );
        let script = dir.path().join("docker-credential-fake");
        std::fs::write(
            &script,
            "#!/bin/sh\nread -r host\n[ \"$1\" = get ] || exit 2\nif [ \"$host\" = ghcr.io ]; then printf '{\"ServerURL\":\"%s\",\"Username\":\"hu\",\"Secret\":\"hs\"}' \"$host\"; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ghcr = store.lookup("ghcr.io");
        assert_eq!(ghcr.credential.unwrap().password, "hs");
        assert!(ghcr.source.contains("docker-credential-fake"));
        // credsStore helper is missing: falls through to auths.
        assert!(store.lookup("quay.io").source.contains("from auths"));
        let quay = store.lookup("quay.io");
        assert_eq!(quay.credential.unwrap().username, "q");
    }

    #[cfg(unix)]
    #[test]
    fn a_hanging_helper_is_killed_after_the_timeout() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"credsStore": "hang"}"#).unwrap();
        let script = dir.path().join("docker-credential-hang");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = CredentialStore::new(
            Some(path),
            Some(dir.path().to_path_buf()),
            Duration::from_millis(300),
        );
        let start = Instant::now();
        let found = store.lookup("ghcr.io");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(found.credential.is_none());
        assert!(
            found.source.contains("no answer within"),
            "{}",
            found.source
        );
    }
}
