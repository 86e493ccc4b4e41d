//! eBPF maps with Linux semantics, in user space.
//!
//! ```text
//!  MapSpec (ebpfvm-object) ──runtime──▶ MapDef ──create_map──▶ Arc<dyn Map>
//!                                                                  │
//!        user space: lookup/update/delete/next_key/batches ◀───────┤ (bpf() semantics,
//!                                                                  │  copies, errno)
//!        programs (via helpers): lookup_ptr/update_from_prog/...  ◀┘ (value pointers,
//!                                           under the run's RunGuard)
//! ```
//!
//! One [`Map`] trait, one file per map type: [`array`], [`percpu_array`], [`hash`] (also
//! the table of [`percpu_hash`], [`lru_hash`], [`lru_percpu_hash`]), [`lpm_trie`],
//! [`ringbuf`], [`queue_stack`], [`bloom_filter`], [`prog_array`], [`array_of_maps`],
//! [`hash_of_maps`], [`perf_event_array`], and the redirect maps of [`devmap`]. [`create_map`] builds any of them from a
//! [`MapDef`] after Linux's attribute checks; every failure is a [`MapError`] whose
//! [`MapError::errno`] is what Linux returns in the same case.
//!
//! **Value pointers** (ARCHITECTURE.md): a run pins a [`RunGuard`] for its whole duration;
//! memory that leaves a map (deleted or replaced hash elements, trie values, inner maps,
//! program entries, a dropped map's storage) is reused or freed only after every guard
//! pinned at that moment has dropped (see [`epoch`]). Values are 8-byte aligned `AtomicU64`
//! words, so programs' atomic instructions on them are real atomics, and user-space copies
//! never race in the Rust memory model's sense.
//!
//! **Scaling.** Hash-map elements come from a pool with one free list per *home* (a run's
//! execution slot, or the calling thread for user space), like Linux's per-CPU free lists:
//! a list that runs dry steals from the others before the pool grows, and capacity
//! (`E2BIG`) is a count of live elements, never a matter of which list spare elements sit
//! on. LRU maps keep one LRU list per home with an age-based fallback to the others
//! ([`lru_hash`]). Data written by one thread at a time sits on cache lines of its own. No
//! global lock or shared free list is taken by an update.
//!
//! **Unsafe code** is confined to `storage` (value memory, and the spin-lock-protected cell of
//! the free lists and LRU lists) and [`epoch`]; every block has a `SAFETY` comment.
//!
//! **Per-CPU maps** keep one value per execution slot; the number of slots is fixed at
//! creation ([`MapOptions::slots`], default the machine's available parallelism), a run's
//! slot is [`RunGuard::slot`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod array;
pub mod array_of_maps;
pub mod bloom_filter;
mod def;
pub mod devmap;
pub mod epoch;
mod error;
pub mod flags;
pub mod hash;
pub mod hash_of_maps;
pub mod lpm_trie;
pub mod lru_hash;
pub mod lru_percpu_hash;
mod map;
pub mod percpu_array;
pub mod percpu_hash;
pub mod perf_event_array;
mod pool;
pub mod prog_array;
pub mod queue_stack;
pub mod ringbuf;
mod storage;
pub mod typed;

use std::sync::Arc;

use ebpfvm_abi::MapType;

pub use array::ArrayMap;
pub use array_of_maps::ArrayOfMaps;
pub use bloom_filter::BloomFilter;
pub use def::{MapDef, MapOptions};
pub use devmap::DevMap;
pub use epoch::RunGuard;
pub use error::MapError;
pub use hash::HashTab;
pub use hash_of_maps::HashOfMaps;
pub use lpm_trie::LpmTrie;
pub use map::{elem_flags, Batch, BatchError, ForEachFn, Map, MapInfo, ProgEntry};
pub use percpu_array::PercpuArrayMap;
pub use perf_event_array::PerfEventArray;
pub use prog_array::ProgArray;
pub use queue_stack::QueueStack;
pub use ringbuf::RingBuf;
pub use typed::{PerCpuTypedMap, TypedMap};

/// Errno values [`MapError::errno`] returns.
pub mod errno {
    pub use crate::error::{
        E2BIG, EAGAIN, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, ENOTSUPP, EOPNOTSUPP,
        EPERM,
    };
}

/// Creates a map of `def.map_type` (`BPF_MAP_CREATE`): Linux's attribute checks, then
/// the map. Types this crate does not implement fail with `EINVAL`, as an unknown type does
/// in Linux.
pub fn create_map(def: &MapDef, opts: &MapOptions) -> Result<Arc<dyn Map>, MapError> {
    let map: Arc<dyn Map> = match def.map_type {
        MapType::Array => Arc::new(ArrayMap::new(def, opts)?),
        MapType::PercpuArray => Arc::new(PercpuArrayMap::new(def, opts)?),
        MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash => {
            Arc::new(HashTab::new(def, opts)?)
        }
        MapType::LpmTrie => Arc::new(LpmTrie::new(def, opts)?),
        MapType::Ringbuf => Arc::new(RingBuf::new(def, opts)?),
        MapType::Queue | MapType::Stack => Arc::new(QueueStack::new(def, opts)?),
        MapType::BloomFilter => Arc::new(BloomFilter::new(def, opts)?),
        MapType::ProgArray => Arc::new(ProgArray::new(def, opts)?),
        MapType::ArrayOfMaps => Arc::new(ArrayOfMaps::new(def, opts)?),
        MapType::HashOfMaps => Arc::new(HashOfMaps::new(def, opts)?),
        MapType::PerfEventArray => Arc::new(PerfEventArray::new(def, opts)?),
        MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap => {
            Arc::new(DevMap::new(def, opts)?)
        }
        _ => {
            return Err(MapError::BadAttr {
                reason: "map type not supported",
            })
        }
    };
    Ok(map)
}
