//! Hand-made objects, one per convention: what each relocation becomes, how programs are
//! found and typed, and the errors for malformed input.

use ebpfvm_object::{
    AttachType, ExternKind, LoadOptions, MapOrigin, MapType, Object, ParseError, Pinning,
    ProgramType, RelocationError, RelocationKind, TypeSource,
};

use crate::build::*;

fn parse(elf: &[u8]) -> Object {
    Object::parse(elf).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(elf: &[u8]) -> ParseError {
    match Object::parse(elf) {
        Ok(_) => panic!("loaded, expected an error"),
        Err(e) => e,
    }
}

/// An XDP program reading a legacy map, with license and version sections.
fn legacy_map_object() -> Vec<u8> {
    let mut b = Builder::new();
    let ld = lddw(0);
    let xdp = b.text("xdp", &code(&[ld[0], ld[1], mov(2), exit()]));
    b.func(xdp, "prog", 0, 32, true);
    let mut maps = map_def(1, 4, 8, 16, 0);
    maps.extend(map_def(2, 4, 4, 1, 0));
    let m = b.data("maps", &maps);
    b.var(m, "counts", 0, 20, true);
    let second = b.var(m, "second", 20, 20, true);
    b.reloc64(xdp, 0, second);
    let lic = b.data("license", b"GPL\0");
    b.var(lic, "_license", 0, 4, true);
    b.data("version", &0x0004_0f00u32.to_le_bytes());
    b.finish()
}

#[test]
fn legacy_maps_and_map_references() {
    let obj = parse(&legacy_map_object());
    assert_eq!(obj.license.as_deref(), Some("GPL"));
    assert_eq!(obj.kernel_version, Some(0x40f00));
    assert_eq!(obj.maps.len(), 2);
    let m = &obj.maps[1];
    assert_eq!(
        (
            m.name.as_str(),
            m.kind(),
            m.key_size,
            m.value_size,
            m.max_entries
        ),
        ("second", Some(MapType::Array), 4, 4, 1)
    );
    assert_eq!(m.origin, MapOrigin::Legacy);
    let p = &obj.programs[0];
    assert_eq!((p.name.as_str(), p.prog_type), ("prog", ProgramType::Xdp));
    assert_eq!(p.expected_attach_type, Some(AttachType::Xdp));
    // ld_imm64 → src 5 (map index 1).
    assert_eq!((p.insns[0].src, p.insns[0].imm), (5, 1));
    assert_eq!(p.relocations[0].kind, RelocationKind::Map { map: 1 });
    assert_eq!(p.relocations[0].symbol, "second");
    p.decode().unwrap();
}

#[test]
fn legacy_record_layouts() {
    // 28-byte records: a map-in-map with the samples' inner_map_idx, and iproute2 pinning.
    let mut b = Builder::new();
    let t = b.text("socket", &code(&[mov(0), exit()]));
    b.func(t, "f", 0, 16, true);
    let mut maps = Vec::new();
    for words in [[2u32, 4, 4, 1, 0, 0, 2], [12, 4, 4, 8, 0, 0, 0]] {
        maps.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    }
    let m = b.data("maps", &maps);
    b.var(m, "pinned", 0, 0, true);
    b.var(m, "outer", 28, 0, true);
    let obj = parse(&b.finish());
    assert_eq!(obj.maps[0].pinning, Pinning::GlobalNs);
    assert_eq!(obj.maps[0].legacy_extra, [0, 2]);
    assert_eq!(obj.maps[1].inner.as_ref().unwrap().name, "pinned");

    // Records that do not divide the section evenly.
    let mut b = Builder::new();
    let m = b.data("maps", &[0; 31]);
    b.var(m, "a", 0, 0, true);
    b.var(m, "b", 20, 0, true);
    let e = parse_err(&b.finish());
    assert!(
        e.to_string().contains("cannot hold 2 map definitions"),
        "{e}"
    );
}

#[test]
fn calls_and_function_pointers_link_subprograms() {
    let mut b = Builder::new();
    // .text: `helper` (global, 2 slots) then `cb` (static, 2 slots).
    let text = b.text(".text", &code(&[mov(7), exit(), mov(0), exit()]));
    let helper = b.func(text, "helper", 0, 16, true);
    b.func(text, "cb", 8 * 2, 16, false);
    let text_sym = b.section_symbol(text);
    // kprobe/foo: call helper (global: imm -1), ld_imm64 &cb (static: section symbol, imm =
    // byte offset), call cb (static: imm = slot - 1), exit.
    let ld = lddw(16);
    let prog = b.text(
        "kprobe/do_sys_open",
        &code(&[call(1, -1), ld[0], ld[1], call(1, 1), exit()]),
    );
    b.func(prog, "entry", 0, 40, true);
    b.reloc32(prog, 0, helper);
    b.reloc64(prog, 8, text_sym);
    b.reloc32(prog, 24, text_sym);
    let obj = parse(&b.finish());

    let p = obj.program("entry").unwrap();
    assert_eq!(p.prog_type, ProgramType::Kprobe);
    assert_eq!(p.attach_target.as_deref(), Some("do_sys_open"));
    let subs: Vec<(&str, usize)> = p
        .subprograms()
        .iter()
        .map(|f| (f.name.as_str(), f.start))
        .collect();
    assert_eq!(subs, [("helper", 5), ("cb", 7)]);
    assert_eq!(p.insns.len(), 9);
    // call helper: from slot 0 to slot 5.
    assert_eq!((p.insns[0].src, p.insns[0].imm), (1, 4));
    // ld_imm64 &cb: src 4, from slot 1 to slot 7.
    assert_eq!((p.insns[1].src, p.insns[1].imm), (4, 5));
    // call cb: from slot 3 to slot 7.
    assert_eq!(p.insns[3].imm, 3);
    let kinds: Vec<&str> = p.relocations.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["call", "func_ptr", "call"]);
    p.decode().unwrap();

    // `.text` functions are programs too, of unknown type.
    let h = obj.program("helper").unwrap();
    assert_eq!(
        (h.prog_type, h.type_source),
        (ProgramType::Unspec, TypeSource::Unknown)
    );
    assert_eq!(obj.programs.len(), 3);
}

#[test]
fn calls_within_a_section_without_relocations() {
    // Two functions in one section; the first calls the second with no relocation.
    let mut b = Builder::new();
    let t = b.text("tc", &code(&[call(1, 1), exit(), mov(1), exit()]));
    b.func(t, "main", 0, 16, true);
    b.func(t, "sub", 16, 16, false);
    let obj = parse(&b.finish());
    let p = obj.program("main").unwrap();
    assert_eq!(p.subprograms()[0].name, "sub");
    assert_eq!(p.insns[0].imm, 1);
    assert_eq!(
        p.relocations[0].kind,
        RelocationKind::Call {
            function: "sub".into(),
            target: 2
        }
    );
    // A call into nowhere.
    let mut b = Builder::new();
    let t = b.text("tc", &code(&[call(1, 10), exit()]));
    b.func(t, "main", 0, 16, true);
    let e = parse_err(&b.finish());
    assert!(
        matches!(e, ParseError::Relocation(RelocationError::BadTarget { .. })),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "section tc offset 0x0: call target tc+0x58 is not inside a function"
    );
}

#[test]
fn global_data_and_externs() {
    let mut b = Builder::new();
    let data = b.data(".data", &[1, 2, 3, 4, 5, 6, 7, 8]);
    let rodata = b.data(".rodata", &[9; 4]);
    b.bss(".bss", 16);
    let x = b.var(data, "x", 4, 4, true);
    let rodata_sym = b.section_symbol(rodata);
    let kfunc = b.undefined("bpf_kfunc_thing");
    let ksym = b.undefined("some_kernel_var");
    let a = lddw(0);
    let c = lddw(2);
    let d = lddw(0);
    let t = b.text(
        "tp/sched/sched_switch",
        &code(&[a[0], a[1], c[0], c[1], call(1, -1), d[0], d[1], exit()]),
    );
    b.func(t, "f", 0, 64, true);
    b.reloc64(t, 0, x);
    b.reloc64(t, 16, rodata_sym);
    b.reloc32(t, 32, kfunc);
    b.reloc64(t, 40, ksym);
    let obj = parse(&b.finish());

    let names: Vec<(&str, MapOrigin, u32)> = obj
        .maps
        .iter()
        .map(|m| (m.name.as_str(), m.origin, m.value_size))
        .collect();
    assert_eq!(
        names,
        [
            (".data", MapOrigin::Data, 8),
            (".rodata", MapOrigin::Rodata, 4),
            (".bss", MapOrigin::Bss, 16)
        ]
    );
    assert_eq!(
        obj.maps[0].initial.as_deref(),
        Some(&[1, 2, 3, 4, 5, 6, 7, 8][..])
    );
    assert!(obj.maps[2].initial.is_none());
    assert_eq!(obj.globals.len(), 1);
    assert_eq!(
        (obj.globals[0].name.as_str(), obj.globals[0].offset),
        ("x", 4)
    );

    let p = &obj.programs[0];
    assert_eq!(p.prog_type, ProgramType::Tracepoint);
    // x: map 0 + 4 (global symbol value); .rodata + 2 (section symbol, imm = offset).
    assert_eq!((p.insns[0].src, p.insns[0].imm, p.insns[1].imm), (6, 0, 4));
    assert_eq!((p.insns[2].src, p.insns[2].imm, p.insns[3].imm), (6, 1, 2));
    // Extern call → src 2, extern variable → src 3, both unresolved (imm 0).
    assert_eq!((p.insns[4].src, p.insns[4].imm), (2, 0));
    assert_eq!((p.insns[5].src, p.insns[5].imm), (3, 0));
    let kinds: Vec<RelocationKind> = p.relocations.iter().map(|r| r.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            RelocationKind::MapValue { map: 0, offset: 4 },
            RelocationKind::MapValue { map: 1, offset: 2 },
            RelocationKind::ExternCall {
                name: "bpf_kfunc_thing".into()
            },
            RelocationKind::ExternVar {
                name: "some_kernel_var".into()
            },
        ]
    );
    assert_eq!(obj.externs.len(), 2);
    assert!(obj.externs.iter().all(|e| e.kind == ExternKind::Unknown));
    p.decode().unwrap();
}

#[test]
fn old_style_sections_without_function_symbols() {
    let mut b = Builder::new();
    let s = b.text("socket1", &code(&[mov(0), exit()]));
    b.notype(s, "bpf_prog1", 0);
    let anon = b.text("tail-3", &code(&[mov(1), exit()]));
    let _ = anon;
    let mut elf = b.finish();
    set_machine(&mut elf, 0);
    let obj = parse(&elf);
    assert_eq!(obj.machine, 0);
    let p = &obj.programs[0];
    assert_eq!(
        (p.name.as_str(), p.section.as_str()),
        ("bpf_prog1", "socket1")
    );
    assert_eq!(
        (p.prog_type, p.type_source),
        (ProgramType::SocketFilter, TypeSource::LegacyPrefix)
    );
    assert_eq!(obj.programs[1].name, "tail-3");
    assert_eq!(obj.programs[1].prog_type, ProgramType::Unspec);
}

#[test]
fn type_overrides() {
    let elf = legacy_map_object();
    let forced = Object::parse_with(
        &elf,
        &LoadOptions {
            force_type: Some((ProgramType::SocketFilter, None)),
            ..Default::default()
        },
    )
    .unwrap();
    let p = &forced.programs[0];
    assert_eq!(
        (p.prog_type, p.expected_attach_type, p.type_source),
        (ProgramType::SocketFilter, None, TypeSource::User)
    );

    let mut b = Builder::new();
    let t = b.text("2/7", &code(&[mov(0), exit()]));
    b.func(t, "tail", 0, 16, true);
    let x = b.text("xdp", &code(&[mov(0), exit()]));
    b.func(x, "x", 0, 16, true);
    let elf = b.finish();
    let obj = Object::parse_with(
        &elf,
        &LoadOptions {
            default_type: Some((ProgramType::SchedCls, None)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        obj.program("tail").unwrap().prog_type,
        ProgramType::SchedCls
    );
    assert_eq!(obj.program("x").unwrap().prog_type, ProgramType::Xdp);

    let mut obj = parse(&elf);
    obj.program_mut("tail")
        .unwrap()
        .set_type(ProgramType::Xdp, Some(AttachType::Xdp));
    assert_eq!(obj.program("tail").unwrap().type_source, TypeSource::User);
}

#[test]
fn relocation_errors_name_section_and_offset() {
    // A relocation on an instruction that is neither ld_imm64 nor call.
    let mut b = Builder::new();
    let t = b.text("xdp", &code(&[mov(0), exit()]));
    b.func(t, "f", 0, 16, true);
    let m = b.data("maps", &map_def(1, 4, 4, 1, 0));
    let s = b.var(m, "m", 0, 20, true);
    b.reloc64(t, 8, s);
    let e = parse_err(&b.finish());
    assert_eq!(
        e.to_string(),
        "section xdp offset 0x8: relocation against m on an instruction with opcode 0x95 (expected ld_imm64 or call)"
    );

    // Not at an instruction boundary.
    let mut b = Builder::new();
    let ld = lddw(0);
    let t = b.text("xdp", &code(&[ld[0], ld[1], exit()]));
    b.func(t, "f", 0, 24, true);
    let m = b.data("maps", &map_def(1, 4, 4, 1, 0));
    let s = b.var(m, "m", 0, 20, true);
    b.reloc64(t, 4, s);
    let e = parse_err(&b.finish());
    assert!(matches!(
        e,
        ParseError::Relocation(RelocationError::NotAnInstruction { offset: 4, .. })
    ));

    // A map reference into the middle of a map definition.
    let mut b = Builder::new();
    let ld = lddw(4);
    let t = b.text("xdp", &code(&[ld[0], ld[1], exit()]));
    b.func(t, "f", 0, 24, true);
    let m = b.data("maps", &map_def(1, 4, 4, 1, 0));
    b.var(m, "m", 0, 20, true);
    let msym = b.section_symbol(m);
    b.reloc64(t, 0, msym);
    let e = parse_err(&b.finish());
    assert_eq!(
        e.to_string(),
        "section xdp offset 0x0: no map at offset 0x4 of section maps (symbol maps)"
    );

    // A call relocation on a helper call (src 0).
    let mut b = Builder::new();
    let t = b.text("xdp", &code(&[call(0, 1), exit()]));
    let f = b.func(t, "f", 0, 16, true);
    b.reloc32(t, 0, f);
    assert!(matches!(
        parse_err(&b.finish()),
        ParseError::Relocation(RelocationError::BadCall { src: 0, .. })
    ));
}

#[test]
fn malformed_containers() {
    assert!(matches!(parse_err(b"not an elf"), ParseError::Elf { .. }));
    assert!(matches!(parse_err(b""), ParseError::Elf { .. }));
    let mut elf = legacy_map_object();
    set_machine(&mut elf, 62);
    assert_eq!(
        parse_err(&elf).to_string(),
        "unsupported ELF object: machine 62 is not BPF (247)"
    );
    let mut elf = legacy_map_object();
    elf[5] = 2;
    assert!(matches!(parse_err(&elf), ParseError::Unsupported { .. }));
    let mut elf = legacy_map_object();
    elf[4] = 1;
    assert!(matches!(parse_err(&elf), ParseError::Unsupported { .. }));
    // Truncated anywhere: an error, never a panic.
    let elf = legacy_map_object();
    for len in 0..elf.len() {
        let _ = Object::parse(&elf[..len]);
    }

    // Code whose size is not a multiple of 8, and a function symbol past the section.
    let mut b = Builder::new();
    let t = b.text("xdp", &[0; 12]);
    b.func(t, "f", 0, 12, true);
    assert_eq!(
        parse_err(&b.finish()).to_string(),
        "section xdp: code size 12 is not a multiple of 8"
    );
    let mut b = Builder::new();
    let t = b.text("xdp", &code(&[mov(0), exit()]));
    b.func(t, "f", 8, 16, true);
    assert!(matches!(parse_err(&b.finish()), ParseError::Symbol { .. }));

    // An ld_imm64 missing its second slot fails strict decoding.
    let mut b = Builder::new();
    let t = b.text("xdp", &code(&[mov(0), lddw(0)[0]]));
    b.func(t, "f", 0, 16, true);
    let e = parse_err(&b.finish());
    assert!(matches!(e, ParseError::Decode { .. }), "{e}");
}

#[test]
fn kconfig_and_ksyms_externs() {
    let mut b = Builder::new();
    let x = b.undefined("CONFIG_X");
    let bool_var = b.undefined("CONFIG_B");
    let kf = b.undefined("bpf_kf");
    let a = lddw(0);
    let c = lddw(0);
    let t = b.text(
        "syscall",
        &code(&[a[0], a[1], c[0], c[1], call(1, -1), exit()]),
    );
    b.func(t, "f", 0, 48, true);
    b.reloc64(t, 0, x);
    b.reloc64(t, 16, bool_var);
    b.reloc32(t, 32, kf);
    b.data(".BTF", &kconfig_btf());
    let obj = parse(&b.finish());
    assert!(obj.warnings.is_empty(), "{:?}", obj.warnings);

    // Laid out by alignment (largest first): CONFIG_X at 0, CONFIG_B at 4.
    let kinds: Vec<(&str, ExternKind)> = obj
        .externs
        .iter()
        .map(|e| (e.name.as_str(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("CONFIG_X", ExternKind::Kconfig { offset: 0, size: 4 }),
            ("CONFIG_B", ExternKind::Kconfig { offset: 4, size: 1 }),
            ("bpf_kf", ExternKind::Kfunc),
        ]
    );
    let (k, m) = obj.map(".kconfig").unwrap();
    assert_eq!(
        (m.origin, m.value_size, m.max_entries),
        (MapOrigin::Kconfig, 5, 1)
    );
    assert!(m.initial.is_none());

    let p = &obj.programs[0];
    assert_eq!(p.prog_type, ProgramType::Syscall);
    assert!(p.sleepable);
    assert_eq!(
        (p.insns[0].src, p.insns[0].imm, p.insns[1].imm),
        (6, k as i32, 0)
    );
    assert_eq!(
        (p.insns[2].src, p.insns[2].imm, p.insns[3].imm),
        (6, k as i32, 4)
    );
    assert_eq!((p.insns[4].src, p.insns[4].imm), (2, 0));
    assert_eq!(
        p.relocations[1].kind,
        RelocationKind::Kconfig {
            name: "CONFIG_B".into(),
            map: k,
            offset: 4
        }
    );
}

#[test]
fn linking_stops_at_the_kernel_program_size_limit() {
    let mut b = Builder::new();
    let big = vec![exit(); 1_000_000];
    let text = b.text(".text", &code(&big));
    let f = b.func(text, "huge", 0, 8_000_000, true);
    let t = b.text("xdp", &code(&[call(1, -1), exit()]));
    b.func(t, "small", 0, 16, true);
    b.reloc32(t, 0, f);
    let e = parse_err(&b.finish());
    assert_eq!(
        e.to_string(),
        "section xdp offset 0x0: linked program is too large (1000002 slots)"
    );
}
