//! `BPF_MAP_TYPE_BLOOM_FILTER`: a keyless set with false positives and no false negatives.
//!
//! Linux's `bloom_filter.c`: `map_extra & 0xf` hash functions (0 means 5), a bit array of
//! `roundup_pow_of_two(max_entries * nr_hash_funcs * 7 / 5)` bits (at least 64). Push adds
//! a value (flags must be `BPF_ANY`), peek answers `Ok` (maybe present) or `ENOENT`
//! (absent); through `bpf()`, update pushes and lookup peeks the value passed. Delete, pop
//! and get-next-key are `EOPNOTSUPP`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::def::{check_common, check_flag_mask, KMALLOC_MAX_SIZE};
use crate::error::EOPNOTSUPP;
use crate::flags::*;
use crate::storage::{hash_bytes, random_seed, zeroed_words, Words};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions};

/// A bloom filter.
#[derive(Debug)]
pub struct BloomFilter {
    info: MapInfo,
    bits: Words,
    mask: u64,
    nr_hash: u32,
    seed: u64,
    vs: usize,
}

impl BloomFilter {
    /// Creates a bloom filter with Linux's checks (`bloom_map_alloc`).
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<BloomFilter, MapError> {
        check_common(def)?;
        if def.value_size == 0
            || def.max_entries == 0
            || def.key_size != 0
            || def.map_extra & !0xf != 0
        {
            return Err(MapError::BadAttr {
                reason: "bloom filters need key_size 0, a value, max_entries and map_extra <= 15",
            });
        }
        check_flag_mask(def, BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK)?;
        if u64::from(def.value_size) > KMALLOC_MAX_SIZE {
            return Err(MapError::AttrTooBig {
                what: "value_size",
                size: def.value_size.into(),
                limit: KMALLOC_MAX_SIZE,
            });
        }
        let nr_hash = match (def.map_extra & 0xf) as u32 {
            0 => 5,
            n => n,
        };
        let wanted = u64::from(def.max_entries) * u64::from(nr_hash) / 5 * 7;
        let nr_bits: u64 = if wanted > 1 << 31 {
            1 << 32
        } else {
            wanted.max(64).next_power_of_two()
        };
        Ok(BloomFilter {
            info: MapInfo::new(def, opts.slots),
            bits: zeroed_words((nr_bits / 64) as usize)?,
            mask: nr_bits - 1,
            nr_hash,
            seed: if def.flags & BPF_F_ZERO_SEED != 0 {
                0
            } else {
                random_seed()
            },
            vs: def.value_size as usize,
        })
    }

    fn bit(&self, value: &[u8], i: u32) -> (&AtomicU64, u64) {
        let h = u64::from(hash_bytes(value, self.seed.wrapping_add(u64::from(i))))
            | (u64::from(hash_bytes(value, !self.seed ^ u64::from(i))) << 32);
        let b = h & self.mask;
        (&self.bits[(b / 64) as usize], 1 << (b % 64))
    }

    fn value<'v>(&self, value: &'v [u8]) -> Result<&'v [u8], MapError> {
        value.get(..self.vs).ok_or(MapError::ValueSize {
            expected: self.vs,
            got: value.len(),
        })
    }

    fn unsupported(op: &'static str) -> MapError {
        MapError::NotSupported {
            op,
            map_type: "bloom_filter",
            errno: EOPNOTSUPP,
        }
    }
}

impl Map for BloomFilter {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, _key: &[u8], value: &mut [u8]) -> Result<(), MapError> {
        self.peek(value)
    }

    fn sys_update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.push(value, flags)
    }

    fn sys_delete(&self, _key: &[u8]) -> Result<(), MapError> {
        Err(Self::unsupported("delete"))
    }

    fn sys_next_key(&self, _key: Option<&[u8]>, _out: &mut [u8]) -> Result<(), MapError> {
        Err(Self::unsupported("get_next_key"))
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadFlags { flags });
        }
        let value = self.value(value)?;
        for i in 0..self.nr_hash {
            let (word, bit) = self.bit(value, i);
            word.fetch_or(bit, Ordering::Relaxed);
        }
        Ok(())
    }

    fn peek(&self, value: &mut [u8]) -> Result<(), MapError> {
        let value = self.value(value)?;
        for i in 0..self.nr_hash {
            let (word, bit) = self.bit(value, i);
            if word.load(Ordering::Relaxed) & bit == 0 {
                return Err(MapError::NotFound);
            }
        }
        Ok(())
    }

    fn pop(&self, _out: &mut [u8]) -> Result<(), MapError> {
        Err(Self::unsupported("pop"))
    }
}
