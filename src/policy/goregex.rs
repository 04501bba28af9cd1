//! Go RE2 (`regexp.Compile`, Perl flags) acceptance and compilation.
//!
//! Flux compiles `exclusionList` entries and `filterTags.pattern` with Go's
//! `regexp`. The Rust `regex` crate is the same family (RE2, leftmost-first),
//! but the two accept different languages and a few escapes mean different
//! things, so patterns are parsed here with Go's grammar and re-emitted in a
//! form whose meaning is unambiguous to the Rust engine:
//!
//! * rejected like Go: look-around `(?=`/`(?!` (unsupported Perl syntax),
//!   `(?<=`/`(?<!` (Go ≥1.22 reads `(?<` as a named group: invalid name),
//!   back-references `\1`, `(?>`, `(?P=n)`, stacked repeats `a**`/`a++`/`a*?+`,
//!   counts above 1000 (also nested products, Go's `repeatIsValid`), flags
//!   other than `imsU`, `\C`, `\Z`, unknown `\p{..}` names (Go knows only
//!   general categories, scripts and `Any`), unknown `[:name:]`;
//! * accepted like Go although Rust would not: `\Q…\E` (emitted as escaped
//!   literals), octal `\0`/`\12`, `a{` / `a{,5}` / `x{01}` (literal braces),
//!   group names starting with a digit (`(?P<1x>…)`) or repeated (Go allows
//!   duplicates), `(?)`, `^*`, `[a[b]` (Go: no nested classes), `[a&&b]`
//!   (Go: literal `&`), `\<` (Go: literal `<`; Rust ≥1.10: word start);
//! * same meaning on tags: `\d`, `\w`, `\s`, `\b` are ASCII in Go and Unicode
//!   in Rust, so they are emitted as explicit ASCII classes / `(?-u:\b)`.
//!
//! Capture groups are emitted unnamed: the Go names are kept in a side table
//! (indexed like the groups) for `extract` templates.
//!
//! Not modelled: Go's nesting depth (1000) and program size limits, which no
//! tag pattern approaches.

use std::fmt;

/// A pattern compiled with Go semantics.
#[derive(Debug, Clone)]
pub struct GoRegex {
    pub(crate) re: regex::Regex,
    /// Go name of each capture group; index 0 (whole match) is `None`.
    pub(crate) names: Vec<Option<String>>,
}

impl GoRegex {
    /// Compile `pattern` as Go would; the error text is Go's.
    pub fn new(pattern: &str) -> Result<GoRegex, String> {
        let (rust, names) = translate(pattern)?;
        let re = regex::RegexBuilder::new(&rust)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| format!("pattern is valid Go RE2 but the Rust engine refused it: {e}"))?;
        debug_assert_eq!(re.captures_len(), names.len());
        Ok(GoRegex { re, names })
    }

    /// Unanchored "any match" test, as the exclusion list uses it.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// For each capture group (index 0, the whole match, first), whether some text it matches
    /// can hold `wanted`; `None` when the pattern's syntax is not read.
    pub fn groups_may_hold(&self, wanted: char) -> Option<Vec<bool>> {
        use regex_syntax::hir::{Hir, HirKind};
        fn walk(hir: &Hir, wanted: char, groups: &mut [bool]) -> bool {
            match hir.kind() {
                HirKind::Empty | HirKind::Look(_) => false,
                HirKind::Literal(literal) => String::from_utf8_lossy(&literal.0).contains(wanted),
                HirKind::Class(regex_syntax::hir::Class::Unicode(class)) => class
                    .ranges()
                    .iter()
                    .any(|range| (range.start()..=range.end()).contains(&wanted)),
                HirKind::Class(regex_syntax::hir::Class::Bytes(class)) => {
                    class.ranges().iter().any(|range| {
                        u8::try_from(wanted)
                            .is_ok_and(|b| (range.start()..=range.end()).contains(&b))
                    })
                }
                HirKind::Repetition(repetition) => {
                    repetition.max != Some(0) && walk(&repetition.sub, wanted, groups)
                }
                HirKind::Capture(capture) => {
                    let holds = walk(&capture.sub, wanted, groups);
                    if let Some(slot) = groups.get_mut(capture.index as usize) {
                        *slot = holds;
                    }
                    holds
                }
                // Every part is walked: the groups inside each get their answer.
                HirKind::Concat(parts) | HirKind::Alternation(parts) => parts
                    .iter()
                    .fold(false, |holds, part| walk(part, wanted, groups) | holds),
            }
        }
        let hir = regex_syntax::Parser::new().parse(self.re.as_str()).ok()?;
        let mut groups = vec![false; self.names.len()];
        groups[0] = walk(&hir, wanted, &mut groups);
        Some(groups)
    }
}

/// The Go names of a pattern's capture groups (index 0, the whole match, is `None`), read
/// without compiling it: what an `extract` template may name.
pub fn group_names(pattern: &str) -> Result<Vec<Option<String>>, String> {
    translate(pattern).map(|(_, names)| names)
}

/// `Err(reason)` exactly when Go's `regexp.Compile` rejects the pattern.
pub fn validate_go_regex(pattern: &str) -> Result<(), String> {
    translate(pattern).map(|_| ())
}

/// Go's error codes (regexp/syntax `ErrorCode` texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Code::InvalidCharRange => "invalid character class range",
            Code::InvalidEscape => "invalid escape sequence",
            Code::InvalidNamedCapture => "invalid named capture",
            Code::InvalidPerlOp => "invalid or unsupported Perl syntax",
            Code::InvalidRepeatOp => "invalid nested repetition operator",
            Code::InvalidRepeatSize => "invalid repeat count",
            Code::MissingBracket => "missing closing ]",
            Code::MissingParen => "missing closing )",
            Code::MissingRepeatArgument => "missing argument to repetition operator",
            Code::TrailingBackslash => "trailing backslash at end of expression",
            Code::UnexpectedParen => "unexpected )",
        })
    }
}

fn err(code: Code, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// Counted repetitions inside an item, for Go's `repeatIsValid` (only `{n,m}`
/// nodes count; `*`, `+`, `?` do not).
#[derive(Debug, Clone)]
struct RepTree {
    /// Go's `m`: max, or min when unbounded.
    m: i64,
    children: Vec<RepTree>,
}

fn repeat_is_valid(forest: &[RepTree], n: i64) -> bool {
    forest.iter().all(|t| {
        if t.m == 0 {
            return true;
        }
        if t.m > n {
            return false;
        }
        repeat_is_valid(&t.children, n / t.m)
    })
}

#[derive(Debug)]
struct Item {
    text: String,
    /// false for flag-only groups like `(?i)`, which a repeat skips over.
    atom: bool,
    reps: Vec<RepTree>,
}

#[derive(Debug, Default)]
struct Frame {
    open: String,
    alts: Vec<Vec<Item>>,
    cur: Vec<Item>,
}

impl Frame {
    fn finish(mut self) -> (String, Vec<RepTree>) {
        self.alts.push(std::mem::take(&mut self.cur));
        let mut text = self.open;
        let mut reps = Vec::new();
        for (i, alt) in self.alts.into_iter().enumerate() {
            if i > 0 {
                text.push('|');
            }
            for item in alt {
                text.push_str(&item.text);
                reps.extend(item.reps);
            }
        }
        (text, reps)
    }
}

/// Translate a Go pattern into an equivalent Rust pattern plus group names.
fn translate(pattern: &str) -> Result<(String, Vec<Option<String>>), String> {
    let mut names: Vec<Option<String>> = vec![None];
    let mut stack: Vec<Frame> = vec![Frame::default()];
    // Start of the previous repeat operator when the previous token was one.
    let mut last_repeat: Option<usize> = None;
    let mut i = 0;
    let b = pattern.as_bytes();
    while i < b.len() {
        let start = i;
        let mut this_repeat = None;
        match b[i] {
            b'(' => {
                if b.get(i + 1) == Some(&b'?') {
                    let (frame, flags_only, next) = perl_group(pattern, i, &mut names)?;
                    if let Some(text) = flags_only {
                        if !text.is_empty() {
                            top(&mut stack).cur.push(Item {
                                text,
                                atom: false,
                                reps: vec![],
                            });
                        }
                    } else if let Some(frame) = frame {
                        stack.push(frame);
                    }
                    i = next;
                } else {
                    names.push(None);
                    stack.push(Frame {
                        open: "(".into(),
                        ..Frame::default()
                    });
                    i += 1;
                }
            }
            b'|' => {
                let f = top(&mut stack);
                let cur = std::mem::take(&mut f.cur);
                f.alts.push(cur);
                i += 1;
            }
            b')' => {
                if stack.len() == 1 {
                    return Err(err(Code::UnexpectedParen, pattern));
                }
                let frame = stack.pop().expect("checked depth");
                let (mut text, reps) = frame.finish();
                text.push(')');
                top(&mut stack).cur.push(Item {
                    text,
                    atom: true,
                    reps,
                });
                i += 1;
            }
            b'*' | b'+' | b'?' => {
                let mut after = i + 1;
                let op = (b[i] as char).to_string();
                let lazy = b.get(after) == Some(&b'?');
                if lazy {
                    after += 1;
                }
                check_stacked(pattern, last_repeat, after)?;
                let suffix = if lazy { format!("{op}?") } else { op };
                apply_repeat(top(&mut stack), &suffix, None, &pattern[start..after])?;
                this_repeat = Some(start);
                i = after;
            }
            b'{' => match parse_repeat(b, i) {
                None => {
                    top(&mut stack).cur.push(literal('{'));
                    i += 1;
                }
                Some((min, max, mut after)) => {
                    let lazy = b.get(after) == Some(&b'?');
                    let op_end = if lazy { after + 1 } else { after };
                    if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                        return Err(err(Code::InvalidRepeatSize, &pattern[start..after]));
                    }
                    check_stacked(pattern, last_repeat, op_end)?;
                    let mut suffix = match max {
                        -1 => format!("{{{min},}}"),
                        m if m == min => format!("{{{min}}}"),
                        m => format!("{{{min},{m}}}"),
                    };
                    if lazy {
                        suffix.push('?');
                        after += 1;
                    }
                    let m = if max < 0 { min } else { max };
                    let check = min >= 2 || max >= 2;
                    apply_repeat(
                        top(&mut stack),
                        &suffix,
                        Some((m, check)),
                        &pattern[start..op_end],
                    )?;
                    this_repeat = Some(start);
                    i = after;
                }
            },
            b'\\' => {
                i = escape_top(pattern, i, &mut top(&mut stack).cur)?;
            }
            b'[' => {
                let (text, next) = class(pattern, i)?;
                top(&mut stack).cur.push(Item {
                    text,
                    atom: true,
                    reps: vec![],
                });
                i = next;
            }
            b'^' | b'$' | b'.' => {
                let text = (b[i] as char).to_string();
                top(&mut stack).cur.push(Item {
                    text,
                    atom: true,
                    reps: vec![],
                });
                i += 1;
            }
            _ => {
                let c = pattern[i..].chars().next().expect("in bounds");
                top(&mut stack).cur.push(literal(c));
                i += c.len_utf8();
            }
        }
        last_repeat = this_repeat;
    }
    if stack.len() > 1 {
        return Err(err(Code::MissingParen, pattern));
    }
    let (text, _) = stack.pop().expect("root frame").finish();
    Ok((text, names))
}

fn top(stack: &mut [Frame]) -> &mut Frame {
    stack.last_mut().expect("root frame always present")
}

/// Go forbids a repeat operator right after another (`a**`, `a*{2}`).
fn check_stacked(pattern: &str, last_repeat: Option<usize>, end: usize) -> Result<(), String> {
    match last_repeat {
        Some(prev) => Err(err(Code::InvalidRepeatOp, &pattern[prev..end])),
        None => Ok(()),
    }
}

/// Wrap the last atom of the current alternative in a repeat.
fn apply_repeat(
    frame: &mut Frame,
    suffix: &str,
    counted: Option<(i64, bool)>,
    op_text: &str,
) -> Result<(), String> {
    let Some(item) = frame.cur.iter_mut().rev().find(|it| it.atom) else {
        return Err(err(Code::MissingRepeatArgument, op_text));
    };
    item.text = format!("(?:{}){suffix}", item.text);
    if let Some((m, check)) = counted {
        let node = RepTree {
            m,
            children: std::mem::take(&mut item.reps),
        };
        if check && !repeat_is_valid(std::slice::from_ref(&node), 1000) {
            return Err(err(Code::InvalidRepeatSize, op_text));
        }
        item.reps = vec![node];
    }
    Ok(())
}

/// Go `parseRepeat`: `{n}`, `{n,}`, `{n,m}` with Go's `parseInt` (no leading
/// zeros; too-large numbers become -1). `None` means "literal `{`".
fn parse_repeat(b: &[u8], start: usize) -> Option<(i64, i64, usize)> {
    let mut i = start + 1;
    let (min, next) = go_parse_int(b, i)?;
    i = next;
    let max;
    match b.get(i)? {
        b',' => {
            i += 1;
            match b.get(i)? {
                b'}' => max = -1,
                _ => {
                    let (m, next) = go_parse_int(b, i)?;
                    i = next;
                    max = m;
                }
            }
        }
        _ => max = min,
    }
    if b.get(i)? != &b'}' {
        return None;
    }
    Some((min, max, i + 1))
}

/// Go's `parseInt` for repeat counts: digits without a leading zero. Go
/// gives up past 1e8 and the count is then invalid; 1001 has the same effect.
fn go_parse_int(b: &[u8], start: usize) -> Option<(i64, usize)> {
    let first = *b.get(start)?;
    if !first.is_ascii_digit() {
        return None;
    }
    if first == b'0' && b.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut i = start;
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = if n >= 100_000_000 {
            1001
        } else {
            n * 10 + i64::from(b[i] - b'0')
        };
        i += 1;
    }
    Some((n, i))
}

/// `(?…`: named group, non-capturing group with flags, or flags only.
/// Returns (frame to open, flag-only text, next index).
#[allow(clippy::type_complexity)]
fn perl_group(
    pattern: &str,
    start: usize,
    names: &mut Vec<Option<String>>,
) -> Result<(Option<Frame>, Option<String>, usize), String> {
    let s = &pattern[start..];
    let t = s.as_bytes();
    let starts_with_p = t.len() > 4 && t[2] == b'P' && t[3] == b'<';
    let starts_with_name = t.len() > 3 && t[2] == b'<';
    if starts_with_p || starts_with_name {
        let expr_start = if starts_with_p { 4 } else { 3 };
        let Some(end) = s.find('>') else {
            return Err(err(Code::InvalidNamedCapture, s));
        };
        let capture = &s[..=end];
        let name = &s[expr_start.min(end)..end];
        let valid =
            !name.is_empty() && name.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric());
        if !valid || expr_start > end {
            return Err(err(Code::InvalidNamedCapture, capture));
        }
        names.push(Some(name.to_string()));
        let frame = Frame {
            open: "(".into(),
            ..Frame::default()
        };
        return Ok((Some(frame), None, start + end + 1));
    }
    // Flags: i, m, s, U, one optional '-' group that must name a flag.
    let mut on = String::new();
    let mut off = String::new();
    let mut negated = false;
    let mut saw_flag = false;
    let mut j = 2;
    while j < s.len() {
        let c = s[j..].chars().next().expect("in bounds");
        j += c.len_utf8();
        match c {
            'i' | 'm' | 's' | 'U' => {
                if negated {
                    off.push(c);
                } else {
                    on.push(c);
                }
                saw_flag = true;
            }
            '-' => {
                if negated {
                    break;
                }
                negated = true;
                saw_flag = false;
            }
            ':' | ')' => {
                if negated && !saw_flag {
                    break;
                }
                // Go applies the letters in order (`(?ii)`, `(?i-i)` are
                // fine); Rust rejects repeated flags, so emit the net set.
                let net_on: String = "imsU"
                    .chars()
                    .filter(|c| on.contains(*c) && !off.contains(*c))
                    .collect();
                let net_off: String = "imsU".chars().filter(|c| off.contains(*c)).collect();
                let mut flags = net_on;
                if !net_off.is_empty() {
                    flags.push('-');
                    flags.push_str(&net_off);
                }
                let next = start + j;
                if c == ':' {
                    let open = format!("(?{flags}:");
                    return Ok((
                        Some(Frame {
                            open,
                            ..Frame::default()
                        }),
                        None,
                        next,
                    ));
                }
                let text = if flags.is_empty() {
                    String::new()
                } else {
                    format!("(?{flags})")
                };
                return Ok((None, Some(text), next));
            }
            _ => break,
        }
    }
    Err(err(Code::InvalidPerlOp, &s[..j]))
}

/// A literal character, escaped so that no Rust meta meaning applies.
fn literal(c: char) -> Item {
    Item {
        text: lit(c),
        atom: true,
        reps: vec![],
    }
}

fn lit(c: char) -> String {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        c.to_string()
    } else {
        format!("\\x{{{:X}}}", c as u32)
    }
}

/// Go's Perl classes are ASCII.
fn perl_class(c: u8) -> Option<&'static str> {
    Some(match c {
        b'd' => "[0-9]",
        b'D' => "[^0-9]",
        b's' => r"[\t\n\x0C\r ]",
        b'S' => r"[^\t\n\x0C\r ]",
        b'w' => "[0-9A-Za-z_]",
        b'W' => "[^0-9A-Za-z_]",
        _ => return None,
    })
}

/// A backslash sequence outside a class.
fn escape_top(pattern: &str, i: usize, cur: &mut Vec<Item>) -> Result<usize, String> {
    let b = pattern.as_bytes();
    let push = |cur: &mut Vec<Item>, text: &str| {
        cur.push(Item {
            text: text.to_string(),
            atom: true,
            reps: vec![],
        })
    };
    if let Some(&c) = b.get(i + 1) {
        match c {
            b'A' => {
                push(cur, r"\A");
                return Ok(i + 2);
            }
            b'z' => {
                push(cur, r"\z");
                return Ok(i + 2);
            }
            b'b' => {
                push(cur, r"(?-u:\b)");
                return Ok(i + 2);
            }
            b'B' => {
                push(cur, r"(?-u:\B)");
                return Ok(i + 2);
            }
            b'C' => return Err(err(Code::InvalidEscape, &pattern[i..i + 2])),
            b'Q' => {
                let body = &pattern[i + 2..];
                let (lit_text, next) = match body.find(r"\E") {
                    Some(e) => (&body[..e], i + 2 + e + 2),
                    None => (body, pattern.len()),
                };
                for ch in lit_text.chars() {
                    cur.push(literal(ch));
                }
                return Ok(next);
            }
            b'p' | b'P' => {
                let (text, next) = unicode_class(pattern, i)?;
                push(cur, &text);
                return Ok(next);
            }
            _ => {
                if let Some(cls) = perl_class(c) {
                    push(cur, cls);
                    return Ok(i + 2);
                }
            }
        }
    }
    let (ch, next) = escape_char(pattern, i)?;
    cur.push(literal(ch));
    Ok(next)
}

/// Go `parseEscape`: a single escaped character.
fn escape_char(pattern: &str, i: usize) -> Result<(char, usize), String> {
    let rest = &pattern[i + 1..];
    let Some(c) = rest.chars().next() else {
        return Err(err(Code::TrailingBackslash, ""));
    };
    let mut j = i + 1 + c.len_utf8();
    let b = pattern.as_bytes();
    let bad = |end: usize| {
        Err(err(
            Code::InvalidEscape,
            &pattern[i..end.min(pattern.len())],
        ))
    };
    match c {
        '1'..='7' if !b.get(j).is_some_and(|d| (b'0'..=b'7').contains(d)) => bad(j),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 0..2 {
                match b.get(j) {
                    Some(d @ b'0'..=b'7') => {
                        r = r * 8 + u32::from(d - b'0');
                        j += 1;
                    }
                    _ => break,
                }
            }
            Ok((char::from_u32(r).expect("octal < 512"), j))
        }
        'x' => {
            let Some(&n) = b.get(j) else { return bad(j) };
            if n == b'{' {
                j += 1;
                let mut r: u32 = 0;
                let mut digits = 0;
                loop {
                    let Some(&d) = b.get(j) else { return bad(j) };
                    j += 1;
                    if d == b'}' {
                        break;
                    }
                    let Some(v) = (d as char).to_digit(16) else {
                        return bad(j);
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return bad(j);
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return bad(j);
                }
                match char::from_u32(r) {
                    Some(ch) => Ok((ch, j)),
                    None => bad(j),
                }
            } else {
                let hi = (n as char).to_digit(16);
                let lo = b.get(j + 1).and_then(|&d| (d as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => Ok((char::from_u32(h * 16 + l).expect("byte"), j + 2)),
                    _ => bad(j + 2),
                }
            }
        }
        'a' => Ok(('\x07', j)),
        'f' => Ok(('\x0C', j)),
        'n' => Ok(('\n', j)),
        'r' => Ok(('\r', j)),
        't' => Ok(('\t', j)),
        'v' => Ok(('\x0B', j)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, j)),
        _ => bad(j),
    }
}

/// `\pX`, `\p{Name}`, `\P…`, `\p{^Name}`: only names Go's tables know.
fn unicode_class(pattern: &str, i: usize) -> Result<(String, usize), String> {
    let s = &pattern[i..];
    let mut negate = s.as_bytes()[1] == b'P';
    let after = &s[2..];
    let (mut name, seq_len) = match after.chars().next() {
        Some('{') => match s.find('}') {
            Some(end) => (&s[3..end], end + 1),
            None => return Err(err(Code::InvalidCharRange, s)),
        },
        Some(c) => (&after[..c.len_utf8()], 2 + c.len_utf8()),
        None => ("", 2),
    };
    if let Some(n) = name.strip_prefix('^') {
        negate = !negate;
        name = n;
    }
    if !known_unicode_name(name) {
        return Err(err(Code::InvalidCharRange, &s[..seq_len]));
    }
    let p = if negate { 'P' } else { 'p' };
    Ok((format!("\\{p}{{{name}}}"), i + seq_len))
}

fn known_unicode_name(name: &str) -> bool {
    name == "Any" || GO_CATEGORIES.contains(&name) || GO_SCRIPTS.contains(&name)
}

/// Go `[...]` class, emitted with every member escaped (Rust would read `[`
/// as a nested class and `&&`, `--`, `~~` as set operations).
fn class(pattern: &str, start: usize) -> Result<(String, usize), String> {
    let whole = &pattern[start..];
    let b = pattern.as_bytes();
    let mut i = start + 1;
    let mut out = String::from("[");
    if b.get(i) == Some(&b'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(err(Code::MissingBracket, whole));
        };
        if c == b']' && !first {
            break;
        }
        first = false;
        // POSIX [:name:] / [:^name:]
        if c == b'[' && b.get(i + 1) == Some(&b':') {
            if let Some(end) = pattern[i + 2..].find(":]") {
                let full = &pattern[i..i + 2 + end + 2];
                let name = &pattern[i + 2..i + 2 + end];
                let bare = name.strip_prefix('^').unwrap_or(name);
                if !POSIX_CLASSES.contains(&bare) {
                    return Err(err(Code::InvalidCharRange, full));
                }
                out.push_str(full);
                i += full.len();
                continue;
            }
        }
        if c == b'\\' {
            match b.get(i + 1) {
                Some(b'p' | b'P') => {
                    let (text, next) = unicode_class(pattern, i)?;
                    out.push_str(&text);
                    i = next;
                    continue;
                }
                Some(&e) => {
                    if let Some(cls) = perl_class(e) {
                        out.push_str(cls);
                        i += 2;
                        continue;
                    }
                }
                None => {}
            }
        }
        let range_start = i;
        let (lo, next) = class_char(pattern, i, whole)?;
        i = next;
        let mut hi = lo;
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|&n| n != b']') {
            let (h, next) = class_char(pattern, i + 1, whole)?;
            i = next;
            hi = h;
            if hi < lo {
                return Err(err(Code::InvalidCharRange, &pattern[range_start..i]));
            }
        }
        out.push_str(&lit(lo));
        if hi != lo {
            out.push('-');
            out.push_str(&lit(hi));
        }
    }
    out.push(']');
    Ok((out, i + 1))
}

fn class_char(pattern: &str, i: usize, whole: &str) -> Result<(char, usize), String> {
    match pattern[i..].chars().next() {
        None => Err(err(Code::MissingBracket, whole)),
        Some('\\') => escape_char(pattern, i),
        Some(c) => Ok((c, i + c.len_utf8())),
    }
}

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

const GO_CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

const GO_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn go(p: &str) -> GoRegex {
        GoRegex::new(p).unwrap_or_else(|e| panic!("Go accepts {p:?}: {e}"))
    }

    fn rejected(p: &str) -> String {
        match GoRegex::new(p) {
            Ok(_) => panic!("Go rejects {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn which_groups_may_hold_a_dot() {
        let holds = |p: &str| go(p).groups_may_hold('.').unwrap();
        assert_eq!(
            holds(r"^v(?P<major>\d+)\.(?P<minor>\d+)$"),
            [true, false, false]
        );
        assert_eq!(holds(r"^release-([0-9.]+)-(\w+)$"), [true, true, false]);
        assert_eq!(holds(r"^(.+)-([^-]+)$"), [true, true, true]);
        assert_eq!(holds(r"^(a|b\.c)(x{0})$"), [true, true, false]);
    }

    fn first_match(p: &str, s: &str) -> Option<String> {
        go(p).re.find(s).map(|m| m.as_str().to_string())
    }

    #[test]
    fn rejects_lookaround_with_go_messages() {
        assert_eq!(
            rejected("^(?!rc)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"
        );
        assert_eq!(
            rejected("a(?=b)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
        assert_eq!(
            rejected("(?<=v)1"),
            "error parsing regexp: invalid named capture: `(?<=v)1`"
        );
        assert!(rejected("(?<!v)1>").contains("invalid named capture"));
        assert_eq!(
            rejected("(?>a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?>`"
        );
        assert_eq!(
            rejected("(?P=n)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?P`"
        );
    }

    #[test]
    fn rejects_backrefs_and_bad_escapes() {
        assert_eq!(
            rejected(r"(a)\1"),
            r"error parsing regexp: invalid escape sequence: `\1`"
        );
        assert!(rejected(r"\8").contains(r"`\8`"));
        assert!(rejected(r"\C").contains("invalid escape sequence"));
        assert!(rejected(r"\Z").contains("invalid escape sequence"));
        assert!(rejected(r"\e").contains("invalid escape sequence"));
        assert!(rejected(r"\xZ1").contains("invalid escape sequence"));
        assert!(rejected(r"\x{}").contains("invalid escape sequence"));
        assert!(rejected(r"\x{110000}").contains("invalid escape sequence"));
        assert!(rejected(r"[\b]").contains("invalid escape sequence"));
        assert!(rejected(r"[\Qa\E]").contains("invalid escape sequence"));
        assert_eq!(
            rejected("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
    }

    #[test]
    fn rejects_stacked_and_oversized_repeats() {
        assert_eq!(
            rejected("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert!(rejected("a++").contains("`++`"));
        assert!(rejected("a*??").contains("`*??`"));
        assert!(rejected("a{2}*").contains("invalid nested repetition operator"));
        assert!(rejected("a*{2}").contains("invalid nested repetition operator"));
        assert_eq!(
            rejected("a{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert!(rejected("a{2,1}").contains("invalid repeat count"));
        assert!(rejected("a{99999999999}").contains("invalid repeat count"));
        assert!(rejected("(a{100}){100}").contains("invalid repeat count"));
        assert!(rejected("((a{10}){10}){11}").contains("invalid repeat count"));
        go("(a{10}){100}");
        go("(a{0}){1000}");
        go("(a*)*");
        go("a{1000}");
        go("(?:a{2}){500}");
    }

    #[test]
    fn rejects_structure_errors() {
        assert_eq!(
            rejected("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert!(rejected("a|*").contains("missing argument"));
        assert!(rejected("(*)").contains("missing argument"));
        assert!(rejected("{2}").contains("missing argument"));
        assert_eq!(rejected("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(
            rejected("(a"),
            "error parsing regexp: missing closing ): `(a`"
        );
        assert_eq!(
            rejected("[a"),
            "error parsing regexp: missing closing ]: `[a`"
        );
        assert!(rejected("[z-a]").contains("invalid character class range: `z-a`"));
        assert!(rejected("[[:foo:]]").contains("invalid character class range: `[:foo:]`"));
        assert!(rejected(r"\p{Foo}").contains(r"`\p{Foo}`"));
        assert!(rejected(r"\p{greek}").contains("invalid character class range"));
        assert!(rejected(r"\pX").contains("invalid character class range"));
        assert!(rejected(r"\p{Alphabetic}").contains("invalid character class range"));
        assert!(rejected("(?x)a").contains("`(?x`"));
        assert!(rejected("(?u)a").contains("invalid or unsupported Perl syntax"));
        assert!(rejected("(?i-)a").contains("invalid or unsupported Perl syntax"));
        assert!(rejected("(?-)a").contains("invalid or unsupported Perl syntax"));
        assert!(rejected("(?i").contains("invalid or unsupported Perl syntax"));
        assert!(rejected("(?P<>a)").contains("invalid named capture"));
        assert!(rejected("(?P<a-b>a)").contains("invalid named capture: `(?P<a-b>`"));
        assert!(rejected("(?P<name").contains("invalid named capture"));
    }

    #[test]
    fn accepts_go_only_syntax() {
        assert_eq!(first_match(r"\Qa.b\E+", "a.bbb"), Some("a.bbb".into()));
        assert_eq!(first_match(r"\Q1.2", "x1.2"), Some("1.2".into()));
        assert_eq!(first_match(r"^v\Q.*\E$", "v.*"), Some("v.*".into()));
        assert_eq!(first_match(r"^v\Q.*\E$", "v12"), None);
        assert_eq!(first_match(r"\101\0", "A\0"), Some("A\0".into()));
        assert_eq!(first_match("a{", "a{"), Some("a{".into()));
        assert_eq!(first_match("a{,5}", "a{,5}"), Some("a{,5}".into()));
        assert_eq!(first_match("x{01}", "x{01}"), Some("x{01}".into()));
        assert_eq!(first_match("a{x}", "a{x}"), Some("a{x}".into()));
        assert_eq!(first_match("^*a", "a"), Some("a".into()));
        assert_eq!(first_match("(?)a", "a"), Some("a".into()));
        assert_eq!(first_match("[a[b]", "["), Some("[".into()));
        assert_eq!(first_match("[a&&b]", "&"), Some("&".into()));
        assert_eq!(first_match("[a-c-e]", "-"), Some("-".into()));
        assert_eq!(first_match("[]a]", "]"), Some("]".into()));
        assert_eq!(first_match("[^]a]", "b"), Some("b".into()));
        assert_eq!(first_match("[a-]", "-"), Some("-".into()));
        assert_eq!(first_match(r"\<v\>", "<v>"), Some("<v>".into()));
        assert_eq!(first_match(r"[[:^digit:]]+", "ab1"), Some("ab".into()));
        assert_eq!(first_match(r"\pL+", "héllo1"), Some("héllo".into()));
        assert_eq!(first_match(r"\p{^L}+", "12a"), Some("12".into()));
        assert_eq!(first_match(r"\P{Greek}", "a"), Some("a".into()));
        assert_eq!(first_match(r"[\d\p{Lu}]+", "9Ab"), Some("9A".into()));
        assert_eq!(first_match(r"\_\ \-", "_ -"), Some("_ -".into()));
        assert_eq!(first_match("a(?i)*", "aaa"), Some("aaa".into()));
        assert_eq!(first_match("(?ii)A", "a"), Some("a".into()));
        assert_eq!(first_match("(?i)(?i-i)A", "a"), None);
        assert_eq!(first_match("(?i-i:A)", "a"), None);
        assert_eq!(first_match("(?sm-s:.)", "\n"), None);
        assert_eq!(first_match("()*x", "x"), Some("x".into()));
        assert_eq!(first_match("(^)*$*x", "x"), Some("x".into()));
        assert_eq!(
            first_match(r"\v\a\f", "\u{b}\u{7}\u{c}"),
            Some("\u{b}\u{7}\u{c}".into())
        );
        let g = go("(?P<1x>a)(?<ts>b)(?P<1x>c)");
        assert_eq!(
            g.names,
            vec![
                None,
                Some("1x".into()),
                Some("ts".into()),
                Some("1x".into())
            ]
        );
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert_eq!(first_match(r"\d+", "٣3"), Some("3".into()));
        assert_eq!(first_match(r"\w+", "é_a1"), Some("_a1".into()));
        assert_eq!(first_match(r"\s", "\u{a0} "), Some(" ".into()));
        assert_eq!(first_match(r"\S+", "\u{b} a"), Some("\u{b}".into()));
        assert_eq!(first_match(r"[\D]+", "ab1"), Some("ab".into()));
        assert_eq!(first_match(r"\bv\b", "éva v"), Some("v".into()));
        assert_eq!(first_match(r"a\B", "a ab"), Some("a".into()));
        assert_eq!(go(r"\Ba").re.find("a ba").map(|m| m.start()), Some(3));
    }

    #[test]
    fn leftmost_first_and_flags() {
        assert_eq!(first_match("a|ab", "ab"), Some("a".into()));
        assert_eq!(
            first_match("(?i)RELEASE", "release"),
            Some("release".into())
        );
        assert_eq!(
            first_match("(?i:R)ELEASE", "rELEASE"),
            Some("rELEASE".into())
        );
        assert_eq!(first_match("(?U)a+", "aaa"), Some("a".into()));
        assert_eq!(first_match("a+?", "aaa"), Some("a".into()));
        assert_eq!(first_match("(?s).", "\n"), Some("\n".into()));
        assert_eq!(first_match(".", "\n"), None);
        assert_eq!(first_match("(?m)^b$", "a\nb\nc"), Some("b".into()));
        assert_eq!(first_match("^b$", "a\nb"), None);
        assert_eq!(first_match("a$", "a\n"), None); // Go's $ is \z without m
    }

    #[test]
    fn real_tag_patterns() {
        let re = go(r"^release-[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$");
        assert!(re.is_match("release-5.2.6.8376"));
        assert!(!re.is_match("release-5.2.6"));
        let re = go(r"^RELEASE\.(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$");
        assert!(re.is_match("RELEASE.2025-01-20T14-49-07Z"));
        assert!(go("^.*\\.sig$").is_match("sha256-abc.sig"));
        assert!(go(r"^main-[a-f0-9]+-(?P<ts>[0-9]+)").is_match("main-0a1b2c3-1700000000"));
        go(r"^v?(?P<version>\d+\.\d+\.\d+)(-(?P<pre>[a-z]+)\.(?P<n>\d+))?$");
        go("");
    }

    /// Patterns from Go's regexp/syntax parse tests (Perl flags) that Go
    /// accepts, and the ones it rejects.
    #[test]
    fn go_parse_test_tables() {
        for ok in [
            "a",
            "a.",
            "a.b",
            "ab",
            "abc",
            "a|^",
            "a|b",
            "(a)",
            "(a)|b",
            "a*",
            "a+",
            "a?",
            "a{2}",
            "a{2,3}",
            "a{2,}",
            "a*?",
            "a+?",
            "a??",
            "a{2}?",
            "a{2,3}?",
            "a{2,}?",
            "x{1001",
            "x{9876543210",
            "x{9876543210,",
            "x{2,1",
            "x{1,9876543210",
            "",
            "|",
            "|x|",
            ".",
            "^",
            "$",
            r"\|",
            r"\(",
            r"\)",
            r"\*",
            r"\+",
            r"\?",
            "{",
            "}",
            r"\.",
            r"\^",
            r"\$",
            r"\\",
            "[ace]",
            "[abc]",
            "[a-z]",
            "[a]",
            r"\-",
            "-",
            r"\_",
            "abc|def",
            "[[:lower:]]",
            "[^[:lower:]]",
            "[[:^lower:]]",
            "(?i)[[:lower:]]",
            "(?i)[^[:lower:]]",
            r"\d",
            r"\D",
            r"\s",
            r"\S",
            r"\w",
            r"\W",
            r"(?i)\w",
            r"[^\\]",
            r"\p{Braille}",
            r"\P{Braille}",
            r"\p{^Braille}",
            r"\P{^Braille}",
            r"\pZ",
            r"[\p{Braille}]",
            r"[\P{^Braille}]",
            r"[\pZ]",
            r"\p{Lu}",
            r"(?i)[\p{Lu}]",
            r"\p{Any}",
            r"\p{^Any}",
            r"[\012-\234]\141",
            r"[\x{41}-\x7a]\x61",
            "a{,2}",
            r"\.\^\$\\",
            "[a-zABC]",
            "[^a]",
            "[α-ε☺]",
            "a*{",
            "(?:ab)*",
            "(ab)*",
            "a(b|c)d",
            "(?:a)",
            "(?:a+|b+)|(?:c+|d+)",
            ".|a",
            "(?:[abc]|A|Z|hello|world)",
            r"\Q+|*?{[\E",
            r"\Q+\E+",
            r"\Qab\E+",
            r"\Q\\E",
            r"\Q\\\E",
            "(?m)^",
            "(?m)$",
            "(?-m)^",
            "(?-m)$",
            r"(?m)\A",
            r"(?m)\z",
            "(?P<name>a)",
            "(?<name>a)",
            "[Aa]",
            r"[\x{100}\x{101}]",
            "[Δδ]",
            "(?:x|(?:xa))",
            "(?s).",
            "(?-s).",
            "(?:(?:^).)",
            r"[\s\S]a",
            "(?i)abc|ABD",
            "x{2}|x{2}[0-9]",
            "a.*?c|a.*?b",
            "((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}))",
            "[a-b-c]",
            r"\Q\\\\E",
            r"\Q\\\\\E",
        ] {
            assert!(
                GoRegex::new(ok).is_ok(),
                "Go accepts {ok:?}: {:?}",
                GoRegex::new(ok).err()
            );
        }
        for bad in [
            "(",
            ")",
            "(a",
            "a)",
            "(a))",
            "(a|b|",
            "a|b|)",
            "(a|b|))",
            "(a|b",
            "a|b)",
            "(a|b))",
            "[a-z",
            "([a-z)",
            "[a-z)",
            "([a-z]))",
            "x{1001}",
            "x{9876543210}",
            "x{2,1}",
            "x{1,9876543210}",
            "(?P<name>a",
            "(?P<name>",
            "(?P<name",
            "(?P<x y>a)",
            "(?P<>a)",
            "(?<name>a",
            "(?<name>",
            "(?<name",
            "(?<x y>a)",
            "(?<>a)",
            "[a-Z]",
            "(?i)[a-Z]",
            r"\Q\E*",
            "a{100000}",
            "a{100000,}",
            "((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})",
            "a++",
            "a**",
            "a?*",
            "a+*",
            "a{1}*",
            ".{1}{2}.{3}",
        ] {
            assert!(GoRegex::new(bad).is_err(), "Go rejects {bad:?}");
        }
        // Semantics spot checks from the same tables.
        assert_eq!(first_match(r"\Q\\E", r"\"), Some(r"\".into()));
        assert_eq!(first_match(r"\Qab\E+", "abbb"), Some("abbb".into()));
        assert_eq!(first_match("a*{", "aa{"), Some("aa{".into()));
        assert_eq!(first_match(r"[\012-\234]", "\n"), Some("\n".into()));
        assert_eq!(first_match(r"\p{^Any}", "abc"), None);
    }
}
