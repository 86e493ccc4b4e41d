//! `Insn::validate` accepts exactly the instructions `decode` can produce.
//!
//! The property is `validate(i).is_ok() ⇔ decode(encode(i)) == Ok(i)` for any `Insn` built
//! from arbitrary field values. In release builds it is checked literally. In debug builds
//! `encode` panics on an invalid instruction (its `debug_assert!`), so there the `⇐` half is
//! checked through its equivalent "everything `decode` produces validates", over every
//! opcode byte crossed with the field values that matter.

use std::collections::{BTreeSet, HashSet};

use ebpfvm_isa::decode::decode_raw;
use ebpfvm_isa::insn::InvalidInsn;
use ebpfvm_isa::{decode_all, encode_all, AtomicOp, ByteOrder, Insn, RawInsn, Reg, Size, Width};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::strategy::{imm32, insn, off16, reg, width};

/// `bits` of `MovSx` / `Endian`: the defined values, their neighbours, and anything.
fn bits() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => select(vec![8u8, 16, 32, 64]),
        1 => select(vec![0u8, 1, 7, 9, 15, 17, 24, 31, 33, 63, 65, 128, 255]),
        1 => any::<u8>(),
    ]
}

/// A short-`goto` offset: inside i16, at its edges, just outside, and anything.
fn ja_off() -> impl Strategy<Value = i32> {
    let edges = vec![
        0,
        i32::from(i16::MIN),
        i32::from(i16::MAX),
        i32::from(i16::MIN) - 1,
        i32::from(i16::MAX) + 1,
        i32::MIN,
        i32::MAX,
    ];
    prop_oneof![
        2 => off16().prop_map(i32::from),
        1 => select(edges),
        1 => any::<i32>(),
    ]
}

/// Every `Insn`, each field drawn from its whole type, valid or not.
fn arbitrary_insn() -> impl Strategy<Value = Insn> {
    let size = || select(Size::ALL);
    prop_oneof![
        // The variants whose every field value is valid.
        2 => insn(),
        1 => (width(), reg(), reg(), bits())
            .prop_map(|(width, dst, src, bits)| Insn::MovSx { width, dst, src, bits }),
        1 => (reg(), reg(), prop_oneof![select(vec![1, 1 << 16, 0, 0x10001, 2, 2 << 16]), any::<i32>()])
            .prop_map(|(dst, src, imm)| Insn::AddrSpaceCast { dst, src, imm }),
        1 => (select(ByteOrder::ALL), bits(), reg())
            .prop_map(|(order, bits, dst)| Insn::Endian { order, bits, dst }),
        1 => (ja_off(), any::<bool>()).prop_map(|(off, long)| Insn::Ja { off, long }),
        1 => (size(), imm32()).prop_map(|(size, imm)| Insn::LdAbs { size, imm }),
        1 => (size(), reg(), imm32()).prop_map(|(size, src, imm)| Insn::LdInd { size, src, imm }),
        1 => (size(), any::<bool>(), reg(), reg(), off16())
            .prop_map(|(size, signed, dst, src, off)| Insn::Load { size, signed, dst, src, off }),
        2 => (size(), select(AtomicOp::ALL), any::<bool>(), reg(), reg(), off16()).prop_map(
            |(size, op, fetch, dst, src, off)| Insn::Atomic { size, op, fetch, dst, src, off }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8000))]

    #[test]
    fn validate_iff_decode_encode_roundtrips(i in arbitrary_insn()) {
        let verdict = i.validate();
        prop_assert_eq!(i.try_encode().map(|_| ()), verdict);
        match verdict {
            Ok(()) => {
                prop_assert_eq!(i.try_encode(), Ok(i.encode()));
                let slots = encode_all([&i]);
                prop_assert_eq!(slots.len(), i.slots());
                let decoded = decode_all(&slots);
                prop_assert_eq!(decoded, Ok(vec![(0, i)]), "{:?} validates", i);
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.is_empty() && !msg.contains('\n'), "{:?}", msg);
                #[cfg(not(debug_assertions))]
                {
                    let slots = encode_all([&i]);
                    prop_assert_ne!(decode_all(&slots), Ok(vec![(0, i)]), "{:?} is rejected: {}", i, e);
                }
            }
        }
    }
}

/// The index of `i`'s variant; exhaustive, so a new variant must be counted here.
fn variant(i: &Insn) -> usize {
    match i {
        Insn::Alu { .. } => 0,
        Insn::Neg { .. } => 1,
        Insn::MovSx { .. } => 2,
        Insn::AddrSpaceCast { .. } => 3,
        Insn::Endian { .. } => 4,
        Insn::Ja { .. } => 5,
        Insn::Jmp { .. } => 6,
        Insn::MayGoto { .. } => 7,
        Insn::Call(_) => 8,
        Insn::CallX { .. } => 9,
        Insn::Exit => 10,
        Insn::LdImm64 { .. } => 11,
        Insn::LdAbs { .. } => 12,
        Insn::LdInd { .. } => 13,
        Insn::Load { .. } => 14,
        Insn::Store { .. } => 15,
        Insn::Atomic { .. } => 16,
    }
}
const VARIANTS: usize = 17;

/// Everything `decode` produces validates and re-encodes to the same slots: every opcode byte
/// × every `src` nibble × the `dst`, `offset` and `imm` values that select or bound an
/// instruction (MOVSX and byte-swap widths, SDIV, atomic operations with and without FETCH,
/// the extremes).
#[test]
fn every_decoded_insn_validates() {
    const OFFS: [i16; 10] = [0, 1, -1, 7, 8, 16, 32, 64, i16::MIN, i16::MAX];
    const IMMS: [i32; 25] = [
        0,
        1,
        -1,
        8,
        16,
        32,
        64,
        0x40,
        0x41,
        0x50,
        0x51,
        0xa0,
        0xa1,
        0xe0,
        0xe1,
        0xf0,
        0xf1,
        0x100,
        0x101,
        0x110,
        0x111,
        0x02,
        0x10000,
        i32::MIN,
        i32::MAX,
    ];
    let mut seen = BTreeSet::new();
    let mut decoded = 0usize;
    for opcode in 0..=u8::MAX {
        for src in 0..16 {
            for dst in [0, 3] {
                for off in OFFS {
                    for imm in IMMS {
                        let raw = RawInsn::new(opcode, dst, src, off, imm);
                        let next = RawInsn::new(0, 0, 0, 0, imm.wrapping_add(1));
                        let Ok(i) = decode_raw(raw, Some(next)) else {
                            continue;
                        };
                        decoded += 1;
                        seen.insert(variant(&i));
                        let enc = i
                            .try_encode()
                            .unwrap_or_else(|e| panic!("{raw:?} decodes to {i:?}, but {e}"));
                        assert_eq!(enc.first, raw, "{i:?}");
                        if i.slots() == 2 {
                            assert_eq!(enc.second, Some(next), "{i:?}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(seen.len(), VARIANTS, "variants reached: {seen:?}");
    assert!(decoded > 20_000, "only {decoded} slots decoded");
}

/// The strategy above draws valid and invalid instructions in useful proportions.
#[test]
fn arbitrary_insn_reaches_both_verdicts() {
    let mut runner = TestRunner::deterministic();
    let strategy = arbitrary_insn();
    let n = 4000;
    let mut invalid = HashSet::new();
    let mut invalid_count = 0;
    for _ in 0..n {
        let i = strategy
            .new_tree(&mut runner)
            .expect("strategy generates")
            .current();
        if let Err(e) = i.validate() {
            invalid_count += 1;
            invalid.insert(core::mem::discriminant(&e));
        }
    }
    assert!(
        (n / 5..=n * 4 / 5).contains(&invalid_count),
        "{invalid_count} of {n} invalid"
    );
    // Every kind of InvalidInsn is drawn.
    assert_eq!(invalid.len(), 8, "{invalid:?}");
}

#[test]
fn invalid_examples() {
    let (r1, r2) = (Reg::R1, Reg::R2);
    let atomic = |size, op, fetch| Insn::Atomic {
        size,
        op,
        fetch,
        dst: r1,
        src: r2,
        off: 0,
    };
    let cases: Vec<(Insn, InvalidInsn, &str)> = vec![
        (
            Insn::Ja {
                off: 40000,
                long: false,
            },
            InvalidInsn::JaOffset { off: 40000 },
            "goto offset 40000 does not fit in 16 bits (gotol takes 32)",
        ),
        (
            Insn::Ja {
                off: -32769,
                long: false,
            },
            InvalidInsn::JaOffset { off: -32769 },
            "goto offset -32769 does not fit in 16 bits (gotol takes 32)",
        ),
        (
            Insn::MovSx {
                width: Width::W32,
                dst: r1,
                src: r2,
                bits: 32,
            },
            InvalidInsn::MovSxBits {
                width: Width::W32,
                bits: 32,
            },
            "sign-extending move from 32 bits is not defined for the 32-bit ALU",
        ),
        (
            Insn::MovSx {
                width: Width::W64,
                dst: r1,
                src: r2,
                bits: 64,
            },
            InvalidInsn::MovSxBits {
                width: Width::W64,
                bits: 64,
            },
            "sign-extending move from 64 bits is not defined for the 64-bit ALU",
        ),
        (
            Insn::AddrSpaceCast {
                dst: r1,
                src: r2,
                imm: 0x10001,
            },
            InvalidInsn::AddrSpaceCastImm { imm: 0x10001 },
            "addr_space_cast imm 0x10001 is not defined (0x1 or 0x10000: between address spaces 0 and 1)",
        ),
        (
            Insn::Endian {
                order: ByteOrder::ToBe,
                bits: 8,
                dst: r1,
            },
            InvalidInsn::EndianBits { bits: 8 },
            "byte swap of 8 bits is not defined (16, 32 or 64)",
        ),
        (
            Insn::LdAbs {
                size: Size::DW,
                imm: 0,
            },
            InvalidInsn::PacketLoadSize { size: Size::DW },
            "legacy packet load of 64 bits is not defined (8, 16 or 32)",
        ),
        (
            Insn::LdInd {
                size: Size::DW,
                src: r1,
                imm: 0,
            },
            InvalidInsn::PacketLoadSize { size: Size::DW },
            "legacy packet load of 64 bits is not defined (8, 16 or 32)",
        ),
        (
            Insn::Load {
                size: Size::DW,
                signed: true,
                dst: r1,
                src: r2,
                off: 0,
            },
            InvalidInsn::SignedLoadSize,
            "sign-extending load of 64 bits is not defined (8, 16 or 32)",
        ),
        (
            atomic(Size::B, AtomicOp::Add, false),
            InvalidInsn::AtomicSize {
                op: AtomicOp::Add,
                size: Size::B,
            },
            "atomic add of 8 bits is not defined (32 or 64)",
        ),
        (
            atomic(Size::H, AtomicOp::Cmpxchg, true),
            InvalidInsn::AtomicSize {
                op: AtomicOp::Cmpxchg,
                size: Size::H,
            },
            "atomic cmpxchg of 16 bits is not defined (32 or 64)",
        ),
        (
            atomic(Size::DW, AtomicOp::Xchg, false),
            InvalidInsn::AtomicFetch {
                op: AtomicOp::Xchg,
                fetch: false,
            },
            "atomic xchg without fetch is not defined",
        ),
        (
            atomic(Size::W, AtomicOp::LoadAcquire, true),
            InvalidInsn::AtomicFetch {
                op: AtomicOp::LoadAcquire,
                fetch: true,
            },
            "atomic load_acquire with fetch is not defined",
        ),
    ];
    for (i, err, msg) in cases {
        assert_eq!(i.validate(), Err(err), "{i:?}");
        assert_eq!(i.try_encode(), Err(err), "{i:?}");
        assert_eq!(err.to_string(), msg);
    }
}

#[test]
fn valid_edges() {
    let (r1, r2) = (Reg::R1, Reg::R2);
    let valid = [
        Insn::Ja {
            off: i32::from(i16::MAX),
            long: false,
        },
        Insn::Ja {
            off: i32::from(i16::MIN),
            long: false,
        },
        Insn::Ja {
            off: 40000,
            long: true,
        },
        Insn::MovSx {
            width: Width::W64,
            dst: r1,
            src: r2,
            bits: 32,
        },
        Insn::MovSx {
            width: Width::W32,
            dst: r1,
            src: r2,
            bits: 16,
        },
        Insn::Endian {
            order: ByteOrder::Swap,
            bits: 64,
            dst: r1,
        },
        Insn::LdAbs {
            size: Size::W,
            imm: 0,
        },
        Insn::AddrSpaceCast {
            dst: r1,
            src: r2,
            imm: 1 << 16,
        },
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: r1,
            src: r2,
            off: 0,
        },
        Insn::Atomic {
            size: Size::B,
            op: AtomicOp::LoadAcquire,
            fetch: false,
            dst: r1,
            src: r2,
            off: 0,
        },
        Insn::Atomic {
            size: Size::W,
            op: AtomicOp::Or,
            fetch: true,
            dst: r1,
            src: r2,
            off: 0,
        },
    ];
    for i in valid {
        assert_eq!(i.validate(), Ok(()), "{i:?}");
        let slots = encode_all([&i]);
        assert_eq!(decode_all(&slots), Ok(vec![(0, i)]));
    }
}

/// `encode` checks validity in debug builds.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "Insn::encode on an invalid instruction")]
fn encode_asserts_validity_in_debug() {
    let _ = Insn::Ja {
        off: 1 << 20,
        long: false,
    }
    .encode();
}
