//! `.flux-image-lint.yaml`: rule levels, include/exclude globs, the default namespace,
//! policies defined outside the repository, the Flux version the clusters run (or the image API
//! versions they serve), and the fixer's settings. A bad config is an error with file and line (exit 2), never ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::flux::objects::Spanned;
use crate::flux::versions::{resolve_written, ServedOverride, VersionSetting};
use crate::report::Severity;
use crate::scan::marker::PolicyRef;
use crate::scan::yaml::{NodeId, YamlFile};
use crate::source::{SourceFile, Span};

/// Where the config is looked for at the root; only one may exist.
pub const FILE_NAMES: [&str; 2] = [".flux-image-lint.yaml", ".flux-image-lint.yml"];

/// Every version the `image.toolkit.fluxcd.io` API group has had.
pub const IMAGE_API_VERSIONS: &[&str] = &["v1alpha1", "v1alpha2", "v1beta1", "v1beta2", "v1"];

/// What a rule is set to in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Off,
}

#[derive(Debug)]
pub struct Config {
    /// Repository-relative path of the config file, when one was read.
    pub path: Option<String>,
    pub include: GlobSet,
    pub exclude: GlobSet,
    pub levels: BTreeMap<String, Level>,
    pub default_namespace: String,
    pub external_policies: BTreeSet<PolicyRef>,
    /// `flux_version`: one for every cluster, or one per cluster path.
    pub flux_version: Vec<VersionSetting>,
    /// The older `served_image_apis`: when set, what every cluster serves, whatever its version.
    pub served_image_apis: Option<ServedOverride>,
    /// `check --flux-version`: check every cluster as if it ran this version.
    pub upgrade_to: Option<VersionSetting>,
    /// `--fix --push` settings.
    pub branch: Option<String>,
    pub remote: Option<String>,
    /// Commit message template: `{week}` and `{changes}` (one line per change).
    pub commit_message: Option<String>,
    /// Commit author, `Name <email>`.
    pub author: Option<String>,
    /// Repository files larger than this are reported (`yaml-syntax`), not read.
    pub max_file_size: u64,
    /// `kustomize:` (or `--kustomize`): which kustomize builds what Flux applies.
    pub kustomize: KustomizeSetting,
}

/// Which kustomize builds: the native renderer (`off`, the default), the real binary found on
/// `PATH` (`auto`), or a given one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KustomizeSetting {
    #[default]
    Off,
    Auto,
    Binary(std::path::PathBuf),
}

impl KustomizeSetting {
    pub fn parse(text: &str) -> KustomizeSetting {
        match text {
            "off" | "native" => KustomizeSetting::Off,
            "auto" => KustomizeSetting::Auto,
            path => KustomizeSetting::Binary(path.into()),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            path: None,
            include: GlobSet::empty(),
            exclude: GlobSet::empty(),
            levels: BTreeMap::new(),
            default_namespace: "flux-system".to_string(),
            external_policies: BTreeSet::new(),
            flux_version: Vec::new(),
            served_image_apis: None,
            upgrade_to: None,
            branch: None,
            remote: None,
            commit_message: None,
            author: None,
            kustomize: KustomizeSetting::Off,
            max_file_size: crate::limits::DEFAULT_MAX_FILE_SIZE,
        }
    }
}

#[derive(Debug)]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

const KEYS: &[&str] = &[
    "include",
    "exclude",
    "rules",
    "default_namespace",
    "external_policies",
    "flux_version",
    "served_image_apis",
    "tests",
    "branch",
    "remote",
    "commit_message",
    "author",
    "kustomize",
    "max_file_size",
];

impl Config {
    /// The effective severity of a rule whose own default is `default` (`None`: off).
    pub fn severity(&self, rule: &str, default: Option<Severity>) -> Option<Severity> {
        match self.levels.get(rule) {
            Some(Level::Error) => Some(Severity::Error),
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Off) => None,
            None => default,
        }
    }

    /// Reads a config file; `display_path` is how errors name it.
    pub fn load(disk_path: &Path, display_path: &str) -> Result<Config, ConfigError> {
        let unreadable = |message: String| ConfigError {
            path: display_path.to_string(),
            line: 1,
            column: 1,
            message: format!("cannot read the config: {message}"),
        };
        let bytes = crate::limits::read_regular_file(disk_path, crate::limits::MAX_CONFIG_SIZE)
            .map_err(|e| unreadable(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            unreadable(format!(
                "not valid UTF-8 (byte {} of the file)",
                e.utf8_error().valid_up_to() + 1
            ))
        })?;
        let source = SourceFile::new(display_path.to_string(), text);
        Config::parse(&source)
    }

    pub fn parse(source: &SourceFile) -> Result<Config, ConfigError> {
        let error_at = |offset: usize, message: String| {
            let position = source.position(offset);
            ConfigError {
                path: source.path.clone(),
                line: position.line,
                column: position.column,
                message,
            }
        };
        let yaml = YamlFile::parse(source)
            .map_err(|e| error_at(e.offset, format!("invalid YAML: {}", e.message)))?;
        let mut config = Config {
            path: Some(source.path.clone()),
            ..Config::default()
        };
        let Some(&root) = yaml.documents.first() else {
            return Ok(config);
        };
        if yaml.scalar(root).is_some_and(str::is_empty) {
            return Ok(config);
        }
        if !yaml.is_map(root) {
            return Err(error_at(
                yaml.node(root).span.start,
                "the config must be a mapping".into(),
            ));
        }
        let location = |node: NodeId| {
            format!(
                "{}:{}",
                source.path,
                source.position(yaml.node(node).span.start).line
            )
        };
        let strings = |node: NodeId, what: &str| -> Result<Vec<(String, usize)>, ConfigError> {
            if !yaml.is_seq(node) {
                return Err(error_at(
                    yaml.node(node).span.start,
                    format!("`{what}` must be a list of strings"),
                ));
            }
            yaml.items(node)
                .iter()
                .map(|&item| {
                    yaml.scalar(item)
                        .map(|s| (s.to_string(), yaml.node(item).span.start))
                        .ok_or_else(|| {
                            error_at(
                                yaml.node(item).span.start,
                                format!("`{what}` must be a list of strings"),
                            )
                        })
                })
                .collect()
        };
        let string = |node: NodeId, what: &str| -> Result<String, ConfigError> {
            yaml.scalar(node).map(str::to_string).ok_or_else(|| {
                error_at(
                    yaml.node(node).span.start,
                    format!("`{what}` must be a string"),
                )
            })
        };
        let globs = |node: NodeId, what: &str| -> Result<GlobSet, ConfigError> {
            let mut builder = GlobSetBuilder::new();
            for (pattern, offset) in strings(node, what)? {
                let glob = Glob::new(&pattern)
                    .map_err(|e| error_at(offset, format!("invalid glob `{pattern}`: {e}")))?;
                builder.add(glob);
            }
            builder
                .build()
                .map_err(|e| error_at(yaml.node(node).span.start, e.to_string()))
        };
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (key_node, value) in yaml.entries(root) {
            let key = yaml.scalar(key_node).unwrap_or_default();
            let offset = yaml.node(key_node).span.start;
            if let Some(&first) = seen.get(key) {
                return Err(error_at(
                    offset,
                    format!(
                        "`{key}` is set twice (first on line {}); keep one",
                        source.position(first).line
                    ),
                ));
            }
            seen.insert(key, offset);
            match key {
                "include" => config.include = globs(value, key)?,
                "exclude" => config.exclude = globs(value, key)?,
                "kustomize" => config.kustomize = KustomizeSetting::parse(&string(value, key)?),
                "default_namespace" => {
                    let namespace = string(value, key)?;
                    if !is_dns_label(&namespace) {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            format!("`{namespace}` is not a Kubernetes namespace name (lower-case letters, digits and `-`, at most 63)"),
                        ));
                    }
                    config.default_namespace = namespace;
                }
                "branch" => {
                    let template = string(value, key)?;
                    if let Some(unknown) = unknown_placeholder(&template, crate::git::PLACEHOLDERS)
                    {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            format!(
                                "unknown placeholder `{{{unknown}}}` in `branch`; use {}",
                                crate::git::PLACEHOLDERS
                                    .iter()
                                    .map(|p| format!("`{{{p}}}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                    config.branch = Some(template);
                }
                "remote" => config.remote = Some(string(value, key)?),
                "author" => {
                    let author = string(value, key)?;
                    let well_formed = author
                        .split_once('<')
                        .is_some_and(|(name, rest)| !name.trim().is_empty() && rest.ends_with('>'));
                    if !well_formed {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            format!("`author` must be `Name <email>`, not `{author}`"),
                        ));
                    }
                    config.author = Some(author);
                }
                "max_file_size" => {
                    let text = string(value, key)?;
                    config.max_file_size = parse_size(&text).ok_or_else(|| {
                        error_at(
                            yaml.node(value).span.start,
                            format!("`max_file_size` must be a size such as `16MiB`, `512KiB` or a number of bytes, not `{text}`"),
                        )
                    })?;
                }
                "commit_message" => {
                    let template = string(value, key)?;
                    if let Some(unknown) = unknown_placeholder(&template, &["week", "changes"]) {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            format!("unknown placeholder `{{{unknown}}}` in `commit_message`; use `{{week}}` and `{{changes}}`"),
                        ));
                    }
                    config.commit_message = Some(template);
                }
                "served_image_apis" => {
                    let versions = strings(value, key)?;
                    if versions.is_empty() {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            "`served_image_apis` must name at least one version, e.g. [v1]".into(),
                        ));
                    }
                    for (version, offset) in &versions {
                        if !IMAGE_API_VERSIONS.contains(&version.as_str()) {
                            return Err(error_at(
                                *offset,
                                format!(
                                    "`{version}` is not a version of the image.toolkit.fluxcd.io API; known: {}",
                                    IMAGE_API_VERSIONS.join(", ")
                                ),
                            ));
                        }
                    }
                    config.served_image_apis = Some(ServedOverride {
                        versions: versions.into_iter().map(|(s, _)| s).collect(),
                        location: location(value),
                    });
                }
                "flux_version" => {
                    let setting = |cluster_path: Option<String>, node: NodeId| {
                        let written = yaml
                            .scalar(node)
                            .filter(|_| !yaml.is_map(node) && !yaml.is_seq(node))
                            .ok_or_else(|| {
                                error_at(
                                    yaml.node(node).span.start,
                                    "`flux_version` must be a version (`2.8`) or map cluster paths to versions".into(),
                                )
                            })?;
                        let version = resolve_written(written)
                            .map_err(|e| error_at(yaml.node(node).span.start, e))?;
                        Ok(VersionSetting {
                            cluster_path,
                            written: written.to_string(),
                            version,
                            location: location(node),
                        })
                    };
                    if yaml.is_map(value) {
                        for (path, version) in yaml.entries(value) {
                            let path = yaml.scalar(path).unwrap_or_default();
                            let path = crate::flux::automation::normalize(path);
                            config.flux_version.push(setting(Some(path), version)?);
                        }
                    } else {
                        config.flux_version.push(setting(None, value)?);
                    }
                }
                "external_policies" => {
                    for (text, offset) in strings(value, key)? {
                        let policy = PolicyRef::parse(&text).ok_or_else(|| {
                            error_at(offset, format!("`{text}` is not `namespace:name`"))
                        })?;
                        config.external_policies.insert(policy);
                    }
                }
                "rules" => {
                    if !yaml.is_map(value) {
                        return Err(error_at(
                            yaml.node(value).span.start,
                            "`rules` must map rule ids to error, warning or off".into(),
                        ));
                    }
                    for (rule_node, level_node) in yaml.entries(value) {
                        let rule = yaml.scalar(rule_node).unwrap_or_default();
                        let offset = yaml.node(rule_node).span.start;
                        if crate::rules::find(rule).is_none() {
                            let hint = crate::rules::closest_id(rule)
                                .map(|id| format!(" (did you mean `{id}`?)"))
                                .unwrap_or_default();
                            return Err(error_at(offset, format!("unknown rule `{rule}`{hint}; `flux-image-lint rules` lists them")));
                        }
                        let level = match yaml.scalar(level_node) {
                            Some("error") => Level::Error,
                            Some("warning") => Level::Warning,
                            Some("off") => Level::Off,
                            _ => {
                                return Err(error_at(
                                    yaml.node(level_node).span.start,
                                    format!(
                                        "the level of `{rule}` must be `error`, `warning` or `off`"
                                    ),
                                ))
                            }
                        };
                        config.levels.insert(rule.to_string(), level);
                    }
                }
                // Pattern tests are read with the repository's other test files.
                "tests" => {}
                other => {
                    let hint = crate::flux::schema::closest_field(other, KEYS.iter().copied())
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    return Err(error_at(
                        yaml.node(key_node).span.start,
                        format!(
                            "unknown key `{other}`{hint}; known keys: {}",
                            KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(config)
    }
}

/// `16MiB`, `512 KiB`, `1GiB`, `1048576`: a positive number of bytes.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits_end].parse().ok()?;
    let unit = match text[digits_end..].trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1024,
        "MiB" | "M" => crate::limits::MIB,
        "GiB" | "G" => 1024 * crate::limits::MIB,
        _ => return None,
    };
    number.checked_mul(unit).filter(|&size| size > 0)
}

/// RFC 1123 label, as Kubernetes requires of namespace names.
fn is_dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The first `{name}` in a template that is not one of `known`.
fn unknown_placeholder(template: &str, known: &[&str]) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        let name = &rest[open + 1..close];
        if !known.contains(&name) {
            return Some(name.to_string());
        }
        rest = &rest[close + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(&SourceFile::new(FILE_NAMES[0].into(), text))
    }

    #[test]
    fn reads_every_key() {
        let config = parse("default_namespace: apps\nexternal_policies: [flux-system:python]\nrules:\n  unused-policy: off\nexclude: ['charts/**']\nserved_image_apis: [v1, v1beta2]\n").unwrap();
        assert_eq!(config.default_namespace, "apps");
        assert!(config
            .external_policies
            .contains(&PolicyRef::parse("flux-system:python").unwrap()));
        assert_eq!(
            config.severity("unused-policy", Some(Severity::Warning)),
            None
        );
        assert!(config.exclude.is_match("charts/x/values.yaml"));
        assert_eq!(
            config.served_image_apis.unwrap().versions,
            ["v1", "v1beta2"]
        );
    }

    #[test]
    fn flux_version_for_every_cluster_or_per_cluster_path() {
        let config = parse("rules: {}\nflux_version: '2.8'\n").unwrap();
        let [setting] = config.flux_version.as_slice() else {
            panic!("{:?}", config.flux_version)
        };
        assert_eq!(setting.version, semver::Version::new(2, 8, 8));
        assert_eq!(setting.location, ".flux-image-lint.yaml:2");
        let config =
            parse("flux_version:\n  ./clusters/prod/: v2.4.0\n  clusters/dev: 2.9.x\n").unwrap();
        let paths: Vec<_> = config
            .flux_version
            .iter()
            .map(|s| (s.cluster_path.as_deref().unwrap(), s.version.to_string()))
            .collect();
        assert_eq!(
            paths,
            [
                ("clusters/prod", "2.4.0".into()),
                ("clusters/dev", "2.9.4".into())
            ]
        );
        let error = parse("flux_version: latest\n").unwrap_err();
        assert_eq!((error.line, error.column), (1, 15));
        assert!(error.message.contains("`latest`"), "{}", error.message);
        assert!(parse("flux_version: [2.8]\n").is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse("rules:\n  unused-polcy: off\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 3));
        assert!(
            error.message.contains("did you mean `unused-policy`"),
            "{}",
            error.message
        );
        let error = parse("defualt_namespace: x\n").unwrap_err();
        assert!(
            error.message.contains("default_namespace"),
            "{}",
            error.message
        );
        let error = parse("external_policies: [python]\n").unwrap_err();
        assert_eq!(error.line, 1);
        let error = parse("commit_message: 'update {wek}'\n").unwrap_err();
        assert!(error.message.contains("`{wek}`"), "{}", error.message);
        let config =
            parse("commit_message: 'deps: {week}\\n\\n{changes}'\nauthor: Bot <bot@example.com>\n")
                .unwrap();
        assert_eq!(config.author.as_deref(), Some("Bot <bot@example.com>"));
    }

    #[test]
    fn a_key_set_twice_is_an_error() {
        let error = parse("remote: origin\nbranch: b\nremote: forgejo\n").unwrap_err();
        assert_eq!((error.line, error.column), (3, 1));
        assert!(
            error
                .message
                .contains("`remote` is set twice (first on line 1)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn max_file_size_takes_binary_units() {
        assert_eq!(
            parse("max_file_size: 32MiB\n").unwrap().max_file_size,
            32 * crate::limits::MIB
        );
        assert_eq!(parse("max_file_size: 1024\n").unwrap().max_file_size, 1024);
        assert_eq!(
            Config::default().max_file_size,
            crate::limits::DEFAULT_MAX_FILE_SIZE
        );
        for bad in ["0", "12 MB", "-1", "big"] {
            let error = parse(&format!("max_file_size: {bad}\n")).unwrap_err();
            assert!(
                error.message.contains("must be a size"),
                "{bad}: {}",
                error.message
            );
        }
    }

    #[test]
    fn enumerated_values_are_validated_where_they_are_written() {
        for (text, line, needle) in [
            (
                "served_image_apis:\n  - v1\n  - v9\n",
                3,
                "`v9` is not a version",
            ),
            ("served_image_apis: []\n", 1, "at least one"),
            (
                "rules:\n  unused-policy: of\n",
                2,
                "`error`, `warning` or `off`",
            ),
            ("branch: 'updates/{week}'\n", 1, "`{week}`"),
            ("author: bot\n", 1, "Name <email>"),
            ("default_namespace: Flux_System\n", 1, "namespace name"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text}: {error}");
            assert!(error.message.contains(needle), "{text}: {error}");
        }
    }
}

/// A user's test of one policy, from `tests:` in the config or a `*.imagepolicy-tests.yaml` file.
#[derive(Debug, Clone)]
pub struct PatternTest {
    pub file: usize,
    /// `namespace:name` as written.
    pub policy: Spanned<String>,
    /// Tags that must pass exclusion, filter and the policy's own gate (range, number).
    pub accept: Vec<Spanned<String>>,
    /// Tags that must be dropped.
    pub reject: Vec<Spanned<String>>,
    /// With `latest`: given these tags, the policy must pick `latest`.
    pub tags: Vec<Spanned<String>>,
    pub latest: Option<Spanned<String>>,
}

/// Reads the `tests:` list of a parsed file; malformed entries come back as (span, message).
pub fn read_pattern_tests(yaml: &YamlFile, file: usize) -> (Vec<PatternTest>, Vec<(Span, String)>) {
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    let Some(&root) = yaml.documents.first() else {
        return (tests, errors);
    };
    let Some(list) = yaml.get(root, "tests") else {
        return (tests, errors);
    };
    if !yaml.is_seq(list) {
        errors.push((
            yaml.node(list).span,
            "`tests` must be a list of policy tests".to_string(),
        ));
        return (tests, errors);
    }
    let spanned = |id: NodeId| {
        yaml.scalar(id)
            .map(|value| Spanned::new(value.to_string(), file, yaml.node(id).span))
    };
    for &entry in yaml.items(list) {
        let strings = |key: &str, errors: &mut Vec<(Span, String)>| -> Vec<Spanned<String>> {
            let Some(node) = yaml.get(entry, key) else {
                return Vec::new();
            };
            if !yaml.is_seq(node) {
                errors.push((
                    yaml.node(node).span,
                    format!("`{key}` must be a list of tags"),
                ));
                return Vec::new();
            }
            yaml.items(node)
                .iter()
                .filter_map(|&i| spanned(i))
                .collect()
        };
        let Some(policy) = yaml.get(entry, "policy").and_then(spanned) else {
            errors.push((
                yaml.node(entry).span,
                "a test needs `policy: <namespace>:<name>`".to_string(),
            ));
            continue;
        };
        for (key, _) in yaml.entries(entry) {
            let name = yaml.scalar(key).unwrap_or_default();
            if !["policy", "accept", "reject", "tags", "latest"].contains(&name) {
                errors.push((yaml.node(key).span, format!("unknown test key `{name}`; a test has `policy`, `accept`, `reject`, `tags` and `latest`")));
            }
        }
        let test = PatternTest {
            file,
            accept: strings("accept", &mut errors),
            reject: strings("reject", &mut errors),
            tags: strings("tags", &mut errors),
            latest: yaml.get(entry, "latest").and_then(spanned),
            policy,
        };
        if test.latest.is_some() == test.tags.is_empty() {
            errors.push((
                test.policy.span(),
                "`tags` and `latest` go together: given these tags, the policy picks `latest`"
                    .to_string(),
            ));
        }
        tests.push(test);
    }
    (tests, errors)
}
