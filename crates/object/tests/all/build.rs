//! Building small BPF ELF objects for tests with `object`'s write API.

use object::write::{self, SectionId, SymbolId, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// One instruction slot as its little-endian bytes.
pub fn insn(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    ebpfvm_isa::RawInsn::new(opcode, dst, src, off, imm).to_bytes()
}

/// `r0 = imm` (mov64).
pub fn mov(imm: i32) -> [u8; 8] {
    insn(0xb7, 0, 0, 0, imm)
}

/// `exit`.
pub fn exit() -> [u8; 8] {
    insn(0x95, 0, 0, 0, 0)
}

/// `call` with `src` and `imm`.
pub fn call(src: u8, imm: i32) -> [u8; 8] {
    insn(0x85, 0, src, 0, imm)
}

/// `r1 = imm64 ll` (both slots).
pub fn lddw(imm: i32) -> [[u8; 8]; 2] {
    [insn(0x18, 1, 0, 0, imm), insn(0, 0, 0, 0, 0)]
}

/// Concatenates slots.
pub fn code(slots: &[[u8; 8]]) -> Vec<u8> {
    slots.iter().flatten().copied().collect()
}

/// A BPF relocatable object under construction.
pub struct Builder {
    obj: write::Object<'static>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            obj: write::Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little),
        }
    }

    fn section(&mut self, name: &str, kind: SectionKind, data: &[u8]) -> SectionId {
        let id = self
            .obj
            .add_section(Vec::new(), name.as_bytes().to_vec(), kind);
        if kind == SectionKind::UninitializedData {
            self.obj.append_section_bss(id, data.len() as u64, 8);
        } else {
            self.obj.set_section_data(id, data.to_vec(), 8);
        }
        id
    }

    /// A code section.
    pub fn text(&mut self, name: &str, data: &[u8]) -> SectionId {
        self.section(name, SectionKind::Text, data)
    }

    /// A data section (`.data`, `.rodata`, `maps`, ...).
    pub fn data(&mut self, name: &str, data: &[u8]) -> SectionId {
        self.section(name, SectionKind::Data, data)
    }

    /// A `.bss`-style section of `len` zero bytes.
    pub fn bss(&mut self, name: &str, len: usize) -> SectionId {
        self.section(name, SectionKind::UninitializedData, &vec![0; len])
    }

    fn symbol(
        &mut self,
        section: SymbolSection,
        name: &str,
        value: u64,
        size: u64,
        kind: SymbolKind,
        global: bool,
    ) -> SymbolId {
        self.obj.add_symbol(write::Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size,
            kind,
            scope: if global {
                SymbolScope::Dynamic
            } else {
                SymbolScope::Compilation
            },
            weak: false,
            section,
            flags: SymbolFlags::None,
        })
    }

    /// A function symbol.
    pub fn func(
        &mut self,
        sec: SectionId,
        name: &str,
        offset: u64,
        size: u64,
        global: bool,
    ) -> SymbolId {
        self.symbol(
            SymbolSection::Section(sec),
            name,
            offset,
            size,
            SymbolKind::Text,
            global,
        )
    }

    /// An object (variable or map) symbol.
    pub fn var(
        &mut self,
        sec: SectionId,
        name: &str,
        offset: u64,
        size: u64,
        global: bool,
    ) -> SymbolId {
        self.symbol(
            SymbolSection::Section(sec),
            name,
            offset,
            size,
            SymbolKind::Data,
            global,
        )
    }

    /// A global NOTYPE symbol, as old compilers emitted for programs.
    pub fn notype(&mut self, sec: SectionId, name: &str, offset: u64) -> SymbolId {
        self.symbol(
            SymbolSection::Section(sec),
            name,
            offset,
            0,
            SymbolKind::Label,
            true,
        )
    }

    /// An undefined global symbol.
    pub fn undefined(&mut self, name: &str) -> SymbolId {
        self.symbol(
            SymbolSection::Undefined,
            name,
            0,
            0,
            SymbolKind::Unknown,
            true,
        )
    }

    /// The section symbol of `sec`.
    pub fn section_symbol(&mut self, sec: SectionId) -> SymbolId {
        self.obj.section_symbol(sec)
    }

    /// A relocation of type `r_type` at byte `offset` of `sec`.
    pub fn reloc(&mut self, sec: SectionId, offset: u64, symbol: SymbolId, r_type: u32) {
        self.obj
            .add_relocation(
                sec,
                write::Relocation {
                    offset,
                    symbol,
                    addend: 0,
                    flags: object::RelocationFlags::Elf { r_type },
                },
            )
            .unwrap();
    }

    /// `R_BPF_64_64` (an `ld_imm64`).
    pub fn reloc64(&mut self, sec: SectionId, offset: u64, symbol: SymbolId) {
        self.reloc(sec, offset, symbol, elf::R_BPF_64_64);
    }

    /// `R_BPF_64_32` (a call).
    pub fn reloc32(&mut self, sec: SectionId, offset: u64, symbol: SymbolId) {
        self.reloc(sec, offset, symbol, elf::R_BPF_64_32);
    }

    /// The ELF bytes.
    pub fn finish(self) -> Vec<u8> {
        self.obj.write().unwrap()
    }
}

/// A `struct bpf_map_def` record.
pub fn map_def(map_type: u32, key: u32, value: u32, max: u32, flags: u32) -> Vec<u8> {
    [map_type, key, value, max, flags]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

/// Sets the ELF header's `e_machine`.
pub fn set_machine(elf: &mut [u8], machine: u16) {
    elf[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
}

/// A minimal `.BTF` blob: `int`, `_Bool`, two `.kconfig` extern variables (`CONFIG_X`: int,
/// `CONFIG_B`: bool) and one `.ksyms` extern function (`bpf_kf`).
pub fn kconfig_btf() -> Vec<u8> {
    let strings = b"\0int\0_Bool\0CONFIG_X\0CONFIG_B\0.kconfig\0bpf_kf\0.ksyms\0";
    let off = |s: &str| {
        let needle = format!("\0{s}\0");
        strings
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .unwrap() as u32
            + 1
    };
    let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
    let mut t: Vec<u32> = Vec::new();
    // 1: int (signed, 32 bits)
    t.extend([off("int"), info(1, 0), 4, (1 << 24) | 32]);
    // 2: _Bool (bool encoding, 8 bits)
    t.extend([off("_Bool"), info(1, 0), 1, (4 << 24) | 8]);
    // 3: VAR CONFIG_X int extern; 4: VAR CONFIG_B _Bool extern
    t.extend([off("CONFIG_X"), info(14, 0), 1, 2]);
    t.extend([off("CONFIG_B"), info(14, 0), 2, 2]);
    // 5: DATASEC .kconfig { 3, 4 }
    t.extend([off(".kconfig"), info(15, 2), 0, 3, 0, 4, 4, 0, 1]);
    // 6: FUNC_PROTO int (void); 7: FUNC bpf_kf extern
    t.extend([0, info(13, 0), 1]);
    t.extend([off("bpf_kf"), info(12, 2), 6]);
    // 8: DATASEC .ksyms { 7 }
    t.extend([off(".ksyms"), info(15, 1), 0, 7, 0, 0]);
    let types: Vec<u8> = t.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut blob = Vec::new();
    blob.extend(0xeb9fu16.to_le_bytes());
    blob.extend([1, 0]);
    for w in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        blob.extend(w.to_le_bytes());
    }
    blob.extend(types);
    blob.extend(strings);
    blob
}
