//! HTTP plumbing shared by the registry and forge clients: exponential backoff, `Retry-After`,
//! percent-encoding, and clipping what a server says before it goes into an error message.

use std::time::Duration;

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
    }
}
