//! Map attributes ([`MapDef`]), creation options ([`MapOptions`]) and the checks every map
//! type shares.

use std::sync::Arc;

use ebpfvm_abi::MapType;

use crate::flags::*;
use crate::{Map, MapError};

/// The attributes of a map, as `BPF_MAP_CREATE` takes them (the runtime builds one from an
/// object's `MapSpec`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapDef {
    /// The map type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of elements (ring buffers: size of the data area in bytes).
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_*`, see [`crate::flags`]).
    pub flags: u32,
    /// `map_extra` (bloom filters: number of hash functions in the low 4 bits).
    pub map_extra: u64,
    /// The inner-map template of `array_of_maps` and `hash_of_maps` (Linux's
    /// `inner_map_fd`): inner maps must match its type, sizes and flags.
    pub inner: Option<Box<MapDef>>,
}

impl MapDef {
    /// Attributes with no flags, no `map_extra` and no inner template.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
        MapDef {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            map_extra: 0,
            inner: None,
        }
    }

    /// The same attributes with `flags`.
    pub fn with_flags(mut self, flags: u32) -> MapDef {
        self.flags = flags;
        self
    }

    /// The same attributes with `map_extra`.
    pub fn with_map_extra(mut self, map_extra: u64) -> MapDef {
        self.map_extra = map_extra;
        self
    }

    /// The same attributes with an inner-map template.
    pub fn with_inner(mut self, inner: MapDef) -> MapDef {
        self.inner = Some(Box::new(inner));
        self
    }

    /// Creates the map with default options ([`MapOptions::default`]).
    pub fn create(&self) -> Result<Arc<dyn Map>, MapError> {
        crate::create_map(self, &MapOptions::default())
    }

    /// Whether values are per execution slot.
    pub fn is_percpu(&self) -> bool {
        matches!(
            self.map_type,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        )
    }
}

/// Options of map creation that are not attributes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MapOptions {
    /// Execution slots (the runtime's CPUs): per-CPU maps keep one value per slot.
    pub slots: usize,
}

impl MapOptions {
    /// Options with `slots` execution slots (at least 1).
    pub fn with_slots(slots: usize) -> MapOptions {
        MapOptions {
            slots: slots.max(1),
        }
    }
}

impl Default for MapOptions {
    /// One slot per CPU the process may use (`std::thread::available_parallelism`).
    fn default() -> MapOptions {
        MapOptions::with_slots(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// `KMALLOC_MAX_SIZE` on x86-64 (4 MiB pages of order 10): Linux's bound for many sizes.
pub(crate) const KMALLOC_MAX_SIZE: u64 = 1 << 22;
/// `PCPU_MIN_UNIT_SIZE`: the largest per-CPU value.
pub(crate) const PCPU_MIN_UNIT_SIZE: u64 = 32 << 10;
/// `MAX_BPF_STACK`: the largest hash key (programs build keys on the stack).
pub(crate) const MAX_BPF_STACK: u64 = 512;

/// Checks done by `map_create` for every type: `map_extra` only where used, user and
/// program access flags not contradictory.
pub(crate) fn check_common(def: &MapDef) -> Result<(), MapError> {
    if def.map_extra != 0 && def.map_type != MapType::BloomFilter {
        return Err(MapError::BadAttr {
            reason: "map_extra is only for bloom filters",
        });
    }
    if def.flags & BPF_F_RDONLY != 0 && def.flags & BPF_F_WRONLY != 0 {
        return Err(MapError::BadAttr {
            reason: "BPF_F_RDONLY and BPF_F_WRONLY together",
        });
    }
    if def.flags & BPF_F_RDONLY_PROG != 0 && def.flags & BPF_F_WRONLY_PROG != 0 {
        return Err(MapError::BadAttr {
            reason: "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together",
        });
    }
    if def.inner.is_some() && !matches!(def.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
        return Err(MapError::BadAttr {
            reason: "an inner map template is only for map-in-map types",
        });
    }
    Ok(())
}

/// Rejects flags outside `allowed`.
pub(crate) fn check_flag_mask(def: &MapDef, allowed: u32) -> Result<(), MapError> {
    if def.flags & !allowed != 0 {
        return Err(MapError::BadAttr {
            reason: "map_flags has bits this map type does not accept",
        });
    }
    Ok(())
}

/// Array-like attributes (`array_map_alloc_check`): 4-byte keys, a value, some entries.
pub(crate) fn check_array(def: &MapDef, percpu: bool) -> Result<(), MapError> {
    let mut allowed = BPF_F_NUMA_NODE
        | BPF_F_MMAPABLE
        | BPF_F_ACCESS_MASK
        | BPF_F_PRESERVE_ELEMS
        | BPF_F_INNER_MAP;
    if percpu {
        allowed &= !BPF_F_MMAPABLE;
    }
    if def.max_entries == 0 || def.key_size != 4 || def.value_size == 0 {
        return Err(MapError::BadAttr {
            reason: "arrays need key_size 4, a non-zero value_size and max_entries",
        });
    }
    check_flag_mask(def, allowed)?;
    if def.flags & BPF_F_PRESERVE_ELEMS != 0 && def.map_type != MapType::PerfEventArray {
        return Err(MapError::BadAttr {
            reason: "BPF_F_PRESERVE_ELEMS is only for perf event arrays",
        });
    }
    let limit = if percpu {
        PCPU_MIN_UNIT_SIZE
    } else {
        KMALLOC_MAX_SIZE
    };
    if u64::from(def.value_size) > limit {
        return Err(MapError::AttrTooBig {
            what: "value_size",
            size: u64::from(def.value_size),
            limit,
        });
    }
    Ok(())
}
