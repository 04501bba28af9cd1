//! Which files are read: the files Flux gets. Inside a git work tree that is what git tracks
//! (`git ls-files`: committed plus staged), outside git the tree less what its own `.gitignore`
//! files exclude (the `ignore` crate's walker with no `.ignore`, global or parent ignore files),
//! and for `--push` the files of the base commit. Each file is also judged by Flux's
//! `.sourceignore` matcher: whether kustomize-controller receives it (`applied`). Symlinks are
//! never followed. Reads each file once, in parallel, and hands its bytes to the caller.
//! Knows nothing of YAML.

mod sourceignore;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};

pub use sourceignore::{Exclusion, SourceIgnore, Written};

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

pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The folder a repository path is in (`""`: the root).
pub fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The folders `path` lies in, the nearest first, the root (`""`) left out.
pub fn folders_above(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(path.rsplit_once('/').map(|(folder, _)| folder), |folder| {
        folder.rsplit_once('/').map(|(parent, _)| parent)
    })
}

/// Whether the repository path `path` lies below the folder `dir` (`""`, the root, holds all).
pub fn lies_under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `/`-separated path of `path` relative to `root`.
pub fn relative_path(root: &Path, path: &Path) -> String {
    match clean_relative(root, path) {
        Some(relative) => relative.to_string(),
        None => relative_by_components(root, path),
    }
}

fn relative_by_components(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The rest of `path` after `root` when it is already what [`relative_path`] makes of it (UTF-8,
/// no empty or `.` component): a walk's paths are its root joined with names, and taking them
/// apart into components cost more than the rest of listing them.
fn clean_relative<'p>(root: &Path, path: &'p Path) -> Option<&'p str> {
    use std::os::unix::ffi::OsStrExt;
    let root = root.as_os_str().as_bytes();
    let rest = path.as_os_str().as_bytes().strip_prefix(root)?;
    let rest = match rest.strip_prefix(b"/") {
        Some(rest) => rest,
        // `repo` is no prefix of `repository/x`; `repo/` is one of `repo/x`.
        None if rest.is_empty() || root.ends_with(b"/") => rest,
        None => return None,
    };
    let rest = std::str::from_utf8(rest).ok()?;
    let clean = rest.is_empty() || !rest.split('/').any(|part| part.is_empty() || part == ".");
    clean.then_some(rest)
}

/// An error reading one file, reported without stopping the walk.
#[derive(Debug)]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// The file set could not be listed (git failed, the directory cannot be walked).
#[derive(Debug)]
pub struct ListError(String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ListError {}

/// Where a file set comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `git ls-files` of the work tree: committed plus staged.
    Git,
    /// A directory outside git, less what its own `.gitignore` files exclude.
    Tree,
    /// The files of a commit, held in memory.
    Commit,
}

/// What a path of the repository names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    File,
    Dir,
    Missing,
}

/// A commit's files, read once: `--push` checks them without writing them anywhere.
#[derive(Clone, Default)]
struct Contents(Arc<BTreeMap<String, Vec<u8>>>);

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} files in memory", self.0.len())
    }
}

/// A file `check` does not read or whose objects it does not index, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The files of a repository that Flux gets, as `check` reads them.
#[derive(Debug, Clone)]
pub struct FileSet {
    /// Where the files are read from.
    pub root: PathBuf,
    /// Root-relative paths (`/`-separated) of every file listed; `check` reads the YAML ones
    /// and those the kustomizations name.
    paths: PathSet,
    pub listing: Listing,
    /// Every `.sourceignore` that applies under the root: its directory relative to the
    /// repository's top, and its text.
    pub ignore_files: Vec<(String, String)>,
    /// The root relative to the repository's top (`/`-separated, empty at the top): where
    /// `.sourceignore` scopes are counted from.
    top_prefix: String,
    source_ignore: SourceIgnore,
    /// With [`Listing::Commit`], the files themselves: `root` then holds only what the caller
    /// asked to find on disk (the config).
    contents: Option<Contents>,
    /// Once [`FileSet::read`] ran, which of `paths` it found to be regular files: what a path
    /// names is then known without asking the disk again (the render asks for every resource).
    read_as_regular: OnceLock<Vec<bool>>,
    /// Of those, which kustomize-controller receives (see [`FileSet::read_and_delivered`]), once
    /// the workspace knows what every ignore pattern leaves out: the verdicts the walk reached,
    /// not asked of the patterns again for every resource of every build.
    delivered: Vec<bool>,
    /// The branch the work tree has checked out, once asked (see [`FileSet::work_tree_branch`]).
    branch: OnceLock<Option<String>>,
    /// The work tree's remotes' URLs, once asked (see [`FileSet::remote_urls`]).
    remotes: OnceLock<Vec<String>>,
}

impl FileSet {
    /// The files of the repository at `root`: what git tracks when `root` is inside a git work
    /// tree (also for a sub-folder: `.gitignore` files above it count, as git applies them),
    /// otherwise the tree less what its own `.gitignore` files exclude.
    pub fn of_directory(root: &Path) -> Result<FileSet, ListError> {
        match git_toplevel(root) {
            Some(top) => FileSet::tracked_by_git(root, &top),
            None => FileSet::walked(root),
        }
    }

    fn tracked_by_git(root: &Path, top: &Path) -> Result<FileSet, ListError> {
        let top_prefix = relative_path(top, root);
        // One call lists the root's files and the `.sourceignore` files of its ancestors.
        let mut pathspecs = vec![if top_prefix.is_empty() {
            ".".to_string()
        } else {
            top_prefix.clone()
        }];
        pathspecs.extend(ancestor_dirs(&top_prefix).map(|dir| ignore_file_in(&dir)));
        let listed = run_git(top, &["ls-files", "-z", "--"], &pathspecs)?;
        let mut paths = Vec::new();
        let mut ignore_files = Vec::new();
        for top_relative in &listed {
            let name = file_name(top_relative);
            if name == sourceignore::FILE_NAME {
                let dir = top_relative[..top_relative.len() - name.len()].trim_end_matches('/');
                // Deleted but not staged: git still lists it, and Flux would get the index's
                // copy; without it on disk there is nothing to read.
                if let Ok(text) = std::fs::read_to_string(top.join(top_relative)) {
                    ignore_files.push((dir.to_string(), text));
                }
            }
            let under_root = match top_prefix.as_str() {
                "" => Some(top_relative.as_str()),
                prefix => top_relative
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('/')),
            };
            paths.extend(under_root.map(str::to_string));
        }
        Ok(FileSet::new(
            root,
            paths,
            Listing::Git,
            ignore_files,
            top_prefix,
        ))
    }

    fn walked(root: &Path) -> Result<FileSet, ListError> {
        let paths: Mutex<Vec<String>> = Mutex::default();
        let ignore_files: Mutex<Vec<(String, String)>> = Mutex::default();
        let errors: Mutex<Vec<String>> = Mutex::default();
        WalkBuilder::new(root)
            .hidden(false)
            .ignore(false)
            .git_global(false)
            .git_exclude(false)
            .parents(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|entry| entry.file_name() != ".git")
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    let entry = match entry {
                        Ok(entry) => entry,
                        Err(error) => {
                            errors.lock().unwrap().push(error.to_string());
                            return WalkState::Continue;
                        }
                    };
                    // Symlinks are never followed; special files (FIFOs, devices) are listed,
                    // to be refused when read.
                    let Some(file_type) = entry.file_type() else {
                        return WalkState::Continue;
                    };
                    if file_type.is_dir() || file_type.is_symlink() {
                        return WalkState::Continue;
                    }
                    let name = entry.file_name().to_string_lossy();
                    let path = relative_path(root, entry.path());
                    if name == sourceignore::FILE_NAME && file_type.is_file() {
                        if let Ok(text) = std::fs::read_to_string(entry.path()) {
                            let dir = path[..path.len() - name.len()].trim_end_matches('/');
                            ignore_files.lock().unwrap().push((dir.to_string(), text));
                        }
                    }
                    paths.lock().unwrap().push(path);
                    WalkState::Continue
                })
            });
        let errors = errors.into_inner().unwrap();
        if let Some(error) = errors.first() {
            return Err(ListError(format!(
                "cannot list the files of {}: {error}",
                root.display()
            )));
        }
        Ok(FileSet::new(
            root,
            paths.into_inner().unwrap(),
            Listing::Tree,
            ignore_files.into_inner().unwrap(),
            String::new(),
        ))
    }

    /// The files of a commit under `top_prefix` (the root relative to the repository's top),
    /// held in memory; `root` is where they would be (an empty scratch directory), and the
    /// files `on_disk` accepts (root-relative) are written there too. `files` hold top-relative
    /// paths and contents, as `wanted_in_commit` selects them.
    pub fn from_commit(
        root: &Path,
        top_prefix: &str,
        files: Vec<(String, Vec<u8>)>,
        on_disk: impl Fn(&str) -> bool,
    ) -> std::io::Result<FileSet> {
        let mut contents = BTreeMap::new();
        let mut ignore_files = Vec::new();
        for (top_relative, bytes) in files {
            let name = file_name(&top_relative);
            if name == sourceignore::FILE_NAME {
                let dir = top_relative[..top_relative.len() - name.len()].trim_end_matches('/');
                let text = String::from_utf8_lossy(&bytes).into_owned();
                ignore_files.push((dir.to_string(), text));
            }
            let relative = match top_prefix {
                "" => top_relative.as_str(),
                prefix => match top_relative
                    .strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(relative) => relative,
                    None => continue,
                },
            };
            if on_disk(relative) {
                let destination = root.join(relative);
                std::fs::create_dir_all(destination.parent().expect("files have a parent"))?;
                std::fs::write(destination, &bytes)?;
            }
            contents.insert(relative.to_string(), bytes);
        }
        let mut file_set = FileSet::new(
            root,
            contents.keys().cloned().collect(),
            Listing::Commit,
            ignore_files,
            top_prefix.to_string(),
        );
        file_set.contents = Some(Contents(Arc::new(contents)));
        Ok(file_set)
    }

    /// Writes a commit's files under `root`, for what reads them there (the real kustomize).
    pub fn materialize(&self) -> std::io::Result<()> {
        for (path, bytes) in self.contents.iter().flat_map(|c| c.0.iter()) {
            let destination = self.root.join(path);
            std::fs::create_dir_all(destination.parent().expect("files have a parent"))?;
            std::fs::write(destination, bytes)?;
        }
        Ok(())
    }

    /// What the root-relative `path` names: from the commit's files for `--push`, else from
    /// the disk (following symlinks, as kustomize does).
    pub fn kind_of(&self, path: &str) -> PathKind {
        let Some(Contents(contents)) = &self.contents else {
            if self.read_as_regular(path) {
                return PathKind::File;
            }
            return match std::fs::metadata(self.root.join(path)) {
                Ok(metadata) if metadata.is_file() => PathKind::File,
                Ok(metadata) if metadata.is_dir() => PathKind::Dir,
                _ => PathKind::Missing,
            };
        };
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return PathKind::Dir;
        }
        if contents.contains_key(path) {
            return PathKind::File;
        }
        let folder = format!("{path}/");
        match contents.range(folder.clone()..).next() {
            Some((first, _)) if first.starts_with(&folder) => PathKind::Dir,
            _ => PathKind::Missing,
        }
    }

    /// Whether kustomize-controller receives a file the walk read as a regular file; `None`
    /// for a path the walk did not read so.
    pub fn read_and_delivered(&self, path: &str) -> Option<bool> {
        let index = self.paths.index_of(path)?;
        if !*self.read_as_regular.get()?.get(index)? {
            return None;
        }
        Some(match self.delivered.get(index) {
            Some(&delivered) => delivered,
            None => self.is_applied(path),
        })
    }

    /// Keeps which YAML files kustomize-controller receives, as the workspace listed them.
    pub fn set_delivered(&mut self, yaml_paths: &ListedPaths) {
        self.delivered.clone_from(&yaml_paths.listed);
    }

    /// The walk read `path` as a regular file: what it names is known without a `stat`.
    pub fn read_as_regular(&self, path: &str) -> bool {
        self.read_as_regular.get().is_some_and(|regular| {
            self.paths
                .index_of(path)
                .is_some_and(|index| regular[index])
        })
    }

    /// The bytes of one regular file of the repository within `limit`, whether or not the walk
    /// read it; `None` when there is none or it cannot be read.
    /// Where a listed file is on the disk, to be read again; `None` for a commit's files, which
    /// are held in memory.
    pub fn disk_path(&self, path: &str) -> Option<PathBuf> {
        self.contents.is_none().then(|| self.root.join(path))
    }

    pub fn read_file(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        match &self.contents {
            Some(Contents(contents)) => contents
                .get(path)
                .filter(|bytes| bytes.len() as u64 <= limit)
                .cloned(),
            None => {
                let disk_path = self.root.join(path);
                if !disk_path.is_file() {
                    return None;
                }
                crate::limits::read_regular_file(&disk_path, limit).ok()
            }
        }
    }

    fn new(
        root: &Path,
        paths: Vec<String>,
        listing: Listing,
        ignore_files: Vec<(String, String)>,
        top_prefix: String,
    ) -> FileSet {
        FileSet {
            root: root.to_path_buf(),
            paths: PathSet::new(paths.iter().map(String::as_str)),
            listing,
            source_ignore: SourceIgnore::new(&ignore_files, None),
            ignore_files,
            top_prefix,
            contents: None,
            read_as_regular: OnceLock::new(),
            delivered: Vec::new(),
            branch: OnceLock::new(),
            remotes: OnceLock::new(),
        }
    }

    /// The branch the work tree has checked out: `None` outside git, on a detached HEAD, or for
    /// a commit's files. Asked of git once, when first wanted (few repositories need it).
    pub fn work_tree_branch(&self) -> Option<&str> {
        self.branch
            .get_or_init(|| match self.listing {
                Listing::Git => crate::git::current_branch(&self.root),
                Listing::Tree | Listing::Commit => None,
            })
            .as_deref()
    }

    /// Whether git's ignore rules leave the root-relative `path` out of the repository: never
    /// outside git or for a commit's files.
    pub fn ignored_by_git(&self, path: &str) -> bool {
        match self.listing {
            Listing::Git => crate::git::ignores(&self.root, path),
            Listing::Tree | Listing::Commit => false,
        }
    }

    /// The URLs of the work tree's remotes: none outside git or for a commit's files. Asked of
    /// git once, when first wanted (few repositories need it).
    pub fn remote_urls(&self) -> &[String] {
        self.remotes.get_or_init(|| match self.listing {
            Listing::Git => crate::git::remote_urls(&self.root),
            Listing::Tree | Listing::Commit => Vec::new(),
        })
    }

    /// Adds the `spec.ignore` of the GitRepository Flux syncs this repository with to what it
    /// leaves out (which replaces the default excludes, as in source-controller).
    pub fn add_spec_ignore(&mut self, spec_ignore: &str) {
        let spec_ignore = (spec_ignore, self.top_prefix.as_str());
        self.source_ignore = SourceIgnore::new(&self.ignore_files, Some(spec_ignore));
    }

    /// Whether the repository holds the file at the root-relative `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains(path)
    }

    /// The files whose root-relative path starts with `prefix`, in order.
    pub fn starting_with<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = &'s str> {
        self.paths.starting_with(prefix)
    }

    /// Whether kustomize-controller receives the file at the root-relative `path`, with no
    /// GitRepository `spec.ignore` known.
    pub fn is_applied(&self, path: &str) -> bool {
        self.source_ignore.delivers(&self.top_relative(path))
    }

    /// The ignore pattern that keeps the file at the root-relative `path` from
    /// kustomize-controller, its `.sourceignore` named from the root where it lies in it, where
    /// one does.
    pub fn kept_out_by(&self, path: &str) -> Option<Exclusion> {
        let mut exclusion = self.source_ignore.excluded_by(&self.top_relative(path))?;
        let prefix = self.top_prefix.as_str();
        if let Written::InFile { dir, .. } = &mut exclusion.written {
            if *dir == prefix {
                dir.clear();
            } else if !prefix.is_empty() && lies_under(dir, prefix) {
                *dir = dir[prefix.len() + 1..].to_string();
            }
        }
        Some(exclusion)
    }

    /// A root-relative path as the repository's top names it, which the ignore patterns take.
    fn top_relative<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        match self.top_prefix.as_str() {
            "" => path.into(),
            prefix => format!("{prefix}/{path}").into(),
        }
    }

    /// The YAML files whose objects Flux does not apply, and, inside git, the untracked YAML
    /// files Flux never sees: what `--verbose` lists.
    pub fn skipped(&self) -> Result<Vec<Skipped>, ListError> {
        let mut skipped: Vec<Skipped> = self
            .paths
            .iter()
            .filter(|path| is_yaml_name(file_name(path)) && !self.is_applied(path))
            .map(|path| Skipped {
                path: path.to_string(),
                reason: match self.kept_out_by(path) {
                    Some(exclusion) => format!("not applied: {exclusion} leaves it out of what source-controller hands on; its markers are still checked"),
                    None => "not applied: source-controller leaves it out; its markers are still checked".to_string(),
                },
            })
            .collect();
        if self.listing == Listing::Git {
            let untracked = run_git(
                &self.root,
                &[
                    "ls-files",
                    "-z",
                    "--others",
                    "--exclude-standard",
                    "--",
                    ".",
                ],
                &[],
            )?;
            skipped.extend(
                untracked
                    .into_iter()
                    .filter(|path| is_yaml_name(file_name(path)))
                    .map(|path| Skipped {
                        path,
                        reason:
                            "not read: git does not track it, so Flux never sees it (git add it)"
                                .to_string(),
                    }),
            );
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(skipped)
    }

    /// Reads every file in parallel and calls `process(relative_path, bytes)` for
    /// those the include/exclude globs admit; results come back sorted by path, whatever the
    /// thread count.
    pub fn read<T, F>(&self, options: &WalkOptions, process: F) -> (Vec<T>, Vec<ReadError>)
    where
        T: Send,
        F: Fn(String, Vec<u8>) -> Option<T> + Sync,
    {
        let wanted: Vec<usize> = (0..self.paths.len())
            .filter(|&index| {
                let path = self.paths.get(index);
                is_yaml_name(file_name(path))
                    && (options.include.is_empty() || options.include.is_match(path))
                    && !options.exclude.is_match(path)
            })
            .collect();
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Result<T, ReadError>>>> =
            wanted.iter().map(|_| Mutex::new(None)).collect();
        let regular: Vec<AtomicBool> = self.paths.iter().map(|_| AtomicBool::new(false)).collect();
        std::thread::scope(|scope| {
            for _ in 0..options.jobs.clamp(1, wanted.len().max(1)) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&path_index) = wanted.get(index) else {
                        break;
                    };
                    let path = self.paths.get(path_index);
                    let disk_path = self.root.join(path);
                    let read = match &self.contents {
                        Some(Contents(contents)) => {
                            in_memory(contents, path, options.max_file_size)
                        }
                        None => read_regular_file(&disk_path, options.max_file_size),
                    };
                    if matches!(read, Ok(Some(_))) {
                        regular[path_index].store(true, Ordering::Relaxed);
                    }
                    let outcome = read
                        .map_err(|message| ReadError {
                            path: path.to_string(),
                            message,
                        })
                        .map(|bytes| bytes.and_then(|b| process(path.to_string(), b)));
                    *slots[index].lock().unwrap() = outcome.transpose();
                });
            }
        });
        // Read once per run; a second read would find the same files.
        let _ = self
            .read_as_regular
            .set(regular.into_iter().map(AtomicBool::into_inner).collect());
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for slot in slots {
            match slot.into_inner().unwrap() {
                Some(Ok(result)) => results.push(result),
                Some(Err(error)) => errors.push(error),
                None => {}
            }
        }
        (results, errors)
    }
}

/// A regular file's bytes within `limit`; `None` for a symlink (never followed: Flux does not
/// follow them either, and a link could point out of the repository), a directory, or a tracked
/// file deleted from the work tree. A special file (FIFO, device) or a larger file is an error,
/// refused before it is read.
fn read_regular_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, String> {
    crate::limits::read_listed_file(path, limit).map_err(|error| error.to_string())
}

/// A commit's file within `limit`, as [`read_regular_file`] reads one from disk.
fn in_memory(
    contents: &BTreeMap<String, Vec<u8>>,
    path: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, String> {
    match contents.get(path) {
        Some(bytes) if bytes.len() as u64 > limit => Err(crate::limits::ReadFileError::TooLarge {
            size: bytes.len() as u64,
            limit,
        }
        .to_string()),
        found => Ok(found.cloned()),
    }
}

/// Whether `--push` needs this file of the base commit (`top_relative`): a YAML file under the
/// root (`top_prefix`), or a `.sourceignore` that applies there.
pub fn wanted_in_commit(top_prefix: &str, top_relative: &str) -> bool {
    let (dir, name) = top_relative.rsplit_once('/').unwrap_or(("", top_relative));
    let under_root = lies_under(top_relative, top_prefix);
    if name == sourceignore::FILE_NAME {
        return under_root || ancestor_dirs(top_prefix).any(|ancestor| ancestor == dir);
    }
    under_root && is_yaml_name(name)
}

/// The directories above `prefix` (top-relative), the top (`""`) first.
fn ancestor_dirs(prefix: &str) -> impl Iterator<Item = String> + '_ {
    let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    (0..parts.len()).map(move |depth| parts[..depth].join("/"))
}

fn ignore_file_in(dir: &str) -> String {
    match dir {
        "" => sourceignore::FILE_NAME.to_string(),
        dir => format!("{dir}/{}", sourceignore::FILE_NAME),
    }
}

/// The NUL-separated paths git prints; paths that are not UTF-8 are left out (nothing can name
/// them in a report).
fn run_git(dir: &Path, args: &[&str], pathspecs: &[String]) -> Result<Vec<String>, ListError> {
    let failed = |why: String| {
        ListError(format!(
            "cannot list the files git tracks in {}: {why}",
            dir.display()
        ))
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("--literal-pathspecs")
        .args(args)
        .args(pathspecs)
        .output()
        .map_err(|error| failed(format!("git: {error}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(stderr.trim().to_string()));
    }
    Ok(output
        .stdout
        .split(|&b| b == 0)
        .filter(|path| !path.is_empty())
        .filter_map(|path| String::from_utf8(path.to_vec()).ok())
        .collect())
}

/// The repository root for a directory: the nearest ancestor holding `.git`, else `None`.
pub fn git_toplevel(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// A sorted set of root-relative paths in one buffer: a repository's listing and its YAML files
/// are kept until the run ends, and as a `String` each (the YAML files in a `BTreeSet` too) they
/// held 4.3 MB more of a 50,000-file check's peak, a fifth of it malloc's own overhead.
#[derive(Debug, Clone, Default)]
pub struct PathSet {
    /// The paths one after the other, in order.
    text: String,
    /// Where each path starts in `text`, then where the last one ends (empty for no path).
    bounds: Vec<usize>,
}

impl PathSet {
    /// The set of `paths`, in any order, repeats counted once.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> PathSet {
        let mut paths: Vec<&str> = paths.into_iter().collect();
        paths.sort_unstable();
        paths.dedup();
        let mut set = PathSet {
            text: String::with_capacity(paths.iter().map(|path| path.len()).sum()),
            bounds: Vec::with_capacity(paths.len() + 1),
        };
        set.bounds.push(0);
        for path in paths {
            set.text.push_str(path);
            set.bounds.push(set.text.len());
        }
        set
    }

    pub fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`th path in order.
    pub fn get(&self, index: usize) -> &str {
        &self.text[self.bounds[index]..self.bounds[index + 1]]
    }

    /// The index of the first path for which `before` no longer holds (it holds for a run of
    /// paths from the first). Paths are seen as bytes, which order as the strings do, without
    /// the check that each slice falls on character boundaries: the render looks up every
    /// resource it reads.
    fn partition_point(&self, before: impl Fn(&[u8]) -> bool) -> usize {
        let text = self.text.as_bytes();
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if before(&text[self.bounds[middle]..self.bounds[middle + 1]]) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// The index of the first path not before `path`.
    fn first_from(&self, path: &str) -> usize {
        self.partition_point(|listed| listed < path.as_bytes())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index))
    }

    /// Where `path` is in the order, if the set holds it.
    pub fn index_of(&self, path: &str) -> Option<usize> {
        let index = self.first_from(path);
        (index < self.len() && self.get(index) == path).then_some(index)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.index_of(path).is_some()
    }

    /// The paths that start with `prefix` (a folder's, `/` included; `""` for all), in order.
    pub fn starting_with<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = &'s str> {
        self.indices_starting_with(prefix)
            .map(|index| self.get(index))
    }

    /// Where the paths that start with `prefix` are in the order: they follow those before it.
    fn indices_starting_with(&self, prefix: &str) -> std::ops::Range<usize> {
        let bytes = prefix.as_bytes();
        let end = self.partition_point(|listed| listed < bytes || listed.starts_with(bytes));
        self.first_from(prefix)..end
    }
}

/// Some of a listing's paths (the YAML files kustomize-controller receives), as a flag for each
/// listed path rather than a copy of each (2.5 MB at 50,000 files), and the few paths beyond
/// the listing (a file the checkout lacks that a baseline of `impact` has).
#[derive(Debug, Default)]
pub struct ListedPaths {
    listed: Vec<bool>,
    beyond: PathSet,
}

impl ListedPaths {
    pub fn new<'a>(listing: &FileSet, paths: impl IntoIterator<Item = &'a str>) -> ListedPaths {
        let mut paths: Vec<&str> = paths.into_iter().collect();
        paths.sort_unstable();
        let mut listed = vec![false; listing.paths.len()];
        let mut beyond = Vec::new();
        // Both in order: one walk through the listing, not a search for each path.
        let mut next = 0;
        for path in paths {
            while next < listing.paths.len() && listing.paths.get(next) < path {
                next += 1;
            }
            if next < listing.paths.len() && listing.paths.get(next) == path {
                listed[next] = true;
            } else {
                beyond.push(path);
            }
        }
        ListedPaths {
            listed,
            beyond: PathSet::new(beyond),
        }
    }

    pub fn contains(&self, listing: &FileSet, path: &str) -> bool {
        listing
            .paths
            .index_of(path)
            .is_some_and(|index| self.listed.get(index) == Some(&true))
            || self.beyond.contains(path)
    }

    /// Every path, in order.
    pub fn iter<'s>(&'s self, listing: &'s FileSet) -> impl Iterator<Item = &'s str> {
        self.starting_with(listing, "")
    }

    /// The paths that start with `prefix` (a folder's, `/` included; `""` for all), in order.
    pub fn starting_with<'s>(
        &'s self,
        listing: &'s FileSet,
        prefix: &'s str,
    ) -> impl Iterator<Item = &'s str> {
        let mut listed = listing
            .paths
            .indices_starting_with(prefix)
            .filter(|&index| self.listed.get(index) == Some(&true))
            .map(|index| listing.paths.get(index))
            .peekable();
        let mut beyond = self.beyond.starting_with(prefix).peekable();
        std::iter::from_fn(move || match (listed.peek(), beyond.peek()) {
            (Some(a), Some(b)) if b < a => beyond.next(),
            (Some(_), _) => listed.next(),
            (None, _) => beyond.next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_set_answers_as_an_ordered_set_of_strings() {
        let paths = [
            "b/x.yaml",
            "a.yaml",
            "b/y.yaml",
            "b/x.yaml",
            "bb/z.yaml",
            "b.yaml",
            "",
            "c/d/e.yaml",
        ];
        let set = PathSet::new(paths);
        let ordered: std::collections::BTreeSet<&str> = paths.into_iter().collect();
        assert!(set.iter().eq(ordered.iter().copied()));
        for probe in paths.iter().chain(&["b", "b/", "a", "zzz", "b/x", "0"]) {
            assert_eq!(set.contains(probe), ordered.contains(probe), "{probe:?}");
            let expected: Vec<&str> = ordered
                .range(*probe..)
                .take_while(|path| path.starts_with(probe))
                .copied()
                .collect();
            assert_eq!(
                set.starting_with(probe).collect::<Vec<_>>(),
                expected,
                "{probe:?}"
            );
        }
        assert_eq!(PathSet::default().starting_with("").count(), 0);
    }

    #[test]
    fn listed_paths_merge_the_listing_s_flags_with_the_paths_beyond_it_in_order() {
        let listing = ["a/x.yaml", "a/y.yaml", "b/z.yaml", "c.yaml"].map(str::to_string);
        let listing = FileSet::new(
            Path::new("/r"),
            listing.to_vec(),
            Listing::Tree,
            Vec::new(),
            String::new(),
        );
        let paths = ListedPaths::new(&listing, ["c.yaml", "a/w.yaml", "a/y.yaml", "b/z.yaml"]);
        assert_eq!(
            paths.iter(&listing).collect::<Vec<_>>(),
            ["a/w.yaml", "a/y.yaml", "b/z.yaml", "c.yaml"]
        );
        assert_eq!(
            paths.starting_with(&listing, "a/").collect::<Vec<_>>(),
            ["a/w.yaml", "a/y.yaml"]
        );
        let contains = |path| paths.contains(&listing, path);
        assert!(contains("a/w.yaml") && contains("c.yaml") && !contains("a/x.yaml"));
        assert_eq!(ListedPaths::default().iter(&listing).count(), 0);
    }

    #[test]
    fn relative_paths_are_what_the_components_make_of_them() {
        for (root, path) in [
            ("/r/repo", "/r/repo/apps/a.yaml"),
            ("/r/repo/", "/r/repo/apps/a.yaml"),
            ("/r/repo", "/r/repo"),
            ("/r/repo", "/r/repository/a.yaml"),
            ("/r/repo", "/r/repo//apps/./a.yaml"),
            ("/r/repo", "/r/repo/apps/"),
            ("./repo", "./repo/a.yaml"),
            ("repo/.", "repo/./a.yaml"),
            ("/r/repo", "/elsewhere/a.yaml"),
            ("/r/repo", "/r/repo/../x.yaml"),
        ] {
            let (root, path) = (Path::new(root), Path::new(path));
            assert_eq!(
                relative_path(root, path),
                relative_by_components(root, path),
                "{root:?} {path:?}"
            );
        }
    }

    #[test]
    fn a_commit_is_read_from_memory_and_answers_what_its_paths_name() {
        let scratch = tempfile::tempdir().unwrap();
        let files = [
            ("repo/.flux-image-lint.yaml", "rules: {}\n"),
            ("repo/apps/a.yaml", "a: 1\n"),
            ("repo/apps/sub/b.yaml", "b: 2\n"),
            ("repo/apps-old.yaml", "c: 3\n"),
            ("elsewhere/d.yaml", "d: 4\n"),
        ]
        .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()));
        let is_config = |path: &str| path == ".flux-image-lint.yaml";
        let set = FileSet::from_commit(scratch.path(), "repo", files.to_vec(), is_config).unwrap();
        assert_eq!(
            set.paths.iter().collect::<Vec<_>>(),
            [
                ".flux-image-lint.yaml",
                "apps-old.yaml",
                "apps/a.yaml",
                "apps/sub/b.yaml"
            ]
        );
        // Only the config is on disk.
        let on_disk: Vec<String> = std::fs::read_dir(scratch.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(on_disk, [".flux-image-lint.yaml"]);
        for (path, kind) in [
            ("", PathKind::Dir),
            ("apps", PathKind::Dir),
            ("apps/", PathKind::Dir),
            ("apps/sub", PathKind::Dir),
            ("apps/a.yaml", PathKind::File),
            ("app", PathKind::Missing),
            ("apps/a", PathKind::Missing),
            ("d.yaml", PathKind::Missing),
        ] {
            assert_eq!(set.kind_of(path), kind, "{path}");
        }
        assert_eq!(
            set.read_file("apps/sub/b.yaml", 100),
            Some(b"b: 2\n".to_vec())
        );
        assert_eq!(set.read_file("apps/sub/b.yaml", 2), None, "over the limit");
        let options = WalkOptions {
            jobs: 2,
            include: &GlobSet::empty(),
            exclude: &GlobSet::empty(),
            max_file_size: 5,
        };
        let (read, errors) = set.read(&options, |path, bytes| Some((path, bytes)));
        assert_eq!(read.len(), 3, "{read:?}");
        assert_eq!(read[1], ("apps/a.yaml".to_string(), b"a: 1\n".to_vec()));
        assert_eq!(errors.len(), 1, "the config is over the limit: {errors:?}");
        set.materialize().unwrap();
        assert_eq!(
            std::fs::read(scratch.path().join("apps/sub/b.yaml")).unwrap(),
            b"b: 2\n"
        );
    }

    #[test]
    fn what_a_path_names_after_the_walk_follows_symlinks_as_kustomize_does() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path();
        std::fs::create_dir(root.join("dir")).unwrap();
        std::fs::write(root.join("a.yaml"), "a: 1\n").unwrap();
        std::fs::write(root.join("dir/x.yaml"), "x: 1\n").unwrap();
        std::os::unix::fs::symlink("dir", root.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink("a.yaml", root.join("file-link.yaml")).unwrap();
        // git lists a tracked symlink as a file of its own.
        let paths = ["a.yaml", "dir/x.yaml", "file-link.yaml", "link.yaml"].map(String::from);
        let set = FileSet::new(
            root,
            paths.to_vec(),
            Listing::Git,
            Vec::new(),
            String::new(),
        );
        let options = WalkOptions {
            jobs: 2,
            include: &GlobSet::empty(),
            exclude: &GlobSet::empty(),
            max_file_size: 1024,
        };
        let (read, errors) = set.read(&options, |path, _| Some(path));
        assert_eq!(read, ["a.yaml", "dir/x.yaml"], "symlinks are never read");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.kind_of("a.yaml"), PathKind::File);
        assert_eq!(set.kind_of("link.yaml"), PathKind::Dir);
        assert_eq!(set.kind_of("file-link.yaml"), PathKind::File);
        assert_eq!(set.kind_of("dir"), PathKind::Dir);
        assert_eq!(set.kind_of("missing.yaml"), PathKind::Missing);
    }
}
