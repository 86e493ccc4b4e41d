//! Every `.BTF`/`.BTF.ext` section of the shared corpus parses.

use ebpfvm_btf::{Btf, BtfExt, CoreReloKind, Type};
use object::{Object, ObjectSection};

use crate::util::{btf_sections, corpus_dir, objects};

#[test]
fn corpus_parses() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return;
    };
    let mut failures = Vec::new();
    let (mut n_btf, mut n_ext) = (0, 0);
    let (mut funcs, mut lines, mut relos) = (0, 0, 0);
    let mut with_core = Vec::new();
    let mut rejected = 0;
    for path in objects(&dir) {
        let data = std::fs::read(&path).unwrap();
        let Some((btf, ext)) = btf_sections(&data) else {
            continue;
        };
        let Some(btf) = btf else { continue };
        n_btf += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let parsed = match (Btf::parse(&btf), MALFORMED.iter().find(|m| m.0 == name)) {
            (Ok(b), None) => b,
            (Ok(_), Some(_)) => {
                failures.push(format!("{}: malformed .BTF parsed", path.display()));
                continue;
            }
            (Err(e), Some((_, want))) => {
                assert_eq!(e.to_string(), *want, "{}", path.display());
                rejected += 1;
                continue;
            }
            (Err(e), None) => {
                failures.push(format!("{}: .BTF: {e}", path.display()));
                continue;
            }
        };
        if let Some(ext) = ext {
            n_ext += 1;
            match BtfExt::parse(&ext, &parsed) {
                Ok(ext) => {
                    funcs += ext.func_info.iter().map(|s| s.records.len()).sum::<usize>();
                    lines += ext.line_info.iter().map(|s| s.records.len()).sum::<usize>();
                    let c: usize = ext.core_relos.iter().map(|s| s.records.len()).sum();
                    if c > 0 {
                        with_core.push(format!("{} ({c})", path.display()));
                    }
                    relos += c;
                }
                Err(e) => failures.push(format!("{}: .BTF.ext: {e}", path.display())),
            }
        }
    }
    eprintln!(
        "{n_btf} .BTF and {n_ext} .BTF.ext sections: {funcs} func_info, {lines} line_info, \
         {relos} core_relo records; CO-RE in {}",
        with_core.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        rejected,
        MALFORMED.len(),
        "every known-malformed blob was seen"
    );
}

/// Corpus files whose `.BTF` is malformed, with the error. Both are fuzzer-found objects
/// whose first type has `info` 0x00010000 (kind 0 with reserved bits set);
/// `bpftool btf dump file` refuses them too ("failed to load BTF: Invalid argument").
const MALFORMED: &[(&str, &str)] = &[
    (
        "58087ea4ff41695f3186d628a3250b26dc8d237a",
        "type 1: unknown kind 0",
    ),
    (
        "ab3408afd06d68dd7e73bf21bde38350d9751a78",
        "type 1: unknown kind 0",
    ),
];

fn load(rel: &str) -> Option<(Vec<u8>, Btf, Option<BtfExt>)> {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return None;
    };
    let data = std::fs::read(dir.join(rel)).ok()?;
    let (btf, ext) = btf_sections(&data)?;
    let btf = Btf::parse(&btf?).unwrap();
    let ext = ext.map(|e| BtfExt::parse(&e, &btf).unwrap());
    Some((data, btf, ext))
}

#[test]
fn xdp_md_layout_in_a_corpus_object() {
    let Some((_, btf, _)) = load("build/packet_access.o") else {
        return;
    };
    let ids = btf.find_by_name("xdp_md");
    assert_eq!(ids.len(), 1);
    let Some(Type::Struct(c)) = btf.type_by_id(ids[0]) else {
        panic!("xdp_md is not a struct")
    };
    assert_eq!(c.size, 24);
    let members: Vec<(&str, u32)> = c
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.bit_offset))
        .collect();
    assert_eq!(
        members,
        [
            ("data", 0),
            ("data_end", 32),
            ("data_meta", 64),
            ("ingress_ifindex", 96),
            ("rx_queue_index", 128),
            ("egress_ifindex", 160)
        ]
    );
    for m in &c.members {
        assert_eq!(btf.name_of(m.ty), "__u32");
        assert_eq!(btf.size_of(m.ty), Ok(4));
        assert_eq!(btf.name_of(btf.skip_mods(m.ty)), "unsigned int");
    }
    assert_eq!(btf.member_offset_bits(ids[0], "rx_queue_index"), Some(128));
    assert_eq!(btf.size_of(ids[0]), Ok(24));
}

#[test]
fn tcprtt_func_line_and_core_records() {
    let Some((_, btf, ext)) = load("cilium-examples/tcprtt_bpf_bpfel.o") else {
        return;
    };
    let ext = ext.expect(".BTF.ext present");
    // func_info: one function at the start of its section.
    assert_eq!(ext.func_info.len(), 1);
    let fi = &ext.func_info[0];
    assert_eq!(fi.section, "fentry/tcp_close");
    assert_eq!(fi.records.len(), 1);
    assert_eq!(fi.records[0].insn_off, 0);
    assert_eq!(btf.name_of(fi.records[0].type_id), "tcp_close");
    // line_info: the first records (line numbers as llvm-objdump -l shows them from DWARF).
    let li = &ext.line_info[0];
    assert_eq!(li.section, "fentry/tcp_close");
    assert_eq!(li.records.len(), 19);
    let first: Vec<(u32, &str, u32, u32)> = li.records[..4]
        .iter()
        .map(|r| (r.insn_off, r.file.as_str(), r.line, r.col))
        .collect();
    assert_eq!(
        first,
        [
            (0, "./tcprtt.c", 88, 5),
            (8, "./tcprtt.c", 89, 22),
            (16, "./tcprtt.c", 89, 33),
            (24, "./tcprtt.c", 94, 24)
        ]
    );
    assert_eq!(
        li.records[0].line_text,
        "int BPF_PROG(tcp_close, struct sock *sk) {"
    );
    assert_eq!(
        li.records[1].line_text,
        "\tif (sk->__sk_common.skc_family != AF_INET) {"
    );
    // CO-RE relocations: six field offsets into struct sock / tcp_sock.
    let core = &ext.core_relos[0];
    assert_eq!(core.section, "fentry/tcp_close");
    let relos: Vec<(u32, &str, &str, CoreReloKind)> = core
        .records
        .iter()
        .map(|r| {
            (
                r.insn_off,
                btf.name_of(r.type_id),
                r.access.as_str(),
                r.kind,
            )
        })
        .collect();
    use CoreReloKind::FieldByteOffset as Off;
    assert_eq!(
        relos,
        [
            (8, "sock", "0:0:2", Off),
            (104, "sock", "0:0:0:0:1", Off),
            (120, "sock", "0:0:0:0:0", Off),
            (136, "sock", "0:0:1:0:0", Off),
            (160, "sock", "0:0:1:0:1", Off),
            (176, "tcp_sock", "0:0", Off)
        ]
    );
    assert_eq!(core.records[1].access_indices(), [0, 0, 0, 0, 1]);
    let sock = btf.find_by_name("sock")[0];
    // skc_family is at byte 12 (the load at insn 1 is `r1 = *(u16 *)(r6 + 0xc)`).
    let (bits, ty) = btf.access_offset_bits(sock, &[0, 0, 2]).unwrap();
    assert_eq!(bits, 96);
    assert_eq!(btf.size_of(ty), Ok(2));
    assert_eq!(btf.access_offset_bits(sock, &[0, 0, 9]), None);
}

/// Every `field_byte_offset` relocation's local offset, computed from the access string,
/// is the offset clang put in the relocated instruction (the `off` of a load/store, or the
/// `imm` of an ALU instruction).
#[test]
fn core_field_offsets_match_the_instructions() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return;
    };
    let mut checked = 0;
    for path in objects(&dir) {
        let data = std::fs::read(&path).unwrap();
        let Ok(file) = object::File::parse(&*data) else {
            continue;
        };
        let Some((Some(btf), Some(ext))) = btf_sections(&data) else {
            continue;
        };
        let Ok(btf) = Btf::parse(&btf) else {
            continue; // one of MALFORMED
        };
        let ext = BtfExt::parse(&ext, &btf).unwrap();
        for sec in &ext.core_relos {
            let code = file.section_by_name(&sec.section).unwrap().data().unwrap();
            for r in sec
                .records
                .iter()
                .filter(|r| r.kind == CoreReloKind::FieldByteOffset)
            {
                let insn = &code[r.insn_off as usize..r.insn_off as usize + 8];
                let class = insn[0] & 7;
                let value = if class <= 3 {
                    i64::from(i16::from_le_bytes([insn[2], insn[3]]))
                } else {
                    i64::from(i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]))
                };
                let (bits, _) = btf
                    .access_offset_bits(r.type_id, &r.access_indices())
                    .unwrap();
                assert_eq!(
                    value * 8,
                    bits as i64,
                    "{}: {} {:?}",
                    path.display(),
                    sec.section,
                    r
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} field_byte_offset relocations checked");
}

/// Line numbers agree with the DWARF line table llvm-objdump prints (where both describe
/// the same instruction: BTF has line 0 for compiler-generated code and the declaration
/// line at function entry, so objects without those are used).
#[test]
fn line_info_agrees_with_dwarf() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return;
    };
    let Ok(out) = std::process::Command::new("llvm-objdump-19")
        .args(["-d", "-l"])
        .arg(dir.join("cilium-examples/tcprtt_bpf_bpfel.o"))
        .output()
    else {
        eprintln!("skipped: llvm-objdump-19 not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut sec, mut line) = (String::new(), 0u32);
    let mut dwarf = std::collections::HashMap::new();
    for l in text.lines() {
        if let Some(s) = l.strip_prefix("Disassembly of section ") {
            sec = s.trim_end_matches(':').to_string();
        } else if let Some(rest) = l.strip_prefix("; ") {
            if let Some(n) = rest.rsplit(':').next().and_then(|n| n.parse().ok()) {
                line = n;
            }
        } else if let Some((pc, _)) = l.trim_start().split_once(":\t") {
            if let Ok(pc) = pc.parse::<u32>() {
                dwarf.insert((sec.clone(), pc), line);
            }
        }
    }
    let Some((_, _, Some(ext))) = load("cilium-examples/tcprtt_bpf_bpfel.o") else {
        return;
    };
    let mut n = 0;
    for s in &ext.line_info {
        for r in &s.records {
            assert_eq!(
                dwarf.get(&(s.section.clone(), r.insn_off / 8)),
                Some(&r.line),
                "{r:?}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 19);
}
