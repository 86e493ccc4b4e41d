//! Flag values of Linux uapi `include/uapi/linux/bpf.h` that maps use.
//!
//! Map creation flags (`map_flags`) and element flags (`BPF_MAP_UPDATE_ELEM` and friends).
//! They live here rather than in `ebpfvm-abi` because only maps interpret them; the numbers
//! are Linux's.

/// Element flag: create a new element or update an existing one.
pub const BPF_ANY: u64 = 0;
/// Element flag: create a new element only if it does not exist.
pub const BPF_NOEXIST: u64 = 1;
/// Element flag: update an existing element only.
pub const BPF_EXIST: u64 = 2;
/// Element flag: update under the value's `bpf_spin_lock` (treated as the flags without it:
/// this crate does not know where a value's spin lock is).
pub const BPF_F_LOCK: u64 = 4;

/// Map flag: do not preallocate hash elements (required by LPM tries).
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// Map flag: one LRU list per CPU instead of a common one (treated as common LRU here).
pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
/// Map flag: `numa_node` is valid (ignored in user space).
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// Map flag: user space may only read.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// Map flag: user space may only write.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// Map flag: store build ids in a stack trace map.
pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
/// Map flag: zero the hash seed (deterministic hashing, for tests).
pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
/// Map flag: programs may only read.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// Map flag: programs may only write.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
/// Map flag: clone a socket-local storage on fork.
pub const BPF_F_CLONE: u32 = 1 << 9;
/// Map flag: the value memory can be mapped into user space (arrays).
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// Map flag: keep the elements of a perf event array when its file is closed.
pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
/// Map flag: on an inner-map template, allow inner arrays of any `max_entries`.
pub const BPF_F_INNER_MAP: u32 = 1 << 12;

/// Every access flag (`BPF_F_ACCESS_MASK`).
pub const BPF_F_ACCESS_MASK: u32 =
    BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

/// `bpf_ringbuf_output`/`submit`/`discard` flag: do not notify the consumer.
pub const BPF_RB_NO_WAKEUP: u64 = 1 << 0;
/// `bpf_ringbuf_output`/`submit`/`discard` flag: notify the consumer.
pub const BPF_RB_FORCE_WAKEUP: u64 = 1 << 1;
/// `bpf_ringbuf_query`: bytes not yet consumed.
pub const BPF_RB_AVAIL_DATA: u64 = 0;
/// `bpf_ringbuf_query`: size of the data area.
pub const BPF_RB_RING_SIZE: u64 = 1;
/// `bpf_ringbuf_query`: consumer position.
pub const BPF_RB_CONS_POS: u64 = 2;
/// `bpf_ringbuf_query`: producer position.
pub const BPF_RB_PROD_POS: u64 = 3;

/// Ring buffer record header bit: the record is reserved and not yet submitted.
pub const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
/// Ring buffer record header bit: the record was discarded.
pub const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;
/// Size of a ring buffer record header.
pub const BPF_RINGBUF_HDR_SZ: u32 = 8;

/// `bpf_perf_event_output` flags: the index part.
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;
/// `bpf_perf_event_output` index meaning "the current CPU".
pub const BPF_F_CURRENT_CPU: u64 = BPF_F_INDEX_MASK;
/// `bpf_perf_event_output` flags: context length to append (skb/xdp programs).
pub const BPF_F_CTXLEN_MASK: u64 = 0xf_ffff << 32;

/// The page size the ring buffer's layout assumes (Linux's on x86-64 and most arm64).
pub const PAGE_SIZE: u32 = 4096;
