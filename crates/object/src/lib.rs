//! eBPF ELF objects: programs, map specs, global data and relocations, read with libbpf's
//! conventions so that objects built by `clang -target bpf` for Linux load unchanged.
//!
//! ```text
//!  ELF bytes ──object──▶ sections, symbols, relocations
//!   ├─ code sections ──▶ functions ──link──▶ ProgramSpec
//!   │      (section name → type: ebpfvm_abi::section)
//!   ├─ maps, maps/*, .maps ──▶ MapSpec (legacy, BTF)
//!   ├─ .data*, .rodata*, .bss*, externs ──▶ MapSpec (global data, .kconfig)
//!   ├─ license, version
//!   └─ .BTF, .BTF.ext ──ebpfvm_btf──▶ Btf; func/line info and CO-RE records per program
//! ```
//!
//! [`Object::parse`] does everything in one call and returns plain data: no handles, no
//! syscalls. Programs come out as [`ebpfvm_isa::RawInsn`]s that decode strictly, with every
//! relocation applied: maps are referred to by index into [`Object::maps`] (`ld_imm64` src
//! 5 and 6, as with the kernel's `fd_array`), subprograms are appended and calls fixed as
//! libbpf does, and externs are left marked for the runtime (see [`reloc`]). CO-RE records
//! are attached to their programs but not applied.
//!
//! Untrusted input never panics: every failure is a [`ParseError`] (or a
//! [`RelocationError`] inside one) with a one-line message naming the section and offset.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;
mod elf;
mod error;
mod link;
pub mod maps;
mod object;
mod program;
pub mod reloc;

pub use crate::core::{CoreApplied, CoreApplyError, CorePatch, CorePatchError, CoreReport};
pub use ebpfvm_abi::{AttachType, MapType, ProgramType};
pub use error::{ParseError, RelocationError};
pub use maps::{InitSlot, MapOrigin, MapSpec, Pinning};
pub use object::{Extern, ExternKind, Function, GlobalVar, LoadOptions, Object, MAX_TOTAL_SLOTS};
pub use program::{
    LinkedFunction, ProgramCoreRelo, ProgramFuncInfo, ProgramLineInfo, ProgramSpec, TypeSource,
};
pub use reloc::{Relocation, RelocationKind};
