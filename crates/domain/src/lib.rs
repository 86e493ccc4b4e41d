//! Abstract domain (placeholder until it lands).
#![no_std]
#![forbid(unsafe_code)]
