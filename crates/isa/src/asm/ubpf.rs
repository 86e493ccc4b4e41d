//! Assembler for the conformance suite (uBPF) dialect (in progress).
