//! State inclusion for pruning (`cur ⊑ old`: every concrete state of `cur` is one of
//! `old`'s, so if `old` was verified safe, so is `cur`), exact equality for the
//! infinite-loop check, and widening for callback iterations.
//!
//! Registers are compared only where live (see [`crate::liveness`]); ids are compared
//! through a map from `old`'s ids to `cur`'s, which must be a function.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::liveness::{Liveness, RegSet};
use crate::num;
use crate::state::{ByteKind, Frame, Reg, RegType, Slot, State};

/// How to compare.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `cur ⊑ old`.
    Includes,
    /// `cur == old` on everything that matters.
    Exact,
}

struct Cmp {
    mode: Mode,
    ids: HashMap<u32, u32>,
}

/// Registers and stack slots (of the innermost frame) whose scalar values matter; scalars
/// elsewhere compare as "any scalar" (see [`crate::precision`]).
#[derive(Clone, Copy)]
pub struct Relevant {
    /// Registers of the innermost frame.
    pub regs: RegSet,
    /// Stack slots of the innermost frame.
    pub slots: u64,
}

impl Cmp {
    fn id(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 {
            return self.mode == Mode::Includes || cur == 0;
        }
        if cur == 0 {
            return false;
        }
        *self.ids.entry(old).or_insert(cur) == cur
    }

    fn reg(&mut self, old: &Reg, cur: &Reg) -> bool {
        if self.mode == Mode::Exact {
            return old.ty == cur.ty
                && old.off == cur.off
                && old.val == cur.val
                && old.range == cur.range
                && self.id(old.id, cur.id)
                && self.id(old.ref_id, cur.ref_id);
        }
        match old.ty {
            RegType::NotInit => true,
            RegType::Scalar => {
                cur.ty == RegType::Scalar && num::leq(&cur.val, &old.val) && self.id(old.id, cur.id)
            }
            _ => {
                old.ty == cur.ty
                    && old.off == cur.off
                    && num::leq(&cur.val, &old.val)
                    && cur.range >= old.range
                    && self.id(old.id, cur.id)
                    && self.id(old.ref_id, cur.ref_id)
            }
        }
    }

    fn slot(&mut self, old: Option<&Slot>, cur: Option<&Slot>) -> bool {
        let invalid = Slot::invalid();
        let old = old.unwrap_or(&invalid);
        let cur = cur.unwrap_or(&invalid);
        if self.mode == Mode::Exact {
            if old.bytes != cur.bytes {
                return false;
            }
            return match (&old.spill, &cur.spill) {
                (Some(a), Some(b)) => self.reg(a, b),
                (None, None) => true,
                _ => false,
            };
        }
        if let Some(o) = &old.spill {
            return match &cur.spill {
                Some(c) => self.reg(o, c),
                None => {
                    // Plain bytes are included in an unknown scalar spill.
                    o.ty == RegType::Scalar
                        && num::as_const(&o.val).is_none()
                        && num::leq(&num::unknown(), &o.val)
                        && o.id == 0
                        && cur
                            .bytes
                            .iter()
                            .all(|b| matches!(b, ByteKind::Misc | ByteKind::Zero))
                }
            };
        }
        for i in 0..8 {
            let ok = match old.bytes[i] {
                // Uninitialised stack reads as unknown bytes: anything but a pointer.
                ByteKind::Invalid => !cur.spill.as_ref().is_some_and(|r| r.ty.is_pointer()),
                ByteKind::Misc => match cur.bytes[i] {
                    ByteKind::Misc | ByteKind::Zero => true,
                    ByteKind::Spill => cur.spill.as_ref().is_some_and(|r| r.ty == RegType::Scalar),
                    ByteKind::Invalid => false,
                },
                ByteKind::Zero => match cur.bytes[i] {
                    ByteKind::Zero => true,
                    ByteKind::Spill => cur.spill.as_ref().is_some_and(|r| r.is_zero()),
                    _ => false,
                },
                ByteKind::Spill => false,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// An imprecise scalar of `old` includes any scalar.
    fn imprecise(&self, old: &Reg, cur: &Reg) -> bool {
        self.mode == Mode::Includes && old.ty == RegType::Scalar && cur.ty == RegType::Scalar
    }

    fn frame(&mut self, old: &Frame, cur: &Frame, live: RegSet, rel: Option<Relevant>) -> bool {
        let (rregs, rslots) = rel.map_or((0x3ff, u64::MAX), |r| (r.regs, r.slots));
        if old.callsite != cur.callsite || old.entry != cur.entry {
            return false;
        }
        if old.callback.is_some() != cur.callback.is_some() {
            return false;
        }
        if let (Some(a), Some(b)) = (&old.callback, &cur.callback) {
            for (x, y) in a.iter().zip(b.iter()) {
                if !self.reg(x, y) {
                    return false;
                }
            }
        }
        for r in 0..10 {
            if live & (1 << r) == 0 {
                continue;
            }
            if rregs & (1 << r) == 0 && self.imprecise(&old.regs[r], &cur.regs[r]) {
                continue;
            }
            if !self.reg(&old.regs[r], &cur.regs[r]) {
                return false;
            }
        }
        let n = old.stack.len().max(cur.stack.len());
        (0..n).all(|i| {
            let (o, c) = (old.stack.get(i), cur.stack.get(i));
            if i < 64 && rslots & (1u64 << i) == 0 {
                if let (Some(os), Some(cs)) = (
                    o.and_then(|x| x.spill.as_deref()),
                    c.and_then(|x| x.spill.as_deref()),
                ) {
                    if self.imprecise(os, cs) {
                        return true;
                    }
                }
            }
            self.slot(o, c)
        })
    }
}

/// Registers of each frame that matter at `pc` (innermost) and after each call returns.
fn live_sets(st: &State, pc: usize, live: &Liveness) -> Vec<RegSet> {
    let n = st.frames.len();
    (0..n)
        .map(|i| {
            if i + 1 == n {
                live.live_in(pc)
            } else {
                // The caller resumes after the call of frame i + 1; r0–r5 are rewritten.
                let ret = st.frames[i + 1].callsite + 1;
                live.live_in(ret) & 0b11_1100_0000
            }
        })
        .collect()
}

/// Compares `cur` with `old` at `pc`.
pub fn compare(
    old: &State,
    cur: &State,
    pc: usize,
    live: &Liveness,
    mode: Mode,
    rel: Option<Relevant>,
) -> bool {
    if old.frames.len() != cur.frames.len() || old.refs.len() != cur.refs.len() {
        return false;
    }
    let sets = live_sets(cur, pc, live);
    let mut cmp = Cmp {
        mode,
        ids: HashMap::new(),
    };
    for (i, (o, c)) in old.frames.iter().zip(cur.frames.iter()).enumerate() {
        let r = if i + 1 == sets.len() { rel } else { None };
        if !cmp.frame(o, c, sets[i], r) {
            return false;
        }
    }
    old.refs
        .iter()
        .zip(cur.refs.iter())
        .all(|((oid, _), (cid, _))| cmp.id(*oid, *cid))
}

/// Clears scalar ids held by one register only (they link nothing), so that they do not
/// get in the way of comparisons.
pub fn normalize_ids(st: &mut State) {
    let mut count: HashMap<u32, u32> = HashMap::new();
    for r in st.regs() {
        if r.ty == RegType::Scalar && r.id != 0 {
            *count.entry(r.id).or_default() += 1;
        }
    }
    if count.values().all(|&c| c > 1) {
        return;
    }
    st.for_each_reg(|r| {
        if r.ty == RegType::Scalar && r.id != 0 && count.get(&r.id) == Some(&1) {
            r.id = 0;
        }
    });
}

/// A state including both `old` and `cur` (for callback iterations), or `None` if their
/// shapes differ. Scalars not included in `old`'s become unknown.
pub fn widen(old: &State, cur: &State) -> Option<State> {
    if old.frames.len() != cur.frames.len() || old.refs.len() != cur.refs.len() {
        return None;
    }
    let mut out = cur.clone();
    for (o, c) in old.frames.iter().zip(out.frames.iter_mut()) {
        if o.callsite != c.callsite || o.entry != c.entry {
            return None;
        }
        for r in 0..11 {
            c.regs[r] = widen_reg(&o.regs[r], &c.regs[r])?;
        }
        let n = o.stack.len().max(c.stack.len());
        if c.stack.len() < n {
            c.stack.resize(n, Slot::invalid());
        }
        for i in 0..n {
            let os = o.stack.get(i).cloned().unwrap_or_else(Slot::invalid);
            let cs = &mut c.stack[i];
            *cs = widen_slot(&os, cs)?;
        }
    }
    Some(out)
}

fn widen_reg(old: &Reg, cur: &Reg) -> Option<Reg> {
    match (old.ty, cur.ty) {
        (RegType::NotInit, _) | (_, RegType::NotInit) => Some(Reg::not_init()),
        (RegType::Scalar, RegType::Scalar) => {
            if num::leq(&cur.val, &old.val) {
                Some(Reg::scalar(old.val))
            } else {
                Some(Reg::scalar(num::join(&old.val, &cur.val)).widened(old))
            }
        }
        (a, b) if a == b && old.off == cur.off && old.val == cur.val => {
            let mut r = cur.clone();
            r.range = old.range.min(cur.range);
            Some(r)
        }
        _ => None,
    }
}

impl Reg {
    /// After a join that was not included in `old`: drop to unknown so iterations converge.
    fn widened(self, _old: &Reg) -> Reg {
        Reg::unknown()
    }
}

fn widen_slot(old: &Slot, cur: &Slot) -> Option<Slot> {
    if let (Some(o), Some(c)) = (&old.spill, &cur.spill) {
        let r = widen_reg(o, c)?;
        if r.ty == RegType::NotInit {
            return Some(Slot::invalid());
        }
        return Some(Slot {
            bytes: [ByteKind::Spill; 8],
            spill: Some(Box::new(r)),
        });
    }
    let spill_ptr = |s: &Slot| s.spill.as_ref().is_some_and(|r| r.ty.is_pointer());
    if spill_ptr(old) || spill_ptr(cur) {
        // A pointer against plain bytes: nothing sound but "invalid".
        return Some(Slot::invalid());
    }
    let mut bytes = [ByteKind::Invalid; 8];
    for (i, out) in bytes.iter_mut().enumerate() {
        let a = if old.spill.is_some() {
            ByteKind::Misc
        } else {
            old.bytes[i]
        };
        let b = if cur.spill.is_some() {
            ByteKind::Misc
        } else {
            cur.bytes[i]
        };
        *out = match (a, b) {
            (ByteKind::Invalid, _) | (_, ByteKind::Invalid) => ByteKind::Invalid,
            (x, y) if x == y => x,
            _ => ByteKind::Misc,
        };
    }
    Some(Slot { bytes, spill: None })
}

/// A hash of what [`Mode::Exact`] compares (ids excepted): states that compare equal have
/// the same fingerprint.
pub fn fingerprint(st: &State, pc: usize, live: &Liveness) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let sets = live_sets(st, pc, live);
    st.frames.len().hash(&mut h);
    st.refs.len().hash(&mut h);
    let reg = |r: &Reg, h: &mut std::collections::hash_map::DefaultHasher| {
        r.ty.hash(h);
        r.off.hash(h);
        r.val.hash(h);
        r.range.hash(h);
    };
    for (fr, set) in st.frames.iter().zip(sets) {
        fr.callsite.hash(&mut h);
        fr.entry.hash(&mut h);
        fr.callback.is_some().hash(&mut h);
        for r in 0..10 {
            if set & (1 << r) != 0 {
                reg(&fr.regs[r], &mut h);
            }
        }
        for (i, slot) in fr.stack.iter().enumerate() {
            if slot.is_invalid() {
                continue;
            }
            i.hash(&mut h);
            slot.bytes.hash(&mut h);
            if let Some(r) = &slot.spill {
                reg(r, &mut h);
            }
        }
    }
    h.finish()
}
