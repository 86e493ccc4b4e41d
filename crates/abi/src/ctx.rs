//! The Linux uapi context layouts, as data, defined once.
//!
//! A program's context (`r1` on entry) is a C struct whose layout is fixed by Linux uapi;
//! the verifier checks context accesses against it and the ctx-access rewrite turns some
//! of its fields into real pointers. This module holds those layouts:
//!
//! - [`XDP_MD`]: `struct xdp_md`, `include/uapi/linux/bpf.h`;
//! - [`SK_BUFF`]: `struct __sk_buff`, `include/uapi/linux/bpf.h` (through `hwtstamp`,
//!   its last field in current kernels);
//! - [`PT_REGS_X86_64`]: x86-64 `struct pt_regs`, `arch/x86/include/uapi/asm/ptrace.h`
//!   (the kprobe context).
//!
//! Offsets and sizes follow the C declarations on a 64-bit target: `__bpf_md_ptr` fields
//! (`flow_keys`, `sk`) are 8-byte, 8-aligned pointer slots, and arrays (`cb[5]`,
//! `remote_ip6[4]`, `local_ip6[4]`) are listed element by element (`cb[0]` .. `cb[4]`),
//! so every [`CtxField`] is one scalar. Bytes not covered by any field (the 3 padding
//! bytes after `__sk_buff.tstamp_type`) are not accessible.

/// What the ctx-access rewrite turns a context field into when a program loads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PtrKind {
    /// Start of the packet data (`data`).
    PacketData,
    /// One past the end of the packet data (`data_end`).
    PacketEnd,
    /// Start of the packet metadata area (`data_meta`).
    PacketMeta,
    /// The flow dissector's `struct bpf_flow_keys` (`__sk_buff.flow_keys`).
    FlowKeys,
    /// The packet's `struct bpf_sock` (`__sk_buff.sk`), possibly null.
    Socket,
}

/// One field of a context struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtxField {
    /// The C field name; array elements are named with their index, e.g. `cb[2]`.
    pub name: &'static str,
    /// Byte offset from the start of the struct.
    pub offset: u32,
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: u32,
    /// `Some` if the ctx-access rewrite turns a load of this field into a real pointer.
    pub pointer: Option<PtrKind>,
}

impl CtxField {
    /// One past the field's last byte.
    pub const fn end(&self) -> u32 {
        self.offset + self.size
    }
}

/// The layout of one context struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtxLayout {
    /// The C struct name, e.g. `__sk_buff`.
    pub name: &'static str,
    /// `sizeof` the struct, including tail padding.
    pub size: u32,
    /// The fields, sorted by offset and non-overlapping.
    pub fields: &'static [CtxField],
}

impl CtxLayout {
    /// The field an access of `size` bytes at byte `offset` reads or writes, or `None` if
    /// the access is not allowed by layout.
    ///
    /// The rule, modelled on Linux's `bpf_ctx_narrow_access_ok` plus its `off % size`
    /// check: `size` is 1, 2, 4 or 8; `offset` is a multiple of `size`; and the bytes
    /// `offset .. offset + size` lie inside one field. So an exact access is allowed, and
    /// so is an aligned narrower one anywhere inside a field (e.g. a 1-byte load of
    /// `__sk_buff.mark` at offset 8, 9, 10 or 11: on little-endian, offset 8 is the low
    /// byte); an access straddling two fields or touching padding is not. Pointer fields
    /// ([`CtxField::pointer`] is `Some`) allow only the exact access, since a part of a
    /// pointer is meaningless once the rewrite has made it real. Per-program-type rules
    /// (read-only fields, fields some types may not see, `tstamp` being 8-byte only) are
    /// the caller's business.
    pub fn field_at(&self, offset: u32, size: u32) -> Option<&CtxField> {
        if !matches!(size, 1 | 2 | 4 | 8) || offset % size != 0 {
            return None;
        }
        let end = offset.checked_add(size)?;
        // The last field starting at or before `offset`.
        let idx = self.fields.partition_point(|f| f.offset <= offset);
        let field = &self.fields[idx.checked_sub(1)?];
        if end > field.end() {
            return None;
        }
        if field.pointer.is_some() && (offset != field.offset || size != field.size) {
            return None;
        }
        Some(field)
    }

    /// The field named `name` (array elements as `cb[2]`), if any.
    pub fn field(&self, name: &str) -> Option<&CtxField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

const fn f(name: &'static str, offset: u32, size: u32) -> CtxField {
    CtxField {
        name,
        offset,
        size,
        pointer: None,
    }
}

const fn p(name: &'static str, offset: u32, size: u32, kind: PtrKind) -> CtxField {
    CtxField {
        name,
        offset,
        size,
        pointer: Some(kind),
    }
}

/// `struct xdp_md`, the XDP context (24 bytes).
pub const XDP_MD: CtxLayout = CtxLayout {
    name: "xdp_md",
    size: 24,
    fields: &[
        p("data", 0, 4, PtrKind::PacketData),
        p("data_end", 4, 4, PtrKind::PacketEnd),
        p("data_meta", 8, 4, PtrKind::PacketMeta),
        f("ingress_ifindex", 12, 4),
        f("rx_queue_index", 16, 4),
        f("egress_ifindex", 20, 4),
    ],
};

/// `struct __sk_buff`, the socket-filter / tc / cgroup-skb / sk-skb / flow-dissector
/// context (192 bytes).
pub const SK_BUFF: CtxLayout = CtxLayout {
    name: "__sk_buff",
    size: 192,
    fields: &[
        f("len", 0, 4),
        f("pkt_type", 4, 4),
        f("mark", 8, 4),
        f("queue_mapping", 12, 4),
        f("protocol", 16, 4),
        f("vlan_present", 20, 4),
        f("vlan_tci", 24, 4),
        f("vlan_proto", 28, 4),
        f("priority", 32, 4),
        f("ingress_ifindex", 36, 4),
        f("ifindex", 40, 4),
        f("tc_index", 44, 4),
        f("cb[0]", 48, 4),
        f("cb[1]", 52, 4),
        f("cb[2]", 56, 4),
        f("cb[3]", 60, 4),
        f("cb[4]", 64, 4),
        f("hash", 68, 4),
        f("tc_classid", 72, 4),
        p("data", 76, 4, PtrKind::PacketData),
        p("data_end", 80, 4, PtrKind::PacketEnd),
        f("napi_id", 84, 4),
        f("family", 88, 4),
        f("remote_ip4", 92, 4),
        f("local_ip4", 96, 4),
        f("remote_ip6[0]", 100, 4),
        f("remote_ip6[1]", 104, 4),
        f("remote_ip6[2]", 108, 4),
        f("remote_ip6[3]", 112, 4),
        f("local_ip6[0]", 116, 4),
        f("local_ip6[1]", 120, 4),
        f("local_ip6[2]", 124, 4),
        f("local_ip6[3]", 128, 4),
        f("remote_port", 132, 4),
        f("local_port", 136, 4),
        p("data_meta", 140, 4, PtrKind::PacketMeta),
        p("flow_keys", 144, 8, PtrKind::FlowKeys),
        f("tstamp", 152, 8),
        f("wire_len", 160, 4),
        f("gso_segs", 164, 4),
        p("sk", 168, 8, PtrKind::Socket),
        f("gso_size", 176, 4),
        f("tstamp_type", 180, 1),
        // 181..184: `__u32 :24`, padding.
        f("hwtstamp", 184, 8),
    ],
};

/// x86-64 `struct pt_regs` (uapi names), the kprobe context (168 bytes).
pub const PT_REGS_X86_64: CtxLayout = CtxLayout {
    name: "pt_regs",
    size: 168,
    fields: &[
        f("r15", 0, 8),
        f("r14", 8, 8),
        f("r13", 16, 8),
        f("r12", 24, 8),
        f("rbp", 32, 8),
        f("rbx", 40, 8),
        f("r11", 48, 8),
        f("r10", 56, 8),
        f("r9", 64, 8),
        f("r8", 72, 8),
        f("rax", 80, 8),
        f("rcx", 88, 8),
        f("rdx", 96, 8),
        f("rsi", 104, 8),
        f("rdi", 112, 8),
        f("orig_rax", 120, 8),
        f("rip", 128, 8),
        f("cs", 136, 8),
        f("eflags", 144, 8),
        f("rsp", 152, 8),
        f("ss", 160, 8),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CtxLayout; 3] = [XDP_MD, SK_BUFF, PT_REGS_X86_64];

    #[test]
    fn fields_sorted_non_overlapping_inside() {
        for layout in ALL {
            let mut prev_end = 0;
            for field in layout.fields {
                assert!(matches!(field.size, 1 | 2 | 4 | 8), "{}", field.name);
                assert_eq!(field.offset % field.size, 0, "{} misaligned", field.name);
                assert!(field.offset >= prev_end, "{} overlaps", field.name);
                prev_end = field.end();
            }
            assert!(prev_end <= layout.size, "{}", layout.name);
            assert_eq!(layout.size % 8, 0, "{}", layout.name);
        }
    }

    #[test]
    fn names_unique() {
        for layout in ALL {
            for (i, a) in layout.fields.iter().enumerate() {
                assert!(layout.fields[i + 1..].iter().all(|b| b.name != a.name));
            }
        }
    }

    #[test]
    fn known_offsets() {
        let at = |l: &CtxLayout, name: &str| {
            let f = l.field(name).unwrap();
            (f.offset, f.size)
        };
        assert_eq!(XDP_MD.fields.len(), 6);
        assert_eq!(at(&XDP_MD, "data_meta"), (8, 4));
        assert_eq!(at(&XDP_MD, "egress_ifindex"), (20, 4));
        for (name, off, size) in [
            ("len", 0, 4),
            ("tc_index", 44, 4),
            ("cb[0]", 48, 4),
            ("cb[4]", 64, 4),
            ("hash", 68, 4),
            ("data", 76, 4),
            ("data_end", 80, 4),
            ("remote_ip6[0]", 100, 4),
            ("local_ip6[0]", 116, 4),
            ("remote_port", 132, 4),
            ("local_port", 136, 4),
            ("data_meta", 140, 4),
            ("flow_keys", 144, 8),
            ("tstamp", 152, 8),
            ("wire_len", 160, 4),
            ("gso_segs", 164, 4),
            ("sk", 168, 8),
            ("gso_size", 176, 4),
            ("tstamp_type", 180, 1),
            ("hwtstamp", 184, 8),
        ] {
            assert_eq!(at(&SK_BUFF, name), (off, size), "{name}");
        }
        assert_eq!(SK_BUFF.field("sk").unwrap().pointer, Some(PtrKind::Socket));
        assert_eq!(PT_REGS_X86_64.fields.len(), 21);
        assert_eq!(at(&PT_REGS_X86_64, "rdi"), (112, 8));
        assert_eq!(at(&PT_REGS_X86_64, "ss"), (160, 8));
    }

    #[test]
    fn field_at_exact_and_narrow() {
        assert_eq!(SK_BUFF.field_at(8, 4).unwrap().name, "mark");
        assert_eq!(SK_BUFF.field_at(8, 1).unwrap().name, "mark");
        assert_eq!(SK_BUFF.field_at(10, 2).unwrap().name, "mark");
        assert_eq!(SK_BUFF.field_at(52, 4).unwrap().name, "cb[1]");
        assert_eq!(SK_BUFF.field_at(152, 8).unwrap().name, "tstamp");
        assert_eq!(SK_BUFF.field_at(152, 4).unwrap().name, "tstamp");
        assert_eq!(SK_BUFF.field_at(180, 1).unwrap().name, "tstamp_type");
        assert_eq!(SK_BUFF.field_at(184, 8).unwrap().name, "hwtstamp");
        assert_eq!(SK_BUFF.field_at(168, 8).unwrap().name, "sk");
        assert_eq!(XDP_MD.field_at(0, 4).unwrap().name, "data");
        assert_eq!(XDP_MD.field_at(20, 4).unwrap().name, "egress_ifindex");
        assert_eq!(PT_REGS_X86_64.field_at(112, 4).unwrap().name, "rdi");
        assert_eq!(PT_REGS_X86_64.field_at(160, 8).unwrap().name, "ss");
    }

    #[test]
    fn field_at_rejects() {
        // Straddling two fields.
        assert_eq!(SK_BUFF.field_at(0, 8), None);
        assert_eq!(SK_BUFF.field_at(48, 8), None);
        assert_eq!(PT_REGS_X86_64.field_at(4, 8), None);
        // Misaligned or odd sizes.
        assert_eq!(SK_BUFF.field_at(9, 2), None);
        assert_eq!(SK_BUFF.field_at(8, 3), None);
        assert_eq!(SK_BUFF.field_at(8, 0), None);
        assert_eq!(SK_BUFF.field_at(0, 16), None);
        // Wider than the field.
        assert_eq!(SK_BUFF.field_at(180, 2), None);
        // Padding, past the end, overflow.
        assert_eq!(SK_BUFF.field_at(181, 1), None);
        assert_eq!(SK_BUFF.field_at(182, 2), None);
        assert_eq!(SK_BUFF.field_at(192, 4), None);
        assert_eq!(XDP_MD.field_at(24, 4), None);
        assert_eq!(PT_REGS_X86_64.field_at(168, 8), None);
        assert_eq!(SK_BUFF.field_at(u32::MAX - 3, 4), None);
        // Partial pointer fields.
        assert_eq!(XDP_MD.field_at(0, 2), None);
        assert_eq!(SK_BUFF.field_at(76, 1), None);
        assert_eq!(SK_BUFF.field_at(168, 4), None);
        assert_eq!(SK_BUFF.field_at(148, 4), None);
    }
}
