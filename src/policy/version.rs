//! Tag versions and SemVer precedence, as Flux's semver policy reads and orders tags.
//!
//! image-reflector-controller's semver policy parses every tag with fluxcd/pkg
//! `version.ParseVersion`, which changed with `version/v0.10.0` (image-reflector-controller
//! v1.0.0, Flux 2.7): see [`TagGrammar`]. A tag it refuses is silently skipped by the policy.
//! Either way the result is a `semver::Version`: the strict grammar is exactly the `semver`
//! crate's, and the loose one differs only in its numbers, so the crate checks the prerelease
//! and build identifiers of both.
//!
//! Precedence is NOT `semver::Version`'s `Ord`: that one orders build metadata,
//! which SemVer precedence (and Masterminds `Compare`) ignores. Ties between
//! `1.0.0+a` and `1.0.0+b` (or, loosely read, `2025.02.03` and `2025.2.3`) must stay ties so
//! the selection's iteration-order tie rule can decide, as it does in Flux. Masterminds also
//! treats a numeric prerelease identifier that does not fit in a u64 as alphanumeric; that
//! quirk is kept so huge numeric identifiers order as Flux orders them.

use std::cmp::Ordering;

/// Masterminds v3.5 refuses longer version strings (Flux's `ParseVersion`
/// also runs the lenient parser on the whole tag, so the limit applies).
const MAX_VERSION_LEN: usize = 256;

/// How a semver policy reads a tag as a version: the two forms of fluxcd/pkg
/// `version.ParseVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagGrammar {
    /// Up to `version/v0.9.0` (image-reflector-controller up to 0.35, Flux up to 2.6): at most
    /// one leading `v` removed, then Masterminds `StrictNewVersion`, strict SemVer 2.0
    /// (`MAJOR.MINOR.PATCH`, no leading zeros). `2022.04.1`, `v1.2`, `V1.2.3` and
    /// `1.0.0-rc.01` are skipped.
    Strict,
    /// From `version/v0.10.0` (image-reflector-controller 1.0, Flux 2.7): the tag must split
    /// into three parts at its dots (`strings.SplitN(v, ".", 3)`), then Masterminds v3.4+
    /// `NewVersion`, which with `CoerceNewVersion` on reads an optional `v`, one to three
    /// numbers with leading zeros allowed (the missing ones 0), and SemVer's prerelease and
    /// build. `2025.02.03` is 2025.2.3 and `1.2-rc.1` is 1.2.0-rc.1; `v1.2`, `1.2.3.4`,
    /// `V1.2.3` and `1.0.0-rc.01` are still skipped.
    Loose,
}

impl TagGrammar {
    /// What a tag must be to be read, for messages.
    pub fn requirement(self) -> &'static str {
        match self {
            TagGrammar::Strict => {
                "strict SemVer, `MAJOR.MINOR.PATCH` after at most one `v`, no leading zeros"
            }
            TagGrammar::Loose => "`MAJOR.MINOR.PATCH` after at most one `v`, leading zeros allowed",
        }
    }
}

/// The version a semver policy reads in `tag`, or `None` when it skips the tag.
pub fn parse_tag_version(tag: &str, grammar: TagGrammar) -> Option<semver::Version> {
    match grammar {
        TagGrammar::Strict if tag.len() <= MAX_VERSION_LEN => {
            semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
        }
        TagGrammar::Strict => None,
        // fluxcd/pkg `ParseVersion` from `version/v0.10.0`: three parts at the dots first.
        TagGrammar::Loose if tag.splitn(3, '.').count() == 3 => coerce_version(tag),
        TagGrammar::Loose => None,
    }
}

/// Masterminds v3.4+ `NewVersion` with `CoerceNewVersion` on (`coerceNewVersion`), as it reads
/// a tag and a range's version: its anchored `looseSemVerRegex`
/// (`v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-PRE)?(\+BUILD)?`, identifiers `[0-9A-Za-z-]+` joined by
/// dots) matches one way only: the numbers end at the first `-` or `+`, the prerelease at the
/// first `+`. Each number goes through `strconv.ParseUint` (ASCII digits that fit a u64; leading
/// zeros allowed, missing ones 0), the prerelease through `validatePrerelease` (no numeric
/// identifier with a leading zero), the build through `validateMetadata`: the `semver` crate's
/// identifier rules.
pub(crate) fn coerce_version(text: &str) -> Option<semver::Version> {
    if text.len() > MAX_VERSION_LEN {
        return None;
    }
    let rest = text.strip_prefix('v').unwrap_or(text);
    let (rest, build) = match rest.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (rest, None),
    };
    let (numbers, pre) = match rest.split_once('-') {
        Some((numbers, pre)) => (numbers, Some(pre)),
        None => (rest, None),
    };
    let mut parts = numbers.split('.');
    let major = go_parse_uint(parts.next()?)?;
    let mut next = || parts.next().map(go_parse_uint);
    let minor = next().unwrap_or(Some(0))?;
    let patch = next().unwrap_or(Some(0))?;
    if next().is_some() {
        return None;
    }
    // In the regex `-` and `+` open at least one identifier; the crate reads "" as none.
    if pre == Some("") || build == Some("") {
        return None;
    }
    Some(semver::Version {
        major,
        minor,
        patch,
        pre: semver::Prerelease::new(pre.unwrap_or("")).ok()?,
        build: semver::BuildMetadata::new(build.unwrap_or("")).ok()?,
    })
}

/// SemVer precedence as Masterminds `Version.Compare` computes it: build metadata
/// ignored, a release above its prereleases.
pub fn compare_precedence(a: &semver::Version, b: &semver::Version) -> Ordering {
    compare_parts(
        (a.major, a.minor, a.patch, a.pre.as_str()),
        (b.major, b.minor, b.patch, b.pre.as_str()),
    )
}

/// Precedence on the components alone; shared with range comparators whose
/// versions are not `semver::Version`s (they are parsed loosely).
pub(crate) fn compare_parts(a: (u64, u64, u64, &str), b: (u64, u64, u64, &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then(a.1.cmp(&b.1))
        .then(a.2.cmp(&b.2))
        .then_with(|| match (a.3.is_empty(), b.3.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_prerelease(a.3, b.3),
        })
}

/// Masterminds `comparePrerelease`: identifier by identifier, a missing
/// identifier (shorter list) sorting first. Also used with one side empty by
/// the `!=` comparator, where `""` is a one-empty-identifier list.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let ord = compare_identifier(x.unwrap_or(""), y.unwrap_or(""));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn compare_identifier(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (go_parse_uint(s), go_parse_uint(o)) {
        (None, None) => s.as_bytes().cmp(o.as_bytes()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// Go `strconv.ParseUint(s, 10, 64)`: ASCII digits only (no sign), must fit.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        parse_tag_version(s, TagGrammar::Strict).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn loose(s: &str) -> Option<semver::Version> {
        parse_tag_version(s, TagGrammar::Loose)
    }

    #[test]
    fn accepts_strict_semver_with_one_optional_v() {
        for ok in [
            "1.2.3",
            "v1.2.3",
            "0.0.0",
            "1.0.0-rc.1",
            "1.0.0-rc9",
            "1.0.0-0",
            "1.0.0--",
            "1.0.0-alpha-1.x",
            "1.0.0+build.001",
            "v2.0.0-beta.2+exp.sha.5114f85",
            "18446744073709551615.0.0",
            "1.0.0-99999999999999999999999",
        ] {
            assert!(
                parse_tag_version(ok, TagGrammar::Strict).is_some(),
                "{ok} should be strict semver"
            );
            assert_eq!(loose(ok), Some(v(ok)), "{ok} reads alike loosely");
        }
    }

    #[test]
    fn rejects_everything_flux_skips() {
        for bad in [
            "v1.2",
            "1",
            "1.2",
            "1.2.3.4",
            "V1.2.3",
            "vv1.2.3",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "2022.04.1",
            "1.0.0-rc.01",
            "1.0.0p",
            "latest",
            "",
            "v",
            "1.0.0-",
            "1.0.0+",
            "1.0.0-rc..1",
            "1.0.0+a..b",
            "1.0.0-ü",
            " 1.0.0",
            "1.0.0 ",
            "18446744073709551616.0.0",
            "release-5.2.6.8376",
            "RELEASE.2025-01-20T14-49-07Z",
            "+1.2.3",
        ] {
            assert!(
                parse_tag_version(bad, TagGrammar::Strict).is_none(),
                "{bad} must be skipped"
            );
        }
        // git-describe shapes are valid prereleases.
        assert!(parse_tag_version("2.0.330-63-gc1cfb6864", TagGrammar::Strict).is_some());
    }

    fn parts(s: &str) -> (u64, u64, u64, String, String) {
        let v = loose(s).unwrap_or_else(|| panic!("{s} should read loosely"));
        (
            v.major,
            v.minor,
            v.patch,
            v.pre.to_string(),
            v.build.to_string(),
        )
    }

    #[test]
    fn loose_reads_leading_zeros_and_missing_parts() {
        let release = |major, minor, patch| (major, minor, patch, String::new(), String::new());
        assert_eq!(parts("2025.02.03"), release(2025, 2, 3));
        assert_eq!(parts("v2025.02.03"), release(2025, 2, 3));
        assert_eq!(parts("01.2.3"), release(1, 2, 3));
        assert_eq!(parts("1.02.3"), release(1, 2, 3));
        assert_eq!(parts("2022.04.1"), release(2022, 4, 1));
        assert_eq!(parts("000.000.000"), release(0, 0, 0));
        // Three parts at the dots, fewer numbers: the dots of the prerelease count.
        assert_eq!(
            parts("1.2-rc.1"),
            (1, 2, 0, "rc.1".to_string(), String::new())
        );
        assert_eq!(
            parts("1-rc.1.2"),
            (1, 0, 0, "rc.1.2".to_string(), String::new())
        );
        assert_eq!(
            parts("1+build.5.6"),
            (1, 0, 0, String::new(), "build.5.6".to_string())
        );
        assert_eq!(
            parts("v2025.02.03-rc.1+sha.0a1"),
            (2025, 2, 3, "rc.1".to_string(), "sha.0a1".to_string())
        );
        // A `-` inside the prerelease or the build is part of it.
        assert_eq!(
            parts("1.2.3-a-b+c-d"),
            (1, 2, 3, "a-b".to_string(), "c-d".to_string())
        );
        assert_eq!(parts("18446744073709551615.0.0"), release(u64::MAX, 0, 0));
    }

    #[test]
    fn loose_still_skips_what_flux_2_7_skips() {
        for bad in [
            "",
            "v",
            "1",
            "1.2",
            "v1.2",
            "1.2-rc1",
            "1.2.3.4",
            "1.2.3.4-rc.1",
            "V1.2.3",
            "vv1.2.3",
            "vv1.2.3-rc.1",
            "1.0.0-rc.01",
            "2025.02.03-01",
            "1.0.0p",
            "1.0.0-",
            "1.0.0+",
            "1.0.0-+b",
            "1.0.0-rc..1",
            "1.0.0-rc.1.",
            "1.0.0+a..b",
            "1.0.0+a+b",
            "1..2",
            "..",
            "1.2.",
            ".1.2",
            "v.1.2",
            "1.2.3-ü",
            "１.2.3",
            " 1.0.0",
            "1.0.0 ",
            "1.0.0\n",
            "-1.2.3",
            "+1.2.3",
            "18446744073709551616.0.0",
            "1.18446744073709551616.0",
            "1.0.018446744073709551616",
            "release-5.2.6.8376",
            "RELEASE.2025-01-20T14-49-07Z",
            "latest",
        ] {
            assert_eq!(loose(bad), None, "{bad:?} must be skipped");
        }
    }

    #[test]
    fn loose_equal_versions_tie() {
        let (a, b) = (loose("2025.02.03").unwrap(), loose("2025.2.3").unwrap());
        assert_eq!(compare_precedence(&a, &b), Ordering::Equal);
        assert_eq!(
            compare_precedence(&loose("1.2-rc.1").unwrap(), &v("1.2.0-rc.1")),
            Ordering::Equal
        );
        assert_eq!(
            compare_precedence(&loose("2025.10.01").unwrap(), &a),
            Ordering::Greater
        );
    }

    #[test]
    fn the_grammars_describe_what_they_read() {
        assert!(TagGrammar::Strict
            .requirement()
            .contains("no leading zeros"));
        assert!(TagGrammar::Loose
            .requirement()
            .contains("leading zeros allowed"));
    }

    #[test]
    fn versions_longer_than_256_bytes_are_skipped() {
        let ok = format!("1.0.0+{}", "a".repeat(250));
        assert_eq!(ok.len(), 256);
        for grammar in [TagGrammar::Strict, TagGrammar::Loose] {
            assert!(parse_tag_version(&ok, grammar).is_some());
            assert!(parse_tag_version(&format!("{ok}b"), grammar).is_none());
        }
    }

    #[test]
    fn precedence_ignores_build_metadata() {
        assert_eq!(
            compare_precedence(&v("1.0.0+build.2"), &v("1.0.0+build.10")),
            Ordering::Equal
        );
        assert_eq!(
            compare_precedence(&v("v1.0.0"), &v("1.0.0")),
            Ordering::Equal
        );
        // semver's Ord would not call these equal: the reason for this module.
        assert_ne!(
            v("1.0.0+build.2").cmp(&v("1.0.0+build.10")),
            Ordering::Equal
        );
    }

    #[test]
    fn prerelease_ordering() {
        let ordered = [
            "1.0.0-0",
            "1.0.0-1",
            "1.0.0-2",
            "1.0.0-10",
            "1.0.0-99999999999999999999999", // too big for u64: alphanumeric
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0-rc.2",
            "1.0.0-rc.10",
            "1.0.0-rc1",
            "1.0.0-rc10",
            "1.0.0-rc9",
            "1.0.0",
            "1.0.1-0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for w in ordered.windows(2) {
            assert_eq!(
                compare_precedence(&v(w[0]), &v(w[1])),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
            assert_eq!(compare_precedence(&v(w[1]), &v(w[0])), Ordering::Greater);
        }
    }

    #[test]
    fn rc9_beats_rc10() {
        assert_eq!(
            compare_precedence(&v("1.0.0-rc9"), &v("1.0.0-rc10")),
            Ordering::Greater
        );
    }

    #[test]
    fn go_parse_uint_rules() {
        assert_eq!(go_parse_uint("0"), Some(0));
        assert_eq!(go_parse_uint("007"), Some(7));
        assert_eq!(go_parse_uint("+7"), None);
        assert_eq!(go_parse_uint(""), None);
        assert_eq!(go_parse_uint("18446744073709551616"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn ident() -> impl Strategy<Value = String> {
            prop_oneof![
                (0u64..1_000_000).prop_map(|n| n.to_string()),
                "[0-9A-Za-z-]{1,6}".prop_filter("not a zero-led number", |s| {
                    !(s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
                }),
            ]
        }

        fn version() -> impl Strategy<Value = String> {
            (
                0u64..4,
                0u64..4,
                0u64..4,
                prop::collection::vec(ident(), 0..3),
                prop::collection::vec("[0-9A-Za-z-]{1,4}", 0..2),
            )
                .prop_map(|(a, b, c, pre, build)| {
                    let mut s = format!("{a}.{b}.{c}");
                    if !pre.is_empty() {
                        s = format!("{s}-{}", pre.join("."));
                    }
                    if !build.is_empty() {
                        s = format!("{s}+{}", build.join("."));
                    }
                    s
                })
        }

        proptest! {
            /// Within u64-sized numeric identifiers Masterminds precedence is
            /// SemVer precedence, i.e. `semver`'s build-blind comparison.
            #[test]
            fn precedence_is_semver_precedence(a in version(), b in version()) {
                let (va, vb) = (v(&a), v(&b));
                prop_assert_eq!(compare_precedence(&va, &vb), va.cmp_precedence(&vb));
            }

            #[test]
            fn one_v_prefix_is_transparent(a in version()) {
                for grammar in [TagGrammar::Strict, TagGrammar::Loose] {
                    let read = |tag: &str| parse_tag_version(tag, grammar);
                    prop_assert_eq!(read(&format!("v{a}")), read(&a));
                    prop_assert_eq!(read(&format!("vv{a}")), None);
                }
            }

            /// Flux 2.7 reads every tag Flux 2.6 reads, as the same version.
            #[test]
            fn loose_reads_strict_versions_alike(a in version()) {
                prop_assert_eq!(loose(&a), Some(v(&a)));
            }

            /// Leading zeros in the numbers change nothing but the tag.
            #[test]
            fn loose_ignores_leading_zeros(a in version(), zeros in prop::collection::vec(0usize..3, 3)) {
                let padded = a
                    .splitn(3, '.')
                    .zip(&zeros)
                    .map(|(part, &n)| format!("{}{part}", "0".repeat(n)))
                    .collect::<Vec<_>>()
                    .join(".");
                prop_assert_eq!(loose(&padded), Some(v(&a)));
            }
        }
    }
}
