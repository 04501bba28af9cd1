//! A loaded repository: the walk's files scanned in parallel (YAML tree, markers), then the files
//! the kustomizations name, the model of what Flux applies and its objects indexed, ready for
//! the rules. Glue for walk → scan → model; owns no rule.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

use memchr::memmem::Finder;

use crate::config::{read_pattern_tests, Config, PatternTest};
use crate::flux::automation::normalize;
use crate::flux::index::FluxIndex;
use crate::flux::objects::API_GROUP;
use crate::flux::objects::{FluxObject, PolicySpec};
use crate::flux::versions::{Fluxes, PIN_PATTERNS};
use crate::model::kustomization::is_kustomization_name;
use crate::model::tree::Node;
use crate::model::{self, Model};
use crate::scan::marker::{find_markers, may_hold_marker, FileMarkers};
use crate::scan::yaml::{YamlError, YamlErrorKind, YamlFile};
use crate::source::{SourceFile, Span};
use crate::walk::{lies_under, FileSet, ListError, ListedPaths, ReadError, WalkOptions};

/// Suffix of files holding pattern tests for policies.
pub const TEST_FILE_SUFFIX: &str = ".imagepolicy-tests.yaml";

#[derive(Debug)]
pub struct ScannedFile {
    pub source: SourceFile,
    /// The file's tree, with no documents where `identities` holds what is kept of it: read
    /// [`ScannedFile::tree`] for the whole of any file.
    pub yaml: Result<YamlFile, YamlError>,
    /// For a file parsed for its markers alone, its objects' identities as a build takes them
    /// in: its tree is let go once they and the markers are read, and parsed again for a build
    /// that reaches further in. The trees of those files (most of a large repository's parsed
    /// files) were a third of the peak memory, kept from the walk until the rules end.
    pub identities: Option<Box<[Arc<Node>]>>,
    pub markers: FileMarkers,
    /// The text names the Flux image API group (objects, or broken attempts at them).
    pub mentions_image_api: bool,
    /// The text may hold an ignore comment: the only texts the rules search for them.
    pub mentions_suppression: bool,
    /// kustomize-controller receives the file (`.sourceignore`, Flux's default excludes), so
    /// its objects can be applied. Its markers count either way: image-automation-controller
    /// clones the repository itself.
    pub applied: bool,
}

/// A file's whole tree: the one it kept, or one parsed again.
pub enum Tree<'a> {
    Kept(&'a YamlFile),
    ParsedAgain(Rc<YamlFile>),
}

impl std::ops::Deref for Tree<'_> {
    type Target = YamlFile;

    fn deref(&self) -> &YamlFile {
        match self {
            Tree::Kept(yaml) => yaml,
            Tree::ParsedAgain(yaml) => yaml,
        }
    }
}

/// How many trees parsed again each thread keeps: a build reads into the objects of a
/// kustomization's few files, each in several steps (patches, then `images`, then labels).
const TREES_PARSED_AGAIN: usize = 8;

thread_local! {
    /// The trees this thread parsed again, the most recently asked first, each with its file's
    /// [`SourceFile::id`].
    static PARSED_AGAIN: RefCell<Vec<(u64, Rc<YamlFile>)>> = const { RefCell::new(Vec::new()) };
}

impl ScannedFile {
    /// The file's whole tree.
    pub fn tree(&self) -> Result<Tree<'_>, &YamlError> {
        if self.identities.is_none() {
            return self.yaml.as_ref().map(Tree::Kept);
        }
        // The text read again is the one scanned (its length and hash), so it parses again to
        // the tree the identities were taken from: the error is met only where the file
        // changed since, which fails the run ([`Workspace::read_as_scanned`]).
        static NOT_PARSED_AGAIN: LazyLock<YamlError> = LazyLock::new(|| {
            YamlError::new("parsed once, not again".into(), 0, YamlErrorKind::Syntax)
        });
        parsed_again(&self.source)
            .map(Tree::ParsedAgain)
            .ok_or(&*NOT_PARSED_AGAIN)
    }

    /// What a file just scanned keeps: a UTF-16 file that was decoded loses its markers (see
    /// [`as_utf8`]) and keeps its text and tree; one wanted only for its markers or objects'
    /// identities keeps those, its tree and text read again from the disk when asked (a
    /// commit's files are held in memory: their text stays).
    fn settle(&mut self, decoded: bool, identities_alone: bool, file_set: &FileSet) {
        if decoded {
            self.markers = FileMarkers::default();
        } else if identities_alone {
            self.let_tree_go();
            if let Some(disk_path) = file_set.disk_path(&self.source.path) {
                self.let_text_go(disk_path);
            }
        }
    }

    /// Lets the text go, to be read again from the disk when asked, once the tree is let go: the
    /// tree held it too.
    fn let_text_go(&mut self, disk_path: PathBuf) {
        if self.identities.is_some() {
            self.source.let_text_go(disk_path);
        }
    }

    /// Keeps of the tree only the identities of the file's objects, where a build reads no more
    /// of them before a patch reaches in.
    fn let_tree_go(&mut self) {
        if let Ok(yaml) = &self.yaml {
            self.identities = model::render::identities_alone(yaml);
            if self.identities.is_some() {
                self.yaml = Ok(YamlFile::default());
            }
        }
    }
}

/// The tree of a file that let it go, from this thread's last few or parsed again.
fn parsed_again(source: &SourceFile) -> Option<Rc<YamlFile>> {
    PARSED_AGAIN.with_borrow_mut(|kept| {
        if let Some(at) = kept.iter().position(|(id, _)| *id == source.id()) {
            let found = kept.remove(at);
            let tree = Rc::clone(&found.1);
            kept.insert(0, found);
            return Some(tree);
        }
        // A source of its own: the line table the parse builds goes with it, and so does a text
        // read again from the disk.
        let again = SourceFile::new(source.path.clone(), source.passing_text()?);
        let tree = Rc::new(YamlFile::parse(&again).ok()?);
        kept.truncate(TREES_PARSED_AGAIN - 1);
        kept.insert(0, (source.id(), Rc::clone(&tree)));
        Some(tree)
    })
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
    /// Renders, clusters, build errors and notes: what Flux applies.
    pub model: Model,
    /// Each cluster's Flux and the repository's: how policies are compiled and objects judged.
    pub fluxes: Fluxes,
    /// Every YAML file of the walk, parsed or not: what kustomize-controller lists in the
    /// kustomization it generates for a folder that has none.
    pub yaml_paths: ListedPaths,
    /// With clusters, the files that get diagnostics: those a cluster reaches, and those under
    /// the `update.path` of an automation a cluster applies. `None`: every file.
    reached: Option<BTreeSet<usize>>,
    pub read_errors: Vec<ReadError>,
    pub pattern_tests: Vec<PatternTest>,
    /// Malformed pattern tests: file, span, message.
    pub pattern_test_errors: Vec<(usize, Span, String)>,
    pub stats: Stats,
    /// Threads the stages after the walk may use (`--jobs`).
    pub jobs: usize,
}

/// API groups of the Flux objects the cluster model reads: Kustomizations and their sources,
/// HelmReleases (chart folders), FluxInstances.
const FLUX_GROUPS: [&str; 5] = [
    "kustomize.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "fluxcd.controlplane.io",
    // ArtifactGenerators (Flux 2.7), which may make what a Flux Kustomization builds.
    "source.extensions.fluxcd.io",
];

/// Whether every file that writes an object of API group `group` is read: the image API and the
/// Flux groups are among the byte patterns, so a file passed over writes none of their objects.
pub fn files_writing_group_are_read(group: &str) -> bool {
    group == API_GROUP || FLUX_GROUPS.contains(&group)
}

/// Searchers for the byte patterns that make a file worth parsing, built once: every file of
/// the walk is searched for each, and building a searcher costs more than searching a small file.
static FLUX_PATTERNS: LazyLock<Vec<Finder<'static>>> = LazyLock::new(|| {
    [API_GROUP, "fluxcd.io/automated", "fluxcd.io/tag."]
        .into_iter()
        .chain(FLUX_GROUPS)
        .chain(PIN_PATTERNS.iter().copied())
        .map(Finder::new)
        .collect()
});

/// Every pattern of [`FLUX_PATTERNS`] holds one of these: a file with neither (most files) holds
/// none, and is searched twice instead of once per pattern.
static FLUX_PATTERN_PARTS: LazyLock<[Finder<'static>; 2]> =
    LazyLock::new(|| [Finder::new("lux"), Finder::new("-controller:")]);

static IMAGE_API: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(API_GROUP));
static SUPPRESSION: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(crate::scan::SUPPRESSION_PREFIX));

/// What the walk made of a file it read.
enum Walked {
    /// Boxed: every file read has a slot until the walk ends, most of them passed over.
    Parsed(Box<ScannedFile>),
    /// Nothing Flux-related found in its bytes: not parsed. Its objects' kinds and names
    /// say whether a patch names one of them.
    PassedOver {
        path: String,
        applied: bool,
        identities: model::ObjectKeys,
    },
    /// Nothing Flux-related either, but a document without a kind, which fails a build that
    /// takes the file in: kept while Flux receives it.
    WithoutKind(Box<ScannedFile>),
}

/// What the lines of a file the byte search passed over tell, read once.
struct LinesRead {
    /// Whether the file may fail a build that takes it in (see [`read_lines`]).
    may_fail: bool,
    /// The kind and name of each object it writes in block style: a `kind:` at column 0, and
    /// the `name:` among the first keys under a `metadata:` at column 0 (empty where there is
    /// none). What it misses is only not read for a patch.
    identities: model::ObjectKeys,
}

/// Whether `bytes` may fail a build that takes the file in, seen line by line: a line starts
/// with text no block-style YAML document holds at column 0 (not blank, indented, a comment, a
/// sequence entry, a document marker or directive, a quoted key or a flow collection's bracket,
/// nor a mapping key: `: ` or a `:` ending the line); a line runs on, indented deeper, from a
/// key's plain value (`containerPort: 9898` over a `protocol: TCP` indented too far, which
/// yaml.v3 refuses; or a plain scalar of several lines, rare in manifests); an indented line
/// opens with `{{` (a template's action, which YAML reads as a flow mapping); or a document has
/// keys at column 0 but no `kind` among them (a `sops.yaml` of creation rules, a chart's
/// values) Flux receives (`received`). Each is parsed to know. Where none may fail, the
/// objects the lines write.
fn read_lines(bytes: &[u8], received: bool) -> LinesRead {
    let fails = LinesRead {
        may_fail: true,
        identities: model::ObjectKeys::default(),
    };
    let mut identities = model::ObjectKeys::default();
    // The document's `kind`, and its name once read; the indentation of `metadata`'s keys while
    // it is the block being read.
    let (mut written_kind, mut name): (Option<&str>, Option<&str>) = (None, None);
    let mut metadata_indent: Option<Option<usize>> = None;
    let mut end_document = |kind: &mut Option<&str>, name: &mut Option<&str>| {
        if let Some(kind) = kind.take() {
            identities.add(model::ObjectKeys::of(kind, name.take().unwrap_or_default()));
        }
        *name = None;
    };
    let (mut keys, mut kind) = (false, false);
    // The last line that is not blank or a comment, with its indentation: read again only where
    // a line comes deeper (a third of a manifest's lines do).
    let mut last: Option<(usize, &[u8])> = None;
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at);
        let line = &bytes[start..end];
        start = end + 1;
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let content = &line[indent..];
        if matches!(content.first(), None | Some(b'#' | b'\r')) {
            continue;
        }
        // A deeper line running on from a key's plain value, or a template's action inside a
        // mapping (raolivei/pi-fleet's `{{- if .token }}` in an ExternalSecret's `data`).
        let runs_on = last.is_some_and(|(last_indent, last_content)| {
            indent > last_indent
                && plain_value_key_column(last_content)
                    .is_some_and(|column| indent > last_indent + column)
        });
        if runs_on || (indent > 0 && content.starts_with(b"{{")) {
            return fails;
        }
        last = Some((indent, content));
        if indent > 0 {
            if let Some(keys_indent) = &mut metadata_indent {
                if *keys_indent.get_or_insert(indent) == indent && name.is_none() {
                    name = content.strip_prefix(b"name:").and_then(written_value);
                }
            }
            continue;
        }
        metadata_indent = line.starts_with(b"metadata:").then_some(None);
        match line[0] {
            b'\t' | b'.' | b'%' | b'{' | b'}' | b'[' | b']' => {}
            b'-' => {
                if line.starts_with(b"---") {
                    if received && keys && !kind {
                        return fails;
                    }
                    (keys, kind) = (false, false);
                    end_document(&mut written_kind, &mut name);
                }
            }
            b'"' | b'\'' => {
                keys = true;
                kind |= line[1..].starts_with(b"kind");
            }
            _ => {
                let is_key = memchr::memchr_iter(b':', line)
                    .any(|colon| matches!(line.get(colon + 1), None | Some(b' ' | b'\t' | b'\r')));
                if !is_key {
                    return fails;
                }
                keys = true;
                kind |= line.starts_with(b"kind:") || line.starts_with(b"kind ");
                if let Some(value) = line.strip_prefix(b"kind:") {
                    written_kind = written_value(value);
                }
            }
        }
    }
    end_document(&mut written_kind, &mut name);
    LinesRead {
        may_fail: received && keys && !kind,
        identities,
    }
}

/// A plain or quoted one-line value as written after its key's `:`, less a comment.
fn written_value(after_colon: &[u8]) -> Option<&str> {
    let value = after_colon.split(|&b| b == b'#').next().unwrap_or_default();
    let value = std::str::from_utf8(value)
        .ok()?
        .trim()
        .trim_matches(['"', '\'']);
    (!value.is_empty()).then_some(value)
}

/// Where the key starts in a line (`content`, from its first character) that holds a key and
/// the start of a plain scalar value (`key: value`, `- key: value`).
fn plain_value_key_column(content: &[u8]) -> Option<usize> {
    let mut column = 0;
    while content[column..].starts_with(b"- ") {
        column += 2;
        column += content[column..].iter().take_while(|&&b| b == b' ').count();
    }
    let entry = &content[column..];
    let colon =
        memchr::memchr_iter(b':', entry).find(|&colon| entry.get(colon + 1) == Some(&b' '))?;
    let value = &entry[colon + 1..];
    let value = &value[value.iter().take_while(|&&b| b == b' ').count()..];
    match value.first() {
        None
        | Some(
            b'|' | b'>' | b'#' | b'&' | b'*' | b'!' | b'"' | b'\'' | b'[' | b'{' | b'\r' | b'\t',
        ) => None,
        Some(_) => Some(column),
    }
}

/// The resources the walk passed over (`walked`, with the objects of those Flux receives) that
/// hold an object a patch target names by kind and name: read, so that a patch that fails on
/// it fails the build as in kustomize (mwdavisii/gitops-service-example's JSON 6902 `remove` of
/// a `securityContext` its Deployment `echoservice` lacks, in a file with nothing Flux-related,
/// failed the whole Flux Kustomization where the check saw nothing). A target of a kind alone
/// (every Deployment of an overlay) reads nothing more: most of a large repository would be
/// read for it.
fn patched_resources<'a>(
    referenced: &'a model::Referenced,
    walked: &'a [String],
    walked_identities: &'a [(usize, model::ObjectKeys)],
) -> impl Iterator<Item = &'a String> {
    let patched = &referenced.patched_objects;
    walked_identities
        .iter()
        .filter(move |(_, identities)| patched.iter().any(|&keys| identities.may_hold(keys)))
        .map(|&(at, _)| &walked[at])
        .filter(|path| referenced.resources.contains(*path))
}

/// The kind and name of each object of a parsed file.
fn identities_parsed(yaml: &YamlFile) -> model::ObjectKeys {
    let mut identities = model::ObjectKeys::default();
    for &document in &yaml.documents {
        if let Some(kind) = yaml.path_str(document, &["kind"]) {
            let name = yaml
                .path_str(document, &["metadata", "name"])
                .unwrap_or_default();
            identities.add(model::ObjectKeys::of(kind, name));
        }
    }
    identities
}

/// The paths of `named` that `sorted` (in the same order) does not hold, found in one walk
/// through both: a binary search for each of the thousands of paths the kustomizations name was
/// 5 ms of serial time at 20,000 files.
fn absent_from<'a>(
    named: &'a BTreeSet<String>,
    sorted: &'a [String],
) -> impl Iterator<Item = &'a String> {
    let mut rest = sorted;
    named.iter().filter(move |&path| {
        while rest.first().is_some_and(|first| first < path) {
            rest = &rest[1..];
        }
        rest.first() != Some(path)
    })
}

/// The `spec.ignore` of the GitRepository the clusters sync this repository from: the source of
/// each Flux Kustomization that applies its own file (a bootstrap, `flux bootstrap`'s
/// `flux-system` or a template's), when every one of them sets the same. Otherwise what each
/// cluster receives differs, and none is assumed.
fn bootstrap_spec_ignore<'a>(files: impl Iterator<Item = &'a ScannedFile>) -> Option<String> {
    let mut sources: foldhash::HashMap<(String, String), Option<String>> = Default::default();
    let mut bootstraps = Vec::new();
    for file in files {
        let Ok(yaml) = &file.yaml else { continue };
        for &document in &yaml.documents {
            let field = |path: &[&str]| yaml.path_str(document, path);
            let group = |group: &str| field(&["apiVersion"]).is_some_and(|v| v.starts_with(group));
            let namespace = field(&["metadata", "namespace"]).unwrap_or_default();
            match field(&["kind"]) {
                Some("GitRepository") if group("source.toolkit.fluxcd.io/") => {
                    let name = field(&["metadata", "name"]).unwrap_or_default();
                    let ignore = field(&["spec", "ignore"]).map(str::to_string);
                    sources.insert((namespace.to_string(), name.to_string()), ignore);
                }
                Some("Kustomization") if group("kustomize.toolkit.fluxcd.io/") => {
                    let path = normalize(field(&["spec", "path"]).unwrap_or_default());
                    let source_kind = field(&["spec", "sourceRef", "kind"]);
                    if lies_under(&file.source.path, &path) && source_kind == Some("GitRepository")
                    {
                        let source_namespace =
                            field(&["spec", "sourceRef", "namespace"]).unwrap_or(namespace);
                        let name = field(&["spec", "sourceRef", "name"]).unwrap_or_default();
                        bootstraps.push((source_namespace.to_string(), name.to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    let ignores: Vec<Option<&String>> = bootstraps
        .iter()
        .map(|source| sources.get(source).and_then(Option::as_ref))
        .collect();
    let first = (*ignores.first()?)?;
    ignores
        .iter()
        .all(|ignore| *ignore == Some(first))
        .then(|| first.clone())
}

/// Why a file is parsed.
#[derive(Debug, PartialEq, Eq)]
enum ParsedFor {
    /// Nothing but its markers (most parsed files of a large repository): its tree is let go
    /// once they are read ([`ScannedFile::let_tree_go`]).
    MarkersAlone,
    /// What it holds: a Flux object, a kustomization, pins, pattern tests, the config.
    Content,
}

/// Byte patterns that make a file worth parsing, and what for.
fn worth_parsing(path: &str, bytes: &[u8], config_path: Option<&str>) -> Option<ParsedFor> {
    let for_content = (FLUX_PATTERN_PARTS
        .iter()
        .any(|part| part.find(bytes).is_some())
        && FLUX_PATTERNS
            .iter()
            .any(|pattern| pattern.find(bytes).is_some()))
        || path.ends_with(TEST_FILE_SUFFIX)
        || is_kustomization_name(crate::walk::file_name(path))
        || model::chart::may_name_local_dependency(path, bytes)
        || Some(path) == config_path;
    if for_content {
        Some(ParsedFor::Content)
    } else {
        may_hold_marker(bytes).then_some(ParsedFor::MarkersAlone)
    }
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

    /// Fails, naming the first such file and why (it changed, or is gone), where a text let go
    /// after its scan could not be read again as it was scanned: what was found in it, or would
    /// be written to it, no longer holds.
    pub fn read_as_scanned(&self) -> Result<(), String> {
        let failed = self.files.iter().find_map(|file| {
            let why = file.source.not_read_again()?;
            Some((&file.source.path, why))
        });
        match failed {
            Some((path, why)) => Err(format!("{path}: {why} while it was being checked")),
            None => Ok(()),
        }
    }

    /// Loads the given files (a commit's, for `--push`).
    pub fn from_files(mut file_set: FileSet, config: &Config, jobs: usize) -> Workspace {
        let counted = std::sync::atomic::AtomicUsize::new(0);
        let options = WalkOptions {
            jobs,
            include: &config.include,
            exclude: &config.exclude,
            max_file_size: config.max_file_size,
        };
        let config_path = config.path.as_deref();
        let (mut read, mut read_errors) = file_set.read(&options, |path, bytes| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let applied = file_set.is_applied(&path);
            let (bytes, decoded) = as_utf8(bytes);
            Some(match worth_parsing(&path, &bytes, config_path) {
                Some(parsed_for) => {
                    let mut file = ScannedFile {
                        applied,
                        ..scan_bytes(path, bytes)
                    };
                    file.settle(decoded, parsed_for == ParsedFor::MarkersAlone, &file_set);
                    Walked::Parsed(Box::new(file))
                }
                // Text that no YAML document holds at column 0 (a stray `EOF`, a merge
                // conflict's `<<<<<<<`), or a document without a kind (a `sops.yaml` of
                // creation rules beside a cluster's manifests): parsed, so that a build
                // including the file fails as kustomize's does. A file that parses into
                // objects after all is passed over as before.
                None => {
                    let lines = read_lines(&bytes, applied);
                    if !lines.may_fail {
                        return Some(Walked::PassedOver {
                            identities: lines.identities,
                            path,
                            applied,
                        });
                    }
                    let file = scan_bytes(path.clone(), bytes);
                    // Not a file of another encoding: yaml.v3 reads UTF-16 with its byte order
                    // mark.
                    let file = Box::new(ScannedFile { applied, ..file });
                    match &file.yaml {
                        Err(error) if error.kind == YamlErrorKind::Syntax => Walked::Parsed(file),
                        Ok(yaml) if model::render::fails_to_take_in(yaml) => {
                            Walked::WithoutKind(file)
                        }
                        Ok(yaml) => Walked::PassedOver {
                            identities: identities_parsed(yaml),
                            path,
                            applied,
                        },
                        Err(_) => Walked::PassedOver {
                            identities: model::ObjectKeys::default(),
                            path,
                            applied,
                        },
                    }
                }
            })
        });
        // What the bootstrap's GitRepository leaves out, beside `.sourceignore`, is known once its
        // file is parsed: the files read are marked again.
        let parsed = read.iter().filter_map(|read| match read {
            Walked::Parsed(file) => Some(&**file),
            Walked::PassedOver { .. } | Walked::WithoutKind(_) => None,
        });
        if let Some(spec_ignore) = bootstrap_spec_ignore(parsed) {
            file_set.add_spec_ignore(&spec_ignore);
            for read in &mut read {
                match read {
                    Walked::Parsed(file) | Walked::WithoutKind(file) => {
                        file.applied = file_set.is_applied(&file.source.path)
                    }
                    Walked::PassedOver { path, applied, .. } => {
                        *applied = file_set.is_applied(path)
                    }
                }
            }
        }
        // In the order of the paths: the sets are built whole, not path by path.
        // At the size it ends with: every scanned file is kept until the run ends, and a vector
        // grown by doubling left up to half of it empty (5 MB at 50,000 files).
        let parsed = read
            .iter()
            .filter(|read| match read {
                Walked::Parsed(_) => true,
                Walked::WithoutKind(file) => file.applied,
                Walked::PassedOver { .. } => false,
            })
            .count();
        let mut files = Vec::with_capacity(parsed + read_errors.len());
        let mut walked = Vec::new();
        // The objects of the passed-over files Flux receives, by their place in `walked`.
        let mut walked_identities = Vec::new();
        let mut applied_paths = Vec::new();
        for read in read {
            // The folder listing kustomize-controller generates sees only what it receives.
            match read {
                Walked::Parsed(file) => {
                    if file.applied {
                        applied_paths.push(file.source.path.clone());
                    }
                    files.push(*file);
                }
                Walked::WithoutKind(file) if file.applied => {
                    applied_paths.push(file.source.path.clone());
                    files.push(*file);
                }
                // Flux does not receive it: no build takes it in.
                Walked::WithoutKind(file) => walked.push(file.source.path),
                Walked::PassedOver {
                    path,
                    applied,
                    identities,
                } => {
                    if applied {
                        applied_paths.push(path.clone());
                        if !identities.is_empty() {
                            walked_identities.push((walked.len(), identities));
                        }
                    }
                    walked.push(path);
                }
            }
        }
        // A file the walk could not read may hold anything: it is reported as a file of its
        // own (yaml-syntax), never skipped with a warning.
        read_errors.retain(|error| {
            if error.path.is_empty() {
                return true;
            }
            applied_paths.push(error.path.clone());
            files.push(ScannedFile {
                applied: file_set.is_applied(&error.path),
                ..not_read(error)
            });
            false
        });
        let yaml_paths = ListedPaths::new(&file_set, applied_paths.iter().map(String::as_str));
        drop(applied_paths);
        files.sort_by(|a, b| a.source.path.cmp(&b.source.path));
        let kustomizations = model::Kustomizations::read(&files, jobs);
        let referenced = &kustomizations.referenced;
        // A resource the byte search found nothing Flux-related in (most of a large repository)
        // is not parsed: no image object, no Flux object, nothing a rule reads. Patches are,
        // `configurations` files (kustomize checks their fields), and files the walk did not read
        // (a `.json` resource, one outside `include`).
        let unloaded: Vec<String> = {
            let loaded: foldhash::HashSet<&str> =
                files.iter().map(|f| f.source.path.as_str()).collect();
            (referenced.patches.iter())
                .chain(&referenced.configurations)
                .chain(absent_from(&referenced.resources, &walked))
                .chain(patched_resources(referenced, &walked, &walked_identities))
                // Flux has only the files the repository holds (git tracks, for one).
                .filter(|path| !loaded.contains(path.as_str()) && file_set.contains(path))
                .cloned()
                .collect()
        };
        // Every path the walk passed over: not wanted through the model's build, the peak.
        drop((walked, walked_identities));
        let read_since = crate::parallel::map(&unloaded, jobs, |path| {
            let (bytes, decoded) = as_utf8(file_set.read_file(path, config.max_file_size)?);
            let mut file = ScannedFile {
                applied: file_set.is_applied(path),
                ..scan_bytes(path.clone(), bytes)
            };
            // A resource read for a patch to reach (most of a large overlay's): kept as its
            // objects' identities, read again when the patch is applied.
            let for_a_patch =
                referenced.resources.contains(path) && !referenced.patches.contains(path);
            file.settle(decoded, for_a_patch, &file_set);
            Some(file)
        });
        let first_read = files.len();
        let read_since: Vec<ScannedFile> = read_since.into_iter().flatten().collect();
        files.reserve_exact(read_since.len());
        files.extend(read_since);
        // Read again only when a file read since is a kustomization (named as a resource).
        let scanned = if files[first_read..]
            .iter()
            .any(|file| is_kustomization_name(crate::walk::file_name(&file.source.path)))
        {
            Scanned::new(files, jobs)
        } else {
            Scanned {
                files,
                kustomizations,
            }
        };
        Workspace::index(
            file_set,
            scanned,
            yaml_paths,
            read_errors,
            counted.into_inner(),
            config,
            jobs,
        )
    }

    /// The same repository after `--fix` rewrote some files' text (from `fix::new_texts`): only
    /// those files are scanned again (on the workspace's threads), nothing is re-read from disk.
    pub fn with_new_texts(self, new_texts: Vec<(usize, Arc<str>)>, config: &Config) -> Workspace {
        // The old model and index go before the new ones are built: both at once were the
        // peak of `--fix`'s memory.
        let Workspace {
            file_set,
            mut files,
            yaml_paths,
            read_errors,
            stats,
            model,
            index,
            jobs,
            ..
        } = self;
        drop((model, index));
        // So do the changed files' old trees: each was alive beside its new one until the
        // rescan was over. (Their old texts stay while the writing compares them.)
        for (file, _) in &new_texts {
            let old = &mut files[*file];
            old.yaml = Ok(YamlFile::default());
            old.markers = FileMarkers::default();
        }
        let rescanned = crate::parallel::map(&new_texts, jobs, |(file, text)| {
            let source = &files[*file].source;
            let source = SourceFile::new(source.path.clone(), Arc::clone(text));
            (*file, scan_file(source))
        });
        drop(new_texts);
        for (file, mut scanned) in rescanned {
            scanned.applied = files[file].applied;
            files[file] = scanned;
        }
        Workspace::index(
            file_set,
            Scanned::new(files, jobs),
            yaml_paths,
            read_errors,
            stats.files_scanned,
            config,
            jobs,
        )
    }

    /// The same repository with some files as they were before a change: each path's text
    /// replaced, or added where the walk did not read it, or the file gone (`None`).
    pub fn with_files_as(self, texts: Vec<(String, Option<String>)>, config: &Config) -> Workspace {
        let mut files = self.files;
        // Whether each changed path is a YAML file of the repository after the change: the
        // last word on a path counts.
        let mut listed: foldhash::HashMap<&str, bool> = foldhash::HashMap::default();
        for (path, text) in &texts {
            files.retain(|file| file.source.path != *path);
            let mut applied = false;
            if let Some(text) = text {
                let mut file = scan_file(SourceFile::new(path.clone(), text.as_str()));
                file.applied = self.file_set.is_applied(path);
                applied = file.applied;
                files.push(file);
            }
            listed.insert(path, applied);
        }
        let yaml_paths = ListedPaths::new(
            &self.file_set,
            self.yaml_paths
                .iter(&self.file_set)
                .filter(|path| !listed.contains_key(path))
                .chain(
                    listed
                        .iter()
                        .filter(|(_, &applied)| applied)
                        .map(|(&path, _)| path),
                ),
        );
        files.sort_by(|a, b| a.source.path.cmp(&b.source.path));
        Workspace::index(
            self.file_set,
            Scanned::new(files, self.jobs),
            yaml_paths,
            self.read_errors,
            self.stats.files_scanned,
            config,
            self.jobs,
        )
    }

    /// Models scanned files: what the kustomizations render, the Flux objects, pattern tests.
    fn index(
        mut file_set: FileSet,
        Scanned {
            mut files,
            kustomizations,
        }: Scanned,
        yaml_paths: ListedPaths,
        read_errors: Vec<ReadError>,
        files_scanned: usize,
        config: &Config,
        jobs: usize,
    ) -> Workspace {
        // The identities a file kept were read before it had its place among the files.
        for (index, file) in files.iter_mut().enumerate() {
            for identity in file.identities.iter_mut().flatten() {
                if identity.origin.file() != index {
                    Arc::make_mut(identity).set_file(index);
                }
            }
        }
        let config_path = config.path.as_deref();
        file_set.set_delivered(&yaml_paths);
        let (model, mut objects) =
            Model::build(&file_set, &files, &yaml_paths, kustomizations, config, jobs);
        // What source-controller leaves out never reaches kustomize-controller.
        objects.retain(|object| files[object.file()].applied);
        let (fluxes, index) = crate::parallel::join(
            jobs,
            || {
                let repository = crate::flux::versions::Repository {
                    tree: &file_set,
                    kustomizations: &model.kustomizations,
                };
                Fluxes::find(&files, &repository, &model.clusters, config, jobs)
            },
            || FluxIndex::new(objects),
        );
        let reached = model.reached.as_ref().map(|reached| {
            let mut reached = reached.clone();
            // Image automation edits files, not renders: markers under an automation's path
            // are live wherever the cluster's builds put the objects.
            for automation in index.of_kind(crate::flux::Kind::ImageUpdateAutomation) {
                let crate::flux::objects::Spec::Automation(spec) = &automation.spec else {
                    continue;
                };
                let path = spec.update_path.as_ref().map_or("", |p| p.value.as_str());
                reached.extend(files.iter().enumerate().filter_map(|(i, f)| {
                    crate::flux::automation::path_contains(path, &f.source.path).then_some(i)
                }));
            }
            reached
        });
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
            files_scanned,
            yaml_files: files.len(),
        };
        Workspace {
            root: file_set.root.clone(),
            file_set,
            index,
            model,
            fluxes,
            yaml_paths,
            reached,
            files,
            read_errors,
            pattern_tests,
            pattern_test_errors,
            stats,
            jobs,
        }
    }

    /// `kustomize build` of one folder, natively (what the oracle test compares with kubectl).
    pub fn render(&self, dir: &str) -> Result<model::render::Build, model::render::BuildError> {
        self.model.render(&self.file_set, &self.files, dir)
    }

    /// The clusters a marker in `file` answers to: those with an automation that updates the
    /// file, else those that apply it (or use its folder as a Helm chart). Without clusters,
    /// the one the repository is; empty when no cluster reaches the file.
    pub fn marker_clusters(&self, file: usize) -> Vec<usize> {
        if self.model.clusters.is_empty() {
            return vec![0];
        }
        let updating = self.updating_clusters(file);
        if !updating.is_empty() {
            return updating;
        }
        self.applying_clusters(file)
    }

    /// The clusters that apply an ImageUpdateAutomation whose `update.path` holds `file`: those
    /// whose automation reads the file's markers. First those whose path surely holds it; then
    /// those whose path only may (a `${var}` that what applies the automation substitutes,
    /// unknown here), the clusters that apply the file before the others: equinor/radix-flux's
    /// automations each update `./clusters/${clusterType}`, their own cluster's folder.
    fn updating_clusters(&self, file: usize) -> Vec<usize> {
        let path = &self.files[file].source.path;
        let mut updating: Vec<(u8, usize)> = self
            .automations_updating(file)
            .map(|(dir, automation)| {
                let cluster = automation.cluster;
                let rank = if !crate::model::substitute::is_unresolved(dir) {
                    0
                } else if (self.model.clusters.get(cluster)).is_some_and(|c| c.applies(file, path))
                {
                    1
                } else {
                    2
                };
                (rank, cluster)
            })
            .collect();
        updating.sort_unstable();
        let mut seen = foldhash::HashSet::default();
        (updating.into_iter())
            .filter_map(|(_, cluster)| seen.insert(cluster).then_some(cluster))
            .collect()
    }

    /// The ImageUpdateAutomations whose `update.path` holds `file`, with that path.
    pub fn automations_updating(
        &self,
        file: usize,
    ) -> impl Iterator<Item = (&str, &crate::flux::objects::FluxObject)> {
        let path = &self.files[file].source.path;
        (self.index)
            .of_kind(crate::flux::Kind::ImageUpdateAutomation)
            .filter_map(move |automation| match &automation.spec {
                crate::flux::objects::Spec::Automation(spec) => {
                    let dir = spec.update_path.as_ref().map_or("", |p| p.value.as_str());
                    crate::flux::automation::path_contains(dir, path).then_some((dir, automation))
                }
                _ => None,
            })
    }

    /// Whether an ImageUpdateAutomation of this repository updates `file`; with `namespace`,
    /// one that reads the policies of that namespace (its own).
    pub fn automation_updates(&self, file: usize, namespace: Option<&str>) -> bool {
        let reads = |automation: &crate::flux::objects::FluxObject| {
            namespace.is_none_or(|namespace| {
                crate::flux::automation::reads_namespace(&automation.namespace, namespace)
            })
        };
        self.automations_updating(file)
            .any(|(_, automation)| reads(automation))
    }

    /// The clusters that apply `file` (or use its folder as a Helm chart).
    fn applying_clusters(&self, file: usize) -> Vec<usize> {
        let path = &self.files[file].source.path;
        self.model
            .clusters
            .iter()
            .enumerate()
            .filter(|(_, cluster)| cluster.applies(file, path))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether no automation Flux runs reads a marker in `file`, as far as the repository
    /// shows: no ImageUpdateAutomation a cluster applies has an `update.path` that holds the
    /// file, while every cluster that applies the file (at least one) does apply automations of
    /// this repository. Such a marker is inert: Flux neither resolves nor rewrites it, so
    /// nothing about it can fail (an automation switched off, the tag bumped by hand). Where a
    /// cluster applies no automation at all, one may run from outside the repository (created
    /// in the cluster, applied by hand, another repository's) over any path, and may read it.
    /// A repository without clusters is taken as one: inert where it writes automations and
    /// none holds the file (kingdonb/water-monitor's prod folder, its tag set by hand).
    ///
    /// With `namespace`, the marker's policy's: an automation reads only the policies of its own
    /// namespace, so one of another namespace whose path holds the file does not read it either
    /// (kingdonb/github-actions-demo's `ex1` automation, switched off with its policy, under the
    /// `update.path` of the `ex2` one).
    pub fn marker_read_by_no_automation(&self, file: usize, namespace: Option<&str>) -> bool {
        if self.automation_updates(file, namespace) {
            return false;
        }
        if self.model.clusters.is_empty() {
            return (self.index)
                .of_kind(crate::flux::Kind::ImageUpdateAutomation)
                .next()
                .is_some();
        }
        let applying = self.applying_clusters(file);
        let runs_automations = |cluster: usize| {
            self.index
                .of_kind(crate::flux::Kind::ImageUpdateAutomation)
                .any(|automation| automation.cluster == cluster)
        };
        !applying.is_empty() && applying.into_iter().all(runs_automations)
    }

    /// Where the Flux install a cluster applies lists its components without `controller`
    /// (`clusters/home/flux-system/gotk-components.yaml:4`), where nothing else it applies may
    /// run one (another manifest, a FluxInstance, a render that may lack objects): without
    /// image-automation-controller no marker is read; without either, its CRDs are missing.
    /// The default of `flux bootstrap`, which installs the image controllers only with
    /// `--components-extra`.
    pub fn installs_without(
        &self,
        cluster: usize,
        controller: crate::flux::versions::Controller,
    ) -> Option<String> {
        let name = controller.name();
        let applied = &self.model.clusters.get(cluster)?.files;
        let incomplete = (self.model.renders.iter())
            .any(|render| render.cluster == cluster && render.incomplete);
        if incomplete {
            return None;
        }
        let mut listed_at = None;
        for &file in applied {
            let source = &self.files[file].source;
            // Not held after: most of a large cluster's files were let go after their scan.
            let text = source.passing_text()?;
            let text = text.as_ref();
            match crate::flux::versions::install_components(text) {
                Some((at, components)) if !components.contains(name) => {
                    let line = source.position(at).line;
                    listed_at.get_or_insert_with(|| format!("{}:{line}", source.path));
                    // The manifest still names every controller, as a subject of the binding
                    // `flux` generates for them all (`crd-controller-flux-system`, teads-sess-2026
                    // and Dataxis-UditSingh on Flux 2.8 and 2.9): only its image there runs it.
                    if crate::flux::versions::runs_controller_image(text, controller) {
                        return None;
                    }
                    continue;
                }
                Some(_) => return None,
                None => {}
            }
            if text.contains(name) || text.contains("FluxInstance") {
                return None;
            }
        }
        listed_at
    }

    /// The ImagePolicy a marker in `file` names, in the first of its clusters that defines it.
    pub fn marker_policy(
        &self,
        file: usize,
        policy: &crate::scan::marker::PolicyRef,
    ) -> Option<(&FluxObject, &PolicySpec)> {
        let renders = &self.model.renders;
        // A marker in a patch is read by the build, not applied as an object of its own.
        let builds_marker = |object: &FluxObject| {
            renders.get(object.render).is_some_and(|render| {
                render.files.contains(&file) || render.read_besides.contains(&file)
            })
        };
        self.marker_clusters(file).into_iter().find_map(|cluster| {
            self.index
                .policy_in_preferring(cluster, &policy.namespace, &policy.name, builds_marker)
        })
    }

    /// Parsed files Flux never applies or reads (see `Summary::files_flux_ignores`).
    pub fn files_flux_ignores(&self) -> Vec<usize> {
        match &self.reached {
            Some(_) => (0..self.files.len())
                .filter(|&file| !self.is_reached(file))
                .collect(),
            None => self.model.unapplied.clone(),
        }
    }

    /// Whether clusters exist and none applies `file` (nor uses its folder as a chart).
    pub fn applied_by_no_cluster(&self, file: usize) -> bool {
        let path = &self.files[file].source.path;
        let clusters = &self.model.clusters;
        !clusters.is_empty() && !clusters.iter().any(|cluster| cluster.applies(file, path))
    }

    /// Whether a file gets diagnostics: with clusters, only those a cluster reaches.
    pub fn is_reached(&self, file: usize) -> bool {
        self.reached
            .as_ref()
            .is_none_or(|reached| reached.contains(&file))
    }

    pub fn file_by_path(&self, path: &str) -> Option<usize> {
        self.files.iter().position(|f| f.source.path == path)
    }
}

/// A file that is not UTF-8: a YAML error at its first invalid byte (yaml.v3 rejects it, so Flux
/// skips it), no markers, so `--fix` never rewrites it. The text is for display only.
/// The files a load parsed, and the kustomizations among them.
struct Scanned {
    files: Vec<ScannedFile>,
    kustomizations: model::Kustomizations,
}

impl Scanned {
    fn new(files: Vec<ScannedFile>, jobs: usize) -> Scanned {
        Scanned {
            kustomizations: model::Kustomizations::read(&files, jobs),
            files,
        }
    }
}

fn not_utf8(path: String, error: std::string::FromUtf8Error) -> ScannedFile {
    let utf8 = error.utf8_error();
    let offset = utf8.valid_up_to();
    let bytes = error.into_bytes();
    let message = format!(
        "not valid UTF-8 (byte 0x{:02X}); Flux's YAML parser rejects the file",
        bytes[offset]
    );
    let source = SourceFile::new(path, String::from_utf8_lossy(&bytes).into_owned());
    unparsed(
        source,
        YamlError::new(message, offset, YamlErrorKind::Encoding),
    )
}

fn not_read(error: &ReadError) -> ScannedFile {
    let path = error.path.clone();
    let source = SourceFile::new(path.clone(), String::new());
    unparsed(
        source,
        YamlError::new(error.message.clone(), 0, YamlErrorKind::NotRead),
    )
}

fn unparsed(source: SourceFile, error: YamlError) -> ScannedFile {
    scanned(source, Err(error), FileMarkers::default())
}

/// A file's bytes as UTF-8, and whether they were decoded: a UTF-16 file with its byte order
/// mark is decoded, as yaml.v3 (so kustomize) decodes it, and Flux applies its objects
/// (juwisnie/gitops-flux2-kustomize-helm-mt's ImagePolicy, ImageRepository and automation, whose
/// marker fluxcdbot updated). Its markers stay unseen: image-automation-controller searches the
/// bytes for `$imagepolicy`, which UTF-16 does not hold, so a decoded file's markers are dropped
/// and its text is kept (what the disk holds is not that text: it is never read again).
fn as_utf8(bytes: Vec<u8>) -> (Vec<u8>, bool) {
    let big_endian = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => false,
        Some([0xFE, 0xFF]) => true,
        _ => return (bytes, false),
    };
    if !bytes.len().is_multiple_of(2) {
        return (bytes, false);
    }
    let units = bytes[2..].chunks_exact(2).map(|pair| match big_endian {
        true => u16::from_be_bytes([pair[0], pair[1]]),
        false => u16::from_le_bytes([pair[0], pair[1]]),
    });
    match char::decode_utf16(units).collect::<Result<String, _>>() {
        Ok(text) => (text.into_bytes(), true),
        // Not UTF-16 after all: reported as the bytes are.
        Err(_) => (bytes, false),
    }
}

fn scan_bytes(path: String, bytes: Vec<u8>) -> ScannedFile {
    match String::from_utf8(bytes) {
        Ok(text) => scan_file(SourceFile::new(path, text)),
        Err(error) => not_utf8(path, error),
    }
}

pub fn scan_file(mut source: SourceFile) -> ScannedFile {
    let yaml = YamlFile::parse(&source);
    let markers = match &yaml {
        Ok(yaml) => find_markers(source.text(), yaml),
        Err(_) => FileMarkers::default(),
    };
    source.forget_positions();
    scanned(source, yaml, markers)
}

/// A file with what its scan found, and what its text mentions.
fn scanned(
    source: SourceFile,
    yaml: Result<YamlFile, YamlError>,
    markers: FileMarkers,
) -> ScannedFile {
    let text = source.text().as_bytes();
    ScannedFile {
        mentions_image_api: IMAGE_API.find(text).is_some(),
        mentions_suppression: SUPPRESSION.find(text).is_some(),
        source,
        yaml,
        identities: None,
        markers,
        applied: true,
    }
}

/// A repository of these files (paths with their folders), written to a temporary folder and
/// loaded: for the tests of the stages after the walk.
#[cfg(test)]
pub(crate) fn workspace_of(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let workspace = Workspace::load(dir.path(), &Config::default(), 1).unwrap();
    (dir, workspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flux_pattern_holds_a_part_the_first_search_looks_for() {
        for pattern in FLUX_PATTERNS.iter() {
            let holds = |part: &Finder| memchr::memmem::find(pattern.needle(), part.needle());
            assert!(
                FLUX_PATTERN_PARTS.iter().any(|part| holds(part).is_some()),
                "{}",
                String::from_utf8_lossy(pattern.needle())
            );
        }
    }

    /// Cluster `clusters/{name}`: its bootstrap and a Flux Kustomization applying `./apps`.
    fn cluster(name: &str) -> [(String, String); 2] {
        let flux = |kind: &str, object: &str, spec: &str| {
            format!("apiVersion: {kind}\nmetadata:\n  name: {object}\n  namespace: flux-system\nspec:\n{spec}")
        };
        let source = "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
        let bootstrap = [
            flux(
                "source.toolkit.fluxcd.io/v1\nkind: GitRepository",
                "flux-system",
                "  url: https://github.com/org/fleet\n  ref:\n    branch: main\n",
            ),
            flux(
                "kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization",
                "flux-system",
                &format!("  path: ./clusters/{name}\n{source}"),
            ),
        ];
        let apps = flux(
            "kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization",
            "apps",
            &format!("  path: ./apps\n{source}"),
        );
        [
            (
                format!("clusters/{name}/flux-system/gotk-sync.yaml"),
                bootstrap.join("---\n"),
            ),
            (format!("clusters/{name}/apps.yaml"), apps),
        ]
    }

    /// Whether the marker of `apps/app.yaml`, which clusters `a` and `b` apply, is read by no
    /// automation, with an automation of cluster `c` updating `path` for each `(c, path)`.
    fn read_by_no_automation(automations: &[(&str, &str)]) -> bool {
        let mut files: Vec<(String, String)> = [cluster("a"), cluster("b")].concat();
        for (i, (cluster, path)) in automations.iter().enumerate() {
            files.push((
                format!("clusters/{cluster}/automation-{i}.yaml"),
                format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: auto-{i}\n  namespace: flux-system\nspec:\n  update:\n    path: {path}\n"),
            ));
        }
        files.push((
            "apps/app.yaml".to_string(),
            "image: x:1 # {\"$imagepolicy\": \"flux-system:app\"}\n".to_string(),
        ));
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        let (_dir, workspace) = workspace_of(&files);
        let app = workspace.file_by_path("apps/app.yaml").unwrap();
        assert_eq!(workspace.applying_clusters(app).len(), 2);
        workspace.marker_read_by_no_automation(app, None)
    }

    #[test]
    fn a_marker_is_read_by_no_automation_only_where_every_cluster_runs_some_elsewhere() {
        // Both clusters run automations of their own folders: nothing reads the marker.
        assert!(read_by_no_automation(&[
            ("a", "./clusters/a"),
            ("b", "./clusters/b")
        ]));
        // Cluster `b` applies no automation: one may run from outside the repository.
        assert!(!read_by_no_automation(&[("a", "./clusters/a")]));
        // No cluster applies one: the same.
        assert!(!read_by_no_automation(&[]));
        // An automation updates the file: the marker is read.
        assert!(!read_by_no_automation(&[
            ("a", "./clusters/a"),
            ("b", "./apps")
        ]));
    }

    #[test]
    fn a_file_parsed_for_its_markers_alone_renders_as_if_it_kept_its_tree() {
        let deployment = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: app
          image: app:v1 # {"$imagepolicy": "flux-system:app"}
"#;
        let kustomization = r#"resources:
  - deployment.yaml
namespace: apps
patches:
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
    target:
      kind: Deployment
"#;
        let (_dir, workspace) = workspace_of(&[
            ("app/deployment.yaml", deployment),
            ("app/kustomization.yaml", kustomization),
        ]);
        let file = workspace.file_by_path("app/deployment.yaml").unwrap();
        let scanned = &workspace.files[file];
        assert_eq!(scanned.markers.markers.len(), 1);
        assert!(scanned.yaml.as_ref().unwrap().documents.is_empty());
        let identities = scanned.identities.as_deref().unwrap();
        assert!(identities
            .iter()
            .all(|identity| identity.origin.file() == file));
        let rendered = |workspace: &Workspace| {
            let build = workspace.render("app").unwrap();
            let [resource] = &build.resources[..] else {
                panic!("one object: {:?}", build.resources)
            };
            resource.node.read_whole(&workspace.files).into_owned()
        };
        let let_go = rendered(&workspace);
        assert_eq!(let_go.path_str(&["spec", "replicas"]), Some("3"));
        assert_eq!(let_go.path_str(&["metadata", "namespace"]), Some("apps"));
        // The same files with the tree kept: a rescan keeps every tree.
        let text = scanned.source.shared_text();
        let kept = workspace.with_new_texts(vec![(file, text)], &Config::default());
        assert!(kept.files[file].identities.is_none());
        assert_eq!(rendered(&kept), let_go);
    }

    #[test]
    fn a_file_changed_after_its_scan_is_not_read_as_it_is_now() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - image: app:v1 # {\"$imagepolicy\": \"flux-system:app\"}\n";
        let (dir, workspace) = workspace_of(&[
            ("app/deployment.yaml", deployment),
            (
                "app/kustomization.yaml",
                "resources:\n  - deployment.yaml\n",
            ),
        ]);
        let file = workspace.file_by_path("app/deployment.yaml").unwrap();
        assert_eq!(workspace.read_as_scanned(), Ok(()));
        // The same length, another tag: only the hash tells them apart.
        let changed = deployment.replace("app:v1", "app:v2");
        std::fs::write(dir.path().join("app/deployment.yaml"), changed).unwrap();
        // On a thread of its own: no tree parsed again before the change is kept for it.
        let tree_again = std::thread::scope(|scope| {
            scope
                .spawn(|| workspace.files[file].tree().is_ok())
                .join()
                .unwrap()
        });
        assert!(!tree_again);
        assert_eq!(
            workspace.read_as_scanned(),
            Err("app/deployment.yaml: it changed while it was being checked".to_string())
        );
        // Spans of the scan stay in bounds of what stands in.
        assert_eq!(
            workspace.files[file].source.text(),
            " ".repeat(deployment.len())
        );
    }

    /// UTF-16 with its byte order mark, either way round, is read as yaml.v3 reads it; what
    /// does not decode is left as it is, to be reported as the bytes are.
    #[test]
    fn utf16_with_its_byte_order_mark_is_decoded() {
        let text = "kind: ImagePolicy # é\n";
        let little: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let big: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(as_utf8(little), (text.as_bytes().to_vec(), true));
        assert_eq!(as_utf8(big), (text.as_bytes().to_vec(), true));
        let unpaired = vec![0xFF, 0xFE, 0x00, 0xD8, b'a', 0x00];
        assert_eq!(as_utf8(unpaired.clone()), (unpaired, false));
        let odd = vec![0xFF, 0xFE, b'a'];
        assert_eq!(as_utf8(odd.clone()), (odd, false));
        assert_eq!(
            as_utf8(b"kind: A\n".to_vec()),
            (b"kind: A\n".to_vec(), false)
        );
    }

    /// The objects a passed-over file writes are read from the same lines: kind at column 0,
    /// the name among `metadata`'s own keys (not a label's), one a document.
    #[test]
    fn the_lines_read_tell_each_object_written() {
        let text = "kind: Deployment # an app\nmetadata:\n  labels:\n    name: label\n  name: 'echoservice'\nspec: {}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: apps\n---\nkind: ConfigMap\nmetadata:\n  name: settings\n";
        let lines = read_lines(text.as_bytes(), true);
        assert!(!lines.may_fail);
        for (kind, name) in [
            ("Deployment", "echoservice"),
            ("Service", ""),
            ("ConfigMap", "settings"),
        ] {
            assert!(lines.identities.may_hold(model::ObjectKeys::of(kind, name)));
        }
        assert!(!lines
            .identities
            .may_hold(model::ObjectKeys::of("Deployment", "label")));
        assert!(!lines.identities.may_hold(model::ObjectKeys::default()));
    }

    #[test]
    fn what_may_fail_a_build_is_seen_at_column_0() {
        for fine in [
            "",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n",
            "kind: A\nkey:\n  - a\n# comment\n\n---\n- item\n...\n%YAML 1.2\n",
            "\"kind\": A\n\"quoted: key\": 1\n{\"json\": true,\n}\n[1,\n]\n",
            "<<: *base\nkind: A\nurl: http://x\r\nkey:\tvalue\n",
            "# comments alone\n---\n---\nkind: A\n",
            "kind: A\nspec:\n  - name: a\n    image: b\n  - name: c\n",
            "kind: A\ndata:\n  script: |\n    run: x\n  other: y\n",
        ] {
            assert!(!read_lines(fine.as_bytes(), true).may_fail, "{fine:?}");
        }
        for failing in [
            "kind: Service\nEOF\n",
            "a: 1\n<<<<<<< HEAD\nb: 2\n=======\nb: 3\n>>>>>>> main\n",
            "<<<<<<< HEAD:apps/app.yaml\n",
            "kind: A\na: 1\nplain text",
            "creation_rules:\n  - path_regex: .*\n",
            "kind: A\n---\nvalues:\n  kind: nested\n",
            "apiVersion: v1\nmetadata:\n  name: a\n---\nkind: A\n",
            "kind: A\nports:\n  - containerPort: 9898\n      protocol: TCP\n",
            "kind: A\nimage: app:1.0 # comment\n  more\n",
            "kind: A\ndata:\n  a: b\n  {{- if .token }}\n",
        ] {
            assert!(read_lines(failing.as_bytes(), true).may_fail, "{failing:?}");
        }
        // What Flux does not receive fails no build of it for want of a kind.
        assert!(!read_lines(b"creation_rules: []\n", false).may_fail);
    }

    #[test]
    fn files_worth_parsing() {
        for text in [
            "kind: FluxInstance\n",
            "# This manifest was generated by flux. DO NOT EDIT.\n",
            "image: ghcr.io/fluxcd/image-reflector-controller:v1.0.0\n",
            "apiVersion: source.toolkit.fluxcd.io/v1\n",
            "metadata:\n  annotations:\n    fluxcd.io/automated: \"true\"\n",
        ] {
            let parsed_for = worth_parsing("a.yaml", text.as_bytes(), None);
            assert_eq!(parsed_for, Some(ParsedFor::Content), "{text}");
        }
        let plain = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: flux-like\n";
        assert_eq!(worth_parsing("a.yaml", plain.as_bytes(), None), None);
        let marked = "image: app:v1 # {\"$imagepolicy\": \"flux-system:app\"}\n";
        let parsed_for = worth_parsing("a.yaml", marked.as_bytes(), None);
        assert_eq!(parsed_for, Some(ParsedFor::MarkersAlone));
        for path in ["kustomization.yaml", "t.imagepolicy-tests.yaml"] {
            for text in [plain, marked] {
                let parsed_for = worth_parsing(path, text.as_bytes(), None);
                assert_eq!(parsed_for, Some(ParsedFor::Content), "{path}: {text}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn absent_paths_are_those_a_search_does_not_find(
            named in proptest::collection::btree_set("[ab/]{0,4}", 0..20),
            walked in proptest::collection::btree_set("[ab/]{0,4}", 0..20),
        ) {
            let walked: Vec<String> = walked.into_iter().collect();
            let searched: Vec<&String> = named
                .iter()
                .filter(|path| walked.binary_search(path).is_err())
                .collect();
            proptest::prop_assert_eq!(absent_from(&named, &walked).collect::<Vec<_>>(), searched);
        }
    }
}
