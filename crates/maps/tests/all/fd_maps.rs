use std::any::Any;
use std::sync::Arc;

use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::{ProgEntry, RunGuard};

use crate::*;

fn prog(id: u32) -> (ProgEntry, std::sync::Weak<dyn Any + Send + Sync>) {
    let handle: Arc<dyn Any + Send + Sync> = Arc::new(format!("prog{id}"));
    let weak = Arc::downgrade(&handle);
    (ProgEntry { id, handle }, weak)
}

#[test]
fn prog_array_slots() {
    assert_eq!(create_errno(def(MapType::ProgArray, 4, 8, 4)), EINVAL);
    assert_eq!(create_errno(def(MapType::ProgArray, 8, 4, 4)), EINVAL);
    assert_eq!(
        create_errno(def(MapType::ProgArray, 4, 4, 4).with_flags(BPF_F_RDONLY_PROG)),
        EINVAL
    );
    let m = make(def(MapType::ProgArray, 4, 4, 4), 1);
    let run = RunGuard::pin(0);
    assert!(m.prog_at(1, &run).is_none());
    let (e, weak) = prog(42);
    m.set_prog(1, Some(e)).unwrap();
    let got = m.prog_at(1, &run).unwrap();
    assert_eq!(got.id, 42);
    assert_eq!(got.handle.downcast_ref::<String>().unwrap(), "prog42");
    let mut out = [0u8; 4];
    m.lookup(&k32(1), &mut out).unwrap();
    assert_eq!(u32::from_ne_bytes(out), 42);
    assert_eq!(errno(m.lookup(&k32(0), &mut out)), ENOENT);
    assert_eq!(errno(m.set_prog(4, None)), E2BIG);
    assert_eq!(errno(m.update(&k32(1), &k32(7), BPF_ANY)), EINVAL);
    assert_eq!(errno(m.update(&k32(1), &k32(7), BPF_NOEXIST)), EINVAL);
    assert_eq!(errno(m.update(&k32(9), &k32(7), BPF_ANY)), E2BIG);
    // Clearing the slot keeps the entry alive for the run that borrowed it.
    m.delete(&k32(1)).unwrap();
    assert_eq!(errno(m.delete(&k32(1))), ENOENT);
    assert!(m.prog_at(1, &run).is_none());
    assert_eq!(got.handle.downcast_ref::<String>().unwrap(), "prog42");
    assert!(weak.upgrade().is_some());
    let mut next = [0u8; 4];
    m.next_key(Some(&k32(3)), &mut next).unwrap_err();
    m.next_key(None, &mut next).unwrap();
    assert_eq!(next, k32(0));
}

fn inner_def() -> MapDef {
    def(MapType::Array, 4, 8, 16)
}

#[test]
fn array_of_maps_checks_inner_maps_against_the_template() {
    let outer = || def(MapType::ArrayOfMaps, 4, 4, 4);
    assert_eq!(create_errno(outer()), EINVAL);
    assert_eq!(
        create_errno(outer().with_inner(def(MapType::ProgArray, 4, 4, 4))),
        EINVAL
    );
    assert_eq!(create_errno(outer().with_inner(inner_def())), 0);
    assert_eq!(
        create_errno(def(MapType::Array, 4, 8, 4).with_inner(inner_def())),
        EINVAL
    );
    let m = make(outer().with_inner(inner_def()), 1);
    let inner = make(inner_def(), 1);
    inner.update(&k32(3), &v64(33), BPF_ANY).unwrap();
    m.update_inner(&k32(2), inner.clone(), BPF_ANY).unwrap();
    assert_eq!(
        errno(m.update_inner(&k32(2), inner.clone(), BPF_NOEXIST)),
        EINVAL
    );
    assert_eq!(
        errno(m.update_inner(&k32(4), inner.clone(), BPF_ANY)),
        E2BIG
    );
    let wrong_size = make(def(MapType::Array, 4, 4, 16), 1);
    assert_eq!(errno(m.update_inner(&k32(1), wrong_size, BPF_ANY)), EINVAL);
    let wrong_max = make(def(MapType::Array, 4, 8, 8), 1);
    assert_eq!(
        errno(m.update_inner(&k32(1), wrong_max.clone(), BPF_ANY)),
        EINVAL
    );
    let wrong_type = make(def(MapType::Hash, 4, 8, 16), 1);
    assert_eq!(errno(m.update_inner(&k32(1), wrong_type, BPF_ANY)), EINVAL);
    let mut id = [0u8; 4];
    m.lookup(&k32(2), &mut id).unwrap();
    assert_eq!(u32::from_ne_bytes(id), inner.id());
    assert_eq!(errno(m.lookup(&k32(1), &mut id)), ENOENT);
    assert_eq!(errno(m.update(&k32(1), &id, BPF_ANY)), EINVAL);

    // A program reaches the inner map and its value; the inner map outlives its removal
    // for the run.
    let run = RunGuard::pin(0);
    let got = m.lookup_inner(&k32(2), &run).unwrap();
    let p = got.lookup_ptr(&k32(3), &run).unwrap();
    m.delete(&k32(2)).unwrap();
    drop(inner);
    assert!(m.lookup_inner(&k32(2), &run).is_none());
    // SAFETY: the inner map and its values stay alive while `run` is pinned.
    assert_eq!(unsafe { p.cast::<u64>().read() }, 33);
    assert_eq!(get64(&**got, &k32(3)).unwrap(), 33);

    // BPF_F_INNER_MAP on the template allows any max_entries.
    let loose = make(
        outer().with_inner(inner_def().with_flags(BPF_F_INNER_MAP)),
        1,
    );
    let inner2 = make(def(MapType::Array, 4, 8, 8).with_flags(BPF_F_INNER_MAP), 1);
    loose.update_inner(&k32(0), inner2, BPF_ANY).unwrap();
}

#[test]
fn hash_of_maps_has_hash_semantics() {
    let tmpl = def(MapType::Hash, 4, 8, 10);
    let m = make(
        def(MapType::HashOfMaps, 8, 4, 2).with_inner(tmpl.clone()),
        1,
    );
    let a = make(tmpl.clone(), 1);
    let b = make(def(MapType::Hash, 4, 8, 99), 1); // hash inner maps may differ in size
    let key = |k: u64| k.to_ne_bytes();
    assert_eq!(errno(m.update_inner(&key(1), a.clone(), BPF_EXIST)), ENOENT);
    m.update_inner(&key(1), a.clone(), BPF_NOEXIST).unwrap();
    assert_eq!(
        errno(m.update_inner(&key(1), a.clone(), BPF_NOEXIST)),
        EEXIST
    );
    m.update_inner(&key(2), b.clone(), BPF_ANY).unwrap();
    assert_eq!(errno(m.update_inner(&key(3), b.clone(), BPF_ANY)), E2BIG);
    m.update_inner(&key(1), b.clone(), BPF_EXIST).unwrap();
    let mut id = [0u8; 4];
    m.lookup(&key(1), &mut id).unwrap();
    assert_eq!(u32::from_ne_bytes(id), b.id());
    let run = RunGuard::pin(0);
    assert_eq!(m.lookup_inner(&key(2), &run).unwrap().id(), b.id());
    let mut k = [0u8; 8];
    m.next_key(None, &mut k).unwrap();
    assert_eq!(k, key(1));
    m.next_key(Some(&key(1)), &mut k).unwrap();
    assert_eq!(k, key(2));
    assert_eq!(errno(m.next_key(Some(&key(2)), &mut k)), ENOENT);
    m.delete(&key(1)).unwrap();
    assert_eq!(errno(m.delete(&key(1))), ENOENT);
    m.lookup_and_delete(&key(2), &mut id, 0).unwrap();
    assert_eq!(u32::from_ne_bytes(id), b.id());
    assert!(m.lookup_inner(&key(2), &run).is_none());
    let wrong = make(def(MapType::LruHash, 4, 8, 10), 1);
    assert_eq!(errno(m.update_inner(&key(5), wrong, BPF_ANY)), EINVAL);
}

#[test]
fn perf_event_array_streams() {
    assert_eq!(create_errno(def(MapType::PerfEventArray, 4, 4, 0)), EINVAL);
    let m = make(def(MapType::PerfEventArray, 4, 4, 2), 2);
    let pa = m.as_perf_event_array().unwrap();
    let run = RunGuard::pin(1);
    assert_eq!(errno(pa.output(0, b"x", &run)), ENOENT);
    assert_eq!(errno(pa.output(2, b"x", &run)), E2BIG);
    assert_eq!(errno(pa.output(1 << 52, b"x", &run)), EINVAL);
    assert_eq!(errno(pa.output(1 << 40, b"x", &run)), ENOENT);
    m.update(&k32(1), &k32(99), BPF_ANY).unwrap();
    pa.open(0, 64).unwrap();
    pa.output(BPF_F_CURRENT_CPU, b"on slot 1", &run).unwrap();
    pa.output(0, b"first", &run).unwrap();
    pa.output(0, b"second", &run).unwrap();
    // 64 bytes hold two 24-byte records; the third is lost.
    assert_eq!(errno(pa.output(0, b"third", &run)), ENOSPC);
    assert_eq!(pa.lost(0).unwrap(), 1);
    let mut got = Vec::new();
    assert_eq!(pa.read(0, &mut |r| got.push(r.to_vec())).unwrap(), 2);
    assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()]);
    got.clear();
    pa.read(1, &mut |r| got.push(r.to_vec())).unwrap();
    assert_eq!(got, vec![b"on slot 1".to_vec()]);
    assert_eq!(errno(m.lookup(&k32(0), &mut [0; 4])), ENOTSUPP);
    m.delete(&k32(1)).unwrap();
    assert_eq!(errno(m.delete(&k32(1))), ENOENT);
    assert_eq!(errno(pa.output(1, b"x", &run)), ENOENT);
}

#[test]
fn redirect_maps_name_their_targets() {
    assert_eq!(create_errno(def(MapType::Devmap, 4, 4, 4)), 0);
    assert_eq!(create_errno(def(MapType::Devmap, 4, 8, 4)), 0);
    assert_eq!(create_errno(def(MapType::Devmap, 4, 12, 4)), EINVAL);
    assert_eq!(create_errno(def(MapType::Xskmap, 4, 8, 4)), EINVAL);
    assert_eq!(create_errno(def(MapType::DevmapHash, 8, 4, 4)), EINVAL);
    assert_eq!(
        create_errno(def(MapType::Cpumap, 4, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    let run = RunGuard::pin(0);
    let dev = make(def(MapType::Devmap, 4, 8, 4), 1);
    assert_eq!(dev.redirect_target(1, &run), None);
    dev.update(&k32(1), &[7, 0, 0, 0, 0, 0, 0, 0], BPF_ANY)
        .unwrap();
    assert_eq!(
        dev.redirect_target(1, &run),
        Some(u32::from_ne_bytes([7, 0, 0, 0]))
    );
    assert_eq!(errno(dev.update(&k32(1), &[7; 8], BPF_NOEXIST)), EEXIST);
    assert_eq!(errno(dev.update(&k32(4), &[7; 8], BPF_ANY)), E2BIG);
    let mut k = [0u8; 4];
    dev.next_key(Some(&k32(2)), &mut k).unwrap();
    assert_eq!(k, k32(3));
    dev.delete(&k32(1)).unwrap();
    dev.delete(&k32(1)).unwrap();
    assert_eq!(dev.redirect_target(1, &run), None);
    assert_eq!(errno(dev.delete(&k32(9))), EINVAL);
    let hash = make(def(MapType::DevmapHash, 4, 4, 4), 1);
    hash.update(&k32(100), &k32(5), BPF_NOEXIST).unwrap();
    assert_eq!(hash.redirect_target(100, &run), Some(5));
    assert_eq!(errno(hash.delete(&k32(101))), ENOENT);
    let cpu = make(def(MapType::Cpumap, 4, 4, 2), 1);
    cpu.update(&k32(1), &k32(192), BPF_ANY).unwrap();
    assert_eq!(cpu.redirect_target(1, &run), Some(1));
    assert_eq!(cpu.redirect_target(0, &run), None);
    let xsk = make(def(MapType::Xskmap, 4, 4, 2), 1);
    assert_eq!(errno(xsk.update(&k32(0), &k32(3), BPF_EXIST)), ENOENT);
    xsk.update(&k32(0), &k32(3), BPF_NOEXIST).unwrap();
    assert_eq!(xsk.redirect_target(0, &run), Some(0));
    assert_eq!(errno(xsk.delete(&k32(1))), ENOENT);
    assert!(errno(dev.update_from_prog(&k32(0), &[1; 8], BPF_ANY, &run)) != 0);
}
