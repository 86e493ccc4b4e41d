//! Arbitrary bytes and text: decoding and assembling never panic, and whatever they accept
//! is consistent with encoding and disassembly.

use ebpfvm_isa::asm::llvm::parse;
use ebpfvm_isa::disasm::{disasm_insn, disassemble};
use ebpfvm_isa::{decode_all, encode_all, slots_from_bytes, slots_to_bytes};
use proptest::prelude::*;
use proptest::sample::select;

use crate::roundtrip::with_pcs;
use crate::strategy::program;

/// Bytes that decode often enough to matter: a valid-looking opcode, small register nibbles
/// and small fields, mixed with fully random bytes.
fn slot_bytes() -> impl Strategy<Value = [u8; 8]> {
    prop_oneof![
        any::<[u8; 8]>(),
        (
            any::<u8>(),
            0u8..=0xbb,
            select(vec![0i16, 1, -1, 8, 16, 32, i16::MIN]),
            select(vec![
                0i32, 1, -1, 16, 32, 64, 0x100, 0x110, 0xe1, 0xf1, 0x41
            ]),
        )
            .prop_map(|(op, regs, off, imm)| {
                let mut b = [0u8; 8];
                b[0] = op;
                b[1] = regs;
                b[2..4].copy_from_slice(&off.to_le_bytes());
                b[4..8].copy_from_slice(&imm.to_le_bytes());
                b
            }),
    ]
}

/// Decodes `bytes`; if that succeeds, re-encoding must give the same bytes back, and the
/// disassembly must parse back to the same instructions.
fn check_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(slots) = slots_from_bytes(bytes) else {
        prop_assert!(bytes.len() % 8 != 0);
        return Ok(());
    };
    if let Ok(insns) = decode_all(&slots) {
        let prog: Vec<_> = insns.iter().map(|(_, i)| *i).collect();
        prop_assert_eq!(slots_to_bytes(&encode_all(&prog)), bytes);
        let text = disassemble(&insns);
        prop_assert_eq!(
            parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?,
            prog
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8000))]

    #[test]
    fn decode_8_bytes(b in slot_bytes()) {
        check_bytes(&b)?;
    }

    #[test]
    fn decode_16_bytes(a in slot_bytes(), b in slot_bytes()) {
        let mut v = a.to_vec();
        v.extend_from_slice(&b);
        check_bytes(&v)?;
        // ld_imm64 with an arbitrary second slot.
        v[0] = 0x18;
        check_bytes(&v)?;
    }

    #[test]
    fn decode_any_length(v in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_bytes(&v)?;
    }
}

/// Text built from the dialect's own pieces, so that the parser gets deep before failing.
fn texty() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "r0",
        "r1",
        "w2",
        "r10",
        "r11",
        "w0",
        "=",
        "+=",
        "s>>=",
        "-",
        "+",
        "*",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "u8",
        "u64",
        "s16",
        "skb",
        "ll",
        "0x10",
        "5",
        "-1",
        "0xffffffff",
        "4294967296",
        "18446744073709551616",
        "goto",
        "gotol",
        "may_goto",
        "if",
        "==",
        "s<",
        "<",
        ">",
        "&",
        "call",
        "kfunc",
        "callx",
        "exit",
        "lock",
        "ld_pseudo",
        "le16",
        "be64",
        "bswap32",
        "addr_space_cast",
        "atomic_fetch_add",
        "xchg_64",
        "cmpxchg32_32",
        "load_acquire",
        "store_release",
        "<LBB0_1>",
        "1f",
        "1b",
        "lbl",
        "lbl:",
        "1:",
        ";",
        "#",
        "//",
        "\n",
        " ",
        "\t",
        "é",
        "\u{0}",
        "(s8)",
        "*(u32 *)",
        "(r1 + 0x8)",
    ]);
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.join(" "))
}

/// Whatever the assembler accepts must encode, decode and print back to itself.
fn check_text(text: &str) -> Result<(), TestCaseError> {
    if let Ok(prog) = parse(text) {
        let slots = encode_all(&prog);
        let decoded =
            decode_all(&slots).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&decoded, &with_pcs(&prog));
        for i in &prog {
            prop_assert_eq!(parse(&disasm_insn(i, 0)).unwrap(), vec![*i]);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8000))]

    #[test]
    fn parse_arbitrary_text(s in ".{0,80}") {
        check_text(&s)?;
    }

    #[test]
    fn parse_token_soup(s in texty()) {
        check_text(&s)?;
    }

    #[test]
    fn parse_mutated_listing(
        prog in program(6),
        cut in any::<proptest::sample::Index>(),
        ins in any::<proptest::sample::Index>(),
        ch in any::<char>(),
    ) {
        let text = disassemble(&with_pcs(&prog));
        let chars: Vec<char> = text.chars().collect();
        if !chars.is_empty() {
            let mut deleted = chars.clone();
            deleted.remove(cut.index(chars.len()));
            check_text(&deleted.iter().collect::<String>())?;
            let mut inserted = chars;
            inserted.insert(ins.index(inserted.len()), ch);
            check_text(&inserted.iter().collect::<String>())?;
        }
    }
}
