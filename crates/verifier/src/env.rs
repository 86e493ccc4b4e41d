//! What the transfer functions know of the program: instructions, maps, context rules.
//!
//! Read-only during exploration; all mutable analysis state lives in [`crate::state::State`].

use ebpfvm_abi::ProgramType;
use ebpfvm_isa::Insn;

use crate::ctx_rules::CtxRules;
use crate::{MapDesc, MapType, VerifyInput};

/// Map references: an index into the input's maps, or (with this bit) the inner map template
/// of that map.
pub const INNER_MAP: u32 = 1 << 31;

/// `BPF_F_RDONLY_PROG`: the program may not write map values.
pub const MAP_RDONLY_PROG: u32 = 1 << 7;

/// Program-level facts shared by every path.
pub struct Env<'a> {
    /// The input.
    pub input: &'a VerifyInput<'a>,
    /// Decoded instruction at each slot (`None` for the second slot of `ld_imm64`).
    pub insns: Vec<Option<Insn>>,
    /// Context access rules.
    pub ctx: CtxRules,
    /// Entry slots of the subprograms, sorted.
    pub subprogs: Vec<usize>,
}

impl<'a> Env<'a> {
    /// The program type.
    pub fn prog_type(&self) -> ProgramType {
        self.input.prog_type
    }

    /// The map with reference `id` (see [`INNER_MAP`]).
    pub fn map(&self, id: u32) -> Option<&'a MapDesc> {
        let outer = self.input.maps.get((id & !INNER_MAP) as usize)?;
        if id & INNER_MAP != 0 {
            outer.inner.as_deref()
        } else {
            Some(outer)
        }
    }

    /// Linux's rendering of a map in register states: `map=<type>,ks=4,vs=8`.
    pub fn map_desc(&self, id: u32) -> String {
        match self.map(id) {
            Some(m) => format!(
                "map={},ks={},vs={}",
                m.map_type.name(),
                m.key_size,
                m.value_size
            ),
            None => format!("map#{id}"),
        }
    }

    /// Whether programs of this type may write packet data (`may_access_direct_pkt_data`).
    pub fn may_write_packet(&self) -> bool {
        use ProgramType as P;
        matches!(
            self.prog_type(),
            P::Xdp | P::SchedCls | P::SchedAct | P::LwtXmit | P::SkSkb | P::SkMsg | P::LwtSeg6local
        )
    }
}

/// Whether lookups in maps of this type return map values (not `map_lookup_elem` on a
/// ring buffer, socket map, ...).
pub fn lookup_returns_value(t: MapType) -> bool {
    use MapType as M;
    matches!(
        t,
        M::Hash
            | M::Array
            | M::PercpuHash
            | M::PercpuArray
            | M::LruHash
            | M::LruPercpuHash
            | M::LpmTrie
            | M::ArrayOfMaps
            | M::HashOfMaps
            | M::CgroupStorage
            | M::PercpuCgroupStorage
            | M::Queue
            | M::Stack
            | M::SkStorage
            | M::Devmap
            | M::DevmapHash
            | M::Cpumap
            | M::Xskmap
    )
}
