//! A loaded repository: the walk's files scanned in parallel (YAML tree, markers), the Flux
//! objects indexed, ready for the rules. Glue for walk → scan → model; owns no rule.

use std::path::{Path, PathBuf};

use crate::config::{read_pattern_tests, Config, PatternTest};
use crate::flux::index::FluxIndex;
use crate::flux::objects::{read_objects, API_GROUP};
use crate::scan::marker::{find_markers, may_hold_marker, FileMarkers};
use crate::scan::yaml::{YamlError, YamlFile};
use crate::source::{SourceFile, Span};
use crate::walk::{FileSet, ListError, ReadError, WalkOptions};

/// Suffix of files holding pattern tests for policies.
pub const TEST_FILE_SUFFIX: &str = ".imagepolicy-tests.yaml";

#[derive(Debug)]
pub struct ScannedFile {
    pub source: SourceFile,
    pub yaml: Result<YamlFile, YamlError>,
    pub markers: FileMarkers,
    /// The text names the Flux image API group (objects, or broken attempts at them).
    pub mentions_image_api: bool,
    /// kustomize-controller receives the file (`.sourceignore`, Flux's default excludes), so
    /// its objects are applied. Its markers count either way: image-automation-controller
    /// clones the repository itself.
    pub applied: bool,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub files_scanned: usize,
    pub yaml_files: usize,
}

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// The files Flux gets, as listed for this check.
    pub file_set: FileSet,
    pub files: Vec<ScannedFile>,
    pub index: FluxIndex,
    pub read_errors: Vec<ReadError>,
    pub pattern_tests: Vec<PatternTest>,
    /// Malformed pattern tests: file, span, message.
    pub pattern_test_errors: Vec<(usize, Span, String)>,
    pub stats: Stats,
}

/// Byte patterns that make a file worth parsing.
fn worth_parsing(path: &str, bytes: &[u8], config_path: Option<&str>) -> bool {
    may_hold_marker(bytes)
        || memchr::memmem::find(bytes, API_GROUP.as_bytes()).is_some()
        || memchr::memmem::find(bytes, b"fluxcd.io/automated").is_some()
        || memchr::memmem::find(bytes, b"fluxcd.io/tag.").is_some()
        || path.ends_with(TEST_FILE_SUFFIX)
        || crate::kustomize::is_kustomization_name(path.rsplit('/').next().unwrap_or(path))
        || Some(path) == config_path
}

impl Workspace {
    /// Loads the repository at `root`: the files git tracks there, or outside git the tree
    /// less its `.gitignore`d files (see `FileSet::of_directory`).
    pub fn load(root: &Path, config: &Config, jobs: usize) -> Result<Workspace, ListError> {
        Ok(Workspace::from_files(
            FileSet::of_directory(root)?,
            config,
            jobs,
        ))
    }

    /// Loads the given files (a commit's, for `--push`).
    pub fn from_files(file_set: FileSet, config: &Config, jobs: usize) -> Workspace {
        let counted = std::sync::atomic::AtomicUsize::new(0);
        let options = WalkOptions {
            jobs,
            include: &config.include,
            exclude: &config.exclude,
        };
        let config_path = config.path.as_deref();
        let (files, read_errors) = file_set.read(&options, |path, disk_path, bytes| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !worth_parsing(&path, &bytes, config_path) {
                return None;
            }
            let text = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
            };
            let applied = file_set.is_applied(&path);
            let mut file = scan_file(SourceFile::new(path, disk_path, text));
            file.applied = applied;
            Some(file)
        });
        let forced_namespaces = crate::kustomize::namespaces(&files);
        let objects = files
            .iter()
            .enumerate()
            .filter(|(_, file)| file.applied)
            .flat_map(|(i, file)| match &file.yaml {
                Ok(yaml) => read_objects(
                    yaml,
                    i,
                    forced_namespaces.get(&file.source.path).map(String::as_str),
                    &config.default_namespace,
                ),
                Err(_) => Vec::new(),
            })
            .collect();
        let mut pattern_tests = Vec::new();
        let mut pattern_test_errors = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let is_test_file = file.source.path.ends_with(TEST_FILE_SUFFIX)
                || Some(file.source.path.as_str()) == config_path;
            if let (true, Ok(yaml)) = (is_test_file, &file.yaml) {
                let (tests, errors) = read_pattern_tests(yaml, i);
                pattern_tests.extend(tests);
                pattern_test_errors
                    .extend(errors.into_iter().map(|(span, message)| (i, span, message)));
            }
        }
        let stats = Stats {
            files_scanned: counted.into_inner(),
            yaml_files: files.len(),
        };
        Workspace {
            root: file_set.root.clone(),
            file_set,
            index: FluxIndex::new(objects),
            files,
            read_errors,
            pattern_tests,
            pattern_test_errors,
            stats,
        }
    }

    pub fn file_by_path(&self, path: &str) -> Option<usize> {
        self.files.iter().position(|f| f.source.path == path)
    }
}

pub fn scan_file(source: SourceFile) -> ScannedFile {
    let yaml = YamlFile::parse(&source);
    let markers = match &yaml {
        Ok(yaml) => find_markers(&source.text, yaml),
        Err(_) => FileMarkers::default(),
    };
    let mentions_image_api =
        memchr::memmem::find(source.text.as_bytes(), API_GROUP.as_bytes()).is_some();
    ScannedFile {
        source,
        yaml,
        markers,
        mentions_image_api,
        applied: true,
    }
}
