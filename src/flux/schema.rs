//! The shape of the Flux image API (`image.toolkit.fluxcd.io/v1`) as the CRDs define it: which
//! fields exist under each object and what type each holds. The `schema` rule walks documents
//! against it; typed extraction in `objects` reads the same names.

/// The type a field holds.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    String,
    Bool,
    /// Kubernetes durations and other strings are all `String`; integers are rare here.
    Integer,
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
    ("provider", Shape::String),
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
    ("digestReflectionPolicy", Shape::String),
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
        Shape::Object(&[("path", Shape::String), ("strategy", Shape::String)]),
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
