//! What a plain scalar is to Kubernetes: `sigs.k8s.io/yaml` (which kubectl, kustomize's
//! kustomization loader, Helm and Flux's controllers decode with) resolves it as go-yaml v2
//! does, YAML 1.1 with Go's number parsing, before turning the document into JSON.

/// The JSON type a plain, untagged scalar becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainType {
    String,
    Number,
    Bool,
    Null,
    /// `.inf`, `-.inf`, `.nan`: floats JSON cannot hold. A document holding one fails to
    /// convert ("json: unsupported value: +Inf"), whatever the field.
    NotFinite(&'static str),
}

impl PlainType {
    /// The name Go's `encoding/json` gives the type in "cannot unmarshal … into" errors.
    pub fn json_name(self) -> &'static str {
        match self {
            PlainType::String => "string",
            PlainType::Number | PlainType::NotFinite(_) => "number",
            PlainType::Bool => "bool",
            PlainType::Null => "null",
        }
    }
}

/// go-yaml v2's `resolve` for a plain scalar: the exact spellings of its map (`yes`, `Off`,
/// `~`, `.inf`, but not `yEs`), then, for text opening with a digit or a sign, Go's
/// `ParseInt(text, 0, 64)` with underscores removed (`0x1F`, `0o17`, `017`, `1_000`), `ParseUint`,
/// and a float in YAML's style (`1.10`, `1.`, `1e3`) that Go parses finite; for text opening with
/// `.`, Go's `ParseFloat`. Anything else is a string: sexagesimal `1:30`, dates (which
/// `sigs.k8s.io/yaml` keeps as written), `08` is a float.
pub fn plain_type(text: &str) -> PlainType {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "n"
        | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return PlainType::Bool
        }
        "" | "~" | "null" | "Null" | "NULL" => return PlainType::Null,
        ".nan" | ".NaN" | ".NAN" => return PlainType::NotFinite("NaN"),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return PlainType::NotFinite("+Inf")
        }
        "-.inf" | "-.Inf" | "-.INF" => return PlainType::NotFinite("-Inf"),
        _ => {}
    }
    let is_number = match text.as_bytes()[0] {
        b'.' => is_finite_float(text),
        b'0'..=b'9' | b'+' | b'-' => {
            let plain = text.replace('_', "");
            go_parses_integer(&plain) || (is_yaml_style_float(&plain) && is_finite_float(&plain))
        }
        _ => false,
    };
    if is_number {
        PlainType::Number
    } else {
        PlainType::String
    }
}

/// Whether Go's `ParseInt(text, 0, 64)` or `ParseUint(text, 0, 64)` accepts `text`: an optional
/// sign (none for `ParseUint`), then `0x`, `0o`, `0b` (any case) or a leading `0` for octal, and
/// digits of that base within the type's range.
fn go_parses_integer(text: &str) -> bool {
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'+' | b'-') => (Some(text.as_bytes()[0]), &text[1..]),
        _ => (None, text),
    };
    let bytes = unsigned.as_bytes();
    let (radix, digits) = match bytes {
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'x') => (16, &unsigned[2..]),
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'o') => (8, &unsigned[2..]),
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'b') => (2, &unsigned[2..]),
        [b'0'] => return true,
        [b'0', ..] => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    // `from_str_radix` takes a sign of its own, which Go refuses after a prefix.
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return false;
    }
    let Ok(value) = u128::from_str_radix(digits, radix) else {
        return false;
    };
    match sign {
        Some(b'-') => value <= 1 << 63,
        Some(_) => value <= i64::MAX as u128,
        None => value <= u64::MAX as u128,
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => !fraction.is_empty() && digits(fraction),
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Go's `ParseFloat` succeeds on decimal text: out of range (`1e400`) is an error there.
fn is_finite_float(text: &str) -> bool {
    let digits_only = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    digits_only && text.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case as `kubectl kustomize` (kustomize v5.5.0) decodes it as an image's `newTag`:
    /// a string builds, anything else fails with the type named.
    #[test]
    fn resolves_as_kustomize_decodes_a_kustomization() {
        let cases = [
            ("20231010", PlainType::Number),
            ("1.10", PlainType::Number),
            ("1.", PlainType::Number),
            (".5", PlainType::Number),
            ("1e3", PlainType::Number),
            ("0x1F", PlainType::Number),
            ("0o17", PlainType::Number),
            ("017", PlainType::Number),
            ("08", PlainType::Number),
            ("0", PlainType::Number),
            ("1_000", PlainType::Number),
            ("1_2.5", PlainType::Number),
            ("-0b11", PlainType::Number),
            ("99999999999999999999", PlainType::Number),
            ("true", PlainType::Bool),
            ("yes", PlainType::Bool),
            ("on", PlainType::Bool),
            ("y", PlainType::Bool),
            ("~", PlainType::Null),
            ("null", PlainType::Null),
            (".inf", PlainType::NotFinite("+Inf")),
            (".nan", PlainType::NotFinite("NaN")),
            ("yEs", PlainType::String),
            ("1:30", PlainType::String),
            ("12:30", PlainType::String),
            ("2024-01-01", PlainType::String),
            ("0o19", PlainType::String),
            ("0xFFFFFFFFFFFFFFFFFFFF", PlainType::String),
            ("1e400", PlainType::String),
            ("1.2.3", PlainType::String),
            ("v1.2", PlainType::String),
            ("1.0-alpine", PlainType::String),
            ("e3", PlainType::String),
            ("1e", PlainType::String),
            (".", PlainType::String),
            ("+", PlainType::String),
            ("0x", PlainType::String),
            ("0x+1", PlainType::String),
            ("inf", PlainType::String),
            ("sha256:abc", PlainType::String),
        ];
        for (text, expected) in cases {
            assert_eq!(plain_type(text), expected, "{text}");
        }
    }
}
