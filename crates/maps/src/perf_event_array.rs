//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY`: per-slot streams of records that programs write with
//! `bpf_perf_event_output` and user space reads.
//!
//! In Linux each index holds a perf event fd whose mmap'd ring receives the samples; here
//! each index can hold a bounded buffer of records, opened with
//! [`PerfEventArray::open`] (or a byte-level update with any 4-byte value, which opens one
//! of [`DEFAULT_CAPACITY`] bytes) and closed by delete. A record costs its size rounded up
//! to 8 bytes plus 16 bytes of header, as a `PERF_RECORD_SAMPLE` with raw data does; when a
//! buffer is full the record is lost, counted in [`PerfEventArray::lost`], and the helper
//! gets `ENOSPC`. Lookups through `bpf()` are not supported (`ENOTSUPP`), as in Linux.
//! `max_entries` must be given (libbpf sets it to the number of CPUs when 0; the runtime
//! should too).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use crate::array::array_next_key;
use crate::flags::*;
use crate::prog_array::{check_fd_array, fd_index};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// Bytes of a buffer opened by a byte-level update (64 pages of 4096, a common perf
/// buffer size).
pub const DEFAULT_CAPACITY: usize = 64 * 4096;

#[derive(Debug, Default)]
struct Stream {
    records: VecDeque<Vec<u8>>,
    bytes: usize,
    capacity: usize,
    lost: u64,
    open: bool,
}

fn cost(len: usize) -> usize {
    len.div_ceil(8) * 8 + 16
}

/// A perf event array.
#[derive(Debug)]
pub struct PerfEventArray {
    info: MapInfo,
    streams: Box<[Mutex<Stream>]>,
}

impl PerfEventArray {
    /// Creates a perf event array with Linux's checks (4-byte keys and values).
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<PerfEventArray, MapError> {
        check_fd_array(def)?;
        Ok(PerfEventArray {
            info: MapInfo::new(def, opts.slots),
            streams: (0..def.max_entries).map(|_| Mutex::default()).collect(),
        })
    }

    fn stream(&self, index: u32) -> Result<MutexGuard<'_, Stream>, MapError> {
        let s = self
            .streams
            .get(index as usize)
            .ok_or(MapError::IndexOutOfRange {
                index,
                max_entries: self.info.def().max_entries,
            })?;
        Ok(s.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens (or reopens, keeping its records) the buffer at `index` with room for
    /// `capacity` bytes of records.
    pub fn open(&self, index: u32, capacity: usize) -> Result<(), MapError> {
        let mut s = self.stream(index)?;
        s.open = true;
        s.capacity = capacity;
        Ok(())
    }

    /// Closes the buffer at `index`, dropping its records. `ENOENT` if it was not open.
    pub fn close(&self, index: u32) -> Result<(), MapError> {
        let mut s = self.stream(index)?;
        if !s.open {
            return Err(MapError::NotFound);
        }
        *s = Stream::default();
        Ok(())
    }

    /// `bpf_perf_event_output`: appends `data` to the buffer chosen by `flags`' index
    /// part (`BPF_F_CURRENT_CPU`: the run's slot). `EINVAL` for unknown flags, `E2BIG` for
    /// an index out of range, `ENOENT` if nothing is open there, `ENOSPC` when full.
    pub fn output(&self, flags: u64, data: &[u8], run: &RunGuard) -> Result<(), MapError> {
        if flags & !(BPF_F_INDEX_MASK | BPF_F_CTXLEN_MASK) != 0 {
            return Err(MapError::BadFlags { flags });
        }
        let index = match flags & BPF_F_INDEX_MASK {
            BPF_F_CURRENT_CPU => run.slot() as u32,
            i => i as u32,
        };
        let mut s = self.stream(index)?;
        if !s.open {
            return Err(MapError::NotFound);
        }
        if s.bytes + cost(data.len()) > s.capacity {
            s.lost += 1;
            return Err(MapError::NoSpace {
                what: "perf buffer is full",
            });
        }
        s.bytes += cost(data.len());
        s.records.push_back(data.to_vec());
        Ok(())
    }

    /// Reads and removes the records at `index`, oldest first; returns how many.
    pub fn read(&self, index: u32, f: &mut dyn FnMut(&[u8])) -> Result<usize, MapError> {
        let records = {
            let mut s = self.stream(index)?;
            s.bytes = 0;
            std::mem::take(&mut s.records)
        };
        for r in &records {
            f(r);
        }
        Ok(records.len())
    }

    /// Records lost at `index` because its buffer was full.
    pub fn lost(&self, index: u32) -> Result<u64, MapError> {
        Ok(self.stream(index)?.lost)
    }
}

impl Map for PerfEventArray {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, _key: &[u8], _out: &mut [u8]) -> Result<(), MapError> {
        Err(MapError::NotSupported {
            op: "lookup",
            map_type: "perf_event_array",
            errno: crate::error::ENOTSUPP,
        })
    }

    fn sys_update(&self, key: &[u8], _value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadFlags { flags });
        }
        let index = fd_index(key, self.info.def().max_entries)?;
        self.open(index, DEFAULT_CAPACITY)
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        let index = fd_index(key, self.info.def().max_entries)?;
        self.close(index)
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        array_next_key(key, self.info.def().max_entries, out)
    }

    fn as_perf_event_array(&self) -> Option<&PerfEventArray> {
        Some(self)
    }
}
