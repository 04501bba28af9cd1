//! `check` on a generated repository (`support/tree.rs`, as `scripts/bench` uses at scale):
//! 2,000 YAML files, 500 markers, walked, parsed and linted in-process.

use criterion::{criterion_group, criterion_main, Criterion};
use flux_image_lint::config::Config;
use flux_image_lint::rules;
use flux_image_lint::workspace::Workspace;

#[path = "support/tree.rs"]
mod tree;

const FILES: usize = 2_000;
const MARKERS: usize = 500;

fn check(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    tree::generate(
        temp.path(),
        &tree::TreeSpec {
            files: FILES,
            markers: MARKERS,
            seed: tree::DEFAULT_SEED,
        },
    )
    .unwrap();
    let config = Config::default();
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    for jobs in [1, 2] {
        group.bench_function(
            format!("{FILES} files, {MARKERS} markers, jobs {jobs}"),
            |b| {
                b.iter(|| {
                    let workspace =
                        Workspace::load(temp.path(), &config, jobs).expect("files listed");
                    let (diagnostics, summary) = rules::run(&workspace, &config, None, None);
                    assert_eq!(summary.markers, MARKERS);
                    assert!(diagnostics.is_empty(), "{diagnostics:?}");
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
