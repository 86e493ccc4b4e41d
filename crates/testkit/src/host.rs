//! The helper host of the conformance suite (README §11).

use ebpfvm_abi::{HelperHost, Trap};

/// The only helper the conformance suite calls: id 5, which returns its first argument (the
/// uBPF plugin's `unwind`; Linux's `bpf_ktime_get_ns` also passes).
pub const CONFORMANCE_HELPER_ID: i64 = 5;

/// A host providing helper 5, which returns `r1`. Every other id is unknown.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConformanceHelpers;

impl HelperHost for ConformanceHelpers {
    fn has_helper(&self, id: i64) -> bool {
        id == CONFORMANCE_HELPER_ID
    }

    fn call_helper(&mut self, id: i64, args: [u64; 5]) -> Result<u64, Trap> {
        if id == CONFORMANCE_HELPER_ID {
            Ok(args[0])
        } else {
            Err(Trap::UnknownHelper { id })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_5_returns_r1() {
        let mut h = ConformanceHelpers;
        assert!(h.has_helper(5));
        assert!(!h.has_helper(1));
        assert_eq!(h.call_helper(5, [u64::MAX, 2, 3, 4, 5]), Ok(u64::MAX));
        assert_eq!(h.call_helper(6, [0; 5]), Err(Trap::UnknownHelper { id: 6 }));
    }
}
