//! `ebpfvm asm` and `ebpfvm disasm` on good input, and the round trip through files.

use crate::util::{corpus_object, ebpfvm, in_process, s, temp_dir, write};

const PROG: &str = "\
# conformance dialect
mov %r0, 1
ldxw %r1, [%r1+4]
jeq %r1, 0, exit
lddw %r0, 0x100000000
call local f
exit
f:
exit
";

const LISTING: &str = "       0:\tr0 = 0x1
       1:\tr1 = *(u32 *)(r1 + 0x4)
       2:\tif r1 == 0x0 goto +0x3
       3:\tr0 = 0x100000000 ll
       5:\tcall +0x1
       6:\texit
       7:\texit
";

const PROG_BYTES: [u8; 16] = [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x61, 0x11, 4, 0, 0, 0, 0, 0];

#[test]
fn asm_writes_raw_bytecode_next_to_the_source() {
    let dir = temp_dir("asm-default");
    let src = write(&dir, "prog.s", PROG);
    let out = ebpfvm(&["asm", s(&src)]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let bytes = std::fs::read(dir.join("prog.bin")).unwrap();
    assert_eq!(bytes.len(), 8 * 8);
    assert_eq!(bytes[..16], PROG_BYTES);
}

#[test]
fn asm_to_stdout_and_to_a_named_file() {
    let dir = temp_dir("asm-out");
    let src = write(&dir, "prog.s", PROG);
    let out = ebpfvm(&["asm", s(&src), "-o", "-"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout_bytes[..16], PROG_BYTES);
    let named = dir.join("other.o.bin");
    let out2 = ebpfvm(&["asm", s(&src), "--output", s(&named), "--dialect", "ubpf"]);
    assert_eq!(out2.code, 0, "{}", out2.stderr);
    assert_eq!(std::fs::read(&named).unwrap(), out.stdout_bytes);
}

#[test]
fn round_trip_through_files() {
    let dir = temp_dir("roundtrip");
    let src = write(&dir, "prog.s", PROG);
    let bin = dir.join("prog.bin");
    assert_eq!(ebpfvm(&["asm", s(&src), "-o", s(&bin)]).code, 0);
    let out = ebpfvm(&["disasm", s(&bin)]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, LISTING);
    // The same program as hex text, in both hex forms.
    let bytes = std::fs::read(&bin).unwrap();
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hex = write(&dir, "prog.hex", pairs.join(" ") + "\n");
    assert_eq!(ebpfvm(&["disasm", s(&hex)]).stdout, LISTING);
    let words: Vec<String> = bytes
        .chunks(8)
        .map(|c| format!("{:#018x}", u64::from_le_bytes(c.try_into().unwrap())))
        .collect();
    let words = write(&dir, "prog.words", words.join("\n"));
    assert_eq!(ebpfvm(&["disasm", s(&words)]).stdout, LISTING);
    // The listing assembles back (LLVM dialect, picked automatically) to the same bytes.
    let listing = write(&dir, "listing.s", LISTING);
    let again = dir.join("again.bin");
    let out = ebpfvm(&["asm", s(&listing), "-o", s(&again)]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
    let out = ebpfvm(&["asm", s(&listing), "--dialect", "llvm", "-o", "-"]);
    assert_eq!(out.stdout_bytes, bytes);
}

#[test]
fn llvm_dialect_source() {
    let dir = temp_dir("llvm");
    let src = write(
        &dir,
        "p.s",
        "  r0 = 0x2a\n  if r1 > 0x2 goto +0x1\n  r0 += r1\n  exit\n",
    );
    let out = ebpfvm(&["asm", s(&src), "-o", "-"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout_bytes.len(), 32);
    assert_eq!(out.stdout_bytes[..8], [0xb7, 0, 0, 0, 0x2a, 0, 0, 0]);
    // The wrong dialect is an assembler error, not a crash.
    let out = ebpfvm(&["asm", s(&src), "--dialect", "ubpf"]);
    assert!(out
        .expect_error(1)
        .contains("line 1: unknown mnemonic \"r0\""));
    let bad = write(&dir, "bad.s", "r0 = 1\nr0 = = 2\n");
    assert!(ebpfvm(&["asm", s(&bad)])
        .expect_error(1)
        .contains("line 2, column"));
}

#[test]
fn every_conformance_program_round_trips_through_disasm_and_asm() {
    let Some(root) = crate::util::suite() else {
        return;
    };
    let dir = temp_dir("suite-disasm");
    let files = ebpfvm_testkit::suite::data_files(&root.join("tests")).unwrap();
    assert_eq!(files.len(), 313);
    for path in files {
        let file = ebpfvm_testkit::runner::read_data_file(&path).unwrap();
        let ebpfvm_testkit::Prepared::Run(case) = file.prepare().unwrap() else {
            panic!("{} skipped", path.display());
        };
        let slots = case.program().unwrap();
        let bin = write(&dir, "p.bin", ebpfvm::isa::slots_to_bytes(&slots));
        let (code, out, err) = in_process(&["disasm", s(&bin)]);
        assert_eq!((code, err.as_str()), (0, ""), "{}", path.display());
        let text = String::from_utf8(out).unwrap();
        let insns = ebpfvm::isa::decode_all(&slots).unwrap();
        assert_eq!(text.lines().count(), insns.len(), "{}", path.display());
        // ... and the listing assembles back to the same slots.
        let listing = write(&dir, "p.s", &text);
        let (code, out, err) = in_process(&["asm", s(&listing), "-o", "-"]);
        assert_eq!((code, err.as_str()), (0, ""), "{}:\n{text}", path.display());
        assert_eq!(
            out,
            ebpfvm::isa::slots_to_bytes(&slots),
            "{}:\n{text}",
            path.display()
        );
    }
}

#[test]
fn elf_objects_print_like_llvm_objdump() {
    let Some(obj) = corpus_object("suricata/bypass_filter.o") else {
        return;
    };
    let out = ebpfvm(&["disasm", s(&obj)]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let head: Vec<&str> = out.stdout.lines().take(8).collect();
    assert_eq!(
        head,
        [
            "",
            &format!("{}:\tfile format elf64-bpf", obj.display()),
            "",
            "Disassembly of section filter:",
            "",
            "0000000000000000 <hashfilter>:",
            "       0:\tr6 = r1",
            "       1:\tr1 = 0xffe0000e ll",
        ]
    );
    assert!(out.stdout.contains("goto +0x29 <LBB0_6>\n"));
    assert!(out.stdout.contains("\n0000000000000098 <LBB0_4>:\n"));
    // The empty .text section prints nothing; asking for it by name is fine too.
    assert!(!out.stdout.contains("section .text"));
    let one = ebpfvm(&["disasm", s(&obj), "--section", "filter"]);
    assert_eq!(one.stdout, out.stdout);
}

#[test]
fn elf_with_several_sections() {
    let Some(obj) = corpus_object("linux/sockex2_kern.o") else {
        return;
    };
    let out = ebpfvm(&["disasm", s(&obj)]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(out.stdout.contains("Disassembly of section "));
}
