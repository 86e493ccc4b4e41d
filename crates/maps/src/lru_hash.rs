//! `BPF_MAP_TYPE_LRU_HASH`: a hash map that evicts instead of failing with `E2BIG`.
//!
//! The table is [`HashTab`](crate::HashTab); this file holds the LRU lists. Linux keeps
//! active and inactive lists and a reference bit per element that lookups *from programs*
//! set (user-space lookups do not: `htab_lru_map_lookup_elem_sys`); eviction scans from
//! the inactive tail, giving referenced elements a second chance. We keep the same reference
//! bit and second-chance scan (the CLOCK algorithm Linux's rotation approximates): a new
//! element goes to the front of a list unreferenced, a replacing element goes to the front
//! referenced, and eviction takes the element nearest the tail whose bit is clear, clearing
//! the bits and moving to the front the referenced ones it passes.
//!
//! **Lists per home.** As Linux splits its LRU into per-CPU local lists and a global one so
//! that CPUs do not serialise on one lock, the lists here are per home (the execution slot of
//! a program run, or the calling thread for user space; see the `pool` module): an element
//! joins the list of the operation that inserted it, each list has its own lock, and the
//! hash chains keep their bucket locks. An eviction takes the victim from the home's own
//! list unless another list's tail is older by at least two ticks of a coarse map-wide clock
//! (which advances every `max_entries / (8 × lists)` insertions of a list, at most 64; in maps
//! that small every insertion ticks, and one tick is enough), or the own list is empty: then
//! from the list with the oldest tail. So one thread, or one slot, sees exactly the order
//! above, and across threads the least recently used elements of the whole map go first up to
//! the clock's resolution, as with Linux's common LRU; a list whose owner went idle is drained
//! by the others. An eviction takes the victim's bucket lock with `try_lock` (it already
//! holds the new key's) and passes over victims whose bucket is busy. The list links live
//! in a dense side table of the element pool, not in the elements.
//!
//! Differences from Linux, documented: Linux frees and allocates nodes in per-CPU batches
//! (`LOCAL_FREE_TARGET`), so it may evict a few elements before the map is full and evicts
//! even when an existing key is replaced; here eviction happens exactly when a new key meets
//! a full map, one element at a time. `BPF_F_NO_COMMON_LRU` (per-CPU lists) is accepted and
//! treated as the common list.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::pool::Padded;
use crate::storage::{SpinMutex, SpinMutexGuard, NIL};

/// The most insertions into one list between two ticks of the map's clock; fewer in small
/// maps (`max_entries / (8 × lists)`, at least 1), so that the clock resolves a fraction of a
/// list's share of the map.
pub(crate) const MAX_TICK: u32 = 64;
/// How many ticks older than the own list's tail another list's tail must be for an eviction
/// to take it instead, when a tick is several insertions (1 would make threads inserting at
/// the same rate take turns evicting from each other's lists at every tick); 1 when every
/// insertion ticks.
pub(crate) const LAG: u64 = 2;
/// The published tail stamp of an empty list.
const EMPTY: u64 = u64::MAX;

/// The LRU bookkeeping words of an element, `[links, owner]`: `links` holds the previous
/// (high half) and next (low half) element on its list, `owner` the list (low 16 bits) and
/// the clock tick the element was put at the front (the rest). Both change only under the
/// list's lock.
pub(crate) trait Links {
    /// The element's two words.
    fn lru_words(&self, idx: u32) -> &[AtomicU64];
}

/// Which list `owner` says the element is on.
#[inline]
pub(crate) fn owner_list(owner: u64) -> usize {
    (owner & 0xffff) as usize
}

#[inline]
fn owner_stamp(owner: u64) -> u64 {
    owner >> 16
}

/// One list, most recent first.
#[derive(Debug)]
pub(crate) struct List {
    head: u32,
    tail: u32,
    len: u32,
    /// Insertions, for the clock.
    inserts: u32,
}

impl Default for List {
    fn default() -> Self {
        List {
            head: NIL,
            tail: NIL,
            len: 0,
            inserts: 0,
        }
    }
}

#[inline]
fn get(w: &[AtomicU64]) -> (u32, u32) {
    let v = w[0].load(Ordering::Relaxed);
    ((v >> 32) as u32, v as u32)
}

#[inline]
fn set(w: &[AtomicU64], prev: u32, next: u32) {
    w[0].store((u64::from(prev) << 32) | u64::from(next), Ordering::Relaxed);
}

#[inline]
fn set_prev(w: &[AtomicU64], prev: u32) {
    set(w, prev, get(w).1);
}

#[inline]
fn set_next(w: &[AtomicU64], next: u32) {
    set(w, get(w).0, next);
}

impl List {
    /// Adds `idx` at the front, as list `id` at clock tick `now`.
    fn push_front(&mut self, l: &impl Links, idx: u32, id: usize, now: u64) {
        let w = l.lru_words(idx);
        w[1].store((now << 16) | id as u64, Ordering::Relaxed);
        set(w, NIL, self.head);
        if self.head != NIL {
            set_prev(l.lru_words(self.head), idx);
        } else {
            self.tail = idx;
        }
        self.head = idx;
        self.len += 1;
    }

    /// Removes `idx` (which must be on the list).
    fn unlink(&mut self, l: &impl Links, idx: u32) {
        let w = l.lru_words(idx);
        let (p, n) = get(w);
        if p != NIL {
            set_next(l.lru_words(p), n);
        } else {
            self.head = n;
        }
        if n != NIL {
            set_prev(l.lru_words(n), p);
        } else {
            self.tail = p;
        }
        set(w, NIL, NIL);
        self.len -= 1;
    }

    /// The clock tick of the tail, or [`EMPTY`].
    fn tail_stamp(&self, l: &impl Links) -> u64 {
        if self.tail == NIL {
            EMPTY
        } else {
            owner_stamp(l.lru_words(self.tail)[1].load(Ordering::Relaxed))
        }
    }

    /// Removes and returns the least recently used element it can: from the tail, the first
    /// element for which `take_ref` (clearing its reference bit) says it was not referenced
    /// and `unhash` manages to take it out of its hash chain; referenced elements move to the
    /// front (as list `id` at tick `now`). `None` if the list is empty, or if two sweeps
    /// found nothing to take (the chains of the candidates were busy, or programs kept
    /// referencing every element).
    fn evict(
        &mut self,
        l: &impl Links,
        id: usize,
        now: u64,
        mut take_ref: impl FnMut(u32) -> bool,
        mut unhash: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        // Walking towards the head: elements moved to the front are met again (oldest move
        // first, as a CLOCK sweep would after moving them) before the walk reaches the head.
        let mut budget = 2 * u64::from(self.len) + 2;
        let mut i = self.tail;
        while budget > 0 {
            budget -= 1;
            if i == NIL {
                i = self.tail;
                if i == NIL {
                    return None;
                }
            }
            let (prev, _) = get(l.lru_words(i));
            if take_ref(i) {
                if self.head != i {
                    self.unlink(l, i);
                    self.push_front(l, i, id, now);
                }
            } else if unhash(i) {
                self.unlink(l, i);
                return Some(i);
            }
            i = prev;
        }
        None
    }
}

/// The LRU lists of a map.
#[derive(Debug)]
pub(crate) struct Lists {
    lists: Box<[Padded<SpinMutex<List>>]>,
    /// The clock tick of each list's tail as last published ([`EMPTY`] if none); read
    /// without the lists' locks to choose where to evict. Written only when it changes,
    /// which at most every few dozen evictions.
    tails: Box<[AtomicU64]>,
    /// The coarse clock.
    clock: Padded<AtomicU64>,
    mask: usize,
    /// Insertions into a list per tick.
    tick: u32,
    /// See [`LAG`].
    lag: u64,
}

/// A locked list and its id.
pub(crate) struct Locked<'a> {
    lists: &'a Lists,
    id: usize,
    list: SpinMutexGuard<'a, List>,
}

impl Lists {
    /// `n` lists (rounded up to a power of two) for a map of `max_entries`.
    pub(crate) fn new(n: usize, max_entries: u32) -> Lists {
        let n = n.max(1).next_power_of_two();
        let tick = (max_entries as usize / (8 * n)).clamp(1, MAX_TICK as usize) as u32;
        Lists {
            lists: (0..n).map(|_| Padded::default()).collect(),
            tails: (0..n).map(|_| AtomicU64::new(EMPTY)).collect(),
            clock: Padded(AtomicU64::new(0)),
            mask: n - 1,
            tick,
            lag: if tick == 1 { 1 } else { LAG },
        }
    }

    /// Locks list `id` (a home, reduced to the list count).
    pub(crate) fn lock(&self, id: usize) -> Locked<'_> {
        let id = id & self.mask;
        Locked {
            lists: self,
            id,
            list: self.lists[id].lock(),
        }
    }

    /// The lists an eviction for `home` should try, best first: the one with the oldest tail
    /// if it is [`LAG`] ticks older than `home`'s own (or that is empty), else the own list;
    /// then the others.
    pub(crate) fn eviction_order(&self, home: usize) -> impl Iterator<Item = usize> + '_ {
        let own = home & self.mask;
        let own_tail = self.tails[own].load(Ordering::Relaxed);
        let mut best = own;
        let mut oldest = own_tail;
        for (j, t) in self.tails.iter().enumerate() {
            let t = t.load(Ordering::Relaxed);
            if t < oldest {
                best = j;
                oldest = t;
            }
        }
        let first = if best != own && oldest.saturating_add(self.lag) <= own_tail {
            best
        } else {
            own
        };
        let n = self.lists.len();
        std::iter::once(first).chain(
            (0..n)
                .map(move |d| (own + d) & self.mask)
                .filter(move |&j| j != first),
        )
    }
}

impl Locked<'_> {
    /// Whether this is `home`'s own list.
    pub(crate) fn is(&self, home: usize) -> bool {
        self.id == home & self.lists.mask
    }

    /// The clock's tick now.
    fn now(&self) -> u64 {
        self.lists.clock.load(Ordering::Relaxed)
    }

    /// Publishes the tail's stamp if it changed.
    fn publish(&self, l: &impl Links) {
        let st = self.list.tail_stamp(l);
        let slot = &self.lists.tails[self.id];
        if slot.load(Ordering::Relaxed) != st {
            slot.store(st, Ordering::Relaxed);
        }
    }

    /// Adds a new (or replacing) element at the front.
    pub(crate) fn push_front(&mut self, l: &impl Links, idx: u32) {
        let now = self.now();
        let was_empty = self.list.tail == NIL;
        self.list.push_front(l, idx, self.id, now);
        self.list.inserts = self.list.inserts.wrapping_add(1);
        if self.list.inserts % self.lists.tick == 0 {
            self.lists.clock.fetch_add(1, Ordering::Relaxed);
        }
        if was_empty {
            self.publish(l);
        }
    }

    /// Removes `idx`, which is on this list.
    pub(crate) fn unlink(&mut self, l: &impl Links, idx: u32) {
        let was_tail = self.list.tail == idx;
        self.list.unlink(l, idx);
        if was_tail {
            self.publish(l);
        }
    }

    /// See [`List::evict`].
    pub(crate) fn evict(
        &mut self,
        l: &impl Links,
        take_ref: impl FnMut(u32) -> bool,
        unhash: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        let now = self.now();
        let v = self.list.evict(l, self.id, now, take_ref, unhash);
        self.publish(l);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Words(Vec<AtomicU64>);

    impl Links for Words {
        fn lru_words(&self, idx: u32) -> &[AtomicU64] {
            &self.0[2 * idx as usize..2 * idx as usize + 2]
        }
    }

    fn words(n: usize) -> Words {
        Words((0..2 * n).map(|_| AtomicU64::new(0)).collect())
    }

    #[test]
    fn evicts_unreferenced_from_the_tail() {
        let w = words(4);
        let lists = Lists::new(1, 64);
        let mut l = lists.lock(0);
        for i in 0..4 {
            l.push_front(&w, i);
        }
        // 0 is the oldest but referenced: 1 goes.
        let mut refd = [true, false, false, false];
        let ev = |l: &mut Locked<'_>, refd: &mut [bool; 4]| {
            l.evict(&w, |i| std::mem::take(&mut refd[i as usize]), |_| true)
        };
        assert_eq!(ev(&mut l, &mut refd), Some(1));
        assert_eq!(ev(&mut l, &mut refd), Some(2));
        assert_eq!(ev(&mut l, &mut refd), Some(3));
        assert_eq!(ev(&mut l, &mut refd), Some(0));
        assert_eq!(ev(&mut l, &mut refd), None);
    }

    #[test]
    fn skips_elements_it_cannot_unhash() {
        let w = words(3);
        let lists = Lists::new(1, 64);
        let mut l = lists.lock(0);
        for i in 0..3 {
            l.push_front(&w, i);
        }
        // 0 is the tail but its chain is busy: 1 goes, 0 stays the tail.
        assert_eq!(l.evict(&w, |_| false, |i| i != 0), Some(1));
        assert_eq!(l.evict(&w, |_| false, |_| true), Some(0));
        assert_eq!(l.evict(&w, |_| false, |_| false), None);
        assert_eq!(l.evict(&w, |_| false, |_| true), Some(2));
        assert_eq!(l.evict(&w, |_| false, |_| true), None);
    }

    #[test]
    fn evictions_prefer_a_list_with_a_much_older_tail() {
        const TICK: u32 = MAX_TICK;
        let n = (LAG as u32 + 1) * TICK;
        let w = words(n as usize + 2);
        let lists = Lists::new(4, 32 * TICK);
        assert_eq!((lists.tick, lists.lag), (TICK, LAG));
        // Nothing anywhere: the own list.
        assert_eq!(lists.eviction_order(3).collect::<Vec<_>>(), [3, 0, 1, 2]);
        // List 0 gets an element at tick 0; list 2's insertions move the clock LAG ticks on
        // (and are evicted again); then list 1 gets an element.
        lists.lock(0).push_front(&w, n);
        for i in 0..LAG as u32 * TICK {
            lists.lock(2).push_front(&w, i);
        }
        assert_eq!(lists.clock.load(Ordering::Relaxed), LAG);
        while lists.lock(2).evict(&w, |_| false, |_| true).is_some() {}
        lists.lock(1).push_front(&w, n + 1);
        // Home 1's own tail is LAG ticks newer than list 0's: list 0 first.
        assert_eq!(lists.eviction_order(1).collect::<Vec<_>>(), [0, 1, 2, 3]);
        // Home 0 owns the oldest; home 2 has nothing: the oldest.
        assert_eq!(lists.eviction_order(0).next(), Some(0));
        assert_eq!(lists.eviction_order(2).next(), Some(0));
        // Less than LAG ticks apart: the own list.
        lists.lock(0).unlink(&w, n);
        lists.lock(0).push_front(&w, n);
        assert_eq!(lists.eviction_order(1).next(), Some(1));
    }
}
