//! Post-verification passes (placeholder until the pass lands).
