//! Property tests: decode ∘ encode, parse ∘ disasm.

use ebpfvm_isa::asm::llvm::{assemble, parse};
use ebpfvm_isa::disasm::{disasm_insn, disassemble, disassemble_with, SymbolLabels};
use ebpfvm_isa::{decode_all, encode_all, Insn};
use proptest::prelude::*;

use crate::strategy::{insn, program};

/// `(pc, insn)` pairs of a program, as `decode_all` returns them.
pub fn with_pcs(prog: &[Insn]) -> Vec<(usize, Insn)> {
    let mut pc = 0;
    prog.iter()
        .map(|i| {
            let p = pc;
            pc += i.slots();
            (p, *i)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decode_encode_one(i in insn()) {
        let slots = encode_all([&i]);
        prop_assert_eq!(slots.len(), i.slots());
        let decoded = decode_all(&slots).map_err(|e| TestCaseError::fail(format!("{i:?}: {e}")))?;
        prop_assert_eq!(decoded, vec![(0, i)]);
    }

    #[test]
    fn parse_disasm_one(i in insn()) {
        let text = disasm_insn(&i, 0);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(parsed, vec![i], "text {:?}", text);
        // The text is one line and has no leading or trailing blanks.
        prop_assert!(!text.contains('\n') && text.trim() == text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_encode_program(prog in program(40)) {
        let slots = encode_all(&prog);
        let decoded = decode_all(&slots).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded, with_pcs(&prog));
    }

    #[test]
    fn parse_disassemble_program(prog in program(40)) {
        // The listing's `pc:` column parses as numeric labels.
        let listing = disassemble(&with_pcs(&prog));
        let parsed = parse(&listing).map_err(|e| TestCaseError::fail(format!("{e}\n{listing}")))?;
        prop_assert_eq!(&parsed, &prog);
        // With llvm-style annotations too.
        let labels = SymbolLabels::new([(0u64, "prog"), (16, "LBB0_1")], ".text");
        let annotated = disassemble_with(&with_pcs(&prog), &labels);
        let parsed = parse(&annotated).map_err(|e| TestCaseError::fail(format!("{e}\n{annotated}")))?;
        prop_assert_eq!(&parsed, &prog);
        prop_assert_eq!(assemble(&annotated).unwrap(), encode_all(&prog));
    }
}
