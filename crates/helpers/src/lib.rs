//! The Linux BPF helper functions, for every ebpfvm engine.
//!
//! ```text
//!  runtime ──RunConfig──▶ RunEnv (one per run) ──HelperHost──▶ engine (interp, JIT)
//!                           │  maps (MapTable), trace log, guard, ctx
//!                           └─ program memory only through the engine's ExecEnv
//! ```
//!
//! A run's [`RunEnv`] is the engine's [`ebpfvm_abi::HelperHost`]: `has_helper(id)` is true
//! for helpers ebpfvm [`implemented`] and Linux [`allowed`] for the program's type, and
//! `call_helper` runs them with Linux's semantics (ids, arguments, return values and errno
//! from the uapi helper descriptions, `bpf-helpers(7)`); a helper the type may not call is
//! [`ebpfvm_abi::Trap::UnknownHelper`] (loaders reject such programs first).
//!
//! # Implemented
//!
//! - maps: `map_lookup_elem`, `map_update_elem`, `map_delete_elem`, `map_push_elem`,
//!   `map_pop_elem`, `map_peek_elem`, `map_lookup_percpu_elem` (wired by name: callable
//!   once the abi table lists id 195), `for_each_map_elem`, `tail_call`;
//! - time and identity: `ktime_get_ns`, `ktime_get_boot_ns`, `ktime_get_coarse_ns`,
//!   `jiffies64` ([`HZ`] = 250), `get_prandom_u32`, `get_smp_processor_id` (the run's
//!   execution slot), `get_numa_node_id` (0), `get_current_pid_tgid`,
//!   `get_current_uid_gid`, `get_current_comm`;
//! - output: `trace_printk` (to a [`TraceLog`]), `snprintf`, `ringbuf_output`,
//!   `ringbuf_reserve`, `ringbuf_submit`, `ringbuf_discard`, `ringbuf_query`,
//!   `perf_event_output`;
//! - memory and strings: `probe_read`, `probe_read_user`, `probe_read_kernel` and their
//!   `_str` forms, `strtol`, `strtoul`;
//! - control: `loop`, `spin_lock`, `spin_unlock`;
//! - packets: `xdp_adjust_head`, `xdp_adjust_tail`, `xdp_adjust_meta`, `skb_load_bytes`,
//!   `skb_store_bytes`, `l3_csum_replace`, `l4_csum_replace`, `csum_diff`, `redirect`,
//!   `redirect_map`.
//!
//! # Conventions
//!
//! - **Program memory only through [`ebpfvm_abi::ExecEnv`].** Helpers copy keys, values,
//!   strings and buffers with `ExecEnv::read`/`write`/`check` and never dereference a
//!   pointer a program passed, so a checked engine validates every access. Memory a helper
//!   hands to the program (map values, ring-buffer records, the `for_each_map_elem` key
//!   buffer, the moved packet) is granted with `ExecEnv::grant`, the only unsafe code of
//!   the crate; map values are granted once per address and run.
//! - **Unchecked addresses** (a `probe_read*` source, a `%s` argument: values the verifier
//!   does not check) are read through the engine only when `ExecEnv::check` accepts them
//!   as program memory, else as process memory ([`probe`]); so an engine's `check` must
//!   answer truthfully (`Err` when it does not track regions), never `Ok` blindly.
//! - **Map values** are map pointers as [`MapTable`] defines them; inner maps a map-in-map
//!   lookup returned are accepted for the rest of the run.
//! - **Packets**: the program's packet region is one writable region from `data_meta` to
//!   `data_end`, granted by the runtime at the start of the run; the XDP adjustment helpers
//!   move it (revoke at the old `data_meta`, grant the new region) and update the pointer
//!   slots of the runtime `xdp_buff` ([`ebpfvm_abi::kctx`]) with `ExecEnv::write`, so the
//!   runtime must let the engine write those slots. The runtime should give XDP packets
//!   Linux's 256 bytes of headroom (`XDP_PACKET_HEADROOM`), of which
//!   [`run::XDP_FRAME_SIZE`] stay reserved.
//! - **Redirects** are recorded ([`RunEnv::redirect`]); the runtime decides what they do.
//! - **Errors** a program can see are Linux's `-errno` return values; a
//!   [`ebpfvm_abi::Trap`] means the run cannot go on (a value that is no map, a pointer
//!   the engine refuses, a record this run did not reserve).
//!
//! # Deviations from Linux
//!
//! - `probe_read*` read this process's memory (there is no kernel): through the engine if
//!   it knows the address, else `/proc/self/mem` or `process_vm_readv` ([`probe`]); the
//!   user/kernel split of Linux is not modelled.
//! - `%p` and `%pK` print a per-process keyed hash of the pointer, `%ps`/`%pS`/`%pB` the
//!   address (no symbols); `trace_printk` lines carry the message only, without the
//!   task/CPU/timestamp prefix of `trace_pipe`.
//! - `csum_diff`'s unfolded value is the 32-bit end-around-carry sum of the words (Linux's
//!   is architecture-specific; folded results agree). `BPF_F_RECOMPUTE_CSUM` and
//!   `BPF_F_PSEUDO_HDR` have no effect (no checksum offload state).
//! - `tail_call` failure returns `-ENOENT` (empty slot) or `-E2BIG` (limit reached); Linux
//!   leaves `r0` unspecified.
//! - `spin_lock` on a lock the same run holds traps ([`ebpfvm_abi::Trap::HelperFault`])
//!   instead of deadlocking.
//! - [`allowed`] models a privileged load unless [`allowed_as`] is asked otherwise; see
//!   its module for the sources and the choices made where they disagree.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod allow;
pub mod clock;
pub mod csum;
pub mod errno;
mod format;
mod ids;
mod map_table;
pub mod probe;
pub mod run;
mod strto;
mod task;
mod trace;

pub use allow::{allowed, allowed_as, implemented, implemented_ids};
pub use clock::HZ;
pub use map_table::MapTable;
pub use run::{CtxKind, Redirect, RunConfig, RunEnv};
pub use strto::{strtol, strtoul};
pub use task::{current_comm, current_pid_tgid, current_uid_gid};
pub use trace::{TraceLog, DEFAULT_TRACE_LINES};
