//! Programs: one per function of a code section, with the subprograms they call linked in.

use ebpfvm_abi::section::match_section;
use ebpfvm_abi::{AttachType, ProgramType};
use ebpfvm_btf::{CoreRelo, LineInfo, TypeId};
use ebpfvm_isa::{decode_all, DecodeError, Insn, RawInsn};

use crate::reloc::Relocation;

/// How a program's type was decided.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum TypeSource {
    /// The section name matched libbpf's table.
    Section,
    /// The section name matched only by the pre-1.0 plain prefix rule (`xdp_prog`).
    LegacyPrefix,
    /// The section name names no type (`.text`, `2/7`, `from-netdev`): the type is
    /// [`ProgramType::Unspec`] unless a default is given.
    Unknown,
    /// Given by the user ([`crate::LoadOptions`] or [`ProgramSpec::set_type`]).
    User,
}

impl TypeSource {
    /// A short name: `section`, `legacy_prefix`, `unknown`, `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeSource::Section => "section",
            TypeSource::LegacyPrefix => "legacy_prefix",
            TypeSource::Unknown => "unknown",
            TypeSource::User => "user",
        }
    }
}

/// A function placed in a program: the program's own code (first) or a subprogram.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkedFunction {
    /// The function's name.
    pub name: String,
    /// Its code section.
    pub section: String,
    /// Its byte offset in that section.
    pub section_offset: u64,
    /// Its first slot in [`ProgramSpec::insns`].
    pub start: usize,
    /// Its length in slots.
    pub len: usize,
}

/// A `bpf_func_info` record placed in a program.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ProgramFuncInfo {
    /// The slot where the function starts.
    pub insn: usize,
    /// Its BTF `FUNC` type.
    pub type_id: TypeId,
}

/// A `bpf_line_info` record placed in a program.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProgramLineInfo {
    /// The slot the source line applies from.
    pub insn: usize,
    /// File, line, column and source text.
    pub info: LineInfo,
}

/// A CO-RE relocation record placed in a program (applied by the runtime, not here).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProgramCoreRelo {
    /// The slot of the instruction to patch.
    pub insn: usize,
    /// The record (`insn_off` still refers to the original section).
    pub relo: CoreRelo,
}

/// One program, ready for the verifier: instructions with every call, map and global
/// variable reference resolved (see [`crate::reloc`] for the encoding).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProgramSpec {
    /// The program's name (its function symbol, or for old objects without function
    /// symbols the section's global symbol or the section name).
    pub name: String,
    /// The ELF section it lives in.
    pub section: String,
    /// Its byte offset in that section.
    pub section_offset: u64,
    /// Whether its symbol is global (or weak).
    pub global: bool,
    /// The program type.
    pub prog_type: ProgramType,
    /// The expected attach type given at load time, if any.
    pub expected_attach_type: Option<AttachType>,
    /// The attach target from the section name (`kprobe/do_unlinkat` → `do_unlinkat`).
    pub attach_target: Option<String>,
    /// Sleepable (`BPF_F_SLEEPABLE`).
    pub sleepable: bool,
    /// XDP with fragments (`BPF_F_XDP_HAS_FRAGS`).
    pub xdp_frags: bool,
    /// How the type was decided.
    pub type_source: TypeSource,
    /// The instructions: the program, then each subprogram it calls (in the order libbpf
    /// appends them: depth first, by first reference).
    pub insns: Vec<RawInsn>,
    /// The functions in [`ProgramSpec::insns`]: the program itself first, then the
    /// subprograms.
    pub functions: Vec<LinkedFunction>,
    /// The relocations applied, in slot order.
    pub relocations: Vec<Relocation>,
    /// `.BTF.ext` function info, with slots in this program.
    pub func_info: Vec<ProgramFuncInfo>,
    /// `.BTF.ext` line info, with slots in this program.
    pub line_info: Vec<ProgramLineInfo>,
    /// `.BTF.ext` CO-RE relocations, with slots in this program.
    pub core_relos: Vec<ProgramCoreRelo>,
}

impl ProgramSpec {
    /// Overrides the program type and expected attach type.
    pub fn set_type(&mut self, prog_type: ProgramType, attach_type: Option<AttachType>) {
        self.prog_type = prog_type;
        self.expected_attach_type = attach_type;
        self.type_source = TypeSource::User;
    }

    /// The subprograms linked in (every function but the program's own).
    pub fn subprograms(&self) -> &[LinkedFunction] {
        self.functions.get(1..).unwrap_or_default()
    }

    /// The number of instruction slots (an `ld_imm64` counts 2).
    pub fn insn_count(&self) -> usize {
        self.insns.len()
    }

    /// The decoded instructions with their slots.
    pub fn decode(&self) -> Result<Vec<(usize, Insn)>, DecodeError> {
        decode_all(&self.insns)
    }

    /// The type fields a section name gives (libbpf's table; see [`ebpfvm_abi::section`]).
    pub(crate) fn type_from_section(&mut self) {
        match match_section(&self.section) {
            Some(m) => {
                self.prog_type = m.def.prog_type;
                self.expected_attach_type = m.def.attach_type;
                self.attach_target = m.attach_target.map(str::to_string);
                self.sleepable = m.def.sleepable;
                self.xdp_frags = m.def.xdp_frags;
                self.type_source = if m.legacy {
                    TypeSource::LegacyPrefix
                } else {
                    TypeSource::Section
                };
            }
            None => {
                self.prog_type = ProgramType::Unspec;
                self.expected_attach_type = None;
                self.attach_target = None;
                self.type_source = TypeSource::Unknown;
            }
        }
    }
}
