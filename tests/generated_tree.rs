//! The benchmark generator's trees (`benches/support/tree.rs`) through the built binary: a
//! realistic repository at scale lints clean, and its tag snapshot moves every marked tag on.

mod support;

#[path = "../benches/support/tree.rs"]
mod tree;

use support::{json, run};

#[test]
fn generated_tree_lints_clean_and_fixes_from_its_snapshot() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let summary = tree::generate(
        root,
        &tree::TreeSpec {
            files: 1_000,
            markers: 250,
            seed: tree::DEFAULT_SEED,
        },
    )
    .unwrap();
    assert_eq!((summary.yaml_files, summary.markers), (1_000, 250));
    let root_arg = root.to_str().unwrap();

    let report = json(&run(&["check", "--format", "json", root_arg], root));
    assert_eq!(report["diagnostics"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["summary"]["files_scanned"], 1_000);
    assert_eq!(report["summary"]["markers"], 250);
    assert_eq!(report["summary"]["policies"], summary.policies);

    let tags = root.join("tags.json");
    let fix = [
        "check",
        "--fix",
        "--format",
        "json",
        "--tags-file",
        tags.to_str().unwrap(),
    ];
    let fixed = run(&[&fix[..], &[root_arg]].concat(), root);
    assert!(fixed.status.success(), "{fixed:?}");
    let changes = json(&fixed)["changes"].as_array().unwrap().clone();
    assert!(changes.len() > 200, "{} changes", changes.len());
    for change in &changes {
        let old = change["old"].as_str().unwrap();
        let new = change["new"].as_str().unwrap();
        let (old_tag, new_tag) = (old.rsplit(':').next(), new.rsplit(':').next());
        assert_eq!(
            new_tag.map(str::to_string),
            old_tag.map(tree::newer_tag),
            "{change}"
        );
    }

    let after = json(&run(&["check", "--format", "json", root_arg], root));
    assert_eq!(after["diagnostics"], serde_json::json!([]), "{after:#}");
    let again = run(&[&fix[..], &["--dry-run", root_arg]].concat(), root);
    assert_eq!(json(&again)["changes"], serde_json::json!([]));
}
