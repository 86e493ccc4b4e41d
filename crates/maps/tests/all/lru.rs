use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::RunGuard;

use crate::*;

fn present(m: &dyn Map, k: u32) -> bool {
    get64(m, &k32(k)).is_ok()
}

/// Linux selftest `test_lru_sanity0`: size 2; add 1, add 2, a program looks 1 up, add 3:
/// 2 is evicted.
#[test]
fn lru_referenced_element_survives_eviction() {
    for t in [MapType::LruHash, MapType::LruPercpuHash] {
        let m = make(def(t, 8, 8, 2), 1);
        let vs = m.user_value_size();
        let val = vec![0x34u8; vs];
        let key = |k: u64| k.to_ne_bytes();
        m.update(&key(1), &val, BPF_NOEXIST).unwrap();
        assert_eq!(errno(m.update(&key(1), &val, BPF_NOEXIST)), EEXIST);
        assert_eq!(errno(m.update(&key(3), &val, BPF_EXIST)), ENOENT);
        m.update(&key(2), &val, BPF_NOEXIST).unwrap();
        let mut out = vec![0u8; vs];
        assert_eq!(errno(m.lookup(&key(3), &mut out)), ENOENT);
        let run = RunGuard::pin(0);
        assert!(m.lookup_ptr(&key(1), &run).is_some());
        m.update(&key(3), &val, BPF_NOEXIST).unwrap();
        assert_eq!(errno(m.lookup(&key(2), &mut out)), ENOENT);
        m.lookup(&key(1), &mut out).unwrap();
        m.lookup(&key(3), &mut out).unwrap();
        // lookup_and_delete works on LRU maps too.
        m.lookup_and_delete(&key(1), &mut out, 0).unwrap();
        assert_eq!(errno(m.lookup(&key(1), &mut out)), ENOENT);
    }
}

#[test]
fn lru_evicts_least_recently_inserted_without_references() {
    let m = make(def(MapType::LruHash, 4, 8, 4), 1);
    for k in 1..=4 {
        m.update(&k32(k), &v64(k.into()), BPF_ANY).unwrap();
    }
    m.update(&k32(5), &v64(5), BPF_ANY).unwrap();
    assert!(!present(&*m, 1));
    m.update(&k32(6), &v64(6), BPF_ANY).unwrap();
    assert!(!present(&*m, 2));
    for k in 3..=6 {
        assert!(present(&*m, k), "key {k}");
    }
    // A user-space lookup does not mark an element (Linux's `lookup_elem_sys`).
    assert!(present(&*m, 3));
    m.update(&k32(7), &v64(7), BPF_ANY).unwrap();
    assert!(!present(&*m, 3));
    // Program lookups do: 4 survives, 5 goes.
    let run = RunGuard::pin(0);
    m.lookup_ptr(&k32(4), &run).unwrap();
    m.update(&k32(8), &v64(8), BPF_ANY).unwrap();
    assert!(present(&*m, 4));
    assert!(!present(&*m, 5));
    // A replaced element counts as referenced: 6 is replaced, so 7 goes next.
    m.update(&k32(6), &v64(66), BPF_EXIST).unwrap();
    m.update(&k32(9), &v64(9), BPF_ANY).unwrap();
    assert!(!present(&*m, 7));
    for k in [4, 6, 8, 9] {
        assert!(present(&*m, k), "key {k}");
    }
    assert_eq!(get64(&*m, &k32(6)).unwrap(), 66);
}

#[test]
fn lru_never_reports_full() {
    let m = make(def(MapType::LruHash, 4, 8, 8), 1);
    for k in 0..100 {
        m.update(&k32(k), &v64(k.into()), BPF_NOEXIST).unwrap();
    }
    let mut n = 0;
    let mut cur: Option<[u8; 4]> = None;
    let mut out = [0u8; 4];
    while m.next_key(cur.as_ref().map(|k| &k[..]), &mut out).is_ok() {
        n += 1;
        cur = Some(out);
    }
    assert_eq!(n, 8);
    // The newest survive.
    for k in 92..100 {
        assert!(present(&*m, k));
    }
    m.delete(&k32(99)).unwrap();
    m.update(&k32(1000), &v64(1), BPF_NOEXIST).unwrap();
    assert!(present(&*m, 98));
}
