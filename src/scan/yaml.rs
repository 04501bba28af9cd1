//! One YAML parser for the whole tool: granit-parser events turned into a tree of nodes with
//! byte spans, scalar styles and the comments attached the way yaml.v3 (and so kyaml, and so
//! Flux) attaches them: a same-line comment to the node it follows, an own-line comment to the
//! node below it. Flux decides from these attachments whether a marker counts.

use granit_parser::{Event, Parser, Placement as CommentPlacement, ScalarStyle, StructureStyle};

use crate::source::{SourceFile, Span};

pub type NodeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug)]
pub enum NodeKind {
    Scalar {
        value: String,
        style: Style,
        /// An explicit tag (`!!str 1.10`) overrides YAML's type resolution.
        tagged: bool,
    },
    Map {
        entries: Vec<(NodeId, NodeId)>,
        flow: bool,
    },
    Seq {
        items: Vec<NodeId>,
        flow: bool,
    },
    Alias,
}

#[derive(Debug)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
    pub role: Role,
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
    /// Text after the first `#`.
    pub text: String,
    pub attachment: Attachment,
}

#[derive(Debug, Default)]
pub struct YamlFile {
    pub nodes: Vec<Node>,
    /// Root node of each document (an empty document is an empty plain scalar).
    pub documents: Vec<NodeId>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub offset: usize,
}

struct OpenCollection {
    id: NodeId,
    flow: bool,
    start_line: usize,
}

impl YamlFile {
    pub fn parse(source: &SourceFile) -> Result<YamlFile, YamlError> {
        let text = source.text.as_str();
        let mut file = YamlFile::default();
        let mut open: Vec<OpenCollection> = Vec::new();
        let mut last_completed: Option<(NodeId, usize)> = None;
        let mut pending_head: Vec<usize> = Vec::new();

        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(|error| YamlError {
                message: error.info(),
                offset: error.marker().byte_offset().unwrap_or_else(|| {
                    source.offset_of(error.marker().line(), error.marker().col())
                }),
            })?;
            let byte_span = span
                .byte_range()
                .map_or(Span::default(), |r| Span::new(r.start, r.end));
            let line = span.start.line();
            let end_line = source.line_of(byte_span.end.saturating_sub(1).max(byte_span.start));
            match event {
                Event::Comment(comment_text, placement) => {
                    let attachment = if let Some(flow) = open.iter().rev().find(|c| c.flow) {
                        Attachment::InFlow(flow.id)
                    } else {
                        match placement {
                            CommentPlacement::Right => match last_completed {
                                Some((id, completed_line)) if completed_line == line => {
                                    Attachment::Line(id)
                                }
                                _ => Attachment::Detached,
                            },
                            CommentPlacement::Above => {
                                pending_head.push(file.comments.len());
                                Attachment::Detached
                            }
                            _ => Attachment::Detached,
                        }
                    };
                    file.comments.push(Comment {
                        span: byte_span,
                        text: comment_text.into_owned(),
                        attachment,
                    });
                }
                Event::Scalar(value, style, _, tag) => {
                    let style = match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::SingleQuoted => Style::SingleQuoted,
                        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                        ScalarStyle::Literal => Style::Literal,
                        ScalarStyle::Folded => Style::Folded,
                    };
                    let kind = NodeKind::Scalar {
                        value: value.into_owned(),
                        style,
                        tagged: tag.is_some(),
                    };
                    let id = file.add_node(kind, byte_span, &open, &mut pending_head);
                    last_completed = Some((id, end_line));
                }
                Event::Alias(_) => {
                    let id = file.add_node(NodeKind::Alias, byte_span, &open, &mut pending_head);
                    last_completed = Some((id, end_line));
                }
                Event::MappingStart(style, _, _) | Event::SequenceStart(style, _, _) => {
                    let flow = style == StructureStyle::Flow;
                    let kind = if matches!(event, Event::MappingStart(..)) {
                        NodeKind::Map {
                            entries: Vec::new(),
                            flow,
                        }
                    } else {
                        NodeKind::Seq {
                            items: Vec::new(),
                            flow,
                        }
                    };
                    let id = file.add_node(kind, byte_span, &open, &mut pending_head);
                    open.push(OpenCollection {
                        id,
                        flow,
                        start_line: line,
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(closed) = open.pop() {
                        let node = &mut file.nodes[closed.id];
                        node.span.end = node.span.end.max(byte_span.end).max(node.span.start);
                        // Trees are kept until the run ends: no room for growth left over.
                        match &mut node.kind {
                            NodeKind::Map { entries, .. } => entries.shrink_to_fit(),
                            NodeKind::Seq { items, .. } => items.shrink_to_fit(),
                            _ => {}
                        }
                        if closed.flow {
                            last_completed = Some((closed.id, end_line));
                        } else if closed.start_line == line {
                            last_completed = None;
                        }
                    }
                }
                Event::DocumentStart(..) => {
                    last_completed = None;
                }
                Event::DocumentEnd | Event::StreamEnd => {
                    pending_head.clear();
                    last_completed = None;
                }
                _ => {}
            }
        }
        file.nodes.shrink_to_fit();
        file.comments.shrink_to_fit();
        Ok(file)
    }

    fn add_node(
        &mut self,
        kind: NodeKind,
        span: Span,
        open: &[OpenCollection],
        pending_head: &mut Vec<usize>,
    ) -> NodeId {
        let id = self.nodes.len();
        let role = match open.last().map(|c| c.id) {
            None => {
                self.documents.push(id);
                Role::Root
            }
            Some(parent_id) => match &mut self.nodes[parent_id].kind {
                NodeKind::Map { entries, .. } => match entries.last_mut() {
                    Some((_, value)) if *value == usize::MAX => {
                        *value = id;
                        Role::Value
                    }
                    _ => {
                        entries.push((id, usize::MAX));
                        Role::Key
                    }
                },
                NodeKind::Seq { items, .. } => {
                    items.push(id);
                    Role::Item
                }
                _ => unreachable!("only collections are open"),
            },
        };
        // yaml.v3 gives a comment above a block collection's first entry to that entry.
        let opens_block_collection = matches!(
            kind,
            NodeKind::Map { flow: false, .. } | NodeKind::Seq { flow: false, .. }
        );
        if !opens_block_collection {
            for comment in pending_head.drain(..) {
                self.comments[comment].attachment = Attachment::Head(id);
            }
        }
        self.nodes.push(Node { span, kind, role });
        id
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The value under `key` in a mapping node.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.entries(map)
            .find(|&(k, _)| self.scalar(k) == Some(key))
            .map(|(_, v)| v)
    }

    /// Entries of a mapping node (empty for other nodes).
    pub fn entries(&self, map: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let entries: &[(NodeId, NodeId)] = match &self.nodes[map].kind {
            NodeKind::Map { entries, .. } => entries,
            _ => &[],
        };
        entries.iter().copied().filter(|&(_, v)| v != usize::MAX)
    }

    /// Items of a sequence node (empty for other nodes).
    pub fn items(&self, seq: NodeId) -> &[NodeId] {
        match &self.nodes[seq].kind {
            NodeKind::Seq { items, .. } => items,
            _ => &[],
        }
    }

    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, .. } => Some(value),
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
        matches!(self.nodes[id].kind, NodeKind::Map { .. })
    }

    pub fn is_seq(&self, id: NodeId) -> bool {
        matches!(self.nodes[id].kind, NodeKind::Seq { .. })
    }

    /// What YAML 1.1 (as Kubernetes and yaml.v3 read it) makes of a plain scalar: a string, or
    /// a number, boolean or null.
    pub fn resolves_to_string(&self, id: NodeId) -> bool {
        match &self.nodes[id].kind {
            NodeKind::Scalar {
                value,
                style: Style::Plain,
                tagged: false,
            } => !is_yaml11_non_string(value),
            NodeKind::Scalar { .. } => true,
            _ => false,
        }
    }
}

/// True when a plain scalar with this text is not a string under YAML 1.1 (ints such as `10`,
/// `012`, `0x1A`, `1_000`, `+1`; floats such as `1.10`, `1e3`, `.5`, `.inf`; booleans
/// `y n yes no on off true false` in any case; null `null`, `~`, empty), which is what Flux's
/// rewrite quotes and what `unquoted-tag` warns about.
pub fn is_yaml11_non_string(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "" | "~" | "null" | "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false"
    ) {
        return true;
    }
    if matches!(lower.as_str(), ".inf" | "+.inf" | "-.inf" | ".nan") {
        return true;
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned.is_empty() {
        return false;
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(bin) = unsigned.strip_prefix("0b") {
        return !bin.is_empty() && bin.bytes().all(|b| matches!(b, b'0' | b'1' | b'_'));
    }
    // Sexagesimal integers (`1:30`) are YAML 1.1 ints too.
    if unsigned.contains(':') {
        return unsigned
            .split(':')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
            && unsigned.as_bytes()[0] != b'0';
    }
    is_yaml11_float_or_int(unsigned)
}

fn is_yaml11_float_or_int(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && digits_ok(int)
                && digits_ok(frac)
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && digits_ok(mantissa),
    };
    let starts_with_digit_or_dot = mantissa
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && starts_with_digit_or_dot && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (SourceFile, YamlFile) {
        let source = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.into());
        let yaml = YamlFile::parse(&source).unwrap();
        (source, yaml)
    }

    fn attachment_of(source: &SourceFile, yaml: &YamlFile, needle: &str) -> String {
        let comment = yaml
            .comments
            .iter()
            .find(|c| c.text.contains(needle))
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

    #[test]
    fn yaml11_types() {
        for text in [
            "10", "012", "0x1A", "1_000", "20240101", "+1", "1.10", "1e3", ".5", ".inf", "yes",
            "Off", "~", "null", "",
        ] {
            assert!(is_yaml11_non_string(text), "{text}");
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
        ] {
            assert!(!is_yaml11_non_string(text), "{text}");
        }
    }

    #[test]
    fn errors_carry_an_offset() {
        let source = SourceFile::new("t.yaml".into(), "t.yaml".into(), "a: b\n  c: [\n".into());
        let error = YamlFile::parse(&source).unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }
}
