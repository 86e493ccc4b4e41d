use ebpfvm_abi::{ExecEnv, HelperHost, Trap};
use ebpfvm_interp::Region;
use ebpfvm_isa::{AluOp, AtomicOp, ByteOrder, Call, Insn, JmpCond, Reg, Size, Source, Width};

use super::*;

const R0: Reg = Reg::R0;
const R1: Reg = Reg::R1;
const R2: Reg = Reg::R2;

fn imm(i: i32) -> Source {
    Source::Imm(i)
}
fn reg(r: Reg) -> Source {
    Source::Reg(r)
}

#[test]
fn division_by_zero_gives_zero_and_modulo_keeps_dst() {
    // 64-bit: r0 = 7 / 0 = 0.
    let p = [
        alu64(AluOp::Mov, R0, imm(7)),
        alu64(AluOp::Div, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0]).unwrap(), 0);
    // 64-bit modulo by zero keeps all 64 bits of dst.
    let p = [
        ld64(R0, 0x1_0000_0007),
        alu64(AluOp::Mod, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0]).unwrap(), 0x1_0000_0007);
    // 32-bit modulo by zero keeps the low half and zeroes the upper half.
    let p = [
        ld64(R0, 0x1_0000_0007),
        alu32(AluOp::Mod, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0]).unwrap(), 7);
    // 32-bit division by zero clears the whole register.
    let p = [
        ld64(R0, 0x1_0000_0007),
        alu32(AluOp::Div, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0]).unwrap(), 0);
    // The divisor is tested on its low 32 bits for 32-bit ops: 0x1_0000_0000 is zero.
    let p = [
        alu64(AluOp::Mov, R0, imm(9)),
        alu32(AluOp::Sdiv, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0x1_0000_0000]).unwrap(), 0);
}

#[test]
fn signed_division_wraps_at_int_min() {
    let p = [
        ld64(R0, i64::MIN as u64),
        alu64(AluOp::Sdiv, R0, imm(-1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), i64::MIN as u64);
    let p = [
        ld64(R0, i64::MIN as u64),
        alu64(AluOp::Smod, R0, imm(-1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 0);
    let p = [
        alu32(AluOp::Mov, R0, imm(i32::MIN)),
        alu32(AluOp::Sdiv, R0, imm(-1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 0x8000_0000);
    // Truncated signed modulo: -13 % 3 = -1, 13 % -3 = 1.
    let p = [
        alu64(AluOp::Mov, R0, imm(-13)),
        alu64(AluOp::Smod, R0, imm(3)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), -1i64 as u64);
    let p = [
        alu32(AluOp::Mov, R0, imm(13)),
        alu32(AluOp::Smod, R0, imm(-3)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 1);
}

#[test]
fn unsigned_div64_sign_extends_the_immediate() {
    // 0xffff_ffff_ffff_ffff / (u64)(s64)-10 = 1.
    let p = [
        alu64(AluOp::Mov, R0, imm(-1)),
        alu64(AluOp::Div, R0, imm(-10)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 1);
    // 32-bit: 0xffff_ffff / 0xffff_fff6 = 1 as well, but on u32 operands.
    let p = [
        alu32(AluOp::Mov, R0, imm(-1)),
        alu32(AluOp::Div, R0, imm(-10)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 1);
}

#[test]
fn shifts_are_masked() {
    // lsh32 by 60 shifts by 28; arsh32 by -16 shifts by 16.
    let p = [
        alu32(AluOp::Mov, R0, imm(1)),
        alu32(AluOp::Lsh, R0, imm(60)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 1 << 28);
    let p = [
        alu32(AluOp::Mov, R0, imm(0x8000_0000u32 as i32)),
        alu32(AluOp::Arsh, R0, imm(-16)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 0xffff_8000);
    let p = [
        alu64(AluOp::Mov, R0, imm(1)),
        alu64(AluOp::Lsh, R0, reg(R1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[65]).unwrap(), 2);
}

#[test]
fn alu32_zero_extends_and_mov64_sign_extends() {
    let p = [alu64(AluOp::Mov, R0, imm(-10)), Insn::Exit];
    assert_eq!(run(&p, &[]).unwrap(), 0xffff_ffff_ffff_fff6);
    let p = [
        ld64(R0, u64::MAX),
        alu32(AluOp::Add, R0, imm(1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 0);
    let p = [
        ld64(R0, u64::MAX),
        Insn::Neg {
            width: Width::W32,
            dst: R0,
        },
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 1);
}

#[test]
fn movsx_and_byte_swaps() {
    let p = [
        Insn::MovSx {
            width: Width::W64,
            dst: R0,
            src: R1,
            bits: 8,
        },
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0x1_80]).unwrap(), 0xffff_ffff_ffff_ff80);
    let p = [
        Insn::MovSx {
            width: Width::W32,
            dst: R0,
            src: R1,
            bits: 16,
        },
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0x8000]).unwrap(), 0xffff_8000);
    let p = [
        Insn::MovSx {
            width: Width::W64,
            dst: R0,
            src: R1,
            bits: 32,
        },
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0x8000_0000]).unwrap(), 0xffff_ffff_8000_0000);
    let swap = |order, bits| {
        [
            alu64(AluOp::Mov, R0, reg(R1)),
            Insn::Endian {
                order,
                bits,
                dst: R0,
            },
            Insn::Exit,
        ]
    };
    let x = 0x0102_0304_0506_0708;
    assert_eq!(run(&swap(ByteOrder::ToBe, 16), &[x]).unwrap(), 0x0807);
    assert_eq!(run(&swap(ByteOrder::ToBe, 32), &[x]).unwrap(), 0x0807_0605);
    assert_eq!(
        run(&swap(ByteOrder::Swap, 64), &[x]).unwrap(),
        0x0807_0605_0403_0201
    );
    assert_eq!(run(&swap(ByteOrder::ToLe, 16), &[x]).unwrap(), 0x0708);
    assert_eq!(run(&swap(ByteOrder::ToLe, 32), &[x]).unwrap(), 0x0506_0708);
    assert_eq!(run(&swap(ByteOrder::ToLe, 64), &[x]).unwrap(), x);
}

#[test]
fn jumps_compare_signed_and_32_bit_operands() {
    // if r1 s< 0 goto +1; r0 = 1; exit  (r0 starts at 0 since r0 is not an argument)
    let signed = [
        jmp(JmpCond::Slt, R1, imm(0), 1),
        alu64(AluOp::Mov, R0, imm(1)),
        Insn::Exit,
    ];
    assert_eq!(run(&signed, &[u64::MAX]).unwrap(), 0);
    assert_eq!(run(&signed, &[5]).unwrap(), 1);
    // JMP32 looks at the low half only: 0x1_0000_0000 == 0.
    let p = [
        Insn::Jmp {
            width: Width::W32,
            cond: JmpCond::Eq,
            dst: R1,
            src: imm(0),
            off: 1,
        },
        alu64(AluOp::Mov, R0, imm(1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0x1_0000_0000]).unwrap(), 0);
    // 64-bit compare sign-extends imm: 0xffff_ffff_8000_0000 == (s64)0x8000_0000.
    let p = [
        jmp(JmpCond::Eq, R1, imm(i32::MIN), 1),
        alu64(AluOp::Mov, R0, imm(1)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[0xffff_ffff_8000_0000]).unwrap(), 0);
}

#[test]
fn local_calls_preserve_callee_saved_registers_and_get_a_fresh_frame() {
    let r6 = Reg::R6;
    let p = [
        alu64(AluOp::Mov, r6, imm(11)),
        Insn::Store {
            size: Size::DW,
            dst: Reg::R10,
            off: -8,
            src: imm(5),
        },
        Insn::Call(Call::Local(4)), // -> pc 7
        alu64(AluOp::Add, R0, reg(r6)),
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: R1,
            src: Reg::R10,
            off: -8,
        },
        alu64(AluOp::Add, R0, reg(R1)),
        Insn::Exit,
        // callee: clobbers r6 and its own stack slot, returns 100
        alu64(AluOp::Mov, r6, imm(0)),
        Insn::Store {
            size: Size::DW,
            dst: Reg::R10,
            off: -8,
            src: imm(77),
        },
        alu64(AluOp::Mov, R0, imm(100)),
        Insn::Exit,
    ];
    assert_eq!(run(&p, &[]).unwrap(), 100 + 11 + 5);
}

#[test]
fn unbounded_recursion_stops_at_the_frame_limit() {
    let p = [Insn::Call(Call::Local(-1)), Insn::Exit];
    assert_eq!(trap_of(run(&p, &[])), Trap::CallDepthExceeded { max: 8 });
}

#[test]
fn infinite_loop_exhausts_the_budget() {
    let p = [
        Insn::Ja {
            off: -1,
            long: false,
        },
        Insn::Exit,
    ];
    let prog = ebpfvm_interp::Program::from_slots(&ebpfvm_isa::encode_all(&p)).unwrap();
    let mut vm = ebpfvm_interp::Vm::new();
    vm.set_budget(1000);
    let err = vm
        .run(&prog, &[], &[], &mut ebpfvm_abi::NoHelpers)
        .unwrap_err();
    assert_eq!(err.trap, Trap::BudgetExhausted { budget: 1000 });
    // The budget is checked at taken jumps, so the run stops on the first one past it.
    assert_eq!(vm.executed(), 1001);
}

#[test]
fn executed_counts_every_instruction() {
    // 3 loop iterations of 2 insns + mov + exit = 8.
    let p = [
        alu64(AluOp::Mov, R0, imm(3)),
        alu64(AluOp::Sub, R0, imm(1)),
        jmp(JmpCond::Ne, R0, imm(0), -2),
        Insn::Exit,
    ];
    let prog = ebpfvm_interp::Program::from_slots(&ebpfvm_isa::encode_all(&p)).unwrap();
    let mut vm = ebpfvm_interp::Vm::new();
    assert_eq!(
        vm.run(&prog, &[], &[], &mut ebpfvm_abi::NoHelpers).unwrap(),
        0
    );
    assert_eq!(vm.executed(), 8);
}

struct Adder {
    calls: Vec<[u64; 5]>,
}

impl HelperHost for Adder {
    fn has_helper(&self, id: i64) -> bool {
        id == 7
    }
    fn call_helper(
        &mut self,
        id: i64,
        args: [u64; 5],
        _env: &mut dyn ExecEnv,
    ) -> Result<u64, Trap> {
        if id != 7 {
            return Err(Trap::UnknownHelper { id });
        }
        self.calls.push(args);
        Ok(args.iter().sum())
    }
}

#[test]
fn helpers_get_r1_to_r5_and_return_in_r0() {
    let p = [
        alu64(AluOp::Mov, R2, imm(2)),
        alu64(AluOp::Mov, Reg::R3, imm(3)),
        alu64(AluOp::Mov, Reg::R4, imm(4)),
        alu64(AluOp::Mov, Reg::R5, imm(5)),
        Insn::Call(Call::Helper(7)),
        Insn::Exit,
    ];
    let mut host = Adder { calls: vec![] };
    assert_eq!(run_with(&p, &[1], &[], &mut host).unwrap(), 15);
    assert_eq!(host.calls, vec![[1, 2, 3, 4, 5]]);
    // callx: the helper id comes from the register named in dst.
    let p = [
        alu64(AluOp::Mov, R2, imm(7)),
        Insn::CallX { dst: R2 },
        Insn::Exit,
    ];
    assert_eq!(run_with(&p, &[10], &[], &mut host).unwrap(), 10 + 7);
    // An unknown helper traps at the call's pc.
    let p = [
        alu64(AluOp::Mov, R0, imm(0)),
        Insn::Call(Call::Helper(99)),
        Insn::Exit,
    ];
    let err = run_with(&p, &[], &[], &mut host).unwrap_err();
    assert_eq!((err.pc, err.trap), (1, Trap::UnknownHelper { id: 99 }));
}

#[test]
fn atomics_fetch_and_compare_exchange() {
    let mut mem = 0x0000_0001_0000_0005u64.to_le_bytes();
    let region = Region::writable(&mut mem);
    let a = region.addr();
    let p = [
        // r2 = 3; r2 = atomic_fetch_add((u32 *)(r1 + 0), r2) -> old 5, cell 8
        alu64(AluOp::Mov, R2, imm(3)),
        Insn::Atomic {
            size: Size::W,
            op: AtomicOp::Add,
            fetch: true,
            dst: R1,
            src: R2,
            off: 0,
        },
        // r0 = 0xffff_ffff_0000_0008: cmpxchg32 compares the low half only -> succeeds
        ld64(R0, 0xffff_ffff_0000_0008),
        alu64(AluOp::Mov, Reg::R3, imm(42)),
        Insn::Atomic {
            size: Size::W,
            op: AtomicOp::Cmpxchg,
            fetch: true,
            dst: R1,
            src: Reg::R3,
            off: 0,
        },
        // r0 = old (8, zero-extended) + r2 (5)
        alu64(AluOp::Add, R0, reg(R2)),
        Insn::Exit,
    ];
    assert_eq!(
        run_with(&p, &[a], &[region], &mut ebpfvm_abi::NoHelpers).unwrap(),
        13
    );
    // The low word is now 42; the high word (1) was never touched by the 32-bit atomics.
    assert_eq!(u64::from_le_bytes(mem), 0x0000_0001_0000_002a);
}

#[test]
fn sign_extending_loads() {
    let mut mem = [0x80u8, 0xff, 0x7f, 0x80, 0, 0, 0, 0];
    let region = Region::writable(&mut mem);
    let a = region.addr();
    let p = [
        Insn::Load {
            size: Size::B,
            signed: true,
            dst: R0,
            src: R1,
            off: 0,
        },
        Insn::Load {
            size: Size::H,
            signed: true,
            dst: R2,
            src: R1,
            off: 2,
        },
        alu64(AluOp::Add, R0, reg(R2)),
        Insn::Exit,
    ];
    // (s8)0x80 = -128; (s16)0x807f = -32641; sum = -32769.
    assert_eq!(
        run_with(&p, &[a], &[region], &mut ebpfvm_abi::NoHelpers).unwrap(),
        (-32769i64) as u64
    );
}

#[test]
fn legacy_packet_loads_are_big_endian_and_end_the_program_when_out_of_bounds() {
    let pkt = [0x12u8, 0x34, 0x56, 0x78];
    let region = Region::read_only(&pkt);
    let a = region.addr();
    let p = [
        Insn::LdAbs {
            size: Size::H,
            imm: 1,
        },
        Insn::Exit,
    ];
    let prog = ebpfvm_interp::Program::from_slots(&ebpfvm_isa::encode_all(&p)).unwrap();
    let mut vm = ebpfvm_interp::Vm::new();
    vm.set_packet(Some((a, 4)));
    let regions = [region];
    assert_eq!(
        vm.run(&prog, &[], &regions, &mut ebpfvm_abi::NoHelpers)
            .unwrap(),
        0x3456
    );
    let p = [
        alu64(AluOp::Mov, R0, imm(9)),
        Insn::LdAbs {
            size: Size::W,
            imm: 1,
        },
        Insn::Exit,
    ];
    let prog = ebpfvm_interp::Program::from_slots(&ebpfvm_isa::encode_all(&p)).unwrap();
    assert_eq!(
        vm.run(&prog, &[], &regions, &mut ebpfvm_abi::NoHelpers)
            .unwrap(),
        0
    );
}
