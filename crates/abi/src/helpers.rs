//! Linux helper functions: ids, names and prototypes, defined once.
//!
//! Origin: the ids and names are those of `__BPF_FUNC_MAPPER` / `enum bpf_func_id` in Linux
//! `include/uapi/linux/bpf.h` (checked against the explicit-id form `FN(name, id, ##ctx)`
//! introduced in Linux 6.1, list ending at `cgrp_storage_delete` = 211). The prototypes
//! (return kind, argument kinds, `gpl_only`, `changes_pkt_data`) follow the kernel's
//! documented helper semantics (the uapi helper descriptions and the argument kinds of its
//! `struct bpf_func_proto` definitions), reduced to what a user-space verifier needs; they
//! were written from that documentation, not transcribed from kernel source, and are still
//! to be checked one by one against the running kernel's verifier by the verifier issue's
//! kernel-differential tests (the `gpl_only` values especially). The table holds ids 1–60
//! plus the helpers ebpfvm implements or plans to (map queue ops, `probe_read_*`, `strtol`,
//! `jiffies64`, the ring buffer, `for_each_map_elem`, `snprintf`, `loop`, …); names are given
//! without the `bpf_` prefix, as in the uapi list.

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
    17 get_cgroup_classid: Integer (Ctx) NONE;
    18 skb_vlan_push: Integer (Ctx, Anything, Anything) PKT;
    19 skb_vlan_pop: Integer (Ctx) PKT;
    20 skb_get_tunnel_key: Integer (Ctx, UninitMem, ConstSize, Anything) NONE;
    21 skb_set_tunnel_key: Integer (Ctx, Mem, ConstSize, Anything) NONE;
    22 perf_event_read: Integer (ConstMapPtr, Anything) NONE;
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
    46 get_socket_cookie: Integer (Ctx) NONE;
    47 get_socket_uid: Integer (Ctx) NONE;
    48 set_hash: Integer (Ctx, Anything) NONE;
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
    65 xdp_adjust_tail: Integer (Ctx, Anything) PKT;
    87 map_push_elem: Integer (ConstMapPtr, MapValue, Anything) NONE;
    88 map_pop_elem: Integer (ConstMapPtr, UninitMapValue) NONE;
    89 map_peek_elem: Integer (ConstMapPtr, UninitMapValue) NONE;
    93 spin_lock: Void (SpinLock) NONE;
    94 spin_unlock: Void (SpinLock) NONE;
    105 strtol: Integer (Mem, ConstSize, Anything, LongPtr) NONE;
    106 strtoul: Integer (Mem, ConstSize, Anything, LongPtr) NONE;
    112 probe_read_user: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    113 probe_read_kernel: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    114 probe_read_user_str: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    115 probe_read_kernel_str: Integer (UninitMem, ConstSizeOrZero, Anything) GPL;
    118 jiffies64: Integer () NONE;
    125 ktime_get_boot_ns: Integer () NONE;
    130 ringbuf_output: Integer (ConstMapPtr, Mem, ConstSizeOrZero, Anything) NONE;
    131 ringbuf_reserve: AllocMemOrNull (ConstMapPtr, ConstAllocSizeOrZero, Anything) NONE;
    132 ringbuf_submit: Void (AllocMem, Anything) NONE;
    133 ringbuf_discard: Void (AllocMem, Anything) NONE;
    134 ringbuf_query: Integer (ConstMapPtr, Anything) NONE;
    160 ktime_get_coarse_ns: Integer () NONE;
    164 for_each_map_elem: Integer (ConstMapPtr, Callback, StackOrNull, Anything) NONE;
    165 snprintf: Integer (UninitMemOrNull, ConstSizeOrZero, ConstStr, MemOrNull, ConstSizeOrZero) GPL;
    181 loop: Integer (Anything, Callback, StackOrNull, Anything) NONE;
    195 map_lookup_percpu_elem: MapValueOrNull (ConstMapPtr, MapKey, Anything) NONE;
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
        assert!(helper_by_id(61).is_none());
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
