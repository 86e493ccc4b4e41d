//! Tristate numbers: per-bit knowledge of a word.
//!
//! A [`Tnum`] `(value, mask)` stands for the set γ(t) = { x | x & !mask == value }: bits set
//! in `mask` are unknown, the others are known and equal to the bit in `value`. The
//! invariant `value & mask == 0` always holds for tnums built by this module.
//!
//! Every operation `op#` is sound: for all x ∈ γ(a), y ∈ γ(b), `x op y ∈ γ(a op# b)`.
//! `and`, `or`, `xor`, the shifts, `join`, `meet`, `truncate` and `range` are also optimal
//! (the smallest tnum containing the exact result set); `add` and `sub` are optimal as shown
//! in the tnum literature (Vishwanathan et al., CGO 2022); `mul` is sound but not optimal.

use crate::word::{low_mask, shl, shr, Word};

/// A tristate number: each bit is known 0, known 1 or unknown.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum<W> {
    /// The known bits (zero where unknown).
    pub value: W,
    /// The unknown bits.
    pub mask: W,
}

impl<W: Word> Tnum<W> {
    /// A tnum from raw parts; bits of `value` covered by `mask` are cleared.
    pub fn new(value: W, mask: W) -> Self {
        Tnum {
            value: value & !mask,
            mask,
        }
    }

    /// Exactly `v`.
    pub fn const_(v: W) -> Self {
        Tnum {
            value: v,
            mask: W::ZERO,
        }
    }

    /// Every word.
    pub fn unknown() -> Self {
        Tnum {
            value: W::ZERO,
            mask: W::MAX,
        }
    }

    /// The smallest tnum containing every `x` with `min <= x <= max` (unsigned): the common
    /// high bits of `min` and `max` are known. `min > max` gives [`Tnum::unknown`].
    pub fn range(min: W, max: W) -> Self {
        if min > max {
            return Self::unknown();
        }
        let chi = min ^ max;
        let bits = W::BITS - chi.leading_zeros();
        let delta = low_mask::<W>(bits);
        Tnum::new(min & !delta, delta)
    }

    /// `Some(v)` if every bit is known.
    pub fn is_const(&self) -> Option<W> {
        if self.mask == W::ZERO {
            Some(self.value)
        } else {
            None
        }
    }

    /// Whether every bit is unknown.
    pub fn is_unknown(&self) -> bool {
        self.mask == W::MAX
    }

    /// Whether `v ∈ γ(self)`.
    pub fn contains(&self, v: W) -> bool {
        v & !self.mask == self.value
    }

    /// Lattice order: `γ(self) ⊆ γ(other)` (exact).
    pub fn leq(&self, other: &Self) -> bool {
        self.mask & !other.mask == W::ZERO && self.value & !other.mask == other.value
    }

    /// The smallest tnum containing both (optimal union).
    pub fn join(&self, other: &Self) -> Self {
        let mu = self.mask | other.mask | (self.value ^ other.value);
        Tnum::new(self.value, mu)
    }

    /// The intersection, exact; `None` if it is empty.
    pub fn meet(&self, other: &Self) -> Option<Self> {
        let known_both = !self.mask & !other.mask;
        if (self.value ^ other.value) & known_both != W::ZERO {
            return None;
        }
        Some(Tnum::new(self.value | other.value, self.mask & other.mask))
    }

    /// Smallest member.
    pub fn min(&self) -> W {
        self.value
    }

    /// Largest member.
    pub fn max(&self) -> W {
        self.value | self.mask
    }

    /// Wrapping addition.
    pub fn add(&self, other: &Self) -> Self {
        // Both extremes of the carry chain: with all unknown bits 0 and all 1. Any bit that
        // differs between the two sums, or is unknown in an input, may be either.
        let sv = self.value.wrapping_add(other.value);
        let sm = self.mask.wrapping_add(other.mask);
        let sigma = sv.wrapping_add(sm);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | other.mask;
        Tnum::new(sv, mu)
    }

    /// Wrapping subtraction.
    pub fn sub(&self, other: &Self) -> Self {
        // Largest minuend minus smallest subtrahend vs smallest minuend minus largest
        // subtrahend bound every borrow chain.
        let dv = self.value.wrapping_sub(other.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(other.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | other.mask;
        Tnum::new(dv, mu)
    }

    /// Two's complement negation.
    pub fn neg(&self) -> Self {
        Self::const_(W::ZERO).sub(self)
    }

    /// Wrapping multiplication.
    ///
    /// With x = xv + xu (xu ∈ γ(0, xm)): x·y = xv·yv + Σ over bits i of x that are known 1
    /// of (yu << i) + Σ over unknown bits i of x of (0 or y << i). Each summand lies in a
    /// tnum with value 0 and the summed by the (sound) tnum addition.
    pub fn mul(&self, other: &Self) -> Self {
        let acc_v = self.value.wrapping_mul(other.value);
        let mut acc_m = Self::const_(W::ZERO);
        let mut a = *self;
        let mut b = *other;
        while a.value | a.mask != W::ZERO {
            if a.value & W::ONE != W::ZERO {
                acc_m = acc_m.add(&Tnum::new(W::ZERO, b.mask));
            } else if a.mask & W::ONE != W::ZERO {
                acc_m = acc_m.add(&Tnum::new(W::ZERO, b.value | b.mask));
            }
            a = a.rsh(1);
            b = b.lsh(1);
        }
        Self::const_(acc_v).add(&acc_m)
    }

    /// Bitwise and.
    pub fn and(&self, other: &Self) -> Self {
        let alpha = self.value | self.mask;
        let beta = other.value | other.mask;
        let v = self.value & other.value;
        Tnum::new(v, alpha & beta & !v)
    }

    /// Bitwise or.
    pub fn or(&self, other: &Self) -> Self {
        let v = self.value | other.value;
        Tnum::new(v, (self.mask | other.mask) & !v)
    }

    /// Bitwise exclusive or.
    pub fn xor(&self, other: &Self) -> Self {
        let mu = self.mask | other.mask;
        Tnum::new(self.value ^ other.value, mu)
    }

    /// Bitwise not.
    pub fn not(&self) -> Self {
        Tnum::new(!self.value & !self.mask, self.mask)
    }

    /// Left shift by `n` (zero when `n >= BITS`).
    pub fn lsh(&self, n: u32) -> Self {
        Tnum::new(shl(self.value, n), shl(self.mask, n))
    }

    /// Logical right shift by `n` (zero when `n >= BITS`).
    pub fn rsh(&self, n: u32) -> Self {
        Tnum::new(shr(self.value, n), shr(self.mask, n))
    }

    /// Arithmetic right shift by `n` (all copies of the sign bit when `n >= BITS`).
    pub fn arsh(&self, n: u32) -> Self {
        self.arsh_k(n, W::BITS)
    }

    /// Arithmetic right shift of the low `k` bits, treated as a `k`-bit signed number; the
    /// result is a `k`-bit pattern.
    pub(crate) fn arsh_k(&self, n: u32, k: u32) -> Self {
        let n = n.min(k - 1);
        let f = |x: W| {
            let x = x & low_mask::<W>(k);
            let neg = shr(x, k - 1) & W::ONE != W::ZERO;
            let shifted = shr(x, n);
            if neg {
                (shifted | !shr(low_mask::<W>(k), n)) & low_mask::<W>(k)
            } else {
                shifted
            }
        };
        Tnum::new(f(self.value), f(self.mask))
    }

    /// Keeps the low `bits` bits; the others become known zero (zero extension).
    pub fn truncate(&self, bits: u32) -> Self {
        let m = low_mask::<W>(bits);
        Tnum::new(self.value & m, self.mask & m)
    }

    /// Sign-extends the low `bits` bits to the full width (`bits == 0` gives 0, `bits >=
    /// BITS` leaves the tnum unchanged).
    pub fn sext(&self, bits: u32) -> Self {
        if bits >= W::BITS {
            return *self;
        }
        if bits == 0 {
            return Self::const_(W::ZERO);
        }
        let t = self.truncate(bits);
        let sign = W::ONE << (bits - 1);
        let high = !low_mask::<W>(bits);
        if t.mask & sign != W::ZERO {
            Tnum::new(t.value, t.mask | high)
        } else if t.value & sign != W::ZERO {
            Tnum::new(t.value | high, t.mask)
        } else {
            t
        }
    }

    /// Whether every member is a multiple of `align` (a power of two).
    pub fn is_aligned(&self, align: W) -> bool {
        let m = align.wrapping_sub(W::ONE);
        (self.value | self.mask) & m == W::ZERO
    }

    /// The number of unknown bits.
    pub fn unknown_bits(&self) -> u32 {
        self.mask.count_ones()
    }
}

impl<W: Word> Default for Tnum<W> {
    /// [`Tnum::unknown`].
    fn default() -> Self {
        Self::unknown()
    }
}

impl<W: Word> core::fmt::Debug for Tnum<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl<W: Word> core::fmt::Display for Tnum<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

/// A 64-bit tnum.
pub type Tnum64 = Tnum<u64>;

#[cfg(test)]
mod tests {
    //! Exhaustive checks over every tnum of the low 5 bits of a byte (3^5 = 243 tnums),
    //! with the operations at 8 bits: soundness for every operator and optimality (the
    //! result is the join of the exact results) where claimed.
    extern crate std;
    use super::Tnum;
    use std::vec::Vec;

    fn all5() -> Vec<Tnum<u8>> {
        let mut v = Vec::new();
        for m in 0..32u8 {
            for x in 0..32u8 {
                if x & m == 0 {
                    v.push(Tnum::new(x, m));
                }
            }
        }
        v
    }

    fn members(t: &Tnum<u8>) -> Vec<u8> {
        (0..=255u8).filter(|&x| t.contains(x)).collect()
    }

    fn best(vals: impl Iterator<Item = u8>) -> Option<Tnum<u8>> {
        vals.map(Tnum::const_).reduce(|a, b| a.join(&b))
    }

    type BinOp = (
        &'static str,
        fn(&Tnum<u8>, &Tnum<u8>) -> Tnum<u8>,
        fn(u8, u8) -> u8,
        bool,
    );

    #[test]
    fn binary_ops_sound_and_optimal() {
        let ops: [BinOp; 6] = [
            ("add", Tnum::add, u8::wrapping_add, true),
            ("sub", Tnum::sub, u8::wrapping_sub, true),
            ("mul", Tnum::mul, u8::wrapping_mul, false),
            ("and", Tnum::and, |a, b| a & b, true),
            ("or", Tnum::or, |a, b| a | b, true),
            ("xor", Tnum::xor, |a, b| a ^ b, true),
        ];
        let all = all5();
        let mems: Vec<Vec<u8>> = all.iter().map(members).collect();
        for (name, abs, conc, optimal) in ops {
            for (a, ma) in all.iter().zip(&mems) {
                for (b, mb) in all.iter().zip(&mems) {
                    let r = abs(a, b);
                    assert_eq!(r.value & r.mask, 0, "{name} invariant");
                    let exact =
                        best(ma.iter().flat_map(|&x| mb.iter().map(move |&y| conc(x, y)))).unwrap();
                    assert!(exact.leq(&r), "{name} {a:?} {b:?} = {r:?} ⊉ {exact:?}");
                    if optimal {
                        assert_eq!(r, exact, "{name} {a:?} {b:?} not optimal");
                    }
                }
            }
        }
    }

    #[test]
    fn mul_is_exact_on_constants() {
        for x in 0..=255u8 {
            for y in (0..=255u8).step_by(3) {
                let r = Tnum::const_(x).mul(&Tnum::const_(y));
                assert_eq!(r.is_const(), Some(x.wrapping_mul(y)));
            }
        }
    }

    #[test]
    fn unary_ops_sound_and_optimal() {
        for m in 0..=255u8 {
            for x in 0..=255u8 {
                if x & m != 0 {
                    continue;
                }
                let t = Tnum::new(x, m);
                let ms = members(&t);
                let check = |name: &str, r: Tnum<u8>, f: &dyn Fn(u8) -> u8| {
                    let exact = best(ms.iter().map(|&v| f(v))).unwrap();
                    assert_eq!(r, exact, "{name} {t:?}");
                };
                check("neg", t.neg(), &|v| v.wrapping_neg());
                check("not", t.not(), &|v| !v);
                for n in 0..10u32 {
                    check("lsh", t.lsh(n), &|v| v.checked_shl(n).unwrap_or(0));
                    check("rsh", t.rsh(n), &|v| v.checked_shr(n).unwrap_or(0));
                    check("arsh", t.arsh(n), &|v| ((v as i8) >> n.min(7)) as u8);
                }
                for bits in 1..=8u32 {
                    let m = if bits == 8 { 0xff } else { (1u8 << bits) - 1 };
                    check("truncate", t.truncate(bits), &|v| v & m);
                    check("sext", t.sext(bits), &|v| {
                        let s = 8 - bits;
                        (((v << s) as i8) >> s) as u8
                    });
                }
            }
        }
    }

    #[test]
    fn lattice_ops_are_exact() {
        let all = all5();
        for a in &all {
            assert!(a.leq(a));
            for b in &all {
                let (ma, mb) = (members(a), members(b));
                let j = a.join(b);
                assert_eq!(Some(j), best(ma.iter().chain(&mb).copied()));
                let both: Vec<u8> = ma.iter().copied().filter(|x| b.contains(*x)).collect();
                match a.meet(b) {
                    None => assert!(both.is_empty()),
                    Some(m) => assert_eq!(members(&m), both),
                }
                let sub = ma.iter().all(|&x| b.contains(x));
                assert_eq!(a.leq(b), sub, "{a:?} ⊑ {b:?}");
            }
        }
    }

    #[test]
    fn range_is_optimal() {
        for lo in 0..=255u8 {
            for hi in lo..=255u8 {
                assert_eq!(Some(Tnum::range(lo, hi)), best(lo..=hi), "[{lo}, {hi}]");
            }
        }
        assert!(Tnum::<u8>::range(3, 2).is_unknown());
    }

    #[test]
    fn alignment() {
        assert!(Tnum::<u64>::new(0x10, 0xf0).is_aligned(16));
        assert!(!Tnum::<u64>::new(0x10, 0xf8).is_aligned(16));
        assert!(Tnum::<u64>::unknown().is_aligned(1));
    }
}
