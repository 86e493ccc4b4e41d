//! `BPF_MAP_TYPE_QUEUE` (FIFO) and `BPF_MAP_TYPE_STACK` (LIFO): keyless maps of up to
//! `max_entries` values, used with push, pop and peek.
//!
//! Linux's `queue_stack_maps.c`: a ring of `max_entries + 1` slots with `head` (next write)
//! and `tail` (oldest); a queue pops at `tail`, a stack at `head - 1`. Pushing to a full map
//! fails with `E2BIG` unless the flags are `BPF_EXIST`, which overwrites the oldest value.
//! Pop and peek of an empty map fail with `ENOENT`. Through `bpf()`: update pushes, lookup
//! peeks, lookup-and-delete pops; delete and get-next-key are `EINVAL`.

use std::any::Any;
use std::sync::{Mutex, MutexGuard};

use ebpfvm_abi::MapType;

use crate::def::{check_common, check_flag_mask, KMALLOC_MAX_SIZE};
use crate::flags::*;
use crate::{Map, MapDef, MapError, MapInfo, MapOptions};

#[derive(Debug)]
struct Ring {
    buf: Vec<u8>,
    head: usize,
    tail: usize,
    size: usize,
}

/// A queue or a stack.
#[derive(Debug)]
pub struct QueueStack {
    info: MapInfo,
    fifo: bool,
    vs: usize,
    ring: Mutex<Ring>,
}

impl QueueStack {
    /// Creates a queue or a stack (by `def.map_type`) with Linux's checks
    /// (`queue_stack_map_alloc_check`).
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<QueueStack, MapError> {
        let fifo = match def.map_type {
            MapType::Queue => true,
            MapType::Stack => false,
            _ => {
                return Err(MapError::BadAttr {
                    reason: "not a queue or stack map type",
                })
            }
        };
        check_common(def)?;
        if def.max_entries == 0 || def.key_size != 0 || def.value_size == 0 {
            return Err(MapError::BadAttr {
                reason: "queues and stacks need key_size 0, a value and max_entries",
            });
        }
        check_flag_mask(def, BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK)?;
        if u64::from(def.value_size) > KMALLOC_MAX_SIZE {
            return Err(MapError::AttrTooBig {
                what: "value_size",
                size: def.value_size.into(),
                limit: KMALLOC_MAX_SIZE,
            });
        }
        let size = def.max_entries as usize + 1;
        let vs = def.value_size as usize;
        let bytes = size.checked_mul(vs).ok_or(MapError::NoMemory)?;
        if bytes > 1 << 34 {
            return Err(MapError::NoMemory);
        }
        Ok(QueueStack {
            info: MapInfo::new(def, opts.slots),
            fifo,
            vs,
            ring: Mutex::new(Ring {
                buf: vec![0; bytes],
                head: 0,
                tail: 0,
                size,
            }),
        })
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Values held.
    pub fn len(&self) -> usize {
        let r = self.ring();
        (r.head + r.size - r.tail) % r.size
    }

    /// Whether the map holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_value(&self, len: usize) -> Result<(), MapError> {
        if len < self.vs {
            return Err(MapError::ValueSize {
                expected: self.vs,
                got: len,
            });
        }
        Ok(())
    }

    /// Copies out (and with `delete` removes) the next value.
    fn take(&self, out: &mut [u8], delete: bool) -> Result<(), MapError> {
        self.check_value(out.len())?;
        let mut r = self.ring();
        if r.head == r.tail {
            return Err(MapError::NotFound);
        }
        let at = if self.fifo {
            r.tail
        } else {
            (r.head + r.size - 1) % r.size
        };
        out[..self.vs].copy_from_slice(&r.buf[at * self.vs..(at + 1) * self.vs]);
        if delete {
            if self.fifo {
                r.tail = (r.tail + 1) % r.size;
            } else {
                r.head = at;
            }
        }
        Ok(())
    }
}

impl Map for QueueStack {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, _key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        self.take(out, false)
    }

    fn sys_update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.push(value, flags)
    }

    fn sys_delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(MapError::Invalid {
            reason: "queues and stacks have no delete: pop instead",
        })
    }

    fn sys_next_key(&self, _key: Option<&[u8]>, _out: &mut [u8]) -> Result<(), MapError> {
        Err(MapError::Invalid {
            reason: "queues and stacks have no keys",
        })
    }

    fn sys_lookup_and_delete(&self, _key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        self.take(out, true)
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & BPF_F_LOCK != 0 || flags > BPF_EXIST {
            return Err(MapError::BadFlags { flags });
        }
        self.check_value(value.len())?;
        let mut r = self.ring();
        let size = r.size;
        if (r.head + 1) % size == r.tail {
            if flags != BPF_EXIST {
                return Err(MapError::Full {
                    max_entries: self.info.def().max_entries,
                });
            }
            // Overwrite the oldest value.
            r.tail = (r.tail + 1) % size;
        }
        let at = r.head;
        r.buf[at * self.vs..(at + 1) * self.vs].copy_from_slice(&value[..self.vs]);
        r.head = (at + 1) % size;
        Ok(())
    }

    fn pop(&self, out: &mut [u8]) -> Result<(), MapError> {
        self.take(out, true)
    }

    fn peek(&self, out: &mut [u8]) -> Result<(), MapError> {
        self.take(out, false)
    }
}
