//! `list_tags_many` over 50 repositories × 500 tags each on a local `docker-registry`
//! (127.0.0.1, plain HTTP, no cache): must take under 2 seconds.
//!
//! Run with `cargo bench --bench registry`. Each repository is pushed through the registry API
//! (blobs + manifest); its other 499 tags are laid into the registry's filesystem storage the
//! way distribution stores them, which is what `GET /v2/<name>/tags/list` reads.

#[path = "../tests/support/registry.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use flux_image_lint::registry::{Registry, RegistryOptions, TagRequest};
use support::{DockerRegistry, Kind};

const REPOSITORIES: usize = 50;
const TAGS: usize = 500;

fn seed() -> (DockerRegistry, Vec<TagRequest>) {
    let registry = DockerRegistry::start(Kind::Plain);
    let mut requests = Vec::new();
    for r in 0..REPOSITORIES {
        let repository = format!("bench/app{r:02}");
        let (_, digest) = registry.push_image(&repository, "0.0.0");
        let tags: Vec<String> = (1..TAGS)
            .map(|i| format!("{}.{}.{}", i / 100, (i / 10) % 10, i % 10))
            .collect();
        registry.tag_on_disk(&repository, &digest, &tags);
        requests.push(TagRequest::new(registry.image(&repository)));
    }
    (registry, requests)
}

fn client() -> Registry {
    Registry::new(RegistryOptions {
        timeout: Duration::from_secs(10),
        cache: None,
        docker_config: Some(PathBuf::from(
            "/nonexistent/flux-image-lint-bench/config.json",
        )),
        ..Default::default()
    })
    .unwrap()
}

fn fetch_all(requests: &[TagRequest]) {
    // A new client each time: scheme discovery and connections are part of the cost.
    let results = client().list_tags_many(requests);
    for result in results {
        assert_eq!(result.unwrap().tags.len(), TAGS);
    }
}

fn main() {
    let (_registry, requests) = seed();

    // The requirement, checked on one cold run (also when run as a test).
    let start = Instant::now();
    fetch_all(&requests);
    let elapsed = start.elapsed();
    println!(
        "list_tags_many: {REPOSITORIES} repositories × {TAGS} tags in {:.0} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "list_tags_many took {elapsed:?}, more than 2 s"
    );

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    criterion.bench_function("list_tags_many 50x500 (local docker-registry)", |b| {
        b.iter(|| fetch_all(&requests))
    });
    criterion.final_summary();
}
