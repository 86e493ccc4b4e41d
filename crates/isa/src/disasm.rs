//! Disassembler in the LLVM/kernel dialect (in progress).
