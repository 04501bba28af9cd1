//! Reading YAML for the rest of the tool: the span-carrying tree (`yaml`), the `$imagepolicy`
//! markers found in its comments with the scalar each annotates and whether Flux would apply it
//! (`marker`). Knows nothing of policies.

pub mod marker;
pub mod yaml;
