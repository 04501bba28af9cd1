//! Selection cost on a large repository: 10,000 tags per policy kind.
//! Budget: under 5 ms per selection (the `--fix` path runs one per marker).

use criterion::{criterion_group, criterion_main, Criterion};
use flux_image_lint::policy::{Choice, CompiledPolicy, Order, PolicySpec, TagGrammar};
use std::hint::black_box;

/// Realistic mix: semver with `v`, prereleases, build metadata, CalVer,
/// git-describe, commit-timestamp tags, signatures and junk.
fn tags() -> Vec<String> {
    let mut out = Vec::with_capacity(10_000);
    let mut i: u64 = 0;
    while out.len() < 10_000 {
        let (a, b, c) = (i % 40, (i / 40) % 25, i % 13);
        out.push(match i % 10 {
            0 => format!("v{a}.{b}.{c}"),
            1 => format!("{a}.{b}.{c}-rc.{}", i % 7),
            2 => format!("{a}.{b}.{c}+build.{i}"),
            3 => format!("release-{a}.{b}.{c}.{}", 8000 + i),
            4 => format!(
                "main-{:07x}-{}",
                i * 2_654_435_761 % 0xfff_ffff,
                1_700_000_000 + i * 37
            ),
            5 => format!("sha256-{i:016x}.sig"),
            6 => format!("{}.{:02}.{}", 2020 + a % 6, b % 12 + 1, c),
            7 => format!("{a}.{b}.{c}-{}-g{:07x}", i % 90, i * 31),
            8 => format!("v{a}.{b}"),
            _ => format!("feature-{i}"),
        });
        i += 1;
    }
    out
}

fn spec(choice: Choice, pattern: &str, extract: &str) -> PolicySpec {
    PolicySpec {
        exclusion_list: None,
        filter_pattern: Some(pattern.to_string()),
        extract: Some(extract.to_string()),
        choice,
    }
}

fn bench(c: &mut Criterion) {
    let tags = tags();
    let cases = [
        (
            "semver_range_filter",
            spec(
                Choice::Semver {
                    range: ">=1.2.0-0 <30.0.0 || ~35.x".into(),
                    grammar: TagGrammar::Loose,
                },
                r"^v?\d+\.\d+\.\d+(-rc\.\d+)?(\+.*)?$",
                "",
            ),
        ),
        (
            "alphabetical_filter",
            spec(
                Choice::Alphabetical { order: Order::Asc },
                r"^release-[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$",
                "",
            ),
        ),
        (
            "numerical_extract",
            spec(
                Choice::Numerical { order: Order::Asc },
                r"^main-[a-f0-9]+-(?P<ts>[0-9]+)",
                "$ts",
            ),
        ),
        (
            "semver_no_filter",
            spec(
                Choice::Semver {
                    range: "*".into(),
                    grammar: TagGrammar::Loose,
                },
                "",
                "",
            ),
        ),
    ];
    for (name, s) in &cases {
        let p = CompiledPolicy::compile(s).expect("valid policy");
        assert!(p.latest(&tags).is_some(), "{name} selects something");
        c.bench_function(&format!("latest/{name}/10k"), |b| {
            b.iter(|| p.latest(black_box(&tags)))
        });
        c.bench_function(&format!("evaluate/{name}/10k"), |b| {
            b.iter(|| p.evaluate(black_box(&tags)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
