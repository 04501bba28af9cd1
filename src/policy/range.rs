//! Masterminds/semver v3.5 constraint language (`spec.policy.semver.range`).
//!
//! No Rust crate speaks this dialect (`semver::VersionReq` is Cargo's: bare
//! `1.2` means `^1.2`, no `||`, no hyphen ranges), so it is re-implemented
//! here. Parsing follows Masterminds' own structure because its quirks are
//! observable in Flux: hyphen ranges are rewritten first and need spaces
//! (`1.2-1.4.5` is a prerelease); the string is split on `||`; each group must
//! match the whole-group grammar and is then cut into comparators by a
//! leftmost-first scan (the `regex` crate has Go's leftmost-first semantics,
//! so the grammar is expressed as regexes); wildcard/missing parts mark a
//! comparator "dirty", which changes what `>`, `<=`, `!=`, `~`, `^` mean.
//!
//! Range versions are parsed loosely (`v`, leading zeros, missing parts),
//! unlike tags, which are strict (see `version`).
//!
//! Prerelease rule (v3.4+): a prerelease version can satisfy an AND group
//! only when some comparator of that group carries a prerelease; then every
//! comparator of the group compares prereleases normally.
//!
//! v3.5 limits, kept because they make otherwise valid ranges fail: at most
//! 512 bytes and 32 `||` groups; messages quote the offending text (`%q`).

use std::cmp::Ordering;
use std::sync::OnceLock;

use super::version::{coerce_version, compare_parts, compare_prerelease};

/// Masterminds v3.5 `MaxConstraintLen`.
const MAX_RANGE_LEN: usize = 512;
/// Masterminds v3.5 `MaxConstraintGroups`.
const MAX_GROUPS: usize = 32;

/// A compiled range: OR of AND groups.
#[derive(Debug, Clone)]
pub struct Range {
    groups: Vec<Group>,
}

#[derive(Debug, Clone)]
struct Group {
    comparators: Vec<Comparator>,
    include_prerelease: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    /// Some part was a wildcard or missing.
    dirty: bool,
    /// The minor (and so the patch) was a wildcard or missing.
    minor_dirty: bool,
    /// Only the patch was a wildcard or missing.
    patch_dirty: bool,
}

struct Grammar {
    hyphen: regex::Regex,
    valid_group: regex::Regex,
    find: regex::Regex,
    one: regex::Regex,
}

/// The Masterminds grammar. `\s` is Go's ASCII `[\t\n\f\r ]`; the wildcard
/// class really does include `|` (a Masterminds quirk: `1|2` passes the
/// grammar and fails later as an unparsable version).
fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        let s = r"[\t\n\x0C\r ]";
        let cv = r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?";
        // Order matters (leftmost-first): the empty operator comes second.
        let ops = r"(=||!=|>|<|>=|=>|<=|=<|~|~>|\^)";
        let build = |p: String| regex::Regex::new(&p).expect("static grammar");
        Grammar {
            hyphen: build(format!(r"{s}*({cv}){s}+-{s}+({cv}){s}*")),
            valid_group: build(format!(
                r"^({s}*{ops}{s}*({cv}){s}*)((?:{s}+|,{s}*){ops}{s}*({cv}){s}*)*$"
            )),
            find: build(format!(r"{ops}{s}*({cv})")),
            one: build(format!(r"^{s}*{ops}{s}*({cv}){s}*$")),
        }
    })
}

impl Range {
    /// Parse like Masterminds `NewConstraint`; the error text is its message.
    pub fn parse(range: &str) -> Result<Range, String> {
        if range.len() > MAX_RANGE_LEN {
            return Err(format!(
                "constraint string is too long (max {MAX_RANGE_LEN} bytes)"
            ));
        }
        let g = grammar();
        let rewritten = rewrite_hyphens(g, range);
        if rewritten.split("||").count() > MAX_GROUPS {
            return Err(format!("too many constraint groups (max {MAX_GROUPS})"));
        }
        let mut groups = Vec::new();
        for segment in rewritten.split("||") {
            if !g.valid_group.is_match(segment) {
                return Err(format!("improper constraint: {}", go_quote(segment)));
            }
            let mut parts: Vec<&str> = g.find.find_iter(segment).map(|m| m.as_str()).collect();
            if parts.is_empty() {
                parts.push(segment);
            }
            let comparators = parts
                .into_iter()
                .map(|p| parse_comparator(g, p))
                .collect::<Result<Vec<_>, _>>()?;
            let include_prerelease = comparators.iter().any(|c| !c.pre.is_empty());
            groups.push(Group {
                comparators,
                include_prerelease,
            });
        }
        Ok(Range { groups })
    }

    /// The one version the range admits, when it names one whole (`5.0.1`, `=8.4.0-test`): a
    /// pin, not a line of versions.
    pub fn pinned(&self) -> Option<String> {
        let [Group { comparators, .. }] = self.groups.as_slice() else {
            return None;
        };
        let [c] = comparators.as_slice() else {
            return None;
        };
        (c.op == Op::TildeOrEqual && !c.dirty).then(|| {
            let version = format!("{}.{}.{}", c.major, c.minor, c.patch);
            if c.pre.is_empty() {
                version
            } else {
                format!("{version}-{}", c.pre)
            }
        })
    }

    /// Masterminds `Constraints.Check` for a (strictly parsed) tag version.
    pub fn matches(&self, v: &semver::Version) -> bool {
        self.admits(&Parts {
            major: v.major,
            minor: v.minor,
            patch: v.patch,
            pre: v.pre.as_str(),
        })
    }

    fn admits(&self, v: &Parts) -> bool {
        self.groups.iter().any(|g| {
            g.comparators
                .iter()
                .all(|c| c.check(v, g.include_prerelease))
        })
    }
}

/// Where the versions a range admits lie relative to one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    /// Some admitted version has lower precedence.
    pub below: bool,
    /// Some admitted version has higher precedence.
    pub above: bool,
}

impl Range {
    /// Whether the range admits any version below and any above `v` (SemVer precedence, build
    /// ignored; prereleases count where a group admits them), decided exactly for every range
    /// Masterminds accepts, not by probing a few versions.
    ///
    /// Why a finite set of candidates decides it: each comparator's verdict on a version
    /// depends only on how the version compares with the comparator's own version and on
    /// which release line it falls in (its major, its minor, its patch), so it is constant
    /// between consecutive points of [`Comparator::boundaries`] (each point on its own),
    /// save one family: a `!=` with a wildcard patch (`!=1.2`, `!=1.2-rc`) refuses every
    /// `1.2.P` (with that prerelease) for every `P`. With `v` and the smallest version
    /// (`0.0.0-0`) added to the points, a cell holding an admitted version above `v` (or
    /// below it) holds one among: a point itself, the first of its successors that no `!=`
    /// family refuses (each family refuses at most one of a chain of successors, so one more
    /// successor than there are such comparators is enough), and the first release after
    /// the point (a group without a prerelease comparator admits releases only). Every
    /// candidate is then checked with [`Range::matches`], so a `true` is never a guess.
    pub fn sides_of(&self, v: &semver::Version) -> Sides {
        let at = Point::of(v);
        let mut sides = Sides {
            below: false,
            above: false,
        };
        for candidate in self.candidates(&at) {
            let side = compare_parts(candidate.parts(), at.parts());
            let wanted = match side {
                Ordering::Less => !sides.below,
                Ordering::Greater => !sides.above,
                Ordering::Equal => false,
            };
            if wanted && self.admits(&candidate.as_parts()) {
                match side {
                    Ordering::Less => sides.below = true,
                    _ => sides.above = true,
                }
                if sides.below && sides.above {
                    break;
                }
            }
        }
        sides
    }

    /// The versions that decide [`Range::sides_of`] for `at` (see there).
    fn candidates(&self, at: &Point) -> Vec<Point> {
        let comparators = || self.groups.iter().flat_map(|g| &g.comparators);
        let families = comparators()
            .filter(|c| c.op == Op::NotEqual && c.patch_dirty)
            .count();
        let mut bases = vec![Point::least(), at.clone()];
        bases.extend(comparators().flat_map(Comparator::boundaries));
        bases.sort_by(|a, b| compare_parts(a.parts(), b.parts()));
        bases.dedup_by(|a, b| compare_parts(a.parts(), b.parts()) == Ordering::Equal);
        let mut candidates = Vec::with_capacity(bases.len() * (families + 3));
        for base in bases {
            if let Some(release) = base.next_release() {
                candidates.push(release);
            }
            let mut next = base.next();
            candidates.push(base);
            for _ in 0..=families {
                let Some(point) = next else { break };
                next = point.next();
                candidates.push(point);
            }
        }
        candidates
    }
}

/// A version as ranges see it: the numbers and the prerelease (no build).
#[derive(Debug, Clone)]
struct Point {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl Point {
    fn of(v: &semver::Version) -> Point {
        Point {
            major: v.major,
            minor: v.minor,
            patch: v.patch,
            pre: v.pre.as_str().to_string(),
        }
    }

    /// `major.minor.patch-0`, the first version of a release line (`0` is the least
    /// prerelease: numeric identifiers sort first, and a shorter list first).
    fn first_of(major: u64, minor: u64, patch: u64) -> Point {
        Point {
            major,
            minor,
            patch,
            pre: "0".to_string(),
        }
    }

    /// `0.0.0-0`, the least version.
    fn least() -> Point {
        Point::first_of(0, 0, 0)
    }

    fn parts(&self) -> (u64, u64, u64, &str) {
        (self.major, self.minor, self.patch, self.pre.as_str())
    }

    fn as_parts(&self) -> Parts<'_> {
        Parts {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }

    /// The release line after this one: the next patch, else minor, else major.
    fn next_line(&self) -> Option<(u64, u64, u64)> {
        if let Some(patch) = self.patch.checked_add(1) {
            return Some((self.major, self.minor, patch));
        }
        if let Some(minor) = self.minor.checked_add(1) {
            return Some((self.major, minor, 0));
        }
        Some((self.major.checked_add(1)?, 0, 0))
    }

    /// The least version above this one: `-rc.1` → `-rc.1.0`, a release → the next line's `-0`.
    fn next(&self) -> Option<Point> {
        if self.pre.is_empty() {
            let (major, minor, patch) = self.next_line()?;
            return Some(Point::first_of(major, minor, patch));
        }
        Some(Point {
            pre: format!("{}.0", self.pre),
            ..self.clone()
        })
    }

    /// The least release above this one.
    fn next_release(&self) -> Option<Point> {
        let (major, minor, patch) = if self.pre.is_empty() {
            self.next_line()?
        } else {
            (self.major, self.minor, self.patch)
        };
        Some(Point {
            major,
            minor,
            patch,
            pre: String::new(),
        })
    }
}

/// `validate_range`: `Err(reason)` where Masterminds rejects the range.
pub fn validate_range(range: &str) -> Result<(), String> {
    Range::parse(range).map(|_| ())
}

/// `A - B` → `>= A, <= B ` (replacing the first occurrence of each matched
/// text, as Masterminds does).
fn rewrite_hyphens(g: &Grammar, range: &str) -> String {
    let mut out = range.to_string();
    for caps in g.hyphen.captures_iter(range) {
        let whole = caps.get(0).expect("match").as_str();
        let replacement = format!(">= {}, <= {} ", &caps[1], &caps[11]);
        out = out.replacen(whole, &replacement, 1);
    }
    out
}

/// Go `%q` for the texts that reach messages (ASCII in practice; Rust's
/// escapes differ from Go's only for non-printable non-ASCII characters).
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_comparator(g: &Grammar, text: &str) -> Result<Comparator, String> {
    let caps = g
        .one
        .captures(text)
        .ok_or_else(|| format!("improper constraint: {}", go_quote(text)))?;
    let get = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (op, whole, major, minor, patch, pre) = (get(1), get(2), get(3), get(4), get(5), get(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    // Wildcards become zeros; note the build metadata is dropped then.
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        whole.to_string()
    };
    let version = coerce_version(&ver).ok_or("constraint parser error")?;
    let (maj, min, pat, pre) = (
        version.major,
        version.minor,
        version.patch,
        version.pre.to_string(),
    );
    let op = match op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return Err(format!("improper constraint: {}", go_quote(text))),
    };
    Ok(Comparator {
        op,
        major: maj,
        minor: min,
        patch: pat,
        pre,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// The version under test, as Masterminds sees it (build ignored).
struct Parts<'a> {
    major: u64,
    minor: u64,
    patch: u64,
    pre: &'a str,
}

impl Comparator {
    /// The points between which [`Comparator::check`] cannot change its verdict (but for a
    /// `!=` with a wildcard patch, see [`Range::sides_of`]): its own version, and the first
    /// version of each release line whose number it compares with: its major and the next,
    /// its minor and the next, its patch and the next, and `0.1.0` and `1.0.0` (where `^0.x`
    /// stops).
    fn boundaries(&self) -> impl Iterator<Item = Point> {
        let (major, minor, patch) = (self.major, self.minor, self.patch);
        let own = Point {
            major,
            minor,
            patch,
            pre: self.pre.clone(),
        };
        let lines = [
            Some((major, 0, 0)),
            major.checked_add(1).map(|next| (next, 0, 0)),
            Some((major, minor, 0)),
            minor.checked_add(1).map(|next| (major, next, 0)),
            Some((major, minor, patch)),
            patch.checked_add(1).map(|next| (major, minor, next)),
            Some((0, 1, 0)),
            Some((1, 0, 0)),
        ];
        std::iter::once(own).chain(
            lines
                .into_iter()
                .flatten()
                .map(|(major, minor, patch)| Point::first_of(major, minor, patch)),
        )
    }

    fn cmp(&self, v: &Parts<'_>) -> Ordering {
        compare_parts(
            (v.major, v.minor, v.patch, v.pre),
            (self.major, self.minor, self.patch, self.pre.as_str()),
        )
    }

    fn check(&self, v: &Parts<'_>, include_prerelease: bool) -> bool {
        if !v.pre.is_empty() && !include_prerelease {
            return false;
        }
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    self.cmp(v) == Ordering::Equal
                }
            }
            Op::NotEqual => self.not_equal(v),
            Op::Greater => self.greater(v),
            Op::Less => self.cmp(v) == Ordering::Less,
            Op::GreaterEqual => self.cmp(v) != Ordering::Less,
            Op::LessEqual => self.less_equal(v),
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Parts<'_>) -> bool {
        if self.dirty {
            if self.major != v.major {
                return true;
            }
            if self.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if self.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !self.pre.is_empty() {
                    return compare_prerelease(v.pre, &self.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        self.cmp(v) != Ordering::Equal
    }

    fn greater(&self, v: &Parts<'_>) -> bool {
        if !self.dirty {
            return self.cmp(v) == Ordering::Greater;
        }
        if v.major != self.major {
            return v.major > self.major;
        }
        if self.minor_dirty {
            // `>1` needs 2.x: nothing in 1.x is greater than "any 1.x".
            return false;
        }
        if self.patch_dirty {
            return v.minor > self.minor;
        }
        self.cmp(v) == Ordering::Greater
    }

    fn less_equal(&self, v: &Parts<'_>) -> bool {
        if !self.dirty {
            return self.cmp(v) != Ordering::Greater;
        }
        if v.major > self.major {
            return false;
        }
        !(v.major == self.major && v.minor > self.minor && !self.minor_dirty)
    }

    fn tilde(&self, v: &Parts<'_>) -> bool {
        if self.cmp(v) == Ordering::Less {
            return false;
        }
        // ~0.0.0 accepts everything (not when 0 came from a wildcard minor/patch).
        if self.major == 0
            && self.minor == 0
            && self.patch == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return true;
        }
        if v.major != self.major {
            return false;
        }
        v.minor == self.minor || self.minor_dirty
    }

    fn caret(&self, v: &Parts<'_>) -> bool {
        if self.cmp(v) == Ordering::Less {
            return false;
        }
        if self.major > 0 || self.minor_dirty {
            return v.major == self.major;
        }
        if v.major > 0 {
            return false;
        }
        if self.minor > 0 || self.patch_dirty {
            return v.minor == self.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == self.patch
    }
}

#[cfg(test)]
mod tests {
    use super::super::version::{compare_precedence, parse_tag_version, TagGrammar};
    use super::*;

    fn admits(range: &str, tag: &str) -> bool {
        let r = Range::parse(range).unwrap_or_else(|e| panic!("{range:?} should parse: {e}"));
        let v = parse_tag_version(tag, TagGrammar::Strict)
            .unwrap_or_else(|| panic!("{tag} is a strict tag"));
        r.matches(&v)
    }

    /// Each row: range, tags admitted, tags refused.
    fn table(rows: &[(&str, &[&str], &[&str])]) {
        for (range, yes, no) in rows {
            for t in *yes {
                assert!(admits(range, t), "{range:?} should admit {t}");
            }
            for t in *no {
                assert!(!admits(range, t), "{range:?} should refuse {t}");
            }
        }
    }

    fn sides(range: &str, tag: &str) -> (bool, bool) {
        let r = Range::parse(range).unwrap_or_else(|e| panic!("{range:?} should parse: {e}"));
        let v = parse_tag_version(tag, TagGrammar::Strict)
            .unwrap_or_else(|| panic!("{tag} is a strict tag"));
        let sides = r.sides_of(&v);
        (sides.below, sides.above)
    }

    /// Each row: range, tag, whether the range admits a version below it, and one above it.
    #[test]
    fn a_range_of_one_whole_version_is_a_pin() {
        let pinned = |range: &str| Range::parse(range).unwrap().pinned();
        assert_eq!(pinned("5.0.1").as_deref(), Some("5.0.1"));
        assert_eq!(pinned("=v8.4.0-test").as_deref(), Some("8.4.0-test"));
        for line in [
            "5.0",
            "5.0.x",
            "~5.0.1",
            ">=5.0.1",
            "5.0.1 || 5.0.2",
            ">=5.0.1 <5.0.2",
        ] {
            assert_eq!(pinned(line), None, "{line}");
        }
    }

    #[test]
    fn sides_of_a_tag_outside_the_range() {
        for (range, tag, below, above) in [
            // Far below the range, whatever its form (the probe of the next patch, minor and
            // major found nothing in range and called these downgrades).
            ("6.2.x", "5.0.3", false, true),
            ("1.16.x", "1.14.5", false, true),
            ("~6.2", "5.0.3", false, true),
            ("^6.2.0", "5.0.3", false, true),
            ("6.2.*", "5.0.3", false, true),
            (">=6.2.0 <6.3.0", "5.0.3", false, true),
            (">=6.2.0", "5.0.3", false, true),
            ("6.x", "5.0.3", false, true),
            ("~1.4", "0.9.0", false, true),
            ("= 1.25.3", "1.0.0", false, true),
            (">= 1.2.3 < 2.0 || => 3.0 < 4", "0.1.0", false, true),
            ("1.2 - 1.4.5", "1.1.9", false, true),
            // Only prereleases above: `>=2.0.0-0 <2.0.0` admits `2.0.0-rc.1`.
            (">=2.0.0-0 <2.0.0", "1.9.0", false, true),
            (">1.2.3-rc.1 <1.2.3", "1.2.3-rc.1", false, true),
            // Above the range: a real downgrade.
            ("= 1.25.3", "1.25.5", true, false),
            ("5.x.x", "6.3.0", true, false),
            ("~1.4", "2.1.0", true, false),
            ("<2.0.0", "2.0.0", true, false),
            ("6.2.x", "6.3.0", true, false),
            ("^0.2.3", "0.3.0", true, false),
            ("^0.0.3", "0.0.4", true, false),
            ("<=1.1", "1.2.0", true, false),
            (">1.1 <2", "2.0.0", true, false),
            // Both: a gap, or a prerelease of a version in range.
            ("<1.0.0 || >=3.0.0", "2.0.0", true, true),
            ("~1.4", "1.4.2-rc.1", true, true),
            ("!=1.2.3", "1.2.3", true, true),
            ("!=1.x", "1.5.0", true, true),
            // `!=` with a wildcard patch refuses every patch of its line, and with a
            // prerelease only those prereleases: the next admitted version is further on.
            (">=1.2.0-0 <1.3.0 !=1.2-alpha", "1.2.0-alpha", true, true),
            (
                ">=1.2.0-alpha <1.2.0-alpha.0.0 !=1.2-alpha !=1.2-alpha.0",
                "1.1.0",
                false,
                false,
            ),
            (
                ">=1.2.0-alpha <1.2.0-alpha.0.1 !=1.2-alpha !=1.2-alpha.0",
                "1.2.0-alpha",
                false,
                true,
            ),
            (
                ">=1.2.0-alpha <1.2.0-alpha.0.1 !=1.2-alpha !=1.2-alpha.0",
                "1.1.0",
                false,
                true,
            ),
            (">=1.2.0 <1.3.0 !=1.2.x", "1.1.0", false, false),
            (">=1.2.0-0 <1.3.0 !=1.2.x", "1.1.0", false, true),
            // Nothing at all: the comparators exclude each other.
            (">2.0.0 <1.0.0", "1.5.0", false, false),
            ("<0.0.0", "1.0.0", false, false),
            // The largest numbers Masterminds reads.
            (">=18446744073709551615.0.0", "1.0.0", false, true),
            (
                "<18446744073709551615.18446744073709551615.18446744073709551615",
                "18446744073709551615.18446744073709551615.18446744073709551615",
                true,
                false,
            ),
            (
                ">18446744073709551615.18446744073709551615.18446744073709551615",
                "1.0.0",
                false,
                false,
            ),
        ] {
            assert_eq!(sides(range, tag), (below, above), "{range:?} vs {tag}");
        }
    }

    /// `sides_of` against brute force: random ranges whose numbers are at most 3, tags whose
    /// numbers are at most 3, and every version of a grid up to 5 with the prereleases the
    /// successors of the tags and of the ranges' own prereleases reach. Comparators then change their verdict only at numbers up to 4, so
    /// every admitted version has one in the grid on the same side of the tag: both must
    /// agree.
    #[test]
    fn sides_of_agrees_with_brute_force() {
        const PRES: [&str; 10] = [
            "",
            "0",
            "0.0",
            "0.0.0",
            "alpha",
            "alpha.0",
            "alpha.0.0",
            "beta",
            "rc.1",
            "rc.1.0",
        ];
        // Tags whose successor (`-x` → `-x.0`) the grid holds.
        const TAG_PRES: [&str; 7] = ["", "0", "0.0", "alpha", "alpha.0", "beta", "rc.1"];
        let mut grid = Vec::new();
        for major in 0..=5 {
            for minor in 0..=5 {
                for patch in 0..=5 {
                    for pre in PRES {
                        let mut v = semver::Version::new(major, minor, patch);
                        v.pre = semver::Prerelease::new(pre).unwrap();
                        grid.push(v);
                    }
                }
            }
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) as usize) % n
        };
        const OPS: [&str; 11] = ["", "=", "!=", ">", "<", ">=", "<=", "~", "^", "!=", "!="];
        const PARTS: [&str; 5] = ["0", "1", "2", "3", "x"];
        const RANGE_PRES: [&str; 5] = ["", "", "", "-alpha", "-0"];
        let mut checked = 0;
        for _ in 0..600 {
            let groups = 1 + next(2);
            let text = (0..groups)
                .map(|_| {
                    (0..1 + next(3))
                        .map(|_| {
                            let depth = 1 + next(3);
                            let numbers: Vec<&str> = (0..depth).map(|_| PARTS[next(5)]).collect();
                            format!(
                                "{}{}{}",
                                OPS[next(11)],
                                numbers.join("."),
                                RANGE_PRES[next(5)]
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join(" || ");
            let Ok(range) = Range::parse(&text) else {
                continue;
            };
            let admitted: Vec<&semver::Version> =
                grid.iter().filter(|w| range.matches(w)).collect();
            let tags = grid.iter().filter(|v| {
                v.major <= 3 && v.minor <= 3 && v.patch <= 3 && TAG_PRES.contains(&v.pre.as_str())
            });
            for v in tags.step_by(5) {
                let found = range.sides_of(v);
                let below = admitted
                    .iter()
                    .any(|w| compare_precedence(w, v) == Ordering::Less);
                let above = admitted
                    .iter()
                    .any(|w| compare_precedence(w, v) == Ordering::Greater);
                assert_eq!(
                    (found.below, found.above),
                    (below, above),
                    "{text:?} vs {v}"
                );
                checked += 1;
            }
        }
        assert!(checked > 30_000, "{checked}");
    }

    #[test]
    fn hyphen_ranges_need_spaces() {
        table(&[
            (
                "1.2 - 1.4.5",
                &["1.2.0", "1.3.9", "1.4.5"],
                &["1.1.9", "1.4.6", "1.3.0-rc.1"],
            ),
            ("1.1 - 2", &["1.1.0", "2.0.0", "2.9.9"], &["1.0.9", "3.0.0"]),
            ("v1.0.0 - v2.0.0", &["1.0.0", "2.0.0"], &["2.0.1"]),
            (
                "1.0.0 - 1.1.0 || 3.0.0 - 3.1.0",
                &["1.0.5", "3.0.5"],
                &["2.0.0", "3.2.0"],
            ),
            // No spaces: one version 1.2.0 with prerelease 1.4.5, tilde-like.
            (
                "1.2-1.4.5",
                &["1.2.0", "1.2.7", "1.2.0-rc.1"],
                &["1.4.5", "1.3.0", "1.1.0"],
            ),
        ]);
    }

    #[test]
    fn wildcards_and_partial_versions() {
        table(&[
            (
                "1.2",
                &["1.2.0", "1.2.99"],
                &["1.3.0", "1.1.9", "1.2.5-rc.1"],
            ),
            ("1.2.x", &["1.2.0", "1.2.99"], &["1.3.0", "1.1.9"]),
            ("1.2.*", &["1.2.3"], &["1.3.0"]),
            ("1", &["1.0.0", "1.99.99"], &["2.0.0", "0.9.9"]),
            ("1.x", &["1.0.0", "1.5.0"], &["2.0.0"]),
            ("1.X.x", &["1.5.0"], &["2.0.0"]),
            ("*", &["0.0.0", "0.0.1", "5.0.0"], &["1.0.0-rc.1"]),
            ("x", &["3.2.1"], &[]),
            (">1", &["2.0.0", "10.0.0"], &["1.9.9", "1.0.0"]),
            (">1.1", &["1.2.0", "2.0.0"], &["1.1.9", "1.1.0"]),
            (">1.x", &["2.0.0"], &["1.9.0"]),
            ("<=1.1", &["1.1.9", "1.0.0", "0.1.0"], &["1.2.0", "2.0.0"]),
            ("<=2.x", &["2.99.0", "0.0.1"], &["3.0.0"]),
            ("<1.2", &["1.1.9"], &["1.2.0"]),
            ("<1.x", &["0.9.9"], &["1.0.0"]),
            ("!=4.x", &["3.9.9", "5.0.0"], &["4.0.0", "4.5.1"]),
            ("!=4.1.x", &["4.0.0", "4.2.0"], &["4.1.0", "4.1.7"]),
            ("!=4.1.2", &["4.1.3"], &["4.1.2"]),
            (">=1.x", &["1.0.0", "7.0.0"], &["0.9.9"]),
            (">=1.2", &["1.2.0"], &["1.1.99"]),
        ]);
    }

    #[test]
    fn tilde_and_caret() {
        table(&[
            ("~1.2.3", &["1.2.3", "1.2.9"], &["1.2.2", "1.3.0"]),
            ("~>1.2.3", &["1.2.4"], &["1.3.0"]),
            ("~1.2", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.0"]),
            ("~1", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.0"]),
            ("~1.x", &["1.4.0"], &["2.0.0"]),
            ("~0.0.0", &["0.0.0", "9.9.9"], &[]),
            ("^1.2.3", &["1.2.3", "1.9.0"], &["1.2.2", "2.0.0"]),
            ("^1.2", &["1.2.0", "1.99.0"], &["1.1.0", "2.0.0"]),
            ("^1", &["1.0.0", "1.9.9"], &["2.0.0"]),
            ("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0", "0.2.2", "1.0.0"]),
            ("^0.2", &["0.2.0", "0.2.9"], &["0.3.0"]),
            ("^0.0.3", &["0.0.3"], &["0.0.4", "0.0.2", "0.1.3"]),
            ("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]),
            ("^0", &["0.0.0", "0.9.9"], &["1.0.0"]),
        ]);
    }

    #[test]
    fn operators_and_separators() {
        table(&[
            ("1.2.3", &["1.2.3", "v1.2.3", "1.2.3+build.5"], &["1.2.4"]),
            ("=1.2.3", &["1.2.3"], &["1.2.4"]),
            ("v1.2.3", &["1.2.3"], &[]),
            ("=v1.2.3+meta", &["1.2.3"], &[]),
            ("01.002.3", &["1.2.3"], &[]),
            (">=01.2.3", &["1.2.3"], &["1.2.2"]),
            ("=>1.2", &["1.2.0"], &["1.1.0"]),
            ("=<1.2.0", &["1.2.0"], &["1.2.1"]),
            (">1.2.3", &["1.2.4"], &["1.2.3"]),
            ("<1.2.3", &["1.2.2"], &["1.2.3"]),
            (">=1.2, <1.4", &["1.2.0", "1.3.9"], &["1.4.0"]),
            (">=1.2 <1.4", &["1.3.0"], &["1.4.0", "1.1.0"]),
            (">= 1.2 , < 1.4", &["1.3.0"], &["1.4.0"]),
            ("  >=1.2,<1.4  ", &["1.3.0"], &["1.4.0"]),
            ("<1.0.0 || >=2.0.0", &["0.5.0", "2.0.0"], &["1.5.0"]),
            (">=1.0.0 <2.0.0 || >=3", &["1.5.0", "3.1.0"], &["2.5.0"]),
            ("1.2.3 || 1.2.4", &["1.2.3", "1.2.4"], &["1.2.5"]),
        ]);
    }

    #[test]
    fn prerelease_group_rule() {
        table(&[
            (">=1.0.0-0", &["5.0.0-beta", "1.0.0-0", "1.0.0"], &["0.9.0"]),
            (
                ">=1.2.0-0 <1.3.0",
                &["1.3.0-rc.1", "1.2.0-alpha", "1.2.5"],
                &["1.3.0"],
            ),
            ("^1.x-0", &["1.2.3-rc.1", "1.0.0"], &["2.0.0-rc.1"]),
            (">=1.0.0", &["1.5.0"], &["1.5.0-rc.1"]),
            ("^1.2.3", &["1.2.4"], &["1.2.4-rc.1", "1.2.3-rc.1"]),
            (
                "~1.2.3-beta.2",
                &["1.2.3-beta.3", "1.2.4-alpha"],
                &["1.2.3-beta.1", "1.3.0-rc"],
            ),
            (
                ">=1.0.0 || >=2.0.0-0",
                &["3.0.0-beta", "1.5.0"],
                &["0.1.0-beta"],
            ),
            // Group-level, no npm same-tuple restriction.
            (
                ">1.0.0-alpha <2.0.0",
                &["1.5.0-rc.1", "2.0.0-rc.1"],
                &["2.0.0"],
            ),
            ("!=1.2.x-beta", &["1.2.3-alpha", "1.3.0"], &["1.2.0-beta"]),
        ]);
    }

    #[test]
    fn invalid_ranges() {
        for bad in [
            "",
            " ",
            "latest",
            "==1.0",
            "1.0.0.0",
            "*-*",
            ">=1.0,",
            "1.0 ||",
            "|| 1.0",
            "1.0.0p",
            "x1",
            "-1",
            "v1.2.3-beta.01",
            "1.2.3-",
            "1.2.3+",
            "V1.2.3",
            ">=1.0 <2.0 latest",
            "1 | 2",
            "1|2",
            "1.xx",
            "**",
            ">>1",
            "99999999999999999999",
            "1.2 -1.4",
            "~ 1.2 ^",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?} must be invalid");
        }
        assert_eq!(
            validate_range("latest").unwrap_err(),
            "improper constraint: \"latest\""
        );
        assert_eq!(validate_range("x1").unwrap_err(), "constraint parser error");
        // Go's strings.Split leaves an empty last group.
        assert_eq!(
            validate_range("1.0 ||").unwrap_err(),
            "improper constraint: \"\""
        );
    }

    #[test]
    fn v3_5_limits() {
        let long = format!(">=1.0.0 {}", " ".repeat(505));
        assert_eq!(long.len(), 513);
        assert_eq!(
            validate_range(&long).unwrap_err(),
            "constraint string is too long (max 512 bytes)"
        );
        assert!(validate_range(&long[..512]).is_ok());
        let groups = vec!["1.0.0"; 33].join("||");
        assert_eq!(
            validate_range(&groups).unwrap_err(),
            "too many constraint groups (max 32)"
        );
        assert!(validate_range(&vec!["1.0.0"; 32].join("||")).is_ok());
    }

    #[test]
    fn valid_odd_ranges() {
        for ok in [
            "1.2 - 1.4.5",
            ">= 1.2",
            "~> 1.2",
            "1.2.3-rc.1",
            ">1.0.0-0",
            "v1",
            "1.*.3",
        ] {
            assert!(validate_range(ok).is_ok(), "{ok:?} must be valid");
        }
    }

    /// Masterminds' own check tables (constraints_test.go, TestConstraintCheck
    /// and TestConstraintsCheck), versions parsed loosely as its tests do.
    #[test]
    fn masterminds_upstream_tables() {
        let rows: &[(&str, &str, bool)] = &[
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("=2.0", "1.2.3", false),
            ("=2.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("!=4.1.0", "4.1.0", false),
            ("!=4.1.0", "4.1.1", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "4.1.1", false),
            ("!=4.1", "5.1.0-alpha.1", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("<11", "0.1.0", true),
            ("<11", "11.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<=11", "1.2.3", true),
            ("<=11", "12.2.3", false),
            ("<=11", "11.2.3", true),
            ("<=1.1", "1.2.3", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.1", "1.1.1", true),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">0", "0", false),
            (">0", "1", true),
            (">0", "0.0.1-alpha", false),
            (">0.0", "0.0.1-alpha", false),
            (">0-0", "0.0.1-alpha", false),
            (">0.0-0", "0.0.1-alpha", false),
            (">0", "0.0.0-alpha", false),
            (">0-0", "0.0.0-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            (">1.2.3-alpha.1", "1.2.3-alpha.2", true),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">=11", "11.1.2", true),
            (">=11.1", "11.1.2", true),
            (">=11.1", "11.0.2", false),
            (">=1.1", "4.1.0", true),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            (">=0", "0.0.1-alpha", false),
            (">=0.0", "0.0.1-alpha", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=0.0-0", "0.0.1-alpha", true),
            (">=0", "0.0.0-alpha", false),
            (">=0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "1.2.3", true),
            (">=0.0.0-0", "3.4.5-beta.1", true),
            ("<0", "0.0.0-alpha", false),
            ("<0-z", "0.0.0-alpha", true),
            (">=0", "0", true),
            ("=0", "1", false),
            ("*", "1", true),
            ("*", "4.5.6", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("2.*", "1", false),
            ("2.*", "3.4.5", false),
            ("2.*", "2.1.1", true),
            ("2.1.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("2", "1", false),
            ("2", "3.4.5", false),
            ("2", "2.1.1", true),
            ("2.1", "2.1.1", true),
            ("2.1", "2.2.1", false),
            ("~1.2.3", "1.2.4", true),
            ("~1.2.3", "1.3.4", false),
            ("~1.2", "1.2.4", true),
            ("~1.2", "1.3.4", false),
            ("~1", "1.2.4", true),
            ("~1", "2.3.4", false),
            ("~0.2.3", "0.2.5", true),
            ("~0.2.3", "0.3.5", false),
            ("~1.2.3-beta.2", "1.2.3-beta.4", true),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("^1.2.3", "1.8.9", true),
            ("^1.2.3", "2.8.9", false),
            ("^1.2.3", "1.2.1", false),
            ("^1.1.0", "2.1.0", false),
            ("^1.2.0", "2.2.1", false),
            ("^1.2.0", "1.2.1-alpha.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.0", "1.2.1-alpha.0", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^1.2", "1.8.9", true),
            ("^1.2", "2.8.9", false),
            ("^1", "1.8.9", true),
            ("^1", "2.8.9", false),
            ("^0.2.3", "0.2.5", true),
            ("^0.2.3", "0.5.6", false),
            ("^0.2", "0.2.5", true),
            ("^0.2", "0.5.6", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0.0", "1.0.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("^0.2.3-beta.2", "0.2.3-beta.4", true),
            ("^0.2.3-beta.2", "0.2.4-beta.2", true),
            ("^0.2.3-beta.2", "0.3.4-beta.2", false),
            ("^0.2.3-beta.2", "0.2.3-beta.2", true),
            ("*", "1.2.3", true),
            ("~0.0.0", "1.2.3", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("0.0.0", "1.2.3", false),
            ("^0.0.0", "1.2.3", false),
            ("= 2.0", "1.2.3", false),
            ("= 2.0", "2.0.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4", true),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.x", "2.0.0", false),
            ("<1.1.x", "1.2.1", false),
            ("<1.1.x", "1.1.500", false),
            ("<1.1.x", "1.0.500", true),
            ("<1.2.x", "1.1.1", true),
            (">=1.1", "4.1.0-beta", false),
            ("<=1.1", "0.1.0-alpha", false),
            ("<=1.1-a", "0.1.0-alpha", true),
            ("<=1.x", "1.1.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1.x", "1.2.500", false),
            ("<=4.5", "3.4.0", true),
            ("<=4.5", "3.7.0", true),
            ("<=4.5", "4.6.3", false),
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">1.1, <3", "4.3.2", false),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">1.1 <2", "1.1.1", false),
            (">1.1 <2", "1.2.1", true),
            (">1.1    <3", "4.3.2", false),
            (">=1.1    <2    !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
            ("> 1.1, <     2", "1.1.1", false),
            (">   1.1, <2", "1.2.1", true),
            (">1.1, <  3", "4.3.2", false),
            (">= 1.1, <     2, !=1.2.3", "1.2.3", false),
            ("> 1.1 < 2", "1.1.1", false),
            (">1.1 < 2", "1.2.1", true),
            ("> 1.1    <3", "4.3.2", false),
            (">=1.1    < 2    != 1.2.3", "1.2.3", false),
            (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
            (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
            (">= 1.1 < 2 !=1.2.3 || > 3", "3.0.0", false),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.1-3", "4.3.2", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.x", "1.1.1", true),
            ("^2.x", "1.1.1", false),
            ("^1.x", "2.1.1", false),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.0.1", "0.0.1", true),
            ("^0.0.1", "0.3.1", false),
            ("~*", "2.1.1", true),
            ("~1", "2.1.1", false),
            ("~1", "1.3.5", true),
            ("~1", "1.4", true),
            ("~1.x", "2.1.1", false),
            ("~1.x", "1.3.5", true),
            ("~1.x", "1.4", true),
            ("~1.1", "1.1.1", true),
            ("~1.1", "1.1.1-alpha", false),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.1", "1.2.3", false),
            ("~1.3", "2.4.5", false),
            ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
            ("<2.x", "1.1.1", true),
            ("^1.1", "1.1.1-alpha", false),
            ("^1.1.1-alpha", "1.1.1-beta", true),
            ("^1.1.1-beta", "1.1.1-alpha", false),
            ("^0.0.1", "0.1.3", false),
            ("~1", "1.3.5-beta", false),
            ("~1.x", "1.3.5-beta", false),
            ("~1.3.6-alpha", "1.3.5-beta", false),
            ("~1.3.5-alpha", "1.3.5-beta", true),
            ("~1.3.5-beta", "1.3.5-alpha", false),
        ];
        for (range, version, expected) in rows {
            let r = Range::parse(range).unwrap_or_else(|e| panic!("{range:?}: {e}"));
            let v = coerce_version(version).expect("loose version");
            assert_eq!(r.matches(&v), *expected, "{range:?} vs {version}");
        }
    }

    #[test]
    fn masterminds_rewrite_and_shapes() {
        let g = grammar();
        for (input, rewritten) in [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
            ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
            ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
        ] {
            assert_eq!(rewrite_hyphens(g, input), rewritten);
        }
        for (input, ors, first) in [
            (">= 1.1", 1, 1),
            (">40.50.60, < 50.70", 1, 2),
            ("v2.3.5-20161202202307-sha.e8fc5e5", 1, 1),
            (">= 1.2.3 < 2.0 || => 3.0 < 4", 2, 2),
            (">= 1.2.3, < 2.0 || => 3.0, < 4", 2, 2),
            ("3 - 4 || => 3.0, < 4", 2, 2),
            ("12.3.34 ~1.2.3", 1, 2),
            ("1.0.0 - 2.0.0, <=2.0.0", 1, 3),
        ] {
            let r = Range::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(
                (r.groups.len(), r.groups[0].comparators.len()),
                (ors, first),
                "{input}"
            );
        }
        for bad in [
            ">= bar",
            "BAR >= 1.2.3",
            "12.3.4.1234",
            "12.23.4.1234",
            "12.3.34~ 1.2.3",
            "foo",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
    }
}
