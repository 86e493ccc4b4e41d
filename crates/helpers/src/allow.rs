//! Which helpers each program type may call, and which ones ebpfvm implements.
//!
//! Origin: Linux decides per program type with its `get_func_proto` callbacks:
//! `bpf_base_func_proto` (every type; one part needs `CAP_BPF`, one part `CAP_PERFMON`),
//! `sk_filter_func_proto` (socket filters; `cg_skb_func_proto` adds socket-storage helpers
//! to it for cgroup skb programs), `tc_cls_act_func_proto` (tc classifiers and actions),
//! `xdp_func_proto`, and `bpf_tracing_func_proto` extended by the kprobe, tracepoint,
//! perf-event and raw-tracepoint callbacks. The lists below were written from the
//! per-program-type helper lists of the eBPF docs (docs.ebpf.io, generated from recent
//! kernels) and the uapi helper descriptions, not from kernel source, and are restricted
//! to the helpers of [`ebpfvm_abi::helpers::HELPERS`]. Two choices where the sources
//! disagree or are silent, both on the permissive side (a program Linux loads must load
//! here): `strtol`/`strtoul` and `ktime_get_coarse_ns` count as privileged base helpers
//! (a `bpftool feature probe` of a 5.x kernel lists the former for socket filters; the docs
//! list them only for some types); `get_current_pid_tgid` is a base helper, as it is since
//! Linux 6.10.

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
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "for_each_map_elem",
    "loop",
];

/// `bpf_base_func_proto`: what needs `CAP_BPF`.
const BASE_CAP_BPF: &[&str] = &[
    "spin_lock",
    "spin_unlock",
    "jiffies64",
    "get_current_pid_tgid",
    "strtol",
    "strtoul",
    "ktime_get_coarse_ns",
];

/// `bpf_base_func_proto`: what needs `CAP_PERFMON` (debug output and memory probes).
const BASE_CAP_PERFMON: &[&str] = &[
    "trace_printk",
    "snprintf",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "get_current_task",
];

/// `sk_filter_func_proto` (socket filters and cgroup skb programs).
const SK_FILTER: &[&str] = &[
    "skb_load_bytes",
    "perf_event_output",
    "get_socket_cookie",
    "get_socket_uid",
];

/// `tc_cls_act_func_proto` (tc classifiers and actions).
const TC: &[&str] = &[
    "skb_store_bytes",
    "skb_load_bytes",
    "skb_pull_data",
    "csum_diff",
    "csum_update",
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
    "get_route_realm",
    "get_hash_recalc",
    "set_hash_invalid",
    "set_hash",
    "perf_event_output",
    "skb_under_cgroup",
    "get_socket_cookie",
    "get_socket_uid",
];

/// `xdp_func_proto`.
const XDP: &[&str] = &[
    "perf_event_output",
    "csum_diff",
    "xdp_adjust_head",
    "xdp_adjust_meta",
    "xdp_adjust_tail",
    "redirect",
    "redirect_map",
];

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
    "current_task_under_cgroup",
    "perf_event_read",
    "perf_event_read_value",
    "trace_printk",
    "snprintf",
    "jiffies64",
    "ktime_get_coarse_ns",
];

/// `kprobe_prog_func_proto`.
const KPROBE: &[&str] = &["perf_event_output", "get_stackid", "override_return"];

/// `tp_prog_func_proto` and `raw_tp_prog_func_proto`.
const TRACEPOINT: &[&str] = &["perf_event_output", "get_stackid"];

/// `pe_prog_func_proto`.
const PERF_EVENT: &[&str] = &["perf_event_output", "get_stackid", "perf_prog_read_value"];

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

const fn entry(types: &'static [ProgramType], own: &[&str]) -> TypeHelpers {
    let privileged = IdSet::of_names(&[BASE, BASE_CAP_BPF, BASE_CAP_PERFMON, own]);
    TypeHelpers {
        types,
        privileged,
        unprivileged: IdSet::of_names(&[BASE, own]),
        runnable: privileged.and(IMPLEMENTED_SET),
    }
}

/// Program types → their own helpers (besides the base ones), one row per Linux
/// `get_func_proto` callback.
static TABLE: &[TypeHelpers] = &[
    entry(
        &[ProgramType::SocketFilter, ProgramType::CgroupSkb],
        SK_FILTER,
    ),
    entry(&[ProgramType::SchedCls, ProgramType::SchedAct], TC),
    entry(&[ProgramType::Xdp], XDP),
    entry(&[ProgramType::Kprobe], &concat_kprobe()),
    entry(
        &[
            ProgramType::Tracepoint,
            ProgramType::RawTracepoint,
            ProgramType::RawTracepointWritable,
            ProgramType::Tracing,
        ],
        &concat_tracepoint(),
    ),
    entry(&[ProgramType::PerfEvent], &concat_perf_event()),
];

/// Every other type (including `unspec`, the type of raw-memory programs an embedder runs):
/// the base helpers only.
static DEFAULT: TypeHelpers = entry(&[], &[]);

const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    assert!(i + j == N, "concat length");
    out
}

const fn concat_kprobe() -> [&'static str; TRACING.len() + KPROBE.len()] {
    concat(TRACING, KPROBE)
}

const fn concat_tracepoint() -> [&'static str; TRACING.len() + TRACEPOINT.len()] {
    concat(TRACING, TRACEPOINT)
}

const fn concat_perf_event() -> [&'static str; TRACING.len() + PERF_EVENT.len()] {
    concat(TRACING, PERF_EVENT)
}

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
