//! Credentials from environment variables, and the Docker config from `$DOCKER_CONFIG`. One test
//! in its own binary: it changes the process environment, which no other test may share.

#[path = "support/registry.rs"]
mod support;

use std::time::Duration;

use flux_image_lint::registry::{
    default_docker_config, env_prefix, Registry, RegistryError, RegistryOptions, TagRequest,
};
use support::{DockerRegistry, Kind, PASSWORD, USER};

#[test]
fn env_vars_take_precedence_over_the_docker_config_from_docker_config_dir() {
    let registry = DockerRegistry::start(Kind::Htpasswd);
    registry.push_image("team/app", "1.0.0");
    let image = registry.image("team/app");
    let prefix = env_prefix(&registry.host());
    assert_eq!(
        prefix,
        format!("FLUX_IMAGE_LINT_REGISTRY_127_0_0_1_{}", registry.port)
    );

    // $DOCKER_CONFIG/config.json with the right credentials, no env vars: Basic auth works.
    let dir = tempfile::tempdir().unwrap();
    support::docker_config(
        dir.path(),
        &support::auths_config(&registry.host(), USER, PASSWORD),
    );
    std::env::set_var("DOCKER_CONFIG", dir.path());
    assert_eq!(
        default_docker_config(),
        Some(dir.path().join("config.json"))
    );
    let options = || RegistryOptions {
        timeout: Duration::from_secs(10),
        cache: None,
        ..Default::default()
    };
    let client = Registry::new(options()).unwrap();
    let tags = client.list_tags(&TagRequest::new(image.clone())).unwrap();
    assert_eq!(tags.tags, ["1.0.0"]);

    // Wrong env credentials win over the right config: 401 naming the env vars, no password.
    std::env::set_var(format!("{prefix}_USERNAME"), USER);
    std::env::set_var(format!("{prefix}_PASSWORD"), "wrong-password");
    let client = Registry::new(options()).unwrap();
    let err = client
        .list_tags(&TagRequest::new(image.clone()))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&format!("{prefix}_USERNAME")), "{text}");
    assert!(
        !text.contains("wrong-password") && !text.contains(PASSWORD),
        "{text}"
    );

    // Right env credentials over a config with wrong ones.
    support::docker_config(
        dir.path(),
        &support::auths_config(&registry.host(), USER, "wrong-password"),
    );
    std::env::set_var(format!("{prefix}_PASSWORD"), PASSWORD);
    let client = Registry::new(options()).unwrap();
    let tags = client.list_tags(&TagRequest::new(image)).unwrap();
    assert_eq!(tags.tags, ["1.0.0"]);

    // Docker Hub: INDEX_DOCKER_IO, or DOCKER_IO as an alias.
    use flux_image_lint::registry::credentials::CredentialStore;
    std::env::set_var("FLUX_IMAGE_LINT_REGISTRY_DOCKER_IO_USERNAME", "hub-user");
    std::env::set_var("FLUX_IMAGE_LINT_REGISTRY_DOCKER_IO_PASSWORD", "hub-pass");
    let store = CredentialStore::new(None, None, Duration::from_secs(5));
    let found = store.lookup("index.docker.io");
    assert_eq!(found.credential.unwrap().username, "hub-user");
    assert!(found
        .source
        .contains("FLUX_IMAGE_LINT_REGISTRY_DOCKER_IO_USERNAME"));
    std::env::set_var(
        "FLUX_IMAGE_LINT_REGISTRY_INDEX_DOCKER_IO_USERNAME",
        "canonical",
    );
    std::env::set_var("FLUX_IMAGE_LINT_REGISTRY_INDEX_DOCKER_IO_PASSWORD", "x");
    let store = CredentialStore::new(None, None, Duration::from_secs(5));
    assert_eq!(
        store.lookup("index.docker.io").credential.unwrap().username,
        "canonical"
    );
}
