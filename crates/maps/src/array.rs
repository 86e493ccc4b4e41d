//! `BPF_MAP_TYPE_ARRAY`: `max_entries` preallocated values indexed by a `u32` key.
//!
//! The values are one contiguous block (`BPF_F_MMAPABLE` or not), each value 8-byte aligned
//! and padded to a multiple of 8 bytes, as in Linux's `struct bpf_array`. Elements always
//! exist: `BPF_NOEXIST` fails with `EEXIST`, delete with `EINVAL`. Updates copy in place,
//! so a program holding a value pointer sees the new value.

use std::any::Any;

use crate::def::{check_array, check_common};
use crate::epoch::Retire;
use crate::flags::*;
use crate::map::{elem_flags, ForEachFn};
use crate::storage::{load_bytes, ptr_of, round8, store_bytes, words_for, zeroed_words, Words};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// The `u32` index in an array key, if the key has 4 bytes.
#[inline]
pub(crate) fn array_index(key: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(key).ok().map(u32::from_ne_bytes)
}

/// Linux's `array_map_get_next_key`: index order, restart at 0 for a missing or
/// out-of-range key.
pub(crate) fn array_next_key(
    key: Option<&[u8]>,
    max_entries: u32,
    out: &mut [u8],
) -> Result<(), MapError> {
    let next = match key.and_then(array_index) {
        Some(i) if i < max_entries => {
            if i == max_entries - 1 {
                return Err(MapError::NotFound);
            }
            i + 1
        }
        _ => 0,
    };
    out.copy_from_slice(&next.to_ne_bytes());
    Ok(())
}

/// Checks the update flags and index of an array update as Linux orders them.
pub(crate) fn array_update_check(
    key: &[u8],
    flags: u64,
    max_entries: u32,
) -> Result<u32, MapError> {
    let flags = elem_flags(flags)?;
    let index = array_index(key).ok_or(MapError::KeySize {
        expected: 4,
        got: key.len(),
    })?;
    if index >= max_entries {
        return Err(MapError::IndexOutOfRange { index, max_entries });
    }
    if flags == BPF_NOEXIST {
        return Err(MapError::Exists);
    }
    Ok(index)
}

/// An array map.
#[derive(Debug)]
pub struct ArrayMap {
    info: MapInfo,
    words: Retire<Words>,
    /// Address of the first value.
    base: usize,
    /// Bytes from one value to the next.
    stride: usize,
    max: u32,
}

impl ArrayMap {
    /// Creates an array (`BPF_MAP_TYPE_ARRAY`) with Linux's attribute checks.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<ArrayMap, MapError> {
        check_common(def)?;
        check_array(def, false)?;
        let stride = round8(def.value_size as usize);
        let words = zeroed_words(
            (def.max_entries as usize)
                .checked_mul(stride / 8)
                .ok_or(MapError::NoMemory)?,
        )?;
        let base = ptr_of(&words) as usize;
        Ok(ArrayMap {
            info: MapInfo::new(def, opts.slots),
            words: Retire::new(words),
            base,
            stride,
            max: def.max_entries,
        })
    }

    /// The value memory: `max_entries` values, each [`ArrayMap::stride`] bytes apart (what
    /// `mmap` of a `BPF_F_MMAPABLE` array shows, and how global data is addressed).
    pub fn memory(&self) -> (*mut u8, usize) {
        (self.base as *mut u8, self.words.len() * 8)
    }

    /// Bytes from one value to the next (`round_up(value_size, 8)`).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// A pointer to value `index`, if in range.
    #[inline]
    pub fn value_ptr(&self, index: u32) -> Option<*mut u8> {
        (index < self.max)
            .then(|| (self.base as *mut u8).wrapping_add(index as usize * self.stride))
    }

    fn value_words(&self, index: u32) -> &[std::sync::atomic::AtomicU64] {
        let w = self.stride / 8;
        let at = index as usize * w;
        &self.words[at..at + words_for(self.stride)]
    }

    fn write(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let index = array_update_check(key, flags, self.max)?;
        let vs = self.info.def().value_size as usize;
        let value = value.get(..vs).ok_or(MapError::ValueSize {
            expected: vs,
            got: value.len(),
        })?;
        store_bytes(self.value_words(index), value);
        Ok(())
    }
}

impl Map for ArrayMap {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        match array_index(key) {
            Some(i) if i < self.max => {
                load_bytes(self.value_words(i), out);
                Ok(())
            }
            _ => Err(MapError::NotFound),
        }
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.write(key, value, flags)
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
    fn lookup_ptr(&self, key: &[u8], _run: &RunGuard) -> Option<*mut u8> {
        self.value_ptr(array_index(key)?)
    }

    fn update_from_prog(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        _run: &RunGuard,
    ) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        self.write(key, value, flags)
    }

    fn delete_from_prog(&self, key: &[u8], _run: &RunGuard) -> Result<(), MapError> {
        self.sys_delete(key)
    }

    fn for_each(&self, _run: &RunGuard, f: &mut ForEachFn<'_>) -> Result<u32, MapError> {
        let mut n = 0;
        for i in 0..self.max {
            n += 1;
            let ptr = (self.base as *mut u8).wrapping_add(i as usize * self.stride);
            if f(&i.to_ne_bytes(), ptr) {
                break;
            }
        }
        Ok(n)
    }
}
