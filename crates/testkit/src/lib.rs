//! Test data runners (in progress).
