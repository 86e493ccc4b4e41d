//! `BPF_MAP_TYPE_LRU_HASH`: a hash map that evicts instead of failing with `E2BIG`.
//!
//! The table is [`HashTab`](crate::HashTab); this file holds the LRU list. Linux keeps
//! active and inactive lists and a reference bit per element that lookups *from programs*
//! set (user-space lookups do not: `htab_lru_map_lookup_elem_sys`); eviction scans from
//! the inactive tail, giving referenced elements a second chance. We keep one list with the
//! same reference bit and second-chance scan (the CLOCK algorithm Linux's rotation
//! approximates): a new element goes to the front unreferenced, a replacing element goes to
//! the front referenced, and eviction takes the element nearest the tail whose bit is clear,
//! clearing the bits and moving to the front the referenced ones it passes.
//!
//! Differences from Linux, documented: Linux frees and allocates nodes in per-CPU batches
//! (`LOCAL_FREE_TARGET`), so it may evict a few elements before the map is full and evicts
//! even when an existing key is replaced; here eviction happens exactly when a new key meets
//! a full map, one element at a time. `BPF_F_NO_COMMON_LRU` (per-CPU lists) is accepted and
//! treated as the common list.

use crate::storage::NIL;

/// A doubly linked list of element indices, most recent first.
#[derive(Debug)]
pub(crate) struct LruList {
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
}

impl Default for LruList {
    fn default() -> Self {
        LruList {
            prev: Vec::new(),
            next: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl LruList {
    fn ensure(&mut self, idx: u32) {
        let need = idx as usize + 1;
        if self.prev.len() < need {
            let len = need.next_power_of_two();
            self.prev.resize(len, NIL);
            self.next.resize(len, NIL);
        }
    }

    /// Adds `idx` at the front.
    pub(crate) fn push_front(&mut self, idx: u32) {
        self.ensure(idx);
        let i = idx as usize;
        self.prev[i] = NIL;
        self.next[i] = self.head;
        if self.head != NIL {
            self.prev[self.head as usize] = idx;
        } else {
            self.tail = idx;
        }
        self.head = idx;
    }

    /// Removes `idx` (which must be on the list).
    pub(crate) fn unlink(&mut self, idx: u32) {
        let i = idx as usize;
        if i >= self.prev.len() {
            return;
        }
        let (p, n) = (self.prev[i], self.next[i]);
        if p != NIL {
            self.next[p as usize] = n;
        } else if self.head == idx {
            self.head = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        } else if self.tail == idx {
            self.tail = p;
        }
        self.prev[i] = NIL;
        self.next[i] = NIL;
    }

    /// Removes and returns the least recently used element: from the tail, an element
    /// for which `take_ref` (clearing its reference bit) says it was not referenced;
    /// referenced ones move to the front.
    pub(crate) fn evict(&mut self, mut take_ref: impl FnMut(u32) -> bool) -> Option<u32> {
        loop {
            let t = self.tail;
            if t == NIL {
                return None;
            }
            self.unlink(t);
            if take_ref(t) {
                self.push_front(t);
            } else {
                return Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_unreferenced_from_the_tail() {
        let mut l = LruList::default();
        for i in 0..4 {
            l.push_front(i);
        }
        // 0 is the oldest but referenced: 1 goes.
        let mut refd = [true, false, false, false];
        assert_eq!(l.evict(|i| std::mem::take(&mut refd[i as usize])), Some(1));
        assert_eq!(l.evict(|i| std::mem::take(&mut refd[i as usize])), Some(2));
        assert_eq!(l.evict(|i| std::mem::take(&mut refd[i as usize])), Some(3));
        assert_eq!(l.evict(|i| std::mem::take(&mut refd[i as usize])), Some(0));
        assert_eq!(l.evict(|_| false), None);
    }
}
