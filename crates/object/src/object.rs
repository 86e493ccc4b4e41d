//! [`Object::parse`]: the whole loader, from ELF bytes to programs, maps and globals.

use std::collections::{BTreeMap, HashMap};

use ebpfvm_abi::{AttachType, ProgramType};
use ebpfvm_btf::{Btf, BtfExt, FuncLinkage, Kind, Type, TypeId, VarLinkage};
use ebpfvm_isa::{slots_from_bytes, RawInsn};
use object::elf;

use crate::elf::{Elf, Symbol};
use crate::error::{Escaped, ParseError, RelocationError};
use crate::link::{BtfExtIndex, Func, LinkInput, Target, TargetRef};
use crate::maps::{btf_map_def, legacy_map, InitSlot, MapOrigin, MapSpec};
use crate::program::{ProgramSpec, TypeSource};

/// The most instruction slots all linked programs may hold together (about 200 MB): each
/// program gets its own copy of the subprograms it calls, so a small malicious object could
/// otherwise ask for a great deal of memory. The corpus's largest object needs 0.13 M.
pub const MAX_TOTAL_SLOTS: usize = 1 << 24;

/// Options for [`Object::parse_with`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct LoadOptions {
    /// Give every program this type and expected attach type, whatever its section says.
    pub force_type: Option<(ProgramType, Option<AttachType>)>,
    /// Give this type to the programs whose section name names none (`.text`, Cilium's
    /// `2/7`, ...).
    pub default_type: Option<(ProgramType, Option<AttachType>)>,
}

/// A global variable: a named object symbol in a global data section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GlobalVar {
    /// The variable's name.
    pub name: String,
    /// Its section (`.data`, `.rodata`, `.bss`, ...).
    pub section: String,
    /// The section's map, by index into [`Object::maps`].
    pub map: usize,
    /// Byte offset in the section.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Whether the symbol is global (or weak) rather than `static`.
    pub global: bool,
    /// Its BTF `VAR` type, if the object has BTF for it.
    pub btf_type: Option<TypeId>,
}

/// What an extern symbol is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ExternKind {
    /// A `.kconfig` variable, at `offset` in the `.kconfig` map's value.
    Kconfig {
        /// Byte offset.
        offset: u32,
        /// Size in bytes.
        size: u32,
    },
    /// A `.ksyms` kernel variable (`__ksym`).
    Ksym,
    /// A kernel function (`__ksym` function, or a function with extern BTF linkage).
    Kfunc,
    /// An undefined symbol the object has no BTF for.
    Unknown,
}

impl ExternKind {
    /// A short name: `kconfig`, `ksym`, `kfunc`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExternKind::Kconfig { .. } => "kconfig",
            ExternKind::Ksym => "ksym",
            ExternKind::Kfunc => "kfunc",
            ExternKind::Unknown => "unknown",
        }
    }
}

/// An extern: an undefined global symbol the runtime must provide.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Extern {
    /// The symbol's name.
    pub name: String,
    /// What it is.
    pub kind: ExternKind,
    /// `__weak`: may be left unresolved.
    pub weak: bool,
    /// Its BTF `VAR` or `FUNC`, if any.
    pub btf_type: Option<TypeId>,
}

/// A function of a code section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Function {
    /// The function's name.
    pub name: String,
    /// Its section.
    pub section: String,
    /// Byte offset in the section.
    pub offset: u64,
    /// Length in slots.
    pub len: usize,
    /// Whether the symbol is global (or weak).
    pub global: bool,
}

/// A loaded eBPF ELF object: plain data, no handles.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Object {
    /// The ELF `e_machine` (247 for BPF; 0 in some old objects).
    pub machine: u16,
    /// The `license` section (up to its first NUL).
    pub license: Option<String>,
    /// The `version` section: the kernel version old kprobe programs were built for.
    pub kernel_version: Option<u32>,
    /// The programs: one per function of every code section (including `.text`, whose
    /// functions are also linked into the programs that call them), in section order and
    /// then address order.
    pub programs: Vec<ProgramSpec>,
    /// The maps: legacy, then BTF-defined, then global data, then `.kconfig`. Relocated
    /// instructions refer to maps by index into this list.
    pub maps: Vec<MapSpec>,
    /// Global variables of the data sections.
    pub globals: Vec<GlobalVar>,
    /// Externs (undefined global symbols).
    pub externs: Vec<Extern>,
    /// Every function of every code section.
    pub functions: Vec<Function>,
    /// `.BTF`, if present and valid.
    pub btf: Option<Btf>,
    /// `.BTF.ext`, if present and valid.
    pub btf_ext: Option<BtfExt>,
    /// Things that were skipped without failing the load (an unusable `.BTF` that no map
    /// needs, for example), one line each.
    pub warnings: Vec<String>,
}

impl Object {
    /// Loads an object with default options.
    pub fn parse(data: &[u8]) -> Result<Object, ParseError> {
        Object::parse_with(data, &LoadOptions::default())
    }

    /// Loads an object.
    pub fn parse_with(data: &[u8], options: &LoadOptions) -> Result<Object, ParseError> {
        Loader::new(data)?.run(options)
    }

    /// The first program called `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The first program called `name`, to change its type.
    pub fn program_mut(&mut self, name: &str) -> Option<&mut ProgramSpec> {
        self.programs.iter_mut().find(|p| p.name == name)
    }

    /// The index and spec of the first map called `name`.
    pub fn map(&self, name: &str) -> Option<(usize, &MapSpec)> {
        self.maps.iter().enumerate().find(|(_, m)| m.name == name)
    }
}

/// What a section is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SecKind {
    Code,
    License,
    Version,
    LegacyMaps,
    BtfMaps,
    Data(MapOrigin),
    Btf,
    BtfExt,
    Other,
}

fn classify(s: &crate::elf::Section<'_>) -> SecKind {
    let Some(name) = s.name.as_deref() else {
        return SecKind::Other;
    };
    if s.is_code() {
        return SecKind::Code;
    }
    let prefixed = |base: &str| {
        name == base
            || name
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    match name {
        "license" => SecKind::License,
        "version" => SecKind::Version,
        ".maps" => SecKind::BtfMaps,
        ".BTF" => SecKind::Btf,
        ".BTF.ext" => SecKind::BtfExt,
        _ if name == "maps" || name.starts_with("maps/") => SecKind::LegacyMaps,
        _ if s.sh_type == elf::SHT_PROGBITS && s.size > 0 && prefixed(".data") => {
            SecKind::Data(MapOrigin::Data)
        }
        _ if s.sh_type == elf::SHT_PROGBITS && s.size > 0 && prefixed(".rodata") => {
            SecKind::Data(MapOrigin::Rodata)
        }
        _ if s.sh_type == elf::SHT_NOBITS && s.size > 0 && prefixed(".bss") => {
            SecKind::Data(MapOrigin::Bss)
        }
        _ => SecKind::Other,
    }
}

/// Where extern BTF says a name lives.
struct ExternBtf {
    /// `.kconfig` variables: name → VAR type.
    kconfig: HashMap<String, TypeId>,
    /// `.ksyms` variables and functions: name → (type, is function).
    ksyms: HashMap<String, (TypeId, bool)>,
}

struct Loader<'data> {
    elf: Elf<'data>,
    kinds: Vec<SecKind>,
    btf: Option<Btf>,
    btf_ext: Option<BtfExt>,
    warnings: Vec<String>,
    /// Code sections: slots by section index. (Ordered maps here and below: iterating
    /// them must not make the output or the first error depend on hashing.)
    code: BTreeMap<usize, Vec<RawInsn>>,
    funcs: Vec<Func>,
    /// Function indices by section, sorted by start slot.
    funcs_by_section: BTreeMap<usize, Vec<usize>>,
    maps: Vec<MapSpec>,
    /// (maps section, offset) → map index.
    map_at: HashMap<(usize, u64), usize>,
    /// Data section → map index.
    data_map: HashMap<usize, usize>,
    externs: Vec<Extern>,
    /// Symbol index → extern index.
    extern_of_symbol: HashMap<usize, usize>,
    kconfig_map: Option<usize>,
}

impl<'data> Loader<'data> {
    fn new(data: &'data [u8]) -> Result<Loader<'data>, ParseError> {
        let elf = Elf::parse(data)?;
        let kinds = elf.sections.iter().map(classify).collect();
        Ok(Loader {
            elf,
            kinds,
            btf: None,
            btf_ext: None,
            warnings: Vec::new(),
            code: BTreeMap::new(),
            funcs: Vec::new(),
            funcs_by_section: BTreeMap::new(),
            maps: Vec::new(),
            map_at: HashMap::new(),
            data_map: HashMap::new(),
            externs: Vec::new(),
            extern_of_symbol: HashMap::new(),
            kconfig_map: None,
        })
    }

    fn sections_of(&self, kind: SecKind) -> Vec<usize> {
        (0..self.kinds.len())
            .filter(|&i| self.kinds[i] == kind)
            .collect()
    }

    fn run(mut self, options: &LoadOptions) -> Result<Object, ParseError> {
        let (license, kernel_version) = self.license_and_version()?;
        for (i, s) in self.elf.sections.iter().enumerate() {
            if s.name
                .as_deref()
                .is_some_and(|n| n.starts_with(".struct_ops"))
            {
                self.warnings.push(format!(
                    "skipping section {}: struct_ops maps are not supported yet",
                    Escaped(&s.display_name(i))
                ));
            }
        }
        self.load_btf()?;
        self.load_code()?;
        self.legacy_maps()?;
        self.btf_maps()?;
        self.data_maps();
        self.collect_externs()?;
        let targets = self.resolve_relocations()?;
        let globals = self.globals();
        let ext_index = BtfExtIndex::new(self.btf_ext.as_ref());

        let input = LinkInput {
            elf: &self.elf,
            code: &self.code,
            funcs: &self.funcs,
            funcs_by_section: &self.funcs_by_section,
            targets: &targets,
            externs: &self.externs,
            kconfig_map: self.kconfig_map,
            ext: &ext_index,
        };
        let mut programs = Vec::with_capacity(self.funcs.len());
        let mut total_slots: usize = 0;
        for entry in 0..self.funcs.len() {
            let mut prog = input.link(entry)?;
            total_slots = total_slots.saturating_add(prog.insns.len());
            if total_slots > MAX_TOTAL_SLOTS {
                return Err(ParseError::TooManySlots {
                    limit: MAX_TOTAL_SLOTS,
                });
            }
            prog.type_from_section();
            if let Some((t, a)) = options.force_type {
                prog.set_type(t, a);
            } else if let (TypeSource::Unknown, Some((t, a))) =
                (prog.type_source, options.default_type)
            {
                prog.set_type(t, a);
            }
            if let Err(source) = prog.decode() {
                return Err(ParseError::Decode {
                    program: prog.name,
                    source,
                });
            }
            programs.push(prog);
        }

        let functions = self
            .funcs
            .iter()
            .map(|f| Function {
                name: f.name.clone(),
                section: self.elf.section_name(f.section),
                offset: f.start as u64 * 8,
                len: f.len,
                global: f.global,
            })
            .collect();
        Ok(Object {
            machine: self.elf.machine,
            license,
            kernel_version,
            programs,
            maps: self.maps,
            globals,
            externs: self.externs,
            functions,
            btf: self.btf,
            btf_ext: self.btf_ext,
            warnings: self.warnings,
        })
    }

    fn license_and_version(&self) -> Result<(Option<String>, Option<u32>), ParseError> {
        let mut license = None;
        let mut version = None;
        for (i, s) in self.elf.sections.iter().enumerate() {
            match self.kinds[i] {
                SecKind::License => {
                    let text = s.data.split(|&b| b == 0).next().unwrap_or_default();
                    license = Some(String::from_utf8_lossy(text).into_owned());
                }
                SecKind::Version => {
                    let bytes: [u8; 4] = s.data.try_into().map_err(|_| ParseError::Section {
                        section: "version".into(),
                        message: format!("size {} is not 4", s.data.len()),
                    })?;
                    version = Some(u32::from_le_bytes(bytes));
                }
                _ => {}
            }
        }
        Ok((license, version))
    }

    /// Parses `.BTF` and `.BTF.ext`. A bad `.BTF` fails the load only if `.maps` needs it;
    /// otherwise it (and `.BTF.ext`) is skipped with a warning, as libbpf does.
    fn load_btf(&mut self) -> Result<(), ParseError> {
        let needs_btf = !self.sections_of(SecKind::BtfMaps).is_empty();
        if let Some(&i) = self.sections_of(SecKind::Btf).first() {
            match Btf::parse(self.elf.sections[i].data) {
                Ok(btf) => self.btf = Some(btf),
                Err(source) if needs_btf => {
                    return Err(ParseError::Btf {
                        section: ".BTF",
                        source,
                    })
                }
                Err(e) => self
                    .warnings
                    .push(format!("ignoring .BTF: {}", Escaped(&e.to_string()))),
            }
        }
        if let (Some(&i), Some(btf)) = (self.sections_of(SecKind::BtfExt).first(), &self.btf) {
            match BtfExt::parse(self.elf.sections[i].data, btf) {
                Ok(ext) => self.btf_ext = Some(ext),
                Err(e) => self
                    .warnings
                    .push(format!("ignoring .BTF.ext: {}", Escaped(&e.to_string()))),
            }
        }
        Ok(())
    }

    /// Splits every code section into functions.
    fn load_code(&mut self) -> Result<(), ParseError> {
        for index in self.sections_of(SecKind::Code) {
            let s = &self.elf.sections[index];
            let name = s.display_name(index);
            let slots = slots_from_bytes(s.data).map_err(|_| ParseError::Section {
                section: name.clone(),
                message: format!("code size {} is not a multiple of 8", s.data.len()),
            })?;
            let nslots = slots.len();
            let mut syms: Vec<&Symbol> = self
                .elf
                .symbols_in(index)
                .filter(|sym| sym.is_func())
                .collect();
            syms.sort_by_key(|sym| sym.value);
            syms.dedup_by_key(|sym| sym.value);
            let mut list = Vec::new();
            if syms.is_empty() {
                // An old object: the whole section is one program, named by the section's
                // global symbol at offset 0 if there is one.
                let sym_name = self
                    .elf
                    .symbols_in(index)
                    .find(|sym| {
                        sym.value == 0
                            && sym.is_global()
                            && !sym.is_section()
                            && !sym.name.is_empty()
                    })
                    .map(|sym| (sym.name.clone(), true));
                let (fname, global) = sym_name.unwrap_or((name.clone(), false));
                list.push(self.funcs.len());
                self.funcs.push(Func {
                    name: fname,
                    section: index,
                    start: 0,
                    len: nslots,
                    global,
                });
            }
            for (k, sym) in syms.iter().enumerate() {
                let bad = |message: String| ParseError::Symbol {
                    symbol: sym.name.clone(),
                    section: name.clone(),
                    message,
                };
                if sym.value % 8 != 0 {
                    return Err(bad(format!(
                        "offset {:#x} is not a multiple of 8",
                        sym.value
                    )));
                }
                let start = sym.value / 8;
                let next = syms.get(k + 1).map_or(nslots as u64, |n| n.value / 8);
                let end = if sym.size == 0 {
                    next
                } else {
                    if sym.size % 8 != 0 {
                        return Err(bad(format!("size {:#x} is not a multiple of 8", sym.size)));
                    }
                    start.saturating_add(sym.size / 8)
                };
                if start >= nslots as u64 || end > nslots as u64 || end <= start {
                    return Err(bad(format!(
                        "function at {:#x} with size {:#x} lies outside the section ({:#x} bytes)",
                        sym.value,
                        sym.size,
                        s.data.len()
                    )));
                }
                list.push(self.funcs.len());
                self.funcs.push(Func {
                    name: if sym.name.is_empty() {
                        format!("{name}+{:#x}", sym.value)
                    } else {
                        sym.name.clone()
                    },
                    section: index,
                    start: start as usize,
                    len: (end - start) as usize,
                    global: sym.is_global(),
                });
            }
            self.funcs_by_section.insert(index, list);
            self.code.insert(index, slots);
        }
        Ok(())
    }

    /// The map-defining symbols of a section (named, not section or file symbols), sorted by
    /// offset.
    fn map_symbols(&self, section: usize) -> Vec<(String, u64)> {
        let mut syms: Vec<(String, u64)> = self
            .elf
            .symbols_in(section)
            .filter(|s| !s.is_section() && s.kind != elf::STT_FILE && !s.name.is_empty())
            .map(|s| (s.name.clone(), s.value))
            .collect();
        syms.sort_by_key(|s| s.1);
        syms
    }

    fn legacy_maps(&mut self) -> Result<(), ParseError> {
        let mut pending = Vec::new();
        for index in self.sections_of(SecKind::LegacyMaps) {
            let s = &self.elf.sections[index];
            let name = s.display_name(index);
            let syms = self.map_symbols(index);
            if syms.is_empty() {
                continue;
            }
            let size = s.data.len() as u64;
            let n = syms.len() as u64;
            if size % n != 0 || size == 0 {
                return Err(ParseError::Section {
                    section: name,
                    message: format!("{size} bytes cannot hold {n} map definitions of one size"),
                });
            }
            let rec = size / n;
            let data = s.data;
            for (sym_name, value) in syms {
                let end = value.checked_add(rec).filter(|&e| e <= size);
                let Some(end) = end else {
                    return Err(ParseError::Map {
                        map: sym_name,
                        message: format!(
                            "definition at offset {value:#x} ({rec} bytes) runs past the end of section {name}"
                        ),
                    });
                };
                let record = &data[value as usize..end as usize];
                self.map_at
                    .insert((index, value), self.maps.len() + pending.len());
                pending.push(legacy_map(sym_name, name.clone(), value, record));
            }
        }
        let specs: Vec<MapSpec> = pending.iter().map(|l| l.spec.clone()).collect();
        for (i, l) in pending.into_iter().enumerate() {
            let mut spec = l.spec;
            if let Some(inner) = l.inner_index {
                let Some(inner_spec) = specs.get(inner as usize).filter(|_| inner as usize != i)
                else {
                    return Err(ParseError::Map {
                        map: spec.name,
                        message: format!(
                            "inner map index {inner} is not another legacy map (there are {})",
                            specs.len()
                        ),
                    });
                };
                spec.inner = Some(Box::new(inner_spec.clone()));
            }
            self.maps.push(spec);
        }
        Ok(())
    }

    fn btf_maps(&mut self) -> Result<(), ParseError> {
        let Some(&index) = self.sections_of(SecKind::BtfMaps).first() else {
            return Ok(());
        };
        let Some(btf) = &self.btf else {
            return Err(ParseError::Section {
                section: ".maps".into(),
                message: "BTF-defined maps need a .BTF section".into(),
            });
        };
        let Some(sec_id) = btf.find_by_name_kind(".maps", Kind::DataSec) else {
            return Err(ParseError::Section {
                section: ".maps".into(),
                message: "no DATASEC .maps in .BTF".into(),
            });
        };
        let Some(Type::DataSec { vars, .. }) = btf.type_by_id(sec_id) else {
            return Ok(());
        };
        let sym_offsets: HashMap<String, u64> = self.map_symbols(index).into_iter().collect();
        struct Pending {
            map: usize,
            offset: u64,
            size: u64,
            values_offset: Option<u32>,
            programs: bool,
        }
        let mut pending = Vec::new();
        for v in vars {
            let Some(Type::Var { name, ty, .. }) = btf.type_by_id(v.ty) else {
                return Err(ParseError::Section {
                    section: ".maps".into(),
                    message: format!("DATASEC entry {} is not a variable", v.ty),
                });
            };
            let offset = sym_offsets
                .get(name.as_str())
                .copied()
                .unwrap_or(u64::from(v.offset));
            let def = btf_map_def(btf, name, MapOrigin::Btf, ".maps", offset, *ty, 0)?;
            // An initialised `values` array makes the variable larger than its struct type.
            let size = btf.size_of(*ty).unwrap_or(0).max(u64::from(v.size));
            let map = self.maps.len();
            self.map_at.insert((index, offset), map);
            pending.push(Pending {
                map,
                offset,
                size,
                values_offset: def.values_offset,
                programs: def.values_are_programs,
            });
            self.maps.push(def.spec);
        }
        // Initial contents of `values` from `.rel.maps`.
        pending.sort_by_key(|p| p.offset);
        for r in &self.elf.rels[index] {
            let k = pending.partition_point(|p| p.offset <= r.offset);
            let p = k
                .checked_sub(1)
                .and_then(|k| pending.get(k))
                .filter(|p| r.offset < p.offset.saturating_add(p.size));
            let Some(p) = p else {
                return Err(ParseError::Section {
                    section: ".maps".into(),
                    message: format!("relocation at offset {:#x} is outside every map", r.offset),
                });
            };
            let map_name = self.maps[p.map].name.clone();
            let bad = |message: String| ParseError::Map {
                map: map_name.clone(),
                message,
            };
            let Some(values) = p.values_offset else {
                return Err(bad(format!(
                    "relocation at offset {:#x} but the map has no values field",
                    r.offset
                )));
            };
            let rel = r.offset - p.offset;
            if rel < u64::from(values) || (rel - u64::from(values)) % 8 != 0 {
                return Err(bad(format!(
                    "relocation at offset {:#x} is not a values slot",
                    r.offset
                )));
            }
            let slot = ((rel - u64::from(values)) / 8) as u32;
            let Some(sym) = self.elf.symbols.get(r.symbol) else {
                return Err(bad(format!(
                    "relocation refers to symbol {}, which does not exist",
                    r.symbol
                )));
            };
            let value = if p.programs {
                let is_code = sym.section.is_some_and(|s| self.kinds[s] == SecKind::Code);
                if !is_code || !sym.is_func() {
                    return Err(bad(format!(
                        "values slot {slot}: {} is not a program",
                        sym.name
                    )));
                }
                InitSlot::Program(sym.name.clone())
            } else {
                let target = sym
                    .section
                    .filter(|&s| s == index)
                    .and_then(|s| self.map_at.get(&(s, sym.value)).copied());
                let Some(target) = target else {
                    return Err(bad(format!(
                        "values slot {slot}: {} is not a map",
                        sym.name
                    )));
                };
                InitSlot::Map(target)
            };
            let slots = &mut self.maps[p.map].init_slots;
            slots.retain(|(i, _)| *i != slot);
            slots.push((slot, value));
            slots.sort_by_key(|(i, _)| *i);
        }
        Ok(())
    }

    fn data_maps(&mut self) {
        for (index, s) in self.elf.sections.iter().enumerate() {
            let SecKind::Data(origin) = self.kinds[index] else {
                continue;
            };
            let Ok(len) = u32::try_from(s.size) else {
                self.warnings.push(format!(
                    "skipping data section {}: {} bytes is too large",
                    Escaped(&s.display_name(index)),
                    s.size
                ));
                continue;
            };
            let name = s.display_name(index);
            let btf_type = self
                .btf
                .as_ref()
                .and_then(|b| b.find_by_name_kind(&name, Kind::DataSec));
            let initial = (origin != MapOrigin::Bss).then(|| s.data.to_vec());
            self.data_map.insert(index, self.maps.len());
            self.maps
                .push(MapSpec::global_data(name, origin, len, initial, btf_type));
        }
    }

    fn extern_btf(&self) -> ExternBtf {
        let mut out = ExternBtf {
            kconfig: HashMap::new(),
            ksyms: HashMap::new(),
        };
        let Some(btf) = &self.btf else {
            return out;
        };
        for (sec, is_kconfig) in [(".kconfig", true), (".ksyms", false)] {
            let Some(id) = btf.find_by_name_kind(sec, Kind::DataSec) else {
                continue;
            };
            let Some(Type::DataSec { vars, .. }) = btf.type_by_id(id) else {
                continue;
            };
            for v in vars {
                match btf.type_by_id(v.ty) {
                    Some(Type::Var { name, .. }) if is_kconfig => {
                        out.kconfig.insert(name.clone(), v.ty);
                    }
                    Some(Type::Var { name, .. }) => {
                        out.ksyms.insert(name.clone(), (v.ty, false));
                    }
                    Some(Type::Func { name, .. }) if !is_kconfig => {
                        out.ksyms.insert(name.clone(), (v.ty, true));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Classifies every undefined global symbol, and lays out `.kconfig` as libbpf does:
    /// sorted by alignment (largest first), then size (smallest first), then name.
    fn collect_externs(&mut self) -> Result<(), ParseError> {
        let info = self.extern_btf();
        let mut kconfig = Vec::new();
        for (i, sym) in self.elf.symbols.iter().enumerate() {
            if !sym.undefined || sym.name.is_empty() || !sym.is_global() || i == 0 {
                continue;
            }
            let weak = sym.bind == elf::STB_WEAK;
            let (kind, btf_type) = if let Some(&ty) = info.kconfig.get(&sym.name) {
                let btf = self.btf.as_ref();
                let size = btf
                    .and_then(|b| b.size_of(ty).ok())
                    .and_then(|s| u32::try_from(s).ok())
                    .filter(|&s| s > 0)
                    .ok_or_else(|| ParseError::Extern {
                        name: sym.name.clone(),
                        message: "kconfig variable has no size".into(),
                    })?;
                let align = btf.map_or(1, |b| align_of(b, ty));
                kconfig.push((self.externs.len(), align, size));
                (ExternKind::Kconfig { offset: 0, size }, Some(ty))
            } else if let Some(&(ty, func)) = info.ksyms.get(&sym.name) {
                let kind = if func {
                    ExternKind::Kfunc
                } else {
                    ExternKind::Ksym
                };
                (kind, Some(ty))
            } else if let Some(id) = self.extern_func_btf(&sym.name) {
                (ExternKind::Kfunc, Some(id))
            } else {
                (ExternKind::Unknown, None)
            };
            self.extern_of_symbol.insert(i, self.externs.len());
            self.externs.push(Extern {
                name: sym.name.clone(),
                kind,
                weak,
                btf_type,
            });
        }
        if kconfig.is_empty() {
            return Ok(());
        }
        kconfig.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(a.2.cmp(&b.2))
                .then_with(|| self.externs[a.0].name.cmp(&self.externs[b.0].name))
        });
        let mut off: u32 = 0;
        for (ext, align, size) in kconfig {
            off = off.div_ceil(align).saturating_mul(align);
            self.externs[ext].kind = ExternKind::Kconfig { offset: off, size };
            off = off.saturating_add(size);
        }
        let btf_type = self
            .btf
            .as_ref()
            .and_then(|b| b.find_by_name_kind(".kconfig", Kind::DataSec));
        self.kconfig_map = Some(self.maps.len());
        self.maps.push(MapSpec::global_data(
            ".kconfig".into(),
            MapOrigin::Kconfig,
            off,
            None,
            btf_type,
        ));
        Ok(())
    }

    /// A BTF `FUNC` with extern linkage called `name`.
    fn extern_func_btf(&self, name: &str) -> Option<TypeId> {
        let btf = self.btf.as_ref()?;
        btf.find_by_name(name).into_iter().find(|&id| {
            matches!(
                btf.type_by_id(id),
                Some(Type::Func {
                    linkage: FuncLinkage::Extern,
                    ..
                })
            )
        })
    }

    /// Resolves every relocation of every code section: `targets[section]` lists
    /// `(slot, target)` sorted by slot. Sections are resolved in index order, so that the
    /// error reported for a malformed object is always the same one.
    fn resolve_relocations(&self) -> Result<BTreeMap<usize, Vec<TargetRef>>, ParseError> {
        let mut out = BTreeMap::new();
        for (&index, slots) in &self.code {
            let section = self.elf.section_name(index);
            let mut list = Vec::with_capacity(self.elf.rels[index].len());
            for r in &self.elf.rels[index] {
                let at = |offset| RelocationError::NotAnInstruction {
                    section: section.clone(),
                    offset,
                };
                if r.offset % 8 != 0 {
                    return Err(at(r.offset).into());
                }
                let slot = (r.offset / 8) as usize;
                let Some(insn) = slots.get(slot) else {
                    return Err(at(r.offset).into());
                };
                let Some(sym) = self.elf.symbols.get(r.symbol) else {
                    return Err(RelocationError::NoSuchSymbol {
                        section,
                        offset: r.offset,
                        index: r.symbol,
                    }
                    .into());
                };
                let target = self.resolve_one(&section, r.offset, r.symbol, r.addend, sym, insn)?;
                list.push(TargetRef {
                    slot,
                    symbol: sym.name.clone(),
                    target,
                });
            }
            list.sort_by_key(|t| t.slot);
            list.dedup_by_key(|t| t.slot);
            out.insert(index, list);
        }
        Ok(out)
    }

    fn resolve_one(
        &self,
        section: &str,
        offset: u64,
        sym_index: usize,
        addend: i64,
        sym: &Symbol,
        insn: &RawInsn,
    ) -> Result<Target, RelocationError> {
        let base = (sym.value as i64).wrapping_add(addend);
        const CALL: u8 = 0x85;
        const LD_IMM64: u8 = 0x18;
        let unsupported = || RelocationError::UnsupportedInstruction {
            section: section.to_string(),
            offset,
            symbol: sym.name.clone(),
            opcode: insn.opcode,
        };
        if insn.opcode != CALL && insn.opcode != LD_IMM64 {
            return Err(unsupported());
        }
        if sym.undefined {
            let Some(&ext) = self.extern_of_symbol.get(&sym_index) else {
                return Err(RelocationError::UnsupportedTarget {
                    section: section.to_string(),
                    offset,
                    symbol: sym.name.clone(),
                    target_section: "(undefined, not global)".into(),
                });
            };
            return Ok(if insn.opcode == CALL {
                Target::ExternCall(ext)
            } else if let ExternKind::Kconfig { .. } = self.externs[ext].kind {
                Target::Kconfig(ext)
            } else {
                Target::ExternVar(ext)
            });
        }
        let target_kind = sym.section.map(|s| (s, self.kinds[s]));
        let unsupported_target = || RelocationError::UnsupportedTarget {
            section: section.to_string(),
            offset,
            symbol: sym.name.clone(),
            target_section: sym
                .section
                .map_or_else(|| "(none)".into(), |s| self.elf.section_name(s)),
        };
        if insn.opcode == CALL {
            if insn.src != 1 {
                return Err(RelocationError::BadCall {
                    section: section.to_string(),
                    offset,
                    symbol: sym.name.clone(),
                    src: insn.src,
                });
            }
            let Some((s, SecKind::Code)) = target_kind else {
                return Err(unsupported_target());
            };
            let byte = base.wrapping_add((i64::from(insn.imm) + 1) * 8);
            return Ok(Target::Code {
                section: s,
                byte,
                call: true,
            });
        }
        let imm = |with_imm: bool| if with_imm { i64::from(insn.imm) } else { 0 };
        match target_kind {
            Some((s, SecKind::Code)) => Ok(Target::Code {
                section: s,
                byte: base.wrapping_add(imm(true)),
                call: false,
            }),
            Some((s, SecKind::LegacyMaps | SecKind::BtfMaps)) => {
                let map_offset = base.wrapping_add(imm(sym.is_section()));
                u64::try_from(map_offset)
                    .ok()
                    .and_then(|o| self.map_at.get(&(s, o)))
                    .map(|&m| Target::Map(m))
                    .ok_or_else(|| RelocationError::NoMapAtOffset {
                        section: section.to_string(),
                        offset,
                        symbol: sym.name.clone(),
                        map_section: self.elf.section_name(s),
                        map_offset,
                    })
            }
            Some((s, SecKind::Data(_))) => match self.data_map.get(&s) {
                Some(&map) => Ok(Target::Data {
                    map,
                    offset: base.wrapping_add(imm(true)),
                }),
                None => Err(unsupported_target()),
            },
            _ => Err(unsupported_target()),
        }
    }

    fn globals(&self) -> Vec<GlobalVar> {
        let var_types: HashMap<&str, TypeId> = self
            .btf
            .as_ref()
            .map(|b| {
                b.types()
                    .filter_map(|(id, t)| match t {
                        Type::Var { name, linkage, .. } if *linkage != VarLinkage::GlobalExtern => {
                            Some((name.as_str(), id))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for sym in &self.elf.symbols {
            let Some(s) = sym.section else { continue };
            let Some(&map) = self.data_map.get(&s) else {
                continue;
            };
            if sym.kind != elf::STT_OBJECT || sym.name.is_empty() {
                continue;
            }
            out.push(GlobalVar {
                name: sym.name.clone(),
                section: self.elf.section_name(s),
                map,
                offset: sym.value,
                size: sym.size,
                global: sym.is_global(),
                btf_type: var_types.get(sym.name.as_str()).copied(),
            });
        }
        out.sort_by(|a, b| a.map.cmp(&b.map).then(a.offset.cmp(&b.offset)));
        out
    }
}

/// Alignment of a `.kconfig` variable's type: integers and enums by their size, arrays by
/// their element, anything else 1 (libbpf lays out only ints, bools, chars, tristates and
/// char arrays).
fn align_of(btf: &Btf, ty: TypeId) -> u32 {
    let mut cur = ty;
    for _ in 0..16 {
        match btf.resolve(cur) {
            Some(Type::Var { ty, .. }) => cur = *ty,
            Some(Type::Array { elem, .. }) => cur = *elem,
            Some(Type::Int { size, .. } | Type::Enum { size, .. } | Type::Enum64 { size, .. }) => {
                return (*size).clamp(1, 8)
            }
            Some(Type::Ptr { .. }) => return 8,
            _ => return 1,
        }
    }
    1
}
