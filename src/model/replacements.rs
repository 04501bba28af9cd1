//! A kustomization's `replacements` (kustomize's `ReplacementTransformer`): which objects their
//! targets may change. What they write is not modelled; replacements whose targets all select
//! other kinds than the image objects leave those as the model builds them.

use crate::model::tree::{Node, Value};

/// Whether no replacement written in the kustomization selects an image object (see
/// [`file_spares_image_objects`] for one read from a `path` file).
pub fn written_inline_spare_image_objects(replacements: &Node) -> bool {
    (replacements.items().iter())
        .filter(|replacement| replacement.get("path").is_none())
        .all(targets_spare_image_objects)
}

/// Whether no replacement of a `path` file (one document: a list of replacements, or one)
/// selects an image object.
pub fn file_spares_image_objects(root: &Node) -> bool {
    match &root.value {
        Value::Seq(replacements) => replacements.iter().all(targets_spare_image_objects),
        Value::Map(_) => targets_spare_image_objects(root),
        _ => false,
    }
}

/// Whether each target of a replacement selects a kind other than the image objects', or a
/// group other than theirs. kustomize matches `select` exactly (kustomize 5.5: neither
/// `Image.*` nor `imagepolicy` selects an ImagePolicy); a kind or group with a character no
/// name has is taken to select anything, in case another version reads it as a pattern. A
/// target without `select` selects every object.
fn targets_spare_image_objects(replacement: &Node) -> bool {
    let targets = replacement.get("targets").map_or(&[][..], Node::items);
    !targets.is_empty()
        && targets.iter().all(|target| {
            let Some(select) = target.get("select") else {
                return false;
            };
            let field = |key: &str| match select.get(key) {
                None => Some(""),
                Some(value) => value.str(),
            };
            let (Some(group), Some(kind)) = (field("group"), field("kind")) else {
                return false;
            };
            let plain = |name: &str| {
                (name.bytes()).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
            };
            plain(group)
                && plain(kind)
                && crate::flux::objects::selects_no_image_object(group, kind)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        crate::model::tree::first_document_of(text, 0)
    }

    #[test]
    fn targets_of_other_kinds_spare_the_image_objects() {
        let inline = |targets: &str| {
            let text = format!("- source: {{kind: ConfigMap, name: c, fieldPath: data.v}}\n  targets:\n{targets}- path: file.yaml\n");
            written_inline_spare_image_objects(&root(&text))
        };
        assert!(inline("  - select: {kind: Ingress, name: web}\n    fieldPaths: [spec.tls.0.secretName]\n  - select: {group: apps}\n"));
        // An image kind, no kind nor group, no `select`, a pattern, the image group alone.
        for targets in [
            "  - select: {kind: ImagePolicy}\n",
            "  - select: {kind: Ingress}\n  - select: {name: web}\n",
            "  - reject: [{kind: Ingress}]\n",
            "  - select: {kind: 'Image.*'}\n",
            "  - select: {group: image.toolkit.fluxcd.io}\n",
            "    []\n",
        ] {
            assert!(!inline(targets), "{targets}");
        }
        let one = "source: {kind: ConfigMap, name: c}\ntargets:\n- select: {kind: HelmRelease}\n";
        assert!(file_spares_image_objects(&root(one)));
        assert!(file_spares_image_objects(&root(&format!(
            "- {}",
            one.replace('\n', "\n  ")
        ))));
        assert!(!file_spares_image_objects(&root("just text\n")));
    }
}
