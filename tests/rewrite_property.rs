//! Property: a rewrite changes only the marked scalars' bytes, and each rewritten scalar reads
//! back as exactly the new value, as a string, whatever its quote style and line endings.

use flux_image_lint::fix::rewrite::{render_scalar, splice};
use flux_image_lint::scan::marker::{find_markers, Placement};
use flux_image_lint::scan::yaml::YamlFile;
use flux_image_lint::source::{SourceFile, Span};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    style: u8,
    marked: bool,
    new_value: String,
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9._-]{0,10}",
        "[0-9]{1,2}\\.[0-9]{1,2}",
        "v[0-9]\\.[0-9]{1,2}\\.[0-9]",
        Just("yes".to_string()),
        Just("1e3".to_string()),
        Just("1_000".to_string()),
        "ghcr\\.io/[a-z]{1,5}/[a-z]{1,5}:[a-z0-9.]{1,6}",
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    (tag(), 0u8..3, any::<bool>(), tag()).prop_map(|(value, style, marked, new_value)| Entry {
        value,
        style,
        marked,
        new_value,
    })
}

fn quote(value: &str, style: u8) -> String {
    match style {
        0 => format!("\"{value}\""),
        1 => format!("'{value}'"),
        _ => format!("\"{value}\""),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn only_marked_scalars_change(entries in prop::collection::vec(entry(), 1..12), crlf in any::<bool>(), in_sequence in any::<bool>()) {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from("# header comment");
        text.push_str(newline);
        if in_sequence {
            text.push_str("items:");
            text.push_str(newline);
        }
        for (i, e) in entries.iter().enumerate() {
            // Plain style only where the old value is a plain string in YAML.
            let written = if e.style == 2 && !flux_image_lint::scan::yaml::may_read_as_non_string(&e.value) { e.value.clone() } else { quote(&e.value, e.style) };
            let prefix = if in_sequence { "  - ".to_string() } else { format!("key{i}: ") };
            let comment = if e.marked { " # {\"$imagepolicy\": \"ns:p:tag\"}" } else { " # note" };
            text.push_str(&format!("{prefix}{written}{comment}{newline}"));
        }
        let source = SourceFile::new("t.yaml".into(),text.clone());
        let yaml = YamlFile::parse(&source).unwrap();
        let markers = find_markers(&text, &yaml).markers;
        prop_assert_eq!(markers.len(), entries.iter().filter(|e| e.marked).count());
        let marked: Vec<&Entry> = entries.iter().filter(|e| e.marked).collect();
        let mut edits: Vec<(Span, String)> = Vec::new();
        for (marker, entry) in markers.iter().zip(&marked) {
            let Placement::Applied(value) = &marker.placement else { panic!("placement: {:?}", marker.placement) };
            prop_assert_eq!(&value.value, &entry.value);
            edits.push((value.span, render_scalar(value.style, &entry.new_value)));
        }
        let borrowed: Vec<(Span, &str)> = edits.iter().map(|(s, r)| (*s, r.as_str())).collect();
        let new_text = String::from_utf8(splice(text.as_bytes(), &borrowed)).unwrap();

        // Every byte outside the edited spans is unchanged, in order.
        let mut old_at = 0;
        let mut new_at = 0;
        for (span, replacement) in &edits {
            let unchanged = &text[old_at..span.start];
            prop_assert_eq!(&new_text[new_at..new_at + unchanged.len()], unchanged);
            new_at += unchanged.len() + replacement.len();
            old_at = span.end;
        }
        prop_assert_eq!(&new_text[new_at..], &text[old_at..]);

        // Each rewritten scalar reads back as the new value, and as a string.
        let new_source = SourceFile::new("t.yaml".into(),new_text.clone());
        let new_yaml = YamlFile::parse(&new_source).unwrap();
        let new_markers = find_markers(&new_text, &new_yaml).markers;
        prop_assert_eq!(new_markers.len(), marked.len());
        for (marker, entry) in new_markers.iter().zip(&marked) {
            let Placement::Applied(value) = &marker.placement else { panic!() };
            prop_assert_eq!(&value.value, &entry.new_value);
            prop_assert!(value.is_string, "{} must stay a string", entry.new_value);
        }
    }
}
