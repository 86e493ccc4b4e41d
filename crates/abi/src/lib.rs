//! The contract shared by ebpfvm's execution engines, verifier and runtime.
//!
//! Data and tiny helpers only: the [`Trap`] enum every engine reports faults with, the
//! [`limits`] every stage enforces, and the [`HelperHost`] trait through which the
//! interpreter and JIT call helper functions without depending on their implementations;
//! the [`ProgramType`], [`AttachType`] and [`MapType`] numbers of Linux uapi; the Linux
//! [`helpers`] (ids, names, prototypes) and context layouts ([`ctx`]: `xdp_md`, `__sk_buff`,
//! `pt_regs`); and libbpf's table of ELF [`section`] names.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod ctx;
pub mod helpers;
mod host;
pub mod kctx;
pub mod limits;
pub mod prog_type;
pub mod section;
mod trap;

pub use host::{ExecEnv, HelperHost, NoHelpers, ProgHandle};
pub use prog_type::{AttachType, MapType, ProgramType};
pub use trap::Trap;
