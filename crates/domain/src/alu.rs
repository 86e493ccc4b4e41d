//! Transfer functions for arithmetic and bitwise operators.

use crate::scalar::Scalar;
use crate::tnum::Tnum;
use crate::view::{arc_i, arc_u, View};
use crate::word::{i128_of, low_mask, sign_bit, Word};

/// A binary operator (the semantics of RFC 9669's ALU operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication.
    Mul,
    /// Unsigned division; division by zero gives 0.
    Div,
    /// Signed truncating division; by zero gives 0; MIN / -1 gives MIN.
    Sdiv,
    /// Unsigned remainder; by zero leaves the dividend unchanged.
    Mod,
    /// Signed truncating remainder (sign of the dividend); by zero leaves the dividend
    /// unchanged; MIN % -1 gives 0.
    Smod,
    /// Bitwise or.
    Or,
    /// Bitwise and.
    And,
    /// Bitwise exclusive or.
    Xor,
    /// Left shift by the second operand masked to `width - 1`.
    Lsh,
    /// Logical right shift by the second operand masked to `width - 1`.
    Rsh,
    /// Arithmetic right shift by the second operand masked to `width - 1`.
    Arsh,
    /// The second operand.
    Mov,
}

/// The width an operator works at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// The whole word.
    Full,
    /// The low half of each operand; the result is zero-extended to the full word.
    Half,
}

impl Width {
    /// The number of bits this width covers in a word `W`.
    pub fn bits<W: Word>(self) -> u32 {
        match self {
            Width::Full => W::BITS,
            Width::Half => W::HALF_BITS,
        }
    }
}

impl<W: Word> Scalar<W> {
    /// The abstract `a op b` at `width`: for all x ∈ γ(a), y ∈ γ(b),
    /// `op(width, x, y) ∈ γ(alu(op, width, a, b))`.
    ///
    /// Constant operands give the exact constant result. At full width, for the operators
    /// whose low half depends only on the operands' low halves (add, sub, mul, and, or,
    /// xor), the half-width bounds are also computed from the operands' half views.
    pub fn alu(op: AluOp, width: Width, a: &Self, b: &Self) -> Self {
        match width {
            Width::Full => {
                if op == AluOp::Mov {
                    return *b;
                }
                let full = view_op(op, &a.full_view(), &b.full_view());
                let half = match op {
                    AluOp::Add | AluOp::Sub | AluOp::Mul | AluOp::And | AluOp::Or | AluOp::Xor => {
                        Some(view_op(op, &a.half_view(), &b.half_view()))
                    }
                    _ => None,
                };
                Self::from_views(full, half)
            }
            Width::Half => Self::from_view_zext(view_op(op, &a.half_view(), &b.half_view())),
        }
    }

    /// Two's complement negation at `width` (half: of the low half, zero-extended).
    pub fn neg(&self, width: Width) -> Self {
        Self::alu(AluOp::Sub, width, &Self::constant(W::ZERO), self)
    }

    /// Reverses the bytes of the low `bits` bits (16, 32 or 64); the bits above are zero.
    /// `bits` is clamped to `W::BITS` and rounded down to whole bytes (fewer than 8 gives 0).
    pub fn bswap(&self, bits: u32) -> Self {
        let bytes = bits.min(W::BITS) / 8;
        let swap = |x: W| {
            let mut out = W::ZERO;
            for i in 0..bytes {
                let byte = (x >> (8 * i)) & W::from_u64(0xff);
                out = out | (byte << (8 * (bytes - 1 - i)));
            }
            out
        };
        Self::from_tnum(Tnum::new(swap(self.tnum.value), swap(self.tnum.mask)))
    }

    /// Sign-extends the low `from_bits` bits to the full width (`from_bits >= W::BITS`
    /// leaves the value unchanged).
    pub fn sext(&self, from_bits: u32) -> Self {
        if from_bits >= W::BITS {
            return *self;
        }
        if from_bits == 0 {
            return Self::constant(W::ZERO);
        }
        let v = self.project(from_bits);
        let (lo, hi) = (v.slo(), v.shi());
        let n = W::BITS;
        let full = View::from_parts(n, v.t.sext(from_bits), &[arc_i(lo, hi, n)]);
        let half = View::from_parts(
            W::HALF_BITS,
            v.t.sext(from_bits),
            &[arc_i(lo, hi, W::HALF_BITS)],
        );
        Self::from_views(full, Some(half))
    }

    /// Keeps the low `to_bits` bits (zero extension of the truncated value;
    /// `to_bits >= W::BITS` leaves the value unchanged).
    pub fn zext(&self, to_bits: u32) -> Self {
        if to_bits >= W::BITS {
            return *self;
        }
        if to_bits == 0 {
            return Self::constant(W::ZERO);
        }
        Self::from_view_zext(self.project(to_bits))
    }
}

/// `a op b` on views of the same width `k`; the result is a reduced view of width `k`.
pub(crate) fn view_op<W: Word>(op: AluOp, a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    debug_assert_eq!(k, b.k);
    match op {
        AluOp::Mov => *b,
        AluOp::Add => View::from_parts(
            k,
            a.t.add(&b.t),
            &[
                arc_u(a.ulo() + b.ulo(), a.uhi() + b.uhi(), k),
                arc_i(a.slo() + b.slo(), a.shi() + b.shi(), k),
            ],
        ),
        AluOp::Sub => View::from_parts(
            k,
            a.t.sub(&b.t),
            &[
                arc_i(
                    a.ulo() as i128 - b.uhi() as i128,
                    a.uhi() as i128 - b.ulo() as i128,
                    k,
                ),
                arc_i(a.slo() - b.shi(), a.shi() - b.slo(), k),
            ],
        ),
        AluOp::Mul => {
            let c = [
                a.slo() * b.slo(),
                a.slo() * b.shi(),
                a.shi() * b.slo(),
                a.shi() * b.shi(),
            ];
            let (lo, hi) = min_max(&c);
            View::from_parts(
                k,
                a.t.mul(&b.t),
                &[
                    arc_u(a.ulo() * b.ulo(), a.uhi() * b.uhi(), k),
                    arc_i(lo, hi, k),
                ],
            )
        }
        AluOp::Div => udiv(a, b),
        AluOp::Mod => umod(a, b),
        AluOp::Sdiv => sdiv(a, b),
        AluOp::Smod => smod(a, b),
        AluOp::And | AluOp::Or | AluOp::Xor => bitwise(op, a, b),
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => shift(op, a, b),
    }
}

fn min_max(c: &[i128]) -> (i128, i128) {
    let mut lo = c[0];
    let mut hi = c[0];
    for &x in c {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    (lo, hi)
}

fn top_t<W: Word>() -> Tnum<W> {
    Tnum::unknown()
}

fn udiv<W: Word>(a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    let mut u = Union::new();
    if b.contains_(W::ZERO) {
        u.add(View::constant(k, W::ZERO));
    }
    if let Some(b) = b.exclude(W::ZERO) {
        // Monotone: increasing in the dividend, decreasing in the divisor.
        let (lo, hi) = (a.ulo() / b.uhi(), a.uhi() / b.ulo());
        u.add(View::from_parts(k, top_t(), &[arc_u(lo, hi, k)]));
    }
    u.finish(k)
}

fn umod<W: Word>(a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    let mut u = Union::new();
    if b.contains_(W::ZERO) {
        u.add(*a);
    }
    if let Some(b) = b.exclude(W::ZERO) {
        let (blo, bhi) = (b.ulo(), b.uhi());
        u.add(if a.uhi() < blo {
            // Every dividend is below every divisor.
            *a
        } else if blo == bhi {
            let d = blo;
            let t = if d.is_power_of_two() {
                a.t.and(&Tnum::const_(W::from_u64((d - 1) as u64)))
            } else {
                top_t()
            };
            let (q1, q2) = (a.ulo() / d, a.uhi() / d);
            if q1 == q2 {
                // One quotient q: the remainder a - q*d grows with a.
                View::from_parts(k, t, &[arc_u(a.ulo() - q1 * d, a.uhi() - q1 * d, k)])
            } else {
                View::from_parts(k, t, &[arc_u(0, a.uhi().min(d - 1), k)])
            }
        } else {
            View::from_parts(k, top_t(), &[arc_u(0, a.uhi().min(bhi - 1), k)])
        });
    }
    u.finish(k)
}

/// The negative and the non-negative parts of a signed interval.
fn sign_parts(lo: i128, hi: i128) -> [Option<(i128, i128)>; 2] {
    [
        if lo < 0 { Some((lo, hi.min(-1))) } else { None },
        if hi >= 0 { Some((lo.max(0), hi)) } else { None },
    ]
}

/// The negative and the positive parts of a divisor's signed interval (zero left out).
fn divisor_parts(lo: i128, hi: i128) -> [Option<(i128, i128)>; 2] {
    [
        if lo < 0 { Some((lo, hi.min(-1))) } else { None },
        if hi >= 1 { Some((lo.max(1), hi)) } else { None },
    ]
}

/// Accumulates a union of views.
struct Union<W> {
    acc: Option<View<W>>,
}

impl<W: Word> Union<W> {
    fn new() -> Self {
        Union { acc: None }
    }
    fn add(&mut self, v: View<W>) {
        self.acc = Some(match self.acc {
            None => v,
            Some(a) => a.join(&v),
        });
    }
    fn finish(self, k: u32) -> View<W> {
        match self.acc {
            Some(v) => v.sync(&[]).map_or(v, |(v, _)| v),
            None => {
                debug_assert!(false, "empty union");
                View::top(k)
            }
        }
    }
}

fn sdiv<W: Word>(a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    let mut u = Union::new();
    if b.contains_(W::ZERO) {
        u.add(View::constant(k, W::ZERO));
    }
    let Some(b) = b.exclude(W::ZERO) else {
        return u.finish(k);
    };
    for pa in sign_parts(a.slo(), a.shi()).into_iter().flatten() {
        for pb in divisor_parts(b.slo(), b.shi()).into_iter().flatten() {
            // Truncating division is monotone in each argument within a sign quadrant, so
            // the exact quotients lie between the corner quotients. The only quotient that
            // does not fit (MIN / -1 = 2^(k-1)) wraps to MIN, which the arc records.
            let c = [pa.0 / pb.0, pa.0 / pb.1, pa.1 / pb.0, pa.1 / pb.1];
            let (lo, hi) = min_max(&c);
            u.add(View::from_parts(k, top_t(), &[arc_i(lo, hi, k)]));
        }
    }
    u.finish(k)
}

fn smod<W: Word>(a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    let mut u = Union::new();
    if b.contains_(W::ZERO) {
        u.add(*a);
    }
    let Some(b) = b.exclude(W::ZERO) else {
        return u.finish(k);
    };
    for pa in sign_parts(a.slo(), a.shi()).into_iter().flatten() {
        for pb in divisor_parts(b.slo(), b.shi()).into_iter().flatten() {
            let (bmin, bmax) = {
                let (x, y) = (pb.0.abs(), pb.1.abs());
                (x.min(y), x.max(y))
            };
            let (lo, hi) = if pb.0 == pb.1 && pa.0 / pb.0 == pa.1 / pb.0 {
                // One quotient q: the remainder a - q*d grows with a.
                let q = pa.0 / pb.0;
                (pa.0 - q * pb.0, pa.1 - q * pb.0)
            } else if pa.0 >= 0 {
                if pa.1 < bmin {
                    pa
                } else {
                    (0, pa.1.min(bmax - 1))
                }
            } else if -pa.0 < bmin {
                pa
            } else {
                (pa.0.max(-(bmax - 1)), 0)
            };
            u.add(View::from_parts(k, top_t(), &[arc_i(lo, hi, k)]));
        }
    }
    u.finish(k)
}

/// All ones below and at the highest set bit of a non-negative `x`.
fn smear_i(x: i128) -> i128 {
    debug_assert!(x >= 0);
    if x == 0 {
        0
    } else {
        (1i128 << (128 - x.leading_zeros())) - 1
    }
}

fn bitwise<W: Word>(op: AluOp, a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    let (t, ulo, uhi) = match op {
        AluOp::And => (a.t.and(&b.t), 0, a.uhi().min(b.uhi())),
        AluOp::Or => (
            a.t.or(&b.t),
            a.ulo().max(b.ulo()),
            smear_i((a.uhi() | b.uhi()) as i128) as u128,
        ),
        _ => (
            a.t.xor(&b.t),
            0,
            smear_i((a.uhi() | b.uhi()) as i128) as u128,
        ),
    };
    // Signed bounds by sign quadrant.
    let mut slo = i128::MAX;
    let mut shi = i128::MIN;
    let smin_k = i128_of(sign_bit::<W>(k), k);
    for (alo, ahi) in sign_parts(a.slo(), a.shi()).into_iter().flatten() {
        for (blo, bhi) in sign_parts(b.slo(), b.shi()).into_iter().flatten() {
            let (an, bn) = (alo < 0, blo < 0);
            let (lo, hi) = match (op, an, bn) {
                (AluOp::And, false, false) => (0, ahi.min(bhi)),
                (AluOp::And, false, true) => (0, ahi),
                (AluOp::And, true, false) => (0, bhi),
                (AluOp::And, true, true) => (smin_k, ahi.min(bhi)),
                (AluOp::Or, false, false) => (alo.max(blo), smear_i(ahi | bhi)),
                (AluOp::Or, false, true) => (blo, -1),
                (AluOp::Or, true, false) => (alo, -1),
                (AluOp::Or, true, true) => (alo.max(blo), -1),
                (_, false, false) => (0, smear_i(ahi | bhi)),
                (_, true, true) => (0, smear_i(!alo | !blo)),
                (_, false, true) => (!smear_i(ahi | !blo), -1),
                (_, true, false) => (!smear_i(!alo | bhi), -1),
            };
            slo = slo.min(lo);
            shi = shi.max(hi);
        }
    }
    View::from_parts(k, t, &[arc_u(ulo, uhi, k), arc_i(slo, shi, k)])
}

fn shift<W: Word>(op: AluOp, a: &View<W>, b: &View<W>) -> View<W> {
    let k = a.k;
    // The amount is the shift operand masked to k - 1 (k is a power of two).
    // When b spans fewer than k values (unsigned or signed), the amounts form an arc of
    // Z/k; the tnum's low bits are the amounts' tnum.
    let amt_t = b.t.truncate(k.trailing_zeros());
    let amask = u64::from(k - 1);
    let vmask = low_mask::<W>(k);
    let in_arc = |lo: W, hi: W, s: u64| {
        let d = hi.wrapping_sub(lo) & vmask;
        if d.to_u64() >= amask {
            return true;
        }
        s.wrapping_sub(lo.to_u64()) & amask <= d.to_u64()
    };
    let mut u = Union::new();
    for s in 0..k {
        let s64 = u64::from(s);
        if amt_t.contains(W::from_u64(s64))
            && in_arc(b.umin, b.umax, s64)
            && in_arc(b.smin, b.smax, s64)
        {
            u.add(shift_const(op, a, s));
        }
    }
    u.finish(k)
}

fn shift_const<W: Word>(op: AluOp, a: &View<W>, s: u32) -> View<W> {
    let k = a.k;
    match op {
        AluOp::Lsh => View::from_parts(
            k,
            a.t.lsh(s),
            &[
                arc_u(a.ulo() << s, a.uhi() << s, k),
                arc_i(a.slo() << s, a.shi() << s, k),
            ],
        ),
        AluOp::Rsh => {
            let s_arc = if s == 0 {
                arc_i(a.slo(), a.shi(), k)
            } else {
                None
            };
            View::from_parts(
                k,
                a.t.rsh(s),
                &[arc_u(a.ulo() >> s, a.uhi() >> s, k), s_arc],
            )
        }
        _ => {
            // Arithmetic shift is monotone in the signed order, and in the unsigned order
            // within one sign.
            let same_sign = (a.umin ^ a.umax) & sign_bit::<W>(k) == W::ZERO;
            let u_arc = if same_sign {
                arc_i(i128_of(a.umin, k) >> s, i128_of(a.umax, k) >> s, k)
            } else {
                None
            };
            View::from_parts(
                k,
                a.t.arsh_k(s, k),
                &[arc_i(a.slo() >> s, a.shi() >> s, k), u_arc],
            )
        }
    }
}
