//! Rule `yaml-syntax`; its documentation is `RULE.docs`.

use super::{Context, Findings, Rule};
use crate::scan::yaml::YamlErrorKind;
use crate::source::Span;

pub static RULE: Rule = Rule {
    id: "yaml-syntax",
    severity: crate::report::Severity::Error,
    summary: "A YAML file with a marker or a Flux image object does not parse",
    docs: r#"## What it catches
A YAML file that holds a `$imagepolicy` marker or names the `image.toolkit.fluxcd.io` API and
does not parse. The diagnostic points at the parser's line and column. A file that is not valid
UTF-8 is such a file too (the position of its first invalid byte), and so is any `.yaml`/`.yml`
file that could not be read at all: larger than `max_file_size` (config, default 16 MiB), a FIFO
or device, or unreadable (permissions); what it holds is unknown, so it is reported whatever it
holds.

Files are bytes: Flux's screening reader looks for the bytes of `$imagepolicy` and its YAML
parser (yaml.v3) rejects invalid UTF-8, so Flux skips such a file silently. A UTF-16 file (with
a byte order mark) decodes in yaml.v3, so kustomize applies its objects, and this tool reads
them; but its markers are never even seen: the byte search for `$imagepolicy` cannot match
UTF-16, so Flux never updates them, and this tool ignores them as Flux does. `--fix` never
rewrites a file that is not UTF-8.

## Why it matters in Flux
Flux's image automation skips files it cannot parse without any error or event, so none of the
markers in the file is ever updated, and a broken object never reaches the cluster.

## Example
```yaml
spec:
  image: ghcr.io/org/app
   interval: 5m   # bad indentation
```

A Helm chart's template (under `templates/` beside a `Chart.yaml`, or a file elsewhere in the
chart that holds a template action `{{`, which the chart reads with `.Files.Glob` and renders
with `tpl`) is text Helm renders: its Flux image objects are not judged as written, only its
markers, which image automation reads as written.

## Fix
Correct the YAML at the position shown. Helm templates (`{{ … }}`) are not YAML: keep markers
in values files instead.
"#,
    check,
};

fn check(cx: &Context, out: &mut Findings) {
    for (index, file) in cx.files() {
        let Err(error) = &file.yaml else { continue };
        let mentions_marker = crate::scan::marker::mentions_marker(file.source.text().as_bytes());
        if error.kind == YamlErrorKind::NotRead {
            out.push(
                &RULE,
                index,
                Span::new(0, 0),
                format!("cannot read this file: {}", error.message),
                "what it holds is unknown: markers or Flux objects in it are not checked; exclude it (`exclude` in the config), make it a readable regular file, or raise `max_file_size`".to_string(),
            );
            continue;
        }
        // A Helm chart's template is text Helm renders before any YAML is read: its objects
        // exist as rendered, which nothing here sees. Its markers still count: image automation
        // reads the file as it is.
        let helm_template = is_helm_template(&file.source.path, file.source.text(), cx.workspace);
        if !mentions_marker && (!file.mentions_image_api || helm_template) {
            continue;
        }
        // Image automation skips the file; kustomize fails the build that lists it, and Flux
        // keeps what it applied before (milung/ambulance-gitops's bot went on with the old
        // automation while its file was broken).
        let help = if mentions_marker {
            "Flux's image automation skips files it cannot parse, so the markers in this file are ignored; fix the YAML here"
        } else {
            "kustomize cannot build a file it cannot parse: Flux applies nothing of the build that lists it, and what it applied before stays as it was; fix the YAML here"
        };
        let end = (error.offset + 1)
            .min(file.source.text().len())
            .max(error.offset);
        out.push(
            &RULE,
            index,
            Span::new(error.offset, end),
            format!("YAML syntax error: {}", error.message),
            help.to_string(),
        );
    }
}

/// Whether the file is text Helm renders: under the `templates/` folder of a folder with a
/// `Chart.yaml`, or elsewhere in such a folder and holding a template action (`{{`), as the
/// files a chart reads with `.Files.Glob` and renders with `tpl` do (giantswarm/flux-app's
/// `crd-base/`).
fn is_helm_template(path: &str, text: &str, workspace: &crate::workspace::Workspace) -> bool {
    let is_chart = |dir: &str| {
        workspace
            .yaml_paths
            .contains(&workspace.file_set, &format!("{dir}Chart.yaml"))
    };
    let mut chart_dir = path;
    while let Some((dir, _)) = chart_dir.rsplit_once("templates/") {
        if (dir.is_empty() || dir.ends_with('/')) && is_chart(dir) {
            return true;
        }
        chart_dir = dir;
    }
    text.contains("{{")
        && path
            .match_indices('/')
            .any(|(end, _)| is_chart(&path[..=end]))
}
