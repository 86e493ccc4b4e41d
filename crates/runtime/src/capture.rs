//! Packet captures (placeholder).
