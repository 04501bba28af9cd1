//! Placeholder: the policy engine is being written.
