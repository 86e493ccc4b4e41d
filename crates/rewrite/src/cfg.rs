//! The program's shape: decoded instructions, functions and basic blocks.
//!
//! Functions are found as the kernel finds subprograms: slot 0, every `call` with src 1
//! (`BPF_PSEUDO_CALL`) target and every `ld_imm64` src 4 (`BPF_PSEUDO_FUNC`) target start
//! one, and a function runs up to the next start. The structural rules the kernel checks
//! before its verifier runs are checked here too, with its wording: a jump stays inside its
//! function and lands on an instruction, and a function's last instruction is an `exit` or
//! an unconditional jump, so control never falls from one function into the next.

use ebpfvm_isa::{decode_all, Call, Imm64, Insn, RawInsn};

use crate::RewriteError;

/// Index of an instruction in [`Cfg::insns`].
pub(crate) type InsnIdx = usize;

/// Marks a slot that does not start an instruction (the second half of an `ld_imm64`).
const NOT_AN_INSN: u32 = u32::MAX;

/// One function: the instructions `[start, end)` (indices into [`Cfg::insns`]).
#[derive(Clone, Debug)]
pub(crate) struct Function {
    /// Slot of the first instruction.
    pub(crate) entry_pc: usize,
    /// Block that starts at the entry.
    pub(crate) entry_block: usize,
}

/// A basic block: the instructions `[start, end)`, all in function `func`.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    /// First instruction.
    pub(crate) start: InsnIdx,
    /// One past the last instruction.
    pub(crate) end: InsnIdx,
    /// The function the block belongs to.
    pub(crate) func: usize,
    /// Blocks control can flow to from the block's end (calls are not edges): the first
    /// `n_succs` of these.
    succs: [usize; 2],
    n_succs: u8,
}

impl Block {
    /// Blocks control can flow to from the block's end (calls are not edges).
    pub(crate) fn succs(&self) -> &[usize] {
        &self.succs[..usize::from(self.n_succs)]
    }

    fn add_succ(&mut self, b: usize) {
        if !self.succs().contains(&b) {
            self.succs[usize::from(self.n_succs)] = b;
            self.n_succs += 1;
        }
    }
}

/// Decoded program with its functions and blocks.
#[derive(Clone, Debug)]
pub(crate) struct Cfg {
    /// `(pc, insn)` for every instruction, in slot order.
    pub(crate) insns: Vec<(usize, Insn)>,
    /// For every slot, the index of the instruction starting there, or [`NOT_AN_INSN`].
    slot_to_insn: Vec<u32>,
    /// Functions in slot order.
    pub(crate) funcs: Vec<Function>,
    /// Blocks in slot order.
    pub(crate) blocks: Vec<Block>,
    /// Functions that some `ld_imm64` src 4 names (callbacks), in slot order.
    pub(crate) callbacks: Vec<usize>,
}

/// Where `pc + 1 + off` lands, if that is a slot index.
fn target(pc: usize, off: i64) -> Option<usize> {
    let t = i64::try_from(pc).ok()?.checked_add(1)?.checked_add(off)?;
    usize::try_from(t).ok()
}

impl Cfg {
    /// Decodes `slots` and builds functions and blocks, checking the structural rules.
    pub(crate) fn build(slots: &[RawInsn]) -> Result<Cfg, RewriteError> {
        let insns = decode_all(slots).map_err(|e| RewriteError::new(e.pc, e.kind.to_string()))?;
        let mut slot_to_insn = vec![NOT_AN_INSN; slots.len()];
        for (i, (pc, _)) in insns.iter().enumerate() {
            // decode_all yields at most one instruction per slot, so `i` < slots.len() ≤ the
            // caller's size limit, which fits u32.
            slot_to_insn[*pc] = u32::try_from(i).unwrap_or(NOT_AN_INSN);
        }
        let mut cfg = Cfg {
            insns,
            slot_to_insn,
            funcs: Vec::new(),
            blocks: Vec::new(),
            callbacks: Vec::new(),
        };
        if cfg.insns.is_empty() {
            return Ok(cfg);
        }
        cfg.find_functions()?;
        cfg.check_jumps()?;
        cfg.build_blocks();
        Ok(cfg)
    }

    /// The instruction starting at slot `pc`, if one does.
    pub(crate) fn insn_at(&self, pc: usize) -> Option<InsnIdx> {
        match self.slot_to_insn.get(pc) {
            Some(&i) if i != NOT_AN_INSN => Some(i as usize),
            _ => None,
        }
    }

    /// The function whose entry is slot `pc`, if one is.
    pub(crate) fn func_at(&self, pc: usize) -> Option<usize> {
        self.funcs.binary_search_by_key(&pc, |f| f.entry_pc).ok()
    }

    /// The function containing slot `pc` (which must be inside the program).
    fn func_containing(&self, pc: usize) -> usize {
        self.funcs
            .partition_point(|f| f.entry_pc <= pc)
            .saturating_sub(1)
    }

    /// One past the last slot of function `f`.
    fn func_end_pc(&self, f: usize) -> usize {
        self.funcs
            .get(f + 1)
            .map_or(self.slot_to_insn.len(), |g| g.entry_pc)
    }

    /// The target slot of a local call or `ld_imm64` src 4 at `pc`, checked.
    fn callee_target(&self, pc: usize, imm: i32) -> Result<usize, RewriteError> {
        match target(pc, i64::from(imm)) {
            Some(t) if self.insn_at(t).is_some() => Ok(t),
            _ => Err(RewriteError::new(pc, "call to invalid destination")),
        }
    }

    /// The function a local call or `ld_imm64` src 4 at `pc` names.
    pub(crate) fn callee(&self, pc: usize, imm: i32) -> Option<usize> {
        target(pc, i64::from(imm)).and_then(|t| self.func_at(t))
    }

    fn find_functions(&mut self) -> Result<(), RewriteError> {
        let mut entries = vec![0usize];
        let mut callback_entries = Vec::new();
        for &(pc, insn) in &self.insns {
            match insn {
                Insn::Call(Call::Local(imm)) => entries.push(self.callee_target(pc, imm)?),
                Insn::LdImm64 {
                    imm: Imm64::Func(imm),
                    ..
                } => {
                    let t = self.callee_target(pc, imm)?;
                    entries.push(t);
                    callback_entries.push(t);
                }
                _ => {}
            }
        }
        entries.sort_unstable();
        entries.dedup();
        self.funcs = entries
            .into_iter()
            .map(|entry_pc| Function {
                entry_pc,
                entry_block: 0,
            })
            .collect();
        callback_entries.sort_unstable();
        callback_entries.dedup();
        self.callbacks = callback_entries
            .into_iter()
            .filter_map(|pc| self.func_at(pc))
            .collect();
        // Every function ends with an exit or an unconditional jump.
        for f in 0..self.funcs.len() {
            let end = self.func_end_pc(f);
            // The instruction covering the function's last slot.
            let last = self.insns.partition_point(|(pc, _)| *pc < end) - 1;
            let (pc, insn) = self.insns[last];
            if !insn.is_terminator() || pc + insn.slots() != end {
                return Err(RewriteError::new(pc, "last insn is not an exit or jmp"));
            }
        }
        Ok(())
    }

    fn check_jumps(&self) -> Result<(), RewriteError> {
        for &(pc, insn) in &self.insns {
            let Some(off) = insn.jump_offset() else {
                continue;
            };
            let f = self.func_containing(pc);
            let (lo, hi) = (self.funcs[f].entry_pc, self.func_end_pc(f));
            match target(pc, i64::from(off)) {
                Some(t) if (lo..hi).contains(&t) => {
                    if self.insn_at(t).is_none() {
                        return Err(RewriteError::new(
                            pc,
                            format!("jump into the middle of ldimm64 insn {}", t - 1),
                        ));
                    }
                }
                _ => {
                    let t = i64::try_from(pc).unwrap_or(i64::MAX) + 1 + i64::from(off);
                    return Err(RewriteError::new(
                        pc,
                        format!("jump out of range from insn {pc} to {t}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn build_blocks(&mut self) {
        let n = self.insns.len();
        let mut leader = vec![false; n];
        for f in &self.funcs {
            if let Some(i) = self.insn_at(f.entry_pc) {
                leader[i] = true;
            }
        }
        for (i, &(pc, insn)) in self.insns.iter().enumerate() {
            if let Some(off) = insn.jump_offset() {
                // Checked by `check_jumps`.
                if let Some(t) = target(pc, i64::from(off)).and_then(|t| self.insn_at(t)) {
                    leader[t] = true;
                }
            }
            if (insn.jump_offset().is_some() || insn.is_terminator()) && i + 1 < n {
                leader[i + 1] = true;
            }
        }
        let mut block_of = vec![0usize; n];
        let mut blocks: Vec<Block> = Vec::new();
        for i in 0..n {
            if leader[i] || i == 0 {
                blocks.push(Block {
                    start: i,
                    end: i,
                    func: self.func_containing(self.insns[i].0),
                    succs: [0; 2],
                    n_succs: 0,
                });
            }
            let last = blocks.len() - 1;
            blocks[last].end = i + 1;
            block_of[i] = last;
        }
        for b in &mut blocks {
            let (pc, insn) = self.insns[b.end - 1];
            let jump = insn
                .jump_offset()
                .and_then(|off| target(pc, i64::from(off)))
                .and_then(|t| self.insn_at(t))
                .map(|t| block_of[t]);
            let fall = (!insn.is_terminator() && b.end < n).then(|| block_of[b.end]);
            // At most a fall-through and a jump target.
            for s in [fall, jump].into_iter().flatten() {
                b.add_succ(s);
            }
        }
        for f in &mut self.funcs {
            if let Some(i) = self.slot_to_insn.get(f.entry_pc) {
                f.entry_block = block_of[*i as usize];
            }
        }
        self.blocks = blocks;
    }
}
