//! `BPF_MAP_TYPE_HASH`, and the hash table behind the per-CPU and LRU hash maps.
//!
//! Layout: `roundup_pow_of_two(max_entries)` buckets, each a chain of elements linked by
//! `u32` index into a [`Pool`]. An element is `[link, aux, key words, value words]`: `link`
//! holds the hash (high half) and the next index (low half), `aux` the LRU reference bit;
//! LRU maps keep their list links in the pool's side table (`lru_hash::Links`). Values are 8-byte
//! aligned, per-CPU maps keep one value per slot in the element.
//!
//! Concurrency, as Linux's `htab` (RCU readers, per-bucket spin locks): lookups walk a
//! chain without locks; updates and deletes take the bucket's lock (LRU maps then take the
//! lock of one LRU list at a time, see [`crate::lru_hash`]). An update of an existing key
//! links a new element in front of the old one and unlinks the old one, so readers see
//! either the whole old value or the whole new one; per-CPU maps update in place, as Linux
//! does. Unlinked elements go back to the pool only through the epoch collector, so an
//! element a run or a reader can still see is never reused.
//!
//! Every operation has a *home* in the pool (the run's execution slot for program-side
//! operations, the calling thread for user space): it takes new elements from, and retires
//! old ones to, its home's free list, as Linux's per-CPU free lists do, so threads updating
//! different keys share no free list (see the `pool` module). The live-element count that
//! decides `E2BIG` sits on cache lines of its own.
//!
//! Capacity is counted, not taken from the pool: `E2BIG` when `max_entries` elements are
//! live, whichever free lists the spare elements sit on. Replacing an element of a full map
//! succeeds (Linux keeps spare elements for it). With preallocation (the default) the pool
//! starts with `max_entries` elements; with `BPF_F_NO_PREALLOC` it starts empty. Either way
//! it grows when elements wait for reuse.

use std::any::Any;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_epoch::Guard;
use ebpfvm_abi::MapType;

use crate::def::{
    check_common, check_flag_mask, KMALLOC_MAX_SIZE, MAX_BPF_STACK, PCPU_MIN_UNIT_SIZE,
};
use crate::error::ENOTSUPP;
use crate::flags::*;
use crate::lru_hash::{owner_list, Links, Lists, Locked};
use crate::map::{elem_flags, Batch, ForEachFn};
use crate::pool::{shard_count, thread_home, Padded, Pool};
use crate::storage::{
    hash_bytes, key_eq, load_bytes, ptr_of, random_seed, round8, store_bytes, words_for, zero,
    SpinLock, NIL,
};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// Words before the key in an element: `link` and `aux`.
const HDR: usize = 2;
/// Words per element in the pool's side table for LRU maps: list links and owner (see
/// [`Links`]).
const LRU_SIDE: usize = 2;

#[derive(Debug)]
struct Bucket {
    head: AtomicU32,
    lock: SpinLock,
}

/// Where a new value comes from.
#[derive(Clone, Copy)]
enum Src<'a> {
    /// User space: one value, or for per-CPU maps one padded value per slot.
    User(&'a [u8]),
    /// A program on `slot`: one value.
    Prog(&'a [u8], usize),
}

/// A hash map: `hash`, `percpu_hash`, `lru_hash` or `lru_percpu_hash`.
#[derive(Debug)]
pub struct HashTab {
    info: MapInfo,
    pool: Arc<Pool>,
    buckets: Box<[Bucket]>,
    mask: usize,
    seed: u64,
    /// Live elements (on its own cache lines: inserts and deletes write it, every operation
    /// reads the fields around it).
    count: Padded<AtomicU32>,
    max: u32,
    key_size: usize,
    kw: usize,
    vs: usize,
    /// Bytes per slot value (`round_up(value_size, 8)`).
    vstride: usize,
    /// Values per element (slots for per-CPU maps, else 1).
    nvals: usize,
    percpu: bool,
    /// LRU maps: the LRU lists (mutations hold the bucket lock, then a list's lock).
    lru: Option<Lists>,
}

/// `htab_map_alloc_check`.
fn check_hash(def: &MapDef, percpu: bool, lru: bool) -> Result<(), MapError> {
    check_common(def)?;
    check_flag_mask(
        def,
        BPF_F_NO_PREALLOC
            | BPF_F_NO_COMMON_LRU
            | BPF_F_NUMA_NODE
            | BPF_F_ACCESS_MASK
            | BPF_F_ZERO_SEED,
    )?;
    if !lru && def.flags & BPF_F_NO_COMMON_LRU != 0 {
        return Err(MapError::BadAttr {
            reason: "BPF_F_NO_COMMON_LRU is only for LRU maps",
        });
    }
    if lru && def.flags & BPF_F_NO_PREALLOC != 0 {
        return Err(MapError::NotSupported {
            op: "BPF_F_NO_PREALLOC",
            map_type: def.map_type.name(),
            errno: ENOTSUPP,
        });
    }
    if def.max_entries == 0 || def.key_size == 0 || def.value_size == 0 {
        return Err(MapError::BadAttr {
            reason: "hash maps need non-zero key_size, value_size and max_entries",
        });
    }
    let too_big = |what, size: u64, limit| MapError::AttrTooBig { what, size, limit };
    if u64::from(def.key_size) > MAX_BPF_STACK {
        return Err(too_big("key_size", def.key_size.into(), MAX_BPF_STACK));
    }
    let vlimit = KMALLOC_MAX_SIZE - MAX_BPF_STACK - 48;
    if u64::from(def.value_size) >= vlimit {
        return Err(too_big("value_size", def.value_size.into(), vlimit));
    }
    if percpu && round8(def.value_size as usize) as u64 > PCPU_MIN_UNIT_SIZE {
        return Err(too_big(
            "value_size",
            def.value_size.into(),
            PCPU_MIN_UNIT_SIZE,
        ));
    }
    if def.max_entries > 1 << 31 {
        return Err(too_big("max_entries", def.max_entries.into(), 1 << 31));
    }
    Ok(())
}

impl HashTab {
    /// Creates a `hash`, `percpu_hash`, `lru_hash` or `lru_percpu_hash` map (by
    /// `def.map_type`) with Linux's attribute checks.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<HashTab, MapError> {
        let (percpu, lru) = match def.map_type {
            MapType::Hash => (false, false),
            MapType::PercpuHash => (true, false),
            MapType::LruHash => (false, true),
            MapType::LruPercpuHash => (true, true),
            _ => {
                return Err(MapError::BadAttr {
                    reason: "not a hash map type",
                })
            }
        };
        check_hash(def, percpu, lru)?;
        let slots = opts.slots.max(1);
        let nvals = if percpu { slots } else { 1 };
        let kw = words_for(def.key_size as usize);
        let vstride = round8(def.value_size as usize);
        let elem_words = HDR + kw + nvals * vstride / 8;
        let side_words = if lru { LRU_SIDE } else { 0 };
        let prealloc = if def.flags & BPF_F_NO_PREALLOC != 0 {
            0
        } else {
            def.max_entries
        };
        let n_buckets = def.max_entries.next_power_of_two() as usize;
        let mut buckets = Vec::new();
        if n_buckets > 1 << 28 || buckets.try_reserve_exact(n_buckets).is_err() {
            return Err(MapError::NoMemory);
        }
        buckets.extend((0..n_buckets).map(|_| Bucket {
            head: AtomicU32::new(NIL),
            lock: SpinLock::default(),
        }));
        let buckets = buckets.into_boxed_slice();
        Ok(HashTab {
            info: MapInfo::new(def, slots),
            pool: Arc::new(Pool::new(
                elem_words,
                side_words,
                prealloc,
                shard_count(slots),
            )?),
            lru: lru.then(|| Lists::new(shard_count(slots), def.max_entries)),
            buckets,
            mask: n_buckets - 1,
            seed: if def.flags & BPF_F_ZERO_SEED != 0 {
                0
            } else {
                random_seed()
            },
            count: Padded(AtomicU32::new(0)),
            max: def.max_entries,
            key_size: def.key_size as usize,
            kw,
            vs: def.value_size as usize,
            vstride,
            nvals,
            percpu,
        })
    }

    /// Live elements.
    pub fn len(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether the map has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Elements taken from the pool and not yet returned (live plus those waiting for
    /// deferred reuse).
    pub fn elements_in_use(&self) -> u32 {
        self.pool.in_use()
    }

    // ----- element access -----

    #[inline]
    fn hash(&self, key: &[u8]) -> u32 {
        hash_bytes(key, self.seed)
    }

    #[inline]
    fn bucket(&self, hash: u32) -> &Bucket {
        &self.buckets[hash as usize & self.mask]
    }

    #[inline]
    fn elem(&self, idx: u32) -> &[AtomicU64] {
        self.pool.elem(idx)
    }

    #[inline]
    fn link(&self, idx: u32) -> u64 {
        self.elem(idx)[0].load(Ordering::Acquire)
    }

    #[inline]
    fn next_of(&self, idx: u32) -> u32 {
        self.link(idx) as u32
    }

    fn set_next(&self, idx: u32, next: u32) {
        let link = self.link(idx);
        self.elem(idx)[0].store((link & !0xffff_ffff) | u64::from(next), Ordering::Release);
    }

    fn key_words(&self, idx: u32) -> &[AtomicU64] {
        &self.elem(idx)[HDR..HDR + self.kw]
    }

    #[inline]
    fn value_words(&self, idx: u32, slot: usize) -> &[AtomicU64] {
        let w = self.vstride / 8;
        let at = HDR + self.kw + slot * w;
        &self.elem(idx)[at..at + w]
    }

    #[inline]
    fn value_ptr(&self, idx: u32, slot: usize) -> *mut u8 {
        ptr_of(self.value_words(idx, slot))
    }

    fn copy_key(&self, idx: u32, out: &mut [u8]) {
        load_bytes(self.key_words(idx), out);
    }

    /// The element holding `key` in `bucket`, without locks (under a pinned guard or a
    /// lock).
    #[inline]
    fn find(&self, bucket: &Bucket, hash: u32, key: &[u8]) -> Option<u32> {
        let mut i = bucket.head.load(Ordering::Acquire);
        while i != NIL {
            let e = self.elem(i);
            let link = e[0].load(Ordering::Acquire);
            if (link >> 32) as u32 == hash && key_eq(&e[HDR..HDR + self.kw], key) {
                return Some(i);
            }
            i = link as u32;
        }
        None
    }

    /// `(previous element or NIL, element)` for `key` (under the bucket's lock).
    fn find_with_prev(&self, bucket: &Bucket, hash: u32, key: &[u8]) -> Option<(u32, u32)> {
        let mut prev = NIL;
        let mut i = bucket.head.load(Ordering::Acquire);
        while i != NIL {
            let link = self.link(i);
            if (link >> 32) as u32 == hash && key_eq(self.key_words(i), key) {
                return Some((prev, i));
            }
            prev = i;
            i = link as u32;
        }
        None
    }

    /// The element before `idx` in `bucket` (NIL if `idx` is the head), if `idx` is there.
    fn prev_of(&self, bucket: &Bucket, idx: u32) -> Option<u32> {
        let mut prev = NIL;
        let mut i = bucket.head.load(Ordering::Acquire);
        while i != NIL {
            if i == idx {
                return Some(prev);
            }
            prev = i;
            i = self.next_of(i);
        }
        None
    }

    fn unlink(&self, bucket: &Bucket, prev: u32, idx: u32) {
        let next = self.next_of(idx);
        if prev == NIL {
            bucket.head.store(next, Ordering::Release);
        } else {
            self.set_next(prev, next);
        }
    }

    /// Hands an unlinked element to the epoch collector for reuse (`home`: the operation's
    /// home shard in the pool, see [`crate::pool`]).
    fn retire(&self, idx: u32, home: usize, guard: &Guard) {
        self.pool.retire(idx, home, guard);
    }

    /// A new unlinked element holding `key` and the value from `src`.
    fn new_elem(&self, hash: u32, key: &[u8], src: Src<'_>, home: usize) -> Result<u32, MapError> {
        let idx = self.pool.alloc(home).ok_or(MapError::NoMemory)?;
        self.fill_elem(idx, hash, key, src);
        Ok(idx)
    }

    /// Writes a new element's header, key and value.
    fn fill_elem(&self, idx: u32, hash: u32, key: &[u8], src: Src<'_>) {
        let e = self.elem(idx);
        e[0].store((u64::from(hash) << 32) | u64::from(NIL), Ordering::Relaxed);
        e[1].store(0, Ordering::Relaxed);
        store_bytes(&e[HDR..HDR + self.kw], key);
        match src {
            Src::User(v) if self.percpu => {
                for slot in 0..self.nvals {
                    let chunk = v.get(slot * self.vstride..(slot + 1) * self.vstride);
                    store_bytes(self.value_words(idx, slot), chunk.unwrap_or(&[]));
                }
            }
            Src::User(v) => store_bytes(self.value_words(idx, 0), v),
            Src::Prog(v, slot) => {
                for s in 0..self.nvals {
                    if s == slot % self.nvals {
                        store_bytes(self.value_words(idx, s), v);
                    } else {
                        zero(self.value_words(idx, s));
                    }
                }
            }
        }
    }

    /// Per-CPU in-place update of an existing element.
    fn write_in_place(&self, idx: u32, src: Src<'_>) {
        match src {
            Src::User(v) => {
                for (slot, chunk) in v.chunks(self.vstride).enumerate().take(self.nvals) {
                    store_bytes(self.value_words(idx, slot), chunk);
                }
            }
            Src::Prog(v, slot) => store_bytes(self.value_words(idx, slot % self.nvals), v),
        }
    }

    fn copy_value_out(&self, idx: u32, out: &mut [u8]) {
        if self.percpu {
            for (slot, chunk) in out.chunks_mut(self.vstride).enumerate() {
                load_bytes(self.value_words(idx, slot), chunk);
            }
        } else {
            load_bytes(self.value_words(idx, 0), out);
        }
    }

    fn reserve(&self) -> Result<(), MapError> {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| {
                (c < self.max).then_some(c + 1)
            })
            .map(drop)
            .map_err(|_| MapError::Full {
                max_entries: self.max,
            })
    }

    /// Takes `idx` off its LRU list (LRU maps; under its bucket's lock).
    fn lru_unlink(&self, idx: u32) {
        if let Some(lists) = &self.lru {
            // The owner's list id never changes while the element is on a list.
            let owner = owner_list(self.lru_words(idx)[1].load(Ordering::Relaxed));
            lists.lock(owner).unlink(self, idx);
        }
    }

    /// Clears `idx`'s reference bit, saying whether it was set.
    fn take_ref(&self, idx: u32) -> bool {
        let aux = &self.elem(idx)[1];
        aux.load(Ordering::Relaxed) != 0 && aux.swap(0, Ordering::Relaxed) != 0
    }

    /// Unlinks `idx` from its hash chain if its bucket is `held` (whose lock the caller
    /// holds) or its bucket's lock is free now.
    fn try_unhash(&self, idx: u32, held: usize) -> bool {
        let b = (self.link(idx) >> 32) as usize & self.mask;
        let bucket = &self.buckets[b];
        let _lock = if b == held {
            None
        } else {
            match bucket.lock.try_lock() {
                Some(g) => Some(g),
                None => return false,
            }
        };
        match self.prev_of(bucket, idx) {
            Some(prev) => {
                self.unlink(bucket, prev, idx);
                true
            }
            None => false,
        }
    }

    /// Evicts an element to make room for a new one (under bucket `held`'s lock), taking it
    /// off its chain and its list; the caller retires it. Lock order: a bucket, then a list,
    /// then other buckets only with `try_lock`. When the victim came from `home`'s own list,
    /// that list stays locked for the new element (one lock round trip less).
    fn evict_one<'l>(
        &self,
        lists: &'l Lists,
        held: usize,
        home: usize,
    ) -> Result<(u32, Option<Locked<'l>>), MapError> {
        for round in 0..ROUNDS {
            for id in lists.eviction_order(home) {
                let mut list = lists.lock(id);
                let victim = list.evict(self, |i| self.take_ref(i), |i| self.try_unhash(i, held));
                if let Some(v) = victim {
                    return Ok((v, list.is(home).then_some(list)));
                }
            }
            // Every list is empty or its candidates' buckets are busy: the elements counted
            // are being inserted or deleted by other threads right now.
            if round < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // What Linux returns when no LRU node can be had.
        Err(MapError::NoMemory)
    }

    // ----- operations -----

    fn update_impl(
        &self,
        key: &[u8],
        src: Src<'_>,
        flags: u64,
        home: usize,
        guard: &Guard,
    ) -> Result<(), MapError> {
        let flags = elem_flags(flags)?;
        if key.len() != self.key_size {
            return Err(MapError::KeySize {
                expected: self.key_size,
                got: key.len(),
            });
        }
        if self.lru.is_some() {
            return self.lru_update(key, src, flags, home, guard);
        }
        let hash = self.hash(key);
        let bucket = self.bucket(hash);
        let _lock = bucket.lock.lock();
        let found = self.find_with_prev(bucket, hash, key);
        match (found, flags) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NotFound),
            _ => {}
        }
        if let (true, Some((_, idx))) = (self.percpu, found) {
            self.write_in_place(idx, src);
            return Ok(());
        }
        if found.is_none() {
            self.reserve()?;
        }
        let new = match self.new_elem(hash, key, src, home) {
            Ok(i) => i,
            Err(e) => {
                if found.is_none() {
                    self.count.fetch_sub(1, Ordering::AcqRel);
                }
                return Err(e);
            }
        };
        self.set_next(new, bucket.head.load(Ordering::Relaxed));
        bucket.head.store(new, Ordering::Release);
        if let Some((prev, old)) = found {
            self.unlink(bucket, if prev == NIL { new } else { prev }, old);
            self.retire(old, home, guard);
        }
        Ok(())
    }

    /// LRU update: as above, evicting the least recently used element when a new key meets
    /// a full map, and keeping the elements on the LRU lists.
    fn lru_update(
        &self,
        key: &[u8],
        src: Src<'_>,
        flags: u64,
        home: usize,
        guard: &Guard,
    ) -> Result<(), MapError> {
        let lists = self.lru.as_ref().expect("LRU maps have LRU lists");
        let hash = self.hash(key);
        let b = hash as usize & self.mask;
        let bucket = &self.buckets[b];
        let _lock = bucket.lock.lock();
        let found = self.find_with_prev(bucket, hash, key);
        match (found, flags) {
            (Some(_), BPF_NOEXIST) => return Err(MapError::Exists),
            (None, BPF_EXIST) => return Err(MapError::NotFound),
            _ => {}
        }
        if let (true, Some((_, idx))) = (self.percpu, found) {
            self.write_in_place(idx, src);
            self.elem(idx)[1].store(1, Ordering::Relaxed);
            return Ok(());
        }
        let mut own = None;
        let mut new = None;
        if found.is_none() && self.reserve().is_err() {
            let (victim, list) = self.evict_one(lists, b, home)?;
            own = list;
            // The victim's place in the count goes to the new element.
            let Some(idx) = self.pool.retire_then_alloc(victim, home, guard) else {
                self.count.fetch_sub(1, Ordering::AcqRel);
                return Err(MapError::NoMemory);
            };
            self.fill_elem(idx, hash, key, src);
            new = Some(idx);
        }
        let new = match new.map_or_else(|| self.new_elem(hash, key, src, home), Ok) {
            Ok(i) => i,
            Err(e) => {
                if found.is_none() {
                    self.count.fetch_sub(1, Ordering::AcqRel);
                }
                return Err(e);
            }
        };
        if found.is_some() {
            // Linux marks a replacing element referenced.
            self.elem(new)[1].store(1, Ordering::Relaxed);
        }
        // The bucket may have lost its head to the eviction: link in front of what is there.
        self.set_next(new, bucket.head.load(Ordering::Relaxed));
        bucket.head.store(new, Ordering::Release);
        own.unwrap_or_else(|| lists.lock(home))
            .push_front(self, new);
        if let Some((_, old)) = found {
            if let Some(prev) = self.prev_of(bucket, old) {
                self.unlink(bucket, prev, old);
            }
            self.lru_unlink(old);
            self.retire(old, home, guard);
        }
        Ok(())
    }

    /// Removes `key`, copying its value to `out` first if given.
    fn delete_impl(
        &self,
        key: &[u8],
        out: Option<&mut [u8]>,
        home: usize,
        guard: &Guard,
    ) -> Result<(), MapError> {
        if key.len() != self.key_size {
            return Err(MapError::KeySize {
                expected: self.key_size,
                got: key.len(),
            });
        }
        let hash = self.hash(key);
        let bucket = self.bucket(hash);
        let _lock = bucket.lock.lock();
        let (prev, idx) = self
            .find_with_prev(bucket, hash, key)
            .ok_or(MapError::NotFound)?;
        if let Some(out) = out {
            self.copy_value_out(idx, out);
        }
        self.unlink(bucket, prev, idx);
        self.lru_unlink(idx);
        self.count.fetch_sub(1, Ordering::AcqRel);
        self.retire(idx, home, guard);
        Ok(())
    }

    #[inline]
    fn lookup_idx(&self, key: &[u8]) -> Option<u32> {
        if key.len() != self.key_size {
            return None;
        }
        let hash = self.hash(key);
        self.find(self.bucket(hash), hash, key)
    }

    #[inline]
    fn touch(&self, idx: u32) {
        if self.lru.is_some() {
            let aux = &self.elem(idx)[1];
            if aux.load(Ordering::Relaxed) == 0 {
                aux.store(1, Ordering::Relaxed);
            }
        }
    }

    /// Copies (and with `delete` removes) whole buckets from `start` on.
    fn batch(
        &self,
        cursor: Option<&[u8]>,
        keys: &mut [u8],
        values: &mut [u8],
        count: usize,
        delete: bool,
    ) -> Result<Batch, MapError> {
        let start = match cursor {
            None => 0,
            Some(c) => crate::array::array_index(c).ok_or(MapError::Invalid {
                reason: "hash batch cursor is a 4-byte bucket index",
            })? as usize,
        };
        let guard = crossbeam_epoch::pin();
        let home = thread_home();
        let (ks, uvs) = (self.key_size, self.info.user_value_size());
        let mut n = 0;
        let mut b = start;
        let mut items = Vec::new();
        while b < self.buckets.len() {
            let bucket = &self.buckets[b];
            let _lock = delete.then(|| bucket.lock.lock());
            items.clear();
            let mut i = bucket.head.load(Ordering::Acquire);
            while i != NIL {
                items.push(i);
                i = self.next_of(i);
            }
            if items.len() > count - n {
                if n == 0 {
                    return Err(MapError::NoSpace {
                        what: "batch smaller than a bucket",
                    });
                }
                break;
            }
            for &idx in &items {
                self.copy_key(idx, &mut keys[n * ks..(n + 1) * ks]);
                self.copy_value_out(idx, &mut values[n * uvs..(n + 1) * uvs]);
                n += 1;
            }
            if delete && !items.is_empty() {
                bucket.head.store(NIL, Ordering::Release);
                for &idx in &items {
                    self.lru_unlink(idx);
                    self.count.fetch_sub(1, Ordering::AcqRel);
                    self.retire(idx, home, &guard);
                }
            }
            b += 1;
        }
        let done = b >= self.buckets.len();
        Ok(Batch {
            count: n,
            next: (n > 0 || !done).then(|| (b as u32).to_ne_bytes().to_vec()),
            done,
        })
    }
}

/// How many times an eviction sweeps every LRU list before giving up.
const ROUNDS: u32 = 10_000;

impl Links for HashTab {
    #[inline]
    fn lru_words(&self, idx: u32) -> &[AtomicU64] {
        self.pool.side(idx)
    }
}

impl Drop for HashTab {
    fn drop(&mut self) {
        // A run may still hold value pointers (the map reached through a map-in-map, or a
        // runtime that drops maps early): free the elements only after it ends.
        let pool = Arc::clone(&self.pool);
        crossbeam_epoch::pin().defer(move || drop(pool));
    }
}

impl Map for HashTab {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let _guard = crossbeam_epoch::pin();
        let idx = self.lookup_idx(key).ok_or(MapError::NotFound)?;
        self.copy_value_out(idx, out);
        Ok(())
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        self.update_impl(key, Src::User(value), flags, thread_home(), &guard)
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        self.delete_impl(key, None, thread_home(), &guard)
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        let _guard = crossbeam_epoch::pin();
        let mut start = 0;
        if let Some(key) = key {
            let hash = self.hash(key);
            if let Some(idx) = self.find(self.bucket(hash), hash, key) {
                let next = self.next_of(idx);
                if next != NIL {
                    self.copy_key(next, out);
                    return Ok(());
                }
                start = (hash as usize & self.mask) + 1;
            }
        }
        for bucket in &self.buckets[start.min(self.buckets.len())..] {
            let head = bucket.head.load(Ordering::Acquire);
            if head != NIL {
                self.copy_key(head, out);
                return Ok(());
            }
        }
        Err(MapError::NotFound)
    }

    fn sys_lookup_and_delete(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        self.delete_impl(key, Some(out), thread_home(), &guard)
    }

    fn sys_lookup_batch(
        &self,
        cursor: Option<&[u8]>,
        keys: &mut [u8],
        values: &mut [u8],
        count: usize,
        delete: bool,
    ) -> Result<Batch, MapError> {
        self.batch(cursor, keys, values, count, delete)
    }

    #[inline]
    fn lookup_ptr(&self, key: &[u8], run: &RunGuard) -> Option<*mut u8> {
        let idx = self.lookup_idx(key)?;
        self.touch(idx);
        let slot = if self.percpu {
            run.slot() % self.nvals
        } else {
            0
        };
        Some(self.value_ptr(idx, slot))
    }

    fn lookup_percpu_ptr(&self, key: &[u8], slot: u32, _run: &RunGuard) -> Option<*mut u8> {
        if !self.percpu || slot as usize >= self.nvals {
            return None;
        }
        let idx = self.lookup_idx(key)?;
        self.touch(idx);
        Some(self.value_ptr(idx, slot as usize))
    }

    fn update_from_prog(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        run: &RunGuard,
    ) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        let value = value.get(..self.vs).ok_or(MapError::ValueSize {
            expected: self.vs,
            got: value.len(),
        })?;
        let src = if self.percpu {
            Src::Prog(value, run.slot())
        } else {
            Src::User(value)
        };
        self.update_impl(key, src, flags, run.slot(), run.guard())
    }

    fn delete_from_prog(&self, key: &[u8], run: &RunGuard) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        self.delete_impl(key, None, run.slot(), run.guard())
    }

    fn for_each(&self, run: &RunGuard, f: &mut ForEachFn<'_>) -> Result<u32, MapError> {
        let slot = run.slot() % self.nvals;
        let mut key = vec![0u8; self.key_size];
        let mut n = 0;
        for bucket in self.buckets.iter() {
            let mut i = bucket.head.load(Ordering::Acquire);
            while i != NIL {
                n += 1;
                self.copy_key(i, &mut key);
                if f(&key, self.value_ptr(i, slot)) {
                    return Ok(n);
                }
                i = self.next_of(i);
            }
        }
        Ok(n)
    }
}
