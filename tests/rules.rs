//! Each rule has a fixture that triggers it and one that shows it silent, checked through the
//! built binary against golden JSON.

mod support;

use support::{assert_golden, json, repo_dir, run, stdout};

#[test]
fn every_rule_has_a_triggering_and_a_silent_fixture() {
    let rules_dir = repo_dir().join("fixtures/rules");
    let listed = stdout(&run(&["rules"], &repo_dir()));
    let ids: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(ids.len() >= 20, "{listed}");
    for id in ids {
        let dir = rules_dir.join(id);
        for variant in ["triggers", "silent"] {
            let case = dir.join(variant);
            assert!(
                case.is_dir(),
                "rule `{id}` has no fixture {}",
                case.display()
            );
            let output = run(
                &["check", case.to_str().unwrap(), "--format", "json"],
                &repo_dir(),
            );
            assert_golden(
                &dir.join(format!("{variant}.expected.json")),
                &stdout(&output),
            );
            let report = json(&output);
            let rules_found: Vec<&str> = report["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["rule"].as_str().unwrap())
                .collect();
            let has_error = report["summary"]["errors"].as_u64().unwrap() > 0;
            assert_eq!(
                output.status.code(),
                Some(if has_error { 1 } else { 0 }),
                "{id}/{variant}"
            );
            if variant == "triggers" {
                assert!(
                    rules_found.contains(&id),
                    "{id} does not trigger: {rules_found:?}"
                );
            } else {
                assert!(
                    rules_found.is_empty(),
                    "{id}/silent reports {rules_found:?}"
                );
            }
        }
    }
}
