//! Anchor and alias names as Flux reads them. yaml.v3 (kyaml: kustomize-controller, image
//! automation) ends a name at the first character that is not an ASCII letter, digit, `_` or
//! `-`, and that character must be a blank, a line break, the end of the text or one of
//! ``? : , ] } % @ ` ``, or the file does not parse. YAML 1.2, which granit-parser follows,
//! runs a name on to the next blank or flow indicator, so that `*app:`, the alias `app` used as
//! a key for Flux, is the unknown alias `app:` there, and `&a.b` an anchor Flux refuses.
//! (`kubectl kustomize`, kustomize 5.5, reads them so.) granit-parser is given the text with a
//! space where yaml.v3 ends a name and it would not, and the spans it gives are mapped back.

use std::borrow::Cow;

use granit_parser::{Scanner, StrInput, TokenType};
use memchr::memchr2_iter;

use super::{YamlError, YamlErrorKind};

/// The text granit-parser reads.
pub(super) struct Spaced<'t> {
    pub text: Cow<'t, str>,
    /// Offsets in `text` of the spaces it has that the file does not, ascending.
    spaces: Vec<usize>,
}

/// The first name yaml.v3 refuses: where its `&` or `*` is in the file, and the error.
pub(super) type Refused = Option<(usize, YamlError)>;

impl<'t> Spaced<'t> {
    /// `text` with a space before each offset of `before` (ascending).
    fn new(text: &'t str, before: &[usize]) -> Spaced<'t> {
        if before.is_empty() {
            return Spaced {
                text: Cow::Borrowed(text),
                spaces: Vec::new(),
            };
        }
        let mut spaced = String::with_capacity(text.len() + before.len());
        let mut spaces = Vec::with_capacity(before.len());
        let mut copied = 0;
        for &at in before {
            spaced.push_str(&text[copied..at]);
            spaces.push(spaced.len());
            spaced.push(' ');
            copied = at;
        }
        spaced.push_str(&text[copied..]);
        Spaced {
            text: Cow::Owned(spaced),
            spaces,
        }
    }

    /// The offset in the file of an offset in `text`: an inserted space sits where the
    /// character after it does.
    pub fn original(&self, offset: usize) -> usize {
        offset - self.spaces.partition_point(|&space| space < offset)
    }
}

/// The file's text as granit-parser should read it to find the names yaml.v3 finds, and the
/// first name yaml.v3 refuses.
pub(super) fn spaced(text: &str) -> (Spaced<'_>, Refused) {
    let mut before: Vec<usize> = Vec::new();
    if !may_differ(text) {
        return (Spaced::new(text, &before), None);
    }
    // Past a name granit-parser reads too far, its tokens are not yaml.v3's: a `*` it took for
    // an alias may sit in a scalar for yaml.v3, and a name yaml.v3 reads may hide in the rest
    // (`[*a:*b:x]`). The text is read again with the spaces found until the tokens agree: two
    // readings for real files. Text made to hide names in names for more is left as the last
    // reading spaced it, so that it costs a few readings, not one per name.
    for _ in 0..MAX_READINGS {
        let spaced = Spaced::new(text, &before);
        let mut found = Vec::new();
        let mut refused = None;
        let mut flow_depth = 0usize;
        // A scanner error ends the search: parsing the same text reports it.
        for token in Scanner::new(StrInput::new(&spaced.text)).map_while(Result::ok) {
            let is_alias = match token.token_type() {
                TokenType::Alias(_) => true,
                TokenType::Anchor(_) => false,
                TokenType::FlowSequenceStart | TokenType::FlowMappingStart => {
                    flow_depth += 1;
                    continue;
                }
                TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                    flow_depth = flow_depth.saturating_sub(1);
                    continue;
                }
                _ => continue,
            };
            let Some(range) = token.span().byte_range() else {
                continue;
            };
            let name_start = range.start + 1;
            match name_end(&spaced.text[name_start..]) {
                Ok(length) if name_start + length < range.end => {
                    let end = name_start + length;
                    found.push(spaced.original(end));
                    // In a flow collection a `:` is a value indicator for yaml.v3 whatever
                    // follows it (`[*a:b]` is `[{*a: b}]`); granit-parser wants a space after it.
                    let after = &spaced.text.as_bytes()[end..];
                    if flow_depth > 0
                        && after.first() == Some(&b':')
                        && !after
                            .get(1)
                            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        found.push(spaced.original(end + 1));
                    }
                }
                Ok(_) => {}
                Err(length) => {
                    let what = if is_alias { "alias" } else { "anchor" };
                    let message = format!(
                        "while scanning an {what}, did not find expected alphabetic or numeric \
                         character (Flux's YAML parser allows only ASCII letters, digits, `_` \
                         and `-` in anchor and alias names)"
                    );
                    let offset = spaced.original(name_start + length);
                    let error = YamlError::new(message, offset, YamlErrorKind::Syntax);
                    refused = Some((spaced.original(range.start), error));
                    break;
                }
            }
        }
        if found.is_empty() {
            return (spaced, refused);
        }
        before.extend(found);
        before.sort_unstable();
        before.dedup();
    }
    (Spaced::new(text, &before), None)
}

const MAX_READINGS: usize = 8;

/// Whether some `&` or `*` is followed by what yaml.v3 and granit-parser read differently, were
/// it a name: no name character, or something after them other than what ends a name for both.
fn may_differ(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr2_iter(b'&', b'*', bytes).any(|at| {
        let rest = &bytes[at + 1..];
        let length = rest.iter().take_while(|&&b| is_name_byte(b)).count();
        length == 0
            || rest
                .get(length)
                .is_some_and(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}'))
    })
}

/// The length of the name yaml.v3 reads at the start of `text` (after the `&` or `*`), or, when
/// it refuses the name, the length it read before the character it refuses.
fn name_end(text: &str) -> Result<usize, usize> {
    let length = text.bytes().take_while(|&b| is_name_byte(b)).count();
    let ends_name = |c: char| {
        matches!(
            c,
            ' ' | '\t'
                | '\r'
                | '\n'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
                | '?'
                | ':'
                | ','
                | ']'
                | '}'
                | '%'
                | '@'
                | '`'
        )
    };
    if length > 0 && text[length..].chars().next().is_none_or(ends_name) {
        Ok(length)
    } else {
        Err(length)
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What yaml.v3 (`kubectl kustomize`, kustomize 5.5) reads after an `&` or `*`.
    #[test]
    fn names_end_as_in_yaml_v3() {
        for (text, length) in [
            ("a v", 1),
            ("a-b_C9 v", 6),
            ("9 v", 1),
            ("- v", 1),
            ("_ v", 1),
            ("a", 1),
            ("a\n", 1),
            ("a\r\n", 1),
            ("a\tb", 1),
            ("app:", 3),
            ("app: x", 3),
            ("a:b v", 1),
            ("a,b", 1),
            ("a]", 1),
            ("a}", 1),
            // yaml.v3 ends the name, then refuses the next token.
            ("a?", 1),
            ("a%", 1),
            ("a@", 1),
            ("a`", 1),
            ("a\u{85}", 1),
        ] {
            assert_eq!(name_end(text), Ok(length), "{text:?}");
        }
        for (text, read) in [
            ("", 0),
            (" v", 0),
            (":a", 0),
            (".a", 0),
            ("é", 0),
            ("aé", 1),
            ("a.b", 1),
            ("a/b", 1),
            ("a[1]", 1),
            ("a{1}", 1),
            ("a#", 1),
        ] {
            assert_eq!(name_end(text), Err(read), "{text:?}");
        }
        for c in ";=+~$!*&|>'\"(<\\^".chars() {
            assert_eq!(name_end(&format!("a{c} v")), Err(1), "{c:?}");
        }
    }

    #[test]
    fn text_that_reads_the_same_is_not_copied() {
        for text in [
            "a: &x v\nb: *x\nc: [*x, *x]\nd: {k: *x}\n",
            "a: b\n",
            "a: *x\n",
            "",
        ] {
            assert!(!may_differ(text), "{text:?}");
            assert!(matches!(
                spaced(text),
                (
                    Spaced {
                        text: Cow::Borrowed(_),
                        ..
                    },
                    None
                )
            ));
        }
        let (spaced, refused) = spaced("a: &x v\nb:\n  *x:\n    c: [*x:y]\n");
        assert_eq!(spaced.text, "a: &x v\nb:\n  *x :\n    c: [*x : y]\n");
        assert!(refused.is_none());
        assert_eq!(spaced.original(15), 15);
        assert_eq!(spaced.original(16), 15);
        assert_eq!(spaced.original(17), 16);
        assert_eq!(spaced.original(spaced.text.len()), spaced.text.len() - 3);
    }

    #[test]
    fn names_hidden_in_misread_names_are_found() {
        let (spaced, _) = spaced("a: &x v\nb: [*x:*x:*x]\n");
        assert_eq!(spaced.text, "a: &x v\nb: [*x : *x : *x]\n");
        // Past a few readings, the text is read as spaced so far: no reading per name.
        let chain = format!("a: &x v\nb: [{}x]\n", "*x:".repeat(100));
        let (spaced, _) = super::spaced(&chain);
        assert!(spaced.text.len() < chain.len() + 2 * (MAX_READINGS + 1));
    }
}
