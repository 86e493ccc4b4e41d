//! Applying CO-RE relocations: each [`ProgramCoreRelo`] of a program is resolved against a
//! target BTF ([`ebpfvm_btf::core::resolve`]) and its instruction patched, as libbpf does
//! when it loads an object.
//!
//! ```text
//!  ProgramSpec.core_relos ──resolve(local BTF, target BTF)──▶ CoreResult
//!       │  ALU/ALU64 with an immediate: imm        LDX/ST/STX: off (and the access size)
//!       │  ld_imm64: the 64-bit immediate          unresolvable: call 0xbad2310 (poison)
//!       ▼
//!  ProgramSpec.insns patched ──▶ CoreReport (one CoreApplied per record)
//! ```
//!
//! The target is the running kernel's BTF ([`ebpfvm_btf::vmlinux_btf`]) when a program
//! should see the kernel's layouts, or the object's own BTF (the user-space default), whose
//! answers are the compiler's local ones except that types the object declares all exist.
//!
//! Before patching, the instruction is checked to hold the value the compiler computed
//! (unless libbpf skips that check for the relocation), so applying twice, or applying to
//! the wrong instruction, is an error rather than a silent corruption. A relocation that
//! *fails* in libbpf's sense (a missing field read without an existence check) replaces its
//! instruction (both slots of an `ld_imm64`) by `call 0xbad2310`, a helper that does not
//! exist: the verifier rejects it if it is reachable and the interpreter traps with
//! `UnknownHelper`; behind a `bpf_core_field_exists` guard it is dead code.

use ebpfvm_btf::core::{resolve, CoreError, CoreResult, POISON_HELPER};
use ebpfvm_btf::{Btf, CoreReloKind, TypeId};
use ebpfvm_isa::opcodes::{class, op, source};
use ebpfvm_isa::{RawInsn, Size};

use crate::error::Escaped;
use crate::program::{ProgramCoreRelo, ProgramSpec};
use crate::Object;

/// What happened to one instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CorePatch {
    /// An ALU/ALU64 immediate was replaced.
    Imm {
        /// The immediate before.
        old: i32,
        /// The immediate after.
        new: i32,
    },
    /// A load or store offset was replaced (and possibly its access size).
    Off {
        /// The offset before.
        old: i16,
        /// The offset after.
        new: i16,
        /// The access size in bytes before.
        old_size: u32,
        /// The access size in bytes after.
        new_size: u32,
    },
    /// An `ld_imm64` value was replaced.
    Imm64 {
        /// The value before.
        old: u64,
        /// The value after.
        new: u64,
    },
    /// The instruction was replaced by `call 0xbad2310` (both slots of an `ld_imm64`).
    Poisoned,
}

/// One applied CO-RE record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CoreApplied {
    /// The slot patched.
    pub insn: usize,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The local root type.
    pub type_id: TypeId,
    /// The access string.
    pub access: String,
    /// The resolution.
    pub result: CoreResult,
    /// The patch.
    pub patch: CorePatch,
}

/// What [`ProgramSpec::apply_core`] did, record by record in `core_relos` order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CoreReport {
    /// One entry per record.
    pub applied: Vec<CoreApplied>,
}

impl CoreReport {
    /// The number of instructions patched with a new value.
    pub fn patched(&self) -> usize {
        self.applied.len() - self.poisoned()
    }

    /// The number of instructions poisoned.
    pub fn poisoned(&self) -> usize {
        self.applied
            .iter()
            .filter(|a| a.patch == CorePatch::Poisoned)
            .count()
    }

    /// The entry for slot `insn`, if a record patched it (the last one, if several did).
    pub fn at(&self, insn: usize) -> Option<&CoreApplied> {
        self.applied.iter().rev().find(|a| a.insn == insn)
    }
}

/// Why one instruction cannot take a CO-RE result (libbpf fails the load in each case).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorePatchError {
    /// The slot is beyond the program.
    #[error("slot {insn} is beyond the program ({len} slots)")]
    OutOfRange {
        /// The slot.
        insn: usize,
        /// The program length.
        len: usize,
    },
    /// The instruction cannot carry a relocated value (a jump, a call, an ALU instruction
    /// with a register operand, a malformed `ld_imm64`, ...).
    #[error("instruction {opcode:#04x} cannot be relocated")]
    UnsupportedInsn {
        /// Its opcode.
        opcode: u8,
    },
    /// The instruction does not hold the value the compiler computed from the local types.
    #[error("instruction holds {found}, expected {expected} (from the local types)")]
    UnexpectedValue {
        /// The value in the instruction.
        found: i64,
        /// The local value.
        expected: u64,
    },
    /// A new load/store offset does not fit the 16-bit offset field.
    #[error("offset {value} does not fit the 16-bit offset field")]
    OffsetTooLarge {
        /// The offset.
        value: u64,
    },
    /// The access size in the instruction is not the local field size, or the new field
    /// size is not 1, 2, 4 or 8.
    #[error("access size {found} cannot become {new} (local field size {expected})")]
    BadSize {
        /// The instruction's access size in bytes.
        found: u32,
        /// The local field size.
        expected: u32,
        /// The target field size.
        new: u32,
    },
}

/// Why CO-RE relocations could not be applied: the load fails, as with libbpf.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreApplyError {
    /// A record could not be resolved.
    #[error("program {}: CO-RE relocation #{index} at insn {insn} cannot be resolved", Escaped(.program))]
    Resolve {
        /// The program.
        program: String,
        /// The record's index in [`ProgramSpec::core_relos`].
        index: usize,
        /// Its slot.
        insn: usize,
        /// Why (boxed: the error is large).
        #[source]
        source: Box<CoreError>,
    },
    /// A resolved record could not be patched into its instruction.
    #[error("program {}: CO-RE relocation #{index} ({kind}) at insn {insn} cannot be applied", Escaped(.program))]
    Patch {
        /// The program.
        program: String,
        /// The record's index in [`ProgramSpec::core_relos`].
        index: usize,
        /// Its slot.
        insn: usize,
        /// The relocation kind.
        kind: CoreReloKind,
        /// Why.
        #[source]
        source: CorePatchError,
    },
}

impl ProgramSpec {
    /// Resolves every CO-RE record of this program, whose types are `local` (the object's
    /// BTF), against `target` (the kernel's BTF, or `local` itself) and patches the
    /// instructions. Either every record is applied or, on error, the program is left
    /// unchanged. Apply once: a second application finds patched values and fails.
    pub fn apply_core(&mut self, local: &Btf, target: &Btf) -> Result<CoreReport, CoreApplyError> {
        let (insns, report) = self.relocated(local, target)?;
        self.insns = insns;
        Ok(report)
    }

    /// The instructions with every CO-RE record applied, and the report.
    fn relocated(
        &self,
        local: &Btf,
        target: &Btf,
    ) -> Result<(Vec<RawInsn>, CoreReport), CoreApplyError> {
        let mut insns = self.insns.clone();
        let mut report = CoreReport::default();
        for (index, rec) in self.core_relos.iter().enumerate() {
            report.applied.push(apply_one(
                &self.name, index, rec, &mut insns, local, target,
            )?);
        }
        Ok((insns, report))
    }
}

fn apply_one(
    program: &str,
    index: usize,
    rec: &ProgramCoreRelo,
    insns: &mut [RawInsn],
    local: &Btf,
    target: &Btf,
) -> Result<CoreApplied, CoreApplyError> {
    let result = resolve(local, target, &rec.relo).map_err(|source| CoreApplyError::Resolve {
        program: program.to_string(),
        index,
        insn: rec.insn,
        source: Box::new(source),
    })?;
    let patch = patch_insn(insns, rec.insn, &result).map_err(|source| CoreApplyError::Patch {
        program: program.to_string(),
        index,
        insn: rec.insn,
        kind: rec.relo.kind,
        source,
    })?;
    Ok(CoreApplied {
        insn: rec.insn,
        kind: rec.relo.kind,
        type_id: rec.relo.type_id,
        access: rec.relo.access.clone(),
        result,
        patch,
    })
}

impl Object {
    /// Applies the CO-RE records of every program against `target`, or against the
    /// object's own BTF when `target` is `None`. All programs are patched or, on error,
    /// none. Returns one report per program, in [`Object::programs`] order.
    pub fn apply_core(&mut self, target: Option<&Btf>) -> Result<Vec<CoreReport>, CoreApplyError> {
        let Some(local) = self.btf.as_ref() else {
            // Without .BTF there is no .BTF.ext, so no program has CO-RE records.
            return Ok(vec![CoreReport::default(); self.programs.len()]);
        };
        let target = target.unwrap_or(local);
        let done = self
            .programs
            .iter()
            .map(|p| p.relocated(local, target))
            .collect::<Result<Vec<_>, _>>()?;
        let mut reports = Vec::with_capacity(done.len());
        for (p, (insns, report)) in self.programs.iter_mut().zip(done) {
            p.insns = insns;
            reports.push(report);
        }
        Ok(reports)
    }
}

/// Replaces `insn` by `call 0xbad2310`.
fn poison(insn: &mut RawInsn) {
    *insn = RawInsn::new(op::CALL, 0, 0, 0, POISON_HELPER);
}

/// Whether the instruction holds `orig` (compared as libbpf does: the field sign-extended
/// to 64 bits).
fn check(res: &CoreResult, found: i64) -> Result<(), CorePatchError> {
    if res.validate && found as u64 != res.orig_val {
        return Err(CorePatchError::UnexpectedValue {
            found,
            expected: res.orig_val,
        });
    }
    Ok(())
}

/// Patches the instruction at `slot` with a resolved CO-RE result (libbpf's
/// `bpf_core_patch_insn`): an ALU/ALU64 immediate, a LDX/ST/STX offset (and access size
/// when the field size changed), an `ld_imm64` value, or poison.
pub fn patch_insn(
    insns: &mut [RawInsn],
    slot: usize,
    res: &CoreResult,
) -> Result<CorePatch, CorePatchError> {
    let len = insns.len();
    let insn = *insns
        .get(slot)
        .ok_or(CorePatchError::OutOfRange { insn: slot, len })?;
    let is_ld_imm64 = insn.opcode == op::LD_IMM64;
    let poisoned = |insns: &mut [RawInsn]| {
        if is_ld_imm64 {
            if let Some(next) = insns.get_mut(slot + 1) {
                poison(next);
            }
        }
        poison(&mut insns[slot]);
        CorePatch::Poisoned
    };
    if res.poison {
        return Ok(poisoned(insns));
    }
    let unsupported = CorePatchError::UnsupportedInsn {
        opcode: insn.opcode,
    };
    match insn.class() {
        class::ALU | class::ALU64 => {
            if insn.opcode & source::X != 0 {
                return Err(unsupported);
            }
            check(res, i64::from(insn.imm))?;
            let new = res.new_val as i32;
            insns[slot].imm = new;
            Ok(CorePatch::Imm { old: insn.imm, new })
        }
        class::LDX | class::ST | class::STX => {
            check(res, i64::from(insn.off))?;
            if res.new_val > i16::MAX as u64 {
                return Err(CorePatchError::OffsetTooLarge { value: res.new_val });
            }
            if res.bad_size_change {
                return Ok(poisoned(insns));
            }
            let size = Size::from_code(insn.opcode & 0x18).unwrap_or(Size::W);
            let old_size = size.bytes() as u32;
            let mut new_size = old_size;
            let mut opcode = insn.opcode;
            if res.new_size != res.orig_size {
                let bad = CorePatchError::BadSize {
                    found: old_size,
                    expected: res.orig_size,
                    new: res.new_size,
                };
                if old_size != res.orig_size {
                    return Err(bad);
                }
                let new = Size::from_bytes(res.new_size as usize).ok_or(bad)?;
                opcode = (insn.opcode & !0x18) | new.code();
                new_size = res.new_size;
            }
            let new = res.new_val as i16;
            insns[slot].off = new;
            insns[slot].opcode = opcode;
            Ok(CorePatch::Off {
                old: insn.off,
                new,
                old_size,
                new_size,
            })
        }
        class::LD => {
            let next = insns.get(slot + 1).copied();
            let well_formed = is_ld_imm64
                && insn.src == 0
                && insn.off == 0
                && next.is_some_and(|n| n.opcode == 0 && n.dst == 0 && n.src == 0 && n.off == 0);
            let Some(next) = next.filter(|_| well_formed) else {
                return Err(unsupported);
            };
            let old = u64::from(insn.imm as u32) | (u64::from(next.imm as u32) << 32);
            check(res, old as i64)?;
            insns[slot].imm = res.new_val as u32 as i32;
            insns[slot + 1].imm = (res.new_val >> 32) as u32 as i32;
            Ok(CorePatch::Imm64 {
                old,
                new: res.new_val,
            })
        }
        _ => Err(unsupported),
    }
}
