//! Abstract values for ebpfvm's verifier: tristate numbers, unsigned and signed intervals
//! at two widths, and their reduced product. Nothing here knows about eBPF: inputs are
//! words, widths, operators and comparisons.
//!
//! # The domain
//!
//! A [`Scalar<W>`] describes a set of words γ(s) ⊆ W by five components, all of which every
//! member satisfies:
//!
//! | component | meaning |
//! |---|---|
//! | [`Tnum`] `(value; mask)` | bits outside `mask` are known and equal `value` |
//! | `umin..=umax` | unsigned bounds of the word |
//! | `smin..=smax` | signed (two's complement) bounds of the word |
//! | `umin_half..=umax_half` | unsigned bounds of the low half (32 bits of a `u64`) |
//! | `smin_half..=smax_half` | signed bounds of the low half |
//!
//! γ(s) is the intersection of the components' sets. The half-width bounds exist because
//! 32-bit operations on 64-bit registers are common and their results are only known
//! through the low half.
//!
//! Everything is generic over [`Word`] (`u8`, `u16`, `u32`, `u64`): the verifier uses
//! [`Scalar64`]; the tests run the very same code exhaustively on `u8`, whose half is 4 bits.
//!
//! ```
//! use ebpfvm_domain::{AluOp, Cond, Outcome, Scalar64, Width};
//!
//! let x = Scalar64::unknown();
//! let byte = Scalar64::alu(AluOp::And, Width::Full, &x, &Scalar64::constant(0xff));
//! assert_eq!((byte.umin(), byte.umax()), (0, 255));
//! let c256 = Scalar64::constant(256);
//! assert_eq!(Scalar64::branch(Cond::Ult, Width::Full, &byte, &c256), Outcome::Always);
//!
//! // Assume `x < 10` was taken.
//! let (small, _) =
//!     Scalar64::refine(Cond::Ult, Width::Full, true, &x, &Scalar64::constant(10)).unwrap();
//! assert_eq!(
//!     small.linux().to_string(),
//!     "smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf)"
//! );
//! ```
//!
//! # The reduction
//!
//! Every `Scalar` this crate hands out is *reduced*: no component can be tightened using
//! the others by the rules below, which all live in one function (`Scalar::reduce`):
//!
//! 1. **Intervals as arcs.** At a width of `k` bits, both intervals are arcs of the circle
//!    Z/2^k: the unsigned one does not pass `2^k-1 → 0`, the signed one does not pass
//!    `2^(k-1)-1 → -2^(k-1)`. Intersecting them gives at most two ordinary intervals
//!    ("pieces"), from which the tightest unsigned and signed hulls are read back. This
//!    is what moves information between the signed and the unsigned view, in both
//!    directions and including ranges that straddle a boundary.
//! 2. **Tnum against intervals.** Each piece is shrunk to its smallest and largest tnum
//!    members (computed exactly with bit tricks), and the tnum is met with the join of
//!    the pieces' common-prefix tnums ([`Tnum::range`]).
//! 3. **Full against half.** When a full-width interval spans at most 2^(n/2) values, the
//!    low halves of its members form an arc that constrains the half-width intervals.
//!    Conversely, each full-width bound moves to the nearest value whose low half lies in
//!    the half-width pieces, and the low bits of the tnum are met with the half view's tnum.
//!
//! The steps repeat until nothing changes (in practice after one or two rounds), so the
//! reduction is idempotent; each step only removes values that no member can have, so
//! γ is unchanged. An empty result is reported as `None` (by [`Scalar::meet`] and
//! [`Scalar::refine`]); there is no bottom `Scalar`.
//!
//! # Transfer functions and their soundness
//!
//! Each operator is computed at its width `k` (all of the word, or the low half followed
//! by zero extension) from the operands' `k`-bit views:
//!
//! * the tnum part by the tnum operator ([`Tnum::add`], [`Tnum::mul`], ...);
//! * the interval parts from the *exact* integer range of the result, computed in
//!   `i128`/`u128` (e.g. `[a.umin + b.umin, a.umax + b.umax]`, corner products for
//!   multiplication, corner quotients per sign quadrant for signed division). When that
//!   exact range spans fewer than 2^k integers, its image modulo 2^k is an arc that
//!   contains every wrapped result, so wrapping arithmetic keeps precise bounds; otherwise
//!   the arc is dropped;
//! * the result is then reduced.
//!
//! For every operator, for all x ∈ γ(a) and y ∈ γ(b), `x op y ∈ γ(Scalar::alu(op, w, a, b))`:
//! each component of the result is derived from a sound over-approximation of the exact
//! result set, γ of the result is the intersection of the components, and the reduction
//! preserves γ. Constant operands always give the exact constant. Branch refinement is sound
//! in the same sense: every pair of members for which the condition has the assumed outcome
//! is kept ([`Scalar::refine`]), and [`Scalar::branch`] answers `Always`/`Never` only when
//! every pair agrees.
//!
//! The semantics of the operators follow RFC 9669: `x / 0 = 0`, `x % 0 = x`,
//! `MIN / -1 = MIN`, `MIN % -1 = 0`, shift amounts are masked to `width - 1`, signed
//! division and remainder truncate, and half-width results are zero-extended.
//!
//! # Testing
//!
//! `tests/all` checks soundness exhaustively at 8 bits (every pair of members of a
//! representative set of abstract values, for every operator, width and condition), the
//! lattice laws against γ, properties at 64 bits with proptest, and precision on examples
//! that a lazily imprecise implementation would fail. The tnum operators are checked for
//! soundness and optimality over every tnum of the low five bits of a byte.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod alu;
mod cmp;
mod fmt;
mod lattice;
mod scalar;
mod tnum;
mod view;
mod word;

pub use alu::{AluOp, Width};
pub use cmp::{Cond, Outcome};
pub use fmt::LinuxDisplay;
pub use lattice::Lattice;
pub use scalar::{Scalar, Scalar64};
pub use tnum::{Tnum, Tnum64};
pub use word::Word;
