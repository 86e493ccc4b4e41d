//! Assemblers: the LLVM/kernel dialect ([`llvm`]) and the conformance suite's dialect
//! ([`ubpf`]).

pub mod llvm;
pub mod ubpf;
