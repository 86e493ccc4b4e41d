//! Bad input never panics: one `error: ...` line, exit 1 (rejected) or 2 (unreadable/usage).

use crate::util::{assert_one_error_line, corpus_object, ebpfvm, in_process, s, temp_dir, write};

#[test]
fn truncated_bytecode() {
    let dir = temp_dir("trunc");
    let f = write(&dir, "t.bin", [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0]);
    let out = ebpfvm(&["disasm", s(&f)]);
    assert_eq!(
        out.expect_error(1),
        format!(
            "error: {}: program length 13 bytes is not a multiple of 8",
            f.display()
        )
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn unknown_opcode_and_bad_fields() {
    let dir = temp_dir("opcode");
    let f = write(&dir, "u.bin", [0xff, 0, 0, 0, 0, 0, 0, 0]);
    assert!(ebpfvm(&["disasm", s(&f)])
        .expect_error(1)
        .ends_with("pc 0: unknown opcode 0xff"));
    // Second instruction has a register above r10.
    let f = write(
        &dir,
        "r.bin",
        [0x95, 0, 0, 0, 0, 0, 0, 0, 0xb7, 0x0c, 0, 0, 0, 0, 0, 0],
    );
    assert!(ebpfvm(&["disasm", s(&f)])
        .expect_error(1)
        .contains("pc 1: invalid register r12"));
    // lddw without its second slot.
    let f = write(&dir, "l.bin", [0x18, 0, 0, 0, 1, 0, 0, 0]);
    assert!(ebpfvm(&["disasm", s(&f)])
        .expect_error(1)
        .contains("pc 0: ld_imm64"));
    // The same errors from `run`.
    assert!(ebpfvm(&["run", s(&f)])
        .expect_error(1)
        .contains("program rejected at load"));
}

#[test]
fn empty_and_text_garbage() {
    let dir = temp_dir("garbage");
    let f = write(&dir, "empty.bin", b"");
    assert_eq!(
        ebpfvm(&["disasm", s(&f)]).expect_error(1),
        format!("error: {}: no instructions", f.display())
    );
    // Not hex text, so raw bytes: 11 of them.
    let f = write(&dir, "words.txt", "hello world");
    assert!(ebpfvm(&["disasm", s(&f)])
        .expect_error(1)
        .ends_with("11 bytes is not a multiple of 8"));
}

#[test]
fn malformed_elf() {
    let dir = temp_dir("elf");
    let f = write(&dir, "bad.o", b"\x7fELF\x02\x01\x01\x00garbage");
    assert!(ebpfvm(&["disasm", s(&f)])
        .expect_error(1)
        .contains("invalid ELF object"));
    if let Some(obj) = corpus_object("suricata/bypass_filter.o") {
        // Truncated copies of a real object, at many lengths.
        let bytes = std::fs::read(&obj).unwrap();
        for len in (0..bytes.len()).step_by(97) {
            let f = write(&dir, "cut.o", &bytes[..len]);
            let out = ebpfvm(&["disasm", s(&f)]);
            assert!(out.code == 0 || out.code == 1, "len {len}: {out:?}");
            if out.code != 0 {
                assert_one_error_line(&out.stderr);
            }
        }
        let out = ebpfvm(&["disasm", s(&obj), "--section", "nope"]);
        assert_eq!(
            out.expect_error(2),
            format!(
                "error: {} has no section named \"nope\" (executable sections: .text, filter)",
                obj.display()
            )
        );
    }
    if std::path::Path::new("/bin/sh").is_file() {
        assert!(ebpfvm(&["disasm", "/bin/sh"])
            .expect_error(1)
            .contains("not a BPF object"));
    }
}

#[test]
fn unreadable_inputs_exit_2() {
    for args in [
        &["disasm", "/nonexistent/p.bin"][..],
        &["asm", "/nonexistent/p.s"],
        &["run", "/nonexistent/p.bin"],
        &["disasm", "/"],
    ] {
        let out = ebpfvm(args);
        assert!(
            out.expect_error(2).starts_with("error: cannot read "),
            "{args:?}"
        );
    }
    let dir = temp_dir("latin1");
    let f = write(&dir, "l.s", b"mov %r0, 1 # caf\xe9\nexit\n");
    assert!(ebpfvm(&["asm", s(&f)])
        .expect_error(2)
        .ends_with("is not UTF-8 text"));
}

#[test]
fn section_on_raw_input_is_a_usage_error() {
    let dir = temp_dir("sect");
    let f = write(&dir, "p.bin", [0x95, 0, 0, 0, 0, 0, 0, 0]);
    assert!(ebpfvm(&["disasm", s(&f), "--section", ".text"])
        .expect_error(2)
        .contains("--section applies to ELF objects"));
}

#[test]
fn assembler_errors() {
    let dir = temp_dir("asm-err");
    let f = write(&dir, "p.s", "mov %r0, 1\n\nldxq %r0, [%r1]\nexit\n");
    assert_eq!(
        ebpfvm(&["asm", s(&f)]).expect_error(1),
        format!("error: {}: line 3: unknown mnemonic \"ldxq\"", f.display())
    );
    assert!(!dir.join("p.bin").exists());
    let f = write(&dir, "labels.s", "# only a label\nstart:\n");
    assert!(ebpfvm(&["asm", s(&f), "--dialect", "ubpf"])
        .expect_error(1)
        .ends_with("no instructions"));
    // An output file that cannot be written.
    let f = write(&dir, "ok.s", "mov %r0, 1\nexit\n");
    let out = ebpfvm(&["asm", s(&f), "-o", "/nonexistent/dir/p.bin"]);
    assert!(out
        .expect_error(2)
        .starts_with("error: cannot write /nonexistent/dir/p.bin"));
    // The default output never overwrites the input.
    let f = write(&dir, "same.bin", "mov %r0, 1\nexit\n");
    assert!(ebpfvm(&["asm", s(&f)])
        .expect_error(2)
        .contains("overwrite the input"));
}

/// A small deterministic generator, so the test needs no extra dependency.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_bytes_never_panic() {
    let dir = temp_dir("fuzz");
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for i in 0..300 {
        let len = (xorshift(&mut seed) % 80) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        if i % 3 == 0 && len >= 8 {
            // Plausible opcodes make decoding go further.
            for chunk in bytes.chunks_mut(8) {
                chunk[0] = [0x07, 0xb7, 0x18, 0x85, 0x95, 0x61, 0x7b, 0xdb][chunk[0] as usize % 8];
            }
        }
        if i % 5 == 0 {
            // Hex text.
            bytes = bytes
                .iter()
                .map(|b| format!("{b:02x} "))
                .collect::<String>()
                .into_bytes();
        }
        let f = write(&dir, "r.bin", &bytes);
        for args in [
            &["disasm"][..],
            &["run"],
            &["disasm", "--json"],
            &["run", "--json", "--budget", "50", "--repeat", "2"],
        ] {
            let mut argv = vec![args[0], s(&f)];
            argv.extend_from_slice(&args[1..]);
            let (code, out, err) = in_process(&argv);
            assert!(code <= 2, "{args:?} {bytes:?}: {code}");
            if code != 0 {
                assert_one_error_line(&err);
            } else if args.contains(&"--json") {
                serde_json::from_slice::<serde_json::Value>(&out).expect("JSON output");
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let f = write(&dir, "r.s", &text);
        for dialect in ["ubpf", "llvm", "auto"] {
            let (code, _out, err) = in_process(&["asm", s(&f), "-o", "-", "--dialect", dialect]);
            assert!(code <= 2);
            if code != 0 {
                assert_one_error_line(&err);
            }
        }
    }
}
