//! Which helpers each program type may call, and which ones ebpfvm implements.
//!
//! Origin: Linux decides per program type with its `get_func_proto` callbacks:
//! `bpf_base_func_proto` (every type; one part needs `CAP_BPF`, one part `CAP_PERFMON`),
//! `bpf_sk_base_func_proto` (socket types), `sk_filter_func_proto` (socket filters;
//! `cg_skb_func_proto` adds to it for cgroup skb programs), `tc_cls_act_func_proto` (tc
//! classifiers and actions), `xdp_func_proto`, the `lwt_*_func_proto` family, the cgroup
//! callbacks (`cgroup_common_func_proto`, `cgroup_current_func_proto` and one per type),
//! `sock_ops_func_proto`, `sk_skb_func_proto`, `sk_msg_func_proto`, and
//! `bpf_tracing_func_proto` extended by the kprobe, tracepoint, perf-event, raw-tracepoint,
//! tracing (`tracing_prog_func_proto`), LSM and syscall callbacks. The lists below were
//! written from the per-program-type helper lists of the eBPF docs (docs.ebpf.io and its
//! data file `data/helpers-functions.yaml`, generated from recent kernels) and the uapi
//! helper descriptions, not from kernel source, and are restricted to the helpers of
//! [`ebpfvm_abi::helpers::HELPERS`] (the helpers of its `UNSUPPORTED` list, e.g.
//! `sk_lookup_tcp`, `sk_storage_get`, `timer_*`, `dynptr_*`, are allowed nowhere).
//!
//! Choices where the sources disagree or are silent, all on the permissive side (a program
//! Linux loads must load here), except where the abi prototype would not fit:
//! - `strtol`/`strtoul` and `ktime_get_coarse_ns` count as privileged base helpers (a
//!   `bpftool feature probe` of a 5.x kernel lists the former for socket filters; the docs
//!   list them only for some types); `get_current_pid_tgid` and `get_ns_current_pid_tgid`
//!   are base helpers, as they are since Linux 6.10.
//! - The cgroup types other than cgroup skb get the helpers of `cgroup_common_func_proto`
//!   and `cgroup_current_func_proto` (Linux 6.1 and later: current task ids and comm,
//!   cgroup ids and classid, `get_local_storage`, `get_retval`, `set_retval`), whatever
//!   their attach type; `bind` is allowed for every cgroup sock_addr program (Linux: the
//!   connect hooks only), `setsockopt`/`getsockopt` for all of them (Linux: most hooks).
//! - `get_attach_cookie` is allowed for raw tracepoints (Linux 6.10 and later).
//! - LSM programs get `tracing_prog_func_proto`'s helpers (`get_func_arg` and friends,
//!   `get_stack`…) and the `BPF_LSM_CGROUP` ones (`get_local_storage`, `get_retval`,
//!   `set_retval`), whatever their attach type.
//! - Lirc mode2 programs keep the base helpers (Linux gives them a narrower list).
//!
//! Left out although Linux allows them, because the abi prototype is another variant's
//! and would accept the wrong argument: `get_socket_cookie` and `xdp_get_buff_len` for
//! tracing programs and `get_socket_cookie` for sk_reuseport programs (they take a socket
//! or `xdp_buff` pointer there, not the context), `setsockopt`/`getsockopt` for
//! cgroup_sockopt and LSM programs (a socket pointer there). Struct_ops, freplace (`ext`)
//! and netfilter programs get the base helpers only (struct_ops' extra helpers take BTF
//! pointers; an `ext` program's helpers are its target's).

use ebpfvm_abi::ProgramType;

use crate::ids::IdSet;

/// `bpf_base_func_proto`: what every program may call, privileged or not.
const BASE: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "map_lookup_percpu_elem",
    "get_prandom_u32",
    "get_smp_processor_id",
    "get_numa_node_id",
    "tail_call",
    "ktime_get_ns",
    "ktime_get_boot_ns",
    "ktime_get_tai_ns",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "for_each_map_elem",
    "loop",
    "strncmp",
];

/// `bpf_base_func_proto`: what needs `CAP_BPF`.
const BASE_CAP_BPF: &[&str] = &[
    "spin_lock",
    "spin_unlock",
    "jiffies64",
    "get_current_pid_tgid",
    "get_ns_current_pid_tgid",
    "strtol",
    "strtoul",
    "ktime_get_coarse_ns",
];

/// `bpf_base_func_proto`: what needs `CAP_PERFMON` (debug output and memory probes).
const BASE_CAP_PERFMON: &[&str] = &[
    "trace_printk",
    "trace_vprintk",
    "snprintf",
    "snprintf_btf",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "get_current_task",
];

/// `bpf_sk_base_func_proto` beyond the base (its `skc_to_*` casts are unsupported).
const SK_BASE: &[&str] = &["ktime_get_coarse_ns"];

/// `sk_filter_func_proto` (socket filters; also part of cgroup skb programs).
const SK_FILTER: &[&str] = &[
    "skb_load_bytes",
    "skb_load_bytes_relative",
    "perf_event_output",
    "get_socket_cookie",
    "get_socket_uid",
];

/// `cg_skb_func_proto` beyond [`SK_FILTER`].
const CG_SKB: &[&str] = &[
    "get_local_storage",
    "skb_cgroup_id",
    "skb_ancestor_cgroup_id",
    "skb_ecn_set_ce",
];

/// `tc_cls_act_func_proto` (tc classifiers and actions).
const TC: &[&str] = &[
    "skb_store_bytes",
    "skb_load_bytes",
    "skb_load_bytes_relative",
    "skb_pull_data",
    "csum_diff",
    "csum_update",
    "csum_level",
    "l3_csum_replace",
    "l4_csum_replace",
    "clone_redirect",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_change_proto",
    "skb_change_type",
    "skb_adjust_room",
    "skb_change_tail",
    "skb_change_head",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "redirect",
    "redirect_neigh",
    "redirect_peer",
    "get_route_realm",
    "get_hash_recalc",
    "set_hash_invalid",
    "set_hash",
    "perf_event_output",
    "skb_under_cgroup",
    "get_socket_cookie",
    "get_socket_uid",
    "fib_lookup",
    "check_mtu",
    "skb_get_xfrm_state",
    "skb_cgroup_classid",
    "skb_cgroup_id",
    "skb_ancestor_cgroup_id",
    "skb_ecn_set_ce",
    "skb_set_tstamp",
];

/// `xdp_func_proto`.
const XDP: &[&str] = &[
    "perf_event_output",
    "csum_diff",
    "xdp_adjust_head",
    "xdp_adjust_meta",
    "xdp_adjust_tail",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "redirect",
    "redirect_map",
    "fib_lookup",
    "check_mtu",
];

/// `lwt_out_func_proto` (every lightweight-tunnel type).
const LWT_OUT: &[&str] = &[
    "skb_load_bytes",
    "skb_pull_data",
    "csum_diff",
    "get_cgroup_classid",
    "get_route_realm",
    "get_hash_recalc",
    "perf_event_output",
    "skb_under_cgroup",
];

/// `lwt_in_func_proto` beyond [`LWT_OUT`].
const LWT_IN: &[&str] = &["lwt_push_encap"];

/// `lwt_xmit_func_proto` beyond [`LWT_OUT`].
const LWT_XMIT: &[&str] = &[
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "redirect",
    "clone_redirect",
    "skb_change_tail",
    "skb_change_head",
    "skb_store_bytes",
    "csum_update",
    "csum_level",
    "l3_csum_replace",
    "l4_csum_replace",
    "set_hash_invalid",
    "lwt_push_encap",
];

/// `lwt_seg6local_func_proto` beyond [`LWT_OUT`].
const LWT_SEG6LOCAL: &[&str] = &[
    "lwt_seg6_store_bytes",
    "lwt_seg6_action",
    "lwt_seg6_adjust_srh",
];

/// `sock_ops_func_proto` (its `sk_storage_*` and `tcp_sock` are unsupported).
const SOCK_OPS: &[&str] = &[
    "setsockopt",
    "getsockopt",
    "sock_ops_cb_flags_set",
    "sock_map_update",
    "sock_hash_update",
    "get_socket_cookie",
    "get_local_storage",
    "perf_event_output",
    "get_netns_cookie",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
];

/// `sk_skb_func_proto` (its socket lookups are unsupported).
const SK_SKB: &[&str] = &[
    "skb_store_bytes",
    "skb_load_bytes",
    "skb_pull_data",
    "skb_change_tail",
    "skb_change_head",
    "skb_adjust_room",
    "get_socket_cookie",
    "get_socket_uid",
    "sk_redirect_map",
    "sk_redirect_hash",
    "perf_event_output",
];

/// `sk_msg_func_proto` (its `sk_storage_*` are unsupported).
const SK_MSG: &[&str] = &[
    "msg_redirect_map",
    "msg_redirect_hash",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "msg_push_data",
    "msg_pop_data",
    "perf_event_output",
    "get_current_uid_gid",
    "get_current_pid_tgid",
    "get_netns_cookie",
    "get_current_cgroup_id",
    "get_current_ancestor_cgroup_id",
    "get_cgroup_classid",
];

/// `cgroup_common_func_proto` and `cgroup_current_func_proto`, plus `perf_event_output`:
/// what every cgroup type but cgroup skb has.
const CGROUP: &[&str] = &[
    "get_local_storage",
    "get_retval",
    "set_retval",
    "get_current_uid_gid",
    "get_current_pid_tgid",
    "get_current_comm",
    "get_current_cgroup_id",
    "get_current_ancestor_cgroup_id",
    "get_cgroup_classid",
    "perf_event_output",
];

/// `sock_filter_func_proto` (cgroup sock programs) beyond [`CGROUP`].
const CG_SOCK: &[&str] = &[
    "get_socket_cookie",
    "get_netns_cookie",
    "ktime_get_coarse_ns",
];

/// `sock_addr_func_proto` (cgroup sock_addr programs) beyond [`CGROUP`].
const CG_SOCK_ADDR: &[&str] = &[
    "bind",
    "get_socket_cookie",
    "get_netns_cookie",
    "setsockopt",
    "getsockopt",
];

/// `cg_sockopt_func_proto` beyond [`CGROUP`] (its `setsockopt`/`getsockopt` take a socket).
const CG_SOCKOPT: &[&str] = &["get_netns_cookie"];

/// `sysctl_func_proto` beyond [`CGROUP`].
const CG_SYSCTL: &[&str] = &[
    "strtol",
    "strtoul",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "ktime_get_coarse_ns",
];

/// `sk_reuseport_func_proto` (its `get_socket_cookie` takes a socket).
const SK_REUSEPORT: &[&str] = &[
    "sk_select_reuseport",
    "skb_load_bytes",
    "skb_load_bytes_relative",
    "ktime_get_coarse_ns",
];

/// `flow_dissector_func_proto`.
const FLOW_DISSECTOR: &[&str] = &["skb_load_bytes"];

/// `sk_lookup_func_proto` (its `sk_assign`/`sk_release` are unsupported).
const SK_LOOKUP: &[&str] = &["perf_event_output"];

/// `lirc_mode2_func_proto`.
const LIRC_MODE2: &[&str] = &["rc_repeat", "rc_keydown", "rc_pointer_rel"];

/// `bpf_tracing_func_proto` (every tracing type).
const TRACING: &[&str] = &[
    "probe_read",
    "probe_read_str",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "probe_write_user",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_current_task",
    "get_current_cgroup_id",
    "get_current_ancestor_cgroup_id",
    "get_ns_current_pid_tgid",
    "current_task_under_cgroup",
    "perf_event_read",
    "perf_event_read_value",
    "send_signal",
    "send_signal_thread",
    "get_func_ip",
    "get_branch_snapshot",
    "trace_printk",
    "trace_vprintk",
    "snprintf",
    "snprintf_btf",
    "jiffies64",
    "ktime_get_coarse_ns",
];

/// `kprobe_prog_func_proto`.
const KPROBE: &[&str] = &[
    "perf_event_output",
    "get_stackid",
    "get_stack",
    "override_return",
    "get_func_ip",
    "get_attach_cookie",
];

/// `tp_prog_func_proto`.
const TRACEPOINT: &[&str] = &[
    "perf_event_output",
    "get_stackid",
    "get_stack",
    "get_attach_cookie",
];

/// `raw_tp_prog_func_proto` (raw tracepoints, writable or not; part of tracing programs).
const RAW_TP: &[&str] = &[
    "perf_event_output",
    "get_stackid",
    "get_stack",
    "get_attach_cookie",
];

/// `tracing_prog_func_proto` beyond [`RAW_TP`] (fentry, fexit, fmod_ret, tp_btf, iter;
/// its socket, `xdp_buff` and seq_file helpers are unsupported or left out).
const TRACING_PROG: &[&str] = &[
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_attach_cookie",
];

/// `bpf_lsm_func_proto` beyond the tracing ones (its storage, `bprm_opts_set` and `ima_*`
/// helpers are unsupported).
const LSM: &[&str] = &["get_local_storage", "get_retval", "set_retval"];

/// `pe_prog_func_proto`.
const PERF_EVENT: &[&str] = &[
    "perf_event_output",
    "get_stackid",
    "get_stack",
    "perf_prog_read_value",
    "read_branch_records",
    "get_attach_cookie",
];

/// `syscall_prog_func_proto` beyond the tracing ones (its `copy_from_user` is unsupported).
const SYSCALL: &[&str] = &[
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "kallsyms_lookup_name",
];

/// The helpers ebpfvm implements.
const IMPLEMENTED: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "map_lookup_percpu_elem",
    "tail_call",
    "ktime_get_ns",
    "ktime_get_boot_ns",
    "ktime_get_coarse_ns",
    "jiffies64",
    "get_prandom_u32",
    "get_smp_processor_id",
    "get_numa_node_id",
    "trace_printk",
    "snprintf",
    "strtol",
    "strtoul",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "perf_event_output",
    "probe_read",
    "probe_read_str",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "spin_lock",
    "spin_unlock",
    "loop",
    "for_each_map_elem",
    "xdp_adjust_head",
    "xdp_adjust_tail",
    "xdp_adjust_meta",
    "skb_load_bytes",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "csum_diff",
    "redirect",
    "redirect_map",
];

const IMPLEMENTED_SET: IdSet = IdSet::of_names(&[IMPLEMENTED]);

/// The helper sets of some program types.
#[derive(Debug)]
pub(crate) struct TypeHelpers {
    /// The program types.
    types: &'static [ProgramType],
    /// What a privileged load (`CAP_BPF` and `CAP_PERFMON`) may call.
    privileged: IdSet,
    /// What an unprivileged load may call.
    unprivileged: IdSet,
    /// `privileged` and implemented: what a run may call.
    pub(crate) runnable: IdSet,
}

/// The helper sets of `types`: the base helpers and the groups `own`.
const fn entry(types: &'static [ProgramType], own: &[&[&str]]) -> TypeHelpers {
    let own = IdSet::of_names(own);
    let privileged = IdSet::of_names(&[BASE, BASE_CAP_BPF, BASE_CAP_PERFMON]).or(own);
    TypeHelpers {
        types,
        privileged,
        unprivileged: IdSet::of_names(&[BASE]).or(own),
        runnable: privileged.and(IMPLEMENTED_SET),
    }
}

/// Program types → their own helpers (besides the base ones), one row per Linux
/// `get_func_proto` callback.
static TABLE: &[TypeHelpers] = &[
    entry(&[ProgramType::SocketFilter], &[SK_FILTER]),
    entry(&[ProgramType::CgroupSkb], &[SK_FILTER, CG_SKB]),
    entry(&[ProgramType::SchedCls, ProgramType::SchedAct], &[TC]),
    entry(&[ProgramType::Xdp], &[XDP]),
    entry(&[ProgramType::LwtIn], &[LWT_OUT, LWT_IN]),
    entry(&[ProgramType::LwtOut], &[LWT_OUT]),
    entry(&[ProgramType::LwtXmit], &[LWT_OUT, LWT_XMIT]),
    entry(&[ProgramType::LwtSeg6local], &[LWT_OUT, LWT_SEG6LOCAL]),
    entry(&[ProgramType::SockOps], &[SK_BASE, SOCK_OPS]),
    entry(&[ProgramType::SkSkb], &[SK_BASE, SK_SKB]),
    entry(&[ProgramType::SkMsg], &[SK_BASE, SK_MSG]),
    entry(&[ProgramType::CgroupSock], &[CGROUP, CG_SOCK]),
    entry(&[ProgramType::CgroupSockAddr], &[CGROUP, CG_SOCK_ADDR]),
    entry(&[ProgramType::CgroupSockopt], &[CGROUP, CG_SOCKOPT]),
    entry(&[ProgramType::CgroupSysctl], &[CGROUP, CG_SYSCTL]),
    entry(&[ProgramType::CgroupDevice], &[CGROUP]),
    entry(&[ProgramType::SkReuseport], &[SK_REUSEPORT]),
    entry(&[ProgramType::FlowDissector], &[SK_BASE, FLOW_DISSECTOR]),
    entry(&[ProgramType::SkLookup], &[SK_BASE, SK_LOOKUP]),
    entry(&[ProgramType::LircMode2], &[LIRC_MODE2]),
    entry(&[ProgramType::Kprobe], &[TRACING, KPROBE]),
    entry(&[ProgramType::Tracepoint], &[TRACING, TRACEPOINT]),
    entry(
        &[
            ProgramType::RawTracepoint,
            ProgramType::RawTracepointWritable,
        ],
        &[TRACING, RAW_TP],
    ),
    entry(&[ProgramType::Tracing], &[TRACING, RAW_TP, TRACING_PROG]),
    entry(&[ProgramType::Lsm], &[TRACING, RAW_TP, TRACING_PROG, LSM]),
    entry(&[ProgramType::PerfEvent], &[TRACING, PERF_EVENT]),
    entry(&[ProgramType::Syscall], &[TRACING, SYSCALL]),
];

/// Every other type (`unspec`, the type of raw-memory programs an embedder runs;
/// `struct_ops`, `ext`, `netfilter`): the base helpers only.
static DEFAULT: TypeHelpers = entry(&[], &[]);

/// The helper sets of `prog_type`.
pub(crate) fn type_helpers(prog_type: ProgramType) -> &'static TypeHelpers {
    TABLE
        .iter()
        .find(|e| e.types.contains(&prog_type))
        .unwrap_or(&DEFAULT)
}

/// Whether Linux lets a privileged load (`CAP_BPF` and `CAP_PERFMON`, as root has) of
/// `prog_type` call helper `id`: the per-type subset of Linux's helpers. Helpers
/// ebpfvm does not implement are answered too (see [`implemented`]).
pub fn allowed(prog_type: ProgramType, id: i64) -> bool {
    allowed_as(prog_type, id, true)
}

/// Like [`allowed`], for a privileged or an unprivileged load (unprivileged: the base
/// helpers without the `CAP_BPF` and `CAP_PERFMON` parts, plus the type's own).
pub fn allowed_as(prog_type: ProgramType, id: i64, privileged: bool) -> bool {
    let e = type_helpers(prog_type);
    if privileged {
        e.privileged.contains(id)
    } else {
        e.unprivileged.contains(id)
    }
}

/// Whether ebpfvm implements helper `id`.
pub fn implemented(id: i64) -> bool {
    IMPLEMENTED_SET.contains(id)
}

/// The ids ebpfvm implements, ascending.
pub fn implemented_ids() -> impl Iterator<Item = i64> {
    (0..crate::ids::ID_LIMIT as i64).filter(|&id| implemented(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::find;
    use ebpfvm_abi::helpers::{HELPERS, UNSUPPORTED};
    use ProgramType::*;

    fn may(t: ProgramType, name: &str) -> bool {
        allowed(
            t,
            find(name).unwrap_or_else(|| panic!("{name} not in the abi table")),
        )
    }

    #[test]
    fn pairs_checked_in_the_docs() {
        // tc (`tc_cls_act_func_proto`).
        for name in [
            "clone_redirect",
            "skb_vlan_push",
            "skb_vlan_pop",
            "skb_change_type",
            "skb_adjust_room",
            "get_hash_recalc",
            "set_hash",
            "skb_under_cgroup",
            "csum_update",
            "csum_level",
            "fib_lookup",
            "check_mtu",
            "skb_get_tunnel_key",
            "skb_set_tunnel_opt",
            "redirect_neigh",
            "redirect_peer",
            "skb_cgroup_classid",
            "skb_set_tstamp",
        ] {
            assert!(may(SchedCls, name), "sched_cls {name}");
            assert!(may(SchedAct, name), "sched_act {name}");
        }
        assert!(!may(SchedCls, "redirect_map"));
        assert!(!may(SchedCls, "xdp_load_bytes"));
        // xdp (`xdp_func_proto`).
        for name in [
            "fib_lookup",
            "check_mtu",
            "redirect_map",
            "xdp_load_bytes",
            "xdp_get_buff_len",
        ] {
            assert!(may(Xdp, name), "xdp {name}");
        }
        assert!(!may(Xdp, "clone_redirect"));
        assert!(!may(Xdp, "skb_vlan_push"));
        // Socket filters and cgroup skb.
        assert!(may(SocketFilter, "get_socket_cookie"));
        assert!(may(SocketFilter, "skb_load_bytes_relative"));
        assert!(!may(SocketFilter, "get_local_storage"));
        assert!(!may(SocketFilter, "skb_cgroup_id"));
        assert!(may(CgroupSkb, "get_local_storage"));
        assert!(may(CgroupSkb, "skb_ecn_set_ce"));
        assert!(may(CgroupSkb, "get_socket_uid"));
        assert!(!may(CgroupSkb, "skb_store_bytes"));
        // Tracing.
        for t in [Kprobe, Tracepoint, RawTracepoint, PerfEvent, Tracing] {
            for name in [
                "get_stackid",
                "get_stack",
                "get_current_cgroup_id",
                "send_signal",
            ] {
                assert!(may(t, name), "{t} {name}");
            }
        }
        assert!(may(Kprobe, "override_return"));
        assert!(!may(Tracepoint, "override_return"));
        assert!(may(Kprobe, "get_attach_cookie"));
        assert!(may(PerfEvent, "read_branch_records"));
        assert!(!may(Kprobe, "read_branch_records"));
        assert!(may(Tracing, "get_func_arg"));
        assert!(!may(Kprobe, "get_func_arg"));
        assert!(!may(Tracing, "get_socket_cookie"), "socket-pointer variant");
        assert!(!may(Xdp, "get_stackid"));
        assert!(!may(Xdp, "send_signal"));
        // Lightweight tunnels.
        assert!(may(LwtIn, "lwt_push_encap"));
        assert!(!may(LwtOut, "lwt_push_encap"));
        assert!(may(LwtXmit, "clone_redirect"));
        assert!(!may(LwtIn, "skb_store_bytes"));
        assert!(may(LwtSeg6local, "lwt_seg6_action"));
        assert!(may(LwtOut, "skb_pull_data"));
        // Socket types.
        assert!(may(SockOps, "setsockopt"));
        assert!(may(SockOps, "sock_hash_update"));
        assert!(may(SockOps, "store_hdr_opt"));
        assert!(!may(SockOps, "skb_load_bytes"));
        assert!(may(SkSkb, "sk_redirect_hash"));
        assert!(may(SkSkb, "skb_adjust_room"));
        assert!(!may(SkSkb, "msg_redirect_map"));
        assert!(may(SkMsg, "msg_push_data"));
        assert!(may(SkMsg, "msg_redirect_hash"));
        assert!(!may(SkMsg, "sk_redirect_map"));
        assert!(may(SkReuseport, "sk_select_reuseport"));
        assert!(
            !may(SkReuseport, "get_socket_cookie"),
            "socket-pointer variant"
        );
        assert!(may(FlowDissector, "skb_load_bytes"));
        assert!(!may(FlowDissector, "skb_store_bytes"));
        // Cgroup types.
        assert!(may(CgroupSockAddr, "bind"));
        assert!(!may(CgroupSock, "bind"));
        assert!(may(CgroupSock, "get_netns_cookie"));
        assert!(may(CgroupSysctl, "sysctl_get_name"));
        assert!(!may(CgroupDevice, "sysctl_get_name"));
        assert!(may(CgroupDevice, "get_local_storage"));
        assert!(may(CgroupSockopt, "get_retval"));
        assert!(!may(CgroupSockopt, "setsockopt"), "socket-pointer variant");
        // Others.
        assert!(may(LircMode2, "rc_keydown"));
        assert!(may(Syscall, "sys_bpf"));
        assert!(!may(Kprobe, "sys_bpf"));
        assert!(may(Lsm, "get_func_arg"));
        assert!(!may(Netfilter, "perf_event_output"));
    }

    #[test]
    fn every_table_helper_is_allowed_somewhere_and_unsupported_ones_nowhere() {
        for h in HELPERS {
            assert!(
                ProgramType::ALL
                    .iter()
                    .any(|&t| allowed(t, i64::from(h.id))),
                "{} is allowed for no program type",
                h.name
            );
        }
        for u in UNSUPPORTED {
            assert!(
                ProgramType::ALL
                    .iter()
                    .all(|&t| !allowed(t, i64::from(u.id))),
                "{} is unsupported but allowed",
                u.name
            );
        }
    }

    #[test]
    fn unprivileged_base_and_capabilities() {
        assert!(allowed_as(SocketFilter, find("strncmp").unwrap(), false));
        assert!(allowed_as(
            SocketFilter,
            find("ktime_get_tai_ns").unwrap(),
            false
        ));
        assert!(!allowed_as(
            SocketFilter,
            find("trace_vprintk").unwrap(),
            false
        ));
        assert!(allowed_as(
            SocketFilter,
            find("trace_vprintk").unwrap(),
            true
        ));
        assert!(!allowed_as(
            Xdp,
            find("get_ns_current_pid_tgid").unwrap(),
            false
        ));
        assert!(allowed_as(
            Xdp,
            find("get_ns_current_pid_tgid").unwrap(),
            true
        ));
        assert!(allowed_as(SchedCls, find("clone_redirect").unwrap(), false));
    }
}
