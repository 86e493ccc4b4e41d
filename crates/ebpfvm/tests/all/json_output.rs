//! `--json` on `run`, `disasm` and `conformance`, and `run --repeat/--budget/--dump-data`.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{assert_one_error_line, corpus_object, ebpfvm, in_process, s, temp_dir, write};

/// `examples/fnv1a.s` at the repository root.
fn fnv1a_example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/fnv1a.s")
}

/// FNV-1a (32-bit), computed independently of the program.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses stdout as exactly one JSON object on one line, after checking the run succeeded
/// (exit `code`) with nothing on stderr.
fn json_stdout(args: &[&str], code: i32) -> Value {
    let out = ebpfvm(args);
    assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
    assert_eq!(out.stderr, "", "{args:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{args:?}: {}", out.stdout);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", out.stdout));
    assert!(v.is_object(), "{v}");
    v
}

/// Instructions fnv1a.s executes on `n` bytes: 2 before the loop, 6 per byte, the exit;
/// with no bytes, the first jump goes straight to the exit.
fn fnv1a_insns(n: u64) -> u64 {
    if n == 0 {
        3
    } else {
        2 + 6 * n + 1
    }
}

#[test]
fn reference_fnv1a_is_right() {
    // The published FNV-1a test vectors.
    assert_eq!(fnv1a(b""), 0x811c_9dc5);
    assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    assert_eq!(fnv1a(b"hello"), 0x4f9f_2cab);
}

#[test]
fn run_json_reports_r0_and_the_instruction_count() {
    let prog = fnv1a_example();
    for input in [
        &b"hello"[..],
        b"",
        b"a",
        b"The quick brown fox jumps over the lazy dog",
    ] {
        let data = hex(input);
        let mut args = vec!["run", s(&prog), "--json"];
        if !input.is_empty() {
            args.extend(["--data", &data]);
        }
        let v = json_stdout(&args, 0);
        let want = fnv1a(input);
        assert_eq!(v["r0"], format!("{want:#x}"), "{v}");
        assert_eq!(v["r0_u64"].as_u64(), Some(u64::from(want)), "{v}");
        assert_eq!(
            v["executed"].as_u64(),
            Some(fnv1a_insns(input.len() as u64)),
            "{v}"
        );
        assert_eq!(v["runs"].as_u64(), Some(1), "{v}");
        assert_eq!(v["engine"], "interp");
        let ns = v["ns_per_run"].as_f64().expect("ns_per_run is a number");
        assert!(ns.is_finite() && ns >= 0.0, "{v}");
        assert!(v.get("data").is_none(), "{v}");
    }
    // The text output agrees.
    let out = ebpfvm(&["run", s(&prog), "--data", "68656c6c6f"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "0x4f9f2cab\n"));
    // The typed struct reads the same object back.
    let (code, out, err) = in_process(&["run", s(&prog), "--data", "68656c6c6f", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let typed: ebpfvm::cli::run::RunJson = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (typed.r0.as_str(), typed.r0_u64),
        ("0x4f9f2cab", 0x4f9f_2cab)
    );
}

#[test]
fn repeat_gives_the_same_r0_and_counts_runs() {
    let prog = fnv1a_example();
    let v = json_stdout(
        &[
            "run",
            s(&prog),
            "--data",
            "68656c6c6f",
            "--repeat",
            "3",
            "--json",
        ],
        0,
    );
    assert_eq!(v["r0"], "0x4f9f2cab");
    assert_eq!(v["runs"].as_u64(), Some(3));
    assert_eq!(v["executed"].as_u64(), Some(fnv1a_insns(5)));
    assert!(v["ns_per_run"].as_f64().is_some_and(|ns| ns >= 0.0), "{v}");
    let out = ebpfvm(&["run", s(&prog), "--data", "68656c6c6f", "--repeat", "3"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "0x4f9f2cab\n"));
    for bad in ["0", "-1", "x"] {
        let out = ebpfvm(&["run", s(&prog), "--repeat", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    }
}

#[test]
fn memory_is_reset_before_each_repeat_and_can_be_dumped() {
    let dir = temp_dir("repeat-mem");
    // mem[0] += 1; mem[1] = 0xaa; r0 = mem[0]
    let prog = write(
        &dir,
        "inc.s",
        "r0 = *(u8 *)(r1 + 0x0)\nr0 += 0x1\n*(u8 *)(r1 + 0x0) = r0\n\
         r3 = 0xaa\n*(u8 *)(r1 + 0x1) = r3\nexit\n",
    );
    let out = ebpfvm(&[
        "run",
        s(&prog),
        "--data",
        "05 00 07",
        "--repeat",
        "4",
        "--dump-data",
    ]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "0x6\n06aa07\n", "")
    );
    let v = json_stdout(
        &[
            "run",
            s(&prog),
            "--data",
            "050007",
            "--repeat",
            "4",
            "--dump-data",
            "--json",
        ],
        0,
    );
    assert_eq!(
        (&v["r0"], &v["data"], &v["runs"]),
        (&"0x6".into(), &"06aa07".into(), &4.into())
    );
    assert_eq!(v["executed"].as_u64(), Some(6));
    // No memory: an empty dump.
    let ret = write(&dir, "ret.s", "r0 = 0x7\nexit\n");
    let out = ebpfvm(&["run", s(&ret), "--dump-data"]);
    assert_eq!(out.stdout, "0x7\n\n");
}

#[test]
fn an_exhausted_budget_is_one_error_line() {
    let dir = temp_dir("budget");
    let spin = write(&dir, "spin.s", "r0 = 0x0\nloop:\nr0 += 0x1\ngoto loop\n");
    // The budget is checked at taken jumps: after 3, 5, 7, 9 and 11 instructions, and the
    // run stops at the jump's target, pc 1.
    for extra in [&[][..], &["--json"], &["--repeat", "5"]] {
        let mut args = vec!["run", s(&spin), "--budget", "10"];
        args.extend_from_slice(extra);
        let out = ebpfvm(&args);
        assert_eq!(
            out.expect_error(1),
            "error: pc 1: instruction budget of 10 exhausted",
            "{extra:?}"
        );
        assert_eq!(out.stdout, "", "{extra:?}");
    }
    // A budget that suffices changes nothing; one that does not stops the hash.
    let prog = fnv1a_example();
    let v = json_stdout(
        &[
            "run",
            s(&prog),
            "--data",
            "68656c6c6f",
            "--budget",
            "33",
            "--json",
        ],
        0,
    );
    assert_eq!(v["r0"], "0x4f9f2cab");
    let out = ebpfvm(&["run", s(&prog), "--data", "68656c6c6f", "--budget", "20"]);
    assert_eq!(
        out.expect_error(1),
        "error: pc 2: instruction budget of 20 exhausted"
    );
    let out = ebpfvm(&["run", s(&prog), "--budget", "many"]);
    assert_eq!(out.code, 2);
}

#[test]
fn other_run_errors_stay_one_line_with_json() {
    let dir = temp_dir("run-json-err");
    let load = write(&dir, "load.s", "r0 = *(u32 *)(r1 + 0x4)\nexit\n");
    let out = ebpfvm(&["run", s(&load), "--json"]);
    assert!(out
        .expect_error(1)
        .contains("execution fault: pc 0: read of 4 bytes at 0x4"));
    assert_eq!(out.stdout, "");
    let out = ebpfvm(&["run", s(&load), "--json", "--engine", "jit"]);
    assert_eq!(out.expect_error(2), "error: jit engine not available yet");
}

const PROG: &str = "mov %r0, 1\nlddw %r0, 0x100000000\njeq %r1, 0, +1\nexit\nexit\n";

#[test]
fn disasm_json_matches_the_listing_and_the_bytes() {
    let dir = temp_dir("disasm-json");
    let src = write(&dir, "p.s", PROG);
    let bin = dir.join("p.bin");
    assert_eq!(ebpfvm(&["asm", s(&src), "-o", s(&bin)]).code, 0);
    let bytes = std::fs::read(&bin).unwrap();
    let listing = ebpfvm(&["disasm", s(&bin)]).stdout;
    for input in [&src, &bin] {
        let v = json_stdout(&["disasm", s(input), "--json"], 0);
        let format = if input == &src { "asm" } else { "raw" };
        assert_eq!(v["format"], format);
        let sections = v["sections"].as_array().unwrap();
        assert_eq!(sections.len(), 1);
        assert!(sections[0]["name"].is_null());
        let insns = sections[0]["insns"].as_array().unwrap();
        let pcs: Vec<u64> = insns.iter().map(|i| i["pc"].as_u64().unwrap()).collect();
        assert_eq!(pcs, [0, 1, 3, 4, 5]);
        // text and pc rebuild the text listing; raw rebuilds the bytes.
        let rebuilt: String = insns
            .iter()
            .map(|i| {
                format!(
                    "{:>8}:\t{}\n",
                    i["pc"].as_u64().unwrap(),
                    i["text"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(rebuilt, listing);
        let raw: String = insns.iter().map(|i| i["raw"].as_str().unwrap()).collect();
        assert_eq!(raw, hex(&bytes));
        assert_eq!(insns[0]["raw"], "b700000001000000");
        assert_eq!(insns[1]["raw"].as_str().unwrap().len(), 32);
        assert_eq!(insns[2]["target"].as_u64(), Some(5));
        for i in insns {
            assert!(
                i.get("label").is_none() && i.get("target_label").is_none(),
                "{i}"
            );
        }
        assert!(insns[0].get("target").is_none());
    }
    // A bad instruction is one error line and no JSON.
    let bad = write(
        &dir,
        "bad.bin",
        [0xb7, 0, 0, 0, 1, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0],
    );
    let out = ebpfvm(&["disasm", s(&bad), "--json"]);
    assert!(out.expect_error(1).ends_with("pc 1: unknown opcode 0xff"));
    assert_eq!(out.stdout, "");
}

#[test]
fn disasm_json_of_an_elf_object_names_sections_and_symbols() {
    let Some(obj) = corpus_object("suricata/bypass_filter.o") else {
        return;
    };
    let v = json_stdout(&["disasm", s(&obj), "--json"], 0);
    assert_eq!(v["format"], "elf");
    let sections = v["sections"].as_array().unwrap();
    // The empty .text section is left out, as in the text listing.
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0]["name"], "filter");
    let insns = sections[0]["insns"].as_array().unwrap();
    assert_eq!(insns[0]["label"], "hashfilter");
    assert_eq!(insns[0]["text"], "r6 = r1");
    assert_eq!(insns[1]["text"], "r1 = 0xffe0000e ll");
    // The text listing's `goto +0x29 <LBB0_6>` and `<LBB0_4>:` header (byte 0x98 = pc 19).
    let jump = insns
        .iter()
        .find(|i| i["text"].as_str().unwrap().ends_with("goto +0x29"))
        .unwrap();
    assert_eq!(jump["target_label"], "LBB0_6");
    let at19 = insns.iter().find(|i| i["pc"] == 19).unwrap();
    assert_eq!(at19["label"], "LBB0_4");
    let listing = ebpfvm(&["disasm", s(&obj)]).stdout;
    let lines = listing
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_once(":\t")
                .is_some_and(|(pc, _)| pc.parse::<u64>().is_ok())
        })
        .count();
    assert_eq!(insns.len(), lines);
}

const ADD: &str = "-- asm\nmov32 %r0, 1\nadd32 %r0, 2\nexit\n-- result\n0x3\n";

#[test]
fn conformance_json_on_the_suite() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/tests");
    if !dir.is_dir() {
        eprintln!("{} not found: skipping", dir.display());
        return;
    }
    let v = json_stdout(&["conformance", s(&dir), "--json"], 0);
    assert_eq!(v["passed"].as_u64(), Some(313), "{}", v["failed"]);
    assert_eq!(
        (v["failed"].as_u64(), v["skipped"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(v["engine"], "interp");
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 313);
    for t in tests {
        assert_eq!(
            (&t["outcome"], &t["engine"]),
            (&"pass".into(), &"interp".into()),
            "{t}"
        );
        assert!(t["detail"].is_null(), "{t}");
    }
    let names: Vec<&str> = tests.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"add") && names.contains(&"lddw"),
        "{names:?}"
    );
    // --engine all: the same tests, a note about the JIT on stderr.
    let out = ebpfvm(&["conformance", s(&dir), "--json", "--engine", "all"]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        "note: jit engine not available yet; skipping it\n"
    );
    let all: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (all["engine"].as_str(), all["passed"].as_u64()),
        (Some("all"), Some(313))
    );
}

#[test]
fn conformance_json_reports_every_outcome() {
    let dir = temp_dir("conf-json");
    write(&dir, "a_pass.data", ADD);
    write(&dir, "b_fail.data", ADD.replace("0x3", "0x103"));
    write(&dir, "c_skip.data", "-- asm\nexit\n");
    write(
        &dir,
        "d_fault.data",
        "-- asm\nldxdw %r0, [%r1]\nexit\n-- result\n0\n",
    );
    let v = json_stdout(&["conformance", s(&dir), "--json"], 1);
    assert_eq!(
        (
            v["passed"].as_u64(),
            v["failed"].as_u64(),
            v["skipped"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    let typed: ebpfvm::cli::conformance::ConformanceJson = serde_json::from_value(v).unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = typed
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.outcome.as_str(), t.detail.as_deref()))
        .collect();
    assert_eq!(got[0], ("a_pass", "pass", None));
    assert_eq!(got[1], ("b_fail", "fail", Some("expected 0x103, got 0x3")));
    assert_eq!(got[2], ("c_skip", "skip", Some("no result or error")));
    assert_eq!((got[3].0, got[3].1), ("d_fault", "error"));
    assert!(got[3]
        .2
        .unwrap()
        .starts_with("execution fault: pc 0: read of 8 bytes at 0x0"));
    assert_eq!(got.len(), 4);
    // Errors stay one line, with nothing on stdout.
    let out = ebpfvm(&["conformance", s(&dir), "--json", "--engine", "jit"]);
    assert_eq!(out.expect_error(2), "error: jit engine not available yet");
    assert_eq!(out.stdout, "");
    let (code, out, err) = in_process(&["conformance", "/nonexistent/dir", "--json"]);
    assert_eq!((code, out.len()), (2, 0));
    assert_one_error_line(&err);
}

#[test]
fn help_describes_the_new_options() {
    let run = ebpfvm(&["run", "--help"]);
    assert_eq!(run.code, 0);
    for opt in [
        "--repeat <N>",
        "--budget <N>",
        "--dump-data",
        "--json",
        "ns_per_run",
    ] {
        assert!(
            run.stdout.contains(opt),
            "run --help lacks {opt}:\n{}",
            run.stdout
        );
    }
    for cmd in ["conformance", "disasm"] {
        let out = ebpfvm(&[cmd, "--help"]);
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("--json"),
            "{cmd} --help:\n{}",
            out.stdout
        );
    }
    let top = ebpfvm(&["--help"]);
    assert!(top.stdout.contains("--json"), "{}", top.stdout);
}
