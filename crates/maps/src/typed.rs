//! Typed views for embedders: a map's keys and values as Rust types instead of bytes.
//!
//! ```
//! use ebpfvm_abi::MapType;
//! use ebpfvm_maps::{MapDef, TypedMap};
//!
//! let map = MapDef::new(MapType::Hash, 4, 8, 16).create().unwrap();
//! let counts: TypedMap<u32, u64> = TypedMap::new(map).unwrap();
//! counts.insert(&6, &3, 0).unwrap();
//! assert_eq!(counts.get(&6).unwrap(), Some(3));
//! assert_eq!(counts.get(&7).unwrap(), None);
//! assert_eq!(counts.iter().collect::<Vec<_>>(), [(6, 3)]);
//! ```
//!
//! Key and value types are plain data ([`bytemuck::Pod`]: integers, arrays, `#[repr(C)]`
//! structs without padding); their sizes must equal the map's. Values are copied in native
//! byte order, as programs see them.

use std::marker::PhantomData;
use std::sync::Arc;

use bytemuck::Pod;

use crate::{Map, MapError};

/// A map viewed with key type `K` and value type `V`.
#[derive(Debug, Clone)]
pub struct TypedMap<K, V> {
    map: Arc<dyn Map>,
    _types: PhantomData<fn(K, V)>,
}

fn check_sizes<K, V>(map: &dyn Map, value_size: usize) -> Result<(), MapError> {
    if map.key_size() != size_of::<K>() {
        return Err(MapError::KeySize {
            expected: map.key_size(),
            got: size_of::<K>(),
        });
    }
    if value_size != size_of::<V>() {
        return Err(MapError::ValueSize {
            expected: value_size,
            got: size_of::<V>(),
        });
    }
    Ok(())
}

impl<K: Pod, V: Pod> TypedMap<K, V> {
    /// A typed view of `map`; `KeySize`/`ValueSize` errors if the types do not fit it. For
    /// per-CPU maps use [`PerCpuTypedMap`].
    pub fn new(map: Arc<dyn Map>) -> Result<Self, MapError> {
        if map.def().is_percpu() {
            return Err(MapError::ValueSize {
                expected: map.user_value_size(),
                got: size_of::<V>(),
            });
        }
        check_sizes::<K, V>(map.as_ref(), map.value_size())?;
        Ok(TypedMap {
            map,
            _types: PhantomData,
        })
    }

    /// The underlying map.
    pub fn map(&self) -> &Arc<dyn Map> {
        &self.map
    }

    /// The value at `key`, `None` if there is none.
    pub fn get(&self, key: &K) -> Result<Option<V>, MapError> {
        let mut v = V::zeroed();
        match self
            .map
            .lookup(bytemuck::bytes_of(key), bytemuck::bytes_of_mut(&mut v))
        {
            Ok(()) => Ok(Some(v)),
            Err(MapError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` at `key` with `BPF_ANY` (0), `BPF_NOEXIST` (1) or `BPF_EXIST` (2).
    pub fn insert(&self, key: &K, value: &V, flags: u64) -> Result<(), MapError> {
        self.map
            .update(bytemuck::bytes_of(key), bytemuck::bytes_of(value), flags)
    }

    /// Deletes `key` (`NotFound` if absent).
    pub fn remove(&self, key: &K) -> Result<(), MapError> {
        self.map.delete(bytemuck::bytes_of(key))
    }

    /// The keys, in the map's get-next-key order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        let mut cur: Option<K> = None;
        // A map never has more than max_entries keys; the bound also stops a walk that a
        // concurrent writer keeps feeding.
        let mut left = self.map.max_entries() as u64 + 1;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut next = K::zeroed();
            let r = self.map.next_key(
                cur.as_ref().map(bytemuck::bytes_of),
                bytemuck::bytes_of_mut(&mut next),
            );
            r.ok()?;
            cur = Some(next);
            Some(next)
        })
    }

    /// The elements, in the map's get-next-key order (elements deleted meanwhile are
    /// skipped).
    pub fn iter(&self) -> impl Iterator<Item = (K, V)> + '_ {
        self.keys()
            .filter_map(|k| self.get(&k).ok().flatten().map(|v| (k, v)))
    }
}

/// A per-CPU map viewed with key type `K` and value type `V`: one value per execution slot.
#[derive(Debug, Clone)]
pub struct PerCpuTypedMap<K, V> {
    map: Arc<dyn Map>,
    _types: PhantomData<fn(K, V)>,
}

impl<K: Pod, V: Pod> PerCpuTypedMap<K, V> {
    /// A typed view of the per-CPU map `map`.
    pub fn new(map: Arc<dyn Map>) -> Result<Self, MapError> {
        if !map.def().is_percpu() {
            return Err(MapError::Invalid {
                reason: "not a per-CPU map",
            });
        }
        check_sizes::<K, V>(map.as_ref(), map.value_size())?;
        Ok(PerCpuTypedMap {
            map,
            _types: PhantomData,
        })
    }

    fn stride(&self) -> usize {
        size_of::<V>().div_ceil(8) * 8
    }

    /// Every slot's value at `key`, `None` if there is no element.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>, MapError> {
        let mut buf = vec![0u8; self.map.user_value_size()];
        match self.map.lookup(bytemuck::bytes_of(key), &mut buf) {
            Ok(()) => Ok(Some(
                buf.chunks(self.stride())
                    .map(|c| bytemuck::pod_read_unaligned(&c[..size_of::<V>()]))
                    .collect(),
            )),
            Err(MapError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` in every slot at `key`.
    pub fn insert_all(&self, key: &K, value: &V, flags: u64) -> Result<(), MapError> {
        let mut buf = vec![0u8; self.map.user_value_size()];
        for c in buf.chunks_mut(self.stride()) {
            c[..size_of::<V>()].copy_from_slice(bytemuck::bytes_of(value));
        }
        self.map.update(bytemuck::bytes_of(key), &buf, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MapDef, MapOptions};
    use ebpfvm_abi::MapType;

    #[test]
    fn typed_hash_round_trip_and_errors() {
        let map = MapDef::new(MapType::Hash, 4, 16, 2).create().unwrap();
        let m: TypedMap<u32, [u64; 2]> = TypedMap::new(map.clone()).unwrap();
        m.insert(&1, &[10, 20], 0).unwrap();
        m.insert(&2, &[30, 40], 1).unwrap();
        // BPF_NOEXIST on an existing key, and a third key in a 2-entry map.
        assert!(matches!(m.insert(&1, &[0, 0], 1), Err(MapError::Exists)));
        assert!(m.insert(&3, &[0, 0], 0).is_err());
        assert_eq!(m.get(&2).unwrap(), Some([30, 40]));
        let mut all: Vec<_> = m.iter().collect();
        all.sort();
        assert_eq!(all, [(1, [10, 20]), (2, [30, 40])]);
        m.remove(&1).unwrap();
        assert_eq!(m.get(&1).unwrap(), None);
        // The bytes are native order, as a program sees them.
        let mut raw = [0u8; 16];
        map.lookup(&2u32.to_ne_bytes(), &mut raw).unwrap();
        assert_eq!(raw[..8], 30u64.to_ne_bytes());
        // Wrong sizes are refused.
        assert!(matches!(
            TypedMap::<u64, [u64; 2]>::new(map.clone()),
            Err(MapError::KeySize {
                expected: 4,
                got: 8
            })
        ));
        assert!(TypedMap::<u32, u64>::new(map).is_err());
    }

    #[test]
    fn per_cpu_view_has_one_value_per_slot() {
        let def = MapDef::new(MapType::PercpuArray, 4, 4, 2);
        let map = crate::create_map(&def, &MapOptions::with_slots(3)).unwrap();
        assert!(TypedMap::<u32, u32>::new(map.clone()).is_err());
        let m: PerCpuTypedMap<u32, u32> = PerCpuTypedMap::new(map).unwrap();
        m.insert_all(&1, &7, 0).unwrap();
        assert_eq!(m.get(&1).unwrap(), Some(vec![7, 7, 7]));
        assert_eq!(m.get(&0).unwrap(), Some(vec![0, 0, 0]));
    }
}
