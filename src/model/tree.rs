//! The rendered YAML tree: what kustomize outputs, as owned values whose every node remembers the
//! file and byte span it came from. A field a patch sets points at the patch; a name a
//! kustomization's `namespace:` forces points at that line. Rules read objects from this tree, so a
//! diagnostic lands where the user would fix it.

use smol_str::SmolStr;
use std::borrow::Cow;

use crate::model::substitute::is_unresolved;
use crate::scan::yaml::{reads_as_null, NodeId, NodeKind, Style, YamlFile};
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

    /// A scalar that is a string whatever it reads as (`"0.1"`, `"true"`): what kustomize writes
    /// into a name, namespace, label or annotation, which Kubernetes holds as strings.
    pub fn string(text: impl Into<SmolStr>, origin: Origin) -> Node {
        Node {
            origin,
            value: Value::Scalar(Scalar {
                text: text.into(),
                style: Style::DoubleQuoted,
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

    /// The subtree of one YAML node of a parsed file, its aliases and merge keys (`<<: *base`)
    /// expanded as kustomize expands them when it reads a resource (kyaml's `RNode.DeAnchor`):
    /// what Flux applies. A node copied from an anchor keeps the anchor's origin, where its value
    /// is written.
    pub fn from_yaml(yaml: &YamlFile, file: usize, id: NodeId) -> Node {
        Converter::new(yaml, file).node(id)
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
        let mut converter = Converter::new(yaml, file);
        let value = match node.kind {
            NodeKind::Map { .. } => Value::Map(converter.entries(id, |converter, key, value| {
                if keys.contains(&key) {
                    converter.node(value)
                } else {
                    unread(value)
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

    /// A hash of what the tree holds, not of where it was written; a map's keys in any order.
    /// `None` where part of it is not known: an alias, a part left unread, a `${…}` no
    /// substitution resolved.
    pub fn content_digest(&self) -> Option<u64> {
        fn hash_of(parts: impl std::hash::Hash) -> u64 {
            use std::hash::BuildHasher;
            foldhash::fast::FixedState::default().hash_one(parts)
        }
        match &self.value {
            Value::Scalar(scalar) if !is_unresolved(&scalar.text) => Some(hash_of((0u8, scalar))),
            Value::Map(entries) => {
                // A sum of the entries' hashes: the same whatever their order, with nothing
                // allocated to sort them.
                let mut sum = 0u64;
                for entry in entries {
                    let value = entry.value.content_digest()?;
                    sum = sum.wrapping_add(hash_of((&entry.key, value)));
                }
                Some(hash_of((1u8, sum)))
            }
            Value::Seq(items) => items.iter().try_fold(hash_of(2u8), |digest, item| {
                Some(hash_of((digest, item.content_digest()?)))
            }),
            Value::Scalar(_) | Value::Alias | Value::Unread(_) => None,
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

/// Converts the nodes of one parsed file, expanding aliases within a budget.
struct Converter<'y> {
    yaml: &'y YamlFile,
    file: usize,
    /// How many more nodes aliases may copy: as many as the file holds, and 10,000 more. yaml.v3
    /// refuses a document whose aliases expand it many times over (a "billion laughs"); copies
    /// past this budget stay aliases, of which nothing is concluded, so a hostile file takes at
    /// most about twice the memory of its tree.
    aliased_left: usize,
    /// The size of each node an alias or merge names, counted once: a file of many aliases of
    /// one large anchor is not walked once per alias.
    sizes: foldhash::HashMap<NodeId, usize>,
}

impl<'y> Converter<'y> {
    fn new(yaml: &'y YamlFile, file: usize) -> Converter<'y> {
        Converter {
            yaml,
            file,
            aliased_left: 10_000 + yaml.node_count(),
            sizes: foldhash::HashMap::default(),
        }
    }

    /// What copying this node costs of the budget.
    fn size(&mut self, id: NodeId) -> usize {
        let yaml = self.yaml;
        *self
            .sizes
            .entry(id)
            .or_insert_with(|| subtree_size(yaml, id))
    }

    fn node(&mut self, id: NodeId) -> Node {
        let yaml = self.yaml;
        let node = yaml.node(id);
        let origin = Origin::new(self.file, node.span);
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
            NodeKind::Map { .. } => {
                Value::Map(self.entries(id, |converter, _, value| converter.node(value)))
            }
            NodeKind::Seq { items, .. } => {
                Value::Seq(items.iter().map(|&item| self.node(item)).collect())
            }
            NodeKind::Alias => match self.copied(id) {
                Some(target) => return self.node(target),
                None => Value::Alias,
            },
        };
        Node { origin, value }
    }

    /// The node an alias names, when it is to be copied: known, not around the alias itself
    /// (yaml.v3 refuses such a cycle) and within the budget.
    fn copied(&mut self, alias: NodeId) -> Option<NodeId> {
        let target = self.yaml.alias_target(alias)?;
        if encloses(self.yaml, target, alias) {
            return None;
        }
        let size = self.size(target);
        self.aliased_left = self.aliased_left.checked_sub(size)?;
        Some(target)
    }

    /// A map's entries, merge keys expanded ([`Self::merged_entries`]), each value converted by
    /// `value` (given the key's text), in room for exactly their number: `collect` does not
    /// trust the entries' count, and a map of one or two entries took room for four, most of
    /// what the identity trees of the image objects, kept through the renders, held.
    fn entries(
        &mut self,
        map: NodeId,
        mut value: impl FnMut(&mut Self, &str, NodeId) -> Node,
    ) -> Vec<Entry> {
        let yaml = self.yaml;
        let mut convert = |converter: &mut Self, (key, id): (NodeId, NodeId)| {
            let (key_text, key_origin) = key_of(yaml, converter.file, key);
            Entry {
                key: SmolStr::new(key_text),
                key_origin,
                value: value(converter, key_text, id),
            }
        };
        match self.merged_entries(map) {
            Some(pairs) => {
                let mut converted = Vec::with_capacity(pairs.len());
                converted.extend(pairs.into_iter().map(|pair| convert(self, pair)));
                converted
            }
            None => {
                let entries = yaml.entries(map);
                let mut converted = Vec::with_capacity(entries.len());
                converted.extend(entries.map(|pair| convert(self, pair)));
                converted
            }
        }
    }

    /// The entries of a map with a key `<<`, as kyaml's `deAnchor` leaves them (kustomize's
    /// resource reader, `kio.FromBytes`): the first key `<<` is cleared, however it is written,
    /// and the maps the merge key (a plain `<<`, which yaml.v3 tags `!!merge`) names are merged
    /// in: the map's own entries first and winning, then the keys only the merged maps have, a
    /// map listed earlier in `<<: [*a, *b]` winning over a later one. `None` when the map has no
    /// key `<<`, or a merge kustomize refuses (two merge keys; a value that is not a map, an
    /// alias of one or a list of those), or a tagged `<<` (`!!merge` merges, `!!str` is
    /// cleared, and the tree does not keep which): such a map stays as written.
    fn merged_entries(&mut self, map: NodeId) -> Option<Vec<(NodeId, NodeId)>> {
        let yaml = self.yaml;
        let named = |&(key, _): &(NodeId, NodeId)| yaml.scalar(key) == Some("<<");
        let cleared = yaml.entries(map).position(|entry| named(&entry))?;
        let mut merged = None;
        for (key, value) in yaml.entries(map).filter(named) {
            let NodeKind::Scalar { style, tagged, .. } = yaml.node(key).kind else {
                continue;
            };
            // A tagged `<<` stays as written (above); a second merge key fails kustomize
            // ("duplicate merge key").
            if tagged || (style == Style::Plain && merged.replace(value).is_some()) {
                return None;
            }
        }
        let merged_map = |id: NodeId| {
            let id = match yaml.node(id).kind {
                NodeKind::Alias => yaml.alias_target(id)?,
                _ => id,
            };
            // A map merging a map around it would merge itself: yaml.v3 refuses the cycle.
            (yaml.is_map(id) && !encloses(yaml, id, map)).then_some(id)
        };
        // Each merge copies the maps it names: charged as aliases are, or merges of merges could
        // grow as aliases of aliases do.
        let sources: Vec<NodeId> = match merged.map(|merged| (merged, yaml.node(merged).kind)) {
            None => Vec::new(),
            Some((_, NodeKind::Seq { items, .. })) => items
                .iter()
                .rev()
                .map(|&item| merged_map(item))
                .collect::<Option<_>>()?,
            Some((merged, _)) => vec![merged_map(merged)?],
        };
        let size: usize = sources.iter().map(|&source| self.size(source)).sum();
        self.aliased_left = self.aliased_left.checked_sub(size)?;
        let own: Vec<(NodeId, NodeId)> = yaml
            .entries(map)
            .enumerate()
            .filter_map(|(index, entry)| (index != cleared).then_some(entry))
            .collect();
        let mut result = own.clone();
        let layers: Vec<Vec<(NodeId, NodeId)>> = sources
            .iter()
            .map(|&source| {
                self.merged_entries(source)
                    .unwrap_or_else(|| yaml.entries(source).collect())
            })
            .chain(std::iter::once(own))
            .collect();
        // Where each key is in the result: looked up, not searched for (a map of many keys
        // merging another would be quadratic).
        let mut position: foldhash::HashMap<Option<&str>, usize> = foldhash::HashMap::default();
        for (index, &(key, _)) in result.iter().enumerate() {
            position.entry(yaml.scalar(key)).or_insert(index);
        }
        for layer in layers {
            for (key, value) in layer {
                match position.get(&yaml.scalar(key)) {
                    Some(&at) => result[at].1 = value,
                    None => {
                        position.insert(yaml.scalar(key), result.len());
                        result.push((key, value));
                    }
                }
            }
        }
        Some(result)
    }
}

/// Whether node `outer` is written around node `inner` (or is it): an alias or merge of it from
/// `inner` would copy it into itself.
fn encloses(yaml: &YamlFile, outer: NodeId, inner: NodeId) -> bool {
    let (outer, inner) = (yaml.node(outer).span, yaml.node(inner).span);
    outer.start <= inner.start && inner.end <= outer.end
}

/// How many nodes a node holds, itself included.
fn subtree_size(yaml: &YamlFile, id: NodeId) -> usize {
    1 + match yaml.node(id).kind {
        NodeKind::Map { entries, .. } => entries
            .map(|(key, value)| subtree_size(yaml, key) + subtree_size(yaml, value))
            .sum(),
        NodeKind::Seq { items, .. } => items.iter().map(|&item| subtree_size(yaml, item)).sum(),
        NodeKind::Scalar { .. } | NodeKind::Alias => 0,
    }
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

/// The first document of `text` as a tree, as file `file` of a workspace: for the model's tests.
#[cfg(test)]
pub fn first_document_of(text: &str, file: usize) -> Node {
    let source = crate::source::SourceFile::new("t.yaml".into(), text);
    let yaml = YamlFile::parse(&source).unwrap();
    Node::from_yaml(&yaml, file, yaml.documents[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn tree(text: &str) -> Node {
        first_document_of(text, 7)
    }

    #[test]
    fn content_digests_are_alike_where_the_content_is() {
        let digest = |text: &str| tree(text).content_digest();
        let spec = digest("policy:\n  semver: {range: 6.x}\nref: {name: app}\n");
        assert!(spec.is_some());
        // Written elsewhere, in another order and another flow style: the same content.
        assert_eq!(
            digest("\n\nref:\n  name: app\npolicy:\n  semver:\n    range: 6.x\n"),
            spec
        );
        for other in [
            "policy:\n  semver: {range: 7.x}\nref: {name: app}\n",
            "policy:\n  semver: {range: 6.x}\nref: {name: app, namespace: a}\n",
            "policy:\n  semver: [range, 6.x]\nref: {name: app}\n",
        ] {
            assert_ne!(digest(other), spec, "{other}");
        }
        assert_eq!(digest("a: [x, y]\n"), digest("a:\n- x\n- y\n"));
        assert_ne!(digest("a: [x, y]\n"), digest("a: [y, x]\n"));
        // What is not known is alike nothing.
        assert_eq!(digest("image: ${REGISTRY}/app\n"), None);
        // An alias is read as kustomize reads it, its anchor's value in its place.
        assert_eq!(
            digest("a: &x {b: 1}\nc: *x\n"),
            digest("a: {b: 1}\nc: {b: 1}\n")
        );
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

    /// The outputs are `kubectl kustomize`'s (kustomize v5.5.0) for the same resource.
    #[test]
    fn merge_keys_expand_as_kustomize_expands_them() {
        let node = tree(
            "base: &b\n  x: 1\n  y: 2\nother: &o\n  y: 3\n  z: 4\n\
             data:\n  <<: [*b, *o]\n  w: '5'\n\
             single:\n  <<: *b\n\
             override:\n  <<: *b\n  x: 9\n\
             override_before:\n  x: 9\n  <<: *b\n\
             nested:\n  inner:\n    <<: *b\n    x: 9\n\
             deep: &d\n  a:\n    b: 1\n    c: 2\n\
             deepmerge:\n  <<: *d\n  a:\n    b: 5\n\
             seqmerge:\n  - <<: *o\n    q: 1\n\
             inline:\n  <<: {k: v}\n\
             chained: &c\n  <<: *b\n  c: 1\n\
             twice:\n  <<: *c\n\
             copy: *b\n",
        );
        assert_eq!(
            node.to_json(),
            serde_json::json!({
                "base": {"x": 1, "y": 2},
                "other": {"y": 3, "z": 4},
                "data": {"w": "5", "x": 1, "y": 2, "z": 4},
                "single": {"x": 1, "y": 2},
                "override": {"x": 9, "y": 2},
                "override_before": {"x": 9, "y": 2},
                "nested": {"inner": {"x": 9, "y": 2}},
                "deep": {"a": {"b": 1, "c": 2}},
                "deepmerge": {"a": {"b": 5}},
                "seqmerge": [{"q": 1, "y": 3, "z": 4}],
                "inline": {"k": "v"},
                "chained": {"c": 1, "x": 1, "y": 2},
                "twice": {"c": 1, "x": 1, "y": 2},
                "copy": {"x": 1, "y": 2},
            })
        );
    }

    #[test]
    fn merged_values_point_where_they_are_written() {
        let text = "base: &b\n  range: '>=1'\nspec:\n  <<: *b\n";
        let node = tree(text);
        let entry = node.get("spec").unwrap().entry("range").unwrap();
        assert_eq!(&text[entry.key_origin.span().start..][..5], "range");
        assert_eq!(&text[entry.value.origin.span().range()], "'>=1'");
        let unread = {
            let source = SourceFile::new("t.yaml".into(), text);
            let yaml = YamlFile::parse(&source).unwrap();
            Node::from_yaml_reading(&yaml, 0, yaml.documents[0], &["spec"])
        };
        assert_eq!(
            unread.path_str(&["spec", "range"]),
            Some(">=1"),
            "the keys read whole are expanded too"
        );
    }

    /// Maps kustomize refuses to merge (its build fails) are left as written, `<<` a key.
    #[test]
    fn merges_kustomize_refuses_stay_as_written() {
        let node = tree(
            "s: &s x\nscalar:\n  <<: *s\nnested:\n  <<: [[{a: 1}]]\n\
             dup:\n  <<: {a: 1}\n  <<: {b: 1}\n",
        );
        for key in ["scalar", "nested", "dup"] {
            assert!(node.get(key).unwrap().get("<<").is_some(), "{key}");
        }
    }

    /// kyaml clears the first key `<<` of every map, merge key or not: a quoted `'<<'` is gone
    /// from what kustomize outputs, merging nothing.
    #[test]
    fn a_quoted_merge_key_is_cleared() {
        let node = tree("quoted:\n  '<<': {a: 1}\n  b: 2\n");
        assert_eq!(node.to_json(), serde_json::json!({"quoted": {"b": 2}}));
    }

    #[test]
    fn aliases_past_the_budget_stay_aliases() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let node = tree(&text);
        let last = node.get("a9").unwrap();
        assert!(matches!(last.items()[9].value, Value::Alias));
        assert!(matches!(
            node.get("a1").unwrap().items()[0].value,
            Value::Seq(_)
        ));
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
