use ebpfvm_abi::Trap;
use ebpfvm_interp::{LoadError, Program, Region, Vm};
use ebpfvm_isa::{AluOp, Insn, RawInsn, Reg, Size, Source};

use super::*;

#[test]
fn out_of_region_access_traps_with_pc_address_and_size() {
    let mut mem = [0u8; 8];
    let region = Region::writable(&mut mem);
    let a = region.addr();
    let p = [
        alu64(AluOp::Mov, Reg::R0, Source::Imm(0)),
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: Reg::R0,
            src: Reg::R1,
            off: 4,
        },
        Insn::Exit,
    ];
    let err = run_with(&p, &[a], &[region], &mut NoHelpers).unwrap_err();
    assert_eq!(err.pc, 1);
    assert_eq!(
        err.trap,
        Trap::MemoryViolation {
            addr: a + 4,
            size: 8,
            write: false
        }
    );
}

#[test]
fn read_only_regions_reject_stores() {
    let mem = [0u8; 8];
    let region = Region::read_only(&mem);
    let a = region.addr();
    let p = [
        Insn::Store {
            size: Size::B,
            dst: Reg::R1,
            off: 0,
            src: Source::Imm(1),
        },
        Insn::Exit,
    ];
    let err = run_with(&p, &[a], &[region], &mut NoHelpers).unwrap_err();
    assert_eq!(
        err.trap,
        Trap::MemoryViolation {
            addr: a,
            size: 1,
            write: true
        }
    );
    assert_eq!(mem, [0u8; 8]);
}

#[test]
fn stack_is_512_bytes_per_frame_below_r10() {
    let ok = [
        Insn::Store {
            size: Size::DW,
            dst: Reg::R10,
            off: -8,
            src: Source::Imm(3),
        },
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: Reg::R0,
            src: Reg::R10,
            off: -8,
        },
        Insn::Exit,
    ];
    assert_eq!(run(&ok, &[]).unwrap(), 3);
    let above = [
        Insn::Store {
            size: Size::B,
            dst: Reg::R10,
            off: 0,
            src: Source::Imm(3),
        },
        Insn::Exit,
    ];
    assert!(matches!(
        trap_of(run(&above, &[])),
        Trap::MemoryViolation { write: true, .. }
    ));
}

#[test]
fn falling_off_the_end_traps() {
    let p = [alu64(AluOp::Mov, Reg::R0, Source::Imm(0))];
    assert_eq!(trap_of(run(&p, &[])), Trap::OutOfProgram);
}

#[test]
fn bad_jump_targets_are_rejected_at_load() {
    let slots = ebpfvm_isa::encode_all(&[
        Insn::Ja {
            off: 5,
            long: false,
        },
        Insn::Exit,
    ]);
    assert!(matches!(
        Program::from_slots(&slots),
        Err(LoadError::BadJumpTarget { pc: 0, target: 6 })
    ));
    // Into the second slot of ld_imm64.
    let slots = ebpfvm_isa::encode_all(&[
        Insn::Ja {
            off: 1,
            long: false,
        },
        ld64(Reg::R0, 1),
        Insn::Exit,
    ]);
    assert!(matches!(
        Program::from_slots(&slots),
        Err(LoadError::BadJumpTarget { .. })
    ));
    assert!(matches!(Program::from_slots(&[]), Err(LoadError::Empty)));
    assert!(matches!(
        Program::from_bytes(&[0x95, 0, 0, 0]),
        Err(LoadError::Decode(_))
    ));
}

/// Random instruction streams never touch memory outside the region they were given: the
/// guard bytes around the region stay intact, and every run ends (budget) without panicking.
#[test]
fn random_programs_never_write_outside_their_region() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        ..Config::default()
    });
    let words = proptest::collection::vec(any::<u64>(), 1..24);
    runner
        .run(&(words, any::<u64>()), |(words, r2)| {
            // Bias toward memory instructions based on r1 with small offsets.
            let slots: Vec<RawInsn> = words
                .iter()
                .map(|w| {
                    let mut r = RawInsn::from_word(*w);
                    if r.opcode % 3 == 0 {
                        r.opcode = [
                            0x61, 0x69, 0x71, 0x79, 0x62, 0x63, 0x7b, 0xdb, 0xc3, 0x07, 0x05,
                        ][(r.imm as u32 % 11) as usize];
                        r.src = 1;
                        r.dst = if r.opcode & 7 == 1 { 0 } else { 1 };
                        r.off %= 80;
                        if matches!(r.opcode, 0x61 | 0x69 | 0x71 | 0x79 | 0x63 | 0x7b) {
                            r.imm = 0;
                        }
                    }
                    r
                })
                .collect();
            let Ok(prog) = Program::from_slots(&slots) else {
                return Ok(());
            };
            let mut buf = [0xa5u8; 192];
            let (lo, rest) = buf.split_at_mut(64);
            let (mid, hi) = rest.split_at_mut(64);
            let region = Region::writable(mid);
            let addr = region.addr();
            let mut vm = Vm::new();
            vm.set_budget(10_000);
            let _ = vm.run(&prog, &[addr, r2], &[region], &mut NoHelpers);
            prop_assert!(lo.iter().all(|b| *b == 0xa5));
            prop_assert!(hi.iter().all(|b| *b == 0xa5));
            Ok(())
        })
        .unwrap();
}

/// An unverified program may overwrite r10; a local call then moves it below zero, which
/// must wrap (the callee's stack accesses then trap) rather than overflow.
#[test]
fn local_call_with_a_clobbered_frame_pointer_does_not_overflow() {
    let p = [
        alu64(AluOp::Mov, Reg::R10, Source::Imm(0)),
        Insn::Call(ebpfvm_isa::Call::Local(1)),
        Insn::Exit,
        Insn::Store {
            size: Size::DW,
            dst: Reg::R10,
            off: -8,
            src: Source::Imm(1),
        },
        Insn::Exit,
    ];
    let err = run(&p, &[]).unwrap_err();
    assert_eq!(err.pc, 3);
    assert!(matches!(
        err.trap,
        Trap::MemoryViolation { write: true, .. }
    ));
}
