use std::collections::BTreeSet;

use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::RunGuard;

use crate::*;

#[test]
fn hash_creation_follows_linux_checks() {
    let d = |t, k, v, m| def(t, k, v, m);
    assert_eq!(create_errno(d(MapType::Hash, 4, 8, 16)), 0);
    assert_eq!(create_errno(d(MapType::Hash, 0, 8, 16)), EINVAL);
    assert_eq!(create_errno(d(MapType::Hash, 4, 0, 16)), EINVAL);
    assert_eq!(create_errno(d(MapType::Hash, 4, 8, 0)), EINVAL);
    assert_eq!(create_errno(d(MapType::Hash, 513, 8, 16)), E2BIG);
    assert_eq!(create_errno(d(MapType::Hash, 512, 8, 16)), 0);
    assert_eq!(
        create_errno(d(MapType::PercpuHash, 4, (32 << 10) + 1, 16)),
        E2BIG
    );
    assert_eq!(
        create_errno(d(MapType::Hash, 4, 8, 16).with_flags(BPF_F_NO_COMMON_LRU)),
        EINVAL
    );
    assert_eq!(
        create_errno(d(MapType::LruHash, 4, 8, 16).with_flags(BPF_F_NO_COMMON_LRU)),
        0
    );
    assert_eq!(
        create_errno(d(MapType::LruHash, 4, 8, 16).with_flags(BPF_F_NO_PREALLOC)),
        ENOTSUPP
    );
    assert_eq!(
        create_errno(d(MapType::Hash, 4, 8, 16).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    assert_eq!(
        create_errno(d(MapType::Hash, 4, 8, 16).with_flags(BPF_F_NO_PREALLOC)),
        0
    );
}

fn hash_ops(flags: u32) {
    let m = make(def(MapType::Hash, 4, 8, 2).with_flags(flags), 2);
    assert_eq!(errno(get64(&*m, &k32(1))), ENOENT);
    assert_eq!(errno(m.update(&k32(1), &v64(10), BPF_EXIST)), ENOENT);
    m.update(&k32(1), &v64(10), BPF_NOEXIST).unwrap();
    assert_eq!(errno(m.update(&k32(1), &v64(11), BPF_NOEXIST)), EEXIST);
    m.update(&k32(2), &v64(20), BPF_ANY).unwrap();
    assert_eq!(errno(m.update(&k32(3), &v64(30), BPF_ANY)), E2BIG);
    // Replacing an element of a full map is fine.
    m.update(&k32(1), &v64(12), BPF_EXIST).unwrap();
    m.update(&k32(2), &v64(22), BPF_ANY).unwrap();
    assert_eq!(get64(&*m, &k32(1)).unwrap(), 12);
    assert_eq!(get64(&*m, &k32(2)).unwrap(), 22);
    assert_eq!(errno(m.update(&k32(1), &v64(1), 3)), EINVAL);
    m.delete(&k32(1)).unwrap();
    assert_eq!(errno(m.delete(&k32(1))), ENOENT);
    assert_eq!(errno(get64(&*m, &k32(1))), ENOENT);
    m.update(&k32(3), &v64(30), BPF_NOEXIST).unwrap();
    let mut out = [0u8; 8];
    m.lookup_and_delete(&k32(3), &mut out, 0).unwrap();
    assert_eq!(u64::from_ne_bytes(out), 30);
    assert_eq!(errno(m.lookup_and_delete(&k32(3), &mut out, 0)), ENOENT);
    assert_eq!(
        errno(m.lookup_and_delete(&k32(2), &mut out, BPF_EXIST)),
        EINVAL
    );
    assert_eq!(errno(m.update(&[1, 2], &v64(1), BPF_ANY)), EINVAL);
}

#[test]
fn hash_flags_errnos_and_capacity() {
    hash_ops(0);
}

#[test]
fn hash_without_prealloc_behaves_the_same() {
    hash_ops(BPF_F_NO_PREALLOC);
}

#[test]
fn hash_next_key_visits_every_key_once_and_restarts_on_missing_key() {
    let m = make(def(MapType::Hash, 4, 8, 64), 1);
    for i in 0..50u32 {
        m.update(&k32(i * 7), &v64(i.into()), BPF_ANY).unwrap();
    }
    let mut seen = BTreeSet::new();
    let mut cur: Option<[u8; 4]> = None;
    let mut out = [0u8; 4];
    loop {
        match m.next_key(cur.as_ref().map(|k| &k[..]), &mut out) {
            Ok(()) => {
                assert!(seen.insert(u32::from_ne_bytes(out)), "key returned twice");
                cur = Some(out);
            }
            Err(e) => {
                assert_eq!(e.errno(), ENOENT);
                break;
            }
        }
    }
    assert_eq!(seen, (0..50).map(|i| i * 7).collect());
    let mut first = [0u8; 4];
    m.next_key(None, &mut first).unwrap();
    m.next_key(Some(&k32(1)), &mut out).unwrap();
    assert_eq!(out, first);
    let empty = make(def(MapType::Hash, 4, 8, 4), 1);
    assert_eq!(errno(empty.next_key(None, &mut out)), ENOENT);
}

#[test]
fn replaced_element_keeps_old_value_for_its_run() {
    let m = make(def(MapType::Hash, 4, 8, 4), 1);
    m.update(&k32(1), &v64(100), BPF_ANY).unwrap();
    let run = RunGuard::pin(0);
    let p = m.lookup_ptr(&k32(1), &run).unwrap();
    assert_eq!(p as usize % 8, 0);
    m.update(&k32(1), &v64(200), BPF_ANY).unwrap();
    // SAFETY: p stays valid while `run` is pinned.
    assert_eq!(unsafe { p.cast::<u64>().read() }, 100);
    assert_eq!(get64(&*m, &k32(1)).unwrap(), 200);
    let q = m.lookup_ptr(&k32(1), &run).unwrap();
    assert_ne!(p, q);
    m.delete_from_prog(&k32(1), &run).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { q.cast::<u64>().read() }, 200);
    assert!(m.lookup_ptr(&k32(1), &run).is_none());
    m.update_from_prog(&k32(9), &v64(9), BPF_NOEXIST, &run)
        .unwrap();
    assert_eq!(
        errno(m.update_from_prog(&k32(9), &v64(9), BPF_NOEXIST, &run)),
        EEXIST
    );
    let mut visited = Vec::new();
    m.for_each(&run, &mut |k, v| {
        // SAFETY: v points at the 8-byte value of a live element.
        visited.push((k.to_vec(), unsafe { v.cast::<u64>().read() }));
        false
    })
    .unwrap();
    assert_eq!(visited, vec![(k32(9).to_vec(), 9)]);
}

#[test]
fn percpu_hash_values_per_slot() {
    let m = make(def(MapType::PercpuHash, 4, 4, 8), 2);
    assert_eq!(m.user_value_size(), 16);
    let run1 = RunGuard::pin(1);
    // A program creating an element sets its slot and zeroes the others.
    m.update_from_prog(&k32(5), &7u32.to_ne_bytes(), BPF_ANY, &run1)
        .unwrap();
    let mut out = [0u8; 16];
    m.lookup(&k32(5), &mut out).unwrap();
    assert_eq!(&out[0..4], &0u32.to_ne_bytes());
    assert_eq!(&out[8..12], &7u32.to_ne_bytes());
    let mut vals = [0u8; 16];
    vals[0..4].copy_from_slice(&1u32.to_ne_bytes());
    vals[8..12].copy_from_slice(&2u32.to_ne_bytes());
    let p = m.lookup_ptr(&k32(5), &run1).unwrap();
    m.update(&k32(5), &vals, BPF_EXIST).unwrap();
    // Per-CPU updates are in place: the pointer sees the new value.
    // SAFETY: p points at slot 1's live value.
    assert_eq!(unsafe { p.cast::<u32>().read() }, 2);
    let run0 = RunGuard::pin(0);
    m.update_from_prog(&k32(5), &9u32.to_ne_bytes(), BPF_EXIST, &run0)
        .unwrap();
    m.lookup(&k32(5), &mut out).unwrap();
    assert_eq!(&out[0..4], &9u32.to_ne_bytes());
    assert_eq!(&out[8..12], &2u32.to_ne_bytes());
    let p0 = m.lookup_percpu_ptr(&k32(5), 0, &run1).unwrap();
    // SAFETY: slot 0's live value.
    assert_eq!(unsafe { p0.cast::<u32>().read() }, 9);
    assert!(m.lookup_percpu_ptr(&k32(5), 2, &run1).is_none());
    m.lookup_and_delete(&k32(5), &mut out, 0).unwrap();
    assert_eq!(&out[0..4], &9u32.to_ne_bytes());
    assert_eq!(errno(m.lookup(&k32(5), &mut out)), ENOENT);
}

#[test]
fn absurd_sizes_fail_cleanly() {
    // 2^31 buckets and elements: refused with ENOMEM rather than exhausting memory.
    assert_eq!(create_errno(def(MapType::Hash, 8, 8, 1 << 31)), ENOMEM);
    assert_eq!(
        create_errno(def(MapType::Array, 4, 1 << 20, u32::MAX)),
        ENOMEM
    );
    assert_eq!(create_errno(def(MapType::Hash, 8, 8, (1 << 31) + 1)), E2BIG);
}
