//! Value-pointer lifetime: epoch-based deferred reuse.
//!
//! A program run pins a [`RunGuard`] at its start and drops it at its end. Every map
//! operation that takes memory out of use (a hash element deleted or replaced, an inner map
//! or program removed from a slot, a trie node replaced, a map's storage when the map
//! drops) hands the memory to the epoch collector instead of reusing or freeing it, and the
//! collector runs those deferred frees only once every guard pinned at that time has been
//! dropped. So a pointer a program got from `bpf_map_lookup_elem` stays valid, and keeps
//! pointing at the element it was given, until its run ends, whatever other threads do.
//!
//! The collector is crossbeam-epoch's global one; user-space operations pin it for their own
//! duration (pinning is reentrant, so they may run inside a run too).

#![allow(
    unsafe_code,
    reason = "one of the places ARCHITECTURE.md allows unsafe; every block has a SAFETY comment"
)]

use std::fmt;

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};

/// The pin a program run holds from its start to its end, bound to one execution slot.
///
/// Value pointers obtained with this guard (`lookup_ptr`, ringbuf reservations stay valid
/// regardless) stay valid until it drops. It is not `Send`: a run stays on one thread.
pub struct RunGuard {
    guard: Guard,
    slot: usize,
}

impl RunGuard {
    /// Pins the current thread for a run on execution slot `slot` (the CPU number a per-CPU
    /// map uses; a slot past a map's slot count wraps around modulo it).
    pub fn pin(slot: usize) -> RunGuard {
        RunGuard {
            guard: crossbeam_epoch::pin(),
            slot,
        }
    }

    /// The execution slot of this run (`bpf_get_smp_processor_id`).
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// Unpins and pins again, letting deferred frees proceed. Only for a host loop that
    /// keeps one guard across runs: every pointer obtained before is invalid afterwards,
    /// which `&mut self` enforces for the references this crate hands out.
    pub fn repin(&mut self) {
        // A real unpin and pin: `Guard::repin` only moves this thread's epoch, and never
        // advances the global epoch or runs deferred frees (pinning does, every so many
        // pins), so a loop that only called it would never reuse retired memory and the
        // hash maps' element pools would grow without bound.
        self.guard.repin_after(|| ());
    }

    /// Pushes this thread's deferred frees to the global queue so other threads can run
    /// them (useful before a thread goes idle).
    pub fn flush(&self) {
        self.guard.flush();
    }

    pub(crate) fn guard(&self) -> &Guard {
        &self.guard
    }
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGuard")
            .field("slot", &self.slot)
            .finish()
    }
}

/// A slot holding an optional `T` that readers borrow for the lifetime of their guard;
/// replaced values are destroyed only after every guard pinned at the time is gone.
pub(crate) struct EpochSlot<T: Send + Sync + 'static> {
    ptr: Atomic<T>,
}

impl<T: Send + Sync + 'static> EpochSlot<T> {
    /// An empty slot.
    pub(crate) fn empty() -> Self {
        EpochSlot {
            ptr: Atomic::null(),
        }
    }

    /// The current value, borrowed for the guard's lifetime.
    pub(crate) fn load<'g>(&self, guard: &'g Guard) -> Option<&'g T> {
        let shared = self.ptr.load(std::sync::atomic::Ordering::Acquire, guard);
        // SAFETY: the pointer is null or came from `Owned::new` in `swap`; a value taken out
        // of the slot is destroyed only through `defer_destroy`, which waits until every
        // guard pinned at that moment (including `guard`, pinned before our load) is dropped,
        // so the reference is valid for `'g`.
        unsafe { shared.as_ref() }
    }

    /// Stores `value` (or empties the slot) and returns whether a value was there before;
    /// the old value is destroyed once no guard can see it.
    pub(crate) fn swap(&self, value: Option<T>, guard: &Guard) -> bool {
        let new = match value {
            Some(v) => Owned::new(v).into_shared(guard),
            None => Shared::null(),
        };
        let old = self
            .ptr
            .swap(new, std::sync::atomic::Ordering::AcqRel, guard);
        if old.is_null() {
            return false;
        }
        // SAFETY: `old` was unlinked by the swap, so no reader can load it any more; readers
        // that loaded it earlier hold guards pinned before this point, and `defer_destroy`
        // waits for all of them.
        unsafe { guard.defer_destroy(old) };
        true
    }
}

impl<T: Send + Sync + 'static> Drop for EpochSlot<T> {
    fn drop(&mut self) {
        // Deferred like any other removal: a run may still borrow the value through a
        // reference obtained before the slot's owner was dropped.
        let guard = crossbeam_epoch::pin();
        self.swap(None, &guard);
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for EpochSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let guard = crossbeam_epoch::pin();
        let full = self.load(&guard).is_some();
        f.write_str(if full {
            "EpochSlot(full)"
        } else {
            "EpochSlot(empty)"
        })
    }
}

/// Owns a value and, when dropped, defers dropping it until no current guard can see it:
/// map storage is kept alive for runs that reached the map through a map-in-map slot.
pub(crate) struct Retire<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> Retire<T> {
    pub(crate) fn new(value: T) -> Self {
        Retire(Some(value))
    }
}

impl<T: Send + 'static> std::ops::Deref for Retire<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0
            .as_ref()
            .expect("Retire holds its value until dropped")
    }
}

impl<T: Send + 'static> Drop for Retire<T> {
    fn drop(&mut self) {
        if let Some(v) = self.0.take() {
            crossbeam_epoch::pin().defer(move || drop(v));
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Retire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Retire(..)")
    }
}
