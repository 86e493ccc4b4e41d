//! Arbitrary bytes as eBPF instructions: decode/encode and disasm/asm identities
//! (`ebpfvm_testkit::fuzz::isa_roundtrip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ebpfvm_testkit::fuzz::isa_roundtrip(data));
