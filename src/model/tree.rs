//! The rendered YAML tree: what kustomize outputs, as owned values whose every node remembers the
//! file and byte span it came from. A field a patch sets points at the patch; a name a
//! kustomization's `namespace:` forces points at that line. Rules read objects from this tree, so a
//! diagnostic lands where the user would fix it.

use smol_str::SmolStr;
use std::borrow::Cow;

use crate::scan::yaml::{reads_as_null, Entries, NodeId, NodeKind, Style, YamlFile};
use crate::source::Span;
use crate::workspace::ScannedFile;

/// Where a node was written: a file of the workspace and a byte span in it. Every node and key
/// of a render holds one, and a render's trees were an eighth of the peak memory: the file and
/// the offsets are kept as `u32`s (a file over 4 GiB is not parsed, nor a listing of 4 billion
/// files made), 12 bytes where `usize`s took 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    file: u32,
    start: u32,
    end: u32,
}

impl Origin {
    pub fn new(file: usize, span: Span) -> Origin {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Origin {
            file: narrow(file),
            start: narrow(span.start),
            end: narrow(span.end),
        }
    }

    pub fn file(self) -> usize {
        self.file as usize
    }

    /// The same span in another file.
    pub fn in_file(self, file: usize) -> Origin {
        Origin::new(file, self.span())
    }

    pub fn span(self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Node {
    pub origin: Origin,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub enum Value {
    Scalar(Scalar),
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    /// A YAML alias: its value is not tracked, so nothing is concluded from it.
    Alias,
    /// A part of a resource nothing reads unless a patch reaches into it (the body of a kind the
    /// model does not track): the node of that id in the file of its origin, converted by
    /// [`Node::read`] on the way in.
    Unread(NodeId),
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Scalar {
    /// Most scalars and keys of Flux objects are short: a `SmolStr` holds up to 23 bytes in
    /// place, where a `String` would allocate for each.
    pub text: SmolStr,
    pub style: Style,
    /// An explicit tag (`!!str 1.10`) overrides YAML's type resolution.
    pub tagged: bool,
}

#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Entry {
    pub key: SmolStr,
    pub key_origin: Origin,
    pub value: Node,
}

impl Node {
    pub fn scalar(text: impl Into<SmolStr>, origin: Origin) -> Node {
        Node {
            origin,
            value: Value::Scalar(Scalar {
                text: text.into(),
                style: Style::Plain,
                tagged: false,
            }),
        }
    }

    pub fn empty_map(origin: Origin) -> Node {
        Node {
            origin,
            value: Value::Map(Vec::new()),
        }
    }

    /// The subtree of one YAML node of a parsed file.
    pub fn from_yaml(yaml: &YamlFile, file: usize, id: NodeId) -> Node {
        let node = yaml.node(id);
        let origin = Origin::new(file, node.span);
        let value = match node.kind {
            NodeKind::Scalar {
                value,
                style,
                tagged,
            } => Value::Scalar(Scalar {
                text: SmolStr::new(value),
                style,
                tagged,
            }),
            NodeKind::Map { entries, .. } => Value::Map(exactly(entries, |(key, value)| {
                let (key_text, key_origin) = key_of(yaml, file, key);
                Entry {
                    key: SmolStr::new(key_text),
                    key_origin,
                    value: Node::from_yaml(yaml, file, value),
                }
            })),
            NodeKind::Seq { items, .. } => Value::Seq(
                items
                    .iter()
                    .map(|&item| Node::from_yaml(yaml, file, item))
                    .collect(),
            ),
            NodeKind::Alias => Value::Alias,
        };
        Node { origin, value }
    }

    /// A node of a parsed file with its collections' children left unread, except the values
    /// of the keys in `keys`, converted whole: the identity and metadata of a resource whose
    /// body nothing reads until a patch reaches into it.
    pub fn from_yaml_reading(yaml: &YamlFile, file: usize, id: NodeId, keys: &[&str]) -> Node {
        let node = yaml.node(id);
        let origin = |id: NodeId| Origin::new(file, yaml.node(id).span);
        let unread = |id: NodeId| Node {
            origin: origin(id),
            value: Value::Unread(id),
        };
        let value = match node.kind {
            NodeKind::Map { entries, .. } => Value::Map(exactly(entries, |(key, value)| {
                let (key_text, key_origin) = key_of(yaml, file, key);
                Entry {
                    key: SmolStr::new(key_text),
                    key_origin,
                    value: if keys.contains(&key_text) {
                        Node::from_yaml(yaml, file, value)
                    } else {
                        unread(value)
                    },
                }
            })),
            NodeKind::Seq { items, .. } => {
                Value::Seq(items.iter().map(|&item| unread(item)).collect())
            }
            _ => return Node::from_yaml(yaml, file, id),
        };
        Node {
            origin: Origin::new(file, node.span),
            value,
        }
    }

    /// Converts an unread node, one level: its collections' children stay unread.
    pub fn read(&mut self, files: &[ScannedFile]) {
        if let Value::Unread(id) = self.value {
            if let Some(yaml) = files
                .get(self.origin.file())
                .and_then(|file| file.tree().ok())
            {
                *self = Node::from_yaml_reading(&yaml, self.origin.file(), id, &[]);
            }
        }
    }

    /// Converts every unread node of the tree.
    pub fn read_all(&mut self, files: &[ScannedFile]) {
        match &mut self.value {
            Value::Unread(id) => {
                if let Some(yaml) = files
                    .get(self.origin.file())
                    .and_then(|file| file.tree().ok())
                {
                    *self = Node::from_yaml(&yaml, self.origin.file(), *id);
                }
            }
            Value::Map(entries) => entries
                .iter_mut()
                .for_each(|entry| entry.value.read_all(files)),
            Value::Seq(items) => items.iter_mut().for_each(|item| item.read_all(files)),
            Value::Scalar(_) | Value::Alias => {}
        }
    }

    /// Moves the tree to another file of the workspace: every origin, the keys' too.
    pub fn set_file(&mut self, file: usize) {
        self.origin = self.origin.in_file(file);
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().for_each(|entry| {
                entry.key_origin = entry.key_origin.in_file(file);
                entry.value.set_file(file);
            }),
            Value::Seq(items) => items.iter_mut().for_each(|item| item.set_file(file)),
            Value::Scalar(_) | Value::Alias | Value::Unread(_) => {}
        }
    }

    /// The tree with every unread node read: itself when it has none.
    pub fn read_whole(&self, files: &[ScannedFile]) -> Cow<'_, Node> {
        if self.is_read() {
            return Cow::Borrowed(self);
        }
        let mut whole = self.clone();
        whole.read_all(files);
        Cow::Owned(whole)
    }

    /// Whether no node of the tree is unread.
    fn is_read(&self) -> bool {
        match &self.value {
            Value::Unread(_) => false,
            Value::Map(entries) => entries.iter().all(|entry| entry.value.is_read()),
            Value::Seq(items) => items.iter().all(Node::is_read),
            Value::Scalar(_) | Value::Alias => true,
        }
    }

    /// The text of a scalar node.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(scalar) => Some(&scalar.text),
            _ => None,
        }
    }

    /// Whether YAML reads this node as null (`~`, `null`, an empty plain scalar).
    pub fn is_null(&self) -> bool {
        matches!(
            &self.value,
            Value::Scalar(Scalar { text, style, tagged }) if reads_as_null(text, *style, *tagged)
        )
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|entry| entry.key == key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|entry| entry.key == key)
                .map(|entry| &mut entry.value),
            _ => None,
        }
    }

    pub fn path(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    pub fn path_str(&self, path: &[&str]) -> Option<&str> {
        self.path(path).and_then(Node::str)
    }

    /// Entries of a map node (empty for other nodes).
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Items of a sequence node (empty for other nodes).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq(_))
    }

    /// A map of string scalars (labels, annotations); other entries are skipped.
    pub fn string_map(&self) -> std::collections::BTreeMap<String, String> {
        self.entries()
            .iter()
            .filter_map(|entry| Some((entry.key.to_string(), entry.value.str()?.to_string())))
            .collect()
    }

    /// Sets `key` in a map node, creating the map when the node is null; the entry keeps its
    /// place when it exists.
    pub fn set(&mut self, key: &str, key_origin: Origin, value: Node) {
        if !self.is_map() {
            self.value = Value::Map(Vec::new());
        }
        let Value::Map(entries) = &mut self.value else {
            return;
        };
        match entries.iter_mut().find(|entry| entry.key == key) {
            Some(entry) => entry.value = value,
            None => entries.push(Entry {
                key: SmolStr::new(key),
                key_origin,
                value,
            }),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let Value::Map(entries) = &mut self.value else {
            return None;
        };
        let index = entries.iter().position(|entry| entry.key == key)?;
        Some(entries.remove(index).value)
    }

    /// The map under `key`, created (at `origin`) when missing or null.
    pub fn map_mut(&mut self, key: &str, origin: Origin) -> &mut Node {
        let missing = self.get(key).is_none_or(|node| !node.is_map());
        if missing {
            self.set(key, origin, Node::empty_map(origin));
        }
        self.get_mut(key).expect("just set")
    }

    /// The value as JSON, scalars as YAML 1.1 types them (how kustomize's output and the API
    /// server read them), for comparing renders.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Scalar(scalar) => scalar.to_json(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.to_string(), entry.value.to_json()))
                    .collect(),
            ),
            Value::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Alias => serde_json::Value::String("*alias".to_string()),
            // Read before anything compares it (`read_all`).
            Value::Unread(_) => serde_json::Value::Null,
        }
    }
}

/// A map's entries converted, in room for exactly their number. `collect` does not trust the
/// entries' count: a map of one or two entries took room for four, most of what the identity
/// trees of the image objects, kept through the renders, held.
fn exactly(entries: Entries<'_>, convert: impl FnMut((NodeId, NodeId)) -> Entry) -> Vec<Entry> {
    let mut converted = Vec::with_capacity(entries.len());
    converted.extend(entries.map(convert));
    converted
}

/// The text (empty unless a scalar) and origin of a mapping key, from one look at its node: every
/// key of every converted map passes here.
fn key_of(yaml: &YamlFile, file: usize, key: NodeId) -> (&str, Origin) {
    let node = yaml.node(key);
    let text = match node.kind {
        NodeKind::Scalar { value, .. } => value,
        _ => "",
    };
    (text, Origin::new(file, node.span))
}

impl Scalar {
    fn to_json(&self) -> serde_json::Value {
        if self.style != Style::Plain || self.tagged {
            return serde_json::Value::String(self.text.to_string());
        }
        match self.text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => serde_json::Value::Null,
            "true" | "True" | "TRUE" => serde_json::Value::Bool(true),
            "false" | "False" | "FALSE" => serde_json::Value::Bool(false),
            text => text
                .parse::<i64>()
                .map(serde_json::Value::from)
                .ok()
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|_| text.bytes().any(|b| b.is_ascii_digit()))
                        .and_then(serde_json::Number::from_f64)
                        .map(serde_json::Value::Number)
                })
                .unwrap_or_else(|| serde_json::Value::String(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn tree(text: &str) -> Node {
        let source = SourceFile::new("t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        Node::from_yaml(&yaml, 7, yaml.documents[0])
    }

    #[test]
    fn keeps_origins_and_reads_paths() {
        let node = tree("kind: A\nspec:\n  range: '>=1'\n  list: [a, b]\n");
        let range = node.path(&["spec", "range"]).unwrap();
        assert_eq!(range.str(), Some(">=1"));
        assert_eq!(range.origin.file, 7);
        assert_eq!(range.origin.span(), Span::new(23, 28));
        assert_eq!(node.path(&["spec", "list"]).unwrap().items().len(), 2);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"kind": "A", "spec": {"range": ">=1", "list": ["a", "b"]}})
        );
    }

    #[test]
    fn set_creates_maps_and_keeps_order() {
        let mut node = tree("a: 1\nb: 2\n");
        let origin = Origin::default();
        node.set("a", origin, Node::scalar("3", origin));
        node.map_mut("c", origin)
            .set("d", origin, Node::scalar("x", origin));
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 3, "b": 2, "c": {"d": "x"}})
        );
        assert!(node.remove("b").is_some());
        assert_eq!(node.entries().len(), 2);
    }
}
