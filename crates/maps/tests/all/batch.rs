use std::collections::BTreeMap;

use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;

use crate::*;

/// All elements through repeated batch lookups of `count`.
fn walk(m: &dyn Map, count: usize, delete: bool) -> BTreeMap<u32, u64> {
    let mut all = BTreeMap::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let mut keys = vec![0u8; 4 * count];
        let mut vals = vec![0u8; 8 * count];
        let b = if delete {
            m.lookup_and_delete_batch(cursor.as_deref(), &mut keys, &mut vals, count, 0)
        } else {
            m.lookup_batch(cursor.as_deref(), &mut keys, &mut vals, count, 0)
        }
        .unwrap();
        assert!(b.count <= count);
        for i in 0..b.count {
            let k = u32::from_ne_bytes(keys[4 * i..4 * i + 4].try_into().unwrap());
            let v = u64::from_ne_bytes(vals[8 * i..8 * i + 8].try_into().unwrap());
            assert!(all.insert(k, v).is_none(), "key {k} returned twice");
        }
        if b.done {
            return all;
        }
        cursor = b.next;
    }
}

#[test]
fn array_batches_walk_in_order() {
    let m = make(def(MapType::Array, 4, 8, 8), 1);
    for i in 0..8 {
        m.update(&k32(i), &v64(u64::from(i) * 10), BPF_ANY).unwrap();
    }
    let all = walk(&*m, 3, false);
    assert_eq!(all, (0..8).map(|i| (i, u64::from(i) * 10)).collect());
    let mut keys = [0u8; 12];
    let mut vals = [0u8; 24];
    let b = m.lookup_batch(None, &mut keys, &mut vals, 3, 0).unwrap();
    assert_eq!((b.count, b.done), (3, false));
    assert_eq!(b.next.as_deref(), Some(&k32(2)[..]));
    assert_eq!(
        errno(m.lookup_batch(None, &mut keys, &mut vals, 4, 0)),
        EINVAL
    );
    assert_eq!(
        errno(m.lookup_batch(None, &mut keys, &mut vals, 3, 8)),
        EINVAL
    );
    assert_eq!(
        errno(m.lookup_and_delete_batch(None, &mut keys, &mut vals, 3, 0)),
        ENOTSUPP
    );
}

#[test]
fn hash_batches_cover_every_element_and_delete() {
    let m = make(def(MapType::Hash, 4, 8, 64), 1);
    let mut keys = Vec::new();
    let mut vals = Vec::new();
    for i in 0..40u32 {
        keys.extend_from_slice(&k32(i * 3));
        vals.extend_from_slice(&v64(u64::from(i)));
    }
    assert_eq!(m.update_batch(&keys, &vals, 40, BPF_NOEXIST).unwrap(), 40);
    let err = m.update_batch(&keys, &vals, 40, BPF_NOEXIST).unwrap_err();
    assert_eq!((err.processed, err.error.errno()), (0, EEXIST));
    let expected: BTreeMap<u32, u64> = (0..40).map(|i| (i * 3, u64::from(i))).collect();
    assert_eq!(walk(&*m, 8, false), expected);
    // Delete ten, then a missing key stops the batch.
    assert_eq!(m.delete_batch(&keys[..40], 10, 0).unwrap(), 10);
    let two = [k32(30), k32(27)].concat();
    let err = m.delete_batch(&two, 2, 0).unwrap_err();
    assert_eq!((err.processed, err.error.errno()), (1, ENOENT));
    let left = walk(&*m, 8, true);
    assert_eq!(left.len(), 29);
    assert!(!left.contains_key(&30) && left.contains_key(&33));
    assert_eq!(errno(m.next_key(None, &mut [0; 4])), ENOENT);
}

#[test]
fn hash_batch_smaller_than_a_bucket_is_enospc() {
    // With two buckets, some pair of keys shares one.
    let mut found = false;
    for k in 1..64u32 {
        let m = make(def(MapType::Hash, 4, 8, 2).with_flags(BPF_F_ZERO_SEED), 1);
        m.update(&k32(0), &v64(0), BPF_ANY).unwrap();
        m.update(&k32(k), &v64(1), BPF_ANY).unwrap();
        let (mut keys, mut vals) = ([0u8; 4], [0u8; 8]);
        match m.lookup_batch(None, &mut keys, &mut vals, 1, 0) {
            Err(e) => {
                assert_eq!(e.errno(), ENOSPC);
                found = true;
                break;
            }
            Ok(b) => assert_eq!(b.count, 1),
        }
    }
    assert!(found);
}
