//! CFG validation (`ebpfvm_verifier::cfg`): every check with its message, subprograms, prune
//! points, a million-slot program, and the real objects of `tests/progs` and the corpus.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ebpfvm_isa::asm::llvm::assemble;
use ebpfvm_isa::RawInsn;
use ebpfvm_verifier::cfg::{
    check_cfg, check_stack_depth, check_stack_depth_with, CallKind, Cfg, CfgError, CfgErrorKind,
    CfgOptions, StackRounding,
};

fn asm(text: &str) -> Vec<RawInsn> {
    assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn ok(text: &str) -> Cfg {
    check_cfg(&asm(text), &CfgOptions::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err_with(slots: &[RawInsn], opts: &CfgOptions) -> CfgError {
    match check_cfg(slots, opts) {
        Ok(_) => panic!("accepted: {slots:?}"),
        Err(e) => e,
    }
}

fn err(text: &str) -> CfgError {
    err_with(&asm(text), &CfgOptions::default())
}

fn no_loops() -> CfgOptions {
    CfgOptions {
        allow_loops: false,
        ..CfgOptions::default()
    }
}

#[track_caller]
fn assert_err(e: &CfgError, pc: usize, kind: CfgErrorKind, message: &str) {
    assert_eq!(
        (e.pc, e.kind, e.message.as_str()),
        (pc, kind, message),
        "{e}"
    );
    assert_eq!(e.to_string(), format!("pc {pc}: {message}"));
}

/// `ld_imm64` slots by hand: (first, second).
fn ld_imm64(dst: u8, src: u8, imm: i32, next_imm: i32) -> [RawInsn; 2] {
    [
        RawInsn::new(0x18, dst, src, 0, imm),
        RawInsn::new(0, 0, 0, 0, next_imm),
    ]
}

const EXIT: RawInsn = RawInsn::new(0x95, 0, 0, 0, 0);
const MOV_R0_0: RawInsn = RawInsn::new(0xb7, 0, 0, 0, 0);

// ---- size and decoding ----

#[test]
fn empty_program() {
    assert_err(
        &err_with(&[], &CfgOptions::default()),
        0,
        CfgErrorKind::Empty,
        "program has no instructions",
    );
}

#[test]
fn too_many_insns() {
    let opts = CfgOptions {
        max_insns: 3,
        ..CfgOptions::default()
    };
    let slots = [MOV_R0_0, MOV_R0_0, MOV_R0_0, EXIT];
    let e = err_with(&slots, &opts);
    assert_eq!((e.pc, e.kind), (3, CfgErrorKind::TooLarge));
    assert_eq!(e.message, "program of 4 insns is too large (limit 3)");
    assert!(check_cfg(&slots[1..], &opts).is_ok());
}

#[test]
fn decode_errors_use_linux_messages() {
    let cases: &[(&[RawInsn], usize, &str)] = &[
        (
            &[MOV_R0_0, RawInsn::new(0xff, 0, 0, 0, 0), EXIT],
            1,
            "unknown opcode ff",
        ),
        (
            &[RawInsn::new(0xb7, 11, 0, 0, 0), EXIT],
            0,
            "R11 is invalid",
        ),
        (
            &[RawInsn::new(0x07, 1, 0, 5, 1), EXIT],
            0,
            "BPF_ALU uses reserved fields",
        ),
        (
            &[RawInsn::new(0xb7, 0, 3, 0, 0), EXIT],
            0,
            "BPF_MOV uses reserved fields",
        ),
        (
            &[MOV_R0_0, RawInsn::new(0x95, 0, 0, 0, 1)],
            1,
            "BPF_EXIT uses reserved fields",
        ),
        (
            &[RawInsn::new(0x85, 0, 0, 4, 1), EXIT],
            0,
            "BPF_CALL uses reserved fields",
        ),
        (
            &[RawInsn::new(0x05, 0, 0, 0, 7), EXIT],
            0,
            "BPF_JA uses reserved fields",
        ),
        (
            &[
                RawInsn::new(0x15, 1, 0, 0, 0),
                RawInsn::new(0x1d, 1, 2, 0, 3),
                EXIT,
            ],
            1,
            "BPF_JMP/JMP32 uses reserved fields",
        ),
        (
            &[RawInsn::new(0x61, 0, 1, 0, 9), EXIT],
            0,
            "BPF_LDX uses reserved fields",
        ),
        (
            &[RawInsn::new(0x62, 10, 1, -8, 0), EXIT],
            0,
            "BPF_ST uses reserved fields",
        ),
        (
            &[RawInsn::new(0x63, 10, 1, -8, 2), EXIT],
            0,
            "BPF_STX uses reserved fields",
        ),
        (
            &[RawInsn::new(0xdb, 10, 1, -8, 0x77), EXIT],
            0,
            "BPF_ATOMIC uses invalid atomic opcode 77",
        ),
        (
            &[RawInsn::new(0xd4, 1, 0, 0, 17), EXIT],
            0,
            "BPF_END uses reserved fields",
        ),
        (
            &[RawInsn::new(0x30, 0, 0, 3, 4), EXIT],
            0,
            "BPF_LD_[ABS|IND] uses reserved fields",
        ),
    ];
    for &(slots, pc, message) in cases {
        let e = err_with(slots, &CfgOptions::default());
        assert_err(&e, pc, CfgErrorKind::Decode, message);
        let source = std::error::Error::source(&e).expect("the decoder's error is the source");
        assert!(
            source.to_string().starts_with(&format!("pc {pc}: ")),
            "{source}"
        );
    }
}

#[test]
fn invalid_ld_imm64() {
    // The second slot is missing.
    let e = err_with(
        &[MOV_R0_0, RawInsn::new(0x18, 1, 0, 0, 0)],
        &CfgOptions::default(),
    );
    assert_err(&e, 1, CfgErrorKind::Decode, "invalid bpf_ld_imm64 insn");
    // The second slot has an opcode.
    let e = err_with(
        &[RawInsn::new(0x18, 1, 0, 0, 0), EXIT, EXIT],
        &CfgOptions::default(),
    );
    assert_err(&e, 0, CfgErrorKind::Decode, "invalid bpf_ld_imm64 insn");
    // A map index with a second immediate.
    let [a, b] = ld_imm64(1, 5, 0, 4);
    let e = err_with(&[a, b, EXIT], &CfgOptions::default());
    assert_err(&e, 0, CfgErrorKind::Decode, "invalid bpf_ld_imm64 insn");
    // Unknown pseudo sources.
    for src in [7, 8, 15] {
        let [a, b] = ld_imm64(1, src, 0, 0);
        let e = err_with(&[a, b, EXIT], &CfgOptions::default());
        assert_err(
            &e,
            0,
            CfgErrorKind::Decode,
            "unrecognized bpf_ld_imm64 insn",
        );
    }
    // An offset.
    let e = err_with(
        &[RawInsn::new(0x18, 1, 0, 2, 0), RawInsn::default(), EXIT],
        &CfgOptions::default(),
    );
    assert_err(
        &e,
        0,
        CfgErrorKind::Decode,
        "BPF_LD_IMM64 uses reserved fields",
    );
    // Every defined source is accepted here (maps are resolved later).
    for src in 0..=6u8 {
        let [a, b] = ld_imm64(1, src, if src == 4 { 2 } else { 0 }, 0);
        let slots = [a, b, EXIT, MOV_R0_0, EXIT];
        let slots = if src == 4 { &slots[..] } else { &slots[..3] };
        check_cfg(slots, &CfgOptions::default()).unwrap_or_else(|e| panic!("src {src}: {e}"));
    }
}

// ---- jumps and falling off ----

#[test]
fn jump_out_of_range() {
    let e = err("r0 = 0\nif r1 == 0x0 goto +0x5\nexit");
    assert_err(
        &e,
        1,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 1 to 7",
    );
    let e = err("goto -0x3\nexit");
    assert_err(
        &e,
        0,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 0 to -2",
    );
    // A jump to one past the end.
    let e = err("r0 = 0\ngoto +0x1\nexit");
    assert_err(
        &e,
        1,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 1 to 3",
    );
    let e = err("gotol +0x100000\nexit");
    assert_err(
        &e,
        0,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 0 to 1048577",
    );
    let e = err("r0 = 0\nmay_goto -0x3\nexit");
    assert_err(
        &e,
        1,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 1 to -1",
    );
}

#[test]
fn jump_across_subprograms() {
    // Into the callee.
    let e = err("call f
         if r0 == 0x0 goto +0x1
         exit
         f: r0 = 0
         exit");
    assert_err(
        &e,
        1,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 1 to 3",
    );
    // Out of the callee back into the caller.
    let e = err("call f
         exit
         f: r0 = 0
         goto -0x3");
    assert_err(
        &e,
        3,
        CfgErrorKind::JumpOutOfRange,
        "jump out of range from insn 3 to 1",
    );
}

#[test]
fn falling_off_the_end() {
    let e = err("r0 = 0");
    assert_err(
        &e,
        0,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    let e = err("r0 = 0\nexit\nr0 = 1");
    assert_err(
        &e,
        2,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    let e = err("r0 = 0\nif r0 == 0x0 goto -0x2");
    assert_err(
        &e,
        1,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    // A call as the last insn falls through too.
    let e = err("r0 = 0\ncall 0x5");
    assert_err(
        &e,
        1,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    // An ld_imm64 last: its second slot is the last slot.
    let e = err("r0 = 0\nr1 = 0x1 ll");
    assert_err(
        &e,
        2,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    // A goto back is a valid last instruction.
    let cfg = ok("r0 = 0\nif r0 == 0x0 goto +0x1\nexit\ngoto -0x4");
    assert!(cfg.has_loops);
}

#[test]
fn subprogram_falling_into_the_next() {
    let e = err("call f
         r0 = 0
         f: r0 = 1
         exit");
    assert_err(
        &e,
        1,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
    // A call target in the middle of an ld_imm64 ends the caller on its first slot.
    let [a, b] = ld_imm64(1, 0, 0, 0);
    let slots = [RawInsn::new(0x85, 0, 1, 0, 1), a, b, EXIT];
    let e = err_with(&slots, &CfgOptions::default());
    assert_err(
        &e,
        1,
        CfgErrorKind::FallThrough,
        "last insn is not an exit or jmp",
    );
}

#[test]
fn jump_into_ld_imm64() {
    let e = err("if r1 == 0x0 goto +0x1
         r0 = 0x1234 ll
         exit");
    assert_err(
        &e,
        1,
        CfgErrorKind::JumpIntoLdImm64,
        "jump into the middle of ldimm64 insn 1",
    );
    // An unreachable insn before it is reported first, as Linux checks in slot order.
    let e = err("goto +0x2
         r0 = 0
         r0 = 0x1234 ll
         exit");
    assert_err(&e, 1, CfgErrorKind::Unreachable, "unreachable insn 1");
}

// ---- calls ----

#[test]
fn call_to_invalid_destination() {
    let e = err("r0 = 0\ncall +0x10\nexit");
    assert_err(
        &e,
        1,
        CfgErrorKind::InvalidCallTarget,
        "call to invalid destination",
    );
    let e = err("call -0x2\nexit");
    assert_err(
        &e,
        0,
        CfgErrorKind::InvalidCallTarget,
        "call to invalid destination",
    );
    // A function pointer out of range.
    let e = err("ld_pseudo r1, 4, 0x64\nexit");
    assert_err(
        &e,
        0,
        CfgErrorKind::InvalidCallTarget,
        "call to invalid destination",
    );
    let e = err("ld_pseudo r1, 4, -0x3\nexit");
    assert_err(
        &e,
        0,
        CfgErrorKind::InvalidCallTarget,
        "call to invalid destination",
    );
}

#[test]
fn recursion() {
    // A function that calls itself.
    let e = err("call f
         exit
         f: r0 = 0
         call f
         exit");
    assert_err(&e, 3, CfgErrorKind::Recursion, "back-edge from insn 3 to 2");
    // main → f → g → f.
    let e = err("call f
         exit
         f: call g
         exit
         g: if r1 == 0x0 goto +0x1
         call f
         exit");
    assert_err(&e, 5, CfgErrorKind::Recursion, "back-edge from insn 5 to 2");
    // A call to the entry.
    let e = err("r0 = 0\nif r1 == 0x0 goto +0x1\ncall -0x3\nexit");
    assert_err(&e, 2, CfgErrorKind::Recursion, "back-edge from insn 2 to 0");
    // Recursion is rejected whether or not loops are allowed.
    let e = err_with(&asm("call f\nexit\nf: call f\nexit"), &no_loops());
    assert_err(&e, 2, CfgErrorKind::Recursion, "back-edge from insn 2 to 2");
}

#[test]
fn loops() {
    let text = "r0 = 0
                r0 += 1
                if r0 < 0xa goto -0x2
                exit";
    let cfg = ok(text);
    assert!(cfg.has_loops);
    assert_eq!(cfg.back_edges, vec![(2, 1)]);
    let e = err_with(&asm(text), &no_loops());
    assert_err(&e, 2, CfgErrorKind::Loop, "back-edge from insn 2 to 1");
    // A goto to itself.
    let e = err_with(&asm("goto -0x1\nexit"), &no_loops());
    assert_err(&e, 0, CfgErrorKind::Loop, "back-edge from insn 0 to 0");
    // A loop inside a callee.
    let e = err_with(
        &asm("call f\nexit\nf: r0 = 0\nmay_goto +0x1\ngoto -0x2\nexit"),
        &no_loops(),
    );
    assert_err(&e, 4, CfgErrorKind::Loop, "back-edge from insn 4 to 3");
    // No loops: no back-edges.
    let cfg = ok("if r1 == 0x0 goto +0x1\nr0 = 1\nexit");
    assert!(!cfg.has_loops && cfg.back_edges.is_empty());
    // Two calls of one function are no loop.
    let cfg = check_cfg(&asm("call f\ncall f\nexit\nf: r0 = 0\nexit"), &no_loops()).unwrap();
    assert!(!cfg.has_loops);
}

#[test]
fn callback_referring_to_itself() {
    // A callback that passes itself on is no recursion of calls: symbolic execution decides.
    let text = "ld_pseudo r2, 4, 0x3     ; 0-1: cb at 4
                call 0xb5                ; 2
                exit                     ; 3
                r0 = 0                   ; 4
                ld_pseudo r2, 4, -0x2    ; 5-6: cb at 4
                call 0xb5                ; 7
                exit                     ; 8";
    let cfg = ok(text);
    assert!(!cfg.has_loops);
    assert!(cfg.subprogs[1].is_cb);
    // Without loops, the cycle is refused.
    let e = err_with(&asm(text), &no_loops());
    assert_err(&e, 5, CfgErrorKind::Loop, "back-edge from insn 5 to 4");
    // But Linux's stack walk runs into the frame limit along it.
    let e = check_stack_depth(&cfg, &[0, 0]).unwrap_err();
    assert_err(
        &e,
        5,
        CfgErrorKind::CallStackTooDeep,
        "the call stack of 8 frames is too deep !",
    );
}

#[test]
fn unreachable_insns() {
    let e = err("r0 = 0\nexit\nr0 = 1\nexit");
    assert_err(&e, 2, CfgErrorKind::Unreachable, "unreachable insn 2");
    let e = err("goto +0x1\nr0 = 1\nexit");
    assert_err(&e, 1, CfgErrorKind::Unreachable, "unreachable insn 1");
    // A function only called from dead code.
    let e = err("r0 = 0
         exit
         call f
         exit
         f: r0 = 0
         exit");
    assert_err(&e, 2, CfgErrorKind::Unreachable, "unreachable insn 2");
    // The second slot of ld_imm64 is not an insn of its own.
    ok("r1 = 0x123456789 ll\nr0 = 0\nexit");
}

fn call_chain(calls: usize) -> String {
    // main → f1 → … → f<calls>; each fN is `call fN+1; exit`, the last `r0 = 0; exit`.
    let mut text = String::from("call f1\nexit\n");
    for i in 1..calls {
        text.push_str(&format!("f{i}: call f{}\nexit\n", i + 1));
    }
    text.push_str(&format!("f{calls}: r0 = 0\nexit\n"));
    text
}

#[test]
fn call_stack_depth() {
    // 8 frames: the entry and 7 nested calls.
    let cfg = ok(&call_chain(7));
    assert_eq!(cfg.subprogs.len(), 8);
    // A ninth frame.
    let e = err(&call_chain(8));
    assert_err(
        &e,
        14,
        CfgErrorKind::CallStackTooDeep,
        "the call stack of 8 frames is too deep !",
    );
    // Depth counts along chains, not calls: many calls side by side are fine.
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!("call f{i}\n"));
    }
    text.push_str("exit\n");
    for i in 0..20 {
        text.push_str(&format!("f{i}: r0 = 0\nexit\n"));
    }
    assert_eq!(ok(&text).subprogs.len(), 21);
    // The first chain too deep in slot order is reported: here the second call's.
    let mut text = String::from("call short\ncall f1\nexit\nshort: r0 = 0\nexit\n");
    for i in 1..8 {
        text.push_str(&format!("f{i}: call f{}\nexit\n", i + 1));
    }
    text.push_str("f8: r0 = 0\nexit\n");
    let e = err(&text);
    assert_eq!(e.kind, CfgErrorKind::CallStackTooDeep);
    assert_eq!(e.pc, 5 + 2 * 6);
}

#[test]
fn too_many_subprograms() {
    let mut text = String::new();
    for i in 0..256 {
        text.push_str(&format!("call f{i}\n"));
    }
    text.push_str("exit\n");
    for i in 0..256 {
        text.push_str(&format!("f{i}: r0 = 0\nexit\n"));
    }
    let e = err(&text);
    assert_err(
        &e,
        255,
        CfgErrorKind::TooManySubprogs,
        "too many subprograms",
    );
    // 256 in all (the entry and 255 functions) is the limit.
    let text: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let text = text.replacen("f0: r0 = 0\nexit\n", "", 1);
    assert_eq!(ok(&text).subprogs.len(), 256);
}

#[test]
fn exception_callback() {
    let slots = asm("r0 = 0\nexit\nr0 = 1\nexit");
    // Without the option, the callback is dead code.
    assert_eq!(
        err_with(&slots, &CfgOptions::default()).kind,
        CfgErrorKind::Unreachable
    );
    let opts = CfgOptions {
        exception_callback: Some(2),
        ..CfgOptions::default()
    };
    let cfg = check_cfg(&slots, &opts).unwrap();
    assert_eq!(cfg.subprogs.len(), 2);
    assert!(cfg.subprogs[1].is_exception_cb && !cfg.subprogs[0].is_exception_cb);
    // It may not be called directly.
    let slots = asm("call +0x1\nexit\nr0 = 1\nexit");
    let opts = CfgOptions {
        exception_callback: Some(2),
        ..CfgOptions::default()
    };
    assert_err(
        &err_with(&slots, &opts),
        0,
        CfgErrorKind::CallsExceptionCallback,
        "insn 0 cannot call exception cb directly",
    );
    // It must be in the program.
    let opts = CfgOptions {
        exception_callback: Some(9),
        ..CfgOptions::default()
    };
    assert_eq!(
        err_with(&slots, &opts).kind,
        CfgErrorKind::InvalidExceptionCallback
    );
}

// ---- what the graph holds ----

#[test]
fn subprograms_are_found() {
    let cfg = ok("r6 = r1                     ; 0
         call f                      ; 1
         ld_pseudo r2, 4, 0xa        ; 2-3: callback cb at 13
         r1 = 4                      ; 4
         r3 = 0                      ; 5
         r4 = 0                      ; 6
         call 0xb5                   ; 7: bpf_loop
         r1 = r6                     ; 8
         r2 = 0                      ; 9
         r3 = 0                      ; 10
         call 0xc                    ; 11: tail call
         exit                        ; 12
         cb: r0 = *(u8 *)skb[0x17]   ; 13
         r0 = 0                      ; 14
         exit                        ; 15
         f: r0 = 1                   ; 16
         exit                        ; 17");
    let spans: Vec<_> = cfg.subprogs.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(spans, vec![(0, 13), (13, 16), (16, 18)]);
    let flags: Vec<_> = cfg
        .subprogs
        .iter()
        .map(|s| (s.is_called, s.is_cb, s.has_tail_call, s.has_ld_abs))
        .collect();
    assert_eq!(
        flags,
        vec![
            (false, false, true, false),
            (false, true, false, true),
            (true, false, false, false),
        ]
    );
    assert_eq!(cfg.calls.len(), 2);
    assert_eq!(
        (cfg.calls[0].pc, cfg.calls[0].callee, cfg.calls[0].kind),
        (1, 2, CallKind::Local)
    );
    assert_eq!(
        (cfg.calls[1].pc, cfg.calls[1].callee, cfg.calls[1].kind),
        (2, 1, CallKind::Callback)
    );
    assert_eq!(cfg.calls_of(0).len(), 2);
    assert!(cfg.calls_of(1).is_empty());
    assert_eq!(cfg.call_at(2).map(|c| c.callee), Some(1));
    assert_eq!(cfg.call_at(3), None);
    for (pc, want) in [(0, 0), (12, 0), (13, 1), (15, 1), (16, 2), (17, 2), (99, 2)] {
        assert_eq!(cfg.subprog_of(pc), want, "pc {pc}");
    }
    assert_eq!(cfg.subprog_at(13), Some(1));
    assert_eq!(cfg.subprog_at(14), None);
    assert!(cfg.insn(3).is_none() && cfg.insn(2).is_some());
    assert_eq!(cfg.len(), 18);
}

fn marked(v: &[bool]) -> Vec<usize> {
    v.iter()
        .enumerate()
        .filter(|(_, &b)| b)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn prune_points() {
    let cfg = ok("r0 = 0                  ; 0
         if r1 > 0x3 goto +0x3   ; 1: cond jump, target 5
         r0 = 1                  ; 2
         call 0x7                ; 3: helper, 4 after it
         goto +0x1               ; 4: target 6
         r0 = 2                  ; 5
         call f                  ; 6: local call, 7 after it, f at 8
         exit                    ; 7
         f: r0 = 4               ; 8
         may_goto +0x0           ; 9: cond jump (target 10)
         exit                    ; 10");
    assert_eq!(marked(&cfg.prune_point), vec![1, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(marked(&cfg.jmp_point), vec![4, 5, 6, 7, 8, 10]);
    assert_eq!(marked(&cfg.force_checkpoint), vec![9]);

    // Callbacks: the ld_imm64, the slot after it, the callback entry; the bpf_loop call
    // itself is a forced checkpoint.
    let cfg = ok("r1 = 4                  ; 0
         ld_pseudo r2, 4, 0x5    ; 1-2: cb at 7
         r3 = 0                  ; 3
         r4 = 0                  ; 4
         call 0xb5               ; 5: bpf_loop
         exit                    ; 6
         cb: r0 = 0              ; 7
         exit                    ; 8");
    assert_eq!(marked(&cfg.prune_point), vec![1, 3, 5, 6, 7]);
    assert_eq!(marked(&cfg.force_checkpoint), vec![5]);
    assert_eq!(marked(&cfg.jmp_point), vec![3, 5, 6, 7]);
}

#[test]
fn successors_and_predecessors() {
    let cfg = ok("if r1 == 0x0 goto +0x3  ; 0: to 1 and 4
         r0 = 1 ll               ; 1-2: to 3
         goto +0x1               ; 3: to 5
         r0 = 0                  ; 4: to 5
         call 0x5                ; 5: to 6
         if r0 == 0x0 goto +0x0  ; 6: to 7 once
         exit                    ; 7");
    let succs: Vec<Vec<usize>> = (0..cfg.len()).map(|pc| cfg.succs(pc).collect()).collect();
    assert_eq!(
        succs,
        vec![
            vec![1, 4],
            vec![3],
            vec![],
            vec![5],
            vec![5],
            vec![6],
            vec![7],
            vec![]
        ]
    );
    let preds: Vec<&[u32]> = (0..cfg.len()).map(|pc| cfg.preds(pc)).collect();
    let want: Vec<&[u32]> = vec![&[], &[0], &[], &[1], &[0], &[3, 4], &[5], &[6]];
    assert_eq!(preds, want);
    assert!(cfg.preds(100).is_empty());
    // Post-order: every slot once (not the second half of ld_imm64), successors first.
    let mut post = cfg.postorder.clone();
    assert_eq!(post.first(), Some(&7));
    assert_eq!(post.last(), Some(&0));
    post.sort_unstable();
    assert_eq!(post, vec![0, 1, 3, 4, 5, 6, 7]);
}

// ---- stack depth ----

fn two_level(tail_call_in_f: bool) -> Cfg {
    // main → f → g
    let tail = if tail_call_in_f { "call 0xc\n" } else { "" };
    ok(&format!(
        "call f\nexit\nf: call g\n{tail}exit\ng: r0 = 0\nexit"
    ))
}

#[test]
fn combined_stack_size() {
    let cfg = two_level(false);
    check_stack_depth(&cfg, &[256, 128, 128]).unwrap();
    check_stack_depth(&cfg, &[512]).unwrap(); // missing depths count as 0
    let e = check_stack_depth(&cfg, &[256, 128, 136]).unwrap_err();
    assert_err(
        &e,
        2,
        CfgErrorKind::StackTooLarge,
        "combined stack size of 3 calls is 528. Too large",
    );
    let e = check_stack_depth(&cfg, &[504, 8, 0]).unwrap_err();
    assert_err(
        &e,
        0,
        CfgErrorKind::StackTooLarge,
        "combined stack size of 2 calls is 528. Too large",
    );
    // Rounding: up to 16 with the JIT, at least 32 with the interpreter.
    check_stack_depth_with(&cfg, &[496, 8, 0], StackRounding::Jit).unwrap();
    check_stack_depth_with(&cfg, &[480, 8, 0], StackRounding::Jit).unwrap();
    let e = check_stack_depth_with(&cfg, &[480, 8, 0], StackRounding::Interpreter).unwrap_err();
    assert_err(
        &e,
        2,
        CfgErrorKind::StackTooLarge,
        "combined stack size of 3 calls is 544. Too large",
    );
    assert_eq!(StackRounding::Jit.round(0), 0);
    assert_eq!(StackRounding::Jit.round(1), 16);
    assert_eq!(StackRounding::Interpreter.round(0), 32);
    assert_eq!(StackRounding::Interpreter.round(33), 64);
    assert_eq!(StackRounding::Jit.round(u32::MAX), 4_294_967_296);
}

#[test]
fn tail_calls_with_bpf_to_bpf_calls() {
    let cfg = two_level(true);
    assert!(cfg.subprogs[1].has_tail_call);
    check_stack_depth(&cfg, &[240, 256, 0]).unwrap();
    let e = check_stack_depth(&cfg, &[256, 0, 0]).unwrap_err();
    assert_err(
        &e,
        0,
        CfgErrorKind::TailCallStackTooLarge,
        "tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large",
    );
    // The entry may use its whole stack with tail calls when it calls nothing.
    let cfg = ok("call 0xc\nr0 = 0\nexit");
    check_stack_depth(&cfg, &[512]).unwrap();
}

#[test]
fn async_callbacks_start_their_own_chain() {
    // main (480 bytes) refers to cb (64 bytes) for a timer: not on main's stack.
    let mut cfg = ok("ld_pseudo r2, 4, 0x2\nexit\nr0 = 0\nexit");
    let e = check_stack_depth(&cfg, &[480, 64]).unwrap_err();
    assert_eq!(e.kind, CfgErrorKind::StackTooLarge);
    cfg.subprogs[1].is_async_cb = true;
    check_stack_depth(&cfg, &[480, 64]).unwrap();
    // ... but its own chain is checked.
    check_stack_depth(&cfg, &[0, 512]).unwrap();
    assert_eq!(
        check_stack_depth(&cfg, &[0, 513]).unwrap_err().kind,
        CfgErrorKind::StackTooLarge
    );
}

#[test]
fn frames_with_callbacks() {
    // main → f1 … → f6 (7 frames) and f6 passes a callback that bpf_loop calls: 8 frames.
    let mut text = String::from("call f1\nexit\n");
    for i in 1..6 {
        text.push_str(&format!("f{i}: call f{}\nexit\n", i + 1));
    }
    let cb = 2 + 2 * 5 + 4; // slot of cb
    let off = cb - (2 + 2 * 5) - 1;
    text.push_str(&format!(
        "f6: ld_pseudo r2, 4, {off}\ncall 0xb5\nexit\ncb: r0 = 0\nexit\n"
    ));
    let cfg = ok(&text);
    check_stack_depth(&cfg, &[]).unwrap();
    // One more level in the callback makes 9.
    let text = text.replace("cb: r0 = 0\nexit\n", "cb: call g\nexit\ng: r0 = 0\nexit\n");
    let cfg = ok(&text);
    let e = check_stack_depth(&cfg, &[]).unwrap_err();
    assert_err(
        &e,
        cb,
        CfgErrorKind::CallStackTooDeep,
        "the call stack of 8 frames is too deep !",
    );
}

// ---- scale ----

#[test]
fn a_million_slots() {
    // Straight-line code: the search goes 1M deep.
    let mut slots = vec![RawInsn::new(0x07, 0, 0, 0, 1); 999_999];
    slots.push(EXIT);
    let start = Instant::now();
    let cfg = check_cfg(&slots, &CfgOptions::default()).unwrap();
    let straight = start.elapsed();
    assert_eq!(cfg.len(), 1_000_000);
    assert_eq!(cfg.postorder.len(), 1_000_000);

    // Conditional jumps forward, each over the next, and a loop around everything.
    let mut slots = Vec::with_capacity(1_000_000);
    slots.push(MOV_R0_0);
    while slots.len() < 999_998 {
        slots.push(RawInsn::new(0x15, 1, 0, 1, 0)); // if r1 == 0 goto +1
        slots.push(RawInsn::new(0x07, 0, 0, 0, 1)); // r0 += 1
    }
    slots.truncate(999_998);
    slots.push(RawInsn::new(0x55, 0, 0, i16::MIN, 0)); // if r0 != 0 goto -32768
    slots.push(EXIT);
    let start = Instant::now();
    let cfg = check_cfg(&slots, &CfgOptions::default()).unwrap();
    let branchy = start.elapsed();
    assert!(cfg.has_loops);
    assert_eq!(err_with(&slots, &no_loops()).kind, CfgErrorKind::Loop);
    assert_eq!(cfg.preds(999_999), &[999_997, 999_998]);

    // Too large by one.
    slots.push(EXIT);
    assert_eq!(
        err_with(&slots, &CfgOptions::default()).kind,
        CfgErrorKind::TooLarge
    );
    eprintln!("1M slots: straight {straight:?}, branchy {branchy:?}");
    // Well under a second alone; the bound leaves room for a busy machine, and catches
    // anything worse than linear.
    assert!(straight.as_secs_f64() < 3.0 && branchy.as_secs_f64() < 3.0);
}

#[test]
fn arbitrary_slots_never_panic() {
    // A cheap deterministic generator over opcodes that decode, with wild offsets.
    let opcodes = [
        0x05, 0x06, 0x07, 0x15, 0x18, 0x25, 0x55, 0x85, 0x95, 0xb7, 0xbf, 0xe5, 0x30, 0x61, 0x7b,
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut outcomes = [0usize; 2];
    for _ in 0..20_000 {
        let len = (next() % 12 + 1) as usize;
        let slots: Vec<RawInsn> = (0..len)
            .map(|_| {
                let r = next();
                let opcode = opcodes[(r % opcodes.len() as u64) as usize];
                let small = ((r >> 8) % 7) as i32 - 3;
                match opcode {
                    0x85 => RawInsn::new(
                        opcode,
                        0,
                        ((r >> 20) % 3) as u8,
                        0,
                        if (r >> 24) & 1 == 0 { small } else { 12 },
                    ),
                    0x18 => RawInsn::new(opcode, 1, [0, 4, 5][((r >> 20) % 3) as usize], 0, small),
                    0x95 => RawInsn::new(opcode, 0, 0, 0, 0),
                    0x07 | 0xb7 => RawInsn::new(opcode, 0, 0, 0, small),
                    0xbf => RawInsn::new(opcode, 1, 2, 0, 0),
                    0x30 => RawInsn::new(opcode, 0, 0, 0, small),
                    0x61 => RawInsn::new(opcode, 0, 1, small as i16, 0),
                    0x7b => RawInsn::new(opcode, 10, 1, -8, 0),
                    0x06 => RawInsn::new(opcode, 0, 0, 0, small),
                    0x05 | 0xe5 => RawInsn::new(opcode, 0, 0, small as i16, 0),
                    _ => RawInsn::new(opcode, 1, 0, small as i16, small),
                }
            })
            .collect();
        for allow_loops in [true, false] {
            let opts = CfgOptions {
                allow_loops,
                ..CfgOptions::default()
            };
            match check_cfg(&slots, &opts) {
                Ok(cfg) => {
                    outcomes[0] += 1;
                    let depths = vec![(next() % 600) as u32; cfg.subprogs.len()];
                    let _ = check_stack_depth(&cfg, &depths);
                }
                Err(_) => outcomes[1] += 1,
            }
        }
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}

// ---- real objects ----

fn objects(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            objects(&p, out);
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
}

/// Programs of the corpus that Linux rejects at this stage too, with the reason.
const EXPECTED_REJECTIONS: &[(&str, &str, CfgErrorKind)] = &[
    // clang left a dead `goto` after `exit` (PREVAIL accepts it; Linux does not).
    ("build/byteswap.o", "func", CfgErrorKind::Unreachable),
];

#[test]
fn real_objects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus_dir = Path::new("/work/shared/corpus/ebpf-samples");
    let mut files = Vec::new();
    objects(&root.join("tests/progs"), &mut files);
    let fixtures = files.len();
    objects(corpus_dir, &mut files);
    if files.is_empty() {
        eprintln!("no objects found; skipping");
        return;
    }
    let (mut objs, mut unparsed, mut progs, mut passed) = (0, 0, 0, 0);
    let (mut with_loops, mut with_calls, mut rejected) = (0, 0, 0);
    let mut failures = Vec::new();
    let start = Instant::now();
    for path in &files {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let obj = match ebpfvm_object::Object::parse(&data) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{}: not parsed: {e}", path.display());
                unparsed += 1;
                continue;
            }
        };
        objs += 1;
        let short = path.strip_prefix(corpus_dir).unwrap_or(path);
        for prog in &obj.programs {
            progs += 1;
            let name = format!("{}:{}", path.display(), prog.name);
            let expected = EXPECTED_REJECTIONS
                .iter()
                .find(|(file, p, _)| short == Path::new(file) && prog.name == *p);
            let cfg = match (check_cfg(&prog.insns, &CfgOptions::default()), expected) {
                (Ok(cfg), None) => cfg,
                (Err(e), Some(&(_, _, kind))) if e.kind == kind => {
                    eprintln!("{name}: rejected as expected: {e}");
                    rejected += 1;
                    continue;
                }
                (Ok(_), Some(_)) => {
                    failures.push(format!("{name}: accepted, but expected to be rejected"));
                    continue;
                }
                (Err(e), _) => {
                    failures.push(format!("{name}: {e}"));
                    continue;
                }
            };
            passed += 1;
            if cfg.subprogs.len() > 1 {
                with_calls += 1;
            }
            let strict = check_cfg(&prog.insns, &no_loops());
            if cfg.has_loops {
                with_loops += 1;
                match strict {
                    Err(e) if e.kind == CfgErrorKind::Loop => {}
                    other => failures.push(format!("{name}: loops, but strict gave {other:?}")),
                }
            } else if let Err(e) = strict {
                failures.push(format!("{name}: no loops, but strict: {e}"));
            }
            // With no stack used, only the frame limit could fail.
            if let Err(e) = check_stack_depth(&cfg, &[]) {
                failures.push(format!("{name}: stack check with no stack: {e}"));
            }
        }
    }
    eprintln!(
        "{} object files ({fixtures} in tests/progs): {objs} parsed, {unparsed} not; {progs} programs: \
         {passed} pass check_cfg ({with_calls} with subprograms, {with_loops} with loops, which fail \
         when loops are not allowed), {rejected} rejected as expected; {:?}",
        files.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 0);
}
