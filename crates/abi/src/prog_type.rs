//! Program types, attach types and map types, with their Linux uapi numbers.
//!
//! Origin: `enum bpf_prog_type`, `enum bpf_attach_type` and `enum bpf_map_type` in Linux
//! `include/uapi/linux/bpf.h` (numbers are positions in those enums; the lists end at
//! `BPF_PROG_TYPE_NETFILTER`, `BPF_TRACE_UPROBE_SESSION` and `BPF_MAP_TYPE_ARENA`). The short
//! names are the uapi names in lower case without the `BPF_PROG_TYPE_` / `BPF_` /
//! `BPF_MAP_TYPE_` prefix, as bpftool and libbpf's `libbpf_bpf_*_type_str` print them.

use core::fmt;

/// Defines a uapi enum: variants with their number, uapi name and short name, plus the
/// lookup functions.
macro_rules! uapi_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $num:literal, $uapi:literal, $short:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $num, )*
        }

        impl $name {
            /// Every value, in uapi order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The Linux uapi number.
            pub const fn number(self) -> u32 {
                self as u32
            }

            /// The value with this uapi number, if known.
            pub const fn from_number(n: u32) -> Option<$name> {
                match n {
                    $( $num => Some($name::$variant), )*
                    _ => None,
                }
            }

            /// The uapi constant's name, e.g. `BPF_PROG_TYPE_XDP`.
            pub const fn uapi_name(self) -> &'static str {
                match self {
                    $( $name::$variant => $uapi, )*
                }
            }

            /// The short name bpftool prints, e.g. `xdp`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $short, )*
                }
            }

            /// Looks a value up by its short name or its uapi name (ASCII case-insensitive),
            /// or by its number written in decimal.
            pub fn from_name(s: &str) -> Option<$name> {
                if let Ok(n) = s.parse::<u32>() {
                    return $name::from_number(n);
                }
                $name::ALL.iter().copied().find(|v| {
                    v.name().eq_ignore_ascii_case(s) || v.uapi_name().eq_ignore_ascii_case(s)
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

uapi_enum! {
    /// A program type (`enum bpf_prog_type`): which context a program gets and which helpers
    /// it may call.
    pub enum ProgramType {
        /// `BPF_PROG_TYPE_UNSPEC`: not known (a section name that names no type).
        Unspec = 0, "BPF_PROG_TYPE_UNSPEC", "unspec";
        /// `BPF_PROG_TYPE_SOCKET_FILTER`.
        SocketFilter = 1, "BPF_PROG_TYPE_SOCKET_FILTER", "socket_filter";
        /// `BPF_PROG_TYPE_KPROBE` (kprobes, uprobes, USDT).
        Kprobe = 2, "BPF_PROG_TYPE_KPROBE", "kprobe";
        /// `BPF_PROG_TYPE_SCHED_CLS` (tc classifier, tcx, netkit).
        SchedCls = 3, "BPF_PROG_TYPE_SCHED_CLS", "sched_cls";
        /// `BPF_PROG_TYPE_SCHED_ACT` (tc action).
        SchedAct = 4, "BPF_PROG_TYPE_SCHED_ACT", "sched_act";
        /// `BPF_PROG_TYPE_TRACEPOINT`.
        Tracepoint = 5, "BPF_PROG_TYPE_TRACEPOINT", "tracepoint";
        /// `BPF_PROG_TYPE_XDP`.
        Xdp = 6, "BPF_PROG_TYPE_XDP", "xdp";
        /// `BPF_PROG_TYPE_PERF_EVENT`.
        PerfEvent = 7, "BPF_PROG_TYPE_PERF_EVENT", "perf_event";
        /// `BPF_PROG_TYPE_CGROUP_SKB`.
        CgroupSkb = 8, "BPF_PROG_TYPE_CGROUP_SKB", "cgroup_skb";
        /// `BPF_PROG_TYPE_CGROUP_SOCK`.
        CgroupSock = 9, "BPF_PROG_TYPE_CGROUP_SOCK", "cgroup_sock";
        /// `BPF_PROG_TYPE_LWT_IN`.
        LwtIn = 10, "BPF_PROG_TYPE_LWT_IN", "lwt_in";
        /// `BPF_PROG_TYPE_LWT_OUT`.
        LwtOut = 11, "BPF_PROG_TYPE_LWT_OUT", "lwt_out";
        /// `BPF_PROG_TYPE_LWT_XMIT`.
        LwtXmit = 12, "BPF_PROG_TYPE_LWT_XMIT", "lwt_xmit";
        /// `BPF_PROG_TYPE_SOCK_OPS`.
        SockOps = 13, "BPF_PROG_TYPE_SOCK_OPS", "sock_ops";
        /// `BPF_PROG_TYPE_SK_SKB`.
        SkSkb = 14, "BPF_PROG_TYPE_SK_SKB", "sk_skb";
        /// `BPF_PROG_TYPE_CGROUP_DEVICE`.
        CgroupDevice = 15, "BPF_PROG_TYPE_CGROUP_DEVICE", "cgroup_device";
        /// `BPF_PROG_TYPE_SK_MSG`.
        SkMsg = 16, "BPF_PROG_TYPE_SK_MSG", "sk_msg";
        /// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
        RawTracepoint = 17, "BPF_PROG_TYPE_RAW_TRACEPOINT", "raw_tracepoint";
        /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
        CgroupSockAddr = 18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR", "cgroup_sock_addr";
        /// `BPF_PROG_TYPE_LWT_SEG6LOCAL`.
        LwtSeg6local = 19, "BPF_PROG_TYPE_LWT_SEG6LOCAL", "lwt_seg6local";
        /// `BPF_PROG_TYPE_LIRC_MODE2`.
        LircMode2 = 20, "BPF_PROG_TYPE_LIRC_MODE2", "lirc_mode2";
        /// `BPF_PROG_TYPE_SK_REUSEPORT`.
        SkReuseport = 21, "BPF_PROG_TYPE_SK_REUSEPORT", "sk_reuseport";
        /// `BPF_PROG_TYPE_FLOW_DISSECTOR`.
        FlowDissector = 22, "BPF_PROG_TYPE_FLOW_DISSECTOR", "flow_dissector";
        /// `BPF_PROG_TYPE_CGROUP_SYSCTL`.
        CgroupSysctl = 23, "BPF_PROG_TYPE_CGROUP_SYSCTL", "cgroup_sysctl";
        /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`.
        RawTracepointWritable = 24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE",
            "raw_tracepoint_writable";
        /// `BPF_PROG_TYPE_CGROUP_SOCKOPT`.
        CgroupSockopt = 25, "BPF_PROG_TYPE_CGROUP_SOCKOPT", "cgroup_sockopt";
        /// `BPF_PROG_TYPE_TRACING` (fentry, fexit, fmod_ret, tp_btf, iter).
        Tracing = 26, "BPF_PROG_TYPE_TRACING", "tracing";
        /// `BPF_PROG_TYPE_STRUCT_OPS`.
        StructOps = 27, "BPF_PROG_TYPE_STRUCT_OPS", "struct_ops";
        /// `BPF_PROG_TYPE_EXT` (freplace).
        Ext = 28, "BPF_PROG_TYPE_EXT", "ext";
        /// `BPF_PROG_TYPE_LSM`.
        Lsm = 29, "BPF_PROG_TYPE_LSM", "lsm";
        /// `BPF_PROG_TYPE_SK_LOOKUP`.
        SkLookup = 30, "BPF_PROG_TYPE_SK_LOOKUP", "sk_lookup";
        /// `BPF_PROG_TYPE_SYSCALL`.
        Syscall = 31, "BPF_PROG_TYPE_SYSCALL", "syscall";
        /// `BPF_PROG_TYPE_NETFILTER`.
        Netfilter = 32, "BPF_PROG_TYPE_NETFILTER", "netfilter";
    }
}

uapi_enum! {
    /// An attach type (`enum bpf_attach_type`): where a program is attached, given at load
    /// time as the "expected attach type" for the program types that need one.
    pub enum AttachType {
        /// `BPF_CGROUP_INET_INGRESS`.
        CgroupInetIngress = 0, "BPF_CGROUP_INET_INGRESS", "cgroup_inet_ingress";
        /// `BPF_CGROUP_INET_EGRESS`.
        CgroupInetEgress = 1, "BPF_CGROUP_INET_EGRESS", "cgroup_inet_egress";
        /// `BPF_CGROUP_INET_SOCK_CREATE`.
        CgroupInetSockCreate = 2, "BPF_CGROUP_INET_SOCK_CREATE", "cgroup_inet_sock_create";
        /// `BPF_CGROUP_SOCK_OPS`.
        CgroupSockOps = 3, "BPF_CGROUP_SOCK_OPS", "cgroup_sock_ops";
        /// `BPF_SK_SKB_STREAM_PARSER`.
        SkSkbStreamParser = 4, "BPF_SK_SKB_STREAM_PARSER", "sk_skb_stream_parser";
        /// `BPF_SK_SKB_STREAM_VERDICT`.
        SkSkbStreamVerdict = 5, "BPF_SK_SKB_STREAM_VERDICT", "sk_skb_stream_verdict";
        /// `BPF_CGROUP_DEVICE`.
        CgroupDevice = 6, "BPF_CGROUP_DEVICE", "cgroup_device";
        /// `BPF_SK_MSG_VERDICT`.
        SkMsgVerdict = 7, "BPF_SK_MSG_VERDICT", "sk_msg_verdict";
        /// `BPF_CGROUP_INET4_BIND`.
        CgroupInet4Bind = 8, "BPF_CGROUP_INET4_BIND", "cgroup_inet4_bind";
        /// `BPF_CGROUP_INET6_BIND`.
        CgroupInet6Bind = 9, "BPF_CGROUP_INET6_BIND", "cgroup_inet6_bind";
        /// `BPF_CGROUP_INET4_CONNECT`.
        CgroupInet4Connect = 10, "BPF_CGROUP_INET4_CONNECT", "cgroup_inet4_connect";
        /// `BPF_CGROUP_INET6_CONNECT`.
        CgroupInet6Connect = 11, "BPF_CGROUP_INET6_CONNECT", "cgroup_inet6_connect";
        /// `BPF_CGROUP_INET4_POST_BIND`.
        CgroupInet4PostBind = 12, "BPF_CGROUP_INET4_POST_BIND", "cgroup_inet4_post_bind";
        /// `BPF_CGROUP_INET6_POST_BIND`.
        CgroupInet6PostBind = 13, "BPF_CGROUP_INET6_POST_BIND", "cgroup_inet6_post_bind";
        /// `BPF_CGROUP_UDP4_SENDMSG`.
        CgroupUdp4Sendmsg = 14, "BPF_CGROUP_UDP4_SENDMSG", "cgroup_udp4_sendmsg";
        /// `BPF_CGROUP_UDP6_SENDMSG`.
        CgroupUdp6Sendmsg = 15, "BPF_CGROUP_UDP6_SENDMSG", "cgroup_udp6_sendmsg";
        /// `BPF_LIRC_MODE2`.
        LircMode2 = 16, "BPF_LIRC_MODE2", "lirc_mode2";
        /// `BPF_FLOW_DISSECTOR`.
        FlowDissector = 17, "BPF_FLOW_DISSECTOR", "flow_dissector";
        /// `BPF_CGROUP_SYSCTL`.
        CgroupSysctl = 18, "BPF_CGROUP_SYSCTL", "cgroup_sysctl";
        /// `BPF_CGROUP_UDP4_RECVMSG`.
        CgroupUdp4Recvmsg = 19, "BPF_CGROUP_UDP4_RECVMSG", "cgroup_udp4_recvmsg";
        /// `BPF_CGROUP_UDP6_RECVMSG`.
        CgroupUdp6Recvmsg = 20, "BPF_CGROUP_UDP6_RECVMSG", "cgroup_udp6_recvmsg";
        /// `BPF_CGROUP_GETSOCKOPT`.
        CgroupGetsockopt = 21, "BPF_CGROUP_GETSOCKOPT", "cgroup_getsockopt";
        /// `BPF_CGROUP_SETSOCKOPT`.
        CgroupSetsockopt = 22, "BPF_CGROUP_SETSOCKOPT", "cgroup_setsockopt";
        /// `BPF_TRACE_RAW_TP`.
        TraceRawTp = 23, "BPF_TRACE_RAW_TP", "trace_raw_tp";
        /// `BPF_TRACE_FENTRY`.
        TraceFentry = 24, "BPF_TRACE_FENTRY", "trace_fentry";
        /// `BPF_TRACE_FEXIT`.
        TraceFexit = 25, "BPF_TRACE_FEXIT", "trace_fexit";
        /// `BPF_MODIFY_RETURN`.
        ModifyReturn = 26, "BPF_MODIFY_RETURN", "modify_return";
        /// `BPF_LSM_MAC`.
        LsmMac = 27, "BPF_LSM_MAC", "lsm_mac";
        /// `BPF_TRACE_ITER`.
        TraceIter = 28, "BPF_TRACE_ITER", "trace_iter";
        /// `BPF_CGROUP_INET4_GETPEERNAME`.
        CgroupInet4Getpeername = 29, "BPF_CGROUP_INET4_GETPEERNAME", "cgroup_inet4_getpeername";
        /// `BPF_CGROUP_INET6_GETPEERNAME`.
        CgroupInet6Getpeername = 30, "BPF_CGROUP_INET6_GETPEERNAME", "cgroup_inet6_getpeername";
        /// `BPF_CGROUP_INET4_GETSOCKNAME`.
        CgroupInet4Getsockname = 31, "BPF_CGROUP_INET4_GETSOCKNAME", "cgroup_inet4_getsockname";
        /// `BPF_CGROUP_INET6_GETSOCKNAME`.
        CgroupInet6Getsockname = 32, "BPF_CGROUP_INET6_GETSOCKNAME", "cgroup_inet6_getsockname";
        /// `BPF_XDP_DEVMAP`.
        XdpDevmap = 33, "BPF_XDP_DEVMAP", "xdp_devmap";
        /// `BPF_CGROUP_INET_SOCK_RELEASE`.
        CgroupInetSockRelease = 34, "BPF_CGROUP_INET_SOCK_RELEASE", "cgroup_inet_sock_release";
        /// `BPF_XDP_CPUMAP`.
        XdpCpumap = 35, "BPF_XDP_CPUMAP", "xdp_cpumap";
        /// `BPF_SK_LOOKUP`.
        SkLookup = 36, "BPF_SK_LOOKUP", "sk_lookup";
        /// `BPF_XDP`.
        Xdp = 37, "BPF_XDP", "xdp";
        /// `BPF_SK_SKB_VERDICT`.
        SkSkbVerdict = 38, "BPF_SK_SKB_VERDICT", "sk_skb_verdict";
        /// `BPF_SK_REUSEPORT_SELECT`.
        SkReuseportSelect = 39, "BPF_SK_REUSEPORT_SELECT", "sk_reuseport_select";
        /// `BPF_SK_REUSEPORT_SELECT_OR_MIGRATE`.
        SkReuseportSelectOrMigrate = 40, "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE",
            "sk_reuseport_select_or_migrate";
        /// `BPF_PERF_EVENT`.
        PerfEvent = 41, "BPF_PERF_EVENT", "perf_event";
        /// `BPF_TRACE_KPROBE_MULTI`.
        TraceKprobeMulti = 42, "BPF_TRACE_KPROBE_MULTI", "trace_kprobe_multi";
        /// `BPF_LSM_CGROUP`.
        LsmCgroup = 43, "BPF_LSM_CGROUP", "lsm_cgroup";
        /// `BPF_STRUCT_OPS`.
        StructOps = 44, "BPF_STRUCT_OPS", "struct_ops";
        /// `BPF_NETFILTER`.
        Netfilter = 45, "BPF_NETFILTER", "netfilter";
        /// `BPF_TCX_INGRESS`.
        TcxIngress = 46, "BPF_TCX_INGRESS", "tcx_ingress";
        /// `BPF_TCX_EGRESS`.
        TcxEgress = 47, "BPF_TCX_EGRESS", "tcx_egress";
        /// `BPF_TRACE_UPROBE_MULTI`.
        TraceUprobeMulti = 48, "BPF_TRACE_UPROBE_MULTI", "trace_uprobe_multi";
        /// `BPF_CGROUP_UNIX_CONNECT`.
        CgroupUnixConnect = 49, "BPF_CGROUP_UNIX_CONNECT", "cgroup_unix_connect";
        /// `BPF_CGROUP_UNIX_SENDMSG`.
        CgroupUnixSendmsg = 50, "BPF_CGROUP_UNIX_SENDMSG", "cgroup_unix_sendmsg";
        /// `BPF_CGROUP_UNIX_RECVMSG`.
        CgroupUnixRecvmsg = 51, "BPF_CGROUP_UNIX_RECVMSG", "cgroup_unix_recvmsg";
        /// `BPF_CGROUP_UNIX_GETPEERNAME`.
        CgroupUnixGetpeername = 52, "BPF_CGROUP_UNIX_GETPEERNAME", "cgroup_unix_getpeername";
        /// `BPF_CGROUP_UNIX_GETSOCKNAME`.
        CgroupUnixGetsockname = 53, "BPF_CGROUP_UNIX_GETSOCKNAME", "cgroup_unix_getsockname";
        /// `BPF_NETKIT_PRIMARY`.
        NetkitPrimary = 54, "BPF_NETKIT_PRIMARY", "netkit_primary";
        /// `BPF_NETKIT_PEER`.
        NetkitPeer = 55, "BPF_NETKIT_PEER", "netkit_peer";
        /// `BPF_TRACE_KPROBE_SESSION`.
        TraceKprobeSession = 56, "BPF_TRACE_KPROBE_SESSION", "trace_kprobe_session";
        /// `BPF_TRACE_UPROBE_SESSION`.
        TraceUprobeSession = 57, "BPF_TRACE_UPROBE_SESSION", "trace_uprobe_session";
    }
}

uapi_enum! {
    /// A map type (`enum bpf_map_type`).
    pub enum MapType {
        /// `BPF_MAP_TYPE_UNSPEC`.
        Unspec = 0, "BPF_MAP_TYPE_UNSPEC", "unspec";
        /// `BPF_MAP_TYPE_HASH`.
        Hash = 1, "BPF_MAP_TYPE_HASH", "hash";
        /// `BPF_MAP_TYPE_ARRAY`.
        Array = 2, "BPF_MAP_TYPE_ARRAY", "array";
        /// `BPF_MAP_TYPE_PROG_ARRAY` (tail-call targets).
        ProgArray = 3, "BPF_MAP_TYPE_PROG_ARRAY", "prog_array";
        /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
        PerfEventArray = 4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY", "perf_event_array";
        /// `BPF_MAP_TYPE_PERCPU_HASH`.
        PercpuHash = 5, "BPF_MAP_TYPE_PERCPU_HASH", "percpu_hash";
        /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
        PercpuArray = 6, "BPF_MAP_TYPE_PERCPU_ARRAY", "percpu_array";
        /// `BPF_MAP_TYPE_STACK_TRACE`.
        StackTrace = 7, "BPF_MAP_TYPE_STACK_TRACE", "stack_trace";
        /// `BPF_MAP_TYPE_CGROUP_ARRAY`.
        CgroupArray = 8, "BPF_MAP_TYPE_CGROUP_ARRAY", "cgroup_array";
        /// `BPF_MAP_TYPE_LRU_HASH`.
        LruHash = 9, "BPF_MAP_TYPE_LRU_HASH", "lru_hash";
        /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
        LruPercpuHash = 10, "BPF_MAP_TYPE_LRU_PERCPU_HASH", "lru_percpu_hash";
        /// `BPF_MAP_TYPE_LPM_TRIE`.
        LpmTrie = 11, "BPF_MAP_TYPE_LPM_TRIE", "lpm_trie";
        /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
        ArrayOfMaps = 12, "BPF_MAP_TYPE_ARRAY_OF_MAPS", "array_of_maps";
        /// `BPF_MAP_TYPE_HASH_OF_MAPS`.
        HashOfMaps = 13, "BPF_MAP_TYPE_HASH_OF_MAPS", "hash_of_maps";
        /// `BPF_MAP_TYPE_DEVMAP`.
        Devmap = 14, "BPF_MAP_TYPE_DEVMAP", "devmap";
        /// `BPF_MAP_TYPE_SOCKMAP`.
        Sockmap = 15, "BPF_MAP_TYPE_SOCKMAP", "sockmap";
        /// `BPF_MAP_TYPE_CPUMAP`.
        Cpumap = 16, "BPF_MAP_TYPE_CPUMAP", "cpumap";
        /// `BPF_MAP_TYPE_XSKMAP`.
        Xskmap = 17, "BPF_MAP_TYPE_XSKMAP", "xskmap";
        /// `BPF_MAP_TYPE_SOCKHASH`.
        Sockhash = 18, "BPF_MAP_TYPE_SOCKHASH", "sockhash";
        /// `BPF_MAP_TYPE_CGROUP_STORAGE` (later `CGROUP_STORAGE_DEPRECATED`).
        CgroupStorage = 19, "BPF_MAP_TYPE_CGROUP_STORAGE", "cgroup_storage";
        /// `BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`.
        ReuseportSockarray = 20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY", "reuseport_sockarray";
        /// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`.
        PercpuCgroupStorage = 21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE", "percpu_cgroup_storage";
        /// `BPF_MAP_TYPE_QUEUE`.
        Queue = 22, "BPF_MAP_TYPE_QUEUE", "queue";
        /// `BPF_MAP_TYPE_STACK`.
        Stack = 23, "BPF_MAP_TYPE_STACK", "stack";
        /// `BPF_MAP_TYPE_SK_STORAGE`.
        SkStorage = 24, "BPF_MAP_TYPE_SK_STORAGE", "sk_storage";
        /// `BPF_MAP_TYPE_DEVMAP_HASH`.
        DevmapHash = 25, "BPF_MAP_TYPE_DEVMAP_HASH", "devmap_hash";
        /// `BPF_MAP_TYPE_STRUCT_OPS`.
        StructOps = 26, "BPF_MAP_TYPE_STRUCT_OPS", "struct_ops";
        /// `BPF_MAP_TYPE_RINGBUF`.
        Ringbuf = 27, "BPF_MAP_TYPE_RINGBUF", "ringbuf";
        /// `BPF_MAP_TYPE_INODE_STORAGE`.
        InodeStorage = 28, "BPF_MAP_TYPE_INODE_STORAGE", "inode_storage";
        /// `BPF_MAP_TYPE_TASK_STORAGE`.
        TaskStorage = 29, "BPF_MAP_TYPE_TASK_STORAGE", "task_storage";
        /// `BPF_MAP_TYPE_BLOOM_FILTER`.
        BloomFilter = 30, "BPF_MAP_TYPE_BLOOM_FILTER", "bloom_filter";
        /// `BPF_MAP_TYPE_USER_RINGBUF`.
        UserRingbuf = 31, "BPF_MAP_TYPE_USER_RINGBUF", "user_ringbuf";
        /// `BPF_MAP_TYPE_CGRP_STORAGE`.
        CgrpStorage = 32, "BPF_MAP_TYPE_CGRP_STORAGE", "cgrp_storage";
        /// `BPF_MAP_TYPE_ARENA`.
        Arena = 33, "BPF_MAP_TYPE_ARENA", "arena";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense_and_round_trip() {
        for (i, t) in ProgramType::ALL.iter().enumerate() {
            assert_eq!(t.number() as usize, i);
            assert_eq!(ProgramType::from_number(t.number()), Some(*t));
            assert_eq!(ProgramType::from_name(t.name()), Some(*t));
            assert_eq!(ProgramType::from_name(t.uapi_name()), Some(*t));
            assert_eq!(
                t.uapi_name()
                    .strip_prefix("BPF_PROG_TYPE_")
                    .map(str::to_ascii_lowercase),
                Some(t.name().to_string())
            );
        }
        for (i, t) in AttachType::ALL.iter().enumerate() {
            assert_eq!(t.number() as usize, i);
            assert_eq!(AttachType::from_number(t.number()), Some(*t));
            assert_eq!(
                t.uapi_name()
                    .strip_prefix("BPF_")
                    .map(str::to_ascii_lowercase),
                Some(t.name().to_string())
            );
        }
        for (i, t) in MapType::ALL.iter().enumerate() {
            assert_eq!(t.number() as usize, i);
            assert_eq!(
                t.uapi_name()
                    .strip_prefix("BPF_MAP_TYPE_")
                    .map(str::to_ascii_lowercase),
                Some(t.name().to_string())
            );
        }
        assert_eq!(MapType::ALL.len(), 34);
        assert_eq!(MapType::Ringbuf.number(), 27);
        assert_eq!(ProgramType::ALL.len(), 33);
        assert_eq!(AttachType::ALL.len(), 58);
        assert_eq!(ProgramType::from_number(33), None);
        assert_eq!(ProgramType::from_name("XDP"), Some(ProgramType::Xdp));
        assert_eq!(ProgramType::from_name("6"), Some(ProgramType::Xdp));
        assert_eq!(ProgramType::from_name("nope"), None);
        assert_eq!(AttachType::TcxIngress.number(), 46);
    }
}
