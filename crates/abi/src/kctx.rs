//! The runtime's context structures: what a program's context pointer really points at.
//!
//! Programs are compiled against the uapi layouts of [`crate::ctx`] (`xdp_md`,
//! `__sk_buff`), where the packet pointers are 32-bit fields. The runtime's structures
//! start with the uapi layout unchanged (so every other field is read in place) and append
//! the real 64-bit pointers; the ctx-access conversion (`ebpfvm-rewrite`) turns a 4-byte
//! load of a uapi pointer field into an 8-byte load of its runtime slot, as the kernel's
//! `convert_ctx_access` turns them into loads of `struct xdp_buff` / `struct sk_buff`. The
//! uapi pointer fields themselves hold 0, so a load the conversion missed gives a null
//! pointer rather than a wrong one.
//!
//! Offsets are little-endian byte offsets; every runtime structure is 8-byte aligned.

use crate::ProgramType;

/// A uapi pointer field and the runtime slot it is converted to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PointerField {
    /// The uapi field name.
    pub name: &'static str,
    /// Offset of the 4-byte uapi field.
    pub uapi_off: u32,
    /// Offset of the 8-byte runtime pointer.
    pub runtime_off: u32,
}

/// The runtime structure behind one context type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RuntimeCtx {
    /// The uapi structure name (`xdp_md`, `__sk_buff`).
    pub name: &'static str,
    /// Bytes of the uapi layout at the front of the structure.
    pub uapi_size: u32,
    /// Bytes of the whole runtime structure.
    pub size: u32,
    /// The pointer fields the conversion rewrites.
    pub pointers: &'static [PointerField],
    /// uapi fields programs may not access here (kernel pointers the runtime has no object
    /// for), as (offset, size, name).
    pub unsupported: &'static [(u32, u32, &'static str)],
}

impl RuntimeCtx {
    /// The pointer field whose uapi field starts at `off`, if any.
    pub fn pointer_at(&self, off: u32) -> Option<&'static PointerField> {
        self.pointers.iter().find(|p| p.uapi_off == off)
    }

    /// Whether `[off, off + size)` overlaps a uapi pointer field.
    pub fn overlaps_pointer(&self, off: u32, size: u32) -> Option<&'static PointerField> {
        let end = off.saturating_add(size);
        self.pointers
            .iter()
            .find(|p| off < p.uapi_off + 4 && p.uapi_off < end)
    }

    /// The unsupported field `[off, off + size)` overlaps, if any.
    pub fn overlaps_unsupported(&self, off: u32, size: u32) -> Option<&'static str> {
        let end = off.saturating_add(size);
        self.unsupported
            .iter()
            .find(|(o, s, _)| off < o + s && *o < end)
            .map(|(_, _, n)| *n)
    }
}

/// `struct xdp_buff` of the runtime (64 bytes).
pub mod xdp {
    /// Size of the uapi `xdp_md` at the front.
    pub const UAPI_SIZE: u32 = 24;
    /// uapi `xdp_md.ingress_ifindex`.
    pub const INGRESS_IFINDEX: u32 = 12;
    /// uapi `xdp_md.rx_queue_index`.
    pub const RX_QUEUE_INDEX: u32 = 16;
    /// uapi `xdp_md.egress_ifindex`.
    pub const EGRESS_IFINDEX: u32 = 20;
    /// Pointer to the first packet byte (`xdp_md.data`, uapi offset 0).
    pub const DATA: u32 = 24;
    /// Pointer past the last packet byte (`xdp_md.data_end`, uapi offset 4).
    pub const DATA_END: u32 = 32;
    /// Pointer to the metadata before the packet (`xdp_md.data_meta`, uapi offset 8);
    /// equal to `DATA` when there is none.
    pub const DATA_META: u32 = 40;
    /// Start of the packet buffer (the headroom begins here).
    pub const HARD_START: u32 = 48;
    /// End of the packet buffer (the tailroom ends here).
    pub const HARD_END: u32 = 56;
    /// Size of the runtime structure.
    pub const SIZE: u32 = 64;
}

/// `struct sk_buff` of the runtime (256 bytes).
pub mod skb {
    /// Size of the uapi `__sk_buff` at the front.
    pub const UAPI_SIZE: u32 = 192;
    /// uapi `__sk_buff.len`.
    pub const LEN: u32 = 0;
    /// uapi `__sk_buff.pkt_type`.
    pub const PKT_TYPE: u32 = 4;
    /// uapi `__sk_buff.mark`.
    pub const MARK: u32 = 8;
    /// uapi `__sk_buff.queue_mapping`.
    pub const QUEUE_MAPPING: u32 = 12;
    /// uapi `__sk_buff.protocol` (network byte order in the low 16 bits).
    pub const PROTOCOL: u32 = 16;
    /// uapi `__sk_buff.vlan_present`.
    pub const VLAN_PRESENT: u32 = 20;
    /// uapi `__sk_buff.vlan_tci`.
    pub const VLAN_TCI: u32 = 24;
    /// uapi `__sk_buff.vlan_proto`.
    pub const VLAN_PROTO: u32 = 28;
    /// uapi `__sk_buff.priority`.
    pub const PRIORITY: u32 = 32;
    /// uapi `__sk_buff.ingress_ifindex`.
    pub const INGRESS_IFINDEX: u32 = 36;
    /// uapi `__sk_buff.ifindex`.
    pub const IFINDEX: u32 = 40;
    /// uapi `__sk_buff.cb[0]` (five 4-byte words).
    pub const CB: u32 = 48;
    /// uapi `__sk_buff.hash`.
    pub const HASH: u32 = 68;
    /// uapi `__sk_buff.wire_len`.
    pub const WIRE_LEN: u32 = 160;
    /// uapi `__sk_buff.gso_segs`.
    pub const GSO_SEGS: u32 = 164;
    /// Pointer to `skb->data` (`__sk_buff.data`, uapi offset 76): the first byte programs
    /// see (the network header for socket filters and cgroup programs, the Ethernet header
    /// for tc).
    pub const DATA: u32 = 192;
    /// Pointer past the last packet byte (`__sk_buff.data_end`, uapi offset 80).
    pub const DATA_END: u32 = 200;
    /// Pointer to the metadata (`__sk_buff.data_meta`, uapi offset 140).
    pub const DATA_META: u32 = 208;
    /// Start of the packet buffer.
    pub const HEAD: u32 = 216;
    /// End of the packet buffer.
    pub const END: u32 = 224;
    /// Pointer to the Ethernet header (the frame's start), for helpers that need it.
    pub const MAC_HEADER: u32 = 232;
    /// Size of the runtime structure.
    pub const SIZE: u32 = 256;
}

/// The runtime `xdp_buff`.
pub const XDP_BUFF: RuntimeCtx = RuntimeCtx {
    name: "xdp_md",
    uapi_size: xdp::UAPI_SIZE,
    size: xdp::SIZE,
    pointers: &[
        PointerField {
            name: "data",
            uapi_off: 0,
            runtime_off: xdp::DATA,
        },
        PointerField {
            name: "data_end",
            uapi_off: 4,
            runtime_off: xdp::DATA_END,
        },
        PointerField {
            name: "data_meta",
            uapi_off: 8,
            runtime_off: xdp::DATA_META,
        },
    ],
    unsupported: &[],
};

/// The runtime `sk_buff`.
pub const SK_BUFF: RuntimeCtx = RuntimeCtx {
    name: "__sk_buff",
    uapi_size: skb::UAPI_SIZE,
    size: skb::SIZE,
    pointers: &[
        PointerField {
            name: "data",
            uapi_off: 76,
            runtime_off: skb::DATA,
        },
        PointerField {
            name: "data_end",
            uapi_off: 80,
            runtime_off: skb::DATA_END,
        },
        PointerField {
            name: "data_meta",
            uapi_off: 140,
            runtime_off: skb::DATA_META,
        },
    ],
    unsupported: &[(144, 8, "flow_keys"), (168, 8, "sk")],
};

/// The runtime structure behind `prog_type`'s context, for the types whose context needs
/// conversion; `None` for types whose context is used as laid out (`pt_regs`, tracepoint
/// arguments, raw memory).
pub fn runtime_ctx(prog_type: ProgramType) -> Option<&'static RuntimeCtx> {
    match prog_type {
        ProgramType::Xdp => Some(&XDP_BUFF),
        ProgramType::SocketFilter
        | ProgramType::SchedCls
        | ProgramType::SchedAct
        | ProgramType::CgroupSkb => Some(&SK_BUFF),
        _ => None,
    }
}
