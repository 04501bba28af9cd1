//! The real kustomize, on request (`--kustomize auto|PATH`): each build runs `kustomize build`
//! (or `kubectl kustomize`) with `--load-restrictor LoadRestrictionsNone`, through a wrapper
//! kustomization in a scratch folder that names the folder to build (and, for a Flux
//! Kustomization, lays its fields over it) and asks for `buildMetadata: [originAnnotations]`.
//! Each object's origin annotation names its file; its fields are traced to that file where the
//! values are the same, else to the object (a patch changed them). A build the native renderer
//! finds remote bases in is left to it: the real one would reach the network. So is a Flux
//! Kustomization's with `spec.components`, which kustomize-controller adds inside the folder's
//! own kustomization, where a wrapper cannot put them.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::kustomization::{Patch, PatchBody};
use super::render::{Build, BuildError, Cause, Resource, Sources};
use super::tree::{Node, Origin, Value};
use crate::scan::yaml::YamlFile;
use crate::source::SourceFile;

const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// How long one build may take before it is stopped.
const BUILD_TIMEOUT: Duration = Duration::from_secs(120);

/// What one build asks kustomize for: the repository paths to build, and the fields a Flux
/// Kustomization lays over them.
pub struct Wrapper<'a> {
    pub resources: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub patches: &'a [Patch],
    pub components: Vec<String>,
    /// Where a failure of the whole build is reported.
    pub origin: Origin,
}

/// The kustomize binary to build with.
#[derive(Debug, Clone)]
pub struct External {
    program: PathBuf,
    /// `kubectl kustomize` rather than `kustomize build`.
    kubectl: bool,
}

impl External {
    /// `auto`: `kustomize`, else `kubectl`, from `PATH`; `None` when neither is there.
    pub fn find() -> Option<External> {
        ["kustomize", "kubectl"]
            .iter()
            .find_map(|name| which(name))
            .map(External::at)
    }

    /// A given binary: `kubectl` (by its file name) runs as `kubectl kustomize`.
    pub fn at(program: PathBuf) -> External {
        let kubectl = program
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("kubectl"));
        External { program, kubectl }
    }

    pub fn describe(&self) -> String {
        let command = if self.kubectl {
            "kubectl kustomize"
        } else {
            "kustomize build"
        };
        format!("{command} ({})", self.program.display())
    }

    /// Builds what a wrapper names with the real kustomize.
    pub fn build(&self, sources: &Sources, wrapper: &Wrapper) -> Result<Build, BuildError> {
        let fail = |cause: Cause, message: String| BuildError {
            cause,
            message,
            origin: wrapper.origin,
        };
        let scratch = tempfile::tempdir().map_err(|e| {
            fail(
                Cause::InvalidKustomization,
                format!("no scratch folder for kustomize: {e}"),
            )
        })?;
        let root = sources.root.canonicalize().map_err(|e| {
            fail(
                Cause::MissingResource,
                format!("{}: {e}", sources.root.display()),
            )
        })?;
        let here = scratch
            .path()
            .canonicalize()
            .unwrap_or_else(|_| scratch.path().to_path_buf());
        let to = |path: &String| {
            relative(&here, &root.join(path))
                .to_string_lossy()
                .into_owned()
        };
        let mut kustomization = serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": wrapper.resources.iter().map(to).collect::<Vec<_>>(),
            "buildMetadata": ["originAnnotations"],
        });
        let fields = kustomization.as_object_mut().expect("an object");
        for (key, value) in [
            ("namespace", &wrapper.namespace),
            ("namePrefix", &wrapper.name_prefix),
            ("nameSuffix", &wrapper.name_suffix),
        ] {
            if let Some(value) = value {
                fields.insert(key.to_string(), serde_json::json!(value));
            }
        }
        let patches: Vec<serde_json::Value> = wrapper
            .patches
            .iter()
            .filter_map(|patch| {
                let PatchBody::Inline(body) = &patch.body else {
                    return None;
                };
                let mut entry = serde_json::json!({ "patch": body.str().unwrap_or_default() });
                if let Some(target) = &patch.target {
                    entry["target"] = target.to_json();
                }
                Some(entry)
            })
            .collect();
        if !patches.is_empty() {
            fields.insert("patches".to_string(), serde_json::json!(patches));
        }
        if !wrapper.components.is_empty() {
            let components: Vec<String> = wrapper.components.iter().map(to).collect();
            fields.insert("components".to_string(), serde_json::json!(components));
        }
        std::fs::write(
            scratch.path().join("kustomization.yaml"),
            serde_json::to_string(&kustomization).expect("JSON"),
        )
        .map_err(|e| {
            fail(
                Cause::InvalidKustomization,
                format!("cannot write the wrapper kustomization: {e}"),
            )
        })?;
        let (success, stdout, stderr) = self
            .run(scratch.path())
            .map_err(|message| fail(Cause::InvalidKustomization, message))?;
        if !success {
            let cause = Cause::of_kustomize_error(&stderr).unwrap_or(Cause::InvalidKustomization);
            let entries = wrapper.resources.iter().chain(&wrapper.components);
            let message = as_the_repository_names(
                &failure(&stderr),
                (&here, &root),
                entries.map(|path| (to(path), path.as_str())),
            );
            return Err(fail(cause, format!("{}: {message}", self.describe())));
        }
        Ok(self.read_output(sources, &here, &root, &stdout))
    }

    /// Runs the binary in `dir`: (success, stdout, stderr).
    fn run(&self, dir: &Path) -> Result<(bool, String, String), String> {
        let mut command = Command::new(&self.program);
        if self.kubectl {
            command.arg("kustomize");
        } else {
            command.arg("build");
        }
        let mut child = command
            .args(["--load-restrictor", "LoadRestrictionsNone", "."])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.describe()))?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).map(|_| text)
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).map(|_| text)
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if started.elapsed() > BUILD_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish in {} s",
                    self.describe(),
                    BUILD_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = out
            .join()
            .map_err(|_| "reading kustomize's output failed".to_string())?;
        let stderr = err
            .join()
            .map_err(|_| "reading kustomize's errors failed".to_string())?;
        Ok((
            status.success(),
            stdout.map_err(|e| e.to_string())?,
            stderr.map_err(|e| e.to_string())?,
        ))
    }

    /// The objects kustomize printed, each traced to the file its origin annotation names.
    fn read_output(&self, sources: &Sources, wrapper: &Path, root: &Path, text: &str) -> Build {
        let source = SourceFile::new(String::new(), text.to_string());
        let mut build = Build::default();
        let Ok(yaml) = YamlFile::parse(&source) else {
            return build;
        };
        for &document in &yaml.documents {
            let mut node = Node::from_yaml(&yaml, 0, document);
            if !node.is_map() {
                continue;
            }
            let origin_file = node
                .path_str(&["metadata", "annotations", ORIGIN_ANNOTATION])
                .and_then(|annotation| {
                    annotation
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("path:"))
                })
                .map(|path| normalize(&wrapper.join(path.trim())))
                .and_then(|path| path.strip_prefix(root).ok().map(Path::to_path_buf))
                .map(|path| crate::walk::relative_path(Path::new(""), &path))
                .and_then(|path| sources.by_path.get(path.as_str()).copied());
            if let Some(annotations) = node
                .get_mut("metadata")
                .and_then(|m| m.get_mut("annotations"))
            {
                annotations.remove(ORIGIN_ANNOTATION);
            }
            if node
                .path(&["metadata", "annotations"])
                .is_some_and(|a| a.entries().is_empty())
            {
                node.get_mut("metadata").map(|m| m.remove("annotations"));
            }
            let written = origin_file.and_then(|file| written_document(sources, file, &node));
            match (written, origin_file) {
                (Some(written), _) => trace(&mut node, Some(&written), written.origin),
                (None, Some(file)) => trace(&mut node, None, Origin::new(file, Default::default())),
                // Generated (a ConfigMap of a generator): no file to point at.
                (None, None) => continue,
            }
            build.read.insert(node.origin.file());
            build.resources.push(Resource::from_node(node));
        }
        build
    }
}

/// Whether kustomize failed to fetch a remote resource (`git fetch`, or a download that found no
/// host, no route or no answer): this machine's network failed, not the build.
pub fn is_fetch_failure(message: &str) -> bool {
    const NEEDLES: [&str; 7] = [
        "Could not resolve host",
        "no such host",
        "Connection refused",
        "connection refused",
        "i/o timeout",
        "Network is unreachable",
        "unable to access",
    ];
    NEEDLES.iter().any(|needle| message.contains(needle))
}

/// The real kustomize's failure (from 5.4) on a field a `configurations` file holds that it does
/// not know, which kustomize 5.3 and older ignore: the decoder's words, without the
/// "invalid Kustomization" of a kustomization file's own unknown field.
pub fn is_strict_configuration_failure(message: &str) -> bool {
    message.contains(super::configurations::UNKNOWN_FIELD)
        && !message.contains(super::kustomization::UNKNOWN_FIELD)
}

/// Whether kustomize failed to write out an object holding a map with a key YAML reads as no
/// string (`2222:`, kubernetes-sigs/kustomize#3446): kustomize 4 and 5 fail so where
/// kustomize-controller before 0.13 (Flux 0.15), built without kyaml, does not, nor kustomize
/// releases with the fix (kustomize#6223, 2026), whose Flux release is not known here.
pub fn is_non_string_key_failure(message: &str) -> bool {
    message.contains("json: unsupported type: map[interface {}]interface {}")
}

/// The document of `file` an output object comes from: same kind, and the same name or one the
/// output name holds (a prefix or suffix added).
fn written_document(sources: &Sources, file: usize, object: &Node) -> Option<Node> {
    let yaml = sources.files[file].tree().ok()?;
    let kind = object.path_str(&["kind"])?;
    let name = object.path_str(&["metadata", "name"]).unwrap_or_default();
    let candidates: Vec<Node> = yaml
        .documents
        .iter()
        .map(|&d| Node::from_yaml(&yaml, file, d))
        .filter(|d| d.path_str(&["kind"]) == Some(kind))
        .collect();
    let written_name = |d: &Node| {
        d.path_str(&["metadata", "name"])
            .unwrap_or_default()
            .to_string()
    };
    // Of two objects of one name in two namespaces, the one written in the output's namespace.
    let namespace = object.path_str(&["metadata", "namespace"]);
    let named: Vec<&Node> = (candidates.iter())
        .filter(|d| written_name(d) == name)
        .collect();
    (named.iter())
        .find(|d| d.path_str(&["metadata", "namespace"]) == namespace)
        .or_else(|| named.first())
        .copied()
        .or_else(|| {
            candidates
                .iter()
                .find(|d| !written_name(d).is_empty() && name.contains(&written_name(d)))
        })
        .or_else(|| (candidates.len() == 1).then(|| &candidates[0]))
        .cloned()
}

/// Gives every node of an output object the origin of the same field in the written document
/// when its value is the same there, else `fallback` (a patch or transformer changed it).
fn trace(node: &mut Node, written: Option<&Node>, fallback: Origin) {
    let same = written.filter(|w| match (&w.value, &node.value) {
        (Value::Scalar(a), Value::Scalar(b)) => a.text == b.text,
        (Value::Map(_), Value::Map(_)) | (Value::Seq(_), Value::Seq(_)) => true,
        _ => false,
    });
    node.origin = same.map_or(fallback, |w| w.origin);
    let here = node.origin;
    match &mut node.value {
        Value::Map(entries) => {
            for entry in entries {
                let written_entry = same.and_then(|w| w.entry(&entry.key));
                entry.key_origin = written_entry.map_or(here, |e| e.key_origin);
                trace(&mut entry.value, written_entry.map(|e| &e.value), here);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                trace(item, same.and_then(|w| w.items().get(i)), here);
            }
        }
        _ => {}
    }
}

/// `path` relative to `from` (both absolute), through `..` where needed.
fn relative(from: &Path, path: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = path.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for part in &to[common..] {
        relative.push(part);
    }
    relative
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// kustomize's message with its paths as the repository names them: a wrapper's entry, which
/// it quotes relative to the scratch folder `here` (`'../../home/me/fleet/apps'`), and the
/// repository's absolute paths (`/home/me/fleet/apps/missing.yaml`), read `apps` and
/// `apps/missing.yaml`.
fn as_the_repository_names<'p>(
    message: &str,
    (here, root): (&Path, &Path),
    entries: impl Iterator<Item = (String, &'p str)>,
) -> String {
    let named = |path: &str| {
        if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }
    };
    let mut message = message.to_string();
    for (relative, path) in entries {
        message = message.replace(&format!("'{relative}'"), &format!("'{}'", named(path)));
    }
    // A file of the repository quoted relative to the scratch folder (an origin annotation's
    // `path: ../../home/me/fleet/apps/x.yaml`), before the root alone is taken out of it.
    let message = message.replace(&format!("{}/", relative(here, root).to_string_lossy()), "");
    let root = root.to_string_lossy();
    let message = message.replace(&format!("{root}/"), "");
    // The root itself, where no longer name goes on from it (`/home/me/fleet2`).
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) = rest.find(root.as_ref()) {
        let after = &rest[at + root.len()..];
        let goes_on = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || "-_.".contains(c));
        out.push_str(&rest[..at]);
        out.push_str(if goes_on { &root } else { "." });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Why kustomize failed: the last line of its errors, without the log header kubectl writes
/// before it (`E1201 17:18:18.782871 1070 run.go:72] "command failed" err="…"`), whose time and
/// process id would make every run's report differ.
fn failure(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.contains("Warning:"))
        .collect();
    // A Go panic (kustomize's own failure on input it did not expect, such as the commas of a
    // SOPS-encrypted `kind` under a namespace: adiloc/homelab): its message, not the last frame
    // of the stack trace after it.
    if let Some(panic) = lines.iter().find_map(|line| line.strip_prefix("panic: ")) {
        return format!("kustomize crashed: {}", panic.trim());
    }
    // klog writes a value of several lines as `err=<`, each line indented by a tab, then ` >`.
    if let Some(start) = lines.iter().rposition(|line| line.ends_with("err=<")) {
        let value: Vec<&str> = lines[start + 1..]
            .iter()
            .take_while(|line| line.trim() != ">")
            .map(|line| line.trim())
            .collect();
        if !value.is_empty() {
            return value.join(" ");
        }
    }
    let line = lines.last().copied().unwrap_or("kustomize failed").trim();
    let line = without_log_header(line);
    match line.strip_prefix("\"command failed\" err=") {
        // Quoted as Go quotes strings, which JSON reads but for rare escapes.
        Some(quoted) => {
            serde_json::from_str(quoted).unwrap_or_else(|_| quoted.trim_matches('"').to_string())
        }
        None => line.to_string(),
    }
}

/// A klog line's message: `Lmmdd hh:mm:ss.uuuuuu pid file:line] message`.
fn without_log_header(line: &str) -> &str {
    let Some((header, message)) = line.split_once("] ") else {
        return line;
    };
    let fields: Vec<&str> = header.split_whitespace().collect();
    let is_header = match fields[..] {
        [level_and_date, time, pid, source] => {
            level_and_date.len() == 5
                && level_and_date.starts_with(['I', 'W', 'E', 'F'])
                && level_and_date[1..].bytes().all(|b| b.is_ascii_digit())
                && time
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
                && pid.bytes().all(|b| b.is_ascii_digit())
                && source.contains(':')
        }
        _ => false,
    };
    if is_header {
        message
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_told_without_the_log_header() {
        let kubectl = "E1201 17:18:18.782871    1070 run.go:72] \"command failed\" err=\"accumulating resources: lstat /r/missing.yaml: no such file \\\"x\\\"\"\n";
        assert_eq!(
            failure(kubectl),
            "accumulating resources: lstat /r/missing.yaml: no such file \"x\""
        );
        let kustomize = "Warning: something\nError: accumulating resources: missing.yaml\n\n";
        assert_eq!(
            failure(kustomize),
            "Error: accumulating resources: missing.yaml"
        );
        // A message that merely holds a `] ` keeps its text.
        let odd = "error: map[a:b] is not valid";
        assert_eq!(failure(odd), odd);
    }

    #[test]
    fn a_panic_is_told_by_its_message() {
        let stderr = "panic: number of previous names, number of previous namespaces, number of previous kinds not equal\n\ngoroutine 1 [running]:\nsigs.k8s.io/kustomize/api/resource.(*Resource).PrevIds(...)\n\tsigs.k8s.io/kustomize/api@v0.18.0/resource/resource.go:446\nmain.main()\n\tk8s.io/kubernetes/cmd/kubectl-sdk/kubectl.go:41 +0x85\n";
        assert_eq!(
            failure(stderr),
            "kustomize crashed: number of previous names, number of previous namespaces, number of previous kinds not equal"
        );
    }

    #[test]
    fn a_failure_of_several_lines_is_told_whole() {
        let kubectl = "E1201 20:17:22.274641    6802 run.go:72] \"command failed\" err=<\n\taccumulating resources: accumulation err='accumulating resources from 'app': no such file':\n\tmust build at directory: not a valid directory\n >\n";
        assert_eq!(
            failure(kubectl),
            "accumulating resources: accumulation err='accumulating resources from 'app': no such file': must build at directory: not a valid directory"
        );
    }

    #[test]
    fn paths_of_the_repository_are_named_as_it_names_them() {
        let (here, root) = (Path::new("/tmp/scratch"), Path::new("/work/fleet"));
        let message = "'../../work/fleet/apps': path: ../../work/fleet/apps/x.yaml, /work/fleet/b";
        assert_eq!(
            as_the_repository_names(message, (here, root), std::iter::empty()),
            "'apps': path: apps/x.yaml, b"
        );
    }

    #[test]
    fn relative_paths_climb_out_and_down() {
        assert_eq!(
            relative(Path::new("/tmp/x"), Path::new("/work/repo/apps")),
            PathBuf::from("../../work/repo/apps")
        );
        assert_eq!(
            normalize(Path::new("/tmp/x/../../work/a")),
            PathBuf::from("/work/a")
        );
    }
}
