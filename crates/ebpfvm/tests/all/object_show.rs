//! `ebpfvm object show`: every corpus object, text and JSON, exit statuses and errors.

use std::path::Path;

use ebpfvm::cli::object::ObjectJson;

use crate::util::{assert_one_error_line, corpus_object, ebpfvm, in_process, s, temp_dir, write};

fn corpus_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            corpus_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_object_shows_or_fails_with_one_line() {
    let Some(any) = corpus_object("build/bpf2bpf.o") else {
        return;
    };
    let root = any.parent().unwrap().parent().unwrap().to_path_buf();
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    let (mut ok, mut rejected, mut programs) = (0, 0, 0);
    for f in &files {
        let invalid = f.strip_prefix(&root).unwrap().starts_with("invalid");
        let (code, out, err) = in_process(&["object", "show", s(f), "--json"]);
        match code {
            0 => {
                let j: ObjectJson = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("{}: bad JSON: {e}", f.display()));
                programs += if invalid { 0 } else { j.programs.len() };
                ok += 1;
                assert_eq!(err, "");
            }
            1 => {
                assert!(invalid, "{}: {err}", f.display());
                assert!(out.is_empty());
                let line = assert_one_error_line(&err);
                assert!(
                    line.starts_with(&format!("error: {}: ", f.display())),
                    "{line}"
                );
                rejected += 1;
            }
            other => panic!("{}: exit {other}: {err}", f.display()),
        }
    }
    assert_eq!((ok, rejected), (170, 3));
    assert_eq!(programs, 636);
}

#[test]
fn text_output_shows_programs_maps_and_btf() {
    let Some(f) = corpus_object("build/prog_array.o") else {
        return;
    };
    let out = ebpfvm(&["object", "show", s(&f)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = &out.stdout;
    for want in [
        "machine: bpf (247)",
        "btf: 26 types, ext: func_info 5, line_info 9, core_relos 0",
        "relocations: map 1",
        "programs (5):",
        "  func [.text+0x40] type unspec (unknown) insns 11 relocs: map 1",
        "maps (1):",
        "  0: prog_array_map type prog_array (3) key 4 value 4 max_entries 4 flags 0x0 [btf .maps+0x0] values [0=prog:func0 1=prog:func1 2=prog:func2 3=prog:func3]",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }

    let Some(f) = corpus_object("linux/test_map_in_map_kern.o") else {
        return;
    };
    let out = ebpfvm(&["object", "show", s(&f)]);
    assert!(out.stdout.contains(
        "  trace_sys_connect [kprobe/sys_connect+0x0] type kprobe target sys_connect insns 124 relocs: map 9"
    ), "{}", out.stdout);
    assert!(out.stdout.contains("kernel version: 0x41300 (4.19.0)"));
    assert!(out.stdout.contains("       inner: port_a type array (2)"));
}

#[test]
fn json_output_has_every_map_attribute() {
    let Some(f) = corpus_object("build/map_in_map.o") else {
        return;
    };
    let (code, out, _) = in_process(&["object", "show", s(&f), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let outer = &v["maps"][1];
    assert_eq!(outer["name"], "array_of_maps");
    assert_eq!(outer["type"], "array_of_maps");
    assert_eq!(outer["type_number"], 12);
    assert_eq!(outer["init_slots"][0][1], "map:inner_map");
    assert_eq!(outer["inner"]["type"], "array");
    for key in [
        "key_size",
        "value_size",
        "max_entries",
        "flags",
        "numa_node",
        "map_extra",
        "pinning",
        "btf_key_type",
        "btf_value_type",
        "initial_len",
    ] {
        assert!(outer.get(key).is_some(), "{key}");
    }
    assert_eq!(v["programs"][0]["type"], "unspec");
    assert_eq!(v["btf"]["has_ext"], true);
}

#[test]
fn bad_input_exit_statuses() {
    let dir = temp_dir("object-show");
    let missing = dir.join("missing.o");
    let out = ebpfvm(&["object", "show", s(&missing)]);
    assert!(out.expect_error(2).starts_with("error: cannot read"));

    let junk = write(&dir, "junk.o", b"\x7fELF\x02\x01\x01garbage");
    let out = ebpfvm(&["object", "show", s(&junk)]);
    let line = out.expect_error(1);
    assert!(line.contains("invalid ELF object"), "{line}");
    assert_eq!(out.stdout, "");

    let Some(f) = corpus_object("invalid/badsymsize.o") else {
        return;
    };
    let out = ebpfvm(&["object", "show", s(&f), "--json"]);
    assert!(out
        .expect_error(1)
        .ends_with("section .symtab: invalid symbol table: invalid elf section index"));
}
