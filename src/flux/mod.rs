//! The Flux model: typed ImageRepository / ImagePolicy / ImageUpdateAutomation objects read from
//! YAML trees, image references and their canonical form, and an index by kind/namespace/name
//! with source spans. Knows nothing of the file system.

pub mod image;
