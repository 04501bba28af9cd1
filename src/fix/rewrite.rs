//! Byte-exact rewriting: only a scalar's bytes change. Its quote style is kept; a plain value
//! whose new text YAML would read as a number, boolean or null (`1.10`, `10`, `yes`), or that is
//! not a valid plain scalar, is written double-quoted — never with a type tag, unlike Flux's
//! re-serialisation (which also reflows the file and turns CRLF into LF).

use crate::scan::yaml::{may_read_as_non_string, Style};
use crate::source::Span;

/// The source text of a scalar holding `value`, in the old scalar's style.
pub fn render_scalar(style: Style, value: &str) -> String {
    match style {
        Style::Plain if may_read_as_non_string(value) || !is_safe_plain(value) => {
            double_quoted(value)
        }
        Style::Plain => value.to_string(),
        Style::SingleQuoted if value.chars().all(|c| c != '\n' && !c.is_control()) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        _ => double_quoted(value),
    }
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value` reads back unchanged as a plain scalar in block context.
fn is_safe_plain(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let starts_badly =
        matches!(
            first,
            '-' | '?'
                | ':'
                | ','
                | '['
                | ']'
                | '{'
                | '}'
                | '#'
                | '&'
                | '*'
                | '!'
                | '|'
                | '>'
                | '\''
                | '"'
                | '%'
                | '@'
                | '`'
        ) && !(matches!(first, '-' | '?' | ':') && value.len() > 1 && !value[1..].starts_with(' '));
    !starts_badly
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value.ends_with(' ')
        && !value.starts_with(' ')
        && value.chars().all(|c| !c.is_control())
}

/// `bytes` with each span replaced; spans must not overlap. Every other byte is copied as it is.
pub fn splice(bytes: &[u8], edits: &[(Span, &str)]) -> Vec<u8> {
    let mut edits: Vec<&(Span, &str)> = edits.iter().collect();
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut at = 0;
    for (span, replacement) in edits {
        assert!(span.start >= at, "overlapping edits");
        out.extend_from_slice(&bytes[at..span.start]);
        out.extend_from_slice(replacement.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_the_old_style_and_yaml_types() {
        assert_eq!(render_scalar(Style::Plain, "1.2.3"), "1.2.3");
        assert_eq!(render_scalar(Style::Plain, "v1.2"), "v1.2");
        assert_eq!(render_scalar(Style::Plain, "2021-01-01"), "2021-01-01");
        assert_eq!(render_scalar(Style::Plain, "1.10"), "\"1.10\"");
        assert_eq!(render_scalar(Style::Plain, "10"), "\"10\"");
        assert_eq!(render_scalar(Style::Plain, "yes"), "\"yes\"");
        assert_eq!(
            render_scalar(Style::Plain, "ghcr.io/org/app:1.0@sha256:ab"),
            "ghcr.io/org/app:1.0@sha256:ab"
        );
        assert_eq!(render_scalar(Style::SingleQuoted, "1.10"), "'1.10'");
        assert_eq!(render_scalar(Style::SingleQuoted, "it's"), "'it''s'");
        assert_eq!(render_scalar(Style::DoubleQuoted, "a\"b"), "\"a\\\"b\"");
        assert_eq!(render_scalar(Style::Plain, "@latest"), "\"@latest\"");
        assert_eq!(render_scalar(Style::Plain, "-rc1"), "-rc1");
    }

    #[test]
    fn splice_changes_only_the_spans() {
        let text = b"a: 1 # \xe9\r\nb: 'q'\r\n";
        let out = splice(
            text,
            &[(Span::new(13, 16), "'z'"), (Span::new(3, 4), "\"2\"")],
        );
        assert_eq!(out, b"a: \"2\" # \xe9\r\nb: 'z'\r\n");
    }
}
