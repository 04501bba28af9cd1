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
    for action in actions(template) {
        let (reads_here, opens) = match keyword(action) {
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
            reads.extend(
                chains(action)
                    .map(|(_, chain)| chain)
                    .map(|chain| RootRead { chain, always }),
            );
        }
        if opens {
            depth += 1;
        }
    }
    reads
}

/// A value of image-automation-controller's `update.Result` (`.Changed`, from Flux 2.3) that a
/// `range` or `with` makes the dot: a change, or one of the collections the changes come in.
/// None is empty when the template runs: it runs only for a commit, which has changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dot {
    /// `update.Result`, `.Changed` itself: `.FileChanges`, and its methods `.Changes` and
    /// `.Objects` (a struct: a `with` over it always runs).
    Result,
    /// `update.Change`: `.OldValue`, `.NewValue`, `.Setter`.
    Change,
    /// `[]update.Change`: `.Changed.Changes`, an object's changes.
    Changes,
    /// `update.ObjectChanges`, a map keyed by object: `.Changed.Objects`, a file's objects.
    Objects,
    /// `map[string]update.ObjectChanges`, keyed by file: `.Changed.FileChanges`.
    Files,
    /// The position of each item of a list a `range` of two variables binds to its first
    /// (`range $image, $_ := .Updated.Images`): a number.
    Index,
    /// `.Updated`, the older result (until Flux 2.7), whose fields are judged apart
    /// ([`result_fields_never_filled`]).
    Updated,
    /// `[]update.ImageRef`: `.Updated.Images`, the images updated.
    Images,
}

impl Dot {
    /// Go's name for its type, as the template's error names it.
    pub fn go_type(self) -> &'static str {
        match self {
            Dot::Result => "update.Result",
            Dot::Change => "update.Change",
            Dot::Changes => "[]update.Change",
            Dot::Objects => "update.ObjectChanges",
            Dot::Files => "map[string]update.ObjectChanges",
            Dot::Index => "int",
            Dot::Updated => "update.Result",
            Dot::Images => "[]update.ImageRef",
        }
    }

    /// What it is, in the words of a message.
    pub fn described(self) -> &'static str {
        match self {
            Dot::Result => {
                "the update's result, whose only fields are `.FileChanges`, `.Changes` and `.Objects`"
            }
            Dot::Change => {
                "one change, whose only fields are `.OldValue`, `.NewValue` and `.Setter`"
            }
            Dot::Changes => "a list of changes, with no fields",
            Dot::Objects => "a map from each object to its list of changes, with no fields",
            Dot::Files => "a map from each file to its objects",
            Dot::Index => "the position of each item, a number with no fields",
            Dot::Updated => "the update's result",
            Dot::Images => "a list of the images updated, with no fields",
        }
    }

    /// Whether `.name` on it runs: a field of a change; no field of a list, nor of a map whose
    /// keys are not strings; any key of a map keyed by strings (a missing key is empty).
    fn has_field(self, name: &str) -> bool {
        match self {
            Dot::Result => matches!(name, "FileChanges" | "Changes" | "Objects"),
            Dot::Change => matches!(name, "OldValue" | "NewValue" | "Setter"),
            Dot::Changes | Dot::Objects | Dot::Index | Dot::Images => false,
            Dot::Files | Dot::Updated => true,
        }
    }

    /// What `range` over it makes the dot.
    fn element(self) -> Option<Dot> {
        match self {
            Dot::Changes => Some(Dot::Change),
            Dot::Objects => Some(Dot::Changes),
            Dot::Files => Some(Dot::Objects),
            // An image reference: not followed.
            Dot::Change | Dot::Result | Dot::Index | Dot::Updated | Dot::Images => None,
        }
    }

    /// The value a pipeline of one field chain gives (`None`: not one of these, or not known),
    /// from the dot (`dot`; `None`: the dot is the data), the data (`$.`) or a variable bound
    /// by an enclosing `range` or `with` (`$images`, innermost last in `variables`).
    fn of_chain(dot: Option<Dot>, chain: &str, variables: &[(&str, Dot)]) -> Option<Dot> {
        // `None` is the data, whose only field here is `.Changed`.
        let (mut value, fields) = if chain == "." {
            return dot;
        } else if let Some(fields) = chain.strip_prefix("$.") {
            (None, fields)
        } else if let Some(variable) = chain.strip_prefix('$') {
            let (name, fields) = variable.split_once('.').unwrap_or((variable, ""));
            let &(_, bound) = variables.iter().rev().find(|(bound, _)| *bound == name)?;
            (Some(bound), fields)
        } else {
            (dot, chain.strip_prefix('.')?)
        };
        for field in fields.split('.').filter(|field| !field.is_empty()) {
            value = Some(match (value, field) {
                (None, "Changed") => Dot::Result,
                (None, "Updated") => Dot::Updated,
                (Some(Dot::Updated), "Images") => Dot::Images,
                (Some(Dot::Result), "Changes") => Dot::Changes,
                (Some(Dot::Result), "Objects") => Dot::Objects,
                (Some(Dot::Result), "FileChanges") => Dot::Files,
                // A map keyed by file names: any key is one file's objects.
                (Some(Dot::Files), _) => Dot::Objects,
                _ => return None,
            });
        }
        value
    }
}

/// A field read on the dot that is sure to fail: where a `range` or `with` over `.Changed`'s
/// changes made the dot a value without that field (`.NewValue` on an object's list of
/// changes), in a body that runs for every commit. Go stops the template there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailingRead<'t> {
    /// The field as written (`.NewValue`, `$image.Repository`).
    pub field: &'t str,
    /// The variable it is read on (`image`), where it is not the dot.
    pub variable: Option<&'t str>,
    pub dot: Dot,
    /// The action that made the dot so (`range .Changed.Objects`).
    pub opened_by: &'t str,
}

/// A result of the update a template reads from its data: `.Changed` (`update.Result` from
/// Flux 2.7; `.ImageResult` too from 2.3 to 2.6, judged by version in
/// [`super::versions::TEMPLATE_FIELDS`]) and `.Updated` (until 2.7, the older `update.Result`:
/// the field `Files`, the methods `Images` and `Objects`).
pub struct UpdateResult {
    pub chain: &'static str,
    fields: &'static [&'static str],
    /// Its fields, in the words of a message.
    pub described: &'static str,
}

const UPDATE_RESULTS: [UpdateResult; 2] = [
    UpdateResult {
        chain: ".Changed",
        fields: &["FileChanges", "Changes", "Objects", "ImageResult"],
        described: "`.FileChanges`, `.Changes` and `.Objects`",
    },
    UpdateResult {
        chain: ".Updated",
        fields: &["Files", "Images", "Objects"],
        described: "`.Files`, `.Images` and `.Objects`",
    },
];

/// The fields of `.Changed` or `.Updated` the template reads from its data on every commit
/// (`.Changed.Images`, `.Updated.Containers`) that the result has in no Flux: Go fails to
/// execute it.
pub fn result_fields_never_filled(template: &str) -> Vec<(&'static UpdateResult, &str)> {
    let mut never: Vec<(&'static UpdateResult, &str)> = Vec::new();
    for read in root_reads(template).iter().filter(|read| read.always) {
        for result in &UPDATE_RESULTS {
            let Some(rest) =
                (read.chain.strip_prefix(result.chain)).and_then(|rest| rest.strip_prefix('.'))
            else {
                continue;
            };
            let field = rest.split('.').next().unwrap_or(rest);
            let known = result.fields.contains(&field);
            if !known
                && !never
                    .iter()
                    .any(|&(r, f)| r.chain == result.chain && f == field)
            {
                never.push((result, field));
            }
        }
    }
    never
}

/// A block that encloses an action, as [`failing_reads`] follows it.
#[derive(Clone, Copy)]
struct Block<'t> {
    /// The dot its body runs with and the action that made it so; `None` for a body that may
    /// not run (`if`, `else`) or whose dot is not known.
    dot: Option<(Dot, &'t str)>,
    /// Whether its body runs on every commit: a `range` or `with` over one of the update's
    /// collections (none is empty when a commit is made), whatever its dot.
    runs: bool,
}

impl Block<'_> {
    const MAY_NOT_RUN: Block<'static> = Block {
        dot: None,
        runs: false,
    };
}

/// The reads of the template that fail on every commit, in order.
pub fn failing_reads(template: &str) -> Vec<FailingRead<'_>> {
    // The enclosing blocks, innermost last.
    let mut blocks: Vec<Block> = Vec::new();
    // The variables each block binds (`range $obj, $changes := …` binds `changes` to each
    // element), innermost last; a variable is known until its block ends.
    let mut variables: Vec<(usize, (&str, Dot), &str)> = Vec::new();
    let mut failing = Vec::new();
    for action in actions(template) {
        let word = keyword(action);
        match word {
            "end" => {
                blocks.pop();
                variables.retain(|&(depth, _, _)| depth <= blocks.len());
                continue;
            }
            "else" => {
                if let Some(last) = blocks.last_mut() {
                    *last = Block::MAY_NOT_RUN;
                }
                continue;
            }
            _ => {}
        }
        // The dot this action runs with, when it runs on every commit: the data outside every
        // block.
        let known = blocks.iter().all(|block| block.dot.is_some());
        let dot = blocks.last().and_then(|block| block.dot);
        if let (true, Some((dot, opened_by))) = (known, dot) {
            for (_, chain) in chains(action).filter(|(from_data, _)| !from_data) {
                let name = chain[1..].split('.').next().unwrap_or_default();
                // The result's `.ImageResult` is there from Flux 2.3 to 2.6: not every commit.
                let by_version = dot == Dot::Result && name == "ImageResult";
                if !dot.has_field(name) && !by_version {
                    let field = &chain[..=name.len()];
                    failing.push(FailingRead {
                        field,
                        variable: None,
                        dot,
                        opened_by,
                    });
                }
            }
        }
        // A field read on a variable a block bound (`$image.Repository`), where the action runs
        // on every commit.
        let runs_here = blocks.iter().all(|block| block.runs);
        if runs_here {
            for (variable, field) in variable_reads(action) {
                let bound = variables
                    .iter()
                    .rev()
                    .find(|(_, (name, _), _)| *name == variable);
                if let Some(&(_, (_, dot), opened_by)) = bound {
                    let name = field[variable.len() + 2..]
                        .split('.')
                        .next()
                        .unwrap_or_default();
                    if !dot.has_field(name) {
                        failing.push(FailingRead {
                            field: &field[..variable.len() + 2 + name.len()],
                            variable: Some(variable),
                            dot,
                            opened_by,
                        });
                    }
                }
            }
        }
        match word {
            "range" | "with" => {
                let pipeline = action[word.len()..].trim();
                let (declared, pipeline) = pipeline
                    .split_once(":=")
                    .map_or(("", pipeline), |(declared, pipeline)| {
                        (declared.trim(), pipeline.trim())
                    });
                let in_scope: Vec<(&str, Dot)> =
                    variables.iter().map(|&(_, variable, _)| variable).collect();
                let value = known
                    .then(|| Dot::of_chain(dot.map(|(dot, _)| dot), pipeline, &in_scope))
                    .flatten();
                let body = if word == "range" {
                    value.and_then(Dot::element)
                } else {
                    value
                };
                blocks.push(Block {
                    dot: body.map(|body| (body, action)),
                    runs: runs_here && value.is_some(),
                });
                // The last variable declared is the element (or, for `with`, the value); a
                // range's first of two is the key: over a list, each item's position
                // (AaronShemtov/personal-k8s read `$image.Repository` of `range $image, $_ :=
                // .Updated.Images`, a number, and no commit was made); over a map, not followed.
                let name = declared.rsplit(',').next().unwrap_or_default().trim();
                if let (Some(name), Some(body)) = (name.strip_prefix('$'), body) {
                    variables.push((blocks.len(), (name, body), action));
                }
                let key = declared.split_once(',').map(|(key, _)| key.trim());
                let over_a_list = matches!(value, Some(Dot::Changes | Dot::Images));
                if let (Some(key), true, "range") =
                    (key.and_then(|key| key.strip_prefix('$')), over_a_list, word)
                {
                    variables.push((blocks.len(), (key, Dot::Index), action));
                }
            }
            "if" | "define" | "block" => blocks.push(Block::MAY_NOT_RUN),
            _ => {}
        }
    }
    failing
}

/// Why Go's `text/template` refuses to parse the template as image-automation-controller
/// builds it (`template.New(…).Funcs(sprig.HermeticTxtFuncMap()).Parse`), where this can tell:
/// an action left open, a block whose `{{end}}` is missing or an `{{end}}` or `{{else}}` of
/// none, a function neither Go nor that map defines. Such a template fails on every update.
pub fn parse_error(template: &str) -> Option<String> {
    let mut depth = 0usize;
    for action in actions_or_open(template) {
        let Ok(action) = action else {
            return Some("an action is left open (a `{{` without its `}}`)".to_string());
        };
        match keyword(action) {
            "if" | "range" | "with" | "define" | "block" => depth += 1,
            "end" if depth == 0 => return Some("an `{{end}}` closes no block".to_string()),
            "end" => depth -= 1,
            "else" if depth == 0 => {
                return Some("an `{{else}}` is outside every block".to_string())
            }
            _ => {}
        }
        if let Some(function) = functions_called(action).find(|name| !defined_function(name)) {
            return Some(if NOT_HERMETIC.contains(&function) {
                format!("`{function}` is one of the sprig functions Flux leaves out (it gives only those whose result the changes alone decide)")
            } else {
                format!("no function `{function}` is defined (Go's templates and the sprig functions Flux adds)")
            });
        }
    }
    (depth > 0).then(|| "a block (`if`, `range`, `with`) has no `{{end}}`".to_string())
}

/// The functions an action calls: its names that are no field (`.Name`), variable (`$name`),
/// keyword or constant, outside quoted text. A name with a letter beyond ASCII is left out.
fn functions_called(action: &str) -> impl Iterator<Item = &str> {
    let bytes = action.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            match bytes[at] {
                b'"' | b'`' | b'\'' => at = quoted_end(bytes, at).unwrap_or(bytes.len()),
                b if is_name(b) => {
                    while at < bytes.len() && is_name(bytes[at]) {
                        at += 1;
                    }
                    let name = &action[start..at];
                    let after_dot_or_dollar = start > 0 && matches!(bytes[start - 1], b'.' | b'$');
                    let called = !after_dot_or_dollar
                        && (bytes[start].is_ascii_alphabetic() || bytes[start] == b'_')
                        && name.is_ascii()
                        && !KEYWORDS.contains(&name);
                    if called {
                        return Some(name);
                    }
                }
                _ => at += 1,
            }
        }
        None
    })
}

fn defined_function(name: &str) -> bool {
    FUNCTIONS.binary_search(&name).is_ok()
}

/// Words Go's template lexer takes as keywords or constants, wherever they stand.
const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "false", "if", "nil", "range",
    "template", "true", "with",
];

/// The sprig functions `HermeticTxtFuncMap` removes: their result depends on when or where the
/// template runs (sprig v3.3.0's `nonhermeticFunctions`).
const NOT_HERMETIC: &[&str] = &[
    "date",
    "dateInZone",
    "dateModify",
    "date_in_zone",
    "date_modify",
    "env",
    "expandenv",
    "getHostByName",
    "htmlDate",
    "htmlDateInZone",
    "now",
    "randAlpha",
    "randAlphaNum",
    "randAscii",
    "randBytes",
    "randNumeric",
    "uuidv4",
];

/// The functions a commit message template may call, sorted: Go's `text/template` builtins and
/// sprig v3.3.0's `HermeticTxtFuncMap` (image-automation-controller's go.mod), whose functions
/// sprig has only ever added.
const FUNCTIONS: &[&str] = &[
    "abbrev",
    "abbrevboth",
    "add",
    "add1",
    "add1f",
    "addf",
    "adler32sum",
    "ago",
    "all",
    "and",
    "any",
    "append",
    "atoi",
    "b32dec",
    "b32enc",
    "b64dec",
    "b64enc",
    "base",
    "bcrypt",
    "biggest",
    "buildCustomCert",
    "call",
    "camelcase",
    "cat",
    "ceil",
    "chunk",
    "clean",
    "coalesce",
    "compact",
    "concat",
    "contains",
    "decryptAES",
    "deepCopy",
    "deepEqual",
    "default",
    "derivePassword",
    "dict",
    "dig",
    "dir",
    "div",
    "divf",
    "duration",
    "durationRound",
    "empty",
    "encryptAES",
    "eq",
    "ext",
    "fail",
    "first",
    "float64",
    "floor",
    "fromJson",
    "ge",
    "genCA",
    "genCAWithKey",
    "genPrivateKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "get",
    "gt",
    "has",
    "hasKey",
    "hasPrefix",
    "hasSuffix",
    "hello",
    "html",
    "htpasswd",
    "indent",
    "index",
    "initial",
    "initials",
    "int",
    "int64",
    "isAbs",
    "join",
    "js",
    "kebabcase",
    "keys",
    "kindIs",
    "kindOf",
    "last",
    "le",
    "len",
    "list",
    "lower",
    "lt",
    "max",
    "maxf",
    "merge",
    "mergeOverwrite",
    "min",
    "minf",
    "mod",
    "mul",
    "mulf",
    "mustAppend",
    "mustChunk",
    "mustCompact",
    "mustDateModify",
    "mustDeepCopy",
    "mustFirst",
    "mustFromJson",
    "mustHas",
    "mustInitial",
    "mustLast",
    "mustMerge",
    "mustMergeOverwrite",
    "mustPrepend",
    "mustRegexFind",
    "mustRegexFindAll",
    "mustRegexMatch",
    "mustRegexReplaceAll",
    "mustRegexReplaceAllLiteral",
    "mustRegexSplit",
    "mustRest",
    "mustReverse",
    "mustSlice",
    "mustToDate",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "mustUniq",
    "mustWithout",
    "must_date_modify",
    "ne",
    "nindent",
    "nospace",
    "not",
    "omit",
    "or",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "pick",
    "pluck",
    "plural",
    "prepend",
    "print",
    "printf",
    "println",
    "quote",
    "randInt",
    "regexFind",
    "regexFindAll",
    "regexMatch",
    "regexQuoteMeta",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "regexSplit",
    "repeat",
    "replace",
    "rest",
    "reverse",
    "round",
    "semver",
    "semverCompare",
    "seq",
    "set",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shuffle",
    "slice",
    "snakecase",
    "sortAlpha",
    "split",
    "splitList",
    "splitn",
    "squote",
    "sub",
    "subf",
    "substr",
    "swapcase",
    "ternary",
    "title",
    "toDate",
    "toDecimal",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "toString",
    "toStrings",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "trimall",
    "trunc",
    "tuple",
    "typeIs",
    "typeIsLike",
    "typeOf",
    "uniq",
    "unixEpoch",
    "unset",
    "until",
    "untilStep",
    "untitle",
    "upper",
    "urlJoin",
    "urlParse",
    "urlquery",
    "values",
    "without",
    "wrap",
    "wrapWith",
];

/// The actions of a template, in order, without their trim markers and comments; none after
/// one left open.
fn actions(template: &str) -> impl Iterator<Item = &str> {
    actions_or_open(template).map_while(Result::ok)
}

/// The same, and `Err` last where an action is left open (a `{{` without its `}}`).
fn actions_or_open(template: &str) -> impl Iterator<Item = Result<&str, ()>> {
    let mut rest = Some(template);
    std::iter::from_fn(move || loop {
        let open = rest?.find("{{")?;
        let after = &rest?[open + 2..];
        let Some(close) = action_end(after) else {
            rest = None;
            return Some(Err(()));
        };
        let action = trim_markers(&after[..close]);
        rest = Some(&after[close + 2..]);
        if !action.starts_with("/*") {
            return Some(Ok(action));
        }
    })
}

/// The word an action opens with (`range`, `end`), or the start of its pipeline.
fn keyword(action: &str) -> &str {
    action
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
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

/// The byte offsets of an action outside its quoted text.
fn unquoted(action: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = action.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            if matches!(bytes[at], b'"' | b'`' | b'\'') {
                at = quoted_end(bytes, at).unwrap_or(bytes.len());
                continue;
            }
            at += 1;
            return Some(at - 1);
        }
        None
    })
}

/// A byte of a name (a field's, a variable's).
fn is_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The fields read on a variable in an action (`$image.Repository`), each with the variable's
/// name; quoted text left out.
fn variable_reads(action: &str) -> impl Iterator<Item = (&str, &str)> {
    let bytes = action.as_bytes();
    unquoted(action)
        .filter(move |&at| bytes[at] == b'$')
        .filter_map(move |start| {
            let name_end = start
                + 1
                + bytes[start + 1..]
                    .iter()
                    .take_while(|&&b| is_name(b))
                    .count();
            let name = &action[start + 1..name_end];
            let field_starts = bytes.get(name_end) == Some(&b'.')
                && (bytes.get(name_end + 1)).is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
            if name.is_empty() || !field_starts {
                return None;
            }
            let end = name_end
                + (bytes[name_end..].iter())
                    .take_while(|&&b| is_name(b) || b == b'.')
                    .count();
            Some((name, &action[start..end]))
        })
}

/// The field chains of one action that start at the dot or the data (`.A.B`; `$.A`, told by
/// `true`): not a field of a variable (`$c.A`), of a call's result (`(…).A`) or of another
/// field, and not inside quoted text.
fn chains(action: &str) -> impl Iterator<Item = (bool, &str)> {
    let bytes = action.as_bytes();
    unquoted(action)
        .filter(move |&at| bytes[at] == b'.')
        .filter_map(move |start| {
            let from_data = start > 0 && bytes[start - 1] == b'$';
            let root = match start.checked_sub(1).map(|before| bytes[before]) {
                Some(b'$') => start < 2 || !is_name(bytes[start - 2]),
                Some(before) => !(is_name(before) || matches!(before, b'.' | b')')),
                None => true,
            };
            let mut end = start + 1;
            while end < bytes.len()
                && (is_name(bytes[end]) || (bytes[end] == b'.' && end > start + 1))
            {
                end += 1;
            }
            let chain = action[start..end].trim_end_matches('.');
            // A field's name starts with a letter or `_`: `.5` is a number, `.` the dot.
            let named =
                (chain.as_bytes().get(1)).is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
            (root && named).then_some((from_data, chain))
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

    fn failing(template: &str) -> Vec<(&str, Dot, &str)> {
        failing_reads(template)
            .iter()
            .map(|read| (read.field, read.dot, read.opened_by))
            .collect()
    }

    #[test]
    fn a_field_the_ranged_value_lacks_fails_on_every_commit() {
        // raolivei/pi-fleet 334ef12: each object's changes are a list.
        assert_eq!(
            failing("{{range .Changed.Objects}}{{println .NewValue}}{{end}}"),
            [(".NewValue", Dot::Changes, "range .Changed.Objects")]
        );
        assert_eq!(
            failing("{{ range $id, $c := .Changed.FileChanges -}} {{ .Kind }}{{ end }}"),
            [(
                ".Kind",
                Dot::Objects,
                "range $id, $c := .Changed.FileChanges"
            )]
        );
        assert_eq!(
            failing("{{range .Changed.Changes}}{{.NewValue}} {{.Image.Tag}}{{end}}"),
            [(".Image", Dot::Change, "range .Changed.Changes")]
        );
        // One level deeper, the dot is each change.
        assert_eq!(
            failing("{{range .Changed.Objects}}{{range .}}{{.OldValue}} {{.Policy}}{{end}}{{end}}"),
            [(".Policy", Dot::Change, "range .")]
        );
        // `.Changed` is a struct: a `with` over it always runs, on its three fields.
        assert_eq!(
            failing("{{with .Changed}}{{.Nope}}{{end}}"),
            [(".Nope", Dot::Result, "with .Changed")]
        );
        assert_eq!(
            failing("{{with .Changed}}{{range .Objects}}{{.NewValue}}{{end}}{{end}}"),
            [(".NewValue", Dot::Changes, "range .Objects")]
        );
        // A variable bound by a range is its element (ThePixelExpert/Professional-Website:
        // each object's changes, then each change, which has no `.String`).
        assert_eq!(
            failing("{{ range $obj, $images := .Changed.Objects }}{{ $obj.Kind }}: {{ range $images }}{{ .String }} {{ end }}{{ end }}"),
            [(".String", Dot::Change, "range $images")]
        );
        // Until its block ends.
        assert_eq!(
            failing(
                "{{ range $c := .Changed.Changes }}{{ end }}{{ range $c }}{{ .Nope }}{{ end }}"
            ),
            []
        );
        // A range's own pipeline reads from the dot around it.
        assert_eq!(
            failing("{{with $.Changed.Changes}}{{range .Changes}}{{end}}{{end}}"),
            [(".Changes", Dot::Changes, "with $.Changed.Changes")]
        );
        // Of two variables over a list, the first is each item's position, a number
        // (AaronShemtov/personal-k8s 4cffbbc); a variable bound to a change has its fields.
        assert_eq!(
            failing("{{ range $image, $_ := .Updated.Images }}- {{ $image.Repository }} → {{ $image.Identifier }}{{ end }}"),
            [
                ("$image.Repository", Dot::Index, "range $image, $_ := .Updated.Images"),
                ("$image.Identifier", Dot::Index, "range $image, $_ := .Updated.Images"),
            ]
        );
        assert_eq!(
            failing("{{ range $i, $c := .Changed.Changes }}{{ $i }}: {{ $c.NewValue }} {{ $c.Image }}{{ end }}"),
            [("$c.Image", Dot::Change, "range $i, $c := .Changed.Changes")]
        );
        assert_eq!(
            failing("{{ range $file, $objects := .Changed.FileChanges }}{{ $file }} {{ $.Changed.Changes }} \"$x.Y\"{{ end }}{{ range .Updated.Images }}{{ .Repository }}{{ end }}"),
            []
        );
    }

    #[test]
    fn reads_that_may_not_run_or_run_on_an_unknown_dot_are_left_alone() {
        for template in [
            // Flux's own example: variables, and the data through `$`.
            "{{ range $resource, $changes := .Changed.Objects -}}- {{ $resource.Kind }}{{- range $_, $change := $changes }} {{ $change.NewValue }}{{ $.Values.env }}{{ end }}{{ end }}",
            "{{range .Changed.Changes}}{{if eq .Setter \"x\"}}{{.Nope}}{{end}}{{end}}",
            "{{range .Changed.Objects}}{{else}}{{.Nope}}{{end}}",
            "{{range .Updated.Images}}{{.Repository}}{{end}}",
            "{{range .Changed.FileChanges}}{{end}}{{.Nope}}",
            "{{range .Changed.FileChanges}}{{range .}}{{range .}}{{.NewValue}}{{end}}{{end}}{{end}}",
        ] {
            assert_eq!(failing(template), [], "{template}");
        }
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

    #[test]
    fn a_field_the_result_has_in_no_flux() {
        let never = |template| -> Vec<String> {
            (result_fields_never_filled(template).into_iter())
                .map(|(result, field)| format!("{}.{field}", result.chain))
                .collect()
        };
        assert_eq!(
            never("{{ range .Changed.Images }}{{ . }}{{ end }}{{ $.Changed.Nope }}{{ .Changed.Images }}{{ range .Updated.Containers }}{{ end }}"),
            [".Changed.Images", ".Changed.Nope", ".Updated.Containers"]
        );
        // Fields they have; one by version; one read only where it may not run; another root.
        assert!(never("{{ .Changed.FileChanges.x }}{{ .Changed.Changes }}{{ .Changed.Objects }}{{ .Changed.ImageResult }}{{ .Updated.Images }}{{ .Updated.Files }}{{ .Updated.Objects }}{{ if .Values.x }}{{ .Changed.Nope }}{{ end }}{{ .Changes.X }}{{ .ChangedX.Y }}").is_empty());
        assert!(failing("{{ with .Changed }}{{ .ImageResult }}{{ end }}").is_empty());
    }

    #[test]
    fn what_go_parses_and_what_it_refuses() {
        // Flux's default template, sprig's hermetic functions, comments, quotes, numbers,
        // variables, keywords anywhere in an action.
        for template in [
            "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $resource, $changes := .Changed.Objects -}}\n- {{ $resource.Kind }} {{ $resource.Name }}\n  Changes:\n{{- range $_, $change := $changes }}\n    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n{{ end -}}\n{{ end -}}",
            "{{ printf \"%s\" (index .Changed.Changes 0).NewValue | trunc 63 | upper }}",
            "{{- /* router {{ now */ -}}{{ \"router\" }}{{ `now` }}{{ 'r' }}",
            "{{ if eq .Values.x \"y\" }}a{{ else if true }}b{{ else with nil }}{{ end }}",
            "{{ 1.5e3 }}{{ -1 }}{{ 0x1F }}{{ $x := .Changed }}{{ $x.Changes }}",
            "{{ range $i, $c := .Changed.Changes }}{{ $c.NewValue }}{{ break }}{{ end }}",
            "{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" . }}{{ block \"y\" . }}{{ end }}",
        ] {
            assert_eq!(parse_error(template), None, "{template}");
        }
        for (template, why) in [
            (
                "{{range .Changed.Changes}}{{router .}}{{end}}",
                "no function `router`",
            ),
            (
                "{{ now | date \"2006\" }}",
                "`now` is one of the sprig functions Flux leaves out",
            ),
            ("{{ .Changed", "an action is left open"),
            ("{{ \"}} .B", "an action is left open"),
            (
                "{{ range .Changed.Changes }}{{ .NewValue }}",
                "has no `{{end}}`",
            ),
            ("{{ .A }}{{ end }}", "closes no block"),
            ("{{ else }}", "outside every block"),
        ] {
            let error = parse_error(template).unwrap_or_default();
            assert!(error.contains(why), "{template}: {error}");
        }
    }

    #[test]
    fn the_functions_are_sorted_for_the_binary_search() {
        assert!(FUNCTIONS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(!NOT_HERMETIC.iter().any(|name| defined_function(name)));
    }
}
