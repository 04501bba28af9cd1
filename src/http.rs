//! HTTP plumbing shared by the registry and forge clients: the retry policy (which answers are
//! worth another attempt, exponential backoff, `Retry-After`), the per-host breaker,
//! percent-encoding, and clipping what a server says before it goes into an error message.
//!
//! Retries only where one can help: an HTTP status that means "not now" ([`retryable_status`])
//! and a connection broken mid-request. A timeout is not retried (a host silent for the whole
//! timeout rarely answers the next attempt: the next run is the retry), nor a refused
//! connection, a TLS failure or a redirect loop.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// 408, 429, 500, 502, 503 and 504: the server is there but cannot answer now.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The backoff before attempt `attempt + 1`: `base`, `2 × base`, `4 × base`, … (at most `base × 64`).
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base * 2u32.saturating_pow(attempt.saturating_sub(1)).min(64)
}

/// A `Retry-After` header given in seconds, capped at `max`. (HTTP dates fall back to backoff.)
pub fn retry_after(headers: &ureq::http::HeaderMap, max: Duration) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    let seconds: u64 = value.parse().ok()?;
    Some(Duration::from_secs(seconds).min(max))
}

/// What an I/O error during a request means for retrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFailure {
    Timeout,
    /// The connection broke mid-request: worth another attempt.
    Reset,
    Refused,
    Other,
}

pub fn io_failure(kind: std::io::ErrorKind) -> IoFailure {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => IoFailure::Timeout,
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => IoFailure::Reset,
        ErrorKind::ConnectionRefused => IoFailure::Refused,
        _ => IoFailure::Other,
    }
}

/// Consecutive connection failures or timeouts to one host after which its further requests
/// fail at once.
pub const BREAKER_THRESHOLD: usize = 3;

/// A per-host circuit breaker: after [`BREAKER_THRESHOLD`] consecutive connection failures or
/// timeouts to a host, its further requests fail at once with the first of those errors,
/// instead of each waiting for its own timeout. Any answer from the host closes it again.
pub struct Breaker<E> {
    hosts: Mutex<HashMap<String, HostRecord<E>>>,
}

struct HostRecord<E> {
    consecutive_failures: usize,
    first_error: Option<E>,
}

/// Why a breaker refused a request: the host's first failure and how many followed in a row.
pub struct HostDown<E> {
    pub first_error: E,
    pub consecutive_failures: usize,
}

impl<E: Clone> Default for Breaker<E> {
    fn default() -> Self {
        Breaker {
            hosts: Mutex::new(HashMap::new()),
        }
    }
}

impl<E: Clone> Breaker<E> {
    /// `Some` when `host` has failed too often in a row to be asked again.
    pub fn refuses(&self, host: &str) -> Option<HostDown<E>> {
        let hosts = self.hosts.lock().unwrap();
        let record = hosts.get(host)?;
        if record.consecutive_failures < BREAKER_THRESHOLD {
            return None;
        }
        Some(HostDown {
            first_error: record.first_error.clone()?,
            consecutive_failures: record.consecutive_failures,
        })
    }

    /// The host answered (whatever the status): it is reachable.
    pub fn answered(&self, host: &str) {
        self.hosts.lock().unwrap().remove(host);
    }

    /// The host could not be reached or did not answer in time.
    pub fn unreachable(&self, host: &str, error: &E) {
        let mut hosts = self.hosts.lock().unwrap();
        let record = hosts.entry(host.to_string()).or_insert(HostRecord {
            consecutive_failures: 0,
            first_error: None,
        });
        record.consecutive_failures += 1;
        record.first_error.get_or_insert_with(|| error.clone());
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// At most `max` bytes of `text`, cut on a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            backoff(Duration::from_millis(250), 1),
            Duration::from_millis(250)
        );
        assert_eq!(
            backoff(Duration::from_millis(250), 3),
            Duration::from_secs(1)
        );
        assert_eq!(
            percent_encode("image-updates/2026-w04"),
            "image-updates%2F2026-w04"
        );
        assert_eq!(clip("héllo", 2), "h");
        assert!(retryable_status(500) && retryable_status(429) && !retryable_status(501));
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_closes_on_an_answer() {
        let breaker: Breaker<String> = Breaker::default();
        for n in 1..BREAKER_THRESHOLD {
            breaker.unreachable("a", &format!("failure {n}"));
            assert!(breaker.refuses("a").is_none());
        }
        breaker.unreachable("a", &"last".to_string());
        let down = breaker.refuses("a").expect("open");
        assert_eq!(down.first_error, "failure 1");
        assert_eq!(down.consecutive_failures, BREAKER_THRESHOLD);
        assert!(breaker.refuses("b").is_none());
        breaker.answered("a");
        assert!(breaker.refuses("a").is_none());
    }
}
