//! `check` on a generated repository: 2,000 YAML files (a quarter with markers, policy files,
//! and plain manifests the byte pre-filter skips), walked, parsed and linted.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use flux_image_lint::config::Config;
use flux_image_lint::rules;
use flux_image_lint::workspace::Workspace;

const SERVICES: usize = 500;

fn generate(root: &Path) {
    let policies = root.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let mut text = String::new();
    for i in 0..SERVICES {
        text.push_str(&format!(
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  image: ghcr.io/org/app{i}\n  interval: 12h\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: app{i}\n  filterTags:\n    pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+$'\n  policy:\n    semver:\n      range: \">=1.0.0\"\n"
        ));
    }
    std::fs::write(policies.join("all.yaml"), text).unwrap();
    for i in 0..SERVICES {
        let dir = root.join(format!("apps/ns{}/app{i}", i % 20));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("deployment.yaml"),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/org/app{i}:1.2.{i} # {{\"$imagepolicy\": \"flux-system:app{i}\"}}\n          ports:\n            - containerPort: 8080\n"),
        )
        .unwrap();
        for other in ["service", "configmap", "ingress"] {
            std::fs::write(
                dir.join(format!("{other}.yaml")),
                format!("apiVersion: v1\nkind: {other}\nmetadata:\n  name: app{i}\ndata:\n  key: value\n  more: |\n    some text\n    over lines\n"),
            )
            .unwrap();
        }
    }
}

fn check(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    generate(temp.path());
    let config = Config::default();
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    for jobs in [1, 2] {
        group.bench_function(
            format!("2000 files, {SERVICES} markers, jobs {jobs}"),
            |b| {
                b.iter(|| {
                    let workspace =
                        Workspace::load(temp.path(), &config, jobs).expect("files listed");
                    let (diagnostics, summary) = rules::run(&workspace, &config, None, None);
                    assert_eq!(summary.markers, SERVICES);
                    assert!(diagnostics.is_empty(), "{diagnostics:?}");
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
