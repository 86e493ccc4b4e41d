//! The tests/progs fixtures run end to end: load, run each documented frame sequence on a
//! fresh load, and compare return values, output data and maps with the expectations of
//! tests/progs/README.md (which the Linux kernel confirmed, see kernel-reference.json).

use std::path::PathBuf;

use ebpfvm_maps::Map;
use ebpfvm_runtime::{CoreTarget, LoadOptions, Loaded, RunError, TestRun};

fn progs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs")
}

fn load_with(name: &str, opts: &LoadOptions) -> Loaded {
    let bytes = std::fs::read(progs_dir().join(format!("{name}.o"))).expect("fixture exists");
    let obj = ebpfvm_object::Object::parse(&bytes).expect("fixture parses");
    Loaded::load(&obj, opts).expect("fixture loads")
}

fn load(name: &str) -> Loaded {
    load_with(name, &LoadOptions::default())
}

fn packet(name: &str) -> Vec<u8> {
    std::fs::read(progs_dir().join("packets").join(format!("{name}.bin"))).expect("packet exists")
}

fn run(l: &Loaded, prog: &str, pkt: &str) -> u64 {
    let data = packet(pkt);
    let p = l.program(prog).expect("program loaded");
    let r = l
        .test_run(
            p,
            &TestRun {
                data: &data,
                ctx: None,
                repeat: 1,
            },
        )
        .unwrap_or_else(|e| panic!("{prog} on {pkt}: {e}"));
    r.retval
}

fn u64_at(map: &dyn Map, key: u32) -> u64 {
    let mut v = vec![0u8; map.user_value_size()];
    map.lookup(&key.to_le_bytes(), &mut v).expect("key present");
    u64::from_le_bytes(v[..8].try_into().unwrap())
}

/// Sum over slots of a per-CPU u64 value.
fn percpu_sum(map: &dyn Map, key: u32) -> u64 {
    let mut v = vec![0u8; map.user_value_size()];
    map.lookup(&key.to_le_bytes(), &mut v).expect("key present");
    v.chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .sum()
}

fn map<'a>(l: &'a Loaded, name: &str) -> &'a dyn Map {
    l.map(name)
        .unwrap_or_else(|| panic!("map {name}"))
        .map
        .as_ref()
}

#[test]
fn xdp_drop_udp_counts_and_verdicts() {
    let l = load("xdp_drop_udp");
    let seq = [
        ("ipv4_udp", 1),
        ("ipv4_tcp80", 2),
        ("ipv6_tcp80", 2),
        ("ipv6_udp", 2),
        ("arp", 2),
        ("vlan_ipv4_udp", 1),
        ("vlan_ipv4_tcp80", 2),
        ("trunc_ipv4", 2),
        ("ipv4_icmp", 2),
    ];
    for (pkt, want) in seq {
        assert_eq!(run(&l, "xdp_drop_udp", pkt), want, "{pkt}");
    }
    let m = map(&l, "proto_count");
    for k in 0..256u32 {
        let want = match k {
            0 | 1 => 1,
            6 | 17 => 3,
            _ => 0,
        };
        assert_eq!(u64_at(m, k), want, "proto_count[{k}]");
    }
}

#[test]
fn xdp_output_is_the_frame() {
    let l = load("xdp_drop_udp");
    let data = packet("ipv4_tcp80");
    let p = l.program("xdp_drop_udp").unwrap();
    let r = l
        .test_run(
            p,
            &TestRun {
                data: &data,
                ctx: None,
                repeat: 3,
            },
        )
        .unwrap();
    assert_eq!(r.data, data);
    assert_eq!(r.retval, 2);
    // Repeated runs count every run.
    assert_eq!(u64_at(map(&l, "proto_count"), 6), 3);
}

#[test]
fn socket_filter_sees_the_network_header() {
    let l = load("socket_filter");
    let seq = [
        ("ipv4_tcp80", 40),
        ("ipv4_tcp22", 40),
        ("ipv4_tcp443", 0),
        ("ipv6_tcp80", 60),
        ("ipv4_udp", 0),
        ("vlan_ipv4_tcp80", 0),
        ("arp", 0),
        ("ipv4_tcp80_big", 140),
    ];
    for (pkt, want) in seq {
        assert_eq!(run(&l, "socket_filter", pkt), want, "{pkt}");
    }
    let m = map(&l, "accept_count");
    assert_eq!(u64_at(m, 0), 4);
    assert_eq!(u64_at(m, 1), 280);
    // data_out: the frame with the Ethernet header zeroed.
    let data = packet("ipv4_tcp80");
    let p = l.program("socket_filter").unwrap();
    let r = l
        .test_run(
            p,
            &TestRun {
                data: &data,
                ctx: None,
                repeat: 1,
            },
        )
        .unwrap();
    assert_eq!(&r.data[..14], &[0u8; 14]);
    assert_eq!(&r.data[14..], &data[14..]);
}

#[test]
fn globals_calls_keeps_globals_and_prints() {
    let l = load("globals_calls");
    for (pkt, want) in [("ipv4_udp", 108), ("ipv4_tcp80", 128), ("ipv6_tcp80", 188)] {
        assert_eq!(run(&l, "globals_calls", pkt), want, "{pkt}");
    }
    assert_eq!(
        l.trace().take(),
        [
            "globals_calls len=33 result=108",
            "globals_calls len=40 result=128",
            "globals_calls len=60 result=188"
        ]
    );
    let bss = map(&l, ".bss");
    let mut v = vec![0u8; bss.value_size()];
    bss.lookup(&0u32.to_le_bytes(), &mut v).unwrap();
    // total_len (u64) 133, last_result (u32) 188, mix5_calls (u32) 3.
    assert_eq!(u64::from_le_bytes(v[0..8].try_into().unwrap()), 133);
    assert_eq!(u32::from_le_bytes(v[8..12].try_into().unwrap()), 188);
    assert_eq!(u32::from_le_bytes(v[12..16].try_into().unwrap()), 3);
    let data = map(&l, ".data");
    let mut v = vec![0u8; data.value_size()];
    data.lookup(&0u32.to_le_bytes(), &mut v).unwrap();
    let words: Vec<u32> = v[..16]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(words, [1, 2, 3, 4]);
    assert_eq!(u64::from_le_bytes(v[16..24].try_into().unwrap()), 103);
}

#[test]
fn map_in_map_lookups() {
    let l = load("map_in_map");
    let seq = [
        ("sel_0_2_0", 2),
        ("sel_1_3_0", 2),
        ("sel_0_1_1", 2),
        ("sel_1_0_1", 2),
        ("sel_2_0_0", 1),
        ("sel_5_0_1", 1),
        ("sel_0_9_0", 0),
        ("sel_0_2_0", 2),
    ];
    for (pkt, want) in seq {
        assert_eq!(run(&l, "map_in_map", pkt), want, "{pkt}");
    }
    let a = map(&l, "inner_a");
    let b = map(&l, "inner_b");
    assert_eq!(
        (0..4).map(|k| u64_at(a, k)).collect::<Vec<_>>(),
        [1, 0, 2, 0]
    );
    assert_eq!(
        (0..4).map(|k| u64_at(b, k)).collect::<Vec<_>>(),
        [0, 1, 0, 1]
    );
}

#[test]
fn tail_calls_chain_and_stop_at_33() {
    let l = load("tail_calls");
    let seq = [
        ("tail_entry", "tail_0", 2, [1, 1, 1, 0]),
        ("tail_entry", "tail_1", 2, [2, 1, 2, 0]),
        ("tail_entry", "tail_2", 3, [3, 1, 2, 33]),
        ("tail_entry", "tail_3", 1, [4, 1, 2, 33]),
        ("tail_entry", "tail_4", 1, [5, 1, 2, 33]),
        ("tail_loop", "tail_0", 3, [5, 1, 2, 67]),
    ];
    let hits = map(&l, "hits");
    for (prog, pkt, want, after) in seq {
        assert_eq!(run(&l, prog, pkt), want, "{prog} on {pkt}");
        let got: Vec<u64> = (0..4).map(|k| u64_at(hits, k)).collect();
        assert_eq!(got, after, "hits after {prog} on {pkt}");
    }
}

#[test]
fn bpf_loop_and_for_each() {
    let l = load("bpf_loop");
    let seq = [
        ("ipv4_udp", 528, [528, 33, 7, 33, 8]),
        ("ipv4_tcp80", 780, [780, 40, 8, 73, 8]),
        ("ipv4_tcp80_big", 9730, [9730, 140, 13, 213, 8]),
    ];
    let results = map(&l, "results");
    for (pkt, want, after) in seq {
        assert_eq!(run(&l, "bpf_loop_prog", pkt), want, "{pkt}");
        let got: Vec<u64> = (0..5).map(|k| u64_at(results, k)).collect();
        assert_eq!(got, after, "results after {pkt}");
    }
    let vals = map(&l, "vals");
    assert_eq!(
        (0..8).map(|k| u64_at(vals, k)).collect::<Vec<_>>(),
        [40, 33, 0, 0, 140, 0, 0, 0]
    );
}

#[test]
fn hash_counter_flags_and_full_table() {
    let l = load("hash_counter");
    let seq = [
        ("ipv4_icmp", 2),
        ("ipv4_udp", 2),
        ("ipv4_tcp80", 2),
        ("ipv4_icmp", 2),
        ("ipv4_udp_src12", 2),
        ("ipv4_udp_src13", 2),
        ("ipv4_udp_src14", 2),
        ("ipv4_udp_src15", 1),
        ("ipv4_udp_src14", 2),
        ("arp", 2),
        ("ipv6_udp", 2),
        ("vlan_ipv4_udp", 2),
    ];
    for (pkt, want) in seq {
        assert_eq!(run(&l, "hash_counter", pkt), want, "{pkt}");
    }
    let flows = map(&l, "flows");
    let get = |k: [u8; 4]| {
        let mut v = [0u8; 16];
        flows.lookup(&k, &mut v).map(|_| {
            (
                u64::from_le_bytes(v[..8].try_into().unwrap()),
                u64::from_le_bytes(v[8..].try_into().unwrap()),
            )
        })
    };
    assert_eq!(get([10, 0, 0, 1]).unwrap(), (0, 0));
    assert_eq!(get([10, 0, 0, 12]).unwrap(), (1, 47));
    assert_eq!(get([10, 0, 0, 13]).unwrap(), (1, 47));
    assert_eq!(get([10, 0, 0, 14]).unwrap(), (2, 94));
    assert!(get([10, 0, 0, 15]).is_err());
    let stats = map(&l, "stats");
    let sums: Vec<u64> = (0..6).map(|k| percpu_sum(stats, k)).collect();
    assert_eq!(sums, [4, 2, 1, 1, 1, 0]);
    let bss = map(&l, ".bss");
    let mut v = [0u8; 8];
    bss.lookup(&0u32.to_le_bytes(), &mut v).unwrap();
    assert_eq!(i64::from_le_bytes(v), -7);
}

#[test]
fn legacy_maps_ld_abs() {
    let l = load("legacy_maps");
    for pkt in [
        "ipv4_udp",
        "ipv4_tcp80",
        "ipv4_tcp80_big",
        "ipv4_icmp",
        "ipv6_udp",
        "arp",
        "vlan_ipv4_udp",
    ] {
        assert_eq!(run(&l, "legacy_prog", pkt), 0, "{pkt}");
    }
    let pkts = map(&l, "proto_pkts");
    let bytes = map(&l, "proto_bytes");
    assert_eq!([1, 6, 17].map(|k| u64_at(pkts, k)), [1, 2, 1]);
    assert_eq!([1, 6, 17].map(|k| u64_at(bytes, k)), [32, 180, 33]);
    let big = map(&l, "big_packets");
    assert_eq!(u64_at(big, 6), 1);
    let mut v = [0u8; 8];
    assert!(big.lookup(&17u32.to_le_bytes(), &mut v).is_err());
}

fn core_out(l: &Loaded) -> Vec<u64> {
    let m = map(l, "core_out");
    (0..32).map(|k| u64_at(m, k)).collect()
}

#[test]
fn core_access_xdp_against_own_btf() {
    let l = load_with(
        "core_access",
        &LoadOptions {
            core_target: CoreTarget::Local,
            ..LoadOptions::default()
        },
    );
    assert_eq!(run(&l, "core_xdp", "arp"), 2);
    let out = core_out(&l);
    // Slot 10 is 1 against the object's own BTF (the type exists there).
    assert_eq!(
        &out[..16],
        &[14, 20, 9, 4, 1, 0, 3, 1, 0, 1, 1, 1, 1, 0, 0, 0]
    );
    assert_eq!(run(&l, "core_xdp", "ipv4_tcp80"), 2);
    assert_eq!(&core_out(&l)[13..16], &[4, 5, 6]);
}

#[test]
fn core_access_xdp_against_the_kernel() {
    if ebpfvm_runtime::vmlinux().is_none() {
        eprintln!("skipped: /sys/kernel/btf/vmlinux is not readable here");
        return;
    }
    let l = load("core_access");
    assert_eq!(run(&l, "core_xdp", "ipv4_tcp80"), 2);
    assert_eq!(
        &core_out(&l)[..16],
        &[14, 20, 9, 4, 1, 0, 3, 1, 0, 1, 0, 1, 1, 4, 5, 6]
    );
}

#[test]
fn core_task_is_rejected_with_the_helper_named() {
    let l = load("core_access");
    match l.select(Some("core_task")) {
        Err(RunError::Rejected(msg)) => {
            assert!(msg.contains("bpf_get_current_task#35"), "{msg}")
        }
        other => panic!("core_task: {other:?}"),
    }
}

/// Builds the x86-64 pt_regs: rdx +96, rsi +104, rdi +112.
fn pt_regs(rdi: u64, rsi: u64, rdx: u64) -> Vec<u8> {
    let mut regs = vec![0u8; 168];
    regs[96..104].copy_from_slice(&rdx.to_le_bytes());
    regs[104..112].copy_from_slice(&rsi.to_le_bytes());
    regs[112..120].copy_from_slice(&rdi.to_le_bytes());
    regs
}

fn ringbuf_records(l: &Loaded) -> Vec<Vec<u8>> {
    let rb = map(l, "events")
        .as_any()
        .downcast_ref::<ebpfvm_maps::RingBuf>()
        .expect("events is a ring buffer");
    let mut out = Vec::new();
    rb.consume(&mut |r| out.push(r.to_vec()));
    out
}

#[test]
fn kprobe_reads_user_memory_into_the_ring_buffer() {
    let l = load("kprobe_ringbuf");
    let name = b"/etc/hostname\0".to_vec();
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    let mut how = Vec::new();
    how.extend_from_slice(&0x80000u64.to_le_bytes());
    how.extend_from_slice(&0u64.to_le_bytes());
    how.extend_from_slice(&0u64.to_le_bytes());
    let regs = pt_regs(-100i64 as u64, name.as_ptr() as u64, how.as_ptr() as u64);
    let p = l.program("trace_openat2").unwrap();
    let r = l
        .test_run(
            p,
            &TestRun {
                data: &[],
                ctx: Some(&regs),
                repeat: 1,
            },
        )
        .unwrap();
    assert_eq!(r.retval, 0);
    let recs = ringbuf_records(&l);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec.len(), 304);
    let u32at = |o: usize| u32::from_le_bytes(rec[o..o + 4].try_into().unwrap());
    let u64at = |o: usize| u64::from_le_bytes(rec[o..o + 8].try_into().unwrap());
    assert_eq!(u32at(0), 1);
    assert_eq!(u32at(8), std::process::id());
    assert_eq!(u32at(12) as i32, -100);
    assert_eq!(u64at(24), 0x80000);
    assert_eq!(u64at(32), 0);
    assert_eq!(u64at(40), 14);
    assert_eq!(&rec[48..62], b"/etc/hostname\0");
    assert_eq!(u64_at(map(&l, "dropped"), 0), 0);
    // Null pointers: the probe reads fail cleanly.
    let regs = pt_regs(3, 0, 0);
    let r = l
        .test_run(
            p,
            &TestRun {
                data: &[],
                ctx: Some(&regs),
                repeat: 1,
            },
        )
        .unwrap();
    assert_eq!(r.retval, 0);
    let recs = ringbuf_records(&l);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    let u64at = |o: usize| u64::from_le_bytes(rec[o..o + 8].try_into().unwrap());
    assert_eq!(u64at(24), 0);
    assert_eq!(u64at(32), 0);
    assert_eq!(u64at(40) as i64, -14);
    assert!(rec[48..304].iter().all(|&b| b == 0));
    drop((name, how));
}

#[test]
fn bad_inputs_are_errors() {
    let l = load("xdp_drop_udp");
    let p = l.program("xdp_drop_udp").unwrap();
    for data in [vec![0u8; 13], vec![0u8; 5000]] {
        let e = l
            .test_run(
                p,
                &TestRun {
                    data: &data,
                    ctx: None,
                    repeat: 1,
                },
            )
            .unwrap_err();
        assert!(matches!(e, RunError::BadInput(_)), "{e}");
    }
    assert!(matches!(
        l.select(Some("nope")),
        Err(RunError::NoSuchProgram { .. })
    ));
}
