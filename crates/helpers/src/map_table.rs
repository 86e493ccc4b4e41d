//! Program-visible map pointer values and the maps they stand for.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use ebpfvm_maps::Map;

/// A hasher for addresses: a multiply-fold of the one `u64` written (addresses are
/// aligned, so their low bits alone would cluster).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        let h = (n ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }
}

/// A hash map keyed by address.
pub(crate) type AddrMap<V> = HashMap<u64, V, BuildHasherDefault<AddrHasher>>;

/// The maps a program may name, by their program-visible pointer value.
///
/// A map's value (what a `BPF_PSEUDO_MAP_FD` `ld_imm64` loads, what `bpf_map_lookup_elem`
/// gets in `r1`) is its address, `Arc::as_ptr(&map) as *const () as u64` ([`MapTable::addr_of`]):
/// unique while the map lives, and a real pointer as in Linux (programs never
/// dereference it; the verifier forbids it).
#[derive(Clone, Default)]
pub struct MapTable {
    maps: AddrMap<Arc<dyn Map>>,
}

impl MapTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `map` (again: no change) and returns its program-visible value.
    pub fn insert(&mut self, map: Arc<dyn Map>) -> u64 {
        let addr = Self::addr_of(&map);
        self.maps.insert(addr, map);
        addr
    }

    /// The map whose value is `addr`.
    #[inline]
    pub fn get(&self, addr: u64) -> Option<&Arc<dyn Map>> {
        self.maps.get(&addr)
    }

    /// The program-visible value of `map`.
    #[inline]
    pub fn addr_of(map: &Arc<dyn Map>) -> u64 {
        Arc::as_ptr(map) as *const () as u64
    }

    /// Every (value, map) pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Arc<dyn Map>)> {
        self.maps.iter().map(|(a, m)| (*a, m))
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }
}

impl fmt::Debug for MapTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.maps.iter().map(|(a, m)| (format!("{a:#x}"), m.id())))
            .finish()
    }
}
