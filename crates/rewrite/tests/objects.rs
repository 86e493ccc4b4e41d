//! The pass over real objects: the fixtures of `tests/progs` (built by clang, accepted by
//! Linux) and the corpus of `../shared/corpus/ebpf-samples`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ebpfvm_abi::ProgramType;
use ebpfvm_isa::{decode_all, Insn, Reg, Size};
use ebpfvm_object::Object;
use ebpfvm_rewrite::{
    convert_ctx_access, convert_ctx_access_with, needs_conversion, ConvertOptions,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(path: &Path) -> Object {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn objects_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            objects_in(&p, out);
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
}

/// xdp_drop_udp.c reads `ctx->data_end` and `ctx->data` once each, at the top:
///
/// ```text
///    0: r2 = *(u32 *)(r1 + 0x4)
///    1: r1 = *(u32 *)(r1 + 0x0)
/// ```
///
/// (from `ebpfvm disasm tests/progs/xdp_drop_udp.o`); both become 8-byte loads of the
/// runtime `xdp_buff` (`data` at 24, `data_end` at 32), nothing else changes.
#[test]
fn xdp_drop_udp_packet_pointers() {
    let obj = parse(&repo_root().join("tests/progs/xdp_drop_udp.o"));
    let prog = obj.program("xdp_drop_udp").expect("program xdp_drop_udp");
    let out = convert_ctx_access_with(&prog.insns, prog.prog_type, &ConvertOptions::default())
        .expect("converts");
    assert_eq!(out.converted, vec![0, 1]);
    assert_eq!(out.slots.len(), prog.insns.len());
    let insns = decode_all(&out.slots).unwrap();
    let r = |n| Reg::new(n).unwrap();
    assert_eq!(
        insns[0].1,
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: r(2),
            src: r(1),
            off: 32
        }
    );
    assert_eq!(
        insns[1].1,
        Insn::Load {
            size: Size::DW,
            signed: false,
            dst: r(1),
            src: r(1),
            off: 24
        }
    );
    for (i, (a, b)) in prog.insns.iter().zip(&out.slots).enumerate().skip(2) {
        assert_eq!(a, b, "slot {i} changed");
    }
}

/// socket_filter.c reads `skb->len` (uapi offset 0), which stays a 4-byte load in place.
#[test]
fn socket_filter_unchanged() {
    let obj = parse(&repo_root().join("tests/progs/socket_filter.o"));
    for prog in &obj.programs {
        let out = convert_ctx_access(&prog.insns, prog.prog_type).expect("converts");
        assert_eq!(out, prog.insns, "{}", prog.name);
    }
}

/// Every program of every fixture converts; kprobe and tracing programs come back as they
/// were.
#[test]
fn every_fixture_converts() {
    let mut paths = Vec::new();
    objects_in(&repo_root().join("tests/progs"), &mut paths);
    assert!(paths.len() >= 10, "fixtures missing: {paths:?}");
    let mut converted = 0;
    for path in &paths {
        let obj = parse(path);
        for prog in &obj.programs {
            let out =
                convert_ctx_access_with(&prog.insns, prog.prog_type, &ConvertOptions::default())
                    .unwrap_or_else(|e| panic!("{} {}: {e}", path.display(), prog.name));
            assert_eq!(out.slots.len(), prog.insns.len());
            if !needs_conversion(prog.prog_type) {
                assert_eq!(out.slots, prog.insns, "{} {}", path.display(), prog.name);
            }
            converted += out.converted.len();
        }
    }
    // xdp_drop_udp 2, map_in_map, tail_calls, hash_counter, core_xdp read packet pointers too.
    assert!(converted > 2, "only {converted} loads converted");
}

/// Objects of the corpus that must convert without error (when the corpus is present),
/// with the type to assume for their programs whose section names no type (old Cilium
/// objects use `from-netdev`, `2/7`, ...: tc programs, or XDP in the XDP objects).
const MUST_CONVERT: &[(&str, ProgramType)] = &[
    ("cilium/bpf_xdp.o", ProgramType::Xdp),
    ("cilium/bpf_xdp_dsr_linux.o", ProgramType::Xdp),
    ("cilium/bpf_lxc.o", ProgramType::SchedCls),
    ("cilium/bpf_netdev.o", ProgramType::SchedCls),
    ("cilium-core/bpf_xdp.o", ProgramType::Xdp),
    ("cilium-core/bpf_lxc.o", ProgramType::SchedCls),
];

/// Runs the pass over every program of every object of the corpus: it must never panic;
/// the summary lists what was rejected and why.
#[test]
fn corpus() {
    let root = repo_root().join("../shared/corpus/ebpf-samples");
    let root = root.canonicalize().unwrap_or(root);
    let mut paths = Vec::new();
    objects_in(&root, &mut paths);
    if paths.is_empty() {
        eprintln!("corpus not found at {}: skipped", root.display());
        return;
    }
    let (mut objects, mut unparsed, mut programs, mut skipped) = (0, 0, 0, 0);
    let (mut ok, mut loads) = (0, 0);
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failed_must = Vec::new();
    // Programs of each must-convert object that converted, and how many loads.
    let mut must_ok: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for path in &paths {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let Ok(bytes) = std::fs::read(path) else {
            unparsed += 1;
            continue;
        };
        let Ok(obj) = Object::parse(&bytes) else {
            unparsed += 1;
            continue;
        };
        objects += 1;
        let must = MUST_CONVERT.iter().find(|(m, _)| *m == rel);
        for prog in &obj.programs {
            programs += 1;
            let mut prog = prog.clone();
            if let Some((_, assumed)) = must {
                if prog.prog_type == ProgramType::Unspec {
                    prog.set_type(*assumed, None);
                }
            }
            if !needs_conversion(prog.prog_type) {
                skipped += 1;
                let out = convert_ctx_access(&prog.insns, prog.prog_type).unwrap();
                assert_eq!(out, prog.insns);
                continue;
            }
            match convert_ctx_access_with(&prog.insns, prog.prog_type, &ConvertOptions::default()) {
                Ok(out) => {
                    assert_eq!(out.slots.len(), prog.insns.len());
                    ok += 1;
                    loads += out.converted.len();
                    if let Some((name, _)) = must {
                        let e = must_ok.entry(name).or_default();
                        e.0 += 1;
                        e.1 += out.converted.len();
                    }
                }
                Err(e) => {
                    if must.is_some() {
                        failed_must.push(format!("{rel} {}: {e}", prog.name));
                    }
                    // Group by message without numbers.
                    let key: String = e.message.chars().filter(|c| !c.is_ascii_digit()).collect();
                    rejected
                        .entry(key)
                        .or_default()
                        .push(format!("{rel} {} ({:?}) {e}", prog.name, prog.prog_type));
                }
            }
        }
    }
    let n_rejected: usize = rejected.values().map(Vec::len).sum();
    eprintln!(
        "corpus: {} files, {objects} objects parsed, {unparsed} unparsable; {programs} programs: \
         {skipped} of types without conversion, {ok} converted ({loads} loads rewritten), \
         {n_rejected} rejected",
        paths.len()
    );
    for (why, progs) in &rejected {
        eprintln!("  {} × {why}", progs.len());
        for p in progs {
            eprintln!("      {p}");
        }
    }
    for (name, (progs, loads)) in &must_ok {
        eprintln!("  {name}: {progs} programs converted, {loads} loads rewritten");
    }
    assert!(
        failed_must.is_empty(),
        "known-good objects rejected: {failed_must:#?}"
    );
    // Each known-good object present has packet programs whose pointer loads convert.
    for (name, _) in MUST_CONVERT {
        if root.join(name).exists() {
            let (progs, loads) = must_ok.get(name).copied().unwrap_or_default();
            assert!(
                progs > 0 && loads > 0,
                "{name}: {progs} programs, {loads} loads"
            );
        }
    }
}
