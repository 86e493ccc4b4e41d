//! Which context accesses each program type allows, and what a load yields.
//!
//! These are Linux's `is_valid_access` rules as they can be observed from user space
//! (written from the uapi headers and the kernel's behaviour, duplicated from
//! `ebpfvm-rewrite`'s `ctx` module where the two overlap):
//!
//! - `xdp_md`: reads only, 4 bytes, 4-aligned; `data`, `data_meta`, `data_end` load packet
//!   pointers.
//! - `__sk_buff` (socket filter, tc, cgroup skb, sk_skb, lwt): aligned accesses; narrow reads
//!   of 4-byte fields; `cb[]` any size; per-type readable/writable fields.
//! - `pt_regs` (kprobe), `bpf_perf_event_data`: reads of 8-byte aligned fields (narrow reads
//!   allowed), no writes.
//! - tracepoint: reads at any aligned offset below 2048 (the record layout is the event's);
//!   raw tracepoint: 8-byte reads of the arguments.
//!
//! Other program types are refused by [`CtxRules::for_program`] with `None`; their context
//! accesses are then rejected.

use ebpfvm_abi::ctx::{CtxLayout, PT_REGS_X86_64, SK_BUFF, XDP_MD};
use ebpfvm_abi::ProgramType;

use crate::state::RegType;

/// Read or write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
}

/// What an allowed load yields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loaded {
    /// An unknown scalar.
    Scalar,
    /// A pointer of this type.
    Pointer(RegType),
}

/// The shape of one program type's context.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Xdp,
    Skb,
    PtRegs,
    PerfEvent,
    Tracepoint,
    RawTracepoint,
    /// `struct bpf_sock` (cgroup sock programs).
    Sock,
    /// `struct bpf_sock_ops`.
    SockOps,
    /// A context with no readable field (cgroup sock etc. are not modelled).
    Opaque,
}

/// The access rules of one program type.
#[derive(Clone, Copy, Debug)]
pub struct CtxRules {
    prog_type: ProgramType,
    kind: Kind,
    devmap: bool,
}

/// Linux's message for a refused context access.
pub fn invalid(off: i64, size: u32) -> String {
    format!("invalid bpf_context access off={off} size={size}")
}

impl CtxRules {
    /// The rules of `prog_type`.
    pub fn for_program(prog_type: ProgramType, attach: Option<crate::AttachType>) -> CtxRules {
        use ProgramType as P;
        let kind = match prog_type {
            P::Xdp => Kind::Xdp,
            P::SocketFilter
            | P::SchedCls
            | P::SchedAct
            | P::CgroupSkb
            | P::SkSkb
            | P::LwtIn
            | P::LwtOut
            | P::LwtXmit
            | P::LwtSeg6local => Kind::Skb,
            P::Kprobe => Kind::PtRegs,
            P::PerfEvent => Kind::PerfEvent,
            P::Tracepoint => Kind::Tracepoint,
            P::RawTracepoint | P::RawTracepointWritable => Kind::RawTracepoint,
            P::CgroupSock => Kind::Sock,
            P::SockOps => Kind::SockOps,
            _ => Kind::Opaque,
        };
        CtxRules {
            prog_type,
            kind,
            devmap: attach == Some(crate::AttachType::XdpDevmap),
        }
    }

    /// Whether the program's context holds packet pointers (so `ld_abs` etc. are allowed).
    pub fn has_skb(&self) -> bool {
        matches!(self.kind, Kind::Skb)
    }

    /// Checks an access of `size` bytes at offset `off` (the fixed offset of the pointer
    /// plus the instruction's).
    pub fn check(&self, off: i64, size: u32, access: Access) -> Result<Loaded, String> {
        let bad = || Err(invalid(off, size));
        let Ok(o) = u32::try_from(off) else {
            return bad();
        };
        if !matches!(size, 1 | 2 | 4 | 8) || o % size != 0 {
            return bad();
        }
        match self.kind {
            Kind::Xdp if o == 20 && !self.devmap => bad(),
            Kind::Xdp => xdp(o, size, access).ok_or_else(|| invalid(off, size)),
            Kind::Skb => self.skb(o, size, access).ok_or_else(|| invalid(off, size)),
            Kind::PtRegs => {
                read_layout(&PT_REGS_X86_64, o, size, access).ok_or_else(|| invalid(off, size))
            }
            Kind::PerfEvent => {
                // struct bpf_perf_event_data { pt_regs regs; u64 sample_period; u64 addr; }
                let total = PT_REGS_X86_64.size + 16;
                if access == Access::Read && o + size <= total && (size == 8 || o < 168) {
                    Ok(Loaded::Scalar)
                } else {
                    bad()
                }
            }
            Kind::Tracepoint => {
                // The first 8 bytes are the common header, not readable.
                if access == Access::Read && o >= 8 && o + size <= 2048 {
                    Ok(Loaded::Scalar)
                } else {
                    bad()
                }
            }
            Kind::RawTracepoint => {
                if access == Access::Read && size == 8 && o < 8 * 12 {
                    Ok(Loaded::Scalar)
                } else {
                    bad()
                }
            }
            Kind::Sock => {
                // struct bpf_sock: 80 bytes of 4-byte fields; bound_dev_if, mark and
                // priority are writable (whole).
                let ok = match access {
                    Access::Read => size <= 4 && o + size <= 80,
                    Access::Write => size == 4 && matches!(o, 0 | 16 | 20),
                };
                if ok {
                    Ok(Loaded::Scalar)
                } else {
                    bad()
                }
            }
            Kind::SockOps => {
                // struct bpf_sock_ops: 4-byte fields up to `sk_txhash`, then the 8-byte
                // `bytes_received` and `bytes_acked`; `reply`/`replylong` and `sk_txhash`
                // are writable. The pointer fields after them are not modelled.
                let ok = match access {
                    Access::Read => {
                        (size <= 4 && o + size <= 168) || (size == 8 && (o == 168 || o == 176))
                    }
                    Access::Write => size == 4 && ((4..20).contains(&o) || o == 164),
                };
                if ok {
                    Ok(Loaded::Scalar)
                } else {
                    bad()
                }
            }
            Kind::Opaque => bad(),
        }
    }

    fn skb(&self, off: u32, size: u32, access: Access) -> Option<Loaded> {
        use ProgramType as P;
        let field = |name: &str| SK_BUFF.field(name);
        let hits = |names: &[&str]| {
            names.iter().any(|n| {
                field(n).is_some_and(|f| off < f.end() && f.offset < off.saturating_add(size))
            })
        };
        const ADDRS: &[&str] = &[
            "family",
            "remote_ip4",
            "local_ip4",
            "remote_ip6[0]",
            "remote_ip6[1]",
            "remote_ip6[2]",
            "remote_ip6[3]",
            "local_ip6[0]",
            "local_ip6[1]",
            "local_ip6[2]",
            "local_ip6[3]",
            "remote_port",
            "local_port",
        ];
        const CB: &[&str] = &["cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]"];
        let (unreadable, writable): (&[&str], &[&str]) = match self.prog_type {
            P::SocketFilter => (
                &[
                    "tc_classid",
                    "data",
                    "data_meta",
                    "data_end",
                    "tstamp",
                    "wire_len",
                    "hwtstamp",
                    "flow_keys",
                ],
                CB,
            ),
            P::SchedCls | P::SchedAct => (
                &["flow_keys"],
                &[
                    "mark",
                    "tc_index",
                    "priority",
                    "tc_classid",
                    "cb[0]",
                    "cb[1]",
                    "cb[2]",
                    "cb[3]",
                    "cb[4]",
                    "tstamp",
                    "queue_mapping",
                ],
            ),
            P::CgroupSkb => (
                &["tc_classid", "data_meta", "wire_len", "flow_keys"],
                &[
                    "mark", "priority", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp",
                ],
            ),
            P::SkSkb => (
                &["tc_classid", "data_meta", "tstamp", "wire_len", "flow_keys"],
                &["tc_index", "priority"],
            ),
            _ => (
                &["tc_classid", "data_meta", "tstamp", "wire_len", "flow_keys"],
                &[
                    "mark", "priority", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]",
                ],
            ),
        };
        if hits(unreadable) {
            return None;
        }
        if matches!(self.prog_type, P::SocketFilter | P::SchedCls | P::SchedAct) && hits(ADDRS) {
            return None;
        }
        if access == Access::Write {
            let all_writable = SK_BUFF
                .fields
                .iter()
                .filter(|f| off < f.end() && f.offset < off.saturating_add(size))
                .all(|f| writable.contains(&f.name));
            if !all_writable {
                return None;
            }
        }
        // Size rules.
        let end = off + size;
        let range = |a: &str, b: &str| match (field(a), field(b)) {
            (Some(a), Some(b)) => a.offset..b.end(),
            _ => 0..0,
        };
        let read = access == Access::Read;
        let cb = range("cb[0]", "cb[4]");
        if cb.contains(&off) {
            return (end <= cb.end).then_some(Loaded::Scalar);
        }
        let ptr = |name: &str| field(name).is_some_and(|f| f.offset == off);
        if ptr("data") || ptr("data_end") || ptr("data_meta") {
            if size != 4 || !read {
                return None;
            }
            let ty = if ptr("data") {
                RegType::Packet
            } else if ptr("data_end") {
                RegType::PacketEnd
            } else {
                RegType::PacketMeta
            };
            return Some(Loaded::Pointer(ty));
        }
        if range("remote_ip4", "local_ip6[3]").contains(&off) {
            return (size == 4).then_some(Loaded::Scalar);
        }
        if range("data", "data_end").contains(&off)
            || range("data_meta", "data_meta").contains(&off)
        {
            return None;
        }
        if range("flow_keys", "flow_keys").contains(&off) || range("sk", "sk").contains(&off) {
            // Pointers the core does not model (flow keys, socket): refused.
            return None;
        }
        if range("tstamp", "tstamp").contains(&off) {
            return (size == 8).then_some(Loaded::Scalar);
        }
        if range("hwtstamp", "hwtstamp").contains(&off) {
            return (read && size == 8).then_some(Loaded::Scalar);
        }
        if range("tstamp_type", "tstamp_type").contains(&off) {
            return (read && size == 1).then_some(Loaded::Scalar);
        }
        match SK_BUFF.field_at(off, size) {
            Some(f) if f.size == 4 && (if read { size <= 4 } else { size == 4 }) => {
                Some(Loaded::Scalar)
            }
            _ => None,
        }
    }
}

fn xdp(off: u32, size: u32, access: Access) -> Option<Loaded> {
    if access != Access::Read || size != 4 {
        return None;
    }
    let f = XDP_MD.field_at(off, size)?;
    Some(match f.name {
        "data" => Loaded::Pointer(RegType::Packet),
        "data_end" => Loaded::Pointer(RegType::PacketEnd),
        "data_meta" => Loaded::Pointer(RegType::PacketMeta),
        _ => Loaded::Scalar,
    })
}

fn read_layout(layout: &CtxLayout, off: u32, size: u32, access: Access) -> Option<Loaded> {
    if access != Access::Read {
        return None;
    }
    layout.field_at(off, size).map(|_| Loaded::Scalar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_rules() {
        let r = CtxRules::for_program(ProgramType::Xdp, None);
        assert_eq!(
            r.check(0, 4, Access::Read),
            Ok(Loaded::Pointer(RegType::Packet))
        );
        assert_eq!(
            r.check(4, 4, Access::Read),
            Ok(Loaded::Pointer(RegType::PacketEnd))
        );
        assert_eq!(r.check(12, 4, Access::Read), Ok(Loaded::Scalar));
        assert!(r.check(12, 4, Access::Write).is_err());
        assert!(r.check(0, 8, Access::Read).is_err());
        assert!(r.check(24, 4, Access::Read).is_err());
        assert!(r.check(-4, 4, Access::Read).is_err());
    }

    #[test]
    fn skb_rules() {
        let tc = CtxRules::for_program(ProgramType::SchedCls, None);
        let sf = CtxRules::for_program(ProgramType::SocketFilter, None);
        assert_eq!(tc.check(8, 4, Access::Write), Ok(Loaded::Scalar));
        assert!(sf.check(8, 4, Access::Write).is_err());
        assert!(sf.check(76, 4, Access::Read).is_err());
        assert_eq!(
            tc.check(76, 4, Access::Read),
            Ok(Loaded::Pointer(RegType::Packet))
        );
        assert_eq!(tc.check(0, 2, Access::Read), Ok(Loaded::Scalar));
        assert_eq!(tc.check(48, 8, Access::Read), Ok(Loaded::Scalar));
        assert!(tc.check(0, 4, Access::Write).is_err());
        assert!(tc.check(1, 2, Access::Read).is_err());
    }

    #[test]
    fn tracing_rules() {
        let kp = CtxRules::for_program(ProgramType::Kprobe, None);
        assert_eq!(kp.check(112, 8, Access::Read), Ok(Loaded::Scalar));
        assert!(kp.check(112, 8, Access::Write).is_err());
        assert!(kp.check(168, 8, Access::Read).is_err());
        let tp = CtxRules::for_program(ProgramType::Tracepoint, None);
        assert_eq!(tp.check(16, 8, Access::Read), Ok(Loaded::Scalar));
        assert!(tp.check(16, 8, Access::Write).is_err());
        let raw = CtxRules::for_program(ProgramType::RawTracepoint, None);
        assert_eq!(raw.check(8, 8, Access::Read), Ok(Loaded::Scalar));
        assert!(raw.check(8, 4, Access::Read).is_err());
    }
}
