//! Argument errors, help and version.

use crate::util::{ebpfvm, in_process};

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["conformance"],
        &["conformance", "dir", "--engine", "gpu"],
        &["asm", "p.s", "--dialect", "intel"],
        &["run", "p.bin", "--data", "00", "--data-file", "x"],
    ] {
        let out = ebpfvm(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        // clap prints the help for a missing command, else one error and the usage.
        assert!(
            out.stderr.starts_with("error: ") || (args.is_empty() && out.stderr.contains("Usage:")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn help_and_version_exit_0() {
    let out = ebpfvm(&["--help"]);
    assert_eq!(out.code, 0);
    for cmd in ["conformance", "asm", "disasm", "run"] {
        assert!(out.stdout.contains(cmd), "{cmd}");
    }
    let out = ebpfvm(&["--version"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("ebpfvm "));
    let (code, out, _) = in_process(&["conformance", "--help"]);
    assert_eq!(code, 0);
    assert!(String::from_utf8(out).unwrap().contains("--engine"));
}
