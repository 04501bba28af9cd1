//! Defect 1: bytes in, bytes out. A file that is not UTF-8 is a `yaml-syntax` error at its first
//! invalid byte and `--fix` never rewrites it; every other byte of a rewritten file is kept.

use crate::harness::{Repo, DEPLOY};

#[test]
fn a_latin1_byte_is_a_yaml_error_at_its_position_and_fix_leaves_the_file_alone() {
    let repo = Repo::new();
    let mut bytes = DEPLOY.as_bytes().to_vec();
    // `# café` in Latin-1 on line 4, after `  name: app `.
    let at = DEPLOY.find("name: app\n").unwrap() + "name: app".len();
    bytes.splice(at..at, b" # caf\xe9".iter().copied());
    std::fs::write(repo.path("deploy.yaml"), &bytes).unwrap();

    let check = repo.check(&["--format", "json"]);
    assert_eq!(check.sane(), 1, "{check:#?}");
    let report: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["rule"], "yaml-syntax");
    assert_eq!(diagnostic["file"], "deploy.yaml");
    assert_eq!(
        (diagnostic["line"].as_u64(), diagnostic["column"].as_u64()),
        (Some(4), Some(18))
    );
    let message = diagnostic["message"].as_str().unwrap();
    assert!(message.contains("not valid UTF-8 (byte 0xE9)"), "{message}");

    let fix = repo.fix(&[]);
    assert_eq!(fix.sane(), 1, "{fix:#?}");
    assert_eq!(
        std::fs::read(repo.path("deploy.yaml")).unwrap(),
        bytes,
        "not one byte changed"
    );
    assert!(fix.stdout.contains("no changes"), "{fix:#?}");
}

#[test]
fn a_rewrite_keeps_every_byte_outside_the_marked_scalar() {
    let repo = Repo::new();
    // A BOM, CRLF line endings, a non-ASCII comment and no newline at the end.
    let original = format!("\u{feff}# ünïcode — ok\r\n{}", DEPLOY.replace('\n', "\r\n"));
    let original = original.trim_end().to_string();
    std::fs::write(repo.path("deploy.yaml"), &original).unwrap();
    let fix = repo.fix(&[]);
    assert_eq!(fix.sane(), 0, "{fix:#?}");
    let after = std::fs::read(repo.path("deploy.yaml")).unwrap();
    assert_eq!(
        after,
        original.replace("app:1.0.0", "app:1.2.0").into_bytes()
    );
}

#[test]
fn utf16_files_are_skipped_as_flux_skips_them() {
    let repo = Repo::new();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(DEPLOY.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(repo.path("deploy.yaml"), &utf16).unwrap();
    let fix = repo.fix(&[]);
    // Flux's byte search for `$imagepolicy` cannot match UTF-16: the marker is never applied,
    // and the policy is unused.
    fix.exits_reporting(0, "no changes");
    assert_eq!(std::fs::read(repo.path("deploy.yaml")).unwrap(), utf16);
}
