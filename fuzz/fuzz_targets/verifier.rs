//! Arbitrary bytes as a program through the verifier: a verdict, never a panic, never past
//! its instruction limit (`ebpfvm_testkit::fuzz::verifier`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ebpfvm_testkit::fuzz::verifier(data));
