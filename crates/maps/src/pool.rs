//! The element pool of the hash maps: fixed-size elements addressed by `u32` index, with
//! per-thread free lists.
//!
//! ```text
//!   Pool ─ memory (read-only after creation; own cache lines)
//!        ├ shards[0..n]   free list + limbo + counters, one lock each, each on its own lines
//!        └ grow           never-used indices and growth chunks (one lock, rarely taken)
//! ```
//!
//! As Linux's `pcpu_freelist` for preallocated `htab` elements: an operation allocates from
//! and retires to its *home* shard — the execution slot of a program run, or a per-thread
//! number for user space ([`thread_home`]) — so threads working at once touch disjoint
//! locks and, as elements go back to the shard that retired them, mostly their own
//! elements. A shard with nothing free steals from the others (half a list at a time), then
//! takes never-used indices, and only when every list and the never-used range are empty does
//! the pool grow. Capacity (`E2BIG`) is not the pool's business: the map counts its live
//! elements, and the pool grows beyond `max_entries` when elements wait for deferred reuse,
//! so a map is never refused an element because of where free elements happen to sit.
//!
//! Retired elements wait in their shard's limbo and go to the epoch collector in batches
//! ([`LIMBO_BATCH`]); the collector returns a batch to the shard it came from once every
//! guard pinned before it was handed over has dropped.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::storage::{zeroed_words, SpinMutex, SpinMutexGuard, Words, NIL};
use crate::MapError;

/// Aligns `T` to 128 bytes, so that what one thread writes never shares a cache line (or
/// the line pair adjacent-line prefetchers fetch together) with what another thread uses.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The home shard number of the calling thread for user-space operations: threads are
/// numbered in the order they first use a map, so concurrent threads get distinct homes.
#[inline]
pub(crate) fn thread_home() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static HOME: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    HOME.with(|h| *h)
}

/// How many shards a pool has: one per execution slot, and at least one per CPU the process
/// may use (user-space threads may outnumber the slots), rounded up to a power of two so
/// that a home maps to its shard with a mask.
pub(crate) fn shard_count(slots: usize) -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    slots.max(cpus).clamp(1, 1024).next_power_of_two()
}

/// Elements of the first growth chunk; chunk `k` (from 1) holds `GROW << (k - 1)`.
const GROW_SHIFT: u32 = 6;
/// How many growth chunks there can be (enough for 2^32 elements).
const GROW_CHUNKS: usize = 27;
/// Unlinked elements handed to the epoch collector at once.
pub(crate) const LIMBO_BATCH: usize = 32;
/// Never-used indices a shard takes at once.
const FRESH_BATCH: u32 = 32;
/// The most elements a shard steals from another at once.
const STEAL_MAX: usize = 64;

/// Words per index, in chunks: the preallocated ones, then growth chunks.
struct Block {
    words: usize,
    first: Words,
    grown: [OnceLock<Words>; GROW_CHUNKS],
}

impl Block {
    fn new(words: usize, prealloc: u32) -> Result<Block, MapError> {
        let n = (prealloc as usize)
            .checked_mul(words)
            .ok_or(MapError::NoMemory)?;
        Ok(Block {
            words,
            first: zeroed_words(n)?,
            grown: Default::default(),
        })
    }

    /// The words of `idx` given where it lies: `(0, offset)` for the first chunk, `(k,
    /// offset)` for growth chunk `k` (from 1).
    #[inline]
    fn at(&self, (k, i): (usize, usize)) -> &[AtomicU64] {
        let w = self.words;
        let chunk = if k == 0 {
            &self.first
        } else {
            self.grown[k - 1]
                .get()
                .expect("indices come from alloc, which created their chunk")
        };
        &chunk[i * w..i * w + w]
    }
}

/// What every operation reads: the element memory and its side table (written only when a
/// growth chunk is added), and where the free lists are.
struct Mem {
    elems: Block,
    /// Per-element words kept apart from the elements (the LRU lists' links: dense, so the
    /// lists' bookkeeping stays in cache while the elements' keys and values need not).
    side: Block,
    first_len: u32,
    shards: Box<[Padded<SpinMutex<Shard>>]>,
    /// `shards.len() - 1` (a power of two minus one).
    mask: usize,
}

/// One free list, with the elements its owner retired that still wait for the collector.
#[derive(Debug, Default)]
struct Shard {
    free: Vec<u32>,
    /// Unlinked elements not yet handed to the epoch collector.
    limbo: Vec<u32>,
    /// Elements allocated from this shard, ever.
    taken: u64,
    /// Elements returned to this shard, ever.
    returned: u64,
}

/// The never-used part of the index space.
#[derive(Debug)]
struct Grow {
    /// Next never-used index.
    next: u32,
    /// Elements in the chunks allocated so far.
    capacity: u32,
    /// Growth chunks allocated.
    chunks: usize,
}

/// Fixed-size elements addressed by `u32` index, for the hash maps.
///
/// The first chunk holds the preallocated elements; when they run out (no preallocation,
/// or elements waiting for their deferred reuse) the pool grows by chunks of doubling size.
/// Memory is returned only when the pool drops. An index stays valid for the pool's life,
/// so readers never follow a dangling pointer, and an element is reused only after the epoch
/// collector has returned it (see [`Pool::retire`]).
pub(crate) struct Pool {
    mem: Padded<Mem>,
    grow: Padded<Mutex<Grow>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// A pool of `elem_words`-word elements, each with `side_words` words in the side
    /// table, `prealloc` of them allocated up front, and `shards` free lists.
    pub(crate) fn new(
        elem_words: usize,
        side_words: usize,
        prealloc: u32,
        shards: usize,
    ) -> Result<Pool, MapError> {
        Ok(Pool {
            mem: Padded(Mem {
                elems: Block::new(elem_words, prealloc)?,
                side: Block::new(side_words, prealloc)?,
                first_len: prealloc,
                shards: (0..shards.max(1).next_power_of_two())
                    .map(|_| Padded::default())
                    .collect(),
                mask: shards.max(1).next_power_of_two() - 1,
            }),
            grow: Padded(Mutex::new(Grow {
                next: 0,
                capacity: prealloc,
                chunks: 0,
            })),
        })
    }

    /// Where `idx` lies: see [`Block::at`].
    #[inline]
    fn locate(&self, idx: u32) -> (usize, usize) {
        let first_len = self.mem.first_len;
        if idx < first_len {
            return (0, idx as usize);
        }
        let j = idx - first_len;
        let t = (j >> GROW_SHIFT) + 1;
        let k = (32 - t.leading_zeros()) as usize; // 1-based chunk number
        let start = ((1u32 << (k - 1)) - 1) << GROW_SHIFT;
        (k, (j - start) as usize)
    }

    /// The words of element `idx` (an index [`Pool::alloc`] returned).
    #[inline]
    pub(crate) fn elem(&self, idx: u32) -> &[AtomicU64] {
        self.mem.elems.at(self.locate(idx))
    }

    /// The side-table words of element `idx`.
    #[inline]
    pub(crate) fn side(&self, idx: u32) -> &[AtomicU64] {
        self.mem.side.at(self.locate(idx))
    }

    #[inline]
    fn shard(&self, home: usize) -> (usize, SpinMutexGuard<'_, Shard>) {
        let h = home & self.mem.mask;
        (h, self.mem.shards[h].lock())
    }

    /// A fresh element index for an operation whose home shard is `home` (its words hold
    /// stale data), or `None` when the index space or memory is exhausted.
    #[inline]
    pub(crate) fn alloc(&self, home: usize) -> Option<u32> {
        let (h, mut s) = self.shard(home);
        if let Some(i) = s.free.pop() {
            s.taken += 1;
            return Some(i);
        }
        drop(s);
        self.alloc_slow(h)
    }

    /// The home shard is empty: steal, then take never-used indices, then grow.
    #[cold]
    fn alloc_slow(&self, h: usize) -> Option<u32> {
        if let Some(i) = self.steal(h) {
            return Some(i);
        }
        let mut g = lock(&self.grow);
        // Elements may have been returned or handed out while we had no lock; growing is
        // the last resort (fresh batches are handed to shards under this lock, so none is
        // in flight now).
        if let Some(i) = self.steal(h) {
            return Some(i);
        }
        if g.next == g.capacity {
            let k = g.chunks;
            if k >= GROW_CHUNKS {
                return None;
            }
            let len = (1u32 << GROW_SHIFT) << k;
            let (elems, side) = (&self.mem.elems, &self.mem.side);
            let words = zeroed_words(len as usize * elems.words).ok()?;
            let side_words = zeroed_words(len as usize * side.words).ok()?;
            let _ = elems.grown[k].set(words);
            let _ = side.grown[k].set(side_words);
            g.chunks += 1;
            g.capacity = g.capacity.checked_add(len).filter(|&c| c < NIL)?;
        }
        let n = FRESH_BATCH.min(g.capacity - g.next);
        let first = g.next;
        g.next += n;
        let mut s = self.mem.shards[h].lock();
        // Popped in ascending order after `first`.
        s.free.extend((first + 1..first + n).rev());
        s.taken += 1;
        Some(first)
    }

    /// An element from any shard's free list, starting with `h`'s own; a batch taken from
    /// another shard goes to `h`.
    fn steal(&self, h: usize) -> Option<u32> {
        for d in 0..self.mem.shards.len() {
            let j = (h + d) & self.mem.mask;
            let mut batch = {
                let mut s = self.mem.shards[j].lock();
                let len = s.free.len();
                if len == 0 {
                    continue;
                }
                if d == 0 {
                    s.taken += 1;
                    return s.free.pop();
                }
                let take = len.div_ceil(2).min(STEAL_MAX);
                s.free.split_off(len - take)
            };
            // One lock at a time: the victim's is released before ours is taken.
            let idx = batch.pop();
            let mut mine = self.mem.shards[h].lock();
            mine.free.append(&mut batch);
            mine.taken += 1;
            return idx;
        }
        None
    }

    /// Takes an unlinked element out of use: it becomes reusable once every guard pinned
    /// now (or later, up to when its batch is handed over) has been dropped. Elements wait
    /// in the limbo of the home shard of the operation that retired them and go to the
    /// epoch collector in batches, which saves a deferred call (and a reference count round
    /// trip) per element; the collector returns a batch to that shard.
    #[inline]
    pub(crate) fn retire(self: &Arc<Self>, idx: u32, home: usize, guard: &crossbeam_epoch::Guard) {
        let (h, mut s) = self.shard(home);
        s.limbo.push(idx);
        if s.limbo.len() < LIMBO_BATCH {
            return;
        }
        let batch = std::mem::replace(&mut s.limbo, Vec::with_capacity(LIMBO_BATCH));
        drop(s);
        let pool = Arc::clone(self);
        guard.defer(move || pool.free_many(h, &batch));
    }

    /// [`Pool::retire`] `old`, then [`Pool::alloc`], under one lock of the home shard (an LRU
    /// map's eviction replaces one element with another).
    #[inline]
    pub(crate) fn retire_then_alloc(
        self: &Arc<Self>,
        old: u32,
        home: usize,
        guard: &crossbeam_epoch::Guard,
    ) -> Option<u32> {
        let (h, mut s) = self.shard(home);
        s.limbo.push(old);
        let new = s.free.pop();
        if new.is_some() {
            s.taken += 1;
        }
        if s.limbo.len() >= LIMBO_BATCH {
            let batch = std::mem::replace(&mut s.limbo, Vec::with_capacity(LIMBO_BATCH));
            drop(s);
            let pool = Arc::clone(self);
            guard.defer(move || pool.free_many(h, &batch));
        } else {
            drop(s);
        }
        new.or_else(|| self.alloc_slow(h))
    }

    /// Returns elements to shard `h` for reuse.
    fn free_many(&self, h: usize, idx: &[u32]) {
        let mut s = self.mem.shards[h].lock();
        s.free.extend_from_slice(idx);
        s.returned += idx.len() as u64;
    }

    /// Returns element `idx` to `home`'s shard for reuse at once (it was never visible to
    /// readers).
    #[cfg(test)]
    pub(crate) fn free(&self, idx: u32, home: usize) {
        self.free_many(home & self.mem.mask, &[idx]);
    }

    /// Elements handed out and not yet freed (live or waiting for deferred reuse).
    pub(crate) fn in_use(&self) -> u32 {
        let (mut taken, mut returned) = (0u64, 0u64);
        for s in self.mem.shards.iter() {
            let s = s.lock();
            taken = taken.wrapping_add(s.taken);
            returned = returned.wrapping_add(s.returned);
        }
        taken.wrapping_sub(returned) as u32
    }

    /// Elements on the free lists (tests: no element is lost or handed out twice).
    #[cfg(test)]
    pub(crate) fn free_indices(&self) -> Vec<u32> {
        let mut all = Vec::new();
        for s in self.mem.shards.iter() {
            all.extend_from_slice(&s.lock().free);
        }
        all
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("elem_words", &self.mem.elems.words)
            .field("first_len", &self.mem.first_len)
            .field("shards", &self.mem.shards.len())
            .field("in_use", &self.in_use())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[test]
    fn pool_grows_and_addresses_distinct_elements() {
        let pool = Pool::new(3, 1, 5, 1).unwrap();
        let mut seen = Vec::new();
        for n in 0..500u64 {
            let i = pool.alloc(0).unwrap();
            pool.elem(i)[0].store(n, Ordering::Relaxed);
            seen.push(i);
        }
        for &i in &seen {
            pool.side(i)[0].store(u64::from(i) << 32, Ordering::Relaxed);
        }
        for (n, &i) in seen.iter().enumerate() {
            assert_eq!(pool.elem(i)[0].load(Ordering::Relaxed), n as u64);
            assert_eq!(pool.side(i)[0].load(Ordering::Relaxed), u64::from(i) << 32);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 500);
        pool.free(seen[7], 0);
        assert_eq!(pool.alloc(0), Some(seen[7]));
        assert_eq!(pool.in_use(), 500);
    }

    #[test]
    fn an_empty_shard_steals_before_the_pool_grows() {
        // 64 preallocated elements, 4 shards.
        let pool = Pool::new(2, 0, 64, 4).unwrap();
        let all: Vec<u32> = (0..64).map(|_| pool.alloc(0).unwrap()).collect();
        assert_eq!(all, (0..64).collect::<Vec<_>>());
        // Everything goes back to shard 3; shards 1 and 2 allocate all of it without growing.
        for &i in &all {
            pool.free(i, 3);
        }
        let mut again = BTreeSet::new();
        for n in 0..64 {
            assert!(again.insert(pool.alloc(1 + n % 2).unwrap()));
        }
        assert_eq!(again.into_iter().collect::<Vec<_>>(), all);
        assert_eq!(pool.grow.lock().unwrap().chunks, 0, "the pool grew");
        // Now it must grow.
        assert_eq!(pool.alloc(0), Some(64));
        assert_eq!(pool.in_use(), 65);
    }

    #[test]
    fn shards_never_lose_or_duplicate_an_element() {
        const THREADS: usize = 4;
        const HELD: usize = 40;
        let pool = Pool::new(1, 0, 128, THREADS).unwrap();
        let owned: Vec<AtomicBool> = (0..1 << 16).map(|_| AtomicBool::new(false)).collect();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (pool, owned) = (&pool, &owned);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    let mut x = t as u64 + 1;
                    for _ in 0..20_000 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if mine.len() < HELD && (x % 3 != 0 || mine.is_empty()) {
                            let i = pool.alloc(t).unwrap();
                            assert!(
                                !owned[i as usize].swap(true, Ordering::Relaxed),
                                "{i} twice"
                            );
                            mine.push(i);
                        } else {
                            let i = mine.swap_remove(x as usize % mine.len());
                            owned[i as usize].store(false, Ordering::Relaxed);
                            // Freed to another thread's shard half the time.
                            pool.free(i, if x % 2 == 0 { t } else { t + 1 });
                        }
                    }
                    for i in mine {
                        owned[i as usize].store(false, Ordering::Relaxed);
                        pool.free(i, t);
                    }
                });
            }
        });
        assert_eq!(pool.in_use(), 0);
        let free = pool.free_indices();
        let distinct: BTreeSet<u32> = free.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            free.len(),
            "an element is on two free lists"
        );
        let next = pool.grow.lock().unwrap().next;
        assert_eq!(distinct, (0..next).collect(), "an element was lost");
        // At most HELD elements per thread were out at once: stealing kept growth bounded.
        assert!(
            next as usize <= 128 + THREADS * (HELD + FRESH_BATCH as usize),
            "{next}"
        );
    }
}
