//! The selection pipeline, as image-reflector-controller runs it:
//! exclusion (at scan time) → stored order (descending bytes) → filter +
//! extract → value collapse (Go map: the last tag wins) → policy.
//!
//! Every step is replayed in Flux's order because the order is observable:
//! the semver policy keeps the FIRST maximum it meets, the numerical policy
//! the LAST, and the value map keeps the LAST tag per value. Where Flux
//! iterates a Go map (random order), values are iterated in descending byte
//! order of their original tags (see the module note in `policy`).
//!
//! Flux's messages are reproduced verbatim so `explain` can quote them.

use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;
use std::cmp::Ordering;

use super::extract::Template;
use super::goregex::{group_names, GoRegex};
use super::numeric::parse_go_float;
use super::range::{Range, Sides};
use super::version::{compare_precedence, parse_tag_version, TagGrammar};
use super::{
    CandidateReport, Choice, Evaluation, Order, Outcome, PolicyError, PolicySpec, DEFAULT_EXCLUSION,
};

/// Flux: the repository stored no tag (all excluded, or none listed).
pub const ERR_NO_TAGS: &str = "no tags in database";
/// Flux: nothing survived `filterTags`.
pub const ERR_EMPTY: &str = "version list argument cannot be empty";
/// Flux: no value is a version inside the range.
pub const ERR_NO_SEMVER: &str = "unable to determine latest version from provided list";

/// A policy compiled once (regexes, range), reusable for any tag list.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    exclusions: Vec<(String, GoRegex)>,
    filter: Option<Filter>,
    choice: Compiled,
}

#[derive(Debug, Clone)]
struct Filter {
    re: GoRegex,
    /// `None` when `extract` is empty: the value is the tag itself.
    template: Option<Template>,
}

#[derive(Debug, Clone)]
enum Compiled {
    Semver(Range, TagGrammar),
    Alphabetical(Order),
    Numerical(Order),
}

/// Internal, allocation-free outcome; `Excluded` holds the exclusion index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Excluded(usize),
    FilteredOut,
    NotSemver,
    OutOfRange,
    NotNumber,
    Candidate,
    Latest,
    Collapsed,
}

/// Everything one run computes, indexed by position in `order`; reports are
/// built from it only by `evaluate`.
struct Run<'a> {
    /// Unique tags in descending byte order (Flux's stored order, plus the
    /// excluded ones).
    order: Vec<&'a str>,
    /// Input position -> `order` position.
    slot: Vec<usize>,
    fates: Vec<Fate>,
    /// The value the policy sees (filter + extract applied).
    values: Vec<Option<Cow<'a, str>>>,
    /// Filled only when ranking was requested.
    ranks: Vec<Option<usize>>,
    latest: Option<usize>,
    error: Option<String>,
}

/// What a policy decides over the collapsed values.
struct Decision {
    latest: Option<usize>,
    error: Option<String>,
}

impl CompiledPolicy {
    /// Compile everything once (regexes, range); errors say what Go /
    /// Masterminds would say.
    pub fn compile(spec: &PolicySpec) -> Result<CompiledPolicy, PolicyError> {
        let default = [DEFAULT_EXCLUSION.to_string()];
        let list: &[String] = spec.exclusion_list.as_deref().unwrap_or(&default);
        let exclusions = list
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                GoRegex::new(pattern)
                    .map(|re| (pattern.clone(), re))
                    .map_err(|reason| PolicyError::InvalidExclusion {
                        index,
                        pattern: pattern.clone(),
                        reason,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let pattern = spec.filter_pattern.as_deref().unwrap_or("");
        let extract = spec.extract.as_deref().unwrap_or("");
        let filter = if pattern.is_empty() && extract.is_empty() {
            None
        } else {
            let re = GoRegex::new(pattern).map_err(|e| PolicyError::InvalidPattern {
                reason: format!("invalid regular expression pattern '{pattern}': {e}"),
            })?;
            let template = (!extract.is_empty()).then(|| Template::parse(extract));
            Some(Filter { re, template })
        };

        let choice = match &spec.choice {
            Choice::Semver { range, grammar } => Compiled::Semver(
                Range::parse(range).map_err(|reason| PolicyError::InvalidRange { reason })?,
                *grammar,
            ),
            Choice::Alphabetical { order } => Compiled::Alphabetical(*order),
            Choice::Numerical { order } => Compiled::Numerical(*order),
        };
        Ok(CompiledPolicy {
            exclusions,
            filter,
            choice,
        })
    }

    /// Full pipeline with a report for every input tag; deterministic and
    /// independent of the order of `tags`.
    pub fn evaluate(&self, tags: &[String]) -> Evaluation {
        let run = self.run(tags, true);
        let candidates = tags
            .iter()
            .zip(&run.slot)
            .map(|(tag, &i)| CandidateReport {
                tag: tag.clone(),
                outcome: self.outcome(run.fates[i]),
                extracted: run.values[i].as_ref().map(|v| v.to_string()),
                rank: run.ranks[i],
            })
            .collect();
        Evaluation {
            latest: run.latest.map(|i| run.order[i].to_string()),
            error: run.error,
            candidates,
        }
    }

    /// The tag Flux would select, without per-tag reports (for `--fix`).
    pub fn latest(&self, tags: &[String]) -> Option<String> {
        let run = self.run(tags, false);
        run.latest.map(|i| run.order[i].to_string())
    }

    /// One tag on its own: exclusion, filter, then the policy's own gate.
    /// Never `Latest`/`Collapsed`, which depend on the other tags.
    pub fn classify(&self, tag: &str) -> Outcome {
        self.classify_and_extract(tag).0
    }

    /// `classify` and `extracted` of one tag, its filter run once (rules ask both of every
    /// marker's tag).
    pub fn classify_and_extract(&self, tag: &str) -> (Outcome, Option<String>) {
        let value = self.value_of(tag, &mut self.locations());
        let outcome = match (self.excluded_by(tag), &value) {
            (Some(i), _) => self.outcome(Fate::Excluded(i)),
            (None, None) => Outcome::FilteredOut,
            (None, Some(value)) => self.outcome(self.gate(value)),
        };
        (outcome, value.map(Cow::into_owned))
    }

    /// The value after filter + extract (`None` if the filter drops the tag).
    /// Exclusion is not applied here; see [`CompiledPolicy::classify`].
    pub fn extracted(&self, tag: &str) -> Option<String> {
        self.value_of(tag, &mut self.locations())
            .map(Cow::into_owned)
    }

    /// For a semver policy, where the versions its range admits lie relative to `value`
    /// (extract applied), exactly (see [`Range::sides_of`]): only above it, Flux replacing the
    /// value is an upgrade; only below, a downgrade; neither, the range admits nothing. `None`
    /// for other policies or a value that is not SemVer.
    pub fn range_sides(&self, value: &str) -> Option<Sides> {
        let mut locations = self.locations();
        self.sides(&self.value_of(value, &mut locations)?)
    }

    /// The one version a semver policy's range admits, where it names one whole (a pin).
    pub fn pinned_version(&self) -> Option<String> {
        match &self.choice {
            Compiled::Semver(range, _) => range.pinned(),
            Compiled::Alphabetical(_) | Compiled::Numerical(_) => None,
        }
    }

    /// How a semver policy reads a tag as a version; `None` for the other policies.
    pub fn tag_grammar(&self) -> Option<TagGrammar> {
        match self.choice {
            Compiled::Semver(_, grammar) => Some(grammar),
            Compiled::Alphabetical(_) | Compiled::Numerical(_) => None,
        }
    }

    /// For a value Flux skips because it lacks its minor or patch (`1.25`, `v2`), whether the
    /// range admits versions above the release it names (`1.25.0`): the automation then moves
    /// it up to the range, as it does a value below the range.
    pub fn partial_version_admits_above(&self, value: &str) -> Option<bool> {
        let mut locations = self.locations();
        let extracted = self.value_of(value, &mut locations)?;
        let digits = extracted.strip_prefix('v').unwrap_or(&extracted);
        let parts: Vec<&str> = digits.split('.').collect();
        let is_number = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if parts.len() > 2 || !parts.iter().all(is_number) {
            return None;
        }
        let padded = parts.iter().chain(&["0", "0"]).take(3).copied();
        self.sides(&padded.collect::<Vec<_>>().join("."))
            .map(|sides| sides.above)
    }

    /// For a tag the filter drops only because its version lacks its minor or patch
    /// (`1.27-alpine` under `^\d+\.\d+\.\d+-alpine$`), whether the range admits versions above
    /// the release it names (`1.27.0`): the automation moves it up its own tag line, as
    /// [`Self::partial_version_admits_above`] finds for a value the filter keeps. `None` when no
    /// version in the tag, completed with zeros, passes the filter as SemVer.
    pub fn partial_tag_admits_above(&self, tag: &str) -> Option<bool> {
        let mut locations = self.locations();
        completed_versions(tag).find_map(|completed| {
            let extracted = self.value_of(&completed, &mut locations)?;
            self.sides(&extracted).map(|sides| sides.above)
        })
    }

    /// Where the range's versions lie relative to `value` read as a version; `None` for other
    /// policies or a value the policy does not read as one.
    fn sides(&self, value: &str) -> Option<Sides> {
        let Compiled::Semver(range, grammar) = &self.choice else {
            return None;
        };
        Some(range.sides_of(&parse_tag_version(value, *grammar)?))
    }

    /// Whether the policy's order puts `a` above `b`, compared on their values (filter and
    /// extract applied) whether or not the exclusion list or a semver range admits them: what
    /// makes writing `b` over `a` a downgrade. `false` when either has no value the policy can
    /// order (filtered out, not SemVer, not a number).
    pub fn ranks_above(&self, a: &str, b: &str) -> bool {
        let mut locations = self.locations();
        let a = self.value_of(a, &mut locations);
        let b = self.value_of(b, &mut locations);
        let (Some(a), Some(b)) = (a, b) else {
            return false;
        };
        let above = |ordering: Option<Ordering>, order: Order| match order {
            Order::Asc => ordering == Some(Ordering::Greater),
            Order::Desc => ordering == Some(Ordering::Less),
        };
        match &self.choice {
            Compiled::Semver(_, grammar) => match (
                parse_tag_version(&a, *grammar),
                parse_tag_version(&b, *grammar),
            ) {
                (Some(a), Some(b)) => compare_precedence(&a, &b) == Ordering::Greater,
                _ => false,
            },
            Compiled::Alphabetical(order) => above(Some(a.cmp(&b)), *order),
            Compiled::Numerical(order) => match (parse_go_float(&a), parse_go_float(&b)) {
                (Some(a), Some(b)) => above(a.partial_cmp(&b), *order),
                _ => false,
            },
        }
    }

    fn outcome(&self, fate: Fate) -> Outcome {
        match fate {
            Fate::Excluded(i) => Outcome::Excluded {
                pattern: self.exclusions[i].0.clone(),
            },
            Fate::FilteredOut => Outcome::FilteredOut,
            Fate::NotSemver => Outcome::NotSemver,
            Fate::OutOfRange => Outcome::OutOfRange,
            Fate::NotNumber => Outcome::NotNumber,
            Fate::Candidate => Outcome::Candidate,
            Fate::Latest => Outcome::Latest,
            Fate::Collapsed => Outcome::Collapsed,
        }
    }

    fn excluded_by(&self, tag: &str) -> Option<usize> {
        self.exclusions.iter().position(|(_, re)| re.is_match(tag))
    }

    /// Reusable capture slots for `value_of` (avoids an allocation per tag).
    fn locations(&self) -> Option<regex::CaptureLocations> {
        self.filter
            .as_ref()
            .filter(|f| f.template.is_some())
            .map(|f| f.re.re.capture_locations())
    }

    /// Flux `RegexFilter.Apply` for one tag: first leftmost match, then the
    /// template expanded over that match.
    fn value_of<'a>(
        &self,
        tag: &'a str,
        locs: &mut Option<regex::CaptureLocations>,
    ) -> Option<Cow<'a, str>> {
        let Some(filter) = &self.filter else {
            return Some(Cow::Borrowed(tag));
        };
        match (&filter.template, locs) {
            (Some(t), Some(locs)) => {
                filter.re.re.captures_read(locs, tag)?;
                let group = |i: usize| locs.get(i).map(|(s, e)| &tag[s..e]);
                Some(Cow::Owned(t.expand(&filter.re.names, group)))
            }
            _ => filter.re.is_match(tag).then_some(Cow::Borrowed(tag)),
        }
    }

    /// The policy's per-value gate, without comparing to other values.
    fn gate(&self, value: &str) -> Fate {
        match &self.choice {
            Compiled::Semver(range, grammar) => match parse_tag_version(value, *grammar) {
                None => Fate::NotSemver,
                Some(v) if !range.matches(&v) => Fate::OutOfRange,
                Some(_) => Fate::Candidate,
            },
            Compiled::Numerical(_) => match parse_go_float(value) {
                None => Fate::NotNumber,
                Some(_) => Fate::Candidate,
            },
            Compiled::Alphabetical(_) => Fate::Candidate,
        }
    }

    fn run<'a>(&self, tags: &'a [String], ranked: bool) -> Run<'a> {
        // Stored order: unique tags, descending bytes. Sorting positions
        // keeps the input -> tag mapping for the reports.
        let mut by_tag: Vec<usize> = (0..tags.len()).collect();
        by_tag.sort_unstable_by(|&a, &b| tags[b].cmp(&tags[a]));
        let mut order: Vec<&'a str> = Vec::with_capacity(tags.len());
        let mut slot = vec![0; tags.len()];
        for k in by_tag {
            if order.last() != Some(&tags[k].as_str()) {
                order.push(&tags[k]);
            }
            slot[k] = order.len() - 1;
        }
        let n = order.len();
        let mut fates = vec![Fate::Candidate; n];
        let mut values: Vec<Option<Cow<'a, str>>> = Vec::with_capacity(n);
        let mut ranks = if ranked { vec![None; n] } else { Vec::new() };

        // Scan time: excluded tags never reach the database. Then the filter.
        let mut locs = self.locations();
        let mut stored = 0;
        for (i, tag) in order.iter().enumerate() {
            if let Some(x) = self.excluded_by(tag) {
                fates[i] = Fate::Excluded(x);
                values.push(None);
                continue;
            }
            stored += 1;
            let value = self.value_of(tag, &mut locs);
            if value.is_none() {
                fates[i] = Fate::FilteredOut;
            }
            values.push(value);
        }

        let decision = if stored == 0 {
            Decision {
                latest: None,
                error: Some(ERR_NO_TAGS.to_string()),
            }
        } else {
            let holders = self.collapse(&values, &mut fates);
            if holders.is_empty() {
                Decision {
                    latest: None,
                    error: Some(ERR_EMPTY.to_string()),
                }
            } else {
                let mut ctx = Ctx {
                    holders: &holders,
                    values: &values,
                    fates: &mut fates,
                    ranks: &mut ranks,
                    ranked,
                };
                match &self.choice {
                    Compiled::Semver(range, grammar) => semver(&mut ctx, range, *grammar),
                    Compiled::Alphabetical(order) => alphabetical(&mut ctx, *order),
                    Compiled::Numerical(order) => numerical(&mut ctx, *order),
                }
            }
        };
        if let Some(i) = decision.latest {
            fates[i] = Fate::Latest;
        }
        Run {
            order,
            slot,
            fates,
            values,
            ranks,
            latest: decision.latest,
            error: decision.error,
        }
    }

    /// Flux's value map: one holder per value, the LAST tag (in stored order)
    /// that produced it. Returns holders in iteration order — the
    /// deterministic stand-in for Go's random map order: descending byte
    /// order of the holding tags.
    fn collapse(&self, values: &[Option<Cow<'_, str>>], fates: &mut [Fate]) -> Vec<usize> {
        let present = (0..values.len()).filter(|&i| values[i].is_some());
        let needs_map = self.filter.as_ref().is_some_and(|f| f.template.is_some());
        if !needs_map {
            // Values are the (unique) tags themselves: nothing collapses.
            return present.collect();
        }
        let mut holders: Vec<usize> = Vec::new();
        let mut by_value: HashMap<&str, usize> = HashMap::new();
        for i in present {
            let value = values[i].as_deref().expect("present");
            match by_value.get(value) {
                Some(&h) => {
                    fates[holders[h]] = Fate::Collapsed;
                    holders[h] = i;
                }
                None => {
                    by_value.insert(value, holders.len());
                    holders.push(i);
                }
            }
        }
        holders.sort_unstable();
        holders
    }
}

/// What the policies work on: holders (indices into `values`) in iteration
/// order, and where to record fates and ranks.
struct Ctx<'r, 'a> {
    holders: &'r [usize],
    values: &'r [Option<Cow<'a, str>>],
    fates: &'r mut [Fate],
    ranks: &'r mut [Option<usize>],
    ranked: bool,
}

impl Ctx<'_, '_> {
    fn value(&self, i: usize) -> &str {
        self.values[i].as_deref().expect("holders have values")
    }
}

/// Flux `SemVer.Latest`: parse in the Flux's grammar, range check, keep the first maximum.
fn semver(ctx: &mut Ctx<'_, '_>, range: &Range, grammar: TagGrammar) -> Decision {
    let mut candidates: Vec<(usize, semver::Version)> = Vec::new();
    let mut best: Option<usize> = None;
    for &i in ctx.holders {
        match parse_tag_version(ctx.value(i), grammar) {
            None => ctx.fates[i] = Fate::NotSemver,
            Some(v) if !range.matches(&v) => ctx.fates[i] = Fate::OutOfRange,
            Some(v) => {
                let better = best
                    .is_none_or(|b| compare_precedence(&v, &candidates[b].1) == Ordering::Greater);
                if better {
                    best = Some(candidates.len());
                }
                candidates.push((i, v));
            }
        }
    }
    let Some(best) = best else {
        return Decision {
            latest: None,
            error: Some(ERR_NO_SEMVER.to_string()),
        };
    };
    let latest = candidates[best].0;
    if ctx.ranked {
        // Stable: equal precedence keeps iteration order, so the first
        // maximum (the winner) ranks first, as in Flux.
        candidates.sort_by(|a, b| compare_precedence(&b.1, &a.1));
        for (r, (i, _)) in candidates.iter().enumerate() {
            ctx.ranks[*i] = Some(r + 1);
        }
    }
    Decision {
        latest: Some(latest),
        error: None,
    }
}

/// Flux `Alphabetical.Latest`: byte order; asc → maximum, desc → minimum.
/// Values are unique map keys, so there are no ties.
fn alphabetical(ctx: &mut Ctx<'_, '_>, order: Order) -> Decision {
    let better = |a: &str, b: &str| match order {
        Order::Asc => a > b,
        Order::Desc => a < b,
    };
    let mut best = ctx.holders[0];
    for &i in &ctx.holders[1..] {
        if better(ctx.value(i), ctx.value(best)) {
            best = i;
        }
    }
    if ctx.ranked {
        let mut sorted: Vec<usize> = ctx.holders.to_vec();
        sorted.sort_by(|&a, &b| match order {
            Order::Asc => ctx.value(b).cmp(ctx.value(a)),
            Order::Desc => ctx.value(a).cmp(ctx.value(b)),
        });
        for (r, i) in sorted.into_iter().enumerate() {
            ctx.ranks[i] = Some(r + 1);
        }
    }
    Decision {
        latest: Some(best),
        error: None,
    }
}

/// Flux `Numerical.Latest`: every value must parse (else the policy fails on
/// the first bad one); asc keeps the last value not below the pick, desc the
/// last not above it — so equal values go to the LAST, and NaN (comparing
/// false both ways) replaces the pick and is replaced by the next value.
fn numerical(ctx: &mut Ctx<'_, '_>, order: Order) -> Decision {
    let mut parsed: Vec<(usize, f64)> = Vec::with_capacity(ctx.holders.len());
    let mut error = None;
    for &i in ctx.holders {
        match parse_go_float(ctx.value(i)) {
            Some(f) => parsed.push((i, f)),
            None => {
                ctx.fates[i] = Fate::NotNumber;
                if error.is_none() {
                    error = Some(format!(
                        "failed to parse invalid numeric value '{}'",
                        ctx.value(i)
                    ));
                }
            }
        }
    }
    if error.is_some() {
        return Decision {
            latest: None,
            error,
        };
    }
    let mut pick = 0;
    for (k, &(_, cv)) in parsed.iter().enumerate().skip(1) {
        let pv = parsed[pick].1;
        let skip = match order {
            Order::Asc => cv < pv,
            Order::Desc => cv > pv,
        };
        if !skip {
            pick = k;
        }
    }
    let latest = parsed[pick].0;
    if ctx.ranked {
        // Explain-only order: the winner, then best-first with NaN last and
        // later iteration first among equals (Flux keeps the last of equals).
        let winner = parsed.remove(pick);
        let mut rest: Vec<(usize, (usize, f64))> = parsed.into_iter().enumerate().collect();
        let key = |x: f64| match order {
            Order::Asc => -x,
            Order::Desc => x,
        };
        rest.sort_by(|(ia, (_, a)), (ib, (_, b))| {
            a.is_nan()
                .cmp(&b.is_nan())
                .then_with(|| key(*a).total_cmp(&key(*b)))
                .then(ib.cmp(ia))
        });
        ctx.ranks[winner.0] = Some(1);
        for (r, (_, (i, _))) in rest.iter().enumerate() {
            ctx.ranks[*i] = Some(r + 2);
        }
    }
    Decision {
        latest: Some(latest),
        error: None,
    }
}

/// Lint helper: `extract` references that `filterTags.pattern` cannot fill
/// (Flux expands them to "", usually collapsing every tag into one value).
pub fn check_extract(pattern: &str, extract: &str) -> Result<(), PolicyError> {
    let names = group_names(pattern).map_err(|e| PolicyError::InvalidPattern {
        reason: format!("invalid regular expression pattern '{pattern}': {e}"),
    })?;
    let template = Template::parse(extract);
    // image-reflector-controller expands a non-empty template only.
    if !extract.is_empty() && template.refers_to_no_group() {
        let named = names.iter().flatten().find(|name| *name == extract);
        return Err(PolicyError::InvalidExtract {
            reason: match named {
                Some(name) => format!("refers to no group (a reference is `${name}`): Flux gives every tag the value `{extract}`"),
                None => format!("refers to no group (a reference is `$name` or `${{name}}`): Flux gives every tag the value `{extract}`"),
            },
        });
    }
    let unknown = template.unknown_references(&names);
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::InvalidExtract {
            reason: format!(
                "{} not defined by the pattern: Flux expands it to an empty string",
                unknown.join(", ")
            ),
        })
    }
}

/// The tag once for each version in it of one or two numbers, that version completed with
/// zeros to three (`1.27-alpine` → `1.27.0-alpine`, `v2-debian` → `v2.0.0-debian`).
fn completed_versions(tag: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = tag.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            if !bytes[at].is_ascii_digit() {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                at += 1;
            }
            let parts: Vec<&str> = tag[start..at].split('.').collect();
            if parts.len() <= 2 && parts.iter().all(|part| !part.is_empty()) {
                let zeros = ".0".repeat(3 - parts.len());
                return Some(format!("{}{zeros}{}", &tag[..at], &tag[at..]));
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn spec(choice: Choice) -> PolicySpec {
        PolicySpec {
            exclusion_list: None,
            filter_pattern: None,
            extract: None,
            choice,
        }
    }
    /// A semver policy as Flux up to 2.6 reads tags (what most tests here were written for).
    fn semver_spec(range: &str) -> PolicySpec {
        semver_in(range, TagGrammar::Strict)
    }
    fn semver_in(range: &str, grammar: TagGrammar) -> PolicySpec {
        spec(Choice::Semver {
            range: range.into(),
            grammar,
        })
    }
    fn filtered(mut s: PolicySpec, pattern: &str, extract: &str) -> PolicySpec {
        s.filter_pattern = Some(pattern.into());
        s.extract = Some(extract.into());
        s
    }
    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }
    fn compile(s: &PolicySpec) -> CompiledPolicy {
        CompiledPolicy::compile(s).expect("valid policy")
    }
    /// Latest for the list and for its reverse (order independence).
    fn pick(s: &PolicySpec, list: &[&str]) -> Option<String> {
        let p = compile(s);
        let mut t = tags(list);
        let a = p.latest(&t);
        t.reverse();
        assert_eq!(a, p.latest(&t), "input order changed the result");
        assert_eq!(a, p.evaluate(&t).latest);
        a
    }
    fn outcome(e: &Evaluation, tag: &str) -> Outcome {
        e.candidates
            .iter()
            .find(|c| c.tag == tag)
            .expect("tag reported")
            .outcome
            .clone()
    }

    #[test]
    fn semver_real_tags() {
        let list = [
            "v1.2.3",
            "1.2.4",
            "v1.10.0",
            "1.11.0-rc.1",
            "latest",
            "v1.2",
            "sha-abc",
            "01.2.3",
        ];
        assert_eq!(
            pick(&semver_spec(">=1.0.0"), &list).as_deref(),
            Some("v1.10.0")
        );
        assert_eq!(
            pick(&semver_spec(">=1.0.0-0"), &list).as_deref(),
            Some("1.11.0-rc.1")
        );
        assert_eq!(pick(&semver_spec("~1.2"), &list).as_deref(), Some("1.2.4"));
        assert_eq!(
            pick(&semver_spec("1.2.3"), &list).as_deref(),
            Some("v1.2.3")
        );
    }

    #[test]
    fn semver_ties_go_to_first_in_descending_byte_order() {
        assert_eq!(
            pick(&semver_spec("*"), &["1.0.0", "v1.0.0"]).as_deref(),
            Some("v1.0.0")
        );
        assert_eq!(
            pick(&semver_spec("*"), &["1.0.0+build.10", "1.0.0+build.2"]).as_deref(),
            Some("1.0.0+build.2")
        );
        let e = compile(&semver_spec("*")).evaluate(&tags(&["1.0.0", "v1.0.0"]));
        assert_eq!(outcome(&e, "1.0.0"), Outcome::Candidate);
        assert_eq!(
            e.candidates.iter().find(|c| c.tag == "1.0.0").unwrap().rank,
            Some(2)
        );
    }

    #[test]
    fn semver_prerelease_ordering_quirks() {
        let s = semver_spec(">=1.0.0-0");
        assert_eq!(
            pick(&s, &["1.0.0-rc9", "1.0.0-rc10"]).as_deref(),
            Some("1.0.0-rc9")
        );
        assert_eq!(
            pick(&s, &["1.0.0-rc.9", "1.0.0-rc.10"]).as_deref(),
            Some("1.0.0-rc.10")
        );
        assert_eq!(pick(&s, &["1.0.0-rc.1", "1.0.0"]).as_deref(), Some("1.0.0"));
    }

    #[test]
    fn semver_skips_loose_shapes() {
        let s = semver_spec("*");
        let list = [
            "v1.2",
            "1",
            "1.2.3.4",
            "V1.2.3",
            "vv1.2.3",
            "01.2.3",
            "2022.04.1",
            "1.0.0-rc.01",
            "1.0.0p",
            "latest",
        ];
        let e = compile(&s).evaluate(&tags(&list));
        assert_eq!(e.latest, None);
        assert_eq!(e.error.as_deref(), Some(ERR_NO_SEMVER));
        for t in list {
            assert_eq!(outcome(&e, t), Outcome::NotSemver, "{t}");
        }
        // CalVer that happens to be strict SemVer is a candidate.
        assert_eq!(
            pick(&s, &["2022.04.1", "2022.4.2"]).as_deref(),
            Some("2022.4.2")
        );
    }

    /// CalVer with leading zeros: Flux 2.7 reads `2025.02.03` as 2025.2.3 and picks it; Flux
    /// 2.6 skips it and picks the newest strict tag.
    #[test]
    fn calver_with_leading_zeros_is_picked_from_flux_2_7() {
        let list = [
            "2025.02.03",
            "2025.2.1",
            "v2025.01.20",
            "2025.1.15",
            "2024.12.31",
            "latest",
        ];
        assert_eq!(
            pick(&semver_in(">=2024.0.0", TagGrammar::Loose), &list).as_deref(),
            Some("2025.02.03")
        );
        assert_eq!(
            pick(&semver_in(">=2024.0.0", TagGrammar::Strict), &list).as_deref(),
            Some("2025.2.1")
        );
        let e = compile(&semver_in(">=2024.0.0", TagGrammar::Loose)).evaluate(&tags(&list));
        let rank = |t: &str| e.candidates.iter().find(|c| c.tag == t).unwrap().rank;
        assert_eq!(
            [
                "2025.02.03",
                "2025.2.1",
                "v2025.01.20",
                "2025.1.15",
                "2024.12.31"
            ]
            .map(rank),
            [Some(1), Some(2), Some(3), Some(4), Some(5)]
        );
        assert_eq!(outcome(&e, "latest"), Outcome::NotSemver);
        let strict = compile(&semver_in(">=2024.0.0", TagGrammar::Strict));
        assert_eq!(strict.classify("2025.02.03"), Outcome::NotSemver);
        assert_eq!(strict.classify("v2025.01.20"), Outcome::NotSemver);
    }

    #[test]
    fn loose_shapes_flux_2_7_reads_and_skips() {
        let s = semver_in("*", TagGrammar::Loose);
        let skipped = [
            "v1.2",
            "1",
            "1.2.3.4",
            "V1.2.3",
            "vv1.2.3",
            "1.0.0-rc.01",
            "1.0.0p",
            "latest",
        ];
        let e = compile(&s).evaluate(&tags(&skipped));
        assert_eq!(
            (e.latest.as_deref(), e.error.as_deref()),
            (None, Some(ERR_NO_SEMVER))
        );
        for t in skipped {
            assert_eq!(outcome(&e, t), Outcome::NotSemver, "{t}");
        }
        let p = compile(&semver_in(">=0.0.0-0", TagGrammar::Loose));
        for read in ["01.2.3", "2022.04.1", "1.2-rc.1", "1-rc.1.2"] {
            assert_eq!(p.classify(read), Outcome::Candidate, "{read}");
        }
        // `1.2-rc.1` is 1.2.0-rc.1: a prerelease, outside a range without one.
        let ranged = compile(&semver_in(">=1.0.0", TagGrammar::Loose));
        assert_eq!(ranged.classify("1.2-rc.1"), Outcome::OutOfRange);
        assert_eq!(
            pick(
                &semver_in(">=1.0.0-0", TagGrammar::Loose),
                &["1.2-rc.1", "1.1.9"]
            )
            .as_deref(),
            Some("1.2-rc.1")
        );
    }

    #[test]
    fn loose_equal_versions_go_to_the_first_in_descending_byte_order() {
        let s = semver_in("*", TagGrammar::Loose);
        // `2025.2.3` sorts above `2025.02.03` in bytes: Flux meets it first and keeps it.
        assert_eq!(
            pick(&s, &["2025.02.03", "2025.2.3"]).as_deref(),
            Some("2025.2.3")
        );
        assert_eq!(
            pick(&s, &["2025.02.03", "v2025.02.03"]).as_deref(),
            Some("v2025.02.03")
        );
        let e = compile(&s).evaluate(&tags(&["2025.02.03", "2025.2.3"]));
        let rank = |t: &str| e.candidates.iter().find(|c| c.tag == t).unwrap().rank;
        assert_eq!((rank("2025.2.3"), rank("2025.02.03")), (Some(1), Some(2)));
    }

    #[test]
    fn the_grammar_orders_and_places_values_too() {
        let loose = compile(&semver_in(">=2025.0.0", TagGrammar::Loose));
        let strict = compile(&semver_in(">=2025.0.0", TagGrammar::Strict));
        assert!(loose.ranks_above("2025.02.03", "2025.1.9"));
        assert!(!strict.ranks_above("2025.02.03", "2025.1.9"));
        assert_eq!(
            loose.range_sides("2024.01.05"),
            Some(Sides {
                below: false,
                above: true
            })
        );
        assert_eq!(strict.range_sides("2024.01.05"), None);
        assert_eq!(loose.partial_version_admits_above("2024.01"), Some(true));
        assert_eq!(strict.partial_version_admits_above("2024.01"), None);
        assert_eq!(loose.tag_grammar(), Some(TagGrammar::Loose));
        assert_eq!(
            compile(&spec(Choice::Numerical { order: Order::Asc })).tag_grammar(),
            None
        );
    }

    #[test]
    fn git_describe_tags_are_prereleases() {
        let list = ["2.0.329", "2.0.330-63-gc1cfb6864"];
        assert_eq!(
            pick(&semver_spec(">=2.0.0"), &list).as_deref(),
            Some("2.0.329")
        );
        assert_eq!(
            pick(&semver_spec(">=2.0.0-0"), &list).as_deref(),
            Some("2.0.330-63-gc1cfb6864")
        );
        let e = compile(&semver_spec(">=2.0.0")).evaluate(&tags(&list));
        assert_eq!(outcome(&e, "2.0.330-63-gc1cfb6864"), Outcome::OutOfRange);
    }

    #[test]
    fn hotio_alphabetical_with_filter() {
        let s = filtered(
            spec(Choice::Alphabetical { order: Order::Asc }),
            r"^release-[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$",
            "",
        );
        let list = [
            "release-5.2.6.8376",
            "release-5.2.6.8400",
            "release-5.1.9.9999",
            "nightly-5.2.6.8500",
            "latest",
            "release-5.2.6.8376-amd64",
        ];
        assert_eq!(pick(&s, &list).as_deref(), Some("release-5.2.6.8400"));
        let e = compile(&s).evaluate(&tags(&list));
        assert_eq!(outcome(&e, "nightly-5.2.6.8500"), Outcome::FilteredOut);
        assert_eq!(
            outcome(&e, "release-5.2.6.8376-amd64"),
            Outcome::FilteredOut
        );
        assert_eq!(
            e.candidates
                .iter()
                .find(|c| c.tag == "release-5.1.9.9999")
                .unwrap()
                .rank,
            Some(3)
        );
        // Lexical, not numeric: 5.10 sorts below 5.2 (Flux behaviour).
        assert_eq!(
            pick(&s, &["release-5.2.6.8376", "release-5.10.0.1"]).as_deref(),
            Some("release-5.2.6.8376")
        );
    }

    #[test]
    fn minio_alphabetical() {
        let s = filtered(
            spec(Choice::Alphabetical { order: Order::Asc }),
            r"^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$",
            "",
        );
        let list = [
            "RELEASE.2024-12-18T13-15-44Z",
            "RELEASE.2025-01-20T14-49-07Z",
            "RELEASE.2025-01-20T14-49-07Z.fips",
            "RELEASE.2025-01-20T14-49-07Z-cpuv1",
            "latest",
        ];
        assert_eq!(
            pick(&s, &list).as_deref(),
            Some("RELEASE.2025-01-20T14-49-07Z")
        );
    }

    #[test]
    fn alphabetical_orders() {
        let asc = spec(Choice::Alphabetical { order: Order::Asc });
        let desc = spec(Choice::Alphabetical { order: Order::Desc });
        assert_eq!(pick(&asc, &["B", "Z", "a"]).as_deref(), Some("a"));
        assert_eq!(pick(&desc, &["B", "Z", "a"]).as_deref(), Some("B"));
        assert_eq!(
            pick(&asc, &["main-9", "main-10"]).as_deref(),
            Some("main-9")
        );
        assert_eq!(pick(&desc, &["b", "a", "c"]).as_deref(), Some("a"));
    }

    #[test]
    fn numerical_extract_named_group() {
        let s = filtered(
            spec(Choice::Numerical { order: Order::Asc }),
            r"^main-[a-f0-9]+-(?P<ts>[0-9]+)",
            "$ts",
        );
        let list = [
            "main-abc123-1700000000",
            "main-def456-1700000500",
            "main-0a1b2c3-1600000000",
            "feature-x-1800000000",
            "latest",
        ];
        assert_eq!(pick(&s, &list).as_deref(), Some("main-def456-1700000500"));
        let e = compile(&s).evaluate(&tags(&list));
        let r = e
            .candidates
            .iter()
            .find(|c| c.tag == "main-abc123-1700000000")
            .unwrap();
        assert_eq!(r.extracted.as_deref(), Some("1700000000"));
        assert_eq!(r.rank, Some(2));
        assert_eq!(outcome(&e, "feature-x-1800000000"), Outcome::FilteredOut);
        let desc = filtered(
            spec(Choice::Numerical { order: Order::Desc }),
            r"^main-[a-f0-9]+-(?P<ts>[0-9]+)",
            "$ts",
        );
        assert_eq!(
            pick(&desc, &list).as_deref(),
            Some("main-0a1b2c3-1600000000")
        );
    }

    #[test]
    fn numerical_go_parse_rules() {
        let asc = spec(Choice::Numerical { order: Order::Asc });
        assert_eq!(
            pick(&asc, &["999", "1_000", "+7", "-3", ".5"]).as_deref(),
            Some("1_000")
        );
        assert_eq!(pick(&asc, &["1e3", "999"]).as_deref(), Some("1e3"));
        for bad in ["0x10", "1e400", "1 "] {
            let e = compile(&asc).evaluate(&tags(&["1", bad]));
            assert_eq!(e.latest, None);
            assert_eq!(
                e.error,
                Some(format!("failed to parse invalid numeric value '{bad}'"))
            );
            assert_eq!(outcome(&e, bad), Outcome::NotNumber);
            assert_eq!(outcome(&e, "1"), Outcome::Candidate);
        }
        assert_eq!(pick(&asc, &["0x1p4", "15"]).as_deref(), Some("0x1p4"));
    }

    #[test]
    fn numerical_ties_go_to_last_in_iteration() {
        // Iteration (descending bytes): "1e0", "1.0", "1" -> the last, "1".
        let asc = spec(Choice::Numerical { order: Order::Asc });
        let desc = spec(Choice::Numerical { order: Order::Desc });
        assert_eq!(pick(&asc, &["1", "1.0", "1e0"]).as_deref(), Some("1"));
        assert_eq!(pick(&desc, &["1", "1.0", "1e0", "2"]).as_deref(), Some("1"));
    }

    #[test]
    fn numerical_nan_compares_false_both_ways() {
        // Iteration follows the original tags' descending order.
        let s = filtered(
            spec(Choice::Numerical { order: Order::Asc }),
            "^[a-z]-(.*)$",
            "$1",
        );
        // [5, NaN] -> NaN
        assert_eq!(pick(&s, &["b-5", "a-NaN"]).as_deref(), Some("a-NaN"));
        // [NaN, 5] -> 5
        assert_eq!(pick(&s, &["b-NaN", "a-5"]).as_deref(), Some("a-5"));
        // No filter: "NaN" sorts before "5" in descending bytes -> [NaN, 5] -> 5.
        let plain = spec(Choice::Numerical { order: Order::Desc });
        assert_eq!(pick(&plain, &["5", "NaN"]).as_deref(), Some("5"));
        let e = compile(&s).evaluate(&tags(&["b-5", "a-NaN", "c-7"]));
        assert_eq!(e.latest.as_deref(), Some("a-NaN"));
        let rank = |t: &str| e.candidates.iter().find(|c| c.tag == t).unwrap().rank;
        assert_eq!(
            (rank("a-NaN"), rank("c-7"), rank("b-5")),
            (Some(1), Some(2), Some(3))
        );
    }

    #[test]
    fn values_collapse_to_last_tag_in_stored_order() {
        let s = filtered(semver_spec("*"), r"^v?(?P<v>\d+\.\d+\.\d+)$", "$v");
        let e = compile(&s).evaluate(&tags(&["v1.2.3", "1.2.3", "1.2.2"]));
        assert_eq!(e.latest.as_deref(), Some("1.2.3"));
        assert_eq!(outcome(&e, "v1.2.3"), Outcome::Collapsed);
        let r = e.candidates.iter().find(|c| c.tag == "v1.2.3").unwrap();
        assert_eq!((r.extracted.as_deref(), r.rank), (Some("1.2.3"), None));
        assert_eq!(pick(&s, &["1.2.3", "v1.2.3"]).as_deref(), Some("1.2.3"));
    }

    #[test]
    fn extract_templates_shape_values() {
        let s = filtered(
            spec(Choice::Alphabetical { order: Order::Asc }),
            r"^(?P<date>\d{8})-(?P<sha>[a-f0-9]{7})$",
            "${date}x$1x",
        );
        let p = compile(&s);
        assert_eq!(
            p.extracted("20250101-abcdef0").as_deref(),
            Some("20250101x")
        );
        assert_eq!(p.extracted("nope"), None);
        // Empty pattern with an extract: every tag collapses into one value.
        let all = filtered(spec(Choice::Alphabetical { order: Order::Asc }), "", "x");
        let e = compile(&all).evaluate(&tags(&["b", "a", "c"]));
        assert_eq!(e.latest.as_deref(), Some("a"));
        assert_eq!(outcome(&e, "c"), Outcome::Collapsed);
    }

    #[test]
    fn exclusion_default_and_replacement() {
        let s = semver_spec("*");
        let list = ["sha256-abc.sig", "1.0.0", "dev-1"];
        let e = compile(&s).evaluate(&tags(&list));
        assert_eq!(
            outcome(&e, "sha256-abc.sig"),
            Outcome::Excluded {
                pattern: DEFAULT_EXCLUSION.into()
            }
        );
        assert_eq!(
            e.candidates
                .iter()
                .find(|c| c.tag == "sha256-abc.sig")
                .unwrap()
                .extracted,
            None
        );
        let mut custom = s.clone();
        custom.exclusion_list = Some(vec!["^dev-".into(), "-1$".into()]);
        let e = compile(&custom).evaluate(&tags(&list));
        assert_eq!(outcome(&e, "sha256-abc.sig"), Outcome::NotSemver);
        assert_eq!(
            outcome(&e, "dev-1"),
            Outcome::Excluded {
                pattern: "^dev-".into()
            }
        );
        custom.exclusion_list = Some(vec![]);
        assert_eq!(compile(&custom).classify("x.sig"), Outcome::NotSemver);
    }

    #[test]
    fn flux_error_messages() {
        let p = compile(&semver_spec("*"));
        assert_eq!(
            p.evaluate(&tags(&["a.sig"])).error.as_deref(),
            Some(ERR_NO_TAGS)
        );
        assert_eq!(p.evaluate(&[]).error.as_deref(), Some(ERR_NO_TAGS));
        let f = compile(&filtered(semver_spec("*"), "^v", ""));
        let e = f.evaluate(&tags(&["1.0.0"]));
        assert_eq!((e.latest, e.error.as_deref()), (None, Some(ERR_EMPTY)));
        let e = p.evaluate(&tags(&["latest"]));
        assert_eq!(
            e.error.as_deref(),
            Some("unable to determine latest version from provided list")
        );
    }

    /// Whether the policy's range admits a version above `value`.
    fn admits_above(policy: &CompiledPolicy, value: &str) -> Option<bool> {
        policy.range_sides(value).map(|sides| sides.above)
    }

    #[test]
    fn out_of_range_values_below_the_range_are_upgraded_above_it_downgraded() {
        let p = compile(&semver_spec("~1.4"));
        assert_eq!(admits_above(&p, "2.1.0"), Some(false));
        assert_eq!(admits_above(&p, "1.4.2-rc.1"), Some(true));
        assert_eq!(admits_above(&p, "1.3.9"), Some(true));
        // Far below: every version in range is higher (the probe of the next patch, minor
        // and major missed `~1.4` from 0.9.0, and `6.2.x` from 5.0.3).
        assert_eq!(admits_above(&p, "v0.9.0"), Some(true));
        for range in [
            "6.2.x",
            "~6.2",
            "^6.2.0",
            "6.2.*",
            ">=6.2.0 <6.3.0",
            ">=6.2.0",
        ] {
            let p = compile(&semver_spec(range));
            assert_eq!(
                p.range_sides("5.0.3"),
                Some(Sides {
                    below: false,
                    above: true
                }),
                "{range}"
            );
        }
        let pinned = compile(&semver_spec("= 1.25.3"));
        assert_eq!(admits_above(&pinned, "1.25.5"), Some(false));
        assert_eq!(
            admits_above(&compile(&semver_spec("5.x.x")), "6.3.0"),
            Some(false)
        );
        let from_one = compile(&semver_spec(">=1.0.0"));
        assert_eq!(admits_above(&from_one, "v0.9.0"), Some(true));
        assert_eq!(admits_above(&from_one, "latest"), None);
        // With `extract`, the extracted value is placed.
        let extracted = compile(&filtered(semver_spec("6.2.x"), r"^main-(?P<v>.*)$", "$v"));
        assert_eq!(admits_above(&extracted, "main-5.0.3"), Some(true));
        assert_eq!(admits_above(&extracted, "main-7.0.0"), Some(false));
        assert_eq!(
            compile(&semver_spec("6.2.x")).partial_version_admits_above("5.0"),
            Some(true)
        );
        // A tag the filter drops for its missing patch is placed as its completed version.
        let alpine = r"^(?P<ver>\d+\.\d+\.\d+)-alpine$";
        let line = compile(&filtered(semver_spec(">=1.27.0"), alpine, "$ver"));
        assert_eq!(line.partial_tag_admits_above("1.27-alpine"), Some(true));
        assert_eq!(line.partial_tag_admits_above("1-alpine"), Some(true));
        assert_eq!(line.partial_tag_admits_above("1.27-debian"), None);
        assert_eq!(line.partial_tag_admits_above("1.27.1.2-alpine"), None);
        let pinned_line = compile(&filtered(semver_spec("1.26.x"), alpine, "$ver"));
        assert_eq!(
            pinned_line.partial_tag_admits_above("1.27-alpine"),
            Some(false)
        );
        let prefixed = compile(&filtered(
            semver_spec(">=1.0.0"),
            r"^v\d+\.\d+\.\d+-rc$",
            "",
        ));
        assert_eq!(prefixed.partial_tag_admits_above("v2-rc"), Some(true));
        let numerical = compile(&spec(Choice::Numerical { order: Order::Asc }));
        assert_eq!(admits_above(&numerical, "1.0.0"), None);
    }

    #[test]
    fn classify_single_tags() {
        let p = compile(&filtered(semver_spec("^1.0"), r"^v?\d", ""));
        assert_eq!(
            p.classify("x.sig"),
            Outcome::Excluded {
                pattern: DEFAULT_EXCLUSION.into()
            }
        );
        assert_eq!(p.classify("latest"), Outcome::FilteredOut);
        assert_eq!(p.classify("v1.2"), Outcome::NotSemver);
        assert_eq!(p.classify("v2.0.0"), Outcome::OutOfRange);
        assert_eq!(p.classify("1.5.0-rc.1"), Outcome::OutOfRange);
        assert_eq!(p.classify("v1.4.0"), Outcome::Candidate);
        let n = compile(&spec(Choice::Numerical { order: Order::Asc }));
        assert_eq!(n.classify("0x10"), Outcome::NotNumber);
        assert_eq!(n.classify("1_000"), Outcome::Candidate);
        let a = compile(&spec(Choice::Alphabetical { order: Order::Asc }));
        assert_eq!(a.classify("anything"), Outcome::Candidate);
    }

    #[test]
    fn reports_cover_every_input_tag_in_order() {
        let p = compile(&semver_spec(">=1.0.0"));
        let input = tags(&["1.0.0", "2.0.0", "1.0.0", "x", "3.0.0-rc.1"]);
        let e = p.evaluate(&input);
        let got: Vec<(&str, Outcome, Option<usize>)> = e
            .candidates
            .iter()
            .map(|c| (c.tag.as_str(), c.outcome.clone(), c.rank))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1.0.0", Outcome::Candidate, Some(2)),
                ("2.0.0", Outcome::Latest, Some(1)),
                ("1.0.0", Outcome::Candidate, Some(2)),
                ("x", Outcome::NotSemver, None),
                ("3.0.0-rc.1", Outcome::OutOfRange, None),
            ]
        );
    }

    #[test]
    fn compile_errors_carry_go_and_masterminds_messages() {
        let mut s = semver_spec("*");
        s.exclusion_list = Some(vec!["ok".into(), "(?!x)".into()]);
        match CompiledPolicy::compile(&s) {
            Err(PolicyError::InvalidExclusion {
                index,
                pattern,
                reason,
            }) => {
                assert_eq!((index, pattern.as_str()), (1, "(?!x)"));
                assert_eq!(
                    reason,
                    "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"
                );
            }
            other => panic!("{other:?}"),
        }
        let err = CompiledPolicy::compile(&filtered(semver_spec("*"), "a(", "")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to filter tags: invalid regular expression pattern 'a(': \
             error parsing regexp: missing closing ): `a(`"
        );
        let err = CompiledPolicy::compile(&semver_spec("latest")).unwrap_err();
        assert_eq!(
            err,
            PolicyError::InvalidRange {
                reason: "improper constraint: \"latest\"".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid policy: improper constraint: \"latest\""
        );
        assert!(CompiledPolicy::compile(&semver_spec("")).is_err());
        // \Q..\E is Go syntax: accepted.
        assert!(CompiledPolicy::compile(&filtered(semver_spec("*"), r"^\Qv1.\E", "")).is_ok());
    }

    #[test]
    fn compiled_policy_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledPolicy>();
    }

    #[test]
    fn check_extract_flags_unknown_groups() {
        assert!(check_extract(r"^(?P<ts>\d+)$", "$ts").is_ok());
        // elliottpope/homecloud's `extract: version`: no `$`, every tag the word.
        let err = check_extract(r"^(?P<version>\d+\.\d+\.\d+)$", "version").unwrap_err();
        assert!(
            matches!(&err, PolicyError::InvalidExtract { reason } if reason.contains("`$version`")),
            "{err:?}"
        );
        let err = check_extract(r"^(\d+)$", "$ts-$2").unwrap_err();
        assert!(matches!(err, PolicyError::InvalidExtract { .. }), "{err:?}");
        assert!(err.to_string().contains("$ts, $2"));
    }

    mod order_independence {
        use super::*;
        use proptest::prelude::*;

        fn tag() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "v1.0.0",
                    "1.0.0",
                    "1.0.0+build.2",
                    "1.0.0+build.10",
                    "1.0.0-rc9",
                    "1.0.0-rc10",
                    "v2.1.0-rc.1",
                    "2.1.0",
                    "01.2.3",
                    "2025.02.03",
                    "2025.2.3",
                    "v2025.2.03",
                    "1.2-rc.1",
                    "latest",
                    "x.sig",
                    "5",
                    "NaN",
                    "1e3",
                    "1_000",
                    "0x10",
                    "main-9",
                    "main-10",
                    "main-abc-1700000000",
                    "main-def-1700000000",
                    "release-5.2.6.8376",
                ])
                .prop_map(str::to_string),
                "[a-z0-9v.+-]{1,8}",
                (0u8..4, 0u8..4, 0u8..4).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
                (0u8..4, 0u8..4).prop_map(|(a, b)| format!("main-{a}-{b}")),
            ]
        }

        fn policies() -> Vec<PolicySpec> {
            vec![
                semver_spec(">=1.0.0-0"),
                semver_spec("*"),
                semver_in(">=1.0.0-0", TagGrammar::Loose),
                semver_in("*", TagGrammar::Loose),
                filtered(semver_spec("*"), r"^v?(?P<v>\d+\.\d+\.\d+)", "$v"),
                spec(Choice::Alphabetical { order: Order::Asc }),
                spec(Choice::Alphabetical { order: Order::Desc }),
                filtered(
                    spec(Choice::Alphabetical { order: Order::Desc }),
                    r"^main-(\d)",
                    "$1",
                ),
                spec(Choice::Numerical { order: Order::Asc }),
                filtered(
                    spec(Choice::Numerical { order: Order::Asc }),
                    r"-(\d+)$",
                    "$1",
                ),
                filtered(
                    spec(Choice::Numerical { order: Order::Desc }),
                    r"^main-(\d+)-(\d+)",
                    "$2",
                ),
            ]
        }

        fn summary(
            e: &Evaluation,
        ) -> (
            Option<String>,
            Option<String>,
            std::collections::BTreeMap<String, CandidateReport>,
        ) {
            let map = e
                .candidates
                .iter()
                .map(|c| (c.tag.clone(), c.clone()))
                .collect();
            (e.latest.clone(), e.error.clone(), map)
        }

        proptest! {
            #[test]
            fn selection_ignores_input_order(
                (list, shuffled) in prop::collection::vec(tag(), 0..24)
                    .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
            ) {
                for s in policies() {
                    let p = compile(&s);
                    let a = p.evaluate(&list);
                    let b = p.evaluate(&shuffled);
                    prop_assert_eq!(summary(&a), summary(&b));
                    prop_assert_eq!(p.latest(&shuffled), a.latest.clone());
                    // A tag's own fate agrees with the one-tag classifier.
                    for c in &a.candidates {
                        let expected = match c.outcome {
                            Outcome::Collapsed => continue,
                            Outcome::Latest => Outcome::Candidate,
                            ref o => o.clone(),
                        };
                        prop_assert_eq!(p.classify(&c.tag), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn ranks_above_ignores_the_range_and_exclusions_but_not_the_filter() {
        let semver = compile(&filtered(semver_spec("<2.0.0"), "^v?[0-9.]+$", ""));
        assert!(
            semver.ranks_above("2.0.0", "1.9.0"),
            "out of range, still higher"
        );
        assert!(!semver.ranks_above("1.9.0", "2.0.0"));
        assert!(
            !semver.ranks_above("latest", "1.9.0"),
            "filtered out: no value"
        );
        let numerical = compile(&spec(Choice::Numerical { order: Order::Desc }));
        assert!(
            numerical.ranks_above("3", "10"),
            "desc: the smaller ranks above"
        );
        assert!(!numerical.ranks_above("x", "1"));
        let alphabetical = compile(&spec(Choice::Alphabetical { order: Order::Asc }));
        assert!(alphabetical.ranks_above("b", "a"));
        assert!(!alphabetical.ranks_above("a", "a"));
    }
}
