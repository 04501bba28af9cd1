//! HTTP plumbing shared by the registry and forge clients: the retry policy (which answers are
//! worth another attempt, exponential backoff, `Retry-After`), the per-host breaker,
//! percent-encoding, and clipping what a server says before it goes into an error message.
//!
//! Retries only where one can help: an HTTP status that means "not now" ([`retryable_status`])
//! and a connection broken mid-request. A timeout is not retried (a host silent for the whole
//! timeout rarely answers the next attempt: the next run is the retry), nor a refused
//! connection, a TLS failure or a redirect loop.

use foldhash::{HashMap, HashMapExt};
use std::sync::{Condvar, Mutex};
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
/// instead of each waiting for its own timeout. While a host has failed, one request at a time
/// goes to it, so the requests already under way decide before more are sent. Any answer from
/// the host closes the breaker again.
pub struct Breaker<E> {
    hosts: Mutex<HashMap<String, HostRecord<E>>>,
    settled: Condvar,
}

struct HostRecord<E> {
    consecutive_failures: usize,
    first_error: Option<E>,
    in_flight: usize,
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
            settled: Condvar::new(),
        }
    }
}

impl<E: Clone> Breaker<E> {
    /// Runs `request` to `host` unless the breaker refuses it; `unreachable` says which of its
    /// errors mean the host could not be reached or did not answer in time.
    pub fn call<T>(
        &self,
        host: &str,
        request: impl FnOnce() -> Result<T, E>,
        unreachable: impl Fn(&E) -> bool,
    ) -> Result<Result<T, E>, HostDown<E>> {
        let mut hosts = self.hosts.lock().unwrap();
        loop {
            let record = hosts.entry(host.to_string()).or_insert(HostRecord {
                consecutive_failures: 0,
                first_error: None,
                in_flight: 0,
            });
            if record.consecutive_failures >= BREAKER_THRESHOLD {
                if let Some(first_error) = record.first_error.clone() {
                    return Err(HostDown {
                        first_error,
                        consecutive_failures: record.consecutive_failures,
                    });
                }
            }
            if record.consecutive_failures == 0 || record.in_flight == 0 {
                record.in_flight += 1;
                break;
            }
            hosts = self.settled.wait(hosts).unwrap();
        }
        drop(hosts);
        let result = request();
        let mut hosts = self.hosts.lock().unwrap();
        let record = hosts.get_mut(host).expect("registered before the request");
        record.in_flight -= 1;
        match &result {
            Err(error) if unreachable(error) => {
                record.consecutive_failures += 1;
                record.first_error.get_or_insert_with(|| error.clone());
            }
            _ => {
                record.consecutive_failures = 0;
                record.first_error = None;
            }
        }
        self.settled.notify_all();
        Ok(result)
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
        let fail = |n: usize| move || Err::<(), String>(format!("failure {n}"));
        let unreachable = |_: &String| true;
        for n in 1..=BREAKER_THRESHOLD {
            assert!(breaker.call("a", fail(n), unreachable).is_ok(), "asked");
        }
        let down = breaker.call("a", fail(0), unreachable).expect_err("open");
        assert_eq!(down.first_error, "failure 1");
        assert_eq!(down.consecutive_failures, BREAKER_THRESHOLD);
        assert!(breaker.call("b", || Ok(()), unreachable).is_ok());
        // An error that is an answer (a 404) resets the count.
        let breaker: Breaker<String> = Breaker::default();
        for n in 0..2 * BREAKER_THRESHOLD {
            let counts = move |_: &String| n % 2 == 0;
            assert!(breaker.call("a", fail(n), counts).is_ok());
        }
    }
}
