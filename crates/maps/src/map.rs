//! The [`Map`] trait every map type implements, and what it works with.
//!
//! User-space operations (`lookup`, `update`, `delete`, `next_key`, batches) copy keys and
//! values and behave as the `bpf()` syscall does: they check key and value sizes and the
//! map's access flags (`BPF_F_RDONLY`/`BPF_F_WRONLY`, freezing), then call the type's
//! `sys_*` hook. Program-side operations (`lookup_ptr`, `update_from_prog`, ...) are what
//! helpers call during a run; they take the run's [`RunGuard`] and trust sizes the verifier
//! has checked (a wrong-sized key still fails cleanly, never reads out of bounds).

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use ebpfvm_abi::MapType;

use crate::flags::*;
use crate::{MapDef, MapError, PerfEventArray, RingBuf, RunGuard};

static NEXT_MAP_ID: AtomicU32 = AtomicU32::new(1);

/// Identity and attributes of a live map.
#[derive(Debug)]
pub struct MapInfo {
    id: u32,
    def: MapDef,
    slots: usize,
    frozen: AtomicBool,
}

impl MapInfo {
    /// Info for a new map: takes the next process-wide map id (from 1, like the kernel's).
    pub fn new(def: &MapDef, slots: usize) -> MapInfo {
        MapInfo {
            id: NEXT_MAP_ID.fetch_add(1, Ordering::Relaxed),
            def: def.clone(),
            slots: slots.max(1),
            frozen: AtomicBool::new(false),
        }
    }

    /// The map id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The attributes the map was created with.
    pub fn def(&self) -> &MapDef {
        &self.def
    }

    /// Execution slots (values per key of a per-CPU map).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bytes of a value as user space passes it: `value_size`, or for per-CPU maps one
    /// 8-byte-aligned value per slot (`round_up(value_size, 8) * slots`, as Linux lays out
    /// per-CPU values for `bpf()`).
    pub fn user_value_size(&self) -> usize {
        let vs = self.def.value_size as usize;
        if self.def.is_percpu() {
            crate::storage::round8(vs) * self.slots
        } else {
            vs
        }
    }
}

/// One slot of a `prog_array`: the program's id (what user-space lookups return) and the
/// runtime's handle to it.
#[derive(Clone)]
pub struct ProgEntry {
    /// The program id.
    pub id: u32,
    /// The runtime's program object.
    pub handle: Arc<dyn Any + Send + Sync>,
}

impl fmt::Debug for ProgEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgEntry").field("id", &self.id).finish()
    }
}

/// The result of a batch lookup.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Batch {
    /// Elements copied to the front of the key and value buffers.
    pub count: usize,
    /// The cursor to pass as `in_batch` to continue (Linux's `out_batch`), if any element
    /// was copied.
    pub next: Option<Vec<u8>>,
    /// The walk reached the end of the map (Linux returns `ENOENT` with the count).
    pub done: bool,
}

/// A batch update or delete that stopped at an element.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("batch stopped after {processed} elements")]
pub struct BatchError {
    /// Elements processed before the failing one (Linux's `batch.count`).
    pub processed: usize,
    /// Why the element failed.
    #[source]
    pub error: MapError,
}

/// The callback of [`Map::for_each`]: gets a copy of the key and a pointer to the value
/// (the run's slot for per-CPU maps) and returns `true` to stop.
pub type ForEachFn<'a> = dyn FnMut(&[u8], *mut u8) -> bool + 'a;

fn not_supported(map: &(impl Map + ?Sized), op: &'static str) -> MapError {
    MapError::NotSupported {
        op,
        map_type: map.map_type().name(),
        errno: crate::error::ENOTSUPP,
    }
}

/// Rejects element flags other than `BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST`, optionally with
/// `BPF_F_LOCK`; returns them without `BPF_F_LOCK`.
pub fn elem_flags(flags: u64) -> Result<u64, MapError> {
    let base = flags & !BPF_F_LOCK;
    if base > BPF_EXIST {
        return Err(MapError::BadFlags { flags });
    }
    Ok(base)
}

/// A map. Object safe, shared between threads as `Arc<dyn Map>`.
///
/// The `sys_*` methods are the per-type implementations the provided user-space methods
/// call after their checks; call `lookup`, `update`, ... rather than them.
pub trait Map: Send + Sync + fmt::Debug + Any {
    /// Identity and attributes.
    fn info(&self) -> &MapInfo;

    /// The map as `Any`, to downcast to its concrete type.
    fn as_any(&self) -> &dyn Any;

    // ----- attributes -----

    /// The map id.
    fn id(&self) -> u32 {
        self.info().id()
    }

    /// The attributes the map was created with.
    fn def(&self) -> &MapDef {
        self.info().def()
    }

    /// The map type.
    fn map_type(&self) -> MapType {
        self.def().map_type
    }

    /// Key size in bytes.
    fn key_size(&self) -> usize {
        self.def().key_size as usize
    }

    /// Value size in bytes (of one slot's value for per-CPU maps).
    fn value_size(&self) -> usize {
        self.def().value_size as usize
    }

    /// Maximum number of elements.
    fn max_entries(&self) -> u32 {
        self.def().max_entries
    }

    /// `map_flags`.
    fn flags(&self) -> u32 {
        self.def().flags
    }

    /// Bytes of a value in user-space operations (see [`MapInfo::user_value_size`]).
    fn user_value_size(&self) -> usize {
        self.info().user_value_size()
    }

    /// Whether programs may read values (no `BPF_F_WRONLY_PROG`); for the verifier.
    fn prog_may_read(&self) -> bool {
        self.flags() & BPF_F_WRONLY_PROG == 0
    }

    /// Whether programs may write values or update and delete elements (no
    /// `BPF_F_RDONLY_PROG`); for the verifier.
    fn prog_may_write(&self) -> bool {
        self.flags() & BPF_F_RDONLY_PROG == 0
    }

    /// `BPF_MAP_FREEZE`: user space may no longer write (`EPERM` afterwards); programs
    /// still may unless the map is `BPF_F_RDONLY_PROG`. `EBUSY` if already frozen, `EPERM`
    /// on a map user space cannot write.
    fn freeze(&self) -> Result<(), MapError> {
        if self.flags() & BPF_F_RDONLY != 0 {
            return Err(MapError::PermissionDenied { op: "freeze" });
        }
        if self.info().frozen.swap(true, Ordering::AcqRel) {
            return Err(MapError::Busy {
                reason: "map is already frozen",
            });
        }
        Ok(())
    }

    /// Whether [`Map::freeze`] was called.
    fn is_frozen(&self) -> bool {
        self.info().frozen.load(Ordering::Acquire)
    }

    // ----- user space (bpf() syscall semantics) -----

    /// `BPF_MAP_LOOKUP_ELEM`: copies the value (per-CPU maps: every slot's) to `out`, which
    /// must be [`Map::user_value_size`] bytes. Queues and stacks peek (empty key); bloom
    /// filters test the value in `out`.
    fn lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        check_read(self)?;
        check_key(self, key)?;
        check_value(self, out.len())?;
        self.sys_lookup(key, out)
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST` (and optionally
    /// `BPF_F_LOCK`, treated as the same without it). Queues and stacks push (empty key).
    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        check_write(self)?;
        check_key(self, key)?;
        check_value(self, value.len())?;
        self.sys_update(key, value, flags)
    }

    /// `BPF_MAP_DELETE_ELEM`.
    fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        check_write(self)?;
        check_key(self, key)?;
        self.sys_delete(key)
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first key when `key` is `None` or,
    /// as in Linux, not in the map), `ENOENT` after the last.
    fn next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        check_read(self)?;
        if let Some(k) = key {
            check_key(self, k)?;
        }
        if out.len() != self.key_size() {
            return Err(MapError::KeySize {
                expected: self.key_size(),
                got: out.len(),
            });
        }
        self.sys_next_key(key, out)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: hash maps copy and delete; queues and stacks pop.
    fn lookup_and_delete(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), MapError> {
        check_read(self)?;
        check_write(self)?;
        check_key(self, key)?;
        check_value(self, out.len())?;
        if flags & !BPF_F_LOCK != 0 {
            return Err(MapError::BadFlags { flags });
        }
        self.sys_lookup_and_delete(key, out)
    }

    /// `BPF_MAP_LOOKUP_BATCH`: copies up to `count` elements, starting after `cursor` (the
    /// `next` of the previous batch; `None` to start), into `keys` (`count * key_size`
    /// bytes) and `values` (`count * user_value_size`).
    fn lookup_batch(
        &self,
        cursor: Option<&[u8]>,
        keys: &mut [u8],
        values: &mut [u8],
        count: usize,
        elem_flags: u64,
    ) -> Result<Batch, MapError> {
        check_read(self)?;
        check_batch(self, keys.len(), values.len(), count, elem_flags)?;
        self.sys_lookup_batch(cursor, keys, values, count, false)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH` (hash maps only, as in Linux).
    fn lookup_and_delete_batch(
        &self,
        cursor: Option<&[u8]>,
        keys: &mut [u8],
        values: &mut [u8],
        count: usize,
        elem_flags: u64,
    ) -> Result<Batch, MapError> {
        check_read(self)?;
        check_write(self)?;
        check_batch(self, keys.len(), values.len(), count, elem_flags)?;
        self.sys_lookup_batch(cursor, keys, values, count, true)
    }

    /// `BPF_MAP_UPDATE_BATCH`: updates `count` elements in order, stopping at the first
    /// error.
    fn update_batch(
        &self,
        keys: &[u8],
        values: &[u8],
        count: usize,
        elem_flags: u64,
    ) -> Result<usize, BatchError> {
        let fail = |error| BatchError {
            processed: 0,
            error,
        };
        check_write(self).map_err(fail)?;
        check_batch(self, keys.len(), values.len(), count, elem_flags).map_err(fail)?;
        let (ks, vs) = (self.key_size(), self.user_value_size());
        for i in 0..count {
            let key = &keys[i * ks..(i + 1) * ks];
            let value = &values[i * vs..(i + 1) * vs];
            self.sys_update(key, value, elem_flags)
                .map_err(|error| BatchError {
                    processed: i,
                    error,
                })?;
        }
        Ok(count)
    }

    /// `BPF_MAP_DELETE_BATCH`: deletes `count` keys in order, stopping at the first error.
    fn delete_batch(
        &self,
        keys: &[u8],
        count: usize,
        elem_flags: u64,
    ) -> Result<usize, BatchError> {
        let fail = |error| BatchError {
            processed: 0,
            error,
        };
        check_write(self).map_err(fail)?;
        let ks = self.key_size();
        if elem_flags & !BPF_F_LOCK != 0 {
            return Err(fail(MapError::BadFlags { flags: elem_flags }));
        }
        if count.checked_mul(ks).is_none_or(|n| n > keys.len()) {
            return Err(fail(MapError::Invalid {
                reason: "key buffer shorter than count keys",
            }));
        }
        for i in 0..count {
            self.sys_delete(&keys[i * ks..(i + 1) * ks])
                .map_err(|error| BatchError {
                    processed: i,
                    error,
                })?;
        }
        Ok(count)
    }

    // ----- per-type implementations of the user-space operations -----

    /// Lookup, after the checks of [`Map::lookup`].
    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError>;

    /// Update, after the checks of [`Map::update`].
    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError>;

    /// Delete, after the checks of [`Map::delete`].
    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError>;

    /// Get-next-key, after the checks of [`Map::next_key`].
    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError>;

    /// Lookup-and-delete, after the checks of [`Map::lookup_and_delete`].
    fn sys_lookup_and_delete(&self, _key: &[u8], _out: &mut [u8]) -> Result<(), MapError> {
        Err(not_supported(self, "lookup_and_delete"))
    }

    /// Batch lookup (and delete), after the checks. The default is Linux's
    /// `generic_map_lookup_batch`: a get-next-key walk whose cursor is the last key copied;
    /// deleting is not supported.
    fn sys_lookup_batch(
        &self,
        cursor: Option<&[u8]>,
        keys: &mut [u8],
        values: &mut [u8],
        count: usize,
        delete: bool,
    ) -> Result<Batch, MapError> {
        if delete {
            return Err(not_supported(self, "lookup_and_delete_batch"));
        }
        generic_lookup_batch(self, cursor, keys, values, count)
    }

    // ----- program side (helpers) -----

    /// `bpf_map_lookup_elem`: a pointer to the value (per-CPU maps: the run's slot's), valid
    /// until `run` drops even if the element is deleted or replaced meanwhile.
    fn lookup_ptr(&self, _key: &[u8], _run: &RunGuard) -> Option<*mut u8> {
        None
    }

    /// `bpf_map_lookup_percpu_elem`: a pointer to slot `slot`'s value of a per-CPU map.
    fn lookup_percpu_ptr(&self, _key: &[u8], _slot: u32, _run: &RunGuard) -> Option<*mut u8> {
        None
    }

    /// `bpf_map_update_elem` (per-CPU maps: writes the run's slot's value only).
    fn update_from_prog(
        &self,
        _key: &[u8],
        _value: &[u8],
        _flags: u64,
        _run: &RunGuard,
    ) -> Result<(), MapError> {
        Err(not_supported(self, "update from a program"))
    }

    /// `bpf_map_delete_elem`.
    fn delete_from_prog(&self, _key: &[u8], _run: &RunGuard) -> Result<(), MapError> {
        Err(not_supported(self, "delete from a program"))
    }

    /// `bpf_map_push_elem` (queue, stack; bloom filter: add). `BPF_EXIST` overwrites the
    /// oldest element of a full queue or stack.
    fn push(&self, _value: &[u8], _flags: u64) -> Result<(), MapError> {
        Err(not_supported(self, "push"))
    }

    /// `bpf_map_pop_elem` (queue, stack).
    fn pop(&self, _out: &mut [u8]) -> Result<(), MapError> {
        Err(not_supported(self, "pop"))
    }

    /// `bpf_map_peek_elem` (queue, stack; bloom filter: `Ok` if `value` may be present,
    /// `ENOENT` if it is not — `value` is read, not written).
    fn peek(&self, _value: &mut [u8]) -> Result<(), MapError> {
        Err(not_supported(self, "peek"))
    }

    /// `bpf_for_each_map_elem`: calls `f` for each element until it returns `true`;
    /// returns the number of elements visited.
    fn for_each(&self, _run: &RunGuard, _f: &mut ForEachFn<'_>) -> Result<u32, MapError> {
        Err(not_supported(self, "for_each"))
    }

    /// Map-in-map: the inner map at `key`, borrowed for the run.
    fn lookup_inner<'g>(&self, _key: &[u8], _run: &'g RunGuard) -> Option<&'g Arc<dyn Map>> {
        None
    }

    /// Map-in-map: stores `inner` at `key` (it must match the inner template: `EINVAL`
    /// otherwise). User-space access flags apply.
    fn update_inner(&self, _key: &[u8], _inner: Arc<dyn Map>, _flags: u64) -> Result<(), MapError> {
        Err(not_supported(self, "update_inner"))
    }

    /// `prog_array`: the program at `index` for a tail call, borrowed for the run.
    fn prog_at<'g>(&self, _index: u32, _run: &'g RunGuard) -> Option<&'g ProgEntry> {
        None
    }

    /// `prog_array`: stores (or with `None` clears) the program at `index`.
    fn set_prog(&self, _index: u32, _entry: Option<ProgEntry>) -> Result<(), MapError> {
        Err(not_supported(self, "set_prog"))
    }

    /// `bpf_redirect_map`: what the element at `key` of a device, CPU or socket map
    /// redirects to (see [`crate::devmap`]), `None` if the slot is empty or the map is no
    /// redirect map.
    fn redirect_target(&self, _key: u32, _run: &RunGuard) -> Option<u32> {
        None
    }

    /// The ring buffer, for the `bpf_ringbuf_*` helpers and consumers.
    fn as_ringbuf(&self) -> Option<&RingBuf> {
        None
    }

    /// The perf event array, for `bpf_perf_event_output` and readers.
    fn as_perf_event_array(&self) -> Option<&PerfEventArray> {
        None
    }
}

fn check_read(map: &(impl Map + ?Sized)) -> Result<(), MapError> {
    if map.flags() & BPF_F_WRONLY != 0 {
        return Err(MapError::PermissionDenied { op: "read" });
    }
    Ok(())
}

pub(crate) fn check_write(map: &(impl Map + ?Sized)) -> Result<(), MapError> {
    if map.flags() & BPF_F_RDONLY != 0 || map.is_frozen() {
        return Err(MapError::PermissionDenied { op: "write" });
    }
    Ok(())
}

fn check_key(map: &(impl Map + ?Sized), key: &[u8]) -> Result<(), MapError> {
    if key.len() != map.key_size() {
        return Err(MapError::KeySize {
            expected: map.key_size(),
            got: key.len(),
        });
    }
    Ok(())
}

fn check_value(map: &(impl Map + ?Sized), len: usize) -> Result<(), MapError> {
    let expected = map.user_value_size();
    if len != expected {
        return Err(MapError::ValueSize { expected, got: len });
    }
    Ok(())
}

fn check_batch(
    map: &(impl Map + ?Sized),
    keys: usize,
    values: usize,
    count: usize,
    elem_flags: u64,
) -> Result<(), MapError> {
    if elem_flags & !(BPF_F_LOCK | BPF_EXIST | BPF_NOEXIST) != 0 {
        return Err(MapError::BadFlags { flags: elem_flags });
    }
    let ks = count.checked_mul(map.key_size());
    let vs = count.checked_mul(map.user_value_size());
    if ks.is_none_or(|n| n > keys) || vs.is_none_or(|n| n > values) {
        return Err(MapError::Invalid {
            reason: "key or value buffer shorter than count elements",
        });
    }
    Ok(())
}

/// Linux's `generic_map_lookup_batch` over `sys_next_key` and `sys_lookup`.
pub(crate) fn generic_lookup_batch(
    map: &(impl Map + ?Sized),
    cursor: Option<&[u8]>,
    keys: &mut [u8],
    values: &mut [u8],
    count: usize,
) -> Result<Batch, MapError> {
    let (ks, vs) = (map.key_size(), map.user_value_size());
    if let Some(c) = cursor {
        check_key(map, c)?;
    }
    let mut prev: Option<Vec<u8>> = cursor.map(<[u8]>::to_vec);
    let mut key = vec![0u8; ks];
    let mut n = 0;
    let mut done = false;
    while n < count {
        match map.sys_next_key(prev.as_deref(), &mut key) {
            Ok(()) => {}
            Err(MapError::NotFound) => {
                done = true;
                break;
            }
            Err(e) => return Err(e),
        }
        match map.sys_lookup(&key, &mut values[n * vs..(n + 1) * vs]) {
            Ok(()) => {
                keys[n * ks..(n + 1) * ks].copy_from_slice(&key);
                n += 1;
            }
            // Deleted between the two calls: skip it.
            Err(MapError::NotFound) => {}
            Err(e) => return Err(e),
        }
        prev = Some(key.clone());
    }
    Ok(Batch {
        count: n,
        next: (n > 0).then(|| keys[(n - 1) * ks..n * ks].to_vec()),
        done,
    })
}
