//! Integration tests of ebpfvm-maps: Linux semantics per map type, and stress tests.

mod array;
mod batch;
mod bloom;
mod fd_maps;
mod hash;
mod lpm;
mod lru;
mod queue_stack;
mod ringbuf;
mod stress;

use std::sync::Arc;

use ebpfvm_abi::MapType;
use ebpfvm_maps::{create_map, Map, MapDef, MapError, MapOptions};

/// Creates a map with `slots` execution slots.
pub fn make(def: MapDef, slots: usize) -> Arc<dyn Map> {
    create_map(&def, &MapOptions::with_slots(slots)).expect("valid map attributes")
}

/// The errno of creating `def`.
pub fn create_errno(def: MapDef) -> i32 {
    create_map(&def, &MapOptions::with_slots(2))
        .map(|_| 0)
        .unwrap_or_else(|e| e.errno())
}

/// A 4-byte key.
pub fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

/// An 8-byte value.
pub fn v64(v: u64) -> [u8; 8] {
    v.to_ne_bytes()
}

/// The errno of a result (0 for success).
pub fn errno<T>(r: Result<T, MapError>) -> i32 {
    r.map(|_| 0).unwrap_or_else(|e| e.errno())
}

/// Reads a u64 value from user space.
pub fn get64(map: &dyn Map, key: &[u8]) -> Result<u64, MapError> {
    let mut out = [0u8; 8];
    map.lookup(key, &mut out)?;
    Ok(u64::from_ne_bytes(out))
}

/// The definition helper.
pub fn def(t: MapType, k: u32, v: u32, max: u32) -> MapDef {
    MapDef::new(t, k, v, max)
}
