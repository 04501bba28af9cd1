//! The Helm charts of this repository that HelmReleases install. source-controller packages a
//! chart from a GitRepository with everything in its folder (vendored subcharts in `charts/`
//! included) and adds each local dependency its `Chart.yaml` (or the older `requirements.yaml`)
//! names with `repository: file://…`: the chart at that path, relative to the chart's folder and
//! kept inside the checkout (`securejoin`). It resolves the installed chart's dependencies only:
//! a subchart's own `file://` dependencies are not fetched, so Helm never renders them.

use foldhash::HashMap;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

use super::render::join;
use super::substitute::with_holes;
use crate::flux::automation::normalize;
use crate::scan::marker::PolicyRef;
use crate::walk::FileSet;
use crate::workspace::ScannedFile;

/// The files of a chart that name its dependencies (Helm reads `requirements.yaml` for any
/// `apiVersion`, warning that `Chart.yaml` is the place since v2).
const DEPENDENCY_FILES: [&str; 2] = ["Chart.yaml", "requirements.yaml"];

/// Whether a file of the walk may name a local dependency of a chart: the workspace parses
/// these, which it would otherwise skip (nothing in them is Flux's).
pub fn may_name_local_dependency(path: &str, bytes: &[u8]) -> bool {
    DEPENDENCY_FILES.contains(&crate::walk::file_name(path))
        && memchr::memmem::find(bytes, b"file://").is_some()
}

/// The folders of the repository that hold a chart, by the chart's name (`name:` in its
/// `Chart.yaml`). Read from the disk (or a commit's files), once, where a HelmRelease installs
/// a chart from a Helm repository: few repositories hold charts, and `Chart.yaml` holds nothing
/// the walk parses.
pub fn folders_by_name(tree: &FileSet) -> BTreeMap<String, Vec<String>> {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in tree.starting_with("") {
        if crate::walk::file_name(path) != "Chart.yaml" {
            continue;
        }
        let Some(bytes) = tree.read_file(path, crate::limits::MIB) else {
            continue;
        };
        let name = (String::from_utf8_lossy(&bytes).lines())
            .find_map(|line| line.strip_prefix("name:"))
            .map(|name| name.trim().trim_matches(['"', '\'']).to_string());
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            let folder = crate::walk::folder_of(path).to_string();
            by_name.entry(name).or_default().push(folder);
        }
    }
    by_name
}

/// The folders whose templates HelmReleases installing the charts in `chart_dirs` render: each
/// chart's own, and those of the subcharts its `file://` dependencies name, each with the
/// namespaces of the releases that render it.
pub fn with_local_dependencies(
    chart_dirs: &BTreeMap<String, BTreeSet<String>>,
    files: &[ScannedFile],
    by_path: &HashMap<&str, usize>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut rendered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (dir, namespaces) in chart_dirs {
        for rendered_dir in local_dependencies(dir, files, by_path).chain([dir.clone()]) {
            let entry = rendered.entry(rendered_dir).or_default();
            entry.extend(namespaces.iter().cloned());
        }
    }
    rendered
}

/// An ImagePolicy a template of a chart writes. Helm fills each `{{ … }}` of its name and
/// namespace with values this check does not render, so each stands for any text.
#[derive(Debug, Clone)]
pub struct ChartPolicy {
    name: Regex,
    /// The template's `metadata.namespace`, else those of the releases; none: any namespace.
    namespaces: Vec<Regex>,
}

impl ChartPolicy {
    /// Whether the chart may render the policy a marker names.
    pub fn could_be(&self, policy: &PolicyRef) -> bool {
        self.name.is_match(&policy.name)
            && (self.namespaces.is_empty()
                || self
                    .namespaces
                    .iter()
                    .any(|n| n.is_match(&policy.namespace)))
    }
}

/// The ImagePolicies a template `file` of a chart writes, installed by releases into
/// `namespaces` (an empty one: not known).
pub fn policies_of(namespaces: &BTreeSet<String>, file: &ScannedFile) -> Vec<ChartPolicy> {
    // A file changed since it was scanned fails the run elsewhere; here it may define anything.
    let Some(text) = file.source.passing_text() else {
        return vec![ChartPolicy {
            name: any_text(),
            namespaces: Vec::new(),
        }];
    };
    let released_in: Vec<Regex> = if namespaces.contains("") {
        Vec::new()
    } else {
        namespaces.iter().filter_map(|n| template(n)).collect()
    };
    written_policies(&text)
        .into_iter()
        .map(|(name, namespace)| ChartPolicy {
            name: name.and_then(template).unwrap_or_else(any_text),
            namespaces: match namespace.and_then(template) {
                Some(namespace) => vec![namespace],
                None => released_in.clone(),
            },
        })
        .collect()
}

fn any_text() -> Regex {
    Regex::new(".*").expect("a valid regex")
}

/// A name as a template writes it, with each `{{ … }}` standing for any text.
fn template(written: &str) -> Option<Regex> {
    with_holes(written, ("{{", "}}"), ".*")
}

/// The `metadata.name` and `metadata.namespace` of each ImagePolicy a chart's file writes, as
/// written (`None` where it is not found on a line of its own). A template is Go's text, often
/// not YAML, so it is read line by line: a document's `kind`, and the keys one indent under the
/// `metadata:` at the same indent. A document of the image API whose kind is templated may be an
/// ImagePolicy of any name.
fn written_policies(text: &str) -> Vec<(Option<&str>, Option<&str>)> {
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    while lines.peek().is_some() {
        let document: Vec<&str> = lines
            .by_ref()
            .take_while(|line| !line.starts_with("---"))
            .collect();
        // The object's own, not a reference's (`sourceRef.kind`).
        let kind = document
            .iter()
            .filter_map(|line| {
                let (key, value) = key_value(line)?;
                (key == "kind").then_some((indent(line), value))
            })
            .min_by_key(|(indent, _)| *indent);
        let indent_of_kind = match kind {
            Some((indent, "ImagePolicy")) => indent,
            Some((_, kind)) if kind.contains("{{") && mentions_image_api(&document) => {
                found.push((None, None));
                continue;
            }
            _ => continue,
        };
        let metadata = document
            .iter()
            .position(|line| indent(line) == indent_of_kind && line.trim() == "metadata:");
        let fields: Vec<(&str, &str)> = metadata
            .map(|at| metadata_fields(&document[at + 1..], indent_of_kind))
            .unwrap_or_default();
        let namespace = fields.iter().find(|(k, _)| *k == "namespace").map(|f| f.1);
        let mut names = fields.iter().filter(|(k, _)| *k == "name").peekable();
        if names.peek().is_none() {
            found.push((None, namespace));
        }
        // Each branch of an `{{ if }}` may name it.
        found.extend(names.map(|(_, name)| (Some(*name), namespace)));
    }
    found
}

/// The keys and values one indent under a mapping at `parent_indent`, up to its end. Lines
/// holding only a template action (`{{- if … }}`) neither end it nor are keys.
fn metadata_fields<'a>(lines: &[&'a str], parent_indent: usize) -> Vec<(&'a str, &'a str)> {
    let mut fields = Vec::new();
    let mut child_indent = None;
    for line in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("{{") || trimmed.starts_with('#') {
            continue;
        }
        let indent = indent(line);
        if indent <= parent_indent {
            break;
        }
        if *child_indent.get_or_insert(indent) == indent {
            fields.extend(key_value(line));
        }
    }
    fields
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A line's `key: value`, the value unquoted.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.trim().split_once(": ")?;
    let value = value.trim();
    let unquoted = ['"', '\'']
        .into_iter()
        .find_map(|quote| value.strip_prefix(quote)?.strip_suffix(quote));
    Some((key, unquoted.unwrap_or(value)))
}

fn mentions_image_api(document: &[&str]) -> bool {
    document
        .iter()
        .any(|line| line.contains(crate::flux::objects::API_GROUP))
}

/// The folders of the charts that `chart_dir`'s `file://` dependencies name.
fn local_dependencies<'a>(
    chart_dir: &'a str,
    files: &'a [ScannedFile],
    by_path: &'a HashMap<&str, usize>,
) -> impl Iterator<Item = String> + 'a {
    DEPENDENCY_FILES
        .into_iter()
        .filter_map(move |name| by_path.get(join(chart_dir, name)?.as_str()))
        .filter_map(|&file| files[file].yaml.as_ref().ok())
        // Helm reads the first document only.
        .filter_map(|yaml| {
            let dependencies = yaml.path(*yaml.documents.first()?, &["dependencies"])?;
            Some((yaml, dependencies))
        })
        .flat_map(move |(yaml, dependencies)| {
            yaml.items(dependencies)
                .iter()
                .filter_map(|&dependency| yaml.path_str(dependency, &["repository"]))
                .filter_map(|repository| repository.strip_prefix("file://"))
                .map(move |path| normalize(&format!("{chart_dir}/{path}")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::marker::PolicyRef;
    use crate::source::SourceFile;
    use crate::workspace::scan_file;

    /// The chart folders the charts in `charts` render, in a repository of these files.
    fn rendered_dirs(charts: &[&str], files: &[(&str, &str)]) -> Vec<String> {
        let files: Vec<ScannedFile> = files
            .iter()
            .map(|(path, text)| scan_file(SourceFile::new(path.to_string(), text.to_string())))
            .collect();
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, file)| (file.source.path.as_str(), i))
            .collect();
        let charts = charts
            .iter()
            .map(|dir| (dir.to_string(), BTreeSet::from(["apps".to_string()])))
            .collect();
        let rendered = with_local_dependencies(&charts, &files, &by_path);
        assert!(rendered
            .values()
            .all(|namespaces| namespaces.contains("apps")));
        rendered.into_keys().collect()
    }

    fn chart_yaml(repositories: &[&str]) -> String {
        let dependencies: String = repositories
            .iter()
            .map(|repository| {
                format!("  - name: dep\n    version: 0.1.0\n    repository: {repository}\n")
            })
            .collect();
        format!("apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n{dependencies}")
    }

    #[test]
    fn only_a_chart_naming_a_file_dependency_is_worth_parsing() {
        let chart = chart_yaml(&["file://../ui"]);
        assert!(may_name_local_dependency(
            "charts/app/Chart.yaml",
            chart.as_bytes()
        ));
        assert!(may_name_local_dependency(
            "requirements.yaml",
            chart.as_bytes()
        ));
        let remote = chart_yaml(&["https://charts.example.com"]);
        assert!(!may_name_local_dependency(
            "charts/app/Chart.yaml",
            remote.as_bytes()
        ));
        assert!(!may_name_local_dependency(
            "charts/app/values.yaml",
            chart.as_bytes()
        ));
    }

    #[test]
    fn a_file_dependency_is_resolved_from_the_chart_folder() {
        let chart = chart_yaml(&["file://../common/frontend", "file://./sub"]);
        assert_eq!(
            rendered_dirs(&["charts/app"], &[("charts/app/Chart.yaml", &chart)]),
            ["charts/app", "charts/app/sub", "charts/common/frontend"]
        );
    }

    #[test]
    fn requirements_yaml_names_dependencies_too() {
        let requirements = "dependencies:\n  - name: ui\n    repository: file://../ui\n";
        assert_eq!(
            rendered_dirs(&["app"], &[("app/requirements.yaml", requirements)]),
            ["app", "ui"]
        );
    }

    #[test]
    fn a_dependency_path_stays_inside_the_repository() {
        // securejoin keeps `..` at the checkout's root.
        let chart = chart_yaml(&["file://../../../common"]);
        assert_eq!(
            rendered_dirs(&["charts/app"], &[("charts/app/Chart.yaml", &chart)]),
            ["charts/app", "common"]
        );
        let chart = chart_yaml(&["file://../common"]);
        assert_eq!(
            rendered_dirs(&[""], &[("Chart.yaml", &chart)]),
            ["", "common"]
        );
    }

    #[test]
    fn only_file_dependencies_are_folders_of_this_repository() {
        // An empty repository is a subchart vendored in `charts/`, already in the chart's folder.
        let chart = chart_yaml(&[
            "https://charts.example.com",
            "oci://ghcr.io/org/charts",
            "\"\"",
        ]);
        assert_eq!(
            rendered_dirs(&["app"], &[("app/Chart.yaml", &chart)]),
            ["app"]
        );
    }

    #[test]
    fn a_subcharts_own_file_dependencies_are_not_rendered() {
        // source-controller resolves the dependencies of the chart it builds, not theirs.
        let app = chart_yaml(&["file://../ui"]);
        let ui = chart_yaml(&["file://../base"]);
        assert_eq!(
            rendered_dirs(
                &["charts/app"],
                &[
                    ("charts/app/Chart.yaml", &app),
                    ("charts/ui/Chart.yaml", &ui)
                ]
            ),
            ["charts/app", "charts/ui"]
        );
    }

    /// Whether the chart file `text`, installed into `namespaces`, may render `policy`.
    fn could_render(text: &str, namespaces: &[&str], policy: &str) -> bool {
        let file = scan_file(SourceFile::new(
            "charts/api/templates/policy.yaml".to_string(),
            text.to_string(),
        ));
        let namespaces = namespaces.iter().map(|n| n.to_string()).collect();
        let policy = PolicyRef::parse(policy).unwrap();
        policies_of(&namespaces, &file)
            .iter()
            .any(|chart_policy| chart_policy.could_be(&policy))
    }

    /// mfamador/gitops-demo-tenant-data's template, less its spec.
    const TEMPLATED: &str = "{{- if .Values.image.automation.enabled -}}\napiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: {{ .Values.environment }}-{{ .Values.region }}-{{ template \"api.name\" . }}\nspec:\n  imageRepositoryRef:\n    name: {{ .Values.name }}\n{{- end }}\n";

    #[test]
    fn each_action_of_a_templated_name_stands_for_any_text() {
        assert!(could_render(
            TEMPLATED,
            &["data"],
            "data:staging-eun-critical"
        ));
        assert!(could_render(
            TEMPLATED,
            &["data"],
            "data:staging-eun-critical-dark"
        ));
        // The literal dashes are always there.
        assert!(!could_render(TEMPLATED, &["data"], "data:staging"));
        assert!(!could_render(TEMPLATED, &["data"], "data:staging-eun"));
        // A literal name is that name; quotes are YAML's, not the name's.
        let literal = TEMPLATED.replace(
            "name: {{ .Values.environment }}-{{ .Values.region }}-{{ template \"api.name\" . }}",
            "name: \"api-{{ .Values.env }}\"",
        );
        assert!(could_render(&literal, &["data"], "data:api-prod"));
        assert!(!could_render(&literal, &["data"], "data:web-prod"));
    }

    #[test]
    fn the_namespace_is_the_templates_else_the_releases() {
        assert!(!could_render(
            TEMPLATED,
            &["data"],
            "flux-system:staging-eun-api"
        ));
        assert!(could_render(
            TEMPLATED,
            &["data", "flux-system"],
            "flux-system:staging-eun-api"
        ));
        // A release whose namespace is not known may install it anywhere.
        assert!(could_render(
            TEMPLATED,
            &["data", ""],
            "flux-system:staging-eun-api"
        ));
        let own = TEMPLATED.replace("metadata:\n", "metadata:\n  namespace: flux-system\n");
        assert!(could_render(&own, &["data"], "flux-system:staging-eun-api"));
        assert!(!could_render(&own, &["data"], "data:staging-eun-api"));
        let release = TEMPLATED.replace(
            "metadata:\n",
            "metadata:\n  namespace: {{ .Release.Namespace }}\n",
        );
        assert!(could_render(&release, &["data"], "apps:staging-eun-api"));
    }

    #[test]
    fn only_image_policies_are_read_and_each_branch_names_one() {
        let repository = TEMPLATED.replace("kind: ImagePolicy", "kind: ImageRepository");
        assert!(!could_render(
            &repository,
            &["data"],
            "data:staging-eun-api"
        ));
        // A reference's kind is not the object's.
        let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\nspec:\n  chart:\n    spec:\n      sourceRef:\n        kind: ImagePolicy\n";
        assert!(!could_render(release, &["data"], "data:api"));
        let branches = "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  {{- if .Values.short }}\n  name: api\n  {{- else }}\n  name: api-{{ .Values.env }}\n  {{- end }}\n  labels:\n    name: web\n";
        assert!(could_render(branches, &["data"], "data:api"));
        assert!(could_render(branches, &["data"], "data:api-prod"));
        assert!(!could_render(branches, &["data"], "data:web"));
    }

    #[test]
    fn a_name_or_kind_not_on_a_line_of_its_own_may_be_any() {
        let included = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n{{- include \"api.metadata\" . | nindent 2 }}\nspec: {}\n";
        assert!(could_render(included, &["data"], "data:anything"));
        let kind = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: {{ .Values.kind }}\nmetadata:\n  name: api\n";
        assert!(could_render(kind, &["data"], "data:anything"));
        let other_api = kind.replace("image.toolkit.fluxcd.io", "apps");
        assert!(!could_render(&other_api, &["data"], "data:anything"));
    }
}
