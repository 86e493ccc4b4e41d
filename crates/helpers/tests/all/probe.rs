//! `bpf_probe_read*`: reads of process memory that never crash.

use std::ffi::CString;

use ebpfvm_abi::Trap;

use crate::*;

fn probe(name: &str, size: usize, src: u64) -> (u64, Vec<u8>) {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let dst = env.alloc(size.max(1), true);
    env.poke(dst, &vec![0xff; size.max(1)]);
    let mut h = fx.run(ebpfvm_abi::ProgramType::Kprobe, 0, CtxKind::Other);
    let r = ok(&mut h, &mut env, name, &[dst, size as u64, src]);
    (r, env.peek(dst, size.max(1)))
}

#[test]
fn probe_read_of_a_rust_buffer() {
    let data: Vec<u8> = (0..100u8).collect();
    for name in ["probe_read", "probe_read_kernel", "probe_read_user"] {
        let (r, got) = probe(name, 100, data.as_ptr() as u64);
        assert_eq!(r, 0, "{name}");
        assert_eq!(got, data, "{name}");
    }
}

#[test]
fn probe_read_of_bad_addresses_fails_with_efault_and_zeroes() {
    for addr in [0u64, 1, 0xffff_8000_0000_0000, u64::MAX - 3] {
        let (r, got) = probe("probe_read_kernel", 16, addr);
        assert_eq!(r, neg(EFAULT), "{addr:#x}");
        assert_eq!(got, [0; 16], "{addr:#x}");
    }
}

#[test]
fn probe_read_of_program_memory_goes_through_the_engine() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let src = env.put(b"fake address space");
    let dst = env.alloc(18, true);
    let mut h = fx.run(ebpfvm_abi::ProgramType::Kprobe, 0, CtxKind::Other);
    assert_eq!(ok(&mut h, &mut env, "probe_read", &[dst, 18, src]), 0);
    assert_eq!(env.peek(dst, 18), b"fake address space");
    // The destination must be the program's, writable.
    let ro = env.alloc(8, false);
    assert!(matches!(
        call(&mut h, &mut env, "probe_read", &[ro, 8, src]),
        Err(Trap::MemoryViolation { .. })
    ));
    assert_eq!(
        ok(&mut h, &mut env, "probe_read", &[dst, 0, 0]),
        0,
        "size 0"
    );
}

#[test]
fn probe_read_str_copies_and_counts_the_nul() {
    let s = CString::new("hello").unwrap();
    let p = s.as_ptr() as u64;
    for name in [
        "probe_read_str",
        "probe_read_kernel_str",
        "probe_read_user_str",
    ] {
        let (r, got) = probe(name, 16, p);
        assert_eq!(r, 6, "{name}");
        assert_eq!(&got[..6], b"hello\0");
        assert_eq!(got[6..], [0xff; 10], "the rest is untouched");
    }
    let (r, got) = probe("probe_read_str", 4, p);
    assert_eq!(r, 4, "truncated: size bytes written");
    assert_eq!(got, b"hel\0");
    let (r, got) = probe("probe_read_str", 1, p);
    assert_eq!((r, got), (1, vec![0]));
    let (r, got) = probe("probe_read_str", 6, p);
    assert_eq!((r, got.as_slice()), (6, &b"hello\0"[..]));
}

#[test]
fn probe_read_str_of_bad_addresses() {
    for addr in [0u64, 1, 0xffff_8000_0000_0000] {
        let (r, got) = probe("probe_read_kernel_str", 8, addr);
        assert_eq!(r, neg(EFAULT));
        assert_eq!(got, [0; 8]);
    }
}

#[test]
fn probe_read_str_of_program_memory() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let src = env.put(b"abc\0def");
    let dst = env.alloc(16, true);
    let mut h = fx.run(ebpfvm_abi::ProgramType::Kprobe, 0, CtxKind::Other);
    assert_eq!(ok(&mut h, &mut env, "probe_read_str", &[dst, 16, src]), 4);
    assert_eq!(env.peek(dst, 4), b"abc\0");
}

#[test]
fn process_memory_reads_directly() {
    let data = *b"0123456789";
    let mut buf = [0u8; 10];
    assert!(ebpfvm_helpers::probe::read_process_memory(
        data.as_ptr() as u64,
        &mut buf
    ));
    assert_eq!(buf, data);
    assert!(!ebpfvm_helpers::probe::read_process_memory(8, &mut buf));
    assert!(ebpfvm_helpers::probe::read_process_memory(0, &mut []));
    let s = CString::new("x".repeat(5000)).unwrap();
    let got = ebpfvm_helpers::probe::read_process_str(s.as_ptr() as u64, 10_000).unwrap();
    assert_eq!(got.len(), 5000, "across 4 KiB blocks");
    assert_eq!(
        ebpfvm_helpers::probe::read_process_str(s.as_ptr() as u64, 7).unwrap(),
        b"xxxxxxx"
    );
}
