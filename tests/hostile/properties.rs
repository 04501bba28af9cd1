//! Structure-aware fuzzing on the stable toolchain, briefly in every `cargo test`: generated
//! repositories of Flux objects and marked manifests, damaged in the ways real files are (odd
//! markers, wrong types, broken indentation, stray bytes), go through loading, every rule and the
//! rewrite without a panic; splices keep every byte they do not replace. The coverage-guided
//! targets for long runs are in `fuzz/`; an input they find is kept as a test here.

use flux_image_lint::config::Config;
use flux_image_lint::fix::rewrite::{render_scalar, splice};
use flux_image_lint::scan::marker::Placement;
use flux_image_lint::scan::yaml::Style;
use flux_image_lint::source::SourceFile;
use flux_image_lint::source::Span;
use flux_image_lint::workspace::{scan_file, Workspace};
use flux_image_lint::{fix, rules};
use proptest::prelude::*;

/// A scalar as YAML files hold them: tags, versions, numbers, booleans, odd strings.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9._-]{0,12}",
        "v?[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9]{1,2})?(-rc\\.[0-9])?",
        Just("1.10".to_string()),
        Just("yes".to_string()),
        Just("~".to_string()),
        Just("''".to_string()),
        Just("\"a: b\"".to_string()),
        Just("[1, 2]".to_string()),
        Just("{a: 1}".to_string()),
        "\\PC{0,8}",
    ]
}

/// A marker comment: valid, nearly valid, or junk that mentions `$imagepolicy`.
fn marker() -> impl Strategy<Value = String> {
    let reference = prop_oneof![
        "[a-z-]{1,8}:[a-z-]{1,8}",
        "[a-z-]{1,8}:[a-z-]{1,8}:(tag|name|digest)",
        Just("flux-system:app".to_string()),
        "\\PC{0,10}",
    ];
    (reference, 0u8..6).prop_map(|(reference, form)| match form {
        0 => format!("# {{\"$imagepolicy\": \"{reference}\"}}"),
        1 => format!("# {{\"$imagepolicy\":\"{reference}\"}}"),
        2 => format!("#{{\"$imagepolicy\": \"{reference}\""),
        3 => format!("# {{\"$imagepolicy\": {reference}}}"),
        4 => format!("# {{\"$ref\": \"#/definitions/io.k8s.cli.setters.{reference}\"}}"),
        _ => format!("# $imagepolicy {reference}"),
    })
}

/// One Flux image object, some fields of the wrong type or missing.
fn flux_object() -> impl Strategy<Value = String> {
    (
        0u8..3,
        "[a-z-]{1,8}",
        prop::option::of("[a-z-]{1,8}"),
        scalar(),
        scalar(),
        0u8..4,
    )
        .prop_map(|(kind, name, namespace, image, range, policy)| {
            let namespace = namespace.map_or(String::new(), |n| format!("  namespace: {n}\n"));
            match kind {
                0 => format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: {name}\n{namespace}spec:\n  image: ghcr.io/org/{image}\n  interval: 5m\n"),
                1 => {
                    let policy = match policy {
                        0 => format!("semver:\n      range: '{range}'"),
                        1 => "alphabetical:\n      order: asc".to_string(),
                        2 => "numerical: {}".to_string(),
                        _ => format!("semver: {range}"),
                    };
                    format!("apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata:\n  name: {name}\n{namespace}spec:\n  imageRepositoryRef:\n    name: {image}\n  filterTags:\n    pattern: '^{range}(?P<v>.*)$'\n    extract: '$v'\n  policy:\n    {policy}\n")
                }
                _ => format!("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: {name}\n{namespace}spec:\n  update:\n    path: ./{image}\n    strategy: Setters\n"),
            }
        })
}

/// A manifest with marked values at various places.
fn manifest() -> impl Strategy<Value = String> {
    prop::collection::vec((scalar(), marker(), 0u8..4), 1..6).prop_map(|lines| {
        let mut text =
            String::from("apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n");
        for (value, marker, place) in lines {
            text.push_str(&match place {
                0 => format!("    - image: ghcr.io/org/app:{value} {marker}\n"),
                1 => format!("    - name: {value} {marker}\n"),
                2 => format!("  tag: {value} {marker}\n"),
                _ => format!("    {marker}\n    - image: {value}\n"),
            });
        }
        text
    })
}

/// Damage of the kind real files carry.
fn damage() -> impl Strategy<Value = Option<(usize, Vec<u8>)>> {
    prop::option::of((
        0usize..10_000,
        prop_oneof![
            Just(b"\t".to_vec()),
            Just(b"  ".to_vec()),
            Just(b"\n---\n".to_vec()),
            Just(b": :".to_vec()),
            Just(b"\xe9".to_vec()),
            Just(b"\x00".to_vec()),
            Just(b"\xef\xbb\xbf".to_vec()),
            Just(b"{{ .Values.x }}".to_vec()),
            Just(b"&a *a".to_vec()),
            prop::collection::vec(any::<u8>(), 1..8),
        ],
    ))
}

fn damaged(text: String, damage: &Option<(usize, Vec<u8>)>) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    if let Some((at, insert)) = damage {
        let at = at % (bytes.len() + 1);
        bytes.splice(at..at, insert.iter().copied());
    }
    bytes
}

proptest! {
    // Brief in CI; `PROPTEST_CASES=20000` for a long run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    /// Loading, every rule and the plan over a generated, damaged repository: no panic, and
    /// every diagnostic lies within its file.
    #[test]
    fn repositories_load_check_and_plan_without_panicking(
        objects in prop::collection::vec(flux_object(), 0..6),
        manifests in prop::collection::vec(manifest(), 1..4),
        damages in prop::collection::vec(damage(), 4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("objects.yaml"),
            damaged(objects.join("---\n"), &damages[0]),
        ).unwrap();
        for (i, manifest) in manifests.into_iter().enumerate() {
            std::fs::write(
                dir.path().join(format!("app{i}.yaml")),
                damaged(manifest, &damages[1 + i % 3]),
            ).unwrap();
        }
        let config = Config::default();
        let workspace = Workspace::load(dir.path(), &config, 1).unwrap();
        let (diagnostics, _) = rules::run(&workspace, &config, None, None);
        for d in &diagnostics {
            let file = workspace.files.iter().find(|f| f.source.path == d.file).unwrap();
            prop_assert!(d.byte_start <= d.byte_end && d.byte_end <= file.source.text().len().max(1));
        }
        // Every marker Flux would apply, set to a new tag: the rewrite never panics and only
        // the marked scalars' bytes change.
        let latest = workspace
            .files
            .iter()
            .enumerate()
            .flat_map(|(index, f)| f.markers.markers.iter().map(move |m| (index, m)))
            .filter_map(|(index, m)| {
                let (policy, _) = workspace.marker_policy(index, &m.setter.policy)?;
                Some((
                    fix::ClusterPolicy::of(&workspace.index, policy, m.setter.policy.clone()),
                    fix::Latest { name: "ghcr.io/org/app".into(), tag: "2.0.0".into(), digest: None },
                ))
            })
            .collect();
        let changes = fix::plan(&workspace, &latest);
        for (file, text) in fix::new_texts(&workspace, &changes) {
            let old = &workspace.files[file];
            let new = scan_file(SourceFile::new(old.source.path.clone(),text));
            // Still YAML, the same markers, each changed one holding its new value.
            prop_assert!(new.yaml.is_ok(), "{:?}\n{}", new.yaml, new.source.text());
            prop_assert_eq!(new.markers.markers.len(), old.markers.markers.len());
            let mut expected: Vec<&str> = changes.iter().filter(|c| c.file == file).map(|c| c.new.as_str()).collect();
            let mut found: Vec<&str> = new.markers.markers.iter().filter_map(|m| match &m.placement {
                Placement::Applied(value) if expected.contains(&value.value.as_str()) => Some(value.value.as_str()),
                _ => None,
            }).collect();
            expected.sort();
            found.sort();
            prop_assert_eq!(found, expected, "{}", new.source.text());
        }
    }

    /// A splice copies every byte outside its spans, whatever the bytes are.
    #[test]
    fn splices_keep_every_other_byte(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec((0usize..200, 0usize..8, "[a-z0-9.\"']{0,6}"), 0..5),
    ) {
        let mut spans: Vec<(Span, String)> = Vec::new();
        let mut at = 0;
        let mut sorted = cuts.clone();
        sorted.sort();
        for (start, len, replacement) in sorted {
            let start = start.min(bytes.len()).max(at);
            let end = (start + len).min(bytes.len());
            spans.push((Span::new(start, end), replacement));
            at = end;
        }
        let edits: Vec<(Span, &str)> = spans.iter().map(|(s, r)| (*s, r.as_str())).collect();
        let out = splice(&bytes, &edits);
        let mut rebuilt = Vec::new();
        let mut at = 0;
        for (span, replacement) in &spans {
            rebuilt.extend_from_slice(&bytes[at..span.start]);
            rebuilt.extend_from_slice(replacement.as_bytes());
            at = span.end;
        }
        rebuilt.extend_from_slice(&bytes[at..]);
        prop_assert_eq!(out, rebuilt);
    }

    /// Any value in any style renders as one scalar on one line: no newline, no comment start,
    /// no unquoted `: `, so a rewrite cannot add a key, a line or a marker.
    #[test]
    fn rendered_scalars_stay_on_their_line(value in "\\PC{0,20}|[\\x00-\\x7f]{0,20}", style in 0u8..3) {
        let style = [Style::Plain, Style::SingleQuoted, Style::DoubleQuoted][style as usize];
        let rendered = render_scalar(style, &value);
        prop_assert!(!rendered.contains('\n') && !rendered.contains('\r'), "{rendered:?}");
        let quoted = rendered.starts_with('"') || rendered.starts_with('\'');
        prop_assert!(quoted || (!rendered.contains(" #") && !rendered.contains(": ")), "{rendered:?}");
    }
}
