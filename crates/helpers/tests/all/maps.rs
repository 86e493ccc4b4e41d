//! Map helpers, tail calls, `bpf_loop`, `bpf_for_each_map_elem`, spin locks.

use std::sync::Arc;

use ebpfvm_abi::{MapType, ProgramType, Trap};
use ebpfvm_helpers::{CtxKind, MapTable};
use ebpfvm_maps::flags::{BPF_EXIST, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_NOEXIST};
use ebpfvm_maps::ProgEntry;

use crate::*;

#[test]
fn hash_update_lookup_delete_with_linux_errnos() {
    let mut fx = Fixture::new();
    let (m, map) = fx.map(def(MapType::Hash, 4, 8, 2));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let k1 = env.put(&1u32.to_ne_bytes());
    let k2 = env.put(&2u32.to_ne_bytes());
    let k3 = env.put(&3u32.to_ne_bytes());
    let v = env.put(&0x1122_3344_5566_7788u64.to_ne_bytes());

    assert_eq!(ok(&mut h, &mut env, "map_lookup_elem", &[m, k1]), 0);
    assert_eq!(
        ok(&mut h, &mut env, "map_update_elem", &[m, k1, v, BPF_EXIST]),
        neg(ENOENT)
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "map_update_elem",
            &[m, k1, v, BPF_NOEXIST]
        ),
        0
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "map_update_elem",
            &[m, k1, v, BPF_NOEXIST]
        ),
        neg(EEXIST)
    );
    assert_eq!(ok(&mut h, &mut env, "map_update_elem", &[m, k2, v, 0]), 0);
    assert_eq!(
        ok(&mut h, &mut env, "map_update_elem", &[m, k3, v, 0]),
        neg(E2BIG),
        "full"
    );
    assert_eq!(
        ok(&mut h, &mut env, "map_update_elem", &[m, k1, v, 7]),
        neg(EINVAL)
    );

    let p = ok(&mut h, &mut env, "map_lookup_elem", &[m, k1]);
    assert_ne!(p, 0);
    assert_eq!(env.grants.last(), Some(&(p, 8, true)));
    assert_eq!(env.get_u64(p).unwrap(), 0x1122_3344_5566_7788);
    // The value is writable and the map sees the write.
    env.write(p, &5u64.to_ne_bytes()).unwrap();
    let mut out = [0u8; 8];
    map.lookup(&1u32.to_ne_bytes(), &mut out).unwrap();
    assert_eq!(u64::from_ne_bytes(out), 5);
    // A second lookup of the same element returns the same pointer, granted the same way
    // (engines ignore a region they already have).
    assert_eq!(ok(&mut h, &mut env, "map_lookup_elem", &[m, k1]), p);
    assert_eq!(env.grants.last(), Some(&(p, 8, true)));

    assert_eq!(ok(&mut h, &mut env, "map_delete_elem", &[m, k1]), 0);
    assert_eq!(
        ok(&mut h, &mut env, "map_delete_elem", &[m, k1]),
        neg(ENOENT)
    );
    assert_eq!(ok(&mut h, &mut env, "map_lookup_elem", &[m, k1]), 0);
    // The deleted element's value stays readable for the rest of the run.
    assert_eq!(env.get_u64(p).unwrap(), 5);
}

use ebpfvm_abi::ExecEnv;

#[test]
fn array_errnos_and_readonly_values() {
    let mut fx = Fixture::new();
    let (a, _) = fx.map(def(MapType::Array, 4, 4, 4));
    let (ro, _) = fx.map(def(MapType::Array, 4, 4, 4).with_flags(BPF_F_RDONLY_PROG));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let k = env.put(&9u32.to_ne_bytes());
    let k0 = env.put(&0u32.to_ne_bytes());
    let v = env.put(&7u32.to_ne_bytes());
    assert_eq!(
        ok(&mut h, &mut env, "map_update_elem", &[a, k, v, 0]),
        neg(E2BIG)
    );
    assert_eq!(ok(&mut h, &mut env, "map_lookup_elem", &[a, k]), 0);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "map_update_elem",
            &[a, k0, v, BPF_NOEXIST]
        ),
        neg(EEXIST)
    );
    assert_eq!(
        ok(&mut h, &mut env, "map_delete_elem", &[a, k0]),
        neg(EINVAL)
    );
    let p = ok(&mut h, &mut env, "map_lookup_elem", &[ro, k0]);
    assert_eq!(env.grants.last(), Some(&(p, 4, false)));
    assert!(matches!(
        env.write(p, &[1]),
        Err(Trap::MemoryViolation { .. })
    ));
    assert_eq!(
        ok(&mut h, &mut env, "map_update_elem", &[ro, k0, v, 0]),
        neg(EPERM)
    );
}

#[test]
fn unknown_map_value_traps() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let k = env.put(&[0; 4]);
    assert_eq!(
        call(&mut h, &mut env, "map_lookup_elem", &[0xdead_beef, k]),
        Err(Trap::BadHelperArg {
            id: id("map_lookup_elem"),
            arg: 1,
            expected: "a map"
        })
    );
}

#[test]
fn map_in_map_lookup_resolves_inner_map_for_the_run() {
    let mut fx = Fixture::new();
    let inner_def = def(MapType::Array, 4, 8, 2);
    let (outer, outer_map) =
        fx.map(def(MapType::ArrayOfMaps, 4, 4, 2).with_inner(inner_def.clone()));
    let inner =
        ebpfvm_maps::create_map(&inner_def, &ebpfvm_maps::MapOptions::with_slots(1)).unwrap();
    inner
        .update(&1u32.to_ne_bytes(), &77u64.to_ne_bytes(), 0)
        .unwrap();
    outer_map
        .update_inner(&0u32.to_ne_bytes(), inner.clone(), 0)
        .unwrap();
    assert!(
        fx.maps.get(MapTable::addr_of(&inner)).is_none(),
        "inner map not in the table"
    );

    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let k0 = env.put(&0u32.to_ne_bytes());
    let k1 = env.put(&1u32.to_ne_bytes());
    let im = ok(&mut h, &mut env, "map_lookup_elem", &[outer, k0]);
    assert_eq!(im, MapTable::addr_of(&inner));
    assert_eq!(
        ok(&mut h, &mut env, "map_lookup_elem", &[outer, k1]),
        0,
        "empty slot"
    );
    let p = ok(&mut h, &mut env, "map_lookup_elem", &[im, k1]);
    assert_ne!(p, 0);
    assert_eq!(env.get_u64(p).unwrap(), 77);
    // Another run has not seen the inner map.
    let mut other = fx.plain();
    assert!(matches!(
        call(&mut other, &mut env, "map_lookup_elem", &[im, k1]),
        Err(Trap::BadHelperArg { .. })
    ));
}

#[test]
fn queue_push_pop_peek() {
    let mut fx = Fixture::new();
    let (q, _) = fx.map(def(MapType::Queue, 0, 4, 2));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let a = env.put(&10u32.to_ne_bytes());
    let b = env.put(&20u32.to_ne_bytes());
    let c = env.put(&30u32.to_ne_bytes());
    let out = env.alloc(4, true);
    assert_eq!(ok(&mut h, &mut env, "map_pop_elem", &[q, out]), neg(ENOENT));
    assert_eq!(ok(&mut h, &mut env, "map_push_elem", &[q, a, 0]), 0);
    assert_eq!(ok(&mut h, &mut env, "map_push_elem", &[q, b, 0]), 0);
    assert_eq!(
        ok(&mut h, &mut env, "map_push_elem", &[q, c, 0]),
        neg(E2BIG),
        "full"
    );
    assert_eq!(
        ok(&mut h, &mut env, "map_push_elem", &[q, c, BPF_EXIST]),
        0,
        "overwrites the oldest"
    );
    assert_eq!(ok(&mut h, &mut env, "map_peek_elem", &[q, out]), 0);
    assert_eq!(env.peek(out, 4), 20u32.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "map_pop_elem", &[q, out]), 0);
    assert_eq!(env.peek(out, 4), 20u32.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "map_pop_elem", &[q, out]), 0);
    assert_eq!(env.peek(out, 4), 30u32.to_ne_bytes());
    // A read-only destination traps before the element is taken.
    assert_eq!(ok(&mut h, &mut env, "map_push_elem", &[q, a, 0]), 0);
    let ro = env.alloc(4, false);
    assert!(matches!(
        call(&mut h, &mut env, "map_pop_elem", &[q, ro]),
        Err(Trap::MemoryViolation { .. })
    ));
    assert_eq!(ok(&mut h, &mut env, "map_pop_elem", &[q, out]), 0);
    assert_eq!(env.peek(out, 4), 10u32.to_ne_bytes());
}

#[test]
fn bloom_filter_peek_reads_the_value() {
    let mut fx = Fixture::new();
    let (bf, _) = fx.map(def(MapType::BloomFilter, 0, 8, 64));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let v = env.put(&42u64.to_ne_bytes());
    let w = env.put(&43u64.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "map_push_elem", &[bf, v, 0]), 0);
    assert_eq!(ok(&mut h, &mut env, "map_peek_elem", &[bf, v]), 0);
    assert_eq!(env.peek(v, 8), 42u64.to_ne_bytes(), "not written");
    let r = ok(&mut h, &mut env, "map_peek_elem", &[bf, w]);
    assert!(r == 0 || r == neg(ENOENT));
}

fn prog_array(fx: &mut Fixture) -> (u64, Arc<dyn ebpfvm_maps::Map>) {
    let (pa, map) = fx.map(def(MapType::ProgArray, 4, 4, 4));
    map.set_prog(
        1,
        Some(ProgEntry {
            id: 9,
            handle: Arc::new(4242u32),
        }),
    )
    .unwrap();
    (pa, map)
}

#[test]
fn tail_call_success_and_failures() {
    let mut fx = Fixture::new();
    let (pa, _) = prog_array(&mut fx);
    let (hash, _) = fx.map(def(MapType::Hash, 4, 4, 4));
    let mut env = TestEnv::new();
    let ctx = env.alloc(64, true);
    let mut h = fx.run(ProgramType::SocketFilter, ctx, CtxKind::Skb);
    assert_eq!(ok(&mut h, &mut env, "tail_call", &[ctx, pa, 1]), 0);
    assert_eq!(env.tail_calls.len(), 1);
    assert_eq!(env.tail_calls[0].downcast_ref::<u32>(), Some(&4242));
    // The index is a u32: the high half is ignored.
    assert_eq!(
        ok(&mut h, &mut env, "tail_call", &[ctx, pa, (7 << 32) | 1]),
        0
    );
    assert_eq!(
        ok(&mut h, &mut env, "tail_call", &[ctx, pa, 0]),
        neg(ENOENT),
        "empty slot"
    );
    assert_eq!(
        ok(&mut h, &mut env, "tail_call", &[ctx, pa, 4]),
        neg(ENOENT),
        "past the end"
    );
    env.tail_call_limit = 2;
    assert_eq!(
        ok(&mut h, &mut env, "tail_call", &[ctx, pa, 1]),
        neg(E2BIG),
        "limit reached"
    );
    assert_eq!(env.tail_calls.len(), 2);
    assert!(matches!(
        call(&mut h, &mut env, "tail_call", &[ctx, hash, 0]),
        Err(Trap::BadHelperArg { arg: 2, .. })
    ));
}

/// The callback of the `bpf_loop` square-root example: stops at the first `i` with
/// `i * i >= ctx.len` and stores `i` in `ctx.result`.
fn sqrt_callback(
    env: &mut TestEnv,
    _: &mut dyn ebpfvm_abi::HelperHost,
    a: [u64; 5],
) -> Result<u64, Trap> {
    let (i, ctx) = (a[0], a[1]);
    let len = env.get_u64(ctx)?;
    if i * i >= len {
        env.write(ctx + 8, &i.to_ne_bytes())?;
        return Ok(1);
    }
    Ok(0)
}

#[test]
fn loop_counts_iterations_and_stops() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    env.on_call(0x100, sqrt_callback);
    let ctx = env.alloc(16, true);
    env.poke(ctx, &33u64.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "loop", &[100, 0x100, ctx, 0]), 7);
    assert_eq!(env.peek_u64(ctx + 8), 6);
    env.poke(ctx, &36u64.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "loop", &[100, 0x100, ctx, 0]), 7);
    // Never stopping: all iterations.
    env.poke(ctx, &1_000_000u64.to_ne_bytes());
    assert_eq!(ok(&mut h, &mut env, "loop", &[10, 0x100, ctx, 0]), 10);
    assert_eq!(ok(&mut h, &mut env, "loop", &[0, 0x100, ctx, 0]), 0);
    // nr_loops is a u32.
    assert_eq!(
        ok(&mut h, &mut env, "loop", &[(1 << 32) | 3, 0x100, ctx, 0]),
        3
    );
    assert_eq!(
        ok(&mut h, &mut env, "loop", &[10, 0x100, ctx, 1]),
        neg(EINVAL)
    );
    assert_eq!(
        ok(&mut h, &mut env, "loop", &[(1 << 23) + 1, 0x100, ctx, 0]),
        neg(E2BIG)
    );
    // A trap in the callback ends the helper with it.
    env.on_call(0x200, |_, _, _| Err(Trap::Unsupported));
    assert_eq!(
        call(&mut h, &mut env, "loop", &[5, 0x200, ctx, 0]),
        Err(Trap::Unsupported)
    );
}

#[test]
fn loop_callback_may_call_helpers() {
    let mut fx = Fixture::new();
    let (a, map) = fx.map(def(MapType::Array, 4, 8, 1));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let key = env.put(&0u32.to_ne_bytes());
    env.on_call(0x300, move |env, host, args| {
        let p = host.call_helper(id("map_lookup_elem"), [a, key, 0, 0, 0], env)?;
        let v = env.get_u64(p)?;
        env.write(p, &(v + args[0]).to_ne_bytes())?;
        Ok(0)
    });
    assert_eq!(ok(&mut h, &mut env, "loop", &[5, 0x300, 0, 0]), 5);
    let mut out = [0u8; 8];
    map.lookup(&0u32.to_ne_bytes(), &mut out).unwrap();
    assert_eq!(u64::from_ne_bytes(out), 1 + 2 + 3 + 4);
}

#[test]
fn for_each_map_elem_visits_stops_and_grants() {
    let mut fx = Fixture::new();
    let (a, map) = fx.map(def(MapType::Array, 4, 8, 4));
    for i in 0..4u32 {
        map.update(&i.to_ne_bytes(), &(u64::from(i) * 10).to_ne_bytes(), 0)
            .unwrap();
    }
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let ctx = env.alloc(8, true);
    env.poke(ctx, &0u64.to_ne_bytes());
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let s = seen.clone();
    env.on_call(0x400, move |env, _, args| {
        let [m, key_ptr, value_ptr, ctx, _] = args;
        assert_eq!(m, a);
        let key = u32::from_ne_bytes(env.get(key_ptr, 4)?.try_into().unwrap());
        let value = env.get_u64(value_ptr)?;
        // The key is read-only, the value writable.
        assert!(matches!(
            env.write(key_ptr, &[0]),
            Err(Trap::MemoryViolation { .. })
        ));
        env.write(value_ptr, &(value + 1).to_ne_bytes())?;
        let sum = env.get_u64(ctx)?;
        env.write(ctx, &(sum + value).to_ne_bytes())?;
        s.borrow_mut().push((key, key_ptr));
        Ok(u64::from(key == 2))
    });
    assert_eq!(
        ok(&mut h, &mut env, "for_each_map_elem", &[a, 0x400, ctx, 0]),
        3
    );
    assert_eq!(env.peek_u64(ctx), 10 + 20);
    let seen = seen.borrow().clone();
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2]);
    let key_ptr = seen[0].1;
    assert!(
        env.get(key_ptr, 4).is_err(),
        "key buffer revoked after the walk"
    );
    let mut out = [0u8; 8];
    map.lookup(&1u32.to_ne_bytes(), &mut out).unwrap();
    assert_eq!(u64::from_ne_bytes(out), 11);
    map.lookup(&3u32.to_ne_bytes(), &mut out).unwrap();
    assert_eq!(u64::from_ne_bytes(out), 30, "not visited");
    assert_eq!(
        ok(&mut h, &mut env, "for_each_map_elem", &[a, 0x400, ctx, 1]),
        neg(EINVAL)
    );
}

#[test]
fn for_each_map_elem_over_a_hash_counts_all() {
    let mut fx = Fixture::new();
    let (m, map) = fx.map(def(MapType::Hash, 8, 4, 16).with_flags(BPF_F_NO_PREALLOC));
    for i in 0..5u64 {
        map.update(&i.to_ne_bytes(), &[0; 4], 0).unwrap();
    }
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let keys = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let k = keys.clone();
    env.on_call(0x500, move |env, _, args| {
        k.borrow_mut().push(env.get_u64(args[1])?);
        Ok(0)
    });
    assert_eq!(
        ok(&mut h, &mut env, "for_each_map_elem", &[m, 0x500, 0, 0]),
        5
    );
    let mut keys = keys.borrow().clone();
    keys.sort_unstable();
    assert_eq!(keys, [0, 1, 2, 3, 4]);
}

#[test]
fn spin_lock_on_a_map_value() {
    let mut fx = Fixture::new();
    let (a, map) = fx.map(def(MapType::Array, 4, 8, 1));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let key = env.put(&0u32.to_ne_bytes());
    let p = ok(&mut h, &mut env, "map_lookup_elem", &[a, key]);
    let word = |map: &Arc<dyn ebpfvm_maps::Map>| {
        let mut out = [0u8; 8];
        map.lookup(&0u32.to_ne_bytes(), &mut out).unwrap();
        u32::from_ne_bytes(out[..4].try_into().unwrap())
    };
    assert_eq!(ok(&mut h, &mut env, "spin_lock", &[p]), 0);
    assert_eq!(word(&map), 1);
    assert_eq!(
        call(&mut h, &mut env, "spin_lock", &[p]),
        Err(Trap::HelperFault {
            id: id("spin_lock")
        }),
        "relocking would deadlock"
    );
    assert_eq!(ok(&mut h, &mut env, "spin_unlock", &[p]), 0);
    assert_eq!(word(&map), 0);
    assert_eq!(ok(&mut h, &mut env, "spin_lock", &[p]), 0);
    assert_eq!(ok(&mut h, &mut env, "spin_unlock", &[p]), 0);
    assert!(matches!(
        call(&mut h, &mut env, "spin_lock", &[p + 2]),
        Err(Trap::MisalignedAtomic { .. })
    ));
}

#[test]
fn spin_lock_waits_for_another_thread() {
    let mut fx = Fixture::new();
    let (a, map) = fx.map(def(MapType::Array, 4, 8, 1));
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let key = env.put(&0u32.to_ne_bytes());
    let p = ok(&mut h, &mut env, "map_lookup_elem", &[a, key]);
    // Another "CPU" holds the lock (user space writes the word) and releases it later.
    map.update(&0u32.to_ne_bytes(), &1u64.to_ne_bytes(), 0)
        .unwrap();
    let m2 = map.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        m2.update(&0u32.to_ne_bytes(), &0u64.to_ne_bytes(), 0)
            .unwrap();
    });
    let start = std::time::Instant::now();
    assert_eq!(ok(&mut h, &mut env, "spin_lock", &[p]), 0);
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    t.join().unwrap();
    assert_eq!(ok(&mut h, &mut env, "spin_unlock", &[p]), 0);
}

#[test]
fn lookup_percpu_elem_reads_the_named_slot() {
    let mut fx = Fixture::new();
    let (m, map) = fx.map(def(MapType::PercpuArray, 4, 8, 2));
    let (a, _) = fx.map(def(MapType::Array, 4, 8, 2));
    // Slot 0 holds 10, slot 1 holds 20 (user-space values are one 8-byte value per slot).
    let mut vals = 10u64.to_ne_bytes().to_vec();
    vals.extend_from_slice(&20u64.to_ne_bytes());
    map.update(&1u32.to_ne_bytes(), &vals, 0).unwrap();
    let mut env = TestEnv::new();
    let mut h = fx.plain();
    let k = env.put(&1u32.to_ne_bytes());
    let p1 = ok(&mut h, &mut env, "map_lookup_percpu_elem", &[m, k, 1]);
    assert_eq!(env.get_u64(p1).unwrap(), 20);
    let p0 = ok(&mut h, &mut env, "map_lookup_percpu_elem", &[m, k, 0]);
    assert_eq!(env.get_u64(p0).unwrap(), 10);
    // A slot beyond the map's (Linux: cpu >= nr_cpu_ids) gives NULL.
    assert_eq!(
        ok(&mut h, &mut env, "map_lookup_percpu_elem", &[m, k, 2]),
        0
    );
    // Not a per-CPU map: NULL as well.
    assert_eq!(
        ok(&mut h, &mut env, "map_lookup_percpu_elem", &[a, k, 0]),
        0
    );
}
