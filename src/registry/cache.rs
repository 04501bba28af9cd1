//! On-disk cache of tag lists: one JSON file per canonical `registry/repository`, named by a hash
//! of it, written atomically (temporary file + rename). Files that are corrupt, expired, from
//! the future or for another key are ignored. Only tags are stored, never credentials.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::TagList;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    fetched_at: u64,
    tags: Vec<String>,
    dropped: Vec<String>,
}

/// `$XDG_CACHE_HOME/flux-image-lint`, else `~/.cache/flux-image-lint`, else a directory in the
/// system temporary directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir.join("flux-image-lint");
        }
    }
    match super::credentials::home_dir() {
        Some(home) => home.join(".cache").join("flux-image-lint"),
        None => std::env::temp_dir().join("flux-image-lint-cache"),
    }
}

/// FNV-1a, 64 bits: stable across runs and versions, unlike `DefaultHasher`. Collisions are
/// harmless because the key is stored in the file and checked.
fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

pub(crate) fn file_for(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("tags-{:016x}.json", fnv1a(key)))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The cached list for `key` if present, intact and younger than `ttl`.
pub(crate) fn read(dir: &Path, key: &str, ttl: Duration) -> Option<TagList> {
    let bytes = std::fs::read(file_for(dir, key)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let now = now();
    // A file from the future (clock moved) is not trusted beyond a minute of skew.
    if entry.format != FORMAT
        || entry.key != key
        || entry.fetched_at > now + 60
        || now.saturating_sub(entry.fetched_at) >= ttl.as_secs()
    {
        return None;
    }
    Some(TagList {
        tags: entry.tags,
        dropped: entry.dropped,
    })
}

/// Stores `list` for `key`. Failures are ignored: the cache is an optimisation only.
pub(crate) fn write(dir: &Path, key: &str, list: &TagList) {
    let _ = try_write(dir, key, list);
}

fn try_write(dir: &Path, key: &str, list: &TagList) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let entry = Entry {
        format: FORMAT,
        key: key.to_string(),
        fetched_at: now(),
        tags: list.tags.clone(),
        dropped: list.dropped.clone(),
    };
    let bytes = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
    let target = file_for(dir, key);
    let tmp = dir.join(format!(
        ".{}.{}.{:?}.tmp",
        target.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> TagList {
        TagList {
            tags: vec!["1.0.0".into(), "latest".into()],
            dropped: vec!["bad tag".into()],
        }
    }

    #[test]
    fn round_trip_and_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let key = "ghcr.io/org/app";
        assert!(read(dir.path(), key, Duration::from_secs(600)).is_none());
        write(dir.path(), key, &list());
        assert_eq!(
            read(dir.path(), key, Duration::from_secs(600)),
            Some(list())
        );
        assert_eq!(read(dir.path(), key, Duration::ZERO), None);
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn corrupt_foreign_and_future_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let key = "ghcr.io/org/app";
        let path = file_for(dir.path(), key);
        std::fs::write(&path, b"{\"format\":1,\"key\":").unwrap();
        assert!(read(dir.path(), key, Duration::from_secs(600)).is_none());
        let other = Entry {
            format: FORMAT,
            key: "ghcr.io/org/other".into(),
            fetched_at: now(),
            tags: vec![],
            dropped: vec![],
        };
        std::fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
        assert!(read(dir.path(), key, Duration::from_secs(600)).is_none());
        let future = Entry {
            key: key.into(),
            fetched_at: now() + 3600,
            ..other
        };
        std::fs::write(&path, serde_json::to_vec(&future).unwrap()).unwrap();
        assert!(read(dir.path(), key, Duration::from_secs(600)).is_none());
    }

    #[test]
    fn cache_dir_default_is_under_xdg_or_home() {
        let dir = default_cache_dir();
        assert!(dir.ends_with("flux-image-lint") || dir.ends_with("flux-image-lint-cache"));
    }
}
