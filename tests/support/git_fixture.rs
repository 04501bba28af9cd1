//! Real git repositories for the git module's tests: a work repository whose `origin` is a
//! bare repository, reachable over `file://` and, through [`GitDaemon`], over `git://` on
//! 127.0.0.1.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use flux_image_lint::git::{Identity, PublishRequest};

pub const BRANCH: &str = "image-updates/2026-w04";

static INIT: Once = Once::new();

/// Make the process environment independent of the machine's git setup: no system config,
/// HOME in a temporary directory, no identity or repository variables. Call first in a test.
pub fn init_env() {
    INIT.call_once(|| {
        // Shared and never written to: the tests set no global configuration.
        let home = std::env::temp_dir().join("flux-image-lint-git-tests-home");
        std::fs::create_dir_all(&home).unwrap();
        std::env::set_var("HOME", &home);
        std::env::set_var("XDG_CONFIG_HOME", home.join(".config"));
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_TERMINAL_PROMPT", "0");
        for var in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_AUTHOR_DATE",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "GIT_COMMITTER_DATE",
            "EMAIL",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_COUNT",
        ] {
            std::env::remove_var(var);
        }
    });
}

pub fn bot() -> Identity {
    Identity {
        name: "Image Bot".into(),
        email: "image-bot@example.org".into(),
    }
}

/// Run git in `dir` with a fixed test identity; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = try_git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

pub fn try_git(dir: &Path, args: &[&str]) -> Output {
    init_env();
    Command::new("git")
        .args([
            "-c",
            "user.name=Test Human",
            "-c",
            "user.email=human@example.org",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    /// The work repository (a clone of `bare` with `main` checked out).
    pub work: PathBuf,
    /// Directory served by the git daemon; holds `remote.git`.
    pub served: PathBuf,
    /// The bare "server" repository.
    pub bare: PathBuf,
}

pub const A_YAML: &[u8] = b"image: ghcr.io/x/a:1.0.0 # {\"$imagepolicy\": \"flux-system:a\"}\n";
pub const B_YAML: &[u8] = b"image: ghcr.io/x/b:2.0.0 # {\"$imagepolicy\": \"flux-system:b\"}\n";
pub const RUN_SH: &[u8] = b"#!/bin/sh\necho image: ghcr.io/x/c:3.0.0\n";

impl Fixture {
    /// A bare remote and a clone with three committed files (one executable), a symlink,
    /// and uncommitted changes in both the index and the working tree.
    pub fn new() -> Fixture {
        init_env();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let served = root.join("served");
        let bare = served.join("remote.git");
        let work = root.join("work");
        std::fs::create_dir_all(&served).unwrap();
        git(&root, &["init", "-q", "--bare", bare.to_str().unwrap()]);
        git(&root, &["init", "-q", work.to_str().unwrap()]);
        std::fs::create_dir_all(work.join("apps")).unwrap();
        std::fs::create_dir_all(work.join("scripts")).unwrap();
        std::fs::write(work.join("apps/a.yaml"), A_YAML).unwrap();
        std::fs::write(work.join("apps/b.yaml"), B_YAML).unwrap();
        std::fs::write(work.join("scripts/run.sh"), RUN_SH).unwrap();
        std::fs::write(work.join("README.md"), b"# infra\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                work.join("scripts/run.sh"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            std::os::unix::fs::symlink("a.yaml", work.join("apps/link.yaml")).unwrap();
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-qm", "initial"]);
        let url = format!("file://{}", bare.display());
        git(&work, &["remote", "add", "origin", &url]);
        git(&work, &["push", "-q", "origin", "main"]);
        git(&work, &["fetch", "-q", "origin"]);
        // Uncommitted work of the user: staged and unstaged changes, an untracked file.
        std::fs::write(work.join("README.md"), b"# infra (staged)\n").unwrap();
        git(&work, &["add", "README.md"]);
        std::fs::write(work.join("apps/a.yaml"), b"image: local-edit:0\n").unwrap();
        std::fs::write(work.join("notes.txt"), b"untracked\n").unwrap();
        Fixture {
            tmp,
            work,
            served,
            bare,
        }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// A request for `files` on [`BRANCH`] with explicit identities, base `main`.
    pub fn request<'a>(
        &'a self,
        remote: &'a str,
        files: &'a [(String, Vec<u8>)],
    ) -> PublishRequest<'a> {
        PublishRequest {
            repo: &self.work,
            base: None,
            branch: BRANCH,
            remote,
            files,
            message: "chore(images): update images for 2026-w04\n\n- apps/a.yaml: 1.0.0 -> 1.1.0",
            author: Some(bot()),
            committer: Some(bot()),
            signoff: false,
            force: false,
            timeout: std::time::Duration::from_secs(60),
        }
    }

    /// `git` in the bare remote.
    pub fn remote_git(&self, args: &[&str]) -> String {
        git(&self.bare, args)
    }

    /// Commit id of `rev` on the remote, `None` if it does not exist.
    pub fn remote_rev(&self, rev: &str) -> Option<String> {
        let out = try_git(&self.bare, &["rev-parse", "--verify", "--quiet", rev]);
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim().to_string())
    }

    /// Commit on the remote's `main` (through a scratch clone), as a colleague would.
    pub fn remote_commit_on(&self, branch: &str, file: &str, content: &[u8], message: &str) {
        let scratch = self.tmp.path().join(format!("scratch-{}", rand_suffix()));
        git(
            self.tmp.path(),
            &[
                "clone",
                "-q",
                "-b",
                branch,
                &self.url(),
                scratch.to_str().unwrap(),
            ],
        );
        std::fs::write(scratch.join(file), content).unwrap();
        git(&scratch, &["commit", "-qam", message]);
        git(&scratch, &["push", "-q", "origin", branch]);
    }

    /// Everything of the work repository that publishing must not change.
    pub fn snapshot(&self) -> Snapshot {
        let index = std::fs::read(self.work.join(".git/index")).unwrap();
        let mut files = Vec::new();
        collect_files(&self.work, &self.work, &mut files);
        Snapshot {
            status: git(
                &self.work,
                &["--no-optional-locks", "status", "--porcelain=v1", "-uall"],
            ),
            head: git(&self.work, &["rev-parse", "HEAD"]),
            head_ref: String::from_utf8(
                try_git(&self.work, &["symbolic-ref", "-q", "HEAD"]).stdout,
            )
            .unwrap(),
            refs: git(
                &self.work,
                &["for-each-ref", "--format=%(refname) %(objectname)"],
            ),
            index,
            files,
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}", N.fetch_add(1, Ordering::SeqCst))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == ".git" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            collect_files(root, &path, out);
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.push((rel, target.to_string_lossy().as_bytes().to_vec()));
        } else {
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub status: String,
    pub head: String,
    pub head_ref: String,
    pub refs: String,
    pub index: Vec<u8>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// `git daemon` serving a directory with push enabled on 127.0.0.1; killed on drop.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl GitDaemon {
    pub fn start(base_path: &Path) -> GitDaemon {
        init_env();
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            // Run `git-daemon` itself: `git daemon` would start it as a child process that
            // killing the `git` wrapper leaves behind.
            let exec_path = git(base_path, &["--exec-path"]);
            let mut child = Command::new(Path::new(&exec_path).join("git-daemon"))
                .arg("--reuseaddr")
                .arg("--export-all")
                .arg("--enable=receive-pack")
                .arg("--informative-errors")
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", base_path.display()))
                .arg(base_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("git daemon starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken meanwhile: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return GitDaemon { child, port };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("git daemon did not start");
    }

    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
