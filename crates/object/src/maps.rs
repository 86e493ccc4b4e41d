//! Map specifications: legacy `maps` / `maps/*` sections, BTF-defined `.maps`, and the
//! array maps that hold global data (`.data*`, `.rodata*`, `.bss*`, `.kconfig`).
//!
//! Conventions (libbpf's, unless said otherwise):
//!
//! * **Legacy maps.** Each symbol in the section names one map; the record size is the
//!   section size divided by the number of symbols. A record starts with `struct
//!   bpf_map_def` (`type, key_size, value_size, max_entries, map_flags`, five `u32`s). Longer
//!   records come from two families of loaders, told apart as well as the bytes allow:
//!   iproute2's `struct bpf_elf_map` (`id, pinning, inner_id, inner_idx` after the five;
//!   Cilium), and the Linux samples' `struct bpf_load_map_def` (`inner_map_idx,
//!   numa_node`). A 36-byte record is iproute2's. A 28-byte record is read as the samples'
//!   layout for map-in-map types (`inner_map_idx`) and when `BPF_F_NUMA_NODE` is set
//!   (`numa_node`), and otherwise as iproute2's 7-word layout (`id, pinning`). The inner
//!   map index counts the legacy maps of the object in order. Every word after the first
//!   five is also kept in [`MapSpec::legacy_extra`].
//! * **BTF maps.** Each variable of the `.maps` data section is a struct whose members are
//!   written with `__uint(name, N)` (a pointer to an array of N elements), `__type(name,
//!   T)` (a pointer to `T`), `__ulong(name, N)` (an enum whose one value is N) and
//!   `__array(values, T)` (the initial contents of a map-in-map or prog array). Known
//!   members: `type`, `key_size`, `key`, `value_size`, `value`, `max_entries`, `map_flags`,
//!   `numa_node`, `pinning`, `map_extra`, `values`; any other is an error. Initial
//!   contents come from relocations in `.rel.maps` at the `values` slots.
//! * **Global data.** One `BPF_MAP_TYPE_ARRAY` with one entry per non-empty section, whose
//!   value is the section; `.rodata*` and `.kconfig` are read-only for programs
//!   (`BPF_F_RDONLY_PROG`) and every one is mmapable (`BPF_F_MMAPABLE`), as libbpf creates
//!   them. `.kconfig` has no ELF section: its layout is computed from the extern variables
//!   (see [`crate::Extern`]).

use ebpfvm_abi::MapType;
use ebpfvm_btf::{Btf, Type, TypeId};

use crate::error::ParseError;

/// `BPF_F_NUMA_NODE`.
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// `BPF_F_RDONLY_PROG`.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Where a map definition came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum MapOrigin {
    /// A record in a legacy `maps` or `maps/*` section.
    Legacy,
    /// A variable of the BTF-described `.maps` section.
    Btf,
    /// The inner-map template of a map-in-map.
    Inner,
    /// Global data: `.data*` sections.
    Data,
    /// Global data: `.rodata*` sections.
    Rodata,
    /// Global data: `.bss*` sections (zero-initialised).
    Bss,
    /// The `.kconfig` externs.
    Kconfig,
}

impl MapOrigin {
    /// A short lowercase name (`legacy`, `btf`, `inner`, `data`, `rodata`, `bss`,
    /// `kconfig`).
    pub fn as_str(self) -> &'static str {
        match self {
            MapOrigin::Legacy => "legacy",
            MapOrigin::Btf => "btf",
            MapOrigin::Inner => "inner",
            MapOrigin::Data => "data",
            MapOrigin::Rodata => "rodata",
            MapOrigin::Bss => "bss",
            MapOrigin::Kconfig => "kconfig",
        }
    }

    /// Whether this is a global data map (one entry holding a section's bytes).
    pub fn is_global_data(self) -> bool {
        matches!(
            self,
            MapOrigin::Data | MapOrigin::Rodata | MapOrigin::Bss | MapOrigin::Kconfig
        )
    }
}

/// How a map is pinned.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum Pinning {
    /// Not pinned.
    #[default]
    None,
    /// libbpf's `LIBBPF_PIN_BY_NAME` (1 in a BTF map definition).
    ByName,
    /// iproute2's `PIN_OBJECT_NS` (1 in a legacy `bpf_elf_map`).
    ObjectNs,
    /// iproute2's `PIN_GLOBAL_NS` (2 in a legacy `bpf_elf_map`).
    GlobalNs,
    /// Another value from a legacy record (iproute2 reserves them for custom paths).
    Other(u32),
}

impl Pinning {
    /// A short name (`none`, `by_name`, `object_ns`, `global_ns`, `other(N)`).
    pub fn name(self) -> String {
        match self {
            Pinning::None => "none".into(),
            Pinning::ByName => "by_name".into(),
            Pinning::ObjectNs => "object_ns".into(),
            Pinning::GlobalNs => "global_ns".into(),
            Pinning::Other(n) => format!("other({n})"),
        }
    }
}

/// An initial element of a map-in-map or prog array, from `__array(values, ...)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum InitSlot {
    /// A map, by index into [`crate::Object::maps`].
    Map(usize),
    /// A program, by name (a function symbol of the object).
    Program(String),
}

/// Everything needed to create one map.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapSpec {
    /// The map's name (the symbol or variable name; the section name for global data).
    pub name: String,
    /// Where the definition came from.
    pub origin: MapOrigin,
    /// The ELF section of the definition (or of the data); `.kconfig` for the externs.
    pub section: String,
    /// Byte offset of the definition in that section (0 for global data).
    pub section_offset: u64,
    /// The Linux map type number (`enum bpf_map_type`); see [`MapSpec::kind`].
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// NUMA node (meaningful with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// `map_extra` (bloom filter hash count, arena address, ...).
    pub map_extra: u64,
    /// Pinning.
    pub pinning: Pinning,
    /// The inner map template of a map-in-map.
    pub inner: Option<Box<MapSpec>>,
    /// Initial contents of the value (global data maps); `None` means zero-filled.
    pub initial: Option<Vec<u8>>,
    /// Initial elements of a map-in-map or prog array, as `(index, element)`.
    pub init_slots: Vec<(u32, InitSlot)>,
    /// BTF type of the key, if known.
    pub btf_key_type: Option<TypeId>,
    /// BTF type of the value, if known (for global data: the section's DATASEC).
    pub btf_value_type: Option<TypeId>,
    /// Words of a legacy record after the five of `struct bpf_map_def`.
    pub legacy_extra: Vec<u32>,
}

impl MapSpec {
    /// The map type, if it is a known Linux number.
    pub fn kind(&self) -> Option<MapType> {
        MapType::from_number(self.map_type)
    }

    /// The map type's short name (`hash`, `array`, ...) or `unknown(N)`.
    pub fn type_name(&self) -> String {
        self.kind().map_or_else(
            || format!("unknown({})", self.map_type),
            |k| k.name().into(),
        )
    }

    fn empty(name: String, origin: MapOrigin, section: String, offset: u64) -> MapSpec {
        MapSpec {
            name,
            origin,
            section,
            section_offset: offset,
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            flags: 0,
            numa_node: 0,
            map_extra: 0,
            pinning: Pinning::None,
            inner: None,
            initial: None,
            init_slots: Vec::new(),
            btf_key_type: None,
            btf_value_type: None,
            legacy_extra: Vec::new(),
        }
    }

    /// A global data map over `len` bytes.
    pub(crate) fn global_data(
        name: String,
        origin: MapOrigin,
        len: u32,
        initial: Option<Vec<u8>>,
        btf_value_type: Option<TypeId>,
    ) -> MapSpec {
        let mut m = MapSpec::empty(name.clone(), origin, name, 0);
        m.map_type = MapType::Array.number();
        m.key_size = 4;
        m.value_size = len;
        m.max_entries = 1;
        m.flags = BPF_F_MMAPABLE;
        if matches!(origin, MapOrigin::Rodata | MapOrigin::Kconfig) {
            m.flags |= BPF_F_RDONLY_PROG;
        }
        m.initial = initial;
        m.btf_value_type = btf_value_type;
        m
    }
}

fn is_map_in_map(t: u32) -> bool {
    t == MapType::ArrayOfMaps.number() || t == MapType::HashOfMaps.number()
}

/// A legacy map record before inner-map indices are resolved.
pub(crate) struct LegacyMap {
    pub spec: MapSpec,
    /// The inner map's index among the object's legacy maps.
    pub inner_index: Option<u32>,
}

/// Reads one legacy record (`record` holds exactly the record's bytes).
pub(crate) fn legacy_map(name: String, section: String, offset: u64, record: &[u8]) -> LegacyMap {
    let words: Vec<u32> = record
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let w = |i: usize| words.get(i).copied().unwrap_or(0);
    let mut spec = MapSpec::empty(name, MapOrigin::Legacy, section, offset);
    spec.map_type = w(0);
    spec.key_size = w(1);
    spec.value_size = w(2);
    spec.max_entries = w(3);
    spec.flags = w(4);
    spec.legacy_extra = words.iter().skip(5).copied().collect();
    let mut inner_index = None;
    let legacy_pinning = |p: u32| match p {
        0 => Pinning::None,
        1 => Pinning::ObjectNs,
        2 => Pinning::GlobalNs,
        n => Pinning::Other(n),
    };
    match words.len() {
        n if n >= 9 => {
            // iproute2 `struct bpf_elf_map`: id, pinning, inner_id, inner_idx.
            spec.pinning = legacy_pinning(w(6));
            if is_map_in_map(spec.map_type) {
                inner_index = Some(w(8));
            }
        }
        7 | 8 => {
            if is_map_in_map(spec.map_type) || spec.flags & BPF_F_NUMA_NODE != 0 {
                // Linux samples `struct bpf_load_map_def`: inner_map_idx, numa_node.
                if is_map_in_map(spec.map_type) {
                    inner_index = Some(w(5));
                }
                spec.numa_node = w(6);
            } else {
                // iproute2's older 7-word `struct bpf_elf_map`: id, pinning.
                spec.pinning = legacy_pinning(w(6));
            }
        }
        6 if is_map_in_map(spec.map_type) => inner_index = Some(w(5)),
        _ => {}
    }
    LegacyMap { spec, inner_index }
}

/// Reading BTF map definitions.
pub(crate) struct BtfMapDef {
    pub spec: MapSpec,
    /// Byte offset of the `values` member in the definition struct, if any.
    pub values_offset: Option<u32>,
    /// Whether `values` declares programs (a prog array) rather than maps.
    pub values_are_programs: bool,
}

fn map_err(map: &str, message: impl Into<String>) -> ParseError {
    ParseError::Map {
        map: map.to_string(),
        message: message.into(),
    }
}

/// The N of `__uint(name, N)`: a pointer to an array of N elements.
fn uint_field(btf: &Btf, map: &str, field: &str, ty: TypeId) -> Result<u32, ParseError> {
    if let Some(Type::Ptr { target }) = btf.resolve(ty) {
        if let Some(Type::Array { nelems, .. }) = btf.resolve(*target) {
            return Ok(*nelems);
        }
    }
    Err(map_err(
        map,
        format!("field {field} is not written as __uint({field}, N)"),
    ))
}

/// `__uint` or `__ulong` (an enum with one value).
fn ulong_field(btf: &Btf, map: &str, field: &str, ty: TypeId) -> Result<u64, ParseError> {
    match btf.resolve(ty) {
        Some(Type::Enum { values, .. }) if values.len() == 1 => Ok(values[0].1 as u64),
        Some(Type::Enum64 { values, .. }) if values.len() == 1 => Ok(values[0].1 as u64),
        _ => uint_field(btf, map, field, ty).map(u64::from),
    }
}

/// The T of `__type(name, T)`: its id and size.
fn type_field(btf: &Btf, map: &str, field: &str, ty: TypeId) -> Result<(TypeId, u32), ParseError> {
    let Some(Type::Ptr { target }) = btf.resolve(ty) else {
        return Err(map_err(
            map,
            format!("field {field} is not written as __type({field}, T)"),
        ));
    };
    let size = btf
        .size_of(*target)
        .map_err(|e| map_err(map, format!("field {field}: {e}")))?;
    let size = u32::try_from(size)
        .map_err(|_| map_err(map, format!("field {field}: size {size} is too large")))?;
    Ok((*target, size))
}

/// Parses the map definition struct `def` (already resolved) of the map called `name`.
/// `depth` limits nested inner maps.
pub(crate) fn btf_map_def(
    btf: &Btf,
    name: &str,
    origin: MapOrigin,
    section: &str,
    offset: u64,
    def: TypeId,
    depth: u32,
) -> Result<BtfMapDef, ParseError> {
    let Some(Type::Struct(c)) = btf.resolve(def) else {
        return Err(map_err(
            name,
            format!(
                "definition is {}, expected a struct",
                btf.resolve(def).map_or("missing", |t| t.kind().as_str())
            ),
        ));
    };
    let mut spec = MapSpec::empty(name.to_string(), origin, section.to_string(), offset);
    let mut values_offset = None;
    let mut values_are_programs = false;
    let (mut key_size, mut value_size) = (None, None);
    for (i, m) in c.members.iter().enumerate() {
        let field = m.name.as_str();
        match field {
            "type" => spec.map_type = uint_field(btf, name, field, m.ty)?,
            "max_entries" => spec.max_entries = uint_field(btf, name, field, m.ty)?,
            "map_flags" => spec.flags = uint_field(btf, name, field, m.ty)?,
            "numa_node" => spec.numa_node = uint_field(btf, name, field, m.ty)?,
            "map_extra" => spec.map_extra = ulong_field(btf, name, field, m.ty)?,
            "pinning" => {
                spec.pinning = match uint_field(btf, name, field, m.ty)? {
                    0 => Pinning::None,
                    1 => Pinning::ByName,
                    // Loaders define their own values (Cilium's CILIUM_PIN_REPLACE is 16).
                    n => Pinning::Other(n),
                }
            }
            "key_size" | "value_size" => {
                let n = uint_field(btf, name, field, m.ty)?;
                let slot = if field == "key_size" {
                    &mut key_size
                } else {
                    &mut value_size
                };
                if slot.is_some_and(|s| s != n) {
                    return Err(map_err(
                        name,
                        format!("{field} {n} conflicts with its type"),
                    ));
                }
                *slot = Some(n);
            }
            "key" | "value" => {
                let (id, size) = type_field(btf, name, field, m.ty)?;
                let (slot, type_slot) = if field == "key" {
                    (&mut key_size, &mut spec.btf_key_type)
                } else {
                    (&mut value_size, &mut spec.btf_value_type)
                };
                if slot.is_some_and(|s| s != size) {
                    return Err(map_err(
                        name,
                        format!("{field} type size {size} conflicts with {field}_size"),
                    ));
                }
                *slot = Some(size);
                *type_slot = Some(id);
            }
            "values" => {
                if i + 1 != c.members.len() {
                    return Err(map_err(name, "values must be the last field"));
                }
                let Some(Type::Array { elem, .. }) = btf.resolve(m.ty) else {
                    return Err(map_err(name, "values is not written as __array(values, T)"));
                };
                let Some(Type::Ptr { target }) = btf.resolve(*elem) else {
                    return Err(map_err(name, "values elements are not pointers"));
                };
                if m.bit_offset % 8 != 0 {
                    return Err(map_err(name, "values is not byte-aligned"));
                }
                values_offset = Some(m.bit_offset / 8);
                match btf.resolve(*target) {
                    Some(Type::FuncProto { .. }) => values_are_programs = true,
                    Some(Type::Struct(_)) => {
                        if depth >= 1 {
                            return Err(map_err(name, "inner map has an inner map"));
                        }
                        let inner_name = format!("{name}.inner");
                        let inner = btf_map_def(
                            btf,
                            &inner_name,
                            MapOrigin::Inner,
                            section,
                            offset,
                            *target,
                            depth + 1,
                        )?;
                        spec.inner = Some(Box::new(inner.spec));
                    }
                    _ => {
                        return Err(map_err(
                            name,
                            "values must point to a map definition or a function prototype",
                        ))
                    }
                }
            }
            _ => return Err(map_err(name, format!("unknown field {field:?}"))),
        }
    }
    if values_are_programs && spec.map_type != MapType::ProgArray.number() {
        return Err(map_err(
            name,
            "values declares programs but the map is not a prog array",
        ));
    }
    if spec.inner.is_some() {
        if !is_map_in_map(spec.map_type) {
            return Err(map_err(
                name,
                "values declares an inner map but the map is not a map-in-map",
            ));
        }
        // The value of a map-in-map is a map id (4 bytes).
        value_size.get_or_insert(4);
    }
    if values_are_programs {
        value_size.get_or_insert(4);
    }
    spec.key_size = key_size.unwrap_or(0);
    spec.value_size = value_size.unwrap_or(0);
    Ok(BtfMapDef {
        spec,
        values_offset,
        values_are_programs,
    })
}
