//! The per-program-type helper subsets (checked against docs.ebpf.io's per-type lists).

use ebpfvm_abi::helpers::HELPERS;
use ebpfvm_abi::{HelperHost, ProgramType, Trap};
use ebpfvm_helpers::{allowed, allowed_as, implemented, implemented_ids, CtxKind};

use crate::*;

fn may(t: ProgramType, name: &str) -> bool {
    allowed(t, id(name))
}

#[test]
fn packet_helpers_by_type() {
    use ProgramType::*;
    assert!(may(SocketFilter, "skb_load_bytes"));
    assert!(may(CgroupSkb, "skb_load_bytes"));
    assert!(may(SchedCls, "skb_load_bytes"));
    assert!(!may(Xdp, "skb_load_bytes"));
    assert!(!may(SocketFilter, "skb_store_bytes"));
    assert!(may(SchedAct, "skb_store_bytes"));
    assert!(may(SchedCls, "l3_csum_replace"));
    assert!(!may(Xdp, "l4_csum_replace"));
    assert!(may(Xdp, "csum_diff"));
    assert!(!may(SocketFilter, "csum_diff"));
    assert!(may(Xdp, "xdp_adjust_head"));
    assert!(!may(SchedCls, "xdp_adjust_head"));
    assert!(may(Xdp, "redirect_map"));
    assert!(!may(SchedCls, "redirect_map"));
    assert!(may(SchedCls, "redirect"));
    assert!(!may(SocketFilter, "redirect"));
    assert!(!may(Kprobe, "skb_load_bytes"));
}

#[test]
fn tracing_helpers_by_type() {
    use ProgramType::*;
    for t in [Kprobe, Tracepoint, PerfEvent, RawTracepoint] {
        for name in [
            "probe_read",
            "probe_read_str",
            "probe_read_kernel",
            "get_current_comm",
            "get_current_uid_gid",
            "perf_event_output",
            "trace_printk",
        ] {
            assert!(may(t, name), "{t} {name}");
        }
    }
    // The legacy probe reads and the task helpers are tracing-only; the _kernel/_user
    // probes and get_current_pid_tgid (Linux 6.10) are privileged base helpers.
    assert!(!may(Xdp, "probe_read"));
    assert!(!may(Xdp, "get_current_comm"));
    assert!(!may(SocketFilter, "get_current_uid_gid"));
    assert!(may(Xdp, "probe_read_kernel"));
    assert!(may(Xdp, "get_current_pid_tgid"));
    assert!(may(Xdp, "trace_printk"));
    assert!(may(SocketFilter, "perf_event_output"));
    assert!(!may(Unspec, "perf_event_output"));
    assert!(may(PerfEvent, "perf_prog_read_value"));
    assert!(!may(Kprobe, "perf_prog_read_value"));
    assert!(may(Kprobe, "override_return"));
}

#[test]
fn base_helpers_for_every_type() {
    for &t in ProgramType::ALL {
        for name in [
            "map_lookup_elem",
            "map_update_elem",
            "tail_call",
            "ktime_get_ns",
            "get_prandom_u32",
            "ringbuf_output",
            "loop",
            "for_each_map_elem",
            "spin_lock",
            "jiffies64",
            "snprintf",
        ] {
            assert!(may(t, name), "{t} {name}");
        }
    }
}

#[test]
fn unprivileged_loads_lose_the_capability_parts() {
    use ProgramType::*;
    assert!(allowed_as(SocketFilter, id("map_lookup_elem"), false));
    assert!(allowed_as(SocketFilter, id("skb_load_bytes"), false));
    assert!(allowed_as(SocketFilter, id("ringbuf_reserve"), false));
    assert!(!allowed_as(SocketFilter, id("trace_printk"), false));
    assert!(!allowed_as(SocketFilter, id("spin_lock"), false));
    assert!(!allowed_as(SocketFilter, id("probe_read_kernel"), false));
    assert!(allowed_as(SocketFilter, id("trace_printk"), true));
}

#[test]
fn implemented_set() {
    for name in [
        "map_lookup_elem",
        "trace_printk",
        "snprintf",
        "loop",
        "xdp_adjust_meta",
        "redirect_map",
        "probe_read_user_str",
        "csum_diff",
    ] {
        assert!(implemented(id(name)), "{name}");
    }
    for name in [
        "get_stackid",
        "skb_vlan_push",
        "get_socket_cookie",
        "override_return",
    ] {
        assert!(!implemented(id(name)), "{name}");
    }
    assert!(!implemented(0));
    assert!(!implemented(-1));
    assert!(!implemented(100_000));
    let ids: Vec<i64> = implemented_ids().collect();
    assert!(ids.len() >= 47);
    assert!(ids
        .iter()
        .all(|&i| HELPERS.iter().any(|h| i64::from(h.id) == i)));
}

#[test]
fn has_helper_is_implemented_and_allowed() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut xdp = fx.run(ProgramType::Xdp, 0, CtxKind::Xdp);
    assert!(xdp.has_helper(id("xdp_adjust_head")));
    assert!(!xdp.has_helper(id("skb_load_bytes")));
    assert!(
        !xdp.has_helper(id("get_socket_cookie")),
        "allowed for tc but not implemented"
    );
    let sk = fx.run(ProgramType::SocketFilter, 0, CtxKind::Skb);
    assert!(sk.has_helper(id("skb_load_bytes")));
    assert!(
        !sk.has_helper(id("get_socket_cookie")),
        "allowed but not implemented"
    );
    assert_eq!(
        call(&mut xdp, &mut env, "skb_load_bytes", &[0, 0, 0, 1]),
        Err(Trap::UnknownHelper {
            id: id("skb_load_bytes")
        })
    );
    assert_eq!(
        xdp.call_helper(9999, [0; 5], &mut env),
        Err(Trap::UnknownHelper { id: 9999 })
    );
    let unspec = fx.plain();
    assert!(unspec.has_helper(id("map_lookup_elem")));
    assert!(!unspec.has_helper(id("skb_load_bytes")));
    assert!(!unspec.has_helper(id("get_current_comm")));
}
