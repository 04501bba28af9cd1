//! The Helm charts of this repository that HelmReleases install. source-controller packages a
//! chart from a GitRepository with everything in its folder (vendored subcharts in `charts/`
//! included) and adds each local dependency its `Chart.yaml` (or the older `requirements.yaml`)
//! names with `repository: file://…`: the chart at that path, relative to the chart's folder and
//! kept inside the checkout (`securejoin`). It resolves the installed chart's dependencies only:
//! a subchart's own `file://` dependencies are not fetched, so Helm never renders them.

use foldhash::HashMap;
use std::collections::BTreeSet;

use super::render::join;
use crate::flux::automation::normalize;
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

/// The folders whose templates HelmReleases installing the charts in `chart_dirs` render: each
/// chart's own, and those of the subcharts its `file://` dependencies name.
pub fn with_local_dependencies(
    chart_dirs: &BTreeSet<String>,
    files: &[ScannedFile],
    by_path: &HashMap<&str, usize>,
) -> BTreeSet<String> {
    chart_dirs
        .iter()
        .flat_map(|dir| local_dependencies(dir, files, by_path).chain([dir.clone()]))
        .collect()
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
        let charts = charts.iter().map(|dir| dir.to_string()).collect();
        with_local_dependencies(&charts, &files, &by_path)
            .into_iter()
            .collect()
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
}
