//! Keep credentials embedded in remote URLs out of every message.

/// Replace the user-info part of every `scheme://user:secret@host` in `text` with `***`.
///
/// The whole user-info is hidden, not only the password: a lone user name is
/// often a token (`https://ghp_xxx@github.com/...`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\'' | '"' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn hides_user_info() {
        assert_eq!(
            redact("fatal: unable to access 'https://user:s3cret@git.example/x.git/': refused"),
            "fatal: unable to access 'https://***@git.example/x.git/': refused"
        );
        assert_eq!(
            redact("https://ghp_token@github.com/o/r"),
            "https://***@github.com/o/r"
        );
        assert_eq!(
            redact("a http://u:p@w@h:1 b ssh://git@h/r c"),
            "a http://***@h:1 b ssh://***@h/r c"
        );
    }

    #[test]
    fn leaves_other_text_alone() {
        for s in [
            "",
            "origin",
            "file:///tmp/remote.git",
            "https://host/path@v1",
            "git@github.com:o/r.git",
            "weird ://",
            "ünïcode https://høst/ä",
        ] {
            assert_eq!(redact(s), s);
        }
    }
}
