//! On-disk cache of tag lists: one JSON file per canonical `registry/repository`, named by a hash
//! of it, written atomically (temporary file + rename). Files that are corrupt, expired, from
//! the future, for another key, hold a tag that is not a valid OCI tag or belong to another user
//! are ignored. Only tags are stored, never credentials.
//!
//! The cache lives in a per-user folder with mode 0700; a folder another user owns, or that
//! others may write to, is not used, and there is no shared fallback (such as under `/tmp`)
//! that another local user could create first and fill with tags of their choosing.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::TagList;
use crate::flux::image::is_valid_tag;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    key: String,
    fetched_at: u64,
    tags: Vec<String>,
    dropped: Vec<String>,
}

/// `$XDG_CACHE_HOME/flux-image-lint`, else `~/.cache/flux-image-lint`; without either, no cache.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return Some(dir.join("flux-image-lint"));
        }
    }
    super::credentials::home_dir().map(|home| home.join(".cache").join("flux-image-lint"))
}

/// Creates the cache folder (mode 0700) if needed and says whether it may be used: a real
/// directory of this user that no one else can write to. Explains on stderr when not.
pub(crate) fn usable_dir(dir: &Path) -> bool {
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let refuse = |why: &str| {
        eprintln!(
            "warning: not using the tag cache {}: {why}",
            crate::report::escape(&dir.display().to_string())
        );
        false
    };
    let Ok(metadata) = std::fs::symlink_metadata(dir) else {
        return refuse("it cannot be created");
    };
    if !metadata.is_dir() {
        return refuse("it is not a directory");
    }
    if metadata.uid() != current_uid() {
        return refuse("another user owns it");
    }
    if metadata.mode() & 0o077 != 0
        && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).is_err()
    {
        return refuse("others may write to it");
    }
    true
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
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

/// The cached list for `key` if present, ours, intact, valid and younger than `ttl`.
pub(crate) fn read(dir: &Path, key: &str, ttl: Duration) -> Option<TagList> {
    let path = file_for(dir, key);
    if std::fs::symlink_metadata(&path).ok()?.uid() != current_uid() {
        return None;
    }
    let bytes = crate::limits::read_regular_file(&path, crate::limits::MAX_TAGS_FILE_SIZE).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let now = now();
    // A file from the future (clock moved) is not trusted beyond a minute of skew.
    if entry.format != FORMAT
        || entry.key != key
        || entry.fetched_at > now + 60
        || now.saturating_sub(entry.fetched_at) >= ttl.as_secs()
        || !entry.tags.iter().all(|tag| is_valid_tag(tag))
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
    let entry = Entry {
        format: FORMAT,
        key: key.to_string(),
        fetched_at: now(),
        tags: list.tags.clone(),
        dropped: list.dropped.clone(),
    };
    let bytes = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
    crate::fix::write::write_new(&file_for(dir, key), &bytes)
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
        if let Some(dir) = default_cache_dir() {
            assert!(dir.ends_with("flux-image-lint"), "{}", dir.display());
        }
    }

    #[test]
    fn poisoned_entries_and_open_folders_are_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let key = "ghcr.io/org/app";
        let poisoned = Entry {
            format: FORMAT,
            key: key.into(),
            fetched_at: now(),
            tags: vec!["1.0.0\n# {\"$imagepolicy\": \"x\"}".into()],
            dropped: vec![],
        };
        std::fs::write(
            file_for(dir.path(), key),
            serde_json::to_vec(&poisoned).unwrap(),
        )
        .unwrap();
        assert!(read(dir.path(), key, Duration::from_secs(600)).is_none());

        let cache = dir.path().join("cache");
        assert!(usable_dir(&cache));
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(usable_dir(&cache), "an open folder of ours is closed again");
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(!usable_dir(&file));
    }
}
