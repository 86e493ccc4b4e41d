//! `ebpfvm object show FILE.o [--json]`: what an ELF object holds, as the loader sees it.
//!
//! Programs (name, section, type, expected attach type, attach target, instruction count,
//! subprograms linked in, relocations), maps (every attribute), global variables, externs,
//! a relocation summary, a BTF summary, license and kernel version. `--json` prints the
//! same as one [`ObjectJson`] object. A malformed object is exit status 1 with one
//! `error: FILE: ...` line; an unreadable file exit status 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use ebpfvm_object::{ExternKind, InitSlot, MapSpec, Object, ProgramSpec};
use serde::{Deserialize, Serialize};

use super::input::read_file;
use super::{write_json, CliError, EXIT_OK};

/// `ebpfvm object ...`.
#[derive(Debug, Subcommand)]
pub enum ObjectCommand {
    /// Show the programs, maps, globals, relocations and BTF of an ELF object.
    ///
    /// Exit status 1 (one `error:` line) if the object is malformed, 2 if it cannot be read.
    Show {
        /// The ELF object.
        file: std::path::PathBuf,
        /// Print one JSON object instead of the text: {"file", "machine", "license",
        /// "kernel_version", "programs": [...], "maps": [...], "globals": [...], "externs":
        /// [...], "relocations": {kind: count}, "btf": {...} or null, "warnings": [...]}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an `object` subcommand.
pub fn run(command: ObjectCommand, out: &mut dyn Write) -> Result<u8, CliError> {
    match command {
        ObjectCommand::Show { file, json } => show(&file, json, out),
    }
}

/// The `--json` output of `ebpfvm object show`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ObjectJson {
    /// The file as given.
    pub file: String,
    /// ELF `e_machine` (247 = BPF, 0 in some old objects).
    pub machine: u16,
    /// The `license` section, if any.
    pub license: Option<String>,
    /// The `version` section, if any.
    pub kernel_version: Option<u32>,
    /// The programs.
    pub programs: Vec<ProgramJson>,
    /// The maps, in index order.
    pub maps: Vec<MapJson>,
    /// Global variables.
    pub globals: Vec<GlobalJson>,
    /// Externs.
    pub externs: Vec<ExternJson>,
    /// Relocations applied over all programs, by kind.
    pub relocations: BTreeMap<String, usize>,
    /// BTF summary; `null` without (valid) `.BTF`.
    pub btf: Option<BtfJson>,
    /// Things skipped without failing the load.
    pub warnings: Vec<String>,
}

/// A program of an [`ObjectJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProgramJson {
    /// Name.
    pub name: String,
    /// ELF section.
    pub section: String,
    /// Byte offset in the section.
    pub section_offset: u64,
    /// Program type (short name, e.g. `xdp`; `unspec` if the section names none).
    #[serde(rename = "type")]
    pub prog_type: String,
    /// The type's uapi number.
    pub type_number: u32,
    /// How the type was decided: `section`, `legacy_prefix`, `unknown`, `user`.
    pub type_source: String,
    /// Expected attach type, if any.
    pub attach_type: Option<String>,
    /// Attach target from the section name, if any.
    pub attach_target: Option<String>,
    /// Sleepable.
    pub sleepable: bool,
    /// XDP with fragments.
    pub xdp_frags: bool,
    /// Instruction slots after linking.
    pub insns: usize,
    /// Slots of the program's own function.
    pub own_insns: usize,
    /// Subprograms linked in, in order.
    pub subprograms: Vec<String>,
    /// Relocations applied, by kind.
    pub relocations: BTreeMap<String, usize>,
    /// `.BTF.ext` records placed in the program.
    pub func_info: usize,
    /// Line info records.
    pub line_info: usize,
    /// CO-RE relocation records (not applied).
    pub core_relos: usize,
}

/// A map of an [`ObjectJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MapJson {
    /// Index (what relocated instructions refer to).
    pub index: usize,
    /// Name.
    pub name: String,
    /// `legacy`, `btf`, `data`, `rodata`, `bss`, `kconfig`.
    pub origin: String,
    /// ELF section.
    pub section: String,
    /// Byte offset of the definition in the section.
    pub section_offset: u64,
    /// Map type short name (`hash`, ...) or `unknown(N)`.
    #[serde(rename = "type")]
    pub map_type: String,
    /// Map type number.
    pub type_number: u32,
    /// Key size.
    pub key_size: u32,
    /// Value size.
    pub value_size: u32,
    /// Max entries.
    pub max_entries: u32,
    /// Flags.
    pub flags: u32,
    /// NUMA node.
    pub numa_node: u32,
    /// map_extra.
    pub map_extra: u64,
    /// Pinning (`none`, `by_name`, `object_ns`, `global_ns`, `other(N)`).
    pub pinning: String,
    /// Inner map template (map-in-map).
    pub inner: Option<Box<MapJson>>,
    /// Bytes of initial contents (`null`: zero-filled).
    pub initial_len: Option<usize>,
    /// Initial elements: `[index, "map:NAME" | "prog:NAME"]`.
    pub init_slots: Vec<(u32, String)>,
    /// BTF key type id.
    pub btf_key_type: Option<u32>,
    /// BTF value type id.
    pub btf_value_type: Option<u32>,
    /// Legacy record words after the first five.
    pub legacy_extra: Vec<u32>,
}

/// A global variable of an [`ObjectJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GlobalJson {
    /// Name.
    pub name: String,
    /// Section.
    pub section: String,
    /// Map index.
    pub map: usize,
    /// Offset in the section.
    pub offset: u64,
    /// Size.
    pub size: u64,
    /// Global (not static).
    pub global: bool,
}

/// An extern of an [`ObjectJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExternJson {
    /// Name.
    pub name: String,
    /// `kconfig`, `ksym`, `kfunc`, `unknown`.
    pub kind: String,
    /// Offset in the `.kconfig` map (kconfig only).
    pub offset: Option<u32>,
    /// Weak.
    pub weak: bool,
}

/// The BTF summary of an [`ObjectJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BtfJson {
    /// Number of types (not counting void).
    pub types: usize,
    /// Whether `.BTF.ext` was loaded.
    pub has_ext: bool,
    /// func_info records.
    pub func_info: usize,
    /// line_info records.
    pub line_info: usize,
    /// CO-RE relocation records.
    pub core_relos: usize,
}

/// Loads `path` as an object: exit 2 if unreadable, 1 if malformed.
pub fn load(path: &Path) -> Result<Object, CliError> {
    let data = read_file(path)?;
    Object::parse(&data).map_err(|e| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let _ = write!(msg, ": {s}");
            source = s.source();
        }
        CliError::rejected(format!("{}: {msg}", path.display()))
    })
}

fn map_json(index: usize, m: &MapSpec, maps: &[MapSpec]) -> MapJson {
    MapJson {
        index,
        name: m.name.clone(),
        origin: m.origin.as_str().into(),
        section: m.section.clone(),
        section_offset: m.section_offset,
        map_type: m.type_name(),
        type_number: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.flags,
        numa_node: m.numa_node,
        map_extra: m.map_extra,
        pinning: m.pinning.name(),
        inner: m.inner.as_ref().map(|i| Box::new(map_json(index, i, maps))),
        initial_len: m.initial.as_ref().map(Vec::len),
        init_slots: m
            .init_slots
            .iter()
            .map(|(i, s)| {
                let what = match s {
                    InitSlot::Map(k) => {
                        format!("map:{}", maps.get(*k).map_or("?", |m| m.name.as_str()))
                    }
                    InitSlot::Program(p) => format!("prog:{p}"),
                };
                (*i, what)
            })
            .collect(),
        btf_key_type: m.btf_key_type.map(|t| t.0),
        btf_value_type: m.btf_value_type.map(|t| t.0),
        legacy_extra: m.legacy_extra.clone(),
    }
}

fn reloc_counts(p: &ProgramSpec) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in &p.relocations {
        *out.entry(r.kind.as_str().to_string()).or_insert(0) += 1;
    }
    out
}

/// Builds the [`ObjectJson`] of a loaded object.
pub fn object_json(file: &str, obj: &Object) -> ObjectJson {
    let programs: Vec<ProgramJson> = obj
        .programs
        .iter()
        .map(|p| ProgramJson {
            name: p.name.clone(),
            section: p.section.clone(),
            section_offset: p.section_offset,
            prog_type: p.prog_type.name().into(),
            type_number: p.prog_type.number(),
            type_source: p.type_source.as_str().into(),
            attach_type: p.expected_attach_type.map(|a| a.name().into()),
            attach_target: p.attach_target.clone(),
            sleepable: p.sleepable,
            xdp_frags: p.xdp_frags,
            insns: p.insns.len(),
            own_insns: p.functions.first().map_or(0, |f| f.len),
            subprograms: p.subprograms().iter().map(|f| f.name.clone()).collect(),
            relocations: reloc_counts(p),
            func_info: p.func_info.len(),
            line_info: p.line_info.len(),
            core_relos: p.core_relos.len(),
        })
        .collect();
    let mut relocations = BTreeMap::new();
    for p in &programs {
        for (k, n) in &p.relocations {
            *relocations.entry(k.clone()).or_insert(0) += n;
        }
    }
    let btf = obj.btf.as_ref().map(|b| {
        let ext = obj.btf_ext.as_ref();
        let count = |f: fn(&ebpfvm_btf::BtfExt) -> usize| ext.map_or(0, f);
        BtfJson {
            types: b.len().saturating_sub(1),
            has_ext: ext.is_some(),
            func_info: count(|e| e.func_info.iter().map(|s| s.records.len()).sum()),
            line_info: count(|e| e.line_info.iter().map(|s| s.records.len()).sum()),
            core_relos: count(|e| e.core_relos.iter().map(|s| s.records.len()).sum()),
        }
    });
    ObjectJson {
        file: file.to_string(),
        machine: obj.machine,
        license: obj.license.clone(),
        kernel_version: obj.kernel_version,
        programs,
        maps: obj
            .maps
            .iter()
            .enumerate()
            .map(|(i, m)| map_json(i, m, &obj.maps))
            .collect(),
        globals: obj
            .globals
            .iter()
            .map(|g| GlobalJson {
                name: g.name.clone(),
                section: g.section.clone(),
                map: g.map,
                offset: g.offset,
                size: g.size,
                global: g.global,
            })
            .collect(),
        externs: obj
            .externs
            .iter()
            .map(|e| ExternJson {
                name: e.name.clone(),
                kind: e.kind.as_str().into(),
                offset: match e.kind {
                    ExternKind::Kconfig { offset, .. } => Some(offset),
                    _ => None,
                },
                weak: e.weak,
            })
            .collect(),
        relocations,
        btf,
        warnings: obj.warnings.clone(),
    }
}

fn counts(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn map_line(text: &mut String, indent: &str, m: &MapJson) {
    let _ = write!(
        text,
        "{indent}{} type {} ({}) key {} value {} max_entries {} flags {:#x}",
        m.name, m.map_type, m.type_number, m.key_size, m.value_size, m.max_entries, m.flags
    );
    if m.numa_node != 0 {
        let _ = write!(text, " numa_node {}", m.numa_node);
    }
    if m.map_extra != 0 {
        let _ = write!(text, " map_extra {:#x}", m.map_extra);
    }
    if m.pinning != "none" {
        let _ = write!(text, " pinning {}", m.pinning);
    }
    let _ = write!(
        text,
        " [{} {}+{:#x}]",
        m.origin, m.section, m.section_offset
    );
    if let Some(n) = m.initial_len {
        let _ = write!(text, " initial {n} bytes");
    }
    if let (Some(k), Some(v)) = (m.btf_key_type, m.btf_value_type) {
        let _ = write!(text, " btf key {k} value {v}");
    } else if let Some(v) = m.btf_value_type {
        let _ = write!(text, " btf value {v}");
    }
    if !m.legacy_extra.is_empty() {
        let words: Vec<String> = m.legacy_extra.iter().map(u32::to_string).collect();
        let _ = write!(text, " extra [{}]", words.join(" "));
    }
    if !m.init_slots.is_empty() {
        let slots: Vec<String> = m
            .init_slots
            .iter()
            .map(|(i, s)| format!("{i}={s}"))
            .collect();
        let _ = write!(text, " values [{}]", slots.join(" "));
    }
    text.push('\n');
    if let Some(inner) = &m.inner {
        map_line(
            text,
            &format!("{}  inner: ", " ".repeat(indent.len())),
            inner,
        );
    }
}

/// Renders an [`ObjectJson`] as text.
pub fn render_text(j: &ObjectJson) -> String {
    let mut t = String::new();
    let machine = match j.machine {
        247 => "bpf",
        0 => "none",
        _ => "other",
    };
    let _ = writeln!(t, "file: {}", j.file);
    let _ = writeln!(t, "machine: {machine} ({})", j.machine);
    let _ = writeln!(t, "license: {}", j.license.as_deref().unwrap_or("none"));
    match j.kernel_version {
        Some(v) => {
            let _ = writeln!(
                t,
                "kernel version: {v:#x} ({}.{}.{})",
                v >> 16,
                (v >> 8) & 0xff,
                v & 0xff
            );
        }
        None => t.push_str("kernel version: none\n"),
    }
    match &j.btf {
        Some(b) => {
            let _ = write!(t, "btf: {} types", b.types);
            if b.has_ext {
                let _ = write!(
                    t,
                    ", ext: func_info {}, line_info {}, core_relos {}",
                    b.func_info, b.line_info, b.core_relos
                );
            } else {
                t.push_str(", no ext");
            }
            t.push('\n');
        }
        None => t.push_str("btf: none\n"),
    }
    let _ = writeln!(t, "relocations: {}", counts(&j.relocations));

    let _ = writeln!(t, "programs ({}):", j.programs.len());
    for p in &j.programs {
        let _ = write!(
            t,
            "  {} [{}+{:#x}] type {}",
            p.name, p.section, p.section_offset, p.prog_type
        );
        if let Some(a) = &p.attach_type {
            let _ = write!(t, " attach {a}");
        }
        if let Some(target) = &p.attach_target {
            let _ = write!(t, " target {target}");
        }
        if p.type_source != "section" {
            let _ = write!(t, " ({})", p.type_source);
        }
        if p.sleepable {
            t.push_str(" sleepable");
        }
        if p.xdp_frags {
            t.push_str(" frags");
        }
        let _ = write!(t, " insns {}", p.insns);
        if !p.subprograms.is_empty() {
            let _ = write!(t, " subprograms {}", p.subprograms.join(","));
        }
        if !p.relocations.is_empty() {
            let _ = write!(t, " relocs: {}", counts(&p.relocations));
        }
        if p.func_info + p.line_info + p.core_relos > 0 {
            let _ = write!(
                t,
                " btf.ext: func {} line {} core {}",
                p.func_info, p.line_info, p.core_relos
            );
        }
        t.push('\n');
    }
    let _ = writeln!(t, "maps ({}):", j.maps.len());
    for m in &j.maps {
        map_line(&mut t, &format!("  {}: ", m.index), m);
    }
    if !j.globals.is_empty() {
        let _ = writeln!(t, "globals ({}):", j.globals.len());
        for g in &j.globals {
            let _ = writeln!(
                t,
                "  {} [{}+{:#x}] size {} map {}{}",
                g.name,
                g.section,
                g.offset,
                g.size,
                g.map,
                if g.global { "" } else { " static" }
            );
        }
    }
    if !j.externs.is_empty() {
        let _ = writeln!(t, "externs ({}):", j.externs.len());
        for e in &j.externs {
            let _ = write!(t, "  {} {}", e.name, e.kind);
            if let Some(o) = e.offset {
                let _ = write!(t, " offset {o:#x}");
            }
            if e.weak {
                t.push_str(" weak");
            }
            t.push('\n');
        }
    }
    for w in &j.warnings {
        let _ = writeln!(t, "warning: {w}");
    }
    t
}

/// `ebpfvm object show`.
pub fn show(path: &Path, json: bool, out: &mut dyn Write) -> Result<u8, CliError> {
    let obj = load(path)?;
    let j = object_json(&path.display().to_string(), &obj);
    if json {
        write_json(out, &j)?;
    } else {
        out.write_all(render_text(&j).as_bytes())?;
    }
    Ok(EXIT_OK)
}
