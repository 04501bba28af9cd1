//! Which files are read: the `ignore` crate's parallel walker (ripgrep's), honouring
//! `.gitignore`, skipping `.git` and symlinks, reading each candidate once and handing its bytes
//! to the caller on the walker's own threads. Knows nothing of YAML.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};

pub struct WalkOptions<'a> {
    pub jobs: usize,
    /// Repository-relative globs; when non-empty, only matching files are read.
    pub include: &'a GlobSet,
    pub exclude: &'a GlobSet,
    /// Larger files are reported as read errors, not read.
    pub max_file_size: u64,
}

/// Whether Flux's automation would consider this file name (`.yaml`, `.yml`, `Kustomization`).
pub fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

/// `/`-separated path of `path` relative to `root`.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// An error reading one file, reported without stopping the walk.
#[derive(Debug)]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// Walks `root` in parallel and calls `process(relative_path, disk_path, bytes)` for every YAML
/// file; results come back sorted by path, whatever the thread count.
pub fn walk<T, F>(root: &Path, options: &WalkOptions, process: F) -> (Vec<T>, Vec<ReadError>)
where
    T: Send,
    F: Fn(String, PathBuf, Vec<u8>) -> Option<T> + Sync,
{
    let results: Mutex<Vec<(String, T)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<ReadError>> = Mutex::new(Vec::new());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .threads(options.jobs.max(1))
        .filter_entry(|entry| entry.file_name() != ".git")
        .build_parallel();
    walker.run(|| {
        let process = &process;
        let results = &results;
        let errors = &errors;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    errors.lock().unwrap().push(ReadError {
                        path: String::new(),
                        message: error.to_string(),
                    });
                    return WalkState::Continue;
                }
            };
            // Symlinks are never followed: Flux does not follow them either, and a link could
            // point out of the repository. Special files (FIFOs, devices) are refused below.
            let skipped = entry
                .file_type()
                .is_none_or(|t| t.is_dir() || t.is_symlink());
            let name = entry.file_name().to_string_lossy();
            if skipped || !is_yaml_name(&name) {
                return WalkState::Continue;
            }
            let path = relative_path(root, entry.path());
            if (!options.include.is_empty() && !options.include.is_match(&path))
                || options.exclude.is_match(&path)
            {
                return WalkState::Continue;
            }
            match crate::limits::read_regular_file(entry.path(), options.max_file_size) {
                Ok(bytes) => {
                    if let Some(result) = process(path.clone(), entry.path().to_path_buf(), bytes) {
                        results.lock().unwrap().push((path, result));
                    }
                }
                Err(error) => errors.lock().unwrap().push(ReadError {
                    path,
                    message: error.to_string(),
                }),
            }
            WalkState::Continue
        })
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut errors = errors.into_inner().unwrap();
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    (results.into_iter().map(|(_, t)| t).collect(), errors)
}

/// The repository root for a directory: the nearest ancestor holding `.git`, else `None`.
pub fn git_toplevel(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
