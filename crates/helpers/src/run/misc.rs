//! The calling thread's name, spin locks, string parsing and memory probes.

use ebpfvm_abi::{ExecEnv, Trap};

use super::{read_any_bytes, read_any_str, write_u64, RunEnv};
use crate::errno::{neg, EFAULT, EINVAL};
use crate::{strto, task};

/// `bpf_spin_lock` spins this many times before it starts yielding the thread.
const SPINS_BEFORE_YIELD: u32 = 100;

impl RunEnv<'_> {
    /// `bpf_get_current_comm(buf, size)`: the thread name, truncated to `size - 1` bytes
    /// and NUL-padded to `size`; 0, or `-EINVAL` (zeroed) if the name cannot be had.
    pub(super) fn get_current_comm(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let size = args[1] as u32 as usize;
        env.check(args[0], size, true)?;
        let mut out = vec![0u8; size];
        let ret = match task::current_comm() {
            Some(name) => {
                let n = name.len().min(size.saturating_sub(1));
                out[..n].copy_from_slice(&name[..n]);
                0
            }
            None => neg(EINVAL),
        };
        env.write(args[0], &out)?;
        Ok(ret)
    }

    /// `bpf_spin_lock(lock)`: compare-and-swap the 4-byte word 0 → 1 until it succeeds,
    /// spinning briefly, then yielding the thread between attempts. Taking a lock this run
    /// already holds would never succeed: [`Trap::HelperFault`] instead of a hang.
    pub(super) fn spin_lock(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
        id: i64,
    ) -> Result<u64, Trap> {
        let addr = args[0];
        if self.locks.contains(&addr) {
            return Err(Trap::HelperFault { id });
        }
        let mut tries = 0u32;
        while env.cmpxchg32(addr, 0, 1)? != 0 {
            tries = tries.saturating_add(1);
            if tries < SPINS_BEFORE_YIELD {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        self.locks.push(addr);
        Ok(0)
    }

    /// `bpf_spin_unlock(lock)`: the word 1 → 0.
    pub(super) fn spin_unlock(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let addr = args[0];
        env.cmpxchg32(addr, 1, 0)?;
        self.locks.retain(|&a| a != addr);
        Ok(0)
    }

    /// `bpf_strtol` / `bpf_strtoul(buf, buf_len, flags, res)`: bytes consumed with the
    /// value in `*res`, or `-EINVAL` / `-ERANGE` with `*res` zeroed.
    pub(super) fn strtox(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
        signed: bool,
    ) -> Result<u64, Trap> {
        let len = usize::try_from(args[1]).unwrap_or(usize::MAX);
        if len > 0 {
            env.check(args[0], len, false)?;
        }
        let mut buf = [0u8; 64];
        let n = len.min(buf.len());
        if n > 0 {
            env.read(args[0], &mut buf[..n])?;
        }
        env.check(args[3], 8, true)?;
        let parsed = if signed {
            strto::strtol(&buf[..n], args[2]).map(|(c, v)| (c, v as u64))
        } else {
            strto::strtoul(&buf[..n], args[2])
        };
        match parsed {
            Ok((consumed, value)) => {
                write_u64(env, args[3], value)?;
                Ok(consumed as u64)
            }
            Err(errno) => {
                write_u64(env, args[3], 0)?;
                Ok(neg(errno))
            }
        }
    }

    /// `bpf_probe_read{,_user,_kernel}(dst, size, src)`: copies `size` bytes from `src`,
    /// which may be any address: program memory is read through the engine, anything else
    /// with a safe read of process memory. 0, or `-EFAULT` with `dst` zeroed.
    pub(super) fn probe_read(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let (dst, size, src) = (args[0], args[1] as u32 as usize, args[2]);
        if size == 0 {
            return Ok(0);
        }
        env.check(dst, size, true)?;
        match read_any_bytes(env, src, size) {
            Some(buf) => {
                env.write(dst, &buf)?;
                Ok(0)
            }
            None => {
                env.write(dst, &vec![0u8; size])?;
                Ok(neg(EFAULT))
            }
        }
    }

    /// `bpf_probe_read{,_user,_kernel}_str(dst, size, src)`: copies the NUL-terminated
    /// string at `src`, at most `size - 1` bytes and a NUL; returns the bytes written
    /// including the NUL, or `-EFAULT` with `dst` zeroed (0 for `size` 0).
    pub(super) fn probe_read_str(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let (dst, size, src) = (args[0], args[1] as u32 as usize, args[2]);
        if size == 0 {
            return Ok(0);
        }
        env.check(dst, size, true)?;
        match read_any_str(env, src, size - 1) {
            Some(mut s) => {
                s.push(0);
                env.write(dst, &s)?;
                Ok(s.len() as u64)
            }
            None => {
                env.write(dst, &vec![0u8; size])?;
                Ok(neg(EFAULT))
            }
        }
    }
}
