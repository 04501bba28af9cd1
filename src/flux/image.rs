//! Image references as Flux reads them: go-containerregistry's weak normalisation (v0.21.6, the
//! version Flux 1.2 ships), so that `nginx`, `docker.io/nginx` and `index.docker.io/library/nginx`
//! compare equal, and the registry client knows which host and repository to ask.

use std::fmt;

/// Docker Hub's canonical registry name, as go-containerregistry writes it.
pub const DOCKER_HUB: &str = "index.docker.io";

/// A parsed image reference: `[registry/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port when given), canonical: Docker Hub is `index.docker.io`.
    pub registry: String,
    /// Repository path inside the registry; Docker Hub one-segment names gain `library/`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The name part exactly as written (without tag or digest), which Flux writes back verbatim.
    pub written_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefError {
    Empty,
    Scheme,
    InvalidRegistry(String),
    InvalidRepository(String),
    InvalidTag(String),
    InvalidDigest(String),
}

impl fmt::Display for ImageRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRefError::Empty => write!(f, "the image reference is empty"),
            ImageRefError::Scheme => write!(f, "an image reference must not include a URL scheme"),
            ImageRefError::InvalidRegistry(registry) => write!(
                f,
                "`{registry}` is not a valid registry host (letters, digits, `.`, `-`, `_` and a `:port` only)"
            ),
            ImageRefError::InvalidRepository(repo) => write!(
                f,
                "`{repo}` is not a valid repository name (lowercase letters, digits, `.`, `_`, `-` and `/` only)"
            ),
            ImageRefError::InvalidTag(tag) => write!(
                f,
                "`{tag}` is not a valid tag (`[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}`)"
            ),
            ImageRefError::InvalidDigest(digest) => {
                write!(f, "`{digest}` is not a valid digest (`sha256:` and 64 hex digits)")
            }
        }
    }
}

impl std::error::Error for ImageRefError {}

impl ImageRef {
    /// Parses a reference the way go-containerregistry's `name.ParseReference` does in weak mode.
    pub fn parse(text: &str) -> Result<ImageRef, ImageRefError> {
        if text.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if text.contains("://") {
            return Err(ImageRefError::Scheme);
        }
        let (name, tag, digest) = split_reference(text);
        if let Some(digest) = digest.filter(|digest| !is_valid_digest(digest)) {
            return Err(ImageRefError::InvalidDigest(digest.to_string()));
        }
        if let Some(tag) = tag.filter(|tag| !is_valid_tag(tag)) {
            return Err(ImageRefError::InvalidTag(tag.to_string()));
        }
        let (tag, digest) = (tag.map(str::to_string), digest.map(str::to_string));
        let (registry, repository) = split_registry(name);
        if !is_valid_registry(&registry) {
            return Err(ImageRefError::InvalidRegistry(registry));
        }
        if !is_valid_repository(&repository) {
            return Err(ImageRefError::InvalidRepository(repository));
        }
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
            written_name: name.to_string(),
        })
    }

    /// `registry/repository`, the form two references are compared on.
    pub fn canonical_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }
}

/// Whether a registry host is Docker Hub's web site, which serves no registry API (Docker Hub's
/// registry is `docker.io`, `registry-1.docker.io`); host names match in any case.
pub fn is_docker_hub_site(host: &str) -> bool {
    ["hub.docker.com", "www.hub.docker.com"]
        .iter()
        .any(|site| host.eq_ignore_ascii_case(site))
}

/// The repository a Docker Hub web page's address shows (`hub.docker.com/r/org/app`,
/// `https://hub.docker.com/repository/docker/org/app/general`, `hub.docker.com/_/nginx`, or the
/// repository written after the site's host, `hub.docker.com/org/app`, `hub.docker.com/nginx`),
/// as `docker.io/org/app`.
/// Pasted as an image it names the host of the web site, which serves no registry API: every
/// scan fails (ellyhae/Flux-CI-CD).
pub fn docker_hub_page(text: &str) -> Option<String> {
    let address = text.split_once("://").map_or(text, |(_, rest)| rest);
    let (host, path) = address.split_once('/')?;
    if !is_docker_hub_site(host) {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let (namespace, name) = match parts.as_slice() {
        ["_", name, ..] => ("library", *name),
        ["r", namespace, name, ..] | ["repository", "docker", namespace, name, ..] => {
            (*namespace, *name)
        }
        // A user's or an organisation's page, or one of the site's own: no repository.
        ["u" | "orgs" | "search" | "repositories" | "repository" | "r" | "_", ..] => return None,
        // The repository written after the site's host.
        [name] => ("library", *name),
        [namespace, name] => (*namespace, *name),
        _ => return None,
    };
    Some(format!("docker.io/{namespace}/{name}"))
}

/// go-containerregistry's `checkRegistry`: a registry is a URI authority (`host[:port]`, an IPv6
/// host in brackets). A space makes none (a Dockerfile's `FROM ghcr.io/org/app` pasted as the
/// value, Griph72/Flux-Infra).
fn is_valid_registry(registry: &str) -> bool {
    registry.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':' | b'[' | b']')
    })
}

/// Splits off the registry: the first path component is one iff it holds `.` or `:` (so in
/// go-containerregistry v0.21.6 `localhost/x` is a Docker Hub repository, as in Flux 1.2).
/// A reference's name, tag and digest as written, unchecked: the digest follows the first `@`,
/// the tag the last `:` before it when that text holds no `/` (else it is a port).
pub fn split_reference(text: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag), digest),
        _ => (rest, None, digest),
    }
}

fn split_registry(name: &str) -> (String, String) {
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') => (first, rest),
        _ => (DOCKER_HUB, name),
    };
    let registry = if registry == "docker.io" {
        DOCKER_HUB
    } else {
        registry
    };
    let repository = if registry == DOCKER_HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_string()
    };
    (registry.to_string(), repository)
}

fn is_valid_repository(repository: &str) -> bool {
    !repository.is_empty()
        && repository.split('/').all(|part| !part.is_empty())
        && repository
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'/' | b'-'))
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `sha256:` followed by 64 lowercase hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn docker_hub_web_pages_name_their_repository() {
        for (page, repository) in [
            (
                "hub.docker.com/repository/docker/chripp/app",
                Some("docker.io/chripp/app"),
            ),
            (
                "https://hub.docker.com/r/org/app/tags?name=1",
                Some("docker.io/org/app"),
            ),
            ("hub.docker.com/_/nginx", Some("docker.io/library/nginx")),
            ("hub.docker.com/u/org", None),
            ("HUB.Docker.com/r/org/app", Some("docker.io/org/app")),
            (
                "www.hub.docker.com/_/nginx",
                Some("docker.io/library/nginx"),
            ),
            ("hub.docker.com/org/app", Some("docker.io/org/app")),
            ("hub.docker.com/orgs/org", None),
            ("hub.docker.com/org/app/extra", None),
            ("hub.docker.com", None),
            ("hub.docker.com/nginx", Some("docker.io/library/nginx")),
            ("hub.docker.com/r/org", None),
            ("docker.io/org/app", None),
            ("ghcr.io/hub.docker.com/r/org/app", None),
        ] {
            assert_eq!(
                super::docker_hub_page(page).as_deref(),
                repository,
                "{page}"
            );
        }
    }

    use super::*;

    fn canonical(text: &str) -> String {
        ImageRef::parse(text).unwrap().canonical_name()
    }

    #[test]
    fn docker_hub_names_normalise() {
        for text in [
            "nginx",
            "docker.io/nginx",
            "index.docker.io/library/nginx",
            "docker.io/library/nginx:1.25",
        ] {
            assert_eq!(canonical(text), "index.docker.io/library/nginx", "{text}");
        }
        assert_eq!(
            canonical("grafana/grafana"),
            "index.docker.io/grafana/grafana"
        );
    }

    #[test]
    fn host_and_port_are_kept() {
        let image = ImageRef::parse("localhost:5000/org/app:v1").unwrap();
        assert_eq!(image.registry, "localhost:5000");
        assert_eq!(image.repository, "org/app");
        assert_eq!(image.tag.as_deref(), Some("v1"));
        assert_eq!(image.written_name, "localhost:5000/org/app");
        // Without a dot or port, `localhost` is a Docker Hub namespace in Flux 1.2.
        assert_eq!(canonical("localhost/app"), "index.docker.io/localhost/app");
    }

    #[test]
    fn tag_and_digest_split() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let image = ImageRef::parse(&format!("ghcr.io/org/app:1.2.3@{digest}")).unwrap();
        assert_eq!(image.tag.as_deref(), Some("1.2.3"));
        assert_eq!(image.digest.as_deref(), Some(digest.as_str()));
        let pinned = ImageRef::parse(&format!("ghcr.io/org/app@{digest}")).unwrap();
        assert_eq!(pinned.tag, None);
    }

    #[test]
    fn invalid_references_are_rejected() {
        assert_eq!(
            ImageRef::parse("https://ghcr.io/org/app"),
            Err(ImageRefError::Scheme)
        );
        assert!(matches!(
            ImageRef::parse("ghcr.io/Org/app"),
            Err(ImageRefError::InvalidRepository(_))
        ));
        assert!(matches!(
            ImageRef::parse("app:-bad"),
            Err(ImageRefError::InvalidTag(_))
        ));
        assert!(matches!(
            ImageRef::parse("app@sha256:xyz"),
            Err(ImageRefError::InvalidDigest(_))
        ));
        assert_eq!(ImageRef::parse(""), Err(ImageRefError::Empty));
        // A Dockerfile line pasted as the value: its first part is no registry host.
        assert_eq!(
            ImageRef::parse("FROM ghcr.io/org/app:1.0"),
            Err(ImageRefError::InvalidRegistry("FROM ghcr.io".to_string()))
        );
        assert!(ImageRef::parse("[::1]:5000/org/app:1.0").is_ok());
        assert!(ImageRef::parse("my_registry.local:5000/org/app").is_ok());
    }
}
