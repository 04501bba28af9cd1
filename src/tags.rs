//! Where tags come from: an offline snapshot file (`--tags-file`), keyed by the
//! ImageRepository's `spec.image` as written, or the registry.

use std::collections::BTreeMap;
use std::path::Path;

/// `{"<spec.image as written>": ["tag", …]}`.
#[derive(Debug, Default, Clone)]
pub struct TagSnapshot {
    pub images: BTreeMap<String, Vec<String>>,
}

impl TagSnapshot {
    pub fn load(path: &Path) -> Result<TagSnapshot, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the tags file {}: {e}", path.display()))?;
        let images: BTreeMap<String, Vec<String>> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: the tags file must be a JSON object mapping each ImageRepository `spec.image` to a list of tags: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        Ok(TagSnapshot { images })
    }

    pub fn tags(&self, image: &str) -> Option<&[String]> {
        self.images.get(image).map(Vec::as_slice)
    }

    pub fn all_tags(&self) -> impl Iterator<Item = &String> {
        self.images.values().flatten()
    }
}
