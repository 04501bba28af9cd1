//! `$imagepolicy` setter markers: the grammar Flux accepts (kyaml's short-hand JSON and the long
//! `$ref` form), and the placement rule that decides whether Flux applies a marker or silently
//! ignores it. A comment that mentions `$imagepolicy` but is not a marker is reported as such.

use std::fmt;

use super::yaml::{Attachment, NodeKind, Role, Style, YamlFile};
use crate::source::Span;

const SHORT_HAND_KEY: &str = "$imagepolicy";
const LONG_FORM_PREFIX: &str = "#/definitions/io.k8s.cli.setters.";

/// What part of the image a marker replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SetterKind {
    /// `ns:name`: the whole reference `name:tag[@digest]`.
    Image,
    Name,
    Tag,
    Digest,
}

impl SetterKind {
    pub fn suffix(self) -> &'static str {
        match self {
            SetterKind::Image => "",
            SetterKind::Name => ":name",
            SetterKind::Tag => ":tag",
            SetterKind::Digest => ":digest",
        }
    }
}

/// `namespace:name` of an ImagePolicy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyRef {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

impl PolicyRef {
    /// Parses `namespace:name`, as config files and `explain` take it.
    pub fn parse(text: &str) -> Option<PolicyRef> {
        let (namespace, name) = text.split_once(':')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then(|| PolicyRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

/// How a marked value fails to have the shape its marker replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeMismatch {
    /// A `:tag` marker on something with `/`, `:` or `@`.
    TagOnImage,
    /// A `:tag` marker on text that is not a tag (`KEY=value`).
    NotATag,
    /// A `:name` marker on a value with a tag or digest.
    NameWithTag,
    /// Not parseable as an image reference (`:name` or full marker); the reason.
    NotAnImage(String),
    /// A `:digest` marker on something that is not `sha256:<64 hex>`.
    NotADigest,
    /// A full marker on an image without tag or digest: valid, but means `latest` for now.
    Untagged,
}

impl ShapeMismatch {
    /// Whether Flux's rewrite would destroy data (everything but an untagged image).
    pub fn is_destructive(&self) -> bool {
        *self != ShapeMismatch::Untagged
    }
}

/// Checks that a value has the shape its marker kind replaces.
pub fn shape_mismatch(kind: SetterKind, text: &str) -> Option<ShapeMismatch> {
    use crate::flux::image::{is_valid_digest, is_valid_tag, ImageRef};
    match kind {
        SetterKind::Tag if text.contains(['/', ':', '@']) => Some(ShapeMismatch::TagOnImage),
        SetterKind::Tag if !text.is_empty() && !is_valid_tag(text) => Some(ShapeMismatch::NotATag),
        SetterKind::Tag => None,
        SetterKind::Name => match ImageRef::parse(text) {
            Ok(image) if image.tag.is_some() || image.digest.is_some() => {
                Some(ShapeMismatch::NameWithTag)
            }
            Ok(_) => None,
            Err(error) => Some(ShapeMismatch::NotAnImage(error.to_string())),
        },
        SetterKind::Digest => (!is_valid_digest(text)).then_some(ShapeMismatch::NotADigest),
        SetterKind::Image => match ImageRef::parse(text) {
            Err(error) => Some(ShapeMismatch::NotAnImage(error.to_string())),
            Ok(image) if image.tag.is_none() && image.digest.is_none() => {
                Some(ShapeMismatch::Untagged)
            }
            Ok(_) => None,
        },
    }
}

/// A marker Flux's grammar accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setter {
    pub policy: PolicyRef,
    pub kind: SetterKind,
}

/// Why Flux will not apply a syntactically valid marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    HeadOfKey,
    MultiLineHead,
    HiddenByLineComment,
    FlowCollection,
    BlockScalar,
    OnKey,
    OnMap,
    OnSequence,
    OnAlias,
    Detached,
}

impl Ignored {
    /// Where the marker is, as a user would say it.
    pub fn describe(self) -> &'static str {
        match self {
            Ignored::HeadOfKey => "a comment above `key: value` belongs to the key, not the value",
            Ignored::MultiLineHead => "the marker is part of a multi-line comment block, which Flux reads as one comment that is not JSON",
            Ignored::HiddenByLineComment => "the value already has a comment on its own line, and Flux reads only that one",
            Ignored::FlowCollection => "markers inside or after a flow collection (`[…]`, `{…}`) belong to the collection",
            Ignored::BlockScalar => "the marker is text inside a block scalar (`|` or `>`), not a YAML comment",
            Ignored::OnKey => "the marker follows a mapping key whose value is not on the same line",
            Ignored::OnMap => "the marker is attached to a mapping, not to a scalar",
            Ignored::OnSequence => "the marker is attached to a sequence, not to a scalar",
            Ignored::OnAlias => "the marker follows an alias (`*name`); Flux does not rewrite through aliases",
            Ignored::Detached => "the marker is not attached to any value (blank line or end of block in between)",
        }
    }

    pub fn advice(self) -> &'static str {
        match self {
            Ignored::HeadOfKey | Ignored::MultiLineHead | Ignored::OnKey | Ignored::Detached => {
                "move the marker to the end of the value's line: `image: repo/app:1.0 # {\"$imagepolicy\": \"ns:policy\"}`"
            }
            Ignored::HiddenByLineComment => {
                "move the marker to the end of the value's line, replacing the comment there"
            }
            Ignored::FlowCollection => {
                "write the collection in block style and put the marker at the end of the value's line"
            }
            Ignored::BlockScalar => {
                "Flux cannot rewrite text inside a string; move the image into its own YAML field with the marker on that line"
            }
            Ignored::OnMap | Ignored::OnSequence | Ignored::OnAlias => {
                "put the marker on the line of the scalar that holds the image, name or tag"
            }
        }
    }
}

/// The scalar a marker annotates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedValue {
    /// The scalar's source bytes, quotes included.
    pub span: Span,
    pub value: String,
    pub style: Style,
    /// The scalar resolves to a string under YAML 1.1.
    pub is_string: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Applied(MarkedValue),
    Ignored(Ignored),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The comment, `#` included.
    pub span: Span,
    /// The setter text, e.g. `flux-system:app:tag`.
    pub setter_text: String,
    pub setter: Setter,
    pub placement: Placement,
}

/// A comment that mentions `$imagepolicy` but that Flux does not read as a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerSyntaxError {
    pub span: Span,
    pub reason: String,
    pub help: String,
}

#[derive(Debug, Default)]
pub struct FileMarkers {
    pub markers: Vec<Marker>,
    pub syntax_errors: Vec<MarkerSyntaxError>,
}

/// Cheap test for whether a text may hold a marker. Case-insensitive on `$imagepolicy`, so that
/// a misspelt `$ImagePolicy` is reported rather than silently skipped as Flux would.
pub fn mentions_marker(text: &[u8]) -> bool {
    let key = &SHORT_HAND_KEY.as_bytes()[1..];
    memchr::memchr_iter(b'$', text).any(|i| {
        text.get(i + 1..i + 1 + key.len())
            .is_some_and(|word| word.eq_ignore_ascii_case(key))
    }) || memchr::memmem::find(text, b"io.k8s.cli.setters.").is_some()
}

/// Parses a comment's text (after the first `#`). `None`: the comment is not about markers.
pub fn parse_comment(text: &str) -> Option<Result<Setter, (String, String)>> {
    if !mentions_marker(text.as_bytes()) {
        return None;
    }
    // kyaml strips every leading `#` and hands the rest to Go's JSON decoder.
    let body = text.trim_start_matches('#');
    Some(parse_setter_json(body))
}

fn parse_setter_json(body: &str) -> Result<Setter, (String, String)> {
    let example = r#"write it as `# {"$imagepolicy": "<namespace>:<policy>"}`"#;
    let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(body) {
        Ok(object) => object,
        Err(error) => {
            let trimmed = body.trim();
            let reason = if trimmed.contains('\'') && !trimmed.contains('"') {
                "the marker uses single quotes; Flux parses it as JSON, which needs double quotes"
                    .to_string()
            } else if let Some(close) = trimmed.rfind('}').filter(|&i| i + 1 < trimmed.len()) {
                format!(
                    "text after the closing `}}` (`{}`) makes the comment invalid JSON, so Flux ignores it",
                    trimmed[close + 1..].trim()
                )
            } else if !trimmed.starts_with('{') {
                "the comment is not a JSON object, so Flux does not read it as a marker".to_string()
            } else {
                format!("the marker is not valid JSON ({error}), so Flux ignores it")
            };
            return Err((reason, example.to_string()));
        }
    };
    if let Some((key, value)) = object.iter().find(|(_, value)| !value.is_string()) {
        return Err((
            format!("`{key}` has the non-string value `{value}`; Flux reads markers as string-to-string JSON and ignores this one"),
            "quote every value in the marker, or move other data out of the comment".to_string(),
        ));
    }
    let setter_text = if let Some(value) = object.get(SHORT_HAND_KEY) {
        value.as_str().unwrap_or_default().to_string()
    } else if let Some(reference) = object.get("$ref").and_then(|v| v.as_str()) {
        match reference.strip_prefix(LONG_FORM_PREFIX) {
            Some(rest) => rest.to_string(),
            None => {
                return Err((
                    format!("`$ref` must start with `{LONG_FORM_PREFIX}`"),
                    example.to_string(),
                ))
            }
        }
    } else if let Some(key) = object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(SHORT_HAND_KEY))
    {
        return Err((
            format!(
                "the key `{key}` must be spelled `{SHORT_HAND_KEY}` (the key is case-sensitive)"
            ),
            example.to_string(),
        ));
    } else {
        return Err((
            format!("the JSON object has no `{SHORT_HAND_KEY}` key"),
            example.to_string(),
        ));
    };
    parse_setter(&setter_text)
}

fn parse_setter(text: &str) -> Result<Setter, (String, String)> {
    if text.is_empty() {
        return Err((
            "the marker names no policy".to_string(),
            r#"name the policy as `"<namespace>:<policy>"`"#.to_string(),
        ));
    }
    if !text.contains(':') {
        if let Some((namespace, name)) = text.split_once('/') {
            return Err((
                format!("`{text}` separates namespace and name with `/`; Flux only resolves `namespace:name`"),
                format!("write `\"{namespace}:{name}\"`"),
            ));
        }
        return Err((
            format!("`{text}` has no namespace; Flux markers must name it (there is no default)"),
            format!("write `\"flux-system:{text}\"` (or the policy's namespace)"),
        ));
    }
    let parts: Vec<&str> = text.split(':').collect();
    let kind = match parts.get(2).copied() {
        None => SetterKind::Image,
        Some("tag") => SetterKind::Tag,
        Some("name") => SetterKind::Name,
        Some("digest") => SetterKind::Digest,
        Some(other) => {
            return Err((
                format!(
                "unknown suffix `:{other}`; Flux knows `:tag`, `:name` and `:digest` (lowercase)"
            ),
                format!(
                    "write `\"{}:{}:tag\"`, `:name`, `:digest`, or no suffix for the whole image",
                    parts[0], parts[1]
                ),
            ))
        }
    };
    if parts.len() > 3 || parts[0].is_empty() || parts[1].is_empty() {
        return Err((
            format!("`{text}` is not `namespace:name[:tag|:name|:digest]`"),
            r#"name the policy as `"<namespace>:<policy>"`"#.to_string(),
        ));
    }
    Ok(Setter {
        policy: PolicyRef {
            namespace: parts[0].to_string(),
            name: parts[1].to_string(),
        },
        kind,
    })
}

/// Finds every marker of a parsed file and decides, as kyaml would, whether Flux applies it.
pub fn find_markers(text: &str, yaml: &YamlFile) -> FileMarkers {
    let mut found = FileMarkers::default();
    for (index, comment) in yaml.comments.iter().enumerate() {
        let Some(parsed) = parse_comment(&comment.text) else {
            continue;
        };
        let setter = match parsed {
            Ok(setter) => setter,
            Err((reason, help)) => {
                found.syntax_errors.push(MarkerSyntaxError {
                    span: comment.span,
                    reason,
                    help,
                });
                continue;
            }
        };
        let placement = placement_of(yaml, index);
        found.markers.push(Marker {
            span: comment.span,
            setter_text: format!("{}{}", setter.policy, setter.kind.suffix()),
            setter,
            placement,
        });
    }
    find_markers_in_block_scalars(text, yaml, &mut found);
    found.markers.sort_by_key(|m| m.span);
    found
}

fn placement_of(yaml: &YamlFile, comment_index: usize) -> Placement {
    let comment = &yaml.comments[comment_index];
    let target = match comment.attachment {
        Attachment::Line(id) => id,
        Attachment::Head(id) => {
            let earlier_head = yaml.comments[..comment_index]
                .iter()
                .rev()
                .take_while(|c| c.attachment == Attachment::Head(id))
                .count();
            let later_head = yaml.comments[comment_index + 1..]
                .iter()
                .take_while(|c| c.attachment == Attachment::Head(id))
                .count();
            if earlier_head + later_head > 0 {
                return Placement::Ignored(Ignored::MultiLineHead);
            }
            if yaml.nodes[id].role == Role::Key {
                return Placement::Ignored(Ignored::HeadOfKey);
            }
            let has_line_comment = yaml
                .comments
                .iter()
                .any(|c| c.attachment == Attachment::Line(id));
            if has_line_comment {
                return Placement::Ignored(Ignored::HiddenByLineComment);
            }
            id
        }
        Attachment::InFlow(_) => return Placement::Ignored(Ignored::FlowCollection),
        Attachment::Detached => return Placement::Ignored(Ignored::Detached),
    };
    let node = &yaml.nodes[target];
    match &node.kind {
        NodeKind::Scalar { .. } if node.role == Role::Key => Placement::Ignored(Ignored::OnKey),
        NodeKind::Scalar { value, style, .. } => {
            if style.is_block() {
                Placement::Ignored(Ignored::BlockScalar)
            } else {
                Placement::Applied(MarkedValue {
                    span: node.span,
                    value: value.clone(),
                    style: *style,
                    is_string: yaml.resolves_to_string(target),
                })
            }
        }
        NodeKind::Map { flow: true, .. } | NodeKind::Seq { flow: true, .. } => {
            Placement::Ignored(Ignored::FlowCollection)
        }
        NodeKind::Map { .. } => Placement::Ignored(Ignored::OnMap),
        NodeKind::Seq { .. } => Placement::Ignored(Ignored::OnSequence),
        NodeKind::Alias => Placement::Ignored(Ignored::OnAlias),
    }
}

/// Markers written inside `|`/`>` strings (ConfigMap data, Helm values passed as text) look
/// like comments to a reader but are string content to YAML, and Flux never sees them.
fn find_markers_in_block_scalars(text: &str, yaml: &YamlFile, found: &mut FileMarkers) {
    for node in &yaml.nodes {
        let NodeKind::Scalar { style, .. } = &node.kind else {
            continue;
        };
        if !style.is_block() || !mentions_marker(text[node.span.range()].as_bytes()) {
            continue;
        }
        let mut line_start = node.span.start;
        for line in text[node.span.range()].split_inclusive('\n') {
            if let Some(hash) = line.find('#') {
                if let Some(Ok(setter)) = parse_comment(line[hash + 1..].trim_end()) {
                    let start = line_start + hash;
                    found.markers.push(Marker {
                        span: Span::new(start, line_start + line.trim_end().len()),
                        setter_text: format!("{}{}", setter.policy, setter.kind.suffix()),
                        setter,
                        placement: Placement::Ignored(Ignored::BlockScalar),
                    });
                }
            }
            line_start += line.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn setter(comment: &str) -> Result<Setter, String> {
        parse_comment(comment)
            .unwrap()
            .map_err(|(reason, _)| reason)
    }

    #[test]
    fn grammar_accepts_what_flux_accepts() {
        let ok = |c: &str, ns: &str, name: &str, kind| {
            let s = setter(c).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(
                (s.policy.namespace.as_str(), s.policy.name.as_str(), s.kind),
                (ns, name, kind),
                "{c}"
            );
        };
        ok(
            r#" {"$imagepolicy": "flux-system:app"}"#,
            "flux-system",
            "app",
            SetterKind::Image,
        );
        ok(r#"{"$imagepolicy":"ns:p:tag"}"#, "ns", "p", SetterKind::Tag);
        ok(
            r#"# {"$imagepolicy": "ns:p:name"}"#,
            "ns",
            "p",
            SetterKind::Name,
        );
        ok(
            r#"  { "$imagepolicy" : "ns:p:digest" , "note": "x" }  "#,
            "ns",
            "p",
            SetterKind::Digest,
        );
        ok(
            r##" {"$ref": "#/definitions/io.k8s.cli.setters.ns:p:tag"}"##,
            "ns",
            "p",
            SetterKind::Tag,
        );
    }

    #[test]
    fn grammar_rejects_what_flux_ignores() {
        for comment in [
            r#" {'$imagepolicy': 'ns:p'}"#,
            r#" {"$imagepolicy": "ns:p", "n": 1}"#,
            r#" {"$imagepolicy": "ns:p"} trailing"#,
            r#" {"$imagepolicy": "ns/p"}"#,
            r#" {"$imagepolicy": "p"}"#,
            r#" {"$imagepolicy": "ns:p:Tag"}"#,
            r#" {"$imagepolicy": ""}"#,
            r#" {"$ImagePolicy": "ns:p"}"#,
            r#" {"$imagepolicy": "ns:p:tag:x"}"#,
        ] {
            assert!(setter(comment).is_err(), "{comment}");
        }
        assert!(parse_comment(" an ordinary comment").is_none());
    }

    fn placements(text: &str) -> Vec<(String, Result<String, Ignored>)> {
        let source = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.into());
        let yaml = YamlFile::parse(&source).unwrap();
        find_markers(text, &yaml)
            .markers
            .into_iter()
            .map(|m| {
                let placement = match m.placement {
                    Placement::Applied(v) => Ok(source.slice(v.span).to_string()),
                    Placement::Ignored(why) => Err(why),
                };
                (m.setter.policy.name, placement)
            })
            .collect()
    }

    #[test]
    fn placement_follows_kyaml() {
        let m = |name: &str| format!(r#"{{"$imagepolicy": "ns:{name}"}}"#);
        let text = format!(
            "a: r/a:1 # {a}\n# {b}\nb: r/b:1\nc:\n  # {c}\n  - r/c:1\n  - 'r/d:1' # {d}\ne: [r/e:1] # {e}\nf: |\n  r/f:1 # {f}\ng: &x r/g:1 # {g}\nh: *x # {h}\ni: # {i}\n  j: 1\nk:\n  # note\n  # {k}\n  - r/k:1\nl:\n  # {l}\n  - r/l:1 # other\n",
            a = m("a"), b = m("b"), c = m("c"), d = m("d"), e = m("e"), f = m("f"), g = m("g"), h = m("h"), i = m("i"), k = m("k"), l = m("l"),
        );
        let found = placements(&text);
        let expect: Vec<(&str, Result<&str, Ignored>)> = vec![
            ("a", Ok("r/a:1")),
            ("b", Err(Ignored::HeadOfKey)),
            ("c", Ok("r/c:1")),
            ("d", Ok("'r/d:1'")),
            ("e", Err(Ignored::FlowCollection)),
            ("f", Err(Ignored::BlockScalar)),
            ("g", Ok("r/g:1")),
            ("h", Err(Ignored::OnAlias)),
            ("i", Err(Ignored::OnKey)),
            ("k", Err(Ignored::MultiLineHead)),
            ("l", Err(Ignored::HiddenByLineComment)),
        ];
        let found: Vec<(&str, Result<&str, Ignored>)> = found
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_ref().map(|s| s.as_str()).map_err(|e| *e)))
            .collect();
        assert_eq!(found, expect);
    }
}
