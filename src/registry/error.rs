//! Errors of the registry client. Each says which image, what happened and what to check next.
//! None of them ever holds a credential, a token or an `Authorization` header: the only
//! credential-related text is *where* credentials were read from (an env var name, a file path,
//! a helper name).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// `spec.image` is not a valid repository reference.
    InvalidImage { image: String, reason: String },
    /// The registry answered 401 or 403 (also after a token exchange).
    Unauthorized {
        image: String,
        registry: String,
        status: u16,
        /// Where the credentials sent came from, or that none were found and where we looked.
        credentials: String,
        /// The registry's own error message, if it gave one.
        detail: String,
    },
    /// 404: the repository (or tag) does not exist, or is private and hidden as 404.
    NotFound {
        image: String,
        registry: String,
        what: String,
    },
    /// The TLS handshake failed (unknown CA, wrong host name, not TLS at all…).
    Tls {
        image: String,
        registry: String,
        detail: String,
    },
    /// No connection (`connecting`) or no answer within the timeout. Timeouts are not retried.
    Timeout {
        image: String,
        registry: String,
        timeout: Duration,
        connecting: bool,
        attempts: u32,
    },
    /// Not asked: the registry failed to connect or answer `failures` times in a row.
    HostDown {
        image: String,
        registry: String,
        failures: usize,
        /// The first of those failures.
        first: Box<RegistryError>,
    },
    /// Could not connect (DNS, refused, reset after retries), plain HTTP refused, or similar.
    Connection {
        image: String,
        registry: String,
        detail: String,
    },
    /// Any other unexpected HTTP status (after retries for 429/502/503/504).
    Status {
        image: String,
        registry: String,
        status: u16,
        attempts: u32,
        detail: String,
    },
    /// A response was larger than the client accepts.
    TooLarge {
        image: String,
        registry: String,
        limit: u64,
    },
    /// The registry host sent more than its budget for one run, all requests together.
    OverBudget {
        image: String,
        registry: String,
        limit: u64,
    },
    /// The registry (or token service) answered something that cannot be understood.
    InvalidResponse {
        image: String,
        registry: String,
        detail: String,
    },
    /// The token service refused or failed the token exchange.
    TokenExchange {
        image: String,
        registry: String,
        status: Option<u16>,
        credentials: String,
        /// The token service's URL and what went wrong.
        detail: String,
    },
    /// `--ca-file` could not be read or holds no PEM certificate.
    CaFile { path: PathBuf, detail: String },
}

impl RegistryError {
    /// The image the error is about, if any.
    pub fn image(&self) -> Option<&str> {
        match self {
            RegistryError::InvalidImage { image, .. }
            | RegistryError::Unauthorized { image, .. }
            | RegistryError::NotFound { image, .. }
            | RegistryError::Tls { image, .. }
            | RegistryError::Timeout { image, .. }
            | RegistryError::HostDown { image, .. }
            | RegistryError::Connection { image, .. }
            | RegistryError::Status { image, .. }
            | RegistryError::TooLarge { image, .. }
            | RegistryError::OverBudget { image, .. }
            | RegistryError::InvalidResponse { image, .. }
            | RegistryError::TokenExchange { image, .. } => Some(image),
            RegistryError::CaFile { .. } => None,
        }
    }
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::InvalidImage { image, reason } => {
                write!(f, "`{image}`: not a valid image repository: {reason}")
            }
            RegistryError::Unauthorized {
                image,
                registry,
                status,
                credentials,
                detail,
            } => {
                let what = if *status == 403 {
                    "denied access"
                } else {
                    "requires authentication"
                };
                write!(
                    f,
                    "`{image}`: registry {registry} {what} (HTTP {status}){}; credentials: {credentials}. \
                     Check the user name and password or token and that they may pull this repository",
                    suffix(detail)
                )
            }
            RegistryError::NotFound {
                image,
                registry,
                what,
            } => write!(
                f,
                "`{image}`: {what} not found on registry {registry} (HTTP 404). Check the image \
                 name (spelling, organisation, Docker Hub `library/`); a private repository may \
                 also answer 404 without credentials"
            ),
            RegistryError::Tls {
                image,
                registry,
                detail,
            } => write!(
                f,
                "`{image}`: TLS handshake with {registry} failed: {detail}. If the registry uses \
                 a private certificate authority, pass its PEM bundle with --ca-file"
            ),
            RegistryError::Timeout {
                image,
                registry,
                timeout,
                connecting: true,
                ..
            } => write!(
                f,
                "`{image}`: no connection to registry {registry} within {:.1}s. Check the host \
                 name, port and network, or raise --registry-connect-timeout",
                timeout.as_secs_f64()
            ),
            RegistryError::Timeout {
                image,
                registry,
                timeout,
                attempts,
                ..
            } => write!(
                f,
                "`{image}`: registry {registry} did not answer within {:.1}s{}. Check the network \
                 or raise --registry-timeout / spec.timeout",
                timeout.as_secs_f64(),
                if *attempts == 1 {
                    String::new()
                } else {
                    format!(" ({attempts} attempts)")
                }
            ),
            RegistryError::HostDown {
                image,
                registry,
                failures,
                first,
            } => write!(
                f,
                "`{image}`: not asked, because registry {registry} failed {failures} times in a \
                 row; the first failure: {first}"
            ),
            RegistryError::Connection {
                image,
                registry,
                detail,
            } => write!(
                f,
                "`{image}`: cannot connect to registry {registry}: {detail}. Check the registry \
                 host name, port and network"
            ),
            RegistryError::Status {
                image,
                registry,
                status,
                attempts,
                detail,
            } => write!(
                f,
                "`{image}`: registry {registry} answered HTTP {status}{} after {attempts} attempt{}. \
                 The registry may be down or rate-limiting; try again later",
                suffix(detail),
                if *attempts == 1 { "" } else { "s" }
            ),
            RegistryError::TooLarge {
                image,
                registry,
                limit,
            } => write!(
                f,
                "`{image}`: a response from registry {registry} exceeds the {} MiB limit",
                limit / (1024 * 1024)
            ),
            RegistryError::OverBudget {
                image,
                registry,
                limit,
            } => write!(
                f,
                "`{image}`: registry {registry} has sent more than {} in this run, the most \
                 flux-image-lint accepts from one registry; nothing more is asked of it",
                crate::limits::format_size(*limit)
            ),
            RegistryError::InvalidResponse {
                image,
                registry,
                detail,
            } => write!(
                f,
                "`{image}`: unexpected response from registry {registry}: {detail}"
            ),
            RegistryError::TokenExchange {
                image,
                registry,
                status,
                credentials,
                detail,
            } => {
                write!(f, "`{image}`: token exchange for registry {registry} failed")?;
                if let Some(status) = status {
                    write!(f, " (HTTP {status})")?;
                }
                write!(
                    f,
                    ": {detail}; credentials: {credentials}. Check the credentials and that they \
                     may pull this repository"
                )
            }
            RegistryError::CaFile { path, detail } => write!(
                f,
                "cannot use CA file {}: {detail}. Pass a PEM bundle of certificates with --ca-file",
                path.display()
            ),
        }
    }
}

impl std::error::Error for RegistryError {}
