//! `BPF_MAP_TYPE_HASH_OF_MAPS`: a hash map whose values are maps.
//!
//! Keys as in a hash map (`BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST`, `E2BIG` when full,
//! get-next-key in a stable order — here the keys' byte order); values as in
//! [`array_of_maps`](crate::array_of_maps): inner maps checked against the template,
//! borrowed by runs through [`Map::lookup_inner`], user-space lookups return the inner
//! map's id.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::array_of_maps::{check_template, matches_template};
use crate::def::{check_common, check_flag_mask, MAX_BPF_STACK};
use crate::epoch::EpochSlot;
use crate::flags::*;
use crate::map::{check_write, elem_flags};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

type Table = BTreeMap<Box<[u8]>, EpochSlot<Arc<dyn Map>>>;

/// A hash of maps.
#[derive(Debug)]
pub struct HashOfMaps {
    info: MapInfo,
    template: MapDef,
    table: RwLock<Table>,
}

impl HashOfMaps {
    /// Creates a hash of maps with Linux's checks (those of a hash map, 4-byte values and
    /// an inner template).
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<HashOfMaps, MapError> {
        let template = check_template(def)?.clone();
        let mut outer = def.clone();
        outer.inner = None;
        check_common(&outer)?;
        check_flag_mask(
            def,
            BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK | BPF_F_ZERO_SEED,
        )?;
        if def.value_size != 4 || def.key_size == 0 || def.max_entries == 0 {
            return Err(MapError::BadAttr {
                reason: "hash of maps needs a key, 4-byte values and max_entries",
            });
        }
        if def.flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG) != 0 {
            return Err(MapError::BadAttr {
                reason: "map-in-maps take no program access flags",
            });
        }
        if u64::from(def.key_size) > MAX_BPF_STACK {
            return Err(MapError::AttrTooBig {
                what: "key_size",
                size: def.key_size.into(),
                limit: MAX_BPF_STACK,
            });
        }
        Ok(HashOfMaps {
            info: MapInfo::new(def, opts.slots),
            template,
            table: RwLock::new(BTreeMap::new()),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Map for HashOfMaps {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        let table = self.read();
        let inner = table
            .get(key)
            .and_then(|s| s.load(&guard))
            .ok_or(MapError::NotFound)?;
        out.copy_from_slice(&inner.id().to_ne_bytes());
        Ok(())
    }

    fn sys_update(&self, _key: &[u8], _value: &[u8], flags: u64) -> Result<(), MapError> {
        elem_flags(flags)?;
        Err(MapError::Invalid {
            reason: "map-in-map values take a map handle: use update_inner",
        })
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.write().remove(key).map(drop).ok_or(MapError::NotFound)
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        use std::ops::Bound;
        let table = self.read();
        let next = match key {
            Some(k) if table.contains_key(k) => table
                .range::<[u8], _>((Bound::Excluded(k), Bound::Unbounded))
                .next(),
            _ => table.iter().next(),
        };
        let (k, _) = next.ok_or(MapError::NotFound)?;
        out.copy_from_slice(k);
        Ok(())
    }

    fn sys_lookup_and_delete(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        let mut table = self.write();
        let id = table
            .get(key)
            .and_then(|s| s.load(&guard))
            .map(|m| m.id())
            .ok_or(MapError::NotFound)?;
        table.remove(key);
        out.copy_from_slice(&id.to_ne_bytes());
        Ok(())
    }

    fn lookup_inner<'g>(&self, key: &[u8], run: &'g RunGuard) -> Option<&'g Arc<dyn Map>> {
        self.read().get(key)?.load(run.guard())
    }

    fn update_inner(&self, key: &[u8], inner: Arc<dyn Map>, flags: u64) -> Result<(), MapError> {
        check_write(self)?;
        let flags = elem_flags(flags)?;
        if key.len() != self.key_size() {
            return Err(MapError::KeySize {
                expected: self.key_size(),
                got: key.len(),
            });
        }
        matches_template(&self.template, inner.as_ref())?;
        let guard = crossbeam_epoch::pin();
        let mut table = self.write();
        match (table.get(key), flags) {
            (Some(_), BPF_NOEXIST) => Err(MapError::Exists),
            (None, BPF_EXIST) => Err(MapError::NotFound),
            (Some(slot), _) => {
                slot.swap(Some(inner), &guard);
                Ok(())
            }
            (None, _) if table.len() >= self.max_entries() as usize => Err(MapError::Full {
                max_entries: self.max_entries(),
            }),
            (None, _) => {
                let slot = EpochSlot::empty();
                slot.swap(Some(inner), &guard);
                table.insert(key.into(), slot);
                Ok(())
            }
        }
    }
}
