//! `ebpfvm run`.

use crate::util::{ebpfvm, s, temp_dir, write};

/// `r0 = *(u32 *)(r1 + 4) + r2; exit`
const PROG: [u8; 24] = [
    0x61, 0x10, 4, 0, 0, 0, 0, 0, // ldxw r0, [r1+4]
    0x0f, 0x20, 0, 0, 0, 0, 0, 0, // add r0, r2
    0x95, 0, 0, 0, 0, 0, 0, 0, // exit
];

#[test]
fn runs_with_memory_and_prints_r0() {
    let dir = temp_dir("run");
    let f = write(&dir, "p.bin", PROG);
    let out = ebpfvm(&["run", s(&f), "--data", "00 00 00 00 10 00 00 00"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "0x18\n", "")
    );
    let out = ebpfvm(&["run", s(&f), "--data", "0000000010000000ff"]);
    assert_eq!(out.stdout, "0x19\n");
    let data = write(&dir, "d.bin", [0, 0, 0, 0, 1, 0, 0, 0]);
    let out = ebpfvm(&["run", s(&f), "--data-file", s(&data)]);
    assert_eq!(out.stdout, "0x9\n");
}

#[test]
fn runs_assembled_and_hex_programs() {
    let dir = temp_dir("run-asm");
    let src = write(&dir, "p.s", "mov %r1, -1\ncall 5\nmov %r0, %r0\nexit\n");
    assert_eq!(ebpfvm(&["asm", s(&src)]).code, 0);
    let out = ebpfvm(&["run", s(&dir.join("p.bin"))]);
    assert_eq!(out.stdout, "0xffffffffffffffff\n", "{}", out.stderr);
    let hex = write(
        &dir,
        "p.hex",
        "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n",
    );
    assert_eq!(ebpfvm(&["run", s(&hex)]).stdout, "0x2a\n");
}

#[test]
fn faults_and_bad_arguments() {
    let dir = temp_dir("run-bad");
    let f = write(&dir, "p.bin", PROG);
    // No memory: r1 = 0, so the load faults.
    let out = ebpfvm(&["run", s(&f)]);
    assert!(out
        .expect_error(1)
        .contains("execution fault: pc 0: read of 4 bytes at 0x4"));
    let out = ebpfvm(&["run", s(&f), "--data", "zz"]);
    assert!(out.expect_error(2).contains("--data must be hex bytes"));
    let out = ebpfvm(&["run", s(&f), "--engine", "jit"]);
    assert_eq!(out.expect_error(2), "error: jit engine not available yet");
    // Unknown helper.
    let g = write(
        &dir,
        "h.bin",
        [0x85, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
    );
    ebpfvm(&["run", s(&g)]).expect_error(1);
    // A jump out of the program.
    let j = write(
        &dir,
        "j.bin",
        [0x05, 0, 5, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
    );
    ebpfvm(&["run", s(&j)]).expect_error(1);
}
