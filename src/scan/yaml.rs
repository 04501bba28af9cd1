//! One YAML tree for the whole tool: parse events turned into nodes with byte spans, scalar
//! styles and the comments attached the way yaml.v3 (and so kyaml, and so Flux) attaches them:
//! a same-line comment to the node it follows, an own-line comment to the node below it. Flux
//! decides from these attachments whether a marker counts. The events are granit-parser's, or,
//! for the block YAML most manifests are, the same events read by `block` at a fraction of
//! the cost.

mod block;
mod names;
mod resolve;

pub use resolve::{plain_type, PlainType};

use std::borrow::Cow;
use std::sync::Arc;

use granit_parser::{Parser, Placement as CommentPlacement, ScalarStyle, StructureStyle};

use crate::source::{SourceFile, Span};

/// A node's index in its file. `u32` keeps the stored tree small: `parse` refuses text whose
/// offsets would not fit.
pub type NodeId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl Style {
    pub fn is_block(self) -> bool {
        matches!(self, Style::Literal | Style::Folded)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Root,
    Key,
    Value,
    Item,
}

/// A node of a parsed file, as [`YamlFile::node`] presents it: its contents borrowed from the
/// file.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub span: Span,
    pub kind: NodeKind<'a>,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub enum NodeKind<'a> {
    Scalar {
        value: &'a str,
        style: Style,
        /// An explicit tag (`!!str 1.10`) overrides YAML's type resolution.
        tagged: bool,
    },
    Map {
        entries: Entries<'a>,
        flow: bool,
    },
    Seq {
        items: &'a [NodeId],
        flow: bool,
    },
    Alias,
}

/// The key and value of each entry of a mapping node.
#[derive(Debug, Clone)]
pub struct Entries<'a>(std::slice::Iter<'a, [NodeId; 2]>);

impl<'a> Entries<'a> {
    /// The entries among a map's children: its keys and values alternating (a key left without
    /// a value is no entry).
    fn of(children: &'a [NodeId]) -> Entries<'a> {
        Entries(children.as_chunks().0.iter())
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

impl Iterator for Entries<'_> {
    type Item = (NodeId, NodeId);

    #[inline]
    fn next(&mut self) -> Option<(NodeId, NodeId)> {
        self.0.next().map(|&[key, value]| (key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// What kind of node is stored, without its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `in_source`: the text is the file's own, inside the node's span (most scalars: plain or
    /// quoted, on one line), not a copy in `values`.
    Scalar {
        style: Style,
        tagged: bool,
        in_source: bool,
    },
    /// `count`: how many children it has, below [`COUNT_IN_RUN`] (nearly every collection);
    /// `COUNT_IN_RUN` for more, whose count heads their run in `children`.
    Map {
        flow: bool,
        count: u8,
    },
    Seq {
        flow: bool,
        count: u8,
    },
    Alias,
}

/// The `count` of a collection whose count heads its run in `children`.
const COUNT_IN_RUN: u8 = u8::MAX;

/// A node as the file keeps it until the run ends: every parsed node of the repository is one
/// of these, so it holds offsets, not owned strings and vectors, and no length that its span
/// or its contents already tell.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StoredNode {
    /// Where the node's text is, for a scalar in the file's text (read most, by each key a
    /// lookup compares); where its span is, for any other node.
    start: u32,
    end: u32,
    /// For a scalar in the file's text, how many bytes its span has at each end beyond its text
    /// (a quote, or none); for a copied scalar, which copy in `values` is its text; for a
    /// collection, where its run in `children` starts.
    contents: u32,
    shape: Shape,
    role: Role,
}

const _: () = assert!(std::mem::size_of::<StoredNode>() <= 16);

impl StoredNode {
    #[inline]
    fn span(&self) -> Span {
        let around = match self.shape {
            Shape::Scalar {
                in_source: true, ..
            } => self.contents as usize,
            _ => 0,
        };
        Span::new(self.start as usize - around, self.end as usize + around)
    }
}

/// Where yaml.v3 would attach a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// Same-line comment after this node.
    Line(NodeId),
    /// Own-line comment directly above this node.
    Head(NodeId),
    /// Inside a flow collection (`[…]`, `{…}`): belongs to the collection.
    InFlow(NodeId),
    /// Separated from any node by blank lines, after a collection opener, or at the end.
    Detached,
}

#[derive(Debug)]
pub struct Comment {
    /// The whole comment, `#` included.
    pub span: Span,
    pub attachment: Attachment,
    /// Which copy in the file's `values` is its text when that is not the file's own: only
    /// were a space that `names` adds to the text granit-parser reads inside a comment.
    copy: Option<u32>,
}

impl Comment {
    /// Text after the first `#`.
    pub fn text<'a>(&self, yaml: &'a YamlFile) -> &'a str {
        match self.copy {
            None => &yaml.text[self.span.start + 1..self.span.end],
            Some(copy) => yaml.copied(copy),
        }
    }
}

/// Whether YAML reads a scalar as null: untagged and plain, `~`, `null`, `Null`, `NULL` or
/// nothing.
pub fn reads_as_null(text: &str, style: Style, tagged: bool) -> bool {
    style == Style::Plain && !tagged && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A file's tree. Every parsed file's is kept until the run ends: its parts are boxed slices,
/// at their size, with no room for growth or its count.
#[derive(Debug, Default)]
pub struct YamlFile {
    nodes: Box<[StoredNode]>,
    /// The file's text, which most scalars are slices of.
    text: Arc<str>,
    /// The text of every scalar whose value is not written as is (escapes, folding, several
    /// lines), and of any comment not the file's own, one after the other.
    values: Box<str>,
    /// Where each copy in `values` starts and ends.
    copies: Box<[[u32; 2]]>,
    /// The children of every collection, each collection's together, as a run that starts
    /// with their count when their node has no room for it.
    children: Box<[NodeId]>,
    /// Root node of each document (an empty document is an empty plain scalar).
    pub documents: Box<[NodeId]>,
    pub comments: Box<[Comment]>,
}

/// A file's tree as it is built: the parts of a [`YamlFile`], growing.
#[derive(Default)]
struct Growing {
    nodes: Vec<StoredNode>,
    text: Arc<str>,
    values: String,
    copies: Vec<[u32; 2]>,
    children: Vec<NodeId>,
    documents: Vec<NodeId>,
    comments: Vec<Comment>,
}

/// The same tree: where a scalar's text is kept (in the file's text or as a copy) is no part
/// of it.
impl PartialEq for YamlFile {
    fn eq(&self, other: &YamlFile) -> bool {
        let same_node = |a: &StoredNode, b: &StoredNode| match (a.shape, b.shape) {
            (
                Shape::Scalar {
                    style,
                    tagged,
                    in_source,
                },
                Shape::Scalar {
                    style: other_style,
                    tagged: other_tagged,
                    in_source: other_in_source,
                },
            ) => {
                (a.span(), a.role, style, tagged) == (b.span(), b.role, other_style, other_tagged)
                    && self.scalar_text(a, in_source) == other.scalar_text(b, other_in_source)
            }
            _ => a == b,
        };
        self.documents == other.documents
            && self.comments.len() == other.comments.len()
            && self.comments.iter().zip(&other.comments).all(|(a, b)| {
                (a.span, a.attachment, a.text(self)) == (b.span, b.attachment, b.text(other))
            })
            && self.children == other.children
            && self.nodes.len() == other.nodes.len()
            && self
                .nodes
                .iter()
                .zip(&other.nodes)
                .all(|(a, b)| same_node(a, b))
    }
}

impl Growing {
    /// Keeps a copy of `text` in `values`: which copy it is.
    fn copy(&mut self, text: &str) -> Result<u32, TooLarge> {
        let copy = stored(self.copies.len())?;
        let start = self.values.len();
        self.values.push_str(text);
        // Where the copy ends fits, so does its start.
        self.copies.push([start as u32, stored(self.values.len())?]);
        Ok(copy)
    }

    /// The tree built so far, copied out at its size; the builder's vectors stay for the next
    /// file.
    fn take_at_size(&mut self) -> YamlFile {
        YamlFile {
            nodes: self.nodes.as_slice().into(),
            text: Arc::clone(&self.text),
            values: self.values.as_str().into(),
            copies: self.copies.as_slice().into(),
            children: self.children.as_slice().into(),
            documents: self.documents.as_slice().into(),
            comments: self.comments.drain(..).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub offset: usize,
    pub kind: YamlErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    Syntax,
    /// The bytes are not UTF-8: never parsed.
    Encoding,
    /// The file was not read at all (too large, special, unreadable): nothing is known of it.
    NotRead,
}

impl YamlError {
    pub fn new(message: String, offset: usize, kind: YamlErrorKind) -> YamlError {
        YamlError {
            message,
            offset,
            kind,
        }
    }
}

/// A file whose tree would not fit the `u32` offsets and counts it is stored with. Kept to a
/// unit until the parse ends: a full error returned from every step of building costs more
/// than the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TooLarge;

impl From<TooLarge> for YamlError {
    fn from(_: TooLarge) -> YamlError {
        YamlError::new(
            "it is larger than 4 GiB, more than the YAML parser holds".to_string(),
            0,
            YamlErrorKind::NotRead,
        )
    }
}

/// An offset, length or node count as the tree stores it.
#[inline]
fn stored(n: usize) -> Result<u32, TooLarge> {
    u32::try_from(n).map_err(|_| TooLarge)
}

/// An offset into the file's text, or a length of a part of it, as the tree stores it: not
/// checked again for each node, as `parse` refuses text whose length does not fit.
#[inline]
fn text_offset(offset: usize) -> u32 {
    offset as u32
}

struct OpenCollection {
    id: NodeId,
    is_map: bool,
    flow: bool,
    start_line: usize,
    /// Where its children start on the stack of children of open collections.
    first_child: usize,
}

/// What is pending while events are read.
#[derive(Default)]
struct Builder {
    file: Growing,
    open: Vec<OpenCollection>,
    /// Children of the open collections, innermost last: a collection's move to the file's
    /// `children` when it closes, so each collection's children stay together.
    open_children: Vec<NodeId>,
    /// Own-line comments waiting for the node below them.
    pending_head: Vec<usize>,
    /// The node completed last, and the bytes it ends with: its last line is looked up only
    /// when a same-line comment follows, which few nodes have.
    last_completed: Option<(NodeId, Span)>,
    /// The node each anchor of the file is defined on, by granit-parser's anchor id: an alias
    /// stores the node it names.
    anchors: Vec<NodeId>,
}

/// granit-parser's id of an anchor; 0 on a node that defines none.
type AnchorId = usize;
const NO_ANCHOR: AnchorId = 0;
/// What an alias stores when the anchor it names is unknown.
const NO_TARGET: NodeId = NodeId::MAX;

impl YamlFile {
    pub fn parse(source: &SourceFile) -> Result<YamlFile, YamlError> {
        stored(source.text().len())?;
        // Most manifests are plain block YAML: read those without the general parser, which
        // costs several times more. Anything else goes to granit-parser, which then decides.
        YamlFile::parse_block(source).unwrap_or_else(|| YamlFile::parse_in_full(source))
    }

    /// The file read by `block`, its events added to the tree as they come; `None` when it
    /// holds what that reader leaves to the full parser.
    fn parse_block(source: &SourceFile) -> Option<Result<YamlFile, YamlError>> {
        with_builder(source, |builder| {
            let mut sink = Building {
                builder,
                source,
                error: None,
            };
            block::read(source, &mut sink)?;
            Some(match sink.error {
                Some(error) => Err(error.into()),
                None => Ok(builder.file.take_at_size()),
            })
        })
    }

    /// The file read by granit-parser, whatever YAML it holds, with anchor and alias names
    /// read as Flux reads them.
    fn parse_in_full(source: &SourceFile) -> Result<YamlFile, YamlError> {
        let (spaced, mut refused) = names::spaced(source.text());
        let original = |offset| spaced.original(offset);
        let events = Parser::new_from_str(&spaced.text).filter_map(|event| match event {
            Ok((event, span)) => {
                let byte_span = span.byte_range().map_or(Span::default(), |r| {
                    Span::new(original(r.start), original(r.end))
                });
                let line = span.start.line();
                Event::from_granit(event).map(|event| Ok(Located::new(event, byte_span, line)))
            }
            Err(error) => {
                let offset = error.marker().byte_offset().map_or_else(
                    || source.offset_of(error.marker().line(), error.marker().col()),
                    original,
                );
                Some(Err(YamlError::new(
                    error.info(),
                    offset,
                    YamlErrorKind::Syntax,
                )))
            }
        });
        // A plain scalar holds no `: ` (YAML's `ns-plain-char`), on a line it runs on to either,
        // which granit-parser lets by and yaml.v3 refuses (amadouth6/Stage's `containerPort:
        // 9898` over a `protocol: TCP` indented too far).
        let text = source.text();
        let events = events.map(|event| match event {
            Ok(Located {
                event:
                    Event::Scalar {
                        style: Style::Plain,
                        ..
                    },
                span,
                ..
            }) if text
                .get(span.range())
                .is_some_and(|value| value.contains('\n')) =>
            {
                match mapping_value_in(&text[span.range()]) {
                    Some(at) => Err(YamlError::new(
                        "mapping values are not allowed in this context".to_string(),
                        span.start + at,
                        YamlErrorKind::Syntax,
                    )),
                    None => event,
                }
            }
            event => event,
        });
        // yaml.v3 stops at a name it refuses, and reports nothing after it.
        let events = events.map(|event| {
            let offset = match &event {
                Ok(located) => located.span.start,
                Err(error) => error.offset,
            };
            match refused.take_if(|(at, _)| offset >= *at) {
                Some((_, error)) => Err(error),
                None => event,
            }
        });
        build(source, events)
    }

    #[inline]
    pub fn node(&self, id: NodeId) -> Node<'_> {
        self.view(&self.nodes[id as usize])
    }

    /// Every node, in the order of the text.
    pub fn nodes(&self) -> impl Iterator<Item = Node<'_>> + '_ {
        self.nodes.iter().map(|stored| self.view(stored))
    }

    /// Where each block scalar (`|`, `>`) is, in the order of the text: found without
    /// presenting every node.
    pub fn block_scalar_spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.nodes
            .iter()
            .filter(
                |stored| matches!(stored.shape, Shape::Scalar { style, .. } if style.is_block()),
            )
            .map(StoredNode::span)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    // Inlined into every lookup, as when a scalar's text was one range: a call for each key
    // compared costs more than reading it.
    #[inline(always)]
    fn scalar_text(&self, stored: &StoredNode, in_source: bool) -> &str {
        if in_source {
            &self.text[stored.start as usize..stored.end as usize]
        } else {
            self.copied(stored.contents)
        }
    }

    #[inline(always)]
    fn copied(&self, copy: u32) -> &str {
        let [start, end] = self.copies[copy as usize];
        &self.values[start as usize..end as usize]
    }

    /// The children of a collection whose shape holds `count`.
    #[inline]
    fn children_of(&self, stored: &StoredNode, count: u8) -> &[NodeId] {
        let start = stored.contents as usize;
        if count < COUNT_IN_RUN {
            &self.children[start..start + count as usize]
        } else {
            let count = self.children[start] as usize;
            &self.children[start + 1..start + 1 + count]
        }
    }

    #[inline]
    fn view(&self, stored: &StoredNode) -> Node<'_> {
        let kind = match stored.shape {
            Shape::Scalar {
                style,
                tagged,
                in_source,
            } => NodeKind::Scalar {
                value: self.scalar_text(stored, in_source),
                style,
                tagged,
            },
            Shape::Map { flow, count } => NodeKind::Map {
                entries: Entries::of(self.children_of(stored, count)),
                flow,
            },
            Shape::Seq { flow, count } => NodeKind::Seq {
                items: self.children_of(stored, count),
                flow,
            },
            Shape::Alias => NodeKind::Alias,
        };
        Node {
            span: stored.span(),
            kind,
            role: stored.role,
        }
    }

    /// The value under `key` in a mapping node.
    #[inline]
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.entries(map)
            .find(|&(k, _)| self.scalar(k) == Some(key))
            .map(|(_, v)| v)
    }

    // The accessors below read the stored node directly rather than through `node`: they run
    // for every key every lookup compares.

    /// Entries of a mapping node (empty for other nodes).
    #[inline]
    pub fn entries(&self, map: NodeId) -> Entries<'_> {
        let stored = &self.nodes[map as usize];
        let entries = match stored.shape {
            Shape::Map { count, .. } => self.children_of(stored, count),
            _ => &[],
        };
        Entries::of(entries)
    }

    /// The value of a mapping key that is a scalar or an alias. Nodes are numbered in the order
    /// of the text and such a key has no nodes inside it, so its value is the next node: no
    /// search through the maps (a tree has no links up to them).
    pub fn value_of_key(&self, key: NodeId) -> Option<NodeId> {
        let stored = &self.nodes[key as usize];
        let leaf = matches!(stored.shape, Shape::Scalar { .. } | Shape::Alias);
        let value = key + 1;
        (stored.role == Role::Key
            && leaf
            && self
                .nodes
                .get(value as usize)
                .is_some_and(|next| next.role == Role::Value))
        .then_some(value)
    }

    /// The node an alias names (its anchor's), for an alias whose anchor is known.
    pub fn alias_target(&self, alias: NodeId) -> Option<NodeId> {
        let stored = &self.nodes[alias as usize];
        (matches!(stored.shape, Shape::Alias) && stored.contents != NO_TARGET)
            .then_some(stored.contents)
    }

    /// Items of a sequence node (empty for other nodes).
    #[inline]
    pub fn items(&self, seq: NodeId) -> &[NodeId] {
        let stored = &self.nodes[seq as usize];
        match stored.shape {
            Shape::Seq { count, .. } => self.children_of(stored, count),
            _ => &[],
        }
    }

    #[inline]
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        let stored = &self.nodes[id as usize];
        match stored.shape {
            Shape::Scalar { in_source, .. } => Some(self.scalar_text(stored, in_source)),
            _ => None,
        }
    }

    /// A string-valued scalar along a path of keys.
    pub fn path_str(&self, root: NodeId, path: &[&str]) -> Option<&str> {
        self.path(root, path).and_then(|id| self.scalar(id))
    }

    pub fn path(&self, root: NodeId, path: &[&str]) -> Option<NodeId> {
        path.iter().try_fold(root, |node, key| self.get(node, key))
    }

    /// A boolean scalar that is true (YAML 1.1 spellings, as Kubernetes reads them).
    pub fn scalar_is_true(&self, id: Option<NodeId>) -> bool {
        id.and_then(|id| self.scalar(id))
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "y"))
    }

    pub fn is_map(&self, id: NodeId) -> bool {
        matches!(self.nodes[id as usize].shape, Shape::Map { .. })
    }

    pub fn is_seq(&self, id: NodeId) -> bool {
        matches!(self.nodes[id as usize].shape, Shape::Seq { .. })
    }

    /// A null as yaml.v3 resolves it (see [`reads_as_null`]): an empty document, a key left
    /// without value, `~`.
    pub fn is_null(&self, id: NodeId) -> bool {
        matches!(
            self.node(id).kind,
            NodeKind::Scalar { value, style, tagged } if reads_as_null(value, style, tagged)
        )
    }

    /// Whether Kubernetes reads a scalar as a string (see [`plain_type`]), not a number, boolean
    /// or null.
    pub fn resolves_to_string(&self, id: NodeId) -> bool {
        match self.node(id).kind {
            NodeKind::Scalar {
                value,
                style: Style::Plain,
                tagged: false,
            } => plain_type(value) == PlainType::String,
            NodeKind::Scalar { .. } => true,
            _ => false,
        }
    }
}

/// A parse event as the tree is built from it, whichever reader produced it.
#[derive(Debug, Clone, PartialEq)]
enum Event<'t> {
    Comment {
        /// Text after the `#`.
        text: Cow<'t, str>,
        placement: Placement,
    },
    Scalar {
        value: Cow<'t, str>,
        style: Style,
        tagged: bool,
        anchor: AnchorId,
    },
    /// An alias, with the anchor it names.
    Alias(AnchorId),
    Open {
        is_map: bool,
        flow: bool,
        anchor: AnchorId,
    },
    Close,
    DocumentStart,
    /// The end of a document or of the stream.
    DocumentEnd,
}

/// Where a comment sits, as the reader saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// After something on its line.
    SameLine,
    /// On a line of its own, directly above the next token.
    Above,
    /// On a line of its own, apart from what follows.
    Apart,
}

impl<'t> Event<'t> {
    /// The events the tree needs; `None` for those it ignores (stream start, anchors).
    fn from_granit(event: granit_parser::Event<'t>) -> Option<Event<'t>> {
        use granit_parser::Event as Granit;
        Some(match event {
            Granit::Comment(text, placement) => Event::Comment {
                text,
                placement: match placement {
                    CommentPlacement::Right => Placement::SameLine,
                    CommentPlacement::Above => Placement::Above,
                    _ => Placement::Apart,
                },
            },
            Granit::Scalar(value, style, anchor, tag) => Event::Scalar {
                value,
                style: match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                },
                tagged: tag.is_some(),
                anchor,
            },
            Granit::Alias(anchor) => Event::Alias(anchor),
            Granit::MappingStart(style, anchor, _) => Event::Open {
                is_map: true,
                flow: style == StructureStyle::Flow,
                anchor,
            },
            Granit::SequenceStart(style, anchor, _) => Event::Open {
                is_map: false,
                flow: style == StructureStyle::Flow,
                anchor,
            },
            Granit::MappingEnd | Granit::SequenceEnd => Event::Close,
            Granit::DocumentStart(..) => Event::DocumentStart,
            Granit::DocumentEnd | Granit::StreamEnd => Event::DocumentEnd,
            _ => return None,
        })
    }
}

/// An event with its bytes and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
struct Located<'t> {
    event: Event<'t>,
    span: Span,
    line: usize,
}

impl<'t> Located<'t> {
    fn new(event: Event<'t>, span: Span, line: usize) -> Located<'t> {
        Located { event, span, line }
    }
}

thread_local! {
    /// The builder's vectors, reused from file to file on each thread: grown from nothing for
    /// each file, they were reallocated again and again (a few percent of a run).
    static SCRATCH: std::cell::Cell<Builder> = std::cell::Cell::default();
}

/// Capacity (in bytes) past which a builder is not kept for the next file: one large file would
/// hold its size on each thread until the run ends.
const SCRATCH_KEPT: usize = 1 << 20;

/// Where `part` starts in `text`, when it is a slice of it.
fn offset_in(text: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (offset + part.len() <= text.len()).then_some(offset)
}

/// The tree of a file from its events.
fn build<'t>(
    source: &SourceFile,
    events: impl Iterator<Item = Result<Located<'t>, YamlError>>,
) -> Result<YamlFile, YamlError> {
    with_builder(source, |builder| {
        for event in events {
            builder.add(source, event?)?;
        }
        Ok(builder.file.take_at_size())
    })
}

/// Runs `fill` with this thread's builder, set up for `source` and cleared after.
/// Where a plain scalar's text holds a `:` that ends it as a key would (a blank or its end
/// after it), which no plain scalar holds.
fn mapping_value_in(plain: &str) -> Option<usize> {
    let bytes = plain.as_bytes();
    memchr::memchr_iter(b':', bytes).find(|&colon| {
        matches!(
            bytes.get(colon + 1),
            None | Some(b' ' | b'\t' | b'\r' | b'\n')
        )
    })
}

fn with_builder<T>(source: &SourceFile, fill: impl FnOnce(&mut Builder) -> T) -> T {
    let mut builder = SCRATCH.take();
    builder.file.text = source.shared_text();
    let filled = fill(&mut builder);
    builder.clear();
    if builder.capacity_in_bytes() <= SCRATCH_KEPT {
        SCRATCH.set(builder);
    }
    filled
}

/// Where a reader puts its events, one at a time. The events of nodes, most of them, have
/// methods of their own, which a sink may take without an event around them.
trait Sink<'t> {
    fn event(&mut self, event: Located<'t>);

    fn scalar(&mut self, value: Cow<'t, str>, style: Style, span: Span, line: usize) {
        let scalar = Event::Scalar {
            value,
            style,
            tagged: false,
            anchor: NO_ANCHOR,
        };
        self.event(Located::new(scalar, span, line));
    }

    fn open(&mut self, is_map: bool, flow: bool, span: Span, line: usize) {
        let open = Event::Open {
            is_map,
            flow,
            anchor: NO_ANCHOR,
        };
        self.event(Located::new(open, span, line));
    }

    fn close(&mut self, span: Span, line: usize) {
        self.event(Located::new(Event::Close, span, line));
    }
}

/// The builder taking a reader's events straight into the tree: the first error is kept and
/// what follows it is ignored.
struct Building<'b> {
    builder: &'b mut Builder,
    source: &'b SourceFile,
    error: Option<TooLarge>,
}

impl Building<'_> {
    fn keep_first_error(&mut self, step: impl FnOnce(&mut Builder) -> Result<(), TooLarge>) {
        if self.error.is_none() {
            self.error = step(self.builder).err();
        }
    }
}

impl<'t> Sink<'t> for Building<'_> {
    fn event(&mut self, event: Located<'t>) {
        let source = self.source;
        self.keep_first_error(|builder| builder.add(source, event));
    }

    fn scalar(&mut self, value: Cow<'t, str>, style: Style, span: Span, _: usize) {
        self.keep_first_error(|builder| builder.scalar(&value, style, false, span));
    }

    fn open(&mut self, is_map: bool, flow: bool, span: Span, line: usize) {
        self.keep_first_error(|builder| builder.open(is_map, flow, span, line));
    }

    fn close(&mut self, span: Span, line: usize) {
        self.keep_first_error(|builder| builder.close(span, line));
    }
}

impl Builder {
    /// Adds the node or comment of one event to the file being built.
    fn add(&mut self, source: &SourceFile, located: Located<'_>) -> Result<(), TooLarge> {
        let Located { event, span, line } = located;
        match event {
            Event::Comment { text, placement } => {
                self.comment(source, &text, placement, span, line)?;
            }
            Event::Scalar {
                value,
                style,
                tagged,
                anchor,
            } => {
                self.scalar(&value, style, tagged, span)?;
                self.anchored(anchor);
            }
            Event::Alias(anchor) => {
                let target = self.anchors.get(anchor).copied().unwrap_or(NO_TARGET);
                let id = self.add_node(Shape::Alias, span, target)?;
                self.last_completed = Some((id, span));
            }
            Event::Open {
                is_map,
                flow,
                anchor,
            } => {
                self.open(is_map, flow, span, line)?;
                self.anchored(anchor);
            }
            Event::Close => self.close(span, line)?,
            Event::DocumentStart => {
                self.last_completed = None;
            }
            Event::DocumentEnd => {
                self.pending_head.clear();
                self.last_completed = None;
            }
        }
        Ok(())
    }

    /// Records that the node added last defines `anchor`, for the aliases that name it.
    fn anchored(&mut self, anchor: AnchorId) {
        if anchor == NO_ANCHOR {
            return;
        }
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, NO_TARGET);
        }
        self.anchors[anchor] = (self.file.nodes.len() - 1) as NodeId;
    }

    fn comment(
        &mut self,
        source: &SourceFile,
        text: &str,
        placement: Placement,
        span: Span,
        line: usize,
    ) -> Result<(), TooLarge> {
        let end_line = |span: Span| source.line_of(span.end.saturating_sub(1).max(span.start));
        let file = &mut self.file;
        let attachment = if let Some(flow) = self.open.iter().rev().find(|c| c.flow) {
            Attachment::InFlow(flow.id)
        } else {
            match placement {
                Placement::SameLine => match self.last_completed {
                    Some((id, completed)) if end_line(completed) == line => Attachment::Line(id),
                    _ => Attachment::Detached,
                },
                Placement::Above => {
                    self.pending_head.push(file.comments.len());
                    Attachment::Detached
                }
                Placement::Apart => Attachment::Detached,
            }
        };
        let copy = if source.text().get(span.start + 1..span.end) == Some(text) {
            None
        } else {
            Some(file.copy(text)?)
        };
        file.comments.push(Comment {
            span,
            attachment,
            copy,
        });
        Ok(())
    }

    fn scalar(
        &mut self,
        value: &str,
        style: Style,
        tagged: bool,
        span: Span,
    ) -> Result<(), TooLarge> {
        let file = &mut self.file;
        // The text is kept as the span's when it is the span's middle: as is (plain), or inside
        // its quotes.
        let in_span = offset_in(&file.text, value).and_then(|start| {
            let inset = start.checked_sub(span.start)?;
            let end = start + value.len();
            (end + inset == span.end).then_some((Span::new(start, end), inset))
        });
        let (stored_span, contents, in_source) = match in_span {
            Some((text, inset)) => (text, text_offset(inset), true),
            None => (span, file.copy(value)?, false),
        };
        let shape = Shape::Scalar {
            style,
            tagged,
            in_source,
        };
        let id = self.add_node(shape, stored_span, contents)?;
        self.last_completed = Some((id, span));
        Ok(())
    }

    fn open(&mut self, is_map: bool, flow: bool, span: Span, line: usize) -> Result<(), TooLarge> {
        let shape = if is_map {
            Shape::Map { flow, count: 0 }
        } else {
            Shape::Seq { flow, count: 0 }
        };
        let id = self.add_node(shape, span, 0)?;
        self.open.push(OpenCollection {
            id,
            is_map,
            flow,
            start_line: line,
            first_child: self.open_children.len(),
        });
        Ok(())
    }

    /// Closes the innermost open collection: its span reaches the end of `end`, its children
    /// join the file's.
    fn close(&mut self, end: Span, line: usize) -> Result<(), TooLarge> {
        let Some(closed) = self.open.pop() else {
            return Ok(());
        };
        let file = &mut self.file;
        let children = &self.open_children[closed.first_child..];
        let node = &mut file.nodes[closed.id as usize];
        node.end = node.end.max(text_offset(end.end)).max(node.start);
        if let Shape::Map { count, .. } | Shape::Seq { count, .. } = &mut node.shape {
            node.contents = stored(file.children.len())?;
            *count = match u8::try_from(children.len()) {
                Ok(fits) if fits < COUNT_IN_RUN => fits,
                _ => {
                    file.children.push(stored(children.len())?);
                    COUNT_IN_RUN
                }
            };
            // Copied as a slice: `extend(drain(..))` goes through them one by one.
            file.children.extend_from_slice(children);
        }
        self.open_children.truncate(closed.first_child);
        if closed.flow {
            self.last_completed = Some((closed.id, end));
        } else if closed.start_line == line {
            self.last_completed = None;
        }
        Ok(())
    }

    fn clear(&mut self) {
        let file = &mut self.file;
        file.text = Arc::default();
        file.nodes.clear();
        file.values.clear();
        file.copies.clear();
        file.children.clear();
        file.documents.clear();
        file.comments.clear();
        self.open.clear();
        self.open_children.clear();
        self.pending_head.clear();
        self.anchors.clear();
        self.last_completed = None;
    }

    fn capacity_in_bytes(&self) -> usize {
        use std::mem::size_of;
        let file = &self.file;
        file.nodes.capacity() * size_of::<StoredNode>()
            + file.values.capacity()
            + file.copies.capacity() * size_of::<[u32; 2]>()
            + (file.children.capacity() + file.documents.capacity()) * size_of::<NodeId>()
            + file.comments.capacity() * size_of::<Comment>()
            + self.open.capacity() * size_of::<OpenCollection>()
            + self.open_children.capacity() * size_of::<NodeId>()
            + self.pending_head.capacity() * size_of::<usize>()
            + self.anchors.capacity() * size_of::<NodeId>()
    }

    // Inlined into its few callers: it runs for every node, and there the shape is known, which
    // settles half of what it checks.
    #[inline(always)]
    fn add_node(&mut self, shape: Shape, span: Span, contents: u32) -> Result<NodeId, TooLarge> {
        let file = &mut self.file;
        let id = stored(file.nodes.len())?;
        let role = match self.open.last() {
            None => {
                file.documents.push(id);
                Role::Root
            }
            Some(parent) => {
                let is_value = (self.open_children.len() - parent.first_child) % 2 == 1;
                self.open_children.push(id);
                match (parent.is_map, is_value) {
                    (false, _) => Role::Item,
                    (true, false) => Role::Key,
                    (true, true) => Role::Value,
                }
            }
        };
        // yaml.v3 gives a comment above a block collection's first entry to that entry.
        let opens_block_collection = matches!(
            shape,
            Shape::Map { flow: false, .. } | Shape::Seq { flow: false, .. }
        );
        // Checked first: draining costs more than the check, and few nodes have a comment above.
        if !opens_block_collection && !self.pending_head.is_empty() {
            for comment in self.pending_head.drain(..) {
                file.comments[comment].attachment = Attachment::Head(id);
            }
        }
        file.nodes.push(StoredNode {
            start: text_offset(span.start),
            end: text_offset(span.end),
            contents,
            shape,
            role,
        });
        Ok(id)
    }
}

/// Whether a plain scalar with this text may be read as anything but a string: what Kubernetes
/// reads so ([`resolve::plain_type`]), and YAML 1.1's other spellings some reader takes for one
/// (booleans and nulls in any case, sexagesimal `1:30`), which yaml.v3's encoder, so Flux's
/// rewrite, quotes too. What the rewrite quotes.
pub fn may_read_as_non_string(text: &str) -> bool {
    if plain_type(text) != PlainType::String {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null"
            | "y"
            | "n"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "true"
            | "false"
            | ".inf"
            | "+.inf"
            | "-.inf"
            | ".nan"
    ) {
        return true;
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    unsigned.contains(':')
        && !unsigned.starts_with('0')
        && unsigned
            .split(':')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (SourceFile, YamlFile) {
        let source = SourceFile::new("t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        (source, yaml)
    }

    fn attachment_of(source: &SourceFile, yaml: &YamlFile, needle: &str) -> String {
        let comment = yaml
            .comments
            .iter()
            .find(|c| c.text(yaml).contains(needle))
            .unwrap();
        match comment.attachment {
            Attachment::Line(id) => format!("line:{}", source.slice(yaml.node(id).span)),
            Attachment::Head(id) => format!("head:{}", source.slice(yaml.node(id).span)),
            Attachment::InFlow(_) => "flow".into(),
            Attachment::Detached => "detached".into(),
        }
    }

    #[test]
    fn comments_attach_like_yaml_v3() {
        let text = "a: v1 # A\n# B\nb: v2\nc:\n  - v3 # C\n  # D\n  - v4\nd: [x, y] # E\nf: &anc \"q\" # F\ng: *anc # G\nh:\n  v5 # H\ni: # I\n  j: 1\n\n# K\n\nk: 1\n";
        let (source, yaml) = parse(text);
        assert_eq!(attachment_of(&source, &yaml, "A"), "line:v1");
        assert_eq!(attachment_of(&source, &yaml, "B"), "head:b");
        assert_eq!(attachment_of(&source, &yaml, "C"), "line:v3");
        assert_eq!(attachment_of(&source, &yaml, "D"), "head:v4");
        assert_eq!(attachment_of(&source, &yaml, "E"), "line:[x, y]");
        assert_eq!(attachment_of(&source, &yaml, "F"), "line:\"q\"");
        assert_eq!(attachment_of(&source, &yaml, "G"), "line:*anc");
        assert_eq!(attachment_of(&source, &yaml, "H"), "line:v5");
        assert_eq!(attachment_of(&source, &yaml, "I"), "line:i");
        assert_eq!(attachment_of(&source, &yaml, "K"), "detached");
    }

    #[test]
    fn a_comment_not_as_the_file_has_it_keeps_its_own_text() {
        let source = SourceFile::new("t.yaml".into(), "a: 1 # one\n");
        let comment = Event::Comment {
            text: Cow::Borrowed(" o ne"),
            placement: Placement::SameLine,
        };
        let yaml = build(
            &source,
            [Ok(Located::new(comment, Span::new(5, 10), 1))].into_iter(),
        );
        let yaml = yaml.unwrap();
        assert_eq!(yaml.comments[0].text(&yaml), " o ne");
    }

    #[test]
    fn a_leaf_key_finds_its_value() {
        let text = "a: &x 1\nb:\n  c: [2]\n  *x : 3\n? [d]\n: 4\ne:\n  - f\n";
        let (source, yaml) = parse(text);
        let value_of = |key: &str| {
            let id = (0..yaml.node_count() as NodeId)
                .find(|&id| source.slice(yaml.node(id).span) == key)
                .unwrap();
            yaml.value_of_key(id)
                .map(|value| source.slice(yaml.node(value).span).trim_end().to_string())
        };
        assert_eq!(value_of("a").as_deref(), Some("1"));
        assert_eq!(value_of("c").as_deref(), Some("[2]"));
        assert_eq!(value_of("*x").as_deref(), Some("3"));
        assert_eq!(value_of("e").as_deref(), Some("- f"));
        // Not keys, or a key with nodes inside it.
        assert_eq!(value_of("2"), None);
        assert_eq!(value_of("f"), None);
        assert_eq!(value_of("[d]"), None);
    }

    #[test]
    fn paths_and_roles() {
        let (_, yaml) = parse("---\nkind: A\nspec:\n  x: [1, 2]\n---\n---\nkind: B\n");
        // The empty middle document is a null scalar, as in yaml.v3.
        assert_eq!(yaml.documents.len(), 3);
        let root = yaml.documents[0];
        assert_eq!(yaml.path_str(root, &["kind"]), Some("A"));
        let x = yaml.path(root, &["spec", "x"]).unwrap();
        assert_eq!(yaml.items(x).len(), 2);
        assert_eq!(yaml.node(yaml.items(x)[0]).role, Role::Item);
    }

    /// What the rewrite quotes: whatever Kubernetes reads as no string, and YAML 1.1's other
    /// spellings of one.
    #[test]
    fn values_quoted_when_written() {
        for text in [
            "10", "012", "0x1A", "0o17", "1_000", "20240101", "+1", "1.10", "1e3", ".5", ".inf",
            "yes", "Off", "yEs", "NuLL", "1:30", "~", "null", "",
        ] {
            assert!(may_read_as_non_string(text), "{text}");
        }
        for text in [
            "1.2.3",
            "v1.2",
            "2021-01-01",
            "1.0-alpine",
            "latest",
            "e3",
            "sha256:abc",
            "1e",
            ".",
            "01:30",
            "1:",
        ] {
            assert!(!may_read_as_non_string(text), "{text}");
        }
    }

    /// The tree as flow YAML, through the accessors alone: `*` for an alias.
    fn dump(yaml: &YamlFile, id: NodeId) -> String {
        if yaml.is_map(id) {
            let entries: Vec<String> = yaml
                .entries(id)
                .map(|(key, value)| format!("{}: {}", dump(yaml, key), dump(yaml, value)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        } else if yaml.is_seq(id) {
            let items: Vec<String> = yaml.items(id).iter().map(|&i| dump(yaml, i)).collect();
            format!("[{}]", items.join(", "))
        } else {
            yaml.scalar(id)
                .map_or("*".into(), |value| format!("{value:?}"))
        }
    }

    fn roles(yaml: &YamlFile, id: NodeId, out: &mut Vec<String>) {
        out.push(format!("{:?}", yaml.node(id).role));
        for (key, value) in yaml.entries(id) {
            roles(yaml, key, out);
            roles(yaml, value, out);
        }
        for &item in yaml.items(id) {
            roles(yaml, item, out);
        }
    }

    #[test]
    fn nested_collections_keep_their_own_children() {
        let text = "a:\n  b: [1, {c: d}, 2]\n  e: f\ng:\n- h\n- - i\n  - j\n- {}\n- k\nl: []\n";
        let (source, yaml) = parse(text);
        let root = yaml.documents[0];
        assert_eq!(
            dump(&yaml, root),
            r#"{"a": {"b": ["1", {"c": "d"}, "2"], "e": "f"}, "g": ["h", ["i", "j"], {}, "k"], "l": []}"#
        );
        let mut found = Vec::new();
        roles(&yaml, root, &mut found);
        assert_eq!(
            found.join(" "),
            "Root Key Value Key Value Item Item Key Value Item Key Value Key Value Item Item Item Item Item Item Key Value"
        );
        let b = yaml.path(root, &["a", "b"]).unwrap();
        assert_eq!(source.slice(yaml.node(b).span), "[1, {c: d}, 2]");
        let g = yaml.get(root, "g").unwrap();
        assert_eq!(
            source.slice(yaml.node(yaml.items(g)[1]).span),
            "- i\n  - j\n"
        );
    }

    #[test]
    fn collections_keep_their_children_however_many() {
        for count in [0, 1, 127, 128, 254, 255, 256, 300] {
            let names: Vec<String> = (0..count).map(|i| format!("n{i}")).collect();
            let entries: String = names.iter().map(|name| format!("  {name}: v\n")).collect();
            let text = format!("s: [{}]\nm:\n{entries}", names.join(", "));
            let (_, yaml) = parse(&text);
            let root = yaml.documents[0];
            let items = yaml.items(yaml.get(root, "s").unwrap());
            let items: Vec<&str> = items.iter().map(|&i| yaml.scalar(i).unwrap()).collect();
            assert_eq!(items, names);
            let keys: Vec<&str> = yaml
                .entries(yaml.get(root, "m").unwrap())
                .map(|(key, _)| yaml.scalar(key).unwrap())
                .collect();
            assert_eq!(keys, names);
        }
    }

    #[test]
    fn documents_empty_or_not() {
        let (_, yaml) = parse("---\n---\n{}\n---\n[]\n--- ~\n--- # only a comment\n");
        let documents: Vec<String> = yaml.documents.iter().map(|&d| dump(&yaml, d)).collect();
        assert_eq!(documents, [r#""~""#, "{}", "[]", r#""~""#, r#""~""#]);
        let (_, yaml) = parse("");
        assert!(yaml.documents.is_empty());
    }

    #[test]
    fn aliases_have_no_contents() {
        let (source, yaml) = parse("a: &x [1]\nb: *x\nc: {d: *x}\n");
        let root = yaml.documents[0];
        assert_eq!(dump(&yaml, root), r#"{"a": ["1"], "b": *, "c": {"d": *}}"#);
        let b = yaml.get(root, "b").unwrap();
        assert_eq!(source.slice(yaml.node(b).span), "*x");
        assert!(matches!(yaml.node(b).kind, NodeKind::Alias));
        assert_eq!(yaml.items(b), &[] as &[NodeId]);
    }

    #[test]
    fn a_plain_scalar_running_on_into_a_mapping_value_is_refused_as_yaml_v3_refuses_it() {
        let parse = |text: &str| YamlFile::parse(&SourceFile::new("a.yaml".into(), text));
        let error = parse("ports:\n  - port: 9898\n      protocol: TCP\n").unwrap_err();
        assert_eq!(
            error.message,
            "mapping values are not allowed in this context"
        );
        assert_eq!(error.offset, "ports:\n  - port: 9898\n      protocol".len());
        // A plain scalar of several lines without one is YAML.
        assert!(parse("note: a long\n  sentence, with:no blank after its colon\n").is_ok());
        assert!(parse("url: http://x\n  /y\n").is_ok());
    }

    #[test]
    fn scalars_keep_their_decoded_text_and_style() {
        let text = "a: \"x\\ty\"\nb: 'it''s'\nc: |\n  l1\n  l2\nd: >-\n  f1\n  f2\ne: !!str 1.10\nf: plain\n  folded\n";
        let (_, yaml) = parse(text);
        let root = yaml.documents[0];
        let scalars: Vec<(String, Style, bool)> = yaml
            .entries(root)
            .map(|(_, value)| match yaml.node(value).kind {
                NodeKind::Scalar {
                    value,
                    style,
                    tagged,
                } => (value.to_string(), style, tagged),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            scalars,
            [
                ("x\ty".into(), Style::DoubleQuoted, false),
                ("it's".into(), Style::SingleQuoted, false),
                ("l1\nl2\n".into(), Style::Literal, false),
                ("f1 f2".into(), Style::Folded, false),
                ("1.10".into(), Style::Plain, true),
                ("plain folded".into(), Style::Plain, false),
            ]
        );
        assert!(yaml.resolves_to_string(yaml.get(root, "e").unwrap()));
        assert_eq!(yaml.scalar(root), None);
        assert_eq!(yaml.entries(yaml.get(root, "a").unwrap()).len(), 0);
    }

    #[test]
    fn offsets_beyond_u32_are_refused() {
        assert_eq!(stored(u32::MAX as usize), Ok(u32::MAX));
        let error = YamlError::from(stored(u32::MAX as usize + 1).unwrap_err());
        assert_eq!(error.kind, YamlErrorKind::NotRead);
    }

    #[test]
    fn errors_carry_an_offset() {
        let source = SourceFile::new("t.yaml".into(), "a: b\n  c: [\n");
        let error = YamlFile::parse(&source).unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }

    /// Each text with its tree as `kubectl kustomize` (kustomize 5.5, yaml.v3) read it; `*` is an
    /// alias, `~` a key left empty.
    #[test]
    fn anchor_and_alias_names_end_where_flux_ends_them() {
        for (text, tree) in [
            // The alias `app` as a key, then the key's `:`.
            (
                "a: &app web\nb:\n  *app:\n    x: 1\n",
                r#"{"a": "web", "b": {*: {"x": "1"}}}"#,
            ),
            ("a: &x v\n*x : 1\n", r#"{"a": "v", *: "1"}"#),
            ("&x: v\n", r#"{"~": "v"}"#),
            ("&x:\n  k: v\n", r#"{"~": {"k": "v"}}"#),
            // The anchor `app` on the scalar `:x web`.
            ("a: &app:x web\nb: *app\n", r#"{"a": ":x web", "b": *}"#),
            ("a: &x v\nb: [*x, y]\n", r#"{"a": "v", "b": [*, "y"]}"#),
            ("a: &x v\nb: {k: *x}\n", r#"{"a": "v", "b": {"k": *}}"#),
            // In flow, a `:` is a value indicator whatever follows it.
            ("a: &x v\nb: [*x:y]\n", r#"{"a": "v", "b": [{*: "y"}]}"#),
            ("a: &x v\nb: {*x:y}\n", r#"{"a": "v", "b": {*: "y"}}"#),
            ("a: &x v\nb: [*x:*x]\n", r#"{"a": "v", "b": [{*: *}]}"#),
            ("a: &x v\nb: [*x:]\n", r#"{"a": "v", "b": [{*: "~"}]}"#),
            (
                "a: &x v\nb: {*x:,k: 1}\n",
                r#"{"a": "v", "b": {*: "~", "k": "1"}}"#,
            ),
            ("a: [&y:b, *y]\n", r#"{"a": [{"~": "b"}, *]}"#),
            ("a: [&x,b]\n", r#"{"a": ["~", "b"]}"#),
            (
                "a: &x v\r\nb:\r\n  *x:\r\n    k: 1\r\n",
                r#"{"a": "v", "b": {*: {"k": "1"}}}"#,
            ),
            // Not names: in a comment, quotes, a plain scalar.
            (
                "k: 'x' # &a:b\nl: \"*c:d\"\nm: a*b:c\n",
                r#"{"k": "x", "l": "*c:d", "m": "a*b:c"}"#,
            ),
        ] {
            let (_, yaml) = parse(text);
            assert_eq!(dump(&yaml, yaml.documents[0]), tree, "{text:?}");
        }
    }

    #[test]
    fn spans_leave_out_the_spaces_names_are_read_with() {
        let text = "a: &app:x web\nb:\n  *app:\n    c: [*app:y] # m\n";
        let (source, yaml) = parse(text);
        let spans: Vec<&str> = yaml.nodes().map(|node| source.slice(node.span)).collect();
        assert_eq!(
            spans,
            [
                text,
                "a",
                ":x web",
                "b",
                "*app:\n    c: [*app:y] # m\n",
                "*app",
                "c: [*app:y] # m\n",
                "c",
                "[*app:y]",
                "*app:y",
                "*app",
                "y",
            ]
        );
        let comment = &yaml.comments[0];
        assert_eq!(source.slice(comment.span), "# m");
        assert!(
            matches!(comment.attachment, Attachment::Line(id) if source.slice(yaml.node(id).span) == "[*app:y]")
        );
    }

    /// yaml.v3 refuses these (`kubectl kustomize`): a name with another character, or one that
    /// does not end at a blank or one of `?:,]}%@` and backquote; the error points at that
    /// character.
    #[test]
    fn names_flux_refuses_do_not_parse() {
        for (text, at) in [
            ("a: &a.b v\n", ".b v\n"),
            ("a: &a/b v\n", "/b v\n"),
            ("a: &aé v\n", "é v\n"),
            ("a: &é v\n", "é v\n"),
            ("a: &x[1] v\n", "[1] v\n"),
            ("a: &x{1} v\n", "{1} v\n"),
            ("a: &x v\nb: *a.b\n", ".b\n"),
            ("a: &x v\nc: *x#c\n", "#c\n"),
            ("a: [&x;b]\n", ";b]\n"),
        ] {
            let source = SourceFile::new("t.yaml".into(), text);
            let error = YamlFile::parse(&source).unwrap_err();
            assert!(
                error
                    .message
                    .contains("did not find expected alphabetic or numeric character"),
                "{text:?}: {error:?}"
            );
            assert_eq!(&text[error.offset..], at, "{text:?}");
        }
        // A name yaml.v3 ends before a character no token starts with, or where its grammar
        // allows no key or value.
        for text in [
            "a: &x v\nb: *x?\n",
            "a: &x v\nb: *x@\n",
            "a: &x v\nb: *x%\n",
            "a: &x v\nb: *x`\n",
            "a: &x v\nb: *x:\n",
            "a: &a:x web\nb: *a:x\n",
            "a: &x v\nb: [*x?y]\n",
        ] {
            let source = SourceFile::new("t.yaml".into(), text);
            assert!(YamlFile::parse(&source).is_err(), "{text:?}");
        }
    }

    #[test]
    fn an_error_before_a_refused_name_is_the_one_reported() {
        let text = "a: b\n  c: d\ne: &a.b v\n";
        let source = SourceFile::new("t.yaml".into(), text);
        let error = YamlFile::parse(&source).unwrap_err();
        assert!(error.offset < text.find('&').unwrap(), "{error:?}");
    }
}
