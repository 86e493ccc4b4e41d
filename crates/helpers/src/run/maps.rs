//! Map helpers, tail calls and the callback helpers (`bpf_for_each_map_elem`, `bpf_loop`).

use std::sync::atomic::{AtomicU64, Ordering};

use ebpfvm_abi::{ExecEnv, MapType, Trap};
use ebpfvm_maps::Map;

use super::{RunEnv, Scratch};
use crate::errno::{neg, E2BIG, EINVAL, ENOENT};
use crate::ids;
use crate::map_table::MapTable;

/// `BPF_MAX_LOOPS`: the most iterations `bpf_loop` does.
pub const BPF_MAX_LOOPS: u32 = 1 << 23;

/// Redirect maps' values are read-only to programs (Linux sets `BPF_F_RDONLY_PROG` on
/// them at creation).
fn value_writable(map: &dyn Map) -> bool {
    map.prog_may_write()
        && !matches!(
            map.map_type(),
            MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap
        )
}

fn errno_ret<T>(r: Result<T, ebpfvm_maps::MapError>) -> u64 {
    match r {
        Ok(_) => 0,
        Err(e) => neg(e.errno()),
    }
}

impl RunEnv<'_> {
    /// `bpf_map_lookup_elem(map, key)`: the value's address (granted for `value_size`
    /// bytes, writable unless the map is read-only to programs), or 0. For a map-in-map
    /// the inner map's program-visible value, which later helper calls of this run accept
    /// as a map.
    pub(super) fn map_lookup_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.map(ids::MAP_LOOKUP_ELEM, 1, args[0])?;
        let mut s = Scratch::new();
        let key = s.get(map.key_size());
        if !key.is_empty() {
            env.read(args[1], key)?;
        }
        let guard = self.cfg.guard;
        if matches!(map.map_type(), MapType::ArrayOfMaps | MapType::HashOfMaps) {
            let Some(inner) = map.lookup_inner(key, guard) else {
                return Ok(0);
            };
            let addr = MapTable::addr_of(inner);
            if self.cfg.maps.get(addr).is_none() {
                self.inner_maps.entry(addr).or_insert_with(|| inner.clone());
            }
            return Ok(addr);
        }
        let Some(ptr) = map.lookup_ptr(key, guard) else {
            return Ok(0);
        };
        self.grant_map_value(env, ptr, map.value_size(), value_writable(&**map));
        Ok(ptr as u64)
    }

    /// `bpf_map_lookup_percpu_elem(map, key, cpu)`: slot `cpu`'s value of a per-CPU map,
    /// or 0 (also for a slot the map does not have).
    pub(super) fn map_lookup_percpu_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::MAP_LOOKUP_PERCPU_ELEM.unwrap_or(0);
        let map = self.map(id, 1, args[0])?;
        let mut s = Scratch::new();
        let key = s.get(map.key_size());
        env.read(args[1], key)?;
        let Ok(cpu) = u32::try_from(args[2]) else {
            return Ok(0);
        };
        let Some(ptr) = map.lookup_percpu_ptr(key, cpu, self.cfg.guard) else {
            return Ok(0);
        };
        self.grant_map_value(env, ptr, map.value_size(), value_writable(&**map));
        Ok(ptr as u64)
    }

    /// `bpf_map_update_elem(map, key, value, flags)`: 0 or `-errno`.
    pub(super) fn map_update_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.map(ids::MAP_UPDATE_ELEM, 1, args[0])?;
        let (ks, vs) = (map.key_size(), map.value_size());
        let mut s = Scratch::new();
        let (key, value) = s.get(ks + vs).split_at_mut(ks);
        if ks > 0 {
            env.read(args[1], key)?;
        }
        env.read(args[2], value)?;
        Ok(errno_ret(map.update_from_prog(
            key,
            value,
            args[3],
            self.cfg.guard,
        )))
    }

    /// `bpf_map_delete_elem(map, key)`: 0 or `-errno`.
    pub(super) fn map_delete_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.map(ids::MAP_DELETE_ELEM, 1, args[0])?;
        let mut s = Scratch::new();
        let key = s.get(map.key_size());
        if !key.is_empty() {
            env.read(args[1], key)?;
        }
        Ok(errno_ret(map.delete_from_prog(key, self.cfg.guard)))
    }

    /// `bpf_map_push_elem(map, value, flags)` (queues, stacks, bloom filters).
    pub(super) fn map_push_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.map(ids::MAP_PUSH_ELEM, 1, args[0])?;
        let mut s = Scratch::new();
        let value = s.get(map.value_size());
        env.read(args[1], value)?;
        Ok(errno_ret(map.push(value, args[2])))
    }

    /// `bpf_map_pop_elem(map, value)` / `bpf_map_peek_elem(map, value)`: the element is
    /// copied to `value`. A bloom filter's peek reads `value` instead and answers whether
    /// it may be in the set (0) or not (`-ENOENT`).
    pub(super) fn map_pop_peek(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
        id: i64,
    ) -> Result<u64, Trap> {
        let map = self.map(id, 1, args[0])?;
        let mut s = Scratch::new();
        let value = s.get(map.value_size());
        if map.map_type() == MapType::BloomFilter {
            env.read(args[1], value)?;
            return Ok(errno_ret(if id == ids::MAP_PEEK_ELEM {
                map.peek(value)
            } else {
                map.pop(value)
            }));
        }
        // Check before popping, so a bad pointer cannot lose the element.
        env.check(args[1], value.len(), true)?;
        let r = if id == ids::MAP_PEEK_ELEM {
            map.peek(value)
        } else {
            map.pop(value)
        };
        if r.is_ok() {
            env.write(args[1], value)?;
        }
        Ok(errno_ret(r))
    }

    /// `bpf_tail_call(ctx, prog_array, index)`: on success the engine continues in the
    /// target and the value is ignored (0); otherwise the program continues after the call
    /// and gets `-ENOENT` (no program at `index`) or `-E2BIG` (the engine refused: the
    /// tail-call limit is reached, or the program is not one of the engine's).
    pub(super) fn tail_call(&mut self, env: &mut dyn ExecEnv, args: [u64; 5]) -> Result<u64, Trap> {
        let map = self.map(ids::TAIL_CALL, 2, args[1])?;
        if map.map_type() != MapType::ProgArray {
            return Err(Trap::BadHelperArg {
                id: ids::TAIL_CALL,
                arg: 2,
                expected: "a prog_array map",
            });
        }
        let index = args[2] as u32;
        let Some(entry) = map.prog_at(index, self.cfg.guard) else {
            return Ok(neg(ENOENT));
        };
        if env.tail_call(&entry.handle) {
            Ok(0)
        } else {
            Ok(neg(E2BIG))
        }
    }

    /// `bpf_for_each_map_elem(map, callback, ctx, flags)`: calls
    /// `callback(map, key, value, ctx)` for each element until it returns non-zero;
    /// returns the number of elements visited (including the one that stopped the walk).
    /// The key is a copy in a buffer of the run, granted read-only; the value is the map's
    /// (writable unless the map is read-only to programs).
    #[allow(
        unsafe_code,
        reason = "granting the key buffer to the program is ExecEnv's unsafe contract"
    )]
    pub(super) fn for_each_map_elem(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.map(ids::FOR_EACH_MAP_ELEM, 1, args[0])?;
        if args[3] != 0 {
            return Ok(neg(EINVAL));
        }
        let (ks, vs) = (map.key_size(), map.value_size());
        let writable = value_writable(&**map);
        let words = ks.div_ceil(8).max(64);
        let key_buf = match self.key_bufs.pop() {
            Some(b) if b.len() >= words => b,
            _ => (0..words).map(|_| AtomicU64::new(0)).collect(),
        };
        let key_addr = key_buf.as_ptr() as u64;
        if ks > 0 {
            // SAFETY: the buffer is owned by this `RunEnv` (boxed: its address is stable)
            // and is neither freed nor reused before the `revoke` below; it is made of
            // atomic words, which this function writes only between callbacks, so the
            // program's reads never race with a non-atomic access.
            unsafe { env.grant(key_addr, ks, false) };
        }
        let (func, ctx, map_value) = (args[1], args[2], args[0]);
        let guard = self.cfg.guard;
        let mut trap = None;
        let result = map.for_each(guard, &mut |key: &[u8], value: *mut u8| {
            for (word, chunk) in key_buf.iter().zip(key.chunks(8)) {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                word.store(u64::from_ne_bytes(w), Ordering::Relaxed);
            }
            self.grant_map_value(&mut *env, value, vs, writable);
            let args = [map_value, key_addr, value as u64, ctx, 0];
            match env.call_function(&mut *self, func, args) {
                Ok(r) => r != 0,
                Err(t) => {
                    trap = Some(t);
                    true
                }
            }
        });
        if ks > 0 {
            env.revoke(key_addr);
        }
        self.key_bufs.push(key_buf);
        if let Some(t) = trap {
            return Err(t);
        }
        Ok(match result {
            Ok(n) => u64::from(n),
            Err(e) => neg(e.errno()),
        })
    }

    /// `bpf_loop(nr_loops, callback, ctx, flags)`: calls `callback(i, ctx)` for `i` from
    /// 0 until it returns non-zero or `nr_loops` calls are done; returns the number of
    /// calls made. `-EINVAL` for flags, `-E2BIG` for more than [`BPF_MAX_LOOPS`].
    pub(super) fn bpf_loop(&mut self, env: &mut dyn ExecEnv, args: [u64; 5]) -> Result<u64, Trap> {
        let nr_loops = args[0] as u32;
        if args[3] != 0 {
            return Ok(neg(EINVAL));
        }
        if nr_loops > BPF_MAX_LOOPS {
            return Ok(neg(E2BIG));
        }
        let (func, ctx) = (args[1], args[2]);
        for i in 0..nr_loops {
            if env.call_function(&mut *self, func, [u64::from(i), ctx, 0, 0, 0])? != 0 {
                return Ok(u64::from(i) + 1);
            }
        }
        Ok(u64::from(nr_loops))
    }
}
