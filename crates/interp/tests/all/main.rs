//! Integration tests of the reference interpreter. Expected values come from RFC 9669's
//! semantics (../shared/spec/isa.md), worked out by hand in each test.

mod checked;
mod env;
mod semantics;

use ebpfvm_abi::{HelperHost, NoHelpers, Trap};
use ebpfvm_interp::{ExecError, Program, Region, Vm};
use ebpfvm_isa::{encode_all, AluOp, Insn, JmpCond, Reg, Source, Width};

/// Runs `insns` with `args` and no memory regions.
pub fn run(insns: &[Insn], args: &[u64]) -> Result<u64, ExecError> {
    run_with(insns, args, &[], &mut NoHelpers)
}

/// Runs `insns` with everything given.
pub fn run_with(
    insns: &[Insn],
    args: &[u64],
    regions: &[Region<'_>],
    host: &mut dyn HelperHost,
) -> Result<u64, ExecError> {
    let prog = Program::from_slots(&encode_all(insns)).expect("test program loads");
    Vm::new().run(&prog, args, regions, host)
}

/// `dst = dst op src` (64-bit).
pub fn alu64(op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu {
        width: Width::W64,
        op,
        dst,
        src,
    }
}

/// `dst = dst op src` (32-bit).
pub fn alu32(op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu {
        width: Width::W32,
        op,
        dst,
        src,
    }
}

/// `r0 = imm64`.
pub fn ld64(dst: Reg, v: u64) -> Insn {
    Insn::LdImm64 {
        dst,
        imm: ebpfvm_isa::Imm64::Value(v),
    }
}

/// Conditional 64-bit jump.
pub fn jmp(cond: JmpCond, dst: Reg, src: Source, off: i16) -> Insn {
    Insn::Jmp {
        width: Width::W64,
        cond,
        dst,
        src,
        off,
    }
}

/// The trap of a failed run.
pub fn trap_of(r: Result<u64, ExecError>) -> Trap {
    r.expect_err("run must fault").trap
}
