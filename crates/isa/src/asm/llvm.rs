//! Assembler for the LLVM/kernel dialect (in progress).
