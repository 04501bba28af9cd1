//! The one runner of the system `git`: every repository operation of the git module goes
//! through it. Remotes: `ls-remote`, `fetch` and `push`, so the user's credential helpers, SSH
//! configuration and `insteadOf` rules apply. The local repository: git's plumbing (`rev-parse`,
//! `ls-tree`, `cat-file`, `fast-import` for blobs, `read-tree` / `update-index` / `write-tree`
//! into a temporary index, `commit-tree`, `log`), so the commit is built without a checkout.
//!
//! None of these commands changes a local ref, the index or the work tree: `ls-remote` only
//! reads, `fetch` runs with `--no-write-fetch-head --refmap=` and a source-only refspec (objects
//! only), trees are built in a temporary index (`GIT_INDEX_FILE`), and the push source is a
//! commit id, not a branch. Only git's own remote-tracking update after a *successful* push to a
//! named remote touches `refs/remotes/...`; blobs, trees and the commit are written to the
//! object database, where unreferenced objects are left to `git gc`.
//!
//! Requires git 2.29 or later (`fetch --no-write-fetch-head`).
//!
//! Each command runs under a timeout (`--git-timeout` for a publish): a remote that never
//! answers cannot hang the run. On expiry git's whole process group (ssh, remote helpers) is
//! killed. What a command prints is bounded: a few lines for an error message, and for the
//! commands whose output is data, a limit the caller sets.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::GitError;
use crate::redact::redact;

/// How much of what a command prints is kept when only an error message needs it.
const MESSAGE_OUTPUT: u64 = 1024 * 1024;

pub(crate) struct GitCli {
    /// `None`: git finds the repository from `cwd`, as it does in a shell.
    git_dir: Option<PathBuf>,
    cwd: PathBuf,
    timeout: Duration,
}

/// What a finished git command left.
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// stdout went past the limit and was cut there.
    truncated: bool,
}

/// What a local command gets besides its arguments.
#[derive(Default)]
pub(crate) struct Input {
    pub(crate) stdin: Vec<u8>,
    pub(crate) env: Vec<(&'static str, OsString)>,
    /// The most of stdout the caller reads; more is an error. Zero: [`MESSAGE_OUTPUT`].
    pub(crate) max_output: u64,
}

impl GitCli {
    pub(crate) fn new(git_dir: &Path, cwd: &Path, timeout: Duration) -> Self {
        GitCli {
            git_dir: Some(git_dir.to_path_buf()),
            cwd: cwd.to_path_buf(),
            timeout,
        }
    }

    /// git in `dir`, finding the repository there as git does.
    pub(crate) fn in_dir(dir: &Path, timeout: Duration) -> Self {
        GitCli {
            git_dir: None,
            cwd: dir.to_path_buf(),
            timeout,
        }
    }

    /// Runs `git <args>`; kills it (and what it started) after the timeout. `Err(None)` is a
    /// timeout, for the caller to describe.
    fn exec(&self, args: &[&str], input: Input) -> Result<Output, Option<GitError>> {
        let mut cmd = Command::new("git");
        if let Some(git_dir) = &self.git_dir {
            cmd.arg("--git-dir").arg(git_dir);
        }
        cmd.args(args)
            .current_dir(&self.cwd)
            // A hook's environment (pre-commit) names the repository and index it runs for.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            // Never wait for a password or passphrase typed on a terminal nobody watches.
            .env("GIT_TERMINAL_PROMPT", "0")
            .envs(input.env)
            .stdin(if input.stdin.is_empty() {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills ssh and remote helpers too.
            .process_group(0);
        let not_runnable = |e: std::io::Error| {
            Some(GitError::GitNotRunnable {
                detail: e.to_string(),
            })
        };
        let mut child = cmd.spawn().map_err(not_runnable)?;
        // Written from its own thread: git answers while it reads, and both pipes have a limit.
        let writer = child.stdin.take().map(|mut pipe| {
            let bytes = input.stdin;
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })
        });
        let read = |pipe: Option<Box<dyn Read + Send>>, limit: u64| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.by_ref().take(limit + 1).read_to_end(&mut bytes);
                    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
                }
                bytes
            })
        };
        let max_output = match input.max_output {
            0 => MESSAGE_OUTPUT,
            limit => limit,
        };
        let stdout = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            max_output,
        );
        let stderr = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            MESSAGE_OUTPUT,
        );
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(not_runnable)? {
                break status;
            }
            if Instant::now() >= deadline {
                // SAFETY: signalling the process group we created; no memory is involved.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                // The readers are left to finish on their own: a process that left the group
                // could hold the pipes open.
                return Err(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        let mut stdout = stdout.join().unwrap_or_default();
        let truncated = stdout.len() as u64 > max_output;
        stdout.truncate(max_output as usize);
        let mut stderr = stderr.join().unwrap_or_default();
        stderr.truncate(MESSAGE_OUTPUT as usize);
        Ok(Output {
            status,
            stdout,
            stderr,
            truncated,
        })
    }

    /// Runs `git <args>` against `remote`.
    fn run(&self, remote: &str, args: &[&str]) -> Result<Output, GitError> {
        self.exec(args, Input::default()).map_err(|error| {
            error.unwrap_or_else(|| GitError::Timeout {
                command: args[0].to_string(),
                remote: redact(remote),
                timeout: self.timeout,
            })
        })
    }

    /// Runs a command on the local repository, whatever its exit status.
    pub(crate) fn local_status(
        &self,
        context: &'static str,
        args: &[&str],
        input: Input,
    ) -> Result<Output, GitError> {
        let out = self.exec(args, input).map_err(|error| {
            error.unwrap_or_else(|| GitError::Repository {
                context: context.to_string(),
                detail: format!(
                    "`git {}` did not finish within {} s",
                    args[0],
                    self.timeout.as_secs()
                ),
            })
        })?;
        if out.truncated {
            return Err(GitError::Repository {
                context: context.to_string(),
                detail: format!("`git {}` printed more than expected", args[0]),
            });
        }
        Ok(out)
    }

    /// Runs a command on the local repository that must succeed; its stdout.
    pub(crate) fn local(
        &self,
        context: &'static str,
        args: &[&str],
        input: Input,
    ) -> Result<Vec<u8>, GitError> {
        let out = self.local_status(context, args, input)?;
        if !out.status.success() {
            return Err(GitError::Repository {
                context: context.to_string(),
                detail: output_text(&out),
            });
        }
        Ok(out.stdout)
    }

    /// The first line a successful command prints, `None` when it fails.
    pub(crate) fn line(&self, args: &[&str]) -> Option<String> {
        let line = self.lines(args)?.into_iter().next()?;
        (!line.is_empty()).then_some(line)
    }

    /// The lines a successful command prints, `None` when it fails (`git config --get-regexp`
    /// fails when nothing matches).
    pub(crate) fn lines(&self, args: &[&str]) -> Option<Vec<String>> {
        let out = self.local_status("reading the repository", args, Input::default());
        let out = out.ok().filter(|out| out.status.success())?;
        let text = String::from_utf8(out.stdout).ok()?;
        Some(text.lines().map(str::to_string).collect())
    }

    /// The commit id `refs/heads/<branch>` has on `remote`, `None` when the branch does not exist.
    pub(crate) fn remote_branch_tip(
        &self,
        remote: &str,
        branch: &str,
    ) -> Result<Option<String>, GitError> {
        let full = format!("refs/heads/{branch}");
        let out = self.run(remote, &["ls-remote", "--refs", remote, &full])?;
        if !out.status.success() {
            return Err(GitError::RemoteUnreachable {
                remote: redact(remote),
                branch: branch.to_string(),
                detail: output_text(&out),
            });
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        Ok(stdout.lines().find_map(|line| {
            let (id, name) = line.split_once('\t')?;
            (name.trim() == full).then(|| id.trim().to_string())
        }))
    }

    /// Bring the objects of `refs/heads/<branch>` on `remote` into the object database
    /// without writing any ref (not even `FETCH_HEAD`).
    pub(crate) fn fetch_objects(&self, remote: &str, branch: &str) -> Result<(), GitError> {
        let full = format!("refs/heads/{branch}");
        let out = self.run(
            remote,
            &[
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--refmap=",
                "--no-recurse-submodules",
                "--no-auto-gc",
                remote,
                &full,
            ],
        )?;
        if !out.status.success() {
            return Err(GitError::RemoteUnreachable {
                remote: redact(remote),
                branch: branch.to_string(),
                detail: output_text(&out),
            });
        }
        Ok(())
    }

    /// Push `commit` to `refs/heads/<branch>` on `remote`, only if the branch is still at
    /// `expected` (`None`: only if it does not exist).
    pub(crate) fn push(
        &self,
        remote: &str,
        commit: &str,
        branch: &str,
        expected: Option<&str>,
    ) -> Result<(), GitError> {
        let full = format!("refs/heads/{branch}");
        let lease = format!("--force-with-lease={full}:{}", expected.unwrap_or(""));
        let refspec = format!("{commit}:{full}");
        let out = self.run(
            remote,
            &[
                "push",
                "--porcelain",
                "--no-follow-tags",
                "--recurse-submodules=no",
                &lease,
                remote,
                &refspec,
            ],
        )?;
        if !out.status.success() {
            return Err(GitError::PushRejected {
                remote: redact(remote),
                branch: branch.to_string(),
                commit: commit.to_string(),
                detail: output_text(&out),
            });
        }
        Ok(())
    }
}

/// git's stderr and stdout, trimmed and redacted, for an error message.
pub(crate) fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stdout = stdout.trim();
    if !stdout.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stdout);
    }
    let text: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && *line != "Done")
        .collect();
    if text.is_empty() {
        return format!("git exited with {}", out.status);
    }
    redact(&text.join("\n"))
}
