//! Redirect targets: `BPF_MAP_TYPE_DEVMAP`, `DEVMAP_HASH`, `CPUMAP` and `XSKMAP`, the maps
//! `bpf_redirect_map` takes.
//!
//! In Linux their values name kernel objects (a net device by ifindex, a CPU's queue size,
//! an AF_XDP socket by fd). Here values are stored as given and [`Map::redirect_target`]
//! tells the helper what the host should redirect to: the `ifindex` (first `u32` of the
//! value) for device maps, the key (CPU or queue index) for CPU and socket maps. The host
//! decides what a redirect means.
//!
//! Element semantics follow Linux: device and CPU arrays index by `u32` below
//! `max_entries` (`E2BIG` above, `BPF_NOEXIST` is `EEXIST`, an `ifindex`/`qsize` of 0
//! clears the slot, delete of an empty slot succeeds), get-next-key in index order; the
//! device hash is a hash map; the socket map is an array whose slots may be empty
//! (`BPF_NOEXIST`/`BPF_EXIST` checked against the slot).

use std::any::Any;

use ebpfvm_abi::MapType;

use crate::array::{array_index, array_next_key};
use crate::def::{check_common, check_flag_mask};
use crate::flags::*;
use crate::map::elem_flags;
use crate::{HashTab, Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// A device, CPU or socket map.
#[derive(Debug)]
pub struct DevMap {
    info: MapInfo,
    table: HashTab,
    array: bool,
}

impl DevMap {
    /// Creates one of the redirect map types with Linux's checks: 4-byte keys; values of
    /// 4 or 8 bytes (sockets: 4).
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<DevMap, MapError> {
        check_common(def)?;
        let array = match def.map_type {
            MapType::Devmap | MapType::Cpumap | MapType::Xskmap => true,
            MapType::DevmapHash => false,
            _ => {
                return Err(MapError::BadAttr {
                    reason: "not a redirect map type",
                })
            }
        };
        let values_ok = match def.map_type {
            MapType::Xskmap => def.value_size == 4,
            _ => def.value_size == 4 || def.value_size == 8,
        };
        if def.max_entries == 0 || def.key_size != 4 || !values_ok {
            return Err(MapError::BadAttr {
                reason: "redirect maps need 4-byte keys, 4- or 8-byte values and max_entries",
            });
        }
        check_flag_mask(def, BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)?;
        let inner = MapDef::new(MapType::Hash, 4, def.value_size, def.max_entries);
        Ok(DevMap {
            info: MapInfo::new(def, opts.slots),
            table: HashTab::new(&inner, &MapOptions::with_slots(1))?,
            array,
        })
    }

    fn index(&self, key: &[u8]) -> Result<u32, MapError> {
        let index = array_index(key).ok_or(MapError::KeySize {
            expected: 4,
            got: key.len(),
        })?;
        if self.array && index >= self.info.def().max_entries {
            return Err(MapError::IndexOutOfRange {
                index,
                max_entries: self.info.def().max_entries,
            });
        }
        Ok(index)
    }

    fn write(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let flags = elem_flags(flags)?;
        self.index(key)?;
        let first = u32::from_ne_bytes(value.get(..4).and_then(|v| v.try_into().ok()).ok_or(
            MapError::ValueSize {
                expected: 4,
                got: value.len(),
            },
        )?);
        match self.info.def().map_type {
            MapType::Devmap | MapType::Cpumap => {
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                if first == 0 {
                    // ifindex 0 / qsize 0: the slot becomes empty.
                    let _ = self.table.sys_delete(key);
                    return Ok(());
                }
                self.table.sys_update(key, value, BPF_ANY)
            }
            _ => self.table.sys_update(key, value, flags),
        }
    }
}

impl Map for DevMap {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        self.table.sys_lookup(key, out)
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.write(key, value, flags)
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        if !self.array {
            return self.table.sys_delete(key);
        }
        let index = array_index(key).unwrap_or(u32::MAX);
        if index >= self.info.def().max_entries {
            return Err(MapError::Invalid {
                reason: "index out of range",
            });
        }
        match self.table.sys_delete(key) {
            Err(MapError::NotFound) if self.info.def().map_type != MapType::Xskmap => Ok(()),
            r => r,
        }
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        if self.array {
            array_next_key(key, self.info.def().max_entries, out)
        } else {
            self.table.sys_next_key(key, out)
        }
    }

    fn lookup_ptr(&self, key: &[u8], run: &RunGuard) -> Option<*mut u8> {
        self.table.lookup_ptr(key, run)
    }

    fn update_from_prog(
        &self,
        _key: &[u8],
        _value: &[u8],
        _flags: u64,
        _run: &RunGuard,
    ) -> Result<(), MapError> {
        Err(MapError::NotSupported {
            op: "update from a program",
            map_type: self.map_type().name(),
            errno: crate::error::ENOTSUPP,
        })
    }

    fn redirect_target(&self, key: u32, _run: &RunGuard) -> Option<u32> {
        let mut first = [0u8; 4];
        self.table.sys_lookup(&key.to_ne_bytes(), &mut first).ok()?;
        match self.info.def().map_type {
            MapType::Devmap | MapType::DevmapHash => Some(u32::from_ne_bytes(first)),
            _ => Some(key),
        }
    }
}
