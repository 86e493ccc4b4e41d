//! Arbitrary bytes as an ELF BPF object: `Object::parse` is total and what it returns is
//! consistent (`ebpfvm_testkit::fuzz::object_parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ebpfvm_testkit::fuzz::object_parse(data));
