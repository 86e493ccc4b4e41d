//! Helper implementations (placeholder until they land).
