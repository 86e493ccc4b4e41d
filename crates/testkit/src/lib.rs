//! Data-file runners for ebpfvm (dev only).
//!
//! ```text
//!  .data text ──DataFile::parse──▶ DataFile ──prepare──▶ TestCase ──program──▶ [RawInsn]
//!                                                          │
//!                       Engine::run (interp; jit later) ◀──┘  r1 = mem, r2 = len
//!                                    │
//!                                    ▼  run_case
//!                         Outcome: Pass | Fail | Error | Skip
//! ```
//!
//! [`data`] reads the bpf_conformance `.data` format (`../shared/conformance/README.md`),
//! [`host`] is the suite's helper host (helper 5 returns r1), [`engine`] names the execution
//! engines, [`runner`] judges outcomes and [`suite`] finds the suite's files. The libtest-mimic
//! harness `tests/conformance.rs` turns every file × engine into a trial `interp/<name>`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod data;
pub mod engine;
pub mod fuzz;
pub mod host;
pub mod runner;
pub mod suite;
pub mod verifier_cases;

pub use data::{DataError, DataFile, Prepared, ProgramSource, SkipReason, TestCase};
pub use engine::{Engine, EngineError};
pub use host::ConformanceHelpers;
pub use runner::{
    read_data_file, read_text, run_case, run_file, run_text, Failure, FileError, Outcome,
};
