//! Loading an object: maps created and initialised, programs relocated, checked against
//! their type's helpers, context accesses converted, and prepared for the interpreter.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ebpfvm_abi::{MapType, ProgHandle, ProgramType};
use ebpfvm_helpers::{MapTable, TraceLog};
use ebpfvm_interp::Program;
use ebpfvm_isa::{decode_all, Call, Insn, RawInsn};
use ebpfvm_maps::{ArrayMap, Map, MapDef, MapOptions, ProgEntry};
use ebpfvm_object::{InitSlot, MapOrigin, MapSpec, Object, ProgramSpec, RelocationKind};

use crate::error::{type_name, LoadError};
use crate::slots::SlotPool;

static NEXT_PROG_ID: AtomicU32 = AtomicU32::new(1);

/// Where CO-RE relocations are resolved.
#[derive(Clone, Debug, Default)]
pub enum CoreTarget {
    /// The running kernel's BTF (`/sys/kernel/btf/vmlinux`) when readable, else the
    /// object's own BTF.
    #[default]
    Auto,
    /// The object's own BTF: uapi types resolve as compiled.
    Local,
    /// A BTF blob (a kernel's vmlinux BTF).
    Btf(Arc<ebpfvm_btf::Btf>),
}

/// How to load an object.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Execution slots ("CPUs"): per-CPU maps keep one value per slot.
    pub slots: usize,
    /// The BTF CO-RE relocations are resolved against.
    pub core_target: CoreTarget,
    /// Verify every program before preparing it (default). Without verification the
    /// interpreter's checked mode is all that stands between a program and the host, which
    /// is safe but lets programs Linux would reject run.
    pub verify: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            slots: std::thread::available_parallelism().map_or(1, |n| n.get()),
            core_target: CoreTarget::Auto,
            verify: true,
        }
    }
}

/// A map of a loaded object.
#[derive(Debug)]
pub struct LoadedMap {
    /// Its name in the object.
    pub name: String,
    /// Its specification.
    pub spec: MapSpec,
    /// The map.
    pub map: Arc<dyn Map>,
}

/// A program of a loaded object, ready to run.
#[derive(Debug)]
pub struct LoadedProgram {
    /// Its name.
    pub name: String,
    /// The section it came from.
    pub section: String,
    /// Its type.
    pub prog_type: ProgramType,
    /// Its id (the fd analogue), process-wide.
    pub id: u32,
    /// The instructions as run: relocated, CO-RE applied, context accesses converted
    /// (what `bpftool prog dump xlated` shows).
    pub xlated: Vec<RawInsn>,
    pub(crate) exec: Arc<Program>,
}

/// Memory of global data the programs address directly (`.data`, `.rodata`, `.bss`,
/// `BPF_PSEUDO_MAP_VALUE` of arrays), granted to every run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DirectRegion {
    pub(crate) ptr: *mut u8,
    pub(crate) len: usize,
    pub(crate) writable: bool,
}

// SAFETY-free marker: the pointers are into maps the object holds (`Arc<dyn Map>`), which
// are Send + Sync; the regions are only used while the object is alive.
#[allow(
    unsafe_code,
    reason = "raw pointers into maps the object owns; see DirectRegion"
)]
// SAFETY: a DirectRegion points into an array map's value memory, which is owned by an
// `Arc<dyn Map>` the same `Loaded` holds and is designed for concurrent access (atomic words).
unsafe impl Send for DirectRegion {}
#[allow(
    unsafe_code,
    reason = "raw pointers into maps the object owns; see DirectRegion"
)]
// SAFETY: as for Send: shared access to map memory is what maps are built for.
unsafe impl Sync for DirectRegion {}

/// An object loaded into the runtime: its maps and programs.
#[derive(Debug)]
pub struct Loaded {
    /// The maps, in object order.
    pub maps: Vec<LoadedMap>,
    /// The programs that are ready to run, in object order.
    pub programs: Vec<LoadedProgram>,
    /// The programs that could not be prepared (an unknown helper, a rejected context
    /// access, ...), with why. Like a failed `BPF_PROG_LOAD`, they cannot run; the others
    /// can.
    pub rejected: Vec<(String, LoadError)>,
    /// Every program's name and type, accepted or not.
    pub(crate) section_types: Vec<(String, ProgramType)>,
    pub(crate) table: MapTable,
    pub(crate) direct: Vec<DirectRegion>,
    pub(crate) trace: TraceLog,
    pub(crate) slots: SlotPool,
    /// Warnings (e.g. the CO-RE target used).
    pub warnings: Vec<String>,
}

impl Loaded {
    /// Loads every program and map of `obj`.
    pub fn load(obj: &Object, opts: &LoadOptions) -> Result<Loaded, LoadError> {
        let map_opts = MapOptions::with_slots(opts.slots);
        let mut maps = Vec::with_capacity(obj.maps.len());
        let mut table = MapTable::new();
        for spec in &obj.maps {
            let map = create(spec, &map_opts)?;
            table.insert(map.clone());
            maps.push(LoadedMap {
                name: spec.name.clone(),
                spec: spec.clone(),
                map,
            });
        }
        // Initial contents: global data first, then map-in-map slots.
        for m in &maps {
            if let Some(init) = &m.spec.initial {
                if m.spec.origin.is_global_data() || m.map.map_type() == MapType::Array {
                    let mut value = init.clone();
                    value.resize(m.map.value_size(), 0);
                    m.map
                        .update(&0u32.to_le_bytes(), &value, 0)
                        .map_err(|e| init_err(m, 0, e.to_string()))?;
                }
            }
            for (slot, init) in &m.spec.init_slots {
                if let InitSlot::Map(idx) = init {
                    let inner = maps_get(&maps, *idx, &m.name)?;
                    let key = key_bytes(*slot, m.map.key_size());
                    m.map
                        .update_inner(&key, inner, 0)
                        .map_err(|e| init_err(m, *slot, e.to_string()))?;
                }
            }
        }
        for m in &maps {
            if matches!(m.spec.origin, MapOrigin::Rodata | MapOrigin::Kconfig) {
                // libbpf freezes read-only global data once it is initialised.
                let _ = m.map.freeze();
            }
        }

        let mut warnings = Vec::new();
        let core = core_target(obj, &opts.core_target, &mut warnings);

        let mut direct: Vec<DirectRegion> = Vec::new();
        let mut programs = Vec::with_capacity(obj.programs.len());
        let mut rejected = Vec::new();
        for spec in &obj.programs {
            match prepare(spec, obj, &maps, &mut direct, core.as_deref(), opts.verify) {
                Ok(p) => programs.push(p),
                Err(e) => rejected.push((spec.name.clone(), e)),
            }
        }
        // prog_array slots initialised with programs.
        for m in &maps {
            for (slot, init) in &m.spec.init_slots {
                if let InitSlot::Program(name) = init {
                    let Some(p) = programs.iter().find(|p| &p.name == name) else {
                        if rejected.iter().any(|(n, _)| n == name) {
                            // A program that could not be prepared leaves its slot empty.
                            continue;
                        }
                        return Err(init_err(m, *slot, format!("no program named '{name}'")));
                    };
                    let entry = ProgEntry {
                        id: p.id,
                        handle: p.exec.clone() as ProgHandle,
                    };
                    m.map
                        .set_prog(*slot, Some(entry))
                        .map_err(|e| init_err(m, *slot, e.to_string()))?;
                }
            }
        }
        let section_types = obj
            .programs
            .iter()
            .map(|p| (p.name.clone(), p.prog_type))
            .collect();
        Ok(Loaded {
            maps,
            programs,
            rejected,
            section_types,
            table,
            direct,
            trace: TraceLog::new(),
            slots: SlotPool::new(opts.slots),
            warnings,
        })
    }

    /// A program given as instructions, without an object: no maps, no relocations (a map
    /// reference is an error), for embedders that build bytecode themselves. The helpers
    /// `prog_type` allows are available; `ProgramType::Unspec` runs on raw memory.
    pub fn from_insns(
        name: &str,
        prog_type: ProgramType,
        insns: &[RawInsn],
        opts: &LoadOptions,
    ) -> Result<Loaded, LoadError> {
        if opts.verify {
            let allowed = |t: ProgramType, id: i64| {
                ebpfvm_helpers::implemented(id) && ebpfvm_helpers::allowed(t, id)
            };
            let input = ebpfvm_verifier::VerifyInput {
                slots: insns,
                prog_type,
                expected_attach_type: None,
                maps: &[],
                line_info: &[],
                allowed_helper: &allowed,
            };
            if let Err(r) =
                ebpfvm_verifier::verify(&input, &ebpfvm_verifier::VerifyOptions::default())
            {
                return Err(LoadError::Verify {
                    prog: name.to_string(),
                    pc: r.pc,
                    message: r.message,
                });
            }
        }
        let mut direct = Vec::new();
        let (programs, rejected) = match build(
            name.into(),
            String::new(),
            prog_type,
            insns.to_vec(),
            &[],
            &mut direct,
        ) {
            Ok(p) => (vec![p], Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(Loaded {
            maps: Vec::new(),
            section_types: vec![(name.to_string(), prog_type)],
            programs,
            rejected,
            table: MapTable::new(),
            direct,
            trace: TraceLog::new(),
            slots: SlotPool::new(opts.slots),
            warnings: Vec::new(),
        })
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Option<&LoadedProgram> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&LoadedMap> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The trace_printk output of every run so far.
    pub fn trace(&self) -> &TraceLog {
        &self.trace
    }

    /// Number of execution slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The program to run: `name`, or the only program there is.
    pub fn select(&self, name: Option<&str>) -> Result<&LoadedProgram, crate::RunError> {
        let names = || {
            self.programs
                .iter()
                .map(|p| p.name.as_str())
                .chain(self.rejected.iter().map(|(n, _)| n.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(n) => {
                if let Some(p) = self.program(n) {
                    return Ok(p);
                }
                if let Some((_, e)) = self.rejected.iter().find(|(r, _)| r == n) {
                    return Err(crate::RunError::Rejected(e.to_string()));
                }
                Err(crate::RunError::NoSuchProgram {
                    name: n.to_string(),
                    available: names(),
                })
            }
            None => {
                let runnable: Vec<&LoadedProgram> = self
                    .programs
                    .iter()
                    .filter(|p| p.prog_type != ProgramType::Unspec || self.programs.len() == 1)
                    .collect();
                // Rejected programs of a named type count (the user may have meant one);
                // rejected `unspec` ones are subprograms that failed on their own.
                let typed_rejects = self
                    .rejected
                    .iter()
                    .filter(|(n, _)| {
                        self.section_types
                            .iter()
                            .any(|(pn, t)| pn == n && *t != ProgramType::Unspec)
                    })
                    .count();
                match runnable.as_slice() {
                    [one] if typed_rejects == 0 => Ok(one),
                    [] if self.rejected.len() == 1 => {
                        Err(crate::RunError::Rejected(self.rejected[0].1.to_string()))
                    }
                    [] if typed_rejects == 1 => {
                        let (_, e) = self
                            .rejected
                            .iter()
                            .find(|(n, _)| {
                                self.section_types
                                    .iter()
                                    .any(|(pn, t)| pn == n && *t != ProgramType::Unspec)
                            })
                            .expect("counted above");
                        Err(crate::RunError::Rejected(e.to_string()))
                    }
                    _ => Err(crate::RunError::AmbiguousProgram {
                        count: self.programs.len() + self.rejected.len(),
                        available: names(),
                    }),
                }
            }
        }
    }
}

fn init_err(m: &LoadedMap, slot: u32, message: String) -> LoadError {
    LoadError::MapInit {
        name: m.name.clone(),
        slot,
        message,
    }
}

fn maps_get(maps: &[LoadedMap], idx: usize, outer: &str) -> Result<Arc<dyn Map>, LoadError> {
    maps.get(idx)
        .map(|m| m.map.clone())
        .ok_or_else(|| LoadError::MapInit {
            name: outer.to_string(),
            slot: idx as u32,
            message: format!("map index {idx} does not exist"),
        })
}

fn key_bytes(slot: u32, key_size: usize) -> Vec<u8> {
    let mut k = slot.to_le_bytes().to_vec();
    k.resize(key_size.max(4), 0);
    k.truncate(key_size.max(1));
    k
}

fn def_of(spec: &MapSpec) -> Result<MapDef, LoadError> {
    let t = spec.kind().ok_or_else(|| LoadError::MapType {
        name: spec.name.clone(),
        map_type: spec.map_type,
    })?;
    let mut def = MapDef::new(t, spec.key_size, spec.value_size, spec.max_entries)
        .with_flags(spec.flags)
        .with_map_extra(spec.map_extra);
    if let Some(inner) = &spec.inner {
        def = def.with_inner(def_of(inner)?);
    }
    Ok(def)
}

fn create(spec: &MapSpec, opts: &MapOptions) -> Result<Arc<dyn Map>, LoadError> {
    let def = def_of(spec)?;
    ebpfvm_maps::create_map(&def, opts).map_err(|error| LoadError::Map {
        name: spec.name.clone(),
        error,
    })
}

/// The target BTF for CO-RE, if the object has any CO-RE records.
fn core_target(
    obj: &Object,
    target: &CoreTarget,
    warnings: &mut Vec<String>,
) -> Option<Arc<ebpfvm_btf::Btf>> {
    if obj.programs.iter().all(|p| p.core_relos.is_empty()) {
        return None;
    }
    match target {
        CoreTarget::Btf(b) => Some(b.clone()),
        CoreTarget::Local => obj.btf.clone().map(Arc::new),
        CoreTarget::Auto => match crate::vmlinux() {
            Some(b) => {
                warnings.push("CO-RE relocations resolved against /sys/kernel/btf/vmlinux".into());
                Some(b)
            }
            None => {
                warnings.push(
                    "CO-RE relocations resolved against the object's own BTF (no kernel BTF)"
                        .into(),
                );
                obj.btf.clone().map(Arc::new)
            }
        },
    }
}

fn prepare(
    spec: &ProgramSpec,
    obj: &Object,
    maps: &[LoadedMap],
    direct: &mut Vec<DirectRegion>,
    core: Option<&ebpfvm_btf::Btf>,
    verify: bool,
) -> Result<LoadedProgram, LoadError> {
    let name = spec.name.clone();
    let mut spec = spec.clone();
    if !spec.core_relos.is_empty() {
        if let (Some(local), Some(target)) = (obj.btf.as_ref(), core) {
            crate::core::apply(&mut spec, local, target).map_err(|message| LoadError::Core {
                prog: name.clone(),
                message,
            })?;
        }
    }
    if verify {
        let specs: Vec<_> = maps.iter().map(|m| m.spec.clone()).collect();
        let opts = ebpfvm_verifier::VerifyOptions::default();
        if let Err(r) = crate::verify::verify_program(&spec, &specs, &opts, true) {
            return Err(LoadError::Verify {
                prog: name,
                pc: r.pc,
                message: r.message,
            });
        }
    }
    let insns = spec.insns.clone();
    let rel_err = |insn: usize, message: String| LoadError::Relocation {
        prog: name.clone(),
        insn,
        message,
    };
    // Unresolved externs: name them.
    for r in &spec.relocations {
        match &r.kind {
            RelocationKind::ExternCall { name } => {
                return Err(rel_err(
                    r.insn,
                    format!("calls kernel function '{name}', which ebpfvm does not provide"),
                ))
            }
            RelocationKind::ExternVar { name } => {
                return Err(rel_err(
                    r.insn,
                    format!("refers to kernel variable '{name}', which ebpfvm does not provide"),
                ))
            }
            _ => {}
        }
    }
    build(
        name,
        spec.section.clone(),
        spec.prog_type,
        insns,
        maps,
        direct,
    )
}

/// Relocates map references, checks helpers, converts context accesses and prepares the
/// program for the interpreter.
fn build(
    name: String,
    section: String,
    prog_type: ProgramType,
    mut insns: Vec<RawInsn>,
    maps: &[LoadedMap],
    direct: &mut Vec<DirectRegion>,
) -> Result<LoadedProgram, LoadError> {
    let rel_err = |insn: usize, message: String| LoadError::Relocation {
        prog: name.clone(),
        insn,
        message,
    };
    // Map references become map addresses and value addresses.
    let mut i = 0;
    while i < insns.len() {
        let s = insns[i];
        if s.opcode == 0x18 {
            if i + 1 >= insns.len() {
                return Err(rel_err(i, "ld_imm64 without its second slot".into()));
            }
            let value = match s.src {
                5 => {
                    let m = map_at(maps, s.imm)
                        .ok_or_else(|| rel_err(i, format!("map index {} does not exist", s.imm)))?;
                    Some(MapTable::addr_of(&m.map))
                }
                6 => {
                    let m = map_at(maps, s.imm)
                        .ok_or_else(|| rel_err(i, format!("map index {} does not exist", s.imm)))?;
                    let off = insns[i + 1].imm as u32 as u64;
                    Some(value_addr(m, off, direct).map_err(|msg| rel_err(i, msg))?)
                }
                _ => None,
            };
            if let Some(v) = value {
                insns[i].src = 0;
                insns[i].imm = v as u32 as i32;
                insns[i + 1].imm = (v >> 32) as u32 as i32;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    // Helpers the type may call.
    let decoded = decode_all(&insns).map_err(|e| LoadError::Prepare {
        prog: name.clone(),
        error: e.into(),
    })?;
    for (pc, insn) in &decoded {
        if let Insn::Call(Call::Helper(id)) = insn {
            let id = *id as i64;
            if !(ebpfvm_helpers::implemented(id) && ebpfvm_helpers::allowed(prog_type, id)) {
                let helper = match u32::try_from(id)
                    .ok()
                    .and_then(ebpfvm_abi::helpers::helper_by_id)
                {
                    Some(h) => format!("bpf_{}#{id}", h.name),
                    None => format!("#{id}"),
                };
                let reason = if ebpfvm_helpers::implemented(id) {
                    format!("{} programs cannot call it", type_name(prog_type))
                } else {
                    "ebpfvm does not provide this helper".to_string()
                };
                return Err(LoadError::Helper {
                    prog: name.clone(),
                    insn: *pc,
                    helper,
                    reason,
                });
            }
        }
    }
    let xlated = ebpfvm_rewrite::convert_ctx_access(&insns, prog_type).map_err(|error| {
        LoadError::Rewrite {
            prog: name.clone(),
            error,
        }
    })?;
    let exec = Program::from_slots(&xlated).map_err(|error| LoadError::Prepare {
        prog: name.clone(),
        error,
    })?;
    Ok(LoadedProgram {
        name,
        section,
        prog_type,
        id: NEXT_PROG_ID.fetch_add(1, Ordering::Relaxed),
        xlated,
        exec: Arc::new(exec),
    })
}

fn map_at(maps: &[LoadedMap], idx: i32) -> Option<&LoadedMap> {
    usize::try_from(idx).ok().and_then(|i| maps.get(i))
}

/// The address of byte `off` of an array's first value, registering the array's memory as
/// directly addressed.
fn value_addr(m: &LoadedMap, off: u64, direct: &mut Vec<DirectRegion>) -> Result<u64, String> {
    let Some(array) = m.map.as_any().downcast_ref::<ArrayMap>() else {
        return Err(format!(
            "map '{}' is a {}: only arrays have directly addressable values",
            m.name,
            m.map.map_type().name()
        ));
    };
    let (ptr, len) = array.memory();
    if off >= m.map.value_size().max(1) as u64 && off != 0 {
        return Err(format!(
            "offset {off} is outside the {}-byte value of map '{}'",
            m.map.value_size(),
            m.name
        ));
    }
    if !direct.iter().any(|d| d.ptr == ptr) {
        direct.push(DirectRegion {
            ptr,
            len,
            writable: m.map.prog_may_write(),
        });
    }
    Ok(ptr as u64 + off)
}
