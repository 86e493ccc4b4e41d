//! `BPF_MAP_TYPE_ARRAY_OF_MAPS`: an array whose values are maps.
//!
//! Creation needs an inner-map template ([`MapDef::inner`], Linux's `inner_map_fd`); every
//! inner map stored must match it (`bpf_map_meta_equal`: type, key and value size, flags,
//! and for array inner maps `max_entries` unless the template has `BPF_F_INNER_MAP`), or
//! the update fails with `EINVAL`. Programs get the inner map with [`Map::lookup_inner`],
//! borrowed for the run: a replaced inner map stays alive until runs that saw it end.
//! User-space lookups return the inner map's id; stores go through [`Map::update_inner`]
//! (byte-level updates are `EINVAL`: bytes cannot name a map here).

use std::any::Any;
use std::sync::Arc;

use ebpfvm_abi::MapType;

use crate::array::array_next_key;
use crate::epoch::EpochSlot;
use crate::flags::*;
use crate::map::check_write;
use crate::prog_array::{check_fd_array, fd_index};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// Checks an inner-map template (`bpf_map_meta_alloc`): map-in-maps, program arrays and
/// perf event arrays cannot be inner maps. Returns the template.
pub(crate) fn check_template(def: &MapDef) -> Result<&MapDef, MapError> {
    let inner = def.inner.as_deref().ok_or(MapError::BadAttr {
        reason: "map-in-map needs an inner map template",
    })?;
    if matches!(
        inner.map_type,
        MapType::ArrayOfMaps | MapType::HashOfMaps | MapType::ProgArray | MapType::PerfEventArray
    ) {
        return Err(MapError::BadAttr {
            reason: "this map type cannot be an inner map",
        });
    }
    Ok(inner)
}

/// Whether `map` may be stored in a map-in-map with template `template`.
pub(crate) fn matches_template(template: &MapDef, map: &dyn Map) -> Result<(), MapError> {
    let d = map.def();
    let same = d.map_type == template.map_type
        && d.key_size == template.key_size
        && d.value_size == template.value_size
        && d.flags == template.flags
        && (template.flags & BPF_F_INNER_MAP != 0
            || !matches!(d.map_type, MapType::Array | MapType::PercpuArray)
            || d.max_entries == template.max_entries);
    if same {
        Ok(())
    } else {
        Err(MapError::Invalid {
            reason: "inner map does not match the map-in-map's inner template",
        })
    }
}

/// An array of maps.
#[derive(Debug)]
pub struct ArrayOfMaps {
    info: MapInfo,
    template: MapDef,
    slots: Box<[EpochSlot<Arc<dyn Map>>]>,
}

impl ArrayOfMaps {
    /// Creates an array of maps with Linux's checks.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<ArrayOfMaps, MapError> {
        let template = check_template(def)?.clone();
        let mut outer = def.clone();
        outer.inner = None;
        check_fd_array(&outer)?;
        Ok(ArrayOfMaps {
            info: MapInfo::new(def, opts.slots),
            template,
            slots: (0..def.max_entries).map(|_| EpochSlot::empty()).collect(),
        })
    }

    fn slot(&self, key: &[u8]) -> Result<&EpochSlot<Arc<dyn Map>>, MapError> {
        let index = fd_index(key, self.info.def().max_entries)?;
        Ok(&self.slots[index as usize])
    }
}

impl Map for ArrayOfMaps {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        let slot = self.slot(key).map_err(|_| MapError::NotFound)?;
        let inner = slot.load(&guard).ok_or(MapError::NotFound)?;
        out.copy_from_slice(&inner.id().to_ne_bytes());
        Ok(())
    }

    fn sys_update(&self, key: &[u8], _value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadFlags { flags });
        }
        self.slot(key)?;
        Err(MapError::Invalid {
            reason: "map-in-map values take a map handle: use update_inner",
        })
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        if self.slot(key)?.swap(None, &guard) {
            Ok(())
        } else {
            Err(MapError::NotFound)
        }
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        array_next_key(key, self.info.def().max_entries, out)
    }

    #[inline]
    fn lookup_inner<'g>(&self, key: &[u8], run: &'g RunGuard) -> Option<&'g Arc<dyn Map>> {
        let index = crate::array::array_index(key)?;
        self.slots.get(index as usize)?.load(run.guard())
    }

    fn update_inner(&self, key: &[u8], inner: Arc<dyn Map>, flags: u64) -> Result<(), MapError> {
        check_write(self)?;
        if flags != BPF_ANY {
            return Err(MapError::BadFlags { flags });
        }
        let slot = self.slot(key)?;
        matches_template(&self.template, inner.as_ref())?;
        let guard = crossbeam_epoch::pin();
        slot.swap(Some(inner), &guard);
        Ok(())
    }
}
