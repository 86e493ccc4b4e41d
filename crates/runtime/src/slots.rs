//! Execution slots: the runtime's CPUs.
//!
//! A run holds one slot for its whole duration, so per-CPU map values and
//! `bpf_get_smp_processor_id` behave as on a CPU that runs one program at a time. A thread
//! first tries the slot it used last; when every slot is busy it waits (spinning, then
//! yielding) for one to free up.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// A fixed set of execution slots.
#[derive(Debug)]
pub struct SlotPool {
    busy: Box<[Flag]>,
}

/// One slot's busy flag, alone on its cache line so threads taking different slots do not
/// contend.
#[derive(Debug)]
#[repr(align(64))]
struct Flag(AtomicBool);

thread_local! {
    static LAST_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

impl SlotPool {
    /// A pool of `n` slots (at least 1).
    pub fn new(n: usize) -> SlotPool {
        SlotPool {
            busy: (0..n.max(1))
                .map(|_| Flag(AtomicBool::new(false)))
                .collect(),
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.busy.len()
    }

    /// Whether the pool is empty (never: it has at least one slot).
    pub fn is_empty(&self) -> bool {
        self.busy.is_empty()
    }

    /// Takes a free slot, waiting for one if all are busy.
    pub fn acquire(&self) -> Slot<'_> {
        let n = self.busy.len();
        let hint = LAST_SLOT.with(Cell::get);
        let start = if hint < n { hint } else { 0 };
        let mut spins = 0u32;
        loop {
            for i in 0..n {
                let s = (start + i) % n;
                if self.busy[s]
                    .0
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    LAST_SLOT.with(|c| c.set(s));
                    return Slot {
                        pool: self,
                        index: s,
                    };
                }
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A slot held by a run; released when dropped.
#[derive(Debug)]
pub struct Slot<'p> {
    pool: &'p SlotPool,
    index: usize,
}

impl Slot<'_> {
    /// The slot's number (the "CPU id").
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pool.busy[self.index].0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_exclusive() {
        let pool = SlotPool::new(2);
        let a = pool.acquire();
        let b = pool.acquire();
        assert_ne!(a.index(), b.index());
        let ai = a.index();
        drop(a);
        assert_eq!(pool.acquire().index(), ai);
    }

    #[test]
    fn many_threads_never_share_a_slot() {
        let pool = SlotPool::new(2);
        let in_use: Vec<AtomicBool> = (0..2).map(|_| AtomicBool::new(false)).collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        let slot = pool.acquire();
                        assert!(!in_use[slot.index()].swap(true, Ordering::SeqCst));
                        std::hint::spin_loop();
                        in_use[slot.index()].store(false, Ordering::SeqCst);
                    }
                });
            }
        });
    }
}
