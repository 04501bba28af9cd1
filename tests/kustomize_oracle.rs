//! The real kustomize is the oracle: for every kustomization under `fixtures/` (the corpus, the
//! real-world cases, the rule fixtures, the samples), the native resolver's image objects (kind,
//! namespace, name, labels, spec) equal what `kubectl kustomize --load-restrictor
//! LoadRestrictionsNone` renders, and where kubectl fails the native build fails with the same
//! cause. A difference is a failing test; kubectl is installed by `scripts/install-test-deps`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flux_image_lint::config::Config;
use flux_image_lint::model::render::{Cause, Resource, KEPT_OUT};
use flux_image_lint::model::tree::Node;
use flux_image_lint::scan::yaml::YamlFile;
use flux_image_lint::source::SourceFile;
use flux_image_lint::workspace::{ScannedFile, Workspace};

type Objects = BTreeMap<String, serde_json::Value>;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `Kind namespace/name` → labels and spec, for the image objects of a render.
fn image_objects<N: std::ops::Deref<Target = Node>>(nodes: impl Iterator<Item = N>) -> Objects {
    nodes
        .filter(|node| {
            node.path_str(&["apiVersion"])
                .is_some_and(|v| v.starts_with("image.toolkit.fluxcd.io/"))
        })
        .map(|node| {
            let key = format!(
                "{} {}/{}",
                node.path_str(&["kind"]).unwrap_or_default(),
                node.path_str(&["metadata", "namespace"])
                    .unwrap_or_default(),
                node.path_str(&["metadata", "name"]).unwrap_or_default()
            );
            let labels = node
                .path(&["metadata", "labels"])
                .map_or(serde_json::Value::Null, Node::to_json);
            let spec = node
                .get("spec")
                .map_or(serde_json::Value::Null, Node::to_json);
            (key, serde_json::json!({"labels": labels, "spec": spec}))
        })
        .collect()
}

/// A resource of a native build as the model reads it: image objects are read whole when the
/// model takes them in, the parts of other kinds only as far as a patch reaches.
fn read_whole<'r>(files: &'r [ScannedFile], resource: &'r Resource) -> Cow<'r, Node> {
    resource.node.read_whole(files)
}

enum Rendered {
    Objects(Objects),
    Failed(String),
}

fn kubectl(dir: &Path) -> Rendered {
    let output = Command::new("kubectl")
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(dir)
        .output()
        .expect("kubectl runs (scripts/install-test-deps installs it)");
    if !output.status.success() {
        return Rendered::Failed(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let text = String::from_utf8(output.stdout).unwrap();
    let source = SourceFile::new("out.yaml".into(), text);
    let yaml = YamlFile::parse(&source).expect("kubectl prints YAML");
    let nodes: Vec<Node> = yaml
        .documents
        .iter()
        .map(|&d| Node::from_yaml(&yaml, 0, d))
        .collect();
    Rendered::Objects(image_objects(nodes.iter()))
}

#[test]
fn native_renders_equal_kubectl_kustomize() {
    let root = fixtures();
    let workspace = Workspace::load(&root, &Config::default(), 2).expect("fixtures listed");
    let dirs: Vec<&String> = workspace.model.kustomizations.keys().collect();
    assert!(dirs.len() >= 100, "{} kustomizations", dirs.len());
    let mut failures = Vec::new();
    let (mut agreed, mut both_failed) = (0, 0);
    // kubectl takes most of the time: run it four at a time.
    let chunk = dirs.len().div_ceil(4).max(1);
    let rendered: Vec<Rendered> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| {
                let root = &root;
                scope.spawn(move || {
                    part.iter()
                        .map(|dir| kubectl(&root.join(dir)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (dir, expected) in dirs.into_iter().zip(rendered) {
        let native = workspace.render(dir);
        match (expected, native) {
            (Rendered::Objects(mut expected), Ok(build)) => {
                let files = &workspace.files;
                let mut actual =
                    image_objects(build.resources.iter().map(|r| read_whole(files, r)));
                // What the model does not follow (`configurations`, `replacements`, ...) leaves
                // objects whose content it does not claim: a difference there is no failure.
                let uncertain = image_objects(
                    build
                        .resources
                        .iter()
                        .filter(|r| r.uncertain)
                        .map(|r| read_whole(files, r)),
                );
                for key in uncertain.keys() {
                    if let (Some(e), Some(a)) = (expected.get_mut(key), actual.get_mut(key)) {
                        *e = serde_json::Value::Null;
                        *a = serde_json::Value::Null;
                    }
                }
                if build.incomplete {
                    failures.push(format!("{dir}: kubectl rendered it, the native build calls it incomplete"));
                } else if expected != actual {
                    failures.push(format!(
                        "{dir}: objects differ\n  kubectl: {}\n  native:  {}",
                        serde_json::to_string(&expected).unwrap(),
                        serde_json::to_string(&actual).unwrap()
                    ));
                } else {
                    agreed += 1;
                }
            }
            (Rendered::Failed(stderr), Err(error)) => match Cause::of_kustomize_error(&stderr) {
                Some(cause) if error.cause.is_reported_as(cause) => both_failed += 1,
                cause => failures.push(format!(
                    "{dir}: kubectl fails with {cause:?}, the native build with {:?} ({})\n  kubectl: {}",
                    error.cause,
                    error.message,
                    stderr.trim()
                )),
            },
            (Rendered::Failed(stderr), Ok(build)) => {
                // Remote bases cannot be fetched here; the native build knows it is incomplete.
                if !build.incomplete {
                    failures.push(format!("{dir}: kubectl fails, the native build does not\n  kubectl: {}", stderr.trim()));
                }
            }
            // kubectl builds the checkout, which holds what source-controller leaves out of
            // the artifact kustomize-controller builds.
            (Rendered::Objects(_), Err(error)) if error.message.ends_with(KEPT_OUT) => {
                both_failed += 1;
            }
            (Rendered::Objects(_), Err(error)) => {
                failures.push(format!("{dir}: the native build fails ({:?}: {}), kubectl does not", error.cause, error.message));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} kustomizations differ from kubectl ({agreed} agree, {both_failed} fail alike):\n{}",
        failures.len(),
        failures.len() + agreed + both_failed,
        failures.join("\n")
    );
    eprintln!("{agreed} kustomizations render alike, {both_failed} fail alike");
    assert!(
        both_failed >= 6,
        "the corpus has kustomizations kubectl cannot build: {both_failed}"
    );
}
