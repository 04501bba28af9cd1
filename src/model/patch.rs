//! Kustomize's two patch languages on rendered trees. Strategic merge as kyaml's `merge2` does it
//! for kinds it has no schema for (every Flux kind): maps merge, lists and scalars are replaced,
//! `null` deletes, `$patch: delete|replace` directives. JSON 6902 as `evanphx/json-patch` v4
//! applies it: `add`, `remove`, `replace`, `move`, `copy`, `test`, errors in its words. Values a
//! patch brings keep the patch's origins, so diagnostics about them point at the patch. Unread
//! parts of the target ([`Value::Unread`]) are read from `files` where a patch reaches into them.

use super::tree::{Entry, Node, Value};
use crate::workspace::ScannedFile;

const DIRECTIVE: &str = "$patch";

/// What a strategic merge patch leaves of its target.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    Kept,
    /// `$patch: delete` at the top: the resource is gone.
    Deleted,
}

/// Merges `patch` into `dest`; the error is kustomize's.
pub fn strategic_merge(
    dest: &mut Node,
    patch: &Node,
    files: &[ScannedFile],
) -> Result<Merged, String> {
    match directive(patch) {
        Some("delete") => return Ok(Merged::Deleted),
        Some("replace") => {
            *dest = without_directives(patch);
            return Ok(Merged::Kept);
        }
        _ => {}
    }
    merge_map(dest, patch, files)?;
    Ok(Merged::Kept)
}

fn directive(node: &Node) -> Option<&str> {
    node.get(DIRECTIVE).and_then(Node::str)
}

fn without_directives(node: &Node) -> Node {
    let value = match &node.value {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .filter(|entry| entry.key != DIRECTIVE)
                .map(|entry| Entry {
                    key: entry.key.clone(),
                    key_origin: entry.key_origin,
                    value: without_directives(&entry.value),
                })
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(items.iter().map(without_directives).collect()),
        other => other.clone(),
    };
    Node {
        origin: node.origin,
        value,
    }
}

fn kind_name(node: &Node) -> &'static str {
    match node.value {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        Value::Scalar(_) | Value::Alias | Value::Unread(_) => "ScalarNode",
    }
}

fn merge_map(dest: &mut Node, patch: &Node, files: &[ScannedFile]) -> Result<(), String> {
    dest.read(files);
    for entry in patch.entries() {
        if entry.key == DIRECTIVE {
            continue;
        }
        let value = &entry.value;
        if value.is_null() {
            dest.remove(&entry.key);
            continue;
        }
        if let Some(existing) = dest.get_mut(&entry.key) {
            existing.read(files);
        }
        let existing = dest.get_mut(&entry.key).filter(|node| !node.is_null());
        match existing {
            None => {
                if directive(value) != Some("delete") {
                    dest.set(&entry.key, entry.key_origin, without_directives(value));
                }
            }
            Some(existing) => {
                if kind_name(existing) != kind_name(value) {
                    return Err(format!(
                        "wrong node kind: expected {} but got {}: node contents:\n{}",
                        kind_name(existing),
                        kind_name(value),
                        entry.key
                    ));
                }
                match (&existing.value, directive(value)) {
                    (Value::Map(_), Some("delete")) => {
                        dest.remove(&entry.key);
                    }
                    (Value::Map(_), Some("replace")) => {
                        dest.set(&entry.key, entry.key_origin, without_directives(value));
                    }
                    (Value::Map(_), _) => merge_map(existing, value, files)?,
                    // Lists without a schema are not associative: the patch's list wins.
                    _ => *existing = without_directives(value),
                }
            }
        }
    }
    Ok(())
}

/// Applies a JSON 6902 patch (`ops`, a list of operations) to `doc`.
pub fn json6902(doc: &mut Node, ops: &Node, files: &[ScannedFile]) -> Result<(), String> {
    let Value::Seq(ops) = &ops.value else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into());
    };
    for op in ops {
        let kind = op.get("op").and_then(Node::str).unwrap_or_default();
        let path = || -> Result<Vec<String>, String> {
            let path = op
                .get("path")
                .and_then(Node::str)
                .ok_or_else(|| format!("{kind} operation missing path"))?;
            pointer(path)
        };
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("{kind} operation missing value"))
        };
        match kind {
            "add" => add(doc, &path()?, value()?, files)?,
            "remove" => {
                remove(doc, &path()?, "remove", files)?;
            }
            "replace" => replace(doc, &path()?, value()?, files)?,
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Node::str)
                    .ok_or_else(|| format!("{kind} operation missing from"))?;
                let from = pointer(from)?;
                let moved = if kind == "move" {
                    remove(doc, &from, kind, files)?
                } else {
                    locate(doc, &from, kind, files)?.clone()
                };
                add(doc, &path()?, moved, files)?;
            }
            "test" => {
                let path = path()?;
                let expected = value()?;
                let actual = locate(doc, &path, "test", files)?;
                actual.read_all(files);
                if actual.to_json() != expected.to_json() {
                    return Err(format!(
                        "testing value /{} failed: test failed",
                        path.join("/")
                    ));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

/// A JSON pointer's tokens (`~1` is `/`, `~0` is `~`).
fn pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer must be empty or start with a \"/\": {path}"))?;
    Ok(rest
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn missing(op: &str, path: &[String]) -> String {
    format!(
        "{op} operation does not apply: doc is missing path: \"/{}\"",
        path.join("/")
    )
}

/// An array index as the library reads it: negative counts from the end, and for `add` the end
/// itself (`len`) is a place too.
fn index(token: &str, len: usize, allow_end: bool) -> Option<usize> {
    let i: i64 = token.parse().ok()?;
    let places = if allow_end { len + 1 } else { len } as i64;
    let i = if i < 0 { i + places } else { i };
    (0..places).contains(&i).then_some(i as usize)
}

/// The node at `path`, read (one level) like every node on the way.
fn locate<'a>(
    doc: &'a mut Node,
    path: &[String],
    op: &str,
    files: &[ScannedFile],
) -> Result<&'a mut Node, String> {
    let mut node = doc;
    node.read(files);
    for token in path {
        let next = match &mut node.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|entry| entry.key == token)
                .map(|entry| &mut entry.value),
            Value::Seq(items) => {
                let len = items.len();
                index(token, len, false).map(move |i| &mut items[i])
            }
            _ => None,
        };
        node = next.ok_or_else(|| missing(op, path))?;
        node.read(files);
    }
    Ok(node)
}

fn add(doc: &mut Node, path: &[String], value: Node, files: &[ScannedFile]) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = locate(doc, parent_path, "add", files).map_err(|_| missing("add", path))?;
    let key_origin = value.origin;
    match &mut parent.value {
        Value::Map(_) => parent.set(last, key_origin, value),
        Value::Seq(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                index(last, items.len(), true).ok_or_else(|| {
                    format!(
                        "add operation does not apply: index out of bounds: \"/{}\"",
                        path.join("/")
                    )
                })?
            };
            items.insert(at, value);
        }
        _ => return Err(missing("add", path)),
    }
    Ok(())
}

/// `replace` sets a missing key of an existing object too, as the library does; only a missing
/// parent or an array index out of range fails.
fn replace(
    doc: &mut Node,
    path: &[String],
    value: Node,
    files: &[ScannedFile],
) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent =
        locate(doc, parent_path, "replace", files).map_err(|_| missing("replace", path))?;
    match &mut parent.value {
        Value::Map(_) => parent.set(last, value.origin, value),
        Value::Seq(items) => {
            let i = index(last, items.len(), false).ok_or_else(|| missing("replace", path))?;
            items[i] = value;
        }
        _ => return Err(missing("replace", path)),
    }
    Ok(())
}

fn remove(
    doc: &mut Node,
    path: &[String],
    op: &str,
    files: &[ScannedFile],
) -> Result<Node, String> {
    let Some((last, parent_path)) = path.split_last() else {
        return Err(missing(op, path));
    };
    let parent = locate(doc, parent_path, op, files)?;
    match &mut parent.value {
        Value::Map(_) => parent.remove(last).ok_or_else(|| missing(op, path)),
        Value::Seq(items) => {
            let i = index(last, items.len(), false).ok_or_else(|| missing(op, path))?;
            Ok(items.remove(i))
        }
        _ => Err(missing(op, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::yaml::YamlFile;
    use crate::source::SourceFile;

    fn tree(text: &str) -> Node {
        let source = SourceFile::new("t.yaml".into(), "t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        Node::from_yaml(&yaml, 0, yaml.documents[0])
    }

    #[test]
    fn strategic_merge_merges_maps_and_replaces_lists() {
        let mut dest = tree("spec:\n  a: 1\n  list: [x, y]\n  gone: 1\n  sub: {k: v}\n");
        let patch =
            tree("spec:\n  b: 2\n  list: [z]\n  gone: null\n  sub: {$patch: replace, n: m}\n");
        assert_eq!(strategic_merge(&mut dest, &patch, &[]), Ok(Merged::Kept));
        assert_eq!(
            dest.to_json(),
            serde_json::json!({"spec": {"a": 1, "list": ["z"], "sub": {"n": "m"}, "b": 2}})
        );
        let delete = tree("$patch: delete\nkind: A\n");
        assert_eq!(
            strategic_merge(&mut dest, &delete, &[]),
            Ok(Merged::Deleted)
        );
        assert!(strategic_merge(&mut dest, &tree("spec: [1]\n"), &[]).is_err());
    }

    #[test]
    fn json6902_operations() {
        let mut doc = tree("spec:\n  list: [a, b]\n  x: 1\n");
        let ops = tree(
            "- {op: add, path: /spec/interval, value: 5m}\n- {op: add, path: /spec/list/-, value: c}\n- {op: replace, path: /spec/x, value: 2}\n- {op: remove, path: /spec/list/0}\n- {op: copy, from: /spec/x, path: /spec/y}\n- {op: test, path: /spec/y, value: 2}\n",
        );
        json6902(&mut doc, &ops, &[]).unwrap();
        assert_eq!(
            doc.to_json(),
            serde_json::json!({"spec": {"list": ["b", "c"], "x": 2, "interval": "5m", "y": 2}})
        );
        let error = json6902(
            &mut doc,
            &tree("- {op: add, path: /nope/deep, value: 1}\n"),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            error,
            "add operation does not apply: doc is missing path: \"/nope/deep\""
        );
        // As in the library kustomize uses: `replace` adds a missing key, not a missing parent.
        json6902(
            &mut doc,
            &tree("- {op: replace, path: /spec/zz, value: 1}\n"),
            &[],
        )
        .unwrap();
        assert_eq!(doc.path_str(&["spec", "zz"]), Some("1"));
        assert!(json6902(
            &mut doc,
            &tree("- {op: replace, path: /nope/zz, value: 1}\n"),
            &[]
        )
        .is_err());
        assert!(json6902(&mut doc, &tree("- {op: remove, path: /spec/nope}\n"), &[]).is_err());
        json6902(
            &mut doc,
            &tree("- {op: add, path: /spec/list/-1, value: d}\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            doc.path(&["spec", "list"]).unwrap().to_json(),
            serde_json::json!(["b", "c", "d"])
        );
    }

    /// The patches below, in any order, read into a resource whose body is unread as far as
    /// they reach, do what they do to the whole tree: same results, same tree once read.
    const PATCHES: &[&str] = &[
        "spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: b\n",
        "spec:\n  replicas: 2\n  selector: null\n",
        "spec:\n  template:\n    metadata: {$patch: replace, labels: {a: b}}\n",
        "spec:\n  template: [1]\n",
        "metadata:\n  labels: {tier: web}\n",
        "- {op: replace, path: /spec/replicas, value: 3}\n",
        "- {op: add, path: /spec/template/spec/containers/0/args, value: [x]}\n",
        "- {op: add, path: /spec/template/spec/containers/-, value: {name: side}}\n",
        "- {op: remove, path: /spec/template/spec/volumes/0}\n",
        "- {op: move, from: /spec/template/spec/volumes, path: /spec/volumes}\n",
        "- {op: copy, from: /spec/template, path: /spec/copy}\n",
        "- {op: test, path: /spec/template/spec/containers/0/image, value: a}\n",
        "- {op: test, path: /spec/template/spec, value: {}}\n",
        "- {op: replace, path: /spec/nope/deep, value: 1}\n",
    ];

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: app\n          image: a\n      volumes:\n        - name: data\n          emptyDir: {}\n";

    fn apply(node: &mut Node, patch: &Node, files: &[ScannedFile]) -> Result<(), String> {
        if patch.is_seq() {
            json6902(node, patch, files)
        } else {
            strategic_merge(node, patch, files).map(|_| ())
        }
    }

    proptest::proptest! {
        #[test]
        fn patches_read_an_unread_body_as_far_as_they_reach(
            order in proptest::collection::vec(0..PATCHES.len(), 1..5)
        ) {
            let source = SourceFile::new("d.yaml".into(), "d.yaml".into(), DEPLOYMENT);
            let yaml = YamlFile::parse(&source).unwrap();
            let document = yaml.documents[0];
            let whole = Node::from_yaml(&yaml, 0, document);
            let identity = ["apiVersion", "kind", "metadata"];
            let unread = Node::from_yaml_reading(&yaml, 0, document, &identity);
            let files = [ScannedFile {
                source,
                yaml: Ok(yaml),
                markers: Default::default(),
                mentions_image_api: false,
                applied: true,
            }];
            let (mut whole, mut unread) = (whole, unread);
            for &i in &order {
                let patch = tree(PATCHES[i]);
                let expected = apply(&mut whole, &patch, &[]);
                proptest::prop_assert_eq!(apply(&mut unread, &patch, &files), expected);
            }
            unread.read_all(&files);
            proptest::prop_assert_eq!(unread, whole);
        }
    }
}
