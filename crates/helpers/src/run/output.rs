//! Output helpers: `bpf_trace_printk`, `bpf_snprintf`, the ring buffer and perf events.

use std::borrow::Cow;
use std::sync::Arc;

use ebpfvm_abi::{ExecEnv, Trap};
use ebpfvm_maps::flags::{
    BPF_F_CTXLEN_MASK, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RB_RING_SIZE,
};
use ebpfvm_maps::ringbuf::{discard_sample, submit_sample};
use ebpfvm_maps::Map;

use super::{read_any_bytes, read_any_str, read_env_str, read_vec, CtxKind, RunEnv};
use crate::errno::{neg, EAGAIN, EFAULT, EINVAL};
use crate::format::{format, Source};
use crate::ids;

/// `MAX_BPRINTF_BUF`: the buffer `bpf_trace_printk` formats into; longer output is cut.
pub const MAX_BPRINTF_BUF: usize = 1024;
/// `MAX_BPRINTF_VARARGS`: the most arguments `bpf_snprintf` takes.
pub const MAX_BPRINTF_VARARGS: usize = 12;
/// The longest `bpf_snprintf` format read (the format lives in a read-only map value).
const MAX_FMT: usize = 64 * 1024;

/// The arguments of one formatting call and the memory they point to.
struct Args<'a> {
    env: &'a mut dyn ExecEnv,
    args: &'a [u64],
    next: usize,
}

impl Source for Args<'_> {
    fn next_arg(&mut self) -> Option<u64> {
        let a = self.args.get(self.next).copied()?;
        self.next += 1;
        Some(a)
    }

    fn string(&mut self, addr: u64, max: usize) -> Vec<u8> {
        read_any_str(self.env, addr, max).unwrap_or_default()
    }

    fn bytes(&mut self, addr: u64, len: usize) -> Option<Vec<u8>> {
        read_any_bytes(self.env, addr, len)
    }
}

fn errno_ret<T>(r: Result<T, ebpfvm_maps::MapError>) -> u64 {
    match r {
        Ok(_) => 0,
        Err(e) => neg(e.errno()),
    }
}

impl<'r> RunEnv<'r> {
    /// `bpf_trace_printk(fmt, fmt_size, a, b, c)`: formats up to three arguments and
    /// appends the result, without one trailing newline, to the run's [`crate::TraceLog`]
    /// as one line. Returns the formatted length (before cutting at
    /// [`MAX_BPRINTF_BUF`]` - 1` bytes), or `-EINVAL` for a format without a NUL within
    /// `fmt_size`, a bad conversion or more than three conversions.
    pub(super) fn trace_printk(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let fmt = read_vec(env, args[0], args[1] as u32 as usize)?;
        let Some(nul) = fmt.iter().position(|&b| b == 0) else {
            return Ok(neg(EINVAL));
        };
        let mut out = Vec::new();
        let mut src = Args {
            env,
            args: &args[2..],
            next: 0,
        };
        if format(&fmt[..nul], &mut src, &mut out).is_err() {
            return Ok(neg(EINVAL));
        }
        let len = out.len();
        out.truncate(MAX_BPRINTF_BUF - 1);
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        self.cfg
            .trace
            .push(String::from_utf8_lossy(&out).into_owned());
        Ok(len as u64)
    }

    /// `bpf_snprintf(str, str_size, fmt, data, data_len)`: formats the `data_len / 8`
    /// 64-bit arguments at `data` into `str`, cut to `str_size - 1` bytes and
    /// NUL-terminated (nothing is written for `str_size` 0). Returns the length of the
    /// whole formatted string plus one (the NUL); `-EINVAL` for a bad format or
    /// `data_len` (not a multiple of 8, more than 12 arguments, or a null `data`).
    pub(super) fn snprintf(&mut self, env: &mut dyn ExecEnv, args: [u64; 5]) -> Result<u64, Trap> {
        let (dst, size) = (args[0], args[1] as u32 as usize);
        let data_len = args[4] as u32 as usize;
        if data_len % 8 != 0 || data_len > MAX_BPRINTF_VARARGS * 8 || (data_len > 0 && args[3] == 0)
        {
            return Ok(neg(EINVAL));
        }
        let fmt = match read_env_str(env, args[2], MAX_FMT) {
            Some(f) if f.len() < MAX_FMT => f,
            _ => return Ok(neg(EINVAL)),
        };
        let data: Vec<u64> = read_vec(env, args[3], data_len)?
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        if size > 0 {
            env.check(dst, size, true)?;
        }
        let mut out = Vec::new();
        let mut src = Args {
            env,
            args: &data,
            next: 0,
        };
        if format(&fmt, &mut src, &mut out).is_err() {
            return Ok(neg(EINVAL));
        }
        let len = out.len();
        if size > 0 {
            out.truncate(size - 1);
            out.push(0);
            env.write(dst, &out)?;
        }
        Ok(len as u64 + 1)
    }

    /// The ring buffer behind a helper's map argument.
    fn ringbuf_arg(&self, id: i64, addr: u64) -> Result<Cow<'r, Arc<dyn Map>>, Trap> {
        let map = self.map(id, 1, addr)?;
        if map.as_ringbuf().is_none() {
            return Err(Trap::BadHelperArg {
                id,
                arg: 1,
                expected: "a ring buffer map",
            });
        }
        Ok(map)
    }

    /// `bpf_ringbuf_output(ringbuf, data, size, flags)`: 0, `-EINVAL` for unknown flags,
    /// `-EAGAIN` when the record does not fit.
    pub(super) fn ringbuf_output(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.ringbuf_arg(ids::RINGBUF_OUTPUT, args[0])?;
        let Some(rb) = map.as_ringbuf() else {
            return Ok(neg(EINVAL));
        };
        if args[3] & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Ok(neg(EINVAL));
        }
        if args[2] > rb.query(BPF_RB_RING_SIZE) {
            return Ok(neg(EAGAIN));
        }
        let data = read_vec(env, args[1], args[2] as usize)?;
        Ok(errno_ret(rb.output(&data, args[3])))
    }

    /// `bpf_ringbuf_reserve(ringbuf, size, flags)`: a record of `size` bytes, granted
    /// writable until it is submitted or discarded, or 0 (no room, or flags not 0).
    #[allow(
        unsafe_code,
        reason = "granting the record to the program is ExecEnv's unsafe contract"
    )]
    pub(super) fn ringbuf_reserve(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let map = self.ringbuf_arg(ids::RINGBUF_RESERVE, args[0])?;
        let Some(rb) = map.as_ringbuf() else {
            return Ok(0);
        };
        let Some(ptr) = rb.reserve(args[1], args[2]) else {
            return Ok(0);
        };
        let (addr, size) = (ptr as u64, args[1] as usize);
        // SAFETY: the record lies in the ring buffer's data area, which stays allocated
        // while the map lives (the run's map table or inner-map list holds it for the
        // whole run, and the area itself is freed only after every current guard
        // dropped). The ring hands the record to this reservation alone until it is
        // submitted or discarded, when `ringbuf_commit` revokes it first; the area is made
        // of atomic words, so the consumer's accesses to other records do not race.
        unsafe { env.grant(addr, size, true) };
        self.records.insert(addr, size);
        Ok(addr)
    }

    /// `bpf_ringbuf_submit` / `bpf_ringbuf_discard(data, flags)`: revokes and publishes
    /// (or drops) a record this run reserved. Any other pointer is
    /// [`Trap::BadHelperArg`].
    pub(super) fn ringbuf_commit(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
        id: i64,
        discard: bool,
    ) -> Result<u64, Trap> {
        let addr = args[0];
        if self.records.remove(&addr).is_none() {
            return Err(Trap::BadHelperArg {
                id,
                arg: 1,
                expected: "a ring buffer record reserved by this run",
            });
        }
        env.revoke(addr);
        let sample = addr as usize as *mut u8;
        let r = if discard {
            discard_sample(sample, args[1])
        } else {
            submit_sample(sample, args[1])
        };
        r.map_err(|_| Trap::HelperFault { id })?;
        Ok(0)
    }

    /// `bpf_ringbuf_query(ringbuf, flags)`.
    pub(super) fn ringbuf_query(&mut self, args: [u64; 5]) -> Result<u64, Trap> {
        let map = self.ringbuf_arg(ids::RINGBUF_QUERY, args[0])?;
        Ok(map.as_ringbuf().map_or(0, |rb| rb.query(args[1])))
    }

    /// `bpf_perf_event_output(ctx, map, flags, data, size)`: appends `data` to the perf
    /// buffer the flags' index names (`BPF_F_CURRENT_CPU`: the run's slot). Packet
    /// programs may append the first `(flags & BPF_F_CTXLEN_MASK) >> 32` packet bytes
    /// (`-EFAULT` beyond the packet); other programs get `-EINVAL` for that.
    pub(super) fn perf_event_output(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::PERF_EVENT_OUTPUT;
        let map = self.map(id, 2, args[1])?;
        let Some(pea) = map.as_perf_event_array() else {
            return Err(Trap::BadHelperArg {
                id,
                arg: 2,
                expected: "a perf event array map",
            });
        };
        let flags = args[2];
        let mut record = read_vec(env, args[3], args[4] as usize)?;
        let ctx_len = (flags & BPF_F_CTXLEN_MASK) >> 32;
        if ctx_len > 0 {
            if self.cfg.ctx_kind == CtxKind::Other {
                return Ok(neg(EINVAL));
            }
            self.check_ctx(id, args[0], self.cfg.ctx_kind)?;
            let (data, data_end) = self.packet_bounds(env, id)?;
            if ctx_len > data_end.saturating_sub(data) {
                return Ok(neg(EFAULT));
            }
            record.extend(read_vec(env, data, ctx_len as usize)?);
        }
        Ok(errno_ret(pea.output(
            flags & !BPF_F_CTXLEN_MASK,
            &record,
            self.cfg.guard,
        )))
    }
}
