//! Build the weekly review-branch commit without touching the working tree, and push it.
//!
//! # Model
//! The review branch (default `image-updates/{iso_year}-w{iso_week}`) is always exactly
//! **one commit on top of the base's tip**, holding all of this run's file updates. Unlike
//! Flux's image-update automation, which stacks commits on an existing push branch and drifts
//! behind the base (iac#450), each run rebuilds the commit from the base:
//!
//! * the new tree is the base commit's tree with the rewritten blobs (file modes kept); no
//!   checkout, the working tree, index, HEAD and local branches are never touched;
//! * if the new tree equals the base tree: [`PublishOutcome::NothingToCommit`], nothing is read
//!   from or sent to the remote;
//! * the remote tip is learnt with `git ls-remote` and, if its objects are missing locally,
//!   `git fetch` of that one branch **without writing any ref** (no `FETCH_HEAD`, no
//!   remote-tracking ref);
//! * if the remote branch already is one commit on the base tip with the same tree:
//!   [`PublishOutcome::UpToDate`], nothing is pushed;
//! * otherwise, when every commit on the remote branch beyond the base carries the
//!   [`TRAILER`] (or `force` is set), a new commit is written to the object database and pushed
//!   by id with `git push --force-with-lease=refs/heads/<branch>:<tip seen>` (empty expected
//!   value when the branch did not exist). A failed push therefore leaves no local ref behind.
//!
//! Everything runs the system `git` through the one runner in `cli` (plumbing for the commit,
//! `push` for the remote), so credential helpers and SSH config apply. Credentials in remote URLs
//! are redacted from every message.

mod cli;
mod error;
pub mod staged;
mod week;

use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cli::{GitCli, Input};

pub use crate::redact::redact;
pub use error::GitError;
pub use week::{weekly_branch_name, DEFAULT_BRANCH_TEMPLATE, PLACEHOLDERS};

/// The trailer that marks commits made by this tool; a remote review branch is only replaced
/// when every commit on it beyond the base carries it.
pub const TRAILER: &str = "Generated-by: flux-image-lint";

/// How many foreign commits an error message lists at most.
const MAX_LISTED_COMMITS: usize = 10;

/// The longest a local git command may take when no `--git-timeout` applies.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(300);

/// The most a listing of the base tree or of the remote branch's commits may print.
const MAX_LISTING: u64 = 256 * 1024 * 1024;

/// Repository-relative paths (with `/`) and file contents.
pub type Files = Vec<(String, Vec<u8>)>;

/// A commit author or committer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// What to publish, and where. Its `Debug` output redacts the remote and omits file contents.
#[derive(Clone)]
pub struct PublishRequest<'a> {
    /// Any directory inside the work tree (or the git directory of a bare repository).
    pub repo: &'a Path,
    /// Base branch (or other local ref); `None` = the current branch (error on detached HEAD).
    pub base: Option<&'a str>,
    /// Review branch, e.g. `image-updates/2026-w48`.
    pub branch: &'a str,
    /// Remote name (`origin`, `forgejo`) or URL/path of a repository.
    pub remote: &'a str,
    /// Repository-relative paths (with `/`) and their new content. Each must exist in the base.
    pub files: &'a [(String, Vec<u8>)],
    /// Commit message from the caller; the [`TRAILER`] (and `Signed-off-by:`) is appended.
    pub message: &'a str,
    /// Explicit author; else `GIT_AUTHOR_*`, `author.*`, `user.*` as git does, else the committer.
    pub author: Option<Identity>,
    /// Explicit committer; else `GIT_COMMITTER_*`, `committer.*`, `user.*`, else the author.
    pub committer: Option<Identity>,
    /// Add `Signed-off-by: <committer>`.
    pub signoff: bool,
    /// Replace the remote branch even if it holds commits not made by this tool.
    pub force: bool,
    /// The longest each `git ls-remote`, `fetch` or `push` may take before it is killed.
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for PublishRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("repo", &self.repo)
            .field("base", &self.base)
            .field("branch", &self.branch)
            .field("remote", &redact(self.remote))
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(path, content)| format!("{path} ({} bytes)", content.len()))
                    .collect::<Vec<_>>(),
            )
            .field("message", &self.message)
            .field("author", &self.author)
            .field("committer", &self.committer)
            .field("signoff", &self.signoff)
            .field("force", &self.force)
            .finish()
    }
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The commit was pushed; `replaced` is the previous remote tip, if the branch existed.
    Pushed {
        branch: String,
        commit: String,
        replaced: Option<String>,
    },
    /// The remote branch already is one commit on the base tip with exactly this content.
    UpToDate { branch: String, commit: String },
    /// The files are identical to the base: no commit, nothing pushed.
    NothingToCommit,
}

/// The git top-level directory (root of the work tree) containing `dir`.
pub fn toplevel(dir: &Path) -> Option<PathBuf> {
    let top = GitCli::in_dir(dir, LOCAL_TIMEOUT).line(&["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(top);
    Some(std::fs::canonicalize(&top).unwrap_or(top))
}

/// The current branch's short name (`None` on a detached HEAD or outside a repository).
pub fn current_branch(dir: &Path) -> Option<String> {
    GitCli::in_dir(dir, LOCAL_TIMEOUT).line(&["symbolic-ref", "--quiet", "--short", "HEAD"])
}

/// A remote's URL as configured (`remote.<name>.url`, before any `insteadOf` rewrite: the forge's
/// address, which a pull request needs); a remote given as a URL or path is its own URL.
pub fn remote_url(dir: &Path, remote: &str) -> Option<String> {
    if remote.contains(['/', ':']) {
        return Some(remote.to_string());
    }
    let key = format!("remote.{remote}.url");
    GitCli::in_dir(dir, LOCAL_TIMEOUT).line(&["config", "--get", &key])
}

/// Whether the repository's ignore rules (`.gitignore` and the like) leave out `path`, relative
/// to `dir`, whether the file exists or not.
pub fn ignores(dir: &Path, path: &str) -> bool {
    GitCli::in_dir(dir, LOCAL_TIMEOUT)
        .line(&["check-ignore", "--no-index", "--", path])
        .is_some()
}

/// The URL of every remote (`remote.<name>.url`, as configured); none outside a repository.
pub fn remote_urls(dir: &Path) -> Vec<String> {
    let lines = GitCli::in_dir(dir, LOCAL_TIMEOUT)
        .lines(&["config", "--get-regexp", r"^remote\..*\.url$"])
        .unwrap_or_default();
    lines
        .iter()
        .filter_map(|line| line.split_once(' ').map(|(_, url)| url.to_string()))
        .collect()
}

/// Every regular file (executable or not; no symlinks or submodules) of the base commit's
/// tree whose repository-relative path the filter accepts, with its content, sorted by path.
/// Returns the base commit id with them, so callers compute rewrites from committed content.
pub fn read_base_files(
    repo: &Path,
    base: Option<&str>,
    paths_filter: impl Fn(&str) -> bool,
) -> Result<(String, Files), GitError> {
    let git = open(repo, LOCAL_TIMEOUT)?;
    let base = resolve_base(&git, base)?;
    let wanted: Vec<TreeEntry> = tree_entries(&git, &base.id)?
        .into_iter()
        .filter(|entry| entry.is_file() && paths_filter(&entry.path))
        .collect();
    let contents = read_blobs(&git, &wanted)?;
    let mut files: Files = wanted
        .into_iter()
        .map(|entry| entry.path)
        .zip(contents)
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((base.id, files))
}

/// Build the one-commit review branch on top of the base and push it (see the module docs).
pub fn publish(request: &PublishRequest) -> Result<PublishOutcome, GitError> {
    validate_remote(request.remote)?;
    validate_branch(request.branch)?;
    let git = open(request.repo, request.timeout)?;
    let base = resolve_base(&git, request.base)?;
    if base.ref_name.as_deref() == Some(&format!("refs/heads/{}", request.branch)) {
        return Err(GitError::BranchIsBase {
            branch: request.branch.to_string(),
        });
    }
    let (author, committer) = identities(&git, request)?;

    let base_commit = read_commit(&git, &base.id)?;
    let tree = build_tree(&git, &base, request.files)?;
    if tree == base_commit.tree {
        return Ok(PublishOutcome::NothingToCommit);
    }

    let remote_tip = git.remote_branch_tip(request.remote, request.branch)?;
    if let Some(tip) = &remote_tip {
        if !is_object_id(tip) {
            return Err(GitError::Repository {
                context: "reading the remote branch tip".into(),
                detail: format!("`{}` is not an object id", redact(tip)),
            });
        }
        if !has_commit(&git, tip)? {
            git.fetch_objects(request.remote, request.branch)?;
            if !has_commit(&git, tip)? {
                return Err(GitError::RemoteMoved {
                    remote: redact(request.remote),
                    branch: request.branch.to_string(),
                });
            }
        }
        let tip_commit = read_commit(&git, tip)?;
        if tip_commit.tree == tree && tip_commit.parents == [base.id.clone()] {
            return Ok(PublishOutcome::UpToDate {
                branch: request.branch.to_string(),
                commit: tip.clone(),
            });
        }
        if !request.force {
            let foreign = foreign_commits(&git, tip, &base.id)?;
            if !foreign.is_empty() {
                return Err(GitError::ForeignCommits {
                    branch: request.branch.to_string(),
                    remote: redact(request.remote),
                    commits: foreign,
                });
            }
        }
    }

    let message = compose_message(request.message, request.signoff.then_some(&committer));
    let commit_id = write_commit(&git, &tree, &base.id, &message, &author, &committer)?;
    git.push(
        request.remote,
        &commit_id,
        request.branch,
        remote_tip.as_deref(),
    )?;
    Ok(PublishOutcome::Pushed {
        branch: request.branch.to_string(),
        commit: commit_id,
        replaced: remote_tip,
    })
}

/// Whether a commit message carries the [`TRAILER`] in its final paragraph.
pub fn has_trailer(message: &[u8]) -> bool {
    let text = String::from_utf8_lossy(message);
    let text = text.trim_end();
    let last = text.rsplit("\n\n").next().unwrap_or("");
    last.lines().any(|line| line.trim() == TRAILER)
}

/// The caller's message, then a trailer block with `Signed-off-by:` (if asked) and [`TRAILER`].
fn compose_message(message: &str, signoff: Option<&Identity>) -> String {
    let body = message.trim_end();
    let body = if body.trim().is_empty() {
        "chore(images): update images"
    } else {
        body
    };
    let mut trailers = Vec::new();
    if let Some(sig) = signoff {
        trailers.push(format!("Signed-off-by: {} <{}>", sig.name, sig.email));
    }
    trailers.push(TRAILER.to_string());

    // Append to an existing trailer block (a final paragraph, not the subject, made only of
    // `Token: value` lines) instead of starting a second one.
    let (head, last) = match body.rsplit_once("\n\n") {
        Some((head, last)) => (Some(head), last),
        None => (None, body),
    };
    let in_block = head.is_some() && last.lines().all(is_trailer_line);
    let mut out = body.to_string();
    out.push_str(if in_block { "\n" } else { "\n\n" });
    let existing: BTreeSet<&str> = if in_block {
        last.lines().map(str::trim).collect()
    } else {
        BTreeSet::new()
    };
    let new: Vec<&str> = trailers
        .iter()
        .map(String::as_str)
        .filter(|t| !existing.contains(t))
        .collect();
    if new.is_empty() {
        out.truncate(body.len());
    } else {
        out.push_str(&new.join("\n"));
    }
    out.push('\n');
    out
}

fn is_trailer_line(line: &str) -> bool {
    match line.split_once(": ") {
        Some((token, _)) => {
            !token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        None => false,
    }
}

struct Base {
    /// The commit id, in hex.
    id: String,
    /// Full ref name, when the base is a ref.
    ref_name: Option<String>,
    /// How to name the base in messages.
    display: String,
}

/// The repository holding `dir` (a work tree or the git directory of a bare repository).
fn open(dir: &Path, timeout: Duration) -> Result<GitCli, GitError> {
    let finder = GitCli::in_dir(dir, timeout);
    let out = finder.local_status(
        "finding the repository",
        &["rev-parse", "--absolute-git-dir"],
        Input::default(),
    )?;
    let git_dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || git_dir.is_empty() {
        return Err(GitError::NotARepository {
            path: dir.to_path_buf(),
            detail: cli::output_text(&out),
        });
    }
    let git_dir = PathBuf::from(git_dir);
    let cwd = toplevel(dir).unwrap_or_else(|| git_dir.clone());
    Ok(GitCli::new(&git_dir, &cwd, timeout))
}

fn resolve_base(git: &GitCli, base: Option<&str>) -> Result<Base, GitError> {
    let commit_of = |rev: &str| {
        git.line(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
    };
    match base {
        None => {
            let ref_name = git
                .line(&["symbolic-ref", "--quiet", "HEAD"])
                .ok_or(GitError::DetachedHead)?;
            let display = ref_name
                .strip_prefix("refs/heads/")
                .unwrap_or(&ref_name)
                .to_string();
            let id = commit_of(&ref_name).ok_or_else(|| GitError::UnbornBranch {
                branch: display.clone(),
            })?;
            Ok(Base {
                id,
                ref_name: Some(ref_name),
                display,
            })
        }
        Some(name) => {
            let not_found = || GitError::BaseNotFound {
                base: name.to_string(),
            };
            if name.trim().is_empty() || name.starts_with('-') {
                return Err(not_found());
            }
            let id = commit_of(name).ok_or_else(not_found)?;
            // Empty for a commit id: a base that is no ref.
            let ref_name = git.line(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--symbolic-full-name",
                name,
            ]);
            Ok(Base {
                id,
                ref_name,
                display: name.to_string(),
            })
        }
    }
}

/// Whether `branch` is a valid branch name: git's `check-ref-format` rules for
/// `refs/heads/<branch>`, and no `-` at the start.
pub(crate) fn validate_branch(branch: &str) -> Result<(), GitError> {
    let invalid = |reason: &str| GitError::InvalidBranchName {
        branch: branch.to_string(),
        reason: reason.to_string(),
    };
    if branch.is_empty() {
        return Err(invalid("empty"));
    }
    if branch.starts_with('-') {
        return Err(invalid("starts with `-`"));
    }
    if branch.starts_with("refs/") {
        return Err(invalid("give the short branch name, without `refs/heads/`"));
    }
    if branch == "HEAD" || branch == "@" || branch.contains("@{") {
        return Err(invalid("reserved name"));
    }
    if let Some(c) = branch.chars().find(|&c| {
        c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return Err(invalid(&format!("contains {c:?}")));
    }
    if branch.contains("..") {
        return Err(invalid("contains `..`"));
    }
    if branch.ends_with('.') {
        return Err(invalid("ends with `.`"));
    }
    for component in branch.split('/') {
        if component.is_empty() {
            return Err(invalid(
                "has an empty part (a leading, trailing or double `/`)",
            ));
        }
        if component.starts_with('.') {
            return Err(invalid("a part starts with `.`"));
        }
        if component.ends_with(".lock") {
            return Err(invalid("a part ends with `.lock`"));
        }
    }
    Ok(())
}

fn validate_remote(remote: &str) -> Result<(), GitError> {
    if remote.trim().is_empty() || remote.starts_with('-') || remote.contains('\n') {
        return Err(GitError::InvalidRemote {
            remote: redact(remote),
        });
    }
    Ok(())
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One entry of a tree listing.
struct TreeEntry {
    mode: String,
    kind: String,
    id: String,
    size: u64,
    path: String,
}

impl TreeEntry {
    /// A file whose content can be read and rewritten: a blob that is no symbolic link.
    fn is_file(&self) -> bool {
        self.kind == "blob" && self.mode != "120000"
    }
}

/// Every entry of a commit's tree, folders included; paths that are not UTF-8 are left out
/// (nothing can name them).
fn tree_entries(git: &GitCli, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
    let listing = git.local(
        "listing the base tree",
        &["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit],
        Input {
            max_output: MAX_LISTING,
            ..Input::default()
        },
    )?;
    let malformed = || unexpected_output("listing the base tree", "ls-tree");
    let mut entries = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = record
            .iter()
            .position(|&b| b == b'\t')
            .ok_or_else(malformed)?;
        let Ok(path) = std::str::from_utf8(&record[tab + 1..]) else {
            continue;
        };
        let head = String::from_utf8_lossy(&record[..tab]);
        let [mode, kind, id, size] = head.split_whitespace().collect::<Vec<_>>()[..] else {
            return Err(malformed());
        };
        entries.push(TreeEntry {
            mode: mode.to_string(),
            kind: kind.to_string(),
            id: id.to_string(),
            size: size.parse().unwrap_or(0),
            path: path.to_string(),
        });
    }
    Ok(entries)
}

/// The contents of these blobs, in order: one `git cat-file --batch`.
fn read_blobs(git: &GitCli, entries: &[TreeEntry]) -> Result<Vec<Vec<u8>>, GitError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let requests: String = entries.iter().map(|e| format!("{}\n", e.id)).collect();
    let expected: u64 = entries.iter().map(|e| e.size + 100).sum();
    let out = git.local(
        "reading the base files",
        &["cat-file", "--batch"],
        Input {
            stdin: requests.into_bytes(),
            max_output: expected,
            ..Input::default()
        },
    )?;
    let malformed = || unexpected_output("reading the base files", "cat-file");
    let mut rest = out.as_slice();
    let mut contents = Vec::with_capacity(entries.len());
    for _ in entries {
        // `<id> blob <size>` then the content and a newline.
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(malformed)?;
        let header = String::from_utf8_lossy(&rest[..newline]);
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|size| size.parse().ok())
            .filter(|_| header.split(' ').nth(1) == Some("blob"))
            .ok_or_else(malformed)?;
        let body = rest
            .get(newline + 1..newline + 1 + size)
            .ok_or_else(malformed)?;
        contents.push(body.to_vec());
        rest = rest.get(newline + 2 + size..).unwrap_or_default();
    }
    Ok(contents)
}

/// A commit's tree and parents.
struct CommitHeader {
    tree: String,
    parents: Vec<String>,
}

fn read_commit(git: &GitCli, id: &str) -> Result<CommitHeader, GitError> {
    let raw = git.local(
        "reading a commit",
        &["cat-file", "commit", id],
        Input::default(),
    )?;
    let text = String::from_utf8_lossy(&raw);
    let mut header = CommitHeader {
        tree: String::new(),
        parents: Vec::new(),
    };
    for line in text.lines().take_while(|line| !line.is_empty()) {
        if let Some(tree) = line.strip_prefix("tree ") {
            header.tree = tree.to_string();
        } else if let Some(parent) = line.strip_prefix("parent ") {
            header.parents.push(parent.to_string());
        }
    }
    Ok(header)
}

/// Whether the object database holds the commit (never fetched on demand).
fn has_commit(git: &GitCli, id: &str) -> Result<bool, GitError> {
    let out = git.local_status(
        "looking up the remote branch tip",
        &["cat-file", "-e", &format!("{id}^{{commit}}")],
        Input {
            env: vec![("GIT_NO_LAZY_FETCH", "1".into())],
            ..Input::default()
        },
    )?;
    Ok(out.status.success())
}

/// The base tree with each file's blob replaced, keeping its mode: new blobs written with one
/// `fast-import`, the tree made in a temporary index (`read-tree`, `update-index`,
/// `write-tree`), so the repository's own index is never touched.
fn build_tree(git: &GitCli, base: &Base, files: &[(String, Vec<u8>)]) -> Result<String, GitError> {
    let mut seen = BTreeSet::new();
    for (path, _) in files {
        let invalid = |reason: &str| GitError::InvalidPath {
            path: path.clone(),
            reason: reason.to_string(),
        };
        if path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path.contains('\0')
            || path.contains('\n')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(invalid("not a clean relative path"));
        }
        if !seen.insert(path.as_str()) {
            return Err(invalid("listed more than once"));
        }
    }
    let entries = tree_entries(git, &base.id)?;
    let by_path: HashMap<&str, &TreeEntry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut modes = Vec::with_capacity(files.len());
    for (path, _) in files {
        let entry = by_path
            .get(path.as_str())
            .ok_or_else(|| GitError::PathNotInBase {
                path: path.clone(),
                base: base.display.clone(),
            })?;
        let kind = match (entry.kind.as_str(), entry.mode.as_str()) {
            ("blob", "120000") => "symbolic link",
            ("blob", _) => {
                modes.push(entry.mode.as_str());
                continue;
            }
            ("tree", _) => "directory",
            _ => "submodule",
        };
        return Err(GitError::NotAFile {
            path: path.clone(),
            kind: kind.into(),
        });
    }
    let blobs = write_blobs(git, files)?;
    let scratch = tempfile::tempdir().map_err(io_error("making a temporary index"))?;
    let index: OsString = scratch.path().join("index").into();
    // A fresh index of the repository's own settings would write shared or untracked-cache
    // files beside it, or start a file-system monitor.
    let in_index = |stdin: Vec<u8>| Input {
        stdin,
        env: vec![("GIT_INDEX_FILE", index.clone())],
        ..Input::default()
    };
    let plain_index = [
        "-c",
        "core.splitIndex=false",
        "-c",
        "core.untrackedCache=false",
        "-c",
        "core.fsmonitor=false",
    ];
    let base_tree = format!("{}^{{tree}}", base.id);
    git.local(
        "editing the base tree",
        &[&plain_index[..], &["read-tree", &base_tree]].concat(),
        in_index(Vec::new()),
    )?;
    let info: Vec<u8> = files
        .iter()
        .zip(&modes)
        .zip(&blobs)
        .flat_map(|(((path, _), mode), blob)| format!("{mode} {blob}\t{path}\0").into_bytes())
        .collect();
    git.local(
        "editing the base tree",
        &[&plain_index[..], &["update-index", "-z", "--index-info"]].concat(),
        in_index(info),
    )?;
    let tree = git.local(
        "writing the tree",
        &[&plain_index[..], &["write-tree"]].concat(),
        in_index(Vec::new()),
    )?;
    Ok(String::from_utf8_lossy(&tree).trim().to_string())
}

/// Writes each content as a blob (exactly these bytes) and returns their ids: one
/// `fast-import`, which packs them, and nothing written anywhere else.
fn write_blobs(git: &GitCli, files: &[(String, Vec<u8>)]) -> Result<Vec<String>, GitError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let mut stream = b"feature get-mark\n".to_vec();
    for (i, (_, content)) in files.iter().enumerate() {
        stream.extend(format!("blob\nmark :{}\ndata {}\n", i + 1, content.len()).bytes());
        stream.extend(content);
        stream.push(b'\n');
    }
    for i in 1..=files.len() {
        stream.extend(format!("get-mark :{i}\n").bytes());
    }
    let ids = git.local(
        "writing the new files' blobs",
        &["fast-import", "--quiet"],
        Input {
            stdin: stream,
            max_output: 100 * files.len() as u64,
            ..Input::default()
        },
    )?;
    let ids: Vec<String> = String::from_utf8_lossy(&ids)
        .lines()
        .map(str::to_string)
        .collect();
    if ids.len() != files.len() || !ids.iter().all(|id| is_object_id(id)) {
        return Err(unexpected_output(
            "writing the new files' blobs",
            "fast-import",
        ));
    }
    Ok(ids)
}

/// The commit, written to the object database with these identities (their dates from
/// `GIT_AUTHOR_DATE` and `GIT_COMMITTER_DATE` when set, as git does); its id.
fn write_commit(
    git: &GitCli,
    tree: &str,
    parent: &str,
    message: &str,
    author: &Identity,
    committer: &Identity,
) -> Result<String, GitError> {
    let id = git.local(
        "writing the commit",
        // The message is UTF-8 whatever `i18n.commitEncoding` says, and never signed: the
        // commit is the same on every machine.
        &[
            "-c",
            "i18n.commitEncoding=UTF-8",
            "commit-tree",
            "--no-gpg-sign",
            tree,
            "-p",
            parent,
        ],
        Input {
            stdin: message.as_bytes().to_vec(),
            env: vec![
                ("GIT_AUTHOR_NAME", author.name.clone().into()),
                ("GIT_AUTHOR_EMAIL", author.email.clone().into()),
                ("GIT_COMMITTER_NAME", committer.name.clone().into()),
                ("GIT_COMMITTER_EMAIL", committer.email.clone().into()),
            ],
            ..Input::default()
        },
    )?;
    let id = String::from_utf8_lossy(&id).trim().to_string();
    if !is_object_id(&id) {
        return Err(unexpected_output("writing the commit", "commit-tree"));
    }
    Ok(id)
}

/// Commits reachable from `tip` but not from `base` that lack the [`TRAILER`], described for
/// an error message (at most [`MAX_LISTED_COMMITS`], then a count of the rest).
fn foreign_commits(git: &GitCli, tip: &str, base: &str) -> Result<Vec<String>, GitError> {
    let log = git.local(
        "walking the remote branch",
        &[
            // The commits a shallow clone cut off count as what they are: `fetch` brought the
            // branch's history, and the base's own parents are in it (git's internal option
            // that receive-pack uses; an empty name reads no shallow file).
            "--shallow-file",
            "",
            "log",
            "-z",
            "--no-show-signature",
            "--format=%H%x1f%an <%ae>%x1f%s%x1f%B",
            tip,
            "--not",
            base,
        ],
        Input {
            max_output: MAX_LISTING,
            ..Input::default()
        },
    )?;
    let mut listed = Vec::new();
    let mut more = 0usize;
    for record in log.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(record);
        let mut fields = text.splitn(4, '\u{1f}');
        let (Some(id), Some(author), Some(summary), Some(message)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if has_trailer(message.as_bytes()) {
            continue;
        }
        if listed.len() == MAX_LISTED_COMMITS {
            more += 1;
            continue;
        }
        let id = id.get(..10).unwrap_or(id);
        listed.push(format!("{id} {author}: {summary}"));
    }
    if more > 0 {
        listed.push(format!("… and {more} more"));
    }
    Ok(listed)
}

/// Author and committer: explicit, else environment and configuration as git resolves them
/// (`GIT_AUTHOR_NAME`, `author.name`, `user.name`, …), else the other one's explicit identity.
fn identities(git: &GitCli, request: &PublishRequest) -> Result<(Identity, Identity), GitError> {
    let config = git
        .local_status(
            "reading the git configuration",
            &[
                "config",
                "-z",
                "--get-regexp",
                r"^(user|author|committer)\.(name|email)$",
            ],
            Input::default(),
        )
        .map(|out| out.stdout)?;
    let mut values: HashMap<String, String> = HashMap::new();
    for record in String::from_utf8_lossy(&config).split('\0') {
        if let Some((key, value)) = record.split_once('\n') {
            // The last value of a key wins, as git reads it.
            values.insert(key.to_string(), value.to_string());
        }
    }
    let configured = |role: &str| {
        let upper = role.to_uppercase();
        let pick = |field: &str, fallback_env: Option<&str>| {
            std::env::var(format!("GIT_{upper}_{}", field.to_uppercase()))
                .ok()
                .or_else(|| values.get(&format!("{role}.{field}")).cloned())
                .or_else(|| values.get(&format!("user.{field}")).cloned())
                .or_else(|| fallback_env.and_then(|var| std::env::var(var).ok()))
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        Some(Identity {
            name: pick("name", None)?,
            email: pick("email", Some("EMAIL"))?,
        })
    };
    let resolve = |role: &'static str, own: &Option<Identity>, other: &Option<Identity>| {
        own.clone()
            .or_else(|| configured(role))
            .or_else(|| other.clone())
            .ok_or(GitError::NoIdentity { role })
    };
    let author = resolve("author", &request.author, &request.committer)?;
    let committer = resolve("committer", &request.committer, &request.author)?;
    for (role, id) in [("author", &author), ("committer", &committer)] {
        let bad = |text: &str| text.trim().is_empty() || text.contains(['\n', '<', '>']);
        if bad(&id.name) || bad(&id.email) {
            return Err(GitError::InvalidIdentity {
                role,
                identity: format!("{} <{}>", id.name, id.email),
            });
        }
    }
    Ok((author, committer))
}

fn unexpected_output(context: &str, command: &str) -> GitError {
    GitError::Repository {
        context: context.to_string(),
        detail: format!("unexpected `git {command}` output"),
    }
}

fn io_error(context: &'static str) -> impl Fn(std::io::Error) -> GitError {
    move |e| GitError::Repository {
        context: context.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(name: &str, email: &str) -> Identity {
        Identity {
            name: name.into(),
            email: email.into(),
        }
    }

    #[test]
    fn message_gets_trailer_block() {
        assert_eq!(
            compose_message("chore(images): update images for 2026-w04\n\n- a: 1 -> 2\n", None),
            "chore(images): update images for 2026-w04\n\n- a: 1 -> 2\n\nGenerated-by: flux-image-lint\n"
        );
        assert_eq!(
            compose_message("subject", Some(&sig("Bot", "bot@x"))),
            "subject\n\nSigned-off-by: Bot <bot@x>\nGenerated-by: flux-image-lint\n"
        );
        // An existing trailer block is extended, duplicates are not repeated.
        assert_eq!(
            compose_message("s\n\nbody\n\nCo-authored-by: A <a@x>\nSigned-off-by: Bot <bot@x>", Some(&sig("Bot", "bot@x"))),
            "s\n\nbody\n\nCo-authored-by: A <a@x>\nSigned-off-by: Bot <bot@x>\nGenerated-by: flux-image-lint\n"
        );
        // A subject that looks like a trailer is not a trailer block.
        assert_eq!(
            compose_message("fix: x", None),
            "fix: x\n\nGenerated-by: flux-image-lint\n"
        );
        assert!(compose_message("  \n", None).starts_with("chore(images): update images\n\n"));
    }

    #[test]
    fn trailer_detection() {
        assert!(has_trailer(b"s\n\nGenerated-by: flux-image-lint\n"));
        assert!(has_trailer(
            b"s\n\nb\n\nSigned-off-by: A <a@x>\nGenerated-by: flux-image-lint"
        ));
        assert!(!has_trailer(
            b"s\n\nGenerated-by: flux-image-lint\n\nmore text\n"
        ));
        assert!(!has_trailer(b"Generated-by: flux-image-linter\n"));
        assert!(!has_trailer(b"manual fix\n"));
        let composed = compose_message("s\n\n- a: 1 -> 2", Some(&sig("B", "b@x")));
        assert!(has_trailer(composed.as_bytes()));
    }

    #[test]
    fn branch_names() {
        for ok in ["image-updates/2026-w04", "a", "x/y/z", "bot_1.2"] {
            validate_branch(ok).unwrap();
        }
        for bad in [
            "",
            "-x",
            "a..b",
            "a b",
            "a~1",
            "x/",
            "/x",
            "x.lock",
            "refs/heads/x",
            "a:b",
            "a@{1}",
            "HEAD",
        ] {
            assert!(
                matches!(
                    validate_branch(bad),
                    Err(GitError::InvalidBranchName { .. })
                ),
                "{bad}"
            );
        }
    }
}
