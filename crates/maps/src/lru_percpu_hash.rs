//! `BPF_MAP_TYPE_LRU_PERCPU_HASH`: an LRU hash map with one value per execution slot.
//!
//! Eviction as in [`lru_hash`](crate::lru_hash), values as in
//! [`percpu_hash`](crate::percpu_hash): an update of an existing key writes in place and
//! marks the element referenced.

use crate::{HashTab, MapDef, MapError, MapOptions};

/// Creates an LRU per-CPU hash map (`def.map_type` must be `LruPercpuHash`).
pub fn new_lru_percpu_hash(def: &MapDef, opts: &MapOptions) -> Result<HashTab, MapError> {
    HashTab::new(def, opts)
}
