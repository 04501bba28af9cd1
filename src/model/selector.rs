//! Which resources a kustomize patch `target` selects: group, version, kind, name and namespace
//! as anchored Go regular expressions, and Kubernetes label-selector strings over labels and
//! annotations (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`).

use super::tree::Node;
use crate::policy::goregex::GoRegex;

#[derive(Debug)]
pub struct Target {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

/// What a target is matched against: the resource's kind and its original and current names.
pub struct Candidate<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    /// Original then current name and effective namespace.
    pub names: [&'a str; 2],
    pub namespaces: [&'a str; 2],
    /// The value of a label or an annotation, by key.
    pub labels: &'a dyn Fn(&str) -> Option<&'a str>,
    pub annotations: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// A field of a target: an anchored Go regular expression, or the one value it spells when it
/// holds no character a regular expression gives a meaning to (`Deployment`, `app-1`): every
/// build compiles its targets, and compiling cost more than all the comparisons they answered.
#[derive(Debug)]
enum Pattern {
    Exactly(String),
    Regex(GoRegex),
}

impl Pattern {
    fn parse(pattern: &str) -> Result<Pattern, String> {
        let literal = pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if literal {
            return Ok(Pattern::Exactly(pattern.to_string()));
        }
        GoRegex::new(&format!("^(?:{pattern})$"))
            .map(Pattern::Regex)
            .map_err(|e| format!("error parsing regexp: {e}: `{pattern}`"))
    }

    fn is_match(&self, value: &str) -> bool {
        match self {
            Pattern::Exactly(literal) => literal == value,
            Pattern::Regex(regex) => regex.is_match(value),
        }
    }
}

impl Target {
    /// Reads a `target:` map; the error is kustomize's (a bad regex or selector).
    pub fn parse(node: &Node) -> Result<Target, String> {
        let regex = |field: &str| -> Result<Option<Pattern>, String> {
            match node
                .get(field)
                .and_then(Node::str)
                .filter(|v| !v.is_empty())
            {
                Some(pattern) => Pattern::parse(pattern).map(Some),
                None => Ok(None),
            }
        };
        let selector = |field: &str| -> Result<Option<LabelSelector>, String> {
            match node
                .get(field)
                .and_then(Node::str)
                .filter(|v| !v.is_empty())
            {
                Some(text) => LabelSelector::parse(text).map(Some),
                None => Ok(None),
            }
        };
        Ok(Target {
            group: regex("group")?,
            version: regex("version")?,
            kind: regex("kind")?,
            name: regex("name")?,
            namespace: regex("namespace")?,
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
        })
    }

    pub fn matches(&self, candidate: &Candidate) -> bool {
        let is =
            |regex: &Option<Pattern>, value: &str| regex.as_ref().is_none_or(|r| r.is_match(value));
        let any = |regex: &Option<Pattern>, values: &[&str; 2]| {
            regex
                .as_ref()
                .is_none_or(|r| values.iter().any(|v| r.is_match(v)))
        };
        any(&self.namespace, &candidate.namespaces)
            && any(&self.name, &candidate.names)
            && is(&self.group, candidate.group)
            && is(&self.version, candidate.version)
            && is(&self.kind, candidate.kind)
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(candidate.labels))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(candidate.annotations))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operator {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

/// A Kubernetes label selector in its string form (`labels.Parse`).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<(String, Operator)>,
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!(
                    "unable to parse requirement: found '', expected: identifier in `{text}`"
                ));
            }
            requirements.push(parse_requirement(part).map_err(|e| format!("{e} in `{text}`"))?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether the labels (or annotations) `value_of` gives match.
    pub fn matches<'a>(&self, value_of: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|(key, operator)| {
            let value = value_of(key);
            match operator {
                Operator::Equals(wanted) => value == Some(wanted.as_str()),
                Operator::NotEquals(unwanted) => value != Some(unwanted.as_str()),
                Operator::In(set) => value.is_some_and(|v| set.iter().any(|s| s == v)),
                Operator::NotIn(set) => value.is_none_or(|v| set.iter().all(|s| s != v)),
                Operator::Exists => value.is_some(),
                Operator::DoesNotExist => value.is_none(),
                Operator::GreaterThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Operator::LessThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

/// Requirements are separated by commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<(String, Operator), String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok((identifier(key.trim())?, Operator::DoesNotExist));
    }
    for (symbol, build) in [
        ("==", Operator::Equals as fn(String) -> Operator),
        ("!=", Operator::NotEquals),
        ("=", Operator::Equals),
    ] {
        if let Some((key, value)) = part.split_once(symbol) {
            return Ok((identifier(key.trim())?, build(value.trim().to_string())));
        }
    }
    for (symbol, greater) in [(">", true), ("<", false)] {
        if let Some((key, value)) = part.split_once(symbol) {
            let n = value.trim().parse::<i64>().map_err(|_| {
                format!("for 'Gt', 'Lt' operators, the value must be an integer: `{part}`")
            })?;
            let operator = if greater {
                Operator::GreaterThan(n)
            } else {
                Operator::LessThan(n)
            };
            return Ok((identifier(key.trim())?, operator));
        }
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if let [key, rest] = words[..] {
        let rest = rest.trim_start();
        for (word, negated) in [("notin", true), ("in", false)] {
            if let Some(set) = rest.strip_prefix(word) {
                let set = set.trim();
                let inner = set
                    .strip_prefix('(')
                    .and_then(|s| s.strip_suffix(')'))
                    .ok_or_else(|| {
                        format!("found '{set}', expected: '(' for the set of `{part}`")
                    })?;
                let values = inner.split(',').map(|v| v.trim().to_string()).collect();
                let operator = if negated {
                    Operator::NotIn(values)
                } else {
                    Operator::In(values)
                };
                return Ok((identifier(key)?, operator));
            }
        }
        return Err(format!("unable to parse requirement: `{part}`"));
    }
    Ok((identifier(part)?, Operator::Exists))
}

fn identifier(key: &str) -> Result<String, String> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(key.to_string())
    } else {
        Err(format!("invalid label key \"{key}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_pattern_without_regex_syntax_matches_only_itself() {
        for (pattern, value, expected) in [
            ("Deployment", "Deployment", true),
            ("Deployment", "deployment", false),
            ("Deployment", "MyDeployment", false),
            ("app-1_x", "app-1_x", true),
            ("app-1", "app-10", false),
            ("a.b", "axb", true),
            ("web|api", "api", true),
            ("web.*", "webapp", true),
        ] {
            let parsed = Pattern::parse(pattern).unwrap();
            assert_eq!(parsed.is_match(value), expected, "{pattern} {value}");
            let regex = GoRegex::new(&format!("^(?:{pattern})$")).unwrap();
            assert_eq!(regex.is_match(value), expected, "{pattern} {value}");
        }
        assert!(Pattern::parse("a(").is_err());
    }

    #[test]
    fn label_selectors_follow_kubernetes() {
        let l = labels(&[("registry", "a"), ("tier", "web")]);
        for (selector, expected) in [
            ("registry=a", true),
            ("registry==a", true),
            ("registry!=a", false),
            ("registry!=b", true),
            ("missing!=b", true),
            ("registry in (a, b)", true),
            ("registry notin (a)", false),
            ("missing notin (a)", true),
            ("registry", true),
            ("!registry", false),
            ("!missing", true),
            ("registry=a,tier=web", true),
            ("registry=a,tier in (db)", false),
        ] {
            assert_eq!(
                LabelSelector::parse(selector)
                    .unwrap()
                    .matches(|key| l.get(key).map(String::as_str)),
                expected,
                "{selector}"
            );
        }
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("a,,b").is_err());
    }
}
