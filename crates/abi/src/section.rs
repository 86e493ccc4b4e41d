//! ELF section names → program type, expected attach type and attach target, following
//! libbpf's conventions.
//!
//! Origin: libbpf's table of section definitions, as documented in Linux
//! `Documentation/bpf/libbpf/program_types.rst` ("Program Types and ELF Sections") and
//! libbpf's own `section_defs` list (entries newer than that document: `tcx/*`, `tc/ingress`,
//! `tc/egress`, `netkit/*`, `netfilter`, `sk_skb/verdict`, `kprobe.session`, `uprobe.multi`,
//! `uprobe.session`, `usdt.s`, `struct_ops.s`). Facts only; the code is ours.
//!
//! Matching follows libbpf 1.x: an entry written `type` matches only the exact name; an entry
//! written `type+` matches `type` or `type/extras`, where `extras` is the attach target
//! (`kprobe/do_unlinkat` → `do_unlinkat`, `tracepoint/sched/sched_switch` →
//! `sched/sched_switch`). When nothing matches that way, [`match_section`] falls back on
//! plain prefix matching, the longest entry first, which is what libbpf before 1.0 (its
//! "sloppy" prefixes), the Linux samples' `bpf_load.c` and Cilium's loader did, so older
//! objects keep their types: `xdp_prog` is XDP, `socket1` a socket filter, `tc/entry` a tc
//! classifier, `cgroup/sock1` a cgroup socket program. Such a match is marked
//! [`SectionMatch::legacy`].

use crate::prog_type::{AttachType, ProgramType};

/// How a [`SectionDef`] matches section names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SectionForm {
    /// `type`: only the exact name.
    Exact,
    /// `type+`: the exact name, or `type/extras` with an attach target after the `/`.
    Extras,
}

/// One entry of libbpf's section table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SectionDef {
    /// The name or prefix, without libbpf's trailing `+` (e.g. `kprobe`, `cgroup/connect4`).
    pub name: &'static str,
    /// Whether extras (an attach target) may follow.
    pub form: SectionForm,
    /// The program type.
    pub prog_type: ProgramType,
    /// The expected attach type given at load time, if the entry sets one.
    pub attach_type: Option<AttachType>,
    /// Sleepable program (`BPF_F_SLEEPABLE`): the `.s` entries and `syscall`.
    pub sleepable: bool,
    /// XDP program that accepts multi-buffer packets (`BPF_F_XDP_HAS_FRAGS`): `xdp.frags*`.
    pub xdp_frags: bool,
}

/// The result of [`match_section`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SectionMatch<'a> {
    /// The matching table entry.
    pub def: &'static SectionDef,
    /// The extras of a `type/extras` name (the attach target), if any.
    pub attach_target: Option<&'a str>,
    /// Whether the match used the pre-1.0 plain prefix rule.
    pub legacy: bool,
}

const fn def(
    name: &'static str,
    form: SectionForm,
    prog_type: ProgramType,
    attach_type: Option<AttachType>,
) -> SectionDef {
    SectionDef {
        name,
        form,
        prog_type,
        attach_type,
        sleepable: false,
        xdp_frags: false,
    }
}

const fn sleepable(mut d: SectionDef) -> SectionDef {
    d.sleepable = true;
    d
}

const fn frags(mut d: SectionDef) -> SectionDef {
    d.xdp_frags = true;
    d
}

use AttachType as A;
use ProgramType as P;
use SectionForm::{Exact, Extras};

/// libbpf's section table, in libbpf's order.
pub const SECTION_DEFS: &[SectionDef] = &[
    def("socket", Exact, P::SocketFilter, None),
    def(
        "sk_reuseport/migrate",
        Exact,
        P::SkReuseport,
        Some(A::SkReuseportSelectOrMigrate),
    ),
    def(
        "sk_reuseport",
        Exact,
        P::SkReuseport,
        Some(A::SkReuseportSelect),
    ),
    def("kprobe", Extras, P::Kprobe, None),
    def("uprobe", Extras, P::Kprobe, None),
    sleepable(def("uprobe.s", Extras, P::Kprobe, None)),
    def("kretprobe", Extras, P::Kprobe, None),
    def("uretprobe", Extras, P::Kprobe, None),
    sleepable(def("uretprobe.s", Extras, P::Kprobe, None)),
    def("kprobe.multi", Extras, P::Kprobe, Some(A::TraceKprobeMulti)),
    def(
        "kretprobe.multi",
        Extras,
        P::Kprobe,
        Some(A::TraceKprobeMulti),
    ),
    def(
        "kprobe.session",
        Extras,
        P::Kprobe,
        Some(A::TraceKprobeSession),
    ),
    def("uprobe.multi", Extras, P::Kprobe, Some(A::TraceUprobeMulti)),
    def(
        "uretprobe.multi",
        Extras,
        P::Kprobe,
        Some(A::TraceUprobeMulti),
    ),
    def(
        "uprobe.session",
        Extras,
        P::Kprobe,
        Some(A::TraceUprobeSession),
    ),
    sleepable(def(
        "uprobe.multi.s",
        Extras,
        P::Kprobe,
        Some(A::TraceUprobeMulti),
    )),
    sleepable(def(
        "uretprobe.multi.s",
        Extras,
        P::Kprobe,
        Some(A::TraceUprobeMulti),
    )),
    sleepable(def(
        "uprobe.session.s",
        Extras,
        P::Kprobe,
        Some(A::TraceUprobeSession),
    )),
    def("ksyscall", Extras, P::Kprobe, None),
    def("kretsyscall", Extras, P::Kprobe, None),
    def("usdt", Extras, P::Kprobe, None),
    sleepable(def("usdt.s", Extras, P::Kprobe, None)),
    def("tc/ingress", Exact, P::SchedCls, Some(A::TcxIngress)),
    def("tc/egress", Exact, P::SchedCls, Some(A::TcxEgress)),
    def("tcx/ingress", Exact, P::SchedCls, Some(A::TcxIngress)),
    def("tcx/egress", Exact, P::SchedCls, Some(A::TcxEgress)),
    def("netkit/primary", Exact, P::SchedCls, Some(A::NetkitPrimary)),
    def("netkit/peer", Exact, P::SchedCls, Some(A::NetkitPeer)),
    def("tc", Exact, P::SchedCls, None),
    def("classifier", Exact, P::SchedCls, None),
    def("action", Exact, P::SchedAct, None),
    def("tracepoint", Extras, P::Tracepoint, None),
    def("tp", Extras, P::Tracepoint, None),
    def("raw_tracepoint", Extras, P::RawTracepoint, None),
    def("raw_tp", Extras, P::RawTracepoint, None),
    def("raw_tracepoint.w", Extras, P::RawTracepointWritable, None),
    def("raw_tp.w", Extras, P::RawTracepointWritable, None),
    def("tp_btf", Extras, P::Tracing, Some(A::TraceRawTp)),
    def("fentry", Extras, P::Tracing, Some(A::TraceFentry)),
    def("fmod_ret", Extras, P::Tracing, Some(A::ModifyReturn)),
    def("fexit", Extras, P::Tracing, Some(A::TraceFexit)),
    sleepable(def("fentry.s", Extras, P::Tracing, Some(A::TraceFentry))),
    sleepable(def("fmod_ret.s", Extras, P::Tracing, Some(A::ModifyReturn))),
    sleepable(def("fexit.s", Extras, P::Tracing, Some(A::TraceFexit))),
    def("freplace", Extras, P::Ext, None),
    def("lsm", Extras, P::Lsm, Some(A::LsmMac)),
    sleepable(def("lsm.s", Extras, P::Lsm, Some(A::LsmMac))),
    def("lsm_cgroup", Extras, P::Lsm, Some(A::LsmCgroup)),
    def("iter", Extras, P::Tracing, Some(A::TraceIter)),
    sleepable(def("iter.s", Extras, P::Tracing, Some(A::TraceIter))),
    sleepable(def("syscall", Exact, P::Syscall, None)),
    frags(def("xdp.frags/devmap", Exact, P::Xdp, Some(A::XdpDevmap))),
    def("xdp/devmap", Exact, P::Xdp, Some(A::XdpDevmap)),
    frags(def("xdp.frags/cpumap", Exact, P::Xdp, Some(A::XdpCpumap))),
    def("xdp/cpumap", Exact, P::Xdp, Some(A::XdpCpumap)),
    frags(def("xdp.frags", Exact, P::Xdp, Some(A::Xdp))),
    def("xdp", Exact, P::Xdp, Some(A::Xdp)),
    def("perf_event", Exact, P::PerfEvent, None),
    def("lwt_in", Exact, P::LwtIn, None),
    def("lwt_out", Exact, P::LwtOut, None),
    def("lwt_xmit", Exact, P::LwtXmit, None),
    def("lwt_seg6local", Exact, P::LwtSeg6local, None),
    def("sockops", Exact, P::SockOps, Some(A::CgroupSockOps)),
    def(
        "sk_skb/stream_parser",
        Exact,
        P::SkSkb,
        Some(A::SkSkbStreamParser),
    ),
    def(
        "sk_skb/stream_verdict",
        Exact,
        P::SkSkb,
        Some(A::SkSkbStreamVerdict),
    ),
    def("sk_skb/verdict", Exact, P::SkSkb, Some(A::SkSkbVerdict)),
    def("sk_skb", Exact, P::SkSkb, None),
    def("sk_msg", Exact, P::SkMsg, Some(A::SkMsgVerdict)),
    def("lirc_mode2", Exact, P::LircMode2, Some(A::LircMode2)),
    def(
        "flow_dissector",
        Exact,
        P::FlowDissector,
        Some(A::FlowDissector),
    ),
    def(
        "cgroup_skb/ingress",
        Exact,
        P::CgroupSkb,
        Some(A::CgroupInetIngress),
    ),
    def(
        "cgroup_skb/egress",
        Exact,
        P::CgroupSkb,
        Some(A::CgroupInetEgress),
    ),
    def("cgroup/skb", Exact, P::CgroupSkb, None),
    def(
        "cgroup/sock_create",
        Exact,
        P::CgroupSock,
        Some(A::CgroupInetSockCreate),
    ),
    def(
        "cgroup/sock_release",
        Exact,
        P::CgroupSock,
        Some(A::CgroupInetSockRelease),
    ),
    def(
        "cgroup/sock",
        Exact,
        P::CgroupSock,
        Some(A::CgroupInetSockCreate),
    ),
    def(
        "cgroup/post_bind4",
        Exact,
        P::CgroupSock,
        Some(A::CgroupInet4PostBind),
    ),
    def(
        "cgroup/post_bind6",
        Exact,
        P::CgroupSock,
        Some(A::CgroupInet6PostBind),
    ),
    def(
        "cgroup/bind4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet4Bind),
    ),
    def(
        "cgroup/bind6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet6Bind),
    ),
    def(
        "cgroup/connect4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet4Connect),
    ),
    def(
        "cgroup/connect6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet6Connect),
    ),
    def(
        "cgroup/connect_unix",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUnixConnect),
    ),
    def(
        "cgroup/sendmsg4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUdp4Sendmsg),
    ),
    def(
        "cgroup/sendmsg6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUdp6Sendmsg),
    ),
    def(
        "cgroup/sendmsg_unix",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUnixSendmsg),
    ),
    def(
        "cgroup/recvmsg4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUdp4Recvmsg),
    ),
    def(
        "cgroup/recvmsg6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUdp6Recvmsg),
    ),
    def(
        "cgroup/recvmsg_unix",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUnixRecvmsg),
    ),
    def(
        "cgroup/getpeername4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet4Getpeername),
    ),
    def(
        "cgroup/getpeername6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet6Getpeername),
    ),
    def(
        "cgroup/getpeername_unix",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUnixGetpeername),
    ),
    def(
        "cgroup/getsockname4",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet4Getsockname),
    ),
    def(
        "cgroup/getsockname6",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupInet6Getsockname),
    ),
    def(
        "cgroup/getsockname_unix",
        Exact,
        P::CgroupSockAddr,
        Some(A::CgroupUnixGetsockname),
    ),
    def(
        "cgroup/sysctl",
        Exact,
        P::CgroupSysctl,
        Some(A::CgroupSysctl),
    ),
    def(
        "cgroup/getsockopt",
        Exact,
        P::CgroupSockopt,
        Some(A::CgroupGetsockopt),
    ),
    def(
        "cgroup/setsockopt",
        Exact,
        P::CgroupSockopt,
        Some(A::CgroupSetsockopt),
    ),
    def("cgroup/dev", Exact, P::CgroupDevice, Some(A::CgroupDevice)),
    def("struct_ops", Extras, P::StructOps, None),
    sleepable(def("struct_ops.s", Extras, P::StructOps, None)),
    def("sk_lookup", Exact, P::SkLookup, Some(A::SkLookup)),
    def("netfilter", Exact, P::Netfilter, Some(A::Netfilter)),
];

impl SectionDef {
    /// libbpf's spelling of the entry: the name, with `+` when extras may follow.
    pub fn spelling(&self) -> String {
        match self.form {
            SectionForm::Exact => self.name.to_string(),
            SectionForm::Extras => format!("{}+", self.name),
        }
    }

    /// Whether `section` matches this entry under libbpf 1.x rules; the attach target if it
    /// does (`Some(None)` for a match without extras).
    fn matches<'a>(&self, section: &'a str) -> Option<Option<&'a str>> {
        if section == self.name {
            return Some(None);
        }
        match self.form {
            SectionForm::Exact => None,
            SectionForm::Extras => section
                .strip_prefix(self.name)
                .and_then(|rest| rest.strip_prefix('/'))
                .map(Some),
        }
    }
}

/// Finds the program type, expected attach type and attach target for an ELF section name;
/// `None` when no rule applies (the type is then [`ProgramType::Unspec`] unless the user
/// gives one). See the module documentation for the rules.
pub fn match_section(section: &str) -> Option<SectionMatch<'_>> {
    if let Some((def, target)) = SECTION_DEFS
        .iter()
        .find_map(|d| d.matches(section).map(|t| (d, t)))
    {
        return Some(SectionMatch {
            def,
            attach_target: target.filter(|t| !t.is_empty()),
            legacy: false,
        });
    }
    SECTION_DEFS
        .iter()
        .filter(|d| section.starts_with(d.name))
        .max_by_key(|d| d.name.len())
        .map(|def| SectionMatch {
            def,
            attach_target: None,
            legacy: true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<(ProgramType, Option<AttachType>, Option<&str>, bool)> {
        match_section(s).map(|m| {
            (
                m.def.prog_type,
                m.def.attach_type,
                m.attach_target,
                m.legacy,
            )
        })
    }

    #[test]
    fn libbpf_names() {
        assert_eq!(
            kind("kprobe/do_unlinkat"),
            Some((P::Kprobe, None, Some("do_unlinkat"), false))
        );
        assert_eq!(kind("kprobe"), Some((P::Kprobe, None, None, false)));
        assert_eq!(
            kind("tracepoint/sched/sched_switch"),
            Some((P::Tracepoint, None, Some("sched/sched_switch"), false))
        );
        assert_eq!(
            kind("fentry/tcp_connect"),
            Some((P::Tracing, Some(A::TraceFentry), Some("tcp_connect"), false))
        );
        assert_eq!(
            kind("fentry.s/f"),
            Some((P::Tracing, Some(A::TraceFentry), Some("f"), false))
        );
        assert!(match_section("fentry.s/f").unwrap().def.sleepable);
        assert_eq!(kind("xdp"), Some((P::Xdp, Some(A::Xdp), None, false)));
        assert!(match_section("xdp.frags").unwrap().def.xdp_frags);
        assert_eq!(
            kind("xdp/devmap"),
            Some((P::Xdp, Some(A::XdpDevmap), None, false))
        );
        assert_eq!(
            kind("tcx/ingress"),
            Some((P::SchedCls, Some(A::TcxIngress), None, false))
        );
        assert_eq!(
            kind("cgroup_skb/egress"),
            Some((P::CgroupSkb, Some(A::CgroupInetEgress), None, false))
        );
        assert_eq!(
            kind("cgroup/connect4"),
            Some((P::CgroupSockAddr, Some(A::CgroupInet4Connect), None, false))
        );
        assert_eq!(
            kind("sk_reuseport/migrate"),
            Some((
                P::SkReuseport,
                Some(A::SkReuseportSelectOrMigrate),
                None,
                false
            ))
        );
        assert_eq!(
            kind("usdt/lib.so:prov:name"),
            Some((P::Kprobe, None, Some("lib.so:prov:name"), false))
        );
        assert_eq!(
            kind("kprobe.multi/tcp_*"),
            Some((P::Kprobe, Some(A::TraceKprobeMulti), Some("tcp_*"), false))
        );
        assert_eq!(kind("syscall"), Some((P::Syscall, None, None, false)));
        assert_eq!(
            kind("struct_ops/init"),
            Some((P::StructOps, None, Some("init"), false))
        );
        assert_eq!(kind("lsm/file_open").map(|k| k.0), Some(P::Lsm));
        assert_eq!(kind("iter/task").map(|k| k.1), Some(Some(A::TraceIter)));
        assert_eq!(kind("netfilter").map(|k| k.0), Some(P::Netfilter));
    }

    #[test]
    fn legacy_prefixes() {
        assert_eq!(kind("xdp_prog"), Some((P::Xdp, Some(A::Xdp), None, true)));
        assert_eq!(kind("socket1"), Some((P::SocketFilter, None, None, true)));
        assert_eq!(kind("tc/entry"), Some((P::SchedCls, None, None, true)));
        assert_eq!(
            kind("cgroup/sock1"),
            Some((P::CgroupSock, Some(A::CgroupInetSockCreate), None, true))
        );
        assert_eq!(kind("xdp/tail").map(|k| k.0), Some(P::Xdp));
        // `kprobe` only matches with a '/' under the 1.x rules.
        assert_eq!(kind("kprobe_x").map(|k| k.3), Some(true));
    }

    #[test]
    fn unknown_names() {
        for s in [
            "",
            ".text",
            "2/7",
            "from-netdev",
            "license",
            "maps",
            "filter",
            "test",
        ] {
            assert_eq!(kind(s), None, "{s}");
        }
    }

    #[test]
    fn table_is_well_formed() {
        for (i, d) in SECTION_DEFS.iter().enumerate() {
            assert!(!d.name.is_empty());
            assert!(!d.name.ends_with('+') && !d.name.ends_with('/'));
            // No duplicate entries.
            assert!(
                SECTION_DEFS[..i].iter().all(|e| e.name != d.name),
                "{}",
                d.name
            );
            // Every entry matches its own name, and to itself.
            assert_eq!(match_section(d.name).map(|m| m.def), Some(d));
        }
        assert_eq!(SECTION_DEFS[3].spelling(), "kprobe+");
        assert_eq!(SECTION_DEFS[0].spelling(), "socket");
    }
}
