//! Running the binary under measurement: exit status, output, peak memory, and a timeout that
//! kills the run (never a duration assertion). `HOSTILE_PEAKS=1` prints each run's peak.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most memory any run may use.
pub const MAX_RSS_MB: u64 = 256;
/// Long enough for any run here on a loaded 2-core machine; only a hang reaches it.
pub const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub peak_rss_mb: u64,
    pub timed_out: bool,
}

impl Outcome {
    /// Exit 0, 1 or 2, no panic, within the memory bound; returns the exit code.
    pub fn sane(&self) -> i32 {
        assert!(!self.timed_out, "the run hung and was killed: {self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "the run panicked: {self:#?}"
        );
        let code = self
            .code
            .unwrap_or_else(|| panic!("ended by signal {:?}: {self:#?}", self.signal));
        assert!(matches!(code, 0..=2), "exit code {code}: {self:#?}");
        if std::env::var_os("HOSTILE_PEAKS").is_some() {
            eprintln!("peak resident set: {} MB", self.peak_rss_mb);
        }
        assert!(
            self.peak_rss_mb < MAX_RSS_MB,
            "peak memory {} MB: {self:#?}",
            self.peak_rss_mb
        );
        code
    }

    /// Asserts the exit code (through [`Outcome::sane`]) and that stderr says `message`.
    pub fn exits_saying(&self, code: i32, message: &str) {
        assert_eq!(self.sane(), code, "{self:#?}");
        assert!(self.stderr.contains(message), "{}", self.stderr);
    }

    /// Asserts the exit code and that stdout says `message`.
    pub fn exits_reporting(&self, code: i32, message: &str) {
        assert_eq!(self.sane(), code, "{self:#?}");
        assert!(self.stdout.contains(message), "{}", self.stdout);
    }
}

pub fn binary_path() -> &'static str {
    env!("CARGO_BIN_EXE_flux-image-lint")
}

/// Runs the binary with `args` in `cwd`.
pub fn run(args: &[&str], cwd: &Path) -> Outcome {
    let mut command = Command::new(binary_path());
    command.args(args);
    run_command(command, cwd)
}

/// Runs `command` (the binary, or a wrapper around it) and reaps it with `wait4` for its own
/// resource usage; kills it after [`TIMEOUT`].
pub fn run_command(mut command: Command, cwd: &Path) -> Outcome {
    command
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let mut timed_out = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own unreaped child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert!(reaped == 0, "wait4 failed");
        if started.elapsed() > TIMEOUT && !timed_out {
            timed_out = true;
            // SAFETY: sending a signal to our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The child is reaped by hand; `Child` must not wait for it again.
    std::mem::forget(child);
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Outcome {
        code,
        signal,
        stdout: String::from_utf8_lossy(&stdout.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        // Linux reports kilobytes.
        peak_rss_mb: usage.ru_maxrss as u64 / 1024,
        timed_out,
    }
}

/// A small repository: one ImageRepository and ImagePolicy (`flux-system:app`, semver), and
/// `deploy.yaml` with one marked image. Returns the tags file path beside it (outside the
/// repository).
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub tags_file: std::path::PathBuf,
}

pub const POLICIES: &str = "apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: ghcr.io/org/app
  interval: 12h
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: '>=1.0.0'
";

pub const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}
";

impl Repo {
    pub fn new() -> Repo {
        Repo::with_tags(r#"{"ghcr.io/org/app": ["1.0.0", "1.2.0"]}"#)
    }

    pub fn with_tags(tags_json: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        std::fs::write(dir.path().join("repo/policies.yaml"), POLICIES).unwrap();
        std::fs::write(dir.path().join("repo/deploy.yaml"), DEPLOY).unwrap();
        let tags_file = dir.path().join("tags.json");
        std::fs::write(&tags_file, tags_json).unwrap();
        Repo { dir, tags_file }
    }

    pub fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    pub fn path(&self, relative: &str) -> std::path::PathBuf {
        self.root().join(relative)
    }

    /// `check <root> ARGS…`.
    pub fn check(&self, args: &[&str]) -> Outcome {
        let root = self.root();
        let mut all = vec!["check", root.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all, self.dir.path())
    }

    /// `check <root> --fix --tags-file <tags> ARGS…`.
    pub fn fix(&self, args: &[&str]) -> Outcome {
        let tags = self.tags_file.to_str().unwrap().to_string();
        let mut all = vec!["--fix", "--tags-file", &tags];
        all.extend_from_slice(args);
        self.check(&all)
    }
}

pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}
