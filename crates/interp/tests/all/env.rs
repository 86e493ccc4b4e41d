//! The engine environment helpers see: callbacks, tail calls, granted memory. Expected
//! values are worked out by hand from the programs.

use std::sync::Arc;

use ebpfvm_abi::{ExecEnv, HelperHost, ProgHandle, Trap};
use ebpfvm_interp::{Program, Vm};
use ebpfvm_isa::asm::llvm::assemble;

fn prog(text: &str) -> Program {
    Program::from_slots(&assemble(text).expect("assembles")).expect("loads")
}

/// Assembles `text` and turns the `ld_imm64` at `slot` into a `BPF_PSEUDO_FUNC` reference
/// to slot `target` (the assembler has no syntax for it).
fn prog_with_func(text: &str, slot: usize, target: usize) -> Program {
    let mut slots = assemble(text).expect("assembles");
    slots[slot].src = 4;
    slots[slot].imm = (target as i32) - (slot as i32) - 1;
    Program::from_slots(&slots).expect("loads")
}

/// Helper 1: calls the callback r1 with (r2, r3) and returns its result.
/// Helper 2: tail call to `target` (ignores its arguments); returns -2 on failure.
/// Helper 3: grants `buf` read/write and returns its address.
/// Helper 4: reads 8 bytes at r1 through the env and returns them.
struct Host {
    target: Option<ProgHandle>,
    buf: Box<[u8; 16]>,
}

impl HelperHost for Host {
    fn has_helper(&self, id: i64) -> bool {
        (1..=4).contains(&id)
    }

    fn call_helper(&mut self, id: i64, args: [u64; 5], env: &mut dyn ExecEnv) -> Result<u64, Trap> {
        match id {
            1 => env.call_function(self, args[0], [args[1], args[2], 0, 0, 0]),
            2 => match &self.target {
                Some(t) if env.tail_call(t) => Ok(0),
                _ => Ok(-2i64 as u64),
            },
            3 => {
                let addr = self.buf.as_mut_ptr() as u64;
                // SAFETY: the box lives in the host, which outlives the run, and nothing
                // else touches it during the run.
                #[allow(unsafe_code, reason = "test of the grant contract")]
                unsafe {
                    env.grant(addr, 16, true)
                };
                Ok(addr)
            }
            4 => {
                let mut b = [0u8; 8];
                env.read(args[0], &mut b)?;
                Ok(u64::from_le_bytes(b))
            }
            _ => Err(Trap::UnknownHelper { id }),
        }
    }
}

fn host() -> Host {
    Host {
        target: None,
        buf: Box::new([0; 16]),
    }
}

#[test]
fn callback_runs_with_its_own_frame_and_preserves_the_caller() {
    // The callback computes r1 * 10 + r2 using its own stack slot; the caller keeps r6 and
    // its stack slot across the helper call.
    let p = prog_with_func(
        "r6 = 7
         *(u64 *)(r10 - 8) = r6
         r1 = 0 ll
         r2 = 4
         r3 = 2
         call 1
         r1 = *(u64 *)(r10 - 8)
         r0 += r1
         r0 += r6
         exit
         *(u64 *)(r10 - 8) = r1
         r0 = *(u64 *)(r10 - 8)
         r0 *= 10
         r0 += r2
         exit",
        2,
        11,
    );
    let mut h = host();
    // 4 * 10 + 2 + 7 + 7
    assert_eq!(Vm::new().run(&p, &[], &[], &mut h), Ok(56));
}

#[test]
fn callback_must_be_a_function() {
    let p = prog("r1 = 1\ncall 1\nexit");
    let err = Vm::new().run(&p, &[], &[], &mut host()).unwrap_err();
    assert_eq!(err.trap, Trap::BadCallback { func: 1 });
    assert_eq!(err.pc, 1);
}

#[test]
fn a_fault_in_a_callback_names_the_callback_pc() {
    let p = prog_with_func(
        "r1 = 0 ll
         call 1
         exit
         r0 = *(u64 *)(r1 + 0)
         exit",
        0,
        4,
    );
    let err = Vm::new().run(&p, &[], &[], &mut host()).unwrap_err();
    assert_eq!(err.pc, 4);
    assert!(matches!(err.trap, Trap::MemoryViolation { addr: 0, .. }));
}

#[test]
fn tail_call_replaces_the_program_and_counts_33() {
    // The target adds 1 to a counter in r6... registers survive a tail call, so count in
    // r6: each execution of `looper` adds 1 and tail-calls itself until that fails.
    let looper = Arc::new(prog("r6 += 1\ncall 2\nr0 = r6\nexit"));
    let entry = prog("r6 = 100\ncall 2\nr0 = 1\nexit");
    let mut h = host();
    h.target = Some(looper.clone() as ProgHandle);
    // entry → looper (tail call 1), then 32 more successful self calls: 33 executions of
    // looper, the 34th attempt fails and looper returns r6.
    let mut vm = Vm::new();
    assert_eq!(vm.run(&entry, &[], &[], &mut h), Ok(133));
    // Running looper directly: 1 run + 33 tail calls = 34 executions.
    assert_eq!(vm.run(&looper, &[], &[], &mut h), Ok(34));
}

#[test]
fn tail_call_to_a_foreign_handle_fails() {
    let entry = prog("call 2\nexit");
    let mut h = host();
    h.target = Some(Arc::new(5u32) as ProgHandle);
    assert_eq!(Vm::new().run(&entry, &[], &[], &mut h), Ok(-2i64 as u64));
}

#[test]
fn tail_call_from_a_subprogram_returns_to_its_caller() {
    let target = Arc::new(prog("r0 = 40\nexit"));
    let entry = prog(
        "call sub
         r0 += 2
         exit
sub:
         call 2
         r0 = 1
         exit",
    );
    let mut h = host();
    h.target = Some(target as ProgHandle);
    assert_eq!(Vm::new().run(&entry, &[], &[], &mut h), Ok(42));
}

#[test]
fn granted_memory_is_accessible_and_env_reads_are_checked() {
    let p = prog(
        "call 3
         r1 = 0x1122334455667788 ll
         *(u64 *)(r0 + 8) = r1
         r6 = r0
         r1 = r0
         r1 += 8
         call 4
         exit",
    );
    let mut h = host();
    assert_eq!(Vm::new().run(&p, &[], &[], &mut h), Ok(0x1122334455667788));
    assert_eq!(h.buf[8], 0x88);
    // Reading ungranted memory through the env faults at the helper call.
    let p = prog("r1 = 4096\ncall 4\nexit");
    let err = Vm::new().run(&p, &[], &[], &mut host()).unwrap_err();
    assert_eq!(err.pc, 1);
    assert!(matches!(err.trap, Trap::MemoryViolation { addr: 4096, .. }));
}
