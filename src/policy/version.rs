//! Strict tag versions and SemVer precedence, as Flux applies them to tags.
//!
//! Flux (`fluxcd/pkg/version.ParseVersion`) removes at most ONE leading `v` and
//! then demands a strict SemVer 2.0 string (Masterminds `StrictNewVersion`):
//! anything looser (`v1.2`, `01.2.3`, `1.0.0-rc.01`, `V1.2.3`) is silently
//! skipped by the semver policy. The `semver` crate's parser accepts exactly the
//! strict SemVer 2.0 grammar, so it is reused for parsing.
//!
//! Precedence is NOT `semver::Version`'s `Ord`: that one orders build metadata,
//! which SemVer precedence (and Masterminds `Compare`) ignores. Ties between
//! `1.0.0+a` and `1.0.0+b` must stay ties so the selection's iteration-order
//! tie rule can decide, as it does in Flux. Masterminds also treats a numeric
//! prerelease identifier that does not fit in a u64 as alphanumeric; that quirk
//! is kept so huge numeric identifiers order as Flux orders them.

use std::cmp::Ordering;

/// Masterminds v3.5 refuses longer version strings (Flux's `ParseVersion`
/// also runs the lenient parser on the whole tag, so the limit applies).
pub(crate) const MAX_VERSION_LEN: usize = 256;

/// Strict SemVer after removing one leading `v` (Flux's tag rule).
pub fn parse_tag_version(tag: &str) -> Option<semver::Version> {
    if tag.len() > MAX_VERSION_LEN {
        return None;
    }
    let rest = tag.strip_prefix('v').unwrap_or(tag);
    semver::Version::parse(rest).ok()
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
pub(crate) fn go_parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        parse_tag_version(s).unwrap_or_else(|| panic!("{s} should parse"))
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
                parse_tag_version(ok).is_some(),
                "{ok} should be strict semver"
            );
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
            assert!(parse_tag_version(bad).is_none(), "{bad} must be skipped");
        }
        // git-describe shapes are valid prereleases.
        assert!(parse_tag_version("2.0.330-63-gc1cfb6864").is_some());
    }

    #[test]
    fn versions_longer_than_256_bytes_are_skipped() {
        let ok = format!("1.0.0+{}", "a".repeat(250));
        assert_eq!(ok.len(), 256);
        assert!(parse_tag_version(&ok).is_some());
        assert!(parse_tag_version(&format!("{ok}b")).is_none());
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
                prop_assert_eq!(parse_tag_version(&format!("v{a}")), parse_tag_version(&a));
                prop_assert_eq!(parse_tag_version(&format!("vv{a}")), None);
            }
        }
    }
}
