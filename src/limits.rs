//! Bounds on everything read from outside the process, and the one way to read a file given by
//! name: refused unless it is a regular file, never blocking on a FIFO, never read past a limit.
//! Each limit's error names its source and the limit, so a hostile or broken input is a clear
//! message instead of an exhausted machine.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// A repository file larger than this is reported, not read (config key `max_file_size`).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * MIB;
/// `.flux-image-lint.yaml` or `--config`.
pub const MAX_CONFIG_SIZE: u64 = MIB;
/// `--tags-file`.
pub const MAX_TAGS_FILE_SIZE: u64 = 64 * MIB;
/// Tags kept for one repository; a registry listing more is an error.
pub const MAX_TAGS_PER_REPOSITORY: usize = 100_000;
/// Pages followed for one tag listing.
pub const MAX_PAGES_PER_LISTING: usize = 2_000;
/// Response bytes accepted from one registry host in one run, all requests together.
pub const MAX_BYTES_PER_REGISTRY: u64 = 128 * MIB;

pub const MIB: u64 = 1024 * 1024;

/// `bytes` for messages: `16 MiB`, `1.5 MiB`, `900 bytes`.
pub fn format_size(bytes: u64) -> String {
    if bytes >= MIB {
        let tenths = bytes * 10 / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MiB", tenths / 10)
        } else {
            format!("{}.{} MiB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file that is not a regular file is, for messages.
pub fn special_kind(file_type: fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        None
    } else if file_type.is_fifo() {
        Some("a FIFO")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_dir() {
        Some("a directory")
    } else {
        Some("not a regular file")
    }
}

/// Why a file given by name was not read.
#[derive(Debug)]
pub enum ReadFileError {
    /// A FIFO, socket, device or directory: refused before reading.
    Special(&'static str),
    /// Larger than the limit: refused before reading.
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl std::fmt::Display for ReadFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFileError::Special(kind) => write!(f, "{kind}, not a regular file; not read"),
            ReadFileError::TooLarge { size, limit } => write!(
                f,
                "{}, over the limit of {}; not read",
                format_size(*size),
                format_size(*limit)
            ),
            ReadFileError::Io(error) => error.fmt(f),
        }
    }
}

/// Reads a regular file of at most `limit` bytes. Anything else is refused before a byte is
/// read: a special file is checked before opening and again on the opened handle (opened
/// non-blocking, so a FIFO swapped in between cannot hang the run).
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadFileError> {
    let metadata = fs::metadata(path).map_err(ReadFileError::Io)?;
    read_checked(path, &metadata, limit, 0)
}

/// A path the walk listed, whose type it does not know: `None` for a symlink (never followed),
/// a directory or nothing; otherwise read as [`read_regular_file`] reads. Opened first, without
/// following a final symlink, and checked on the handle: one path lookup per file instead of
/// two (`lstat`, then `open`), a tenth of the time spent reading a large repository.
pub fn read_listed_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, ReadFileError> {
    let file = match open(path, libc::O_NOFOLLOW) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A symlink (`ELOOP`), a socket (`ENXIO`), …: what the path is says which.
        Err(_) => {
            return match fs::symlink_metadata(path) {
                Ok(metadata) if metadata.is_symlink() || metadata.is_dir() => Ok(None),
                Ok(metadata) => read_checked(path, &metadata, limit, libc::O_NOFOLLOW).map(Some),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(ReadFileError::Io(error)),
            }
        }
    };
    let metadata = file.metadata().map_err(ReadFileError::Io)?;
    if metadata.is_dir() {
        return Ok(None);
    }
    read_opened(file, &metadata, limit).map(Some)
}

fn read_checked(
    path: &Path,
    metadata: &fs::Metadata,
    limit: u64,
    open_flags: i32,
) -> Result<Vec<u8>, ReadFileError> {
    refuse_special_or_large(metadata, limit)?;
    let file = open(path, open_flags).map_err(ReadFileError::Io)?;
    let metadata = file.metadata().map_err(ReadFileError::Io)?;
    read_opened(file, &metadata, limit)
}

/// Non-blocking, so that opening a FIFO (swapped in since it was checked) cannot hang the run.
fn open(path: &Path, flags: i32) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | flags)
        .open(path)
}

/// Reads an open file whose handle says it is `metadata`.
fn read_opened(
    file: fs::File,
    metadata: &fs::Metadata,
    limit: u64,
) -> Result<Vec<u8>, ReadFileError> {
    refuse_special_or_large(metadata, limit)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The length the handle reported, no more: one `read` takes a whole file, where reading to
    // its end takes a second to find it (20,000 system calls at 20,000 files), and a file
    // growing meanwhile stops where it stood, within the limit.
    file.take(metadata.len())
        .read_to_end(&mut bytes)
        .map_err(ReadFileError::Io)?;
    Ok(bytes)
}

fn refuse_special_or_large(metadata: &fs::Metadata, limit: u64) -> Result<(), ReadFileError> {
    if let Some(kind) = special_kind(metadata.file_type()) {
        return Err(ReadFileError::Special(kind));
    }
    if metadata.len() > limit {
        return Err(ReadFileError::TooLarge {
            size: metadata.len(),
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(format_size(900), "900 bytes");
        assert_eq!(format_size(16 * MIB), "16 MiB");
        assert_eq!(format_size(3 * MIB / 2), "1.5 MiB");
    }

    #[test]
    fn refuses_fifos_devices_and_large_files_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = read_regular_file(&fifo, MIB).unwrap_err().to_string();
        assert!(error.contains("a FIFO, not a regular file"), "{error}");
        let error = read_regular_file(Path::new("/dev/zero"), MIB)
            .unwrap_err()
            .to_string();
        assert!(error.contains("a character device"), "{error}");
        let big = dir.path().join("big.yaml");
        fs::write(&big, vec![b'a'; 2048]).unwrap();
        let error = read_regular_file(&big, 1024).unwrap_err().to_string();
        assert!(error.contains("over the limit of 1024 bytes"), "{error}");
        assert_eq!(read_regular_file(&big, 2048).unwrap().len(), 2048);
    }

    #[test]
    fn a_listed_path_is_read_only_when_it_is_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        fs::write(&file, "kind: A\n").unwrap();
        let read = |name: &str| read_listed_file(&dir.path().join(name), MIB);
        assert_eq!(read("a.yaml").unwrap().unwrap(), b"kind: A\n");
        std::os::unix::fs::symlink(&file, dir.path().join("link.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
        fs::create_dir(dir.path().join("folder.yaml")).unwrap();
        for nothing in ["link.yaml", "zero.yaml", "folder.yaml", "gone.yaml"] {
            assert!(read(nothing).unwrap().is_none(), "{nothing}");
        }
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("fifo.yaml"))
            .status()
            .unwrap();
        assert!(status.success());
        let error = read("fifo.yaml").unwrap_err().to_string();
        assert!(error.contains("a FIFO, not a regular file"), "{error}");
        let _socket =
            std::os::unix::net::UnixListener::bind(dir.path().join("socket.yaml")).unwrap();
        let error = read("socket.yaml").unwrap_err().to_string();
        assert!(error.contains("a socket, not a regular file"), "{error}");
        let error = read_listed_file(&file, 4).unwrap_err().to_string();
        assert!(error.contains("over the limit of 4 bytes"), "{error}");
    }
}
