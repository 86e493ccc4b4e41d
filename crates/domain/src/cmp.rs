//! Branch conditions: outcomes and refinement.

use crate::alu::Width;
use crate::scalar::Scalar;
use crate::tnum::Tnum;
use crate::view::View;
use crate::word::{bias, low_mask, Word};

/// A comparison between two words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    /// `a == b`
    Eq,
    /// `a != b`
    Ne,
    /// `a > b`, unsigned
    Ugt,
    /// `a >= b`, unsigned
    Uge,
    /// `a < b`, unsigned
    Ult,
    /// `a <= b`, unsigned
    Ule,
    /// `a > b`, signed
    Sgt,
    /// `a >= b`, signed
    Sge,
    /// `a < b`, signed
    Slt,
    /// `a <= b`, signed
    Sle,
    /// `a & b != 0`
    Set,
}

/// Whether a condition holds for every pair of members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// True for every pair.
    Always,
    /// False for every pair.
    Never,
    /// Not known.
    Maybe,
}

impl Cond {
    /// The condition with its operands swapped: `a cond b` ⇔ `b cond.swap() a`.
    pub fn swap(self) -> Self {
        match self {
            Cond::Ugt => Cond::Ult,
            Cond::Uge => Cond::Ule,
            Cond::Ult => Cond::Ugt,
            Cond::Ule => Cond::Uge,
            Cond::Sgt => Cond::Slt,
            Cond::Sge => Cond::Sle,
            Cond::Slt => Cond::Sgt,
            Cond::Sle => Cond::Sge,
            c => c,
        }
    }

    /// The negated condition, where it is a [`Cond`] (every one but [`Cond::Set`]).
    pub fn negate(self) -> Option<Self> {
        Some(match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Ugt => Cond::Ule,
            Cond::Uge => Cond::Ult,
            Cond::Ult => Cond::Uge,
            Cond::Ule => Cond::Ugt,
            Cond::Sgt => Cond::Sle,
            Cond::Sge => Cond::Slt,
            Cond::Slt => Cond::Sge,
            Cond::Sle => Cond::Sgt,
            Cond::Set => return None,
        })
    }

    /// Evaluates the condition on the low `bits` bits of two words (the concrete
    /// semantics; `bits` is clamped to `1..=W::BITS`).
    pub fn eval<W: Word>(self, bits: u32, a: W, b: W) -> bool {
        let bits = bits.clamp(1, W::BITS);
        let m = low_mask::<W>(bits);
        let (a, b) = (a & m, b & m);
        match self {
            Cond::Eq => a == b,
            Cond::Ne => a != b,
            Cond::Ugt => a > b,
            Cond::Uge => a >= b,
            Cond::Ult => a < b,
            Cond::Ule => a <= b,
            Cond::Sgt => bias(a, bits) > bias(b, bits),
            Cond::Sge => bias(a, bits) >= bias(b, bits),
            Cond::Slt => bias(a, bits) < bias(b, bits),
            Cond::Sle => bias(a, bits) <= bias(b, bits),
            Cond::Set => a & b != W::ZERO,
        }
    }
}

impl core::ops::Not for Outcome {
    type Output = Outcome;
    /// `Always` ↔ `Never` (the outcome of the negated condition).
    fn not(self) -> Outcome {
        match self {
            Outcome::Always => Outcome::Never,
            Outcome::Never => Outcome::Always,
            Outcome::Maybe => Outcome::Maybe,
        }
    }
}

/// A relation `a rel b` after normalising negation and operand order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rel {
    Eq,
    Ne,
    Ult,
    Ule,
    Slt,
    Sle,
    Set,
    NotSet,
}

/// `(rel, swapped)`: `a cond b` is `taken` ⇔ `x rel y` with `(x, y) = (a, b)` or `(b, a)`.
fn normalize(cond: Cond, taken: bool) -> (Rel, bool) {
    let cond = if taken {
        cond
    } else {
        match cond.negate() {
            Some(c) => c,
            None => return (Rel::NotSet, false),
        }
    };
    match cond {
        Cond::Eq => (Rel::Eq, false),
        Cond::Ne => (Rel::Ne, false),
        Cond::Ult => (Rel::Ult, false),
        Cond::Ule => (Rel::Ule, false),
        Cond::Ugt => (Rel::Ult, true),
        Cond::Uge => (Rel::Ule, true),
        Cond::Slt => (Rel::Slt, false),
        Cond::Sle => (Rel::Sle, false),
        Cond::Sgt => (Rel::Slt, true),
        Cond::Sge => (Rel::Sle, true),
        Cond::Set => (Rel::Set, false),
    }
}

fn views<W: Word>(width: Width, a: &Scalar<W>, b: &Scalar<W>) -> (View<W>, View<W>) {
    match width {
        Width::Full => (a.full_view(), b.full_view()),
        Width::Half => (a.half_view(), b.half_view()),
    }
}

/// Whether `x rel y` holds for every pair (`Some(true)`), for none (`Some(false)`).
fn rel_outcome<W: Word>(rel: Rel, x: &View<W>, y: &View<W>) -> Option<bool> {
    let k = x.k;
    match rel {
        Rel::Eq | Rel::Ne => {
            let eq = if x.is_const().is_some() && x.is_const() == y.is_const() {
                Some(true)
            } else if x.meet(y).is_none() {
                Some(false)
            } else {
                None
            };
            if rel == Rel::Eq {
                eq
            } else {
                eq.map(|e| !e)
            }
        }
        Rel::Ult => {
            if x.umax < y.umin {
                Some(true)
            } else if x.umin >= y.umax {
                Some(false)
            } else {
                None
            }
        }
        Rel::Ule => {
            if x.umax <= y.umin {
                Some(true)
            } else if x.umin > y.umax {
                Some(false)
            } else {
                None
            }
        }
        Rel::Slt => {
            if bias(x.smax, k) < bias(y.smin, k) {
                Some(true)
            } else if bias(x.smin, k) >= bias(y.smax, k) {
                Some(false)
            } else {
                None
            }
        }
        Rel::Sle => {
            if bias(x.smax, k) <= bias(y.smin, k) {
                Some(true)
            } else if bias(x.smin, k) > bias(y.smax, k) {
                Some(false)
            } else {
                None
            }
        }
        Rel::Set | Rel::NotSet => {
            let set = if x.t.value & y.t.value != W::ZERO {
                Some(true)
            } else if x.t.max() & y.t.max() == W::ZERO {
                Some(false)
            } else {
                None
            };
            if rel == Rel::Set {
                set
            } else {
                set.map(|s| !s)
            }
        }
    }
}

/// Refines `x` and `y` (views of one width) assuming `x rel y`; `None` if impossible.
fn rel_refine<W: Word>(rel: Rel, x: &View<W>, y: &View<W>) -> Option<(View<W>, View<W>)> {
    let k = x.k;
    let km = low_mask::<W>(k);
    let one = W::ONE;
    let synced = |v: View<W>| v.sync(&[]).map(|(v, _)| v);
    match rel {
        Rel::Eq => {
            let m = x.meet(y)?;
            Some((m, m))
        }
        Rel::Ne => {
            let x2 = match y.is_const() {
                Some(c) => x.exclude(c)?,
                None => *x,
            };
            let y2 = match x.is_const() {
                Some(c) => y.exclude(c)?,
                None => *y,
            };
            Some((x2, y2))
        }
        Rel::Ult | Rel::Ule => {
            let strict = rel == Rel::Ult;
            let (mut x2, mut y2) = (*x, *y);
            if strict {
                if y.umax == W::ZERO || x.umin == km {
                    return None;
                }
                x2.umax = x.umax.min(y.umax.wrapping_sub(one));
                y2.umin = y.umin.max(x.umin.wrapping_add(one));
            } else {
                x2.umax = x.umax.min(y.umax);
                y2.umin = y.umin.max(x.umin);
            }
            Some((synced(x2)?, synced(y2)?))
        }
        Rel::Slt | Rel::Sle => {
            let strict = rel == Rel::Slt;
            // In biased form the signed order is the unsigned one.
            let (xmin, xmax) = (bias(x.smin, k), bias(x.smax, k));
            let (ymin, ymax) = (bias(y.smin, k), bias(y.smax, k));
            let (mut x2, mut y2) = (*x, *y);
            let (nxmax, nymin) = if strict {
                if ymax == W::ZERO || xmin == km {
                    return None;
                }
                (
                    xmax.min(ymax.wrapping_sub(one)),
                    ymin.max(xmin.wrapping_add(one)),
                )
            } else {
                (xmax.min(ymax), ymin.max(xmin))
            };
            x2.smax = bias(nxmax, k);
            y2.smin = bias(nymin, k);
            Some((synced(x2)?, synced(y2)?))
        }
        Rel::Set => {
            // x & y != 0 needs both non-zero; if only one bit can be common and one side is
            // a constant, that bit is set in the other.
            let mut x2 = x.exclude(W::ZERO)?;
            let mut y2 = y.exclude(W::ZERO)?;
            let common = x2.t.max() & y2.t.max();
            if common.count_ones() == 1 {
                if y2.is_const().is_some() {
                    x2.t = x2.t.meet(&Tnum::new(common, !common))?;
                    x2 = synced(x2)?;
                }
                if x2.is_const().is_some() {
                    y2.t = y2.t.meet(&Tnum::new(common, !common))?;
                    y2 = synced(y2)?;
                }
            }
            Some((x2, y2))
        }
        Rel::NotSet => {
            // Every bit known 1 on one side is 0 on the other.
            let (mut x2, mut y2) = (*x, *y);
            x2.t = x.t.meet(&Tnum::new(W::ZERO, !y.t.value))?;
            y2.t = y.t.meet(&Tnum::new(W::ZERO, !x.t.value))?;
            Some((synced(x2)?, synced(y2)?))
        }
    }
}

impl<W: Word> Scalar<W> {
    /// Whether `cond` holds (at `width`) for every x ∈ γ(a), y ∈ γ(b) (`Always`), for none
    /// (`Never`), or neither is proven (`Maybe`).
    pub fn branch(cond: Cond, width: Width, a: &Self, b: &Self) -> Outcome {
        let (rel, swapped) = normalize(cond, true);
        let (va, vb) = views(width, a, b);
        let r = if swapped {
            rel_outcome(rel, &vb, &va)
        } else {
            rel_outcome(rel, &va, &vb)
        };
        match r {
            Some(true) => Outcome::Always,
            Some(false) => Outcome::Never,
            None => Outcome::Maybe,
        }
    }

    /// Refines both operands assuming `cond` (at `width`) evaluated to `taken`: every pair
    /// (x, y) ∈ γ(a) × γ(b) for which it did is kept in γ(a') × γ(b'). `None` if no pair
    /// does.
    pub fn refine(
        cond: Cond,
        width: Width,
        taken: bool,
        a: &Self,
        b: &Self,
    ) -> Option<(Self, Self)> {
        let (rel, swapped) = normalize(cond, taken);
        let (va, vb) = views(width, a, b);
        let (x, y) = if swapped { (&vb, &va) } else { (&va, &vb) };
        if rel_outcome(rel, x, y) == Some(false) {
            return None;
        }
        let (x2, y2) = rel_refine(rel, x, y)?;
        let (va2, vb2) = if swapped { (y2, x2) } else { (x2, y2) };
        Some((a.constrain(&va2)?, b.constrain(&vb2)?))
    }
}
