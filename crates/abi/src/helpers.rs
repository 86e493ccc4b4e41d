//! Linux helper functions: ids, names and prototypes, defined once.
//!
//! Origin: the ids and names are those of `__BPF_FUNC_MAPPER` / `enum bpf_func_id` in Linux
//! `include/uapi/linux/bpf.h` (checked against the explicit-id form `FN(name, id, ##ctx)`
//! of Linux 6.2 and later, list ending at `cgrp_storage_delete` = 211). The prototypes
//! (return kind, argument kinds, `gpl_only`, `changes_pkt_data`) follow the kernel's
//! documented helper semantics (the uapi helper descriptions and the argument kinds of its
//! `struct bpf_func_proto` definitions), reduced to what a user-space verifier needs; they
//! were written from that documentation, not transcribed from kernel source, and are still
//! to be checked one by one against the running kernel's verifier by the verifier issue's
//! kernel-differential tests (the `gpl_only` values especially). Every id 1–211 is either in
//! [`HELPERS`] or in [`UNSUPPORTED`] with the reason it is left out; names are given
//! without the `bpf_` prefix, as in the uapi list.
//!
//! Where Linux's argument type has no [`ArgKind`], the table uses the kind that makes the
//! verifier stricter and says so next to the entry: buffers the helper both reads and writes
//! are [`ArgKind::UninitMem`] (the verifier checks that they are writable and forgets what
//! the stack held there; [`ArgKind::Mem`] would let a helper write read-only memory),
//! nullable contexts are [`ArgKind::Ctx`], and never-null returns are
//! [`RetKind::MapValueOrNull`]. Helpers whose prototypes need kinds that cannot be
//! approximated safely (sockets, BTF-typed pointers, timers, dynptrs, kptrs) are in
//! [`UNSUPPORTED`] instead. Linux gives some helpers a different prototype per program
//! type (e.g. `get_socket_cookie` takes the context in socket programs and a socket
//! pointer in tracing programs); the table has the context form, and the helper
//! allowlists of `ebpfvm-helpers` allow a helper only for the types whose variant this is.

/// What a helper returns in `r0`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RetKind {
    /// A scalar (`RET_INTEGER`).
    Integer,
    /// Nothing meaningful; `r0` is unknown afterwards (`RET_VOID`).
    Void,
    /// A pointer into a map value, or null (`RET_PTR_TO_MAP_VALUE_OR_NULL`).
    MapValueOrNull,
    /// A pointer to freshly allocated memory, or null, whose size is the
    /// [`ArgKind::ConstAllocSizeOrZero`] argument (`RET_PTR_TO_ALLOC_MEM_OR_NULL`,
    /// e.g. `ringbuf_reserve`).
    AllocMemOrNull,
}

/// The kind of one helper argument (`r1`..`r5`), as the verifier checks it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ArgKind {
    /// Any initialised value (`ARG_ANYTHING`).
    Anything,
    /// A map pointer loaded from a map relocation (`ARG_CONST_MAP_PTR`).
    ConstMapPtr,
    /// A pointer to a key of the preceding map, readable for its key size
    /// (`ARG_PTR_TO_MAP_KEY`).
    MapKey,
    /// A pointer to a value of the preceding map, readable for its value size
    /// (`ARG_PTR_TO_MAP_VALUE`).
    MapValue,
    /// A pointer to value-size memory of the preceding map that the helper writes
    /// (`ARG_PTR_TO_MAP_VALUE | MEM_UNINIT`, e.g. `map_pop_elem`).
    UninitMapValue,
    /// Initialised memory the helper reads; size in the next argument
    /// (`ARG_PTR_TO_MEM | MEM_RDONLY`).
    Mem,
    /// Like [`ArgKind::Mem`] but may be null (with size 0)
    /// (`ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY`).
    MemOrNull,
    /// Memory the helper writes, so it need not be initialised; size in the next
    /// argument (`ARG_PTR_TO_UNINIT_MEM`).
    UninitMem,
    /// Like [`ArgKind::UninitMem`] but may be null (with size 0)
    /// (`ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_UNINIT`, e.g. `snprintf`'s buffer).
    UninitMemOrNull,
    /// The size, a known positive constant, of the preceding memory argument
    /// (`ARG_CONST_SIZE`).
    ConstSize,
    /// The size, a known constant that may be 0, of the preceding memory argument
    /// (`ARG_CONST_SIZE_OR_ZERO`).
    ConstSizeOrZero,
    /// The size of the memory the helper returns (`ARG_CONST_ALLOC_SIZE_OR_ZERO`).
    ConstAllocSizeOrZero,
    /// The program's context pointer, `r1` at entry (`ARG_PTR_TO_CTX`).
    Ctx,
    /// A pointer to a subprogram called back by the helper (`ARG_PTR_TO_FUNC`).
    Callback,
    /// A stack pointer passed through to the callback, or null
    /// (`ARG_PTR_TO_STACK_OR_NULL`).
    StackOrNull,
    /// A pointer to a `struct bpf_spin_lock` inside a map value (`ARG_PTR_TO_SPIN_LOCK`).
    SpinLock,
    /// Memory returned by an [`RetKind::AllocMemOrNull`] helper, released by this call
    /// (`ARG_PTR_TO_ALLOC_MEM | OBJ_RELEASE`, e.g. `ringbuf_submit`).
    AllocMem,
    /// A pointer to a NUL-terminated string in a read-only map (`ARG_PTR_TO_CONST_STR`).
    ConstStr,
    /// A pointer to an aligned 8-byte `long` the helper writes (`ARG_PTR_TO_LONG`,
    /// e.g. `strtol`'s result).
    LongPtr,
}

impl ArgKind {
    /// Whether this argument is a memory pointer whose size is the next argument.
    #[must_use]
    pub const fn is_sized_mem(self) -> bool {
        matches!(
            self,
            Self::Mem | Self::MemOrNull | Self::UninitMem | Self::UninitMemOrNull
        )
    }

    /// Whether this argument is the size of the preceding memory argument.
    #[must_use]
    pub const fn is_mem_size(self) -> bool {
        matches!(self, Self::ConstSize | Self::ConstSizeOrZero)
    }
}

/// Properties of a helper beyond its signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct HelperFlags {
    /// Only GPL-compatible programs may call it (`gpl_only`).
    pub gpl_only: bool,
    /// It may move or resize packet data, invalidating packet pointers
    /// (`bpf_helper_changes_pkt_data`).
    pub changes_pkt_data: bool,
    /// It may sleep, so only sleepable programs may call it (`might_sleep`).
    pub might_sleep: bool,
}

impl HelperFlags {
    /// No flags.
    pub const NONE: Self = Self {
        gpl_only: false,
        changes_pkt_data: false,
        might_sleep: false,
    };
    /// GPL only.
    pub const GPL: Self = Self {
        gpl_only: true,
        ..Self::NONE
    };
    /// Changes packet data.
    pub const PKT: Self = Self {
        changes_pkt_data: true,
        ..Self::NONE
    };
}

/// The prototype of one Linux helper function.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HelperProto {
    /// The uapi id (`BPF_FUNC_<name>`), the `imm` of the `call` instruction.
    pub id: u32,
    /// The uapi name without the `bpf_` prefix, e.g. `map_lookup_elem`.
    pub name: &'static str,
    /// What it returns.
    pub ret: RetKind,
    /// Its arguments, `r1` first; at most 5.
    pub args: &'static [ArgKind],
    /// Its flags.
    pub flags: HelperFlags,
}

use ArgKind::{
    AllocMem, Anything, Callback, ConstAllocSizeOrZero, ConstMapPtr, ConstSize, ConstSizeOrZero,
    ConstStr, Ctx, LongPtr, MapKey, MapValue, Mem, MemOrNull, SpinLock, StackOrNull,
    UninitMapValue, UninitMem, UninitMemOrNull,
};
use RetKind::{AllocMemOrNull, Integer, MapValueOrNull, Void};

/// Builds the table: `id name: ret (args) flags;`.
macro_rules! helper_table {
    ($( $id:literal $name:ident : $ret:ident ( $($arg:ident),* ) $flags:ident ; )*) => {
        /// Every known helper, sorted by id.
        pub const HELPERS: &[HelperProto] = &[$(
            HelperProto {
                id: $id,
                name: stringify!($name),
                ret: $ret,
                args: &[$($arg),*],
                flags: HelperFlags::$flags,
            },
        )*];
    };
}

helper_table! {
    1 map_lookup_elem: MapValueOrNull (ConstMapPtr, MapKey) NONE;
    2 map_update_elem: Integer (ConstMapPtr, MapKey, MapValue, Anything) NONE;
    3 map_delete_elem: Integer (ConstMapPtr, MapKey) NONE;
    4 probe_read: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    5 ktime_get_ns: Integer () NONE;
    6 trace_printk: Integer (Mem, ConstSize) GPL;
    7 get_prandom_u32: Integer () NONE;
    8 get_smp_processor_id: Integer () NONE;
    9 skb_store_bytes: Integer (Ctx, Anything, Mem, ConstSize, Anything) PKT;
    10 l3_csum_replace: Integer (Ctx, Anything, Anything, Anything, Anything) PKT;
    11 l4_csum_replace: Integer (Ctx, Anything, Anything, Anything, Anything) PKT;
    12 tail_call: Void (Ctx, ConstMapPtr, Anything) NONE;
    13 clone_redirect: Integer (Ctx, Anything, Anything) PKT;
    14 get_current_pid_tgid: Integer () NONE;
    15 get_current_uid_gid: Integer () NONE;
    16 get_current_comm: Integer (UninitMem, ConstSize) NONE;
    // Approximate for cgroup and sk_msg programs, whose variant takes no argument: `Ctx`
    // asks for the (ignored) context there.
    17 get_cgroup_classid: Integer (Ctx) NONE;
    18 skb_vlan_push: Integer (Ctx, Anything, Anything) PKT;
    19 skb_vlan_pop: Integer (Ctx) PKT;
    20 skb_get_tunnel_key: Integer (Ctx, UninitMem, ConstSize, Anything) NONE;
    21 skb_set_tunnel_key: Integer (Ctx, Mem, ConstSize, Anything) NONE;
    22 perf_event_read: Integer (ConstMapPtr, Anything) GPL;
    23 redirect: Integer (Anything, Anything) NONE;
    24 get_route_realm: Integer (Ctx) NONE;
    25 perf_event_output: Integer (Ctx, ConstMapPtr, Anything, Mem, ConstSizeOrZero) GPL;
    26 skb_load_bytes: Integer (Ctx, Anything, UninitMem, ConstSize) NONE;
    27 get_stackid: Integer (Ctx, ConstMapPtr, Anything) GPL;
    28 csum_diff: Integer (MemOrNull, ConstSizeOrZero, MemOrNull, ConstSizeOrZero, Anything) NONE;
    29 skb_get_tunnel_opt: Integer (Ctx, UninitMem, ConstSize) NONE;
    30 skb_set_tunnel_opt: Integer (Ctx, Mem, ConstSize) NONE;
    31 skb_change_proto: Integer (Ctx, Anything, Anything) PKT;
    32 skb_change_type: Integer (Ctx, Anything) NONE;
    33 skb_under_cgroup: Integer (Ctx, ConstMapPtr, Anything) NONE;
    34 get_hash_recalc: Integer (Ctx) NONE;
    35 get_current_task: Integer () GPL;
    36 probe_write_user: Integer (Anything, Mem, ConstSize) GPL;
    37 current_task_under_cgroup: Integer (ConstMapPtr, Anything) NONE;
    38 skb_change_tail: Integer (Ctx, Anything, Anything) PKT;
    39 skb_pull_data: Integer (Ctx, Anything) PKT;
    40 csum_update: Integer (Ctx, Anything) NONE;
    41 set_hash_invalid: Integer (Ctx) NONE;
    42 get_numa_node_id: Integer () NONE;
    43 skb_change_head: Integer (Ctx, Anything, Anything) PKT;
    44 xdp_adjust_head: Integer (Ctx, Anything) PKT;
    45 probe_read_str: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    // The context variants only (skb, sock, sock_addr, sock_ops); the variant of tracing
    // and sk_reuseport programs takes a socket pointer and is not allowed for them.
    46 get_socket_cookie: Integer (Ctx) NONE;
    47 get_socket_uid: Integer (Ctx) NONE;
    48 set_hash: Integer (Ctx, Anything) NONE;
    // The context variants (sock_ops, sock_addr); the socket-pointer variant of
    // cgroup_sockopt and lsm_cgroup programs is not allowed for them.
    49 setsockopt: Integer (Ctx, Anything, Anything, Mem, ConstSize) NONE;
    50 skb_adjust_room: Integer (Ctx, Anything, Anything, Anything) PKT;
    51 redirect_map: Integer (ConstMapPtr, Anything, Anything) NONE;
    52 sk_redirect_map: Integer (Ctx, ConstMapPtr, Anything, Anything) NONE;
    53 sock_map_update: Integer (Ctx, ConstMapPtr, MapKey, Anything) NONE;
    54 xdp_adjust_meta: Integer (Ctx, Anything) PKT;
    55 perf_event_read_value: Integer (ConstMapPtr, Anything, UninitMem, ConstSize) GPL;
    56 perf_prog_read_value: Integer (Ctx, UninitMem, ConstSize) GPL;
    57 getsockopt: Integer (Ctx, Anything, Anything, UninitMem, ConstSize) NONE;
    58 override_return: Integer (Ctx, Anything) GPL;
    59 sock_ops_cb_flags_set: Integer (Ctx, Anything) NONE;
    60 msg_redirect_map: Integer (Ctx, ConstMapPtr, Anything, Anything) NONE;
    61 msg_apply_bytes: Integer (Ctx, Anything) NONE;
    62 msg_cork_bytes: Integer (Ctx, Anything) NONE;
    63 msg_pull_data: Integer (Ctx, Anything, Anything, Anything) PKT;
    64 bind: Integer (Ctx, Mem, ConstSize) NONE;
    65 xdp_adjust_tail: Integer (Ctx, Anything) PKT;
    66 skb_get_xfrm_state: Integer (Ctx, Anything, UninitMem, ConstSize, Anything) NONE;
    67 get_stack: Integer (Ctx, UninitMem, ConstSizeOrZero, Anything) GPL;
    68 skb_load_bytes_relative: Integer (Ctx, Anything, UninitMem, ConstSize, Anything) NONE;
    // `params` is read and written (`ARG_PTR_TO_MEM`): `UninitMem` so the verifier checks
    // that it is writable and forgets what the stack held there.
    69 fib_lookup: Integer (Ctx, UninitMem, ConstSize, Anything) GPL;
    70 sock_hash_update: Integer (Ctx, ConstMapPtr, MapKey, Anything) NONE;
    71 msg_redirect_hash: Integer (Ctx, ConstMapPtr, MapKey, Anything) NONE;
    72 sk_redirect_hash: Integer (Ctx, ConstMapPtr, MapKey, Anything) NONE;
    73 lwt_push_encap: Integer (Ctx, Anything, Mem, ConstSize) PKT;
    74 lwt_seg6_store_bytes: Integer (Ctx, Anything, Mem, ConstSize) PKT;
    75 lwt_seg6_adjust_srh: Integer (Ctx, Anything, Anything) PKT;
    76 lwt_seg6_action: Integer (Ctx, Anything, Mem, ConstSize) PKT;
    77 rc_repeat: Integer (Ctx) GPL;
    78 rc_keydown: Integer (Ctx, Anything, Anything, Anything) GPL;
    79 skb_cgroup_id: Integer (Ctx) NONE;
    80 get_current_cgroup_id: Integer () NONE;
    // Approximate: Linux returns a map value that is never null
    // (`RET_PTR_TO_MAP_VALUE`); `MapValueOrNull` makes programs check it.
    81 get_local_storage: MapValueOrNull (ConstMapPtr, Anything) NONE;
    82 sk_select_reuseport: Integer (Ctx, ConstMapPtr, MapKey, Anything) NONE;
    83 skb_ancestor_cgroup_id: Integer (Ctx, Anything) NONE;
    87 map_push_elem: Integer (ConstMapPtr, MapValue, Anything) NONE;
    88 map_pop_elem: Integer (ConstMapPtr, UninitMapValue) NONE;
    89 map_peek_elem: Integer (ConstMapPtr, UninitMapValue) NONE;
    90 msg_push_data: Integer (Ctx, Anything, Anything, Anything) PKT;
    91 msg_pop_data: Integer (Ctx, Anything, Anything, Anything) PKT;
    92 rc_pointer_rel: Integer (Ctx, Anything, Anything) GPL;
    93 spin_lock: Void (SpinLock) NONE;
    94 spin_unlock: Void (SpinLock) NONE;
    97 skb_ecn_set_ce: Integer (Ctx) NONE;
    101 sysctl_get_name: Integer (Ctx, UninitMem, ConstSize, Anything) NONE;
    102 sysctl_get_current_value: Integer (Ctx, UninitMem, ConstSize) NONE;
    103 sysctl_get_new_value: Integer (Ctx, UninitMem, ConstSize) NONE;
    104 sysctl_set_new_value: Integer (Ctx, Mem, ConstSize) NONE;
    105 strtol: Integer (Mem, ConstSize, Anything, LongPtr) NONE;
    106 strtoul: Integer (Mem, ConstSize, Anything, LongPtr) NONE;
    109 send_signal: Integer (Anything) NONE;
    112 probe_read_user: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    113 probe_read_kernel: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    114 probe_read_user_str: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    115 probe_read_kernel_str: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    117 send_signal_thread: Integer (Anything) NONE;
    118 jiffies64: Integer () NONE;
    119 read_branch_records: Integer (Ctx, UninitMemOrNull, ConstSizeOrZero, Anything) GPL;
    120 get_ns_current_pid_tgid: Integer (Anything, Anything, UninitMem, ConstSize) NONE;
    // Linux also accepts null (`ARG_PTR_TO_CTX_OR_NULL`); `Ctx` is stricter.
    122 get_netns_cookie: Integer (Ctx) NONE;
    123 get_current_ancestor_cgroup_id: Integer (Anything) NONE;
    125 ktime_get_boot_ns: Integer () NONE;
    130 ringbuf_output: Integer (ConstMapPtr, Mem, ConstSizeOrZero, Anything) NONE;
    131 ringbuf_reserve: AllocMemOrNull (ConstMapPtr, ConstAllocSizeOrZero, Anything) NONE;
    132 ringbuf_submit: Void (AllocMem, Anything) NONE;
    133 ringbuf_discard: Void (AllocMem, Anything) NONE;
    134 ringbuf_query: Integer (ConstMapPtr, Anything) NONE;
    135 csum_level: Integer (Ctx, Anything) NONE;
    // `searchby_res` is read and written: `UninitMem`, as for `fib_lookup`.
    142 load_hdr_opt: Integer (Ctx, UninitMem, ConstSize, Anything) NONE;
    143 store_hdr_opt: Integer (Ctx, Mem, ConstSize, Anything) PKT;
    144 reserve_hdr_opt: Integer (Ctx, Anything, Anything) NONE;
    149 snprintf_btf: Integer (UninitMem, ConstSize, Mem, ConstSize, Anything) NONE;
    151 skb_cgroup_classid: Integer (Ctx) NONE;
    152 redirect_neigh: Integer (Anything, MemOrNull, ConstSizeOrZero, Anything) NONE;
    155 redirect_peer: Integer (Anything, Anything) NONE;
    160 ktime_get_coarse_ns: Integer () NONE;
    // Approximate: `mtu_len` is a 4-byte int the helper reads and writes
    // (`ARG_PTR_TO_INT`); `LongPtr` asks for 8 writable bytes, which is stricter.
    163 check_mtu: Integer (Ctx, Anything, LongPtr, Anything, Anything) GPL;
    164 for_each_map_elem: Integer (ConstMapPtr, Callback, StackOrNull, Anything) NONE;
    165 snprintf: Integer (UninitMemOrNull, ConstSizeOrZero, ConstStr, MemOrNull, ConstSizeOrZero) GPL;
    // `attr` may be written back by some commands: `UninitMem`.
    166 sys_bpf: Integer (Anything, UninitMem, ConstSize) NONE;
    167 btf_find_by_name_kind: Integer (Mem, ConstSize, Anything, Anything) NONE;
    168 sys_close: Integer (Anything) NONE;
    173 get_func_ip: Integer (Ctx) GPL;
    174 get_attach_cookie: Integer (Ctx) NONE;
    176 get_branch_snapshot: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    177 trace_vprintk: Integer (Mem, ConstSize, MemOrNull, ConstSizeOrZero) GPL;
    // `res` is an aligned 8-byte result (`ARG_PTR_TO_FIXED_SIZE_MEM`, 8 bytes).
    179 kallsyms_lookup_name: Integer (Mem, ConstSize, Anything, LongPtr) NONE;
    181 loop: Integer (Anything, Callback, StackOrNull, Anything) NONE;
    182 strncmp: Integer (Mem, ConstSize, ConstStr) NONE;
    183 get_func_arg: Integer (Ctx, Anything, LongPtr) NONE;
    184 get_func_ret: Integer (Ctx, LongPtr) NONE;
    185 get_func_arg_cnt: Integer (Ctx) NONE;
    186 get_retval: Integer () NONE;
    187 set_retval: Integer (Anything) NONE;
    188 xdp_get_buff_len: Integer (Ctx) NONE;
    189 xdp_load_bytes: Integer (Ctx, Anything, UninitMem, ConstSize) NONE;
    190 xdp_store_bytes: Integer (Ctx, Anything, Mem, ConstSize) NONE;
    192 skb_set_tstamp: Integer (Ctx, Anything, Anything) NONE;
    195 map_lookup_percpu_elem: MapValueOrNull (ConstMapPtr, MapKey, Anything) NONE;
    208 ktime_get_tai_ns: Integer () NONE;
}

/// The last helper id of Linux's `enum bpf_func_id` this table was written against
/// (`cgrp_storage_delete`, Linux 6.2 and later).
pub const LAST_HELPER_ID: u32 = 211;

/// A Linux helper that [`HELPERS`] leaves out on purpose.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UnsupportedHelper {
    /// The uapi id.
    pub id: u32,
    /// The uapi name without the `bpf_` prefix.
    pub name: &'static str,
    /// Why it is left out.
    pub reason: &'static str,
}

/// Builds [`UNSUPPORTED`]: `id name: "reason";`.
macro_rules! unsupported_table {
    ($( $id:literal $name:ident : $reason:expr ; )*) => {
        /// The helpers of Linux ids 1–[`LAST_HELPER_ID`] that [`HELPERS`] leaves out, sorted
        /// by id: their prototypes need argument or return kinds [`ArgKind`]/[`RetKind`] do
        /// not have (sockets, BTF-typed kernel objects, timers, dynptrs, kptrs, fixed-size
        /// memory) or callbacks with other arguments than the verifier gives, and any
        /// approximation would let unsafe programs through. A program calling one is
        /// rejected (`invalid func unknown#N`).
        pub const UNSUPPORTED: &[UnsupportedHelper] = &[$(
            UnsupportedHelper { id: $id, name: stringify!($name), reason: $reason },
        )*];
    };
}

const SOCK_RET: &str = "returns a socket pointer (acquired reference)";
const SOCK_ARG: &str = "takes a socket pointer";
const SOCK_CAST: &str = "takes and returns BTF socket pointers";
const BTF_ARG: &str = "takes a BTF-typed kernel object pointer";
const TIMER: &str = "takes a bpf_timer inside a map value";
const DYNPTR: &str = "takes or returns a dynptr";
const FIXED_MEM: &str = "takes fixed-size header memory without a size argument";
const STORAGE: &str = "takes a BTF-typed owner pointer (local storage)";

unsupported_table! {
    84 sk_lookup_tcp: SOCK_RET;
    85 sk_lookup_udp: SOCK_RET;
    86 sk_release: "releases a socket reference";
    95 sk_fullsock: SOCK_CAST;
    96 tcp_sock: SOCK_CAST;
    98 get_listener_sock: SOCK_CAST;
    99 skc_lookup_tcp: SOCK_RET;
    100 tcp_check_syncookie: SOCK_ARG;
    107 sk_storage_get: STORAGE;
    108 sk_storage_delete: STORAGE;
    110 tcp_gen_syncookie: SOCK_ARG;
    111 skb_output: "takes a BTF sk_buff pointer (tracing programs)";
    116 tcp_send_ack: "takes a BTF tcp_sock pointer (struct_ops)";
    121 xdp_output: "takes a BTF xdp_buff pointer (tracing programs)";
    124 sk_assign: SOCK_ARG;
    126 seq_printf: "takes a BTF seq_file pointer (iterators)";
    127 seq_write: "takes a BTF seq_file pointer (iterators)";
    128 sk_cgroup_id: SOCK_ARG;
    129 sk_ancestor_cgroup_id: SOCK_ARG;
    136 skc_to_tcp6_sock: SOCK_CAST;
    137 skc_to_tcp_sock: SOCK_CAST;
    138 skc_to_tcp_timewait_sock: SOCK_CAST;
    139 skc_to_tcp_request_sock: SOCK_CAST;
    140 skc_to_udp6_sock: SOCK_CAST;
    141 get_task_stack: BTF_ARG;
    145 inode_storage_get: STORAGE;
    146 inode_storage_delete: STORAGE;
    147 d_path: BTF_ARG;
    148 copy_from_user: "sleepable programs only; sleepability is not checked yet";
    150 seq_printf_btf: "takes a BTF seq_file pointer (iterators)";
    153 per_cpu_ptr: "takes a per-CPU BTF pointer and returns a BTF pointer";
    154 this_cpu_ptr: "takes a per-CPU BTF pointer and returns a BTF pointer";
    156 task_storage_get: STORAGE;
    157 task_storage_delete: STORAGE;
    158 get_current_task_btf: "returns a BTF task_struct pointer";
    159 bprm_opts_set: BTF_ARG;
    161 ima_inode_hash: "takes a BTF inode pointer; sleepable";
    162 sock_from_file: "takes a BTF file pointer and returns a BTF socket pointer";
    169 timer_init: TIMER;
    170 timer_set_callback: "takes a bpf_timer; its callback gets (map, key, value)";
    171 timer_start: TIMER;
    172 timer_cancel: TIMER;
    175 task_pt_regs: "takes a BTF task_struct pointer and returns a BTF pointer";
    178 skc_to_unix_sock: SOCK_CAST;
    180 find_vma: "takes a BTF task_struct pointer; its callback gets (task, vma, ctx)";
    191 copy_from_user_task: "takes a BTF task_struct pointer; sleepable";
    193 ima_file_hash: "takes a BTF file pointer; sleepable";
    194 kptr_xchg: "takes and returns a kptr";
    196 skc_to_mptcp_sock: SOCK_CAST;
    197 dynptr_from_mem: DYNPTR;
    198 ringbuf_reserve_dynptr: DYNPTR;
    199 ringbuf_submit_dynptr: DYNPTR;
    200 ringbuf_discard_dynptr: DYNPTR;
    201 dynptr_read: DYNPTR;
    202 dynptr_write: DYNPTR;
    203 dynptr_data: DYNPTR;
    204 tcp_raw_gen_syncookie_ipv4: FIXED_MEM;
    205 tcp_raw_gen_syncookie_ipv6: FIXED_MEM;
    206 tcp_raw_check_syncookie_ipv4: FIXED_MEM;
    207 tcp_raw_check_syncookie_ipv6: FIXED_MEM;
    209 user_ringbuf_drain: "its callback gets a dynptr";
    210 cgrp_storage_get: STORAGE;
    211 cgrp_storage_delete: STORAGE;
}

/// The entry of [`UNSUPPORTED`] with uapi id `id`, if any.
#[must_use]
pub fn unsupported_by_id(id: u32) -> Option<&'static UnsupportedHelper> {
    UNSUPPORTED
        .binary_search_by_key(&id, |h| h.id)
        .ok()
        .map(|i| &UNSUPPORTED[i])
}

/// The helper with uapi id `id`, if the table has it.
#[must_use]
pub fn helper_by_id(id: u32) -> Option<&'static HelperProto> {
    HELPERS
        .binary_search_by_key(&id, |h| h.id)
        .ok()
        .map(|i| &HELPERS[i])
}

/// The helper named `name`, with or without the `bpf_` prefix (`map_lookup_elem` or
/// `bpf_map_lookup_elem`), if the table has it.
#[must_use]
pub fn helper_by_name(name: &str) -> Option<&'static HelperProto> {
    let name = name.strip_prefix("bpf_").unwrap_or(name);
    HELPERS.iter().find(|h| h.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_sorted_unique_and_cover_1_to_60() {
        assert!(HELPERS.windows(2).all(|w| w[0].id < w[1].id));
        for id in 1..=60 {
            assert!(helper_by_id(id).is_some(), "missing id {id}");
        }
        assert!(helper_by_id(0).is_none());
        assert!(helper_by_id(LAST_HELPER_ID + 1).is_none());
    }

    #[test]
    fn every_linux_id_is_in_the_table_or_documented_unsupported() {
        assert!(UNSUPPORTED.windows(2).all(|w| w[0].id < w[1].id));
        let names: HashSet<&str> = HELPERS.iter().map(|h| h.name).collect();
        for u in UNSUPPORTED {
            assert!(!names.contains(u.name), "{} both supported and not", u.name);
            assert!(!u.reason.is_empty() && !u.name.starts_with("bpf_"));
            assert_eq!(unsupported_by_id(u.id), Some(u));
        }
        for id in 1..=LAST_HELPER_ID {
            let listed = helper_by_id(id).is_some();
            let unsupported = unsupported_by_id(id).is_some();
            assert!(
                listed != unsupported,
                "id {id}: in HELPERS {listed}, in UNSUPPORTED {unsupported}"
            );
        }
        assert!(HELPERS.iter().all(|h| (1..=LAST_HELPER_ID).contains(&h.id)));
        assert!(UNSUPPORTED
            .iter()
            .all(|h| (1..=LAST_HELPER_ID).contains(&h.id)));
        assert_eq!(HELPERS.len() + UNSUPPORTED.len(), LAST_HELPER_ID as usize);
        assert_eq!(unsupported_by_id(84).map(|h| h.name), Some("sk_lookup_tcp"));
        assert_eq!(
            unsupported_by_id(211).map(|h| h.name),
            Some("cgrp_storage_delete")
        );
        assert!(unsupported_by_id(1).is_none());
    }

    #[test]
    fn packet_changing_helpers() {
        // The helpers the uapi descriptions say invalidate packet pointers, plus the
        // sk_msg data helpers and `store_hdr_opt`, which move `data`/`data_end` as well.
        let pkt: HashSet<&str> = HELPERS
            .iter()
            .filter(|h| h.flags.changes_pkt_data)
            .map(|h| h.name)
            .collect();
        let expected: HashSet<&str> = [
            "skb_store_bytes",
            "l3_csum_replace",
            "l4_csum_replace",
            "clone_redirect",
            "skb_vlan_push",
            "skb_vlan_pop",
            "skb_change_proto",
            "skb_change_tail",
            "skb_pull_data",
            "skb_change_head",
            "xdp_adjust_head",
            "skb_adjust_room",
            "xdp_adjust_meta",
            "msg_pull_data",
            "xdp_adjust_tail",
            "lwt_push_encap",
            "lwt_seg6_store_bytes",
            "lwt_seg6_adjust_srh",
            "lwt_seg6_action",
            "msg_push_data",
            "msg_pop_data",
            "store_hdr_opt",
        ]
        .into_iter()
        .collect();
        assert_eq!(pkt, expected);
        assert!(HELPERS
            .iter()
            .all(|h| !(h.flags.changes_pkt_data && h.flags.gpl_only)));
    }

    #[test]
    fn approximate_prototypes_are_the_stricter_kinds() {
        // Read-and-written buffers are UninitMem (writability checked).
        assert_eq!(helper_by_name("fib_lookup").unwrap().args[1], UninitMem);
        assert_eq!(helper_by_name("load_hdr_opt").unwrap().args[1], UninitMem);
        // A never-null map value is returned as maybe-null.
        assert_eq!(
            helper_by_name("get_local_storage").unwrap().ret,
            RetKind::MapValueOrNull
        );
        // Only loop and for_each_map_elem take callbacks: the verifier's callback frame
        // fits only them.
        let cbs: Vec<&str> = HELPERS
            .iter()
            .filter(|h| h.args.contains(&Callback))
            .map(|h| h.name)
            .collect();
        assert_eq!(cbs, ["for_each_map_elem", "loop"]);
        assert_eq!(helper_by_name("check_mtu").unwrap().args[2], LongPtr);
        assert_eq!(
            helper_by_name("strncmp").unwrap().args,
            &[Mem, ConstSize, ConstStr]
        );
        assert!(helper_by_name("sk_lookup_tcp").is_none());
        assert!(helper_by_name("timer_init").is_none());
        assert!(helper_by_name("dynptr_read").is_none());
    }

    #[test]
    fn names_unique_and_lookups_round_trip() {
        let mut names = HashSet::new();
        for h in HELPERS {
            assert!(names.insert(h.name), "duplicate name {}", h.name);
            assert!(!h.name.starts_with("bpf_"));
            assert_eq!(helper_by_name(h.name), Some(h));
            assert_eq!(helper_by_id(h.id), Some(h));
        }
        assert_eq!(
            helper_by_name("bpf_ringbuf_output").map(|h| h.id),
            Some(130)
        );
        assert!(helper_by_name("no_such_helper").is_none());
    }

    #[test]
    fn at_most_five_args_and_sizes_follow_memory() {
        for h in HELPERS {
            assert!(h.args.len() <= 5, "{}", h.name);
            for (i, a) in h.args.iter().enumerate() {
                if a.is_sized_mem() {
                    assert!(
                        h.args.get(i + 1).is_some_and(|n| n.is_mem_size()),
                        "{} arg {} lacks a size",
                        h.name,
                        i + 1
                    );
                }
                if a.is_mem_size() {
                    assert!(
                        i > 0 && h.args[i - 1].is_sized_mem(),
                        "{} arg {}",
                        h.name,
                        i + 1
                    );
                }
            }
            let alloc_ret = h.ret == RetKind::AllocMemOrNull;
            assert_eq!(
                alloc_ret,
                h.args.contains(&ConstAllocSizeOrZero),
                "{}",
                h.name
            );
        }
    }

    #[test]
    fn known_prototypes() {
        let h = helper_by_id(1).unwrap();
        assert_eq!(h.name, "map_lookup_elem");
        assert_eq!(h.ret, RetKind::MapValueOrNull);
        assert_eq!(h.args, &[ConstMapPtr, MapKey]);

        let h = helper_by_id(12).unwrap();
        assert_eq!(h.name, "tail_call");
        assert_eq!(h.ret, RetKind::Void);
        assert_eq!(h.args, &[Ctx, ConstMapPtr, Anything]);

        let h = helper_by_id(130).unwrap();
        assert_eq!(h.name, "ringbuf_output");
        assert_eq!(h.args, &[ConstMapPtr, Mem, ConstSizeOrZero, Anything]);

        assert_eq!(helper_by_id(131).unwrap().ret, RetKind::AllocMemOrNull);
        assert!(helper_by_name("trace_printk").unwrap().flags.gpl_only);
        assert!(
            helper_by_name("xdp_adjust_head")
                .unwrap()
                .flags
                .changes_pkt_data
        );
        assert!(
            !helper_by_name("skb_load_bytes")
                .unwrap()
                .flags
                .changes_pkt_data
        );
        assert_eq!(helper_by_name("loop").unwrap().args[1], Callback);
        assert!(HELPERS.iter().all(|h| !h.flags.might_sleep));

        for (id, name) in [
            (5, "ktime_get_ns"),
            (7, "get_prandom_u32"),
            (8, "get_smp_processor_id"),
            (14, "get_current_pid_tgid"),
            (25, "perf_event_output"),
            (28, "csum_diff"),
            (42, "get_numa_node_id"),
            (45, "probe_read_str"),
            (51, "redirect_map"),
            (54, "xdp_adjust_meta"),
            (65, "xdp_adjust_tail"),
            (87, "map_push_elem"),
            (88, "map_pop_elem"),
            (89, "map_peek_elem"),
            (93, "spin_lock"),
            (94, "spin_unlock"),
            (105, "strtol"),
            (106, "strtoul"),
            (112, "probe_read_user"),
            (113, "probe_read_kernel"),
            (114, "probe_read_user_str"),
            (115, "probe_read_kernel_str"),
            (118, "jiffies64"),
            (125, "ktime_get_boot_ns"),
            (134, "ringbuf_query"),
            (160, "ktime_get_coarse_ns"),
            (164, "for_each_map_elem"),
            (165, "snprintf"),
            (181, "loop"),
        ] {
            assert_eq!(helper_by_id(id).map(|h| h.name), Some(name));
        }
    }
}
