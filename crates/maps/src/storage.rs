//! Value memory: 8-byte aligned words, copies in and out of them, hashing, and the spin
//! lock of the hash buckets (the hash maps' element pool is in `pool`).
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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

impl SpinLock {
    /// The lock if it is free now, without waiting (one read-modify-write: a lock whose
    /// line is not in this CPU's cache is fetched once, for writing).
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<SpinGuard<'_>> {
        (!self.0.swap(true, Ordering::Acquire)).then(|| SpinGuard(&self.0))
    }
}

/// A value guarded by a [`SpinLock`]: for data held a few instructions at a time, mostly by
/// one thread (the pool's per-thread free lists). Cheaper than `std::sync::Mutex`: unlocking
/// is a plain release store, not a read-modify-write, and there is no poisoning.
#[derive(Debug, Default)]
pub(crate) struct SpinMutex<T> {
    lock: SpinLock,
    data: std::cell::UnsafeCell<T>,
}

// SAFETY: the data is only reached through a `SpinMutexGuard`, and the lock admits one
// guard at a time, so sharing the mutex between threads shares `T` only by moving exclusive
// access from one thread to another, which `T: Send` allows.
unsafe impl<T: Send> Sync for SpinMutex<T> {}

/// Exclusive access to a [`SpinMutex`]'s value until dropped.
#[derive(Debug)]
pub(crate) struct SpinMutexGuard<'a, T> {
    data: &'a std::cell::UnsafeCell<T>,
    _lock: SpinGuard<'a>,
}

impl<T> SpinMutex<T> {
    /// Locks, spinning (then yielding) while another thread holds the lock.
    #[inline]
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, T> {
        SpinMutexGuard {
            _lock: self.lock.lock(),
            data: &self.data,
        }
    }
}

impl<T> std::ops::Deref for SpinMutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock (acquired with `Acquire`, released with `Release`
        // when `_lock` drops), so no other reference to the data exists while it lives.
        unsafe { &*self.data.get() }
    }
}

impl<T> std::ops::DerefMut for SpinMutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.data.get() }
    }
}

/// The "no element" index.
pub(crate) const NIL: u32 = u32::MAX;

#[cfg(test)]
mod tests {
    use super::*;

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
