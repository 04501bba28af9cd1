//! Reading YAML for the rest of the tool: the span-carrying tree (`yaml`), the `$imagepolicy`
//! markers found in its comments with the scalar each annotates and whether Flux would apply it
//! (`marker`). Knows nothing of policies.

pub mod marker;
pub mod yaml;

/// What opens an ignore comment (`# flux-image-lint: ignore[rule]`): the scan notes the files
/// that hold it, the only ones whose texts the rules search.
pub const SUPPRESSION_PREFIX: &str = "flux-image-lint:";
