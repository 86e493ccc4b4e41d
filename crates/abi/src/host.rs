//! The helper-host trait.

use crate::Trap;

/// Calls helper functions on behalf of an execution engine.
///
/// The engines depend only on this trait; the helper implementations and the runtime that
/// wires them up live elsewhere.
pub trait HelperHost {
    /// Whether helper `id` exists. Loaders reject programs calling unknown helpers.
    fn has_helper(&self, id: i64) -> bool;

    /// Calls helper `id` with `r1`–`r5`; the returned value becomes `r0`.
    fn call_helper(&mut self, id: i64, args: [u64; 5]) -> Result<u64, Trap>;
}

/// A host with no helpers at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHelpers;

impl HelperHost for NoHelpers {
    fn has_helper(&self, _id: i64) -> bool {
        false
    }

    fn call_helper(&mut self, id: i64, _args: [u64; 5]) -> Result<u64, Trap> {
        Err(Trap::UnknownHelper { id })
    }
}
