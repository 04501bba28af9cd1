//! `$imagepolicy` setter markers: the grammar Flux accepts (kyaml's short-hand JSON and the long
//! `$ref` form), and the placement rule that decides whether Flux applies a marker or silently
//! ignores it. A comment that mentions `$imagepolicy` but is not a marker is reported as such.

use std::fmt;

use smol_str::SmolStr;

use super::yaml::{Attachment, NodeId, NodeKind, Role, Style, YamlFile};
use crate::source::{SourceFile, Span};

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

/// `namespace:name` of an ImagePolicy. Every marker holds one until the run ends: names and
/// namespaces are nearly always short enough for a `SmolStr` to hold in place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyRef {
    pub namespace: SmolStr,
    pub name: SmolStr,
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
            namespace: namespace.into(),
            name: name.into(),
        })
    }
}

/// How a marked value fails to have the shape its marker replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeMismatch {
    /// A `:tag` marker on something with `/`, `:` or `@`.
    TagOnImage,
    /// A `:tag` marker on a whole reference (`name:tag`) in a tag field: the marker is the
    /// field's, and its rewrite leaves the bare tag the field needs (a full marker's leftover).
    ImageInTagField { tag: String },
    /// A `:tag` marker on a tag pinned to a digest (`6.5.0@sha256:…`, as charts take in a tag
    /// field): Flux writes a bare tag, which still resolves, and the pin is lost.
    TagWithDigest,
    /// A `:tag` marker on text that is not a tag (`KEY=value`).
    NotATag,
    /// A `:name` marker on a value with a tag or digest.
    NameWithTag,
    /// A `:tag` marker on an image's name in a field named for it (a chart's `repository`,
    /// kustomize's `newName`): Flux writes a bare tag where the name goes.
    TagOnNameField,
    /// A `:name` marker on a tag in a field named for it (`tag: sha-4500bf8`, kustomize's
    /// `newTag`): Flux writes the image's name where the tag goes.
    NameOnTagField,
    /// A `:name` marker on a whole reference (`name:tag`) in a name field (kustomize's
    /// `newName`, a chart's `image.repository`): the marker is the field's, and its rewrite
    /// leaves the bare name the field needs.
    ImageInNameField { name: String },
    /// Not parseable as an image reference (`:name` or full marker); the reason.
    NotAnImage(String),
    /// A `:digest` marker on something that is not `sha256:<64 hex>`.
    NotADigest,
    /// A `:digest` marker on a digest field holding a placeholder (`placeholder`): the whole
    /// value is the digest's place, and the automation's first run writes one there.
    DigestPlaceholder,
    /// A full marker on a bare version (`0.1.8`, `v2.3.0`), such as a chart's `spec.version`:
    /// Flux would write a whole `registry/name:tag` into it.
    VersionNotImage,
    /// A full marker on a word in a tag field (`tag: main-92c585e`): the same, where the word
    /// could also be an image name.
    TagNotImage,
    /// A full marker on a whole reference in a tag field (`newTag: org/app:v1.0.3`): what the
    /// marker wrote there, which kustomize or the chart puts after the image's name
    /// (`org/app:org/app:v1.0.3`), at every update. The tag it holds, for the help.
    FullImageInTagField { tag: String },
    /// A full marker on an image without tag or digest: valid, but means `latest` for now.
    Untagged,
    /// A full marker on a kustomize `images` entry's `name`: the `name:tag` Flux writes there
    /// matches no container, and the entry stops applying.
    ImageInImagesEntryName,
    /// A `:tag` or `:digest` marker on a container's `image`, which Kubernetes reads as a whole
    /// reference: Flux writes a bare tag or digest there, whatever the value holds now.
    PartForContainerImage,
}

impl ShapeMismatch {
    /// Whether Flux's rewrite would destroy data (everything but an untagged image).
    pub fn is_destructive(&self) -> bool {
        !matches!(
            self,
            ShapeMismatch::Untagged | ShapeMismatch::DigestPlaceholder
        )
    }
}

/// Checks that a value has the shape its marker kind replaces.
pub fn shape_mismatch(kind: SetterKind, text: &str) -> Option<ShapeMismatch> {
    use crate::flux::image::{is_valid_digest, is_valid_tag, ImageRef};
    match kind {
        SetterKind::Tag
            if text
                .split_once('@')
                .is_some_and(|(tag, digest)| is_valid_tag(tag) && is_valid_digest(digest)) =>
        {
            Some(ShapeMismatch::TagWithDigest)
        }
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
        SetterKind::Image if looks_like_version(text) => Some(ShapeMismatch::VersionNotImage),
        SetterKind::Image => match ImageRef::parse(text) {
            Err(error) => Some(ShapeMismatch::NotAnImage(error.to_string())),
            Ok(image) if image.tag.is_none() && image.digest.is_none() => {
                Some(ShapeMismatch::Untagged)
            }
            Ok(_) => None,
        },
    }
}

/// A version number rather than an image name: digits and dots, optionally after a `v` and
/// before a `-`/`+` suffix (`0.1.8`, `v2.3.0-rc.1`). Image names hardly ever start so.
fn looks_like_version(text: &str) -> bool {
    let unprefixed = text.strip_prefix('v').unwrap_or(text);
    let core = unprefixed.split(['-', '+']).next().unwrap_or_default();
    !core.is_empty()
        && core
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        && crate::flux::image::is_valid_tag(text)
}

/// A marker Flux's grammar accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setter {
    pub policy: PolicyRef,
    pub kind: SetterKind,
}

/// As a marker writes it: `namespace:name` and the kind's suffix.
impl fmt::Display for Setter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.policy, self.kind.suffix())
    }
}

/// What a file must hold for image-automation-controller to read it: the short form's key,
/// quoted (its `filereader.go`, from fluxcd/image-automation-controller 8eec8c0). Built once:
/// every file with markers is searched for it.
static FILE_TOKEN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| {
        memchr::memmem::Finder::new(&format!("\"{SHORT_HAND_KEY}\"")).into_owned()
    });

/// Why Flux will not apply a syntactically valid marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    HeadOfKey,
    MultiLineHead,
    HiddenByLineComment,
    FlowCollection,
    BlockScalar,
    OnKey,
    /// `key: # {…}` with nothing after the colon.
    OnEmptyValue,
    OnMap,
    OnSequence,
    OnAlias,
    Detached,
    /// The file has a document that is a list or a plain value, not a mapping.
    FileNotMapping,
    /// The file has a document whose `metadata` is a list or a plain value.
    FileMetadataNotMapping,
    /// The file holds markers of the long form (`$ref`) only: no `"$imagepolicy"`.
    FileWithoutToken,
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
            Ignored::OnEmptyValue => "the key has no value: YAML gives the marker to the key, and Flux writes only into values",
            Ignored::OnMap => "the marker is attached to a mapping, not to a scalar",
            Ignored::OnSequence => "the marker is attached to a sequence, not to a scalar",
            Ignored::OnAlias => "the marker follows an alias (`*name`); Flux does not rewrite through aliases",
            Ignored::Detached => "the marker is not attached to any value (blank line or end of block in between)",
            Ignored::FileNotMapping => "a document of this file is a list or a plain value, not a mapping, so Flux's image automation cannot read the file and skips all of it",
            Ignored::FileMetadataNotMapping => "a document of this file has a `metadata` that is a list or a plain value, so Flux's image automation cannot read the file and skips all of it",
            Ignored::FileWithoutToken => "Flux's image automation reads only the files that hold `\"$imagepolicy\"`, and this one holds markers of the long form (`$ref`) alone, so it skips all of it",
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
            Ignored::OnEmptyValue => {
                "write the current value before the marker (`tag: 1.0.0 # {\"$imagepolicy\": \"ns:policy:tag\"}`); Flux replaces it"
            }
            Ignored::FileNotMapping => {
                "make every document of the file a mapping, e.g. put the list under a key (`tags:`); Flux updates a mapping with or without `apiVersion` and `kind`"
            }
            Ignored::FileMetadataNotMapping => {
                "make `metadata` a mapping, or give the field another name"
            }
            Ignored::FileWithoutToken => {
                "write the markers in the short form: `# {\"$imagepolicy\": \"ns:policy\"}`"
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
    /// What the field is, where that decides what its marker may write.
    pub field: Field,
}

/// A marked value's field, where its kind tells what the value must be beside its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Other,
    /// A container's `image` (see [`container_images`]), which Kubernetes reads as a whole
    /// reference; found only for the `:tag` and `:digest` markers, the ones it matters to.
    ContainerImage,
    /// A key named for a tag (`imageTag`, `image_tag`): a chart or kustomize puts the value
    /// after an image name.
    Tag,
    /// `tag` (a chart's `image.tag`) or kustomize's `newTag`: put after the image's name, as
    /// the three public repositories whose full marker wrote a whole reference there show
    /// (`org/app:org/app:v1.0.3`). A key that only ends so (`imageTag`) may hold a whole
    /// reference in some chart.
    TagAfterName,
    /// A key named for a digest (`digest`, `imageDigest`; kustomize's `images[].digest`).
    Digest,
    /// A key named for an image's name (`newName`, `imageName`, `repository`): a chart or
    /// kustomize puts a tag after it.
    Name,
    /// The `name` of a kustomize `images` entry (a kustomization's, or a Flux Kustomization's
    /// `spec.images`), which kustomize matches container images by; found only for full markers.
    ImagesEntryName,
}

impl MarkedValue {
    /// How the value fails to have the shape a marker of `kind` replaces, if it does: as text
    /// (see [`shape_mismatch`]), and where the text passes, or is only an untagged name, as the
    /// field it is in.
    pub fn mismatch(&self, kind: SetterKind) -> Option<ShapeMismatch> {
        let shape = shape_mismatch(kind, &self.value);
        let by_field = match (self.field, kind, &shape) {
            (Field::ImagesEntryName, SetterKind::Image, _) => {
                Some(ShapeMismatch::ImageInImagesEntryName)
            }
            (Field::ContainerImage, SetterKind::Tag | SetterKind::Digest, None) => {
                Some(ShapeMismatch::PartForContainerImage)
            }
            // A tag field's value that no image name can be (`RELEASE.2020-12-03T05-49-24Z`:
            // capitals) is still a tag field's value first.
            (
                Field::Tag | Field::TagAfterName,
                SetterKind::Image,
                Some(ShapeMismatch::Untagged),
            ) => Some(ShapeMismatch::TagNotImage),
            (
                Field::Tag | Field::TagAfterName,
                SetterKind::Image,
                Some(ShapeMismatch::NotAnImage(_)),
            ) if crate::flux::image::is_valid_tag(&self.value) => Some(ShapeMismatch::TagNotImage),
            (Field::TagAfterName, SetterKind::Image, None) => {
                crate::flux::image::ImageRef::parse(&self.value)
                    .ok()
                    .and_then(|image| image.tag)
                    .map(|tag| ShapeMismatch::FullImageInTagField { tag })
            }
            (
                Field::Tag | Field::TagAfterName,
                SetterKind::Tag,
                Some(ShapeMismatch::TagOnImage),
            ) => crate::flux::image::ImageRef::parse(&self.value)
                .ok()
                .and_then(|image| image.tag)
                .map(|tag| ShapeMismatch::ImageInTagField { tag }),
            (Field::Name, SetterKind::Tag, Some(ShapeMismatch::TagOnImage)) => {
                Some(ShapeMismatch::TagOnNameField)
            }
            (Field::Tag | Field::TagAfterName, SetterKind::Name, None) => {
                Some(ShapeMismatch::NameOnTagField)
            }
            (Field::Name, SetterKind::Name, Some(ShapeMismatch::NameWithTag)) => {
                crate::flux::image::ImageRef::parse(&self.value)
                    .ok()
                    .map(|image| ShapeMismatch::ImageInNameField {
                        name: image.written_name,
                    })
            }
            // Left empty for the automation to fill: nothing is lost, nothing breaks.
            (Field::Digest, SetterKind::Digest, Some(_)) if self.value.is_empty() => return None,
            (Field::Digest, SetterKind::Digest, Some(_)) => Some(ShapeMismatch::DigestPlaceholder),
            _ => None,
        };
        by_field.or(shape)
    }
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
    pub setter: Setter,
    pub placement: Placement,
    /// For an ignored marker written for a value that Flux applies another marker to
    /// (`# {…}` above `value: x # {…}`): that marker's setter. When it is this one's, this is a
    /// copy, and Flux loses nothing by ignoring it. Boxed: few markers have one, and every
    /// marker is kept until the run ends.
    pub beside_applied: Option<Box<Setter>>,
}

impl Marker {
    fn new(span: Span, setter: Setter, placement: Placement) -> Marker {
        Marker {
            span,
            setter,
            placement,
            beside_applied: None,
        }
    }

    /// An ignored copy of the marker Flux applies to the same value: nothing of its own.
    pub fn repeats_applied(&self) -> bool {
        self.beside_applied.as_deref() == Some(&self.setter)
    }
}

/// A marker attempt that Flux does not read as a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerSyntaxError {
    pub span: Span,
    pub reason: String,
    pub help: String,
    /// The policy the attempt names, read leniently (`flux-system/app` gives `flux-system:app`).
    pub intended_policy: Option<String>,
}

/// A YAML line disabled by commenting it out, its marker included
/// (`# image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentedOutMarker {
    /// The comment, `#` included.
    pub span: Span,
}

/// A file's markers and marker attempts, kept until the run ends: each list at its size.
#[derive(Debug, Default)]
pub struct FileMarkers {
    pub markers: Box<[Marker]>,
    pub syntax_errors: Box<[MarkerSyntaxError]>,
    pub commented_out: Box<[CommentedOutMarker]>,
}

/// Cheap test for whether a text mentions markers: `$imagepolicy` in any case, or the long
/// form's `io.k8s.cli.setters.`.
pub fn mentions_marker(text: &[u8]) -> bool {
    let key = &SHORT_HAND_KEY.as_bytes()[1..];
    memchr::memchr_iter(b'$', text).any(|i| {
        text.get(i + 1..i + 1 + key.len())
            .is_some_and(|word| word.eq_ignore_ascii_case(key))
    }) || LONG_FORM.find(text).is_some()
}

/// Built once: every file of the walk is searched for it.
static LONG_FORM: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("io.k8s.cli.setters."));

/// Cheap test for whether a file may hold a marker attempt: it mentions markers, or one of its
/// comments opens a JSON-like object (which may be a misspelt marker such as `{"$imagepolcy": …}`).
pub fn may_hold_marker(text: &[u8]) -> bool {
    mentions_marker(text)
        || memchr::memchr_iter(b'#', text).any(|i| {
            let rest = &text[i..];
            let skipped = rest
                .iter()
                .position(|&b| b != b'#' && b != b' ' && b != b'\t')
                .map_or(rest.len(), |n| n);
            opens_object(&rest[skipped..])
        })
}

/// `{`, or a quote then `{`: how a marker attempt starts once its `#`s and spaces are gone.
fn opens_object(text: &[u8]) -> bool {
    matches!(text, [b'{', ..] | [b'"' | b'\'', b'{', ..])
}

/// What a comment is to Flux's image automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentKind {
    /// Not about markers: any other comment, including prose that mentions `$imagepolicy`.
    Other,
    /// A marker attempt, and Flux's verdict on it: the setter, or why Flux ignores it.
    Attempt(Result<Setter, (String, String)>),
    /// A commented-out line (or marker) that carries a marker: disabled on purpose.
    CommentedOut,
}

/// Classifies a comment's text (after the first `#`).
///
/// A marker attempt is a comment whose text, after its leading `#`s and spaces, opens an object
/// (`{`, or a quote then `{`) holding the key `$imagepolicy`, a `$ref` to a setter definition, or
/// a near miss of either, in any key order. A `key: value` or `- value` line carrying its own
/// trailing marker is commented-out code, as is a marker behind a second `#` (`# # {…}`).
/// Everything else is prose, however often it says `$imagepolicy`.
pub fn classify_comment(text: &str) -> CommentKind {
    let after_hashes = text.trim_start_matches('#');
    let stripped = after_hashes.trim_start_matches(['#', ' ', '\t']);
    let behind_second_hash = after_hashes
        .trim_start_matches([' ', '\t'])
        .starts_with('#');
    if is_marker_attempt(stripped) {
        if behind_second_hash {
            return CommentKind::CommentedOut;
        }
        // kyaml strips every leading `#` and hands the rest to Go's JSON decoder.
        return CommentKind::Attempt(parse_setter_json(after_hashes));
    }
    if is_commented_out_line(stripped) {
        return CommentKind::CommentedOut;
    }
    CommentKind::Other
}

fn is_marker_attempt(text: &str) -> bool {
    if !opens_object(text.as_bytes()) {
        return false;
    }
    let object = text.trim_start_matches(['"', '\'']);
    lenient_entries(object).iter().any(|(key, value)| {
        key_near(key, SHORT_HAND_KEY) || (key_near(key, "$ref") && names_setter(value.as_deref()))
    })
}

/// The `namespace:name` (or bare name) a marker attempt means, however broken its syntax.
fn intended_policy(text: &str) -> Option<String> {
    let object = text.trim_start_matches(['#', ' ', '\t', '"', '\'']);
    let entries = lenient_entries(object);
    let named = |wanted: &str| {
        entries
            .iter()
            .find(|(key, value)| key_near(key, wanted) && value.is_some())
            .and_then(|(_, value)| value.clone())
    };
    let setter = named(SHORT_HAND_KEY).or_else(|| {
        let reference = named("$ref")?;
        let at = reference.find("setters.")? + "setters.".len();
        Some(reference[at..].to_string())
    })?;
    let mut parts = setter.split([':', '/']).filter(|part| !part.is_empty());
    let first = parts.next()?;
    Some(match parts.next() {
        Some(name) => format!("{first}:{name}"),
        None => first.to_string(),
    })
}

/// Whether a `$ref`'s value points, or tries to point, at a setter definition.
fn names_setter(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.contains("setters") || v.contains("io.k8s.cli"))
}

/// A key that is `wanted` or a near miss of it: another case, `$` missing, `-` or `_` inside, or
/// a typo of up to two letters (a third of the word) for the longer keys.
fn key_near(key: &str, wanted: &str) -> bool {
    // Every well-formed marker: no need to spell the words out.
    if key == wanted {
        return true;
    }
    fn letters(text: &str) -> impl Iterator<Item = char> + '_ {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
    }
    let wanted: Vec<char> = letters(wanted).collect();
    // Two edits cannot bridge a longer difference in length, so a long key is read no further.
    let key: Vec<char> = letters(key).take(wanted.len() + 3).collect();
    key == wanted
        || (wanted.len() > 6
            && key.len().abs_diff(wanted.len()) <= 2
            && strsim::generic_levenshtein(&key, &wanted) <= 2)
}

/// A `key: value` or `- value` YAML line ending in a marker attempt of its own.
fn is_commented_out_line(text: &str) -> bool {
    // Only the first few ` #` that open an object are tried: a line holds one comment, and a
    // hostile one must not cost more than a few passes.
    const CANDIDATES: usize = 8;
    let has_trailing_attempt = text
        .match_indices(" #")
        .map(|(at, _)| text[at + 2..].trim_start_matches(['#', ' ', '\t']))
        .filter(|comment| opens_object(comment.as_bytes()))
        .take(CANDIDATES)
        .any(is_marker_attempt);
    if !has_trailing_attempt {
        return false;
    }
    let source = SourceFile::new(String::new(), text.to_string());
    let Ok(yaml) = YamlFile::parse(&source) else {
        return false;
    };
    yaml.comments.len() == 1 && is_line_comment_on_value(&yaml, &yaml.comments[0])
}

/// Whether a comment follows a scalar value (or list item) on its own line: where a marker is.
fn is_line_comment_on_value(yaml: &YamlFile, comment: &super::yaml::Comment) -> bool {
    match comment.attachment {
        Attachment::Line(id) => {
            let node = yaml.node(id);
            matches!(node.kind, NodeKind::Scalar { .. })
                && matches!(node.role, Role::Value | Role::Item)
                && !node.span.is_empty()
        }
        _ => false,
    }
}

/// The entries of the object that `text` opens, read leniently (single quotes, bare words, text
/// after the closing brace), each key with its value when it has one.
fn lenient_entries(text: &str) -> Vec<(String, Option<String>)> {
    let mut entries = Vec::new();
    let Some(mut rest) = text.strip_prefix('{') else {
        return entries;
    };
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('}') {
            break;
        }
        let (key, after_key) = lenient_token(rest, &[':', ',', '}']);
        rest = after_key.trim_start();
        let value = match rest.strip_prefix(':') {
            Some(after_colon) => {
                let (value, after_value) = lenient_token(after_colon.trim_start(), &[',', '}']);
                rest = after_value.trim_start();
                Some(value)
            }
            None => None,
        };
        entries.push((key, value));
        match rest.strip_prefix(',') {
            Some(after_comma) => rest = after_comma,
            None => break,
        }
    }
    entries
}

/// A quoted string (its contents) or a bare word up to one of `stops`, and the text after it.
fn lenient_token<'t>(text: &'t str, stops: &[char]) -> (String, &'t str) {
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &text[1..];
        let mut escaped = false;
        for (at, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == quote => return (body[..at].to_string(), &body[at + 1..]),
                _ => {}
            }
        }
        return (body.to_string(), "");
    }
    let end = text.find(stops).unwrap_or(text.len());
    (text[..end].trim_end().to_string(), &text[end..])
}

fn parse_setter_json(body: &str) -> Result<Setter, (String, String)> {
    let example = r#"write it as `# {"$imagepolicy": "<namespace>:<policy>"}`"#;
    let trimmed = body.trim();
    if trimmed.starts_with(['"', '\'']) {
        return Err((
            "the marker is wrapped in quotes; Flux reads the comment itself as JSON, so it must start with `{`".to_string(),
            example.to_string(),
        ));
    }
    let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(body) {
        Ok(object) => object,
        Err(error) => {
            let reason = if trimmed.contains('\'') && !trimmed.contains('"') {
                "the marker uses single quotes; Flux parses it as JSON, which needs double quotes"
                    .to_string()
            } else if let Some(close) = trimmed.rfind('}').filter(|&i| i + 1 < trimmed.len()) {
                format!(
                    "text after the closing `}}` (`{}`) makes the comment invalid JSON, so Flux ignores it",
                    trimmed[close + 1..].trim()
                )
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
    let string = |key: &str| object.get(key).and_then(|v| v.as_str());
    // An empty short-hand value counts as absent: kyaml then falls back to the `$ref` form.
    let setter_text = if let Some(value) = string(SHORT_HAND_KEY).filter(|v| !v.is_empty()) {
        value.to_string()
    } else if let Some(reference) = string("$ref") {
        match reference.strip_prefix(LONG_FORM_PREFIX) {
            Some(rest) => rest.to_string(),
            None => {
                return Err((
                    format!("`$ref` must start with `{LONG_FORM_PREFIX}`"),
                    example.to_string(),
                ))
            }
        }
    } else if string(SHORT_HAND_KEY).is_some() {
        String::new()
    } else if let Some(key) = object.keys().find(|key| key_near(key, SHORT_HAND_KEY)) {
        let reason = if key.eq_ignore_ascii_case(SHORT_HAND_KEY) {
            format!(
                "the key `{key}` must be spelled `{SHORT_HAND_KEY}` (the key is case-sensitive)"
            )
        } else {
            format!("the key `{key}` is not `{SHORT_HAND_KEY}`, so Flux does not see a marker")
        };
        return Err((reason, example.to_string()));
    } else if let Some(key) = object.keys().find(|key| key_near(key, "$ref")) {
        return Err((
            format!("the key `{key}` must be spelled `$ref` for Flux to read the long form"),
            format!(r##"write it as `# {{"$ref": "{LONG_FORM_PREFIX}<namespace>:<policy>"}}`"##),
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
        if is_placeholder(text) {
            return Err((
                format!("`{text}` is a placeholder, not a policy: no ImagePolicy can be named in capitals, so Flux leaves this value alone"),
                "where Flux should update this value, name its policy as `\"<namespace>:<policy>\"`; in a base that overlays patch, their markers are the ones Flux reads".to_string(),
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
                "{UNKNOWN_SUFFIX} `:{other}`; Flux knows `:tag`, `:name` and `:digest` (lowercase)"
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
            namespace: parts[0].into(),
            name: parts[1].into(),
        },
        kind,
    })
}

const UNKNOWN_SUFFIX: &str = "unknown suffix";

/// The marker a value's shape calls for, as help: the first of the full marker, `:tag`,
/// `:name` and `:digest` whose replacement has the value's shape (sharonliao/fleet-infra's
/// `image: kingdonb/jenkins # {…:image}`, a name beside its own `tag:` field, takes `:name`;
/// `:tag` there would write a tag into the name). `None` where none fits.
fn suffix_fitting(value: &MarkedValue, policy: &str) -> Option<String> {
    let (_, suffix, shape) = [
        (
            SetterKind::Image,
            "",
            "a whole image reference (`name:tag`)",
        ),
        (SetterKind::Tag, ":tag", "a bare tag"),
        (SetterKind::Name, ":name", "an image name without tag"),
        (SetterKind::Digest, ":digest", "a digest"),
    ]
    .into_iter()
    .find(|(kind, _, _)| value.mismatch(*kind).is_none())?;
    Some(format!(
        "write `\"{policy}{suffix}\"`: the value `{}` is {shape}, which that marker replaces",
        value.value
    ))
}

/// A template slot left for each overlay to fill (`REPLACE_WITH_OVERLAY_POLICY`): capitals,
/// digits and `_`, which no Kubernetes name can hold (lowercase DNS names), so no policy's.
pub fn is_placeholder(setter: &str) -> bool {
    setter.bytes().any(|b| b.is_ascii_uppercase())
        && setter
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Finds every marker of a parsed file and decides, as kyaml would, whether Flux applies it.
/// Linear in comments and nodes: what placement needs of the other comments is counted once.
pub fn find_markers(text: &str, yaml: &YamlFile) -> FileMarkers {
    let mut markers = Vec::new();
    let mut syntax_errors = Vec::new();
    let mut commented_out = Vec::new();
    let mut neighbours = None;
    let mut attachments = Vec::new();
    for comment in &yaml.comments {
        let setter = match classify_comment(comment.text(yaml)) {
            CommentKind::Other => {
                syntax_errors.extend(prefixed_marker(yaml, comment));
                continue;
            }
            CommentKind::CommentedOut => {
                commented_out.push(CommentedOutMarker { span: comment.span });
                continue;
            }
            CommentKind::Attempt(Err((reason, help))) => {
                let intended = intended_policy(comment.text(yaml));
                // An unknown suffix: the one the marked value's shape calls for, where one does.
                let fitting = (reason.starts_with(UNKNOWN_SUFFIX))
                    .then(|| {
                        let neighbours =
                            neighbours.get_or_insert_with(|| CommentNeighbours::of(yaml));
                        let Placement::Applied(value) =
                            placement_of(yaml, neighbours, comment.attachment)
                        else {
                            return None;
                        };
                        suffix_fitting(&value, intended.as_deref()?)
                    })
                    .flatten();
                syntax_errors.push(MarkerSyntaxError {
                    span: comment.span,
                    reason,
                    help: fitting.unwrap_or(help),
                    intended_policy: intended,
                });
                continue;
            }
            CommentKind::Attempt(Ok(setter)) => setter,
        };
        let neighbours = neighbours.get_or_insert_with(|| CommentNeighbours::of(yaml));
        let placement = placement_of(yaml, neighbours, comment.attachment);
        markers.push(Marker::new(comment.span, setter, placement));
        attachments.push(comment.attachment);
    }
    find_applied_beside(yaml, &mut markers, &attachments);
    mark_container_images(yaml, &mut markers);
    mark_images_entry_names(yaml, &mut markers);
    find_markers_in_block_scalars(text, yaml, &mut markers);
    syntax_errors.extend(markers_written_as_values(text, yaml));
    // Asked only of a file with markers: most parsed files hold none. image-automation-
    // controller looks for the quoted token in the bytes before it parses a file.
    let unreadable = (!markers.is_empty())
        .then(|| {
            if FILE_TOKEN.find(text.as_bytes()).is_none() {
                Some(Ignored::FileWithoutToken)
            } else {
                unreadable_by_automation(yaml)
            }
        })
        .flatten();
    if let Some(why) = unreadable {
        // Where a marker sits in a file Flux never reads is beside the point.
        for marker in &mut markers {
            marker.placement = Placement::Ignored(why);
            marker.beside_applied = None;
        }
    }
    markers.sort_by_key(|m| m.span);
    FileMarkers {
        markers: markers.into_boxed_slice(),
        syntax_errors: syntax_errors.into_boxed_slice(),
        commented_out: commented_out.into_boxed_slice(),
    }
}

/// Markers written as the value, without `#` (`semver: {"$imagepolicy": "apps:app:tag"}`,
/// ravichaudhary11/d2-apps): YAML reads a map there, so the field holds a map where its object
/// wants a value (the API server refuses it), and no marker exists. Looked for only where the
/// key appears outside every comment: in most files each appearance is a marker's.
fn markers_written_as_values(text: &str, yaml: &YamlFile) -> Vec<MarkerSyntaxError> {
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SHORT_HAND_KEY));
    let in_a_comment = |at: usize| {
        let after = yaml.comments.partition_point(|c| c.span.start <= at);
        after > 0 && at < yaml.comments[after - 1].span.end
    };
    if KEY.find_iter(text.as_bytes()).all(in_a_comment) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for id in 0..yaml.node_count() {
        let id = id as NodeId;
        let key = yaml.node(id);
        if key.role != Role::Key || yaml.scalar(id) != Some(SHORT_HAND_KEY) {
            continue;
        }
        // The map that holds the key: the nearest node before it whose span holds it (nodes are
        // numbered in the order of the text).
        let Some(map) = (0..id).rev().map(|m| yaml.node(m)).find(|m| {
            matches!(m.kind, NodeKind::Map { .. })
                && m.span.start <= key.span.start
                && key.span.end <= m.span.end
        }) else {
            continue;
        };
        let written = text[map.span.range()].trim_end();
        found.push(MarkerSyntaxError {
            span: Span::new(map.span.start, map.span.start + written.len()),
            reason: format!("`{written}` is a marker written as the value, without `#`: YAML reads a map here, so the field holds a map and no marker exists"),
            help: format!("write the value, then the marker as a comment after it: `key: value # {written}`"),
            intended_policy: intended_policy(written),
        });
    }
    found
}

/// A well-formed marker after some words on the comment of a value
/// (`image: app:1 # Image Policy {"$imagepolicy": "ns:app"}`): kyaml hands the whole comment to
/// the JSON decoder, which fails on the words, so Flux never updates the value. Anywhere else,
/// with text after the `}` too, or behind a `TODO`, such a comment is prose.
fn prefixed_marker(yaml: &YamlFile, comment: &super::yaml::Comment) -> Option<MarkerSyntaxError> {
    if !is_line_comment_on_value(yaml, comment) {
        return None;
    }
    let text = comment.text(yaml);
    let open = text.find('{')?;
    let words = text[..open].trim_matches(['#', ' ', '\t']);
    let object = text[open..].trim_end();
    let well_formed = || object.ends_with('}') && parse_setter_json(object).is_ok();
    // `# TODO: ### {…}`: a marker left off on purpose, for later.
    let left_off = words.contains('#')
        || ["TODO", "FIXME", "XXX"].iter().any(|word| {
            words
                .get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
        });
    if words.is_empty() || left_off || !is_marker_attempt(object) || !well_formed() {
        return None;
    }
    Some(MarkerSyntaxError {
        span: comment.span,
        reason: format!(
            "text before the `{{` (`{words}`) makes the comment invalid JSON, so Flux ignores the marker"
        ),
        help: format!("move `{words}` to a comment of its own line, and leave only `# {object}` here"),
        intended_policy: intended_policy(object),
    })
}

/// Finds the containers' images among the values of the `:tag` and `:digest` markers Flux
/// applies, and of full markers on a value with a space (no reference: a Dockerfile's
/// `FROM ghcr.io/org/app:1.0` pasted in); the tree is searched only in a file that has one.
fn mark_container_images(yaml: &YamlFile, markers: &mut [Marker]) {
    let asks_its_field = |marker: &Marker| match &marker.placement {
        Placement::Applied(value) => match marker.setter.kind {
            SetterKind::Tag | SetterKind::Digest => true,
            SetterKind::Image => value.value.contains(' '),
            _ => false,
        },
        _ => false,
    };
    if !markers.iter().any(asks_its_field) {
        return;
    }
    // Sorted, to be searched: a file may hold as many images as markers.
    let mut images: Vec<Span> = container_images(yaml)
        .into_iter()
        .map(|id| yaml.node(id).span)
        .collect();
    images.sort_unstable();
    for marker in markers.iter_mut() {
        if let Placement::Applied(value) = &mut marker.placement {
            if images.binary_search(&value.span).is_ok() {
                value.field = Field::ContainerImage;
            }
        }
    }
}

/// Marks the full markers on the `name` of a kustomize `images` entry: an item of a
/// kustomization's `images`, or of a Flux Kustomization's `spec.images`, that also holds
/// `newTag`, `newName` or `digest` (the schoolofdevops "instavote" Flux lab marks `name`).
fn mark_images_entry_names(yaml: &YamlFile, markers: &mut [Marker]) {
    let is_full = |marker: &Marker| {
        marker.setter.kind == SetterKind::Image && matches!(marker.placement, Placement::Applied(_))
    };
    if !markers.iter().any(is_full) {
        return;
    }
    let mut names: Vec<Span> = Vec::new();
    for &root in &yaml.documents {
        for images in [
            yaml.get(root, "images"),
            yaml.path(root, &["spec", "images"]),
        ] {
            let items = images.map_or(&[][..], |images| yaml.items(images));
            for &item in items {
                let overrides = ["newTag", "newName", "digest"];
                if overrides.iter().any(|key| yaml.get(item, key).is_some()) {
                    names.extend(yaml.get(item, "name").map(|name| yaml.node(name).span));
                }
            }
        }
    }
    for marker in markers
        .iter_mut()
        .filter(|marker| marker.setter.kind == SetterKind::Image)
    {
        if let Placement::Applied(value) = &mut marker.placement {
            if names.contains(&value.span) {
                value.field = Field::ImagesEntryName;
            }
        }
    }
}

/// The `image` scalars of the items of every `containers`, `initContainers` and
/// `ephemeralContainers` list, at any depth (pod templates, a CronJob's job template, custom
/// resources that embed a pod spec): Kubernetes reads each as a whole image reference. Not in a
/// HelmRelease, whose values mean what its chart makes of them.
fn container_images(yaml: &YamlFile) -> Vec<NodeId> {
    let mut found = Vec::new();
    let mut pending: Vec<NodeId> = yaml
        .documents
        .iter()
        .copied()
        .filter(|&root| yaml.path_str(root, &["kind"]) != Some("HelmRelease"))
        .collect();
    while let Some(id) = pending.pop() {
        for (key, value) in yaml.entries(id) {
            if matches!(
                yaml.scalar(key),
                Some("containers" | "initContainers" | "ephemeralContainers")
            ) {
                let items = yaml.items(value).iter();
                found.extend(items.filter_map(|&item| yaml.get(item, "image")));
            }
            pending.push(value);
        }
        pending.extend_from_slice(yaml.items(id));
    }
    found
}

/// Why Flux's image automation skips the whole file, if it does. It reads each file with kyaml's
/// `kio.ByteReader`, which adds its annotations (`metadata.annotations`) to every document that
/// is not null. A document that takes none (a list or a plain value, at the top or as its
/// `metadata`) fails the read of the file, and image-automation-controller's reader passes over
/// a file it cannot read without a word. A mapping needs no `apiVersion` or `kind`.
fn unreadable_by_automation(yaml: &YamlFile) -> Option<Ignored> {
    let takes_annotations = |id: NodeId| match yaml.node(id).kind {
        NodeKind::Seq { .. } => false,
        NodeKind::Scalar { .. } => yaml.is_null(id),
        // An alias (`metadata: *meta`) is given the benefit of the doubt: no repository shows one.
        NodeKind::Map { .. } | NodeKind::Alias => true,
    };
    yaml.documents.iter().find_map(|&root| {
        if !takes_annotations(root) {
            return Some(Ignored::FileNotMapping);
        }
        let metadata = yaml.get(root, "metadata")?;
        (!takes_annotations(metadata)).then_some(Ignored::FileMetadataNotMapping)
    })
}

/// Per node, how many own-line comments sit above it and whether it has a same-line comment.
struct CommentNeighbours {
    head_comments: Vec<u32>,
    has_line_comment: Vec<bool>,
}

impl CommentNeighbours {
    fn of(yaml: &YamlFile) -> CommentNeighbours {
        let mut neighbours = CommentNeighbours {
            head_comments: vec![0; yaml.node_count()],
            has_line_comment: vec![false; yaml.node_count()],
        };
        for comment in &yaml.comments {
            match comment.attachment {
                Attachment::Head(id) => neighbours.head_comments[id as usize] += 1,
                Attachment::Line(id) => neighbours.has_line_comment[id as usize] = true,
                Attachment::InFlow(_) | Attachment::Detached => {}
            }
        }
        neighbours
    }
}

fn placement_of(
    yaml: &YamlFile,
    neighbours: &CommentNeighbours,
    attachment: Attachment,
) -> Placement {
    let target = match attachment {
        // yaml.v3 gives the comment after `key:` to the key when no value follows on the line;
        // the null read there is a node with no text.
        Attachment::Line(id)
            if yaml.node(id).role == Role::Value && yaml.node(id).span.is_empty() =>
        {
            return Placement::Ignored(Ignored::OnEmptyValue)
        }
        Attachment::Line(id) => id,
        Attachment::Head(id) => {
            if neighbours.head_comments[id as usize] > 1 {
                return Placement::Ignored(Ignored::MultiLineHead);
            }
            if yaml.node(id).role == Role::Key {
                return Placement::Ignored(Ignored::HeadOfKey);
            }
            if neighbours.has_line_comment[id as usize] {
                return Placement::Ignored(Ignored::HiddenByLineComment);
            }
            id
        }
        Attachment::InFlow(_) => return Placement::Ignored(Ignored::FlowCollection),
        Attachment::Detached => return Placement::Ignored(Ignored::Detached),
    };
    let node = yaml.node(target);
    match node.kind {
        NodeKind::Scalar { .. } if node.role == Role::Key => Placement::Ignored(Ignored::OnKey),
        NodeKind::Scalar { value, style, .. } => {
            if style.is_block() {
                Placement::Ignored(Ignored::BlockScalar)
            } else {
                Placement::Applied(MarkedValue {
                    span: node.span,
                    value: value.to_string(),
                    style,
                    is_string: yaml.resolves_to_string(target),
                    field: field_of(yaml, target),
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

/// The field of a mapping value as its key names it (a scalar key is the node just before its
/// value: see [`YamlFile::value_of_key`]).
fn field_of(yaml: &YamlFile, value: NodeId) -> Field {
    let key = value
        .checked_sub(1)
        .filter(|&key| yaml.value_of_key(key) == Some(value));
    let named_for = |name: &str, part: &str| {
        name.get(name.len().saturating_sub(part.len())..)
            .is_some_and(|end| end.eq_ignore_ascii_case(part))
    };
    match key.and_then(|key| yaml.scalar(key)) {
        Some(name) if name.eq_ignore_ascii_case("tag") || name.eq_ignore_ascii_case("newTag") => {
            Field::TagAfterName
        }
        Some(name) if named_for(name, "tag") => Field::Tag,
        Some(name) if named_for(name, "digest") => Field::Digest,
        // `name` alone is a kustomize `images` entry's match key, or a container's.
        Some(name)
            if (named_for(name, "name") && name.len() > "name".len())
                || named_for(name, "repository") =>
        {
            Field::Name
        }
        _ => Field::Other,
    }
}

/// Sets `beside_applied` on the ignored markers (each with its comment's attachment) that stand
/// beside a value Flux applies a marker to. Such a value is the one a key's head or line comment
/// was written for, or the node whose own line comment hides a head comment.
fn find_applied_beside(yaml: &YamlFile, markers: &mut [Marker], attachments: &[Attachment]) {
    let node_of = |attachment: &Attachment| match *attachment {
        Attachment::Head(id) | Attachment::Line(id) => Some(id),
        Attachment::InFlow(_) | Attachment::Detached => None,
    };
    let written_for = |attachment: &Attachment| {
        let id = node_of(attachment)?;
        match yaml.node(id).role {
            Role::Key => yaml.value_of_key(id),
            _ => Some(id),
        }
    };
    let is_ignored = |marker: &Marker| matches!(marker.placement, Placement::Ignored(_));
    // Most files have no ignored marker: they need no index of the applied ones.
    if !markers.iter().any(is_ignored) {
        return;
    }
    // A node has at most one marker Flux applies: its line comment, else its only head comment.
    let applied: foldhash::HashMap<NodeId, &Setter> = markers
        .iter()
        .zip(attachments)
        .filter(|(marker, _)| !is_ignored(marker))
        .filter_map(|(marker, attachment)| Some((node_of(attachment)?, &marker.setter)))
        .collect();
    let beside: Vec<Option<Box<Setter>>> = markers
        .iter()
        .zip(attachments)
        .map(|(marker, attachment)| {
            let id = written_for(attachment).filter(|_| is_ignored(marker))?;
            applied.get(&id).map(|&setter| Box::new(setter.clone()))
        })
        .collect();
    for (marker, beside) in markers.iter_mut().zip(beside) {
        marker.beside_applied = beside;
    }
}

/// Markers written inside `|`/`>` strings (ConfigMap data, Helm values passed as text) look
/// like comments to a reader but are string content to YAML, and Flux never sees them.
fn find_markers_in_block_scalars(text: &str, yaml: &YamlFile, markers: &mut Vec<Marker>) {
    // A block scalar that mentions a marker is text that mentions one: most files have none,
    // and then their nodes need no visit.
    if !mentions_marker(text.as_bytes()) {
        return;
    }
    for span in yaml.block_scalar_spans() {
        if !mentions_marker(text[span.range()].as_bytes()) {
            continue;
        }
        let mut line_start = span.start;
        for line in text[span.range()].split_inclusive('\n') {
            if let Some(hash) = line.find('#') {
                if let CommentKind::Attempt(Ok(setter)) =
                    classify_comment(line[hash + 1..].trim_end())
                {
                    let start = line_start + hash;
                    let span = Span::new(start, line_start + line.trim_end().len());
                    let placement = Placement::Ignored(Ignored::BlockScalar);
                    markers.push(Marker::new(span, setter, placement));
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
        match classify_comment(comment) {
            CommentKind::Attempt(verdict) => verdict.map_err(|(reason, _)| reason),
            other => panic!("{comment}: not a marker attempt but {other:?}"),
        }
    }

    #[test]
    fn only_a_name_no_policy_can_hold_is_a_placeholder() {
        for slot in ["REPLACE_WITH_OVERLAY_POLICY", "POLICY", "APP_2"] {
            assert!(is_placeholder(slot), "{slot}");
            assert!(setter(&format!(r#"# {{"$imagepolicy": "{slot}"}}"#))
                .unwrap_err()
                .contains("is a placeholder"));
        }
        // A policy mistyped without its namespace, capitals or not, stays a mistake.
        for name in ["app", "MyApp", "app_1", "_", "flux-system"] {
            assert!(!is_placeholder(name), "{name}");
        }
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
    }

    #[test]
    fn near_misses_and_key_order_are_attempts() {
        for (comment, reason) in [
            (r#" {"$ImagePolicy": "ns:p"}"#, "case-sensitive"),
            (r#" {"$imagepolcy": "ns:p"}"#, "is not `$imagepolicy`"),
            (r#" {"imagepolicy": "ns:p"}"#, "is not `$imagepolicy`"),
            (r#" {"$image-policy": "ns:p"}"#, "is not `$imagepolicy`"),
            (
                r##" {"ref": "#/definitions/io.k8s.cli.setters.ns:p"}"##,
                "must be spelled `$ref`",
            ),
            (
                r##" {"$ref": "#/definitions/io.k8s.cli.setter.ns:p"}"##,
                "must start with",
            ),
            (r#" "{"$imagepolicy": "ns:p"}""#, "wrapped in quotes"),
            (r#" {"note": "x", "$imagepolicy": "ns:p:tag:x"}"#, "is not"),
            (r#" {'note': 'x', '$imagepolicy': 'ns:p'}"#, "single quotes"),
        ] {
            let found = setter(comment).unwrap_err();
            assert!(found.contains(reason), "{comment}: {found}");
        }
        let reordered = setter(r#" {"note": "pinned", "$imagepolicy": "ns:p:tag"}"#).unwrap();
        assert_eq!(reordered.kind, SetterKind::Tag);
        let long_form_empty_short =
            setter(r##" {"$imagepolicy": "", "$ref": "#/definitions/io.k8s.cli.setters.ns:p"}"##);
        assert_eq!(long_form_empty_short.unwrap().policy.name, "p");
    }

    #[test]
    fn prose_and_commented_out_lines_are_not_attempts() {
        for prose in [
            " an ordinary comment",
            " The $imagepolicy setter only resolves policies in the automation's own namespace",
            r#" `# {"$imagepolicy": "flux-system:app"}`. The $imagepolicy setter only"#,
            r#" see {"$imagepolicy": "ns:p"} below"#,
            r##" {"$ref": "#/components/schemas/Pod"}"##,
            " {name: value}",
        ] {
            assert_eq!(classify_comment(prose), CommentKind::Other, "{prose}");
        }
        for disabled in [
            r#" image: ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}"#,
            r#" - ghcr.io/org/app:1.2.3 # {"$imagepolicy": "flux-system:app"}"#,
            r#"image: "1.2.3" ## {"$imagepolicy": "flux-system:app:tag"}"#,
            r#" tag: 1.2.3 # {'$imagepolicy': 'flux-system:app:tag'}"#,
            r#" # {"$imagepolicy": "flux-system:app"}"#,
            r#" # image: app:1 # {"$imagepolicy": "flux-system:app"}"#,
        ] {
            assert_eq!(
                classify_comment(disabled),
                CommentKind::CommentedOut,
                "{disabled}"
            );
        }
        // A key without a value of its own is not a disabled value line.
        assert_eq!(
            classify_comment(r#" image: # {"$imagepolicy": "flux-system:app"}"#),
            CommentKind::Other
        );
    }

    #[test]
    fn broken_attempts_still_name_their_policy() {
        for (comment, intended) in [
            (
                r#" {'$imagepolicy': 'flux-system:app:tag'}"#,
                Some("flux-system:app"),
            ),
            (
                r#" {"$imagepolcy": "flux-system/app"}"#,
                Some("flux-system:app"),
            ),
            (r#" {"$imagepolicy": "app"}"#, Some("app")),
            (
                r##" {"ref": "#/definitions/io.k8s.cli.setters.ns:p"}"##,
                Some("ns:p"),
            ),
            (r#" {"$imagepolicy": ""}"#, None),
        ] {
            assert_eq!(intended_policy(comment).as_deref(), intended, "{comment}");
        }
    }

    #[test]
    fn hostile_comments_are_classified_without_deep_recursion_or_quadratic_work() {
        let hashes = "# ".repeat(200_000) + r#"{"$imagepolicy": "ns:p"}"#;
        assert_eq!(classify_comment(&hashes), CommentKind::CommentedOut);
        let openers = "a: b".to_string() + &" #{a".repeat(200_000);
        assert_eq!(classify_comment(&openers), CommentKind::Other);
    }

    #[test]
    fn prefilter_finds_every_attempt() {
        assert!(may_hold_marker(b"a: 1 # {\"$imagepolcy\": \"ns:p\"}\n"));
        assert!(may_hold_marker(b"a: 1 #  '{\"x\": 1}'\n"));
        assert!(!may_hold_marker(b"a: 1 # ordinary\nb: \"#fff\"\n"));
    }

    #[test]
    fn a_full_marker_on_a_version_is_not_an_image() {
        for version in ["0.1.8", "v2.3.0-rc.1", "1.2.3.4", "10"] {
            assert_eq!(
                shape_mismatch(SetterKind::Image, version),
                Some(ShapeMismatch::VersionNotImage),
                "{version}"
            );
        }
        assert_eq!(
            shape_mismatch(SetterKind::Image, "nginx"),
            Some(ShapeMismatch::Untagged)
        );
        assert_eq!(
            shape_mismatch(SetterKind::Image, "ghcr.io/org/app:0.1.8"),
            None
        );
        assert_eq!(shape_mismatch(SetterKind::Tag, "0.1.8"), None);
        let pinned = format!("6.5.0@sha256:{}", "0".repeat(64));
        assert_eq!(
            shape_mismatch(SetterKind::Tag, &pinned),
            Some(ShapeMismatch::TagWithDigest)
        );
        assert_eq!(
            shape_mismatch(SetterKind::Tag, &format!("app:{pinned}")),
            Some(ShapeMismatch::TagOnImage)
        );
    }

    fn placements(text: &str) -> Vec<(String, Result<String, Ignored>)> {
        let source = SourceFile::new("t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        find_markers(text, &yaml)
            .markers
            .into_vec()
            .into_iter()
            .map(|m| {
                let placement = match m.placement {
                    Placement::Applied(v) => Ok(source.slice(v.span).to_string()),
                    Placement::Ignored(why) => Err(why),
                };
                (m.setter.policy.name.to_string(), placement)
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

    #[test]
    fn a_marker_written_as_the_value_is_a_map_not_a_marker() {
        let text = concat!(
            "spec:\n  ref:\n    semver: {\"$imagepolicy\": \"apps:web:tag\"}\n",
            "  note: 'write # {\"$imagepolicy\": \"apps:web\"} after the value'\n",
            "  image: r/a:1 # {\"$imagepolicy\": \"apps:a\"}\n",
        );
        let source = SourceFile::new("t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        let found = find_markers(text, &yaml);
        assert_eq!(found.markers.len(), 1);
        let errors: Vec<(&str, Option<&str>)> = (found.syntax_errors.iter())
            .map(|e| (&text[e.span.range()], e.intended_policy.as_deref()))
            .collect();
        assert_eq!(
            errors,
            [("{\"$imagepolicy\": \"apps:web:tag\"}", Some("apps:web"))]
        );
    }

    #[test]
    fn words_before_a_marker_on_a_value_make_flux_ignore_it() {
        let text = concat!(
            "a: r/a:1 # Image Policy {\"$imagepolicy\": \"ns:a\"}\n",
            "b: r/b:1 # see {\"$imagepolicy\": \"ns:b\"} below\n",
            "b2: r/b:1 # TODO: ### {\"$imagepolicy\": \"ns:b\"}\n",
            "b3: r/b:1 # todo {\"$imagepolicy\": \"ns:b\"}\n",
            "# Image Policy {\"$imagepolicy\": \"ns:c\"}\n",
            "c: r/c:1\n",
            "d: # policy {\"$imagepolicy\": \"ns:d\"}\n",
            "  e: 1\n",
            "f:\n  - r/f:1 # policy: {\"$imagepolicy\": \"ns:f:tag\"}\n",
        );
        let source = SourceFile::new("t.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        let found = find_markers(text, &yaml);
        assert!(found.markers.is_empty());
        let errors: Vec<(&str, Option<&str>)> = found
            .syntax_errors
            .iter()
            .map(|e| (e.reason.as_str(), e.intended_policy.as_deref()))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "text before the `{` (`Image Policy`) makes the comment invalid JSON, so Flux ignores the marker",
                    Some("ns:a")
                ),
                (
                    "text before the `{` (`policy:`) makes the comment invalid JSON, so Flux ignores the marker",
                    Some("ns:f")
                ),
            ]
        );
    }

    #[test]
    fn a_marker_after_a_key_without_value_belongs_to_the_key() {
        let m = |name: &str| format!(r#"{{"$imagepolicy": "ns:{name}"}}"#);
        let block = format!(
            "items:\n  - name: # {a}\n    tag: 1.0.0 # {b}\n    last: # {c}\n",
            a = m("a"),
            b = m("b"),
            c = m("c")
        );
        // The flow mapping leaves the file to the full parser.
        let full = format!("{block}  - {{x: 1}}\n");
        for text in [block, full] {
            assert_eq!(
                placements(&text),
                [
                    ("a".to_string(), Err(Ignored::OnEmptyValue)),
                    ("b".to_string(), Ok("1.0.0".to_string())),
                    ("c".to_string(), Err(Ignored::OnEmptyValue)),
                ],
                "{text}"
            );
        }
        // A null written out is a value, and the marker is its line comment.
        assert_eq!(
            placements(&format!("name: ~ # {}\n", m("a"))),
            [("a".to_string(), Ok("~".to_string()))]
        );
    }

    #[test]
    fn markers_in_a_file_the_automation_cannot_read_are_ignored() {
        let marker = r#"# {"$imagepolicy": "ns:a"}"#;
        let applied = || vec![("a".to_string(), Ok("r/a:1".to_string()))];
        let unread = |why| vec![("a".to_string(), Err(why))];
        let cases = [
            (
                format!("- image: r/a:1 {marker}\n"),
                unread(Ignored::FileNotMapping),
            ),
            (
                format!("[r/a:1] {marker}\n"),
                unread(Ignored::FileNotMapping),
            ),
            (
                format!("image: r/a:1 {marker}\n---\n- b\n"),
                unread(Ignored::FileNotMapping),
            ),
            (
                format!("image: r/a:1 {marker}\n---\nplain text\n"),
                unread(Ignored::FileNotMapping),
            ),
            (
                format!("metadata: name\nimage: r/a:1 {marker}\n"),
                unread(Ignored::FileMetadataNotMapping),
            ),
            (
                format!("metadata: []\nimage: r/a:1 {marker}\n"),
                unread(Ignored::FileMetadataNotMapping),
            ),
            (
                format!("metadata: ''\nimage: r/a:1 {marker}\n"),
                unread(Ignored::FileMetadataNotMapping),
            ),
            // kyaml skips null documents and fills in a null `metadata`; it needs no kind.
            (format!("image: r/a:1 {marker}\n---\n---\n~\n"), applied()),
            (format!("metadata:\nimage: r/a:1 {marker}\n"), applied()),
            (format!("tags:\n  - image: r/a:1 {marker}\n"), applied()),
            // The long form alone: the file lacks the token the automation looks for first.
            (
                "image: r/a:1 # {\"$ref\": \"#/definitions/io.k8s.cli.setters.ns:a\"}\n".to_string(),
                unread(Ignored::FileWithoutToken),
            ),
            (
                format!("image: r/a:1 # {{\"$ref\": \"#/definitions/io.k8s.cli.setters.ns:a\"}}\nb: r/b:1 {}\n", marker.replace(":a", ":b")),
                vec![
                    ("a".to_string(), Ok("r/a:1".to_string())),
                    ("b".to_string(), Ok("r/b:1".to_string())),
                ],
            ),
        ];
        for (text, expect) in cases {
            assert_eq!(placements(&text), expect, "{text}");
        }
    }

    #[test]
    fn an_ignored_marker_knows_the_marker_flux_applies_beside_it() {
        let m = |setter: &str| format!(r#"{{"$imagepolicy": "ns:{setter}"}}"#);
        let (app, tag, other) = (m("app"), m("app:tag"), m("other"));
        let text = format!(
            "same:\n  # {app}\n  image: r/a:1 # {app}\nsame_tag:\n  # {tag}\n  tag: \"1\" # {tag}\nother_policy:\n  # {other}\n  image: r/a:1 # {app}\nother_field:\n  # {tag}\n  image: r/a:1 # {app}\nno_marker:\n  # {app}\n  image: r/a:1 # note\nitem:\n  # {app}\n  - r/a:1 # {app}\nblock:\n  # note\n  # {app}\n  image: r/a:1 # {app}\non_key:\n  image: # {app}\n    r/a:1 # {app}\nmap:\n  # {app}\n  image:\n    a: r/a:1 # {app}\n"
        );
        let source = SourceFile::new("t.yaml".into(), text.clone());
        let yaml = YamlFile::parse(&source).unwrap();
        let found = find_markers(&text, &yaml);
        let ignored: Vec<(usize, String, Option<String>)> = found
            .markers
            .iter()
            .filter(|m| matches!(m.placement, Placement::Ignored(_)))
            .map(|m| {
                let line = source.position(m.span.start).line;
                let beside = m.beside_applied.as_deref().map(Setter::to_string);
                (line, m.setter.to_string(), beside)
            })
            .collect();
        assert_eq!(
            ignored,
            [
                (2, "ns:app", Some("ns:app")),
                (5, "ns:app:tag", Some("ns:app:tag")),
                (8, "ns:other", Some("ns:app")),
                (11, "ns:app:tag", Some("ns:app")),
                (14, "ns:app", None),
                (17, "ns:app", Some("ns:app")),
                (21, "ns:app", Some("ns:app")),
                (24, "ns:app", Some("ns:app")),
                (27, "ns:app", None),
            ]
            .map(|(line, setter, beside)| (
                line,
                setter.to_string(),
                beside.map(str::to_string)
            ))
        );
    }
}
