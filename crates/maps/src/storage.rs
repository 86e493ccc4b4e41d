//! Value memory: 8-byte aligned words, copies in and out of them, the element pool of the
//! hash maps, and the spin lock of their buckets.
//!
//! All map memory is `[AtomicU64]`: values are 8-byte aligned, so the atomic instructions
//! programs run on looked-up values are real atomics, and user-space copies use relaxed
//! atomic word accesses, so a copy racing with a program's store is not a data race. A
//! pointer into the words is a `*mut u8` programs may write through (the words are interior
//! mutable).

#![allow(
    unsafe_code,
    reason = "one of the places ARCHITECTURE.md allows unsafe; every block has a SAFETY comment"
)]

use std::alloc::Layout;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::MapError;

/// A block of zero-initialised value memory.
pub(crate) type Words = Box<[AtomicU64]>;

/// The largest block this crate allocates (Linux refuses maps whose memory exceeds what
/// `kvmalloc` and the memory cgroup allow; we stop at 16 GiB so absurd attributes fail
/// cleanly with `ENOMEM`).
const MAX_BLOCK_BYTES: usize = 16 << 30;

/// Words needed for `bytes` bytes.
pub(crate) const fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

/// `bytes` rounded up to a multiple of 8.
pub(crate) const fn round8(bytes: usize) -> usize {
    words_for(bytes) * 8
}

/// `n` zeroed words, from the allocator's zeroed pages (untouched memory stays lazily
/// mapped, as a preallocated kernel map's would be).
pub(crate) fn zeroed_words(n: usize) -> Result<Words, MapError> {
    if n == 0 {
        return Ok(Box::new([]));
    }
    let layout = Layout::array::<AtomicU64>(n).map_err(|_| MapError::NoMemory)?;
    if layout.size() > MAX_BLOCK_BYTES {
        return Err(MapError::NoMemory);
    }
    // SAFETY: `layout` has a non-zero size. `alloc_zeroed` returns null or memory fit for
    // `n` `AtomicU64`s; all-zero bytes are a valid `AtomicU64` (it has `u64`'s
    // representation). The box frees it with `Layout::array::<AtomicU64>(n)`, the layout
    // it was allocated with.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<AtomicU64>();
        if p.is_null() {
            return Err(MapError::NoMemory);
        }
        Ok(Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n)))
    }
}

/// The address of the first byte of `words`, writable by programs.
#[inline]
pub(crate) fn ptr_of(words: &[AtomicU64]) -> *mut u8 {
    words.as_ptr().cast::<u8>().cast_mut()
}

/// Copies the first `out.len()` bytes of `words` to `out`.
#[inline]
pub(crate) fn load_bytes(words: &[AtomicU64], out: &mut [u8]) {
    for (dst, w) in out.chunks_mut(8).zip(words) {
        let v = w.load(Ordering::Relaxed).to_ne_bytes();
        dst.copy_from_slice(&v[..dst.len()]);
    }
}

/// Copies `src` into `words`, zero-filling the rest of the last word.
#[inline]
pub(crate) fn store_bytes(words: &[AtomicU64], src: &[u8]) {
    for (s, w) in src.chunks(8).zip(words) {
        w.store(pad_word(s), Ordering::Relaxed);
    }
}

/// Zeroes `words`.
pub(crate) fn zero(words: &[AtomicU64]) {
    for w in words {
        w.store(0, Ordering::Relaxed);
    }
}

/// Up to 8 bytes as a native-endian word, zero-padded (the bytes at the word's lowest
/// addresses, as `store_bytes` lays them out).
#[inline(always)]
pub(crate) fn pad_word(s: &[u8]) -> u64 {
    match s.len() {
        8 => u64::from_ne_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
        4 => {
            let v = u64::from(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
            if cfg!(target_endian = "big") {
                v << 32
            } else {
                v
            }
        }
        _ => {
            let mut b = [0u8; 8];
            b[..s.len()].copy_from_slice(s);
            u64::from_ne_bytes(b)
        }
    }
}

/// Whether `words` hold exactly `key` (zero-padded to a word).
#[inline(always)]
pub(crate) fn key_eq(words: &[AtomicU64], key: &[u8]) -> bool {
    if key.len() <= 8 {
        return words.first().map(|w| w.load(Ordering::Relaxed)) == Some(pad_word(key));
    }
    key.chunks(8)
        .zip(words)
        .all(|(k, w)| w.load(Ordering::Relaxed) == pad_word(k))
}

/// A 32-bit hash of `key` under `seed` (a multiply-xorshift mix; Linux uses jhash, whose
/// values nothing depends on).
#[inline(always)]
pub(crate) fn hash_bytes(key: &[u8], seed: u64) -> u32 {
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    if key.len() <= 8 {
        h = (h ^ pad_word(key)).wrapping_mul(M);
    } else {
        for chunk in key.chunks(8) {
            h = (h ^ pad_word(chunk)).wrapping_mul(M);
            h ^= h >> 29;
        }
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    h as u32
}

/// A random seed per map (Linux seeds its hash maps unless `BPF_F_ZERO_SEED`).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(&h as *const _ as usize);
    h.finish()
}

/// A test-and-set lock with spinning then yielding; guards hash buckets, which are held for
/// a few stores only.
#[derive(Debug, Default)]
pub(crate) struct SpinLock(AtomicBool);

/// Holds a [`SpinLock`] until dropped.
#[derive(Debug)]
pub(crate) struct SpinGuard<'a>(&'a AtomicBool);

impl SpinLock {
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_> {
        let mut spins = 0u32;
        loop {
            if !self.0.swap(true, Ordering::Acquire) {
                return SpinGuard(&self.0);
            }
            while self.0.load(Ordering::Relaxed) {
                spins = spins.saturating_add(1);
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
}

impl Drop for SpinGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The "no element" index.
pub(crate) const NIL: u32 = u32::MAX;

/// Elements of the first growth chunk; chunk `k` (from 1) holds `GROW << (k - 1)`.
const GROW_SHIFT: u32 = 6;
/// How many growth chunks there can be (enough for 2^32 elements).
const GROW_CHUNKS: usize = 27;

/// Fixed-size elements addressed by `u32` index, for the hash maps.
///
/// The first chunk holds the preallocated elements; when they run out (no preallocation,
/// or elements waiting for their deferred reuse) the pool grows by chunks of doubling size.
/// Memory is returned only when the pool drops. An index stays valid for the pool's life,
/// so readers never follow a dangling pointer, and an element is reused only after the epoch
/// collector has run its deferred [`Pool::free`].
pub(crate) struct Pool {
    elem_words: usize,
    first: Words,
    first_len: u32,
    grown: [OnceLock<Words>; GROW_CHUNKS],
    free: Mutex<FreeList>,
    /// Elements handed out and not freed (live or waiting for deferred reuse).
    in_use: AtomicU32,
}

#[derive(Debug)]
struct FreeList {
    free: Vec<u32>,
    /// Next never-used index.
    next: u32,
    /// Elements in the chunks allocated so far.
    capacity: u32,
    /// Growth chunks allocated.
    chunks: usize,
    /// Unlinked elements not yet handed to the epoch collector.
    limbo: Vec<u32>,
}

/// Unlinked elements handed to the epoch collector at once.
const LIMBO_BATCH: usize = 32;

impl Pool {
    /// A pool of `elem_words`-word elements with `prealloc` of them allocated up front.
    pub(crate) fn new(elem_words: usize, prealloc: u32) -> Result<Pool, MapError> {
        let first = zeroed_words(
            (prealloc as usize)
                .checked_mul(elem_words)
                .ok_or(MapError::NoMemory)?,
        )?;
        Ok(Pool {
            elem_words,
            first,
            first_len: prealloc,
            grown: Default::default(),
            free: Mutex::new(FreeList {
                free: Vec::new(),
                next: 0,
                capacity: prealloc,
                chunks: 0,
                limbo: Vec::new(),
            }),
            in_use: AtomicU32::new(0),
        })
    }

    /// The words of element `idx` (an index [`Pool::alloc`] returned).
    #[inline]
    pub(crate) fn elem(&self, idx: u32) -> &[AtomicU64] {
        let w = self.elem_words;
        if idx < self.first_len {
            let at = idx as usize * w;
            return &self.first[at..at + w];
        }
        let j = idx - self.first_len;
        let t = (j >> GROW_SHIFT) + 1;
        let k = (32 - t.leading_zeros()) as usize; // 1-based chunk number
        let start = ((1u32 << (k - 1)) - 1) << GROW_SHIFT;
        let at = (j - start) as usize * w;
        let chunk = self.grown[k - 1]
            .get()
            .expect("indices come from alloc, which created their chunk");
        &chunk[at..at + w]
    }

    /// A fresh element index (its words hold stale data), or `None` when the index space
    /// or memory is exhausted.
    pub(crate) fn alloc(&self) -> Option<u32> {
        let mut fl = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let idx = if let Some(i) = fl.free.pop() {
            i
        } else {
            if fl.next == fl.capacity {
                let k = fl.chunks;
                if k >= GROW_CHUNKS {
                    return None;
                }
                let len = (1u32 << GROW_SHIFT) << k;
                let words = zeroed_words(len as usize * self.elem_words).ok()?;
                let _ = self.grown[k].set(words);
                fl.chunks += 1;
                fl.capacity = fl.capacity.checked_add(len).filter(|&c| c < NIL)?;
            }
            let i = fl.next;
            fl.next += 1;
            i
        };
        self.in_use.fetch_add(1, Ordering::Relaxed);
        Some(idx)
    }

    /// Takes an unlinked element out of use: it becomes reusable once every guard pinned
    /// now (or later, up to when its batch is handed over) has been dropped. Elements are
    /// handed to the epoch collector in batches, which saves a deferred call (and a
    /// reference count round trip) per element.
    pub(crate) fn retire(self: &std::sync::Arc<Self>, idx: u32, guard: &crossbeam_epoch::Guard) {
        let batch = {
            let mut fl = self.free.lock().unwrap_or_else(|e| e.into_inner());
            fl.limbo.push(idx);
            if fl.limbo.len() < LIMBO_BATCH {
                return;
            }
            std::mem::replace(&mut fl.limbo, Vec::with_capacity(LIMBO_BATCH))
        };
        let pool = std::sync::Arc::clone(self);
        guard.defer(move || pool.free_many(&batch));
    }

    /// Returns elements for reuse.
    fn free_many(&self, idx: &[u32]) {
        self.in_use.fetch_sub(idx.len() as u32, Ordering::Relaxed);
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .free
            .extend_from_slice(idx);
    }

    /// Returns element `idx` for reuse at once (it was never visible to readers).
    #[cfg(test)]
    pub(crate) fn free(&self, idx: u32) {
        self.free_many(&[idx]);
    }

    /// Elements handed out and not yet freed.
    pub(crate) fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("elem_words", &self.elem_words)
            .field("first_len", &self.first_len)
            .field("in_use", &self.in_use())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_grows_and_addresses_distinct_elements() {
        let pool = Pool::new(3, 5).unwrap();
        let mut seen = Vec::new();
        for n in 0..500u64 {
            let i = pool.alloc().unwrap();
            pool.elem(i)[0].store(n, Ordering::Relaxed);
            seen.push(i);
        }
        for (n, &i) in seen.iter().enumerate() {
            assert_eq!(pool.elem(i)[0].load(Ordering::Relaxed), n as u64);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 500);
        pool.free(seen[7]);
        assert_eq!(pool.alloc(), Some(seen[7]));
        assert_eq!(pool.in_use(), 500);
    }

    #[test]
    fn bytes_round_trip_through_words() {
        let w = zeroed_words(2).unwrap();
        store_bytes(&w, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let mut out = [0u8; 10];
        load_bytes(&w, &mut out);
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(key_eq(&w, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
        assert!(!key_eq(&w, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 11]));
        assert_ne!(hash_bytes(&[1, 2, 3, 4], 0), hash_bytes(&[1, 2, 3, 5], 0));
    }
}
