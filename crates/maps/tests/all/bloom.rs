use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;

use crate::*;

#[test]
fn bloom_creation_follows_linux_checks() {
    let d = |k, v, m| def(MapType::BloomFilter, k, v, m);
    assert_eq!(create_errno(d(0, 4, 100)), 0);
    assert_eq!(create_errno(d(0, 4, 100).with_map_extra(3)), 0);
    assert_eq!(create_errno(d(0, 4, 100).with_map_extra(16)), EINVAL);
    assert_eq!(create_errno(d(4, 4, 100)), EINVAL);
    assert_eq!(create_errno(d(0, 0, 100)), EINVAL);
    assert_eq!(create_errno(d(0, 4, 0)), EINVAL);
    assert_eq!(
        create_errno(d(0, 4, 100).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
}

#[test]
fn bloom_has_no_false_negatives_and_few_false_positives() {
    let m = make(
        def(MapType::BloomFilter, 0, 8, 1000)
            .with_map_extra(3)
            .with_flags(BPF_F_ZERO_SEED),
        1,
    );
    let mut v = [0u8; 8];
    for i in 0..1000u64 {
        v.copy_from_slice(&(i * 2654435761).to_ne_bytes());
        m.push(&v, BPF_ANY).unwrap();
    }
    for i in 0..1000u64 {
        v.copy_from_slice(&(i * 2654435761).to_ne_bytes());
        m.peek(&mut v).unwrap();
        m.lookup(&[], &mut v).unwrap();
    }
    let mut fp = 0;
    for i in 1000..11000u64 {
        v.copy_from_slice(&(i * 2654435761).to_ne_bytes());
        if m.peek(&mut v).is_ok() {
            fp += 1;
        }
    }
    // 3 hashes over 4096 bits with 1000 values: ~9% expected.
    assert!(fp < 1500, "{fp} false positives in 10000");
    let empty = make(def(MapType::BloomFilter, 0, 8, 1000), 1);
    assert_eq!(errno(empty.peek(&mut v)), ENOENT);
    assert_eq!(errno(m.push(&v, BPF_EXIST)), EINVAL);
    m.update(&[], &v, BPF_ANY).unwrap();
    m.peek(&mut v).unwrap();
    assert_eq!(errno(m.delete(&[])), EOPNOTSUPP);
    assert_eq!(errno(m.next_key(None, &mut [])), EOPNOTSUPP);
    assert_eq!(errno(m.pop(&mut v)), EOPNOTSUPP);
}
