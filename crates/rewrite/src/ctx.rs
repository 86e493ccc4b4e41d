//! Which context accesses are allowed, and what each becomes.
//!
//! The rules are Linux's `is_valid_access` callbacks (`net/core/filter.c`) for the program
//! types whose context the runtime lays out itself ([`ebpfvm_abi::kctx::runtime_ctx`]):
//!
//! - `xdp_md` (`xdp_is_valid_access`): reads only, 4 bytes, 4-aligned.
//! - `__sk_buff` (`bpf_skb_is_valid_access` and the per-type callers
//!   `sk_filter_is_valid_access`, `tc_cls_act_is_valid_access`,
//!   `cg_skb_is_valid_access`): the access is aligned to its size; `cb[0..4]` take any
//!   size inside the array (so an 8-byte access of two words); the IP address fields and
//!   the packet pointers take exactly 4 bytes; `tstamp` exactly 8; `hwtstamp` is read with
//!   8 bytes; `tstamp_type` with 1; the padding after it not at all; every other field is
//!   read with 1, 2 or 4 bytes (a narrow read of its low bytes, as on little-endian) and
//!   written with 4. Each program type may read only some fields (a socket filter does
//!   not see the packet pointers, for example) and write fewer (`cb` for a socket filter;
//!   `mark`, `tc_index`, `priority`, `tc_classid`, `cb`, `tstamp` and `queue_mapping` for
//!   tc; `mark`, `priority`, `cb` and `tstamp` for cgroup skb), as in Linux.
//!
//! Beyond Linux: fields the runtime has no object for ([`RuntimeCtx::unsupported`]:
//! `__sk_buff.flow_keys`, `__sk_buff.sk`) are refused by name, and the rewrite itself: a
//! 4-byte read of a packet pointer field becomes an 8-byte read of the runtime's real
//! pointer ([`RuntimeCtx::pointers`]). Every other allowed access reads or writes the
//! uapi field in place, since the runtime structure begins with the uapi layout.
//!
//! Atomic operations on the context are refused, as Linux refuses them.
//!
//! [`RuntimeCtx::unsupported`]: ebpfvm_abi::kctx::RuntimeCtx::unsupported
//! [`RuntimeCtx::pointers`]: ebpfvm_abi::kctx::RuntimeCtx::pointers

use ebpfvm_abi::ctx::{CtxLayout, SK_BUFF, XDP_MD};
use ebpfvm_abi::kctx::{runtime_ctx, RuntimeCtx};
use ebpfvm_abi::ProgramType;
use ebpfvm_isa::{AtomicOp, Insn, RawInsn, Size};

use crate::cfg::Cfg;
use crate::provenance::{Budget, Off, Provenance, State, Val};
use crate::{Conversion, ConvertOptions, RewriteError};

/// Converts the context accesses of `slots` under `rules` (see the crate documentation).
pub(crate) fn convert(
    slots: &[RawInsn],
    rules: CtxRules,
    options: &ConvertOptions,
) -> Result<Conversion, RewriteError> {
    let limit = ebpfvm_abi::limits::MAX_PROGRAM_SLOTS;
    if slots.len() > limit {
        return Err(RewriteError::new(
            0,
            format!(
                "program of {} slots is larger than the limit of {limit}",
                slots.len()
            ),
        ));
    }
    let cfg = Cfg::build(slots)?;
    let budget = Budget {
        work: options
            .work_limit
            .unwrap_or_else(|| ConvertOptions::default_work_limit(slots.len())),
        memory: options.memory_limit,
    };
    let prov = Provenance::analyze(&cfg, Val::ctx(0), budget)?;
    let mut out = Conversion {
        slots: slots.to_vec(),
        converted: Vec::new(),
    };
    // Blocks are replayed in slot order, so the first error found has the lowest pc.
    let mut error = None;
    prov.replay(&cfg, |pc, insn, st| {
        if error.is_some() {
            return;
        }
        match access_at(&rules, pc, insn, st) {
            Ok(Some(new)) => {
                out.slots[pc] = new;
                out.converted.push(pc);
            }
            Ok(None) => {}
            Err(e) => error = Some(e),
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Classifies the memory access `insn` at `pc` in state `st`: `Ok(None)` if it is not a
/// context access or is kept, `Ok(Some(slot))` for its replacement.
fn access_at(
    rules: &CtxRules,
    pc: usize,
    insn: &Insn,
    st: &State,
) -> Result<Option<RawInsn>, RewriteError> {
    let (base, size, off, access) = match *insn {
        Insn::Load {
            size,
            signed,
            src,
            off,
            ..
        } => (src, size, off, Some(Access::Read { signed })),
        Insn::Store { size, dst, off, .. } => (dst, size, off, Some(Access::Write)),
        Insn::Atomic {
            op: AtomicOp::LoadAcquire,
            size,
            src,
            off,
            ..
        } => (src, size, off, None),
        Insn::Atomic { size, dst, off, .. } => (dst, size, off, None),
        _ => return Ok(None),
    };
    let v = st.regs[base.index()];
    if v.ctx == Off::None {
        return Ok(None);
    }
    let err = |msg: String| Err(RewriteError::new(pc, msg));
    if v.maybe_not_ctx() {
        return err("same insn cannot be used with different pointers".into());
    }
    if v.maybe_unknown() {
        return err(format!(
            "cannot tell whether {base} is the context pointer: a called function may have \
             overwritten the stack slot it was loaded from"
        ));
    }
    let bytes = size.bytes() as u32;
    let Some(access) = access else {
        let dir = if matches!(
            insn,
            Insn::Atomic {
                op: AtomicOp::LoadAcquire,
                ..
            }
        ) {
            "loads from"
        } else {
            "stores into"
        };
        return err(format!(
            "BPF_ATOMIC {dir} R{} ctx is not allowed",
            base.num()
        ));
    };
    let Off::Const(base_off) = v.ctx else {
        return err(format!("variable ctx access off={off} size={bytes}"));
    };
    let ctx_off = i64::from(base_off) + i64::from(off);
    match rules.check(ctx_off, bytes, access) {
        Err(msg) => err(msg),
        Ok(Verdict::Keep) => Ok(None),
        Ok(Verdict::Pointer { runtime_off }) => {
            let Ok(new_off) = i16::try_from(i64::from(runtime_off) - i64::from(base_off)) else {
                return err(invalid(ctx_off, bytes));
            };
            let Insn::Load { dst, src, .. } = *insn else {
                return err(invalid(ctx_off, bytes));
            };
            let load = Insn::Load {
                size: Size::DW,
                signed: false,
                dst,
                src,
                off: new_off,
            };
            Ok(Some(load.encode().first))
        }
    }
}

/// Read or write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Access {
    /// A load (`signed` for the sign-extending `MEMSX` form).
    Read {
        /// Sign-extending load.
        signed: bool,
    },
    /// A store of a register or an immediate.
    Write,
}

/// What an allowed access becomes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    /// Reads or writes the uapi field in place: left as it is.
    Keep,
    /// A read of a pointer field: becomes an 8-byte read at this runtime offset.
    Pointer {
        /// Offset of the runtime's 8-byte pointer.
        runtime_off: u32,
    },
}

/// The access rules of one program type's context.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CtxRules {
    prog_type: ProgramType,
    rt: &'static RuntimeCtx,
    layout: &'static CtxLayout,
}

/// The kernel's message for a refused context access.
pub(crate) fn invalid(off: i64, size: u32) -> String {
    format!("invalid bpf_context access off={off} size={size}")
}

impl CtxRules {
    /// The rules for `prog_type`, or `None` if its context needs no conversion.
    pub(crate) fn for_program(prog_type: ProgramType) -> Option<CtxRules> {
        let rt = runtime_ctx(prog_type)?;
        let layout = match rt.name {
            "xdp_md" => &XDP_MD,
            "__sk_buff" => &SK_BUFF,
            _ => return None,
        };
        Some(CtxRules {
            prog_type,
            rt,
            layout,
        })
    }

    /// Checks an access of `size` bytes at context offset `off`.
    pub(crate) fn check(&self, off: i64, size: u32, access: Access) -> Result<Verdict, String> {
        let Some(off32) = u32::try_from(off).ok().filter(|&o| o < self.rt.uapi_size) else {
            return Err(invalid(off, size));
        };
        if let Some(name) = self.rt.overlaps_unsupported(off32, size) {
            return Err(format!(
                "{}.{name} is not supported by ebpfvm",
                self.rt.name
            ));
        }
        let allowed = if self.layout.name == XDP_MD.name {
            xdp_ok(off32, size, access)
        } else {
            self.skb_type_ok(off32, size, access) && skb_ok(off32, size, access)
        };
        if !allowed {
            return Err(invalid(off, size));
        }
        match self.rt.overlaps_pointer(off32, size) {
            None => Ok(Verdict::Keep),
            Some(p)
                if p.uapi_off == off32
                    && size == 4
                    && access == (Access::Read { signed: false }) =>
            {
                Ok(Verdict::Pointer {
                    runtime_off: p.runtime_off,
                })
            }
            Some(_) => Err(invalid(off, size)),
        }
    }

    /// The per-program-type field permissions of `__sk_buff`.
    fn skb_type_ok(&self, off: u32, size: u32, access: Access) -> bool {
        let hits = |names: &[&str]| names.iter().any(|n| overlaps(self.layout, n, off, size));
        const ADDRESSES: &[&str] = &[
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
            ProgramType::SocketFilter => (
                &[
                    "tc_classid",
                    "data",
                    "data_meta",
                    "data_end",
                    "tstamp",
                    "wire_len",
                    "hwtstamp",
                ],
                CB,
            ),
            ProgramType::SchedCls | ProgramType::SchedAct => (
                &[],
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
            ProgramType::CgroupSkb => (
                &["tc_classid", "data_meta", "wire_len"],
                &[
                    "mark", "priority", "cb[0]", "cb[1]", "cb[2]", "cb[3]", "cb[4]", "tstamp",
                ],
            ),
            _ => (&[], &[]),
        };
        if hits(unreadable) {
            return false;
        }
        // Socket filters and tc programs do not see the socket addresses.
        if matches!(
            self.prog_type,
            ProgramType::SocketFilter | ProgramType::SchedCls | ProgramType::SchedAct
        ) && hits(ADDRESSES)
        {
            return false;
        }
        if access == Access::Write {
            // The access lies inside fields that are all writable (an 8-byte `cb` access
            // spans two).
            return self
                .layout
                .fields
                .iter()
                .filter(|f| off < f.end() && f.offset < off.saturating_add(size))
                .all(|f| writable.contains(&f.name));
        }
        true
    }
}

/// Whether `[off, off + size)` overlaps the field `name` of `layout`.
fn overlaps(layout: &CtxLayout, name: &str, off: u32, size: u32) -> bool {
    layout
        .field(name)
        .is_some_and(|f| off < f.end() && f.offset < off.saturating_add(size))
}

/// The offset range `[start, end)` from field `first` to field `last` of `__sk_buff`.
fn skb_range(first: &str, last: &str) -> std::ops::Range<u32> {
    match (SK_BUFF.field(first), SK_BUFF.field(last)) {
        (Some(a), Some(b)) => a.offset..b.end(),
        _ => 0..0,
    }
}

/// `__is_valid_xdp_access` and `xdp_is_valid_access`: reads of 4 aligned bytes.
fn xdp_ok(off: u32, size: u32, access: Access) -> bool {
    matches!(access, Access::Read { .. }) && size == 4 && off % 4 == 0
}

/// `bpf_skb_is_valid_access`: the size rules of `__sk_buff`.
fn skb_ok(off: u32, size: u32, access: Access) -> bool {
    if !matches!(size, 1 | 2 | 4 | 8) || off % size != 0 {
        return false;
    }
    let read = matches!(access, Access::Read { .. });
    let end = off + size;
    let cb = skb_range("cb[0]", "cb[4]");
    if cb.contains(&off) {
        return end <= cb.end;
    }
    let exact4 = [
        skb_range("remote_ip4", "local_ip6[3]"),
        skb_range("data", "data_end"),
        skb_range("data_meta", "data_meta"),
    ];
    if exact4.iter().any(|r| r.contains(&off)) {
        return size == 4;
    }
    if skb_range("tstamp", "tstamp").contains(&off) {
        return size == 8;
    }
    if skb_range("hwtstamp", "hwtstamp").contains(&off) {
        return read && size == 8;
    }
    if skb_range("tstamp_type", "tstamp_type").contains(&off) {
        return read && size == 1;
    }
    // Everything else, the padding after `tstamp_type` excepted, is a 4-byte field: read
    // narrow, written whole.
    match SK_BUFF.field_at(off, size) {
        Some(f) if f.size == 4 => {
            if read {
                size <= 4
            } else {
                size == 4
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Access = Access::Read { signed: false };

    fn rules(t: ProgramType) -> CtxRules {
        CtxRules::for_program(t).unwrap()
    }

    #[test]
    fn no_rules_for_other_types() {
        assert!(CtxRules::for_program(ProgramType::Kprobe).is_none());
        assert!(CtxRules::for_program(ProgramType::Tracepoint).is_none());
    }

    #[test]
    fn xdp_rules() {
        let x = rules(ProgramType::Xdp);
        assert_eq!(
            x.check(0, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 24 })
        );
        assert_eq!(
            x.check(4, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 32 })
        );
        assert_eq!(
            x.check(8, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 40 })
        );
        assert_eq!(x.check(12, 4, READ), Ok(Verdict::Keep));
        assert_eq!(x.check(20, 4, READ), Ok(Verdict::Keep));
        // Narrow, wide, signed, past the end, negative, writes.
        assert!(x.check(12, 2, READ).is_err());
        assert!(x.check(0, 8, READ).is_err());
        assert!(x.check(0, 4, Access::Read { signed: true }).is_err());
        assert!(x.check(24, 4, READ).is_err());
        assert!(x.check(-4, 4, READ).is_err());
        assert!(x.check(12, 4, Access::Write).is_err());
        assert_eq!(
            x.check(0, 2, READ),
            Err("invalid bpf_context access off=0 size=2".into())
        );
    }

    #[test]
    fn skb_rules() {
        let tc = rules(ProgramType::SchedCls);
        let sf = rules(ProgramType::SocketFilter);
        let cg = rules(ProgramType::CgroupSkb);
        // Ordinary fields: narrow reads, whole writes where writable.
        for r in [tc, sf, cg] {
            assert_eq!(r.check(0, 4, READ), Ok(Verdict::Keep), "len");
            assert_eq!(r.check(16, 2, READ), Ok(Verdict::Keep), "protocol");
            assert_eq!(r.check(17, 1, READ), Ok(Verdict::Keep), "protocol byte 1");
            assert!(r.check(17, 2, READ).is_err(), "misaligned");
            assert!(r.check(0, 8, READ).is_err(), "two fields");
            assert!(r.check(0, 4, Access::Write).is_err(), "len is read-only");
            assert_eq!(r.check(48, 4, Access::Write), Ok(Verdict::Keep), "cb[0]");
            assert_eq!(r.check(56, 8, READ), Ok(Verdict::Keep), "cb[2..3]");
            assert!(r.check(64, 8, READ).is_err(), "cb[4] and hash");
            assert!(r.check(181, 1, READ).is_err(), "padding");
            assert!(r.check(192, 4, READ).is_err(), "past the end");
            assert!(r.check(188, 4, READ).is_err(), "half hwtstamp");
        }
        assert_eq!(tc.check(8, 4, Access::Write), Ok(Verdict::Keep), "mark");
        assert!(tc.check(8, 2, Access::Write).is_err(), "narrow write");
        assert!(sf.check(8, 4, Access::Write).is_err(), "socket filter mark");
        assert_eq!(cg.check(8, 4, Access::Write), Ok(Verdict::Keep));
        assert!(cg.check(44, 4, Access::Write).is_err(), "cgroup tc_index");
        assert_eq!(
            tc.check(76, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 192 })
        );
        assert_eq!(
            tc.check(80, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 200 })
        );
        assert_eq!(
            tc.check(140, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 208 })
        );
        assert!(sf.check(76, 4, READ).is_err(), "socket filters see no data");
        assert!(cg.check(140, 4, READ).is_err(), "cgroup sees no data_meta");
        assert_eq!(
            cg.check(76, 4, READ),
            Ok(Verdict::Pointer { runtime_off: 192 })
        );
        assert!(tc.check(76, 4, Access::Write).is_err());
        assert!(tc.check(76, 2, READ).is_err());
        assert!(tc.check(92, 4, READ).is_err(), "tc sees no addresses");
        assert_eq!(cg.check(92, 4, READ), Ok(Verdict::Keep));
        assert!(cg.check(92, 2, READ).is_err(), "addresses are 4-byte only");
        assert_eq!(tc.check(152, 8, Access::Write), Ok(Verdict::Keep), "tstamp");
        assert!(tc.check(152, 4, READ).is_err(), "tstamp is 8-byte only");
        assert_eq!(tc.check(184, 8, READ), Ok(Verdict::Keep), "hwtstamp");
        assert!(tc.check(184, 8, Access::Write).is_err());
        assert_eq!(tc.check(180, 1, READ), Ok(Verdict::Keep), "tstamp_type");
        assert_eq!(
            tc.check(168, 8, READ),
            Err("__sk_buff.sk is not supported by ebpfvm".into())
        );
        assert_eq!(
            tc.check(144, 8, READ),
            Err("__sk_buff.flow_keys is not supported by ebpfvm".into())
        );
    }
}
