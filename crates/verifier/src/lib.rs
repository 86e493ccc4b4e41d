//! The verifier (placeholder until it lands).
