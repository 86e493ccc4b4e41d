//! The helper-host trait, and what an engine offers helpers during a run.

use std::any::Any;
use std::sync::Arc;

use crate::Trap;

/// A program handle stored in a `prog_array`, as the engines see it: the runtime decides
/// what it holds (the interpreter's prepared program, later JIT code), each engine
/// downcasts it to its own kind.
pub type ProgHandle = Arc<dyn Any + Send + Sync>;

/// Calls helper functions on behalf of an execution engine.
///
/// The engines depend only on this trait; the helper implementations and the runtime that
/// wires them up live elsewhere.
pub trait HelperHost {
    /// Whether helper `id` exists. Loaders reject programs calling unknown helpers.
    fn has_helper(&self, id: i64) -> bool;

    /// Calls helper `id` with `r1`–`r5`; the returned value becomes `r0`. `env` is the
    /// engine's side of the run: program memory, callbacks and tail calls.
    fn call_helper(&mut self, id: i64, args: [u64; 5], env: &mut dyn ExecEnv) -> Result<u64, Trap>;
}

/// What an engine offers the helpers of a run.
///
/// Helpers touch program memory (keys, buffers, the context) only through `read` and
/// `write`, so a checked engine can validate every pointer a program passes; an engine that
/// runs verified programs may copy directly.
pub trait ExecEnv {
    /// Copies `buf.len()` bytes of program memory at `addr` into `buf`.
    /// [`Trap::MemoryViolation`] if they are not all readable by the program.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap>;

    /// Copies `data` into program memory at `addr`. [`Trap::MemoryViolation`] if the bytes
    /// are not all writable by the program.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap>;

    /// Copies `data` into memory of the run that the program may only read: the runtime's
    /// context structures (the packet pointers a helper such as `bpf_xdp_adjust_head`
    /// moves). [`Trap::MemoryViolation`] unless the bytes lie in one region the engine was
    /// given as mutable memory. Because programs cannot write such memory, helpers can
    /// trust what they read there.
    fn write_runtime(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap>;

    /// Checks that `len` bytes at `addr` are program memory (writable if `write`).
    fn check(&self, addr: u64, len: usize, write: bool) -> Result<(), Trap>;

    /// Atomically compares the 4-byte word at `addr` (4-aligned, writable program memory)
    /// with `expected` and, if equal, replaces it with `new`; returns the old value. For
    /// `bpf_spin_lock`.
    fn cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Result<u32, Trap>;

    /// Makes `len` bytes at `addr` accessible to the program for the rest of the run (or
    /// until [`ExecEnv::revoke`]): a map value a lookup returned, a ring-buffer record, the
    /// packet after an adjustment. Engines that do not check accesses ignore it.
    ///
    /// # Safety
    ///
    /// The bytes must stay valid for reads (and for writes, if `writable`) until the run
    /// ends or the region is revoked, and every other access to them must tolerate the
    /// program's concurrent plain and atomic accesses (map values, ring buffers, buffers
    /// the runtime owns for the run).
    #[allow(
        unsafe_code,
        reason = "the contract of granted memory is the caller's to keep"
    )]
    unsafe fn grant(&mut self, addr: u64, len: usize, writable: bool);

    /// Withdraws the regions granted at `addr` (a submitted ring-buffer record, the old
    /// packet bounds).
    fn revoke(&mut self, addr: u64);

    /// Calls the program's function `func` (the value of a `BPF_PSEUDO_FUNC` `ld_imm64`,
    /// i.e. a callback passed to `bpf_loop` or `bpf_for_each_map_elem`) with `args` in
    /// r1–r5 and returns its r0. Helpers it calls go to `host`.
    fn call_function(
        &mut self,
        host: &mut dyn HelperHost,
        func: u64,
        args: [u64; 5],
    ) -> Result<u64, Trap>;

    /// Asks for a tail call to `target`. `true`: the helper must return at once, and the
    /// engine continues in `target` instead of after the call. `false`: the tail-call limit
    /// ([`crate::limits::MAX_TAIL_CALLS`]) is reached, or `target` is not a program of this
    /// engine; the program continues after the call.
    fn tail_call(&mut self, target: &ProgHandle) -> bool;
}

/// A host with no helpers at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHelpers;

impl HelperHost for NoHelpers {
    fn has_helper(&self, _id: i64) -> bool {
        false
    }

    fn call_helper(
        &mut self,
        id: i64,
        _args: [u64; 5],
        _env: &mut dyn ExecEnv,
    ) -> Result<u64, Trap> {
        Err(Trap::UnknownHelper { id })
    }
}
