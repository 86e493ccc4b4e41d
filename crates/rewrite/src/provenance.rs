//! Where pointers come from: a forward dataflow analysis that tells, for every register and
//! every 8-byte stack slot at every instruction, whether it holds the context pointer (and
//! at which constant offset from its start).
//!
//! It tracks what the kernel's verifier tracks for the context pointer and nothing more:
//!
//! - **values** ([`Val`]) are sets of possibilities: the context pointer plus an offset
//!   ([`Off`]: one constant, or varying), a pointer into the current function's stack
//!   (`r10` plus an offset), the address of a function (`ld_imm64` src 4, for callbacks),
//!   a pointer into some caller's stack (`FOREIGN`), something else (`OTHER`: scalars and
//!   every other pointer) and `UNKNOWN` (a stack slot a called function may have
//!   overwritten). A join is the union, so "the context pointer on one path and a scalar
//!   on another" is a value of its own, which a memory access rejects;
//! - **registers**: `mov`, `add`/`sub` of an immediate and 64-bit `add`/`sub` of a register
//!   (a varying offset) carry pointers; every other operation, 32-bit ones included, makes
//!   `OTHER`; a call clobbers r0–r5 (`OTHER`); r10 is the stack pointer;
//! - **stack**: an 8-byte store of a register to an 8-aligned slot of the function's frame
//!   (through r10 or any register known to point there) spills the register, an 8-byte
//!   load fills it; any other store to a slot makes it `OTHER`, a store at a varying
//!   stack offset joins into every slot. Loads from anywhere else give `OTHER` (the kernel
//!   treats them as scalars, so no accepted program uses them as the context pointer);
//! - **functions**: the entry of the program gets the context pointer in r1; a
//!   bpf-to-bpf callee's r1–r5 are the join of what every call site passes (a pointer to
//!   the caller's stack arrives as `FOREIGN`); a callback's arguments are what the helper
//!   that calls it passes (`OTHER`, except the callback context of `bpf_loop`,
//!   `bpf_for_each_map_elem`, `bpf_find_vma` and `bpf_user_ringbuf_drain`, which is the
//!   caller's argument); helpers and callees leave the caller's r6–r9 and stack alone,
//!   except that a callee (or callback) that stores 8 bytes through a pointer into a
//!   caller's stack makes the caller's slots from the lowest stack pointer it passed
//!   upwards `UNKNOWN`.
//!
//! The analysis is path-insensitive and context-insensitive (one state per block, joined
//! over callers), iterated to a fixpoint over the whole program. Every component of
//! [`Val`] can only grow a bounded number of times, so the fixpoint is reached; a work
//! budget and a memory budget for the stored states turn pathological inputs into an
//! error instead of a long run.

use std::collections::VecDeque;

use ebpfvm_isa::{AluOp, AtomicOp, Call, Imm64, Insn, Reg, Size, Source, Width};

use crate::cfg::Cfg;
use crate::RewriteError;

/// A constant offset, a varying one, or none (this kind of pointer is not possible).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Off {
    /// Not this kind of pointer on any path.
    #[default]
    None,
    /// This kind of pointer, at this offset, on every path where it is this kind.
    Const(i32),
    /// This kind of pointer at offsets that differ between paths or are not constant.
    Var,
}

impl Off {
    fn join(self, other: Off) -> Off {
        match (self, other) {
            (Off::None, x) | (x, Off::None) => x,
            (Off::Const(a), Off::Const(b)) if a == b => Off::Const(a),
            _ => Off::Var,
        }
    }

    fn is_some(self) -> bool {
        !matches!(self, Off::None)
    }

    /// The offset moved by `delta` (a varying offset if it leaves the i32 range).
    fn shift(self, delta: i64) -> Off {
        match self {
            Off::Const(a) => i64::from(a)
                .checked_add(delta)
                .and_then(|x| i32::try_from(x).ok())
                .map_or(Off::Var, Off::Const),
            x => x,
        }
    }

    fn vary(self) -> Off {
        if self.is_some() {
            Off::Var
        } else {
            Off::None
        }
    }
}

/// The abstract value of a register or stack slot: the set of things it may hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Val {
    /// The context pointer plus an offset.
    pub(crate) ctx: Off,
    /// The current function's frame pointer (r10) plus an offset.
    pub(crate) stack: Off,
    /// The address of a function: its entry slot.
    pub(crate) func: Off,
    /// `OTHER`, `FOREIGN`, `UNKNOWN`.
    pub(crate) flags: u8,
}

/// A scalar or a pointer that is neither the context, nor this frame, nor a function.
const OTHER: u8 = 1;
/// A pointer into a caller's stack.
const FOREIGN: u8 = 2;
/// Whatever a called function stored into this stack slot.
const UNKNOWN: u8 = 4;

impl Val {
    /// Nothing (no path reaches with a value).
    pub(crate) const BOTTOM: Val = Val {
        ctx: Off::None,
        stack: Off::None,
        func: Off::None,
        flags: 0,
    };
    /// A scalar or an unrelated pointer.
    pub(crate) const OTHER: Val = Val {
        flags: OTHER,
        ..Val::BOTTOM
    };
    const UNKNOWN: Val = Val {
        flags: UNKNOWN,
        ..Val::BOTTOM
    };

    /// The context pointer plus `off`.
    pub(crate) const fn ctx(off: i32) -> Val {
        Val {
            ctx: Off::Const(off),
            ..Val::BOTTOM
        }
    }

    /// This frame's r10 plus `off`.
    pub(crate) const fn stack(off: i32) -> Val {
        Val {
            stack: Off::Const(off),
            ..Val::BOTTOM
        }
    }

    fn func(entry: usize) -> Val {
        Val {
            func: i32::try_from(entry).map_or(Off::Var, Off::Const),
            ..Val::BOTTOM
        }
    }

    pub(crate) fn join(self, o: Val) -> Val {
        Val {
            ctx: self.ctx.join(o.ctx),
            stack: self.stack.join(o.stack),
            func: self.func.join(o.func),
            flags: self.flags | o.flags,
        }
    }

    /// Whether some path gives something other than the context pointer.
    pub(crate) fn maybe_not_ctx(self) -> bool {
        self.stack.is_some() || self.func.is_some() || self.flags & (OTHER | FOREIGN) != 0
    }

    /// Whether some path gives a value a called function wrote.
    pub(crate) fn maybe_unknown(self) -> bool {
        self.flags & UNKNOWN != 0
    }

    fn maybe_foreign(self) -> bool {
        self.flags & FOREIGN != 0
    }

    /// The value moved by a constant.
    fn shift(self, delta: i64) -> Val {
        let mut v = Val {
            ctx: self.ctx.shift(delta),
            stack: self.stack.shift(delta),
            func: Off::None,
            flags: self.flags,
        };
        if self.func.is_some() {
            v.flags |= OTHER;
        }
        v
    }

    /// `a + b` or `a - b` of two registers: pointers get varying offsets.
    fn arith(a: Val, b: Val) -> Val {
        let pointers = |v: Val| v.ctx.is_some() || v.stack.is_some() || v.maybe_foreign();
        if !pointers(a) && !pointers(b) {
            return Val::OTHER;
        }
        let mut v = Val {
            ctx: a.ctx.join(b.ctx).vary(),
            stack: a.stack.join(b.stack).vary(),
            func: Off::None,
            flags: (a.flags | b.flags) & (FOREIGN | UNKNOWN),
        };
        if (a.flags & OTHER != 0 && b.flags & OTHER != 0) || a.func.is_some() || b.func.is_some() {
            v.flags |= OTHER;
        }
        v
    }

    /// The value as the callee sees it: this frame is a caller's frame there.
    fn to_callee(self) -> Val {
        let mut v = self;
        if v.stack.is_some() {
            v.stack = Off::None;
            v.flags |= FOREIGN;
        }
        v
    }
}

/// Bytes of stack per frame.
const STACK: i64 = ebpfvm_abi::limits::STACK_SIZE as i64;
/// 8-byte slots per frame.
const SLOTS: usize = ebpfvm_abi::limits::STACK_SIZE / 8;

/// The slot `[off, off + 8)` of the frame (off relative to r10), if it is one.
fn slot_index(off: i64) -> Option<u8> {
    if (-STACK..0).contains(&off) && off % 8 == 0 {
        u8::try_from((off + STACK) / 8).ok()
    } else {
        None
    }
}

/// The slots `[off, off + size)` overlaps.
fn overlapped_slots(off: i64, size: i64) -> std::ops::Range<u8> {
    let lo = off.max(-STACK);
    let hi = off.saturating_add(size).min(0);
    if lo >= hi {
        return 0..0;
    }
    let first = (lo + STACK) / 8;
    let last = (hi - 1 + STACK) / 8;
    // Both are in 0..SLOTS.
    (first as u8)..(last as u8 + 1)
}

/// The abstract state at one point of one function.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct State {
    /// r0–r10.
    pub(crate) regs: [Val; Reg::COUNT],
    /// Stack slots that hold something other than [`Val::OTHER`], sorted by slot index
    /// (slot `i` is `[r10 - 512 + 8 i, r10 - 504 + 8 i)`).
    slots: Vec<(u8, Val)>,
}

impl State {
    /// The state at a function's entry, with `args` in r1–r5.
    fn entry(args: [Val; 5]) -> State {
        let mut regs = [Val::OTHER; Reg::COUNT];
        regs[1..6].copy_from_slice(&args);
        regs[Reg::FP.index()] = Val::stack(0);
        State {
            regs,
            slots: Vec::new(),
        }
    }

    /// Bytes the state takes (for the memory budget).
    fn bytes(&self) -> usize {
        std::mem::size_of::<State>() + self.slots.len() * std::mem::size_of::<(u8, Val)>()
    }

    fn reg(&self, r: Reg) -> Val {
        self.regs[r.index()]
    }

    fn set(&mut self, r: Reg, v: Val) {
        self.regs[r.index()] = v;
    }

    fn slot(&self, i: u8) -> Val {
        match self.slots.binary_search_by_key(&i, |(s, _)| *s) {
            Ok(k) => self.slots[k].1,
            Err(_) => Val::OTHER,
        }
    }

    fn set_slot(&mut self, i: u8, v: Val) {
        match self.slots.binary_search_by_key(&i, |(s, _)| *s) {
            Ok(k) if v == Val::OTHER => {
                self.slots.remove(k);
            }
            Ok(k) => self.slots[k].1 = v,
            Err(_) if v == Val::OTHER => {}
            Err(k) => self.slots.insert(k, (i, v)),
        }
    }

    /// Joins `v` into every slot from index `from` on.
    fn weaken_slots(&mut self, from: u8, v: Val) {
        for i in from..SLOTS as u8 {
            let old = self.slot(i);
            self.set_slot(i, old.join(v));
        }
    }

    /// Joins `other` into `self`; whether `self` changed.
    fn join_from(&mut self, other: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.regs.iter_mut().zip(other.regs.iter()) {
            let j = a.join(*b);
            changed |= j != *a;
            *a = j;
        }
        if self.slots != other.slots {
            let mut merged = Vec::with_capacity(self.slots.len().max(other.slots.len()));
            let (mut i, mut k) = (0, 0);
            while i < self.slots.len() || k < other.slots.len() {
                let a = self.slots.get(i).copied();
                let b = other.slots.get(k).copied();
                let (slot, v) = match (a, b) {
                    (Some((sa, va)), Some((sb, vb))) if sa == sb => {
                        i += 1;
                        k += 1;
                        (sa, va.join(vb))
                    }
                    (Some((sa, va)), Some((sb, _))) if sa < sb => {
                        i += 1;
                        (sa, va.join(Val::OTHER))
                    }
                    (Some((sa, va)), None) => {
                        i += 1;
                        (sa, va.join(Val::OTHER))
                    }
                    (_, Some((sb, vb))) => {
                        k += 1;
                        (sb, vb.join(Val::OTHER))
                    }
                    (None, None) => break,
                };
                if v != Val::OTHER {
                    merged.push((slot, v));
                }
            }
            if merged != self.slots {
                changed = true;
                self.slots = merged;
            }
        }
        changed
    }

    /// What an `size`-byte load at `base + off` reads.
    fn load(&self, base: Val, off: i16, size: Size) -> Val {
        let mut out = Val::BOTTOM;
        if base.ctx.is_some() || base.func.is_some() || base.flags != 0 {
            out = Val::OTHER;
        }
        match base.stack {
            Off::None => {}
            Off::Const(k) => {
                let addr = i64::from(k) + i64::from(off);
                out = out.join(match slot_index(addr) {
                    Some(i) if size == Size::DW => self.slot(i),
                    _ => Val::OTHER,
                });
            }
            Off::Var => {
                out = out.join(Val::OTHER);
                for &(_, v) in &self.slots {
                    out = out.join(v);
                }
            }
        }
        if out == Val::BOTTOM {
            Val::OTHER
        } else {
            out
        }
    }

    /// The effect on this frame of a `size`-byte store of `v` at `base + off`; whether it
    /// may write 8 bytes into a caller's frame.
    fn store(&mut self, base: Val, off: i16, size: Size, v: Val) -> bool {
        let v = if size == Size::DW { v } else { Val::OTHER };
        let only_stack = Val {
            stack: base.stack,
            ..Val::BOTTOM
        } == base;
        match base.stack {
            Off::None => {}
            Off::Const(k) => {
                let addr = i64::from(k) + i64::from(off);
                let exact = slot_index(addr).filter(|_| size == Size::DW);
                for i in overlapped_slots(addr, size.bytes() as i64) {
                    let new = if exact == Some(i) { v } else { Val::OTHER };
                    if only_stack {
                        self.set_slot(i, new);
                    } else {
                        let old = self.slot(i);
                        self.set_slot(i, old.join(new));
                    }
                }
            }
            Off::Var => self.weaken_slots(0, v.join(Val::OTHER)),
        }
        base.maybe_foreign() && size == Size::DW
    }

    /// After a call that may have written through the stack pointers in `args` (a callee
    /// that writes into its callers' frames): the slots from the lowest such pointer up
    /// may hold anything.
    fn clobber_from_args(&mut self, args: &[Val]) {
        let mut from: Option<i64> = None;
        for a in args {
            match a.stack {
                Off::None => {}
                Off::Const(k) => from = Some(from.map_or(i64::from(k), |f| f.min(i64::from(k)))),
                Off::Var => from = Some(-STACK),
            }
        }
        if let Some(f) = from {
            let first = f.clamp(-STACK, 0);
            let index = ((first + STACK) / 8) as u8;
            self.weaken_slots(index, Val::UNKNOWN);
        }
    }
}

/// A helper that calls a program function back.
struct CallbackHelper {
    /// Helper id.
    id: i32,
    /// The argument register holding the callback.
    callback: u8,
    /// The argument register holding the callback's context, and the callback's argument
    /// register receiving it.
    context: Option<(u8, u8)>,
}

/// The helpers with callbacks; ids and argument positions from Linux
/// `include/uapi/linux/bpf.h`.
const CALLBACK_HELPERS: &[CallbackHelper] = &[
    // bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags):
    // callback_fn(map, key, value, callback_ctx).
    CallbackHelper {
        id: 164,
        callback: 2,
        context: Some((3, 4)),
    },
    // bpf_timer_set_callback(timer, callback_fn): callback_fn(map, key, value).
    CallbackHelper {
        id: 170,
        callback: 2,
        context: None,
    },
    // bpf_find_vma(task, addr, callback_fn, callback_ctx, flags):
    // callback_fn(task, vma, callback_ctx).
    CallbackHelper {
        id: 180,
        callback: 3,
        context: Some((4, 3)),
    },
    // bpf_loop(nr_loops, callback_fn, callback_ctx, flags): callback_fn(index, callback_ctx).
    CallbackHelper {
        id: 181,
        callback: 2,
        context: Some((3, 2)),
    },
    // bpf_user_ringbuf_drain(map, callback_fn, ctx, flags): callback_fn(dynptr, ctx).
    CallbackHelper {
        id: 209,
        callback: 2,
        context: Some((3, 2)),
    },
];

/// The fixpoint: the state at the start of every reachable block.
#[derive(Debug)]
pub(crate) struct Provenance {
    /// Entry state of every block; `None` if unreachable.
    block_in: Vec<Option<Box<State>>>,
    /// Whether each function may store into its callers' frames.
    writes_caller: Vec<bool>,
}

/// The work list and what it has found so far.
struct Solver<'a> {
    cfg: &'a Cfg,
    block_in: Vec<Option<Box<State>>>,
    /// Whether a function (or a callee of it) may store 8 bytes into a caller's frame.
    writes_caller: Vec<bool>,
    /// Reached blocks with a call whose effect depends on `writes_caller`.
    call_blocks: Vec<usize>,
    is_call_block: Vec<bool>,
    queue: VecDeque<usize>,
    queued: Vec<bool>,
    /// Instruction visits left.
    work_left: u64,
    /// Bytes of stored states left.
    memory_left: usize,
    /// Replaying a finished fixpoint: no inter-procedural effects.
    replaying: bool,
}

/// Bounds on the analysis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    /// Instruction visits.
    pub(crate) work: u64,
    /// Bytes of stored block states.
    pub(crate) memory: usize,
}

const TOO_COMPLEX: &str = "program too complex for the context access analysis";

impl Provenance {
    /// Runs the analysis, the program entry getting `entry_r1` in r1.
    pub(crate) fn analyze(
        cfg: &Cfg,
        entry_r1: Val,
        budget: Budget,
    ) -> Result<Provenance, RewriteError> {
        let n = cfg.blocks.len();
        let mut s = Solver {
            cfg,
            block_in: vec![None; n],
            writes_caller: vec![false; cfg.funcs.len()],
            call_blocks: Vec::new(),
            is_call_block: vec![false; n],
            queue: VecDeque::new(),
            queued: vec![false; n],
            work_left: budget.work,
            memory_left: budget.memory,
            replaying: false,
        };
        if !cfg.funcs.is_empty() {
            let mut args = [Val::OTHER; 5];
            args[0] = entry_r1;
            s.enter(0, args);
        }
        while let Some(b) = s.queue.pop_front() {
            s.queued[b] = false;
            s.run_block(b)?;
        }
        if s.memory_left == 0 {
            let pc = cfg.insns.first().map_or(0, |(pc, _)| *pc);
            return Err(RewriteError::new(
                pc,
                format!(
                    "{TOO_COMPLEX} (its states need more than {} bytes)",
                    budget.memory
                ),
            ));
        }
        Ok(Provenance {
            block_in: s.block_in,
            writes_caller: s.writes_caller,
        })
    }
}

impl Solver<'_> {
    fn push(&mut self, b: usize) {
        if !self.queued[b] {
            self.queued[b] = true;
            self.queue.push_back(b);
        }
    }

    /// Joins `state` into the entry of block `b`.
    fn flow(&mut self, b: usize, state: &State) {
        if self.memory_left == 0 {
            // Out of memory: stop growing; `analyze` reports it.
            return;
        }
        let (changed, before, after) = match &mut self.block_in[b] {
            Some(old) => {
                let before = old.bytes();
                (old.join_from(state), before, old.bytes())
            }
            slot @ None => {
                *slot = Some(Box::new(state.clone()));
                (true, 0, state.bytes())
            }
        };
        self.memory_left = self
            .memory_left
            .saturating_sub(after.saturating_sub(before));
        if changed {
            self.push(b);
        }
    }

    /// Function `f` is entered with `args` in r1–r5.
    fn enter(&mut self, f: usize, args: [Val; 5]) {
        if self.replaying {
            return;
        }
        let b = self.cfg.funcs[f].entry_block;
        self.flow(b, &State::entry(args));
    }

    /// Function `f` writes into its callers' frames: calls to it must be looked at again.
    fn mark_writes_caller(&mut self, f: usize) {
        if !self.replaying && !self.writes_caller[f] {
            self.writes_caller[f] = true;
            for i in 0..self.call_blocks.len() {
                let b = self.call_blocks[i];
                self.push(b);
            }
        }
    }

    fn note_call_block(&mut self, b: usize) {
        if !self.replaying && !self.is_call_block[b] {
            self.is_call_block[b] = true;
            self.call_blocks.push(b);
        }
    }

    fn run_block(&mut self, b: usize) -> Result<(), RewriteError> {
        let cfg = self.cfg;
        let block = &cfg.blocks[b];
        let Some(mut state) = self.block_in[b].as_deref().cloned() else {
            return Ok(());
        };
        for i in block.start..block.end {
            let (pc, insn) = cfg.insns[i];
            if self.work_left == 0 {
                return Err(RewriteError::new(pc, TOO_COMPLEX));
            }
            self.work_left -= 1;
            self.step(b, block.func, pc, insn, &mut state);
        }
        for &succ in block.succs() {
            self.flow(succ, &state);
        }
        Ok(())
    }

    fn step(&mut self, b: usize, func: usize, pc: usize, insn: Insn, st: &mut State) {
        match insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let d = st.reg(dst);
                let v = match (width, op, src) {
                    (Width::W64, AluOp::Mov, Source::Reg(s)) => st.reg(s),
                    (Width::W64, AluOp::Add, Source::Imm(k)) => d.shift(i64::from(k)),
                    (Width::W64, AluOp::Sub, Source::Imm(k)) => d.shift(-i64::from(k)),
                    (Width::W64, AluOp::Add | AluOp::Sub, Source::Reg(s)) => {
                        Val::arith(d, st.reg(s))
                    }
                    _ => Val::OTHER,
                };
                st.set(dst, v);
            }
            Insn::Neg { dst, .. }
            | Insn::MovSx { dst, .. }
            | Insn::AddrSpaceCast { dst, .. }
            | Insn::Endian { dst, .. } => st.set(dst, Val::OTHER),
            Insn::Ja { .. } | Insn::Jmp { .. } | Insn::MayGoto { .. } | Insn::Exit => {}
            Insn::LdImm64 { dst, imm } => {
                let v = match imm {
                    Imm64::Func(k) => match self.cfg.callee(pc, k) {
                        Some(f) => Val::func(self.cfg.funcs[f].entry_pc),
                        None => Val::OTHER,
                    },
                    _ => Val::OTHER,
                };
                st.set(dst, v);
            }
            Insn::LdAbs { .. } | Insn::LdInd { .. } => clobber_caller_saved(st),
            Insn::Load {
                size,
                dst,
                src,
                off,
                ..
            } => {
                let v = st.load(st.reg(src), off, size);
                st.set(dst, v);
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let v = match src {
                    Source::Reg(r) => st.reg(r),
                    Source::Imm(_) => Val::OTHER,
                };
                if st.store(st.reg(dst), off, size, v) {
                    self.mark_writes_caller(func);
                }
            }
            Insn::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => match op {
                AtomicOp::LoadAcquire => {
                    let v = st.load(st.reg(src), off, size);
                    st.set(dst, v);
                }
                AtomicOp::StoreRelease => {
                    if st.store(st.reg(dst), off, size, st.reg(src)) {
                        self.mark_writes_caller(func);
                    }
                }
                _ => {
                    if st.store(st.reg(dst), off, size, Val::OTHER) {
                        self.mark_writes_caller(func);
                    }
                    if fetch {
                        let r = if op == AtomicOp::Cmpxchg {
                            Reg::R0
                        } else {
                            src
                        };
                        st.set(r, Val::OTHER);
                    }
                }
            },
            Insn::Call(Call::Local(imm)) => {
                let args = call_args(st);
                if let Some(callee) = self.cfg.callee(pc, imm) {
                    self.note_call_block(b);
                    self.enter(callee, args.map(Val::to_callee));
                    if self.writes_caller[callee] {
                        st.clobber_from_args(&args);
                        if args.iter().any(|a| a.maybe_foreign()) {
                            self.mark_writes_caller(func);
                        }
                    }
                }
                clobber_caller_saved(st);
            }
            Insn::Call(Call::Helper(id)) => {
                if let Some(h) = CALLBACK_HELPERS.iter().find(|h| h.id == id) {
                    self.note_call_block(b);
                    self.helper_with_callback(func, st, h.callback, h.context);
                }
                clobber_caller_saved(st);
            }
            Insn::Call(Call::Kfunc { .. }) | Insn::CallX { .. } => clobber_caller_saved(st),
        }
    }

    /// A helper that calls back the function in `cb_reg`, with the caller's `ctx_arg.0`
    /// as the callback's `ctx_arg.1`.
    fn helper_with_callback(
        &mut self,
        func: usize,
        st: &mut State,
        cb_reg: u8,
        ctx_arg: Option<(u8, u8)>,
    ) {
        let cfg = self.cfg;
        let reg = |n: u8| st.regs[usize::from(n)];
        let targets: Vec<usize> = match reg(cb_reg).func {
            Off::None => Vec::new(),
            Off::Const(entry) => usize::try_from(entry)
                .ok()
                .and_then(|e| cfg.func_at(e))
                .into_iter()
                .collect(),
            Off::Var => cfg.callbacks.clone(),
        };
        let mut args = [Val::OTHER; 5];
        let mut passed = Val::OTHER;
        if let Some((from, to)) = ctx_arg {
            passed = reg(from);
            args[usize::from(to) - 1] = passed.to_callee();
        }
        let mut writes = false;
        for t in targets {
            self.enter(t, args);
            writes |= self.writes_caller[t];
        }
        if writes && ctx_arg.is_some() {
            st.clobber_from_args(&[passed]);
            if passed.maybe_foreign() {
                self.mark_writes_caller(func);
            }
        }
    }
}

fn call_args(st: &State) -> [Val; 5] {
    [
        st.reg(Reg::R1),
        st.reg(Reg::R2),
        st.reg(Reg::R3),
        st.reg(Reg::R4),
        st.reg(Reg::R5),
    ]
}

/// A call (or legacy packet load) leaves r0–r5 holding scalars or helper results.
fn clobber_caller_saved(st: &mut State) {
    for r in &mut st.regs[0..6] {
        *r = Val::OTHER;
    }
}

impl Provenance {
    /// Replays every reachable block from its entry state, in slot order, calling `visit`
    /// before every instruction with the state the instruction sees.
    pub(crate) fn replay(&self, cfg: &Cfg, mut visit: impl FnMut(usize, &Insn, &State)) {
        let n = cfg.blocks.len();
        // The transfer function without its inter-procedural effects, which are already in
        // the fixpoint.
        let mut solver = Solver {
            cfg,
            block_in: Vec::new(),
            writes_caller: self.writes_caller.clone(),
            call_blocks: Vec::new(),
            is_call_block: vec![false; n],
            queue: VecDeque::new(),
            queued: Vec::new(),
            work_left: u64::MAX,
            memory_left: usize::MAX,
            replaying: true,
        };
        for (b, block) in cfg.blocks.iter().enumerate() {
            let Some(entry) = &self.block_in[b] else {
                continue;
            };
            let mut st: State = (**entry).clone();
            for i in block.start..block.end {
                let (pc, insn) = cfg.insns[i];
                visit(pc, &insn, &st);
                solver.step(b, block.func, pc, insn, &mut st);
            }
        }
    }
}
