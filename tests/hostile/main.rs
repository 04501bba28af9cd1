//! Hostile inputs through the built binary: each defect of the adversarial review reproduced, and
//! every run held to the same bar: exit 0, 1 or 2 (never a panic's 101 or a signal), the message
//! that names the source, and a peak resident set under 256 MB (measured with `wait4`).

#[path = "../support/registry.rs"]
mod registry_support;
#[path = "../support/mod.rs"]
mod support;

mod bytes;
mod git;
mod harness;
mod limits;
mod long_lines;
mod output;
mod properties;
mod registry;
mod signals;
