//! Linking one program: its function, then (depth first, in order of first reference, as
//! libbpf does) every function it calls or takes the address of, with each relocated
//! instruction rewritten (see [`crate::reloc`]).

use std::collections::{BTreeMap, HashMap};

use ebpfvm_abi::limits::MAX_PROGRAM_SLOTS;
use ebpfvm_abi::ProgramType;
use ebpfvm_btf::{BtfExt, CoreRelo, FuncInfo, LineInfo};
use ebpfvm_isa::RawInsn;

use crate::elf::Elf;
use crate::error::{ParseError, RelocationError};
use crate::object::{Extern, ExternKind};
use crate::program::{
    LinkedFunction, ProgramCoreRelo, ProgramFuncInfo, ProgramLineInfo, ProgramSpec, TypeSource,
};
use crate::reloc::{Relocation, RelocationKind};

const CALL: u8 = 0x85;
const LD_IMM64: u8 = 0x18;

/// A function of a code section.
#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub name: String,
    pub section: usize,
    /// First slot in the section.
    pub start: usize,
    /// Length in slots.
    pub len: usize,
    pub global: bool,
}

/// What a relocated instruction refers to, before linking.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Map(usize),
    Data {
        map: usize,
        offset: i64,
    },
    Kconfig(usize),
    /// A byte offset in a code section: a call or a function address.
    Code {
        section: usize,
        byte: i64,
        call: bool,
    },
    ExternCall(usize),
    ExternVar(usize),
}

/// A resolved relocation at a slot of a code section.
#[derive(Clone, Debug)]
pub(crate) struct TargetRef {
    pub slot: usize,
    pub symbol: String,
    pub target: Target,
}

/// `.BTF.ext` records by section name, sorted by instruction offset.
#[derive(Default)]
pub(crate) struct BtfExtIndex<'a> {
    sections: HashMap<&'a str, SectionExt<'a>>,
}

#[derive(Default)]
struct SectionExt<'a> {
    func: Vec<&'a FuncInfo>,
    line: Vec<&'a LineInfo>,
    core: Vec<&'a CoreRelo>,
}

impl<'a> BtfExtIndex<'a> {
    pub fn new(ext: Option<&'a BtfExt>) -> BtfExtIndex<'a> {
        let mut index = BtfExtIndex::default();
        let Some(ext) = ext else {
            return index;
        };
        for s in &ext.func_info {
            let e = index.sections.entry(s.section.as_str()).or_default();
            e.func.extend(s.records.iter());
            e.func.sort_by_key(|r| r.insn_off);
        }
        for s in &ext.line_info {
            let e = index.sections.entry(s.section.as_str()).or_default();
            e.line.extend(s.records.iter());
            e.line.sort_by_key(|r| r.insn_off);
        }
        for s in &ext.core_relos {
            let e = index.sections.entry(s.section.as_str()).or_default();
            e.core.extend(s.records.iter());
            e.core.sort_by_key(|r| r.insn_off);
        }
        index
    }
}

/// The records of `list` whose byte offset lies in slots `[start, start + len)`, with their
/// slot relative to `start`.
fn in_range<'r, T>(
    list: &'r [&'r T],
    off: fn(&T) -> u32,
    start: usize,
    len: usize,
) -> impl Iterator<Item = (usize, &'r T)> + 'r {
    let lo = start as u64 * 8;
    let hi = (start + len) as u64 * 8;
    let first = list.partition_point(|r| u64::from(off(r)) < lo);
    list[first..]
        .iter()
        .take_while(move |r| u64::from(off(r)) < hi)
        .filter(move |r| off(r) % 8 == 0)
        .map(move |r| ((u64::from(off(r)) / 8 - lo / 8) as usize, *r))
}

/// Everything the linker reads.
pub(crate) struct LinkInput<'a, 'data> {
    pub elf: &'a Elf<'data>,
    pub code: &'a BTreeMap<usize, Vec<RawInsn>>,
    pub funcs: &'a [Func],
    pub funcs_by_section: &'a BTreeMap<usize, Vec<usize>>,
    pub targets: &'a BTreeMap<usize, Vec<TargetRef>>,
    pub externs: &'a [Extern],
    pub kconfig_map: Option<usize>,
    pub ext: &'a BtfExtIndex<'a>,
}

impl LinkInput<'_, '_> {
    /// The function containing `slot` of `section`.
    fn func_at(&self, section: usize, slot: i64) -> Option<usize> {
        let slot = usize::try_from(slot).ok()?;
        let list = self.funcs_by_section.get(&section)?;
        let k = list.partition_point(|&f| self.funcs[f].start <= slot);
        let f = *list.get(k.checked_sub(1)?)?;
        let func = &self.funcs[f];
        (slot < func.start + func.len).then_some(f)
    }

    fn target_at(&self, section: usize, slot: usize) -> Option<&TargetRef> {
        let list = self.targets.get(&section)?;
        let k = list.partition_point(|t| t.slot < slot);
        list.get(k).filter(|t| t.slot == slot)
    }

    /// Links the program whose entry is function `entry`.
    pub fn link(&self, entry: usize) -> Result<ProgramSpec, ParseError> {
        let mut insns: Vec<RawInsn> = Vec::new();
        let mut placed: HashMap<usize, usize> = HashMap::new();
        let mut order: Vec<usize> = Vec::new();
        let mut relocations = Vec::new();
        self.place(entry, &mut insns, &mut placed, &mut order);
        let mut stack: Vec<(usize, usize)> = vec![(entry, 0)];

        while let Some(top) = stack.last_mut() {
            let (f, rel) = *top;
            let func = &self.funcs[f];
            if rel >= func.len {
                stack.pop();
                continue;
            }
            let src_slot = func.start + rel;
            let out = placed[&f] + rel;
            let Some(&raw) = insns.get(out) else {
                stack.pop();
                continue;
            };
            top.1 += if raw.opcode == LD_IMM64 { 2 } else { 1 };
            let section_offset = src_slot as u64 * 8;
            let section_name = || self.elf.section_name(func.section);
            let tref = self.target_at(func.section, src_slot);
            let (target, symbol) = match tref {
                Some(t) => (t.target, t.symbol.clone()),
                None if raw.opcode == CALL && raw.src == 1 => {
                    // A call within the section, resolved by the compiler.
                    let byte = (src_slot as i64 + i64::from(raw.imm) + 1) * 8;
                    let target = Target::Code {
                        section: func.section,
                        byte,
                        call: true,
                    };
                    (target, String::new())
                }
                None => continue,
            };
            let kind = match target {
                Target::Map(map) => {
                    set_ld_imm64(&mut insns, out, 5, map as i32, 0);
                    RelocationKind::Map { map }
                }
                Target::Data { map, offset } => {
                    set_ld_imm64(&mut insns, out, 6, map as i32, offset as u32 as i32);
                    RelocationKind::MapValue { map, offset }
                }
                Target::Kconfig(ext) => {
                    let e = &self.externs[ext];
                    let (ExternKind::Kconfig { offset, .. }, Some(map)) =
                        (e.kind, self.kconfig_map)
                    else {
                        continue;
                    };
                    set_ld_imm64(&mut insns, out, 6, map as i32, offset as i32);
                    RelocationKind::Kconfig {
                        name: e.name.clone(),
                        map,
                        offset,
                    }
                }
                Target::ExternVar(ext) => {
                    set_ld_imm64(&mut insns, out, 3, 0, 0);
                    RelocationKind::ExternVar {
                        name: self.externs[ext].name.clone(),
                    }
                }
                Target::ExternCall(ext) => {
                    insns[out].src = 2;
                    insns[out].imm = 0;
                    insns[out].off = 0;
                    RelocationKind::ExternCall {
                        name: self.externs[ext].name.clone(),
                    }
                }
                Target::Code {
                    section,
                    byte,
                    call,
                } => {
                    let bad = || RelocationError::BadTarget {
                        section: section_name(),
                        offset: section_offset,
                        what: if call { "call" } else { "function pointer" },
                        target_section: self.elf.section_name(section),
                        target: byte,
                    };
                    if byte % 8 != 0 {
                        return Err(bad().into());
                    }
                    let tslot = byte / 8;
                    let g = self.func_at(section, tslot).ok_or_else(bad)?;
                    let newly = !placed.contains_key(&g);
                    if newly {
                        // The kernel's limit: a longer program could never load, and
                        // copying on would only use memory.
                        let grown = insns.len().saturating_add(self.funcs[g].len);
                        if grown > MAX_PROGRAM_SLOTS {
                            return Err(RelocationError::TooLarge {
                                section: section_name(),
                                offset: section_offset,
                                slots: grown,
                            }
                            .into());
                        }
                        self.place(g, &mut insns, &mut placed, &mut order);
                    }
                    let target = placed[&g] + (tslot as usize - self.funcs[g].start);
                    let imm = i32::try_from(target as i64 - out as i64 - 1).map_err(|_| {
                        RelocationError::TooLarge {
                            section: section_name(),
                            offset: section_offset,
                            slots: insns.len(),
                        }
                    })?;
                    if newly {
                        stack.push((g, 0));
                    }
                    let function = self.funcs[g].name.clone();
                    if call {
                        insns[out].imm = imm;
                        RelocationKind::Call { function, target }
                    } else {
                        set_ld_imm64(&mut insns, out, 4, imm, 0);
                        RelocationKind::FuncPtr { function, target }
                    }
                }
            };
            relocations.push(Relocation {
                insn: out,
                section: section_name(),
                section_offset,
                symbol,
                kind,
            });
        }
        relocations.sort_by_key(|r| r.insn);

        let mut functions = Vec::with_capacity(order.len());
        let (mut func_info, mut line_info, mut core_relos) = (Vec::new(), Vec::new(), Vec::new());
        for &f in &order {
            let func = &self.funcs[f];
            let start = placed[&f];
            let section = self.elf.section_name(func.section);
            if let Some(ext) = self.ext.sections.get(section.as_str()) {
                for (rel, r) in in_range(&ext.func, |r| r.insn_off, func.start, func.len) {
                    func_info.push(ProgramFuncInfo {
                        insn: start + rel,
                        type_id: r.type_id,
                    });
                }
                for (rel, r) in in_range(&ext.line, |r| r.insn_off, func.start, func.len) {
                    line_info.push(ProgramLineInfo {
                        insn: start + rel,
                        info: r.clone(),
                    });
                }
                for (rel, r) in in_range(&ext.core, |r| r.insn_off, func.start, func.len) {
                    core_relos.push(ProgramCoreRelo {
                        insn: start + rel,
                        relo: r.clone(),
                    });
                }
            }
            functions.push(LinkedFunction {
                name: func.name.clone(),
                section,
                section_offset: func.start as u64 * 8,
                start,
                len: func.len,
            });
        }

        let entry_func = &self.funcs[entry];
        Ok(ProgramSpec {
            name: entry_func.name.clone(),
            section: self.elf.section_name(entry_func.section),
            section_offset: entry_func.start as u64 * 8,
            global: entry_func.global,
            prog_type: ProgramType::Unspec,
            expected_attach_type: None,
            attach_target: None,
            sleepable: false,
            xdp_frags: false,
            type_source: TypeSource::Unknown,
            insns,
            functions,
            relocations,
            func_info,
            line_info,
            core_relos,
        })
    }

    fn place(
        &self,
        f: usize,
        insns: &mut Vec<RawInsn>,
        placed: &mut HashMap<usize, usize>,
        order: &mut Vec<usize>,
    ) {
        let func = &self.funcs[f];
        placed.insert(f, insns.len());
        order.push(f);
        let code = self.code.get(&func.section);
        if let Some(slots) = code.and_then(|c| c.get(func.start..func.start + func.len)) {
            insns.extend_from_slice(slots);
        }
    }
}

/// Rewrites the `ld_imm64` at `at` (its second slot too, if present; a missing second slot
/// is left for the decoder to report).
fn set_ld_imm64(insns: &mut [RawInsn], at: usize, src: u8, imm: i32, next_imm: i32) {
    insns[at].src = src;
    insns[at].imm = imm;
    if let Some(next) = insns.get_mut(at + 1) {
        next.imm = next_imm;
    }
}
