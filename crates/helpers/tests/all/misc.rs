//! Time, randomness, the calling thread, the execution slot.

use ebpfvm_abi::ProgramType;
use ebpfvm_helpers::clock::{self, HZ, INITIAL_JIFFIES};
use ebpfvm_helpers::CtxKind;

use crate::*;

fn tracing(fx: &Fixture) -> ebpfvm_helpers::RunEnv<'_> {
    fx.run(ProgramType::Kprobe, 0, CtxKind::Other)
}

#[test]
fn pid_tgid_and_uid_gid() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = tracing(&fx);
    let v = ok(&mut h, &mut env, "get_current_pid_tgid", &[]);
    assert_eq!(v >> 32, u64::from(std::process::id()));
    let link = std::fs::read_link("/proc/thread-self").expect("procfs");
    let tid: u64 = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(v & 0xffff_ffff, tid);
    // Another thread: same tgid, its own tid.
    let other = std::thread::spawn(ebpfvm_helpers::current_pid_tgid)
        .join()
        .unwrap();
    assert_eq!(other >> 32, v >> 32);
    assert_ne!(other & 0xffff_ffff, v & 0xffff_ffff);

    let ug = ok(&mut h, &mut env, "get_current_uid_gid", &[]);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(ug & 0xffff_ffff, field("Uid:"));
    assert_eq!(ug >> 32, field("Gid:"));
}

#[test]
fn comm_is_the_thread_name_nul_padded() {
    std::thread::Builder::new()
        .name("helpers-comm".into())
        .spawn(|| {
            let fx = Fixture::new();
            let mut env = TestEnv::new();
            let mut h = tracing(&fx);
            let buf = env.alloc(32, true);
            env.poke(buf, &[0xff; 32]);
            assert_eq!(ok(&mut h, &mut env, "get_current_comm", &[buf, 32]), 0);
            let mut want = b"helpers-comm".to_vec();
            want.resize(32, 0);
            assert_eq!(env.peek(buf, 32), want);
            assert_eq!(ok(&mut h, &mut env, "get_current_comm", &[buf, 8]), 0);
            assert_eq!(env.peek(buf, 8), b"helpers\0");
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn processor_and_numa() {
    let fx = Fixture::with_slot(3);
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    assert_eq!(ok(&mut h, &mut env, "get_smp_processor_id", &[]), 3);
    assert_eq!(ok(&mut h, &mut env, "get_numa_node_id", &[]), 0);
}

#[test]
fn clocks() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = tracing(&fx);
    let a = ok(&mut h, &mut env, "ktime_get_ns", &[]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let b = ok(&mut h, &mut env, "ktime_get_ns", &[]);
    assert!(b - a >= 20_000_000, "{a} {b}");
    let boot = ok(&mut h, &mut env, "ktime_get_boot_ns", &[]);
    assert!(boot >= b, "boot time includes suspend");
    let coarse = ok(&mut h, &mut env, "ktime_get_coarse_ns", &[]);
    assert!(coarse.abs_diff(b) < 1_000_000_000);
    let j = ok(&mut h, &mut env, "jiffies64", &[]);
    let expect = INITIAL_JIFFIES + clock::ktime_get_coarse_ns() / (1_000_000_000 / HZ);
    assert!(j <= expect && expect - j <= 2, "{j} {expect}");
}

#[test]
fn prandom_varies() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let v = ok(&mut h, &mut env, "get_prandom_u32", &[]);
        assert!(v <= u64::from(u32::MAX));
        seen.insert(v);
    }
    assert!(seen.len() > 990);
}

#[test]
fn trace_log_is_bounded() {
    let log = ebpfvm_helpers::TraceLog::with_capacity(3);
    for i in 0..5 {
        log.push(format!("line {i}"));
    }
    assert_eq!(log.lines(), ["line 2", "line 3", "line 4"]);
    assert_eq!(log.dropped(), 2);
    assert_eq!(log.take().len(), 3);
    assert!(log.lines().is_empty());
}
