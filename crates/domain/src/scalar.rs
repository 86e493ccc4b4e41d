//! The reduced product of a tnum and four intervals.

use crate::tnum::Tnum;
use crate::view::{Arc, Pieces, View};
use crate::word::{bias, low_mask, sext, sign_bit, sle, Word};

/// An abstract word: a [`Tnum`], unsigned and signed intervals over the full width, and
/// unsigned and signed intervals over the low half.
///
/// Signed bounds are returned as `W::Signed` (`i64` for `u64`); half-width bounds are
/// returned widened: unsigned half bounds zero-extended, signed half bounds sign-extended.
///
/// Every value handed out is reduced (see the crate docs). Equality and hashing are
/// structural: equal scalars have equal γ, and reduced scalars built from one interval or
/// one tnum are canonical, but two reduced scalars with the same γ may in rare non-convex
/// cases differ in a component.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar<W> {
    pub(crate) tnum: Tnum<W>,
    pub(crate) umin: W,
    pub(crate) umax: W,
    /// Signed bounds as bit patterns (ordered as signed numbers).
    pub(crate) smin: W,
    pub(crate) smax: W,
    /// Half-width bounds as zero-extended half-width bit patterns.
    pub(crate) umin_half: W,
    pub(crate) umax_half: W,
    pub(crate) smin_half: W,
    pub(crate) smax_half: W,
}

/// A 64-bit scalar.
pub type Scalar64 = Scalar<u64>;

impl<W: Word> Scalar<W> {
    /// Exactly `v`.
    pub fn constant(v: W) -> Self {
        let h = W::HALF_BITS;
        let lo = v & low_mask::<W>(h);
        Scalar {
            tnum: Tnum::const_(v),
            umin: v,
            umax: v,
            smin: v,
            smax: v,
            umin_half: lo,
            umax_half: lo,
            smin_half: lo,
            smax_half: lo,
        }
    }

    /// Every word.
    pub fn unknown() -> Self {
        let h = W::HALF_BITS;
        Scalar {
            tnum: Tnum::unknown(),
            umin: W::ZERO,
            umax: W::MAX,
            smin: sign_bit::<W>(W::BITS),
            smax: !sign_bit::<W>(W::BITS),
            umin_half: W::ZERO,
            umax_half: low_mask::<W>(h),
            smin_half: sign_bit::<W>(h),
            smax_half: sign_bit::<W>(h).wrapping_sub(W::ONE),
        }
    }

    /// The tnum component.
    pub fn tnum(&self) -> Tnum<W> {
        self.tnum
    }
    /// Smallest value, unsigned.
    pub fn umin(&self) -> W {
        self.umin
    }
    /// Largest value, unsigned.
    pub fn umax(&self) -> W {
        self.umax
    }
    /// Smallest value, signed.
    pub fn smin(&self) -> W::Signed {
        self.smin.to_signed()
    }
    /// Largest value, signed.
    pub fn smax(&self) -> W::Signed {
        self.smax.to_signed()
    }
    /// Smallest low half, unsigned (zero-extended).
    pub fn umin_half(&self) -> W {
        self.umin_half
    }
    /// Largest low half, unsigned (zero-extended).
    pub fn umax_half(&self) -> W {
        self.umax_half
    }
    /// Smallest low half, signed (sign-extended from the half width).
    pub fn smin_half(&self) -> W::Signed {
        sext(self.smin_half, W::HALF_BITS).to_signed()
    }
    /// Largest low half, signed (sign-extended from the half width).
    pub fn smax_half(&self) -> W::Signed {
        sext(self.smax_half, W::HALF_BITS).to_signed()
    }
}

impl<W: Word> Scalar<W> {
    /// Every `x` with `min <= x <= max` (unsigned), exactly. `min > max` gives
    /// [`Scalar::unknown`].
    pub fn from_urange(min: W, max: W) -> Self {
        if min > max {
            return Self::unknown();
        }
        let mut s = Self::unknown();
        s.umin = min;
        s.umax = max;
        s.reduced()
    }

    /// Every `x` with `min <= x <= max` (signed), exactly. `min > max` gives
    /// [`Scalar::unknown`].
    pub fn from_srange(min: W::Signed, max: W::Signed) -> Self {
        if min > max {
            return Self::unknown();
        }
        let mut s = Self::unknown();
        s.smin = W::from_signed(min);
        s.smax = W::from_signed(max);
        s.reduced()
    }

    /// Every member of `t`, exactly.
    pub fn from_tnum(t: Tnum<W>) -> Self {
        let mut s = Self::unknown();
        s.tnum = Tnum::new(t.value, t.mask);
        s.reduced()
    }

    /// `Some(v)` if the only member is `v`.
    pub fn is_const(&self) -> Option<W> {
        self.tnum.is_const()
    }

    /// `Some(v)` if every member has the low half `v` (zero-extended).
    pub fn is_const_half(&self) -> Option<W> {
        self.tnum.truncate(W::HALF_BITS).is_const()
    }

    /// Widening for fixpoint iteration: every bound of `newer` that moved outside `self`
    /// jumps to its extreme, and the tnum is joined (tnum chains are at most `BITS` long).
    /// An upper bound of both; a chain `x, x.widen(y1), ...` stabilises after a bounded
    /// number of steps.
    pub fn widen(&self, newer: &Self) -> Self {
        let top = Self::unknown();
        let (n, h) = (W::BITS, W::HALF_BITS);
        // Biased, signed order is unsigned order.
        let lo = |old: W, new: W, ext: W, k: u32| {
            if bias(new, k) < bias(old, k) {
                ext
            } else {
                old
            }
        };
        let hi = |old: W, new: W, ext: W, k: u32| {
            if bias(new, k) > bias(old, k) {
                ext
            } else {
                old
            }
        };
        let ulo = |old: W, new: W, ext: W| if new < old { ext } else { old };
        let uhi = |old: W, new: W, ext: W| if new > old { ext } else { old };
        let w = Scalar {
            tnum: self.tnum.join(&newer.tnum),
            umin: ulo(self.umin, newer.umin, top.umin),
            umax: uhi(self.umax, newer.umax, top.umax),
            smin: lo(self.smin, newer.smin, top.smin, n),
            smax: hi(self.smax, newer.smax, top.smax, n),
            umin_half: ulo(self.umin_half, newer.umin_half, top.umin_half),
            umax_half: uhi(self.umax_half, newer.umax_half, top.umax_half),
            smin_half: lo(self.smin_half, newer.smin_half, top.smin_half, h),
            smax_half: hi(self.smax_half, newer.smax_half, top.smax_half, h),
        };
        // Every component of `w` contains those of both, so it is not empty.
        w.reduced()
    }

    /// Whether every component admits `v`, i.e. `v ∈ γ(self)` (exact).
    pub fn contains(&self, v: W) -> bool {
        let h = W::HALF_BITS;
        self.full_view().contains_(v) && self.half_view().contains_(v & low_mask::<W>(h))
    }

    /// An upper bound of both: γ(self) ∪ γ(other) ⊆ γ(join). Component-wise hull, then
    /// reduced.
    pub fn join(&self, other: &Self) -> Self {
        let f = self.full_view().join(&other.full_view());
        let h = self.half_view().join(&other.half_view());
        Self::from_views(f, Some(h))
    }

    /// Lattice order, sound: `true` only if γ(self) ⊆ γ(other). It compares the
    /// components, so it is exact whenever `other`'s components are tight for γ(other)
    /// (as they are for reduced scalars built from a single interval or tnum).
    pub fn leq(&self, other: &Self) -> bool {
        fn within<W: Word>(a: &View<W>, b: &View<W>) -> bool {
            let k = a.k;
            a.t.leq(&b.t)
                && b.umin <= a.umin
                && a.umax <= b.umax
                && sle(b.smin, a.smin, k)
                && sle(a.smax, b.smax, k)
        }
        within(&self.full_view(), &other.full_view())
            && within(&self.half_view(), &other.half_view())
    }

    /// A sound intersection: γ(self) ∩ γ(other) ⊆ γ(meet); `None` only if the
    /// intersection is empty.
    pub fn meet(&self, other: &Self) -> Option<Self> {
        let f = self.full_view().meet_raw(&other.full_view())?;
        let h = self.half_view().meet_raw(&other.half_view())?;
        Self::from_parts(f, h).reduce()
    }

    /// The scalar at full width.
    pub(crate) fn full_view(&self) -> View<W> {
        View {
            k: W::BITS,
            t: self.tnum,
            umin: self.umin,
            umax: self.umax,
            smin: self.smin,
            smax: self.smax,
        }
    }

    /// The low half of the scalar.
    pub(crate) fn half_view(&self) -> View<W> {
        let h = W::HALF_BITS;
        View {
            k: h,
            t: self.tnum.truncate(h),
            umin: self.umin_half,
            umax: self.umax_half,
            smin: self.smin_half,
            smax: self.smax_half,
        }
    }

    /// The low `k` bits of the scalar, reduced.
    pub(crate) fn project(&self, k: u32) -> View<W> {
        let h = W::HALF_BITS;
        if k >= W::BITS {
            return self.full_view();
        }
        if k == h {
            return self.half_view();
        }
        let m = low_mask::<W>(k);
        let mut arcs: [Option<Arc<W>>; 4] = [None; 4];
        arcs[0] = low_arc(self.umin, self.umax, m);
        arcs[1] = low_arc(self.smin, self.smax, m);
        if k < h {
            arcs[2] = low_arc(self.umin_half, self.umax_half, m);
            arcs[3] = low_arc(self.smin_half, self.smax_half, m);
        }
        View::from_parts(k, self.tnum, &arcs)
    }

    /// A scalar from a full-width view and optionally a view of its low half, reduced.
    pub(crate) fn from_views(full: View<W>, half: Option<View<W>>) -> Self {
        debug_assert_eq!(full.k, W::BITS);
        let half = half.unwrap_or_else(|| View::top(W::HALF_BITS));
        match Self::from_parts(full, half).reduce() {
            Some(s) => s,
            None => {
                debug_assert!(false, "empty transfer result");
                Self::unknown()
            }
        }
    }

    /// The zero extension of a view of width `k`, reduced.
    pub(crate) fn from_view_zext(v: View<W>) -> Self {
        let k = v.k;
        if k >= W::BITS {
            return Self::from_views(v, None);
        }
        let h = W::HALF_BITS;
        let full = View {
            k: W::BITS,
            t: v.t.truncate(k),
            umin: v.umin,
            umax: v.umax,
            smin: v.umin,
            smax: v.umax,
        };
        let half = if k == h {
            Some(v)
        } else if k < h {
            Some(View {
                k: h,
                t: v.t.truncate(k),
                umin: v.umin,
                umax: v.umax,
                smin: v.umin,
                smax: v.umax,
            })
        } else {
            None
        };
        Self::from_views(full, half)
    }

    /// `self` with its low `width` bits restricted to γ(v), reduced; `None` if empty.
    pub(crate) fn constrain(&self, v: &View<W>) -> Option<Self> {
        let h = W::HALF_BITS;
        if v.k >= W::BITS {
            let f = self.full_view().meet_raw(v)?;
            Self::from_parts(f, self.half_view()).reduce()
        } else {
            debug_assert_eq!(v.k, h);
            let hv = self.half_view().meet_raw(v)?;
            let mut f = self.full_view();
            f.t =
                f.t.meet(&Tnum::new(v.t.value, v.t.mask | !low_mask::<W>(h)))?;
            Self::from_parts(f, hv).reduce()
        }
    }

    fn from_parts(full: View<W>, half: View<W>) -> Self {
        let h = W::HALF_BITS;
        let t = full
            .t
            .meet(&Tnum::new(half.t.value, half.t.mask | !low_mask::<W>(h)))
            // An inconsistent pair is caught by `reduce`; keep the full tnum here.
            .unwrap_or(full.t);
        Scalar {
            tnum: t,
            umin: full.umin,
            umax: full.umax,
            smin: full.smin,
            smax: full.smax,
            umin_half: half.umin,
            umax_half: half.umax,
            smin_half: half.smin,
            smax_half: half.smax,
        }
    }

    fn reduced(self) -> Self {
        match self.reduce() {
            Some(s) => s,
            None => {
                debug_assert!(false, "empty scalar");
                Self::unknown()
            }
        }
    }

    /// The reduction: tightens every component against the others without changing γ.
    /// `None` if γ is empty. Runs to a fixpoint (bounded), so it is idempotent.
    ///
    /// 1. Full width: the unsigned and signed intervals are arcs of the circle Z/2^n;
    ///    their intersection (≤ 2 pieces) is shrunk to tnum members, the tnum is met with
    ///    the pieces' common-prefix tnums, and both hulls are read back.
    /// 2. Low half: the same, plus the arcs the low halves of the full intervals occupy
    ///    when those intervals span fewer than 2^(n/2) values.
    /// 3. Back up: the full bounds move to the nearest values whose low half lies in the
    ///    half pieces, and the low bits of the tnum are met with the half tnum.
    pub(crate) fn reduce(self) -> Option<Self> {
        let n = W::BITS;
        let h = W::HALF_BITS;
        let hm = low_mask::<W>(h);
        let mut s = self;
        for _ in 0..64 {
            if s.umin > s.umax
                || !sle(s.smin, s.smax, n)
                || s.umin_half > s.umax_half
                || !sle(s.smin_half, s.smax_half, h)
            {
                return None;
            }
            let (full, _) = s.full_view().sync(&[])?;
            let arcs = [
                low_arc(full.umin, full.umax, hm),
                low_arc(full.smin, full.smax, hm),
            ];
            let (half, pieces) = s.half_view().sync(&arcs)?;
            let t = full.t.meet(&Tnum::new(half.t.value, half.t.mask | !hm))?;
            let umin = next_with_low_in(full.umin, &pieces, h)?;
            let umax = prev_with_low_in(full.umax, &pieces, h)?;
            let smin = bias(next_with_low_in(bias(full.smin, n), &pieces, h)?, n);
            let smax = bias(prev_with_low_in(bias(full.smax, n), &pieces, h)?, n);
            let next = Scalar {
                tnum: t,
                umin,
                umax,
                smin,
                smax,
                umin_half: half.umin,
                umax_half: half.umax,
                smin_half: half.smin,
                smax_half: half.smax,
            };
            if next == s {
                return Some(s);
            }
            s = next;
        }
        Some(s)
    }
}

/// The arc occupied by the low bits (`m` = their mask) of the values `lo..=hi` (modulo the
/// full width), when those span at most `m + 1` values.
fn low_arc<W: Word>(lo: W, hi: W, m: W) -> Option<Arc<W>> {
    if hi.wrapping_sub(lo) <= m {
        Some(Arc {
            lo: lo & m,
            hi: hi & m,
        })
    } else {
        None
    }
}

/// The smallest `y >= x` whose low `h` bits lie in one of `pieces`.
fn next_with_low_in<W: Word>(x: W, pieces: &Pieces<W>, h: u32) -> Option<W> {
    let hm = low_mask::<W>(h);
    let high = x & !hm;
    let lx = x & hm;
    let mut best: Option<W> = None;
    for (lo, hi) in pieces.iter() {
        let cand = if lo <= lx && lx <= hi {
            Some(x)
        } else if lx < lo {
            Some(high | lo)
        } else if high == !hm {
            None
        } else {
            Some(high.wrapping_add(hm.wrapping_add(W::ONE)) | lo)
        };
        if let Some(c) = cand {
            best = Some(best.map_or(c, |b| b.min(c)));
        }
    }
    best
}

/// The largest `y <= x` whose low `h` bits lie in one of `pieces`.
fn prev_with_low_in<W: Word>(x: W, pieces: &Pieces<W>, h: u32) -> Option<W> {
    let hm = low_mask::<W>(h);
    let high = x & !hm;
    let lx = x & hm;
    let mut best: Option<W> = None;
    for (lo, hi) in pieces.iter() {
        let cand = if lo <= lx && lx <= hi {
            Some(x)
        } else if lx > hi {
            Some(high | hi)
        } else if high == W::ZERO {
            None
        } else {
            Some(high.wrapping_sub(hm.wrapping_add(W::ONE)) | hi)
        };
        if let Some(c) = cand {
            best = Some(best.map_or(c, |b| b.max(c)));
        }
    }
    best
}

impl<W: Word> Default for Scalar<W> {
    /// [`Scalar::unknown`].
    fn default() -> Self {
        Self::unknown()
    }
}
