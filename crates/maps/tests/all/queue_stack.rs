use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;

use crate::*;

#[test]
fn queue_stack_creation_follows_linux_checks() {
    for t in [MapType::Queue, MapType::Stack] {
        assert_eq!(create_errno(def(t, 0, 4, 4)), 0);
        assert_eq!(create_errno(def(t, 4, 4, 4)), EINVAL);
        assert_eq!(create_errno(def(t, 0, 0, 4)), EINVAL);
        assert_eq!(create_errno(def(t, 0, 4, 0)), EINVAL);
        assert_eq!(
            create_errno(def(t, 0, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
            EINVAL
        );
    }
}

fn pop(m: &dyn Map) -> Result<u32, MapError> {
    let mut out = [0u8; 4];
    m.pop(&mut out)?;
    Ok(u32::from_ne_bytes(out))
}

#[test]
fn queue_is_fifo_and_stack_is_lifo() {
    let q = make(def(MapType::Queue, 0, 4, 3), 1);
    let s = make(def(MapType::Stack, 0, 4, 3), 1);
    for m in [&q, &s] {
        assert_eq!(errno(pop(&**m)), ENOENT);
        assert_eq!(errno(m.peek(&mut [0; 4])), ENOENT);
        for v in 1..=3u32 {
            m.push(&v.to_ne_bytes(), BPF_ANY).unwrap();
        }
        assert_eq!(errno(m.push(&4u32.to_ne_bytes(), BPF_ANY)), E2BIG);
        assert_eq!(errno(m.push(&4u32.to_ne_bytes(), BPF_F_LOCK)), EINVAL);
        assert_eq!(errno(m.push(&4u32.to_ne_bytes(), 3)), EINVAL);
    }
    let mut out = [0u8; 4];
    q.peek(&mut out).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 1);
    s.peek(&mut out).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 3);
    assert_eq!(
        (pop(&*q).unwrap(), pop(&*q).unwrap(), pop(&*q).unwrap()),
        (1, 2, 3)
    );
    assert_eq!(
        (pop(&*s).unwrap(), pop(&*s).unwrap(), pop(&*s).unwrap()),
        (3, 2, 1)
    );
    assert_eq!(errno(pop(&*q)), ENOENT);
}

#[test]
fn push_with_exist_overwrites_the_oldest() {
    let q = make(def(MapType::Queue, 0, 4, 3), 1);
    let s = make(def(MapType::Stack, 0, 4, 3), 1);
    for m in [&q, &s] {
        for v in 1..=4u32 {
            m.push(&v.to_ne_bytes(), BPF_EXIST).unwrap();
        }
    }
    // 1 was overwritten in both.
    assert_eq!(
        (pop(&*q).unwrap(), pop(&*q).unwrap(), pop(&*q).unwrap()),
        (2, 3, 4)
    );
    assert_eq!(
        (pop(&*s).unwrap(), pop(&*s).unwrap(), pop(&*s).unwrap()),
        (4, 3, 2)
    );
}

#[test]
fn queue_through_the_syscall_interface() {
    let q = make(def(MapType::Queue, 0, 4, 3), 1);
    q.update(&[], &7u32.to_ne_bytes(), BPF_ANY).unwrap();
    q.update(&[], &8u32.to_ne_bytes(), BPF_ANY).unwrap();
    let mut out = [0u8; 4];
    q.lookup(&[], &mut out).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 7);
    q.lookup_and_delete(&[], &mut out, 0).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 7);
    q.lookup_and_delete(&[], &mut out, 0).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 8);
    assert_eq!(errno(q.lookup_and_delete(&[], &mut out, 0)), ENOENT);
    assert_eq!(errno(q.delete(&[])), EINVAL);
    assert_eq!(errno(q.next_key(None, &mut [])), EINVAL);
    assert_eq!(errno(q.update(&[0; 4], &out, BPF_ANY)), EINVAL);
}
