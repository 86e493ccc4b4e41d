//! The disassembler against what llvm-objdump-19 printed for the same bytes.

use ebpfvm_isa::asm::llvm::parse;
use ebpfvm_isa::disasm::{
    disasm_insn, disassemble, disassemble_with, jump_target, Labels, SymbolLabels,
};
use ebpfvm_isa::{decode_all, slots_from_bytes, Call, DecodeErrorKind, Imm64, Insn};

use crate::llvm19_table::OBSERVED;

fn bytes(hex: &str) -> Vec<u8> {
    hex.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// Where our text deliberately differs from llvm 19's (see the `disasm` module docs): llvm
/// prints these lossily or ambiguously, or (without `+alu32`) wrongly.
fn deliberate_difference(insn: &Insn) -> bool {
    use ebpfvm_isa::{AtomicOp, Size};
    match *insn {
        Insn::LdImm64 { imm, .. } => imm.words().1 != 0 && !matches!(imm, Imm64::Value(_)),
        Insn::LdInd { imm, .. } => imm != 0,
        Insn::Call(Call::Helper(id)) => id < 0,
        Insn::Call(Call::Local(off)) => off >= 0,
        Insn::Call(Call::Kfunc { .. }) => true,
        Insn::Atomic { op, .. } if op.is_acquire_release() => true,
        Insn::Atomic {
            size: Size::W,
            op: AtomicOp::Add,
            fetch,
            ..
        } => fetch,
        _ => false,
    }
}

/// Encodings llvm 19 prints but our strict decoder rejects, as the kernel does: NEG with a
/// non-zero imm, and `ld_imm64` kinds 1/4/5 with a non-zero second imm.
fn rightly_rejected(raw: &[u8], kind: &DecodeErrorKind) -> bool {
    match raw[0] {
        0x84 | 0x87 => matches!(kind, DecodeErrorKind::ReservedField { .. }),
        0x18 => matches!(raw[1] >> 4, 1 | 4 | 5) && *kind == DecodeErrorKind::BadLdImm64Slot,
        // addr_space_cast: Linux allows only the casts between address spaces 0 and 1.
        0xbf => matches!(
            kind,
            DecodeErrorKind::InvalidField {
                field: ebpfvm_isa::Field::Imm,
                ..
            }
        ),
        _ => false,
    }
}

#[test]
fn matches_llvm_objdump_19() {
    let (mut same, mut differ, mut rejected, mut alu32) = (0, 0, 0, 0);
    for (hex, mode, llvm) in OBSERVED {
        let raw = bytes(hex);
        let slots = slots_from_bytes(&raw).unwrap();
        let insn = match decode_all(&slots) {
            Ok(d) => {
                assert_eq!(d.len(), 1, "{hex}");
                d[0].1
            }
            Err(e) => {
                assert!(
                    rightly_rejected(&raw, &e.kind),
                    "{hex} ({llvm}) rejected: {e}"
                );
                rejected += 1;
                continue;
            }
        };
        let ours = disasm_insn(&insn, 0);
        if *mode == "alu32" {
            // llvm's alu32 spellings assemble to the same instruction (llvm 19 does not know
            // load-acquire: it prints imm 0x100 as `lock ... += w2`).
            if !matches!(insn, Insn::Atomic { op, .. } if op.is_acquire_release()) {
                assert_eq!(parse(llvm).unwrap(), [insn], "{hex}: {llvm}");
            }
            if matches!(insn, Insn::Atomic { .. })
                && !llvm.starts_with("lock *(u32 *)(r1 - 0x8) +=")
            {
                assert_eq!(
                    &ours, llvm,
                    "{hex}: 32-bit atomics print as llvm's alu32 mode"
                );
            }
            alu32 += 1;
        } else if deliberate_difference(&insn) {
            assert_ne!(&ours, llvm, "{hex}: listed as different but is the same");
            differ += 1;
        } else {
            assert_eq!(&ours, llvm, "{hex}");
            assert_eq!(parse(llvm).unwrap(), [insn], "{hex}: {llvm}");
            same += 1;
        }
        assert_eq!(parse(&ours).unwrap(), [insn], "{hex}: {ours}");
    }
    println!(
        "{same} same as llvm, {differ} deliberately different, {rejected} rejected, {alu32} alu32"
    );
    assert_eq!((same, differ, rejected, alu32), (425, 26, 30, 31));
}

#[test]
fn tricky_spellings() {
    // All observed from llvm-objdump-19 (see llvm19_table.rs), spelled out for readers.
    let cases = [
        ("69 a0 f8 ff 00 00 00 00", "r0 = *(u16 *)(r10 - 0x8)"),
        ("66 01 03 00 05 00 00 00", "if w1 s> 0x5 goto +0x3"),
        (
            "18 01 00 00 34 12 00 00 00 00 00 00 00 00 00 00",
            "r1 = 0x1234 ll",
        ),
        (
            "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff",
            "r1 = -0x1 ll",
        ),
        ("db 21 00 00 00 00 00 00", "lock *(u64 *)(r1 + 0x0) += r2"),
        (
            "db 01 00 00 01 00 00 00",
            "r0 = atomic_fetch_add((u64 *)(r1 + 0x0), r0)",
        ),
        ("c3 21 00 00 00 00 00 00", "lock *(u32 *)(r1 + 0x0) += r2"),
        ("85 00 00 00 01 00 00 00", "call 0x1"),
        ("85 10 00 00 ff ff ff ff", "call -0x1"),
        ("84 00 00 00 00 00 00 00", "w0 = -w0"),
        ("dc 01 00 00 10 00 00 00", "r1 = be16 r1"),
        ("d4 01 00 00 40 00 00 00", "r1 = le64 r1"),
        ("d7 01 00 00 20 00 00 00", "r1 = bswap32 r1"),
        ("bf 21 08 00 00 00 00 00", "r1 = (s8)r2"),
        ("bc 21 10 00 00 00 00 00", "w1 = (s16)w2"),
        ("3f 10 01 00 00 00 00 00", "r0 s/= r1"),
        ("94 01 01 00 fd ff ff ff", "w1 s%= -0x3"),
        ("91 10 00 00 00 00 00 00", "r0 = *(s8 *)(r1 + 0x0)"),
        ("06 00 00 00 fd ff ff ff", "gotol -0x3"),
        ("e5 00 02 00 00 00 00 00", "may_goto +0x2"),
        (
            "bf 21 01 00 00 00 01 00",
            "r1 = addr_space_cast(r2, 0x1, 0x0)",
        ),
        ("8d 03 00 00 00 00 00 00", "callx r3"),
        (
            "18 21 00 00 05 00 00 00 00 00 00 00 00 00 00 00",
            "ld_pseudo\tr1, 0x2, 0x5",
        ),
        ("30 00 00 00 17 00 00 00", "r0 = *(u8 *)skb[0x17]"),
        ("40 20 00 00 00 00 00 00", "r0 = *(u32 *)skb[r2]"),
        ("7a 0a fc ff f8 ff ff ff", "*(u64 *)(r10 - 0x4) = -0x8"),
        ("db 21 f8 ff e1 00 00 00", "r2 = xchg_64(r1 - 0x8, r2)"),
        (
            "db 21 f8 ff f1 00 00 00",
            "r0 = cmpxchg_64(r1 - 0x8, r0, r2)",
        ),
        ("b4 01 00 00 00 00 00 80", "w1 = -0x80000000"),
        ("05 00 00 80 00 00 00 00", "goto -0x8000"),
        ("95 00 00 00 00 00 00 00", "exit"),
    ];
    for (hex, want) in cases {
        let d = decode_all(&slots_from_bytes(&bytes(hex)).unwrap()).unwrap();
        assert_eq!(disasm_insn(&d[0].1, 0), want, "{hex}");
        if let Some((_, hex2, llvm)) = OBSERVED.iter().find(|(h, m, _)| *h == hex && m.is_empty()) {
            assert_eq!(llvm, &want, "{hex2}");
        }
    }
}

#[test]
fn listing_format() {
    let prog = parse("r0 = 0\nif r1 == 0 goto +1\nr0 = 1 ll\nexit").unwrap();
    let mut pc = 0;
    let insns: Vec<(usize, Insn)> = prog
        .iter()
        .map(|i| {
            let p = pc;
            pc += i.slots();
            (p, *i)
        })
        .collect();
    assert_eq!(
        disassemble(&insns),
        "       0:\tr0 = 0x0\n       1:\tif r1 == 0x0 goto +0x1\n       2:\tr0 = 0x1 ll\n       4:\texit\n"
    );
    let labels = |_pc: usize, target: i64| Some(format!("L{target}"));
    assert_eq!(
        disassemble_with(&insns, &labels).lines().nth(1),
        Some("       1:\tif r1 == 0x0 goto +0x1 <L3>")
    );
    assert_eq!(jump_target(&insns[1].1, 1), Some(3));
    assert_eq!(jump_target(&insns[0].1, 0), None);
}

#[test]
fn symbol_labels_like_llvm_objdump() {
    // Observed: a section without a symbol at 0 gets one named after the section, and
    // targets between symbols are `<sym+0xbytes>`; negative targets wrap around in u64.
    let l = SymbolLabels::new(Vec::<(u64, String)>::new(), ".text");
    assert_eq!(l.label(0x0d, 0x0e).as_deref(), Some(".text+0x70"));
    assert_eq!(
        l.label(0x229, 0x229 + 1 - 0x8000).as_deref(),
        Some(".text+0xfffffffffffc1150")
    );
    let l = SymbolLabels::new(
        [(0, "foo"), (0x68, "LBB0_3"), (0x68, "A"), (0x80, "bar")],
        "sec",
    );
    assert_eq!(
        l.label(0, 13).as_deref(),
        Some("LBB0_3"),
        "same address: greatest name"
    );
    assert_eq!(l.label(0, 14).as_deref(), Some("LBB0_3+0x8"));
    assert_eq!(l.label(0, 16).as_deref(), Some("bar"));
    assert_eq!(l.label(0, 1).as_deref(), Some("foo+0x8"));
}
