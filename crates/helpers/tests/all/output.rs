//! Ring buffer and perf event output.

use ebpfvm_abi::{ExecEnv, MapType, ProgramType, Trap};
use ebpfvm_helpers::CtxKind;
use ebpfvm_maps::flags::{BPF_F_CURRENT_CPU, BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE};

use crate::*;

fn records(map: &dyn ebpfvm_maps::Map) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    map.as_ringbuf()
        .unwrap()
        .consume(&mut |r| out.push(r.to_vec()));
    out
}

#[test]
fn reserve_submit_discard() {
    let mut fx = Fixture::new();
    let (rb, map) = fx.map(def(MapType::Ringbuf, 0, 0, 4096));
    let mut env = TestEnv::new();
    let mut h = fx.plain();

    let rec = ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 12, 0]);
    assert_ne!(rec, 0);
    assert_eq!(env.grants.last(), Some(&(rec, 12, true)));
    env.write(rec, b"hello, ring!").unwrap();
    assert!(records(map.as_ref()).is_empty(), "not yet submitted");
    assert_eq!(ok(&mut h, &mut env, "ringbuf_submit", &[rec, 0]), 0);
    assert_eq!(env.revokes.last(), Some(&rec));
    assert!(env.get(rec, 1).is_err(), "revoked");
    assert_eq!(records(map.as_ref()), [b"hello, ring!".to_vec()]);

    let rec = ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 8, 0]);
    env.write(rec, &[1; 8]).unwrap();
    assert_eq!(ok(&mut h, &mut env, "ringbuf_discard", &[rec, 0]), 0);
    assert!(records(map.as_ref()).is_empty(), "discarded");

    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 8, 1]),
        0,
        "flags must be 0"
    );
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 8192, 0]),
        0,
        "too big"
    );
}

#[test]
fn unknown_or_double_submit_traps() {
    let mut fx = Fixture::new();
    let (rb, _) = fx.map(def(MapType::Ringbuf, 0, 0, 4096));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let rec = ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 8, 0]);
    let bad = Err(Trap::BadHelperArg {
        id: id("ringbuf_submit"),
        arg: 1,
        expected: "a ring buffer record reserved by this run",
    });
    assert_eq!(call(&mut h, &mut env, "ringbuf_submit", &[rec + 8, 0]), bad);
    assert_eq!(ok(&mut h, &mut env, "ringbuf_submit", &[rec, 0]), 0);
    assert_eq!(call(&mut h, &mut env, "ringbuf_submit", &[rec, 0]), bad);
    assert!(matches!(
        call(&mut h, &mut env, "ringbuf_discard", &[rec, 0]),
        Err(Trap::BadHelperArg { .. })
    ));
}

#[test]
fn finish_discards_what_the_program_left_reserved() {
    let mut fx = Fixture::new();
    let (rb, map) = fx.map(def(MapType::Ringbuf, 0, 0, 4096));
    let mut env = TestEnv::new();
    let data = env.put(b"after");
    let mut h = fx.plain();
    let _left = ok(&mut h, &mut env, "ringbuf_reserve", &[rb, 8, 0]);
    assert_eq!(ok(&mut h, &mut env, "ringbuf_output", &[rb, data, 5, 0]), 0);
    assert!(
        records(map.as_ref()).is_empty(),
        "blocked behind the reserved record"
    );
    h.finish();
    assert_eq!(records(map.as_ref()), [b"after".to_vec()]);
    drop(h);
}

#[test]
fn output_and_query() {
    let mut fx = Fixture::new();
    let (rb, map) = fx.map(def(MapType::Ringbuf, 0, 0, 4096));
    let (hash, _) = fx.map(def(MapType::Hash, 4, 4, 4));
    let mut env = TestEnv::new();
    let data = env.put(b"0123456789");
    let mut h = fx.plain();
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_output", &[rb, data, 10, 0]),
        0
    );
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_query", &[rb, BPF_RB_AVAIL_DATA]),
        24,
        "8-byte header, rounded to 8"
    );
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_query", &[rb, BPF_RB_RING_SIZE]),
        4096
    );
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_output", &[rb, data, 10, 4]),
        neg(EINVAL),
        "unknown flag"
    );
    assert_eq!(
        ok(&mut h, &mut env, "ringbuf_output", &[rb, data, 5000, 0]),
        neg(11),
        "-EAGAIN"
    );
    assert_eq!(records(map.as_ref()), [b"0123456789".to_vec()]);
    assert!(matches!(
        call(&mut h, &mut env, "ringbuf_output", &[hash, data, 1, 0]),
        Err(Trap::BadHelperArg { .. })
    ));
}

fn perf_records(map: &dyn ebpfvm_maps::Map, index: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    map.as_perf_event_array()
        .unwrap()
        .read(index, &mut |r| out.push(r.to_vec()))
        .unwrap();
    out
}

#[test]
fn perf_event_output_current_cpu_and_index() {
    let mut fx = Fixture::with_slot(1);
    let (pe, map) = fx.map(def(MapType::PerfEventArray, 4, 4, 2));
    let pea = map.as_perf_event_array().unwrap();
    pea.open(1, 4096).unwrap();
    let mut env = TestEnv::new();
    let data = env.put(b"sample");
    let mut h = fx.run(ProgramType::Kprobe, 0x10, CtxKind::Other);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[0x10, pe, BPF_F_CURRENT_CPU, data, 6]
        ),
        0
    );
    assert_eq!(perf_records(map.as_ref(), 1), [b"sample".to_vec()]);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[0x10, pe, 0, data, 6]
        ),
        neg(ENOENT),
        "index 0 not open"
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[0x10, pe, 5, data, 6]
        ),
        neg(E2BIG)
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[0x10, pe, (4 << 32) | 1, data, 6]
        ),
        neg(EINVAL),
        "no packet to append"
    );
}

#[test]
fn perf_event_output_appends_packet_bytes_for_xdp() {
    let mut fx = Fixture::new();
    let (pe, map) = fx.map(def(MapType::PerfEventArray, 4, 4, 1));
    map.as_perf_event_array().unwrap().open(0, 4096).unwrap();
    let mut env = TestEnv::new();
    let x = crate::packet::Xdp::new(&mut env, 256, b"packetbytes-and-more");
    let data = env.put(b"meta:");
    let mut h = fx.run(ProgramType::Xdp, x.ctx, CtxKind::Xdp);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[x.ctx, pe, (11 << 32), data, 5]
        ),
        0
    );
    assert_eq!(
        perf_records(map.as_ref(), 0),
        [b"meta:packetbytes".to_vec()]
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "perf_event_output",
            &[x.ctx, pe, (21 << 32), data, 5]
        ),
        neg(EFAULT),
        "past the packet"
    );
}
