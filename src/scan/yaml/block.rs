//! The block YAML most manifests are written in, read line by line without the general parser
//! (which costs several times more): mappings with plain keys, sequences (indented under their
//! key or not, compact mappings in items), one-line plain and quoted scalars, one-line flow
//! sequences of scalars, `{}`, literal block scalars (`|`, `|-`, `|+`), comments and `---`. It
//! yields the events granit-parser yields for such text, spans and comment placements included
//! (a differential test over the fixtures, generated text and, on request, real repositories
//! holds it to that), and gives up at anything else, for the full parser to decide: flow
//! mappings, nested flow, folded and multi-line scalars, escapes, anchors, aliases, tags, quoted
//! or complex keys, nested compact sequences, empty items, directives, `...`, tabs,
//! carriage returns and characters YAML does not print.

use std::borrow::Cow;

use memchr::memchr;

use super::{Event, Located, Placement, Sink, Style, NO_ANCHOR};
use crate::source::{SourceFile, Span};

/// Gives `sink` the events of `source` as they are read; `None` when it holds anything this
/// reader leaves to the full parser (the sink then has part of them, to be thrown away).
pub(super) fn read<'t>(source: &'t SourceFile, sink: &mut impl Sink<'t>) -> Option<()> {
    let text: &'t str = source.text();
    if !plain_characters(text) {
        return None;
    }
    let mut reader = Reader {
        text,
        sink,
        comments: Vec::new(),
        comments_given: 0,
        open: Vec::new(),
        pending: Pending::Nothing,
        unplaced: None,
        resume_at: None,
        line_start: 0,
        document_marker: None,
        in_document: false,
        has_root: false,
    };
    // The source knows where its lines start: no search for each line's end here.
    let mut line_start = 0;
    let mut line = 1;
    while line_start < text.len() {
        let line_end = if line < source.line_count() {
            source.line_start(line + 1) - 1
        } else {
            text.len()
        };
        reader.line(line_start, line_end, line)?;
        line = reader.resume_at.take().unwrap_or(line + 1);
        line_start = source.line_start(line);
    }
    // The line of the end of the text: the one after the last line read, unless no line break
    // ends that line.
    let end_line = if text.is_empty() || text.ends_with('\n') {
        line
    } else {
        line - 1
    };
    reader.finish(end_line)?;
    reader.give_comments_before(usize::MAX);
    Some(())
}

/// No tab, carriage return, byte order mark, control character or line separator: characters
/// whose treatment this reader does not repeat.
fn plain_characters(text: &str) -> bool {
    // Whole chunks at a time, which the compiler vectorises; `all` stops at each byte.
    let ascii_printable = |chunk: &[u8]| {
        chunk.iter().fold(true, |ok, &b| {
            ok & ((b' '..=b'~').contains(&b) | (b == b'\n'))
        })
    };
    text.as_bytes().chunks(64).all(ascii_printable)
        || text.chars().all(|c| {
            matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0x2027 | 0x202A..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD | 0x10000..)
        })
}

/// How deep block collections may nest here. granit-parser refuses YAML nested past its limit
/// (255 by default) and what reads the tree recurses into it: deeper text is left to granit-parser
/// to accept or refuse, well before that limit.
const MAX_DEPTH: usize = 64;

/// The longest key read here, in bytes. YAML (and granit-parser) refuses an implicit key over
/// 1,024 characters; a byte count under that is a character count under it too.
const MAX_KEY_LENGTH: usize = 1000;

/// A block collection being read.
struct Open {
    indent: usize,
    is_map: bool,
}

/// A key or `-` whose value did not follow on its line.
enum Pending {
    Nothing,
    /// `key:`: its value is a collection below, or null, which sits at the key's end.
    Value {
        key_end: usize,
        line: usize,
    },
    /// `-` alone.
    Item,
}

struct Reader<'t, 's, S> {
    text: &'t str,
    sink: &'s mut S,
    /// The comments read, in the order of the text. granit-parser gives a comment before the
    /// event that follows it in the text (by the event's start, but for the null of an empty
    /// document, which comes after them), so each waits for that event, by which time its
    /// placement is known.
    comments: Vec<Located<'t>>,
    /// How many of `comments` the sink has.
    comments_given: usize,
    open: Vec<Open>,
    pending: Pending,
    /// The last own-line comment and its line, until the line of the token after it is known.
    unplaced: Option<(usize, usize)>,
    /// The next line's number, when a block scalar took the lines before.
    resume_at: Option<usize>,
    /// Where the line being read starts.
    line_start: usize,
    /// Where the `---` that started the current document ends, and its line.
    document_marker: Option<(usize, usize)>,
    in_document: bool,
    has_root: bool,
}

impl<'t, S: Sink<'t>> Reader<'t, '_, S> {
    fn line(&mut self, start: usize, end: usize, line: usize) -> Option<()> {
        // Bytes, not `str`: every slice of a `str` checks that it starts and ends characters.
        let whole = &self.text.as_bytes()[start..end];
        let indent = leading_spaces(whole);
        let rest = &whole[indent..];
        if rest.is_empty() {
            return Some(());
        }
        self.place_comment_above(line);
        self.line_start = start;
        let at = start + indent;
        if rest.starts_with(b"#") {
            self.comment(at, end, line, Placement::Apart);
            self.unplaced = Some((self.comments.len() - 1, line));
            return Some(());
        }
        if indent == 0 && rest.starts_with(b"---") {
            return self.document_start(start, end, line);
        }
        self.content(at, end, line)
    }

    /// Gives the own-line comment before this token its placement: directly above, or apart.
    fn place_comment_above(&mut self, next_line: usize) {
        if let Some((index, line)) = self.unplaced.take() {
            if next_line == line + 1 {
                if let Event::Comment { placement, .. } = &mut self.comments[index].event {
                    *placement = Placement::Above;
                }
            }
        }
    }

    fn document_start(&mut self, start: usize, end: usize, line: usize) -> Option<()> {
        let after = &self.text[start + 3..end];
        let trimmed = without_leading_spaces(after);
        if !(after.is_empty()
            || trimmed.is_empty()
            || (trimmed.starts_with('#') && trimmed.len() < after.len()))
        {
            return None;
        }
        self.end_document(start, line)?;
        self.push(Event::DocumentStart, start, start + 3, line);
        self.in_document = true;
        self.document_marker = Some((start + 3, line));
        if trimmed.starts_with('#') {
            self.comment(end - trimmed.len(), end, line, Placement::SameLine);
        }
        Some(())
    }

    /// Closes what is open at `at`, the next token, and ends the document if one is open.
    fn end_document(&mut self, at: usize, line: usize) -> Option<()> {
        self.settle_pending()?;
        if !self.in_document {
            return Some(());
        }
        if !self.has_root {
            // Only a `---` starts a document with no root: its root is a null after the marker.
            let (marker_end, marker_line) = self.document_marker?;
            let null = Event::Scalar {
                value: Cow::Borrowed("~"),
                style: Style::Plain,
                tagged: false,
                anchor: NO_ANCHOR,
            };
            let span = Span::new(marker_end, marker_end);
            self.give(at, Located::new(null, span, marker_line));
        }
        while !self.open.is_empty() {
            self.close(at, line);
        }
        self.push(Event::DocumentEnd, at, at, line);
        self.in_document = false;
        self.has_root = false;
        Some(())
    }

    fn finish(&mut self, end_line: usize) -> Option<()> {
        let end = self.text.len();
        // Block ends are tokens on the last line; with none open the next token is the stream's
        // end, and a comment before that is apart.
        if !self.open.is_empty() {
            self.place_comment_above(end_line);
        }
        self.end_document(end, end_line)
    }

    /// A null for a key left without value; an item left without one is given up on.
    fn settle_pending(&mut self) -> Option<()> {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => Some(()),
            Pending::Value { key_end, line } => {
                self.scalar(Cow::Borrowed("~"), Style::Plain, key_end, key_end, line);
                Some(())
            }
            Pending::Item => None,
        }
    }

    fn content(&mut self, at: usize, end: usize, line: usize) -> Option<()> {
        let rest = &self.text.as_bytes()[at..end];
        if rest.starts_with(b"%") || rest.starts_with(b"...") {
            return None;
        }
        let indent = at - self.line_start;
        let is_item = rest == b"-" || rest.starts_with(b"- ");
        // Where a collection opening on this line starts: granit-parser puts a sequence that is
        // not indented under its key after the `-` and what else the line holds.
        let mut open_at = at;
        let opens = match self.pending {
            Pending::Nothing => false,
            Pending::Value { .. } => {
                let map = self.open.last()?;
                let indentless = indent == map.indent && is_item;
                if indentless {
                    let contents = &rest[1 + leading_spaces(&rest[1..])..];
                    open_at = if contents.is_empty() || contents.starts_with(b"#") {
                        end
                    } else {
                        end - contents.len()
                    };
                }
                let nested = indent > map.indent || indentless;
                if !nested {
                    self.settle_pending()?;
                }
                nested
            }
            Pending::Item if indent > self.open.last()?.indent => true,
            // An item left without a value.
            Pending::Item => return None,
        };
        if opens {
            self.pending = Pending::Nothing;
            return self.open_collection(open_at, at, end, line, indent, is_item);
        }
        while let Some(top) = self.open.last() {
            let deeper = top.indent > indent;
            let sequence_ends = !top.is_map && top.indent == indent && !is_item;
            if !(deeper || sequence_ends) {
                break;
            }
            self.close(at, line);
        }
        match self.open.last() {
            Some(top) if top.indent == indent && top.is_map != is_item => {}
            Some(_) => return None,
            None => {
                if self.has_root {
                    return None;
                }
                if !self.in_document {
                    self.push(Event::DocumentStart, at, at, line);
                    self.in_document = true;
                    self.document_marker = None;
                }
                self.has_root = true;
                return self.open_collection(at, at, end, line, indent, is_item);
            }
        }
        if is_item {
            self.item(at, end, line)
        } else {
            self.entry(at, end, line)
        }
    }

    /// Opens a block collection at `at`; one nested deeper than [`MAX_DEPTH`] is given up on.
    fn enter(&mut self, indent: usize, is_map: bool, at: usize, line: usize) -> Option<()> {
        if self.open.len() >= MAX_DEPTH {
            return None;
        }
        self.open.push(Open { indent, is_map });
        self.give_open(is_map, false, at, at, line);
        Some(())
    }

    fn open_collection(
        &mut self,
        open_at: usize,
        at: usize,
        end: usize,
        line: usize,
        indent: usize,
        is_item: bool,
    ) -> Option<()> {
        self.enter(indent, !is_item, open_at, line)?;
        if is_item {
            self.item(at, end, line)
        } else {
            self.entry(at, end, line)
        }
    }

    /// `- …` at `at`.
    fn item(&mut self, at: usize, end: usize, line: usize) -> Option<()> {
        let bytes = self.text.as_bytes();
        let contents_at = at + 1 + leading_spaces(&bytes[at + 1..end]);
        let contents = &bytes[contents_at..end];
        if contents.is_empty() {
            self.pending = Pending::Item;
            return Some(());
        }
        if contents.starts_with(b"#") {
            self.comment(contents_at, end, line, Placement::SameLine);
            self.pending = Pending::Item;
            return Some(());
        }
        if contents == b"-" || contents.starts_with(b"- ") {
            return None;
        }
        // A mapping in the item: its key is read once.
        if let Some(key_length) = key_length(contents) {
            let indent = contents_at - self.line_start;
            self.enter(indent, true, contents_at, line)?;
            return self.entry_with_key(contents_at, contents_at + key_length, end, line);
        }
        self.value(contents_at, end, line)
    }

    /// `key: …` at `at`.
    fn entry(&mut self, at: usize, end: usize, line: usize) -> Option<()> {
        let key_end = at + key_length(&self.text.as_bytes()[at..end])?;
        self.entry_with_key(at, key_end, end, line)
    }

    /// `key: …` at `at`, its key ending at `key_end`.
    fn entry_with_key(&mut self, at: usize, key_end: usize, end: usize, line: usize) -> Option<()> {
        let bytes = self.text.as_bytes();
        self.scalar(
            Cow::Borrowed(&self.text[at..key_end]),
            Style::Plain,
            at,
            key_end,
            line,
        );
        let contents_at = key_end + 1 + leading_spaces(&bytes[key_end + 1..end]);
        let contents = &bytes[contents_at..end];
        if contents.is_empty() || contents.starts_with(b"#") {
            if !contents.is_empty() {
                self.comment(contents_at, end, line, Placement::SameLine);
            }
            self.pending = Pending::Value { key_end, line };
            return Some(());
        }
        self.value(contents_at, end, line)
    }

    /// A value on the line of its key or `-`, and what follows it.
    fn value(&mut self, at: usize, end: usize, line: usize) -> Option<()> {
        let rest = &self.text[at..end];
        let bytes = rest.as_bytes();
        let value_end = match bytes[0] {
            b'\'' | b'"' => {
                let (value, style, length) = quoted(rest)?;
                self.scalar(value, style, at, at + length, line);
                at + length
            }
            b'[' => self.flow_sequence(at, end, line)?,
            b'{' => {
                if bytes.get(1) != Some(&b'}') {
                    return None;
                }
                self.give_open(true, true, at, at + 1, line);
                self.give_close(at + 1, at + 2, line);
                at + 2
            }
            b'|' => return self.literal(at, end, line),
            b'-' | b'?' | b':' if bytes.get(1).is_none_or(|&b| b == b' ') => return None,
            b'?' | b':' | b',' | b']' | b'}' | b'#' | b'&' | b'*' | b'!' | b'>' | b'%' | b'@'
            | b'`' => return None,
            _ => {
                let plain_end = match plain_end(bytes) {
                    // A key (`a: b: c`, `a: b:`).
                    PlainEnd::Colon(_) => return None,
                    PlainEnd::Comment(space) => space,
                    PlainEnd::LineEnd => rest.len(),
                };
                self.plain(without_trailing_spaces(&rest[..plain_end]), at, line)
            }
        };
        self.line_end(value_end, end, line)
    }

    /// The rest of a line after a value: nothing, or a comment after a space.
    fn line_end(&mut self, from: usize, end: usize, line: usize) -> Option<()> {
        let after = &self.text.as_bytes()[from..end];
        let spaces = leading_spaces(after);
        let trailing = &after[spaces..];
        if trailing.is_empty() {
            return Some(());
        }
        if !trailing.starts_with(b"#") || spaces == 0 {
            return None;
        }
        self.comment(from + spaces, end, line, Placement::SameLine);
        Some(())
    }

    /// `[a, 'b', "c"]` on one line, from `at`: where it ends. Empty, nested or with a pair, a
    /// comment or a trailing comma, it is given up on.
    fn flow_sequence(&mut self, at: usize, end: usize, line: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        self.give_open(false, true, at, at + 1, line);
        let skip_spaces = |mut from: usize| {
            while from < end && bytes[from] == b' ' {
                from += 1;
            }
            from
        };
        let mut at = skip_spaces(at + 1);
        if bytes.get(at) == Some(&b']') && at < end {
            self.give_close(at, at + 1, line);
            return Some(at + 1);
        }
        loop {
            if at >= end {
                return None;
            }
            let rest = &self.text[at..end];
            let item_end = if matches!(bytes[at], b'\'' | b'"') {
                let (value, style, length) = quoted(rest)?;
                self.scalar(value, style, at, at + length, line);
                at + length
            } else {
                if is_indicator(bytes[at]) {
                    return None;
                }
                let length = memchr::memchr2(b',', b']', rest.as_bytes())?;
                let plain = without_trailing_spaces(&rest[..length]);
                if plain
                    .bytes()
                    .any(|b| matches!(b, b':' | b'#' | b'[' | b'{' | b'}'))
                {
                    return None;
                }
                self.plain(plain, at, line)
            };
            at = skip_spaces(item_end);
            match bytes.get(at) {
                Some(b',') if at < end => {
                    at = skip_spaces(at + 1);
                    if bytes.get(at) == Some(&b']') {
                        return None;
                    }
                }
                Some(b']') if at < end => {
                    self.give_close(at, at + 1, line);
                    return Some(at + 1);
                }
                _ => return None,
            }
        }
    }

    /// A literal block scalar (`|`, `|-`, `|+`, nothing after it) whose header is at `at`: it
    /// takes the lines below it that are indented as its first, more than its collection.
    fn literal(&mut self, at: usize, end: usize, line: usize) -> Option<()> {
        let text = self.text;
        let header = &text[at + 1..end];
        let (keep, strip) = (header.starts_with('+'), header.starts_with('-'));
        let indicator_end = at + 1 + usize::from(keep || strip);
        // granit-parser gives a comment on the header after the scalar, not before: left to it.
        if !without_leading_spaces(&text[indicator_end..end]).is_empty() {
            return None;
        }
        let parent_indent = self.open.last()?.indent;
        let first_start = end + 1;
        if first_start >= text.len() {
            return None;
        }
        let indent = |start: usize| {
            text.as_bytes()[start..]
                .iter()
                .take_while(|&&b| b == b' ')
                .count()
        };
        let content_indent = indent(first_start);
        let first_end = memchr(b'\n', &text.as_bytes()[first_start..])? + first_start;
        if content_indent <= parent_indent || first_start + content_indent == first_end {
            return None;
        }
        let mut value = String::new();
        let mut trailing_breaks = 0;
        let mut line_start = first_start;
        let mut line_number = line + 1;
        while line_start < text.len() {
            let line_end = memchr(b'\n', &text.as_bytes()[line_start..])? + line_start;
            let spaces = indent(line_start);
            if line_start + spaces == line_end {
                // A blank line; spaces beyond the indentation would be text.
                if spaces > content_indent {
                    return None;
                }
                trailing_breaks += 1;
            } else if spaces < content_indent {
                break;
            } else {
                if line_start != first_start {
                    // The break ending the content line before, and those of the blank lines.
                    push_breaks(&mut value, 1 + trailing_breaks);
                }
                trailing_breaks = 0;
                value.push_str(&text[line_start + content_indent..line_end]);
            }
            line_start = line_end + 1;
            line_number += 1;
        }
        if !strip {
            value.push('\n');
        }
        if keep {
            push_breaks(&mut value, trailing_breaks);
        }
        let start = first_start + content_indent;
        // It ends where the next token starts.
        let span_end = if line_start < text.len() {
            line_start + indent(line_start)
        } else {
            text.len()
        };
        self.scalar(Cow::Owned(value), Style::Literal, start, span_end, line + 1);
        self.resume_at = Some(line_number);
        Some(())
    }

    /// A plain scalar whose text starts at `at`: where it ends.
    fn plain(&mut self, text: &'t str, at: usize, line: usize) -> usize {
        self.scalar(Cow::Borrowed(text), Style::Plain, at, at + text.len(), line);
        at + text.len()
    }

    fn scalar(&mut self, value: Cow<'t, str>, style: Style, start: usize, end: usize, line: usize) {
        self.give_comments_before(start);
        self.sink.scalar(value, style, Span::new(start, end), line);
    }

    fn give_open(&mut self, is_map: bool, flow: bool, start: usize, end: usize, line: usize) {
        self.give_comments_before(start);
        self.sink.open(is_map, flow, Span::new(start, end), line);
    }

    fn give_close(&mut self, start: usize, end: usize, line: usize) {
        self.give_comments_before(start);
        self.sink.close(Span::new(start, end), line);
    }

    /// Closes the innermost block collection, at `at`.
    fn close(&mut self, at: usize, line: usize) {
        self.open.pop();
        self.give_close(at, at, line);
    }

    fn comment(&mut self, at: usize, end: usize, line: usize, placement: Placement) {
        let event = Event::Comment {
            text: Cow::Borrowed(&self.text[at + 1..end]),
            placement,
        };
        self.comments
            .push(Located::new(event, Span::new(at, end), line));
    }

    fn push(&mut self, event: Event<'t>, start: usize, end: usize, line: usize) {
        self.give(start, Located::new(event, Span::new(start, end), line));
    }

    /// Gives the sink an event other than a comment, `at` being where it goes among them.
    fn give(&mut self, at: usize, event: Located<'t>) {
        self.give_comments_before(at);
        self.sink.event(event);
    }

    fn give_comments_before(&mut self, at: usize) {
        while let Some(comment) = self.comments.get_mut(self.comments_given) {
            if comment.span.start >= at {
                break;
            }
            // Given once: the comment's text is not needed here after.
            let event = std::mem::replace(&mut comment.event, Event::DocumentEnd);
            self.sink
                .event(Located::new(event, comment.span, comment.line));
            self.comments_given += 1;
        }
    }
}

/// The length of a plain key that `bytes` start with (`key:` then a space or the line's end),
/// or `None` when it does not start with one.
fn key_length(bytes: &[u8]) -> Option<usize> {
    if is_indicator(*bytes.first()?) {
        return None;
    }
    let bytes = &bytes[..bytes.len().min(MAX_KEY_LENGTH + 2)];
    match plain_end(bytes) {
        PlainEnd::Colon(at) => {
            let after_space = at > 0 && bytes[at - 1] == b' ';
            (at <= MAX_KEY_LENGTH && !after_space).then_some(at)
        }
        PlainEnd::Comment(_) | PlainEnd::LineEnd => None,
    }
}

/// What ends plain text on a line, as [`plain_end`] finds it.
#[derive(Debug, PartialEq)]
enum PlainEnd {
    /// A `:` before a space or the line's end, at this offset: the text is a key.
    Colon(usize),
    /// A ` #`, its space at this offset: a comment follows.
    Comment(usize),
    /// Neither.
    LineEnd,
}

/// The first `: ` (or `:` at the end) or ` #` in `bytes`, whichever comes first.
// Inlined into its two callers: it runs for every key and plain value, most a few bytes long,
// where a call costs a good part of the search.
#[inline(always)]
fn plain_end(bytes: &[u8]) -> PlainEnd {
    let mut from = 0;
    while let Some(at) = next_colon_or_hash(bytes, from) {
        if bytes[at] == b'#' {
            if at > 0 && bytes[at - 1] == b' ' {
                return PlainEnd::Comment(at - 1);
            }
        } else if bytes.get(at + 1).is_none_or(|&b| b == b' ') {
            return PlainEnd::Colon(at);
        }
        from = at + 1;
    }
    PlainEnd::LineEnd
}

/// Where the first `:` or `#` of `bytes` from `from` is. Eight bytes at a time, as a `u64`:
/// keys and most values are short, and a `memchr2` search costs more to set up than they take
/// to pass, but byte by byte they cost several instructions a byte (the largest part of this
/// reader).
fn next_colon_or_hash(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    // The high bit of each zero byte is set, and maybe of bytes after the first zero (a borrow
    // carries over): the lowest bit set is the first zero byte.
    let zero_bytes = |word: u64| word.wrapping_sub(ONES) & !word & HIGH_BITS;
    let mut at = from;
    while let Some(chunk) = bytes[at..].first_chunk::<8>() {
        let word = u64::from_le_bytes(*chunk);
        let stops = zero_bytes(word ^ (ONES * u64::from(b':')))
            | zero_bytes(word ^ (ONES * u64::from(b'#')));
        if stops != 0 {
            return Some(at + (stops.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    // Letters, most of the bytes, come after both: one comparison passes over them.
    let is_stop = |&b: &u8| b <= b':' && (b == b':' || b == b'#');
    bytes[at..].iter().position(is_stop).map(|found| at + found)
}

/// `count` line breaks at the end of `value`, one by one: `extend` with characters takes
/// several hundred instructions even for one.
fn push_breaks(value: &mut String, count: usize) {
    for _ in 0..count {
        value.push('\n');
    }
}

/// `text` after the spaces it starts with. Byte by byte: `trim_start_matches(' ')` decodes
/// characters, and every line and value is trimmed.
fn without_leading_spaces(text: &str) -> &str {
    &text[leading_spaces(text.as_bytes())..]
}

/// How many spaces `bytes` starts with.
fn leading_spaces(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| b == b' ').count()
}

/// `text` without the spaces it ends with.
fn without_trailing_spaces(text: &str) -> &str {
    &text[..text.len() - text.bytes().rev().take_while(|&b| b == b' ').count()]
}

/// A character that cannot start a plain scalar (`-`, `?` and `:` can, before a non-space; this
/// reader leaves those to the full parser).
fn is_indicator(byte: u8) -> bool {
    matches!(
        byte,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// A quoted scalar that `text` starts with, closed on its line: its value, style and length
/// with the quotes. A double-quoted one with an escape is left to the full parser.
fn quoted(text: &str) -> Option<(Cow<'_, str>, Style, usize)> {
    if text.starts_with('\'') {
        let close = single_quote_end(text)?;
        let inner = &text[1..close];
        let value = if inner.contains("''") {
            Cow::Owned(inner.replace("''", "'"))
        } else {
            Cow::Borrowed(inner)
        };
        return Some((value, Style::SingleQuoted, close + 1));
    }
    let close = 1 + memchr(b'"', &text.as_bytes()[1..])?;
    let inner = &text[1..close];
    if inner.contains('\\') {
        return None;
    }
    Some((Cow::Borrowed(inner), Style::DoubleQuoted, close + 1))
}

/// Where a single-quoted scalar starting `text` closes, `''` being a quote inside it.
fn single_quote_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 1;
    loop {
        let quote = from + memchr(b'\'', &bytes[from..])?;
        if bytes.get(quote + 1) == Some(&b'\'') {
            from = quote + 2;
        } else {
            return Some(quote);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scan::yaml::YamlFile;
    use crate::source::SourceFile;

    impl<'t> Sink<'t> for Vec<Located<'t>> {
        fn event(&mut self, event: Located<'t>) {
            self.push(event);
        }
    }

    /// The events this reader gives for `source`, or `None` when it leaves it to the full
    /// parser.
    fn events(source: &SourceFile) -> Option<Vec<Located<'_>>> {
        let mut events = Vec::new();
        read(source, &mut events)?;
        Some(events)
    }

    /// Whether this reader takes `text` rather than leave it to the full parser.
    fn taken(text: &str) -> bool {
        events(&SourceFile::new("t.yaml".into(), text)).is_some()
    }

    /// Whether this reader takes `text`; when it does, the tree must be granit-parser's.
    fn taken_and_same(text: &str) -> bool {
        let source = SourceFile::new("t.yaml".into(), text);
        let Some(read) = YamlFile::parse_block(&source) else {
            assert!(events(&source).is_none());
            return false;
        };
        let read = read.unwrap();
        let full = YamlFile::parse_in_full(&source)
            .unwrap_or_else(|error| panic!("taken, but YAML refuses it ({error:?}):\n{text}"));
        if read != full {
            let events = events(&source).unwrap();
            let show = |events: &[Located]| -> String {
                events
                    .iter()
                    .map(|e| {
                        format!(
                            "{:?} {}..{} line {}\n",
                            e.event, e.span.start, e.span.end, e.line
                        )
                    })
                    .collect()
            };
            let granit: Vec<Located> = granit_parser::Parser::new_from_str(text)
                .filter_map(|event| {
                    let (event, span) = event.ok()?;
                    let range = span.byte_range().unwrap_or(0..0);
                    let line = span.start.line();
                    Event::from_granit(event)
                        .map(|e| Located::new(e, Span::new(range.start, range.end), line))
                })
                .collect();
            panic!(
                "trees differ for:\n{text}\n--- events read here:\n{}--- granit-parser:\n{}",
                show(&events),
                show(&granit)
            );
        }
        true
    }

    #[test]
    fn the_block_subset_is_read_as_the_full_parser_reads_it() {
        for text in [
            "a: v1 # A\n# B\nb: v2\nc:\n  - v3 # C\n  # D\n  - v4\n  - k: x\n    j: y\ni: # I\n  j: 1\n\n# K\n\nk: 1\ne:\n",
            "e: # c\nk: 1\nf:\n",
            "c:\n- a\n- b\nd: 1\n",
            "# head\n---\na: 1\n---\nb: 2\n",
            "--- # x\na: {}\nb: []\nc: {} # after\n",
            "a: 'it''s'  # c\nb: \"x # y: z\"  \nc: d   \n",
            "- k: v\n  # c\n  j: w\n\n# free\n\n# last\n",
            "-\n  a: b\n- # c\n  x: y\n-   deep: 1\n    deeper:\n    - z\n",
            "a:\n  b:\n    c: 1\n  # between\n\n  d: 2\ne: 3",
            "k: -1\nl: --x\nm: a:b\nn: http://x#y\no: ünïcödé ✓ 𝄞\n",
            "spec:\n  containers:\n    - name: app\n      image: ghcr.io/org/app:v1.2.3 # {\"$imagepolicy\": \"flux-system:app\"}\n",
            "  indented: root\n  second: 2\n",
            "# only a comment\n\n",
            "# one\n# two\na: 1 # three\n  # four\n# five\n",
            "",
            "\n\n",
            "a: 1\n# trailing comment, no newline",
            "---\n# c\n# d\n---\na: 1\n",
            "---\n---\na: 1\n",
            "---\n\n# c\n\n---\na: 1\n---\n# e\n",
            "a: 1\n---\n# c\n",
            "# head\n--- # x\n---\na: 1\n---\n",
            "a: [ALL] # c\nb: [ \"\" , x y ,z]\nc: ['q', 'it''s']\nd:\n- [x]\n",
            "a: |\n  l1\n\n   l2\n  # l3\n\n\nb: |-\n  x\nc: |+\n  y\n\n# after\nd:\n  - |\n    z\n",
        ] {
            assert!(taken_and_same(text), "not taken:\n{text}");
        }
    }

    #[test]
    fn what_the_block_subset_leaves_to_the_full_parser() {
        for text in [
            "a: [x, [y]]\n",
            "a: [x,]\n",
            "a: [k: v]\n",
            "a: [x\n]\n",
            "a: {b: c}\n",
            "a: |2\n   x\n",
            "a: |\n  x",
            "a: |\n\n  x\n",
            "a: |\nb: 1\n",
            "a: >-\n  text\n",
            "a: plain\n  continued\n",
            "a: &anchor x\nb: *anchor\n",
            "a: !!str 1\n",
            "\"quoted key\": x\n",
            "? complex\n: key\n",
            "- - nested\n",
            "-\n- empty item\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "a:\tb\n",
            "a: b\r\n",
            "\u{feff}a: b\n",
            "a: \"esc\\n\"\n",
            "a: 'open\n  quote'\n",
            "a: b: c\n",
            "a: b:\n",
            "a:\n  b: 1\n c: 2\n",
            "scalar document\n",
            "a: 1\n  b: 2\n",
            "key : spaced\n",
        ] {
            assert!(!taken(text), "taken:\n{text}");
            // The full parser decides these, errors included.
            let source = SourceFile::new("t.yaml".into(), text);
            let _ = YamlFile::parse(&source);
        }
    }

    #[test]
    fn long_keys_are_left_to_the_full_parser() {
        let key = |length: usize| format!("{}: v\n", "k".repeat(length));
        assert!(taken_and_same(&key(MAX_KEY_LENGTH)));
        assert!(taken_and_same(&format!("- {}", key(MAX_KEY_LENGTH))));
        for text in [key(MAX_KEY_LENGTH + 1), format!("- {}", key(1100))] {
            assert!(!taken(&text));
        }
        let source = SourceFile::new("t.yaml".into(), key(1100));
        assert!(YamlFile::parse(&source).is_err());
    }

    #[test]
    fn deep_nesting_is_left_to_the_full_parser() {
        let nested = |depth: usize| -> String {
            (0..depth)
                .map(|level| format!("{}k{level}:\n", " ".repeat(level)))
                .chain([format!("{}v: x\n", " ".repeat(depth))])
                .collect()
        };
        assert!(taken_and_same(&nested(MAX_DEPTH - 1)));
        assert!(!taken(&nested(MAX_DEPTH)));
        // granit-parser refuses what its limit does not allow, as before this reader.
        let source = SourceFile::new("t.yaml".into(), nested(3_000));
        assert!(YamlFile::parse(&source).is_err());
    }

    /// Every file of `fixtures/` (and of the folders `FLUX_IMAGE_LINT_YAML_CORPUS` names,
    /// `:`-separated, to try real repositories): what this reader takes, it reads as granit-parser
    /// does.
    #[test]
    fn fixtures_read_as_the_full_parser_reads_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut folders = vec![root.join("fixtures")];
        if let Some(extra) = std::env::var_os("FLUX_IMAGE_LINT_YAML_CORPUS") {
            folders.extend(std::env::split_paths(&extra));
        }
        let (mut taken, mut files) = (0, 0);
        for folder in folders {
            for entry in ignore::WalkBuilder::new(folder)
                .standard_filters(false)
                .build()
            {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy();
                if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                files += 1;
                taken += usize::from(taken_and_same(&text));
            }
        }
        // Most of the fixtures are plain block YAML: were none taken, nothing would be compared.
        assert!(taken * 2 > files, "{taken} of {files} files taken");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn plain_text_ends_at_the_first_colon_or_comment(
                bytes in prop::collection::vec(prop::sample::select(b" #:ab".to_vec()), 0..40),
            ) {
                let comment = memchr::memmem::find(&bytes, b" #");
                let colon = (0..bytes.len()).find(|&at| {
                    bytes[at] == b':' && bytes.get(at + 1).is_none_or(|&b| b == b' ')
                });
                let expected = match (colon, comment) {
                    (Some(colon), Some(comment)) if comment < colon => PlainEnd::Comment(comment),
                    (Some(colon), _) => PlainEnd::Colon(colon),
                    (None, Some(comment)) => PlainEnd::Comment(comment),
                    (None, None) => PlainEnd::LineEnd,
                };
                prop_assert_eq!(plain_end(&bytes), expected);
            }

            #[test]
            fn colons_and_hashes_are_found_as_byte_by_byte(
                bytes in prop::collection::vec(
                    prop::sample::select(vec![b':', b'#', b' ', b'a', b'9', 0x23 ^ 0x80, 0xff]),
                    0..40,
                ),
                from in 0usize..40,
            ) {
                let from = from.min(bytes.len());
                let expected = (from..bytes.len()).find(|&at| matches!(bytes[at], b':' | b'#'));
                prop_assert_eq!(next_colon_or_hash(&bytes, from), expected);
            }
        }

        /// Lines of block YAML and of what borders it, at any indentation.
        fn line() -> impl Strategy<Value = String> {
            let body = prop::sample::select(vec![
                "a: b",
                "key: value",
                "k:",
                "- x",
                "- k: v",
                "-",
                "- # c",
                "# comment",
                "#",
                "",
                "---",
                "--- # c",
                "k: 'q''x'",
                "k: \"d\"",
                "k: {}",
                "k: []",
                "k: v # c",
                "k: v #c",
                "k: v#c",
                "- - x",
                "k: - x",
                "k: a: b",
                "k: |",
                "...",
                "k: &a x",
                "k: *a",
                "k: !t x",
                "k:v",
                "k : v",
                "? k",
                ": v",
                "k: [a]",
                "k: 'open",
                "k: \"a\\tb\"",
                "k: ~",
                "k: 1.10",
                "- {}",
                "- 'q'",
                "k: -",
                "k: -1",
                "k: :x",
                "k: ?x",
                "--- x",
                "----",
                "k:  ",
                "k: x  ",
                "k: x:",
                "image: r/a:v1 # {\"$imagepolicy\": \"ns:p\"}",
                "ü: ✓",
                "k: 'a' x",
                "k\u{a0}: v",
                "k: v\u{a0}",
                "k: \u{a0}v",
                "k: a,b",
                "k: a]",
                "k: x}y",
                "- a]",
                "k: [a b, 'c''d']",
                "k: ...",
                "k: a #b #c",
                "k: |-",
                "k: |+ # c",
                "  x",
                "k: [\"\"]",
                "k: [a, ]",
                "k: ['",
                "k: ''",
                "k: \"\"",
            ]);
            (0usize..7, body).prop_map(|(indent, body)| format!("{}{body}", " ".repeat(indent)))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            #[test]
            fn taken_text_reads_as_the_full_parser_reads_it(
                lines in prop::collection::vec(line(), 0..12),
                final_newline in any::<bool>(),
            ) {
                let mut text = lines.join("\n");
                if final_newline {
                    text.push('\n');
                }
                taken_and_same(&text);
            }
        }
    }
}
