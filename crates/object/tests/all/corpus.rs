//! The corpus (`../shared/corpus/ebpf-samples`): every object outside `invalid/` loads and
//! its programs and maps match `tests/golden/object/inventory.tsv` (captured from
//! llvm-readelf-19 by `scripts/regen-object-golden.sh`); every `invalid/` file loads or fails
//! with a one-line error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ebpfvm_object::{
    InitSlot, MapOrigin, MapType, Object, ProgramType, RelocationKind, TypeSource,
};

/// The corpus root, or `None` (with a message) when it is absent.
pub fn corpus_root() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("corpus not found at {}: skipping", p.display());
        None
    }
}

/// Every file under `dir`, sorted, as paths relative to `root`.
fn files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

fn load(root: &Path, rel: &str) -> Object {
    let data = std::fs::read(root.join(rel)).unwrap();
    Object::parse(&data).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn golden() -> BTreeMap<String, Vec<String>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/object/inventory.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (file, rest) = line.split_once('\t').unwrap();
        out.entry(file.to_string())
            .or_default()
            .push(rest.to_string());
    }
    out
}

/// The loader's view in the golden format: programs in order, then maps sorted by
/// (section, offset, name) in three groups (legacy, `.maps`, data).
fn inventory(obj: &Object) -> Vec<String> {
    let mut lines: Vec<String> = obj
        .programs
        .iter()
        .map(|p| {
            format!(
                "prog\t{}\t{}\t{:#x}\t{}",
                p.section, p.name, p.section_offset, p.functions[0].len
            )
        })
        .collect();
    let mut maps: Vec<(u8, String, u64, String)> = obj
        .maps
        .iter()
        .filter(|m| m.origin != MapOrigin::Kconfig)
        .map(|m| {
            let (group, size) = match m.origin {
                MapOrigin::Legacy => (0, (20 + 4 * m.legacy_extra.len()).to_string()),
                MapOrigin::Btf => (1, "-".to_string()),
                _ => (2, m.value_size.to_string()),
            };
            (
                group,
                m.section.clone(),
                m.section_offset,
                format!("{}\t{size}", m.name),
            )
        })
        .collect();
    maps.sort();
    lines.extend(maps.into_iter().map(|(_, section, offset, rest)| {
        let (name, size) = rest.split_once('\t').unwrap();
        format!("map\t{section}\t{name}\t{offset:#x}\t{size}")
    }));
    lines
}

fn sorted_golden(mut lines: Vec<String>) -> Vec<String> {
    // Programs keep their order; maps are grouped and sorted as in `inventory`.
    let split = lines
        .iter()
        .position(|l| l.starts_with("map\t"))
        .unwrap_or(lines.len());
    let mut maps: Vec<(u8, String, u64, String)> = lines
        .split_off(split)
        .into_iter()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let group = if f[1] == ".maps" {
                1
            } else if f[1] == "maps" || f[1].starts_with("maps/") {
                0
            } else {
                2
            };
            let offset = u64::from_str_radix(f[3].trim_start_matches("0x"), 16).unwrap();
            (group, f[1].to_string(), offset, l.clone())
        })
        .collect();
    maps.sort();
    lines.extend(maps.into_iter().map(|m| m.3));
    lines
}

#[test]
fn every_valid_object_loads_and_matches_llvm() {
    let Some(root) = corpus_root() else { return };
    let golden = golden();
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    let valid: Vec<&String> = all
        .iter()
        .filter(|f| !f.starts_with("invalid/") && f.ends_with(".o"))
        .collect();
    assert_eq!(valid.len(), 162, "corpus objects outside invalid/");
    assert_eq!(golden.len(), 162, "objects in the golden inventory");
    let mut programs = 0;
    for rel in valid {
        let obj = load(&root, rel);
        let want = sorted_golden(golden.get(rel.as_str()).cloned().unwrap_or_default());
        let got = inventory(&obj);
        assert_eq!(got, want, "{rel}: inventory differs from llvm-readelf's");
        programs += obj.programs.len();
        check_invariants(rel, &obj);
    }
    assert_eq!(programs, 636);
}

/// Properties every loaded object has.
fn check_invariants(rel: &str, obj: &Object) {
    for p in &obj.programs {
        let insns = p
            .decode()
            .unwrap_or_else(|e| panic!("{rel} {}: {e}", p.name));
        assert!(!insns.is_empty());
        assert_eq!(p.functions[0].start, 0);
        let total: usize = p.functions.iter().map(|f| f.len).sum();
        assert_eq!(total, p.insns.len(), "{rel} {}", p.name);
        for r in &p.relocations {
            let insn = p.insns[r.insn];
            match &r.kind {
                RelocationKind::Map { map } => {
                    assert!(*map < obj.maps.len());
                    assert_eq!((insn.opcode, insn.src, insn.imm), (0x18, 5, *map as i32));
                }
                RelocationKind::MapValue { map, .. } | RelocationKind::Kconfig { map, .. } => {
                    assert!(*map < obj.maps.len());
                    assert_eq!((insn.opcode, insn.src, insn.imm), (0x18, 6, *map as i32));
                }
                RelocationKind::Call { target, .. } => {
                    assert_eq!((insn.opcode, insn.src), (0x85, 1));
                    assert_eq!(r.insn as i64 + 1 + i64::from(insn.imm), *target as i64);
                    assert!(p
                        .functions
                        .iter()
                        .any(|f| *target >= f.start && *target < f.start + f.len));
                }
                RelocationKind::FuncPtr { target, .. } => {
                    assert_eq!((insn.opcode, insn.src), (0x18, 4));
                    assert_eq!(r.insn as i64 + 1 + i64::from(insn.imm), *target as i64);
                }
                RelocationKind::ExternCall { .. } => assert_eq!((insn.opcode, insn.src), (0x85, 2)),
                RelocationKind::ExternVar { .. } => assert_eq!((insn.opcode, insn.src), (0x18, 3)),
                other => panic!("{rel}: unexpected relocation {other:?}"),
            }
        }
        // Every pseudo-call lands inside the program.
        for (pc, i) in p.insns.iter().enumerate() {
            if i.opcode == 0x85 && i.src == 1 {
                let t = pc as i64 + 1 + i64::from(i.imm);
                assert!(
                    t >= 0 && (t as usize) < p.insns.len(),
                    "{rel} {} pc {pc}",
                    p.name
                );
            }
        }
    }
    for (i, m) in obj.maps.iter().enumerate() {
        for (_, slot) in &m.init_slots {
            match slot {
                InitSlot::Map(k) => assert!(*k < obj.maps.len() && *k != i),
                InitSlot::Program(name) => assert!(obj.program(name).is_some(), "{rel} {name}"),
            }
        }
    }
}

#[test]
fn invalid_objects_load_or_fail_cleanly() {
    let Some(root) = corpus_root() else { return };
    let mut all = Vec::new();
    files(&root, &root.join("invalid"), &mut all);
    assert_eq!(all.len(), 11);
    let mut failed = Vec::new();
    for rel in &all {
        let data = std::fs::read(root.join(rel)).unwrap();
        match Object::parse(&data) {
            Ok(obj) => check_invariants(rel, &obj),
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'), "{rel}: {msg:?}");
                failed.push(rel.clone());
            }
        }
    }
    // The README's "no/invalid symbol section" files and the bad ld_imm64.
    assert_eq!(
        failed,
        [
            "invalid/806cc077e56f0ec32236c99055714f63649e7a38",
            "invalid/badsymsize.o",
            "invalid/invalid-lddw.o"
        ]
    );
}

#[test]
fn conventions_seen_in_the_corpus() {
    let Some(root) = corpus_root() else { return };
    // Section names → types, old and new.
    let obj = load(&root, "linux/sockex1_kern.o");
    assert_eq!(obj.programs[0].prog_type, ProgramType::SocketFilter);
    assert_eq!(obj.license.as_deref(), Some("GPL"));
    let obj = load(&root, "cilium-core/bpf_host.o");
    let p = obj.program("cil_from_netdev").unwrap();
    assert_eq!(
        (p.prog_type, p.type_source),
        (ProgramType::SchedCls, TypeSource::LegacyPrefix)
    );
    let obj = load(&root, "cilium-examples/fentry_bpf_bpfel.o");
    let p = &obj.programs[0];
    assert_eq!(p.prog_type, ProgramType::Tracing);
    assert_eq!(p.attach_target.as_deref(), Some("tcp_connect"));

    // e_machine 0 and RELA relocations (Open vSwitch).
    let obj = load(&root, "ovs/datapath.o");
    assert_eq!(obj.machine, 0);
    assert_eq!(obj.programs.len(), 19);
    assert!(obj.programs.iter().any(|p| p
        .relocations
        .iter()
        .any(|r| matches!(r.kind, RelocationKind::Map { .. }))));

    // bpf-to-bpf calls: `func` calls add2, which calls add1.
    let obj = load(&root, "build/bpf2bpf.o");
    let p = obj.program("func").unwrap();
    let subs: Vec<&str> = p.subprograms().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(subs, ["add2", "add1"]);
    assert_eq!(p.func_info.len(), 3);
    assert!(p
        .func_info
        .iter()
        .all(|fi| p.functions.iter().any(|f| f.start == fi.insn)));

    // Legacy map-in-map: inner_map_idx.
    let obj = load(&root, "linux/test_map_in_map_kern.o");
    let (_, m) = obj.map("a_of_port_a").unwrap();
    assert_eq!(m.kind(), Some(MapType::ArrayOfMaps));
    assert_eq!(m.inner.as_ref().unwrap().name, "port_a");
    // Legacy maps in maps/* sections, inner map in another section.
    let obj = load(&root, "build/map_in_map_legacy.o");
    let (_, m) = obj.map("array_of_maps").unwrap();
    assert_eq!(m.inner.as_ref().unwrap().name, "inner_map");

    // BTF map-in-map with values, and a prog array with programs.
    let obj = load(&root, "build/map_in_map.o");
    let (inner, _) = obj.map("inner_map").unwrap();
    let (_, outer) = obj.map("array_of_maps").unwrap();
    assert_eq!(outer.init_slots, [(0, InitSlot::Map(inner))]);
    assert_eq!(outer.inner.as_ref().unwrap().kind(), Some(MapType::Array));
    let obj = load(&root, "build/prog_array.o");
    let (_, m) = obj.map("prog_array_map").unwrap();
    assert_eq!(m.init_slots.len(), 4);
    assert_eq!(m.init_slots[2], (2, InitSlot::Program("func2".into())));

    // Global data: .bss zero-filled, .rodata read-only with contents.
    let obj = load(&root, "build/global_variable.o");
    let (_, rodata) = obj.map(".rodata").unwrap();
    assert_eq!(rodata.initial.as_ref().map(Vec::len), Some(4));
    assert_ne!(rodata.flags & ebpfvm_object::maps::BPF_F_RDONLY_PROG, 0);
    let (_, bss) = obj.map(".bss").unwrap();
    assert!(bss.initial.is_none());
    assert_eq!(obj.globals.len(), 4);
    assert!(obj.programs[0]
        .relocations
        .iter()
        .all(|r| matches!(r.kind, RelocationKind::MapValue { .. })));

    // CO-RE records are attached to their programs.
    let obj = load(&root, "cilium-examples/tcprtt_sockops_bpf_bpfel.o");
    assert_eq!(obj.programs[0].core_relos.len(), 21);

    // Calls to functions the object does not define are left for the runtime.
    let obj = load(&root, "build/externalfunction.o");
    assert!(obj.programs[0].relocations.iter().any(|r| r.kind
        == RelocationKind::ExternCall {
            name: "bpf_map_lookup_elem".into()
        }));
}
