//! The reference interpreter: ebpfvm's semantic oracle.
//!
//! ```text
//!  [RawInsn] ──Program::from_slots──▶ Program (pre-decoded ops, validated jump targets)
//!                                        │
//!          args, regions, HelperHost ──▶ Vm::run ──▶ r0 | ExecError { pc, trap }
//! ```
//!
//! Every instruction follows RFC 9669 (division by zero gives 0, modulo by zero keeps dst,
//! shifts are masked, `INT_MIN / -1` wraps, 32-bit operations zero-extend). Each frame has a
//! 512-byte stack; local calls get a fresh frame and preserve r6–r9, up to 8 frames. Helper
//! calls go through [`ebpfvm_abi::HelperHost`]. A run has an instruction budget, so it always
//! ends. The interpreter always runs in *checked mode*: every load, store and atomic is
//! validated against the stack and the [`Region`]s the caller registered, and faults are a
//! typed [`ExecError`], never a panic.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod memory;
mod program;
mod vm;

pub use memory::Region;
pub use program::{LoadError, Program};
pub use vm::{ExecError, Vm};
