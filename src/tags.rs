//! Where tags come from: an offline snapshot file (`--tags-file`, keyed by the ImageRepository's
//! `spec.image` as written) or the registry. Also which repositories a run needs, so each image
//! is fetched once however many policies use it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::flux::image::is_valid_tag;
use crate::flux::objects::RepositorySpec;
use crate::limits::{read_regular_file, MAX_TAGS_FILE_SIZE};
use crate::registry::{FetchEvent, Registry, RegistryError, TagRequest};
use crate::report::escape;

/// `{"<spec.image as written>": ["tag", …]}`.
#[derive(Debug, Default, Clone)]
pub struct TagSnapshot {
    /// Valid OCI tags only.
    pub images: BTreeMap<String, Vec<String>>,
}

/// The snapshot's JSON object, refusing an image named twice (JSON would keep the last).
struct UniqueImages(BTreeMap<String, Vec<String>>);

impl<'de> serde::Deserialize<'de> for UniqueImages {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueImages;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping images to lists of tags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueImages, A::Error> {
                let mut images = BTreeMap::new();
                while let Some((image, tags)) = map.next_entry::<String, Vec<String>>()? {
                    if images.contains_key(&image) {
                        return Err(serde::de::Error::custom(format!(
                            "`{}` is listed twice",
                            crate::report::escape(&image)
                        )));
                    }
                    images.insert(image, tags);
                }
                Ok(UniqueImages(images))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl TagSnapshot {
    /// Reads a snapshot: a regular file within [`MAX_TAGS_FILE_SIZE`], each image once; tags
    /// that are not valid OCI tags are dropped with a warning, so they can never be written.
    pub fn load(path: &Path) -> Result<TagSnapshot, String> {
        let bytes = read_regular_file(path, MAX_TAGS_FILE_SIZE)
            .map_err(|e| format!("cannot read the tags file {}: {e}", path.display()))?;
        let UniqueImages(mut images) = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{}:{}:{}: the tags file must be a JSON object mapping each ImageRepository `spec.image` to a list of tags: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        for (image, tags) in &mut images {
            let (valid, invalid): (Vec<String>, Vec<String>) =
                tags.drain(..).partition(|tag| is_valid_tag(tag));
            warn_invalid_tags(&format!("{}: {image}", path.display()), &invalid);
            *tags = valid;
        }
        Ok(TagSnapshot { images })
    }

    pub fn tags(&self, image: &str) -> Option<&[String]> {
        self.images.get(image).map(Vec::as_slice)
    }

    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.images).expect("tags serialise");
        text.push('\n');
        text
    }
}

/// Why a repository's tags could not be listed: what `status` tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagFailure {
    /// The registry refused the credentials sent, or that none were sent (HTTP 401/403, a
    /// refused token exchange).
    Auth,
    /// The registry has no such repository (HTTP 404).
    NotFound,
    /// No answer: connection refused or timed out, TLS failed, the host is down.
    Unreachable,
    /// The tags file has no entry for the image.
    NotInSnapshot,
    /// Anything else the registry did wrong.
    Registry,
}

impl TagFailure {
    fn of(error: &RegistryError) -> TagFailure {
        match error {
            RegistryError::Unauthorized { .. } | RegistryError::TokenExchange { .. } => {
                TagFailure::Auth
            }
            RegistryError::NotFound { .. } => TagFailure::NotFound,
            RegistryError::Timeout { .. }
            | RegistryError::Connection { .. }
            | RegistryError::HostDown { .. }
            | RegistryError::Tls { .. } => TagFailure::Unreachable,
            _ => TagFailure::Registry,
        }
    }
}

/// A listing that failed: its kind, and the message that names the image and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagError {
    pub kind: TagFailure,
    pub message: String,
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Tags for the policies of a run.
pub enum TagSource {
    Snapshot(TagSnapshot),
    Registry(Box<Registry>),
}

/// A repository to list, from its ImageRepository.
pub fn request_for(repository: &RepositorySpec) -> Option<TagRequest> {
    let image = repository.image.as_ref()?;
    Some(TagRequest {
        image: image.value.to_string(),
        insecure: repository.insecure,
        // Flux's effective minimum is one second.
        timeout: repository
            .timeout
            .as_ref()
            .and_then(|t| parse_go_duration(&t.value))
            .map(|t| t.max(Duration::from_secs(1))),
    })
}

impl TagSource {
    /// Tags of each request, in order; an error names the image and what to do. `observe` hears
    /// of the registry's work as it goes (a snapshot answers at once and tells it nothing).
    pub fn fetch(
        &self,
        requests: &[TagRequest],
        observe: &(dyn Fn(FetchEvent) + Sync),
    ) -> Vec<Result<Vec<String>, TagError>> {
        match self {
            TagSource::Snapshot(snapshot) => requests
                .iter()
                .map(|request| {
                    snapshot.tags(&request.image).map(<[String]>::to_vec).ok_or_else(|| TagError {
                        kind: TagFailure::NotInSnapshot,
                        message: format!(
                            "the tags file has no entry for `{}`; refresh it with `flux-image-lint tags --write FILE`",
                            request.image
                        ),
                    })
                })
                .collect(),
            TagSource::Registry(registry) => registry
                .list_tags_observed(requests, observe)
                .into_iter()
                .zip(requests)
                .map(|(result, request)| {
                    result
                        .map(|list| {
                            warn_invalid_tags(&request.image, &list.dropped);
                            list.tags
                        })
                        .map_err(|e| TagError {
                            kind: TagFailure::of(&e),
                            message: e.to_string(),
                        })
                })
                .collect(),
        }
    }

    /// The snapshot, when tags come from one: the rules read it too.
    pub fn snapshot(&self) -> Option<&TagSnapshot> {
        match self {
            TagSource::Snapshot(snapshot) => Some(snapshot),
            TagSource::Registry(_) => None,
        }
    }

    /// The manifest digest of `image:tag`, for policies that reflect digests.
    pub fn digest(&self, image: &str, tag: &str, insecure: bool) -> Result<String, String> {
        match self {
            TagSource::Snapshot(_) => Err(format!(
                "`{image}:{tag}` needs its digest (the policy reflects digests), which a tags file does not hold; run without --tags-file to ask the registry"
            )),
            TagSource::Registry(registry) => registry.resolve_digest(image, tag, insecure).map_err(|e| e.to_string()),
        }
    }
}

/// How many invalid tags of one source are shown before the rest are counted.
const INVALID_TAGS_SHOWN: usize = 3;

/// Warns about tags dropped as invalid, escaped, the first few by name and the rest counted.
fn warn_invalid_tags(source: &str, invalid: &[String]) {
    let source = escape(source);
    for tag in invalid.iter().take(INVALID_TAGS_SHOWN) {
        eprintln!(
            "warning: {source}: ignoring `{}`, which is not a valid OCI tag",
            escape(crate::http::clip(tag, 200))
        );
    }
    if invalid.len() > INVALID_TAGS_SHOWN {
        eprintln!(
            "warning: {source}: ignoring {} more invalid tags",
            invalid.len() - INVALID_TAGS_SHOWN
        );
    }
}

/// Go's `time.ParseDuration` for the forms Kubernetes objects use (`30s`, `1m30s`, `1h`, `500ms`,
/// `1.5h`); `None` past Go's limit (an `int64` of nanoseconds, about 292 years), as Go refuses it.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    const GO_MAX_SECONDS: f64 = i64::MAX as f64 / 1e9;
    if total > GO_MAX_SECONDS {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1h0m0s"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("12"), None);
        assert_eq!(parse_go_duration("99999999999999999999999s"), None);
        assert_eq!(
            parse_go_duration("2562047h"),
            Some(Duration::from_secs(2562047 * 3600))
        );
        assert_eq!(parse_go_duration("2562048h"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
