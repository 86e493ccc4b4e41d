//! Machine words the domain is generic over.
//!
//! Everything in this crate is generic over a [`Word`] so that the same code can be
//! checked exhaustively at 8 bits (where the "half" is 4 bits) and used at 64 bits (where
//! the half is 32 bits). Internally, exact arithmetic on bounds is done in `u128`/`i128`,
//! which is wide enough for every product and sum of two 64-bit values.

use core::fmt::{Debug, Display, LowerHex};
use core::hash::Hash;
use core::ops::{BitAnd, BitOr, BitXor, Not, Shl, Shr};

/// An unsigned machine word of `BITS` bits (`u8`, `u16`, `u32` or `u64`).
///
/// The "half" of a word is its low `BITS / 2` bits: 32 of a `u64`, 4 of a `u8`.
pub trait Word:
    Copy
    + Eq
    + Ord
    + Debug
    + Display
    + LowerHex
    + Hash
    + Default
    + Send
    + Sync
    + 'static
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
    + Not<Output = Self>
    + Shl<u32, Output = Self>
    + Shr<u32, Output = Self>
{
    /// Width in bits.
    const BITS: u32;
    /// Width of the low half in bits (`BITS / 2`).
    const HALF_BITS: u32 = Self::BITS / 2;
    /// All bits clear.
    const ZERO: Self;
    /// The value one.
    const ONE: Self;
    /// All bits set.
    const MAX: Self;
    /// The signed integer of the same width (`i64` for `u64`).
    type Signed: Copy + Eq + Ord + Debug + Display + Hash + Send + Sync + 'static;

    /// Reinterprets the bits as signed.
    fn to_signed(self) -> Self::Signed;
    /// Reinterprets signed bits as unsigned.
    fn from_signed(s: Self::Signed) -> Self;
    /// Truncates a `u64` to this width.
    fn from_u64(v: u64) -> Self;
    /// Zero-extends to `u64`.
    fn to_u64(self) -> u64;
    /// Wrapping addition.
    fn wrapping_add(self, rhs: Self) -> Self;
    /// Wrapping subtraction.
    fn wrapping_sub(self, rhs: Self) -> Self;
    /// Wrapping multiplication.
    fn wrapping_mul(self, rhs: Self) -> Self;
    /// Two's complement negation.
    fn wrapping_neg(self) -> Self;
    /// Number of leading zero bits.
    fn leading_zeros(self) -> u32;
    /// Number of trailing zero bits.
    fn trailing_zeros(self) -> u32;
    /// Number of set bits.
    fn count_ones(self) -> u32;
}

macro_rules! impl_word {
    ($($u:ty => $s:ty),*) => {$(
        impl Word for $u {
            const BITS: u32 = <$u>::BITS;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const MAX: Self = <$u>::MAX;
            type Signed = $s;
            #[inline]
            fn to_signed(self) -> $s { self as $s }
            #[inline]
            fn from_signed(s: $s) -> Self { s as $u }
            #[inline]
            fn from_u64(v: u64) -> Self { v as $u }
            #[inline]
            fn to_u64(self) -> u64 { self as u64 }
            #[inline]
            fn wrapping_add(self, rhs: Self) -> Self { <$u>::wrapping_add(self, rhs) }
            #[inline]
            fn wrapping_sub(self, rhs: Self) -> Self { <$u>::wrapping_sub(self, rhs) }
            #[inline]
            fn wrapping_mul(self, rhs: Self) -> Self { <$u>::wrapping_mul(self, rhs) }
            #[inline]
            fn wrapping_neg(self) -> Self { <$u>::wrapping_neg(self) }
            #[inline]
            fn leading_zeros(self) -> u32 { <$u>::leading_zeros(self) }
            #[inline]
            fn trailing_zeros(self) -> u32 { <$u>::trailing_zeros(self) }
            #[inline]
            fn count_ones(self) -> u32 { <$u>::count_ones(self) }
        }
    )*};
}

impl_word!(u8 => i8, u16 => i16, u32 => i32, u64 => i64);

// ---- width-k helpers (crate-internal). A "k-bit pattern" is a W whose bits at and above
// k are zero; k is always 1..=W::BITS. ----

/// The mask of the low `k` bits.
#[inline]
pub(crate) fn low_mask<W: Word>(k: u32) -> W {
    if k >= W::BITS {
        W::MAX
    } else {
        !(W::MAX << k)
    }
}

/// The sign bit of a `k`-bit pattern.
#[inline]
pub(crate) fn sign_bit<W: Word>(k: u32) -> W {
    W::ONE << (k - 1)
}

/// `x << n`, or zero when `n >= BITS`.
#[inline]
pub(crate) fn shl<W: Word>(x: W, n: u32) -> W {
    if n >= W::BITS {
        W::ZERO
    } else {
        x << n
    }
}

/// `x >> n` (logical), or zero when `n >= BITS`.
#[inline]
pub(crate) fn shr<W: Word>(x: W, n: u32) -> W {
    if n >= W::BITS {
        W::ZERO
    } else {
        x >> n
    }
}

/// Exact signed value of the `k`-bit pattern `x`.
#[inline]
pub(crate) fn i128_of<W: Word>(x: W, k: u32) -> i128 {
    let v = i128::from(x.to_u64() & mask64(k));
    if k < 128 && (v >> (k - 1)) & 1 == 1 {
        v - (1i128 << k)
    } else {
        v
    }
}

/// The low `k` bits of `v` (two's complement) as a pattern.
#[inline]
pub(crate) fn w_of_i128<W: Word>(v: i128, k: u32) -> W {
    W::from_u64((v as u64) & mask64(k))
}

#[inline]
pub(crate) fn mask64(k: u32) -> u64 {
    if k >= 64 {
        u64::MAX
    } else {
        (1u64 << k) - 1
    }
}

/// Sign-extends the `k`-bit pattern `x` to the full word.
#[inline]
pub(crate) fn sext<W: Word>(x: W, k: u32) -> W {
    w_of_i128(i128_of(x, k), W::BITS)
}

/// `(x ^ sign) <= ...`: maps signed order at width k to unsigned order.
#[inline]
pub(crate) fn bias<W: Word>(x: W, k: u32) -> W {
    x ^ sign_bit::<W>(k)
}

/// Signed `a <= b` for `k`-bit patterns.
#[inline]
pub(crate) fn sle<W: Word>(a: W, b: W, k: u32) -> bool {
    bias(a, k) <= bias(b, k)
}
