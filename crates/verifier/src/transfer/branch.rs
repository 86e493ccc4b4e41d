//! Conditional jumps: decide the outcome where the values allow it, refine both successors
//! (scalar bounds, null checks, packet ranges) where they do not.

use ebpfvm_isa::{JmpCond, Reg as IsaReg, Source, Width};

use crate::num;
use crate::state::{Reg, RegType, State};
use crate::transfer::{check_readable, Fail};

/// The states after a conditional jump: `fall` continues at the next slot, `taken` at the
/// target; `None` where the branch cannot be taken.
#[derive(Debug)]
pub struct Split {
    /// Fall-through successor.
    pub fall: Option<State>,
    /// Jump-target successor.
    pub taken: Option<State>,
}

/// `if dst cond src goto ...`.
pub fn cond(
    st: State,
    width: Width,
    cond: JmpCond,
    dst: IsaReg,
    src: Source,
) -> Result<Split, Fail> {
    let d = dst.index();
    check_readable(&st, d)?;
    let (src_reg, s) = match src {
        Source::Reg(r) => {
            check_readable(&st, r.index())?;
            (st.reg(r.index()).clone(), Some(r.index()))
        }
        Source::Imm(imm) => {
            let v = if width.is_64() {
                imm as i64 as u64
            } else {
                u64::from(imm as u32)
            };
            (Reg::constant(v), None)
        }
    };
    let dst_reg = st.reg(d).clone();
    match (dst_reg.ty.is_pointer(), src_reg.ty.is_pointer()) {
        (false, false) => Ok(scalar_cond(st, width, cond, d, &dst_reg, s, &src_reg)),
        _ => Ok(pointer_cond(st, width, cond, d, &dst_reg, s, &src_reg)),
    }
}

fn both(st: State) -> Split {
    Split {
        fall: Some(st.clone()),
        taken: Some(st),
    }
}

fn scalar_cond(
    st: State,
    width: Width,
    cond: JmpCond,
    d: usize,
    dst: &Reg,
    s: Option<usize>,
    src: &Reg,
) -> Split {
    match num::branch(cond, width, &dst.val, &src.val) {
        Some(true) => {
            return Split {
                fall: None,
                taken: Some(st),
            }
        }
        Some(false) => {
            return Split {
                fall: Some(st),
                taken: None,
            }
        }
        None => {}
    }
    let refine = |mut st: State, taken: bool| -> Option<State> {
        let (a, b) = num::refine(cond, width, taken, &dst.val, &src.val)?;
        set_scalar(&mut st, d, dst.id, a);
        if let Some(s) = s {
            set_scalar(&mut st, s, src.id, b);
        }
        Some(st)
    };
    let fall = refine(st.clone(), false);
    let taken = refine(st, true);
    Split { fall, taken }
}

/// Writes a refined scalar to register `r` and to every scalar linked to it by `id`.
fn set_scalar(st: &mut State, r: usize, id: u32, val: num::Scalar) {
    if id != 0 {
        st.for_each_reg(|reg| {
            if reg.ty == RegType::Scalar && reg.id == id {
                reg.val = val;
            }
        });
    }
    st.reg_mut(r).val = val;
}

fn pointer_cond(
    st: State,
    width: Width,
    cond: JmpCond,
    d: usize,
    dst: &Reg,
    s: Option<usize>,
    src: &Reg,
) -> Split {
    let is_eq = matches!(cond, JmpCond::Eq | JmpCond::Ne);
    // Null checks: `ptr_or_null ==/!= 0`.
    if width.is_64() && is_eq {
        let (ptr, preg, other) = if dst.ty.is_pointer() {
            (dst, d, src)
        } else {
            (src, s.unwrap_or(d), dst)
        };
        if other.is_zero() {
            if ptr.ty.is_or_null() {
                let mut null = st.clone();
                let mut non_null = st;
                mark_null(&mut null, ptr, true);
                mark_null(&mut non_null, ptr, false);
                let _ = preg;
                return if cond == JmpCond::Eq {
                    Split {
                        fall: Some(non_null),
                        taken: Some(null),
                    }
                } else {
                    Split {
                        fall: Some(null),
                        taken: Some(non_null),
                    }
                };
            }
            // Map values and memory are never null (Linux decides only these).
            if !matches!(
                ptr.ty,
                RegType::MapValue { .. } | RegType::MapKey { .. } | RegType::Mem { .. }
            ) {
                return both(st);
            }
            return if cond == JmpCond::Eq {
                Split {
                    fall: Some(st),
                    taken: None,
                }
            } else {
                Split {
                    fall: None,
                    taken: Some(st),
                }
            };
        }
    }
    if width.is_64() && dst.ty.is_pointer() && src.ty.is_pointer() {
        if let Some(split) = packet_cond(&st, cond, dst, src) {
            return split;
        }
    }
    both(st)
}

/// Null check outcome for every register sharing `ptr`'s id.
fn mark_null(st: &mut State, ptr: &Reg, is_null: bool) {
    let id = ptr.id;
    let mut released = None;
    st.for_each_reg(|r| {
        if r.ty.is_or_null() && r.id == id {
            if is_null {
                if r.ref_id != 0 {
                    released = Some(r.ref_id);
                }
                *r = Reg::constant(0);
            } else {
                r.ty = match r.ty {
                    RegType::MapValueOrNull { map } => RegType::MapValue { map },
                    RegType::MapPtrOrNull { map } => RegType::MapPtr { map },
                    RegType::MemOrNull { size } => RegType::Mem {
                        size,
                        rdonly: false,
                    },
                    t => t,
                };
                r.id = 0;
            }
        }
    });
    if let Some(rid) = released {
        // A null reference needs no release.
        st.refs.retain(|(r, _)| *r != rid);
    }
}

/// Packet range from comparisons of a packet pointer with the end (or of a meta pointer with
/// the data start), in every form; `None` if the pair is not such a comparison.
fn packet_cond(st: &State, cond: JmpCond, dst: &Reg, src: &Reg) -> Option<Split> {
    let is_end = |ptr: &Reg, end: &Reg| match ptr.ty {
        RegType::Packet => end.ty == RegType::PacketEnd,
        RegType::PacketMeta => {
            end.ty == RegType::Packet && end.off == 0 && num::as_const(&end.val) == Some(0)
        }
        _ => false,
    };
    // `good_on_taken`: the branch on which `ptr <= end` holds.
    let (ptr, good_on_taken) = if is_end(dst, src) {
        // ptr OP end
        match cond {
            JmpCond::Gt | JmpCond::Ge => (dst, false),
            JmpCond::Lt | JmpCond::Le => (dst, true),
            _ => return None,
        }
    } else if is_end(src, dst) {
        // end OP ptr
        match cond {
            JmpCond::Gt | JmpCond::Ge => (src, true),
            JmpCond::Lt | JmpCond::Le => (src, false),
            _ => return None,
        }
    } else {
        return None;
    };
    let mut good = st.clone();
    mark_range(&mut good, ptr);
    let bad = st.clone();
    Some(if good_on_taken {
        Split {
            fall: Some(bad),
            taken: Some(good),
        }
    } else {
        Split {
            fall: Some(good),
            taken: Some(bad),
        }
    })
}

/// `ptr <= end` holds: every pointer with `ptr`'s type and id may access `ptr.off` bytes.
fn mark_range(st: &mut State, ptr: &Reg) {
    if ptr.off <= 0 {
        return;
    }
    if num::umax(&ptr.val) > crate::transfer::mem::MAX_PACKET_OFF as u64
        || num::umax(&ptr.val) + ptr.off as u64 > crate::transfer::mem::MAX_PACKET_OFF as u64
    {
        return;
    }
    let new_range = ptr.off as u32;
    st.for_each_reg(|r| {
        if r.ty == ptr.ty && r.id == ptr.id && r.range < new_range {
            r.range = new_range;
        }
    });
}
