//! Any bytes as a YAML file: scanning (YAML events, comments, markers, placement) never panics,
//! and rewriting every applied marker's scalar keeps the file YAML with the same markers.
#![no_main]

use flux_image_lint::fix::rewrite::{render_scalar, splice};
use flux_image_lint::scan::marker::Placement;
use flux_image_lint::source::{SourceFile, Span};
use flux_image_lint::workspace::scan_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = scan_file(SourceFile::new(
        "f.yaml".into(),
        "f.yaml".into(),
        text.to_string(),
    ));
    let edits: Vec<(Span, String)> = file
        .markers
        .markers
        .iter()
        .filter_map(|marker| match &marker.placement {
            Placement::Applied(value) => {
                Some((value.span, render_scalar(value.style, "1.2.3-rc.1")))
            }
            _ => None,
        })
        .collect();
    if edits.is_empty() || file.yaml.is_err() {
        return;
    }
    let borrowed: Vec<(Span, &str)> = edits.iter().map(|(s, r)| (*s, r.as_str())).collect();
    let new = String::from_utf8(splice(text.as_bytes(), &borrowed)).expect("text stays UTF-8");
    let rescanned = scan_file(SourceFile::new(
        "f.yaml".into(),
        "f.yaml".into(),
        new.clone(),
    ));
    assert!(rescanned.yaml.is_ok(), "a rewrite broke the YAML:\n{new}");
    assert_eq!(
        rescanned.markers.markers.len(),
        file.markers.markers.len(),
        "a rewrite changed the markers:\n{new}"
    );
});
