//! Kustomize's two patch languages on rendered trees. Strategic merge as kyaml's `merge2` does it:
//! maps merge, scalars are replaced, `null` deletes, `$patch: delete|replace` directives; lists
//! are replaced, except in the built-in Kubernetes kinds kustomize has a schema for, where the
//! schema's lists merge by key (containers by `name`): those the model follows are merged so, and
//! any other leaves the merge inexact rather than guessed. Kinds without a schema (every Flux
//! kind) have no such lists. JSON 6902 as `evanphx/json-patch` v4
//! applies it: `add`, `remove`, `replace`, `move`, `copy`, `test`, errors in its words. Values a
//! patch brings keep the patch's origins, so diagnostics about them point at the patch. Unread
//! parts of the target ([`Value::Unread`]) are read from `files` where a patch reaches into them.

use foldhash::{HashMap, HashMapExt};
use std::sync::LazyLock;

use super::tree::{Entry, Node, Value};
use crate::workspace::ScannedFile;

const DIRECTIVE: &str = "$patch";

/// What a strategic merge patch leaves of its target.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// `exact` is false when kustomize merges a list of it by key in a way the model does not
    /// follow: the patch's list was taken whole, and what kustomize holds there is not known.
    Kept { exact: bool },
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
            return Ok(Merged::Kept { exact: true });
        }
        _ => {}
    }
    dest.read(files);
    // kyaml takes the schema of the target's kind, else of the patch's.
    let schema = schema_of(dest)
        .or_else(|| schema_of(patch))
        .unwrap_or(false);
    let mut merger = Merger {
        files,
        schema,
        exact: true,
    };
    merger.map(dest, patch)?;
    Ok(Merged::Kept {
        exact: merger.exact,
    })
}

/// The kinds of the Kubernetes 1.21 schema kustomize embeds (kyaml's `kubernetesapi`, its
/// default and only built-in version), a line an `apiVersion` and kinds of it. Other kinds,
/// custom resources among them, have no schema: their lists are replaced.
const SCHEMA_KINDS: &str = "\
v1 APIGroup APIVersions Binding ComponentStatus ConfigMap Endpoints Event LimitRange Namespace
v1 Node NodeProxyOptions PersistentVolume PersistentVolumeClaim Pod PodAttachOptions
v1 PodExecOptions PodPortForwardOptions PodProxyOptions PodTemplate ReplicationController
v1 ResourceQuota Secret Service ServiceAccount ServiceProxyOptions Status
admissionregistration.k8s.io/v1 MutatingWebhookConfiguration ValidatingWebhookConfiguration
admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration ValidatingWebhookConfiguration
apiextensions.k8s.io/v1 CustomResourceDefinition
apiextensions.k8s.io/v1beta1 CustomResourceDefinition
apiregistration.k8s.io/v1 APIService
apiregistration.k8s.io/v1beta1 APIService
apps/v1 ControllerRevision DaemonSet Deployment ReplicaSet StatefulSet
authentication.k8s.io/v1 TokenRequest TokenReview
authentication.k8s.io/v1beta1 TokenReview
authorization.k8s.io/v1 LocalSubjectAccessReview SelfSubjectAccessReview SelfSubjectRulesReview
authorization.k8s.io/v1 SubjectAccessReview
authorization.k8s.io/v1beta1 LocalSubjectAccessReview SelfSubjectAccessReview
authorization.k8s.io/v1beta1 SelfSubjectRulesReview SubjectAccessReview
autoscaling/v1 HorizontalPodAutoscaler Scale
autoscaling/v2beta1 HorizontalPodAutoscaler
autoscaling/v2beta2 HorizontalPodAutoscaler
batch/v1 CronJob Job
batch/v1beta1 CronJob
certificates.k8s.io/v1 CertificateSigningRequest
certificates.k8s.io/v1beta1 CertificateSigningRequest
coordination.k8s.io/v1 Lease
coordination.k8s.io/v1beta1 Lease
discovery.k8s.io/v1 EndpointSlice
discovery.k8s.io/v1beta1 EndpointSlice
events.k8s.io/v1 Event
events.k8s.io/v1beta1 Event
extensions/v1beta1 Ingress
flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema PriorityLevelConfiguration
networking.k8s.io/v1 Ingress IngressClass NetworkPolicy
networking.k8s.io/v1beta1 Ingress IngressClass
node.k8s.io/v1 RuntimeClass
node.k8s.io/v1beta1 RuntimeClass
policy/v1 PodDisruptionBudget
policy/v1beta1 Eviction PodDisruptionBudget PodSecurityPolicy
rbac.authorization.k8s.io/v1 ClusterRole ClusterRoleBinding Role RoleBinding
rbac.authorization.k8s.io/v1beta1 ClusterRole ClusterRoleBinding Role RoleBinding
scheduling.k8s.io/v1 PriorityClass
scheduling.k8s.io/v1beta1 PriorityClass
storage.k8s.io/v1 CSIDriver CSINode StorageClass VolumeAttachment
storage.k8s.io/v1beta1 CSIDriver CSINode CSIStorageCapacity StorageClass VolumeAttachment
";

/// [`SCHEMA_KINDS`] by `apiVersion`, read once: every strategic merge asks.
static KINDS_BY_API_VERSION: LazyLock<HashMap<&str, Vec<&str>>> = LazyLock::new(|| {
    let mut kinds: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in SCHEMA_KINDS.lines() {
        let mut words = line.split(' ');
        if let Some(api_version) = words.next() {
            kinds.entry(api_version).or_default().extend(words);
        }
    }
    kinds
});

/// Whether the kind a node declares has a schema; `None` when it declares none.
fn schema_of(node: &Node) -> Option<bool> {
    let declared = |key| node.path_str(&[key]).filter(|value| !value.is_empty());
    let (api_version, kind) = (declared("apiVersion")?, declared("kind")?);
    Some(
        KINDS_BY_API_VERSION
            .get(api_version)
            .is_some_and(|kinds| kinds.contains(&kind)),
    )
}

/// The fields that are lists with `x-kubernetes-patch-strategy: merge` somewhere in that schema,
/// by name, with the one key they merge on wherever they are lists; `None` where the model does
/// not follow the merge: two keys (`ports`: `containerPort` or `port`, and `protocol`), values
/// merged as a set (`finalizers`), or a name merged in some types and replaced in others
/// (`imagePullSecrets` of a pod, of a ServiceAccount). kyaml finds them by position in the kind's
/// schema; by name, a list of one of these names where the schema has none (a free-form value, a
/// misplaced field) merges here where kustomize replaces it, which keeps the target's items: a
/// later JSON patch finds at least what kustomize's output has.
const KEYED_LISTS: &[(&str, Option<&str>)] = &[
    ("addresses", None),
    ("conditions", None),
    ("containers", Some("name")),
    ("drivers", Some("name")),
    ("env", Some("name")),
    ("ephemeralContainers", Some("name")),
    ("finalizers", None),
    ("hostAliases", Some("ip")),
    ("imagePullSecrets", None),
    ("initContainers", Some("name")),
    ("ownerReferences", Some("uid")),
    ("podCIDRs", None),
    ("podIPs", Some("ip")),
    ("ports", None),
    ("secrets", Some("name")),
    ("topologySpreadConstraints", None),
    ("volumeDevices", Some("devicePath")),
    ("volumeMounts", Some("mountPath")),
    ("volumes", Some("name")),
    ("webhooks", Some("name")),
];

/// How kustomize merges a list of a patch into the target's.
enum ListMerge {
    /// The patch's list replaces the target's (every list of a kind without a schema).
    Replaced,
    /// Items merge by this key.
    ByKey(&'static str),
    /// By key, in a way the model does not follow.
    Unfollowed,
}

/// One strategic merge: where unread parts of the target are read from, whether the target's kind
/// has a schema, and whether every list was merged as kustomize merges it.
struct Merger<'f> {
    files: &'f [ScannedFile],
    schema: bool,
    exact: bool,
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

impl Merger<'_> {
    fn map(&mut self, dest: &mut Node, patch: &Node) -> Result<(), String> {
        dest.read(self.files);
        for entry in patch.entries() {
            if entry.key == DIRECTIVE {
                continue;
            }
            let value = &entry.value;
            if value.is_null() {
                dest.remove(&entry.key);
                continue;
            }
            let mut existing = dest.get_mut(&entry.key);
            if let Some(existing) = existing.as_deref_mut() {
                existing.read(self.files);
            }
            let existing = existing.filter(|node| !node.is_null());
            match existing {
                None => {
                    if directive(value) != Some("delete") {
                        if value.is_seq() {
                            self.check_added_list(&entry.key, value);
                        }
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
                        (Value::Map(_), _) => self.map(existing, value)?,
                        (Value::Seq(_), _) => self.list(&entry.key, existing, value)?,
                        _ => *existing = without_directives(value),
                    }
                }
            }
        }
        Ok(())
    }

    /// How kustomize merges a list field of the target.
    fn list_merge(&self, field: &str) -> ListMerge {
        let keyed = KEYED_LISTS.iter().find(|(name, _)| *name == field);
        match keyed {
            Some(&(_, Some(key))) if self.schema => ListMerge::ByKey(key),
            Some((_, None)) if self.schema => ListMerge::Unfollowed,
            _ => ListMerge::Replaced,
        }
    }

    /// A list the patch brings where the target has none: kustomize merges it with itself, which
    /// leaves it as written when its items are distinct by key and hold no directives.
    fn check_added_list(&mut self, field: &str, list: &Node) {
        match self.list_merge(field) {
            ListMerge::Replaced => {}
            ListMerge::ByKey(key) if is_keyed(list, key) => {}
            ListMerge::ByKey(_) | ListMerge::Unfollowed => self.exact = false,
        }
    }

    /// Merges the patch's list into the target's: by key as kyaml does it (the patch's items in
    /// its order, each merged into the target's item of its key, then the target's other items),
    /// when both lists are plain maps distinct by key; otherwise the patch's list replaces it, as
    /// it does in kinds without a schema, inexact where kustomize would have merged.
    fn list(&mut self, field: &str, dest: &mut Node, patch: &Node) -> Result<(), String> {
        let key = match self.list_merge(field) {
            ListMerge::Replaced => None,
            ListMerge::ByKey(key) => {
                self.read_keys(dest, key);
                let followed = is_keyed(dest, key) && is_keyed(patch, key);
                self.exact &= followed;
                followed.then_some(key)
            }
            ListMerge::Unfollowed => {
                self.exact = false;
                None
            }
        };
        let (Some(key), Value::Seq(items)) = (key, &mut dest.value) else {
            *dest = without_directives(patch);
            return Ok(());
        };
        let mut rest: Vec<Option<Node>> = std::mem::take(items).into_iter().map(Some).collect();
        for patch_item in patch.items() {
            let item_key = patch_item.path_str(&[key]);
            let matching = rest.iter_mut().find(|item| {
                item.as_ref()
                    .is_some_and(|item| item.path_str(&[key]) == item_key)
            });
            match matching.and_then(Option::take) {
                Some(mut item) => {
                    self.map(&mut item, patch_item)?;
                    items.push(item);
                }
                None => items.push(without_directives(patch_item)),
            }
        }
        items.extend(rest.into_iter().flatten());
        Ok(())
    }

    /// Reads the target's list items as far as their `key`.
    fn read_keys(&self, list: &mut Node, key: &str) {
        let Value::Seq(items) = &mut list.value else {
            return;
        };
        for item in items {
            item.read(self.files);
            if let Value::Map(entries) = &mut item.value {
                for entry in entries.iter_mut().filter(|entry| entry.key == key) {
                    entry.value.read(self.files);
                }
            }
        }
    }
}

/// Whether every item of a list is a map with its own non-null scalar `key` and no directive
/// (`$patch`, `$retainKeys`, ...): the lists whose merge by key the model follows.
fn is_keyed(list: &Node, key: &str) -> bool {
    let mut keys = Vec::new();
    list.items().iter().all(|item| {
        let plain = !item
            .entries()
            .iter()
            .any(|entry| entry.key.starts_with('$'));
        let value = item
            .get(key)
            .filter(|value| !value.is_null())
            .and_then(Node::str);
        match value {
            Some(value) if plain && !keys.contains(&value) => {
                keys.push(value);
                true
            }
            _ => false,
        }
    })
}

/// Applies a JSON 6902 patch (`ops`, a list of operations) to `doc`, as kustomize's library
/// (evanphx/json-patch v4) does: checked against `kubectl kustomize`, it is laxer than the RFC.
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
            pointer(path, kind)
        };
        // A missing `value` is null: the field is set to null, not refused (a `values:` typo
        // in jesse-gonzalez/nai-llm-fleet-infra builds, and Flux applies the rest).
        let value = || {
            op.get("value")
                .cloned()
                .unwrap_or_else(|| Node::scalar("null", op.origin))
        };
        match kind {
            "add" => add(doc, &path()?, value(), files)?,
            "remove" => {
                remove(doc, &path()?, "remove", files)?;
            }
            "replace" => replace(doc, &path()?, value(), files)?,
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Node::str)
                    .ok_or_else(|| format!("{kind} operation missing from"))?;
                let from = pointer(from, kind)?;
                let moved = if kind == "move" {
                    remove(doc, &from, kind, files)?
                } else {
                    locate(doc, &from, kind, files)?.clone()
                };
                add(doc, &path()?, moved, files)?;
            }
            "test" => {
                let path = path()?;
                let expected = value();
                // A key missing from an existing map reads as null.
                let actual = match locate(doc, &path, "test", files) {
                    Ok(actual) => {
                        actual.read_all(files);
                        actual.to_json()
                    }
                    Err(error) => {
                        let parent = path.split_last().map(|(_, parent)| parent);
                        let in_a_map = parent.is_some_and(|parent| {
                            locate(doc, parent, "test", files).is_ok_and(|parent| parent.is_map())
                        });
                        if !in_a_map {
                            return Err(error);
                        }
                        serde_json::Value::Null
                    }
                };
                if actual != expected.to_json() {
                    return Err(format!(
                        "testing value {} failed: test failed",
                        written(&path)
                    ));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

/// A JSON pointer's tokens (`~1` is `/`, `~0` is `~`). The library splits the path on `/` and
/// drops the first part unread: `spec/replicas` is `/replicas` (a top-level field is added, and
/// the build passes), and a path with no `/` names nothing.
fn pointer(path: &str, op: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some((_, rest)) = path.split_once('/') else {
        return Err(format!(
            "{op} operation does not apply: doc is missing path: \"{path}\""
        ));
    };
    // Most tokens hold no escape: copied once, not through two replacements.
    Ok(rest
        .split('/')
        .map(|token| {
            if token.contains('~') {
                token.replace("~1", "/").replace("~0", "~")
            } else {
                token.to_string()
            }
        })
        .collect())
}

/// The pointer of `path` as the patch wrote it (escapes are one-to-one): what the library's
/// errors show, so a key holding `/` reads as `~1`, as the user wrote it.
fn written(path: &[String]) -> String {
    path.iter()
        .map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn missing(op: &str, path: &[String]) -> String {
    format!(
        "{op} operation does not apply: doc is missing path: \"{}\"",
        written(path)
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

/// Adds `value` at `path`; the whole document is no place to add to (only `replace` and `test`
/// take the empty path).
fn add(doc: &mut Node, path: &[String], value: Node, files: &[ScannedFile]) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        return Err(missing("add", path));
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
                        "add operation does not apply: index out of bounds: \"{}\"",
                        written(path)
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
        crate::model::tree::first_document_of(text, 0)
    }

    #[test]
    fn strategic_merge_merges_maps_and_replaces_lists() {
        let mut dest = tree("spec:\n  a: 1\n  list: [x, y]\n  gone: 1\n  sub: {k: v}\n");
        let patch =
            tree("spec:\n  b: 2\n  list: [z]\n  gone: null\n  sub: {$patch: replace, n: m}\n");
        assert_eq!(
            strategic_merge(&mut dest, &patch, &[]),
            Ok(Merged::Kept { exact: true })
        );
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

    /// The results `kubectl kustomize` (kustomize v5.5) gives for these patches.
    #[test]
    fn strategic_merge_merges_the_keyed_lists_of_built_in_kinds() {
        let deployment = |kind: &str| {
            tree(&format!("apiVersion: apps/v1\nkind: {kind}\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a\n          args: [x]\n          env: [{{name: X, value: '1'}}, {{name: Y, value: '2'}}]\n        - name: b\n          image: b\n"))
        };
        let pod_spec = |text: &str| {
            let indented: String = text.lines().map(|line| format!("    {line}\n")).collect();
            tree(&format!("spec:\n  template:\n{indented}"))
        };
        let containers = ["spec", "template", "spec", "containers"];
        let patch = pod_spec("spec:\n  containers:\n    - name: b\n      image: b2\n    - name: c\n      image: c\n    - name: a\n      args: [z]\n      env: [{name: Z, value: '3'}]");
        let mut dest = deployment("Deployment");
        assert_eq!(
            strategic_merge(&mut dest, &patch, &[]),
            Ok(Merged::Kept { exact: true })
        );
        // The patch's items in its order, each merged into the target's of its name (`args` has
        // no key: replaced), then the target's others.
        assert_eq!(
            dest.path(&containers).unwrap().to_json(),
            serde_json::json!([
                {"name": "b", "image": "b2"},
                {"name": "c", "image": "c"},
                {"name": "a", "image": "a", "args": ["z"], "env": [
                    {"name": "Z", "value": "3"}, {"name": "X", "value": "1"}, {"name": "Y", "value": "2"}
                ]},
            ])
        );
        // An empty list merges nothing.
        let before = dest.clone();
        let empty = pod_spec("spec:\n  containers: []");
        assert_eq!(
            strategic_merge(&mut dest, &empty, &[]),
            Ok(Merged::Kept { exact: true })
        );
        assert_eq!(dest, before);
        // A kind without a schema (a custom resource) has its list replaced.
        let mut custom = deployment("Custom");
        strategic_merge(&mut custom, &patch, &[]).unwrap();
        assert_eq!(custom.path(&containers), patch.path(&containers));
        // Lists merged on two keys, or holding directives, are not followed: inexact.
        for inexact in [
            "spec:\n  containers:\n    - name: a\n      ports: [{containerPort: 80}]",
            "spec:\n  containers:\n    - name: b\n      $patch: delete",
            "spec:\n  volumes: [{name: v}, {name: v}]",
        ] {
            let mut dest = deployment("Deployment");
            assert_eq!(
                strategic_merge(&mut dest, &pod_spec(inexact), &[]),
                Ok(Merged::Kept { exact: false }),
                "{inexact}"
            );
        }
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
        // The pointer as written, as the library shows it.
        let error = json6902(
            &mut doc,
            &tree("- {op: add, path: /a~1b/c~0d/e, value: 1}\n"),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            error,
            "add operation does not apply: doc is missing path: \"/a~1b/c~0d/e\""
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
        // As kustomize's library reads them (checked with `kubectl kustomize`): no `value` is
        // null, and the text before a path's first `/` is dropped unread.
        json6902(
            &mut doc,
            &tree("- {op: replace, path: /spec/x, values: 3}\n- {op: add, path: spec/top, value: 1}\n- {op: test, path: /nope}\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            doc.path(&["spec", "x"]).unwrap().to_json(),
            serde_json::Value::Null
        );
        assert_eq!(doc.path_str(&["top"]), Some("1"));
        for (op, error) in [
            (
                "{op: add, path: top, value: 1}",
                "add operation does not apply: doc is missing path: \"top\"",
            ),
            (
                "{op: add, path: '', value: 1}",
                "add operation does not apply: doc is missing path: \"\"",
            ),
        ] {
            let result = json6902(&mut doc, &tree(&format!("- {op}\n")), &[]);
            assert_eq!(result.unwrap_err(), error);
        }
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
            let source = SourceFile::new("d.yaml".into(),DEPLOYMENT);
            let yaml = YamlFile::parse(&source).unwrap();
            let document = yaml.documents[0];
            let whole = Node::from_yaml(&yaml, 0, document);
            let identity = ["apiVersion", "kind", "metadata"];
            let unread = Node::from_yaml_reading(&yaml, 0, document, &identity);
            let files = [ScannedFile {
                source,
                yaml: Ok(yaml),
                identities: None,
                markers: Default::default(),
                mentions_image_api: false,
                mentions_suppression: false,
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
