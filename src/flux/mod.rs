//! The Flux model: typed ImageRepository / ImagePolicy / ImageUpdateAutomation objects read from
//! YAML trees, image references and their canonical form, an index by kind/namespace/name
//! with source spans, and which Flux version runs and what it serves. Knows nothing of the file
//! system.

pub mod automation;
pub mod image;
pub mod index;
pub mod objects;
pub mod operator;
pub mod schema;
pub mod selection;
pub mod sops;
pub mod template;
pub mod versions;

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ImageRepository,
    ImagePolicy,
    ImageUpdateAutomation,
}

impl Kind {
    /// The kind `kind:` names, if an image object's.
    pub fn named(kind: &str) -> Option<Kind> {
        match kind {
            "ImageRepository" => Some(Kind::ImageRepository),
            "ImagePolicy" => Some(Kind::ImagePolicy),
            "ImageUpdateAutomation" => Some(Kind::ImageUpdateAutomation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ImageRepository => "ImageRepository",
            Kind::ImagePolicy => "ImagePolicy",
            Kind::ImageUpdateAutomation => "ImageUpdateAutomation",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
