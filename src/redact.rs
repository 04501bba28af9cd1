//! Keeping secrets out of every message: what a registry, a forge, git or a malformed config file
//! says goes through here before it is printed, logged or put in a JSON report. Shared by the
//! registry and forge clients and the git remote commands.
//!
//! Hidden as `***`: the user-info of URLs (`https://user:token@host`), the credential after an
//! `Authorization` scheme (`Bearer …`, `Basic …`, `token …`), the value of secret-named fields
//! (`"auth": "…"`, `password=…`, `access_token: …`), values a parser echoes (serde's
//! `string "…"`), and every secret the caller knows it sent.

/// `text` with every secret pattern hidden.
pub fn redact(text: &str) -> String {
    redact_with(text, &[])
}

/// [`redact`], and every occurrence of each of `secrets` (tokens, passwords, `Authorization`
/// values the caller sent) hidden too.
pub fn redact_with(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    // Longest first, so a secret containing another is hidden whole.
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| s.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        text = text.replace(secret, "***");
    }
    let text = url_userinfo(&text);
    let text = hide_values(
        &text,
        &["bearer", "basic", "token"],
        |between| between == " ",
        true,
    );
    let text = hide_values(
        &text,
        SECRET_FIELDS,
        |between| between.contains([':', '=']),
        false,
    );
    hide_values(&text, &["string"], |between| between == " ", false)
}

/// Field names whose value is a secret, as they appear before `:`, `=` or `": "`.
const SECRET_FIELDS: &[&str] = &[
    "auth",
    "password",
    "passwd",
    "token",
    "access_token",
    "refresh_token",
    "identitytoken",
    "registrytoken",
    "secret",
    "authorization",
];

/// Hides the value after each of `words` (whole words, case-insensitive) when the characters
/// between word and value (spaces, quotes, `:`, `=`) pass `between`. A value is a quoted string
/// or a run up to a space or delimiter; with `credential_only`, only a run that looks like a
/// credential (see [`looks_like_credential`]), so prose such as `Basic challenge` stays.
fn hide_values(
    text: &str,
    words: &[&str],
    between: fn(&str) -> bool,
    credential_only: bool,
) -> String {
    let lower = text.to_ascii_lowercase();
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some((start, word)) = words
        .iter()
        .filter_map(|w| lower[search..].find(w).map(|i| (search + i, *w)))
        .min_by_key(|&(i, w)| (i, std::cmp::Reverse(w.len())))
    {
        let word_end = start + word.len();
        search = word_end;
        let whole_word = !text[..start].chars().next_back().is_some_and(is_word_char)
            && !text[word_end..].chars().next().is_some_and(is_word_char);
        if !whole_word {
            continue;
        }
        let gap = text[word_end..]
            .find(|c: char| !matches!(c, ' ' | ':' | '=' | '"' | '\''))
            .unwrap_or(text.len() - word_end);
        let separator = &text[word_end..word_end + gap];
        // A quote opening the value belongs to it, not to the separator.
        let (separator, quoted) = match separator.strip_suffix('"') {
            Some(rest) if !rest.is_empty() || separator == "\"" => (rest, true),
            _ => (separator, false),
        };
        if !between(separator) {
            continue;
        }
        let value_start = word_end + separator.len() + usize::from(quoted);
        let rest = &text[value_start..];
        let value_len = if quoted {
            quoted_end(rest)
        } else {
            rest.find(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | '&' | '}' | ']' | ')' | '\'' | '"')
            })
            .unwrap_or(rest.len())
        };
        let value = &rest[..value_len];
        // `Authorization: Bearer …`: the scheme stays, its credential is hidden on its own.
        let is_scheme = ["bearer", "basic", "token"]
            .iter()
            .any(|scheme| value.eq_ignore_ascii_case(scheme));
        if value.is_empty()
            || value == "***"
            || is_scheme
            || (credential_only && !looks_like_credential(value))
        {
            continue;
        }
        out.push_str(&text[copied..value_start]);
        out.push_str("***");
        copied = value_start + value_len;
        search = copied;
    }
    out.push_str(&text[copied..]);
    out
}

/// A token or base64 credential rather than a word of prose: at least 8 characters, with a digit
/// or symbol, or upper and lower case after the first character.
fn looks_like_credential(value: &str) -> bool {
    let tail = value.get(1..).unwrap_or("");
    value.len() >= 8
        && (value.chars().any(|c| !c.is_ascii_alphabetic())
            || (tail.chars().any(|c| c.is_ascii_uppercase())
                && tail.chars().any(|c| c.is_ascii_lowercase())))
}

/// Length of a JSON string's content up to its closing quote (escapes skipped).
fn quoted_end(rest: &str) -> usize {
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i,
            _ => escaped = false,
        }
    }
    rest.len()
}

/// Replace the user-info part of every `scheme://user:secret@host` with `***`. The whole
/// user-info is hidden, not only the password: a lone user name is often a token
/// (`https://ghp_xxx@github.com/...`).
fn url_userinfo(text: &str) -> String {
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
    use super::{redact, redact_with};

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
    fn hides_credentials_after_schemes_and_secret_fields() {
        assert_eq!(
            redact("DENIED: bad header Authorization: Bearer eyJhbGciOi.x.y (expired)"),
            "DENIED: bad header Authorization: Bearer *** (expired)"
        );
        assert_eq!(redact("got Basic dXNlcjpwYXNz,"), "got Basic ***,");
        assert_eq!(
            redact(r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz","email":"a@b"}}}"#),
            r#"{"auths":{"ghcr.io":{"auth":"***","email":"a@b"}}}"#
        );
        assert_eq!(
            redact("invalid type: string \"dXNlcjpwYXNz\", expected a map at line 1 column 22"),
            "invalid type: string \"***\", expected a map at line 1 column 22"
        );
        assert_eq!(
            redact("https://auth.example/token?scope=x&access_token=abc123&n=1"),
            "https://auth.example/token?scope=x&access_token=***&n=1"
        );
        assert_eq!(redact("password: hunter22"), "password: ***");
        assert_eq!(
            redact_with("echo: s3cr3t-token and s3cr3t", &["s3cr3t", "s3cr3t-token"]),
            "echo: *** and ***"
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
            "the token service https://auth.example/token answered 500",
            "tokens: 3, authors: 2",
            "MANIFEST_UNKNOWN: manifest unknown",
            "Basic",
        ] {
            assert_eq!(redact(s), s);
        }
    }
}
