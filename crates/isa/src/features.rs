//! Conformance groups and CPU versions of instructions (RFC 9669 §2.4 and the conformance
//! suite's gating table).

use crate::insn::{Call, Insn, Width};
use crate::opcodes::{AluOp, ByteOrder, Group, Size};

/// The Linux "cpu version" (`-mcpu=v1..v4`) that introduced an instruction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum CpuVersion {
    /// Classic eBPF.
    V1,
    /// JLT/JLE/JSLT/JSLE on 64 bits.
    V2,
    /// JMP32, atomics, local calls.
    V3,
    /// `gotol`, sdiv/smod, movsx, MEMSX, bswap.
    V4,
}

impl Insn {
    /// The conformance groups the instruction needs (RFC 9669 §2.4). A 64-bit group implies
    /// its 32-bit group, which is not repeated here.
    pub fn group(&self) -> Group {
        match *self {
            Insn::Alu { width, op, .. } => match (op.is_divmul(), width) {
                (true, Width::W32) => Group::Divmul32,
                (true, Width::W64) => Group::Divmul64,
                (false, Width::W32) => Group::Base32,
                (false, Width::W64) => Group::Base64,
            },
            Insn::Neg { width, .. } | Insn::MovSx { width, .. } | Insn::Jmp { width, .. } => {
                if width.is_64() {
                    Group::Base64
                } else {
                    Group::Base32
                }
            }
            Insn::Endian { bits, .. } => {
                if bits == 64 {
                    Group::Base64
                } else {
                    Group::Base32
                }
            }
            Insn::Ja { .. } | Insn::Call(_) | Insn::Exit => Group::Base32,
            Insn::CallX { .. } => Group::Callx,
            Insn::LdImm64 { .. } => Group::Base64,
            Insn::LdAbs { .. } | Insn::LdInd { .. } => Group::Packet,
            Insn::Load { size, .. } | Insn::Store { size, .. } => {
                if size == Size::DW {
                    Group::Base64
                } else {
                    Group::Base32
                }
            }
            Insn::Atomic { op, .. } if op.is_acquire_release() => Group::LinuxExt,
            Insn::Atomic { size, .. } => {
                if size == Size::DW {
                    Group::Atomic64
                } else {
                    Group::Atomic32
                }
            }
            Insn::MayGoto { .. } | Insn::AddrSpaceCast { .. } => Group::LinuxExt,
        }
    }

    /// The first Linux cpu version with this instruction.
    pub fn cpu_version(&self) -> CpuVersion {
        use crate::opcodes::JmpCond::{Le, Lt, Sle, Slt};
        match *self {
            Insn::Alu {
                op: AluOp::Sdiv | AluOp::Smod,
                ..
            }
            | Insn::MovSx { .. }
            | Insn::Load { signed: true, .. }
            | Insn::Ja { long: true, .. }
            | Insn::Endian {
                order: ByteOrder::Swap,
                ..
            }
            | Insn::MayGoto { .. }
            | Insn::AddrSpaceCast { .. } => CpuVersion::V4,
            Insn::Jmp {
                width: Width::W32, ..
            }
            | Insn::Atomic { .. }
            | Insn::Call(Call::Local(_) | Call::Kfunc { .. }) => CpuVersion::V3,
            Insn::Jmp {
                cond: Lt | Le | Slt | Sle,
                ..
            } => CpuVersion::V2,
            _ => CpuVersion::V1,
        }
    }
}
