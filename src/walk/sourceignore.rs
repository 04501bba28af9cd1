//! Which files source-controller hands to kustomize-controller: Flux's `.sourceignore` matcher.
//!
//! source-controller archives a GitRepository's checkout without the paths its ignore patterns
//! exclude (`pkg/sourceignore` and `SourceIgnoreFilter` in fluxcd/source-controller). The
//! patterns are gitignore lines read by go-git v5's `gitignore` package: every `.sourceignore`
//! file of the checkout, each scoped to its directory, then the GitRepository's `spec.ignore`.
//! When there are none, Flux's default excludes apply (VCS files, CI configuration, images and
//! archives, `.sops.yaml`, …); as soon as there is one pattern, only the VCS excludes stay.
//! The last pattern that matches a path decides. image-automation-controller clones the
//! repository itself and honours none of this.

/// Excluded whatever the patterns say (source-controller's `ExcludeVCS`).
const VCS_EXCLUDES: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Excluded only while no `.sourceignore` or `spec.ignore` pattern exists (`ExcludeExt`,
/// `ExcludeCI`, `ExcludeExtra`).
const DEFAULT_EXCLUDES: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// The name of the ignore files source-controller reads.
pub const FILE_NAME: &str = ".sourceignore";

/// Decides whether kustomize-controller receives a file of the repository.
#[derive(Debug, Clone)]
pub struct SourceIgnore {
    patterns: Vec<Pattern>,
    /// The literal names and suffixes of every pattern, when each pattern has one its match
    /// needs: a path none of whose components matches any of them matches no pattern. That is
    /// nearly every file, and asking each pattern (Flux's default excludes are twenty) was a
    /// twentieth of `check`'s instructions.
    literals: Option<Literals>,
}

#[derive(Debug, Clone, Default)]
struct Literals {
    names: foldhash::HashSet<String>,
    suffixes: Vec<String>,
    /// The bytes some name starts with and some suffix ends with: most components start and
    /// end with none of them, and are passed over without a hash or a comparison.
    name_starts: ByteSet,
    suffix_ends: ByteSet,
}

/// Bytes, and whether the empty literal (`*` is the empty suffix) is among the literals, which
/// lets every component through.
#[derive(Debug, Clone)]
struct ByteSet {
    bytes: [bool; 256],
    empty: bool,
}

impl Default for ByteSet {
    fn default() -> ByteSet {
        ByteSet {
            bytes: [false; 256],
            empty: false,
        }
    }
}

impl ByteSet {
    fn insert(&mut self, byte: Option<&u8>) {
        match byte {
            Some(&byte) => self.bytes[byte as usize] = true,
            None => self.empty = true,
        }
    }

    fn may_match(&self, byte: Option<&u8>) -> bool {
        self.empty || byte.is_some_and(|&byte| self.bytes[byte as usize])
    }
}

impl Literals {
    /// `None` when some pattern could match with none of its segments a literal one: a `*`
    /// alone, a class, `**` only.
    fn of(patterns: &[Pattern]) -> Option<Literals> {
        let mut literals = Literals::default();
        for pattern in patterns {
            let mut needs_one = false;
            for segment in &pattern.segments {
                match &segment.glob {
                    _ if segment.text.is_empty() || segment.text == "**" => {}
                    Glob::Name(name) => {
                        literals.names.insert(name.clone());
                        needs_one = true;
                    }
                    Glob::Suffix(suffix) => {
                        literals.suffixes.push(suffix.clone());
                        needs_one = true;
                    }
                    // Matches nothing: the pattern cannot match.
                    Glob::Malformed => needs_one = true,
                    Glob::Tokens(_) => return None,
                }
            }
            if !needs_one {
                return None;
            }
        }
        literals.suffixes.sort();
        literals.suffixes.dedup();
        for name in &literals.names {
            literals.name_starts.insert(name.as_bytes().first());
        }
        for suffix in &literals.suffixes {
            literals.suffix_ends.insert(suffix.as_bytes().last());
        }
        Some(literals)
    }

    fn any_matches(&self, path: &str) -> bool {
        path.split('/').any(|component| {
            let bytes = component.as_bytes();
            (self.name_starts.may_match(bytes.first()) && self.names.contains(component))
                || (self.suffix_ends.may_match(bytes.last())
                    && self
                        .suffixes
                        .iter()
                        .any(|suffix| component.ends_with(suffix.as_str())))
        })
    }
}

impl SourceIgnore {
    /// `ignore_files`: every `.sourceignore` of the repository as (its directory relative to the
    /// repository's top, `/`-separated, empty for the top; its text). `spec_ignore`: the
    /// GitRepository's `spec.ignore`, when set.
    /// `spec_ignore`: a GitRepository's `spec.ignore`, with the folder its patterns are relative
    /// to (the checked root, which the model takes for the root of what the clusters sync).
    pub fn new(
        ignore_files: &[(String, String)],
        spec_ignore: Option<(&str, &str)>,
    ) -> SourceIgnore {
        let mut files: Vec<(Vec<&str>, &str, &str)> = ignore_files
            .iter()
            .map(|(dir, text)| (components(dir), text.as_str(), dir.as_str()))
            .collect();
        // source-controller reads them depth first, a directory's own file before its
        // subdirectories': ancestors first, which is what decides between overlapping scopes.
        files.sort();
        let mut own: Vec<Pattern> = files
            .iter()
            .flat_map(|(domain, text, dir)| {
                read_patterns(text, domain, |line| Written::InFile {
                    dir: dir.trim_matches('/').to_string(),
                    line,
                })
            })
            .collect();
        own.extend(spec_ignore.into_iter().flat_map(|(text, dir)| {
            read_patterns(text, &components(dir), |line| Written::InSpec { line })
        }));
        let defaults: &[&str] = if own.is_empty() {
            DEFAULT_EXCLUDES
        } else {
            &[]
        };
        let mut patterns: Vec<Pattern> = VCS_EXCLUDES
            .iter()
            .chain(defaults)
            .map(|line| Pattern::parse(line, &[], Written::ByFlux))
            .collect();
        patterns.extend(own);
        SourceIgnore {
            literals: Literals::of(&patterns),
            patterns,
        }
    }

    /// Whether kustomize-controller receives the file at `path` (relative to the repository's
    /// top, `/`-separated).
    pub fn delivers(&self, path: &str) -> bool {
        self.deciding(path)
            .is_none_or(|(_, verdict)| verdict != Verdict::Exclude)
    }

    /// The pattern that keeps the file at `path` from kustomize-controller, where one does.
    pub fn excluded_by(&self, path: &str) -> Option<Exclusion> {
        match self.deciding(path)? {
            (pattern, Verdict::Exclude) => Some(Exclusion {
                written: pattern.written.clone(),
                pattern: pattern.line.clone(),
            }),
            (_, Verdict::Include) => None,
        }
    }

    /// The last pattern that matches `path`, which decides, with its verdict.
    fn deciding(&self, path: &str) -> Option<(&Pattern, Verdict)> {
        if self
            .literals
            .as_ref()
            .is_some_and(|literals| !literals.any_matches(path))
        {
            return None;
        }
        let path = components(path);
        self.patterns
            .iter()
            .rev()
            .find_map(|pattern| Some((pattern, pattern.verdict(&path)?)))
    }
}

fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|part| !part.is_empty()).collect()
}

/// go-git's `ReadPatterns`: one pattern a line, `#` lines and blank lines skipped. `written`
/// says where the line of a number was written.
fn read_patterns(text: &str, domain: &[&str], written: impl Fn(usize) -> Written) -> Vec<Pattern> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(index, line)| Pattern::parse(line, domain, written(index + 1)))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Exclude,
    Include,
}

/// Where a pattern was written: what a diagnostic names as keeping a file from
/// kustomize-controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Flux's own excludes (VCS files always; images, archives and CI files while nothing else
    /// is written).
    ByFlux,
    /// Line `line` of the `.sourceignore` in `dir` (empty for the top).
    InFile { dir: String, line: usize },
    /// Line `line` of the GitRepository's `spec.ignore`.
    InSpec { line: usize },
}

/// The pattern that decides that kustomize-controller does not receive a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    pub written: Written,
    /// The line as written (`/*`, `*.png`).
    pub pattern: String,
}

impl std::fmt::Display for Exclusion {
    /// "`deploy/.sourceignore:5` (`/*`)", "Flux's default exclude `*.png`".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pattern = &self.pattern;
        match &self.written {
            Written::ByFlux => write!(f, "Flux's default exclude `{pattern}`"),
            Written::InFile { dir, line } if dir.is_empty() => {
                write!(f, "`{FILE_NAME}:{line}` (`{pattern}`)")
            }
            Written::InFile { dir, line } => write!(f, "`{dir}/{FILE_NAME}:{line}` (`{pattern}`)"),
            Written::InSpec { line } => write!(
                f,
                "line {line} of the GitRepository's `spec.ignore` (`{pattern}`)"
            ),
        }
    }
}

/// One gitignore line as go-git v5 reads it.
#[derive(Debug, Clone)]
struct Pattern {
    written: Written,
    line: String,
    domain: Vec<String>,
    segments: Vec<Segment>,
    inclusion: bool,
    dir_only: bool,
    /// The line has a `/` (after a trailing one is removed): matched segment by segment from
    /// the domain; otherwise its one segment may match any component of the path.
    anchored: bool,
}

impl Pattern {
    fn parse(line: &str, domain: &[&str], written: Written) -> Pattern {
        let as_written = line.to_string();
        let (inclusion, mut line) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        if !line.ends_with("\\ ") {
            line = line.trim_end_matches(' ');
        }
        let (dir_only, line) = match line.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        Pattern {
            written,
            line: as_written,
            domain: domain.iter().map(|d| d.to_string()).collect(),
            segments: line.split('/').map(Segment::new).collect(),
            inclusion,
            dir_only,
            anchored: line.contains('/'),
        }
    }

    /// How the pattern judges a file (never a directory: source-controller asks per file).
    fn verdict(&self, path: &[&str]) -> Option<Verdict> {
        if path.len() <= self.domain.len() || self.domain.iter().zip(path).any(|(d, p)| d != p) {
            return None;
        }
        let path = &path[self.domain.len()..];
        let matched = if self.anchored {
            self.segments_match(path)
        } else {
            self.name_matches(path)
        };
        matched.then_some(if self.inclusion {
            Verdict::Include
        } else {
            Verdict::Exclude
        })
    }

    /// go-git's `simpleNameMatch`: the first component the name matches decides; a
    /// directory-only pattern cannot match the file itself.
    fn name_matches(&self, path: &[&str]) -> bool {
        let last = path.len() - 1;
        match path
            .iter()
            .position(|name| self.segments[0].glob.matches(name))
        {
            Some(at) => !(self.dir_only && at == last),
            None => false,
        }
    }

    /// go-git's `globMatch`: segment by segment, `**` skipping any number of components, and a
    /// match of every segment covering whatever lies below it.
    fn segments_match(&self, mut path: &[&str]) -> bool {
        let mut matched = false;
        let mut can_traverse = false;
        for (
            i,
            Segment {
                text: segment,
                glob,
            },
        ) in self.segments.iter().enumerate()
        {
            if segment.is_empty() {
                can_traverse = false;
                continue;
            }
            if segment == "**" {
                if i == self.segments.len() - 1 {
                    break;
                }
                can_traverse = true;
                continue;
            }
            if segment.contains("**") || path.is_empty() {
                return false;
            }
            if can_traverse {
                can_traverse = false;
                matched = false;
                while let Some((first, rest)) = path.split_first() {
                    path = rest;
                    if glob.matches(first) {
                        matched = true;
                        break;
                    }
                }
            } else {
                if !glob.matches(path[0]) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        // A directory-only pattern cannot match the file itself.
        matched && !(self.dir_only && path.is_empty())
    }
}

/// One `/`-separated part of a pattern, compiled once: `delivers` runs for every file.
#[derive(Debug, Clone)]
struct Segment {
    text: String,
    glob: Glob,
}

impl Segment {
    fn new(text: &str) -> Segment {
        Segment {
            text: text.to_string(),
            glob: Glob::new(text),
        }
    }
}

/// One element of a Go `filepath.Match` pattern.
#[derive(Debug, Clone)]
enum Token {
    Star,
    AnyChar,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Literal(char),
}

/// A Go `filepath.Match` pattern for one path component; a malformed pattern matches nothing
/// (go-git treats Go's `ErrBadPattern` as no match). Every file is asked against every pattern,
/// and nearly all patterns are a name (`.gitignore`) or an extension (`*.png`): those two
/// compare bytes instead of walking tokens.
#[derive(Debug, Clone)]
enum Glob {
    Malformed,
    Name(String),
    /// `*` then literal characters: a path component (which never holds `/`) matches when it
    /// ends with them.
    Suffix(String),
    Tokens(Vec<Token>),
}

impl Glob {
    fn new(pattern: &str) -> Glob {
        let Some(tokens) = go_tokens(pattern) else {
            return Glob::Malformed;
        };
        let literal = |tokens: &[Token]| -> Option<String> {
            tokens
                .iter()
                .map(|token| match token {
                    Token::Literal(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        if let Some(name) = literal(&tokens) {
            return Glob::Name(name);
        }
        if let Some((Token::Star, rest)) = tokens.split_first() {
            if let Some(suffix) = literal(rest) {
                return Glob::Suffix(suffix);
            }
        }
        Glob::Tokens(tokens)
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Glob::Malformed => false,
            Glob::Name(literal) => name == literal,
            Glob::Suffix(suffix) => name.ends_with(suffix.as_str()),
            Glob::Tokens(tokens) => tokens_match(tokens, name),
        }
    }
}

fn tokens_match(tokens: &[Token], name: &str) -> bool {
    let one = |token: &Token, c: char| match token {
        Token::AnyChar => c != '/',
        Token::Literal(l) => *l == c,
        Token::Class { ranges, negated } => {
            ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
        }
        Token::Star => unreachable!("stars are handled by the caller"),
    };
    let char_at = |n: usize| name[n..].chars().next().expect("n is below the name's end");
    // Greedy matching with backtracking to the last star: linear in practice, never
    // exponential. `n` and the star's position are byte offsets of characters.
    let (mut t, mut n) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while n < name.len() {
        let c = char_at(n);
        match tokens.get(t) {
            Some(Token::Star) => {
                last_star = Some((t, n));
                t += 1;
            }
            Some(token) if one(token, c) => {
                t += 1;
                n += c.len_utf8();
            }
            _ => match last_star {
                Some((star, at)) if char_at(at) != '/' => {
                    let next = at + char_at(at).len_utf8();
                    last_star = Some((star, next));
                    t = star + 1;
                    n = next;
                }
                _ => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| matches!(token, Token::Star))
}

/// A `filepath.Match` pattern as tokens, or `None` when Go would report `ErrBadPattern`.
fn go_tokens(pattern: &str) -> Option<Vec<Token>> {
    let mut chars = pattern.chars().peekable();
    let mut tokens = Vec::new();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Star,
            '?' => Token::AnyChar,
            '\\' => Token::Literal(chars.next()?),
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    let lo = class_char(&mut chars)?;
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        class_char(&mut chars)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                Token::Class { ranges, negated }
            }
            other => Token::Literal(other),
        });
    }
    Some(tokens)
}

/// One character of a class (`getEsc` in Go): `-` and `]` must be escaped, and the class must
/// go on after it.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<char> {
    let c = match chars.next()? {
        '-' | ']' => return None,
        '\\' => chars.next()?,
        c => c,
    };
    chars.peek()?;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(ignore: &SourceIgnore, paths: &[&str]) -> Vec<bool> {
        paths.iter().map(|p| ignore.delivers(p)).collect()
    }

    proptest::proptest! {
        /// The literals only ever skip asking patterns that could not have matched.
        #[test]
        fn literals_decide_as_the_patterns_do(
            lines in proptest::collection::vec(proptest::sample::select(vec![
                "*.png", "!keep.png", "docs/", "/apps/tmp", "**/cache", "tmpl/**", "a\\#b",
                ".sops.yaml", "*.tar.gz", "x[", "[ab].yaml", "*", "**", "/", "a/**/b", "!apps/",
            ]), 0..4),
            path in proptest::collection::vec(proptest::sample::select(vec![
                "apps", "docs", "tmp", "cache", "tmpl", "a", "b", "a#b", "keep.png", "logo.png",
                ".sops.yaml", ".github", ".git", "x.tar.gz", "a.yaml", "b.yaml", "cloudbuild.yaml",
            ]), 1..5),
            scoped in proptest::bool::ANY,
        ) {
            let text = lines.join("\n");
            let files = [(if scoped { "apps" } else { "" }.to_string(), text)];
            let files: &[(String, String)] = if lines.is_empty() { &[] } else { &files };
            let ignore = SourceIgnore::new(files, None);
            let mut asked = ignore.clone();
            asked.literals = None;
            let path = path.join("/");
            proptest::prop_assert_eq!(ignore.delivers(&path), asked.delivers(&path), "{}", path);
        }
    }

    #[test]
    fn literals_are_kept_only_when_every_pattern_needs_one() {
        assert!(SourceIgnore::new(&[], None).literals.is_some());
        let with = |line: &str| SourceIgnore::new(&[(String::new(), line.to_string())], None);
        assert!(with("docs/\n**/cache").literals.is_some());
        assert!(with("[ab].yaml").literals.is_none());
        assert!(with("**").literals.is_none());
    }

    /// The pattern that decides is named where it was written: a nested `.sourceignore`'s
    /// line (6j0-org/team1-dev's `deploy/.sourceignore`), `spec.ignore`'s, or Flux's own.
    #[test]
    fn the_deciding_exclusion_is_named_where_it_was_written() {
        let nested = "# Exclude all\n/*\n\n!/apps/\n".to_string();
        let ignore = SourceIgnore::new(&[("deploy".to_string(), nested)], Some(("*.md\n", "")));
        let excluded = |path: &str| ignore.excluded_by(path).map(|e| e.to_string());
        assert_eq!(
            excluded("deploy/flux-system/policy.yaml").as_deref(),
            Some("`deploy/.sourceignore:2` (`/*`)")
        );
        assert_eq!(excluded("deploy/apps/app.yaml"), None);
        assert_eq!(excluded("other/app.yaml"), None);
        assert_eq!(
            excluded("README.md").as_deref(),
            Some("line 1 of the GitRepository's `spec.ignore` (`*.md`)")
        );
        assert_eq!(
            excluded(".gitignore").as_deref(),
            Some("Flux's default exclude `.gitignore`")
        );
        let defaults = SourceIgnore::new(&[], None);
        assert_eq!(
            defaults.excluded_by("logo.png").map(|e| e.written),
            Some(Written::ByFlux)
        );
        let top = SourceIgnore::new(&[(String::new(), "docs/\n".to_string())], None);
        assert_eq!(
            top.excluded_by("docs/a.yaml")
                .map(|e| e.to_string())
                .as_deref(),
            Some("`.sourceignore:1` (`docs/`)")
        );
    }

    #[test]
    fn default_excludes_apply_without_patterns() {
        let ignore = SourceIgnore::new(&[], None);
        assert_eq!(
            delivered(
                &ignore,
                &[
                    "apps/app.yaml",
                    ".github/workflows/ci.yaml",
                    "apps/.github/x.yaml",
                    "cloudbuild.yaml",
                    "apps/.sops.yaml",
                    ".flux.yaml",
                    "docs/logo.png",
                    ".gitignore",
                    ".git/config",
                ]
            ),
            [true, false, false, false, false, false, false, false, false]
        );
    }

    #[test]
    fn any_pattern_replaces_the_default_excludes_but_not_the_vcs_ones() {
        let from_file = SourceIgnore::new(&[(String::new(), "# only docs\ndocs/\n".into())], None);
        let from_spec = SourceIgnore::new(&[], Some(("docs/\n", "")));
        for ignore in [from_file, from_spec] {
            assert_eq!(
                delivered(
                    &ignore,
                    &[
                        "docs/a.yaml",
                        ".github/ci.yaml",
                        ".gitmodules",
                        "apps/a.yaml"
                    ]
                ),
                [false, true, false, true]
            );
        }
        // A file of comments only holds no pattern: the defaults stay.
        let comments_only = SourceIgnore::new(&[(String::new(), "# nothing\n\n".into())], None);
        assert!(!comments_only.delivers(".github/ci.yaml"));
    }

    #[test]
    fn patterns_follow_go_git() {
        let top = "/*\n!/clusters/\n*.md\n/tests/**/fixtures\n!keep.yaml\n";
        let nested = "local.yaml\n/only-here.yaml\n";
        let ignore = SourceIgnore::new(
            &[
                (String::new(), top.into()),
                ("clusters/prod".into(), nested.into()),
            ],
            None,
        );
        assert_eq!(
            delivered(
                &ignore,
                &[
                    "apps/app.yaml",
                    "clusters/prod/app.yaml",
                    "clusters/README.md",
                    "clusters/prod/local.yaml",
                    "clusters/dev/local.yaml",
                    "clusters/prod/sub/only-here.yaml",
                    "clusters/prod/only-here.yaml",
                    "apps/keep.yaml",
                    "tests/ats/fixtures/a.yaml",
                ]
            ),
            [false, true, false, false, true, true, false, true, false]
        );
        // `/tests/**/fixtures` excludes below `tests/` once `/*` is lifted for it.
        let fixtures = SourceIgnore::new(&[(String::new(), "/tests/**/fixtures\n".into())], None);
        assert!(!fixtures.delivers("tests/a/b/fixtures/x.yaml"));
        assert!(fixtures.delivers("tests/a/b/x.yaml"));
    }

    #[test]
    fn go_filepath_match() {
        for (pattern, name, expected) in [
            ("*.yaml", "a.yaml", true),
            ("*.yaml", "a.yml", false),
            ("a?c", "abc", true),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[!a]x", "!x", true),
            ("\\*", "*", true),
            ("*a*b*", "xxaybzz", true),
            ("[", "[", false),
            ("[]a]", "]", false),
            ("[a-]", "a", false),
            ("a\\", "a", false),
            ("**", "anything", true),
            ("?é", "aé", true),
            ("*é", "ééé", true),
            ("[à-é]?", "éa", true),
            ("*b", "éa", false),
            ("*.tar.gz", "x.tar.gz", true),
            ("*.png", ".png", true),
            ("*.png", "a.png.txt", false),
            (".gitignore", ".gitignore", true),
            (".gitignore", "a.gitignore", false),
        ] {
            assert_eq!(
                Glob::new(pattern).matches(name),
                expected,
                "{pattern} {name}"
            );
        }
    }
}
