//! flux-image-lint: lint and update Flux CD image automation markers.
//!
//! The binary in `main.rs` is a thin shell over this library. Data flows one way:
//! `walk` → `scan` → `flux` (model) → `rules` → `report` for `check`, and
//! `policy` → `fix` → `git` for `--fix`.

pub mod app;
pub mod cli;
pub mod config;
pub mod explain;
pub mod fix;
pub mod flux;
pub mod forge;
pub mod git;
pub mod http;
pub mod impact;
pub mod limits;
pub mod model;
pub mod parallel;
pub mod policy;
pub mod redact;
pub mod registry;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod status;
pub mod tags;
pub mod update;
pub mod walk;
pub mod workspace;
