//! The ebpfvm runtime: loaded objects with live maps, programs prepared for execution, test
//! runs with Linux-compatible contexts, and packet processing over captures.
//!
//! ```text
//!  Object ──Loaded::load──▶ maps created and initialised, programs relocated,
//!                           CO-RE applied, helpers checked, ctx accesses converted
//!                            │
//!          TestRun ─────────▶ Loaded::test_run ──▶ RunResult (r0, data_out, ctx_out, time)
//!          capture ─────────▶ xdp::run_capture ──▶ per-action counts, passed packets
//! ```
//!
//! Programs run on the interpreter in checked mode (the verifier and JIT come later): every
//! memory access is validated against the run's regions — the stack, the context, the
//! packet, global data and whatever helpers grant (map values, ring-buffer records).
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod capture;
mod core;
mod error;
mod load;
mod run;
pub mod slots;
pub mod verify;
pub mod xdp;

pub use crate::core::vmlinux;
pub use error::{LoadError, RunError};
pub use load::{CoreTarget, LoadOptions, Loaded, LoadedMap, LoadedProgram};
pub use run::{RunResult, TestRun, ETH_HLEN, PT_REGS_SIZE, XDP_HEADROOM, XDP_MAX_FRAME};

pub use ebpfvm_helpers::{Redirect, TraceLog};
