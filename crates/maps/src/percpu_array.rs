//! `BPF_MAP_TYPE_PERCPU_ARRAY`: an array with one value per execution slot.
//!
//! Each slot's values are one contiguous block (slot-major), so runs on different slots
//! touch different cache lines, as per-CPU areas do in Linux. User space reads and writes
//! every slot's value at once, `round_up(value_size, 8)` bytes each.

use std::any::Any;
use std::sync::atomic::AtomicU64;

use crate::array::{array_index, array_next_key, array_update_check};
use crate::def::{check_array, check_common};
use crate::epoch::Retire;
use crate::map::ForEachFn;
use crate::storage::{load_bytes, ptr_of, round8, store_bytes, zeroed_words, Words};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// A per-CPU array map.
#[derive(Debug)]
pub struct PercpuArrayMap {
    info: MapInfo,
    words: Retire<Words>,
    base: usize,
    stride: usize,
    max: u32,
    slots: usize,
}

impl PercpuArrayMap {
    /// Creates a per-CPU array with Linux's attribute checks and `opts.slots` slots.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<PercpuArrayMap, MapError> {
        check_common(def)?;
        check_array(def, true)?;
        let stride = round8(def.value_size as usize);
        let slots = opts.slots.max(1);
        let words = zeroed_words(
            (def.max_entries as usize)
                .checked_mul(stride / 8)
                .and_then(|n| n.checked_mul(slots))
                .ok_or(MapError::NoMemory)?,
        )?;
        let base = ptr_of(&words) as usize;
        Ok(PercpuArrayMap {
            info: MapInfo::new(def, slots),
            words: Retire::new(words),
            base,
            stride,
            max: def.max_entries,
            slots,
        })
    }

    #[inline]
    fn offset(&self, slot: usize, index: u32) -> usize {
        (slot * self.max as usize + index as usize) * self.stride
    }

    fn value_words(&self, slot: usize, index: u32) -> &[AtomicU64] {
        let at = self.offset(slot, index) / 8;
        &self.words[at..at + self.stride / 8]
    }

    #[inline]
    fn ptr(&self, slot: usize, index: u32) -> *mut u8 {
        (self.base as *mut u8).wrapping_add(self.offset(slot, index))
    }
}

impl Map for PercpuArrayMap {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let index = array_index(key)
            .filter(|&i| i < self.max)
            .ok_or(MapError::NotFound)?;
        for (slot, chunk) in out.chunks_mut(self.stride).enumerate() {
            load_bytes(self.value_words(slot, index), chunk);
        }
        Ok(())
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let index = array_update_check(key, flags, self.max)?;
        for (slot, chunk) in value.chunks(self.stride).enumerate().take(self.slots) {
            store_bytes(self.value_words(slot, index), chunk);
        }
        Ok(())
    }

    fn sys_delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(MapError::Invalid {
            reason: "array elements cannot be deleted",
        })
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        array_next_key(key, self.max, out)
    }

    #[inline]
    fn lookup_ptr(&self, key: &[u8], run: &RunGuard) -> Option<*mut u8> {
        let index = array_index(key).filter(|&i| i < self.max)?;
        Some(self.ptr(run.slot() % self.slots, index))
    }

    fn lookup_percpu_ptr(&self, key: &[u8], slot: u32, _run: &RunGuard) -> Option<*mut u8> {
        let index = array_index(key).filter(|&i| i < self.max)?;
        ((slot as usize) < self.slots).then(|| self.ptr(slot as usize, index))
    }

    fn update_from_prog(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        run: &RunGuard,
    ) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        let index = array_update_check(key, flags, self.max)?;
        let vs = self.info.def().value_size as usize;
        let value = value.get(..vs).ok_or(MapError::ValueSize {
            expected: vs,
            got: value.len(),
        })?;
        store_bytes(self.value_words(run.slot() % self.slots, index), value);
        Ok(())
    }

    fn delete_from_prog(&self, key: &[u8], _run: &RunGuard) -> Result<(), MapError> {
        self.sys_delete(key)
    }

    fn for_each(&self, run: &RunGuard, f: &mut ForEachFn<'_>) -> Result<u32, MapError> {
        let slot = run.slot() % self.slots;
        let mut n = 0;
        for i in 0..self.max {
            n += 1;
            if f(&i.to_ne_bytes(), self.ptr(slot, i)) {
                break;
            }
        }
        Ok(n)
    }
}
