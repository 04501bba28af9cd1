//! A `kustomization.yaml` (or `.yml`, or `Kustomization`), read as kustomize reads it: the
//! fields that decide which objects exist and what they look like, each value with its origin.
//! Fields that can change image objects in ways this model does not follow are listed, so the
//! objects they touch are treated as unknown rather than guessed.

use smol_str::SmolStr;

use super::tree::{Entry, Node, Origin, Value};
use crate::scan::yaml::{plain_type, PlainType, Style};

/// The file names kustomize recognises, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

pub fn is_kustomization_name(name: &str) -> bool {
    FILE_NAMES.contains(&name)
}

/// A string value of a kustomization with where it was written.
#[derive(Debug, Clone)]
pub struct Text {
    pub value: SmolStr,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum PatchBody {
    /// `path:`: a file relative to the kustomization's folder.
    File(Text),
    /// `patch:` (or an inline `patchesStrategicMerge` entry): the patch text and where it is.
    Inline(Node),
}

#[derive(Debug, Clone)]
pub struct Patch {
    pub body: PatchBody,
    pub target: Option<Node>,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
    /// The whole entry, for diagnostics about the patch as such.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct LabelSet {
    pub pairs: Vec<(String, String)>,
    pub origin: Origin,
}

/// What a generator does with an object of its identity that the build already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Adds a new object; one with its identity already there is kustomize's error. Also what an
    /// unknown `behavior` means to kustomize.
    #[default]
    Create,
    Merge,
    Replace,
}

/// A `configMapGenerator` or `secretGenerator` entry: the object it makes, as far as identity
/// checks and selectors read one. Its data is not read.
#[derive(Debug, Clone)]
pub struct Generator {
    /// `ConfigMap` or `Secret`.
    pub kind: &'static str,
    pub name: Option<Text>,
    /// The entry's own `namespace`; the kustomization's `namespace` still overrides it later.
    pub namespace: Option<Text>,
    pub behavior: Behavior,
    /// `generatorOptions`, then the entry's `options` over them.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Files it reads: kustomize fails when one is missing.
    pub files: Vec<Text>,
    /// The whole entry.
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// The folder, repository-relative (`""` at the root).
    pub dir: String,
    /// The kustomization file (workspace file index) and its whole document.
    pub file: usize,
    pub is_component: bool,
    /// `resources` then `bases`, as kustomize appends them.
    pub resources: Vec<Text>,
    pub components: Vec<Text>,
    pub namespace: Option<Text>,
    /// Boxed, as `name_suffix` and `common_annotations` are: few kustomizations set them, and
    /// every kustomization of the repository is held through the run.
    pub name_prefix: Option<Box<Text>>,
    pub name_suffix: Option<Box<Text>>,
    /// `commonLabels` and each `labels` entry: all reach `metadata.labels`.
    pub labels: Vec<LabelSet>,
    pub common_annotations: Option<Box<LabelSet>>,
    pub patches_strategic_merge: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub patches_json6902: Vec<Patch>,
    /// `configMapGenerator` entries, then `secretGenerator` entries: kustomize runs them in
    /// that order.
    pub generators: Vec<Generator>,
    /// Fields this model does not follow (`replacements`, `vars`, plugins, `helmCharts`, ...).
    pub unmodelled: Vec<Text>,
    /// The paths of files those fields read, each with its field (see [`files_read_by`]).
    pub read_by_unmodelled: Vec<(&'static str, Text)>,
    /// Whether the `replacements` written here (not those of `path` files) select no image
    /// object ([`super::replacements`]).
    pub inline_replacements_spare_image_objects: bool,
    /// Where `helmCharts` (or `helmChartInflationGenerator`) lists a chart to inflate.
    pub helm_charts: Option<Origin>,
}

impl Kustomization {
    /// Whether it does nothing but list its resources (kustomize-controller's generated
    /// kustomization of a folder, most often): each listed folder then renders in it as alone.
    pub fn only_lists(&self) -> bool {
        self.components.is_empty()
            && self.namespace.is_none()
            && self.name_prefix.is_none()
            && self.name_suffix.is_none()
            && self.labels.is_empty()
            && self.common_annotations.is_none()
            && self.patches_strategic_merge.is_empty()
            && self.patches.is_empty()
            && self.patches_json6902.is_empty()
            && self.generators.is_empty()
            && self.unmodelled.is_empty()
    }
}

/// Fields kustomize accepts and this model follows or can ignore for image objects.
const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    // These change workloads, never image objects.
    "images",
    "imageTags",
    "replicas",
    "sortOptions",
    "buildMetadata",
];

/// Fields that can change image objects, or add some, in ways this model does not follow.
const UNMODELLED_FIELDS: &[&str] = &[
    "replacements",
    "vars",
    "configurations",
    "crds",
    "generators",
    "transformers",
    "validators",
    "helmCharts",
    "helmChartInflationGenerator",
    "helmGlobals",
    "openapi",
];

/// kustomize's error on a field it does not know, before the field's name.
pub const UNKNOWN_FIELD: &str = "invalid Kustomization: json: unknown field";

/// The field of a kustomization nearest to one kustomize does not know (`namePreffix`:
/// `namePrefix`), within a third of its length in edits.
pub fn closest_field(unknown: &str) -> Option<&'static str> {
    (KNOWN_FIELDS.iter().chain(UNMODELLED_FIELDS))
        .map(|field| (strsim::levenshtein(unknown, field), *field))
        .filter(|(distance, field)| *distance > 0 && *distance <= 2.max(field.len() / 3))
        .min()
        .map(|(_, field)| field)
}

/// kustomize 5's error on a bare path in `patches` (kustomize 4 read it as a strategic merge
/// patch file), after "cannot unmarshal".
pub const BARE_PATCH_PATH: &str =
    "string into Go struct field Kustomization.patches of type types.Patch";

/// kustomize's error (from 5.1) on a kustomization file that holds nothing.
pub const EMPTY: &str = "kustomization.yaml is empty";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKustomization {
    pub message: String,
    pub origin: Origin,
}

/// How a kustomization file's fields are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// As kustomize reads it: an unknown field fails the build.
    Strict,
    /// As kustomize-controller rewrites the one at a Flux Kustomization's `spec.path` before
    /// kustomize reads it (fluxcd/pkg's generator decodes it with `sigs.k8s.io/yaml`, which is
    /// not strict, and writes it back): an unknown field is dropped.
    DroppingUnknownFields,
    /// As kustomize 4 (kustomize-controller before Flux 2.0.0-rc.4) reads it: strictly, after
    /// its `FixKustomizationPreUnmarshalling` renamed `patches` to `patchesStrategicMerge` where
    /// that list holds a string (the old shorthand for a strategic merge patch file). kustomize
    /// 5 refuses such an entry.
    Kustomize4,
}

impl Decoding {
    fn is_strict(self) -> bool {
        self != Decoding::DroppingUnknownFields
    }
}

/// Reads one kustomization document (`root`, the file's first document as a tree).
pub fn read(
    dir: &str,
    file: usize,
    root: &Node,
    decoding: Decoding,
) -> Result<Kustomization, InvalidKustomization> {
    let invalid = |message: String, origin: Origin| InvalidKustomization { message, origin };
    // kustomize 4 renamed the key in the file's text, wherever it is written as `patches:`.
    let legacy_patches = decoding == Decoding::Kustomize4
        && root
            .get("patches")
            .is_some_and(|patches| patches.items().iter().any(is_json_string));
    let field_of = |key: &str| match key {
        "patches" if legacy_patches => Some("patchesStrategicMerge"),
        _ => field_name(key),
    };
    // kustomize decodes through JSON (`sigs.k8s.io/yaml`), where a field written twice keeps
    // its last value.
    let written = root.entries();
    let entries: Vec<&Entry> = written
        .iter()
        .enumerate()
        .filter(|&(at, entry)| {
            let name = field_of(&entry.key);
            name.is_none()
                || !written[at + 1..]
                    .iter()
                    .any(|later| field_of(&later.key) == name)
        })
        .map(|(_, entry)| entry)
        .collect();
    // kustomize's `CheckEmpty` leaves the type out, and a field set to nothing (`resources:`,
    // `namespace: ""`) is one not set; an empty list (`resources: []`) is not nothing.
    let holds_nothing = || {
        entries.iter().all(|entry| {
            let value = &entry.value;
            match field_of(&entry.key) {
                Some("apiVersion" | "kind") => true,
                Some(_) => value.is_null() || value.str() == Some(""),
                None => false,
            }
        })
    };
    if root.is_null() || root.entries().is_empty() || (root.is_map() && holds_nothing()) {
        return Err(invalid(EMPTY.to_string(), root.origin));
    }
    if !root.is_map() {
        return Err(invalid(
            "invalid Kustomization: not a map".to_string(),
            root.origin,
        ));
    }
    let mut k = Kustomization {
        dir: dir.to_string(),
        file,
        ..Kustomization::default()
    };
    let mut options = None;
    let mut api_version = None;
    // Go's decoder goes on past a field's error and reports the first, in the JSON's sorted keys.
    let mistyped = mistyped_string(&entries, field_of);
    for entry in entries {
        let Some(key) = field_of(&entry.key) else {
            if !decoding.is_strict() {
                continue;
            }
            if let Some((_, error)) = mistyped.filter(|(at, _)| **at < *entry.key) {
                return Err(error);
            }
            return Err(invalid(
                format!("{UNKNOWN_FIELD} \"{}\"", entry.key),
                entry.key_origin,
            ));
        };
        let value = &entry.value;
        if UNMODELLED_FIELDS.contains(&key) {
            let inflates = matches!(key, "helmCharts" | "helmChartInflationGenerator");
            if inflates && !value.items().is_empty() {
                k.helm_charts = Some(entry.key_origin);
            }
            k.unmodelled.push(Text {
                value: key.into(),
                origin: entry.key_origin,
            });
            k.read_by_unmodelled.extend(files_read_by(key, value));
            if key == "replacements" {
                k.inline_replacements_spare_image_objects =
                    super::replacements::written_inline_spare_image_objects(value);
            }
            continue;
        }
        match key {
            "apiVersion" => api_version = value.str().filter(|v| !v.is_empty()).map(|_| value),
            "kind" => match value.str() {
                Some("Component") => k.is_component = true,
                Some("Kustomization" | "") | None => {}
                Some(_) => {
                    return Err(invalid(
                        "kind should be Kustomization or Component".to_string(),
                        value.origin,
                    ))
                }
            },
            "resources" | "bases" => k.resources.extend(strings(value)),
            "components" => k.components = strings(value).collect(),
            "namespace" => k.namespace = text(value),
            "namePrefix" => k.name_prefix = text(value).map(Box::new),
            "nameSuffix" => k.name_suffix = text(value).map(Box::new),
            "commonLabels" => k.labels.push(label_set(value)),
            "labels" => k.labels.extend(
                value
                    .items()
                    .iter()
                    .filter_map(|item| item.get("pairs"))
                    .map(label_set),
            ),
            "commonAnnotations" => k.common_annotations = Some(Box::new(label_set(value))),
            "patchesStrategicMerge" => {
                k.patches_strategic_merge =
                    value.items().iter().map(strategic_merge_entry).collect()
            }
            "patches" => k.patches = patch_entries(value, decoding)?,
            "patchesJson6902" => k.patches_json6902 = patch_entries(value, decoding)?,
            "configMapGenerator" => k.generators.extend(
                value
                    .items()
                    .iter()
                    .map(|entry| generator("ConfigMap", entry)),
            ),
            "secretGenerator" => k
                .generators
                .extend(value.items().iter().map(|entry| generator("Secret", entry))),
            "generatorOptions" => options = Some(value),
            _ => {}
        }
    }
    if let Some((_, error)) = mistyped {
        return Err(error);
    }
    // kustomize's `EnforceFields`: a Flux Kustomization saved as `kustomization.yaml` fails here.
    let (kind, required) = if k.is_component {
        ("Component", "kustomize.config.k8s.io/v1alpha1")
    } else {
        ("Kustomization", "kustomize.config.k8s.io/v1beta1")
    };
    if let Some(api_version) = api_version.filter(|v| v.str() != Some(required)) {
        return Err(invalid(
            format!("apiVersion for {kind} should be {required}"),
            api_version.origin,
        ));
    }
    // The kustomization-wide options may come after the entries they apply to.
    if let Some(options) = options {
        let (labels, annotations) = option_maps(options);
        for generator in &mut k.generators {
            generator.labels = overridden(labels.clone(), &generator.labels);
            generator.annotations = overridden(annotations.clone(), &generator.annotations);
        }
    }
    k.generators
        .sort_by_key(|generator| generator.kind != "ConfigMap");
    Ok(k)
}

/// The first string field of a kustomization written as a plain scalar Kubernetes reads as a
/// number or boolean (`newTag: 20231010`, `namespace: 123`, a label's `version: 1.0`), or
/// boolean or integer field written as a string (`includeSelectors: "true"`, a replica's
/// `count: "3"`), in the fields and options kustomize decodes into Go types (round 86), with
/// the key of the field it is in: kustomize decodes the file through JSON into Go strings, and
/// fails ("cannot unmarshal number into Go struct field Image.images.newTag of type string"),
/// as it does on a float JSON cannot hold; or the first patch entry that is no object (a bare
/// path, which kustomize 4 alone read). So does kustomize-controller's rewrite of the file,
/// which decodes it the same way. Fields are visited in the order of the JSON's sorted keys,
/// each named by `field_of`.
fn mistyped_string<'e>(
    entries: &[&'e Entry],
    field_of: impl Fn(&str) -> Option<&'static str>,
) -> Option<(&'e SmolStr, InvalidKustomization)> {
    in_key_order(entries.iter().copied()).find_map(|entry| {
        let field = field_of(&entry.key)?;
        let value = &entry.value;
        let in_kustomization = format!("Kustomization.{field}");
        let error = match field {
            "namespace" | "namePrefix" | "nameSuffix" => not_a_string(value, &in_kustomization),
            "resources" | "bases" | "components" => value
                .items()
                .iter()
                .find_map(|item| not_a_string_item(item, &in_kustomization, "string")),
            // Entries in the form of `patches` (`- patch: …` with a `target`) written here.
            "patchesStrategicMerge" => value.items().iter().find_map(|item| {
                not_a_string_item(item, &in_kustomization, "types.PatchStrategicMerge")
            }),
            // A bare path, kustomize 4's shorthand for a `patchesStrategicMerge` entry.
            "patches" | "patchesJson6902" => value.items().iter().find_map(|item| {
                not_an_object_item(item, &in_kustomization, "types.Patch")
                    .or_else(|| mistyped_patch_field(item, field))
            }),
            "commonLabels" | "commonAnnotations" => not_strings(value, &in_kustomization),
            "labels" => value.items().iter().find_map(|label| {
                in_key_order(label.entries()).find_map(|entry| {
                    let go_field = format!("Label.labels.{}", entry.key);
                    match entry.key.as_str() {
                        "pairs" => not_strings(&entry.value, &go_field),
                        "includeSelectors" | "includeTemplates" => {
                            scalar_not_held_as(&entry.value, "bool", &go_field, "bool")
                        }
                        "fields" => entry.value.items().iter().find_map(|spec| {
                            let create = spec.get("create")?;
                            scalar_not_held_as(
                                create,
                                "bool",
                                "FieldSpec.labels.fields.create",
                                "bool",
                            )
                        }),
                        _ => None,
                    }
                })
            }),
            "generatorOptions" => generator_options(value, "generatorOptions"),
            "configMapGenerator" | "secretGenerator" => value.items().iter().find_map(|entry| {
                let options = entry.get("options")?;
                generator_options(options, &format!("{field}.options"))
            }),
            "replicas" => value.items().iter().find_map(|replica| {
                in_key_order(replica.entries()).find_map(|entry| match entry.key.as_str() {
                    "name" => not_a_string(&entry.value, "Replica.replicas.name"),
                    "count" => scalar_not_held_as(
                        &entry.value,
                        "number",
                        "Replica.replicas.count",
                        "int64",
                    ),
                    _ => None,
                })
            }),
            "images" => value.items().iter().find_map(|image| {
                in_key_order(image.entries()).find_map(|image_field| {
                    let name = ["name", "newName", "newTag", "digest"]
                        .into_iter()
                        .find(|name| name.eq_ignore_ascii_case(&image_field.key))?;
                    not_a_string(&image_field.value, &format!("Image.images.{name}"))
                })
            }),
            _ => None,
        };
        error.map(|error| (&entry.key, error))
    })
}

/// The first value of a map of strings, in key order, that is not a string.
fn not_strings(map: &Node, go_field: &str) -> Option<InvalidKustomization> {
    in_key_order(map.entries()).find_map(|entry| not_a_string(&entry.value, go_field))
}

/// kustomize's error on a `generatorOptions` (or a generator's `options`, `field` naming
/// where) that JSON holds in another type than its Go struct's: maps of strings, booleans.
fn generator_options(options: &Node, field: &str) -> Option<InvalidKustomization> {
    in_key_order(options.entries()).find_map(|entry| {
        let go_field = format!("GeneratorOptions.{field}.{}", entry.key);
        match entry.key.as_str() {
            "labels" | "annotations" => not_strings(&entry.value, &go_field),
            "disableNameSuffixHash" | "immutable" => {
                scalar_not_held_as(&entry.value, "bool", &go_field, "bool")
            }
            _ => None,
        }
    })
}

/// kustomize's error on a patch entry's `options` (a map of booleans) or `target` (strings)
/// that JSON holds otherwise.
fn mistyped_patch_field(patch: &Node, field: &str) -> Option<InvalidKustomization> {
    in_key_order(patch.entries()).find_map(|entry| match entry.key.as_str() {
        "options" => in_key_order(entry.value.entries()).find_map(|option| {
            scalar_not_held_as(
                &option.value,
                "bool",
                &format!("Patch.{field}.options"),
                "bool",
            )
        }),
        "target" => in_key_order(entry.value.entries()).find_map(|selector| {
            not_a_string(
                &selector.value,
                &format!("Selector.{field}.target.{}", selector.key),
            )
        }),
        _ => None,
    })
}

/// A map's entries in the order of their keys, as JSON holds them once `sigs.k8s.io/yaml`
/// converted the YAML: the order Go's decoder meets them in.
fn in_key_order<'e>(
    entries: impl IntoIterator<Item = &'e Entry>,
) -> impl Iterator<Item = &'e Entry> {
    let mut sorted: Vec<&Entry> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted.into_iter()
}

/// kustomize's error on an item of a Go list of strings (`go_type`, as Go names the item's
/// type) that JSON holds as an object, a list, a number or a boolean.
fn not_a_string_item(node: &Node, go_field: &str, go_type: &str) -> Option<InvalidKustomization> {
    match &node.value {
        Value::Map(_) | Value::Seq(_) => mistyped(node, go_field, go_type, &[]),
        _ => not_a_string(node, go_field),
    }
}

/// kustomize's error on an item of a Go list of structs (`go_type`) that JSON holds as a
/// string, a number, a boolean or a list; a null item is a struct left empty.
fn not_an_object_item(node: &Node, go_field: &str, go_type: &str) -> Option<InvalidKustomization> {
    mistyped(node, go_field, go_type, &["object", "null"])
}

/// kustomize's error on a scalar of a Go string field (`go_field`, as Go's decoder names it)
/// that JSON holds as something else.
fn not_a_string(node: &Node, go_field: &str) -> Option<InvalidKustomization> {
    scalar_not_held_as(node, "string", go_field, "string")
}

/// kustomize's error on a scalar of a Go field of type `go_type` that JSON holds as something
/// else than `held` (Go's name: a `bool` field's `"true"` is a `string`, an `int64`'s `"3"`
/// too), or null.
fn scalar_not_held_as(
    node: &Node,
    held: &str,
    go_field: &str,
    go_type: &str,
) -> Option<InvalidKustomization> {
    match &node.value {
        Value::Scalar(_) => mistyped(node, go_field, go_type, &[held, "null"]),
        _ => None,
    }
}

/// kustomize's error where JSON holds `node` as none of `fits` (Go's names: `object`, `array`,
/// `string`, `number`, `bool`, `null`) for the Go struct field `go_field` of type `go_type`, or
/// as a float JSON cannot hold, whatever the field.
fn mistyped(
    node: &Node,
    go_field: &str,
    go_type: &str,
    fits: &[&str],
) -> Option<InvalidKustomization> {
    let message = match json_of(node)? {
        Json::NotFinite(value) => format!("invalid Kustomization: json: unsupported value: {value}"),
        Json::Held(held) if fits.contains(&held) => return None,
        Json::Held(held) => format!(
            "invalid Kustomization: json: cannot unmarshal {held} into Go struct field {go_field} of type {go_type}"
        ),
    };
    Some(InvalidKustomization {
        message,
        origin: node.origin,
    })
}

/// What JSON holds for a node once `sigs.k8s.io/yaml` converted it.
enum Json {
    /// By the name Go's decoder gives it in "cannot unmarshal … into" errors.
    Held(&'static str),
    /// `.inf`, `-.inf`, `.nan`: a float JSON cannot hold.
    NotFinite(&'static str),
}

/// `None` for what the tree does not read (an alias, an unread node).
fn json_of(node: &Node) -> Option<Json> {
    Some(match &node.value {
        Value::Map(_) => Json::Held("object"),
        Value::Seq(_) => Json::Held("array"),
        // Quoted, or tagged: a string, as Kubernetes reads it.
        Value::Scalar(scalar) if scalar.style != Style::Plain || scalar.tagged => {
            Json::Held("string")
        }
        Value::Scalar(scalar) => match plain_type(&scalar.text) {
            PlainType::NotFinite(value) => Json::NotFinite(value),
            held => Json::Held(held.json_name()),
        },
        _ => return None,
    })
}

/// Whether JSON holds a scalar as a string once `sigs.k8s.io/yaml` converted it: quoted, tagged
/// or a plain scalar Kubernetes reads as one (not a number, boolean or null).
fn is_json_string(node: &Node) -> bool {
    matches!(json_of(node), Some(Json::Held("string")))
}

fn generator(kind: &'static str, entry: &Node) -> Generator {
    let mut files = Vec::new();
    for field in ["files", "envs"] {
        files.extend(
            entry
                .get(field)
                .into_iter()
                .flat_map(strings)
                .map(|mut file| {
                    // `key=path` names the key; the file is after `=`.
                    if let Some((_, path)) = file.value.split_once('=') {
                        file.value = path.into();
                    }
                    file
                }),
        );
    }
    files.extend(entry.get("env").and_then(text));
    // kustomize's file loader fetches an `http(s)://` input itself (`IsRemoteFile`): no file of
    // the repository, none that can be missing (gi8lino/k8s-gitops's Grafana dashboards).
    files.retain(|file| !is_fetched(&file.value));
    let behavior = match entry.get("behavior").and_then(Node::str) {
        Some("merge") => Behavior::Merge,
        Some("replace") => Behavior::Replace,
        _ => Behavior::Create,
    };
    let (labels, annotations) = entry.get("options").map(option_maps).unwrap_or_default();
    Generator {
        kind,
        name: entry
            .get("name")
            .and_then(text)
            .filter(|name| !name.value.is_empty()),
        namespace: entry
            .get("namespace")
            .and_then(text)
            .filter(|namespace| !namespace.value.is_empty()),
        behavior,
        labels,
        annotations,
        files,
        origin: entry.origin,
    }
}

type Pairs = Vec<(String, String)>;

/// The `labels` and `annotations` of generator options.
fn option_maps(options: &Node) -> (Pairs, Pairs) {
    let pairs = |key: &str| options.get(key).map(|map| label_set(map).pairs);
    (
        pairs("labels").unwrap_or_default(),
        pairs("annotations").unwrap_or_default(),
    )
}

/// `base` with the pairs of `over` added, an entry of `over` replacing one of `base`'s key.
fn overridden(mut base: Pairs, over: &[(String, String)]) -> Pairs {
    for (key, value) in over {
        match base.iter_mut().find(|(existing, _)| existing == key) {
            Some(pair) => pair.1 = value.clone(),
            None => base.push((key.clone(), value.clone())),
        }
    }
    base
}

/// The kustomization field a key names, as kustomize decodes the file: YAML turned into JSON,
/// then Go's `encoding/json`, which takes a key that matches no field exactly for the field it
/// matches without regard to case (`patchesJSON6902` is `patchesJson6902`).
fn field_name(key: &str) -> Option<&'static str> {
    let fields = || KNOWN_FIELDS.iter().chain(UNMODELLED_FIELDS);
    fields()
        .find(|field| **field == key)
        .or_else(|| fields().find(|field| field.eq_ignore_ascii_case(key)))
        .copied()
}

/// The paths an unmodelled field makes kustomize read whatever they hold, each with the field
/// that names it: a build fails on one that names nothing (checked with kustomize 5: "no such
/// file or directory"). A plugin entry may be a folder, or a configuration written inline (it
/// holds a line break), which is no path.
fn files_read_by(field: &'static str, value: &Node) -> Vec<(&'static str, Text)> {
    match field {
        "configurations" | "crds" | "generators" | "transformers" | "validators" => strings(value)
            .filter(|entry| !entry.value.contains('\n'))
            .map(|path| (field, path))
            .collect(),
        "replacements" => value
            .items()
            .iter()
            .filter_map(|replacement| replacement.get("path").and_then(text))
            .map(|path| (field, path))
            .collect(),
        "openapi" => value
            .get("path")
            .and_then(text)
            .map(|path| ("openapi.path", path))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

fn text(node: &Node) -> Option<Text> {
    let value = node.str()?;
    (!node.is_null()).then(|| Text {
        value: value.into(),
        origin: node.origin,
    })
}

fn strings(node: &Node) -> impl Iterator<Item = Text> + '_ {
    node.items().iter().filter_map(text)
}

fn label_set(node: &Node) -> LabelSet {
    LabelSet {
        pairs: node
            .entries()
            .iter()
            .map(|entry| {
                (
                    entry.key.to_string(),
                    entry.value.str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        origin: node.origin,
    }
}

/// Whether kustomize fetches a generator input over HTTP rather than reading a file.
fn is_fetched(input: &str) -> bool {
    let input = input.to_ascii_lowercase();
    input.starts_with("http://") || input.starts_with("https://")
}

/// The fields of kustomize's `types.Patch`, and of its `target` and `options`, which a strict
/// read refuses others in (a block scalar indented too little leaves the patch's own keys
/// there: enchantednatures/HomeCluster's `$patch`).
const PATCH_FIELDS: [(&[&str], &[&str]); 3] = [
    (&[], &["path", "patch", "target", "options"]),
    (
        &["target"],
        &[
            "group",
            "version",
            "kind",
            "name",
            "namespace",
            "labelSelector",
            "annotationSelector",
        ],
    ),
    (&["options"], &["allowNameChange", "allowKindChange"]),
];

/// The first field of a patch entry kustomize does not know, at its key.
fn unknown_patch_field(entry: &Node) -> Option<InvalidKustomization> {
    PATCH_FIELDS.iter().find_map(|(path, known)| {
        let map = entry.path(path)?;
        let unknown = (map.entries().iter()).find(|field| !known.contains(&&*field.key))?;
        Some(InvalidKustomization {
            message: format!("{UNKNOWN_FIELD} \"{}\"", unknown.key),
            origin: unknown.key_origin,
        })
    })
}

fn patch_entries(list: &Node, decoding: Decoding) -> Result<Vec<Patch>, InvalidKustomization> {
    if decoding.is_strict() {
        if let Some(error) = list.items().iter().find_map(unknown_patch_field) {
            return Err(error);
        }
    }
    Ok(list
        .items()
        .iter()
        .filter_map(|entry| {
            let body = match (entry.get("path").and_then(text), entry.get("patch")) {
                (Some(path), _) => PatchBody::File(path),
                (None, Some(inline)) => PatchBody::Inline(inline.clone()),
                (None, None) => return None,
            };
            let option = |name: &str| {
                entry
                    .path(&["options", name])
                    .and_then(Node::str)
                    .is_some_and(|v| v == "true")
            };
            Some(Patch {
                body,
                target: entry.get("target").cloned(),
                allow_name_change: option("allowNameChange"),
                allow_kind_change: option("allowKindChange"),
                origin: entry.origin,
            })
        })
        .collect())
}

/// A `patchesStrategicMerge` entry: a file path, or the patch itself inline (kustomize tries
/// the text as YAML objects first).
fn strategic_merge_entry(entry: &Node) -> Patch {
    let value = entry.str().unwrap_or_default();
    let body = if value.contains('\n') || value.trim_start().starts_with('{') {
        PatchBody::Inline(entry.clone())
    } else {
        PatchBody::File(Text {
            value: value.into(),
            origin: entry.origin,
        })
    };
    Patch {
        body,
        target: None,
        allow_name_change: false,
        allow_kind_change: false,
        origin: entry.origin,
    }
}

#[cfg(test)]
mod tests {
    use crate::workspace::workspace_of;

    #[test]
    fn generator_inputs_are_files_of_the_repository_unless_fetched() {
        let kustomization = "configMapGenerator:\n  - name: dashboards\n    files:\n      - overview.json=https://example.com/overview.json\n      - local.json\n    envs:\n      - HTTPS://example.com/app.env\n  - name: settings\n    env: settings.env\n";
        let (_dir, workspace) = workspace_of(&[("kustomization.yaml", kustomization)]);
        let Some(Ok(read)) = workspace.model.kustomizations.get("") else {
            panic!("{:?}", workspace.model.kustomizations);
        };
        let inputs: Vec<&str> = read
            .generators
            .iter()
            .flat_map(|generator| &generator.files)
            .map(|file| file.value.as_str())
            .collect();
        assert_eq!(inputs, ["local.json", "settings.env"]);
    }
}

#[cfg(test)]
mod decoding_tests {
    use super::{read, Decoding};
    use crate::model::tree::Node;
    use crate::scan::yaml::YamlFile;
    use crate::source::SourceFile;

    fn read_as(text: &str, decoding: Decoding) -> Result<usize, String> {
        let source = SourceFile::new("kustomization.yaml".into(), text);
        let yaml = YamlFile::parse(&source).unwrap();
        let root = Node::from_yaml(&yaml, 0, yaml.documents[0]);
        read("", 0, &root, decoding)
            .map(|k| k.resources.len())
            .map_err(|invalid| invalid.message)
    }

    #[test]
    fn an_unknown_field_is_told_the_field_it_nearly_is() {
        assert_eq!(super::closest_field("namePreffix"), Some("namePrefix"));
        assert_eq!(super::closest_field("commonLabel"), Some("commonLabels"));
        assert_eq!(super::closest_field("resource"), Some("resources"));
        assert_eq!(super::closest_field("spec"), None);
    }

    #[test]
    fn unknown_fields_fail_kustomize_and_are_dropped_by_the_controller() {
        let stray = "resources:\n  - app.yaml\ncommonLabel:\n  team: web\n";
        assert_eq!(
            read_as(stray, Decoding::Strict),
            Err("invalid Kustomization: json: unknown field \"commonLabel\"".to_string())
        );
        assert_eq!(read_as(stray, Decoding::DroppingUnknownFields), Ok(1));
    }

    #[test]
    fn a_kustomization_of_its_type_alone_holds_nothing() {
        let type_alone = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
        assert_eq!(
            read_as(type_alone, Decoding::Strict),
            Err(super::EMPTY.to_string())
        );
        let listing = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - a.yaml\n";
        assert_eq!(read_as(listing, Decoding::Strict), Ok(1));
        // As `kubectl kustomize` (kustomize 5.5) says of each.
        for nothing in [
            "resources:\n",
            "namespace: \"\"\n",
            "kind: Kustomization\nresources: ~\n",
        ] {
            assert_eq!(
                read_as(nothing, Decoding::Strict),
                Err(super::EMPTY.to_string()),
                "{nothing}"
            );
        }
        for something in ["resources: []\n", "patches: []\n", "metadata:\n  name: x\n"] {
            assert_eq!(read_as(something, Decoding::Strict), Ok(0), "{something}");
        }
    }

    #[test]
    fn a_bare_path_in_patches_is_a_strategic_merge_patch_to_kustomize_4_alone() {
        let bare = "resources: [a.yaml]\npatches:\n  - remove-rbac.yaml\n";
        // As `kubectl kustomize` (kustomize 5.5) says.
        let refused = "invalid Kustomization: json: cannot unmarshal string into Go struct field Kustomization.patches of type types.Patch";
        assert_eq!(read_as(bare, Decoding::Strict), Err(refused.to_string()));
        assert_eq!(
            read_as(bare, Decoding::DroppingUnknownFields),
            Err(refused.to_string())
        );
        let source = SourceFile::new("kustomization.yaml".into(), bare);
        let yaml = YamlFile::parse(&source).unwrap();
        let root = Node::from_yaml(&yaml, 0, yaml.documents[0]);
        let k = read("", 0, &root, Decoding::Kustomize4).unwrap();
        assert!(k.patches.is_empty());
        assert_eq!(k.patches_strategic_merge.len(), 1);
        // Renamed, a list that also holds an entry of `patches`' own form fails as the
        // strategic merge list it became; one with no string is left as it is.
        let mixed = "resources: [a.yaml]\npatches:\n  - path: p.yaml\n  - q.yaml\n";
        assert_eq!(
            read_as(mixed, Decoding::Kustomize4),
            Err("invalid Kustomization: json: cannot unmarshal object into Go struct field Kustomization.patchesStrategicMerge of type types.PatchStrategicMerge".to_string())
        );
        let modern = "resources: [a.yaml]\npatches:\n  - path: p.yaml\n  - 3\n";
        assert_eq!(
            read_as(modern, Decoding::Kustomize4),
            Err("invalid Kustomization: json: cannot unmarshal number into Go struct field Kustomization.patches of type types.Patch".to_string())
        );
        assert_eq!(
            read_as(
                "resources: [a.yaml]\npatches:\n  - path: p.yaml\n  -\n",
                Decoding::Strict
            ),
            Ok(1)
        );
    }

    #[test]
    fn a_field_written_twice_keeps_its_last_value() {
        let twice = "resources: [missing.yaml]\nresources: [a.yaml, b.yaml]\n";
        assert_eq!(read_as(twice, Decoding::Strict), Ok(2));
        let emptied = "resources: [a.yaml]\nresources:\n";
        assert_eq!(
            read_as(emptied, Decoding::Strict),
            Err(super::EMPTY.to_string())
        );
    }

    #[test]
    fn the_api_version_is_kustomizes_own() {
        let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  path: ./apps\n";
        let expected = "apiVersion for Kustomization should be kustomize.config.k8s.io/v1beta1";
        for decoding in [Decoding::Strict, Decoding::DroppingUnknownFields] {
            let read = read_as(flux, decoding);
            if decoding == Decoding::Strict {
                assert!(read.unwrap_err().contains("unknown field \"spec\""));
            } else {
                assert_eq!(read, Err(expected.to_string()));
            }
        }
        let component =
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: a-\n";
        assert_eq!(read_as(component, Decoding::Strict), Ok(0));
        let wrong =
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\nnamePrefix: a-\n";
        assert_eq!(
            read_as(wrong, Decoding::Strict),
            Err("apiVersion for Component should be kustomize.config.k8s.io/v1alpha1".to_string())
        );
    }
}
