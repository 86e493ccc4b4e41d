use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::RunGuard;

use crate::*;

fn key(prefixlen: u32, ip: [u8; 4]) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&prefixlen.to_ne_bytes());
    k[4..].copy_from_slice(&ip);
    k
}

fn trie(max: u32) -> std::sync::Arc<dyn Map> {
    make(
        def(MapType::LpmTrie, 8, 8, max).with_flags(BPF_F_NO_PREALLOC),
        1,
    )
}

fn get(m: &dyn Map, ip: [u8; 4]) -> Result<u64, MapError> {
    get64(m, &key(32, ip))
}

#[test]
fn lpm_creation_follows_linux_checks() {
    let d = |k, f| def(MapType::LpmTrie, k, 8, 16).with_flags(f);
    assert_eq!(create_errno(d(8, BPF_F_NO_PREALLOC)), 0);
    assert_eq!(create_errno(d(8, 0)), EINVAL);
    assert_eq!(create_errno(d(4, BPF_F_NO_PREALLOC)), EINVAL);
    assert_eq!(create_errno(d(5, BPF_F_NO_PREALLOC)), 0);
    assert_eq!(create_errno(d(260, BPF_F_NO_PREALLOC)), 0);
    assert_eq!(create_errno(d(261, BPF_F_NO_PREALLOC)), EINVAL);
    assert_eq!(
        create_errno(d(8, BPF_F_NO_PREALLOC | BPF_F_MMAPABLE)),
        EINVAL
    );
}

/// The example in the comment at the top of Linux's `lpm_trie.c`.
fn linux_example() -> std::sync::Arc<dyn Map> {
    let m = trie(16);
    m.update(&key(16, [192, 168, 0, 0]), &v64(1), BPF_ANY)
        .unwrap();
    m.update(&key(24, [192, 168, 0, 0]), &v64(2), BPF_ANY)
        .unwrap();
    m.update(&key(24, [192, 168, 128, 0]), &v64(3), BPF_ANY)
        .unwrap();
    m.update(&key(24, [192, 168, 1, 0]), &v64(5), BPF_ANY)
        .unwrap();
    m
}

#[test]
fn lpm_returns_the_longest_matching_prefix() {
    let m = linux_example();
    assert_eq!(get(&*m, [192, 168, 0, 1]).unwrap(), 2);
    assert_eq!(get(&*m, [192, 168, 1, 77]).unwrap(), 5);
    assert_eq!(get(&*m, [192, 168, 128, 5]).unwrap(), 3);
    assert_eq!(get(&*m, [192, 168, 200, 1]).unwrap(), 1);
    assert_eq!(get(&*m, [192, 168, 2, 1]).unwrap(), 1);
    assert_eq!(errno(get(&*m, [10, 0, 0, 1])), ENOENT);
    // A lookup key's prefix length bounds the match.
    assert_eq!(get64(&*m, &key(20, [192, 168, 1, 77])).unwrap(), 1);
    assert_eq!(errno(get64(&*m, &key(8, [192, 168, 1, 77]))), ENOENT);
    assert_eq!(errno(get64(&*m, &key(33, [192, 168, 1, 77]))), ENOENT);
    // A default route matches everything.
    m.update(&key(0, [0; 4]), &v64(99), BPF_ANY).unwrap();
    assert_eq!(get(&*m, [10, 0, 0, 1]).unwrap(), 99);
    assert_eq!(get(&*m, [192, 168, 1, 1]).unwrap(), 5);
    let run = RunGuard::pin(0);
    let p = m.lookup_ptr(&key(32, [192, 168, 128, 9]), &run).unwrap();
    // SAFETY: p points at the live value of 192.168.128.0/24.
    assert_eq!(unsafe { p.cast::<u64>().read() }, 3);
    m.update(&key(24, [192, 168, 128, 0]), &v64(33), BPF_EXIST)
        .unwrap();
    // SAFETY: replaced values stay readable for the run.
    assert_eq!(unsafe { p.cast::<u64>().read() }, 3);
    assert_eq!(get(&*m, [192, 168, 128, 9]).unwrap(), 33);
}

#[test]
fn lpm_next_key_is_post_order() {
    let m = linux_example();
    let mut order = Vec::new();
    let mut cur: Option<[u8; 8]> = None;
    let mut out = [0u8; 8];
    while m.next_key(cur.as_ref().map(|k| &k[..]), &mut out).is_ok() {
        order.push(out);
        cur = Some(out);
    }
    // The order the comment in Linux's trie_get_next_key gives.
    assert_eq!(
        order,
        vec![
            key(24, [192, 168, 0, 0]),
            key(24, [192, 168, 1, 0]),
            key(24, [192, 168, 128, 0]),
            key(16, [192, 168, 0, 0]),
        ]
    );
    // A key not in the trie restarts from the leftmost.
    m.next_key(Some(&key(24, [10, 0, 0, 0])), &mut out).unwrap();
    assert_eq!(out, key(24, [192, 168, 0, 0]));
}

#[test]
fn lpm_update_delete_errnos_and_capacity() {
    let m = linux_example();
    assert_eq!(
        errno(m.update(&key(24, [192, 168, 0, 0]), &v64(7), BPF_NOEXIST)),
        EEXIST
    );
    assert_eq!(
        errno(m.update(&key(24, [10, 0, 0, 0]), &v64(7), BPF_EXIST)),
        ENOENT
    );
    assert_eq!(
        errno(m.update(&key(33, [10, 0, 0, 0]), &v64(7), BPF_ANY)),
        EINVAL
    );
    assert_eq!(errno(m.update(&key(8, [10, 0, 0, 0]), &v64(7), 3)), EINVAL);
    assert_eq!(errno(m.delete(&key(24, [10, 0, 0, 0]))), ENOENT);
    assert_eq!(errno(m.delete(&key(33, [10, 0, 0, 0]))), EINVAL);
    // 192.168.0.0/23 is an intermediate node, not an element.
    assert_eq!(errno(m.delete(&key(23, [192, 168, 0, 0]))), ENOENT);
    m.delete(&key(16, [192, 168, 0, 0])).unwrap();
    assert_eq!(errno(get(&*m, [192, 168, 200, 1])), ENOENT);
    assert_eq!(get(&*m, [192, 168, 0, 1]).unwrap(), 2);
    m.delete(&key(24, [192, 168, 0, 0])).unwrap();
    assert_eq!(errno(get(&*m, [192, 168, 0, 1])), ENOENT);
    assert_eq!(get(&*m, [192, 168, 1, 1]).unwrap(), 5);
    // Turning the intermediate 192.168.0.0/23 into an element.
    m.update(&key(23, [192, 168, 0, 0]), &v64(23), BPF_NOEXIST)
        .unwrap();
    assert_eq!(get(&*m, [192, 168, 0, 1]).unwrap(), 23);

    let small = trie(2);
    small
        .update(&key(8, [10, 0, 0, 0]), &v64(1), BPF_ANY)
        .unwrap();
    small
        .update(&key(16, [10, 1, 0, 0]), &v64(2), BPF_ANY)
        .unwrap();
    assert_eq!(
        errno(small.update(&key(16, [10, 2, 0, 0]), &v64(3), BPF_ANY)),
        ENOSPC
    );
    small
        .update(&key(16, [10, 1, 0, 0]), &v64(4), BPF_ANY)
        .unwrap();
    assert_eq!(get(&*small, [10, 1, 2, 3]).unwrap(), 4);
    assert_eq!(get(&*small, [10, 9, 2, 3]).unwrap(), 1);
}

#[test]
fn lpm_matches_a_brute_force_model() {
    // Deterministic pseudo-random prefixes against a linear longest-match search.
    let m = make(
        def(MapType::LpmTrie, 8, 8, 1000).with_flags(BPF_F_NO_PREALLOC),
        1,
    );
    let mut model: Vec<(u32, u32, u64)> = Vec::new();
    let mut x = 0x1234_5678u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mask = |len: u32| if len == 0 { 0 } else { u32::MAX << (32 - len) };
    for i in 0..300u64 {
        let len = (rnd() % 33) as u32;
        let ip = (0x0a00_0000 | rnd() as u32 & 0x0003_ffff) & mask(len);
        if rnd() % 4 == 0 && !model.is_empty() {
            let (l, a, _) = model.remove((rnd() % model.len() as u64) as usize);
            m.delete(&key(l, a.to_be_bytes())).unwrap();
            continue;
        }
        m.update(&key(len, ip.to_be_bytes()), &v64(i), BPF_ANY)
            .unwrap();
        model.retain(|&(l, a, _)| (l, a) != (len, ip));
        model.push((len, ip, i));
    }
    for _ in 0..2000 {
        let ip = 0x0a00_0000 | rnd() as u32 & 0x0003_ffff;
        let want = model
            .iter()
            .filter(|&&(l, a, _)| ip & mask(l) == a)
            .max_by_key(|&&(l, _, _)| l)
            .map(|&(_, _, v)| v);
        assert_eq!(get(&*m, ip.to_be_bytes()).ok(), want, "ip {ip:#x}");
    }
}
