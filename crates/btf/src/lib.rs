//! BTF and `.BTF.ext`: the type information clang puts in eBPF objects.
//!
//! ```text
//!  ELF object ──ebpfvm-object──▶ .BTF bytes ──Btf::parse──▶ Btf ──query──▶ sizes, offsets, names
//!                               .BTF.ext bytes ──BtfExt::parse(&Btf)──▶ func/line info, CO-RE relocs
//!                                                             Btf ──to_c──▶ C declarations
//!                                                             Btf ──to_bytes──▶ .BTF bytes
//! ```
//!
//! In the pipeline this crate sits beside `ebpfvm-object`: the loader pulls the `.BTF` and
//! `.BTF.ext` sections out of the ELF file and parses them here; map definitions in
//! `.maps`, global data sections, function boundaries, source lines for verifier messages
//! and CO-RE relocations all come from the result. The verifier uses the same [`Btf`] for
//! function prototypes and line info, and `ebpfvm btf dump` prints it as C.
//!
//! Layouts follow Linux uapi `linux/btf.h` (`.BTF`) and libbpf's `.BTF.ext` format. Only
//! little-endian blobs are accepted. Parsing never panics: every offset and length is
//! checked, every type id is validated, cycles not broken by a pointer are rejected, and
//! memory stays within a constant multiple of the input size (names copied into [`Type`]s
//! are budgeted). Errors are [`BtfError`]s with one-line messages naming the type at fault.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;
mod dump;
mod error;
mod ext;
mod parse;
mod query;
mod raw;
mod types;
mod write;

pub use crate::core::{resolve as resolve_core, vmlinux_btf, CoreError, CoreResult};
pub use error::{Blob, BtfError};
pub use ext::{
    BtfExt, CoreRelo, CoreReloKind, CoreReloSection, FuncInfo, FuncInfoSection, LineInfo,
    LineInfoSection,
};
pub use types::{
    Composite, FuncLinkage, IntEncoding, Kind, Member, Param, Type, TypeId, VarLinkage, VarSecInfo,
};

/// A parsed `.BTF` blob: the type list (index = [`TypeId`], 0 = `void`) and the string
/// section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Ids of named types, sorted by name then id (for [`Btf::find_by_name`]).
    by_name: Vec<u32>,
    input_len: usize,
}

impl Btf {
    /// Parses a little-endian `.BTF` section. A big-endian blob is an error.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        parse::parse(data)
    }

    fn from_parts(types: Vec<Type>, strings: Vec<u8>, input_len: usize) -> Btf {
        let mut by_name: Vec<u32> = (1..types.len() as u32)
            .filter(|&i| !types[i as usize].name().is_empty())
            .collect();
        by_name.sort_by(|&a, &b| {
            types[a as usize]
                .name()
                .cmp(types[b as usize].name())
                .then(a.cmp(&b))
        });
        Btf {
            types,
            strings,
            by_name,
            input_len,
        }
    }
}
