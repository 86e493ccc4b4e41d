use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::{ArrayMap, RunGuard};

use crate::*;

#[test]
fn array_creation_follows_linux_checks() {
    let d = |k, v, m| def(MapType::Array, k, v, m);
    assert_eq!(create_errno(d(4, 8, 4)), 0);
    assert_eq!(create_errno(d(8, 8, 4)), EINVAL);
    assert_eq!(create_errno(d(4, 0, 4)), EINVAL);
    assert_eq!(create_errno(d(4, 8, 0)), EINVAL);
    assert_eq!(
        create_errno(d(4, 8, 4).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    assert_eq!(create_errno(d(4, 8, 4).with_flags(BPF_F_MMAPABLE)), 0);
    assert_eq!(
        create_errno(d(4, 8, 4).with_flags(BPF_F_RDONLY | BPF_F_WRONLY)),
        EINVAL
    );
    assert_eq!(
        create_errno(d(4, 8, 4).with_flags(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
        EINVAL
    );
    assert_eq!(create_errno(d(4, 8, 4).with_map_extra(1)), EINVAL);
    assert_eq!(create_errno(d(4, (4 << 20) + 1, 1)), E2BIG);
    let p = |f| def(MapType::PercpuArray, 4, 8, 4).with_flags(f);
    assert_eq!(create_errno(p(0)), 0);
    assert_eq!(create_errno(p(BPF_F_MMAPABLE)), EINVAL);
    assert_eq!(
        create_errno(def(MapType::PercpuArray, 4, (32 << 10) + 1, 4)),
        E2BIG
    );
}

#[test]
fn array_elements_always_exist() {
    let m = make(def(MapType::Array, 4, 8, 4), 2);
    assert_eq!(get64(&*m, &k32(3)).unwrap(), 0);
    assert_eq!(errno(get64(&*m, &k32(4))), ENOENT);
    m.update(&k32(1), &v64(11), BPF_ANY).unwrap();
    assert_eq!(get64(&*m, &k32(1)).unwrap(), 11);
    assert_eq!(errno(m.update(&k32(1), &v64(12), BPF_NOEXIST)), EEXIST);
    m.update(&k32(1), &v64(13), BPF_EXIST).unwrap();
    m.update(&k32(2), &v64(14), BPF_EXIST | BPF_F_LOCK).unwrap();
    assert_eq!(get64(&*m, &k32(1)).unwrap(), 13);
    assert_eq!(get64(&*m, &k32(2)).unwrap(), 14);
    assert_eq!(errno(m.update(&k32(4), &v64(1), BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update(&k32(0), &v64(1), 3)), EINVAL);
    assert_eq!(errno(m.delete(&k32(0))), EINVAL);
    assert_eq!(errno(m.update(&[0; 8], &v64(1), BPF_ANY)), EINVAL);
    assert_eq!(errno(m.update(&k32(0), &[1; 4], BPF_ANY)), EINVAL);
    let mut short = [0u8; 4];
    assert_eq!(errno(m.lookup(&k32(0), &mut short)), EINVAL);
    assert_eq!(
        errno(m.lookup_and_delete(&k32(0), &mut [0; 8], 0)),
        ENOTSUPP
    );
}

#[test]
fn array_next_key_walks_in_index_order() {
    let m = make(def(MapType::Array, 4, 8, 3), 1);
    let mut out = [0u8; 4];
    m.next_key(None, &mut out).unwrap();
    assert_eq!(out, k32(0));
    m.next_key(Some(&k32(0)), &mut out).unwrap();
    assert_eq!(out, k32(1));
    m.next_key(Some(&k32(1)), &mut out).unwrap();
    assert_eq!(out, k32(2));
    assert_eq!(errno(m.next_key(Some(&k32(2)), &mut out)), ENOENT);
    m.next_key(Some(&k32(77)), &mut out).unwrap();
    assert_eq!(out, k32(0));
}

#[test]
fn array_values_are_aligned_contiguous_and_shared_with_programs() {
    let m = make(def(MapType::Array, 4, 12, 5).with_flags(BPF_F_MMAPABLE), 1);
    let a = m.as_any().downcast_ref::<ArrayMap>().unwrap();
    let (base, len) = a.memory();
    assert_eq!(len, 5 * 16);
    let run = RunGuard::pin(0);
    for i in 0..5u32 {
        let p = m.lookup_ptr(&k32(i), &run).unwrap();
        assert_eq!(p as usize % 8, 0);
        assert_eq!(p as usize, base as usize + 16 * i as usize);
    }
    assert!(m.lookup_ptr(&k32(5), &run).is_none());
    let p = m.lookup_ptr(&k32(2), &run).unwrap();
    // SAFETY: p points at a 12-byte value of the live map, 8-byte aligned.
    unsafe { p.cast::<u64>().write(0x0102_0304_0506_0708) };
    let mut out = [0u8; 12];
    m.lookup(&k32(2), &mut out).unwrap();
    assert_eq!(&out[..8], &0x0102_0304_0506_0708u64.to_ne_bytes());
    m.update_from_prog(&k32(3), &[9; 12], BPF_ANY, &run)
        .unwrap();
    m.lookup(&k32(3), &mut out).unwrap();
    assert_eq!(out, [9; 12]);
    let mut seen = Vec::new();
    let n = m
        .for_each(&run, &mut |k, _| {
            seen.push(u32::from_ne_bytes(k.try_into().unwrap()));
            seen.len() == 3
        })
        .unwrap();
    assert_eq!((n, seen), (3, vec![0, 1, 2]));
}

#[test]
fn access_flags_and_freezing() {
    let ro = make(def(MapType::Array, 4, 8, 2).with_flags(BPF_F_RDONLY), 1);
    assert_eq!(errno(ro.update(&k32(0), &v64(1), BPF_ANY)), EPERM);
    assert_eq!(get64(&*ro, &k32(0)).unwrap(), 0);
    assert_eq!(errno(ro.freeze()), EPERM);
    let wo = make(def(MapType::Array, 4, 8, 2).with_flags(BPF_F_WRONLY), 1);
    wo.update(&k32(0), &v64(1), BPF_ANY).unwrap();
    assert_eq!(errno(get64(&*wo, &k32(0))), EPERM);
    assert_eq!(errno(wo.next_key(None, &mut [0; 4])), EPERM);
    let m = make(def(MapType::Array, 4, 8, 2), 1);
    m.freeze().unwrap();
    assert!(m.is_frozen());
    assert_eq!(errno(m.update(&k32(0), &v64(1), BPF_ANY)), EPERM);
    assert_eq!(errno(m.freeze()), EBUSY);
    let run = RunGuard::pin(0);
    m.update_from_prog(&k32(0), &v64(5), BPF_ANY, &run).unwrap();
    assert_eq!(get64(&*m, &k32(0)).unwrap(), 5);
    let rop = make(
        def(MapType::Array, 4, 8, 2).with_flags(BPF_F_RDONLY_PROG),
        1,
    );
    assert!(!rop.prog_may_write() && rop.prog_may_read());
    assert_eq!(
        errno(rop.update_from_prog(&k32(0), &v64(5), BPF_ANY, &run)),
        EPERM
    );
    let wop = make(
        def(MapType::Array, 4, 8, 2).with_flags(BPF_F_WRONLY_PROG),
        1,
    );
    assert!(wop.prog_may_write() && !wop.prog_may_read());
}

#[test]
fn percpu_array_keeps_one_value_per_slot() {
    let m = make(def(MapType::PercpuArray, 4, 4, 2), 3);
    assert_eq!(m.user_value_size(), 24);
    let mut vals = [0u8; 24];
    vals[0..4].copy_from_slice(&1u32.to_ne_bytes());
    vals[8..12].copy_from_slice(&2u32.to_ne_bytes());
    vals[16..20].copy_from_slice(&3u32.to_ne_bytes());
    m.update(&k32(1), &vals, BPF_ANY).unwrap();
    let mut out = [0u8; 24];
    m.lookup(&k32(1), &mut out).unwrap();
    assert_eq!(out, vals);
    let run = RunGuard::pin(1);
    m.update_from_prog(&k32(1), &20u32.to_ne_bytes(), BPF_ANY, &run)
        .unwrap();
    m.lookup(&k32(1), &mut out).unwrap();
    assert_eq!(u32::from_ne_bytes(out[8..12].try_into().unwrap()), 20);
    assert_eq!(u32::from_ne_bytes(out[0..4].try_into().unwrap()), 1);
    assert_eq!(u32::from_ne_bytes(out[16..20].try_into().unwrap()), 3);
    let p1 = m.lookup_ptr(&k32(1), &run).unwrap();
    // SAFETY: p1 points at the live 4-byte value of slot 1.
    assert_eq!(unsafe { p1.cast::<u32>().read() }, 20);
    let p2 = m.lookup_percpu_ptr(&k32(1), 2, &run).unwrap();
    // SAFETY: as above, slot 2.
    assert_eq!(unsafe { p2.cast::<u32>().read() }, 3);
    assert!(m.lookup_percpu_ptr(&k32(1), 3, &run).is_none());
    assert_ne!(p1, p2);
    assert_eq!(errno(m.update(&k32(0), &[0; 8], BPF_ANY)), EINVAL);
}
