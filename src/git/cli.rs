//! The system `git` for talking to remotes (gix cannot push): `ls-remote`, `fetch` and
//! `push`, so the user's credential helpers, SSH configuration and `insteadOf` rules apply.
//!
//! None of these commands changes a local ref: `ls-remote` only reads, `fetch` runs with
//! `--no-write-fetch-head --refmap=` and a source-only refspec (objects only), and the push
//! source is a commit id, not a branch. Only git's own remote-tracking update after a
//! *successful* push to a named remote touches `refs/remotes/...`.
//!
//! Requires git 2.29 or later (`fetch --no-write-fetch-head`).
//!
//! Each command runs under a timeout (`--git-timeout`): a remote that never answers cannot hang
//! the run. On expiry git's whole process group (ssh, remote helpers) is killed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::GitError;
use crate::redact::redact;

pub(crate) struct GitCli {
    git_dir: PathBuf,
    cwd: PathBuf,
    timeout: Duration,
}

/// What a finished git command left.
struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl GitCli {
    pub(crate) fn new(git_dir: &Path, cwd: &Path, timeout: Duration) -> Self {
        GitCli {
            git_dir: git_dir.to_path_buf(),
            cwd: cwd.to_path_buf(),
            timeout,
        }
    }

    /// Runs `git <args>` against `remote`; kills it (and what it started) after the timeout.
    fn run(&self, remote: &str, args: &[&str]) -> Result<Output, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir")
            .arg(&self.git_dir)
            .args(args)
            .current_dir(&self.cwd)
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            // Never wait for a password or passphrase typed on a terminal nobody watches.
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills ssh and remote helpers too.
            .process_group(0);
        let not_runnable = |e: std::io::Error| GitError::GitNotRunnable {
            detail: e.to_string(),
        };
        let mut child = cmd.spawn().map_err(not_runnable)?;
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    // Bounded: what git says is for an error message.
                    let _ = pipe.by_ref().take(1024 * 1024).read_to_end(&mut bytes);
                    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
                }
                bytes
            })
        };
        let stdout = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
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
                return Err(GitError::Timeout {
                    command: args[0].to_string(),
                    remote: redact(remote),
                    timeout: self.timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
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
fn output_text(out: &Output) -> String {
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
