//! Errors of the git module. Every message says what happened and what to do next;
//! remote names, URLs and git's own output are redacted before they are stored here.

use std::fmt;
use std::path::PathBuf;

use super::TRAILER;

/// What went wrong while reading the base or publishing the review branch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GitError {
    /// The branch-name template is malformed or uses an unknown placeholder.
    Template { template: String, reason: String },
    /// The expanded branch name is not a valid git branch name.
    InvalidBranchName { branch: String, reason: String },
    /// The review branch would be the base branch itself.
    BranchIsBase { branch: String },
    /// The remote argument is unusable (empty, or looks like an option).
    InvalidRemote { remote: String },
    /// No git repository at or above the directory.
    NotARepository { path: PathBuf, detail: String },
    /// HEAD is detached and no base branch was given.
    DetachedHead,
    /// The current branch has no commit yet.
    UnbornBranch { branch: String },
    /// The base branch (or revision) does not exist locally.
    BaseNotFound { base: String },
    /// A file to rewrite is not in the base tree.
    PathNotInBase { path: String, base: String },
    /// A file to rewrite is a directory, symlink or submodule in the base tree.
    NotAFile { path: String, kind: String },
    /// A file path is not a clean repository-relative path, or is listed twice.
    InvalidPath { path: String, reason: String },
    /// Neither an explicit identity, nor git configuration, nor the environment names one.
    NoIdentity { role: &'static str },
    /// An identity has an empty part or characters git does not allow (`<`, `>`, newline).
    InvalidIdentity {
        role: &'static str,
        identity: String,
    },
    /// The remote branch holds commits not made by this tool.
    ForeignCommits {
        branch: String,
        remote: String,
        commits: Vec<String>,
    },
    /// The remote could not be read (`git ls-remote` / `git fetch` failed).
    RemoteUnreachable {
        remote: String,
        branch: String,
        detail: String,
    },
    /// The remote branch moved between listing and fetching it.
    RemoteMoved { remote: String, branch: String },
    /// `git push` failed; nothing was changed locally.
    PushRejected {
        remote: String,
        branch: String,
        commit: String,
        detail: String,
    },
    /// The `git` program could not be run.
    GitNotRunnable { detail: String },
    /// A git command talking to a remote did not finish in time and was killed.
    Timeout {
        command: String,
        remote: String,
        timeout: std::time::Duration,
    },
    /// An error from reading or writing the repository's objects and refs.
    Repository { context: String, detail: String },
}

impl fmt::Display for GitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitError::Template { template, reason } => write!(
                f,
                "invalid branch template `{template}`: {reason}; use literal text with \
                 {{iso_year}}, {{iso_week}} and {{date}}, e.g. `image-updates/{{iso_year}}-w{{iso_week}}`"
            ),
            GitError::InvalidBranchName { branch, reason } => write!(
                f,
                "`{branch}` is not a valid git branch name ({reason}); change the branch template"
            ),
            GitError::BranchIsBase { branch } => write!(
                f,
                "the review branch `{branch}` is the base branch itself; choose another branch \
                 template or base"
            ),
            GitError::InvalidRemote { remote } => write!(
                f,
                "`{remote}` is not a usable remote; give a remote name (e.g. `origin`) or a URL"
            ),
            GitError::NotARepository { path, detail } => write!(
                f,
                "{} is not inside a git repository ({detail}); run from a clone of the GitOps \
                 repository",
                path.display()
            ),
            GitError::DetachedHead => write!(
                f,
                "HEAD is detached, so there is no current branch to base the review branch on; \
                 name the base branch explicitly (e.g. `--base main`) or check out a branch"
            ),
            GitError::UnbornBranch { branch } => write!(
                f,
                "the current branch `{branch}` has no commits yet; commit first or name another \
                 base branch"
            ),
            GitError::BaseNotFound { base } => write!(
                f,
                "base `{base}` was not found in the local repository; fetch it first \
                 (e.g. `git fetch origin {base}`) or check the name"
            ),
            GitError::PathNotInBase { path, base } => write!(
                f,
                "`{path}` does not exist in the base `{base}`; only files committed on the base \
                 can be updated (commit the file to the base branch first)"
            ),
            GitError::NotAFile { path, kind } => write!(
                f,
                "`{path}` is a {kind} in the base tree, not a regular file; it cannot be rewritten"
            ),
            GitError::InvalidPath { path, reason } => write!(
                f,
                "invalid file path `{path}`: {reason}; paths are relative to the repository root \
                 and use `/`"
            ),
            GitError::NoIdentity { role } => write!(
                f,
                "no {role} identity: set one explicitly, or configure git \
                 (`git config user.name \"Image Bot\"` and `git config user.email bot@example.com`), \
                 or set GIT_{}_NAME and GIT_{}_EMAIL",
                role.to_uppercase(),
                role.to_uppercase()
            ),
            GitError::InvalidIdentity { role, identity } => write!(
                f,
                "invalid {role} identity `{identity}`: name and email must be non-empty and \
                 contain no `<`, `>` or line breaks; fix the identity or the git configuration"
            ),
            GitError::ForeignCommits {
                branch,
                remote,
                commits,
            } => {
                write!(
                    f,
                    "the branch `{branch}` on `{remote}` has commits that flux-image-lint did not \
                     make (no `{TRAILER}` trailer), so it was left alone and nothing was pushed:"
                )?;
                for c in commits {
                    write!(f, "\n  {c}")?;
                }
                write!(
                    f,
                    "\nMerge or move those commits first, delete the branch \
                     (`git push {remote} --delete {branch}`), or rerun with force to replace it"
                )
            }
            GitError::RemoteUnreachable {
                remote,
                branch,
                detail,
            } => write!(
                f,
                "could not read branch `{branch}` from remote `{remote}`: {detail}\nCheck the \
                 remote name or URL, the network and your credentials (`git ls-remote {remote}` \
                 must work); nothing was pushed"
            ),
            GitError::RemoteMoved { remote, branch } => write!(
                f,
                "the branch `{branch}` on `{remote}` changed while it was being read; nothing was \
                 pushed, run again"
            ),
            GitError::PushRejected {
                remote,
                branch,
                commit,
                detail,
            } => write!(
                f,
                "pushing commit {commit} to `{branch}` on `{remote}` failed: {detail}\nThe local \
                 repository was left as it was. If someone pushed to the branch meanwhile, run \
                 again; if the server refused the push (hook, protected branch, permissions), fix \
                 that on the server side and run again"
            ),
            GitError::Timeout {
                command,
                remote,
                timeout,
            } => {
                write!(
                    f,
                    "`git {command}` with remote `{remote}` did not finish within {} s and was \
                     stopped; check the remote's URL and the network, or raise --git-timeout",
                    timeout.as_secs()
                )?;
                if command == "push" {
                    f.write_str("; the push may have reached the remote, so run again to check")
                } else {
                    f.write_str("; nothing was pushed")
                }
            }
            GitError::GitNotRunnable { detail } => write!(
                f,
                "could not run `git`: {detail}; install git and make sure it is on PATH"
            ),
            GitError::Repository { context, detail } => {
                write!(f, "git repository error while {context}: {detail}")
            }
        }
    }
}

impl std::error::Error for GitError {}
