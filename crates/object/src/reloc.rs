//! The relocations applied to a program, as recorded in [`crate::ProgramSpec::relocations`].
//!
//! How each kind rewrites the instruction (libbpf's conventions, except that maps are
//! referred to by index, as with the kernel's `fd_array`, and the runtime turns indices into
//! handles):
//!
//! | kind | instruction | result |
//! |---|---|---|
//! | [`RelocationKind::Map`] | `ld_imm64` | src 5 (`BPF_PSEUDO_MAP_IDX`), imm = map index |
//! | [`RelocationKind::MapValue`] | `ld_imm64` | src 6 (`BPF_PSEUDO_MAP_IDX_VALUE`), imm = map index, second imm = offset |
//! | [`RelocationKind::Kconfig`] | `ld_imm64` | as `MapValue`, into the `.kconfig` map |
//! | [`RelocationKind::Call`] | `call` src 1 | imm = slots from the next instruction to the callee |
//! | [`RelocationKind::FuncPtr`] | `ld_imm64` | src 4 (`BPF_PSEUDO_FUNC`), imm as for a call |
//! | [`RelocationKind::ExternCall`] | `call` | src 2 (`BPF_PSEUDO_KFUNC_CALL`), imm 0: unresolved |
//! | [`RelocationKind::ExternVar`] | `ld_imm64` | src 3 (`BPF_PSEUDO_BTF_ID`), imm 0: unresolved |
//!
//! Unresolved externs are left for the runtime, which knows which kernel functions and
//! symbols it provides.

/// One relocation applied to a program.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Relocation {
    /// The instruction slot in [`crate::ProgramSpec::insns`].
    pub insn: usize,
    /// The code section the instruction came from.
    pub section: String,
    /// Its byte offset in that section.
    pub section_offset: u64,
    /// The ELF symbol the relocation named (empty for calls resolved without a relocation,
    /// within one section).
    pub symbol: String,
    /// What was referred to.
    pub kind: RelocationKind,
}

/// What a relocated instruction refers to.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum RelocationKind {
    /// A map, by index into [`crate::Object::maps`].
    Map {
        /// The map index.
        map: usize,
    },
    /// An address inside a map's value: a global variable in `.data`, `.rodata` or `.bss`.
    MapValue {
        /// The map index.
        map: usize,
        /// Byte offset in the value (as computed; may be out of range in a bad program,
        /// which the verifier rejects).
        offset: i64,
    },
    /// A `.kconfig` extern variable: an address in the `.kconfig` map's value.
    Kconfig {
        /// The extern's name.
        name: String,
        /// The `.kconfig` map's index.
        map: usize,
        /// Its offset in the value.
        offset: u32,
    },
    /// A bpf-to-bpf call.
    Call {
        /// The function called (the one containing the target).
        function: String,
        /// The target slot in the program.
        target: usize,
    },
    /// The address of a function (a callback for `bpf_loop`, `bpf_for_each_map_elem`, ...).
    FuncPtr {
        /// The function.
        function: String,
        /// The target slot in the program.
        target: usize,
    },
    /// A call to an extern function (a kfunc, or a function the object does not define).
    ExternCall {
        /// The function's name.
        name: String,
    },
    /// The address of an extern variable (a `.ksyms` kernel symbol, or a symbol the object
    /// does not define).
    ExternVar {
        /// The variable's name.
        name: String,
    },
}

impl RelocationKind {
    /// A short name for summaries: `map`, `map_value`, `kconfig`, `call`, `func_ptr`,
    /// `extern_call`, `extern_var`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RelocationKind::Map { .. } => "map",
            RelocationKind::MapValue { .. } => "map_value",
            RelocationKind::Kconfig { .. } => "kconfig",
            RelocationKind::Call { .. } => "call",
            RelocationKind::FuncPtr { .. } => "func_ptr",
            RelocationKind::ExternCall { .. } => "extern_call",
            RelocationKind::ExternVar { .. } => "extern_var",
        }
    }
}
