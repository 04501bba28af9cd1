//! Go `Regexp.Expand` templates: how Flux turns a filter match into the value
//! the policy compares (`filterTags.extract`).
//!
//! Written here rather than using `regex::Captures::expand` because the two
//! disagree on edge cases that change selected values: Go reads `$01` as the
//! group NAMED "01" (leading zeros disable the number), while Rust reads it as
//! group 1; Go's names are Unicode letters/digits/underscore, Rust's ASCII only;
//! and the group names themselves come from the Go pattern (Go allows names
//! such as `1x` that the Rust engine cannot carry, see `goregex`).
//!
//! The template is parsed once into pieces so expanding 10,000 tags is a walk
//! over a short vector.

use std::sync::OnceLock;

/// One parsed piece of an extract template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `$n` / `${n}`: the group with that index (empty if absent/unmatched).
    Index(usize),
    /// `$name` / `${name}`: the first group with that name (empty if none).
    Name(String),
}

/// A parsed `extract` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parse a Go template. Never fails: Go treats a malformed `$` as text.
    pub fn parse(template: &str) -> Template {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(pos) = rest.find('$') {
            text.push_str(&rest[..pos]);
            rest = &rest[pos + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                text.push('$');
                rest = after;
                continue;
            }
            match reference(rest) {
                Some((piece, after)) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                    rest = after;
                }
                None => text.push('$'),
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Template { pieces }
    }

    /// Expand over one match. `group(i)` yields the text of group `i` if it
    /// participated; `names[i]` is the Go name of group `i` (index 0 unnamed).
    pub fn expand<'t>(
        &self,
        names: &[Option<String>],
        group: impl Fn(usize) -> Option<&'t str>,
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Index(i) => out.push_str(group(*i).unwrap_or("")),
                Piece::Name(n) => {
                    // Go allows duplicate names; the first one that took
                    // part in the match wins.
                    let hit = names
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| g.as_deref() == Some(n.as_str()))
                        .find_map(|(i, _)| group(i));
                    out.push_str(hit.unwrap_or(""));
                }
            }
        }
        out
    }

    /// Whether it refers to no group: Go copies it as it is, every tag the same text.
    pub fn refers_to_no_group(&self) -> bool {
        self.pieces
            .iter()
            .all(|piece| matches!(piece, Piece::Text(_)))
    }

    /// Group references that the pattern cannot satisfy (always expand to
    /// empty in Flux): useful for lint messages, never an error in Flux.
    pub fn unknown_references(&self, names: &[Option<String>]) -> Vec<String> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Index(i) if *i >= names.len() => Some(format!("${i}")),
                Piece::Name(n) if !names.iter().any(|g| g.as_deref() == Some(n.as_str())) => {
                    Some(format!("${n}"))
                }
                _ => None,
            })
            .collect()
    }

    /// How many times at most the expansion holds `wanted`, given which groups may hold it
    /// (`may_hold[i]` for group `i`, `names` as for [`Template::expand`]): `None` when a group
    /// the template names may hold it, any number of times.
    pub fn at_most(
        &self,
        wanted: char,
        names: &[Option<String>],
        may_hold: &[bool],
    ) -> Option<usize> {
        let group_may_hold = |i: usize| may_hold.get(i).copied().unwrap_or(false);
        self.pieces.iter().try_fold(0, |count, piece| match piece {
            Piece::Text(text) => Some(count + text.matches(wanted).count()),
            Piece::Index(i) => (!group_may_hold(*i)).then_some(count),
            Piece::Name(name) => names
                .iter()
                .enumerate()
                .filter(|(_, g)| g.as_deref() == Some(name.as_str()))
                .all(|(i, _)| !group_may_hold(i))
                .then_some(count),
        })
    }

    /// True when the template is the whole match (`$0`), i.e. a no-op extract.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

/// After a `$`: `name` or `{name}`; `None` when malformed (the `$` is text).
fn reference(s: &str) -> Option<(Piece, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| is_name_char(c))
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut after = &body[len..];
    if braced {
        after = after.strip_prefix('}')?;
    }
    Some((classify(name), after))
}

/// Go: a name made only of digits, without a leading zero and of at most nine
/// digits (Go stops at 1e8 before the last digit), is a group number; anything
/// else is looked up by name.
fn classify(name: &str) -> Piece {
    let numeric = name.bytes().all(|b| b.is_ascii_digit())
        && !(name.len() > 1 && name.starts_with('0'))
        && name.len() <= 9;
    match name.parse::<usize>() {
        Ok(n) if numeric => Piece::Index(n),
        _ => Piece::Name(name.to_string()),
    }
}

/// Go `unicode.IsLetter || unicode.IsDigit || '_'` (categories L and Nd).
fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    static CLASS: OnceLock<regex::Regex> = OnceLock::new();
    let re = CLASS.get_or_init(|| regex::Regex::new(r"^[\p{L}\p{Nd}]$").expect("static class"));
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expand with an explicit group table: (name, text) per index.
    fn run(template: &str, groups: &[(Option<&str>, Option<&str>)]) -> String {
        let names: Vec<Option<String>> = groups.iter().map(|g| g.0.map(str::to_string)).collect();
        Template::parse(template).expand(&names, |i| groups.get(i).and_then(|g| g.1))
    }

    const G: &[(Option<&str>, Option<&str>)] = &[
        (None, Some("main-abc123-1700000000")),
        (None, Some("abc123")),
        (Some("ts"), Some("1700000000")),
        (Some("1x"), Some("named-1x")),
        (Some("01"), Some("named-01")),
        (Some("opt"), None),
    ];

    #[test]
    fn numbered_and_named_forms() {
        assert_eq!(run("$1", G), "abc123");
        assert_eq!(run("${1}", G), "abc123");
        assert_eq!(run("$ts", G), "1700000000");
        assert_eq!(run("${ts}", G), "1700000000");
        assert_eq!(run("$0", G), "main-abc123-1700000000");
        assert_eq!(run("v$1-${ts}", G), "vabc123-1700000000");
    }

    #[test]
    fn longest_name_run() {
        // `$1x` is the group NAMED "1x", not group 1 followed by "x".
        assert_eq!(run("$1x", G), "named-1x");
        assert_eq!(run("${1}x", G), "abc123x");
        assert_eq!(run("$tsx", G), "");
        assert_eq!(run("$ts.", G), "1700000000.");
    }

    #[test]
    fn leading_zero_is_a_name() {
        assert_eq!(run("$01", G), "named-01");
        assert_eq!(run("$00", G), "");
    }

    #[test]
    fn unknown_or_unmatched_groups_are_empty() {
        assert_eq!(run("[$9]", G), "[]");
        assert_eq!(run("[$nope]", G), "[]");
        assert_eq!(run("[$opt]", G), "[]");
        assert_eq!(run("[$999999999]", G), "[]");
    }

    #[test]
    fn dollar_escapes_and_malformed() {
        assert_eq!(run("$$", G), "$");
        assert_eq!(run("$$1", G), "$1");
        assert_eq!(run("a$", G), "a$");
        assert_eq!(run("$-1", G), "$-1");
        assert_eq!(run("${1", G), "${1");
        assert_eq!(run("${}", G), "${}");
        assert_eq!(run("${ts}}", G), "1700000000}");
        assert_eq!(run("$ $1", G), "$ abc123");
        assert_eq!(run("", G), "");
    }

    #[test]
    fn duplicate_names_take_first_participating() {
        let g: &[(Option<&str>, Option<&str>)] =
            &[(None, Some("b")), (Some("x"), None), (Some("x"), Some("b"))];
        assert_eq!(run("[$x]", g), "[b]");
    }

    #[test]
    fn unicode_names() {
        let g: &[(Option<&str>, Option<&str>)] = &[(None, Some("x")), (Some("é"), Some("E"))];
        assert_eq!(run("$é", g), "E");
        assert_eq!(run("$é-", g), "E-");
    }

    #[test]
    fn a_template_without_a_reference_refers_to_no_group() {
        assert!(Template::parse("version").refers_to_no_group());
        assert!(Template::parse("v$$1").refers_to_no_group());
        assert!(!Template::parse("v$1").refers_to_no_group());
        assert!(!Template::parse("${version}").refers_to_no_group());
    }

    #[test]
    fn unknown_references_for_lint() {
        let names = vec![None, None, Some("ts".to_string())];
        let t = Template::parse("$1-$ts-$3-$nope-$$x");
        assert_eq!(t.unknown_references(&names), vec!["$3", "$nope"]);
    }

    #[test]
    fn dots_an_expansion_holds_at_most() {
        let names = vec![None, Some("major".to_string()), Some("minor".to_string())];
        let count = |template: &str, may_hold: &[bool]| {
            Template::parse(template).at_most('.', &names, may_hold)
        };
        assert_eq!(count("$major.$minor", &[true, false, false]), Some(1));
        assert_eq!(count("v${1}", &[true, false, false]), Some(0));
        assert_eq!(count("$major.$minor.0", &[true, false, false]), Some(2));
        // A group that may hold a dot, the whole match among them: any number.
        assert_eq!(count("$major.$minor", &[false, false, true]), None);
        assert_eq!(count("$0", &[true, false, false]), None);
    }
}
