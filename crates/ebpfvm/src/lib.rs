//! ebpfvm: a complete eBPF runtime in user space.
//!
//! This crate is the public facade. Today it re-exports the instruction set ([`isa`]), the
//! shared contract ([`abi`]), the reference interpreter ([`interp`]), the object loader
//! ([`object`]) and BTF ([`btf`]), and holds the command logic of the `ebpfvm` binary in
//! [`cli`] (testable functions that take their arguments and an output stream).
//!
//! ```text
//!  ebpfvm conformance DIR  ──▶ ebpfvm-testkit ──▶ Engine (interp; jit later)
//!  ebpfvm asm FILE.s       ──▶ isa::asm::{llvm, ubpf} ──▶ raw bytecode
//!  ebpfvm disasm FILE      ──▶ raw | hex text | ELF (object) ──▶ isa::disasm
//!  ebpfvm run FILE         ──▶ interp::Vm ──▶ r0
//!  ebpfvm object show FILE ──▶ object::Object::parse ──▶ programs, maps, relocations
//!  ebpfvm btf dump FILE    ──▶ btf::Btf::parse ──▶ C declarations
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ebpfvm_abi as abi;
pub use ebpfvm_btf as btf;
pub use ebpfvm_domain as domain;
pub use ebpfvm_helpers as helpers;
pub use ebpfvm_interp as interp;
pub use ebpfvm_isa as isa;
pub use ebpfvm_maps as maps;
pub use ebpfvm_object as object;
pub use ebpfvm_rewrite as rewrite;
pub use ebpfvm_runtime as runtime;
pub use ebpfvm_verifier as verifier;

pub mod cli;
