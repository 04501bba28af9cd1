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
//! Pushing uses the system `git` (gix cannot push), so credential helpers and SSH config apply.
//! Credentials in remote URLs are redacted from every message.

mod cli;
mod error;
pub mod staged;
mod week;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::ObjectId;

pub use crate::redact::redact;
pub use error::GitError;
pub use week::{weekly_branch_name, DEFAULT_BRANCH_TEMPLATE, PLACEHOLDERS};

/// The trailer that marks commits made by this tool; a remote review branch is only replaced
/// when every commit on it beyond the base carries it.
pub const TRAILER: &str = "Generated-by: flux-image-lint";

/// How many foreign commits an error message lists at most.
const MAX_LISTED_COMMITS: usize = 10;

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
    let repo = gix::discover(dir).ok()?;
    let workdir = repo.workdir()?;
    Some(std::fs::canonicalize(workdir).unwrap_or_else(|_| absolute(workdir)))
}

/// The current branch's short name (`None` on a detached HEAD or outside a repository).
pub fn current_branch(dir: &Path) -> Option<String> {
    let repo = gix::discover(dir).ok()?;
    let name = repo.head_name().ok()??;
    Some(name.shorten().to_string())
}

/// A remote's URL as configured (`remote.<name>.url`, before any `insteadOf` rewrite: the forge's
/// address, which a pull request needs); a remote given as a URL or path is its own URL.
pub fn remote_url(dir: &Path, remote: &str) -> Option<String> {
    if remote.contains(['/', ':']) {
        return Some(remote.to_string());
    }
    let repo = gix::discover(dir).ok()?;
    let url = repo
        .config_snapshot()
        .string(format!("remote.{remote}.url").as_str())?;
    Some(url.to_string())
}

/// Every regular file (executable or not; no symlinks or submodules) of the base commit's
/// tree whose repository-relative path the filter accepts, with its content, sorted by path.
/// Returns the base commit id with them, so callers compute rewrites from committed content.
pub fn read_base_files(
    repo: &Path,
    base: Option<&str>,
    paths_filter: impl Fn(&str) -> bool,
) -> Result<(String, Files), GitError> {
    let repo = open(repo)?;
    let base = resolve_base(&repo, base)?;
    let commit = repo
        .find_commit(base.id)
        .map_err(gix_err("reading the base commit"))?;
    let tree = commit.tree().map_err(gix_err("reading the base tree"))?;
    let entries = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(gix_err("listing the base tree"))?;
    let mut files = Vec::new();
    for entry in entries {
        if !matches!(
            entry.mode.kind(),
            EntryKind::Blob | EntryKind::BlobExecutable
        ) {
            continue;
        }
        let Ok(path) = entry.filepath.to_str() else {
            continue; // not UTF-8: cannot be named by the caller anyway
        };
        if !paths_filter(path) {
            continue;
        }
        let blob = repo
            .find_blob(entry.oid)
            .map_err(gix_err("reading a blob of the base tree"))?;
        files.push((path.to_string(), blob.data.clone()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((base.id.to_string(), files))
}

/// Build the one-commit review branch on top of the base and push it (see the module docs).
pub fn publish(request: &PublishRequest) -> Result<PublishOutcome, GitError> {
    validate_remote(request.remote)?;
    validate_branch(request.branch)?;
    let repo = open(request.repo)?;
    let base = resolve_base(&repo, request.base)?;
    if base.ref_name.as_deref() == Some(&format!("refs/heads/{}", request.branch)) {
        return Err(GitError::BranchIsBase {
            branch: request.branch.to_string(),
        });
    }
    let (author, committer) = identities(&repo, request)?;

    let base_commit = repo
        .find_commit(base.id)
        .map_err(gix_err("reading the base commit"))?;
    let base_tree = base_commit
        .tree_id()
        .map_err(gix_err("reading the base tree"))?
        .detach();
    let tree = build_tree(&repo, base_tree, &base.display, request.files)?;
    if tree == base_tree {
        return Ok(PublishOutcome::NothingToCommit);
    }

    let cwd = repo.workdir().unwrap_or(repo.git_dir()).to_path_buf();
    let git = cli::GitCli::new(repo.git_dir(), &cwd, request.timeout);
    let remote_tip = git.remote_branch_tip(request.remote, request.branch)?;
    if let Some(tip_hex) = &remote_tip {
        let tip = ObjectId::from_hex(tip_hex.as_bytes()).map_err(|e| GitError::Repository {
            context: "reading the remote branch tip".into(),
            detail: e.to_string(),
        })?;
        if !repo.has_object(tip) {
            git.fetch_objects(request.remote, request.branch)?;
            if !repo.has_object(tip) {
                return Err(GitError::RemoteMoved {
                    remote: redact(request.remote),
                    branch: request.branch.to_string(),
                });
            }
        }
        let tip_commit = repo
            .find_commit(tip)
            .map_err(gix_err("reading the remote branch tip"))?;
        let tip_tree = tip_commit
            .tree_id()
            .map_err(gix_err("reading the remote branch tree"))?;
        let parents: Vec<ObjectId> = tip_commit.parent_ids().map(|id| id.detach()).collect();
        if tip_tree == tree && parents == [base.id] {
            return Ok(PublishOutcome::UpToDate {
                branch: request.branch.to_string(),
                commit: tip_hex.clone(),
            });
        }
        if !request.force {
            let foreign = foreign_commits(&repo, tip, base.id)?;
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
    let commit = gix::objs::Commit {
        tree,
        parents: [base.id].into_iter().collect(),
        author,
        committer,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    let commit_id = repo
        .write_object(&commit)
        .map_err(gix_err("writing the commit"))?
        .detach()
        .to_string();
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
fn compose_message(message: &str, signoff: Option<&gix::actor::Signature>) -> String {
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
    id: ObjectId,
    /// Full ref name, when the base is a ref.
    ref_name: Option<String>,
    /// How to name the base in messages.
    display: String,
}

fn open(dir: &Path) -> Result<gix::Repository, GitError> {
    gix::discover(dir).map_err(|e| GitError::NotARepository {
        path: dir.to_path_buf(),
        detail: e.to_string(),
    })
}

fn resolve_base(repo: &gix::Repository, base: Option<&str>) -> Result<Base, GitError> {
    let (mut reference, display) = match base {
        None => {
            let name = repo
                .head_name()
                .map_err(gix_err("reading HEAD"))?
                .ok_or(GitError::DetachedHead)?;
            let display = name.shorten().to_string();
            let reference = repo
                .try_find_reference(name.as_ref())
                .map_err(gix_err("reading the current branch"))?
                .ok_or_else(|| GitError::UnbornBranch {
                    branch: display.clone(),
                })?;
            (reference, display)
        }
        Some(name) => {
            let found = if name.trim().is_empty() || name.starts_with('-') {
                None
            } else {
                repo.try_find_reference(name).ok().flatten()
            };
            match found {
                Some(reference) => (reference, name.to_string()),
                None => {
                    // A full commit id is accepted as well.
                    if let Ok(id) = ObjectId::from_hex(name.as_bytes()) {
                        if let Ok(commit) = repo.find_commit(id) {
                            return Ok(Base {
                                id: commit.id,
                                ref_name: None,
                                display: name.to_string(),
                            });
                        }
                    }
                    return Err(GitError::BaseNotFound {
                        base: name.to_string(),
                    });
                }
            }
        }
    };
    let ref_name = reference.name().as_bstr().to_string();
    let commit = reference
        .peel_to_commit()
        .map_err(|_| GitError::BaseNotFound {
            base: display.clone(),
        })?;
    Ok(Base {
        id: commit.id,
        ref_name: Some(ref_name),
        display,
    })
}

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
    gix::refs::FullName::try_from(format!("refs/heads/{branch}"))
        .map_err(|e| invalid(&e.to_string()))?;
    if branch == "HEAD" || branch.contains("@{") {
        return Err(invalid("reserved name"));
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

/// The base tree with each file's blob replaced, keeping its mode.
fn build_tree(
    repo: &gix::Repository,
    base_tree: ObjectId,
    base_display: &str,
    files: &[(String, Vec<u8>)],
) -> Result<ObjectId, GitError> {
    let tree = repo
        .find_tree(base_tree)
        .map_err(gix_err("reading the base tree"))?;
    let mut editor = repo
        .edit_tree(base_tree)
        .map_err(gix_err("editing the base tree"))?;
    let mut seen = BTreeSet::new();
    for (path, content) in files {
        let invalid = |reason: &str| GitError::InvalidPath {
            path: path.clone(),
            reason: reason.to_string(),
        };
        if path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path.contains('\0')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(invalid("not a clean relative path"));
        }
        if !seen.insert(path.as_str()) {
            return Err(invalid("listed more than once"));
        }
        let entry = tree
            .lookup_entry(path.split('/'))
            .map_err(gix_err("looking up a file in the base tree"))?
            .ok_or_else(|| GitError::PathNotInBase {
                path: path.clone(),
                base: base_display.to_string(),
            })?;
        let kind = entry.mode().kind();
        match kind {
            EntryKind::Blob | EntryKind::BlobExecutable => {}
            EntryKind::Tree => {
                return Err(GitError::NotAFile {
                    path: path.clone(),
                    kind: "directory".into(),
                })
            }
            EntryKind::Link => {
                return Err(GitError::NotAFile {
                    path: path.clone(),
                    kind: "symbolic link".into(),
                })
            }
            EntryKind::Commit => {
                return Err(GitError::NotAFile {
                    path: path.clone(),
                    kind: "submodule".into(),
                })
            }
        }
        let blob = repo
            .write_blob(content)
            .map_err(gix_err("writing a blob"))?;
        editor
            .upsert(path.as_str(), kind, blob.detach())
            .map_err(gix_err("editing the tree"))?;
    }
    Ok(editor
        .write()
        .map_err(gix_err("writing the tree"))?
        .detach())
}

/// Commits reachable from `tip` but not from `base` that lack the [`TRAILER`], described for
/// an error message (at most [`MAX_LISTED_COMMITS`], then a count of the rest).
fn foreign_commits(
    repo: &gix::Repository,
    tip: ObjectId,
    base: ObjectId,
) -> Result<Vec<String>, GitError> {
    let walk = repo
        .rev_walk([tip])
        .with_hidden([base])
        .all()
        .map_err(gix_err("walking the remote branch"))?;
    let mut listed = Vec::new();
    let mut more = 0usize;
    for info in walk {
        let info = info.map_err(gix_err("walking the remote branch"))?;
        let commit = info
            .object()
            .map_err(gix_err("reading a remote branch commit"))?;
        if has_trailer(commit.message_raw_sloppy()) {
            continue;
        }
        if listed.len() == MAX_LISTED_COMMITS {
            more += 1;
            continue;
        }
        let id = commit.id.to_hex_with_len(10).to_string();
        let author = commit
            .author()
            .map(|a| format!("{} <{}>", a.name, a.email))
            .unwrap_or_else(|_| "unknown author".into());
        let summary = commit
            .message()
            .map(|m| m.summary().to_string())
            .unwrap_or_default();
        listed.push(format!("{id} {author}: {summary}"));
    }
    if more > 0 {
        listed.push(format!("… and {more} more"));
    }
    Ok(listed)
}

/// Author and committer: explicit, else environment and configuration as git resolves them,
/// else the other one's explicit identity.
fn identities(
    repo: &gix::Repository,
    request: &PublishRequest,
) -> Result<(gix::actor::Signature, gix::actor::Signature), GitError> {
    let explicit = |id: &Identity, time: gix::date::Time| gix::actor::Signature {
        name: id.name.as_str().into(),
        email: id.email.as_str().into(),
        time,
    };
    let configured = |sig: Option<gix::Result<gix::actor::SignatureRef<'_>>>| {
        sig.and_then(Result::ok)
            .and_then(|s| s.trim().to_owned().ok())
            .filter(|s| !s.name.is_empty() && !s.email.is_empty())
    };
    let config_author = configured(repo.author());
    let config_committer = configured(repo.committer());
    let now = gix::date::Time::now_local_or_utc();
    let author_time = config_author.as_ref().map_or(now, |s| s.time);
    let committer_time = config_committer.as_ref().map_or(now, |s| s.time);

    let author = match (&request.author, config_author, &request.committer) {
        (Some(id), _, _) => explicit(id, author_time),
        (None, Some(sig), _) => sig,
        (None, None, Some(id)) => explicit(id, author_time),
        (None, None, None) => return Err(GitError::NoIdentity { role: "author" }),
    };
    let committer = match (&request.committer, config_committer, &request.author) {
        (Some(id), _, _) => explicit(id, committer_time),
        (None, Some(sig), _) => sig,
        (None, None, Some(id)) => explicit(id, committer_time),
        (None, None, None) => return Err(GitError::NoIdentity { role: "committer" }),
    };
    for sig in [&author, &committer] {
        if sig.name.trim().is_empty()
            || sig.email.trim().is_empty()
            || sig.name.contains_str("\n")
            || sig.email.contains_str("\n")
            || sig.name.find_byteset(b"<>").is_some()
            || sig.email.find_byteset(b"<>").is_some()
        {
            let role = if std::ptr::eq(sig, &author) {
                "author"
            } else {
                "committer"
            };
            return Err(GitError::InvalidIdentity {
                role,
                identity: format!("{} <{}>", sig.name, sig.email),
            });
        }
    }
    Ok((author, committer))
}

fn gix_err<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> GitError {
    move |e| GitError::Repository {
        context: context.to_string(),
        detail: redact(&e.to_string()),
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(name: &str, email: &str) -> gix::actor::Signature {
        gix::actor::Signature {
            name: name.into(),
            email: email.into(),
            time: gix::date::Time::new(0, 0),
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
