//! Source files and positions: a file's bytes as read once by the walker, its path relative to
//! the repository root, and the mapping from byte offsets to 1-based lines and columns that every
//! diagnostic and rewrite shares. Lines come from a binary search over the line starts; columns
//! (in characters) are counted only when a diagnostic asks, and on long lines from a table of
//! character counts, so no input makes positions quadratic (a 10 MB single-line file). A text
//! nothing else holds may be let go after the scan and read again when asked, checked to be the
//! bytes scanned: the run fails rather than read a file that changed meanwhile.

use std::hash::BuildHasher;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Bytes per entry of the character-count table that columns on long lines start from.
const CHARS_CHECKPOINT: usize = 4096;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A position for humans: 1-based line, 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One file of the repository, read once.
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the repository root, `/`-separated: what every report prints.
    pub path: String,
    /// Tells this file apart from any other of the run, whose address may be this one's later.
    id: u64,
    text: Text,
    /// Built when first asked (the parse asks), let go once the file is scanned
    /// ([`SourceFile::forget_positions`]) and built again for the few files a diagnostic or a
    /// rewrite points into. Every file is kept until the run ends: the line tables were 4 % of
    /// the peak memory (2.6 MB at 20,000 files), and the room for both tables in every file
    /// another 0.6 MB at 50,000.
    positions: OnceLock<Box<Positions>>,
}

/// A file's text: held until the run ends, or let go once the file is scanned and read again
/// from the disk when asked.
#[derive(Debug)]
enum Text {
    /// Shared with the file's parsed tree, whose scalars are mostly slices of it.
    Held(Arc<str>),
    /// The texts of the files parsed for their markers alone were a fifth of the peak memory
    /// (11 of 54 MB at 20,000 files), kept from the walk until the report.
    LetGo(Box<LetGo>),
}

#[derive(Debug)]
struct LetGo {
    disk_path: PathBuf,
    /// The text's length and hash: what is read again must be what was scanned, or spans and
    /// markers would point into other bytes.
    len: usize,
    hash: u64,
    /// Read again for good: for a diagnostic's position, a rewrite, a report's excerpt.
    again: OnceLock<ReadAgain>,
}

#[derive(Debug)]
struct ReadAgain {
    /// Where the file is no longer what was scanned, a blank text of the scanned length: every
    /// span of the scan stays in bounds while the run goes on to fail.
    text: Arc<str>,
    /// Why the file could not be read as it was scanned.
    failure: Option<String>,
}

impl LetGo {
    /// The text read again and held, read now if it was not yet.
    fn held_again(&self) -> &ReadAgain {
        self.again.get_or_init(|| self.read_again())
    }

    fn read_again(&self) -> ReadAgain {
        match self.read() {
            Ok(text) => ReadAgain {
                text,
                failure: None,
            },
            Err(failure) => self.failed(failure),
        }
    }

    fn failed(&self, failure: String) -> ReadAgain {
        ReadAgain {
            text: " ".repeat(self.len).into(),
            failure: Some(failure),
        }
    }

    fn read(&self) -> Result<Arc<str>, String> {
        let bytes = match crate::limits::read_listed_file(&self.disk_path, self.len as u64) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err("it is gone".into()),
            Err(crate::limits::ReadFileError::TooLarge { .. }) => return Err(CHANGED.into()),
            Err(error) => return Err(error.to_string()),
        };
        match String::from_utf8(bytes) {
            Ok(text) if text.len() == self.len && text_hash(&text) == self.hash => Ok(text.into()),
            _ => Err(CHANGED.into()),
        }
    }
}

const CHANGED: &str = "it changed";

fn text_hash(text: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0).hash_one(text.as_bytes())
}

/// Source of [`SourceFile::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// What positions in a file are computed from.
#[derive(Debug)]
struct Positions {
    /// Where each line starts. `u32`: no file is read past `max_file_size` (a file over 4 GiB
    /// is not parsed either); an offset beyond would be counted in the last line.
    line_starts: Box<[u32]>,
    /// Characters before each multiple of [`CHARS_CHECKPOINT`] bytes; built on the first column
    /// asked on a long line.
    chars_before_checkpoint: OnceLock<Box<[usize]>>,
}

impl SourceFile {
    pub fn new(path: String, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile {
            path,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            text: Text::Held(text.into()),
            positions: OnceLock::new(),
        }
    }

    /// Unique among the files of the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The text, read again from the disk if it was let go (and then held): blank if the file
    /// is no longer what was scanned, which [`SourceFile::not_read_again`] tells.
    pub fn text(&self) -> &str {
        match &self.text {
            Text::Held(text) => text,
            Text::LetGo(let_go) => &let_go.held_again().text,
        }
    }

    /// The text, shared: what [`SourceFile::text`] gives.
    pub fn shared_text(&self) -> Arc<str> {
        match &self.text {
            Text::Held(text) => Arc::clone(text),
            Text::LetGo(let_go) => Arc::clone(&let_go.held_again().text),
        }
    }

    /// The text for a moment (a parse whose tree is dropped soon after): a text that was let go
    /// is read again and not held, unless something already holds it again. `None` where the
    /// file is no longer what was scanned.
    pub fn passing_text(&self) -> Option<Arc<str>> {
        let Text::LetGo(let_go) = &self.text else {
            return Some(self.shared_text());
        };
        if let Some(again) = let_go.again.get() {
            return again.failure.is_none().then(|| Arc::clone(&again.text));
        }
        match let_go.read() {
            Ok(text) => Some(text),
            Err(failure) => {
                let_go.again.get_or_init(|| let_go.failed(failure));
                None
            }
        }
    }

    /// Lets the text go, to be read again from `disk_path` when asked: for a file whose tree
    /// was let go too (nothing else holds the text).
    pub fn let_text_go(&mut self, disk_path: PathBuf) {
        if let Text::Held(text) = &self.text {
            self.text = Text::LetGo(Box::new(LetGo {
                disk_path,
                len: text.len(),
                hash: text_hash(text),
                again: OnceLock::new(),
            }));
        }
    }

    /// Why a text that was let go could not be read again as it was scanned (the file changed
    /// or went away while the run went on): nothing said about it can be trusted.
    pub fn not_read_again(&self) -> Option<&str> {
        match &self.text {
            Text::LetGo(let_go) => let_go.again.get()?.failure.as_deref(),
            Text::Held(_) => None,
        }
    }

    fn positions(&self) -> &Positions {
        self.positions.get_or_init(|| {
            let bytes = self.text().as_bytes();
            // Counted first: the table is made at its size, not grown and then shrunk.
            let mut starts = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
            starts.push(0);
            starts
                .extend(memchr::memchr_iter(b'\n', bytes).map_while(|i| u32::try_from(i + 1).ok()));
            Box::new(Positions {
                line_starts: starts.into_boxed_slice(),
                chars_before_checkpoint: OnceLock::new(),
            })
        })
    }

    fn line_starts(&self) -> &[u32] {
        &self.positions().line_starts
    }

    /// Lets the tables positions are computed from go: they are built again if one is asked.
    pub fn forget_positions(&mut self) {
        self.positions.take();
    }

    /// The 1-based line of a byte offset (clamped to the text): O(log lines).
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text().len());
        self.line_starts()
            .partition_point(|&start| start as usize <= offset)
    }

    /// Line and column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(self.text(), offset.min(self.text().len()));
        let line = self.line_of(offset);
        let line_start = self.line_starts()[line - 1] as usize;
        let column = if offset - line_start <= CHARS_CHECKPOINT {
            count_chars(&self.text().as_bytes()[line_start..offset])
        } else {
            self.chars_before(offset) - self.chars_before(line_start)
        };
        Position {
            line,
            column: column + 1,
        }
    }

    /// Characters in the text before a char boundary, from the nearest checkpoint.
    fn chars_before(&self, offset: usize) -> usize {
        let bytes = self.text().as_bytes();
        let checkpoints = self.positions().chars_before_checkpoint.get_or_init(|| {
            let mut total = 0;
            let counts = bytes.chunks(CHARS_CHECKPOINT).map(|chunk| {
                total += count_chars(chunk);
                total
            });
            std::iter::once(0).chain(counts).collect()
        });
        let checkpoint = offset / CHARS_CHECKPOINT;
        checkpoints[checkpoint] + count_chars(&bytes[checkpoint * CHARS_CHECKPOINT..offset])
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts()
            .get(line.saturating_sub(1))
            .map_or(self.text().len(), |&start| start as usize)
    }

    /// Byte offset of a 1-based line and a 0-based character column, as parsers report them.
    pub fn offset_of(&self, line: usize, char_column: usize) -> usize {
        let start = self.line_start(line);
        let rest = &self.text()[start..];
        let line_end = rest.find('\n').map_or(rest.len(), |i| i);
        rest[..line_end]
            .char_indices()
            .nth(char_column)
            .map_or(start + line_end, |(i, _)| start + i)
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text()[span.range()]
    }

    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }
}

/// UTF-8 characters in whole-character bytes: every byte that does not continue a character.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let file = SourceFile::new("a.yaml".into(), "a: é\nb: x\n");
        assert_eq!(file.position(0), Position { line: 1, column: 1 });
        let x = file.text().find('x').unwrap();
        assert_eq!(file.position(x), Position { line: 2, column: 4 });
        let after_e = file.text().find('é').unwrap() + 'é'.len_utf8();
        assert_eq!(file.position(after_e), Position { line: 1, column: 5 });
        assert_eq!(file.offset_of(2, 3), x);
        assert_eq!(
            (file.line_of(0), file.line_of(x), file.line_of(999)),
            (1, 2, 3)
        );
    }

    #[test]
    fn a_text_let_go_is_read_again_only_as_it_was_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let disk_path = dir.path().join("a.yaml");
        let text = "image: app:v1 # é\n";
        std::fs::write(&disk_path, text).unwrap();
        let let_go = || {
            let mut file = SourceFile::new("a.yaml".into(), text);
            file.let_text_go(disk_path.clone());
            file
        };
        let held_again = let_go();
        assert_eq!(held_again.text(), text);
        let passing = let_go();
        assert_eq!(passing.passing_text().as_deref(), Some(text));

        // The same length: the hash tells.
        std::fs::write(&disk_path, text.replace("v1", "v2")).unwrap();
        assert_eq!(
            (held_again.text(), held_again.not_read_again()),
            (text, None)
        );
        assert_eq!(passing.passing_text(), None);
        assert_eq!(passing.not_read_again(), Some("it changed"));
        assert_eq!(passing.text(), " ".repeat(text.len()));
        assert_eq!(passing.position(text.len()).line, 1);

        std::fs::write(&disk_path, format!("{text}more: 1\n")).unwrap();
        assert_eq!(let_go().passing_text(), None);
        std::fs::remove_file(&disk_path).unwrap();
        let gone = let_go();
        assert_eq!(
            (gone.passing_text(), gone.not_read_again()),
            (None, Some("it is gone"))
        );
    }

    #[test]
    fn columns_on_long_lines_agree_with_counting_from_the_line_start() {
        let line: String = (0..3000)
            .map(|i| if i % 7 == 0 { "é" } else { "ab" })
            .collect();
        let text = format!("x\n{line}\n{line}");
        let file = SourceFile::new("a.yaml".into(), text.clone());
        for offset in (0..text.len())
            .step_by(997)
            .chain([text.len() - 1, text.len()])
        {
            let end = floor_char_boundary(&text, offset);
            let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
            let expected = text[line_start..end].chars().count() + 1;
            assert_eq!(file.position(offset).column, expected, "offset {offset}");
        }
    }
}
