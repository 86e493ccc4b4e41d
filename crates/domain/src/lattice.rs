//! The lattice interface shared by the abstract values.

use crate::scalar::Scalar;
use crate::tnum::Tnum;
use crate::word::Word;

/// A lattice of abstract values ordered by inclusion of their concretisations γ.
///
/// There is no bottom element in the types; operations that may produce the empty set
/// return `Option` (`None` is bottom).
pub trait Lattice: Sized + Copy + PartialEq {
    /// The value whose γ is every word.
    fn top() -> Self;
    /// Sound order: `true` only if γ(self) ⊆ γ(other).
    fn leq(&self, other: &Self) -> bool;
    /// An upper bound: γ(self) ∪ γ(other) ⊆ γ(join).
    fn join(&self, other: &Self) -> Self;
    /// A sound intersection: γ(self) ∩ γ(other) ⊆ γ(meet); `None` only if it is empty.
    fn meet(&self, other: &Self) -> Option<Self>;
    /// An upper bound of both that makes ascending chains stabilise.
    fn widen(&self, newer: &Self) -> Self;
}

impl<W: Word> Lattice for Tnum<W> {
    fn top() -> Self {
        Tnum::unknown()
    }
    fn leq(&self, other: &Self) -> bool {
        Tnum::leq(self, other)
    }
    fn join(&self, other: &Self) -> Self {
        Tnum::join(self, other)
    }
    fn meet(&self, other: &Self) -> Option<Self> {
        Tnum::meet(self, other)
    }
    /// Tnum chains are at most `BITS + 1` long, so the join already stabilises.
    fn widen(&self, newer: &Self) -> Self {
        Tnum::join(self, newer)
    }
}

impl<W: Word> Lattice for Scalar<W> {
    fn top() -> Self {
        Scalar::unknown()
    }
    fn leq(&self, other: &Self) -> bool {
        Scalar::leq(self, other)
    }
    fn join(&self, other: &Self) -> Self {
        Scalar::join(self, other)
    }
    fn meet(&self, other: &Self) -> Option<Self> {
        Scalar::meet(self, other)
    }
    fn widen(&self, newer: &Self) -> Self {
        Scalar::widen(self, newer)
    }
}
