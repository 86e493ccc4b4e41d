//! The contract shared by ebpfvm's execution engines, verifier and runtime.
//!
//! Data and tiny helpers only: the [`Trap`] enum every engine reports faults with, the
//! [`limits`] every stage enforces, and the [`HelperHost`] trait through which the
//! interpreter and JIT call helper functions without depending on their implementations.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod host;
pub mod limits;
mod trap;

pub use host::{HelperHost, NoHelpers};
pub use trap::Trap;
