//! A scalar seen at one width `k`: a tnum and unsigned/signed intervals over `k`-bit
//! patterns, plus the "circle" machinery that reduces them against each other.
//!
//! Every interval is an *arc* of the circle Z/2^k: the unsigned interval is an arc that
//! does not pass from `2^k - 1` to `0`, the signed one an arc that does not pass from the
//! largest to the smallest signed value, and sums, differences or products of intervals
//! whose exact result spans fewer than 2^k values are arcs too. Intersecting arcs gives at
//! most a few disjoint unsigned intervals ("pieces"), from which the best unsigned and
//! signed hulls are read back.

use crate::tnum::Tnum;
use crate::word::{bias, i128_of, low_mask, mask64, shl, sign_bit, sle, Word};

/// The set { lo, lo+1, …, hi } modulo 2^k (wrapping when `lo > hi`; never empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arc<W> {
    pub lo: W,
    pub hi: W,
}

/// The arc of the exact integers `lo..=hi` reduced modulo 2^k, if they span fewer than
/// 2^k values (otherwise the whole circle, which constrains nothing).
pub(crate) fn arc_i<W: Word>(lo: i128, hi: i128, k: u32) -> Option<Arc<W>> {
    debug_assert!(lo <= hi);
    let width = hi.checked_sub(lo)?;
    if width < 0 || width as u128 > u128::from(mask64(k)) {
        return None;
    }
    Some(Arc {
        lo: W::from_u64((lo as u64) & mask64(k)),
        hi: W::from_u64((hi as u64) & mask64(k)),
    })
}

/// [`arc_i`] for unsigned exact values (products of two 64-bit words need 128 bits).
pub(crate) fn arc_u<W: Word>(lo: u128, hi: u128, k: u32) -> Option<Arc<W>> {
    debug_assert!(lo <= hi);
    if hi.wrapping_sub(lo) > u128::from(mask64(k)) {
        return None;
    }
    Some(Arc {
        lo: W::from_u64((lo as u64) & mask64(k)),
        hi: W::from_u64((hi as u64) & mask64(k)),
    })
}

const CAP: usize = 8;

/// Sorted, disjoint, non-wrapping unsigned intervals of `k`-bit patterns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pieces<W> {
    buf: [(W, W); CAP],
    len: usize,
}

impl<W: Word> Pieces<W> {
    pub fn full(k: u32) -> Self {
        let mut p = Pieces {
            buf: [(W::ZERO, W::ZERO); CAP],
            len: 0,
        };
        p.push(W::ZERO, low_mask::<W>(k));
        p
    }

    fn push(&mut self, lo: W, hi: W) {
        if self.len < CAP {
            self.buf[self.len] = (lo, hi);
            self.len += 1;
        } else {
            // Never reached with the few arcs used in this crate; stay sound by widening the
            // last piece.
            debug_assert!(false, "too many pieces");
            let last = &mut self.buf[CAP - 1];
            last.1 = hi.max(last.1);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (W, W)> + '_ {
        self.buf[..self.len].iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces intersected with `arc`.
    pub fn intersect(&self, arc: Arc<W>, k: u32) -> Self {
        let mut out = Pieces {
            buf: [(W::ZERO, W::ZERO); CAP],
            len: 0,
        };
        // The arc as at most two sorted non-wrapping intervals.
        let (q, nq) = if arc.lo <= arc.hi {
            ([(arc.lo, arc.hi), (W::ZERO, W::ZERO)], 1)
        } else {
            ([(W::ZERO, arc.hi), (arc.lo, low_mask::<W>(k))], 2)
        };
        for (lo, hi) in self.iter() {
            for &(qlo, qhi) in &q[..nq] {
                let l = lo.max(qlo);
                let h = hi.min(qhi);
                if l <= h {
                    out.push(l, h);
                }
            }
        }
        out
    }

    /// Each piece shrunk to its smallest and largest members of `t`; pieces without
    /// members are dropped.
    pub fn tighten(&self, t: &Tnum<W>, k: u32) -> Self {
        let mut out = Pieces {
            buf: [(W::ZERO, W::ZERO); CAP],
            len: 0,
        };
        for (lo, hi) in self.iter() {
            if let (Some(l), Some(h)) = (tnum_next(t, lo, k), tnum_prev(t, hi, k)) {
                if l <= h {
                    out.push(l, h);
                }
            }
        }
        out
    }

    /// The unsigned hull.
    pub fn hull_u(&self) -> (W, W) {
        (self.buf[0].0, self.buf[self.len - 1].1)
    }

    /// The signed hull at width `k`, as patterns.
    pub fn hull_s(&self, k: u32) -> (W, W) {
        let sb = sign_bit::<W>(k);
        let mut lo = low_mask::<W>(k);
        let mut hi = W::ZERO;
        for (l, h) in self.iter() {
            // Biased, a piece that contains both the largest and the smallest signed value
            // splits into [l^sb, max] and [0, h^sb].
            if l < sb && sb <= h {
                lo = W::ZERO;
                hi = low_mask::<W>(k);
            } else {
                lo = lo.min(l ^ sb);
                hi = hi.max(h ^ sb);
            }
        }
        (lo ^ sb, hi ^ sb)
    }

    /// The smallest tnum containing every piece.
    pub fn tnum(&self) -> Tnum<W> {
        let mut it = self.iter();
        let (l, h) = it.next().expect("non-empty pieces");
        let mut t = Tnum::range(l, h);
        for (l, h) in it {
            t = t.join(&Tnum::range(l, h));
        }
        t
    }
}

/// The smallest member of `t` (seen at width `k`) that is `>= x`.
pub(crate) fn tnum_next<W: Word>(t: &Tnum<W>, x: W, k: u32) -> Option<W> {
    let km = low_mask::<W>(k);
    let m = t.mask & km;
    let v = t.value & km;
    let x = x & km;
    let conflict = (x ^ v) & !m & km;
    if conflict == W::ZERO {
        return Some(x);
    }
    let h = W::BITS - 1 - conflict.leading_zeros();
    let hbit = W::ONE << h;
    let p = if x & hbit == W::ZERO {
        // The known bit is 1 where x has 0: the first member above x agrees with x above h.
        h
    } else {
        // x has 1 where the known bit is 0: flip the lowest unknown 0-bit of x above h.
        let above_h = km & !low_mask::<W>(h + 1);
        let cand = m & !x & above_h;
        if cand == W::ZERO {
            return None;
        }
        cand.trailing_zeros()
    };
    let above_p = km & !low_mask::<W>(p + 1);
    Some((x & above_p) | shl(W::ONE, p) | (v & low_mask::<W>(p)))
}

/// The largest member of `t` (seen at width `k`) that is `<= x`.
pub(crate) fn tnum_prev<W: Word>(t: &Tnum<W>, x: W, k: u32) -> Option<W> {
    let km = low_mask::<W>(k);
    let not_t = Tnum::new(!t.value & !t.mask & km, t.mask & km);
    tnum_next(&not_t, !x & km, k).map(|y| !y & km)
}

/// A scalar at width `k`. All fields are `k`-bit patterns; `smin`/`smax` are ordered as
/// `k`-bit signed numbers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct View<W> {
    pub k: u32,
    pub t: Tnum<W>,
    pub umin: W,
    pub umax: W,
    pub smin: W,
    pub smax: W,
}

impl<W: Word> View<W> {
    pub fn top(k: u32) -> Self {
        View {
            k,
            t: Tnum::unknown().truncate(k),
            umin: W::ZERO,
            umax: low_mask::<W>(k),
            smin: sign_bit::<W>(k),
            smax: sign_bit::<W>(k).wrapping_sub(W::ONE),
        }
    }

    pub fn constant(k: u32, v: W) -> Self {
        let v = v & low_mask::<W>(k);
        View {
            k,
            t: Tnum::const_(v),
            umin: v,
            umax: v,
            smin: v,
            smax: v,
        }
    }

    /// The view constrained only by `t` and `arcs` (reduced); `top` if that is empty,
    /// which sound callers never produce.
    pub fn from_parts(k: u32, t: Tnum<W>, arcs: &[Option<Arc<W>>]) -> Self {
        let v = View {
            t: t.truncate(k),
            ..Self::top(k)
        };
        match v.sync(arcs) {
            Some((v, _)) => v,
            None => {
                debug_assert!(false, "empty transfer result");
                Self::top(k)
            }
        }
    }

    pub fn is_const(&self) -> Option<W> {
        self.t.is_const()
    }

    /// Exact unsigned and signed bounds.
    pub fn ulo(&self) -> u128 {
        u128::from(self.umin.to_u64())
    }
    pub fn uhi(&self) -> u128 {
        u128::from(self.umax.to_u64())
    }
    pub fn slo(&self) -> i128 {
        i128_of(self.smin, self.k)
    }
    pub fn shi(&self) -> i128 {
        i128_of(self.smax, self.k)
    }

    /// Reduces the components against each other and against the extra `arcs`. Returns the
    /// reduced view and the pieces (the intersection of all arcs, tightened to the tnum),
    /// or `None` if the view is empty.
    pub fn sync(&self, arcs: &[Option<Arc<W>>]) -> Option<(Self, Pieces<W>)> {
        let k = self.k;
        let mut v = *self;
        v.t = v.t.truncate(k);
        let mut rounds = 0;
        loop {
            if v.umin > v.umax || !sle(v.smin, v.smax, k) {
                return None;
            }
            let mut p = Pieces::full(k);
            p = p.intersect(
                Arc {
                    lo: v.umin,
                    hi: v.umax,
                },
                k,
            );
            p = p.intersect(
                Arc {
                    lo: v.smin,
                    hi: v.smax,
                },
                k,
            );
            for a in arcs.iter().flatten() {
                p = p.intersect(*a, k);
            }
            p = p.tighten(&v.t, k);
            if p.is_empty() {
                return None;
            }
            let t = v.t.meet(&p.tnum())?;
            let (umin, umax) = p.hull_u();
            let (smin, smax) = p.hull_s(k);
            let next = View {
                k,
                t,
                umin,
                umax,
                smin,
                smax,
            };
            rounds += 1;
            if next == v || rounds >= 64 {
                return Some((next, p));
            }
            v = next;
        }
    }

    /// Exact intersection of the components, reduced.
    pub fn meet(&self, other: &Self) -> Option<Self> {
        self.meet_raw(other)?.sync(&[]).map(|(v, _)| v)
    }

    /// Exact intersection of the components, not reduced; `None` if a component is empty.
    pub fn meet_raw(&self, other: &Self) -> Option<Self> {
        let k = self.k;
        let t = self.t.meet(&other.t)?;
        let v = View {
            k,
            t,
            umin: self.umin.max(other.umin),
            umax: self.umax.min(other.umax),
            smin: if sle(self.smin, other.smin, k) {
                other.smin
            } else {
                self.smin
            },
            smax: if sle(self.smax, other.smax, k) {
                self.smax
            } else {
                other.smax
            },
        };
        if v.umin > v.umax || !sle(v.smin, v.smax, k) {
            return None;
        }
        Some(v)
    }

    /// Component-wise hull (an upper bound of both).
    pub fn join(&self, other: &Self) -> Self {
        let k = self.k;
        View {
            k,
            t: self.t.join(&other.t),
            umin: self.umin.min(other.umin),
            umax: self.umax.max(other.umax),
            smin: if sle(self.smin, other.smin, k) {
                self.smin
            } else {
                other.smin
            },
            smax: if sle(self.smax, other.smax, k) {
                other.smax
            } else {
                self.smax
            },
        }
    }

    /// Whether `x` (a `k`-bit pattern) is admitted by every component.
    pub fn contains_(&self, x: W) -> bool {
        let k = self.k;
        self.t.contains(x)
            && self.umin <= x
            && x <= self.umax
            && sle(self.smin, x, k)
            && sle(x, self.smax, k)
    }

    /// The view without the value `c` where that shrinks an interval; `None` if `c` was
    /// the only member.
    pub fn exclude(&self, c: W) -> Option<Self> {
        let k = self.k;
        let mut v = *self;
        if v.is_const() == Some(c) || (v.umin == c && v.umax == c) || (v.smin == c && v.smax == c) {
            return None;
        }
        if v.umin == c {
            v.umin = c.wrapping_add(W::ONE) & low_mask::<W>(k);
        }
        if v.umax == c {
            v.umax = c.wrapping_sub(W::ONE) & low_mask::<W>(k);
        }
        if v.smin == c {
            v.smin = c.wrapping_add(W::ONE) & low_mask::<W>(k);
        }
        if v.smax == c {
            v.smax = c.wrapping_sub(W::ONE) & low_mask::<W>(k);
        }
        if v.umin > v.umax || bias(v.smin, k) > bias(v.smax, k) {
            return None;
        }
        v.sync(&[]).map(|(v, _)| v)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// `tnum_next`/`tnum_prev` against a scan, for every 8-bit tnum, at widths 8 and 4.
    #[test]
    fn next_prev_match_brute_force() {
        for k in [4u32, 8] {
            let km = low_mask::<u8>(k);
            for m in 0..=km {
                for v in 0..=km {
                    if v & m != 0 {
                        continue;
                    }
                    let t = Tnum::new(v, m);
                    let mem: Vec<u8> = (0..=km).filter(|&x| t.contains(x)).collect();
                    for x in 0..=km {
                        let next = mem.iter().copied().find(|&y| y >= x);
                        let prev = mem.iter().rev().copied().find(|&y| y <= x);
                        assert_eq!(tnum_next(&t, x, k), next, "next {t:?} {x}");
                        assert_eq!(tnum_prev(&t, x, k), prev, "prev {t:?} {x}");
                    }
                }
            }
        }
    }

    /// Pieces are exactly the intersection of the arcs.
    #[test]
    fn pieces_are_exact_intersections() {
        let k = 8;
        let arcs: Vec<Arc<u8>> = [
            (0u8, 255u8),
            (10, 20),
            (250, 5),
            (128, 127),
            (100, 140),
            (200, 100),
        ]
        .iter()
        .map(|&(lo, hi)| Arc { lo, hi })
        .collect();
        let in_arc = |a: &Arc<u8>, x: u8| x.wrapping_sub(a.lo) <= a.hi.wrapping_sub(a.lo);
        for a in &arcs {
            for b in &arcs {
                for c in &arcs {
                    let p = Pieces::full(k)
                        .intersect(*a, k)
                        .intersect(*b, k)
                        .intersect(*c, k);
                    for x in 0..=255u8 {
                        let want = in_arc(a, x) && in_arc(b, x) && in_arc(c, x);
                        let got = p.iter().any(|(lo, hi)| lo <= x && x <= hi);
                        assert_eq!(got, want, "{a:?} {b:?} {c:?} {x}");
                    }
                }
            }
        }
    }

    #[test]
    fn arcs_from_exact_ranges() {
        assert_eq!(arc_i::<u8>(-1, 1, 8), Some(Arc { lo: 255, hi: 1 }));
        assert_eq!(arc_i::<u8>(0, 255, 8), Some(Arc { lo: 0, hi: 255 }));
        assert_eq!(arc_i::<u8>(0, 256, 8), None);
        assert_eq!(arc_u::<u8>(250, 260, 8), Some(Arc { lo: 250, hi: 4 }));
        assert_eq!(arc_u::<u8>(0, 16, 4), None);
    }
}
