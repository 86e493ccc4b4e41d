//! Backward register liveness, per function: which of r0–r9 may be read at or after each
//! slot before being written. Registers not live at a prune point cannot influence the rest
//! of the path, so pruning ignores them.

use ebpfvm_abi::helpers::helper_by_id;
use ebpfvm_isa::{AtomicOp, Call, Insn, Source};

/// A set of registers r0–r9 as a bit mask.
pub type RegSet = u16;

const CALLER_SAVED: RegSet = 0b11_1111; // r0–r5
const ARGS: RegSet = 0b11_1110; // r1–r5

/// Registers live on entry to each slot.
#[derive(Debug)]
pub struct Liveness {
    live_in: Vec<RegSet>,
}

impl Liveness {
    /// Computes liveness over the decoded slots; `succ` gives the intraprocedural
    /// successors of each slot.
    pub fn compute(insns: &[Option<Insn>], succ: &[Vec<usize>]) -> Liveness {
        let n = insns.len();
        let mut live_in = vec![0 as RegSet; n];
        let mut changed = true;
        while changed {
            changed = false;
            for pc in (0..n).rev() {
                let Some(insn) = &insns[pc] else { continue };
                let mut out: RegSet = 0;
                for &s in &succ[pc] {
                    out |= live_in.get(s).copied().unwrap_or(0);
                }
                let (uses, defs) = uses_defs(insn);
                let new = uses | (out & !defs);
                if new != live_in[pc] {
                    live_in[pc] = new;
                    changed = true;
                }
            }
        }
        Liveness { live_in }
    }

    /// Registers live on entry to `pc`.
    pub fn live_in(&self, pc: usize) -> RegSet {
        self.live_in.get(pc).copied().unwrap_or(0x3ff)
    }
}

fn bit(r: ebpfvm_isa::Reg) -> RegSet {
    if r.index() < 10 {
        1 << r.index()
    } else {
        0
    }
}

fn src_bit(s: Source) -> RegSet {
    match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    }
}

/// (registers read, registers written) by one instruction.
fn uses_defs(insn: &Insn) -> (RegSet, RegSet) {
    use ebpfvm_isa::AluOp;
    match *insn {
        Insn::Alu { op, dst, src, .. } => {
            if op == AluOp::Mov {
                (src_bit(src), bit(dst))
            } else {
                (bit(dst) | src_bit(src), bit(dst))
            }
        }
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
        Insn::MovSx { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Ja { .. } | Insn::MayGoto { .. } => (0, 0),
        Insn::Jmp { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Call(Call::Helper(id)) => {
            let n = u32::try_from(id)
                .ok()
                .and_then(helper_by_id)
                .map_or(5, |p| p.args.len());
            let uses = ((1u16 << (n + 1)) - 1) & ARGS;
            (uses, CALLER_SAVED)
        }
        Insn::Call(_) | Insn::CallX { .. } => (ARGS, CALLER_SAVED),
        Insn::Exit => (1, 0),
        Insn::LdImm64 { dst, .. } => (0, bit(dst)),
        Insn::LdAbs { .. } => (1 << 6, CALLER_SAVED),
        Insn::LdInd { src, .. } => ((1 << 6) | bit(src), CALLER_SAVED),
        Insn::Load { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Store { dst, src, .. } => (bit(dst) | src_bit(src), 0),
        Insn::Atomic {
            op,
            fetch,
            dst,
            src,
            ..
        } => match op {
            AtomicOp::LoadAcquire => (bit(src), bit(dst)),
            AtomicOp::StoreRelease => (bit(dst) | bit(src), 0),
            AtomicOp::Cmpxchg => (bit(dst) | bit(src) | 1, 1),
            _ => {
                let defs = if fetch || op.always_fetches() {
                    bit(src)
                } else {
                    0
                };
                (bit(dst) | bit(src), defs)
            }
        },
    }
}
