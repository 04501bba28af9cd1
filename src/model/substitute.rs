//! `postBuild.substitute` as kustomize-controller does it on the rendered objects: `${var}` and
//! `${var:=default}` (also `:-`, `=`, `-`) are replaced, `$var` is left alone, `$${var}` is an
//! escape for a literal `${var}`. An undefined variable becomes empty, unless the Kustomization
//! reads variables from somewhere this model cannot see (`substituteFrom`): then the value is
//! unknown, and the text keeps its `${var}` so that nothing is concluded from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::tree::{Node, Value};
use crate::flux::objects::is_image_api;
use crate::workspace::ScannedFile;

/// The variables of one Flux Kustomization.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub values: BTreeMap<String, String>,
    /// Some variables come from a ConfigMap or Secret that could not be read.
    pub incomplete: bool,
}

impl Variables {
    /// A variable name kustomize-controller refuses (`varsubRegex`,
    /// `^[_[:alpha:]][_[:alpha:][:digit:]]*$`): it then fails the substitution of every object,
    /// so the whole Kustomization (fluxcd/pkg `kustomize_varsub.go`, `varSubstitution`).
    pub fn invalid_name(&self) -> Option<&str> {
        self.values.keys().map(String::as_str).find(|name| {
            let mut bytes = name.bytes();
            !(bytes
                .next()
                .is_some_and(|first| first == b'_' || first.is_ascii_alphabetic())
                && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric()))
        })
    }
}

/// The label or annotation that turns substitution off for one object.
const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

impl Variables {
    /// Substitutes every key and scalar of an object, unless the object opts out. An object
    /// without a `$` is left as it is, shared with the other renders of its document.
    pub fn apply(&self, object: &mut Arc<Node>, files: &[ScannedFile]) {
        let opted_out = ["labels", "annotations"]
            .iter()
            .any(|map| object.path_str(&["metadata", map, DISABLE_KEY]) == Some("disabled"));
        if opted_out {
            return;
        }
        // The model reads an image object whole, so what substitution makes of the parts no
        // patch reached counts too; other kinds are only read as far as patches reach.
        let is_image_object = object.path_str(&["apiVersion"]).is_some_and(is_image_api);
        if is_image_object && unread_mentions_dollar(object, files) {
            Arc::make_mut(object).read_all(files);
        }
        if mentions_dollar(object) {
            self.apply_to_tree(Arc::make_mut(object));
        }
    }

    fn apply_to_tree(&self, node: &mut Node) {
        match &mut node.value {
            Value::Scalar(scalar) => {
                if scalar.text.contains('$') {
                    scalar.text = self.substitute(&scalar.text).into();
                }
            }
            Value::Map(entries) => {
                for entry in entries {
                    if entry.key.contains('$') {
                        entry.key = self.substitute(&entry.key).into();
                    }
                    self.apply_to_tree(&mut entry.value);
                }
            }
            Value::Seq(items) => items.iter_mut().for_each(|item| self.apply_to_tree(item)),
            Value::Alias | Value::Unread(_) => {}
        }
    }

    /// One string with its `${…}` references replaced.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            if let Some(escaped) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = escaped;
                continue;
            }
            let Some(body_end) = after.strip_prefix("${").and_then(|b| b.find('}')) else {
                out.push('$');
                rest = &after[1..];
                continue;
            };
            let body = &after[2..2 + body_end];
            match self.expand(body) {
                Some(value) => out.push_str(&value),
                None => out.push_str(&after[..body_end + 3]),
            }
            rest = &after[body_end + 3..];
        }
        out.push_str(rest);
        out
    }

    /// The value of `name`, `name:=default` and the like; `None` when it cannot be known.
    fn expand(&self, body: &str) -> Option<String> {
        let name_end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let (name, operator) = body.split_at(name_end);
        let default = ["=", ":=", "-", ":-"]
            .iter()
            .find_map(|op| operator.strip_prefix(op));
        if name.is_empty() || (!operator.is_empty() && default.is_none()) {
            return None;
        }
        match (self.values.get(name), default) {
            (Some(value), Some(default)) if value.is_empty() && operator.starts_with(':') => {
                Some(default.to_string())
            }
            (Some(value), _) => Some(value.clone()),
            (None, _) if self.incomplete => None,
            (None, Some(default)) => Some(default.to_string()),
            (None, None) => Some(String::new()),
        }
    }
}

/// Whether a text still holds a `${…}` reference: its value is not known.
pub fn is_unresolved(text: &str) -> bool {
    // Asked of most scalars the rules read: a byte search, not a substring searcher set up
    // per call.
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'$', bytes).any(|at| bytes.get(at + 1) == Some(&b'{'))
}

/// Whether `text` could be what `pattern` becomes once its `${…}` references have values.
pub fn could_be(pattern: &str, text: &str) -> bool {
    with_values(pattern, ".*").is_some_and(|regex| regex.is_match(text))
}

/// The paths a path holding `${…}` could be once they have values, each standing for part of
/// one folder's name, not for several.
pub struct PathPattern(Option<regex::Regex>);

impl PathPattern {
    pub fn new(pattern: &str) -> PathPattern {
        PathPattern(with_values(pattern, "[^/]*"))
    }

    pub fn could_be(&self, path: &str) -> bool {
        self.0.as_ref().is_some_and(|regex| regex.is_match(path))
    }
}

/// `pattern` as a regex with each `${…}` standing for what `value` (a regex) matches.
fn with_values(pattern: &str, value: &str) -> Option<regex::Regex> {
    with_holes(pattern, ("${", "}"), value)
}

/// `pattern` as a regex with each hole, from `open` to `close`, standing for what `value` (a
/// regex) matches.
pub fn with_holes(pattern: &str, (open, close): (&str, &str), value: &str) -> Option<regex::Regex> {
    let mut regex = String::from("^");
    let mut rest = pattern;
    while let Some(start) = rest.find(open) {
        regex.push_str(&regex::escape(&rest[..start]));
        regex.push_str(value);
        rest = rest[start..]
            .find(close)
            .map_or("", |end| &rest[start + end + close.len()..]);
    }
    regex.push_str(&regex::escape(rest));
    regex.push('$');
    regex::Regex::new(&regex).ok()
}

/// Whether substitution may change an image object (whose unread parts it reads first when
/// they hold a `$`): some key or scalar of it holds a `$`, read or not.
pub fn may_change(object: &Node, files: &[ScannedFile]) -> bool {
    mentions_dollar(object) || unread_mentions_dollar(object, files)
}

/// Whether any key or scalar of the tree holds a `$`, the only text substitution changes.
fn mentions_dollar(node: &Node) -> bool {
    match &node.value {
        Value::Scalar(scalar) => scalar.text.contains('$'),
        Value::Map(entries) => entries
            .iter()
            .any(|entry| entry.key.contains('$') || mentions_dollar(&entry.value)),
        Value::Seq(items) => items.iter().any(mentions_dollar),
        Value::Alias | Value::Unread(_) => false,
    }
}

/// Whether the text of an unread part of the tree holds a `$` (in a comment, too: then the part
/// is read for nothing).
fn unread_mentions_dollar(node: &Node, files: &[ScannedFile]) -> bool {
    match &node.value {
        Value::Unread(_) => files.get(node.origin.file()).is_some_and(|file| {
            let span = node.origin.span();
            // Read for a moment: a file that let its text go is not made to hold it again.
            file.source.passing_text().is_some_and(|text| {
                text.get(span.start..span.end)
                    .is_some_and(|text| text.contains('$'))
            })
        }),
        Value::Map(entries) => entries
            .iter()
            .any(|entry| unread_mentions_dollar(&entry.value, files)),
        Value::Seq(items) => items.iter().any(|item| unread_mentions_dollar(item, files)),
        Value::Scalar(_) | Value::Alias => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)], incomplete: bool) -> Variables {
        Variables {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            incomplete,
        }
    }

    #[test]
    fn substitutes_as_kustomize_controller() {
        let v = vars(&[("cluster", "dev"), ("empty", "")], false);
        assert_eq!(v.substitute("${cluster}-app"), "dev-app");
        assert_eq!(v.substitute("$cluster-app"), "$cluster-app");
        assert_eq!(v.substitute("$${cluster}"), "${cluster}");
        assert_eq!(v.substitute("${missing}x"), "x");
        assert_eq!(v.substitute("${missing:=def}"), "def");
        assert_eq!(v.substitute("${empty:=def}"), "def");
        assert_eq!(v.substitute("${empty=def}"), "");
        assert_eq!(v.substitute("a ${cluster} b ${cluster}"), "a dev b dev");
        assert_eq!(v.substitute("${unclosed"), "${unclosed");
        assert!(could_be("org-${o}:${c}-app", "org-x:dev-app"));
        assert!(!could_be("org-${o}:${c}-app", "org-x:dev-db"));
        let path = PathPattern::new("apps/${env}/${id}");
        assert!(path.could_be("apps/snd/01"));
        assert!(!path.could_be("apps/web/infra/base"));
        let unknown = vars(&[("cluster", "dev")], true);
        assert_eq!(unknown.substitute("${other}-${cluster}"), "${other}-dev");
    }
}
