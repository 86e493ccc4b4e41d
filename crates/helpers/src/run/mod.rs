//! One run's helper host: [`RunEnv`].

mod maps;
mod misc;
mod output;
mod packet;

pub use maps::BPF_MAX_LOOPS;
pub use output::{MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS};
pub use packet::{
    BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS, BPF_F_HDR_FIELD_MASK, BPF_F_INGRESS,
    BPF_F_INVALIDATE_HASH, BPF_F_IPV6, BPF_F_MARK_ENFORCE, BPF_F_MARK_MANGLED_0, BPF_F_PSEUDO_HDR,
    BPF_F_RECOMPUTE_CSUM, ETH_HLEN, TC_ACT_REDIRECT, TC_ACT_SHOT, XDP_ABORTED, XDP_FRAME_SIZE,
    XDP_META_MAX, XDP_REDIRECT,
};

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ebpfvm_abi::{ExecEnv, HelperHost, ProgramType, Trap};
use ebpfvm_maps::{Map, RunGuard};

use crate::allow::type_helpers;
use crate::ids::{self, IdSet};
use crate::map_table::{AddrMap, MapTable};
use crate::trace::TraceLog;

/// What the context pointer of a run points at, for the packet helpers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CtxKind {
    /// The runtime `xdp_buff` ([`ebpfvm_abi::kctx::xdp`]).
    Xdp,
    /// The runtime `sk_buff` ([`ebpfvm_abi::kctx::skb`]).
    Skb,
    /// Anything else (tracing contexts, raw memory): no packet.
    Other,
}

/// Where a redirect helper sent the packet; the runtime or host decides what that means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Redirect {
    /// `bpf_redirect`: to the device `ifindex` (`flags`: `BPF_F_INGRESS` for tc).
    Ifindex {
        /// The target interface index.
        ifindex: u32,
        /// The helper's flags.
        flags: u64,
    },
    /// `bpf_redirect_map`: to the element `key` of the redirect map `map_id` (a device,
    /// CPU or socket map; `flags` may hold `BPF_F_BROADCAST` / `BPF_F_EXCLUDE_INGRESS`).
    Map {
        /// The map's id.
        map_id: u32,
        /// The key looked up.
        key: u32,
        /// The helper's flags.
        flags: u64,
    },
}

/// What a run gives its helpers.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig<'r> {
    /// The program's type: which helpers it may call, and what `bpf_redirect` returns.
    pub prog_type: ProgramType,
    /// The maps the program may name.
    pub maps: &'r MapTable,
    /// The run's epoch pin and execution slot ("CPU").
    pub guard: &'r RunGuard,
    /// Where `bpf_trace_printk` writes.
    pub trace: &'r TraceLog,
    /// The run's context pointer (`r1` at entry).
    pub ctx_addr: u64,
    /// What the context is.
    pub ctx_kind: CtxKind,
}

/// The helper host of one program run.
///
/// Create one per run (cheap: no allocation until a helper needs one), hand it to the
/// engine as its [`HelperHost`], and call [`RunEnv::finish`] when the run ends (dropping
/// it does the same).
#[derive(Debug)]
pub struct RunEnv<'r> {
    cfg: RunConfig<'r>,
    /// The helpers this run may call: allowed for the type and implemented.
    helpers: &'static IdSet,
    redirect: Option<Redirect>,
    /// Inner maps a map-in-map lookup returned, by their program-visible value.
    inner_maps: AddrMap<Arc<dyn Map>>,
    /// Ring-buffer records reserved and not yet submitted or discarded: address → size.
    records: AddrMap<usize>,
    /// Key buffers of `bpf_for_each_map_elem` not in use.
    key_bufs: Vec<Box<[AtomicU64]>>,
    /// Spin locks this run holds.
    locks: Vec<u64>,
}

impl<'r> RunEnv<'r> {
    /// A helper host for one run.
    pub fn new(cfg: RunConfig<'r>) -> Self {
        RunEnv {
            helpers: &type_helpers(cfg.prog_type).runnable,
            cfg,
            redirect: None,
            inner_maps: AddrMap::default(),
            records: AddrMap::default(),
            key_bufs: Vec::new(),
            locks: Vec::new(),
        }
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig<'r> {
        &self.cfg
    }

    /// Where the last redirect helper call sent the packet, if one succeeded.
    pub fn redirect(&self) -> Option<&Redirect> {
        self.redirect.as_ref()
    }

    /// Ends the run's helper state: discards the ring-buffer records the program left
    /// reserved (the verifier forbids that, an unverified program may do it), so the
    /// consumer is not blocked behind them. Idempotent; dropping the `RunEnv` calls it.
    pub fn finish(&mut self) {
        for (addr, _) in self.records.drain() {
            let _ = ebpfvm_maps::ringbuf::discard_sample(addr as *mut u8, 0);
        }
        self.locks.clear();
    }

    /// The map whose program-visible value is `addr`: one of the run's [`MapTable`], or
    /// an inner map a lookup returned. [`Trap::BadHelperArg`] otherwise.
    fn map(&self, id: i64, arg: u8, addr: u64) -> Result<Cow<'r, Arc<dyn Map>>, Trap> {
        let maps: &'r MapTable = self.cfg.maps;
        if let Some(m) = maps.get(addr) {
            return Ok(Cow::Borrowed(m));
        }
        if let Some(m) = self.inner_maps.get(&addr) {
            return Ok(Cow::Owned(Arc::clone(m)));
        }
        Err(Trap::BadHelperArg {
            id,
            arg,
            expected: "a map",
        })
    }

    /// [`Trap::BadHelperArg`] unless `addr` is the run's context of kind `kind`.
    fn check_ctx(&self, id: i64, addr: u64, kind: CtxKind) -> Result<(), Trap> {
        if addr != self.cfg.ctx_addr || self.cfg.ctx_kind != kind {
            return Err(Trap::BadHelperArg {
                id,
                arg: 1,
                expected: match kind {
                    CtxKind::Xdp => "the run's xdp context",
                    CtxKind::Skb => "the run's skb context",
                    CtxKind::Other => "the run's context",
                },
            });
        }
        Ok(())
    }

    /// Makes a map value (or per-CPU slot value) pointer the program got accessible (the
    /// engine ignores a region it already has).
    ///
    /// Only for pointers a map returned under `self.cfg.guard`.
    #[allow(
        unsafe_code,
        reason = "granting memory to the program is ExecEnv's unsafe contract"
    )]
    fn grant_map_value(&mut self, env: &mut dyn ExecEnv, ptr: *mut u8, len: usize, writable: bool) {
        let addr = ptr as u64;
        // SAFETY: `ptr` is a value pointer a map returned for this run's guard. Maps keep
        // such memory valid (neither freed nor reused, even if the element is deleted or
        // the map dropped) until every guard pinned when it left the map has dropped, and
        // the guard outlives the run (`RunConfig::guard` borrows it for 'r). Values are
        // stored as atomic words, so concurrent plain and atomic accesses by the program
        // and by other threads are tolerated.
        unsafe { env.grant(addr, len, writable) };
    }
}

impl Drop for RunEnv<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl HelperHost for RunEnv<'_> {
    fn has_helper(&self, id: i64) -> bool {
        self.helpers.contains(id)
    }

    fn call_helper(&mut self, id: i64, args: [u64; 5], env: &mut dyn ExecEnv) -> Result<u64, Trap> {
        if !self.helpers.contains(id) {
            return Err(Trap::UnknownHelper { id });
        }
        match id {
            ids::MAP_LOOKUP_ELEM => self.map_lookup_elem(env, args),
            ids::MAP_UPDATE_ELEM => self.map_update_elem(env, args),
            ids::MAP_DELETE_ELEM => self.map_delete_elem(env, args),
            ids::MAP_PUSH_ELEM => self.map_push_elem(env, args),
            ids::MAP_POP_ELEM => self.map_pop_peek(env, args, ids::MAP_POP_ELEM),
            ids::MAP_PEEK_ELEM => self.map_pop_peek(env, args, ids::MAP_PEEK_ELEM),
            ids::TAIL_CALL => self.tail_call(env, args),
            ids::FOR_EACH_MAP_ELEM => self.for_each_map_elem(env, args),
            ids::LOOP => self.bpf_loop(env, args),
            ids::KTIME_GET_NS => Ok(crate::clock::ktime_get_ns()),
            ids::KTIME_GET_BOOT_NS => Ok(crate::clock::ktime_get_boot_ns()),
            ids::KTIME_GET_COARSE_NS => Ok(crate::clock::ktime_get_coarse_ns()),
            ids::JIFFIES64 => Ok(crate::clock::jiffies64()),
            ids::GET_PRANDOM_U32 => Ok(u64::from(crate::clock::prandom_u32())),
            ids::GET_SMP_PROCESSOR_ID => Ok(self.cfg.guard.slot() as u32 as u64),
            ids::GET_NUMA_NODE_ID => Ok(0),
            ids::GET_CURRENT_PID_TGID => Ok(crate::task::current_pid_tgid()),
            ids::GET_CURRENT_UID_GID => Ok(crate::task::current_uid_gid()),
            ids::GET_CURRENT_COMM => self.get_current_comm(env, args),
            ids::SPIN_LOCK => self.spin_lock(env, args, id),
            ids::SPIN_UNLOCK => self.spin_unlock(env, args),
            ids::STRTOL | ids::STRTOUL => self.strtox(env, args, id == ids::STRTOL),
            ids::PROBE_READ | ids::PROBE_READ_USER | ids::PROBE_READ_KERNEL => {
                self.probe_read(env, args)
            }
            ids::PROBE_READ_STR | ids::PROBE_READ_USER_STR | ids::PROBE_READ_KERNEL_STR => {
                self.probe_read_str(env, args)
            }
            ids::TRACE_PRINTK => self.trace_printk(env, args),
            ids::SNPRINTF => self.snprintf(env, args),
            ids::RINGBUF_OUTPUT => self.ringbuf_output(env, args),
            ids::RINGBUF_RESERVE => self.ringbuf_reserve(env, args),
            ids::RINGBUF_SUBMIT => self.ringbuf_commit(env, args, id, false),
            ids::RINGBUF_DISCARD => self.ringbuf_commit(env, args, id, true),
            ids::RINGBUF_QUERY => self.ringbuf_query(args),
            ids::PERF_EVENT_OUTPUT => self.perf_event_output(env, args),
            ids::XDP_ADJUST_HEAD => self.xdp_adjust_head(env, args),
            ids::XDP_ADJUST_TAIL => self.xdp_adjust_tail(env, args),
            ids::XDP_ADJUST_META => self.xdp_adjust_meta(env, args),
            ids::SKB_LOAD_BYTES => self.skb_load_bytes(env, args),
            ids::SKB_STORE_BYTES => self.skb_store_bytes(env, args),
            ids::L3_CSUM_REPLACE => self.csum_replace(env, args, id, false),
            ids::L4_CSUM_REPLACE => self.csum_replace(env, args, id, true),
            ids::CSUM_DIFF => self.csum_diff(env, args),
            ids::REDIRECT => Ok(self.redirect_ifindex(args)),
            ids::REDIRECT_MAP => self.redirect_map(args),
            _ if Some(id) == ids::MAP_LOOKUP_PERCPU_ELEM => self.map_lookup_percpu_elem(env, args),
            _ => Err(Trap::UnknownHelper { id }),
        }
    }
}

/// A buffer for keys and values: on the stack when small.
struct Scratch {
    inline: [u8; 128],
    heap: Vec<u8>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            inline: [0; 128],
            heap: Vec::new(),
        }
    }

    /// A zeroed buffer of `len` bytes.
    fn get(&mut self, len: usize) -> &mut [u8] {
        if len <= self.inline.len() {
            &mut self.inline[..len]
        } else {
            self.heap.clear();
            self.heap.resize(len, 0);
            &mut self.heap
        }
    }
}

/// Reads `len` bytes of program memory, checking the range before allocating.
fn read_vec(env: &mut dyn ExecEnv, addr: u64, len: usize) -> Result<Vec<u8>, Trap> {
    if len == 0 {
        return Ok(Vec::new());
    }
    env.check(addr, len, false)?;
    let mut v = vec![0; len];
    env.read(addr, &mut v)?;
    Ok(v)
}

/// Reads a native-endian `u64` of program memory.
fn read_u64(env: &mut dyn ExecEnv, addr: u64) -> Result<u64, Trap> {
    let mut b = [0u8; 8];
    env.read(addr, &mut b)?;
    Ok(u64::from_ne_bytes(b))
}

/// Writes a native-endian `u64` to program memory.
fn write_u64(env: &mut dyn ExecEnv, addr: u64, v: u64) -> Result<(), Trap> {
    env.write(addr, &v.to_ne_bytes())
}

/// Reads a NUL-terminated string of program memory at `addr`, at most `max` bytes besides
/// the NUL, through `env` (in 64-byte chunks while `env.check` accepts them, then byte by
/// byte): the bytes before the NUL or the first `max`; `None` if `env` refuses a byte
/// before the end. Nothing is read that `env.check` did not accept first, so an address
/// that is no program memory is never handed to `env.read`.
fn read_env_str(env: &mut dyn ExecEnv, addr: u64, max: usize) -> Option<Vec<u8>> {
    const CHUNK: usize = 64;
    let mut out = Vec::new();
    let mut buf = [0u8; CHUNK];
    while out.len() < max {
        let at = addr.checked_add(out.len() as u64)?;
        let n = CHUNK.min(max - out.len());
        if env.check(at, n, false).is_ok() && env.read(at, &mut buf[..n]).is_ok() {
            if let Some(nul) = buf[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..nul]);
                return Some(out);
            }
            out.extend_from_slice(&buf[..n]);
        } else {
            for k in 0..n as u64 {
                let mut b = [0u8];
                let a = at.checked_add(k)?;
                env.check(a, 1, false).ok()?;
                env.read(a, &mut b).ok()?;
                if b[0] == 0 {
                    return Some(out);
                }
                out.push(b[0]);
            }
        }
    }
    Some(out)
}

/// Reads `len` bytes at an address the program passed without the verifier checking it
/// (a `%pI4` argument): through `env` if `env.check` accepts it as program memory, else by
/// a safe read of process memory. `None` if neither can.
fn read_any_bytes(env: &mut dyn ExecEnv, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let ok = (env.check(addr, len, false).is_ok() && env.read(addr, &mut buf).is_ok())
        || crate::probe::read_process_memory(addr, &mut buf);
    ok.then_some(buf)
}

/// A string the program points to: through `env`, else (memory the engine does not
/// know, such as a string a tracing program found by probing) by a safe read of process
/// memory. `None` if neither can read it.
fn read_any_str(env: &mut dyn ExecEnv, addr: u64, max: usize) -> Option<Vec<u8>> {
    read_env_str(env, addr, max).or_else(|| crate::probe::read_process_str(addr, max))
}
