//! proptest strategies for every valid [`Insn`].

use ebpfvm_isa::{
    AluOp, AtomicOp, ByteOrder, Call, Imm64, Insn, JmpCond, Reg, Size, Source, Width,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Any register r0–r10.
pub fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).expect("in range"))
}

/// 32 or 64 bits.
pub fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

/// A register or any 32-bit immediate, with the edges weighted in.
pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![reg().prop_map(Source::Reg), imm32().prop_map(Source::Imm)]
}

/// Any i32, with 0, ±1 and the extremes more likely.
pub fn imm32() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => any::<i32>(),
        1 => select(vec![0, 1, -1, i32::MIN, i32::MAX, 0x7fff, -0x8000, 0xffff]),
    ]
}

/// Any i16, with the edges more likely.
pub fn off16() -> impl Strategy<Value = i16> {
    prop_oneof![
        3 => any::<i16>(),
        1 => select(vec![0, 1, -1, i16::MIN, i16::MAX]),
    ]
}

/// Any `ld_imm64` payload.
pub fn imm64() -> impl Strategy<Value = Imm64> {
    prop_oneof![
        prop_oneof![
            any::<u64>(),
            select(vec![
                0,
                1,
                u64::MAX,
                1 << 63,
                (1 << 63) - 1,
                0xffff_ffff,
                1 << 32
            ])
        ]
        .prop_map(Imm64::Value),
        imm32().prop_map(Imm64::MapFd),
        (imm32(), any::<u32>()).prop_map(|(fd, off)| Imm64::MapValue { fd, off }),
        (imm32(), imm32()).prop_map(|(id, module)| Imm64::BtfId { id, module }),
        imm32().prop_map(Imm64::Func),
        imm32().prop_map(Imm64::MapIdx),
        (imm32(), any::<u32>()).prop_map(|(idx, off)| Imm64::MapIdxValue { idx, off }),
    ]
}

fn size() -> impl Strategy<Value = Size> {
    select(Size::ALL)
}

fn small_size() -> impl Strategy<Value = Size> {
    select(vec![Size::B, Size::H, Size::W])
}

fn atomic() -> impl Strategy<Value = Insn> {
    let rmw = (
        select(vec![Size::W, Size::DW]),
        select(vec![
            AtomicOp::Add,
            AtomicOp::Or,
            AtomicOp::And,
            AtomicOp::Xor,
        ]),
        any::<bool>(),
    );
    let xchg = (
        select(vec![Size::W, Size::DW]),
        select(vec![AtomicOp::Xchg, AtomicOp::Cmpxchg]),
        Just(true),
    );
    let acq_rel = (
        size(),
        select(vec![AtomicOp::LoadAcquire, AtomicOp::StoreRelease]),
        Just(false),
    );
    (prop_oneof![rmw, xchg, acq_rel], reg(), reg(), off16()).prop_map(
        |((size, op, fetch), dst, src, off)| Insn::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        },
    )
}

/// Every valid instruction: exactly the set [`ebpfvm_isa::decode_all`] can produce.
pub fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        4 => (width(), select(AluOp::ALL), reg(), source())
            .prop_map(|(width, op, dst, src)| Insn::Alu { width, op, dst, src }),
        1 => (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        1 => prop_oneof![
            (reg(), reg(), select(vec![8u8, 16, 32])).prop_map(|(d, s, b)| (Width::W64, d, s, b)),
            (reg(), reg(), select(vec![8u8, 16])).prop_map(|(d, s, b)| (Width::W32, d, s, b)),
        ]
        .prop_map(|(width, dst, src, bits)| Insn::MovSx { width, dst, src, bits }),
        1 => (reg(), reg(), prop_oneof![Just(1), Just(1 << 16)]).prop_map(|(dst, src, imm)| Insn::AddrSpaceCast { dst, src, imm }),
        1 => (select(ByteOrder::ALL), select(vec![16u8, 32, 64]), reg())
            .prop_map(|(order, bits, dst)| Insn::Endian { order, bits, dst }),
        1 => off16().prop_map(|off| Insn::Ja { off: off.into(), long: false }),
        1 => imm32().prop_map(|off| Insn::Ja { off, long: true }),
        3 => (width(), select(JmpCond::ALL), reg(), source(), off16())
            .prop_map(|(width, cond, dst, src, off)| Insn::Jmp { width, cond, dst, src, off }),
        1 => off16().prop_map(|off| Insn::MayGoto { off }),
        1 => prop_oneof![
            imm32().prop_map(Call::Helper),
            imm32().prop_map(Call::Local),
            (imm32(), off16()).prop_map(|(btf_id, module)| Call::Kfunc { btf_id, module }),
        ]
        .prop_map(Insn::Call),
        1 => reg().prop_map(|dst| Insn::CallX { dst }),
        1 => Just(Insn::Exit),
        2 => (reg(), imm64()).prop_map(|(dst, imm)| Insn::LdImm64 { dst, imm }),
        1 => (small_size(), imm32()).prop_map(|(size, imm)| Insn::LdAbs { size, imm }),
        1 => (small_size(), reg(), imm32()).prop_map(|(size, src, imm)| Insn::LdInd { size, src, imm }),
        2 => prop_oneof![
            (size(), Just(false)),
            (small_size(), Just(true)),
        ]
        .prop_flat_map(|(size, signed)| (Just(size), Just(signed), reg(), reg(), off16()))
        .prop_map(|(size, signed, dst, src, off)| Insn::Load { size, signed, dst, src, off }),
        2 => (size(), reg(), off16(), source())
            .prop_map(|(size, dst, off, src)| Insn::Store { size, dst, off, src }),
        2 => atomic(),
    ]
}

/// A program of up to `max` instructions.
pub fn program(max: usize) -> impl Strategy<Value = Vec<Insn>> {
    proptest::collection::vec(insn(), 0..=max)
}
