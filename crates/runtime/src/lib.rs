//! The ebpfvm runtime.
#![deny(missing_docs)]

pub mod capture;
