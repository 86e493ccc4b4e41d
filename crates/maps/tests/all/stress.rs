//! Concurrency: several threads on one map. Each test stays well under 3 s in debug builds.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::E2BIG;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::RunGuard;

use crate::*;

const THREADS: usize = 4;

/// The value at `p` as an atomic.
fn atomic<'a>(p: *mut u8) -> &'a AtomicU64 {
    assert_eq!(p as usize % 8, 0);
    // SAFETY: `p` is an 8-byte aligned pointer to a live map value of 8 bytes, valid while
    // the caller's run guard is pinned; the map memory is AtomicU64 words.
    unsafe { &*p.cast::<AtomicU64>() }
}

/// Adders do `lock xadd` on key 0's value from "programs" while a churner updates and
/// deletes other keys from user space; no add may be lost.
fn adds_survive_churn(m: Arc<dyn Map>, churn_keys: u32, adds: u64) {
    m.update(&k32(0), &v64(0), BPF_ANY).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churner = {
        let (m, stop) = (m.clone(), stop.clone());
        thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let k = 1 + i % churn_keys;
                m.update(&k32(k), &v64(i.into()), BPF_ANY).unwrap();
                if i % 3 == 0 {
                    let _ = m.delete(&k32(k));
                }
                i = i.wrapping_add(1);
            }
        })
    };
    let adders: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..adds / 100 {
                    let run = RunGuard::pin(t);
                    for _ in 0..100 {
                        let p = m.lookup_ptr(&k32(0), &run).expect("key 0 is never deleted");
                        atomic(p).fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for a in adders {
        a.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    churner.join().unwrap();
    assert_eq!(get64(&*m, &k32(0)).unwrap(), THREADS as u64 * adds);
}

#[test]
fn array_atomic_adds_lose_nothing() {
    adds_survive_churn(make(def(MapType::Array, 4, 8, 16), THREADS), 15, 50_000);
}

#[test]
fn hash_atomic_adds_lose_nothing_under_churn() {
    // A small map, so deleted elements would be reused at once were reuse not deferred.
    adds_survive_churn(make(def(MapType::Hash, 4, 8, 8), THREADS), 6, 50_000);
}

#[test]
fn lru_atomic_adds_lose_nothing_when_key_is_referenced() {
    // Key 0 is looked up by programs constantly, so it is never the eviction victim...
    // unless the churner fills the map between two lookups; give it room.
    adds_survive_churn(make(def(MapType::LruHash, 4, 8, 64), THREADS), 40, 20_000);
}

#[test]
fn percpu_array_slots_do_not_interfere() {
    let m = make(def(MapType::PercpuArray, 4, 8, 1), THREADS);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                let run = RunGuard::pin(t);
                let p = m.lookup_ptr(&k32(0), &run).unwrap();
                for _ in 0..100_000 {
                    // A plain (non-atomic) read-modify-write: only safe because the slot is
                    // this thread's own.
                    let a = atomic(p);
                    a.store(a.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut out = vec![0u8; 8 * THREADS];
    m.lookup(&k32(0), &mut out).unwrap();
    for t in 0..THREADS {
        assert_eq!(
            u64::from_ne_bytes(out[8 * t..8 * t + 8].try_into().unwrap()),
            100_000
        );
    }
}

#[test]
fn hash_concurrent_insert_delete_keeps_consistent_counts() {
    let m = make(def(MapType::Hash, 4, 8, 4096), 1);
    let per = 1000u32;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS as u32)
        .map(|t| {
            let (m, barrier) = (m.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let base = t * per;
                for i in 0..per {
                    m.update(&k32(base + i), &v64((base + i).into()), BPF_NOEXIST)
                        .unwrap();
                }
                for i in (0..per).filter(|i| i % 2 == 1) {
                    m.delete(&k32(base + i)).unwrap();
                }
                // Everyone also fights over a shared range.
                for round in 0..200u32 {
                    let k = 1_000_000 + round % 16;
                    let _ = m.update(&k32(k), &v64(t.into()), BPF_NOEXIST);
                    let _ = m.delete(&k32(k));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut keys = BTreeSet::new();
    let mut cur: Option<[u8; 4]> = None;
    let mut out = [0u8; 4];
    while m.next_key(cur.as_ref().map(|k| &k[..]), &mut out).is_ok() {
        assert!(keys.insert(u32::from_ne_bytes(out)));
        cur = Some(out);
    }
    let expected: BTreeSet<u32> = (0..THREADS as u32 * per).filter(|k| k % 2 == 0).collect();
    assert_eq!(keys, expected);
    for &k in &expected {
        assert_eq!(get64(&*m, &k32(k)).unwrap(), u64::from(k));
    }
    let h = m.as_any().downcast_ref::<ebpfvm_maps::HashTab>().unwrap();
    assert_eq!(h.len() as usize, expected.len());
}

#[test]
fn value_pointer_survives_delete_until_guard_drops() {
    // Four elements, so churn would reuse the deleted one's memory at once.
    let m = make(def(MapType::Hash, 4, 8, 4), 1);
    let pattern = 0xabab_abab_abab_abab_u64;
    m.update(&k32(7), &v64(pattern), BPF_ANY).unwrap();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (churned_tx, churned_rx) = std::sync::mpsc::channel::<()>();
    let reader = {
        let m = m.clone();
        thread::spawn(move || {
            let run = RunGuard::pin(0);
            let p = m.lookup_ptr(&k32(7), &run).unwrap();
            held_tx.send(()).unwrap();
            churned_rx.recv().unwrap();
            // The element was deleted and thousands of others came and went.
            let v = atomic(p).load(Ordering::Relaxed);
            drop(run);
            v
        })
    };
    held_rx.recv().unwrap();
    m.delete(&k32(7)).unwrap();
    for i in 0..5000u32 {
        let k = 100 + i % 4;
        m.update(&k32(k), &v64(u64::from(i)), BPF_ANY).unwrap();
        m.delete(&k32(k)).unwrap();
        m.update(&k32(7), &v64(u64::from(i)), BPF_ANY).unwrap();
        m.delete(&k32(7)).unwrap();
    }
    let in_use = m
        .as_any()
        .downcast_ref::<ebpfvm_maps::HashTab>()
        .unwrap()
        .elements_in_use();
    churned_tx.send(()).unwrap();
    assert_eq!(
        reader.join().unwrap(),
        pattern,
        "deleted element's memory was reused"
    );
    // Every retired element waited: the pool had to grow past its four.
    assert!(in_use > 4, "{in_use}");
    let h = m.as_any().downcast_ref::<ebpfvm_maps::HashTab>().unwrap();
    // Once the guard is gone, reuse resumes: the pool stops growing.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        for i in 0..200u32 {
            m.update(&k32(i % 4), &v64(1), BPF_ANY).unwrap();
            m.delete(&k32(i % 4)).unwrap();
        }
        RunGuard::pin(0).flush();
        if h.elements_in_use() < 1000 || Instant::now() > deadline {
            break;
        }
    }
    assert!(h.elements_in_use() < 1000, "{}", h.elements_in_use());
}

/// Per-thread free lists: threads on different homes (user-space threads, program slots)
/// fill a small preallocated table to exactly `max_entries` with no spurious `E2BIG`, get
/// `E2BIG` once it is full, and empty it again from other threads than the ones that filled
/// it, so elements keep moving between free lists.
#[test]
fn hash_fills_to_exactly_max_entries_from_many_threads() {
    const PER: u32 = 64;
    let max = PER * THREADS as u32;
    let m = make(def(MapType::Hash, 4, 8, max), THREADS);
    let h = || m.as_any().downcast_ref::<ebpfvm_maps::HashTab>().unwrap();
    let barrier = Barrier::new(THREADS);
    for round in 0..20u32 {
        thread::scope(|s| {
            for t in 0..THREADS as u32 {
                let (m, barrier) = (&m, &barrier);
                s.spawn(move || {
                    let value = |k: u32| v64(u64::from(k) << 8 | u64::from(round));
                    let mine = t * PER..(t + 1) * PER;
                    for k in mine.clone() {
                        let r = if k % 2 == 0 {
                            m.update(&k32(k), &value(k), BPF_NOEXIST)
                        } else {
                            let run = RunGuard::pin(t as usize);
                            m.update_from_prog(&k32(k), &value(k), BPF_NOEXIST, &run)
                        };
                        assert_eq!(errno(r), 0, "round {round}: key {k} of {max}");
                    }
                    barrier.wait();
                    // Full: every new key fails with E2BIG, from user space and programs;
                    // replacing an existing key still works.
                    let extra = 1_000_000 + t;
                    assert_eq!(errno(m.update(&k32(extra), &v64(0), BPF_ANY)), E2BIG);
                    let run = RunGuard::pin(t as usize);
                    let r = m.update_from_prog(&k32(extra), &v64(0), BPF_NOEXIST, &run);
                    assert_eq!(errno(r), E2BIG);
                    drop(run);
                    let k = mine.start;
                    assert_eq!(errno(m.update(&k32(k), &value(k), BPF_EXIST)), 0);
                    barrier.wait();
                    // Another thread's keys: their elements go to this thread's free list.
                    let other = (t + 1) % THREADS as u32;
                    for k in other * PER..(other + 1) * PER {
                        assert_eq!(
                            get64(&**m, &k32(k)).unwrap(),
                            u64::from(k) << 8 | u64::from(round)
                        );
                        if k % 3 == 0 {
                            let run = RunGuard::pin(t as usize);
                            m.delete_from_prog(&k32(k), &run).unwrap();
                        } else {
                            m.delete(&k32(k)).unwrap();
                        }
                    }
                });
            }
        });
        assert_eq!(h().len(), 0, "round {round}");
    }
    // Deferred reuse kept up: the pool did not grow by a table per round.
    let deadline = Instant::now() + Duration::from_secs(2);
    while h().elements_in_use() > 0 && Instant::now() < deadline {
        RunGuard::pin(0).flush();
        m.update(&k32(0), &v64(0), BPF_ANY).unwrap();
        m.delete(&k32(0)).unwrap();
    }
    assert!(
        h().elements_in_use() < 20 * max,
        "{}",
        h().elements_in_use()
    );
}

/// Deletes and inserts from different threads and homes never hand one element to two
/// keys, nor reuse an element a run still sees: every thread keeps pointers to its values
/// across its own and others' churn, and they must keep what it wrote until its guard drops.
#[test]
fn hash_elements_are_never_handed_out_twice() {
    const KEYS: u32 = 16;
    let m = make(def(MapType::Hash, 4, 8, KEYS * THREADS as u32), THREADS);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                let mut x = t as u64 * 7919 + 1;
                let mut held: Vec<(*mut u8, u64)> = Vec::new();
                let mut run = RunGuard::pin(t);
                for seq in 0..20_000u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = t as u32 * KEYS + (x % u64::from(KEYS)) as u32;
                    let pattern = (t as u64) << 56 | seq;
                    match x % 5 {
                        0 => {
                            let _ = m.delete(&k32(k));
                        }
                        1 => {
                            let _ = m.delete_from_prog(&k32(k), &run);
                        }
                        2 => m.update(&k32(k), &v64(pattern), BPF_ANY).unwrap(),
                        _ => m
                            .update_from_prog(&k32(k), &v64(pattern), BPF_ANY, &run)
                            .unwrap(),
                    }
                    if x % 5 >= 2 {
                        let p = m.lookup_ptr(&k32(k), &run).expect("just updated");
                        assert_eq!(atomic(p).load(Ordering::Relaxed), pattern);
                        held.push((p, pattern));
                    }
                    if held.len() == 32 {
                        for &(p, v) in &held {
                            assert_eq!(atomic(p).load(Ordering::Relaxed), v, "element reused");
                        }
                        held.clear();
                        run.repin();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// LRU lists per home: threads inserting (evicting), deleting and referencing at once keep
/// the lists and the hash chains in agreement, never report the map full, and leave a map
/// that evicts in order again once one thread uses it.
#[test]
fn lru_lists_stay_consistent_under_churn() {
    const MAX: u32 = 64;
    let m = make(def(MapType::LruHash, 4, 8, MAX), THREADS);
    let handles: Vec<_> = (0..THREADS as u32)
        .map(|t| {
            let m = m.clone();
            thread::spawn(move || {
                let run = RunGuard::pin(t as usize);
                for i in 0..10_000u32 {
                    let k = t << 24 | i;
                    if i % 2 == 0 {
                        m.update(&k32(k), &v64(u64::from(k) * 7), BPF_NOEXIST)
                            .unwrap();
                    } else {
                        m.update_from_prog(&k32(k), &v64(u64::from(k) * 7), BPF_NOEXIST, &run)
                            .unwrap();
                    }
                    if i % 7 == 0 {
                        let _ = m.delete(&k32(t << 24 | (i / 2)));
                    }
                    if let Some(p) = m.lookup_ptr(&k32(t << 24 | i.saturating_sub(3)), &run) {
                        black_box(atomic(p).load(Ordering::Relaxed));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let keys = all_keys(&*m);
    let h = m.as_any().downcast_ref::<ebpfvm_maps::HashTab>().unwrap();
    assert_eq!(keys.len(), h.len() as usize);
    assert!(keys.len() <= MAX as usize);
    for &k in &keys {
        assert_eq!(get64(&*m, &k32(k)).unwrap(), u64::from(k) * 7);
    }
    for &k in &keys {
        m.delete(&k32(k)).unwrap();
    }
    assert_eq!(h.len(), 0);
    // One thread again: exact LRU order.
    for k in 0..MAX {
        m.update(&k32(k), &v64(1), BPF_NOEXIST).unwrap();
    }
    for k in MAX..MAX + 8 {
        m.update(&k32(k), &v64(1), BPF_NOEXIST).unwrap();
        assert!(
            get64(&*m, &k32(k - MAX)).is_err(),
            "key {} should be gone",
            k - MAX
        );
        assert!(get64(&*m, &k32(k - MAX + 1)).is_ok());
    }
    assert_eq!(all_keys(&*m), (8..MAX + 8).collect::<BTreeSet<_>>());
}

/// Once another thread's elements are older than everything this thread inserted, this
/// thread's insertions evict them rather than its own (up to the LRU clock's resolution).
#[test]
fn lru_evicts_another_threads_older_elements_first() {
    const MAX: u32 = 1024;
    let m = make(def(MapType::LruHash, 4, 8, MAX), 2);
    let fill = |base: u32| {
        let m = m.clone();
        thread::spawn(move || {
            for k in base..base + MAX {
                m.update(&k32(k), &v64(1), BPF_ANY).unwrap();
            }
        })
        .join()
        .unwrap();
    };
    fill(0);
    fill(MAX);
    let keys = all_keys(&*m);
    let old = keys.iter().filter(|&&k| k < MAX).count();
    assert_eq!(keys.len(), MAX as usize);
    assert!(
        old <= MAX as usize / 8,
        "{old} of the first thread's elements survived"
    );
}

/// A user-space thread and a program slot (different homes, so different LRU lists) filling
/// a small map in turn: evictions still go in insertion order across the two lists.
#[test]
fn lru_order_holds_across_user_space_and_a_program() {
    let m = make(def(MapType::LruHash, 4, 8, 4), 2);
    for k in 1..=4 {
        m.update(&k32(k), &v64(k.into()), BPF_NOEXIST).unwrap();
    }
    for k in 5..=9 {
        let run = RunGuard::pin(1);
        m.update_from_prog(&k32(k), &v64(k.into()), BPF_NOEXIST, &run)
            .unwrap();
        drop(run);
        assert!(
            get64(&*m, &k32(k - 4)).is_err(),
            "key {} should be gone",
            k - 4
        );
        assert_eq!(all_keys(&*m), (k - 3..=k).collect::<BTreeSet<_>>());
    }
}

/// Every key of a 4-byte-key map, by `next_key`.
fn all_keys(m: &dyn Map) -> BTreeSet<u32> {
    let mut keys = BTreeSet::new();
    let mut cur: Option<[u8; 4]> = None;
    let mut out = [0u8; 4];
    while m.next_key(cur.as_ref().map(|k| &k[..]), &mut out).is_ok() {
        assert!(
            keys.insert(u32::from_ne_bytes(out)),
            "next_key repeated a key"
        );
        cur = Some(out);
    }
    keys
}

#[test]
fn ringbuf_producers_and_consumer_lose_nothing() {
    let m = make(def(MapType::Ringbuf, 0, 0, 4096 * 4), 1);
    const PRODUCERS: u32 = 3;
    const PER: u32 = 5000;
    // Outstanding reservations: [start, end) of each, to catch overlap.
    let live: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|pid| {
            let (m, live) = (m.clone(), live.clone());
            thread::spawn(move || {
                let rb = m.as_ringbuf().unwrap();
                let deadline = Instant::now() + Duration::from_secs(20);
                for seq in 0..PER {
                    let len = 12 + ((seq * 7 + pid * 13) % 120) as usize;
                    let p = loop {
                        if let Some(p) = rb.reserve(len as u64, 0) {
                            break p;
                        }
                        assert!(Instant::now() < deadline, "the ring was never drained");
                        thread::yield_now();
                    };
                    {
                        let (s, e) = (p as usize - 8, p as usize + len);
                        let mut live = live.lock().unwrap();
                        for &(a, b) in live.iter() {
                            assert!(e <= a || b <= s, "overlapping reservations");
                        }
                        live.push((s, e));
                    }
                    let mut rec = vec![0u8; len];
                    rec[..4].copy_from_slice(&pid.to_ne_bytes());
                    rec[4..8].copy_from_slice(&seq.to_ne_bytes());
                    rec[8..12].copy_from_slice(&(len as u32).to_ne_bytes());
                    for (i, b) in rec[12..].iter_mut().enumerate() {
                        *b = (seq as usize + i) as u8 ^ pid as u8;
                    }
                    // SAFETY: p is a live reservation of len bytes.
                    unsafe { std::ptr::copy_nonoverlapping(rec.as_ptr(), p, len) };
                    live.lock().unwrap().retain(|&(s, _)| s != p as usize - 8);
                    if seq % 11 == 0 {
                        // Discard a copy-free record too: consumers must skip it.
                        if let Some(d) = rb.reserve(8, 0) {
                            rb.discard(d, 0).unwrap();
                        }
                    }
                    rb.submit(p, 0).unwrap();
                }
            })
        })
        .collect();
    let consumer = {
        let m = m.clone();
        thread::spawn(move || {
            let rb = m.as_ringbuf().unwrap();
            let mut next = [0u32; PRODUCERS as usize];
            let mut total = 0;
            let deadline = Instant::now() + Duration::from_secs(20);
            while total < PRODUCERS * PER {
                assert!(Instant::now() < deadline, "consumer starved");
                rb.poll(Duration::from_millis(10), &mut |r| {
                    let pid = u32::from_ne_bytes(r[..4].try_into().unwrap());
                    let seq = u32::from_ne_bytes(r[4..8].try_into().unwrap());
                    let len = u32::from_ne_bytes(r[8..12].try_into().unwrap()) as usize;
                    assert_eq!(r.len(), len, "record length");
                    assert_eq!(seq, next[pid as usize], "lost or reordered record");
                    next[pid as usize] += 1;
                    for (i, &b) in r[12..].iter().enumerate() {
                        assert_eq!(b, (seq as usize + i) as u8 ^ pid as u8, "torn record");
                    }
                    total += 1;
                });
            }
            total
        })
    };
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), PRODUCERS * PER);
    let rb = m.as_ringbuf().unwrap();
    assert_eq!(rb.consume(&mut |_| panic!("no record may be left")), 0);
    assert_eq!(rb.query(BPF_RB_AVAIL_DATA), 0);
}
