//! The assembler: labels, comments, numbers, errors; bytes checked against llvm-mc-19.

use ebpfvm_isa::asm::llvm::{assemble, parse, AsmError, AsmErrorKind};
use ebpfvm_isa::disasm::disasm_insn;
use ebpfvm_isa::{slots_to_bytes, Call, Insn, Reg};

/// A program using every form llvm-mc-19 accepts, in the spellings it accepts.
const LLVM_MC_PROGRAM: &str = "\
start:
	r0 = 0
	w1 = -5
	r2 = 0x7fffffff
	r3 = 4294967295
	r1 += r2
	w1 -= w2
	r1 *= 3
	w3 /= 7
	r4 s/= r5
	w4 s%= -3
	r5 |= 0x10
	r6 &= r7
	r7 <<= 32
	w8 >>= w9
	r9 s>>= 1
	r1 ^= -1
	r2 %= r3
	r1 = -r1
	w2 = -w2
	r1 = (s8)r2
	r1 = (s16)r2
	r1 = (s32)r2
	w1 = (s8)w2
	w1 = (s16)w2
	r1 = le16 r1
	r2 = be32 r2
	r3 = bswap64 r3
	r1 = addr_space_cast(r2, 1, 0)
	r1 = 0x123456789abcdef ll
	r2 = -1 ll
	ld_pseudo r1, 1, 7
	r0 = *(u8 *)skb[23]
	r0 = *(u16 *)skb[r3]
	r0 = *(u32 *)skb[-4]
	r1 = *(u64 *)(r10 - 8)
	r1 = *(u32 *)(r2 + 0x7fff)
	r1 = *(s8 *)(r2 - 32768)
	r1 = *(s16 *)(r2 + 0)
	r1 = *(s32 *)(r2 + 2)
	w1 = *(u16 *)(r2 + 4)
	*(u8 *)(r10 - 1) = r1
	*(u16 *)(r10 - 2) = 0x1234
	*(u64 *)(r10 - 16) = -1
	*(u32 *)(r10 - 4) = w3
	lock *(u64 *)(r1 + 0) += r2
	lock *(u32 *)(r1 + 8) += r2
	lock *(u64 *)(r1 + 0) |= r2
	lock *(u64 *)(r1 + 0) &= r2
	lock *(u64 *)(r1 + 0) ^= r2
	r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)
	r2 = atomic_fetch_xor((u64 *)(r1 + 0), r2)
	w2 = atomic_fetch_add((u32 *)(r1 + 0), w2)
	lock *(u32 *)(r1 + 0) |= w2
	r2 = xchg_64(r1 + 0, r2)
	w2 = xchg32_32(r1 + 0, w2)
	r0 = cmpxchg_64(r1 + 0, r0, r2)
	w0 = cmpxchg32_32(r1 + 0, w0, w2)
loop:
	if r1 == 0 goto out
	if w1 != w2 goto loop
	if r1 s> -1 goto +1
	if r1 & 0x10 goto -2
	if w3 s<= 5 goto out
	if r4 < r5 goto loop
	if r4 >= 0xffffffff goto loop
	goto loop
	gotol out
	may_goto out
	call 1
	call loop
	callx r1
out:
	exit
";

/// What `llvm-mc-19 -triple bpfel -filetype=obj` produced for [`LLVM_MC_PROGRAM`].
const LLVM_MC_BYTES: &str = "\
b700000000000000b4010000fbffffffb7020000ffffff7fb7030000ffffffff0f210000000000001c21000000000000\
270100000300000034030000070000003f5401000000000094040100fdffffff47050000100000005f76000000000000\
67070000200000007c98000000000000c709000001000000a7010000ffffffff9f320000000000008701000000000000\
8402000000000000bf21080000000000bf21100000000000bf21200000000000bc21080000000000bc21100000000000\
d401000010000000dc02000020000000d703000040000000bf2101000000010018010000efcdab890000000067452301\
18020000ffffffff00000000ffffffff1811000007000000000000000000000030000000170000004830000000000000\
20000000fcffffff79a1f8ff000000006121ff7f00000000912100800000000089210000000000008121020000000000\
6921040000000000731affff000000006a0afeff341200007a0af0ffffffffff633afcff00000000db21000000000000\
c321080000000000db21000040000000db21000050000000db210000a0000000db21000001000000db21000041000000\
db21000051000000db210000a1000000c321000001000000c321000040000000db210000e1000000c3210000e1000000\
db210000f1000000c3210000f100000015010c00000000005e21feff0000000065010100ffffffff4501feff10000000\
d603080005000000ad54faff000000003504f9ffffffffff0500f8ff000000000600000004000000e500030000000000\
850000000100000085100000f4ffffff8d010000000000009500000000000000";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn asm_hex(text: &str) -> String {
    match assemble(text) {
        Ok(slots) => hex(&slots_to_bytes(&slots)),
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn err(text: &str) -> AsmError {
    match parse(text) {
        Ok(p) => panic!("{text:?} assembled to {p:?}"),
        Err(e) => e,
    }
}

fn one(text: &str) -> Insn {
    match parse(text) {
        Ok(p) if p.len() == 1 => p[0],
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn same_bytes_as_llvm_mc() {
    assert_eq!(asm_hex(LLVM_MC_PROGRAM), LLVM_MC_BYTES);
}

#[test]
fn llvm_mc_program_survives_disassembly() {
    let prog = parse(LLVM_MC_PROGRAM).unwrap();
    let text: String = prog.iter().map(|i| disasm_insn(i, 0) + "\n").collect();
    assert_eq!(parse(&text).unwrap(), prog);
}

#[test]
fn labels_forward_backward_and_calls() {
    let text = "\
entry:
    r0 = 0
top:  r0 += 1          ; a label and an instruction on one line
    if r0 < 10 goto top
    if r0 == 10 goto done
    call helper_fn
    gotol top
helper_fn: .Ltmp0:
    r0 = 0x1 ll
    goto done
done:
    exit
";
    let p = parse(text).unwrap();
    assert_eq!(disasm_insn(&p[2], 0), "if r0 < 0xa goto -0x2");
    assert_eq!(disasm_insn(&p[3], 0), "if r0 == 0xa goto +0x5");
    assert_eq!(p[4], Insn::Call(Call::Local(1)));
    assert_eq!(disasm_insn(&p[5], 0), "gotol -0x5");
    // ld_imm64 takes two slots: `goto done` at slot 8 jumps over nothing.
    assert_eq!(disasm_insn(&p[7], 0), "goto +0x0");
}

#[test]
fn numeric_local_labels() {
    let text = "\
1:  r0 = 1
    if r0 == 0 goto 1f
    goto 1b
1:  exit
    call 1b
";
    let p = parse(text).unwrap();
    assert_eq!(disasm_insn(&p[1], 0), "if r0 == 0x0 goto +0x1");
    assert_eq!(disasm_insn(&p[2], 0), "goto -0x3");
    assert_eq!(p[4], Insn::Call(Call::Local(-2)));
}

#[test]
fn listing_with_pcs_and_annotations_parses() {
    // Lines as llvm-objdump --no-show-raw-insn prints them.
    let text = "\
       0:\tr6 = r1
       1:\tr0 = *(u8 *)skb[0x17]
       4:\tif r1 != 0x4 goto +0x8 <LBB0_3>
       7:\tr1 = 0x0 ll
       9:\tcall 0x1
      10:\tif r1 < r2 goto +0x2 <tail_handle_ipv4+0x1a0>
      12:\tlock *(u64 *)(r0 + 0x0) += r1
      12:\tgoto -0x1 <.text+0xfffffffffffc1150>
";
    let p = parse(text).unwrap();
    assert_eq!(p.len(), 8);
    assert_eq!(disasm_insn(&p[5], 0), "if r1 < r2 goto +0x2");
}

#[test]
fn comments_and_numbers() {
    let text = "\
# a comment line
// another
r1 = 10        ; decimal
r2 = 0xA       # hex, upper-case digit
r3 = -0x10     // negative hex
r4 = 0xffffffff
r5 = - 7
";
    let p = parse(text).unwrap();
    let texts: Vec<String> = p.iter().map(|i| disasm_insn(i, 0)).collect();
    assert_eq!(
        texts,
        [
            "r1 = 0xa",
            "r2 = 0xa",
            "r3 = -0x10",
            "r4 = -0x1",
            "r5 = -0x7"
        ]
    );
    assert_eq!(parse("").unwrap(), vec![]);
    assert_eq!(parse("\n  \n; only comments\n").unwrap(), vec![]);
}

#[test]
fn our_own_spellings() {
    // Forms llvm 19 prints lossily or not at all (see the disasm module docs).
    for text in [
        "call +0x5",
        "call -0x1",
        "call 0xffffffff",
        "call kfunc 0x4d2",
        "call kfunc 0x4d2, 0x3",
        "ld_pseudo\tr1, 0x2, 0x5, 0x10",
        "ld_pseudo\tr1, 0x6, 0x1, 0xffffffff",
        "r0 = *(u32 *)skb[r2 + 0x4]",
        "r0 = *(u16 *)skb[r2 - 0x4]",
        "w2 = atomic_fetch_add((u32 *)(r1 - 0x8), w2)",
        "r0 = load_acquire((u64 *)(r1 + 0x0))",
        "w0 = load_acquire((u8 *)(r1 + 0x0))",
        "store_release((u16 *)(r1 + 0x0), w2)",
        "store_release((u64 *)(r1 - 0x8), r2)",
        "may_goto -0x8000",
        "gotol -0x80000000",
        "r1 = -0x8000000000000000 ll",
        "r1 = addr_space_cast(r2, 0x1, 0x0)",
        "r1 = addr_space_cast(r2, 0x0, 0x1)",
    ] {
        assert_eq!(disasm_insn(&one(text), 0), text);
    }
    assert_eq!(one("call 5"), Insn::Call(Call::Helper(5)));
    assert_eq!(one("call +5"), Insn::Call(Call::Local(5)));
    assert_eq!(
        parse("kfunc: call kfunc").unwrap(),
        [Insn::Call(Call::Local(-1))]
    );
}

#[test]
fn lenient_alu32_spellings() {
    // llvm's alu32 spellings of 32-bit loads/stores/atomics mean the same encodings.
    assert_eq!(
        one("w1 = *(u32 *)(r2 + 0x3)"),
        one("r1 = *(u32 *)(r2 + 0x3)")
    );
    assert_eq!(one("*(u8 *)(r1 + 0x0) = w2"), one("*(u8 *)(r1 + 0x0) = r2"));
    assert_eq!(
        one("lock *(u32 *)(r1 - 0x8) += w2"),
        one("lock *(u32 *)(r1 - 0x8) += r2")
    );
    assert_eq!(one("r1 = *(u32 *)(r2)"), one("r1 = *(u32 *)(r2 + 0)"));
}

#[test]
fn error_display_has_line_and_column() {
    let e = err("r0 = 0\nexit\n  r11 = 1\n");
    assert_eq!(e.to_string(), "line 3, column 3: unknown register r11");
    assert_eq!(e.kind, AsmErrorKind::UnknownRegister("r11".into()));
    assert_eq!((e.line, e.column), (3, 3));

    let cases: &[(&str, &str)] = &[
        ("r1 = r2 + 1", "line 1, column 9: expected end of line, found `+`"),
        ("  frob r1", "line 1, column 3: unknown instruction `frob`"),
        ("r1 = 0x100000000", "line 1, column 6: immediate (write `ll` for a 64-bit constant) 0x100000000 out of range"),
        ("r1 = 0x10000000000000000 ll", "line 1, column 6: number 0x10000000000000000 out of range"),
        ("goto +0x8000", "line 1, column 6: jump offset +0x8000 out of range"),
        ("goto nowhere", "line 1, column 6: undefined label `nowhere`"),
        ("a:\na:\n", "line 2, column 1: label `a` defined twice"),
        ("w1 += r2", "line 1, column 7: registers of different widths (rN and wN) mixed"),
        ("r1 = *(u64 *)(r2 + 0x8000)", "line 1, column 18: offset +0x8000 out of range"),
        ("r0 = *(u64 *)skb[0]", "line 1, column 8: legacy packet loads take u8, u16 or u32"),
        ("r1 = *(u8 *)skb[0]", "line 1, column 1: legacy packet loads always write r0"),
        ("w1 = (s32)w2", "line 1, column 7: a 32-bit sign-extending move takes s8 or s16"),
        ("r1 = be16 r2", "line 1, column 6: a byte swap needs the same source and destination"),
        ("lock *(u8 *)(r1 + 0) += r2", "line 1, column 1: atomic operations exist only for u32 and u64"),
        ("if r1 = r2 goto +1", "line 1, column 7: expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found `=`"),
        ("r1 = @", "line 1, column 6: unexpected character `@`"),
        ("exit exit", "line 1, column 6: expected end of line, found `exit`"),
        ("r1 =", "line 1, column 5: expected a register, a number or an expression, found end of line"),
        ("r1 = 12ab", "line 1, column 6: expected a number, found `12ab`"),
        ("ld_pseudo r1, 1, 2, 3", "line 1, column 19: ld_pseudo kinds 1, 4 and 5 take no second immediate"),
        ("ld_pseudo r1, 7, 2", "line 1, column 15: ld_pseudo kind 7 out of range"),
        ("r0 = cmpxchg_64(r1 + 0, r2, r3)", "line 1, column 25: cmpxchg compares with and writes r0"),
        ("goto 1f\n1: goto 1f", "line 2, column 9: undefined label `1f`"),
        ("r1 = 5 <x>", "line 1, column 8: expected end of line, found an annotation `<...>`"),
        ("call -0x80000001", "line 1, column 6: call offset -0x80000001 out of range"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text).to_string(), *want, "for {text:?}");
    }
}

#[test]
fn jump_out_of_range_to_label() {
    let mut text = String::from("goto far\n");
    for _ in 0..0x8000 {
        text.push_str("r0 = 0\n");
    }
    text.push_str("far: exit\n");
    assert_eq!(
        err(&text).kind,
        AsmErrorKind::JumpOutOfRange {
            label: "far".into(),
            offset: 0x8000,
            bits: 16
        }
    );
    // gotol reaches it.
    let long = text.replacen("goto far", "gotol far", 1);
    assert_eq!(
        parse(&long).unwrap()[0],
        Insn::Ja {
            off: 0x8000,
            long: true
        }
    );
}

#[test]
fn registers() {
    assert_eq!(one("r10 = r0"), one("r10 = r0"));
    assert_eq!(
        err("r01 = 1").kind,
        AsmErrorKind::UnknownRegister("r01".into())
    );
    assert_eq!(
        err("w99 = 1").kind,
        AsmErrorKind::UnknownRegister("w99".into())
    );
    assert_eq!(
        one("r10 = *(u64 *)(r10 - 0x8)"),
        Insn::Load {
            size: ebpfvm_isa::Size::DW,
            signed: false,
            dst: Reg::R10,
            src: Reg::R10,
            off: -8
        }
    );
}
