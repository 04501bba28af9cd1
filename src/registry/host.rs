//! Host rules: which host to send requests to, when plain HTTP may be tried, and the names of the
//! credential environment variables.

use std::net::IpAddr;

use crate::flux::image::DOCKER_HUB;

/// Docker Hub's API host: `index.docker.io` (the canonical registry name) serves no `/v2/` API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The host (with port) that requests for `registry` go to. Only Docker Hub differs.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB || registry == "docker.io" {
        DOCKER_HUB_API
    } else {
        registry
    }
}

/// The host name of `registry` without port and without IPv6 brackets.
pub fn host_name(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => registry,
    }
}

/// Whether plain HTTP may be tried after HTTPS failed, as Flux (go-containerregistry) does:
/// `spec.insecure: true`, `localhost`, `*.localhost`, `*.local`, loopback addresses
/// (127.0.0.0/8, ::1) and RFC 1918 addresses (10/8, 172.16/12, 192.168/16), with or without a
/// port. Never for any other host: HTTPS is always tried first and is the only scheme otherwise.
pub fn allows_plain_http(registry: &str, insecure: bool) -> bool {
    if insecure {
        return true;
    }
    let host = host_name(registry).to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The prefix of the credential environment variables for `registry`:
/// `FLUX_IMAGE_LINT_REGISTRY_<HOST>` with HOST upper-cased and every character that is not an
/// ASCII letter or digit replaced by `_` (`ghcr.io` → `GHCR_IO`, `localhost:5000` →
/// `LOCALHOST_5000`, Docker Hub → `INDEX_DOCKER_IO`). `_USERNAME` and `_PASSWORD` follow.
pub fn env_prefix(registry: &str) -> String {
    let host: String = registry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("FLUX_IMAGE_LINT_REGISTRY_{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_local_and_private_hosts_or_insecure() {
        for host in [
            "localhost",
            "localhost:5000",
            "LOCALHOST:5000",
            "registry.local",
            "registry.local:443",
            "reg.localhost",
            "127.0.0.1",
            "127.1.2.3:5000",
            "[::1]:5000",
            "::1",
            "10.1.2.3",
            "10.0.0.1:5000",
            "172.16.0.1",
            "172.31.255.255:80",
            "192.168.1.10:5000",
        ] {
            assert!(
                allows_plain_http(host, false),
                "{host} should allow plain HTTP"
            );
        }
        for host in [
            "ghcr.io",
            "index.docker.io",
            "registry.example.com",
            "registry.example.com:5000",
            "localhost.example.com",
            "local",
            "mylocal",
            "172.32.0.1",
            "172.15.0.1:5000",
            "11.0.0.1",
            "192.169.0.1",
            "8.8.8.8:5000",
            "[2001:db8::1]:5000",
        ] {
            assert!(
                !allows_plain_http(host, false),
                "{host} must not fall back to plain HTTP"
            );
        }
        // spec.insecure opts any host in, as in Flux.
        assert!(allows_plain_http("registry.example.com", true));
    }

    #[test]
    fn env_prefix_names() {
        assert_eq!(env_prefix("ghcr.io"), "FLUX_IMAGE_LINT_REGISTRY_GHCR_IO");
        assert_eq!(
            env_prefix("localhost:5000"),
            "FLUX_IMAGE_LINT_REGISTRY_LOCALHOST_5000"
        );
        assert_eq!(
            env_prefix("index.docker.io"),
            "FLUX_IMAGE_LINT_REGISTRY_INDEX_DOCKER_IO"
        );
        assert_eq!(
            env_prefix("my-reg.example.com"),
            "FLUX_IMAGE_LINT_REGISTRY_MY_REG_EXAMPLE_COM"
        );
    }

    #[test]
    fn docker_hub_api_host() {
        assert_eq!(api_host("index.docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        assert_eq!(host_name("localhost:5000"), "localhost");
        assert_eq!(host_name("[::1]:5000"), "::1");
    }
}
