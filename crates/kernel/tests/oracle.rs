//! The kernel client against the running kernel. Every test prints a skip message and passes
//! where `bpf()` is unavailable (not root, no CAP_BPF, seccomp, not Linux).

use std::os::fd::{AsFd, AsRawFd};

use ebpfvm_abi::{MapType, ProgramType};
use ebpfvm_isa::asm::llvm;
use ebpfvm_isa::RawInsn;
use ebpfvm_kernel::{resolve_map_indices, Kernel, MapAttrs, ProgLoad};

fn kernel(test: &str) -> Option<Kernel> {
    match Kernel::probe() {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("skipped {test}: {}", e.reason);
            None
        }
    }
}

/// A kernel that loads programs with privileges (the program tests need XDP, kprobe, ...).
fn privileged_kernel(test: &str) -> Option<Kernel> {
    let k = kernel(test)?;
    if k.is_privileged() {
        Some(k)
    } else {
        eprintln!(
            "skipped {test}: bpf() works but this process may not load programs as privileged"
        );
        None
    }
}

fn asm(text: &str) -> Vec<RawInsn> {
    llvm::assemble(text).expect("test program assembles")
}

#[test]
fn array_map_update_and_lookup() {
    let Some(k) = kernel("array_map_update_and_lookup") else {
        return;
    };
    let map = k
        .create_map(&MapAttrs::new(MapType::Array, 4, 8, 4))
        .expect("array map");
    let info = k.map_info(map.as_fd()).expect("map info");
    assert_eq!(
        (
            info.map_type,
            info.key_size,
            info.value_size,
            info.max_entries
        ),
        (2, 4, 8, 4)
    );
    let key = 1u32.to_le_bytes();
    let value = 0x1122_3344_5566_7788u64.to_le_bytes();
    k.map_update(map.as_fd(), &key, &value, 0).expect("update");
    let got = k.map_lookup(map.as_fd(), &key).expect("lookup");
    assert_eq!(got.as_deref(), Some(&value[..]));
    // Wrong key size: refused before the syscall.
    assert!(k.map_lookup(map.as_fd(), &[0u8; 2]).is_err());
    // Out of range for an array: ENOENT, which is "no element".
    assert_eq!(
        k.map_lookup(map.as_fd(), &9u32.to_le_bytes()).unwrap(),
        None
    );
}

#[test]
fn per_cpu_array_values_cover_all_cpus() {
    let Some(k) = kernel("per_cpu_array_values_cover_all_cpus") else {
        return;
    };
    let map = k
        .create_map(&MapAttrs::new(MapType::PercpuArray, 4, 4, 1))
        .expect("percpu array map");
    let v = k
        .map_lookup(map.as_fd(), &0u32.to_le_bytes())
        .unwrap()
        .expect("array element exists");
    assert!(!v.is_empty() && v.len() % 8 == 0, "len {}", v.len());
    assert!(k
        .map_update(map.as_fd(), &0u32.to_le_bytes(), &[0u8; 4], 0)
        .is_err());
}

#[test]
fn bad_map_is_a_syscall_error() {
    let Some(k) = kernel("bad_map_is_a_syscall_error") else {
        return;
    };
    let err = k
        .create_map(&MapAttrs::new(MapType::Array, 4, 0, 1))
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
}

#[test]
fn xdp_program_runs() {
    let Some(k) = privileged_kernel("xdp_program_runs") else {
        return;
    };
    let insns = asm("r0 = 2\nexit");
    let res = k.load_program(&ProgLoad::new(ProgramType::Xdp.number(), &insns));
    assert!(res.accepted(), "{res}\n{}", res.log);
    assert!(res.log.contains("processed 2 insns"), "{}", res.log);
    let fd = res.fd.expect("accepted");
    let run = k
        .test_run(fd.as_fd(), &[0u8; 64], None, 1)
        .expect("test run");
    assert_eq!(run.retval, 2);
    assert_eq!(run.data_out, vec![0u8; 64]);
}

#[test]
fn xdp_program_with_map() {
    let Some(k) = privileged_kernel("xdp_program_with_map") else {
        return;
    };
    let map = k
        .create_map(&MapAttrs::new(MapType::Array, 4, 8, 1))
        .expect("array map");
    k.map_update(map.as_fd(), &0u32.to_le_bytes(), &41u64.to_le_bytes(), 0)
        .unwrap();
    // r0 = map[0][0] + 1, through bpf_map_lookup_elem; map referenced by index.
    let insns = asm("*(u32 *)(r10 - 4) = 0\n\
         r2 = r10\n\
         r2 += -4\n\
         ld_pseudo r1, 5, 0\n\
         call 1\n\
         if r0 == 0 goto +3\n\
         r0 = *(u64 *)(r0 + 0)\n\
         r0 += 1\n\
         exit\n\
         r0 = 0\n\
         exit");
    let insns = resolve_map_indices(&insns, &[map.as_raw_fd()]).unwrap();
    let res = k.load_program(&ProgLoad::new(ProgramType::Xdp.number(), &insns));
    let fd = res.fd.unwrap_or_else(|| panic!("{}", res.log));
    let run = k.test_run(fd.as_fd(), &[0u8; 64], None, 1).unwrap();
    assert_eq!(run.retval, 42);
}

#[test]
fn rejection_has_errno_and_log() {
    let Some(k) = privileged_kernel("rejection_has_errno_and_log") else {
        return;
    };
    let insns = asm("r0 = r2\nexit");
    let res = k.load_program(&ProgLoad::new(ProgramType::Xdp.number(), &insns));
    assert!(!res.accepted());
    assert_eq!(res.errno, Some(libc::EACCES));
    assert!(res.log.contains("R2 !read_ok"), "{}", res.log);
    assert_eq!(res.error_line(), Some("R2 !read_ok"));
}

#[test]
fn small_log_buffer_is_grown() {
    let Some(k) = privileged_kernel("small_log_buffer_is_grown") else {
        return;
    };
    // Log level 2 prints every state: far more than 1 KiB for this loop.
    let insns = asm("r0 = 0\n\
         r1 = 0\n\
         l: r0 += r1\n\
         r1 += 1\n\
         if r1 < 64 goto l\n\
         exit");
    let mut load = ProgLoad::new(ProgramType::SocketFilter.number(), &insns);
    load.log_level = 2;
    load.log_size = 1024;
    let res = k.load_program(&load);
    assert!(res.accepted(), "{res}");
    assert!(!res.log_truncated);
    assert!(res.log.len() > 1024, "log {} bytes", res.log.len());
    assert!(res.log.contains("processed "), "{}", res.log);
}

#[test]
fn log_beyond_maximum_is_truncated() {
    let Some(k) = privileged_kernel("log_beyond_maximum_is_truncated") else {
        return;
    };
    let insns = asm("r0 = 0\n\
         r1 = 0\n\
         l: r0 += r1\n\
         r1 += 1\n\
         if r1 < 64 goto l\n\
         exit");
    let mut load = ProgLoad::new(ProgramType::SocketFilter.number(), &insns);
    load.log_level = 2;
    load.max_log_size = 2048;
    let res = k.load_program(&load);
    assert!(res.accepted(), "{res}");
    assert!(res.log_truncated);
    assert!(
        !res.log.is_empty() && res.log.len() < 2048,
        "{}",
        res.log.len()
    );
    // The end of the log is kept (Linux 6.4+ rotates the log).
    assert!(res.log.contains("processed "), "{}", res.log);
}

#[test]
fn log_level_zero_has_no_log() {
    let Some(k) = privileged_kernel("log_level_zero_has_no_log") else {
        return;
    };
    let insns = asm("r0 = r2\nexit");
    let mut load = ProgLoad::new(ProgramType::SocketFilter.number(), &insns);
    load.log_level = 0;
    let res = k.load_program(&load);
    assert_eq!(res.errno, Some(libc::EACCES));
    assert!(res.log.is_empty());
}

#[test]
fn skb_program_runs_with_context() {
    let Some(k) = privileged_kernel("skb_program_runs_with_context") else {
        return;
    };
    // return skb->len
    let insns = asm("r0 = *(u32 *)(r1 + 0)\nexit");
    let res = k.load_program(&ProgLoad::new(ProgramType::SchedCls.number(), &insns));
    let fd = res.fd.unwrap_or_else(|| panic!("{}", res.log));
    let run = k.test_run(fd.as_fd(), &[0u8; 60], None, 3).unwrap();
    assert_eq!(run.retval, 60);
}
