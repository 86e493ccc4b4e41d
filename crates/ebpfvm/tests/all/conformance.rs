//! `ebpfvm conformance`.

use crate::util::{ebpfvm, in_process, s, suite, temp_dir, write};
use ebpfvm::cli::conformance::{conformance, Summary};
use ebpfvm::cli::EngineArg;

const ADD: &str = "-- asm\nmov32 %r0, 1\nadd32 %r0, 2\nexit\n-- result\n0x3\n";

#[test]
fn the_suite_passes_on_the_interpreter() {
    let Some(root) = suite() else { return };
    let dir = root.join("tests");
    let out = ebpfvm(&["conformance", s(&dir), "--engine", "interp"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "313 passed, 0 failed\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn engine_all_runs_the_available_engines() {
    let Some(root) = suite() else { return };
    let dir = root.join("tests");
    let out = ebpfvm(&["conformance", s(&dir), "--engine", "all"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.last_line(), "313 passed, 0 failed");
    assert_eq!(
        out.stderr,
        "note: jit engine not available yet; skipping it\n"
    );
}

#[test]
fn engine_jit_is_not_available_yet() {
    let dir = temp_dir("jit");
    write(&dir, "add.data", ADD);
    let out = ebpfvm(&["conformance", s(&dir), "--engine", "jit"]);
    assert_eq!(out.expect_error(2), "error: jit engine not available yet");
    assert_eq!(out.stdout, "");
}

#[test]
fn failures_errors_and_skips_are_reported() {
    let dir = temp_dir("mixed");
    write(&dir, "a_pass.data", ADD);
    write(&dir, "b_fail.data", ADD.replace("0x3", "0x103"));
    write(&dir, "c_bad_mem.data", format!("{ADD}-- mem\n00 zz\n"));
    write(
        &dir,
        "d_bad_asm.data",
        ADD.replace("add32 %r0, 2", "add32 %r0, %r50"),
    );
    write(&dir, "e_skip.data", "-- asm\nexit\n");
    write(
        &dir,
        "f_fault.data",
        "-- asm\nldxdw %r0, [%r1]\nexit\n-- result\n0\n",
    );
    write(&dir, "g_not_utf8.data", b"-- asm\n\xff\xfe\n");
    write(&dir, "ignored.txt", "not a test");
    std::fs::create_dir(dir.join("sub.data")).unwrap();
    let out = ebpfvm(&["conformance", s(&dir)]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "FAIL b_fail: expected 0x103, got 0x3");
    assert_eq!(
        lines[1],
        "ERROR c_bad_mem: line 8: invalid memory byte \"zz\" (expected two hex digits)"
    );
    assert_eq!(
        lines[2],
        "ERROR d_bad_asm: assembly failed: line 3: invalid register \"%r50\""
    );
    assert_eq!(lines[3], "SKIP e_skip: no result or error");
    assert!(
        lines[4].starts_with("ERROR f_fault: execution fault: pc 0: read of 8 bytes at 0x0"),
        "{}",
        lines[4]
    );
    assert!(lines[5].starts_with("ERROR g_not_utf8: "), "{}", lines[5]);
    assert!(lines[5].ends_with("is not UTF-8 text"), "{}", lines[5]);
    assert_eq!(lines[6], "1 passed, 5 failed, 1 skipped");
    assert_eq!(lines.len(), 7);
    assert_eq!(out.stderr, "");
}

#[test]
fn negative_folder_fails_the_high_bits_test() {
    let Some(root) = suite() else { return };
    let out = ebpfvm(&["conformance", s(&root.join("negative"))]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains(
        "FAIL incorrect_return_value_high_bits: expected 0x8977665544332211, got 0x8877665544332211\n"
    ));
    for name in ["invalid_mnemonic", "invalid_label", "invalid_offset_range"] {
        assert!(
            out.stdout
                .contains(&format!("ERROR {name}: assembly failed: line ")),
            "{name}"
        );
    }
    assert!(out
        .stdout
        .contains("SKIP invalid_unknown_directive: line 4: unknown directive"));
    assert!(out.last_line().ends_with("skipped"), "{}", out.last_line());
}

#[test]
fn unusable_directories() {
    let out = ebpfvm(&["conformance", "/nonexistent/dir"]);
    assert!(out
        .expect_error(2)
        .starts_with("error: cannot read directory /nonexistent/dir: "));
    let dir = temp_dir("empty");
    let out = ebpfvm(&["conformance", s(&dir)]);
    assert!(out.expect_error(2).contains("no *.data files"));
    let file = write(&dir, "x.data", ADD);
    let out = ebpfvm(&["conformance", s(&file)]);
    out.expect_error(2);
}

#[test]
fn in_process_library_function() {
    let dir = temp_dir("inproc");
    write(&dir, "add.data", ADD);
    write(
        &dir,
        "wrong.data",
        ADD.replace("0x3", "3\n-- result\n0xffffffff00000003"),
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = conformance(&dir, EngineArg::Interp, &mut out, &mut err).unwrap();
    assert_eq!(code, 1);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "FAIL wrong: expected 0xffffffff00000003, got 0x3\n1 passed, 1 failed\n"
    );
    let (code, out, err) = in_process(&["conformance", s(&dir)]);
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with("1 passed, 1 failed\n"));
}

#[test]
fn summary_line() {
    let s = Summary {
        passed: 3,
        failed: 1,
        skipped: 0,
    };
    assert_eq!(s.line(), "3 passed, 1 failed");
    let s = Summary { skipped: 2, ..s };
    assert_eq!(s.line(), "3 passed, 1 failed, 2 skipped");
}
