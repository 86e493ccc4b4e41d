//! Fuzz oracles: each takes the fuzzer's raw bytes and panics, with a message that names the
//! input and the broken identity, when an invariant fails.
//!
//! The targets in `fuzz/fuzz_targets/` are one-line glue around these functions, and
//! `tests/fuzz_smoke.rs` runs them over a seeded stream of inputs in plain `cargo test`
//! (STYLE.md §6.4), so an oracle is exercised on stable Rust without libFuzzer.

use std::fmt::Write as _;

use ebpfvm_isa::asm::llvm::assemble;
use ebpfvm_isa::disasm::{disasm_insn, disassemble, disassemble_with, SymbolLabels};
use ebpfvm_isa::{decode_all, decode_at, encode_all, slots_from_bytes, Insn, RawInsn, INSN_SIZE};

/// The encode/decode/asm/disasm identities of `ebpfvm-isa` on arbitrary bytes.
///
/// `data` is taken as instruction slots, zero-padded to a multiple of 8 bytes. Then:
///
/// - **whole program**: if every slot decodes (`decode_all`), every instruction validates,
///   `encode_all` gives back exactly the input slots, and the `disassemble` listing (also with
///   llvm-style `<label>` annotations) assembles (`asm::llvm::assemble`) back to them;
/// - **decode errors**: if it does not decode, the error's `pc` is the start of an instruction
///   inside the program and everything before it decodes;
/// - **every slot**: for each `pc` where `decode_at` succeeds, the instruction validates,
///   encodes to the slots it was decoded from, and its one-line `disasm_insn` text assembles
///   back to them.
///
/// Decoding, disassembling and assembling must not panic on any input either.
pub fn isa_roundtrip(data: &[u8]) {
    let mut bytes = data.to_vec();
    bytes.resize(data.len().div_ceil(INSN_SIZE) * INSN_SIZE, 0);
    let slots = slots_from_bytes(&bytes).expect("the length is a multiple of 8");

    match decode_all(&slots) {
        Ok(insns) => check_program(&slots, &insns),
        Err(e) => {
            let before = decode_all(&slots[..e.pc.min(slots.len())]);
            if e.pc >= slots.len() || before.is_err() {
                fail(
                    &slots,
                    &format!("decode_all failed with `{e}`, but {before:?} for the slots before"),
                );
            }
        }
    }
    for pc in 0..slots.len() {
        if let Ok(insn) = decode_at(&slots, pc) {
            check_slot(&slots, pc, &insn);
        }
    }
}

/// The whole-program identities for a program that decoded.
fn check_program(slots: &[RawInsn], insns: &[(usize, Insn)]) {
    let prog: Vec<Insn> = insns.iter().map(|(_, i)| *i).collect();
    if let Some((pc, i, e)) = insns
        .iter()
        .find_map(|(pc, i)| i.validate().err().map(|e| (pc, i, e)))
    {
        fail(
            slots,
            &format!("pc {pc} decodes to {i:?}, which does not validate: {e}"),
        );
    }
    let encoded = encode_all(&prog);
    if encoded != slots {
        fail(
            slots,
            &format!(
                "decode_all then encode_all differ\n  decoded: {prog:?}\n  encoded: {}",
                hex(&encoded)
            ),
        );
    }
    let listing = disassemble(insns);
    expect_assembles(slots, slots, &listing, "disassemble listing");
    let labels = SymbolLabels::new([(0u64, "prog"), (16, "LBB0_1")], ".text");
    let annotated = disassemble_with(insns, &labels);
    expect_assembles(slots, slots, &annotated, "annotated listing");
}

/// The identities of the one instruction decoded at `pc`.
fn check_slot(slots: &[RawInsn], pc: usize, insn: &Insn) {
    let own = &slots[pc..pc + insn.slots()];
    let encoded = match insn.try_encode() {
        Ok(e) => e,
        Err(e) => fail(
            slots,
            &format!("pc {pc} decodes to {insn:?}, which does not validate: {e}"),
        ),
    };
    let mut again = vec![encoded.first];
    again.extend(encoded.second);
    if again != own {
        fail(
            slots,
            &format!(
                "pc {pc} decodes to {insn:?}, which encodes to {} instead",
                hex(&again)
            ),
        );
    }
    let text = disasm_insn(insn, pc);
    expect_assembles(
        slots,
        own,
        &text,
        &format!("pc {pc}: disasm_insn of {insn:?}"),
    );
}

/// `text` must assemble to exactly `want`.
#[track_caller]
fn expect_assembles(input: &[RawInsn], want: &[RawInsn], text: &str, what: &str) {
    match assemble(text) {
        Ok(got) if got == want => {}
        Ok(got) => fail(
            input,
            &format!(
                "{what} assembles to different slots\n  want: {}\n  got:  {}\n--- text ---\n{text}",
                hex(want),
                hex(&got)
            ),
        ),
        Err(e) => fail(
            input,
            &format!("{what} does not assemble: {e}\n--- text ---\n{text}"),
        ),
    }
}

/// Slots as 16 hex digits each (the bytes in memory order), space-separated.
fn hex(slots: &[RawInsn]) -> String {
    let mut s = String::new();
    for (n, slot) in slots.iter().enumerate() {
        if n > 0 {
            s.push(' ');
        }
        for b in slot.to_bytes() {
            let _ = write!(s, "{b:02x}");
        }
    }
    s
}

#[track_caller]
fn fail(input: &[RawInsn], msg: &str) -> ! {
    panic!("isa_roundtrip: {msg}\n--- input slots ---\n{}", hex(input));
}
