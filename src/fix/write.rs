//! Atomic file replacement that never outlives the process and never overwrites an edit.
//!
//! A new file's bytes go to a temporary file beside the target, named
//! `.<name>.flux-image-lint.<pid>.<n>.tmp` (a dot-file whose suffix `check` never reads), created
//! with the target's mode and, where the process may set it, its owner and group; it is flushed
//! to disk, the target is read again and compared with the bytes the plan was made from, and only
//! then is the temporary file renamed over it and the directory flushed. A crash leaves the old
//! file or the new one, never half of each.
//!
//! Many files at once ([`replace_all_unchanged`], `--fix`) keep every one of those steps but
//! share the flushes: every temporary file is written, they are flushed together (one `syncfs`
//! per file system on Linux; elsewhere each file, then each directory once), then each target is
//! checked and renamed over, and the renames are flushed together. Two waits for the disk in
//! all instead of two per file.
//!
//! Every temporary file is registered while it exists: SIGINT, SIGTERM and SIGHUP remove the
//! registered files and then end the process as the signal would have. SIGKILL cannot be caught:
//! it leaves at most one such dot-file per file being written, which the next run that writes
//! into that directory removes (its process is gone).

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Marks our temporary files; with the pid and the `.tmp` suffix it identifies stale ones.
const TEMP_MARK: &str = ".flux-image-lint.";
const TEMP_SUFFIX: &str = ".tmp";

/// Why a file was not replaced.
#[derive(Debug)]
pub enum WriteError {
    /// The file no longer holds the bytes the change was planned from: someone edited it.
    Changed,
    Io(io::Error),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Changed => {
                f.write_str("it changed on disk since it was read; left as it is, run again")
            }
            WriteError::Io(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<io::Error> for WriteError {
    fn from(error: io::Error) -> WriteError {
        WriteError::Io(error)
    }
}

/// One file for [`replace_all_unchanged`]: it must still hold `expected`, and gets `bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Replacement<'a> {
    pub path: &'a Path,
    pub expected: &'a [u8],
    pub bytes: &'a [u8],
}

/// Replaces each file, which must still hold exactly its `expected` bytes, with its new bytes,
/// the disk flushes shared (see the module docs). Each file's outcome, in order: a file that
/// fails or changed is left as it is, the others are replaced.
pub fn replace_all_unchanged(files: &[Replacement]) -> Vec<Result<(), WriteError>> {
    let mut outcomes: Vec<Result<(), WriteError>> = Vec::with_capacity(files.len());
    let mut prepared: Vec<Option<TempFile>> = Vec::with_capacity(files.len());
    let mut cleaned = BTreeSet::new();
    for file in files {
        match prepare(file, &mut cleaned) {
            Ok(temp) => {
                outcomes.push(Ok(()));
                prepared.push(Some(temp));
            }
            Err(error) => {
                outcomes.push(Err(error));
                prepared.push(None);
            }
        }
    }
    let temps: Vec<&Path> = prepared
        .iter()
        .flatten()
        .map(|t| t.path.as_path())
        .collect();
    if let Err(error) = flush(&temps, Flush::Data) {
        // Nothing is renamed: the temporary files go as `prepared` drops.
        return outcomes
            .into_iter()
            .map(|outcome| outcome.and(Err(io::Error::new(error.kind(), error.to_string()).into())))
            .collect();
    }
    let mut renamed = Vec::new();
    for ((file, temp), outcome) in files.iter().zip(prepared).zip(&mut outcomes) {
        let Some(temp) = temp else { continue };
        match temp.rename_if_unchanged(file.path, Some(file.expected)) {
            Ok(()) => renamed.push(file.path),
            Err(error) => *outcome = Err(error),
        }
    }
    // The new files are in place; a failed flush of their directories is not worth failing
    // the run for (a single replacement ignores it too).
    let _ = flush(&renamed, Flush::Entries);
    outcomes
}

/// The temporary file of one replacement, written and registered, not yet flushed. (Whether
/// the target still holds the expected bytes is checked once, right before the rename.)
fn prepare(file: &Replacement, cleaned: &mut BTreeSet<PathBuf>) -> Result<TempFile, WriteError> {
    let metadata = fs::metadata(file.path)?;
    if !metadata.is_file() {
        return Err(io::Error::other("not a regular file").into());
    }
    let dir = parent_dir(file.path);
    if cleaned.insert(dir.to_path_buf()) {
        remove_stale_temp_files(dir);
    }
    let (temp, mut handle) = TempFile::create(file.path, metadata.mode() & 0o7777)?;
    // Closed once written: thousands of open files would run into the descriptor limit.
    temp.write(&mut handle, file.bytes, Some(&metadata))?;
    Ok(temp)
}

/// What [`flush`] makes durable.
#[derive(Debug, Clone, Copy)]
enum Flush {
    /// The files' data.
    Data,
    /// The directory entries that name them (after a rename).
    Entries,
}

/// Flushes to disk what `what` says of these files: one `syncfs` per file system on Linux (it
/// covers both); elsewhere each file, or each directory once.
fn flush(paths: &[&Path], what: Flush) -> io::Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        let _ = what;
        syncfs_each(paths)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let targets: BTreeSet<&Path> = match what {
            Flush::Data => paths.iter().copied().collect(),
            Flush::Entries => paths.iter().map(|path| parent_dir(path)).collect(),
        };
        for target in targets {
            fs::File::open(target)?.sync_all()?;
        }
        Ok(())
    }
}

/// `syncfs` once for each file system these paths are on.
#[cfg(target_os = "linux")]
fn syncfs_each(paths: &[&Path]) -> io::Result<()> {
    let mut by_device: std::collections::BTreeMap<u64, &Path> = Default::default();
    for path in paths {
        let dir = parent_dir(path);
        by_device.entry(fs::metadata(dir)?.dev()).or_insert(dir);
    }
    for dir in by_device.values() {
        let handle = fs::File::open(dir)?;
        // SAFETY: a valid descriptor, owned by `handle` for the duration of the call.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&handle)) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes`, keeping its mode and owner (a file we own, like the tags file).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes).map_err(|error| match error {
        WriteError::Io(error) => error,
        WriteError::Changed => io::Error::other(error.to_string()),
    })
}

/// Writes a file that may not exist yet (same atomicity; a new file gets the default mode).
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.exists() {
        return write_atomic(path, bytes);
    }
    let (temp, file) = TempFile::create(path, 0o666)?;
    temp.finish(file, path, bytes, None)
        .map_err(|error| match error {
            WriteError::Io(error) => error,
            WriteError::Changed => io::Error::other(error.to_string()),
        })
}

fn replace(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let metadata = fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(io::Error::other("not a regular file").into());
    }
    remove_stale_temp_files(parent_dir(path));
    let (temp, file) = TempFile::create(path, metadata.mode() & 0o7777)?;
    temp.finish(file, path, bytes, Some(&metadata))
}

/// Whether `path` holds exactly `expected`.
fn holds(path: &Path, expected: &[u8]) -> io::Result<bool> {
    use crate::limits::{read_regular_file, ReadFileError};
    match read_regular_file(path, expected.len() as u64) {
        Ok(current) => Ok(current == expected),
        // Larger than before is a change too; so is a file replaced by a FIFO.
        Err(ReadFileError::TooLarge { .. } | ReadFileError::Special(_)) => Ok(false),
        Err(ReadFileError::Io(error)) => Err(error),
    }
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A registered temporary file beside its target; removed on drop unless renamed.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// The file and an open handle to write it through.
    fn create(target: &Path, mode: u32) -> io::Result<(TempFile, fs::File)> {
        install_signal_cleanup();
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Long names stay under the file system's 255-byte limit.
        let name = crate::http::clip(&name, 150);
        for attempt in 0..100u32 {
            let candidate = dir.join(format!(
                ".{name}{TEMP_MARK}{}.{attempt}{TEMP_SUFFIX}",
                std::process::id()
            ));
            // Registered before it exists, so no signal can come between creation and record.
            let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
            registry.insert(candidate.clone());
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&candidate)
            {
                Ok(file) => return Ok((TempFile { path: candidate }, file)),
                Err(error) => {
                    registry.remove(&candidate);
                    if error.kind() != io::ErrorKind::AlreadyExists {
                        return Err(error);
                    }
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary file name",
        ))
    }

    /// Writes the bytes and takes the target's owner and mode; not flushed yet.
    fn write(
        &self,
        file: &mut fs::File,
        bytes: &[u8],
        old: Option<&fs::Metadata>,
    ) -> io::Result<()> {
        file.write_all(bytes)?;
        if let Some(old) = old {
            // Changing the owner clears set-id bits, so the mode comes after it.
            take_owner(file, old);
            file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))?;
        }
        Ok(())
    }

    /// Writes, flushes, renames over the target and flushes the directory.
    fn finish(
        self,
        mut file: fs::File,
        target: &Path,
        bytes: &[u8],
        old: Option<&fs::Metadata>,
    ) -> Result<(), WriteError> {
        self.write(&mut file, bytes, old)?;
        file.sync_all()?;
        self.rename_if_unchanged(target, None)?;
        if let Ok(dir) = fs::File::open(parent_dir(target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Checks the target still holds `expected` and renames over it (the data already flushed).
    fn rename_if_unchanged(self, target: &Path, expected: Option<&[u8]>) -> Result<(), WriteError> {
        // Held across the check and the rename: a signal waits for the rename to finish.
        let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(expected) = expected {
            if !holds(target, expected)? {
                return Err(WriteError::Changed);
            }
        }
        fs::rename(&self.path, target)?;
        registry.remove(&self.path);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
        if registry.remove(&self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Gives the new file the old one's owner and group where allowed: root may set both, a member
/// of the file's group may set the group. Anything else keeps the process's own.
fn take_owner(file: &fs::File, old: &fs::Metadata) {
    let Ok(new) = file.metadata() else { return };
    if new.uid() == old.uid() && new.gid() == old.gid() {
        return;
    }
    if std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
    }
}

fn registry() -> &'static Mutex<BTreeSet<PathBuf>> {
    static TEMP_FILES: OnceLock<Mutex<BTreeSet<PathBuf>>> = OnceLock::new();
    TEMP_FILES.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// On SIGINT, SIGTERM or SIGHUP: remove every registered temporary file, then die of the signal.
/// The registry stays locked, so no new temporary file appears and no rename is cut in half.
fn install_signal_cleanup() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let registry = registry().lock().unwrap_or_else(|e| e.into_inner());
                for path in registry.iter() {
                    let _ = fs::remove_file(path);
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    });
}

/// Removes temporary files of ours in `dir` whose process no longer runs (killed by SIGKILL or a
/// power cut). Another run's live files are left alone.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else {
            continue;
        };
        if pid != std::process::id() && !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The pid in `.<name>.flux-image-lint.<pid>.<n>.tmp`.
fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (_, numbers) = rest.rsplit_once(TEMP_MARK)?;
    let (pid, attempt) = numbers.split_once('.')?;
    attempt.parse::<u32>().ok()?;
    pid.parse().ok()
}

fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence only; EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing and has no memory effects.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn replace_unchanged(path: &Path, expected: &[u8], bytes: &[u8]) -> Result<(), WriteError> {
        let file = Replacement {
            path,
            expected,
            bytes,
        };
        replace_all_unchanged(&[file]).pop().unwrap()
    }

    #[test]
    fn many_files_are_replaced_and_a_changed_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..20)
            .map(|i| dir.path().join(format!("d{}/f{i}.yaml", i % 3)))
            .collect();
        for (i, path) in paths.iter().enumerate() {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("old {i}")).unwrap();
            fs::set_permissions(
                path,
                fs::Permissions::from_mode(0o600 + (i as u32 % 2) * 0o44),
            )
            .unwrap();
        }
        fs::write(&paths[7], "edited by someone").unwrap();
        let old: Vec<String> = (0..20).map(|i| format!("old {i}")).collect();
        let new: Vec<String> = (0..20).map(|i| format!("new {i}")).collect();
        let files: Vec<Replacement> = paths
            .iter()
            .enumerate()
            .map(|(i, path)| Replacement {
                path,
                expected: old[i].as_bytes(),
                bytes: new[i].as_bytes(),
            })
            .collect();
        let outcomes = replace_all_unchanged(&files);
        for (i, (path, outcome)) in paths.iter().zip(&outcomes).enumerate() {
            let text = fs::read_to_string(path).unwrap();
            if i == 7 {
                assert!(matches!(outcome, Err(WriteError::Changed)), "{outcome:?}");
                assert_eq!(text, "edited by someone");
            } else {
                assert!(outcome.is_ok(), "{outcome:?}");
                assert_eq!(text, new[i]);
            }
            let mode = fs::metadata(path).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o600 + (i as u32 % 2) * 0o44, "{}", path.display());
        }
        for sub in ["d0", "d1", "d2"] {
            let names = names(&dir.path().join(sub));
            assert!(
                names
                    .iter()
                    .all(|n| n.ends_with(".yaml") && !n.starts_with('.')),
                "{names:?}"
            );
        }
    }

    #[test]
    fn replaces_content_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        replace_unchanged(&path, b"old", b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(names(dir.path()), ["a.yaml"], "no temporary file left");
    }

    #[test]
    fn the_owner_is_kept_where_the_process_may_set_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, "old").unwrap();
        // SAFETY: geteuid cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let (uid, gid) = if root {
            (65534, 65534)
        } else {
            let m = fs::metadata(&path).unwrap();
            (m.uid(), m.gid())
        };
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        replace_unchanged(&path, b"old", b"new").unwrap();
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!((metadata.uid(), metadata.gid()), (uid, gid));
    }

    #[test]
    fn an_edited_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, "edited by someone").unwrap();
        let error = replace_unchanged(&path, b"old", b"new").unwrap_err();
        assert!(matches!(error, WriteError::Changed), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "edited by someone");
        fs::write(&path, "old plus more").unwrap();
        assert!(matches!(
            replace_unchanged(&path, b"old", b"new"),
            Err(WriteError::Changed)
        ));
        assert_eq!(names(dir.path()), ["a.yaml"]);
    }

    #[test]
    fn stale_temp_files_of_dead_processes_go() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's maximum never runs.
        let stale = format!(".a.yaml{TEMP_MARK}{}.0{TEMP_SUFFIX}", i32::MAX as u32 - 1);
        let live = format!(".a.yaml{TEMP_MARK}1.0{TEMP_SUFFIX}");
        for name in [&stale, &live, &".a.yaml.tmp".to_string()] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        fs::write(dir.path().join("a.yaml"), "old").unwrap();
        write_atomic(&dir.path().join("a.yaml"), b"new").unwrap();
        assert_eq!(names(dir.path()), [&live, ".a.yaml.tmp", "a.yaml"]);
        assert_eq!(temp_file_pid(&live), Some(1));
        assert_eq!(temp_file_pid(".a.yaml.tmp"), None);
        assert_eq!(temp_file_pid("a.yaml"), None);
    }

    #[test]
    fn new_files_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tags.json");
        write_new(&path, b"{}").unwrap();
        write_new(&path, b"{\"a\":[]}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":[]}");
        assert_eq!(names(dir.path()), ["tags.json"]);
    }
}
