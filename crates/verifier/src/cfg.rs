//! Control-flow validation: the checks Linux makes before symbolic execution, and the call
//! chain limits it checks after.
//!
//! ```text
//!  slots ──decode──▶ insns ──call / ld_imm64 src 4 targets──▶ subprograms
//!        ──per subprogram──▶ jumps stay inside, the last insn is exit or goto
//!        ──depth-first search from the entry──▶ back-edges (loops, recursion), prune points,
//!                                               every insn reachable, no jump into ld_imm64
//!        ──direct call graph──▶ at most 8 frames
//!  after exploration: check_stack_depth ──▶ 512 bytes per call chain, tail-call rule
//! ```
//!
//! Subprograms are defined as in Linux: slot 0 and every target of a local call
//! (`call` src 1) or of a function pointer (`ld_imm64` src 4) starts one; each runs up to
//! the next start. The search is iterative (programs may have a million slots), uses memory
//! linear in the program, and never panics: every problem is a [`CfgError`] naming the slot.
//! Messages use Linux's wording where Linux has the same error.

use std::sync::OnceLock;

use ebpfvm_abi::limits::{MAX_CALL_FRAMES, MAX_PROGRAM_SLOTS, STACK_SIZE};
use ebpfvm_isa::opcodes::{class, op};
use ebpfvm_isa::{Call, DecodeError, DecodeErrorKind, Decoder, Field, Imm64, Insn, RawInsn};

/// Most subprograms in one program, the entry function included (Linux `BPF_MAX_SUBPROGS`).
pub const MAX_SUBPROGS: usize = 256;

/// Helper id of `bpf_tail_call`.
const HELPER_TAIL_CALL: i32 = 12;

/// Helpers that call a callback synchronously, before they return (`bpf_for_each_map_elem`,
/// `bpf_find_vma`, `bpf_loop`, `bpf_user_ringbuf_drain`): the verifier revisits the call for
/// every callback iteration, so Linux forces a checkpoint there.
const SYNC_CALLBACK_HELPERS: [i32; 4] = [164, 180, 181, 209];

/// Helper id of `bpf_timer_set_callback`, which registers an asynchronous callback.
const HELPER_TIMER_SET_CALLBACK: i32 = 170;

/// Combined stack of the frames below a subprogram that makes a tail call, from which Linux
/// rejects the tail call: with bpf-to-bpf calls, a tail call keeps its callers' frames, so
/// each chain is limited to 256 bytes (33 tail calls × 256 bytes stays within 8 KiB).
pub const TAIL_CALL_STACK_LIMIT: u64 = 256;

/// How [`check_cfg`] works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgOptions {
    /// Accept back-edges of jumps (bounded loops; Linux privileged mode). Loops are then
    /// bounded by symbolic execution. When `false`, every back-edge is rejected, as Linux
    /// does for unprivileged programs.
    pub allow_loops: bool,
    /// Most instruction slots accepted (Linux's privileged limit, 1,000,000).
    pub max_insns: usize,
    /// The first slot of the exception callback (the function named by the main program's
    /// `exception_callback:` BTF declaration tag), if any: it becomes a subprogram and an
    /// entry point of its own.
    pub exception_callback: Option<usize>,
}

impl Default for CfgOptions {
    fn default() -> Self {
        CfgOptions {
            allow_loops: true,
            max_insns: MAX_PROGRAM_SLOTS,
            exception_callback: None,
        }
    }
}

/// One subprogram (function): the slots `start..end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subprog {
    /// First slot.
    pub start: usize,
    /// One past the last slot (the next subprogram's start, or the program length).
    pub end: usize,
    /// The target of a local call (`call` src 1).
    pub is_called: bool,
    /// The target of a function pointer (`ld_imm64` src 4): a callback passed to a helper
    /// or kfunc.
    pub is_cb: bool,
    /// A callback that runs asynchronously, on a stack of its own (`bpf_timer_set_callback`
    /// and the like). [`check_cfg`] cannot know it; symbolic execution sets it, before
    /// [`check_stack_depth`], on the callbacks it sees passed to such helpers.
    pub is_async_cb: bool,
    /// The exception callback ([`CfgOptions::exception_callback`]).
    pub is_exception_cb: bool,
    /// Calls `bpf_tail_call` (helper 12).
    pub has_tail_call: bool,
    /// Has a legacy packet load (`LdAbs`/`LdInd`).
    pub has_ld_abs: bool,
}

impl Subprog {
    /// Number of slots.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the subprogram has no slots (never true for a [`Cfg`]'s subprograms).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `pc` lies in the subprogram.
    pub fn contains(&self, pc: usize) -> bool {
        self.start <= pc && pc < self.end
    }
}

/// How a [`CallSite`] reaches its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// A local call (`call` src 1): a new frame, then return to the next slot.
    Local,
    /// A function pointer (`ld_imm64` src 4): the target runs when a helper or kfunc calls
    /// it back.
    Callback,
}

/// A slot that refers to another subprogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallSite {
    /// The `call` or `ld_imm64` slot.
    pub pc: usize,
    /// Index of the target in [`Cfg::subprogs`].
    pub callee: usize,
    /// Call or function pointer.
    pub kind: CallKind,
}

/// A validated control-flow graph: every slot decoded and reachable, every jump inside its
/// subprogram, no recursion, at most 8 frames of direct calls.
///
/// Flow edges ([`Cfg::succs`], [`Cfg::preds`]) stay inside a subprogram: a `call` continues
/// at the next slot (the callee is found through [`Cfg::calls`]), `exit` has no successor.
#[derive(Clone, Debug)]
pub struct Cfg {
    /// The decoded instruction starting at each slot; `None` on the second slot of
    /// `ld_imm64`.
    pub insns: Vec<Option<Insn>>,
    /// Subprograms, sorted by start; subprogram 0 starts at slot 0 and the last ends at the
    /// program length.
    pub subprogs: Vec<Subprog>,
    /// Every local call and function pointer, sorted by slot.
    pub calls: Vec<CallSite>,
    /// Linux's pruning checkpoints, per slot: jump targets, conditional jumps, calls and the
    /// slot after them, subprogram entries. State pruning compares states only here.
    pub prune_point: Vec<bool>,
    /// Slots where a checkpoint is kept even when no state was pruned (`may_goto`, calls of
    /// helpers that call back synchronously), so that iterations can be recognised.
    pub force_checkpoint: Vec<bool>,
    /// Slots entered other than by falling through (jump targets, the slot after a call,
    /// subprogram entries): Linux records the path taken there for precision tracking.
    pub jmp_point: Vec<bool>,
    /// Whether some jump closes a cycle (a loop to be bounded by symbolic execution).
    pub has_loops: bool,
    /// The `(from, to)` slots of the jumps that close a cycle, in discovery order.
    pub back_edges: Vec<(usize, usize)>,
    /// Instruction slots in depth-first post-order (each slot after all it leads to, except
    /// along back-edges); the reverse is a topological order of the loop-free part.
    pub postorder: Vec<u32>,
    /// Flow predecessors, built on first use: those of slot `pc` are
    /// `list[start[pc]..start[pc + 1]]`.
    preds: OnceLock<Preds>,
}

#[derive(Clone, Debug)]
struct Preds {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Cfg {
    /// Number of instruction slots.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no slots (never true for a checked program).
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instruction starting at `pc`, or `None` on the second slot of `ld_imm64` and out
    /// of range.
    pub fn insn(&self, pc: usize) -> Option<&Insn> {
        self.insns.get(pc).and_then(Option::as_ref)
    }

    /// Index of the subprogram holding `pc` (the last one for `pc` past the end).
    pub fn subprog_of(&self, pc: usize) -> usize {
        self.subprogs
            .partition_point(|s| s.start <= pc)
            .saturating_sub(1)
    }

    /// Index of the subprogram that starts exactly at `pc`.
    pub fn subprog_at(&self, pc: usize) -> Option<usize> {
        self.subprogs.binary_search_by_key(&pc, |s| s.start).ok()
    }

    /// The call site at `pc` (a local call or a function pointer), if any.
    pub fn call_at(&self, pc: usize) -> Option<&CallSite> {
        self.calls
            .binary_search_by_key(&pc, |c| c.pc)
            .ok()
            .and_then(|i| self.calls.get(i))
    }

    /// The call sites inside subprogram `idx`, by slot.
    pub fn calls_of(&self, idx: usize) -> &[CallSite] {
        match self.subprogs.get(idx) {
            Some(s) => &self.calls[calls_range(&self.calls, s)],
            None => &[],
        }
    }

    /// The slots control can go to from `pc` inside its subprogram: none after `exit`, the
    /// target of `goto`, both ways of a conditional jump (fall-through first), the next
    /// instruction otherwise (after a `call` too).
    pub fn succs(&self, pc: usize) -> impl Iterator<Item = usize> {
        let pair = match self.insn(pc) {
            Some(insn) => flow_succs(insn, pc),
            None => [None, None],
        };
        pair.into_iter().flatten()
    }

    /// The slots whose [`Cfg::succs`] include `pc`, in increasing order. The first call
    /// builds the lists for every slot (linear time and memory).
    pub fn preds(&self, pc: usize) -> &[u32] {
        let preds = self.preds.get_or_init(|| predecessors(&self.insns));
        let (Some(&lo), Some(&hi)) = (preds.start.get(pc), preds.start.get(pc + 1)) else {
            return &[];
        };
        preds.list.get(lo as usize..hi as usize).unwrap_or(&[])
    }
}

/// What [`check_cfg`] or [`check_stack_depth`] rejected, for matching; the message says the
/// same in Linux's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CfgErrorKind {
    /// A slot does not decode.
    Decode,
    /// The program has no instructions.
    Empty,
    /// The program has more slots than [`CfgOptions::max_insns`].
    TooLarge,
    /// More than [`MAX_SUBPROGS`] subprograms.
    TooManySubprogs,
    /// A call or function pointer outside the program.
    InvalidCallTarget,
    /// The exception callback slot is outside the program.
    InvalidExceptionCallback,
    /// A jump outside its subprogram.
    JumpOutOfRange,
    /// A subprogram whose last instruction is neither `exit` nor `goto`.
    FallThrough,
    /// A jump that closes a cycle while loops are not allowed.
    Loop,
    /// A local call that closes a cycle of calls.
    Recursion,
    /// An instruction no path reaches.
    Unreachable,
    /// A jump to the second slot of `ld_imm64`.
    JumpIntoLdImm64,
    /// A local call of the exception callback.
    CallsExceptionCallback,
    /// A call chain of more than 8 frames.
    CallStackTooDeep,
    /// A call chain using more than 512 bytes of stack.
    StackTooLarge,
    /// A tail call with 256 bytes or more of stack in the frames below it.
    TailCallStackTooLarge,
}

/// A program rejected by [`check_cfg`] or [`check_stack_depth`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("pc {pc}: {message}")]
#[non_exhaustive]
pub struct CfgError {
    /// The slot of the offending instruction.
    pub pc: usize,
    /// What is wrong, for matching.
    pub kind: CfgErrorKind,
    /// One line, in Linux's wording where Linux has one.
    pub message: String,
    /// The decoder's own account, for [`CfgErrorKind::Decode`].
    #[source]
    pub decode: Option<DecodeError>,
}

impl CfgError {
    pub(crate) fn new(pc: usize, kind: CfgErrorKind, message: impl Into<String>) -> CfgError {
        CfgError {
            pc,
            kind,
            message: message.into(),
            decode: None,
        }
    }
}

/// Per-slot state of the depth-first search.
const NEW: u8 = 0;
const ON_STACK: u8 = 1;
const DONE: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Inside the subprogram: fall-through or jump.
    Flow,
    /// A local call to a subprogram entry.
    Call,
    /// A function pointer to a subprogram entry.
    Callback,
}

/// Checks the control flow of a program and returns its graph.
///
/// In order, as Linux checks them: the size; decoding (with Linux's messages for reserved
/// fields, unknown opcodes, invalid `ld_imm64`); call and function pointer targets ("call to
/// invalid destination"); per subprogram, jumps ("jump out of range from insn %d to %d") and
/// the last instruction ("last insn is not an exit or jmp"); a depth-first search from the
/// entry (and the exception callback) for back-edges ("back-edge from insn %d to %d":
/// recursion always, loops when not allowed); every instruction reached ("unreachable insn
/// %d") and no jump into `ld_imm64` ("jump into the middle of ldimm64 insn %d"); finally at
/// most 8 frames along direct calls ("the call stack of %d frames is too deep !").
pub fn check_cfg(slots: &[RawInsn], opts: &CfgOptions) -> Result<Cfg, CfgError> {
    let n = slots.len();
    if n == 0 {
        return Err(CfgError::new(
            0,
            CfgErrorKind::Empty,
            "program has no instructions",
        ));
    }
    // Slots are indexed by u32 internally.
    let limit = opts.max_insns.min(u32::MAX as usize - 1);
    if n > limit {
        return Err(CfgError::new(
            limit,
            CfgErrorKind::TooLarge,
            format!("program of {n} insns is too large (limit {limit})"),
        ));
    }

    let insns = decode(slots)?;
    let subprogs = find_subprogs(&insns, opts)?;
    let mut subprogs = check_subprogs(&insns, subprogs)?;
    let calls = call_sites(&insns, &subprogs);
    for c in &calls {
        if let Some(s) = subprogs.get_mut(c.callee) {
            match c.kind {
                CallKind::Local => s.is_called = true,
                CallKind::Callback => s.is_cb = true,
            }
        }
    }

    let mut roots = vec![0usize];
    if let Some(ex) = opts.exception_callback {
        roots.push(ex);
    }
    let search = search(&insns, &roots, opts.allow_loops)?;
    check_reached(&insns, &search.state)?;

    if let Some(ex) = opts.exception_callback {
        if let Some(c) = calls.iter().find(|c| {
            c.kind == CallKind::Local && subprogs.get(c.callee).is_some_and(|s| s.start == ex)
        }) {
            return Err(CfgError::new(
                c.pc,
                CfgErrorKind::CallsExceptionCallback,
                format!("insn {} cannot call exception cb directly", c.pc),
            ));
        }
    }
    check_call_depth(&subprogs, &calls)?;

    Ok(Cfg {
        insns,
        subprogs,
        calls,
        prune_point: search.prune_point,
        force_checkpoint: search.force_checkpoint,
        jmp_point: search.jmp_point,
        has_loops: !search.back_edges.is_empty(),
        back_edges: search.back_edges,
        postorder: search.postorder,
        preds: OnceLock::new(),
    })
}

/// Decodes every slot; `None` marks the second slot of `ld_imm64`.
fn decode(slots: &[RawInsn]) -> Result<Vec<Option<Insn>>, CfgError> {
    let mut insns = vec![None; slots.len()];
    for item in Decoder::new(slots) {
        match item {
            Ok((pc, insn)) => {
                if let Some(slot) = insns.get_mut(pc) {
                    *slot = Some(insn);
                }
            }
            Err(e) => {
                let raw = slots.get(e.pc).copied().unwrap_or_default();
                return Err(CfgError {
                    pc: e.pc,
                    kind: CfgErrorKind::Decode,
                    message: decode_message(&e.kind, raw),
                    decode: Some(e),
                });
            }
        }
    }
    Ok(insns)
}

/// Linux's message for an instruction that does not decode.
fn decode_message(kind: &DecodeErrorKind, raw: RawInsn) -> String {
    match *kind {
        DecodeErrorKind::UnknownOpcode { opcode } => format!("unknown opcode {opcode:02x}"),
        DecodeErrorKind::BadRegister { reg, .. } => format!("R{reg} is invalid"),
        DecodeErrorKind::MissingLdImm64Slot | DecodeErrorKind::BadLdImm64Slot => {
            "invalid bpf_ld_imm64 insn".to_string()
        }
        DecodeErrorKind::InvalidField {
            opcode: 0x18,
            field: Field::Src,
            ..
        } => "unrecognized bpf_ld_imm64 insn".to_string(),
        DecodeErrorKind::InvalidField { opcode, field, .. }
        | DecodeErrorKind::ReservedField { opcode, field, .. } => {
            reserved_fields_message(opcode, field, raw)
        }
        _ => kind.to_string(),
    }
}

/// Linux's "... uses reserved fields" message for the instruction's kind.
fn reserved_fields_message(opcode: u8, field: Field, raw: RawInsn) -> String {
    let what = match opcode & 0x07 {
        class::LD if opcode == 0x18 => "BPF_LD_IMM64",
        class::LD => "BPF_LD_[ABS|IND]",
        class::LDX => "BPF_LDX",
        class::ST => "BPF_ST",
        class::STX if opcode & 0xe0 == 0xc0 && field == Field::Imm => {
            return format!("BPF_ATOMIC uses invalid atomic opcode {:02x}", raw.imm);
        }
        class::STX => "BPF_STX",
        class::JMP | class::JMP32 => match opcode {
            op::JA | op::JA32 => "BPF_JA",
            op::CALL | op::CALLX => "BPF_CALL",
            op::EXIT => "BPF_EXIT",
            _ => "BPF_JMP/JMP32",
        },
        // ALU and ALU64.
        _ => match opcode & 0xf0 {
            0x80 => "BPF_NEG",
            0xd0 => "BPF_END",
            0xb0 => "BPF_MOV",
            _ => "BPF_ALU",
        },
    };
    format!("{what} uses reserved fields")
}

/// The slot a jump, call or function pointer at `pc` with offset `off` goes to (it may be
/// out of range).
fn target(pc: usize, off: i64) -> i64 {
    (pc as i64).saturating_add(1).saturating_add(off)
}

/// The subprogram a local call or function pointer at `pc` enters.
fn callee_of(insn: &Insn, pc: usize) -> Option<(i64, CallKind)> {
    match *insn {
        Insn::Call(Call::Local(imm)) => Some((target(pc, imm.into()), CallKind::Local)),
        Insn::LdImm64 {
            imm: Imm64::Func(imm),
            ..
        } => Some((target(pc, imm.into()), CallKind::Callback)),
        _ => None,
    }
}

/// The subprogram starts: slot 0, call and function pointer targets, the exception callback.
fn find_subprogs(insns: &[Option<Insn>], opts: &CfgOptions) -> Result<Vec<Subprog>, CfgError> {
    let n = insns.len();
    let mut is_start = vec![false; n];
    let mut count = 0usize;
    let mut add = |start: usize, pc: usize| -> Result<(), CfgError> {
        if let Some(flag) = is_start.get_mut(start) {
            if !*flag {
                if count >= MAX_SUBPROGS {
                    return Err(CfgError::new(
                        pc,
                        CfgErrorKind::TooManySubprogs,
                        "too many subprograms",
                    ));
                }
                *flag = true;
                count += 1;
            }
        }
        Ok(())
    };
    add(0, 0)?;
    for (pc, insn) in insns.iter().enumerate() {
        let Some((to, _)) = insn.as_ref().and_then(|i| callee_of(i, pc)) else {
            continue;
        };
        match usize::try_from(to) {
            Ok(to) if to < n => add(to, pc)?,
            _ => {
                return Err(CfgError::new(
                    pc,
                    CfgErrorKind::InvalidCallTarget,
                    "call to invalid destination",
                ))
            }
        }
    }
    if let Some(ex) = opts.exception_callback {
        if ex >= n {
            return Err(CfgError::new(
                ex,
                CfgErrorKind::InvalidExceptionCallback,
                format!("exception callback insn {ex} is outside the program of {n} insns"),
            ));
        }
        add(ex, ex)?;
    }
    let starts: Vec<usize> = (0..n).filter(|&i| is_start[i]).collect();
    let mut subprogs = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        subprogs.push(Subprog {
            start,
            end: starts.get(i + 1).copied().unwrap_or(n),
            is_exception_cb: opts.exception_callback == Some(start),
            ..Subprog::default()
        });
    }
    Ok(subprogs)
}

/// Per subprogram: every jump stays inside, the last slot is `exit` or `goto`; also notes
/// tail calls and legacy packet loads.
fn check_subprogs(
    insns: &[Option<Insn>],
    mut subprogs: Vec<Subprog>,
) -> Result<Vec<Subprog>, CfgError> {
    for s in &mut subprogs {
        let body = insns.get(s.start..s.end).unwrap_or(&[]);
        for (pc, insn) in (s.start..).zip(body) {
            let off: i64 = match insn {
                Some(Insn::Ja { off, .. }) => (*off).into(),
                Some(Insn::Jmp { off, .. } | Insn::MayGoto { off }) => (*off).into(),
                Some(Insn::Call(Call::Helper(HELPER_TAIL_CALL))) => {
                    s.has_tail_call = true;
                    continue;
                }
                Some(Insn::LdAbs { .. } | Insn::LdInd { .. }) => {
                    s.has_ld_abs = true;
                    continue;
                }
                _ => continue,
            };
            let to = target(pc, off);
            if to < s.start as i64 || to >= s.end as i64 {
                return Err(CfgError::new(
                    pc,
                    CfgErrorKind::JumpOutOfRange,
                    format!("jump out of range from insn {pc} to {to}"),
                ));
            }
        }
        let last = s.end.saturating_sub(1);
        if !matches!(insns.get(last), Some(Some(Insn::Exit | Insn::Ja { .. }))) {
            return Err(CfgError::new(
                last,
                CfgErrorKind::FallThrough,
                "last insn is not an exit or jmp",
            ));
        }
    }
    Ok(subprogs)
}

/// Every local call and function pointer, by slot, with the index of its target.
fn call_sites(insns: &[Option<Insn>], subprogs: &[Subprog]) -> Vec<CallSite> {
    let mut calls = Vec::new();
    for (pc, insn) in insns.iter().enumerate() {
        let Some((to, kind)) = insn.as_ref().and_then(|i| callee_of(i, pc)) else {
            continue;
        };
        let Ok(to) = usize::try_from(to) else {
            continue;
        };
        if let Ok(callee) = subprogs.binary_search_by_key(&to, |s| s.start) {
            calls.push(CallSite { pc, callee, kind });
        }
    }
    calls
}

/// Flow successors of the instruction at `pc` (fall-through first), without range checks.
fn flow_succs(insn: &Insn, pc: usize) -> [Option<usize>; 2] {
    let next = pc.checked_add(1);
    let off: i64 = match *insn {
        Insn::Exit => return [None, None],
        Insn::LdImm64 { .. } => return [pc.checked_add(2), None],
        Insn::Ja { off, .. } => {
            return [usize::try_from(target(pc, off.into())).ok(), None];
        }
        Insn::Jmp { off, .. } | Insn::MayGoto { off } => off.into(),
        _ => return [next, None],
    };
    let to = usize::try_from(target(pc, off)).ok();
    [next, if to == next { None } else { to }]
}

/// Up to two edges the depth-first search follows out of a slot.
#[derive(Clone, Copy)]
struct Out {
    to: [u32; 2],
    kind: [Edge; 2],
    len: u8,
}

/// The edges the depth-first search follows from `pc`: flow edges (fall-through first) and,
/// like Linux, the edge from a call or function pointer into its target. The second slot of
/// `ld_imm64` (only reached by a faulty jump) falls through. An edge out of the program is
/// an error.
fn out_edges(insn: Option<&Insn>, pc: usize, n: usize) -> Result<Out, CfgError> {
    let mut out = Out {
        to: [0; 2],
        kind: [Edge::Flow; 2],
        len: 0,
    };
    let mut add = |to: i64, kind: Edge| -> Result<(), CfgError> {
        match u32::try_from(to) {
            Ok(w) if (w as usize) < n => {
                out.to[out.len as usize] = w;
                out.kind[out.len as usize] = kind;
                out.len += 1;
                Ok(())
            }
            _ => Err(CfgError::new(
                pc,
                CfgErrorKind::JumpOutOfRange,
                format!("jump out of range from insn {pc} to {to}"),
            )),
        }
    };
    let Some(insn) = insn else {
        add(target(pc, 0), Edge::Flow)?;
        return Ok(out);
    };
    match *insn {
        Insn::Exit => {}
        Insn::Ja { off, .. } => add(target(pc, off.into()), Edge::Flow)?,
        Insn::Jmp { off, .. } | Insn::MayGoto { off } => {
            add(target(pc, 0), Edge::Flow)?;
            if off != 0 {
                add(target(pc, off.into()), Edge::Flow)?;
            }
        }
        Insn::Call(Call::Local(imm)) => {
            add(target(pc, 0), Edge::Flow)?;
            add(target(pc, imm.into()), Edge::Call)?;
        }
        Insn::LdImm64 { imm, .. } => {
            add(target(pc, 1), Edge::Flow)?;
            if let Imm64::Func(imm) = imm {
                add(target(pc, imm.into()), Edge::Callback)?;
            }
        }
        _ => add(target(pc, 0), Edge::Flow)?,
    }
    Ok(out)
}

struct Search {
    state: Vec<u8>,
    prune_point: Vec<bool>,
    force_checkpoint: Vec<bool>,
    jmp_point: Vec<bool>,
    back_edges: Vec<(usize, usize)>,
    postorder: Vec<u32>,
}

impl Search {
    /// Marks `pc` as a checkpoint and as entered by a jump.
    fn jump_target(&mut self, pc: u32) {
        self.prune_point[pc as usize] = true;
        self.jmp_point[pc as usize] = true;
    }

    /// Marks the checkpoints Linux marks when its search visits `pc` with edges `out`.
    fn visit(&mut self, insn: Option<&Insn>, pc: usize, out: &Out) {
        let Some(insn) = insn else { return };
        match *insn {
            Insn::Ja { .. } => self.jump_target(out.to[0]),
            Insn::Jmp { .. } | Insn::MayGoto { .. } => {
                self.prune_point[pc] = true;
                if matches!(insn, Insn::MayGoto { .. }) {
                    self.force_checkpoint[pc] = true;
                }
                // The target (the fall-through when the offset is 0).
                self.jump_target(out.to[out.len as usize - 1]);
            }
            Insn::Call(call) => {
                if out.len > 0 {
                    self.jump_target(out.to[0]);
                }
                match call {
                    Call::Local(_) => {
                        self.prune_point[pc] = true;
                        self.jump_target(out.to[1]);
                    }
                    Call::Helper(id) if SYNC_CALLBACK_HELPERS.contains(&id) => {
                        self.prune_point[pc] = true;
                        self.force_checkpoint[pc] = true;
                        self.jmp_point[pc] = true;
                    }
                    Call::Helper(HELPER_TIMER_SET_CALLBACK) => self.prune_point[pc] = true,
                    _ => {}
                }
            }
            Insn::CallX { .. } => self.jump_target(out.to[0]),
            Insn::LdImm64 {
                imm: Imm64::Func(_),
                ..
            } => {
                self.prune_point[pc] = true;
                self.jump_target(out.to[0]);
                self.jump_target(out.to[1]);
            }
            _ => {}
        }
    }
}

/// One node on the search stack: the slot, its edges, and the next edge to follow.
struct Frame {
    pc: u32,
    next: u8,
    out: Out,
}

/// Iterative depth-first search from `roots`, in Linux's edge order (fall-through first):
/// finds back-edges, marks checkpoints, records which slots are reached.
fn search(insns: &[Option<Insn>], roots: &[usize], allow_loops: bool) -> Result<Search, CfgError> {
    let n = insns.len();
    let mut s = Search {
        state: vec![NEW; n],
        prune_point: vec![false; n],
        force_checkpoint: vec![false; n],
        jmp_point: vec![false; n],
        back_edges: Vec::new(),
        postorder: Vec::with_capacity(n),
    };
    let mut stack: Vec<Frame> = Vec::new();
    let enter = |s: &mut Search, stack: &mut Vec<Frame>, w: usize| -> Result<(), CfgError> {
        let insn = insns[w].as_ref();
        let out = out_edges(insn, w, n)?;
        s.state[w] = ON_STACK;
        s.visit(insn, w, &out);
        stack.push(Frame {
            pc: w as u32,
            next: 0,
            out,
        });
        Ok(())
    };
    for &root in roots {
        if s.state.get(root) != Some(&NEW) {
            continue;
        }
        enter(&mut s, &mut stack, root)?;
        while let Some(top) = stack.last_mut() {
            let t = top.pc as usize;
            if top.next >= top.out.len {
                s.state[t] = DONE;
                s.postorder.push(top.pc);
                stack.pop();
                continue;
            }
            let (w, kind) = (
                top.out.to[top.next as usize] as usize,
                top.out.kind[top.next as usize],
            );
            top.next += 1;
            match s.state[w] {
                NEW => enter(&mut s, &mut stack, w)?,
                ON_STACK => {
                    let back_edge =
                        |kind| CfgError::new(t, kind, format!("back-edge from insn {t} to {w}"));
                    match kind {
                        Edge::Call => return Err(back_edge(CfgErrorKind::Recursion)),
                        _ if !allow_loops => return Err(back_edge(CfgErrorKind::Loop)),
                        Edge::Flow => s.back_edges.push((t, w)),
                        // A callback that refers to itself or to a caller: whether the
                        // chain ends is for symbolic execution to see.
                        Edge::Callback => {}
                    }
                }
                _ => {}
            }
        }
    }
    Ok(s)
}

/// Every instruction was reached, and no jump landed on the second slot of `ld_imm64`.
fn check_reached(insns: &[Option<Insn>], state: &[u8]) -> Result<(), CfgError> {
    let mut pc = 0;
    while pc < insns.len() {
        if state.get(pc) != Some(&DONE) {
            return Err(CfgError::new(
                pc,
                CfgErrorKind::Unreachable,
                format!("unreachable insn {pc}"),
            ));
        }
        let slots = insns[pc].as_ref().map_or(1, Insn::slots);
        if slots == 2 && state.get(pc + 1).is_some_and(|&st| st != NEW) {
            return Err(CfgError::new(
                pc,
                CfgErrorKind::JumpIntoLdImm64,
                format!("jump into the middle of ldimm64 insn {pc}"),
            ));
        }
        pc += slots;
    }
    Ok(())
}

/// The direct calls of subprogram `idx`, as a range of `calls`.
fn calls_range(calls: &[CallSite], s: &Subprog) -> std::ops::Range<usize> {
    let lo = calls.partition_point(|c| c.pc < s.start);
    lo..calls.partition_point(|c| c.pc < s.end).max(lo)
}

/// At most [`MAX_CALL_FRAMES`] frames along local calls, from any subprogram (a callback
/// starts at least at frame 0). The direct call graph has no cycle here.
fn check_call_depth(subprogs: &[Subprog], calls: &[CallSite]) -> Result<(), CfgError> {
    let m = subprogs.len();
    let ranges: Vec<_> = subprogs.iter().map(|s| calls_range(calls, s)).collect();
    let local = |i: usize| {
        calls[ranges[i].clone()]
            .iter()
            .filter(|c| c.kind == CallKind::Local)
    };
    // frames[s]: frames of the longest chain of local calls starting in s (s included).
    let mut frames = vec![0usize; m];
    let mut state = vec![NEW; m];
    // (subprogram, index in `calls` of its next call site)
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..m {
        if state[root] != NEW {
            continue;
        }
        state[root] = ON_STACK;
        stack.push((root, ranges[root].start));
        while let Some(top) = stack.last_mut() {
            let (s, next) = *top;
            if next >= ranges[s].end {
                frames[s] = 1 + local(s).map(|c| frames[c.callee]).max().unwrap_or(0);
                state[s] = DONE;
                stack.pop();
                continue;
            }
            top.1 += 1;
            let c = calls[next];
            if c.kind != CallKind::Local {
                continue;
            }
            match state[c.callee] {
                NEW => {
                    state[c.callee] = ON_STACK;
                    stack.push((c.callee, ranges[c.callee].start));
                }
                ON_STACK => {
                    // The search rejects recursion first; kept so that this never loops.
                    let to = subprogs[c.callee].start;
                    return Err(CfgError::new(
                        c.pc,
                        CfgErrorKind::Recursion,
                        format!("back-edge from insn {} to {to}", c.pc),
                    ));
                }
                _ => {}
            }
        }
    }
    // Report as Linux's walk would: from the entry (else the first deep subprogram), follow
    // the first call whose chain is too deep.
    let Some(mut cur) = (0..m).find(|&s| frames[s] > MAX_CALL_FRAMES) else {
        return Ok(());
    };
    let mut frame = 0usize;
    while let Some(c) = local(cur).find(|c| frame + frames[c.callee] >= MAX_CALL_FRAMES) {
        frame += 1;
        if frame >= MAX_CALL_FRAMES {
            return Err(CfgError::new(
                c.pc,
                CfgErrorKind::CallStackTooDeep,
                format!("the call stack of {frame} frames is too deep !"),
            ));
        }
        cur = c.callee;
    }
    Ok(()) // not reached: `frames` guarantees a deep enough call at every step
}

/// Flow predecessors in compressed form, each list by slot.
fn predecessors(insns: &[Option<Insn>]) -> Preds {
    let n = insns.len();
    // Pass 1 counts into start[to + 1]; pass 2 fills, advancing start[to] (shifted back after).
    let mut start = vec![0u32; n + 2];
    for (pc, insn) in insns.iter().enumerate() {
        let Some(insn) = insn else { continue };
        let [a, b] = flow_succs(insn, pc);
        if let Some(to) = a.filter(|&to| to < n) {
            start[to + 2] += 1;
        }
        if let Some(to) = b.filter(|&to| to < n) {
            start[to + 2] += 1;
        }
    }
    for i in 2..n + 2 {
        start[i] += start[i - 1];
    }
    let mut list = vec![0u32; start[n + 1] as usize];
    for (pc, insn) in insns.iter().enumerate() {
        let Some(insn) = insn else { continue };
        let [a, b] = flow_succs(insn, pc);
        if let Some(to) = a.filter(|&to| to < n) {
            list[start[to + 1] as usize] = pc as u32;
            start[to + 1] += 1;
        }
        if let Some(to) = b.filter(|&to| to < n) {
            list[start[to + 1] as usize] = pc as u32;
            start[to + 1] += 1;
        }
    }
    start.pop();
    Preds { start, list }
}

/// How Linux rounds each frame's stack before adding up a call chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StackRounding {
    /// Up to a multiple of 16: Linux with the JIT (every current x86-64 and arm64 kernel).
    #[default]
    Jit,
    /// At least 1 byte, up to a multiple of 32: Linux's interpreter (and every frame before
    /// Linux 6.8).
    Interpreter,
}

impl StackRounding {
    /// The bytes a frame that uses `depth` bytes counts for.
    pub fn round(self, depth: u32) -> u64 {
        let d = u64::from(depth);
        match self {
            StackRounding::Jit => d.div_ceil(16) * 16,
            StackRounding::Interpreter => d.max(1).div_ceil(32) * 32,
        }
    }
}

/// [`check_stack_depth_with`] with Linux's JIT rounding.
pub fn check_stack_depth(cfg: &Cfg, depths: &[u32]) -> Result<(), CfgError> {
    check_stack_depth_with(cfg, depths, StackRounding::Jit)
}

/// After symbolic execution, checks every call chain as Linux does: `depths[i]` is the
/// stack (bytes) subprogram `i` used; each is rounded ([`StackRounding`]); along any chain of
/// calls and synchronous callbacks from the entry or an asynchronous callback
///
/// - at most 8 frames ("the call stack of %d frames is too deep !", at the call that would
///   make the 9th);
/// - at most 512 bytes combined ("combined stack size of %d calls is %d. Too large", at the
///   call that enters the frame that passes the limit);
/// - a subprogram other than the entry that makes a tail call has less than 256 bytes in
///   the frames below it ("tail_calls are not allowed when call stack of previous frames is
///   %d bytes. Too large").
///
/// Asynchronous callbacks ([`Subprog::is_async_cb`]) start a chain of their own unless
/// called directly. When several chains fail, the one reported is the first Linux's walk
/// finds (subprograms in order, call sites by slot). Missing depths count as 0.
pub fn check_stack_depth_with(
    cfg: &Cfg,
    depths: &[u32],
    rounding: StackRounding,
) -> Result<(), CfgError> {
    let subprogs = &cfg.subprogs;
    let m = subprogs.len();
    let size: Vec<u64> = (0..m)
        .map(|i| rounding.round(depths.get(i).copied().unwrap_or(0)))
        .collect();
    let ranges: Vec<_> = subprogs
        .iter()
        .map(|s| calls_range(&cfg.calls, s))
        .collect();
    // The chain goes on along local calls and function pointers, except to asynchronous
    // callbacks that are only referred to.
    let edges = |i: usize| {
        cfg.calls[ranges[i].clone()]
            .iter()
            .filter(|c| match subprogs.get(c.callee) {
                Some(callee) => c.kind == CallKind::Local || !callee.is_async_cb,
                None => false, // not from check_cfg
            })
    };
    let stack_limit = STACK_SIZE as u64;
    // threshold[f][s]: the least stack below s, entered at frame f, from which the walk of
    // s and its callees fails (u64::MAX: never). Layers depend only on deeper layers.
    let mut threshold = vec![vec![u64::MAX; m]; MAX_CALL_FRAMES];
    for f in (0..MAX_CALL_FRAMES).rev() {
        for s in 0..m {
            let mut t = (stack_limit + 1).saturating_sub(size[s]);
            if s != 0 && subprogs[s].has_tail_call {
                t = t.min(TAIL_CALL_STACK_LIMIT);
            }
            for c in edges(s) {
                let below = match threshold.get(f + 1) {
                    Some(layer) => layer[c.callee].saturating_sub(size[s]),
                    None => 0, // the call itself makes too many frames
                };
                t = t.min(below);
            }
            threshold[f][s] = t;
        }
    }
    let roots =
        (0..m).filter(|&i| i == 0 || subprogs[i].is_async_cb || subprogs[i].is_exception_cb);
    for root in roots {
        if threshold[0][root] > 0 {
            continue;
        }
        // Follow Linux's walk down to the failure.
        let (mut cur, mut frame, mut below, mut entered_at) =
            (root, 0usize, 0u64, subprogs[root].start);
        loop {
            if cur != 0 && subprogs[cur].has_tail_call && below >= TAIL_CALL_STACK_LIMIT {
                return Err(CfgError::new(
                    entered_at,
                    CfgErrorKind::TailCallStackTooLarge,
                    format!(
                        "tail_calls are not allowed when call stack of previous frames is {below} bytes. Too large"
                    ),
                ));
            }
            let total = below + size[cur];
            if total > stack_limit {
                return Err(CfgError::new(
                    entered_at,
                    CfgErrorKind::StackTooLarge,
                    format!(
                        "combined stack size of {} calls is {total}. Too large",
                        frame + 1
                    ),
                ));
            }
            let next = edges(cur).find(|c| match threshold.get(frame + 1) {
                Some(layer) => total >= layer[c.callee],
                None => true,
            });
            let Some(c) = next else { break }; // unreachable by construction of `threshold`
            if frame + 1 >= MAX_CALL_FRAMES {
                return Err(CfgError::new(
                    c.pc,
                    CfgErrorKind::CallStackTooDeep,
                    format!("the call stack of {} frames is too deep !", frame + 1),
                ));
            }
            (cur, frame, below, entered_at) = (c.callee, frame + 1, total, c.pc);
        }
    }
    Ok(())
}
