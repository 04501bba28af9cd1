//! Defect 6's inputs, held to the common bar (the quadratic spots are the performance issue's,
//! fixed there): a run that hangs is killed by the harness's generous timeout, never timed. And
//! a diagnostic far out on a megabyte-long line, which made the human report panic in miette.

use crate::harness::Repo;

#[test]
fn a_marker_a_megabyte_into_a_line_is_reported_without_a_panic() {
    let repo = Repo::new();
    let long_list: Vec<String> = (0..30_000)
        .map(|i| format!("\"ghcr.io/org/app:1.0.{i}\""))
        .collect();
    std::fs::write(
        repo.path("list.yaml"),
        format!(
            "items: [{}]\nother: [{}y] # {{\"$imagepolicy\": \"flux-system:missing\"}}\n",
            long_list.join(", "),
            "x, ".repeat(40_000)
        ),
    )
    .unwrap();
    let outcome = repo.check(&["--format", "human"]);
    assert_eq!(outcome.sane(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("marker-ignored"),
        "{}",
        &outcome.stdout[..outcome.stdout.len().min(2000)]
    );
    assert!(
        outcome.stdout.len() < 64 * 1024,
        "no megabyte line echoed: {} bytes",
        outcome.stdout.len()
    );
}

#[test]
fn twenty_thousand_diagnostics_in_one_file_render() {
    let repo = Repo::new();
    let mut text = String::from("apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "    - image: ghcr.io/org/app:1.0.{i} # {{\"$imagepolicy\": \"flux-system:missing\"}}\n"
        ));
    }
    std::fs::write(repo.path("many.yaml"), text).unwrap();
    let outcome = repo.check(&["--format", "human"]);
    assert_eq!(outcome.sane(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stdout.ends_with("(1 policy, 1 repository)\n"),
        "{}",
        &outcome.stdout[outcome.stdout.len() - 200..]
    );
}

#[test]
fn a_dry_run_diff_of_forty_thousand_changed_lines_completes() {
    let repo = Repo::new();
    let mut text = String::from("apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n");
    for _ in 0..40_000 {
        text.push_str(
            "    - image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n",
        );
    }
    std::fs::write(repo.path("many.yaml"), text).unwrap();
    let outcome = repo.fix(&["--dry-run"]);
    // A dry run that would change something exits 1.
    outcome.exits_reporting(1, "40001 would change");
}

#[test]
fn a_ten_megabyte_single_line_flow_list_is_checked() {
    let repo = Repo::new();
    let items: Vec<String> = (0..400_000)
        .map(|i| format!("\"ghcr.io/org/app:1.0.{i}\""))
        .collect();
    std::fs::write(
        repo.path("flow.yaml"),
        format!(
            "items: [{}] # {{\"$imagepolicy\": \"flux-system:app\"}}\n",
            items.join(", ")
        ),
    )
    .unwrap();
    let outcome = repo.check(&[]);
    // The marker sits on a flow sequence, where Flux ignores it.
    outcome.exits_reporting(1, "marker-ignored");
}
