//! Defect 3: temporary files never outlive the process. `--fix` over many files is killed at
//! random moments with SIGKILL or SIGTERM; every file must then hold its old bytes or its new
//! ones, SIGTERM must leave no stray file, SIGKILL at most our own dot-files, which the next run
//! removes.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{binary_path, Repo, DEPLOY, POLICIES};

const FILES: usize = 60;

/// A repository of `FILES` marked deployments, each padded to 64 KiB so writes take a while,
/// every third one private (0600).
fn many_files() -> (Repo, BTreeMap<String, Vec<u8>>) {
    let repo = Repo::new();
    std::fs::remove_file(repo.path("deploy.yaml")).unwrap();
    std::fs::write(repo.path("policies.yaml"), POLICIES).unwrap();
    let padding = format!("# {}\n", "x".repeat(78)).repeat(800);
    let mut originals = BTreeMap::new();
    for i in 0..FILES {
        let name = format!("deploy-{i:03}.yaml");
        let bytes = format!("{padding}{DEPLOY}").into_bytes();
        std::fs::write(repo.path(&name), &bytes).unwrap();
        if i.is_multiple_of(3) {
            std::fs::set_permissions(repo.path(&name), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        originals.insert(name, bytes);
    }
    (repo, originals)
}

fn fix_command(repo: &Repo) -> Command {
    let mut command = Command::new(binary_path());
    command
        .args([
            "check",
            repo.root().to_str().unwrap(),
            "--fix",
            "--tags-file",
        ])
        .arg(&repo.tags_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Every file holds its old bytes or exactly the new ones, with its old mode; returns the names
/// of any other files in the directory.
fn check_files(root: &Path, originals: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    for (name, old) in originals {
        let bytes = std::fs::read(root.join(name)).unwrap();
        let new = String::from_utf8(old.clone())
            .unwrap()
            .replace("app:1.0.0", "app:1.2.0")
            .into_bytes();
        assert!(bytes == *old || bytes == new, "{name} is torn");
        let mode = std::fs::metadata(root.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        let index: usize = name[7..10].parse().unwrap();
        assert_eq!(
            mode == 0o600,
            index.is_multiple_of(3),
            "{name} has mode {mode:o}"
        );
    }
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !originals.contains_key(name) && name != "policies.yaml")
        .collect()
}

/// Whether a temporary file of ours is in `dir`: `--fix` writes all of them before it renames
/// any.
fn has_temporary_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        name.contains(".flux-image-lint.") && name.ends_with(".tmp")
    })
}

/// The inode of `path`: a rename over it changes it.
fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

#[test]
fn killed_fix_runs_leave_old_or_new_bytes_and_no_stray_files() {
    let (repo, originals) = many_files();
    let first = repo.path(originals.keys().next().unwrap());
    // Rounds where the kill landed mid-write (some files new, some old), per signal.
    let mut mid_write = BTreeMap::from([(libc::SIGKILL, 0), (libc::SIGTERM, 0)]);
    let mut stray_after_sigkill = 0;
    for round in 0..16u32 {
        for (name, bytes) in &originals {
            std::fs::write(repo.path(name), bytes).unwrap();
        }
        let signal = if round % 2 == 0 {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        let before = inode(&first);
        let mut child = fix_command(&repo).spawn().unwrap();
        // Wait for the write phase (a temporary file written, or the first file replaced),
        // then kill a little later.
        let deadline = Instant::now() + Duration::from_secs(60);
        while inode(&first) == before
            && !has_temporary_file(&repo.root())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_micros(500));
        }
        // Each signal from no delay up: the write phase may be over in a few milliseconds (on a
        // disk whose flush costs nothing), and a signal that only ever came later never landed
        // mid-write.
        std::thread::sleep(Duration::from_millis(u64::from(round / 2) * 4));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        child.wait().unwrap();
        let stray = check_files(&repo.root(), &originals);
        let rewritten = originals
            .iter()
            .filter(|(name, old)| std::fs::read(repo.path(name)).unwrap() != **old)
            .count();
        if rewritten < FILES {
            *mid_write.get_mut(&signal).unwrap() += 1;
        }
        if signal == libc::SIGTERM {
            assert!(stray.is_empty(), "SIGTERM left {stray:?}");
        } else {
            stray_after_sigkill += stray.len();
            for name in &stray {
                assert!(
                    name.starts_with(".deploy-")
                        && name.contains(".flux-image-lint.")
                        && name.ends_with(".tmp"),
                    "SIGKILL left {name}"
                );
            }
        }
        // The next run finishes the job and removes what a killed one left.
        let status = fix_command(&repo).status().unwrap();
        assert_eq!(status.code(), Some(0));
        assert!(check_files(&repo.root(), &originals).is_empty());
    }
    eprintln!(
        "kills mid-write: {mid_write:?}; temporary files left by SIGKILL: {stray_after_sigkill}"
    );
    assert!(
        mid_write.values().all(|&n| n > 0),
        "no kill landed while files were being written: {mid_write:?}"
    );
}
