//! Arbitrary bytes as `.BTF` (optionally followed by `.BTF.ext`): parsing, every query and
//! the C printer are total and bounded (`ebpfvm_testkit::fuzz::btf_parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ebpfvm_testkit::fuzz::btf_parse(data));
