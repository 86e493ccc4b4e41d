//! The dispatch loop.

use std::cell::OnceCell;
use std::sync::Arc;

use ebpfvm_abi::limits::{DEFAULT_INSN_BUDGET, MAX_CALL_FRAMES, MAX_TAIL_CALLS, STACK_SIZE};
use ebpfvm_abi::{ExecEnv, HelperHost, ProgHandle, Trap};

use crate::memory::{RawRegion, Region, Regions};
use crate::program::{Code, Op, Program};

/// A fault with the pc of the instruction that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pc {pc}: {trap}")]
pub struct ExecError {
    /// Slot index of the faulting instruction.
    pub pc: usize,
    /// What happened.
    pub trap: Trap,
}

/// Iterations a run's `may_goto` instructions fall through before they jump (Linux's
/// `BPF_MAX_LOOPS`).
const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// The packet that legacy `ld_abs`/`ld_ind` instructions read.
#[derive(Debug, Clone, Copy)]
struct Packet {
    addr: u64,
    len: u64,
}

/// An interpreter instance: stack memory, an instruction budget and run statistics, reused
/// across runs. The stack holds [`MAX_CALL_FRAMES`] frames of [`STACK_SIZE`] bytes; it is
/// zeroed when the VM is created, not between runs.
#[derive(Debug)]
pub struct Vm {
    stack: Box<[u8]>,
    budget: u64,
    executed: u64,
    packet: Option<Packet>,
}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame<'a> {
    ret: usize,
    /// The caller's program (a tail call in a subprogram replaces only the callee).
    prog: &'a Program,
    saved: [u64; 5],
}

impl Vm {
    /// A VM with the default budget ([`DEFAULT_INSN_BUDGET`]).
    pub fn new() -> Vm {
        Vm {
            stack: vec![0u8; MAX_CALL_FRAMES * STACK_SIZE].into_boxed_slice(),
            budget: DEFAULT_INSN_BUDGET,
            executed: 0,
            packet: None,
        }
    }

    /// Sets the instruction budget of each run. The budget is checked at every taken jump,
    /// call and return (straight-line code cannot run forever), so a run stops with
    /// [`Trap::BudgetExhausted`] at the first of those after it has executed more than
    /// `budget` instructions.
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
    }

    /// Instructions executed by the last run.
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// Sets the packet that legacy packet loads (`ld_abs`, `ld_ind`) read: `len` bytes at
    /// `addr`, which must also lie in one of the run's regions. Without a packet those
    /// instructions trap with [`Trap::Unsupported`].
    pub fn set_packet(&mut self, packet: Option<(u64, usize)>) {
        self.packet = packet.map(|(addr, len)| Packet {
            addr,
            len: len as u64,
        });
    }

    /// Runs `program` with `args` in r1.. (at most 5; extra are ignored) and returns r0.
    ///
    /// Checked mode: every load, store and atomic must lie inside the stack or one of
    /// `regions`, otherwise the run stops with [`Trap::MemoryViolation`] naming the pc, and
    /// no memory outside the regions is touched.
    pub fn run(
        &mut self,
        program: &Program,
        args: &[u64],
        regions: &[Region<'_>],
        host: &mut dyn HelperHost,
    ) -> Result<u64, ExecError> {
        let stack = RawRegion::new(self.stack.as_mut_ptr(), self.stack.len(), true);
        let mut regs = [0u64; 16];
        for (r, a) in regs[1..6].iter_mut().zip(args) {
            *r = *a;
        }
        regs[10] = stack.start() + self.stack.len() as u64;
        let mut regions = Regions::new(stack, regions);
        // The programs this run tail-calls into, held until it ends (at most
        // MAX_TAIL_CALLS): a prog_array may drop its reference meanwhile.
        let tails: [OnceCell<Arc<Program>>; MAX_TAIL_CALLS as usize] =
            std::array::from_fn(|_| OnceCell::new());
        let start = Start {
            pc: 0,
            depth: 0,
            tails: Some(&tails),
        };
        let (result, executed) = exec(
            program,
            start,
            &mut regions,
            regs,
            self.budget,
            self.packet,
            host,
        );
        self.executed = executed;
        result
    }
}

/// The interpreter loop. Returns the result and the number of instructions executed.
///
/// Kept out of line so that its code layout (which the speed of the dispatch jump depends
/// on) does not change with the code around its caller.
#[inline(never)]
fn exec<'a>(
    program: &'a Program,
    start: Start<'a>,
    mem: &mut Regions,
    mut regs: [u64; 16],
    budget: u64,
    packet: Option<Packet>,
    host: &mut dyn HelperHost,
) -> (Result<u64, ExecError>, u64) {
    let mut ops = &program.ops[..];
    let mut pc: usize = start.pc;
    // State only the rarer instructions and taken jumps use, kept out of the loop's
    // registers. Executed instructions are counted per straight-line run of slots: every
    // taken jump, call or return adds the slots since the last one, and checks the budget
    // (see `Cold::base`).
    let mut cold = Cold {
        base: 0u64.wrapping_sub(start.pc as u64),
        budget,
        cur: program,
        frames: [Frame {
            ret: 0,
            prog: program,
            saved: [0; 5],
        }; MAX_CALL_FRAMES],
        depth: 0,
        depth_base: start.depth,
        tails: start.tails,
        tail_count: 0,
        pending_tail: None,
        may_goto_left: MAY_GOTO_BUDGET,
        packet,
        host,
        fault: None,
    };

    macro_rules! fault {
        ($trap:expr) => {{
            cold.fail(pc - 1, $trap);
            break;
        }};
    }
    macro_rules! goto {
        ($target:expr) => {{
            let t = $target;
            if cold.jumped(pc, t) {
                break;
            }
            pc = t;
        }};
    }
    macro_rules! jump_if {
        ($target:expr, $cond:expr) => {
            if $cond {
                goto!($target)
            }
        };
    }
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(trap) => fault!(trap),
            }
        };
    }

    loop {
        let op = ops[pc];
        pc += 1;
        let d = op.dst as usize & 15;
        let s = op.src as usize & 15;
        let imm = op.imm as u64;
        let target = op.off as usize;
        use Code::*;
        match op.code {
            Add64K => regs[d] = regs[d].wrapping_add(imm),
            Add64X => regs[d] = regs[d].wrapping_add(regs[s]),
            Sub64K => regs[d] = regs[d].wrapping_sub(imm),
            Sub64X => regs[d] = regs[d].wrapping_sub(regs[s]),
            Mul64K => regs[d] = regs[d].wrapping_mul(imm),
            Mul64X => regs[d] = regs[d].wrapping_mul(regs[s]),
            Div64K => regs[d] = div64(regs[d], imm),
            Div64X => regs[d] = div64(regs[d], regs[s]),
            Sdiv64K => regs[d] = sdiv64(regs[d], imm),
            Sdiv64X => regs[d] = sdiv64(regs[d], regs[s]),
            Or64K => regs[d] |= imm,
            Or64X => regs[d] |= regs[s],
            And64K => regs[d] &= imm,
            And64X => regs[d] &= regs[s],
            Lsh64K => regs[d] <<= imm & 63,
            Lsh64X => regs[d] <<= regs[s] & 63,
            Rsh64K => regs[d] >>= imm & 63,
            Rsh64X => regs[d] >>= regs[s] & 63,
            Mod64K => regs[d] = mod64(regs[d], imm),
            Mod64X => regs[d] = mod64(regs[d], regs[s]),
            Smod64K => regs[d] = smod64(regs[d], imm),
            Smod64X => regs[d] = smod64(regs[d], regs[s]),
            Xor64K => regs[d] ^= imm,
            Xor64X => regs[d] ^= regs[s],
            Mov64K => regs[d] = imm,
            LdImm64 => {
                // Skip the second slot; it is not an instruction of its own.
                regs[d] = imm;
                pc += 1;
                cold.base = cold.base.wrapping_sub(1);
            }
            Mov64X => regs[d] = regs[s],
            Arsh64K => regs[d] = ((regs[d] as i64) >> (imm & 63)) as u64,
            Arsh64X => regs[d] = ((regs[d] as i64) >> (regs[s] & 63)) as u64,
            Neg64 => regs[d] = regs[d].wrapping_neg(),

            Add32K => regs[d] = (regs[d] as u32).wrapping_add(imm as u32) as u64,
            Add32X => regs[d] = (regs[d] as u32).wrapping_add(regs[s] as u32) as u64,
            Sub32K => regs[d] = (regs[d] as u32).wrapping_sub(imm as u32) as u64,
            Sub32X => regs[d] = (regs[d] as u32).wrapping_sub(regs[s] as u32) as u64,
            Mul32K => regs[d] = (regs[d] as u32).wrapping_mul(imm as u32) as u64,
            Mul32X => regs[d] = (regs[d] as u32).wrapping_mul(regs[s] as u32) as u64,
            Div32K => regs[d] = div32(regs[d], imm),
            Div32X => regs[d] = div32(regs[d], regs[s]),
            Sdiv32K => regs[d] = sdiv32(regs[d], imm),
            Sdiv32X => regs[d] = sdiv32(regs[d], regs[s]),
            Or32K => regs[d] = (regs[d] as u32 | imm as u32) as u64,
            Or32X => regs[d] = (regs[d] as u32 | regs[s] as u32) as u64,
            And32K => regs[d] = (regs[d] as u32 & imm as u32) as u64,
            And32X => regs[d] = (regs[d] as u32 & regs[s] as u32) as u64,
            Lsh32K => regs[d] = ((regs[d] as u32) << (imm & 31)) as u64,
            Lsh32X => regs[d] = ((regs[d] as u32) << (regs[s] & 31)) as u64,
            Rsh32K => regs[d] = ((regs[d] as u32) >> (imm & 31)) as u64,
            Rsh32X => regs[d] = ((regs[d] as u32) >> (regs[s] & 31)) as u64,
            Mod32K => regs[d] = mod32(regs[d], imm),
            Mod32X => regs[d] = mod32(regs[d], regs[s]),
            Smod32K => regs[d] = smod32(regs[d], imm),
            Smod32X => regs[d] = smod32(regs[d], regs[s]),
            Xor32K => regs[d] = (regs[d] as u32 ^ imm as u32) as u64,
            Xor32X => regs[d] = (regs[d] as u32 ^ regs[s] as u32) as u64,
            Mov32K => regs[d] = imm as u32 as u64,
            Mov32X => regs[d] = regs[s] as u32 as u64,
            Arsh32K => regs[d] = ((regs[d] as i32) >> (imm & 31)) as u32 as u64,
            Arsh32X => regs[d] = ((regs[d] as i32) >> (regs[s] & 31)) as u32 as u64,
            Neg32 => regs[d] = (regs[d] as u32).wrapping_neg() as u64,

            Movsx8_32 => regs[d] = regs[s] as i8 as i32 as u32 as u64,
            Movsx16_32 => regs[d] = regs[s] as i16 as i32 as u32 as u64,
            Movsx8_64 => regs[d] = regs[s] as i8 as i64 as u64,
            Movsx16_64 => regs[d] = regs[s] as i16 as i64 as u64,
            Movsx32_64 => regs[d] = regs[s] as i32 as i64 as u64,

            Le16 => regs[d] = u16::from_le(regs[d] as u16) as u64,
            Le32 => regs[d] = u32::from_le(regs[d] as u32) as u64,
            Be16 => regs[d] = (regs[d] as u16).swap_bytes() as u64,
            Be32 => regs[d] = (regs[d] as u32).swap_bytes() as u64,
            Be64 => regs[d] = regs[d].swap_bytes(),
            Nop => {}

            Ja => goto!(target),
            Jeq64K => jump_if!(target, regs[d] == imm),
            Jeq64X => jump_if!(target, regs[d] == regs[s]),
            Jgt64K => jump_if!(target, regs[d] > imm),
            Jgt64X => jump_if!(target, regs[d] > regs[s]),
            Jge64K => jump_if!(target, regs[d] >= imm),
            Jge64X => jump_if!(target, regs[d] >= regs[s]),
            Jset64K => jump_if!(target, regs[d] & imm != 0),
            Jset64X => jump_if!(target, regs[d] & regs[s] != 0),
            Jne64K => jump_if!(target, regs[d] != imm),
            Jne64X => jump_if!(target, regs[d] != regs[s]),
            Jsgt64K => jump_if!(target, (regs[d] as i64) > imm as i64),
            Jsgt64X => jump_if!(target, (regs[d] as i64) > regs[s] as i64),
            Jsge64K => jump_if!(target, (regs[d] as i64) >= imm as i64),
            Jsge64X => jump_if!(target, (regs[d] as i64) >= regs[s] as i64),
            Jlt64K => jump_if!(target, regs[d] < imm),
            Jlt64X => jump_if!(target, regs[d] < regs[s]),
            Jle64K => jump_if!(target, regs[d] <= imm),
            Jle64X => jump_if!(target, regs[d] <= regs[s]),
            Jslt64K => jump_if!(target, (regs[d] as i64) < imm as i64),
            Jslt64X => jump_if!(target, (regs[d] as i64) < regs[s] as i64),
            Jsle64K => jump_if!(target, (regs[d] as i64) <= imm as i64),
            Jsle64X => jump_if!(target, (regs[d] as i64) <= regs[s] as i64),

            Jeq32K => jump_if!(target, regs[d] as u32 == imm as u32),
            Jeq32X => jump_if!(target, regs[d] as u32 == regs[s] as u32),
            Jgt32K => jump_if!(target, regs[d] as u32 > imm as u32),
            Jgt32X => jump_if!(target, regs[d] as u32 > regs[s] as u32),
            Jge32K => jump_if!(target, regs[d] as u32 >= imm as u32),
            Jge32X => jump_if!(target, regs[d] as u32 >= regs[s] as u32),
            Jset32K => jump_if!(target, regs[d] as u32 & imm as u32 != 0),
            Jset32X => jump_if!(target, regs[d] as u32 & regs[s] as u32 != 0),
            Jne32K => jump_if!(target, regs[d] as u32 != imm as u32),
            Jne32X => jump_if!(target, regs[d] as u32 != regs[s] as u32),
            Jsgt32K => jump_if!(target, (regs[d] as i32) > imm as i32),
            Jsgt32X => jump_if!(target, (regs[d] as i32) > regs[s] as i32),
            Jsge32K => jump_if!(target, (regs[d] as i32) >= imm as i32),
            Jsge32X => jump_if!(target, (regs[d] as i32) >= regs[s] as i32),
            Jlt32K => jump_if!(target, (regs[d] as u32) < imm as u32),
            Jlt32X => jump_if!(target, (regs[d] as u32) < regs[s] as u32),
            Jle32K => jump_if!(target, regs[d] as u32 <= imm as u32),
            Jle32X => jump_if!(target, regs[d] as u32 <= regs[s] as u32),
            Jslt32K => jump_if!(target, (regs[d] as i32) < imm as i32),
            Jslt32X => jump_if!(target, (regs[d] as i32) < regs[s] as i32),
            Jsle32K => jump_if!(target, regs[d] as i32 <= imm as i32),
            Jsle32X => jump_if!(target, regs[d] as i32 <= regs[s] as i32),

            MayGoto => {
                if cold.may_goto_taken() {
                    goto!(target);
                }
            }

            CallHelper | CallX => {
                let id = if op.code == CallHelper {
                    op.imm
                } else {
                    regs[d] as i64
                };
                match cold.call_helper(pc, id, &regs, mem) {
                    Some(v) => regs[0] = v,
                    None => break,
                }
                if let Some(next) = cold.take_tail_call() {
                    // Continue in the tail-called program with the same registers (r1 is
                    // still the context) and the same stack frame.
                    ops = &next.ops[..];
                    goto!(0);
                }
            }
            CallLocal => {
                tri!(cold.push_frame(pc, &mut regs));
                goto!(target);
            }
            Exit => {
                if cold.depth == 0 {
                    break;
                }
                let ret = cold.pop_frame(&mut regs);
                ops = &cold.cur.ops[..];
                goto!(ret);
            }

            Ldx8 => regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 1)),
            Ldx16 => regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 2)),
            Ldx32 => regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 4)),
            Ldx64 => regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 8)),
            Ldxs8 => regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 1)) as i8 as u64,
            Ldxs16 => {
                regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 2)) as i16 as u64
            }
            Ldxs32 => {
                regs[d] = tri!(mem.load(regs[s].wrapping_add(op.off as u64), 4)) as i32 as u64
            }
            St8 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 1, imm)),
            St16 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 2, imm)),
            St32 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 4, imm)),
            St64 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 8, imm)),
            Stx8 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 1, regs[s])),
            Stx16 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 2, regs[s])),
            Stx32 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 4, regs[s])),
            Stx64 => tri!(mem.store(regs[d].wrapping_add(op.off as u64), 8, regs[s])),
            Atomic => tri!(atomic(
                mem,
                &mut regs,
                d,
                s,
                op.off,
                op.aux as usize,
                op.imm
            )),

            LdAbs | LdInd => match tri!(cold.load_packet(mem, &regs, op)) {
                Some(v) => regs[0] = v,
                None => {
                    // Linux: an out-of-bounds legacy packet load ends the program with 0.
                    regs[0] = 0;
                    break;
                }
            },

            Unsupported => fault!(Trap::Unsupported),
            OutOfProgram => fault!(Trap::OutOfProgram),
        }
    }
    // A budget fault stops at the jump's target, which is where the count already stands;
    // every other stop adds the slots up to `pc`.
    let executed = match cold.fault {
        Some(ExecError {
            pc: target,
            trap: Trap::BudgetExhausted { .. },
        }) => cold.base.wrapping_add(target as u64),
        _ => cold.base.wrapping_add(pc as u64),
    };
    let result = match cold.fault {
        None => Ok(regs[0]),
        Some(fault) => Err(fault),
    };
    (result, executed)
}

/// The state of a run that only calls, returns, `may_goto`, legacy packet loads and faults
/// touch. Its methods are out of line, so the dispatch loop keeps its registers for the hot
/// state.
struct Cold<'a, 'h> {
    /// Instructions executed so far minus the slot where the current straight-line run
    /// started (wrapping): one number instead of two, so a taken jump costs two additions.
    /// The count after a jump to `to` is `base + to`; at a stop at `pc` it is `base + pc`.
    base: u64,
    budget: u64,
    /// The program executing now (changes with tail calls).
    cur: &'a Program,
    frames: [Frame<'a>; MAX_CALL_FRAMES],
    depth: usize,
    /// Frames used by the callers of this (callback) run.
    depth_base: usize,
    /// Where tail-called programs are kept; `None` in a callback, where tail calls fail.
    tails: Option<&'a [OnceCell<Arc<Program>>]>,
    tail_count: usize,
    pending_tail: Option<Arc<Program>>,
    may_goto_left: u64,
    packet: Option<Packet>,
    host: &'h mut dyn HelperHost,
    fault: Option<ExecError>,
}

impl<'a> Cold<'a, '_> {
    /// Accounts for a taken jump, call or return from slot `from` (the slot after the
    /// jump) to `to`; true if that used up the budget, which is then the run's fault.
    #[inline(always)]
    fn jumped(&mut self, from: usize, to: usize) -> bool {
        let executed = self.base.wrapping_add(from as u64);
        self.base = executed.wrapping_sub(to as u64);
        if executed > self.budget {
            self.fail(
                to,
                Trap::BudgetExhausted {
                    budget: self.budget,
                },
            );
            true
        } else {
            false
        }
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, pc: usize, trap: Trap) {
        self.fault = Some(ExecError { pc, trap });
    }

    /// Calls helper `id` from the slot before `pc`; `None` if the run faulted (the fault
    /// is recorded, with the callback's pc if it happened inside a callback).
    #[inline(never)]
    fn call_helper(
        &mut self,
        pc: usize,
        id: i64,
        regs: &[u64; 16],
        mem: &mut Regions,
    ) -> Option<u64> {
        let executed = self.base.wrapping_add(pc as u64);
        let mut env = Env {
            mem,
            prog: self.cur,
            r10: regs[10],
            depth: self.depth_base + self.depth,
            budget_left: self.budget.saturating_sub(executed),
            nested_executed: 0,
            packet: self.packet,
            tail_allowed: self.tails.is_some() && self.tail_count < MAX_TAIL_CALLS as usize,
            pending_tail: &mut self.pending_tail,
            inner_fault: None,
        };
        let result =
            self.host
                .call_helper(id, [regs[1], regs[2], regs[3], regs[4], regs[5]], &mut env);
        let (nested, inner) = (env.nested_executed, env.inner_fault);
        self.base = self.base.wrapping_add(nested);
        match result {
            Ok(v) => Some(v),
            Err(trap) => {
                match inner {
                    Some(fault) if fault.trap == trap => self.fault = Some(fault),
                    _ => self.fail(pc - 1, trap),
                }
                self.pending_tail = None;
                None
            }
        }
    }

    /// The program a helper just tail-called into, now the current one.
    #[inline(always)]
    fn take_tail_call(&mut self) -> Option<&'a Program> {
        let next = self.pending_tail.take()?;
        let cell = self.tails?.get(self.tail_count)?;
        self.tail_count += 1;
        let _ = cell.set(next);
        let prog: &'a Program = cell.get()?;
        self.cur = prog;
        Some(prog)
    }

    /// Enters a local call returning to `ret`: saves r6–r10 and gives the callee a fresh
    /// stack frame.
    #[inline(never)]
    fn push_frame(&mut self, ret: usize, regs: &mut [u64; 16]) -> Result<(), Trap> {
        if self.depth_base + self.depth + 1 >= MAX_CALL_FRAMES {
            return Err(Trap::CallDepthExceeded {
                max: MAX_CALL_FRAMES,
            });
        }
        self.frames[self.depth] = Frame {
            ret,
            prog: self.cur,
            saved: [regs[6], regs[7], regs[8], regs[9], regs[10]],
        };
        self.depth += 1;
        // r10 is an ordinary register to an unverified program: it may hold anything.
        regs[10] = regs[10].wrapping_sub(STACK_SIZE as u64);
        Ok(())
    }

    /// Returns from a local call (`depth > 0`): restores r6–r10 and gives the return pc.
    #[inline(never)]
    fn pop_frame(&mut self, regs: &mut [u64; 16]) -> usize {
        self.depth -= 1;
        let f = self.frames[self.depth];
        regs[6..11].copy_from_slice(&f.saved);
        self.cur = f.prog;
        f.ret
    }

    /// Whether a `may_goto` jumps: it falls through until the run's allowance is used up.
    #[inline(never)]
    fn may_goto_taken(&mut self) -> bool {
        if self.may_goto_left == 0 {
            true
        } else {
            self.may_goto_left -= 1;
            false
        }
    }

    /// A legacy packet load: the value, or `None` if it is out of the packet's bounds.
    #[inline(never)]
    fn load_packet(
        &mut self,
        mem: &Regions,
        regs: &[u64; 16],
        op: Op,
    ) -> Result<Option<u64>, Trap> {
        let Some(p) = self.packet else {
            return Err(Trap::Unsupported);
        };
        let base = if op.code == Code::LdInd {
            regs[op.src as usize & 15] as u32 as i64
        } else {
            0
        };
        let off = base + op.imm;
        let size = op.aux as usize;
        if off < 0 || off as u64 + size as u64 > p.len {
            return Ok(None);
        }
        let v = mem.load(p.addr + off as u64, size)?;
        Ok(Some(match size {
            1 => v,
            2 => (v as u16).swap_bytes() as u64,
            _ => (v as u32).swap_bytes() as u64,
        }))
    }
}

#[inline(always)]
fn div64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

#[inline(always)]
fn div32(a: u64, b: u64) -> u64 {
    (a as u32).checked_div(b as u32).unwrap_or(0) as u64
}

#[inline(always)]
fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}

#[inline(always)]
fn sdiv32(a: u64, b: u64) -> u64 {
    if b as u32 == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32 as u64
    }
}

#[inline(always)]
fn mod64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

#[inline(always)]
fn mod32(a: u64, b: u64) -> u64 {
    (a as u32).checked_rem(b as u32).unwrap_or(a as u32) as u64
}

#[inline(always)]
fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}

#[inline(always)]
fn smod32(a: u64, b: u64) -> u64 {
    if b as u32 == 0 {
        a as u32 as u64
    } else {
        (a as i32).wrapping_rem(b as i32) as u32 as u64
    }
}

/// Executes an atomic instruction; `imm` is the atomic operation's encoding.
#[inline(never)]
fn atomic(
    mem: &Regions,
    regs: &mut [u64; 16],
    d: usize,
    s: usize,
    off: i32,
    size: usize,
    imm: i64,
) -> Result<(), Trap> {
    use ebpfvm_isa::opcodes::ATOMIC_FETCH;
    use ebpfvm_isa::AtomicOp;
    let imm = imm as i32;
    let fetch = imm & ATOMIC_FETCH != 0;
    let Some(op) = AtomicOp::from_code(imm & !ATOMIC_FETCH) else {
        return Err(Trap::Unsupported);
    };
    let addr_d = regs[d].wrapping_add(off as i64 as u64);
    let narrow = |v: u64| if size == 4 { v as u32 as u64 } else { v };
    let src = narrow(regs[s]);
    match op {
        AtomicOp::LoadAcquire => {
            regs[d] = mem.load_acquire(regs[s].wrapping_add(off as i64 as u64), size)?;
        }
        AtomicOp::StoreRelease => mem.store_release(addr_d, size, regs[s])?,
        AtomicOp::Cmpxchg => {
            let expected = narrow(regs[0]);
            regs[0] = mem.atomic_rmw(
                addr_d,
                size,
                |v| if v == expected { Some(src) } else { None },
            )?;
        }
        _ => {
            let code = match op {
                AtomicOp::Add => 0,
                AtomicOp::Or => 1,
                AtomicOp::And => 2,
                AtomicOp::Xor => 3,
                _ => 4, // Xchg
            };
            let old = mem.atomic_op(addr_d, size, code, src)?;
            if fetch {
                regs[s] = old;
            }
        }
    }
    Ok(())
}

/// Where a run of [`exec`] starts: the whole program (pc 0, depth 0, tail calls allowed)
/// or a callback.
#[derive(Clone, Copy)]
struct Start<'a> {
    pc: usize,
    depth: usize,
    tails: Option<&'a [OnceCell<Arc<Program>>]>,
}

/// The interpreter's side of a helper call ([`ExecEnv`]): checked access to the run's
/// memory, callbacks into the program and tail-call requests.
struct Env<'m, 'p> {
    mem: &'m mut Regions,
    prog: &'p Program,
    /// The calling frame's r10; a callback's frame lies below it.
    r10: u64,
    /// Frames in use, counting the caller's.
    depth: usize,
    budget_left: u64,
    /// Instructions callbacks executed, added to the run's count.
    nested_executed: u64,
    packet: Option<Packet>,
    tail_allowed: bool,
    pending_tail: &'m mut Option<Arc<Program>>,
    /// A fault inside a callback, reported with its own pc.
    inner_fault: Option<ExecError>,
}

impl ExecEnv for Env<'_, '_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        self.mem.read_bytes(addr, buf)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        self.mem.write_bytes(addr, data)
    }

    fn write_runtime(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        self.mem.write_runtime(addr, data)
    }

    fn check(&self, addr: u64, len: usize, write: bool) -> Result<(), Trap> {
        self.mem.check(addr, len, write)
    }

    fn cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Result<u32, Trap> {
        self.mem.cmpxchg32(addr, expected, new)
    }

    #[allow(
        unsafe_code,
        reason = "implements the unsafe grant contract of ExecEnv"
    )]
    unsafe fn grant(&mut self, addr: u64, len: usize, writable: bool) {
        // The caller promised the memory stays valid for the run (ExecEnv::grant).
        self.mem.grant(addr, len, writable);
    }

    fn revoke(&mut self, addr: u64) {
        self.mem.revoke(addr);
    }

    fn call_function(
        &mut self,
        host: &mut dyn HelperHost,
        func: u64,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        if func >= self.prog.len() as u64 || !self.prog.is_function(func as usize) {
            return Err(Trap::BadCallback { func });
        }
        if self.depth + 1 >= MAX_CALL_FRAMES {
            return Err(Trap::CallDepthExceeded {
                max: MAX_CALL_FRAMES,
            });
        }
        let mut regs = [0u64; 16];
        regs[1..6].copy_from_slice(&args);
        regs[10] = self.r10.wrapping_sub(STACK_SIZE as u64);
        let start = Start {
            pc: func as usize,
            depth: self.depth + 1,
            tails: None,
        };
        let (result, executed) = exec(
            self.prog,
            start,
            self.mem,
            regs,
            self.budget_left,
            self.packet,
            host,
        );
        self.nested_executed = self.nested_executed.wrapping_add(executed);
        self.budget_left = self.budget_left.saturating_sub(executed);
        result.map_err(|fault| {
            self.inner_fault = Some(fault);
            fault.trap
        })
    }

    fn tail_call(&mut self, target: &ProgHandle) -> bool {
        if !self.tail_allowed || self.pending_tail.is_some() {
            return false;
        }
        match Arc::clone(target).downcast::<Program>() {
            Ok(prog) => {
                *self.pending_tail = Some(prog);
                true
            }
            Err(_) => false,
        }
    }
}
