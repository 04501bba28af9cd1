//! The shape of the Flux image API (`image.toolkit.fluxcd.io/v1`) as the CRDs define it: which
//! fields exist under each object, what type each holds and which are required. An object's
//! misfits are found when it is read (`objects`), while its tree is at hand, and the `schema`
//! rule reports them; typed extraction in `objects` reads the same names.

use crate::model::tree::{Node, Origin, Value};
use crate::scan::yaml::Style;

/// The type a field holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    String,
    Bool,
    /// Kubernetes durations and other strings are all `String`; integers are rare here.
    Integer,
    /// A string the CRD's `enum` limits to these values (the same in every Flux that has the
    /// field: read from the CRDs of Flux 0.24 to 2.9).
    OneOf(&'static [&'static str]),
    Object(&'static [Field]),
    /// A map with free keys and string values (labels, template values, push options).
    StringMap,
    List(&'static Shape),
    /// Anything (status, annotations): not checked.
    Any,
}

pub type Field = (&'static str, Shape);

const NAME_REF: Shape = Shape::Object(&[("name", Shape::String)]);

const LABEL_SELECTOR: Shape = Shape::Object(&[
    ("matchLabels", Shape::StringMap),
    (
        "matchExpressions",
        Shape::List(&Shape::Object(&[
            ("key", Shape::String),
            ("operator", Shape::String),
            ("values", Shape::List(&Shape::String)),
        ])),
    ),
]);

const METADATA: Shape = Shape::Object(&[
    ("name", Shape::String),
    ("namespace", Shape::String),
    ("labels", Shape::StringMap),
    ("annotations", Shape::StringMap),
    ("generateName", Shape::String),
    ("uid", Shape::Any),
    ("resourceVersion", Shape::Any),
    ("generation", Shape::Any),
    ("creationTimestamp", Shape::Any),
    ("finalizers", Shape::Any),
    ("managedFields", Shape::Any),
    ("ownerReferences", Shape::Any),
]);

const REPOSITORY_SPEC: Shape = Shape::Object(&[
    ("image", Shape::String),
    ("interval", Shape::String),
    ("timeout", Shape::String),
    ("exclusionList", Shape::List(&Shape::String)),
    (
        "provider",
        Shape::OneOf(&["generic", "aws", "azure", "gcp"]),
    ),
    ("secretRef", NAME_REF),
    ("certSecretRef", NAME_REF),
    ("proxySecretRef", NAME_REF),
    ("serviceAccountName", Shape::String),
    (
        "accessFrom",
        Shape::Object(&[("namespaceSelectors", Shape::List(&LABEL_SELECTOR))]),
    ),
    ("insecure", Shape::Bool),
    ("suspend", Shape::Bool),
]);

const ORDER: Shape = Shape::Object(&[("order", Shape::String)]);

const POLICY_SPEC: Shape = Shape::Object(&[
    (
        "imageRepositoryRef",
        Shape::Object(&[("name", Shape::String), ("namespace", Shape::String)]),
    ),
    (
        "policy",
        Shape::Object(&[
            ("semver", Shape::Object(&[("range", Shape::String)])),
            ("alphabetical", ORDER),
            ("numerical", ORDER),
        ]),
    ),
    (
        "filterTags",
        Shape::Object(&[("pattern", Shape::String), ("extract", Shape::String)]),
    ),
    (
        "digestReflectionPolicy",
        Shape::OneOf(&["Always", "IfNotPresent", "Never"]),
    ),
    ("interval", Shape::String),
    ("suspend", Shape::Bool),
]);

const AUTOMATION_SPEC: Shape = Shape::Object(&[
    (
        "sourceRef",
        Shape::Object(&[
            ("kind", Shape::String),
            ("name", Shape::String),
            ("namespace", Shape::String),
            ("apiVersion", Shape::String),
        ]),
    ),
    (
        "git",
        Shape::Object(&[
            (
                "checkout",
                Shape::Object(&[(
                    "ref",
                    Shape::Object(&[
                        ("branch", Shape::String),
                        ("tag", Shape::String),
                        ("semver", Shape::String),
                        ("name", Shape::String),
                        ("commit", Shape::String),
                    ]),
                )]),
            ),
            (
                "commit",
                Shape::Object(&[
                    (
                        "author",
                        Shape::Object(&[("name", Shape::String), ("email", Shape::String)]),
                    ),
                    (
                        "signingKey",
                        Shape::Object(&[("secretRef", NAME_REF), ("type", Shape::String)]),
                    ),
                    ("messageTemplate", Shape::String),
                    ("messageTemplateValues", Shape::StringMap),
                ]),
            ),
            (
                "push",
                Shape::Object(&[
                    ("branch", Shape::String),
                    ("refspec", Shape::String),
                    ("options", Shape::StringMap),
                ]),
            ),
        ]),
    ),
    ("interval", Shape::String),
    (
        "update",
        Shape::Object(&[
            ("path", Shape::String),
            ("strategy", Shape::OneOf(&["Setters"])),
        ]),
    ),
    ("policySelector", LABEL_SELECTOR),
    ("suspend", Shape::Bool),
]);

const fn object(spec: Shape) -> [Field; 5] {
    [
        ("apiVersion", Shape::String),
        ("kind", Shape::String),
        ("metadata", METADATA),
        ("spec", spec),
        ("status", Shape::Any),
    ]
}

const REPOSITORY: [Field; 5] = object(REPOSITORY_SPEC);
const POLICY: [Field; 5] = object(POLICY_SPEC);
const AUTOMATION: [Field; 5] = object(AUTOMATION_SPEC);

/// The top-level shape of an object of the given kind.
pub fn object_shape(kind: super::Kind) -> Shape {
    match kind {
        super::Kind::ImageRepository => Shape::Object(&REPOSITORY),
        super::Kind::ImagePolicy => Shape::Object(&POLICY),
        super::Kind::ImageUpdateAutomation => Shape::Object(&AUTOMATION),
    }
}

/// The one place in the shape of `kind` where a field is named `name`, dotted (`spec.git.push`),
/// for a field written under the wrong parent; `None` where no field or several have that name.
pub fn only_place_of(kind: super::Kind, name: &str) -> Option<(String, Shape)> {
    fn search(
        shape: Shape,
        name: &str,
        at: &mut Vec<&'static str>,
        places: &mut Vec<(String, Shape)>,
    ) {
        match shape {
            Shape::Object(fields) => {
                for &(field, child) in fields {
                    at.push(field);
                    if field == name {
                        places.push((at.join("."), child));
                    }
                    search(child, name, at, places);
                    at.pop();
                }
            }
            Shape::List(item) => search(*item, name, at, places),
            _ => {}
        }
    }
    let mut places = Vec::new();
    search(object_shape(kind), name, &mut Vec::new(), &mut places);
    match places.as_slice() {
        [_] => places.pop(),
        _ => None,
    }
}

/// Where an object does not fit its kind's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Misfit {
    /// A value of the wrong type at `path` (dotted, with `[i]` for list items).
    WrongType {
        at: Origin,
        path: String,
        expected: &'static str,
    },
    /// A key the CRD does not define, among the `known` fields of its map.
    UnknownField {
        at: Origin,
        path: String,
        known: &'static [Field],
        closest: Option<&'static str>,
        /// What it holds: whether it fits where a field of its name is.
        held: Held,
    },
    /// A string the CRD's `enum` does not allow.
    NotAllowed {
        at: Origin,
        path: String,
        value: String,
        allowed: &'static [&'static str],
    },
    /// A required field that is missing; `at` is the nearest map that is there.
    Missing {
        at: Origin,
        path: &'static [&'static str],
        help: &'static str,
    },
}

/// What a field written where its kind has none holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    Scalar(String),
    Map,
    List,
    Other,
}

impl Held {
    fn of(node: &Node) -> Held {
        match &node.value {
            Value::Scalar(scalar) => Held::Scalar(scalar.text.to_string()),
            _ if node.is_map() => Held::Map,
            _ if node.is_seq() => Held::List,
            _ => Held::Other,
        }
    }

    /// Whether a field of `shape` may hold it: a string where a string goes (one the `enum`
    /// allows), a map where a map goes, a list where a list goes. A secret's name
    /// (`git.secretRef: deploy-key`) is no `{name: …}` reference, nor `PullRequest` a strategy
    /// Flux has (lukewyman/llmworks-gitops).
    pub fn fits(&self, shape: Shape) -> bool {
        match (shape, self) {
            (Shape::Any, _) => true,
            (Shape::String | Shape::Integer | Shape::Bool, Held::Scalar(_)) => true,
            (Shape::OneOf(allowed), Held::Scalar(value)) => allowed.contains(&value.as_str()),
            (Shape::Object(_) | Shape::StringMap, Held::Map) => true,
            (Shape::List(_), Held::List) => true,
            _ => false,
        }
    }
}

/// Every misfit of an object of `kind`, its tree read whole. Of an object kustomize-controller
/// decrypts, its SOPS metadata and encrypted values are not judged (see [`super::sops`]).
pub fn misfits(kind: super::Kind, object: &Node) -> Vec<Misfit> {
    let mut found = Vec::new();
    let encrypted = super::sops::is_encrypted(object);
    walk(
        object,
        object_shape(kind),
        encrypted,
        &mut Vec::new(),
        &mut found,
    );
    for &(path, help) in required_fields(kind) {
        if object.path(path).is_none() {
            let parent = object.path(&path[..path.len() - 1]).unwrap_or(object);
            found.push(Misfit::Missing {
                at: parent.origin,
                path,
                help,
            });
        }
    }
    found
}

/// A step of the path from an object's root to one of its nodes.
enum Step<'a> {
    Key(&'a str),
    Item(usize),
}

/// `spec.policy.semver`, `spec.exclusionList[2]`.
fn dotted(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Item(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn walk<'a>(
    node: &'a Node,
    shape: Shape,
    encrypted: bool,
    path: &mut Vec<Step<'a>>,
    found: &mut Vec<Misfit>,
) {
    let mut wrong_type = |expected| {
        found.push(Misfit::WrongType {
            at: node.origin,
            path: dotted(path),
            expected,
        })
    };
    if matches!(node.value, Value::Alias) || (encrypted && super::sops::is_encrypted_value(node)) {
        return;
    }
    match shape {
        Shape::Any => {}
        Shape::OneOf(allowed) => match &node.value {
            Value::Scalar(scalar) => {
                // A value filled in later (`${PROVIDER}`) is not known here.
                let value = scalar.text.as_str();
                if !allowed.contains(&value) && !value.contains("${") {
                    found.push(Misfit::NotAllowed {
                        at: node.origin,
                        path: dotted(path),
                        value: value.to_string(),
                        allowed,
                    });
                }
            }
            _ => wrong_type("a string"),
        },
        Shape::String | Shape::Integer => {
            if !matches!(node.value, Value::Scalar(_)) {
                wrong_type(if matches!(shape, Shape::String) {
                    "a string"
                } else {
                    "an integer"
                });
            }
        }
        Shape::Bool => {
            let is_bool = matches!(
                &node.value,
                Value::Scalar(scalar) if scalar.style == Style::Plain
                    && matches!(scalar.text.as_str(), "true" | "false" | "True" | "False" | "TRUE" | "FALSE")
            );
            if !is_bool {
                wrong_type("a boolean (`true` or `false`, unquoted)");
            }
        }
        Shape::StringMap => {
            if !node.is_map() {
                wrong_type("a map of strings");
            }
        }
        Shape::List(item) => {
            if !node.is_seq() {
                wrong_type("a list");
                return;
            }
            for (index, child) in node.items().iter().enumerate() {
                path.push(Step::Item(index));
                walk(child, *item, encrypted, path, found);
                path.pop();
            }
        }
        Shape::Object(fields) => {
            if !node.is_map() {
                wrong_type("a map");
                return;
            }
            for entry in node.entries() {
                let name = entry.key.as_str();
                if encrypted && path.is_empty() && name == super::sops::METADATA_FIELD {
                    continue;
                }
                path.push(Step::Key(name));
                match fields.iter().find(|(field, _)| *field == name) {
                    Some((_, child_shape)) => {
                        walk(&entry.value, *child_shape, encrypted, path, found)
                    }
                    None => found.push(Misfit::UnknownField {
                        at: entry.key_origin,
                        path: dotted(path),
                        known: fields,
                        closest: closest_field(name, fields.iter().map(|(field, _)| *field)),
                        held: Held::of(&entry.value),
                    }),
                }
                path.pop();
            }
        }
    }
}

/// The fields the CRD requires of each kind, with what to do when one is missing.
fn required_fields(kind: super::Kind) -> &'static [(&'static [&'static str], &'static str)] {
    match kind {
        super::Kind::ImageRepository => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (
                &["spec", "image"],
                "set `spec.image` to the repository to scan, e.g. `ghcr.io/org/app`",
            ),
            (&["spec", "interval"], "set `spec.interval`, e.g. `12h`"),
        ],
        super::Kind::ImagePolicy => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (
                &["spec", "imageRepositoryRef", "name"],
                "name the ImageRepository this policy selects from",
            ),
        ],
        super::Kind::ImageUpdateAutomation => &[
            (&["metadata", "name"], "every object needs `metadata.name`"),
            (&["spec", "interval"], "set `spec.interval`, e.g. `30m`"),
        ],
    }
}

/// The known field a misspelt one most likely meant: same letters in another case, or within
/// two edits (`filterTag` → `filterTags`, `imageRepositoryref` → `imageRepositoryRef`).
pub fn closest_field<'a>(unknown: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = unknown.to_ascii_lowercase();
    known
        .map(|name| {
            (
                strsim::levenshtein(&lower, &name.to_ascii_lowercase()),
                name,
            )
        })
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 5))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::{only_place_of, Held, Shape};
    use crate::flux::Kind;

    /// A field written under the wrong parent is placed by its name when one field of the
    /// kind has it; a name several fields share (`name`) or none has places nothing.
    #[test]
    fn a_field_is_placed_where_the_one_field_of_its_name_is() {
        let place = |kind, name| only_place_of(kind, name).map(|(place, _)| place);
        assert_eq!(
            place(Kind::ImageUpdateAutomation, "push").as_deref(),
            Some("spec.git.push")
        );
        assert_eq!(
            place(Kind::ImagePolicy, "semver").as_deref(),
            Some("spec.policy.semver")
        );
        assert_eq!(place(Kind::ImagePolicy, "name"), None);
        assert_eq!(place(Kind::ImagePolicy, "filterTag"), None);
    }

    #[test]
    fn what_a_field_holds_fits_its_place_by_type_and_allowed_values() {
        let scalar = |text: &str| Held::Scalar(text.to_string());
        let (_, strategy) = only_place_of(Kind::ImageUpdateAutomation, "strategy").unwrap();
        assert!(scalar("Setters").fits(strategy));
        assert!(!scalar("PullRequest").fits(strategy));
        let (_, secret) = only_place_of(Kind::ImageUpdateAutomation, "secretRef").unwrap();
        assert!(Held::Map.fits(secret));
        assert!(!scalar("deploy-key").fits(secret));
        assert!(Held::List.fits(Shape::List(&Shape::String)));
        assert!(!Held::Map.fits(Shape::String));
    }
}
