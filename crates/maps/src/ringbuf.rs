//! `BPF_MAP_TYPE_RINGBUF`: a multi-producer, single-consumer ring of variable-size records.
//!
//! Linux's layout (`kernel/bpf/ringbuf.c`): one block holding a consumer page (the
//! consumer position at offset 0), a producer page (the producer position at 4096) and the
//! data area of `max_entries` bytes (a power-of-2 multiple of the page size) at 8192.
//! Positions only grow; a position's offset in the data is `pos & (size - 1)`. Each record
//! starts with an 8-byte header `{ u32 len; u32 pg_off; }` whose `len` carries
//! [`BPF_RINGBUF_BUSY_BIT`] while the record is reserved and [`BPF_RINGBUF_DISCARD_BIT`] if
//! it was discarded; records are 8-byte aligned. Producers reserve under a lock (advancing
//! the producer position with the header still busy), fill the record without it, and
//! submit by clearing the busy bit; the consumer reads records in order and stops at the
//! first busy one, so no memory is handed out twice and no record is read before it is
//! complete. A reservation fails (returns `None`) when the record would overrun
//! unconsumed data.
//!
//! One difference: Linux maps the data area twice in a row so a record may wrap past the
//! end and still be contiguous. We cannot, so a record that would wrap is preceded by a
//! discarded filler record up to the end of the area (consumers skip it as they skip any
//! discarded record), and the record starts at offset 0. `pg_off` holds the record's
//! offset in the data area in 8-byte units (Linux: pages from the ring's start), and
//! [`submit_sample`] finds a record's ring by address.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::Duration;

use crate::def::{check_common, check_flag_mask};
use crate::epoch::Retire;
use crate::flags::*;
use crate::storage::{load_bytes, ptr_of, round8, store_bytes, zeroed_words, SpinLock, Words};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions};

/// Byte offset of the producer position.
const PRODUCER_OFF: usize = PAGE_SIZE as usize;
/// Byte offset of the data area.
const DATA_OFF: usize = 2 * PAGE_SIZE as usize;
/// `RINGBUF_MAX_RECORD_SZ`.
const MAX_RECORD: u64 = (u32::MAX / 4) as u64;

#[derive(Debug)]
struct Shared {
    mem: Retire<Words>,
    base: usize,
    size: u64,
    producer: SpinLock,
    consumer: Mutex<Vec<u8>>,
    waiters: AtomicU32,
    wake: (Mutex<()>, Condvar),
}

/// Rings by the address of their data area, for [`submit_sample`].
static RINGS: RwLock<BTreeMap<usize, Weak<Shared>>> = RwLock::new(BTreeMap::new());

fn header(len: u32, pg_off: u32) -> u64 {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&len.to_ne_bytes());
    b[4..].copy_from_slice(&pg_off.to_ne_bytes());
    u64::from_ne_bytes(b)
}

fn header_len(h: u64) -> u32 {
    let b = h.to_ne_bytes();
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

fn header_pg_off(h: u64) -> u32 {
    let b = h.to_ne_bytes();
    u32::from_ne_bytes([b[4], b[5], b[6], b[7]])
}

impl Shared {
    fn consumer_pos(&self) -> &AtomicU64 {
        &self.mem[0]
    }

    fn producer_pos(&self) -> &AtomicU64 {
        &self.mem[PRODUCER_OFF / 8]
    }

    fn data(&self) -> &[AtomicU64] {
        &self.mem[DATA_OFF / 8..]
    }

    fn data_addr(&self) -> usize {
        self.base + DATA_OFF
    }

    fn mask(&self) -> u64 {
        self.size - 1
    }

    /// Reserves a record of `size` bytes: its data offset in the area.
    fn reserve(&self, size: u64) -> Option<usize> {
        if size > MAX_RECORD {
            return None;
        }
        let len = round8(size as usize + 8) as u64;
        if len > self.size {
            return None;
        }
        let cons = self.consumer_pos().load(Ordering::Acquire);
        let _lock = self.producer.lock();
        let prod = self.producer_pos().load(Ordering::Relaxed);
        let off = prod & self.mask();
        let pad = if off + len > self.size {
            self.size - off
        } else {
            0
        };
        let new_prod = prod + pad + len;
        if new_prod - cons > self.mask() {
            return None;
        }
        let data = self.data();
        if pad > 0 {
            let filler = header((pad - 8) as u32 | BPF_RINGBUF_DISCARD_BIT, (off / 8) as u32);
            data[(off / 8) as usize].store(filler, Ordering::Relaxed);
        }
        let rec = ((prod + pad) & self.mask()) as usize;
        data[rec / 8].store(
            header(size as u32 | BPF_RINGBUF_BUSY_BIT, (rec / 8) as u32),
            Ordering::Relaxed,
        );
        self.producer_pos().store(new_prod, Ordering::Release);
        Some(rec + 8)
    }

    /// Submits or discards the record whose data starts at `off`.
    fn commit(&self, off: usize, flags: u64, discard: bool) -> Result<(), MapError> {
        let bad = MapError::Invalid {
            reason: "not a reserved ring buffer record",
        };
        if off < 8 || off % 8 != 0 || off as u64 > self.size {
            return Err(bad);
        }
        let hdr = &self.data()[(off - 8) / 8];
        let h = hdr.load(Ordering::Acquire);
        let len = header_len(h);
        if len & BPF_RINGBUF_BUSY_BIT == 0 {
            return Err(bad);
        }
        let mut new_len = len & !BPF_RINGBUF_BUSY_BIT;
        if discard {
            new_len |= BPF_RINGBUF_DISCARD_BIT;
        }
        hdr.store(header(new_len, header_pg_off(h)), Ordering::Release);
        let rec_pos = (off - 8) as u64;
        let wake = if flags & BPF_RB_NO_WAKEUP != 0 {
            false
        } else {
            flags & BPF_RB_FORCE_WAKEUP != 0
                || self.consumer_pos().load(Ordering::Acquire) & self.mask() == rec_pos
        };
        if wake && self.waiters.load(Ordering::Acquire) > 0 {
            let _g = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.1.notify_all();
        }
        Ok(())
    }

    fn consume(&self, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut buf = self.consumer.lock().unwrap_or_else(|e| e.into_inner());
        let data = self.data();
        let mut cons = self.consumer_pos().load(Ordering::Relaxed);
        let mut n = 0;
        loop {
            let prod = self.producer_pos().load(Ordering::Acquire);
            if cons >= prod {
                return n;
            }
            while cons < prod {
                let off = (cons & self.mask()) as usize;
                let len = header_len(data[off / 8].load(Ordering::Acquire));
                if len & BPF_RINGBUF_BUSY_BIT != 0 {
                    return n;
                }
                let size = (len & !(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) as usize;
                if len & BPF_RINGBUF_DISCARD_BIT == 0 {
                    buf.resize(size, 0);
                    load_bytes(&data[off / 8 + 1..], &mut buf);
                    f(&buf);
                    n += 1;
                }
                cons += round8(size + 8) as u64;
                self.consumer_pos().store(cons, Ordering::Release);
            }
        }
    }

    fn available(&self) -> u64 {
        self.producer_pos().load(Ordering::Acquire) - self.consumer_pos().load(Ordering::Acquire)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let mut rings = RINGS.write().unwrap_or_else(|e| e.into_inner());
        let key = self.data_addr();
        if rings.get(&key).is_some_and(|w| w.strong_count() == 0) {
            rings.remove(&key);
        }
    }
}

/// A ring buffer map.
#[derive(Debug)]
pub struct RingBuf {
    info: MapInfo,
    shared: Arc<Shared>,
}

impl RingBuf {
    /// Creates a ring buffer with Linux's checks: no key or value, `max_entries` a power
    /// of 2 and a multiple of the page size.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<RingBuf, MapError> {
        check_common(def)?;
        check_flag_mask(def, BPF_F_NUMA_NODE)?;
        if def.key_size != 0
            || def.value_size != 0
            || !def.max_entries.is_power_of_two()
            || def.max_entries % PAGE_SIZE != 0
        {
            return Err(MapError::BadAttr {
                reason: "ring buffers need no key or value and max_entries a power-of-2 multiple of 4096",
            });
        }
        let size = def.max_entries as usize;
        let mem = zeroed_words((DATA_OFF + size) / 8)?;
        let base = ptr_of(&mem) as usize;
        let shared = Arc::new(Shared {
            mem: Retire::new(mem),
            base,
            size: size as u64,
            producer: SpinLock::default(),
            consumer: Mutex::new(Vec::new()),
            waiters: AtomicU32::new(0),
            wake: (Mutex::new(()), Condvar::new()),
        });
        RINGS
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shared.data_addr(), Arc::downgrade(&shared));
        Ok(RingBuf {
            info: MapInfo::new(def, opts.slots),
            shared,
        })
    }

    /// `bpf_ringbuf_reserve`: a pointer to `size` writable bytes, 8-byte aligned, or `None`
    /// when the flags are not 0 or there is no room. Submit or discard it before the run
    /// ends (the verifier enforces that for programs).
    pub fn reserve(&self, size: u64, flags: u64) -> Option<*mut u8> {
        if flags != 0 {
            return None;
        }
        let off = self.shared.reserve(size)?;
        Some((self.shared.data_addr() + off) as *mut u8)
    }

    fn offset_of(&self, sample: *const u8) -> Result<usize, MapError> {
        (sample as usize)
            .checked_sub(self.shared.data_addr())
            .ok_or(MapError::Invalid {
                reason: "pointer is not in this ring buffer",
            })
    }

    /// `bpf_ringbuf_submit`: publishes a reserved record. `EINVAL` if `sample` is not a
    /// pending reservation of this ring.
    pub fn submit(&self, sample: *mut u8, flags: u64) -> Result<(), MapError> {
        self.shared.commit(self.offset_of(sample)?, flags, false)
    }

    /// `bpf_ringbuf_discard`: drops a reserved record (the consumer skips it).
    pub fn discard(&self, sample: *mut u8, flags: u64) -> Result<(), MapError> {
        self.shared.commit(self.offset_of(sample)?, flags, true)
    }

    /// `bpf_ringbuf_output`: copies `data` into a new record. `EINVAL` for unknown flags,
    /// `EAGAIN` when there is no room.
    pub fn output(&self, data: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Err(MapError::BadFlags { flags });
        }
        let off = self
            .shared
            .reserve(data.len() as u64)
            .ok_or(MapError::Again)?;
        store_bytes(&self.shared.data()[off / 8..], data);
        self.shared.commit(off, flags, false)
    }

    /// `bpf_ringbuf_query`: available data, ring size, consumer or producer position
    /// (`BPF_RB_*`); 0 for other flags.
    pub fn query(&self, flags: u64) -> u64 {
        let s = &self.shared;
        match flags {
            BPF_RB_AVAIL_DATA => s.available(),
            BPF_RB_RING_SIZE => s.size,
            BPF_RB_CONS_POS => s.consumer_pos().load(Ordering::Acquire),
            BPF_RB_PROD_POS => s.producer_pos().load(Ordering::Acquire),
            _ => 0,
        }
    }

    /// User-space consumer: calls `f` with each submitted record in order, skipping
    /// discarded ones, until the ring is empty or the next record is still reserved;
    /// returns the number of records. One consumer runs at a time.
    pub fn consume(&self, f: &mut dyn FnMut(&[u8])) -> usize {
        self.shared.consume(f)
    }

    /// Like [`RingBuf::consume`], but when nothing is ready waits up to `timeout` for a
    /// producer's wake-up first.
    pub fn poll(&self, timeout: Duration, f: &mut dyn FnMut(&[u8])) -> usize {
        let n = self.consume(f);
        if n > 0 {
            return n;
        }
        let s = &self.shared;
        s.waiters.fetch_add(1, Ordering::AcqRel);
        {
            let g = s.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            if s.available() == 0 {
                let _ = s.wake.1.wait_timeout(g, timeout);
            }
        }
        s.waiters.fetch_sub(1, Ordering::AcqRel);
        self.consume(f)
    }

    /// The data area: its address and size (records live here; for tests and tools).
    pub fn data_area(&self) -> (*const u8, usize) {
        (
            self.shared.data_addr() as *const u8,
            self.shared.size as usize,
        )
    }
}

/// `bpf_ringbuf_submit` given only the record pointer, as the helper is: finds the ring
/// that owns `sample` and submits it. `EINVAL` if no ring owns it or it is not pending.
pub fn submit_sample(sample: *mut u8, flags: u64) -> Result<(), MapError> {
    commit_sample(sample, flags, false)
}

/// `bpf_ringbuf_discard` given only the record pointer.
pub fn discard_sample(sample: *mut u8, flags: u64) -> Result<(), MapError> {
    commit_sample(sample, flags, true)
}

fn commit_sample(sample: *mut u8, flags: u64, discard: bool) -> Result<(), MapError> {
    let addr = sample as usize;
    let ring = {
        let rings = RINGS.read().unwrap_or_else(|e| e.into_inner());
        rings
            .range(..=addr)
            .next_back()
            .and_then(|(_, w)| w.upgrade())
    };
    let ring = ring.ok_or(MapError::Invalid {
        reason: "pointer is in no ring buffer",
    })?;
    ring.commit(addr - ring.data_addr(), flags, discard)
}

impl Map for RingBuf {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, _key: &[u8], _out: &mut [u8]) -> Result<(), MapError> {
        Err(unsupported("lookup"))
    }

    fn sys_update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(unsupported("update"))
    }

    fn sys_delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(unsupported("delete"))
    }

    fn sys_next_key(&self, _key: Option<&[u8]>, _out: &mut [u8]) -> Result<(), MapError> {
        Err(unsupported("get_next_key"))
    }

    fn as_ringbuf(&self) -> Option<&RingBuf> {
        Some(self)
    }
}

fn unsupported(op: &'static str) -> MapError {
    MapError::NotSupported {
        op,
        map_type: "ringbuf",
        errno: crate::error::ENOTSUPP,
    }
}
