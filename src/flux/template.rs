//! A commit message template as image-automation-controller runs it (Go's `text/template` over
//! its `TemplateData`): which fields it reads from that data. Only the actions (`{{ … }}`) are
//! read, without their comments and quoted text; the text between them is the message itself.

/// A field chain read from the data the template runs on (`.Changed.Changes`, `$.Values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootRead<'t> {
    /// As written, from its first `.` (`$` left out).
    pub chain: &'t str,
    /// Read whatever the changes are: outside every `if`, `range`, `with`, `define` and `block`
    /// (whose body may not run, or runs with another dot), or in the pipeline that opens one.
    pub always: bool,
}

impl<'t> RootRead<'t> {
    /// The field of the data it starts with (`Changed` of `.Changed.Changes`).
    pub fn field(&self) -> &'t str {
        let name = &self.chain[1..];
        name.split('.').next().unwrap_or(name)
    }
}

/// Every field chain the template's actions read from the data it runs on, in order.
pub fn root_reads(template: &str) -> Vec<RootRead<'_>> {
    let mut reads = Vec::new();
    // How many blocks enclose the action: their bodies run on a condition or with another dot.
    let mut depth = 0usize;
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = action_end(after) else {
            break;
        };
        let action = trim_markers(&after[..close]);
        rest = &after[close + 2..];
        if action.starts_with("/*") {
            continue;
        }
        let keyword = action
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        let (reads_here, opens) = match keyword {
            "end" => {
                depth = depth.saturating_sub(1);
                continue;
            }
            // Its branch runs on a condition: nothing in it is read for sure.
            "else" => continue,
            "define" => (false, true),
            "if" | "range" | "with" | "block" => (true, true),
            _ => (true, false),
        };
        if reads_here {
            let always = depth == 0;
            reads.extend(chains(action).map(|chain| RootRead { chain, always }));
        }
        if opens {
            depth += 1;
        }
    }
    reads
}

/// Where the action that starts `text` (just after its `{{`) ends: its `}}` outside quoted
/// text and comments.
fn action_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' | b'`' | b'\'' => at = quoted_end(bytes, at)?,
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at += 2 + text[at + 2..].find("*/")? + 2;
            }
            b'}' if bytes.get(at + 1) == Some(&b'}') => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// Just past the quoted text (`"…"` with escapes, `` `…` `` raw, `'…'` a character) that
/// starts at `at`.
fn quoted_end(bytes: &[u8], at: usize) -> Option<usize> {
    let quote = bytes[at];
    let mut end = at + 1;
    while end < bytes.len() {
        match bytes[end] {
            b'\\' if quote != b'`' => end += 2,
            b if b == quote => return Some(end + 1),
            _ => end += 1,
        }
    }
    None
}

/// The action without its trim markers (`{{- ` and ` -}}`) and the space around it.
fn trim_markers(action: &str) -> &str {
    let action = action.trim();
    let action = action
        .strip_prefix('-')
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .unwrap_or(action);
    let action = action
        .strip_suffix('-')
        .filter(|rest| rest.ends_with(char::is_whitespace))
        .unwrap_or(action);
    action.trim()
}

/// The field chains of one action that start at the data (`.A.B`, `$.A`): not a field of a
/// variable (`$c.A`), of a call's result (`(…).A`) or of another field, and not inside quoted
/// text.
fn chains(action: &str) -> impl Iterator<Item = &str> {
    let bytes = action.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            match bytes[at] {
                b'"' | b'`' | b'\'' => at = quoted_end(bytes, at).unwrap_or(bytes.len()),
                b'.' => {
                    let start = at;
                    let root = match start.checked_sub(1).map(|before| bytes[before]) {
                        Some(b'$') => start < 2 || !is_name(bytes[start - 2]),
                        Some(before) => !(is_name(before) || matches!(before, b'.' | b')')),
                        None => true,
                    };
                    at += 1;
                    while at < bytes.len()
                        && (is_name(bytes[at]) || (bytes[at] == b'.' && at > start + 1))
                    {
                        at += 1;
                    }
                    let chain = action[start..at].trim_end_matches('.');
                    // A field's name starts with a letter or `_`: `.5` is a number, `.` the dot.
                    let named = chain
                        .as_bytes()
                        .get(1)
                        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
                    if root && named {
                        return Some(chain);
                    }
                }
                _ => at += 1,
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(template: &str) -> Vec<(&str, bool)> {
        root_reads(template)
            .iter()
            .map(|read| (read.chain, read.always))
            .collect()
    }

    #[test]
    fn chains_are_read_from_actions_only() {
        assert_eq!(
            read("Automated update. {{ .AutomationObject }} to .NewImage"),
            [(".AutomationObject", true)]
        );
        assert_eq!(read("bump to {{ .NewImage }}"), [(".NewImage", true)]);
        assert_eq!(
            read("{{- .LatestImage.Tag -}}"),
            [(".LatestImage.Tag", true)]
        );
        assert_eq!(
            read(r#"{{ printf ".Nope %s" .Values.env }}{{/* .Nope */}}{{ "}}" }}"#),
            [(".Values.env", true)]
        );
        assert_eq!(
            read("{{ 1.5 }}{{ . }}{{ $c.Nope }}{{ (.Changed).Nope }}"),
            [(".Changed", true)]
        );
    }

    #[test]
    fn a_block_reads_its_pipeline_for_sure_and_its_body_maybe() {
        assert_eq!(
            read("{{range .Changed.Changes}}{{.NewValue}}{{$.Values.x}}{{end}}{{.Values}}"),
            [
                (".Changed.Changes", true),
                (".NewValue", false),
                (".Values.x", false),
                (".Values", true)
            ]
        );
        assert_eq!(
            read("{{ if .Changed }}{{ .A }}{{ else }}{{ .B }}{{ end }}{{ define \"x\" }}{{ .C }}{{ end }}{{ .D }}"),
            [(".Changed", true), (".A", false), (".B", false), (".C", false), (".D", true)]
        );
        assert_eq!(
            read("{{ with $c := .Changed }}{{ end }}"),
            [(".Changed", true)]
        );
    }

    #[test]
    fn an_unclosed_action_reads_nothing_more() {
        assert_eq!(read("{{ .A }} {{ .B "), [(".A", true)]);
        assert_eq!(read("{{ \"}} .B"), []);
        let field = RootRead {
            chain: ".Changed.Changes",
            always: true,
        };
        assert_eq!(field.field(), "Changed");
    }
}
