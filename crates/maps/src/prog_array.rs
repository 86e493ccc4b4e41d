//! `BPF_MAP_TYPE_PROG_ARRAY`: tail-call targets, one program per index.
//!
//! Slots hold a [`ProgEntry`]: the program id (what a `bpf()` lookup returns, as Linux's
//! `map_fd_sys_lookup_elem`) and an opaque handle the runtime supplies and gets back from
//! [`Map::prog_at`] during a tail call. A replaced or cleared entry is dropped only after
//! every run that could have borrowed it has ended. User space stores entries with
//! [`Map::set_prog`] (the runtime resolves program ids or fds); a byte-level `update` is
//! `EINVAL` because bytes cannot name a program here.

use std::any::Any;

use crate::array::{array_index, array_next_key};
use crate::def::{check_array, check_common};
use crate::epoch::EpochSlot;
use crate::flags::*;
use crate::map::check_write;
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, ProgEntry, RunGuard};

/// Checks of Linux's `fd_array_map_alloc_check`: 4-byte values, no program access flags.
pub(crate) fn check_fd_array(def: &MapDef) -> Result<(), MapError> {
    check_common(def)?;
    if def.value_size != 4 {
        return Err(MapError::BadAttr {
            reason: "fd arrays have 4-byte values",
        });
    }
    if def.flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG) != 0 {
        return Err(MapError::BadAttr {
            reason: "fd arrays take no program access flags",
        });
    }
    check_array(def, false)
}

/// Index and bounds check of an fd-array update or delete.
pub(crate) fn fd_index(key: &[u8], max_entries: u32) -> Result<u32, MapError> {
    let index = array_index(key).ok_or(MapError::KeySize {
        expected: 4,
        got: key.len(),
    })?;
    if index >= max_entries {
        return Err(MapError::IndexOutOfRange { index, max_entries });
    }
    Ok(index)
}

/// A program array.
#[derive(Debug)]
pub struct ProgArray {
    info: MapInfo,
    slots: Box<[EpochSlot<ProgEntry>]>,
}

impl ProgArray {
    /// Creates a program array with Linux's checks.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<ProgArray, MapError> {
        check_fd_array(def)?;
        Ok(ProgArray {
            info: MapInfo::new(def, opts.slots),
            slots: (0..def.max_entries).map(|_| EpochSlot::empty()).collect(),
        })
    }

    fn slot(&self, key: &[u8]) -> Result<&EpochSlot<ProgEntry>, MapError> {
        let index = fd_index(key, self.info.def().max_entries)?;
        Ok(&self.slots[index as usize])
    }
}

impl Map for ProgArray {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        let slot = self.slot(key).map_err(|_| MapError::NotFound)?;
        let entry = slot.load(&guard).ok_or(MapError::NotFound)?;
        out.copy_from_slice(&entry.id.to_ne_bytes());
        Ok(())
    }

    fn sys_update(&self, key: &[u8], _value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadFlags { flags });
        }
        self.slot(key)?;
        Err(MapError::Invalid {
            reason: "prog_array slots take a program handle: use set_prog",
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
    fn prog_at<'g>(&self, index: u32, run: &'g RunGuard) -> Option<&'g ProgEntry> {
        self.slots.get(index as usize)?.load(run.guard())
    }

    fn set_prog(&self, index: u32, entry: Option<ProgEntry>) -> Result<(), MapError> {
        check_write(self)?;
        let slot = self.slot(&index.to_ne_bytes())?;
        let guard = crossbeam_epoch::pin();
        let had = slot.swap(entry.clone(), &guard);
        if entry.is_none() && !had {
            return Err(MapError::NotFound);
        }
        Ok(())
    }
}
