//! Static precision: which registers and stack slots of the current frame may hold a scalar
//! whose exact value matters at each slot (a sound, simpler stand-in for Linux's precision
//! backtracking, computed once per program).
//!
//! A value "matters" if it may flow (through ALU ops, moves, spills and fills) into a use
//! whose outcome depends on it before being overwritten: a memory access address, 64-bit
//! pointer arithmetic (`add`/`sub` of two registers, either of which may be a pointer), a
//! conditional jump, a helper or local call argument, the return value, a store through a
//! pointer that may point to a stack, or an atomic op. Stores through pointers that cannot
//! point to a stack (map values, packet, context) discard the value: later loads from such
//! memory are unknown scalars anyway. Loads through a pointer that may point to a stack,
//! local calls and helpers with callbacks make every stack slot of the frame matter.
//!
//! At a checkpoint, a scalar register or spilled scalar that does not matter is compared as
//! "any scalar" ([`crate::prune`]): every concrete run from the new state is matched by a
//! run from the old state that differs only in values that never decide anything.

use ebpfvm_abi::helpers::{helper_by_id, ArgKind};
use ebpfvm_isa::{AluOp, AtomicOp, Call, Insn, Reg as IsaReg, Source};

use crate::liveness::RegSet;

const CALLER_SAVED: RegSet = 0b11_1111; // r0–r5
const ARGS: RegSet = 0b11_1110; // r1–r5
const ALL_SLOTS: u64 = u64::MAX;

/// Registers and stack slots whose value matters, per slot.
#[derive(Debug)]
pub struct Precision {
    regs: Vec<RegSet>,
    slots: Vec<u64>,
}

fn bit(r: IsaReg) -> RegSet {
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

/// The stack slot index of an access `r10 + off` (if in range).
fn fp_slot(off: i16) -> u64 {
    let off = i32::from(off);
    if (-512..0).contains(&off) {
        1u64 << (((-off - 1) / 8) as u32)
    } else {
        0
    }
}

/// A helper whose arguments may call back into the program (reading the caller's stack).
fn helper_calls_back(id: i32) -> bool {
    u32::try_from(id)
        .ok()
        .and_then(helper_by_id)
        .is_none_or(|p| p.args.contains(&ArgKind::Callback))
}

fn helper_args(id: i32) -> RegSet {
    let n = u32::try_from(id)
        .ok()
        .and_then(helper_by_id)
        .map_or(5, |p| p.args.len());
    ((1u16 << (n + 1)) - 1) & ARGS
}

/// Forward "may point to a stack (of this frame or a caller's)" per slot.
fn may_stack(insns: &[Option<Insn>], succ: &[Vec<usize>], entries: &[usize]) -> Vec<RegSet> {
    let n = insns.len();
    let mut escaped = false;
    loop {
        let mut inn = vec![0 as RegSet; n];
        for &e in entries {
            if e != 0 && e < n {
                inn[e] = ARGS;
            }
        }
        let mut changed = true;
        let mut esc = false;
        while changed {
            changed = false;
            for pc in 0..n {
                let Some(insn) = &insns[pc] else { continue };
                let i = inn[pc] | (1 << 10);
                let has = |r: IsaReg| i & (1 << r.index()) != 0;
                let set = |m: RegSet, r: IsaReg, v: bool| {
                    if r.index() >= 10 {
                        m
                    } else if v {
                        m | (1 << r.index())
                    } else {
                        m & !(1 << r.index())
                    }
                };
                let out = match *insn {
                    Insn::Alu { op, dst, src, .. } => match (op, src) {
                        (AluOp::Mov, Source::Reg(s)) => set(i, dst, has(s)),
                        (AluOp::Mov, Source::Imm(_)) => set(i, dst, false),
                        (_, Source::Reg(s)) => set(i, dst, has(dst) || has(s)),
                        _ => i,
                    },
                    Insn::MovSx { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => {
                        set(i, dst, has(src))
                    }
                    Insn::LdImm64 { dst, .. } => set(i, dst, false),
                    Insn::Load { dst, .. } => set(i, dst, escaped),
                    Insn::Store { src, .. } => {
                        if let Source::Reg(s) = src {
                            esc |= has(s);
                        }
                        i
                    }
                    Insn::Atomic { src, .. } => {
                        esc |= has(src);
                        if escaped {
                            i | bit(src) | 1
                        } else {
                            i
                        }
                    }
                    Insn::Call(Call::Helper(id)) => {
                        if helper_calls_back(id) && i & ARGS != 0 {
                            esc = true;
                        }
                        i & !CALLER_SAVED
                    }
                    Insn::Call(_) | Insn::CallX { .. } => {
                        let args = i & ARGS != 0;
                        esc |= args;
                        (i & !CALLER_SAVED) | RegSet::from(args)
                    }
                    Insn::LdAbs { .. } | Insn::LdInd { .. } => i & !CALLER_SAVED,
                    _ => i,
                };
                let out = out & 0x3ff;
                for &s in &succ[pc] {
                    if s < n && inn[s] | out != inn[s] {
                        inn[s] |= out;
                        changed = true;
                    }
                }
            }
        }
        if esc && !escaped {
            escaped = true;
            continue;
        }
        for m in inn.iter_mut() {
            *m |= 1 << 10;
        }
        return inn;
    }
}

impl Precision {
    /// Computes precision over the decoded slots; `succ` gives the intraprocedural
    /// successors of each slot, `entries` the subprogram entries.
    pub fn compute(insns: &[Option<Insn>], succ: &[Vec<usize>], entries: &[usize]) -> Precision {
        let n = insns.len();
        let ms = may_stack(insns, succ, entries);
        let mut regs = vec![0 as RegSet; n];
        let mut slots = vec![0u64; n];
        let mut changed = true;
        while changed {
            changed = false;
            for pc in (0..n).rev() {
                let Some(insn) = &insns[pc] else { continue };
                let mut o: RegSet = 0;
                let mut s: u64 = 0;
                for &x in &succ[pc] {
                    o |= regs.get(x).copied().unwrap_or(0);
                    s |= slots.get(x).copied().unwrap_or(0);
                }
                let stackish = |r: IsaReg| r.index() == 10 || ms[pc] & (1 << r.index()) != 0;
                let (nr, ns) = transfer(insn, o, s, &stackish);
                if nr != regs[pc] || ns != slots[pc] {
                    regs[pc] = nr;
                    slots[pc] = ns;
                    changed = true;
                }
            }
        }
        Precision { regs, slots }
    }

    /// Registers whose value may matter on entry to `pc`.
    pub fn regs_in(&self, pc: usize) -> RegSet {
        self.regs.get(pc).copied().unwrap_or(0x3ff)
    }

    /// Stack slots (of the current frame) whose value may matter on entry to `pc`.
    pub fn slots_in(&self, pc: usize) -> u64 {
        self.slots.get(pc).copied().unwrap_or(ALL_SLOTS)
    }
}

fn transfer(insn: &Insn, o: RegSet, s: u64, stackish: &dyn Fn(IsaReg) -> bool) -> (RegSet, u64) {
    let has = |m: RegSet, r: IsaReg| m & bit(r) != 0;
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            if op == AluOp::Mov {
                let mut r = o & !bit(dst);
                if has(o, dst) {
                    r |= src_bit(src);
                }
                return (r, s);
            }
            match src {
                Source::Imm(_) => (o, s),
                Source::Reg(sr) => {
                    let ptr_arith = width.is_64() && matches!(op, AluOp::Add | AluOp::Sub);
                    if has(o, dst) || ptr_arith {
                        (o | bit(dst) | bit(sr), s)
                    } else {
                        (o, s)
                    }
                }
            }
        }
        Insn::Neg { .. } | Insn::Endian { .. } => (o, s),
        Insn::MovSx { dst, src, .. } => {
            let mut r = o & !bit(dst);
            if has(o, dst) {
                r |= bit(src);
            }
            (r, s)
        }
        Insn::AddrSpaceCast { dst, src, .. } => ((o & !bit(dst)) | bit(src), s),
        Insn::Ja { .. } | Insn::MayGoto { .. } => (o, s),
        Insn::Jmp { dst, src, .. } => (o | bit(dst) | src_bit(src), s),
        Insn::Call(Call::Helper(id)) => {
            let r = (o & !CALLER_SAVED) | helper_args(id);
            let sl = if helper_calls_back(id) { ALL_SLOTS } else { s };
            (r, sl)
        }
        Insn::Call(_) | Insn::CallX { .. } => ((o & !CALLER_SAVED) | ARGS, ALL_SLOTS),
        Insn::Exit => (1, 0),
        Insn::LdImm64 { dst, .. } => (o & !bit(dst), s),
        Insn::LdAbs { .. } => ((o & !CALLER_SAVED) | (1 << 6), s),
        Insn::LdInd { src, .. } => ((o & !CALLER_SAVED) | (1 << 6) | bit(src), s),
        Insn::Load { dst, src, off, .. } => {
            let r = (o & !bit(dst)) | bit(src);
            let mut sl = s;
            if has(o, dst) {
                if src.index() == 10 {
                    sl |= fp_slot(off);
                } else if stackish(src) {
                    sl = ALL_SLOTS;
                }
            }
            (r, sl)
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            let mut r = o | bit(dst);
            let mut sl = s;
            if dst.index() == 10 {
                let slot = fp_slot(off);
                if s & slot != 0 || slot == 0 {
                    r |= src_bit(src);
                }
                if size.bytes() == 8 {
                    sl &= !slot;
                }
            } else if stackish(dst) {
                r |= src_bit(src);
            }
            (r, sl)
        }
        Insn::Atomic {
            op, dst, src, off, ..
        } => {
            let mut r = o | bit(dst) | bit(src);
            if op == AtomicOp::Cmpxchg {
                r |= 1;
            }
            let sl = if dst.index() == 10 {
                s | fp_slot(off)
            } else if stackish(dst) {
                ALL_SLOTS
            } else {
                s
            };
            (r, sl)
        }
    }
}
