//! Integration tests of the instruction set: encode/decode, the LLVM-dialect disassembler and
//! assembler, and the spellings llvm-objdump-19 was observed to print.

mod asm_cases;
mod disasm_cases;
mod fuzz;
mod llvm19_table;
mod roundtrip;
mod strategy;
mod validate;
