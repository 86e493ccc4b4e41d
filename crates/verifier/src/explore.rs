//! The path-exploration driver: a depth-first work stack of states, the instruction budget,
//! checkpoints for pruning and loop detection, and the log.
//!
//! Checkpoints follow Linux's scheme: a checkpoint is stored at a prune point; it counts the
//! paths still to be explored below it (`branches`); only checkpoints whose subtree is
//! complete are used for pruning (an ancestor still being explored is compared for exact
//! equality instead, which means an infinite loop). Callback bodies are iterated until their
//! entry state is included in an earlier one (with widening), since the helper bounds the
//! number of calls.

use std::collections::HashMap;
use std::time::Instant;

use ebpfvm_isa::{Call, Imm64, Insn};

use crate::cfg::{check_cfg, check_stack_depth, CfgOptions};
use crate::ctx_rules::CtxRules;
use crate::env::Env;
use crate::liveness::Liveness;
use crate::precision::Precision;
use crate::prune::{self, Mode};
use crate::state::{Frame, Reg, RegType, State};
use crate::transfer::branch::Split;
use crate::transfer::call::{self, ExitTo};
use crate::transfer::{alu, branch, check_readable, mem, Fail};
use crate::{log, num, Rejected, Stats, Verified, VerifyInput, VerifyOptions};

struct Checkpoint {
    pc: usize,
    state: Option<State>,
    parent: Option<usize>,
    branches: u32,
    hits: u32,
    miss: u32,
}

struct Work {
    pc: usize,
    state: State,
    parent: Option<usize>,
    trace_len: usize,
    from: usize,
}

struct Explorer<'a> {
    env: Env<'a>,
    opts: &'a VerifyOptions,
    live: Liveness,
    precision: Precision,
    prune_point: Vec<bool>,
    checkpoints: Vec<Checkpoint>,
    /// Completed checkpoints per slot (used for pruning).
    at: Vec<Vec<usize>>,
    /// Checkpoints by (slot, fingerprint), for the infinite-loop check.
    by_fp: HashMap<(usize, u64), Vec<usize>>,
    /// In-progress checkpoints per slot.
    in_progress: Vec<u32>,
    /// Checkpoints at callback entries per slot.
    cb_at: HashMap<usize, Vec<usize>>,
    work: Vec<Work>,
    stats: Stats,
    live_states: u64,
    log: String,
    trace: Vec<String>,
    last_line: Option<usize>,
    stack_depth: Vec<u32>,
    jmps_since: u32,
    insns_since: u64,
}

/// Runs the verifier.
pub fn run(input: &VerifyInput, opts: &VerifyOptions) -> Result<Verified, Rejected> {
    let start = Instant::now();
    let fail_early = |pc: usize, message: String| {
        let stats = Stats {
            time: start.elapsed(),
            ..Stats::default()
        };
        let log = format!("{message}\n{}\n", stats.line(opts.max_insns));
        Rejected {
            pc,
            message,
            log,
            stats,
        }
    };
    let cfg_opts = CfgOptions {
        max_insns: ebpfvm_abi::limits::MAX_PROGRAM_SLOTS,
        ..CfgOptions::default()
    };
    let cfg = check_cfg(input.slots, &cfg_opts).map_err(|e| fail_early(e.pc, e.message))?;
    let succ: Vec<Vec<usize>> = (0..cfg.len()).map(|pc| cfg.succs(pc).collect()).collect();
    let mut prune_point = cfg.prune_point.clone();
    for (p, f) in prune_point.iter_mut().zip(&cfg.force_checkpoint) {
        *p |= *f;
    }
    let env = Env {
        input,
        insns: cfg.insns.clone(),
        ctx: CtxRules::for_program(input.prog_type, input.expected_attach_type),
        subprogs: cfg.subprogs.iter().map(|s| s.start).collect(),
    };
    let live = Liveness::compute(&env.insns, &succ);
    let precision = Precision::compute(&env.insns, &succ, &env.subprogs);
    let n = env.insns.len();
    let nsub = env.subprogs.len();
    let mut ex = Explorer {
        env,
        opts,
        live,
        precision,
        prune_point,
        checkpoints: Vec::new(),
        at: vec![Vec::new(); n],
        by_fp: HashMap::new(),
        in_progress: vec![0; n],
        cb_at: HashMap::new(),
        work: Vec::new(),
        stats: Stats::default(),
        live_states: 0,
        log: String::new(),
        trace: Vec::new(),
        last_line: None,
        stack_depth: vec![0; nsub],
        jmps_since: 0,
        insns_since: 0,
    };
    let mut result = ex.explore();
    if result.is_ok() {
        if let Err(e) = check_stack_depth(&cfg, &ex.stack_depth) {
            result = Err((e.pc, e.message));
        }
    }
    ex.stats.time = start.elapsed();
    let stats_line = ex.stats.line(opts.max_insns);
    match result {
        Ok(()) => {
            let mut log = std::mem::take(&mut ex.log);
            log.push_str(&stats_line);
            log.push('\n');
            Ok(Verified {
                log,
                stats: ex.stats,
                stack_depth: ex.stack_depth,
            })
        }
        Err((pc, message)) => {
            let mut log = if opts.log_level == 1 {
                let mut s = ex.trace.join("\n");
                if !s.is_empty() {
                    s.push('\n');
                }
                s
            } else {
                std::mem::take(&mut ex.log)
            };
            log.push_str(&message);
            log.push('\n');
            log.push_str(&stats_line);
            log.push('\n');
            let message = message.lines().last().unwrap_or_default().to_string();
            Err(Rejected {
                pc,
                message,
                log,
                stats: ex.stats,
            })
        }
    }
}

type Failure = (usize, String);

enum Visit {
    Pruned,
    Continue(Option<usize>),
}

impl<'a> Explorer<'a> {
    fn explore(&mut self) -> Result<(), Failure> {
        let mut init = State {
            frames: vec![Frame::new(0, 0, 0)],
            refs: Vec::new(),
            id_gen: 0,
        };
        init.frames[0].regs[1] = Reg::pointer(RegType::Ctx);
        self.work.push(Work {
            pc: 0,
            state: init,
            parent: None,
            trace_len: 0,
            from: usize::MAX,
        });
        while let Some(w) = self.work.pop() {
            self.trace.truncate(w.trace_len);
            if self.opts.log_level > 0 && w.from != usize::MAX {
                let line = format!(
                    "from {} to {}: {}",
                    w.from,
                    w.pc,
                    log::state_str(&self.env, &w.state)
                );
                self.emit(line);
            }
            self.path(w.pc, w.state, w.parent)?;
        }
        Ok(())
    }

    fn emit(&mut self, line: String) {
        match self.opts.log_level {
            1 => self.trace.push(line),
            2 => {
                self.log.push_str(&line);
                self.log.push('\n');
            }
            _ => {}
        }
    }

    fn push(&mut self, pc: usize, state: State, parent: Option<usize>, from: usize) {
        if let Some(p) = parent {
            self.checkpoints[p].branches += 1;
        }
        self.work.push(Work {
            pc,
            state,
            parent,
            trace_len: self.trace.len(),
            from,
        });
    }

    /// A path ended: checkpoints whose every path is done become usable for pruning.
    fn path_done(&mut self, mut parent: Option<usize>) {
        while let Some(p) = parent {
            let cp = &mut self.checkpoints[p];
            cp.branches -= 1;
            if cp.branches > 0 {
                break;
            }
            parent = cp.parent;
            let pc = cp.pc;
            self.in_progress[pc] -= 1;
            self.at[pc].push(p);
            let n = self.at[pc].len() as u32;
            self.stats.max_states_per_insn = self.stats.max_states_per_insn.max(n);
        }
    }

    fn visit(
        &mut self,
        pc: usize,
        st: &mut State,
        parent: Option<usize>,
    ) -> Result<Visit, Failure> {
        prune::normalize_ids(st);
        let cb_entry = st.cur().callback.is_some() && st.cur().entry == pc;
        let looping = self.in_progress[pc] > 0;
        let fp = prune::fingerprint(st, pc, &self.live);
        if looping {
            for &idx in self.by_fp.get(&(pc, fp)).map_or(&[][..], |v| &v[..]) {
                let cp = &self.checkpoints[idx];
                let Some(old) = cp.state.as_ref() else {
                    continue;
                };
                if cp.branches > 0 && prune::compare(old, st, pc, &self.live, Mode::Exact, None) {
                    if cb_entry {
                        return Ok(Visit::Pruned);
                    }
                    return Err((pc, format!("infinite loop detected at insn {pc}")));
                }
            }
        }
        let mut ancestor = None;
        if cb_entry {
            for &idx in self.cb_at.get(&pc).map_or(&[][..], |v| &v[..]) {
                let cp = &self.checkpoints[idx];
                let Some(old) = cp.state.as_ref() else {
                    continue;
                };
                if cp.branches == 0 {
                    continue;
                }
                if prune::compare(old, st, pc, &self.live, Mode::Includes, None) {
                    return Ok(Visit::Pruned);
                }
                ancestor = Some(idx);
            }
        }
        if self.opts.prune {
            let rel = prune::Relevant {
                regs: self.precision.regs_in(pc),
                slots: self.precision.slots_in(pc),
            };
            for i in 0..self.at[pc].len() {
                let idx = self.at[pc][i];
                let Some(old) = self.checkpoints[idx].state.as_ref() else {
                    continue;
                };
                if prune::compare(old, st, pc, &self.live, Mode::Includes, Some(rel)) {
                    self.checkpoints[idx].hits += 1;
                    return Ok(Visit::Pruned);
                }
                self.checkpoints[idx].miss += 1;
            }
        }
        if let Some(idx) = ancestor {
            if let Some(w) = self.checkpoints[idx]
                .state
                .as_ref()
                .and_then(|old| prune::widen(old, st))
            {
                *st = w;
            }
        }
        // Evict completed checkpoints that keep missing.
        let checkpoints = &mut self.checkpoints;
        let mut evicted = 0;
        self.at[pc].retain(|&idx| {
            let cp = &mut checkpoints[idx];
            if cp.branches == 0 && cp.miss > cp.hits * 3 + 3 {
                cp.state = None;
                evicted += 1;
                false
            } else {
                true
            }
        });
        self.live_states -= evicted;
        // Inside a loop, add checkpoints less often (as Linux does).
        let (jmps, insns) = if looping { (20, 100) } else { (2, 8) };
        let add = cb_entry
            || ancestor.is_some()
            || (self.jmps_since >= jmps && self.insns_since >= insns)
            || self.env.subprogs.binary_search(&pc).is_ok();
        if !add {
            return Ok(Visit::Continue(parent));
        }
        self.jmps_since = 0;
        self.insns_since = 0;
        let idx = self.checkpoints.len();
        let fp = prune::fingerprint(st, pc, &self.live);
        self.by_fp.entry((pc, fp)).or_default().push(idx);
        if cb_entry {
            self.cb_at.entry(pc).or_default().push(idx);
        }
        self.in_progress[pc] += 1;
        self.checkpoints.push(Checkpoint {
            pc,
            state: Some(st.clone()),
            parent,
            branches: 1,
            hits: 0,
            miss: 0,
        });
        self.stats.total_states += 1;
        self.live_states += 1;
        self.stats.peak_states = self.stats.peak_states.max(self.live_states);
        Ok(Visit::Continue(Some(idx)))
    }

    fn source_line(&mut self, pc: usize) {
        let li = self.env.input.line_info;
        if li.is_empty() {
            return;
        }
        let i = li.partition_point(|l| l.insn <= pc);
        if i == 0 {
            return;
        }
        let l = &li[i - 1];
        if l.insn == pc && self.last_line != Some(i - 1) {
            self.last_line = Some(i - 1);
            let text = format!("; {} @ {}:{}", l.text.trim(), l.file, l.line);
            self.emit(text);
        }
    }

    fn path(
        &mut self,
        mut pc: usize,
        mut st: State,
        mut parent: Option<usize>,
    ) -> Result<(), Failure> {
        loop {
            self.stats.processed += 1;
            self.insns_since += 1;
            if self.stats.processed > self.opts.max_insns {
                return Err((
                    pc,
                    format!(
                        "BPF program is too large. Processed {} insn",
                        self.stats.processed
                    ),
                ));
            }
            if self.prune_point[pc] {
                match self.visit(pc, &mut st, parent)? {
                    Visit::Pruned => {
                        if self.opts.log_level > 0 {
                            self.emit(format!("{pc}: safe"));
                        }
                        self.path_done(parent);
                        return Ok(());
                    }
                    Visit::Continue(p) => parent = p,
                }
            }
            let insn = self.env.insns[pc].expect("only instruction starts are reached");
            if self.opts.log_level > 0 {
                self.source_line(pc);
                let line = log::insn_line(pc, &self.env.input.slots[pc], &insn);
                self.emit(line);
            }
            let step = self.step(pc, &insn, st, parent);
            let next = match step {
                Ok(n) => n,
                Err(Fail(m)) => return Err((pc, m)),
            };
            match next {
                Next::Goto(npc, nst) => {
                    if self.opts.log_level == 2 {
                        let s = format!("{pc}: {}", log::state_str(&self.env, &nst));
                        self.emit(s);
                    }
                    self.note_depth(&nst);
                    pc = npc;
                    st = nst;
                }
                Next::End => {
                    self.path_done(parent);
                    return Ok(());
                }
            }
        }
    }

    fn note_depth(&mut self, st: &State) {
        for fr in &st.frames {
            let d = (fr.stack.len() * 8) as u32;
            let i = self.env.subprogs.partition_point(|&s| s < fr.entry);
            if let Some(slot) = self.stack_depth.get_mut(i) {
                *slot = (*slot).max(d);
            }
        }
    }

    fn step(
        &mut self,
        pc: usize,
        insn: &Insn,
        mut st: State,
        parent: Option<usize>,
    ) -> Result<Next, Fail> {
        let env = &self.env;
        let next = pc + insn.slots();
        match *insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => alu::alu(&mut st, width, op, dst, src)?,
            Insn::Neg { width, dst } => alu::neg(&mut st, width, dst)?,
            Insn::Endian { order, bits, dst } => alu::endian(&mut st, order, bits, dst)?,
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            } => alu::movsx(&mut st, width, dst, src, bits)?,
            Insn::AddrSpaceCast { .. } => return Err(
                "addr_space_cast insn can only be used in a program that has an associated arena"
                    .into(),
            ),
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => mem::load(env, &mut st, size, signed, dst, src, off)?,
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => mem::store(env, &mut st, size, dst, off, src)?,
            Insn::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => mem::atomic(env, &mut st, size, op, fetch, dst, src, off)?,
            Insn::LdImm64 { dst, imm } => {
                crate::transfer::check_writable_dst(dst.index())?;
                let r = ld_imm64(env, pc, imm)?;
                *st.reg_mut(dst.index()) = r;
            }
            Insn::LdAbs { size, .. } | Insn::LdInd { size, .. } => {
                if !env.ctx.has_skb() {
                    return Err(
                        "BPF_LD_[ABS|IND] instructions not allowed for this program type".into(),
                    );
                }
                if st.reg(6).ty != RegType::Ctx {
                    return Err("at the time of BPF_LD_ABS|IND R6 != pointer to skb".into());
                }
                if let Insn::LdInd { src, .. } = *insn {
                    check_readable(&st, src.index())?;
                    if st.reg(src.index()).ty != RegType::Scalar {
                        return Err(format!("R{} invalid mem access 'ptr'", src.index()).into());
                    }
                }
                if st.depth() > 0 || !st.refs.is_empty() {
                    return Err("BPF_LD_[ABS|IND] cannot be used inside bpf-to-bpf calls or with references held".into());
                }
                for r in 1..=5 {
                    *st.reg_mut(r) = Reg::not_init();
                }
                *st.reg_mut(0) = Reg::scalar(num::unknown_bits(size.bits()));
            }
            Insn::Ja { off, .. } => {
                self.jmps_since += 1;
                return Ok(Next::Goto((next as i64 + i64::from(off)) as usize, st));
            }
            Insn::MayGoto { off } => {
                self.jmps_since += 1;
                let t = (next as i64 + i64::from(off)) as usize;
                self.push(t, st.clone(), parent, pc);
                return Ok(Next::Goto(next, st));
            }
            Insn::Jmp {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                self.jmps_since += 1;
                let t = (next as i64 + i64::from(off)) as usize;
                let Split { fall, taken } = branch::cond(st, width, cond, dst, src)?;
                if self.opts.log_level > 0 {
                    if let Some(s) = fall.as_ref().or(taken.as_ref()) {
                        let line = format!("{pc}: {}", log::state_str(&self.env, s));
                        self.emit(line);
                    }
                }
                return Ok(match (fall, taken) {
                    (Some(f), Some(tk)) => {
                        self.push(t, tk, parent, pc);
                        Next::Goto(next, f)
                    }
                    (Some(f), None) => Next::Goto(next, f),
                    (None, Some(tk)) => Next::Goto(t, tk),
                    (None, None) => Next::End,
                });
            }
            Insn::Call(Call::Helper(id)) => {
                let cb = call::helper(env, &mut st, pc, id)?;
                if let Some(cb) = cb {
                    let mut inner = st.clone();
                    call::push_frame(&mut inner, pc, cb.entry, Some(cb.args))?;
                    self.push(next, st, parent, pc);
                    return Ok(Next::Goto(cb.entry, inner));
                }
                if id == 12 {
                    // A tail call that fails falls through; one that succeeds never returns.
                }
            }
            Insn::Call(Call::Local(off)) => {
                let t = (next as i64 + i64::from(off)) as usize;
                call::local_call(&mut st, pc, t)?;
                return Ok(Next::Goto(t, st));
            }
            Insn::Call(Call::Kfunc { .. }) => {
                return Err("calling kernel functions is not supported".into())
            }
            Insn::CallX { .. } => return Err("unknown opcode 8d".into()),
            Insn::Exit => {
                return Ok(match call::exit(env, &mut st)? {
                    ExitTo::Program => Next::End,
                    ExitTo::Caller(resume) => Next::Goto(resume, st),
                    ExitTo::CallbackReturn {
                        resume,
                        entry,
                        args,
                        callsite,
                    } => {
                        let mut again = st.clone();
                        call::push_frame(&mut again, callsite, entry, Some(*args))?;
                        self.push(resume, st, parent, pc);
                        Next::Goto(entry, again)
                    }
                });
            }
        }
        Ok(Next::Goto(next, st))
    }
}

enum Next {
    Goto(usize, State),
    End,
}

fn ld_imm64(env: &Env, pc: usize, imm: Imm64) -> Result<Reg, Fail> {
    Ok(match imm {
        Imm64::Value(v) => Reg::constant(v),
        Imm64::MapIdx(i) | Imm64::MapFd(i) => {
            let idx = u32::try_from(i).ok().filter(|&i| env.map(i).is_some());
            let Some(idx) = idx else {
                return Err(format!("fd {i} is not pointing to valid bpf_map").into());
            };
            Reg::pointer(RegType::MapPtr { map: idx })
        }
        Imm64::MapIdxValue { idx, off } | Imm64::MapValue { fd: idx, off } => {
            let m = u32::try_from(idx).ok().filter(|&i| env.map(i).is_some());
            let Some(m) = m else {
                return Err(format!("fd {idx} is not pointing to valid bpf_map").into());
            };
            let desc = env.map(m).expect("checked");
            if !matches!(desc.map_type, crate::MapType::Array) {
                return Err("direct value access on this map type is not supported".into());
            }
            if off >= desc.value_size {
                return Err(format!(
                    "invalid access to map value pointer, value_size={} off={off}",
                    desc.value_size
                )
                .into());
            }
            let mut r = Reg::pointer(RegType::MapValue { map: m });
            r.off = off as i32;
            r
        }
        Imm64::Func(off) => {
            let t = pc as i64 + 1 + i64::from(off);
            Reg::pointer(RegType::Func { entry: t as u32 })
        }
        Imm64::BtfId { .. } => {
            return Err("BTF variables (ld_imm64 src 3) are not supported".into())
        }
    })
}
