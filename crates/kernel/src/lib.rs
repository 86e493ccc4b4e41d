//! The kernel oracle (placeholder until it lands).
