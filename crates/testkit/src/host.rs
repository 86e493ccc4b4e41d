//! The helper host of the conformance suite (README §11).

use ebpfvm_abi::{ExecEnv, HelperHost, Trap};

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

    fn call_helper(
        &mut self,
        id: i64,
        args: [u64; 5],
        _env: &mut dyn ExecEnv,
    ) -> Result<u64, Trap> {
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
        // r1 = -1; call 5; exit  /  call 6; exit
        let ok = ebpfvm_isa::asm::llvm::assemble("r1 = -1\ncall 5\nexit").unwrap();
        let bad = ebpfvm_isa::asm::llvm::assemble("call 6\nexit").unwrap();
        let mut vm = ebpfvm_interp::Vm::new();
        let run = |vm: &mut ebpfvm_interp::Vm,
                   slots: &[ebpfvm_isa::RawInsn],
                   h: &mut ConformanceHelpers| {
            let prog = ebpfvm_interp::Program::from_slots(slots).unwrap();
            vm.run(&prog, &[], &[], h).map_err(|e| e.trap)
        };
        assert_eq!(run(&mut vm, &ok, &mut h), Ok(u64::MAX));
        assert_eq!(
            run(&mut vm, &bad, &mut h),
            Err(Trap::UnknownHelper { id: 6 })
        );
    }
}
