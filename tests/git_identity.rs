//! Identity from the environment, as git resolves it (`GIT_*` variables override the
//! configuration). A test binary of its own: it changes the process environment.

#[path = "support/git_fixture.rs"]
mod git_fixture;

use flux_image_lint::git::{publish, PublishOutcome};
use git_fixture::*;

#[test]
fn environment_overrides_git_config_like_git() {
    let fx = Fixture::new();
    git(&fx.work, &["config", "user.name", "Config Person"]);
    git(&fx.work, &["config", "user.email", "config@example.org"]);
    git(&fx.work, &["config", "committer.name", "Config Committer"]);
    std::env::set_var("GIT_AUTHOR_NAME", "Env Author");
    std::env::set_var("GIT_COMMITTER_EMAIL", "env-committer@example.org");
    std::env::set_var("GIT_AUTHOR_DATE", "@1768900000 +0100");

    let url = fx.url();
    let changes = vec![("apps/a.yaml".to_string(), b"a: 2\n".to_vec())];
    let mut request = fx.request(&url, &changes);
    request.author = None;
    request.committer = None;
    let outcome = publish(&request).unwrap();
    let PublishOutcome::Pushed { commit, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        fx.remote_git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>|%at %ai", &commit]),
        "Env Author <config@example.org>|Config Committer <env-committer@example.org>|\
         1768900000 2026-01-20 10:06:40 +0100"
    );
}
